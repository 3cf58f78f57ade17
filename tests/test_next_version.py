"""next_version.py: the next version exactly as golang-migrate orders files,
and a pair created safely."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mwcore.folder import parse_name, scan_folder
from mwcore.versioning import normalize_name, plan_next

from conftest import SCRIPTS, run_cli, run_json, write_files


def pairs(*versions: str, name: str = "m") -> dict:
    files = {}
    for version in versions:
        files[f"{version}_{name}.up.sql"] = "SELECT 1;"
        files[f"{version}_{name}.down.sql"] = "SELECT 1;"
    return files


# (case, files, expected current, next, format, digits)
LOOKUP_CASES = [
    ("empty folder", {}, None, "000001", "seq", 6),
    ("six digits", pairs("000001", "000002"), "000002", "000003", "seq", 6),
    ("unpadded past 9", pairs("1", "2", "9", "10"), "10", "11", "seq", 0),
    ("three digits", pairs("001", "002", "010"), "010", "011", "seq", 3),
    ("four digits", pairs("0001", "0099"), "0099", "0100", "seq", 4),
    ("starts at zero", pairs("0", "1"), "1", "2", "seq", 0),
    ("gaps are legal", pairs("000001", "000005", "000020"), "000020", "000021", "seq", 6),
    ("up-only", {"000001_a.up.sql": "", "000002_b.up.sql": ""}, "000002", "000003", "seq", 6),
    ("non-migration files ignored", {**pairs("000003"), "README.md": "", "migrate.go": "", "schema.sql": ""},
     "000003", "000004", "seq", 6),
    ("sub-folders ignored", {**pairs("000002")}, "000002", "000003", "seq", 6),
]


@pytest.mark.parametrize("files,current,nxt,fmt,digits", [c[1:] for c in LOOKUP_CASES], ids=[c[0] for c in LOOKUP_CASES])
def test_lookup(tmp_path, files, current, nxt, fmt, digits):
    write_files(tmp_path, files)
    (tmp_path / "999999_sub.up.sql.d").mkdir()
    code, out = run_json("next_version.py", "--dir", str(tmp_path))
    assert code == 0
    assert (out["current"], out["next"], out["format"], out["digits"]) == (current, nxt, fmt, digits)
    assert out["count"] == len({parsed.version for parsed in map(parse_name, files) if parsed})
    assert out["status"] == "ok" and out["dir"] == str(tmp_path)


def test_timestamps_use_the_current_utc_time():
    folder_files = pairs("20240101120000", "20240301090000")
    now = datetime(2025, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    plan = _plan(folder_files, now=now)
    assert (plan.format, plan.digits, plan.next) == ("timestamp", 14, "20250506070809")


def test_timestamp_never_goes_backwards():
    plan = _plan(pairs("20990101000000"), now=datetime(2025, 1, 1, tzinfo=timezone.utc))
    assert plan.next == "20990101000001"
    assert any("not after the highest version" in w for w in plan.warnings)


def _plan(files, **kwargs):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        write_files(Path(tmp), files)
        return plan_next(scan_folder(tmp), **kwargs)


def test_mixed_padding_uses_the_most_common_width_and_warns():
    plan = _plan(pairs("001", "002", "0003"))
    assert (plan.digits, plan.next) == (3, "004")
    assert any("different widths" in w for w in plan.warnings)


def test_format_and_digits_can_be_overridden(tmp_path):
    write_files(tmp_path, pairs("1", "2"))
    code, out = run_json("next_version.py", "--dir", str(tmp_path), "--digits", "4")
    assert (code, out["next"]) == (0, "0003")
    code, out = run_json("next_version.py", "--dir", str(tmp_path), "--format", "timestamp")
    assert code == 0 and len(out["next"]) == 14


@pytest.mark.parametrize("name,reason", [
    ("000003-add.up.sql", "instead of '_'"),
    ("000003_add.sql", "no '.up.' or '.down.'"),
    ("000003_add.UP.sql", "lower case"),
])
def test_near_misses_are_warned_about(tmp_path, name, reason):
    write_files(tmp_path, {**pairs("000002"), name: ""})
    code, out = run_json("next_version.py", "--dir", str(tmp_path))
    assert code == 0 and out["next"] == "000003"
    assert any(name in w and reason in w for w in out["warnings"])


def test_duplicates_are_an_error_but_the_next_version_is_still_given(tmp_path):
    write_files(tmp_path, {**pairs("000001", "000002"), "000002_other.up.sql": ""})
    code, out = run_json("next_version.py", "--dir", str(tmp_path))
    assert code == 1 and out["status"] == "problems"
    assert out["next"] == "000003"
    assert any("duplicate migration file" in e for e in out["errors"])


def test_width_overflow_is_an_error(tmp_path):
    write_files(tmp_path, pairs("999999", "000001"))
    code, out = run_json("next_version.py", "--dir", str(tmp_path))
    assert code == 1 and out["next"] is None
    assert any("too large" in e and "--digits 7" in e for e in out["errors"])


def test_uint64_overflow_is_an_error(tmp_path):
    write_files(tmp_path, pairs(str(2**64 - 1)))
    code, out = run_json("next_version.py", "--dir", str(tmp_path))
    assert code == 1 and out["next"] is None
    assert any("uint64" in e for e in out["errors"])


def test_lexical_sort_difference_is_explained(tmp_path):
    write_files(tmp_path, pairs("000009", "000010"))
    # migrate create agrees here (padded names sort numerically)...
    code, out = run_json("next_version.py", "--dir", str(tmp_path))
    assert out["next"] == "000011" and not any("migrate create" in w for w in out["warnings"])
    # ...but not for unpadded ones.
    unpadded = tmp_path / "unpadded"
    write_files(unpadded, pairs("9", "10"))
    code, out = run_json("next_version.py", "--dir", str(unpadded))
    assert out["next"] == "11"
    assert any("would name the file 000010" in w for w in out["warnings"])


def test_stray_sql_file_breaks_migrate_create_not_us(tmp_path):
    write_files(tmp_path, {**pairs("000001"), "schema.sql": ""})
    code, out = run_json("next_version.py", "--dir", str(tmp_path))
    assert (code, out["next"]) == (0, "000002")
    assert any("Malformed migration filename" in w for w in out["warnings"])


# Creating pairs -------------------------------------------------------------


def test_create_writes_both_files_with_headers(tmp_path):
    write_files(tmp_path, pairs("000001"))
    code, out = run_json("next_version.py", "--dir", str(tmp_path), "--create", "Add User Email")
    up, down = (Path(p) for p in out["created"])
    assert code == 0
    assert (up.name, down.name) == ("000002_add_user_email.up.sql", "000002_add_user_email.down.sql")
    assert up.read_text().startswith("-- Migration 000002 up: add_user_email\n")
    assert "no BEGIN/COMMIT" in up.read_text()
    assert "restore exactly the schema" in down.read_text()


def test_create_never_overwrites(tmp_path):
    write_files(tmp_path, pairs("000001"))
    existing = tmp_path / "000002_x.down.sql"
    existing.write_text("keep me")
    # 000002 is taken by a down-only version, so the next is 000003
    code, out = run_json("next_version.py", "--dir", str(tmp_path), "--create", "x")
    assert code == 0 and Path(out["created"][0]).name == "000003_x.up.sql"
    assert existing.read_text() == "keep me"


def test_create_is_both_or_neither(tmp_path):
    from mwcore.errors import MigrationWriterError
    from mwcore.versioning import PairPaths, write_pair

    blocker = tmp_path / "000002_x.down.sql"
    blocker.write_text("already here")
    paths = PairPaths(tmp_path / "000002_x.up.sql", blocker)
    with pytest.raises(MigrationWriterError, match="already exists"):
        write_pair(paths, "up", "down")
    assert not paths.up.exists() and blocker.read_text() == "already here"


def test_dry_run_writes_nothing(tmp_path):
    write_files(tmp_path, pairs("000001"))
    before = sorted(os.listdir(tmp_path))
    code, out = run_json("next_version.py", "--dir", str(tmp_path), "--create", "x", "--dry-run")
    assert code == 0 and out["created"] == [] and out["dry_run"]
    assert [Path(p).name for p in out["would_create"]] == ["000002_x.up.sql", "000002_x.down.sql"]
    assert sorted(os.listdir(tmp_path)) == before


def test_dry_run_without_create_is_a_usage_error(tmp_path):
    proc = run_cli("next_version.py", "--dir", str(tmp_path), "--dry-run")
    assert proc.returncode == 2 and "--create" in proc.stderr


@pytest.mark.parametrize("raw,expected", [
    ("Add User Email", "add_user_email"),
    ("addUserEmail", "add_user_email"),
    ("  drop--legacy  table ", "drop_legacy_table"),
    ("café_prix", "café_prix"),
    ("v2 schema", "v2_schema"),
])
def test_names_become_snake_case(raw, expected):
    assert normalize_name(raw) == expected


@pytest.mark.parametrize("raw,message", [
    ("", "no letters or digits"),
    ("---", "no letters or digits"),
    ("a/b", "path separator"),
    ("a\\b", "path separator"),
    ("..", "'..'"),
    ("a..b", "'..'"),
    ("a\x00b", "control character"),
    ("a\nb", "control character"),
])
def test_unsafe_names_are_refused_and_nothing_written(tmp_path, raw, message):
    write_files(tmp_path, pairs("000001"))
    before = sorted(os.listdir(tmp_path))
    proc = subprocess.run([sys.executable, str(SCRIPTS / "next_version.py"), "--dir", str(tmp_path), f"--create={raw}"],
                          capture_output=True, text=True) if "\x00" not in raw else None
    if proc is None:  # a NUL cannot pass through argv; the library refuses it
        from mwcore.errors import UsageError

        with pytest.raises(UsageError, match=message):
            normalize_name(raw)
        return
    assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1
    assert sorted(os.listdir(tmp_path)) == before


def test_too_long_name_is_refused(tmp_path):
    proc = run_cli("next_version.py", "--dir", str(tmp_path), "--create", "x" * 300)
    assert proc.returncode == 2 and "too long" in proc.stderr and "Maximum is 255" in proc.stderr


def test_concurrent_creates_get_different_versions(tmp_path):
    write_files(tmp_path, pairs("000001"))
    procs = [subprocess.Popen([sys.executable, str(SCRIPTS / "next_version.py"), "--dir", str(tmp_path), "--create", f"c{i}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(4)]
    for proc in procs:
        proc.communicate(timeout=60)
        assert proc.returncode == 0
    folder = scan_folder(tmp_path)
    assert folder.versions == [1, 2, 3, 4, 5] and not folder.duplicates


# Autodetection --------------------------------------------------------------


def test_autodetects_the_embedded_folder(tmp_path):
    pkg = tmp_path / "pkg" / "storage" / "sqlite"
    write_files(pkg / "migrations", pairs("000001"))
    write_files(pkg, {"migrate.go": 'package sqlite\n\nimport "embed"\n\n//go:embed migrations/*.sql\nvar files embed.FS\n'})
    write_files(tmp_path / "other" / "fixtures", pairs("1", "2", "3"))  # more files, but not embedded
    code, out = run_json("next_version.py", cwd=tmp_path)
    assert code == 0 and out["dir"] == "pkg/storage/sqlite/migrations"
    assert "embedded by pkg/storage/sqlite/migrate.go" in out["project"]["dir_source"]


def test_autodetect_falls_back_to_the_folder_with_most_files(tmp_path):
    write_files(tmp_path / "db" / "migrations", pairs("1", "2"))
    write_files(tmp_path / "scratch", pairs("1"))
    write_files(tmp_path / "vendor" / "lib" / "migrations", pairs("1", "2", "3", "4"))
    code, out = run_json("next_version.py", cwd=tmp_path)
    assert code == 0 and out["dir"] == "db/migrations"


def test_autodetect_ambiguity_is_an_error_listing_candidates(tmp_path):
    write_files(tmp_path / "a", pairs("1"))
    write_files(tmp_path / "b", pairs("1"))
    proc = run_cli("next_version.py", cwd=tmp_path)
    assert proc.returncode == 2 and "a, b" in proc.stderr and "--dir" in proc.stderr


def test_autodetect_prefers_the_sqlite_dialect_folder(tmp_path):
    write_files(tmp_path / "migrations" / "postgres", pairs("1", "2", "3"))
    write_files(tmp_path / "migrations" / "sqlite", pairs("1", "2"))
    code, out = run_json("next_version.py", cwd=tmp_path)
    assert code == 0 and out["dir"] == "migrations/sqlite"


def test_nothing_to_detect_is_a_usage_error(tmp_path):
    proc = run_cli("next_version.py", cwd=tmp_path)
    assert proc.returncode == 2 and "no migrations folder found" in proc.stderr


# Bad inputs -----------------------------------------------------------------


@pytest.mark.parametrize("make,message", [
    (lambda p: p / "missing", "no such folder"),
    (lambda p: (p / "file.sql").write_text("x") and p / "file.sql", "is a file"),
])
def test_bad_dir_is_one_sentence_and_exit_2(tmp_path, make, message):
    proc = run_cli("next_version.py", "--dir", str(make(tmp_path)))
    assert proc.returncode == 2 and message in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_undecodable_and_symlinked_names_are_handled(tmp_path):
    write_files(tmp_path, pairs("000001"))
    with open(os.fsencode(str(tmp_path)) + b"/000002_caf\xe9.up.sql", "w"):
        pass
    target = tmp_path.parent / f"{tmp_path.name}-target.sql"
    target.write_text("SELECT 1;")
    os.symlink(target, tmp_path / "000003_linked.up.sql")
    os.symlink(tmp_path / "nowhere", tmp_path / "000004_dangling.up.sql")
    proc = run_cli("next_version.py", "--dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "current 000003, next 000004" in proc.stdout
    assert "000004_dangling.up.sql is a broken symlink" in proc.stdout
    code, out = run_json("next_version.py", "--dir", str(tmp_path))
    assert code == 0 and out["count"] == 3


def test_ten_thousand_pairs(tmp_path):
    for v in range(1, 10001):
        for direction in ("up", "down"):
            (tmp_path / f"{v:06d}_m.{direction}.sql").touch()
    code, out = run_json("next_version.py", "--dir", str(tmp_path))
    assert (code, out["count"], out["next"]) == (0, 10000, "010001")


def test_help_has_examples():
    proc = run_cli("next_version.py", "--help")
    assert proc.returncode == 0 and "examples:" in proc.stdout and "--create" in proc.stdout


def test_clean_text_output_is_two_lines_and_the_project_line(tmp_path):
    write_files(tmp_path, pairs("000001"))
    proc = run_cli("next_version.py", "--dir", str(tmp_path))
    assert proc.returncode == 0 and proc.stdout.count("\n") == 3 and proc.stderr == ""
    assert proc.stdout.splitlines()[2].startswith("project: ")


# golang-migrate's own `migrate create` ---------------------------------------


@st.composite
def padded_folders(draw):
    """A folder padded as `migrate create -seq -digits N` pads: every version
    written with exactly N digits."""
    digits = draw(st.integers(1, 7))
    versions = draw(st.lists(st.integers(0, 10**digits - 1), max_size=6, unique=True))
    name = draw(st.from_regex(r"[a-z][a-z0-9]{0,6}(_[a-z0-9]{1,5}){0,2}", fullmatch=True))
    return digits, versions, name


@pytest.mark.go
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(padded_folders())
def test_create_agrees_with_migrate_create_on_padded_folders(go_tools, tmp_path_factory, case):
    digits, versions, name = case
    base = tmp_path_factory.mktemp("create")
    ours_dir, theirs_dir = base / "ours", base / "theirs"
    files = {}
    for v in versions:
        files[f"{v:0{digits}d}_m.up.sql"] = ""
        files[f"{v:0{digits}d}_m.down.sql"] = ""
    write_files(ours_dir, files)
    write_files(theirs_dir, files)
    theirs = go_tools.migrate_create(theirs_dir, name, digits)
    code, out = run_json("next_version.py", "--dir", str(ours_dir), "--create", name, "--digits", str(digits))
    if theirs.returncode == 0:
        assert code == 0, out
    else:
        assert "too large" in theirs.stderr.lower()
        assert code == 1 and out["created"] == [] and any("too large" in e for e in out["errors"])
    assert sorted(os.listdir(ours_dir)) == sorted(os.listdir(theirs_dir))


@pytest.mark.go
def test_migrate_create_picks_a_wrong_number_for_unpadded_names(go_tools, tmp_path):
    write_files(tmp_path / "theirs", pairs("9", "10"))
    write_files(tmp_path / "ours", pairs("9", "10"))
    assert go_tools.migrate_create(tmp_path / "theirs", "next", 6).returncode == 0
    assert "000010_next.up.sql" in os.listdir(tmp_path / "theirs")  # lexical: "9_m" sorts last
    code, out = run_json("next_version.py", "--dir", str(tmp_path / "ours"), "--create", "next")
    assert code == 0 and Path(out["created"][0]).name == "11_next.up.sql"
    assert any("would name the file 000010" in w for w in out["warnings"])


@pytest.mark.go
def test_migrate_create_refuses_a_stray_file_that_we_survive(go_tools, tmp_path):
    write_files(tmp_path, {**pairs("000001"), "schema.sql": ""})
    theirs = go_tools.migrate_create(tmp_path, "next", 6)
    assert theirs.returncode != 0 and "Malformed migration filename" in theirs.stderr
    code, out = run_json("next_version.py", "--dir", str(tmp_path))
    assert any(theirs.stderr.strip().split("error: ")[-1].split(":")[0] in w for w in out["warnings"])


def test_lookup_path_imports_no_sqlite3(tmp_path):
    """The speed promise: listing names only, no database machinery loaded."""
    write_files(tmp_path, pairs("000001"))
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['next_version.py', '--dir', {str(tmp_path)!r}]\n"
        "try:\n"
        f"    runpy.run_path({str(SCRIPTS / 'next_version.py')!r}, run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('sqlite3' in sys.modules, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stderr.strip().splitlines()[-1] == "False"


# -- up-only folders --------------------------------------------------------------------------

UP_ONLY = {"000001_a.up.sql": "CREATE TABLE a (x);\n", "000002_b.up.sql": "CREATE TABLE b (x);\n"}


def test_create_in_an_up_only_folder_writes_only_the_up_and_says_so(tmp_path):
    folder = write_files(tmp_path / "m", UP_ONLY)
    proc = run_cli("next_version.py", "--dir", str(folder), "--create", "add_c")
    assert proc.returncode == 0
    assert sorted(p.name for p in folder.iterdir()) == ["000001_a.up.sql", "000002_b.up.sql", "000003_add_c.up.sql"]
    notes = [l for l in proc.stdout.splitlines() if l.startswith("up-only folder")]
    assert len(notes) == 1 and "--with-down" in notes[0]
    assert "keeps no down files" in (folder / "000003_add_c.up.sql").read_text()


def test_with_down_writes_the_pair_in_an_up_only_folder(tmp_path):
    folder = write_files(tmp_path / "m", UP_ONLY)
    rc, out = run_json("next_version.py", "--dir", str(folder), "--create", "add_c", "--with-down")
    assert rc == 0 and out["up_only"] is True
    assert [Path(p).name for p in out["created"]] == ["000003_add_c.up.sql", "000003_add_c.down.sql"]
    assert "undo all of it" in (folder / "000003_add_c.up.sql").read_text()


def test_the_dry_run_in_an_up_only_folder_names_only_the_up(tmp_path):
    folder = write_files(tmp_path / "m", UP_ONLY)
    rc, out = run_json("next_version.py", "--dir", str(folder), "--create", "add_c", "--dry-run")
    assert rc == 0 and [Path(p).name for p in out["would_create"]] == ["000003_add_c.up.sql"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(UP_ONLY)


@pytest.mark.parametrize("files", [
    {"000001_a.up.sql": "CREATE TABLE a (x);\n"},  # one version tells no convention
    {**UP_ONLY, "000001_a.down.sql": "DROP TABLE a;\n"},  # a down somewhere: not up-only
])
def test_create_writes_both_files_unless_the_folder_is_up_only(tmp_path, files):
    folder = write_files(tmp_path / "m", files)
    rc, out = run_json("next_version.py", "--dir", str(folder), "--create", "add_c")
    assert rc == 0 and out["up_only"] is False and len(out["created"]) == 2 and "note" not in out


def test_with_down_without_create_is_a_usage_error(tmp_path):
    proc = run_cli("next_version.py", "--dir", str(write_files(tmp_path / "m", UP_ONLY)), "--with-down")
    assert proc.returncode == 2 and "--with-down only makes sense with --create" in proc.stderr
