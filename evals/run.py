#!/usr/bin/env python3
"""Run an assistant on every eval scenario and grade what it leaves behind.

    python3 evals/run.py --agent "python3 evals/agents/golden.py"          # stand-in: the golden solutions
    python3 evals/run.py --agent "CMD" --both --only dirty_database 7      # with and without the skill
    python3 evals/run.py --agent "CMD" --without-skill                     # the baseline only

For each scenario (and each mode): the fixture is copied into a fresh
folder and committed to a new git repository (branch `main`, then work on
`eval`); a fresh HOME gets the skill installed with ./install.sh (or
nothing, for the baseline); CMD runs through the shell in that folder with
the prompt on stdin, HOME and CLAUDE_CONFIG_DIR pointing at the fresh HOME
(Go's caches stay the machine's); its stdout is saved as transcript.txt in
the folder; then evals/grade.py's checks run. The summary goes to
OUT/summary.json and OUT/summary.txt (pass rate per scenario and overall,
time per scenario, per mode); every worked copy stays in OUT for a look.

Exit status: 0 every scenario passed in every mode run, 1 some did not,
2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evalcore import grading, workspace  # noqa: E402
from evalcore.spec import REPO_ROOT, Scenario, SpecError, load_scenarios, scenario as find_scenario  # noqa: E402

WITH, WITHOUT = "with_skill", "without_skill"
SKILL_NAME = "migration-writer"


def go_cache_env() -> Dict[str, str]:
    """The machine's Go caches, so an agent under a fresh HOME neither
    downloads modules nor rebuilds cgo drivers."""
    out = {}
    for var in ("GOCACHE", "GOMODCACHE", "GOPATH"):
        try:
            value = subprocess.run(["go", "env", var], capture_output=True, text=True, timeout=60).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            value = ""
        if value:
            out[var] = value
    return out


def make_home(home: Path, with_skill: bool) -> None:
    (home / ".claude").mkdir(parents=True, exist_ok=True)
    if not with_skill:
        return
    env = dict(os.environ, HOME=str(home), CLAUDE_CONFIG_DIR=str(home / ".claude"))
    proc = subprocess.run(["bash", str(REPO_ROOT / "install.sh")], cwd=str(REPO_ROOT), env=env,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 or not (home / ".claude" / "skills" / SKILL_NAME / "SKILL.md").is_file():
        raise RuntimeError(f"install.sh failed: {proc.stderr.strip() or proc.stdout.strip()}")


def run_agent(cmd: str, prompt: str, workdir: Path, home: Path, timeout: float, stderr_path: Path,
              go_env: Dict[str, str]) -> dict:
    env = dict(os.environ)
    env.update(go_env)
    env.update({"HOME": str(home), "CLAUDE_CONFIG_DIR": str(home / ".claude")})
    start = time.monotonic()
    timed_out = False
    with open(stderr_path, "w", encoding="utf-8") as err:
        proc = subprocess.Popen(["bash", "-c", cmd], cwd=str(workdir), env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True)
        try:
            out, _ = proc.communicate(prompt, timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, 9)
            out, _ = proc.communicate()
    (workdir / "transcript.txt").write_text(out or "", encoding="utf-8")
    return {"exit_code": proc.returncode, "timed_out": timed_out, "seconds": round(time.monotonic() - start, 2)}


def run_one(scenario: Scenario, mode: str, cmd: str, out: Path, timeout: float, go_env: Dict[str, str]) -> dict:
    base = out / mode / scenario.name
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    workdir = workspace.prepare_workdir(scenario, base / "work")
    home = base / "home"
    make_home(home, with_skill=(mode == WITH))
    agent = run_agent(cmd, scenario.prompt, workdir, home, timeout, base / "agent.stderr", go_env)
    report = grading.grade(scenario, workdir, keep=base / "grade")
    passed = sum(r.passed for r in report.results)
    result = {
        "scenario": scenario.name,
        "id": scenario.id,
        "mode": mode,
        "passed": report.passed,
        "expectations_passed": passed,
        "expectations": len(report.results),
        "pass_rate": round(passed / len(report.results), 4) if report.results else 0.0,
        "agent": agent,
        "grade_seconds": round(report.seconds, 2),
        "workdir": str(workdir),
        "report": report.as_dict(),
    }
    (base / "grading.json").write_text(json.dumps(report.as_dict(), indent=1), encoding="utf-8")
    return result


def summarize(runs: List[dict], modes: List[str]) -> dict:
    overall = {}
    for mode in modes:
        mine = [r for r in runs if r["mode"] == mode]
        total = sum(r["expectations"] for r in mine)
        overall[mode] = {
            "scenarios": len(mine),
            "scenarios_passed": sum(r["passed"] for r in mine),
            "expectations_passed": sum(r["expectations_passed"] for r in mine),
            "expectations": total,
            "pass_rate": round(sum(r["expectations_passed"] for r in mine) / total, 4) if total else 0.0,
            "agent_seconds": round(sum(r["agent"]["seconds"] for r in mine), 1),
        }
    return overall


def text_table(runs: List[dict], modes: List[str], overall: dict) -> str:
    names = list(dict.fromkeys(r["scenario"] for r in runs))
    width = max([len(n) for n in names] + [len("scenario")])
    label = {WITH: "with skill", WITHOUT: "without skill"}
    header = f"{'scenario':{width}}" + "".join(f"  {label[m]:>22}" for m in modes)
    lines = [header, "-" * len(header)]
    for name in names:
        cells = []
        for mode in modes:
            r = next((r for r in runs if r["scenario"] == name and r["mode"] == mode), None)
            if r is None:
                cells.append(f"  {'-':>22}")
                continue
            mark = "ok" if r["passed"] else ("TIMEOUT" if r["agent"]["timed_out"] else "FAIL")
            cell = f"{r['expectations_passed']}/{r['expectations']} {mark} {r['agent']['seconds']:.0f}s"
            cells.append(f"  {cell:>22}")
        lines.append(f"{name:{width}}" + "".join(cells))
    lines.append("-" * len(header))
    cells = []
    for mode in modes:
        o = overall[mode]
        cell = f"{o['pass_rate'] * 100:.0f}% ({o['scenarios_passed']}/{o['scenarios']}) {o['agent_seconds']:.0f}s"
        cells.append(f"  {cell:>22}")
    lines.append(f"{'overall':{width}}" + "".join(cells))
    lines.append("cells: expectations passed/total, scenario verdict, agent time; overall: expectation pass rate "
                 "(scenarios fully passed) total agent time")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run an assistant on the eval scenarios (prompt on stdin, in a fresh git-initialised copy of "
                    "each fixture, with the skill installed in a fresh HOME or not) and grade the outcomes.",
        epilog="exit status: 0 every scenario passed, 1 some did not, 2 usage error.")
    parser.add_argument("--agent", required=True, metavar="CMD",
                        help="shell command of the assistant's non-interactive mode; it gets the prompt on stdin")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--without-skill", action="store_true", help="run the baseline only: no skill installed")
    mode.add_argument("--both", action="store_true", help="run every scenario with and without the skill")
    parser.add_argument("--only", nargs="+", metavar="ID", help="scenario names or ids (default: all)")
    parser.add_argument("--out", type=Path, help="results folder (default: a new temp folder, printed)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per agent run (default 1800)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    args = parser.parse_args(argv)

    try:
        scenarios = [find_scenario(k) for k in args.only] if args.only else list(load_scenarios().values())
    except SpecError as exc:
        print(f"run.py: {exc}", file=sys.stderr)
        return 2
    modes = [WITH, WITHOUT] if args.both else ([WITHOUT] if args.without_skill else [WITH])
    out = args.out or Path(tempfile.mkdtemp(prefix="mw-evals-"))
    out.mkdir(parents=True, exist_ok=True)
    go_env = go_cache_env()

    runs = []
    for s in scenarios:
        for m in modes:
            runs.append(run_one(s, m, args.agent, out, args.timeout, go_env))
            r = runs[-1]
            print(f"{m:>13} {s.name}: {r['expectations_passed']}/{r['expectations']} "
                  f"({r['agent']['seconds']:.0f} s agent, {r['grade_seconds']:.0f} s grading)", file=sys.stderr)
    overall = summarize(runs, modes)
    summary = {"agent": args.agent, "modes": modes, "overall": overall,
               "runs": [{k: v for k, v in r.items() if k != "report"} | {"expectations_detail": r["report"]["expectations"]}
                        for r in runs]}
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    table = text_table(runs, modes, overall)
    (out / "summary.txt").write_text(table + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(summary, separators=(",", ":")))
    else:
        print(table)
        print(f"results: {out}")
    return 0 if all(r["passed"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
