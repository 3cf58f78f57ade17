"""Worked copies: a scenario's fixture copied into a folder as the user's
project would be before the assistant starts (overlay files, shipped
database files), optionally committed to a fresh git repository so that
"new" has a base: the shipped state is the commit on `main`, the assistant
works on the branch `eval`.

Fixtures are read-only sources; nothing here writes into the repository.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Iterable, List, Optional

from . import migfiles
from .spec import Database, Fixture, Scenario

BASE_BRANCH = "main"
WORK_BRANCH = "eval"
# Files the stand-in run and the runner add to a workdir that are not the
# assistant's work.
RUNNER_FILES = frozenset({"transcript.txt"})
_IGNORE = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", "*.db-wal", "*.db-shm")


def copy_tree(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, ignore=_IGNORE, dirs_exist_ok=True, symlinks=True)


def create_version_table(conn: sqlite3.Connection, table: str) -> None:
    # The DDL golang-migrate's sqlite3 and sqlite drivers run (v4.19.1, ensureVersionTable).
    conn.executescript(
        f'CREATE TABLE IF NOT EXISTS "{table}" (version uint64,dirty bool);\n'
        f'CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON "{table}" (version);')


def set_version(conn: sqlite3.Connection, table: str, version: int, dirty: bool) -> None:
    """What golang-migrate's SetVersion (and so `migrate force`) writes."""
    conn.execute(f'DELETE FROM "{table}"')
    if version >= 0 or dirty:
        conn.execute(f'INSERT INTO "{table}" (version, dirty) VALUES (?, ?)', (version, 1 if dirty else 0))
    conn.commit()


def apply_ups(conn: sqlite3.Connection, folder: Path, up_to: int) -> List[int]:
    """Run the up files of `folder` with versions <= up_to, in golang-migrate's
    order, the way a database that ran them holds them."""
    applied = []
    for m in migfiles.sql_migrations(folder):
        if m.direction == "up" and m.version <= up_to:
            conn.executescript((folder / m.name).read_text(encoding="utf-8"))
            applied.append(m.version)
    return applied


def build_database(path: Path, folder: Path, table: str, up_to: int, seed: Iterable[str],
                   version: Optional[int] = None, dirty: bool = False) -> None:
    """A database file at a shipped version, with the seed rows the scenario's
    users created, and the migrations table row golang-migrate would hold."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        applied = apply_ups(conn, folder, up_to)
        for statement in seed:
            conn.executescript(statement)
        create_version_table(conn, table)
        conn.isolation_level = ""
        set_version(conn, table, version if version is not None else max(applied, default=-1), dirty)
    finally:
        conn.close()


def materialize(fixture: Fixture, dest: Path) -> Path:
    """The fixture as the user's project holds it before the assistant runs."""
    copy_tree(fixture.path, dest)
    if fixture.overlay is not None:
        copy_tree(fixture.overlay, dest)
    for db in fixture.databases:
        _build_shipped_database(fixture, dest, db)
    return dest


def _build_shipped_database(fixture: Fixture, dest: Path, db: Database) -> None:
    build_database(dest / db.path, dest / fixture.migrations, fixture.migrations_table, db.up_to, db.seed,
                   version=db.version, dirty=db.dirty)


def _git(cwd: Path, *args: str) -> None:
    env = dict(os.environ)
    env.update({"GIT_AUTHOR_NAME": "eval", "GIT_AUTHOR_EMAIL": "eval@example.invalid",
                "GIT_COMMITTER_NAME": "eval", "GIT_COMMITTER_EMAIL": "eval@example.invalid",
                "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull})
    subprocess.run(["git", *args], cwd=str(cwd), env=env, check=True, capture_output=True, text=True, timeout=60)


def git_init(workdir: Path) -> None:
    """Commit the shipped state on `main`, then work on branch `eval`: the
    merge base with main is the shipped state whatever the assistant commits."""
    _git(workdir, "init", "-q", "-b", BASE_BRANCH)
    _git(workdir, "add", "-A")
    _git(workdir, "commit", "-q", "--no-gpg-sign", "-m", "the project as shipped")
    _git(workdir, "checkout", "-q", "-b", WORK_BRANCH)


def prepare_workdir(scenario: Scenario, dest: Path, git: bool = True) -> Path:
    materialize(scenario.fixture, dest)
    if git:
        git_init(dest)
    return dest


def tree_files(root: Path) -> List[str]:
    """Every file under root (relative, '/'-separated), .git excluded."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for f in filenames:
            out.append(Path(dirpath, f).relative_to(root).as_posix())
    return sorted(out)
