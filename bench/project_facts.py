#!/usr/bin/env python3
"""Benchmark: reading a Go module's project facts (status.py --json without
--db: no SQL runs, so this is the reader's cost plus start-up).

A synthetic module holds one fixture-like store package that migrates with
golang-migrate, plus PACKAGES x 10 Go files of ordinary database code (25
functions each, ~8 KB). "typical": those files only query the database, so
the reader skips them (a text filter picks the files that can hold a fact).
"worst": every file also executes a PRAGMA, so every file is tokenized.

    python3 bench/project_facts.py [--packages 40] [--runs 7]
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

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "status.py"
STORE = ROOT / "tests" / "fixtures" / "projects" / "mattn_fk_dsn"


def build(root: Path, packages: int, statement: str) -> int:
    shutil.copytree(STORE, root)
    size = 0
    for d in range(packages):
        pkg = root / "internal" / f"pkg{d}"
        pkg.mkdir(parents=True)
        for f in range(10):
            lines = [f"package pkg{d}", "", 'import (\n\t"database/sql"\n\t"fmt"\n)', ""]
            for fn in range(25):
                lines += [f"func F{f}x{fn}(db *sql.DB, name string) (string, error) {{",
                          f'\tq := fmt.Sprintf("SELECT * FROM t{fn} WHERE name = %q", name)',
                          "\trows, err := db.Query(q)\n\tif err != nil {\n\t\treturn \"\", err\n\t}\n\tdefer rows.Close()",
                          f'\tif _, err := db.Exec("{statement}"); err != nil {{\n\t\treturn "", err\n\t}}',
                          "\treturn q, nil\n}\n"]
            text = "\n".join(lines)
            size += len(text)
            (pkg / f"f{f}.go").write_text(text)
    return size


def median_s(cmd, cwd: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", type=int, default=40)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"{platform.machine()} {platform.system()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, statement in (("typical", "UPDATE t SET x = 1"), ("worst", "PRAGMA optimize")):
            root = Path(tmp) / label
            size = build(root, args.packages, statement)
            files = args.packages * 10 + 3
            seconds = median_s([sys.executable, str(SCRIPT), "--json"], root, args.runs)
            print(f"{label}: {files} Go files, {size / 1e6:.1f} MB: status.py --json {seconds * 1000:.0f} ms (median of {args.runs})")


if __name__ == "__main__":
    main()
