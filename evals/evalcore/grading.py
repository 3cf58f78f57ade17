"""Grade a worked copy of a scenario's fixture: every check of the scenario
passes or fails with its evidence.

The grader judges outcomes, not words: the files left in the workdir, the
skill's own scripts run on the new versions, the project's Go vet and tests,
and the upgrade of a database holding the users' rows, run through the
project's own open function (real golang-migrate, the project's driver
settings). Only answer scenarios read the assistant's words, from
`transcript.txt` in the workdir.

The workdir is never modified: Go runs in a throw-away copy.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from . import gorun, migfiles, workspace
from .spec import REPO_ROOT, Check, Scenario

SCRIPTS = REPO_ROOT / "scripts"
SCRIPT_TIMEOUT = 300
# Which database a check reads after the stand-in app run.
UPGRADE, FRESH, DOWN = "upgrade", "fresh", "down"


@dataclass
class CheckResult:
    id: str
    expectation: str
    passed: bool
    evidence: str

    def as_dict(self) -> dict:
        return {"id": self.id, "text": self.expectation, "passed": self.passed, "evidence": self.evidence}


@dataclass
class Report:
    scenario: str
    workdir: str
    results: List[CheckResult]
    seconds: float
    notes: List[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed_ids(self) -> List[str]:
        return [r.id for r in self.results if not r.passed]

    def as_dict(self) -> dict:
        return {
            "scenario": self.scenario,
            "workdir": self.workdir,
            "passed": self.passed,
            "expectations": [r.as_dict() for r in self.results],
            "summary": {"passed": sum(r.passed for r in self.results), "total": len(self.results)},
            "seconds": round(self.seconds, 2),
            "notes": self.notes,
        }


class Failed(Exception):
    """A check's evidence when it fails."""


# ---------------------------------------------------------------------------
# Scoping the scripts to the new versions.

def scope_args() -> List[str]:
    """The arguments that limit validate_pairs.py / verify_migrations.py to
    the versions this worked copy adds or changes: `--new` (the scripts
    decide from git's merge base with `main`, which the workdir's history
    provides; shipped versions are only applied)."""
    return ["--new"]


# ---------------------------------------------------------------------------
# The facts every check draws from, computed once and only when needed.

class Context:
    def __init__(self, scenario: Scenario, workdir: Path, tmp: Path) -> None:
        self.scenario = scenario
        self.fixture = scenario.fixture
        self.workdir = workdir
        self.tmp = tmp
        self.base = workspace.materialize(self.fixture, tmp / "shipped")
        self.work_dir = workdir / self.fixture.migrations
        self.base_dir = self.base / self.fixture.migrations
        self._cache: Dict[str, object] = {}

    def once(self, key: str, compute: Callable[[], object]):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    # Files ------------------------------------------------------------------

    @property
    def base_migrations(self) -> List[migfiles.MigName]:
        return migfiles.sql_migrations(self.base_dir)

    @property
    def work_migrations(self) -> List[migfiles.MigName]:
        return migfiles.sql_migrations(self.work_dir)

    def changed_migrations(self) -> Tuple[List[str], List[str], List[str]]:
        """(added, changed, removed) .sql migration names of the folder."""
        base = {m.name for m in self.base_migrations}
        work = {m.name for m in self.work_migrations}
        changed = [n for n in sorted(base & work)
                   if (self.base_dir / n).read_bytes() != (self.work_dir / n).read_bytes()]
        return sorted(work - base), changed, sorted(base - work)

    def new_versions(self) -> List[int]:
        added, changed, _ = self.changed_migrations()
        names = set(added) | set(changed)
        return sorted({m.version for m in self.work_migrations if m.name in names})

    def new_files(self) -> List[str]:
        versions = set(self.new_versions())
        return [(self.work_dir / m.name).relative_to(self.workdir).as_posix()
                for m in self.work_migrations if m.version in versions]

    def added_files(self) -> List[str]:
        base = set(workspace.tree_files(self.base))
        return [f for f in workspace.tree_files(self.workdir)
                if f not in base and f not in workspace.RUNNER_FILES]

    def changed_files(self) -> List[str]:
        base = set(workspace.tree_files(self.base))
        return [f for f in workspace.tree_files(self.workdir)
                if f in base and (self.workdir / f).read_bytes() != (self.base / f).read_bytes()]

    # Scripts ------------------------------------------------------------------

    def script(self, name: str, extra: Tuple[str, ...] = ()) -> Tuple[int, Optional[dict], str]:
        def compute():
            args = [sys.executable, str(SCRIPTS / name), "--json", "--dir", self.fixture.migrations, *extra]
            args += scope_args()
            if self.fixture.up_only:
                args.append("--allow-missing-down")
            proc = subprocess.run(args, cwd=str(self.workdir), capture_output=True, text=True,
                                  timeout=SCRIPT_TIMEOUT)
            try:
                data = json.loads(proc.stdout) if proc.stdout.strip() else None
            except ValueError:
                data = None
            return proc.returncode, data, proc.stderr.strip()
        return self.once("script:" + name + " ".join(extra), compute)

    # Go and the stand-in app run --------------------------------------------

    def go(self) -> gorun.GoRun:
        return self.once("go", self._go)

    def _go(self) -> gorun.GoRun:
        copy = self.tmp / "gocopy"
        workspace.copy_tree(self.workdir, copy)
        spec = None
        if self.fixture.probe is not None:
            spec = {"driver": self.fixture.driver, "calls": self.fixture.probe.calls,
                    "dbs": [{"name": UPGRADE, "path": str(self.upgrade_db_path()),
                             "after_sql": self.scenario.after_sql},
                            {"name": FRESH, "path": str(self.tmp / "fresh.db"), "after_sql": []}]}
        return gorun.run(copy, self.fixture, spec)

    def upgrade_db_path(self) -> Path:
        """A database as users hold it at the shipped version (with the
        scenario's rows), or the shipped dirty database forced to the
        version its schema really has."""
        path = self.tmp / "upgrade.db"
        if path.exists():
            return path
        force = self.scenario.force_from_dirty
        if force:
            shutil.copyfile(self.base / force["path"], path)
            conn = sqlite3.connect(str(path))
            try:
                workspace.set_version(conn, self.fixture.migrations_table, int(force["version"]), False)
            finally:
                conn.close()
        else:
            shipped = max((m.version for m in self.base_migrations), default=-1)
            workspace.build_database(path, self.base_dir, self.fixture.migrations_table, shipped,
                                     self.scenario.seed)
        return path

    def down_db_path(self) -> Path:
        """The upgraded database after the new versions' down files ran on it
        (newest first), each as golang-migrate runs a file: in one
        transaction unless the project sets x-no-tx-wrap."""
        def compute():
            source = self.db_after(UPGRADE)
            path = self.tmp / "after-down.db"
            shutil.copyfile(source, path)
            conn = sqlite3.connect(str(path), isolation_level=None)
            try:
                conn.execute(f"PRAGMA foreign_keys = {'ON' if self.fixture.foreign_keys else 'OFF'}")
                downs = [m for m in self.work_migrations if m.direction == "down" and m.version in self.new_versions()]
                if not downs:
                    raise Failed("the new version has no down file")
                for m in sorted(downs, key=lambda m: m.version, reverse=True):
                    text = (self.work_dir / m.name).read_text(encoding="utf-8")
                    script = text if self.fixture.no_tx_wrap else f"BEGIN;\n{text}\n;COMMIT;"
                    try:
                        conn.executescript(script)
                    except sqlite3.Error as exc:
                        raise Failed(f"{m.name} failed on the upgraded database: {exc}") from None
            finally:
                conn.close()
            return path
        return self.once("down_db", compute)

    def probe(self, db: str) -> dict:
        run = self.go()
        if run.probe is None:
            raise Failed("the stand-in app run did not happen: " + gorun._tail(run.probe_output or run.failures()))
        return run.probe[db]

    def open_error(self, db: str) -> str:
        err = self.probe(db).get("open_error") or ""
        # golang-migrate quotes the whole failed file after "in line 0:"; its first line is enough.
        first = err.splitlines()[0] if err else ""
        return first if len(first) <= 300 else first[:300] + " ..."

    def db_after(self, db: str) -> Path:
        """The database file after the stand-in app run opened it."""
        if self.open_error(db):
            raise Failed(f"opening the {db} database failed: {self.open_error(db)}")
        return self.upgrade_db_path() if db == UPGRADE else self.tmp / "fresh.db"


# ---------------------------------------------------------------------------
# Checks: each returns its evidence or raises Failed with it.

CheckFn = Callable[[Context, Check], str]
CHECKS: Dict[str, CheckFn] = {}


def check(kind: str):
    def register(fn: CheckFn) -> CheckFn:
        CHECKS[kind] = fn
        return fn
    return register


def _rel(ctx: Context, name: str) -> str:
    return f"{ctx.fixture.migrations}/{name}"


@check("new_migration")
def check_new_migration(ctx: Context, c: Check) -> str:
    """One new version, numbered and named in the folder's style, with an up
    and (unless the project is up-only) a down."""
    shipped = ctx.base_migrations
    style = migfiles.folder_style(shipped)
    highest = max((m.version for m in shipped), default=0)
    added, _, _ = ctx.changed_migrations()
    shipped_versions = {m.version for m in shipped}
    new = [m for m in ctx.work_migrations if m.name in added]
    if not new:
        raise Failed(f"no new migration file in {ctx.fixture.migrations}")
    versions = sorted({m.version for m in new})
    if len(versions) != 1:
        raise Failed("expected one new version, found " + ", ".join(m.name for m in new))
    version = versions[0]
    names = ", ".join(m.name for m in new)
    if version in shipped_versions:
        raise Failed(f"{names}: version {version} is already taken by a shipped migration")
    if style.timestamp:
        if not (migfiles.is_timestamp(new[0].digits) and version > highest):
            raise Failed(f"{names}: the folder uses 14-digit UTC timestamps above {highest}; "
                         f"{new[0].digits} is not one")
        expected_text = "a 14-digit timestamp above " + str(highest)
    else:
        want = style.formats(highest + 1)
        if any(m.digits != want for m in new):
            raise Failed(f"{names}: expected version {want} (highest {highest} + 1, {style.describe()})")
        expected_text = f"{want} = highest {highest} + 1, {style.describe()}"
    bad = [m.name for m in new if not migfiles.SNAKE_RE.fullmatch(m.description)]
    if bad:
        raise Failed(f"{', '.join(bad)}: the description is not snake_case")
    if len({m.description for m in new}) != 1:
        raise Failed(f"{names}: up and down have different descriptions")
    directions = sorted(m.direction for m in new)
    if ctx.fixture.up_only:
        if directions != ["up"]:
            raise Failed(f"{names}: the project is up-only (no down files); expected one up file and no down")
    elif directions != ["down", "up"]:
        raise Failed(f"{names}: expected exactly one up and one down file")
    return f"{names} ({expected_text})"


@check("no_new_version")
def check_no_new_version(ctx: Context, c: Check) -> str:
    added, changed, _ = ctx.changed_migrations()
    shipped = {m.version for m in ctx.base_migrations}
    extra = [n for n in added if migfiles.parse(n).version not in shipped]
    if extra:
        raise Failed("new version(s) added: " + ", ".join(extra))
    return "no new version; changed: " + (", ".join(changed) or "nothing")


@check("shipped_untouched")
def check_shipped_untouched(ctx: Context, c: Check) -> str:
    editable = set(c.params.get("editable", []))
    problems = []
    for name in sorted(p.name for p in ctx.base_dir.iterdir() if p.is_file()):
        parsed = migfiles.parse(name)
        if parsed and parsed.version in editable:
            continue
        target = ctx.work_dir / name
        if not target.exists():
            problems.append(f"{name} removed")
        elif target.read_bytes() != (ctx.base_dir / name).read_bytes():
            problems.append(f"{name} edited")
    if problems:
        raise Failed("shipped migrations must not change: " + "; ".join(problems))
    return "every shipped migration file is as shipped"


def _scope_text(ctx: Context) -> str:
    return ", ".join(str(v) for v in ctx.new_versions())


@check("validate")
def check_validate(ctx: Context, c: Check) -> str:
    if not ctx.new_versions():
        raise Failed("no new or changed migration to validate")
    rc, data, err = ctx.script("validate_pairs.py")
    if data is None:
        raise Failed(f"validate_pairs.py exit {rc}: {err}")
    findings = [f for f in data.get("findings", []) if f.get("severity") in ("error", "warning")]
    if rc != 0 or findings:
        lines = [f"{', '.join(f['places'][:3])}: {f['severity']}: {f['message']} [{f['code']}]" for f in findings[:6]]
        raise Failed(f"validate_pairs.py exit {rc}:\n" + "\n".join(lines))
    return f"validate_pairs.py: clean on version {_scope_text(ctx)}"


@check("verify")
def check_verify(ctx: Context, c: Check) -> str:
    if not ctx.new_versions():
        raise Failed("no new or changed migration to verify")
    rc, data, err = ctx.script("verify_migrations.py", tuple(c.params.get("args", [])))
    if data is None:
        raise Failed(f"verify_migrations.py exit {rc}: {err}")
    checks = ("up", "down", "roundtrip", "reup", "data", "integrity")
    # A data-dependent step (fails on rows like a user's, passes on an empty
    # table) is a warning to verify, and a failure here: the migration is
    # not right for every database.
    warned = any(step.get(k) == "data-dependent" for step in data.get("steps", []) for k in checks)
    if rc != 0 or data.get("status") != "ok" or warned:
        lines = []
        for step in data.get("steps", []):
            bad = [f"{k}={step[k]}" for k in checks if step.get(k) not in ("ok", "skipped")]
            if bad:
                detail = step.get("error") or step.get("diff") or ""
                lines.append(f"{step['version']} {' '.join(bad)} {str(detail)[:300]}".rstrip())
        if data.get("blocked"):
            lines.insert(0, str(data["blocked"]))
        raise Failed(f"verify_migrations.py exit {rc} ({data.get('status')}):\n" + "\n".join(lines[:6] or [err]))
    return f"verify_migrations.py: ok on version {_scope_text(ctx)}"


@check("go")
def check_go(ctx: Context, c: Check) -> str:
    run = ctx.go()
    if not (run.vet_ok and run.test_ok):
        raise Failed(run.failures())
    cgo = "" if ctx.fixture.cgo else " (CGO_ENABLED=0)"
    return "go vet ./... and go test ./... pass" + cgo


def _read_version(path: Path, table: str) -> Optional[Tuple[int, bool]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute(f'SELECT version, dirty FROM "{table}"').fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return (int(row[0]), bool(row[1])) if row else None


@check("upgrade")
def check_upgrade(ctx: Context, c: Check) -> str:
    db = c.params.get("db", UPGRADE)
    path = ctx.db_after(db)
    newest = max((m.version for m in ctx.work_migrations), default=-1)
    got = _read_version(path, ctx.fixture.migrations_table)
    if got != (newest, False):
        raise Failed(f"the {db} database is at {got} after the app opened it; expected version {newest}, clean")
    return f"the app's own open ran golang-migrate up to version {newest}, clean"


@check("app_reads")
def check_app_reads(ctx: Context, c: Check) -> str:
    db = c.params.get("db", UPGRADE)
    outcome = ctx.probe(db)
    if ctx.open_error(db):
        raise Failed(f"opening the {db} database failed: {ctx.open_error(db)}")
    failed_sql = [f"{q}: {e}" for q, e in zip(ctx.scenario.after_sql, outcome.get("after_sql") or []) if e]
    if failed_sql and db == UPGRADE:
        raise Failed("the scenario's statements failed after the upgrade: " + "; ".join(failed_sql))
    failed = {k: v for k, v in outcome.get("calls", {}).items() if v}
    if failed:
        raise Failed("; ".join(f"{k}: {v}" for k, v in sorted(failed.items())))
    calls = ", ".join(sorted(outcome.get("calls", {}))) or "no call"
    return f"after the upgrade the app reads without error ({calls})"


def _normalise(value):
    if isinstance(value, bytes):
        return value.hex()
    return value


@check("sql")
def check_sql(ctx: Context, c: Check) -> str:
    """A query on the database after the stand-in app run (upgrade or fresh),
    or with `"db": "down"` after the new version's down ran on the upgraded one."""
    db = c.params.get("db", UPGRADE)
    path = ctx.down_db_path() if db == DOWN else ctx.db_after(db)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = [[_normalise(v) for v in r] for r in conn.execute(c.params["query"]).fetchall()]
    except sqlite3.Error as exc:
        raise Failed(f"{c.params['query']}: {exc}") from None
    finally:
        conn.close()
    expect = c.params["expect"]
    if rows != expect:
        raise Failed(f"{c.params['query']}\n  got      {json.dumps(rows)}\n  expected {json.dumps(expect)}")
    return f"{c.params['query']} -> {json.dumps(rows)}"


@check("no_golang_migrate_files")
def check_no_golang_migrate_files(ctx: Context, c: Check) -> str:
    found = [f for f in ctx.added_files() + ctx.changed_files() if migfiles.parse(Path(f).name)]
    if found:
        raise Failed("golang-migrate files written: " + ", ".join(found))
    return "no golang-migrate up/down file was written"


@check("goose_files")
def check_goose_files(ctx: Context, c: Check) -> str:
    folder = ctx.fixture.migrations.rstrip("/") + "/"
    changed = [f for f in ctx.changed_files() if f.startswith(folder)]
    if changed:
        raise Failed("shipped goose migrations edited: " + ", ".join(changed))
    new = [f for f in ctx.added_files() if f.startswith(folder) and f.endswith(".sql")]
    bad = []
    for f in new:
        text = (ctx.workdir / f).read_text(encoding="utf-8", errors="replace")
        if "-- +goose Up" not in text or "-- +goose Down" not in text:
            bad.append(f)
    if bad:
        raise Failed("not in goose's format (-- +goose Up / -- +goose Down): " + ", ".join(bad))
    return ("new goose migration(s): " + ", ".join(new)) if new else "no migration file added"


_FORCE_PATTERNS = [
    re.compile(r"\bmigrate\b[^\n`]*?\bforce\s+(?:--\s+)?(-?\d+)"),
    re.compile(r"\.Force\(\s*(-?\d+)\s*\)"),
]
_NEGATION = re.compile(r"\b(not|never|don't|do not|instead of|wrong|avoid)\b", re.I)
_SENTENCE_START = re.compile(r"[.!?:]\s|\n")


def recommended_forces(text: str) -> List[int]:
    """Versions the transcript tells the user to force: every `migrate ...
    force N` or `.Force(N)`, except where the sentence says not to."""
    found = []
    for pattern in _FORCE_PATTERNS:
        for m in pattern.finditer(text):
            starts = [s.end() for s in _SENTENCE_START.finditer(text, 0, m.start())]
            sentence = text[starts[-1] if starts else 0:m.start()]
            if _NEGATION.search(sentence):
                continue
            found.append(int(m.group(1)))
    return found


@check("transcript_force")
def check_transcript_force(ctx: Context, c: Check) -> str:
    path = ctx.workdir / "transcript.txt"
    if not path.exists():
        raise Failed("no transcript.txt: the answer was not recorded")
    versions = recommended_forces(path.read_text(encoding="utf-8", errors="replace"))
    want = int(c.params["version"])
    if not versions:
        raise Failed("the answer names no `migrate force` command")
    if set(versions) != {want}:
        raise Failed(f"the answer forces {sorted(set(versions))}; the schema is at version {want}")
    return f"the answer forces version {want}"


def _dump(path: Path) -> List[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@check("db_untouched")
def check_db_untouched(ctx: Context, c: Check) -> str:
    rel = c.params["path"]
    work, base = ctx.workdir / rel, ctx.base / rel
    if not work.exists():
        raise Failed(f"{rel} is gone")
    if _dump(work) != _dump(base):
        raise Failed(f"{rel} was changed: the assistant must show the recovery commands, not run them")
    return f"{rel} is as it was"


@check("test_added")
def check_test_added(ctx: Context, c: Check) -> str:
    tests = [f for f in ctx.added_files() + ctx.changed_files() if f.endswith("_test.go")]
    if not tests:
        raise Failed("no Go test file was added or changed")
    return "Go tests: " + ", ".join(tests)


# ---------------------------------------------------------------------------

def grade(scenario: Scenario, workdir: Path, keep: Optional[Path] = None) -> Report:
    """Run every check of the scenario on workdir. `keep` holds the grader's
    scratch files (databases, the Go copy) when given; else a temp folder."""
    start = time.monotonic()
    workdir = workdir.resolve()
    tmp_owner = None
    if keep is None:
        tmp_owner = tempfile.TemporaryDirectory(prefix="mw-grade-")
        tmp = Path(tmp_owner.name)
    else:
        tmp = keep
        tmp.mkdir(parents=True, exist_ok=True)
    try:
        ctx = Context(scenario, workdir, tmp)
        results = []
        for c in scenario.checks:
            fn = CHECKS[c.kind]
            try:
                results.append(CheckResult(c.id, c.expectation, True, fn(ctx, c)))
            except Failed as exc:
                results.append(CheckResult(c.id, c.expectation, False, str(exc)))
        return Report(scenario.name, str(workdir), results, time.monotonic() - start)
    finally:
        if tmp_owner is not None:
            tmp_owner.cleanup()
