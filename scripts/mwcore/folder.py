"""A migrations folder exactly as golang-migrate's source drivers see it.

golang-migrate (source/parse.go, source/iofs) lists the folder once, skips
sub-folders, and keeps a file when its whole name matches
``^([0-9]+)_(.*)\\.(down|up)\\.(.*)$`` and the digits fit in a uint64. Every
other name is skipped silently; that is how a typo makes a migration that
never runs, so this model also records such near misses.

Only the folder listing is read here: no file is opened, so scanning a folder
of 10,000 pairs stays cheap.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Tuple

from .errors import FileReadError, FolderError

# golang-migrate v4 source.Regex, applied with fullmatch: Go's `$` (no
# multiline flag) and Python's fullmatch both stop at the very end, and `.`
# matches no newline in either.
MIGRATION_NAME_RE = re.compile(r"([0-9]+)_(.*)\.(down|up)\.(.*)")
UINT64_MAX = 2**64 - 1
UP, DOWN = "up", "down"


class MigrationFile(NamedTuple):
    """One file golang-migrate treats as a migration (a tuple: 10,000 of them
    are built on every scan, and tuples are cheap)."""

    name: str
    version: int
    version_text: str  # the digits as written in the name ("000007")
    description: str
    direction: str  # "up" or "down"
    ext: str  # what follows ".up." / ".down."
    is_symlink: bool = False


@dataclass
class Migration:
    """One version: its up file, its down file, either may be missing."""

    version: int
    up: Optional[MigrationFile] = None
    down: Optional[MigrationFile] = None

    @property
    def files(self) -> List[MigrationFile]:
        return [f for f in (self.up, self.down) if f is not None]

    @property
    def version_text(self) -> str:
        return self.files[0].version_text

    @property
    def name(self) -> str:
        """The description, as the up file spells it (else the down's)."""
        return self.files[0].description

    def file(self, direction: str) -> Optional[MigrationFile]:
        return self.up if direction == UP else self.down


@dataclass(frozen=True)
class Duplicate:
    """Two or more files with one version and direction (golang-migrate refuses
    to open such a folder: ``duplicate migration file: NAME``)."""

    version: int
    direction: str
    names: Tuple[str, ...]  # sorted; golang-migrate fails naming the second


@dataclass(frozen=True)
class NearMiss:
    """A file that looks meant as a migration but golang-migrate skips."""

    name: str
    reason: str


@dataclass
class MigrationFolder:
    """The model every script works on."""

    path: Path
    ext: str = "sql"
    migrations: List[Migration] = field(default_factory=list)
    duplicates: List[Duplicate] = field(default_factory=list)
    near_misses: List[NearMiss] = field(default_factory=list)
    # Names that match golang-migrate's pattern but not "*.<ext>": a file://
    # source reads them, `//go:embed migrations/*.sql` leaves them out.
    other_ext: List[MigrationFile] = field(default_factory=list)
    # Every non-directory name in the folder, sorted as Go sorts (bytes).
    names: List[str] = field(default_factory=list)
    # Names that are broken symlinks or symlinks to folders.
    bad_links: List[str] = field(default_factory=list)

    @property
    def versions(self) -> List[int]:
        return [m.version for m in self.migrations]

    def find(self, version: int) -> Optional[Migration]:
        for migration in self.migrations:
            if migration.version == version:
                return migration
        return None

    def previous(self, version: int) -> Optional[int]:
        """The version before `version` in the source, or None (NilVersion)."""
        earlier = [v for v in self.versions if v < version]
        return earlier[-1] if earlier else None

    def file_path(self, migration_file: MigrationFile) -> Path:
        return self.path / migration_file.name

    def all_files(self) -> List[MigrationFile]:
        return [f for m in self.migrations for f in m.files]


def go_sort_key(name: str) -> bytes:
    """Go sorts directory entries by their bytes; so do we. (For ASCII names
    plain string order is the same and much cheaper.)"""
    return name.encode("utf-8", "surrogateescape")


def parse_name(name: str) -> Optional[MigrationFile]:
    """The migration a file name denotes, or None when golang-migrate skips it."""
    match = MIGRATION_NAME_RE.fullmatch(name)
    if match is None:
        return None
    digits, description, direction, ext = match.groups()
    version = int(digits)
    if version > UINT64_MAX:
        return None
    return MigrationFile(name, version, digits, description, direction, ext)


_LEADING_DIGITS = re.compile(r"[0-9]+")
_DIRECTION_ANY_CASE = re.compile(r"\.(up|down)\.", re.I)


def near_miss_reason(name: str, ext: str = "sql") -> Optional[str]:
    """Why a skipped name looks like a migration that will never run, or None."""
    lower = name.lower()
    has_direction = bool(_DIRECTION_ANY_CASE.search(name)) or lower.endswith((".up", ".down"))
    has_ext = lower.endswith("." + ext.lower())
    digits = _LEADING_DIGITS.match(name)
    if not (has_direction or (digits and has_ext)):
        return None
    match = MIGRATION_NAME_RE.fullmatch(name)
    if match is not None and int(match.group(1)) > UINT64_MAX:
        return "its version does not fit in uint64, so golang-migrate skips it"
    if digits is None:
        return "it does not start with a version number, so golang-migrate skips it"
    rest = name[digits.end():]
    if not rest.startswith("_"):
        sep = rest[:1] or "nothing"
        return f"the version is followed by {sep!r} instead of '_', so golang-migrate skips it"
    if re.search(r"\.(up|down)\.", name, re.I) and not re.search(r"\.(up|down)\.", name):
        return "'.up.'/'.down.' must be lower case, so golang-migrate skips it"
    if lower.endswith((".up", ".down")):
        return "nothing follows '.up'/'.down' (it needs an extension such as '.sql'), so golang-migrate skips it"
    if "\n" in name:
        return "the name contains a newline, so golang-migrate skips it"
    return "it has no '.up.' or '.down.' part, so golang-migrate skips it"


def scan_folder(path: os.PathLike, ext: str = "sql") -> MigrationFolder:
    """List `path` once and build the folder model. Raises FolderError."""
    folder_path = Path(path)
    try:
        with os.scandir(folder_path) as entries:
            # is_dir/is_symlink come from the listing itself (no stat call).
            listing = [(e.name, "file" if not e.is_symlink() and not e.is_dir(follow_symlinks=False) else _entry_kind(e))
                       for e in entries]
    except FileNotFoundError:
        raise FolderError(f"{folder_path}: no such folder.") from None
    except NotADirectoryError:
        raise FolderError(f"{folder_path}: is a file, not a folder.") from None
    except PermissionError:
        raise FolderError(f"{folder_path}: permission denied while listing the folder.") from None
    except OSError as exc:
        raise FolderError(f"{folder_path}: cannot list the folder ({exc.strerror or exc}).") from None

    folder = MigrationFolder(path=folder_path, ext=ext)
    by_key: Dict[Tuple[int, str], List[MigrationFile]] = {}
    suffix = "." + ext
    listing.sort()
    if not all(name.isascii() for name, _ in listing):
        listing.sort(key=lambda item: go_sort_key(item[0]))
    for name, kind in listing:
        if kind == "dir":
            continue
        folder.names.append(name)
        parsed = parse_name(name)
        if parsed is None:
            reason = near_miss_reason(name, ext)
            if reason is not None:
                folder.near_misses.append(NearMiss(name, reason))
            continue
        if kind == "badlink":
            folder.bad_links.append(name)
            continue
        if kind == "link":
            parsed = parsed._replace(is_symlink=True)
        if not name.endswith(suffix):
            folder.other_ext.append(parsed)
            continue
        by_key.setdefault((parsed.version, parsed.direction), []).append(parsed)

    migrations: Dict[int, Migration] = {}
    for (version, direction), files in by_key.items():
        migration = migrations.get(version)
        if migration is None:
            migration = migrations[version] = Migration(version)
        # golang-migrate keeps the first name it lists and fails on the next.
        setattr(migration, direction, files[0])
        if len(files) > 1:
            folder.duplicates.append(Duplicate(version, direction, tuple(f.name for f in files)))
    folder.migrations = [migrations[v] for v in sorted(migrations)]
    folder.duplicates.sort(key=lambda d: (d.version, d.direction))
    return folder


def _entry_kind(entry: os.DirEntry) -> str:
    try:
        if entry.is_symlink():
            try:
                target = os.stat(entry.path)
            except OSError:
                return "badlink"
            return "badlink" if stat.S_ISDIR(target.st_mode) else "link"
        return "dir" if entry.is_dir(follow_symlinks=False) else "file"
    except OSError:
        return "file"


# Reading file contents -----------------------------------------------------

MAX_SQL_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class SqlText:
    """A migration file's text as golang-migrate hands it to SQLite."""

    text: str
    has_bom: bool
    has_crlf: bool
    size: int


def read_sql(path: os.PathLike) -> SqlText:
    """Read a migration file. Raises FileReadError with one clear sentence.

    The text keeps a byte-order mark if there is one, because golang-migrate
    passes it to SQLite too.
    """
    p = Path(path)
    try:
        info = p.stat()
        size = info.st_size
        if not stat.S_ISREG(info.st_mode) and not stat.S_ISDIR(info.st_mode):
            # A FIFO or device would block or never end.
            raise FileReadError(str(p), "is not a regular file (a pipe, socket or device).")
        if size > MAX_SQL_BYTES:
            raise FileReadError(str(p), f"file is {size} bytes; files over {MAX_SQL_BYTES} bytes are not read.")
        data = p.read_bytes()
    except FileReadError:
        raise
    except IsADirectoryError:
        raise FileReadError(str(p), "is a folder, not a file.") from None
    except PermissionError:
        raise FileReadError(str(p), "permission denied.") from None
    except FileNotFoundError:
        raise FileReadError(str(p), "no such file (a broken symlink?).") from None
    except OSError as exc:
        raise FileReadError(str(p), f"cannot read ({exc.strerror or exc}).") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileReadError(str(p), f"not valid UTF-8 (byte {exc.start}, line {line}); save it as UTF-8.") from None
    return SqlText(text, text.startswith("\ufeff"), "\r\n" in text, len(data))


def printable(name: str) -> str:
    """A file name safe to print: undecodable bytes and control characters
    become escapes, so no output ever fails or breaks a line."""
    out = []
    for ch in name:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # surrogateescape'd byte
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(ch)
    return "".join(out)
