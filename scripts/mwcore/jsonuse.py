"""Which columns hold JSON, and of what shape, as a folder's migrations use them.

Synthetic rows (`rows.seed_rows`) must not put plain text where a migration
later reads JSON: `json_each(tags)` over 'mw x #1' fails with `malformed
JSON`, and the replay would blame a clean migration. So the migrations are
read once per folder: every call of a json function (`json_each`,
`json_tree`, `json_extract`, `json_array_length`, `json_type`, `json_valid`,
`json_set`, ... and the `->`/`->>` operators) whose first argument is a
column names that column, and its path argument says what the value must
hold: `json_each(tags)` an array, `json_extract(data, '$.a.b')` an object
with key `a` holding an object with key `b`, `col -> 0` an array.

Which table a column reference means is SQLite's to say: the up files run on
a scratch in-memory database (each down inside a savepoint that is rolled
back), and while a statement that calls a json function is prepared, the
authorizer reports every column it reads (SQLITE_READ, table and column).
A reference matches the read of a column with its name (an alias or a
qualifier picks among several). What SQLite does not resolve when a
statement is prepared (a CHECK or a generated column in CREATE TABLE, an
expression index, a trigger body) is matched by name: the statement's own
table, NEW/OLD in a trigger, a table named in the statement that has the
column. The function calls themselves are found with sqltext's tokenizer:
SQLite resolves names, not the argument positions of function calls.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from . import engine
from .sqltext import split_statements, tokens, unquote_identifier

OBJECT, ARRAY, VALUE = "object", "array", "value"

# Functions whose first argument is JSON text, with whether a second
# argument is a path into it.
_READERS = {
    "json": False, "jsonb": False, "json_valid": False, "json_type": True, "json_array_length": True,
    "json_extract": True, "jsonb_extract": True, "json_each": True, "json_tree": True,
    "json_set": True, "jsonb_set": True, "json_insert": True, "jsonb_insert": True,
    "json_replace": True, "jsonb_replace": True, "json_remove": True, "jsonb_remove": True,
    "json_patch": False, "jsonb_patch": False, "json_quote": False, "json_pretty": False,
}
_WRITERS = frozenset(("json_set", "jsonb_set", "json_insert", "jsonb_insert", "json_replace", "jsonb_replace",
                      "json_remove", "jsonb_remove"))
# Where the path (or the whole value, without one) must be an array.
_ITERATES = {"json_each", "json_tree", "json_array_length"}
_SKIPPED = frozenset(("BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "VACUUM", "ATTACH", "DETACH"))
_SQLITE_READ = 20


@dataclass
class JsonShape:
    """What a JSON value must hold: an object (with these members), an array
    (of these elements), or any value."""

    kind: str = VALUE
    members: Dict[str, "JsonShape"] = field(default_factory=dict)
    element: Optional["JsonShape"] = None

    def merge(self, other: "JsonShape") -> None:
        if self.kind == VALUE:
            self.kind = other.kind
        for key, shape in other.members.items():
            self.members.setdefault(key, JsonShape()).merge(shape)
        if other.element is not None:
            if self.element is None:
                self.element = JsonShape()
            self.element.merge(other.element)

    def describe(self) -> str:
        if self.kind == OBJECT:
            return "object" + (f" with {', '.join(sorted(self.members))}" if self.members else "")
        return self.kind


# (table, column), lower-cased -> the shape the migrations read there
JsonColumns = Dict[Tuple[str, str], JsonShape]


def sample_json(shape: Optional[JsonShape], n: int) -> str:
    """JSON text of that shape for row number `n`. Leaves are strings of
    digits: read out (json_extract, ->>, json_each's value) they are text
    that is valid JSON again (a number) and that a TEXT column keeps as it
    is, so writing them back gives the same JSON."""
    if shape is None or (shape.kind == VALUE and not shape.members and shape.element is None):
        shape = JsonShape(OBJECT)  # any JSON will do: an object is what such columns mostly hold
    return json.dumps(_sample(shape, n), separators=(",", ":"))


def _sample(shape: JsonShape, n: int):
    if shape.kind == ARRAY or (shape.kind == VALUE and shape.element is not None):
        return [_sample(shape.element or JsonShape(), n)]
    if shape.kind == OBJECT or shape.members:
        if not shape.members:
            return {"mw": str(n)}
        return {key: _sample(child, n) for key, child in shape.members.items()}
    return str(n)


def parse_path(text: str) -> Optional[List[Optional[str]]]:
    """A JSON path ('$', '$.a."b c"[0]') as steps: a key, or None for an
    array index. None when it is not a path SQLite reads."""
    if not text.startswith("$"):
        return None
    steps: List[Optional[str]] = []
    i = 1
    while i < len(text):
        if text[i] == ".":
            i += 1
            if i < len(text) and text[i] == '"':
                end = text.find('"', i + 1)
                if end < 0:
                    return None
                steps.append(text[i + 1:end])
                i = end + 1
            else:
                start = i
                while i < len(text) and text[i] not in ".[":
                    i += 1
                steps.append(text[start:i])
        elif text[i] == "[":
            end = text.find("]", i)
            if end < 0:
                return None
            steps.append(None)
            i = end + 1
        else:
            return None
    return steps


def _shape_at(steps: Sequence[Optional[str]], leaf: str) -> JsonShape:
    """The shape of a value read at `steps`, the value there being `leaf`."""
    shape = JsonShape(leaf)
    for step in reversed(steps):
        shape = JsonShape(ARRAY, element=shape) if step is None else JsonShape(OBJECT, members={step: shape})
    return shape


@dataclass(frozen=True)
class Use:
    """One read of a column as JSON, found in a statement's text."""

    qualifier: Optional[str]  # as written before the '.', lower-cased
    column: str  # lower-cased
    shape: JsonShape = field(compare=False, hash=False)


def _literal(token: Tuple[str, str]):
    kind, text = token
    if kind == "string" and not text[:1] in "xX":
        return text[1:-1].replace("''", "'")
    if kind == "number":
        try:
            return int(text, 0)
        except ValueError:
            return None
    return None


def _column_ref(toks: Sequence[Tuple[str, str]]) -> Optional[Tuple[Optional[str], str]]:
    """(qualifier, column) when `toks` is exactly a column reference."""
    names = [unquote_identifier(t) for k, t in toks if k in ("word", "ident")]
    shape = [k if k in ("word", "ident") else t for k, t in toks]
    if shape in (["word"], ["ident"]):
        return None, names[0].lower()
    if len(toks) == 3 and shape[1] == "." and shape[0] in ("word", "ident") and shape[2] in ("word", "ident"):
        return names[0].lower(), names[1].lower()
    if len(toks) == 5 and shape[1] == "." and shape[3] == ".":
        return names[1].lower(), names[2].lower()
    return None


def _arguments(toks: List[Tuple[str, str]], open_at: int) -> Tuple[List[List[Tuple[str, str]]], int]:
    """The top-level arguments of a call whose '(' is at `open_at`, and the
    index of its ')'."""
    args: List[List[Tuple[str, str]]] = [[]]
    depth = 0
    for i in range(open_at, len(toks)):
        text = toks[i][1]
        if text == "(":
            depth += 1
            if depth == 1:
                continue
        elif text == ")":
            depth -= 1
            if depth == 0:
                return [a for a in args if a], i
        elif text == "," and depth == 1:
            args.append([])
            continue
        args[-1].append(toks[i])
    return [a for a in args if a], len(toks)


def json_uses(sql: str) -> List[Use]:
    """The column references a statement reads as JSON, with the shape each
    read needs. `j.value` of a `json_each(...) AS j` counts as an element of
    the column json_each iterates."""
    toks = list(tokens(sql))
    uses: List[Use] = []
    each_alias: Dict[str, Tuple[Optional[str], str, List[Optional[str]]]] = {}
    for i, (kind, text) in enumerate(toks):
        lower = text.lower()
        if kind == "word" and lower in _READERS and i + 1 < len(toks) and toks[i + 1][1] == "(":
            args, close = _arguments(toks, i + 1)
            ref = _column_ref(args[0]) if args else None
            if ref is None:
                continue
            if not _READERS[lower]:
                path_args: List[List[Tuple[str, str]]] = []
            elif lower in _ITERATES or lower == "json_type":
                path_args = args[1:2]
            elif lower in _WRITERS:
                path_args = args[1::2] if "remove" not in lower else args[1:]
            else:
                path_args = args[1:]
            paths: List[List[Optional[str]]] = []
            for arg in path_args:
                value = _literal(arg[0]) if len(arg) == 1 else None
                steps = parse_path(value) if isinstance(value, str) else None
                if steps is not None:
                    # A writer creates or removes the last step; what leads there is read.
                    paths.append(steps[:-1] if lower in _WRITERS else steps)
            leaf = ARRAY if lower in _ITERATES else VALUE
            for steps in paths or [[]]:
                uses.append(Use(ref[0], ref[1], _shape_at(steps, leaf)))
            if lower in ("json_each", "json_tree"):
                alias = _alias_after(toks, close)
                if alias:
                    each_alias[alias] = (ref[0], ref[1], (paths[0] if paths else []) + [None])
        elif kind == "op" and text in ("->", "->>") and i >= 1:
            start = i - 1
            if start >= 2 and toks[start - 1][1] == ".":
                start -= 2
            ref = _column_ref(toks[start:i])
            if ref is None:
                continue
            steps: List[Optional[str]] = []
            j = i
            while j + 1 < len(toks) and toks[j][1] in ("->", "->>"):
                value = _literal(toks[j + 1])
                if isinstance(value, int):
                    steps.append(None)
                elif isinstance(value, str):
                    path = parse_path(value)
                    steps.extend(path if path is not None else [value])
                else:
                    break
                j += 2
            uses.append(Use(ref[0], ref[1], _shape_at(steps, VALUE)))
    # Reads of a json_each row's value are reads of the iterated column's elements.
    out = []
    for use in uses:
        if use.qualifier in each_alias and use.column == "value":
            qualifier, column, prefix = each_alias[use.qualifier]
            shape = _shape_at(prefix, VALUE)
            node = shape
            for step in prefix:
                node = node.element if step is None else node.members[step]  # type: ignore[union-attr,index]
            node.merge(use.shape)
            out.append(Use(qualifier, column, shape))
        elif use.qualifier not in each_alias:
            out.append(use)
    return out


def _alias_after(toks: List[Tuple[str, str]], close: int) -> Optional[str]:
    i = close + 1
    if i < len(toks) and toks[i][0] == "word" and toks[i][1].upper() == "AS":
        i += 1
    if i < len(toks) and toks[i][0] in ("word", "ident"):
        word = toks[i][1].upper()
        if toks[i][0] == "ident" or word not in ("WHERE", "JOIN", "ON", "GROUP", "ORDER", "LIMIT", "LEFT", "INNER",
                                                    "CROSS", "UNION", "SELECT", "NATURAL", "USING", "HAVING", "WINDOW"):
            return unquote_identifier(toks[i][1]).lower()
    return None


def _might_use_json(text: str) -> bool:
    lower = text.lower()
    return "json" in lower or "->" in lower


class _Learner:
    """Runs a chain's files on a scratch database (a copy of `source` when
    given: the state the files start from) and learns from each statement
    before it runs (`_before`) and from each file after it ran (`_after`).
    Here: the JSON columns; keyuse adds the key columns."""

    def __init__(self, source: Optional[sqlite3.Connection] = None) -> None:
        # Migration text runs here too, so through the engine's guard; the
        # reads the guard lets through are observed.
        self.conn = engine.copy(source) if source is not None else engine.scratch()
        self.reads: Optional[Set[Tuple[str, str]]] = None
        engine.observe(self.conn, self._authorize)
        self.found: JsonColumns = {}
        self.json = True  # learn JSON uses

    def learn_existing(self) -> None:
        """What the schema already there reads as JSON (a trigger, a CHECK,
        an expression index created by a version that does not run again):
        matched by name, as SQLite resolves such text only when it runs."""
        rows = self.conn.execute("SELECT sql FROM main.sqlite_master WHERE sql IS NOT NULL").fetchall()
        for (sql,) in rows:
            if self.json and _might_use_json(sql):
                for use in json_uses(sql):
                    for table in self._tables_for(use, sql, set()):
                        self.found.setdefault((table, use.column), JsonShape()).merge(use.shape)

    def _wants(self, text: str) -> bool:
        """Whether `_before` may learn from this file (keyuse)."""
        return False

    def _before(self, sql: str, head: str) -> None:
        """Learn from a statement about to run (keyuse); `head` is its first word."""

    def _after(self, text: str) -> None:
        """Learn from the state a whole file left (keyuse)."""

    def _authorize(self, action, arg1, arg2, _db, _source) -> int:
        if self.reads is not None and action == _SQLITE_READ and arg1 and arg2:
            self.reads.add((arg1.lower(), arg2.lower()))
        return sqlite3.SQLITE_OK

    def run(self, text: str, learn: bool) -> None:
        """Run a file's statements (transaction control left out), each in
        turn whatever the others do. One transaction for the file when none
        is open (a down runs inside its savepoint): SQLite then commits the
        file's schema changes once, not statement by statement."""
        own = not self.conn.in_transaction
        if own:
            self.conn.execute("BEGIN")
        try:
            self._run(text, learn)
        finally:
            if own and self.conn.in_transaction:
                self.conn.execute("COMMIT")

    def _run(self, text: str, learn: bool) -> None:
        json = learn and self.json and _might_use_json(text)
        others = learn and self._wants(text)
        for statement in split_statements(text):
            sql = statement.sql
            head = statement.keyword
            if head in _SKIPPED:
                continue
            uses = json_uses(sql) if json and _might_use_json(sql) else []
            if others:
                self._before(sql, head)
            self.reads = set() if uses else None
            engine.run_statement(self.conn, statement)  # a failure teaches nothing more: go on
            reads, self.reads = self.reads or set(), None
            for use in uses:
                for table in self._tables_for(use, sql, reads):
                    self.found.setdefault((table, use.column), JsonShape()).merge(use.shape)
        if learn:
            self._after(text)

    def down(self, text: str) -> None:
        """Learn from a down without keeping what it does."""
        self.conn.execute("SAVEPOINT mw_json_down")
        try:
            self.run(text, True)
        finally:
            try:
                self.conn.execute("ROLLBACK TO mw_json_down")
                self.conn.execute("RELEASE mw_json_down")
            except sqlite3.Error:
                pass

    def _has_column(self, table: str, column: str) -> bool:
        try:
            rows = self.conn.execute("SELECT name FROM pragma_table_xinfo(?)", (table,)).fetchall()
        except sqlite3.Error:
            return False
        return column in {r[0].lower() for r in rows}

    def _tables_for(self, use: Use, sql: str, reads: Set[Tuple[str, str]]) -> List[str]:
        toks = list(tokens(sql))
        aliases = _aliases(toks)
        qualifier = aliases.get(use.qualifier, use.qualifier) if use.qualifier else None
        resolved = sorted({t for t, c in reads if c == use.column})
        if qualifier in ("new", "old"):
            trigger_table = _trigger_table(toks)
            return [trigger_table] if trigger_table and self._has_column(trigger_table, use.column) else []
        if resolved:
            if qualifier is not None and qualifier in resolved:
                return [qualifier]
            if qualifier is None or len(resolved) == 1:
                return resolved
        if qualifier is not None:
            return [qualifier] if self._has_column(qualifier, use.column) else []
        own = _own_table(toks)
        if own and self._has_column(own, use.column):
            return [own]
        named = {unquote_identifier(t).lower() for k, t in toks if k in ("word", "ident", "string")}
        tables = {r[0].lower() for r in self.conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")}
        return sorted(t for t in named & tables if self._has_column(t, use.column))


def _aliases(toks: List[Tuple[str, str]]) -> Dict[str, str]:
    """alias -> table, from `FROM|JOIN|UPDATE|INTO table [AS] alias`."""
    out: Dict[str, str] = {}
    for i, (kind, text) in enumerate(toks[:-2]):
        if kind == "word" and text.upper() in ("FROM", "JOIN", "UPDATE", "INTO"):
            name = toks[i + 1]
            j = i + 2
            if j + 1 < len(toks) and toks[j][1] == ".":
                name, j = toks[j + 1], j + 2
            if name[0] not in ("word", "ident"):
                continue
            if j < len(toks) and toks[j][0] == "word" and toks[j][1].upper() == "AS":
                j += 1
            if j < len(toks) and toks[j][0] in ("word", "ident") and toks[j][1].upper() not in (
                    "WHERE", "JOIN", "ON", "SET", "LEFT", "INNER", "CROSS", "GROUP", "ORDER", "LIMIT", "SELECT",
                    "VALUES", "DEFAULT", "NATURAL", "USING", "UNION"):
                out[unquote_identifier(toks[j][1]).lower()] = unquote_identifier(name[1]).lower()
    return out


def _trigger_table(toks: List[Tuple[str, str]]) -> Optional[str]:
    words = [t.upper() if k == "word" else t for k, t in toks]
    if words[:1] != ["CREATE"] or "TRIGGER" not in words[:4] or "ON" not in words:
        return None
    on = words.index("ON")
    if on + 1 >= len(toks):
        return None
    name = toks[on + 3] if on + 3 < len(toks) and toks[on + 2][1] == "." else toks[on + 1]
    return unquote_identifier(name[1]).lower()


def _own_table(toks: List[Tuple[str, str]]) -> Optional[str]:
    """The table of a CREATE TABLE / CREATE INDEX ... ON / ALTER TABLE statement."""
    words = [t.upper() if k == "word" else t for k, t in toks]
    if words[:1] == ["CREATE"] and "INDEX" in words[:3] and "ON" in words:
        at = words.index("ON") + 1
    elif words[:1] == ["CREATE"] and "TABLE" in words[:3]:
        at = words.index("TABLE") + 1
        if words[at:at + 3] == ["IF", "NOT", "EXISTS"]:
            at += 3
    elif words[:2] == ["ALTER", "TABLE"]:
        at = 2
    else:
        return None
    if at + 2 < len(toks) and toks[at + 1][1] == ".":
        at += 2
    return unquote_identifier(toks[at][1]).lower() if at < len(toks) else None


def learn_json_columns(files: Iterable[Tuple[str, str]]) -> JsonColumns:
    """The JSON columns of a chain: `files` are (direction, text) in the
    order golang-migrate applies the ups ('up' and 'down', each down right
    after its up). Nothing is learned, and nothing run, when no file
    mentions json."""
    files = list(files)
    if not any(_might_use_json(text) for _direction, text in files):
        return {}
    learner = _Learner()
    try:
        last = max(i for i, (_d, text) in enumerate(files) if _might_use_json(text))
        for direction, text in files[:last + 1]:
            if direction == "down":
                if _might_use_json(text):
                    learner.down(text)
            else:
                learner.run(text, True)
        return learner.found
    finally:
        learner.conn.close()


def folder_json_columns(folder, read_text) -> JsonColumns:
    """`learn_json_columns` for a MigrationFolder; `read_text(file)` gives a
    file's text (None when it cannot be read)."""
    from .folder import migration_texts

    return learn_json_columns(migration_texts(folder, read_text))
