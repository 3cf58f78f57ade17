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
from mwcore.gotest import AUTO, MEDIAZ, PLAIN, StubPlan, plan_stub, write_stub  # noqa: E402

EXAMPLES = """\
  make_test_stub.py                          # tests for the newest migration, into migrate_test.go
  make_test_stub.py --version 3 --dry-run    # show the unified diff, write nothing
  make_test_stub.py --dir db/migrations --test-file db/migrations_test.go --style plain
  make_test_stub.py --latest --json

Generated for version N (names use N as the file writes it, e.g. 000004):
  TestMigration_N_FreshDatabase              empty -> N: version N, clean; what N creates/changes
  TestMigration_N_UpgradeFromV<PREV>         PREV with rows in every table -> N: rows kept
  TestMigration_N_PreservesUserModifications rows N changes, edited first: left alone
                                             (only when N changes data)
  TestMigration_N_DownRestoresPrevious       down N: version and schema of PREV; up again works
Every assertion comes from running the migrations on SQLite first. Tests and
helpers that already exist are kept and reported, never rewritten; helpers
are named mw* and added once per package. Then run the command it prints."""


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
    parser.add_argument("--dry-run", action="store_true", help="print the unified diff; write nothing")
    parser.add_argument("--style", choices=(AUTO, MEDIAZ, PLAIN), default=AUTO,
                        help="mediaz: also open the database with the app's New(ctx, path) and check "
                        "GetMigrationVersion; plain: golang-migrate only (default: auto)")
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
    directory, how = cli.resolve_dir(args.dir)
    folder = scan_folder(directory)
    plan = plan_stub(folder, version, test_file=Path(args.test_file) if args.test_file else None, style=args.style)
    written = False
    if plan.changed and not args.dry_run and not _blocked(plan):
        written = write_stub(plan)
    if args.json:
        cli.emit_json(_payload(plan, directory, how, written, args.dry_run))
    else:
        _print_text(plan, directory, how, written, args.dry_run)
    return cli.EXIT_PROBLEMS if plan.problems else cli.EXIT_OK


def _blocked(plan: StubPlan) -> bool:
    return plan.facts.failed or any("gofmt rejects" in p for p in plan.problems)


def _run_command(plan: StubPlan) -> str:
    pkg = cli.display_path(plan.package.dir)
    return f"(cd {pkg} && go test -run 'TestMigration_{plan.version_text}_' .)"


def _payload(plan: StubPlan, directory: Path, how: str, written: bool, dry_run: bool) -> dict:
    payload = {
        "status": "problems" if plan.problems else "ok",
        "dir": str(directory),
        "dir_source": how,
        "version": plan.version_text,
        "test_file": str(cli.display_path(plan.package.test_file)),
        "package": plan.package.name,
        "style": plan.style,
        "style_reason": plan.style_reason,
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
    }
    if dry_run:
        payload["dry_run"] = True
        payload["diff"] = plan.diff(str(cli.display_path(plan.package.test_file)))
    return payload


def _print_text(plan: StubPlan, directory: Path, how: str, written: bool, dry_run: bool) -> None:
    test_file = cli.display_path(plan.package.test_file)
    print(f"{directory} ({how}): version {plan.version_text}; {test_file} (package {plan.package.name}, {plan.style} style)")
    if dry_run and plan.changed:
        sys.stdout.write(plan.diff(str(test_file)))
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
    for warning in plan.warnings:
        print(f"warning: {warning}")
    if plan.added_tests or plan.existing_tests:
        print(f"run: {_run_command(plan)}")


if __name__ == "__main__":
    cli.run(main, build_parser())
