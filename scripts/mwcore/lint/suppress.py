"""Inline suppressions: `-- migration-writer: ignore CODE[,CODE] reason`.

A suppression comment sits on its own line. It covers the statement right
below its comment block (no blank line in between). In the comments at the
top of a file, separated from the first statement by a blank line, it
covers the whole file.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from ..sqltext import Statement

_DIRECTIVE = re.compile(r"^[ \t\ufeff]*--[ \t]*migration-writer[ \t]*:[ \t]*(?P<rest>.*?)[ \t\r]*$", re.M | re.I)
_IGNORE = re.compile(r"ignore(?:[ \t]+(?P<codes>[^ \t]+))?(?:[ \t]+(?P<reason>.*))?\Z", re.I)


@dataclass(frozen=True)
class Suppression:
    line: int
    codes: Tuple[str, ...]
    reason: str
    whole_file: bool
    first_line: int = 0  # lines of the statement covered (statement suppressions)
    last_line: int = 0

    def covers(self, code: str, line: int) -> bool:
        if code not in self.codes:
            return False
        return self.whole_file or self.first_line <= line <= self.last_line


@dataclass
class Directives:
    suppressions: List[Suppression] = field(default_factory=list)
    malformed: List[Tuple[int, str]] = field(default_factory=list)  # (line, text)

    def covers(self, code: str, line: int) -> Optional[Suppression]:
        for suppression in self.suppressions:
            if suppression.covers(code, line):
                return suppression
        return None


def parse(text: str, statements: List[Statement]) -> Directives:
    """Find the file's suppression comments (`statements` as split_statements gives)."""
    out = Directives()
    if "migration-writer" not in text and "MIGRATION-WRITER" not in text.upper():
        return out
    lines = text.split("\n")
    starts = [(s.line, s.end_line, s.offset) for s in statements]
    for match in _DIRECTIVE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        if _inside_statement(match.start(), statements):
            continue
        rest = match.group("rest")
        ignore = _IGNORE.match(rest)
        if ignore is None or not ignore.group("codes"):
            out.malformed.append((line, rest))
            continue
        codes = tuple(c.strip().upper() for c in ignore.group("codes").split(",") if c.strip())
        reason = (ignore.group("reason") or "").strip()
        following = next(((first, last) for first, last, _off in starts if first > line), None)
        if following is None:
            out.suppressions.append(Suppression(line, codes, reason, whole_file=True))
            continue
        first, last = following
        between = lines[line:first - 1]
        attached = all(_is_comment_line(l) for l in between)
        at_top = not starts or first == starts[0][0]
        if at_top and not attached:
            out.suppressions.append(Suppression(line, codes, reason, whole_file=True))
        else:
            out.suppressions.append(Suppression(line, codes, reason, whole_file=False, first_line=first, last_line=last))
    return out


def _is_comment_line(line: str) -> bool:
    stripped = line.strip(" \t\r\ufeff")
    return stripped.startswith("--")


def _inside_statement(offset: int, statements: List[Statement]) -> bool:
    """A directive inside a statement's text (e.g. a trigger body) is not one."""
    index = bisect.bisect_right([s.offset for s in statements], offset) - 1
    if index < 0:
        return False
    statement = statements[index]
    return offset < statement.offset + len(statement.sql)
