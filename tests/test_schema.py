"""Schema snapshots compare what matters and explain the differences."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mwcore.rows import missing_rows, seed_rows
from mwcore.schema import diff, snapshot
from mwcore.engine import run_script, scratch as connect, user_tables

BASE = """
CREATE TABLE parent(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE child(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE,
  note TEXT DEFAULT 'n',
  CHECK (length(note) < 100)
);
CREATE INDEX child_parent ON child(parent_id);
CREATE INDEX child_note ON child(note) WHERE note IS NOT NULL;
CREATE TRIGGER child_touch AFTER UPDATE ON child BEGIN SELECT 1; END;
CREATE VIEW child_names AS SELECT note FROM child;
"""


def schema_after(*scripts: str):
    conn = connect()
    for script in scripts:
        result = run_script(conn, script)
        assert result.ok, result.error
    return snapshot(conn)


def test_identical_schema_written_differently_compares_equal():
    respelled = BASE.replace("CREATE TABLE parent(", 'CREATE TABLE "parent" (\n  ').replace("child_parent ON child", "[child_parent] ON `child`")
    assert diff(schema_after(BASE), schema_after(respelled)) == []


def test_a_rebuild_done_right_round_trips():
    rebuild = """
    CREATE TABLE child_new(
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      parent_id INTEGER REFERENCES parent(id) ON DELETE CASCADE,
      note TEXT DEFAULT 'n',
      CHECK (length(note) < 100)
    );
    INSERT INTO child_new(id, parent_id, note) SELECT id, parent_id, note FROM child;
    DROP VIEW child_names;
    DROP TABLE child;
    ALTER TABLE child_new RENAME TO child;
    CREATE INDEX child_parent ON child(parent_id);
    CREATE INDEX child_note ON child(note) WHERE note IS NOT NULL;
    CREATE TRIGGER child_touch AFTER UPDATE ON child BEGIN SELECT 1; END;
    CREATE VIEW child_names AS SELECT note FROM child;
    """
    assert diff(schema_after(BASE), schema_after(BASE, rebuild)) == []


@pytest.mark.parametrize("change,expected", [
    ("DROP INDEX child_note;", "index child_note: missing: INDEX on child(note) WHERE ..."),
    ("DROP TRIGGER child_touch;", "trigger child_touch: missing: on child"),
    ("DROP VIEW child_names;", "view child_names: missing: on child_names"),
    ("ALTER TABLE child ADD COLUMN extra INTEGER;", "column child.extra: unexpected: INTEGER"),
    ("CREATE TABLE more(x);", "table more: unexpected: 1 columns"),
    ("DROP VIEW child_names; ALTER TABLE child RENAME COLUMN note TO remark; CREATE VIEW child_names AS SELECT remark AS note FROM child;",
     "column child.note: missing: TEXT DEFAULT 'n'"),
])
def test_differences_are_named(change, expected):
    assert expected in [str(d) for d in diff(schema_after(BASE), schema_after(BASE, change))]


def test_column_changes_show_before_and_after():
    changed = BASE.replace("note TEXT DEFAULT 'n'", "note TEXT NOT NULL DEFAULT 'n'")
    assert [str(d) for d in diff(schema_after(BASE), schema_after(changed))] == [
        "column child.note: changed: TEXT DEFAULT 'n' -> TEXT NOT NULL DEFAULT 'n'"]


def test_foreign_key_action_change_is_reported():
    changed = BASE.replace("ON DELETE CASCADE", "ON DELETE SET NULL")
    lines = [str(d) for d in diff(schema_after(BASE), schema_after(changed))]
    assert "foreign key child: missing: (parent_id) REFERENCES parent(id) ON DELETE CASCADE" in lines


def test_a_changed_check_constraint_is_named_not_the_whole_definition():
    changed = BASE.replace("length(note) < 100", "length(note) < 50")
    (only,) = diff(schema_after(BASE), schema_after(changed))
    assert str(only) == "constraint child: changed: check ( length ( note ) < 100 ) -> check ( length ( note ) < 50 )"


# Two CREATE TABLE texts the PRAGMAs find alike: the same schema when they differ only in
# spelling, else the one real difference named (never both statements whole, never None).
RESPELLED = [
    ("CREATE TABLE t(id integer primary key, a text not null default 'x')",
     'CREATE TABLE "t" (\n  "id" INTEGER PRIMARY KEY,\n  [a] TEXT  NOT NULL DEFAULT \'x\'\n)'),
    ("CREATE TABLE t(id INTEGER PRIMARY KEY, a VARCHAR(10), b TEXT DEFAULT CURRENT_TIMESTAMP)",
     "CREATE TABLE t(id INTEGER PRIMARY KEY, a varchar (10), b TEXT DEFAULT current_timestamp)"),
]
NAMED = [
    ("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT CHECK (a <> ''))", "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT)",
     ["column t.a: changed: check ( a <> '' ) -> (no check)"]),
    ("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT COLLATE NOCASE)", "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT)",
     ["column t.a: changed: collate nocase -> (no collate)"]),
    ("CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT)", "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT)",
     ["column t.id: changed: primary key autoincrement -> primary key"]),
    ("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT AS (a || 'x'))",
     "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT AS (a || 'y'))",
     ["column t.b: changed: as ( a || 'x' ) -> as ( a || 'y' )"]),
    ("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, UNIQUE (a))", "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT)",
     ["constraint t: missing: unique ( a )", "index sqlite_autoindex_t_1: missing: UNIQUE INDEX on t(a)"]),
    ("CREATE TABLE t(id TEXT PRIMARY KEY, a TEXT) WITHOUT ROWID", "CREATE TABLE t(id TEXT PRIMARY KEY, a TEXT)",
     ["column t.id: changed: TEXT NOT NULL PRIMARY KEY -> TEXT PRIMARY KEY", "table t: changed: without rowid -> (no options)",
      "index sqlite_autoindex_t_1: unexpected: UNIQUE INDEX on t(id)"]),
]


@pytest.mark.parametrize("first,second", RESPELLED)
def test_create_table_texts_that_differ_only_in_spelling_are_the_same_schema(first, second):
    assert diff(schema_after(first), schema_after(second)) == []


@pytest.mark.parametrize("first,second,expected", NAMED)
def test_create_table_texts_that_differ_name_the_real_difference(first, second, expected):
    lines = [str(d) for d in diff(schema_after(first), schema_after(second))]
    assert lines == expected
    assert not any("None" in line or "create table" in line for line in lines)


def test_a_changed_view_shows_where_it_changed():
    view = "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT);\nCREATE VIEW v AS SELECT id, a FROM t WHERE a > {}"
    (only,) = diff(schema_after(view.format(1)), schema_after(view.format(2)))
    assert str(only) == "view v: changed: ... where a > 1 -> ... where a > 2"


def test_bookkeeping_and_internal_tables_are_left_out():
    snap = schema_after(BASE, "CREATE TABLE schema_migrations (version uint64,dirty bool); CREATE UNIQUE INDEX version_unique ON schema_migrations (version); INSERT INTO child(note) VALUES ('x');")
    assert sorted(snap.tables) == ["child", "parent"]
    assert "version_unique" not in snap.indexes


def test_snapshot_can_be_limited_to_some_tables():
    conn = connect()
    run_script(conn, BASE)
    snap = snapshot(conn, tables=["child"])
    assert list(snap.tables) == ["child"] and "child_parent" in snap.indexes
    assert "sqlite_autoindex_parent_1" not in snap.indexes


def test_seeded_rows_fit_constraints_and_are_found_again():
    conn = connect(foreign_keys=True)
    run_script(conn, BASE)
    report = seed_rows(conn, user_tables(conn))
    assert set(report.inserted) == {"parent", "child"} and not report.skipped
    assert all(missing_rows(conn, rows) == (0, []) for rows in report.inserted.values())
    run_script(conn, "DELETE FROM parent WHERE id = (SELECT min(id) FROM parent);")
    missing, _ = missing_rows(conn, report.inserted["child"])
    assert missing >= 1  # the cascade removed the children of that parent


def test_rows_are_generated_for_check_in_lists():
    conn = connect()
    run_script(conn, "CREATE TABLE job(state TEXT NOT NULL CHECK (state IN ('queued', 'done')), n INTEGER NOT NULL);")
    report = seed_rows(conn, ["job"])
    assert len(report.inserted["job"].rows) == 3
    assert {row[0] for row in report.inserted["job"].rows} <= {"queued", "done"}


def test_a_table_no_row_fits_is_skipped_with_sqlite_reason():
    conn = connect()
    run_script(conn, "CREATE TABLE never(x CHECK (0));")
    report = seed_rows(conn, ["never"])
    assert "CHECK constraint failed" in report.skipped["never"]


INDEXED = "CREATE TABLE a(x TEXT, y TEXT);\n"


@pytest.mark.parametrize("before,after,named", [
    ("CREATE UNIQUE INDEX a_x ON a(x);", "CREATE INDEX a_x ON a(x);", "UNIQUE -> not unique"),
    ("CREATE INDEX a_x ON a(x);", "CREATE UNIQUE INDEX a_x ON a(x);", "not unique -> UNIQUE"),
    ("CREATE INDEX a_x ON a(x) WHERE x IS NOT NULL;", "CREATE INDEX a_x ON a(x);", "WHERE x is not null -> WHERE (none)"),
    ("CREATE INDEX a_x ON a(x) WHERE x IS NOT NULL;", "CREATE INDEX a_x ON a(x) WHERE x <> '';",
     "WHERE x is not null -> WHERE x <> ''"),
    ("CREATE INDEX a_x ON a(x COLLATE NOCASE);", "CREATE INDEX a_x ON a(x);", "collation (x COLLATE NOCASE) -> (x)"),
    ("CREATE INDEX a_x ON a(x DESC);", "CREATE INDEX a_x ON a(x);", "order (x DESC) -> (x)"),
    ("CREATE INDEX a_x ON a(lower(x));", "CREATE INDEX a_x ON a(upper(x));", "keys (lower ( x )) -> (upper ( x ))"),
    ("CREATE INDEX a_x ON a(x, y);", "CREATE INDEX a_x ON a(y, x);", "keys (x, y) -> (y, x)"),
])
def test_an_index_redefined_under_the_same_name_is_a_difference_naming_what_changed(before, after, named):
    # Same name, same table: a comparison by name and columns alone sees nothing.
    (only,) = diff(schema_after(INDEXED, before), schema_after(INDEXED, after))
    assert (only.kind, only.name, only.change) == ("index", "a_x", "changed")
    assert named in only.detail


def test_the_same_index_spelled_differently_is_no_difference():
    assert diff(schema_after(INDEXED, "CREATE UNIQUE INDEX a_x ON a(x COLLATE NOCASE DESC) WHERE x > 'a';"),
                schema_after(INDEXED, 'create unique index "a_x" on "a" ( x   collate nocase desc ) where x > \'a\';')) == []


_COLUMN_TYPES = ["INTEGER", "integer", "TEXT", "text", "VARCHAR(10)", "varchar (10)", "REAL", ""]
_CLAUSES = ["", " NOT NULL", " DEFAULT 0", " DEFAULT (0)", " DEFAULT 'x'", " CHECK (c{i} IS NOT NULL)", " UNIQUE",
            " COLLATE NOCASE", " not null default 'x'"]


@settings(max_examples=150)
@given(st.lists(st.tuples(st.sampled_from(_COLUMN_TYPES), st.sampled_from(_CLAUSES), st.sampled_from(_CLAUSES)),
                min_size=1, max_size=4),
       st.lists(st.tuples(st.sampled_from(_COLUMN_TYPES), st.sampled_from(_CLAUSES), st.sampled_from(_CLAUSES)),
                min_size=1, max_size=4),
       st.booleans())
def test_a_table_difference_never_prints_none_or_whole_statements(first, second, quoted):
    def table(columns) -> str:
        name = '"t"' if quoted else "t"
        body = ", ".join(f"c{i} {kind}{a.format(i=i)}{b.format(i=i)}" for i, (kind, a, b) in enumerate(columns))
        return f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, {body})"

    try:
        before, after = schema_after(table(first)), schema_after(table(second))
    except AssertionError:
        return  # a combination SQLite refuses (two DEFAULTs, say)
    lines = [str(d) for d in diff(before, after)]
    assert not any("None" in line.split() or "create table" in line for line in lines), lines
    if first == second:
        assert lines == []
