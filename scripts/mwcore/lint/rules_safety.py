"""MW5xx: statements that work but can lose data or fail on a database with rows."""

from __future__ import annotations

import re
from typing import Dict, Iterator, List, Optional, Set, Tuple

from ..sqltext import tokens, unquote_identifier
from .context import FileCheck, name_list
from .registry import ERROR, INFO, WARNING, Hit, rule
from .tracker import fold

_VERBS = ("SELECT", "INSERT", "REPLACE", "UPDATE", "DELETE", "VALUES")


def dml_target(f: FileCheck, index: int) -> Optional[Tuple[str, str, bool]]:
    """(verb, folded target table, has a top-level WHERE) of an UPDATE or
    DELETE statement (also after WITH ...), else None. Read from tokens:
    whether a WHERE exists is not something executing the statement shows."""
    depth, verb, target, where, schema = 0, None, None, False, None
    expect_name = after_name = False
    for kind, text in tokens(f.statements[index].sql):
        upper = text.upper() if kind == "word" else text
        if text in ("(", ")"):
            depth += 1 if text == "(" else -1
            after_name = False
            continue
        if depth:
            continue
        if verb is None:
            if upper in _VERBS:
                if upper not in ("UPDATE", "DELETE"):
                    return None
                verb, expect_name = upper, True
            continue
        if expect_name:
            if upper in ("FROM", "OR", "ROLLBACK", "ABORT", "REPLACE", "FAIL", "IGNORE"):
                continue
            if kind in ("word", "ident", "string"):
                target = fold(text[1:-1] if kind == "string" else unquote_identifier(text))
                expect_name, after_name = False, True
            continue
        if after_name and text == ".":
            expect_name, after_name, schema = True, False, target  # schema-qualified: the name follows
            continue
        after_name = False
        if upper == "WHERE":
            where = True
    if verb is None or target is None or schema in ("temp", "temporary"):
        return None
    return verb, target, where


def _temp_tables(f: FileCheck) -> Set[str]:
    out = set()
    for i in f.indexes_of("CREATE"):
        words = f.words(i, 10)
        if len(words) > 3 and words[1] in ("TEMP", "TEMPORARY") and words[2] == "TABLE":
            rest = words[3:]
            if rest[:3] == ["IF", "NOT", "EXISTS"]:
                rest = rest[3:]
            if rest:
                out.add(fold(unquote_identifier(rest[0])))
    return out


def _inserted_later(f: FileCheck, index: int, table: str) -> bool:
    for i in range(index + 1, len(f.statements)):
        if f.keyword(i) in ("INSERT", "REPLACE"):
            words = [fold(unquote_identifier(w)) for w in f.words(i, 8)]
            if table in words:
                return True
    return False


def _created_here(f: FileCheck, table_key: str) -> bool:
    for key, (before, after) in f.fa.delta.items():
        if key == (False, table_key) and before is None:
            return True
    return False


def _copies(f: FileCheck, before: int) -> Iterator[Tuple[int, List[Tuple[str, str]]]]:
    """(index, tokens) of the statements before `before` that copy rows:
    INSERT ... SELECT and CREATE TABLE ... AS SELECT."""
    for i in range(before):
        if f.keyword(i) not in ("INSERT", "REPLACE", "WITH", "CREATE"):
            continue
        words = list(tokens(f.statements[i].sql))
        if any(kind == "word" and text.upper() == "SELECT" for kind, text in words):
            yield i, words


def copied_tables(f: FileCheck, before: int) -> Set[str]:
    """Tables whose rows a statement before `before` copies somewhere (FROM/JOIN t)."""
    out: Set[str] = set()
    for _i, words in _copies(f, before):
        for position, (kind, text) in enumerate(words[:-1]):
            if kind == "word" and text.upper() in ("FROM", "JOIN"):
                nxt = words[position + 1]
                if position + 3 < len(words) and words[position + 2][1] == ".":
                    nxt = words[position + 3]
                if nxt[0] in ("word", "ident"):
                    out.add(fold(unquote_identifier(nxt[1])))
    return out


@rule("MW501", "drop-table", WARNING)
def drop_table(f: FileCheck) -> Iterator[Hit]:
    """DROP TABLE in an up that deletes a table (and its rows) for good."""
    if not f.is_up:
        return
    origin: Dict = {}  # table key -> the table it was renamed from earlier in the file
    for fact in f.facts():
        for old, new in fact.change.renamed:
            origin[new.key] = origin.get(old.key, old)
        for table in fact.change.dropped_tables():
            first = origin.get(table.key, table)
            before = f.fa.delta.get(first.key, (None, None))[0]
            if before is None or f.fa.delta.get(table.key, (None, None))[1] is not None:
                continue  # created by this file, or rebuilt: not a loss
            if first.key != table.key and f.fa.delta.get(first.key, (None, None))[1] is not None:
                continue  # renamed away and replaced: a rebuild (MW301 judges it)
            if table.table_key in copied_tables(f, fact.index):
                continue  # its rows were copied elsewhere first
            name = table.name if first.key == table.key else f"{table.name} (formerly {first.name})"
            yield f.at(
                fact.index,
                f"DROP TABLE {name} deletes the table and every row in it; the down cannot bring the rows back",
                f"copy the data first if it may be needed (CREATE TABLE {table.name}_archive AS SELECT * FROM "
                f"{table.name};), or mark the intent: -- migration-writer: ignore MW501 <reason>",
            )


def _moved_columns(f: FileCheck) -> Set[str]:
    """Column names an INSERT ... SELECT or CREATE TABLE ... AS SELECT of this
    file reads (data moved or kept, not lost)."""
    out: Set[str] = set()
    for _i, words in _copies(f, len(f.statements)):
        seen_select = False
        for kind, text in words:
            if kind == "word" and text.upper() == "SELECT":
                seen_select = True
            elif seen_select and kind in ("word", "ident"):
                out.add(fold(unquote_identifier(text)))
    return out


@rule("MW502", "drop-column", WARNING)
def drop_column(f: FileCheck) -> Iterator[Hit]:
    """An up that removes a column (DROP COLUMN, or a rebuild without it); its data is lost."""
    if not f.is_up:
        return
    shapes = f.ctx.shapes
    moved: Optional[Set[str]] = None
    for key, (before, after) in sorted(f.fa.delta.items()):
        if before is None or after is None or before.type != "table" or before.sql == after.sql:
            continue
        kept = {fold(c) for c in shapes.columns(after)}
        lost = [c for c in shapes.columns(before) if fold(c) not in kept]
        if not lost or not kept:
            continue
        if moved is None:
            moved = _moved_columns(f) | _renamed_columns(f)
        lost = [c for c in lost if fold(c) not in moved]
        if not lost:
            continue
        index = _responsible(f, key, lost)
        yield f.at(
            index,
            f"{name_list([f'{before.name}.{c}' for c in lost])}: the up removes "
            + ("this column" if len(lost) == 1 else "these columns")
            + " and its data; the down can restore the column, not the values",
            "copy the values elsewhere first if they may be needed, or mark the intent: "
            "-- migration-writer: ignore MW502 <reason>",
        )


def _renamed_columns(f: FileCheck) -> Set[str]:
    """Old names of columns a statement renamed (RENAME COLUMN): SQLite shows
    the same columns in the same places, one of them under a new name."""
    shapes = f.ctx.shapes
    out: Set[str] = set()
    for fact in f.facts():
        for before, after in fact.change.altered:
            if before.type != "table":
                continue
            old, new = shapes.columns(before), shapes.columns(after)
            if len(old) == len(new):
                out.update(fold(a) for a, b in zip(old, new) if fold(a) != fold(b))
    return out


def _responsible(f: FileCheck, key, lost: List[str]) -> int:
    shapes = f.ctx.shapes
    for fact in f.facts():
        if any(t.key == key for t in fact.change.dropped_tables()):
            return fact.index
        for before, after in fact.change.altered:
            if before.key == key and before.type == "table":
                kept = {fold(c) for c in shapes.columns(after)}
                if any(fold(c) not in kept for c in lost):
                    return fact.index
    return 0


@rule("MW503", "update-delete-without-where", WARNING)
def update_delete_without_where(f: FileCheck) -> Iterator[Hit]:
    """UPDATE or DELETE without WHERE in an up: every row of the table changes."""
    if not f.is_up:
        return
    temps: Optional[Set[str]] = None
    for index in f.indexes_of("UPDATE", "DELETE", "WITH"):
        target = dml_target(f, index)
        if target is None or target[2] or f.failed(index):
            continue
        verb, table, _ = target
        if temps is None:
            temps = _temp_tables(f)
        if table in temps or _created_here(f, table) or (verb == "DELETE" and _inserted_later(f, index, table)):
            continue
        effect = "deletes every row of" if verb == "DELETE" else "changes every row of"
        yield f.at(
            index,
            f"{verb} without WHERE {effect} {table}, including rows users added or edited",
            "add a WHERE that matches only the rows this migration means to change",
        )


@rule("MW504", "add-column-fails-on-rows", WARNING)
def add_column_fails_on_rows(f: FileCheck) -> Iterator[Hit]:
    """ADD COLUMN that works on an empty table but fails once the table has rows."""
    settings = f.ctx.settings
    shapes = f.ctx.shapes
    for fact in f.facts():
        for before, after in fact.change.altered:
            if before.type != "table" or _created_here(f, before.table_key):
                continue
            old = {fold(c) for c in shapes.columns(before)}
            added = [c for c in shapes.columns(after) if fold(c) not in old]
            if not added:
                continue
            tested, error = shapes.fails_with_a_row(before, fact.statement.sql, foreign_keys=settings.foreign_keys)
            if not tested:
                error = _static_problem(shapes.table(after), added)
            if error:
                yield f.at(
                    fact.index,
                    f"works on the empty test table but fails on a table with rows: {error}",
                    "give the column a constant DEFAULT (NOT NULL needs a non-NULL one; no CURRENT_TIMESTAMP or "
                    "expression), or rebuild the table to fill it",
                )


def _static_problem(table, added: List[str]) -> Optional[str]:
    if table is None:
        return None
    for column in table.columns:
        if column.name not in added:
            continue
        default = (column.default or "").strip()
        if column.notnull and (not default or default.upper() == "NULL"):
            return "Cannot add a NOT NULL column with default value NULL"
        if default.upper().startswith("CURRENT_") or default.startswith("("):
            return "Cannot add a column with non-constant default"
    return None


def _later_users(f: FileCheck) -> Dict[str, List[str]]:
    """Folded table name -> later up files (in order) that change it or its objects."""
    cache = getattr(f.ctx, "_mw505_users", None)
    if cache is None:
        cache = {}
        for up in f.ctx.ups():
            for before, after in up.delta.values():
                for obj in (before, after):
                    if obj is not None:
                        users = cache.setdefault(obj.table_key, [])
                        if not users or users[-1] != up.name:
                            users.append(up.name)
        f.ctx._mw505_users = cache  # type: ignore[attr-defined]
    return cache


@rule("MW505", "create-table-if-not-exists", INFO)
def create_table_if_not_exists(f: FileCheck) -> Iterator[Hit]:
    """CREATE TABLE IF NOT EXISTS, which silently keeps a table that already exists with another shape."""
    if not f.is_up:
        return
    for index in f.indexes_of("CREATE"):
        words = f.words(index, 10)
        if words[1:5] != ["TABLE", "IF", "NOT", "EXISTS"] or len(words) < 6:
            continue
        raw = [text for _kind, text in tokens(f.statements[index].sql)][:8]
        name = unquote_identifier(raw[7] if len(raw) > 7 and raw[6] == "." else raw[5])
        table = fold(name)
        fact = f.fa.facts.get(index)
        created = fact is not None and any(o.type == "table" and o.table_key == table for o in fact.change.created)
        if not created:
            if fact is None or fact.error is None:
                yield f.at(index, f"{name} already exists here (an earlier migration creates it), so this statement does "
                           "nothing; a different definition here is silently ignored",
                           "delete the statement, or ALTER/rebuild the existing table")
            continue
        later = [u for u in _later_users(f).get(table, []) if _version_after(f, u)]
        if later:
            yield f.at(
                index,
                f"IF NOT EXISTS keeps an existing {name} whatever its columns (e.g. a database made before migrations), "
                f"and {later[0]} then changes {name} assuming this definition",
                "use plain CREATE TABLE so a wrong existing table fails loudly, or check its shape first",
            )


def _version_after(f: FileCheck, name: str) -> bool:
    other = f.ctx.analysis.files.get(name)
    return other is not None and other.migration.version > f.fa.migration.version


def _filled_before(f: FileCheck, index: int, table: str) -> bool:
    """An INSERT or REPLACE into `table` (folded) runs before statement `index`."""
    for i in range(index):
        if f.keyword(i) in ("INSERT", "REPLACE", "WITH"):
            words = [fold(unquote_identifier(w)) for w in f.words(i, 10)]
            if "into" in words and table in words[words.index("into") + 1:words.index("into") + 4]:
                return True
    return False


def may_hold_rows(f: FileCheck, table: str, index: int) -> bool:
    """Whether `table` (folded) can hold rows when statement `index` runs: it
    was there before this file, or this file put rows in it first (rows the
    empty test database does not have when they are copied from elsewhere)."""
    return not _created_here(f, table) or _filled_before(f, index, table)


@rule("MW506", "add-stored-column", ERROR)
def add_stored_column(f: FileCheck) -> Iterator[Hit]:
    """ADD COLUMN ... GENERATED ALWAYS AS (...) STORED on a table that can have rows: SQLite refuses it then."""
    shapes = f.ctx.shapes
    for fact in f.facts():
        if not fact.change.altered or "STORED" not in fact.statement.sql.upper():
            continue
        for before, after in fact.change.altered:
            if before.type != "table" or not may_hold_rows(f, before.table_key, fact.index):
                continue
            old, new = shapes.table(before), shapes.table(after)
            if old is None or new is None:
                continue
            stored = [c.name for c in new.columns if c.hidden == 3 and old.column(c.name) is None]
            if not stored:
                continue
            tested, error = shapes.fails_with_a_row(before, fact.statement.sql, foreign_keys=f.ctx.settings.foreign_keys)
            if tested and error is None:
                continue
            yield f.at(
                fact.index,
                f"{before.name}.{stored[0]} is a STORED generated column: ADD COLUMN works on the empty test table, "
                f"but on a table with rows SQLite refuses it ({error or 'cannot add a STORED column'})",
                "add it as VIRTUAL (computed when read; it can be indexed), or rebuild the table with the STORED column "
                "in its CREATE TABLE and copy the rows",
            )


def _stripped_items(sql: str) -> List[str]:
    """An index's key items without ASC/DESC, usable in SELECT and GROUP BY."""
    from ..schema import index_parts

    items = []
    for item in index_parts(sql)[0]:
        words = item.split()
        if words and words[-1].upper() in ("ASC", "DESC"):
            item = item[: item.rstrip().rfind(words[-1])].rstrip()
        items.append(item)
    return items


def duplicates_query(index_sql: str, table: str) -> str:
    """The read-only query that lists the rows a new UNIQUE index would
    refuse: equal keys (NULLs never clash), within its WHERE if partial."""
    from ..schema import index_parts
    from ..sqltext import quote_identifier

    items = _stripped_items(index_sql)
    where = index_parts(index_sql)[1]
    conditions = [f"{item} IS NOT NULL" for item in items] + ([f"({where})"] if where else [])
    keys = ", ".join(items)
    name = table if table.isidentifier() else quote_identifier(table)
    return (f"SELECT {keys}, count(*) AS copies FROM {name} WHERE {' AND '.join(conditions)} "
            f"GROUP BY {keys} HAVING count(*) > 1 LIMIT 5;")


def _deleted_before(f: FileCheck, index: int, table: str) -> bool:
    for i in range(index):
        if f.keyword(i) in ("DELETE", "WITH"):
            target = dml_target(f, i)
            if target is not None and target[0] == "DELETE" and target[1] == table:
                return True
    return False


_UNIQUE_INDEX = re.compile(r"\s*CREATE\s+UNIQUE\s", re.I)


@rule("MW507", "unique-index-on-rows", WARNING)
def unique_index_on_rows(f: FileCheck) -> Iterator[Hit]:
    """CREATE UNIQUE INDEX on a table that already has rows: it fails on duplicates the test database cannot show."""
    if not f.is_up:
        return
    shapes = f.ctx.shapes
    for key, (before, after) in sorted(f.fa.delta.items()):
        if after is None or after.type != "index" or not _UNIQUE_INDEX.match(after.sql or ""):
            continue
        table_delta = f.fa.delta.get((False, after.table_key))
        existed = table_delta is None or table_delta[0] is not None
        created_at = [fact.index for fact in f.facts()
                      if any(o.key == key for o in fact.change.created) or any(b.key == key for b, _ in fact.change.altered)]
        where = created_at[-1] if created_at else 0
        if not existed and not _filled_before(f, where, after.table_key):
            continue
        table = at_end_table(f, after.table_key)
        snap, _failed = shapes.materialize([o for o in (table, after) if o is not None])
        index = snap.indexes.get(after.name.lower())
        if index is None or not index.unique:
            continue
        columns = {c.lower() for c in index.columns if c is not None}
        if existed and None not in index.columns:
            start = f.ctx.schema_before(f.fa)
            owned = [o for o in start.values() if o.table_key == after.table_key]
            if any(k <= columns for k in shapes.unique_keys(owned, after.tbl_name)):
                continue  # these rows are already unique on (a subset of) these columns
        if _deleted_before(f, where, after.table_key):
            continue  # the file removes rows of the table first (duplicates, presumably)
        yield f.at(
            where,
            f"UNIQUE index {after.name} on {after.tbl_name}, which can already hold rows: the empty test database has "
            "no duplicates, a real one may, and then this up fails with 'UNIQUE constraint failed'",
            "run the query below on a copy of the real data first. If it lists rows, delete or merge them in this "
            "file before the index; if not, say so: -- migration-writer: ignore MW507 <checked how>",
            sql=duplicates_query(after.sql, after.tbl_name),
        )


def at_end_table(f: FileCheck, table_key: str):
    """The table object named `table_key` when the file ends (from the file's
    changes, else from the schema it started with)."""
    entry = f.fa.delta.get((False, table_key))
    if entry is not None:
        return entry[1]
    return f.ctx.schema_before(f.fa).get((False, table_key))
