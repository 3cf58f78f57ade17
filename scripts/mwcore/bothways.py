"""When the Go source cannot tell whether foreign keys are enforced while
migrating, run the check with enforcement off AND on and report both.

Only the outcome matters: where both runs agree, one verdict is reported;
where they differ, each differing problem says under which enforcement it
happens, so the assistant can settle it (--foreign-keys on|off) or write SQL
that is right either way. A folder without REFERENCES behaves the same
either way and is run once.
"""

from __future__ import annotations

from typing import List, Mapping

from .sqltext import tokens

OFF_PREFIX = "with foreign keys off while migrating: "
ON_PREFIX = "with foreign keys on while migrating: "


def enforcement_matters(texts: Mapping[str, str]) -> bool:
    """Whether any file declares a foreign key (REFERENCES): without one,
    enforcement changes nothing."""
    for text in texts.values():
        if "references" not in text.lower():
            continue
        if any(kind == "word" and word.lower() == "references" for kind, word in tokens(text)):
            return True
    return False


_RANK = {"ok": 0, "skipped": 1, "data-dependent": 2, "missing": 3, "differs": 4, "failed": 5}


def merge_replays(off, on):
    """One ReplayReport from two replays of the same chain (foreign keys off,
    then on): the worse status per check, each problem that only one run
    has marked with its enforcement."""
    from .replay import CHECKS, Problem

    by_version = {s.version: s for s in on.steps}
    for step in off.steps:
        other = by_version.get(step.version)
        if other is None:
            continue
        for check in CHECKS:
            mine, theirs = getattr(step, check), getattr(other, check)
            if _RANK.get(theirs, 0) > _RANK.get(mine, 0):
                setattr(step, check, theirs)
        step.warnings = _merged(step.warnings, other.warnings, Problem)
        seen = {p.key() for p in step.prechecks}
        step.prechecks += [p for p in other.prechecks if p.key() not in seen]
        mine = {str(p) for p in step.problems}
        theirs = {str(p) for p in other.problems}
        if mine == theirs:
            continue
        step.problems = _merged(step.problems, other.problems, Problem)
        if not step.roundtrip_diff and other.roundtrip_diff:
            step.roundtrip_diff = other.roundtrip_diff
        if not step.reup_diff and other.reup_diff:
            step.reup_diff = other.reup_diff
        step.stops_here = step.stops_here or other.stops_here
        for note in other.notes:
            if note not in step.notes:
                step.notes.append(note)
    if off.stop is None and on.stop is not None:
        off.stop = on.stop
    if off.blocked is None and on.blocked is not None:
        off.blocked = ON_PREFIX + on.blocked
    off.restores += on.restores
    for note in on.notes:
        if note not in off.notes:
            off.notes.append(note)
    return off


def _merged(off: List, on: List, cls) -> List:
    """Problems of both runs, once each; one only a run has says which."""
    mine, theirs = {str(p) for p in off}, {str(p) for p in on}
    merged: List = [p if str(p) in theirs else cls(p.check, OFF_PREFIX + p.message, p.file, p.line) for p in off]
    merged += [cls(p.check, ON_PREFIX + p.message, p.file, p.line) for p in on if str(p) not in mine]
    return merged


def merge_lint(off, on):
    """One LintResult from two lint runs (foreign keys off, then on)."""
    from .lint.engine import Finding

    def key(f):
        return (f.code, f.file, f.line, f.col, f.message)

    theirs = {key(f) for f in on.findings}
    mine = {key(f) for f in off.findings}
    merged = []
    for finding in off.findings:
        merged.append(finding if key(finding) in theirs else _prefixed(Finding, finding, OFF_PREFIX))
    for finding in on.findings:
        if key(finding) not in mine:
            merged.append(_prefixed(Finding, finding, ON_PREFIX))
    from .folder import go_sort_key

    order = {name: index for index, name in enumerate(sorted({f.file for f in merged}, key=go_sort_key))}
    merged.sort(key=lambda f: (order[f.file], f.line, f.col, f.code))
    off.findings = merged
    off.suppressed = max(off.suppressed, on.suppressed)
    off.referenced_drop = off.referenced_drop or on.referenced_drop
    seen = set(off.shipped_failures)
    off.shipped_failures += [f for f in on.shipped_failures if f not in seen]
    return off


def _prefixed(cls, finding, prefix: str):
    return cls(finding.code, finding.name, finding.severity, finding.file, finding.line, finding.col,
               prefix + finding.message, finding.hint, finding.sql)
