"""How a Go project runs golang-migrate, read from its source: the facts every
script shares (mwcore.project), on the fixture modules of
tests/fixtures/projects (one per way real projects configure it) and on
small modules written here for single forms."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mwcore.errors import FolderError
from mwcore.project import embedded_sql_dirs, project_facts, read_project_facts

from conftest import EXAMPLE_MIGRATIONS, ROOT, go_app, run_cli, run_json, write_files

FIXTURES = ROOT / "tests" / "fixtures" / "projects"


def line_of(root: Path, rel: str, needle: str) -> str:
    """`rel:N` for the first line of root/rel holding `needle`."""
    for number, line in enumerate((root / rel).read_text().splitlines(), 1):
        if needle in line:
            return f"{rel}:{number}"
    raise AssertionError(f"{needle!r} not in {root / rel}")


MATTN = ("github.com/mattn/go-sqlite3", "v1.14.32", "3.50.4")
MODERNC = ("modernc.org/sqlite", "v1.18.1", "3.39.2")
STORE = "internal/store/store.go"

# fixture: (dir, driver, library, foreign keys, (file, text on the evidence line), tx_wrap, table, functions)
CASES = {
    "mattn_fk_dsn": ("internal/store/migrations", "sqlite3", MATTN, "on", (STORE, "_foreign_keys=1"),
                     "on", "schema_migrations", []),
    "mattn_fk_app_only": ("internal/store/migrations", "sqlite3", MATTN, "off", (STORE, '"?_busy_timeout=5000")'),
                          "on", "schema_migrations", []),
    "pragma_after_up": ("internal/store/migrations", "sqlite3", MATTN, "off", (STORE, 'sql.Open("sqlite3"'),
                        "on", "schema_migrations", []),
    "modernc_pragma_url": ("internal/store/migrations", "sqlite", MODERNC, "on",
                           (STORE, '"sqlite://"+path+"?_pragma=foreign_keys(1)"'), "on", "schema_migrations", []),
    "modernc_pragma_slice": ("internal/store/migrations", "sqlite", MODERNC, "on", (STORE, '"foreign_keys(1)",'),
                             "on", "schema_migrations", []),
    "notxwrap_config": ("internal/store/migrations", "sqlite3", MATTN, "off", (STORE, 'sql.Open("sqlite3"'),
                        "off", "schema_migrations", []),
    "notxwrap_url": ("db/migrations", "sqlite3", MATTN, "off", (STORE, "x-no-tx-wrap=true"),
                     "off", "schema_migrations", []),
    "migrations_table_config": ("internal/store/migrations", "sqlite", MODERNC, "off", (STORE, 'sql.Open("sqlite"'),
                                "on", "app_schema_version", []),
    "httpfs_embed_dir": ("db/migrations", "sqlite3", MATTN, "off", (STORE, 'sql.Open("sqlite3"'),
                         "on", "schema_migrations", []),
    "dialect_subfolders": ("resources/migrations/sqlite", "sqlite3", MATTN, "off", (STORE, 'sql.Open("sqlite3"'),
                           "on", "schema_migrations", []),
    "app_function": ("internal/store/migrations", "sqlite3", MATTN, "off", (STORE, "sql.Open(driverName"),
                     "on", "schema_migrations", [{"name": "slugify", "args": 1, "deterministic": True}]),
    "messy_history": ("internal/store/migrations", "sqlite3", MATTN, "off", (STORE, 'sql.Open("sqlite3"'),
                      "on", "schema_migrations", []),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_facts(name):
    directory, driver, library, fk, (file, marker), tx_wrap, table, functions = CASES[name]
    root = FIXTURES / name
    code, out = run_json("status.py", cwd=root)
    facts = out["project"]
    assert code == 0 and facts["dir"] == directory
    assert facts["driver"] == driver
    assert (facts["sqlite_library"]["module"], facts["sqlite_library"]["version"], facts["app_sqlite"]["version"]) == library
    assert facts["foreign_keys"] == fk
    evidence = line_of(root, file, marker)
    assert facts["foreign_keys_evidence"].startswith(evidence + ":"), (evidence, facts["foreign_keys_evidence"])
    assert facts["tx_wrap"] == tx_wrap and facts["migrations_table"] == table
    assert [{k: f[k] for k in ("name", "args", "deterministic")} for f in facts["sql_functions"]] == functions
    # The same object, whatever script is asked.
    assert run_json("next_version.py", cwd=root)[1]["project"] == facts


def test_a_connection_with_foreign_keys_that_golang_migrate_never_gets_is_named_as_such():
    facts = project_facts(start=FIXTURES / "mattn_fk_app_only")
    app = line_of(FIXTURES / "mattn_fk_app_only", STORE, "_fk=true")
    assert f"{app}: _fk=true is on another connection" in facts.foreign_keys_evidence


def test_a_pragma_after_the_migrations_does_not_count_and_is_named():
    facts = project_facts(start=FIXTURES / "pragma_after_up")
    pragma = line_of(FIXTURES / "pragma_after_up", STORE, "PRAGMA foreign_keys = ON")
    assert f"{pragma}: PRAGMA foreign_keys = ON runs after the migrations" in facts.foreign_keys_evidence


def test_the_folder_read_through_httpfs_is_the_embedded_directory():
    facts = project_facts(start=FIXTURES / "httpfs_embed_dir")
    assert facts.dir_source.startswith("embedded by embed.go:8 (//go:embed db/migrations), read with ")
    assert "httpfs.New" in facts.dir_source


def test_a_folder_of_dialect_subfolders_resolves_to_its_sqlite_one(tmp_path):
    root = FIXTURES / "dialect_subfolders"
    facts = project_facts(start=root)
    assert facts.dir.relative_to(root).as_posix() == "resources/migrations/sqlite"
    assert "its sqlite subfolder" in facts.dir_source
    # next_version.py --create writes there, not beside the subfolders.
    code, out = run_json("next_version.py", "--create", "add_isbn", "--dry-run", cwd=root)
    assert code == 0 and out["next"] == "000003"
    assert all(p.startswith("resources/migrations/sqlite/000003_add_isbn.") for p in out["would_create"])


def test_two_sqlite_folders_are_listed_with_table_and_versions_and_never_picked():
    root = FIXTURES / "two_sqlite_folders"
    proc = run_cli("status.py", "--json", cwd=root)
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.count("\n") == 1
    assert "found 2 SQLite migrations folders" in proc.stderr
    assert "internal/cache/migrations (table cache_schema_migrations, 1 version, migrated at internal/cache/cache.go:" in proc.stderr
    assert "internal/store/migrations (table schema_migrations, 3 versions, migrated at internal/store/store.go:" in proc.stderr
    assert "pass --dir" in proc.stderr
    for folder, table in (("internal/cache/migrations", "cache_schema_migrations"),
                          ("internal/store/migrations", "schema_migrations")):
        code, out = run_json("status.py", "--dir", folder, cwd=root)
        assert code == 0 and out["project"]["migrations_table"] == table


def test_text_output_shows_the_facts_in_one_line():
    proc = run_cli("status.py", cwd=FIXTURES / "modernc_pragma_slice")
    (line,) = [line for line in proc.stdout.splitlines() if line.startswith("project: ")]
    assert line.startswith("project: driver sqlite (modernc.org/sqlite v1.18.1, SQLite 3.39.2); "
                           "foreign keys on while migrating (internal/store/store.go:")
    assert "each file in a transaction; table schema_migrations" in line


def test_every_fixture_is_a_module_with_migrations_golang_migrate_reads():
    names = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
    assert names == sorted([*CASES, "two_sqlite_folders"])
    for name in names:
        assert (FIXTURES / name / "go.mod").is_file() and (FIXTURES / name / "go.sum").is_file()


# Single forms, on small modules --------------------------------------------------------

STORE_GO = """package store

import (
	"database/sql"
	"embed"
	"fmt"
	"os"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database/{pkg}"
	"github.com/golang-migrate/migrate/v4/source/iofs"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

func Open(path string) (*sql.DB, error) {{
	{body}
	src, _ := iofs.New(migrationsFS, "migrations")
	drv, err := {pkg}.WithInstance(db, &{pkg}.Config{{}})
	if err != nil {{
		return nil, err
	}}
	m, _ := migrate.NewWithInstance("iofs", src, "{pkg}", drv)
	if err := m.Up(); err != nil {{
		return nil, err
	}}
	{after}
	return db, nil
}}
"""


def module(tmp_path: Path, body: str, *, after: str = "", pkg: str = "sqlite3", extra: dict = None) -> Path:
    write_files(tmp_path, {"go.mod": "module example.com/app\n\ngo 1.24.0\n",
                           "store.go": STORE_GO.format(pkg=pkg, body=body, after=after), **(extra or {})})
    write_files(tmp_path / "migrations", {"1_a.up.sql": "CREATE TABLE a(id INTEGER PRIMARY KEY);\n"})
    return tmp_path


@pytest.mark.parametrize("body,pkg,expected", [
    ('db, _ := sql.Open("sqlite3", path+"?_fk=1")', "sqlite3", True),
    ('db, _ := sql.Open("sqlite3", path+"?_foreign_keys=off")', "sqlite3", False),
    ('db, _ := sql.Open("sqlite3", path+"?_FK=TRUE")', "sqlite3", False),  # mattn's keys are case-sensitive
    ('db, _ := sql.Open("sqlite3", path+"?_foreign_keys=1&_fk=0")', "sqlite3", False),  # _fk wins in mattn
    # mattn has no _pragma parameter: this DSN leaves enforcement off.
    ('db, _ := sql.Open("sqlite3", path+"?_pragma=foreign_keys(1)")', "sqlite3", False),
    ('db, _ := sql.Open("sqlite", path+"?_pragma=foreign_keys(ON)")', "sqlite", True),
    ('db, _ := sql.Open("sqlite", path+"?_pragma=foreign_keys%3Don")', "sqlite", True),
    ('db, _ := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")', "sqlite", False),
    ('db, _ := sql.Open("sqlite3", fmt.Sprintf("file:%s?_foreign_keys=%s", path, "true"))', "sqlite3", True),
    ('db, _ := sql.Open("sqlite3", path)\n\tdb.Exec("PRAGMA foreign_keys = ON")', "sqlite3", True),
    ('db, _ := sql.Open("sqlite", path)\n\tfor _, p := range []string{"PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=1"} '
     '{\n\t\tdb.Exec(p)\n\t}', "sqlite", True),
])
def test_foreign_keys_while_migrating(tmp_path, body, pkg, expected):
    facts = read_project_facts(module(tmp_path, body, pkg=pkg) / "migrations")
    assert facts.foreign_keys is expected, facts.foreign_keys_evidence
    assert facts.foreign_keys_evidence.startswith("store.go:")
    assert facts.driver == pkg


def test_a_dsn_set_on_some_paths_only_is_unknown(tmp_path):
    body = 'dsn := path + "?_busy_timeout=5000"\n\tif debug {\n\t\tdsn += "&_fk=1"\n\t}\n\tdb, _ := sql.Open("sqlite3", dsn)'
    facts = read_project_facts(module(tmp_path, body, extra={"debug.go": "package store\n\nvar debug = false\n"}) / "migrations")
    assert facts.foreign_keys is None and "some paths" in facts.foreign_keys_evidence


def test_a_dsn_from_the_environment_is_off_unless_a_setting_elsewhere_may_reach_it(tmp_path):
    body = 'db, _ := sql.Open("sqlite3", os.Getenv("DATABASE_DSN"))'
    plain = read_project_facts(module(tmp_path / "plain", body) / "migrations")
    assert plain.foreign_keys is False and "none appears elsewhere" in plain.foreign_keys_evidence
    stray = module(tmp_path / "stray", body, extra={"defaults.go": 'package store\n\nconst FKParams = "&_fk=1"\n'})
    facts = read_project_facts(stray / "migrations")
    assert facts.foreign_keys is None
    assert '"&_fk=1" at defaults.go:3 may reach it' in facts.foreign_keys_evidence


def test_the_build_tag_switches_mattn_foreign_keys_on(tmp_path):
    root = module(tmp_path, 'db, _ := sql.Open("sqlite3", path)',
                  extra={"Makefile": "build:\n\tgo build -tags 'sqlite_foreign_keys' ./...\n"})
    facts = read_project_facts(root / "migrations")
    assert facts.foreign_keys is True and facts.foreign_keys_evidence.startswith("Makefile:2")


def test_a_connect_hook_that_enables_foreign_keys_counts(tmp_path):
    hook = """package store

import (
	"database/sql"

	sqlite "github.com/mattn/go-sqlite3"
)

func init() {
	sql.Register("sqlite3_fk", &sqlite.SQLiteDriver{ConnectHook: func(c *sqlite.SQLiteConn) error {
		_, err := c.Exec("PRAGMA foreign_keys = ON", nil)
		return err
	}})
}
"""
    root = module(tmp_path, 'db, _ := sql.Open("sqlite3_fk", path)', extra={"driver.go": hook})
    facts = read_project_facts(root / "migrations")
    assert facts.foreign_keys is True and facts.foreign_keys_evidence.startswith("driver.go:11")


def test_the_connection_is_followed_through_callers_in_other_packages(tmp_path):
    write_files(tmp_path, {
        "go.mod": "module example.com/app\n\ngo 1.24.0\n",
        "main.go": 'package main\n\nimport (\n\t"database/sql"\n\n\t"example.com/app/internal/migrations"\n)\n\n'
                   'func main() {\n\tdb, _ := sql.Open("sqlite", "app.db?_pragma=foreign_keys(1)")\n'
                   '\t_ = migrations.Run(db)\n}\n',
    })
    write_files(tmp_path / "internal" / "migrations", {
        "run.go": 'package migrations\n\nimport (\n\t"database/sql"\n\t"embed"\n\n'
                  '\t"github.com/golang-migrate/migrate/v4"\n\tmsqlite "github.com/golang-migrate/migrate/v4/database/sqlite"\n'
                  '\t"github.com/golang-migrate/migrate/v4/source/iofs"\n)\n\n//go:embed sql\nvar files embed.FS\n\n'
                  'func Run(db *sql.DB) error {\n\tsrc, _ := iofs.New(files, "sql")\n'
                  '\tdrv, _ := msqlite.WithInstance(db, &msqlite.Config{})\n'
                  '\tm, _ := migrate.NewWithInstance("iofs", src, "sqlite", drv)\n\treturn m.Up()\n}\n',
    })
    write_files(tmp_path / "internal" / "migrations" / "sql", {"1_a.up.sql": "CREATE TABLE a(id INTEGER PRIMARY KEY);\n"})
    facts = project_facts(start=tmp_path)
    assert facts.dir == (tmp_path / "internal" / "migrations" / "sql").resolve()
    assert (facts.driver, facts.foreign_keys) == ("sqlite", True)
    assert facts.foreign_keys_evidence.startswith("main.go:10: _pragma=foreign_keys(1)")


@pytest.mark.parametrize("config,assign,wrap,table", [
    ("NoTxWrap: true", "", "off", "schema_migrations"),
    ("", "cfg.NoTxWrap = true", "off", "schema_migrations"),
    ("MigrationsTable: versionsTable", "", "on", "versions"),
    ("NoTxWrap: unwrap", "", "unknown", "schema_migrations"),
])
def test_transaction_wrap_and_table_from_the_config(tmp_path, config, assign, wrap, table):
    source = STORE_GO.format(pkg="sqlite3", body='db, _ := sql.Open("sqlite3", path)', after="").replace(
        "drv, err := sqlite3.WithInstance(db, &sqlite3.Config{})",
        f"cfg := &sqlite3.Config{{{config}}}\n\t{assign}\n\tdrv, err := sqlite3.WithInstance(db, cfg)")
    write_files(tmp_path, {"go.mod": "module example.com/app\n\ngo 1.24.0\n", "store.go": source,
                           "consts.go": 'package store\n\nconst versionsTable = "versions"\n\nvar unwrap = len(versionsTable) > 3\n'})
    write_files(tmp_path / "migrations", {"1_a.up.sql": ""})
    facts = read_project_facts(tmp_path / "migrations")
    assert (facts.tx_wrap, facts.migrations_table) == (wrap, table)
    if wrap == "unknown":
        assert facts.tx_wrap_evidence.startswith("store.go:") and "NoTxWrap: unwrap" in facts.tx_wrap_evidence


def test_the_migrate_cli_in_a_makefile_is_a_migrator_too(tmp_path):
    write_files(tmp_path, {
        "go.mod": "module example.com/app\n\ngo 1.24.0\n",
        "Makefile": "DB ?= app.db\n\nmigrate-up:\n\tmigrate -path db/migrations -database \"sqlite3://$(DB)?x-no-tx-wrap=true\" up\n",
    })
    write_files(tmp_path / "db" / "migrations", {"1_a.up.sql": "BEGIN;\nCREATE TABLE a(id INTEGER);\nCOMMIT;\n"})
    code, out = run_json("status.py", cwd=tmp_path)
    assert code == 0 and out["dir"] == "db/migrations"
    assert out["project"]["tx_wrap"] == "off" and out["project"]["tx_wrap_evidence"].startswith("Makefile:4")
    assert out["project"]["driver"] == "sqlite3"


def test_modernc_functions_are_read_with_their_arity(tmp_path):
    funcs = """package store

import (
	"database/sql/driver"
	"strings"

	"modernc.org/sqlite"
)

func init() {
	sqlite.MustRegisterDeterministicScalarFunction("initials", 1, func(ctx *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		return strings.ToUpper(args[0].(string)[:1]), nil
	})
	_ = sqlite.RegisterScalarFunction("now_ms", 0, nowMillis)
}
"""
    root = module(tmp_path, 'db, _ := sql.Open("sqlite", path)', pkg="sqlite", extra={"funcs.go": funcs})
    facts = read_project_facts(root / "migrations")
    assert [(f.name, f.args, f.deterministic, f.evidence) for f in facts.sql_functions] == [
        ("initials", 1, True, "funcs.go:11"), ("now_ms", 0, False, "funcs.go:14")]


def test_without_go_source_nothing_is_known(tmp_path):
    write_files(tmp_path / "migrations", {"1_a.up.sql": ""})
    facts = read_project_facts(tmp_path / "migrations")
    assert facts.foreign_keys is None and facts.module_root is None and facts.driver == "unknown"
    assert facts.as_json()["foreign_keys"] == "unknown"


def test_the_example_module_runs_with_enforcement_off_and_wrapped():
    facts = read_project_facts(EXAMPLE_MIGRATIONS)
    assert facts.foreign_keys is False and facts.tx_wrap == "on"
    assert facts.module_root.name == "examples"
    # New(ctx, path) -> open() -> &SQLite{db: db} -> newMigrate(s.db) -> sqlite3.WithInstance(db, ...)
    assert facts.foreign_keys_evidence.startswith("pkg/storage/sqlite/sqlite.go:")


def test_the_project_object_has_the_same_keys_in_every_script(tmp_path):
    root = tmp_path / "app"
    shutil.copytree(FIXTURES / "app_function", root)
    keys = None
    for script, args in (("status.py", []), ("next_version.py", []), ("validate_pairs.py", []),
                         ("verify_migrations.py", []), ("make_test_stub.py", ["--dry-run"]),
                         ("rebuild_table.py", ["author", "--nullable", "name"])):
        _code, out = run_json(script, *args, cwd=root)
        assert {"dir", "dir_source", "driver", "sqlite_library", "app_sqlite", "foreign_keys", "foreign_keys_evidence",
                "tx_wrap", "tx_wrap_evidence", "migrations_table", "sql_functions"} <= set(out["project"]), script
        keys = keys or out["project"]
        assert out["project"] == keys, script


@pytest.mark.parametrize("directive,expected", [
    ("//go:embed migrations/*.sql", ["migrations"]),
    ('//go:embed "migrations/*.sql"', ["migrations"]),
    ("//go:embed migrations", ["migrations"]),
    ("//go:embed all:migrations", ["migrations"]),
    ("//go:embed templates/*.html", []),
    ("//go:embed ../migrations/*.sql", []),  # go:embed refuses '..': never followed out of the package
    ("//go:embed /etc/migrations", []),
])
def test_embed_directives(tmp_path, directive, expected):
    (tmp_path / "pkg" / "migrations").mkdir(parents=True)
    (tmp_path / "migrations").mkdir()
    (tmp_path / "pkg" / "templates").mkdir()
    go_file = tmp_path / "pkg" / "x.go"
    found = embedded_sql_dirs(go_file, f"package x\n\n{directive}\nvar f embed.FS\n")
    assert [p.name for p in found] == expected


def test_status_json_without_db_is_the_cheap_way_to_ask(tmp_path):
    folder = write_files(go_app(tmp_path, dsn='path + "?_foreign_keys=1"'), {"1_a.up.sql": ""})
    proc = run_cli("status.py", "--json", cwd=tmp_path)
    out = json.loads(proc.stdout)
    assert proc.returncode == 0 and out["project"]["foreign_keys"] == "on"
    assert out["project"]["dir"] == "migrations" and folder.is_dir()


def test_an_iofs_path_out_of_the_module_is_never_followed(tmp_path):
    root = module(tmp_path / "app", 'db, _ := sql.Open("sqlite3", path)')
    store = (root / "store.go").read_text().replace('iofs.New(migrationsFS, "migrations")', 'iofs.New(migrationsFS, "../../elsewhere")')
    (root / "store.go").write_text(store)
    write_files(tmp_path / "elsewhere", {"1_x.up.sql": ""})
    facts = project_facts(start=root)
    assert facts.dir != (tmp_path / "elsewhere").resolve()


@pytest.mark.parametrize("name", ["mattn_fk_app_only", "pragma_after_up"])
def test_settings_that_do_not_apply_while_migrating_raise_no_false_alarm(tmp_path, name):
    """The app enforces foreign keys, but not while golang-migrate runs: a
    parent rebuild written for enforcement off is right, and the checks say so
    (the same SQL checked as if enforcement were on loses the books)."""
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    code, _out = run_json("rebuild_table.py", "author", "--nullable", "name", "--foreign-keys", "off",
                          "--create", "relax_author_name", cwd=root)
    assert code == 0
    code, out = run_json("validate_pairs.py", cwd=root)
    assert code == 0 and not [f for f in out["findings"] if f["severity"] == "error"]
    code, out = run_json("verify_migrations.py", "--all", cwd=root)
    assert code == 0 and out["project"]["foreign_keys"] == "off" and "foreign_keys" not in out
    code, out = run_json("verify_migrations.py", "--all", "--foreign-keys", "on", cwd=root)
    assert code == 1 and out["foreign_keys"] == "on"
    assert out["steps"][2]["data"] == "failed" and "of book are gone" in out["steps"][2]["error"]
