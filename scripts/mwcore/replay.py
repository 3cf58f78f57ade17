"""Replay a migrations folder on a scratch SQLite database: up, down, up again.

The protocol is golang-migrate's own, run through `gomigrate.GoMigrate`: from
the start state (an empty database, or a copy of a real one) every version is
applied in order, then undone one step at a time, then applied again. For
every version the replay proves that the up applies, that the down brings
back exactly the schema that was there before the up (`roundtrip`), that the
up applies again to the same schema (`reup`), that synthetic rows that
existed before the up survive the up and the down (`data`), and that
`foreign_key_check`/`integrity_check` find nothing new (`integrity`).

Cost stays linear in the number of migrations: SQLite's authorizer reports
what each file touches (`touched.TouchRecorder`), and only those tables, plus
the tables that reference them, are snapshotted, seeded and checked; the rest
of the model carries over unchanged from the previous step. Nothing is
replayed from scratch per version: only when a step fails (golang-migrate
would stop there) is the state that step should have produced rebuilt, on a
fresh copy of the start state, so that every later version still gets a
verdict in the same run.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Dict, FrozenSet, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple

from .folder import DOWN, UP, Migration, MigrationFolder, read_sql, scan_folder
from .gomigrate import FAILED as RUN_FAILED
from .gomigrate import NIL_VERSION, GoMigrate, RunOutcome, Step
from .jsonuse import JsonColumns
from .keyuse import KeyColumns, folder_uses
from .rows import RowSet, find_rows, seed_rows
from .schema import Owned, Snapshot, diff, owned_index, refresh, restrict, snapshot
from . import engine
from .engine import ScriptResult, run_script
from .sqlfuncs import registered as register
from .touched import TouchRecorder, Touched

OK, FAILED, MISSING, SKIPPED, DIFFERS = "ok", "failed", "missing", "skipped", "differs"
# A step that fails only with the synthetic rows (it passes on the same state
# without them): a warning, not a failure.
DATA_DEPENDENT = "data-dependent"
STATUSES = (OK, FAILED, MISSING, SKIPPED, DIFFERS, DATA_DEPENDENT)
CHECKS = ("up", "down", "roundtrip", "reup", "data", "integrity")

# Phases of the run, named as the report names them.
PHASE_UP, PHASE_DOWN, PHASE_REUP = "up", "down", "reup"

# Errors SQLite raises because a table has rows at all, whatever their
# values (ADD COLUMN's limits; a parent's rows deleted or rekeyed under
# children that point at them, with enforcement on): every database with
# rows there fails, so they stay failures even when an empty table passes.
_ANY_ROW_ERRORS = re.compile(r"Cannot add a (NOT NULL|REFERENCES) column|Cannot add a STORED column|"
                             r"Cannot add a column with non-constant default|FOREIGN KEY constraint failed", re.I)
_VERSION_SENSITIVE = re.compile(r"syntax error|no such function|no such module|unknown|not supported|malformed", re.I)


@dataclass
class ReplayOptions:
    """How to replay. Defaults match golang-migrate's sqlite3 driver with an
    app DSN that leaves foreign keys off."""

    foreign_keys: bool = False
    no_tx_wrap: bool = False
    migrations_table: str = "schema_migrations"
    check_data: bool = True
    allow_missing_down: bool = False
    # Versions below it are only applied, as golang-migrate applies them:
    # in order, no synthetic rows, no verdicts, no downs; a file that fails
    # is skipped as the rollback leaves it (ReplayReport.shipped_failures).
    # Synthetic rows are seeded at the start of the first version checked.
    from_version: Optional[int] = None
    to_version: Optional[int] = None
    rows_per_table: int = 3
    # The SQLite version the app runs (mattn's bundled one), for hints when
    # a failure may come from the version difference.
    app_sqlite_version: Optional[str] = None
    # Called as keep(label, connection) at golang-migrate's stop ("stop") and
    # at the end ("final"), so a caller can save the scratch database.
    keep: Optional[Callable[[str, sqlite3.Connection], None]] = None
    # Tests: after every step, compare the incrementally kept schema with a
    # full snapshot and raise AssertionError when they differ.
    cross_check: bool = False
    # Columns the migrations read as JSON, and the shape they read (see
    # jsonuse); None: learned from the folder's files when the replay starts.
    json_columns: Optional[JsonColumns] = None
    # Columns the migrations use as another table's key before (or without)
    # declaring a foreign key (keyuse); None: learned with the JSON columns.
    key_columns: Optional[KeyColumns] = None
    # Stand-ins for the SQL functions the app registers (sqlfuncs.SqlFunction).
    sql_functions: Tuple = ()
    # The start state is a copy of a real database (--db): pre-checks run on
    # its rows before each pending version, and a data-dependent step is
    # said to pass on that copy rather than on empty tables.
    real_db: bool = False
    # The start state already holds synthetic rows (ShippedState.seed).
    seeded: Optional["SeededStart"] = None


class ShippedFailure(NamedTuple):
    """A shipped up that failed while the state for the checked versions was
    built (`ReplayOptions.from_version`): golang-migrate's rollback leaves it
    out, so everything after it starts from an approximate state."""

    file: str
    line: Optional[int]
    error: str

    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class Problem(NamedTuple):
    """One thing to fix, located as precisely as SQLite allows."""

    check: str  # one of CHECKS
    message: str
    file: Optional[str] = None  # migration file name
    line: Optional[int] = None

    def location(self) -> str:
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return self.file or ""

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message


@dataclass
class StepVerdict:
    """Everything the replay found out about one version."""

    version: int
    name: str
    up: str = SKIPPED
    down: str = SKIPPED
    roundtrip: str = SKIPPED
    reup: str = SKIPPED
    data: str = SKIPPED
    integrity: str = SKIPPED
    stops_here: bool = False  # golang-migrate's up/down/up run stops at this version
    problems: List[Problem] = field(default_factory=list)
    roundtrip_diff: List[str] = field(default_factory=list)
    reup_diff: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    # Warnings: steps that fail only with synthetic rows (DATA_DEPENDENT).
    warnings: List[Problem] = field(default_factory=list)
    # Rows of the real database that break this version (prechecks.Precheck),
    # found before its up ran; kept when the up failed or left integrity problems.
    prechecks: List = field(default_factory=list)

    def statuses(self) -> Dict[str, str]:
        return {check: getattr(self, check) for check in CHECKS}

    def is_ok(self, allow_missing_down: bool = False) -> bool:
        for check, status in self.statuses().items():
            if status in (FAILED, DIFFERS):
                return False
            if status == MISSING and not (check == "down" and allow_missing_down):
                return False
        return True

    @property
    def error(self) -> Optional[str]:
        """The first problem, as one line (None when there is none)."""
        return str(self.problems[0]) if self.problems else None


class GoStep(NamedTuple):
    """One step of golang-migrate's own run (up all, down by steps, up all)
    as the real tool reports it: error or None, then version and dirty flag."""

    phase: str
    version: int  # the migration's version
    direction: str
    error: Optional[str]
    after_version: int
    after_dirty: bool


class StopPoint(NamedTuple):
    """Where golang-migrate stops: the failing step and the dirty version it leaves."""

    phase: str
    version: int
    direction: str
    error: str
    dirty_version: int


@dataclass
class ReplayReport:
    folder: str
    sqlite_version: str
    options: ReplayOptions
    start_version: int = NIL_VERSION
    steps: List[StepVerdict] = field(default_factory=list)
    trace: List[GoStep] = field(default_factory=list)
    stop: Optional[StopPoint] = None
    blocked: Optional[str] = None  # why nothing (or not everything) could run
    notes: List[str] = field(default_factory=list)
    restores: int = 0  # states rebuilt after failures
    # Versions below ReplayOptions.from_version whose up failed while the
    # state was built (skipped as golang-migrate's rollback leaves them).
    shipped_failures: List[ShippedFailure] = field(default_factory=list)
    # No version checked has a down file and missing downs are allowed: the
    # down and the second up were not replayed (they would undo nothing).
    downs_skipped: bool = False

    @property
    def ok(self) -> bool:
        return self.blocked is None and all(s.is_ok(self.options.allow_missing_down) for s in self.steps)

    def failing(self) -> List[StepVerdict]:
        return [s for s in self.steps if not s.is_ok(self.options.allow_missing_down)]

    def not_run(self) -> List[StepVerdict]:
        """Versions never run: an up below them failed."""
        return [s for s in self.steps if s.up == SKIPPED]

    def fully_ok(self, step: StepVerdict) -> bool:
        """Every check ran and passed (a data check left out by --no-data
        or for want of a fitting row, and the allowed missing down, count as
        passed): what "ok" means in a count."""
        if not step.is_ok(self.options.allow_missing_down) or step.warnings:
            return False
        allowed = self.options.allow_missing_down and step.down == MISSING
        for check, status in step.statuses().items():
            if status == OK or (check == "data" and status == SKIPPED):
                continue
            if allowed and check in ("down", "roundtrip", "reup"):
                continue
            return False
        return True

    def summary(self) -> Dict[str, object]:
        """Counts for --json: ok (every check passed) and not run (an up
        below failed) are counted apart; warnings and not_run only when
        there are some."""
        out: Dict[str, object] = {"versions": len(self.steps),
                                  "ok": sum(1 for s in self.steps if self.fully_ok(s)),
                                  "failing": [s.version for s in self.failing()]}
        for key, versions in (("warnings", [s.version for s in self.steps if s.warnings]),
                              ("not_run", [s.version for s in self.not_run()])):
            if versions:
                out[key] = versions
        return out


# The incremental model ---------------------------------------------------------


class TrackerStart(NamedTuple):
    """What a Tracker reads from a state when it starts (Tracker.start_state)."""

    schema: Snapshot
    owned: Owned
    violations: Dict[str, FrozenSet[tuple]]
    damage: Dict[str, List[str]]
    canonical: Dict[str, str]


class DbState(NamedTuple):
    """The model at one moment: schema, synthetic rows, known FK violations."""

    schema: Snapshot
    rows: Dict[str, RowSet]
    violations: Dict[str, FrozenSet[tuple]]
    owned: Owned  # schema's owned_index


@dataclass
class Change:
    """What one run of SQL did, as the model sees it."""

    touched: Touched
    schema_changed: Set[str]  # owners (tables, views) whose schema part changed
    rows: Set[str]  # tables whose rows may have changed (SQLite reported a write, a CASCADE included)
    checked: Set[str]  # tables whose integrity must be checked: rows, schema_changed and the tables referencing them


class Tracker:
    """A connection plus a model of it kept up to date one change at a time.

    `run(action)` records what the action touches, re-reads only those
    objects (and, after an ALTER TABLE, whatever a RENAME may rewrite) and
    returns a Change. Between changes nothing is read.
    """

    def __init__(self, conn: sqlite3.Connection, *, migrations_table: str = "schema_migrations",
                 cross_check: bool = False, json_columns: Optional[JsonColumns] = None,
                 key_columns: Optional[KeyColumns] = None, start: Optional["TrackerStart"] = None) -> None:
        """`start`: what another tracker read from a copy of the same state
        (`start_state`), taken instead of reading it again."""
        self.conn = conn
        self.json_columns = json_columns
        self.key_columns = key_columns
        self.migrations_table = migrations_table
        self.cross_check = cross_check
        self.recorder = TouchRecorder(conn, ignore={migrations_table})
        self.canonical: Dict[str, str] = {} if start is None else dict(start.canonical)  # normalize_sql cache
        if start is None:
            self.schema = snapshot(conn, migrations_table=migrations_table, canonical=self.canonical)
            self.owned = owned_index(self.schema)  # kept in step with self.schema by refresh()
        else:
            self.schema, self.owned = start.schema, dict(start.owned)
        self.rows: Dict[str, RowSet] = {}
        self.violations: Dict[str, FrozenSet[tuple]] = {} if start is None else dict(start.violations)
        self._parents: Dict[str, Set[str]] = {}
        self._children: Dict[str, Set[str]] = {}
        for name in self.schema.tables:
            self._link(name)
        self.seed_skipped: Dict[str, str] = {}
        self._integrity_per_table = sqlite3.sqlite_version_info >= (3, 33, 0)
        # table ("" = whole database) -> findings at the start
        self.known_damage: Dict[str, List[str]] = {} if start is None else dict(start.damage)

    def start_state(self) -> "TrackerStart":
        """What a tracker on a copy of this state would read again."""
        return TrackerStart(self.schema, dict(self.owned), dict(self.violations), dict(self.known_damage),
                            dict(self.canonical))

    # -- model ---------------------------------------------------------------
    def state(self) -> DbState:
        return DbState(self.schema, dict(self.rows), dict(self.violations), dict(self.owned))

    def tables(self) -> List[str]:
        return sorted(self.schema.tables)

    def seedable(self, names: Iterable[str]) -> List[str]:
        """Ordinary tables among `names` (no virtual tables or their shadow tables)."""
        virtual = [t for t, table in self.schema.tables.items() if table.sql.startswith("create virtual table")]
        out = []
        for name in names:
            table = self.schema.tables.get(name)
            if table is None or name in virtual or any(name.startswith(v + "_") for v in virtual):
                continue
            out.append(name)
        return sorted(out)

    def _link(self, name: str) -> None:
        old = self._parents.pop(name, set())
        for parent in old:
            self._children.get(parent, set()).discard(name)
        table = self.schema.tables.get(name)
        if table is None:
            return
        parents = {fk.table.lower() for fk in table.foreign_keys}
        self._parents[name] = parents
        for parent in parents:
            self._children.setdefault(parent, set()).add(name)

    def children(self, names: Iterable[str]) -> Set[str]:
        out: Set[str] = set()
        for name in names:
            out |= self._children.get(name, set())
        return out

    # -- running SQL ---------------------------------------------------------
    def run(self, action: Callable[[], object]) -> Tuple[object, Change]:
        self.recorder.start()
        try:
            result = action()
        finally:
            touched = self.recorder.stop()
        return result, self.absorb(touched)

    def absorb(self, touched: Touched) -> Change:
        names = set(touched.schema)
        if touched.renamed:
            # A RENAME rewrites references in child tables, triggers and views,
            # and the new name is reported nowhere: compare the catalogue.
            catalogue = self.conn.execute("SELECT type, tbl_name FROM main.sqlite_master").fetchall()
            owners_now = {t.lower() for _, t in catalogue if not _internal(t, self.migrations_table)}
            names |= owners_now ^ _owners(self.schema)
            names |= {t.lower() for kind, t in catalogue if kind in ("trigger", "view")}
            names |= self.children(touched.schema)
        # Children of a table whose rows or definition changed (a new index
        # or trigger cannot break a reference) are where violations appear.
        before_children = self.children(touched.written)
        self.schema, changed = refresh(self.schema, self.conn, names, migrations_table=self.migrations_table,
                                       canonical=self.canonical, owned=self.owned)
        for name in names:
            self._link(name)
        if self.cross_check:
            full = snapshot(self.conn, migrations_table=self.migrations_table)
            if full != self.schema or owned_index(full) != self.owned:
                raise AssertionError("incremental schema differs from a full snapshot: "
                                     + "; ".join(map(str, diff(full, self.schema))))
        rows = {t for t in touched.written if not _internal(t, self.migrations_table)}
        tables = rows | {n for n in changed if n not in self.schema.views}
        checked = tables | before_children | self.children(rows)
        return Change(touched, changed, rows, {t for t in checked if not _internal(t, self.migrations_table)})

    # -- checks --------------------------------------------------------------
    def check_rows(self, before: Dict[str, RowSet], tables: Iterable[str], *,
                   same_values: bool) -> Tuple[List[str], int, Set[str]]:
        """Rows of `before` in `tables` that are gone now (and, with
        `same_values`, rows that are still there by primary key but hold
        other values). Returns messages and how many rows were looked for.
        Where `before` holds the model's current rows (nothing touched the
        table since), the model is updated from the same lookup; the names so
        updated are returned last."""
        messages, looked, updated = [], 0, set()
        for name in sorted(tables):
            rowset = before.get(name)
            if rowset is None or not rowset.rows:
                continue
            table = self.schema.tables.get(name)
            if table is None:
                continue
            found = find_rows(self.conn, rowset, _writable(table), _key(table))
            if self.rows.get(name) is rowset:
                self.rows[name] = found.current
                updated.add(name)
            looked += len(rowset.rows)
            if found.missing:
                text = f"{len(found.missing)} of {len(rowset.rows)} synthetic rows of {rowset.table} are gone"
                sample = _row_text(rowset.columns, found.missing[0])
                text += f" (e.g. {sample})"
                if found.gone_columns:
                    text += f"; compared on the columns still there (gone: {', '.join(found.gone_columns)})"
                messages.append(text)
            if found.changed and same_values:
                sample = _row_text(rowset.columns, found.changed[0])
                messages.append(f"{len(found.changed)} of {len(rowset.rows)} synthetic rows of {rowset.table} are "
                                f"back with other values (e.g. {sample} before)")
        return messages, looked, updated

    def update_rows(self, tables: Iterable[str]) -> None:
        """Read the model's rows of `tables` back as they are now."""
        for name in tables:
            rowset = self.rows.get(name)
            if rowset is None:
                continue
            table = self.schema.tables.get(name)
            if table is None:
                del self.rows[name]
                continue
            self.rows[name] = find_rows(self.conn, rowset, _writable(table), _key(table)).current

    def seed(self, tables: Iterable[str], start: int, per_table: int) -> List[str]:
        """Insert synthetic rows; returns notes on tables no row fits."""
        names = self.seedable(tables)
        if not names:
            return []
        real = [self.schema.tables[n].name for n in names]
        # Triggers the inserts fire may write other tables (a counter in the
        # parent): their rows in the model are read again afterwards.
        self.recorder.start()
        try:
            report = seed_rows(self.conn, real, per_table, start=start, json_columns=self.json_columns,
                               key_columns=self.key_columns)
        finally:
            touched = self.recorder.stop()
        notes = []
        for table, rowset in report.inserted.items():
            key = table.lower()
            old = self.rows.get(key)
            if old is not None and old.columns == rowset.columns:
                # Keep every row: the oldest ones are the ones the downs of
                # the lower versions must bring back.
                rowset = RowSet(rowset.table, rowset.columns, old.rows + rowset.rows)
            self.rows[key] = rowset
            self.seed_skipped.pop(key, None)
        for table, reason in report.skipped.items():
            self.seed_skipped[table.lower()] = reason
            notes.append(f"{table}: {reason}; its rows are not checked")
        # Triggers the inserts fired may have written rows of other tables (a
        # counter in the parent), or of a table seeded before: read those again.
        fired = any(self.schema.triggers_of(n) for n in names)
        self.update_rows(touched.written if fired else touched.written - set(names))
        self.record_violations(names)
        return notes

    def check_integrity(self, change: Change) -> List[Tuple[str, str]]:
        """New foreign-key violations in the tables a change may affect and
        integrity_check errors in those it wrote or altered, as (table,
        message); the model then records the current violations."""
        tables = change.checked
        messages: List[Tuple[str, str]] = []
        existing = [t for t in sorted(tables) if t in self.schema.tables]
        # Violations of a table that is gone (renamed, or rebuilt under
        # another name) are known under the name it has now.
        gone: Set[tuple] = set()
        for name in set(self.violations) - set(self.schema.tables):
            gone |= self.violations.pop(name)
        for name in existing:
            found = self._violation_rows(name)
            now = frozenset(key for key, _parent, _fkid in found)
            known = self.violations.get(name)
            new = now - (gone if known is None else known)
            self.violations[name] = now
            if new:
                fresh = [(parent, fkid) for key, parent, fkid in found if key in new]
                messages.extend((name, text) for text in self._describe_violations(name, fresh))
        if self._integrity_per_table:
            for name in existing:
                if name not in change.rows and name not in change.schema_changed:
                    continue
                rows = self._integrity(name)
                if rows != ["ok"] and rows != self.known_damage.get(name):
                    messages.append((name, f"integrity_check({self.schema.tables[name].name}): " + "; ".join(rows[:3])))
        elif existing:
            rows = [r[0] for r in self.conn.execute("PRAGMA quick_check")]
            if rows != ["ok"] and rows != self.known_damage.get(""):
                messages.append(("", "quick_check: " + "; ".join(rows[:3])))
        return messages

    def record_damage(self) -> None:
        """Take the integrity_check findings of a database that was already
        damaged at the start as known, so only new ones are reported."""
        if self._integrity_per_table:
            for name in self.tables():
                rows = self._integrity(name)
                if rows != ["ok"]:
                    self.known_damage[name] = rows
        elif self.schema.tables:
            rows = [r[0] for r in self.conn.execute("PRAGMA quick_check")]
            if rows != ["ok"]:
                self.known_damage[""] = rows

    def _integrity(self, name: str) -> List[str]:
        try:
            return [r[0] for r in self.conn.execute("SELECT * FROM pragma_integrity_check(?)",
                                                     (self.schema.tables[name].name,))]
        except sqlite3.Error as exc:
            return [str(exc)]

    def record_violations(self, tables: Iterable[str]) -> None:
        """Take the current foreign-key violations of `tables` as known, so
        only violations that appear later are reported."""
        self.violations.update({n: self._violations(n) for n in tables})

    def _violations(self, name: str) -> FrozenSet[tuple]:
        return frozenset(key for key, _parent, _fkid in self._violation_rows(name))

    def _violation_rows(self, name: str) -> List[Tuple[tuple, str, int]]:
        """The foreign-key violations of a table, each as (identity, parent,
        fkid). A violation is identified by the child row's values in the
        key's columns (and which occurrence of them it is), not by rowid or
        by the key's position: a rebuild renumbers rows and reorders keys,
        and a dangling reference a database already had is still the same
        one afterwards (never blamed on the version that moved it)."""
        table = self.schema.tables.get(name)
        if table is None or not table.foreign_keys:
            return []
        try:
            rows = self.conn.execute('SELECT rowid, parent, fkid FROM pragma_foreign_key_check(?)', (table.name,)).fetchall()
            if not rows:
                return []
            columns: Dict[int, List[str]] = {}
            for fkid, column in self.conn.execute('SELECT id, "from" FROM pragma_foreign_key_list(?) ORDER BY id, seq',
                                                  (table.name,)):
                columns.setdefault(fkid, []).append(column)
            values = self._row_values(table.name, sorted({c for cols in columns.values() for c in cols}),
                                      [r[0] for r in rows if r[0] is not None])
        except sqlite3.Error:
            return []
        out, seen = [], {}
        for rowid, parent, fkid in rows:
            cols = columns.get(fkid, [])
            row = values.get(rowid, {}) if rowid is not None else {}
            identity = (tuple(c.lower() for c in cols), tuple(row.get(c) for c in cols))
            seen[identity] = seen.get(identity, 0) + 1
            out.append((identity + (seen[identity],), parent, fkid))
        return out

    def _row_values(self, table: str, columns: List[str], rowids: List[int]) -> Dict[int, Dict[str, object]]:
        from .sqltext import quote_identifier as q

        out: Dict[int, Dict[str, object]] = {}
        if not columns:
            return out
        select = ", ".join(map(q, columns))
        for start in range(0, len(rowids), 500):
            chunk = rowids[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in self.conn.execute(f"SELECT rowid, {select} FROM {q(table)} WHERE rowid IN ({marks})", chunk):
                out[row[0]] = dict(zip(columns, row[1:]))
        return out

    def _describe_violations(self, name: str, new: List[Tuple[str, int]]) -> List[str]:
        table = self.schema.tables[name]
        fk_columns = {}
        for row in self.conn.execute('SELECT id, "from", "to" FROM pragma_foreign_key_list(?)', (table.name,)):
            fk_columns.setdefault(row[0], []).append((row[1], row[2]))
        groups: Dict[Tuple[str, int], int] = {}
        for parent, fkid in new:
            groups[(parent, fkid)] = groups.get((parent, fkid), 0) + 1
        out = []
        for (parent, fkid), count in sorted(groups.items()):
            pairs = fk_columns.get(fkid, [])
            cols = ", ".join(f for f, _ in pairs) or "?"
            to = ", ".join(t or "(primary key)" for _, t in pairs)
            rows = "1 row" if count == 1 else f"{count} rows"
            verb = "points to a missing row" if count == 1 else "point to missing rows"
            out.append(f"foreign_key_check: {rows} of {table.name} {verb} of {parent} "
                       f"({table.name}.{cols} -> {parent}({to}))")
        return out


def _writable(table) -> List[str]:
    """Names of the columns a row can be compared on (generated ones excluded)."""
    return [c.name for c in table.columns if c.hidden not in (2, 3)]


def _key(table) -> List[str]:
    """The primary-key columns, which identify a row whose values changed."""
    return [c.name for c in sorted((c for c in table.columns if c.pk), key=lambda c: c.pk)]


def _internal(name: str, migrations_table: str) -> bool:
    lower = name.lower()
    return lower.startswith("sqlite_") or lower == migrations_table.lower()


def _owners(snap: Snapshot) -> Set[str]:
    return (set(snap.tables) | set(snap.views) | {i.table.lower() for i in snap.indexes.values()}
            | {t.table.lower() for t in snap.triggers.values()})


def sql_value(value: object) -> str:
    """A value as SQL writes it: NULL, a number, 'text', x'blob'."""
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bytes):
        return "x'" + value.hex() + "'"
    return repr(value)


def _row_text(columns: Tuple[str, ...], row: tuple) -> str:
    parts = []
    for name, value in list(zip(columns, row))[:4]:
        text = sql_value(value)
        parts.append(f"{name}={text[:30]}")
    return ", ".join(parts) + (", ..." if len(columns) > 4 else "")


# Checks shared by the replay and verify_pair -------------------------------------


def _entries(state: DbState, names: Set[str]) -> Dict[Tuple[str, str], object]:
    part = restrict(state.schema, names, state.owned)
    return {(kind, key): obj for kind, group in (("table", part.tables), ("index", part.indexes),
                                                 ("trigger", part.triggers), ("view", part.views))
            for key, obj in group.items()}


def _diff_lines(expected: DbState, actual: DbState, names: Set[str], ignore: Set[Tuple[str, str]]) -> List[str]:
    """Differences between two states on the objects owned by `names`,
    leaving out the objects in `ignore`."""
    parts = []
    for state in (expected, actual):
        part = Snapshot()
        groups = {"table": part.tables, "index": part.indexes, "trigger": part.triggers, "view": part.views}
        for (kind, key), obj in _entries(state, names).items():
            if (kind, key) not in ignore:
                groups[kind][key] = obj
        parts.append(part)
    return [str(d) for d in diff(parts[0], parts[1])]


def _drift(pre: DbState, should: DbState, names: Set[str]) -> Set[Tuple[str, str]]:
    """Objects that were not as they should be before a step ran: what a
    later version's down left behind or changed. They are that version's
    problem, so a step is not compared on them."""
    a, b = _entries(pre, names), _entries(should, names)
    return {key for key in a.keys() | b.keys() if a.get(key) != b.get(key)}


def _drift_note(verdict: StepVerdict, drift: Set[Tuple[str, str]]) -> None:
    if drift:
        listed = ", ".join(f"{kind} {key}" for kind, key in sorted(drift)[:5])
        verdict.notes.append(f"not compared: {listed} (left behind or changed by a later version's down)")


Moved = Dict[str, Dict[str, str]]  # table -> {column the up dropped: "table.column" now holding its values}


def _after_up(verdict: StepVerdict, tracker: Tracker, before: DbState, change: Change, options: ReplayOptions,
              file: Optional[str], seed_start: int) -> Tuple[Dict[str, RowSet], Moved]:
    """Checks after an up. Returns the model's rows as the up left them
    (before synthetic rows are seeded into what it created or changed) and
    the dropped columns whose values the up moved to another table."""
    moved: Moved = {}
    if options.check_data:
        lost, looked, updated = tracker.check_rows(before.rows, change.rows, same_values=False)
        for text in lost:
            verdict.problems.append(Problem("data", "after the up, " + text, file))
        tracker.update_rows(change.rows - updated)
        _set_data(verdict, FAILED if lost else OK, looked, change, tracker)
        moved = _moved_values(before, tracker, change)
        verdict.notes.extend(_destroyed(before, tracker, change, moved))
    left = dict(tracker.rows)
    integrity = tracker.check_integrity(change)
    for _table, text in integrity:
        verdict.problems.append(Problem("integrity", "after the up, " + text, file))
    verdict.integrity = FAILED if integrity else OK
    if options.check_data:
        grown = [t for t in change.schema_changed if t in tracker.schema.tables]
        verdict.notes.extend(tracker.seed(grown, seed_start, options.rows_per_table))
    return left, moved


def _dropped_columns(before: DbState, tracker: Tracker, name: str) -> List[str]:
    old, new = before.schema.tables.get(name), tracker.schema.tables.get(name)
    if old is None or new is None:
        return []
    return [c.name for c in old.columns if new.column(c.name) is None]


def _moved_values(before: DbState, tracker: Tracker, change: Change) -> Moved:
    """The columns the up dropped whose values it first copied into another
    table it wrote (a split: `INSERT INTO profile SELECT id, bio FROM
    account`, then `DROP COLUMN bio`). Such values are not lost: a down
    that re-adds the column must copy them back. A column counts as moved
    when every value its synthetic rows held is in one column of that table;
    values that are not distinctive (numbers, dates: every synthetic row
    has the same ones in every such column) only count in a column of the
    same name."""
    from .sqltext import quote_identifier as q

    out: Moved = {}
    for name in sorted(change.rows):
        rowset = before.rows.get(name)
        if rowset is None or not rowset.rows:
            continue
        for column in _dropped_columns(before, tracker, name):
            if column not in rowset.columns:
                continue
            position = rowset.columns.index(column)
            values = sorted({row[position] for row in rowset.rows if row[position] is not None}, key=repr)
            if not values:
                continue
            distinctive = all(isinstance(v, str) and v.startswith("mw ") for v in values)
            for target in sorted(change.rows - {name}):
                table = tracker.schema.tables.get(target)
                if table is None:
                    continue
                candidates = [c.name for c in table.columns if distinctive or c.name.lower() == column.lower()]
                marks = ", ".join("?" for _ in values)
                found = None
                for candidate in candidates:
                    try:
                        count = tracker.conn.execute(
                            f"SELECT count(DISTINCT {q(candidate)}) FROM {q(table.name)} WHERE {q(candidate)} IN ({marks})",
                            values).fetchone()[0]
                    except sqlite3.Error:
                        continue
                    if count == len(values):
                        found = f"{table.name}.{candidate}"
                        break
                if found:
                    out.setdefault(name, {})[column] = found
                    break
    return out


def _destroyed(before: DbState, tracker: Tracker, change: Change, moved: Moved) -> List[str]:
    """Notes on data the up destroys on purpose (a dropped table or column
    that held rows, its values copied nowhere): no down can bring it back,
    so it is not checked."""
    notes = []
    for name in sorted(change.rows):
        rowset = before.rows.get(name)
        old = before.schema.tables.get(name)
        if rowset is None or not rowset.rows or old is None:
            continue
        new = tracker.schema.tables.get(name)
        if new is None:
            notes.append(f"the up drops table {old.name} and its rows; a down cannot bring them back")
            continue
        gone = [c for c in _dropped_columns(before, tracker, name) if c not in moved.get(name, {})]
        if gone:
            notes.append(f"the up drops {old.name}.{', '.join(gone)} and the values in it; a down cannot bring them back")
    return notes


def _set_data(verdict: StepVerdict, status: str, looked: int, change: Change, tracker: Tracker) -> None:
    if status == FAILED or verdict.data == FAILED:
        verdict.data = FAILED
        return
    unseeded = sorted(t for t in change.rows | change.schema_changed if t in tracker.seed_skipped)
    if looked == 0 and unseeded:
        if verdict.data != OK:
            verdict.data = SKIPPED
        note = f"data not checked for {', '.join(unseeded)}: no synthetic row fits"
        if note not in verdict.notes:
            verdict.notes.append(note)
        return
    verdict.data = OK


def _still_present(before: DbState, left: Dict[str, RowSet], pre: DbState, tables: Iterable[str]) -> Dict[str, RowSet]:
    """The rows of `before` (the state before the up) that must be back after
    the down: those still there, as the up left them (`left`, before new
    synthetic rows were added), right before the down (`pre`). Rows a later
    version's down lost or changed are that version's problem; rows are
    matched by primary key (by all shared columns when there is none)."""
    out: Dict[str, RowSet] = {}
    for name in tables:
        old, upped, current = before.rows.get(name), left.get(name), pre.rows.get(name)
        table = before.schema.tables.get(name)
        if old is None or upped is None or current is None or table is None:
            continue
        key = [c for c in _key(table) if c in old.columns and c in upped.columns and c in current.columns]
        if key:
            shared = [c for c in upped.columns if c in current.columns]
            as_left = _by_key(upped, key, shared)
            as_now = _by_key(current, key, shared)
            keep = {k for k, values in as_left.items() if as_now.get(k) == values}
            positions = [old.columns.index(c) for c in key]
            rows = tuple(row for row in old.rows if tuple(row[i] for i in positions) in keep)
        else:
            shared = [c for c in old.columns if c in current.columns]
            old_pos = [old.columns.index(c) for c in shared]
            cur_pos = [current.columns.index(c) for c in shared]
            present = {tuple(row[i] for i in cur_pos) for row in current.rows}
            rows = tuple(row for row in old.rows if tuple(row[i] for i in old_pos) in present)
        # Values in a column the up dropped are gone for good; the down is
        # judged on the columns the up kept.
        survived = [i for i, c in enumerate(old.columns) if c in upped.columns]
        out[name] = RowSet(old.table, tuple(old.columns[i] for i in survived),
                           tuple(tuple(row[i] for i in survived) for row in rows))
    return out


def _by_key(rowset: RowSet, key: List[str], columns: List[str]) -> Dict[tuple, tuple]:
    key_pos = [rowset.columns.index(c) for c in key]
    col_pos = [rowset.columns.index(c) for c in columns]
    return {tuple(row[i] for i in key_pos): tuple(row[i] for i in col_pos) for row in rowset.rows}


def _after_down(verdict: StepVerdict, tracker: Tracker, before: DbState, after: DbState, pre_down: DbState,
                up_change: Change, change: Change, options: ReplayOptions, file: Optional[str],
                left: Optional[Dict[str, RowSet]] = None, moved: Optional[Moved] = None) -> None:
    """Checks after the down: `before`/`after` are the states around the
    first up, `pre_down` the state right before this down; `left` the rows
    as the up left them (before any synthetic row was added after it),
    `moved` the dropped columns whose values the up moved elsewhere."""
    _schema_check(verdict, "roundtrip", before, pre_down, after, tracker, up_change.schema_changed | change.schema_changed,
                  "after the down the schema is not what it was before the up", file)
    if options.check_data:
        tables = up_change.rows | change.rows
        expected = _still_present(before, after.rows if left is None else left, pre_down, tables)
        lost, looked, updated = tracker.check_rows(expected, tables, same_values=True)
        lost += _moved_back(tracker, before, expected, moved or {})
        for text in lost:
            verdict.problems.append(Problem("data", "after the down, " + text, file))
        _set_data(verdict, FAILED if lost else OK, looked, change, tracker)
        tracker.update_rows(change.rows - updated)
    _after_integrity(verdict, tracker, change, "after the down", file, before)


def _moved_back(tracker: Tracker, before: DbState, expected: Dict[str, RowSet], moved: Moved) -> List[str]:
    """For the columns the up dropped after copying their values elsewhere
    and the down re-adds: the rows that survived must hold their values from
    before the up again (a down that recreates the column empty loses them)."""
    from .sqltext import quote_identifier as q

    messages = []
    for name, columns in sorted(moved.items()):
        old, kept, table = before.rows.get(name), expected.get(name), tracker.schema.tables.get(name)
        if old is None or kept is None or table is None:
            continue
        key = [c for c in _key(table) if c in old.columns and c in kept.columns]
        back = [c for c in columns if table.column(c) is not None]
        if not key or not back or not kept.rows:
            continue
        key_at = [kept.columns.index(c) for c in key]
        survivors = {tuple(row[i] for i in key_at) for row in kept.rows}
        old_key_at = [old.columns.index(c) for c in key]
        wanted = {tuple(row[i] for i in old_key_at): {c: row[old.columns.index(c)] for c in back}
                  for row in old.rows if tuple(row[i] for i in old_key_at) in survivors}
        select = ", ".join(q(c) for c in key + back)
        now = {tuple(row[:len(key)]): dict(zip(back, row[len(key):]))
               for row in tracker.conn.execute(f"SELECT {select} FROM {q(table.name)}")}
        wrong = [(k, c, v, now.get(k, {}).get(c)) for k, values in wanted.items() for c, v in values.items()
                 if k in now and now[k].get(c) != v]
        if not wrong:
            continue
        rows = {k for k, *_ in wrong}
        k, column, was, got = wrong[0]
        where = ", ".join(f"{moved[name][c]}" for c in back if any(w[1] == c for w in wrong))
        messages.append(f"{len(rows)} of {len(wanted)} rows of {table.name} are back without the values the up moved "
                        f"to {where} (e.g. {column} is {sql_value(got)}, was {sql_value(was)}): the down re-adds "
                        f"{', '.join(dict.fromkeys(w[1] for w in wrong))} but must also copy the values back")
    return messages


def _after_reup(verdict: StepVerdict, tracker: Tracker, before: DbState, after: DbState, pre_reup: DbState,
                up_change: Change, change: Change, file: Optional[str]) -> None:
    _schema_check(verdict, "reup", after, pre_reup, before, tracker, up_change.schema_changed | change.schema_changed,
                  "the up applied again gives another schema than the first time", file)
    _after_integrity(verdict, tracker, change, "after the up ran again", file, after)


def _schema_check(verdict: StepVerdict, check: str, expected: DbState, pre: DbState, should: DbState,
                  tracker: Tracker, names: Set[str], message: str, file: Optional[str]) -> None:
    """Compare the schema now with `expected` on `names`, leaving out what
    was already off before the step (`pre` against what it `should` be)."""
    drift = _drift(pre, should, names)
    _drift_note(verdict, drift)
    lines = _diff_lines(expected, tracker.state(), names, drift)
    setattr(verdict, check, DIFFERS if lines else OK)
    setattr(verdict, f"{check}_diff", lines)
    if lines:
        verdict.problems.append(Problem(check, message + _count(lines), file))


def _count(differences: List[str]) -> str:
    more = len(differences) - 1
    return f": {differences[0]}" + (f" (and {more} more difference{'s' if more != 1 else ''})" if more else "")


def _after_integrity(verdict: StepVerdict, tracker: Tracker, change: Change, when: str, file: Optional[str],
                     reference: DbState) -> None:
    """Integrity after a down or a second up. Findings in a table that
    `reference` (the state this step should produce) does not have are in
    something a later version left behind: a note here, that version's
    problem."""
    failed = False
    for table, text in tracker.check_integrity(change):
        if table and table not in reference.schema.tables:
            verdict.notes.append(f"{when}, {text} ({table} was left behind by a later version)")
            continue
        verdict.problems.append(Problem("integrity", f"{when}, {text}", file))
        failed = True
    if failed:
        verdict.integrity = FAILED
    elif verdict.integrity == SKIPPED:
        verdict.integrity = OK


def _failure_problem(check: str, result: ScriptResult, file: Optional[str], options: ReplayOptions) -> Problem:
    message = f"{check} failed: {result.error}"
    python_version = sqlite3.sqlite_version
    app = options.app_sqlite_version
    if app and _version_tuple(app) > _version_tuple(python_version) and _VERSION_SENSITIVE.search(result.error or ""):
        message += (f" (this ran on SQLite {python_version}; the app's driver bundles SQLite {app}: "
                    "if the SQL needs the newer version, the failure may come from that difference)")
    missing = re.search(r"no such function: (\w+)", result.error or "")
    if missing:
        message += (f" (if the app registers {missing.group(1)}() on its connection, declare a stand-in: "
                    f"--sql-function '{missing.group(1)}=EXPR' over its arguments ?1..?n)")
    return Problem(check, message, file, result.line)


def _version_tuple(text: str) -> Tuple[int, ...]:
    try:
        return tuple(int(p) for p in text.split("."))
    except ValueError:
        return ()


# One pair on a given connection ---------------------------------------------------


def verify_pair(conn: sqlite3.Connection, up_sql: str, down_sql: str, *, options: Optional[ReplayOptions] = None,
                version: int = 0, name: str = "", up_file: Optional[str] = None,
                down_file: Optional[str] = None) -> StepVerdict:
    """Run `up_sql`, `down_sql`, `up_sql` on `conn` (whatever state it is in
    is the "before" state) and check each step as the replay does: schema
    round trip, re-up, synthetic rows (seeded into every user table first),
    foreign keys and integrity. The connection ends after the second up (or
    where a step failed). golang-migrate's version table is not touched."""
    options = options or ReplayOptions()
    tracker = Tracker(conn, migrations_table=options.migrations_table, cross_check=options.cross_check,
                      json_columns=options.json_columns, key_columns=options.key_columns)
    verdict = StepVerdict(version, name)
    wrap = not options.no_tx_wrap
    if options.check_data:
        verdict.notes.extend(tracker.seed(tracker.tables(), 1, options.rows_per_table))
    tracker.record_violations(tracker.tables())
    tracker.record_damage()

    def attempt(check: str, sql: str, file: Optional[str]) -> Optional[Change]:
        result, change = tracker.run(lambda: engine.run_script(conn, sql, wrap=wrap, file=file))
        if not result.ok:
            setattr(verdict, check, FAILED)
            verdict.problems.append(_failure_problem(check, result, file, options))
            return None
        if check != "reup":
            setattr(verdict, check, OK)
        return change

    before = tracker.state()
    up_change = attempt("up", up_sql, up_file)
    if up_change is None:
        return verdict
    left, moved = _after_up(verdict, tracker, before, up_change, options, up_file, 2)
    after = tracker.state()
    change = attempt("down", down_sql, down_file)
    if change is None:
        return verdict
    _after_down(verdict, tracker, before, after, after, up_change, change, options, down_file, left, moved)
    pre_reup = tracker.state()
    change = attempt("reup", up_sql, up_file)
    if change is not None:
        _after_reup(verdict, tracker, before, after, pre_reup, up_change, change, up_file)
    return verdict


# The whole folder --------------------------------------------------------------------


ConnectionFactory = Callable[[], sqlite3.Connection]


def start_from(db: Optional[Path] = None, *, foreign_keys: bool = False, functions: Sequence = ()) -> ConnectionFactory:
    """Where a replay starts: an empty in-memory database, or an in-memory
    copy of `db` (`engine.copy_of_user_db`: SQLite never opens the file
    itself); each call returns a fresh copy, with stand-ins for the SQL
    functions the app registers."""
    if db is None:
        return lambda: register(engine.scratch(foreign_keys=foreign_keys), functions)
    pristine = engine.copy_of_user_db(db)
    return lambda: register(engine.copy(pristine, foreign_keys=foreign_keys), functions)


def replay_dir(path: Path, options: Optional[ReplayOptions] = None, *, db: Optional[Path] = None,
               ext: str = "sql") -> ReplayReport:
    """Replay the migrations folder at `path` (see `replay`): the folder is
    scanned and every file read first (FolderError/FileReadError on bad
    input), from an empty database or a copy of `db`."""
    options = options or ReplayOptions()
    folder = scan_folder(path, ext)
    texts = {f.name: read_sql(folder.file_path(f)).text for f in folder.all_files()}
    return replay(folder, texts, start_from(db, foreign_keys=options.foreign_keys, functions=options.sql_functions),
                  options)


def replay(folder: MigrationFolder, texts: Dict[str, str], start: ConnectionFactory,
           options: Optional[ReplayOptions] = None) -> ReplayReport:
    """Replay `folder` (file texts in `texts`, by file name) from the state
    `start()` returns: a new connection each call, each a fresh copy of the
    same start state (an empty database, or a copy of a real one), with
    foreign keys set as the app sets them. With `options.from_version`, the
    versions below it are first applied once as golang-migrate applies
    them (`shipped_state`) and the replay starts from there."""
    options = options or ReplayOptions()
    if options.from_version is None:
        return _Replay(folder, texts, start, options).run()
    shipped = shipped_state(start, folder, texts, options.from_version, options)
    try:
        report = replay(folder, texts, shipped.factory(options.foreign_keys),
                        shipped.options_for(replace(options, from_version=None)))
    finally:
        shipped.close()
    report.options = options
    shipped.fill(report)
    return report


@dataclass
class SeededStart:
    """A start state that already holds the synthetic rows (shared by the
    runs with foreign keys off and on): the model's rows, the tables no row
    fits, and a factory of the same state without the rows (what the
    data-dependence probe and the pre-checks start from)."""

    rows: Dict[str, RowSet]
    skipped: Dict[str, str]
    bare: ConnectionFactory
    tracker: Optional[TrackerStart] = None  # the seeded state as a Tracker reads it


@dataclass
class ShippedState:
    """The start state brought up to just below the first checked version,
    built once: `conn` as golang-migrate leaves it, `seeded` the same with
    synthetic rows (`seed`); `factory` gives fresh copies, as a
    ConnectionFactory does."""

    conn: sqlite3.Connection
    failures: List[ShippedFailure]
    sql_functions: Tuple
    start_version: int = NIL_VERSION  # where the start state was before the shipped ups
    seeded: Optional[sqlite3.Connection] = None
    rows: Dict[str, RowSet] = field(default_factory=dict)
    skipped: Dict[str, str] = field(default_factory=dict)
    json_columns: Optional[JsonColumns] = None
    key_columns: Optional[KeyColumns] = None
    tracker: Optional[TrackerStart] = None

    def factory(self, foreign_keys: bool, *, bare: bool = False) -> ConnectionFactory:
        source = self.conn if bare or self.seeded is None else self.seeded
        return lambda: register(engine.copy(source, foreign_keys=foreign_keys), self.sql_functions)

    def seed(self, folder: MigrationFolder, texts: Dict[str, str], options: ReplayOptions) -> None:
        """Learn the JSON and key columns of the files that will run and seed
        the synthetic rows, once for every run that starts here."""
        if self.seeded is not None or not options.check_data:
            return
        current = GoMigrate(self.conn, folder, table=options.migrations_table).version()[0]
        uses = folder_uses(folder, lambda f: texts.get(f.name), after=None if current == NIL_VERSION else current,
                           source=self.conn)
        self.json_columns = uses.json_columns if options.json_columns is None else options.json_columns
        self.key_columns = uses.key_columns if options.key_columns is None else options.key_columns
        self.seeded = register(engine.copy(self.conn), self.sql_functions)
        tracker = Tracker(self.seeded, migrations_table=options.migrations_table, json_columns=self.json_columns,
                          key_columns=self.key_columns)
        tracker.record_violations(tracker.tables())
        tracker.record_damage()
        tracker.seed(tracker.tables(), 0, options.rows_per_table)
        self.rows, self.skipped = dict(tracker.rows), dict(tracker.seed_skipped)
        self.tracker = tracker.start_state()

    def options_for(self, options: ReplayOptions) -> ReplayOptions:
        """`options` for a replay that starts from `factory(foreign_keys)`."""
        if self.seeded is None:
            return options
        return replace(options, json_columns=self.json_columns, key_columns=self.key_columns,
                       seeded=SeededStart(self.rows, self.skipped, self.factory(options.foreign_keys, bare=True),
                                          self.tracker))

    def fill(self, report: "ReplayReport") -> None:
        report.shipped_failures = list(self.failures)
        if report.blocked is None:
            report.start_version = self.start_version

    def close(self) -> None:
        self.conn.close()
        if self.seeded is not None:
            self.seeded.close()


def shipped_state(start: ConnectionFactory, folder: MigrationFolder, texts: Dict[str, str], below: int,
                  options: ReplayOptions) -> ShippedState:
    """A connection from `start()` with every version below `below` applied
    as golang-migrate applies it (`apply_shipped`), seeded once (when the
    rows are checked) for every replay that starts from it."""
    conn = start()
    version = GoMigrate(conn, folder, table=options.migrations_table).version()[0]
    failures = apply_shipped(conn, folder, texts, below, migrations_table=options.migrations_table,
                             no_tx_wrap=options.no_tx_wrap)
    state = ShippedState(conn, failures, tuple(options.sql_functions), version)
    current, dirty = GoMigrate(conn, folder, table=options.migrations_table).version()
    if not dirty and (current == NIL_VERSION or folder.find(current) is not None):
        state.seed(folder, texts, options)  # a database golang-migrate refuses: the replay says so, unseeded
    return state


def apply_shipped(conn: sqlite3.Connection, folder: MigrationFolder, texts: Dict[str, str], below: int, *,
                  migrations_table: str = "schema_migrations", no_tx_wrap: bool = False) -> List[ShippedFailure]:
    """Apply the ups of the versions below `below` that the database has not
    applied, in order, as golang-migrate does (one transaction per file
    unless `no_tx_wrap`): no synthetic rows, no checks, downs never read. A
    file that fails is skipped as golang-migrate's rollback leaves it (an
    unwrapped file keeps what ran before the failing statement), the version
    is forced past it, and the failure is returned: the state after it is
    the closest one that can be built. A database golang-migrate refuses to
    run on (dirty, or at a version no file has) is left as it is; the replay
    says why."""
    gm = GoMigrate(conn, folder, table=migrations_table, no_tx_wrap=no_tx_wrap, read_text=lambda f: texts[f.name])
    failures: List[ShippedFailure] = []
    current, dirty = gm.version()
    if dirty or (current != NIL_VERSION and folder.find(current) is None):
        return failures
    reached = current
    # Each file runs as golang-migrate runs it (its own transaction unless
    # x-no-tx-wrap); the version row, which golang-migrate writes twice per
    # file, only matters once all ran: it is written at the end.
    for migration in folder.migrations:
        if migration.version <= current:
            continue
        if migration.version >= below:
            break
        reached = migration.version
        up = migration.file(UP)
        if up is None:
            continue  # an empty migration: the version moves, nothing runs
        result = run_script(conn, texts[up.name], wrap=not no_tx_wrap, file=up.name)
        if not result.ok:
            failures.append(ShippedFailure(up.name, result.line, result.error or ""))
            if conn.in_transaction:  # an unwrapped file left its own BEGIN open: the driver's connection rolls it back
                conn.execute("ROLLBACK")
    if reached != current:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        gm.set_version(reached, False)
    return failures


_CHECK_WHAT = {"up": "the up", "down": "the down", "reup": "the second up"}


def _rows_like(pre: DbState, change: Change, statement: str) -> str:
    """One synthetic row the failed file met, as `table {col=value, ...}`:
    from a table the failing statement names if it can (else any table the
    file touched), showing the columns the statement names (else the first
    four)."""
    from .sqltext import tokens, unquote_identifier

    words = {unquote_identifier(text).lower() for kind, text in tokens(statement) if kind in ("word", "ident")}
    touched = change.touched
    candidates = [t for t in sorted(touched.schema | touched.written | touched.read)
                  if pre.rows.get(t) is not None and pre.rows[t].rows]
    if not candidates:
        return ""
    named = [t for t in candidates if t in words]
    rowset = pre.rows[(named or candidates)[0]]
    positions = [i for i, c in enumerate(rowset.columns) if c.lower() in words] or list(range(min(4, len(rowset.columns))))
    row = rowset.rows[0]
    shown = ", ".join(f"{rowset.columns[i]}={sql_value(row[i])[:40]}" for i in positions[:6])
    return f"{rowset.table} {{{shown}}}"


class _Replay:
    def __init__(self, folder: MigrationFolder, texts: Dict[str, str], start: ConnectionFactory,
                 options: ReplayOptions) -> None:
        self.folder = folder
        self.texts = texts
        self.start = start
        self.options = options
        self.report = ReplayReport(str(folder.path), sqlite3.sqlite_version, options)
        self.before: Dict[int, DbState] = {}
        self.after: Dict[int, DbState] = {}
        self.left: Dict[int, Dict[str, RowSet]] = {}  # rows as each up left them (before new synthetic rows)
        self.moved: Dict[int, Moved] = {}  # columns each up dropped after moving their values
        self.up_changes: Dict[int, Change] = {}
        self.seed_index: Dict[int, int] = {}
        self.unclean: List[int] = []  # versions whose down left things in place (missing, differs, lost rows)
        self.stopped = False
        self.last_step_stopped = False  # the last _step set golang-migrate's stop
        self.stop_copy: Optional[sqlite3.Connection] = None  # the database where it stopped, for keep("stop")
        # With a real database (options.real_db), during the up pass: the
        # start state without synthetic rows, brought along version by
        # version (None: the main session has no synthetic rows, or it
        # could not follow), and an empty copy of the schema that follows it.
        self.shadow: Optional[GoMigrate] = None
        self.follower = None  # prechecks.SchemaFollower
        # Triggers (see _fire_triggers): what firing each table's triggers
        # touched, and the triggers known to fail (name -> message).
        self.trigger_deps: Dict[str, Set[str]] = {}
        self.broken_triggers: Dict[str, str] = {}
        self.json_columns = options.json_columns
        self.key_columns = options.key_columns
        conn = self.start()
        if options.check_data and options.seeded is None and (self.json_columns is None or self.key_columns is None):
            # Learned from the files that will run, on a copy of the start
            # state (what is already there: its triggers and CHECKs).
            current = GoMigrate(conn, folder, table=options.migrations_table).version()[0]
            uses = folder_uses(folder, lambda f: texts.get(f.name),
                               after=None if current == NIL_VERSION else current, source=conn)
            if self.json_columns is None:
                self.json_columns = uses.json_columns
            if self.key_columns is None:
                self.key_columns = uses.key_columns
        self._open(conn)

    # -- sessions ------------------------------------------------------------
    def _open(self, conn: Optional[sqlite3.Connection] = None) -> None:
        conn = conn if conn is not None else self.start()
        self.gm = GoMigrate(conn, self.folder, table=self.options.migrations_table, no_tx_wrap=self.options.no_tx_wrap,
                            read_text=lambda f: self.texts[f.name])
        seeded = self.options.seeded
        self.tracker = self._tracker(conn, seeded.tracker if seeded is not None else None)
        if seeded is not None:
            self.tracker.rows, self.tracker.seed_skipped = dict(seeded.rows), dict(seeded.skipped)
        elif self.options.check_data:
            self.tracker.seed(self.tracker.tables(), 0, self.options.rows_per_table)

    def _tracker(self, conn: sqlite3.Connection, start: Optional[TrackerStart] = None) -> Tracker:
        tracker = Tracker(conn, migrations_table=self.options.migrations_table, cross_check=self.options.cross_check,
                          json_columns=self.json_columns, key_columns=self.key_columns, start=start)
        if start is None:
            tracker.record_violations(tracker.tables())
            tracker.record_damage()
        return tracker

    def _restore(self, target: int) -> bool:
        """Replace the scratch database with a fresh copy of the start state
        brought to `target` by the ups pass 1 applied. False if that fails."""
        self.report.restores += 1
        self.gm.conn.close()
        self._open()
        while True:
            current, _dirty = self.gm.version()
            if current == target:
                return True
            outcome, change = self.tracker.run(lambda: self.gm.up(1))
            if not outcome.ok or not outcome.steps:
                return False
            version = outcome.steps[-1].version
            if self.options.check_data:
                self.tracker.update_rows(change.rows)
                grown = [t for t in change.schema_changed if t in self.tracker.schema.tables]
                self.tracker.seed(grown, self.seed_index.get(version, 0), self.options.rows_per_table)
            self.tracker.check_integrity(change)

    # -- steps ---------------------------------------------------------------
    def _step(self, phase: str, direction: str) -> Tuple[RunOutcome, Optional[Step], Change]:
        action = self.gm.up if direction == UP else self.gm.down
        outcome, change = self.tracker.run(lambda: action(1))
        step = outcome.steps[-1] if outcome.steps else None
        if not self.stopped:
            if step is not None and (outcome.error is None or outcome.error_kind == RUN_FAILED):
                # What GoMigrate wrote: the target, dirty only when the file failed.
                version, dirty = step.target, outcome.error is not None
            else:
                version, dirty = self.gm.version()
            self.report.trace.append(GoStep(phase, step.version if step else version, direction, outcome.error, version, dirty))
            if outcome.error is not None:
                self.stopped = True
                self.report.stop = StopPoint(phase, step.version if step else version, direction, outcome.error, version)
                self.last_step_stopped = True
                if self.options.keep:
                    # Saved at the end: a failure that only the synthetic
                    # rows cause is no stop of golang-migrate's (see _without_rows).
                    self.stop_copy = engine.copy(self.gm.conn)
                return outcome, step, change
        self.last_step_stopped = False
        return outcome, step, change

    def _keep_stop(self) -> None:
        if self.options.keep and self.report.stop is not None and self.stop_copy is not None:
            self.options.keep("stop", self.stop_copy)
        if self.stop_copy is not None:
            self.stop_copy.close()
            self.stop_copy = None

    def _file_name(self, migration: Migration, direction: str) -> Optional[str]:
        f = migration.file(direction)
        return f.name if f else None

    # -- the run ---------------------------------------------------------------
    def run(self) -> ReplayReport:
        report = self.report
        folder = self.folder
        if folder.duplicates:
            dup = folder.duplicates[0]
            report.blocked = (f"golang-migrate refuses to open the folder: duplicate migration file: {dup.names[1]} "
                              f"(version {dup.version} {dup.direction} is also {dup.names[0]}); keep one of them.")
            return report
        current, dirty = self.gm.version()
        report.start_version = current
        if dirty:
            report.blocked = (f"the database is dirty at version {current}: golang-migrate refuses to run "
                              "(Dirty database version {0}. Fix and force version.); fix it and `migrate force` "
                              "a clean version first.".format(current))
            return report
        if current != NIL_VERSION and folder.find(current) is None:
            report.blocked = (f"the database is at version {current}, which no file in {folder.path} has: "
                              f"golang-migrate fails with `no migration found for version {current}`.")
            return report
        to = self.options.to_version
        verified = [m for m in folder.migrations if m.version > current and (to is None or m.version <= to)]
        self.seed_index = {m.version: i + 1 for i, m in enumerate(verified)}
        report.steps = [StepVerdict(m.version, m.name) for m in verified]
        verdicts = {s.version: s for s in report.steps}
        self._start_prechecks()
        self._fire_triggers(None, None, None)
        try:
            applied = self._pass_up(verified, verdicts)
        finally:
            self._end_prechecks()
        if self.options.allow_missing_down and applied and all(m.down is None for m in applied):
            # Nothing to undo anywhere (an up-only folder): going down runs
            # nothing and the ups cannot run twice; no step of that is news.
            report.downs_skipped = True
            for migration in applied:
                verdicts[migration.version].down = MISSING
        elif self._pass_down(applied, verdicts):
            self._pass_reup(applied, verdicts)
        self._keep_stop()
        if self.options.keep:
            self.options.keep("final", self.gm.conn)
        return report

    def _pass_up(self, verified: List[Migration], verdicts: Dict[int, StepVerdict]) -> List[Migration]:
        applied: List[Migration] = []
        for index, migration in enumerate(verified):
            version, verdict = migration.version, verdicts[migration.version]
            found = self._prechecks(migration)
            before = self.tracker.state()
            outcome, step, change = self._step(PHASE_UP, UP)
            file = self._file_name(migration, UP)
            probed = None if outcome.ok else self._without_rows(verdict, "up", migration, outcome, step, change, before, file)
            if probed is not None:
                outcome, step, change, before = probed
            if not outcome.ok:
                verdict.prechecks = found
                self._fail(verdict, "up", outcome, step, file)
                for later in verified[index + 1:]:
                    verdicts[later.version].notes.append(f"not run: the up of version {version} failed and later versions build on it")
                    # What they would meet on the real rows, as they are
                    # before this version (the empty schema copy goes on).
                    verdicts[later.version].prechecks = self._prechecks(later)
                previous = self.folder.previous(version)
                target = NIL_VERSION if previous is None else previous
                if self.options.no_tx_wrap and step is not None and step.result is not None and step.result.statements_run:
                    self._restore(target)  # statements before the failing one stayed applied
                else:
                    self.gm.force(target)
                return applied
            verdict.up = MISSING if file is None else (DATA_DEPENDENT if probed else OK)
            if file is None:
                verdict.problems.append(Problem("up", f"version {version} has no up file: going up does nothing, "
                                                      "going down runs its down"))
            self.before[version] = before
            self.up_changes[version] = change
            self.left[version], self.moved[version] = _after_up(verdict, self.tracker, before, change, self.options,
                                                                file, self.seed_index[version])
            self._fire_triggers(verdict, change, file)
            if verdict.integrity == FAILED:
                verdict.prechecks = found
            self._advance_shadow()
            if probed is not None:
                self._reseed(version)
            self.after[version] = self.tracker.state()
            applied.append(migration)
        return applied

    def _pass_down(self, applied: List[Migration], verdicts: Dict[int, StepVerdict]) -> bool:
        for migration in reversed(applied):
            version, verdict = migration.version, verdicts[migration.version]
            pre_down = self.tracker.state()
            outcome, step, change = self._step(PHASE_DOWN, DOWN)
            file = self._file_name(migration, DOWN)
            if not outcome.ok and self.unclean:
                # A higher version's down left things in place; golang-migrate
                # stops here, but judge this down from the state it should see.
                self._mark_stop(verdict, PHASE_DOWN)
                first_error = outcome.error
                if not self._restore(version):
                    verdict.notes.append(f"could not rebuild the state of version {version}; lower versions not checked")
                    return False
                pre_down = self.tracker.state()
                outcome, step, change = self._step(PHASE_DOWN, DOWN)
                if outcome.ok:
                    verdict.notes.append(self._blame_note("down", first_error))
            probed = None if outcome.ok else self._without_rows(verdict, "down", migration, outcome, step, change, pre_down, file)
            if probed is not None:
                outcome, step, change, pre_down = probed
            if not outcome.ok:
                self._fail(verdict, "down", outcome, step, file)
                target = step.target if step is not None else NIL_VERSION
                if not self._restore(target):
                    verdict.notes.append(f"could not rebuild the state of version {target}; lower versions not checked")
                    return False
                continue
            if file is None:
                verdict.down = MISSING
                if not self.options.allow_missing_down:  # allowed: said once for the run, not per version
                    verdict.problems.append(Problem("down", f"version {version} has no down file: golang-migrate runs "
                                                            "nothing going down and leaves the up's changes in place",
                                                    self._file_name(migration, UP)))
                self.unclean.append(version)
                if self.options.check_data:
                    self.tracker.update_rows(change.rows)
                continue
            verdict.down = DATA_DEPENDENT if probed else OK
            _after_down(verdict, self.tracker, self.before[version], self.after[version], pre_down,
                        self.up_changes[version], change, self.options, file, self.left[version], self.moved[version])
            if verdict.roundtrip != OK or verdict.data == FAILED:
                self.unclean.append(version)
        return True

    def _pass_reup(self, applied: List[Migration], verdicts: Dict[int, StepVerdict]) -> None:
        for migration in applied:
            version, verdict = migration.version, verdicts[migration.version]
            pre_reup = self.tracker.state()
            outcome, step, change = self._step(PHASE_REUP, UP)
            file = self._file_name(migration, UP)
            if not outcome.ok and verdict.down == MISSING:
                verdict.reup = SKIPPED
                result = step.result if step else None
                if not self.options.allow_missing_down:
                    verdict.notes.append("the up cannot run again after the missing down"
                                         + (f" ({result.error})" if result and result.error else ""))
                self._mark_stop(verdict, PHASE_REUP)
                if not self._restore(version):
                    verdict.notes.append(f"could not rebuild the state of version {version}; later versions not checked again")
                    return
                continue
            if not outcome.ok and version not in self.unclean and self.unclean:
                # Its own down was clean: what is in the way was left by
                # another version. Judge the up from the state it should see.
                self._mark_stop(verdict, PHASE_REUP)
                first_error = outcome.error
                previous = self.folder.previous(version)
                if not self._restore(NIL_VERSION if previous is None else previous):
                    verdict.notes.append("could not rebuild the state before this version; later versions not checked again")
                    return
                pre_reup = self.tracker.state()
                outcome, step, change = self._step(PHASE_REUP, UP)
                if outcome.ok:
                    verdict.notes.append(self._blame_note("second up", first_error))
            probed = None if outcome.ok else self._without_rows(verdict, "reup", migration, outcome, step, change, pre_reup, file)
            if probed is not None:
                outcome, step, change, pre_reup = probed
            if not outcome.ok:
                self._fail(verdict, "reup", outcome, step, file)
                if not self._restore(version):
                    verdict.notes.append(f"could not rebuild the state of version {version}; later versions not checked again")
                    return
                continue
            _after_reup(verdict, self.tracker, self.before[version], self.after[version], pre_reup,
                        self.up_changes[version], change, file)
            if probed is not None and verdict.reup == OK:
                verdict.reup = DATA_DEPENDENT

    def _blame_note(self, what: str, error: Optional[str]) -> str:
        others = ", ".join(str(v) for v in sorted(set(self.unclean)))
        return (f"golang-migrate's own run fails at this {what} ({error}) because the down of version(s) "
                f"{others} left things in place; from the state this version should see, the {what} works")

    def _mark_stop(self, verdict: StepVerdict, phase: str) -> None:
        stop = self.report.stop
        if stop is not None and stop.version == verdict.version and stop.phase == phase:
            verdict.stops_here = True

    def _fail(self, verdict: StepVerdict, check: str, outcome: RunOutcome, step: Optional[Step], file: Optional[str]) -> None:
        setattr(verdict, check, FAILED)
        result = step.result if step is not None else None
        if result is not None and outcome.error_kind == RUN_FAILED:
            verdict.problems.append(_failure_problem(check, result, file, self.options))
        else:
            verdict.problems.append(Problem(check, f"{check} failed: {outcome.error}", file))
        self._mark_stop(verdict, {"up": PHASE_UP, "down": PHASE_DOWN}.get(check, PHASE_REUP))

    # -- failures only the synthetic rows cause ----------------------------------
    def _without_rows(self, verdict: StepVerdict, check: str, migration: Migration, outcome: RunOutcome,
                      step: Optional[Step], change: Change, pre: DbState,
                      file: Optional[str]) -> Optional[Tuple[RunOutcome, Step, Change, DbState]]:
        """A file that failed with synthetic rows in the database, run again
        on the same state without them: the start state (an empty database,
        or the --db copy) brought to the same version by the same ups. If it
        passes there, the failure depends on data: the step is a warning
        (DATA_DEPENDENT) naming a row like the ones it fails on, golang-migrate
        (which runs on the start state) is not said to stop there, and the
        replay goes on from that state (synthetic rows are seeded again on
        the up pass). Returns the passing run (outcome, step, change, the
        state before it), or None: the failure is the file's own."""
        result = step.result if step is not None else None
        if (outcome.error_kind != RUN_FAILED or result is None or result.ok or result.kind != engine.SQL_ERROR
                or not any(r.rows for r in pre.rows.values())):
            return None  # not SQLite's error, or no synthetic row anywhere (--no-data)
        direction = DOWN if check == "down" else UP
        previous = self.folder.previous(migration.version)
        target = migration.version if direction == DOWN else (NIL_VERSION if previous is None else previous)
        session = self._bare_session(target)
        if session is None:
            return None
        gm, tracker = session
        before = tracker.state()
        if before.schema != pre.schema or not self._same_rows(gm.conn, pre, change):
            # A down left objects or rows in place (or an unwrapped file
            # half-applied): the ups alone do not make this state.
            gm.conn.close()
            return None
        action = gm.up if direction == UP else gm.down
        probe, probe_change = tracker.run(lambda: action(1))
        probe_step = probe.steps[-1] if probe.steps else None
        if not probe.ok or probe_step is None or _ANY_ROW_ERRORS.search(result.error or ""):
            if probe.ok:
                verdict.notes.append(f"{_CHECK_WHAT[check]} passes on an empty table; it fails on any database with "
                                     "rows there (SQLite refuses it whatever their values)")
            gm.conn.close()
            return None
        verdict.warnings.append(Problem(check, self._dependence_text(check, result, change, pre), file, result.line))
        if self.last_step_stopped:
            # golang-migrate runs on the start state, where this step passes.
            stop = self.report.trace[-1]
            self.report.trace[-1] = GoStep(stop.phase, stop.version, stop.direction, None, probe_step.target, False)
            self.report.stop = None
            self.stopped = self.last_step_stopped = False
            if self.stop_copy is not None:
                self.stop_copy.close()
                self.stop_copy = None
        self.gm.conn.close()
        self.gm, self.tracker = gm, tracker
        return probe, probe_step, probe_change, before

    def _same_rows(self, probe: sqlite3.Connection, pre: DbState, change: Change) -> bool:
        """Whether the tables the failed file touched hold, besides the
        synthetic rows, as many rows here as in the probe."""
        from .sqltext import quote_identifier

        touched = change.touched
        for name in sorted((touched.read | touched.written | touched.schema) & set(pre.schema.tables)):
            table = quote_identifier(pre.schema.tables[name].name)
            try:
                here = self.gm.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                there = probe.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            except sqlite3.Error:
                return False
            synthetic = pre.rows.get(name)
            if here - (len(synthetic.rows) if synthetic is not None else 0) != there:
                return False
        return True

    def _bare_session(self, target: int) -> Optional[Tuple[GoMigrate, Tracker]]:
        """A fresh copy of the start state brought to `target` by the ups,
        without synthetic rows; None when an up fails on the way."""
        if self.shadow is not None and self.shadow.version() == (target, False):
            conn = register(engine.copy(self.shadow.conn, foreign_keys=self.options.foreign_keys),
                            self.options.sql_functions)
        elif self.options.seeded is not None:
            conn = self.options.seeded.bare()
        else:
            conn = self.start()
        gm = GoMigrate(conn, self.folder, table=self.options.migrations_table, no_tx_wrap=self.options.no_tx_wrap,
                       read_text=lambda f: self.texts[f.name])
        while gm.version()[0] != target:
            outcome = gm.up(1)
            if not outcome.ok or not outcome.steps:
                conn.close()
                return None
        return gm, self._tracker(conn)

    def _reseed(self, version: int) -> None:
        """Synthetic rows again in the tables that have none, so that the
        versions after a data-dependent up are still checked with rows."""
        empty = [t for t in self.tracker.tables() if t not in self.tracker.rows]
        self.tracker.seed(empty, self.seed_index[version], self.options.rows_per_table)

    def _dependence_text(self, check: str, result: ScriptResult, change: Change, pre: DbState) -> str:
        what = _CHECK_WHAT[check]
        sample = _rows_like(pre, change, result.statement.sql if result.statement is not None else "")
        fails = f"{what} fails on rows like {sample}" if sample else f"{what} fails with synthetic rows in the tables"
        if self.options.real_db:
            return (f"{fails}: {result.error}; passes on the --db copy without them, "
                    "so a database with such rows would stop here")
        return f"{fails}: {result.error}; passes on an empty table; check it with `--db` on a copy of real data"


    # -- pre-checks on a real database --------------------------------------------
    def _start_prechecks(self) -> None:
        if not self.options.real_db:
            return
        from .prechecks import SchemaFollower

        source = self.gm.conn
        if self.options.check_data:
            session = self._bare_session(self.gm.version()[0])
            if session is None:
                return
            self.shadow = session[0]
            source = self.shadow.conn
        functions = self.options.sql_functions
        self.follower = SchemaFollower(source, lambda: register(engine.scratch(), functions),
                                       wrap=not self.options.no_tx_wrap, migrations_table=self.options.migrations_table)

    def _end_prechecks(self) -> None:
        for conn in (self.shadow.conn if self.shadow else None, self.follower.conn if self.follower else None):
            if conn is not None:
                conn.close()
        self.shadow = self.follower = None

    def _prechecks(self, migration: Migration) -> List:
        """Before `migration`'s up: the rows of the real database (as the
        ups before it left them, without synthetic rows) that what it adds
        would refuse (prechecks.Precheck, found ones only)."""
        up = migration.file(UP)
        if self.follower is None or up is None:
            return []
        from .prechecks import measure

        checks = self.follower.checks_for(self.texts[up.name], up.name)
        conn = self.shadow.conn if self.shadow is not None else self.gm.conn
        return [c for c in measure(conn, checks) if c.count] if checks else []

    def _advance_shadow(self) -> None:
        if self.shadow is not None and not self.shadow.up(1).ok:
            self.shadow.conn.close()  # the real rows break this version: no more pre-checks
            self.shadow = None
            if self.follower is not None:
                self.follower.in_step = False

    # -- triggers ---------------------------------------------------------------------
    def _fire_triggers(self, verdict: Optional[StepVerdict], change: Optional[Change], file: Optional[str]) -> None:
        """After an up (`change`), fire once the triggers of each table that
        change may reach (triggerfire): those of a table it altered, and
        those whose firing touched something it altered. A trigger that
        fails and did not before is the version's finding: an integrity
        failure when it does not even compile, a warning when it failed on
        the row it ran on. Without a change (the start), every table's
        triggers fire and what fails is taken as known."""
        conn = self.gm.conn
        if conn.execute("SELECT 1 FROM main.sqlite_master WHERE type = 'trigger' LIMIT 1").fetchone() is None:
            self.broken_triggers.clear()
            return
        from .triggerfire import fire, tables_with_triggers

        tables = tables_with_triggers(conn)
        if not tables:
            return
        if change is not None:
            # What a firing touched includes the views its bodies read and
            # the old name of a table renamed away (which is "changed").
            changed = change.schema_changed
            wanted = [t for t in tables if t.lower() in changed or t.lower() not in self.trigger_deps
                      or self.trigger_deps[t.lower()] & changed]
        else:
            wanted = tables

        def seed(c: sqlite3.Connection, table: str) -> None:
            seed_rows(c, [table], 1, start=9999, json_columns=self.json_columns)

        recorder = self.tracker.recorder
        for table in wanted:
            recorder.start()
            try:
                result = fire(conn, [table], seed=seed)
            finally:
                touched = recorder.stop()
            self.trigger_deps[table.lower()] = touched.read | touched.written
            for name in result.triggers.get(table.lower(), []):
                broken = result.broken.get(name)
                message = broken.message() if broken is not None else None
                if message is None:
                    self.broken_triggers.pop(name, None)
                    continue
                if verdict is not None and self.broken_triggers.get(name) != message:
                    problem = Problem("integrity", "after the up, " + message, file)
                    if broken.row is None:
                        verdict.problems.append(problem)
                        verdict.integrity = FAILED
                    else:
                        verdict.warnings.append(problem)
                self.broken_triggers[name] = message
        existing = {n for n in self.tracker.schema.triggers}
        for name in list(self.broken_triggers):
            if name not in existing:
                del self.broken_triggers[name]
