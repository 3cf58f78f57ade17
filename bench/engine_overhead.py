#!/usr/bin/env python3
"""Benchmark: what the SQL engine's guard (authorizer) and budgets (progress
handler, limits) cost the scripts, against a checkout from before them.

The same workloads as the other benchmarks, each run by the scripts of this
checkout and of BEFORE (a copy of the code without the engine, e.g.
`git archive <commit> | tar -x -C /tmp/before`), alternating, so both see the
same machine load:

  validate   validate_pairs.py on 500 mixed pairs (bench/validate_pairs.py)
  verify     verify_migrations.py on the 100-version chain (bench/synthetic_chain.py)
  stub       make_test_stub.py --dry-run on 100 migrations (bench/make_test_stub.py)
  rebuild    rebuild_table.py on the 20-column table, 100 migrations (bench/rebuild_table.py)

Reported per workload: median wall time and median CPU time (user + system
of the child, steadier than wall time on a shared machine) of each side,
and after / before. Target: at most 1.10.

    python3 bench/engine_overhead.py --before /tmp/before [--runs 15]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from synthetic_chain import write_chain  # noqa: E402


def _bench_module(name: str):
    """bench/NAME.py (the scripts/ folder holds modules of the same names)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


stub_bench = _bench_module("make_test_stub")
rebuild_bench = _bench_module("rebuild_table")
validate_bench = _bench_module("validate_pairs")


def workloads(tmp: Path) -> Dict[str, Tuple[str, List[str]]]:
    """name -> (script, arguments), on folders built once in tmp."""
    mixed = tmp / "validate"
    validate_bench.build_folder(mixed, 500)
    chain = write_chain(tmp / "verify", 100)
    module = tmp / "stub"
    (module / "db" / "migrations").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "go.mod", module / "go.mod")
    for name, text in stub_bench.chain(100).items():
        (module / "db" / "migrations" / name).write_text(text)
    wide = tmp / "rebuild"
    wide.mkdir()
    for name, text in rebuild_bench.chain(100).items():
        (wide / name).write_text(text)
    return {
        "validate": ("validate_pairs.py", ["--dir", str(mixed), "--json"]),
        "verify": ("verify_migrations.py", ["--dir", str(chain), "--json"]),
        "stub": ("make_test_stub.py", ["--dir", str(module / "db" / "migrations"), "--dry-run", "--json"]),
        "rebuild": ("rebuild_table.py", ["wide", "--dir", str(wide), *rebuild_bench.CHANGE_ARGS, "--json"]),
    }


def timed(cmd: List[str], env: dict) -> Tuple[float, float]:
    """(wall, cpu) seconds of one run of cmd."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr}")
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="a checkout of the code before the engine")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--only", help="comma-separated workload names")
    args = parser.parse_args()
    before_root = Path(args.before).resolve()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    print(f"{platform.machine()} Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"{os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}; median of {args.runs} alternating runs")
    print("| workload | wall before | wall after | after / before | CPU before | CPU after | after / before |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        loads = workloads(Path(tmp))
        chosen = args.only.split(",") if args.only else list(loads)
        for name in chosen:
            script, script_args = loads[name]
            sides = {"before": before_root / "scripts" / script, "after": ROOT / "scripts" / script}
            samples: Dict[str, List[Tuple[float, float]]] = {"before": [], "after": []}
            for side, path in sides.items():  # warm the bytecode caches of both
                timed([sys.executable, str(path), *script_args], env)
            for _ in range(args.runs):
                for side, path in sides.items():
                    samples[side].append(timed([sys.executable, str(path), *script_args], env))
            wall = {s: statistics.median(w for w, _ in samples[s]) for s in sides}
            cpu = {s: statistics.median(c for _, c in samples[s]) for s in sides}
            print(f"| {name} | {wall['before'] * 1000:.0f} ms | {wall['after'] * 1000:.0f} ms | "
                  f"{wall['after'] / wall['before']:.2f} | {cpu['before'] * 1000:.0f} ms | {cpu['after'] * 1000:.0f} ms | "
                  f"{cpu['after'] / cpu['before']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
