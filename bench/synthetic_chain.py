"""A synthetic golang-migrate chain of N versions that verifies clean.

The mix follows what real SQLite projects ship: new tables with foreign keys
and indexes, added columns with their index, table rebuilds (the 12-step
recipe), data updates, and views with triggers; every down undoes its up.
Used by bench/verify_migrations.py and by the tests that keep it honest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple


def chain_files(count: int) -> Dict[str, str]:
    """{file name: text} for versions 1..count."""
    files: Dict[str, str] = {}
    tables: List[str] = []  # tables created so far, in order
    extra_columns: Dict[object, int] = {}
    for version in range(1, count + 1):
        kind = _kind(version, tables)
        name, up, down = _migration(kind, version, tables, extra_columns)
        files[f"{version:06d}_{name}.up.sql"] = up
        files[f"{version:06d}_{name}.down.sql"] = down
    return files


def write_chain(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in chain_files(count).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# Out of every 20 versions: 8 new tables, 5 added columns, 2 rebuilds,
# 3 data updates, 2 views with a trigger.
_PATTERN = "TCTDCTRTCVTDTCRTDCVT"


def _kind(version: int, tables: List[str]) -> str:
    kind = _PATTERN[(version - 1) % len(_PATTERN)]
    return kind if tables or kind == "T" else "T"


def _migration(kind: str, version: int, tables: List[str], extra: Dict[object, int]) -> Tuple[str, str, str]:
    if kind == "T":
        table = f"item_{version}"
        parent = tables[-1] if tables else None
        fk = f",\n    parent_id  INTEGER REFERENCES {parent} (id) ON DELETE CASCADE" if parent else ""
        fk_index = f"\nCREATE INDEX idx_{table}_parent ON {table} (parent_id);" if parent else ""
        tables.append(table)
        up = (
            f"CREATE TABLE {table} (\n"
            "    id         INTEGER PRIMARY KEY,\n"
            "    name       TEXT    NOT NULL,\n"
            "    amount     INTEGER NOT NULL DEFAULT 0 CHECK (amount >= 0),\n"
            f"    created_at TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP{fk}\n"
            ");\n"
            f"CREATE UNIQUE INDEX idx_{table}_name ON {table} (name);{fk_index}\n"
        )
        return f"create_{table}", up, f"DROP TABLE {table};\n"
    target = tables[(version * 7) % len(tables)]
    if kind == "C":
        extra[target] = extra.get(target, 0) + 1
        column = f"note_{version}"
        up = (f"ALTER TABLE {target} ADD COLUMN {column} TEXT NOT NULL DEFAULT '';\n"
              f"CREATE INDEX idx_{target}_{column} ON {target} ({column});\n")
        down = f"DROP INDEX idx_{target}_{column};\nALTER TABLE {target} DROP COLUMN {column};\n"
        return f"add_{column}_to_{target}", up, down
    if kind == "D":
        up = f"UPDATE {target} SET amount = amount + 1 WHERE name LIKE 'seed-%';\n"
        down = f"UPDATE {target} SET amount = amount - 1 WHERE name LIKE 'seed-%';\n"
        return f"bump_{target}_amount", up, down
    if kind == "V":
        extra[target] = extra.get(target, 0)  # a view reads it: never rebuilt
        view = f"v_{target}_{version}"
        log = f"log_{version}"
        up = (f"CREATE TABLE {log} (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL, at TEXT);\n"
              f"CREATE VIEW {view} AS SELECT id, name FROM {target} WHERE amount > 0;\n"
              f"CREATE TRIGGER trg_{log} AFTER DELETE ON {target}\n"
              f"BEGIN\n    INSERT INTO {log} (item_id, at) VALUES (OLD.id, CURRENT_TIMESTAMP);\nEND;\n")
        down = f"DROP TRIGGER trg_{log};\nDROP VIEW {view};\nDROP TABLE {log};\n"
        return f"add_{view}", up, down
    # "R": rebuild a table without added columns, views or triggers (they
    # would have to be rebuilt too), making `name` nullable and back.
    plain = [t for t in tables if t not in extra and ("rebuilt", t) not in extra] or tables
    target = plain[(version * 3) % len(plain)]
    extra[("rebuilt", target)] = 1  # type: ignore[index]
    up = _rebuild(target, tables, nullable=True, version=version)
    down = _rebuild(target, tables, nullable=False, version=version)
    return f"rebuild_{target}", up, down


def _rebuild(table: str, tables: List[str], *, nullable: bool, version: int) -> str:
    index = tables.index(table)
    parent = tables[index - 1] if index > 0 else None
    fk = f",\n    parent_id  INTEGER REFERENCES {parent} (id) ON DELETE CASCADE" if parent else ""
    columns = "id, name, amount, created_at" + (", parent_id" if parent else "")
    not_null = "" if nullable else " NOT NULL"
    name_value = "name" if nullable else "COALESCE(name, 'unnamed-' || id)"
    select = columns.replace("name,", f"{name_value},", 1)
    text = (
        f"CREATE TABLE {table}_new (\n"
        "    id         INTEGER PRIMARY KEY,\n"
        f"    name       TEXT{not_null},\n"
        "    amount     INTEGER NOT NULL DEFAULT 0 CHECK (amount >= 0),\n"
        f"    created_at TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP{fk}\n"
        ");\n"
        f"INSERT INTO {table}_new ({columns}) SELECT {select} FROM {table};\n"
        f"DROP TABLE {table};\n"
        f"ALTER TABLE {table}_new RENAME TO {table};\n"
        f"CREATE UNIQUE INDEX idx_{table}_name ON {table} (name);\n"
    )
    if parent:
        text += f"CREATE INDEX idx_{table}_parent ON {table} (parent_id);\n"
    return text
