"""MW4xx: does the down undo the up? On the scratch database, down N runs
right after up N; the schema it leaves is compared with the schema before
up N, object by object (canonical SQL, columns and foreign keys)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, List, Optional, Tuple

from .context import FileCheck, excerpt, name_list, statement_sql
from .registry import ERROR, WARNING, Hit, rule
from .rules_rebuild import rebuild_losses
from .tracker import Obj, fold

if TYPE_CHECKING:
    from ..schema import Table

ADDED, MISSING, CHANGED = "added", "missing", "changed"


def _columns(table: Optional[Table]) -> List[str]:
    return [c.name for c in table.columns] if table else []


def differences(f: FileCheck) -> List[Tuple[str, Obj, str]]:
    """(kind, object, detail) for each way the down's result differs from the
    schema before the up. Kind: ADDED (there after the down, not before the
    up), MISSING (the reverse) or CHANGED."""
    reversal = f.fa.reversal
    if not f.is_down or not reversal:
        return []
    shapes = f.ctx.shapes
    out = []
    for _key, (expected, actual) in sorted(reversal.items()):
        if expected is None and actual is not None:
            out.append((ADDED, actual, ""))
        elif actual is None and expected is not None:
            out.append((MISSING, expected, ""))
        elif expected is not None and actual is not None:
            # (the analysis already left out objects with the same canonical SQL)
            if expected.type != "table":
                out.append((CHANGED, actual, f"was {excerpt(expected.sql, 120)}, now {excerpt(actual.sql, 120)}"))
                continue
            before, after = shapes.table(expected), shapes.table(actual)
            old = {fold(c): c for c in _columns(before)}
            new = {fold(c): c for c in _columns(after)}
            for key in new:
                if key not in old:
                    out.append((ADDED, actual, f"column {actual.name}.{new[key]}"))
            for key in old:
                if key not in new:
                    out.append((MISSING, expected, f"column {expected.name}.{old[key]}"))
            detail = _table_detail(before, after)
            if detail:
                out.append((CHANGED, actual, detail))
    return out


def _table_detail(before: Optional[Table], after: Optional[Table]) -> str:
    if before is None or after is None:
        return "its definition"
    parts = []
    for column in before.columns:
        other = after.column(column.name)
        if other is not None and other != column:
            parts.append(f"column {column.name}: {column.describe()} -> {other.describe()}")
    for fk in before.foreign_keys:
        if fk not in after.foreign_keys:
            parts.append(f"foreign key {fk.describe()} missing")
    for fk in after.foreign_keys:
        if fk not in before.foreign_keys:
            parts.append(f"foreign key {fk.describe()} added")
    shared_before = [c.name.lower() for c in before.columns if after.column(c.name)]
    shared_after = [c.name.lower() for c in after.columns if before.column(c.name)]
    if shared_before != shared_after:
        parts.append("column order")
    if not parts and before.sql != after.sql:
        parts.append("constraints (CHECK, UNIQUE, DEFAULT or key clauses)")
    return "; ".join(parts)


def _statement_touching(f: FileCheck, obj: Obj) -> Optional[int]:
    found = None
    for fact in f.facts():
        change = fact.change
        touched = [o.key for o in change.created + change.dropped] + [b.key for b, _a in change.altered]
        if obj.key in touched:
            found = fact.index
    return found


def _hit(f: FileCheck, obj: Obj, message: str, hint: str, sql: str = "") -> Hit:
    index = _statement_touching(f, obj)
    return f.at(index, message, hint, sql=sql) if index is not None else f.at_top(message, hint, sql=sql)


def _up_name(f: FileCheck) -> str:
    up = f.other()
    return up.name if up is not None else "the up"


@rule("MW401", "down-leaves-object", ERROR)
def down_leaves_object(f: FileCheck) -> Iterator[Hit]:
    """Something the up creates that is still there after the down."""
    for kind, obj, detail in differences(f):
        if kind != ADDED:
            continue
        what = detail or obj.label()
        yield _hit(
            f, obj,
            f"after this down, {what} still exists although it did not before {_up_name(f)}: running up again "
            "then fails or finds a different schema",
            "drop it in the down (SQL below)", _drop_sql(obj, detail),
        )


def _drop_sql(obj: Obj, detail: str) -> str:
    if detail.startswith("column "):
        table, _, column = detail[len("column "):].partition(".")
        return f"ALTER TABLE {table} DROP COLUMN {column};"
    return f"DROP {obj.type.upper()} {obj.name};"


@rule("MW402", "down-does-not-restore", ERROR)
def down_does_not_restore(f: FileCheck) -> Iterator[Hit]:
    """Something that existed before the up and is gone after the down."""
    lost_in_rebuild = {o.key for objects in rebuild_losses(f).values() for o in objects}
    for kind, obj, detail in differences(f):
        if kind != MISSING or (not detail and obj.key in lost_in_rebuild):
            continue
        what = detail or obj.label()
        recreate = bool(obj.sql) and not detail
        hint = "recreate it in the down (SQL below)" if recreate else \
            "restore it in the down exactly as it was before the up"
        yield _hit(f, obj, f"{what} existed before {_up_name(f)} but not after this down", hint,
                   statement_sql([obj]) if recreate else "")


@rule("MW403", "down-changes-definition", ERROR)
def down_changes_definition(f: FileCheck) -> Iterator[Hit]:
    """An object the down restores with a different definition than before the up."""
    for kind, obj, detail in differences(f):
        if kind == CHANGED:
            yield _hit(
                f, obj,
                f"after this down, {obj.label()} differs from before {_up_name(f)}: {detail}",
                "make the down recreate it exactly as the earlier migrations define it",
            )


@rule("MW404", "drop-order", WARNING)
def drop_order(f: FileCheck) -> Iterator[Hit]:
    """A table dropped before the tables that reference it (which this file drops later)."""
    if f.ctx.settings.foreign_keys:
        return  # MW305 reports it as an error then
    facts = f.facts()
    for position, fact in enumerate(facts):
        if not fact.children:
            continue
        later = {t.table_key for other in facts[position + 1:] for t in other.change.dropped_tables()}
        for table_key, children in fact.children.items():
            pending = sorted({child for child, _action in children if fold(child) in later})
            if pending:
                yield f.at(
                    fact.index,
                    f"drops {table_key} while {name_list(pending)} still "
                    f"{'references' if len(pending) == 1 else 'reference'} it (dropped later in this file): "
                    "with foreign keys enforced this DROP deletes or fails on their rows",
                    f"drop {name_list(pending)} first, then {table_key}",
                )
