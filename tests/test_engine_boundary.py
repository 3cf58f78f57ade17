"""The engine's guarantees hold by construction: only scripts/mwcore/engine.py
opens or configures SQLite connections, and migration text is executed only
through its entry points.

Every connection the engine makes carries its guard (authorizer), budgets
(progress handler) and limits from creation to close. So if no other module
can make a connection, or change one's authorizer, progress handler or
limits, every statement any module runs is guarded, whatever it is. These
tests read the source (Python's ast, not text search), so comments and
strings do not count and aliases (`import sqlite3 as db`) do.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from conftest import SCRIPTS

ENGINE = SCRIPTS / "mwcore" / "engine.py"
MODULES = sorted(p for p in SCRIPTS.rglob("*.py") if p != ENGINE)

# Connection methods that open, copy into, configure or unguard a connection.
FORBIDDEN_METHODS = {
    "backup", "set_authorizer", "set_progress_handler", "executescript", "enable_load_extension",
    "load_extension", "setlimit", "serialize", "deserialize", "interrupt", "set_trace_callback",
}
# sqlite3.connect makes a connection; so does calling or subclassing
# sqlite3.Connection (naming it in a type annotation is fine).
# Where a migration's text comes from: its Statement objects and file text.
MIGRATION_TEXT_WORDS = ("statement", "stmt", "migration", "text")


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _sqlite3_aliases(tree: ast.AST) -> set:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.asname or a.name for a in node.names if a.name == "sqlite3"}
    return names


def violations(path: Path) -> Iterator[Tuple[int, str]]:
    tree = _tree(path)
    aliases = _sqlite3_aliases(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module == "sqlite3":
                for alias in node.names:
                    if alias.name in ("connect", "Connection", "*"):
                        yield node.lineno, f"from sqlite3 import {alias.name}"
            if module.endswith("engine") and node.level >= 1 or module == "mwcore.engine":
                for alias in node.names:
                    if alias.name.startswith("_"):
                        yield node.lineno, f"imports the engine's private {alias.name}"
        elif isinstance(node, ast.ClassDef):
            for base in node.bases:
                if _is_sqlite3(base, "Connection", aliases):
                    yield node.lineno, "subclasses sqlite3.Connection"
        elif isinstance(node, ast.Attribute):
            if _is_sqlite3(node, "connect", aliases):
                yield node.lineno, "sqlite3.connect"
            if isinstance(node.value, ast.Name) and node.value.id == "engine" and node.attr.startswith("_"):
                yield node.lineno, f"engine.{node.attr}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if _is_sqlite3(node.func, "Connection", aliases):
                yield node.lineno, "calls sqlite3.Connection"
            method = node.func.attr
            if method in FORBIDDEN_METHODS:
                yield node.lineno, f".{method}(...)"
            if method in ("execute", "executemany") and node.args and _migration_text(node.args[0]):
                yield node.lineno, f".{method}({ast.unparse(node.args[0])}) runs migration text outside the engine"


def _is_sqlite3(node: ast.expr, name: str, aliases: set) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == name and isinstance(node.value, ast.Name)
            and node.value.id in aliases)


def _migration_text(arg: ast.expr) -> bool:
    """`statement.sql`, `stmt.sql`, `self.text(f)`, `texts[name]`, `read_sql(p).text`, ..."""
    source = ast.unparse(arg).lower()
    if isinstance(arg, ast.Attribute) and arg.attr in ("sql", "text"):
        return any(word in ast.unparse(arg.value).lower() for word in MIGRATION_TEXT_WORDS) or "read_sql" in source
    if isinstance(arg, (ast.Subscript, ast.Call)):
        return "texts" in source or "read_sql" in source or ".text(" in source
    if isinstance(arg, ast.Name):
        return arg.id.lower() in ("text", "sql_text", "migration_text", "up_sql", "down_sql")
    return False


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(SCRIPTS)) for p in MODULES])
def test_no_module_but_the_engine_opens_or_configures_a_connection(path):
    found = list(violations(path))
    assert found == [], "\n".join(f"{path.relative_to(SCRIPTS)}:{line}: {what}" for line, what in found)


BAD = [
    ("import sqlite3\nconn = sqlite3.connect(':memory:')\n", "sqlite3.connect"),
    ("import sqlite3 as db\nconn = db.connect('x')\n", "sqlite3.connect"),
    ("from sqlite3 import connect\n", "from sqlite3 import connect"),
    ("import sqlite3\nclass C(sqlite3.Connection):\n    pass\n", "subclasses sqlite3.Connection"),
    ("import sqlite3\nconn = sqlite3.Connection(':memory:')\n", "calls sqlite3.Connection"),
    ("def f(a, b):\n    a.backup(b)\n", ".backup"),
    ("def f(conn):\n    conn.set_authorizer(None)\n", ".set_authorizer"),
    ("def f(conn):\n    conn.set_progress_handler(None, 1)\n", ".set_progress_handler"),
    ("def f(conn, script):\n    conn.executescript(script)\n", ".executescript"),
    ("def f(conn, statement):\n    conn.execute(statement.sql)\n", "runs migration text"),
    ("def f(conn, path):\n    conn.execute(read_sql(path).text)\n", "runs migration text"),
    ("def f(conn, texts, name):\n    conn.execute(texts[name])\n", "runs migration text"),
    ("from .engine import _open\n", "private _open"),
    ("from . import engine\nengine._open()\n", "engine._open"),
]
GOOD = [
    "import sqlite3\ndef f(conn: sqlite3.Connection) -> sqlite3.Connection:\n    return conn\n",
    "import sqlite3\ndef f(conn):\n    return conn.execute('SELECT 1').fetchall()\n",
    "def f(conn, obj):\n    conn.execute(obj.sql)\n",  # schema SQL read back from sqlite_master
    "# sqlite3.connect(':memory:') in a comment\nx = 'conn.backup(target)'\n",
    "from .engine import run_script, scratch\n",
]


@pytest.mark.parametrize("source,what", BAD)
def test_the_check_catches_each_way_around_the_engine(tmp_path, source, what):
    path = tmp_path / "m.py"
    path.write_text(source)
    found: List[Tuple[int, str]] = list(violations(path))
    assert any(what in text for _, text in found), found


@pytest.mark.parametrize("source", GOOD)
def test_the_check_lets_ordinary_reads_pass(tmp_path, source):
    path = tmp_path / "m.py"
    path.write_text(source)
    assert list(violations(path)) == []


def test_the_engine_itself_is_where_connections_are_made():
    tree = _tree(ENGINE)
    calls = {node.func.attr for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}
    assert {"connect", "backup", "set_authorizer", "set_progress_handler"} <= calls
