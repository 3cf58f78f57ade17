"""Synthetic rows for any schema, and checking that rows survived.

Rows are generated from each column's declared type, NOT NULL, default and
foreign keys (parents first), and SQLite decides whether they fit:
- a column the migrations read as JSON (jsonuse), or named *_json, or typed
  JSON, holds JSON of the shape the SQL reads;
- a foreign key holds the key of an existing parent row (all its columns
  from the same row) or NULL, and a row SQLite's own comparison finds no
  parent for is taken back, whether or not enforcement is on; a column the
  migrations use as one without declaring it yet (keyuse: a later version
  adds the REFERENCES, or a migration compares it with a parent's key)
  gets an existing parent row's key too, or NULL;
- each CHECK is evaluated by SQLite on candidate values (its literals and
  what they suggest, generic ones) and a value that passes is used;
- a row that still breaks a constraint is retried with other values
  (defaults, NULLs), and a table that takes no row at all is reported as
  skipped with SQLite's reason instead of failing the caller.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple

from .jsonuse import JsonColumns, JsonShape, sample_json

KeyColumns = Dict[Tuple[str, Tuple[str, ...]], Tuple[str, Tuple[str, ...]]]  # keyuse.KeyColumns
from .sqltext import quote_identifier as q
from .sqltext import token_spans, tokens, unquote_identifier


class ColumnSpec(NamedTuple):
    name: str
    type: str
    notnull: bool
    has_default: bool
    pk: int
    generated: bool


class RowSet(NamedTuple):
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


def dependency_order(conn: sqlite3.Connection, tables: Iterable[str], key_columns: Optional[KeyColumns] = None
                     ) -> List[str]:
    """Parents before children (self-references and cycles tolerated);
    `key_columns` (keyuse) adds the parents of columns that are no foreign
    key yet."""
    pending = list(dict.fromkeys(tables))
    if len(pending) < 2:
        return pending
    lower = {t.lower() for t in pending}
    learned: Dict[str, Set[str]] = {}
    for (child, _cols), (parent, _to) in (key_columns or {}).items():
        learned.setdefault(child, set()).add(parent)
    parents = {t: ({p.lower() for p, _ in foreign_keys_of(conn, t).values()} | learned.get(t.lower(), set()))
               & lower - {t.lower()} for t in pending}
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


def _is_rowid_alias(conn: sqlite3.Connection, table: str, columns: Sequence[ColumnSpec]) -> Optional[str]:
    pks = [c for c in columns if c.pk]
    if len(pks) == 1 and pks[0].type == "INTEGER":
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
        if sql and "WITHOUT ROWID" not in (sql[0] or "").upper():
            return pks[0].name
    return None


def seed_rows(conn: sqlite3.Connection, tables: Iterable[str], per_table: int = 3, *, start: int = 1,
              json_columns: Optional[JsonColumns] = None, key_columns: Optional[KeyColumns] = None) -> SeedReport:
    """Insert `per_table` rows into each table (outside any transaction the
    caller holds open, one INSERT each). Values differ for each `start`.
    `json_columns` (jsonuse.learn_json_columns) says which columns the
    migrations read as JSON and in what shape; those get such JSON.
    `key_columns` (keyuse) says which columns, no foreign key yet, hold a
    parent table's key; those get the key of an existing parent row (or
    NULL), as declared foreign keys do."""
    report = SeedReport()
    for table in dependency_order(conn, tables, key_columns):
        columns = columns_of(conn, table)
        groups = foreign_key_groups(conn, table)
        if key_columns:
            groups += learned_key_groups(conn, table, columns, groups, key_columns)
        alias = _is_rowid_alias(conn, table, columns)
        checks = table_checks(conn, table, columns)
        shapes = {c: shape for (t, c), shape in (json_columns or {}).items() if t == table.lower()}
        # Parent keys, read once per table (again per row for a table that
        # references itself: its own new rows become parents).
        parents = {group.id: group.parent_rows(conn) for group in groups if group.parent.lower() != table.lower()}
        inserted: List[tuple] = []
        last_error = "no attempt"
        for i in range(per_table):
            n = start * 100 + i
            row = _try_insert(conn, _Target(table, columns, groups, alias, checks, shapes), n, parents)
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


class ForeignKeyGroup(NamedTuple):
    """One foreign key (several columns for a composite one)."""

    id: int
    parent: str
    columns: Tuple[str, ...]  # in the child
    parent_columns: Tuple[str, ...]  # in the parent, in the same order
    # False: no foreign key (yet); the migrations use the columns as one
    # (keyuse). Their values come from parent rows when there are some, and
    # no row is taken back for them.
    declared: bool = True

    def parent_rows(self, conn: sqlite3.Connection) -> List[tuple]:
        """Keys of existing parent rows (at most 50): a child pointing at one
        of them is no violation, whatever the enforcement."""
        if not self.parent_columns:
            return []
        cols = ", ".join(map(q, self.parent_columns))
        where = " AND ".join(f"{q(c)} IS NOT NULL" for c in self.parent_columns)
        try:
            return [tuple(r) for r in conn.execute(f"SELECT {cols} FROM {q(self.parent)} WHERE {where} LIMIT 50")]
        except sqlite3.Error:
            return []

    def exists(self, conn: sqlite3.Connection, values: Sequence) -> bool:
        """Whether a parent row matches `values` as SQLite's foreign-key check
        compares them (the parent columns' affinity and collation)."""
        where = " AND ".join(f"{q(c)} = ?" for c in self.parent_columns)
        try:
            return conn.execute(f"SELECT 1 FROM {q(self.parent)} WHERE {where} LIMIT 1", list(values)).fetchone() is not None
        except sqlite3.Error:
            return False


def foreign_key_groups(conn: sqlite3.Connection, table: str) -> List[ForeignKeyGroup]:
    rows = conn.execute('SELECT id, seq, "table", "from", "to" FROM pragma_foreign_key_list(?)', (table,)).fetchall()
    by_id: Dict[int, List[tuple]] = {}
    for row in rows:
        by_id.setdefault(row[0], []).append(row)
    out = []
    for fk_id, members in sorted(by_id.items()):
        members.sort(key=lambda r: r[1])
        parent = members[0][2]
        targets: List[Optional[str]] = [r[4] for r in members]
        if any(t is None for t in targets):
            # REFERENCES parent without columns: the parent's primary key.
            try:
                pk = [r[0] for r in sorted((r for r in conn.execute('SELECT name, pk FROM pragma_table_info(?)', (parent,))
                                            if r[1]), key=lambda r: r[1])]
            except sqlite3.Error:
                pk = []
            targets = pk if len(pk) == len(members) else []
        out.append(ForeignKeyGroup(fk_id, parent, tuple(r[3] for r in members), tuple(t for t in targets if t)))
    return out


def learned_key_groups(conn: sqlite3.Connection, table: str, columns: Sequence[ColumnSpec],
                       declared: Sequence[ForeignKeyGroup], key_columns: KeyColumns) -> List[ForeignKeyGroup]:
    """The key columns keyuse learned for `table` that no declared foreign
    key covers, as undeclared groups pointing at parents that exist now."""
    by_lower = {c.name.lower(): c.name for c in columns if not c.generated}
    taken = {c.lower() for group in declared for c in group.columns}
    out: List[ForeignKeyGroup] = []
    lower = table.lower()
    for (child, cols), (parent, targets) in sorted(key_columns.items()):
        if child != lower or any(c not in by_lower or c in taken for c in cols):
            continue
        try:
            row = conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE",
                               (parent,)).fetchone()
            if row is None:
                continue
            info = conn.execute("SELECT name, pk FROM pragma_table_info(?)", (row[0],)).fetchall()
        except sqlite3.Error:
            continue
        parent_cols = {name.lower(): name for name, _pk in info}
        if targets:
            if any(t not in parent_cols for t in targets):
                continue
            to = tuple(parent_cols[t] for t in targets)
        else:
            to = tuple(name for name, pk in sorted((r for r in info if r[1]), key=lambda r: r[1]))
        if len(to) != len(cols):
            continue
        out.append(ForeignKeyGroup(-1 - len(out), row[0], tuple(by_lower[c] for c in cols), to, declared=False))
        taken.update(cols)
    return out


class _Target(NamedTuple):
    table: str
    columns: List[ColumnSpec]
    groups: List[ForeignKeyGroup]
    alias: Optional[str]
    checks: List["Check"]
    shapes: Dict[str, JsonShape]


def _base_value(target: _Target, column: ColumnSpec, n: int):
    shape = target.shapes.get(column.name.lower())
    if shape is not None or column.name.lower().endswith("_json") or "JSON" in column.type:
        return sample_json(shape, n)
    return synthetic_value(target.table, column, n)


def _try_insert(conn: sqlite3.Connection, target: _Target, n: int, parents: Optional[Dict[int, List[tuple]]] = None):
    """Insert one row, trying simpler variants on constraint errors. Returns
    the inserted row (all non-generated columns, as stored) or the error.
    Foreign-key columns only ever hold a parent's key or NULL, and the row is
    taken back if no parent matches it (enforcement may be off)."""
    table, columns = target.table, target.columns
    fk_values: Dict[str, object] = {}
    for group in target.groups:
        rows = parents[group.id] if parents is not None and group.id in parents else group.parent_rows(conn)
        if not rows and not group.declared:
            # No parent row to point at yet: NULL where allowed, else the
            # column keeps its synthetic value.
            if any(_col(columns, name).notnull for name in group.columns):
                continue
        chosen = rows[n % len(rows)] if rows else (None,) * len(group.columns)
        for name, value in zip(group.columns, chosen):
            fk_values[name] = value
    writable = [c for c in columns if not c.generated]
    names = [c.name for c in writable]
    full = {c.name: fk_values.get(c.name, _base_value(target, c, n)) for c in writable if c.name != target.alias}
    plain = [full]
    plain.append({k: v for k, v in full.items() if not _col(columns, k).has_default or k in fk_values})
    plain.append({k: (v if (_col(columns, k).notnull or k in fk_values) else None)
                  for k, v in full.items() if not _col(columns, k).has_default})
    plain.append({k: (0 if v is not None and not isinstance(v, str) and k not in fk_values else v)
                  for k, v in plain[-1].items()})
    # Nullable foreign keys left NULL: for when the parent's key does not fit.
    plain.append({k: (None if k in fk_values and not _col(columns, k).notnull else v) for k, v in full.items()})
    # (values, fit them to the CHECKs first); variants made from SQLite's
    # CHECK error message are tried as they are.
    variants = [(v, bool(target.checks)) for v in plain]
    error = "no attempt"
    tries = 0
    while variants and tries < 40:
        values, fit = variants.pop(0)
        tries += 1
        if any(v is None for k, v in values.items() if k in fk_values and _col(columns, k).notnull):
            error = "a NOT NULL foreign key has no parent row to point to"
            continue
        if fit:
            values = fit_checks(conn, target.checks, values, fixed=set(fk_values), n=n, columns=columns)
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
                variants[:0] = [(v, False) for v in
                                _check_variants(values, error[len("CHECK constraint failed: "):], set(fk_values))]
            continue
        # Read the row back (not RETURNING): AFTER INSERT triggers may have
        # changed it, and the stored row is what must survive.
        rowid = cursor.lastrowid
        try:
            stored = conn.execute(f"SELECT {', '.join(map(q, names))} FROM {q(table)} WHERE rowid = ?", (rowid,)).fetchone()
            by_rowid = True
        except sqlite3.Error:  # WITHOUT ROWID
            stored, by_rowid = None, False
        row = tuple(stored) if stored is not None else tuple(values.get(name) for name in names)
        orphan = _orphan(conn, [g for g in target.groups if g.declared], dict(zip(names, row)))
        if orphan is not None:
            _take_back(conn, table, names, row, rowid if by_rowid else None, columns)
            error = f"no parent row of {orphan} matches"
            continue
        return row
    return error


def _orphan(conn: sqlite3.Connection, groups: Sequence[ForeignKeyGroup], row: Dict[str, object]) -> Optional[str]:
    """The parent table a stored row points at without a match, if any."""
    for group in groups:
        values = [row.get(c) for c in group.columns]
        if any(v is None for v in values) or not group.parent_columns:
            continue  # a NULL in a foreign key is never a violation
        if not group.exists(conn, values):
            return group.parent
    return None


def _take_back(conn, table: str, names: List[str], row: tuple, rowid: Optional[int], columns) -> None:
    if rowid is not None:
        conn.execute(f"DELETE FROM {q(table)} WHERE rowid = ?", (rowid,))
        return
    key = [c.name for c in columns if c.pk] or names
    where = " AND ".join(f"{q(c)} IS ?" for c in key)
    conn.execute(f"DELETE FROM {q(table)} WHERE {where}", [row[names.index(c)] for c in key])


def _check_variants(values: Dict[str, object], expression: str, fixed: Set[str] = frozenset()) -> List[Dict[str, object]]:
    lower = {k.lower(): k for k in values if k not in fixed}
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


# CHECK constraints ------------------------------------------------------------------


class Check(NamedTuple):
    """One CHECK of a table: its expression and the columns it mentions."""

    expression: str
    columns: Tuple[str, ...]
    literals: Tuple[object, ...]


def table_checks(conn: sqlite3.Connection, table: str, columns: Sequence[ColumnSpec]) -> List[Check]:
    """The CHECK expressions of `table`, cut from its stored CREATE TABLE at
    SQLite's token boundaries (tabledef); whether a value passes one is then
    asked of SQLite (`fit_checks`)."""
    row = conn.execute("SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    if not row or not row[0] or "check" not in row[0].lower():
        return []
    from .tabledef import TableDefError, parse_create_table

    try:
        definition = parse_create_table(row[0])
    except (TableDefError, IndexError, ValueError):
        return []
    texts = [clause.text for column in definition.columns for clause in column.clauses if clause.kind == "check"]
    texts += [constraint.text for constraint in definition.constraints if constraint.kind == "check"]
    by_lower = {c.name.lower(): c.name for c in columns if not c.generated}
    out = []
    for text in texts:
        expression = _check_expression(text)
        if expression is None:
            continue
        mentioned, literals = [], []
        for kind, token in tokens(expression):
            if kind in ("word", "ident") and unquote_identifier(token).lower() in by_lower:
                mentioned.append(by_lower[unquote_identifier(token).lower()])
            literal = _token_literal(kind, token)
            if literal is not None:
                literals.append(literal)
        out.append(Check(expression, tuple(dict.fromkeys(mentioned)), tuple(literals)))
    return out


def _check_expression(text: str) -> Optional[str]:
    """The expression inside `[CONSTRAINT name] CHECK ( ... )`."""
    depth, start = 0, None
    seen_check = False
    for kind, token, begin, end in token_spans(text):
        if not seen_check:
            seen_check = kind == "word" and token.upper() == "CHECK"
            continue
        if token == "(":
            depth += 1
            if depth == 1:
                start = end
        elif token == ")":
            depth -= 1
            if depth == 0 and start is not None:
                return text[start:begin]
    return None


def _token_literal(kind: str, text: str):
    if kind == "string" and not text[:1] in "xX":
        return text[1:-1].replace("''", "'")
    if kind == "number":
        try:
            return int(text, 0) if "." not in text and "e" not in text.lower() else float(text)
        except ValueError:
            return None
    return None


_GENERIC_TEXT = ("a", "mw", "abc", "x@example.com", "2024-01-01", "2024-01-01 12:00:00", "{}", "[]", "A", "1", "",
                 "abcdefghij")
_GENERIC_NUMBER = (1, 0, 2, -1, 10, 100, 1000, 0.5)


def _pattern_examples(text: str) -> List[str]:
    """Strings a LIKE or GLOB pattern matches: wildcards made concrete."""
    out = []
    like = text.replace("%", "").replace("_", "a")
    glob, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "*":
            i += 1
            continue
        if ch == "?":
            glob.append("a")
        elif ch == "[":
            end = text.find("]", i + 2)
            if end < 0:
                break
            body = text[i + 1:end]
            glob.append("~" if body.startswith("^") else body[0])  # [abc] and [a-z] match 'a'; [^...] some other
            i = end + 1
            continue
        else:
            glob.append(ch)
        i += 1
    for candidate in (like, "".join(glob)):
        if candidate not in out and candidate != text:
            out.append(candidate)
    return out


def _candidates(check: Check, column: ColumnSpec, values: Dict[str, object], n: int) -> List[object]:
    """Values to try in `column` for `check`: its literals (and what they
    suggest: neighbours of numbers, strings a pattern matches), the other
    mentioned columns' values and their neighbours, then generic ones."""
    out: List[object] = []
    for literal in check.literals:
        out.append(literal)
        if isinstance(literal, (int, float)):
            out.extend((literal + 1, literal - 1))
        elif isinstance(literal, str):
            out.extend(_pattern_examples(literal))
    for other in check.columns:
        value = values.get(other)
        if other != column.name and value is not None:
            if isinstance(value, (int, float)):
                out.extend((value + 1, value - 1, value))
            else:
                out.extend((str(value) + "z", str(value)))
    affinity = _affinity(column.type)
    generic = _GENERIC_NUMBER + _GENERIC_TEXT if affinity in ("INTEGER", "REAL", "NUMERIC") else _GENERIC_TEXT + _GENERIC_NUMBER
    out.extend(generic)
    seen, unique = set(), []
    for value in out:
        key = (type(value).__name__, value)
        if key not in seen:
            seen.add(key)
            unique.append(value)
    return unique


def _passes(conn: sqlite3.Connection, check: Check, values: Dict[str, object]) -> Optional[bool]:
    """Whether the row passes the CHECK, evaluated by SQLite on the values
    (NULL passes, as in a CHECK); None when SQLite cannot evaluate it here."""
    names = list(values)
    select = ", ".join(f"? AS {q(name)}" for name in names) or "NULL AS _mw"
    try:
        row = conn.execute(f"SELECT coalesce(NOT NOT ({check.expression}), 1) FROM (SELECT {select})",
                           [values[name] for name in names]).fetchone()
    except (sqlite3.Error, ValueError, OverflowError) as exc:
        # A name the values do not provide (a column left to its default, a
        # generated one): not decidable here. Any other error (malformed
        # JSON, say) is what the INSERT would meet: the value fails.
        return None if str(exc).startswith(("no such column", "no such function")) else False
    return bool(row[0])


def fit_checks(conn: sqlite3.Connection, checks: Sequence[Check], values: Dict[str, object], *, fixed: Set[str],
               n: int, columns: Sequence[ColumnSpec]) -> Dict[str, object]:
    """`values` changed, column by column, until every CHECK SQLite can
    evaluate passes (or nothing more helps). Columns in `fixed` (foreign
    keys) keep their values. Among the values that pass, row `n` takes the
    n-th, so rows differ (an IN list is used round robin)."""
    values = dict(values)
    spec = {c.name: c for c in columns}
    for _round in range(2 * len(checks) + 2):
        failing = [c for c in checks if _passes(conn, c, values) is False]
        if not failing:
            break
        check = failing[0]
        changed = False
        for name in check.columns:
            if name in fixed or name not in spec or name not in values:
                continue
            passing = [v for v in _candidates(check, spec[name], values, n)
                       if _passes(conn, check, {**values, name: v}) is True]
            if not passing:
                continue
            # Prefer a value that breaks no other CHECK.
            clean = [v for v in passing
                     if all(_passes(conn, c, {**values, name: v}) is not False for c in checks if c is not check)]
            choice = (clean or passing)[n % len(clean or passing)]
            values[name] = choice
            changed = True
            break
        if not changed:
            break
    return values


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


class FoundRows(NamedTuple):
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
