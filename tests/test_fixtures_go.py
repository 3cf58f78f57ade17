"""Real golang-migrate proves the foreign-key facts of the fixture modules.

Each fixture's own Go program (mattn/go-sqlite3 or modernc.org/sqlite, as the
fixture uses) migrates a database with a table rebuild that rebuild_table.py
generated for it from the facts it read: the author table is rebuilt while
book rows reference it with ON DELETE CASCADE. The books must survive. And
the SQL written for enforcement OFF is run the same way: it loses the books
exactly where the fixture's facts say foreign keys are ON while migrating,
which shows that the fact is what golang-migrate really does, not a guess.
Builds run offline (GOPROXY=off, -mod=readonly): the fixtures' go.sum pins
are enough once `go mod download` has run (as .ci/run does).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, run_json

pytestmark = [pytest.mark.go, pytest.mark.slow]

FIXTURES = ROOT / "tests" / "fixtures" / "projects"
# fixture: foreign keys while migrating, as the reader must find them
FOREIGN_KEY_FIXTURES = {
    "mattn_fk_dsn": "on",
    "modernc_pragma_url": "on",
    "modernc_pragma_slice": "on",
    "mattn_fk_app_only": "off",
    "pragma_after_up": "off",
}
SEEDED_BOOKS = 3


def _go_env(modernc: bool) -> dict:
    env = dict(os.environ, GOPROXY="off", GOFLAGS="-mod=readonly")
    # modernc needs no cgo: prove it by building without.
    env["CGO_ENABLED"] = "0" if modernc else "1"
    return env


@pytest.fixture(scope="module")
def go() -> str:
    found = shutil.which("go")
    if found is None:
        pytest.skip("Go is not installed; .ci/run requires it")
    return found


def _app(go: str, tmp_path: Path, name: str, foreign_keys: str) -> Path:
    """A copy of fixture `name` with the rebuild generated for it (with
    `--foreign-keys foreign_keys`), built; returns the binary."""
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    code, out = run_json("rebuild_table.py", "author", "--nullable", "name", "--create", "relax_author_name",
                         "--foreign-keys", foreign_keys, cwd=root)
    assert code == 0, out
    assert [Path(p).name for p in out["created"]] == ["000003_relax_author_name.up.sql",
                                                      "000003_relax_author_name.down.sql"]
    binary = tmp_path / f"{name}-{foreign_keys}"
    modernc = "modernc.org/sqlite" in (root / "go.mod").read_text()
    proc = subprocess.run([go, "build", "-o", str(binary), "."], cwd=root, env=_go_env(modernc),
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return binary


def _books_after_migrating(binary: Path, db: Path) -> int:
    proc = subprocess.run([str(binary), "-db", str(db)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    conn = sqlite3.connect(str(db))
    try:
        version = conn.execute("SELECT version, dirty FROM schema_migrations").fetchone()
        nullable = [row for row in conn.execute("PRAGMA table_info(author)") if row[1] == "name"][0][3] == 0
        books = conn.execute("SELECT count(*) FROM book").fetchone()[0]
    finally:
        conn.close()
    assert version == (3, 0) and nullable  # the rebuild ran, and the app printed what it read
    assert proc.stdout.strip() == f"authors=2 books={books}"
    return books


@pytest.mark.parametrize("name", sorted(FOREIGN_KEY_FIXTURES))
def test_the_rebuild_written_from_the_facts_keeps_every_child_row(go, tmp_path, name):
    code, out = run_json("status.py", cwd=FIXTURES / name)
    assert code == 0 and out["project"]["foreign_keys"] == FOREIGN_KEY_FIXTURES[name]
    binary = _app(go, tmp_path, name, "auto")
    assert _books_after_migrating(binary, tmp_path / "app.db") == SEEDED_BOOKS


@pytest.mark.parametrize("name", sorted(n for n, fk in FOREIGN_KEY_FIXTURES.items() if fk == "on"))
def test_sql_written_for_enforcement_off_loses_the_children_where_the_facts_say_on(go, tmp_path, name):
    binary = _app(go, tmp_path, name, "off")
    # The DROP TABLE of the old author table cascades to book: golang-migrate
    # really runs this fixture's migrations with foreign keys on.
    assert _books_after_migrating(binary, tmp_path / "app.db") == 0


def test_every_fixture_vets_offline(go):
    """Each fixture is a complete module: `go vet ./...` passes with the pinned
    go.sum and no network (the evals reuse them)."""
    failures = []
    for root in sorted(p for p in FIXTURES.iterdir() if (p / "go.mod").exists()):
        modernc = "modernc.org/sqlite" in (root / "go.mod").read_text()
        proc = subprocess.run([go, "vet", "./..."], cwd=root, env=_go_env(modernc), capture_output=True, text=True,
                              timeout=900)
        if proc.returncode != 0:
            failures.append(f"{root.name}: {proc.stderr.strip()}")
    assert not failures, "\n".join(failures)


SQLITE_VERSION_MAIN = """// Command sqliteversion prints the SQLite version modernc.org/sqlite runs.
package main

import (
	"database/sql"
	"fmt"

	_ "modernc.org/sqlite"
)

func main() {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		panic(err)
	}
	var version string
	if err := db.QueryRow("SELECT sqlite_version()").Scan(&version); err != nil {
		panic(err)
	}
	fmt.Println(version)
}
"""


def test_the_modernc_sqlite_version_in_the_facts_is_the_one_the_driver_runs(go, tmp_path):
    root = tmp_path / "app"
    shutil.copytree(FIXTURES / "modernc_pragma_url", root)
    (root / "cmd" / "sqliteversion").mkdir(parents=True)
    (root / "cmd" / "sqliteversion" / "main.go").write_text(SQLITE_VERSION_MAIN)
    proc = subprocess.run([go, "run", "./cmd/sqliteversion"], cwd=root, env=_go_env(True), capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    code, out = run_json("status.py", cwd=FIXTURES / "modernc_pragma_url")
    assert out["project"]["app_sqlite"]["version"] == proc.stdout.strip()
