"""mwcore.replay on data: what synthetic and real rows may and may not be
blamed for. Findings a database already had are never a version's; a step
that fails only because of synthetic rows is `data-dependent`, not `failed`;
with a real database, pre-checks name the rows that break a version; after
each up, triggers fire once so one broken by a DROP COLUMN or a RENAME shows
at the version that broke it. Real migrations on real SQLite throughout."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Dict, Optional

import pytest

from mwcore import engine
from mwcore.folder import read_sql, scan_folder
from mwcore.replay import DATA_DEPENDENT, ReplayOptions, ReplayReport, StepVerdict, replay

from conftest import run_cli, run_json, write_files


def run(tmp_path: Path, files: Dict[str, str], *, db: Optional[Path] = None, **options) -> ReplayReport:
    folder = write_files(tmp_path / "migrations", files)
    model = scan_folder(folder)
    texts = {f.name: read_sql(model.file_path(f)).text for f in model.all_files()}
    fk = options.get("foreign_keys", False)
    if db is None:
        start = lambda: engine.scratch(foreign_keys=fk)  # noqa: E731
    else:
        pristine = engine.copy_of_user_db(db)
        start = lambda: engine.copy(pristine, foreign_keys=fk)  # noqa: E731
        options.setdefault("real_db", True)
    return replay(model, texts, start, ReplayOptions(cross_check=True, **options))


def real_db(tmp_path: Path, sql: str, version: int) -> Path:
    """A database file as golang-migrate leaves it at `version`, written by
    plain sqlite3 (as the user's application would)."""
    path = tmp_path / "app.db"
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.executescript(sql)
    conn.execute("CREATE TABLE schema_migrations (version uint64,dirty bool)")
    conn.execute("CREATE UNIQUE INDEX version_unique ON schema_migrations (version)")
    conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (version,))
    conn.close()
    return path


def verdict(report: ReplayReport, version: int) -> StepVerdict:
    return next(s for s in report.steps if s.version == version)


# Findings a database already had ---------------------------------------------------

PARENT_CHILD = ("CREATE TABLE p(id INTEGER PRIMARY KEY);\n"
                "CREATE TABLE c(code TEXT PRIMARY KEY, note TEXT, p_id INT REFERENCES p(id));")
# A rebuild of the child that adds a foreign key in front of the old one (so
# the old key's position changes) and copies rows in another order (so their
# rowids change): the same dangling reference, found under another rowid and
# fkid.
REBUILD_CHILD = {
    "1_p.up.sql": PARENT_CHILD,
    "1_p.down.sql": "DROP TABLE c;\nDROP TABLE p;",
    "2_owner.up.sql": (
        "CREATE TABLE c_new(code TEXT PRIMARY KEY, owner_id INT REFERENCES p(id), note TEXT, p_id INT REFERENCES p(id));\n"
        "INSERT INTO c_new(code, note, p_id) SELECT code, note, p_id FROM c ORDER BY code DESC;\n"
        "DROP TABLE c;\nALTER TABLE c_new RENAME TO c;"),
    "2_owner.down.sql": (
        "CREATE TABLE c_old(code TEXT PRIMARY KEY, note TEXT, p_id INT REFERENCES p(id));\n"
        "INSERT INTO c_old(code, note, p_id) SELECT code, note, p_id FROM c;\n"
        "DROP TABLE c;\nALTER TABLE c_old RENAME TO c;"),
}


def test_a_dangling_reference_the_real_database_had_is_not_blamed_on_the_version_that_moves_it(tmp_path):
    db = real_db(tmp_path, PARENT_CHILD + "\nINSERT INTO p VALUES (1);\n"
                 "INSERT INTO c VALUES ('a', 'x', 1), ('b', 'orphan', 99), ('z', 'fine', 1);", 1)
    report = run(tmp_path, REBUILD_CHILD, db=db)
    step = verdict(report, 2)
    assert step.integrity == "ok", step.problems
    assert report.ok


def test_a_dangling_reference_a_version_adds_is_still_its_own(tmp_path):
    db = real_db(tmp_path, PARENT_CHILD + "\nINSERT INTO p VALUES (1);\n"
                 "INSERT INTO c VALUES ('a', 'x', 1), ('b', 'orphan', 99);", 1)
    files = dict(REBUILD_CHILD)
    files["2_owner.up.sql"] += "\nINSERT INTO c(code, p_id) VALUES ('new', 99);"
    files["2_owner.down.sql"] = "DELETE FROM c WHERE code = 'new';\n" + files["2_owner.down.sql"]
    step = verdict(run(tmp_path, files, db=db), 2)
    assert step.integrity == "failed"
    # One new row (the same dangling value as the old one: counted by occurrence).
    assert "after the up, foreign_key_check: 1 row of c points to a missing row of p (c.p_id -> p(id))" in \
        [p.message for p in step.problems]


def test_a_dangling_reference_is_recognised_after_the_table_is_renamed(tmp_path):
    db = real_db(tmp_path, PARENT_CHILD + "\nINSERT INTO p VALUES (1);\nINSERT INTO c VALUES ('b', 'orphan', 99);", 1)
    files = {"1_p.up.sql": PARENT_CHILD, "1_p.down.sql": "DROP TABLE c;\nDROP TABLE p;",
             "2_rename.up.sql": "ALTER TABLE c RENAME TO child;", "2_rename.down.sql": "ALTER TABLE child RENAME TO c;"}
    report = run(tmp_path, files, db=db)
    assert report.ok, [str(p) for s in report.steps for p in s.problems]


def test_a_dangling_reference_is_blamed_once_on_the_version_that_made_it(tmp_path):
    # Version 1's own data leaves a child pointing nowhere (enforcement off):
    # that is version 1's finding; version 2, which only moves the row, is fine.
    files = dict(REBUILD_CHILD)
    files["1_p.up.sql"] = PARENT_CHILD + "\nINSERT INTO c(code, p_id) VALUES ('seed', 42);"
    report = run(tmp_path, files)
    assert verdict(report, 1).integrity == "failed"
    assert "1 row of c points to a missing row of p" in verdict(report, 1).error
    assert verdict(report, 2).integrity == "ok", verdict(report, 2).problems


# The replay's data check ---------------------------------------------------------

BASE = {
    "1_base.up.sql": "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INT);\nCREATE INDEX t_a ON t(a);",
    "1_base.down.sql": "DROP TABLE t;",
}


def test_a_down_that_loses_some_rows_and_changes_others_reports_both(tmp_path):
    # The down deletes one synthetic row and leaves another with other values:
    # each is its own problem, neither hides the other.
    report = run(tmp_path, {
        **BASE,
        "2_flag.up.sql": "UPDATE t SET b = b + 1 WHERE id = (SELECT min(id) FROM t);",
        "2_flag.down.sql": "DELETE FROM t WHERE id = (SELECT max(id) FROM t);",
    })
    step = verdict(report, 2)
    messages = [p.message for p in step.problems]
    assert step.data == "failed"
    assert any(m.startswith("after the down, 1 of 3 synthetic rows of t are gone") for m in messages), messages
    assert any(m.startswith("after the down, 1 of 3 synthetic rows of t are back with other values") for m in messages), messages


# Failures only the synthetic rows cause ---------------------------------------------

TAGS = {
    "1_t.up.sql": "CREATE TABLE t(id INTEGER PRIMARY KEY, title TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '[]');",
    "1_t.down.sql": "DROP TABLE t;",
    "2_count.up.sql": "ALTER TABLE t ADD COLUMN tag_count INT;\nUPDATE t SET tag_count = json_array_length(tags);",
    "2_count.down.sql": "ALTER TABLE t DROP COLUMN tag_count;",
    "3_u.up.sql": "CREATE TABLE u(id INTEGER PRIMARY KEY, t_id INT REFERENCES t(id));",
    "3_u.down.sql": "DROP TABLE u;",
}


def test_a_json_read_that_fails_only_on_synthetic_text_is_data_dependent_not_failed(tmp_path):
    # Without the JSON shapes learned from the folder (as before synthetic
    # rows learned them), `tags` gets plain text and json_array_length fails
    # on it: golang-migrate on an empty database passes, so does any database
    # whose tags hold JSON.
    report = run(tmp_path, TAGS, json_columns={})
    step = verdict(report, 2)
    assert step.up == DATA_DEPENDENT and not step.stops_here and step.problems == []
    assert report.stop is None and report.ok
    warning = str(step.warnings[0])
    assert warning.startswith("2_count.up.sql:2: the up fails on rows like t {tags='mw t.tags #100'}: malformed JSON; "
                              "passes on an empty table; check it with `--db` on a copy of real data"), warning
    # golang-migrate's own run (on the empty start state) goes on past it,
    # and every later version gets its checks.
    assert all(t.error is None for t in report.trace)
    assert verdict(report, 3).statuses() == {c: "ok" for c in verdict(report, 3).statuses()}
    # With the shapes learned from the folder, the rows hold JSON: no warning.
    learned = run(tmp_path / "learned", TAGS)
    assert learned.ok and not any(s.warnings for s in learned.steps)


def test_after_a_data_dependent_up_later_versions_are_still_checked_with_rows(tmp_path):
    # The replay goes on from the state without synthetic rows and seeds
    # them again: version 3's lossy data change is still caught.
    # (Version 2 reads t without changing it, so only the new seeding puts
    # rows back into t.)
    files = {**TAGS, "2_count.up.sql": "CREATE TABLE t_tags AS SELECT id, json_array_length(tags) AS n FROM t;",
             "2_count.down.sql": "DROP TABLE t_tags;",
             "3_u.up.sql": "DELETE FROM t WHERE id = (SELECT min(id) FROM t);", "3_u.down.sql": "SELECT 1;"}
    report = run(tmp_path, files, json_columns={})
    assert verdict(report, 2).up == DATA_DEPENDENT
    assert verdict(report, 3).data == "failed"
    assert "after the up, 1 of 3 synthetic rows of t are gone" in verdict(report, 3).error


def test_a_failure_caused_by_rows_a_later_down_left_behind_is_not_data_dependent(tmp_path):
    # Version 3's down forgets the rows its up inserted; version 2's down
    # then fails on them. golang-migrate fails there on an empty database too.
    files = {
        "1_t.up.sql": "CREATE TABLE t(id INTEGER PRIMARY KEY, code TEXT);", "1_t.down.sql": "DROP TABLE t;",
        "2_i.up.sql": "CREATE INDEX t_code ON t(code);",
        "2_i.down.sql": "DROP INDEX t_code;\nCREATE UNIQUE INDEX t_code_once ON t(code);\nDROP INDEX t_code_once;",
        "3_seed.up.sql": "INSERT INTO t(code) VALUES ('dup'), ('dup');", "3_seed.down.sql": "SELECT 1;",
    }
    report = run(tmp_path, files)
    step = verdict(report, 2)
    assert step.down == "failed" and step.warnings == [] and step.stops_here
    assert "UNIQUE constraint failed: t.code" in step.error


def test_a_second_up_that_fails_on_what_a_down_left_is_not_data_dependent(tmp_path):
    # Version 2's down forgets its view: the second up fails on it, with or
    # without rows (the real database's table keeps synthetic rows through
    # the downs, so the replay does look at it without them).
    db = real_db(tmp_path, TAGS["1_t.up.sql"], 1)
    files = {"1_t.up.sql": TAGS["1_t.up.sql"], "1_t.down.sql": TAGS["1_t.down.sql"],
             "2_v.up.sql": "CREATE VIEW t_titles AS SELECT title FROM t;", "2_v.down.sql": "SELECT 1;"}
    step = verdict(run(tmp_path, files, db=db), 2)
    assert step.reup == "failed" and step.warnings == []
    assert "view t_titles already exists" in [p for p in step.problems if p.check == "reup"][0].message


def test_a_unique_index_synthetic_rows_duplicate_is_data_dependent(tmp_path):
    files = {
        "1_t.up.sql": "CREATE TABLE t(id INTEGER PRIMARY KEY, active INT NOT NULL CHECK (active IN (0, 1)));",
        "1_t.down.sql": "DROP TABLE t;",
        "2_one.up.sql": "CREATE UNIQUE INDEX t_active ON t(active);",
        "2_one.down.sql": "DROP INDEX t_active;",
    }
    report = run(tmp_path, files)
    step = verdict(report, 2)
    assert step.up == DATA_DEPENDENT and report.stop is None and report.ok
    assert "the up fails on rows like t {active=0}: UNIQUE constraint failed: t.active" in str(step.warnings[0])
    assert report.summary()["warnings"] == [2] and report.summary()["failing"] == []


def test_a_down_that_fails_only_on_synthetic_rows_is_data_dependent(tmp_path):
    files = {
        "1_t.up.sql": "CREATE TABLE t(id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('a', 'b')));",
        "1_t.down.sql": "DROP TABLE t;",
        "2_any.up.sql": "CREATE INDEX t_kind ON t(kind);",
        "2_any.down.sql": "DROP INDEX t_kind;\nCREATE UNIQUE INDEX t_kind_once ON t(kind);\nDROP INDEX t_kind_once;",
    }
    report = run(tmp_path, files)
    step = verdict(report, 2)
    assert (step.up, step.down, step.roundtrip) == ("ok", DATA_DEPENDENT, "ok")
    assert report.stop is None and report.ok
    assert str(step.warnings[0]).startswith("2_any.down.sql:2: the down fails on rows like t {kind=")


def test_a_failure_any_row_causes_stays_failed_and_says_so(tmp_path):
    files = {**TAGS, "2_count.up.sql": "ALTER TABLE t ADD COLUMN rank INT NOT NULL;",
             "2_count.down.sql": "ALTER TABLE t DROP COLUMN rank;"}
    report = run(tmp_path, files)
    step = verdict(report, 2)
    assert step.up == "failed" and step.stops_here and step.warnings == []
    assert "Cannot add a NOT NULL column with default value NULL" in step.error
    assert "the up passes on an empty table; it fails on any database with rows there" in step.notes[0]


def test_a_failure_of_the_file_itself_is_not_data_dependent(tmp_path):
    # The migration's own rows break it: without synthetic rows it fails too.
    files = {**TAGS, "2_count.up.sql": "INSERT INTO t(title, tags) VALUES ('x', 'not json');\n"
                                       "ALTER TABLE t ADD COLUMN tag_count INT;\n"
                                       "UPDATE t SET tag_count = json_array_length(tags);"}
    report = run(tmp_path, files)
    step = verdict(report, 2)
    assert step.up == "failed" and step.stops_here and step.warnings == []
    assert "malformed JSON" in step.error


# Pre-checks on a real database -------------------------------------------------------

USERS = ("CREATE TABLE team(id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
         "CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT, name TEXT, age INT, team_id INT);")
USERS_ROWS = ("INSERT INTO team VALUES (1, 'core');\n"
              "INSERT INTO users VALUES (1, 'a@x', 'Ann', 30, 1), (2, 'a@x', NULL, -4, 7), (3, 'b@x', 'Bo', 41, NULL),\n"
              "  (4, 'b@x', NULL, 25, 9), (5, 'a@x', 'Cy', 52, 1);")
USERS_FILES = {"1_users.up.sql": USERS, "1_users.down.sql": "DROP TABLE users;\nDROP TABLE team;"}


def _rebuild_users(definition: str, copy: str = "id, email, name, age, team_id") -> str:
    return (f"CREATE TABLE users_new({definition});\n"
            f"INSERT INTO users_new(id, email, name, age, team_id) SELECT {copy} FROM users;\n"
            "DROP TABLE users;\nALTER TABLE users_new RENAME TO users;")


OLD_USERS = "id INTEGER PRIMARY KEY, email TEXT, name TEXT, age INT, team_id INT"
PRECHECK_CASES = {
    "unique index": ("CREATE UNIQUE INDEX users_email ON users(email);", "DROP INDEX users_email;",
                     "UNIQUE INDEX users_email on users(email): 2 duplicated keys (5 rows), e.g. (email='a@x') x3; "
                     "(email='b@x') x2", "UNIQUE constraint failed: users.email"),
    "not null by rebuild": (_rebuild_users("id INTEGER PRIMARY KEY, email TEXT, name TEXT NOT NULL, age INT, team_id INT"),
                            _rebuild_users(OLD_USERS),
                            "NOT NULL users.name: 2 rows hold NULL, e.g. {id=2, name=NULL}; {id=4, name=NULL}",
                            "NOT NULL constraint failed: users_new.name"),
    "check by rebuild": (_rebuild_users("id INTEGER PRIMARY KEY, email TEXT, name TEXT, age INT CHECK (age >= 0), team_id INT"),
                         _rebuild_users(OLD_USERS),
                         "CHECK (age >= 0) on users: 1 row fails it, e.g. {id=2, age=-4}",
                         "CHECK constraint failed: age >= 0"),
    "stored column": ("ALTER TABLE users ADD COLUMN domain TEXT GENERATED ALWAYS AS (substr(email, instr(email, '@') + 1)) STORED;",
                      "ALTER TABLE users DROP COLUMN domain;",
                      "STORED column users.domain: 5 rows in users (SQLite refuses a STORED column added to a table with "
                      "rows), e.g. {id=1, email='a@x', name='Ann', age=30}; {id=2, email='a@x', name=NULL, age=-4}",
                      "cannot add a STORED column"),
    "not null column": ("ALTER TABLE users ADD COLUMN plan TEXT NOT NULL;", "ALTER TABLE users DROP COLUMN plan;",
                        "new NOT NULL column users.plan without a default: 5 rows would get NULL",
                        "Cannot add a NOT NULL column with default value NULL"),
}


@pytest.mark.parametrize("case", list(PRECHECK_CASES))
def test_pre_checks_name_the_real_rows_that_break_a_version(tmp_path, case):
    up, down, finding, error = PRECHECK_CASES[case]
    db = real_db(tmp_path, USERS + "\n" + USERS_ROWS, 1)
    report = run(tmp_path, {**USERS_FILES, "2_change.up.sql": up, "2_change.down.sql": down}, db=db)
    step = verdict(report, 2)
    assert step.up == "failed" and error in step.error
    assert [c.finding() for c in step.prechecks][0].startswith(finding), [c.finding() for c in step.prechecks]
    assert len(step.prechecks) == 1
    # The query lists exactly the rows it counted, on the user's data.
    check = step.prechecks[0]
    rows = sqlite3.connect(str(db)).execute(check.query).fetchall()
    assert len(rows) == check.count and check.count > 0


def test_a_new_foreign_key_with_dangling_rows_is_named_where_integrity_fails(tmp_path):
    # Enforcement off: the rebuild applies, and foreign_key_check finds the
    # rows the pre-check named.
    up = _rebuild_users("id INTEGER PRIMARY KEY, email TEXT, name TEXT, age INT, team_id INT REFERENCES team(id)")
    db = real_db(tmp_path, USERS + "\n" + USERS_ROWS, 1)
    report = run(tmp_path, {**USERS_FILES, "2_fk.up.sql": up, "2_fk.down.sql": _rebuild_users(OLD_USERS)}, db=db)
    step = verdict(report, 2)
    assert step.up == "ok" and step.integrity == "failed"
    assert [c.finding() for c in step.prechecks] == [
        "foreign key users(team_id) -> team(id): 2 rows point to no parent row, e.g. {id=2, team_id=7}; {id=4, team_id=9}"]


def test_pre_checks_a_version_handles_itself_are_not_reported(tmp_path):
    # The copy fills the NULLs: the rebuild applies on the real rows, and the
    # NULLs the pre-check counted are not a problem.
    up = _rebuild_users("id INTEGER PRIMARY KEY, email TEXT, name TEXT NOT NULL, age INT, team_id INT",
                        copy="id, email, coalesce(name, ''), age, team_id")
    db = real_db(tmp_path, USERS + "\n" + USERS_ROWS, 1)
    report = run(tmp_path, {**USERS_FILES, "2_nn.up.sql": up, "2_nn.down.sql": _rebuild_users(OLD_USERS)}, db=db)
    assert verdict(report, 2).up == "ok" and verdict(report, 2).prechecks == []


def test_pre_checks_run_on_the_rows_earlier_pending_versions_leave(tmp_path):
    # Version 2 (pending) cleans the duplicates; version 3's index then fits:
    # nothing is reported. Without version 2's cleanup it is.
    db = real_db(tmp_path, USERS + "\n" + USERS_ROWS, 1)
    files = {**USERS_FILES,
             "2_dedupe.up.sql": "DELETE FROM users WHERE id NOT IN (SELECT min(id) FROM users GROUP BY email);",
             "2_dedupe.down.sql": "SELECT 1;",
             "3_unique.up.sql": "CREATE UNIQUE INDEX users_email ON users(email);",
             "3_unique.down.sql": "DROP INDEX users_email;"}
    report = run(tmp_path, files, db=db, check_data=False)
    assert verdict(report, 3).up == "ok" and verdict(report, 3).prechecks == []
    files["2_dedupe.up.sql"] = "SELECT 1;"
    report = run(tmp_path / "again", files, db=db)
    assert verdict(report, 3).up == "failed" and verdict(report, 3).prechecks[0].count == 2


def test_pre_checks_derive_only_what_a_version_adds():
    from mwcore.prechecks import SchemaFollower

    source = engine.scratch()
    source.execute("CREATE TABLE team(id INTEGER PRIMARY KEY)")
    source.execute("CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, age INT CHECK (age >= 0), "
                   "team_id INT REFERENCES team(id))")
    source.execute("CREATE UNIQUE INDEX users_age ON users(age, id)")
    follower = SchemaFollower(source, engine.scratch, wrap=True)
    # A rebuild that keeps every constraint and index, and adds a NOT NULL
    # column its copy fills: nothing new for the rows already there.
    keep = ("CREATE TABLE users_new(id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, age INT CHECK (age >= 0), "
            "team_id INT REFERENCES team(id), plan TEXT NOT NULL);\n"
            "INSERT INTO users_new SELECT id, email, age, team_id, 'free' FROM users;\n"
            "DROP TABLE users;\nALTER TABLE users_new RENAME TO users;\nCREATE UNIQUE INDEX users_age ON users(age, id);")
    assert follower.checks_for(keep, "2_keep.up.sql") == []
    assert follower.checks_for("ALTER TABLE team ADD COLUMN kind TEXT NOT NULL DEFAULT 'a';", "2b.up.sql") == []
    # The same change made with ADD COLUMN would fail on any row.
    assert [c.kind for c in follower.checks_for("ALTER TABLE team ADD COLUMN name TEXT NOT NULL;", "3.up.sql")] == \
        ["new-not-null"]


def test_pre_checks_follow_columns_an_earlier_pending_version_adds(tmp_path):
    # Version 2 adds and fills `code` (with duplicates); version 3's index on
    # it is checked on the rows as version 2 left them.
    db = real_db(tmp_path, USERS + "\n" + USERS_ROWS, 1)
    files = {**USERS_FILES,
             "2_code.up.sql": "ALTER TABLE users ADD COLUMN code TEXT;\nUPDATE users SET code = upper(email);",
             "2_code.down.sql": "ALTER TABLE users DROP COLUMN code;",
             "3_unique.up.sql": "CREATE UNIQUE INDEX users_code ON users(code);",
             "3_unique.down.sql": "DROP INDEX users_code;"}
    step = verdict(run(tmp_path, files, db=db), 3)
    assert step.up == "failed"
    assert [c.finding() for c in step.prechecks] == [
        "UNIQUE INDEX users_code on users(code): 2 duplicated keys (5 rows), e.g. (code='A@X') x3; (code='B@X') x2"]


def test_no_pre_checks_without_a_real_database(tmp_path):
    up, down, _finding, _error = PRECHECK_CASES["unique index"]
    files = {**USERS_FILES, "1_users.up.sql": USERS + "\n" + USERS_ROWS.replace("\n", " "),
             "2_change.up.sql": up, "2_change.down.sql": down}
    step = verdict(run(tmp_path, files), 2)
    assert step.up == "failed" and step.prechecks == []


# Triggers fire after each up ----------------------------------------------------------

ORDERS = {
    "1_orders.up.sql": ("CREATE TABLE customer(id INTEGER PRIMARY KEY, name TEXT NOT NULL, last_order_at TEXT);\n"
                        "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INT NOT NULL REFERENCES customer(id), "
                        "placed_at TEXT NOT NULL DEFAULT '2024-01-01');"),
    "1_orders.down.sql": "DROP TABLE orders;\nDROP TABLE customer;",
    "2_touch.up.sql": ("CREATE TRIGGER orders_touch_customer AFTER INSERT ON orders BEGIN\n"
                       "  UPDATE customer SET last_order_at = NEW.placed_at WHERE id = NEW.customer_id;\nEND;"),
    "2_touch.down.sql": "DROP TRIGGER orders_touch_customer;",
    # SQLite lets this drop through: the trigger that writes the column is on another table.
    "3_drop.up.sql": "ALTER TABLE customer DROP COLUMN last_order_at;",
    "3_drop.down.sql": "ALTER TABLE customer ADD COLUMN last_order_at TEXT;",
}


@pytest.mark.parametrize("foreign_keys", [False, True])
def test_a_trigger_broken_by_drop_column_fails_the_version_that_broke_it(tmp_path, foreign_keys):
    report = run(tmp_path, ORDERS, foreign_keys=foreign_keys)
    assert verdict(report, 2).integrity == "ok" and verdict(report, 2).problems == []
    step = verdict(report, 3)
    assert (step.up, step.integrity) == ("ok", "failed")
    assert step.error == ("3_drop.up.sql: after the up, trigger orders_touch_customer on orders fails when an INSERT "
                          "fires it: no such column: last_order_at")
    assert not report.ok and report.stop is None  # golang-migrate's own run passes: the trigger fails later


def test_a_trigger_left_stale_by_a_legacy_rename_fails_the_version_that_renamed(tmp_path):
    # With legacy_alter_table on, RENAME TO leaves other tables' triggers as
    # they were: orders' trigger still updates `customer`.
    files = {**ORDERS, "3_drop.up.sql": "PRAGMA legacy_alter_table = ON;\nALTER TABLE customer RENAME TO client;\n"
                                        "PRAGMA legacy_alter_table = OFF;",
             "3_drop.down.sql": "ALTER TABLE client RENAME TO customer;"}
    step = verdict(run(tmp_path, files), 3)
    assert step.integrity == "failed"
    # (The foreign key of orders is left pointing at `customer` too.)
    assert ("after the up, trigger orders_touch_customer on orders fails when an INSERT fires it: "
            "no such table: main.customer") in [p.message for p in step.problems]
    # A plain RENAME TO rewrites the trigger's body: nothing breaks.
    files["3_drop.up.sql"] = "ALTER TABLE customer RENAME TO client;"
    assert run(tmp_path / "plain", files).ok


def test_a_trigger_a_real_database_had_broken_is_not_blamed_on_a_later_version(tmp_path):
    db = real_db(tmp_path, ORDERS["1_orders.up.sql"] + "\n" + ORDERS["2_touch.up.sql"] + "\n" + ORDERS["3_drop.up.sql"], 3)
    files = {**ORDERS, "4_index.up.sql": "CREATE INDEX orders_customer ON orders(customer_id);",
             "4_index.down.sql": "DROP INDEX orders_customer;"}
    report = run(tmp_path, files, db=db)
    assert [s.version for s in report.steps] == [4] and report.ok, report.steps[0].problems


def test_of_several_triggers_the_broken_one_is_named(tmp_path):
    files = {**ORDERS, "2_touch.up.sql": (
        "CREATE TABLE audit(id INTEGER PRIMARY KEY, what TEXT);\n"
        "CREATE TRIGGER orders_audit AFTER INSERT ON orders BEGIN INSERT INTO audit(what) VALUES ('order'); END;\n"
        + ORDERS["2_touch.up.sql"] +
        "\nCREATE TRIGGER orders_no_future BEFORE INSERT ON orders WHEN NEW.placed_at > '2100' BEGIN\n"
        "  SELECT RAISE(ABORT, 'placed in the future');\nEND;"),
        "2_touch.down.sql": "DROP TRIGGER orders_no_future;\nDROP TRIGGER orders_touch_customer;\n"
                            "DROP TRIGGER orders_audit;\nDROP TABLE audit;"}
    step = verdict(run(tmp_path, files), 3)
    assert [p.message for p in step.problems] == [
        "after the up, trigger orders_touch_customer on orders fails when an INSERT fires it: no such column: last_order_at"]


def test_a_trigger_that_raises_on_purpose_is_not_broken(tmp_path):
    # The UPDATE that fires it changes nothing, so it raises its own message:
    # that is the trigger working.
    files = {**ORDERS, "2_touch.up.sql": (
        "ALTER TABLE orders ADD COLUMN updated_at TEXT NOT NULL DEFAULT '2024-01-01';\n"
        "CREATE TRIGGER orders_updated_at_moves BEFORE UPDATE ON orders WHEN NEW.updated_at = OLD.updated_at BEGIN\n"
        "  SELECT RAISE(ABORT, 'updated_at must change');\nEND;"),
        "2_touch.down.sql": "DROP TRIGGER orders_updated_at_moves;\nALTER TABLE orders DROP COLUMN updated_at;",
        "3_drop.up.sql": "CREATE INDEX orders_customer ON orders(customer_id);", "3_drop.down.sql": "DROP INDEX orders_customer;"}
    report = run(tmp_path, files)
    assert report.ok and not any(s.warnings for s in report.steps), [str(p) for s in report.steps for p in s.problems]


def test_a_trigger_that_fails_only_on_the_row_it_ran_on_is_a_warning(tmp_path):
    # Version 3 makes audit.what NOT NULL; the trigger copies orders.note,
    # which may be NULL: it fails on such rows only.
    files = {
        "1_orders.up.sql": "CREATE TABLE orders(id INTEGER PRIMARY KEY, note TEXT);\n"
                           "CREATE TABLE audit(id INTEGER PRIMARY KEY, what TEXT);",
        "1_orders.down.sql": "DROP TABLE audit;\nDROP TABLE orders;",
        "2_audit.up.sql": "CREATE TRIGGER orders_gone AFTER DELETE ON orders BEGIN INSERT INTO audit(what) VALUES (OLD.note); END;",
        "2_audit.down.sql": "DROP TRIGGER orders_gone;",
        "3_strict.up.sql": "CREATE TABLE audit_new(id INTEGER PRIMARY KEY, what TEXT NOT NULL DEFAULT '');\n"
                           "INSERT INTO audit_new SELECT id, coalesce(what, '') FROM audit;\n"
                           "DROP TABLE audit;\nPRAGMA legacy_alter_table = ON;\nALTER TABLE audit_new RENAME TO audit;\n"
                           "PRAGMA legacy_alter_table = OFF;\nUPDATE orders SET note = NULL WHERE id = (SELECT min(id) FROM orders);",
        "3_strict.down.sql": "CREATE TABLE audit_old(id INTEGER PRIMARY KEY, what TEXT);\n"
                             "INSERT INTO audit_old SELECT id, what FROM audit;\n"
                             "DROP TABLE audit;\nPRAGMA legacy_alter_table = ON;\nALTER TABLE audit_old RENAME TO audit;\n"
                             "PRAGMA legacy_alter_table = OFF;",
    }
    step = verdict(run(tmp_path, files, check_data=False), 3)
    assert step.problems == [] and step.integrity == "ok"
    step = verdict(run(tmp_path / "rows", files), 3)
    assert step.integrity == "ok"
    assert [w.message for w in step.warnings] == [
        "after the up, trigger orders_gone on orders fails when a DELETE fires it on a row like {id=1, note=NULL}: "
        "NOT NULL constraint failed: audit.what"]


def test_rows_a_trigger_changes_while_rows_are_seeded_are_not_blamed_on_a_later_down(tmp_path):
    # Seeding `item` after version 2 fires the counter trigger, which
    # updates `box`; version 3's down must not find box's rows "changed".
    files = {
        "1_box.up.sql": "CREATE TABLE box(id INTEGER PRIMARY KEY, items INT NOT NULL DEFAULT 0);",
        "1_box.down.sql": "DROP TABLE box;",
        "2_item.up.sql": "CREATE TABLE item(id INTEGER PRIMARY KEY, box_id INT REFERENCES box(id));\n"
                         "CREATE TRIGGER item_counted AFTER INSERT ON item BEGIN\n"
                         "  UPDATE box SET items = items + 1 WHERE id = NEW.box_id;\nEND;",
        "2_item.down.sql": "DROP TABLE item;",
        "3_label.up.sql": "ALTER TABLE box ADD COLUMN label TEXT;",
        "3_label.down.sql": "ALTER TABLE box DROP COLUMN label;",
    }
    report = run(tmp_path, files)
    assert report.ok, [str(p) for s in report.steps for p in s.problems]



# What verify_migrations.py prints ----------------------------------------------------

ONE_ACTIVE = {
    "1_t.up.sql": "CREATE TABLE t(id INTEGER PRIMARY KEY, active INT NOT NULL CHECK (active IN (0, 1)));",
    "1_t.down.sql": "DROP TABLE t;",
    "2_one.up.sql": "CREATE UNIQUE INDEX t_active ON t(active);",
    "2_one.down.sql": "DROP INDEX t_active;",
}


def test_cli_a_data_dependent_warning_is_one_line_and_exit_0(tmp_path):
    folder = write_files(tmp_path / "m", ONE_ACTIVE)
    proc = run_cli("verify_migrations.py", "--dir", str(folder))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3 and "all 2 versions ok (1 with a warning)" in lines[0]
    assert lines[2] == ("warning: 2_one.up.sql:1: the up fails on rows like t {active=0}: UNIQUE constraint failed: "
                        "t.active; passes on an empty table; check it with `--db` on a copy of real data")
    code, out = run_json("verify_migrations.py", "--dir", str(folder))
    assert code == 0 and out["status"] == "ok" and "stop" not in out
    assert out["summary"]["warnings"] == [2] and "failing" not in out["summary"]
    step = out["steps"][1]
    assert step["up"] == "data-dependent" and "error" not in step and len(step["warnings"]) == 1


def test_cli_pre_checks_are_grouped_before_the_error_and_listed_for_versions_not_run(tmp_path):
    db = real_db(tmp_path, USERS + "\n" + USERS_ROWS, 1)
    folder = write_files(tmp_path / "m", {
        **USERS_FILES, "2_email.up.sql": "CREATE UNIQUE INDEX users_email ON users(email);",
        "2_email.down.sql": "DROP INDEX users_email;",
        "3_name.up.sql": _rebuild_users("id INTEGER PRIMARY KEY, email TEXT, name TEXT NOT NULL, age INT, team_id INT"),
        "3_name.down.sql": _rebuild_users(OLD_USERS)})
    proc = run_cli("verify_migrations.py", "--dir", str(folder), "--db", str(db), "--foreign-keys", "off")
    assert proc.returncode == 1
    out = proc.stdout
    group = (f"- 2_email.up.sql: rows of {db} that break it (pre-checks; --json has each query):\n"
             "    UNIQUE INDEX users_email on users(email): 2 duplicated keys (5 rows), e.g. (email='a@x') x3; (email='b@x') x2\n"
             "- 2_email.up.sql:1: up failed: UNIQUE constraint failed: users.email\n")
    assert group in out, out
    assert (f"- 3_name.up.sql (not run): rows of {db} (as before the failed up) it may refuse (pre-checks; --json has "
            "each query):\n    NOT NULL users.name: 2 rows hold NULL, e.g. {id=2, name=NULL}; {id=4, name=NULL}\n") in out
    code, data = run_json("verify_migrations.py", "--dir", str(folder), "--db", str(db), "--foreign-keys", "off")
    check = data["steps"][0]["prechecks"][0]
    assert (check["check"], check["table"], check["count"], check["rows"]) == ("unique", "users", 2, 5)
    assert check["query"] == ("SELECT email, count(*) AS copies FROM users WHERE email IS NOT NULL GROUP BY email "
                              "HAVING count(*) > 1")


def test_runs_with_foreign_keys_off_and_on_merge_warnings_and_pre_checks_once(tmp_path):
    from mwcore.bothways import merge_replays

    db = real_db(tmp_path, USERS + "\n" + USERS_ROWS, 1)
    files = {**USERS_FILES, "2_email.up.sql": "CREATE UNIQUE INDEX users_email ON users(email);",
             "2_email.down.sql": "DROP INDEX users_email;"}
    off, on = (run(tmp_path / mode, files, db=db, foreign_keys=mode == "on") for mode in ("off", "on"))
    merged = verdict(merge_replays(off, on), 2)
    assert [c.subject for c in merged.prechecks] == ["UNIQUE INDEX users_email on users(email)"]
    tags_off, tags_on = (run(tmp_path / f"tags-{mode}", TAGS, json_columns={}, foreign_keys=mode == "on")
                         for mode in ("off", "on"))
    step = verdict(merge_replays(tags_off, tags_on), 2)
    assert step.up == DATA_DEPENDENT and len(step.warnings) == 1


def test_with_a_real_database_a_data_dependent_step_says_it_passes_on_the_copy(tmp_path):
    # The real rows are distinct (0 and 1); the synthetic ones repeat them.
    db = real_db(tmp_path, ONE_ACTIVE["1_t.up.sql"] + "\nINSERT INTO t(active) VALUES (0), (1);", 1)
    report = run(tmp_path, ONE_ACTIVE, db=db)
    step = verdict(report, 2)
    assert step.up == DATA_DEPENDENT and report.stop is None and step.prechecks == []
    assert str(step.warnings[0]).endswith("UNIQUE constraint failed: t.active; passes on the --db copy without them, "
                                          "so a database with such rows would stop here")
