"""The linter's engine: the schema mirror, the scratch-database chain of ups
and downs, and what it does with statements that misbehave."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mwcore import engine
from mwcore.lint.tracker import SchemaTracker, first_word

from conftest import EXAMPLE_MIGRATIONS
from lintkit import codes, lint, lint_files

# -- the schema mirror ------------------------------------------------------------------

NAMES = ["t1", "t2", "T1", "v1", "i1", "g1", "x"]


@st.composite
def ddl(draw):
    table = draw(st.sampled_from(["t1", "t2", "T1", "x"]))
    other = draw(st.sampled_from(NAMES))
    column = draw(st.sampled_from(["a", "b", "c"]))
    return draw(st.sampled_from([
        f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, a TEXT UNIQUE, b INTEGER REFERENCES {other} (id))",
        f"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY, a TEXT)",
        f"CREATE INDEX {other} ON {table} (a)",
        f"CREATE TRIGGER {other} AFTER INSERT ON {table} BEGIN SELECT 1; END",
        f"CREATE VIEW {other} AS SELECT * FROM {table}",
        f"DROP TABLE {table}", f"DROP TABLE IF EXISTS main.{table}", f"DROP INDEX {other}",
        f"DROP TRIGGER {other}", f"DROP VIEW {other}",
        f"ALTER TABLE {table} RENAME TO {other}", f"ALTER TABLE main.{table} ADD COLUMN {column} TEXT",
        f"ALTER TABLE {table} DROP COLUMN {column}", f"ALTER TABLE {table} RENAME COLUMN {column} TO z",
        f"CREATE TEMP TABLE {table} (a)", f"INSERT INTO {table} (a) VALUES (1)",
        f"CREATE VIRTUAL TABLE {table} USING fts5(a)",
    ]))


def full(conn):
    return {(t == "trigger", n.lower()): (t, n, tb, s) for t, n, tb, s in
            conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master") if not n.startswith("sqlite_")}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ddl(), max_size=25))
def test_mirror_and_changes_agree_with_sqlite_master_after_every_statement(statements):
    conn = sqlite3.connect(":memory:", isolation_level=None)
    tracker = SchemaTracker(conn, verify=True)  # verify re-reads everything and asserts
    for sql in statements:
        before = full(conn)
        keyword = first_word(sql)
        token = tracker.prepare(keyword)
        try:
            conn.execute(sql)
        except sqlite3.Error:
            pass
        change = tracker.changes(keyword, sql, token)
        after = full(conn)
        applied = dict(before)
        for obj in change.dropped:
            del applied[obj.key]
        for obj in change.created:
            applied[obj.key] = obj[:4]
        for _old, new in change.altered:
            applied[new.key] = new[:4]
        assert {k: tuple(v) for k, v in applied.items()} == after, sql


def test_a_rename_is_reported_as_one_table_renamed_and_the_references_rewritten():
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript("CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE INDEX pi ON p (id);"
                       "CREATE TABLE c (p_id REFERENCES p (id));")
    tracker = SchemaTracker(conn)
    conn.execute("ALTER TABLE p RENAME TO p_old")
    change = tracker.changes("ALTER", "ALTER TABLE p RENAME TO p_old", None)
    (old, new), = change.renamed
    assert (old.name, new.name) == ("p", "p_old")
    assert sorted(after.name for _before, after in change.altered) == ["c", "pi"]


# -- the chain of ups and downs ---------------------------------------------------------

CHAIN = {
    "000001_a.up.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);\n",
    "000001_a.down.sql": "DROP TABLE a;\n",
    "000002_b.up.sql": "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id));\n",
    "000002_b.down.sql": "DROP TABLE b;\n",
}


def test_virtual_tables_and_their_shadow_tables_come_and_go_together(tmp_path):
    files = {**CHAIN, "000003_search.up.sql": "CREATE VIRTUAL TABLE search USING fts5(body);\n",
             "000003_search.down.sql": "DROP TABLE search;\n"}
    assert lint_files(tmp_path, files).findings == []


def test_a_table_renamed_then_dropped_is_a_drop_not_a_rebuild(tmp_path):
    files = {**CHAIN,
             "000003_c.up.sql": "CREATE TABLE c (id INTEGER PRIMARY KEY, v TEXT);\nCREATE INDEX c_v ON c (v);\n",
             "000003_c.down.sql": "DROP TABLE c;\n",
             "000004_retire_c.up.sql": "ALTER TABLE c RENAME TO c_old;\nDROP TABLE c_old;\n",
             "000004_retire_c.down.sql": "CREATE TABLE c (id INTEGER PRIMARY KEY, v TEXT);\nCREATE INDEX c_v ON c (v);\n"}
    result = lint_files(tmp_path, files)
    assert [(f.file, f.line, f.code) for f in result.findings] == [("000004_retire_c.up.sql", 2, "MW501")]
    assert "c_old (formerly c)" in result.findings[0].message


def test_a_wrong_down_does_not_spill_into_the_checks_of_older_downs(tmp_path):
    files = {**CHAIN,
             "000003_c.up.sql": "CREATE TABLE c (id INTEGER PRIMARY KEY);\n",
             "000003_c.down.sql": "DROP TABLE c;\nDROP TABLE b;\n"}  # drops b too
    result = lint_files(tmp_path, files)
    # Down 3 is wrong; down 2 must still run against a schema that has b.
    assert [(f.file, f.code) for f in result.findings] == [("000003_c.down.sql", "MW402")]


def test_a_down_may_spell_an_object_differently(tmp_path):
    files = {**CHAIN,
             "000003_c.up.sql": "DROP INDEX IF EXISTS no_such_index;\nCREATE INDEX b_a ON b (a_id);\n",
             "000003_c.down.sql": "drop index b_a;\n",
             "000004_d.up.sql": "DROP INDEX b_a;\n",
             "000004_d.down.sql": "-- same index, other spelling\nCREATE   INDEX \"b_a\"\n  ON b(a_id);\n"}
    assert lint_files(tmp_path, files).findings == []


def test_a_down_that_forgets_an_object_is_found_and_the_older_downs_stay_clean(tmp_path):
    files = {**CHAIN,
             "000003_c.up.sql": "CREATE TABLE c (id INTEGER PRIMARY KEY);\nCREATE INDEX ci ON c (id);\n",
             "000003_c.down.sql": "DROP INDEX ci;\n"}
    result = lint_files(tmp_path, files)
    assert [(f.file, f.code) for f in result.findings] == [("000003_c.down.sql", "MW401")]


def test_a_failed_up_is_named_in_the_errors_that_may_follow_from_it(tmp_path):
    files = {"000001_a.up.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);\nCREATE TABLE b (x) garbage;\n",
             "000001_a.down.sql": "DROP TABLE a;\n",
             "000002_b.up.sql": "INSERT INTO b (x) VALUES (1);\n",
             "000002_b.down.sql": "DELETE FROM b WHERE x = 1;\n"}
    result = lint_files(tmp_path, files)
    errors = [(f.file, f.line, f.code) for f in result.findings]
    assert errors == [("000001_a.up.sql", 2, "MW101"), ("000002_b.up.sql", 1, "MW101")]
    assert "000001_a.up.sql failed earlier" in result.findings[1].message


def test_a_statement_that_ends_the_transaction_is_reported_and_checking_goes_on(tmp_path):
    files = {**CHAIN,
             "000003_guard.up.sql": ("CREATE TABLE g (n INTEGER);\n"
                                     "CREATE TRIGGER g_stop BEFORE INSERT ON g BEGIN SELECT RAISE(ROLLBACK, 'stop'); END;\n"
                                     "INSERT INTO g VALUES (1);\n"),
             "000003_guard.down.sql": "DROP TABLE g;\n",
             "000004_d.up.sql": "CREATE TABLE d (id INTEGER PRIMARY KEY);\nINSERT INTO nope VALUES (1);\n",
             "000004_d.down.sql": "DROP TABLE d;\n"}
    result = lint_files(tmp_path, files)
    found = [(f.file, f.line, f.code) for f in result.findings]
    assert ("000003_guard.up.sql", 3, "MW101") in found
    assert ("000004_d.up.sql", 2, "MW101") in found
    assert "stop" in result.findings[0].message


@pytest.fixture
def small_budget():
    engine.configure(engine.Limits(file_seconds=0.3, run_seconds=60))
    yield
    engine.reset()


def test_a_statement_that_never_ends_is_stopped(tmp_path, small_budget):
    loop = "INSERT INTO n WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c;\n"
    files = {**CHAIN, "000003_loop.up.sql": "CREATE TABLE n (v INTEGER);\n" + loop * 5,
             "000003_loop.down.sql": "DROP TABLE n;\n"}
    started = time.monotonic()
    result = lint_files(tmp_path, files)
    assert time.monotonic() - started < 10  # one budget for the file, not one per statement
    (finding,) = result.findings
    assert (finding.code, finding.line) == ("MW101", 2) and "did not finish within 0.3 s" in finding.message


def test_after_a_file_runs_out_of_time_the_linter_still_reads_a_large_schema(tmp_path, small_budget):
    """The file's budget stops the migration's statements, not the linter's
    own reading of sqlite_master after each of them."""
    tables = "".join(f"CREATE TABLE t{i} (id INTEGER PRIMARY KEY, a TEXT, b TEXT);\n" for i in range(600))
    loop = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c;\n"
    files = {**CHAIN, "000003_many.up.sql": tables, "000003_many.down.sql": "",
             "000004_loop.up.sql": loop + "ALTER TABLE t1 ADD COLUMN c TEXT;\nDROP TABLE t2;\n",
             "000004_loop.down.sql": "SELECT 1;\n"}
    result = lint_files(tmp_path, files, "--allow-missing-down")
    assert ("000004_loop.up.sql", 1, "MW101") in [(f.file, f.line, f.code) for f in result.findings]


def test_attach_is_refused_by_the_guard(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = {**CHAIN, "000003_attach.up.sql": "ATTACH DATABASE 'side.db' AS side;\nCREATE TABLE side.t (a);\n",
             "000003_attach.down.sql": "SELECT 1;\n"}
    result = lint_files(tmp_path / "x", files)
    assert [(f.file, f.line, f.code) for f in result.findings] == [("000003_attach.up.sql", 1, "MW102")]
    assert "ATTACH opens 'side.db'" in result.findings[0].message
    assert not (tmp_path / "side.db").exists()


def test_bom_and_crlf_are_read_like_sqlite_reads_them(tmp_path):
    files = {**CHAIN, "000003_c.up.sql": "\ufeff-- fix\r\nUPDATE a SET id = id;\r\nUPDATE b SET id = id WHERE id > 0;\r\n",
             "000003_c.down.sql": "\ufeffSELECT 1;\r\n"}
    result = lint_files(tmp_path, files)
    # The UPDATE without WHERE is on line 2, column 1; nothing else is wrong.
    assert [(f.code, f.line, f.col) for f in result.findings] == [("MW503", 2, 1)]
    files["000003_c.up.sql"] = "\ufeffUPDATE nope SET id = 1;\r\n"
    (finding,) = lint_files(tmp_path / "again", files).findings
    assert (finding.code, finding.line, finding.col) == ("MW101", 1, 1)


# -- the example module's rebuild -------------------------------------------------------


def copy_example(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    shutil.copytree(EXAMPLE_MIGRATIONS, target)
    return target


def test_a_rebuild_need_not_bring_back_an_index_on_a_column_it_removes(tmp_path):
    files = {**CHAIN,
             "000003_c.up.sql": "CREATE TABLE c (id INTEGER PRIMARY KEY, v TEXT, w TEXT);\nCREATE INDEX c_v ON c (v);\n"
                                "CREATE INDEX c_w ON c (w);\n",
             "000003_c.down.sql": "DROP TABLE c;\n",
             "000004_drop_v.up.sql": ("CREATE TABLE c_new (id INTEGER PRIMARY KEY, w TEXT);\n"
                                      "INSERT INTO c_new (id, w) SELECT id, w FROM c;\n"
                                      "DROP TABLE c;\nALTER TABLE c_new RENAME TO c;\n")}
    result = lint_files(tmp_path, files, "--allow-missing-down")
    found = [(f.file, f.code) for f in result.findings if f.file.startswith("000004")]
    # c_w is lost (MW302); c_v went with its column v (MW502 warns about v's data).
    assert sorted(found) == [("000004_drop_v.up.sql", "MW302"), ("000004_drop_v.up.sql", "MW502")]
    assert "c_w" in next(f.message for f in result.findings if f.code == "MW302")
    assert "c_v" not in next(f.message for f in result.findings if f.code == "MW302")


def test_example_rebuild_recreates_its_index_and_trigger(tmp_path):
    assert codes(lint(copy_example(tmp_path))) == []


@pytest.mark.parametrize("removed,lost", [
    ("CREATE UNIQUE INDEX idx_encoding_preset_name ON encoding_preset (name);\n", "idx_encoding_preset_name"),
    ("CREATE TRIGGER trg_encoding_preset_touch\nAFTER UPDATE ON encoding_preset\nFOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at\n"
     "BEGIN\n    UPDATE encoding_preset SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id;\nEND;\n", "trg_encoding_preset_touch"),
])
def test_example_rebuild_without_one_recreate_step_is_flagged(tmp_path, removed, lost):
    folder = copy_example(tmp_path)
    up = folder / "000002_nullable_preset_bitrate.up.sql"
    text = up.read_text()
    assert removed in text
    up.write_text(text.replace(removed, ""))
    result = lint(folder)
    assert [(f.file, f.code) for f in result.findings] == [(up.name, "MW302")]
    assert lost in result.findings[0].message
