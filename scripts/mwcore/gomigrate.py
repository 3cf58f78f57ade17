"""golang-migrate v4's run protocol, on a Python sqlite3 connection.

Mirrors migrate.go (Up, Down, Steps, Force, readUp/readDown, runMigrations)
and database/sqlite3 (schema_migrations, SetVersion, Run) closely enough that
every step ends with the same success or error, version and dirty flag as
the real library; tests/ compare the two on real chains.
"""

from __future__ import annotations

import bisect
import sqlite3
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from .folder import DOWN, UP, MigrationFile, MigrationFolder, read_sql
from .engine import ScriptResult, run_script

NIL_VERSION = -1

# Error kinds (the texts follow golang-migrate's).
NO_CHANGE = "no_change"  # ErrNoChange "no change"
DIRTY = "dirty"  # ErrDirty "Dirty database version N. Fix and force version."
NOT_EXIST = "not_exist"  # os.ErrNotExist "file does not exist"
SHORT_LIMIT = "short_limit"  # ErrShortLimit "limit N short"
NO_MIGRATION = "no_migration"  # "no migration found for version N: ..."
FAILED = "failed"  # the migration's SQL failed (database.Error)
INVALID_VERSION = "invalid_version"  # ErrInvalidVersion


@dataclass(frozen=True)
class Step:
    """One migration golang-migrate ran (or tried to)."""

    version: int  # the file's version
    direction: str
    target: int  # version written to schema_migrations (-1 = NilVersion)
    file: Optional[MigrationFile]  # None: missing file, an empty migration
    result: Optional[ScriptResult]  # None when there was no body to run

    @property
    def ok(self) -> bool:
        return self.result is None or self.result.ok


@dataclass
class RunOutcome:
    """What an Up/Down/Steps call did and how it ended."""

    steps: List[Step] = field(default_factory=list)
    error: Optional[str] = None
    error_kind: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def failed_step(self) -> Optional[Step]:
        return next((s for s in self.steps if not s.ok), None)


TextReader = Callable[[MigrationFile], str]


class GoMigrate:
    """A golang-migrate instance bound to one connection and one folder."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        folder: MigrationFolder,
        *,
        table: str = "schema_migrations",
        no_tx_wrap: bool = False,
        read_text: Optional[TextReader] = None,
    ) -> None:
        self.conn = conn
        self.folder = folder
        self.table = table
        self.no_tx_wrap = no_tx_wrap
        self._read_text = read_text or self._read_from_folder
        self._versions = folder.versions
        self._by_version = {m.version: m for m in folder.migrations}
        self._texts: Dict[str, str] = {}
        self.ensure_version_table()

    # -- database/sqlite3 driver -------------------------------------------
    def ensure_version_table(self) -> None:
        self.conn.execute(f"CREATE TABLE IF NOT EXISTS {self.table} (version uint64,dirty bool)")
        self.conn.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON {self.table} (version)")

    def version(self) -> Tuple[int, bool]:
        """(version, dirty); (-1, False) when there is no row."""
        try:
            row = self.conn.execute(f"SELECT version, dirty FROM {self.table} LIMIT 1").fetchone()
        except sqlite3.Error:
            return NIL_VERSION, False
        if row is None or row[0] is None:
            return NIL_VERSION, False
        return int(row[0]), bool(row[1])

    def set_version(self, version: int, dirty: bool) -> Optional[str]:
        """Write the version row as the driver does; returns its error text.

        The driver's own failure paths are kept: a connection left inside a
        transaction (an x-no-tx-wrap file that failed after its own BEGIN)
        makes the next SetVersion fail at BEGIN, as it does in Go.
        """
        try:
            self.conn.execute("BEGIN")
        except sqlite3.Error as exc:
            return f"transaction start failed: {exc}"
        try:
            self.conn.execute(f"DELETE FROM {self.table}")
        except sqlite3.Error as exc:
            return str(exc)  # the driver returns here without a rollback
        if version >= 0 or (version == NIL_VERSION and dirty):
            try:
                self.conn.execute(f"INSERT INTO {self.table} (version, dirty) VALUES (?, ?)", (version, dirty))
            except sqlite3.Error as exc:
                self.conn.execute("ROLLBACK")
                return str(exc)
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            return f"transaction commit failed: {exc}"
        return None

    def force(self, version: int) -> RunOutcome:
        if version < NIL_VERSION:
            return RunOutcome(error="version must be >= -1", error_kind=INVALID_VERSION)
        error = self.set_version(version, False)
        return RunOutcome() if error is None else RunOutcome(error=error, error_kind=FAILED)

    # -- migrate.go ----------------------------------------------------------
    def up(self, limit: int = -1) -> RunOutcome:
        """`Up()` with limit -1, `Steps(n)` with limit n > 0."""
        outcome, current = self._begin(limit)
        if current is None:
            return outcome
        count, position = 0, current
        while limit == -1 or count < limit:
            if position == NIL_VERSION:
                if not self._versions:
                    return self._fail(outcome, f"first {self.folder.path}: file does not exist", NOT_EXIST)
                following: Optional[int] = self._versions[0]
            else:
                following = self._next(position)
            if following is None:
                if limit == -1:
                    return self._fail(outcome, "no change", NO_CHANGE) if count == 0 else outcome
                if count == 0:
                    return self._fail(outcome, "file does not exist", NOT_EXIST)
                return self._fail(outcome, f"limit {limit - count} short", SHORT_LIMIT)
            if not self._run_step(outcome, following, UP, following):
                return outcome
            position = following
            count += 1
        return outcome

    def down(self, limit: int = -1) -> RunOutcome:
        """`Down()` with limit -1, `Steps(-n)` with limit n > 0."""
        outcome, current = self._begin(limit)
        if current is None:
            return outcome
        if current == NIL_VERSION:
            if limit == -1:
                return self._fail(outcome, "no change", NO_CHANGE)
            return self._fail(outcome, "file does not exist", NOT_EXIST)
        count, position = 0, current
        while limit == -1 or count < limit:
            previous = self._previous(position)
            if previous is None:
                if not self._run_step(outcome, self._versions[0], DOWN, NIL_VERSION):
                    return outcome
                count += 1
                if limit != -1 and count < limit:
                    return self._fail(outcome, f"limit {limit - count} short", SHORT_LIMIT)
                return outcome
            if not self._run_step(outcome, position, DOWN, previous):
                return outcome
            position = previous
            count += 1
        return outcome

    def steps(self, n: int) -> RunOutcome:
        if n == 0:
            return RunOutcome(error="no change", error_kind=NO_CHANGE)
        return self.up(n) if n > 0 else self.down(-n)

    # -- internals -----------------------------------------------------------
    def _begin(self, limit: int) -> "tuple[RunOutcome, Optional[int]]":
        """What readUp/readDown check before any step: dirty flag, current
        version present in the source, a zero limit. (outcome, current
        version), the version None when the run ends here."""
        outcome = RunOutcome()
        current = self._start(outcome)
        if current is not None and limit == 0:
            self._fail(outcome, "no change", NO_CHANGE)
            return outcome, None
        return outcome, current

    def _start(self, outcome: RunOutcome) -> Optional[int]:
        current, dirty = self.version()
        if dirty:
            self._fail(outcome, f"Dirty database version {current}. Fix and force version.", DIRTY)
            return None
        if current >= 0 and current not in self._by_version:
            self._fail(
                outcome,
                f"no migration found for version {current}: read down for version {current} "
                f"{self.folder.path}: file does not exist",
                NO_MIGRATION,
            )
            return None
        return current

    def _next(self, version: int) -> Optional[int]:
        index = bisect.bisect_right(self._versions, version)
        return self._versions[index] if index < len(self._versions) else None

    def _previous(self, version: int) -> Optional[int]:
        index = bisect.bisect_left(self._versions, version)
        return self._versions[index - 1] if index > 0 else None

    @staticmethod
    def _fail(outcome: RunOutcome, message: str, kind: str) -> RunOutcome:
        outcome.error, outcome.error_kind = message, kind
        return outcome

    def _run_step(self, outcome: RunOutcome, version: int, direction: str, target: int) -> bool:
        migration = self._by_version.get(version)
        migration_file = migration.file(direction) if migration else None
        error = self.set_version(target, True)
        if error is not None:
            self._fail(outcome, error, FAILED)
            return False
        result = None
        if migration_file is not None:
            result = run_script(self.conn, self.text(migration_file), wrap=not self.no_tx_wrap,
                                file=migration_file.name)
        outcome.steps.append(Step(version, direction, target, migration_file, result))
        if result is not None and not result.ok:
            where = f":{result.line}" if result.line else ""
            self._fail(outcome, f"migration {migration_file.name}{where} failed: {result.error}", FAILED)
            return False
        error = self.set_version(target, False)
        if error is not None:
            self._fail(outcome, error, FAILED)
            return False
        return True

    def text(self, migration_file: MigrationFile) -> str:
        """The file's text, read once per instance."""
        if migration_file.name not in self._texts:
            self._texts[migration_file.name] = self._read_text(migration_file)
        return self._texts[migration_file.name]

    def _read_from_folder(self, migration_file: MigrationFile) -> str:
        return read_sql(self.folder.file_path(migration_file)).text
