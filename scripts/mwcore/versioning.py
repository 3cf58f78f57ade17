"""The next migration version, and creating an up/down pair safely.

Versions are ordered as golang-migrate orders them: numerically. The width
and format the project uses are read from its file names. Where
`migrate create -seq` would pick another number (it sorts names as text and
takes the last), the plan says so.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, List, NamedTuple, Optional, Tuple

if TYPE_CHECKING:  # imported where used: the plain lookup never needs them
    from datetime import datetime

from .errors import MigrationWriterError, UsageError
from .folder import CREATE_TEMP_RE, UINT64_MAX, MigrationFolder, is_create_temp, parse_name, printable

SEQ, TIMESTAMP = "seq", "timestamp"
TIMESTAMP_LAYOUT = "%Y%m%d%H%M%S"  # Go layout 20060102150405, golang-migrate's default
DEFAULT_DIGITS = 6
MAX_NAME_BYTES = 255  # longest file name on common file systems


class NextVersion:
    """Everything `next_version.py` reports. (No dataclass: see folder.py.)"""

    def __init__(self, current: Optional[str], next: Optional[str], format: str, digits: int, count: int) -> None:
        self.current = current  # highest version as written in its file name
        self.next = next  # None when no valid next version exists (overflow)
        self.format = format
        self.digits = digits  # 0 = unpadded
        self.count = count
        self.warnings: List[str] = []
        self.errors: List[str] = []


def _is_timestamp(text: str) -> bool:
    if len(text) != 14:
        return False
    from datetime import datetime

    try:
        datetime.strptime(text, TIMESTAMP_LAYOUT)
    except ValueError:
        return False
    return True


def detect_width(texts: List[str]) -> Tuple[int, Optional[str]]:
    """(digits, warning): the padding width the project uses, 0 if unpadded."""
    padded = [t for t in texts if len(t) > 1 and t.startswith("0")]
    if not padded:
        return 0, None
    widths = Counter(len(t) for t in padded)
    width, _ = max(widths.items(), key=lambda item: (item[1], item[0]))
    warning = None
    if len(widths) > 1:
        listing = ", ".join(f"{w} digits x{n}" for w, n in sorted(widths.items()))
        warning = f"versions are padded to different widths ({listing}); using the most common, {width}."
    return width, warning


def format_seq(value: int, digits: int) -> str:
    return str(value).zfill(digits) if digits > 0 else str(value)


def migrate_create_choice(folder: MigrationFolder, digits: int) -> Tuple[Optional[str], Optional[str]]:
    """What `migrate create -seq -digits N -ext EXT` would do here:
    (version, None) or (None, its error text). Mirrors internal/cli's
    nextSeqVersion: the last of the sorted `*.EXT` names, digits before '_'."""
    suffix = "." + folder.ext
    # folder.names is in Go's order: the last *.EXT name is the one it takes.
    last = next((n for n in reversed(folder.names) if n.endswith(suffix)), None)
    if digits <= 0:
        return None, "Digits must be positive"
    value = 1
    if last is not None:
        idx = last.find("_")
        if idx < 1:
            return None, f"Malformed migration filename: {folder.path / printable(last)}"
        prefix = last[:idx]
        if not prefix.isdigit() or not prefix.isascii():
            return None, f'strconv.ParseUint: parsing "{printable(prefix)}": invalid syntax'
        if int(prefix) > UINT64_MAX:
            return None, f'strconv.ParseUint: parsing "{prefix}": value out of range'
        value = int(prefix) + 1
    text = format_seq(value, digits)
    if len(text) > digits:
        return None, f"Next sequence number {text} too large. At most {digits} digits are allowed"
    return text, None


def plan_next(
    folder: MigrationFolder,
    *,
    fmt: Optional[str] = None,
    digits: Optional[int] = None,
    now: Optional[datetime] = None,
) -> NextVersion:
    """Work out the next version for `folder`, as the project numbers them."""
    migrations = folder.migrations
    texts = [m.version_text for m in migrations]
    highest = migrations[-1] if migrations else None
    plan = NextVersion(
        current=highest.version_text if highest else None,
        next=None,
        format=SEQ,
        digits=DEFAULT_DIGITS,
        count=len(migrations),
    )
    for dup in folder.duplicates:
        plan.errors.append(
            f"version {dup.version} has {len(dup.names)} {dup.direction} files ({', '.join(map(printable, dup.names))}); "
            f"golang-migrate refuses to open the folder (duplicate migration file). Renumber all but one."
        )
    for miss in folder.near_misses:
        plan.warnings.append(f"{printable(miss.name)} is not a migration: {miss.reason}.")
    for other in folder.other_ext:
        plan.warnings.append(
            f"{printable(other.name)} matches golang-migrate's pattern but not *.{folder.ext}: a file:// source runs it as "
            f"version {other.version} {other.direction}, //go:embed *.{folder.ext} leaves it out. Delete or rename it."
        )
    for link in folder.bad_links:
        plan.warnings.append(f"{printable(link)} is a broken symlink or a link to a folder; golang-migrate fails to read it.")

    detected_fmt = TIMESTAMP if highest is not None and _is_timestamp(highest.version_text) else SEQ
    plan.format = fmt or detected_fmt
    if plan.format == TIMESTAMP:
        plan.digits = 14
        if detected_fmt == TIMESTAMP and any(not _is_timestamp(t) for t in texts):
            plan.warnings.append("the folder mixes timestamp and sequence versions; the next one is a timestamp.")
        from datetime import datetime, timezone

        stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime(TIMESTAMP_LAYOUT)
        if highest is not None and int(stamp) <= highest.version:
            plan.warnings.append(
                f"the current UTC time {stamp} is not after the highest version {highest.version_text}; using that plus one."
            )
            stamp = str(highest.version + 1)
        plan.next = stamp
    else:
        if digits is not None:
            plan.digits = digits
        elif migrations:
            plan.digits, warning = detect_width(texts)
            if warning:
                plan.warnings.append(warning)
        value = highest.version + 1 if highest else 1
        candidate = format_seq(value, plan.digits)
        if value > UINT64_MAX:
            plan.errors.append(f"the next version {value} does not fit in uint64, golang-migrate's version type.")
        elif plan.digits and len(candidate) > plan.digits:
            plan.errors.append(
                f"next sequence number {candidate} too large: at most {plan.digits} digits are allowed "
                f"(golang-migrate's create fails the same way); pass --digits {len(candidate)} to widen."
            )
        else:
            plan.next = candidate
        if plan.next is not None and fmt is None:
            _compare_with_migrate_create(folder, plan)
    if plan.next is not None and int(plan.next) > UINT64_MAX:
        plan.errors.append(f"the next version {plan.next} does not fit in uint64, golang-migrate's version type.")
        plan.next = None
    return plan


def _compare_with_migrate_create(folder: MigrationFolder, plan: NextVersion) -> None:
    digits = plan.digits or DEFAULT_DIGITS
    theirs, error = migrate_create_choice(folder, digits)
    flag = f"migrate create -seq -digits {digits}"
    if error is not None:
        plan.warnings.append(f"`{flag}` would fail here ({error}); this script uses the numeric maximum.")
    elif plan.digits == 0 and plan.next is not None:
        if theirs != plan.next:
            plan.warnings.append(
                f"`{flag}` would name the file {theirs} (it pads, and sorts names as text); this folder is unpadded, so {plan.next}."
            )
    elif theirs != plan.next:
        plan.warnings.append(
            f"`{flag}` would pick {theirs} (it sorts names as text and takes the last); the numeric next version is {plan.next}."
        )


# Names and creation --------------------------------------------------------

_SEPARATORS = re.compile(r"[^\w]+", re.UNICODE)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalize_name(raw: str) -> str:
    """NAME -> lowercase snake_case. Raises UsageError for unsafe names."""
    import unicodedata

    if any(sep in raw for sep in ("/", "\\")):
        raise UsageError(f"name {printable(raw)!r} contains a path separator; give a plain name such as add_user_email.")
    if ".." in raw:
        raise UsageError(f"name {printable(raw)!r} contains '..'; give a plain name such as add_user_email.")
    if any(unicodedata.category(ch) == "Cc" for ch in raw):
        raise UsageError("name contains a control character (NUL, newline, tab...); give a plain name such as add_user_email.")
    text = unicodedata.normalize("NFC", raw.strip())
    text = _CAMEL.sub("_", text)
    name = _SEPARATORS.sub("_", text).strip("_").lower()
    name = re.sub(r"_+", "_", name)
    if not name:
        raise UsageError(f"name {printable(raw)!r} has no letters or digits; give a name such as add_user_email.")
    return name


class PairPaths(NamedTuple):
    up: Path
    down: Path


def pair_paths(folder: MigrationFolder, version: str, name: str) -> PairPaths:
    base = f"{version}_{name}"
    for direction in ("up", "down"):
        file_name = f"{base}.{direction}.{folder.ext}"
        size = len(file_name.encode("utf-8"))
        if size > MAX_NAME_BYTES:
            raise UsageError(
                f"file name would be too long ({size} bytes). Maximum is {MAX_NAME_BYTES} bytes; shorten the name."
            )
        if parse_name(file_name) is None:
            raise UsageError(f"{printable(file_name)} would not be read by golang-migrate; choose another name.")
    return PairPaths(folder.path / f"{base}.up.{folder.ext}", folder.path / f"{base}.down.{folder.ext}")


def header(version: str, name: str, direction: str, no_tx_wrap: bool, up_only: bool = False) -> str:
    if direction == "up":
        tx = (
            "This project runs with x-no-tx-wrap: manage your own BEGIN/COMMIT in this file."
            if no_tx_wrap
            else "golang-migrate runs this file in one transaction: no BEGIN/COMMIT/VACUUM here."
        )
        rule = ("Rule: the project keeps no down files; `down` moves the version back and undoes nothing." if up_only
                else "Rule: the down must undo all of it, so up -> down -> up gives the same schema.")
    else:
        tx = (
            "This project runs with x-no-tx-wrap: manage your own BEGIN/COMMIT in this file."
            if no_tx_wrap
            else "golang-migrate runs this file in one transaction: no BEGIN/COMMIT/VACUUM here."
        )
        rule = "Rule: restore exactly the schema before the up (indexes and triggers too) and keep every existing row."
    return f"-- Migration {version} {direction}: {name}\n-- {tx}\n-- {rule}\n"


@contextlib.contextmanager
def folder_lock(path: Path, timeout: float = 10.0) -> Iterator[List[str]]:
    """Serialise concurrent creates in one folder (flock on the folder itself,
    so no lock file is left behind). Where flock is unavailable, no lock.

    Holding the lock, it first undoes what a create killed mid-way left
    (see recover_interrupted_creates) and yields the names it removed."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield recover_interrupted_creates(path)
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise MigrationWriterError(
                        f"{path}: another migration is being created in this folder (waited {timeout:.0f} s); try again."
                    ) from None
                time.sleep(0.05)
        yield recover_interrupted_creates(path)
    finally:
        os.close(fd)


# A temp younger than this whose process still runs may belong to a create
# in progress where flock does not work (network file systems): left alone.
_LIVE_TEMP_SECONDS = 600


def recover_interrupted_creates(path: Path) -> List[str]:
    """Remove the temporary files a killed create left in `path`, and any
    final name hard-linked to one of them: a create that never finished
    (it unlinks its temporaries as the last step of the pair) never
    reported success, so its half-made pair goes too. Returns the names
    removed. Call with the folder lock held."""
    try:
        with os.scandir(path) as entries:
            listing = {e.name: e for e in entries}
    except OSError:
        return []
    temps = [name for name in listing if is_create_temp(name)]
    removed: List[str] = []
    for name in sorted(temps):
        pid = int(CREATE_TEMP_RE.fullmatch(name).group(1))  # type: ignore[union-attr]
        try:
            info = listing[name].stat(follow_symlinks=False)
        except OSError:
            continue
        if _process_alive(pid) and time.time() - info.st_mtime < _LIVE_TEMP_SECONDS:
            continue
        if info.st_nlink > 1:
            for other, entry in listing.items():
                if other == name or is_create_temp(other):
                    continue
                try:
                    same = entry.inode() == info.st_ino and entry.stat(follow_symlinks=False).st_dev == info.st_dev
                except OSError:
                    continue
                if same:
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(path, other))
                        removed.append(other)
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(path, name))
            removed.append(name)
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP back for a few system calls: they are
    delivered (and handled as usual) right after. Only SIGKILL can stop the
    process inside."""
    import signal

    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:  # Windows
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    previous = mask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        mask(signal.SIG_SETMASK, previous)


def write_pair(paths: PairPaths, up_text: str, down_text: Optional[str]) -> None:
    """Create both files or neither, never overwriting. Call with the folder
    lock held (folder_lock). `down_text` None: only the up (an up-only
    folder); the down's name must still be free.

    Both texts are first written in full to temporary files in the folder
    (names no script or golang-migrate reads as migrations), then
    hard-linked to their final names (a link never replaces an existing
    file) and the temporaries removed, with SIGINT/SIGTERM/SIGHUP held back
    for those few system calls: an interrupt leaves both files or neither.
    SIGKILL between the two links leaves one final name and both
    temporaries; the next create removes all three (recover_interrupted_creates).
    """
    folder = paths.up.parent
    token = os.urandom(4).hex()
    texts = {"up": up_text} if down_text is None else {"up": up_text, "down": down_text}
    temp = {d: folder / f".mw-create-{os.getpid()}-{token}-{d}.tmp" for d in texts}
    written: List[Path] = []
    try:
        for direction, text in texts.items():
            _create_exclusive(temp[direction], text, shown=getattr(paths, direction))
            written.append(temp[direction])
        for final in (paths.down, paths.up):
            if os.path.lexists(final):
                raise MigrationWriterError(f"{final} already exists; nothing was overwritten.")
        with _signals_deferred():
            linked: List[Path] = []
            try:
                for direction in ("down", "up"):
                    if direction not in texts:
                        continue
                    final = getattr(paths, direction)
                    _link_exclusive(temp[direction], final, texts[direction])
                    linked.append(final)
            except BaseException:
                for final in linked:
                    with contextlib.suppress(OSError):
                        final.unlink()
                raise
            finally:
                for path in written:
                    with contextlib.suppress(OSError):
                        path.unlink()
                written = []
    finally:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()


def _link_exclusive(source: Path, final: Path, text: str) -> None:
    """`final` becomes a second name of `source`; an existing `final` is never
    replaced. Where hard links are not supported, `final` is written anew."""
    try:
        os.link(source, final)
    except FileExistsError:
        raise MigrationWriterError(f"{final} already exists; nothing was overwritten.") from None
    except PermissionError:
        raise MigrationWriterError(f"{final}: permission denied; nothing was written.") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
            raise MigrationWriterError(f"{final}: cannot create ({exc.strerror or exc}); nothing was written.") from None
        _create_exclusive(final, text)


def _create_exclusive(path: Path, text: str, shown: Optional[Path] = None) -> None:
    """Write `path` (which must not exist). Errors name `shown` (the final
    file a temporary stands for) when given."""
    name = shown or path
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise MigrationWriterError(f"{name} already exists; nothing was overwritten.") from None
    except PermissionError:
        raise MigrationWriterError(f"{name}: permission denied; nothing was written.") from None
    except OSError as exc:
        raise MigrationWriterError(f"{name}: cannot create ({exc.strerror or exc}); nothing was written.") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
