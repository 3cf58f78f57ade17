"""SQL functions the app registers: stand-ins on every scratch database, and
--sql-function NAME=EXPR on every script that executes SQL."""

from __future__ import annotations

import sqlite3

import pytest

from mwcore.errors import UsageError
from mwcore.sqlfuncs import SqlFunction, calls, parse_declaration, register

from conftest import ROOT, run_cli, run_json, write_files

APP_FUNCTION = ROOT / "tests" / "fixtures" / "projects" / "app_function"

SLUG = {
    "1_post.up.sql": "CREATE TABLE post (id INTEGER PRIMARY KEY, title TEXT NOT NULL);\n"
                     "INSERT INTO post (title) VALUES ('Hello World'), ('Second Post');\n",
    "1_post.down.sql": "DROP TABLE post;\n",
    "2_slug.up.sql": "ALTER TABLE post ADD COLUMN slug TEXT;\nUPDATE post SET slug = slugify(title) WHERE slug IS NULL;\n",
    "2_slug.down.sql": "ALTER TABLE post DROP COLUMN slug;\n",
}


def test_the_default_stand_in_returns_its_first_argument_or_null():
    conn = sqlite3.connect(":memory:")
    register(conn, [SqlFunction("slugify", 1), SqlFunction("now_ms", 0), SqlFunction("pick", None)])
    assert conn.execute("SELECT slugify('A B'), now_ms(), pick(3, 4, 5)").fetchone() == ("A B", None, 3)
    # The arity the app registers holds here too.
    with pytest.raises(sqlite3.OperationalError, match="wrong number of arguments"):
        conn.execute("SELECT slugify('a', 'b')")
    # Deterministic, so it may appear where SQLite demands that (an index expression).
    conn.execute("CREATE TABLE t(x TEXT)")
    conn.execute("CREATE INDEX t_slug ON t(slugify(x))")


def test_a_declared_stand_in_evaluates_its_expression_over_the_arguments():
    function = parse_declaration("slugify=lower(replace(?1, ' ', '-'))")
    conn = sqlite3.connect(":memory:")
    register(conn, [function])
    assert conn.execute("SELECT slugify('Hello World')").fetchone() == ("hello-world",)
    assert function.stand_in() == "lower(replace(?1, ' ', '-'))" and function.evidence == "declared with --sql-function"


@pytest.mark.parametrize("text,message", [
    ("slugify", "is not NAME=EXPR"),
    ("1x=?1", "is not NAME=EXPR"),
    ("slugify=lower(", "is not an SQL expression SQLite accepts"),
    ("slugify=:name", r"use \?1\.\.\?n"),
])
def test_bad_declarations_are_usage_errors(text, message):
    with pytest.raises(UsageError, match=message):
        parse_declaration(text)


def test_calls_finds_function_calls_not_words():
    sql = "-- slugify(x) in a comment\nUPDATE post SET slug = SLUGIFY(title), note = 'slugify(' WHERE id > 0;"
    assert calls(sql, ["slugify", "other"]) == ["slugify"]
    assert calls("SELECT slugify FROM t;", ["slugify"]) == []


def test_verify_names_a_missing_function_and_how_to_declare_it(tmp_path):
    folder = write_files(tmp_path / "m", SLUG)
    rc, out = run_json("verify_migrations.py", "--dir", str(folder), "--foreign-keys", "off")
    assert rc == 1
    assert "no such function: slugify" in out["steps"][1]["error"]
    assert "--sql-function 'slugify=EXPR'" in out["steps"][1]["error"]


def test_verify_runs_a_declared_stand_in_and_says_whose_data_is_unchecked(tmp_path):
    folder = write_files(tmp_path / "m", SLUG)
    rc, out = run_json("verify_migrations.py", "--dir", str(folder), "--foreign-keys", "off",
                       "--sql-function", "slugify=lower(?1)")
    assert rc == 0 and out["stand_ins"] == {"2": ["slugify"]}
    assert any("version 2 calls SQL functions the app registers" in n and "slugify() as lower(?1)" in n
               for n in out["notes"])
    assert out["project"]["sql_functions"][0]["stand_in"] == "lower(?1)"


def test_every_script_that_runs_sql_accepts_the_declaration(tmp_path):
    folder = write_files(tmp_path / "m", SLUG)
    for script, extra in (("validate_pairs.py", []), ("verify_migrations.py", []), ("make_test_stub.py", ["--dry-run"]),
                          ("rebuild_table.py", ["post", "--not-null", "slug", "--fill", "slug", "''"]),
                          ("status.py", [])):
        proc = run_cli(script, "--dir", str(folder), "--sql-function", "slugify=lower(?1)", *extra)
        assert "no such function" not in proc.stdout + proc.stderr, script
        assert proc.returncode in (0, 1), (script, proc.stderr)
        assert "--sql-function" in run_cli(script, "--help").stdout, script


def test_the_fixture_apps_function_runs_as_a_stand_in_everywhere():
    rc, out = run_json("verify_migrations.py", "--all", cwd=APP_FUNCTION)
    assert rc == 0 and out["stand_ins"] == {"000003": ["slugify"]}
    step = out["steps"][2]
    assert any("stand-in for slugify()" in n and "unchecked" in n for n in step["notes"])
    rc, out = run_json("validate_pairs.py", "--all", cwd=APP_FUNCTION)
    # MW507 warns that the new UNIQUE index meets duplicate slugs on real rows (a true warning here).
    assert rc == 0 and [f["code"] for f in out["findings"]] == ["MW507"]
