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
    if len(pending) < 2:
        return pending
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
        # Parent keys, read once per table (again per row for a table that
        # references itself: its own new rows become parents).
        parents = {name: _parent_values(conn, parent, column) for name, (parent, column) in fks.items()
                   if parent.lower() != table.lower()}
        inserted: List[tuple] = []
        last_error = "no attempt"
        for i in range(per_table):
            n = start * 100 + i
            row = _try_insert(conn, table, columns, fks, alias, n, parents)
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


def _try_insert(conn, table, columns, fks, alias, n, parents=None):
    """Insert one row, trying simpler variants on constraint errors. Returns
    the inserted row (all non-generated columns, as stored) or the error."""
    fk_values: Dict[str, object] = {}
    for name, (parent, parent_col) in fks.items():
        values = parents[name] if parents is not None and name in parents else _parent_values(conn, parent, parent_col)
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
        names = [c.name for c in writable]
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
        # Read the row back (not RETURNING): AFTER INSERT triggers may have
        # changed it, and the stored row is what must survive.
        rowid = cursor.lastrowid
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


SMALL_TABLE_ROWS = 1000


def _matching_rows_small(conn: sqlite3.Connection, table: str, columns: Sequence[str], compared: Sequence[str],
                         keys: List[tuple]) -> Dict[tuple, List[tuple]]:
    """Like _matching_rows for a table of at most SMALL_TABLE_ROWS rows: one
    read of the whole table, compared in Python. Values equal in Python are
    equal to SQLite too; keys found unequal here (a value whose type changed
    with the column's affinity, say) are left to _matching_rows."""
    stored = conn.execute(f"SELECT {', '.join(map(q, columns))} FROM {q(table)} LIMIT {SMALL_TABLE_ROWS + 1}").fetchall()
    if len(stored) > SMALL_TABLE_ROWS:
        return {}
    positions = [columns.index(name) for name in compared]
    wanted = set(keys)
    out: Dict[tuple, List[tuple]] = {}
    for row in stored:
        key = tuple(row[i] for i in positions)
        if key in wanted:
            out.setdefault(key, []).append(tuple(row))
    return out


def _matching_rows(conn: sqlite3.Connection, table: str, columns: Sequence[str], compared: Sequence[str],
                   keys: List[tuple]) -> Dict[tuple, List[tuple]]:
    """For each key (values of `compared`), the rows of `table` that hold
    them, read as `columns`. SQLite compares (`IS`, with the columns'
    affinity), in one query per few hundred keys."""
    select = ", ".join(map(q, columns))
    where = " AND ".join(f"{q(name)} IS ?" for name in compared) or "1"
    per_query = max(1, min(400, 900 // max(1, len(compared))))
    out: Dict[tuple, List[tuple]] = {}
    for start in range(0, len(keys), per_query):
        chunk = keys[start:start + per_query]
        sql = " UNION ALL ".join(f"SELECT {i}, {select} FROM {q(table)} WHERE {where}" for i in range(len(chunk)))
        for row in conn.execute(sql, [value for key in chunk for value in key]):
            out.setdefault(chunk[row[0]], []).append(tuple(row[1:]))
    return out


def missing_rows(conn: sqlite3.Connection, rowset: RowSet) -> Tuple[int, List[str]]:
    """(rows not found, columns no longer there). A row counts as found when
    some row holds the same values in every column that still exists."""
    found = find_rows(conn, rowset)
    return len(found.missing), found.gone_columns


@dataclass(frozen=True)
class FoundRows:
    """Where the rows of a RowSet are now."""

    current: RowSet  # the rows still there, with every current column's value
    missing: Tuple[tuple, ...]  # rows of the old set not found (old values)
    gone_columns: List[str]  # columns of the old set the table no longer has
    table_exists: bool = True
    # Rows found only by their key, with other values (old values); they are
    # in `current` with their new values.
    changed: Tuple[tuple, ...] = ()


def find_rows(conn: sqlite3.Connection, rowset: RowSet, columns: Optional[Sequence[str]] = None,
              key: Sequence[str] = ()) -> FoundRows:
    """Look for each row of `rowset` again, by its values in the columns that
    still exist, and read it back with the table's current columns (so the
    result can be looked for again after the next change). `columns`, the
    table's current non-generated columns, saves reading them when known.
    `key`, columns that identify a row (the primary key), finds rows whose
    other values changed: they are reported in `changed`, not `missing`."""
    if columns is None:
        try:
            columns = [c.name for c in columns_of(conn, rowset.table) if not c.generated]
        except sqlite3.Error:
            columns = []
    if not columns:
        return FoundRows(RowSet(rowset.table, (), ()), rowset.rows, list(rowset.columns), table_exists=False)
    current = {c.lower(): c for c in columns}
    names = tuple(columns)
    kept = [(i, current[c.lower()]) for i, c in enumerate(rowset.columns) if c.lower() in current]
    gone = [c for c in rowset.columns if c.lower() not in current]
    keys = list(dict.fromkeys(tuple(row[i] for i, _ in kept) for row in rowset.rows))
    matches = _matching_rows_small(conn, rowset.table, names, [name for _, name in kept], keys)
    unmatched = [key for key in keys if key not in matches]
    if unmatched:
        matches.update(_matching_rows(conn, rowset.table, names, [name for _, name in kept], unmatched))
    found: List[tuple] = []
    missing: List[tuple] = []
    seen: Dict[tuple, int] = {}
    for row in rowset.rows:
        values = tuple(row[i] for i, _ in kept)
        # Identical rows must be found as often as they were inserted.
        occurrence = seen.get(values, 0) + 1
        seen[values] = occurrence
        candidates = matches.get(values, [])
        if len(candidates) >= occurrence:
            found.append(candidates[occurrence - 1])
        else:
            missing.append(row)
    changed: List[tuple] = []
    key_positions = [i for name in key for i, c in enumerate(rowset.columns) if c.lower() == name.lower()]
    if missing and key and len(key_positions) == len(key) and all(name.lower() in current for name in key):
        by_key = _matching_rows(conn, rowset.table, names, [current[name.lower()] for name in key],
                                list(dict.fromkeys(tuple(row[i] for i in key_positions) for row in missing)))
        still_missing = []
        for row in missing:
            hits = by_key.get(tuple(row[i] for i in key_positions), [])
            if hits and None not in (row[i] for i in key_positions):
                changed.append(row)
                found.append(hits[0])
            else:
                still_missing.append(row)
        missing = still_missing
    return FoundRows(RowSet(rowset.table, names, tuple(found)), tuple(missing), gone, changed=tuple(changed))
