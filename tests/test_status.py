"""status.py: applied/pending, dirty-database recovery read from databases
that real golang-migrate left dirty, and migrations.sum checksums."""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mwcore import checksum
from mwcore.folder import scan_folder

from conftest import EXAMPLE_MIGRATIONS, run_cli, run_json, write_files

CHAIN = {
    "000001_a.up.sql": "CREATE TABLE a(id INTEGER PRIMARY KEY, x TEXT);",
    "000001_a.down.sql": "DROP TABLE a;",
    "000002_b.up.sql": "CREATE TABLE b(id INTEGER PRIMARY KEY);\nCREATE INDEX b_id ON b(id);",
    "000002_b.down.sql": "DROP TABLE b;",
    "000003_c.up.sql": "ALTER TABLE a ADD COLUMN c INTEGER;",
    "000003_c.down.sql": "ALTER TABLE a DROP COLUMN c;",
}


def chain(tmp_path, **overrides) -> Path:
    files = {**CHAIN, **{k.replace("__", "."): v for k, v in overrides.items()}}
    return write_files(tmp_path / "migrations", {k: v for k, v in files.items() if v is not None})


# Listing ------------------------------------------------------------------------


def test_listing_shows_versions_and_missing_downs(tmp_path):
    folder = chain(tmp_path, **{"000003_c__down__sql": None})
    code, out = run_json("status.py", "--dir", str(folder))
    assert code == 0
    # No git, no migrations.sum: nothing tells shipped from new, so every version is listed.
    assert [(v["version"], v["files"]) for v in out["versions"]] == [
        ("000001", "up+down"), ("000002", "up+down"), ("000003", "up only")]
    proc = run_cli("status.py", "--dir", str(folder))
    assert "000003  c  up only" in proc.stdout


def test_long_folders_list_the_last_versions_only(tmp_path):
    files = {f"{v:06d}_m.up.sql": "SELECT 1;" for v in range(1, 61)}
    folder = write_files(tmp_path / "m", files)
    lines = run_cli("status.py", "--dir", str(folder)).stdout.splitlines()
    assert lines[1].startswith("project: ")
    assert lines[2].startswith("60 new versions (new = every version (no git history or migrations.sum")
    assert "35 earlier new versions" in lines[3] and len(lines) == 4 + 25
    assert len(run_cli("status.py", "--dir", str(folder), "--all").stdout.splitlines()) == 63


# Databases left by real golang-migrate ----------------------------------------------


@pytest.mark.go
def test_clean_database_lists_applied_and_pending(go_tools, tmp_path):
    folder = chain(tmp_path)
    db = tmp_path / "app.db"
    go_tools.run_harness(folder, db, ["steps:2"])
    code, out = run_json("status.py", "--dir", str(folder), "--db", str(db))
    assert code == 0
    assert (out["database"]["version"], out["database"]["dirty"]) == (2, False)
    assert (out["database"]["applied"], out["database"]["pending"]) == (2, ["000003"])


# Every dirty state, ranked and followed through with the real CLI, is in
# test_status_dirty.py.

FAILED_FIRST_UP = {"000001_a__up__sql": "CREATE TABLE a(id INTEGER PRIMARY KEY);\nINSERT INTO nope VALUES (1);"}


def _run_printed_migrate(go_tools, command: str):
    """Run a `migrate ...` line status.py printed, with the real CLI."""
    argv = shlex.split(command)
    assert argv[0] == "migrate", command
    return subprocess.run([str(go_tools.migrate), *argv[1:]], capture_output=True, text=True, timeout=120)


def _version_row(db: Path) -> list:
    with sqlite3.connect(str(db)) as conn:
        return conn.execute("SELECT version, dirty FROM schema_migrations").fetchall()


@pytest.mark.go
def test_force_to_no_version_is_printed_so_the_cli_runs_it(go_tools, tmp_path):
    """After a failed first up the version to force is -1. The CLI reads a
    bare `force -1` as an unknown flag; status.py prints `force -- -1`,
    which deletes the row."""
    folder = chain(tmp_path, **FAILED_FIRST_UP)
    db = tmp_path / "app.db"
    go_tools.run_harness(folder, db, ["up"])
    _, out = run_json("status.py", "--dir", str(folder), "--db", str(db))
    command = out["database"]["recovery"]["commands"][0]
    assert command.endswith(" force -- -1"), command
    naive = _run_printed_migrate(go_tools, command.replace("force -- -1", "force -1"))
    assert naive.returncode == 2 and "flag provided but not defined: -1" in naive.stderr
    assert _version_row(db) == [(1, 1)]
    assert _run_printed_migrate(go_tools, command).returncode == 0
    assert _version_row(db) == []


@pytest.mark.go
def test_lone_commit_in_a_wrapped_up_is_forced_to_its_own_version(go_tools, tmp_path):
    """A COMMIT inside a wrapped file commits its work, then the driver's own
    commit fails: row N dirty with N's schema already in place. status.py
    says so and prints force N; force P (the rolled-back advice) would make
    the next up fail on what is there."""
    folder = chain(tmp_path, **{"000002_b__up__sql": "CREATE TABLE b(id INTEGER PRIMARY KEY);\nCOMMIT;"})
    db = tmp_path / "app.db"
    (run,) = go_tools.run_harness(folder, db, ["up"])
    assert run["error"] == "transaction commit failed in line 0:  (details: cannot commit - no transaction is active)"
    assert (run["version"], run["dirty"]) == (2, True)
    code, out = run_json("status.py", "--dir", str(folder), "--db", str(db))
    recovery = out["database"]["recovery"]
    assert code == 1 and (recovery["state"], recovery["force_to"]) == ("applied", 2)
    assert "COMMIT" in recovery["explanation"] and out["database"]["applied"] == 2
    assert go_tools.run_harness(folder, db, ["force:1", "up"])[1]["error"].startswith("table b already exists")
    assert _run_printed_migrate(go_tools, recovery["commands"][0]).returncode == 0
    assert go_tools.run_harness(folder, db, ["up"]) == [{"op": "up", "error": None, "version": 3, "dirty": False}]


@pytest.mark.go
def test_database_ahead_of_the_folder(go_tools, tmp_path):
    folder = chain(tmp_path)
    db = tmp_path / "app.db"
    go_tools.run_harness(folder, db, ["up"])
    (folder / "000003_c.up.sql").unlink()
    (folder / "000003_c.down.sql").unlink()
    code, out = run_json("status.py", "--dir", str(folder), "--db", str(db))
    assert code == 1 and out["database"]["missing_current"]
    assert any("no migration found for version 3" in p for p in out["problems"])


def test_database_without_migrations_table(tmp_path):
    folder = chain(tmp_path)
    db = tmp_path / "legacy.db"
    sqlite3.connect(str(db)).execute("CREATE TABLE a(id INTEGER PRIMARY KEY, x TEXT)").connection.commit()
    proc = run_cli("status.py", "--dir", str(folder), "--db", str(db))
    assert proc.returncode == 0 and "golang-migrate has never run here" in proc.stdout and "baseline" in proc.stdout


@pytest.mark.parametrize("content,message", [
    (b"this is not a database at all" * 40, "cannot be read as an SQLite database"),
    (None, "no such database file"),
])
def test_bad_database_is_one_sentence_and_exit_2(tmp_path, content, message):
    folder = chain(tmp_path)
    db = tmp_path / "x.db"
    if content is not None:
        db.write_bytes(content)
    proc = run_cli("status.py", "--dir", str(folder), "--db", str(db))
    assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1


def test_locked_database_is_a_clear_error(tmp_path):
    folder = chain(tmp_path)
    db = tmp_path / "busy.db"
    holder = sqlite3.connect(str(db), isolation_level=None)
    holder.execute("CREATE TABLE a(x)")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO a VALUES (1)")
    try:
        proc = run_cli("status.py", "--dir", str(folder), "--db", str(db))
    finally:
        holder.execute("ROLLBACK")
    assert proc.returncode == 2 and "lock" in proc.stderr and "Traceback" not in proc.stderr


# The schema distance the dirty diagnosis ranks by -----------------------------

# Statements whose subsets build the schemas compared; each pair of
# alternatives (a plain or UNIQUE index, a column with or without NOT NULL)
# makes a same-named object that differs.
POOL = [
    "CREATE TABLE p(id INTEGER PRIMARY KEY, x TEXT);",
    "CREATE TABLE q(id INTEGER PRIMARY KEY, y TEXT NOT NULL);|CREATE TABLE q(id INTEGER PRIMARY KEY, y TEXT);",
    "CREATE INDEX p_x ON p(x);|CREATE UNIQUE INDEX p_x ON p(x);",
    "CREATE VIEW v AS SELECT x FROM p;|CREATE VIEW v AS SELECT id FROM p;",
    "CREATE TRIGGER t AFTER INSERT ON p BEGIN SELECT 1; END;",
]


def _schema_of(choices):
    """The schema the chosen statements make: 0 leaves one out, 1 or 2 picks
    an alternative; what needs table p is left out without it."""
    from mwcore.engine import run_script, scratch
    from mwcore.schema import snapshot

    conn = scratch()
    for statement, pick in zip(POOL, choices):
        options = statement.split("|")
        needs_p = "ON p(" in statement or "FROM p" in statement or "ON p " in statement
        if pick and not (needs_p and not choices[0]):
            assert run_script(conn, options[min(pick, len(options)) - 1]).ok
    snap = snapshot(conn)
    conn.close()
    return snap


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 2), min_size=len(POOL), max_size=len(POOL)),
       st.lists(st.integers(0, 2), min_size=len(POOL), max_size=len(POOL)))
def test_the_distance_counts_whole_objects_and_agrees_with_diff(left, right):
    from mwcore.schema import diff, distance

    a, b = _schema_of(left), _schema_of(right)
    d = distance(a, b)
    assert (d.total == 0) is (diff(a, b) == [])
    assert d.equal + len(d.of("differs")) + len(d.of("missing")) == len(a.object_names())
    assert d.equal + len(d.of("differs")) + len(d.of("extra")) == len(b.object_names())
    # Every object diff speaks of is one the distance counts (columns and
    # foreign keys belong to their table).
    named = {(x.kind, x.name.lower()) for x in d.differences}
    for change in diff(a, b):
        kind = "table" if change.kind in ("column", "foreign key") else change.kind
        name = change.name.split(".")[0] if change.kind == "column" else change.name
        assert (kind, name.lower()) in named


def test_a_unique_index_made_plain_is_one_differing_object():
    from mwcore.schema import distance

    a, b = _schema_of([1, 0, 2, 0, 0]), _schema_of([1, 0, 1, 0, 0])
    assert [str(x) for x in distance(a, b).differences] == ["index p_x differs (UNIQUE -> not unique)"]
    assert distance(a, b).equal == 1


# migrations.sum -------------------------------------------------------------


def test_write_then_check_is_clean_and_golang_migrate_ignores_the_file(tmp_path):
    folder = chain(tmp_path)
    assert run_cli("status.py", "--dir", str(folder), "--write-sum").returncode == 0
    assert (folder / "migrations.sum").exists()
    proc = run_cli("status.py", "--dir", str(folder), "--check-sum")
    assert proc.returncode == 0 and "every migration file matches" in proc.stdout
    assert scan_folder(folder).near_misses == [] and "migrations.sum" in scan_folder(folder).names


def test_write_sum_dry_run_writes_nothing(tmp_path):
    folder = chain(tmp_path)
    proc = run_cli("status.py", "--dir", str(folder), "--write-sum", "--dry-run")
    assert proc.returncode == 0 and "would write" in proc.stdout and not (folder / "migrations.sum").exists()


def test_check_without_sum_file_is_a_problem(tmp_path):
    proc = run_cli("status.py", "--dir", str(chain(tmp_path)), "--check-sum")
    assert proc.returncode == 1 and "--write-sum" in proc.stdout


def _summed(tmp_path) -> Path:
    folder = chain(tmp_path)
    checksum.write(scan_folder(folder))
    return folder


def _edit(folder):
    (folder / "000002_b.up.sql").write_text(CHAIN["000002_b.up.sql"] + "\n-- tweak\n")


def _crlf(folder):
    path = folder / "000002_b.up.sql"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))


def _rename(folder):
    (folder / "000002_b.up.sql").rename(folder / "000002_bee.up.sql")


def _remove(folder):
    (folder / "000003_c.down.sql").unlink()


def _merge_below(folder):
    (folder / "000002_b.up.sql").rename(folder / "000004_b.up.sql")
    (folder / "000002_b.down.sql").rename(folder / "000004_b.down.sql")
    write_files(folder, {"000002_other.up.sql": "CREATE TABLE o(x);", "000002_other.down.sql": "DROP TABLE o;"})


def _tamper(folder):
    path = folder / "migrations.sum"
    path.write_text(path.read_text().replace("000002_b.up.sql", "000002_x.up.sql"))


@pytest.mark.parametrize("change,kind", [
    (_edit, "edited"), (_crlf, "edited"), (_rename, "renamed"), (_remove, "removed"),
    (_merge_below, "out_of_order"), (_tamper, "tampered"),
], ids=["byte edit", "CRLF", "rename", "removal", "out-of-order add", "hand-edited sum"])
def test_check_sum_finds_each_kind_of_change(tmp_path, change, kind):
    folder = _summed(tmp_path)
    change(folder)
    code, out = run_json("status.py", "--dir", str(folder), "--check-sum")
    assert code == 1 and kind in [f["kind"] for f in out["findings"]]


def test_crlf_conversion_is_named(tmp_path):
    folder = _summed(tmp_path)
    _crlf(folder)
    assert "only its line endings changed" in run_cli("status.py", "--dir", str(folder), "--check-sum").stdout


def test_adding_a_new_version_is_fine_and_write_sum_extends(tmp_path):
    folder = _summed(tmp_path)
    write_files(folder, {"000004_d.up.sql": "CREATE TABLE d(x);", "000004_d.down.sql": "DROP TABLE d;"})
    proc = run_cli("status.py", "--dir", str(folder), "--check-sum")
    assert proc.returncode == 0 and "not in migrations.sum yet" in proc.stdout
    assert run_cli("status.py", "--dir", str(folder), "--write-sum").returncode == 0
    assert "000004_d.down.sql" in (folder / "migrations.sum").read_text()


def test_write_sum_refuses_to_bless_an_edit(tmp_path):
    folder = _summed(tmp_path)
    before = (folder / "migrations.sum").read_text()
    _edit(folder)
    proc = run_cli("status.py", "--dir", str(folder), "--write-sum")
    assert proc.returncode == 2 and "delete migrations.sum" in proc.stderr
    assert (folder / "migrations.sum").read_text() == before


def test_a_new_file_at_the_highest_summed_version_is_out_of_order(tmp_path):
    # Version 3 already ran where the sum was written: its up rewritten under
    # a new name never runs there, exactly like a file numbered below it.
    folder = _summed(tmp_path)
    (folder / "000003_c.up.sql").unlink()
    write_files(folder, {"000003_c_v2.up.sql": "ALTER TABLE a ADD COLUMN c2 INTEGER;"})
    states = checksum.check(scan_folder(folder)).states
    assert states["000003_c_v2.up.sql"] == "out_of_order"
    write_files(folder, {"000004_next.up.sql": "CREATE TABLE n(x);"})
    assert checksum.check(scan_folder(folder)).states["000004_next.up.sql"] == "new"


def test_the_sum_lists_files_in_golang_migrates_order_and_the_total_chains_them_in_that_order(tmp_path):
    folder = _summed(tmp_path)
    lines = [line.split(" ") for line in (folder / "migrations.sum").read_text().splitlines() if not line.startswith("#")]
    (label, total), entries = lines[0], lines[1:]
    names = [name for name, _ in entries]
    assert label == "total" and names == ["000001_a.up.sql", "000001_a.down.sql", "000002_b.up.sql",
                                          "000002_b.down.sql", "000003_c.up.sql", "000003_c.down.sql"]
    for name, digest in entries:
        assert digest == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    chained = hashlib.sha256("".join(f"{name} {digest}\n" for name, digest in entries).encode()).hexdigest()
    assert total == chained


def test_swapping_two_lines_of_the_sum_is_tampering(tmp_path):
    # Every digest is still right; only the order moved, so the total must say so.
    folder = _summed(tmp_path)
    path = folder / "migrations.sum"
    lines = path.read_text().splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.startswith("000001_a.up.sql "))
    lines[first], lines[first + 1] = lines[first + 1], lines[first]
    path.write_text("".join(lines))
    assert [f.kind for f in checksum.check(scan_folder(folder)).findings] == ["tampered"]


_names = [f"{v:06d}_m{v}.{d}.sql" for v in range(1, 6) for d in ("up", "down")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    contents=st.lists(st.binary(max_size=40), min_size=len(_names), max_size=len(_names)),
    victim=st.integers(0, len(_names) - 1),
    new_bytes=st.binary(max_size=40),
)
def test_any_byte_change_of_any_file_is_detected(tmp_path_factory, contents, victim, new_bytes):
    folder = tmp_path_factory.mktemp("sum")
    for name, data in zip(_names, contents):
        (folder / name).write_bytes(data)
    checksum.write(scan_folder(folder))
    assert checksum.check(scan_folder(folder)).errors == []
    path = folder / _names[victim]
    changed = new_bytes != path.read_bytes()
    path.write_bytes(new_bytes)
    found = [f.name for f in checksum.check(scan_folder(folder)).errors]
    assert found == ([_names[victim]] if changed else [])


def test_example_module_state_is_clean(tmp_path):
    copy = tmp_path / "migrations"
    shutil.copytree(EXAMPLE_MIGRATIONS, copy)
    code, out = run_json("status.py", "--dir", str(copy))
    assert code == 0 and len(out["versions"]) >= 4 and out["sum"]["present"] is False
    assert os.listdir(copy) == os.listdir(EXAMPLE_MIGRATIONS)


def test_the_linter_reports_sum_findings_at_the_file(tmp_path):
    folder = _summed(tmp_path)
    assert run_cli("validate_pairs.py", "--dir", str(folder)).returncode == 0
    _merge_below(folder)
    proc = run_cli("validate_pairs.py", "--dir", str(folder), "--select", "MW014")
    assert proc.returncode == 1
    # Reported at the merged-in files (one grouped line: the same fix at both).
    assert "000002_other.down.sql:1:1: error:" in proc.stdout and "000002_other.up.sql:1" in proc.stdout
    assert "[MW014]" in proc.stdout
