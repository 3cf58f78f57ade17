"""Which tables a piece of SQL touches, as SQLite itself reports it.

SQLite calls an authorizer for every table, column, index, trigger and view a
statement uses while it prepares that statement, including the work foreign-key
actions (CASCADE, SET NULL) and triggers do on other tables. `TouchRecorder`
installs one on a connection and collects what a file creates, drops, alters,
writes and reads in the `main` database, so callers snapshot and check only
those objects instead of the whole schema.

The recorder is an observer of the engine's authorizer (`engine.observe`):
the engine's guard decides, the recorder only looks. Observing again
expires every prepared statement of the connection (sqlite3_set_authorizer
does that), so statements Python's statement cache would otherwise reuse
without preparing are prepared again and reported too: `start()` does it
for that reason.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Optional, Set

from . import engine

_OK = sqlite3.SQLITE_OK

# Action code -> what it does to its first argument (a table unless noted).
_CREATE_TABLE = {sqlite3.SQLITE_CREATE_TABLE}
_DROP_TABLE = {sqlite3.SQLITE_DROP_TABLE}
_WRITE = {sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE}
_INDEX = {sqlite3.SQLITE_CREATE_INDEX, sqlite3.SQLITE_DROP_INDEX}  # (index, table)
_TRIGGER = {sqlite3.SQLITE_CREATE_TRIGGER, sqlite3.SQLITE_DROP_TRIGGER}  # (trigger, table)
_VIEW = {sqlite3.SQLITE_CREATE_VIEW, sqlite3.SQLITE_DROP_VIEW}  # (view, None)
_ALTER = sqlite3.SQLITE_ALTER_TABLE  # (database, table)
_READ = sqlite3.SQLITE_READ
_FUNCTION = sqlite3.SQLITE_FUNCTION
# ALTER TABLE ... RENAME [COLUMN] rewrites the schema through these internal
# SQL functions; ADD and DROP COLUMN never call them.
_RENAME_FUNCTIONS = {"sqlite_rename_table", "sqlite_rename_column"}


@dataclass
class Touched:
    """Objects of the `main` database one run touched (names lower-cased).

    `schema` holds every table or view whose definition, indexes or triggers
    may have changed; `written` every table whose rows may have changed
    (created and dropped tables included); `read` the tables only read.
    """

    schema: Set[str] = field(default_factory=set)
    written: Set[str] = field(default_factory=set)
    read: Set[str] = field(default_factory=set)
    renamed: bool = False  # ALTER TABLE RENAME (table or column): other objects' SQL may be rewritten

    def merge(self, other: "Touched") -> "Touched":
        return Touched(
            self.schema | other.schema,
            self.written | other.written,
            self.read | other.read,
            self.renamed or other.renamed,
        )


class TouchRecorder:
    """Records what SQL run between `start()` and `stop()` touches.

    The observer stays installed for the connection's life and records
    nothing outside a start/stop window.
    """

    def __init__(self, conn: sqlite3.Connection, *, ignore: Set[str] = frozenset()) -> None:
        self.conn = conn
        self.ignore = {name.lower() for name in ignore}
        self._current: Optional[Touched] = None
        self._dropped_views: Set[str] = set()

    def start(self) -> None:
        self._current = Touched()
        self._dropped_views: Set[str] = set()
        engine.observe(self.conn, self._authorize)

    def stop(self) -> Touched:
        touched = self._current or Touched()
        self._current = None
        touched.read -= touched.written
        return touched

    def _authorize(self, action: int, arg1: Optional[str], arg2: Optional[str], database: Optional[str],
                   _source: Optional[str]) -> int:
        touched = self._current
        if touched is None:
            return _OK
        if action == _FUNCTION:
            if arg2 in _RENAME_FUNCTIONS:
                touched.renamed = True
            return _OK
        if action == _ALTER:
            if arg1 == "main" and arg2:
                self._add(touched, arg2, schema=True, written=True)
            return _OK
        if database != "main" or not arg1:
            return _OK
        if action == _READ:
            if arg1.lower() not in self.ignore and not arg1.lower().startswith("sqlite_"):
                touched.read.add(arg1.lower())
        elif action in _WRITE:
            if action == sqlite3.SQLITE_DELETE and arg1.lower() in self._dropped_views:
                return _OK  # DROP VIEW reports a DELETE on the view; no rows change
            self._add(touched, arg1, schema=False, written=True)
        elif action in _CREATE_TABLE or action in _DROP_TABLE:
            self._add(touched, arg1, schema=True, written=True)
        elif action in _INDEX or action in _TRIGGER:
            if arg2:
                self._add(touched, arg2, schema=True, written=False)
        elif action in _VIEW:
            if action == sqlite3.SQLITE_DROP_VIEW:
                self._dropped_views.add(arg1.lower())
            self._add(touched, arg1, schema=True, written=False)
        return _OK

    def _add(self, touched: Touched, name: str, *, schema: bool, written: bool) -> None:
        lower = name.lower()
        if lower in self.ignore or lower.startswith("sqlite_"):
            return
        if schema:
            touched.schema.add(lower)
        if written:
            touched.written.add(lower)
