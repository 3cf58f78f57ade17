"""Specification of the rebuild core (mwcore.rebuild): the SQL it writes for each
foreign-key mode, exactly; what that SQL does when SQLite runs it, checked here
directly (rows of referencing tables, indexes, triggers, views, the counter of
AUTOINCREMENT, the schema after the down); and what it refuses."""

from __future__ import annotations

import sqlite3
from typing import List

import pytest

from mwcore.errors import UsageError
from mwcore.rebuild import Changes, ForeignKeySpec, RebuildRefused, plan_rebuild
from mwcore.schema import diff, snapshot
from mwcore.engine import run_script

from rebuild_cases import SHOP, SHOP_ROWS, USER, copy_of, database, rows, state

# -- the exact SQL (sqlite-utils transform_sql style) -----------------------------

SMALL = """
CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b INTEGER);
CREATE TABLE c (id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t (id) ON DELETE CASCADE);
"""
NEW_T = 'CREATE TABLE "t_tmp" (\n    id INTEGER PRIMARY KEY,\n    a TEXT,\n    b INTEGER\n);'
OLD_T = 'CREATE TABLE "t_tmp" (\n    id INTEGER PRIMARY KEY,\n    a TEXT NOT NULL,\n    b INTEGER\n);'
COPY = 'INSERT INTO "t_tmp" ("id", "a", "b")\nSELECT "id", "a", "b"\nFROM "t";'
SWAP = ['DROP TABLE "t";', 'ALTER TABLE "t_tmp" RENAME TO "t";']
VIOLATIONS = (
    "SELECT \"table\" AS child_table, rowid AS child_rowid, parent FROM pragma_foreign_key_check('t')\n"
    "UNION ALL\n"
    "SELECT \"table\" AS child_table, rowid AS child_rowid, parent FROM pragma_foreign_key_check('c')"
)
GUARD_BEFORE = [f'CREATE TEMP TABLE "mw_fk_before" AS\n{VIOLATIONS};']
GUARD_AFTER = [
    'CREATE TEMP TABLE "mw_fk_guard" (n INTEGER CHECK (n = 0));',
    f'INSERT INTO temp."mw_fk_guard"\nSELECT count(*) FROM (\n{VIOLATIONS}\n) AS v\nWHERE NOT EXISTS (\n'
    '    SELECT 1 FROM temp."mw_fk_before" AS b\n'
    "    WHERE b.child_table = v.child_table AND b.child_rowid IS v.child_rowid AND b.parent = v.parent\n);",
    'DROP TABLE temp."mw_fk_guard";',
    'DROP TABLE temp."mw_fk_before";',
]
SET_ASIDE = ['CREATE TEMP TABLE "mw_rows_1" AS SELECT "id", "t_id" FROM "c";', 'DELETE FROM "c";']
PUT_BACK = ['INSERT INTO "c" ("id", "t_id") SELECT "id", "t_id" FROM temp."mw_rows_1";', 'DROP TABLE temp."mw_rows_1";']

EXACT_CASES = [
    ("enforcement off: guard around a plain rebuild", "off", False,
     GUARD_BEFORE + [NEW_T, COPY] + SWAP + GUARD_AFTER,
     GUARD_BEFORE + [OLD_T, COPY] + SWAP + GUARD_AFTER),
    ("enforcement on: referencing rows set aside and put back", "on", False,
     SET_ASIDE + [NEW_T, COPY] + SWAP + PUT_BACK,
     SET_ASIDE + [OLD_T, COPY] + SWAP + PUT_BACK),
    ("enforcement unknown: both", "unknown", False,
     GUARD_BEFORE + SET_ASIDE + [NEW_T, COPY] + SWAP + PUT_BACK + GUARD_AFTER,
     GUARD_BEFORE + SET_ASIDE + [OLD_T, COPY] + SWAP + PUT_BACK + GUARD_AFTER),
    ("x-no-tx-wrap with enforcement on: the file turns it off around its own transaction", "on", True,
     ["PRAGMA foreign_keys = OFF;", "BEGIN;"] + GUARD_BEFORE + [NEW_T, COPY] + SWAP + GUARD_AFTER + ["COMMIT;", "PRAGMA foreign_keys = ON;"],
     ["PRAGMA foreign_keys = OFF;", "BEGIN;"] + GUARD_BEFORE + [OLD_T, COPY] + SWAP + GUARD_AFTER + ["COMMIT;", "PRAGMA foreign_keys = ON;"]),
    ("x-no-tx-wrap with enforcement off: no PRAGMA", "off", True,
     ["BEGIN;"] + GUARD_BEFORE + [NEW_T, COPY] + SWAP + GUARD_AFTER + ["COMMIT;"],
     ["BEGIN;"] + GUARD_BEFORE + [OLD_T, COPY] + SWAP + GUARD_AFTER + ["COMMIT;"]),
]


@pytest.mark.parametrize("mode,no_tx_wrap,up,down", [c[1:] for c in EXACT_CASES], ids=[c[0] for c in EXACT_CASES])
def test_the_sql_for_each_foreign_key_mode_is_exactly_this(mode, no_tx_wrap, up, down):
    plan = plan_rebuild(database(SMALL), "t", Changes(nullable=("a",)), fk_mode=mode, no_tx_wrap=no_tx_wrap, suffix="tmp")

    assert plan.statements("up") == up
    assert plan.statements("down") == down


def test_the_temporary_name_never_collides_with_an_existing_table():
    conn = database(SMALL, "CREATE TABLE t_tmp (x); CREATE TABLE t_tmp2 (x);")

    plan = plan_rebuild(conn, "t", Changes(nullable=("a",)), fk_mode="off", suffix="tmp")

    assert plan.temp_name == "t_tmp3"
    assert 'ALTER TABLE "t_tmp3" RENAME TO "t";' in plan.statements("up")


def test_the_rendered_file_explains_each_step_in_a_comment():
    plan = plan_rebuild(database(SMALL), "t", Changes(nullable=("a",)), fk_mode="on", suffix="tmp")
    text = plan.render("up")

    for step in plan.up:
        assert step.sql in text
    assert text.count("\n-- ") >= 6
    assert text.startswith('-- Rebuild of "t": "a" becomes nullable.')


# -- what the SQL does, on a rich schema -----------------------------------------

OPTION_CASES = [
    ("type", Changes(types=(("nickname", "VARCHAR(40)"),)), []),
    ("drop a column", Changes(drops=("team_id",)), []),
    ("drop an indexed column", Changes(drops=("nickname",)), ["idx_user_nick"]),
    ("rename", Changes(renames=(("nickname", "handle"),)), []),
    ("not null with fill", Changes(not_null=("nickname",), fills=(("nickname", "'anon'"),)), []),
    ("nullable", Changes(nullable=("score",)), []),
    ("default", Changes(defaults=(("order", "5"),)), []),
    ("drop default", Changes(drop_defaults=("created_at",)), []),
    ("add foreign key", Changes(add_fks=(ForeignKeySpec("team_id", "team", "id", "SET NULL"),)), []),
    ("drop the self-reference", Changes(drop_fks=("referrer_id",)), []),
    ("column order", Changes(column_order=("email", "id")), []),
    ("check", Changes(checks=("length(email) > 3",)), []),
    ("unique", Changes(uniques=(("nickname", "team_id"),)), []),
    ("all at once", Changes(
        types=(("bio", "VARCHAR(200)"),), renames=(("nickname", "handle"),), not_null=("handle",),
        fills=(("nickname", "'anon'"),), defaults=(("order", "7"),),
        add_fks=(ForeignKeySpec("team_id", "team", "id", "CASCADE"),), checks=("score < 100",),
        uniques=(("handle", "email"),), column_order=("email",), drop_defaults=("created_at",)), []),
]
MODES = [("off", False), ("on", False), ("unknown", False), ("on", True), ("off", True)]
OTHERS = ["team", "post", "comment", "follow", "audit"]


def run(conn: sqlite3.Connection, text: str, no_tx_wrap: bool) -> None:
    result = run_script(conn, text, wrap=not no_tx_wrap)
    assert result.ok, f"{result.error} at {result.statement.sql if result.statement else ''}"


@pytest.mark.parametrize("mode,no_tx_wrap", MODES, ids=[f"{m}{'-no-tx-wrap' if n else ''}" for m, n in MODES])
@pytest.mark.parametrize("changes,dropped_indexes", [c[1:] for c in OPTION_CASES], ids=[c[0] for c in OPTION_CASES])
def test_rebuild_keeps_referencing_rows_objects_and_the_counter_and_the_down_restores_the_schema(
        changes, dropped_indexes, mode, no_tx_wrap):
    base = database(SHOP, SHOP_ROWS)
    plan = plan_rebuild(base, USER, changes, fk_mode=mode, no_tx_wrap=no_tx_wrap)
    for enforce in {"off": [False], "on": [True], "unknown": [True, False]}[mode]:
        conn = copy_of(base, foreign_keys=enforce)
        before, schema_before = state(conn), snapshot(conn)
        untouched = 'SELECT id, email, referrer_id FROM "user account" ORDER BY id'
        users = conn.execute(untouched).fetchall()

        run(conn, plan.render("up"), no_tx_wrap)
        conn.execute(f"PRAGMA foreign_keys = {'ON' if enforce else 'OFF'}")
        after = state(conn)

        for table in OTHERS:
            assert after.tables[table] == before.tables[table], f"rows of {table} changed"
        assert conn.execute(untouched).fetchall() == users
        assert after.sequence[USER] == before.sequence[USER] == 10
        assert after.violations == [] and after.integrity == ["ok"]
        expected = {n for n in before.objects if not n.startswith("sqlite_autoindex")} - set(dropped_indexes)
        assert {n for n in after.objects if not n.startswith("sqlite_autoindex")} == expected
        for name in ("trg_post_deleted", "trg_post_added", "user_posts", "busy_users", "trg_comment_added", "idx_user_lower_email"):
            assert after.objects[name] == before.objects[name]

        run(conn, plan.render("down"), no_tx_wrap)
        conn.execute(f"PRAGMA foreign_keys = {'ON' if enforce else 'OFF'}")
        assert diff(schema_before, snapshot(conn)) == []
        restored = state(conn)
        for table in OTHERS:
            assert restored.tables[table] == before.tables[table]
        assert restored.sequence[USER] == 10

        run(conn, plan.render("up"), no_tx_wrap)
        assert diff(snapshot(copy_of(conn, False)), snapshot(conn)) == []


def test_values_survive_up_and_down_in_columns_the_change_leaves_alone():
    conn = database(SHOP, SHOP_ROWS)
    before = rows(conn, USER)
    plan = plan_rebuild(conn, USER, Changes(types=(("bio", "VARCHAR(200)"),), column_order=("email",)), fk_mode="off")

    run(conn, plan.render("up"), False)
    moved = conn.execute('SELECT id, email, "order", referrer_id, nickname, bio, team_id, score, created_at FROM "user account"').fetchall()
    run(conn, plan.render("down"), False)

    assert sorted(moved) == [r[1:] for r in before]
    assert rows(conn, USER) == before


def test_fill_gives_existing_nulls_the_value_and_the_down_keeps_it():
    conn = database(SHOP, SHOP_ROWS)
    plan = plan_rebuild(conn, USER, Changes(not_null=("nickname",), fills=(("nickname", "'anon' || id"),)), fk_mode="off")

    run(conn, plan.render("up"), False)
    filled = conn.execute('SELECT id, nickname FROM "user account" ORDER BY id').fetchall()
    run(conn, plan.render("down"), False)

    assert filled == [(1, "ann"), (2, "anon2"), (3, "cy")]
    assert conn.execute('SELECT nickname FROM "user account" WHERE id = 2').fetchone() == ("anon2",)


def test_not_null_without_fill_fails_the_up_on_a_null_and_changes_nothing():
    # Planned where the migrations insert no NULL there (else --no-fill is refused), run on a database that has one.
    plan = plan_rebuild(database(SHOP), USER, Changes(not_null=("nickname",), no_fill=True), fk_mode="off")
    conn = database(SHOP, SHOP_ROWS)
    before = state(conn)

    result = run_script(conn, plan.render("up"))

    assert not result.ok and "NOT NULL constraint failed" in result.error
    assert state(conn) == before


def test_a_dropped_column_comes_back_in_the_down_with_its_default_or_down_fill():
    conn = database(SHOP, SHOP_ROWS)
    plan = plan_rebuild(conn, USER, Changes(drops=("score", "bio"), down_fills=(("score", "id * 10"),)), fk_mode="off")

    run(conn, plan.render("up"), False)
    run(conn, plan.render("down"), False)

    assert conn.execute('SELECT id, score, bio FROM "user account" ORDER BY id').fetchall() == [(1, 10.0, None), (2, 20.0, None), (3, 30.0, None)]
    assert "comes back" in plan.render("down")


def test_the_enforcement_off_form_under_enforcement_on_loses_cascaded_rows_which_is_why_the_mode_matters():
    base = database(SHOP, SHOP_ROWS)
    plan = plan_rebuild(base, USER, Changes(nullable=("score",)), fk_mode="off")
    conn = copy_of(base, foreign_keys=True)

    run(conn, plan.render("up"), False)

    assert rows(conn, "post") == [] and rows(conn, "comment") == []
    assert all(r[1] is None for r in rows(conn, "follow"))
    assert rows(conn, "audit") != [], "ON DELETE triggers fired"


def test_defer_foreign_keys_does_not_make_a_plain_parent_rebuild_safe():
    # FACTS: the violations counted at DROP TABLE are not cleared by the rename.
    conn = database("CREATE TABLE p (id INTEGER PRIMARY KEY, v TEXT NOT NULL); CREATE TABLE k (p_id INTEGER REFERENCES p (id));"
                    "INSERT INTO p VALUES (1, 'x'); INSERT INTO k VALUES (1);", foreign_keys=True)
    text = ("PRAGMA defer_foreign_keys = ON; CREATE TABLE p_new (id INTEGER PRIMARY KEY, v TEXT);"
            "INSERT INTO p_new SELECT * FROM p; DROP TABLE p; ALTER TABLE p_new RENAME TO p;")

    result = run_script(conn, text)

    assert not result.ok and result.phase == "commit" and "FOREIGN KEY constraint failed" in result.error


def test_the_guard_fails_the_file_on_a_new_violation_and_tolerates_old_ones():
    conn = database(SHOP, SHOP_ROWS, "INSERT INTO post VALUES (9, 99, 'orphan from before');")
    plan = plan_rebuild(conn, USER, Changes(add_fks=(ForeignKeySpec("team_id", "team", "id"),)), fk_mode="off")
    tolerated = copy_of(conn, False)
    run(tolerated, plan.render("up"), False)
    conn.execute('UPDATE "user account" SET team_id = 7 WHERE id = 3')
    before = state(conn)

    result = run_script(conn, plan.render("up"))

    assert not result.ok and "CHECK constraint failed" in result.error and "mw_fk_guard" in result.statement.sql
    assert state(conn) == before


def test_a_restrict_self_reference_is_rebuilt_with_enforcement_on():
    schema = ("CREATE TABLE node (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES node (id) ON DELETE RESTRICT, name TEXT);"
              "CREATE TABLE leaf (id INTEGER PRIMARY KEY, node_id INTEGER NOT NULL REFERENCES node (id) ON DELETE RESTRICT,"
              " up INTEGER REFERENCES leaf (id) ON DELETE RESTRICT);"
              "INSERT INTO node VALUES (1, NULL, 'root'), (2, 1, 'kid'), (3, 2, NULL);"
              "INSERT INTO leaf VALUES (1, 3, NULL), (2, 3, 1);")
    conn = database(schema, foreign_keys=True)
    node, leaf = rows(conn, "node"), rows(conn, "leaf")
    plan = plan_rebuild(conn, "node", Changes(not_null=("name",), fills=(("name", "'?'"),)), fk_mode="on")

    run(conn, plan.render("up"), False)

    assert rows(conn, "node") == [(1, 1, None, "root"), (2, 2, 1, "kid"), (3, 3, 2, "?")]
    assert rows(conn, "leaf") == leaf
    run(conn, plan.render("down"), False)
    assert rows(conn, "node")[:2] == node[:2]


SPECIAL_TABLES = [
    ("without rowid", "CREATE TABLE kv (k TEXT NOT NULL, ns TEXT NOT NULL, v BLOB, PRIMARY KEY (ns, k)) WITHOUT ROWID;"
     "CREATE TABLE kv_ref (id INTEGER PRIMARY KEY, ns TEXT, k TEXT, FOREIGN KEY (ns, k) REFERENCES kv (ns, k) ON DELETE CASCADE);"
     "CREATE INDEX kv_v ON kv (v); INSERT INTO kv VALUES ('a', 'x', 1), ('b', 'x', 2); INSERT INTO kv_ref VALUES (1, 'x', 'a');",
     "kv", Changes(types=(("v", "TEXT"),), not_null=("v",), no_fill=True)),
    ("strict with generated columns",
     "CREATE TABLE s (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, label TEXT,"
     " total INTEGER GENERATED ALWAYS AS (n * 2) STORED, half REAL AS (n / 2.0)) STRICT;"
     "CREATE INDEX s_total ON s (total); INSERT INTO s (id, n, label) VALUES (1, 4, 'four'), (2, 5, NULL);",
     "s", Changes(nullable=("n",), defaults=(("label", "'none'"),), column_order=("label",))),
    ("rowid table without an id column keeps its rowids",
     "CREATE TABLE log (at TEXT, what TEXT); INSERT INTO log VALUES ('1', 'a'), ('2', 'b'), ('3', 'c'); DELETE FROM log WHERE at = '1';",
     "log", Changes(not_null=("what",), no_fill=True)),
    ("autoincrement with a primary key change",
     "CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT NOT NULL); INSERT INTO a VALUES (7, 'x'), (8, 'y');",
     "a", Changes(pk=("code",))),
    ("a view on a view and an INSTEAD OF trigger on it",
     "CREATE TABLE p (id INTEGER PRIMARY KEY, v TEXT); CREATE VIEW pv AS SELECT id, v FROM p; CREATE VIEW pvv AS SELECT v FROM pv;"
     "CREATE TRIGGER pv_ins INSTEAD OF INSERT ON pv BEGIN INSERT INTO p (v) VALUES (NEW.v); END; INSERT INTO p VALUES (1, 'a');",
     "p", Changes(types=(("v", "VARCHAR(9)"),))),
]


@pytest.mark.parametrize("enforce", [False, True], ids=["off", "on"])
@pytest.mark.parametrize("schema,table,changes", [c[1:] for c in SPECIAL_TABLES], ids=[c[0] for c in SPECIAL_TABLES])
def test_special_tables_round_trip_with_their_rows(schema, table, changes, enforce):
    if "STRICT" in schema and sqlite3.sqlite_version_info < (3, 37):
        pytest.skip("STRICT tables need SQLite 3.37")
    base = database(schema)
    plan = plan_rebuild(base, table, changes, fk_mode="on" if enforce else "off")
    conn = copy_of(base, foreign_keys=enforce)
    before, schema_before = state(conn), snapshot(conn)

    run(conn, plan.render("up"), False)
    after = state(conn)
    run(conn, plan.render("down"), False)

    assert len(after.tables[table]) == len(before.tables[table])
    assert {t: r for t, r in after.tables.items() if t != table} == {t: r for t, r in before.tables.items() if t != table}
    assert diff(schema_before, snapshot(conn)) == []
    if not plan.old_def.without_rowid:
        assert [r[0] for r in state(conn).tables[table]] == [r[0] for r in before.tables[table]], "rowids kept"


def test_a_rowid_table_without_an_id_column_keeps_its_rowids():
    conn = database(SPECIAL_TABLES[2][1])
    plan = plan_rebuild(conn, "log", Changes(not_null=("what",), no_fill=True), fk_mode="off")

    run(conn, plan.render("up"), False)

    assert rows(conn, "log") == [(2, "2", "b"), (3, "3", "c")]
    assert plan.up_copy is not None and plan.up_copy.rowid == "rowid"


def test_the_autoincrement_counter_is_carried_over():
    conn = database(SHOP, SHOP_ROWS)
    plan = plan_rebuild(conn, USER, Changes(nullable=("score",)), fk_mode="off")

    run(conn, plan.render("up"), False)
    conn.execute("INSERT INTO \"user account\" (email) VALUES ('new@x.org')")

    assert conn.execute("SELECT max(id) FROM \"user account\"").fetchone() == (11,)


def test_only_renames_use_alter_table_alone():
    plan = plan_rebuild(database(SHOP), USER, Changes(renames=(("nickname", "handle"),)), fk_mode="on")

    assert plan.statements("up") == ['ALTER TABLE "user account" RENAME COLUMN "nickname" TO "handle";']
    assert plan.statements("down") == ['ALTER TABLE "user account" RENAME COLUMN "handle" TO "nickname";']
    assert not plan.rebuilt


# -- refusals ------------------------------------------------------------------------

USAGE_CASES = [
    ("no such table", "nope", Changes(nullable=("a",)), "no table 'nope'"),
    ("a view", "user_posts", Changes(nullable=("a",)), "is a view"),
    ("no such column", USER, Changes(nullable=("nope",)), "has no column 'nope'"),
    ("nothing changes", USER, Changes(defaults=(("order", "0"),)), "change nothing"),
    ("already NOT NULL", USER, Changes(not_null=("email",)), "already NOT NULL"),
    ("not NOT NULL", USER, Changes(nullable=("bio",)), "not declared NOT NULL"),
    ("no default to drop", USER, Changes(drop_defaults=("bio",)), "has no DEFAULT"),
    ("no foreign key to drop", USER, Changes(drop_fks=("bio",)), "has no foreign key"),
    ("drop the primary key", "team", Changes(drops=("id",)), "PRIMARY KEY"),
    ("drop a referenced column", USER, Changes(drops=("id",), pk=("email",)), "references"),
    ("an option on a dropped column", USER, Changes(drops=("bio",), types=(("bio", "TEXT"),)), "dropped by --drop"),
    ("a bad type", USER, Changes(types=(("bio", "TEXT, x INT"),)), "not a column type"),
    ("SQLite refuses the definition", USER, Changes(defaults=(("bio", "(SELECT 1)"),)), "SQLite rejects"),
    ("a foreign key to a column that is not unique", USER, Changes(add_fks=(ForeignKeySpec("team_id", "team", "name"),)), "does not fit"),
    ("a foreign key to nowhere", USER, Changes(add_fks=(ForeignKeySpec("team_id", "nope", "id"),)), "no table 'nope'"),
    ("a bad ON DELETE", USER, Changes(add_fks=(ForeignKeySpec("team_id", "team", "id", "EXPLODE"),)), "--on-delete"),
    ("a rename onto an existing column", USER, Changes(renames=(("bio", "email"),)), "SQLite refuses"),
    ("a column named twice", USER, Changes(column_order=("email", "EMAIL")), "named twice"),
    ("the primary key it already has", USER, Changes(pk=("ID",)), "change nothing"),
]


@pytest.mark.parametrize("table,changes,message", [c[1:] for c in USAGE_CASES], ids=[c[0] for c in USAGE_CASES])
def test_requests_that_do_not_fit_the_table_are_refused_with_one_sentence(table, changes, message):
    with pytest.raises(UsageError) as error:
        plan_rebuild(database(SHOP), table, changes, fk_mode="off")

    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_foreign_key_cycle_is_refused_when_enforcement_may_be_on_and_fine_when_off():
    conn = database("CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER REFERENCES b (id));"
                    "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id));")

    for mode in ("on", "unknown"):
        with pytest.raises(RebuildRefused, match="cycle"):
            plan_rebuild(conn, "a", Changes(types=(("b_id", "INT"),)), fk_mode=mode)
    assert plan_rebuild(conn, "a", Changes(types=(("b_id", "INT"),)), fk_mode="off").rebuilt


def test_dropping_a_column_a_trigger_uses_is_warned_about():
    plan = plan_rebuild(database(SHOP), USER, Changes(drops=("bio",)), fk_mode="off")

    assert any("trg_comment_added" in w for w in plan.warnings)


def test_names_are_quoted_everywhere():
    odd = 'CREATE TABLE "we""ird table" ("select" INTEGER PRIMARY KEY, "a b" TEXT NOT NULL, [x] INT);' \
          'CREATE INDEX "i ""q""" ON "we""ird table" ("a b");' \
          'CREATE TABLE "ch ild" (p INTEGER REFERENCES "we""ird table" ("select") ON DELETE CASCADE);' \
          'INSERT INTO "we""ird table" VALUES (1, \'z\', 2); INSERT INTO "ch ild" VALUES (1);'
    for mode in ("off", "on", "unknown"):
        conn = database(odd, foreign_keys=mode != "off")
        plan = plan_rebuild(conn, 'we"ird table', Changes(nullable=("a b",), renames=(("x", "from"),)), fk_mode=mode)

        run(conn, plan.render("up"), False)

        assert rows(conn, "ch ild") == [(1, 1)]
        assert [r[1] for r in conn.execute("""SELECT * FROM pragma_table_info('we"ird table')""")] == ["select", "a b", "from"]
