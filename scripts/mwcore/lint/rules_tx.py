"""MW2xx: transactions. golang-migrate runs each file inside one transaction
unless the project sets x-no-tx-wrap=true; then each file must run its own.

These rules read statement keywords: BEGIN, COMMIT, PRAGMA and VACUUM say
what they are in their first words, and executing them on the scratch
database would only tell what SQLite already documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, List, Optional, Tuple

from ..sqltext import unquote_identifier
from .context import FileCheck, plural
from .registry import ERROR, WARNING, Hit, rule

CHANGING = ("CREATE", "DROP", "ALTER", "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH")
ENDS = ("COMMIT", "END")


@dataclass
class TxScan:
    """Where each statement stands relative to the file's own transactions."""

    inside: List[bool] = field(default_factory=list)  # per statement: inside BEGIN..COMMIT
    problems: List[Tuple[int, str]] = field(default_factory=list)  # (statement index, what)
    open_at: Optional[int] = None  # a BEGIN never closed


def scan_transactions(f: FileCheck) -> TxScan:
    scan = TxScan()
    outer: Optional[str] = None  # "BEGIN" or the outermost savepoint's name
    opened = None
    for index in range(len(f.statements)):
        keyword = f.keyword(index)
        scan.inside.append(outer is not None)
        if keyword == "BEGIN":
            if outer is not None:
                scan.problems.append((index, "BEGIN inside a transaction this file already opened (SQLite refuses it)"))
            else:
                outer, opened = "BEGIN", index
        elif keyword in ENDS or (keyword == "ROLLBACK" and not _rollback_to(f, index)):
            if outer is None:
                scan.problems.append((index, f"{keyword} without a BEGIN before it in this file (SQLite refuses it)"))
            outer = None
        elif keyword == "SAVEPOINT" and outer is None:
            outer, opened = _savepoint_name(f, index), index
        elif keyword == "RELEASE" and outer is not None and outer != "BEGIN" and _savepoint_name(f, index) == outer:
            outer = None
        scan.inside[-1] = scan.inside[-1] or outer is not None
    if outer is not None:
        scan.open_at = opened
    return scan


def _rollback_to(f: FileCheck, index: int) -> bool:
    return "TO" in f.words(index, 4)[1:]


def _savepoint_name(f: FileCheck, index: int) -> str:
    words = [w for w in f.words(index, 4)[1:] if w != "SAVEPOINT"]
    return unquote_identifier(words[0]).lower() if words else ""


def _pragma_foreign_keys(f: FileCheck, index: int) -> bool:
    """`PRAGMA [schema.]foreign_keys = value` or `(...)` (a setting, not a query)."""
    words = f.words(index, 6)
    if len(words) >= 4 and words[2] == ".":
        words = words[:1] + words[3:]
    return len(words) >= 3 and unquote_identifier(words[1]).lower() == "foreign_keys" and words[2] in ("=", "(")


@rule("MW201", "explicit-transaction", ERROR)
def explicit_transaction(f: FileCheck) -> Iterator[Hit]:
    """BEGIN/COMMIT/ROLLBACK in a file golang-migrate already runs in a transaction."""
    if not f.wrapped:
        return
    found = [i for i in f.indexes_of("BEGIN", "COMMIT", "END", "ROLLBACK") if not (f.keyword(i) == "ROLLBACK" and _rollback_to(f, i))]
    if not found:
        return
    first = found[0]
    lines = ", ".join(f"{f.keyword(i)} (line {f.statements[i].line})" for i in found[:4])
    if f.keyword(first) == "BEGIN":
        effect = "BEGIN fails with 'cannot start a transaction within a transaction'"
    else:
        effect = f"{f.keyword(first)} ends golang-migrate's transaction early and its own COMMIT then fails"
    yield f.at(
        first,
        f"explicit transaction statements {lines}: golang-migrate already wraps this file in a transaction, so {effect}",
        "delete them; the file already runs as one transaction (only with x-no-tx-wrap=true must a file manage its own)",
    )


@rule("MW202", "savepoint-in-wrapped-file", WARNING)
def savepoint_in_wrapped_file(f: FileCheck) -> Iterator[Hit]:
    """SAVEPOINT inside golang-migrate's transaction only nests; RELEASE commits nothing."""
    if not f.wrapped:
        return
    found = list(f.indexes_of("SAVEPOINT"))
    if found:
        yield f.at(
            found[0],
            "SAVEPOINT in a file golang-migrate wraps in a transaction only nests inside it: RELEASE commits nothing "
            "and any failure still rolls back the whole file",
            "delete SAVEPOINT/RELEASE unless you ROLLBACK TO it on purpose",
        )


@rule("MW203", "pragma-foreign-keys-noop", WARNING)
def pragma_foreign_keys_noop(f: FileCheck) -> Iterator[Hit]:
    """PRAGMA foreign_keys inside a transaction, where SQLite ignores it."""
    scan = None if f.wrapped else scan_transactions(f)
    found = [i for i in f.indexes_of("PRAGMA") if _pragma_foreign_keys(f, i) and (scan is None or scan.inside[i])]
    if not found:
        return
    where = "golang-migrate's transaction" if f.wrapped else "this file's BEGIN ... COMMIT"
    settings = f.ctx.settings
    if settings.foreign_keys:
        hint = ("to rebuild a table others reference: either run golang-migrate with x-no-tx-wrap=true and write "
                "PRAGMA foreign_keys=OFF; BEGIN; ...; COMMIT; PRAGMA foreign_keys=ON; in the file (every file then "
                "manages its own transaction), or keep the wrap and copy the child rows to temp tables, delete them, "
                "rebuild, and insert them back")
    else:
        hint = f"delete it: {settings.foreign_keys_text()}, so DROP TABLE does not touch child rows anyway"
    yield f.at(
        found[0],
        f"PRAGMA foreign_keys does nothing inside {where}"
        + (f" ({plural(len(found), 'such PRAGMA')} in this file)" if len(found) > 1 else "")
        + ": foreign-key enforcement stays as the connection had it",
        hint,
    )


@rule("MW204", "vacuum-in-transaction", ERROR)
def vacuum_in_transaction(f: FileCheck) -> Iterator[Hit]:
    """VACUUM inside a transaction, which SQLite refuses."""
    scan = None if f.wrapped else scan_transactions(f)
    for index in f.indexes_of("VACUUM"):
        if scan is None or scan.inside[index]:
            where = "golang-migrate's transaction" if f.wrapped else "this file's BEGIN ... COMMIT"
            yield f.at(index, f"VACUUM fails inside {where} ('cannot VACUUM from within a transaction')",
                       "delete it from the migration; run VACUUM separately (e.g. at app start-up or by hand)")


@rule("MW205", "unwrapped-without-transaction", ERROR)
def unwrapped_without_transaction(f: FileCheck) -> Iterator[Hit]:
    """With x-no-tx-wrap, a file whose changes are not inside its own BEGIN/COMMIT."""
    if f.wrapped or not f.statements:
        return
    scan = scan_transactions(f)
    outside = [i for i in range(len(f.statements)) if f.keyword(i) in CHANGING and not scan.inside[i]]
    changing = [i for i in range(len(f.statements)) if f.keyword(i) in CHANGING]
    if len(changing) < 2 or not outside:
        return
    yield f.at(
        outside[0],
        f"the project runs golang-migrate with x-no-tx-wrap=true ({f.ctx.settings.no_tx_wrap_source}) and "
        f"{plural(len(outside), 'change')} of this file run outside a transaction: if a later statement fails, the "
        "earlier ones stay applied and a retry after `migrate force` fails on them",
        "put the file's statements between BEGIN; and COMMIT; (PRAGMA foreign_keys lines go outside it)",
    )


@rule("MW206", "unbalanced-transaction", ERROR)
def unbalanced_transaction(f: FileCheck) -> Iterator[Hit]:
    """With x-no-tx-wrap, a BEGIN never committed, or a COMMIT without BEGIN."""
    if f.wrapped:
        return
    scan = scan_transactions(f)
    for index, what in scan.problems[:1]:
        yield f.at(index, what, "give the file exactly one BEGIN; ... COMMIT; around its changes")
    if scan.open_at is not None:
        yield f.at(scan.open_at, "this BEGIN is never committed: the file ends inside its transaction, and golang-migrate's "
                   "next step on that connection fails", "end the file's changes with COMMIT;")
