#!/usr/bin/env python3
"""Grade a worked copy of an eval scenario's fixture.

    python3 evals/grade.py add_nullable_column /tmp/work            # text report
    python3 evals/grade.py add_nullable_column /tmp/work --json     # one JSON object
    python3 evals/grade.py add_nullable_column --solution golden    # grade a stored solution
    python3 evals/grade.py --list                                   # the scenarios

Each expectation of the scenario is reported as PASS or FAIL with its
evidence. Exit status: 0 every expectation passed, 1 some failed, 2 usage
error (unknown scenario, missing workdir).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evalcore import grading, solutions, workspace  # noqa: E402
from evalcore.spec import SpecError, load_scenarios, scenario as find_scenario  # noqa: E402


def format_report(report: grading.Report) -> str:
    lines = [f"{report.scenario}: {sum(r.passed for r in report.results)}/{len(report.results)} expectations "
             f"passed ({report.seconds:.1f} s) in {report.workdir}"]
    for r in report.results:
        mark = "PASS" if r.passed else "FAIL"
        lines.append(f"  {mark} {r.id}: {r.expectation}")
        for ev in r.evidence.splitlines():
            lines.append(f"       {ev}")
    return "\n".join(lines)


def grade_solution(scenario, name: str, keep: Path = None) -> grading.Report:
    """Materialize the fixture in a temp folder, apply a stored solution, grade."""
    with tempfile.TemporaryDirectory(prefix="mw-solution-") as tmp:
        work = workspace.prepare_workdir(scenario, Path(tmp) / "work")
        transcript = solutions.apply(solutions.load(scenario.name, name), work)
        if transcript is not None:
            (work / "transcript.txt").write_text(transcript, encoding="utf-8")
        return grading.grade(scenario, work, keep=keep)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Grade a worked copy of an eval scenario's fixture: each expectation pass/fail with evidence.",
        epilog="exit status: 0 all expectations passed, 1 some failed, 2 usage error.")
    parser.add_argument("scenario", nargs="?", help="scenario name or id (see --list)")
    parser.add_argument("workdir", nargs="?", type=Path, help="the worked copy to grade")
    parser.add_argument("--solution", metavar="NAME", help="grade a stored solution (golden, wrong_...) instead")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the grader's scratch files (databases, Go copy) in DIR")
    parser.add_argument("--list", action="store_true", help="list the scenarios and their solutions")
    args = parser.parse_args(argv)
    try:
        if args.list:
            for s in load_scenarios().values():
                print(f"{s.id:>3} {s.name:32} {' '.join(solutions.names(s.name))}")
            return 0
        if not args.scenario or (args.workdir is None) == (args.solution is None):
            parser.print_usage(sys.stderr)
            print("grade.py: give a scenario and either a WORKDIR or --solution NAME.", file=sys.stderr)
            return 2
        scenario = find_scenario(args.scenario)
        if args.solution:
            report = grade_solution(scenario, args.solution, keep=args.keep)
        else:
            if not args.workdir.is_dir():
                print(f"grade.py: {args.workdir} is not a folder.", file=sys.stderr)
                return 2
            report = grading.grade(scenario, args.workdir, keep=args.keep)
    except SpecError as exc:
        print(f"grade.py: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.as_dict(), separators=(",", ":")))
    else:
        print(format_report(report))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
