"""The proof (mwcore.rebuild_proof) passes a correct rebuild and catches each
way a hand-written one goes wrong: every broken variant below is a real
defect, and the proof must name the check it breaks."""

from __future__ import annotations

import dataclasses

import pytest

from mwcore.rebuild import Changes, ForeignKeySpec, SqlStep, plan_rebuild
from mwcore.rebuild_proof import CHECKS, prove

from rebuild_cases import SHOP, SHOP_ROWS, USER, database


@pytest.fixture(scope="module")
def base():
    return database(SHOP, SHOP_ROWS)


def plan_for(base, mode="off", changes=Changes(nullable=("score",))):
    return plan_rebuild(base, USER, changes, fk_mode=mode)


@pytest.mark.parametrize("mode,modes", [("off", ["off"]), ("on", ["on"]), ("unknown", ["on", "off"])])
def test_a_correct_rebuild_passes_every_check_with_enforcement_as_the_project_runs(base, mode, modes):
    proof = prove(base, plan_for(base, mode))

    assert proof.ok, proof.failures
    assert proof.checks == {name: "ok" for name in CHECKS}
    assert proof.modes == modes
    assert set(proof.sample_rows) == {USER, "post", "comment", "follow"}
    assert proof.sample_rows[USER] > 3 and proof.sample_rows["comment"] > 3


def without(steps, predicate):
    return [s for s in steps if not predicate(s.sql)]


BROKEN_UPS = [
    ("an index is not recreated", lambda up: without(up, lambda sql: sql.startswith("CREATE INDEX idx_user_nick")),
     "other_objects_unchanged"),
    ("a trigger is not recreated", lambda up: without(up, lambda sql: sql.startswith("CREATE TRIGGER trg_user_touch")),
     "other_objects_unchanged"),
    ("a view is not recreated", lambda up: without(up, lambda sql: sql.startswith("CREATE VIEW user_posts")),
     "schema_compiles"),
    ("the AUTOINCREMENT counter is not carried over", lambda up: without(up, lambda sql: "sqlite_sequence" in sql),
     "rows_kept"),
    ("a row is lost", lambda up: up + [SqlStep('DELETE FROM "user account" WHERE id = 3;')], "rows_kept"),
    ("the change is not made", lambda up: [SqlStep(s.sql.replace("score       REAL DEFAULT", "score REAL NOT NULL DEFAULT")) for s in up],
     "new_shape"),
    ("another table gets an index", lambda up: up + [SqlStep("CREATE INDEX audit_what ON audit (what);")], "other_objects_unchanged"),
    ("a view changes", lambda up: [SqlStep(s.sql.replace("SELECT u.email, p.title", "SELECT u.email, p.id")) for s in up],
     "other_objects_unchanged"),
    ("a referencing row is changed", lambda up: up + [SqlStep("UPDATE follow SET note = 'x' WHERE note = 'b';")], "rows_kept"),
    ("the old table is renamed away first (children follow the rename)", lambda up: rename_away(up), "up"),  # the guard in the file catches it
]


def rename_away(up):
    """The rebuild real projects get wrong: rename the old table away, create
    the new one under the real name, copy, drop the old one."""
    out = []
    for step in up:
        sql = step.sql
        if sql.startswith('CREATE TABLE "user account_new"'):
            out.append(SqlStep('ALTER TABLE "user account" RENAME TO "user account_old";'))
            out.append(SqlStep(sql.replace('"user account_new"', '"user account"')))
        elif sql.startswith('INSERT INTO "user account_new"'):
            out.append(SqlStep(sql.replace('"user account_new"', '"user account"').replace('FROM "user account";', 'FROM "user account_old";')))
        elif sql.startswith('DROP TABLE "user account"'):
            out.append(SqlStep('DROP TABLE "user account_old";'))
        elif not sql.startswith(('ALTER TABLE "user account_new"', "INSERT INTO sqlite_sequence")):
            out.append(step)
    return out


@pytest.mark.parametrize("breaking,check", [c[1:] for c in BROKEN_UPS], ids=[c[0] for c in BROKEN_UPS])
def test_a_broken_up_fails_the_proof_and_names_the_check(base, breaking, check):
    plan = plan_for(base)
    broken = dataclasses.replace(plan, up=breaking(list(plan.up)))

    proof = prove(base, broken)

    assert not proof.ok
    assert proof.checks[check] == "failed", proof.failures


def test_sql_for_enforcement_off_run_with_enforcement_on_fails_the_proof(base):
    plan = dataclasses.replace(plan_for(base, "off"), fk_mode="on")

    proof = prove(base, plan)

    assert proof.checks["rows_kept"] == "failed"
    assert any("post" in f or "comment" in f or "follow" in f for f in proof.failures)


def test_a_down_that_forgets_an_index_fails_the_round_trip(base):
    plan = plan_for(base)
    broken = dataclasses.replace(plan, down=without(plan.down, lambda sql: sql.startswith("CREATE UNIQUE INDEX idx_user_order")))

    proof = prove(base, broken)

    assert proof.checks["down_restores_schema"] == "failed"
    assert "idx_user_order" in " ".join(proof.failures)


def test_a_down_that_cannot_restore_a_dropped_not_null_column_fails_with_the_fix():
    base = database("CREATE TABLE k (id INTEGER PRIMARY KEY, score REAL NOT NULL);")
    plan = plan_rebuild(base, "k", Changes(drops=("score",)), fk_mode="off")

    proof = prove(base, plan)

    assert proof.checks["down"] == "failed"
    assert "--down-fill score EXPR" in proof.failures[0]


def test_the_fill_is_exercised_on_a_sample_row_with_null(base):
    plan = plan_rebuild(base, USER, Changes(not_null=("bio",), fills=(("bio", "'-'"),)), fk_mode="off")
    broken = dataclasses.replace(plan, up=[SqlStep(s.sql.replace("COALESCE(\"bio\", '-')", "\"bio\"")) for s in plan.up])

    assert prove(base, plan).ok
    assert prove(base, broken).checks["up"] == "failed"


def test_no_fill_is_proven_to_fail_on_a_null_row_and_a_plan_that_would_not_is_caught():
    base = database(SHOP)
    plan = plan_rebuild(base, USER, Changes(not_null=("bio",), no_fill=True), fk_mode="off")
    # The same plan with a fill slipped into its copy no longer fails as it says.
    def fill(sql):
        lines = sql.split("\n")
        return "\n".join(line.replace('"bio"', "COALESCE(\"bio\", '-')") if line.startswith("SELECT") else line
                         for line in lines)

    filled = dataclasses.replace(plan, up=[SqlStep(fill(s.sql), s.comment) for s in plan.up])
    assert any("COALESCE" in s.sql for s in filled.up)

    proof = prove(base, plan)
    assert proof.ok, proof.failures
    assert any(n.startswith("--no-fill checked") and "NOT NULL constraint failed" in n for n in proof.notes)
    broken = prove(base, filled)
    assert broken.checks["up"] == "failed" and "should fail" in broken.failures[0]


def test_sample_rows_that_a_new_check_refuses_are_left_out_and_an_empty_table_is_noted():
    base = database("CREATE TABLE k (id INTEGER PRIMARY KEY, v TEXT);")

    proof = prove(base, plan_rebuild(base, "k", Changes(checks=("v = 'never'",)), fk_mode="off"))

    assert proof.ok
    assert proof.sample_rows == {"k": 0}
    assert proof.notes and "empty" in proof.notes[0]


def test_a_new_self_reference_points_only_at_sample_rows_the_new_shape_keeps():
    base = database("CREATE TABLE cat (id INTEGER PRIMARY KEY, name TEXT, parent INTEGER);")
    changes = Changes(add_fks=(ForeignKeySpec("parent", "cat", "id"),), checks=("id % 2 = 0",))

    proof = prove(base, plan_rebuild(base, "cat", changes, fk_mode="unknown"))

    assert proof.ok, proof.failures
    assert proof.sample_rows["cat"] >= 1
