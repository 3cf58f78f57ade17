"""status.py on databases real golang-migrate left dirty: every dirty state,
the hypotheses ranked by how close the real schema is to each, a force
command only when exactly one state matches exactly, and that command run
with the real migrate CLI, followed by a `migrate up` that ends on the
schema a clean replay gives."""

from __future__ import annotations

import shlex
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import pytest

from mwcore.schema import diff, snapshot

from conftest import run_cli, run_json, write_files

pytestmark = pytest.mark.go

CHAIN = {
    "000001_a.up.sql": "CREATE TABLE a(id INTEGER PRIMARY KEY, x TEXT);",
    "000001_a.down.sql": "DROP TABLE a;",
    "000002_b.up.sql": "CREATE TABLE b(id INTEGER PRIMARY KEY, a_id INTEGER);\nCREATE INDEX b_a ON b(a_id);",
    "000002_b.down.sql": "DROP TABLE b;",
    "000003_c.up.sql": "ALTER TABLE a ADD COLUMN c INTEGER;",
    "000003_c.down.sql": "ALTER TABLE a DROP COLUMN c;",
}

# What the user does between golang-migrate runs: SQL on the database.
Step = Union[List[str], str]


@dataclass
class Dirty:
    """A folder, the runs that leave the database dirty, and the verdict."""

    broken: Dict[str, str]  # files that differ from CHAIN while the failure happens
    steps: List[Step]  # golang-migrate runs (lists of goharness ops) and SQL in between
    row: tuple  # the (version, dirty) row golang-migrate leaves
    state: str
    force_to: Optional[int]
    closest: str
    no_tx_wrap: bool = False
    differs: List[str] = field(default_factory=list)  # of the closest state


CASES = {
    "failed up, wrapped": Dirty(
        {"000003_c.up.sql": "ALTER TABLE a ADD COLUMN c INTEGER;\nSELECT * FROM nope;"},
        [["up"]], (3, 1), "failed_up", 2, "failed up of 3"),
    "failed first up": Dirty(
        {"000001_a.up.sql": "CREATE TABLE a(id INTEGER PRIMARY KEY);\nINSERT INTO nope VALUES (1);"},
        [["up"]], (1, 1), "failed_up", -1, "failed up of 1"),
    "failed up, x-no-tx-wrap, nothing landed": Dirty(
        {"000003_c.up.sql": "SELECT * FROM nope;\nALTER TABLE a ADD COLUMN c INTEGER;"},
        [["up"]], (3, 1), "failed_up", 2, "failed up of 3", no_tx_wrap=True),
    "failed down of N+1 (dirty N)": Dirty(
        {"000003_c.down.sql": "DROP TABLE nope;"},
        [["up", "steps:-1"]], (2, 1), "failed_down", 3, "failed down of 3"),
    "failed down of the first version": Dirty(
        {"000001_a.down.sql": "DROP TABLE nope;"},
        [["steps:1", "down"]], (-1, 1), "failed_down", 1, "failed down of 1"),
    # The mutation audit's gap: the schema is already N's, so force N, not N-1.
    "up of N applied, a row-only statement failed (x-no-tx-wrap)": Dirty(
        {"000002_b.up.sql": CHAIN["000002_b.up.sql"] + "\nINSERT INTO b(id, a_id) SELECT 1, id FROM a;"},
        [["steps:1"], "INSERT INTO a(x) VALUES ('one'), ('two');", ["up"]],
        (2, 1), "applied", 2, "up of 2 ran", no_tx_wrap=True),
    "up of N applied, its own COMMIT (wrapped)": Dirty(
        {"000002_b.up.sql": CHAIN["000002_b.up.sql"] + "\nCOMMIT;"},
        [["up"]], (2, 1), "applied", 2, "up of 2 ran"),
    "down of the first version took effect (x-no-tx-wrap)": Dirty(
        {"000001_a.down.sql": "DROP TABLE a;\nDROP TABLE a_log;"},
        [["steps:1", "down"]], (-1, 1), "applied", -1, "down of 1 took effect", no_tx_wrap=True),
    "down of the first version took effect, its own COMMIT (wrapped)": Dirty(
        {"000001_a.down.sql": "DROP TABLE a;\nCOMMIT;"},
        [["steps:1", "down"]], (-1, 1), "applied", -1, "down of 1 took effect"),
    "up of N partly applied (x-no-tx-wrap)": Dirty(
        {"000002_b.up.sql": "CREATE TABLE b(id INTEGER PRIMARY KEY, a_id INTEGER);\n"
                            "INSERT INTO b(id, a_id) SELECT 1, id FROM a;\nCREATE INDEX b_a ON b(a_id);"},
        [["steps:1"], "INSERT INTO a(x) VALUES ('one'), ('two');", ["up"]],
        (2, 1), "partial", None, "up of 2 partly applied", no_tx_wrap=True),
    "down of N+1 partly applied (x-no-tx-wrap)": Dirty(
        {"000002_b.down.sql": "DROP INDEX b_a;\nDROP TABLE nope;\nDROP TABLE b;"},
        [["steps:2", "steps:-1"]], (1, 1), "partial", None, "down of 2 partly applied", no_tx_wrap=True),
}


def _run(go_tools, folder: Path, db: Path, steps: Sequence[Step], no_tx_wrap: bool) -> List[dict]:
    results: List[dict] = []
    for step in steps:
        if isinstance(step, str):
            with sqlite3.connect(str(db)) as conn:
                conn.executescript(step)
        else:
            results += go_tools.run_harness(folder, db, step, no_tx_wrap=no_tx_wrap)
    return results


def _status(folder: Path, db: Path, no_tx_wrap: bool, *extra: str):
    args = ["--dir", str(folder), "--db", str(db), *(["--no-tx-wrap"] if no_tx_wrap else []), *extra]
    code, out = run_json("status.py", *args)
    text = run_cli("status.py", *args).stdout
    return code, out["database"]["recovery"], text


def _migrate(go_tools, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(go_tools.migrate), *argv], capture_output=True, text=True, timeout=120)


def _run_printed(go_tools, command: str) -> subprocess.CompletedProcess:
    argv = shlex.split(command)
    assert argv[0] == "migrate", command
    return _migrate(go_tools, *argv[1:])


def _url(db: Path, no_tx_wrap: bool) -> str:
    return f"sqlite3://{db}" + ("?x-no-tx-wrap=true" if no_tx_wrap else "")


def _query(db: Path, sql: str) -> list:
    conn = sqlite3.connect(str(db))
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _row(db: Path) -> list:
    return _query(db, "SELECT version, dirty FROM schema_migrations")


def _schema(db: Path):
    conn = sqlite3.connect(str(db))
    try:
        return snapshot(conn)
    finally:
        conn.close()


def _clean_replay(go_tools, tmp_path: Path, files: Dict[str, str]):
    folder = write_files(tmp_path / "clean" / "migrations", files)
    db = tmp_path / "clean" / "app.db"
    assert go_tools.run_harness(folder, db, ["up"])[-1]["error"] is None
    return _schema(db)


def _dirty(go_tools, tmp_path: Path, case: Dirty) -> "tuple[Path, Path]":
    folder = write_files(tmp_path / "migrations", {**CHAIN, **case.broken})
    db = tmp_path / "app.db"
    results = _run(go_tools, folder, db, case.steps, case.no_tx_wrap)
    assert results[-1]["error"] is not None and (results[-1]["version"], results[-1]["dirty"]) == (case.row[0], True)
    return folder, db


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_each_dirty_state_is_ranked_and_the_printed_force_works(go_tools, tmp_path, case):
    folder, db = _dirty(go_tools, tmp_path, case)
    before = db.read_bytes()
    code, recovery, text = _status(folder, db, case.no_tx_wrap)
    assert code == 1 and db.read_bytes() == before
    assert (recovery["state"], recovery["force_to"]) == (case.state, case.force_to), recovery
    closest = recovery["hypotheses"][0]
    assert closest["name"] == case.closest and closest["distance"] == 0
    # Exactly one state matches, and only then is a command printed.
    assert [h["distance"] for h in recovery["hypotheses"]].count(0) == 1
    assert bool(recovery["commands"]) is (case.force_to is not None) is ("force" in text and "    migrate " in text)
    assert len(text.splitlines()) <= 15, text
    assert all(set(h) == {"name", "file", "distance", "matches", "differs", "force"} for h in recovery["hypotheses"])
    assert not ("rolled back" in text and "partly applied" in text), text
    assert ("rolled back" in text) is (case.state in ("failed_up", "failed_down") and not case.no_tx_wrap), text
    if case.force_to is None:
        return
    assert recovery["commands"][1] == f"m.Force({case.force_to})"
    assert _run_printed(go_tools, recovery["commands"][0]).returncode == 0
    assert _row(db) == ([] if case.force_to == -1 else [(case.force_to, 0)])
    write_files(folder, CHAIN)  # the user's fix
    url = _url(db, case.no_tx_wrap)
    if case.state == "failed_down":
        retry = _migrate(go_tools, "-path", str(folder), "-database", url, "down", "1")
        assert retry.returncode == 0, retry.stderr
    up = _migrate(go_tools, "-path", str(folder), "-database", url, "up")
    assert up.returncode == 0, up.stderr
    assert _row(db) == [(3, 0)]
    assert diff(_clean_replay(go_tools, tmp_path, CHAIN), _schema(db)) == []


def test_applied_up_is_forced_to_its_own_version_because_the_previous_one_fails(go_tools, tmp_path):
    """The schema of a database dirty at 2 is already version 2's: forcing 1
    (the failed-up advice) makes the next up fail on what is there."""
    case = CASES["up of N applied, a row-only statement failed (x-no-tx-wrap)"]
    folder, db = _dirty(go_tools, tmp_path, case)
    _, recovery, text = _status(folder, db, True)
    assert recovery["commands"][0].endswith(" force 2") and "check those rows" in recovery["explanation"]
    failed_up = next(h for h in recovery["hypotheses"] if h["name"] == "failed up of 2")
    assert failed_up["differs"] == ["table b extra", "index b_a extra"] and failed_up["force"] == 1
    retry = go_tools.run_harness(folder, db, ["force:1", "up"], no_tx_wrap=True)
    assert retry[1]["error"].startswith("table b already exists")


def test_partly_applied_up_lists_what_landed_and_what_did_not(go_tools, tmp_path):
    case = CASES["up of N partly applied (x-no-tx-wrap)"]
    folder, db = _dirty(go_tools, tmp_path, case)
    _, recovery, text = _status(folder, db, True)
    assert (recovery["present"], recovery["absent"]) == (["adds table b"], ["adds index b_a"])
    assert [(c["force"], c["leads_to"].split(";")[0]) for c in recovery["choices"]] == [
        (1, "undo what landed by hand first"), (2, "finish the rest by hand first")]
    assert "force 1: undo" in text and "force 2: finish" in text
    # Finishing by hand makes the state exact: now one force is printed.
    with sqlite3.connect(str(db)) as conn:
        conn.execute("CREATE INDEX b_a ON b(a_id)")
    _, recovery, _ = _status(folder, db, True)
    assert (recovery["state"], recovery["force_to"]) == ("applied", 2)
    assert _run_printed(go_tools, recovery["commands"][0]).returncode == 0
    assert go_tools.run_harness(folder, db, ["up"], no_tx_wrap=True)[-1] == {"op": "up", "error": None, "version": 3,
                                                                              "dirty": False}


def test_partly_applied_down_names_the_down(go_tools, tmp_path):
    case = CASES["down of N+1 partly applied (x-no-tx-wrap)"]
    folder, db = _dirty(go_tools, tmp_path, case)
    _, recovery, _ = _status(folder, db, True)
    assert recovery["failed"] == "000002_b.down.sql"
    assert (recovery["present"], recovery["absent"]) == (["removes index b_a"], ["removes table b"])
    assert [c["force"] for c in recovery["choices"]] == [2, 1]


def test_a_file_that_fails_everywhere_left_part_of_itself(go_tools, tmp_path):
    """Unwrapped, the up of 2 fails on an empty database too: its schema
    cannot be replayed, so nothing matches; the closest state names what is
    extra, and the replay error is reported."""
    folder = write_files(tmp_path / "migrations", {**CHAIN, "000002_b.up.sql": "CREATE TABLE b(id INTEGER PRIMARY KEY);\n"
                                                                                "SELECT * FROM nope;"})
    db = tmp_path / "app.db"
    go_tools.run_harness(folder, db, ["up"], no_tx_wrap=True)
    code, out = run_json("status.py", "--dir", str(folder), "--db", str(db), "--no-tx-wrap")
    recovery = out["database"]["recovery"]
    assert (recovery["state"], recovery["force_to"], recovery["commands"]) == ("no_match", None, [])
    assert recovery["hypotheses"][0]["name"] == "failed up of 2"
    assert recovery["hypotheses"][0]["differs"] == ["table b extra"] and recovery["inspect"] == ["table b"]
    assert [h["distance"] for h in recovery["hypotheses"][1:]] == [None, None]
    assert any("000002_b.up.sql:2: no such table: nope" in p for p in out["problems"])


# The case: a bad down lost indexes earlier, then a down failed ----------------

MOVIES = {
    "000001_movie.up.sql": "CREATE TABLE movie (id INTEGER PRIMARY KEY, title TEXT, year INTEGER, rating REAL);\n"
                           "CREATE INDEX movie_title ON movie (title);\nCREATE INDEX movie_year ON movie (year);\n"
                           "CREATE INDEX movie_rating ON movie (rating);",
    "000001_movie.down.sql": "DROP TABLE movie;",
    # IF NOT EXISTS: re-running it succeeds (as in the project).
    "000002_genre.up.sql": "CREATE TABLE IF NOT EXISTS genre (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
    "000002_genre.down.sql": "DROP TABLE genre;",
    "000003_tagline.up.sql": "CREATE TABLE tag (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
                             "ALTER TABLE movie ADD COLUMN tagline TEXT;\nCREATE INDEX movie_tagline ON movie (tagline);",
    # Fails on SQLite: the column is still indexed.
    "000003_tagline.down.sql": "DROP TABLE tag;\nALTER TABLE movie DROP COLUMN tagline;",
    "000004_title_required.up.sql":
        "CREATE TABLE movie_next (id INTEGER PRIMARY KEY, title TEXT NOT NULL, year INTEGER, rating REAL, tagline TEXT);\n"
        "INSERT INTO movie_next SELECT id, coalesce(title, ''), year, rating, tagline FROM movie;\n"
        "DROP TABLE movie;\nALTER TABLE movie_next RENAME TO movie;\n"
        "CREATE INDEX movie_title ON movie (title);\nCREATE INDEX movie_year ON movie (year);\n"
        "CREATE INDEX movie_rating ON movie (rating);\nCREATE INDEX movie_tagline ON movie (tagline);",
    # The rebuild back forgets three of the four indexes.
    "000004_title_required.down.sql":
        "CREATE TABLE movie_next (id INTEGER PRIMARY KEY, title TEXT, year INTEGER, rating REAL, tagline TEXT);\n"
        "INSERT INTO movie_next SELECT id, title, year, rating, tagline FROM movie;\n"
        "DROP TABLE movie;\nALTER TABLE movie_next RENAME TO movie;\nCREATE INDEX movie_tagline ON movie (tagline);",
}
LOST = ["index movie_rating missing", "index movie_title missing", "index movie_year missing"]


def _lost_indexes(go_tools, tmp_path) -> "tuple[Path, Path]":
    folder = write_files(tmp_path / "migrations", MOVIES)
    db = tmp_path / "app.db"
    runs = go_tools.run_harness(folder, db, ["up", "steps:-1", "steps:-1"])
    assert [(r["version"], r["dirty"]) for r in runs] == [(4, False), (3, False), (2, True)]
    assert "error in index movie_tagline after drop column" in runs[-1]["error"]
    return folder, db


def test_lost_indexes_then_a_failed_down_gets_no_force_but_the_closest_state(go_tools, tmp_path):
    folder, db = _lost_indexes(go_tools, tmp_path)
    code, recovery, text = _status(folder, db, False)
    assert (code, recovery["state"], recovery["force_to"], recovery["commands"]) == (1, "no_match", None, [])
    closest, *others = recovery["hypotheses"]
    assert (closest["name"], closest["file"], closest["differs"]) == ("failed down of 3", "000003_tagline.down.sql", LOST)
    assert closest["distance"] == 3 and all(h["distance"] > 3 for h in others)
    assert [h["name"] for h in others] == ["up of 2 ran", "failed up of 2"]
    assert recovery["inspect"] == [d.replace(" missing", "") for d in LOST]
    assert [c["force"] for c in recovery["choices"]] == [3, 2, 1]
    assert "partly applied" not in text and "rolled back" not in text and "    migrate " not in text
    assert "closest: failed down of 3" in text and "force 1: the next up re-runs 000002_genre.up.sql" in text
    assert len(text.splitlines()) <= 15, text


def test_the_old_advice_for_lost_indexes_re_runs_version_2_and_ends_dirty_at_3(go_tools, tmp_path):
    """What the issue saw after `force 1` and `migrate up`; the choice line
    for force 1 says the next up re-runs version 2."""
    folder, db = _lost_indexes(go_tools, tmp_path)
    runs = go_tools.run_harness(folder, db, ["force:1", "up"])
    assert runs[1]["error"].startswith("table tag already exists") and (runs[1]["version"], runs[1]["dirty"]) == (3, True)


def test_lost_indexes_recreated_make_the_failed_down_exact_and_its_force_works(go_tools, tmp_path):
    folder, db = _lost_indexes(go_tools, tmp_path)
    with sqlite3.connect(str(db)) as conn:  # recreate what status listed, from version 1's up
        conn.executescript("CREATE INDEX movie_title ON movie (title);\nCREATE INDEX movie_year ON movie (year);\n"
                           "CREATE INDEX movie_rating ON movie (rating);")
    _, recovery, _ = _status(folder, db, False)
    assert (recovery["state"], recovery["force_to"], recovery["failed"]) == ("failed_down", 3, "000003_tagline.down.sql")
    assert _run_printed(go_tools, recovery["commands"][0]).returncode == 0
    fixed = {**MOVIES, "000003_tagline.down.sql": "DROP TABLE tag;\nDROP INDEX movie_tagline;\n"
                                                  "ALTER TABLE movie DROP COLUMN tagline;"}
    write_files(folder, fixed)
    for args in (["down", "1"], ["up"]):
        proc = _migrate(go_tools, "-path", str(folder), "-database", f"sqlite3://{db}", *args)
        assert proc.returncode == 0, proc.stderr
    assert _row(db) == [(4, 0)]
    assert diff(_clean_replay(go_tools, tmp_path, fixed), _schema(db)) == []


# A schema that matches several versions: only rows tell them apart -------------------


def test_a_data_only_version_matches_two_states_and_points_at_the_rows(go_tools, tmp_path):
    up = "UPDATE a SET x = upper(x);\nINSERT INTO a(id, x) VALUES (1, 'first');"
    folder = write_files(tmp_path / "migrations", {**CHAIN, "000002_b.up.sql": up, "000002_b.down.sql": "SELECT 1;"})
    db = tmp_path / "app.db"
    _run(go_tools, folder, db, [["steps:1"], "INSERT INTO a(id, x) VALUES (1, 'one');", ["up"]], False)
    assert _row(db) == [(2, 1)]
    code, recovery, text = _status(folder, db, False)
    assert (code, recovery["state"], recovery["force_to"], recovery["commands"]) == (1, "ambiguous", None, [])
    exact = [h["name"] for h in recovery["hypotheses"] if h["distance"] == 0]
    assert exact == ["failed up of 2", "up of 2 ran"]
    assert "only rows tell them apart" in recovery["explanation"]
    assert "if the rows show 000002_b.up.sql's changes, force 2; if not, force 1." in recovery["explanation"]
    assert recovery["inspect"] == ["rows changed by 000002_b.up.sql"]
    assert {c["force"]: c["leads_to"] for c in recovery["choices"]} == {
        1: "the next up re-runs 000002_b.up.sql", 2: "the next up runs 000003_c.up.sql",
        3: "the next down re-runs 000003_c.down.sql; the next up has nothing to run"}
    assert "    migrate " not in text and len(text.splitlines()) <= 15
    # The rows show no change (the wrapped file was rolled back): force 1 as
    # that choice says, fix the file, and the next up re-runs it.
    assert _row(db) == [(2, 1)] and _query(db, "SELECT x FROM a") == [("one",)]
    assert _migrate(go_tools, "-path", str(folder), "-database", f"sqlite3://{db}", "force", "1").returncode == 0
    fixed = {**CHAIN, "000002_b.up.sql": "UPDATE a SET x = upper(x);", "000002_b.down.sql": "SELECT 1;"}
    write_files(folder, fixed)
    assert _migrate(go_tools, "-path", str(folder), "-database", f"sqlite3://{db}", "up").returncode == 0
    assert _row(db) == [(3, 0)] and diff(_clean_replay(go_tools, tmp_path, fixed), _schema(db)) == []
