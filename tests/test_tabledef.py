"""A stored CREATE TABLE cut into parts and put back together: SQLite must see
the same table (its PRAGMAs are the oracle), and an edit changes only what it
names."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mwcore.errors import UsageError
from mwcore.schema import snapshot
from mwcore.tabledef import (
    EditLog,
    TableDefError,
    check_expression,
    check_type,
    default_clause,
    parse_create_table,
    retarget_self_references,
    set_not_null,
)


def table_of(sql: str, name: str = "t"):
    """What SQLite says about a table created by `sql` (plus a parent table p)."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT UNIQUE)")
    conn.execute(sql)
    stored = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
    return snapshot(conn).table(name), stored


PARSE_CASES = [
    (
        "types, constraints and a table constraint",
        'CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, "my name" VARCHAR(20) NOT NULL DEFAULT \'x\', '
        "amount DECIMAL(10, 2) CHECK (amount > 0), UNIQUE (\"my name\", amount))",
        [("id", "INTEGER", ["primary"]), ("my name", "VARCHAR(20)", ["notnull", "default"]), ("amount", "DECIMAL(10, 2)", ["check"])],
        ["unique"],
        "",
    ),
    (
        "DEFAULT NULL is a value, not a NULL constraint",
        "CREATE TABLE t (a TEXT DEFAULT NULL NOT NULL, b DEFAULT -1 NULL)",
        [("a", "TEXT", ["default", "notnull"]), ("b", "", ["default", "null"])],
        [],
        "",
    ),
    (
        "ON DELETE SET NULL and NOT DEFERRABLE stay in the REFERENCES clause",
        "CREATE TABLE t (a INTEGER REFERENCES p (id) ON DELETE SET NULL ON UPDATE SET DEFAULT NOT DEFERRABLE NOT NULL)",
        [("a", "INTEGER", ["references", "notnull"])],
        [],
        "",
    ),
    (
        "named constraints, conflict clauses and COLLATE",
        "CREATE TABLE t (a TEXT CONSTRAINT nn NOT NULL ON CONFLICT REPLACE COLLATE NOCASE CONSTRAINT u UNIQUE)",
        [("a", "TEXT", ["notnull", "collate", "unique"])],
        [],
        "",
    ),
    (
        "generated columns, both spellings",
        "CREATE TABLE t (a INT, b INT GENERATED ALWAYS AS (a * 2) STORED, c AS (a + 1))",
        [("a", "INT", []), ("b", "INT", ["generated"]), ("c", "", ["generated"])],
        [],
        "",
    ),
    (
        "WITHOUT ROWID and STRICT options, table FOREIGN KEY and CHECK",
        "CREATE TABLE t (k TEXT, v INT, PRIMARY KEY (k), FOREIGN KEY (v) REFERENCES p (id), CHECK (v <> 0)) WITHOUT ROWID, STRICT",
        [("k", "TEXT", []), ("v", "INT", [])],
        ["primary", "foreign", "check"],
        "WITHOUT ROWID, STRICT",
    ),
    (
        "comments and odd spacing inside",
        "CREATE TABLE t (\n  a INTEGER -- the key\n    PRIMARY KEY,\n  /* c */ b   unsigned\n big int\n)",
        [("a", "INTEGER", ["primary"]), ("b", "unsigned\n big int", [])],
        [],
        "",
    ),
]


@pytest.mark.parametrize("sql,columns,constraints,options", [c[1:] for c in PARSE_CASES], ids=[c[0] for c in PARSE_CASES])
def test_parse_create_table_finds_columns_constraints_and_options(sql, columns, constraints, options):
    table = parse_create_table(sql)

    assert [(c.name, c.type_text, [cl.kind for cl in c.clauses]) for c in table.columns] == columns
    assert [c.kind for c in table.constraints] == constraints
    assert table.options == options


@pytest.mark.parametrize("sql", [c[1] for c in PARSE_CASES], ids=[c[0] for c in PARSE_CASES])
def test_rendering_an_unedited_table_gives_sqlite_the_same_table(sql):
    original, stored = table_of(sql)

    rendered, _ = table_of(parse_create_table(stored).render("t"))

    assert rendered == original


@pytest.mark.parametrize("sql", ["CREATE VIRTUAL TABLE t USING fts5(a)", "CREATE INDEX i ON t (a)", "CREATE TABLE t"])
def test_what_is_not_an_ordinary_table_is_refused(sql):
    with pytest.raises(TableDefError):
        parse_create_table(sql)


def test_self_references_are_pointed_at_the_temporary_name_and_nothing_else():
    sql = 'CREATE TABLE "T" (id INTEGER PRIMARY KEY, up INTEGER REFERENCES t (id), p INTEGER REFERENCES p (id), t TEXT)'

    out = retarget_self_references(sql, "t", "t_new")

    assert out == 'CREATE TABLE "T" (id INTEGER PRIMARY KEY, up INTEGER REFERENCES "t_new" (id), p INTEGER REFERENCES p (id), t TEXT)'


TYPE_CASES = [
    ("INTEGER", True), ("VARCHAR(20)", True), ("DECIMAL(10, 2)", True), ("unsigned big int", True), ("NUMERIC(-1)", True),
    ("", False), ("INT, b TEXT", False), ("TEXT); DROP TABLE x; --", False), ("(10)", False), ("INT(1,2,3)", False),
]


@pytest.mark.parametrize("text,ok", TYPE_CASES)
def test_only_column_type_names_are_accepted_as_types(text, ok):
    if ok:
        assert check_type(text, "--type") == text
    else:
        with pytest.raises(UsageError):
            check_type(text, "--type")


@pytest.mark.parametrize("text", ["", "1); DROP TABLE t; --", "(1", "1)", "a; b"])
def test_expressions_must_be_one_balanced_expression(text):
    with pytest.raises(UsageError):
        check_expression(text, "--default x")


DEFAULT_CASES = [
    ("0", "DEFAULT 0"), ("-1.5", "DEFAULT -1.5"), ("'mkv'", "DEFAULT 'mkv'"), ("NULL", "DEFAULT NULL"),
    ("CURRENT_TIMESTAMP", "DEFAULT CURRENT_TIMESTAMP"), ("(1 + 2)", "DEFAULT (1 + 2)"),
    ("datetime('now')", "DEFAULT (datetime('now'))"), ("1 + 2", "DEFAULT (1 + 2)"), ("(1) + (2)", "DEFAULT ((1) + (2))"),
]


@pytest.mark.parametrize("expression,clause", DEFAULT_CASES)
def test_defaults_get_parentheses_exactly_where_sqlite_needs_them(expression, clause):
    assert default_clause(expression) == clause
    sqlite3.connect(":memory:").execute(f"CREATE TABLE t (a {clause})")


# Property: for any column definitions SQLite accepts, cutting and rendering
# gives SQLite the same table, and making one column NOT NULL changes only it.

NAMES = ["a", "b2", '"my col"', '"select"', "[br]", "`bt`", '"q""uote"', "key", "Ünï"]
TYPES = ["", "INTEGER", "TEXT", "REAL", "BLOB", "VARCHAR(10)", "DOUBLE   PRECISION", "NUMERIC(5, 2)", "unsigned big int"]
CLAUSES = [
    "NOT NULL", "NULL", "DEFAULT 0", "DEFAULT 'x'", "DEFAULT -3", "DEFAULT (1 + 2)", "DEFAULT NULL", "DEFAULT CURRENT_TIMESTAMP",
    "UNIQUE", "COLLATE NOCASE", "CHECK (1 > 0)", "REFERENCES p (id) ON DELETE SET NULL",
    "REFERENCES p ON UPDATE SET DEFAULT NOT DEFERRABLE", "CONSTRAINT named NOT NULL ON CONFLICT IGNORE",
    "REFERENCES p (code) DEFERRABLE INITIALLY DEFERRED", "/* c */ UNIQUE ON CONFLICT REPLACE", "NOT NULL -- end\n",
]


@st.composite
def create_tables(draw):
    count = draw(st.integers(1, 4))
    names = draw(st.lists(st.sampled_from(NAMES), min_size=count, max_size=count, unique_by=lambda n: n.strip('"[]`').lower()))
    columns = []
    for name in names:
        parts = [name, draw(st.sampled_from(TYPES))] + draw(st.lists(st.sampled_from(CLAUSES), max_size=3))
        columns.append(" ".join(p for p in parts if p))
    extra = draw(st.sampled_from(["", ", CHECK (1)", f", UNIQUE ({names[0]})"]))
    return "CREATE TABLE t (" + ", ".join(columns) + "\n" + extra + ")"


@settings(max_examples=150, deadline=None)
@given(create_tables(), st.data())
def test_any_accepted_table_survives_cutting_and_one_edit_changes_only_its_column(sql, data):
    try:
        original, stored = table_of(sql)
    except sqlite3.Error:
        assume(False)
    table = parse_create_table(stored)
    assert table_of(table.render("t"))[0] == original

    column = data.draw(st.sampled_from(table.columns))
    assume(not column.has("notnull"))
    set_not_null(table, column, EditLog())
    try:
        edited, _ = table_of(table.render("t"))
    except sqlite3.Error as exc:  # only NOT NULL next to e.g. GENERATED may be refused
        pytest.fail(f"edited table rejected: {exc}")
    for before, after in zip(original.columns, edited.columns):
        if before.name == column.name:
            assert after.notnull and dataclasses.replace(after, notnull=before.notnull) == before
        else:
            assert after == before
    assert edited.foreign_keys == original.foreign_keys
