"""golex: the package-level names, imports and spans of a Go file, read from
Go's tokens (never from text inside strings or comments)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mwcore.golex import default_package_name, normalize_decl, package_name, parse_file, rename_identifiers, used_qualifiers

SOURCE = '''\
// Package demo has a comment with func fake() in it.
package demo

import (
	"database/sql"
	errs "errors"
	_ "github.com/mattn/go-sqlite3"
	. "strings"
)

import "fmt"

const (
	a, b = 1, 2
	c    = "func notAFunc() {"
)

var single = map[string]int{
	"x": 1,
}

type (
	T struct{ f int }
	U = T
)

func (t *T) Method() {}

func Generic[K comparable](k K) struct{ v K } {
	return struct{ v K }{k}
}

func tail() string {
	return `raw
func insideRaw() {}
`
}

/* func inBlockComment() {} */
var x, y int
'''


def test_package_level_names_are_found_and_methods_and_strings_are_not() -> None:
    names = {(d.kind, d.name) for d in parse_file(SOURCE).decls}

    assert names == {
        ("const", "a"), ("const", "b"), ("const", "c"), ("var", "single"), ("type", "T"), ("type", "U"),
        ("func", "Generic"), ("func", "tail"), ("var", "x"), ("var", "y"),
    }


def test_imports_keep_their_aliases_and_local_names() -> None:
    go_file = parse_file(SOURCE)

    assert go_file.package == "demo"
    assert [(i.name, i.path, i.local_name) for i in go_file.imports] == [
        (None, "database/sql", "sql"),
        ("errs", "errors", "errs"),
        ("_", "github.com/mattn/go-sqlite3", "_"),
        (".", "strings", "."),
        (None, "fmt", "fmt"),
    ]
    assert [grouped for _, _, grouped in go_file.import_decls] == [True, False]


def test_a_declaration_span_covers_the_whole_body() -> None:
    go_file = parse_file(SOURCE)
    tail = go_file.names()["tail"]

    assert tail.text.startswith("func tail() string {") and tail.text.endswith("`\n}")
    assert go_file.names()["single"].text.endswith("}")


@pytest.mark.parametrize("path,name", [
    ("database/sql", "sql"),
    ("github.com/golang-migrate/migrate/v4", "migrate"),
    ("github.com/mattn/go-sqlite3", "sqlite3"),
    ("gopkg.in/yaml.v3", "yaml"),
    ("github.com/stretchr/testify/require", "require"),
])
def test_default_package_names(path: str, name: str) -> None:
    assert default_package_name(path) == name


def test_rename_touches_identifiers_only() -> None:
    code = 'x := mwA(t) // mwA here\ny := "mwA" + s.mwA + mwA2\n'

    assert rename_identifiers(code, {"mwA": "mwB"}) == 'x := mwB(t) // mwA here\ny := "mwA" + s.mwA + mwA2\n'


def test_qualifiers_ignore_strings_and_comments() -> None:
    code = 'require.NoError(t, err, "errors.Is") // strings.x\n'

    assert used_qualifiers(code) == ["require"]


def test_normalized_declarations_ignore_layout_only() -> None:
    assert normalize_decl("func f(a int) {\n\treturn\n}") == normalize_decl("func f(a  int) {\n  return\n}")
    assert normalize_decl("func f(a int) {}") != normalize_decl("func f(a int64) {}")


def test_package_clause_after_build_constraints_and_comments() -> None:
    assert package_name("//go:build linux\n\n/* doc */\n// more\npackage store_test\n") == "store_test"
    assert package_name("// nothing here\n") is None


def test_a_file_cut_anywhere_parses_without_error():
    # An existing test file the user is still writing: whatever is cut off,
    # the reader returns what it could read and never raises.
    text = (Path(__file__).resolve().parents[1] / "examples/pkg/storage/sqlite/migrate_test.go").read_text()
    for end in range(0, len(text) + 1, 53):
        parse_file(text[:end])
    assert parse_file("package p\n\nfunc").package == "p"
