"""mwcore.replay: up, down, up again on a scratch database, and what each
verdict means. Every test runs real migrations on real SQLite; the schema the
replay keeps incrementally is checked against a full snapshot after every
step (cross_check) unless a test says otherwise."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Dict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mwcore.folder import read_sql, scan_folder
from mwcore.replay import ReplayOptions, ReplayReport, StepVerdict, replay, verify_pair
from mwcore.replay import replay_dir as replay_folder
from mwcore import engine
from mwcore.engine import run_script, scratch as connect

from conftest import EXAMPLE_MIGRATIONS, ROOT, write_files

sys.path.append(str(ROOT / "bench"))  # after scripts/: bench/ has its own validate_pairs.py
from synthetic_chain import chain_files  # noqa: E402


def replay_files(tmp_path: Path, files: Dict[str, str], **options) -> ReplayReport:
    return replay_dir(write_files(tmp_path / "migrations", files), **options)


def replay_dir(folder: Path, *, start=None, **options) -> ReplayReport:
    opts = ReplayOptions(cross_check=True, **options)
    if start is None:
        return replay_folder(folder, opts)
    model = scan_folder(folder)
    texts = {f.name: read_sql(model.file_path(f)).text for f in model.all_files()}
    return replay(model, texts, start, opts)


def verdict(report: ReplayReport, version: int) -> StepVerdict:
    return next(s for s in report.steps if s.version == version)


BASE = {
    "1_base.up.sql": "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INT);\nCREATE INDEX t_a ON t(a);",
    "1_base.down.sql": "DROP TABLE t;",
}


# The example module ------------------------------------------------------------


def test_the_example_chain_verifies_clean():
    report = replay_dir(EXAMPLE_MIGRATIONS)
    assert [s.version for s in report.steps] == [1, 2, 3, 4]
    assert report.ok, [s.error for s in report.steps]
    assert all(set(s.statuses().values()) == {"ok"} for s in report.steps)
    assert report.stop is None and report.restores == 0


def test_the_example_relies_on_foreign_keys_being_off():
    """000002 rebuilds encoding_preset inside golang-migrate's transaction;
    with enforcement on, DROP TABLE's implicit DELETE fails on transcode_job."""
    report = replay_dir(EXAMPLE_MIGRATIONS, foreign_keys=True)
    second = verdict(report, 2)
    assert second.up == "failed" and second.stops_here
    assert "FOREIGN KEY constraint failed" in second.error
    assert report.stop.dirty_version == 2
    assert all(verdict(report, v).up == "skipped" for v in (3, 4))
    assert verdict(report, 1).statuses() == {c: "ok" for c in verdict(report, 1).statuses()}


# Known defects of hand-written migrations ------------------------------------------


def test_a_down_that_forgets_an_index_is_a_roundtrip_difference(tmp_path):
    report = replay_files(tmp_path, {
        **BASE,
        "2_rebuild.up.sql": "CREATE TABLE t_new(id INTEGER PRIMARY KEY, a TEXT NOT NULL DEFAULT '', b INT);\n"
                            "INSERT INTO t_new SELECT id, coalesce(a, ''), b FROM t;\nDROP TABLE t;\n"
                            "ALTER TABLE t_new RENAME TO t;\nCREATE INDEX t_a ON t(a);",
        "2_rebuild.down.sql": "CREATE TABLE t_old(id INTEGER PRIMARY KEY, a TEXT, b INT);\n"
                              "INSERT INTO t_old SELECT id, a, b FROM t;\nDROP TABLE t;\nALTER TABLE t_old RENAME TO t;",
    })
    second = verdict(report, 2)
    assert (second.up, second.down, second.roundtrip, second.reup, second.data) == ("ok", "ok", "differs", "ok", "ok")
    assert second.roundtrip_diff == ["index t_a: missing: INDEX on t(a)"]
    assert second.problems[0].file == "2_rebuild.down.sql"
    assert verdict(report, 1).is_ok() and not report.ok


def test_a_down_that_drops_an_indexed_column_fails_where_golang_migrate_stops(tmp_path):
    report = replay_files(tmp_path, {
        **BASE,
        "2_add.up.sql": "ALTER TABLE t ADD COLUMN c INT;\nCREATE INDEX t_c ON t(c);",
        "2_add.down.sql": "-- forgot the index\nALTER TABLE t DROP COLUMN c;",
    })
    second = verdict(report, 2)
    assert second.down == "failed" and second.stops_here
    assert second.problems[0].location() == "2_add.down.sql:2"
    assert "no such column: c" in second.error
    assert (report.stop.phase, report.stop.version, report.stop.dirty_version) == ("down", 2, 1)
    # The replay went on from version 1's state, rebuilt on a fresh copy.
    assert report.restores == 1
    assert verdict(report, 1).statuses() == {c: "ok" for c in verdict(report, 1).statuses()}
    assert second.reup == "ok"


def test_a_rebuild_that_loses_child_rows_through_cascade_with_foreign_keys_on(tmp_path):
    """PRAGMA foreign_keys = OFF is a no-op inside golang-migrate's
    transaction: DROP TABLE parent deletes the children by ON DELETE CASCADE."""
    files = {
        "1_base.up.sql": "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT);\n"
                         "CREATE TABLE c(id INTEGER PRIMARY KEY, p_id INT REFERENCES p(id) ON DELETE CASCADE);",
        "1_base.down.sql": "DROP TABLE c;\nDROP TABLE p;",
        "2_rebuild.up.sql": "PRAGMA foreign_keys = OFF;\nCREATE TABLE p_new(id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');\n"
                            "INSERT INTO p_new SELECT id, coalesce(name, '') FROM p;\nDROP TABLE p;\n"
                            "ALTER TABLE p_new RENAME TO p;\nPRAGMA foreign_keys = ON;",
        "2_rebuild.down.sql": "CREATE TABLE p_old(id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO p_old SELECT * FROM p;\n"
                              "DROP TABLE p;\nALTER TABLE p_old RENAME TO p;",
    }
    with_fk = replay_files(tmp_path / "on", files, foreign_keys=True)
    second = verdict(with_fk, 2)
    assert second.data == "failed"
    assert "after the up, 3 of 3 synthetic rows of c are gone" in second.error
    without_fk = replay_files(tmp_path / "off", files, foreign_keys=False)
    assert without_fk.ok, [s.error for s in without_fk.steps]


def test_the_rename_away_rebuild_leaves_children_pointing_at_the_dropped_table(tmp_path):
    report = replay_files(tmp_path, {
        "1_base.up.sql": "CREATE TABLE p(id INTEGER PRIMARY KEY, n TEXT);\n"
                         "CREATE TABLE c(id INTEGER PRIMARY KEY, p_id INT REFERENCES p(id));",
        "1_base.down.sql": "DROP TABLE c;\nDROP TABLE p;",
        "2_away.up.sql": "ALTER TABLE p RENAME TO p_old;\nCREATE TABLE p(id INTEGER PRIMARY KEY, n TEXT, m TEXT);\n"
                         "INSERT INTO p(id, n) SELECT id, n FROM p_old;\nDROP TABLE p_old;",
        "2_away.down.sql": "ALTER TABLE p RENAME TO p_old;\nCREATE TABLE p(id INTEGER PRIMARY KEY, n TEXT);\n"
                           "INSERT INTO p SELECT id, n FROM p_old;\nDROP TABLE p_old;",
    })
    second = verdict(report, 2)
    assert second.integrity == "failed"
    assert any("rows of c point to missing rows of p_old" in p.message for p in second.problems)
    assert second.roundtrip == "differs"
    assert any("foreign key c: unexpected: (p_id) REFERENCES p_old(id)" in line for line in second.roundtrip_diff)


def test_a_rebuild_of_a_table_a_view_reads_fails_at_the_rename(tmp_path):
    report = replay_files(tmp_path, {
        **BASE,
        "2_view.up.sql": "CREATE VIEW tv AS SELECT a FROM t;", "2_view.down.sql": "DROP VIEW tv;",
        "3_rebuild.up.sql": "CREATE TABLE t_new(id INTEGER PRIMARY KEY, a TEXT, b INT NOT NULL DEFAULT 0);\n"
                            "INSERT INTO t_new SELECT id, a, coalesce(b, 0) FROM t;\nDROP TABLE t;\n"
                            "ALTER TABLE t_new RENAME TO t;\nCREATE INDEX t_a ON t(a);",
        "3_rebuild.down.sql": "SELECT 1;",
    })
    third = verdict(report, 3)
    assert third.up == "failed" and third.stops_here
    assert third.problems[0].location() == "3_rebuild.up.sql:4"
    assert "error in view tv" in third.error


def test_explicit_begin_in_a_wrapped_file_fails_the_up(tmp_path):
    report = replay_files(tmp_path, {**BASE, "2_tx.up.sql": "BEGIN;\nCREATE TABLE u(x);\nCOMMIT;",
                                     "2_tx.down.sql": "DROP TABLE u;"})
    assert "cannot start a transaction within a transaction" in verdict(report, 2).error
    assert replay_files(tmp_path / "unwrapped", {**BASE, "2_tx.up.sql": "BEGIN;\nCREATE TABLE u(x);\nCOMMIT;",
                                                  "2_tx.down.sql": "DROP TABLE u;"}, no_tx_wrap=True).ok


def test_an_up_that_cannot_run_again_after_an_incomplete_down(tmp_path):
    report = replay_files(tmp_path, {**BASE, "2_u.up.sql": "CREATE TABLE u(x);\nCREATE INDEX u_x ON u(x);",
                                     "2_u.down.sql": "DROP INDEX u_x;"})
    second = verdict(report, 2)
    assert second.roundtrip == "differs" and second.reup == "failed"
    assert "table u already exists" in next(p.message for p in second.problems if p.check == "reup")
    assert report.stop.phase == "reup" and second.stops_here


def test_an_up_only_version_fails_unless_missing_downs_are_allowed(tmp_path):
    files = {**BASE, "2_seed.up.sql": "INSERT INTO t(a, b) VALUES ('x', 1);",
             "3_col.up.sql": "ALTER TABLE t ADD COLUMN c INT;", "3_col.down.sql": "ALTER TABLE t DROP COLUMN c;"}
    strict = replay_files(tmp_path / "strict", files)
    assert verdict(strict, 2).down == "missing" and not strict.ok
    assert verdict(strict, 2).roundtrip == "skipped"
    allowed = replay_files(tmp_path / "allowed", files, allow_missing_down=True)
    assert allowed.ok and verdict(allowed, 2).down == "missing" and verdict(allowed, 2).error is None


def test_an_up_only_version_whose_up_cannot_run_again_is_skipped_when_allowed(tmp_path):
    files = {**BASE, "2_u.up.sql": "CREATE TABLE u(x);"}
    report = replay_files(tmp_path, files, allow_missing_down=True)
    second = verdict(report, 2)
    assert (second.down, second.reup) == ("missing", "skipped")
    assert second.notes == []  # allowed: nothing said per version (the run says it once)
    assert report.ok and report.stop.phase == "reup"
    strict = replay_files(tmp_path / "strict", files)
    assert any("cannot run again" in n for n in verdict(strict, 2).notes)


def test_a_down_only_version_is_reported_missing_up(tmp_path):
    report = replay_files(tmp_path, {**BASE, "2_x.down.sql": "SELECT 1;"})
    assert verdict(report, 2).up == "missing" and not report.ok


def test_an_up_that_deletes_rows_fails_the_data_check(tmp_path):
    report = replay_files(tmp_path, {**BASE, "2_purge.up.sql": "DELETE FROM t WHERE b > 0;",
                                     "2_purge.down.sql": "SELECT 1;"})
    second = verdict(report, 2)
    assert second.data == "failed" and second.roundtrip == "ok"
    assert "after the up, 3 of 3 synthetic rows of t are gone" in second.error


def test_a_down_that_loses_values_fails_the_data_check(tmp_path):
    report = replay_files(tmp_path, {
        **BASE,
        "2_split.up.sql": "ALTER TABLE t ADD COLUMN c TEXT;\nUPDATE t SET c = a;",
        "2_split.down.sql": "UPDATE t SET a = NULL;\nALTER TABLE t DROP COLUMN c;",
    })
    second = verdict(report, 2)
    assert second.data == "failed"
    assert any(p.message.startswith("after the down, 3 of 3 synthetic rows of t are back with other values")
               for p in second.problems)


def test_an_up_may_change_values_if_the_down_puts_them_back(tmp_path):
    report = replay_files(tmp_path, {**BASE, "2_bump.up.sql": "UPDATE t SET b = b + 1;",
                                     "2_bump.down.sql": "UPDATE t SET b = b - 1;"})
    assert report.ok, verdict(report, 2).error
    broken = replay_files(tmp_path / "broken", {**BASE, "2_bump.up.sql": "UPDATE t SET b = b + 1;",
                                                 "2_bump.down.sql": "SELECT 1;"})
    assert verdict(broken, 2).data == "failed" and "back with other values" in verdict(broken, 2).error


def test_values_converted_by_a_new_column_type_still_count_as_kept(tmp_path):
    """A rebuild to b TEXT stores 7100 as '7100'; SQLite compares the two as
    equal under the column's affinity, and so does the data check."""
    def rebuild(b_type: str) -> str:  # k has no primary key: rows are found by their values only
        return (f"CREATE TABLE k_new(a TEXT, b {b_type});\n"
                "INSERT INTO k_new SELECT a, b FROM k;\nDROP TABLE k;\nALTER TABLE k_new RENAME TO k;")
    report = replay_files(tmp_path, {"1_k.up.sql": "CREATE TABLE k(a TEXT, b INT);", "1_k.down.sql": "DROP TABLE k;",
                                     "2_text.up.sql": rebuild("TEXT"), "2_text.down.sql": rebuild("INT")})
    assert report.ok, verdict(report, 2).error
    assert verdict(report, 2).data == "ok"


def test_data_an_up_destroys_on_purpose_is_noted_not_failed(tmp_path):
    report = replay_files(tmp_path, {
        **BASE,
        "2_drop.up.sql": "ALTER TABLE t DROP COLUMN b;",
        "2_drop.down.sql": "ALTER TABLE t ADD COLUMN b INT;",
        "3_u.up.sql": "CREATE TABLE u(x);", "3_u.down.sql": "DROP TABLE u;",
        "4_drop_u.up.sql": "DROP TABLE u;", "4_drop_u.down.sql": "CREATE TABLE u(x);",
    })
    assert report.ok, [s.error for s in report.steps]
    assert "the up drops t.b and the values in it; a down cannot bring them back" in verdict(report, 2).notes
    assert "the up drops table u and its rows; a down cannot bring them back" in verdict(report, 4).notes


def test_data_is_skipped_not_failed_when_no_row_fits(tmp_path):
    report = replay_files(tmp_path, {
        "1_base.up.sql": "CREATE TABLE never(x INT CHECK (0));", "1_base.down.sql": "DROP TABLE never;",
        "2_idx.up.sql": "CREATE INDEX never_x ON never(x);", "2_idx.down.sql": "DROP INDEX never_x;",
    })
    assert report.ok
    assert verdict(report, 2).data == "skipped"
    assert any("no synthetic row fits" in n for n in verdict(report, 2).notes)


def test_no_data_checks_nothing_about_rows(tmp_path):
    report = replay_files(tmp_path, {**BASE, "2_purge.up.sql": "DELETE FROM t;", "2_purge.down.sql": ""},
                          check_data=False)
    assert report.ok and {s.data for s in report.steps} == {"skipped"}


# The run ---------------------------------------------------------------------------


def test_a_failed_up_skips_the_versions_that_build_on_it(tmp_path):
    report = replay_files(tmp_path, {
        **BASE,
        "2_bad.up.sql": "ALTER TABLE t ADD COLUMN c INT;\nSELECT nope();", "2_bad.down.sql": "SELECT 1;",
        "3_next.up.sql": "CREATE TABLE n(x);", "3_next.down.sql": "DROP TABLE n;",
    })
    second, third = verdict(report, 2), verdict(report, 3)
    assert second.up == "failed" and second.problems[0].location() == "2_bad.up.sql:2"
    assert set(third.statuses().values()) == {"skipped"} and third.notes
    assert verdict(report, 1).is_ok()
    assert [(t.phase, t.version, t.after_version, t.after_dirty) for t in report.trace] == [
        ("up", 1, 1, False), ("up", 2, 2, True)]


def test_every_version_gets_a_verdict_after_several_failing_downs(tmp_path):
    files = {}
    for v in range(1, 7):
        files[f"{v}_t.up.sql"] = f"CREATE TABLE t{v}(x);"
        files[f"{v}_t.down.sql"] = f"DROP TABLE t{v};" if v % 2 else "DROP TABLE nope;"
    report = replay_files(tmp_path, files)
    assert [s.down for s in report.steps] == ["ok", "failed"] * 3
    assert [s.reup for s in report.steps] == ["ok"] * 6
    assert report.restores == 3
    assert [s.version for s in report.steps if s.stops_here] == [6]


def test_from_and_to_limit_the_versions_checked(tmp_path):
    files = {}
    for v in range(1, 6):
        files[f"{v}_t.up.sql"] = f"CREATE TABLE t{v}(x);"
        files[f"{v}_t.down.sql"] = f"DROP TABLE t{v};" if v != 1 else "DROP TABLE nope;"
    report = replay_files(tmp_path, files, from_version=2, to_version=4)
    assert [s.version for s in report.steps] == [2, 3, 4]
    assert report.ok  # version 1's broken down is outside the range
    # Version 1 is only applied to build the state: no verdict, no down, not in golang-migrate's checked run.
    assert [t.version for t in report.trace] == [2, 3, 4, 4, 3, 2, 2, 3, 4]


def test_a_copy_of_a_real_database_starts_at_its_version(tmp_path):
    folder = write_files(tmp_path / "migrations", {
        **BASE, "2_c.up.sql": "ALTER TABLE t ADD COLUMN c INT NOT NULL;", "2_c.down.sql": "ALTER TABLE t DROP COLUMN c;",
    })
    db = tmp_path / "app.db"
    real = sqlite3.connect(str(db), isolation_level=None)
    real.executescript(BASE["1_base.up.sql"])
    real.execute("CREATE TABLE schema_migrations (version uint64,dirty bool)")
    real.execute("INSERT INTO schema_migrations VALUES (1, 0)")
    real.execute("INSERT INTO t(a, b) VALUES ('user row', 7)")
    real.close()
    before = db.read_bytes()
    source = engine.copy_of_user_db(db)
    report = replay_dir(folder, start=lambda: _copy(source))
    assert report.start_version == 1 and [s.version for s in report.steps] == [2]
    # ADD COLUMN ... NOT NULL without a default fails only on a table with rows.
    assert verdict(report, 2).up == "failed"
    assert "Cannot add a NOT NULL column with default value NULL" in verdict(report, 2).error
    source.close()
    assert db.read_bytes() == before


def _copy(source: sqlite3.Connection) -> sqlite3.Connection:
    return engine.copy(source)


@pytest.mark.parametrize("row,blocked", [
    ((1, 1), "dirty at version 1"),
    ((9, 0), "at version 9, which no file"),
])
def test_a_copy_golang_migrate_would_refuse_is_reported_not_run(tmp_path, row, blocked):
    folder = write_files(tmp_path / "migrations", BASE)
    source = connect()
    source.execute("CREATE TABLE schema_migrations (version uint64,dirty bool)")
    source.execute("INSERT INTO schema_migrations VALUES (?, ?)", row)
    report = replay_dir(folder, start=lambda: _copy(source))
    assert blocked in report.blocked and report.steps == [] and not report.ok


def test_damage_a_real_database_already_had_is_not_blamed_on_a_migration(tmp_path):
    folder = write_files(tmp_path / "migrations", {
        "1_t.up.sql": "CREATE TABLE t(a);", "1_t.down.sql": "DROP TABLE t;",
        "2_c.up.sql": "ALTER TABLE t ADD COLUMN c INT;", "2_c.down.sql": "ALTER TABLE t DROP COLUMN c;",
    })
    # Damaged outside the engine (whose guard refuses writable_schema), as a real file can be.
    damaged = sqlite3.connect(":memory:", isolation_level=None)
    damaged.executescript("CREATE TABLE t(a); INSERT INTO t VALUES (1), (1); CREATE INDEX i ON t(a);\n"
                          "CREATE TABLE schema_migrations (version uint64,dirty bool); INSERT INTO schema_migrations VALUES (1, 0);\n"
                          "PRAGMA writable_schema = ON;\n"
                          "UPDATE sqlite_master SET sql = 'CREATE UNIQUE INDEX i ON t(a)' WHERE name = 'i';")
    start = lambda: _copy(damaged)  # noqa: E731
    assert start().execute("SELECT * FROM pragma_integrity_check('t')").fetchall() == [("non-unique entry in index i",)]
    report = replay_dir(folder, start=start)
    assert report.ok and verdict(report, 2).integrity == "ok"


def test_duplicate_versions_block_the_run(tmp_path):
    report = replay_files(tmp_path, {**BASE, "01_again.up.sql": "SELECT 1;"})
    assert "duplicate migration file: 1_base.up.sql" in report.blocked


def test_sqlite_version_hint_on_failures_that_may_come_from_an_older_sqlite(tmp_path):
    report = replay_files(tmp_path, {"1_x.up.sql": "CREATE TABLE t(x) STRICTLY;", "1_x.down.sql": "DROP TABLE t;"},
                          app_sqlite_version="99.0.0")
    assert "the app's driver bundles SQLite 99.0.0" in verdict(report, 1).error
    plain = replay_files(tmp_path / "same", {"1_x.up.sql": "CREATE TABLE t(x) STRICTLY;", "1_x.down.sql": ""},
                         app_sqlite_version=sqlite3.sqlite_version)
    assert "bundles" not in verdict(plain, 1).error


# Blame: only the version at fault -------------------------------------------------------


def test_an_index_a_later_down_left_behind_is_not_blamed_on_a_lower_version(tmp_path):
    report = replay_files(tmp_path, {
        **BASE,
        "2_b.up.sql": "CREATE INDEX t_b ON t(b);", "2_b.down.sql": "DROP INDEX t_b;",
        "3_ab.up.sql": "CREATE INDEX t_ab ON t(a, b);", "3_ab.down.sql": "SELECT 1; -- forgot DROP INDEX t_ab",
    })
    assert [s.version for s in report.failing()] == [3]
    assert verdict(report, 3).roundtrip_diff == ["index t_ab: unexpected: INDEX on t(a, b)"]
    assert any("not compared: index t_ab" in n for n in verdict(report, 2).notes)


def test_values_a_later_down_never_restored_are_not_blamed_on_a_lower_version(tmp_path):
    report = replay_files(tmp_path, {
        **BASE,
        "2_c.up.sql": "ALTER TABLE t ADD COLUMN c INT;", "2_c.down.sql": "ALTER TABLE t DROP COLUMN c;",
        "3_bump.up.sql": "UPDATE t SET b = b + 1;", "3_bump.down.sql": "SELECT 1; -- forgot to undo",
    })
    assert [s.version for s in report.failing()] == [3]
    assert "back with other values" in verdict(report, 3).error


def test_a_down_that_fails_only_because_of_a_later_versions_leftovers_is_retried(tmp_path):
    """golang-migrate does stop at version 2's down (the view version 4 left
    behind no longer compiles once version 3 dropped its table), but version
    2's down is fine from the state it should see: only 4 is to fix."""
    report = replay_files(tmp_path, {
        "1_a.up.sql": "CREATE TABLE a(x);", "1_a.down.sql": "DROP TABLE a;",
        "2_z.up.sql": "ALTER TABLE a ADD COLUMN z INT;", "2_z.down.sql": "ALTER TABLE a DROP COLUMN z;",
        "3_b.up.sql": "CREATE TABLE b(y);", "3_b.down.sql": "DROP TABLE b;",
        "4_v.up.sql": "CREATE VIEW v AS SELECT * FROM b;", "4_v.down.sql": "SELECT 1; -- forgot DROP VIEW",
    })
    assert [s.version for s in report.failing()] == [4]
    second = verdict(report, 2)
    assert second.down == "ok" and second.stops_here
    assert (report.stop.phase, report.stop.version) == ("down", 2)
    assert any("golang-migrate's own run fails at this down" in n and "error in view v" in n for n in second.notes)


def test_rows_left_dangling_in_a_child_table_fail_integrity(tmp_path):
    report = replay_files(tmp_path, {
        "1_pc.up.sql": "CREATE TABLE p(id INTEGER PRIMARY KEY, n TEXT);\n"
                       "CREATE TABLE c(id INTEGER PRIMARY KEY, p_id INT NOT NULL REFERENCES p(id));",
        "1_pc.down.sql": "DROP TABLE c;\nDROP TABLE p;",
        "2_purge.up.sql": "DELETE FROM p;", "2_purge.down.sql": "SELECT 1;",
    })
    second = verdict(report, 2)
    assert second.integrity == "failed"
    assert any("rows of c point to missing rows of p (c.p_id -> p(id))" in p.message for p in second.problems)


# Touched objects only -----------------------------------------------------------------


def test_the_synthetic_benchmark_chain_verifies_clean_with_foreign_keys_off(tmp_path):
    report = replay_files(tmp_path, chain_files(60))
    assert report.ok, [s.error for s in report.failing()]


_SHAPES = ["table", "child", "index", "column", "drop_column", "rebuild", "rename_column", "view", "trigger", "data"]


def _shape(kind: str, v: int, tables: list) -> tuple:
    """(up, down) for one generated version."""
    t = tables[v % len(tables)] if tables else None
    if kind == "table" or t is None:
        name = f"g{v}"
        tables.append(name)
        return (f"CREATE TABLE {name}(id INTEGER PRIMARY KEY, a TEXT, b INT);", f"DROP TABLE {name};")
    if kind == "child":
        name = f"g{v}"
        tables.append(name)
        return (f"CREATE TABLE {name}(id INTEGER PRIMARY KEY, a TEXT, b INT, ref INT REFERENCES {t}(id) ON DELETE CASCADE);",
                f"DROP TABLE {name};")
    if kind == "index":
        return f"CREATE INDEX i{v} ON {t}(a);", f"DROP INDEX i{v};"
    if kind in ("column", "drop_column"):
        return f"ALTER TABLE {t} ADD COLUMN c{v} TEXT;", f"ALTER TABLE {t} DROP COLUMN c{v};"
    if kind == "rename_column":  # away and back: views and triggers that use it are rewritten twice
        there_and_back = f"ALTER TABLE {t} RENAME COLUMN a TO a{v};\nALTER TABLE {t} RENAME COLUMN a{v} TO a;"
        return there_and_back, there_and_back
    if kind == "view":
        return f"CREATE VIEW v{v} AS SELECT * FROM {t};", f"DROP VIEW v{v};"
    if kind == "trigger":
        return (f"CREATE TRIGGER tr{v} AFTER INSERT ON {t} BEGIN UPDATE {t} SET b = 1 WHERE id = NEW.id; END;",
                f"DROP TRIGGER tr{v};")
    if kind == "rebuild":
        return (f"ALTER TABLE {t} RENAME TO {t}_away{v};\nALTER TABLE {t}_away{v} RENAME TO {t};",
                f"ALTER TABLE {t} RENAME TO {t}_back{v};\nALTER TABLE {t}_back{v} RENAME TO {t};")
    return f"UPDATE {t} SET b = coalesce(b, 0) + 1;", f"UPDATE {t} SET b = b - 1;"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(st.sampled_from(_SHAPES), min_size=2, max_size=9), foreign_keys=st.booleans(),
       break_at=st.one_of(st.none(), st.integers(1, 9)), how=st.sampled_from(["no-op", "leftover", "fails"]))
def test_generated_chains_blame_exactly_the_broken_version(tmp_path_factory, kinds, foreign_keys, break_at, how):
    """After every step the incrementally kept schema must equal a full
    snapshot (cross_check raises otherwise); a clean chain verifies clean;
    a down broken on purpose makes that version, and only that one, fail,
    whatever its leftovers do to the versions below it."""
    tables: list = []
    files = {}
    expected = []
    for v, kind in enumerate(kinds, start=1):
        up, down = _shape(kind, v, tables)
        if v == break_at:
            down = {"no-op": "SELECT 1;", "leftover": down + f"\nCREATE TABLE leftover{v}(x);",
                    "fails": "SELECT nope();"}[how]
            if not (how == "no-op" and "RENAME" in up):  # renaming away and back changes nothing
                expected = [v]
        files[f"{v}_m.up.sql"] = up
        files[f"{v}_m.down.sql"] = down
    report = replay_files(tmp_path_factory.mktemp("gen"), files, foreign_keys=foreign_keys)
    broken = [s.version for s in report.steps if not s.is_ok()]
    assert broken == expected, [(s.version, s.error, s.notes) for s in report.steps]


# One pair on a given connection -----------------------------------------------------


def test_verify_pair_runs_up_down_up_on_the_connection_it_is_given():
    conn = connect()
    run_script(conn, BASE["1_base.up.sql"])
    result = verify_pair(conn, "ALTER TABLE t ADD COLUMN c INT;", "ALTER TABLE t DROP COLUMN c;")
    assert result.statuses() == {c: "ok" for c in result.statuses()}
    assert [r[1] for r in conn.execute("PRAGMA table_info(t)")] == ["id", "a", "b", "c"]


def test_verify_pair_reports_a_down_that_loses_an_index():
    conn = connect()
    run_script(conn, BASE["1_base.up.sql"])
    result = verify_pair(conn, "DROP INDEX t_a;", "SELECT 1;", down_file="x.down.sql")
    assert result.roundtrip == "differs" and result.reup == "failed"
    assert result.roundtrip_diff == ["index t_a: missing: INDEX on t(a)"]
    assert result.problems[0].file == "x.down.sql"
