"""Which columns hold another table's keys, as a folder's migrations use them.

Synthetic rows (`rows.seed_rows`) give a column that is no foreign key yet
an arbitrary value. When a later version makes it one (a rebuild that adds
`REFERENCES book (id)` to `loan.book_id`, as `rebuild_table.py
--add-foreign-key` writes it), or a migration compares it with a parent's
key (`DELETE FROM loan WHERE book_id NOT IN (SELECT id FROM book)`), every
synthetic row is an orphan: the foreign-key guard fails, the orphan delete
empties the table, and the replay blames a clean migration. A real orphan in
a user's database is what `--db` pre-checks are for.

So the files that will run are read once, on a scratch database (jsonuse's
learner, which learns the JSON columns in the same pass):
- after each file that mentions REFERENCES (a down too, rolled back), every
  foreign key of the schema is recorded, whoever declares it;
- before each statement that compares two columns (`a.x = b.y`,
  `x [NOT] IN (SELECT y FROM b)`), where y is b's only primary-key column or
  a single-column UNIQUE one and x is not a key of its own table, x is
  recorded as pointing at b(y).

`KeyColumns` maps (table, columns) to (parent, parent columns; () for the
parent's primary key), all lower-cased; seeding gives such columns the key
of an existing parent row, or NULL.
"""

from __future__ import annotations

import sqlite3
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple

from .jsonuse import JsonColumns, _aliases, _column_ref, _Learner, _might_use_json
from .sqltext import tokens, unquote_identifier

KeyColumns = Dict[Tuple[str, Tuple[str, ...]], Tuple[str, Tuple[str, ...]]]

Ref = Tuple[Optional[str], str]  # (qualifier, column), lower-cased


class Uses(NamedTuple):
    """What a chain's files say about its columns."""

    json_columns: JsonColumns
    key_columns: KeyColumns


def might_use_keys(text: str) -> bool:
    """Whether a file may add a foreign key to a column that exists (a
    rebuild: the table created again under its name or renamed into place;
    a foreign key on a new table or an added column constrains no row
    seeded before it) or change rows by comparing two tables' columns."""
    lower = text.lower()
    return rebuilds_with_references(lower) or _compares(lower)


def rebuilds_with_references(lower: str) -> bool:
    return "references" in lower and ("rename" in lower or "drop table" in lower)


# Statements whose effect on rows depends on a comparison with another table.
_ROW_CHANGES = frozenset(("DELETE", "UPDATE", "INSERT", "REPLACE", "WITH"))


def _compares(lower: str) -> bool:
    return (("delete" in lower or "update" in lower or "insert" in lower)
            and ("select" in lower or "join" in lower) and ("=" in lower or " in" in lower))


def comparisons(toks: Sequence[Tuple[str, str]]) -> List[Tuple[Ref, Ref]]:
    """Column references compared for equality (`=`, `==`) or by
    `[NOT] IN (SELECT column FROM table ...)` in one statement's tokens; the
    right side of an IN is qualified by the subquery's table."""
    out: List[Tuple[Ref, Ref]] = []
    count = len(toks)
    for i, (kind, text) in enumerate(toks):
        if kind == "op" and text in ("=", "=="):
            left, right = _ref_ending(toks, i), _ref_starting(toks, i + 1)
            if left is not None and right is not None:
                out.append((left, right))
        elif kind == "word" and text.lower() == "in" and i + 3 < count and toks[i + 1][1] == "(" \
                and toks[i + 2][1].lower() == "select":
            left = _ref_ending(toks, i - 1 if i >= 1 and toks[i - 1][1].lower() == "not" else i)
            right, after = _ref_at(toks, i + 3)
            if left is None or right is None or after + 1 >= count or toks[after][1].lower() != "from":
                continue
            name = toks[after + 1]
            if name[0] not in ("word", "ident"):
                continue
            table = unquote_identifier(name[1]).lower()
            out.append((left, (right[0] or table, right[1])))
    return out


def _ref_at(toks: Sequence[Tuple[str, str]], start: int) -> Tuple[Optional[Ref], int]:
    """The column reference starting at `start` and the index after it."""
    for length in (3, 1):
        part = toks[start:start + length]
        if len(part) == length and all(k in ("word", "ident") or t == "." for k, t in part):
            ref = _column_ref(list(part))
            if ref is not None:
                return ref, start + length
    return None, start


def _ref_starting(toks: Sequence[Tuple[str, str]], start: int) -> Optional[Ref]:
    return _ref_at(toks, start)[0]


def _ref_ending(toks: Sequence[Tuple[str, str]], end: int) -> Optional[Ref]:
    for length in (3, 1):
        if end - length < 0:
            continue
        part = toks[end - length:end]
        if all(k in ("word", "ident") or t == "." for k, t in part):
            ref = _column_ref(list(part))
            if ref is not None:
                return ref
    return None


class _KeyLearner(_Learner):
    def __init__(self, source: Optional[sqlite3.Connection] = None) -> None:
        super().__init__(source)
        self.keys: KeyColumns = {}
        self.learn_keys = True

    # -- declared foreign keys -------------------------------------------------------
    def _wants(self, text: str) -> bool:
        return self.learn_keys and _compares(text.lower())

    def _after(self, text: str) -> None:
        if self.learn_keys and rebuilds_with_references(text.lower()):
            self.record_foreign_keys()

    def record_foreign_keys(self) -> None:
        try:
            rows = self.conn.execute(
                'SELECT m.name, f.id, f.seq, f."table", f."from", f."to" FROM main.sqlite_master AS m, '
                "pragma_foreign_key_list(m.name) AS f WHERE m.type = 'table'").fetchall()
        except sqlite3.Error:
            return
        groups: Dict[Tuple[str, int], List[tuple]] = {}
        for table, fk_id, seq, parent, column, target in rows:
            groups.setdefault((table, fk_id), []).append((seq, parent, column, target))
        for (table, _fk_id), members in groups.items():
            members.sort()
            columns = tuple(m[2].lower() for m in members)
            targets = tuple(m[3].lower() for m in members if m[3])
            self.keys[(table.lower(), columns)] = (members[0][1].lower(), targets if len(targets) == len(columns) else ())

    # -- columns compared with a parent's key -----------------------------------------
    def _before(self, sql: str, head: str) -> None:
        if head not in _ROW_CHANGES:
            return
        lower = sql.lower()
        if "select" not in lower and "join" not in lower:
            return
        toks = list(tokens(sql))
        pairs = comparisons(toks)
        if not pairs:
            return
        aliases = _aliases(list(toks))
        tables = self._tables()
        named = [n for n in dict.fromkeys(unquote_identifier(t).lower() for k, t in toks if k in ("word", "ident"))
                 if n in tables]
        for left, right in pairs:
            a, b = self._resolve(left, aliases, named, tables), self._resolve(right, aliases, named, tables)
            if a is None or b is None or a[0] == b[0]:
                continue
            a_key, b_key = a[1] in self._keys_of(a[0]), b[1] in self._keys_of(b[0])
            if b_key and not a_key:
                self.keys.setdefault((a[0], (a[1],)), (b[0], (b[1],)))
            elif a_key and not b_key:
                self.keys.setdefault((b[0], (b[1],)), (a[0], (a[1],)))

    def _tables(self) -> Set[str]:
        return {r[0].lower() for r in self.conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")}

    def _resolve(self, ref: Ref, aliases: Dict[str, str], named: List[str], tables: Set[str]) -> Optional[Tuple[str, str]]:
        qualifier, column = ref
        if qualifier is not None:
            table = aliases.get(qualifier, qualifier)
            return (table, column) if table in tables and self._has_column(table, column) else None
        found = [t for t in named if self._has_column(t, column)]
        return (found[0], column) if len(found) == 1 else None

    def _keys_of(self, table: str) -> Set[str]:
        """The columns that alone identify a row: the only primary-key
        column, and single-column UNIQUE indexes."""
        out: Set[str] = set()
        try:
            pk = [r[0].lower() for r in self.conn.execute("SELECT name FROM pragma_table_info(?) WHERE pk > 0", (table,))]
            if len(pk) == 1:
                out.add(pk[0])
            for (index,) in self.conn.execute('SELECT name FROM pragma_index_list(?) WHERE "unique"', (table,)).fetchall():
                cols = [r[0] for r in self.conn.execute("SELECT name FROM pragma_index_info(?)", (index,))]
                if len(cols) == 1 and cols[0] is not None:
                    out.add(cols[0].lower())
        except sqlite3.Error:
            pass
        return out


def learn_uses(files: Iterable[Tuple[str, str]], source: Optional[sqlite3.Connection] = None) -> Uses:
    """The JSON columns (jsonuse) and the key columns of a chain, in one
    pass: `files` are (direction, text) in the order golang-migrate applies
    the ups ('up' and 'down', each down right after its up), starting from
    `source` (a connection at the state the files start from; an empty
    database when None). Nothing runs when no file, and no object already in
    `source`, can teach anything."""
    files = list(files)
    wants_json = [_might_use_json(text) for _d, text in files]
    wants_keys = [might_use_keys(text) for _d, text in files]
    existing_json = source is not None and _schema_mentions_json(source)
    needed = [i for i in range(len(files)) if wants_json[i] or wants_keys[i]]
    if not needed and not existing_json:
        return Uses({}, {})
    learner = _KeyLearner(source)
    try:
        learner.json = any(wants_json) or existing_json
        learner.learn_keys = any(wants_keys)
        if existing_json:
            learner.learn_existing()
        last = max(needed) if needed else -1
        for index in range(last + 1):
            direction, text = files[index]
            if direction != "down":
                learner.run(text, True)
            elif wants_json[index] or wants_keys[index]:
                learner.down(text)
        return Uses(learner.found, learner.keys)
    finally:
        learner.conn.close()


def _schema_mentions_json(conn: sqlite3.Connection) -> bool:
    try:
        return conn.execute("SELECT 1 FROM main.sqlite_master WHERE sql LIKE '%json%' OR sql LIKE '%->%' LIMIT 1"
                            ).fetchone() is not None
    except sqlite3.Error:
        return False


def folder_uses(folder, read_text, *, after: Optional[int] = None, source: Optional[sqlite3.Connection] = None) -> Uses:
    """`learn_uses` for a MigrationFolder's versions above `after` (all when
    None); `read_text(file)` gives a file's text (None when it cannot be read)."""
    from .folder import migration_texts

    return learn_uses(migration_texts(folder, read_text, after=after), source)
