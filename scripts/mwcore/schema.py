"""Schema snapshot and diff, read from SQLite itself.

A snapshot holds what `sqlite_master` and the table/index/foreign-key PRAGMAs
say about every user object (golang-migrate's own table and SQLite's
internal `sqlite_*` tables excluded). Two snapshots are equal when the
schemas are the same; stored SQL is compared in canonical form
(`sqltext.normalize_sql`) so spacing and quoting do not count, real
differences do. `diff` explains the differences in readable lines.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Set, Tuple

from .sqltext import normalize_sql, token_spans


@dataclass(frozen=True)
class Column:
    name: str
    type: str = field(compare=False)  # as declared; compared as `type_key`
    notnull: bool
    default: Optional[str] = field(compare=False)  # as declared; compared as `default_key`
    pk: int  # position in the primary key, 0 when not part of it
    hidden: int = 0  # 2/3: generated column (VIRTUAL/STORED)
    # The type and default in canonical form: `INTEGER` and `integer`,
    # `VARCHAR(10)` and `varchar (10)`, `CURRENT_TIMESTAMP` and
    # `current_timestamp` are the same to SQLite, and so the same here.
    type_key: str = field(init=False, repr=False, default="")
    default_key: Optional[str] = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type_key", _canonical_part(self.type))
        object.__setattr__(self, "default_key", None if self.default is None else _canonical_part(self.default))

    def describe(self) -> str:
        parts = [self.type or "(no type)"]
        if self.notnull:
            parts.append("NOT NULL")
        if self.default is not None:
            parts.append(f"DEFAULT {self.default}")
        if self.pk:
            parts.append("PRIMARY KEY" if self.pk == 1 else f"PRIMARY KEY part {self.pk}")
        if self.hidden in (2, 3):
            parts.append("GENERATED " + ("VIRTUAL" if self.hidden == 2 else "STORED"))
        return " ".join(parts)


@dataclass(frozen=True)
class ForeignKey:
    columns: Tuple[str, ...]
    table: str
    to: Tuple[Optional[str], ...]
    on_update: str
    on_delete: str

    def describe(self) -> str:
        to = ", ".join(c or "(primary key)" for c in self.to)
        text = f"({', '.join(self.columns)}) REFERENCES {self.table}({to})"
        if self.on_delete != "NO ACTION":
            text += f" ON DELETE {self.on_delete}"
        if self.on_update != "NO ACTION":
            text += f" ON UPDATE {self.on_update}"
        return text


@dataclass(frozen=True)
class Table:
    name: str
    sql: str  # canonical form
    columns: Tuple[Column, ...]
    foreign_keys: Tuple[ForeignKey, ...]

    def column(self, name: str) -> Optional[Column]:
        lower = name.lower()
        return next((c for c in self.columns if c.name.lower() == lower), None)


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    unique: bool
    origin: str  # "c" CREATE INDEX, "u" UNIQUE constraint, "pk" PRIMARY KEY
    partial: bool
    columns: Tuple[Optional[str], ...]  # None = an expression
    sql: Optional[str]  # canonical form; None for automatic indexes
    # Per key column, as pragma_index_xinfo tells: collating sequence and DESC.
    collations: Tuple[str, ...] = ()
    descending: Tuple[bool, ...] = ()

    def keys(self) -> List[str]:
        """Each key column as the index orders it: name (or the expression's
        text), COLLATE when not BINARY, DESC when descending."""
        items = _index_items(self.sql) if self.sql else []
        out = []
        for position, column in enumerate(self.columns):
            if column is not None:
                text = column
            elif position < len(items):
                text = items[position]
            else:
                text = "(expression)"
            collation = self.collations[position] if position < len(self.collations) else "BINARY"
            if collation and collation.upper() != "BINARY" and "collate" not in text.lower().split():
                text += f" COLLATE {collation}"
            if position < len(self.descending) and self.descending[position] and not text.lower().endswith(" desc"):
                text += " DESC"
            out.append(text)
        return out

    def where(self) -> Optional[str]:
        """The WHERE of a partial index, as stored (canonical form)."""
        return _index_where(self.sql) if self.sql and self.partial else None

    def describe(self) -> str:
        """The short form the generated Go tests rebuild from PRAGMAs
        (mwRequireIndex): keep the two in step."""
        cols = ", ".join(c if c is not None else "(expression)" for c in self.columns)
        kind = "UNIQUE INDEX" if self.unique else "INDEX"
        text = f"{kind} on {self.table}({cols})"
        return text + " WHERE ..." if self.partial else text


@dataclass(frozen=True)
class SchemaObject:
    """A trigger or a view: compared by its canonical SQL."""

    type: str
    name: str
    table: str
    sql: str


@dataclass(frozen=True)
class Snapshot:
    tables: Dict[str, Table] = field(default_factory=dict)
    indexes: Dict[str, Index] = field(default_factory=dict)
    triggers: Dict[str, SchemaObject] = field(default_factory=dict)
    views: Dict[str, SchemaObject] = field(default_factory=dict)

    def table(self, name: str) -> Optional[Table]:
        return self.tables.get(name.lower())

    def indexes_of(self, table: str) -> List[Index]:
        lower = table.lower()
        return [i for i in self.indexes.values() if i.table.lower() == lower]

    def triggers_of(self, table: str) -> List[SchemaObject]:
        lower = table.lower()
        return [t for t in self.triggers.values() if t.table.lower() == lower]

    def object_names(self) -> List[str]:
        return sorted(set(self.tables) | set(self.indexes) | set(self.triggers) | set(self.views))


_PARTS: Dict[str, str] = {}


def _canonical_part(text: str) -> str:
    found = _PARTS.get(text)
    if found is None:
        found = _PARTS[text] = normalize_sql(text) if len(_PARTS) < 10000 else normalize_sql(text)
    return found


def _is_internal(name: str, migrations_table: str) -> bool:
    lower = name.lower()
    return lower.startswith("sqlite_") or lower == migrations_table.lower()


def snapshot(
    conn: sqlite3.Connection,
    *,
    tables: Optional[Iterable[str]] = None,
    migrations_table: str = "schema_migrations",
    canonical: Optional[Dict[str, str]] = None,
) -> Snapshot:
    """Read the schema. `tables` limits it to those tables and the indexes,
    triggers and views attached to them (views by their own name).
    `canonical` caches normalize_sql results between calls."""
    wanted = None if tables is None else {t.lower() for t in tables}
    if wanted is None:
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM main.sqlite_master").fetchall()
    else:
        rows = _master_rows_of(conn, sorted(wanted))
    snap = Snapshot()
    _read_rows(conn, rows, wanted, migrations_table, {}, canonical if canonical is not None else {}, snap)
    return snap


def _read_rows(conn: sqlite3.Connection, rows: List[tuple], wanted: Optional[set], migrations_table: str,
               old: Dict[Tuple[str, str], object], canonical: Dict[str, str], into: Snapshot) -> None:
    """Add the objects of sqlite_master `rows` to `into`. An object in `old`
    (keyed by type and lower-cased name) whose stored SQL is unchanged is
    reused without reading its PRAGMAs: a table's columns and foreign keys,
    and an index's columns, follow from that SQL (ALTER TABLE rewrites it)."""
    reused_tables = set()
    # Tables first: an automatic index (no SQL) is reused only with its table.
    for obj_type, name, table_name, sql in sorted(rows, key=lambda r: r[0] != "table"):
        owner_name = table_name.lower()
        if (wanted is not None and owner_name not in wanted) or _is_internal(table_name, migrations_table):
            continue
        key = name.lower()
        text = _canonical(sql, canonical)
        previous = old.get((obj_type, key))
        if obj_type == "table":
            if isinstance(previous, Table) and previous.sql == text and previous.name == name:
                into.tables[key] = previous
                reused_tables.add(key)
            else:
                into.tables[key] = _read_table(conn, name, sql, text)
        elif obj_type == "index":
            same = isinstance(previous, Index) and previous.table == table_name and previous.name == name and (
                previous.sql == text if sql else owner_name in reused_tables)
            into.indexes[key] = previous if same else _read_index(conn, name, table_name, sql, text)  # type: ignore[assignment]
        elif obj_type in ("trigger", "view"):
            target = into.triggers if obj_type == "trigger" else into.views
            target[key] = SchemaObject(obj_type, name, table_name, text or "")


def _canonical(sql: Optional[str], cache: Dict[str, str]) -> Optional[str]:
    if sql is None:
        return None
    text = cache.get(sql)
    if text is None:
        text = cache[sql] = normalize_sql(sql)
    return text


def _master_rows_of(conn: sqlite3.Connection, names: List[str]) -> List[tuple]:
    """sqlite_master rows whose tbl_name is one of `names` (any case)."""
    rows: List[tuple] = []
    for start in range(0, len(names), 500):  # stay under old SQLITE_MAX_VARIABLE_NUMBER
        chunk = names[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows.extend(conn.execute(
            f"SELECT type, name, tbl_name, sql FROM main.sqlite_master WHERE tbl_name COLLATE NOCASE IN ({marks})", chunk
        ).fetchall())
    return rows


def owner(obj) -> str:
    """The lower-cased name of the table or view an entry belongs to (a view owns itself)."""
    return (obj.name if isinstance(obj, Table) or getattr(obj, "type", "") == "view" else obj.table).lower()


Owned = Dict[str, Set[Tuple[str, str]]]  # owner -> {(kind, lower-cased name)}


def owned_index(snap: Snapshot) -> Owned:
    """Which entries each table or view owns, to find them without a scan."""
    index: Owned = {}
    for kind, group in (("table", snap.tables), ("index", snap.indexes), ("trigger", snap.triggers), ("view", snap.views)):
        for key, obj in group.items():
            index.setdefault(owner(obj), set()).add((kind, key))
    return index


def _groups(snap: Snapshot) -> Dict[str, dict]:
    return {"table": snap.tables, "index": snap.indexes, "trigger": snap.triggers, "view": snap.views}


def restrict(snap: Snapshot, names: Iterable[str], owned: Optional[Owned] = None) -> Snapshot:
    """The part of `snap` owned by the given tables and views: the tables, the
    views, and the indexes and triggers attached to them. `owned` (the
    snapshot's owned_index) avoids a scan of every index and trigger."""
    wanted = {n.lower() for n in names}
    part = Snapshot()
    if not wanted:
        return part
    if owned is None:
        part.tables.update((k, snap.tables[k]) for k in wanted if k in snap.tables)
        part.views.update((k, snap.views[k]) for k in wanted if k in snap.views)
        part.indexes.update((k, v) for k, v in snap.indexes.items() if v.table.lower() in wanted)
        part.triggers.update((k, v) for k, v in snap.triggers.items() if v.table.lower() in wanted)
        return part
    source, target = _groups(snap), _groups(part)
    for name in wanted:
        for kind, key in owned.get(name, ()):
            target[kind][key] = source[kind][key]
    return part


def refresh(
    snap: Snapshot,
    conn: sqlite3.Connection,
    names: Iterable[str],
    *,
    migrations_table: str = "schema_migrations",
    canonical: Optional[Dict[str, str]] = None,
    owned: Optional[Owned] = None,
) -> Tuple[Snapshot, set]:
    """`snap` with the given tables and views (and their indexes and triggers)
    read again from the database: the snapshot after a change that touched
    only those objects, at the cost of reading only them (and of reading
    PRAGMAs only for objects whose stored SQL changed). Returns the new
    snapshot and the names whose part of the schema changed. `owned`, the
    owned_index of `snap`, is updated in place to index the result."""
    wanted = {n.lower() for n in names}
    if not wanted:
        return snap, set()
    before = restrict(snap, wanted, owned)
    merged = Snapshot(dict(snap.tables), dict(snap.indexes), dict(snap.triggers), dict(snap.views))
    old: Dict[Tuple[str, str], object] = {}
    for kind, group in _groups(before).items():
        target = _groups(merged)[kind]
        for key, obj in group.items():
            old[(kind, key)] = obj
            del target[key]
    fresh = Snapshot()
    _read_rows(conn, _master_rows_of(conn, sorted(wanted)), wanted, migrations_table, old,
               canonical if canonical is not None else {}, fresh)
    for kind, group in _groups(fresh).items():
        _groups(merged)[kind].update(group)
    old_parts = _entries_by_owner(before)
    new_parts = _entries_by_owner(fresh)
    if owned is not None:
        for name in wanted:
            owned.pop(name, None)
        for name, entries in owned_index(fresh).items():
            owned[name] = entries
    changed = {name for name in wanted if old_parts.get(name) != new_parts.get(name)}
    return merged, changed


def _entries_by_owner(snap: Snapshot) -> Dict[str, Dict[Tuple[str, str], object]]:
    # Dicts, not sets: comparing them checks identity first, so entries
    # reused unchanged cost nothing (hashing a Table walks all its columns).
    parts: Dict[str, Dict[Tuple[str, str], object]] = {}
    for kind, group in _groups(snap).items():
        for key, obj in group.items():
            parts.setdefault(owner(obj), {})[(kind, key)] = obj
    return parts


def _read_table(conn: sqlite3.Connection, name: str, sql: Optional[str], canonical: Optional[str] = None) -> Table:
    try:
        info = conn.execute("SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?)", (name,)).fetchall()
    except sqlite3.OperationalError:  # SQLite before 3.26 has no table_xinfo
        info = [row + (0,) for row in conn.execute("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)", (name,))]
    columns = tuple(Column(n, t or "", bool(nn), d, pk, hidden) for n, t, nn, d, pk, hidden in info if hidden != 1)
    groups: Dict[int, List[tuple]] = {}
    for row in conn.execute("SELECT id, seq, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?)", (name,)):
        groups.setdefault(row[0], []).append(row)
    fks = []
    for rows in groups.values():
        rows.sort(key=lambda r: r[1])
        fks.append(ForeignKey(tuple(r[3] for r in rows), rows[0][2], tuple(r[4] for r in rows), rows[0][5], rows[0][6]))
    fks.sort(key=lambda fk: (fk.columns, fk.table.lower()))
    return Table(name, canonical if canonical is not None else normalize_sql(sql or ""), columns, tuple(fks))


def _read_index(conn: sqlite3.Connection, name: str, table: str, sql: Optional[str], canonical: Optional[str] = None) -> Index:
    unique, origin, partial = 0, "c", 0
    for _seq, idx_name, idx_unique, idx_origin, idx_partial in conn.execute(
        "SELECT seq, name, \"unique\", origin, partial FROM pragma_index_list(?)", (table,)
    ):
        if idx_name.lower() == name.lower():
            unique, origin, partial = idx_unique, idx_origin, idx_partial
            break
    keys = conn.execute(
        "SELECT name, \"desc\", coll FROM pragma_index_xinfo(?) WHERE key ORDER BY seqno", (name,)
    ).fetchall()
    if sql and canonical is None:
        canonical = normalize_sql(sql)
    return Index(name, table, bool(unique), origin, bool(partial), tuple(k[0] for k in keys), canonical if sql else None,
                 tuple((k[2] or "BINARY").upper() for k in keys), tuple(bool(k[1]) for k in keys))


def index_parts(sql: str) -> Tuple[List[str], Optional[str]]:
    """The key items of a CREATE INDEX (text between its parentheses, split
    at top-level commas) and its WHERE text, for messages only: what differs
    is decided on the PRAGMA values and the canonical SQL."""
    spans = list(token_spans(sql))
    items: List[str] = []
    where: Optional[str] = None
    depth, start, opened = 0, None, False
    for index, (kind, text, begin, end) in enumerate(spans):
        if text == "(":
            depth += 1
            if depth == 1 and not opened:
                opened, start = True, end
                continue
        elif text == ")":
            depth -= 1
            if depth == 0 and start is not None:
                items.append(sql[start:begin].strip())
                start = None
                continue
        elif text == "," and depth == 1 and start is not None:
            items.append(sql[start:begin].strip())
            start = end
        elif depth == 0 and opened and kind == "word" and text.lower() == "where":
            where = sql[end:].strip()
            break
    return items, where


def _index_items(sql: str) -> List[str]:
    return index_parts(sql)[0]


def _index_where(sql: str) -> Optional[str]:
    return index_parts(sql)[1]


def index_changes(a: Index, b: Index) -> List[str]:
    """What differs between two definitions of an index, each part named:
    table, UNIQUE, the key columns or expressions, their collation and
    order, the partial-index WHERE; then any other difference of the SQL."""
    out = []
    if a.table.lower() != b.table.lower():
        out.append(f"on {a.table} -> on {b.table}")
    if a.unique != b.unique:
        out.append("UNIQUE -> not unique" if a.unique else "not unique -> UNIQUE")
    a_keys, b_keys = a.keys(), b.keys()
    a_names = [c.lower() if c is not None else None for c in a.columns]
    b_names = [c.lower() if c is not None else None for c in b.columns]
    if a_names != b_names or (None in a_names and _index_items(a.sql or "") != _index_items(b.sql or "")):
        out.append(f"keys ({', '.join(a_keys)}) -> ({', '.join(b_keys)})")
    else:
        a_coll = [c.upper() for c in a.collations]
        b_coll = [c.upper() for c in b.collations]
        if a_coll != b_coll:
            out.append(f"collation ({', '.join(a_keys)}) -> ({', '.join(b_keys)})")
        if a.descending != b.descending:
            out.append(f"order ({', '.join(a_keys)}) -> ({', '.join(b_keys)})")
    if a.partial != b.partial or a.where() != b.where():
        out.append(f"WHERE {a.where() or '(none)'} -> WHERE {b.where() or '(none)'}")
    if a.origin != b.origin:
        out.append(f"origin {a.origin} -> {b.origin}")
    if not out and a.sql != b.sql:
        out.append(text_change(a.sql or "(automatic index)", b.sql or "(automatic index)"))
    return out


# Diff ----------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One readable difference between two snapshots."""

    kind: str  # "table", "column", "index", "foreign key", "trigger", "view"
    name: str  # the object (for columns: table.column)
    change: str  # "missing", "unexpected" or "changed"
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}: {self.change}" + (f": {self.detail}" if self.detail else "")


def diff(expected: Snapshot, actual: Snapshot) -> List[Difference]:
    """Differences that turn `expected` into `actual`, most important first.

    "missing": in expected, not in actual; "unexpected": the reverse.
    """
    out: List[Difference] = []
    for key in sorted(set(expected.tables) | set(actual.tables)):
        out.extend(_diff_table(expected.tables.get(key), actual.tables.get(key)))
    for kind, mine, theirs in (("index", expected.indexes, actual.indexes),):
        for key in sorted(set(mine) | set(theirs)):
            a, b = mine.get(key), theirs.get(key)
            if a is None:
                out.append(Difference(kind, b.name, "unexpected", b.describe()))
            elif b is None:
                out.append(Difference(kind, a.name, "missing", a.describe()))
            else:
                changes = index_changes(a, b)
                if not changes and a != b:  # only the spelling of its name
                    changes = [f"named {a.name} -> {b.name}"]
                if changes:
                    out.append(Difference(kind, a.name, "changed", "; ".join(changes)))
    for kind, mine, theirs in (("trigger", expected.triggers, actual.triggers), ("view", expected.views, actual.views)):
        for key in sorted(set(mine) | set(theirs)):
            a, b = mine.get(key), theirs.get(key)
            if a is None:
                out.append(Difference(kind, b.name, "unexpected", f"on {b.table}"))
            elif b is None:
                out.append(Difference(kind, a.name, "missing", f"on {a.table}"))
            elif a.sql != b.sql:
                out.append(Difference(kind, a.name, "changed", text_change(a.sql, b.sql)))
    return out


def _diff_table(a: Optional[Table], b: Optional[Table]) -> List[Difference]:
    if a is None:
        assert b is not None
        return [Difference("table", b.name, "unexpected", f"{len(b.columns)} columns")]
    if b is None:
        return [Difference("table", a.name, "missing", f"{len(a.columns)} columns")]
    out: List[Difference] = []
    a_cols = {c.name.lower(): c for c in a.columns}
    b_cols = {c.name.lower(): c for c in b.columns}
    for col in a.columns:
        other = b_cols.get(col.name.lower())
        if other is None:
            out.append(Difference("column", f"{a.name}.{col.name}", "missing", col.describe()))
        elif other != col:
            out.append(Difference("column", f"{a.name}.{col.name}", "changed", f"{col.describe()} -> {other.describe()}"))
    for col in b.columns:
        if col.name.lower() not in a_cols:
            out.append(Difference("column", f"{a.name}.{col.name}", "unexpected", col.describe()))
    order_a = [c.name.lower() for c in a.columns if c.name.lower() in b_cols]
    order_b = [c.name.lower() for c in b.columns if c.name.lower() in a_cols]
    if order_a != order_b:
        out.append(Difference("table", a.name, "changed", f"column order ({', '.join(order_a)}) -> ({', '.join(order_b)})"))
    for fk in a.foreign_keys:
        if fk not in b.foreign_keys:
            out.append(Difference("foreign key", a.name, "missing", fk.describe()))
    for fk in b.foreign_keys:
        if fk not in a.foreign_keys:
            out.append(Difference("foreign key", a.name, "unexpected", fk.describe()))
    if a.sql != b.sql:
        options_a, options_b = _table_options(a.sql), _table_options(b.sql)
        if options_a != options_b:
            out.append(Difference("table", a.name, "changed", f"{options_a or '(no options)'} -> {options_b or '(no options)'}"))
        elif not out:
            out.extend(_definition_changes(a, b))
    return out


def _table_options(sql: str) -> str:
    """What follows the column list of a canonical CREATE TABLE (WITHOUT ROWID, STRICT)."""
    tail = sql.rsplit(")", 1)[-1].strip() if ")" in sql else ""
    return tail


def _definition_changes(a: Table, b: Table) -> List[Difference]:
    """What differs between two CREATE TABLE texts whose columns and foreign
    keys the PRAGMAs find equal (a CHECK, COLLATE, a UNIQUE or PRIMARY KEY
    constraint, AUTOINCREMENT, a generated column's expression, WITHOUT
    ROWID): each column or constraint that differs, named; the texts
    themselves only when they cannot be cut into parts."""
    from .tabledef import TableDefError, parse_create_table

    try:
        old, new = parse_create_table(a.sql), parse_create_table(b.sql)
    except (TableDefError, IndexError, ValueError):
        return [Difference("table", a.name, "changed", text_change(a.sql, b.sql))]
    out: List[Difference] = []
    new_columns = {c.name.lower(): c for c in new.columns}
    for column in old.columns:
        other = new_columns.get(column.name.lower())
        if other is None:
            continue
        kinds = list(dict.fromkeys([c.kind for c in column.clauses] + [c.kind for c in other.clauses]))
        changes = []
        for kind in kinds:
            mine = " ".join(c.text for c in column.clauses if c.kind == kind)
            theirs = " ".join(c.text for c in other.clauses if c.kind == kind)
            if mine != theirs:
                changes.append(f"{mine or '(no ' + _KIND_WORD.get(kind, kind) + ')'} -> "
                               f"{theirs or '(no ' + _KIND_WORD.get(kind, kind) + ')'}")
        if not changes and column.type_text != other.type_text:
            changes.append(f"type {column.type_text or '(none)'} -> {other.type_text or '(none)'}")
        if changes:
            out.append(Difference("column", f"{a.name}.{column.name}", "changed", "; ".join(changes)))
    gone = [c for c in old.constraints if c.text not in [d.text for d in new.constraints]]
    added = [c for c in new.constraints if c.text not in [d.text for d in old.constraints]]
    for constraint in gone:
        # One constraint of a kind replaced by one of the same kind: a change.
        same = [c for c in added if c.kind == constraint.kind]
        if len(same) == 1 and sum(1 for c in gone if c.kind == constraint.kind) == 1:
            added.remove(same[0])
            out.append(Difference("constraint", a.name, "changed", f"{constraint.text} -> {same[0].text}"))
        else:
            out.append(Difference("constraint", a.name, "missing", constraint.text))
    for constraint in added:
        out.append(Difference("constraint", a.name, "unexpected", constraint.text))
    return out or [Difference("table", a.name, "changed", text_change(a.sql, b.sql))]


_KIND_WORD = {"primary": "primary key", "notnull": "not null", "null": "null", "unique": "unique", "check": "check",
              "default": "default", "collate": "collate", "references": "references", "generated": "generated"}


def text_change(a: str, b: str, context: int = 3, limit: int = 120) -> str:
    """Where two canonical SQL texts differ: the differing tokens with a few
    on each side, instead of both statements whole."""
    x, y = a.split(" "), b.split(" ")
    start = 0
    while start < len(x) and start < len(y) and x[start] == y[start]:
        start += 1
    end = 0
    while end < len(x) - start and end < len(y) - start and x[-1 - end] == y[-1 - end]:
        end += 1

    def window(tokens: List[str]) -> str:
        middle = " ".join(tokens[start:len(tokens) - end]) or "(nothing)"
        if len(middle) > limit:
            middle = middle[:limit - 3] + "..."
        before = tokens[max(0, start - context):start]
        after = tokens[len(tokens) - end:len(tokens) - end + context]
        text = " ".join(before + [middle] + after)
        return ("... " if start > context else "") + text + (" ..." if end > context else "")

    return f"{window(x)} -> {window(y)}"


# Distance ------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectDifference:
    """One schema object (table, index, trigger or view) that two snapshots
    do not share: "missing" from the second, "extra" in it, or "differs"."""

    kind: str
    name: str
    change: str  # "missing", "extra" or "differs"
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.name} {self.change}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class SchemaDistance:
    """How far `actual` is from `expected`, counted in whole objects: a table
    with one extra column is one differing object, like a missing index. An
    object is equal exactly when `diff` reports nothing about it."""

    equal: int
    differences: Tuple[ObjectDifference, ...]

    @property
    def total(self) -> int:
        return len(self.differences)

    def of(self, change: str) -> List[ObjectDifference]:
        return [d for d in self.differences if d.change == change]


def distance(expected: Snapshot, actual: Snapshot) -> SchemaDistance:
    """Object by object: equal, differing, missing from `actual`, extra in it."""
    equal = 0
    out: List[ObjectDifference] = []
    for kind, mine, theirs in (("table", expected.tables, actual.tables), ("index", expected.indexes, actual.indexes),
                               ("trigger", expected.triggers, actual.triggers), ("view", expected.views, actual.views)):
        for key in sorted(set(mine) | set(theirs)):
            a, b = mine.get(key), theirs.get(key)
            if a is None:
                out.append(ObjectDifference(kind, b.name, "extra"))
            elif b is None:
                out.append(ObjectDifference(kind, a.name, "missing"))
            else:
                detail = _object_changes(kind, a, b)
                if detail is None:
                    equal += 1
                else:
                    out.append(ObjectDifference(kind, a.name, "differs", detail))
    return SchemaDistance(equal, tuple(out))


_CHANGE_WORD = {"missing": "missing", "unexpected": "extra", "changed": "differs"}


def _object_changes(kind: str, a, b) -> Optional[str]:
    """None when `diff` would report nothing about the object, else a short
    account of what differs (as `diff` words it)."""
    if kind == "table":
        changes = [f"column {d.name[len(a.name) + 1:]} {_CHANGE_WORD[d.change]}" if d.kind == "column" else
                   f"{d.kind} {_CHANGE_WORD[d.change]}: {d.detail}" for d in _diff_table(a, b)]
    elif kind == "index":
        changes = index_changes(a, b) or ([f"named {a.name} -> {b.name}"] if a != b else [])
    else:
        changes = ["definition"] if a.sql != b.sql else []
    return "; ".join(changes) if changes else None
