"""What a real database says about the migrations folder, and how to recover
a dirty one.

The database is only read: it is copied into memory with SQLite's backup API
first. A dirty row alone does not say what happened: row N dirty is left by
a failed up of N (schema still at the version before), by a failed down of
the next version (golang-migrate records a failed down of N+1 as N dirty;
schema still at N+1), by an up of N that committed its own work (schema at
N), or, without a transaction, by a file stopped part-way. Each of these
states is a hypothesis: the folder's schema at the version it predicts is
replayed on a scratch database and compared with the real one object by
object, and the hypotheses are ranked by that distance. A force command is
given only when exactly one of them matches exactly.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

from .folder import Migration, MigrationFolder
from .gomigrate import NIL_VERSION, GoMigrate
from .schema import SchemaDistance, Snapshot, diff, distance, snapshot
from . import engine
from .engine import ScriptResult
from .sqlfuncs import register
from .errors import MigrationWriterError


@dataclass
class Hypothesis:
    """One explanation of a dirty row, with how far the real schema is from
    the schema it predicts."""

    kind: str  # "failed_up", "failed_down", "applied" or "partial"
    name: str  # "failed up of 3", "failed down of 4", "up of 3 ran", "up of 3 partly applied"
    file: str  # the file it is about
    schema_at: int  # the version whose schema it predicts (partial: the version before the file ran)
    force: Optional[int]  # the version to force if it is the truth; None: hand work comes first (partial)
    leads_to: str  # what forcing `force` leads to
    distance: Optional[SchemaDistance] = None  # None: that schema could not be replayed
    present: List[str] = field(default_factory=list)  # partial: the file's changes already in the database
    absent: List[str] = field(default_factory=list)  # partial: the file's changes not in the database

    @property
    def exact(self) -> bool:
        return self.distance is not None and self.distance.total == 0


@dataclass(frozen=True)
class Choice:
    """A version one could force, and what the next run then does."""

    force: int
    leads_to: str


@dataclass
class Recovery:
    """How to get a dirty database going again."""

    failed: str  # the file of the closest hypothesis
    # "failed_up", "failed_down", "applied", "partial" (exactly one hypothesis
    # matches), "ambiguous" (several do), "no_match" (none does) or "unknown"
    state: str
    force_to: Optional[int]  # the version to force (-1 = NilVersion); None: no single answer
    explanation: str
    present: List[str] = field(default_factory=list)  # partial: changes already in the database
    absent: List[str] = field(default_factory=list)  # partial: changes not in the database
    # The folder's own chain failed on the scratch database (FILE:LINE: why),
    # so the schemas to compare with are missing from there on.
    replay_error: Optional[str] = None
    hypotheses: List[Hypothesis] = field(default_factory=list)  # closest first
    inspect: List[str] = field(default_factory=list)  # what to look at when no single state matches
    choices: List[Choice] = field(default_factory=list)  # when force_to is None: each version and its effect
    reached: int = NIL_VERSION  # the version the closest state implies, for applied/pending


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
    # A dirty row names the step that failed; what is applied is what the
    # closest state says.
    reached = status.recovery.reached if status.recovery is not None else version
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
    if version != NIL_VERSION and folder.find(version) is None:
        return Recovery(f"version {version}", "unknown", None,
                        f"version {version} has no file in this folder (another branch, or a deleted file): restore "
                        f"it first; no state can be compared without it.", reached=version)
    if version == NIL_VERSION and not folder.versions:
        return Recovery("down of the first version", "unknown", None, "the row is (-1, dirty) and the folder is empty.",
                        reached=NIL_VERSION)
    actual = snapshot(conn, migrations_table=table)
    chain = _Chain(folder)
    self_committed: Set[int] = set()
    if version == NIL_VERSION:
        hypotheses, partials = _first_down_hypotheses(chain, no_tx_wrap)
    else:
        hypotheses, partials = _dirty_version_hypotheses(chain, version, no_tx_wrap)
    wanted = sorted({h.schema_at for h in hypotheses})
    schemas, failure = schemas_at(folder, wanted, table=table, self_committed=self_committed, functions=functions,
                                  no_tx_wrap=no_tx_wrap)
    failures.extend([failure] if failure else [])
    for hypothesis in hypotheses:
        if hypothesis.schema_at in schemas:
            hypothesis.distance = distance(schemas[hypothesis.schema_at], actual)
    for base, target, template in partials:
        partial = _partial(template, schemas.get(base), schemas.get(target), actual)
        if partial is not None:
            hypotheses.append(partial)
    ranked = [h for _, h in sorted(enumerate(hypotheses), key=lambda item: (_rank(item[1]), item[0]))]
    return _verdict(ranked, version, no_tx_wrap, self_committed, chain)


@dataclass
class _Chain:
    """Names and neighbours of the folder's versions, for the messages."""

    folder: MigrationFolder

    def previous(self, version: int) -> int:
        versions = self.folder.versions
        index = versions.index(version)
        return versions[index - 1] if index > 0 else NIL_VERSION

    def following(self, version: int) -> Optional[int]:
        versions = self.folder.versions
        if version == NIL_VERSION:
            return versions[0] if versions else None
        index = versions.index(version)
        return versions[index + 1] if index + 1 < len(versions) else None

    def file(self, version: int, direction: str) -> str:
        return _file_name(self.folder.find(version), direction)

    def next_up(self, after: int) -> str:
        """What the next `up` runs once the row says `after`, clean."""
        following = self.following(after)
        return "the next up has nothing to run" if following is None else f"the next up runs {self.file(following, 'up')}"


def _first_down_hypotheses(chain: _Chain, no_tx_wrap: bool):
    """Row (-1, dirty): the first version's down failed, or it took effect."""
    first = chain.folder.versions[0]
    down = chain.file(first, "down")
    hypotheses = [
        Hypothesis("failed_down", f"failed down of {first}", down, first, first,
                   f"the next down re-runs {down}; {chain.next_up(first)}"),
        Hypothesis("applied", f"down of {first} took effect", down, NIL_VERSION, NIL_VERSION,
                   f"{chain.next_up(NIL_VERSION)} again"),
    ]
    template = Hypothesis("partial", f"down of {first} partly applied", down, first, None, "")
    return hypotheses, ([(first, NIL_VERSION, template)] if no_tx_wrap else [])


def _dirty_version_hypotheses(chain: _Chain, version: int, no_tx_wrap: bool):
    """Row (N, dirty): the up of N failed (schema at the version before), the
    down of the next version failed (golang-migrate records a failed down of
    N+1 as N dirty; schema at N+1), or the up of N ran without the clean
    flag being written (schema at N)."""
    previous, following = chain.previous(version), chain.following(version)
    up = chain.file(version, "up")
    hypotheses = [Hypothesis("failed_up", f"failed up of {version}", up, previous, previous, f"the next up re-runs {up}")]
    partials = [(previous, version, Hypothesis("partial", f"up of {version} partly applied", up, previous, None, ""))]
    if following is not None:
        down = chain.file(following, "down")
        hypotheses.append(Hypothesis("failed_down", f"failed down of {following}", down, following, following,
                                     f"the next down re-runs {down}; {chain.next_up(following)}"))
        partials.append((following, version, Hypothesis("partial", f"down of {following} partly applied", down,
                                                        following, None, "")))
    hypotheses.append(Hypothesis("applied", f"up of {version} ran", up, version, version, chain.next_up(version)))
    return hypotheses, (partials if no_tx_wrap else [])


def _rank(hypothesis: Hypothesis) -> Tuple[int, int]:
    if hypothesis.distance is None:
        return (1, 0)
    return (0, hypothesis.distance.total)


def _partial(template: Hypothesis, base: Optional[Snapshot], target: Optional[Snapshot],
             actual: Snapshot) -> Optional[Hypothesis]:
    """The file ran without a transaction and stopped part-way: every object
    is as before it or as after it, some of each. None unless the database
    really is such a mix (equal to either end, the plain hypotheses say it)."""
    if base is None or target is None:
        return None
    from_base, from_target = distance(base, actual), distance(target, actual)
    off_base = {(d.kind, d.name.lower()) for d in from_base.differences}
    off_target = {(d.kind, d.name.lower()) for d in from_target.differences}
    landed, not_landed = off_base - off_target, off_target - off_base
    if not landed or not not_landed:
        return None
    neither = tuple(d for d in from_target.differences if (d.kind, d.name.lower()) in off_base)
    changes = diff(base, target)
    template.present = [_phrase(d) for d in changes if not _still_differs(d, actual, target)]
    template.absent = [_phrase(d) for d in changes if _still_differs(d, actual, target)]
    template.distance = SchemaDistance(_object_count(actual) - len(neither), neither)
    return template


def _object_count(snap: Snapshot) -> int:
    return len(snap.tables) + len(snap.indexes) + len(snap.triggers) + len(snap.views)


def _verdict(ranked: List[Hypothesis], version: int, no_tx_wrap: bool, self_committed: Set[int],
             chain: _Chain) -> Recovery:
    exact = [h for h in ranked if h.exact]
    best = ranked[0]
    if len(exact) == 1:
        only = exact[0]
        text = _exact_text(only, version, no_tx_wrap, self_committed, chain)
        choices = _partial_choices(only, ranked, version) if only.kind == "partial" else []
        return Recovery(only.file, only.kind, only.force, text, present=list(only.present), absent=list(only.absent),
                        hypotheses=ranked, choices=choices, reached=only.schema_at)
    choices = _choices(ranked)
    if exact:
        names = ", ".join(h.name for h in exact)
        same = " and ".join(_version_words(v) for v in sorted({h.schema_at for h in exact}))
        files = sorted({h.file for h in exact})
        kinds = {h.kind: h for h in exact}
        if set(kinds) == {"failed_up", "applied"}:
            # The usual pair: a version that changes rows only.
            hint = (f"if the rows show {kinds['applied'].file}'s changes, force {cli_version(kinds['applied'].force)}; "
                    f"if not, force {cli_version(kinds['failed_up'].force)}.")
        else:
            hint = "decide which state they show and force its version."
        text = (f"the schema matches several states ({names}): the schemas of {same} are the same, so only rows tell "
                f"them apart. Look at the rows {', '.join(files)} change{'s' if len(files) == 1 else ''}: {hint}")
        return Recovery(best.file, "ambiguous", None, text, hypotheses=ranked, choices=choices, reached=best.schema_at,
                        inspect=[f"rows changed by {f}" for f in files])
    if best.distance is None:
        return Recovery(best.file, "unknown", None, "the folder's migrations do not replay on a scratch database, so no "
                        "state could be compared; fix the chain first (the error is below).", hypotheses=ranked,
                        reached=version)
    text = ("the schema matches no state the folder produces, so no force command is printed: make the database "
            "match the state you choose (inspect what differs from the closest), then force its version.")
    return Recovery(best.file, "no_match", None, text, hypotheses=ranked, choices=choices, reached=best.schema_at,
                    inspect=[f"{d.kind} {d.name}" for d in best.distance.differences])


def _choices(ranked: List[Hypothesis]) -> List[Choice]:
    """Each version a hypothesis would force, closest first, once."""
    out: List[Choice] = []
    for hypothesis in ranked:
        if hypothesis.force is not None and all(c.force != hypothesis.force for c in out):
            out.append(Choice(hypothesis.force, hypothesis.leads_to))
    return out


def _partial_choices(partial: Hypothesis, ranked: List[Hypothesis], version: int) -> List[Choice]:
    """Undo what landed and force the version before the file, or finish the
    rest and force the version after it."""
    effect = {h.force: h.leads_to for h in ranked if h.force is not None}
    return [Choice(partial.schema_at, f"undo what landed by hand first; {effect.get(partial.schema_at, '')}".rstrip("; ")),
            Choice(version, f"finish the rest by hand first; {effect.get(version, '')}".rstrip("; "))]


def objects(count: int) -> str:
    return f"{count} object" if count == 1 else f"{count} objects"


def _version_words(version: int) -> str:
    return "an empty database" if version == NIL_VERSION else f"version {version}"


def _schema_is(h: Hypothesis, adverb: str = "") -> str:
    """'the schema is [still|already] version 2's (all 3 objects equal)', or '... empty'."""
    verb = f"is {adverb}" if adverb else "is"
    if h.schema_at == NIL_VERSION:
        return f"the schema {verb} empty"
    count = h.distance.equal if h.distance is not None else 0
    return f"the schema {verb} version {h.schema_at}'s (all {objects(count)} equal)"


def _exact_text(h: Hypothesis, version: int, no_tx_wrap: bool, self_committed: Set[int], chain: _Chain) -> str:
    if h.kind == "failed_up":
        how = ("before changing the schema (x-no-tx-wrap: rows written by statements before the failing one stay)"
               if no_tx_wrap else "and golang-migrate rolled back its transaction")
        return f"{h.file} failed {how}: {_schema_is(h)}."
    if h.kind == "failed_down":
        how = "before changing the schema (x-no-tx-wrap)" if no_tx_wrap else "and golang-migrate rolled back its transaction"
        return f"{h.file} failed {how}: {_schema_is(h, 'still')}."
    if h.kind == "partial":
        return (f"{h.file} is partly applied (x-no-tx-wrap: the statements before the failing one stayed): undo "
                f"them by hand and force {cli_version(h.schema_at)}, or finish the rest by hand and force "
                f"{cli_version(version)}.")
    # applied: the file's work is in the database, the clean flag is not
    if version == NIL_VERSION:
        why = ("x-no-tx-wrap: a statement after its last schema change failed" if no_tx_wrap
               else "the file ends the transaction itself, or the process stopped before the clean flag was written")
        return f"{h.file} took effect ({_schema_is(h)}) but was not recorded ({why})."
    if version in self_committed:
        return (f"{h.file} ends golang-migrate's transaction itself (a COMMIT or END in a wrapped file): its work was "
                f"committed, then the driver's commit failed ('cannot commit - no transaction is active'); "
                f"{_schema_is(h, 'already')}. Remove the COMMIT/END from the file and force {version} (forcing "
                f"{cli_version(chain.previous(version))} would make the next up fail on what is already there).")
    if no_tx_wrap:
        return (f"{_schema_is(h, 'already')}: every schema change of {h.file} is in place (x-no-tx-wrap), so what "
                f"failed after them changes rows only: check those rows, then force {version}.")
    return (f"{_schema_is(h, 'already')}: {h.file} ran and its work was committed, but the clean flag was never "
            f"written (the process stopped, or the file ends the transaction itself).")


def cli_version(version: int) -> str:
    """A version as the migrate CLI's force takes it: its flag parser reads a
    bare -1 as an unknown flag ("flag provided but not defined: -1"); after
    "--" it is the version."""
    return f"-- {version}" if version < 0 else str(version)


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
    if kind == "foreign key":
        want, have = target.table(name), actual.table(name)
        return (want.foreign_keys if want else None) != (have.foreign_keys if have else None)
    pools = {"table": "tables", "index": "indexes", "trigger": "triggers", "view": "views"}
    attr = pools.get(kind)
    return attr is None or getattr(target, attr).get(name) != getattr(actual, attr).get(name)


def _file_name(migration: Optional[Migration], direction: str) -> str:
    if migration is None:
        return "(no file)"
    chosen = migration.file(direction)
    if chosen is None:
        return f"version {migration.version_text} {direction} (no file: an empty migration)"
    return chosen.name
