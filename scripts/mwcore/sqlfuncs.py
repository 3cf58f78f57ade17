"""SQL functions the app registers on its connection, and their stand-ins.

An app can register Go functions with its SQLite driver (mattn's
`ConnectHook` calling `RegisterFunc`, modernc's
`RegisterDeterministicScalarFunction`) and call them from migrations. Python's
SQLite does not have them, so every scratch database that runs migrations
registers a stand-in under the same name: deterministic, returning its first
argument (NULL when it takes none), or the SQL expression the user declared
with `--sql-function NAME=EXPR` (over the arguments ?1..?n). A stand-in lets
the schema steps run; what it computes is not what the app computes, so data
results of the versions that call one are unchecked.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence

from . import engine
from .errors import UsageError
from .sqltext import tokens

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PARAM_RE = re.compile(r"\?([0-9]+)\Z")
DECLARED = "declared with --sql-function"


@dataclass(frozen=True)
class SqlFunction:
    """A function the app's connection has that SQLite alone does not."""

    name: str
    args: Optional[int] = None  # None: any number (variadic, or not known)
    deterministic: Optional[bool] = None  # as the app registers it; None: not known
    evidence: str = ""
    expr: Optional[str] = None  # the declared stand-in; None: the default one

    def stand_in(self) -> str:
        if self.expr is not None:
            return self.expr
        return "NULL" if self.args == 0 else "?1"

    def as_json(self) -> dict:
        return {"name": self.name, "args": self.args, "deterministic": self.deterministic,
                "evidence": self.evidence, "stand_in": self.stand_in()}


def parse_declaration(text: str) -> SqlFunction:
    """`NAME=EXPR` from the command line; UsageError when it is not one."""
    name, sep, expr = text.partition("=")
    name, expr = name.strip(), expr.strip()
    if not sep or not _NAME_RE.match(name) or not expr:
        raise UsageError(f"--sql-function {text!r} is not NAME=EXPR; write e.g. --sql-function "
                         "'slugify=lower(?1)' (an SQL expression over the arguments ?1..?n).")
    count = _param_count(expr)
    probe = engine.scratch()
    try:
        probe.execute(f"SELECT {expr}", (None,) * count).fetchone()
    except (sqlite3.Error, sqlite3.Warning, ValueError) as exc:
        raise UsageError(f"--sql-function {name}: {expr!r} is not an SQL expression SQLite accepts ({exc}).") from None
    finally:
        probe.close()
    return SqlFunction(name.lower(), None, True, DECLARED, expr)


def merge(found: Sequence[SqlFunction], declared: Sequence[SqlFunction]) -> List[SqlFunction]:
    """The app's functions with the user's declarations applied (a declared
    function the source did not show is added)."""
    by_name: Dict[str, SqlFunction] = {f.name.lower(): f for f in found}
    for decl in declared:
        known = by_name.get(decl.name)
        if known is None:
            by_name[decl.name] = decl
        else:
            by_name[decl.name] = SqlFunction(known.name, known.args, known.deterministic,
                                             f"{known.evidence}; stand-in {DECLARED}", decl.expr)
    return list(by_name.values())


def _param_count(expr: str) -> int:
    highest = 0
    for kind, text in tokens(expr):
        if kind == "param":
            match = _PARAM_RE.match(text)
            if match is None:
                raise UsageError(f"--sql-function: use ?1..?n for the arguments in {expr!r}, not {text}.")
            highest = max(highest, int(match.group(1)))
    return highest


def _evaluator(expr: str):
    count = _param_count(expr)
    helper = engine.scratch()
    query = f"SELECT {expr}"

    def evaluate(*args):
        values = (tuple(args) + (None,) * count)[:count]
        return helper.execute(query, values).fetchone()[0]

    return evaluate


def _first_argument(*args):
    return args[0] if args else None


def register(conn: sqlite3.Connection, functions: Iterable[SqlFunction]) -> None:
    """Register each function's stand-in on `conn` (deterministic, so it may
    appear in indexes, CHECKs and generated columns as the app's may)."""
    for function in functions:
        body = _evaluator(function.expr) if function.expr is not None else _first_argument
        narg = -1 if function.args is None else function.args
        conn.create_function(function.name, narg, body, deterministic=True)


def registered(conn: sqlite3.Connection, functions: Iterable[SqlFunction]) -> sqlite3.Connection:
    """`register`, returning the connection (for connection factories)."""
    register(conn, functions)
    return conn


def calls(sql: str, names: Iterable[str]) -> List[str]:
    """The names among `names` that `sql` calls (a word followed by '(')."""
    wanted = {n.lower() for n in names}
    if not wanted:
        return []
    found: List[str] = []
    previous = None
    for kind, text in tokens(sql):
        if text == "(" and previous is not None and previous in wanted and previous not in found:
            found.append(previous)
        previous = text.lower() if kind == "word" else None
    return found


def stand_in_note(versions: Dict[str, List[str]], functions: Sequence[SqlFunction]) -> Optional[str]:
    """One sentence naming the versions that ran with a stand-in, or None.
    `versions` maps a version's text to the function names it calls."""
    if not versions:
        return None
    by_name = {f.name: f for f in functions}
    used = sorted({name for names in versions.values() for name in names})
    what = ", ".join(f"{name}() as {by_name[name].stand_in()}" if name in by_name else name for name in used)
    listed = ", ".join(versions)
    return (f"version{'s' if len(versions) != 1 else ''} {listed} call{'' if len(versions) != 1 else 's'} "
            f"SQL functions the app registers; they ran with stand-ins here ({what}), so their data results "
            "are unchecked (declare a closer stand-in with --sql-function NAME=EXPR)")
