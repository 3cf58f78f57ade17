#!/usr/bin/env python3
"""Generate Go tests for one migration, from facts learned by running it."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mwcore import cli  # noqa: E402
from mwcore.errors import UsageError  # noqa: E402
from mwcore.folder import scan_folder  # noqa: E402
from mwcore.gotemplates import MATTN, MODERNC  # noqa: E402
from mwcore.gotest import AUTO, MEDIAZ, PLAIN, StubPlan, combine, plan_stubs, write_stub  # noqa: E402
from mwcore.scope import NEW, Scope  # noqa: E402

EXAMPLES = """\
  make_test_stub.py                          # tests for the newest migration, into migrate_test.go
  make_test_stub.py --new                    # tests for every new version (git decides), in order
  make_test_stub.py --new --dry-run          # show what it would add as diff hunks, write nothing
  make_test_stub.py --version 3 --dry-run
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
module the tests import, it prints the one `go get` that adds it. When the
newest version is covered, it lists the project's own test lines that still
expect an older version as the newest (the previous one, or the newest
shipped one), file:line, to update. Then run the command it prints.

The first line says which versions were covered and why. --dry-run shows
the added tests as diff hunks within 4 KB in all: helpers, sample rows and
row literals are one line each, and tests that do not fit are named (-v
prints the whole diff).

new versions (--new):
""" + cli.SCOPE_DEFINITION + """
  --new covers each new version in order, in one change to the test file
  (tests that exist are kept). When nothing tells new from shipped (no git
  history, no migrations.sum), it covers the newest version only."""


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
    which.add_argument("--new", dest="scope_mode", action="store_const", const=NEW,
                       help="every new version, oldest first (new: see below)")
    parser.add_argument("--since", metavar="REF",
                        help="with --new: git commit or branch that new versions are compared with "
                        "(default: the merge base with the upstream branch, origin's default branch, main or master)")
    parser.add_argument("--from", dest="from_version", type=int, metavar="N",
                        help="with --new: versions N and above are new, whatever git or migrations.sum say")
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
    if (args.since is not None or args.from_version is not None) and (version is not None or args.latest):
        raise UsageError("--since and --from choose the new versions (--new); --version and --latest name one.")
    if args.since is not None or args.from_version is not None:
        args.scope_mode = NEW
    project = cli.resolve_project(args.dir, declared=cli.sql_functions(args))
    directory, how = project.dir, project.dir_source
    folder = scan_folder(directory)
    scope = cli.scope_from_args(args, folder)
    versions, why = _covered(args, folder, scope, version)
    if not versions:
        return _nothing_new(args, directory, how, scope, project)
    plans = plan_stubs(folder, versions, test_file=Path(args.test_file) if args.test_file else None,
                       style=args.style, driver=args.driver, project=project, pin_versions=_pin_versions(folder, scope))
    for one in plans:
        _function_warning(one, folder, project)
    plan = combine(plans)
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
    if plan.changed and not args.dry_run and not (len(plans) == 1 and _blocked(plan)):
        written = write_stub(plan)
    run = Run(plans, plan, why, scope if args.scope_mode == NEW else None, _also_new(folder, scope, versions, args))
    if args.json:
        cli.emit_json(_payload(run, directory, how, written, args.dry_run, args.verbose, project))
    else:
        _print_text(run, directory, how, written, args.dry_run, args.verbose, project)
    return cli.EXIT_PROBLEMS if plan.problems or plan.pinned else cli.EXIT_OK


class Run:
    """The plans of one run (one per version) and what the output says about them."""

    def __init__(self, plans: List[StubPlan], plan: StubPlan, why: str, scope: Optional[Scope],
                 also_new: List[str]) -> None:
        self.plans, self.plan, self.why, self.scope, self.also_new = plans, plan, why, scope, also_new

    @property
    def versions(self) -> List[str]:
        return [p.version_text for p in self.plans]


def _covered(args: argparse.Namespace, folder, scope: Scope, version: Optional[int]) -> Tuple[List[int], str]:
    """The versions to cover, oldest first, and why (a few words)."""
    if version is not None:
        return [version], "given with --version"
    newest = folder.versions[-1:] or [None]  # plan_stubs says an empty folder holds nothing
    if args.scope_mode != NEW:
        return newest, "the newest version"
    new = sorted(scope.new)
    told = scope.shipped or scope.base is not None or args.from_version is not None
    if len(new) > 1 and not told:
        return newest, ("the newest version: nothing tells new versions from shipped ones here "
                        f"({scope.how}); --from N covers N and above")
    return new, f"new = {scope.how}"


def _pin_versions(folder, scope: Scope) -> List[int]:
    """The newest shipped version, when the folder's newest is new: the
    project's own tests still expect it as the newest (the previous
    version, always looked for, may be new itself)."""
    versions = folder.versions
    if not versions or not scope.is_new(versions[-1]):
        return []
    shipped = [v for v in scope.shipped if v < versions[-1]]
    return [max(shipped)] if shipped else []


def _also_new(folder, scope: Scope, versions: List[int], args: argparse.Namespace) -> List[str]:
    """New versions the default run (the newest only) leaves out."""
    if args.scope_mode == NEW or args.version is not None or not (scope.shipped or scope.base is not None):
        return []
    return [m.version_text for m in folder.migrations if scope.is_new(m.version) and m.version not in versions]


def _nothing_new(args: argparse.Namespace, directory: Path, how: str, scope: Scope, project) -> int:
    if args.json:
        cli.emit_json({"status": "ok", "dir": str(directory), "project": project.as_json(), "scope": scope.as_dict(),
                       "versions": [], "why": f"new = {scope.how}", "added": [], "written": False})
    else:
        print(f"{directory} ({how}): no new version (new = {scope.how}); nothing to generate")
        print(project.summary())
    return cli.EXIT_OK


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


def _run_command(run: Run) -> str:
    plan = run.plan
    pkg = cli.display_path(plan.package.dir)
    versions = [p.version_text for p in run.plans if p.added_tests or p.existing_tests]
    pattern = versions[0] if len(versions) == 1 else "(" + "|".join(versions) + ")"
    return f"(cd {pkg} && go test -run 'TestMigration_{pattern}_' .)"


def _payload(run: Run, directory: Path, how: str, written: bool, dry_run: bool, verbose: bool, project) -> dict:
    plan, plans = run.plan, run.plans
    payload = {
        "status": "problems" if plan.problems or plan.pinned else "ok",
        "dir": str(directory),
        "project": project.as_json(),
        "version": plan.version_text,
        "versions": run.versions,
        "why": run.why,
    }
    if run.scope is not None:
        payload["scope"] = run.scope.as_dict()
    if run.also_new:
        payload["also_new"] = run.also_new
    payload.update({
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
            "fresh": sum(len(p.facts.schema_checks) + len(p.facts.data_checks) for p in plans),
            "upgrade": sum(len(p.facts.upgrade_checks) for p in plans),
            "down": sum(len(p.facts.down_checks) for p in plans),
            "user_edits": sum(len(p.facts.edits) for p in plans),
            "sample_rows": sum(len(p.facts.sample_inserts) for p in plans),
        },
        "written": written,
        "gofmt": plan.gofmt,
        "problems": plan.problems,
        "warnings": plan.warnings,
        "notes": plan.notes,
        "run": _run_command(run) if plan.added_tests or plan.existing_tests else None,
        "setup": plan.setup.shell() if plan.setup is not None and plan.setup.needed else None,
        "pinned": _pinned_payload(plan),
    })
    if dry_run:
        payload["dry_run"] = True
        payload["diff"] = plan.diff(str(cli.display_path(plan.package.test_file)), full=verbose)
    return payload


def _pinned_payload(plan: StubPlan):
    if not plan.pinned:
        return None
    return {
        "expected": max(_pinned_values(plan)),
        "newest": plan.version,
        "places": [{"file": str(cli.display_path(p.path)), "line": p.line, "col": p.col, "kind": p.kind, "code": p.code,
                    "expected": p.expected} for p in plan.pinned],
    }


def _pinned_values(plan: StubPlan) -> List[int]:
    return sorted({p.expected for p in plan.pinned if p.expected is not None} or {plan.facts.previous})


MAX_PINNED_LINES = 8


def _pinned_lines(plan: StubPlan) -> List[str]:
    places = plan.pinned
    values = " or ".join(str(v) for v in _pinned_values(plan))
    out = [f"problem: {len(places)} place(s) in the project's tests expect {values} as the newest version, "
           f"which is now {plan.version} ({plan.version_text}); update them:"]
    if len(places) <= MAX_PINNED_LINES:
        out.extend(f"  {cli.display_path(place.path)}:{place.line}: {place.code}" for place in places)
        return out
    by_file = {}
    for place in places:
        by_file.setdefault(str(cli.display_path(place.path)), []).append(place.line)
    shown = list(by_file.items())[:MAX_PINNED_LINES]
    for name, lines in shown:
        listed = ", ".join(str(n) for n in lines[:10]) + (f" and {len(lines) - 10} more" if len(lines) > 10 else "")
        out.append(f"  {name}: lines {listed}")
    if len(by_file) > len(shown):
        out.append(f"  and {len(by_file) - len(shown)} more file(s) (--json lists every place)")
    return out


SHOWN_VERSIONS = 6  # versions named on the first line
TEXT_BUDGET = 4096  # bytes of a run's text; a dry run's diff gets what the other lines leave
_TEST_NAME = re.compile(r"TestMigration_(.+?)_([A-Za-z]+(?:V.+)?)$")


def _covered_text(run: Run) -> str:
    versions = run.versions
    if len(versions) == 1:
        return f"version {versions[0]}"
    shown = ", ".join(versions[:SHOWN_VERSIONS])
    return f"versions {shown}" + (f" and {len(versions) - SHOWN_VERSIONS} more" if len(versions) > SHOWN_VERSIONS else "")


def _test_list(run: Run, names: List[str]) -> str:
    """Test names; with several versions, one TestMigration_V_{A, B} per version."""
    if len(run.plans) == 1:
        return ", ".join(names)
    by_version: dict = {}
    for name in names:
        match = _TEST_NAME.match(name)
        version, kind = (match.group(1), match.group(2)) if match else (name, "")
        by_version.setdefault(version, []).append(kind)
    return ", ".join(f"TestMigration_{v}_{{{', '.join(kinds)}}}" if kinds != [""] else v for v, kinds in by_version.items())


def _skipped_lines(run: Run) -> List[str]:
    """One line per reason a test was not generated; with several versions,
    the versions that share a reason are named on one line."""
    if len(run.plans) == 1:
        return [f"not generated: {skipped}" for skipped in run.plan.skipped_tests]
    by_reason: dict = {}
    for skipped in run.plan.skipped_tests:
        name, _, reason = skipped.partition(": ")
        match = _TEST_NAME.match(name)
        kind, version = (match.group(2), match.group(1)) if match else (name, "")
        by_reason.setdefault((kind, reason), []).append(version)
    return [f"not generated: {kind} of {', '.join(versions)}: {reason}" for (kind, reason), versions in by_reason.items()]


def _print_text(run: Run, directory: Path, how: str, written: bool, dry_run: bool, verbose: bool, project) -> None:
    plan = run.plan
    test_file = cli.display_path(plan.package.test_file)
    head = (f"{directory} ({how}): {_covered_text(run)} ({run.why}); {test_file} "
            f"(package {plan.package.name}, {plan.style} style, {plan.package.driver.key} driver)")
    lines: List[str] = []
    if plan.added_tests:
        verb = "would add" if dry_run or not written else "added"
        if not dry_run and not written:
            verb = "not written, would add"
        lines.append(f"{verb} {len(plan.added_tests)} test(s): {_test_list(run, plan.added_tests)}")
        extras = []
        if plan.helpers_added:
            extras.append(f"{len(plan.helpers_added)} new mw* helper(s)")
        if plan.imports_added:
            extras.append(f"{len(plan.imports_added)} new import(s)")
        if extras:
            lines.append("  with " + " and ".join(extras) + " (names in --json)")
    if plan.existing_tests:
        lines.append(f"kept {len(plan.existing_tests)} existing test(s): {_test_list(run, plan.existing_tests)}")
    lines.extend(_skipped_lines(run))
    if not plan.added_tests and not any(p.facts.failed for p in run.plans) and not plan.problems:
        lines.append("nothing to add: the file already has these tests")
    lines.extend(f"problem: {problem}" for problem in plan.problems)
    if plan.pinned:
        lines.extend(_pinned_lines(plan))
    lines.extend(f"warning: {warning}" for warning in plan.warnings)
    if run.also_new:
        lines.append(f"note: {', '.join(run.also_new)} {'is' if len(run.also_new) == 1 else 'are'} new too; "
                     "--new covers every new version")
    if plan.added_tests or plan.existing_tests:
        lines.append(f"run: {_run_command(run)}")
    lines.append(project.summary())
    print(head)
    if dry_run and plan.changed:
        used = sum(len(line.encode("utf-8", "backslashreplace")) + 1 for line in [head] + lines)
        budget = max(TEXT_BUDGET - used - 64, 1000)  # 64: the diff's own file lines
        sys.stdout.write(plan.diff(str(test_file), full=verbose, budget=budget))
    for line in lines:
        print(line)


if __name__ == "__main__":
    cli.run(main, build_parser())
