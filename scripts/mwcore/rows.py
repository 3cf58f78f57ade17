"""Synthetic rows for any schema, and checking that rows survived.

Rows are generated from each column's declared type, NOT NULL, default and
foreign keys (parents first), and SQLite decides whether they fit: a row that
breaks a CHECK or UNIQUE constraint is retried with other values (defaults,
NULLs), and a table that takes no row at all is reported as skipped with
SQLite's reason instead of failing the caller.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .sqltext import quote_identifier as q
from .sqltext import tokens, unquote_identifier


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    notnull: bool
    has_default: bool
    pk: int
    generated: bool


@dataclass(frozen=True)
class RowSet:
    """Rows of one table captured by value, to look for them again later."""

    table: str
    columns: Tuple[str, ...]
    rows: Tuple[tuple, ...]


@dataclass
class SeedReport:
    inserted: Dict[str, RowSet] = field(default_factory=dict)
    skipped: Dict[str, str] = field(default_factory=dict)  # table -> reason


def columns_of(conn: sqlite3.Connection, table: str) -> List[ColumnSpec]:
    try:
        rows = conn.execute('SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?)', (table,)).fetchall()
    except sqlite3.OperationalError:
        rows = [r + (0,) for r in conn.execute('SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)', (table,))]
    return [ColumnSpec(n, (t or "").upper(), bool(nn), d is not None, pk, hidden in (2, 3)) for n, t, nn, d, pk, hidden in rows if hidden != 1]


def foreign_keys_of(conn: sqlite3.Connection, table: str) -> Dict[str, Tuple[str, Optional[str]]]:
    """column -> (parent table, parent column or None for its primary key)."""
    return {row[0]: (row[1], row[2]) for row in conn.execute('SELECT "from", "table", "to" FROM pragma_foreign_key_list(?)', (table,))}


def dependency_order(conn: sqlite3.Connection, tables: Iterable[str]) -> List[str]:
    """Parents before children (self-references and cycles tolerated)."""
    pending = list(dict.fromkeys(tables))
    lower = {t.lower() for t in pending}
    parents = {t: {p.lower() for p, _ in foreign_keys_of(conn, t).values()} & lower - {t.lower()} for t in pending}
    ordered: List[str] = []
    done: set = set()
    while pending:
        ready = [t for t in pending if parents[t] <= done] or pending[:1]
        for table in ready:
            ordered.append(table)
            done.add(table.lower())
            pending.remove(table)
    return ordered


def _affinity(declared: str) -> str:
    # SQLite's affinity rules (datatype3.html, section 3.1), in their order.
    if "INT" in declared:
        return "INTEGER"
    if any(word in declared for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in declared or not declared:
        return "BLOB"
    if any(word in declared for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def synthetic_value(table: str, column: ColumnSpec, n: int):
    declared = column.type
    if any(word in declared for word in ("BOOL",)):
        return n % 2
    if any(word in declared for word in ("DATE", "TIME")):
        return f"2024-01-{(n % 28) + 1:02d} 12:00:{n % 60:02d}"
    affinity = _affinity(declared)
    if affinity == "INTEGER":
        return 7000 + n
    if affinity == "REAL":
        return 7000.5 + n
    if affinity == "NUMERIC":
        return 7000 + n
    if affinity == "BLOB" and declared:
        return bytes([n % 256, 0x6D, 0x77])
    return f"mw {table}.{column.name} #{n}"


def _parent_values(conn: sqlite3.Connection, parent: str, column: Optional[str]) -> List:
    target = q(column) if column else "rowid"
    try:
        return [r[0] for r in conn.execute(f"SELECT {target} FROM {q(parent)} WHERE {target} IS NOT NULL LIMIT 50")]
    except sqlite3.Error:
        return []


def _is_rowid_alias(conn: sqlite3.Connection, table: str, columns: Sequence[ColumnSpec]) -> Optional[str]:
    pks = [c for c in columns if c.pk]
    if len(pks) == 1 and pks[0].type == "INTEGER":
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
        if sql and "WITHOUT ROWID" not in (sql[0] or "").upper():
            return pks[0].name
    return None


def seed_rows(conn: sqlite3.Connection, tables: Iterable[str], per_table: int = 3, *, start: int = 1) -> SeedReport:
    """Insert `per_table` rows into each table (outside any transaction the
    caller holds open, one INSERT each). Values differ for each `start`."""
    report = SeedReport()
    for table in dependency_order(conn, tables):
        columns = columns_of(conn, table)
        fks = foreign_keys_of(conn, table)
        alias = _is_rowid_alias(conn, table, columns)
        inserted: List[tuple] = []
        last_error = "no attempt"
        for i in range(per_table):
            n = start * 100 + i
            row = _try_insert(conn, table, columns, fks, alias, n)
            if isinstance(row, str):
                last_error = row
                continue
            inserted.append(row)
        names = tuple(c.name for c in columns if not c.generated)
        if inserted:
            report.inserted[table] = RowSet(table, names, tuple(inserted))
        else:
            report.skipped[table] = f"no synthetic row fits ({last_error})"
    return report


def _try_insert(conn, table, columns, fks, alias, n):
    """Insert one row, trying simpler variants on constraint errors. Returns
    the inserted row (all non-generated columns, as stored) or the error."""
    fk_values: Dict[str, object] = {}
    for name, (parent, parent_col) in fks.items():
        values = _parent_values(conn, parent, parent_col)
        fk_values[name] = values[n % len(values)] if values else None
    writable = [c for c in columns if not c.generated]
    variants = []
    full = {c.name: fk_values.get(c.name, synthetic_value(table, c, n)) for c in writable if c.name != alias}
    variants.append(full)
    variants.append({k: v for k, v in full.items() if not _col(columns, k).has_default or k in fk_values})
    variants.append({k: (v if (_col(columns, k).notnull or k in fk_values) else None) for k, v in full.items() if not _col(columns, k).has_default})
    variants.append({k: (0 if v is not None and not isinstance(v, str) else v) for k, v in variants[-1].items()})
    error = "no attempt"
    tries = 0
    while variants and tries < 40:
        values = variants.pop(0)
        tries += 1
        if any(v is None for k, v in values.items() if k in fk_values and _col(columns, k).notnull):
            error = "a NOT NULL foreign key has no parent row to point to"
            continue
        cols = list(values)
        sql = (f"INSERT INTO {q(table)} ({', '.join(map(q, cols))}) VALUES ({', '.join('?' for _ in cols)})"
               if cols else f"INSERT INTO {q(table)} DEFAULT VALUES")
        try:
            cursor = conn.execute(sql, [values[c] for c in cols])
        except sqlite3.Error as exc:
            error = str(exc)
            # SQLite names the failing CHECK expression: try its literals in
            # the columns it mentions (kind IN ('movie', 'series') -> 'movie').
            if error.startswith("CHECK constraint failed: ") and tries < 4:
                variants[:0] = _check_variants(values, error[len("CHECK constraint failed: "):])
            continue
        rowid = cursor.lastrowid
        names = [c.name for c in writable]
        try:
            stored = conn.execute(f"SELECT {', '.join(map(q, names))} FROM {q(table)} WHERE rowid = ?", (rowid,)).fetchone()
        except sqlite3.Error:  # WITHOUT ROWID
            stored = tuple(values.get(name) for name in names)
        return tuple(stored) if stored is not None else tuple(values.get(name) for name in names)
    return error


def _check_variants(values: Dict[str, object], expression: str) -> List[Dict[str, object]]:
    lower = {k.lower(): k for k in values}
    mentioned, literals = [], []
    for kind, text in tokens(expression):
        if kind in ("word", "ident") and unquote_identifier(text).lower() in lower:
            mentioned.append(lower[unquote_identifier(text).lower()])
        elif kind == "string" and not text[:1] in "xX":
            literals.append(text[1:-1].replace("''", "'"))
        elif kind == "number":
            try:
                literals.append(int(text, 0) if "." not in text and "e" not in text.lower() else float(text))
            except ValueError:
                pass
    return [{**values, column: literal} for column in dict.fromkeys(mentioned) for literal in literals[:8]]


def _col(columns: Sequence[ColumnSpec], name: str) -> ColumnSpec:
    return next(c for c in columns if c.name == name)


def missing_rows(conn: sqlite3.Connection, rowset: RowSet) -> Tuple[int, List[str]]:
    """(rows not found, columns no longer there). A row counts as found when
    some row holds the same values in every column that still exists."""
    try:
        current = {c.name.lower(): c.name for c in columns_of(conn, rowset.table)}
    except sqlite3.Error:
        current = {}
    if not current:
        return len(rowset.rows), list(rowset.columns)
    kept = [(i, current[c.lower()]) for i, c in enumerate(rowset.columns) if c.lower() in current]
    gone = [c for c in rowset.columns if c.lower() not in current]
    if not kept:
        count = conn.execute(f"SELECT count(*) FROM {q(rowset.table)}").fetchone()[0]
        return max(0, len(rowset.rows) - count), gone
    where = " AND ".join(f"{q(name)} IS ?" for _, name in kept)
    sql = f"SELECT count(*) FROM {q(rowset.table)} WHERE {where}"
    missing = 0
    for row in rowset.rows:
        if conn.execute(sql, [row[i] for i, _ in kept]).fetchone()[0] == 0:
            missing += 1
    return missing, gone
