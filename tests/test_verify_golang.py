"""The replay against real golang-migrate: on the same folders, golang-migrate's
own up, down-by-steps, up run (tests/goharness) must end every step as the
replay's trace says: same error or success, version and dirty flag, and the
same schema where golang-migrate stops."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Dict, List, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mwcore.folder import read_sql, scan_folder
from mwcore.replay import ReplayOptions, ReplayReport, replay
from mwcore.schema import snapshot
from mwcore import engine

from conftest import generated_chain, write_files

pytestmark = pytest.mark.go


def replay_folder(folder: Path, *, foreign_keys: bool = False, no_tx_wrap: bool = False,
                  kept: Optional[Dict[str, sqlite3.Connection]] = None) -> ReplayReport:
    model = scan_folder(folder)
    texts = {f.name: read_sql(model.file_path(f)).text for f in model.all_files()}

    def keep(label: str, conn: sqlite3.Connection) -> None:
        if kept is not None:
            kept[label] = engine.copy(conn)

    options = ReplayOptions(foreign_keys=foreign_keys, no_tx_wrap=no_tx_wrap, check_data=False, keep=keep,
                            cross_check=True)
    return replay(model, texts, lambda: engine.scratch(foreign_keys=foreign_keys), options)


def golang_migrate_run(go_tools, folder: Path, db: Path, versions: int, **options) -> List[dict]:
    """golang-migrate's up, down, up as single steps, up to its first error
    (after it every step fails: the database is dirty)."""
    ops = ["steps:1"] * versions + ["steps:-1"] * versions + ["steps:1"] * versions
    if not ops:
        return []
    out = []
    for line in go_tools.run_harness(folder, db, ops, **options):
        out.append(line)
        if line["error"] is not None:
            break
    return out


def compare(go_tools, tmp_path: Path, files: Dict[str, str], **options) -> ReplayReport:
    folder = write_files(tmp_path / "migrations", files)
    kept: Dict[str, sqlite3.Connection] = {}
    report = replay_folder(folder, kept=kept, foreign_keys=options.get("fk", False),
                           no_tx_wrap=options.get("no_tx_wrap", False))
    theirs = golang_migrate_run(go_tools, folder, tmp_path / "go.db", len(scan_folder(folder).migrations), **options)
    ours = [{"error": step.error is not None, "version": step.after_version, "dirty": step.after_dirty}
            for step in report.trace]
    assert ours == [{"error": r["error"] is not None, "version": r["version"], "dirty": r["dirty"]} for r in theirs], \
        "\n".join(f"go: {r}" for r in theirs)
    failed = [r for r in theirs if r["error"] is not None]
    if failed:
        assert report.stop is not None and report.stop.dirty_version == failed[0]["version"]
        stopping = [s for s in report.steps if s.stops_here]
        assert [s.version for s in stopping] == [report.stop.version]
        go_schema = snapshot(sqlite3.connect(str(tmp_path / "go.db")))
        assert snapshot(kept["stop"]) == go_schema
    else:
        assert report.stop is None and not any(s.stops_here for s in report.steps)
    return report


CHAINS = {
    "clean chain": {
        "1_a.up.sql": "CREATE TABLE a(x);", "1_a.down.sql": "DROP TABLE a;",
        "2_b.up.sql": "CREATE TABLE b(x);", "2_b.down.sql": "DROP TABLE b;",
    },
    "failing up": {
        "1_a.up.sql": "CREATE TABLE a(x);", "1_a.down.sql": "DROP TABLE a;",
        "2_b.up.sql": "CREATE TABLE b(x);\nINSERT INTO missing VALUES (1);", "2_b.down.sql": "DROP TABLE b;",
        "3_c.up.sql": "CREATE TABLE c(x);", "3_c.down.sql": "DROP TABLE c;",
    },
    "failing first up": {"1_a.up.sql": "CREATE TABLE a(x); SELECT nope();", "1_a.down.sql": "DROP TABLE a;"},
    "failing down": {
        "1_a.up.sql": "CREATE TABLE a(x);", "1_a.down.sql": "DROP TABLE a;",
        "2_b.up.sql": "CREATE TABLE b(x);", "2_b.down.sql": "DROP TABLE nope;",
        "3_c.up.sql": "CREATE TABLE c(x);", "3_c.down.sql": "DROP TABLE c;",
    },
    "failing first down": {"1_a.up.sql": "CREATE TABLE a(x);", "1_a.down.sql": "DROP TABLE nope;"},
    "empty and comment-only files": {
        "1_a.up.sql": "", "1_a.down.sql": "-- nothing\n", "2_b.up.sql": "CREATE TABLE b(x);", "2_b.down.sql": "",
    },
    "missing down": {
        "1_a.up.sql": "CREATE TABLE a(x);", "2_b.up.sql": "CREATE TABLE b(x);", "2_b.down.sql": "DROP TABLE b;",
    },
    "missing down whose up cannot run twice": {
        "1_a.up.sql": "CREATE TABLE a(x);", "1_a.down.sql": "DROP TABLE a;",
        "2_b.up.sql": "CREATE TABLE b(x);", "3_c.up.sql": "CREATE TABLE c(x);", "3_c.down.sql": "DROP TABLE c;",
    },
    "down-only version": {
        "1_a.up.sql": "CREATE TABLE a(x);", "1_a.down.sql": "DROP TABLE a;", "2_b.down.sql": "SELECT 1;",
    },
    "explicit BEGIN in a wrapped file": {
        "1_a.up.sql": "CREATE TABLE a(x);", "1_a.down.sql": "DROP TABLE a;",
        "2_b.up.sql": "BEGIN TRANSACTION;\nCREATE TABLE b(x);\nCOMMIT;", "2_b.down.sql": "DROP TABLE b;",
    },
    "gaps and version 0": {
        "0_zero.up.sql": "CREATE TABLE z(x);", "0_zero.down.sql": "DROP TABLE z;",
        "5_five.up.sql": "CREATE TABLE f(x);", "5_five.down.sql": "DROP TABLE f;",
        "0020_twenty.up.sql": "CREATE TABLE t(x);", "0020_twenty.down.sql": "DROP TABLE t;",
    },
    "down that forgets an index": {
        "1_a.up.sql": "CREATE TABLE a(x, y);", "1_a.down.sql": "DROP TABLE a;",
        "2_b.up.sql": "CREATE INDEX a_y ON a(y);", "2_b.down.sql": "SELECT 1;",
    },
    "down that drops an indexed column": {
        "1_a.up.sql": "CREATE TABLE a(x, y);", "1_a.down.sql": "DROP TABLE a;",
        "2_b.up.sql": "ALTER TABLE a ADD COLUMN z INT;\nCREATE INDEX a_z ON a(z);",
        "2_b.down.sql": "ALTER TABLE a DROP COLUMN z;",
    },
    "up that is not idempotent after a bad down": {
        "1_a.up.sql": "CREATE TABLE a(x);", "1_a.down.sql": "DROP TABLE a;",
        "2_b.up.sql": "CREATE TABLE b(x);\nCREATE INDEX b_x ON b(x);", "2_b.down.sql": "DROP INDEX b_x;",
    },
}


@pytest.mark.parametrize("name", list(CHAINS))
def test_replay_stops_where_golang_migrate_stops(go_tools, tmp_path, name):
    compare(go_tools, tmp_path, CHAINS[name])


def test_no_tx_wrap_partial_failure_matches_golang_migrate(go_tools, tmp_path):
    files = {"1_a.up.sql": "CREATE TABLE a(x);", "1_a.down.sql": "DROP TABLE a;",
             "2_b.up.sql": "CREATE TABLE b(x);\nINSERT INTO missing VALUES (1);", "2_b.down.sql": "DROP TABLE b;"}
    report = compare(go_tools, tmp_path, files, no_tx_wrap=True)
    assert report.steps[1].up == "failed" and report.restores == 1


def test_cascade_on_rebuild_with_foreign_keys_matches_golang_migrate(go_tools, tmp_path):
    files = {
        "1_a.up.sql": "CREATE TABLE p(id INTEGER PRIMARY KEY);\n"
                      "CREATE TABLE c(id INTEGER PRIMARY KEY, p INT REFERENCES p(id) ON DELETE CASCADE);",
        "1_a.down.sql": "DROP TABLE c; DROP TABLE p;",
        "2_b.up.sql": "CREATE TABLE p_new(id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO p_new(id) SELECT id FROM p;\n"
                      "DROP TABLE p;\nALTER TABLE p_new RENAME TO p;",
        "2_b.down.sql": "SELECT 1;",
    }
    compare(go_tools, tmp_path, files, fk=True)


def test_sqlite_versions_on_both_sides_are_reported(go_tools, tmp_path, capsys):
    """The replay runs on Python's SQLite; golang-migrate on mattn's bundled one.
    The project's go.mod pins mattn; the version the replay names for the app
    must be the one golang-migrate's driver really runs."""
    from mwcore.project import read_project_facts

    theirs = go_tools.sqlite_version()
    facts = read_project_facts(Path(__file__).resolve().parent / "goharness")
    assert facts.driver == "sqlite3" and facts.app_sqlite is not None and facts.app_sqlite.version == theirs
    with capsys.disabled():
        print(f"\nSQLite: Python {sqlite3.sqlite_version}, golang-migrate (mattn {facts.sqlite_library.version}) {theirs}")


_ups = st.sampled_from(["create", "create", "create", "fail", "empty", "missing", "begin", "index"])
_downs = st.sampled_from(["drop", "drop", "drop", "fail", "empty", "missing", "keep-index"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    versions=st.lists(st.integers(0, 15), min_size=1, max_size=5, unique=True).map(sorted),
    kinds=st.lists(st.tuples(_ups, _downs), min_size=5, max_size=5),
    no_tx_wrap=st.booleans(),
)
def test_generated_chains_stop_where_golang_migrate_stops(go_tools, tmp_path_factory, versions, kinds, no_tx_wrap):
    files = generated_chain(versions, kinds)
    if not files:
        return
    compare(go_tools, tmp_path_factory.mktemp("chain"), files, no_tx_wrap=no_tx_wrap)


# Verdicts about data and triggers, against golang-migrate -----------------------------

DATA_DEPENDENT_CHAIN = {
    "1_t.up.sql": "CREATE TABLE t(id INTEGER PRIMARY KEY, active INT NOT NULL CHECK (active IN (0, 1)));",
    "1_t.down.sql": "DROP TABLE t;",
    "2_one.up.sql": "CREATE UNIQUE INDEX t_active ON t(active);",
    "2_one.down.sql": "DROP INDEX t_active;",
    "3_u.up.sql": "CREATE TABLE u(id INTEGER PRIMARY KEY);",
    "3_u.down.sql": "DROP TABLE u;",
}


def test_a_data_dependent_step_is_no_stop_of_golang_migrate_and_real_rows_like_it_do_stop_it(go_tools, tmp_path):
    folder = write_files(tmp_path / "migrations", DATA_DEPENDENT_CHAIN)
    model = scan_folder(folder)
    texts = {f.name: read_sql(model.file_path(f)).text for f in model.all_files()}
    report = replay(model, texts, lambda: engine.scratch(), ReplayOptions(cross_check=True))
    step = next(s for s in report.steps if s.version == 2)
    assert step.up == "data-dependent" and not step.stops_here and report.stop is None
    assert "the up fails on rows like t {active=0}: UNIQUE constraint failed: t.active" in str(step.warnings[0])
    # golang-migrate on the start state (an empty database) goes through, as the trace says.
    theirs = golang_migrate_run(go_tools, folder, tmp_path / "empty.db", 3)
    assert [(r["error"], r["version"], r["dirty"]) for r in theirs] == \
        [(t.error, t.after_version, t.after_dirty) for t in report.trace]
    assert all(r["error"] is None for r in theirs)
    # On a database with rows like the ones the warning names, it stops at version 2.
    db = tmp_path / "rows.db"
    assert go_tools.run_harness(folder, db, ["steps:1"])[0]["error"] is None
    conn = sqlite3.connect(str(db))
    conn.executemany("INSERT INTO t(active) VALUES (?)", [(0,), (0,)])
    conn.commit()
    conn.close()
    failed = go_tools.run_harness(folder, db, ["up"])[0]
    assert "UNIQUE constraint failed: t.active" in failed["error"] and (failed["version"], failed["dirty"]) == (2, True)


def test_a_trigger_broken_by_drop_column_passes_golang_migrate_and_fails_at_its_next_firing(go_tools, tmp_path):
    files = {
        "1_orders.up.sql": ("CREATE TABLE customer(id INTEGER PRIMARY KEY, name TEXT NOT NULL, last_order_at TEXT);\n"
                            "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INT NOT NULL REFERENCES customer(id), "
                            "placed_at TEXT NOT NULL DEFAULT '2024-01-01');\n"
                            "CREATE TRIGGER orders_touch_customer AFTER INSERT ON orders BEGIN\n"
                            "  UPDATE customer SET last_order_at = NEW.placed_at WHERE id = NEW.customer_id;\nEND;\n"
                            "INSERT INTO customer(id, name) VALUES (1, 'first');"),
        "1_orders.down.sql": "DROP TABLE orders;\nDROP TABLE customer;",
        "2_drop.up.sql": "ALTER TABLE customer DROP COLUMN last_order_at;",
        "2_drop.down.sql": "ALTER TABLE customer ADD COLUMN last_order_at TEXT;",
        # What the application does next: insert an order.
        "3_order.up.sql": "INSERT INTO orders(customer_id) VALUES (1);",
        "3_order.down.sql": "DELETE FROM orders;",
    }
    report = compare(go_tools, tmp_path, files)  # golang-migrate: version 2 applies, version 3 fails
    dropped = next(s for s in report.steps if s.version == 2)
    assert dropped.up == "ok" and dropped.integrity == "failed"
    assert dropped.error == ("2_drop.up.sql: after the up, trigger orders_touch_customer on orders fails when an INSERT "
                             "fires it: no such column: last_order_at")
    assert report.stop is not None and (report.stop.phase, report.stop.version) == ("up", 3)
    assert "no such column: last_order_at" in report.stop.error


def test_the_rows_pre_checks_name_are_the_ones_golang_migrate_fails_on(go_tools, tmp_path):
    import shutil

    from test_verify_data import OLD_USERS, USERS, USERS_FILES, USERS_ROWS, _rebuild_users, real_db

    db = real_db(tmp_path, USERS + "\n" + USERS_ROWS, 1)
    files = {**USERS_FILES,
             "2_name.up.sql": _rebuild_users("id INTEGER PRIMARY KEY, email TEXT, name TEXT NOT NULL, age INT, team_id INT"),
             "2_name.down.sql": _rebuild_users(OLD_USERS)}
    folder = write_files(tmp_path / "migrations", files)
    model = scan_folder(folder)
    texts = {f.name: read_sql(model.file_path(f)).text for f in model.all_files()}
    pristine = engine.copy_of_user_db(db)
    report = replay(model, texts, lambda: engine.copy(pristine), ReplayOptions(real_db=True))
    step = report.steps[0]
    assert step.up == "failed" and [c.count for c in step.prechecks] == [2]
    # golang-migrate on a copy of the same database stops there, on those rows;
    # without them it applies.
    copy = tmp_path / "copy.db"
    shutil.copyfile(db, copy)
    failed = go_tools.run_harness(folder, copy, ["up"])[0]
    assert "NOT NULL constraint failed: users_new.name" in failed["error"] and failed["dirty"]
    fixed = tmp_path / "fixed.db"
    shutil.copyfile(db, fixed)
    conn = sqlite3.connect(str(fixed))
    conn.execute(f"DELETE FROM users WHERE id IN (SELECT id FROM ({step.prechecks[0].query}))")
    conn.commit()
    conn.close()
    assert go_tools.run_harness(folder, fixed, ["up"])[0]["error"] is None
