"""The project's own tests that expect the previous newest version.

When migration N is added, a hand-written test that migrates a database all
the way up and then asserts the version with a literal (`require.EqualValues(t,
4, v)`, `if version != 4`, `const latestVersion = 4`) starts failing. This
module finds such places in `_test.go` files so the assistant updates them,
and nothing else: a literal counts only when it equals the previous newest
version AND sits where a version is asserted or named:

- an equality assertion (testify's Equal/EqualValues/Exactly, gocheck and
  quicktest's Assert/Check, gomega's Equal with Expect) whose other argument
  is a version: a name containing "version", or a variable assigned from a
  call whose name contains "version" (`v, dirty, err := m.Version()`);
- a helper named like an assertion about a version (`requireVersion(t, db, 4)`);
- `==` / `!=` between a version and the literal;
- a constant or variable named for a version (`latestVersion = 4`), unless
  its name says it is an old one (first, initial, prev, base, legacy ...).

A test function that itself passes the literal to another call (it migrates
to that version on purpose: `m.Migrate(4)`, `mwMigrateTo(t, path, 4)`) is
not reported: its assertion stays true when a newer migration is added.
Tokens come from `golex`, so strings and comments never match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from .golex import IDENT, NEWLINE, NUMBER, OP, Token, skip_group, tokenize

MAX_TEST_FILE_BYTES = 2 * 1024 * 1024
MAX_TEST_FILES = 5000

_EQUAL_CALLS = {
    "Equal", "Equalf", "EqualValues", "EqualValuesf", "Exactly", "Exactlyf",  # testify (and suites)
    "Assert", "Check",  # gocheck c.Assert(v, Equals, 4), quicktest c.Assert(v, qt.Equals, 4)
    "Equals", "Eq", "BeEquivalentTo", "BeNumerically",
}
_EXPECT_CALLS = {"Expect", "Ω"}  # gomega: Expect(v).To(Equal(4))
_VERSION_ASSERT_HELPER = re.compile(r"(?i)(assert|require|check|expect|verify|must|ensure)\w*version")
_CONVERSIONS = {"uint", "uint64", "uint32", "uint16", "uint8", "int", "int64", "int32", "int16", "int8", "uintptr"}
_OLD_VERSION_WORDS = re.compile(r"(?i)first|initial|min|prev|old|base|legacy|from|start|before|down|orig")
_LATEST_WORDS = re.compile(r"(?i)latest|current|head|newest|last|final|max|expected|want")
# "version" in these names is not the schema's.
_OTHER_VERSIONS = re.compile(r"(?i)(go|sqlite|api|proto|tls|http|app|lib|driver|client|server|build|binary)_?version")


@dataclass(frozen=True)
class PinnedVersion:
    """One place in a test file that expects `version` as the newest."""

    path: Path
    line: int
    col: int  # 1-based column of the literal (in characters)
    code: str  # the source line, trimmed
    kind: str  # "assertion", "comparison" or "constant"
    expected: Optional[int] = None  # the version it expects as the newest


def is_version_name(name: str) -> bool:
    return "version" in name.lower() and not _OTHER_VERSIONS.search(name)


def go_int_literal(text: str) -> Optional[int]:
    """The value of a Go integer literal, or None (floats, imaginary, invalid)."""
    digits = text.replace("_", "")
    try:
        if digits[:2].lower() in ("0x", "0o", "0b"):
            return int(digits, 0)
        if len(digits) > 1 and digits.startswith("0"):
            return int(digits, 8)  # 010 is 8 in Go
        return int(digits, 10)
    except ValueError:
        return None


def _literal_at(tokens: Sequence[Token], lo: int, hi: int) -> Optional[Tuple[int, Token]]:
    """(value, number token) when tokens[lo:hi] is an integer literal, bare or
    converted (`4`, `uint(4)`, `int64(4)`)."""
    span = [t for t in tokens[lo:hi] if t.kind != NEWLINE]
    if len(span) == 4 and span[0].kind == IDENT and span[0].text in _CONVERSIONS and span[1].text == "(" and span[3].text == ")":
        span = [span[2]]
    if len(span) == 1 and span[0].kind == NUMBER:
        value = go_int_literal(span[0].text)
        return (value, span[0]) if value is not None else None
    return None


def _match_close(tokens: Sequence[Token], i: int) -> int:
    """Index of the bracket closing tokens[i] (the last token when it is
    never closed: a test file being edited)."""
    return skip_group(tokens, i) - 1


def _match_open(tokens: Sequence[Token], i: int) -> int:
    """Index of the bracket opening the one that tokens[i] closes (or -1)."""
    depth = 0
    for j in range(i, -1, -1):
        if tokens[j].kind == OP and tokens[j].text in ")]}":
            depth += 1
        elif tokens[j].kind == OP and tokens[j].text in "([{":
            depth -= 1
            if depth == 0:
                return j
    return -1


def _arguments(tokens: Sequence[Token], open_index: int) -> List[Tuple[int, int]]:
    """(start, end) token ranges of the arguments of the call whose '(' is at open_index."""
    close = _match_close(tokens, open_index)
    args, start, j = [], open_index + 1, open_index + 1
    while j < close:
        token = tokens[j]
        if token.kind == OP and token.text in "([{":
            j = _match_close(tokens, j) + 1
            continue
        if token.kind == OP and token.text == ",":
            args.append((start, j))
            start = j + 1
        j += 1
    if any(t.kind != NEWLINE for t in tokens[start:close]):
        args.append((start, close))
    return args


_KEYWORDS = {
    "break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough", "for", "func",
    "go", "goto", "if", "import", "interface", "map", "package", "range", "return", "select", "struct",
    "switch", "type", "var",
}
# Calls that only report: a literal passed to them is not a migration target.
_REPORTING_CALLS = {
    "Fatal", "Fatalf", "Error", "Errorf", "Log", "Logf", "Skip", "Skipf", "Print", "Printf", "Println",
    "Sprint", "Sprintf", "Sprintln", "Fprint", "Fprintf", "Fprintln", "New", "Helper",
}


class _Function:
    """One function body (a test, a helper, a suite method)."""

    def __init__(self, tokens: Sequence[Token], lo: int, hi: int) -> None:
        self.tokens, self.lo, self.hi = tokens, lo, hi
        self.version_vars: Set[str] = set()
        self._find_version_vars()

    def _find_version_vars(self) -> None:
        # `a, b, err := x.Version()`: every name left of := or = on a line whose
        # right side calls something named for a version.
        tokens = self.tokens
        for i in range(self.lo, self.hi):
            token = tokens[i]
            if token.kind != OP or token.text not in (":=", "="):
                continue
            j = i + 1
            calls_version = False
            while j < self.hi and tokens[j].kind != NEWLINE and tokens[j].text not in (";", "{"):
                if tokens[j].kind == IDENT and is_version_name(tokens[j].text) and j + 1 < self.hi and tokens[j + 1].text == "(":
                    calls_version = True
                j += 1
            if not calls_version:
                continue
            k = i - 1
            while k >= self.lo and tokens[k].kind != NEWLINE and tokens[k].text not in (";", "{", "}"):
                if tokens[k].kind == IDENT and tokens[k].text not in _KEYWORDS and tokens[k].text not in ("_", "err"):
                    self.version_vars.add(tokens[k].text)
                k -= 1

    def is_versionish(self, lo: int, hi: int) -> bool:
        """Whether tokens[lo:hi] is a version: `v`, `s.version`, `int(version)`, `getVersion(t, db)`."""
        span = [t for t in self.tokens[lo:hi] if t.kind != NEWLINE]
        if len(span) >= 4 and span[0].kind == IDENT and span[0].text in _CONVERSIONS and span[1].text == "(" and span[-1].text == ")":
            span = span[2:-1]
        names = []
        depth = 0
        for token in span:
            if token.kind == OP and token.text in "([{":
                depth += 1
            elif token.kind == OP and token.text in ")]}":
                depth -= 1
            elif depth > 0:
                continue
            elif token.kind == IDENT:
                names.append(token.text)
            elif not (token.kind == OP and token.text in (".", "*", "&")):
                return False  # an expression (`a + b`, a literal): not a plain version
        if not names:
            return False
        return names[0] in self.version_vars or any(is_version_name(n) for n in names)


def _function_ranges(tokens: Sequence[Token]) -> List[Tuple[int, int]]:
    """(first, past-last) token indexes of each top-level function or method,
    body included (function literals inside stay part of it)."""
    ranges = []
    i, n = 0, len(tokens)
    while i < n:
        token = tokens[i]
        if token.kind == IDENT and token.text == "func":
            k = i + 1
            while k < n:
                current = tokens[k]
                if current.kind == OP and current.text in "([":
                    k = _match_close(tokens, k) + 1
                    continue
                if current.kind == OP and current.text == "{":
                    if tokens[k - 1].kind == IDENT and tokens[k - 1].text in ("struct", "interface"):
                        k = _match_close(tokens, k) + 1
                        continue
                    end = _match_close(tokens, k) + 1
                    ranges.append((i, end))
                    k = end
                    break
                if current.kind == NEWLINE and tokens[k - 1].kind != OP:
                    break  # a declaration without a body
                k += 1
            i = max(k, i + 1)
            continue
        i += 1
    return ranges


def _callee(tokens: Sequence[Token], open_index: int) -> Optional[str]:
    before = tokens[open_index - 1] if open_index > 0 else None
    return before.text if before is not None and before.kind == IDENT else None


def _is_assertion(name: str) -> bool:
    return name in _EQUAL_CALLS or name in _EXPECT_CALLS or bool(_VERSION_ASSERT_HELPER.search(name))


def _bare_name(tokens: Sequence[Token], lo: int, hi: int) -> Optional[str]:
    span = [t for t in tokens[lo:hi] if t.kind != NEWLINE]
    if len(span) == 4 and span[0].text in _CONVERSIONS and span[1].text == "(" and span[3].text == ")":
        span = [span[2]]
    return span[0].text if len(span) == 1 and span[0].kind == IDENT else None


@dataclass
class _Scan:
    hits: List[Tuple[Token, str, Optional[str]]]  # (literal, kind, name of a constant or variable)
    passes_literal: bool  # the function hands the literal to a call of its own: it migrates there on purpose
    passed_names: Set[str]  # names handed whole to such calls


def _scan_function(fn: _Function, previous: int) -> _Scan:
    tokens = fn.tokens
    scan = _Scan([], False, set())
    for i in range(fn.lo, fn.hi):
        token = tokens[i]
        if token.kind == OP and token.text == "(":
            name = _callee(tokens, i)
            if name is None or name in _CONVERSIONS or name in _KEYWORDS:
                continue
            args = _arguments(tokens, i)
            assertion = _is_assertion(name)
            if not assertion and name not in _REPORTING_CALLS:
                scan.passed_names.update(n for n in (_bare_name(tokens, *a) for a in args) if n)
            matching = [(a, lit) for a, lit in ((a, _literal_at(tokens, *a)) for a in args) if lit is not None and lit[0] == previous]
            if not matching:
                continue
            if not assertion:
                scan.passes_literal = scan.passes_literal or name not in _REPORTING_CALLS
                continue
            others = [a for a in args if a not in [m[0] for m in matching]]
            if (_VERSION_ASSERT_HELPER.search(name) or any(fn.is_versionish(*a) for a in others)
                    or (len(args) == 1 and _gomega_subject_is_version(fn, i))):
                scan.hits.extend((lit[1], "assertion", None) for _, lit in matching)
        elif token.kind == OP and token.text in ("==", "!="):
            left = _operand_before(tokens, i, fn.lo)
            right = _operand_after(tokens, i, fn.hi)
            for lit_span, other in ((right, left), (left, right)):
                literal = _literal_at(tokens, *lit_span)
                if literal is not None and literal[0] == previous and fn.is_versionish(*other):
                    scan.hits.append((literal[1], "comparison", None))
        elif token.kind == OP and token.text in (":=", "="):
            scan.hits.extend(_named_version(tokens, i, fn.lo, fn.hi, previous))
    return scan


def _gomega_subject_is_version(fn: _Function, open_index: int) -> bool:
    """Expect(v).To(Equal(4)): the Expect call earlier on the same line has a version."""
    line = fn.tokens[open_index].start
    for j in range(open_index - 1, fn.lo - 1, -1):
        token = fn.tokens[j]
        if token.kind == NEWLINE and token.start < line:
            break
        if token.kind == IDENT and token.text in _EXPECT_CALLS and j + 1 < open_index and fn.tokens[j + 1].text == "(":
            args = _arguments(fn.tokens, j + 1)
            return bool(args) and fn.is_versionish(*args[0])
    return False


def _operand_before(tokens: Sequence[Token], i: int, lo: int) -> Tuple[int, int]:
    """The operand left of tokens[i]: `v`, `s.version`, `uint(4)`, `f(x).v`."""
    j = i - 1
    while j >= lo:
        token = tokens[j]
        if token.kind == OP and token.text in ")]":
            j = _match_open(tokens, j) - 1
            if j >= lo and tokens[j].kind == IDENT:
                j -= 1
        elif token.kind in (IDENT, NUMBER) and token.text not in _KEYWORDS:
            j -= 1
        else:
            break
        if j >= lo and tokens[j].kind == OP and tokens[j].text == ".":
            j -= 1
            continue
        break
    return max(j + 1, lo), i


def _operand_after(tokens: Sequence[Token], i: int, hi: int) -> Tuple[int, int]:
    """The operand right of tokens[i]."""
    j = i + 1
    while j < hi:
        token = tokens[j]
        if token.kind not in (IDENT, NUMBER) or token.text in _KEYWORDS:
            break
        j += 1
        while j < hi and tokens[j].kind == OP and tokens[j].text in "([":
            j = _match_close(tokens, j) + 1
        if j < hi and tokens[j].kind == OP and tokens[j].text == ".":
            j += 1
            continue
        break
    return i + 1, j


def _named_version(tokens: Sequence[Token], i: int, lo: int, hi: int, previous: int) -> List[Tuple[Token, str, Optional[str]]]:
    """`latestVersion = 4`, `wantVersion := uint(4)`, `const v uint = 4`."""
    j = i - 1
    if j >= lo and tokens[j].kind == IDENT and tokens[j].text in _CONVERSIONS:
        j -= 1  # const latestVersion uint = 4
    if j < lo or tokens[j].kind != IDENT:
        return []
    name = tokens[j].text
    if j - 1 >= lo and tokens[j - 1].kind == OP and tokens[j - 1].text in (".", ","):
        return []  # a field (`cfg.version = 4`) or one of several names
    if not is_version_name(name) or (_OLD_VERSION_WORDS.search(name) and not _LATEST_WORDS.search(name)):
        return []
    end = i + 1
    while end < hi and tokens[end].kind != NEWLINE and tokens[end].text not in (";", ")"):
        if tokens[end].kind == OP and tokens[end].text in "([{":
            end = _match_close(tokens, end) + 1
            continue
        end += 1
    literal = _literal_at(tokens, i + 1, end)
    if literal is not None and literal[0] == previous:
        return [(literal[1], "constant", name)]
    return []


def find_pins_in_text(text: str, previous: int) -> List[Tuple[int, int, str, str]]:
    """(line, col, kind, code) of each place in one Go file that expects
    `previous` as the newest version."""
    if str(previous) not in text and not re.search(r"\b0[0-7xXoObB]", text):
        return []  # no literal can equal it
    tokens = tokenize(text)
    ranges = _function_ranges(tokens)
    hits: List[Tuple[Token, str]] = []
    passed: Set[str] = set()
    for lo, hi in ranges:
        scan = _scan_function(_Function(tokens, lo, hi), previous)
        passed |= scan.passed_names
        if scan.passes_literal:
            continue
        hits.extend((tok, kind) for tok, kind, name in scan.hits if name is None or name not in scan.passed_names)
    # Package-level constants and variables: a name handed to a migration call
    # is a target, unless the name itself says it is the newest.
    inside = set()
    for lo, hi in ranges:
        inside.update(range(lo, hi))
    for i, token in enumerate(tokens):
        if i not in inside and token.kind == OP and token.text == "=":
            for tok, kind, name in _named_version(tokens, i, 0, len(tokens), previous):
                if name not in passed or _LATEST_WORDS.search(name or ""):
                    hits.append((tok, kind))
    out = []
    seen = set()
    for token, kind in sorted(hits, key=lambda h: h[0].start):
        if token.start in seen:
            continue
        seen.add(token.start)
        line_start = text.rfind("\n", 0, token.start) + 1
        line_end = text.find("\n", token.start)
        line_end = len(text) if line_end < 0 else line_end
        code = text[line_start:line_end].strip()
        if len(code) > 100:
            code = code[:97] + "..."
        out.append((text.count("\n", 0, token.start) + 1, token.start - line_start + 1, kind, code))
    return out


def _test_files(module_root: Path) -> Iterable[Path]:
    """_test.go files of the module (not of nested modules, vendor/ or testdata/)."""
    from .project import walk  # the folders every script reads

    nested: List[Path] = []
    count = 0
    for folder, names in walk(module_root):
        if folder != module_root and "go.mod" in names:
            nested.append(folder)
        if any(folder == n or n in folder.parents for n in nested):
            continue
        for name in sorted(names):
            if name.endswith("_test.go"):
                count += 1
                if count > MAX_TEST_FILES:
                    return
                yield folder / name


def find_pinned_versions(module_root: Path, previous: int, *, texts: Optional[Dict[Path, str]] = None) -> List[PinnedVersion]:
    """Every place in the module's tests that expects `previous` as the newest
    version. `texts` overrides what is on disk (a file about to be written)."""
    texts = {p.resolve(): t for p, t in (texts or {}).items()}
    found: List[PinnedVersion] = []
    paths = list(_test_files(module_root))
    paths += [p for p in texts if p not in {q.resolve() for q in paths}]
    for path in paths:
        text = texts.get(path.resolve())
        if text is None:
            try:
                if path.stat().st_size > MAX_TEST_FILE_BYTES:
                    continue
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
        text = text.lstrip("\ufeff").replace("\r\n", "\n")
        for line, col, kind, code in find_pins_in_text(text, previous):
            found.append(PinnedVersion(path, line, col, code, kind, previous))
    return found

