"""The skill's own evals (evals/): their definitions are well formed, every
golden solution passes its scenario's grader, every wrong solution fails
exactly the checks it declares, and the runner works end to end with the
stand-in agents. The Go-backed tests build and run each worked copy's Go
module (one `go vet` and one `go test` per grade, the machine's caches)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

EVALS = ROOT / "evals"
if str(EVALS) not in sys.path:
    sys.path.insert(0, str(EVALS))

from evalcore import grading, migfiles, solutions, workspace  # noqa: E402
from evalcore.spec import load_fixtures, load_scenarios  # noqa: E402
from grade import grade_solution  # noqa: E402

SCENARIOS = load_scenarios()


@pytest.fixture
def need_go():
    if shutil.which("go") is None:
        pytest.skip("Go is not installed; .ci/run requires it")
SOLUTIONS = [(name, sol) for name in SCENARIOS for sol in solutions.names(name)]


def skill_name() -> str:
    m = re.search(r"^name:\s*(\S+)", (ROOT / "SKILL.md").read_text(encoding="utf-8"), re.M)
    assert m
    return m.group(1)


# ---------------------------------------------------------------------------
# Definitions


def test_evals_json_keeps_the_skill_creator_shape():
    data = json.loads((EVALS / "evals.json").read_text(encoding="utf-8"))
    assert data["skill_name"] == skill_name()
    ids = [e["id"] for e in data["evals"]]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == len(ids)
    assert len({e["name"] for e in data["evals"]}) == len(ids)
    for e in data["evals"]:
        for key in ("prompt", "expected_output", "files", "expectations"):
            assert e[key], f"{e['name']}: {key} is empty"
        assert e["expectations"] == [c["expectation"] for c in e["checks"]], \
            f"{e['name']}: expectations must be the checks' texts, in order"
        assert len({c["id"] for c in e["checks"]}) == len(e["checks"]), f"{e['name']}: check ids repeat"
        for f in e["files"]:
            assert (ROOT / f).exists(), f"{e['name']}: {f} does not exist"


def test_there_are_at_least_fifteen_scenarios():
    assert len(SCENARIOS) >= 15


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_check_is_a_known_kind(name):
    for c in SCENARIOS[name].checks:
        assert c.kind in grading.CHECKS, f"{name}/{c.id}: unknown check {c.kind!r}"


def test_fixtures_exist_and_name_their_migrations_folder():
    for f in load_fixtures().values():
        assert (f.path / "go.mod").is_file(), f.name
        assert (f.path / f.migrations).is_dir() or (f.overlay and (f.overlay / f.migrations).is_dir()), f.name


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_has_a_golden_and_a_wrong_solution(name):
    names = solutions.names(name)
    assert solutions.GOLDEN in names
    assert solutions.wrong_names(name), f"{name} has no wrong solution"


@pytest.mark.parametrize("name,sol", [s for s in SOLUTIONS if s[1] != solutions.GOLDEN])
def test_wrong_solutions_state_their_mistake_and_known_checks(name, sol):
    s = solutions.load(name, sol)
    assert s.mistake and s.fails
    known = {c.id for c in SCENARIOS[name].checks}
    assert set(s.fails) <= known, f"{name}/{sol} names unknown checks {set(s.fails) - known}"


def test_triggers_are_balanced_near_misses_included():
    queries = json.loads((EVALS / "triggers.json").read_text(encoding="utf-8"))
    assert isinstance(queries, list) and len(queries) >= 20
    for q in queries:
        assert set(q) == {"query", "should_trigger"}
        assert isinstance(q["query"], str) and q["query"].strip()
        assert isinstance(q["should_trigger"], bool)
    assert len({q["query"] for q in queries}) == len(queries)
    positives = sum(q["should_trigger"] for q in queries)
    assert abs(positives - (len(queries) - positives)) <= len(queries) // 5
    negatives = " ".join(q["query"].lower() for q in queries if not q["should_trigger"])
    for tool in ("goose", "dbmate", "alembic", "prisma", "postgres", "photos"):
        assert tool in negatives, f"no near miss about {tool}"


def test_install_leaves_evals_out(tmp_path):
    home = tmp_path / "home"
    env = dict(os.environ, HOME=str(home), CLAUDE_CONFIG_DIR=str(home / ".claude"))
    proc = subprocess.run(["bash", str(ROOT / "install.sh")], cwd=str(ROOT), env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    installed = home / ".claude" / "skills" / "migration-writer"
    assert (installed / "SKILL.md").is_file()
    assert not (installed / "evals").exists()


# ---------------------------------------------------------------------------
# Pieces of the grader that need no Go


@pytest.mark.parametrize("text,want", [
    ("run `migrate -path m -database sqlite3://app.db force 2`", [2]),
    ("migrate force -- -1 then up", [-1]),
    ("In Go: m.Force(3) and m.Up()", [3]),
    ("Do not run `migrate -database x force 3`: the schema is 2's.\nRun `migrate -database x force 2`.", [2]),
    ("Never use m.Force(4) here. Use m.Force(3).", [3]),
    ("force the version with migrate force 2 (not 3)", [2]),
    ("nothing to force here", []),
])
def test_recommended_forces_reads_commands_not_warnings(text, want):
    assert grading.recommended_forces(text) == want


@pytest.mark.parametrize("names,timestamp,width", [
    (["000001_a.up.sql", "000002_b.up.sql"], False, 6),
    (["1_a.up.sql", "10_b.up.sql", "9_c.up.sql"], False, 0),
    (["001_a.up.sql"], False, 3),
    (["20240105093000_a.up.sql", "20240212141500_b.up.sql"], True, 14),
])
def test_folder_style(names, timestamp, width):
    style = migfiles.folder_style([migfiles.parse(n) for n in names])
    assert (style.timestamp, style.width) == (timestamp, width)


def test_both_scripts_are_scoped_with_new():
    assert grading.scope_args() == ["--new"]
    for script in ("validate_pairs.py", "verify_migrations.py"):
        help_text = subprocess.run([sys.executable, str(grading.SCRIPTS / script), "--help"], capture_output=True,
                                   text=True).stdout
        assert re.search(r"^\s+--new\b", help_text, re.M), script


def test_workdir_history_makes_the_shipped_state_the_merge_base(tmp_path):
    work = workspace.prepare_workdir(SCENARIOS["add_nullable_column"], tmp_path / "w")
    branch = subprocess.run(["git", "branch", "--show-current"], cwd=str(work), capture_output=True, text=True)
    assert branch.stdout.strip() == workspace.WORK_BRANCH
    status = subprocess.run(["git", "status", "--porcelain"], cwd=str(work), capture_output=True, text=True)
    assert status.stdout == ""


def test_solutions_never_write_into_the_fixtures(tmp_path):
    before = {p: p.read_bytes() for p in (EVALS / "fixtures").rglob("*") if p.is_file()}
    work = workspace.prepare_workdir(SCENARIOS["split_table"], tmp_path / "w")
    solutions.apply(solutions.load("split_table", "golden"), work)
    assert {p: p.read_bytes() for p in (EVALS / "fixtures").rglob("*") if p.is_file()} == before


# ---------------------------------------------------------------------------
# Proof of the graders (Go: vet, test and the stand-in app run per grade)


@pytest.mark.go
@pytest.mark.slow
@pytest.mark.parametrize("name,sol", SOLUTIONS, ids=[f"{n}/{s}" for n, s in SOLUTIONS])
def test_solution_grades_as_declared(need_go, name, sol):
    """A golden passes every check; a wrong one fails exactly its declared
    checks (its stated reason), and passes all the others."""
    declared = solutions.load(name, sol)
    report = grade_solution(SCENARIOS[name], sol)
    evidence = "\n".join(f"{r.id}: {'PASS' if r.passed else 'FAIL'} {r.evidence}" for r in report.results)
    want = [] if declared.is_golden else declared.fails
    assert sorted(report.failed_ids) == sorted(want), evidence


@pytest.mark.go
def test_grade_cli_exit_status_and_json(need_go, tmp_path):
    scenario = SCENARIOS["dirty_database"]
    work = workspace.prepare_workdir(scenario, tmp_path / "w")
    cmd = [sys.executable, str(EVALS / "grade.py"), scenario.name, str(work), "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["passed"] is False
    failed = {e["id"] for e in report["expectations"] if not e["passed"]}
    assert {"force", "upgrade", "go"} <= failed  # nothing done: no answer, the broken file still broken

    transcript = solutions.apply(solutions.load(scenario.name, "golden"), work)
    (work / "transcript.txt").write_text(transcript, encoding="utf-8")
    proc = subprocess.run(cmd[:-1], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.count("PASS") == len(scenario.checks)


def test_grade_cli_usage_errors(tmp_path):
    grade = [sys.executable, str(EVALS / "grade.py")]
    assert subprocess.run(grade + ["no_such_scenario", str(tmp_path)], capture_output=True).returncode == 2
    assert subprocess.run(grade + ["add_nullable_column", str(tmp_path / "missing")],
                          capture_output=True).returncode == 2
    assert subprocess.run(grade + ["add_nullable_column"], capture_output=True).returncode == 2


# ---------------------------------------------------------------------------
# The runner, end to end with the stand-in agents


def run_runner(tmp_path, agent: str, *args: str) -> "tuple[int, dict]":
    out = tmp_path / "out"
    cmd = [sys.executable, str(EVALS / "run.py"), "--agent", agent, "--out", str(out), "--json", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert (out / "summary.txt").is_file()
    return proc.returncode, json.loads(proc.stdout)


@pytest.mark.go
def test_runner_with_the_golden_agent_passes_with_and_without_the_skill(need_go, tmp_path):
    agent = f"{sys.executable} {EVALS / 'agents' / 'golden.py'}"
    rc, summary = run_runner(tmp_path, agent, "--both", "--only", "dirty_database", "goose_project")
    assert rc == 0
    assert summary["modes"] == ["with_skill", "without_skill"]
    assert len(summary["runs"]) == 4
    for mode in summary["modes"]:
        assert summary["overall"][mode]["pass_rate"] == 1.0
        assert summary["overall"][mode]["scenarios_passed"] == 2
    for r in summary["runs"]:
        transcript = Path(r["workdir"], "transcript.txt").read_text(encoding="utf-8")
        installed = "skill installed: yes" in transcript
        assert installed == (r["mode"] == "with_skill"), transcript[:200]
        assert r["agent"]["exit_code"] == 0 and r["agent"]["seconds"] >= 0
    table = (tmp_path / "out" / "summary.txt").read_text(encoding="utf-8")
    assert "dirty_database" in table and "overall" in table and "100%" in table


@pytest.mark.go
def test_runner_with_the_wrong_agent_reports_the_failures(need_go, tmp_path):
    agent = f"{sys.executable} {EVALS / 'agents' / 'wrong.py'}"
    rc, summary = run_runner(tmp_path, agent, "--only", "refresh_seed_rows")
    assert rc == 1
    (run,) = summary["runs"]
    wrong = solutions.load("refresh_seed_rows", solutions.wrong_names("refresh_seed_rows")[0])
    failed = sorted(e["id"] for e in run["expectations_detail"] if not e["passed"])
    assert failed == sorted(wrong.fails)
    assert summary["overall"]["with_skill"]["pass_rate"] < 1.0


def test_runner_rejects_an_unknown_scenario(tmp_path):
    proc = subprocess.run([sys.executable, str(EVALS / "run.py"), "--agent", "true", "--only", "nope",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "nope" in proc.stderr
