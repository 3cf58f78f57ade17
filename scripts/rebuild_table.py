#!/usr/bin/env python3
"""Write the up and down of an SQLite table rebuild for golang-migrate, proven first."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mwcore import cli  # noqa: E402
from mwcore.errors import UsageError  # noqa: E402

EXAMPLES = """\
  rebuild_table.py encoding_preset --nullable max_bitrate_kbps
  rebuild_table.py media_item --not-null release_year --fill release_year 0 --create require_release_year
  rebuild_table.py library --type kind TEXT --default kind "'movie'" --unique name --dry-run --create x
  rebuild_table.py transcode_job --drop finished_at --rename progress_pct progress --column-order id,state
  rebuild_table.py note --add-foreign-key owner_id user id --on-delete CASCADE --json

Several options combine into one rebuild. Column names may be given by their
old name when --rename renames them. EXPR is SQL (quote text: "'movie'").
The table's current shape comes from applying the folder's migrations to a
scratch database (never your database file). Foreign-key enforcement while
migrating and x-no-tx-wrap are read from the Go source (the connection
golang-migrate gets: _foreign_keys/_fk for mattn, _pragma=foreign_keys(1)
for modernc, PRAGMAs run before the migrations); when the source cannot tell,
the SQL is the form that is right either way, proven with enforcement on and
off.
Before anything is printed or written, the up, the down and the up again run
on a scratch database with sample rows in the table and in every other table,
and every other table must keep its rows exactly; if a check fails, the failure is printed instead of SQL (exit 1)."""


class _AddForeignKey(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        specs = list(getattr(namespace, "add_fks", None) or [])
        specs.append({"column": values[0], "table": values[1], "to": values[2], "on_delete": None})
        namespace.add_fks = specs


class _OnDelete(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        specs = getattr(namespace, "add_fks", None) or []
        if not specs or specs[-1]["on_delete"] is not None:
            parser.error("--on-delete must follow the --add-foreign-key it belongs to")
        specs[-1]["on_delete"] = values


def build_parser() -> cli.ArgumentParser:
    parser = cli.make_parser(
        "rebuild_table.py",
        "Write the up and down migration for a change SQLite's ALTER TABLE cannot do (type, nullability, "
        "default, keys, constraints, column order): a rebuild that keeps rows, indexes, triggers, views and "
        "referencing rows, in golang-migrate's per-file transaction, proven on a scratch database first.",
        EXAMPLES,
        runs_sql=True,
    )
    parser.add_argument("table", metavar="TABLE", help="the table to rebuild")
    change = parser.add_argument_group("changes (repeat and combine)")
    change.add_argument("--type", nargs=2, action="append", metavar=("COL", "TYPE"), default=[], help="change a column's type")
    change.add_argument("--drop", action="append", metavar="COL", default=[], help="drop a column (indexes on it go with it)")
    change.add_argument("--rename", nargs=2, action="append", metavar=("OLD", "NEW"), default=[], help="rename a column")
    change.add_argument("--not-null", action="append", metavar="COL", default=[], help="make a column NOT NULL")
    change.add_argument("--fill", nargs=2, action="append", metavar=("COL", "EXPR"), default=[],
                        help="copy NULLs in COL as EXPR (use with --not-null)")
    change.add_argument("--no-fill", action="store_true",
                        help="with --not-null and no --fill: copy the column as it is; the up then fails on the first "
                             "row holding NULL there (say so on purpose; --fill COL EXPR gives such rows a value)")
    change.add_argument("--nullable", action="append", metavar="COL", default=[], help="drop a column's NOT NULL")
    change.add_argument("--default", nargs=2, action="append", metavar=("COL", "EXPR"), default=[], help="set a column's DEFAULT")
    change.add_argument("--drop-default", action="append", metavar="COL", default=[], help="remove a column's DEFAULT")
    change.add_argument("--pk", metavar="COL[,COL]", help="make these columns the primary key")
    change.add_argument("--add-foreign-key", nargs=3, action=_AddForeignKey, metavar=("COL", "OTHER_TABLE", "OTHER_COL"),
                        help="add a foreign key; follow it with --on-delete ACTION to set its action")
    change.add_argument("--on-delete", action=_OnDelete, metavar="ACTION",
                        help="CASCADE, SET NULL, SET DEFAULT, RESTRICT or NO ACTION (for the --add-foreign-key before it)")
    change.add_argument("--drop-foreign-key", action="append", metavar="COL", default=[], help="remove the foreign key on COL")
    change.add_argument("--column-order", metavar="COL,...", help="put these columns first, in this order")
    change.add_argument("--add-check", action="append", metavar="EXPR", default=[], help="add a table CHECK (EXPR)")
    change.add_argument("--unique", action="append", metavar="COL[,COL]", default=[], help="add a UNIQUE constraint")
    change.add_argument("--down-fill", nargs=2, action="append", metavar=("COL", "EXPR"), default=[],
                        help="the value the down gives COL where it cannot restore one (a dropped or NOT NULL again column)")
    out = parser.add_argument_group("output")
    out.add_argument("--create", metavar="NAME", help="write the pair as the next migration (as next_version.py --create)")
    out.add_argument("--dry-run", action="store_true", help="with --create: show the paths and SQL, write nothing")
    project = parser.add_argument_group("project (default: read from the Go source)")
    project.add_argument("--foreign-keys", choices=("auto", "on", "off"), default="auto",
                         help="foreign-key enforcement while migrating (default auto: as the Go source sets it; "
                              "when it cannot tell, SQL that is right either way)")
    cli.add_tx_wrap_option(project)
    project.add_argument("--ext", default="sql", metavar="EXT", help="migration file extension (default: sql)")
    cli.add_sql_function_option(project)
    parser.set_defaults(add_fks=[])
    return parser


def _columns(text: str, option: str) -> tuple:
    names = tuple(part.strip() for part in text.split(","))
    if not all(names):
        raise UsageError(f"{option} {text!r}: give column names separated by commas.")
    return names


def changes_from(args: argparse.Namespace):
    from mwcore.rebuild import Changes, ForeignKeySpec

    changes = Changes(
        types=tuple(map(tuple, args.type)),
        drops=tuple(args.drop),
        renames=tuple(map(tuple, args.rename)),
        not_null=tuple(args.not_null),
        fills=tuple(map(tuple, args.fill)),
        nullable=tuple(args.nullable),
        defaults=tuple(map(tuple, args.default)),
        drop_defaults=tuple(args.drop_default),
        pk=_columns(args.pk, "--pk") if args.pk is not None else None,
        add_fks=tuple(ForeignKeySpec(s["column"], s["table"], s["to"], s["on_delete"]) for s in args.add_fks),
        drop_fks=tuple(args.drop_foreign_key),
        column_order=_columns(args.column_order, "--column-order") if args.column_order is not None else None,
        checks=tuple(args.add_check),
        uniques=tuple(_columns(u, "--unique") for u in args.unique),
        down_fills=tuple(map(tuple, args.down_fill)),
        no_fill=args.no_fill,
    )
    asked = [v for k, v in vars(changes).items() if k not in ("fills", "down_fills", "no_fill")]
    if not any(v for v in asked):
        raise UsageError("give at least one change (--type, --drop, --rename, --not-null, --nullable, --default, ...).")
    return changes


def main(args: argparse.Namespace) -> int:
    from mwcore.folder import read_sql, scan_folder
    from mwcore.jsonuse import folder_json_columns
    from mwcore.rebuild import FK_OFF, FK_ON, FK_UNKNOWN, RebuildRefused, plan_rebuild, replay
    from mwcore.rebuild_proof import prove
    from mwcore.versioning import normalize_name

    if args.dry_run and not args.create:
        raise UsageError("--dry-run only makes sense with --create NAME (without --create nothing is written anyway).")
    ext = args.ext.lstrip(".")
    if not ext or "/" in ext or "\\" in ext:
        raise UsageError(f"--ext {args.ext!r} is not a file extension; use e.g. sql.")
    changes = changes_from(args)
    name = normalize_name(args.create) if args.create is not None else None
    facts = cli.resolve_project(args.dir, ext, declared=cli.sql_functions(args))
    directory = facts.dir
    folder = scan_folder(directory, ext)
    if args.foreign_keys != "auto":
        fk_mode, evidence = args.foreign_keys, "given with --foreign-keys"
    else:
        fk_mode = {True: FK_ON, False: FK_OFF, None: FK_UNKNOWN}[facts.foreign_keys]
        evidence = facts.foreign_keys_evidence
    override = cli.no_tx_wrap_override(args)
    no_tx_wrap = bool(facts.no_tx_wrap) if override is None else override
    conn = replay(folder, migrations_table=facts.migrations_table, no_tx_wrap=no_tx_wrap, foreign_keys=fk_mode == FK_ON,
                  functions=facts.sql_functions)
    report = {
        "status": "ok", "dir": str(directory), "project": facts.as_json(), "table": args.table,
        "foreign_keys": {"mode": fk_mode, "evidence": evidence}, "no_tx_wrap": no_tx_wrap,
        "summary": [], "up_sql": None, "down_sql": None, "created": [], "checks": {}, "warnings": [], "errors": [],
    }
    try:
        plan = plan_rebuild(conn, args.table, changes, fk_mode=fk_mode, no_tx_wrap=no_tx_wrap,
                            migrations_table=facts.migrations_table)
    except RebuildRefused as exc:
        report["status"], report["errors"] = "problems", [str(exc)]
        return _finish(args, report, facts)
    report["table"] = plan.table
    report["summary"] = plan.summary
    report["warnings"] = list(plan.warnings) + [f"note: {n}" for n in facts.notes]
    json_columns = folder_json_columns(folder, lambda f: read_sql(folder.file_path(f)).text)
    proof = prove(conn, plan, migrations_table=facts.migrations_table, json_columns=json_columns)
    report["checks"] = {**proof.checks, "sample_rows": proof.sample_rows, "foreign_key_modes": proof.modes}
    report["warnings"].extend(proof.notes)
    if not proof.ok:
        report["status"], report["errors"] = "problems", proof.failures
        return _finish(args, report, facts)
    up_body, down_body = plan.render("up"), plan.render("down")
    report["up_sql"], report["down_sql"] = up_body, down_body
    paths = None
    if name is not None:
        paths, texts, errors = _create(directory, ext, name, up_body, down_body, no_tx_wrap, args.dry_run)
        if errors:
            report["status"], report["errors"] = "problems", errors
            return _finish(args, report, facts)
        report["up_sql"], report["down_sql"] = texts
        key = "would_create" if args.dry_run else "created"
        report[key] = [str(paths.up), str(paths.down)]
        if args.dry_run:
            report["dry_run"] = True
    return _finish(args, report, facts)


def _create(directory: Path, ext: str, name: str, up_body: str, down_body: str, no_tx_wrap: bool, dry_run: bool):
    from mwcore.folder import scan_folder
    from mwcore.versioning import folder_lock, header, pair_paths, plan_next, write_pair

    def texts(version: str):
        return (header(version, name, "up", no_tx_wrap) + "\n" + up_body,
                header(version, name, "down", no_tx_wrap) + "\n" + down_body)

    if dry_run:
        plan = plan_next(scan_folder(directory, ext))
        if plan.next is None:
            return None, None, plan.errors
        return pair_paths(scan_folder(directory, ext), plan.next, name), texts(plan.next), []
    with folder_lock(directory):
        folder = scan_folder(directory, ext)
        plan = plan_next(folder)
        if plan.next is None:
            return None, None, plan.errors + ["nothing was created."]
        paths = pair_paths(folder, plan.next, name)
        up_text, down_text = texts(plan.next)
        write_pair(paths, up_text, down_text)
        return paths, (up_text, down_text), []


def _finish(args: argparse.Namespace, report: dict, facts) -> int:
    if args.json:
        cli.emit_json(report)
    else:
        _print_text(report)
        print(facts.summary())
    return cli.EXIT_OK if report["status"] == "ok" else cli.EXIT_PROBLEMS


_CHECK_WORDS = {
    "up": "up runs", "foreign_key_check": "no new foreign-key violation", "integrity_check": "integrity ok",
    "schema_compiles": "views and triggers compile", "new_shape": "the requested shape",
    "other_objects_unchanged": "nothing else changed", "rows_kept": "rows kept", "down": "down runs",
    "down_restores_schema": "down restores the schema", "down_rows_kept": "down keeps the rows",
    "reup_same_schema": "up again gives the same schema",
}


def _print_text(report: dict) -> None:
    fk = report["foreign_keys"]
    modes = report["checks"].get("foreign_key_modes") or []
    enforcement = " and ".join(modes) if modes else fk["mode"]
    if report["status"] == "ok":
        created = report.get("created") or []
        would = report.get("would_create") or []
        if not created:
            for direction, key, path in (("up", "up_sql", would[0] if would else None), ("down", "down_sql", would[1] if would else None)):
                print(f"-- ===== {direction}{': ' + path if path else ''} =====")
                print(report[key].rstrip("\n"))
                print()
        for path in created:
            print(f"created {path}")
        for path in would:
            print(f"would create {path} (dry run)")
        rows = report["checks"].get("sample_rows") or {}
        counts = ", ".join(f"{n} in {t}" for t, n in rows.items())
        print(f"proven on a scratch database from {report['dir']} (foreign keys {enforcement}; {fk['evidence']}): "
              f"up, down, up again; foreign keys, integrity, indexes, triggers, views and rows ({counts}) all as they must be.")
    else:
        print(f"error: no SQL offered for {report['table']}: " + (
            "the generated rebuild failed its proof on a scratch database:" if report["checks"] else "it cannot be written safely:"))
        for error in report["errors"]:
            print(f"  {error}")
        failed = [_CHECK_WORDS.get(k, k) for k, v in report["checks"].items() if v == "failed"]
        if failed:
            print(f"failed checks: {', '.join(failed)} (foreign keys {enforcement}).")
    for warning in report["warnings"]:
        print(f"warning: {warning}")


if __name__ == "__main__":
    cli.run(main, build_parser())
