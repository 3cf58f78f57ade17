"""gosource: the string value that reaches a Go expression, followed the way
a reader follows it, with unknown parts that say where they came from."""

from __future__ import annotations

import pytest

from mwcore.gosource import Evaluator, GoModule, Scope, render

from conftest import write_files

PRELUDE = """package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

var pragmas = []string{"busy_timeout(5000)", "foreign_keys(1)"}

const base = "file:"

func suffix(fk bool) string {
	return "?_fk=1"
}

func join(parts ...string) string { return strings.Join(parts, "&") }

var _ = os.Getenv
var _ = fmt.Sprintf
var _ = filepath.Join
"""


@pytest.mark.parametrize("body,expected", [
    ('dsn := "app.db?_fk=1"', "app.db?_fk=1"),
    ('dsn := base + path + "?x=1"', "file:<>?x=1"),
    ('dsn := fmt.Sprintf("%s?_foreign_keys=%d&mode=%s", path, 1, "rwc")', "<>?_foreign_keys=1&mode=rwc"),
    ('dsn := "a"\n\tdsn += "b"\n\tdsn += "c"', "abc"),
    ('dsn := base + strings.Join(pragmas, "&")', "file:busy_timeout(5000)&foreign_keys(1)"),
    ('ps := make([]string, 0)\n\tfor _, p := range pragmas {\n\t\tps = append(ps, "_pragma="+p)\n\t}\n'
     '\tdsn := strings.Join(ps, "&")', "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)"),
    ('dsn := filepath.Join("db", "app.db") + suffix(true)', "db/app.db?_fk=1"),
    ('dsn := os.Getenv("DSN")', "<>"),
    ('ps := []string{"a=1"}\n\tps = append(ps, "b=2")\n\tdsn := strings.Join(ps, "&")', "a=1&b=2"),
])
def test_values(tmp_path, body, expected):
    write_files(tmp_path, {"go.mod": "module example.com/app\n\ngo 1.24.0\n",
                           "app.go": PRELUDE + f"\nfunc f(path string) string {{\n\t{body}\n\treturn dsn\n}}\n"})
    module = GoModule(tmp_path)
    (f,) = module.files
    fn = next(fn for fn in f.funcs if fn.name == "f")
    ev = Evaluator(module)
    (ret,) = ev.returns(fn)
    assert render(ev.value(Scope(f, fn), *ret), "<>") == expected


def test_a_parameter_takes_the_value_every_caller_agrees_on(tmp_path):
    write_files(tmp_path, {"go.mod": "module example.com/app\n\ngo 1.24.0\n",
                           "app.go": PRELUDE + '\nfunc open(dsn string) string { return dsn }\n\n'
                                               'func a() string { return open("x.db?_fk=1") }\n'
                                               'func b() string { return open("x.db?_fk=1") }\n'})
    module = GoModule(tmp_path)
    (f,) = module.files
    fn = next(fn for fn in f.funcs if fn.name == "open")
    ev = Evaluator(module)
    assert render(ev.value(Scope(f, fn), *ev.returns(fn)[0])) == "x.db?_fk=1"
    # A caller that disagrees makes it unknown, and the part says why.
    (tmp_path / "more.go").write_text('package app\n\nfunc c() string { return open("y.db") }\n')
    module = GoModule(tmp_path)
    f = next(g for g in module.files if g.rel == "app.go")
    fn = next(fn for fn in f.funcs if fn.name == "open")
    ev = Evaluator(module)
    (part,) = ev.value(Scope(f, fn), *ev.returns(fn)[0])
    assert part.text is None and "given 2 different values by its 3 callers" in part.where
