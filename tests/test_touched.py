"""mwcore.touched: what SQLite's authorizer says a statement touches."""

from __future__ import annotations

import pytest

from mwcore.engine import run_script, scratch as connect
from mwcore.touched import TouchRecorder

SCHEMA = """
CREATE TABLE p(id INTEGER PRIMARY KEY, n TEXT);
CREATE TABLE c(id INTEGER PRIMARY KEY, p_id INT REFERENCES p(id) ON DELETE CASCADE, n TEXT);
CREATE TABLE g(id INTEGER PRIMARY KEY, c_id INT REFERENCES c(id) ON DELETE SET NULL);
CREATE TABLE audit(what TEXT);
CREATE TRIGGER c_audit AFTER DELETE ON c BEGIN INSERT INTO audit VALUES ('c'); END;
CREATE VIEW pv AS SELECT n FROM p;
CREATE TABLE schema_migrations(version uint64, dirty bool);
INSERT INTO p VALUES (1, 'a'); INSERT INTO c VALUES (1, 1, 'x'); INSERT INTO g VALUES (1, 1);
"""

# (sql, foreign keys on, schema, written, read, renamed)
CASES = [
    ("CREATE TABLE t(x);", False, {"t"}, {"t"}, set(), False),
    ("DROP TABLE audit;", False, {"audit"}, {"audit"}, set(), False),
    ("CREATE INDEX c_n ON c(n);", False, {"c"}, set(), {"c"}, False),
    ("CREATE TRIGGER t1 AFTER INSERT ON p BEGIN SELECT 1; END;", False, {"p"}, set(), set(), False),
    ("DROP VIEW pv;", False, {"pv"}, set(), set(), False),
    ("INSERT INTO audit SELECT n FROM p;", False, set(), {"audit"}, {"p"}, False),
    ("UPDATE p SET n = 'b';", False, set(), {"p"}, set(), False),
    ("DELETE FROM c;", False, set(), {"c", "audit"}, set(), False),  # the trigger's INSERT counts
    ("DELETE FROM p;", True, set(), {"p", "c", "g", "audit"}, set(), False),  # CASCADE, SET NULL, trigger
    ("DELETE FROM p;", False, set(), {"p"}, set(), False),  # foreign keys off: no action runs
    ("ALTER TABLE c ADD COLUMN z INT;", False, {"c"}, {"c"}, set(), False),
    ("ALTER TABLE c DROP COLUMN n;", False, {"c"}, {"c"}, set(), False),
    ("ALTER TABLE p RENAME TO p2;", False, {"p"}, {"p"}, set(), True),
    ("ALTER TABLE p RENAME COLUMN n TO name;", False, {"p"}, {"p"}, set(), True),
    ("CREATE TEMP TABLE tmp AS SELECT * FROM p;", False, set(), set(), {"p"}, False),
    ("UPDATE schema_migrations SET dirty = 1;", False, set(), set(), set(), False),
]


@pytest.mark.parametrize("sql,fk,schema,written,read,renamed", CASES, ids=[c[0] for c in CASES])
def test_recorder_reports_what_sqlite_touches(sql, fk, schema, written, read, renamed):
    conn = connect(foreign_keys=fk)
    assert run_script(conn, SCHEMA, wrap=False).ok
    recorder = TouchRecorder(conn, ignore={"schema_migrations"})
    recorder.start()
    assert run_script(conn, sql).ok
    touched = recorder.stop()
    assert (touched.schema, touched.written, touched.read, touched.renamed) == (schema, written, read, renamed)


def test_a_statement_python_has_cached_is_still_reported():
    """Python's statement cache would run an identical statement without
    preparing it, and SQLite calls the authorizer only while preparing;
    start() reinstalls the authorizer, which expires every statement."""
    conn = connect()
    assert run_script(conn, SCHEMA, wrap=False).ok
    recorder = TouchRecorder(conn)
    for _ in range(2):
        recorder.start()
        conn.execute("UPDATE p SET n = 'b'")
        assert recorder.stop().written == {"p"}


def test_nothing_is_recorded_outside_start_and_stop():
    conn = connect()
    assert run_script(conn, SCHEMA, wrap=False).ok
    recorder = TouchRecorder(conn)
    recorder.start()
    recorder.stop()
    conn.execute("UPDATE p SET n = 'c'")
    recorder.start()
    assert recorder.stop().written == set()


def test_the_guard_decides_before_the_recorder_sees_anything(tmp_path, monkeypatch):
    """The recorder observes the engine's authorizer: what the guard refuses
    never runs, so nothing of it is recorded."""
    monkeypatch.chdir(tmp_path)
    conn = connect()
    assert run_script(conn, SCHEMA, wrap=False).ok
    recorder = TouchRecorder(conn)
    recorder.start()
    result = run_script(conn, "ATTACH 'side.db' AS side;\nDELETE FROM side.p;")
    touched = recorder.stop()
    assert not result.ok and result.kind == "refused" and result.line == 1
    assert (touched.schema, touched.written, touched.read) == (set(), set(), set())
    assert list(tmp_path.iterdir()) == []
