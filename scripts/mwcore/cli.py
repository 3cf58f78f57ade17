"""The thin shell every script shares: arguments, output, exit codes.

Exit codes: 0 fine, 1 problems found, 2 usage or I/O error. Errors are one
sentence on stderr, never a traceback. `--json` output is one compact line.
Scripts that execute SQL take `--timeout` and `--memory` (`add_budget_options`)
and the shell hands them to `mwcore.engine` before the script's work starts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, NoReturn, Optional, Sequence

from .errors import MigrationWriterError

EXIT_OK, EXIT_PROBLEMS, EXIT_ERROR = 0, 1, 2


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage errors in one line and exits 2."""

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(EXIT_ERROR)


DEFAULT_TIMEOUT = 10.0  # seconds per migration file (mwcore.engine.Limits)
DEFAULT_MEMORY = 1024  # MiB


def make_parser(prog: str, description: str, examples: str, *, runs_sql: bool = False) -> ArgumentParser:
    """The shared parser; `runs_sql` adds the engine's budget options."""
    parser = ArgumentParser(
        prog=prog,
        description=description,
        epilog="examples:\n" + examples.rstrip() + "\n\nexit status: 0 fine, 1 problems found, 2 usage or I/O error.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--dir",
        metavar="DIR",
        help="migrations folder (default: autodetect from the current directory: "
        "a folder embedded with //go:embed of *.sql, else the folder with most up/down files)",
    )
    parser.add_argument("--json", action="store_true", help="print one compact JSON object (for assistants)")
    if runs_sql:
        add_budget_options(parser)
    return parser


TX_WRAP_CHOICES = ("auto", "on", "off")


def add_tx_wrap_option(parser: Any) -> None:
    """The one spelling of golang-migrate's transaction wrap, shared by every
    script: `--tx-wrap on|off|auto` (bare `--tx-wrap` = on) and its alias
    `--no-tx-wrap` (= off). Read it back with `no_tx_wrap_override`."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--tx-wrap", nargs="?", const="on", choices=TX_WRAP_CHOICES, default=None, metavar="on|off|auto",
                       help="on: golang-migrate wraps each file in a transaction (its default); off: the URL has "
                            "x-no-tx-wrap=true; auto (the default): as the project's Go source sets it")
    group.add_argument("--no-tx-wrap", dest="tx_wrap", action="store_const", const="off",
                       help="the same as --tx-wrap off")


def no_tx_wrap_override(args: argparse.Namespace) -> Optional[bool]:
    """True: files run unwrapped (x-no-tx-wrap); False: wrapped; None: auto."""
    return {"on": False, "off": True}.get(getattr(args, "tx_wrap", None) or "auto")


def add_sql_function_option(parser: argparse.ArgumentParser) -> None:
    """--sql-function, for every script that executes SQL."""
    parser.add_argument(
        "--sql-function", action="append", default=[], metavar="NAME=EXPR",
        help="a stand-in for an SQL function the app registers on its connection, as an SQL expression over "
        "its arguments ?1..?n (e.g. 'slugify=lower(?1)'); repeatable. Functions the Go source registers get one "
        "that returns the first argument; data results of versions that call a stand-in are unchecked",
    )


def sql_functions(args: argparse.Namespace) -> list:
    """The --sql-function declarations (UsageError on a bad one)."""
    declared = getattr(args, "sql_function", None) or []
    if not declared:
        return []
    from .sqlfuncs import parse_declaration

    return [parse_declaration(text) for text in declared]


SCOPE_DEFINITION = """\
  A version is NEW when git shows one of its files added, changed or deleted
  against the base (--since REF, else the merge base with the upstream branch,
  origin's default branch, main or master, else HEAD), uncommitted and
  untracked files included (an edit of comments or spacing only does not
  count); without git, when migrations.sum does not record it; --from N makes
  N and above new; with nothing to tell, every version is new. Every other
  version is SHIPPED: it ran somewhere and must not be edited (SKILL.md Rule 1)."""

SCOPE_HELP = """\
new and shipped versions (every script that checks migrations):
""" + SCOPE_DEFINITION + """
  default  check every version; list the findings of new versions only and
           count the shipped ones in one line
  --new    check only the new versions; the shipped ups are only applied, in
           order, to build the schema the new ones start from (the fast check
           after writing a pair)
  --all    check and list every version
  A shipped version changed since the base is always reported, one line each."""


def add_scope_options(parser: argparse.ArgumentParser, *, from_version: bool = False, new_help: Optional[str] = None,
                      all_help: Optional[str] = None) -> None:
    """--new / --all (exclusive), --since REF and, for scripts that have it,
    --from N: the one spelling of "new versus shipped" (mwcore.scope). Read
    them back with `scope_from_args`. Put SCOPE_HELP in the epilog (or
    SCOPE_DEFINITION, for a script that checks nothing); `new_help` and
    `all_help` say what the modes do in a script that does not check."""
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--new", dest="scope_mode", action="store_const", const="new",
                       help=new_help or "check only the new versions; shipped ones are only applied to build the schema")
    modes.add_argument("--all", dest="scope_mode", action="store_const", const="all",
                       help=all_help or "check and list every version, shipped ones included")
    parser.add_argument("--since", metavar="REF",
                        help="git commit or branch that new versions are compared with "
                        "(default: the merge base with the upstream branch, origin's default branch, main or master)")
    if from_version:
        parser.add_argument("--from", dest="from_version", type=_version_number, metavar="N",
                            help="versions N and above are new, whatever git or migrations.sum say")


def _version_number(text: str) -> int:
    """A version as typed (3 or 000003); a negative one is left to
    scope_from_args to refuse in its own words."""
    digits = text[1:] if text.startswith("-") else text
    if not digits.isdigit() or not digits.isascii():
        raise argparse.ArgumentTypeError(f"{text!r} is not a version; give the number, e.g. --from 3 or --from 000003")
    return int(text)


def scope_from_args(args: argparse.Namespace, folder) -> "object":
    """The mwcore.scope.Scope the scope options ask for, with its mode set.
    UsageError for --since outside git, an unknown ref, or --all with
    --since/--from (--all lists everything, so they would change nothing)."""
    from .errors import UsageError
    from .scope import ALL, DEFAULT, resolve_scope

    mode = getattr(args, "scope_mode", None) or DEFAULT
    since = getattr(args, "since", None)
    start = getattr(args, "from_version", None)
    if mode == ALL and (since is not None or start is not None):
        raise UsageError("--all lists every version; --since and --from only choose the new ones for the default "
                         "and --new.")
    if start is not None and since is not None:
        raise UsageError("--from and --since both choose the new versions; give one.")
    if start is not None and start < 0:
        raise UsageError(f"--from {start}: versions are not negative.")
    return resolve_scope(folder, since=since, from_version=start).with_mode(mode)


def _checked_dir(arg: str) -> Path:
    path = Path(arg)
    if not path.exists():
        raise MigrationWriterError(f"{arg}: no such folder.")
    if not path.is_dir():
        raise MigrationWriterError(f"{arg}: is a file, not a folder.")
    if not os.access(path, os.R_OK | os.X_OK):
        raise MigrationWriterError(f"{arg}: permission denied.")
    return path


def resolve_project(arg: Optional[str], ext: str = "sql", declared: Sequence = ()):
    """The project facts (mwcore.project.ProjectFacts) for the --dir folder,
    or for the folder found from the current directory; `dir` is shown
    relative to the current directory."""
    from .project import project_facts

    facts = project_facts(_checked_dir(arg) if arg else None, ext=ext, declared=declared)
    if not arg:
        start = Path.cwd()
        if not is_within(facts.dir, start):
            # Only a symlinked folder leads there; go:embed refuses those too.
            raise MigrationWriterError(
                f"the detected migrations folder {facts.dir} ({facts.dir_source}) resolves outside {start.resolve()}; "
                "pass --dir to use it anyway.")
        facts.dir = display_path(facts.dir)
    return facts


def add_budget_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout", type=_budget(float, "SECONDS", 3600), default=DEFAULT_TIMEOUT, metavar="SECONDS",
        help=f"time budget of each migration file on the scratch database (default {DEFAULT_TIMEOUT:g}); "
        "a file over it is reported, and the whole run stops after 12 times SECONDS")
    parser.add_argument(
        "--memory", type=_budget(int, "MIB", 1 << 20), default=DEFAULT_MEMORY, metavar="MIB",
        help=f"memory budget of the scratch databases in MiB (default {DEFAULT_MEMORY}); "
        "a statement over it is reported (a copy given with --db gets room on top)")


def _budget(kind: type, what: str, highest: float) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of {what}") from None
        if not 0 < value <= highest:
            raise argparse.ArgumentTypeError(f"{text!r}: give a number of {what} above 0 and at most {highest:g}")
        return value
    return parse


def _configure_engine(args: argparse.Namespace) -> None:
    if getattr(args, "timeout", None) is None:
        return
    from . import engine

    engine.configure(engine.Limits(file_seconds=args.timeout, memory_bytes=args.memory * engine.MIB))


def _engine_stop() -> Optional[str]:
    """The sentence for a run the engine's time budget stopped (None if it did not)."""
    engine = sys.modules.get(__package__ + ".engine")
    if engine is not None and engine.run_stopped():
        return engine.run_budget_message()
    return None


def _database_damage(exc: BaseException) -> Optional[str]:
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is not None and isinstance(exc, sqlite3.DatabaseError) and "malformed" in str(exc):
        return f"the database is damaged ({exc}); if it came from --db, repair it first (sqlite3 .recover) or use another copy."
    return None


def resolve_dir(arg: Optional[str], ext: str = "sql") -> "tuple[Path, str]":
    """The migrations folder and a note on how it was chosen."""
    if arg:
        return _checked_dir(arg), "given with --dir"
    facts = resolve_project(None, ext)
    return facts.dir, facts.dir_source


def is_within(path: Path, root: Path) -> bool:
    """Whether `path`, symlinks resolved, is `root` or below it."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def project_root(start: Path) -> Path:
    """The Go module root around `start`, else `start` itself: where the
    scripts may write when the command line does not name the place."""
    from .project import find_module_root

    return find_module_root(start) or start.resolve()


def display_path(path: Path) -> Path:
    """The path relative to the current directory when it is below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, separators=(",", ":"), ensure_ascii=False) + "\n")


def _reopen_closed_streams() -> None:
    """A script started with stdout or stderr closed (`script.py >&-`) gets
    /dev/null in its place: the output is lost, the work and the exit status
    are not, and no file the script opens later can take descriptor 1 or 2."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        if not _usable(fd):
            try:
                opened = os.open(os.devnull, os.O_RDWR)
            except OSError:
                continue
            if opened != fd:  # the descriptor is taken, or a lower one was closed too
                os.dup2(opened, fd)
                os.close(opened)
            if getattr(sys, name) is not None and fd > 0:
                setattr(sys, name, None)  # it wrapped what was there before
        if getattr(sys, name) is None:
            mode = "r" if fd == 0 else "w"
            setattr(sys, name, open(fd, mode, encoding="utf-8", errors="backslashreplace", closefd=False))


def _usable(fd: int) -> bool:
    """Open, and for 1 and 2 open for writing. (A launcher that ran with
    stderr closed may hand over descriptor 2 holding its own script, read-only.)"""
    try:
        os.fstat(fd)
    except OSError:
        return False
    if fd == 0:
        return True
    try:
        import fcntl
    except ImportError:  # Windows
        return True
    return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE != os.O_RDONLY


def _safe_streams() -> None:
    # File names may hold undecodable bytes; never let printing them fail.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")  # type: ignore[attr-defined]
        except (AttributeError, ValueError):
            pass


class _Interrupts:
    """SIGINT and SIGTERM (a `kill`, a CI timeout) end a run alike: the code
    that writes finishes or undoes its step, then one line and exit 2. The
    signal is also remembered, because a KeyboardInterrupt raised inside an
    SQLite callback can be swallowed by the statement it stops."""

    received = False

    @classmethod
    def install(cls) -> None:
        import signal

        cls.received = False

        def interrupt(signum, frame):  # noqa: ARG001
            cls.received = True
            raise KeyboardInterrupt

        for signum, usual in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL)):
            if signal.getsignal(signum) is usual or signal.getsignal(signum) == usual:
                signal.signal(signum, interrupt)


def run(main: Callable[[argparse.Namespace], int], parser: ArgumentParser, argv: Optional[Sequence[str]] = None) -> NoReturn:
    """Parse arguments, call main, and turn every failure into exit 2."""
    _reopen_closed_streams()
    _safe_streams()
    _Interrupts.install()
    args = parser.parse_args(argv)
    try:
        _configure_engine(args)
        code = main(args)
        stopped = _engine_stop()
        if stopped is not None:  # a check the budget cut short was passed over: the result is incomplete
            sys.stderr.write(f"{parser.prog}: error: {stopped} The result above is incomplete.\n")
            code = EXIT_PROBLEMS
    except MigrationWriterError as exc:
        sys.stderr.write(f"{parser.prog}: error: {exc}\n")
        code = getattr(exc, "exit_code", EXIT_ERROR)
    except KeyboardInterrupt:
        sys.stderr.write(f"{parser.prog}: interrupted.\n")
        code = EXIT_ERROR
    except BrokenPipeError:
        code = EXIT_ERROR
    except OSError as exc:
        name = f"{exc.filename}: " if exc.filename else ""
        sys.stderr.write(f"{parser.prog}: error: {name}{exc.strerror or exc}.\n")
        code = EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the contract is "never a traceback"
        stopped, damage = _engine_stop(), _database_damage(exc)
        if stopped is not None:
            sys.stderr.write(f"{parser.prog}: error: {stopped}\n")
            code = EXIT_PROBLEMS
        elif damage is not None:
            sys.stderr.write(f"{parser.prog}: error: {damage}\n")
            code = EXIT_ERROR
        else:
            sys.stderr.write(f"{parser.prog}: internal error ({type(exc).__name__}: {exc}); please report it.\n")
            code = EXIT_ERROR
    if _Interrupts.received and code != EXIT_ERROR:
        sys.stderr.write(f"{parser.prog}: interrupted.\n")
        code = EXIT_ERROR
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass
    raise SystemExit(code)
