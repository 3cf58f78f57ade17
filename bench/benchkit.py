"""Helpers the benchmarks share: timing and synthetic migrations."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """Median wall time of `runs` calls of fn, in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def new_table_pair(version: int, tables: list) -> "tuple[str, str]":
    """The up/down of a migration that adds table t<version> (with a foreign
    key to the previous one and a seed row); appends it to `tables`."""
    table = f"t{version}"
    fk = f", parent_id INTEGER REFERENCES {tables[-1]} (id)" if tables else ""
    up = (f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
          f"qty INTEGER NOT NULL DEFAULT 0 CHECK (qty >= 0){fk});\n"
          f"INSERT INTO {table} (id, name) VALUES (1, 'seed {version}');\n")
    tables.append(table)
    return up, f"DROP TABLE {table};\n"
