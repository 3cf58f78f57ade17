"""mwcore.gomigrate against real golang-migrate: the same operations on the
same folders must end with the same outcome, version, dirty flag and schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Dict, List, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mwcore import gomigrate
from mwcore.folder import scan_folder
from mwcore.schema import snapshot
from mwcore import engine

from conftest import generated_chain, write_files

pytestmark = pytest.mark.go


def go_kind(error: Optional[str]) -> Optional[str]:
    if error is None:
        return None
    if error == "no change":
        return gomigrate.NO_CHANGE
    if error.startswith("Dirty database version"):
        return gomigrate.DIRTY
    if error == "file does not exist" or error.startswith("first "):
        return gomigrate.NOT_EXIST
    if error.startswith("limit ") and error.endswith(" short"):
        return gomigrate.SHORT_LIMIT
    if error.startswith("no migration found for version"):
        return gomigrate.NO_MIGRATION
    if "duplicate migration file: " in error:
        return "open"
    return gomigrate.FAILED


def py_run(folder_path: Path, db: Path, ops: List[str], *, no_tx_wrap: bool = False, fk: bool = False) -> List[dict]:
    folder = scan_folder(folder_path)
    if folder.duplicates:
        return [{"op": "open", "kind": "open", "version": -1, "dirty": False}]
    # The engine runs on memory only: start from a copy of the file, save the result back.
    conn = engine.copy_of_user_db(db) if db.exists() else engine.scratch()
    conn.execute(f"PRAGMA foreign_keys = {'ON' if fk else 'OFF'}")
    runner = gomigrate.GoMigrate(conn, folder, no_tx_wrap=no_tx_wrap)
    out = []
    for op in ops:
        name, _, arg = op.partition(":")
        if name == "up":
            outcome = runner.up()
        elif name == "down":
            outcome = runner.down()
        elif name == "steps":
            outcome = runner.steps(int(arg))
        elif name == "force":
            outcome = runner.force(int(arg))
        else:
            outcome = gomigrate.RunOutcome()
        version, dirty = runner.version()
        out.append({"op": op, "kind": outcome.error_kind, "version": version, "dirty": dirty})
    if db.exists():
        db.unlink()
    engine.save_copy(runner.conn, db)
    runner.conn.close()
    return out


def schema_of(db: Path) -> dict:
    conn = sqlite3.connect(str(db))
    try:
        snap = snapshot(conn)
        return {"tables": snap.tables, "indexes": snap.indexes}
    finally:
        conn.close()


def compare(go_tools, tmp_path: Path, files: Dict[str, str], ops: List[str], **options) -> List[dict]:
    folder = write_files(tmp_path / "migrations", files)
    go_db, py_db = tmp_path / "go.db", tmp_path / "py.db"
    theirs = go_tools.run_harness(folder, go_db, ops, **options)
    ours = py_run(folder, py_db, ops, **options)
    theirs_view = [{"op": r["op"], "kind": go_kind(r["error"]), "version": r["version"], "dirty": r["dirty"]} for r in theirs]
    assert ours == theirs_view, "\n".join(f"go: {r}" for r in theirs)
    if theirs and theirs[0]["op"] != "open":
        assert schema_of(py_db) == schema_of(go_db)
    return theirs


CHAINS = {
    "plain chain": (
        {"1_a.up.sql": "CREATE TABLE a(x);", "1_a.down.sql": "DROP TABLE a;",
         "2_b.up.sql": "CREATE TABLE b(x);", "2_b.down.sql": "DROP TABLE b;",
         "3_c.up.sql": "CREATE TABLE c(x);", "3_c.down.sql": "DROP TABLE c;"},
        ["up", "up", "steps:-1", "steps:-1", "down", "down", "steps:-1", "steps:2", "steps:5", "steps:-9", "up"],
    ),
    "failing up": (
        {"1_a.up.sql": "CREATE TABLE a(x);", "1_a.down.sql": "DROP TABLE a;",
         "2_b.up.sql": "CREATE TABLE b(x);\nINSERT INTO missing VALUES (1);", "2_b.down.sql": "DROP TABLE b;"},
        ["up", "up", "down", "force:1", "down", "up"],
    ),
    "failing first up": (
        {"1_a.up.sql": "CREATE TABLE a(x); SELECT nope();", "1_a.down.sql": "DROP TABLE a;"},
        ["up", "force:-1", "version", "up"],
    ),
    "failing down": (
        {"1_a.up.sql": "CREATE TABLE a(x);", "1_a.down.sql": "DROP TABLE a;",
         "2_b.up.sql": "CREATE TABLE b(x);", "2_b.down.sql": "DROP TABLE nope;"},
        ["up", "down", "up", "force:2", "steps:-1", "force:1", "down"],
    ),
    "failing first down": (
        {"1_a.up.sql": "CREATE TABLE a(x);", "1_a.down.sql": "DROP TABLE nope;"},
        ["up", "down", "version", "force:1", "up"],
    ),
    "empty and comment-only files": (
        {"1_a.up.sql": "", "1_a.down.sql": "-- nothing\n", "2_b.up.sql": "CREATE TABLE b(x);", "2_b.down.sql": ""},
        ["up", "down", "up"],
    ),
    "up-only versions": (
        {"1_a.up.sql": "CREATE TABLE a(x);", "2_b.up.sql": "CREATE TABLE b(x);", "2_b.down.sql": "DROP TABLE b;"},
        ["up", "down", "up", "steps:-1", "steps:-1", "steps:-1"],
    ),
    "down-only version": (
        {"1_a.up.sql": "CREATE TABLE a(x);", "1_a.down.sql": "DROP TABLE a;", "2_b.down.sql": "SELECT 1;"},
        ["up", "down", "steps:2"],
    ),
    "explicit BEGIN in a wrapped file": (
        {"1_a.up.sql": "BEGIN TRANSACTION;\nCREATE TABLE a(x);\nCOMMIT;", "1_a.down.sql": "DROP TABLE a;"},
        ["up", "version"],
    ),
    "COMMIT inside a wrapped file": (
        {"1_a.up.sql": "CREATE TABLE a(x);\nCOMMIT;\nCREATE TABLE b(y);", "1_a.down.sql": "DROP TABLE a;"},
        ["up", "force:1", "down"],
    ),
    "gaps and version 0": (
        {"0_zero.up.sql": "CREATE TABLE z(x);", "0_zero.down.sql": "DROP TABLE z;",
         "5_five.up.sql": "CREATE TABLE f(x);", "5_five.down.sql": "DROP TABLE f;",
         "0020_twenty.up.sql": "CREATE TABLE t(x);", "0020_twenty.down.sql": "DROP TABLE t;"},
        ["steps:2", "up", "steps:-2", "steps:-2", "up", "down"],
    ),
    "duplicate versions": (
        {"1_a.up.sql": "CREATE TABLE a(x);", "001_b.up.sql": "CREATE TABLE b(x);"},
        ["up"],
    ),
    "empty folder": ({"README.md": "not a migration"}, ["up", "down", "steps:1"]),
    "VACUUM in a wrapped file": ({"1_a.up.sql": "CREATE TABLE a(x);\nVACUUM;"}, ["up"]),
}


def test_duplicate_is_named_as_golang_migrate_names_it(go_tools, tmp_path):
    files = {"1_a.up.sql": "", "001_b.up.sql": "", "01_c.up.sql": ""}
    theirs = compare(go_tools, tmp_path, files, ["up"])
    duplicate = scan_folder(tmp_path / "migrations").duplicates[0]
    assert theirs[0]["error"].endswith(f"duplicate migration file: {duplicate.names[1]}")


@pytest.mark.parametrize("name", list(CHAINS))
def test_chain_matches_golang_migrate(go_tools, tmp_path, name):
    files, ops = CHAINS[name]
    compare(go_tools, tmp_path, files, ops)


def test_no_tx_wrap_keeps_partial_work_like_golang_migrate(go_tools, tmp_path):
    files = {"1_a.up.sql": "CREATE TABLE a(x);\nINSERT INTO missing VALUES (1);", "1_a.down.sql": "DROP TABLE a;",
             "2_b.up.sql": "BEGIN;\nCREATE TABLE b(x);\nCOMMIT;\nVACUUM;"}
    results = compare(go_tools, tmp_path, files, ["up", "force:1", "up"], no_tx_wrap=True)
    assert results[-1]["version"] == 2


def test_no_tx_wrap_file_left_inside_its_own_transaction_blocks_force(go_tools, tmp_path):
    """A file that fails after its own BEGIN leaves the connection inside a
    transaction: golang-migrate's next SetVersion (here: force) fails too."""
    files = {"0_m.up.sql": "BEGIN;\nCREATE TABLE t0(x);\nCOMMIT;", "0_m.down.sql": "-- empty\n"}
    results = compare(go_tools, tmp_path, files, ["up", "steps:-1", "up", "force:0", "up"], no_tx_wrap=True)
    assert "transaction start failed" in results[3]["error"]


def test_current_version_missing_from_the_folder(go_tools, tmp_path):
    files = {"1_a.up.sql": "CREATE TABLE a(x);", "2_b.up.sql": "CREATE TABLE b(x);"}
    folder = write_files(tmp_path / "migrations", files)
    go_tools.run_harness(folder, tmp_path / "go.db", ["up"])
    py_run(folder, tmp_path / "py.db", ["up"])
    (folder / "2_b.up.sql").unlink()
    theirs = go_tools.run_harness(folder, tmp_path / "go.db", ["up", "down"])
    ours = py_run(folder, tmp_path / "py.db", ["up", "down"])
    assert [go_kind(r["error"]) for r in theirs] == [r["kind"] for r in ours] == [gomigrate.NO_MIGRATION] * 2


def test_cascade_fires_at_drop_table_with_foreign_keys_on(go_tools, tmp_path):
    """With _foreign_keys=1, rebuilding a parent deletes child rows (the
    reason PRAGMA tricks in a wrapped file do not help)."""
    files = {
        "1_a.up.sql": "CREATE TABLE p(id INTEGER PRIMARY KEY);\n"
                      "CREATE TABLE c(id INTEGER PRIMARY KEY, p INT REFERENCES p(id) ON DELETE CASCADE);\n"
                      "INSERT INTO p VALUES (1); INSERT INTO c VALUES (1, 1);",
        "2_b.up.sql": "PRAGMA foreign_keys = OFF;\nPRAGMA defer_foreign_keys = ON;\n"
                      "CREATE TABLE p_new(id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO p_new(id) SELECT id FROM p;\n"
                      "DROP TABLE p;\nALTER TABLE p_new RENAME TO p;",
    }
    compare(go_tools, tmp_path, files, ["up"], fk=True)
    for db in ("go.db", "py.db"):
        assert sqlite3.connect(str(tmp_path / db)).execute("SELECT count(*) FROM c").fetchone()[0] == 0


_up_kinds = st.sampled_from(["create", "create", "fail", "empty", "missing", "begin"])
_down_kinds = st.sampled_from(["drop", "drop", "fail", "empty", "missing"])
_ops = st.lists(
    st.one_of(st.sampled_from(["up", "down"]), st.integers(-3, 3).map(lambda n: f"steps:{n}"),
              st.integers(-1, 12).map(lambda n: f"force:{n}")),
    min_size=1, max_size=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    versions=st.lists(st.integers(0, 12), min_size=1, max_size=5, unique=True).map(sorted),
    kinds=st.lists(st.tuples(_up_kinds, _down_kinds), min_size=5, max_size=5),
    ops=_ops,
    no_tx_wrap=st.booleans(),
)
def test_generated_chains_match_golang_migrate(go_tools, tmp_path_factory, versions, kinds, ops, no_tx_wrap):
    tmp_path = tmp_path_factory.mktemp("chain")
    files = generated_chain(versions, kinds)
    if not any(name.endswith(".sql") for name in files):
        files["README.md"] = "empty source"
    compare(go_tools, tmp_path, files, ops, no_tx_wrap=no_tx_wrap)
