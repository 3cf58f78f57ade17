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
        path = Path(arg)
        if not path.exists():
            raise MigrationWriterError(f"{arg}: no such folder.")
        if not path.is_dir():
            raise MigrationWriterError(f"{arg}: is a file, not a folder.")
        if not os.access(path, os.R_OK | os.X_OK):
            raise MigrationWriterError(f"{arg}: permission denied.")
        return path, "given with --dir"
    from .project import detect_migrations_dir

    detection = detect_migrations_dir(Path.cwd(), ext)
    note = detection.reason
    if detection.others:
        note += "; also found: " + ", ".join(str(display_path(p)) for p in detection.others)
    return display_path(detection.path), note


def display_path(path: Path) -> Path:
    """The path relative to the current directory when it is below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def emit_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, separators=(",", ":"), ensure_ascii=False) + "\n")


def _safe_streams() -> None:
    # File names may hold undecodable bytes; never let printing them fail.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")  # type: ignore[attr-defined]
        except (AttributeError, ValueError):
            pass


def run(main: Callable[[argparse.Namespace], int], parser: ArgumentParser, argv: Optional[Sequence[str]] = None) -> NoReturn:
    """Parse arguments, call main, and turn every failure into exit 2."""
    _safe_streams()
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
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass
    raise SystemExit(code)
