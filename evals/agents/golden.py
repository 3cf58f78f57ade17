#!/usr/bin/env python3
"""Stand-in agent for evals/run.py: reads a scenario's prompt on stdin and
leaves that scenario's golden solution in the current folder (and prints
its transcript), as a correct assistant would.

    python3 evals/run.py --agent "python3 evals/agents/golden.py"
"""

import sys

from standin import run

if __name__ == "__main__":
    sys.exit(run(lambda scenario: "golden"))
