"""Facts about how a Go project runs golang-migrate, read from its source."""

from __future__ import annotations

import pytest

from mwcore.project import embedded_sql_dirs, read_project_facts

from conftest import EXAMPLE_MIGRATIONS, write_files

GO_MOD = "module example.com/app\n\ngo 1.22\n"


def project(tmp_path, go_source: str, name: str = "store.go"):
    write_files(tmp_path, {"go.mod": GO_MOD})
    write_files(tmp_path / "db", {name: go_source})
    migrations = tmp_path / "db" / "migrations"
    write_files(migrations, {"1_a.up.sql": ""})
    return migrations


@pytest.mark.parametrize("source,expected", [
    ('sql.Open("sqlite3", "file:app.db?_foreign_keys=1&_busy_timeout=5000")', True),
    ('dsn := path + "?_fk=true"', True),
    ('db.Exec("PRAGMA foreign_keys = ON")', True),
    ('sql.Open("sqlite3", "file:app.db?_busy_timeout=5000&_txlock=immediate")', False),
    ('sql.Open("sqlite3", "file:app.db?_foreign_keys=off")', False),
])
def test_foreign_key_enforcement_is_read_from_the_dsn(tmp_path, source, expected):
    facts = read_project_facts(project(tmp_path, f"package db\n\nfunc open() {{ {source} }}\n"))
    assert facts.foreign_keys is expected
    assert facts.foreign_keys_evidence


def test_the_build_tag_switches_foreign_keys_on(tmp_path):
    migrations = project(tmp_path, "package db\n")
    (tmp_path / "Makefile").write_text("build:\n\tgo build -tags sqlite_foreign_keys ./...\n")
    facts = read_project_facts(migrations)
    assert facts.foreign_keys is True and "Makefile" in facts.foreign_keys_evidence


def test_test_files_do_not_decide(tmp_path):
    migrations = project(tmp_path, "package db\n")
    write_files(tmp_path / "db", {"store_test.go": 'package db\nconst dsn = "x?_foreign_keys=1"\n'})
    assert read_project_facts(migrations).foreign_keys is False


def test_without_go_source_enforcement_is_unknown(tmp_path):
    write_files(tmp_path / "migrations", {"1_a.up.sql": ""})
    facts = read_project_facts(tmp_path / "migrations")
    assert facts.foreign_keys is None and facts.module_root is None


@pytest.mark.parametrize("source", [
    'm, err := migrate.New(src, "sqlite3://app.db?x-no-tx-wrap=true")',
    "driver, err := sqlite3.WithInstance(db, &sqlite3.Config{NoTxWrap: true})",
])
def test_no_tx_wrap_is_detected(tmp_path, source):
    facts = read_project_facts(project(tmp_path, f"package db\n\nfunc f() {{ {source} }}\n"))
    assert facts.no_tx_wrap and facts.no_tx_wrap_evidence.startswith("db/store.go:3")


@pytest.mark.parametrize("source,table", [
    ('"sqlite3://app.db?x-migrations-table=versions"', "versions"),
    ('&sqlite3.Config{MigrationsTable: "schema_version"}', "schema_version"),
    ('"sqlite3://app.db"', "schema_migrations"),
])
def test_migrations_table_name(tmp_path, source, table):
    assert read_project_facts(project(tmp_path, f"package db\nvar x = {source}\n")).migrations_table == table


def test_the_example_module_runs_with_enforcement_off_and_wrapped():
    facts = read_project_facts(EXAMPLE_MIGRATIONS)
    assert facts.foreign_keys is False and not facts.no_tx_wrap
    assert facts.module_root.name == "examples"


@pytest.mark.parametrize("directive,expected", [
    ("//go:embed migrations/*.sql", ["migrations"]),
    ('//go:embed "migrations/*.sql"', ["migrations"]),
    ("//go:embed migrations", ["migrations"]),
    ("//go:embed all:migrations", ["migrations"]),
    ("//go:embed templates/*.html", []),
])
def test_embed_directives(tmp_path, directive, expected):
    (tmp_path / "migrations").mkdir()
    (tmp_path / "templates").mkdir()
    go_file = tmp_path / "x.go"
    found = embedded_sql_dirs(go_file, f"package x\n\n{directive}\nvar f embed.FS\n")
    assert [p.name for p in found] == expected
