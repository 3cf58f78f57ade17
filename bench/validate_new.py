#!/usr/bin/env python3
"""Benchmark: `validate_pairs.py --new` checking one new pair on a 100-version
chain, next to `python3 -c pass` measured in the same run.

Target (issue 14): at most 2.5x the bare interpreter start-up.

The chain is tests/fixtures/shipped_history.py (the fixture of the output
budgets): 96 shipped versions committed on `main` in a git repository, with
about 90 findings of eleven codes, and a clean new pair, untracked, on top.
Two projects are timed:

  bare folder   no Go source: foreign-key enforcement is unknown, so the new
                pair is checked twice (off and on; the shipped ups are
                applied once); the folder is found from the project root
  Go module     the same migrations in a copy of examples/ (mediaz layout:
                go:embed, mattn DSN): the project facts are read from the Go
                source, enforcement is known, one check

Each command runs from its project root as the assistant runs it, with the
interpreter itself and, given `--launcher "$(command -v python3)"`, with the
`python3` the assistant types (here a pyenv shim: a shell script with its
own start-up), each against its own `-c pass`. "warm" =
Python's bytecode cache exists (a user's second run); "cold" = every module
compiled on each run (PYTHONDONTWRITEBYTECODE, as in many sandboxes). The
commands take turns so the machine's drifts hit them alike; medians.

    python3 bench/validate_new.py [--runs 21] [--launcher "$(command -v python3)"]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

from shipped_history import git, write_project  # noqa: E402


def interleaved_medians(cmds, runs):
    """{name: median seconds} for (name, argv, cwd, env) commands taking turns."""
    times = {name: [] for name, *_ in cmds}
    for _ in range(runs):
        for name, argv, cwd, env in cmds:
            start = time.perf_counter()
            proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            times[name].append(time.perf_counter() - start)
            if proc.returncode not in (0, 1):
                raise SystemExit(f"{name} failed ({proc.returncode}): {proc.stderr.decode()}")
    return {name: statistics.median(values) for name, values in times.items()}


def go_module(tmp: Path) -> Path:
    """examples/ with its migrations replaced by the history and a new pair."""
    root = tmp / "module"
    shutil.copytree(ROOT / "examples", root, ignore=shutil.ignore_patterns("*.db", "bin"))
    folder = root / "pkg" / "storage" / "sqlite" / "migrations"
    shutil.rmtree(folder)
    history = write_project(tmp / "history", use_git=False)
    shutil.copytree(history, folder)
    new = sorted(folder.glob("000101_*"))
    for path in new:
        path.rename(tmp / path.name)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "shipped")
    for path in new:
        (tmp / path.name).rename(folder / path.name)
    return root


def measure_new_check(script: str, accepts: Callable[[str], bool], description: str) -> None:
    """Time `SCRIPT --new` on the two projects, warm and cold, with each
    launcher, beside its `-c pass`, and print the table BENCHMARKS.md keeps.
    `accepts(stdout)` checks each command's output once before timing."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--launcher", metavar="PATH",
                        help="the python3 the assistant types, e.g. \"$(command -v python3)\" (a pyenv shim puts "
                        "the real interpreter first on PATH for its children, so it cannot be found from here)")
    args = parser.parse_args()
    env_warm = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env_cold = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        bare = write_project(tmp / "bare").parents[1]
        module = go_module(tmp)
        warm_dir, cold_dir = tmp / "warm", tmp / "cold"
        for target in (warm_dir, cold_dir):
            shutil.copytree(SCRIPTS, target, ignore=shutil.ignore_patterns("__pycache__"))
        # The interpreter as typed (`python3` on PATH: here a pyenv shim, a
        # shell script that adds its own start-up) and the interpreter itself.
        launchers = [("interpreter", sys.executable)]
        if args.launcher and os.path.realpath(args.launcher) != os.path.realpath(sys.executable):
            launchers.insert(0, ("python3", args.launcher))
        cmds = []
        for launcher, exe in launchers:
            cmds.append((f"{launcher} -c pass", [exe, "-c", "pass"], tmp, env_warm))
            for label, root in (("bare folder", bare), ("Go module", module)):
                for heat, scripts, env in (("warm", warm_dir, env_warm), ("cold", cold_dir, env_cold)):
                    argv = [exe, str(scripts / script), "--new"]
                    cmds.append((f"{launcher}|{label}, {heat}", argv, root, env))
        for name, argv, cwd, env in cmds:
            if "|" not in name:
                continue
            subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL)  # the warm runs write their cache
            out = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True).stdout
            assert accepts(out), (name, out)
        medians = interleaved_medians(cmds, args.runs)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{platform.machine()} {platform.system()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}; {stamp}; load {load:.2f}; median of {args.runs} alternating runs")
    print("| launcher | command | median | ratio to `-c pass` |")
    print("|---|---|---:|---:|")
    for launcher, exe in launchers:
        floor = medians[f"{launcher} -c pass"]
        shown = f"`{launcher}`" if launcher == "python3" else f"`{exe}`"
        print(f"| {shown} | `-c pass` | {floor * 1000:.0f} ms | |")
        for name, value in medians.items():
            if name.startswith(launcher + "|"):
                what = name.split("|", 1)[1]
                print(f"| {shown} | `{script} --new`, {what} | {value * 1000:.0f} ms | {value / floor:.2f}x |")


def main() -> None:
    measure_new_check("validate_pairs.py", lambda out: out.startswith("ok: 2 new migration files (version 101)"), __doc__)


if __name__ == "__main__":
    main()
