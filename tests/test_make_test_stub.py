"""make_test_stub.py without running Go: what it generates, from which facts,
and how it edits a test file. (tests/test_make_test_stub_go.py compiles and
runs the generated tests against real golang-migrate.)"""

from __future__ import annotations

import ast
import re
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
from mwcore.gopins import find_pins_in_text
from mwcore.gotemplates import DRIVERS, HELPERS
from mwcore.gotest import AUTO, add_imports, fill_template, go_string, module_setup, plan_stub, resolve_driver, write_stub
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
    shutil.copy(EXAMPLES / "go.sum", root / "go.sum")
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
@pytest.mark.parametrize("driver", sorted(DRIVERS))
def test_every_helper_template_is_gofmt_clean(driver: str) -> None:
    code = "package p\n\n" + "\n".join(h.code for h in HELPERS.values())
    code = fill_template(code, DRIVERS[driver], source='iofs.New(os.DirFS("migrations"), ".")', foreign_keys=True,
                         migrations_table="schema_migrations", no_tx_wrap=True)

    proc = subprocess.run([GOFMT], input=code, capture_output=True, text=True)

    assert "@@" not in code
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


# ------------------------------------------------------------- the driver

MODERNC_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "stub_modernc"


def test_a_modernc_project_gets_database_sqlite_tests(tmp_path: Path) -> None:
    root = tmp_path / "notes"
    shutil.copytree(MODERNC_FIXTURE, root)

    rc, payload = run_json("make_test_stub.py", "--dir", "store/migrations", "--version", "8", cwd=root)

    text = (root / "store" / "migrate_test.go").read_text()
    assert rc == 0 and payload["driver"] == "modernc", payload
    assert payload["driver_reason"].startswith("store/store.go:") and "sqlite.WithInstance" in payload["driver_reason"]
    assert '"github.com/golang-migrate/migrate/v4/database/sqlite"\n' in text
    assert 'sql.Open("sqlite", path)' in text
    assert 'sqlite.WithInstance(db, &sqlite.Config{MigrationsTable: "schema_migrations"})' in text
    assert 'migrate.NewWithInstance("iofs", mwSource(t), "sqlite", drv)' in text
    assert "sqlite3" not in text and "mattn" not in text


def test_the_modernc_dsn_turns_foreign_keys_on_with_a_pragma(tmp_path: Path) -> None:
    root = plain_module(tmp_path, NOTES)
    project = read_project_facts(root / "db" / "migrations")
    project.foreign_keys = True

    plan = plan_stub(scan_folder(root / "db" / "migrations"), 2, project=project, driver="modernc")

    assert plan.new_text.count('sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")') == 2


def test_mattn_stays_the_default_and_its_tests_keep_their_form(tmp_path: Path) -> None:
    root = plain_module(tmp_path, NOTES)
    folder = scan_folder(root / "db" / "migrations")

    auto = plan_stub(folder, 2)
    mattn = plan_stub(folder, 2, driver="mattn")

    assert auto.package.driver.key == "mattn" and "requires github.com/mattn/go-sqlite3" in auto.package.driver_reason
    assert auto.new_text == mattn.new_text
    assert 'db, err := sql.Open("sqlite3", path)\n' in auto.new_text
    assert 'drv, err := sqlite3.WithInstance(db, &sqlite3.Config{MigrationsTable: "schema_migrations"})\n' in auto.new_text
    assert 'm, err := migrate.NewWithInstance("iofs", mwSource(t), "sqlite3", drv)\n' in auto.new_text
    assert '\t"github.com/golang-migrate/migrate/v4/database/sqlite3"\n' in auto.new_text


GO_MOD_MODERNC = "module example.com/m\n\ngo 1.26\n\nrequire (\n\tgithub.com/golang-migrate/migrate/v4 v4.19.1\n\tmodernc.org/sqlite v1.18.1\n)\n"
IMPORTS_DATABASE_SQLITE = 'package db\n\nimport _ "github.com/golang-migrate/migrate/v4/database/sqlite"\n'


@pytest.mark.parametrize("go_mod,go_file,expected", [
    (GO_MOD_MODERNC, IMPORTS_DATABASE_SQLITE, "modernc"),
    (GO_MOD_MODERNC, 'package db\n\nimport _ "github.com/golang-migrate/migrate/v4/database/sqlite3"\n', "mattn"),
    (GO_MOD_MODERNC, "package db\n\n// github.com/golang-migrate/migrate/v4/database/sqlite in a comment only\n", "modernc"),
    ("module example.com/m\n\ngo 1.26\n", "package db\n", "mattn"),
], ids=["database/sqlite import", "database/sqlite3 import", "modernc library only", "nothing to tell"])
def test_without_a_migrator_call_the_driver_follows_the_go_source_and_library(tmp_path: Path, go_mod, go_file, expected) -> None:
    write_files(tmp_path, {"go.mod": go_mod})
    write_files(tmp_path / "db", {"db.go": go_file})
    write_files(tmp_path / "db" / "migrations", {"1_a.up.sql": "CREATE TABLE a(x);"})
    project = read_project_facts(tmp_path / "db" / "migrations")

    driver, why = resolve_driver(AUTO, project, tmp_path)

    assert driver.key == expected, why


def test_driver_flag_overrides_and_is_validated(tmp_path: Path) -> None:
    root = plain_module(tmp_path, NOTES)

    bad = run_cli("make_test_stub.py", "--dir", "db/migrations", "--driver", "cgo")
    rc, payload = run_json("make_test_stub.py", "--dir", "db/migrations", "--driver", "modernc", "--dry-run", cwd=root)

    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    assert payload["driver"] == "modernc" and payload["driver_reason"] == "chosen with --driver"
    assert rc == 1 and "modernc.org/sqlite@v1.18.1" in payload["setup"], "go.mod lacks modernc.org/sqlite"


# ------------------------------------------------------ module commands

MIGRATE_H1 = "github.com/golang-migrate/migrate/v4 v4.18.3 h1:x=\ngithub.com/golang-migrate/migrate/v4 v4.18.3/go.mod h1:y=\n"
MODERNC_H1 = "modernc.org/sqlite v1.18.1 h1:x=\n"
TESTIFY_H1 = "github.com/stretchr/testify v1.11.1 h1:x=\n"


def _go_mod(*requires: str) -> str:
    return "module example.com/m\n\ngo 1.26\n\nrequire (\n" + "".join(f"\t{r}\n" for r in requires) + ")\n"


@pytest.mark.parametrize("go_mod,go_sum,missing,unsummed", [
    (_go_mod("github.com/golang-migrate/migrate/v4 v4.18.3", "modernc.org/sqlite v1.18.1", "github.com/stretchr/testify v1.11.1"),
     MIGRATE_H1 + MODERNC_H1 + TESTIFY_H1, [], []),
    (_go_mod("github.com/golang-migrate/migrate/v4 v4.18.3", "modernc.org/sqlite v1.18.1"),
     MIGRATE_H1 + MODERNC_H1, ["github.com/stretchr/testify"], []),
    (_go_mod("github.com/golang-migrate/migrate/v4 v4.18.3", "modernc.org/sqlite v1.18.1", "github.com/stretchr/testify v1.11.1 // indirect"),
     MIGRATE_H1 + MODERNC_H1 + "github.com/stretchr/testify v1.11.1/go.mod h1:z=\n", [], ["github.com/stretchr/testify v1.11.1"]),
    (_go_mod("github.com/golang-migrate/migrate/v4 v4.18.3", "modernc.org/sqlite v1.18.1", "github.com/stretchr/testify v1.11.1")
     + "\nreplace modernc.org/sqlite => ../sqlite\n", MIGRATE_H1 + TESTIFY_H1, [], []),
], ids=["complete", "the issue: a modernc project without testify", "go.mod hash only", "replaced module"])
def test_module_setup_reads_go_mod_and_go_sum(tmp_path: Path, go_mod: str, go_sum: str, missing, unsummed) -> None:
    write_files(tmp_path, {"go.mod": go_mod, "go.sum": go_sum})

    setup = module_setup(tmp_path, DRIVERS["modernc"])

    assert (setup.missing, setup.unsummed) == (missing, unsummed)
    assert setup.needed == bool(missing or unsummed)


def test_the_go_get_names_packages_and_keeps_the_versions_go_mod_has(tmp_path: Path) -> None:
    write_files(tmp_path, {"go.mod": _go_mod("github.com/golang-migrate/migrate/v4 v4.18.3", "modernc.org/sqlite v1.18.1"),
                           "go.sum": MIGRATE_H1 + MODERNC_H1})

    [command] = module_setup(tmp_path, DRIVERS["modernc"]).commands()

    # Package paths: `go get` then records the go.sum hashes of what they import.
    assert command.split() == [
        "go", "get",
        "github.com/golang-migrate/migrate/v4@v4.18.3", "github.com/golang-migrate/migrate/v4/database/sqlite@v4.18.3",
        "github.com/golang-migrate/migrate/v4/source@v4.18.3", "github.com/golang-migrate/migrate/v4/source/iofs@v4.18.3",
        "modernc.org/sqlite@v1.18.1", "github.com/stretchr/testify/require@v1.11.1",
    ]
    assert "@latest" not in command


def test_a_vendored_module_is_vendored_again_and_no_module_means_go_mod_init(tmp_path: Path) -> None:
    write_files(tmp_path / "mod", {"go.mod": _go_mod()})
    write_files(tmp_path / "mod" / "vendor", {"modules.txt": "# nothing\n"})

    vendored = module_setup(tmp_path / "mod", DRIVERS["mattn"])
    nothing = module_setup(None, DRIVERS["mattn"])

    assert vendored.commands()[-1] == "go mod vendor"
    assert nothing.needed and nothing.commands()[0] == "go mod init MODULE_PATH"


def test_a_complete_module_prints_no_setup_and_a_missing_sum_prints_the_command(tmp_path: Path) -> None:
    root = plain_module(tmp_path, NOTES)
    _, complete = run_json("make_test_stub.py", "--dir", "db/migrations", "--dry-run", cwd=root)
    (root / "go.sum").write_text("".join(line + "\n" for line in (root / "go.sum").read_text().splitlines()
                                         if not line.startswith("github.com/stretchr/testify v1.11.1 h1:")))

    proc = run_cli("make_test_stub.py", "--dir", "db/migrations", "--dry-run", cwd=root)

    assert complete["setup"] is None and complete["status"] == "ok"
    assert proc.returncode == 1
    assert ("problem: go.sum has no hash for github.com/stretchr/testify v1.11.1; the tests do not compile until you run: "
            "go get github.com/golang-migrate/migrate/v4@v4.19.1") in proc.stdout


# ------------------------------------------------------ version literals

def test_padded_and_timestamp_versions_are_written_as_decimal_numbers(tmp_path: Path) -> None:
    padded = {f"{v:06d}_t{v}.{d}.sql": (f"CREATE TABLE t{v} (id INTEGER PRIMARY KEY);" if d == "up" else f"DROP TABLE t{v};")
              for v in range(7, 11) for d in ("up", "down")}
    root = plain_module(tmp_path, {**padded, "20240101120000_stamp.up.sql": "CREATE TABLE s (id INTEGER);",
                                   "20240101120000_stamp.down.sql": "DROP TABLE s;"})
    folder = scan_folder(root / "db" / "migrations")

    literals = {}
    for version in (8, 10, 20240101120000):
        code = plan_stub(folder, version).new_text
        calls = re.findall(r"\b(?:mwMigrateTo|mwRequireVersion)\(t, path, (\d[^)]*)\)|\bmwSchemaAt\(t, (\d[^)]*)\)", code)
        literals[version] = {a or b for a, b in calls}

    # Go reads 000010 as octal 8 and rejects 000008: versions are plain decimal.
    assert literals == {8: {"7", "8"}, 10: {"9", "10"}, 20240101120000: {"10", "20240101120000"}}


# ------------------------------------------- tests pinning the newest version

PIN_HEADER = "package p\n\nfunc TestX(t *testing.T) {\n"


@pytest.mark.parametrize("body", [
    "\tv, dirty, err := m.Version()\n\trequire.EqualValues(t, 4, v)\n",
    "\tversion, _, err := s.GetMigrationVersion()\n\tassert.Equal(t, uint(4), version)\n",
    "\tgot := currentVersion(t, db)\n\trequire.Equal(t, int64(4), got)\n",
    "\trequire.Equal(t, 4, schemaVersion(t, db))\n",
    "\tv, _, _ := m.Version()\n\tif v != 4 {\n\t\tt.Fatalf(\"version = %d, want %d\", v, 4)\n\t}\n",
    "\tif 4 != st.Version {\n\t\tt.Fail()\n\t}\n",
    "\trequireSchemaVersion(t, db, 4)\n",
    "\tv, _, _ := m.Version()\n\tExpect(v).To(Equal(uint(4)))\n",
    "\tv, _, _ := m.Version()\n\tc.Assert(v, qt.Equals, uint(4))\n",
    "\twantVersion := uint(4)\n\trequire.Equal(t, wantVersion, v)\n",
    "\tv, _, _ := m.Version()\n\trequire.EqualValues(t,\n\t\t0x4,\n\t\tv)\n",
], ids=["EqualValues", "uint()", "version helper", "inline call", "if !=", "field", "assert helper", "gomega",
        "quicktest", "want variable", "hex, multi-line"])
def test_an_assertion_of_the_previous_newest_version_is_found(body: str) -> None:
    found = find_pins_in_text(PIN_HEADER + body + "}\n", 4)

    assert len(found) == 1, found
    line, col, kind, code = found[0]
    source_line = (PIN_HEADER + body).splitlines()[line - 1]
    assert source_line.strip() == code and source_line[col - 1] in "40"


@pytest.mark.parametrize("source", [
    "package p\n\nconst latestVersion = 4\n",
    "package p\n\nconst (\n\ta = 1\n\tSchemaVersion uint = 4\n)\n",
    "package p\n\nvar expectedVersion = uint(4)\n",
    "package p\n\nconst latestVersion = 4\n\nfunc TestX(t *testing.T) {\n\tm.Migrate(latestVersion)\n}\n",
])
def test_a_version_named_constant_equal_to_the_previous_newest_is_found(source: str) -> None:
    assert [kind for _, _, kind, _ in find_pins_in_text(source, 4)] == ["constant"]


@pytest.mark.parametrize("source", [
    # The test migrates to 4 on purpose: the assertion stays true.
    PIN_HEADER + "\trequire.NoError(t, m.Migrate(4))\n\tv, _, _ := m.Version()\n\trequire.EqualValues(t, 4, v)\n}\n",
    PIN_HEADER + "\tmwMigrateTo(t, path, 4)\n\tmwRequireVersion(t, path, 4)\n}\n",
    PIN_HEADER + "\ttarget := uint(4)\n\trequire.NoError(t, m.Migrate(target))\n\trequire.Equal(t, target, 4)\n}\n",
    PIN_HEADER + "\ttargetVersion := uint(4)\n\trequire.NoError(t, m.Migrate(targetVersion))\n}\n",
    # Other numbers, other versions, other counts.
    PIN_HEADER + "\tv, _, _ := m.Version()\n\trequire.EqualValues(t, 5, v)\n}\n",
    PIN_HEADER + "\trequire.Equal(t, 4, len(tables), \"version 4 has 4 tables\")\n}\n",
    PIN_HEADER + "\trequire.Equal(t, 4, count)\n}\n",
    PIN_HEADER + "\tfor i := 0; i != 4; i++ {\n\t}\n}\n",
    PIN_HEADER + "\trequire.Equal(t, 4, goVersion)\n}\n",
    PIN_HEADER + "\t// require.EqualValues(t, 4, version)\n\ts := \"if version != 4\"\n}\n",
    PIN_HEADER + "\tv, _, _ := m.Version()\n\trequire.EqualValues(t, 4+1, v)\n}\n",
    "package p\n\nconst firstVersion = 4\nconst legacyBaselineVersion = 4\nconst sqliteVersion = 4\n",
    "package p\n\nconst version = 4\n\nfunc TestX(t *testing.T) {\n\tm.Migrate(version)\n}\n",
    "package p\n\nconst latestVersion = 40\nconst maxRetries = 4\n",
], ids=["explicit Migrate(4)", "generated FreshDatabase", "target var", "target version var", "other number",
        "count with a message", "plain count", "loop", "go version", "comment and string", "expression",
        "old-named constants", "constant used as a target", "different values"])
def test_near_misses_are_not_reported(source: str) -> None:
    assert find_pins_in_text(source, 4) == []


def test_a_test_file_cut_anywhere_is_read_without_error() -> None:
    # A _test.go the user is still writing (an unclosed brace or call) is
    # scanned like any other: no exception, and what it pins so far is found.
    source = (PIN_HEADER + "\tv, dirty, err := m.Version()\n\trequire.EqualValues(t, 4, v)\n"
              "\tif v != 4 {\n\t\tt.Fatal(s.version)\n\t}\n\tExpect(f(x).v).To(Equal(uint(4)))\n}\n"
              "\nconst latestVersion = 4\n")
    for end in range(len(source) + 1):
        find_pins_in_text(source[:end], 4)
    unclosed = PIN_HEADER + "\tv, _, _ := m.Version()\n\trequire.EqualValues(t, 4, v)\n"
    assert [kind for _, _, kind, _ in find_pins_in_text(unclosed, 4)] == ["assertion"]
    assert find_pins_in_text("package p\nfunc f() {\n\tif 4 == a.b)] {\n", 4) == []


def test_the_modernc_fixture_reports_exactly_its_three_pins(tmp_path: Path) -> None:
    root = tmp_path / "notes"
    shutil.copytree(MODERNC_FIXTURE, root)
    write_files(root / "store" / "migrations", {"000010_archived.up.sql": "ALTER TABLE note ADD COLUMN archived_at TEXT;\n",
                                                "000010_archived.down.sql": "ALTER TABLE note DROP COLUMN archived_at;\n"})

    proc = run_cli("make_test_stub.py", "--dry-run", cwd=root)
    rc, payload = run_json("make_test_stub.py", "--dry-run", cwd=root)

    places = [(p["file"], p["line"], p["kind"]) for p in payload["pinned"]["places"]]
    assert rc == 1 and payload["status"] == "problems"
    assert payload["pinned"]["expected"] == 9 and payload["pinned"]["newest"] == 10
    assert places == [("store/store_test.go", 14, "constant"), ("store/store_test.go", 33, "assertion"),
                      ("store/store_test.go", 46, "comparison")]
    assert ("problem: 3 place(s) in the project's tests expect 9 as the newest version, which is now 10 (000010); update them:\n"
            "  store/store_test.go:14: const schemaVersion = 9\n"
            "  store/store_test.go:33: require.EqualValues(t, 9, v)\n"
            "  store/store_test.go:46: if version != 9 {\n") in proc.stdout


def test_no_pins_are_looked_for_below_the_newest_version(tmp_path: Path) -> None:
    root = tmp_path / "notes"
    shutil.copytree(MODERNC_FIXTURE, root)

    rc, payload = run_json("make_test_stub.py", "--version", "8", "--dry-run", cwd=root)

    assert rc == 0 and payload["pinned"] is None


def test_many_pins_are_grouped_one_line_per_file(tmp_path: Path) -> None:
    root = plain_module(tmp_path, NOTES)
    asserts = "".join(f"\tif v != 1 {{\n\t\tt.Fatal({n})\n\t}}\n" for n in range(12))
    for name in ("a_test.go", "b_test.go"):
        (root / "db" / name).write_text("package db\n\nfunc TestPinned(t *testing.T) {\n\tv, _, _ := m.Version()\n" + asserts + "}\n")

    proc = run_cli("make_test_stub.py", "--dir", "db/migrations", "--dry-run", cwd=root)
    rc, payload = run_json("make_test_stub.py", "--dir", "db/migrations", "--dry-run", cwd=root)

    assert rc == 1 and len(payload["pinned"]["places"]) == 24
    assert "  db/a_test.go: lines 5, 8, 11, 14, 17, 20, 23, 26, 29, 32 and 2 more\n" in proc.stdout
    assert "  db/b_test.go: lines 5," in proc.stdout
    assert "24 place(s) in the project's tests expect 1" in proc.stdout


# ---------------------------------------------------------- dry-run budget

def _big_test_file(root: Path) -> Path:
    """The example module's migrate_test.go with its generated tests for
    versions 1-3 and a store's worth of hand-written table tests: 60+ KB."""
    migrations = str(SQLITE_PKG / "migrations")
    for version in ("1", "2", "3"):
        run_cli("make_test_stub.py", "--dir", migrations, "--version", version, cwd=root)
    test_file = root / SQLITE_PKG / "migrate_test.go"
    extra = []
    for table, column in [("library", "name"), ("media_item", "title"), ("encoding_preset", "name"), ("transcode_job", "state")]:
        for case in ("Empty", "One", "Many", "Unicode", "Long", "Quotes", "Null", "Trimmed", "Upper", "Spaces", "Emoji", "Tabs"):
            extra.append(
                f"// Test{table.title().replace('_', '')}{column.title()}{case} writes and reads {table}.{column}.\n"
                f"func Test{table.title().replace('_', '')}{column.title()}{case}(t *testing.T) {{\n"
                f"\tpath := mwDBPath(t)\n\tmwMigrateTo(t, path, mwLatestVersion(t))\n\tdb := mwOpenDB(t, path)\n"
                f"\tvar n int\n\trequire.NoError(t, db.QueryRow(`SELECT count(*) FROM {table} WHERE {column} IS NOT NULL`).Scan(&n))\n"
                f"\trequire.GreaterOrEqual(t, n, 0, \"{case} rows of {table}\")\n}}\n")
    with test_file.open("a") as handle:
        handle.write("\n" + "\n".join(extra))
    return test_file


def test_dry_run_on_a_60kb_test_file_shows_only_what_it_adds(tmp_path: Path) -> None:
    root = examples_copy(tmp_path)
    test_file = _big_test_file(root)
    old_lines = set(test_file.read_text().splitlines())
    args = ("--dir", str(SQLITE_PKG / "migrations"), "--dry-run")

    proc = run_cli("make_test_stub.py", *args, cwd=root)
    full = run_cli("make_test_stub.py", *args, "-v", cwd=root)
    _, payload = run_json("make_test_stub.py", *args, cwd=root)

    out = proc.stdout
    context = [line[1:] for line in out.splitlines() if line.startswith(" ") and not line.startswith("  ")]
    [helper] = payload["helpers_added"]
    assert test_file.stat().st_size > 60_000
    assert proc.returncode == 0, out + proc.stderr
    assert len(out.encode()) <= 4096, f"the dry run printed {len(out)} bytes"
    assert "+func TestMigration_000004_FreshDatabase(t *testing.T) {" in out
    assert all(line in old_lines for line in context) and len(context) <= 3 * 2 * out.count("\n@@ ")
    assert f"helper(s) {helper} (library code, not shown; -v shows it)" in out and f"+func {helper}(" not in out
    assert f"+func {helper}(" in full.stdout
    assert payload["diff"] in out, "--json carries the same short diff"


def test_a_first_dry_run_names_the_helpers_instead_of_printing_them(tmp_path: Path) -> None:
    root = plain_module(tmp_path, NOTES)

    proc = run_cli("make_test_stub.py", "--dir", "db/migrations", "--dry-run", cwd=root)
    full = run_cli("make_test_stub.py", "--dir", "db/migrations", "--dry-run", "-v", cwd=root)
    _, payload = run_json("make_test_stub.py", "--dir", "db/migrations", "--dry-run", cwd=root)

    [marker] = [line for line in proc.stdout.splitlines() if line.startswith("+// ... ") and "helper(s)" in line]
    assert len(payload["helpers_added"]) > 10
    assert all(name in marker for name in payload["helpers_added"])
    assert not any(f"+func {name}(" in proc.stdout for name in payload["helpers_added"])
    assert all(f"+func {name}(" in full.stdout for name in payload["helpers_added"])
    assert len(proc.stdout) * 3 < len(full.stdout)


def test_a_test_file_gofmt_would_change_keeps_every_line_of_the_user(tmp_path: Path) -> None:
    root = plain_module(tmp_path, NOTES)
    mine = ("package db\n\nimport (\n\t\"testing\"\n\t\"strings\"\n)\n\n"
            "func TestMine(t *testing.T)  {\n  if !strings.HasPrefix(\"ab\",\"a\") { t.Fatal(\"x\") }\n}\n\n"
            "var  aligned = map[string]int{\"a\":1,\n\"bb\": 2}\n")
    test_file = root / "db" / "migrate_test.go"
    test_file.write_text(mine)

    proc = run_cli("make_test_stub.py", "--dir", "db/migrations", "--dry-run", cwd=root)
    run_cli("make_test_stub.py", "--dir", "db/migrations", cwd=root)

    written = test_file.read_text()
    removed = [line for line in proc.stdout.splitlines() if line.startswith("-") and not line.startswith("---")]
    body = mine[mine.index("func TestMine"):]
    assert body in written, "the user's code below the imports is kept byte for byte"
    assert all(line.strip() in ('"testing"', '"strings"') for line in (r[1:] for r in removed)), removed
    assert "TestMigration_2_FreshDatabase" in written
    if GOFMT is not None:
        assert subprocess.run([GOFMT, "-e", str(test_file)], capture_output=True).returncode == 0
