#!/usr/bin/env python3
"""Next golang-migrate version of a migrations folder; create the up/down pair."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mwcore import cli  # noqa: E402
from mwcore.errors import UsageError  # noqa: E402
from mwcore.folder import is_up_only, printable, scan_folder  # noqa: E402
from mwcore.versioning import (  # noqa: E402
    SEQ,
    TIMESTAMP,
    NextVersion,
    folder_lock,
    header,
    normalize_name,
    pair_paths,
    plan_next,
    write_pair,
)

EXAMPLES = """\
  next_version.py                                  # autodetect the folder, print current and next
  next_version.py --dir pkg/storage/sqlite/migrations --json
  next_version.py --create "add user email"        # creates 000005_add_user_email.{up,down}.sql
  next_version.py --create add_index --dry-run     # show the paths, write nothing
  next_version.py --format timestamp --create x    # 14-digit UTC timestamp version
  next_version.py --create backfill --with-down    # a down too, even in an up-only folder

Versions are compared as numbers, as golang-migrate does (not as text, as
`ls | tail` and `migrate create` do). Padding and format follow the existing
files; an empty folder gets 6-digit sequence numbers. Two --create runs at the
same time are serialised by a lock on the folder: the later one takes the
next free version. In an up-only folder (at least two versions and not one
down file) --create writes only the up, as the project does; --with-down
writes the down as well."""


def build_parser() -> cli.ArgumentParser:
    parser = cli.make_parser(
        "next_version.py",
        "Print the highest migration version and the next one, exactly as golang-migrate "
        "orders files; with --create, create the next up/down pair (both or neither, never overwriting).",
        EXAMPLES,
    )
    parser.add_argument("--create", metavar="NAME", help="create NEXT_NAME.up.<ext> and NEXT_NAME.down.<ext> (NAME becomes snake_case)")
    parser.add_argument("--dry-run", action="store_true", help="with --create: report the paths, write nothing")
    parser.add_argument("--with-down", action="store_true",
                        help="with --create in an up-only folder: write the down file too (elsewhere it always is)")
    parser.add_argument("--format", choices=(SEQ, TIMESTAMP), help="version format (default: as the folder uses; seq when empty)")
    parser.add_argument("--digits", type=int, metavar="N", help="pad sequence versions to N digits (0 = no padding)")
    parser.add_argument("--ext", default="sql", metavar="EXT", help="migration file extension (default: sql)")
    return parser


def main(args: argparse.Namespace) -> int:
    if args.digits is not None and not 0 <= args.digits <= 20:
        raise UsageError(f"--digits {args.digits} is out of range; use 0 (no padding) to 20.")
    if args.dry_run and not args.create:
        raise UsageError("--dry-run only makes sense with --create NAME.")
    if args.with_down and not args.create:
        raise UsageError("--with-down only makes sense with --create NAME.")
    ext = args.ext.lstrip(".")
    if not ext or "/" in ext or "\\" in ext:
        raise UsageError(f"--ext {args.ext!r} is not a file extension; use e.g. sql.")
    name = normalize_name(args.create) if args.create is not None else None
    project = cli.resolve_project(args.dir, ext)
    directory, how = project.dir, project.dir_source

    def plan_for_folder():
        folder = scan_folder(directory, ext)
        return folder, plan_next(folder, fmt=args.format, digits=args.digits)

    created = []
    up_only = False
    if name is not None and not args.dry_run:
        with folder_lock(directory) as recovered:
            folder, plan = plan_for_folder()
            up_only = is_up_only(folder)
            if recovered:
                plan.warnings.append(
                    "removed what an interrupted --create had left: " + ", ".join(map(printable, recovered)) + "."
                )
            if plan.next is not None:
                paths = pair_paths(folder, plan.next, name)
                no_tx_wrap = bool(project.no_tx_wrap)
                only_up = up_only and not args.with_down
                write_pair(
                    paths,
                    header(plan.next, name, "up", no_tx_wrap, up_only=only_up) + "\n",
                    None if only_up else header(plan.next, name, "down", no_tx_wrap) + "\n",
                )
                created = [str(paths.up)] if only_up else [str(paths.up), str(paths.down)]
    else:
        folder, plan = plan_for_folder()
        up_only = is_up_only(folder)
    planned = []
    if name and plan.next and args.dry_run:
        paths = pair_paths(folder, plan.next, name)
        planned = [str(paths.up)] if up_only and not args.with_down else [str(paths.up), str(paths.down)]
    note = None
    if name is not None and up_only:
        note = ("up-only folder (no version has a down file): " +
                ("the down is written too (--with-down)" if args.with_down else "only the up, as the project does; "
                 "--with-down writes a down too"))
    if name is not None and plan.next is None:
        plan.errors.append("nothing was created.")
    if args.json:
        payload = {
            "status": "problems" if plan.errors else "ok",
            "dir": str(directory),
            "project": project.as_json(),
            "current": plan.current,
            "next": plan.next,
            "format": plan.format,
            "digits": plan.digits,
            "count": plan.count,
            "warnings": plan.warnings,
            "errors": plan.errors,
            "up_only": up_only,
        }
        if name is not None:
            payload["created"] = created
            if args.dry_run:
                payload["dry_run"] = True
                payload["would_create"] = planned
        if note:
            payload["note"] = note
        cli.emit_json(payload)
    else:
        _print_text(directory, how, plan, created, planned, project)
        if note:
            print(note)
    return cli.EXIT_PROBLEMS if plan.errors else cli.EXIT_OK


def _print_text(directory: Path, how: str, plan: NextVersion, created: list, planned: list, project) -> None:
    width = f"{plan.digits} digits" if plan.digits else "unpadded"
    shape = "14-digit UTC timestamps" if plan.format == TIMESTAMP else f"sequence, {width}"
    versions = f"{plan.count} version" + ("" if plan.count == 1 else "s")
    current = plan.current if plan.current is not None else "none"
    print(f"{directory} ({how}): {versions}, {shape}")
    print(f"current {current}, next {plan.next if plan.next is not None else '-'}")
    print(project.summary())
    for path in created:
        print(f"created {path}")
    for path in planned:
        print(f"would create {path} (dry run)")
    for warning in plan.warnings:
        print(f"warning: {warning}")
    for error in plan.errors:
        print(f"error: {error}")


if __name__ == "__main__":
    cli.run(main, build_parser())
