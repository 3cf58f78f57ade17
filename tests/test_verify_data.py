"""mwcore.replay on data: what synthetic and real rows may and may not be
blamed for. Findings a database already had are never a version's; a step
that fails only because of synthetic rows is `data-dependent`, not `failed`;
with a real database, pre-checks name the rows that break a version; after
each up, triggers fire once so one broken by a DROP COLUMN or a RENAME shows
at the version that broke it. Real migrations on real SQLite throughout."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Dict, Optional

import pytest

from mwcore import engine
from mwcore.folder import read_sql, scan_folder
from mwcore.replay import ReplayOptions, ReplayReport, StepVerdict, replay

from conftest import write_files


def run(tmp_path: Path, files: Dict[str, str], *, db: Optional[Path] = None, **options) -> ReplayReport:
    folder = write_files(tmp_path / "migrations", files)
    model = scan_folder(folder)
    texts = {f.name: read_sql(model.file_path(f)).text for f in model.all_files()}
    fk = options.get("foreign_keys", False)
    if db is None:
        start = lambda: engine.scratch(foreign_keys=fk)  # noqa: E731
    else:
        pristine = engine.copy_of_user_db(db)
        start = lambda: engine.copy(pristine, foreign_keys=fk)  # noqa: E731
        pass
    return replay(model, texts, start, ReplayOptions(cross_check=True, **options))


def real_db(tmp_path: Path, sql: str, version: int) -> Path:
    """A database file as golang-migrate leaves it at `version`, written by
    plain sqlite3 (as the user's application would)."""
    path = tmp_path / "app.db"
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.executescript(sql)
    conn.execute("CREATE TABLE schema_migrations (version uint64,dirty bool)")
    conn.execute("CREATE UNIQUE INDEX version_unique ON schema_migrations (version)")
    conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (version,))
    conn.close()
    return path


def verdict(report: ReplayReport, version: int) -> StepVerdict:
    return next(s for s in report.steps if s.version == version)


# Findings a database already had ---------------------------------------------------

PARENT_CHILD = ("CREATE TABLE p(id INTEGER PRIMARY KEY);\n"
                "CREATE TABLE c(code TEXT PRIMARY KEY, note TEXT, p_id INT REFERENCES p(id));")
# A rebuild of the child that adds a foreign key in front of the old one (so
# the old key's position changes) and copies rows in another order (so their
# rowids change): the same dangling reference, found under another rowid and
# fkid.
REBUILD_CHILD = {
    "1_p.up.sql": PARENT_CHILD,
    "1_p.down.sql": "DROP TABLE c;\nDROP TABLE p;",
    "2_owner.up.sql": (
        "CREATE TABLE c_new(code TEXT PRIMARY KEY, owner_id INT REFERENCES p(id), note TEXT, p_id INT REFERENCES p(id));\n"
        "INSERT INTO c_new(code, note, p_id) SELECT code, note, p_id FROM c ORDER BY code DESC;\n"
        "DROP TABLE c;\nALTER TABLE c_new RENAME TO c;"),
    "2_owner.down.sql": (
        "CREATE TABLE c_old(code TEXT PRIMARY KEY, note TEXT, p_id INT REFERENCES p(id));\n"
        "INSERT INTO c_old(code, note, p_id) SELECT code, note, p_id FROM c;\n"
        "DROP TABLE c;\nALTER TABLE c_old RENAME TO c;"),
}


def test_a_dangling_reference_the_real_database_had_is_not_blamed_on_the_version_that_moves_it(tmp_path):
    db = real_db(tmp_path, PARENT_CHILD + "\nINSERT INTO p VALUES (1);\n"
                 "INSERT INTO c VALUES ('a', 'x', 1), ('b', 'orphan', 99), ('z', 'fine', 1);", 1)
    report = run(tmp_path, REBUILD_CHILD, db=db)
    step = verdict(report, 2)
    assert step.integrity == "ok", step.problems
    assert report.ok


def test_a_dangling_reference_a_version_adds_is_still_its_own(tmp_path):
    db = real_db(tmp_path, PARENT_CHILD + "\nINSERT INTO p VALUES (1);\n"
                 "INSERT INTO c VALUES ('a', 'x', 1), ('b', 'orphan', 99);", 1)
    files = dict(REBUILD_CHILD)
    files["2_owner.up.sql"] += "\nINSERT INTO c(code, p_id) VALUES ('new', 99);"
    files["2_owner.down.sql"] = "DELETE FROM c WHERE code = 'new';\n" + files["2_owner.down.sql"]
    step = verdict(run(tmp_path, files, db=db), 2)
    assert step.integrity == "failed"
    # One new row (the same dangling value as the old one: counted by occurrence).
    assert "after the up, foreign_key_check: 1 row of c points to a missing row of p (c.p_id -> p(id))" in \
        [p.message for p in step.problems]


def test_a_dangling_reference_is_recognised_after_the_table_is_renamed(tmp_path):
    db = real_db(tmp_path, PARENT_CHILD + "\nINSERT INTO p VALUES (1);\nINSERT INTO c VALUES ('b', 'orphan', 99);", 1)
    files = {"1_p.up.sql": PARENT_CHILD, "1_p.down.sql": "DROP TABLE c;\nDROP TABLE p;",
             "2_rename.up.sql": "ALTER TABLE c RENAME TO child;", "2_rename.down.sql": "ALTER TABLE child RENAME TO c;"}
    report = run(tmp_path, files, db=db)
    assert report.ok, [str(p) for s in report.steps for p in s.problems]


def test_a_dangling_reference_is_blamed_once_on_the_version_that_made_it(tmp_path):
    # Version 1's own data leaves a child pointing nowhere (enforcement off):
    # that is version 1's finding; version 2, which only moves the row, is fine.
    files = dict(REBUILD_CHILD)
    files["1_p.up.sql"] = PARENT_CHILD + "\nINSERT INTO c(code, p_id) VALUES ('seed', 42);"
    report = run(tmp_path, files)
    assert verdict(report, 1).integrity == "failed"
    assert "1 row of c points to a missing row of p" in verdict(report, 1).error
    assert verdict(report, 2).integrity == "ok", verdict(report, 2).problems


# The replay's data check ---------------------------------------------------------

BASE = {
    "1_base.up.sql": "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INT);\nCREATE INDEX t_a ON t(a);",
    "1_base.down.sql": "DROP TABLE t;",
}


def test_a_down_that_loses_some_rows_and_changes_others_reports_both(tmp_path):
    # The down deletes one synthetic row and leaves another with other values:
    # each is its own problem, neither hides the other.
    report = run(tmp_path, {
        **BASE,
        "2_flag.up.sql": "UPDATE t SET b = b + 1 WHERE id = (SELECT min(id) FROM t);",
        "2_flag.down.sql": "DELETE FROM t WHERE id = (SELECT max(id) FROM t);",
    })
    step = verdict(report, 2)
    messages = [p.message for p in step.problems]
    assert step.data == "failed"
    assert any(m.startswith("after the down, 1 of 3 synthetic rows of t are gone") for m in messages), messages
    assert any(m.startswith("after the down, 1 of 3 synthetic rows of t are back with other values") for m in messages), messages
