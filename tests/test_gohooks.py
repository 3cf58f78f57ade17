"""Go code that runs at a migration version (mwcore.gohooks): the evidence
that makes a comment-only up a placeholder."""

from __future__ import annotations

from pathlib import Path

import pytest

from mwcore.gohooks import go_int, hook_versions


@pytest.mark.parametrize("text,value", [
    ("5", 5), ("1_000", 1000), ("0x1f", 31), ("0o17", 15), ("017", 15), ("0b101", 5), ("0", 0),
    ("1.5", None), ("08", None),
])
def test_go_integer_literals(text, value):
    assert go_int(text) == value


def module(tmp_path: Path, go: str, where: str = "db/migrate.go") -> Path:
    (tmp_path / "go.mod").write_text("module example.com/app\n\ngo 1.24.0\n")
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    path = tmp_path / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('package db\n\nimport "github.com/golang-migrate/migrate/v4"\n\n' + go)
    return folder


@pytest.mark.parametrize("go,what", [
    ("var hooks = map[uint]func() error{\n\t3: a,\n\t7: func() error { return nil },\n}\n", "a key of a table of functions"),
    ("func f(v uint) {\n\tswitch v {\n\tcase 7:\n\t\tb()\n\t}\n}\n", "a case of a switch"),
    ("func f(m *migrate.Migrate) { _ = m.Migrate(7); b() }\n", "Migrate to this version"),
    ("func f(version uint) { if version == 7 { b() } }\n", "compared with the version"),
    ("func f(v uint) { if 7 == currentVersion { b() } }\n", "compared with the version"),
])
def test_each_form_of_go_code_at_a_version_is_found(tmp_path, go, what):
    found = hook_versions(module(tmp_path, go), tmp_path, [7])
    assert list(found) == [7] and found[7].startswith("db/migrate.go:") and found[7].endswith(f"({what})")


@pytest.mark.parametrize("go", [
    'var names = map[int]string{7: "seven"}\n',  # a table of strings, not of functions
    "// case 7: backfill\nvar x = 1\n",  # a comment
    'var s = "case 7:"\n',  # a string
    "func f() { n := 7; _ = n }\n",  # a plain number
])
def test_other_sevens_are_not_evidence(tmp_path, go):
    assert hook_versions(module(tmp_path, go), tmp_path, [7]) == {}


def test_a_go_file_named_after_the_version_in_the_folder_is_evidence(tmp_path):
    folder = module(tmp_path, "var x = 1\n")
    (folder / "000007_backfill.go").write_text("package migrations\n")
    assert hook_versions(folder, tmp_path, [7]) == {7: "db/migrations/000007_backfill.go (a Go file named after the version)"}


def test_go_files_elsewhere_count_only_when_they_use_golang_migrate(tmp_path):
    folder = module(tmp_path, "var x = 1\n")
    (tmp_path / "internal").mkdir()
    (tmp_path / "internal" / "other.go").write_text("package internal\n\nvar hooks = map[uint]func(){7: f}\n")
    assert hook_versions(folder, tmp_path, [7]) == {}
    (tmp_path / "internal" / "runner.go").write_text(
        'package internal\n\nimport "github.com/golang-migrate/migrate/v4"\n\nvar hooks = map[uint]func(){7: f}\n')
    assert hook_versions(folder, tmp_path, [7])[7].startswith("internal/runner.go:5 ")
