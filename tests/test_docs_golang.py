"""What references/ says about golang-migrate and its CLI, run against the
real thing (v4.19.1 with mattn/go-sqlite3, built once per session by the
`go_tools` fixture): the examples are read from the docs where they are
examples there.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import write_files
from lintkit import catalogue, parse_example, write_example

pytestmark = pytest.mark.go


def _tables(db: Path) -> set:
    with sqlite3.connect(str(db)) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _cli(go_tools, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(go_tools.migrate), *args], capture_output=True, text=True, timeout=120)


# rules.md MW005: mixed padding and `migrate create -seq` ---------------------------


def test_mw005_example_stops_migrate_create_on_a_duplicate_version(go_tools, tmp_path):
    folder = write_example(tmp_path / "bad", parse_example(catalogue()["MW005"].sql("Example")))
    proc = go_tools.migrate_create(folder, "next")
    assert proc.returncode != 0
    assert "duplicate migration version: 000010" in proc.stderr


def test_mw005_fixed_example_gets_the_next_version(go_tools, tmp_path):
    folder = write_example(tmp_path / "good", parse_example(catalogue()["MW005"].sql("Use instead")))
    assert go_tools.migrate_create(folder, "next").returncode == 0
    assert (folder / "000011_next.up.sql").is_file()


def test_not_every_padding_mix_breaks_migrate_create(go_tools, tmp_path):
    folder = write_files(tmp_path / "m", {"000001_a.up.sql": "", "000001_a.down.sql": "",
                                         "0002_b.up.sql": "", "0002_b.down.sql": ""})
    assert go_tools.migrate_create(folder, "next").returncode == 0
    assert (folder / "000003_next.up.sql").is_file()


# rules.md MW011: symbolic links that point at nothing, or at a folder --------------


def test_mw011_broken_link_runs_as_an_empty_migration_recorded_clean(go_tools, tmp_path):
    folder = write_example(tmp_path / "bad", parse_example(catalogue()["MW011"].sql("Example")))
    assert (folder / "000002_add_email.up.sql").is_symlink()
    db = tmp_path / "app.db"
    proc = _cli(go_tools, "-path", str(folder), "-database", f"sqlite3://{db}", "up")
    assert proc.returncode == 0 and "2/u <empty>" in proc.stderr, proc.stderr
    with sqlite3.connect(str(db)) as conn:
        assert conn.execute("SELECT version, dirty FROM schema_migrations").fetchall() == [(2, 0)]
        assert "email" not in {c[1] for c in conn.execute("PRAGMA table_info(account)")}


def test_link_to_a_folder_logs_it_and_is_still_recorded_clean(go_tools, tmp_path):
    folder = write_files(tmp_path / "m", {"1_a.up.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);",
                                         "1_a.down.sql": "DROP TABLE a;"})
    (tmp_path / "elsewhere.up.sql").mkdir()
    (folder / "2_b.up.sql").symlink_to(tmp_path / "elsewhere.up.sql")
    db = tmp_path / "app.db"
    proc = _cli(go_tools, "-path", str(folder), "-database", f"sqlite3://{db}", "up")
    assert proc.returncode == 0 and "is a directory" in proc.stderr, proc.stderr
    (state,) = go_tools.run_harness(folder, db, ["version"])
    assert (state["error"], state["version"], state["dirty"]) == (None, 2, False)


# troubleshooting.md: what the error of a failed run quotes ------------------------

INIT = {
    "1_init.up.sql": "CREATE TABLE movie (id INTEGER PRIMARY KEY);\n"
                     "CREATE TABLE movie_file (id INTEGER PRIMARY KEY, movie_id INTEGER REFERENCES movie (id));",
    "1_init.down.sql": "DROP TABLE movie_file;\nDROP TABLE movie;",
}


def test_a_failing_statement_quotes_the_whole_file_and_rolls_it_back(go_tools, tmp_path):
    up = "CREATE TABLE rating (id INTEGER PRIMARY KEY);\nINSERT INTO nope VALUES (1);"
    folder = write_files(tmp_path / "m", {**INIT, "2_rating.up.sql": up, "2_rating.down.sql": "DROP TABLE rating;"})
    (result,) = go_tools.run_harness(folder, tmp_path / "app.db", ["up"])
    assert result["error"] == f"no such table: nope in line 0: {up}"
    assert (result["version"], result["dirty"]) == (2, True) and "rating" not in _tables(tmp_path / "app.db")


def test_a_deferred_foreign_key_fails_at_commit_without_quoting_the_file(go_tools, tmp_path):
    up = "PRAGMA defer_foreign_keys = ON;\nCREATE TABLE rating (id INTEGER PRIMARY KEY);\n" \
         "INSERT INTO movie_file (movie_id) VALUES (42);"
    folder = write_files(tmp_path / "m", {**INIT, "2_rating.up.sql": up, "2_rating.down.sql": "DROP TABLE rating;"})
    (result,) = go_tools.run_harness(folder, tmp_path / "app.db", ["up"], fk=True)
    assert result["error"] == "transaction commit failed in line 0:  (details: FOREIGN KEY constraint failed)"
    assert (result["version"], result["dirty"]) == (2, True) and "rating" not in _tables(tmp_path / "app.db")


def test_a_lone_commit_fails_at_commit_with_its_work_committed(go_tools, tmp_path):
    # The statement after the COMMIT runs outside any transaction and stays too.
    up = "CREATE TABLE rating (id INTEGER PRIMARY KEY);\nCOMMIT;\nCREATE TABLE rating_note (id INTEGER PRIMARY KEY);"
    folder = write_files(tmp_path / "m", {**INIT, "2_rating.up.sql": up, "2_rating.down.sql": "DROP TABLE rating;"})
    db = tmp_path / "app.db"
    (result,) = go_tools.run_harness(folder, db, ["up"])
    assert result["error"] == "transaction commit failed in line 0:  (details: cannot commit - no transaction is active)"
    assert (result["version"], result["dirty"]) == (2, True) and {"rating", "rating_note"} <= _tables(db)
    # The rolled-back advice (force the previous version, up again) fails here.
    retry = go_tools.run_harness(folder, db, ["force:1", "up"])
    assert retry[1]["error"].startswith("table rating already exists") and retry[1]["dirty"]


# troubleshooting.md / verification.md: forcing "no version" from the CLI ------------


def test_force_minus_one_needs_the_double_dash(go_tools, tmp_path):
    folder = write_files(tmp_path / "m", {"1_a.up.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);\nSELECT * FROM nope;",
                                         "1_a.down.sql": "DROP TABLE a;"})
    db = tmp_path / "app.db"
    assert go_tools.run_harness(folder, db, ["up"])[0]["dirty"]
    base = ["-path", str(folder), "-database", f"sqlite3://{db}"]
    bare = _cli(go_tools, *base, "force", "-1")
    assert bare.returncode == 2 and "flag provided but not defined: -1" in bare.stderr
    assert _cli(go_tools, *base, "force", "--", "-1").returncode == 0
    with sqlite3.connect(str(db)) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (0,)
