"""The one SQL engine: every SQLite connection the scripts use is opened
here, and every statement of a migration runs through here.

Migration files come from pull requests and cloned repositories, and the
scripts execute them, so every connection is guarded from the moment this
module creates it until it is closed:

- Files. Every database is in memory (`temp_store=MEMORY`: no temporary
  files either). SQLite's authorizer refuses what would open or write a
  file, or change the engine's limits: ATTACH of a file, VACUUM INTO,
  `load_extension()`, and every PRAGMA outside an allow-list (`PRAGMAS`).
  A refused statement fails with what it would do under golang-migrate
  ("ATTACH opens 'app.db' from the application's own process ..."). A
  user's database (`--db`) is copied byte for byte, with its `-wal` and
  `-journal`, into a private scratch folder; only that copy is opened, so
  nothing can appear next to the user's file.
- Time. SQLite's progress handler stops a statement past its budget: one
  per migration file (`Limits.file_seconds`, `--timeout`) and one for the
  whole run (`Limits.run_budget`, from `configure`). A file over budget is
  a failure at its statement; a run over budget ends it (`RunBudgetExceeded`).
- Memory. A process-wide heap limit set before any migration runs (a PRAGMA
  could only lower it, and the guard refuses that PRAGMA anyway), a page
  count bound per database, and length limits for values and statements.
  A statement that hits them fails like any other, never with a crash.

Nothing is decided by reading SQL text: SQLite reports each action to the
authorizer while it prepares (or, for VACUUM INTO, runs) a statement. The
guard is on for every statement, the engine's own included; the engine's
own statements only use what the allow-list has. Observers (see `observe`)
see the authorizer calls the guard let through.

A migration file runs the way golang-migrate's sqlite3 driver runs it: one
Exec inside a transaction (unless `x-no-tx-wrap=true`), mattn stepping each
statement once, in order. Each statement from `sqltext.split_statements` is
executed the same way on a connection in autocommit mode, so an explicit
BEGIN, VACUUM or a COMMIT inside a wrapped file fails exactly as it does
there, and the failing statement's line is known.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
import sqlite3
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

from .errors import MigrationWriterError
from .sqltext import Statement, split_statements, tokens

MIB = 1 << 20
RUN_FACTOR = 12  # the run's budget is this many times the per-file one
PROGRESS_STEPS = 10_000  # VM instructions between two looks at the clock

# Kinds of failure of one statement.
SQL_ERROR = "sql"  # SQLite's own error
REFUSED = "refused"  # the guard refused it (it reaches outside the database)
TIMEOUT = "timeout"  # over the time budget of its file
MEMORY = "memory"  # over the memory budget


@dataclass(frozen=True)
class Limits:
    """Budgets of one run. `--timeout SECONDS` sets `file_seconds`; the run
    gets `RUN_FACTOR` times that unless `run_seconds` says otherwise."""

    file_seconds: float = 10.0
    memory_bytes: int = 1024 * MIB
    run_seconds: Optional[float] = None

    @property
    def run_budget(self) -> float:
        return self.run_seconds if self.run_seconds is not None else RUN_FACTOR * self.file_seconds

    @property
    def length_bytes(self) -> int:
        """The longest string, blob, row or statement (SQLITE_LIMIT_LENGTH
        and SQLITE_LIMIT_SQL_LENGTH; SQLite's default is 1,000,000,000)."""
        return max(MIB, min(1_000_000_000, self.memory_bytes // 4))


class RunBudgetExceeded(MigrationWriterError):
    """The whole run went over its time budget: the run ends (exit 1)."""

    exit_code = 1


@dataclass(frozen=True)
class ScriptResult:
    """Outcome of running one file."""

    ok: bool
    error: Optional[str] = None
    line: Optional[int] = None  # 1-based line of the failing statement
    col: Optional[int] = None
    statement: Optional[Statement] = None
    phase: str = "statement"  # "begin", "statement" or "commit"
    statements_run: int = 0
    kind: str = SQL_ERROR  # SQL_ERROR, REFUSED, TIMEOUT or MEMORY (when not ok)


@dataclass(frozen=True)
class Failure:
    """Why one statement did not run."""

    message: str
    kind: str


# Budgets --------------------------------------------------------------------


class _Clock:
    """The budgets of the process (one run per process: the CLI shell
    calls `configure` once)."""

    def __init__(self) -> None:
        self.limits = Limits()
        self.run_deadline = math.inf  # set by configure(); library use has none
        self.file_deadline = math.inf
        # Read by the progress handler: the run's deadline, or the nearer of
        # the two while a migration's statement runs (the engine's own work
        # between statements, after a file went over, is never cut short by it).
        self.deadline = math.inf
        self.in_file = False
        self.stopped = False  # the progress handler stopped a statement at the run's deadline
        self.last_file: Optional[str] = None  # the migration file run last (FILE or FILE:LINE)
        self.heap = 0  # the hard heap limit this process set (0: not yet)
        self.reserve = 0  # room for copies of a user's database
        self.known_pragmas: Optional[frozenset] = None


_CLOCK = _Clock()


def configure(limits: Optional[Limits] = None) -> None:
    """Set the budgets and start the run's clock. Memory takes effect only
    before the first connection (SQLite's heap limit can only go down)."""
    _CLOCK.limits = limits or Limits()
    _CLOCK.run_deadline = time.monotonic() + _CLOCK.limits.run_budget
    _CLOCK.deadline = _CLOCK.run_deadline
    _CLOCK.stopped = False


def reset() -> None:
    """Back to library use: default budgets per file, no run budget."""
    _CLOCK.limits = Limits()
    _CLOCK.run_deadline = math.inf
    _CLOCK.deadline = math.inf
    _CLOCK.stopped = False
    _CLOCK.last_file = None


def run_expired() -> bool:
    """True once the run's time budget is spent."""
    return time.monotonic() > _CLOCK.run_deadline


def run_budget_message(where: Optional[str] = None) -> str:
    """The sentence for a run over its budget: `where` is the statement that
    was running (FILE:LINE); without it, the file run last is named."""
    budget = _CLOCK.limits.run_budget
    if where:
        doing = f" while {where} was running"
    elif _CLOCK.last_file:
        doing = f" (the last migration file run was {_CLOCK.last_file}; its triggers or the checks after it took the rest)"
    else:
        doing = ""
    return (f"stopped after {_seconds(budget)} s, the time budget of the whole run{doing}; "
            f"give it more time with --timeout SECONDS (each file gets SECONDS, the run {RUN_FACTOR} times that).")


def _progress() -> int:
    now = time.monotonic()
    if now <= _CLOCK.deadline:
        return 0
    if now > _CLOCK.run_deadline:
        _CLOCK.stopped = True
    return 1


def run_stopped() -> bool:
    """True when a statement (the engine's own included) was stopped at the
    run's deadline: whatever the run reports is incomplete."""
    return _CLOCK.stopped


@contextmanager
def file_budget() -> Iterator[None]:
    """One file's time: migration statements run inside are stopped
    `Limits.file_seconds` after it began (a nested call keeps the outer
    budget: one budget per file)."""
    if _CLOCK.in_file:
        yield
        return
    _CLOCK.in_file = True
    _CLOCK.file_deadline = time.monotonic() + _CLOCK.limits.file_seconds
    try:
        yield
    finally:
        _CLOCK.in_file = False
        _CLOCK.file_deadline = math.inf


def _check_run() -> None:
    """Before a migration statement runs: is there time left?"""
    if run_expired():
        raise RunBudgetExceeded(run_budget_message())


def _seconds(value: float) -> str:
    return f"{value:g}"


# The guard --------------------------------------------------------------------

# PRAGMAs a migration may run, reading or setting them. Everything here acts
# on the database's contents or on the connection's SQL behaviour; nothing
# opens, writes or locks a file, or changes a limit the engine relies on.
PRAGMAS = frozenset("""
    analysis_limit application_id auto_vacuum automatic_index busy_timeout cache_size cache_spill
    case_sensitive_like cell_size_check checkpoint_fullfsync collation_list compile_options count_changes
    data_version database_list default_cache_size defer_foreign_keys empty_result_callbacks encoding
    foreign_key_check foreign_key_list foreign_keys freelist_count full_column_names fullfsync function_list
    ignore_check_constraints incremental_vacuum index_info index_list index_xinfo integrity_check
    legacy_alter_table legacy_file_format module_list optimize page_count pragma_list query_only quick_check
    read_uncommitted recursive_triggers reverse_unordered_selects secure_delete short_column_names
    shrink_memory synchronous table_info table_list table_xinfo trusted_schema user_version
""".split())

# PRAGMAs refused when they set something (reading them is harmless, except
# wal_checkpoint, whose plain form acts), with what they do under golang-migrate.
REFUSED_PRAGMAS = {
    "writable_schema": "lets SQL rewrite sqlite_master directly (one mistake corrupts the database)",
    "schema_version": "overwrites the schema cookie (a wrong value corrupts the database)",
    "hard_heap_limit": "changes the memory limit of the application's whole process",
    "soft_heap_limit": "changes the memory limit of the application's whole process",
    "max_page_count": "changes how large the database file may grow",
    "page_size": "changes the page size of the database file",
    "mmap_size": "maps the database file into the application's memory",
    "temp_store": "decides whether SQLite writes temporary files",
    "temp_store_directory": "decides where SQLite writes temporary files",
    "data_store_directory": "decides where SQLite creates database files",
    "journal_mode": ("switches the database file to another journal (WAL creates -wal and -shm files next to it; "
                     "inside the file's transaction it fails); set it in the DSN instead"),
    "locking_mode": "changes how the application locks its database file",
    "journal_size_limit": "changes how large the journal file next to the database may stay",
    "wal_autocheckpoint": "changes when the WAL file is copied into the database file",
    "wal_checkpoint": "copies the WAL file into the database file",
    "threads": "lets SQLite start helper threads in the application",
}
_ACTS_WHEN_READ = frozenset(("wal_checkpoint",))

REFUSED_FUNCTIONS = {
    "load_extension": "loads native code into the application (where the driver enables extensions)",
    "fts3_tokenizer": "registers an FTS3 tokenizer from a raw memory address (it can crash the application)",
}

# An ATTACH of these opens a private temporary database, never a file here
# (temp_store=MEMORY); plain VACUUM attaches '' the same way.
_PRIVATE_ATTACH = ("", ":memory:")

_OK, _DENY = sqlite3.SQLITE_OK, sqlite3.SQLITE_DENY
_ATTACH, _PRAGMA, _FUNCTION = sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_PRAGMA, sqlite3.SQLITE_FUNCTION
_WATCHED = frozenset((_ATTACH, _PRAGMA, _FUNCTION))

Observer = Callable[[int, Optional[str], Optional[str], Optional[str], Optional[str]], object]


class _Guard:
    """The authorizer of one connection: refuses, and remembers why."""

    __slots__ = ("refusal", "observers")

    def __init__(self) -> None:
        self.refusal: Optional[Tuple[str, Optional[str]]] = None  # (what, its name or file)
        self.observers: List[Observer] = []

    def check(self, action: int, arg1: Optional[str], arg2: Optional[str], _db: Optional[str],
              _source: Optional[str]) -> int:
        if action not in _WATCHED:
            return _OK
        if action == _FUNCTION:
            if arg2 and arg2.lower() in REFUSED_FUNCTIONS:
                self.refusal = ("function", arg2.lower())
                return _DENY
            return _OK
        if action == _PRAGMA:
            name = (arg1 or "").lower()
            if name in PRAGMAS:
                return _OK
            if name in REFUSED_PRAGMAS:
                if arg2 is None and name not in _ACTS_WHEN_READ:
                    return _OK
            elif _CLOCK.known_pragmas is not None and name not in _CLOCK.known_pragmas:
                return _OK  # unknown to this SQLite, which ignores it
            self.refusal = ("pragma", name)
            return _DENY
        # ATTACH: arg1 is the file name when it is a literal, else None.
        if arg1 in _PRIVATE_ATTACH:
            return _OK
        self.refusal = ("attach", arg1)
        return _DENY


def _install(conn: sqlite3.Connection, guard: _Guard) -> None:
    """(Re)install the connection's authorizer: the guard, then observers.
    Installing it expires every prepared statement, so cached statements
    are prepared again and reported again."""
    check = guard.check
    observers = tuple(guard.observers)
    if not observers:
        conn.set_authorizer(check)
        return

    def authorize(action: int, arg1: Optional[str], arg2: Optional[str], db: Optional[str], source: Optional[str]) -> int:
        if check(action, arg1, arg2, db, source):
            return _DENY
        for observer in observers:
            observer(action, arg1, arg2, db, source)
        return _OK

    conn.set_authorizer(authorize)


def _refusal_text(refusal: Tuple[str, Optional[str]], sql: str) -> str:
    what, name = refusal
    if what == "pragma":
        reason = REFUSED_PRAGMAS.get(name or "", "is not among the PRAGMAs the scratch database runs")
        return f"PRAGMA {name} {reason} under golang-migrate; not replayed"
    if what == "function":
        return f"{name}() {REFUSED_FUNCTIONS[name or '']} under golang-migrate; not replayed"
    target = "a database file named by an expression" if name is None else _quote(name)
    if _keyword(sql) == "VACUUM":
        return f"VACUUM INTO writes a copy of the database to {target} from the application's own process under golang-migrate; not replayed"
    return f"ATTACH opens {target} from the application's own process under golang-migrate; not replayed"


def _quote(text: str) -> str:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return "'" + shown.replace("'", "''").replace("\n", "\\n") + "'"


def _keyword(sql: str) -> str:
    for kind, text in tokens(sql):
        if kind == "word":
            return text.upper()
        if kind not in ("space", "comment"):
            break
    return ""


class _Connection(sqlite3.Connection):
    """A connection this module made; it carries its guard."""

    mw_guard: Optional[_Guard] = None


def _guard(conn: sqlite3.Connection) -> _Guard:
    guard = getattr(conn, "mw_guard", None)
    if not isinstance(conn, _Connection) or guard is None:
        raise TypeError("not a connection of mwcore.engine: open it with engine.scratch(), copy() or copy_of_user_db()")
    return guard


# Connections ----------------------------------------------------------------


def _memory_budget() -> int:
    return _CLOCK.limits.memory_bytes + _CLOCK.reserve


def _open() -> _Connection:
    """A new in-memory connection, limited, not yet guarded."""
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False, factory=_Connection)
    if not _CLOCK.heap:
        # Process-wide; a later PRAGMA can only lower it.
        _CLOCK.heap = _memory_budget()
        conn.execute(f"PRAGMA hard_heap_limit = {_CLOCK.heap}")
        try:
            _CLOCK.known_pragmas = frozenset(row[0] for row in conn.execute("PRAGMA pragma_list"))
        except sqlite3.Error:
            _CLOCK.known_pragmas = None
    conn.execute("PRAGMA temp_store = MEMORY")
    if hasattr(conn, "setlimit"):  # Python 3.11+
        length = _CLOCK.limits.length_bytes
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, length)
        conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, length)
    return conn


def _arm(conn: _Connection, foreign_keys: bool) -> _Connection:
    """Bound the database's size, set foreign keys, start the guard and the clock."""
    page_size = conn.execute("PRAGMA page_size").fetchone()[0] or 4096
    conn.execute(f"PRAGMA max_page_count = {max(1, _memory_budget() // page_size)}")
    if foreign_keys:
        conn.execute("PRAGMA foreign_keys = ON")
    guard = _Guard()
    conn.mw_guard = guard
    conn.set_progress_handler(_progress, PROGRESS_STEPS)
    _install(conn, guard)
    return conn


def scratch(*, foreign_keys: bool = False) -> sqlite3.Connection:
    """A new, empty, guarded in-memory database in autocommit mode (callers
    and `run_script` issue BEGIN/COMMIT themselves)."""
    return _arm(_open(), foreign_keys)


def copy(conn: sqlite3.Connection, *, foreign_keys: bool = False) -> sqlite3.Connection:
    """A guarded in-memory copy of `conn`'s database (SQLite's backup API),
    as it is committed: see `_committed`."""
    target = _open()
    _committed(conn).backup(target)
    return _arm(target, foreign_keys)


def _committed(conn: sqlite3.Connection) -> sqlite3.Connection:
    """`conn` with no transaction open. A migration run without
    golang-migrate's wrap can leave its own BEGIN open when it fails; the
    driver's connection rolls it back when it closes, which is the database
    every later connection (and the file) sees. The backup API could not
    copy it anyway: it reports the source as locked, and Python retries
    that forever."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    return conn


def observe(conn: sqlite3.Connection, observer: Observer) -> None:
    """Let `observer(action, arg1, arg2, database, source)` see every
    authorizer call the guard allows on `conn` (its return value is
    ignored: only the guard decides). Calling it again with the same
    observer re-prepares the connection's cached statements, so that the
    next statements are reported even when their SQL was run before."""
    guard = _guard(conn)
    if observer not in guard.observers:
        guard.observers.append(observer)
    _install(conn, guard)


# A user's database ----------------------------------------------------------------

_HEADER = b"SQLite format 3\x00"
# SQLite's lock bytes (os_unix.c): a reader holds a read lock on the shared
# range; a writer about to change the file holds PENDING, then a write lock
# on the shared range.
_PENDING_BYTE = 0x40000000
_SHARED_FIRST = _PENDING_BYTE + 2
_SHARED_SIZE = 510


def copy_of_user_db(path: Path) -> sqlite3.Connection:
    """A guarded in-memory copy of the database at `path`.

    The file and its `-wal` and `-journal` (when present) are copied byte
    for byte into a private folder (mode 0700) under the system's temporary
    directory; SQLite opens only that copy (recovering its WAL or hot
    journal there), the copy is backed up into memory and the folder is
    deleted. SQLite never opens `path`, so no -wal, -shm or -journal can
    appear next to it. While copying, a read lock is held on the file as
    SQLite's readers hold it, so a writer cannot change it half-way."""
    path = Path(path)
    if not path.exists():
        raise MigrationWriterError(f"{path}: no such database file.")
    if not path.is_file():
        raise MigrationWriterError(f"{path}: is not a file.")
    size = sum(_size(Path(str(path) + suffix)) for suffix in ("", "-wal", "-journal"))
    _reserve(size)
    folder = Path(tempfile.mkdtemp(prefix="migration-writer-"))
    try:
        copied = folder / "db"
        _copy_files(path, copied)
        source = sqlite3.connect(str(copied), isolation_level=None, check_same_thread=False)
        try:
            source.execute("SELECT count(*) FROM sqlite_master").fetchone()
            target = _open()
            source.backup(target)
        except MemoryError:
            raise MigrationWriterError(f"{path}: does not fit in the memory budget ({_mib(_CLOCK.limits.memory_bytes)} MiB "
                                       "plus room for copies of it); "
                                       "pass --memory MIB with more.") from None
        except sqlite3.DatabaseError as exc:
            raise MigrationWriterError(_unreadable(path, exc)) from None
        finally:
            source.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return _arm(target, False)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _mib(value: int) -> str:
    return f"{value / MIB:g}"


def _reserve(size: int) -> None:
    """Make room for copies of a database of `size` bytes (the original
    copy, the working copy and one more) on top of the memory budget. The
    CLI copies a user's database before anything else, so the process's
    heap limit includes it; when it was set earlier, a copy that does not
    fit fails with MemoryError (one sentence, see copy_of_user_db)."""
    _CLOCK.reserve = max(_CLOCK.reserve, 3 * size)


def _unreadable(path: Path, exc: BaseException) -> str:
    text = str(exc)
    if "malformed" in text:
        return f"{path}: is damaged ({text}); repair it first (sqlite3 {path.name} '.recover') or use another copy."
    return f"{path}: cannot be read as an SQLite database ({text})."


def _copy_files(path: Path, copied: Path) -> None:
    """Copy the database with its -wal and -journal, retrying while another
    program changes them under our feet."""
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_HEADER))
    except OSError as exc:
        raise MigrationWriterError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    if header and header != _HEADER:
        raise MigrationWriterError(f"{path}: cannot be read as an SQLite database (file is not a database).")
    siblings = [Path(str(path) + suffix) for suffix in ("-wal", "-journal")]
    copies = [Path(str(copied) + suffix) for suffix in ("-wal", "-journal")]
    for attempt in range(5):
        before = [_stamp(p) for p in [path, *siblings]]
        with _read_lock(path) as fd:
            try:
                _copy_from(fd, copied)
                for sibling, sibling_copy in zip(siblings, copies):
                    if sibling.exists():
                        shutil.copyfile(sibling, sibling_copy)
                    elif sibling_copy.exists():
                        sibling_copy.unlink()
            except OSError as exc:
                raise MigrationWriterError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
        if [_stamp(p) for p in [path, *siblings]] == before:
            return
        time.sleep(0.05 * (attempt + 1))
    raise MigrationWriterError(f"{path}: kept changing while it was copied (another program is writing it); "
                               "try again when it is idle.")


def _stamp(path: Path) -> Optional[Tuple[int, int, int]]:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def _copy_from(fd: int, target: Path) -> None:
    # Read through the locked descriptor: closing any other descriptor of
    # the file would release this process's POSIX locks on it.
    os.lseek(fd, 0, os.SEEK_SET)
    with target.open("wb") as out:
        while True:
            chunk = os.read(fd, MIB)
            if not chunk:
                break
            out.write(chunk)


@contextmanager
def _read_lock(path: Path) -> Iterator[int]:
    """The database file open for reading, with a read lock on it as
    SQLite's readers hold it, so no writer changes it while it is copied;
    fails when a writer holds it."""
    fd = os.open(str(path), os.O_RDONLY)
    try:
        import fcntl
    except ImportError:  # no POSIX locks (Windows): the stamps still catch changes
        try:
            yield fd
        finally:
            os.close(fd)
        return
    try:
        for attempt in range(20):
            try:
                fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 1, _PENDING_BYTE, os.SEEK_SET)
                try:
                    fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, _SHARED_SIZE, _SHARED_FIRST, os.SEEK_SET)
                finally:
                    fcntl.lockf(fd, fcntl.LOCK_UN, 1, _PENDING_BYTE, os.SEEK_SET)
                break
            except OSError as exc:
                if exc.errno in (errno.ENOLCK, errno.EINVAL, errno.EOPNOTSUPP):
                    break  # the file system has no locks; the stamps still catch changes
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or attempt == 19:
                    raise MigrationWriterError(f"{path}: is locked by another program that is writing it; "
                                               "try again when it is done.") from None
                time.sleep(0.05)
        yield fd
    finally:
        os.close(fd)  # closing the file releases the lock


def save_copy(conn: sqlite3.Connection, path: Path) -> None:
    """Write `conn`'s database, as committed (see `_committed`), to a new
    file at `path` (never overwrites)."""
    _guard(conn)
    try:
        fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise MigrationWriterError(f"{path}: already exists; it is never overwritten.") from None
    os.close(fd)
    out = sqlite3.connect(str(path))
    try:
        _committed(conn).backup(out)
    finally:
        out.close()


# Running migrations ---------------------------------------------------------------


def run_statement(conn: sqlite3.Connection, statement: Union[Statement, str], *,
                  file: Optional[str] = None) -> Optional[Failure]:
    """Execute one statement of a migration as mattn does (prepare, step
    once, reset). None when it ran; else why not. Outside a file's budget
    (`file_budget`) the statement gets one of its own."""
    guard = _guard(conn)
    sql = statement.sql if isinstance(statement, Statement) else statement
    line = statement.line if isinstance(statement, Statement) else None
    where = f"{file}:{line}" if file and line else file
    _check_run()
    if file:
        _CLOCK.last_file = file
    with file_budget():
        return _execute(conn, guard, sql, where)


def _execute(conn: sqlite3.Connection, guard: _Guard, sql: str, where: Optional[str]) -> Optional[Failure]:
    guard.refusal = None
    _CLOCK.deadline = min(_CLOCK.run_deadline, _CLOCK.file_deadline)
    try:
        # close() resets the statement as mattn does after one step, so an
        # unread SELECT never holds a lock on a table dropped later.
        conn.execute(sql).close()
    except (sqlite3.Error, sqlite3.Warning, ValueError, OverflowError, MemoryError) as exc:
        return _classify(guard, exc, sql, where)
    finally:
        _CLOCK.deadline = _CLOCK.run_deadline
    return None


_MEMORY_ERRORS = ("string or blob too big", "database or disk is full", "out of memory")


def _classify(guard: _Guard, exc: BaseException, sql: str, where: Optional[str]) -> Failure:
    text = str(exc)
    if guard.refusal is not None:
        return Failure(_refusal_text(guard.refusal, sql), REFUSED)
    if text == "interrupted":
        if run_expired():
            raise RunBudgetExceeded(run_budget_message(where))
        return Failure(f"did not finish within {_seconds(_CLOCK.limits.file_seconds)} s, the time budget of one file "
                       "(--timeout SECONDS gives more): a recursive query without a LIMIT?", TIMEOUT)
    if isinstance(exc, MemoryError) or text in _MEMORY_ERRORS:
        detail = text or "out of memory"
        return Failure(f"went over the memory budget of the scratch database ({_mib(_CLOCK.limits.memory_bytes)} MiB; "
                       f"--memory MIB gives more): {detail}; a runaway INSERT, zeroblob() or recursive query?", MEMORY)
    if isinstance(exc, sqlite3.Warning) or "one statement at a time" in text:
        # Python refused what SQLite would run; should not happen after splitting.
        return Failure(f"statement could not be isolated: {text}", SQL_ERROR)
    return Failure(text or type(exc).__name__, SQL_ERROR)


def run_statements(conn: sqlite3.Connection, statements: Sequence[Statement], *, wrap: bool = True,
                   file: Optional[str] = None) -> ScriptResult:
    """Run pre-split statements of the file named `file`; see `run_script`."""
    guard = _guard(conn)
    _check_run()
    if file:
        _CLOCK.last_file = file
    with file_budget():
        if wrap:
            try:
                conn.execute("BEGIN")
            except sqlite3.Error as exc:
                return ScriptResult(False, f"transaction start failed: {exc}", phase="begin")
        for index, statement in enumerate(statements):
            failure = _execute(conn, guard, statement.sql, f"{file}:{statement.line}" if file else None)
            if failure is not None:
                if wrap and conn.in_transaction:
                    conn.execute("ROLLBACK")
                return ScriptResult(False, failure.message, statement.line, statement.col, statement, "statement",
                                    index, failure.kind)
        if wrap:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                return ScriptResult(False, f"transaction commit failed: {exc}", phase="commit",
                                    statements_run=len(statements))
    return ScriptResult(True, statements_run=len(statements))


def run_script(conn: sqlite3.Connection, text: str, *, wrap: bool = True, file: Optional[str] = None) -> ScriptResult:
    """Execute a whole migration file (named `file` in messages) as
    golang-migrate would.

    wrap=True: BEGIN, every statement, COMMIT; on the first error ROLLBACK and
    report it (the driver does the same). wrap=False: as with
    `x-no-tx-wrap=true`, statements before a failing one stay applied.
    """
    return run_statements(conn, split_statements(text), wrap=wrap, file=file)


# Reading --------------------------------------------------------------------------


def foreign_keys_enabled(conn: sqlite3.Connection) -> bool:
    return bool(conn.execute("PRAGMA foreign_keys").fetchone()[0])


def user_tables(conn: sqlite3.Connection, migrations_table: str = "schema_migrations") -> List[str]:
    """Names of the tables a migration author created (no sqlite_*, no
    golang-migrate bookkeeping)."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    ).fetchall()
    return [name for (name,) in rows if name.lower() != migrations_table.lower()]
