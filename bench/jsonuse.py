#!/usr/bin/env python3
"""Benchmark: learning which columns a chain reads as JSON (mwcore.jsonuse).

verify_migrations.py and rebuild_table.py learn it once per folder before
seeding synthetic rows: when any file mentions json, the ups (and the downs
that mention json, each rolled back) run once more on a scratch in-memory
database, up to the last file that mentions json. This measures the worst
case: the synthetic chain (bench/synthetic_chain.py) with a json read in its
last version, so every up runs; and the same chain without it (nothing runs).

    python3 bench/jsonuse.py [--sizes 200,1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "scripts")]

from benchkit import median_ms  # noqa: E402
from synthetic_chain import chain_files  # noqa: E402

from mwcore.jsonuse import learn_json_columns  # noqa: E402

JSON_READ = "CREATE TABLE doc (id INTEGER PRIMARY KEY, body TEXT);\nSELECT json_extract(body, '$.title') FROM doc;\n"


def sequence(count: int, with_json: bool):
    files = chain_files(count)
    names = sorted(files, key=lambda n: (n.split("_")[0], ".down." in n))
    out = [("down" if ".down." in n else "up", files[n]) for n in names]
    if with_json:
        out.append(("up", JSON_READ))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="200,1000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print("versions   json read at the end   no json")
    for count in (int(s) for s in args.sizes.split(",")):
        with_json, without = sequence(count, True), sequence(count, False)
        assert learn_json_columns(with_json) and not learn_json_columns(without)
        a = median_ms(lambda: learn_json_columns(with_json), args.runs)
        b = median_ms(lambda: learn_json_columns(without), args.runs)
        print(f"{count:8d}   {a:17.0f} ms   {b:5.1f} ms")


if __name__ == "__main__":
    main()
