#!/usr/bin/env python3
"""Replay every migration up, down and up again on a scratch SQLite database."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path
from typing import Callable, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mwcore import cli  # noqa: E402
from mwcore.errors import MigrationWriterError, UsageError  # noqa: E402
from mwcore.folder import MigrationFolder, printable, read_sql, scan_folder  # noqa: E402

EXAMPLES = """\
  verify_migrations.py                          # autodetect the folder, replay every version
  verify_migrations.py --dir db/migrations --json
  verify_migrations.py --from 12                # check versions 12 and up (lower ones are applied unchecked)
  verify_migrations.py --db app.db              # test the pending versions against a COPY of app.db
  verify_migrations.py --keep /tmp/mw-replay    # also save the scratch databases there
  verify_migrations.py --db app.db --timeout 60 # give each file 60 s on a large database

The replay runs golang-migrate's own protocol (schema_migrations, one
transaction per file, dirty on failure) on a scratch database: every up in
order, then every down one step at a time, then every up again. Per version
it reports: up applies; down applies; roundtrip (the schema after the down
equals the one before the up); reup (the up applies again to the same
schema); data (synthetic rows that existed before the up are still there
after the up and after the down); integrity (no new foreign_key_check or
integrity_check findings; after an up, the triggers it may reach still fire).
Each status is ok, failed, missing, skipped or differs, or data-dependent: a
warning (exit 0) for a step that fails only with the synthetic rows and
passes on the same state without them. With --db, pre-checks name the real
rows that break a version (duplicates for a new UNIQUE index, NULLs for NOT
NULL, rows with no parent for a foreign key, rows a CHECK rejects).
Foreign keys and x-no-tx-wrap follow the project's Go source unless
--foreign-keys/--tx-wrap say otherwise; when the source cannot tell whether
foreign keys are enforced while migrating, the chain is replayed both ways
and a problem only one way has says which. SQL functions the app registers
run as stand-ins (--sql-function declares a closer one); the versions that
call them are named, and their data results are unchecked. The real
database given with --db is copied byte for byte into a private temporary
folder and only the copy is opened. Each file gets --timeout seconds
(statements past it are reported at their line) and the run 12 times that;
ATTACH, VACUUM INTO, load_extension() and PRAGMAs that reach outside the
database are refused and reported."""


def build_parser() -> cli.ArgumentParser:
    parser = cli.make_parser(
        "verify_migrations.py",
        "Replay the migrations on a scratch SQLite database with golang-migrate's semantics "
        "(up all, down one step at a time, up all again) and prove for every version that the down "
        "restores the schema and the rows.",
        EXAMPLES,
        runs_sql=True,
    )
    parser.add_argument("--from", dest="from_version", metavar="VERSION", help="first version to check (lower ones are applied without checks)")
    parser.add_argument("--to", dest="to_version", metavar="VERSION", help="last version to check (higher ones are not run)")
    parser.add_argument("--no-data", action="store_true", help="do not insert synthetic rows or check that rows survive")
    parser.add_argument("--allow-missing-down", action="store_true", help="accept versions without a down file (up-only versions)")
    parser.add_argument("--db", metavar="PATH", help="start from a copy of this SQLite database (the file itself is never opened by SQLite, never written)")
    parser.add_argument("--keep", metavar="DIR", help="save the scratch database where golang-migrate stops (stop.db) and at the end (final.db) in DIR (new or empty)")
    parser.add_argument("--dry-run", action="store_true", help="with --keep: replay, but write nothing; report the files --keep would write")
    parser.add_argument("--foreign-keys", choices=("auto", "on", "off"), default="auto",
                        help="foreign-key enforcement during the replay (default auto: as the connection golang-migrate "
                             "gets sets it; both ways when the Go source cannot tell)")
    cli.add_tx_wrap_option(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every version's row, even when there are many and all are ok")
    parser.add_argument("--ext", default="sql", metavar="EXT", help="migration file extension (default: sql)")
    cli.add_sql_function_option(parser)
    return parser


def _version_arg(text: Optional[str], flag: str) -> Optional[int]:
    if text is None:
        return None
    if not text.isdigit() or not text.isascii():
        raise UsageError(f"{flag} {text!r} is not a version; give the number, e.g. {flag} 3 or {flag} 000003.")
    return int(text)


def main(args: argparse.Namespace) -> int:
    from mwcore.bothways import enforcement_matters, merge_replays
    from mwcore.replay import ReplayOptions, replay, start_from
    from mwcore.sqlfuncs import calls

    low, high = _version_arg(args.from_version, "--from"), _version_arg(args.to_version, "--to")
    if low is not None and high is not None and low > high:
        raise UsageError(f"--from {low} is above --to {high}; nothing would be checked.")
    if args.dry_run and not args.keep:
        raise UsageError("--dry-run only makes sense with --keep DIR (without --keep nothing is written).")
    ext = args.ext.lstrip(".")
    project = cli.resolve_project(args.dir, ext, declared=cli.sql_functions(args))
    directory, how = project.dir, project.dir_source
    folder = scan_folder(directory, ext)
    texts = {f.name: read_sql(folder.file_path(f)).text for f in folder.all_files()}
    modes, fk_source = _fk_modes(args.foreign_keys, project, texts, enforcement_matters)
    override = cli.no_tx_wrap_override(args)
    if override is None:
        no_tx_wrap, wrap_source = bool(project.no_tx_wrap), project.tx_wrap_evidence
    else:
        no_tx_wrap, wrap_source = override, f"--tx-wrap {'off' if override else 'on'}"
    in_range = [m for m in folder.migrations if (low is None or m.version >= low) and (high is None or m.version <= high)]
    if folder.migrations and not in_range:
        raise UsageError(f"no migration in {directory} is between {_bounds(low, high)}; "
                         f"its versions run from {folder.versions[0]} to {folder.versions[-1]}.")
    keep_dir = Path(args.keep) if args.keep else None
    kept: List[str] = []
    if keep_dir is not None:
        _check_keep_dir(keep_dir)
    reports = []
    for index, foreign_keys in enumerate(modes):
        start = start_from(Path(args.db) if args.db else None, foreign_keys=foreign_keys,
                           functions=project.sql_functions)
        options = ReplayOptions(
            foreign_keys=foreign_keys,
            no_tx_wrap=no_tx_wrap,
            migrations_table=project.migrations_table,
            check_data=not args.no_data,
            allow_missing_down=args.allow_missing_down,
            from_version=low,
            to_version=high,
            app_sqlite_version=project.app_sqlite.version if project.app_sqlite else None,
            # With two runs, --keep saves the first (enforcement off).
            keep=_keeper(keep_dir, args.dry_run, kept) if keep_dir and index == 0 else None,
            sql_functions=tuple(project.sql_functions),
            real_db=bool(args.db),
        )
        reports.append(replay(folder, texts, start, options))
    report = reports[0] if len(reports) == 1 else merge_replays(*reports)
    stand_ins = _stand_ins(folder, texts, project.sql_functions, calls)
    for step in report.steps:
        if _version_text_of(folder, step.version) in stand_ins:
            names = ", ".join(n + "()" for n in stand_ins[_version_text_of(folder, step.version)])
            step.notes.append(f"ran with a stand-in for {names}; its data results are unchecked")
    context = {
        "directory": directory, "how": how, "project": project, "fk_source": fk_source, "wrap_source": wrap_source,
        "modes": modes, "db": args.db, "kept": kept, "dry_run": args.dry_run, "folder": folder,
        "stand_ins": stand_ins,
    }
    if args.json:
        cli.emit_json(_payload(report, context))
    else:
        _print_text(report, context, args.verbose)
    return cli.EXIT_OK if report.ok else cli.EXIT_PROBLEMS


def _fk_modes(flag: str, project, texts, matters):
    """The enforcement(s) to replay with, and why."""
    if flag in ("on", "off"):
        return [flag == "on"], f"--foreign-keys {flag}"
    if project.foreign_keys is not None:
        return [project.foreign_keys], project.foreign_keys_evidence
    if not matters(texts):
        return [False], f"unknown ({project.foreign_keys_evidence}), but no migration declares a foreign key"
    return [False, True], f"unknown ({project.foreign_keys_evidence}): replayed off and on"


def _stand_ins(folder: MigrationFolder, texts, functions, calls):
    """{version text: names of the app's SQL functions its files call}."""
    names = [f.name for f in functions]
    out = {}
    if not names:
        return out
    for migration in folder.migrations:
        used: List[str] = []
        for migration_file in migration.files:
            for name in calls(texts.get(migration_file.name, ""), names):
                if name not in used:
                    used.append(name)
        if used:
            out[migration.version_text] = used
    return out


def _version_text_of(folder: MigrationFolder, version: int) -> str:
    migration = folder.find(version)
    return migration.version_text if migration else str(version)


def _bounds(low: Optional[int], high: Optional[int]) -> str:
    if low is not None and high is not None:
        return f"--from {low} and --to {high}"
    return f"--from {low}" if low is not None else f"--to {high}"


def _check_keep_dir(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise UsageError(f"--keep {path}: is a file; give a new or empty folder.")
    if path.is_dir() and any(path.iterdir()):
        raise UsageError(f"--keep {path}: the folder is not empty and --keep never overwrites files; give a new or empty folder.")


def _keeper(folder: Path, dry_run: bool, kept: List[str]) -> Callable[[str, sqlite3.Connection], None]:
    def keep(label: str, conn: sqlite3.Connection) -> None:
        target = folder / f"{label}.db"
        kept.append(str(target))
        if dry_run:
            return
        from mwcore import engine

        folder.mkdir(parents=True, exist_ok=True)
        if target.exists():
            raise MigrationWriterError(f"{target}: already exists; --keep never overwrites files.")
        engine.save_copy(conn, target)
    return keep


# Output ----------------------------------------------------------------------------


def _step_json(step) -> dict:
    out = {
        "version": step.version,
        "name": step.name,
        **step.statuses(),
        "stops_here": step.stops_here,
        "error": step.error,
        "diff": ({"roundtrip": step.roundtrip_diff, "reup": step.reup_diff}
                 if step.roundtrip_diff or step.reup_diff else None),
    }
    if len(step.problems) > 1:
        out["problems"] = [str(p) for p in step.problems]
    if step.notes:
        out["notes"] = step.notes
    if step.warnings:
        out["warnings"] = [str(w) for w in step.warnings]
    if step.prechecks:
        out["prechecks"] = [c.as_json() for c in step.prechecks]
    return out


def _payload(report, ctx) -> dict:
    options = report.options
    status = "blocked" if report.blocked else ("ok" if report.ok else "problems")
    stop = report.stop
    modes = ctx["modes"]
    return {
        "status": status,
        "dir": str(ctx["directory"]),
        "project": ctx["project"].as_json(),
        "sqlite_version": report.sqlite_version,
        "foreign_keys": "both" if len(modes) > 1 else ("on" if modes[0] else "off"),
        "foreign_keys_source": ctx["fk_source"],
        "tx_wrap": not options.no_tx_wrap,
        "stand_ins": ctx["stand_ins"],
        "data": options.check_data,
        "db": ctx["db"],
        "start_version": report.start_version,
        "steps": [_step_json(s) for s in report.steps],
        "stop": ({"phase": stop.phase, "version": stop.version, "error": stop.error, "dirty_version": stop.dirty_version}
                 if stop else None),
        "blocked": report.blocked,
        "restores": report.restores,
        "kept": ctx["kept"],
        "dry_run": ctx["dry_run"] or None,
        "summary": report.summary(),
        "notes": _run_notes(report, ctx),
    }


def _run_notes(report, ctx) -> List[str]:
    from mwcore.sqlfuncs import stand_in_note

    notes = list(report.notes)
    folder: MigrationFolder = ctx["folder"]
    note = stand_in_note(ctx["stand_ins"], ctx["project"].sql_functions)
    if note:
        notes.append(note)
    if folder.near_misses:
        names = ", ".join(printable(n.name) for n in folder.near_misses[:3])
        notes.append(f"{len(folder.near_misses)} file(s) look like migrations but golang-migrate skips them ({names}); "
                     "they were not replayed")
    if folder.bad_links:
        notes.append(f"{len(folder.bad_links)} migration name(s) are broken symlinks ({printable(folder.bad_links[0])}); "
                     "they were not replayed, and golang-migrate fails when it reaches them")
    if folder.other_ext:
        notes.append(f"{len(folder.other_ext)} file(s) match golang-migrate's pattern with another extension "
                     f"({printable(folder.other_ext[0].name)}); `//go:embed *.sql` leaves them out, `file://` reads them")
    return notes


_COLUMNS = ("up", "down", "roundtrip", "reup", "data", "integrity")


def _print_text(report, ctx, verbose: bool) -> None:
    options = report.options
    steps = report.steps
    start = f"a copy of {ctx['db']}" if ctx["db"] else "a scratch database"
    start += f" (SQLite {report.sqlite_version})"
    if report.start_version >= 0:
        start += f" at version {report.start_version}"
    failing = report.failing()
    count = f"{len(steps)} version{'s' if len(steps) != 1 else ''}"
    where = f"{ctx['directory']} ({ctx['how']})"
    if report.blocked:
        print(f"{where}: nothing replayed.")
    elif not steps and report.start_version >= 0:
        print(f"{where}: nothing to verify: the database is at version {report.start_version} "
              "and no later version is in range.")
    elif not steps:
        print(f"{where}: no migrations to verify.")
    elif report.ok:
        kept = " and the rows" if options.check_data else ""
        allowed = " (missing downs allowed)" if options.allow_missing_down and any(s.down == "missing" for s in steps) else ""
        warned = sum(1 for s in steps if s.warnings)
        if warned:
            allowed += f" ({warned} with a warning)"
        print(f"{where}: all {count} ok{allowed}: up, down, up again on {start}; every down restores the schema{kept}.")
    else:
        print(f"{where}: {len(failing)} of {count} have problems (up, down, up again on {start}).")
    print(_conditions(report, ctx))
    if report.blocked:
        print(f"error: {report.blocked}")
        return
    run_notes = _run_notes(report, ctx)
    if report.ok and not verbose:
        for line in _warning_lines(steps):
            print(f"warning: {line}")
        for note in run_notes:
            print(f"note: {note}")
        _print_kept(ctx)
        return
    shown = steps if verbose or len(steps) <= 20 else failing
    if shown:
        print()
        _print_table(shown, ctx)
    if len(shown) < len(steps):
        print(f"({len(steps) - len(shown)} other versions: all ok; -v lists them)")
    problems = [(s, p) for s in steps for p in s.problems]
    if problems:
        print()
        print("Problems:")
        shown_prechecks = set()
        for step, problem in problems:
            if step.prechecks and step.version not in shown_prechecks:
                shown_prechecks.add(step.version)
                _print_prechecks(step, ctx)
            print(f"- {problem}")
            diff_lines = step.roundtrip_diff if problem.check == "roundtrip" else step.reup_diff if problem.check == "reup" else []
            for line in diff_lines[1:13]:
                print(f"    {line}")
            if len(diff_lines) > 13:
                print(f"    ... and {len(diff_lines) - 13} more (--json lists them)")
    unrun = [s for s in steps if s.prechecks and not s.problems]
    if unrun:
        print()
        for step in unrun:
            _print_prechecks(step, ctx)
    warnings = _warning_lines(steps)
    if warnings:
        print()
        for line in warnings:
            print(f"warning: {line}")
    notes = [(s, n) for s in steps for n in s.notes if not n.startswith("not run:")]
    notes += [(None, n) for n in run_notes]
    if notes:
        print()
        for step, note in notes[:10]:
            print(f"note: {_version_text(ctx, step.version) + ': ' if step else ''}{note}")
        if len(notes) > 10:
            print(f"note: ... and {len(notes) - 10} more notes (--json lists them)")
    not_run = [s for s in steps if any(n.startswith("not run:") for n in s.notes)]
    print()
    if report.stop:
        stop = report.stop
        print(f"golang-migrate's own up/down/up run stops at the {_phase(stop.phase)} of version {stop.version} "
              f"and leaves version {stop.dirty_version} dirty; to recover a database left there: fix the file, "
              f"{_force_hint(ctx, stop, options.no_tx_wrap)}, run again.")
    if not_run:
        print(f"{len(not_run)} later version{'s were' if len(not_run) != 1 else ' was'} not run because an up failed.")
    _print_kept(ctx)
    if not report.ok:
        print("Fix every failing version (and run this again) before writing tests.")


def _warning_lines(steps) -> List[str]:
    """One line per version with warnings: the first, then what else."""
    from mwcore.replay import DATA_DEPENDENT

    lines = []
    for step in steps:
        if not step.warnings:
            continue
        first, rest = step.warnings[0], step.warnings[1:]
        line = str(first)
        also = [_check_name(w.check) for w in rest if getattr(step, w.check, None) == DATA_DEPENDENT]
        others = len(rest) - len(also)
        if also:
            line += f" ({', '.join(also)} too)"
        if others:
            line += f" (and {others} more warning{'s' if others != 1 else ''}: --json lists them)"
        lines.append(line)
    return lines


def _check_name(check: str) -> str:
    return {"up": "the up", "down": "the down", "reup": "the second up"}.get(check, check)


def _print_prechecks(step, ctx) -> None:
    """The rows of the real database that break this version, grouped: one
    line per pre-check with its sample (the queries are in --json)."""
    if step.problems:
        up = next((p.file for p in step.problems if p.file and ".up." in p.file), None) or step.name
        print(f"- {up}: rows of {ctx['db']} that break it (pre-checks; --json has each query):")
    else:
        up = _file_of(ctx, step.version, "up")
        print(f"- {up} (not run): rows of {ctx['db']} (as before the failed up) it may refuse (pre-checks; "
              "--json has each query):")
    for check in step.prechecks:
        print(f"    {check.finding()}")


def _file_of(ctx, version: int, direction: str) -> str:
    folder: MigrationFolder = ctx["folder"]
    migration = folder.find(version)
    found = migration.file(direction) if migration else None
    return found.name if found else str(version)


def _print_kept(ctx) -> None:
    for path in ctx["kept"]:
        print(("would keep " if ctx["dry_run"] else "kept ") + path + (" (dry run)" if ctx["dry_run"] else ""))


def _conditions(report, ctx) -> str:
    """The project's facts, then what the replay did differently, if anything."""
    options = report.options
    extra = []
    modes = ctx["modes"]
    if len(modes) > 1:
        extra.append("replayed with foreign keys off and on")
    elif ctx["fk_source"].startswith("--foreign-keys"):
        extra.append(f"replayed with foreign keys {'on' if modes[0] else 'off'} ({ctx['fk_source']})")
    if ctx["wrap_source"].startswith("--tx-wrap"):
        extra.append("each file in one transaction" if not options.no_tx_wrap else "files not wrapped")
    if not options.check_data:
        extra.append("rows not checked (--no-data)")
    line = ctx["project"].summary()
    return line + (" | " + "; ".join(extra) if extra else "")


def _print_table(shown, ctx) -> None:
    width = max(len(s.name) for s in shown)
    digits = max(7, max(len(_version_text(ctx, s.version)) for s in shown))
    widths = {c: max([_width(c)] + [len(getattr(s, c)) for s in shown]) for c in _COLUMNS}
    print(f"{'version':<{digits}}  " + "  ".join(f"{c:<{widths[c]}}" for c in _COLUMNS) + "  name")
    for step in shown:
        cells = "  ".join(f"{getattr(step, c):<{widths[c]}}" for c in _COLUMNS)
        line = f"{_version_text(ctx, step.version):<{digits}}  {cells}  {step.name:<{width}}"
        if step.stops_here:
            line += "  <- golang-migrate stops here"
        print(line.rstrip())


def _width(column: str) -> int:
    return max(len(column), 7)


def _phase(phase: str) -> str:
    return {"up": "up", "down": "down", "reup": "second up"}.get(phase, phase)


def _force_hint(ctx, stop, no_tx_wrap: bool) -> str:
    # golang-migrate: a failed up of N leaves N dirty with the schema at the
    # previous version (the file was rolled back); a failed down of N leaves
    # the previous version dirty with the schema still at N.
    if stop.direction == "down":
        return f"`migrate force {stop.version}` (the schema is still at version {stop.version})"
    if "no transaction is active" in stop.error:
        # A COMMIT/END in the wrapped file committed its work before the
        # driver's own commit failed: nothing was rolled back.
        return (f"`migrate force {stop.version}` (the file's own COMMIT/END committed its work, so the schema is "
                f"already at version {stop.version}; remove the COMMIT/END)")
    previous = ctx["folder"].previous(stop.version)
    target = "-- -1" if previous is None else previous  # a bare -1 is read as a flag by the CLI
    if no_tx_wrap:
        return (f"undo what the statements before the failing one did, then `migrate force {target}` "
                "(without the transaction wrap they stayed applied)")
    return f"`migrate force {target}` (the failed file was rolled back)"


def _version_text(ctx, version: int) -> str:
    folder: MigrationFolder = ctx["folder"]
    migration = folder.find(version)
    return migration.version_text if migration else str(version)


if __name__ == "__main__":
    cli.run(main, build_parser())
