#!/usr/bin/env python3
"""Benchmark: `verify_migrations.py --new` checking one new pair on a
100-version chain, next to `python3 -c pass` measured in the same run.

Target (issue 14): at most 2.5x the bare interpreter start-up.

The chain and the two projects are bench/validate_new.py's: the 96 shipped
versions of tests/fixtures/shipped_history.py committed on `main` (eleven
of their ups fail on a scratch database: a BEGIN in a wrapped file, a SQL
function the app registers), a clean new pair untracked on top; "bare
folder" (no Go source: foreign-key enforcement unknown, so the new pair is
replayed twice, off and on, from one copy of the shipped state with its
synthetic rows) and "Go module" (the same migrations in a copy of examples/,
facts read from the Go source, one replay). `--new` applies the shipped ups
once (no synthetic rows, no downs), seeds the synthetic rows, then runs the
new version up, down and up again with every check.

Each command runs from its project root as the assistant runs it, with the
interpreter itself and, given `--launcher "$(command -v python3)"`, with the
`python3` the assistant types (a pyenv shim here), each against its own
`-c pass`; warm (bytecode cache) and cold (PYTHONDONTWRITEBYTECODE). The
commands take turns; medians.

    python3 bench/verify_new.py [--runs 21] [--launcher "$(command -v python3)"]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from validate_new import SCRIPTS, go_module, interleaved_medians, write_project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--launcher", metavar="PATH",
                        help="the python3 the assistant types, e.g. \"$(command -v python3)\"")
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
        launchers = [("interpreter", sys.executable)]
        if args.launcher and os.path.realpath(args.launcher) != os.path.realpath(sys.executable):
            launchers.insert(0, ("python3", args.launcher))
        cmds = []
        for launcher, exe in launchers:
            cmds.append((f"{launcher} -c pass", [exe, "-c", "pass"], tmp, env_warm))
            for label, root in (("bare folder", bare), ("Go module", module)):
                for heat, scripts, env in (("warm", warm_dir, env_warm), ("cold", cold_dir, env_cold)):
                    argv = [exe, str(scripts / "verify_migrations.py"), "--new"]
                    cmds.append((f"{launcher}|{label}, {heat}", argv, root, env))
        for name, argv, cwd, env in cmds:
            if "|" not in name:
                continue
            subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL)  # the warm runs write their cache
            out = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True).stdout
            assert ": new version 101 ok: up, down, up again" in out.splitlines()[0], (name, out)
        medians = interleaved_medians(cmds, args.runs)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{platform.machine()} {platform.system()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}; {stamp}; load {load:.2f}; median of {args.runs} alternating runs")
    print("| launcher | command | median | ratio to `-c pass` |")
    print("|---|---|---:|---:|")
    for launcher, exe in launchers:
        floor = medians[f"{launcher} -c pass"]
        shown = f"`{launcher}`" if launcher == "python3" else "interpreter"
        print(f"| {shown} | `-c pass` | {floor * 1000:.0f} ms | |")
        for name, value in medians.items():
            if name.startswith(launcher + "|"):
                what = name.split("|", 1)[1]
                print(f"| {shown} | `verify_migrations.py --new`, {what} | {value * 1000:.0f} ms | {value / floor:.2f}x |")


if __name__ == "__main__":
    main()
