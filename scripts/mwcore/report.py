"""Findings for a reader with a small context: grouped, capped, one shape
for every script.

An `Item` is one problem at one place. `group_items` merges the items of one
code and severity whose fix (and suggested SQL) is the same up to the place
(the file name, its version number): one `Group`, shown with the first
item's message, a count and its places. Output keeps to a
byte budget (`render_text`, `groups_json`); what does not fit is counted in
one closing line, and `verbose` lifts every cap. A fix text is printed once
per code. Suggested SQL (`Item.sql`) keeps its real newlines: in text it
follows its finding as indented lines, in JSON it is a string of its own.

`scope_notices` turns a scope's edited and removed shipped versions into the
one line each that every script prints (SKILL.md Rule 1).
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

ERROR, WARNING, INFO = "error", "warning", "info"
_RANK = {ERROR: 0, WARNING: 1, INFO: 2}

TEXT_BUDGET = 3200  # bytes of finding lines in text; the summary lines come on top (4 KB in all)
JSON_BUDGET = 3200  # bytes of the findings array in --json
SHOWN_PLACES = 3  # places listed on a grouped line (text)
JSON_PLACES = 5  # places listed per group (--json)
MESSAGE_LIMIT = 600  # characters of one message or fix (not verbose)
SQL_LIMIT = 1200  # characters of suggested SQL printed (not verbose)


class Item(NamedTuple):
    """One problem at one place."""

    code: str
    severity: str
    message: str
    fix: str
    path: str  # as printed
    line: int = 1
    col: int = 1
    sql: str = ""  # suggested SQL, verbatim (real newlines)

    @property
    def place(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


class Group(NamedTuple):
    items: Tuple[Item, ...]  # in the order they came

    @property
    def first(self) -> Item:
        return self.items[0]

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def code(self) -> str:
        return self.first.code

    @property
    def severity(self) -> str:
        return self.first.severity

    def as_json(self, places: Optional[int] = JSON_PLACES) -> dict:
        first = self.first
        out = {"code": first.code, "severity": first.severity, "message": first.message, "fix": first.fix,
               "places": [i.place for i in (self.items if places is None else self.items[:places])],
               "count": self.count}
        if first.sql:
            out["sql"] = first.sql
        return out


# Migration file names and "version N" are what makes one place's text differ
# from another's when the problem is the same.
_FILE_NAME = re.compile(r"\b[0-9]+_[^\s:;,()'\"`]*?\.(?:up|down)\.[A-Za-z0-9]+\b")
_VERSION = re.compile(r"\b(versions?) [0-9]+\b")


def _template(text: str) -> str:
    return _VERSION.sub(r"\1 N", _FILE_NAME.sub("FILE", text))


def same_cause(text: str) -> str:
    """`text` with its migration file names and version numbers blanked:
    two messages with the same result say the same thing about different
    places (verify groups its problems by it)."""
    return _template(text)


def group_items(items: Iterable[Item]) -> List[Group]:
    """Groups of items with the same code, severity, SQL and fix up to the
    place; errors first, then warnings, then notes, each in order of first
    appearance."""
    buckets: Dict[tuple, List[Item]] = {}
    for item in items:
        key = (item.code, item.severity, _template(item.fix), item.sql)
        buckets.setdefault(key, []).append(item)
    groups = [Group(tuple(found)) for found in buckets.values()]
    order = {id(g): n for n, g in enumerate(groups)}
    groups.sort(key=lambda g: (_RANK.get(g.severity, 3), order[id(g)]))
    return groups


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def severity_counts(items: Iterable) -> str:
    """'2 errors, 1 warning, 3 notes' (zero counts left out, notes last)."""
    counts = {ERROR: 0, WARNING: 0, INFO: 0}
    for item in items:
        counts[item.severity] = counts.get(item.severity, 0) + 1
    parts = []
    if counts[ERROR]:
        parts.append(_plural(counts[ERROR], "error"))
    if counts[WARNING]:
        parts.append(_plural(counts[WARNING], "warning"))
    if counts[INFO]:
        parts.append(_plural(counts[INFO], "note"))
    return ", ".join(parts) or "no findings"


def _group_lines(group: Group, fix_shown: bool, verbose: bool, places: int) -> List[str]:
    first = group.first
    limit = None if verbose else MESSAGE_LIMIT
    message = first.message if limit is None else _clip(first.message, limit)
    fix = ""
    if first.fix:
        fix = "; fix: as above" if fix_shown else "; fix: " + (first.fix if limit is None else _clip(first.fix, limit))
    also = ""
    if group.count > 1:
        others = group.items[1:]
        shown = others if verbose else others[:places]
        listed = ", ".join(f"{i.path}:{i.line}" for i in shown)
        more = len(others) - len(shown)
        also = f"; the same at {listed}" + (f" and {more} more (-v lists them)" if more else "")
    lines = [f"{first.place}: {first.severity}: {message}{fix}{also} [{first.code}]"]
    if first.sql:
        if verbose or len(first.sql) <= SQL_LIMIT:
            lines.extend("    " + text for text in first.sql.strip("\n").splitlines())
        else:
            lines.append(f"    ({first.sql.count(chr(10)) + 1} lines of SQL: -v prints them)")
    return lines


def render_text(groups: Sequence[Group], *, verbose: bool = False, budget: int = TEXT_BUDGET,
                places: int = SHOWN_PLACES) -> List[str]:
    """Lines for `groups` within `budget` bytes (unless verbose), then one
    line counting what did not fit."""
    out: List[str] = []
    used = 0
    fixes_shown = set()
    for index, group in enumerate(groups):
        key = (group.code, _template(group.first.fix))
        lines = _group_lines(group, key in fixes_shown, verbose, places)
        size = sum(len(line.encode("utf-8", "backslashreplace")) + 1 for line in lines)
        if not verbose and out and used + size > budget:
            rest = [item for g in groups[index:] for item in g.items]
            out.append(f"... and {_plural(len(rest), 'more finding')} ({severity_counts(rest)}) not shown: "
                       "-v lists them")
            break
        out.extend(lines)
        used += size
        fixes_shown.add(key)
    return out


def groups_json(groups: Sequence[Group], *, verbose: bool = False, budget: int = JSON_BUDGET) -> Tuple[List[dict], int]:
    """The groups as JSON objects within `budget` bytes (unless verbose), and
    the number of findings left out."""
    import json

    out: List[dict] = []
    used = 0
    for index, group in enumerate(groups):
        entry = group.as_json(None if verbose else JSON_PLACES)
        if not verbose:
            entry["message"] = _clip(entry["message"], MESSAGE_LIMIT)
            entry["fix"] = _clip(entry["fix"], MESSAGE_LIMIT)
        size = len(json.dumps(entry, ensure_ascii=False))
        if not verbose and out and used + size > budget:
            return out, sum(g.count for g in groups[index:])
        out.append(entry)
        used += size
    return out, 0


def versions_text(versions: Sequence[int]) -> str:
    """"version 5", "versions 5-7", or the first four and a count."""
    versions = list(versions)
    if len(versions) == 1:
        return f"version {versions[0]}"
    if versions == list(range(versions[0], versions[-1] + 1)):
        return f"versions {versions[0]}-{versions[-1]}"
    shown = ", ".join(str(v) for v in versions[:4])
    return f"versions {shown}" + (f" and {len(versions) - 4} more" if len(versions) > 4 else "")


def hidden_line(items: Sequence, versions: int) -> str:
    """The one line that stands for the findings of shipped versions."""
    errors = sum(1 for i in items if i.severity == ERROR)
    what = _plural(len(items), "finding") + (f" ({_plural(errors, 'error')})" if errors and errors != len(items) else "")
    return f"{what} in {_plural(versions, 'shipped migration')} not shown (--all lists them)"


class Notice(NamedTuple):
    """A line about a shipped version that changed (SKILL.md Rule 1)."""

    path: str
    severity: str
    message: str

    def text(self) -> str:
        return f"{self.path}: {self.severity}: {self.message}"

    def as_json(self) -> dict:
        return {"path": self.path, "severity": self.severity, "message": self.message}


def scope_notices(scope, folder, display=str) -> List[Notice]:
    """One notice per edited shipped version and per removed file (`scope`
    is a mwcore.scope.Scope, `folder` the MigrationFolder; `display` turns a
    file name into the path to print)."""
    out: List[Notice] = []
    base = scope.base or "the base"
    changed = scope.changed or frozenset()
    for version in sorted(scope.edited):
        migration = folder.find(version)
        if migration is None:
            continue
        names = [f.name for f in migration.files]
        touched = [n for n in names if n in changed] or names
        path = display(touched[0])
        if version in scope.cosmetic:
            out.append(Notice(path, INFO, f"version {version} is in {base} (it shipped); only comments or whitespace "
                                          "changed since, which databases that ran it do not notice"))
        else:
            # A warning, not an error: the edit is wrong when any database
            # applied the version, and right when it failed wherever it ran
            # (a dirty database being repaired); only the user knows which.
            out.append(Notice(path, WARNING, f"version {version} is in {base} (it shipped) and was changed since: "
                                             "databases that applied it keep the old version (golang-migrate never "
                                             "reruns it), so restore the file and put the change in a new migration "
                                             "(SKILL.md Rule 1); only if it failed wherever it ran (a dirty database "
                                             "being repaired) is the edit the fix"))
    for name in scope.removed:
        from .folder import parse_name

        parsed = parse_name(name)
        version = parsed.version if parsed else "?"
        out.append(Notice(display(name), ERROR,
                          f"deleted since {base}, and version {version} is gone: a database at that version fails "
                          f"every run with 'no migration found for version {version}'; restore the file"))
    return out


def _notice_groups(notices: Sequence[Notice]) -> List[List[Notice]]:
    """Notices by severity, errors first: every notice of one severity says
    the same thing about another file (scope_notices)."""
    by_severity: Dict[str, List[Notice]] = {}
    for notice in notices:
        by_severity.setdefault(notice.severity, []).append(notice)
    return [by_severity[s] for s in sorted(by_severity, key=lambda s: _RANK.get(s, 3))]


def notice_lines(notices: Sequence[Notice], *, verbose: bool = False, places: int = SHOWN_PLACES) -> List[str]:
    """Text lines for `notices`, one per severity: the first notice in full,
    then the other files, the first few unless verbose."""
    out = []
    for group in _notice_groups(notices):
        first, *others = group
        line = first.text()
        if others:
            shown = others if verbose else others[:places]
            more = len(others) - len(shown)
            line += (f" (the same for {', '.join(n.path for n in shown)}"
                     + (f" and {more} more: -v lists them)" if more else ")"))
        out.append(line)
    return out


def notices_json(notices: Sequence[Notice], *, verbose: bool = False, places: int = JSON_PLACES) -> List[dict]:
    """`notice_lines` for --json: one object per severity, the other files
    in `same` (the first `places` unless verbose) and `count` in all."""
    out = []
    for group in _notice_groups(notices):
        entry = group[0].as_json()
        others = [n.path for n in group[1:]]
        if others:
            entry["same"] = others if verbose else others[:places]
            entry["count"] = len(group)
        out.append(entry)
    return out
