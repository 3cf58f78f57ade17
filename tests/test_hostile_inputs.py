"""Hostile inputs: names, links, signals and closed streams a contributor or a
damaged checkout can bring. Each case was reproduced against the scripts
first; each test fails without its fix."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from conftest import run_json, write_files
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
