""".pre-commit-hooks.yaml: the linter as a pre-commit hook. pre-commit runs
`entry` from this repository with the changed files matching `files`."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import yaml

from conftest import ROOT, write_files

HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())


def hook() -> dict:
    (only,) = [h for h in HOOKS if h["id"] == "validate-migrations"]
    return only


def test_hook_runs_the_linter_script_directly():
    entry = ROOT / hook()["entry"]
    assert hook()["language"] == "script"
    assert entry == ROOT / "scripts" / "validate_pairs.py"
    assert os.access(entry, os.X_OK)
    assert entry.read_text().startswith("#!/usr/bin/env python3\n")


def test_hook_sees_migrations_and_near_misses_but_not_go_files():
    pattern = re.compile(hook()["files"])
    for name in ("db/migrations/000001_init.up.sql", "000002-typo.down.sql", "m/3_x.UP.sql"):
        assert pattern.search(name), name
    for name in ("main.go", "README.md", "migrate.go"):
        assert not pattern.search(name), name


def run_like_precommit(cwd: Path, *files: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / hook()["entry"]), *files], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_hook_fails_the_commit_on_a_broken_migration_and_names_it(tmp_path):
    write_files(tmp_path / "db" / "migrations", {
        "000001_init.up.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);\n",
        "000001_init.down.sql": "DROP TABLE a;\n",
        "000002_add.up.sql": "BEGIN;\nALTER TABLE a ADD COLUMN b TEXT;\nCOMMIT;\n",
        "000002_add.down.sql": "ALTER TABLE a DROP COLUMN b;\n",
    })
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "schema.sql").write_text("not a migration\n")

    proc = run_like_precommit(tmp_path, "db/migrations/000002_add.up.sql", "docs/schema.sql")

    assert proc.returncode == 1
    assert proc.stdout.startswith("db/migrations/000002_add.up.sql:1:1: error: ")
    assert "[MW201]" in proc.stdout


def test_hook_passes_a_good_change(tmp_path):
    write_files(tmp_path / "db" / "migrations", {
        "000001_init.up.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);\n",
        "000001_init.down.sql": "DROP TABLE a;\n",
    })
    proc = run_like_precommit(tmp_path, "db/migrations/000001_init.up.sql", "db/migrations/000001_init.down.sql")
    assert proc.returncode == 0, proc.stdout + proc.stderr
