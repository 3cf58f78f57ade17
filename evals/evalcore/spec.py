"""The eval definitions: scenarios (evals.json), fixtures (fixtures.json)
and the golden and wrong solutions (solutions/<scenario>/<name>/).

evals.json keeps the skill-creator's fields (`skill_name`, and per eval
`id`, `prompt`, `expected_output`, `files`, `expectations`) and adds the
machine fields the grader reads: `fixture`, `seed` (rows a database at the
shipped version holds before the upgrade), `probe` (what the stand-in app
run does after the upgrade) and `checks` (one per expectation, same order,
same text).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

EVALS_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = EVALS_DIR.parent
EVALS_JSON = EVALS_DIR / "evals.json"
FIXTURES_JSON = EVALS_DIR / "fixtures.json"
SOLUTIONS_DIR = EVALS_DIR / "solutions"


class SpecError(Exception):
    """evals.json, fixtures.json or a solution is malformed or names something missing."""


@dataclass(frozen=True)
class Probe:
    """How the stand-in app run opens the project: the Go package that holds
    the app's open function, and the methods (taking only a context) it
    calls to read the tables after the upgrade."""

    package: str  # folder of the Go package, relative to the module root
    name: str  # the package's Go name
    open: str  # Go expression of type (T, error) using `path`
    calls: List[str]


@dataclass(frozen=True)
class Database:
    """A database file the fixture ships in its folder (e.g. a dirty one)."""

    path: str  # relative to the workdir
    up_to: int  # shipped versions applied, in order
    seed: List[str]
    version: int  # the migrations table row
    dirty: bool


@dataclass(frozen=True)
class Fixture:
    name: str
    path: Path  # absolute
    migrations: str  # relative to the module root
    driver: str  # database/sql driver name the app registers: sqlite3 (mattn) or sqlite (modernc)
    cgo: bool
    up_only: bool
    foreign_keys: bool  # enforced on golang-migrate's connection
    no_tx_wrap: bool  # x-no-tx-wrap / Config.NoTxWrap
    migrations_table: str
    tool: str  # "golang-migrate" or "goose"
    overlay: Optional[Path]
    databases: List[Database]
    probe: Optional[Probe]


@dataclass(frozen=True)
class Check:
    id: str
    kind: str
    expectation: str
    params: Dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    id: int  # the skill-creator's unique integer
    name: str  # a slug for people and command lines
    prompt: str
    expected_output: str
    fixture: Fixture
    seed: List[str]
    after_sql: List[str]
    force_from_dirty: Optional[Dict[str, Any]]
    checks: List[Check]
    raw: Dict[str, Any] = field(repr=False, default_factory=dict)

    def check(self, check_id: str) -> Check:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise SpecError(f"scenario {self.name} has no check {check_id!r}")


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SpecError(f"cannot read {path}: {exc}") from None


def load_fixtures(path: Path = FIXTURES_JSON) -> Dict[str, Fixture]:
    data = _load_json(path)
    out: Dict[str, Fixture] = {}
    for name, f in data["fixtures"].items():
        probe = None
        if f.get("probe"):
            p = f["probe"]
            probe = Probe(package=p["package"], name=p["name"], open=p["open"], calls=list(p.get("calls", [])))
        dbs = [Database(path=d["path"], up_to=int(d["up_to"]), seed=list(d.get("seed", [])),
                        version=int(d["version"]), dirty=bool(d["dirty"])) for d in f.get("databases", [])]
        out[name] = Fixture(
            name=name,
            path=REPO_ROOT / f["path"],
            migrations=f["migrations"],
            driver=f.get("driver", "sqlite3"),
            cgo=bool(f.get("cgo", True)),
            up_only=bool(f.get("up_only", False)),
            foreign_keys=bool(f.get("foreign_keys", False)),
            no_tx_wrap=bool(f.get("no_tx_wrap", False)),
            migrations_table=f.get("migrations_table", "schema_migrations"),
            tool=f.get("tool", "golang-migrate"),
            overlay=(REPO_ROOT / f["overlay"]) if f.get("overlay") else None,
            databases=dbs,
            probe=probe,
        )
    return out


def load_scenarios(path: Path = EVALS_JSON, fixtures: Optional[Dict[str, Fixture]] = None) -> Dict[str, Scenario]:
    """Scenarios by name, in the order of evals.json."""
    data = _load_json(path)
    fixtures = fixtures if fixtures is not None else load_fixtures()
    out: Dict[str, Scenario] = {}
    for e in data["evals"]:
        sid = e["name"]
        if e["fixture"] not in fixtures:
            raise SpecError(f"scenario {sid}: unknown fixture {e['fixture']!r}")
        checks = [Check(id=c["id"], kind=c["check"], expectation=c["expectation"],
                        params={k: v for k, v in c.items() if k not in ("id", "check", "expectation")})
                  for c in e["checks"]]
        out[sid] = Scenario(
            id=int(e["id"]),
            name=sid,
            prompt=e["prompt"],
            expected_output=e.get("expected_output", ""),
            fixture=fixtures[e["fixture"]],
            seed=list(e.get("seed", [])),
            after_sql=list(e.get("after_sql", [])),
            force_from_dirty=e.get("force_from_dirty"),
            checks=checks,
            raw=e,
        )
    return out


def scenario(key: str) -> Scenario:
    """A scenario by name or by its integer id."""
    scenarios = load_scenarios()
    if key in scenarios:
        return scenarios[key]
    for s in scenarios.values():
        if key.isdigit() and s.id == int(key):
            return s
    raise SpecError(f"no scenario {key!r} in {EVALS_JSON.name} (names: {', '.join(scenarios)})")
