#!/usr/bin/env python3
"""Benchmark scripts/validate_pairs.py on synthetic migration folders.

Builds folders of 250, 500 and 1,000 up/down pairs with the statements real
projects write (new tables with foreign keys and indexes, ADD/DROP COLUMN,
new indexes, seed and data fixes with WHERE, triggers, and full table
rebuilds done the right way), then reports the median wall time of:

  python3 -c pass                    interpreter start-up, the floor
  sqlite3 executes the up files      one process applies every up file once
  ... then the down files            the same, then every down file, newest first
                                     (the SQL work the linter cannot avoid)
  validate_pairs.py --dir FOLDER     the whole linter as a user runs it

The target (issue 5): under 2 s for 1,000 pairs, growing linearly.

  python3 bench/validate_pairs.py              # 250/500/1000 pairs, 5 runs each
  python3 bench/validate_pairs.py --runs 3 --sizes 1000 --markdown
  python3 bench/validate_pairs.py --light      # without ALTER TABLE and rebuilds
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "validate_pairs.py"


def _table(n: int) -> str:
    return f"item_{n:05d}"


class Workload:
    """Synthetic migrations, one version at a time (deterministic)."""

    def __init__(self, light: bool = False) -> None:
        self.light = light  # no ALTER TABLE, rebuilds or triggers (SQLite's slow statements)
        self.tables: List[str] = []
        self.pristine: List[str] = []  # tables nothing was added to yet (safe to rebuild)

    def pair(self, version: int) -> Tuple[str, str]:
        if version == 1:
            up = (
                "CREATE TABLE account (\n    id INTEGER PRIMARY KEY,\n    email TEXT NOT NULL,\n"
                "    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n"
                "CREATE UNIQUE INDEX idx_account_email ON account (email);\n"
            )
            return up, "DROP TABLE account;\n"
        kind = version % 10
        if self.light and kind in (1, 4, 6, 9):
            kind = 7  # a data fix instead
        if kind in (0, 5) or not self.tables:
            name = _table(version)
            self.tables.append(name)
            self.pristine.append(name)
            return _create(name, ("new", "done")) + f"CREATE INDEX idx_{name}_account ON {name} (account_id);\n", \
                f"DROP TABLE {name};\n"
        if kind == 9 and self.pristine:
            name = self.pristine.pop(0)
            return _rebuild(name, ("new", "done", "archived")), _rebuild(name, ("new", "done"))
        name = self.tables[version % len(self.tables)]
        if kind in (1, 6):
            self._touch(name)
            column = f"note_{version}"
            return (f"ALTER TABLE {name} ADD COLUMN {column} TEXT;\n",
                    f"ALTER TABLE {name} DROP COLUMN {column};\n")
        if kind == 2:
            self._touch(name)
            index = f"idx_{name}_title_{version}"
            return f"CREATE INDEX {index} ON {name} (title, created_at);\n", f"DROP INDEX {index};\n"
        if kind == 4:
            self._touch(name)
            trigger = f"trg_{name}_done_{version}"
            return (
                f"CREATE TRIGGER {trigger} AFTER UPDATE OF state ON {name}\nFOR EACH ROW WHEN NEW.state = 'done'\n"
                f"BEGIN\n    UPDATE {name} SET title = title WHERE id = NEW.id;\nEND;\n",
                f"DROP TRIGGER {trigger};\n",
            )
        if kind in (3, 8):
            return (
                f"INSERT INTO account (id, email) VALUES ({version}, 'user{version}@example.com');\n"
                f"UPDATE account SET email = lower(email) WHERE id = {version};\n",
                f"DELETE FROM account WHERE id = {version};\n",
            )
        return (f"UPDATE {name} SET state = 'done' WHERE state = 'new' AND title = 'v{version}';\n",
                f"UPDATE {name} SET state = 'new' WHERE state = 'done' AND title = 'v{version}';\n")

    def _touch(self, name: str) -> None:
        if name in self.pristine:
            self.pristine.remove(name)


def _create(name: str, states: Tuple[str, ...]) -> str:
    allowed = ", ".join(f"'{s}'" for s in states)
    return (
        f"CREATE TABLE {name} (\n    id INTEGER PRIMARY KEY,\n"
        f"    account_id INTEGER NOT NULL REFERENCES account (id) ON DELETE CASCADE,\n"
        f"    title TEXT NOT NULL,\n    state TEXT NOT NULL DEFAULT 'new' CHECK (state IN ({allowed})),\n"
        f"    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n"
    )


def _rebuild(name: str, states: Tuple[str, ...]) -> str:
    """Change the CHECK by a rebuild done right: temporary name, copy, drop,
    rename into place, recreate the index."""
    return (
        _create(f"{name}_new", states)
        + f"INSERT INTO {name}_new (id, account_id, title, state, created_at)\n"
        f"SELECT id, account_id, title, state, created_at FROM {name};\n"
        f"DROP TABLE {name};\nALTER TABLE {name}_new RENAME TO {name};\n"
        f"CREATE INDEX idx_{name}_account ON {name} (account_id);\n"
    )


def build_folder(folder: Path, pairs: int, light: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    workload = Workload(light)
    for version in range(1, pairs + 1):
        up, down = workload.pair(version)
        (folder / f"{version:06d}_step_{version}.up.sql").write_text(up)
        (folder / f"{version:06d}_step_{version}.down.sql").write_text(down)


def execute(folder: Path, downs: bool = False) -> None:
    """The baseline: apply every up file once, each in its own transaction;
    with downs=True, then every down file, newest first."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from mwcore.sqltext import split_statements

    conn = sqlite3.connect(":memory:", isolation_level=None)
    paths = sorted(folder.glob("*.up.sql"))
    if downs:
        paths += sorted(folder.glob("*.down.sql"), reverse=True)
    for path in paths:
        conn.execute("BEGIN")
        for statement in split_statements(path.read_text()):
            conn.execute(statement.sql).close()
        conn.execute("COMMIT")
    conn.close()


def median_time(action: Callable[[], None], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_process(*args: str) -> Callable[[], None]:
    def action() -> None:
        proc = subprocess.run([sys.executable, *args], capture_output=True, text=True)
        if proc.returncode not in (0,):
            raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return action


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="250,500,1000", help="comma-separated pair counts")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median reported)")
    parser.add_argument("--markdown", action="store_true", help="print a BENCHMARKS.md table")
    parser.add_argument("--light", action="store_true", help="no ALTER TABLE, rebuilds or triggers: only tables, "
                        "indexes and data changes (shows the linter's own cost when SQLite's is small)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    floor = median_time(run_process("-c", "pass"), args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            folder = Path(tmp) / f"pairs_{size}"
            build_folder(folder, size, light=args.light)
            ups = median_time(lambda: execute(folder), args.runs)
            both = median_time(lambda: execute(folder, downs=True), args.runs)
            lint = median_time(run_process(str(SCRIPT), "--dir", str(folder)), args.runs)
            rows.append((size, floor, ups, both, lint))
            if not args.markdown:
                print(f"{size:>5} pairs: python3 -c pass {floor:.3f} s | sqlite3 runs the ups {ups:.3f} s | "
                      f"ups and downs {both:.3f} s | validate_pairs.py {lint:.3f} s")
    if args.markdown:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"SQLite {sqlite3.sqlite_version}; {stamp}; median of {args.runs} runs.\n")
        print("| pairs | `python3 -c pass` | sqlite3 executes the up files | ... then the down files | "
              "`validate_pairs.py` |")
        print("|---:|---:|---:|---:|---:|")
        for size, floor, ups, both, lint in rows:
            print(f"| {size} | {floor:.3f} s | {ups:.3f} s | {both:.3f} s | {lint:.3f} s |")


if __name__ == "__main__":
    main()
