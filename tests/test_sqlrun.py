"""The SQL runner executes a file the way golang-migrate's sqlite3 driver does."""

from __future__ import annotations

import pytest

from mwcore.sqlrun import connect, copy_database, open_readonly, run_script, user_tables
from mwcore.errors import MigrationWriterError


def tables(conn):
    return user_tables(conn)


def test_wrapped_file_is_all_or_nothing():
    conn = connect()
    result = run_script(conn, "CREATE TABLE a(x);\nCREATE TABLE b(y);\nINSERT INTO nope VALUES (1);\n")
    assert not result.ok and result.line == 3 and "no such table: nope" in result.error
    assert tables(conn) == []


def test_unwrapped_file_keeps_statements_before_the_failure():
    conn = connect()
    result = run_script(conn, "CREATE TABLE a(x);\nINSERT INTO nope VALUES (1);\n", wrap=False)
    assert not result.ok and result.statements_run == 1
    assert tables(conn) == ["a"]


@pytest.mark.parametrize("sql,message", [
    ("BEGIN TRANSACTION;\nCREATE TABLE a(x);\nCOMMIT;", "cannot start a transaction within a transaction"),
    ("CREATE TABLE a(x);\nVACUUM;", "cannot VACUUM from within a transaction"),
    ("CREATE TABLE a(x);\nCOMMIT;", "transaction commit failed"),
])
def test_transaction_statements_fail_in_a_wrapped_file(sql, message):
    result = run_script(connect(), sql)
    assert not result.ok and message in result.error


def test_explicit_transaction_works_unwrapped():
    conn = connect()
    assert run_script(conn, "BEGIN;\nCREATE TABLE a(x);\nCOMMIT;\nVACUUM;", wrap=False).ok
    assert tables(conn) == ["a"]


def test_commit_inside_a_wrapped_file_leaves_earlier_work_committed():
    conn = connect()
    result = run_script(conn, "CREATE TABLE a(x);\nCOMMIT;\nCREATE TABLE b(y);")
    assert not result.ok and result.phase == "commit"
    assert tables(conn) == ["a", "b"]


def test_select_rows_are_discarded_and_do_not_lock_tables():
    conn = connect()
    sql = "CREATE TABLE a(x);\nINSERT INTO a VALUES (1), (2);\nSELECT * FROM a;\nDROP TABLE a;"
    assert run_script(conn, sql).ok


def test_empty_and_comment_only_files_succeed():
    conn = connect()
    assert run_script(conn, "").ok
    assert run_script(conn, "-- nothing yet\n").ok


def test_pragma_foreign_keys_is_a_no_op_inside_the_wrap():
    conn = connect(foreign_keys=True)
    assert run_script(conn, "PRAGMA foreign_keys = OFF;").ok
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_copy_database_leaves_the_original_untouched(tmp_path):
    path = tmp_path / "app.db"
    original = connect(str(path))
    run_script(original, "CREATE TABLE a(x); INSERT INTO a VALUES (1);")
    original.close()
    before = path.read_bytes()
    copy = copy_database(open_readonly(path))
    run_script(copy, "DROP TABLE a;")
    assert tables(copy) == []
    assert path.read_bytes() == before


def test_open_readonly_refuses_what_is_not_sqlite(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, this is not a database" * 10)
    with pytest.raises(MigrationWriterError, match="cannot be read as an SQLite database"):
        open_readonly(path)


def test_open_readonly_cannot_write(tmp_path):
    path = tmp_path / "app.db"
    conn = connect(str(path))
    conn.execute("CREATE TABLE a(x)")
    conn.close()
    ro = open_readonly(path)
    assert not run_script(ro, "INSERT INTO a VALUES (1);").ok
