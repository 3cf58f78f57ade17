"""Statement splitting follows SQLite's own rules; normal forms compare schemas."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mwcore.sqltext import is_blank, normalize_sql, split_statements

SPLIT_CASES = [
    ("one", "CREATE TABLE a(x);", ["CREATE TABLE a(x);"]),
    ("two on one line", "CREATE TABLE a(x); DROP TABLE a;", ["CREATE TABLE a(x);", "DROP TABLE a;"]),
    ("semicolon in string", "INSERT INTO t VALUES ('a;b');", ["INSERT INTO t VALUES ('a;b');"]),
    ("semicolon in quoted name", 'CREATE TABLE "a;b"(x);', ['CREATE TABLE "a;b"(x);']),
    ("semicolon in comments", "-- a; b\nCREATE TABLE a(x /* ; */);", ["CREATE TABLE a(x /* ; */);"]),
    (
        "trigger body",
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE a SET x = 1; DELETE FROM a; END;\nSELECT 1;",
        ["CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE a SET x = 1; DELETE FROM a; END;", "SELECT 1;"],
    ),
    ("no final semicolon", "CREATE TABLE a(x);\nCREATE TABLE b(y)\n", ["CREATE TABLE a(x);", "CREATE TABLE b(y)"]),
    ("empty statements", ";;\n;CREATE TABLE a(x);;", ["CREATE TABLE a(x);"]),
    ("comment only", "-- nothing here\n/* at all */\n", []),
    ("empty", "", []),
    ("bom", "\ufeffCREATE TABLE a(x);", ["CREATE TABLE a(x);"]),
    ("crlf", "CREATE TABLE a(x);\r\nDROP TABLE a;\r\n", ["CREATE TABLE a(x);", "DROP TABLE a;"]),
    ("doubled quote", "INSERT INTO t VALUES ('it''s;');", ["INSERT INTO t VALUES ('it''s;');"]),
    ("case in trigger", "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT CASE WHEN 1 THEN 2 END; END;",
     ["CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT CASE WHEN 1 THEN 2 END; END;"]),
]


@pytest.mark.parametrize("text,expected", [c[1:] for c in SPLIT_CASES], ids=[c[0] for c in SPLIT_CASES])
def test_split_statements(text, expected):
    assert [s.sql for s in split_statements(text)] == expected


def test_split_reports_line_and_column_of_each_statement():
    text = "-- header\n\nCREATE TABLE a(x);\n  CREATE INDEX i ON a(x);\nCREATE TABLE b(\n  y\n);"
    located = [(s.line, s.col, s.end_line) for s in split_statements(text)]
    assert located == [(3, 1, 3), (4, 3, 4), (5, 1, 7)]


def test_keyword_is_the_first_word():
    assert [s.keyword for s in split_statements("-- c\ncreate table a(x); pragma foreign_keys=on;")] == ["CREATE", "PRAGMA"]


def test_is_blank():
    assert is_blank("-- only a comment\n;\n")
    assert not is_blank("SELECT 1")


_table = "CREATE TABLE t{n}(a INTEGER, b TEXT DEFAULT 'x;y')"
_statement_pool = [
    "CREATE INDEX i{n} ON t{n}(a)",
    "INSERT INTO t{n} VALUES (1, '-- not a comment;')",
    "CREATE TRIGGER tr{n} AFTER INSERT ON t{n} BEGIN UPDATE t{n} SET b = 'z;' WHERE a = new.a; END",
    'CREATE VIEW "v;{n}" AS SELECT a FROM t{n}',
]
_glue = st.sampled_from([";", ";\n", " ;  ", ";\n-- note; here\n", ";/* ; */", ";\r\n\n"])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_statement_pool) - 1), _glue), min_size=1, max_size=8))
def test_split_agrees_with_sqlite_on_generated_scripts(parts):
    """Oracle: sqlite3's executescript runs the whole text; running our split
    statements one by one must build the same schema."""
    pieces = []
    for n, (index, glue) in enumerate(parts):
        pieces.append(_table.format(n=n) + ";\n")
        pieces.append(_statement_pool[index].format(n=n) + glue)
    text = "".join(pieces)
    whole = sqlite3.connect(":memory:")
    whole.executescript(text)
    ours = sqlite3.connect(":memory:", isolation_level=None)
    statements = split_statements(text)
    for statement in statements:
        ours.execute(statement.sql).close()
    assert len(statements) == 2 * len(parts)
    query = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    assert ours.execute(query).fetchall() == whole.execute(query).fetchall()


@pytest.mark.parametrize("a,b", [
    ("CREATE TABLE a(x INT)", 'CREATE TABLE "a" (\n  x   int -- note\n)'),
    ("CREATE INDEX i ON t(a)", "create index [i] on `t` (a)"),
    ('CREATE TABLE "weird name"(x)', 'CREATE TABLE "WEIRD NAME" (x)'),
])
def test_normalize_ignores_spacing_case_and_quoting(a, b):
    assert normalize_sql(a) == normalize_sql(b)


@pytest.mark.parametrize("a,b", [
    ("CREATE TABLE a(x INT)", "CREATE TABLE a(x TEXT)"),
    ("CREATE TABLE a(x DEFAULT 'a')", "CREATE TABLE a(x DEFAULT 'A')"),
    ("CREATE TABLE a(x)", "CREATE TABLE a(x NOT NULL)"),
])
def test_normalize_keeps_real_differences(a, b):
    assert normalize_sql(a) != normalize_sql(b)


def test_words_are_letters_underscore_and_any_non_ascii_then_digits_and_dollar_too():
    """The tokenizer's word class, spelled as negated ASCII classes for a
    fast compile, is exactly [A-Za-z_<non-ASCII>][A-Za-z0-9_$<non-ASCII>]*."""
    import re

    from mwcore.sqltext import tokens

    reference = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*\Z")
    samples = [chr(c) for c in range(0, 0x300)] + ["\u00e9", "\u4e2d", "\U0001f600", "\ud800"]
    for first in samples:
        for rest in ("", "a", "1", "$", "\u00e9"):
            text = first + rest
            words = [t for kind, t in tokens(text) if kind == "word"]
            assert (words == [text]) == bool(reference.match(text)), repr(text)
