"""The one SQL runner: execute a migration file the way golang-migrate's
sqlite3 driver (mattn/go-sqlite3) does.

The driver runs the whole file as one Exec inside a transaction (unless
`x-no-tx-wrap=true`); mattn prepares and steps each statement once, in order.
Here each statement from `sqltext.split_statements` is executed the same way
on a Python sqlite3 connection in autocommit mode, so an explicit BEGIN,
VACUUM or a COMMIT inside a wrapped file fails exactly as it does there, and
the failing statement's line is known.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence
from urllib.parse import quote

from .errors import MigrationWriterError
from .sqltext import Statement, split_statements


@dataclass(frozen=True)
class ScriptResult:
    """Outcome of running one file."""

    ok: bool
    error: Optional[str] = None
    line: Optional[int] = None  # 1-based line of the failing statement
    col: Optional[int] = None
    statement: Optional[Statement] = None
    phase: str = "statement"  # "begin", "statement" or "commit"
    statements_run: int = 0


def connect(path: str = ":memory:", *, foreign_keys: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (we issue BEGIN/COMMIT ourselves)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    if foreign_keys:
        conn.execute("PRAGMA foreign_keys = ON")
    return conn


def open_readonly(path: Path) -> sqlite3.Connection:
    """Open a user's database without any chance of writing to it."""
    if not path.exists():
        raise MigrationWriterError(f"{path}: no such database file.")
    if not path.is_file():
        raise MigrationWriterError(f"{path}: is not a file.")
    uri = "file:" + quote(str(path.resolve())) + "?mode=ro"
    if _is_wal_without_log(path):
        # A read-only open of a WAL database would create -wal and -shm
        # files next to it (and leave them there); with no -wal file there
        # is nothing but the main file to read, so read it as immutable.
        uri += "&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise MigrationWriterError(f"{path}: cannot be read as an SQLite database ({exc}).") from None
    return conn


def _is_wal_without_log(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            header = handle.read(20)
    except OSError:
        return False
    wal_mode = header.startswith(b"SQLite format 3\x00") and header[18:20] == b"\x02\x02"
    return wal_mode and not Path(str(path) + "-wal").exists()


def copy_database(source: sqlite3.Connection, *, foreign_keys: bool = False) -> sqlite3.Connection:
    """An in-memory copy made with SQLite's backup API."""
    target = connect(":memory:")
    source.backup(target)
    if foreign_keys:
        target.execute("PRAGMA foreign_keys = ON")
    return target


def copy_of_file(path: Path) -> sqlite3.Connection:
    """An in-memory copy of a user's database: opened read-only, copied once
    with the backup API, closed. The file is never written."""
    source = open_readonly(path)
    try:
        return copy_database(source)
    except sqlite3.Error as exc:
        raise MigrationWriterError(
            f"{path}: cannot be read ({exc}); is another program holding a lock on it?") from None
    finally:
        source.close()


def foreign_keys_enabled(conn: sqlite3.Connection) -> bool:
    return bool(conn.execute("PRAGMA foreign_keys").fetchone()[0])


def run_statements(conn: sqlite3.Connection, statements: Sequence[Statement], *, wrap: bool = True) -> ScriptResult:
    """Run pre-split statements; see `run_script`."""
    if wrap:
        try:
            conn.execute("BEGIN")
        except sqlite3.Error as exc:
            return ScriptResult(False, f"transaction start failed: {exc}", phase="begin")
    for index, statement in enumerate(statements):
        try:
            # close() resets the statement as mattn does after one step, so
            # an unread SELECT never holds a lock on a table dropped later.
            conn.execute(statement.sql).close()
        except (sqlite3.Error, sqlite3.Warning, ValueError, OverflowError) as exc:
            if wrap and conn.in_transaction:
                conn.execute("ROLLBACK")
            return ScriptResult(False, _message(exc), statement.line, statement.col, statement, "statement", index)
    if wrap:
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return ScriptResult(False, f"transaction commit failed: {exc}", phase="commit", statements_run=len(statements))
    return ScriptResult(True, statements_run=len(statements))


def run_script(conn: sqlite3.Connection, text: str, *, wrap: bool = True) -> ScriptResult:
    """Execute a whole migration file as golang-migrate would.

    wrap=True: BEGIN, every statement, COMMIT; on the first error ROLLBACK and
    report it (the driver does the same). wrap=False: as with
    `x-no-tx-wrap=true`, statements before a failing one stay applied.
    """
    return run_statements(conn, split_statements(text), wrap=wrap)


def _message(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, sqlite3.Warning) or "one statement at a time" in text:
        # Python refused what SQLite would run; should not happen after splitting.
        return f"statement could not be isolated: {text}"
    return text


def user_tables(conn: sqlite3.Connection, migrations_table: str = "schema_migrations") -> List[str]:
    """Names of the tables a migration author created (no sqlite_*, no
    golang-migrate bookkeeping)."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    ).fetchall()
    return [name for (name,) in rows if name.lower() != migrations_table.lower()]
