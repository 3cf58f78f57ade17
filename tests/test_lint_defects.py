"""Every "known defect of hand-written migrations" (shared FACTS.md) is caught
by some rule; each row below runs such a migration through the linter.

The tests marked `go` show with real golang-migrate (tests/goharness) that
the flagged migrations really fail or misbehave, and their fixes do not."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lintkit import lint_files

INIT = {
    "000001_init.up.sql": (
        "CREATE TABLE account (id INTEGER PRIMARY KEY, email TEXT NOT NULL, plan TEXT);\n"
        "CREATE UNIQUE INDEX idx_account_email ON account (email);\n"
        "CREATE TABLE note (id INTEGER PRIMARY KEY, account_id INTEGER REFERENCES account (id) ON DELETE CASCADE, body TEXT);\n"
    ),
    "000001_init.down.sql": "DROP TABLE note;\nDROP TABLE account;\n",
}
REBUILD_NEW = (
    "CREATE TABLE account_new (id INTEGER PRIMARY KEY, email TEXT, plan TEXT);\n"
    "INSERT INTO account_new (id, email, plan) SELECT id, email, plan FROM account;\n"
    "DROP TABLE account;\n"
    "ALTER TABLE account_new RENAME TO account;\n"
)
REBUILD_BACK_WITHOUT_INDEX = (
    "CREATE TABLE account_old (id INTEGER PRIMARY KEY, email TEXT NOT NULL, plan TEXT);\n"
    "INSERT INTO account_old (id, email, plan) SELECT id, coalesce(email, ''), plan FROM account;\n"
    "DROP TABLE account;\n"
    "ALTER TABLE account_old RENAME TO account;\n"
)
INDEX = "CREATE UNIQUE INDEX idx_account_email ON account (email);\n"

DEFECTS = [
    ("rebuild loses its indexes", {
        "000002_nullable_email.up.sql": REBUILD_NEW,
        "000002_nullable_email.down.sql": REBUILD_BACK_WITHOUT_INDEX + INDEX,
    }, [], ("000002_nullable_email.up.sql", 3, "MW302")),
    ("down drops a column that is still indexed", {
        "000002_plan_index.up.sql": "ALTER TABLE account ADD COLUMN tier TEXT;\nCREATE INDEX idx_account_tier ON account (tier);\n",
        "000002_plan_index.down.sql": "ALTER TABLE account DROP COLUMN tier;\n",
    }, [], ("000002_plan_index.down.sql", 1, "MW303")),
    ("down recreates the table but not its indexes", {
        "000002_nullable_email.up.sql": REBUILD_NEW + INDEX,
        "000002_nullable_email.down.sql": REBUILD_BACK_WITHOUT_INDEX,
    }, [], ("000002_nullable_email.down.sql", 3, "MW302")),
    ("two files with the same version after a merge", {
        "000002_add_phone.up.sql": "ALTER TABLE account ADD COLUMN phone TEXT;\n",
        "000002_add_phone.down.sql": "ALTER TABLE account DROP COLUMN phone;\n",
        "000002_add_city.up.sql": "ALTER TABLE account ADD COLUMN city TEXT;\n",
        "000002_add_city.down.sql": "ALTER TABLE account DROP COLUMN city;\n",
    }, [], ("000002_add_phone.up.sql", 1, "MW002")),
    ("a '-' instead of '_' that never runs", {
        "000002-add_phone.up.sql": "ALTER TABLE account ADD COLUMN phone TEXT;\n",
        "000002-add_phone.down.sql": "ALTER TABLE account DROP COLUMN phone;\n",
    }, [], ("000002-add_phone.up.sql", 1, "MW001")),
    ("explicit BEGIN ... COMMIT in a wrapped file", {
        "000002_add_phone.up.sql": "BEGIN TRANSACTION;\nALTER TABLE account ADD COLUMN phone TEXT;\nCOMMIT;\n",
        "000002_add_phone.down.sql": "ALTER TABLE account DROP COLUMN phone;\n",
    }, [], ("000002_add_phone.up.sql", 1, "MW201")),
    # A lone COMMIT (or END) commits golang-migrate's transaction early: the
    # statements before it stay, and the driver's own commit then fails.
    ("a lone COMMIT in a wrapped file", {
        "000002_plan.up.sql": "UPDATE account SET plan = 'free' WHERE plan IS NULL;\nCOMMIT;\n",
        "000002_plan.down.sql": "UPDATE account SET plan = NULL WHERE plan = 'free';\n",
    }, [], ("000002_plan.up.sql", 2, "MW201")),
    ("a lone END in a wrapped file", {
        "000002_plan.up.sql": "UPDATE account SET plan = 'free' WHERE plan IS NULL;\nEND TRANSACTION;\n",
        "000002_plan.down.sql": "UPDATE account SET plan = NULL WHERE plan = 'free';\n",
    }, [], ("000002_plan.up.sql", 2, "MW201")),
    ("an up that is not idempotent (retry after a dirty failure fails)", {
        "000002_tags.up.sql": "CREATE TABLE tag (id INTEGER PRIMARY KEY, label TEXT);\nCREATE INDEX idx_tag_label ON tag (label);\n",
        "000002_tags.down.sql": "DROP TABLE tag;\n",
    }, ["--no-tx-wrap"], ("000002_tags.up.sql", 1, "MW205")),
    ("PRAGMA foreign_keys = OFF trusted to protect a parent rebuild", {
        "000002_nullable_email.up.sql": "PRAGMA foreign_keys = OFF;\n" + REBUILD_NEW + INDEX + "PRAGMA foreign_keys = ON;\n",
        "000002_nullable_email.down.sql": REBUILD_BACK_WITHOUT_INDEX + INDEX,
    }, ["--foreign-keys", "on"], ("000002_nullable_email.up.sql", 1, "MW203")),
    ("... which with enforcement on still runs the parent's DROP", {
        "000002_nullable_email.up.sql": "PRAGMA foreign_keys = OFF;\n" + REBUILD_NEW + INDEX + "PRAGMA foreign_keys = ON;\n",
        "000002_nullable_email.down.sql": REBUILD_BACK_WITHOUT_INDEX + INDEX,
    }, ["--foreign-keys", "on"], ("000002_nullable_email.up.sql", 4, "MW305")),
    ("a rebuild of a table a view reads", {
        "000002_view.up.sql": "CREATE VIEW account_plan AS SELECT id, plan FROM account;\n",
        "000002_view.down.sql": "DROP VIEW account_plan;\n",
        "000003_nullable_email.up.sql": REBUILD_NEW + INDEX,
        "000003_nullable_email.down.sql": REBUILD_BACK_WITHOUT_INDEX + INDEX,
    }, [], ("000003_nullable_email.up.sql", 4, "MW304")),
    ("the rename-away rebuild", {
        "000002_nullable_email.up.sql": (
            "ALTER TABLE account RENAME TO account_old;\n"
            "CREATE TABLE account (id INTEGER PRIMARY KEY, email TEXT, plan TEXT);\n"
            "INSERT INTO account (id, email, plan) SELECT id, email, plan FROM account_old;\n"
            "DROP TABLE account_old;\n" + INDEX
        ),
        "000002_nullable_email.down.sql": REBUILD_BACK_WITHOUT_INDEX + INDEX,
    }, [], ("000002_nullable_email.up.sql", 1, "MW301")),
    ("an up-only version whose down does nothing", {
        "000002_add_phone.up.sql": "ALTER TABLE account ADD COLUMN phone TEXT;\n",
        "000002_add_phone.down.sql": "-- nothing to do\n",
    }, [], ("000002_add_phone.down.sql", 1, "MW009")),
    ("an up-only version (no down file at all)", {
        "000002_add_phone.up.sql": "ALTER TABLE account ADD COLUMN phone TEXT;\n",
    }, [], ("000002_add_phone.up.sql", 1, "MW003")),
]


@pytest.mark.parametrize("files,args,expected", [d[1:] for d in DEFECTS], ids=[d[0] for d in DEFECTS])
def test_known_defect_is_caught(tmp_path, files, args, expected):
    result = lint_files(tmp_path, {**INIT, **files}, *args)
    found = [(f.file, f.line, f.code) for f in result.findings]
    assert expected in found, found
    # A no-op PRAGMA is a warning by itself (MW203); every other defect fails or misbehaves.
    severity = result.findings[found.index(expected)].severity
    assert severity == ("warning" if expected[2] == "MW203" else "error")


PARENT_REBUILD_UNWRAPPED = {
    "000002_nullable_email.up.sql": "PRAGMA foreign_keys = OFF;\nBEGIN;\n" + REBUILD_NEW + INDEX + "COMMIT;\nPRAGMA foreign_keys = ON;\n",
    "000002_nullable_email.down.sql": "PRAGMA foreign_keys = OFF;\nBEGIN;\n" + REBUILD_BACK_WITHOUT_INDEX + INDEX
                                      + "COMMIT;\nPRAGMA foreign_keys = ON;\n",
}
UNWRAPPED_INIT = {name: "BEGIN;\n" + text + "COMMIT;\n" for name, text in INIT.items()}


def test_parent_rebuild_with_enforcement_on_done_the_unwrapped_way_is_not_flagged(tmp_path):
    result = lint_files(tmp_path, {**UNWRAPPED_INIT, **PARENT_REBUILD_UNWRAPPED}, "--foreign-keys", "on", "--no-tx-wrap")
    assert result.findings == []


def test_a_down_rebuild_that_loses_an_index_is_one_finding_not_two(tmp_path):
    files = next(d[1] for d in DEFECTS if d[0] == "down recreates the table but not its indexes")
    result = lint_files(tmp_path, {**INIT, **files})
    # MW302 names the lost index; MW402 (not restored) would say the same again.
    assert [(f.file, f.code) for f in result.findings] == [("000002_nullable_email.down.sql", "MW302")]


def test_an_empty_down_is_one_finding_not_one_per_object_it_keeps(tmp_path):
    files = next(d[1] for d in DEFECTS if d[0] == "an up-only version whose down does nothing")
    result = lint_files(tmp_path, {**INIT, **files})
    assert [(f.file, f.code) for f in result.findings] == [("000002_add_phone.down.sql", "MW009")]


def test_rebuild_that_recreates_everything_is_not_flagged(tmp_path):
    files = {"000002_nullable_email.up.sql": REBUILD_NEW + INDEX,
             "000002_nullable_email.down.sql": REBUILD_BACK_WITHOUT_INDEX + INDEX}
    assert lint_files(tmp_path, {**INIT, **files}).findings == []


# -- the same migrations under real golang-migrate -------------------------------------


def write(folder: Path, files: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


@pytest.mark.go
@pytest.mark.parametrize("name,ops,fails_at", [
    ("down recreates the table but not its indexes", ["up", "down", "version"], None),
    ("down drops a column that is still indexed", ["up", "down"], "down"),
    ("explicit BEGIN ... COMMIT in a wrapped file", ["up"], "up"),
    ("a lone COMMIT in a wrapped file", ["up"], "up"),
    ("a lone END in a wrapped file", ["up"], "up"),
    ("a rebuild of a table a view reads", ["up"], "up"),
    ("two files with the same version after a merge", ["up"], "open"),
])
def test_golang_migrate_really_fails_where_the_linter_says_so(go_tools, tmp_path, name, ops, fails_at):
    files = next(d[1] for d in DEFECTS if d[0] == name)
    folder = write(tmp_path / "m", {**INIT, **files})
    results = go_tools.run_harness(folder, tmp_path / "db.sqlite", ops)
    failed = [r["op"] for r in results if r["error"]]
    if fails_at is None:
        assert failed == []
    else:
        assert failed[:1] == [fails_at], results


@pytest.mark.go
def test_golang_migrate_keeps_child_rows_in_the_unwrapped_parent_rebuild(go_tools, tmp_path):
    folder = write(tmp_path / "m", {**UNWRAPPED_INIT, **PARENT_REBUILD_UNWRAPPED})
    db = tmp_path / "db.sqlite"
    assert go_tools.run_harness(folder, db, ["steps:1"], fk=True, no_tx_wrap=True)[-1]["error"] is None
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO account (id, email) VALUES (1, 'a@example.com')")
        conn.execute("INSERT INTO note (account_id, body) VALUES (1, 'kept')")
    results = go_tools.run_harness(folder, db, ["up", "steps:-1"], fk=True, no_tx_wrap=True)
    assert [r["error"] for r in results] == [None, None]
    assert sqlite3.connect(db).execute("SELECT count(*) FROM note").fetchone()[0] == 1


@pytest.mark.go
def test_golang_migrate_skips_the_near_miss_silently(go_tools, tmp_path):
    files = next(d[1] for d in DEFECTS if d[0] == "a '-' instead of '_' that never runs")
    folder = write(tmp_path / "m", {**INIT, **files})
    (result,) = go_tools.run_harness(folder, tmp_path / "db.sqlite", ["up"])
    assert result["error"] is None and result["version"] == 1  # version 2 never ran
    columns = [r[1] for r in sqlite3.connect(tmp_path / "db.sqlite").execute("PRAGMA table_info(account)")]
    assert "phone" not in columns


@pytest.mark.go
def test_golang_migrate_down_of_an_empty_down_keeps_the_change(go_tools, tmp_path):
    files = next(d[1] for d in DEFECTS if d[0] == "an up-only version whose down does nothing")
    folder = write(tmp_path / "m", {**INIT, **files})
    results = go_tools.run_harness(folder, tmp_path / "db.sqlite", ["up", "steps:-1"])
    assert [r["error"] for r in results] == [None, None] and results[-1]["version"] == 1
    columns = [r[1] for r in sqlite3.connect(tmp_path / "db.sqlite").execute("PRAGMA table_info(account)")]
    assert "phone" in columns  # version 1 says no phone; the column stayed


@pytest.mark.go
def test_golang_migrate_without_tx_wrap_cannot_retry_a_failed_up(go_tools, tmp_path):
    broken = {"000002_tags.up.sql": "CREATE TABLE tag (id INTEGER PRIMARY KEY, label TEXT);\nCREATE INDEX idx_tag_label ON tag (lable);\n",
              "000002_tags.down.sql": "DROP TABLE tag;\n"}
    folder = write(tmp_path / "m", {**INIT, **broken})
    db = tmp_path / "db.sqlite"
    first = go_tools.run_harness(folder, db, ["up"], no_tx_wrap=True)
    assert first[-1]["error"] and first[-1]["dirty"]
    (folder / "000002_tags.up.sql").write_text(broken["000002_tags.up.sql"].replace("(lable)", "(label)"))
    retry = go_tools.run_harness(folder, db, ["force:1", "up"], no_tx_wrap=True)
    assert "already exists" in (retry[-1]["error"] or "")
    # The linter names this before it happens (on the fixed file too: it is not idempotent).
    assert "MW205" in [f.code for f in lint_files(tmp_path / "lint", {**INIT, **broken}, "--no-tx-wrap").findings]


@pytest.mark.go
def test_golang_migrate_with_foreign_keys_on_deletes_child_rows_in_a_parent_rebuild(go_tools, tmp_path):
    files = next(d[1] for d in DEFECTS if d[0] == "... which with enforcement on still runs the parent's DROP")
    folder = write(tmp_path / "m", {**INIT, **files})
    db = tmp_path / "db.sqlite"
    assert go_tools.run_harness(folder, db, ["steps:1"], fk=True)[-1]["error"] is None
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO account (id, email) VALUES (1, 'a@example.com')")
        conn.execute("INSERT INTO note (account_id, body) VALUES (1, 'kept?')")
    assert go_tools.run_harness(folder, db, ["up"], fk=True)[-1]["error"] is None
    assert sqlite3.connect(db).execute("SELECT count(*) FROM note").fetchone()[0] == 0  # CASCADE at the DROP
