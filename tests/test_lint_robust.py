"""No input makes validate_pairs.py crash: random bytes and names, binary
garbage, pipes, symlink loops, a 50 MB file, a folder of 10,000 pairs."""

from __future__ import annotations

import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mwcore.folder import parse_name
from mwcore.lint import RULES, lint_folder

from conftest import places, run_cli, run_json
from lintkit import lint, options_for

BASE = {
    "000001_init.up.sql": b"CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n",
    "000001_init.down.sql": b"DROP TABLE t;\n",
}
SQLISH = st.text(alphabet=string.printable + "\u00e9\u2603\ufeff\x00", max_size=300) | st.sampled_from([
    "BEGIN;", "COMMIT;", "VACUUM;", "PRAGMA foreign_keys=OFF;", "DROP TABLE t;", "ALTER TABLE t RENAME TO u;",
    "CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 1;", "SELECT 'unterminated", "/* open comment",
    "-- migration-writer: ignore MW5", "ALTER TABLE t DROP COLUMN v;", "CREATE TABLE t (",
])


# Schema changes of every kind the rules look at, on a few shared names.
POOL = [
    "CREATE TABLE p (id INTEGER PRIMARY KEY, a TEXT UNIQUE, b TEXT)",
    "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id) ON DELETE CASCADE, a TEXT)",
    "CREATE TABLE IF NOT EXISTS p (id INTEGER PRIMARY KEY)", "CREATE INDEX pa ON p (a)", "CREATE INDEX cb ON c (a)",
    "CREATE TRIGGER pt AFTER UPDATE ON p BEGIN UPDATE c SET a = a WHERE p_id = NEW.id; END",
    "CREATE VIEW pv AS SELECT a FROM p", "CREATE VIRTUAL TABLE s USING fts5(a)",
    "DROP TABLE p", "DROP TABLE c", "DROP TABLE IF EXISTS s", "DROP INDEX pa", "DROP VIEW pv", "DROP TRIGGER pt",
    "ALTER TABLE p RENAME TO p_old", "ALTER TABLE p_old RENAME TO p", "ALTER TABLE p_new RENAME TO p",
    "CREATE TABLE p_new (id INTEGER PRIMARY KEY, a TEXT)", "INSERT INTO p_new (id, a) SELECT id, a FROM p",
    "ALTER TABLE p ADD COLUMN d TEXT NOT NULL DEFAULT 'x'", "ALTER TABLE p ADD COLUMN e TEXT NOT NULL",
    "ALTER TABLE p DROP COLUMN b", "ALTER TABLE p DROP COLUMN a", "ALTER TABLE c RENAME COLUMN a TO z",
    "INSERT INTO p (id, a) VALUES (1, 'x')", "INSERT INTO c (p_id, a) VALUES (1, 'y')", "UPDATE p SET a = 'z'",
    "DELETE FROM c", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT s1", "RELEASE s1", "VACUUM",
    "PRAGMA foreign_keys = OFF", "PRAGMA foreign_keys = ON", "PRAGMA legacy_alter_table = ON",
    "CREATE TEMP TABLE tmp AS SELECT * FROM p", "DROP TABLE temp.tmp", "SELECT RAISE(ROLLBACK, 'x')",
    "CREATE TRIGGER stop BEFORE INSERT ON c BEGIN SELECT RAISE(ROLLBACK, 'stop'); END", "ROLLBACK TO s1",
]


def check_well_formed(result, folder: Path) -> None:
    names = set(os.listdir(folder))
    for finding in result.findings:
        assert finding.code in RULES
        assert finding.severity in ("error", "warning", "info")
        assert finding.line >= 1 and finding.col >= 1
        assert finding.file in names
        assert finding.message and "\n" not in finding.message


def write(folder: Path, files: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(up=st.binary(max_size=400), down=st.binary(max_size=200))
def test_random_bytes_never_crash_the_linter(tmp_path_factory, up, down):
    folder = write(tmp_path_factory.mktemp("bytes"), {**BASE, "000002_x.up.sql": up, "000002_x.down.sql": down})
    check_well_formed(lint(folder), folder)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(parts=st.lists(SQLISH, max_size=6))
def test_random_sql_like_text_never_crashes_the_linter(tmp_path_factory, parts):
    text = "\n".join(parts).encode("utf-8")
    folder = write(tmp_path_factory.mktemp("sql"), {**BASE, "000002_x.up.sql": text, "000002_x.down.sql": text})
    check_well_formed(lint(folder), folder)


NAME = st.text(alphabet=string.ascii_letters + string.digits + "_-. \u00e9", min_size=1, max_size=30).filter(
    lambda n: n not in (".", "..") and "/" not in n)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(names=st.lists(NAME | st.from_regex(r"[0-9]{1,22}_[a-z]{0,5}\.(up|down|UP)\.(sql|SQL|txt)", fullmatch=True),
                      max_size=8, unique=True))
def test_random_file_names_never_crash_and_every_migration_is_read(tmp_path_factory, names):
    folder = write(tmp_path_factory.mktemp("names"), {name: b"SELECT 1;\n" for name in names})
    result = lint(folder, "--allow-missing-down")
    check_well_formed(result, folder)
    migrations = [n for n in names if parse_name(n) and n.endswith(".sql")]
    assert result.files == len(migrations) - sum(len(d.names) - 1 for d in result.folder.duplicates)


def test_binary_garbage_is_reported_and_skipped(tmp_path):
    folder = write(tmp_path / "m", {**BASE, "000002_x.up.sql": bytes(range(256)) * 64, "000002_x.down.sql": b"SELECT 1;\n"})
    rc, out = run_json("validate_pairs.py", "--dir", str(folder))
    assert rc == 1
    assert [(Path(path).name, code) for path, _l, _c, code in places(out)] == [("000002_x.up.sql", "MW012")]


def test_a_pipe_named_like_a_migration_is_reported_not_read(tmp_path):
    folder = write(tmp_path / "m", dict(BASE))
    os.mkfifo(folder / "000002_x.up.sql")
    (folder / "000002_x.down.sql").write_text("SELECT 1;\n")
    proc = run_cli("validate_pairs.py", "--dir", str(folder), timeout=60)
    assert proc.returncode == 1 and "not a regular file" in proc.stdout and "[MW012]" in proc.stdout


def test_symlink_loops_are_reported_and_a_looping_dir_is_one_error(tmp_path):
    folder = write(tmp_path / "m", dict(BASE))
    os.symlink("000002_loop.up.sql", folder / "000002_loop.up.sql")
    proc = run_cli("validate_pairs.py", "--dir", str(folder))
    assert proc.returncode == 1 and "[MW011]" in proc.stdout and "Traceback" not in proc.stderr
    os.symlink("loop", tmp_path / "loop")
    proc = run_cli("validate_pairs.py", "--dir", str(tmp_path / "loop"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read anything")
def test_an_unlistable_folder_is_one_error(tmp_path):
    folder = write(tmp_path / "m", dict(BASE))
    os.chmod(folder, 0)
    try:
        proc = run_cli("validate_pairs.py", "--dir", str(folder))
    finally:
        os.chmod(folder, 0o755)
    assert proc.returncode == 2 and "permission denied" in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.slow
def test_a_50_mb_file_is_checked(tmp_path):
    folder = write(tmp_path / "m", dict(BASE))
    row = "INSERT INTO t (v) VALUES ('" + "x" * 25_000 + "');\n"
    with open(folder / "000002_seed.up.sql", "w") as handle:
        for _ in range(50 * 1024 * 1024 // len(row) + 1):
            handle.write(row)
    (folder / "000002_seed.down.sql").write_text("DELETE FROM t WHERE length(v) = 25000;\n")
    assert (folder / "000002_seed.up.sql").stat().st_size > 50 * 1024 * 1024
    proc = run_cli("validate_pairs.py", "--dir", str(folder), timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok: 4 migration files")


@pytest.mark.slow
def test_a_folder_of_10000_pairs_is_checked(tmp_path):
    files = dict(BASE)
    for version in range(2, 10_001):
        files[f"{version:06d}_step.up.sql"] = f"INSERT INTO t (id, v) VALUES ({version}, 'v');\n".encode()
        files[f"{version:06d}_step.down.sql"] = f"DELETE FROM t WHERE id = {version};\n".encode()
    files["009999_step.down.sql"] = b"DELETE FROM nope WHERE id = 9999;\n"
    folder = write(tmp_path / "m", files)
    result = lint_folder(folder, options_for([]))
    assert result.files == 20_000
    assert [(f.file, f.code) for f in result.findings] == [("009999_step.down.sql", "MW101")]


def test_a_nul_character_is_reported_because_mattn_stops_reading_there(tmp_path):
    folder = write(tmp_path / "m", {**BASE, "000002_x.up.sql": b"UPDATE t SET v = 'a' WHERE id = 1;\n\x00\nDROP TABLE t;\n",
                                    "000002_x.down.sql": b"SELECT 1;\n"})
    (finding,) = lint(folder).findings
    assert (finding.file, finding.code) == ("000002_x.up.sql", "MW012")
    assert "NUL character (line 2)" in finding.message


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(files=st.lists(st.tuples(st.lists(st.sampled_from(range(len(POOL))), max_size=5),
                                st.lists(st.sampled_from(range(len(POOL))), max_size=5)), min_size=1, max_size=4),
       fk=st.booleans(), unwrapped=st.booleans())
def test_random_schema_changes_in_random_pairs_never_crash_the_rules(tmp_path_factory, files, fk, unwrapped):
    statements = POOL
    contents = {}
    for version, (up, down) in enumerate(files, start=1):
        contents[f"{version:06d}_x.up.sql"] = ";\n".join(statements[i] for i in up).encode() + b";\n"
        contents[f"{version:06d}_x.down.sql"] = ";\n".join(statements[i] for i in down).encode() + b";\n"
    folder = write(tmp_path_factory.mktemp("ddl"), contents)
    args = ["--foreign-keys", "on" if fk else "off"] + (["--no-tx-wrap"] if unwrapped else [])
    check_well_formed(lint(folder, *args), folder)
