"""MW1xx: SQL that SQLite rejects, found by executing each statement on the
schema the earlier migrations built."""

from __future__ import annotations

import re
import sqlite3
from typing import Iterator, Optional

from .analysis import FileAnalysis, StatementFact
from .context import FileCheck, plural
from .rules_tx import scan_transactions
from .registry import ERROR, Hit, rule

DROP_COLUMN, VIEW_RENAME, GENERIC, REFUSED = "MW303", "MW304", "MW101", "MW102"

_HINTS = [
    (re.compile(r"^no such table: (?:main\.)?(.+)$"),
     "no earlier migration creates {0} (or one dropped it): check the name and the order of the migrations"),
    (re.compile(r"^(?:table|index|view|trigger) (\S+) already exists$"),
     "an earlier migration already creates {0}: pick another name or change that object instead"),
    (re.compile(r"^there is already (?:an? )?\w+ named (\S+)$"),
     "an earlier migration already creates {0}: pick another name"),
    (re.compile(r"^no such column: (.+)$"),
     "the table has no column {0} at this point: check the name against the earlier migrations"),
    (re.compile(r"^duplicate column name: (.+)$"),
     "an earlier migration already adds column {0}"),
    (re.compile(r"^Cannot add a (UNIQUE|PRIMARY KEY) column$"),
     "ADD COLUMN cannot add a {0} column: add it plainly and CREATE UNIQUE INDEX on it, or rebuild the table"),
    (re.compile(r"^no such function: (.+)$"),
     "SQLite " + sqlite3.sqlite_version + " here has no function {0}; if the app's newer SQLite (mattn/go-sqlite3) "
     "has it, mark the statement: -- migration-writer: ignore MW101 <why>"),
    (re.compile(r"^near \"(.+)\": syntax error$"),
     "SQL syntax error near {0} (checked with SQLite " + sqlite3.sqlite_version + "; the app's mattn/go-sqlite3 may be newer)"),
]


def classify(fa: FileAnalysis, fact: StatementFact) -> str:
    """The rule that owns a statement's SQLite error."""
    if fact.refusal is not None:
        return REFUSED
    words = [w.upper() for w in fact.statement.sql.split(None, 6)[:6]]
    message = fact.error or ""
    if words[:1] == ["ALTER"] and "DROP" in words and ("drop column" in message or message.startswith("cannot drop")):
        return DROP_COLUMN
    if words[:1] == ["ALTER"] and "RENAME" in words and re.match(r"error in (view|trigger) .+: no such (table|column)", message):
        return VIEW_RENAME
    return GENERIC


def first_error_of(f: FileCheck, code: str) -> Optional[StatementFact]:
    fact = f.fa.first_error()
    if fact is None or classify(f.fa, fact) != code:
        return None
    return fact


def error_suffix(fa: FileAnalysis) -> str:
    """Notes on later errors of the file and on an earlier failed migration."""
    notes = []
    later = fa.error_count() - 1
    if later > 0:
        notes.append(f"{plural(later, 'later statement')} of this file fail too (perhaps because of this one)")
    if fa.earlier_failure:
        notes.append(f"{fa.earlier_failure} failed earlier, which may cause this")
    if fa.state_reset_at is not None:
        notes.append("this statement ended the transaction; the rest of the file was not checked")
    return f" ({'; '.join(notes)})" if notes else ""


def hint_for(message: str) -> str:
    for pattern, text in _HINTS:
        match = pattern.match(message)
        if match:
            return text.format(*match.groups())
    return ""


@rule("MW101", "sql-error", ERROR)
def sql_error(f: FileCheck) -> Iterator[Hit]:
    """A statement SQLite rejects on the schema the earlier migrations build."""
    fact = first_error_of(f, GENERIC)
    if fact is None:
        return
    where = "after the earlier migrations" if f.is_up else f"after {f.other().name if f.other() else 'the up'}"
    yield f.at(
        fact.index,
        f"SQLite rejects this statement {where}: {fact.error}{error_suffix(f.fa)}",
        hint_for(fact.error or ""),
    )


@rule("MW102", "refused-statement", ERROR)
def refused_statement(f: FileCheck) -> Iterator[Hit]:
    """A statement that reaches outside the database (ATTACH of a file,
    VACUUM INTO, load_extension(), PRAGMAs that touch files or limits): the
    scratch database's guard refuses it, and golang-migrate would run it
    from the application's own process."""
    scan = None
    found = []
    for fact in f.facts():
        if fact.refusal is None:
            continue
        if fact.error is None:  # a VACUUM, shown to the guard outside the scratch transaction
            scan = scan or (None if f.wrapped else scan_transactions(f))
            if scan is None or scan.inside[fact.index]:
                continue  # it fails inside a transaction before it opens anything: MW204's finding
        found.append(fact)
    if not found:
        return
    more = f" ({plural(len(found), 'refused statement')} in this file)" if len(found) > 1 else ""
    suffix = error_suffix(f.fa) if found[0].error is not None else ""
    yield f.at(found[0].index, f"{found[0].refusal}{more}{suffix}",
               "do this outside the migrations (in the app, or by hand); a migration should change only the "
               "database golang-migrate runs it on")
