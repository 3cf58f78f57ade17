"""MW3xx: table rebuilds and ALTER TABLE, judged by what each statement did
to the scratch database's schema."""

from __future__ import annotations

import re
from typing import Dict, Iterator, List, Optional, Set

from .analysis import FileAnalysis
from .context import FileCheck, name_list, statement_sql
from .registry import ERROR, WARNING, Hit, rule
from .rules_sql import DROP_COLUMN, VIEW_RENAME, error_suffix, first_error_of
from .shapes import definition_key
from .tracker import Obj

REBUILD_HOW = ("build the new table under a temporary name, copy the rows, DROP TABLE the old one, "
               "ALTER TABLE the new one RENAME TO the old name, then recreate its indexes and triggers")


def at_end(fa: FileAnalysis, obj: Obj) -> Optional[Obj]:
    """The object with obj's key when the file ends (obj itself if untouched)."""
    if obj.key in fa.delta:
        return fa.delta[obj.key][1]
    return obj


def end_objects_on(fa: FileAnalysis, table_key: str) -> List[Obj]:
    return [after for _before, after in fa.delta.values() if after is not None and after.table_key == table_key]


def lost_objects(f: FileCheck, objects: List[Obj], table: Obj) -> List[Obj]:
    """Indexes/triggers of `table` (as they were) that the file does not
    bring back by name or by definition, and that could still exist."""
    final = at_end(f.fa, table)
    if final is None:
        return []
    present = {definition_key(o) for o in end_objects_on(f.fa, table.table_key)}
    out = []
    for obj in objects:
        if obj.type not in ("index", "trigger") or not obj.sql:
            continue
        if at_end(f.fa, obj) is not None or definition_key(obj) in present:
            continue
        if obj.type == "index" and final.sql and f.ctx.shapes.fails([final.sql], obj.sql):
            continue  # its columns are gone on purpose: it cannot be recreated
        out.append(obj)
    return out


def rebuild_losses(f: FileCheck) -> Dict[int, List[Obj]]:
    """Statement index -> indexes/triggers its DROP TABLE removed for good
    from a table the file recreates (a rebuild)."""
    out: Dict[int, List[Obj]] = {}
    for fact in f.facts():
        for table in fact.change.dropped_tables():
            if at_end(f.fa, table) is None:
                continue
            owned = [o for o in fact.change.dropped if o.table_key == table.table_key and o.key != table.key]
            lost = lost_objects(f, owned, table)
            if lost:
                out[fact.index] = lost
    return out


def recreate_hint(objects: List[Obj]) -> str:
    return f"recreate {'it' if len(objects) == 1 else 'them'} after the new table is in place (SQL below)"


@rule("MW301", "rename-old-away", ERROR)
def rename_old_away(f: FileCheck) -> Iterator[Hit]:
    """A rebuild that renames the OLD table away first; references follow it and dangle."""
    facts = f.facts()
    for position, fact in enumerate(facts):
        for old, new in fact.change.renamed:
            dropped_later = any(new.key in {t.key for t in later.change.dropped_tables()} for later in facts[position + 1:])
            if not dropped_later or at_end(f.fa, old) is None:
                continue
            rewritten = [after for before, after in fact.change.altered
                         if after.table_key != new.table_key and after.type in ("table", "view", "trigger")]
            moved = [before for before, after in fact.change.altered
                     if after.table_key == new.table_key and after.type in ("index", "trigger")]
            lost = lost_objects(f, moved, old)
            if not rewritten and not lost:
                continue
            parts = []
            if rewritten:
                labels = [f"{o.name}'s foreign keys" if o.type == "table" else o.label() for o in rewritten]
                parts.append(f"SQLite rewrites {name_list(labels)} to point at {new.name}, which dangle once "
                             f"{new.name} is dropped")
            if lost:
                parts.append(f"{name_list([o.name for o in lost])} move with it and are dropped with it")
            yield f.at(
                fact.index,
                f"this rebuild renames the old table {old.name} away first: " + "; ".join(parts),
                REBUILD_HOW,
            )


@rule("MW302", "rebuild-loses-index-or-trigger", ERROR)
def rebuild_loses_index_or_trigger(f: FileCheck) -> Iterator[Hit]:
    """A rebuild (DROP TABLE x, then x again) that does not recreate all of x's indexes and triggers."""
    for index, lost in sorted(rebuild_losses(f).items()):
        table = lost[0].tbl_name
        kinds = sorted({o.type for o in lost})
        yield f.at(
            index,
            f"DROP TABLE {table} also drops {' and '.join(kinds)} {name_list([o.name for o in lost])}, and this file "
            f"recreates {table} without {'it' if len(lost) == 1 else 'them'}",
            recreate_hint(lost), sql=statement_sql(lost),
        )


_INDEX_IN = re.compile(r"error in index (\S+) after drop column")
_VIEW_IN = re.compile(r"error in (view|trigger) (\S+) after drop column")


@rule("MW303", "drop-column-fails", ERROR)
def drop_column_fails(f: FileCheck) -> Iterator[Hit]:
    """ALTER TABLE ... DROP COLUMN that SQLite refuses (indexed, UNIQUE, key, used by a view...)."""
    fact = first_error_of(f, DROP_COLUMN)
    if fact is None:
        return
    message = fact.error or ""
    index = _INDEX_IN.search(message)
    view = _VIEW_IN.search(message)
    if index:
        hint = f"DROP INDEX {index.group(1)}; before dropping the column (and recreate it without the column if needed)"
    elif view:
        hint = f"DROP {view.group(1).upper()} {view.group(2)}; first and recreate it without the column afterwards"
    else:
        hint = f"SQLite cannot drop this column in place: {REBUILD_HOW}"
    yield f.at(fact.index, f"SQLite refuses this DROP COLUMN: {message}{error_suffix(f.fa)}", hint)


@rule("MW304", "rebuild-breaks-view", ERROR)
def rebuild_breaks_view(f: FileCheck) -> Iterator[Hit]:
    """A rebuild's RENAME that fails because a view or trigger reads the dropped table."""
    fact = first_error_of(f, VIEW_RENAME)
    if fact is None:
        return
    yield f.at(
        fact.index,
        f"the rebuild's RENAME fails: {fact.error} (a view or trigger still names the table while it does not exist)"
        + error_suffix(f.fa),
        "DROP VIEW (or TRIGGER) before DROP TABLE and create it again after the RENAME; or put "
        "PRAGMA legacy_alter_table=ON; before the RENAME and PRAGMA legacy_alter_table=OFF; after it",
    )


def _fk_off_before(f: FileCheck, index: int) -> bool:
    """With x-no-tx-wrap: a PRAGMA foreign_keys=OFF outside a transaction is in effect."""
    if f.wrapped:
        return False
    from .rules_tx import _pragma_foreign_keys, scan_transactions

    scan = scan_transactions(f)
    off = False
    for i in range(index):
        if f.keyword(i) == "PRAGMA" and _pragma_foreign_keys(f, i) and not scan.inside[i]:
            value = [w for w in f.words(i, 8) if w not in ("(", ")", "=", ";")][-1:]
            off = bool(value) and value[0].strip("'\"").upper() in ("OFF", "0", "FALSE", "NO")
    return off


def emptied_tables(f: FileCheck, before: int) -> Set[str]:
    """Tables a `DELETE FROM t` without WHERE empties before statement `before`."""
    from .rules_safety import dml_target

    out = set()
    for i in range(before):
        if f.keyword(i) in ("DELETE", "WITH"):
            target = dml_target(f, i)
            if target is not None and target[0] == "DELETE" and not target[2]:
                out.add(target[1])
    return out


_ACTIONS = {
    "CASCADE": "deletes the rows of {c} that point to it",
    "SET NULL": "sets their reference to NULL in {c}",
    "SET DEFAULT": "sets their reference to its default in {c}",
}


@rule("MW305", "drop-referenced-table", ERROR)
def drop_referenced_table(f: FileCheck) -> Iterator[Hit]:
    """DROP TABLE of a table others reference while the project enforces foreign keys."""
    settings = f.ctx.settings
    if not settings.foreign_keys:
        return
    for fact in f.facts():
        if not fact.children or _fk_off_before(f, fact.index):
            continue
        emptied = emptied_tables(f, fact.index)
        effects = []
        for table_key, children in fact.children.items():
            for child, action in children:
                if child.lower() in emptied:
                    continue
                text = _ACTIONS.get(action.upper(), "fails with 'FOREIGN KEY constraint failed' when {c} has rows "
                                    "pointing to it (at COMMIT if deferred; defer_foreign_keys does not help)")
                effects.append(text.format(c=child))
        if not effects:
            continue
        dropped = fact.change.dropped_tables()[0].name
        yield f.at(
            fact.index,
            f"{settings.foreign_keys_text()}: DROP TABLE {dropped} first deletes all its rows, which "
            + "; ".join(dict.fromkeys(effects)),
            "drop the referencing tables first; to rebuild a referenced table, copy the child rows to temp tables, "
            "delete them, rebuild, and insert them back (or use x-no-tx-wrap=true with PRAGMA foreign_keys=OFF "
            "before BEGIN)",
        )


@rule("MW306", "drop-column-breaks-trigger", ERROR)
def drop_column_breaks_trigger(f: FileCheck) -> Iterator[Hit]:
    """DROP COLUMN of a column a trigger on another table writes: the drop works, the trigger then fails."""
    for fact in f.facts():
        if not fact.broken_triggers:
            continue
        names = [name for name, _table, _error in fact.broken_triggers]
        tables = list(dict.fromkeys(table for _name, table, _error in fact.broken_triggers))
        error = fact.broken_triggers[0][2]
        dropped = []
        for before, after in fact.change.altered:
            if before.type == "table":
                kept = {c.lower() for c in f.ctx.shapes.columns(after)}
                dropped += [f"{before.name}.{c}" for c in f.ctx.shapes.columns(before) if c.lower() not in kept]
        one = len(names) == 1
        yield f.at(
            fact.index,
            f"dropping {name_list(dropped) or 'this column'} works, but {'trigger' if one else 'triggers'} "
            f"{name_list(names)} on {name_list(tables)} {'writes' if one else 'write'} it (SQLite checks the columns "
            f"a trigger on another table reads, not those it writes): from now on every statement that fires "
            f"{'it' if one else 'them'} fails with '{error}'",
            f"in this file, DROP TRIGGER {names[0]}; and create it again without the column (or drop it for good)",
        )


def _tightened(f: FileCheck, before: Obj, after: Obj) -> List[str]:
    """Columns of a table (there before and after the file) that were
    nullable and are NOT NULL at the end, as SQLite reads both definitions."""
    old, new = f.ctx.shapes.table(before), f.ctx.shapes.table(after)
    if old is None or new is None:
        return []
    out = []
    for column in new.columns:
        was = old.column(column.name)
        if column.notnull and was is not None and not was.notnull and not was.pk and column.hidden not in (2, 3):
            out.append(column.name)
    return out


_FILLS = ("COALESCE", "IFNULL", "CASE", "NULLIF")


def _static_copy_without_fill(f: FileCheck, new_table, column: str) -> Optional[int]:
    """Where SQLite cannot be asked: the INSERT ... SELECT of the file that
    names no COALESCE/IFNULL/CASE, when the column has no DEFAULT."""
    if new_table is None or any(c.name.lower() == column.lower() and c.default is not None for c in new_table.columns):
        return None
    from ..sqltext import tokens

    for index in f.indexes_of("INSERT", "REPLACE", "WITH"):
        words = [text.upper() for kind, text in tokens(f.statements[index].sql) if kind == "word"]
        if "SELECT" in words and not any(w in _FILLS for w in words):
            return index
    return None


@rule("MW307", "rebuild-not-null-without-fill", ERROR)
def rebuild_not_null_without_fill(f: FileCheck) -> Iterator[Hit]:
    """A rebuild that makes a column NOT NULL and copies the old NULLs into it as they are."""
    rebuilt = {o.key for fact in f.facts() for o in fact.change.dropped if o.type == "table"}
    for key, (before, after) in sorted(f.fa.delta.items()):
        if before is None or after is None or before.type != "table" or key not in rebuilt:
            continue
        for column in _tightened(f, before, after):
            objects = f.ctx.schema_before(f.fa).values()
            tested, index, error = f.ctx.shapes.run_with_rows(
                objects, [s.sql for s in f.statements], null=(before.name, column))
            if tested and index is None:
                continue  # the copy fills or leaves out the NULL rows
            if tested and error and error.startswith("NOT NULL constraint failed: ") \
                    and error.lower().endswith("." + column.lower()):
                where = index
                how = f"a row with NULL in {column} makes it fail: {error}"
            else:
                where = _static_copy_without_fill(f, f.ctx.shapes.table(after), column)
                if where is None:
                    continue
                how = f"its copy has no COALESCE/IFNULL and {column} no DEFAULT, so a row with NULL there fails it"
            if f.is_down:
                # Undoing a change that made the column nullable: failing on
                # rows that gained a NULL since is a choice (no value is
                # invented); filling them is the other.
                yield f.at(
                    where,
                    f"this down makes {after.name}.{column} NOT NULL again; {how}, so rolling back fails on rows "
                    f"that got a NULL after the up",
                    f"if that is not what you want, copy it as COALESCE({column}, <value>) "
                    f"(rebuild_table.py --down-fill {column} EXPR writes it)",
                    severity=WARNING,
                )
                continue
            yield f.at(
                where,
                f"this rebuild makes {after.name}.{column} NOT NULL; {how} (the empty test table has no such row)",
                f"copy it as COALESCE({column}, <value>), or UPDATE {before.name} SET {column} = <value> WHERE {column} "
                f"IS NULL first; rebuild_table.py --not-null {column} --fill {column} EXPR writes the whole rebuild",
            )
