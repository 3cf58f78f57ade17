#!/usr/bin/env python3
"""Benchmark: verify_migrations.py on synthetic chains of 50, 100 and 200 versions.

For each size, in the same run, the median wall time of
  floor    executing every up file, then every down file, once with Python's
           sqlite3 on an in-memory database (python3 -c ..., so interpreter
           start-up is in it as it is in the script's time)
  verify   verify_migrations.py --json --foreign-keys off --dir CHAIN (up, down, up again, with
           snapshots, synthetic rows and integrity checks)
  migrate  the real golang-migrate CLI: `up`, `down -all`, `up` on a temp
           file database (built from tests/goharness's go.mod; skipped
           without Go, or pass --migrate PATH)
and the ratios verify/floor (target < 3) and verify/migrate (target < 1).
The chain (bench/synthetic_chain.py) mixes new tables with foreign keys,
added columns with indexes, table rebuilds, data updates and views with
triggers, and verifies clean.

    python3 bench/verify_migrations.py [--sizes 50,100,200] [--runs 7] [--migrate PATH]
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
from pathlib import Path
from typing import List, Optional

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SCRIPT = ROOT / "scripts" / "verify_migrations.py"
GOHARNESS = ROOT / "tests" / "goharness"
# The chain has no Go source, so enforcement is unknown and verify would
# replay it both ways; it is written for foreign keys off (its rebuilds
# delete children by CASCADE with them on), as the migrate CLI runs it.
VERIFY_ARGS = ("--json", "--foreign-keys", "off", "--dir")
sys.path.insert(0, str(BENCH))

from synthetic_chain import write_chain  # noqa: E402

FLOOR = """
import sqlite3, sys
from pathlib import Path
folder = Path(sys.argv[1])
conn = sqlite3.connect(":memory:", isolation_level=None)
for name in sorted(p.name for p in folder.glob("*.up.sql")):
    conn.executescript((folder / name).read_text())
for name in sorted((p.name for p in folder.glob("*.down.sql")), reverse=True):
    conn.executescript((folder / name).read_text())
"""


# As users run it: with bytecode caching (some sandboxes turn it off, which
# makes every start-up compile the scripts' modules again).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmds: List[List[str]], env: Optional[dict] = None) -> float:
    env = env or ENV
    start = time.perf_counter()
    for cmd in cmds:
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd[:3])} ... failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return time.perf_counter() - start


def build_migrate(out: Path) -> Optional[Path]:
    go = shutil.which("go")
    if go is None:
        return None
    target = out / "migrate"
    proc = subprocess.run(
        [go, "build", "-tags", "sqlite3", "-o", str(target), "github.com/golang-migrate/migrate/v4/cmd/migrate"],
        cwd=GOHARNESS, env=dict(os.environ, CGO_ENABLED="1"), capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        sys.stderr.write(f"building migrate failed, skipping it:\n{proc.stderr[-1000:]}\n")
        return None
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50,100,200")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--migrate", help="path of a golang-migrate CLI built with -tags sqlite3")
    parser.add_argument("--no-migrate", action="store_true", help="skip the golang-migrate CLI")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        migrate = None if args.no_migrate else (Path(args.migrate) if args.migrate else build_migrate(work))
        print(f"machine: {platform.machine()} {platform.system()}, {os.cpu_count()} CPUs, "
              f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")
        print(f"median of {args.runs} runs (min in brackets); the three commands alternate within each run")
        header = f"{'versions':>8}  {'floor':>15}  {'verify':>15}  {'migrate CLI':>15}  {'verify/floor':>12}  {'verify/migrate':>14}"
        print(header)
        timed([[sys.executable, str(SCRIPT), *VERIFY_ARGS, str(write_chain(work / "warm-up", 2))]])
        for size in sizes:
            chain = write_chain(work / f"chain{size}", size)
            floor: List[float] = []
            ours: List[float] = []
            cli: List[float] = []
            for run in range(args.runs):
                floor.append(timed([[sys.executable, "-c", FLOOR, str(chain)]]))
                ours.append(timed([[sys.executable, str(SCRIPT), *VERIFY_ARGS, str(chain)]]))
                if migrate is not None:
                    db = work / f"m{size}-{run}.db"
                    url = f"sqlite3://{db}"
                    cli.append(timed([[str(migrate), "-path", str(chain), "-database", url, "up"],
                                      [str(migrate), "-path", str(chain), "-database", url, "down", "-all"],
                                      [str(migrate), "-path", str(chain), "-database", url, "up"]]))
            f, o = statistics.median(floor), statistics.median(ours)
            c = statistics.median(cli) if cli else None
            cell = lambda xs, m: f"{m * 1000:7.0f} ms [{min(xs) * 1000:4.0f}]"  # noqa: E731
            print(f"{size:>8}  {cell(floor, f)}  {cell(ours, o)}  "
                  f"{cell(cli, c) if c is not None else 'skipped':>15}  {o / f:12.2f}  "
                  f"{(o / c) if c else float('nan'):14.2f}")


if __name__ == "__main__":
    main()
