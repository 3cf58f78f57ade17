"""Pre-checks on real data: the rows of a database that would break a version.

Before a pending version runs on the copy of a user's database (`--db`), its
up file runs on an empty copy of the schema (`SchemaFollower`: the schema
without a single row, so nothing in it can fail because of data). The
schema before and after says what the version adds to tables that already
exist; each addition becomes a read-only query on the real rows, counted and
sampled (two rows) on the copy:

- a UNIQUE index or constraint (new, or made unique): duplicated keys
  (`lint.rules_safety.duplicates_query`, the query MW507 prints);
- NOT NULL on a column that allowed NULL (a rebuild): rows holding NULL;
- `ADD COLUMN ... NOT NULL` without a default: every row (SQLite refuses the
  ADD on a table with any row);
- a foreign key: rows whose key matches no parent row;
- a CHECK: rows it rejects;
- `ADD COLUMN ... GENERATED ALWAYS AS (...) STORED`: every row (SQLite
  refuses it on a table with rows).

Whether a change is an ADD COLUMN or a rebuild is SQLite's to say: a rebuilt
table is a new b-tree (its `rootpage` changes), an altered one keeps its.
The queries read the columns the table has before the version; a rebuild
that copies rows through an expression (COALESCE, a CASE) may fix what the
query finds, so callers report the findings only when the version really
fails (or leaves new foreign-key violations).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from . import engine
from .schema import Index, Snapshot, Table, index_parts, snapshot
from .sqltext import normalize_sql
from .sqltext import quote_identifier as q

UNIQUE, NOT_NULL, NEW_NOT_NULL, FOREIGN_KEY, CHECK, STORED = (
    "unique", "not-null", "new-not-null", "foreign-key", "check", "stored")
SAMPLE_ROWS = 2


@dataclass(frozen=True)
class Precheck:
    """One addition of a version and the real rows that break it."""

    kind: str  # UNIQUE, NOT_NULL, NEW_NOT_NULL, FOREIGN_KEY, CHECK, STORED
    table: str
    subject: str  # what the version adds, in words: "UNIQUE INDEX t_a on t(a)"
    query: str  # read-only SQL listing the rows (for duplicates: the duplicated keys)
    count: int = 0  # rows (duplicated keys for UNIQUE) found on the real data
    sample: Tuple[str, ...] = ()
    rows: int = 0  # UNIQUE: how many rows hold the duplicated keys

    def key(self) -> Tuple[str, str, str]:
        return (self.kind, self.table.lower(), self.subject)

    def finding(self) -> str:
        """What was found, in one line: `subject: N rows ..., e.g. ...`."""
        n = self.count
        if self.kind == UNIQUE:
            what = f"{n} duplicated key{'s' if n != 1 else ''} ({self.rows} rows)"
        elif self.kind == NOT_NULL:
            what = f"{_rows(n)} hold{'s' if n == 1 else ''} NULL"
        elif self.kind == FOREIGN_KEY:
            what = f"{_rows(n)} point{'s' if n == 1 else ''} to no parent row"
        elif self.kind == CHECK:
            what = f"{_rows(n)} fail{'s' if n == 1 else ''} it"
        elif self.kind == NEW_NOT_NULL:
            what = f"{_rows(n)} would get NULL (SQLite refuses the ADD COLUMN on a table with rows)"
        else:
            what = f"{_rows(n)} in {self.table} (SQLite refuses a STORED column added to a table with rows)"
        return f"{self.subject}: {what}" + (f", e.g. {'; '.join(self.sample)}" if self.sample else "")

    def as_json(self) -> Dict[str, object]:
        out: Dict[str, object] = {"check": self.kind, "table": self.table, "subject": self.subject,
                                  "count": self.count, "sample": list(self.sample), "query": self.query}
        if self.kind == UNIQUE:
            out["rows"] = self.rows
        return out


def _rows(n: int) -> str:
    return "1 row" if n == 1 else f"{n} rows"


# An empty copy of the schema ----------------------------------------------------

ConnectionFactory = Callable[[], sqlite3.Connection]


def schema_copy(source: sqlite3.Connection, new: ConnectionFactory) -> sqlite3.Connection:
    """A new database (from `new()`) with `source`'s schema and no rows:
    every CREATE of its sqlite_master run again, tables first. Objects
    SQLite creates itself (sqlite_*, a virtual table's shadow tables) are
    left to it."""
    target = new()
    rows = source.execute(
        "SELECT sql FROM main.sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
        "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 ELSE 3 END, rowid").fetchall()
    for (sql,) in rows:
        engine.run_statement(target, sql)  # a shadow table that already exists fails, as it should
    return target


class SchemaFollower:
    """An empty copy of a database's schema that follows the pending ups:
    `checks_for(text)` runs the next up file on it and returns what that
    file adds to the tables that existed (queries not yet run)."""

    def __init__(self, source: sqlite3.Connection, new: ConnectionFactory, *, wrap: bool,
                 migrations_table: str = "schema_migrations") -> None:
        self.conn = schema_copy(source, new)
        self.wrap = wrap
        self.migrations_table = migrations_table
        self.in_step = True  # False once a file failed here: the schema no longer follows

    def close(self) -> None:
        self.conn.close()

    def checks_for(self, text: str, file: Optional[str]) -> List[Precheck]:
        if not self.in_step:
            return []
        before = snapshot(self.conn, migrations_table=self.migrations_table)
        roots = _rootpages(self.conn)
        old_checks = {name: [c.expression for c in _checks(self.conn, table.name)] for name, table in before.tables.items()}
        result = engine.run_script(self.conn, text, wrap=self.wrap, file=file)
        if not result.ok:
            self.in_step = False
            return []
        after = snapshot(self.conn, migrations_table=self.migrations_table)
        altered = {name for name, root in _rootpages(self.conn).items() if roots.get(name) == root}
        out: List[Precheck] = []
        for name, table in sorted(after.tables.items()):
            old = before.tables.get(name)
            if old is None or old.sql == table.sql and _unique_keys(before, name) == _unique_keys(after, name):
                continue
            out.extend(_derive(before, after, old, table, name in altered, old_checks.get(name, []),
                               _checks(self.conn, table.name)))
        return out


def _rootpages(conn: sqlite3.Connection) -> Dict[str, int]:
    return {name.lower(): root for name, root in
            conn.execute("SELECT name, rootpage FROM main.sqlite_master WHERE type = 'table'")}


def _checks(conn: sqlite3.Connection, table: str) -> list:
    """The table's CHECKs (rows.Check: expression and the columns it names)."""
    from .rows import columns_of, table_checks

    try:
        return table_checks(conn, table, columns_of(conn, table))
    except sqlite3.Error:
        return []


# What a version adds ------------------------------------------------------------


def _derive(before: Snapshot, after: Snapshot, old: Table, new: Table, altered: bool,
            old_checks: Sequence[str], new_checks: Sequence) -> List[Precheck]:
    table = old.name
    columns = {c.name.lower(): c for c in old.columns}
    out: List[Precheck] = []
    old_unique = _unique_keys(before, old.name.lower())
    for index in after.indexes_of(new.name):
        items = _items(index)
        if not index.unique or items is None or (tuple(i.lower() for i in items), _where(index)) in old_unique:
            continue
        if index.columns and all(c is not None for c in index.columns) and \
                not all(c.lower() in columns for c in index.columns if c is not None):
            continue  # a new column: the rows have no values in it yet
        out.append(_unique_check(table, index, items))
    for column in new.columns:
        was = columns.get(column.name.lower())
        if was is None:
            if altered and column.hidden == 3:
                out.append(Precheck(STORED, table, f"STORED column {table}.{column.name}",
                                    f"SELECT {_shown(old, [])} FROM {q(table)}"))
            elif altered and column.notnull and column.default is None and column.hidden not in (2, 3):
                out.append(Precheck(NEW_NOT_NULL, table, f"new NOT NULL column {table}.{column.name} without a default",
                                    f"SELECT {_shown(old, [])} FROM {q(table)}"))
            continue
        if column.notnull and not was.notnull and not column.pk:
            out.append(Precheck(NOT_NULL, table, f"NOT NULL {table}.{column.name}",
                                f"SELECT {_shown(old, [was.name], fill=False)} FROM {q(table)} "
                                f"WHERE {q(was.name)} IS NULL"))
    for fk in new.foreign_keys:
        if fk in old.foreign_keys:
            continue
        query = _orphans_query(before, old, fk.columns, fk.table, fk.to)
        if query is not None:
            to = ", ".join(c or "(primary key)" for c in fk.to)
            out.append(Precheck(FOREIGN_KEY, table, f"foreign key {table}({', '.join(fk.columns)}) -> {fk.table}({to})",
                                query))
    known = {normalize_sql(text) for text in old_checks}
    for check in new_checks:
        expression = check.expression
        if normalize_sql(expression) in known:
            continue
        out.append(Precheck(CHECK, table, f"CHECK ({' '.join(expression.split())}) on {table}",
                            f"SELECT {_shown(old, list(check.columns), fill=False)} FROM {q(table)} "
                            f"WHERE NOT ({expression})"))
    return out


def _items(index: Index) -> Optional[List[str]]:
    """The key items of an index without ASC/DESC (None when unknown)."""
    if index.sql:
        from .lint.rules_safety import _stripped_items

        return _stripped_items(index.sql)
    if all(c is not None for c in index.columns):
        return [c if c.isidentifier() else q(c) for c in index.columns if c is not None]
    return None


def _where(index: Index) -> Optional[str]:
    return index_parts(index.sql)[1] if index.sql and index.partial else None


def _unique_keys(snap: Snapshot, table: str) -> set:
    out = set()
    for index in snap.indexes_of(table):
        items = _items(index) if index.unique else None
        if items is not None:
            out.add((tuple(i.lower() for i in items), _where(index)))
    return out


def _unique_check(table: str, index: Index, items: List[str]) -> Precheck:
    from .lint.rules_safety import duplicates_query

    sql = index.sql or f"CREATE UNIQUE INDEX x ON {q(table)} ({', '.join(items)})"
    query = duplicates_query(sql, table).rstrip().rstrip(";")
    query = query[: query.rfind(" LIMIT ")] if " LIMIT " in query else query
    what = "UNIQUE INDEX " + index.name if index.sql else "UNIQUE"
    return Precheck(UNIQUE, table, f"{what} on {table}({', '.join(items)})", query)


def _orphans_query(before: Snapshot, child: Table, columns: Sequence[str], parent_name: str,
                   to: Sequence[Optional[str]]) -> Optional[str]:
    parent = before.tables.get(parent_name.lower())
    if parent is None or not all(child.column(c) is not None for c in columns):
        return None  # a parent the version creates: its rows are the version's to fill
    targets = list(to)
    if any(t is None for t in targets):
        pk = [c.name for c in sorted((c for c in parent.columns if c.pk), key=lambda c: c.pk)]
        if len(pk) != len(columns):
            return None
        targets = pk
    if not all(parent.column(t) is not None for t in targets if t is not None):
        return None
    present = " AND ".join(f"c.{q(c)} IS NOT NULL" for c in columns)
    match = " AND ".join(f"p.{q(t)} = c.{q(c)}" for c, t in zip(columns, targets) if t is not None)
    return (f"SELECT {_shown(child, list(columns), alias='c', fill=False)} FROM {q(child.name)} AS c WHERE {present} "
            f"AND NOT EXISTS (SELECT 1 FROM {q(parent.name)} AS p WHERE {match})")


def _shown(table: Table, involved: Sequence[str], alias: str = "", fill: bool = True) -> str:
    """The columns a sample row shows: the primary key (or rowid), then
    `involved`, then (with `fill`, or when that is all) the first columns up
    to four."""
    prefix = f"{alias}." if alias else ""
    key = [c.name for c in sorted((c for c in table.columns if c.pk), key=lambda c: c.pk)]
    names = list(dict.fromkeys(key + [c for c in involved if table.column(c) is not None]))
    for column in table.columns:
        if len(names) >= 4 or (not fill and len(names) > len(key)):
            break
        if column.name not in names and column.hidden not in (2, 3):
            names.append(column.name)
    return ", ".join(prefix + q(n) for n in names) or f"{prefix}rowid"


# Running them on the real rows ---------------------------------------------------


def measure(conn: sqlite3.Connection, checks: Sequence[Precheck]) -> List[Precheck]:
    """Each check with its count and sample on `conn`'s rows; a query
    SQLite cannot run there (a column the real table lacks) is left out."""
    out = []
    for check in checks:
        try:
            if check.kind == UNIQUE:
                count, rows = conn.execute(f"SELECT count(*), coalesce(sum(copies), 0) FROM ({check.query})").fetchone()
            else:
                count, rows = conn.execute(f"SELECT count(*) FROM ({check.query})").fetchone()[0], 0
            cursor = conn.execute(f"{check.query} LIMIT {SAMPLE_ROWS}") if count else None
            sample = tuple(_sample_text([d[0] for d in cursor.description], row, check.kind)
                           for row in cursor.fetchall()) if cursor is not None else ()
        except sqlite3.Error:
            continue
        out.append(replace(check, count=count, rows=rows, sample=sample))
    return out


def _sample_text(names: List[str], row: tuple, kind: str) -> str:
    if kind == UNIQUE:
        *keys, copies = row
        return "(" + ", ".join(f"{n}={_value(v)}" for n, v in zip(names, keys)) + f") x{copies}"
    return "{" + ", ".join(f"{n}={_value(v)}" for n, v in zip(names, row)) + "}"


def _value(value: object) -> str:
    text = "NULL" if value is None else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
