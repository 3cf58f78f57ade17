"""verify_migrations.py: the command-line contract (text, --json, exit codes,
--db, --keep, project detection, bad input)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES, EXAMPLE_MIGRATIONS, ROOT, go_app, run_cli, run_json, write_files

SCRIPT = "verify_migrations.py"
STEP_KEYS = {"version", "name", "up", "down", "roundtrip", "reup", "data", "integrity"}
# Only when they say something: stops_here (true), error, diff, problems, notes, warnings, prechecks.
OPTIONAL_STEP_KEYS = {"stops_here", "error", "diff", "problems", "notes", "warnings", "prechecks"}
STATUSES = {"ok", "failed", "missing", "skipped", "differs"}

CLEAN = {
    "000001_t.up.sql": "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);",
    "000001_t.down.sql": "DROP TABLE t;",
    "000002_i.up.sql": "CREATE INDEX t_a ON t(a);",
    "000002_i.down.sql": "DROP INDEX t_a;",
}
BROKEN = {**CLEAN, "000002_i.down.sql": "-- forgot DROP INDEX\nSELECT 1;"}
STOPPING = {**CLEAN, "000002_i.down.sql": "DROP INDEX t_b;"}


def test_the_example_verifies_clean_in_two_lines():
    proc = run_cli(SCRIPT, "--dir", str(EXAMPLE_MIGRATIONS), "--all")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and proc.stderr == ""
    assert "all 4 versions ok" in lines[0] and f"(SQLite {sqlite3.sqlite_version})" in lines[0]
    assert lines[1].startswith("project: driver sqlite3 (mattn/go-sqlite3 v1.14.32, SQLite 3.50.4)")
    assert "foreign keys off while migrating" in lines[1] and "each file in a transaction" in lines[1]


def test_json_follows_the_contract():
    code, out = run_json(SCRIPT, "--dir", str(EXAMPLE_MIGRATIONS), "--all")
    assert code == 0 and out["status"] == "ok"
    assert out["sqlite_version"] == sqlite3.sqlite_version
    assert out["project"]["sqlite_library"]["module"] == "github.com/mattn/go-sqlite3"
    assert out["project"]["app_sqlite"]["version"] == "3.50.4"
    assert [s["version"] for s in out["steps"]] == [1, 2, 3, 4]
    for step in out["steps"]:
        assert set(step) == STEP_KEYS  # a clean step says nothing more
        assert {step[c] for c in ("up", "down", "roundtrip", "reup", "data", "integrity")} == {"ok"}
    assert out["summary"] == {"versions": 4, "ok": 4}
    assert out["scope"]["mode"] == "all"
    # Replayed as the project runs: said once, in `project` (a top-level value only for an override or both ways).
    assert "stop" not in out and "foreign_keys" not in out and "tx_wrap" not in out
    assert (out["project"]["foreign_keys"], out["project"]["tx_wrap"]) == ("off", "on")


def test_a_broken_down_exits_1_and_says_what_to_fix(tmp_path):
    folder = write_files(tmp_path / "m", BROKEN)
    proc = run_cli(SCRIPT, "--dir", str(folder))
    assert proc.returncode == 1
    assert "1 of 2 versions have problems" in proc.stdout
    assert "- 000002_i.down.sql: after the down the schema is not what it was before the up: " \
           "index t_a: unexpected: INDEX on t(a)" in proc.stdout
    assert proc.stdout.count("000002_i.down.sql") == 1
    code, out = run_json(SCRIPT, "--dir", str(folder))
    assert code == 1 and out["status"] == "problems"
    second = out["steps"][1]
    assert (second["roundtrip"], second["reup"]) == ("differs", "ok")
    assert second["diff"]["roundtrip"] == ["index t_a: unexpected: INDEX on t(a)"]
    assert set(second[c] for c in ("up", "down", "roundtrip", "reup", "data", "integrity")) <= STATUSES
    assert STEP_KEYS <= set(second) <= STEP_KEYS | OPTIONAL_STEP_KEYS
    assert "stop" not in out  # golang-migrate itself notices nothing: down 1 drops the index with the table


def test_a_down_that_gives_back_a_unique_index_as_a_plain_one_is_caught(tmp_path):
    # Same name, same column: only the UNIQUE is lost. Duplicates can then go
    # in, and the next up that recreates the unique index fails on them.
    folder = write_files(tmp_path / "m", {
        "000001_t.up.sql": "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);\nCREATE UNIQUE INDEX t_a ON t(a);",
        "000001_t.down.sql": "DROP TABLE t;",
        "000002_a.up.sql": "DROP INDEX t_a;\nCREATE INDEX t_a ON t(a, id);",
        "000002_a.down.sql": "DROP INDEX t_a;\nCREATE INDEX t_a ON t(a);",
    })
    code, out = run_json(SCRIPT, "--dir", str(folder))
    assert code == 1
    second = out["steps"][1]
    assert second["roundtrip"] == "differs"
    assert second["diff"]["roundtrip"] == ["index t_a: changed: UNIQUE -> not unique"]


def test_failing_down_names_file_line_and_the_recovery(tmp_path):
    folder = write_files(tmp_path / "m", {
        **CLEAN,
        "000003_c.up.sql": "ALTER TABLE t ADD COLUMN c INT;\nCREATE INDEX t_c ON t(c);",
        "000003_c.down.sql": "\n\nALTER TABLE t DROP COLUMN c;",
    })
    proc = run_cli(SCRIPT, "--dir", str(folder))
    assert proc.returncode == 1
    assert "000003_c.down.sql:3: down failed: error in index t_c after drop column: no such column: c" in proc.stdout
    assert "<- golang-migrate stops here" in proc.stdout
    assert "leaves version 2 dirty" in proc.stdout and "`migrate force 3`" in proc.stdout


@pytest.mark.parametrize("up,hint", [
    # The first version failed: its previous is "no version", which the CLI
    # only takes after "--" (a bare -1 is read as a flag).
    ("CREATE TABLE t(id INTEGER PRIMARY KEY);\nSELECT * FROM nope;", "`migrate force -- -1`"),
    # A COMMIT in a wrapped file committed the work before the driver's commit
    # failed: the schema is at version 1 already.
    ("CREATE TABLE t(id INTEGER PRIMARY KEY);\nCOMMIT;", "`migrate force 1`"),
], ids=["first up fails", "lone COMMIT"])
def test_recovery_hint_after_a_failed_first_up(tmp_path, up, hint):
    folder = write_files(tmp_path / "m", {"000001_t.up.sql": up, "000001_t.down.sql": "DROP TABLE t;"})
    proc = run_cli(SCRIPT, "--dir", str(folder))
    assert proc.returncode == 1 and hint in proc.stdout, proc.stdout


def test_missing_down_fails_unless_allowed(tmp_path):
    files = {**CLEAN}
    del files["000002_i.down.sql"]
    folder = write_files(tmp_path / "m", files)
    assert run_cli(SCRIPT, "--dir", str(folder)).returncode == 1
    proc = run_cli(SCRIPT, "--dir", str(folder), "--allow-missing-down")
    assert proc.returncode == 0 and "missing downs allowed" in proc.stdout


def test_no_data_skips_rows(tmp_path):
    folder = write_files(tmp_path / "m", {**CLEAN, "000003_p.up.sql": "DELETE FROM t;", "000003_p.down.sql": ""})
    assert run_cli(SCRIPT, "--dir", str(folder)).returncode == 1
    code, out = run_json(SCRIPT, "--dir", str(folder), "--no-data")
    assert code == 0 and out["data"] is False and {s["data"] for s in out["steps"]} == {"skipped"}


def test_from_and_to_select_versions(tmp_path):
    folder = write_files(tmp_path / "m", {**BROKEN, "000003_x.up.sql": "CREATE TABLE x(a);", "000003_x.down.sql": "DROP TABLE x;"})
    code, out = run_json(SCRIPT, "--dir", str(folder), "--from", "3")
    assert code == 0 and [s["version"] for s in out["steps"]] == [3]
    code, out = run_json(SCRIPT, "--dir", str(folder), "--to", "000001")
    assert code == 0 and [s["version"] for s in out["steps"]] == [1]


# Project detection --------------------------------------------------------------


CASCADE = {
    "1_p.up.sql": "CREATE TABLE p(id INTEGER PRIMARY KEY, n TEXT);\n"
                  "CREATE TABLE c(id INTEGER PRIMARY KEY, p_id INT REFERENCES p(id) ON DELETE CASCADE);",
    "1_p.down.sql": "DROP TABLE c;\nDROP TABLE p;",
    "2_r.up.sql": "CREATE TABLE p2(id INTEGER PRIMARY KEY, n TEXT NOT NULL DEFAULT '');\n"
                  "INSERT INTO p2 SELECT id, coalesce(n, '') FROM p;\nDROP TABLE p;\nALTER TABLE p2 RENAME TO p;",
    "2_r.down.sql": "SELECT 1;",
}


def test_foreign_keys_follow_the_apps_dsn_and_can_be_overridden(tmp_path):
    folder = write_files(go_app(tmp_path, dsn='"file:" + path + "?_foreign_keys=1"'), CASCADE)
    code, out = run_json(SCRIPT, "--dir", str(folder))
    assert out["project"]["foreign_keys"] == "on" and "store.go:18: _foreign_keys=1" in out["project"]["foreign_keys_evidence"]
    assert "foreign_keys" not in out  # replayed as the project says
    assert code == 1 and out["steps"][1]["data"] == "failed"
    code, out = run_json(SCRIPT, "--dir", str(folder), "--foreign-keys", "off")
    assert out["foreign_keys"] == "off" and out["foreign_keys_source"] == "--foreign-keys off"
    assert out["steps"][1]["data"] == "ok"


def test_unknown_foreign_keys_replay_both_ways_and_say_which_way_loses_rows(tmp_path):
    folder = write_files(tmp_path / "migrations", CASCADE)  # no Go source: enforcement unknown
    code, out = run_json(SCRIPT, "--dir", str(folder))
    assert out["foreign_keys"] == "both" and out["project"]["foreign_keys"] == "unknown"
    assert code == 1 and out["steps"][1]["data"] == "failed"
    (problem,) = [p for p in out["steps"][1].get("problems", [out["steps"][1]["error"]]) if "gone" in p]
    assert "with foreign keys on while migrating: " in problem
    text = run_cli(SCRIPT, "--dir", str(folder)).stdout
    assert "replayed with foreign keys off and on" in text


def test_no_tx_wrap_follows_the_project_and_can_be_overridden(tmp_path):
    files = {"1_a.up.sql": "BEGIN;\nCREATE TABLE a(x);\nCOMMIT;", "1_a.down.sql": "DROP TABLE a;"}
    folder = write_files(go_app(tmp_path, url='"sqlite3://" + path + "?x-no-tx-wrap=true"'), files)
    code, out = run_json(SCRIPT, "--dir", str(folder))
    assert (code, out["project"]["tx_wrap"], "tx_wrap" in out) == (0, "off", False)
    code, out = run_json(SCRIPT, "--dir", str(folder), "--tx-wrap", "on")
    assert (code, out["tx_wrap"]) == (1, True)
    assert "cannot start a transaction within a transaction" in out["steps"][0]["error"]


def test_autodetects_the_folder_from_the_module(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    code, out = run_json(SCRIPT, cwd=tmp_path / "examples")
    assert code == 0 and out["project"]["dir"] == "pkg/storage/sqlite/migrations"
    assert out["project"]["dir_source"].startswith("embedded by")


# --db: a copy of a real database -------------------------------------------------


def _real_db(path: Path, version: int, dirty: bool = False) -> Path:
    conn = sqlite3.connect(str(path))
    conn.executescript(CLEAN["000001_t.up.sql"] + "INSERT INTO t(a) VALUES ('kept');"
                       "CREATE TABLE schema_migrations (version uint64,dirty bool);")
    conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, dirty))
    conn.commit()
    conn.close()
    return path


def test_db_copy_is_upgraded_and_the_original_never_written(tmp_path):
    folder = write_files(tmp_path / "m", CLEAN)
    db = _real_db(tmp_path / "app.db", 1)
    os.chmod(db, 0o444)
    before = (db.read_bytes(), db.stat().st_mtime_ns)
    code, out = run_json(SCRIPT, "--dir", str(folder), "--db", str(db))
    assert code == 0, out
    assert out["start_version"] == 1 and [s["version"] for s in out["steps"]] == [2]
    assert (db.read_bytes(), db.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db", "m"]


def test_a_wal_database_gets_no_side_files(tmp_path):
    folder = write_files(tmp_path / "m", CLEAN)
    db = _real_db(tmp_path / "app.db", 1)
    conn = sqlite3.connect(str(db))
    assert conn.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
    conn.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db", "m"]
    code, out = run_json(SCRIPT, "--dir", str(folder), "--db", str(db))
    assert code == 0 and out["start_version"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db", "m"]


def test_dirty_db_copy_is_reported_not_run(tmp_path):
    folder = write_files(tmp_path / "m", CLEAN)
    db = _real_db(tmp_path / "app.db", 1, dirty=True)
    proc = run_cli(SCRIPT, "--dir", str(folder), "--db", str(db))
    assert proc.returncode == 1 and "dirty at version 1" in proc.stdout
    code, out = run_json(SCRIPT, "--dir", str(folder), "--db", str(db))
    assert out["status"] == "blocked" and out["steps"] == []


# --keep ------------------------------------------------------------------------------


def test_keep_saves_the_stop_and_final_databases(tmp_path):
    folder = write_files(tmp_path / "m", STOPPING)
    keep = tmp_path / "kept"
    code, out = run_json(SCRIPT, "--dir", str(folder), "--keep", str(keep))
    assert code == 1 and sorted(p.name for p in keep.iterdir()) == ["final.db", "stop.db"]
    stop = sqlite3.connect(str(keep / "stop.db"))
    assert stop.execute("SELECT version, dirty FROM schema_migrations").fetchone() == (1, 1)
    assert stop.execute("SELECT count(*) FROM sqlite_master WHERE name = 't_a'").fetchone() == (1,)
    assert run_cli(SCRIPT, "--dir", str(folder), "--keep", str(keep)).returncode == 2  # never overwrites


def test_keep_dry_run_writes_nothing(tmp_path):
    folder = write_files(tmp_path / "m", CLEAN)
    proc = run_cli(SCRIPT, "--dir", str(folder), "--keep", str(tmp_path / "kept"), "--dry-run")
    assert proc.returncode == 0 and not (tmp_path / "kept").exists()
    assert "would keep" in proc.stdout


# Bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("args,message", [
    (["--dir", "{tmp}/missing"], "no such folder"),
    (["--dir", "{tmp}/m", "--from", "x1"], "is not a version"),
    (["--dir", "{tmp}/m", "--from", "3", "--to", "1"], "above --to"),
    (["--dir", "{tmp}/m", "--from", "9"], "no migration in"),
    (["--dir", "{tmp}/m", "--dry-run"], "--dry-run only makes sense with --keep"),
    (["--dir", "{tmp}/m", "--db", "{tmp}/nope.db"], "no such database file"),
    (["--dir", "{tmp}/m", "--db", "{tmp}/m/000001_t.up.sql"], "cannot be read as an SQLite database"),
    (["--dir", "{tmp}/m", "--keep", "{tmp}/m"], "not empty"),
    (["--dir", "{tmp}/m", "--foreign-keys", "maybe"], "invalid choice"),
])
def test_bad_input_is_one_sentence_and_exit_2(tmp_path, args, message):
    write_files(tmp_path / "m", CLEAN)
    proc = run_cli(SCRIPT, *[a.format(tmp=tmp_path) for a in args])
    assert proc.returncode == 2, proc.stdout
    assert message in proc.stderr and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_a_file_that_is_not_utf8_is_exit_2(tmp_path):
    folder = write_files(tmp_path / "m", CLEAN)
    (folder / "000003_bad.up.sql").write_bytes(b"CREATE TABLE caf\xe9(x);")
    proc = run_cli(SCRIPT, "--dir", str(folder))
    assert proc.returncode == 2 and "not valid UTF-8" in proc.stderr and "000003_bad.up.sql" in proc.stderr


def test_bom_and_crlf_files_replay_like_any_other(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    for name, text in CLEAN.items():
        (folder / name).write_bytes(("\ufeff" + text.replace("\n", "\r\n") + "\r\n").encode())
    code, out = run_json(SCRIPT, "--dir", str(folder))
    assert code == 0, out


def test_empty_folder_has_nothing_to_verify(tmp_path):
    (tmp_path / "m").mkdir()
    code, out = run_json(SCRIPT, "--dir", str(tmp_path / "m"))
    assert code == 0 and out["steps"] == []


def test_a_file_golang_migrate_skips_is_named_in_a_note(tmp_path):
    folder = write_files(tmp_path / "m", {**CLEAN, "000003-add_x.up.sql": "CREATE TABLE x(a);"})
    proc = run_cli(SCRIPT, "--dir", str(folder))
    assert proc.returncode == 0 and proc.stdout.count("\n") == 3
    assert "note: 1 file(s) look like migrations but golang-migrate skips them (000003-add_x.up.sql)" in proc.stdout


def test_a_broken_symlink_is_named_in_a_note(tmp_path):
    folder = write_files(tmp_path / "m", CLEAN)
    os.symlink(tmp_path / "nowhere.sql", folder / "000003_gone.up.sql")
    code, out = run_json(SCRIPT, "--dir", str(folder))
    assert code == 0 and any("000003_gone.up.sql" in note and "broken symlink" in note for note in out["notes"])


def test_nothing_pending_on_a_copy_at_the_last_version(tmp_path):
    folder = write_files(tmp_path / "m", CLEAN)
    db = _real_db(tmp_path / "app.db", 2)
    proc = run_cli(SCRIPT, "--dir", str(folder), "--db", str(db))
    assert proc.returncode == 0 and "nothing to verify: the database is at version 2" in proc.stdout


def test_duplicate_versions_are_reported_as_golang_migrate_reports_them(tmp_path):
    folder = write_files(tmp_path / "m", {**CLEAN, "1_again.up.sql": "SELECT 1;"})
    code, out = run_json(SCRIPT, "--dir", str(folder))
    assert code == 1 and out["status"] == "blocked"
    assert "duplicate migration file: 1_again.up.sql" in out["blocked"]


def test_help_has_examples_and_every_option():
    proc = run_cli(SCRIPT, "--help")
    assert proc.returncode == 0 and "examples:" in proc.stdout
    for option in ("--dir", "--json", "--from", "--to", "--no-data", "--allow-missing-down", "--db", "--keep",
                   "--foreign-keys", "--tx-wrap"):
        assert option in proc.stdout


def test_json_is_one_line_even_with_problems(tmp_path):
    folder = write_files(tmp_path / "m", BROKEN)
    proc = run_cli(SCRIPT, "--dir", str(folder), "--json")
    assert proc.stdout.count("\n") == 1 and json.loads(proc.stdout)["status"] == "problems"


def test_the_benchmark_still_runs():
    """bench/verify_migrations.py at a tiny size, so it cannot rot unnoticed."""
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "verify_migrations.py"), "--sizes", "4", "--runs", "1",
                           "--no-migrate"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "verify/floor" in proc.stdout and proc.stdout.rstrip().splitlines()[-1].split()[0] == "4"
