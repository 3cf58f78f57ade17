#!/usr/bin/env python3
"""Lint golang-migrate SQLite migrations before they run (rules: references/rules.md)."""

from __future__ import annotations

import argparse
import dataclasses
import sqlite3
import sys
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mwcore import cli  # noqa: E402
from mwcore.errors import MigrationWriterError, UsageError  # noqa: E402
from mwcore.folder import parse_name, scan_folder  # noqa: E402
from mwcore.lint import ERROR, INFO, WARNING, LintOptions, LintResult, expand_codes, lint_folder, sorted_rules  # noqa: E402
from mwcore.report import (  # noqa: E402
    group_items, groups_json, hidden_line, notice_lines, notices_json, render_text, scope_notices, severity_counts, versions_text)
from mwcore.scope import ALL, NEW, Scope  # noqa: E402

EXAMPLES = """\
  validate_pairs.py                                   # check everything, list what is new (git decides)
  validate_pairs.py --new                             # after writing a pair: check only the new versions
  validate_pairs.py --all                             # every finding of every version, shipped ones too
  validate_pairs.py --since v1.4.0                    # new = changed since that tag or commit
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
has says which. SQL functions the app registers run as stand-ins.

Output: one line per finding, path:line:col: severity: message; fix: ... [CODE];
the same finding in several files is one line with the first places, a fix
is printed once per code, and suggested SQL follows on indented lines. Text
stays under 4 KB (a last line counts what did not fit; -v lists everything).
--format github prints one annotation per place (each lands on its own line
of the pull request), with no cap.

A folder with no down file among its shipped versions is up-only: no down is
asked for (as with --allow-missing-down); --require-down asks anyway. A
comment-only up is a placeholder, not an error, where Go code runs at that
version (a hook table keyed by it, `case N:`, m.Migrate(N)).

Silence one finding with a comment line above the statement (or at the top
of the file, followed by a blank line, for the whole file):
  -- migration-writer: ignore MW501 table is obsolete since 000012

""" + cli.SCOPE_HELP

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
    cli.add_scope_options(parser, from_version=True)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="list every place of every finding (no 4 KB cap; --all implies it); the scope stays as chosen")
    parser.add_argument("--format", choices=("text", "json", "github"), default=None, help="output format (default text; --json = --format json)")
    parser.add_argument("--select", metavar="CODES", help="only these rules: codes, groups (MW2, MW2xx) or names, comma-separated")
    parser.add_argument("--ignore", metavar="CODES", help="skip these rules (same forms as --select)")
    downs = parser.add_mutually_exclusive_group()
    downs.add_argument("--require-down", action="store_true",
                       help="an up without a down is an error, even in an up-only folder (the default elsewhere)")
    downs.add_argument("--allow-missing-down", action="store_true",
                       help="an up without a down is fine (up-only projects; detected when no shipped version has a down)")
    parser.add_argument("--foreign-keys", choices=("on", "off"), help="foreign-key enforcement while migrating "
                        "(default: as the connection golang-migrate gets sets it; both ways when the Go source cannot tell)")
    cli.add_tx_wrap_option(parser)
    parser.add_argument("--ext", default=SQL_PATTERN, metavar="EXT", help="migration file extension (default: sql)")
    parser.add_argument("--list-rules", action="store_true", help="print the rule catalogue and exit")
    cli.add_sql_function_option(parser)
    return parser


class Run:
    """One folder's check and what to print about it."""

    def __init__(self, directory: Path, how: str, project, scope: Scope, result: LintResult) -> None:
        self.directory, self.how, self.project, self.scope, self.result = directory, how, project, scope, result
        shows = scope.shows_name
        self.shown = [f for f in result.findings if shows(f.file)]
        self.hidden = [f for f in result.findings if not shows(f.file)]
        self.notices = scope_notices(scope, result.folder, lambda name: _display(directory, name))
        self.items = [f.item(_display(directory, f.file)) for f in self.shown]

    @property
    def failed(self) -> bool:
        return any(f.severity == ERROR for f in self.shown) or any(n.severity == ERROR for n in self.notices)

    def new_files(self) -> int:
        return sum(len(m.files) for m in self.result.folder.migrations if self.scope.is_new(m.version))


def main(args: argparse.Namespace) -> int:
    fmt = "json" if args.json else (args.format or "text")
    if args.list_rules:
        return _list_rules(fmt)
    verbose = args.verbose or args.scope_mode == ALL  # --all lists everything
    options = options_from_args(args)
    declared = cli.sql_functions(args)
    targets = _targets(args.dir, args.paths, options.ext, declared)
    runs: List[Run] = []
    for directory, how, only, project in targets:
        folder = scan_folder(directory, options.ext)
        scope = _scope(args, folder, only)
        options.only = only
        options.project = project
        options.scope = scope
        runs.append(Run(directory, how, project, scope, _lint(directory, options, project)))
    if fmt == "json":
        _print_json(runs, verbose)
    elif fmt == "github":
        _print_github(runs)
    else:
        _print_text(runs, verbose)
    return cli.EXIT_PROBLEMS if any(run.failed for run in runs) else cli.EXIT_OK


def _scope(args: argparse.Namespace, folder, only: Optional[set]) -> Scope:
    """The scope options; with PATH arguments the given files' versions are
    the new ones and every finding on them is listed (--new: the others are
    only applied)."""
    if only is None:
        return cli.scope_from_args(args, folder)
    if args.since is not None or args.from_version is not None:
        raise UsageError("PATH arguments choose the files to check; --since and --from cannot be added to them.")
    given = {p.version for p in map(parse_name, only) if p is not None}
    mode = NEW if args.scope_mode == NEW else ALL
    versions = folder.versions
    return Scope(frozenset(v for v in versions if v in given), frozenset(v for v in versions if v not in given),
                 "the files given", mode=mode)


def _lint(directory: Path, options: LintOptions, project) -> LintResult:
    """lint_folder, twice (foreign keys off and on) when the project cannot
    tell and a migration declares a foreign key."""
    from mwcore.bothways import enforcement_matters, merge_lint
    from mwcore.lint.engine import read_cached

    if options.foreign_keys is not None or project.foreign_keys is not None:
        return lint_folder(directory, options)
    folder = scan_folder(directory, options.ext)
    options.read_cache = {}  # each file is read once for this check and both runs
    texts = {}
    for f in folder.all_files():
        if options.scope is not None and not options.checks(f.version) and f.direction != "up":
            continue
        try:
            texts[f.name] = read_cached(folder.file_path(f), options.read_cache).text
        except MigrationWriterError:
            continue
    if not enforcement_matters(texts):
        result = lint_folder(directory, options)
        options.read_cache = None
        return result
    runs = []
    options.foreign_keys_source = "one of two runs: the Go source cannot tell"
    # --new: the shipped ups are applied once, enforcement off, for both runs.
    options.prefix = {} if options.scope is not None and options.scope.mode == NEW else None
    for enforce in (False, True):
        options.foreign_keys = enforce
        runs.append(lint_folder(directory, options))
    if options.prefix:
        options.prefix["conn"].close()
    options.foreign_keys = options.foreign_keys_source = options.prefix = options.read_cache = None
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
        require_down=args.require_down,
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


def _summary(run: Run) -> str:
    """The run's first line: ok or the counts, what was new and who said so."""
    result, scope = run.result, run.scope
    where = f"{run.directory} ({run.how})"
    suppressed = f"; {result.suppressed} suppressed" if result.suppressed else ""
    counts = severity_counts(run.shown)
    if scope.mode == ALL or scope.how == "the files given":
        files = f"{result.files} migration files in {where}"
        head = f"ok: {files}, no problems" if not run.shown else f"{counts} in {files}"
        return head + suppressed
    new = sorted(scope.new)
    if not new:
        checked = "nothing else to check" if scope.mode == NEW else f"{result.files} shipped files checked"
        head = f"ok: no new migration in {where}; {checked}" if not run.shown else f"{counts} in {where}"
        return head + f"; new = {scope.how}" + suppressed
    if not scope.shipped:
        files = f"{result.files} migration files in {where}"
        head = f"ok: {files}, no problems" if not run.shown else f"{counts} in {files}"
        return head + f"; new = {scope.how}" + suppressed
    files = f"{run.new_files()} new migration files ({versions_text(new)}) in {where}"
    head = f"ok: {files}, no problems" if not run.shown else f"{counts} in {files}"
    applied = f"; {len(scope.shipped)} shipped versions only applied" if scope.mode == NEW else ""
    return head + f"; new = {scope.how}" + applied + suppressed


def _extra_lines(run: Run, verbose: bool) -> List[str]:
    """Lines about the shipped history, each at most once: the chain that
    could not be built (--new), the up-only convention, the hidden findings."""
    out = []
    failures = run.result.shipped_failures
    if failures:
        first = failures[0]
        more = len(failures) - 1
        out.append(f"shipped {_display(run.directory, first.file)}:{first.line} fails on the scratch database "
                   f"({first.error}); the new versions are checked on the schema without that statement"
                   + (f" ({more} more shipped statement{'s' if more != 1 else ''} failed; --all shows them)" if more else ""))
    if run.result.up_only:
        which = "shipped version" if len(run.scope.shipped) >= 2 else "version"
        out.append(f"up-only folder: no {which} has a down file, so none is asked for "
                   "(--require-down asks); `down` moves the version back without undoing anything")
    if run.hidden:
        versions = {p.version for p in (parse_name(f.file) for f in run.hidden) if p is not None}
        out.append(hidden_line(run.hidden, len(versions) or 1))
    return out


def _print_text(runs: List[Run], verbose: bool) -> None:
    for run in runs:
        for line in notice_lines(run.notices, verbose=verbose) + render_text(group_items(run.items), verbose=verbose):
            print(line)
    for run in runs:
        note = _settings_note(run)
        print(_summary(run) + (f"; {note}" if note else ""))
        for line in _extra_lines(run, verbose):
            print(line)
        print(run.project.summary())
    if not runs:
        print("ok: none of the given files is in a migrations folder; nothing to check")


def _escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _print_github(runs: List[Run]) -> None:
    """One workflow annotation per place: GitHub shows each on its own line
    of the pull request, so nothing is grouped or capped here."""
    level = {ERROR: "error", INFO: "notice"}
    for run in runs:
        for notice in run.notices:
            print(f"::{level.get(notice.severity, 'warning')} file={_escape(notice.path, True)}::{_escape(notice.message)}")
        for f in run.shown:
            path = _display(run.directory, f.file)
            text = f.message + (f"; fix: {f.hint}" if f.hint else "") + (f"\n{f.sql}" if f.sql else "")
            print(f"::{level.get(f.severity, 'warning')} file={_escape(path, True)},line={f.line},col={f.col},"
                  f"title={_escape(f'{f.code} {f.name}', True)}::{_escape(text)}")
    for run in runs:
        note = _settings_note(run)
        print(_summary(run) + (f"; {note}" if note else ""))
        for line in _extra_lines(run, False):
            print(line)
    if not runs:
        print("ok: none of the given files is in a migrations folder; nothing to check")


def _print_json(runs: List[Run], verbose: bool) -> None:
    findings: List[dict] = []
    totals = {"errors": 0, "warnings": 0, "infos": 0, "files": 0, "suppressed": 0, "not_shown": 0}
    settings: dict = {}
    extra: dict = {}
    for run in runs:
        result = run.result
        groups, left_out = groups_json(group_items(run.items), verbose=verbose)
        findings.extend(groups)
        totals["errors"] += sum(1 for f in run.shown if f.severity == ERROR)
        totals["warnings"] += sum(1 for f in run.shown if f.severity == WARNING)
        totals["infos"] += sum(1 for f in run.shown if f.severity == INFO)
        totals["files"] += result.files
        totals["suppressed"] += result.suppressed
        totals["not_shown"] += left_out
        s = result.settings
        settings = {
            "foreign_keys": "both" if result.both_ways else s.foreign_keys,
            "no_tx_wrap": s.no_tx_wrap,
            "sqlite_version": sqlite3.sqlite_version,
        }
        if not s.foreign_keys_known and not result.both_ways:
            settings["foreign_keys_assumed"] = True
        given = [name for name, source in (("foreign_keys", s.foreign_keys_source), ("tx_wrap", s.no_tx_wrap_source))
                 if source == "given on the command line"]
        if given:
            settings["given"] = given
        extra["scope"] = run.scope.as_dict()
        if run.notices:
            extra["edited"] = notices_json(run.notices)
        if run.hidden:
            versions = {p.version for p in (parse_name(f.file) for f in run.hidden) if p is not None}
            extra["shipped"] = {"findings": len(run.hidden), "migrations": len(versions),
                                "errors": sum(1 for f in run.hidden if f.severity == ERROR)}
        if result.shipped_failures:
            extra["shipped_failures"] = [{"path": f"{_display(run.directory, f.file)}:{f.line}", "error": f.error}
                                         for f in result.shipped_failures[:JSON_FAILURES]]
        if result.up_only:
            extra["up_only"] = True
    dirs = [str(run.directory) for run in runs]
    payload = {
        "status": "problems" if any(run.failed for run in runs) else "ok",
        "dir": dirs[0] if len(dirs) == 1 else dirs,
        "project": runs[0].project.as_json() if runs else None,
        "settings": settings,
        **extra,
        "findings": findings,
        # Zero counts of infos and suppressed findings say nothing: left out.
        "summary": {k: v for k, v in totals.items() if v or k in ("errors", "warnings", "files")},
    }
    cli.emit_json(payload)


JSON_FAILURES = 5


def _settings_note(run: Run) -> Optional[str]:
    """How the checks that depend on the project were run (the project line
    below says why; a command-line override says so here), for the findings
    shown."""
    result = run.result
    s = result.settings
    codes = {f.code for f in run.shown}
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
