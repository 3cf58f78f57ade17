#!/usr/bin/env python3
"""Prove the graders: grade every stored solution of the given scenarios
(all when none is given) and say whether each golden passes and each wrong
fails exactly the checks its solution.json declares. tests/test_evals.py
asserts the same in CI; this is the author's loop.

    python3 evals/prove_graders.py                     # every scenario
    python3 evals/prove_graders.py split_table -v      # one, with every report
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evalcore import solutions  # noqa: E402
from evalcore.spec import load_scenarios  # noqa: E402
from grade import format_report, grade_solution  # noqa: E402


def main(argv) -> int:
    scenarios = load_scenarios()
    names = argv or list(scenarios)
    bad = 0
    for name in names:
        s = scenarios[name]
        for sol_name in solutions.names(name):
            sol = solutions.load(name, sol_name)
            report = grade_solution(s, sol_name)
            want = [] if sol.is_golden else sol.fails
            ok = sorted(report.failed_ids) == sorted(want)
            bad += not ok
            print(f"{'ok ' if ok else 'BAD'} {name}/{sol_name}: failed {report.failed_ids}, declared {want} "
                  f"({report.seconds:.1f} s)")
            if not ok or "-v" in sys.argv:
                print(format_report(report))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main([a for a in sys.argv[1:] if a != "-v"]))
