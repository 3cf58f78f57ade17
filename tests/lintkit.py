"""Helpers for the linter tests: the catalogue in references/rules.md as data,
example folders written from SQL blocks, and linting in-process."""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from conftest import ROOT

import validate_pairs
from mwcore.lint import LintOptions, LintResult, lint_folder

RULES_MD = ROOT / "references" / "rules.md"
SECTIONS = ("What it does", "Why", "Example", "Use instead")

_HEADING = re.compile(r"^## (MW\d{3}) (\S+)\s*$", re.M)
_SUB = re.compile(r"^### (.+?)\s*$", re.M)
_SQL_BLOCK = re.compile(r"```sql folder\n(.*?)```", re.S)
_MARK = re.compile(r"^-- (file|link|lint-options): ?(.*)$")


@dataclass
class Entry:
    code: str
    name: str
    severity: str
    sections: Dict[str, str] = field(default_factory=dict)

    def sql(self, section: str) -> str:
        blocks = _SQL_BLOCK.findall(self.sections.get(section, ""))
        assert len(blocks) == 1, f"{self.code} {section}: expected one ```sql block, found {len(blocks)}"
        return blocks[0]


def catalogue(text: Optional[str] = None) -> Dict[str, Entry]:
    text = RULES_MD.read_text(encoding="utf-8") if text is None else text
    entries: Dict[str, Entry] = {}
    heads = list(_HEADING.finditer(text))
    for i, head in enumerate(heads):
        body = text[head.end(): heads[i + 1].start() if i + 1 < len(heads) else len(text)]
        severity = re.search(r"^Severity: (\w+)", body, re.M)
        entry = Entry(head.group(1), head.group(2), severity.group(1) if severity else "")
        subs = list(_SUB.finditer(body))
        for j, sub in enumerate(subs):
            entry.sections[sub.group(1)] = body[sub.end(): subs[j + 1].start() if j + 1 < len(subs) else len(body)].strip()
        entries[entry.code] = entry
    return entries


@dataclass
class Example:
    files: Dict[str, bytes] = field(default_factory=dict)
    links: Dict[str, str] = field(default_factory=dict)
    options: List[str] = field(default_factory=list)


def parse_example(sql: str) -> Example:
    example = Example()
    current: Optional[str] = None
    encoding = "utf-8"
    lines: List[str] = []

    def flush() -> None:
        if current is not None:
            example.files[current] = "".join(lines).encode(encoding)

    for line in sql.splitlines(keepends=True):
        mark = _MARK.match(line.rstrip("\n"))
        if mark is None:
            if current is None and line.strip():
                raise AssertionError(f"example text before any '-- file:' line: {line!r}")
            lines.append(line)
            continue
        kind, value = mark.groups()
        if kind == "lint-options":
            example.options.extend(shlex.split(value))
            continue
        flush()
        current, lines, encoding = None, [], "utf-8"
        if kind == "link":
            name, _, target = value.partition(" -> ")
            example.links[name.strip()] = target.strip()
        else:
            name = value.strip()
            if name.endswith(" (latin-1)"):
                name, encoding = name[: -len(" (latin-1)")], "latin-1"
            current = name
    flush()
    assert example.files or example.links, "an example needs at least one file"
    return example


def write_example(folder: Path, example: Example) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in example.files.items():
        (folder / name).write_bytes(data)
    for name, target in example.links.items():
        os.symlink(target, folder / name)
    return folder


def options_for(args: Sequence[str]) -> LintOptions:
    parsed = validate_pairs.build_parser().parse_args(list(args))
    options = validate_pairs.options_from_args(parsed)
    options.verify = True
    return options


def lint(folder: Path, *args: str) -> LintResult:
    """Lint in-process as `validate_pairs.py --dir folder ARGS` would."""
    return lint_folder(folder, options_for(args))


def lint_files(tmp_path: Path, files: Dict[str, str], *args: str) -> LintResult:
    folder = tmp_path / "migrations"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return lint(folder, *args)


def codes(result: LintResult) -> List[str]:
    return [f.code for f in result.findings]
