"""migrations.sum: a record of every migration file's bytes.

golang-migrate keeps no checksum, so a migration edited after it ran, or one
merged in below versions that already ran elsewhere, goes unnoticed. The sum
file records the SHA-256 of each migration file (in golang-migrate's order)
and a total that chains them, so any change to the files, or to the sum file
itself, shows. golang-migrate ignores the file: its name does not match the
migration pattern, and `//go:embed migrations/*.sql` does not include it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .errors import MigrationWriterError
from .folder import OUTSIDE_LINK_REASON, MigrationFile, MigrationFolder, link_leaves_folder, parse_name, printable

SUM_FILE = "migrations.sum"
HEADER = (
    "# migrations.sum, written by migration-writer (status.py --write-sum).\n"
    "# SHA-256 of each migration file. Regenerate after ADDING a migration;\n"
    "# never edit a migration that has run somewhere: add a new version instead.\n"
)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def chain_total(entries: List[Tuple[str, str]]) -> str:
    total = hashlib.sha256()
    for name, digest in entries:
        total.update(f"{name} {digest}\n".encode("utf-8", "surrogateescape"))
    return total.hexdigest()


def ordered_files(folder: MigrationFolder) -> List[MigrationFile]:
    """Migration files in golang-migrate's order: by version, up then down."""
    return [f for m in folder.migrations for f in (m.up, m.down) if f is not None]


def current_entries(folder: MigrationFolder, *, skip_outside_links: bool = False) -> List[Tuple[str, str]]:
    """(name, SHA-256) of each migration file. A symlink to a file outside
    the folder is never read: skipped, or refused (MigrationWriterError)."""
    entries = []
    for migration_file in ordered_files(folder):
        if link_leaves_folder(folder.file_path(migration_file)):
            if skip_outside_links:
                continue
            raise MigrationWriterError(f"{folder.file_path(migration_file)} {OUTSIDE_LINK_REASON}")
        try:
            entries.append((migration_file.name, file_digest(folder.file_path(migration_file))))
        except OSError as exc:
            raise MigrationWriterError(f"{folder.file_path(migration_file)}: cannot read ({exc.strerror or exc}).") from None
    return entries


def render(entries: List[Tuple[str, str]]) -> str:
    lines = [HEADER, f"total {chain_total(entries)}\n"]
    lines.extend(f"{name} {digest}\n" for name, digest in entries)
    return "".join(lines)


@dataclass
class SumFile:
    entries: List[Tuple[str, str]]
    total: Optional[str]
    problems: List[str] = field(default_factory=list)  # malformed lines


def read_sum(path: Path) -> Optional[SumFile]:
    """The parsed sum file, or None when there is none."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise MigrationWriterError(f"{path}: cannot read ({exc.strerror or exc}).") from None
    text = data.decode("utf-8", "surrogateescape")
    parsed = SumFile(entries=[], total=None)
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r")
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, digest = line.rpartition(" ")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            parsed.problems.append(f"{SUM_FILE}:{number}: not a 'NAME SHA256' line")
        elif name == "total":
            parsed.total = digest
        else:
            parsed.entries.append((name, digest))
    return parsed


@dataclass(frozen=True)
class SumFinding:
    kind: str  # edited, removed, renamed, out_of_order, new, tampered, malformed
    name: str
    message: str

    @property
    def is_error(self) -> bool:
        return self.kind != "new"


@dataclass
class SumCheck:
    present: bool
    findings: List[SumFinding] = field(default_factory=list)
    states: Dict[str, str] = field(default_factory=dict)  # file name -> ok/edited/new/out_of_order/renamed

    @property
    def errors(self) -> List[SumFinding]:
        return [f for f in self.findings if f.is_error]


def check(folder: MigrationFolder) -> SumCheck:
    """Compare the folder with its migrations.sum (if it has one)."""
    recorded = read_sum(folder.path / SUM_FILE)
    if recorded is None:
        return SumCheck(present=False)
    result = SumCheck(present=True)
    for problem in recorded.problems:
        result.findings.append(SumFinding("malformed", SUM_FILE, problem))
    if recorded.total is None or recorded.total != chain_total(recorded.entries):
        result.findings.append(SumFinding(
            "tampered", SUM_FILE,
            f"{SUM_FILE} does not match its own total line: it was edited by hand or merged badly; "
            "regenerate it from a trusted checkout."))
    current = dict(current_entries(folder, skip_outside_links=True))
    unread = set(folder.outside_links)  # validate_pairs reports them (MW015)
    for name in unread:
        result.states[name] = "not read"
    summed = dict(recorded.entries)
    by_digest: Dict[str, List[str]] = {}
    for name, digest in current.items():
        by_digest.setdefault(digest, []).append(name)
    summed_versions = [p.version for p in (parse_name(n) for n in summed) if p is not None]
    highest = max(summed_versions) if summed_versions else None
    renamed_to = set()
    for name, digest in recorded.entries:
        if name in unread:
            continue
        if name in current:
            if current[name] == digest:
                result.states[name] = "ok"
                continue
            hint = _line_ending_hint(folder.path / name, digest)
            result.states[name] = "edited"
            result.findings.append(SumFinding(
                "edited", name,
                f"{printable(name)} changed since it was summed{hint}; databases that already ran it will not run it "
                "again. Restore it and put the change in a new migration."))
            continue
        moved = [n for n in by_digest.get(digest, []) if n not in summed]
        if moved:
            renamed_to.add(moved[0])
            result.states[moved[0]] = "renamed"
            result.findings.append(SumFinding(
                "renamed", name,
                f"{printable(name)} was renamed to {printable(moved[0])}; a renamed version runs again (or never) "
                "on databases that already ran it. Restore the old name."))
        else:
            result.findings.append(SumFinding(
                "removed", name,
                f"{printable(name)} was removed since it was summed; a database at that version fails with "
                "'no migration found for version'. Restore it."))
    for name in current:
        if name in summed or name in renamed_to:
            continue
        parsed = parse_name(name)
        if highest is not None and parsed is not None and parsed.version <= highest:
            result.states[name] = "out_of_order"
            result.findings.append(SumFinding(
                "out_of_order", name,
                f"{printable(name)} is new but numbered at or below the highest summed version {highest} (as after a "
                "branch merge): databases already past it will never run it. Renumber it above every existing version."))
        else:
            result.states[name] = "new"
            result.findings.append(SumFinding(
                "new", name, f"{printable(name)} is not in {SUM_FILE} yet; run status.py --write-sum after adding it."))
    return result


def _line_ending_hint(path: Path, digest: str) -> str:
    data = path.read_bytes()
    for variant in (data.replace(b"\r\n", b"\n"), data.replace(b"\n", b"\r\n")):
        if hashlib.sha256(variant).hexdigest() == digest:
            return " (only its line endings changed: CRLF vs LF; check .gitattributes)"
    return ""


def write(folder: MigrationFolder, *, dry_run: bool = False) -> Tuple[Path, List[Tuple[str, str]], bool]:
    """Write or extend migrations.sum. Refuses (MigrationWriterError) when the
    existing sum shows edits, removals or out-of-order files: those need a
    decision, not a silent re-baseline. Returns (path, entries, changed)."""
    path = folder.path / SUM_FILE
    state = check(folder)
    blocking = state.errors
    if blocking:
        listing = "; ".join(f.message for f in blocking[:3])
        more = f" (and {len(blocking) - 3} more)" if len(blocking) > 3 else ""
        raise MigrationWriterError(
            f"{path} was not updated: {listing}{more}. To accept the current files as they are, delete {SUM_FILE} "
            "and run --write-sum again.")
    entries = current_entries(folder)
    text = render(entries)
    changed = not path.exists() or path.read_text(encoding="utf-8", errors="surrogateescape") != text
    if changed and not dry_run:
        _atomic_write(path, text)
    return path, entries, changed


def _atomic_write(path: Path, text: str) -> None:
    """Replace the sum file in one step, so it is never half-written."""
    fd, tmp = tempfile.mkstemp(prefix=".migrations.sum.", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
