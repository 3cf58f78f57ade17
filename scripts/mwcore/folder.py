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

import gc
import itertools
import os
import re
import stat
from pathlib import Path
from typing import Dict, Iterable, List, NamedTuple, Optional, Tuple

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


class Migration:
    """One version: its up file, its down file, either may be missing.

    (This module avoids dataclasses: importing them costs more than listing a
    folder of 10,000 pairs, and next_version.py must start fast.)
    """

    __slots__ = ("version", "up", "down")

    def __init__(self, version: int, up: Optional[MigrationFile] = None, down: Optional[MigrationFile] = None) -> None:
        self.version = version
        self.up = up
        self.down = down

    def __repr__(self) -> str:
        return f"Migration(version={self.version!r}, up={self.up!r}, down={self.down!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Migration) and (self.version, self.up, self.down) == (other.version, other.up, other.down)

    @property
    def files(self) -> List[MigrationFile]:
        return [f for f in (self.up, self.down) if f is not None]

    @property
    def version_text(self) -> str:
        return (self.up or self.down).version_text  # type: ignore[union-attr]

    @property
    def name(self) -> str:
        """The description, as the up file spells it (else the down's)."""
        return (self.up or self.down).description  # type: ignore[union-attr]

    def file(self, direction: str) -> Optional[MigrationFile]:
        return self.up if direction == UP else self.down


class Duplicate(NamedTuple):
    """Two or more files with one version and direction (golang-migrate refuses
    to open such a folder: ``duplicate migration file: NAME``)."""

    version: int
    direction: str
    names: Tuple[str, ...]  # sorted; golang-migrate fails naming the second


class NearMiss(NamedTuple):
    """A file that looks meant as a migration but golang-migrate skips."""

    name: str
    reason: str


class MigrationFolder:
    """The model every script works on."""

    def __init__(self, path: Path, ext: str = "sql", names: Optional[List[str]] = None) -> None:
        self.path = path
        self.ext = ext
        self.migrations: List[Migration] = []
        self.duplicates: List[Duplicate] = []
        self.near_misses: List[NearMiss] = []
        # Names that match golang-migrate's pattern but not "*.<ext>": a file://
        # source reads them, `//go:embed migrations/*.sql` leaves them out.
        self.other_ext: List[MigrationFile] = []
        # Every non-directory name in the folder, sorted as Go sorts (bytes).
        self.names: List[str] = names if names is not None else []
        # Names that are broken symlinks or symlinks to folders.
        self.bad_links: List[str] = []
        # Migration names that are symlinks to a file outside this folder:
        # listed like any migration, never read (see read_sql).
        self.outside_links: List[str] = []
        # Temporary files an interrupted create left (never migrations).
        self.create_leftovers: List[str] = []

    def __repr__(self) -> str:
        return f"MigrationFolder(path={str(self.path)!r}, {len(self.migrations)} versions)"

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


def is_up_only(folder: "MigrationFolder", versions: Optional[Iterable[int]] = None) -> bool:
    """Whether the folder keeps no down files: at least two versions (of
    `versions` when given, e.g. the shipped ones) and not one down among them.
    golang-migrate treats each missing down as an empty migration; such a
    project rolls back by restoring a backup, not by `down`."""
    wanted = None if versions is None else set(versions)
    chosen = folder.migrations if wanted is None else [m for m in folder.migrations if m.version in wanted]
    return len(chosen) >= 2 and all(m.down is None for m in chosen)


def migration_texts(folder: "MigrationFolder", read_text, *, after: Optional[int] = None) -> List[Tuple[str, str]]:
    """(direction, text) of every migration file in golang-migrate's order
    (by version, up then down), of the versions above `after` when given;
    `read_text(file)` gives a file's text, None when it cannot be read."""
    files: List[Tuple[str, str]] = []
    for migration in folder.migrations:
        if after is not None and migration.version <= after:
            continue
        for direction, migration_file in ((UP, migration.up), (DOWN, migration.down)):
            if migration_file is None:
                continue
            text = read_text(migration_file)
            if text is not None:
                files.append((direction, text))
    return files


def go_sort_key(name: str) -> bytes:
    """Go sorts directory entries by their bytes; so do we. (For ASCII names
    plain string order is the same and much cheaper.)"""
    return name.encode("utf-8", "surrogateescape")


_new_file = tuple.__new__  # builds a MigrationFile without NamedTuple's Python-level __new__

# The same pattern over a whole listing joined by newlines, one name a line:
# `.` stops at a newline in both Python and Go, so each line is matched on
# its own, at C speed. Names that hold a newline take the one-by-one path.
_LISTING_RE = re.compile(r"^(([0-9]+)_(.*)\.(down|up)\.(.*))$", re.M)


def parse_names(names: List[str]) -> Dict[str, MigrationFile]:
    """parse_name for a whole listing: {name: MigrationFile} of the names
    golang-migrate reads."""
    if any("\n" in name for name in names):
        parsed = (parse_name(name) for name in names)
        return {p.name: p for p in parsed if p is not None}
    found = {}
    for name, digits, description, direction, ext in _LISTING_RE.findall("\n".join(names)):
        version = int(digits)
        if version <= UINT64_MAX:
            found[name] = _new_file(MigrationFile, (name, version, digits, description, direction, ext, False))
    return found


def parse_name(name: str) -> Optional[MigrationFile]:
    """The migration a file name denotes, or None when golang-migrate skips it.

    Equivalent to MIGRATION_NAME_RE.fullmatch (tests hold the two together,
    and against golang-migrate itself), without its backtracking: the greedy
    description ends at the LAST '.up.' or '.down.', and no group may hold a
    newline. Folders of 10,000 pairs are parsed on every run, so this avoids
    every step it can.
    """
    underscore = name.find("_")
    if underscore < 1:
        return None
    digits = name[:underscore]
    if not (digits.isdigit() and digits.isascii()) or "\n" in name:
        return None
    up, down = name.rfind(".up."), name.rfind(".down.")
    if up >= down:
        position, direction, after = up, "up", up + 4
    else:
        position, direction, after = down, "down", down + 6
    if position <= underscore:
        return None
    version = int(digits)
    if version > UINT64_MAX:
        return None
    return _new_file(MigrationFile, (name, version, digits, name[underscore + 1:position], direction, name[after:], False))


# Temporary files of an up/down pair being created (versioning.write_pair):
# a leading dot and no ".up."/".down." part, so golang-migrate's pattern,
# `migrate create`'s *.sql and this model all pass them by. A leftover one
# (a run killed mid-create) is removed by the next create.
CREATE_TEMP_RE = re.compile(r"\.mw-create-([0-9]+)-([0-9a-f]{8})-(up|down)\.tmp")


def is_create_temp(name: str) -> bool:
    return name.startswith(".mw-create-") and CREATE_TEMP_RE.fullmatch(name) is not None


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
    names: List[str] = []
    kinds: Dict[str, str] = {}  # only entries that are not plain files
    folder = MigrationFolder(path=folder_path, ext=ext, names=names)
    try:
        with os.scandir(folder_path) as entries:
            # is_dir/is_symlink come from the listing itself (no stat call).
            for entry in entries:
                if not entry.is_file(follow_symlinks=False):
                    kind = _entry_kind(entry)
                    if kind == "dir":
                        continue
                    kinds[entry.name] = kind
                names.append(entry.name)
    except FileNotFoundError:
        raise FolderError(f"{folder_path}: no such folder.") from None
    except NotADirectoryError:
        raise FolderError(f"{folder_path}: is a file, not a folder.") from None
    except PermissionError:
        raise FolderError(f"{folder_path}: permission denied while listing the folder.") from None
    except OSError as exc:
        raise FolderError(f"{folder_path}: cannot list the folder ({exc.strerror or exc}).") from None

    names.sort()
    if not all(map(str.isascii, names)):
        names.sort(key=go_sort_key)
    # Names below "/" sort first ('.' is 0x2E); only there can a temp be.
    temps = [n for n in itertools.takewhile(lambda n: n < "/", names) if is_create_temp(n)]
    if temps:
        folder.create_leftovers = temps
        skip = set(temps)
        names[:] = [n for n in names if n not in skip]
    parsed_names = parse_names(names)
    for name in [n for n in names if n not in parsed_names]:
        reason = near_miss_reason(name, ext)
        if reason is not None:
            folder.near_misses.append(NearMiss(name, reason))
    migrations: Dict[int, Migration] = {}
    repeated: Dict[Tuple[int, str], List[MigrationFile]] = {}
    suffix = "." + ext
    get = migrations.get
    collecting = gc.isenabled()
    gc.disable()  # tens of thousands of small objects, none of them cyclic garbage
    try:
        for parsed in parsed_names.values():  # in listing order, as golang-migrate reads them
            name, version, _, _, direction, _, _ = parsed
            if kinds and name in kinds:
                if kinds[name] == "badlink":
                    folder.bad_links.append(name)
                    continue
                parsed = parsed._replace(is_symlink=True)
                if link_leaves_folder(folder_path / name):
                    folder.outside_links.append(name)
            if not name.endswith(suffix):
                folder.other_ext.append(parsed)
                continue
            migration = get(version)
            if migration is None:
                migrations[version] = migration = Migration(version)
            kept = migration.up if direction == UP else migration.down
            if kept is None:
                setattr(migration, direction, parsed)
            else:
                # golang-migrate keeps the first name it lists and fails on the next.
                repeated.setdefault((version, direction), [kept]).append(parsed)
    finally:
        if collecting:
            gc.enable()
    for (version, direction), files in repeated.items():
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


def link_leaves_folder(path: os.PathLike) -> bool:
    """Whether `path` is a symlink whose target, all links resolved, lies
    outside the folder that holds the link. Such a file is never read: a
    cloned repository can point a migration at any file of the machine."""
    if not os.path.islink(path):
        return False
    target = os.path.realpath(path)
    home = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    return os.path.commonpath([target, home]) != home


# Reading file contents -----------------------------------------------------

OUTSIDE_LINK_REASON = (
    "is a symbolic link to a file outside its folder; it is not read (and its target is not shown): "
    "replace the link with the file itself."
)

MAX_SQL_BYTES = 256 * 1024 * 1024


class SqlText(NamedTuple):
    """A migration file's text as golang-migrate hands it to SQLite."""

    text: str
    has_bom: bool
    has_crlf: bool
    size: int


def read_sql(path: os.PathLike) -> SqlText:
    """Read a migration file. Raises FileReadError with one clear sentence.

    The text keeps a byte-order mark if there is one, because golang-migrate
    passes it to SQLite too. A symlink to a file outside its folder is
    refused (FileReadError), whatever it points at.
    """
    p = Path(path)
    if link_leaves_folder(p):
        raise FileReadError(str(p), OUTSIDE_LINK_REASON)
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
