#!/usr/bin/env python3
"""Replay the migrations up, down and up again on a scratch SQLite database."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mwcore import cli  # noqa: E402
from mwcore.report import notice_lines, notices_json  # noqa: E402
from mwcore.errors import MigrationWriterError, UsageError  # noqa: E402
from mwcore.folder import MigrationFolder, is_up_only, printable, read_sql, scan_folder  # noqa: E402
from mwcore.scope import ALL, NEW, Scope  # noqa: E402

EXAMPLES = """\
  verify_migrations.py                          # replay every version, report the new ones (git decides)
  verify_migrations.py --new                    # after writing a pair: shipped versions only applied, new ones checked
  verify_migrations.py --all                    # report every version, shipped ones too
  verify_migrations.py --dir db/migrations --json
  verify_migrations.py --from 12                # versions 12 and up are the new ones
  verify_migrations.py --db app.db              # test the pending versions against a COPY of app.db
  verify_migrations.py --keep /tmp/mw-replay    # also save the scratch databases there
  verify_migrations.py --db app.db --timeout 60 # give each file 60 s on a large database

The replay runs golang-migrate's own protocol (schema_migrations, one
transaction per file, dirty on failure) on a scratch database: every up in
order, then every down one step at a time, then every up again. Per version
it reports: up applies; down applies; roundtrip (the schema after the down
equals the one before the up); reup (the up applies again to the same
schema); data (synthetic rows that existed before the up are still there
after the up, and after the down with their values, those the up moved to
another table included); integrity (no new foreign_key_check or
integrity_check findings; after an up, the triggers it may reach still
fire). Each status is ok, failed, missing, skipped or differs, or
data-dependent: a warning (exit 0) for a step that fails only with the
synthetic rows and passes on the same state without them. Synthetic rows
give a column the migrations use as a key of another table (a later
REFERENCES, a comparison with its key) the key of an existing row. With
--db, pre-checks name the real rows that break a version (duplicates for a
new UNIQUE index, NULLs for NOT NULL, rows with no parent for a foreign key,
rows a CHECK rejects).

Scope: by default every version is replayed and the new ones are reported;
the shipped ones (which must not be edited) are counted in one line, and
the exit status is about the new ones. --new applies the shipped versions
below the first new one as golang-migrate would (up only, in order, no
synthetic rows, no verdicts); a shipped file that fails is named in one line
and skipped as golang-migrate's rollback leaves it, so the state is
approximate. Synthetic rows are seeded at the start of the first new
version, which gets the whole protocol, as does every version after it.
--from N is the scope's "versions N and above are new" (without git, or to
override it); --to N stops the replay after version N in any mode. A folder
without any down file is up-only: no down is asked for (as with
--allow-missing-down), and it is said once.

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
database are refused and reported. Text output stays under 4 KB (a line
counts what did not fit; -v or --all print everything).

""" + cli.SCOPE_HELP

DETAIL_BUDGET = 3000  # bytes of per-version lines in text (the summary lines come on top: 4 KB in all)
TABLE_ROWS = 20  # versions listed in the table before the rest are counted
JSON_STEPS = 20  # steps listed in --json before only the ones with something to say are
JSON_FAILURES = 5  # shipped files that failed, listed in --json (-v: all)


def build_parser() -> cli.ArgumentParser:
    parser = cli.make_parser(
        "verify_migrations.py",
        "Replay the migrations on a scratch SQLite database with golang-migrate's semantics "
        "(up all, down one step at a time, up all again) and prove for every new version that the down "
        "restores the schema and the rows.",
        EXAMPLES,
        runs_sql=True,
    )
    cli.add_scope_options(parser, from_version=True)
    parser.add_argument("--to", dest="to_version", metavar="VERSION", help="last version to replay (higher ones are not run)")
    parser.add_argument("--no-data", action="store_true", help="do not insert synthetic rows or check that rows survive")
    parser.add_argument("--allow-missing-down", action="store_true",
                        help="accept versions without a down file (up-only versions; detected when no version has one)")
    parser.add_argument("--db", metavar="PATH", help="start from a copy of this SQLite database (the file itself is never opened by SQLite, never written)")
    parser.add_argument("--keep", metavar="DIR", help="save the scratch database where golang-migrate stops (stop.db) and at the end (final.db) in DIR (new or empty)")
    parser.add_argument("--dry-run", action="store_true", help="with --keep: replay, but write nothing; report the files --keep would write")
    parser.add_argument("--foreign-keys", choices=("auto", "on", "off"), default="auto",
                        help="foreign-key enforcement during the replay (default auto: as the connection golang-migrate "
                             "gets sets it; both ways when the Go source cannot tell)")
    cli.add_tx_wrap_option(parser)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print every version's row and every problem (no 4 KB cap); the scope stays as chosen")
    parser.add_argument("--ext", default="sql", metavar="EXT", help="migration file extension (default: sql)")
    cli.add_sql_function_option(parser)
    return parser


def _version_arg(text: Optional[str], flag: str) -> Optional[int]:
    if text is None:
        return None
    if not text.isdigit() or not text.isascii():
        raise UsageError(f"{flag} {text!r} is not a version; give the number, e.g. {flag} 3 or {flag} 000003.")
    return int(text)


class Run:
    """What was replayed and what to say about it: the steps shown (the new
    versions, or all with --all) and the shipped ones only counted."""

    def __init__(self, report, scope: Scope, folder: MigrationFolder, context: dict) -> None:
        self.report, self.scope, self.folder, self.ctx = report, scope, folder, context
        steps = report.steps if report is not None else []
        self.shown = [s for s in steps if scope.shows(s.version)]
        self.hidden = [s for s in steps if not scope.shows(s.version)]
        self.fallback = None  # the --new replay the new versions' verdicts came from (default mode)

    @property
    def allowed(self) -> bool:
        return self.report.options.allow_missing_down

    def failing(self) -> list:
        return [s for s in self.shown if not s.is_ok(self.allowed)]

    def hidden_failing(self) -> list:
        return [s for s in self.hidden if not s.is_ok(self.allowed)]

    @property
    def ok(self) -> bool:
        return self.report.blocked is None and not self.failing() and not self.error_notices()

    def error_notices(self) -> list:
        return [n for n in self.ctx["notices"] if n.severity == "error"]

    def stop_shown(self) -> bool:
        stop = self.report.stop
        return stop is not None and self.scope.shows(stop.version)

    def unchecked(self, step) -> List[str]:
        """The protocol steps that never ran for a version (up, down, the
        round trip, the second up): what another version's failure kept
        from running. A missing down that is allowed leaves nothing to run."""
        skipped = [c for c in ("up", "down", "roundtrip", "reup") if getattr(step, c) == "skipped"]
        if self.allowed and step.down == "missing":
            skipped = [c for c in skipped if c not in ("roundtrip", "reup")]
        return skipped

    def partly_checked(self) -> list:
        """Shown versions with no problem of their own that did not get the
        whole protocol."""
        return [s for s in self.shown if not s.problems and s.up != "skipped" and self.unchecked(s)]


def main(args: argparse.Namespace) -> int:
    from mwcore.bothways import enforcement_matters

    high = _version_arg(args.to_version, "--to")
    low = args.from_version
    if low is not None and high is not None and low > high:
        raise UsageError(f"--from {low} is above --to {high}; nothing would be checked.")
    if args.dry_run and not args.keep:
        raise UsageError("--dry-run only makes sense with --keep DIR (without --keep nothing is written).")
    ext = args.ext.lstrip(".")
    project = cli.resolve_project(args.dir, ext, declared=cli.sql_functions(args))
    directory, how = project.dir, project.dir_source
    folder = scan_folder(directory, ext)
    scope = cli.scope_from_args(args, folder)
    in_range = [m for m in folder.migrations if (low is None or m.version >= low) and (high is None or m.version <= high)]
    if folder.migrations and not in_range and (low is not None or high is not None):
        raise UsageError(f"no migration in {directory} is between {_bounds(low, high)}; "
                         f"its versions run from {folder.versions[0]} to {folder.versions[-1]}.")
    new = sorted(v for v in scope.new if high is None or v <= high)
    first_new = new[0] if new and scope.shipped and scope.mode != ALL else None
    texts = _read_texts(folder, scope, first_new)
    modes, fk_source = _fk_modes(args.foreign_keys, project, texts, enforcement_matters)
    override = cli.no_tx_wrap_override(args)
    if override is None:
        no_tx_wrap, wrap_source = bool(project.no_tx_wrap), project.tx_wrap_evidence
    else:
        no_tx_wrap, wrap_source = override, f"--tx-wrap {'off' if override else 'on'}"
    shipped = scope.shipped if len(scope.shipped) >= 2 else None
    up_only = is_up_only(folder, shipped)
    keep_dir = Path(args.keep) if args.keep else None
    kept: List[str] = []
    if keep_dir is not None:
        _check_keep_dir(keep_dir)
    from mwcore.report import scope_notices

    notices = scope_notices(scope, folder, lambda name: printable(str(directory / name)))
    settings = {
        "modes": modes, "no_tx_wrap": no_tx_wrap, "project": project, "args": args, "high": high,
        "allow_missing_down": args.allow_missing_down or up_only, "keep_dir": keep_dir, "kept": kept,
    }
    context = {
        "directory": directory, "how": how, "project": project, "fk_source": fk_source, "wrap_source": wrap_source,
        "modes": modes, "db": args.db, "kept": kept, "dry_run": args.dry_run, "folder": folder,
        "up_only": up_only, "notices": notices, "verbose": args.verbose,
        "capped": not (args.verbose or scope.mode == ALL),  # the 4 KB budget of text
    }
    if scope.mode == NEW and not new:
        return _nothing_new(Run(None, scope, folder, context), args.json)
    report = _replays(folder, texts, settings, first_new if scope.mode == NEW else None)
    run = Run(report, scope, folder, context)
    if scope.mode != ALL and new and _blocked_by_shipped(run):
        # golang-migrate stops at a shipped up before the new versions: they
        # are checked from the closest state the shipped chain can build.
        fallback = _replays(folder, texts, settings, new[0])
        run.fallback = fallback
        by_version = {s.version: s for s in fallback.steps}
        run.shown = [by_version.get(s.version, s) for s in run.shown]
    stand_ins = _stand_ins(folder, texts, project.sql_functions)
    for step in run.shown + run.hidden:
        names = stand_ins.get(_version_text(folder, step.version))
        if names:
            step.notes.append(f"ran with a stand-in for {', '.join(n + '()' for n in names)}; its data results are unchecked")
    context["stand_ins"] = {v: n for v, n in stand_ins.items() if _shown_text(run, v)}
    if args.json:
        cli.emit_json(_payload(run))
    else:
        for line in _text(run):
            print(line)
    return cli.EXIT_OK if run.ok else cli.EXIT_PROBLEMS


def _read_texts(folder: MigrationFolder, scope: Scope, first_new: Optional[int]) -> Dict[str, str]:
    """The files the replay runs: with --new, the shipped ups below the first
    new version (never their downs) and every file from it on."""
    texts = {}
    for migration in folder.migrations:
        for f in migration.files:
            if scope.mode == NEW and first_new is not None and migration.version < first_new and f.direction != "up":
                continue
            texts[f.name] = read_sql(folder.file_path(f)).text
    return texts


def _replays(folder: MigrationFolder, texts: Dict[str, str], settings: dict, first_checked: Optional[int]):
    """The replay (twice when foreign-key enforcement is unknown, merged);
    with `first_checked`, the versions below it are applied once as
    golang-migrate applies them and both replays start from a copy."""
    from mwcore.bothways import merge_replays
    from mwcore.replay import ReplayOptions, replay, shipped_state, start_from

    project, args, modes = settings["project"], settings["args"], settings["modes"]
    db = Path(args.db) if args.db else None

    def options(foreign_keys: bool, keep) -> "ReplayOptions":
        return ReplayOptions(
            foreign_keys=foreign_keys,
            no_tx_wrap=settings["no_tx_wrap"],
            migrations_table=project.migrations_table,
            check_data=not args.no_data,
            allow_missing_down=settings["allow_missing_down"],
            to_version=settings["high"],
            app_sqlite_version=project.app_sqlite.version if project.app_sqlite else None,
            keep=keep,
            sql_functions=tuple(project.sql_functions),
            real_db=bool(args.db),
        )

    shipped = None
    if first_checked is not None:
        start = start_from(db, foreign_keys=modes[0], functions=project.sql_functions)
        shipped = shipped_state(start, folder, texts, first_checked, options(modes[0], None))
    reports = []
    try:
        for index, foreign_keys in enumerate(modes):
            # With two runs, --keep saves the first (enforcement off); a
            # fallback replay keeps nothing (the first one did).
            keep_dir = settings["keep_dir"]
            keep = (_keeper(keep_dir, args.dry_run, settings["kept"])
                    if keep_dir and index == 0 and not settings.get("kept_done") else None)
            if shipped is not None:
                report = replay(folder, texts, shipped.factory(foreign_keys),
                                shipped.options_for(options(foreign_keys, keep)))
                shipped.fill(report)
            else:
                start = start_from(db, foreign_keys=foreign_keys, functions=project.sql_functions)
                report = replay(folder, texts, start, options(foreign_keys, keep))
            reports.append(report)
        settings["kept_done"] = True
    finally:
        if shipped is not None:
            shipped.close()
    return reports[0] if len(reports) == 1 else merge_replays(*reports)


def _blocked_by_shipped(run: Run) -> bool:
    """A shipped version's failure kept a new one from the whole protocol:
    golang-migrate's run stops at a shipped up before it, or the state a
    shipped down or second up needed could not be rebuilt."""
    stop = run.report.stop
    if stop is not None and stop.phase == "up" and not run.scope.shows(stop.version) \
            and any(s.up == "skipped" for s in run.shown):
        return True
    return bool(run.partly_checked())


def _nothing_new(run: Run, as_json: bool) -> int:
    ctx, scope = run.ctx, run.scope
    where = f"{ctx['directory']} ({ctx['how']})"
    if as_json:
        payload = {"status": "ok", "project": ctx["project"].as_json(), "sqlite_version": sqlite3.sqlite_version,
                   "scope": _scope_json(scope), "steps": [], "summary": {"versions": 0, "ok": 0}}
        if ctx["notices"]:
            payload["edited"] = notices_json(ctx["notices"], verbose=ctx["verbose"])
        cli.emit_json(payload)
    else:
        for line in notice_lines(run.ctx["notices"], verbose=run.ctx["verbose"]):
            print(line)
        print(f"ok: no new version in {where}; nothing to verify; new = {scope.how}")
        print(ctx["project"].summary())
    return cli.EXIT_PROBLEMS if run.error_notices() else cli.EXIT_OK


def _fk_modes(flag: str, project, texts, matters):
    """The enforcement(s) to replay with, and why."""
    if flag in ("on", "off"):
        return [flag == "on"], f"--foreign-keys {flag}"
    if project.foreign_keys is not None:
        return [project.foreign_keys], project.foreign_keys_evidence
    if not matters(texts):
        return [False], f"unknown ({project.foreign_keys_evidence}), but no migration declares a foreign key"
    return [False, True], f"unknown ({project.foreign_keys_evidence}): replayed off and on"


def _stand_ins(folder: MigrationFolder, texts, functions) -> Dict[str, List[str]]:
    """{version text: names of the app's SQL functions its files call}."""
    from mwcore.sqlfuncs import calls

    names = [f.name for f in functions]
    out: Dict[str, List[str]] = {}
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


def _shown_text(run: Run, version_text: str) -> bool:
    return any(_version_text(run.folder, s.version) == version_text for s in run.shown)


def _version_text(folder: MigrationFolder, version: int) -> str:
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


# JSON -------------------------------------------------------------------------------


def _step_json(step) -> dict:
    out = {"version": step.version, "name": step.name, **step.statuses()}
    if step.stops_here:
        out["stops_here"] = True
    if step.error:
        out["error"] = step.error
    if step.roundtrip_diff or step.reup_diff:
        out["diff"] = {k: v for k, v in (("roundtrip", step.roundtrip_diff), ("reup", step.reup_diff)) if v}
    if len(step.problems) > 1:
        out["problems"] = [str(p) for p in step.problems]
    if step.notes:
        out["notes"] = step.notes
    if step.warnings:
        out["warnings"] = [str(w) for w in step.warnings]
    if step.prechecks:
        out["prechecks"] = [c.as_json() for c in step.prechecks]
    return out


def _scope_json(scope: Scope) -> dict:
    """The scope, compact: which versions are new and who said so."""
    full = scope.as_dict()
    out = {"mode": full["mode"], "new": full["new"], "how": full["how"]}
    for key in ("new_count", "edited", "removed"):
        if key in full:
            out[key] = full[key]
    return out


def _interesting(run: Run, step) -> bool:
    """Worth a row of its own: a problem, a warning, golang-migrate's stop,
    real rows that break it (a version never run is counted, not listed)."""
    return (not step.is_ok(run.allowed) or step.stops_here or bool(step.warnings) or bool(step.prechecks)
            or (step.up != "skipped" and not run.report.fully_ok(step)))


def _payload(run: Run) -> dict:
    report, ctx = run.report, run.ctx
    options = report.options
    stop = report.stop
    modes = ctx["modes"]
    verbose = ctx["verbose"]
    steps = run.shown
    listed = steps if verbose or len(steps) <= JSON_STEPS else [s for s in steps if _interesting(run, s)]
    out: dict = {"status": "blocked" if report.blocked else ("ok" if run.ok else "problems"),
                 "project": ctx["project"].as_json(), "sqlite_version": report.sqlite_version}
    project = ctx["project"]
    if len(modes) > 1 or ctx["fk_source"].startswith("--foreign-keys") or project.foreign_keys is None:
        out["foreign_keys"] = "both" if len(modes) > 1 else ("on" if modes[0] else "off")
        out["foreign_keys_source"] = ctx["fk_source"]
    if ctx["wrap_source"].startswith("--tx-wrap") or project.no_tx_wrap is None:
        out["tx_wrap"] = not options.no_tx_wrap
    if not options.check_data:
        out["data"] = False
    if ctx["db"]:
        out["db"] = ctx["db"]
        out["start_version"] = report.start_version
    out["scope"] = _scope_json(run.scope)
    if ctx["notices"]:
        out["edited"] = notices_json(ctx["notices"], verbose=verbose)
    out["steps"] = [_step_json(s) for s in listed]
    if run.hidden_failing() or _hidden_not_run(run):  # shipped versions that are all ok say nothing
        out["shipped"] = _shipped_json(run)
    failures = (run.fallback or report).shipped_failures
    if failures:
        listed_failures = failures if verbose else failures[:JSON_FAILURES]
        out["shipped_failures"] = [{"path": f"{printable(str(ctx['directory'] / f.file))}"
                                            + (f":{f.line}" if f.line else ""), "error": f.error} for f in listed_failures]
    if ctx["up_only"]:
        out["up_only"] = True
    if stop is not None and run.stop_shown():
        out["stop"] = {"phase": stop.phase, "version": stop.version, "error": stop.error,
                       "dirty_version": stop.dirty_version}
    if report.blocked:
        out["blocked"] = report.blocked
    if report.restores:
        out["restores"] = report.restores
    if ctx["kept"]:
        out["kept"] = ctx["kept"]
    if ctx["dry_run"]:
        out["dry_run"] = True
    if ctx["stand_ins"]:
        out["stand_ins"] = ctx["stand_ins"]
    out["summary"] = _summary_json(run)
    notes = _run_notes(run)
    if notes:
        out["notes"] = notes
    return out


def _summary_json(run: Run) -> dict:
    report = run.report
    out: dict = {"versions": len(run.shown), "ok": sum(1 for s in run.shown if report.fully_ok(s))}
    for key, versions in (("failing", [s.version for s in run.failing()]),
                          ("warnings", [s.version for s in run.shown if s.warnings]),
                          ("not_run", [s.version for s in run.shown if s.up == "skipped"])):
        if versions:  # only when there are some: a clean run's JSON stays small
            out[key] = versions
    return out


def _shipped_json(run: Run) -> dict:
    failing = run.hidden_failing()
    out = {"versions": len(run.hidden), "problems": len(failing)}
    if failing:
        out["failing"] = [s.version for s in failing[:10]]
    not_run = [s for s in run.hidden if s.up == "skipped"]
    if not_run:
        out["not_run"] = len(not_run)
    return out


def _run_notes(run: Run) -> List[str]:
    from mwcore.sqlfuncs import stand_in_note

    report, ctx = run.report, run.ctx
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


# Text -------------------------------------------------------------------------------


_COLUMNS = ("up", "down", "roundtrip", "reup", "data", "integrity")


def _text(run: Run) -> List[str]:
    """The lines to print: notices, a summary line, the shipped versions in
    a line or two, the project, then the details of the new versions
    within the byte budget (unless verbose), then how to recover."""
    report, ctx = run.report, run.ctx
    lines = notice_lines(run.ctx["notices"], verbose=run.ctx["verbose"])
    lines.append(_headline(run))
    lines.extend(_shipped_lines(run))
    lines.append(_conditions(run))
    if report.blocked:
        lines.append(f"error: {report.blocked}")
        return lines
    details, closing = _details(run)
    if ctx["capped"]:
        details = _within_budget(details)
    return lines + details + closing


def _start_text(run: Run) -> str:
    report, ctx = run.report, run.ctx
    start = f"a copy of {ctx['db']}" if ctx["db"] else "a scratch database"
    start += f" (SQLite {report.sqlite_version})"
    if report.start_version >= 0:
        start += f" at version {report.start_version}"
    return start


def _headline(run: Run) -> str:
    report, ctx, scope = run.report, run.ctx, run.scope
    where = f"{ctx['directory']} ({ctx['how']})"
    steps = run.shown
    options = report.options
    scoped = scope.mode != ALL and bool(scope.shipped)
    new_clause = f"; new = {scope.how}" if scope.mode != ALL else ""
    if report.blocked:
        return f"{where}: nothing replayed."
    if not report.steps and report.start_version >= 0:
        return (f"{where}: nothing to verify: the database is at version {report.start_version} "
                "and no later version is in range.")
    if not report.steps:
        return f"{where}: no migrations to verify."
    kept = " and the rows" if options.check_data else ""
    allowed = ""
    if options.allow_missing_down and not ctx["up_only"] and any(s.down == "missing" for s in steps):
        allowed = " (missing downs allowed)"
    warned = sum(1 for s in steps if s.warnings)
    if warned:
        allowed += f" ({warned} with a warning)"
    start = _start_text(run)
    if not steps:  # nothing new: the shipped versions only
        shipped = len(run.hidden)
        state = (f"all {shipped} shipped versions ok" if not run.hidden_failing() and not _hidden_not_run(run)
                 else f"{shipped} shipped versions replayed")
        return f"{where}: no new version; {state}: up, down, up again on {start}{new_clause}."
    count = f"{len(steps)} {'new ' if scoped else ''}version{'s' if len(steps) != 1 else ''}"
    partly = run.partly_checked()
    if run.ok and partly:
        what = sorted({c for s in partly for c in run.unchecked(s)}, key=("up", "down", "roundtrip", "reup").index)
        return (f"{where}: no problem found in {count}, but {len(partly)} did not get the whole protocol "
                f"({', '.join(what)} not run: another version's failure stopped the replay; the table says which)"
                f"{new_clause}.")
    if run.ok and not run.failing():
        if scoped:
            from mwcore.report import versions_text

            versions = versions_text([s.version for s in steps])
            before = [v for v in scope.shipped if report.start_version < v < steps[0].version]
            after = f" after the {len(before)} shipped ones" if before else ""
            return (f"{where}: new {versions} ok{allowed}: up, down, up again on {start}{after}; "
                    f"every down restores the schema{kept}{new_clause}.")
        return f"{where}: all {count} ok{allowed}: up, down, up again on {start}; every down restores the schema{kept}{new_clause}."
    return f"{where}: {len(run.failing())} of {count} have problems (up, down, up again on {start}){new_clause}."


def _hidden_not_run(run: Run) -> List:
    return [s for s in run.hidden if s.up == "skipped"]


def _shipped_lines(run: Run) -> List[str]:
    """The shipped versions in a line or two: how many have problems (not
    shown), where the chain of shipped ups fails, the up-only convention."""
    ctx = run.ctx
    out = []
    failing, not_run = run.hidden_failing(), _hidden_not_run(run)
    if failing or not_run:
        what = f"{len(failing)} shipped version{'s have' if len(failing) != 1 else ' has'} problems"
        if not_run:
            stop = run.report.stop
            where = f" (golang-migrate stops at the up of version {stop.version})" if stop is not None else ""
            what += f" and {len(not_run)} {'were' if len(not_run) != 1 else 'was'} not run{where}"
        out.append(f"{what}, not shown (--all lists them)")
    failures = (run.fallback or run.report).shipped_failures
    if failures:
        first = failures[0]
        more = len(failures) - 1
        out.append(f"shipped {_failure_place(ctx, first)} fails on the scratch database ({first.error}); skipped as "
                   "golang-migrate's rollback leaves it, so the new versions start from an approximate state"
                   + (f" ({more} more shipped file{'s' if more != 1 else ''} failed; -v lists them)"
                      if more and not ctx["verbose"] else ""))
        if ctx["verbose"]:
            out.extend(f"shipped {_failure_place(ctx, f)} fails too ({f.error})" for f in failures[1:])
    if ctx["up_only"]:
        which = "shipped version" if len(run.scope.shipped) >= 2 else "version"
        skipped = "; the downs and second ups were not replayed" if run.report.downs_skipped else ""
        out.append(f"up-only folder: no {which} has a down file, so none is asked for; `down` moves the version back "
                   f"without undoing anything{skipped}")
    return out


def _failure_place(ctx, failure) -> str:
    return printable(str(ctx["directory"] / failure.file)) + (f":{failure.line}" if failure.line else "")


def _conditions(run: Run) -> str:
    """The project's facts, then what the replay did differently, if anything."""
    options, ctx = run.report.options, run.ctx
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


def _details(run: Run):
    """(lines that may be cut to the budget, closing lines always printed)."""
    report, ctx = run.report, run.ctx
    steps = run.shown
    verbose = ctx["verbose"]
    details: List[str] = []
    run_notes = _run_notes(run)
    if run.ok and not verbose and not run.partly_checked():
        details += [f"warning: {line}" for line in _warning_lines(steps)]
        details += [f"note: {note}" for note in run_notes]
        return details, _kept_lines(ctx)
    details += _table_lines(run)
    problems = [(s, p) for s in steps for p in s.problems]
    if problems:
        details += ["", "Problems:"]
        details += _problem_lines(run, problems)
    unrun = [s for s in steps if s.prechecks and not s.problems]
    if unrun:
        details.append("")
        for step in unrun:
            details += _precheck_lines(step, ctx)
    warnings = _warning_lines(steps)
    if warnings:
        details.append("")
        details += [f"warning: {line}" for line in warnings]
    notes = [(s, n) for s in steps for n in s.notes if not n.startswith("not run:")]
    notes += [(None, n) for n in run_notes]
    if notes:
        details.append("")
        listed = notes if verbose else notes[:10]
        for step, note in listed:
            details.append(f"note: {_version_text(run.folder, step.version) + ': ' if step else ''}{note}")
        if len(notes) > len(listed):
            details.append(f"note: ... and {len(notes) - len(listed)} more notes (--json lists them)")
    closing: List[str] = [""]
    stop = report.stop
    if stop is not None and run.stop_shown():
        closing.append(f"golang-migrate's own up/down/up run stops at the {_phase(stop.phase)} of version {stop.version} "
                       f"and leaves version {stop.dirty_version} dirty; to recover a database left there: fix the file, "
                       f"{_force_hint(run, stop)}, run again.")
    not_run = [s for s in steps if s.up == "skipped"]
    if not_run:
        closing.append(f"{len(not_run)} later version{'s were' if len(not_run) != 1 else ' was'} not run because an "
                       "up failed.")
    closing += _kept_lines(ctx)
    if not run.ok:
        closing.append("Fix every failing version (and run this again) before writing tests.")
    if closing == [""]:
        closing = []
    return details, closing


def _table_lines(run: Run) -> List[str]:
    """The status table: every version when they are few (or -v), else the
    ones with something to say; never one that golang-migrate stops at
    folded into the count of the others, and ok apart from not run."""
    steps = run.shown
    verbose = run.ctx["verbose"]
    if verbose or len(steps) <= TABLE_ROWS:
        shown = steps
    else:
        shown = [s for s in steps if _interesting(run, s)]
    cut = 0
    if not verbose and len(shown) > TABLE_ROWS:
        cut = len(shown) - TABLE_ROWS
        shown = shown[:TABLE_ROWS]
    if not shown:
        return []
    out = [""] + _table(shown, run.folder)
    if cut:
        out.append(f"(... and {cut} more versions with problems: -v lists them)")
    listed = {s.version for s in shown}
    folded = [s for s in steps if s.version not in listed and not _interesting(run, s)]
    if folded:
        ok = sum(1 for s in folded if run.report.fully_ok(s))
        not_run = sum(1 for s in folded if s.up == "skipped")
        other = len(folded) - ok - not_run
        parts = [f"{ok} ok"] if ok else []
        if not_run:
            parts.append(f"{not_run} not run because an up failed")
        if other:
            parts.append(f"{other} partly checked")
        out.append(f"({len(folded)} other version{'s' if len(folded) != 1 else ''}: {', '.join(parts)}; -v lists them)")
    return out


def _table(shown, folder: MigrationFolder) -> List[str]:
    width = max(len(s.name) for s in shown)
    digits = max(7, max(len(_version_text(folder, s.version)) for s in shown))
    widths = {c: max([max(len(c), 7)] + [len(getattr(s, c)) for s in shown]) for c in _COLUMNS}
    out = [f"{'version':<{digits}}  " + "  ".join(f"{c:<{widths[c]}}" for c in _COLUMNS) + "  name"]
    for step in shown:
        cells = "  ".join(f"{getattr(step, c):<{widths[c]}}" for c in _COLUMNS)
        line = f"{_version_text(folder, step.version):<{digits}}  {cells}  {step.name:<{width}}"
        if step.stops_here:
            line += "  <- golang-migrate stops here"
        out.append(line.rstrip())
    return out


def _problem_lines(run: Run, problems) -> List[str]:
    """One line per cause: problems of the same check whose messages differ
    only in file names and version numbers are one line with a count and the
    first places (-v: all of them)."""
    from mwcore.report import same_cause

    ctx = run.ctx
    verbose = ctx["verbose"]
    groups: Dict[tuple, list] = {}
    for step, problem in problems:
        key = (problem.check, same_cause(problem.message))
        groups.setdefault(key, []).append((step, problem))
    out: List[str] = []
    shown_prechecks = set()
    for members in groups.values():
        step, problem = members[0]
        if step.prechecks and step.version not in shown_prechecks:
            shown_prechecks.add(step.version)
            out += _precheck_lines(step, ctx)
        line = f"- {problem}"
        if len(members) > 1:
            others = members[1:]
            listed = others if verbose else others[:3]
            places = ", ".join(p.location() or _version_text(run.folder, s.version) for s, p in listed)
            more = len(others) - len(listed)
            line += f"; the same at {places}" + (f" and {more} more (-v lists them)" if more else "")
        out.append(line)
        diff_lines = (step.roundtrip_diff if problem.check == "roundtrip"
                      else step.reup_diff if problem.check == "reup" else [])
        for text in diff_lines[1:13]:
            out.append(f"    {text}")
        if len(diff_lines) > 13:
            out.append(f"    ... and {len(diff_lines) - 13} more (--json lists them)")
    return out


def _within_budget(lines: List[str]) -> List[str]:
    out: List[str] = []
    used = 0
    for index, line in enumerate(lines):
        size = len(line.encode("utf-8", "backslashreplace")) + 1
        if used + size > DETAIL_BUDGET:
            rest = [l for l in lines[index:] if l.strip()]
            out.append(f"... and {len(rest)} more lines not shown (-v prints them; --json has every version's problems)")
            break
        out.append(line)
        used += size
    return out


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


def _precheck_lines(step, ctx) -> List[str]:
    """The rows of the real database that break this version, grouped: one
    line per pre-check with its sample (the queries are in --json)."""
    if step.problems:
        up = next((p.file for p in step.problems if p.file and ".up." in p.file), None) or step.name
        out = [f"- {up}: rows of {ctx['db']} that break it (pre-checks; --json has each query):"]
    else:
        up = _file_of(ctx, step.version, "up")
        out = [f"- {up} (not run): rows of {ctx['db']} (as before the failed up) it may refuse (pre-checks; "
               "--json has each query):"]
    return out + [f"    {check.finding()}" for check in step.prechecks]


def _file_of(ctx, version: int, direction: str) -> str:
    folder: MigrationFolder = ctx["folder"]
    migration = folder.find(version)
    found = migration.file(direction) if migration else None
    return found.name if found else str(version)


def _kept_lines(ctx) -> List[str]:
    return [("would keep " if ctx["dry_run"] else "kept ") + path + (" (dry run)" if ctx["dry_run"] else "")
            for path in ctx["kept"]]


def _phase(phase: str) -> str:
    return {"up": "up", "down": "down", "reup": "second up"}.get(phase, phase)


def _force_hint(run: Run, stop) -> str:
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
    previous = run.folder.previous(stop.version)
    target = "-- -1" if previous is None else previous  # a bare -1 is read as a flag by the CLI
    if run.report.options.no_tx_wrap:
        return (f"undo what the statements before the failing one did, then `migrate force {target}` "
                "(without the transaction wrap they stayed applied)")
    return f"`migrate force {target}` (the failed file was rolled back)"


if __name__ == "__main__":
    cli.run(main, build_parser())
