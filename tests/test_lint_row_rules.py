"""The rules about what rows do (MW306, MW307, MW506, MW507), proven on real
SQLite: each catalogue example (references/rules.md) passes on the empty
database the linter and a test suite see, fails once its tables hold rows
like a user's, and its "Use instead" runs on those same rows. The `go` tests
show the same under golang-migrate with mattn's SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from mwcore.lint.rules_safety import duplicates_query
from mwcore.engine import run_script
from mwcore.engine import scratch as connect

from lintkit import catalogue, lint, parse_example, write_example

ENTRIES = catalogue()

# code -> (rows a user's database holds after version 1, a statement the app
# runs after version 2 (None: none needed), the error SQLite gives)
ROWS = {
    "MW306": (["INSERT INTO account (id, name) VALUES (1, 'ann')"],
              "INSERT INTO login (account_id, at) VALUES (1, '2024-05-01')", "no such column: last_login"),
    "MW307": (["INSERT INTO account (id, email) VALUES (1, 'a@example.com'), (2, NULL)"], None,
              "NOT NULL constraint failed: account_new.email"),
    "MW506": (["INSERT INTO account (id, name) VALUES (1, 'ann')"], None, "cannot add a STORED column"),
    "MW507": (["INSERT INTO account (id, email) VALUES (1, 'a@example.com'), (2, 'a@example.com'), (3, NULL), (4, NULL)"],
              None, "UNIQUE constraint failed: account.email"),
}
CODES = sorted(ROWS)


def files_of(code: str, section: str) -> Dict[str, str]:
    return {name: data.decode() for name, data in parse_example(ENTRIES[code].sql(section)).files.items()}


def by_version(files: Dict[str, str], direction: str) -> List[str]:
    return [files[n] for n in sorted(files) if n.endswith(f".{direction}.sql")]


def apply(files: Dict[str, str], rows: List[str], app: Optional[str]) -> Optional[str]:
    """Up 1, the user's rows, up 2 (in a transaction, as golang-migrate's
    driver runs a file), then what the app does. The first error, or None."""
    conn = connect()
    ups = by_version(files, "up")
    assert run_script(conn, ups[0]).ok
    for sql in rows:
        conn.execute(sql)
    result = run_script(conn, ups[1])
    if not result.ok:
        return result.error
    if app is not None:
        try:
            conn.execute(app)
        except sqlite3.Error as exc:
            return str(exc)
    return None


@pytest.mark.parametrize("code", CODES)
def test_the_example_works_on_an_empty_database_and_fails_on_rows(code):
    rows, app, error = ROWS[code]
    files = files_of(code, "Example")
    # What a test of the migration on an empty database sees. (MW306's trigger
    # fails at its first firing whatever the rows: the migration itself runs.)
    assert apply(files, [], app if code != "MW306" else None) is None
    assert error in (apply(files, rows, app) or "")


@pytest.mark.parametrize("code", CODES)
def test_the_fixed_example_works_on_the_same_rows(code):
    rows, app, _error = ROWS[code]
    assert apply(files_of(code, "Use instead"), rows, app) is None


@pytest.mark.parametrize("code", CODES)
def test_the_rule_points_at_the_statement_that_fails(tmp_path, code):
    example = parse_example(ENTRIES[code].sql("Example"))
    result = lint(write_example(tmp_path / "m", example))
    (finding,) = [f for f in result.findings if f.code == code]
    up2 = by_version(files_of(code, "Example"), "up")[1]
    first_line = {"MW307": "INSERT INTO account_new"}.get(code, up2.splitlines()[0])
    assert up2.splitlines()[finding.line - 1].startswith(first_line)
    assert finding.severity == ENTRIES[code].severity


def test_the_duplicates_query_lists_exactly_the_rows_the_unique_index_refuses():
    rows, _app, _error = ROWS["MW507"]
    conn = connect()
    run_script(conn, by_version(files_of("MW507", "Example"), "up")[0])
    for sql in rows:
        conn.execute(sql)
    query = duplicates_query("CREATE UNIQUE INDEX idx_account_email ON account (email)", "account")
    assert conn.execute(query).fetchall() == [("a@example.com", 2)]  # the two NULLs do not clash
    conn.execute("DELETE FROM account WHERE id = 2")
    assert conn.execute(query).fetchall() == []
    conn.execute("CREATE UNIQUE INDEX idx_account_email ON account (email)")


@pytest.mark.parametrize("index,duplicate,distinct", [
    ("CREATE UNIQUE INDEX i ON account (email COLLATE NOCASE DESC)", ("A@x", "a@x"), ("a@x", "b@x")),
    ("CREATE UNIQUE INDEX i ON account (lower(email), plan) WHERE plan <> 'free'", (("A@x", "pro"), ("a@x", "pro")),
     (("a@x", "free"), ("a@x", "free"))),
])
def test_the_duplicates_query_follows_collation_expressions_and_partial_where(index, duplicate, distinct):
    for pair, clashes in ((duplicate, True), (distinct, False)):
        conn = connect()
        conn.execute("CREATE TABLE account (id INTEGER PRIMARY KEY, email TEXT, plan TEXT)")
        for value in pair:
            email, plan = value if isinstance(value, tuple) else (value, "pro")
            conn.execute("INSERT INTO account (email, plan) VALUES (?, ?)", (email, plan))
        found = conn.execute(duplicates_query(index, "account")).fetchall()
        try:
            conn.execute(index)
            refused = False
        except sqlite3.IntegrityError:
            refused = True
        assert (bool(found), refused) == (clashes, clashes)


def test_a_trigger_that_reads_the_column_is_sqlites_own_refusal_not_mw306(tmp_path):
    files = files_of("MW306", "Example")
    files["000001_init.up.sql"] = files["000001_init.up.sql"].replace(
        "WHERE id = NEW.account_id", "WHERE id = NEW.account_id AND last_login IS NOT NULL")
    result = lint(write_example(tmp_path / "m", parse_example(
        "".join(f"-- file: {name}\n{text}" for name, text in files.items()))))
    assert "MW303" in [f.code for f in result.findings] and "MW306" not in [f.code for f in result.findings]


# -- the same under golang-migrate --------------------------------------------------


@pytest.mark.go
@pytest.mark.parametrize("code", CODES)
def test_golang_migrate_fails_on_rows_where_the_rule_says(go_tools, tmp_path, code):
    rows, app, error = ROWS[code]
    for section, fails in (("Example", True), ("Use instead", False)):
        files = files_of(code, section)
        if app is not None:
            files["000003_app.up.sql"] = app + ";\n"
        folder = tmp_path / section.replace(" ", "_")
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text)
        db = tmp_path / f"{section.replace(' ', '_')}.db"
        assert go_tools.run_harness(folder, db, ["steps:1"])[-1]["error"] is None
        with sqlite3.connect(db) as conn:
            for sql in rows:
                conn.execute(sql)
        result = go_tools.run_harness(folder, db, ["up"])[-1]
        if fails:
            assert error in (result["error"] or ""), result
            assert result["dirty"] is True
        else:
            assert result["error"] is None, result


def test_a_down_that_makes_a_column_not_null_again_is_a_warning_and_down_fill_clears_it(tmp_path):
    """Undoing "make nullable" tightens the column back: the down fails on
    rows that got a NULL after the up. That is a choice (no value invented),
    so a warning; --down-fill writes the COALESCE and clears it."""
    from conftest import run_cli

    def generated(folder: Path, *extra: str) -> Dict[str, str]:
        (folder / "000001_init.up.sql").parent.mkdir(parents=True, exist_ok=True)
        (folder / "000001_init.up.sql").write_text("CREATE TABLE account (id INTEGER PRIMARY KEY, email TEXT NOT NULL);")
        (folder / "000001_init.down.sql").write_text("DROP TABLE account;")
        proc = run_cli("rebuild_table.py", "--dir", str(folder), "account", "--nullable", "email", "--foreign-keys", "off",
                       *extra, "--create", "relax_email")
        assert proc.returncode == 0, proc.stderr
        return {p.name: p.read_text() for p in folder.iterdir()}

    plain = tmp_path / "plain"
    generated(plain)
    findings = [f for f in lint(plain).findings if f.code == "MW307"]
    assert [(f.severity, f.file.endswith(".down.sql")) for f in findings] == [("warning", True)]
    assert "--down-fill email" in findings[0].hint

    # The warning is true: rows that got a NULL after the up stop the down.
    conn = connect()
    for name in ("000001_init.up.sql", "000002_relax_email.up.sql"):
        assert run_script(conn, (plain / name).read_text()).ok
    conn.execute("INSERT INTO account (id, email) VALUES (1, NULL)")
    down = run_script(conn, (plain / "000002_relax_email.down.sql").read_text())
    assert not down.ok and "NOT NULL constraint failed" in down.error

    filled = tmp_path / "filled"
    generated(filled, "--down-fill", "email", "'unknown'")
    assert not [f for f in lint(filled).findings if f.code == "MW307"]
