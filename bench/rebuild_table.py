#!/usr/bin/env python3
"""Benchmark: rebuild_table.py on a table with 20 columns, 5 indexes and 2
triggers, in a 100-migration folder, proof included.

The folder: other tables with foreign keys, added columns and indexes, data
updates; the wide table (20 columns: NOT NULL, defaults, CHECK, a foreign key),
its 5 indexes (unique, composite, partial, expression, plain), 2 triggers, a
view, a CASCADE child and a SET NULL child. The rebuild makes one column
nullable and changes another's type. Reported: the whole script (`--json`,
interpreter start-up included) with enforcement off (one proof) and unknown
(two proofs: on and off), next to `python3 -c pass`; and, in process, the
three parts: replaying the folder, planning, proving. Target: under 500 ms.

    python3 bench/rebuild_table.py [--migrations 100] [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchkit import median_ms, new_table_pair  # bench/benchkit.py (this folder is on sys.path when run)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "rebuild_table.py"
sys.path.insert(0, str(ROOT / "scripts"))

from mwcore.folder import scan_folder  # noqa: E402
from mwcore.rebuild import Changes, plan_rebuild, replay  # noqa: E402
from mwcore.rebuild_proof import prove  # noqa: E402

WIDE = "CREATE TABLE wide (\n    id INTEGER PRIMARY KEY,\n    owner_id INTEGER REFERENCES t1 (id),\n" + ",\n".join(
    f"    c{i} " + ("TEXT NOT NULL DEFAULT ''" if i % 3 == 0 else "INTEGER CHECK (c%d >= 0)" % i if i % 3 == 1 else "REAL")
    for i in range(3, 21)
) + "\n);\n"
WIDE_EXTRAS = """
CREATE UNIQUE INDEX wide_c3 ON wide (c3, c6);
CREATE INDEX wide_c4 ON wide (c4);
CREATE INDEX wide_c5_partial ON wide (c5) WHERE c5 IS NOT NULL;
CREATE INDEX wide_lower ON wide (lower(c9));
CREATE INDEX wide_owner ON wide (owner_id);
CREATE TRIGGER wide_ins AFTER INSERT ON wide BEGIN UPDATE wide SET c4 = coalesce(c4, 0) WHERE id = NEW.id; END;
CREATE TRIGGER wide_upd AFTER UPDATE OF c3 ON wide BEGIN UPDATE wide SET c6 = NEW.c3 WHERE id = NEW.id; END;
CREATE VIEW wide_view AS SELECT id, c3, c4 FROM wide;
CREATE TABLE wide_child (id INTEGER PRIMARY KEY, wide_id INTEGER NOT NULL REFERENCES wide (id) ON DELETE CASCADE, note TEXT);
CREATE TABLE wide_link (wide_id INTEGER REFERENCES wide (id) ON DELETE SET NULL, tag TEXT);
"""
WIDE_DOWN = "DROP TABLE wide_link;\nDROP TABLE wide_child;\nDROP VIEW wide_view;\nDROP TABLE wide;\n"


def chain(count: int) -> dict:
    """{file name: SQL} for versions 1..count; the wide table comes at the middle."""
    files = {}
    tables = []
    for v in range(1, count + 1):
        if v == count // 2:
            up, down = WIDE + WIDE_EXTRAS, WIDE_DOWN
        elif not tables or v % 4 == 1:
            up, down = new_table_pair(v, tables)
        elif v % 4 == 2:
            table = tables[-1]
            up = (f"ALTER TABLE {table} ADD COLUMN c{v} TEXT NOT NULL DEFAULT 'x';\n"
                  f"CREATE INDEX idx_{table}_c{v} ON {table} (c{v});\n")
            down = f"DROP INDEX idx_{table}_c{v};\nALTER TABLE {table} DROP COLUMN c{v};\n"
        else:
            table = tables[-1]
            up = f"UPDATE {table} SET qty = {v} WHERE id = 1 AND qty = 0;\n"
            down = f"UPDATE {table} SET qty = 0 WHERE id = 1 AND qty = {v};\n"
        files[f"{v:06d}_step_{v}.up.sql"] = up
        files[f"{v:06d}_step_{v}.down.sql"] = down
    return files


def median_cpu_ms(fn, runs: int) -> float:
    """CPU time (user + system) of this process and its children: much less
    sensitive than wall time to other work on a shared machine."""
    times = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
        fn()
        after = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
        times.append(sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(after, before)))
    return statistics.median(times) * 1000


CHANGE_ARGS = ["--nullable", "c3", "--type", "c5", "TEXT"]
CHANGES = Changes(nullable=("c3",), types=(("c5", "TEXT"),))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--migrations", type=int, default=100)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "migrations"
        folder.mkdir()
        for name, text in chain(args.migrations).items():
            (folder / name).write_text(text)
        print(f"{platform.machine()} {platform.processor() or ''} Python {platform.python_version()}, "
              f"SQLite {sqlite3.sqlite_version}; {args.migrations} migrations; median of {args.runs} runs")
        pass_cmd = lambda: subprocess.run([sys.executable, "-c", "pass"], check=True)  # noqa: E731
        print(f"  python3 -c pass: wall {median_ms(pass_cmd, args.runs):.1f} ms, cpu {median_cpu_ms(pass_cmd, args.runs):.1f} ms")
        # warm: bytecode cached (as after the first run on a user's machine), kept
        # out of the checkout with PYTHONPYCACHEPREFIX; cold: no bytecode cache
        # (PYTHONDONTWRITEBYTECODE, as in some sandboxes): every module compiled.
        warm_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        warm_env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        cold_env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        for mode in ("off", "auto"):
            cmd = [sys.executable, str(SCRIPT), "wide", "--dir", str(folder), *CHANGE_ARGS, "--json"]
            if mode == "off":
                cmd += ["--foreign-keys", "off"]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=warm_env)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            label = "enforcement off (1 proof)" if mode == "off" else "enforcement unknown (2 proofs)"
            for cache, env in (("warm", warm_env), ("cold", cold_env)):
                run = lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)  # noqa: E731
                print(f"  rebuild_table.py --json, {label:31} {cache}: wall {median_ms(run, args.runs):6.1f} ms, "
                      f"cpu {median_cpu_ms(run, args.runs):6.1f} ms   (target < 500 ms)")
        migrations = scan_folder(folder)
        conn = replay(migrations)
        plan = plan_rebuild(conn, "wide", CHANGES, fk_mode="unknown")
        parts = [("replay", lambda: replay(migrations).close()),
                 ("plan", lambda: plan_rebuild(conn, "wide", CHANGES, fk_mode="unknown")),
                 ("proof (on and off)", lambda: prove(conn, plan))]
        print("  in process (wall / cpu): " + ", ".join(
            f"{name} {median_ms(fn, args.runs):.1f} / {median_cpu_ms(fn, args.runs):.1f} ms" for name, fn in parts)
            + f"; {len(plan.up)} up statements")


if __name__ == "__main__":
    main()
