"""Facts about single schema objects, from a throwaway SQLite database.

The linter's scratch database only holds the schema as it is now. To know
what a table looked like before a statement (its columns, foreign keys), or
whether an index could still be created on a rebuilt table, the stored SQL
is executed again on a small separate in-memory database and SQLite is asked.
Those side databases come from `mwcore.engine` like every other, and the
migration's own statements run through its single-statement entry point.
"""

from __future__ import annotations

import re
import sqlite3
from typing import TYPE_CHECKING, Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from ..engine import run_statement, scratch
from ..sqltext import normalize_sql, quote_identifier
from .tracker import Obj, first_word

if TYPE_CHECKING:
    from ..schema import Snapshot, Table

# mwcore.schema and mwcore.rows (with what they import) load on first use:
# a check of one new pair often needs neither.


def snapshot(conn: sqlite3.Connection):
    from ..schema import snapshot as take

    return take(conn)


def seed_rows(conn: sqlite3.Connection, tables, **kw):
    from ..rows import seed_rows as seed

    return seed(conn, tables, **kw)


_TYPE_ORDER = {"table": 0, "index": 1, "view": 2, "trigger": 3}


def _side() -> sqlite3.Connection:
    return scratch()


class Shapes:
    """Cached facts about tables and objects, each learned by executing SQL."""

    def __init__(self, known_columns: Optional[Dict[Obj, Tuple[str, ...]]] = None) -> None:
        self._tables: Dict[str, Optional[Table]] = {}
        self._known_columns = known_columns or {}  # read from the scratch database while it held them

    def table(self, obj: Optional[Obj]) -> Optional[Table]:
        """Columns and foreign keys of a table as its CREATE TABLE defines them."""
        if obj is None or obj.type != "table" or not obj.sql:
            return None
        if obj.sql not in self._tables:
            conn = _side()
            try:
                conn.execute(obj.sql)
                self._tables[obj.sql] = snapshot(conn).table(obj.name)
            except sqlite3.Error:
                self._tables[obj.sql] = None
            finally:
                conn.close()
        return self._tables[obj.sql]

    def columns(self, obj: Optional[Obj]) -> List[str]:
        if obj is not None and obj in self._known_columns:
            return list(self._known_columns[obj])
        table = self.table(obj)
        return [c.name for c in table.columns] if table else []

    def materialize(self, objects: Iterable[Obj]) -> Tuple[Snapshot, List[Obj]]:
        """Create the objects on an empty database; return its snapshot and
        the objects SQLite would not create there (compared by text instead)."""
        conn = _side()
        failed = []
        try:
            for obj in sorted(objects, key=lambda o: _TYPE_ORDER.get(o.type, 9)):
                if not obj.sql:
                    continue
                try:
                    conn.execute(obj.sql)
                except sqlite3.Error:
                    failed.append(obj)
            return snapshot(conn), failed
        finally:
            conn.close()

    def fails(self, setup: Sequence[str], statement: str, *, foreign_keys: bool = False) -> Optional[str]:
        """SQLite's error for `statement` after `setup`, or None if it runs."""
        conn = _side()
        try:
            for sql in setup:
                conn.execute(sql)
            if foreign_keys:
                conn.execute("PRAGMA foreign_keys = ON")
            failure = run_statement(conn, statement)
            return failure.message if failure is not None else None
        except sqlite3.Error as exc:
            return str(exc)
        finally:
            conn.close()

    def fails_with_a_row(self, table: Obj, statement: str, *, foreign_keys: bool) -> Tuple[bool, Optional[str]]:
        """Run `statement` (an ALTER TABLE) against `table` holding one row.

        Returns (tested, error): tested is False when no row fits the table
        (then nothing is known)."""
        if not table.sql:
            return False, None
        conn = _side()
        try:
            conn.execute(table.sql)
            report = seed_rows(conn, [table.name], per_table=1)
            if not report.inserted:
                return False, None
            if foreign_keys:
                conn.execute("PRAGMA foreign_keys = ON")
            failure = run_statement(conn, statement)
            return True, (failure.message if failure is not None else None)
        except sqlite3.Error:
            return False, None
        finally:
            conn.close()


    def unique_keys(self, objects: Iterable[Obj], table: str) -> List[FrozenSet[str]]:
        """Column sets (lower-cased) that `table` already keeps unique, whole:
        its PRIMARY KEY, UNIQUE constraints and non-partial unique indexes
        on plain columns, read from SQLite after creating `objects`."""
        snap, _failed = self.materialize(o for o in objects if o.type in ("table", "index"))
        out = []
        for index in snap.indexes_of(table):
            if index.unique and not index.partial and None not in index.columns:
                out.append(frozenset(c.lower() for c in index.columns if c is not None))
        found = snap.table(table)
        if found is not None:
            pk = [c.name.lower() for c in found.columns if c.pk]
            if pk:
                out.append(frozenset(pk))
        return out

    def run_with_rows(self, objects: Iterable[Obj], statements: Sequence[str], *,
                      null: Optional[Tuple[str, str]] = None) -> Tuple[bool, Optional[int], Optional[str]]:
        """Create `objects` on a side database, put one synthetic row in every
        table (with NULL in `null` = (table, column)), then run `statements`
        in order (transaction control skipped). Returns (tested, index of the
        first statement that failed or None, its error); tested is False when
        the row with the NULL could not be made."""
        conn = _side()
        try:
            objects = sorted(objects, key=lambda o: _TYPE_ORDER.get(o.type, 9))
            for obj in objects:
                if obj.sql and obj.type != "trigger":
                    try:
                        conn.execute(obj.sql)
                    except sqlite3.Error:
                        pass
            tables = [o.name for o in objects if o.type == "table" and not (o.sql or "").upper().startswith("CREATE VIRTUAL")]
            seed_rows(conn, tables, per_table=1)
            if null is not None:
                try:
                    changed = conn.execute(f"UPDATE {quote_identifier(null[0])} SET {quote_identifier(null[1])} = NULL").rowcount
                except sqlite3.Error:
                    changed = 0
                if not changed:
                    return False, None, None
            for obj in objects:
                if obj.sql and obj.type == "trigger":
                    try:
                        conn.execute(obj.sql)
                    except sqlite3.Error:
                        pass
            conn.execute("BEGIN")
            for index, sql in enumerate(statements):
                if first_word(sql) in _TRANSACTION_CONTROL:
                    continue
                try:
                    conn.execute(sql).close()
                except (sqlite3.Error, ValueError, OverflowError) as exc:
                    return True, index, str(exc)
            return True, None, None
        finally:
            conn.close()


_TRANSACTION_CONTROL = frozenset(("BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "VACUUM", "ATTACH", "DETACH"))

_NAMED = re.compile(
    r'^(create (?:unique )?index (?:if not exists )?|create (?:temp |temporary )?trigger (?:if not exists )?)'
    r'(?:main \. )?("(?:[^"]|"")*"|\S+)'
)


def definition_key(obj: Obj) -> str:
    """An index or trigger's canonical definition with its own name left out,
    so the same index recreated under another name compares equal."""
    return _NAMED.sub(r"\1?", normalize_sql(obj.sql)) if obj.sql else ""
