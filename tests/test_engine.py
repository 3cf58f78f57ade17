"""mwcore.engine: the one place connections are opened and migrations run.

A file runs the way golang-migrate's sqlite3 driver runs it; the guard
refuses what reaches outside the database, whatever the spelling; budgets
stop what would run or grow forever; a user's database is only ever copied."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from mwcore import engine
from mwcore.engine import Limits, copy, copy_of_user_db, run_script, run_statement, save_copy, scratch, user_tables
from mwcore.errors import MigrationWriterError

from conftest import run_cli


@pytest.fixture
def budgets():
    """Set the engine's budgets for one test (as the CLI's configure does)."""
    yield lambda **kw: engine.configure(Limits(**kw))
    engine.reset()


def tables(conn):
    return user_tables(conn)


# golang-migrate's protocol ------------------------------------------------------


def test_wrapped_file_is_all_or_nothing():
    conn = scratch()
    result = run_script(conn, "CREATE TABLE a(x);\nCREATE TABLE b(y);\nINSERT INTO nope VALUES (1);\n")
    assert not result.ok and result.line == 3 and "no such table: nope" in result.error and result.kind == "sql"
    assert tables(conn) == []


def test_unwrapped_file_keeps_statements_before_the_failure():
    conn = scratch()
    result = run_script(conn, "CREATE TABLE a(x);\nINSERT INTO nope VALUES (1);\n", wrap=False)
    assert not result.ok and result.statements_run == 1
    assert tables(conn) == ["a"]


@pytest.mark.parametrize("sql,message", [
    ("BEGIN TRANSACTION;\nCREATE TABLE a(x);\nCOMMIT;", "cannot start a transaction within a transaction"),
    ("CREATE TABLE a(x);\nVACUUM;", "cannot VACUUM from within a transaction"),
    # Inside the wrap SQLite stops VACUUM INTO before it opens anything, as in Go.
    ("CREATE TABLE a(x);\nVACUUM INTO 'copy.db';", "cannot VACUUM from within a transaction"),
    ("CREATE TABLE a(x);\nCOMMIT;", "transaction commit failed"),
])
def test_transaction_statements_fail_in_a_wrapped_file(sql, message):
    result = run_script(scratch(), sql)
    assert not result.ok and message in result.error


def test_explicit_transaction_and_plain_vacuum_work_unwrapped():
    conn = scratch()
    assert run_script(conn, "BEGIN;\nCREATE TABLE a(x);\nCOMMIT;\nVACUUM;", wrap=False).ok
    assert tables(conn) == ["a"]


def test_commit_inside_a_wrapped_file_leaves_earlier_work_committed():
    conn = scratch()
    result = run_script(conn, "CREATE TABLE a(x);\nCOMMIT;\nCREATE TABLE b(y);")
    assert not result.ok and result.phase == "commit"
    assert tables(conn) == ["a", "b"]


def test_select_rows_are_discarded_and_do_not_lock_tables():
    conn = scratch()
    sql = "CREATE TABLE a(x);\nINSERT INTO a VALUES (1), (2);\nSELECT * FROM a;\nDROP TABLE a;"
    assert run_script(conn, sql).ok


def test_empty_and_comment_only_files_succeed():
    conn = scratch()
    assert run_script(conn, "").ok
    assert run_script(conn, "-- nothing yet\n").ok


def test_pragma_foreign_keys_is_a_no_op_inside_the_wrap():
    conn = scratch(foreign_keys=True)
    assert run_script(conn, "PRAGMA foreign_keys = OFF;").ok
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_only_engine_connections_run_migrations():
    with pytest.raises(TypeError, match="not a connection of mwcore.engine"):
        run_script(sqlite3.connect(":memory:"), "SELECT 1;")


# The guard -------------------------------------------------------------------------

REFUSED = [
    ("ATTACH DATABASE 'app.db' AS real;", "ATTACH opens 'app.db' from the application's own process"),
    ("ATTACH 'x' || '.db' AS real;", "ATTACH opens a database file named by an expression"),
    ("ATTACH 'file:app.db?mode=rwc' AS real;", "ATTACH opens 'file:app.db?mode=rwc'"),
    ("VACUUM INTO 'copy.db';", "VACUUM INTO writes a copy of the database to 'copy.db'"),
    ("VACUUM main INTO 'copy' || '.db';", "VACUUM INTO writes a copy of the database to 'copy.db'"),
    ("SELECT load_extension('/tmp/evil.so');", "load_extension() loads native code"),
    ("SELECT LOAD_EXTENSION('evil');", "load_extension() loads native code"),
    ("SELECT fts3_tokenizer('simple');", "fts3_tokenizer() registers"),
    ("PRAGMA writable_schema = ON;", "PRAGMA writable_schema lets SQL rewrite sqlite_master"),
    ("PRAGMA main.writable_schema = 1;", "PRAGMA writable_schema lets SQL rewrite sqlite_master"),
    ("PRAGMA hard_heap_limit = 100000;", "PRAGMA hard_heap_limit changes the memory limit"),
    ("PRAGMA soft_heap_limit = 100000;", "PRAGMA soft_heap_limit changes the memory limit"),
    ("PRAGMA max_page_count = 2147483647;", "PRAGMA max_page_count"),
    ("PRAGMA mmap_size = 268435456;", "PRAGMA mmap_size maps the database file"),
    ("PRAGMA temp_store = FILE;", "PRAGMA temp_store decides whether SQLite writes temporary files"),
    ("PRAGMA temp_store_directory = '/tmp';", "PRAGMA temp_store_directory"),
    ("PRAGMA journal_mode = WAL;", "PRAGMA journal_mode switches the database file to another journal"),
    ("PRAGMA locking_mode = EXCLUSIVE;", "PRAGMA locking_mode"),
    ("PRAGMA wal_checkpoint;", "PRAGMA wal_checkpoint copies the WAL file"),
    ("PRAGMA schema_version = 7;", "PRAGMA schema_version overwrites the schema cookie"),
    ("PRAGMA page_size = 65536;", "PRAGMA page_size"),
    ("PRAGMA threads = 8;", "PRAGMA threads"),
    ("PRAGMA temp.journal_mode = OFF;", "PRAGMA journal_mode switches"),
]


@pytest.mark.parametrize("sql,message", REFUSED, ids=[s for s, _ in REFUSED])
def test_the_guard_refuses_what_reaches_outside_the_database(tmp_path, monkeypatch, sql, message):
    monkeypatch.chdir(tmp_path)
    conn = scratch()
    result = run_script(conn, "CREATE TABLE t(x);\n" + sql, wrap=False)
    assert not result.ok and result.kind == "refused" and result.line == 2
    assert message in result.error and result.error.endswith("under golang-migrate; not replayed")
    assert list(tmp_path.iterdir()) == []
    # Refused means not run: the limits are still the engine's.
    assert conn.execute("PRAGMA writable_schema").fetchone()[0] == 0
    assert conn.execute("PRAGMA temp_store").fetchone()[0] == 2


ALLOWED = [
    "PRAGMA foreign_keys = OFF;", "PRAGMA defer_foreign_keys = ON;", "PRAGMA legacy_alter_table = ON;",
    "PRAGMA foreign_key_check;", "PRAGMA foreign_key_check(t);", "PRAGMA integrity_check;", "PRAGMA quick_check;",
    "PRAGMA table_info(t);", "PRAGMA main.table_xinfo(t);", "PRAGMA index_list(t);", "PRAGMA user_version = 3;",
    "PRAGMA application_id = 42;", "PRAGMA recursive_triggers = ON;", "PRAGMA case_sensitive_like = ON;",
    "PRAGMA busy_timeout = 5000;", "PRAGMA optimize;", "PRAGMA synchronous = NORMAL;", "PRAGMA cache_size = -2000;",
    # Reading a refused PRAGMA is harmless; so is one this SQLite does not know (it ignores it).
    "PRAGMA journal_mode;", "PRAGMA hard_heap_limit;", "PRAGMA writable_schema;", "PRAGMA no_such_pragma = 1;",
    "SELECT * FROM pragma_table_info('t');", "SELECT count(*) FROM pragma_foreign_key_check;",
    "ATTACH '' AS scratchpad;\nCREATE TABLE scratchpad.x(a);\nDETACH scratchpad;",
    "ATTACH ':memory:' AS side;\nDETACH side;", "VACUUM;", "VACUUM INTO ':memory:';",
    "SELECT abs(-1), lower('A'), json('[1]');",
]


@pytest.mark.parametrize("sql", ALLOWED)
def test_the_guard_lets_what_migrations_use_run(tmp_path, monkeypatch, sql):
    monkeypatch.chdir(tmp_path)
    conn = scratch()
    result = run_script(conn, "CREATE TABLE t(x);\n" + sql, wrap=False)
    assert result.ok, result.error
    assert list(tmp_path.iterdir()) == []


def test_the_guard_holds_inside_triggers_views_and_copies(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conn = scratch()
    assert run_script(conn, "CREATE TABLE t(x);\nCREATE TABLE log(y);\n"
                            "CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN INSERT INTO log SELECT load_extension('evil'); END;\n"
                            "CREATE VIEW v AS SELECT load_extension('evil') AS z;").ok
    again = copy(conn)
    for target in (conn, again):
        result = run_script(target, "INSERT INTO t VALUES (1);")
        assert result.kind == "refused" and "load_extension()" in result.error
        assert run_statement(target, "SELECT * FROM v") is not None  # SQLite itself calls it unsafe in a view
        with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
            target.execute("SELECT load_extension('evil')")  # the engine's own statements are guarded too
    assert list(tmp_path.iterdir()) == []


def test_a_statement_cached_before_is_still_guarded():
    """SQLite asks the authorizer only while preparing; Python caches
    prepared statements. A refused statement must be refused every time."""
    conn = scratch()
    for _ in range(3):
        assert run_statement(conn, "PRAGMA writable_schema = ON").kind == "refused"


def test_observers_see_what_the_guard_allows_and_cannot_overrule_it():
    conn = scratch()
    seen = []
    engine.observe(conn, lambda action, a, b, db, src: seen.append((action, a)) or sqlite3.SQLITE_OK)
    assert run_statement(conn, "CREATE TABLE t(x)") is None
    assert (sqlite3.SQLITE_CREATE_TABLE, "t") in seen
    seen.clear()
    assert run_statement(conn, "PRAGMA writable_schema = 1").kind == "refused"
    assert seen == []


# Budgets ---------------------------------------------------------------------------

HANG = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c;"


def test_a_file_over_its_time_budget_fails_at_its_statement(budgets):
    budgets(file_seconds=0.3, run_seconds=60)
    conn = scratch()
    started = time.monotonic()
    result = run_script(conn, "CREATE TABLE t(x);\n" + HANG * 5, file="000002_x.up.sql")
    assert time.monotonic() - started < 3
    assert not result.ok and result.kind == "timeout" and result.line == 2
    assert "did not finish within 0.3 s" in result.error and "--timeout" in result.error
    assert tables(conn) == []  # rolled back like any failed file
    assert run_script(conn, "CREATE TABLE u(x);").ok  # the next file has its own budget


def test_the_budget_is_per_file_not_per_statement(budgets):
    budgets(file_seconds=0.5, run_seconds=60)
    slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 300000) SELECT count(*) FROM c;\n"
    single = time.monotonic()
    assert run_script(scratch(), slow).ok  # each statement alone is well within the budget
    if time.monotonic() - single > 0.2:
        pytest.skip("this machine is too slow to tell the budgets apart")
    result = run_script(scratch(), slow * 100, wrap=False)
    assert result.kind == "timeout" and 1 < result.statements_run < 100


def test_a_run_over_its_budget_ends_with_one_sentence(budgets):
    budgets(file_seconds=5, run_seconds=0.3)
    conn = scratch()
    with pytest.raises(engine.RunBudgetExceeded, match=r"stopped after 0.3 s.*while 000001_x.up.sql:1 was running"):
        run_script(conn, HANG, file="000001_x.up.sql")
    assert engine.run_expired()
    with pytest.raises(engine.RunBudgetExceeded):
        run_script(conn, "SELECT 1;", file="000002_y.up.sql")


def test_the_engine_own_queries_are_stopped_by_the_run_budget(budgets):
    budgets(file_seconds=5, run_seconds=0.3)
    conn = scratch()
    assert run_script(conn, "CREATE TABLE t(x);\nCREATE TABLE log(y);\n"
                            "CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN INSERT INTO log " + HANG[:-1] + "; END;").ok
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        conn.execute("INSERT INTO t VALUES (1)")  # e.g. synthetic rows: the trigger never ends
    assert time.monotonic() - started < 3 and engine.run_expired()


@pytest.mark.parametrize("sql", [
    "CREATE TABLE b AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100000) "
    "SELECT zeroblob(1000000) AS z FROM c;",
    "SELECT length(zeroblob(500000000));",
    "SELECT length(randomblob(100000000));",
    "SELECT length(hex(zeroblob(2000000)));",
])
def test_going_over_the_memory_budget_is_a_failure_not_a_crash(budgets, sql):
    budgets(memory_bytes=8 * engine.MIB)
    conn = scratch()
    result = run_script(conn, "CREATE TABLE t(x);\n" + sql)
    assert not result.ok and result.kind == "memory" and result.line == 2
    assert "memory budget of the scratch database (8 MiB" in result.error
    assert run_script(conn, "CREATE TABLE t(x);\nINSERT INTO t VALUES (1);").ok


# A user's database -------------------------------------------------------------------


def _files(folder):
    """Every file in the folder: name -> (sha256, mtime_ns)."""
    out = {}
    for name in sorted(os.listdir(folder)):
        path = folder / name
        out[name] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    return out


def _make(path, sql, wal=False):
    conn = sqlite3.connect(str(path), isolation_level=None)
    if wal:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(sql)
    return conn


def test_a_copy_leaves_the_original_untouched(tmp_path):
    path = tmp_path / "app.db"
    _make(path, "CREATE TABLE a(x); INSERT INTO a VALUES (1);").close()
    before = _files(tmp_path)
    conn = copy_of_user_db(path)
    assert run_script(conn, "DROP TABLE a;").ok and tables(conn) == []
    assert _files(tmp_path) == before


def test_a_wal_database_copied_after_a_crash_is_read_without_creating_anything_beside_it(tmp_path):
    """The -wal holds committed rows the main file does not; the -shm is
    gone (the database was copied off a crashed machine). SQLite would
    create a -shm next to the file just to read it; the engine opens only
    its own copy."""
    live = tmp_path / "live"
    live.mkdir()
    writer = _make(live / "app.db", "PRAGMA wal_autocheckpoint = 0; CREATE TABLE a(x); INSERT INTO a VALUES (1), (2);",
                   wal=True)
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for name in ("app.db", "app.db-wal"):
        (crashed / name).write_bytes((live / name).read_bytes())
    writer.close()
    before = _files(crashed)
    conn = copy_of_user_db(crashed / "app.db")
    assert conn.execute("SELECT count(*) FROM a").fetchone()[0] == 2
    assert _files(crashed) == before  # no -shm, nothing changed


def test_a_wal_database_without_its_wal_reads_as_its_main_file(tmp_path):
    conn = _make(tmp_path / "app.db", "CREATE TABLE a(x); INSERT INTO a VALUES (1);", wal=True)
    conn.close()  # checkpoints and deletes the -wal
    before = _files(tmp_path)
    assert copy_of_user_db(tmp_path / "app.db").execute("SELECT count(*) FROM a").fetchone()[0] == 1
    assert _files(tmp_path) == before


def test_a_hot_journal_is_rolled_back_in_the_copy_only(tmp_path):
    """A crash in the middle of a write leaves a hot -journal; SQLite rolls
    it back (in the copy) before reading, as the app would on its next open."""
    path = tmp_path / "app.db"
    _make(path, "CREATE TABLE a(x); INSERT INTO a VALUES (1);").close()
    writer = sqlite3.connect(str(path), isolation_level=None)
    writer.execute("PRAGMA cache_size = 1")
    writer.execute("BEGIN")
    writer.execute("INSERT INTO a SELECT randomblob(3000) FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3)")
    writer.execute("UPDATE a SET x = 99")  # spills changed pages into the file, originals into the journal
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for name in ("app.db", "app.db-journal"):
        if (tmp_path / name).exists():
            (crashed / name).write_bytes((tmp_path / name).read_bytes())
    writer.execute("ROLLBACK")
    writer.close()
    before = _files(crashed)
    conn = copy_of_user_db(crashed / "app.db")
    assert conn.execute("SELECT x FROM a").fetchall() == [(1,)]
    assert _files(crashed) == before


def test_the_temporary_copy_is_removed(tmp_path, monkeypatch):
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch_root))
    monkeypatch.setattr("tempfile.tempdir", None)
    _make(tmp_path / "app.db", "CREATE TABLE a(x);").close()
    copy_of_user_db(tmp_path / "app.db")
    assert list(scratch_root.iterdir()) == []


@pytest.mark.parametrize("content,message", [
    (b"this is not a database at all" * 40, "cannot be read as an SQLite database"),
    (b"SQLite format 3\x00" + b"\xff" * 200, "cannot be read as an SQLite database"),
])
def test_what_is_not_a_database_is_one_sentence(tmp_path, content, message):
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    with pytest.raises(MigrationWriterError, match=message):
        copy_of_user_db(path)


def test_a_malformed_schema_is_one_sentence(tmp_path):
    path = tmp_path / "app.db"
    conn = _make(path, "CREATE TABLE a(x);")
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = 'CREATE TABLE a(' WHERE name = 'a'")
    conn.close()
    with pytest.raises(MigrationWriterError, match="is damaged .*malformed"):
        copy_of_user_db(path)


HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute(sys.argv[2])
conn.execute(sys.argv[3]).fetchall()
print("holding", flush=True)
sys.stdin.readline()
"""


@pytest.mark.parametrize("script", ["verify_migrations.py", "status.py"])
def test_a_damaged_database_given_with_db_is_one_sentence_and_exit_2(tmp_path, script):
    path = tmp_path / "app.db"
    conn = _make(path, "CREATE TABLE a(x);")
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = 'CREATE TABLE a(' WHERE name = 'a'")
    conn.close()
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1_a.up.sql").write_text("CREATE TABLE a(x);")
    proc = run_cli(script, "--dir", str(folder), "--db", str(path))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "is damaged" in proc.stderr and "malformed" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("begin,statement,locked", [
    ("BEGIN EXCLUSIVE", "INSERT INTO a VALUES (1)", True),  # a writer in the middle of its write
    ("BEGIN", "SELECT * FROM a", False),  # a reader's lock does not stop the copy
])
def test_a_database_being_written_is_not_copied_half_way(tmp_path, begin, statement, locked):
    path = tmp_path / "busy.db"
    _make(path, "CREATE TABLE a(x);").close()
    # POSIX locks never conflict within one process: the holder is another.
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), begin, statement],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        if locked:
            with pytest.raises(MigrationWriterError, match="is locked by another program that is writing it"):
                copy_of_user_db(path)
        else:
            assert tables(copy_of_user_db(path)) == ["a"]
    finally:
        holder.communicate("\n", timeout=30)


def test_save_copy_writes_a_new_file_and_never_overwrites(tmp_path):
    conn = scratch()
    run_script(conn, "CREATE TABLE a(x); INSERT INTO a VALUES (1);")
    target = tmp_path / "kept.db"
    save_copy(conn, target)
    assert sqlite3.connect(str(target)).execute("SELECT x FROM a").fetchall() == [(1,)]
    target.write_bytes(b"mine")
    with pytest.raises(MigrationWriterError, match="already exists"):
        save_copy(conn, target)
    assert target.read_bytes() == b"mine"


def test_status_reads_a_crashed_wal_database_and_leaves_its_folder_as_it_was(tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    writer = _make(live / "app.db", "PRAGMA wal_autocheckpoint = 0; CREATE TABLE a(x);"
                   "CREATE TABLE schema_migrations (version uint64,dirty bool);"
                   "INSERT INTO schema_migrations VALUES (1, 0);", wal=True)
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for name in ("app.db", "app.db-wal"):
        (crashed / name).write_bytes((live / name).read_bytes())
    writer.close()
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1_a.up.sql").write_text("CREATE TABLE a(x);")
    (folder / "2_b.up.sql").write_text("CREATE TABLE b(x);")
    before = _files(crashed)
    proc = run_cli("status.py", "--dir", str(folder), "--db", str(crashed / "app.db"), "--json")
    assert proc.returncode == 0, proc.stderr
    assert '"version":1' in proc.stdout and '"pending":["2"]' in proc.stdout
    assert _files(crashed) == before


def test_a_transaction_a_failed_file_left_open_is_rolled_back_before_a_copy(tmp_path):
    """Without the wrap, a file can fail after its own BEGIN and leave it
    open; the driver's connection rolls it back when it closes. A copy (a
    new connection, or --keep's file) sees what is committed, and never
    waits: the backup API would report the source locked forever."""
    conn = scratch()
    assert run_script(conn, "CREATE TABLE kept(x);", wrap=False).ok
    result = run_script(conn, "BEGIN;\nCREATE TABLE lost(x);\nSELECT * FROM nope;\nCOMMIT;", wrap=False)
    assert not result.ok and conn.in_transaction
    assert tables(copy(conn)) == ["kept"]
    assert run_script(conn, "BEGIN;\nCREATE TABLE lost(x);\nSELECT * FROM nope;", wrap=False).line == 3
    save_copy(conn, tmp_path / "stop.db")
    assert tables(engine.copy_of_user_db(tmp_path / "stop.db")) == ["kept"]
