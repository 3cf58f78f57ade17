#!/usr/bin/env python3
"""Lint golang-migrate SQLite migrations before they run (rules: references/rules.md)."""

from __future__ import annotations

import argparse
import dataclasses
import sqlite3
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mwcore import cli  # noqa: E402
from mwcore.errors import MigrationWriterError, UsageError  # noqa: E402
from mwcore.folder import parse_name, scan_folder  # noqa: E402
from mwcore.lint import ERROR, INFO, LintOptions, LintResult, expand_codes, lint_folder, sorted_rules  # noqa: E402

EXAMPLES = """\
  validate_pairs.py                                   # autodetect the folder, lint every migration
  validate_pairs.py --dir db/migrations --json        # one JSON line for tools
  validate_pairs.py --format github                   # GitHub Actions annotations
  validate_pairs.py --select MW1,MW3 --ignore MW502   # codes, groups (MW3 = MW3xx) or rule names
  validate_pairs.py pkg/storage/sqlite/migrations/000005_x.up.sql   # report on these files only
  validate_pairs.py --foreign-keys on --tx-wrap off  # override what the Go source says
  validate_pairs.py --list-rules

Every up file runs, in version order, on a scratch in-memory SQLite database
(never yours); each down runs right after its up and must give back the
schema from before it. Foreign keys, x-no-tx-wrap and the migrations table
are read from the Go source (validate_pairs.py --json prints them as
"project"); when the source cannot tell whether foreign keys are enforced
while migrating, the files are checked both ways and a finding only one way
has says which. SQL functions the app registers run as stand-ins. Findings: path:line:col: severity: message [CODE].
Silence one with a comment line above the statement (or at the top of the
file, followed by a blank line, for the whole file):
  -- migration-writer: ignore MW501 table is obsolete since 000012"""

SQL_PATTERN = "sql"


def build_parser() -> cli.ArgumentParser:
    parser = cli.make_parser(
        "validate_pairs.py",
        "Check golang-migrate SQLite migrations for what breaks before they run: file names and versions, "
        "SQL that SQLite rejects, transactions, table rebuilds, downs that do not undo their ups, data loss.",
        EXAMPLES,
        runs_sql=True,
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="report only on these files (the whole folder is still read)")
    parser.add_argument("--format", choices=("text", "json", "github"), default=None, help="output format (default text; --json = --format json)")
    parser.add_argument("--select", metavar="CODES", help="only these rules: codes, groups (MW2, MW2xx) or names, comma-separated")
    parser.add_argument("--ignore", metavar="CODES", help="skip these rules (same forms as --select)")
    downs = parser.add_mutually_exclusive_group()
    downs.add_argument("--require-down", action="store_true", help="an up without a down is an error (the default)")
    downs.add_argument("--allow-missing-down", action="store_true", help="an up without a down is only a note (up-only projects)")
    parser.add_argument("--foreign-keys", choices=("on", "off"), help="foreign-key enforcement while migrating "
                        "(default: as the connection golang-migrate gets sets it; both ways when the Go source cannot tell)")
    cli.add_tx_wrap_option(parser)
    parser.add_argument("--ext", default=SQL_PATTERN, metavar="EXT", help="migration file extension (default: sql)")
    parser.add_argument("--list-rules", action="store_true", help="print the rule catalogue and exit")
    cli.add_sql_function_option(parser)
    return parser


def main(args: argparse.Namespace) -> int:
    fmt = "json" if args.json else (args.format or "text")
    if args.list_rules:
        return _list_rules(fmt)
    options = options_from_args(args)
    declared = cli.sql_functions(args)
    targets = _targets(args.dir, args.paths, options.ext, declared)
    results: List[Tuple[Path, str, LintResult]] = []
    projects = []
    for directory, how, only, project in targets:
        options.only = only
        options.project = project
        results.append((directory, how, _lint(directory, options, project)))
        projects.append(project)
    if fmt == "json":
        _print_json(results, projects)
    else:
        _print_findings(results, github=fmt == "github", projects=projects)
    return cli.EXIT_PROBLEMS if any(r.errors for _d, _h, r in results) else cli.EXIT_OK


def _lint(directory: Path, options: LintOptions, project) -> LintResult:
    """lint_folder, twice (foreign keys off and on) when the project cannot
    tell and a migration declares a foreign key."""
    from mwcore.bothways import enforcement_matters, merge_lint
    from mwcore.folder import read_sql

    if options.foreign_keys is not None or project.foreign_keys is not None:
        return lint_folder(directory, options)
    folder = scan_folder(directory, options.ext)
    texts = {}
    for f in folder.all_files():
        try:
            texts[f.name] = read_sql(folder.file_path(f)).text
        except MigrationWriterError:
            continue
    if not enforcement_matters(texts):
        return lint_folder(directory, options)
    runs = []
    for enforce in (False, True):
        options.foreign_keys = enforce
        runs.append(lint_folder(directory, options))
    options.foreign_keys = None
    merged = merge_lint(*runs)
    merged.both_ways = True
    merged.settings = dataclasses.replace(merged.settings, foreign_keys_known=False,
                                          foreign_keys_source=f"unknown: {project.foreign_keys_evidence}")
    return merged


def options_from_args(args: argparse.Namespace) -> LintOptions:
    ext = args.ext.lstrip(".")
    if not ext or "/" in ext or "\\" in ext:
        raise UsageError(f"--ext {args.ext!r} is not a file extension; use e.g. sql.")
    return LintOptions(
        ext=ext,
        allow_missing_down=args.allow_missing_down,
        foreign_keys=None if args.foreign_keys is None else args.foreign_keys == "on",
        no_tx_wrap=cli.no_tx_wrap_override(args),
        select=expand_codes(args.select, "--select"),
        ignore=expand_codes(args.ignore, "--ignore") or set(),
    )


def _targets(dir_arg: Optional[str], paths: List[str], ext: str, declared) -> List[tuple]:
    """(folder, how it was chosen, file names to report on or None for all, project facts)."""
    from mwcore.project import project_facts

    if not paths:
        project = cli.resolve_project(dir_arg, ext, declared)
        return [(project.dir, project.dir_source, None, project)]
    by_folder: Dict[Path, set] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            raise UsageError(f"{raw}: is a folder; pass it with --dir and list files as PATHs.")
        if not path.exists() and not path.is_symlink():
            raise UsageError(f"{raw}: no such file.")
        by_folder.setdefault(path.parent, set()).add(path.name)
    if dir_arg:
        project = cli.resolve_project(dir_arg, ext, declared)
        inside = {name for parent, names in by_folder.items() if _same(parent, project.dir) for name in names}
        return [(project.dir, project.dir_source, inside, project)]
    out = []
    for parent, names in sorted(by_folder.items()):
        folder = scan_folder(parent, ext)
        if folder.migrations or folder.near_misses or any(parse_name(n) for n in names):
            project = project_facts(parent, ext=ext, declared=declared)
            out.append((cli.display_path(parent), "the folder of the given files", names, project))
    return out


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _list_rules(fmt: str) -> int:
    rules = sorted_rules()
    if fmt == "json":
        cli.emit_json({"status": "ok", "rules": [
            {"code": r.code, "name": r.name, "severity": r.severity, "group": r.group, "summary": r.summary} for r in rules
        ]})
    else:
        for r in rules:
            print(f"{r.code} {r.severity:<7} {r.name:<32} {r.summary}")
        print("Details, examples and fixes: references/rules.md")
    return cli.EXIT_OK


def _display(directory: Path, name: str) -> str:
    from mwcore.folder import printable

    return printable(str(directory / name))


def _print_json(results: List[Tuple[Path, str, LintResult]], projects: list) -> None:
    findings, settings = [], {}
    totals = {"errors": 0, "warnings": 0, "infos": 0, "files": 0, "suppressed": 0}
    for directory, _how, result in results:
        findings.extend(f.as_dict(_display(directory, f.file)) for f in result.findings)
        totals["errors"] += result.errors
        totals["warnings"] += result.warnings
        totals["infos"] += result.infos
        totals["files"] += result.files
        totals["suppressed"] += result.suppressed
        s = result.settings
        both = result.both_ways
        settings = {
            "foreign_keys": "both" if both else s.foreign_keys,
            "foreign_keys_assumed": not s.foreign_keys_known and not both,
            "foreign_keys_source": s.foreign_keys_source,
            "no_tx_wrap": s.no_tx_wrap,
            "no_tx_wrap_source": s.no_tx_wrap_source,
            "sqlite_version": sqlite3.sqlite_version,
        }
    dirs = [str(d) for d, _h, _r in results]
    cli.emit_json({
        "status": "problems" if totals["errors"] else "ok",
        "dir": dirs[0] if len(dirs) == 1 else dirs,
        "dir_source": results[0][1] if results else None,
        "project": projects[0].as_json() if projects else None,
        "settings": settings,
        "findings": findings,
        "summary": totals,
    })


def _escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _print_findings(results: List[Tuple[Path, str, LintResult]], *, github: bool, projects: list) -> None:
    level = {ERROR: "error", INFO: "notice"}
    for directory, _how, result in results:
        for f in result.findings:
            path = _display(directory, f.file)
            text = f.message + (f"; fix: {f.hint}" if f.hint else "")
            if github:
                kind = level.get(f.severity, "warning")
                print(f"::{kind} file={_escape(path, True)},line={f.line},col={f.col},"
                      f"title={_escape(f'{f.code} {f.name}', True)}::{_escape(text)}")
            else:
                print(f"{path}:{f.line}:{f.col}: {f.severity}: {text} [{f.code}]")
    for (directory, how, result), project in zip(results, projects):
        note = _settings_note(result)
        print(_summary(directory, how, result) + (f"; {note}" if note else ""))
        if not github:
            print(project.summary())
    if not results:
        print("ok: none of the given files is in a migrations folder; nothing to check")


def _summary(directory: Path, how: str, result: LintResult) -> str:
    suppressed = f"; {result.suppressed} suppressed" if result.suppressed else ""
    where = f"{directory} ({how})"
    if not result.findings:
        return f"ok: {result.files} migration files in {where}, no problems{suppressed}"
    counts = [f"{result.errors} error{'s' if result.errors != 1 else ''}",
              f"{result.warnings} warning{'s' if result.warnings != 1 else ''}"]
    if result.infos:
        counts.append(f"{result.infos} note{'s' if result.infos != 1 else ''}")
    return f"{', '.join(counts)} in {result.files} migration files in {where}{suppressed}"


def _settings_note(result: LintResult) -> Optional[str]:
    """How the checks that depend on the project were run (the project line
    below says why; a command-line override says so here)."""
    s = result.settings
    codes = {f.code for f in result.findings}
    notes = []
    given = "given on the command line"
    if result.both_ways:
        notes.append("foreign keys off and on (the Go source cannot tell; --foreign-keys on|off settles it)")
    elif result.referenced_drop or codes & {"MW203", "MW305", "MW404", "MW504"}:
        notes.append(f"foreign keys {'on' if s.foreign_keys else 'off'}" +
                     (" (--foreign-keys)" if s.foreign_keys_source == given else ""))
    if any(c.startswith("MW2") for c in codes):
        wrap = "x-no-tx-wrap=true" if s.no_tx_wrap else "each file in golang-migrate's transaction"
        notes.append(wrap + (" (--no-tx-wrap/--tx-wrap)" if s.no_tx_wrap_source == given else ""))
    return "checked with " + "; ".join(notes) if notes else None


if __name__ == "__main__":
    cli.run(main, build_parser())
