"""The folder model sees exactly the files golang-migrate sees."""

from __future__ import annotations

import os
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mwcore.errors import FileReadError, FolderError
from mwcore.folder import MIGRATION_NAME_RE, near_miss_reason, parse_name, printable, read_sql, scan_folder

from conftest import write_files

# (name, expected (version, description, direction, ext) or None)
PARSE_CASES = [
    ("1_init.up.sql", (1, "init", "up", "sql")),
    ("000001_init.down.sql", (1, "init", "down", "sql")),
    ("0_start.up.sql", (0, "start", "up", "sql")),
    ("20240101120000_add.up.sql", (20240101120000, "add", "up", "sql")),
    ("1_.up.sql", (1, "", "up", "sql")),
    ("1_x.up.", (1, "x", "up", "")),
    ("1_x.up.sql.bak", (1, "x", "up", "sql.bak")),
    ("1_a.up.b.down.c", (1, "a.up.b", "down", "c")),
    ("18446744073709551615_max.up.sql", (2**64 - 1, "max", "up", "sql")),
    ("18446744073709551616_over.up.sql", None),
    ("000003-add.up.sql", None),
    ("3_x.UP.sql", None),
    ("3_x.sql", None),
    ("3.up.sql", None),
    ("x_1.up.sql", None),
    ("3_x.up", None),
    ("README.md", None),
    ("3_x\n.up.sql", None),
]


@pytest.mark.parametrize("name,expected", PARSE_CASES, ids=[c[0].replace("\n", "\\n") for c in PARSE_CASES])
def test_parse_name_matches_golang_migrate_regex(name, expected):
    parsed = parse_name(name)
    got = None if parsed is None else (parsed.version, parsed.description, parsed.direction, parsed.ext)
    assert got == expected


@pytest.mark.go
def test_parse_name_agrees_with_golang_migrate_on_the_table(go_tools):
    names = [case[0] for case in PARSE_CASES]
    for name, theirs in zip(names, go_tools.parse_names(names)):
        ours = parse_name(name)
        assert (ours is None) == (theirs is None), name
        if ours is not None:
            assert (ours.version, ours.description, ours.direction) == (
                theirs["version"], theirs["identifier"], theirs["direction"]), name


_name_alphabet = st.sampled_from(list(string.digits * 3 + "_._-upUPdownsqlx \n"))
_names = st.one_of(
    st.text(_name_alphabet, max_size=24),
    st.builds(lambda d, s, dir_, e: f"{d}_{s}.{dir_}.{e}", st.text(string.digits, min_size=1, max_size=22),
              st.text(_name_alphabet, max_size=6), st.sampled_from(["up", "down", "UP", "Down"]),
              st.text(_name_alphabet, max_size=5)),
)


@pytest.mark.go
@settings(max_examples=60, deadline=None)
@given(st.lists(_names, min_size=1, max_size=40))
def test_parse_name_agrees_with_golang_migrate_on_random_names(go_tools, names):
    for name, theirs in zip(names, go_tools.parse_names(names)):
        ours = parse_name(name)
        assert (ours is None) == (theirs is None), repr(name)
        if ours is not None:
            assert (ours.version, ours.description, ours.direction) == (
                theirs["version"], theirs["identifier"], theirs["direction"]), repr(name)


NEAR_MISS_CASES = [
    ("000003-add.up.sql", "'-' instead of '_'"),
    ("000003_add.sql", "no '.up.' or '.down.'"),
    ("000003_add.UP.sql", "lower case"),
    ("add_users.up.sql", "does not start with a version"),
    ("18446744073709551616_x.up.sql", "uint64"),
    ("3_x.up", "nothing follows"),
    ("3.up.sql", "instead of '_'"),
]


@pytest.mark.parametrize("name,reason", NEAR_MISS_CASES, ids=[c[0] for c in NEAR_MISS_CASES])
def test_near_misses_are_explained(name, reason):
    assert parse_name(name) is None
    assert reason in near_miss_reason(name)


@pytest.mark.parametrize("name", ["README.md", "schema.sql", "migrate.go", ".gitkeep", "notes.txt"])
def test_ordinary_files_are_not_near_misses(name):
    assert near_miss_reason(name) is None


def test_scan_orders_numerically_and_pairs_directions(tmp_path):
    write_files(tmp_path, {"10_b.up.sql": "", "9_a.up.sql": "", "9_a.down.sql": "", "100_c.down.sql": ""})
    folder = scan_folder(tmp_path)
    assert folder.versions == [9, 10, 100]
    nine, ten, hundred = folder.migrations
    assert nine.up.name == "9_a.up.sql" and nine.down.name == "9_a.down.sql"
    assert ten.down is None and hundred.up is None
    assert folder.previous(10) == 9 and folder.previous(9) is None


def test_scan_reports_duplicates_like_golang_migrate(tmp_path):
    write_files(tmp_path, {"1_a.up.sql": "", "001_b.up.sql": "", "1_a.down.sql": ""})
    folder = scan_folder(tmp_path)
    assert [(d.version, d.direction, d.names) for d in folder.duplicates] == [(1, "up", ("001_b.up.sql", "1_a.up.sql"))]
    # golang-migrate keeps the first listed and fails naming the later one.
    assert folder.migrations[0].up.name == "001_b.up.sql"


def test_up_and_down_of_one_version_may_differ_in_description(tmp_path):
    write_files(tmp_path, {"2_create.up.sql": "", "2_drop.down.sql": ""})
    folder = scan_folder(tmp_path)
    assert not folder.duplicates and len(folder.migrations) == 1


def test_scan_keeps_other_extensions_apart(tmp_path):
    write_files(tmp_path, {"1_a.up.sql": "", "1_a.up.sql.bak": "", "2_b.up.txt": ""})
    folder = scan_folder(tmp_path)
    assert folder.versions == [1]
    assert sorted(f.name for f in folder.other_ext) == ["1_a.up.sql.bak", "2_b.up.txt"]


def test_scan_skips_subfolders_even_with_migration_names(tmp_path):
    (tmp_path / "5_dir.up.sql").mkdir()
    write_files(tmp_path, {"1_a.up.sql": ""})
    assert scan_folder(tmp_path).versions == [1]


def test_scan_follows_file_symlinks_and_flags_broken_ones(tmp_path):
    target = tmp_path / "elsewhere.sql"
    target.write_text("SELECT 1;")
    folder_path = tmp_path / "m"
    folder_path.mkdir()
    os.symlink(target, folder_path / "1_link.up.sql")
    os.symlink(tmp_path / "missing.sql", folder_path / "2_gone.up.sql")
    folder = scan_folder(folder_path)
    assert folder.versions == [1] and folder.migrations[0].up.is_symlink
    assert folder.bad_links == ["2_gone.up.sql"]


@pytest.mark.parametrize("make,message", [
    (lambda p: p / "absent", "no such folder"),
    (lambda p: (p / "file").write_text("x") and p / "file", "is a file"),
])
def test_scan_refuses_missing_or_non_folders(tmp_path, make, message):
    with pytest.raises(FolderError, match=message):
        scan_folder(make(tmp_path))


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read anything")
def test_scan_refuses_unreadable_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        with pytest.raises(FolderError, match="permission denied"):
            scan_folder(locked)
    finally:
        locked.chmod(0o755)


def test_scan_survives_undecodable_names(tmp_path):
    raw = os.fsencode(str(tmp_path)) + b"/7_caf\xe9.up.sql"
    with open(raw, "w") as handle:
        handle.write("")
    folder = scan_folder(tmp_path)
    assert folder.versions == [7]
    assert printable(folder.migrations[0].up.name) == "7_caf\\xe9.up.sql"


def test_read_sql_keeps_bom_and_reports_crlf(tmp_path):
    path = tmp_path / "1_a.up.sql"
    path.write_bytes(b"\xef\xbb\xbfCREATE TABLE a(x);\r\n")
    text = read_sql(path)
    assert text.has_bom and text.has_crlf and text.text.startswith("\ufeff")


def test_read_sql_refuses_non_utf8_with_the_line(tmp_path):
    path = tmp_path / "1_a.up.sql"
    path.write_bytes(b"-- ok\nINSERT INTO t VALUES ('\xff');\n")
    with pytest.raises(FileReadError, match=r"not valid UTF-8 \(byte \d+, line 2\)"):
        read_sql(path)


def test_read_sql_refuses_a_folder(tmp_path):
    with pytest.raises(FileReadError, match="is a folder"):
        read_sql(tmp_path)


def test_printable_escapes_control_characters():
    assert printable("1_a\n.up.sql") == "1_a\\x0a.up.sql"


@settings(max_examples=400)
@given(st.lists(_names, min_size=1, max_size=20))
def test_fast_parse_equals_the_regex(names):
    """parse_name skips the regex's backtracking; it must decide exactly as
    golang-migrate's pattern does."""
    for name in names:
        match = MIGRATION_NAME_RE.fullmatch(name)
        expected = None
        if match is not None and int(match.group(1)) <= 2**64 - 1:
            expected = (int(match.group(1)), match.group(2), match.group(3), match.group(4))
        parsed = parse_name(name)
        got = None if parsed is None else (parsed.version, parsed.description, parsed.direction, parsed.ext)
        assert got == expected, repr(name)
