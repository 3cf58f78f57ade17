#!/usr/bin/env python3
"""Benchmark: make_test_stub.py on a 100-migration folder, and the generated
suite of examples/.

1. Generating for the newest version of a synthetic 100-migration folder
   (new tables with foreign keys, added columns with indexes, data updates,
   table rebuilds): the core (`plan_stub`, in process) and the whole script
   (`--dry-run --json`, interpreter start-up and gofmt included), median of
   --runs runs. Target: under 300 ms.
2. The generated tests of examples/: a temp copy with every
   TestMigration_<V>_* deleted, regenerated for each version, then
   `go test -count=1 -run '^TestMigration_'` (first run builds the test
   binary; second run reuses the build). Target: under 30 s.

    python3 bench/make_test_stub.py [--migrations 100] [--runs 9] [--no-go]
"""

from __future__ import annotations

import argparse
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchkit import median_ms, new_table_pair  # bench/benchkit.py (this folder is on sys.path when run)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "make_test_stub.py"
sys.path.insert(0, str(ROOT / "scripts"))

from mwcore.folder import scan_folder  # noqa: E402
from mwcore.golex import parse_file  # noqa: E402
from mwcore.gotest import plan_stub  # noqa: E402


def chain(count: int) -> dict:
    """{file name: SQL} for versions 1..count."""
    files = {}
    tables = []
    for v in range(1, count + 1):
        kind = "table" if not tables or v % 4 == 1 else ("column", "update", "rebuild")[v % 3]
        if kind == "table":
            up, down = new_table_pair(v, tables)
        elif kind == "column":
            table = tables[-1]
            up = (f"ALTER TABLE {table} ADD COLUMN c{v} TEXT NOT NULL DEFAULT 'x';\n"
                  f"CREATE INDEX idx_{table}_c{v} ON {table} (c{v});\n")
            down = f"DROP INDEX idx_{table}_c{v};\nALTER TABLE {table} DROP COLUMN c{v};\n"
        elif kind == "update":
            table = tables[-1]
            up = f"UPDATE {table} SET qty = {v} WHERE id = 1 AND qty = 0;\n"
            down = f"UPDATE {table} SET qty = 0 WHERE id = 1 AND qty = {v};\n"
        else:
            table = tables[-1]
            up = (f"CREATE TABLE {table}_new AS SELECT * FROM {table};\nDROP TABLE {table}_new;\n"
                  f"CREATE INDEX idx_{table}_qty_{v} ON {table} (qty);\n")
            down = f"DROP INDEX idx_{table}_qty_{v};\n"
        files[f"{v:06d}_step_{v}.up.sql"] = up
        files[f"{v:06d}_step_{v}.down.sql"] = down
    return files


def bench_generation(count: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        module = Path(tmp) / "mod"
        (module / "db" / "migrations").mkdir(parents=True)
        shutil.copy(ROOT / "examples" / "go.mod", module / "go.mod")
        for name, text in chain(count).items():
            (module / "db" / "migrations" / name).write_text(text)
        folder = module / "db" / "migrations"
        core = median_ms(lambda: plan_stub(scan_folder(folder), None), runs)
        cmd = [sys.executable, str(SCRIPT), "--dir", str(folder), "--dry-run", "--json"]
        script = median_ms(lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL), runs)
        bare = median_ms(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), runs)
        plan = plan_stub(scan_folder(folder), None)
    print(f"{count} migrations, newest = {plan.version_text}, median of {runs} runs")
    print(f"  plan_stub (core, in process):        {core:7.1f} ms   (target < 300 ms)")
    print(f"  make_test_stub.py --dry-run --json:  {script:7.1f} ms   (python3 -c pass: {bare:.1f} ms)")
    print(f"  tests it would add: {len(plan.added_tests)}; checks: fresh {len(plan.facts.schema_checks) + len(plan.facts.data_checks)}, "
          f"upgrade {len(plan.facts.upgrade_checks)}, user edits {len(plan.facts.edits)}")


def bench_examples_suite() -> None:
    if shutil.which("go") is None:
        print("examples suite: Go is not installed; skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        module = Path(tmp) / "examples"
        shutil.copytree(ROOT / "examples", module)
        test_file = module / "pkg" / "storage" / "sqlite" / "migrate_test.go"
        text = test_file.read_text()
        for decl in sorted((d for d in parse_file(text).decls if re.fullmatch(r"TestMigration_\d+_\w+", d.name)), key=lambda d: -d.start):
            text = text[: decl.start] + text[decl.end :]
        test_file.write_text(text)
        migrations = module / "pkg" / "storage" / "sqlite" / "migrations"
        start = time.perf_counter()
        for migration in scan_folder(migrations).migrations:
            subprocess.run([sys.executable, str(SCRIPT), "--dir", str(migrations), "--version", str(migration.version), "--json"],
                           check=True, stdout=subprocess.DEVNULL)
        generate = time.perf_counter() - start
        cmd = ["go", "test", "-count=1", "-run", "^TestMigration_[0-9]", "-v", "./pkg/storage/sqlite"]
        walls = []
        for _ in range(2):
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=module, capture_output=True, text=True, check=True)
            walls.append(time.perf_counter() - start)
        tests = len(re.findall(r"^--- PASS: TestMigration_\d+_", proc.stdout, re.M))
        reported = re.search(r"^ok\s+\S+\s+([0-9.]+)s", proc.stdout, re.M)
    print(f"examples/: generated {tests} tests for 4 versions in {generate:.1f} s (4 script runs)")
    print(f"  go test, first run (builds the test binary): {walls[0]:5.1f} s   (target < 30 s)")
    print(f"  go test, second run (build cached):          {walls[1]:5.1f} s; go reports {reported.group(1) if reported else '?'} s in the tests")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--migrations", type=int, default=100)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--no-go", action="store_true", help="skip the Go suite timing")
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {platform.system()} Python {platform.python_version()}, "
          f"SQLite {__import__('sqlite3').sqlite_version}")
    bench_generation(args.migrations, args.runs)
    if not args.no_go:
        bench_examples_suite()


if __name__ == "__main__":
    main()
