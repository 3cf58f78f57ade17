"""Run every migration on a scratch database and record what each statement did.

The scratch database is in memory and starts empty, as golang-migrate finds
a new database (its schema_migrations table included). Up files run in
version order, each after a SAVEPOINT, so each file is checked against the
schema the earlier migrations built. Every statement is executed on its own;
its SQLite error (with its line) or its effect on the schema (a `Change`,
from `SchemaTracker`) is recorded.

Down files run afterwards, newest first: down N runs on the schema after up
N, and what it leaves is compared with the schema before up N. When a down
does not restore that schema exactly, ROLLBACK TO the savepoint taken before
up N brings the scratch database back to it for the next down.

With `checked` (a scope's new versions), the other versions are shipped:
their ups are only applied, statement by statement and without recording
anything, to build the schema the checked ones start from (a failing
statement is noted in `Analysis.shipped_failures` and skipped, so the state
is the closest one that can be built), and their downs never run. The
schema change of each run of shipped ups is recorded on its last up, so
`Context.schema_before` still sees it. When a `prefix` memo is given, the
shipped ups before the first checked version are applied once (with
foreign keys off) and later runs (foreign keys on) start from a copy of
that state.

Transaction control (BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT, RELEASE, VACUUM)
is not executed in the scratch transaction: the transaction rules judge it
from the statement text. Everything else runs through `mwcore.engine`, whose
guard refuses what would reach outside the database (ATTACH of a file, ...);
a VACUUM is shown to the guard on an empty side database, outside any
transaction, so VACUUM INTO is refused by the guard too. Each statement runs
within its file's time budget. Nothing here touches a user's database.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

from ..engine import REFUSED, SQL_ERROR, copy, file_budget, run_statement, scratch
from ..folder import Migration, MigrationFile, MigrationFolder
from ..sqlfuncs import register
from ..sqltext import Statement, normalize_sql, quote_identifier, split_statements
from .tracker import NO_CHANGE, Change, Obj, SchemaTracker, dropped_column_table, first_word, fold

Key = Tuple[bool, str]
Delta = Dict[Key, Tuple[Optional[Obj], Optional[Obj]]]  # key -> (before, after)

NOT_EXECUTED = {
    "BEGIN": "transaction control",
    "COMMIT": "transaction control",
    "END": "transaction control",
    "ROLLBACK": "transaction control",
    # The scratch database nests its own savepoints; a migration's RELEASE
    # or ROLLBACK TO would unwind them. MW202 judges these from the text.
    "SAVEPOINT": "savepoint control",
    "RELEASE": "savepoint control",
    "VACUUM": "VACUUM",
}
DATA_ONLY = frozenset(("INSERT", "UPDATE", "DELETE", "REPLACE", "SELECT", "VALUES", "WITH"))


@dataclass
class StatementFact:
    """What running one statement showed. Only statements with something
    to say get one (an error, a skip, a schema change)."""

    index: int
    statement: Statement
    skipped: Optional[str] = None
    error: Optional[str] = None
    kind: str = SQL_ERROR  # of the error: mwcore.engine's SQL_ERROR, REFUSED, TIMEOUT or MEMORY
    # What the engine's guard refused the statement for (a skipped VACUUM
    # INTO has this without an error: it was not run, and would be refused).
    refusal: Optional[str] = None
    change: Change = NO_CHANGE
    # For each table this statement dropped: the tables still referencing
    # it right after, with their ON DELETE actions: {table key: ((child, action), ...)}
    children: Dict[str, Tuple[Tuple[str, str], ...]] = field(default_factory=dict)
    # After a DROP COLUMN: triggers of other tables that compiled before it
    # and no longer do, as (trigger, its table, SQLite's error).
    broken_triggers: Tuple[Tuple[str, str, str], ...] = ()


@dataclass
class FileAnalysis:
    file: MigrationFile
    migration: Migration
    path: Path
    text: Optional[str] = None
    read_error: Optional[str] = None
    has_bom: bool = False
    statements: List[Statement] = field(default_factory=list)
    keywords: List[str] = field(default_factory=list)  # each statement's first word, upper case
    facts: Dict[int, StatementFact] = field(default_factory=dict)
    executed: bool = False
    delta: Delta = field(default_factory=dict)
    earlier_failure: Optional[str] = None  # an earlier up that failed (errors may follow from it)
    state_reset_at: Optional[int] = None  # statement index after which checking stopped
    # Down files only: objects whose state after the down differs from the
    # state before the up: key -> (before the up, after the down).
    reversal: Optional[Delta] = None
    applied_only: bool = False  # a shipped up: applied to build the state, not checked

    @property
    def name(self) -> str:
        return self.file.name

    @property
    def direction(self) -> str:
        return self.file.direction

    @property
    def readable(self) -> bool:
        return self.text is not None

    def set_text(self, text: str, has_bom: bool = False) -> None:
        nul = text.find("\x00")
        if nul >= 0:
            # mattn/go-sqlite3 hands SQLite a C string: it silently ends at the first NUL.
            line = text.count("\n", 0, nul) + 1
            self.read_error = f"contains a NUL character (line {line}); golang-migrate's SQLite stops reading the file there"
            return
        self.text, self.has_bom = text, has_bom
        self.statements = split_statements(text)
        self.keywords = [first_word(s.sql) for s in self.statements]

    def first_error(self) -> Optional[StatementFact]:
        errors = [f for f in self.facts.values() if f.error is not None]
        return min(errors, key=lambda f: f.index) if errors else None

    def error_count(self) -> int:
        return sum(1 for f in self.facts.values() if f.error is not None)

    def changed_schema(self) -> bool:
        return any(before is not None or after is not None for before, after in self.delta.values())


class ShippedFailure(NamedTuple):
    """A statement of a shipped up that failed while the state was built."""

    file: str
    line: int
    error: str


@dataclass
class Analysis:
    files: Dict[str, FileAnalysis] = field(default_factory=dict)
    referenced_drop: bool = False  # some statement dropped a table others reference
    columns: Dict[Obj, Tuple[str, ...]] = field(default_factory=dict)  # table -> column names (read live)
    shipped_failures: List[ShippedFailure] = field(default_factory=list)

    def get(self, migration_file: Optional[MigrationFile]) -> Optional[FileAnalysis]:
        return self.files.get(migration_file.name) if migration_file is not None else None


class _StateLost(Exception):
    """A statement ended the scratch transaction (RAISE(ROLLBACK), ...)."""


def _message(text: str) -> str:
    if text.startswith("statement could not be isolated") or "one statement at a time" in text:
        return f"SQLite reads more than one statement here ({text})"
    if "null character" in text:
        return "the statement contains a NUL character"
    return text


class Runner:
    """Builds the scratch database and fills in the FileAnalysis objects."""

    def __init__(self, folder: MigrationFolder, analysis: Analysis, *, foreign_keys: bool,
                 migrations_table: str = "schema_migrations", verify: bool = False, sql_functions: tuple = (),
                 checked: Optional[Callable[[int], bool]] = None, prefix: Optional[dict] = None) -> None:
        self.sql_functions = sql_functions
        self.checked = checked or (lambda version: True)
        self.prefix = prefix
        self.folder = folder
        self.analysis = analysis
        self.foreign_keys = foreign_keys
        self.table = migrations_table
        self.verify = verify
        self.migrations = folder.migrations
        self._open()

    # -- the scratch database ----------------------------------------------------
    def _open(self, source: Optional[sqlite3.Connection] = None) -> None:
        if source is not None:
            self.conn = copy(source, foreign_keys=self.foreign_keys)
        else:
            self.conn = scratch(foreign_keys=self.foreign_keys)
        register(self.conn, self.sql_functions)
        if source is None:
            table = quote_identifier(self.table)
            self.conn.execute(f"CREATE TABLE {table} (version uint64, dirty bool)")
            self.conn.execute(f"CREATE UNIQUE INDEX version_unique ON {table} (version)")
        self.tracker = SchemaTracker(self.conn, ignore=[self.table], verify=self.verify)
        self.tracker.columns = self.analysis.columns
        self.conn.execute("BEGIN")

    @staticmethod
    def _savepoint(index: int) -> str:
        return f"_mw_lint_before_{index}"

    def _replay(self, upto: int) -> None:
        """A fresh scratch database with ups [0, upto) applied, facts unchanged
        (from the memo's copy of the shipped prefix when there is one)."""
        try:
            self.conn.close()
        except sqlite3.Error:
            pass
        memo = self.prefix or {}
        start = memo["first"] if "conn" in memo and memo["first"] <= upto else 0
        self._open(source=memo["conn"] if start else None)
        applied = False
        for index in range(start, upto):
            self.conn.execute(f"SAVEPOINT {self._savepoint(index)}")
            up = self.analysis.get(self.migrations[index].up)
            if up is not None and up.applied_only:
                if up.state_reset_at is None:
                    self._apply(up, record=False)
                    applied = True
            elif up is not None and up.executed and up.state_reset_at is None:
                self._execute(up, record=False)
        if applied:
            self.tracker.reset()

    # -- running files -------------------------------------------------------------
    def run(self) -> None:
        self._run_ups()
        self._run_downs()
        self.conn.close()

    def _first_checked(self) -> int:
        for index, migration in enumerate(self.migrations):
            if self.checked(migration.version):
                return index
        return len(self.migrations)

    def _reuse_prefix(self, first: int) -> Optional[str]:
        """Start from the memo's copy of the state after the shipped ups
        before `first`; returns the first of them that failed. Their
        savepoints are not recreated: nothing rolls back below `first`
        (a restore that would, replays instead)."""
        memo = self.prefix or {}
        try:
            self.conn.close()
        except sqlite3.Error:
            pass
        self._open(source=memo["conn"])
        for name, (delta, reset_at) in memo["files"].items():
            fa = self.analysis.files.get(name)
            if fa is not None:
                fa.applied_only = fa.executed = True
                fa.delta, fa.state_reset_at = dict(delta), reset_at
        self.analysis.shipped_failures.extend(memo["failures"])
        return memo["failed"]

    def _keep_prefix(self, first: int, failed: Optional[str]) -> None:
        """Put a copy of the state after the shipped ups before `first` in
        the memo (the scratch transaction is committed for the copy)."""
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")
        state = copy(self.conn)
        self.conn.execute("BEGIN")
        files = {}
        for migration in self.migrations[:first]:
            fa = self.analysis.get(migration.up)
            if fa is not None and fa.applied_only:
                files[fa.name] = (dict(fa.delta), fa.state_reset_at)
        assert self.prefix is not None
        self.prefix.update(first=first, conn=state, files=files, failed=failed,
                           failures=list(self.analysis.shipped_failures))

    def _run_ups(self) -> None:
        failed: Optional[str] = None
        shipped_from: Optional[Dict[Key, Obj]] = None  # the schema before the current run of shipped ups
        last_shipped: Optional[FileAnalysis] = None
        first = self._first_checked() if self.prefix is not None else 0
        start = 0
        if 0 < first < len(self.migrations) and self.prefix and self.prefix.get("first") == first:
            failed = self._reuse_prefix(first)
            start = first
        for index in range(start, len(self.migrations)):
            if index == first and first > start and self.prefix is not None and not self.foreign_keys:
                if shipped_from is not None:
                    self._caught_up(shipped_from, last_shipped)
                    shipped_from = None
                self._keep_prefix(first, failed)
            self.conn.execute(f"SAVEPOINT {self._savepoint(index)}")
            up = self.analysis.get(self.migrations[index].up)
            if not self.checked(self.migrations[index].version):
                if up is not None and up.readable:
                    if shipped_from is None:
                        shipped_from = dict(self.tracker.objects)
                    up.applied_only = up.executed = True
                    seen = len(self.analysis.shipped_failures)
                    try:
                        self._apply(up, record=True)
                    except _StateLost:
                        self._replay(index)
                        self.conn.execute(f"SAVEPOINT {self._savepoint(index)}")
                    if len(self.analysis.shipped_failures) > seen and failed is None:
                        failed = up.name
                    last_shipped = up
                continue
            if shipped_from is not None:
                self._caught_up(shipped_from, last_shipped)
                shipped_from = None
            if up is not None and up.readable:
                up.earlier_failure = failed
                up.executed = True
                try:
                    self._execute(up, record=True)
                except _StateLost:
                    # The replay leaves this file out, as golang-migrate's
                    # rollback of the failed file would.
                    up.delta = {}
                    self._replay(index)
                    self.conn.execute(f"SAVEPOINT {self._savepoint(index)}")
                if up.first_error() is not None and failed is None:
                    failed = up.name
        if shipped_from is not None:
            self._caught_up(shipped_from, last_shipped)

    def _apply(self, fa: FileAnalysis, *, record: bool) -> None:
        """Run a shipped up to build the state: every statement, a failing
        one skipped (noted when `record`); no facts, no schema tracking."""
        conn = self.conn
        with file_budget():  # one time budget per file
            for index, statement in enumerate(fa.statements):
                if fa.keywords[index] in NOT_EXECUTED:
                    continue
                failure = run_statement(conn, statement, file=fa.name)
                if failure is not None and record:
                    self.analysis.shipped_failures.append(ShippedFailure(fa.name, statement.line, _message(failure.message)))
                if not conn.in_transaction:
                    if record:
                        self.analysis.shipped_failures.append(
                            ShippedFailure(fa.name, statement.line, "the statement ended the transaction"))
                        fa.state_reset_at = index
                    raise _StateLost()

    def _caught_up(self, before: Dict[Key, Obj], last: Optional[FileAnalysis]) -> None:
        """After a run of shipped ups: the mirror reads the schema again and
        their net change is recorded on the last of them."""
        self.tracker.reset()
        after = self.tracker.objects
        if last is not None:
            last.delta = {key: (before.get(key), after.get(key)) for key in set(before) | set(after)
                          if before.get(key) != after.get(key)}

    def _execute(self, fa: FileAnalysis, *, record: bool) -> None:
        with file_budget():  # one time budget per file
            self._execute_statements(fa, record=record)

    def _execute_statements(self, fa: FileAnalysis, *, record: bool) -> None:
        tracker = self.tracker
        for index, statement in enumerate(fa.statements):
            keyword = fa.keywords[index]
            skip = NOT_EXECUTED.get(keyword)
            if not record and index in fa.facts and fa.facts[index].error is not None:
                continue  # it failed the first time, which changed nothing; it would again
            if skip is not None:
                if record:
                    refusal = _vacuum_refusal(statement, fa.name) if keyword == "VACUUM" else None
                    fa.facts[index] = StatementFact(index, statement, skipped=skip, refusal=refusal)
                continue
            token = tracker.prepare(keyword)
            dropping = dropped_column_table(statement.sql) if record and keyword == "ALTER" else None
            triggers_before = tracker.trigger_errors(dropping) if dropping is not None else {}
            failure = run_statement(self.conn, statement, file=fa.name)
            error = _message(failure.message) if failure is not None else None
            kind = failure.kind if failure is not None else SQL_ERROR
            refusal = error if kind == REFUSED else None
            if not self.conn.in_transaction:
                if record:
                    fa.facts[index] = StatementFact(index, statement, error=error or "ended the transaction", kind=kind,
                                                    refusal=refusal)
                    fa.state_reset_at = index
                raise _StateLost()
            # Data statements never change the schema (their triggers cannot
            # hold DDL), so the schema cookie is not read after them.
            change = NO_CHANGE if keyword in DATA_ONLY else tracker.changes(keyword, statement.sql, token)
            if error is None and change.empty:
                continue
            if not record:
                continue
            fact = StatementFact(index, statement, error=error, change=change, kind=kind, refusal=refusal)
            if error is None and triggers_before:
                fact.broken_triggers = _newly_broken(tracker, triggers_before, dropping)
            if not change.empty:
                tracker.remember(change)
                for table in change.dropped_tables():
                    children = self._children(table)
                    if children:
                        fact.children[table.table_key] = children
                        self.analysis.referenced_drop = True
                _merge(fa.delta, change)
            fa.facts[index] = fact

    def _children(self, table: Obj) -> Tuple[Tuple[str, str], ...]:
        out = []
        for child in self.tracker.children_of(table.table_key):
            actions = self.conn.execute(
                'SELECT "table", on_delete FROM pragma_foreign_key_list(?)', (child.name,)
            ).fetchall()
            for parent, action in actions:
                if fold(parent) == table.table_key:
                    out.append((child.name, action))
        return tuple(out)

    def _run_downs(self) -> None:
        chain = dict(self.tracker.objects)  # the schema after the newest up (S_k)
        clean = True  # the scratch database holds exactly `chain`
        for index in range(len(self.migrations) - 1, -1, -1):
            migration = self.migrations[index]
            up = self.analysis.get(migration.up)
            down = self.analysis.get(migration.down)
            up_delta: Delta = up.delta if up is not None else {}
            # An empty down is MW009's finding; nothing runs for it here. A
            # shipped version's down never runs.
            runnable = (self.checked(migration.version) and down is not None and down.readable and bool(down.statements)
                        and up is not None and up.executed and up.first_error() is None)
            if runnable:
                assert down is not None
                if not clean:
                    self._restore(index + 1)
                down.executed = True
                try:
                    self._execute(down, record=True)
                except _StateLost:
                    self._replay(index + 1)
                    down.reversal = None
                    clean = False
                else:
                    reversal = self._compare(up_delta, down.delta, chain)
                    failed = down.first_error() is not None
                    down.reversal = None if failed else reversal
                    clean = not failed and not reversal
            else:
                clean = clean and not up_delta  # nothing ran: the schema is still S_k
            for key, (before, _after) in up_delta.items():
                if before is None:
                    chain.pop(key, None)
                else:
                    chain[key] = before

    def _restore(self, upto: int) -> None:
        """Bring the scratch database back to the schema after ups [0, upto)."""
        try:
            self.conn.execute(f"ROLLBACK TO {self._savepoint(upto)}")
        except sqlite3.Error:
            self._replay(upto)  # the savepoint is gone: build it again
        else:
            self.tracker.reset()

    def _compare(self, up_delta: Delta, down_delta: Delta, chain: Dict[Key, Obj]) -> Delta:
        """Objects that differ between before-the-up and after-the-down.

        Equal means the same canonical SQL (`normalize_sql`): a RENAME stores
        `CREATE TABLE "x"` where the file said `CREATE TABLE x`. The chain
        takes the live spelling, so it keeps matching the scratch database."""
        out: Delta = {}
        for key in set(up_delta) | set(down_delta):
            expected = up_delta[key][0] if key in up_delta else chain.get(key)
            actual = self.tracker.objects.get(key)
            if expected == actual:
                continue
            if expected is not None and actual is not None and _same(expected, actual):
                if key in up_delta:
                    up_delta[key] = (actual, up_delta[key][1])
                else:
                    chain[key] = actual
                continue
            out[key] = (expected, actual)
        return out


def _newly_broken(tracker: SchemaTracker, before: Dict[str, Optional[str]], table_key: str) -> Tuple[Tuple[str, str, str], ...]:
    out = []
    for name, error in sorted(tracker.trigger_errors(table_key).items()):
        if error is not None and before.get(name, "") is None:
            trigger = tracker.objects.get((True, fold(name)))
            out.append((name, trigger.tbl_name if trigger else "?", error))
    return tuple(out)


def _vacuum_refusal(statement: Statement, file: str) -> Optional[str]:
    """Why the guard refuses a VACUUM (VACUUM INTO a file), or None. The
    scratch transaction would stop any VACUUM before the guard sees it, so
    it runs on an empty side database in autocommit mode."""
    side = scratch()
    try:
        failure = run_statement(side, statement, file=file)
    finally:
        side.close()
    return failure.message if failure is not None and failure.kind == REFUSED else None


def _same(a: Obj, b: Obj) -> bool:
    return a.type == b.type and fold(a.tbl_name) == fold(b.tbl_name) and (
        a.sql == b.sql or normalize_sql(a.sql or "") == normalize_sql(b.sql or ""))


def _merge(delta: Delta, change: Change) -> None:
    for obj in change.created:
        before = delta[obj.key][0] if obj.key in delta else None
        delta[obj.key] = (before, obj)
    for obj in change.dropped:
        before = delta[obj.key][0] if obj.key in delta else obj
        delta[obj.key] = (before, None)
    for old, new in change.altered:
        before = delta[old.key][0] if old.key in delta else old
        delta[old.key] = (before, new)
    # An object back exactly as it was is no change; one created and dropped
    # within the file stays as (None, None): it did not exist before.
    for key in [k for k, (b, a) in delta.items() if b == a and b is not None]:
        del delta[key]


def analyze(folder: MigrationFolder, analysis: Analysis, *, foreign_keys: bool,
            migrations_table: str = "schema_migrations", verify: bool = False, sql_functions: tuple = (),
            checked: Optional[Callable[[int], bool]] = None, prefix: Optional[dict] = None) -> None:
    """Execute the folder's migrations on a scratch database, filling
    `analysis` (the app's SQL functions run as stand-ins). `checked(version)`
    False: a shipped version, only applied; `prefix`: a memo shared by runs
    of the same folder (see the module docstring)."""
    for fa in analysis.files.values():
        if fa.text is not None and len(fa.keywords) != len(fa.statements):
            fa.set_text(fa.text, fa.has_bom)
    Runner(folder, analysis, foreign_keys=foreign_keys, migrations_table=migrations_table, verify=verify,
           sql_functions=sql_functions, checked=checked, prefix=prefix).run()
