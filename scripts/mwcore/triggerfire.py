"""Fire a table's triggers once, to find the ones a schema change broke.

SQLite checks a trigger's body only when a statement that fires it is
prepared. `ALTER TABLE t DROP COLUMN c` succeeds while another table's
trigger still does `UPDATE t SET c = ...` (SQLite 3.50 checks only the
triggers it can tie to the column), and a RENAME with `legacy_alter_table`
on leaves trigger bodies as they were: the migration passes and the trigger
fails the next time the application inserts a row. So after an up, each
table whose triggers the change may reach is exercised, inside a savepoint
that is rolled back (the database is left exactly as it was):

1. `EXPLAIN` of an INSERT, an UPDATE of every column and (when a trigger is
   on DELETE) a DELETE: preparing compiles every trigger those statements
   fire, so a body naming a column or table that is gone fails here without
   touching a row;
2. then, on one row of the table (an existing one, else a synthetic one),
   the UPDATE, the DELETE and the INSERT of the same row again run for real,
   so a body that breaks a constraint it did not break before (a NOT NULL
   column it does not fill) fails too. Failures a body raises on purpose
   (`RAISE(ABORT, 'message')` with that message) and foreign-key checks of
   the row itself are not the trigger's breakage and are left out.

A failure is pinned on one trigger by running the statement again with the
table's other triggers dropped (inside a savepoint, rolled back). A body that
does not compile is broken whatever the rows (`BrokenTrigger.row` is None);
one that failed on the row it ran on may work on other rows.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from . import engine
from .sqltext import quote_identifier as q
from .sqltext import tokens

INSERT, UPDATE, DELETE = "INSERT", "UPDATE", "DELETE"
_SAVEPOINT = "mw_fire_triggers"


@dataclass(frozen=True)
class BrokenTrigger:
    trigger: str
    table: str
    event: str  # the statement that fires it: INSERT, UPDATE or DELETE
    error: str
    # The row it failed on when it ran (None: it does not even compile, which
    # no row changes; with a row, other rows may not make it fail).
    row: Optional[str] = None

    def message(self) -> str:
        on = f" on a row like {self.row}" if self.row is not None else ""
        article = "a" if self.event == DELETE else "an"
        return f"trigger {self.trigger} on {self.table} fails when {article} {self.event} fires it{on}: {self.error}"


@dataclass(frozen=True)
class _Trigger:
    name: str
    sql: str
    events: Tuple[str, ...]


@dataclass
class FireResult:
    """What firing some tables' triggers found."""

    triggers: Dict[str, List[str]] = field(default_factory=dict)  # table (lower) -> its triggers' names (lower)
    broken: Dict[str, BrokenTrigger] = field(default_factory=dict)  # trigger name (lower) -> why it fails


def tables_with_triggers(conn: sqlite3.Connection) -> List[str]:
    """Tables (not views) of the main database that have triggers."""
    rows = conn.execute("SELECT DISTINCT t.tbl_name FROM main.sqlite_master AS t JOIN main.sqlite_master AS o "
                        "ON o.name = t.tbl_name AND o.type = 'table' WHERE t.type = 'trigger'").fetchall()
    return sorted(name for (name,) in rows)


def fire(conn: sqlite3.Connection, tables: Iterable[str], *, seed=None) -> FireResult:
    """Fire the triggers of each table in `tables` once (see the module's
    doc). `seed(conn, table)` inserts a synthetic row into an empty table
    (rows.seed_rows); without it an empty table gets only step 1."""
    result = FireResult()
    for table in tables:
        triggers = _triggers(conn, table)
        if not triggers:
            continue
        result.triggers[table.lower()] = [t.name.lower() for t in triggers]
        for broken in _fire_table(conn, table, triggers, seed):
            result.broken.setdefault(broken.trigger.lower(), broken)
    return result


def _triggers(conn: sqlite3.Connection, table: str) -> List[_Trigger]:
    rows = conn.execute("SELECT name, sql FROM main.sqlite_master WHERE type = 'trigger' AND tbl_name = ? "
                        "AND EXISTS (SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?)",
                        (table, table)).fetchall()
    return [_Trigger(name, sql or "", trigger_events(sql or "")) for name, sql in rows]


def trigger_events(sql: str) -> Tuple[str, ...]:
    """The statements that fire a trigger, read from its header (the words
    between its name and ON): ('INSERT',), ('UPDATE',) or ('DELETE',)."""
    seen_trigger = False
    for kind, text in tokens(sql):
        word = text.upper() if kind == "word" else ""
        if not seen_trigger:
            seen_trigger = word == "TRIGGER"
            continue
        if word == "ON":
            break
        if word in (INSERT, UPDATE, DELETE):
            return (word,)
    return ()


def _fire_table(conn: sqlite3.Connection, table: str, triggers: List[_Trigger], seed) -> List[BrokenTrigger]:
    columns = [r[0] for r in conn.execute("SELECT name FROM pragma_table_xinfo(?) WHERE hidden NOT IN (1, 2, 3)", (table,))]
    if not columns:
        return []
    events = {e for t in triggers for e in t.events}
    update = f"UPDATE {q(table)} SET " + ", ".join(f"{q(c)} = {q(c)}" for c in columns)
    insert = f"INSERT INTO {q(table)} ({', '.join(map(q, columns))}) VALUES ({', '.join('NULL' for _ in columns)})"
    statements = [(INSERT, insert), (UPDATE, update), (DELETE, f"DELETE FROM {q(table)}")]
    broken: List[BrokenTrigger] = []
    failed: Set[str] = set()
    # 1. Compile what fires them: a body that names something gone fails here.
    for event, sql in statements:
        if event not in events:
            continue
        failure = engine.run_statement(conn, "EXPLAIN " + sql)
        if failure is not None:
            failed.add(event)
            broken.extend(_pin(conn, table, triggers, event, "EXPLAIN " + sql, failure.message))
    # 2. Fire them on one row.
    runnable = [e for e in (UPDATE, DELETE, INSERT) if e in events and e not in failed]
    if runnable:
        broken.extend(_fire_on_a_row(conn, table, columns, triggers, update, runnable, seed))
    return broken


def _fire_on_a_row(conn: sqlite3.Connection, table: str, columns: List[str], triggers: List[_Trigger], update: str,
                   events: Sequence[str], seed) -> List[BrokenTrigger]:
    raised = _raised_messages(triggers)
    broken: List[BrokenTrigger] = []
    outer = conn.in_transaction
    if outer:
        return []  # never inside someone else's transaction
    conn.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        conn.execute("PRAGMA defer_foreign_keys = ON")
        row = _a_row(conn, table, columns)
        if row is None and seed is not None:
            seed(conn, table)  # an INSERT that fires the insert triggers; it may not fit
            row = _a_row(conn, table, columns)
        if row is None:
            return []
        rowid, values = row
        where = f" WHERE rowid = {int(rowid)}"
        insert = f"INSERT INTO {q(table)} ({', '.join(map(q, columns))}) VALUES ({', '.join(_literal(v) for v in values)})"
        run = {UPDATE: update + where, DELETE: f"DELETE FROM {q(table)}" + where, INSERT: insert}
        if INSERT in events and DELETE not in events:
            events = list(events) + [DELETE]  # the row must go before it can be inserted again
            events.sort(key=(UPDATE, DELETE, INSERT).index)
        for event in events:
            if not conn.in_transaction:
                break  # RAISE(ROLLBACK) ended the savepoint
            failure = engine.run_statement(conn, run[event])
            if failure is None or not any(event in t.events for t in triggers):
                continue
            if failure.message in raised or "FOREIGN KEY constraint failed" in failure.message:
                if event == DELETE:
                    break  # the row is still there: inserting it again means nothing
                continue
            shown = "{" + ", ".join(f"{c}={_literal(v)[:40]}" for c, v in list(zip(columns, values))[:4]) + "}"
            broken.extend(_pin(conn, table, triggers, event, run[event], failure.message, shown))
            if event == DELETE:
                break
    finally:
        if conn.in_transaction:
            conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
            conn.execute(f"RELEASE {_SAVEPOINT}")
    return broken


def _a_row(conn: sqlite3.Connection, table: str, columns: List[str]) -> Optional[Tuple[int, tuple]]:
    try:
        row = conn.execute(f"SELECT rowid, {', '.join(map(q, columns))} FROM {q(table)} LIMIT 1").fetchone()
    except sqlite3.Error:  # WITHOUT ROWID: step 1 only
        return None
    return (row[0], tuple(row[1:])) if row is not None else None


def _pin(conn: sqlite3.Connection, table: str, triggers: List[_Trigger], event: str, sql: str,
         error: str, row: Optional[str] = None) -> List[BrokenTrigger]:
    """The trigger(s) of `event` that make `sql` fail: each one alone (the
    others dropped inside a savepoint that is rolled back)."""
    candidates = [t for t in triggers if event in t.events]
    if len(candidates) <= 1:
        names = candidates or triggers
        return [BrokenTrigger(names[0].name, table, event, error, row)] if names else []
    out = []
    for suspect in candidates:
        conn.execute("SAVEPOINT mw_pin_trigger")
        try:
            for other in candidates:
                if other is not suspect:
                    conn.execute(f"DROP TRIGGER main.{q(other.name)}")
            failure = engine.run_statement(conn, sql)
        finally:
            conn.execute("ROLLBACK TO mw_pin_trigger")
            conn.execute("RELEASE mw_pin_trigger")
        if failure is not None:
            out.append(BrokenTrigger(suspect.name, table, event, failure.message, row))
    return out or [BrokenTrigger(", ".join(t.name for t in candidates), table, event, error, row)]


def _raised_messages(triggers: Sequence[_Trigger]) -> Set[str]:
    """String literals of the bodies: what a RAISE(ABORT, '...') reports."""
    out = set()
    for trigger in triggers:
        for kind, text in tokens(trigger.sql):
            if kind == "string" and text[:1] not in "xX":
                out.add(text[1:-1].replace("''", "'"))
    return out


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) else "NULL"
    if isinstance(value, bytes):
        return "X'" + value.hex() + "'"
    return "'" + str(value).replace("'", "''") + "'"
