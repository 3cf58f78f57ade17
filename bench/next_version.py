#!/usr/bin/env python3
"""Benchmark: next_version.py --json on a folder of 10,000 migration pairs.

Prints the median wall time of the script next to `python3 -c pass` (bare
interpreter start-up) measured in the same run, and their ratio. Target:
under 3x the bare start-up.

    python3 bench/next_version.py [--pairs 10000] [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "next_version.py"


def interleaved_medians(cmds, runs, env):
    """Median wall time of each command, the commands taking turns so that
    the machine's drifts hit them all alike."""
    times = [[] for _ in cmds]
    for _ in range(runs):
        for slot, cmd in zip(times, cmds):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
            slot.append(time.perf_counter() - start)
    return [statistics.median(slot) for slot in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "migrations"
        folder.mkdir()
        for v in range(1, args.pairs + 1):
            (folder / f"{v:06d}_change_{v}.up.sql").touch()
            (folder / f"{v:06d}_change_{v}.down.sql").touch()
        # warm: Python's bytecode cache exists, as on a user's second run;
        # cold: the scripts' modules are compiled on every run (no cache, as
        # in sandboxes that set PYTHONDONTWRITEBYTECODE). Each runs from its
        # own copy of scripts/, so neither touches the repository's.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        warm_dir, cold_dir = Path(tmp) / "warm", Path(tmp) / "cold"
        for target in (warm_dir, cold_dir):
            shutil.copytree(SCRIPT.parent, target, ignore=shutil.ignore_patterns("__pycache__"))
        warm_cmd = [sys.executable, str(warm_dir / SCRIPT.name), "--json", "--dir", str(folder)]
        cold_cmd = [sys.executable, "-B", str(cold_dir / SCRIPT.name), "--json", "--dir", str(folder)]
        subprocess.run(warm_cmd, check=True, stdout=subprocess.DEVNULL, env=env)  # writes the cache
        bare, warm, cold = interleaved_medians([[sys.executable, "-c", "pass"], warm_cmd, cold_cmd], args.runs, env)
    print(f"machine: {platform.machine()} {platform.system()} Python {platform.python_version()}")
    print(f"{args.pairs} pairs, median of {args.runs} runs")
    print(f"python3 -c pass:                 {bare * 1000:7.1f} ms")
    print(f"next_version.py --json, warm:    {warm * 1000:7.1f} ms   ratio {warm / bare:5.2f}x (target < 3x)")
    print(f"next_version.py --json, cold:    {cold * 1000:7.1f} ms   ratio {cold / bare:5.2f}x")


if __name__ == "__main__":
    main()
