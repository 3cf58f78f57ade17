#!/usr/bin/env python3
"""Stand-in agent for evals/run.py: reads a scenario's prompt on stdin and
leaves one of that scenario's wrong solutions in the current folder.

    python3 evals/run.py --agent "python3 evals/agents/wrong.py"            # the first wrong one
    python3 evals/run.py --agent "python3 evals/agents/wrong.py --index 1"  # the second (wraps around)
"""

import argparse
import sys

from standin import run, solutions

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=int, default=0, help="which wrong solution, in name order (default 0)")
    args = parser.parse_args()

    def pick(scenario: str):
        wrong = solutions.wrong_names(scenario)
        return wrong[args.index % len(wrong)] if wrong else None

    sys.exit(run(pick))
