"""golang-migrate file names, read independently of the skill's own code
(the grader must not judge the skill with the skill's parser).

golang-migrate v4.19.1 keeps a file when its whole name matches
`^([0-9]+)_(.*)\\.(down|up)\\.(.*)$`; the version is the digits as a uint64,
ordered numerically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Dict, List, Optional

NAME_RE = re.compile(r"([0-9]+)_(.*)\.(down|up)\.(.*)")
SNAKE_RE = re.compile(r"[a-z0-9]+(_[a-z0-9]+)*")
TIMESTAMP_DIGITS = 14


@dataclass(frozen=True)
class MigName:
    name: str
    version: int
    digits: str
    description: str
    direction: str
    ext: str


def parse(name: str) -> Optional[MigName]:
    m = NAME_RE.fullmatch(name)
    if not m or int(m.group(1)) >= 2**64:
        return None
    return MigName(name, int(m.group(1)), m.group(1), m.group(2), m.group(3), m.group(4))


def sql_migrations(folder: Path) -> List[MigName]:
    """The .sql migrations of a folder, by version then direction (up first)."""
    if not folder.is_dir():
        return []
    found = [p for p in (parse(e.name) for e in folder.iterdir() if e.is_file()) if p and p.ext == "sql"]
    return sorted(found, key=lambda m: (m.version, m.direction != "up", m.name))


def is_timestamp(digits: str) -> bool:
    if len(digits) != TIMESTAMP_DIGITS:
        return False
    try:
        datetime.strptime(digits, "%Y%m%d%H%M%S")
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class FolderStyle:
    """How a folder writes its versions: 14-digit timestamps, or sequence
    numbers padded to `width` digits (0 = unpadded)."""

    timestamp: bool
    width: int

    def describe(self) -> str:
        if self.timestamp:
            return "14-digit UTC timestamps"
        return f"{self.width}-digit padding" if self.width else "unpadded numbers"

    def formats(self, version: int) -> str:
        if self.width:
            return str(version).zfill(self.width)
        return str(version)


def folder_style(names: List[MigName]) -> FolderStyle:
    digits = [m.digits for m in names]
    if digits and all(is_timestamp(d) for d in digits):
        return FolderStyle(timestamp=True, width=TIMESTAMP_DIGITS)
    padded = [d for d in digits if len(d) > 1 and d.startswith("0")]
    if padded:
        return FolderStyle(timestamp=False, width=max(len(d) for d in padded))
    return FolderStyle(timestamp=False, width=0)


def by_version(names: List[MigName]) -> Dict[int, List[MigName]]:
    out: Dict[int, List[MigName]] = {}
    for m in names:
        out.setdefault(m.version, []).append(m)
    return out
