"""Shared fixtures: paths, running the scripts, and real golang-migrate.

`go_tools` builds, once per test session, the golang-migrate CLI (with the
sqlite3 driver) and tests/goharness (golang-migrate as a library) from the
versions pinned in tests/goharness/go.mod.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest
from hypothesis import settings

# Deterministic by default, so CI never goes red on a new random example; run
# `pytest --hypothesis-profile=explore` to search wider with fresh randomness.
settings.register_profile("default", derandomize=True, deadline=None)
settings.register_profile("explore", max_examples=500, deadline=None)
settings.load_profile("default")

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
EXAMPLES = ROOT / "examples"
EXAMPLE_MIGRATIONS = EXAMPLES / "pkg" / "storage" / "sqlite" / "migrations"
GOHARNESS = ROOT / "tests" / "goharness"

if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))


def run_cli(script: str, *args: str, cwd: Optional[Path] = None, env: Optional[Dict[str, str]] = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """Run scripts/<script> with this interpreter, as a user would."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, str(SCRIPTS / script), *args],
        cwd=str(cwd) if cwd else None,
        env=full_env,
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=timeout,
    )


def places(out: dict) -> List["tuple[str, int, int, str]"]:
    """validate_pairs.py --json findings (grouped) as (path, line, col, code),
    one per place, in output order."""
    found = []
    for group in out["findings"]:
        for place in group["places"]:
            path, line, col = place.rsplit(":", 2)
            found.append((path, int(line), int(col), group["code"]))
    return found


def run_json(script: str, *args: str, cwd: Optional[Path] = None) -> "tuple[int, dict]":
    proc = run_cli(script, *args, "--json", cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout.count("\n") == 1, f"--json must print one line, got: {proc.stdout!r} {proc.stderr!r}"
    return proc.returncode, json.loads(proc.stdout)


def write_files(folder: Path, files: Dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def generated_chain(versions: Sequence[int], kinds: Sequence[tuple]) -> Dict[str, str]:
    """Migration files for generated chains: one (up kind, down kind) per
    version, each kind a way a real file behaves (applies, fails, is empty,
    is missing, opens its own transaction, leaves an index or a table)."""
    files: Dict[str, str] = {}
    for version, (up, down) in zip(versions, kinds):
        table = f"t{version}"
        up_sql = {
            "create": f"CREATE TABLE {table}(x);",
            "fail": f"CREATE TABLE {table}(x);\nSELECT * FROM nope;",
            "empty": "",
            "begin": f"BEGIN;\nCREATE TABLE {table}(x);\nCOMMIT;",
            "index": f"CREATE TABLE {table}(x);\nCREATE INDEX i{version} ON {table}(x);",
        }
        down_sql = {
            "drop": f"DROP TABLE IF EXISTS {table};",
            "fail": "DROP TABLE nope;",
            "empty": "-- empty\n",
            "keep-index": f"CREATE TABLE IF NOT EXISTS keep{version}(x);",
        }
        if up != "missing":
            files[f"{version}_m.up.sql"] = up_sql[up]
        if down != "missing":
            files[f"{version}_m.down.sql"] = down_sql[down]
    return files


@dataclass
class GoTools:
    migrate: Path  # the golang-migrate CLI, built with -tags sqlite3
    harness: Path  # tests/goharness

    def run_harness(self, folder: Path, db: Path, ops: Sequence[str], *, no_tx_wrap: bool = False,
                    fk: bool = False) -> List[dict]:
        cmd = [str(self.harness), "-dir", str(folder), "-db", str(db)]
        if no_tx_wrap:
            cmd.append("-no-tx-wrap")
        if fk:
            cmd.append("-fk")
        proc = subprocess.run(cmd + list(ops), capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return [json.loads(line) for line in proc.stdout.splitlines()]

    def parse_names(self, names: Sequence[str]) -> List[Optional[dict]]:
        data = "".join(json.dumps(n) + "\n" for n in names)
        proc = subprocess.run([str(self.harness), "-parse"], input=data, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return [json.loads(line) for line in proc.stdout.splitlines()]

    def sqlite_version(self) -> str:
        """sqlite_version() as golang-migrate's sqlite3 driver (mattn) runs it."""
        proc = subprocess.run([str(self.harness), "-sqlite-version"], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    def migrate_create(self, folder: Path, name: str, digits: int = 6) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.migrate), "create", "-seq", "-digits", str(digits), "-dir", str(folder), "-ext", "sql", name],
            capture_output=True, text=True, timeout=120,
        )


@pytest.fixture(scope="session")
def go_tools(tmp_path_factory: pytest.TempPathFactory) -> GoTools:
    go = shutil.which("go")
    if go is None:
        pytest.skip("Go is not installed; .ci/run requires it")
    out = tmp_path_factory.mktemp("gobin")
    env = dict(os.environ, CGO_ENABLED="1")
    builds = [
        [go, "build", "-o", str(out / "goharness"), "."],
        [go, "build", "-tags", "sqlite3", "-o", str(out / "migrate"), "github.com/golang-migrate/migrate/v4/cmd/migrate"],
    ]
    for cmd in builds:
        proc = subprocess.run(cmd, cwd=GOHARNESS, env=env, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            pytest.fail(f"building {cmd[-1]} failed:\n{proc.stderr}")
    return GoTools(migrate=out / "migrate", harness=out / "goharness")


GO_STORE = '''package store

import (
	"database/sql"
	"embed"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database/sqlite3"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	_ "github.com/mattn/go-sqlite3"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Open opens the database and migrates it on the same connection.
func Open(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite3", %(dsn)s)
	if err != nil {
		return nil, err
	}
	src, err := iofs.New(migrationsFS, "migrations")
	if err != nil {
		return nil, err
	}
	drv, err := sqlite3.WithInstance(db, &sqlite3.Config{%(config)s})
	if err != nil {
		return nil, err
	}
	m, err := migrate.NewWithInstance("iofs", src, "sqlite3", drv)
	if err != nil {
		return nil, err
	}
	return db, m.Up()
}
'''

GO_STORE_URL = '''package store

import (
	"embed"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/sqlite3"
	"github.com/golang-migrate/migrate/v4/source/iofs"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrate migrates the database at path.
func Migrate(path string) error {
	src, err := iofs.New(migrationsFS, "migrations")
	if err != nil {
		return err
	}
	m, err := migrate.NewWithSourceInstance("iofs", src, %(url)s)
	if err != nil {
		return err
	}
	return m.Up()
}
'''


def go_app(root: Path, *, dsn: Optional[str] = None, url: Optional[str] = None, config: str = "") -> Path:
    """A Go module at `root` whose store.go migrates `root/migrations` the way
    apps do: sql.Open("sqlite3", path + DSN-suffix) handed to
    sqlite3.WithInstance(db, &sqlite3.Config{config}), or (with `url`) a
    sqlite3:// URL given to migrate.NewWithSourceInstance. `dsn`/`url` are Go
    expressions over `path` (e.g. 'path + "?_foreign_keys=1"'). Returns the
    migrations folder (created empty)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text("module example.com/app\n\ngo 1.24.0\n")
    if url is not None:
        (root / "store.go").write_text(GO_STORE_URL % {"url": url})
    else:
        (root / "store.go").write_text(GO_STORE % {"dsn": dsn or "path", "config": config})
    folder = root / "migrations"
    folder.mkdir(exist_ok=True)
    return folder
