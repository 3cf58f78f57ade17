#!/usr/bin/env python3
"""Generate Go tests for one migration, from facts learned by running it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mwcore import cli  # noqa: E402
from mwcore.errors import UsageError  # noqa: E402
from mwcore.folder import scan_folder  # noqa: E402
from mwcore.gotemplates import MATTN, MODERNC  # noqa: E402
from mwcore.gotest import AUTO, MEDIAZ, PLAIN, StubPlan, plan_stub, write_stub  # noqa: E402

EXAMPLES = """\
  make_test_stub.py                          # tests for the newest migration, into migrate_test.go
  make_test_stub.py --version 3 --dry-run    # show what it would add as diff hunks, write nothing
  make_test_stub.py --dir db/migrations --test-file db/migrations_test.go --style plain
  make_test_stub.py --latest --json
  make_test_stub.py --driver modernc         # cgo-free tests: database/sqlite + modernc.org/sqlite

Generated for version N (names use N as the file writes it, e.g. 000004):
  TestMigration_N_FreshDatabase              empty -> N: version N, clean; what N creates/changes
  TestMigration_N_UpgradeFromV<PREV>         PREV with rows in every table -> N: rows kept
  TestMigration_N_PreservesUserModifications rows N changes, edited first: left alone
                                             (only when N changes data)
  TestMigration_N_DownRestoresPrevious       down N: version and schema of PREV; up again works
Every assertion comes from running the migrations on SQLite first. Tests and
helpers that already exist are kept and reported, never rewritten; helpers
are named mw* and added once per package. The tests open SQLite with the
app's driver (--driver auto reads the project). When go.mod/go.sum lack a
module the tests import, it prints the one `go get` that adds it. When N is
the newest version, it lists the project's own test lines that still expect
the previous one as the newest (file:line), to update. Then run the command
it prints."""


def build_parser() -> cli.ArgumentParser:
    parser = cli.make_parser(
        "make_test_stub.py",
        "Add Go tests for a migration to the package's test file: they build databases with real "
        "golang-migrate, assert what the migration really does, and fail when it breaks.",
        EXAMPLES,
        runs_sql=True,
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--version", metavar="N", help="the migration version (as a number: 4 and 000004 are the same)")
    which.add_argument("--latest", action="store_true", help="the newest migration (the default)")
    parser.add_argument("--test-file", metavar="PATH", help="the _test.go file to edit or create (default: migrate_test.go in the package)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print what would be added as diff hunks (helper bodies elided; -v shows them); write nothing")
    parser.add_argument("-v", "--verbose", action="store_true", help="with --dry-run: the whole diff, helpers included")
    parser.add_argument("--style", choices=(AUTO, MEDIAZ, PLAIN), default=AUTO,
                        help="mediaz: also open the database with the app's New(ctx, path) and check "
                        "GetMigrationVersion; plain: golang-migrate only (default: auto)")
    parser.add_argument("--driver", choices=(AUTO, MATTN, MODERNC), default=AUTO,
                        help="mattn: golang-migrate's database/sqlite3 with mattn/go-sqlite3 (cgo); modernc: its "
                        "database/sqlite with modernc.org/sqlite (cgo-free, passes with CGO_ENABLED=0); "
                        "auto: the project's own (default)")
    cli.add_sql_function_option(parser)
    return parser


def _version(raw):
    if raw is None:
        return None
    text = raw.strip()
    if not text.isdigit() or not text.isascii():
        raise UsageError(f"--version {raw!r} is not a version number; give e.g. --version 4 or --version 000004.")
    return int(text)


def main(args: argparse.Namespace) -> int:
    version = _version(args.version)
    project = cli.resolve_project(args.dir, declared=cli.sql_functions(args))
    directory, how = project.dir, project.dir_source
    folder = scan_folder(directory)
    plan = plan_stub(folder, version, test_file=Path(args.test_file) if args.test_file else None, style=args.style,
                     driver=args.driver, project=project)
    _function_warning(plan, folder, project)
    if args.test_file is None:
        # Autodetected: the module (or folder) the command runs in. Named with
        # --dir: that folder's module, else the package folder around it.
        root = cli.project_root(Path.cwd()) if not args.dir else _module_or_parent(directory)
        if not cli.is_within(plan.package.test_file, root):
            raise UsageError(
                f"the test file would be {plan.package.test_file}, outside {root}; "
                "pass --test-file PATH to write there anyway."
            )
    written = False
    if plan.changed and not args.dry_run and not _blocked(plan):
        written = write_stub(plan)
    if args.json:
        cli.emit_json(_payload(plan, directory, how, written, args.dry_run, args.verbose, project))
    else:
        _print_text(plan, directory, how, written, args.dry_run, args.verbose)
        print(project.summary())
    return cli.EXIT_PROBLEMS if plan.problems or plan.pinned else cli.EXIT_OK


def _module_or_parent(directory: Path) -> Path:
    from mwcore.project import find_module_root

    return find_module_root(directory) or directory.resolve().parent


def _function_warning(plan: StubPlan, folder, project) -> None:
    """A migration that calls an SQL function the app registers runs in the
    replay with a stand-in; in Go it needs the app's driver."""
    from mwcore.folder import read_sql
    from mwcore.sqlfuncs import calls

    migration = folder.find(plan.facts.version)
    if migration is None or not project.sql_functions:
        return
    names = [f.name for f in project.sql_functions]
    used = sorted({n for f in migration.files for n in calls(read_sql(folder.file_path(f)).text, names)})
    if used:
        where = ", ".join(f"{f.name}() at {f.evidence}" for f in project.sql_functions if f.name in used)
        plan.warnings.append(f"version {plan.version_text} calls {where}: its assertions were learned with a "
                             "stand-in (data unchecked), and golang-migrate in the Go test needs a connection that "
                             "registers it (the app's driver), not the plain sqlite3 one")


def _blocked(plan: StubPlan) -> bool:
    return plan.facts.failed or any("gofmt rejects" in p for p in plan.problems)


def _run_command(plan: StubPlan) -> str:
    pkg = cli.display_path(plan.package.dir)
    return f"(cd {pkg} && go test -run 'TestMigration_{plan.version_text}_' .)"


def _payload(plan: StubPlan, directory: Path, how: str, written: bool, dry_run: bool, verbose: bool, project) -> dict:
    payload = {
        "status": "problems" if plan.problems or plan.pinned else "ok",
        "dir": str(directory),
        "project": project.as_json(),
        "version": plan.version_text,
        "test_file": str(cli.display_path(plan.package.test_file)),
        "package": plan.package.name,
        "style": plan.style,
        "style_reason": plan.style_reason,
        "driver": plan.package.driver.key,
        "driver_reason": plan.package.driver_reason,
        "source": plan.package.source_note,
        "added": plan.added_tests,
        "existing": plan.existing_tests,
        "skipped": plan.skipped_tests,
        "helpers_added": plan.helpers_added,
        "helpers_reused": plan.helpers_reused,
        "imports_added": plan.imports_added,
        "checks": {
            "fresh": len(plan.facts.schema_checks) + len(plan.facts.data_checks),
            "upgrade": len(plan.facts.upgrade_checks),
            "down": len(plan.facts.down_checks),
            "user_edits": len(plan.facts.edits),
            "sample_rows": len(plan.facts.sample_inserts),
        },
        "written": written,
        "gofmt": plan.gofmt,
        "problems": plan.problems,
        "warnings": plan.warnings,
        "notes": plan.notes,
        "run": _run_command(plan) if plan.added_tests or plan.existing_tests else None,
        "setup": plan.setup.shell() if plan.setup is not None and plan.setup.needed else None,
        "pinned": _pinned_payload(plan),
    }
    if dry_run:
        payload["dry_run"] = True
        payload["diff"] = plan.diff(str(cli.display_path(plan.package.test_file)), full=verbose)
    return payload


def _pinned_payload(plan: StubPlan):
    if not plan.pinned:
        return None
    return {
        "expected": plan.facts.previous,
        "newest": plan.version,
        "places": [{"file": str(cli.display_path(p.path)), "line": p.line, "col": p.col, "kind": p.kind, "code": p.code}
                   for p in plan.pinned],
    }


MAX_PINNED_LINES = 8


def _print_pinned(plan: StubPlan) -> None:
    places = plan.pinned
    print(f"problem: {len(places)} place(s) in the project's tests expect {plan.facts.previous} as the newest version, "
          f"which is now {plan.version} ({plan.version_text}); update them:")
    if len(places) <= MAX_PINNED_LINES:
        for place in places:
            print(f"  {cli.display_path(place.path)}:{place.line}: {place.code}")
        return
    by_file = {}
    for place in places:
        by_file.setdefault(str(cli.display_path(place.path)), []).append(place.line)
    shown = list(by_file.items())[:MAX_PINNED_LINES]
    for name, lines in shown:
        listed = ", ".join(str(n) for n in lines[:10]) + (f" and {len(lines) - 10} more" if len(lines) > 10 else "")
        print(f"  {name}: lines {listed}")
    if len(by_file) > len(shown):
        print(f"  and {len(by_file) - len(shown)} more file(s) (--json lists every place)")


def _print_text(plan: StubPlan, directory: Path, how: str, written: bool, dry_run: bool, verbose: bool) -> None:
    test_file = cli.display_path(plan.package.test_file)
    print(f"{directory} ({how}): version {plan.version_text}; {test_file} "
          f"(package {plan.package.name}, {plan.style} style, {plan.package.driver.key} driver)")
    if dry_run and plan.changed:
        sys.stdout.write(plan.diff(str(test_file), full=verbose))
    if plan.added_tests:
        verb = "would add" if dry_run or not written else "added"
        if not dry_run and not written:
            verb = "not written, would add"
        print(f"{verb} {len(plan.added_tests)} test(s): {', '.join(plan.added_tests)}")
        extras = []
        if plan.helpers_added:
            extras.append(f"{len(plan.helpers_added)} new mw* helper(s)")
        if plan.imports_added:
            extras.append(f"{len(plan.imports_added)} new import(s)")
        if extras:
            print("  with " + " and ".join(extras) + " (names in --json)")
    if plan.existing_tests:
        print(f"kept {len(plan.existing_tests)} existing test(s): {', '.join(plan.existing_tests)}")
    for skipped in plan.skipped_tests:
        print(f"not generated: {skipped}")
    if not plan.added_tests and not plan.facts.failed and not plan.problems:
        print("nothing to add: the file already has these tests")
    for problem in plan.problems:
        print(f"problem: {problem}")
    if plan.pinned:
        _print_pinned(plan)
    for warning in plan.warnings:
        print(f"warning: {warning}")
    if plan.added_tests or plan.existing_tests:
        print(f"run: {_run_command(plan)}")


if __name__ == "__main__":
    cli.run(main, build_parser())
