#!/usr/bin/env python3
"""Benchmark: next_version.py --json on a folder of 10,000 migration pairs.

Prints the median wall time of the script next to `python3 -c pass` (bare
interpreter start-up) measured in the same run, and their ratio. Target:
under 3x the bare start-up.

    python3 bench/next_version.py [--pairs 10000] [--runs 15]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "next_version.py"


def median_seconds(cmd, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for v in range(1, args.pairs + 1):
            (folder / f"{v:06d}_change_{v}.up.sql").touch()
            (folder / f"{v:06d}_change_{v}.down.sql").touch()
        bare = median_seconds([sys.executable, "-c", "pass"], args.runs)
        ours = median_seconds([sys.executable, str(SCRIPT), "--json", "--dir", str(folder)], args.runs)
    print(f"machine: {platform.machine()} {platform.system()} Python {platform.python_version()}")
    print(f"{args.pairs} pairs, median of {args.runs} runs")
    print(f"python3 -c pass:          {bare * 1000:7.1f} ms")
    print(f"next_version.py --json:   {ours * 1000:7.1f} ms")
    print(f"ratio:                    {ours / bare:7.2f}x (target < 3x)")


if __name__ == "__main__":
    main()
