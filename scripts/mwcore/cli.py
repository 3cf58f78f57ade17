"""The thin shell every script shares: arguments, output, exit codes.

Exit codes: 0 fine, 1 problems found, 2 usage or I/O error. Errors are one
sentence on stderr, never a traceback. `--json` output is one compact line.
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


def make_parser(prog: str, description: str, examples: str) -> ArgumentParser:
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
    return parser


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
    facts.dir = display_path(facts.dir) if not arg else facts.dir
    return facts


def resolve_dir(arg: Optional[str], ext: str = "sql") -> "tuple[Path, str]":
    """The migrations folder and a note on how it was chosen."""
    if arg:
        return _checked_dir(arg), "given with --dir"
    facts = resolve_project(None, ext)
    return facts.dir, facts.dir_source


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
        code = main(args)
    except MigrationWriterError as exc:
        sys.stderr.write(f"{parser.prog}: error: {exc}\n")
        code = EXIT_ERROR
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
        sys.stderr.write(f"{parser.prog}: internal error ({type(exc).__name__}: {exc}); please report it.\n")
        code = EXIT_ERROR
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass
    raise SystemExit(code)
