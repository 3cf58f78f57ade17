"""Hostile migrations against every script that executes SQL.

Migration files come from pull requests and cloned repositories. Each case
below is a migration written to reach outside the scratch database, hang
the run or exhaust memory. Every script that executes SQL runs it, as a
user would (a subprocess, small budgets: `--timeout 1 --memory 64`), from a
project folder that holds the user's real database; the scratch area is a
private TMPDIR. For every script and case:

- nothing is created, changed or left anywhere in the tree (the project,
  the user's databases, the scratch area): names, hashes and mtimes;
- exit 1, with the finding at the hostile statement's file:line;
- no traceback, no internal error, and done well within the run's budget.

Spellings the guard must see through (comments, BOM, CRLF, stray `;`) are
generated with hypothesis against the engine and the linter in process.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mwcore import engine

from conftest import go_app, run_cli
from lintkit import lint_files

HOSTILE = "000002_hostile.up.sql"
BASE = {
    "000001_users.up.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n",
    "000001_users.down.sql": "DROP TABLE users;\n",
    "000002_hostile.down.sql": "SELECT 1;\n",
}
HANG = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c;\n"

# name: (up file, line of the hostile statement, what the finding says, project runs x-no-tx-wrap)
CASES: Dict[str, Tuple[str, int, str, bool]] = {
    "attach the real database": (
        "CREATE TABLE t2 (x);\nATTACH DATABASE 'app.db' AS real;\nDELETE FROM real.users;\n",
        2, "ATTACH opens 'app.db' from the application's own process", False),
    "attach a new file": (
        "ATTACH 'x.db' AS x;\nCREATE TABLE x.t (a);\n", 1, "ATTACH opens 'x.db'", False),
    "vacuum into, unwrapped": (
        "VACUUM INTO 'copy.db';\n", 1, "VACUUM INTO writes a copy of the database to 'copy.db'", True),
    "five recursive queries without a limit": (
        "CREATE TABLE t2 (x);\n" + HANG * 5, 2, "did not finish within 1 s", False),
    "a 100 GB zeroblob table": (
        "CREATE TABLE blobs AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 10000)\n"
        "  SELECT zeroblob(10000000) AS b FROM c;\n", 1, "went over the memory budget of the scratch database (64 MiB", False),
    "writable_schema": (
        "PRAGMA writable_schema = ON;\nUPDATE sqlite_master SET sql = 'CREATE TABLE users (' WHERE name = 'users';\n",
        1, "PRAGMA writable_schema lets SQL rewrite sqlite_master", False),
    "hard_heap_limit": (
        "CREATE TABLE t2 (x);\nPRAGMA hard_heap_limit = 100000;\n", 2, "PRAGMA hard_heap_limit changes the memory limit", False),
    "load_extension": (
        "SELECT load_extension('./evil.so');\n", 1, "load_extension() loads native code", False),
    "journal_mode": ("PRAGMA journal_mode = WAL;\n", 1, "PRAGMA journal_mode switches the database file", True),
    "temp_store_directory": (
        "PRAGMA temp_store_directory = '/tmp';\n", 1, "PRAGMA temp_store_directory decides where", False),
}

BUDGET = ["--timeout", "1", "--memory", "64"]
# script id: (script, arguments); run from the project folder.
SCRIPTS = {
    "validate": ("validate_pairs.py", ["--dir", "migrations", "--json"]),
    "verify": ("verify_migrations.py", ["--dir", "migrations", "--json"]),
    "verify --db": ("verify_migrations.py", ["--dir", "migrations", "--db", "app.db", "--json"]),
    "make_test_stub --dry-run": ("make_test_stub.py", ["--dir", "migrations", "--dry-run", "--json"]),
    "rebuild_table": ("rebuild_table.py", ["users", "--dir", "migrations", "--nullable", "name"]),
    "status --db, dirty": ("status.py", ["--dir", "migrations", "--db", "dirty.db", "--json"]),
}
RUN_BUDGET = 12  # seconds: 12 x --timeout


def _database(path: Path, version: int, dirty: bool) -> None:
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.executescript(BASE["000001_users.up.sql"] + "INSERT INTO users VALUES (1, 'ada'), (2, 'bob');\n"
                       "CREATE TABLE schema_migrations (version uint64,dirty bool);\n"
                       "CREATE UNIQUE INDEX version_unique ON schema_migrations (version);\n")
    conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, dirty))
    conn.close()


def _project(root: Path, up: str, no_tx_wrap: bool) -> Path:
    project = root / "project"
    # A module that migrates the folder the way apps do (with x-no-tx-wrap in
    # the URL when the case needs it), so every script reads the same facts.
    folder = go_app(project, url='"sqlite3://" + path' + (' + "?x-no-tx-wrap=true"' if no_tx_wrap else ""))
    for name, text in {**BASE, HOSTILE: up}.items():
        (folder / name).write_text(text)
    _database(project / "app.db", 1, False)  # the user's database, at version 1
    _database(project / "dirty.db", 2, True)  # left dirty by a failed version 2
    return project


def _tree(root: Path) -> Dict[str, Tuple[str, int]]:
    """Every file and folder under root: path -> (sha256 or 'dir', mtime_ns)."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            stat = path.lstat()
            digest = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
            out[str(path.relative_to(root))] = (digest, stat.st_mtime_ns if not path.is_dir() else 0)
    return out


@pytest.mark.parametrize("script", list(SCRIPTS))
@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_migration_is_a_finding_and_touches_nothing(tmp_path, case, script):
    up, line, message, no_tx_wrap = CASES[case]
    project = _project(tmp_path, up, no_tx_wrap)
    scratch_area = tmp_path / "tmp"
    scratch_area.mkdir()
    before = _tree(tmp_path)
    name, args = SCRIPTS[script]

    started = time.monotonic()
    proc = run_cli(name, *args, *BUDGET, cwd=project, env={"TMPDIR": str(scratch_area)}, timeout=60)
    took = time.monotonic() - started

    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "Traceback" not in output and "internal error" not in output, output
    assert took < RUN_BUDGET, f"took {took:.1f} s"
    assert message in output, output
    if script == "validate":  # the linter lists places as FILE:LINE:COL
        assert f'{HOSTILE}:{line}:' in output, output
    else:
        assert f"{HOSTILE}:{line}" in output, output
    assert _tree(tmp_path) == before, "a file was created or changed"


def test_the_zeroblob_case_really_asks_for_100_gb():
    up = CASES["a 100 GB zeroblob table"][0]
    assert "LIMIT 10000" in up and "zeroblob(10000000)" in up  # 10,000 rows of 10 MB


# Spellings ---------------------------------------------------------------------------

PREFIX = st.lists(st.sampled_from([
    "-- a comment\n", "/* block\ncomment */ ", ";\n", " ;", "\r\n", "\t", "\n\n", "--\r\n", "/**/",
]), max_size=5).map("".join)
KEYWORD_CASE = st.sampled_from([str.upper, str.lower, str.title])
TARGETS = st.sampled_from(["app.db", "../outside.db", "/tmp/mw-hostile-never.db", "x.db?mode=rwc", "file:y.db"])


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=PREFIX, case=KEYWORD_CASE, target=TARGETS, bom=st.booleans(), crlf=st.booleans(),
       vacuum=st.booleans())
def test_the_guard_refuses_attach_and_vacuum_into_however_written(tmp_path_factory, prefix, case, target, bom,
                                                                   crlf, vacuum):
    where = tmp_path_factory.mktemp("spelling")
    statement = (case("vacuum into ") if vacuum else case("attach database ")) + "'" + target + "'" + \
        ("" if vacuum else case(" as side")) + ";"
    text = ("\ufeff" if bom else "") + "CREATE TABLE t (a);\n" + prefix + statement + "\nCREATE TABLE u (b);\n"
    if crlf:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    old = os.getcwd()
    os.chdir(where)
    try:
        result = engine.run_script(engine.scratch(), text, wrap=False, file="x.up.sql")
    finally:
        os.chdir(old)
    assert not result.ok and result.kind == "refused", result
    assert result.line == _line_of(text, statement)
    assert f"'{target}'" in result.error
    assert list(where.iterdir()) == [] and not Path("/tmp/mw-hostile-never.db").exists()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=PREFIX, case=KEYWORD_CASE, vacuum=st.booleans())
def test_the_linter_reports_the_refusal_at_the_statement_however_written(tmp_path_factory, prefix, case, vacuum):
    where = tmp_path_factory.mktemp("lint")
    statement = case("vacuum into 'copy.db'") if vacuum else case("attach 'side.db' as side")
    up = "CREATE TABLE t (a);\n" + prefix + statement + ";\n"
    files = {**{k: v for k, v in BASE.items() if k != "000002_hostile.down.sql"},
             "000002_x.up.sql": up, "000002_x.down.sql": "DROP TABLE t;\n"}
    old = os.getcwd()
    os.chdir(where)
    try:
        result = lint_files(where / "project", files, "--no-tx-wrap")
    finally:
        os.chdir(old)
    found = [(f.file, f.line, f.code) for f in result.findings if f.code == "MW102"]
    assert found == [("000002_x.up.sql", _line_of(up, statement), "MW102")], [str(f) for f in result.findings]
    assert sorted(p.name for p in where.iterdir()) == ["project"]


def test_a_trigger_that_never_ends_stops_the_run_with_one_sentence(tmp_path):
    """The trigger fires inside the replay's own work (synthetic rows), not
    inside a migration file: the run's budget (12 x --timeout) ends it."""
    trigger = ("CREATE TABLE log (y);\nCREATE TRIGGER users_ai AFTER INSERT ON users BEGIN INSERT INTO log "
               + HANG.rstrip(";\n") + "; END;\n")
    project = _project(tmp_path, trigger, False)
    before = _tree(project)
    started = time.monotonic()
    proc = run_cli("verify_migrations.py", "--dir", "migrations", "--timeout", "0.25", cwd=project, timeout=60)
    assert time.monotonic() - started < 3 + 5
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert "stopped after 3 s, the time budget of the whole run" in proc.stderr
    assert "000002_hostile.up.sql" in proc.stderr and "Traceback" not in proc.stderr
    assert _tree(project) == before
