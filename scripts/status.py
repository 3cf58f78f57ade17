#!/usr/bin/env python3
"""What is applied, what is pending, how to recover a dirty database, and
checksums that catch edited migrations."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mwcore import cli  # noqa: E402
from mwcore import checksum  # noqa: E402
from mwcore.errors import UsageError  # noqa: E402
from mwcore.folder import MigrationFolder, printable, scan_folder  # noqa: E402
from mwcore.gomigrate import NIL_VERSION  # noqa: E402
from mwcore.report import ERROR, Notice, notice_lines, notices_json, scope_notices  # noqa: E402
from mwcore.scope import ALL, NEW, Scope  # noqa: E402

EXAMPLES = """\
  status.py --json                            # how the project runs its migrations (the "project"
                                              # object), the new versions, checksum state
  status.py                                   # the new versions; the shipped ones in one line
  status.py --all                             # every version, new ones marked
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
with --write-sum when you ADD a migration, and run --check-sum in CI.

Output: the new versions one per line, the shipped ones counted in one line
(--all lists every version); with --db, the database's version, what is
pending (many pending versions are counted: -v lists them) and, when dirty,
how to recover. A shipped version edited since the base, or a deleted file,
is always reported. Text stays under 4 KB unless -v or --all.

new and shipped versions:
""" + cli.SCOPE_DEFINITION + """
  Applied and pending (--db) are about the database, whatever is new."""

SHOW_VERSIONS = 25  # new versions listed one per line (text); --all lists every one
SHOW_PENDING = 8  # pending versions named one by one; more are counted
SHOW_GROUPED = 3  # files named on a grouped line
SHOW_PROBLEMS = 5  # problem lines before "and N more"
JSON_LISTED = 10  # new (and pending) versions listed in --json (-v, --all: all; scope.new lists more)
JSON_FILES = 10  # files named by a grouped migrations.sum finding in --json (-v: all)
LISTING_BUDGET = 1500  # bytes of version lines (text), on top of the line cap
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
    cli.add_scope_options(
        parser, from_version=True,
        new_help="list the new versions and count the shipped ones (the default: status checks nothing)",
        all_help="list every version, new ones marked, and every pending one (with --db)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="lift every cap: each pending version, changed file and migrations.sum finding")
    cli.add_sql_function_option(parser)
    return parser


def main(args: argparse.Namespace) -> int:
    if args.dry_run and not args.write_sum:
        raise UsageError("--dry-run only makes sense with --write-sum.")
    if args.db and (args.write_sum or args.check_sum):
        raise UsageError("--db cannot be combined with --write-sum/--check-sum; run them separately.")
    if (args.write_sum or args.check_sum) and (args.scope_mode == NEW or args.since or args.from_version is not None):
        raise UsageError("--write-sum and --check-sum cover every migration file; --new, --since and --from only "
                         "choose the versions a listing shows.")
    project = cli.resolve_project(args.dir, declared=cli.sql_functions(args))
    directory, how = project.dir, project.dir_source
    folder = scan_folder(directory)
    verbose = args.verbose or args.scope_mode == ALL
    if args.write_sum:
        return _write_sum(args, folder, project)
    sums = checksum.check(folder)
    if args.check_sum:
        return _check_sum(args, folder, sums, project, verbose)
    scope = cli.scope_from_args(args, folder)
    notices = scope_notices(scope, folder, lambda name: printable(str(directory / name)))
    db = None
    if args.db:
        from mwcore.dbstatus import database_status

        table = args.table or project.migrations_table
        override = cli.no_tx_wrap_override(args)
        no_tx_wrap = bool(project.no_tx_wrap) if override is None else override
        db = database_status(folder, Path(args.db), table=table, no_tx_wrap=no_tx_wrap,
                             functions=project.sql_functions)
    view = View(directory, how, folder, sums, db, scope, notices, project, verbose)
    if args.json:
        cli.emit_json(_payload(view))
    else:
        _print_text(view)
    return cli.EXIT_PROBLEMS if view.problems or view.sum_errors or view.removed else cli.EXIT_OK


class View:
    """What one status run found, and the few derived facts both outputs use."""

    def __init__(self, directory: Path, how: str, folder: MigrationFolder, sums: checksum.SumCheck, db, scope: Scope,
                 notices: List[Notice], project, verbose: bool) -> None:
        self.directory, self.how, self.folder, self.sums, self.db = directory, how, folder, sums, db
        self.scope, self.notices, self.project, self.verbose = scope, notices, project, verbose
        self.problems = _problems(folder, db, verbose)
        self.sum_errors = [f for f in sums.findings if f.is_error]
        self.removed = [n for n in notices if n.severity == ERROR]
        self.new = [m for m in folder.migrations if scope.is_new(m.version)]
        self.shipped = [m for m in folder.migrations if not scope.is_new(m.version)]

    @property
    def listed(self) -> list:
        """The versions listed: every one with --all, else the new ones."""
        return self.folder.migrations if self.scope.mode == ALL else self.new

    @property
    def marks_new(self) -> bool:
        """Whether "new" tells anything here (some versions are shipped)."""
        return bool(self.shipped) and bool(self.new)


def _files(migration) -> str:
    return "up+down" if migration.up and migration.down else ("up only" if migration.up else "down only")


def _span(migrations) -> str:
    if not migrations:
        return ""
    first, last = migrations[0].version_text, migrations[-1].version_text
    return f"{first}" if first == last else f"{first}..{last}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _shipped_counts(shipped) -> Dict[str, int]:
    counts = {"up+down": 0, "up only": 0, "down only": 0}
    for migration in shipped:
        counts[_files(migration)] += 1
    return counts


def _shipped_line(view: View) -> Optional[str]:
    """The shipped versions in one line: how many, which span, which files."""
    shipped = view.shipped
    if not shipped:
        return None
    counts = {k: v for k, v in _shipped_counts(shipped).items() if v}
    files = f"all {next(iter(counts))}" if len(counts) == 1 else ", ".join(f"{v} {k}" for k, v in counts.items())
    listed = "" if view.scope.mode == ALL else " (--all lists them)"
    return f"{_plural(len(shipped), 'shipped version')} ({_span(shipped)}): {files}{listed}"


def _problems(folder: MigrationFolder, db, verbose: bool) -> List[str]:
    """What stops golang-migrate, or the database, from running (the
    migrations.sum findings are kept apart: they are grouped)."""
    problems = []
    if folder.duplicates:
        d, others = folder.duplicates[0], folder.duplicates[1:]
        shown = others if verbose else others[:SHOW_GROUPED]
        more = len(others) - len(shown)
        same = ""
        if others:
            same = (f" (the same for version{'s' if len(others) > 1 else ''} {', '.join(str(o.version) for o in shown)}"
                    + (f" and {more} more: -v lists them)" if more else ")"))
        problems.append(f"version {d.version} has {len(d.names)} {d.direction} files ({', '.join(map(printable, d.names))}); "
                        f"golang-migrate refuses to open the folder{same}.")
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


def _version_json(view: View, migration) -> dict:
    out = {"version": migration.version_text, "name": printable(migration.name), "files": _files(migration)}
    state = _sum_state(view.sums, migration)
    if state is not None:
        out["sum"] = state
    if view.scope.mode == ALL and view.marks_new and view.scope.is_new(migration.version):
        out["new"] = True
    return out


def _payload(view: View) -> dict:
    db, sums = view.db, view.sums
    # Every version with --all; else the new ones, the newest few when
    # nothing told shipped from new.
    listed = view.listed if view.verbose else view.listed[-JSON_LISTED:]
    problems = view.problems  # the migrations.sum errors are in "sum"
    payload = {
        "status": "problems" if problems or view.sum_errors or view.removed else "ok",
        "dir": str(view.directory),
        "project": view.project.as_json(),
        "scope": view.scope.as_dict(),
        "versions": [_version_json(view, m) for m in listed],
    }
    if len(listed) < len(view.listed):
        payload["versions_not_shown"] = len(view.listed) - len(listed)
    if view.shipped:
        counts = _shipped_counts(view.shipped)
        payload["shipped"] = {"count": len(view.shipped), "first": view.shipped[0].version_text,
                              "last": view.shipped[-1].version_text, "up_down": counts["up+down"],
                              **{key: counts[name] for key, name in (("up_only", "up only"), ("down_only", "down only"))
                                 if counts[name]}}
    if view.notices:
        payload["edited"] = notices_json(view.notices, verbose=view.verbose)
    payload["sum"] = {"present": sums.present, "findings": _sum_json(sums.findings, view.verbose)}
    payload["problems"] = problems
    if db is not None:
        pending = db.pending if view.verbose else db.pending[:JSON_LISTED]
        payload["database"] = {
            "path": str(db.path),
            "version": db.version,
            "dirty": db.dirty,
            "migrations_table": db.has_table,
            "applied": len(db.applied),
            "pending": [m.version_text for m in pending],
            "pending_count": len(db.pending),
            "missing_current": db.missing_current,
        }
        if db.recovery is not None:
            r = db.recovery
            recovery = {
                "failed": printable(r.failed), "state": r.state, "force_to": r.force_to, "explanation": r.explanation,
                "commands": _force_commands(view.directory, db.path, r.force_to) if r.force_to is not None else [],
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


def _listing_lines(view: View) -> List[str]:
    """One line per listed version, the newest last; capped (unless --all/-v)
    by count and bytes, the rest counted on a first line."""
    listed = view.listed
    lines = []
    for m in listed:
        state = _sum_state(view.sums, m)
        mark = "  new" if view.scope.mode == ALL and view.marks_new and view.scope.is_new(m.version) else ""
        if m.version in view.scope.edited:
            mark += "  edited (shipped)"
        lines.append(f"  {m.version_text}  {printable(m.name)}  {_files(m)}" + (f"  sum:{state}" if state else "") + mark)
    if view.verbose:
        return lines
    kept: List[str] = []
    used = 0
    for line in reversed(lines[-SHOW_VERSIONS:]):
        used += len(line.encode("utf-8", "backslashreplace")) + 1
        if kept and used > LISTING_BUDGET:
            break
        kept.append(line)
    kept.reverse()
    if len(kept) < len(lines):
        earlier = "earlier versions" if view.scope.mode == ALL else "earlier new versions"
        kept.insert(0, f"  ... {len(lines) - len(kept)} {earlier} (--all lists every version)")
    return kept


def _scope_lines(view: View) -> List[str]:
    """The new versions (listed, or named in one line with --db) and the
    shipped ones in one line."""
    scope, new = view.scope, view.new
    rule = f"new = {scope.how}"
    out = []
    if scope.mode == ALL:
        if view.db is None:
            out.append(f"{len(view.folder.migrations)} versions, {len(new)} new ({rule}):")
            out.extend(_listing_lines(view))
        else:
            out.append(f"{_plural(len(new), 'new version')} ({rule})" + (": " + ", ".join(m.version_text for m in new)
                                                                         if new else ""))
        return out
    if not new:
        out.append(f"no new version ({rule})")
    elif view.db is None:
        out.append(f"{_plural(len(new), 'new version')} ({rule}):")
        out.extend(_listing_lines(view))
    else:
        names = [m.version_text for m in new]
        shown = names if view.verbose else names[-SHOW_PENDING:]
        more = f"{len(names) - len(shown)} earlier and " if len(shown) < len(names) else ""
        out.append(f"{_plural(len(new), 'new version')} ({rule}): {more}{', '.join(shown)}")
    shipped = _shipped_line(view)
    if shipped:
        out.append(shipped)
    return out


def _print_text(view: View) -> None:
    migrations = view.folder.migrations
    span = f" ({_span(migrations)})" if migrations else ""
    sums = view.sums
    sum_text = "no migrations.sum" if not sums.present else ("migrations.sum ok" if not sums.findings else
                                                              f"migrations.sum: {len(sums.findings)} finding(s)")
    print(f"{view.directory} ({view.how}): {len(migrations)} versions{span}; {sum_text}")
    print(view.project.summary())
    for line in notice_lines(view.notices, verbose=view.verbose):
        print(line)
    if view.db is not None:
        _print_database(view)
    for line in _scope_lines(view):
        print(line)
    db = view.db
    problems = [p for p in view.problems
                if not (db is not None and db.dirty and p.startswith("the database is dirty"))]  # the block above says it
    shown = problems if view.verbose else problems[:SHOW_PROBLEMS]
    for problem in shown:
        print(f"error: {problem}")
    if len(shown) < len(problems):
        print(f"... and {len(problems) - len(shown)} more problems (-v lists them)")
    for group in _sum_groups(sums.findings):
        for line in _sum_text(group, view.verbose):
            print(f"{'error' if group[0].is_error else 'note'}: {line}")


def _pending_line(view: View) -> str:
    """The pending versions: each named when few, else counted, shipped
    apart from new (pending versions are the folder's last ones)."""
    db, scope = view.db, view.scope
    pending = db.pending
    marks = view.marks_new

    def label(m) -> str:
        return f"{m.version_text}_{printable(m.name)}" + (" (new)" if marks and scope.is_new(m.version) else "")

    if view.verbose or len(pending) <= SHOW_PENDING:
        return "  pending: " + ", ".join(label(m) for m in pending)
    if not marks:
        return (f"  pending: {len(pending)} versions, {label(pending[0])} .. {label(pending[-1])} (-v lists them)")
    new = [m for m in pending if scope.is_new(m.version)]
    shipped = [m for m in pending if not scope.is_new(m.version)]
    parts = []
    if shipped:
        parts.append(f"{len(shipped)} shipped ({_span(shipped)})")
    if new:
        names = ", ".join(f"{m.version_text}_{printable(m.name)}" for m in new[:SHOW_GROUPED])
        more = f" and {len(new) - SHOW_GROUPED} more" if len(new) > SHOW_GROUPED else ""
        parts.append(f"{len(new)} new ({names}{more})")
    return f"  pending: {len(pending)} versions: {' and '.join(parts)} (-v lists them)"


def _print_database(view: View) -> None:
    directory, db = view.directory, view.db
    where = printable(str(db.path))
    if not db.has_table:
        print(f"{where}: no schema_migrations table: golang-migrate has never run here "
              f"({len(db.pending)} pending). If the app's tables exist already, it needs a baseline (force 1).")
        return
    version = "none" if db.version == NIL_VERSION else str(db.version)
    state = "DIRTY" if db.dirty else "clean"
    print(f"{where}: version {version}, {state}; {len(db.applied)} applied, {len(db.pending)} pending")
    if db.pending and not db.dirty:
        print(_pending_line(view))
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


# migrations.sum findings: those of one kind about several files say the same
# thing; they are grouped, the first in full and the other files named.
_PER_FILE = ("edited", "renamed", "removed", "out_of_order", "new")


def _sum_groups(findings) -> List[list]:
    groups: Dict[str, list] = {}
    for finding in findings:
        groups.setdefault(finding.kind, []).append(finding)
    return list(groups.values())


def _sum_text(group: list, verbose: bool) -> List[str]:
    """Lines (without the severity) for one kind of migrations.sum finding."""
    first, others = group[0], group[1:]
    if not others:
        return [first.message]
    if first.kind not in _PER_FILE:  # malformed lines: each message says which
        shown = group if verbose else group[:SHOW_GROUPED]
        more = len(group) - len(shown)
        return [f.message for f in shown] + ([f"... and {more} more {first.kind} findings (-v lists them)"] if more else [])
    shown = others if verbose else others[:SHOW_GROUPED]
    more = len(others) - len(shown)
    names = ", ".join(printable(f.name) for f in shown) + (f" and {more} more: -v lists them" if more else "")
    return [f"{first.message.rstrip('.')} (the same for {names})."]


def _sum_json(findings, verbose: bool) -> List[dict]:
    """One object per finding; several of one kind about files become one
    with `count` and the `files` (the first few unless verbose)."""
    out = []
    for group in _sum_groups(findings):
        first = group[0]
        if len(group) == 1 or first.kind not in _PER_FILE:
            listed = group if verbose else group[:JSON_FILES]
            out.extend({"kind": f.kind, "file": printable(f.name), "message": f.message} for f in listed)
            continue
        names = [printable(f.name) for f in group]
        out.append({"kind": first.kind, "file": names[0], "message": first.message, "count": len(group),
                    "files": names if verbose else names[:JSON_FILES]})
    return out


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


def _check_sum(args, folder: MigrationFolder, sums: checksum.SumCheck, project, verbose: bool) -> int:
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
                       "findings": _sum_json(sums.findings, verbose), "project": project.as_json()})
    else:
        if not sums.findings:
            print(f"{path}: every migration file matches.")
        for group in _sum_groups(sums.findings):
            for line in _sum_text(group, verbose):
                print(f"{'error' if group[0].is_error else 'note'}: {line}")
    return cli.EXIT_PROBLEMS if errors else cli.EXIT_OK


if __name__ == "__main__":
    cli.run(main, build_parser())
