"""The rule catalogue: every rule is one function registered with @rule.

A rule has a stable code (MWnnn), a kebab-case name, a default severity and
a scope: "folder" rules run once and get the folder `Context`; "file" rules
run once per migration file and get a `FileCheck`. A rule yields `Hit`s; the
engine turns them into `Finding`s. Adding a rule is adding one decorated
function to the module of its group (and its section in references/rules.md).

Code groups (the hundreds digit):
  MW0xx folder and file names    MW3xx table rebuilds and ALTER
  MW1xx SQL validity             MW4xx reversibility (up/down)
  MW2xx transactions             MW5xx data safety
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Set

from ..errors import UsageError

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)
FOLDER, FILE = "folder", "file"

GROUPS = {
    "0": "folder",
    "1": "sql",
    "2": "transactions",
    "3": "rebuilds",
    "4": "reversibility",
    "5": "safety",
}

_CODE = re.compile(r"MW\d{3}\Z")


@dataclass(frozen=True)
class Hit:
    """What a rule reports; the engine adds code, severity and path."""

    message: str
    hint: str = ""
    line: int = 1
    col: int = 1
    file: Optional[str] = None  # a file name in the folder; None: the file being checked
    severity: Optional[str] = None  # None: the rule's default
    sql: str = ""  # SQL the fix suggests, verbatim: printed as lines of their own, never flattened


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: str
    scope: str
    summary: str
    check: Callable[..., Iterable[Hit]]

    @property
    def group(self) -> str:
        return GROUPS[self.code[2]]


RULES: Dict[str, Rule] = {}


def rule(code: str, name: str, severity: str, scope: str = FILE) -> Callable:
    """Register a rule function; its docstring's first line is its summary."""
    if not _CODE.match(code) or code[2] not in GROUPS:
        raise ValueError(f"bad rule code {code!r}")
    if severity not in SEVERITIES or scope not in (FOLDER, FILE):
        raise ValueError(f"bad severity or scope for {code}")

    def register(func: Callable[..., Iterable[Hit]]) -> Callable[..., Iterable[Hit]]:
        if code in RULES:
            raise ValueError(f"rule code {code} registered twice")
        summary = (func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else name
        RULES[code] = Rule(code, name, severity, scope, summary, func)
        return func

    return register


def is_known(code: str) -> bool:
    return code.upper() in RULES


def expand_codes(text: Optional[str], option: str) -> Optional[Set[str]]:
    """Codes named by a --select/--ignore value: full codes (MW201), groups
    (MW2, MW2xx) or rule names (explicit-transaction), comma-separated."""
    if text is None:
        return None
    chosen: Set[str] = set()
    by_name = {r.name: r.code for r in RULES.values()}
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        if item in by_name:
            chosen.add(by_name[item])
            continue
        upper = item.upper()
        prefix = upper.rstrip("X")
        if not re.fullmatch(r"MW\d{0,3}", prefix):
            raise UsageError(f"{option} {item!r} is not a rule code, group (MW2xx) or rule name; see --list-rules.")
        matched = [code for code in RULES if code.startswith(prefix)]
        if not matched:
            raise UsageError(f"{option} {item!r} matches no rule; see --list-rules.")
        chosen.update(matched)
    return chosen


def sorted_rules() -> List[Rule]:
    return [RULES[c] for c in sorted(RULES)]
