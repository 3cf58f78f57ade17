"""What a real database says about the migrations folder, and how to recover
a dirty one.

The database is only read: it is copied into memory with SQLite's backup API
first. A dirty row alone cannot tell a failed up of N (row N, schema still at
the version before) from a failed down of the next version (row N, schema
still at the next version), so the real schema is compared with the schemas
the folder produces at each candidate version on a scratch database.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

from .folder import Migration, MigrationFolder
from .gomigrate import NIL_VERSION, GoMigrate
from .schema import Snapshot, diff, snapshot
from . import engine
from .engine import ScriptResult
from .sqlfuncs import register
from .errors import MigrationWriterError


@dataclass
class Recovery:
    """How to get a dirty database going again."""

    failed: str  # the file (or step) that failed, as far as the schema tells
    state: str  # "rolled_back", "applied", "partial" or "unknown"
    force_to: int  # the version to force (-1 = NilVersion)
    explanation: str
    present: List[str] = field(default_factory=list)  # partial: changes already in the database
    absent: List[str] = field(default_factory=list)  # partial: changes not in the database
    # The folder's own chain failed on the scratch database (FILE:LINE: why),
    # so the schemas to compare with are missing from there on.
    replay_error: Optional[str] = None


@dataclass
class DatabaseStatus:
    path: Path
    has_table: bool
    version: int  # -1 = no version
    dirty: bool
    applied: List[Migration] = field(default_factory=list)
    pending: List[Migration] = field(default_factory=list)
    missing_current: bool = False  # the version row names a version with no file
    recovery: Optional[Recovery] = None


def read_version(conn: sqlite3.Connection, table: str) -> "tuple[bool, int, bool]":
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    if not exists:
        return False, NIL_VERSION, False
    try:
        row = conn.execute(f'SELECT version, dirty FROM "{table}" LIMIT 1').fetchone()
    except sqlite3.Error as exc:
        raise MigrationWriterError(f"cannot read the {table} table ({exc}).") from None
    if row is None or row[0] is None:
        return True, NIL_VERSION, False
    return True, int(row[0]), bool(row[1])


def database_status(folder: MigrationFolder, db_path: Path, *, table: str = "schema_migrations",
                    no_tx_wrap: bool = False, functions: Sequence = ()) -> DatabaseStatus:
    """Read `db_path` (never writing it) and relate it to `folder`."""
    conn = engine.copy_of_user_db(db_path)
    has_table, version, dirty = read_version(conn, table)
    status = DatabaseStatus(db_path, has_table, version, dirty)
    status.missing_current = version >= 0 and folder.find(version) is None
    if dirty:
        status.recovery = _recover(folder, conn, version, table=table, no_tx_wrap=no_tx_wrap, functions=functions)
    conn.close()
    # A dirty row names the step that failed; what is applied is what its
    # schema says (the version to force).
    reached = status.recovery.force_to if status.recovery is not None else version
    for migration in folder.migrations:
        (status.applied if reached >= 0 and migration.version <= reached else status.pending).append(migration)
    return status


def schemas_at(folder: MigrationFolder, versions: List[int], *, table: str,
               self_committed: Optional[Set[int]] = None, functions: Sequence = (),
               no_tx_wrap: bool = False) -> Tuple[Dict[int, Snapshot], Optional[str]]:
    """Schema the folder produces at each requested version (-1 = empty),
    from one scratch database migrated upwards once; and where the chain
    failed on the way ("FILE:LINE: why"), if it did.

    An up whose own COMMIT (or END) ended golang-migrate's transaction early
    fails at the driver's commit with its work already committed: the schema
    is that version's, so the scratch carries on from there (as `force N`
    would) and the version is added to `self_committed`."""
    wanted = sorted(set(versions))
    out: Dict[int, Snapshot] = {}
    scratch = engine.scratch()
    register(scratch, functions)  # stand-ins for the SQL functions the app registers
    runner = GoMigrate(scratch, folder, table=table, no_tx_wrap=no_tx_wrap)
    if NIL_VERSION in wanted:
        out[NIL_VERSION] = snapshot(scratch, migrations_table=table)
    for version in [v for v in wanted if v != NIL_VERSION]:
        while runner.version()[0] < version:
            outcome = runner.up(1)
            if not outcome.ok:
                step = outcome.failed_step
                if step is None or not _committed_itself(step.result):
                    scratch.close()
                    return out, _failure(outcome)  # the chain itself fails before this version
                runner.force(step.target)
                if self_committed is not None:
                    self_committed.add(step.target)
        out[version] = snapshot(scratch, migrations_table=table)
    scratch.close()
    return out, None


def _failure(outcome) -> str:
    step = outcome.failed_step
    result = step.result if step is not None else None
    if step is not None and step.file is not None and result is not None and result.line:
        return f"{step.file.name}:{result.line}: {result.error}"
    return outcome.error or "failed"


def _committed_itself(result: Optional[ScriptResult]) -> bool:
    """The file's statements ran and a COMMIT/END among them committed them;
    only the driver's own commit failed."""
    return (result is not None and result.phase == "commit"
            and "no transaction is active" in (result.error or ""))


def _recover(folder: MigrationFolder, conn: sqlite3.Connection, version: int, *, table: str,
             no_tx_wrap: bool, functions: Sequence = ()) -> Recovery:
    failures: List[str] = []
    recovery = _diagnose(folder, conn, version, table, no_tx_wrap, failures, functions)
    recovery.replay_error = failures[0] if failures else None
    return recovery


def _diagnose(folder: MigrationFolder, conn: sqlite3.Connection, version: int, table: str, no_tx_wrap: bool,
              failures: List[str], functions: Sequence) -> Recovery:
    actual = snapshot(conn, migrations_table=table)
    versions = folder.versions
    tx = ("each file runs without a transaction (x-no-tx-wrap), so a failed file may be partly applied"
          if no_tx_wrap else "golang-migrate ran the file in a transaction, which was rolled back")
    if version == NIL_VERSION:
        first = versions[0] if versions else None
        if first is None:
            return Recovery("down of the first version", "unknown", NIL_VERSION,
                            "the row is (-1, dirty) and the folder is empty.")
        schemas, failure = schemas_at(folder, [NIL_VERSION, first], table=table, functions=functions, no_tx_wrap=no_tx_wrap)
        failures.extend([failure] if failure else [])
        name = _file_name(folder.find(first), "down")
        if schemas.get(first) is not None and not diff(schemas[first], actual):
            return Recovery(name, "rolled_back", first,
                            f"the down of version {first} failed; {tx}: the schema is still the one of version {first}.")
        if not diff(schemas[NIL_VERSION], actual):
            return Recovery(name, "applied", NIL_VERSION,
                            f"the down of version {first} took effect (the schema is empty) but was not recorded.")
        return _partial(name, first, NIL_VERSION, schemas, actual, tx)

    if folder.find(version) is None:
        return Recovery(f"version {version}", "unknown", version,
                        f"version {version} has no file in this folder (another branch, or a deleted file); restore it first.")
    index = versions.index(version)
    previous = versions[index - 1] if index > 0 else NIL_VERSION
    following = versions[index + 1] if index + 1 < len(versions) else None
    candidates = [previous, version] + ([following] if following is not None else [])
    self_committed: Set[int] = set()
    schemas, failure = schemas_at(folder, candidates, table=table, self_committed=self_committed, functions=functions,
                                  no_tx_wrap=no_tx_wrap)
    failures.extend([failure] if failure else [])
    up_name = _file_name(folder.find(version), "up")
    matches = [v for v in candidates if v in schemas and not diff(schemas[v], actual)]
    if previous in matches and following not in matches:
        return Recovery(up_name, "rolled_back", previous,
                        f"the up of version {version} failed; {tx}: the schema is still the one of "
                        f"{'an empty database' if previous == NIL_VERSION else f'version {previous}'}.")
    if following is not None and following in matches and previous not in matches:
        down_name = _file_name(folder.find(following), "down")
        return Recovery(down_name, "rolled_back", following,
                        f"the down of version {following} failed; {tx}: the schema is still the one of version {following}.")
    if version in matches and len(matches) == 1 and version in self_committed:
        return Recovery(up_name, "applied", version,
                        f"{up_name} ends golang-migrate's transaction itself (a COMMIT or END in a wrapped file): its "
                        f"work was committed, then the driver's commit failed ('cannot commit - no transaction is "
                        f"active'). The schema is already the one of version {version}; remove the COMMIT/END from "
                        f"the file, check the schema, and force {version} (forcing {previous} would make the next up "
                        f"fail on what is already there).")
    if version in matches and len(matches) == 1:
        return Recovery(up_name, "applied", version,
                        f"the schema is already the one of version {version} (the file ran, the clean flag was never written).")
    if matches:
        listed = ", ".join("empty" if v == NIL_VERSION else str(v) for v in matches)
        return Recovery(up_name, "unknown", matches[0],
                        f"the schema matches several versions ({listed}): their migrations change data only. "
                        f"Check the rows, then force the version they match.")
    return _partial(up_name, version, previous, schemas, actual, tx)


def _partial(name: str, target: int, base: int, schemas: Dict[int, Snapshot], actual: Snapshot, tx: str) -> Recovery:
    base_text = "-1 (no version)" if base == NIL_VERSION else str(base)
    if base not in schemas:
        return Recovery(name, "unknown", base, "the folder's own chain fails before this version on an empty database; fix that first.")
    if target not in schemas:
        # The file fails on an empty database too: its intended shape is
        # unknown, but what the database holds beyond the base version is not.
        present = [_phrase(d) for d in diff(schemas[base], actual)]
        return Recovery(name, "partial", base,
                        f"the schema matches no version and {name} fails on an empty database too ({tx}). Undo the "
                        f"changes listed below by hand and force {base_text}, then fix the file.", present, [])
    changes = diff(schemas[base], schemas[target])
    present = [_phrase(d) for d in changes if not _still_differs(d, actual, schemas[target])]
    absent = [_phrase(d) for d in changes if _still_differs(d, actual, schemas[target])]
    explanation = (f"the schema matches no version: {name} is partly applied ({tx}). Either undo its changes by hand and "
                   f"force {base_text}, or finish them by hand and force {target}.")
    return Recovery(name, "partial", base, explanation, present, absent)


def _phrase(change) -> str:
    """A migration's change, said as what the migration does."""
    verb = {"unexpected": "adds", "missing": "removes"}.get(change.change, "changes")
    detail = f" ({change.detail})" if verb == "changes" and change.detail else ""
    return f"{verb} {change.kind} {change.name}{detail}"


def _still_differs(change, actual: Snapshot, target: Snapshot) -> bool:
    """True when the database still lacks this change of the migration."""
    kind, name = change.kind, change.name.lower()
    if kind == "column":
        table, _, column = name.partition(".")
        want, have = target.table(table), actual.table(table)
        want_col = want.column(column) if want else None
        have_col = have.column(column) if have else None
        return want_col != have_col
    pools = {"table": ("tables",), "index": ("indexes",), "trigger": ("triggers",), "view": ("views",)}
    for attr in pools.get(kind, ()):
        return getattr(target, attr).get(name) != getattr(actual, attr).get(name)
    return True


def _file_name(migration: Optional[Migration], direction: str) -> str:
    if migration is None:
        return "(no file)"
    chosen = migration.file(direction)
    if chosen is None:
        return f"version {migration.version_text} {direction} (no file: an empty migration)"
    return chosen.name
