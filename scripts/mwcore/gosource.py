"""Go source as the facts reader needs it: files, functions, calls, and the
string values that reach a call.

Nothing here type-checks. Values are followed the way a reader follows them:
a string literal, `+`, `fmt.Sprintf`, `strings.Join` of a `[]string`
(with its `append`s), `filepath.Join`, a local or package-level variable or
constant, a function's parameter (through every call of that function in the
module), and the return value of a function of the module. Whatever cannot be
followed becomes an unknown part that says where it came from, so a fact can
be "unknown" with its reason instead of guessed.
"""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from .golex import _TOKEN_RE, COMMENT, IDENT, NEWLINE, NUMBER, OP, STRING, default_package_name, package_name, unquote_go_string

SKIP_DIRS = {"vendor", "node_modules", ".git", "testdata"}
MAX_GO_FILE_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 10  # how many steps (variables, calls, list items) deep a value is followed

MIGRATE = "github.com/golang-migrate/migrate/v4"
MIGRATE_SQLITE3 = MIGRATE + "/database/sqlite3"  # mattn/go-sqlite3
MIGRATE_SQLITE = MIGRATE + "/database/sqlite"  # modernc.org/sqlite
MATTN = "github.com/mattn/go-sqlite3"
MODERNC = "modernc.org/sqlite"
SQLX = "github.com/jmoiron/sqlx"

# Which Go files are read up front: those that can hold a fact. The others are
# read when a value is followed into them (their package, or a caller).
_RELEVANT = re.compile(r"golang-migrate|sql\.Open|sqlx\.|go:embed|foreign_keys|_fk\b|x-no-tx-wrap|x-migrations-table|"
                       r"RegisterFunc|ScalarFunction|RegisterFunction|ConnectHook|RegisterConnectionHook|iofs|httpfs|"
                       r"[Pp][Rr][Aa][Gg][Mm][Aa]")
_EMBED_LINE = re.compile(r"^[ \t]*//go:embed[ \t]+(.+?)[ \t]*$", re.M)
_EMBED_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"|`([^`]*)`|(\S+)')
_EMBED_VAR = re.compile(r"(?:[ \t]*//[^\n]*\n)*[ \t]*(?:var[ \t]+)?([^\W\d]\w*)[ \t]+(?:embed\.FS|\[\]byte|string)\b")


# Values ---------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """A piece of a string value: known text, or unknown (text None)."""

    text: Optional[str]
    where: str  # "file.go:12" of the literal, or what the unknown is ("parameter dsn of open at db.go:3")
    cond: bool = False  # set inside an if/for/switch block: may or may not happen


Value = Tuple[Part, ...]


def unknown(why: str) -> Value:
    return (Part(None, why),)


def render(value: Value, hole: str = "\x00") -> str:
    return "".join(p.text if p.text is not None else hole for p in value)


def is_known(value: Value) -> bool:
    return all(p.text is not None for p in value)


def spans(value: Value) -> List[Tuple[int, int, Part]]:
    """(start, end, part) of each part in `render(value)`."""
    out, at = [], 0
    for part in value:
        size = len(part.text) if part.text is not None else 1
        out.append((at, at + size, part))
        at += size
    return out


def part_at(value: Value, offset: int) -> Optional[Part]:
    for start, end, part in spans(value):
        if start <= offset < end:
            return part
    return None


def unknowns(value: Value) -> List[str]:
    return [p.where for p in value if p.text is None]


def conditional(value: Value) -> Value:
    return tuple(Part(p.text, p.where, True) for p in value)


# Files and functions -----------------------------------------------------------


class Token(NamedTuple):
    """golex's token, as a tuple: a module's files hold many of them."""

    kind: str
    text: str
    start: int
    end: int


def tokenize(text: str) -> List[Token]:
    """golex's tokens (its regex), comments dropped, newlines kept; a
    multi-line block comment acts as a newline, as in Go."""
    out: List[Token] = []
    append = out.append
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup or OP
        if kind == "space":
            continue
        if kind == COMMENT:
            if "\n" in match.group():
                append(Token(NEWLINE, "\n", match.end(), match.end()))
            continue
        append(Token(kind, match.group(), match.start(), match.end()))
    return out



@dataclass
class Func:
    name: str
    receiver: Optional[str]  # the receiver's type name for a method
    params: List[str]
    start: int  # token index of `func`
    body: Tuple[int, int]  # token indices of `{` and its `}`
    file: "GoFile"

    def contains(self, index: int) -> bool:
        return self.body[0] < index < self.body[1]

    @property
    def where(self) -> str:
        return self.file.where(self.start)


@dataclass
class EmbedVar:
    """A variable filled by `//go:embed`: where its patterns are rooted."""

    name: str
    patterns: List[str]
    line: int


class GoFile:
    """One Go file: tokens (newlines kept, comments dropped), brackets,
    functions and imports."""

    def __init__(self, path: Path, rel: str, text: str) -> None:
        self.path = path
        self.rel = rel
        self.dir = path.parent
        self.text = text
        self.toks: List[Token] = tokenize(text)
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.imports: Dict[str, str] = {}  # local name -> import path
        self.unnamed_imports: List[str] = []  # paths imported without a name (their package clause names them)
        self._imports()
        self.match: Dict[int, int] = {}
        self.depth: List[int] = []
        self._brackets()
        self.funcs: List[Func] = self._funcs()
        self._func_starts = [f.body[0] for f in self.funcs]
        self.embeds: Dict[str, EmbedVar] = self._embeds()

    def _imports(self) -> None:
        """`import "p"`, `import x "p"`, `import ( ... )` at the top of the file."""
        toks = self.toks
        i = 0
        while i < len(toks):
            tok = toks[i]
            if tok.kind == IDENT and tok.text == "func" or (tok.kind == IDENT and tok.text in ("var", "const", "type")):
                break
            if tok.kind != IDENT or tok.text != "import":
                i += 1
                continue
            j = i + 1
            grouped = j < len(toks) and toks[j].text == "("
            end = len(toks)
            if grouped:
                j += 1
            name: Optional[str] = None
            while j < end:
                tok = toks[j]
                if grouped and tok.text == ")":
                    break
                if tok.kind == STRING:
                    path = unquote_go_string(tok.text)
                    self.imports[name if name is not None else default_package_name(path)] = path
                    if name is None:
                        self.unnamed_imports.append(path)
                    name = None
                    if not grouped:
                        break
                elif tok.kind == IDENT or tok.text in ("_", "."):
                    name = tok.text
                j += 1
            i = j + 1

    # -- positions -----------------------------------------------------------------
    def line(self, index: int) -> int:
        offset = self.toks[index].start if index < len(self.toks) else len(self.text)
        return bisect.bisect_right(self._line_starts, offset)

    def where(self, index: int) -> str:
        return f"{self.rel}:{self.line(index)}"

    def alias(self, import_path: str) -> Optional[str]:
        """The name this file uses for `import_path` (None: not imported, or blank)."""
        for name, path in self.imports.items():
            if path == import_path and name not in ("_", "."):
                return name
        return None

    def imports_path(self, import_path: str) -> bool:
        return import_path in self.imports.values()

    # -- tokens --------------------------------------------------------------------
    def t(self, index: int) -> str:
        return self.toks[index].text if 0 <= index < len(self.toks) else ""

    def kind(self, index: int) -> str:
        return self.toks[index].kind if 0 <= index < len(self.toks) else ""

    def nxt(self, index: int) -> int:
        index += 1
        while index < len(self.toks) and self.toks[index].kind == NEWLINE:
            index += 1
        return index

    def prv(self, index: int) -> int:
        index -= 1
        while index >= 0 and self.toks[index].kind == NEWLINE:
            index -= 1
        return index

    def _brackets(self) -> None:
        stack: List[int] = []
        depth = 0
        for i, tok in enumerate(self.toks):
            self.depth.append(depth)
            if tok.kind != OP:
                continue
            if tok.text in "([{" and tok.text:
                stack.append(i)
                if tok.text == "{":
                    depth += 1
            elif tok.text in ")]}" and tok.text:
                if stack:
                    self.match[stack.pop()] = i
                if tok.text == "}":
                    depth = max(0, depth - 1)

    def close(self, index: int) -> int:
        return self.match.get(index, len(self.toks) - 1)

    def args(self, open_index: int) -> List[Tuple[int, int]]:
        """Token ranges [lo, hi) of the comma-separated items in the bracket
        group opening at `open_index`."""
        end = self.close(open_index)
        out, lo, i = [], open_index + 1, open_index + 1
        while i < end:
            tok = self.toks[i]
            if tok.kind == OP and tok.text in "([{" and tok.text:
                i = self.close(i) + 1
                continue
            if tok.kind == OP and tok.text == ",":
                out.append((lo, i))
                lo = i + 1
            i += 1
        if any(self.toks[j].kind != NEWLINE for j in range(lo, end)):
            out.append((lo, end))
        return out

    def stmt_end(self, index: int, limit: Optional[int] = None) -> int:
        """Index of the newline or ';' ending the statement that goes on at
        `index` (Go's semicolon rule), or `limit`."""
        limit = len(self.toks) if limit is None else limit
        i = index
        while i < limit:
            tok = self.toks[i]
            if tok.kind == OP and tok.text in "([{" and tok.text:
                i = self.close(i) + 1
                continue
            if tok.kind == OP and tok.text in (";", "}"):
                return i
            if tok.kind == NEWLINE:
                before = self.prv(i)
                if before >= 0 and _ends_line(self.toks[before]):
                    return i
            i += 1
        return limit

    def compact(self, lo: int, hi: int) -> List[int]:
        return [i for i in range(lo, hi) if self.toks[i].kind != NEWLINE]

    def source(self, lo: int, hi: int) -> str:
        idx = self.compact(lo, hi)
        if not idx:
            return ""
        text = self.text[self.toks[idx[0]].start:self.toks[idx[-1]].end]
        return " ".join(text.split())[:80]

    # -- declarations --------------------------------------------------------------
    def _funcs(self) -> List[Func]:
        out = []
        for i, tok in enumerate(self.toks):
            if tok.kind != IDENT or tok.text != "func" or self.depth[i] != 0:
                continue
            if i and self.toks[i - 1].kind != NEWLINE and self.toks[i - 1].text != ";":
                continue  # a func type or literal in a package-level expression
            j = self.nxt(i)
            receiver = None
            if self.t(j) == "(":
                group = [self.toks[k].text for k in self.compact(j + 1, self.close(j)) if self.toks[k].kind == IDENT]
                receiver = group[-1] if group else None
                j = self.nxt(self.close(j))
            if self.kind(j) != IDENT:
                continue
            name = self.t(j)
            j = self.nxt(j)
            if self.t(j) == "[":
                j = self.nxt(self.close(j))
            if self.t(j) != "(":
                continue
            params = self._params(j)
            k = self.nxt(self.close(j))
            while k < len(self.toks):
                text = self.t(k)
                if text in ("(", "["):
                    k = self.nxt(self.close(k))
                    continue
                if text == "{":
                    if self.t(self.prv(k)) in ("struct", "interface"):
                        k = self.nxt(self.close(k))
                        continue
                    out.append(Func(name, receiver, params, i, (k, self.close(k)), self))
                    break
                if self.kind(k) == NEWLINE or text == ";":
                    break
                k += 1
        return out

    def _params(self, open_index: int) -> List[str]:
        groups = [self.compact(lo, hi) for lo, hi in self.args(open_index)]
        named = any(len(g) >= 2 and self.kind(g[0]) == IDENT and self.t(g[1]) != "." for g in groups)
        if not named:
            return ["_"] * len(groups)
        return [self.t(g[0]) if g and self.kind(g[0]) == IDENT else "_" for g in groups]

    def func_at(self, index: int) -> Optional[Func]:
        pos = bisect.bisect_right(self._func_starts, index) - 1
        if pos >= 0 and self.funcs[pos].contains(index):
            return self.funcs[pos]
        return None

    def _embeds(self) -> Dict[str, EmbedVar]:
        out: Dict[str, EmbedVar] = {}
        for match in _EMBED_LINE.finditer(self.text):
            following = _EMBED_VAR.match(self.text, match.end() + 1)
            if following is None:
                continue
            name = following.group(1)
            patterns = []
            for quoted, raw, bare in _EMBED_ARG.findall(match.group(1)):
                pattern = quoted or raw or bare
                if pattern.startswith("all:"):
                    pattern = pattern[4:]
                if pattern:
                    patterns.append(pattern)
            var = out.setdefault(name, EmbedVar(name, [], self.text.count("\n", 0, match.start()) + 1))
            var.patterns.extend(patterns)
        return out


def _ends_line(tok: Token) -> bool:
    if tok.kind in (STRING, NUMBER, IDENT):
        return True
    return tok.text in (")", "]", "}", "++", "--")


# The module --------------------------------------------------------------------


_MODULE_RE = re.compile(r"^\s*module\s+(\S+)", re.M)
_REQUIRE_RE = re.compile(r"^\s*(?:require\s+)?([A-Za-z0-9._~/-]+)\s+(v[0-9][^\s]*)", re.M)


@dataclass(frozen=True)
class Requirement:
    module: str
    version: str
    line: int


class GoModule:
    """The Go files of one module (test files excluded), tokenized on first use:
    up front only those that can hold a fact, then whole packages and
    callers as the reader follows values into them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        try:
            self.go_mod = (root / "go.mod").read_text(encoding="utf-8", errors="replace")
        except OSError:
            self.go_mod = ""
        match = _MODULE_RE.search(self.go_mod)
        self.path = match.group(1).strip('"') if match else ""
        self.requires: Dict[str, Requirement] = {}
        for m in _REQUIRE_RE.finditer(self.go_mod):
            if m.group(1) in ("module", "go", "toolchain"):
                continue
            self.requires.setdefault(m.group(1), Requirement(m.group(1), m.group(2), self.go_mod.count("\n", 0, m.start()) + 1))
        self.go_files = 0
        self.loaded: Dict[Path, GoFile] = {}
        self._texts: Dict[Path, str] = {}
        self._paths: Dict[Path, List[Path]] = {}  # folder -> its Go files
        self.build_files: List[Tuple[str, str]] = []  # (rel, text) of Makefiles and the like
        self._calls: Dict[str, List[Tuple[GoFile, int]]] = {}  # name -> its calls, in the files indexed so far
        self._indexed: set = set()
        self._searched: set = set()
        self._scan()

    @property
    def files(self) -> List[GoFile]:
        return list(self.loaded.values())

    def _scan(self) -> None:
        for folder, dirs, files in os.walk(self.root, followlinks=False):
            base = Path(folder)
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")
                             and not (base / d / "go.mod").exists())
            for name in sorted(files):
                path = base / name
                if name in BUILD_FILES or name.endswith((".mk", ".sh")):
                    text = _read(path, 256 * 1024)
                    if text:
                        self.build_files.append((self._rel(path), text))
                    continue
                if not name.endswith(".go") or name.endswith("_test.go"):
                    continue
                self.go_files += 1
                self._paths.setdefault(base, []).append(path)
                text = _read(path, MAX_GO_FILE_BYTES)
                self._texts[path] = text
                if text and _RELEVANT.search(text):
                    self.load(path)
        workflows = self.root / ".github" / "workflows"
        if workflows.is_dir():
            for path in sorted(workflows.glob("*.y*ml")):
                text = _read(path, 256 * 1024)
                if text:
                    self.build_files.append((self._rel(path), text))

    def load(self, path: Path) -> Optional[GoFile]:
        if path in self.loaded:
            return self.loaded[path]
        text = self._texts.get(path)
        if text is None:
            text = _read(path, MAX_GO_FILE_BYTES)
        if not text:
            return None
        f = GoFile(path, self._rel(path), text)
        self.loaded[path] = f
        for imported in f.unnamed_imports:
            # A package of this module may be named otherwise than its folder.
            folder = self.package_dir(imported)
            real = self._package_name(folder) if folder is not None else None
            if real and f.imports.get(real) != imported:
                f.imports = {k: v for k, v in f.imports.items() if v != imported}
                f.imports[real] = imported
        return f

    def _package_name(self, folder: Path) -> Optional[str]:
        for path in self._paths.get(folder, []):
            name = package_name(self._texts.get(path) or _read(path, MAX_GO_FILE_BYTES))
            if name:
                return name
        return None

    def _rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def package(self, folder: Path) -> List[GoFile]:
        """Every non-test Go file of the package in `folder`."""
        out = []
        for path in self._paths.get(folder, []):
            f = self.load(path)
            if f is not None:
                out.append(f)
        return out

    def package_dir(self, import_path: str) -> Optional[Path]:
        if not self.path or not (import_path == self.path or import_path.startswith(self.path + "/")):
            return None
        return self.root / import_path[len(self.path):].lstrip("/")

    def import_path(self, folder: Path) -> Optional[str]:
        if not self.path:
            return None
        try:
            rel = folder.relative_to(self.root).as_posix()
        except ValueError:
            return None
        return self.path if rel in ("", ".") else f"{self.path}/{rel}"

    def funcs(self, name: str, folder: Optional[Path] = None) -> List[Func]:
        """Functions and methods named `name` (in `folder`'s package, or in
        every loaded file)."""
        files = self.package(folder) if folder is not None else self.files
        return [fn for f in files for fn in f.funcs if fn.name == name]

    def call_sites(self, name: str) -> List[Tuple[GoFile, int]]:
        """Every `name(` in the module's Go files (index of the name)."""
        if name not in self._searched:
            self._searched.add(name)
            pattern = re.compile(r"\b" + re.escape(name) + r"\s*\(")
            for paths in self._paths.values():
                for path in paths:
                    if path not in self.loaded and pattern.search(self._texts.get(path) or ""):
                        self.load(path)
        for path, f in self.loaded.items():
            if path in self._indexed:
                continue
            self._indexed.add(path)
            toks = f.toks
            for i in range(len(toks) - 1):
                tok = toks[i]
                if tok.kind == IDENT and toks[i + 1].text == "(" and f.t(f.prv(i)) != "func":
                    self._calls.setdefault(tok.text, []).append((f, i))
        return self._calls.get(name, [])

    def calls_of(self, fn: "Func") -> Iterator[Tuple[GoFile, int, List[Tuple[int, int]]]]:
        """(file, index, argument spans) of every call of `fn` from outside
        it: a qualified call names its package, a method call goes through
        a receiver, a plain one is in its package; the argument count fits."""
        for g, i in self.call_sites(fn.name):
            if g.func_at(i) is fn:
                continue
            if g.t(i - 1) == ".":
                if fn.receiver is None and g.alias(self.import_path(fn.file.dir) or "") != g.t(i - 2):
                    continue
            elif fn.receiver is not None or g.dir != fn.file.dir:
                continue
            args = g.args(i + 1)
            if len(args) == len(fn.params):
                yield g, i, args


BUILD_FILES = ("Makefile", "makefile", "GNUmakefile", "Taskfile.yml", "Taskfile.yaml", "Justfile", "justfile",
               ".goreleaser.yml", ".goreleaser.yaml", "Dockerfile")


def _read(path: Path, limit: int) -> str:
    try:
        if path.stat().st_size > limit:
            return ""
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


# Evaluating expressions -----------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Where an expression is read: its file, its function (None at package
    level), and the expressions a caller passed for that function's
    parameters (each read in the caller's scope)."""

    file: GoFile
    func: Optional[Func]
    bound: Tuple[Tuple[str, "Expr"], ...] = ()
    values: Tuple[Tuple[str, Value], ...] = ()  # loop variables bound to one element each

    def binding(self, name: str) -> Optional["Expr"]:
        for key, expr in self.bound:
            if key == name:
                return expr
        return None

    def with_value(self, name: str, value: Value) -> "Scope":
        return Scope(self.file, self.func, self.bound, self.values + ((name, value),))


@dataclass(frozen=True)
class Expr:
    """Tokens [lo, hi) of an expression, in its scope."""

    scope: Scope
    lo: int
    hi: int

    @property
    def file(self) -> GoFile:
        return self.scope.file

    def head(self) -> int:
        idx = self.file.compact(self.lo, self.hi)
        return idx[0] if idx else self.lo

    @property
    def where(self) -> str:
        return self.file.where(self.head())

    def text(self) -> str:
        return self.file.source(self.lo, self.hi)


@dataclass(frozen=True)
class Assign:
    index: int  # token index of the name
    op: str  # ":=", "=", "+=", "var", "const", "range"
    rhs: Tuple[int, int]
    position: int  # which name of a multi-name assignment (a, b := ...)
    cond: bool


class Evaluator:
    """Follows expressions to string values and lists of them."""

    def __init__(self, module: GoModule) -> None:
        self.module = module
        self._params: Dict[Tuple[int, int], Value] = {}  # (id of the function, position) -> value from its callers

    # -- statements ------------------------------------------------------------------
    def assignments(self, f: GoFile, name: str, lo: int, hi: int, use: int) -> List[Assign]:
        """Assignments to `name` in tokens [lo, hi), in order. An assignment
        deeper in blocks than `use` is conditional."""
        out = []
        i = lo
        while i < hi:
            tok = f.toks[i]
            if tok.kind != IDENT or tok.text != name:
                i += 1
                continue
            before = f.prv(i)
            if f.t(before) == "." or f.t(i + 1) == ".":
                i += 1
                continue
            # Walk over the name list `a, b, c` the name belongs to.
            first = i
            while f.t(f.prv(first)) == "," and f.kind(f.prv(f.prv(first))) == IDENT:
                first = f.prv(f.prv(first))
            last = i
            while f.t(f.nxt(last)) == "," and f.kind(f.nxt(f.nxt(last))) == IDENT:
                last = f.nxt(f.nxt(last))
            names = [k for k in range(first, last + 1) if f.kind(k) == IDENT]
            position = names.index(i)
            op_index = f.nxt(last)
            op = f.t(op_index)
            keyword = f.t(f.prv(first))
            cond = f.depth[i] > f.depth[use]
            if keyword in ("var", "const") and op not in ("=", ":="):
                # `var x T = v` or `var x T`
                k = op_index
                while k < hi and f.t(k) != "=" and f.kind(k) != NEWLINE and f.t(k) != ";":
                    k += 1
                if f.t(k) == "=":
                    end = f.stmt_end(k + 1, hi)
                    out.append(Assign(i, keyword, (k + 1, end), position, cond))
                i = last + 1
                continue
            if op in (":=", "=", "+="):
                rhs_lo = op_index + 1
                if f.t(f.nxt(op_index)) == "range":
                    rhs_lo = f.nxt(op_index) + 1
                    end = rhs_lo
                    # `range []string{"a", "b"} {`: the first brace is the literal's.
                    literal = f.t(f.nxt(rhs_lo - 1)) in ("[", "map")
                    while end < hi and (f.t(end) != "{" or literal):
                        if f.t(end) == "{":
                            end = f.close(end)
                            literal = False
                        elif f.t(end) in ("(", "["):
                            end = f.close(end)
                        end += 1
                    out.append(Assign(i, "range", (rhs_lo, end), position, True))
                else:
                    end = f.stmt_end(rhs_lo)
                    if end > hi:
                        break  # the statement the value is read in (`ps = append(ps, ...)`): not before it
                    op_name = keyword if keyword in ("var", "const") else op
                    out.append(Assign(i, op_name, (rhs_lo, end), position, cond))
                i = op_index + 1
                continue
            i += 1
        return out

    def _rhs_item(self, f: GoFile, assign: Assign) -> Tuple[int, int]:
        """The expression assigned to the name (the k-th of `a, b := x, y`)."""
        lo, hi = assign.rhs
        items = _split(f, lo, hi, ",")
        if len(items) > 1 and assign.position < len(items):
            return items[assign.position]
        return lo, hi

    def var_value(self, scope: Scope, name: str, use: int, depth: int) -> Optional[Value]:
        """The value of variable `name` at token `use` of scope's file, or None
        when it is not assigned there."""
        f, fn = scope.file, scope.func
        for key, bound_value in reversed(scope.values):
            if key == name:
                return bound_value
        if fn is not None:
            assigns = self.assignments(f, name, fn.body[0] + 1, use, use)
            value = self._fold(f, scope, assigns, depth)
            if value is not None:
                return value
            if name in fn.params:
                bound = scope.binding(name)
                if bound is not None:
                    return self.value(bound.scope, bound.lo, bound.hi, depth + 1)
                return self.param_value(fn, fn.params.index(name), depth)
        found = self.package_value(f, name)
        if found is not None:
            g, lo, hi = found
            return self.value(Scope(g, None), lo, hi, depth + 1)
        return None

    def _fold(self, f: GoFile, scope: Scope, assigns: List[Assign], depth: int) -> Optional[Value]:
        value: Optional[Value] = None
        for assign in assigns:
            if assign.op == "range":
                value = unknown(f"an element of {f.source(*assign.rhs)} at {f.where(assign.index)}")
                continue
            lo, hi = self._rhs_item(f, assign)
            if len(_split(f, *assign.rhs, ",")) == 1 and assign.position > 0:
                part = self.value(scope, lo, hi, depth + 1, result=assign.position)
            else:
                part = self.value(scope, lo, hi, depth + 1)
            if assign.cond:
                part = conditional(part)
            if assign.op == "+=":
                value = (value or unknown(f"the start of {f.t(assign.index)}")) + part
            elif assign.cond and value is not None:
                # Either the old value or the new one: keep both visible, as parts that may not apply.
                value = conditional(value) + part
            else:
                value = part
        return value

    def package_value(self, f: GoFile, name: str) -> Optional[Tuple[GoFile, int, int]]:
        """A package-level `const`/`var` named `name` in f's package."""
        for g in self.module.package(f.dir):
            for assign in self.assignments(g, name, 0, len(g.toks), 0):
                if g.depth[assign.index] == 0 and g.func_at(assign.index) is None:
                    lo, hi = self._rhs_item(g, assign)
                    return g, lo, hi
        return None

    def param_value(self, fn: Func, position: int, depth: int) -> Value:
        """A parameter's value from every call of its function in the module:
        the one value when all calls agree, else unknown."""
        why = f"parameter {fn.params[position]} of {fn.name} ({fn.where})"
        if depth >= MAX_DEPTH:
            return unknown(why)
        key = (id(fn), position)
        if key in self._params:
            return self._params[key]
        self._params[key] = unknown(why + " (recursive)")  # a caller reached again through itself
        self._params[key] = self._param_value(fn, position, depth, why)
        return self._params[key]

    def _param_value(self, fn: Func, position: int, depth: int, why: str) -> Value:
        values = []
        for g, i, args in self.module.calls_of(fn):
            caller = Scope(g, g.func_at(i))
            values.append(self.value(caller, *args[position], depth + 1))
        if not values:
            return unknown(why)
        rendered = {render(v) for v in values}
        if len(rendered) == 1:
            return values[0]
        return unknown(why + f", given {len(rendered)} different values by its {len(values)} callers")

    # -- expressions -------------------------------------------------------------------
    def value(self, scope: Scope, lo: int, hi: int, depth: int = 0, result: int = 0) -> Value:
        f = scope.file
        idx = f.compact(lo, hi)
        if not idx:
            return unknown(f"an empty expression at {f.where(lo)}")
        if depth > MAX_DEPTH:
            return unknown(f"{f.source(lo, hi)} at {f.where(idx[0])} (too indirect)")
        terms = _split(f, lo, hi, "+")
        if len(terms) > 1:
            out: Value = ()
            for t_lo, t_hi in terms:
                out += self.value(scope, t_lo, t_hi, depth, result)
            return out
        first, last = idx[0], idx[-1]
        text = f.t(first)
        desc = f"{f.source(lo, hi)} at {f.where(first)}"
        if len(idx) == 1:
            if f.kind(first) == STRING:
                return (Part(unquote_go_string(text), f.where(first)),)
            if f.kind(first) == NUMBER:
                return (Part(text, f.where(first)),)
            if f.kind(first) == IDENT:
                if text in ("true", "false", "nil"):
                    return (Part(text, f.where(first)),)
                found = self.var_value(scope, text, first, depth)
                return found if found is not None else unknown(desc)
            return unknown(desc)
        if text == "(" and f.close(first) == last:
            return self.value(scope, first + 1, last, depth, result)
        if text == "&":
            return self.value(scope, first + 1, hi, depth, result)
        # pkg.Name or pkg.Func(...)
        if f.kind(first) == IDENT and f.t(first + 1) == "." and f.kind(first + 2) == IDENT:
            package = f.imports.get(text)
            member = f.t(first + 2)
            after = first + 3
            if package is not None and after <= last and f.t(after) == "(" and f.close(after) == last:
                return self._package_call(scope, package, member, after, depth, desc, result)
            if package is not None and after > last:
                folder = self.module.package_dir(package)
                if folder is not None:
                    for g in self.module.package(folder):
                        found = self.package_value(g, member)
                        if found is not None:
                            return self.value(Scope(found[0], None), found[1], found[2], depth + 1)
                        break
                return unknown(desc)
            if after <= last and f.t(after) == "(" and f.close(after) == last:
                # A method call: a method of the module with that name, if one.
                return self._module_call(scope, member, after, depth, desc, result, method=True)
            return unknown(desc)
        if f.kind(first) == IDENT and f.t(first + 1) == "(" and f.close(first + 1) == last:
            if text == "string" or text == "append":
                args = f.args(first + 1)
                return self.value(scope, *args[0], depth, result) if text == "string" and args else unknown(desc)
            return self._module_call(scope, text, first + 1, depth, desc, result, method=False)
        return unknown(desc)

    def _package_call(self, scope: Scope, package: str, member: str, open_index: int, depth: int,
                      desc: str, result: int) -> Value:
        f = scope.file
        args = f.args(open_index)
        if package == "fmt" and member == "Sprintf" and args:
            return self._sprintf(scope, args, depth, desc)
        if package == "strings" and member == "Join" and len(args) == 2:
            items = self.list_value(scope, *args[0], depth + 1)
            sep = self.value(scope, *args[1], depth + 1)
            if items is None:
                return unknown(desc)
            out: Value = ()
            for n, item in enumerate(items):
                out += (sep if n else ()) + item
            return out
        if package in ("path/filepath", "path") and member == "Join":
            out = ()
            for n, arg in enumerate(args):
                out += ((Part("/", f.where(arg[0])),) if n else ()) + self.value(scope, *arg, depth + 1)
            return out
        if package == "strings" and member in ("TrimSpace",) and len(args) == 1:
            return self.value(scope, *args[0], depth + 1)
        folder = self.module.package_dir(package)
        if folder is not None:
            return self._call(scope, [fn for fn in self.module.funcs(member, folder) if fn.receiver is None],
                              open_index, depth, desc, result)
        return unknown(desc)

    def _module_call(self, scope: Scope, name: str, open_index: int, depth: int, desc: str, result: int,
                     method: bool) -> Value:
        f = scope.file
        candidates = [fn for fn in self.module.funcs(name, f.dir) if (fn.receiver is not None) == method]
        if not candidates and method:
            candidates = [fn for fn in self.module.funcs(name) if fn.receiver is not None]
        return self._call(scope, candidates, open_index, depth, desc, result)

    def _call(self, scope: Scope, candidates: List[Func], open_index: int, depth: int, desc: str,
              result: int) -> Value:
        if len(candidates) != 1:
            return unknown(desc)
        fn = candidates[0]
        f = scope.file
        args = f.args(open_index)
        bound = tuple((name, Expr(scope, *args[n])) for n, name in enumerate(fn.params) if n < len(args) and name != "_")
        returns = self.returns(fn)
        if not returns:
            return unknown(desc)
        inner = Scope(fn.file, fn, bound)
        values = []
        for ret_lo, ret_hi in returns:
            items = _split(fn.file, ret_lo, ret_hi, ",")
            if result < len(items):
                values.append(self.value(inner, *items[result], depth + 1))
        rendered = {render(v) for v in values}
        if len(rendered) == 1:
            return values[0]
        return unknown(desc + f" ({fn.name} returns {len(rendered)} different values)")

    def returns(self, fn: Func) -> List[Tuple[int, int]]:
        """Expression ranges of fn's `return` statements (not of nested func literals)."""
        f = fn.file
        out = []
        i = fn.body[0] + 1
        while i < fn.body[1]:
            if f.t(i) == "func" and f.kind(i) == IDENT:
                j = i + 1
                while j < fn.body[1] and f.t(j) != "{":
                    if f.t(j) in ("(", "["):
                        j = f.close(j)
                    j += 1
                i = f.close(j) + 1 if f.t(j) == "{" else j
                continue
            if f.t(i) == "return" and f.kind(i) == IDENT:
                end = f.stmt_end(i + 1, fn.body[1])
                if f.compact(i + 1, end):
                    out.append((i + 1, end))
                i = end
                continue
            i += 1
        return out

    def _sprintf(self, scope: Scope, args: List[Tuple[int, int]], depth: int, desc: str) -> Value:
        fmt_value = self.value(scope, *args[0], depth + 1)
        out: List[Part] = []
        rest = [self.value(scope, lo, hi, depth + 1) for lo, hi in args[1:]]
        for part in fmt_value:
            if part.text is None:
                out.append(part)
                continue
            pieces = re.split(r"(%[-+# 0-9.*]*[a-zA-Z%])", part.text)
            for piece in pieces:
                if not piece:
                    continue
                if piece == "%%":
                    out.append(Part("%", part.where, part.cond))
                elif piece.startswith("%") and len(piece) > 1:
                    arg = rest.pop(0) if rest else unknown(desc)
                    if piece[-1] in "sdvq":
                        out.extend(arg)
                    else:
                        out.extend(unknown(desc))
                else:
                    out.append(Part(piece, part.where, part.cond))
        return tuple(out)

    def list_value(self, scope: Scope, lo: int, hi: int, depth: int = 0) -> Optional[List[Value]]:
        """The items of a `[]string` expression (a literal, a variable built
        with `append`), or None when it cannot be followed."""
        f = scope.file
        idx = f.compact(lo, hi)
        if not idx or depth > MAX_DEPTH:
            return None
        first, last = idx[0], idx[-1]
        if f.t(first) == "[" and f.t(last) == "}":
            brace = next((i for i in idx if f.t(i) == "{"), None)
            if brace is not None and f.close(brace) == last:
                return [self.value(scope, a, b, depth + 1) for a, b in f.args(brace)]
        if f.t(first) == "append" and f.t(first + 1) == "(" and f.close(first + 1) == last:
            args = f.args(first + 1)
            if not args:
                return None
            base = self.list_value(scope, *args[0], depth + 1)
            if base is None:
                return None
            extra = []
            for a, b in args[1:]:
                if f.t(f.compact(a, b)[-1]) == "...":
                    more = self.list_value(scope, a, f.compact(a, b)[-1], depth + 1)
                    if more is None:
                        return None
                    extra.extend(more)
                else:
                    extra.append(self.value(scope, a, b, depth + 1))
            return base + extra
        if f.t(first) == "make" and f.t(first + 1) == "(" and f.close(first + 1) == last:
            return []
        if len(idx) == 1 and f.kind(first) == IDENT:
            name = f.t(first)
            assigns: List[Assign] = []
            fn = scope.func
            if fn is not None:
                assigns = self.assignments(f, name, fn.body[0] + 1, first, first)
            if not assigns:
                found = self.package_value(f, name)
                if found is None:
                    return None
                return self.list_value(Scope(found[0], None), found[1], found[2], depth + 1)
            items: Optional[List[Value]] = None
            for assign in assigns:
                lo, hi = self._rhs_item(f, assign)
                loop = self.enclosing_range(f, assign.index) if assign.cond else None
                rhs = f.compact(lo, hi)
                if loop is not None and rhs and f.t(rhs[0]) == "append" and f.t(rhs[0] + 1) == "(":
                    var, loop_lo, loop_hi = loop
                    elements = self.list_value(scope, loop_lo, loop_hi, depth + 1)
                    if elements is None:
                        return None
                    added: List[Value] = []
                    for element in elements:
                        inner = scope.with_value(var, element)
                        for a, b in f.args(rhs[0] + 1)[1:]:
                            added.append(self.value(inner, a, b, depth + 1))
                    items = (items or []) + added
                    continue
                got = self.list_value(scope, lo, hi, depth + 1)
                if got is None:
                    return None
                if assign.cond:
                    known = len(items or [])
                    got = (got[:known] if items is not None else []) + [conditional(v) for v in got[known:]]
                items = got
            return items
        return None

    def enclosing_range(self, f: GoFile, index: int) -> Optional[Tuple[str, int, int]]:
        """(element variable, list expression) of the `for _, v := range list {`
        whose block holds token `index`."""
        level = f.depth[index]
        j = index
        while j > 0:
            j -= 1
            if f.t(j) == "{" and f.depth[j] == level - 1 and f.close(j) > index:
                break
        else:
            return None
        start = j
        while start > 0 and f.kind(start - 1) != NEWLINE and f.t(start - 1) not in (";", "{", "}"):
            start -= 1
        head = f.compact(start, j)
        if not head or f.t(head[0]) != "for" or "range" not in [f.t(k) for k in head]:
            return None
        at = [f.t(k) for k in head].index("range")
        names = [f.t(k) for k in head[1:at] if f.kind(k) == IDENT]
        if len(names) < 2:
            return None  # `for i := range xs`: the variable is the index
        return names[-1], head[at] + 1, j


def _split(f: GoFile, lo: int, hi: int, sep: str) -> List[Tuple[int, int]]:
    """Token ranges of [lo, hi) split at `sep` outside brackets."""
    out, start, i = [], lo, lo
    while i < hi:
        tok = f.toks[i]
        if tok.kind == OP and tok.text in "([{" and tok.text:
            i = f.close(i) + 1
            continue
        if tok.kind == OP and tok.text == sep:
            # A unary + or a + at a line start is still a binary +: Go has no line-leading +.
            out.append((start, i))
            start = i + 1
        i += 1
    out.append((start, hi))
    return [r for r in out if f.compact(*r)]


# Finding calls ----------------------------------------------------------------------------


def qualified_calls(f: GoFile, import_path: str, names: Sequence[str]) -> Iterator[Tuple[int, str, int]]:
    """(index of the package name, member, index of '(') of calls
    `pkg.Member(...)` where pkg is f's name for `import_path`."""
    alias = f.alias(import_path)
    if alias is None:
        return
    wanted = set(names)
    for i, tok in enumerate(f.toks):
        if tok.kind == IDENT and tok.text == alias and f.t(i + 1) == "." and f.t(i + 2) in wanted \
                and f.t(i + 3) == "(" and f.t(i - 1) != ".":
            yield i, f.t(i + 2), i + 3


def method_calls(f: GoFile, names: Sequence[str]) -> Iterator[Tuple[str, int, int]]:
    """(receiver text, index of the method name, index of '(') of `x.y.Name(`."""
    wanted = set(names)
    for i, tok in enumerate(f.toks):
        if tok.kind == IDENT and tok.text in wanted and f.t(i - 1) == "." and f.t(i + 1) == "(":
            yield receiver(f, i - 1), i, i + 1


def receiver(f: GoFile, dot: int) -> str:
    """The selector chain before the '.' at `dot` ("s.db" in `s.db.Exec`)."""
    parts = []
    j = dot - 1
    while j >= 0 and f.kind(j) == IDENT:
        parts.append(f.t(j))
        if f.t(j - 1) != ".":
            break
        j -= 2
    return ".".join(reversed(parts))


def composite_fields(f: GoFile, brace: int) -> Dict[str, Tuple[int, int, int]]:
    """`Key: value` items of the composite literal opening at `brace`:
    key -> (value lo, value hi, index of the key)."""
    out = {}
    for lo, hi in f.args(brace):
        idx = f.compact(lo, hi)
        if len(idx) >= 3 and f.kind(idx[0]) == IDENT and f.t(idx[1]) == ":":
            out[f.t(idx[0])] = (idx[2], hi, idx[0])
    return out
