"""make_test_stub.py without running Go: what it generates, from which facts,
and how it edits a test file. (tests/test_make_test_stub_go.py compiles and
runs the generated tests against real golang-migrate.)"""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path
from typing import Dict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import EXAMPLES, run_cli, run_json, write_files
from mwcore.folder import scan_folder
from mwcore.gofacts import go_canonical_sql, migration_facts
from mwcore.golex import parse_file
from mwcore.gotemplates import HELPERS
from mwcore.gotest import add_imports, go_string, plan_stub, write_stub
from mwcore.project import read_project_facts

SQLITE_PKG = Path("pkg/storage/sqlite")
GOFMT = shutil.which("gofmt")

NOTES = {
    "1_init.up.sql": "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n"
                     "INSERT INTO note (id, body) VALUES (1, 'welcome');\n",
    "1_init.down.sql": "DROP TABLE note;\n",
    "2_stars.up.sql": "ALTER TABLE note ADD COLUMN stars INTEGER NOT NULL DEFAULT 0;\n"
                      "CREATE INDEX idx_note_stars ON note (stars);\n",
    "2_stars.down.sql": "DROP INDEX idx_note_stars;\nALTER TABLE note DROP COLUMN stars;\n",
}


def plain_module(tmp_path: Path, migrations: Dict[str, str]) -> Path:
    """A Go module with a migrations folder and no Go code: plain style."""
    root = tmp_path / "mod"
    root.mkdir()
    shutil.copy(EXAMPLES / "go.mod", root / "go.mod")
    write_files(root / "db" / "migrations", migrations)
    return root


def examples_copy(tmp_path: Path) -> Path:
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root)
    return root


def facts_of(folder: Path, version: int):
    return migration_facts(scan_folder(folder), version, read_project_facts(folder))


# ------------------------------------------------------------------ the CLI


def test_help_names_every_generated_test_and_exits_0() -> None:
    proc = run_cli("make_test_stub.py", "--help")

    assert proc.returncode == 0
    for kind in ("FreshDatabase", "UpgradeFromV<PREV>", "PreservesUserModifications", "DownRestoresPrevious", "--dry-run"):
        assert kind in proc.stdout


@pytest.mark.parametrize("args,message", [
    (["--dir", "missing"], "missing: no such folder."),
    (["--dir", "db/migrations", "--version", "7"], "version 7 is not in"),
    (["--dir", "db/migrations", "--version", "x1"], "is not a version number"),
    (["--dir", "db/migrations", "--test-file", "db/tests.go"], "must end in _test.go"),
    (["--dir", "db/migrations", "--style", "mediaz"], "--style mediaz needs New("),
])
def test_usage_errors_exit_2_with_one_sentence(tmp_path: Path, args, message: str) -> None:
    root = plain_module(tmp_path, NOTES)

    proc = run_cli("make_test_stub.py", *args, cwd=root)

    assert proc.returncode == 2
    assert message in proc.stderr and proc.stderr.count("\n") == 1
    assert not (root / "db" / "migrate_test.go").exists()


def test_a_test_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    root = plain_module(tmp_path, NOTES)
    (root / "db" / "migrate_test.go").write_bytes(b"package db\n// caf\xe9\n")

    proc = run_cli("make_test_stub.py", "--dir", "db/migrations", cwd=root)

    assert proc.returncode == 2 and "not valid UTF-8" in proc.stderr


def test_dry_run_prints_a_unified_diff_and_writes_nothing(tmp_path: Path) -> None:
    root = plain_module(tmp_path, NOTES)

    proc = run_cli("make_test_stub.py", "--dir", "db/migrations", "--dry-run", cwd=root)

    assert proc.returncode == 0, proc.stderr
    assert "+++ b/db/migrate_test.go" in proc.stdout and "+func TestMigration_2_FreshDatabase(t *testing.T) {" in proc.stdout
    assert not (root / "db" / "migrate_test.go").exists()


def test_json_reports_one_line_with_status_and_what_was_added(tmp_path: Path) -> None:
    root = plain_module(tmp_path, NOTES)

    rc, payload = run_json("make_test_stub.py", "--dir", "db/migrations", cwd=root)

    assert rc == 0 and payload["status"] == "ok" and payload["written"] is True
    assert payload["style"] == "plain" and payload["package"] == "db"
    assert payload["added"] == ["TestMigration_2_FreshDatabase", "TestMigration_2_UpgradeFromV1", "TestMigration_2_DownRestoresPrevious"]
    assert payload["run"] == "(cd db && go test -run 'TestMigration_2_' .)"


# --------------------------------------------------------- editing the file


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    root = plain_module(tmp_path, NOTES)
    run_cli("make_test_stub.py", "--dir", "db/migrations", cwd=root)
    test_file = root / "db" / "migrate_test.go"
    before = (test_file.read_bytes(), test_file.stat().st_mtime_ns)

    proc = run_cli("make_test_stub.py", "--dir", "db/migrations", cwd=root)

    assert proc.returncode == 0
    assert "nothing to add" in proc.stdout
    assert (test_file.read_bytes(), test_file.stat().st_mtime_ns) == before


def test_helpers_are_added_once_for_several_versions(tmp_path: Path) -> None:
    root = plain_module(tmp_path, NOTES)
    run_cli("make_test_stub.py", "--dir", "db/migrations", "--version", "1", cwd=root)
    _, second = run_json("make_test_stub.py", "--dir", "db/migrations", "--version", "2", cwd=root)

    decls = [d.name for d in parse_file((root / "db" / "migrate_test.go").read_text()).decls]
    assert len(decls) == len(set(decls)), "no name is declared twice"
    assert "mwMigrateTo" in second["helpers_reused"]
    assert not [d for d in decls if d.rstrip("0123456789") in HELPERS and d not in HELPERS], "no helper renamed for nothing"


def test_existing_tests_and_helpers_are_kept_byte_for_byte(tmp_path: Path) -> None:
    root = examples_copy(tmp_path)
    test_file = root / SQLITE_PKG / "migrate_test.go"
    original = parse_file(test_file.read_text())

    rc, payload = run_json("make_test_stub.py", "--dir", str(SQLITE_PKG / "migrations"), cwd=root)

    text = test_file.read_text()
    assert rc == 0
    assert payload["existing"] == ["TestMigration_000004_UpgradeFromV3"]
    assert "TestMigration_000004_FreshDatabase" in payload["added"]
    assert all(decl.text in text for decl in original.decls)
    assert "migrateTo" not in payload["helpers_added"] and "mwMigrateTo" in payload["helpers_added"]


@pytest.mark.skipif(GOFMT is None, reason="gofmt is not installed")
def test_the_result_is_gofmt_clean(tmp_path: Path) -> None:
    root = examples_copy(tmp_path)
    run_cli("make_test_stub.py", "--dir", str(SQLITE_PKG / "migrations"), "--version", "3", cwd=root)

    proc = subprocess.run([GOFMT, "-l", str(root / SQLITE_PKG)], capture_output=True, text=True)

    assert proc.stdout == ""


def test_crlf_line_ends_of_a_test_file_are_kept(tmp_path: Path) -> None:
    root = plain_module(tmp_path, NOTES)
    (root / "db" / "migrate_test.go").write_bytes(b'package db\r\n\r\nimport "testing"\r\n\r\nfunc TestMine(t *testing.T) {}\r\n')

    run_cli("make_test_stub.py", "--dir", "db/migrations", cwd=root)

    data = (root / "db" / "migrate_test.go").read_bytes()
    assert b"func TestMine(t *testing.T) {}\r\n" in data and b"TestMigration_2_FreshDatabase" in data
    assert data.count(b"\n") == data.count(b"\r\n")


def test_a_byte_order_mark_is_kept_and_a_rerun_writes_nothing(tmp_path: Path) -> None:
    root = plain_module(tmp_path, NOTES)
    test_file = root / "db" / "migrate_test.go"
    test_file.write_bytes('\ufeffpackage db\n\nimport "testing"\n\nfunc TestMine(t *testing.T) {}\n'.encode())

    first = run_cli("make_test_stub.py", "--dir", "db/migrations", cwd=root)
    written = test_file.read_bytes()
    second = run_cli("make_test_stub.py", "--dir", "db/migrations", cwd=root)

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert written.startswith("\ufeffpackage db\n".encode()) and b"TestMigration_2_FreshDatabase" in written
    assert test_file.read_bytes() == written and "nothing to add" in second.stdout


def test_an_existing_test_package_name_is_used(tmp_path: Path) -> None:
    root = plain_module(tmp_path, NOTES)
    (root / "db" / "migrate_test.go").write_text('package db_test\n\nimport "testing"\n\nfunc TestMine(t *testing.T) {}\n')

    plan = plan_stub(scan_folder(root / "db" / "migrations"), None)

    assert plan.package.name == "db_test"
    assert plan.new_text.startswith("package db_test\n")


def test_the_file_is_not_written_when_it_changed_meanwhile(tmp_path: Path) -> None:
    root = plain_module(tmp_path, NOTES)
    plan = plan_stub(scan_folder(root / "db" / "migrations"), None)
    (root / "db" / "migrate_test.go").write_text("package db\n")

    with pytest.raises(Exception, match="appeared while"):
        write_stub(plan)
    assert (root / "db" / "migrate_test.go").read_text() == "package db\n"


IMPORT_LAYOUTS = {
    "grouped std and modules": 'package p\n\nimport (\n\t"testing"\n\n\t"github.com/x/y"\n)\n',
    "grouped std only": 'package p\n\nimport (\n\t"testing"\n)\n',
    "single import": 'package p\n\nimport "testing"\n\nvar _ = testing.T{}\n',
    "no import": "package p\n\nvar x = 1\n",
}


@pytest.mark.skipif(GOFMT is None, reason="gofmt is not installed")
@pytest.mark.parametrize("layout", IMPORT_LAYOUTS, ids=list(IMPORT_LAYOUTS))
def test_imports_are_added_into_any_layout_as_valid_go(layout: str) -> None:
    text = IMPORT_LAYOUTS[layout]

    result = add_imports(text, parse_file(text), [(None, "errors"), ("mwrequire", "github.com/stretchr/testify/require")])

    proc = subprocess.run([GOFMT, "-e"], input=result, capture_output=True, text=True)
    assert proc.returncode == 0, (result, proc.stderr)
    paths = {(i.name, i.path) for i in parse_file(result).imports}
    assert {(None, "errors"), ("mwrequire", "github.com/stretchr/testify/require")} <= paths


@pytest.mark.skipif(GOFMT is None, reason="gofmt is not installed")
def test_every_helper_template_is_gofmt_clean() -> None:
    fills = {"@@SOURCE@@": 'iofs.New(os.DirFS("migrations"), ".")', "@@DSN@@": 'path+"?_foreign_keys=1"',
             "@@CONFIG@@": '&sqlite3.Config{MigrationsTable: "schema_migrations", NoTxWrap: true}',
             "@@TABLE@@": '"schema_migrations"'}
    code = "package p\n\n" + "\n".join(h.code for h in HELPERS.values())
    for placeholder, value in fills.items():
        code = code.replace(placeholder, value)

    proc = subprocess.run([GOFMT], input=code, capture_output=True, text=True)

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == code


# ------------------------------------------------------- facts by execution


def test_a_column_and_index_added_become_checks(tmp_path: Path) -> None:
    facts = facts_of(plain_module(tmp_path, NOTES) / "db" / "migrations", 2)

    calls = {(c.helper, c.args) for c in facts.schema_checks}
    assert calls == {
        ("mwRequireColumn", ("note", "stars", "INTEGER NOT NULL DEFAULT 0")),
        ("mwRequireIndex", ("idx_note_stars", "INDEX on note(stars)")),
    }


def test_upgrade_rows_are_real_rows_that_sqlite_accepts_and_keeps(tmp_path: Path) -> None:
    facts = facts_of(EXAMPLES / SQLITE_PKG / "migrations", 4)

    tables = {c.args[0] for c in facts.upgrade_checks if c.helper == "mwRequireRows"}
    assert tables == {"encoding_preset", "library", "media_item", "transcode_job"}
    assert all(s.startswith("INSERT INTO ") for s in facts.sample_inserts)
    media = next(c for c in facts.upgrade_checks if c.helper == "mwRequireRows" and c.args[0] == "media_item")
    assert "play_count" in media.args[1], "rows are checked as they are after the upgrade, new column included"


def test_a_data_migration_gets_user_edits_that_it_leaves_alone() -> None:
    facts = facts_of(EXAMPLES / SQLITE_PKG / "migrations", 3)

    assert facts.changes_data and not facts.schema_checks
    assert {e.what for e in facts.edits} == {"encoding_preset.name of row id=1", "encoding_preset.max_bitrate_kbps of row id=3"}
    assert any(c.helper == "mwRequireRows" and c.args[2] == ((3, None),) for c in facts.data_checks)


def test_a_migration_that_overwrites_every_row_gets_no_preserves_test(tmp_path: Path) -> None:
    root = plain_module(tmp_path, {**NOTES, "3_reset.up.sql": "UPDATE note SET body = 'reset';\n",
                                   "3_reset.down.sql": "-- data only\n"})

    plan = plan_stub(scan_folder(root / "db" / "migrations"), 3)

    assert "TestMigration_3_PreservesUserModifications" not in plan.added_tests
    assert any("changes rows whatever a user did" in w for w in plan.warnings)
    assert not plan.problems


def test_a_down_that_forgets_a_column_is_a_problem_and_its_test_is_still_written(tmp_path: Path) -> None:
    root = plain_module(tmp_path, {**NOTES, "2_stars.down.sql": "DROP INDEX idx_note_stars;\n"})

    rc, payload = run_json("make_test_stub.py", "--dir", "db/migrations", cwd=root)

    assert rc == 1 and payload["status"] == "problems"
    assert any("does not restore the schema of 1" in p and "note.stars" in p for p in payload["problems"])
    assert "TestMigration_2_DownRestoresPrevious" in payload["added"]


def test_an_up_that_fails_writes_nothing(tmp_path: Path) -> None:
    root = plain_module(tmp_path, {**NOTES, "2_stars.up.sql": "ALTER TABLE note ADD COLUMN stars INTEGER NOT NULL;\n"})

    rc, payload = run_json("make_test_stub.py", "--dir", "db/migrations", cwd=root)

    assert rc == 1 and payload["written"] is False and payload["added"] == []
    assert any("NOT NULL" in p for p in payload["problems"])
    assert not (root / "db" / "migrate_test.go").exists()


def test_a_version_without_down_file_gets_no_down_test(tmp_path: Path) -> None:
    root = plain_module(tmp_path, {k: v for k, v in NOTES.items() if k != "2_stars.down.sql"})

    plan = plan_stub(scan_folder(root / "db" / "migrations"), 2)

    assert "TestMigration_2_DownRestoresPrevious" not in plan.added_tests
    assert any("has no down file" in s for s in plan.skipped_tests)


MIGRATOR_WITH_FK_AND_TABLE = """package db

import (
	"database/sql"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/sqlite3"
	_ "github.com/golang-migrate/migrate/v4/source/file"
)

func Migrate(path string) error {
	m, err := migrate.New("file://db/migrations", "sqlite3://"+path+"?_foreign_keys=1&x-migrations-table=versions")
	if err != nil {
		return err
	}
	return m.Up()
}

var _ = sql.Open
"""


def test_foreign_keys_and_migrations_table_of_the_app_are_used(tmp_path: Path) -> None:
    root = plain_module(tmp_path, NOTES)
    write_files(root / "db", {"db.go": MIGRATOR_WITH_FK_AND_TABLE})

    plan = plan_stub(scan_folder(root / "db" / "migrations"), 2)

    assert 'sql.Open("sqlite3", path+"?_foreign_keys=1")' in plan.new_text
    assert 'MigrationsTable: "versions"' in plan.new_text


# ------------------------------------------------------------- Go literals


@pytest.mark.parametrize("text,literal", [
    ("plain", '"plain"'),
    ('say "hi"', '`say "hi"`'),
    ("a`b\"c", '"a`b\\"c"'),
    ("line\nbreak", '"line\\nbreak"'),
    ("bom\ufeff", '"bom\\uFEFF"'),
    ("nul\x00", '"nul\\x00"'),
    ("ünï", '"ünï"'),
])
def test_go_string_literals(text: str, literal: str) -> None:
    assert go_string(text) == literal


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",))))
def test_go_string_round_trips(text: str) -> None:
    literal = go_string(text)

    # Go's escapes used here (\" \\ \n \t \r \xNN below 0x80, \uXXXX, \UXXXXXXXX)
    # mean the same in a Python literal; a raw literal is the text itself.
    decoded = literal[1:-1] if literal.startswith("`") else ast.literal_eval(literal)
    assert decoded == text
    assert "\n" not in literal or literal.startswith("`")


@pytest.mark.parametrize("sql,canonical", [
    ('CREATE TABLE "Tag" (Id INTEGER -- c\n)', "create table tag ( id integer )"),
    ("CREATE INDEX [i x] ON t(a);", 'create index "i x" on t ( a )'),
    ("SELECT 'Keep ''Case''', X'AB'", "select 'Keep ''Case''' , X'AB'"),
])
def test_canonical_sql_for_go(sql: str, canonical: str) -> None:
    assert go_canonical_sql(sql) == canonical


def test_values_written_from_the_clock_are_not_asserted(tmp_path: Path) -> None:
    root = plain_module(tmp_path, {
        "1_init.up.sql": "CREATE TABLE ev (id INTEGER PRIMARY KEY, at TEXT, epoch INTEGER, kind TEXT);\n"
                         "INSERT INTO ev VALUES (1, CURRENT_TIMESTAMP, CAST(strftime('%s', 'now') AS INTEGER), 'boot');\n",
        "1_init.down.sql": "DROP TABLE ev;\n",
    })

    facts = facts_of(root / "db" / "migrations", 1)

    [rows] = [c for c in facts.data_checks if c.helper == "mwRequireRows"]
    assert rows.args[1] == ("id", "kind") and rows.args[2] == ((1, "boot"),)
