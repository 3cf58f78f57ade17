"""MW0xx: the folder and its file names, as golang-migrate's source reads them."""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterator, Optional

from ..folder import MIGRATION_NAME_RE, UINT64_MAX, Migration, parse_name, printable
from .context import Context, FileCheck
from .registry import ERROR, FOLDER, INFO, WARNING, Hit, is_known, rule


def _too_large(name: str) -> bool:
    match = MIGRATION_NAME_RE.fullmatch(name)
    return match is not None and int(match.group(1)) > UINT64_MAX


def _lacking(ctx: Context, direction: str) -> Iterator[Migration]:
    """Versions without a file for `direction` (a broken symlink in its place
    does not count as lacking: MW011 reports that)."""
    linked = {(p.version, p.direction) for p in map(parse_name, ctx.folder.bad_links) if p is not None}
    for migration in ctx.folder.migrations:
        if migration.file(direction) is None and (migration.version, direction) not in linked:
            yield migration


def suggest_name(name: str, ext: str = "sql") -> Optional[str]:
    """The migration name a near miss was probably meant to be."""
    fixed = re.sub(r"^([0-9]+)[-. ]+", r"\1_", name)
    fixed = re.sub(r"\.(up|down)\.", lambda m: "." + m.group(1).lower() + ".", fixed, flags=re.I)
    if re.search(r"\.(up|down)\Z", fixed, re.I):
        fixed = fixed[: fixed.rfind(".")] + "." + fixed[fixed.rfind(".") + 1:].lower() + "." + ext
    if "\n" in fixed or fixed == name or parse_name(fixed) is None:
        return None
    return fixed


@rule("MW001", "near-miss-name", ERROR, FOLDER)
def near_miss_name(ctx: Context) -> Iterator[Hit]:
    """A file named almost like a migration, which golang-migrate silently skips."""
    taken = set(ctx.folder.names)
    for miss in ctx.folder.near_misses:
        if _too_large(miss.name):
            continue
        suggestion = suggest_name(miss.name, ctx.folder.ext)
        if suggestion and suggestion not in taken:
            hint = f"rename it to {printable(suggestion)}"
        else:
            hint = "rename it to VERSION_name.up.sql / VERSION_name.down.sql, or move it out of the folder"
        yield Hit(f"{printable(miss.name)} never runs: {miss.reason}", hint, file=miss.name)


@rule("MW002", "duplicate-version", ERROR, FOLDER)
def duplicate_version(ctx: Context) -> Iterator[Hit]:
    """Two files with the same version and direction; golang-migrate refuses the folder."""
    for dup in ctx.folder.duplicates:
        for name in dup.names[1:]:
            yield Hit(
                f"version {dup.version} already has {dup.direction} file {printable(dup.names[0])}: golang-migrate "
                f"refuses to open the folder (duplicate migration file: {printable(name)})",
                "give one of the two migrations (both its files) the next free version (next_version.py prints it)",
                file=name,
            )


@rule("MW003", "missing-down", ERROR, FOLDER)
def missing_down(ctx: Context) -> Iterator[Hit]:
    """An up file without a down file, so `migrate down` silently keeps its changes.

    Not reported with --allow-missing-down, nor in an up-only folder (no
    shipped version has a down file: the project's convention), unless
    --require-down."""
    if ctx.downs_optional:
        return
    for migration in _lacking(ctx, "down"):
        down = ctx.pair_name(migration, "down")
        yield Hit(
            f"version {migration.version} has no down file: golang-migrate treats it as empty, so `down` moves "
            "the version back but keeps this migration's changes",
            f"add {printable(down)} that undoes this file (or pass --allow-missing-down if the project is up-only)",
            file=migration.files[0].name,
        )


@rule("MW004", "missing-up", ERROR, FOLDER)
def missing_up(ctx: Context) -> Iterator[Hit]:
    """A down file without an up file: the up is an empty migration."""
    for migration in _lacking(ctx, "up"):
        up = ctx.pair_name(migration, "up")
        yield Hit(
            f"version {migration.version} has no up file: `up` records the version without changing anything, "
            "and `down` then runs this file",
            f"add {printable(up)}, or delete this file if the migration was abandoned",
            file=migration.files[0].name,
        )


@rule("MW005", "mixed-padding", WARNING, FOLDER)
def mixed_padding(ctx: Context) -> Iterator[Hit]:
    """Versions padded to different widths; `migrate create` then numbers wrongly."""
    texts = [m.version_text for m in ctx.folder.migrations]
    widths = Counter(len(t) for t in texts if len(t) > 1 and t.startswith("0"))
    if not widths:
        return
    width = max(widths.items(), key=lambda item: (item[1], item[0]))[0]
    for migration in ctx.folder.migrations:
        text = migration.version_text
        if len(text) != width:
            target = str(migration.version).zfill(width)
            how = f"rename its files to {target}_... (the same version number)" if len(target) == width else \
                f"pad every version to {len(text)} digits"
            yield Hit(
                f"version {text} has {len(text)} digits but the folder pads versions to {width}: `migrate create` "
                "sorts names as text and would pick the wrong next number",
                how, file=migration.files[0].name,
            )


def _looks_like_timestamp(text: str) -> bool:
    return len(text) >= 10 and not text.startswith("0")


@rule("MW006", "version-gap", INFO, FOLDER)
def version_gap(ctx: Context) -> Iterator[Hit]:
    """A missing version number between two migrations (legal; often a lost file)."""
    migrations = ctx.folder.migrations
    if any(_looks_like_timestamp(m.version_text) for m in migrations):
        return
    for previous, current in zip(migrations, migrations[1:]):
        missing = current.version - previous.version - 1
        if missing > 0:
            span = str(previous.version + 1) if missing == 1 else f"{previous.version + 1}-{current.version - 1}"
            yield Hit(
                f"version {current.version} follows {previous.version}: {span} missing (legal; golang-migrate runs them in order)",
                "nothing to do if that migration was removed on purpose; check no other branch still has it",
                file=current.files[0].name,
            )


@rule("MW007", "version-too-large", ERROR, FOLDER)
def version_too_large(ctx: Context) -> Iterator[Hit]:
    """A version number beyond uint64; golang-migrate skips the file."""
    for miss in ctx.folder.near_misses:
        if _too_large(miss.name):
            yield Hit(
                f"{printable(miss.name)} never runs: its version does not fit in uint64, golang-migrate's version type",
                "renumber it with next_version.py", file=miss.name,
            )


_PLACEHOLDER_WORDS = re.compile(r"no-?op|placeholder|on purpose|intentional|hook|\bgo\b|nothing to (?:do|run)",
                                re.I)


@rule("MW008", "empty-up", ERROR)
def empty_up(f: FileCheck) -> Iterator[Hit]:
    """An up file with no statement: the version moves and nothing changes.

    Not reported where Go code runs at that version (the comment-only file is
    its placeholder, mwcore.gohooks); a note, not an error, when the file's
    name or comments say it is a placeholder or the version has shipped."""
    if not (f.is_up and f.fa.readable and not f.statements):
        return
    version = f.fa.migration.version
    if f.ctx.go_hook(version) is not None:
        return
    said = _PLACEHOLDER_WORDS.search(f.fa.file.description) or _PLACEHOLDER_WORDS.search(f.fa.text or "")
    if said or not f.ctx.is_new(version):
        why = "its name or comments say it is a placeholder" if said else "it has shipped"
        yield f.at_top(
            f"the up file has no SQL statement and {why}: golang-migrate records version {version} and runs nothing; "
            "no Go code that runs at this version was found (a hook table keyed by it, `case`, Migrate(N))",
            "nothing to do if the project runs Go code at this version (name that code in the file's comment); "
            "keep the file either way: a database at this version needs it",
            severity=INFO,
        )
        return
    yield f.at_top(
        "the up file has no SQL statement (only comments or nothing): golang-migrate records the version and changes nothing",
        "write the migration's SQL; if Go code runs at this version, say so in a comment (-- placeholder: Go hook in "
        "FILE); delete the pair only if it never shipped",
    )


@rule("MW009", "empty-down", ERROR)
def empty_down(f: FileCheck) -> Iterator[Hit]:
    """A down file with no statement while its up changes the schema."""
    if not (f.is_down and f.fa.readable and not f.statements):
        return
    up = f.other()
    if up is None or not up.changed_schema():
        return
    created = sorted(a.label() for b, a in up.delta.values() if a is not None and b is None)
    what = f" (it creates {', '.join(created[:3])}{'...' if len(created) > 3 else ''})" if created else ""
    yield f.at_top(
        f"the down file is empty but {up.name} changes the schema{what}: `down` moves the version and keeps every change",
        "write SQL that undoes the up, restoring the schema exactly (indexes and triggers too)",
    )


@rule("MW010", "other-extension", WARNING, FOLDER)
def other_extension(ctx: Context) -> Iterator[Hit]:
    """A migration-shaped name with another extension (`1_x.up.sql.bak`)."""
    for other in ctx.folder.other_ext:
        yield Hit(
            f"{printable(other.name)} matches golang-migrate's pattern but not *.{ctx.folder.ext}: a file:// source "
            f"runs it as version {other.version} {other.direction}, //go:embed *.{ctx.folder.ext} leaves it out",
            "delete it or move it out of the migrations folder", file=other.name,
        )


@rule("MW011", "broken-link", ERROR, FOLDER)
def broken_link(ctx: Context) -> Iterator[Hit]:
    """A migration name that is a broken symlink (or a link to a folder)."""
    for name in ctx.folder.bad_links:
        yield Hit(
            f"{printable(name)} is a broken symlink or a link to a folder: golang-migrate fails to read it",
            "replace the link with the file itself", file=name,
        )


@rule("MW012", "unreadable-file", ERROR)
def unreadable_file(f: FileCheck) -> Iterator[Hit]:
    """A migration file that cannot be read as UTF-8 text; it was not checked."""
    reason = f.fa.read_error
    if reason is None or f.name in f.ctx.folder.outside_links:  # MW015 says it
        return
    if "UTF-8" in reason:
        hint = "save it as UTF-8 text: golang-migrate hands its bytes to SQLite unchanged"
        reason = reason.split(";")[0]
    elif "NUL" in reason:
        hint = "remove the NUL character (a file saved as UTF-16, or binary data, has them)"
    elif "permission" in reason:
        hint = "make the file readable (golang-migrate cannot read it either)"
    else:
        hint = "make it a readable UTF-8 text file"
    yield Hit(f"not checked: {reason.rstrip('.')}", hint)


@rule("MW013", "unknown-suppression", WARNING)
def unknown_suppression(f: FileCheck) -> Iterator[Hit]:
    """A `migration-writer: ignore` comment naming no known rule code."""
    if f.directives is None:
        return
    for line, text in f.directives.malformed:
        yield Hit(f"suppression comment names no rule code: {printable(text[:60])!r}",
                  "write -- migration-writer: ignore MW123[,MW456] reason", line=line)
    for suppression in f.directives.suppressions:
        unknown = [c for c in suppression.codes if not is_known(c)]
        if unknown:
            what = "an unknown code" if len(unknown) == 1 else "unknown codes"
            yield Hit(
                f"suppression names {what}: {', '.join(printable(c) for c in unknown)}; it suppresses nothing for "
                + ("it" if len(unknown) == 1 else "them"),
                "use the codes validate_pairs.py --list-rules prints", line=suppression.line,
            )


@rule("MW014", "checksum-mismatch", ERROR, FOLDER)
def checksum_mismatch(ctx: Context) -> Iterator[Hit]:
    """A migration changed, vanished or was slotted in below others since
    migrations.sum recorded the folder (only when the folder has that file)."""
    if "migrations.sum" not in ctx.folder.names:
        return  # (checked before importing the hashing module: most folders have no sum)
    from ..checksum import SUM_FILE, check

    existing = set(ctx.folder.names)
    for finding in check(ctx.folder).errors:
        target = finding.name if finding.name in existing else SUM_FILE
        hint = {
            "edited": "restore the file as it was summed and put the change in a new migration",
            "renamed": "restore the old name",
            "removed": "restore the file (databases at that version need it)",
            "out_of_order": "renumber it above every existing version (next_version.py prints the next one)",
        }.get(finding.kind, "regenerate migrations.sum with status.py --write-sum from a trusted checkout")
        yield Hit(finding.message, hint, file=target)


@rule("MW015", "symlinked-migration", ERROR, FOLDER)
def symlinked_migration(ctx: Context) -> Iterator[Hit]:
    """A migration that is a symbolic link: go:embed refuses or drops it, and
    one that leads out of the folder is never read."""
    outside = set(ctx.folder.outside_links)
    fix = "replace the link with a copy of the file it points at (read that file first: it runs as SQL)"
    for migration_file in ctx.folder.all_files() + ctx.folder.other_ext:
        if not migration_file.is_symlink:
            continue
        name = migration_file.name
        unread = " It points outside the folder, so it was not read or checked (its target is not shown)." if name in outside else ""
        use = ctx.embeds.get(name)
        if use is not None and not use.whole_directory:
            message = (f"{printable(name)} is a symbolic link: `go build` fails at {use.where(ctx.embed_root)} "
                       f"(pattern {use.pattern}: cannot embed irregular file), while golang-migrate's file:// source follows it.")
        elif use is not None:
            message = (f"{printable(name)} is a symbolic link: //go:embed {use.pattern} at {use.where(ctx.embed_root)} "
                       "leaves links out without a word, so the app never runs this migration while file:// (the CLI) does.")
        elif name in outside:
            message = (f"{printable(name)} is a symbolic link to a file outside the migrations folder: golang-migrate's "
                       "file:// source follows it and runs whatever it points at; go:embed refuses or drops links.")
            unread = " It was not read or checked (its target is not shown)."
        else:
            continue
        yield Hit((message + unread).rstrip("."), fix, file=name)


@rule("MW016", "embed-invalid-name", ERROR, FOLDER)
def embed_invalid_name(ctx: Context) -> Iterator[Hit]:
    """A file name golang-migrate reads but go:embed refuses (quotes, backslash,
    backtick, control or non-letter Unicode characters)."""
    from ..goembed import embed_name_problem

    for name in ctx.folder.names:
        if not ctx.judged(name):
            continue
        problem = embed_name_problem(name)
        if problem is None:
            continue
        use = ctx.embeds.get(name)
        hidden = name.startswith((".", "_")) and use is not None and use.whole_directory and not use.pattern.startswith("all:")
        if use is not None and not hidden:
            yield Hit(
                f"`go build` fails at {use.where(ctx.embed_root)}: pattern {use.pattern}: cannot embed file "
                f"{printable(name)}: invalid name ({problem})",
                "rename it to letters, digits and _ (e.g. 000002_add_email.up.sql); golang-migrate only needs VERSION_name.up.sql",
                file=name,
            )
        elif parse_name(name) is not None:
            yield Hit(
                f"{printable(name)}: golang-migrate's file:// source reads it, but //go:embed refuses the name ({problem}), "
                "so this folder cannot be embedded and some systems (Windows) cannot check it out",
                "rename it to letters, digits and _ (e.g. 000002_add_email.up.sql)",
                file=name, severity=WARNING,
            )
