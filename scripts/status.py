#!/usr/bin/env python3
"""What is applied, what is pending, how to recover a dirty database, and
checksums that catch edited migrations."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mwcore import cli  # noqa: E402
from mwcore import checksum  # noqa: E402
from mwcore.errors import UsageError  # noqa: E402
from mwcore.folder import MigrationFolder, printable, scan_folder  # noqa: E402
from mwcore.gomigrate import NIL_VERSION  # noqa: E402

EXAMPLES = """\
  status.py --json                            # how the project runs its migrations (the "project"
                                              # object), versions in the folder, checksum state
  status.py --db app.db                       # applied and pending versions; recovery steps if dirty
  status.py --db app.db --json
  status.py --write-sum                       # record every file's SHA-256 in migrations.sum
  status.py --check-sum                       # exit 1 if a summed migration was edited, removed or
                                              # a new one was numbered below the summed ones

Without --db nothing runs: it is the cheap way to learn the project's facts
(folder, driver, SQLite version, foreign keys while migrating, transaction
wrap, migrations table, SQL functions the app registers), read from the Go
source with file:line evidence. The database (with its -wal) is copied into
a private temporary folder and only the copy is opened, then read into
memory; nothing is ever written next to it or into it, and nothing is
forced: the report prints the `migrate force`
command and the Go call to run yourself. migrations.sum is ignored by
golang-migrate (its name is not a migration name); commit it, regenerate it
with --write-sum when you ADD a migration, and run --check-sum in CI."""

SHOW_VERSIONS = 25
SHOW_DIFFERS = 6  # differing objects listed per state; the rest are counted


def build_parser() -> cli.ArgumentParser:
    parser = cli.make_parser(
        "status.py",
        "Status of a golang-migrate folder and, with --db, of a database: applied, pending, dirty "
        "(with the exact recovery steps), and checksums of the migration files.",
        EXAMPLES,
        runs_sql=True,
    )
    parser.add_argument("--db", metavar="PATH", help="SQLite database to inspect (copied first: the file itself is never opened by SQLite, never written)")
    parser.add_argument("--table", metavar="NAME", help="migrations table (default: from the Go source, else schema_migrations)")
    cli.add_tx_wrap_option(parser)
    sums = parser.add_mutually_exclusive_group()
    sums.add_argument("--write-sum", action="store_true", help="write or extend migrations.sum in the folder")
    sums.add_argument("--check-sum", action="store_true", help="only check the files against migrations.sum")
    parser.add_argument("--dry-run", action="store_true", help="with --write-sum: report, write nothing")
    parser.add_argument("--all", action="store_true", help=f"list every version (default: the last {SHOW_VERSIONS})")
    cli.add_sql_function_option(parser)
    return parser


def main(args: argparse.Namespace) -> int:
    if args.dry_run and not args.write_sum:
        raise UsageError("--dry-run only makes sense with --write-sum.")
    if args.db and (args.write_sum or args.check_sum):
        raise UsageError("--db cannot be combined with --write-sum/--check-sum; run them separately.")
    project = cli.resolve_project(args.dir, declared=cli.sql_functions(args))
    directory, how = project.dir, project.dir_source
    folder = scan_folder(directory)
    if args.write_sum:
        return _write_sum(args, folder, project)
    sums = checksum.check(folder)
    if args.check_sum:
        return _check_sum(args, folder, sums, project)
    db = None
    if args.db:
        from mwcore.dbstatus import database_status

        table = args.table or project.migrations_table
        override = cli.no_tx_wrap_override(args)
        no_tx_wrap = bool(project.no_tx_wrap) if override is None else override
        db = database_status(folder, Path(args.db), table=table, no_tx_wrap=no_tx_wrap,
                             functions=project.sql_functions)
    problems = _problems(folder, sums, db)
    if args.json:
        cli.emit_json(_payload(directory, how, folder, sums, db, problems, project))
    else:
        _print_text(args, directory, how, folder, sums, db, problems, project)
    return cli.EXIT_PROBLEMS if problems else cli.EXIT_OK


def _problems(folder: MigrationFolder, sums: checksum.SumCheck, db) -> List[str]:
    problems = [f"version {d.version} has {len(d.names)} {d.direction} files ({', '.join(map(printable, d.names))}); "
                "golang-migrate refuses to open the folder." for d in folder.duplicates]
    problems += [f.message for f in sums.errors]
    if db is not None:
        if db.missing_current:
            problems.append(f"the database is at version {db.version}, which has no file in this folder: golang-migrate "
                            f"fails with 'no migration found for version {db.version}'. Restore the file (another branch?).")
        if db.dirty:
            problems.append(f"the database is dirty at version {db.version}.")
        r = db.recovery
        if r is not None and r.replay_error:
            if r.replay_error.startswith(f"{r.failed}:"):
                problems.append(f"{r.replay_error} (on an empty scratch database too: fix the file before it runs again)")
            else:
                problems.append(f"the folder's migrations do not replay on a scratch database, so the diagnosis above "
                                f"is incomplete: {r.replay_error}")
    return problems


def _force_commands(directory: Path, db_path: Path, version: int) -> List[str]:
    from mwcore.dbstatus import cli_version

    url = "sqlite3://" + str(db_path)
    return [
        f"migrate -path {shlex.quote(str(directory))} -database {shlex.quote(url)} force {cli_version(version)}",
        f"m.Force({version})",
    ]


def _payload(directory, how, folder, sums, db, problems, project) -> dict:
    payload = {
        "status": "problems" if problems else "ok",
        "dir": str(directory),
        "project": project.as_json(),
        "versions": [
            {"version": m.version_text, "name": printable(m.name), "up": m.up is not None, "down": m.down is not None,
             "sum": _sum_state(sums, m)}
            for m in folder.migrations
        ],
        "sum": {"present": sums.present, "findings": [{"kind": f.kind, "file": printable(f.name), "message": f.message}
                                                      for f in sums.findings]},
        "problems": problems,
    }
    if db is not None:
        payload["database"] = {
            "path": str(db.path),
            "version": db.version,
            "dirty": db.dirty,
            "migrations_table": db.has_table,
            "applied": [m.version_text for m in db.applied],
            "pending": [m.version_text for m in db.pending],
            "missing_current": db.missing_current,
        }
        if db.recovery is not None:
            r = db.recovery
            recovery = {
                "failed": printable(r.failed), "state": r.state, "force_to": r.force_to, "explanation": r.explanation,
                "commands": _force_commands(directory, db.path, r.force_to) if r.force_to is not None else [],
                "hypotheses": [_hypothesis_json(h) for h in r.hypotheses],
                "replay_error": r.replay_error,
            }
            if r.present or r.absent:
                recovery.update(present=r.present, absent=r.absent)
            if r.choices:
                recovery["choices"] = [{"force": c.force, "leads_to": printable(c.leads_to)} for c in r.choices]
            if r.inspect:
                recovery["inspect"] = [printable(i) for i in r.inspect[:SHOW_DIFFERS]]
            payload["database"]["recovery"] = recovery
    return payload


def _hypothesis_json(h) -> dict:
    d = h.distance
    return {"name": h.name, "file": printable(h.file), "distance": d.total if d is not None else None,
            "matches": d.equal if d is not None else None,
            "differs": _listed([printable(str(x)) for x in d.differences]) if d is not None else [],
            "force": h.force}


def _listed(items: List[str], limit: int = SHOW_DIFFERS) -> List[str]:
    return items if len(items) <= limit else items[:limit] + [f"... and {len(items) - limit} more"]


def _sum_state(sums: checksum.SumCheck, migration) -> Optional[str]:
    if not sums.present:
        return None
    states = [sums.states.get(f.name, "new") for f in migration.files]
    bad = [s for s in states if s != "ok"]
    return bad[0] if bad else "ok"


def _print_text(args, directory, how, folder, sums, db, problems, project) -> None:
    migrations = folder.migrations
    span = f" ({migrations[0].version_text}..{migrations[-1].version_text})" if migrations else ""
    sum_text = "no migrations.sum" if not sums.present else ("migrations.sum ok" if not sums.findings else
                                                              f"migrations.sum: {len(sums.findings)} finding(s)")
    print(f"{directory} ({how}): {len(migrations)} versions{span}; {sum_text}")
    print(project.summary())
    if db is None:
        shown = migrations if args.all else migrations[-SHOW_VERSIONS:]
        if len(shown) < len(migrations):
            print(f"  ... {len(migrations) - len(shown)} earlier versions (--all lists them)")
        for m in shown:
            files = "up+down" if m.up and m.down else ("up only" if m.up else "down only")
            state = _sum_state(sums, m)
            print(f"  {m.version_text}  {printable(m.name)}  {files}" + (f"  sum:{state}" if state else ""))
    else:
        _print_database(directory, db)
    for problem in problems:
        if db is not None and db.dirty and problem.startswith("the database is dirty"):
            continue  # the recovery block above says it in full
        print(f"error: {problem}")
    for finding in sums.findings:
        if not finding.is_error:
            print(f"note: {finding.message}")


def _print_database(directory: Path, db) -> None:
    where = printable(str(db.path))
    if not db.has_table:
        print(f"{where}: no schema_migrations table: golang-migrate has never run here "
              f"({len(db.pending)} pending). If the app's tables exist already, it needs a baseline (force 1).")
        return
    version = "none" if db.version == NIL_VERSION else str(db.version)
    state = "DIRTY" if db.dirty else "clean"
    print(f"{where}: version {version}, {state}; {len(db.applied)} applied, {len(db.pending)} pending")
    if db.pending and not db.dirty:
        listed = ", ".join(f"{m.version_text}_{printable(m.name)}" for m in db.pending[:10])
        more = f" and {len(db.pending) - 10} more" if len(db.pending) > 10 else ""
        print(f"  pending: {listed}{more}")
    r = db.recovery
    if r is None:
        return
    if r.force_to is not None:
        print(f"  failed: {printable(r.failed)}")
    print(f"  {printable(r.explanation)}")
    if r.present:
        print(f"  already in the database: {', '.join(_listed(r.present))}")
    if r.absent:
        print(f"  not in the database: {', '.join(_listed(r.absent))}")
    compared = [h for h in r.hypotheses if h.distance is not None]
    if r.state == "no_match" and compared:
        best = compared[0]
        print(f"  closest: {best.name} ({printable(best.file)}): {_closeness(best)}")
        others = compared[1:]
    else:
        others = [h for h in compared if not h.exact]
    if others:
        word = "then" if r.state == "no_match" else "further"
        print(f"  {word}: " + "; ".join(f"{h.name}: {_closeness(h, short=True)}" for h in others[:4]))
    unknown = [h.name for h in r.hypotheses if h.distance is None]
    if unknown:
        print(f"  not compared (the folder's chain fails before that schema): {', '.join(unknown)}")
    if r.force_to is not None and r.state != "partial":
        migrate_cmd, go_call = _force_commands(directory, db.path, r.force_to)
        fix = "fix the file, then " if r.state.startswith("failed") else ""
        print(f"  {fix}mark the version the schema really has (this tool never forces):")
        print(f"    {migrate_cmd}")
        print(f"    (in Go: {go_call})")
        effect = next((h.leads_to for h in r.hypotheses if h.exact), "")
        if effect:
            print(f"  then: {printable(effect)}.")
    elif r.choices:
        from mwcore.dbstatus import cli_version

        print("  choices (each is `migrate -path ... -database ... force V`, or m.Force(V) in Go; this tool never forces):")
        for choice in r.choices:
            print(f"    force {cli_version(choice.force)}: {printable(choice.leads_to)}")


def _closeness(h, short: bool = False) -> str:
    from mwcore.dbstatus import objects

    d = h.distance
    if d.total == 0:
        return f"all {objects(d.equal)} equal"
    text = f"{objects(d.equal)} equal, {d.total} differ"
    if short:
        return text
    return f"{text}: {', '.join(printable(str(x)) for x in _listed(list(d.differences), 4))}"


def _write_sum(args, folder: MigrationFolder, project) -> int:
    path, entries, changed = checksum.write(folder, dry_run=args.dry_run)
    verb = ("would write" if args.dry_run else "wrote") if changed else "unchanged:"
    if args.json:
        cli.emit_json({"status": "ok", "sum_file": str(path), "files": len(entries), "changed": changed,
                       "dry_run": bool(args.dry_run), "project": project.as_json()})
    else:
        print(f"{verb} {path} ({len(entries)} files)")
    return cli.EXIT_OK


def _check_sum(args, folder: MigrationFolder, sums: checksum.SumCheck, project) -> int:
    path = folder.path / checksum.SUM_FILE
    if not sums.present:
        if args.json:
            cli.emit_json({"status": "problems", "sum_file": str(path), "present": False, "findings": [],
                           "project": project.as_json()})
        else:
            print(f"error: {path} does not exist; create it with --write-sum.")
        return cli.EXIT_PROBLEMS
    errors = sums.errors
    if args.json:
        cli.emit_json({"status": "problems" if errors else "ok", "sum_file": str(path), "present": True,
                       "findings": [{"kind": f.kind, "file": printable(f.name), "message": f.message} for f in sums.findings],
                       "project": project.as_json()})
    else:
        if not sums.findings:
            print(f"{path}: every migration file matches.")
        for finding in sums.findings:
            print(f"{'error' if finding.is_error else 'note'}: {finding.message}")
    return cli.EXIT_PROBLEMS if errors else cli.EXIT_OK


if __name__ == "__main__":
    cli.run(main, build_parser())
