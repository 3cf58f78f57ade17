"""SQL text as SQLite reads it: statement boundaries and a canonical form.

Boundaries come from SQLite itself (`sqlite3.complete_statement`), asked only
at semicolons that stand outside quotes and comments; that is how a trigger
body's inner semicolons stay inside its CREATE TRIGGER. The canonical form
(`normalize_sql`) lets two spellings of the same schema object compare equal:
whitespace, comments, keyword case and identifier quoting do not matter.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Iterator, List, Tuple

# SQLite's whitespace (sqlite3Isspace: space, \\t \\n \\v \\f \\r), plus the byte-order
# mark, which SQLite's tokenizer also skips.
SQL_SPACE = " \t\n\v\f\r\ufeff"

_SINGLE = r"'[^']*(?:''[^']*)*(?:'|\Z)"
_DOUBLE = r'"[^"]*(?:""[^"]*)*(?:"|\Z)'
_BACKTICK = r"`[^`]*(?:``[^`]*)*(?:`|\Z)"
_BRACKET = r"\[[^\]]*(?:\]|\Z)"
_COMMENT = r"--[^\n]*|/\*.*?(?:\*/|\Z)"

# Coarse scanner for splitting: long runs of ordinary text are one match, so
# a 50 MB file costs one regex pass, not one Python step per token.
_CHUNK_RE = re.compile(
    rf"""
      (?P<plain>[^;'"`\[\-/]+)
    | (?P<comment>{_COMMENT})
    | (?P<quoted>{_SINGLE}|{_DOUBLE}|{_BACKTICK}|{_BRACKET})
    | (?P<semi>;)
    | (?P<other>[-/])
    """,
    re.S | re.X,
)

# A word starts with a letter, '_' or any non-ASCII character and goes on
# with those, digits and '$'. Written as negated ASCII classes (the same set
# as [A-Za-z_\u0080-\U0010ffff], checked over every code point): the range
# form takes about 4 ms to compile, on every run of every script.
_TOKEN_RE = re.compile(
    rf"""
      (?P<space>[ \t\n\v\f\r]+)
    | (?P<comment>{_COMMENT})
    | (?P<string>[xX]?{_SINGLE})
    | (?P<ident>{_DOUBLE}|{_BACKTICK}|{_BRACKET})
    | (?P<number>0[xX][0-9a-fA-F_]+|(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9]+)?)
    | (?P<word>[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f][^\x00-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]*)
    | (?P<param>[?:@$][A-Za-z0-9_]*)
    | (?P<op>\|\||<<|>>|<=|>=|==|!=|<>|->>|->|.)
    """,
    re.S | re.X,
)

_BARE_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")


@dataclass(frozen=True)
class Statement:
    """One statement of a file, located the way an editor shows it (1-based)."""

    sql: str  # from its first token through its terminating ';' (if any)
    offset: int  # character offset of the first token in the file text
    line: int
    col: int
    end_line: int

    @property
    def keyword(self) -> str:
        """The statement's first word in upper case (CREATE, DROP, ...)."""
        for kind, text in tokens(self.sql):
            if kind == "word":
                return text.upper()
            return text
        return ""


def split_statements(text: str) -> List[Statement]:
    """Split a migration file into the statements SQLite would run, in order.

    Comments and blank space between statements belong to no statement; a
    trailing statement without ';' is still a statement (the driver runs it).
    """
    statements: List[Statement] = []
    start = None  # offset of the current statement's first token
    line_base, line_pos = 1, 0  # incremental line counting

    def locate(pos: int) -> Tuple[int, int]:
        nonlocal line_base, line_pos
        line_base += text.count("\n", line_pos, pos)
        line_pos = pos
        return line_base, pos - (text.rfind("\n", 0, pos) + 1) + 1

    def close(end: int) -> None:
        nonlocal start
        assert start is not None
        line, col = locate(start)
        end_line = line + text.count("\n", start, end)
        statements.append(Statement(text[start:end], start, line, col, end_line))
        start = None

    for match in _CHUNK_RE.finditer(text):
        kind = match.lastgroup
        if kind == "comment":
            continue
        if kind == "plain":
            if start is None:
                stripped = match.group().lstrip(SQL_SPACE)
                if stripped:
                    start = match.end() - len(stripped)
            continue
        if kind == "semi":
            if start is None:
                continue  # a lone ';' is an empty statement: nothing runs
            # complete_statement refuses NUL characters; they do not decide completeness.
            if sqlite3.complete_statement(text[start:match.end()].replace("\x00", " ")):
                close(match.end())
            continue
        if start is None:
            start = match.start()
    if start is not None:
        end = len(text.rstrip(SQL_SPACE))
        close(end)
    return statements


def tokens(sql: str) -> Iterator[Tuple[str, str]]:
    """Yield (kind, text) for every token except spaces and comments."""
    for match in _TOKEN_RE.finditer(sql):
        kind = match.lastgroup
        if kind in ("space", "comment"):
            continue
        yield kind or "op", match.group()


def token_spans(sql: str) -> Iterator[Tuple[str, str, int, int]]:
    """Like `tokens`, with each token's start and end offset in `sql`, so a
    caller can cut the original text (spacing and comments kept) between two
    tokens."""
    for match in _TOKEN_RE.finditer(sql):
        kind = match.lastgroup
        if kind in ("space", "comment"):
            continue
        yield kind or "op", match.group(), match.start(), match.end()


def unquote_identifier(text: str) -> str:
    """The name an identifier token denotes ("a""b" -> a"b, [x] -> x)."""
    if not text:
        return text
    first = text[0]
    if first == "[":
        return text[1:-1] if text.endswith("]") else text[1:]
    if first in "\"`":
        body = text[1:-1] if len(text) > 1 and text.endswith(first) else text[1:]
        return body.replace(first * 2, first)
    return text


def quote_identifier(name: str) -> str:
    """Quote a name for SQL so any characters and keywords are safe."""
    return '"' + name.replace('"', '""') + '"'


def normalize_sql(sql: str) -> str:
    """Canonical text of a statement for comparing two schemas.

    Words are lower-cased, quoted identifiers that need no quotes lose them,
    comments and spacing vanish; string literals and numbers stay as written.
    """
    out = []
    for kind, text in tokens(sql):
        if kind == "word":
            out.append(text.lower())
        elif kind == "ident":
            name = unquote_identifier(text)
            out.append(name.lower() if _BARE_IDENT.match(name) else quote_identifier(name.lower()))
        else:
            out.append(text)
    # A trailing ';' is not part of what sqlite_master stores.
    while out and out[-1] == ";":
        out.pop()
    return " ".join(out)


def is_blank(sql_text: str) -> bool:
    """True when the text holds no statement at all (only spaces/comments/;)."""
    return not split_statements(sql_text)
