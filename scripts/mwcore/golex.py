"""Just enough of Go's lexical structure to edit a Go file safely.

The test-stub generator must know which names a package already declares
(so it never defines one twice), which imports a file has, and where a
declaration starts and ends. Go's own tokens answer that: comments, string,
raw-string and rune literals are skipped as units, so a `func` inside a
string or comment is never mistaken for a declaration. Nothing here
type-checks; gofmt and the Go compiler remain the judges of the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

# Token kinds.
IDENT, STRING, NUMBER, OP, NEWLINE, COMMENT = "ident", "string", "number", "op", "newline", "comment"

_TOKEN_RE = re.compile(
    r"""
      (?P<newline>\n)
    | (?P<space>[ \t\r\f\v\ufeff]+)
    | (?P<comment>//[^\n]*|/\*.*?(?:\*/|\Z))
    | (?P<string>"(?:[^"\\\n]|\\.)*(?:"|$)|`[^`]*(?:`|\Z)|'(?:[^'\\\n]|\\.)*(?:'|$))
    | (?P<ident>[^\W\d]\w*)
    | (?P<number>\.?\d[\w.]*(?:[eEpP][+-][\w.]*)?)
    | (?P<op>\.\.\.|&\^=|<<=|>>=|:=|<-|&&|\|\||\+\+|--|==|!=|<=|>=|<<|>>|&\^|[-+*/%&|^]=|.)
    """,
    re.S | re.X | re.M,
)

# After one of these, a newline ends the statement (Go's semicolon rule).
_ENDS_STATEMENT_KEYWORDS = {"break", "continue", "fallthrough", "return"}
_ENDS_STATEMENT_OPS = {")", "]", "}", "++", "--"}
_OPENERS = {"(": ")", "[": "]", "{": "}"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int
    end: int


def tokenize(text: str, *, comments: bool = False) -> List[Token]:
    """Go tokens of `text` (spaces dropped; comments only when asked).

    Newlines are tokens: a newline inside a block comment or raw string is
    part of that token, as in Go."""
    out: List[Token] = []
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup or OP
        if kind == "space":
            continue
        if kind == COMMENT:
            if comments:
                out.append(Token(kind, match.group(), match.start(), match.end()))
            if "\n" in match.group():  # a multi-line comment acts like a newline
                out.append(Token(NEWLINE, "\n", match.end(), match.end()))
            continue
        out.append(Token(kind, match.group(), match.start(), match.end()))
    return out


def _ends_statement(token: Optional[Token]) -> bool:
    if token is None:
        return False
    if token.kind in (STRING, NUMBER):
        return True
    if token.kind == IDENT:
        return True  # keywords like `func` never end a line in valid Go except these:
    return token.text in _ENDS_STATEMENT_OPS


@dataclass(frozen=True)
class Decl:
    """One package-level declaration (a group declares several names)."""

    kind: str  # "func", "var", "const", "type"
    name: str
    start: int  # offset of the keyword (`func`, `var`, ...)
    end: int  # offset just past the declaration
    text: str  # the declaration's source, keyword to end


@dataclass(frozen=True)
class Import:
    name: Optional[str]  # the alias as written, None when there is none
    path: str
    start: int
    end: int

    @property
    def local_name(self) -> str:
        """The name the file uses for the package ("_" and "." included)."""
        return self.name if self.name is not None else default_package_name(self.path)


@dataclass
class GoFile:
    """The parts of a Go file the generator reads."""

    text: str
    package: Optional[str] = None
    package_end: int = 0  # offset just past the package clause's line
    imports: List[Import] = field(default_factory=list)
    import_decls: List[Tuple[int, int, bool]] = field(default_factory=list)  # (start, end, grouped)
    decls: List[Decl] = field(default_factory=list)

    def names(self) -> Dict[str, Decl]:
        return {d.name: d for d in self.decls if d.name != "_"}


def default_package_name(path: str) -> str:
    """The package name an import path usually has (golang convention)."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return path
    last = parts[-1]
    if re.fullmatch(r"v[0-9]+", last) and len(parts) > 1:
        last = parts[-2]
    last = re.sub(r"\.v[0-9]+$", "", last)
    if last.startswith("go-"):
        last = last[3:]
    if last.endswith("-go"):
        last = last[:-3]
    return re.sub(r"\W", "_", last)


def unquote_go_string(literal: str) -> str:
    if literal.startswith("`"):
        return literal[1:-1] if len(literal) > 1 and literal.endswith("`") else literal[1:]
    body = literal[1:-1] if len(literal) > 1 and literal.endswith('"') else literal[1:]
    try:
        return body.encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1").decode("utf-8")
    except (UnicodeDecodeError, UnicodeEncodeError):
        return body


def skip_group(tokens: List[Token], i: int) -> int:
    """Index just past the bracket group opening at tokens[i]."""
    depth = 0
    while i < len(tokens):
        text = tokens[i].text if tokens[i].kind == OP else ""
        if text in _OPENERS:
            depth += 1
        elif text in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def _statement_end(tokens: List[Token], i: int, limit: Optional[int] = None) -> int:
    """Index of the token ending the statement that goes on at tokens[i]
    (a newline or ';' at bracket depth 0 after a token that ends a line),
    or `limit` (default: the end)."""
    limit = len(tokens) if limit is None else limit
    previous: Optional[Token] = tokens[i - 1] if i > 0 else None
    while i < limit:
        token = tokens[i]
        if token.kind == OP and token.text in _OPENERS:
            i = skip_group(tokens, i)
            previous = tokens[i - 1]
            continue
        if token.kind == OP and token.text == ";":
            return i
        if token.kind == NEWLINE and _ends_statement(previous):
            return i
        if token.kind != NEWLINE:
            previous = token
        i += 1
    return limit


def parse_file(text: str) -> GoFile:
    """Package clause, imports and package-level declarations of a Go file."""
    tokens = tokenize(text)
    result = GoFile(text)
    i = 0
    n = len(tokens)

    def end_offset(index: int) -> int:
        return tokens[index - 1].end if index > 0 else 0

    while i < n:
        token = tokens[i]
        if token.kind != IDENT:
            i += 1
            continue
        word = token.text
        if word == "package" and i + 1 < n and tokens[i + 1].kind == IDENT and result.package is None:
            result.package = tokens[i + 1].text
            stop = _statement_end(tokens, i)
            result.package_end = tokens[stop].end if stop < n else len(text)
            i = stop
            continue
        if word == "import":
            i = _parse_import(tokens, i, result)
            continue
        if word == "func":
            i = _parse_func(tokens, i, text, result)
            continue
        if word in ("var", "const", "type"):
            i = _parse_spec_decl(tokens, i, text, result)
            continue
        # Anything else at the top level (stray tokens): skip one statement.
        i = _statement_end(tokens, i) + 1
    return result


def _parse_import(tokens: List[Token], i: int, result: GoFile) -> int:
    start = tokens[i].start
    j = i + 1
    if j < len(tokens) and tokens[j].kind == OP and tokens[j].text == "(":
        close = skip_group(tokens, j)
        specs = tokens[j + 1 : close - 1]
        name: Optional[str] = None
        for token in specs:
            if token.kind in (IDENT,) or (token.kind == OP and token.text in ("_", ".")):
                name = token.text
            elif token.kind == STRING:
                result.imports.append(Import(name, unquote_go_string(token.text), token.start, token.end))
                name = None
        end = tokens[close - 1].end
        result.import_decls.append((start, end, True))
        return close
    stop = _statement_end(tokens, i)
    name = None
    for token in tokens[i + 1 : stop]:
        if token.kind == IDENT or (token.kind == OP and token.text == "."):
            name = token.text
        elif token.kind == STRING:
            result.imports.append(Import(name, unquote_go_string(token.text), token.start, token.end))
    end = tokens[stop - 1].end if stop > i + 1 else tokens[i].end
    result.import_decls.append((start, end, False))
    return stop


def _parse_func(tokens: List[Token], i: int, text: str, result: GoFile) -> int:
    start = tokens[i].start
    j = i + 1
    is_method = j < len(tokens) and tokens[j].kind == OP and tokens[j].text == "("
    if is_method:
        j = skip_group(tokens, j)
    name = tokens[j].text if j < len(tokens) and tokens[j].kind == IDENT else None
    # The body is the first '{' at depth 0 after the parameters; skip (...) and [...] groups.
    k = j + 1
    while k < len(tokens):
        token = tokens[k]
        if token.kind == OP and token.text in ("(", "["):
            k = skip_group(tokens, k)
            continue
        if token.kind == OP and token.text == "{":
            # `struct{...}` / `interface{...}` in a result type are not the body.
            if k > 0 and tokens[k - 1].kind == IDENT and tokens[k - 1].text in ("struct", "interface"):
                k = skip_group(tokens, k)
                continue
            k = skip_group(tokens, k)
            break
        if token.kind == NEWLINE and _ends_statement(tokens[k - 1]):
            break  # a declaration without body (assembly)
        k += 1
    k = min(k, len(tokens))  # `func` as the last token of a file cut short
    end = tokens[k - 1].end if k > 0 else len(text)
    if name is not None and not is_method:
        result.decls.append(Decl("func", name, start, end, text[start:end]))
    return k


def _parse_spec_decl(tokens: List[Token], i: int, text: str, result: GoFile) -> int:
    kind = tokens[i].text
    start = tokens[i].start
    j = i + 1
    if j < len(tokens) and tokens[j].kind == OP and tokens[j].text == "(":
        close = skip_group(tokens, j)
        end = tokens[close - 1].end
        whole = text[start:end]
        at_spec_start = True
        k = j + 1
        while k < close - 1:
            token = tokens[k]
            if token.kind == NEWLINE or (token.kind == OP and token.text == ";"):
                at_spec_start = True
                k += 1
                continue
            if at_spec_start and token.kind == IDENT:
                result.decls.append(Decl(kind, token.text, start, end, whole))
                k += 1
                # `a, b = 1, 2` declares several names.
                while k + 1 < close and tokens[k].kind == OP and tokens[k].text == "," and tokens[k + 1].kind == IDENT:
                    result.decls.append(Decl(kind, tokens[k + 1].text, start, end, whole))
                    k += 2
                at_spec_start = False
                k = _statement_end(tokens, k, close - 1)
                continue
            at_spec_start = False
            k += 1
        return close
    stop = _statement_end(tokens, i)
    end = tokens[stop - 1].end if stop > i else tokens[i].end
    whole = text[start:end]
    k = i + 1
    if k < stop and tokens[k].kind == IDENT:
        result.decls.append(Decl(kind, tokens[k].text, start, end, whole))
        k += 1
        while k + 1 < stop and tokens[k].kind == OP and tokens[k].text == "," and tokens[k + 1].kind == IDENT:
            result.decls.append(Decl(kind, tokens[k + 1].text, start, end, whole))
            k += 2
    return stop


def normalize_decl(text: str) -> str:
    """A declaration's tokens joined by single spaces, comments dropped:
    two spellings that differ only in layout (gofmt's alignment) compare equal."""
    return " ".join(t.text for t in tokenize(text) if t.kind != NEWLINE)


_QUALIFIER_RE = re.compile(
    r"""//[^\n]*|/\*.*?(?:\*/|\Z)|"(?:[^"\\\n]|\\.)*"|`[^`]*`|'(?:[^'\\\n]|\\.)*'"""
    r"|(?<![\w.])([^\W\d]\w*)[ \t]*\.(?=[^\W\d])",
    re.S,
)


def used_qualifiers(text: str) -> List[str]:
    """Identifiers used as `name.x` (package qualifiers, or the first name of
    a selector chain), outside strings and comments."""
    return [m.group(1) for m in _QUALIFIER_RE.finditer(text) if m.group(1)]


def rename_identifiers(text: str, mapping: Dict[str, str]) -> str:
    """Rename identifier tokens (never text inside strings or comments).

    A name after '.' is a field or method, not ours: it is left alone."""
    if not mapping:
        return text
    out: List[str] = []
    last = 0
    previous: Optional[Token] = None
    for token in tokenize(text, comments=True):
        if token.kind == IDENT and token.text in mapping and not (
            previous is not None and previous.kind == OP and previous.text == "."
        ):
            out.append(text[last : token.start])
            out.append(mapping[token.text])
            last = token.end
        if token.kind not in (NEWLINE, COMMENT):
            previous = token
    out.append(text[last:])
    return "".join(out)


def package_name(text: str) -> Optional[str]:
    """The package name of a Go file (its clause may follow comments)."""
    head = re.sub(r"//[^\n]*|/\*.*?\*/", " ", text[:65536].lstrip("\ufeff"), flags=re.S)
    match = re.search(r"^\s*package\s+([^\W\d]\w*)", head, re.M)
    return match.group(1) if match else None
