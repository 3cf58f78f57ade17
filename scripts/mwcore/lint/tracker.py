"""What each statement did to the schema, learned from SQLite itself.

A `SchemaTracker` keeps a mirror of `main.sqlite_master` and updates it after
every statement that changed the schema (`PRAGMA schema_version` moved). The
mirror is how the linter knows, statement by statement, which tables,
indexes, triggers and views appeared, vanished or were rewritten.

Reading the whole of sqlite_master after every statement would make a
1,000-migration folder quadratic, so the statement's leading keywords choose
how much to read: a CREATE can only add rows (read the rows after the old
highest rowid), a DROP can only remove the named object and what belongs to
it (look those up), anything else (ALTER TABLE renames rewrite other
objects) re-reads everything. The keywords only decide where to look; what
changed always comes from sqlite_master. `verify=True` re-reads everything
after each change and checks the shortcut agrees (the tests run with it).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple

from ..sqltext import tokens, unquote_identifier

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(name: str) -> str:
    """SQLite compares names case-insensitively for ASCII letters only."""
    return name.translate(_ASCII_LOWER)


class Obj(NamedTuple):
    """One row of sqlite_master (make it with `make_obj`)."""

    type: str  # table, index, view, trigger
    name: str
    tbl_name: str
    sql: Optional[str]  # None for automatic indexes
    # Derived, kept to make lookups cheap. Triggers have their own namespace;
    # tables, indexes and views share one.
    key: Tuple[bool, str]
    table_key: str  # folded tbl_name

    def label(self) -> str:
        return f"{self.type} {self.name}"


@dataclass(frozen=True)
class Change:
    """The schema effect of one statement."""

    created: Tuple[Obj, ...] = ()
    dropped: Tuple[Obj, ...] = ()
    altered: Tuple[Tuple[Obj, Obj], ...] = ()  # (before, after), same name
    renamed: Tuple[Tuple[Obj, Obj], ...] = ()  # tables: (old, new)

    @property
    def empty(self) -> bool:
        return not (self.created or self.dropped or self.altered)

    def dropped_tables(self) -> List[Obj]:
        """Tables that vanished by being dropped (not renamed)."""
        renamed = {old.key for old, _new in self.renamed}
        return [o for o in self.dropped if o.type == "table" and o.key not in renamed]


NO_CHANGE = Change()


def make_obj(kind: str, name: str, tbl_name: str, sql: Optional[str]) -> Obj:
    return Obj(kind, name, tbl_name, sql, (kind == "trigger", fold(name)), fold(tbl_name))

_MASTER = "SELECT type, name, tbl_name, sql FROM main.sqlite_master"


def head_words(sql: str, limit: int = 8) -> List[Tuple[str, str]]:
    """The first `limit` tokens of a statement (kind, text), comments skipped."""
    out = []
    for token in tokens(sql):
        out.append(token)
        if len(out) >= limit:
            break
    return out


def _dropped_name(head: Sequence[Tuple[str, str]]) -> Optional[Tuple[str, str]]:
    """(object type, folded name) of `DROP TYPE [IF EXISTS] [schema.]name`, or None."""
    words = [(k, t.upper() if k == "word" else t) for k, t in head]
    if len(words) < 3 or words[0][1] != "DROP" or words[1][1] not in ("TABLE", "INDEX", "VIEW", "TRIGGER"):
        return None
    rest = words[2:]
    if len(rest) >= 2 and rest[0][1] == "IF" and rest[1][1] == "EXISTS":
        rest = rest[2:]
    names = [head[len(head) - len(rest) + i] for i in range(len(rest))]
    if len(names) >= 3 and names[1][1] == ".":
        if fold(unquote_identifier(names[0][1])) != "main":
            return None
        names = names[2:]
    if not names or names[0][0] not in ("word", "ident", "string"):
        return None
    text = names[0][1]
    name = text[1:-1].replace("''", "'") if names[0][0] == "string" else unquote_identifier(text)
    return words[1][1].lower(), fold(name)


_FIRST_WORD = re.compile(r"[A-Za-z_]+")


def first_word(sql: str) -> str:
    """A statement's first keyword in upper case ('' when it starts otherwise)."""
    match = _FIRST_WORD.match(sql)
    return match.group().upper() if match else ""


def _difference(before: Dict[Tuple[bool, str], Obj], after: Dict[Tuple[bool, str], Obj]) -> Change:
    created = tuple(o for k, o in after.items() if k not in before)
    dropped = tuple(o for k, o in before.items() if k not in after)
    altered = tuple((before[k], o) for k, o in after.items() if k in before and before[k] != o)
    renamed: Tuple[Tuple[Obj, Obj], ...] = ()
    old_tables = [o for o in dropped if o.type == "table"]
    new_tables = [o for o in created if o.type == "table"]
    if len(old_tables) == 1 and len(new_tables) == 1:
        renamed = ((old_tables[0], new_tables[0]),)
    return Change(created, dropped, altered, renamed)


def _altered_columns_of(head: Sequence[Tuple[str, str]]) -> Optional[str]:
    """The folded table name of `ALTER TABLE [main.]x ADD|DROP ...`, else None
    (RENAME rewrites other objects, so it needs a full comparison)."""
    words = [t.upper() if k == "word" else t for k, t in head]
    if words[:2] != ["ALTER", "TABLE"] or len(words) < 4:
        return None
    at = 2
    if len(words) > 5 and words[3] == ".":
        if fold(unquote_identifier(head[2][1])) != "main":
            return None
        at = 4
    if at + 1 >= len(words) or words[at + 1] not in ("ADD", "DROP") or head[at][0] not in ("word", "ident"):
        return None
    return fold(unquote_identifier(head[at][1]))


def dropped_column_table(sql: str) -> Optional[str]:
    """The folded table name of `ALTER TABLE [main.]x DROP [COLUMN] ...`, else None."""
    head = head_words(sql, 6)
    table = _altered_columns_of(head)
    if table is None:
        return None
    words = [t.upper() if k == "word" else t for k, t in head]
    return table if "DROP" in words[3:6] else None


_EVENTS = ("DELETE", "INSERT", "UPDATE")


def firing_statement(trigger_sql: str) -> Optional[Tuple[str, Optional[str], str]]:
    """(event, first column of UPDATE OF or None, table) of a CREATE TRIGGER,
    read from its head (before BEGIN): what statement makes it fire."""
    head: List[Tuple[str, str]] = []
    for token in tokens(trigger_sql):
        if token[0] == "word" and token[1].upper() == "BEGIN":
            break
        head.append(token)
    words = [t.upper() if k == "word" else t for k, t in head]
    event = next((i for i, w in enumerate(words) if w in _EVENTS and i > 2), None)
    if event is None or "ON" not in words[event:]:
        return None
    column = None
    if words[event] == "UPDATE" and event + 2 < len(words) and words[event + 1] == "OF":
        column = unquote_identifier(head[event + 2][1])
    on = words.index("ON", event)
    if on + 1 >= len(head):
        return None
    name = head[on + 1]
    if on + 3 < len(head) and words[on + 2] == ".":
        name = head[on + 3]
    table = name[1][1:-1].replace("''", "'") if name[0] == "string" else unquote_identifier(name[1])
    return words[event], column, table


def _is_virtual(obj: Obj) -> bool:
    return (obj.sql or "").lstrip()[:14].upper() == "CREATE VIRTUAL"


def _renamed_table(head: Sequence[Tuple[str, str]]) -> Optional[Tuple[str, str]]:
    """(old, new) folded names of `ALTER TABLE [main.]old RENAME TO new`, else None."""
    words = [t.upper() if k == "word" else t for k, t in head]
    at = 4 if len(words) > 3 and words[3] == "." else 2
    if at == 4 and fold(unquote_identifier(head[2][1])) != "main":
        return None
    if words[:2] != ["ALTER", "TABLE"] or words[at + 1:at + 3] != ["RENAME", "TO"] or len(head) <= at + 3:
        return None
    if head[at][0] not in ("word", "ident") or head[at + 3][0] not in ("word", "ident", "string"):
        return None
    new = head[at + 3][1]
    new = new[1:-1].replace("''", "'") if head[at + 3][0] == "string" else unquote_identifier(new)
    return fold(unquote_identifier(head[at][1])), fold(new)


class SchemaTracker:
    """The mirror of main.sqlite_master, kept current statement by statement."""

    def __init__(self, conn: sqlite3.Connection, *, ignore: Iterable[str] = (), verify: bool = False) -> None:
        self.conn = conn
        self.verify = verify
        self.ignore = {fold(n) for n in ignore}
        self.objects: Dict[Tuple[bool, str], Obj] = {}
        self._by_table: Dict[str, Set[Tuple[bool, str]]] = {}
        self._set_all(self._read_all())
        self.schema_version = self._schema_version()
        self._fk_cache: Dict[Obj, FrozenSet[str]] = {}
        self.columns: Dict[Obj, Tuple[str, ...]] = {}  # table -> its column names, read while it existed
        self._probes = 0  # trigger_errors: statements prepared so far

    # -- reading -----------------------------------------------------------
    def _schema_version(self) -> int:
        return self.conn.execute("PRAGMA main.schema_version").fetchone()[0]

    def _keep(self, obj: Obj) -> bool:
        # sqlite_* objects (autoindexes, sqlite_sequence, sqlite_stat1) follow
        # from the user's tables; golang-migrate's own table is not theirs.
        return obj.table_key not in self.ignore and not obj.key[1].startswith("sqlite_")

    def _rows(self, where: str = "", params: Sequence[object] = ()) -> Dict[Tuple[bool, str], Obj]:
        objects = {}
        ignore, lower = self.ignore, _ASCII_LOWER
        for kind, name, table, sql in self.conn.execute(_MASTER + where, params):
            folded = name.translate(lower)
            if folded.startswith("sqlite_") or table.translate(lower) in ignore:
                continue
            objects[(kind == "trigger", folded)] = Obj(kind, name, table, sql, (kind == "trigger", folded), table.translate(lower))
        return objects

    def _read_all(self) -> Dict[Tuple[bool, str], Obj]:
        return self._rows()

    # The mirror and its index by table, changed only through these.
    def _set_all(self, objects: Dict[Tuple[bool, str], Obj]) -> None:
        self.objects = objects
        self._by_table = {}
        for key, obj in objects.items():
            self._by_table.setdefault(obj.table_key, set()).add(key)

    def _put(self, obj: Obj) -> None:
        old = self.objects.get(obj.key)
        if old is not None and old.table_key != obj.table_key:
            self._by_table[old.table_key].discard(obj.key)
        self.objects[obj.key] = obj
        self._by_table.setdefault(obj.table_key, set()).add(obj.key)

    def _del(self, key: Tuple[bool, str]) -> None:
        obj = self.objects.pop(key)
        self._by_table.get(obj.table_key, set()).discard(key)

    def max_rowid(self) -> int:
        return self.conn.execute("SELECT coalesce(max(rowid), 0) FROM main.sqlite_master").fetchone()[0]

    # -- one statement -------------------------------------------------------
    def prepare(self, keyword: str) -> Optional[int]:
        """Call before running a statement (its first keyword); pass the
        result to `changes`."""
        return self.max_rowid() if keyword == "CREATE" else None

    def changes(self, keyword: str, sql: str, token: Optional[int]) -> Change:
        """What the statement just run did to the main schema."""
        version = self._schema_version()
        if version == self.schema_version:
            return NO_CHANGE
        self.schema_version = version
        head = head_words(sql, 8) if keyword in ("DROP", "ALTER") else []
        dropped = _dropped_name(head) if keyword == "DROP" else None
        altered = _altered_columns_of(head) if keyword == "ALTER" else None
        renamed = _renamed_table(head) if keyword == "ALTER" and altered is None else None
        if token is not None:
            change = self._created_since(token)
        elif dropped is not None:
            change = self._dropped(*dropped)
        elif altered is not None:
            change = self._table_diff(altered)
        elif renamed is not None:
            change = self._renamed(*renamed)
        else:
            change = self._full_diff()
        if self.verify:
            actual = self._read_all()
            assert actual == self.objects, f"schema mirror out of date after {sql[:80]!r}"
            by_table: Dict[str, Set[Tuple[bool, str]]] = {}
            for key, obj in actual.items():
                by_table.setdefault(obj.table_key, set()).add(key)
            assert {t: k for t, k in self._by_table.items() if k} == by_table, "schema mirror index out of date"
        return change

    def _created_since(self, rowid: int) -> Change:
        created = []
        for row in self.conn.execute(_MASTER + " WHERE rowid > ? ORDER BY rowid", (rowid,)):
            obj = make_obj(*row)
            if self._keep(obj):
                self._put(obj)
                created.append(obj)
        return Change(created=tuple(created))

    def _dropped(self, kind: str, name: str) -> Change:
        key = (kind == "trigger", name)
        keys = set(self._by_table.get(name, ())) if kind == "table" else set()
        if key in self.objects:
            keys.add(key)
        candidates = [self.objects[k] for k in keys]
        if not candidates or any(_is_virtual(o) for o in candidates):
            return self._full_diff()  # a virtual table's shadow tables go too
        marks = ",".join("?" for _ in candidates)
        rows = self.conn.execute(f"SELECT type, name FROM main.sqlite_master WHERE name IN ({marks})", [o.name for o in candidates])
        still = {(t == "trigger", fold(n)) for t, n in rows}
        gone = tuple(o for o in candidates if o.key not in still)
        for obj in gone:
            self._del(obj.key)
        return Change(dropped=gone)

    def _table_diff(self, table_key: str) -> Change:
        """ADD/DROP COLUMN changes only the table's own rows of sqlite_master."""
        before = {k: self.objects[k] for k in self._by_table.get(table_key, ())}
        return self._replace(before, self._rows(" WHERE tbl_name = ? COLLATE NOCASE", (table_key,)))

    def _renamed(self, old: str, new: str) -> Change:
        """RENAME TO rewrites only the table's own rows and the objects whose
        SQL names it; everything else in sqlite_master stays as it was."""
        table = self.objects.get((False, old))
        if table is None or _is_virtual(table):
            return self._full_diff()  # a virtual table renames its shadow tables too
        mentions = [o for o in self.objects.values()
                    if o.table_key == old or (o.sql is not None and old in o.sql.translate(_ASCII_LOWER))]
        names = {o.name for o in mentions} | {old, new}
        marks = ",".join("?" for _ in names)
        after = self._rows(f" WHERE name COLLATE NOCASE IN ({marks}) OR tbl_name COLLATE NOCASE IN (?, ?)",
                           (*names, old, new))
        return self._replace({o.key: o for o in mentions}, after)

    def _replace(self, before: Dict[Tuple[bool, str], Obj], after: Dict[Tuple[bool, str], Obj]) -> Change:
        """Swap the part of the mirror `before` for what SQLite now holds there."""
        for key in before:
            if key not in after:
                self._del(key)
        for obj in after.values():
            self._put(obj)
        return _difference(before, after)

    def _full_diff(self) -> Change:
        before, after = self.objects, self._read_all()
        self._set_all(after)
        return _difference(before, after)

    # -- foreign keys ----------------------------------------------------------
    def parents_of(self, table: Obj) -> FrozenSet[str]:
        """Folded names of the tables `table` references (read while it exists)."""
        cached = self._fk_cache.get(table)
        if cached is None:
            try:
                rows = self.conn.execute('SELECT "table" FROM pragma_foreign_key_list(?)', (table.name,)).fetchall()
            except sqlite3.Error:
                rows = []
            cached = frozenset(fold(r[0]) for r in rows)
            self._fk_cache[table] = cached
        return cached

    def children_of(self, table_key: str) -> List[Obj]:
        """Other live tables whose foreign keys reference the table `table_key`
        (a folded name)."""
        return [
            o for o in self.objects.values()
            if o.type == "table" and o.table_key != table_key and table_key in self.parents_of(o)
        ]

    def remember(self, change: Change) -> None:
        """Read the foreign keys and columns of tables that just appeared or
        changed, while SQLite can still tell."""
        for obj in list(change.created) + [after for _before, after in change.altered]:
            if obj.type == "table":
                self.parents_of(obj)
                if obj not in self.columns:
                    try:
                        rows = self.conn.execute("SELECT name FROM pragma_table_info(?)", (obj.name,)).fetchall()
                    except sqlite3.Error:
                        continue
                    self.columns[obj] = tuple(r[0] for r in rows)

    def trigger_errors(self, table_key: str) -> Dict[str, Optional[str]]:
        """For each trigger of ANOTHER table (or view) whose SQL names the
        table `table_key`: SQLite's error when a statement that fires it is
        prepared (EXPLAIN compiles the trigger bodies, nothing runs), or None.
        A trigger body is only resolved then, so a column it writes that no
        longer exists shows here and nowhere else."""
        out: Dict[str, Optional[str]] = {}
        for obj in list(self.objects.values()):
            if obj.type != "trigger" or obj.table_key == table_key or not obj.sql:
                continue
            if table_key not in obj.sql.translate(_ASCII_LOWER):
                continue
            fired = firing_statement(obj.sql)
            if fired is None:
                continue
            event, column, table = fired
            target = '"' + table.replace('"', '""') + '"'
            if event == "INSERT":
                sql = f"EXPLAIN INSERT INTO {target} DEFAULT VALUES"
            elif event == "DELETE":
                sql = f"EXPLAIN DELETE FROM {target}"
            else:
                if column is None:
                    try:
                        first = self.conn.execute("SELECT name FROM pragma_table_info(?)", (table,)).fetchone()
                    except sqlite3.Error:
                        first = None
                    if first is None:
                        continue
                    column = first[0]
                quoted = '"' + column.replace('"', '""') + '"'
                sql = f"EXPLAIN UPDATE {target} SET {quoted} = {quoted}"
            # A prepared EXPLAIN never notices a schema change: reused from
            # Python's statement cache after the ALTER it would list a stale
            # program (and can crash). Fresh text each time is never reused.
            self._probes += 1
            try:
                self.conn.execute(f"{sql} /* mw probe {self._probes} */").fetchall()
                out[obj.name] = None
            except sqlite3.Error as exc:
                out[obj.name] = str(exc)
        return out

    def reset(self) -> None:
        """After a ROLLBACK TO: read the schema again."""
        self._set_all(self._read_all())
        self.schema_version = self._schema_version()
