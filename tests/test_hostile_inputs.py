"""Hostile inputs: names, links, signals and closed streams a contributor or a
damaged checkout can bring. Each case was reproduced against the scripts
first; each test fails without its fix."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from conftest import run_cli, run_json, write_files
from mwcore.rebuild import Changes, RebuildRefused, SqlStep, comment_line, plan_rebuild
from mwcore.rebuild_proof import prove
from mwcore.sqltext import split_statements
from rebuild_cases import SHOP, USER, database

# -- rebuild_table.py: names from the schema in generated comments -------------

EVIL_COLUMN = "c\nDELETE FROM library; --"

EVIL_SCHEMA = (
    "CREATE TABLE library (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
    'CREATE TABLE item (id INTEGER PRIMARY KEY, "c\nDELETE FROM library; --" TEXT, x TEXT);\n'
)


def evil_folder(tmp_path: Path) -> Path:
    return write_files(tmp_path / "m", {
        "000001_init.up.sql": EVIL_SCHEMA,
        "000001_init.down.sql": "DROP TABLE item;\nDROP TABLE library;\n",
    })


def apply_file(conn: sqlite3.Connection, path: Path) -> None:
    """As golang-migrate's sqlite3 driver runs a file: one transaction."""
    conn.executescript("BEGIN;\n" + path.read_text(encoding="utf-8") + "\nCOMMIT;")


def test_a_column_name_holding_a_newline_rebuilds_and_every_row_stays(tmp_path):
    folder = evil_folder(tmp_path)

    rc, out = run_json("rebuild_table.py", "item", "--dir", str(folder), "--not-null", EVIL_COLUMN,
                       "--fill", EVIL_COLUMN, "'v'", "--create", "require_c")

    assert rc == 0, out
    up, down = (folder / "000002_require_c.up.sql"), (folder / "000002_require_c.down.sql")
    for path in (up, down):
        keywords = [s.keyword for s in split_statements(path.read_text(encoding="utf-8"))]
        assert "DELETE" not in keywords, path.read_text()
    assert '"c\\nDELETE FROM library; --" becomes NOT NULL' in up.read_text()
    conn = sqlite3.connect(":memory:", isolation_level=None)
    apply_file(conn, folder / "000001_init.up.sql")
    conn.executescript("INSERT INTO library VALUES (1, 'films'), (2, 'shows');"
                       "INSERT INTO item VALUES (1, 'a', 'x'), (2, NULL, 'y');")
    apply_file(conn, up)
    assert conn.execute("SELECT * FROM library ORDER BY id").fetchall() == [(1, "films"), (2, "shows")]
    assert conn.execute("SELECT * FROM item ORDER BY id").fetchall() == [(1, "a", "x"), (2, "v", "y")]
    assert [r[3] for r in conn.execute("PRAGMA table_info(item)")] == [0, 1, 0]
    apply_file(conn, down)
    assert conn.execute("SELECT count(*) FROM library").fetchone() == (2,)
    assert [r[3] for r in conn.execute("PRAGMA table_info(item)")] == [0, 0, 0]


@pytest.mark.parametrize("text,expected", [
    ("plain words", "plain words"),
    ('"c\nDELETE FROM t; --"', '"c\\nDELETE FROM t; --"'),
    ("a\rb\x0bc\x0cd\x85e\u2028f\u2029g\x00h", "a\\rb\\x0bc\\x0cd\\x85e\\u2028f\\u2029g\\x00h"),
    ("tab\tstays", "tab\tstays"),
])
def test_comment_lines_carry_no_line_break_of_any_kind(text, expected):
    assert comment_line(text) == expected


def test_rendering_refuses_a_file_whose_text_would_hold_other_statements_than_planned():
    base = database("CREATE TABLE k (id INTEGER PRIMARY KEY, v TEXT NOT NULL);")
    plan = plan_rebuild(base, "k", Changes(nullable=("v",)), fk_mode="off")
    smuggled = dataclasses.replace(plan, up=plan.up + [SqlStep("SELECT 1; DELETE FROM k;")])

    with pytest.raises(RebuildRefused, match="planned statements"):
        smuggled.render("up")
    assert plan.render("up")


@pytest.mark.parametrize("direction,check", [("up", "rows_kept"), ("down", "down_rows_kept")])
def test_the_proof_fails_when_a_file_empties_a_table_the_change_does_not_touch(direction, check):
    # No rows in the base: the proof itself must put rows in audit to see them go.
    base = database(SHOP)
    plan = plan_rebuild(base, USER, Changes(nullable=("score",)), fk_mode="off")
    broken = dataclasses.replace(plan, **{direction: list(getattr(plan, direction)) + [SqlStep("DELETE FROM audit;")]})

    proof = prove(base, broken)

    assert proof.checks[check] == "failed", proof.failures
    assert any("rows of audit (which the change does not touch)" in f for f in proof.failures)
    assert len([f for f in proof.failures if "audit" in f]) == 1  # said once, not after every file


@pytest.mark.go
def test_real_golang_migrate_applies_the_rebuild_of_a_column_named_with_a_newline(go_tools, tmp_path):
    folder = evil_folder(tmp_path)
    write_files(folder, {"000002_rows.up.sql": "INSERT INTO library VALUES (1, 'films');\nINSERT INTO item VALUES (1, NULL, 'x');\n"})
    rc, out = run_json("rebuild_table.py", "item", "--dir", str(folder), "--not-null", EVIL_COLUMN,
                       "--fill", EVIL_COLUMN, "'v'", "--create", "require_c")
    assert rc == 0, out
    db = tmp_path / "app.db"

    for ops in (["up"], ["steps:-1"], ["up"]):
        assert all(r["error"] is None for r in go_tools.run_harness(folder, db, ops)), ops

    conn = sqlite3.connect(str(db))
    assert conn.execute("SELECT * FROM library").fetchall() == [(1, "films")]
    assert conn.execute("SELECT * FROM item").fetchall() == [(1, "v", "x")]


# -- autodetection never leads out of the project --------------------------------


@pytest.mark.parametrize("pattern,valid", [
    ("migrations/*.sql", True), ("all:migrations", True), ("db/sqlite/*.sql", True),
    ("../migrations/*.sql", False), ("../../elsewhere/*.sql", False), ("db/../../x/*.sql", False),
    ("/etc/*.sql", False), ("./migrations/*.sql", False), ("migrations//*.sql", False), ("migrations/", False), (".", False),
])
def test_embed_patterns_are_valid_exactly_when_go_build_accepts_them(pattern, valid):
    from mwcore.project import valid_embed_pattern

    assert valid_embed_pattern(pattern.removeprefix("all:")) is valid


def embedding_project(tmp_path: Path, pattern: str) -> Path:
    repo = tmp_path / "repo"
    write_files(repo, {"go.mod": "module x\n\ngo 1.22\n"})
    write_files(repo / "a" / "b", {"m.go": f'package b\n\nimport "embed"\n\n//go:embed {pattern}\nvar fs embed.FS\n'})
    return repo


def outside_folder(tmp_path: Path) -> Path:
    return write_files(tmp_path / "elsewhere", {"1_a.up.sql": "CREATE TABLE t (x);\n", "1_a.down.sql": "DROP TABLE t;\n"})


def tree(path: Path) -> dict:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("pattern", ["../../../elsewhere/*.sql", "{outside}/*.sql"])
def test_an_embed_pattern_go_build_rejects_is_not_followed_out_of_the_repository(tmp_path, pattern):
    outside = outside_folder(tmp_path)
    repo = embedding_project(tmp_path, pattern.format(outside=outside))
    before = tree(tmp_path)

    create = run_cli("next_version.py", "--create", "foo", cwd=repo)
    stub = run_cli("make_test_stub.py", cwd=repo)

    for proc in (create, stub):
        assert proc.returncode == 2 and "no migrations folder found" in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert tree(tmp_path) == before


def test_an_embed_pattern_go_build_rejects_loses_to_the_folder_that_holds_migrations(tmp_path):
    outside = outside_folder(tmp_path)
    repo = embedding_project(tmp_path, "../../../elsewhere/*.sql")
    write_files(repo / "db", {"1_a.up.sql": "CREATE TABLE t (x);\n"})

    rc, out = run_json("next_version.py", "--create", "foo", cwd=repo)

    assert rc == 0 and out["dir"] == "db", out
    assert sorted(p.name for p in outside.iterdir()) == ["1_a.down.sql", "1_a.up.sql"]


def test_a_detected_folder_that_resolves_outside_the_repository_is_refused_unless_named(tmp_path):
    outside = outside_folder(tmp_path)
    repo = embedding_project(tmp_path, "db/*.sql")
    (repo / "a" / "b" / "db").symlink_to(outside, target_is_directory=True)
    before = tree(outside)

    proc = run_cli("next_version.py", "--create", "foo", cwd=repo)

    assert proc.returncode == 2 and "resolves outside" in proc.stderr and "--dir" in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1
    assert tree(outside) == before
    named = run_cli("next_version.py", "--create", "foo", "--dir", str(outside), cwd=repo)
    assert named.returncode == 0 and (outside / "2_foo.up.sql").exists(), named.stderr


def test_make_test_stub_writes_no_test_file_outside_the_project_unless_named(tmp_path):
    folder = outside_folder(tmp_path)  # no go.mod anywhere: the project is the folder it runs in
    before = tree(tmp_path)

    proc = run_cli("make_test_stub.py", cwd=folder)

    assert proc.returncode == 2 and "--test-file" in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert tree(tmp_path) == before
    named = run_cli("make_test_stub.py", "--test-file", str(tmp_path / "migrate_test.go"), cwd=folder)
    assert named.returncode != 2, named.stderr  # 1: no go.mod requires golang-migrate, said as a problem
    assert (tmp_path / "migrate_test.go").exists()
