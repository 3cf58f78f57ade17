"""How a Go module runs golang-migrate, read from its source.

A migrator is a place where the module builds a golang-migrate instance
(`migrate.New`, `NewWithSourceInstance`, `NewWithDatabaseInstance`,
`NewWithInstance`) or where a build file runs the `migrate` CLI. For each
one this module finds the database driver golang-migrate is given (`sqlite3`
= mattn/go-sqlite3, `sqlite` = modernc.org/sqlite), the connection it
migrates through and whether that connection enforces foreign keys WHILE
migrating (the DSN of the `*sql.DB` passed to `WithInstance` or the URL
passed to `migrate.New`, a ConnectHook, PRAGMAs executed on that connection
before the migrations run, the `sqlite_foreign_keys` build tag), the
transaction wrap, the migrations table and the folders its source reads.
Module-wide: the SQL functions the app registers with its driver.

Every fact carries its evidence (file:line). A fact is unknown (None) when
the code is too indirect to follow AND something in the module could change
it (a foreign-key setting that was not tied to any connection); when nothing
could, golang-migrate's and SQLite's defaults hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple
from urllib.parse import unquote

from .golex import IDENT, STRING
from .gosource import (
    MATTN,
    MIGRATE,
    MIGRATE_SQLITE,
    MIGRATE_SQLITE3,
    MODERNC,
    SQLX,
    Evaluator,
    Expr,
    Func,
    GoFile,
    GoModule,
    Part,
    Scope,
    Value,
    composite_fields,
    is_known,
    method_calls,
    part_at,
    qualified_calls,
    render,
    spans,
    unknown,
)
from .sqlfuncs import SqlFunction

MATTN_DRIVER, MODERNC_DRIVER, OTHER_DRIVER, UNKNOWN = "sqlite3", "sqlite", "other", "unknown"
MAX_TRACE = 5

_TRUE = {"1", "t", "true", "yes", "on"}
_FALSE = {"0", "f", "false", "no", "off"}
_PARSE_BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
               "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}
_FK_PRAGMA = re.compile(r"pragma\s+(?:main\s*\.\s*)?foreign_keys\s*(?:=\s*|\(\s*)['\"]?([A-Za-z0-9]+)", re.I)
_FK_MODERNC = re.compile(r"^(?:main\s*\.\s*)?foreign_keys\s*(?:=\s*|\(\s*)['\"]?([A-Za-z0-9]+)", re.I)
_MENTION = re.compile(r"(?<![A-Za-z0-9])(?:_?foreign_keys|_fk)(?![A-Za-z0-9_])", re.I)
_WRAP_MENTION = re.compile(r"x-no-tx-wrap|x-migrations-table")
_BUILD_TAG = re.compile(r"-tags[= ]+['\"]?[^\n]*\bsqlite_foreign_keys\b")
_CLI = re.compile(r"\bmigrate\b[^\n]*?-(?:path|source)[ =]+['\"]?([^\s'\"]+)[^\n]*?-database[ =]+['\"]?([^\s'\"]+)"
                  r"|\bmigrate\b[^\n]*?-database[ =]+['\"]?([^\s'\"]+)[^\n]*?-(?:path|source)[ =]+['\"]?([^\s'\"]+)")

OPENERS = {"database/sql": ("Open", "OpenDB"), SQLX: ("Open", "Connect", "MustOpen", "MustConnect")}
CONSTRUCTORS = ("New", "NewWithSourceInstance", "NewWithDatabaseInstance", "NewWithInstance")
RUNS = ("Up", "Migrate", "Steps", "Down", "Force")
MODERNC_REGISTER = ("RegisterScalarFunction", "MustRegisterScalarFunction", "RegisterDeterministicScalarFunction",
                    "MustRegisterDeterministicScalarFunction", "RegisterFunction", "MustRegisterFunction")


@dataclass
class SourceFolder:
    """A folder golang-migrate's source reads."""

    path: Path
    how: str
    dialect_open: bool = False  # its last part is chosen at run time (one folder per dialect)


@dataclass
class Migrator:
    """One golang-migrate instance the project builds, and how it runs."""

    where: str
    kind: str  # "go" or "cli"
    driver: str = UNKNOWN
    driver_evidence: str = ""
    folders: List[SourceFolder] = field(default_factory=list)
    source_note: str = ""
    foreign_keys: Optional[bool] = False
    foreign_keys_evidence: str = ""
    no_tx_wrap: Optional[bool] = False
    tx_wrap_evidence: str = "golang-migrate's default"
    table: Optional[str] = "schema_migrations"
    table_evidence: str = "golang-migrate's default"
    notes: List[str] = field(default_factory=list)

    @property
    def is_sqlite(self) -> bool:
        return self.driver in (MATTN_DRIVER, MODERNC_DRIVER, UNKNOWN)


@dataclass
class ModuleReport:
    module: GoModule
    migrators: List[Migrator] = field(default_factory=list)
    functions: List[SqlFunction] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    build_tag: Optional[str] = None  # where -tags sqlite_foreign_keys is set
    # The facts to report for a folder no golang-migrate call of the module reads.
    fallback: Migrator = field(default_factory=lambda: Migrator("", "none"))


@dataclass(frozen=True)
class Opener:
    """A call that opens a connection: sql.Open(driver, dsn) and the like."""

    expr: Expr  # the call expression
    call: int  # index of '(' of the call
    driver_name: Value
    dsn: Optional[Value]

    @property
    def key(self) -> Tuple[str, int]:
        return (self.expr.file.rel, self.call)

    @property
    def where(self) -> str:
        return self.expr.where


@dataclass
class Setting:
    """One thing that sets foreign keys, in the order it happens."""

    value: Optional[bool]  # None: set, but to what cannot be told
    evidence: str
    conditional: bool = False


# Following expressions ----------------------------------------------------------------------


class Tracer:
    """Follows an expression through variables, parameters, fields and the
    functions that return it, to the expressions that produce it."""

    def __init__(self, module: GoModule, evaluator: Evaluator) -> None:
        self.module = module
        self.ev = evaluator

    def trace(self, expr: Expr, depth: int = 0, seen: Optional[Set[Tuple[str, int]]] = None) -> List[Expr]:
        f = expr.file
        idx = f.compact(expr.lo, expr.hi)
        if not idx or depth > MAX_TRACE:
            return [expr]
        seen = set() if seen is None else seen
        key = (f.rel, idx[0])
        if key in seen:
            return []
        seen = seen | {key}
        first, last = idx[0], idx[-1]
        if f.t(first) in ("&", "*"):
            return self.trace(Expr(expr.scope, first + 1, expr.hi), depth, seen)
        if f.t(first) == "(" and f.close(first) == last:
            return self.trace(Expr(expr.scope, first + 1, last), depth, seen)
        if len(idx) == 1 and f.kind(first) == IDENT:
            return self._name(expr.scope, f.t(first), first, depth, seen) or [expr]
        if len(idx) == 3 and f.kind(first) == IDENT and f.t(first + 1) == "." and f.kind(last) == IDENT \
                and f.t(first) not in f.imports:
            out = []
            if f.t(last) == "DB":  # sqlx.DB embeds *sql.DB as the field DB
                out = self.trace(Expr(expr.scope, first, first + 1), depth + 1, seen)
            return out or self._field(f, f.t(last), depth, seen) or [expr]
        # A call of a function of the module: what it returns.
        call = _call_head(f, idx)
        if call is not None:
            head, open_index = call
            fn = self._module_func(f, idx, head)
            if fn is not None:
                bound = tuple((name, Expr(expr.scope, *arg)) for name, arg in zip(fn.params, f.args(open_index))
                              if name != "_")
                inner = Scope(fn.file, fn, bound)
                out = []
                for lo, hi in self.ev.returns(fn):
                    items = _items(fn.file, lo, hi)
                    if items:
                        out.extend(self.trace(Expr(inner, *items[0]), depth + 1, seen))
                return out or [expr]
        return [expr]

    def _module_func(self, f: GoFile, idx: List[int], head: int) -> Optional[Func]:
        name = f.t(head)
        if head == idx[0]:
            found = [fn for fn in self.module.funcs(name, f.dir) if fn.receiver is None]
        elif head == idx[0] + 2 and f.t(idx[0]) in f.imports:
            folder = self.module.package_dir(f.imports[f.t(idx[0])])
            found = [fn for fn in self.module.funcs(name, folder) if fn.receiver is None] if folder else []
        else:
            found = [fn for fn in self.module.funcs(name, f.dir) if fn.receiver is not None] or \
                    [fn for fn in self.module.funcs(name) if fn.receiver is not None]
        return found[0] if len(found) == 1 else None

    def _name(self, scope: Scope, name: str, use: int, depth: int, seen) -> List[Expr]:
        f, fn = scope.file, scope.func
        if fn is not None:
            assigns = [a for a in self.ev.assignments(f, name, fn.body[0] + 1, use, use) if a.op != "+="]
            if assigns:
                plain = [a for a in assigns if not a.cond] or assigns
                chosen = [plain[-1]] + [a for a in assigns if a.cond and a.index > plain[-1].index]
                out = []
                for assign in chosen:
                    if assign.op == "range":
                        continue
                    lo, hi = self.ev._rhs_item(f, assign)
                    out.extend(self.trace(Expr(scope, lo, hi), depth + 1, seen))
                return out
            if name in fn.params:
                bound = scope.binding(name)
                if bound is not None:
                    return self.trace(bound, depth + 1, seen)
                return self._callers(fn, fn.params.index(name), depth, seen)
        # A package-level variable: where it is set.
        out = []
        for g in self.module.package(f.dir):
            for assign in self.ev.assignments(g, name, 0, len(g.toks), len(g.toks) - 1):
                if assign.op == "range":
                    continue
                where = g.func_at(assign.index)
                if where is None and g.depth[assign.index] != 0:
                    continue
                lo, hi = self.ev._rhs_item(g, assign)
                out.extend(self.trace(Expr(Scope(g, where), lo, hi), depth + 1, seen))
        return out

    def _callers(self, fn: Func, position: int, depth: int, seen) -> List[Expr]:
        out = []
        for g, i, args in self.module.calls_of(fn):
            out.extend(self.trace(Expr(Scope(g, g.func_at(i)), *args[position]), depth + 1, seen))
        return out

    def _field(self, near: GoFile, name: str, depth: int, seen) -> List[Expr]:
        """Where a struct field `name` is set: `x.name = e` or `T{name: e}`."""
        out: List[Expr] = []
        for files in (self.module.package(near.dir), [f for f in self.module.files if f.dir != near.dir]):
            for g in files:
                for i, tok in enumerate(g.toks):
                    if tok.kind != IDENT or tok.text != name:
                        continue
                    if g.t(i - 1) == "." and g.t(i + 1) == "=":
                        end = g.stmt_end(i + 2)
                        out.extend(self.trace(Expr(Scope(g, g.func_at(i)), i + 2, end), depth + 1, seen))
                    elif g.t(i + 1) == ":" and g.t(g.prv(i)) in ("{", ","):
                        end = i + 2
                        while end < len(g.toks) and g.t(end) not in (",", "}"):
                            if g.t(end) in ("(", "[", "{"):
                                end = g.close(end)
                            end += 1
                        out.extend(self.trace(Expr(Scope(g, g.func_at(i)), i + 2, end), depth + 1, seen))
            if out:
                return out
        return out


def _call_head(f: GoFile, idx: List[int]) -> Optional[Tuple[int, int]]:
    """(index of the called name, index of '(') when the expression is a
    call `a.b.Name(...)` or `Name(...)` (nothing after the parentheses)."""
    last = idx[-1]
    if f.t(last) != ")":
        return None
    opening = next((i for i in idx if f.match.get(i) == last), None)
    if opening is None or f.kind(opening - 1) != IDENT:
        return None
    head = opening - 1
    if head not in idx:
        return None
    # Everything before the name must be a selector chain of names.
    k = head
    while k > idx[0]:
        if f.t(k - 1) != "." or f.kind(k - 2) != IDENT:
            return None
        k -= 2
    return head, opening


def _items(f: GoFile, lo: int, hi: int) -> List[Tuple[int, int]]:
    out, start, i = [], lo, lo
    while i < hi:
        if f.t(i) in ("(", "[", "{"):
            i = f.close(i) + 1
            continue
        if f.t(i) == ",":
            out.append((start, i))
            start = i + 1
        i += 1
    out.append((start, hi))
    return [r for r in out if f.compact(*r)]


def _qualified(f: GoFile, expr: Expr) -> Optional[Tuple[str, str, int]]:
    """(import path, member, index of '(') when `expr` is a call pkg.Member(...)."""
    idx = f.compact(expr.lo, expr.hi)
    if len(idx) < 4 or f.kind(idx[0]) != IDENT or f.t(idx[0] + 1) != "." or f.t(idx[0] + 3) != "(":
        return None
    if f.close(idx[0] + 3) != idx[-1]:
        return None
    path = f.imports.get(f.t(idx[0]))
    if path is None:
        return None
    return path, f.t(idx[0] + 2), idx[0] + 3


# Reading the module ---------------------------------------------------------------------------


class Reader:
    def __init__(self, module: GoModule) -> None:
        self.module = module
        self.ev = Evaluator(module)
        self.tracer = Tracer(module, self.ev)
        self.report = ModuleReport(module)
        self.accounted: Set[Tuple[str, int]] = set()  # literals (file, line) tied to some connection
        self.openers: Dict[Tuple[str, int], Opener] = {}
        self.hooks: Dict[str, List[Setting]] = {}  # driver name -> settings its ConnectHook makes
        self.modernc_hook: List[Setting] = []
        self.pragma_execs: List[Tuple[Expr, Setting, Expr]] = []  # (the Exec call, setting, its receiver)

    def read(self) -> ModuleReport:
        module = self.module
        for rel, text in module.build_files:
            match = _BUILD_TAG.search(text)
            if match and self.report.build_tag is None:
                self.report.build_tag = f"{rel}:{text.count(chr(10), 0, match.start()) + 1}"
        files = list(module.files)
        for f in files:
            self._openers(f)
            self._hooks(f)
            self._functions(f)
        for f in files:
            self._pragma_execs(f)
        for f in list(module.files):
            for _i, member, open_index in qualified_calls(f, MIGRATE, CONSTRUCTORS):
                self.report.migrators.append(self._migrator(f, member, open_index))
        for rel, text in module.build_files:
            for match in _CLI.finditer(text):
                self.report.migrators.append(self._cli(rel, text, match))
        self.report.fallback = self._fallback()
        return self.report

    def _fallback(self) -> Migrator:
        """No golang-migrate call reads the folder: the driver the module
        imports, and foreign keys from its only SQLite connection, if one."""
        migrator = Migrator("", "none")
        self._driver_from_imports(migrator, "no golang-migrate call of the module reads this folder")
        if migrator.driver == UNKNOWN:
            requires = [(m, d) for m, d in ((MATTN, MATTN_DRIVER), (MODERNC, MODERNC_DRIVER)) if m in self.module.requires]
            if len(requires) == 1:
                module, migrator.driver = requires[0]
                migrator.driver_evidence = f"go.mod:{self.module.requires[module].line}: requires {module}"
        migrator.tx_wrap_evidence = "golang-migrate's default (no golang-migrate call found)"
        migrator.table_evidence = "golang-migrate's default (no golang-migrate call found)"
        stray = self._unaccounted(_WRAP_MENTION)
        if stray:
            why = f"no golang-migrate call found, and {stray} may be a URL it is given"
            migrator.no_tx_wrap, migrator.tx_wrap_evidence = None, why
            migrator.table, migrator.table_evidence = None, why
        self._unresolved(migrator, None, "no golang-migrate call found", None)
        return migrator

    # -- connections -----------------------------------------------------------------------
    def _openers(self, f: GoFile) -> None:
        for package, names in OPENERS.items():
            for i, member, open_index in qualified_calls(f, package, names):
                scope = Scope(f, f.func_at(i))
                opener = self._opener(Expr(scope, i, f.close(open_index) + 1), open_index, member)
                self.openers[opener.key] = opener

    def _opener(self, expr: Expr, open_index: int, member: str) -> Opener:
        f = expr.file
        args = f.args(open_index)
        if member == "OpenDB" or len(args) < 2:
            return Opener(expr, open_index, unknown(f"{expr.text()} at {expr.where}"), None)
        name = self.ev.value(expr.scope, *args[0])
        dsn = self.ev.value(expr.scope, *args[1])
        self._account(dsn)
        return Opener(expr, open_index, name, dsn)

    def _account(self, value: Value) -> None:
        for part in value:
            if part.text is not None:
                self.accounted.add(_line_key(part.where))

    def opener_of(self, expr: Expr) -> Tuple[List[Opener], List[Expr]]:
        """The openers an expression of type *sql.DB comes from, and the leaves
        that are not openers (untraceable)."""
        found, lost = [], []
        for leaf in self.tracer.trace(expr):
            q = _qualified(leaf.file, leaf)
            if q is not None and q[0] in OPENERS and q[1] in OPENERS[q[0]]:
                opener = self._opener(leaf, q[2], q[1])
                known = self.openers.get(opener.key)
                # Same call, but read through the caller's bindings: keep that reading.
                found.append(opener if known is None or render(known.dsn or ()) != render(opener.dsn or ()) else known)
            else:
                lost.append(leaf)
        return found, lost

    def _hooks(self, f: GoFile) -> None:
        """mattn: sql.Register(name, &sqlite3.SQLiteDriver{ConnectHook: ...});
        modernc: sqlite.RegisterConnectionHook(...)."""
        mattn = f.alias(MATTN)
        for i, _member, open_index in qualified_calls(f, "database/sql", ("Register",)):
            args = f.args(open_index)
            if len(args) != 2 or mattn is None:
                continue
            scope = Scope(f, f.func_at(i))
            name = render(self.ev.value(scope, *args[0]))
            brace = next((k for k in f.compact(*args[1]) if f.t(k) == "{" and f.t(k - 1) == "SQLiteDriver"), None)
            if brace is None:
                continue
            hook = composite_fields(f, brace).get("ConnectHook")
            if hook is None:
                continue
            settings = self._settings_in(f, hook[0], hook[1], scope)
            self.hooks.setdefault(name, []).extend(settings)
        for i, _member, open_index in qualified_calls(f, MODERNC, ("RegisterConnectionHook",)):
            args = f.args(open_index)
            if args:
                self.modernc_hook.extend(self._settings_in(f, args[0][0], args[0][1], Scope(f, f.func_at(i))))

    def _settings_in(self, f: GoFile, lo: int, hi: int, scope: Scope) -> List[Setting]:
        """Foreign-key PRAGMAs executed in a hook: a func literal, or a named function."""
        idx = f.compact(lo, hi)
        if len(idx) == 1 and f.kind(idx[0]) == IDENT:
            fns = self.module.funcs(f.t(idx[0]), f.dir)
            if len(fns) != 1:
                return []
            fn = fns[0]
            f, lo, hi, scope = fn.file, fn.body[0], fn.body[1], Scope(fn.file, fn)
        out = []
        for _recv, i, open_index in method_calls(f, ("Exec", "ExecContext", "MustExec")):
            if not lo <= i <= hi:
                continue
            for setting in self._exec_settings(f, open_index, scope):
                out.append(setting)
        return out

    def _exec_settings(self, f: GoFile, open_index: int, scope: Scope) -> List[Setting]:
        """What an Exec call does to foreign keys (its SQL may be a loop
        variable over a list of PRAGMAs)."""
        args = f.args(open_index)
        if not args:
            return []
        method = f.t(open_index - 1)
        arg = args[1] if method == "ExecContext" and len(args) > 1 else args[0]
        idx = f.compact(*arg)
        values: List[Value] = []
        if len(idx) == 1 and f.kind(idx[0]) == IDENT and scope.func is not None:
            assigns = self.ev.assignments(f, f.t(idx[0]), scope.func.body[0] + 1, idx[0], idx[0])
            if assigns and assigns[-1].op == "range":
                items = self.ev.list_value(scope, *assigns[-1].rhs)
                if items is not None:
                    values = items
        if not values:
            values = [self.ev.value(scope, *arg)]
        out = []
        for value in values:
            text = render(value)
            for match in _FK_PRAGMA.finditer(text):
                part = part_at(value, match.start(1)) or part_at(value, match.start())
                word = match.group(1).lower()
                setting = True if word in _TRUE else False if word in _FALSE else None
                where = part.where if part and part.text is not None else f.where(open_index)
                out.append(Setting(setting, f"{where}: PRAGMA foreign_keys = {match.group(1)}",
                                   bool(part and part.cond)))
                self._account(value)
        return out

    def _pragma_execs(self, f: GoFile) -> None:
        for _recv, i, open_index in method_calls(f, ("Exec", "ExecContext", "MustExec")):
            scope = Scope(f, f.func_at(i))
            settings = self._exec_settings(f, open_index, scope)
            if not settings:
                continue
            dot = i - 1
            start = dot - 1
            while start - 2 >= 0 and f.t(start - 1) == "." and f.kind(start - 2) == IDENT:
                start -= 2
            receiver = Expr(scope, start, dot)
            call = Expr(scope, start, f.close(open_index) + 1)
            for setting in settings:
                self.pragma_execs.append((call, setting, receiver))

    # -- SQL functions ---------------------------------------------------------------------------
    def _functions(self, f: GoFile) -> None:
        if f.imports_path(MATTN):
            for _recv, i, open_index in method_calls(f, ("RegisterFunc", "RegisterAggregator")):
                args = f.args(open_index)
                if len(args) < 3:
                    continue
                scope = Scope(f, f.func_at(i))
                self._function(f, i, scope, args[0], self._arity(f, args[1]),
                               self._bool(scope, args[2]))
        for i, member, open_index in qualified_calls(f, MODERNC, MODERNC_REGISTER):
            args = f.args(open_index)
            scope = Scope(f, f.func_at(i))
            if not args:
                continue
            if member.endswith("RegisterFunction"):
                brace = next((k for k in f.compact(*args[1]) if f.t(k) == "{"), None) if len(args) > 1 else None
                fields = composite_fields(f, brace) if brace is not None else {}
                nargs = self._int(scope, fields["NArgs"][:2]) if "NArgs" in fields else None
                det = self._bool(scope, fields["Deterministic"][:2]) if "Deterministic" in fields else False
                self._function(f, i, scope, args[0], nargs, det)
            elif len(args) >= 2:
                self._function(f, i, scope, args[0], self._int(scope, args[1]), "Deterministic" in member)

    def _function(self, f: GoFile, i: int, scope: Scope, name_arg, nargs, deterministic) -> None:
        name = self.ev.value(scope, *name_arg)
        if not is_known(name) or not render(name):
            note = f"{f.where(i)} registers SQL functions under names the source does not spell out"
            if note not in self.report.notes:
                self.report.notes.append(note)
            return
        text = render(name).lower()
        if any(fn.name == text for fn in self.report.functions):
            return
        if nargs is not None and nargs < 0:
            nargs = None
        self.report.functions.append(SqlFunction(text, nargs, deterministic, f.where(i)))

    def _int(self, scope: Scope, arg) -> Optional[int]:
        text = render(self.ev.value(scope, *arg)).strip()
        try:
            return int(text)
        except ValueError:
            return None

    def _bool(self, scope: Scope, arg) -> Optional[bool]:
        text = render(self.ev.value(scope, *arg)).strip()
        return {"true": True, "false": False}.get(text)

    def _arity(self, f: GoFile, arg) -> Optional[int]:
        """The number of arguments of a Go function given to RegisterFunc
        (None when it is variadic or cannot be seen)."""
        idx = f.compact(*arg)
        if idx and f.t(idx[0]) == "func" and f.t(idx[0] + 1) == "(":
            group = f.args(idx[0] + 1)
            if any(f.t(k) == "..." for k in range(idx[0] + 1, f.close(idx[0] + 1))):
                return None
            return len(group)
        if len(idx) == 1 and f.kind(idx[0]) == IDENT:
            fns = [fn for fn in self.module.funcs(f.t(idx[0]), f.dir) if fn.receiver is None]
            if len(fns) == 1:
                g = fns[0].file
                open_index = g.nxt(g.nxt(fns[0].start))
                if g.t(open_index) == "(" and not any(g.t(k) == "..." for k in range(open_index, g.close(open_index))):
                    return len(fns[0].params)
        return None

    # -- migrators ------------------------------------------------------------------------------
    def _migrator(self, f: GoFile, member: str, open_index: int) -> Migrator:
        scope = Scope(f, f.func_at(open_index))
        args = f.args(open_index)
        migrator = Migrator(f.where(open_index), "go")
        construction = Expr(scope, open_index - 3, f.close(open_index) + 1)
        source_arg = db_arg = None
        if member == "New" and len(args) == 2:
            source_arg, db_arg = ("url", args[0]), ("url", args[1])
        elif member == "NewWithSourceInstance" and len(args) == 3:
            source_arg, db_arg = ("instance", args[1]), ("url", args[2])
        elif member == "NewWithDatabaseInstance" and len(args) == 3:
            source_arg, db_arg = ("url", args[0]), ("instance", args[2])
        elif member == "NewWithInstance" and len(args) == 4:
            source_arg, db_arg = ("instance", args[1]), ("instance", args[3])
        if db_arg is None:
            migrator.driver_evidence = f"{f.where(open_index)}: migrate.{member} with {len(args)} arguments"
            return migrator
        if db_arg[0] == "url":
            self._database_url(migrator, self.ev.value(scope, *db_arg[1]), f.where(open_index))
        else:
            self._database_instance(migrator, Expr(scope, *db_arg[1]), construction)
        if source_arg[0] == "url":
            self._source_url(migrator, self.ev.value(scope, *source_arg[1]), f.where(open_index))
        else:
            self._source_instance(migrator, Expr(scope, *source_arg[1]))
        return migrator

    def _cli(self, rel: str, text: str, match: "re.Match[str]") -> Migrator:
        line = text.count("\n", 0, match.start()) + 1
        where = f"{rel}:{line}"
        path = match.group(1) or match.group(4)
        url = match.group(2) or match.group(3)
        migrator = Migrator(where, "cli")
        self._database_url(migrator, _shell_value(url, where), where)
        self._source_url(migrator, _shell_value(path if "://" in path else "file://" + path, where), where)
        return migrator

    def _database_url(self, migrator: Migrator, url: Value, where: str) -> None:
        text = render(url)
        scheme = text.split("://", 1)[0] if "://" in text else None
        if scheme is not None and "\x00" not in scheme:
            migrator.driver = {"sqlite3": MATTN_DRIVER, "sqlite": MODERNC_DRIVER}.get(scheme, OTHER_DRIVER)
            migrator.driver_evidence = f"{_where_of(url, where)}: the database URL starts with {scheme}://"
        else:
            self._driver_from_imports(migrator, f"the database URL ({_describe(url)}) does not say")
        query = _query(url)
        self._url_wrap(migrator, query, url, where)
        fk = self._fk_from_params(migrator.driver, query, where)
        if fk is not None:
            migrator.foreign_keys, migrator.foreign_keys_evidence = fk.value, fk.evidence
            if fk.conditional:
                migrator.foreign_keys = None
                migrator.foreign_keys_evidence = f"{fk.evidence}, set only on some paths"
            return
        self._default_fk(migrator, url, f"{where}: the database URL golang-migrate opens", open_parts=_open_query(url))

    def _driver_from_imports(self, migrator: Migrator, why: str) -> None:
        seen = {}
        for f in self.module.files:
            for path, driver in ((MIGRATE_SQLITE3, MATTN_DRIVER), (MIGRATE_SQLITE, MODERNC_DRIVER)):
                if f.imports_path(path):
                    seen.setdefault(driver, f"{f.rel}: imports {path}")
        if len(seen) == 1:
            migrator.driver, migrator.driver_evidence = next(iter(seen.items()))
            migrator.driver_evidence += f" ({why})"
        else:
            migrator.driver = UNKNOWN
            migrator.driver_evidence = why + ("; the module imports both SQLite drivers" if seen else "")

    def _url_wrap(self, migrator: Migrator, query: List[Tuple[str, Value]], url: Value, where: str) -> None:
        for key, value in query:
            if key == "x-no-tx-wrap":
                text = render(value)
                at = _where_of(value, where)
                if text in _PARSE_BOOL:
                    migrator.no_tx_wrap = _PARSE_BOOL[text]
                    migrator.tx_wrap_evidence = f"{at}: x-no-tx-wrap={text}"
                else:
                    migrator.no_tx_wrap, migrator.tx_wrap_evidence = None, f"{at}: x-no-tx-wrap={_describe(value)}"
            elif key == "x-migrations-table":
                at = _where_of(value, where)
                if is_known(value):
                    migrator.table, migrator.table_evidence = unquote(render(value)), f"{at}: x-migrations-table"
                else:
                    migrator.table, migrator.table_evidence = None, f"{at}: x-migrations-table={_describe(value)}"
        if _open_query(url):
            stray = self._unaccounted(_WRAP_MENTION)
            if stray:
                why = f"the URL at {where} is partly built at run time ({_describe(url)}) and {stray} may reach it"
                if migrator.tx_wrap_evidence == "golang-migrate's default":
                    migrator.no_tx_wrap, migrator.tx_wrap_evidence = None, why
                if migrator.table_evidence == "golang-migrate's default":
                    migrator.table, migrator.table_evidence = None, why

    def _database_instance(self, migrator: Migrator, expr: Expr, construction: Expr) -> None:
        """`sqlite3.WithInstance(db, &sqlite3.Config{...})`, traced from the
        driver argument of a NewWith*Instance call."""
        withs = []
        for leaf in self.tracer.trace(expr):
            q = _qualified(leaf.file, leaf)
            if q is not None and q[1] == "WithInstance" and q[0].startswith(MIGRATE + "/database/"):
                withs.append((leaf, q))
        if len(withs) != 1:
            migrator.driver = UNKNOWN
            migrator.driver_evidence = f"{expr.where}: the database driver ({expr.text()}) cannot be followed"
            migrator.foreign_keys = None
            migrator.foreign_keys_evidence = migrator.driver_evidence
            return
        leaf, (package, _member, open_index) = withs[0]
        f = leaf.file
        migrator.driver = {MIGRATE_SQLITE3: MATTN_DRIVER, MIGRATE_SQLITE: MODERNC_DRIVER}.get(package, OTHER_DRIVER)
        migrator.driver_evidence = f"{f.where(open_index)}: {package.rsplit('/', 1)[-1]}.WithInstance"
        args = f.args(open_index)
        if len(args) != 2:
            return
        self._config(migrator, Expr(leaf.scope, *args[1]))
        self._connection(migrator, Expr(leaf.scope, *args[0]), construction)

    def _config(self, migrator: Migrator, expr: Expr) -> None:
        """NoTxWrap and MigrationsTable of the Config given to WithInstance."""
        found: Dict[str, Tuple[Expr, int]] = {}
        for leaf in self.tracer.trace(expr):
            f = leaf.file
            idx = f.compact(leaf.lo, leaf.hi)
            brace = next((k for k in idx if f.t(k) == "{" and f.t(k - 1) == "Config"), None)
            if brace is None:
                continue
            for key, (lo, hi, at) in composite_fields(f, brace).items():
                found[key] = (Expr(leaf.scope, lo, hi), at)
            # `cfg.NoTxWrap = true` after the literal, in the same function.
            fn = leaf.scope.func
            before = f.prv(idx[0])
            if f.t(before) == "&":
                before = f.prv(before)
            target = f.t(f.prv(before)) if f.t(before) in (":=", "=") else None
            if fn is not None and target:
                for i in range(brace, fn.body[1]):
                    if f.t(i) == target and f.t(i + 1) == "." and f.t(i + 3) == "=" and f.t(i + 2) in (
                            "NoTxWrap", "MigrationsTable"):
                        found[f.t(i + 2)] = (Expr(leaf.scope, i + 4, f.stmt_end(i + 4)), i + 2)
        if "NoTxWrap" in found:
            value_expr, at = found["NoTxWrap"]
            text = render(self.ev.value(value_expr.scope, value_expr.lo, value_expr.hi))
            where = value_expr.file.where(at)
            if text in ("true", "false"):
                migrator.no_tx_wrap = text == "true"
                migrator.tx_wrap_evidence = f"{where}: NoTxWrap: {text}"
            else:
                migrator.no_tx_wrap, migrator.tx_wrap_evidence = None, f"{where}: NoTxWrap: {value_expr.text()}"
        if "MigrationsTable" in found:
            value_expr, at = found["MigrationsTable"]
            value = self.ev.value(value_expr.scope, value_expr.lo, value_expr.hi)
            where = value_expr.file.where(at)
            if is_known(value) and render(value):
                migrator.table, migrator.table_evidence = render(value), f"{where}: MigrationsTable"
            elif not is_known(value):
                migrator.table, migrator.table_evidence = None, f"{where}: MigrationsTable: {value_expr.text()}"

    def _connection(self, migrator: Migrator, db: Expr, construction: Expr) -> None:
        """Foreign keys of the *sql.DB golang-migrate's driver gets."""
        openers, lost = self.opener_of(db)
        keys = {o.key for o in openers}
        if not openers or lost:
            what = ", ".join(f"{leaf.text()} at {leaf.where}" for leaf in lost[:2]) or db.text()
            self._unresolved(migrator, db, what, construction)
            return
        outcomes = []
        for opener in openers:
            outcomes.append(self._opener_fk(migrator, opener, keys, construction))
        values = {o.value for o in outcomes}
        if len(values) == 1:
            migrator.foreign_keys = outcomes[0].value
            migrator.foreign_keys_evidence = outcomes[0].evidence
        else:
            migrator.foreign_keys = None
            migrator.foreign_keys_evidence = "the connection comes from several places that differ: " + "; ".join(
                o.evidence for o in outcomes[:3])

    def _opener_fk(self, migrator: Migrator, opener: Opener, keys: Set[Tuple[str, int]],
                   construction: Expr) -> Setting:
        driver = migrator.driver
        name = render(opener.driver_name)
        settings: List[Setting] = []
        if driver == MATTN_DRIVER and self.report.build_tag:
            settings.append(Setting(True, f"{self.report.build_tag}: built with -tags sqlite_foreign_keys"))
        query = _query(opener.dsn) if opener.dsn is not None else []
        from_dsn = self._fk_from_params(driver, query, opener.where)
        if from_dsn is not None:
            settings.append(from_dsn)
        if driver == MATTN_DRIVER:
            settings.extend(self.hooks.get(name, []))
        elif driver == MODERNC_DRIVER:
            settings.extend(self.modernc_hook)
        points = self._run_points(construction)
        unclear: List[str] = []
        for call, setting, receiver in self.pragma_execs:
            found, _lost = self.opener_of(receiver)
            if not found or not {o.key for o in found} <= keys:
                continue
            timing = self._timing(call, points, opener)
            if timing == "before":
                settings.append(setting)
            elif timing == "unknown" and setting.value is not False:
                unclear.append(setting.evidence)
        notes = self._elsewhere(keys, points)
        if unclear:
            return Setting(None, f"{unclear[0]}: on the connection golang-migrate gets (opened at {opener.where}), "
                                 "but whether before or after the migrations run cannot be told")
        if settings:
            last = settings[-1]
            if any(s.conditional or s.value is None for s in settings):
                return Setting(None, f"{last.evidence}, set only on some paths")
            return Setting(last.value, f"{last.evidence} on the connection golang-migrate gets{notes}")
        if opener.dsn is not None and not _open_query(opener.dsn):
            return Setting(False, f"{opener.where}: the connection golang-migrate gets is opened without a "
                                  f"foreign-key setting ({_driver_default(driver)}){notes}")
        stray = self._unaccounted(_MENTION)
        if stray:
            return Setting(None, f"{opener.where}: the connection golang-migrate gets is opened with "
                                 f"{_describe(opener.dsn) if opener.dsn else 'a connector'}, and {stray} may reach it")
        return Setting(False, f"{opener.where}: the connection golang-migrate gets is opened without a "
                              f"foreign-key setting, and none appears elsewhere ({_driver_default(driver)}){notes}")

    def _elsewhere(self, keys: Set[Tuple[str, int]], points) -> str:
        """A note on foreign-key settings that do not apply while migrating."""
        notes = []
        for key, opener in self.openers.items():
            if key in keys or opener.dsn is None:
                continue
            for driver in (MATTN_DRIVER, MODERNC_DRIVER):
                found = self._fk_from_params(driver, _query(opener.dsn), opener.where)
                if found is not None and found.value:
                    notes.append(f"{found.evidence} is on another connection")
                    break
        for call, setting, receiver in self.pragma_execs:
            if setting.value and call.where not in " ".join(notes):
                found, _lost = self.opener_of(receiver)
                if found and {o.key for o in found} <= keys and self._timing(call, points, None) == "after":
                    notes.append(f"{setting.evidence} runs after the migrations")
        return "; " + "; ".join(notes[:2]) if notes else ""

    def _unresolved(self, migrator: Migrator, db: Optional[Expr], what: str, construction: Optional[Expr]) -> None:
        """The *sql.DB cannot be followed to where it is opened (db None: no
        golang-migrate call was found at all)."""
        where = db.where if db is not None else (self.module.path or "the module")
        sqlite_openers = [o for o in self.openers.values() if o.dsn is not None and
                          render(o.driver_name) in ("sqlite3", "sqlite", *self.hooks)]
        if len(sqlite_openers) == 1:
            only = sqlite_openers[0]
            outcome = self._opener_fk(migrator, only, {only.key}, construction)
            migrator.foreign_keys = outcome.value
            migrator.foreign_keys_evidence = (f"{outcome.evidence}; the connection ({what}) cannot be followed, "
                                              f"and {only.where} is the module's only sql.Open of SQLite")
            return
        stray = self._unaccounted(_MENTION)
        settings = [o for o in sqlite_openers if o.dsn is not None and
                    self._fk_from_params(migrator.driver, _query(o.dsn), o.where) is not None]
        execs = [s for _c, s, _r in self.pragma_execs]
        if not stray and not settings and not execs and not self.hooks.get("sqlite3") and not self.modernc_hook:
            default = "on" if self.report.build_tag and migrator.driver == MATTN_DRIVER else None
            if default:
                migrator.foreign_keys, migrator.foreign_keys_evidence = True, f"{self.report.build_tag}: built with -tags sqlite_foreign_keys"
                return
            migrator.foreign_keys = False
            migrator.foreign_keys_evidence = (f"{where}: the connection golang-migrate gets ({what}) cannot be "
                                              "followed, but no foreign-key setting appears anywhere in the module")
            return
        migrator.foreign_keys = None
        candidates = stray or (settings[0].where if settings else (execs[0].evidence if execs else "a ConnectHook"))
        migrator.foreign_keys_evidence = (f"{where}: the connection golang-migrate gets ({what}) cannot be "
                                          f"followed to where it is opened, and {candidates} may set foreign keys on it")

    def _default_fk(self, migrator: Migrator, value: Value, what: str, open_parts: bool) -> None:
        if migrator.driver == MATTN_DRIVER and self.report.build_tag:
            migrator.foreign_keys = True
            migrator.foreign_keys_evidence = f"{self.report.build_tag}: built with -tags sqlite_foreign_keys"
            return
        stray = self._unaccounted(_MENTION) if open_parts else ""
        if stray:
            migrator.foreign_keys = None
            migrator.foreign_keys_evidence = f"{what} is partly built at run time ({_describe(value)}), and {stray} may reach it"
            return
        migrator.foreign_keys = False
        migrator.foreign_keys_evidence = f"{what} sets no foreign keys ({_driver_default(migrator.driver)})"

    def _fk_from_params(self, driver: str, query: List[Tuple[str, Value]], where: str) -> Optional[Setting]:
        """The foreign-key setting a DSN's parameters make for `driver`
        (mattn reads _foreign_keys/_fk, the later one winning; modernc runs each _pragma)."""
        found: Optional[Setting] = None
        mattn_keys = {"_foreign_keys": None, "_fk": None}
        for key, value in query:
            text = unquote(render(value)).strip()
            at = _where_of(value, where)
            cond = any(p.cond for p in value)
            if key in mattn_keys and driver in (MATTN_DRIVER, UNKNOWN):
                word = text.lower()
                mattn_keys[key] = Setting(True if word in _TRUE else False if word in _FALSE else None,
                                          f"{at}: {key}={text}", cond)
            elif key == "_pragma" and driver in (MODERNC_DRIVER, UNKNOWN):
                match = _FK_MODERNC.match(text)
                if match:
                    word = match.group(1).lower()
                    found = Setting(True if word in _TRUE else False if word in _FALSE else None,
                                    f"{at}: _pragma={text}", cond)
        mattn = mattn_keys["_fk"] or mattn_keys["_foreign_keys"]
        return mattn or found

    def _unaccounted(self, pattern: "re.Pattern[str]") -> str:
        """A string literal of the module matching `pattern` that no
        connection, URL or Exec this reader followed contains."""
        for f in self.module.files:
            for i, tok in enumerate(f.toks):
                if tok.kind != STRING or not pattern.search(tok.text):
                    continue
                key = (f.rel, f.line(i))
                if key in self.accounted:
                    continue
                text = tok.text if len(tok.text) <= 40 else tok.text[:37] + "..."
                return f"{text} at {f.where(i)}"
        return ""

    # -- when a PRAGMA runs ------------------------------------------------------------------------
    def _run_points(self, construction: Optional[Expr]) -> List[Tuple[Func, int]]:
        """(function, token index) where the migrations run: the first
        m.Up()/Migrate/Steps after the construction, or the construction
        itself; then every call of that function, and of its callers."""
        fn = construction.scope.func if construction is not None else None
        if fn is None:
            return []
        f = construction.file
        point = construction.head()
        for _recv, i, _open in method_calls(f, RUNS):
            if fn.contains(i) and i > point:
                point = i
                break
        points = [(fn, point)]
        frontier = [fn]
        for _level in range(3):
            following = []
            for current in frontier:
                for g, i in self.module.call_sites(current.name):
                    caller = g.func_at(i)
                    if caller is None or caller is current or any(p[0] is caller for p in points):
                        continue
                    points.append((caller, i))
                    following.append(caller)
            frontier = following
        return points

    def _timing(self, call: Expr, points: List[Tuple[Func, int]], opener: Optional[Opener]) -> str:
        fn = call.scope.func
        at = call.head()
        for point_fn, index in points:
            if point_fn is fn:
                return "before" if at < index else "after"
        if opener is not None and opener.expr.scope.func is fn and fn is not None:
            return "before"
        return "unknown"

    # -- sources ------------------------------------------------------------------------------------
    def _source_url(self, migrator: Migrator, url: Value, where: str) -> None:
        text = render(url)
        if not text.startswith("file://"):
            migrator.source_note = f"{where}: the source URL is {_describe(url)}"
            self._registered_sources(migrator)
            return
        path = text[len("file://"):]
        known = path.split("\x00", 1)[0]
        open_end = "\x00" in path
        if open_end and "/" not in known:
            migrator.source_note = f"{where}: the source URL is {_describe(url)}"
            return
        if open_end:
            known = known.rsplit("/", 1)[0]
        base = self.module.root
        candidates = [base / known]
        file_dir = _file_dir(self.module, where)
        if file_dir is not None:
            candidates.append(file_dir / known)
        for folder in candidates:
            if folder.is_dir():
                migrator.folders.append(SourceFolder(folder.resolve(), f"file:// URL at {where}", open_end))
                return
        migrator.source_note = f"{where}: file://{path.replace(chr(0), '*')} is not a folder under {base}"

    def _registered_sources(self, migrator: Migrator) -> None:
        """A custom source driver (httpfs.PartialDriver.Init in a registered driver)."""
        for f in self.module.files:
            for _recv, i, open_index in method_calls(f, ("Init",)):
                args = f.args(open_index)
                if len(args) == 2:
                    folder = self._fs_folder(Expr(Scope(f, f.func_at(i)), *args[0]),
                                             Expr(Scope(f, f.func_at(i)), *args[1]), f"{f.where(i)}: Init")
                    if folder is not None:
                        migrator.folders.append(folder)

    def _source_instance(self, migrator: Migrator, expr: Expr) -> None:
        for leaf in self.tracer.trace(expr):
            q = _qualified(leaf.file, leaf)
            if q is None or q[1] not in ("New", "WithInstance") or not q[0].startswith(MIGRATE + "/source/"):
                continue
            args = leaf.file.args(q[2])
            if len(args) != 2:
                continue
            kind = q[0].rsplit("/", 1)[-1]
            folder = self._fs_folder(Expr(leaf.scope, *args[0]), Expr(leaf.scope, *args[1]),
                                     f"{leaf.where}: {kind}.{q[1]}")
            if folder is not None:
                migrator.folders.append(folder)
        if not migrator.folders:
            migrator.source_note = f"{expr.where}: the source ({expr.text()}) cannot be followed to a folder"

    def _fs_folder(self, fs_expr: Expr, path_expr: Expr, how: str) -> Optional[SourceFolder]:
        root = self._fs_root(fs_expr)
        if root is None:
            return None
        base, sub, embedded = root
        path = self.ev.value(path_expr.scope, path_expr.lo, path_expr.hi)
        text = render(path)
        open_end = "\x00" in text
        known = text.split("\x00", 1)[0]
        if open_end:
            known = known.rsplit("/", 1)[0] if "/" in known else ""
        rel = "/".join(p for p in (sub, known.strip("/")) if p and p != ".")
        if not _safe_pattern(rel or "."):
            return None  # io/fs refuses such paths, and nothing is read outside the module
        folder = (base / rel) if rel else base
        if not folder.is_dir() or not _inside(folder, self.module.root):
            return None
        return SourceFolder(folder.resolve(), f"{embedded}, read with {how}" if embedded else how, open_end)

    def _fs_root(self, expr: Expr, depth: int = 0) -> Optional[Tuple[Path, str, str]]:
        """(folder, sub-path, how) of an fs.FS / http.FileSystem expression."""
        if depth > 4:
            return None
        for leaf in self.tracer.trace(expr):
            f = leaf.file
            idx = f.compact(leaf.lo, leaf.hi)
            if not idx:
                continue
            q = _qualified(f, leaf)
            if q is not None:
                path, member, open_index = q
                args = f.args(open_index)
                if (path, member) in (("net/http", "FS"),) and args:
                    return self._fs_root(Expr(leaf.scope, *args[0]), depth + 1)
                if (path, member) in (("io/fs", "Sub"),) and len(args) == 2:
                    inner = self._fs_root(Expr(leaf.scope, *args[0]), depth + 1)
                    sub = self.ev.value(leaf.scope, *args[1])
                    if inner is None or not is_known(sub):
                        return None
                    base, prefix, how = inner
                    return base, "/".join(p for p in (prefix, render(sub).strip("/")) if p and p != "."), how
                if (path, member) in (("os", "DirFS"), ("net/http", "Dir")) and args:
                    value = self.ev.value(leaf.scope, *args[0])
                    if not is_known(value):
                        return None
                    return self.module.root / render(value), "", f"{leaf.where}: {member}"
                continue
            # An embed.FS variable: this package's, or another package's (pkg.Var).
            var = None
            if len(idx) == 1 and f.kind(idx[0]) == IDENT:
                var = self._embed_var(f.dir, f.t(idx[0]))
            elif len(idx) == 3 and f.t(idx[1]) == "." and f.t(idx[0]) in f.imports:
                folder = self.module.package_dir(f.imports[f.t(idx[0])])
                var = self._embed_var(folder, f.t(idx[2])) if folder else None
            if var is not None:
                g, embed = var
                patterns = [p for p in embed.patterns if _safe_pattern(p)]
                return g.dir, "", f"embedded by {g.rel}:{embed.line} (//go:embed {' '.join(patterns)})"
        return None

    def _embed_var(self, folder: Path, name: str):
        for g in self.module.package(folder):
            if name in g.embeds:
                return g, g.embeds[name]
        return None


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except (ValueError, OSError):
        return False


def _safe_pattern(pattern: str) -> bool:
    """go:embed refuses `..` and absolute paths; never follow one out of the module."""
    return not (pattern.startswith("/") or ".." in pattern.split("/") or (len(pattern) > 1 and pattern[1] == ":"))


def _shell_value(text: str, where: str) -> Value:
    """A URL from a build file: $(VAR) and ${VAR} are unknown parts."""
    out: List[Part] = []
    for piece in re.split(r"(\$\([^)]*\)|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*)", text):
        if not piece:
            continue
        out.append(Part(None, f"{piece} at {where}") if piece.startswith("$") else Part(piece, where))
    return tuple(out)


def _line_key(where: str) -> Tuple[str, int]:
    file, _, line = where.rpartition(":")
    try:
        return file, int(line)
    except ValueError:
        return where, 0


def _where_of(value: Value, default: str) -> str:
    """Where the first known part of `value` was written."""
    for part in value:
        if part.text is not None:
            return part.where
    return default


def _describe(value: Optional[Value]) -> str:
    if value is None:
        return "a value that cannot be followed"
    holes = [p.where for p in value if p.text is None]
    shown = render(value, "…")
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f'"{shown}"' + (f" ({holes[0]})" if holes else "")


def _query(value: Optional[Value]) -> List[Tuple[str, Value]]:
    """The DSN's or URL's query parameters, each value with its parts."""
    if value is None:
        return []
    text = render(value)
    mark = text.find("?")
    if mark < 0:
        return []
    out = []
    position = mark + 1
    for piece in text[mark + 1:].split("&"):
        key, sep, raw = piece.partition("=")
        start = position + len(key) + len(sep)
        parts: List[Part] = []
        for s, e, part in spans(value):
            lo, hi = max(s, start), min(e, start + len(raw))
            if lo < hi:
                parts.append(Part(part.text[lo - s:hi - s] if part.text is not None else None, part.where, part.cond))
        if key and "\x00" not in key:
            out.append((unquote(key), tuple(parts)))
        position += len(piece) + 1
    return out


def _open_query(value: Optional[Value]) -> bool:
    """Whether parts known only at run time could add query parameters."""
    if value is None:
        return True
    text = render(value)
    if "\x00" not in text:
        return False
    mark = text.find("?")
    return mark < 0 or "\x00" in text[mark:]


def _driver_default(driver: str) -> str:
    if driver == MODERNC_DRIVER:
        return "modernc's default: off"
    if driver == MATTN_DRIVER:
        return "mattn's default: off"
    return "SQLite's default: off"


def _file_dir(module: GoModule, where: str) -> Optional[Path]:
    file, _, _line = where.rpartition(":")
    path = module.root / file
    return path.parent if path.exists() else None


def unreadable(root: Path, why: str) -> ModuleReport:
    """The report for a module whose source the reader failed on: every fact unknown."""
    report = ModuleReport(GoModule.__new__(GoModule))
    report.module.root, report.module.requires, report.module.go_files = root, {}, 0
    note = f"the Go source could not be read ({why}); please report it"
    report.notes.append(note)
    report.fallback = Migrator("", "none", driver_evidence=note, foreign_keys=None, foreign_keys_evidence=note,
                               no_tx_wrap=None, tx_wrap_evidence=note, table=None, table_evidence=note)
    return report


def read_module(root: Path) -> ModuleReport:
    """Everything the module's source says about how it runs golang-migrate."""
    return Reader(GoModule(root)).read()
