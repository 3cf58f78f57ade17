"""Table rebuilds for golang-migrate on SQLite: the changes ALTER TABLE cannot do.

`plan_rebuild` reads the table from a database built by replaying the
migrations folder (`replay`), edits its CREATE TABLE (`tabledef`), and renders
the up and the down as lists of statements: SQLite's 12-step rebuild adapted
to golang-migrate's per-file transaction and to how the project enforces
foreign keys. The temp-table suffix is a parameter, so the SQL is
deterministic and tests compare it exactly. `rebuild_proof.prove` runs the
result before anyone sees it.

Foreign-key modes (see references/rebuild.md):
- off: enforcement is off (the mattn DSN has no _foreign_keys/_fk). DROP TABLE
  leaves child rows alone; a guard at the end fails the file on any NEW
  violation (violations that existed before are recorded first and tolerated).
- on: DROP TABLE runs ON DELETE actions on the rows that reference the table,
  and neither PRAGMA foreign_keys (a no-op inside a transaction) nor
  defer_foreign_keys prevents it. The rows of every table that references it,
  directly or transitively, are set aside in temp tables and the tables
  emptied deepest-first; after the rebuild the rows go back top-down.
- unknown: both of the above, so the file is safe either way.
With x-no-tx-wrap the file owns its transaction: PRAGMA foreign_keys=OFF (when
enforcement may be on) before BEGIN, the guard before COMMIT, then ON again.
Column renames use ALTER TABLE ... RENAME COLUMN, which also rewrites indexes,
triggers, views and other tables' foreign keys.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import MigrationWriterError, UsageError
from .folder import MigrationFolder
from . import engine
from .sqltext import normalize_sql, split_statements
from .sqltext import quote_identifier as q
from .tabledef import (
    ColumnDef,
    EditLog,
    TableDef,
    TableDefError,
    add_check,
    add_foreign_key,
    add_unique,
    check_expression,
    check_type,
    drop_column,
    drop_default,
    drop_foreign_key,
    mentions_name,
    on_delete_action,
    parse_create_table,
    reorder_columns,
    retarget_self_references,
    set_default,
    set_not_null,
    set_nullable,
    set_primary_key,
    set_type,
)

FK_ON, FK_OFF, FK_UNKNOWN = "on", "off", "unknown"
GUARD_BEFORE = "mw_fk_before"
GUARD = "mw_fk_guard"
ROWID_NAMES = ("rowid", "_rowid_", "oid")


class RebuildRefused(MigrationWriterError):
    """The change cannot be written safely for this project (not a usage error)."""


class ChainFails(MigrationWriterError):
    """A migration of the folder fails on the scratch database: a problem
    found in the folder (exit 1), not a usage error."""

    exit_code = 1


@dataclass(frozen=True)
class ForeignKeySpec:
    column: str
    table: str
    to_column: str
    on_delete: Optional[str] = None


@dataclass(frozen=True)
class Changes:
    """What to change, in the spirit of `sqlite-utils transform`. Column names
    may be given in any case, and by their old name when --rename renames them."""

    types: Tuple[Tuple[str, str], ...] = ()
    drops: Tuple[str, ...] = ()
    renames: Tuple[Tuple[str, str], ...] = ()
    not_null: Tuple[str, ...] = ()
    fills: Tuple[Tuple[str, str], ...] = ()
    nullable: Tuple[str, ...] = ()
    defaults: Tuple[Tuple[str, str], ...] = ()
    drop_defaults: Tuple[str, ...] = ()
    pk: Optional[Tuple[str, ...]] = None
    add_fks: Tuple[ForeignKeySpec, ...] = ()
    drop_fks: Tuple[str, ...] = ()
    column_order: Optional[Tuple[str, ...]] = None
    checks: Tuple[str, ...] = ()
    uniques: Tuple[Tuple[str, ...], ...] = ()
    down_fills: Tuple[Tuple[str, str], ...] = ()
    # --no-fill: a --not-null column without --fill is copied as it is, so the
    # up fails on the first row holding NULL there (said in the SQL and proven).
    no_fill: bool = False


@dataclass(frozen=True)
class SqlStep:
    sql: str  # one statement, ending with ';'
    comment: str = ""  # why it is there; rendered as -- lines above it


@dataclass(frozen=True)
class CopySpec:
    """How rows move between the two shapes: for each target column (the first
    may be a rowid name), an SQL expression over the source table's columns."""

    columns: Tuple[str, ...]
    exprs: Tuple[str, ...]
    rowid: Optional[str] = None  # the rowid name copied, if any

    def insert_select(self, target: str, source: str) -> str:
        cols = ", ".join(q(c) for c in self.columns)
        exprs = ", ".join(self.exprs)
        return f"INSERT INTO {q(target)} ({cols})\nSELECT {exprs}\nFROM {q(source)};"


@dataclass
class RebuildPlan:
    table: str
    temp_name: str
    fk_mode: str
    no_tx_wrap: bool
    summary: List[str]
    up: List[SqlStep]
    down: List[SqlStep]
    up_notes: List[str]
    down_notes: List[str]
    warnings: List[str]
    # What the proof needs to know.
    changes: Changes
    old_def: TableDef  # the table as the migrations leave it (after renames)
    new_def: TableDef
    rebuilt: bool  # False when ALTER TABLE RENAME COLUMN did everything
    renames: Tuple[Tuple[str, str], ...]  # (old, new), as applied
    up_copy: Optional[CopySpec]
    down_copy: Optional[CopySpec]
    dropped_columns: Tuple[str, ...]
    dropped_indexes: Tuple[str, ...]
    filled_columns: Tuple[str, ...]
    typed_columns: Tuple[str, ...]
    referencing: Tuple[str, ...]  # tables that reference the table, transitively
    set_aside: Tuple[str, ...]  # tables whose rows the up sets aside (enforcement on)
    unfilled: Tuple[str, ...] = ()  # --not-null columns copied without a fill (--no-fill)

    def statements(self, direction: str) -> List[str]:
        return [step.sql for step in (self.up if direction == "up" else self.down)]

    def render(self, direction: str) -> str:
        """The SQL file body: notes, then each statement under its comment.

        Notes and comments quote names from the user's schema, which may hold
        a newline; SQLite ends a `--` comment there, so every line is passed
        through comment_line, and the rendered text is split again to check
        it holds exactly the planned statements and nothing else.
        """
        notes = self.up_notes if direction == "up" else self.down_notes
        steps = self.up if direction == "up" else self.down
        parts = ["\n".join(f"-- {comment_line(line)}" if line else "--" for line in notes)] if notes else []
        for step in steps:
            comment = "\n".join(f"-- {comment_line(line)}" for line in step.comment.split("\n")) if step.comment else ""
            parts.append(f"{comment}\n{step.sql}" if comment else step.sql)
        text = "\n\n".join(parts) + "\n"
        if [s.sql for s in split_statements(text)] != [step.sql for step in steps]:
            raise RebuildRefused(
                f"the {direction} file would not hold exactly the planned statements (a name in a comment?); "
                "nothing was written, please report it."
            )
        return text


_COMMENT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\t"}


def comment_line(text: str) -> str:
    """`text` made safe inside one `--` comment line: newlines, other control
    characters and Unicode line separators become visible escapes (SQLite
    ends the comment at a newline; editors also break lines at the others)."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch in _COMMENT_ESCAPES:
            out.append(_COMMENT_ESCAPES[ch])
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def shown(name: str) -> str:
    """A name quoted as SQL for a comment: one line whatever it holds."""
    return comment_line(q(name))


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Replaying the folder -------------------------------------------------------


def replay(folder: MigrationFolder, *, migrations_table: str = "schema_migrations", no_tx_wrap: bool = False,
           foreign_keys: bool = False, functions: Sequence = ()) -> sqlite3.Connection:
    """An in-memory database with every migration of the folder applied, in
    golang-migrate's order and way (mwcore.gomigrate), with stand-ins for the
    SQL functions the app registers."""
    from .gomigrate import NO_CHANGE, GoMigrate
    from .sqlfuncs import register

    if folder.duplicates:
        dup = folder.duplicates[0]
        raise MigrationWriterError(
            f"{folder.path}: version {dup.version} has two {dup.direction} files ({', '.join(dup.names)}); "
            "golang-migrate refuses the folder, fix that first."
        )
    if not folder.migrations:
        raise MigrationWriterError(f"{folder.path}: holds no migrations, so there is no table to rebuild.")
    conn = engine.scratch(foreign_keys=foreign_keys)
    register(conn, functions)
    outcome = GoMigrate(conn, folder, table=migrations_table, no_tx_wrap=no_tx_wrap).up()
    if outcome.error and outcome.error_kind != NO_CHANGE:
        conn.close()
        raise ChainFails(
            f"the migrations in {folder.path} do not apply on a scratch database ({outcome.error}); "
            "fix that first (verify_migrations.py shows where)."
        )
    return conn


# Reading the schema ---------------------------------------------------------


@dataclass(frozen=True)
class SchemaEntry:
    type: str
    name: str
    table: str
    sql: str


def schema_entries(conn: sqlite3.Connection) -> List[SchemaEntry]:
    """Every object with SQL, in creation (rowid) order."""
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM main.sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")
    return [SchemaEntry(*row) for row in rows]


def table_columns(conn: sqlite3.Connection, table: str) -> List[tuple]:
    """(name, type, notnull, default, pk, hidden) for each column."""
    return conn.execute(
        'SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?)', (table,)
    ).fetchall()


def writable_columns(conn: sqlite3.Connection, table: str) -> List[str]:
    """Columns an INSERT can set (generated and hidden columns excluded)."""
    return [row[0] for row in table_columns(conn, table) if row[5] == 0]


def foreign_keys(conn: sqlite3.Connection, table: str) -> List[tuple]:
    """(from, parent table, to, on_delete) for each foreign-key column."""
    return conn.execute('SELECT "from", "table", "to", on_delete FROM pragma_foreign_key_list(?)', (table,)).fetchall()


def user_tables(conn: sqlite3.Connection, migrations_table: str) -> List[str]:
    rows = conn.execute(
        "SELECT name, sql FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid"
    ).fetchall()
    return [name for name, sql in rows if name.lower() != migrations_table.lower() and not (sql or "").upper().startswith("CREATE VIRTUAL")]


def has_rowid_alias(conn: sqlite3.Connection, table: str, without_rowid: bool) -> bool:
    pks = [row for row in table_columns(conn, table) if row[4]]
    return not without_rowid and len(pks) == 1 and (pks[0][1] or "").upper() == "INTEGER"


def referencing_tables(conn: sqlite3.Connection, table: str, migrations_table: str) -> Tuple[List[str], List[str]]:
    """(direct, all): tables whose foreign keys point at `table`, directly, and
    directly or through other tables. The table itself is left out."""
    tables = user_tables(conn, migrations_table)
    parents = {t: {p.lower() for _f, p, _t, _a in foreign_keys(conn, t)} for t in tables}
    lower = table.lower()
    direct = [t for t in tables if t.lower() != lower and lower in parents[t]]
    closure: List[str] = []
    wanted = {lower}
    changed = True
    while changed:
        changed = False
        for t in tables:
            if t.lower() != lower and t not in closure and parents[t] & wanted:
                closure.append(t)
                wanted.add(t.lower())
                changed = True
    return direct, closure


def dependency_order(conn: sqlite3.Connection, tables: Sequence[str]) -> List[str]:
    from .rows import dependency_order as order

    return order(conn, tables)


# Planning -------------------------------------------------------------------


def find_table(conn: sqlite3.Connection, table: str, migrations_table: str = "schema_migrations") -> str:
    """The table's name as stored, or UsageError naming the tables there are."""
    rows = conn.execute("SELECT type, name, sql FROM main.sqlite_master WHERE type IN ('table', 'view')").fetchall()
    for kind, name, sql in rows:
        if name.lower() != table.lower():
            continue
        if kind == "view":
            raise UsageError(f"{name} is a view, not a table; views are dropped and recreated, not rebuilt.")
        if name.lower().startswith("sqlite_") or name.lower() == migrations_table.lower():
            raise UsageError(f"{name} is an internal table; rebuild one of your own tables.")
        if (sql or "").upper().startswith("CREATE VIRTUAL"):
            raise UsageError(f"{name} is a virtual table; SQLite cannot rebuild it with ALTER-style steps.")
        return name
    tables = user_tables(conn, migrations_table)
    listing = ", ".join(tables[:30]) + (" ..." if len(tables) > 30 else "") if tables else "none"
    raise UsageError(f"no table {table!r} after applying the migrations (tables: {listing}).")


def plan_rebuild(
    conn: sqlite3.Connection,
    table: str,
    changes: Changes,
    *,
    fk_mode: str = FK_UNKNOWN,
    no_tx_wrap: bool = False,
    suffix: str = "new",
    migrations_table: str = "schema_migrations",
) -> RebuildPlan:
    """Plan the rebuild of `table` on `conn` (a replayed database; not changed)."""
    if fk_mode not in (FK_ON, FK_OFF, FK_UNKNOWN):
        raise UsageError(f"foreign-key mode {fk_mode!r}: use on, off or unknown.")
    name = find_table(conn, table, migrations_table)
    work = engine.copy(conn)
    try:
        return _Planner(work, name, changes, fk_mode, no_tx_wrap, suffix, migrations_table).plan()
    finally:
        work.close()


class _Planner:
    def __init__(self, work: sqlite3.Connection, table: str, changes: Changes, fk_mode: str, no_tx_wrap: bool,
                 suffix: str, migrations_table: str) -> None:
        self.work = work
        self.table = table
        self.changes = changes
        self.fk_mode = fk_mode
        self.no_tx_wrap = no_tx_wrap
        self.suffix = suffix
        self.migrations_table = migrations_table
        self.renamed: Dict[str, str] = {}  # old name (lower) -> new name
        self.log = EditLog()
        self.down_notes: List[str] = []
        self.unfilled: List[str] = []  # --not-null columns without --fill
        self.save = not no_tx_wrap and fk_mode in (FK_ON, FK_UNKNOWN)
        self.guard = no_tx_wrap or fk_mode in (FK_OFF, FK_UNKNOWN)

    # -- the edit ---------------------------------------------------------------
    def plan(self) -> RebuildPlan:
        renames = self._apply_renames()
        old_sql = self.work.execute("SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?", (self.table,)).fetchone()[0]
        try:
            old = parse_create_table(old_sql)
        except TableDefError as exc:
            raise UsageError(f"cannot read the definition of {self.table} ({exc}).") from None
        new = old.clone()
        fills, down_fills, dropped, typed = self._edit(old, new)
        rebuilt = normalize_sql(new.render(self.table)) != normalize_sql(old.render(self.table))
        if not rebuilt and not renames:
            raise UsageError(f"these options change nothing in {self.table}.")
        if not rebuilt and (fills or down_fills):
            raise UsageError("--fill and --down-fill only apply together with a change that rebuilds the table.")
        probe = self._probe(new)
        try:
            return self._assemble(old, new, probe, renames, fills, down_fills, dropped, typed, rebuilt)
        finally:
            probe.close()

    def _apply_renames(self) -> List[Tuple[str, str]]:
        applied = []
        for old, new in self.changes.renames:
            current = self._column_of_table(old, "--rename")
            if not new or new != new.strip():
                raise UsageError(f"--rename {old} {new!r}: give a new name without leading or trailing spaces.")
            try:
                self.work.execute(f"ALTER TABLE {q(self.table)} RENAME COLUMN {q(current)} TO {q(new)}")
            except sqlite3.Error as exc:
                raise UsageError(f"--rename {old} {new}: SQLite refuses it ({exc}).") from None
            applied.append((current, new))
            self.renamed[current.lower()] = new
            self.renamed[old.lower()] = new
        return applied

    def _column_of_table(self, name: str, option: str) -> str:
        names = [row[0] for row in table_columns(self.work, self.table)]
        for column in names:
            if column.lower() == name.lower():
                return column
        raise UsageError(f"{option} {name}: {self.table} has no column {name!r} (columns: {', '.join(names)}).")

    def _resolve(self, table_def: TableDef, name: str, option: str) -> ColumnDef:
        column = table_def.column(name)
        if column is None and name.lower() in self.renamed:
            column = table_def.column(self.renamed[name.lower()])
        if column is None:
            raise UsageError(
                f"{option} {name}: {self.table} has no column {name!r} (columns: {', '.join(table_def.column_names())})."
            )
        return column

    def _edit(self, old: TableDef, new: TableDef):
        c, log = self.changes, self.log
        dropped = [self._resolve(new, name, "--drop").name for name in c.drops]
        dropped_lower = {d.lower() for d in dropped}

        def col(name: str, option: str) -> ColumnDef:
            column = self._resolve(new, name, option)
            if column.name.lower() in dropped_lower and option != "--drop":
                raise UsageError(f"{option} {name}: the column is dropped by --drop.")
            return column

        def cols(names: Sequence[str], option: str) -> List[ColumnDef]:
            if not names or any(not n for n in names):
                raise UsageError(f"{option}: give column names separated by commas.")
            out = [col(n, option) for n in names]
            if len({id(o) for o in out}) != len(out):
                raise UsageError(f"{option}: a column is named twice.")
            return out

        typed = []
        for name, type_text in c.types:
            column = col(name, "--type")
            set_type(new, column, check_type(type_text, f"--type {name}"), log)
            typed.append(column.name)
        not_null = []
        for name in c.not_null:
            column = col(name, "--not-null")
            set_not_null(new, column, log)
            not_null.append(column.name)
        for name in c.nullable:
            set_nullable(new, col(name, "--nullable"), log)
        for name, expression in c.defaults:
            set_default(new, col(name, "--default"), check_expression(expression, f"--default {name}"), log)
        for name in c.drop_defaults:
            drop_default(new, col(name, "--drop-default"), log)
        for name in c.drop_fks:
            drop_foreign_key(new, col(name, "--drop-foreign-key"), log)
        for spec in c.add_fks:
            self._add_fk(new, col(spec.column, "--add-foreign-key"), spec)
        for expression in c.checks:
            add_check(new, check_expression(expression, "--add-check"), log)
        for names in c.uniques:
            add_unique(new, cols(names, "--unique"), log)
        if c.pk is not None:
            set_primary_key(new, cols(c.pk, "--pk"), log)
        for name in dropped:
            column = new.column(name)
            if column is None:
                raise UsageError(f"--drop {name}: the column is named twice.")
            self._check_drop_is_safe(column.name)
            drop_column(new, column, log)
        if c.column_order is not None:
            reorder_columns(new, cols(c.column_order, "--column-order"), log)
        fills: Dict[str, str] = {}
        for name, expression in c.fills:
            column = col(name, "--fill")
            if column.generated:
                raise UsageError(f"--fill {name}: {column.name} is a generated column; its value is computed.")
            fills[column.name] = check_expression(expression, f"--fill {name}")
        down_fills: Dict[str, str] = {}
        for name, expression in c.down_fills:
            column = self._resolve(old, name, "--down-fill")
            if column.generated:
                raise UsageError(f"--down-fill {name}: {column.name} is a generated column; its value is computed.")
            down_fills[column.name] = check_expression(expression, f"--down-fill {name}")
        self.unfilled = [name for name in not_null if name not in fills]
        if self.unfilled and not c.no_fill:
            name = self.unfilled[0]
            raise UsageError(
                f"--not-null {name}: any row where {name} is NULL makes the up fail (NOT NULL constraint failed) and "
                f"golang-migrate leaves the database dirty; add --fill {name} EXPR to copy those rows with EXPR "
                "instead, or --no-fill to get SQL that fails on the first such row.")
        if c.no_fill and not self.unfilled:
            raise UsageError("--no-fill only applies to a --not-null column without --fill.")
        for name in self.unfilled:
            nulls = self.work.execute(f"SELECT count(*) FROM {q(self.table)} WHERE {q(name)} IS NULL").fetchone()[0]
            if nulls:
                raise UsageError(
                    f"--no-fill: {nulls} row{'s' if nulls != 1 else ''} that the migrations themselves insert "
                    f"{'have' if nulls != 1 else 'has'} NULL in {name}, so this up would fail on every database; "
                    f"use --fill {name} EXPR.")
        return fills, down_fills, dropped, typed

    def _add_fk(self, new: TableDef, column: ColumnDef, spec: ForeignKeySpec) -> None:
        action = on_delete_action(spec.on_delete) if spec.on_delete else None
        option = f"--add-foreign-key {spec.column} {spec.table} {spec.to_column}"
        if spec.table.lower() == self.table.lower():
            parent = self.table
            parent_cols = new.column_names()
        else:
            rows = self.work.execute(
                "SELECT name FROM main.sqlite_master WHERE type = 'table' AND lower(name) = lower(?)", (spec.table,)
            ).fetchall()
            if not rows:
                raise UsageError(f"{option}: there is no table {spec.table!r}.")
            parent = rows[0][0]
            parent_cols = [row[0] for row in table_columns(self.work, parent)]
        match = next((p for p in parent_cols if p.lower() == spec.to_column.lower()), None)
        if match is None:
            raise UsageError(f"{option}: {parent} has no column {spec.to_column!r}.")
        add_foreign_key(new, column, parent, match, action, self.log)

    def _check_drop_is_safe(self, column: str) -> None:
        for other in user_tables(self.work, self.migrations_table):
            if other.lower() == self.table.lower():
                continue
            for frm, parent, to, _action in foreign_keys(self.work, other):
                if parent.lower() == self.table.lower() and (to or "").lower() == column.lower():
                    raise UsageError(
                        f"--drop {column}: {other}.{frm} references {self.table}.{column}; "
                        "change that foreign key first (or drop it with a rebuild of that table)."
                    )
        for entry in schema_entries(self.work):
            if entry.type in ("trigger", "view") and mentions_name(entry.sql, [column]) and (
                entry.table.lower() == self.table.lower() or mentions_name(entry.sql, [self.table])
            ):
                self.log.warnings.append(
                    f"--drop {column}: {entry.type} {entry.name} mentions {column}; if it uses this column it breaks "
                    "(the proof below checks it)."
                )

    def _probe(self, new: TableDef) -> sqlite3.Connection:
        """The new shape created alone under the table's name: SQLite's verdict
        on the definition, and its PRAGMAs."""
        probe = engine.scratch()
        try:
            probe.execute(new.render(self.table))
        except sqlite3.Error as exc:
            probe.close()
            raise UsageError(f"SQLite rejects the new definition of {self.table} ({exc}).") from None
        return probe

    # -- assembling the SQL --------------------------------------------------------
    def _assemble(self, old: TableDef, new: TableDef, probe: sqlite3.Connection, renames, fills, down_fills,
                  dropped, typed, rebuilt) -> RebuildPlan:
        table = self.table
        temp = self._temp_name()
        entries = schema_entries(self.work)
        indexes = [e for e in entries if e.type == "index" and e.table.lower() == table.lower()]
        triggers = [e for e in entries if e.type == "trigger" and e.table.lower() == table.lower()]
        kept_indexes, index_notes, dropped_indexes = self._indexes_on_new_shape(probe, indexes, dropped)
        direct, closure = referencing_tables(self.work, table, self.migrations_table)
        saved = dependency_order(self.work, closure) if self.save and rebuilt else []
        self._check_cycles(saved, probe)
        dependents = self._dependents(entries, saved)
        old_info = {row[0].lower(): row for row in table_columns(self.work, table)}
        new_info = {row[0].lower(): row for row in table_columns(probe, table)}

        up_copy = down_copy = None
        up_core: List[SqlStep] = []
        down_core: List[SqlStep] = []
        if rebuilt:
            self._check_new_foreign_keys(new, temp)
            up_copy = self._copy_spec(
                target=new, target_alias=has_rowid_alias(probe, table, new.without_rowid), source=old,
                exprs={c: f"COALESCE({q(c)}, {e})" for c, e in fills.items()},
            )
            down_exprs, skipped = self._down_exprs(old, new, old_info, new_info, down_fills)
            down_copy = self._copy_spec(
                target=old, target_alias=has_rowid_alias(self.work, table, old.without_rowid), source=new,
                exprs=down_exprs, skip=skipped,
            )
            self._notes_for_copy(old, new, fills, typed, up_copy)
            up_core = self._rebuild_steps(
                source=old, target=new, copy=up_copy, temp=temp, indexes=kept_indexes, index_notes=index_notes,
                triggers=triggers, saved=saved, dependents=dependents,
                restrict=self._self_restrict(self.work, table), why="up",
            )
            down_core = self._rebuild_steps(
                source=new, target=old, copy=down_copy, temp=temp, indexes=indexes,
                index_notes=[f"Recreated as well: index {shown(n)}, which the up dropped with its column." for n in dropped_indexes],
                triggers=triggers, saved=saved, dependents=dependents,
                restrict=self._self_restrict(probe, table), why="down",
            )
        rename_up = [
            SqlStep(f"ALTER TABLE {q(table)} RENAME COLUMN {q(a)} TO {q(b)};",
                    "ALTER TABLE can rename a column itself; it also rewrites indexes, triggers, views\nand the foreign keys of other tables that name it." if i == 0 else "")
            for i, (a, b) in enumerate(renames)
        ]
        rename_down = [
            SqlStep(f"ALTER TABLE {q(table)} RENAME COLUMN {q(b)} TO {q(a)};", "Rename the column back." if i == 0 else "")
            for i, (a, b) in enumerate(reversed(renames))
        ]
        guard_tables = [table] + direct
        up = self._wrap(rename_up + up_core, guard_tables)
        down = self._wrap(down_core + rename_down, guard_tables)
        summary = [f"{q(a)} renamed to {q(b)}" for a, b in renames] + self.log.summary
        return RebuildPlan(
            table=table, temp_name=temp, fk_mode=self.fk_mode, no_tx_wrap=self.no_tx_wrap, summary=summary,
            up=up, down=down, up_notes=self._up_notes(summary, rebuilt, saved) + self._no_fill_notes(temp),
            down_notes=self._down_notes(rebuilt),
            warnings=self.log.warnings, changes=self.changes, old_def=old, new_def=new, rebuilt=rebuilt,
            renames=tuple(renames), up_copy=up_copy, down_copy=down_copy, dropped_columns=tuple(dropped),
            dropped_indexes=tuple(dropped_indexes), filled_columns=tuple(fills), typed_columns=tuple(typed),
            referencing=tuple(closure), set_aside=tuple(saved), unfilled=tuple(self.unfilled),
        )

    def _temp_name(self) -> str:
        taken = {row[0].lower() for row in self.work.execute("SELECT name FROM main.sqlite_master")}
        base = f"{self.table}_{self.suffix}"
        name, n = base, 2
        while name.lower() in taken:
            name, n = f"{base}{n}", n + 1
        return name

    def _indexes_on_new_shape(self, probe: sqlite3.Connection, indexes: List[SchemaEntry], dropped: List[str]):
        kept, notes, gone = [], [], []
        for index in indexes:
            try:
                probe.execute(index.sql)
            except sqlite3.Error as exc:
                if "no such column" not in str(exc) or not dropped:
                    raise UsageError(f"index {index.name} cannot be recreated on the new {self.table} ({exc}).") from None
                gone.append(index.name)
                notes.append(comment_line(f"Not recreated: index {q(index.name)} uses a dropped column ({exc})."))
                self.log.warnings.append(f"index {index.name} uses a dropped column and is dropped with it (the down recreates it).")
                continue
            kept.append(index)
        return kept, notes, gone

    def _check_cycles(self, saved: List[str], probe: sqlite3.Connection) -> None:
        if not saved:
            return
        lower = {s.lower() for s in saved}
        parents = {p.lower() for _f, p, _t, _a in foreign_keys(self.work, self.table) + foreign_keys(probe, self.table)}
        cycle = sorted(parents & lower)
        if cycle:
            raise RebuildRefused(
                f"{self.table} references {cycle[0]}, which references {self.table} (a foreign-key cycle); with "
                "enforcement on, its rows cannot be set aside inside golang-migrate's transaction. Run this migration "
                "with x-no-tx-wrap (the file then turns enforcement off itself), or break the cycle first."
            )
        for name in saved + [self.table]:
            source = self.work if name != self.table else probe
            for frm, parent, _to, action in foreign_keys(source, name):
                if parent.lower() == name.lower() and action == "RESTRICT":
                    notnull = {row[0].lower(): row[2] for row in table_columns(source, name)}
                    if notnull.get(frm.lower()):
                        raise RebuildRefused(
                            f"{name}.{frm} is a NOT NULL self-reference with ON DELETE RESTRICT; with enforcement on, "
                            f"its rows cannot be emptied or dropped inside a transaction. Use x-no-tx-wrap."
                        )

    def _self_restrict(self, conn: sqlite3.Connection, table: str) -> List[str]:
        if not self.save:
            return []
        return [frm for frm, parent, _to, action in foreign_keys(conn, table)
                if parent.lower() == table.lower() and action == "RESTRICT"]

    def _dependents(self, entries: List[SchemaEntry], saved: List[str]) -> List[SchemaEntry]:
        """Views and other tables' triggers that mention the table (and views
        built on those views), plus, when rows are set aside, every trigger of
        those tables: dropped before the rebuild, recreated after."""
        table = self.table.lower()
        saved_lower = {s.lower() for s in saved}
        names = [self.table]
        picked: List[SchemaEntry] = []
        changed = True
        while changed:
            changed = False
            for entry in entries:
                if entry in picked or entry.type not in ("view", "trigger") or entry.table.lower() == table and entry.type == "trigger":
                    continue
                on_dropped_view = entry.type == "trigger" and entry.table.lower() in {n.lower() for n in names[1:]}
                if on_dropped_view or mentions_name(entry.sql, names) or (entry.type == "trigger" and entry.table.lower() in saved_lower):
                    picked.append(entry)
                    if entry.type == "view":
                        names.append(entry.name)
                    changed = True
        return [e for e in entries if e in picked]

    def _check_new_foreign_keys(self, new: TableDef, temp: str) -> None:
        """A foreign key must point at a PRIMARY KEY or UNIQUE column set of an
        existing table; SQLite says so (foreign key mismatch) when asked."""
        check = engine.copy(self.work)
        try:
            check.execute(retarget_self_references(new.render(temp), self.table, temp))
            try:
                check.execute("SELECT * FROM pragma_foreign_key_check(?)", (temp,)).fetchall()
            except sqlite3.Error as exc:
                raise UsageError(f"a foreign key of the new {self.table} does not fit its parent ({exc}); "
                                 "the parent column must be its PRIMARY KEY or UNIQUE.") from None
        finally:
            check.close()

    def _copy_spec(self, *, target: TableDef, target_alias: bool, source: TableDef, exprs: Dict[str, str],
                   skip: Sequence[str] = ()) -> CopySpec:
        columns: List[str] = []
        values: List[str] = []
        taken = {c.name.lower() for c in target.columns} | {c.name.lower() for c in source.columns}
        rowid = None
        if not target.without_rowid and not source.without_rowid and not target_alias:
            rowid = next((r for r in ROWID_NAMES if r not in taken), None)
            if rowid:
                columns.append(rowid)
                values.append(q(rowid))
        for column in target.columns:
            if column.generated or column.name in skip:
                continue
            columns.append(column.name)
            values.append(exprs.get(column.name, q(column.name)))
        return CopySpec(tuple(columns), tuple(values), rowid)

    def _down_exprs(self, old: TableDef, new: TableDef, old_info, new_info, down_fills):
        exprs: Dict[str, str] = {}
        skipped: List[str] = []
        for column in old.columns:
            if column.generated:
                continue
            name = column.name
            fill = down_fills.get(name)
            info_old = old_info.get(name.lower())
            if new.column(name) is None:
                if fill is not None:
                    exprs[name] = fill
                    self.down_notes.append(f"{q(name)} comes back as {fill} (--down-fill): the up dropped its values.")
                else:
                    skipped.append(name)
                    back = f"its DEFAULT {info_old[3]}" if info_old and info_old[3] is not None else "NULL"
                    self.down_notes.append(f"{q(name)} comes back with {back}: the up dropped its values.")
                    if info_old and info_old[2] and info_old[3] is None:
                        self.log.warnings.append(
                            f"the down cannot restore {name} (NOT NULL, no DEFAULT) on a table with rows; "
                            f"give it a value with --down-fill {name} EXPR."
                        )
                continue
            was_notnull = bool(info_old and info_old[2])
            now_nullable = not bool(new_info.get(name.lower(), (None, None, 0))[2])
            if fill is not None:
                exprs[name] = f"COALESCE({q(name)}, {fill})"
                self.down_notes.append(f"NULLs in {q(name)} become {fill} (--down-fill).")
            elif was_notnull and now_nullable:
                clause = column.clause("default")
                if clause is not None:
                    exprs[name] = f"COALESCE({q(name)}, {clause.default_expression})"
                    self.down_notes.append(f"{q(name)} is NOT NULL again: NULLs written since the up become its DEFAULT.")
                else:
                    self.down_notes.append(
                        f"{q(name)} is NOT NULL again: a row with NULL there makes this down fail "
                        f"(regenerate with --down-fill {name} EXPR to give such rows a value)."
                    )
                    self.log.warnings.append(
                        f"the down fails while any row has NULL in {name}; --down-fill {name} EXPR gives such rows a value."
                    )
        return exprs, skipped

    def _notes_for_copy(self, old: TableDef, new: TableDef, fills, typed, up_copy: CopySpec) -> None:
        for name in typed:
            self.down_notes.append(f"{q(name)} gets its old type back; values are converted by the column's affinity.")
        if self.changes.pk is not None:
            self.down_notes.append("The old primary key comes back: rows that share a value of it make this down fail.")
        if self.changes.drop_fks:
            self.down_notes.append("The foreign key comes back: rows that no longer match a parent make this down fail.")
        if fills:
            self.down_notes.append("Values the up filled in (--fill) stay; the old NULLs cannot be told apart.")
        if old.autoincrement and not new.autoincrement:
            self.down_notes.append("AUTOINCREMENT comes back; its counter restarts from the largest id.")

    def _rebuild_steps(self, *, source: TableDef, target: TableDef, copy: CopySpec, temp: str,
                       indexes: List[SchemaEntry], index_notes: List[str], triggers: List[SchemaEntry], saved: List[str],
                       dependents: List[SchemaEntry], restrict: List[str], why: str) -> List[SqlStep]:
        table = self.table
        steps: List[SqlStep] = []
        first = True
        for entry in reversed(dependents):
            comment = ""
            if first:
                comment = (f"Views and other tables' triggers that mention {shown(table)}: dropped now, recreated at the\n"
                           "end (the RENAME below re-checks them and fails while the table is missing).")
                if saved:
                    comment += "\nThe triggers of the set-aside tables too, so moving their rows fires nothing."
                first = False
            steps.append(SqlStep(f"DROP {entry.type.upper()} {q(entry.name)};", comment))
        temps = {name: f"mw_rows_{i}" for i, name in enumerate(saved, start=1)}
        for i, name in enumerate(saved):
            cols = self._saved_columns(name)
            select = ", ".join(([f"{q(cols[0][1])} AS {q(cols[0][0])}"] if cols and cols[0][1] else []) +
                               [q(c) for c, rid in cols if not rid])
            comment = ""
            if i == 0:
                comment = ("Enforcement is on: DROP TABLE would run ON DELETE actions (CASCADE, SET NULL) on rows that\n"
                           f"reference {shown(table)}, or fail. Set the rows of every referencing table aside first.")
            steps.append(SqlStep(f"CREATE TEMP TABLE {q(temps[name])} AS SELECT {select} FROM {q(name)};", comment))
        for i, name in enumerate(reversed(saved)):
            for column in self._self_restrict(self.work, name):
                steps.append(SqlStep(f"UPDATE {q(name)} SET {q(column)} = NULL WHERE {q(column)} IS NOT NULL;",
                                     "Its ON DELETE RESTRICT self-reference would refuse the DELETE below; the rows come back whole."))
            steps.append(SqlStep(f"DELETE FROM {q(name)};", "Empty the referencing tables, deepest first." if i == 0 else ""))
        create = retarget_self_references(target.render(temp), table, temp)
        steps.append(SqlStep(create + ";", f"The {'new' if why == 'up' else 'previous'} shape, under a temporary name."
                             + (" Its references to itself name\nthe temporary table; the RENAME below points them back."
                                if create != target.render(temp) else "")))
        if source.autoincrement and target.autoincrement:
            steps.append(SqlStep(
                f"INSERT INTO sqlite_sequence (name, seq) SELECT {literal(temp)}, seq FROM sqlite_sequence WHERE name = {literal(table)};",
                "Carry the AUTOINCREMENT counter over, so ids of deleted rows are never reused."))
        steps.append(SqlStep(copy.insert_select(temp, table),
                             "Copy every row, column by column" + (f" (the rowid too, which {shown(table)} has no column for)" if copy.rowid else "") + "."))
        if restrict:
            for trigger in triggers:
                steps.append(SqlStep(f"DROP TRIGGER {q(trigger.name)};", "The table's own triggers must not fire on the UPDATE below (recreated after)."))
            for column in restrict:
                steps.append(SqlStep(f"UPDATE {q(table)} SET {q(column)} = NULL WHERE {q(column)} IS NOT NULL;",
                                     "Its ON DELETE RESTRICT self-reference would refuse DROP TABLE; the rows are already copied."))
        drop_comment = "Drop the old table; its indexes and triggers go with it."
        if self.save:
            drop_comment += " No row references it now,\nso no ON DELETE action fires."
        else:
            drop_comment += " With enforcement off, rows\nthat reference it are not touched."
        steps.append(SqlStep(f"DROP TABLE {q(table)};", drop_comment))
        steps.append(SqlStep(f"ALTER TABLE {q(temp)} RENAME TO {q(table)};",
                             f"Rename the new table into place: tables that reference {shown(table)} by name point at it again."))
        first = True
        for index in indexes:
            steps.append(SqlStep(index.sql + ";", "Recreate what DROP TABLE removed, as sqlite_master held it." if first else ""))
            first = False
        for trigger in triggers:
            steps.append(SqlStep(trigger.sql + ";", "Recreate what DROP TABLE removed, as sqlite_master held it." if first else ""))
            first = False
        for i, name in enumerate(saved):
            cols = self._saved_columns(name)
            target_cols = ", ".join(q(rid or c) for c, rid in cols)
            source_cols = ", ".join(q(c) for c, _rid in cols)
            steps.append(SqlStep(f"INSERT INTO {q(name)} ({target_cols}) SELECT {source_cols} FROM temp.{q(temps[name])};",
                                 "Put the set-aside rows back, parents first." if i == 0 else ""))
        for i, name in enumerate(saved):
            steps.append(SqlStep(f"DROP TABLE temp.{q(temps[name])};", ""))
        first = True
        for entry in dependents:
            steps.append(SqlStep(entry.sql + ";", "Recreate the views and triggers dropped above." if first else ""))
            first = False
        if index_notes:
            # The note on indexes the change drops (or the down brings back)
            # goes with the rename, after which indexes are recreated.
            at = next(i for i, s in enumerate(steps) if s.sql.startswith("ALTER TABLE " + q(temp)))
            steps[at] = SqlStep(steps[at].sql, steps[at].comment + "\n" + "\n".join(index_notes))
        return steps

    def _saved_columns(self, table: str) -> List[Tuple[str, Optional[str]]]:
        """(column in the temp table, rowid name or None) for a set-aside table:
        its rowid first when it has one no column stands for."""
        info = table_columns(self.work, table)
        names = [row[0] for row in info if row[5] == 0]
        sql = self.work.execute("SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()[0]
        without_rowid = "WITHOUT" in (sql or "").upper() and parse_create_table(sql).without_rowid
        out: List[Tuple[str, Optional[str]]] = []
        taken = {n.lower() for n in names}
        if not without_rowid and not has_rowid_alias(self.work, table, without_rowid):
            rowid = next((r for r in ROWID_NAMES if r not in taken), None)
            if rowid and "mw_rowid" not in taken:
                out.append(("mw_rowid", rowid))
        out.extend((n, None) for n in names)
        return out

    def _wrap(self, core: List[SqlStep], guard_tables: List[str]) -> List[SqlStep]:
        steps: List[SqlStep] = []
        pragmas = self.no_tx_wrap and self.fk_mode in (FK_ON, FK_UNKNOWN)
        if pragmas:
            steps.append(SqlStep("PRAGMA foreign_keys = OFF;",
                                 "x-no-tx-wrap: this file runs outside a transaction, so this PRAGMA works (inside one it\n"
                                 "is a no-op). Enforcement off: DROP TABLE leaves referencing rows alone."))
        if self.no_tx_wrap:
            steps.append(SqlStep("BEGIN;", "x-no-tx-wrap: the file owns its transaction."))
        if self.guard:
            union = self._violations(guard_tables)
            steps.append(SqlStep(
                f"CREATE TEMP TABLE {q(GUARD_BEFORE)} AS\n{union};",
                "Foreign-key guard, part 1: record the violations that already exist, so only NEW ones\nfail the file."))
        steps.extend(core)
        if self.guard:
            union = self._violations(guard_tables)
            steps.append(SqlStep(
                f"CREATE TEMP TABLE {q(GUARD)} (n INTEGER CHECK (n = 0));",
                "Foreign-key guard, part 2: a new violation fails this CHECK, and with it the file."))
            steps.append(SqlStep(
                f"INSERT INTO temp.{q(GUARD)}\nSELECT count(*) FROM (\n{union}\n) AS v\n"
                f"WHERE NOT EXISTS (\n    SELECT 1 FROM temp.{q(GUARD_BEFORE)} AS b\n"
                "    WHERE b.child_table = v.child_table AND b.child_rowid IS v.child_rowid AND b.parent = v.parent\n);"))
            steps.append(SqlStep(f"DROP TABLE temp.{q(GUARD)};"))
            steps.append(SqlStep(f"DROP TABLE temp.{q(GUARD_BEFORE)};"))
        if self.no_tx_wrap:
            steps.append(SqlStep("COMMIT;"))
        if pragmas:
            steps.append(SqlStep("PRAGMA foreign_keys = ON;", "Enforcement back on for the rest of this connection."))
        return steps

    @staticmethod
    def _violations(tables: List[str]) -> str:
        return "\nUNION ALL\n".join(
            f'SELECT "table" AS child_table, rowid AS child_rowid, parent FROM pragma_foreign_key_check({literal(t)})'
            for t in tables
        )

    def _up_notes(self, summary: List[str], rebuilt: bool, saved: List[str]) -> List[str]:
        what = "; ".join(summary)
        if not rebuilt:
            return [f"{q(self.table)}: {what}.", "ALTER TABLE can do this alone; no rebuild is needed."]
        notes = [f"Rebuild of {q(self.table)}: {what}.",
                 "SQLite's ALTER TABLE cannot do this, so the table is built anew under a temporary name,",
                 "filled, swapped into place, and its indexes and triggers are recreated."]
        if self.no_tx_wrap:
            notes.append("x-no-tx-wrap: this file manages its own transaction" +
                         (" and turns foreign-key enforcement off around it." if self.fk_mode != FK_OFF else "."))
        elif self.fk_mode == FK_OFF:
            notes.append("Foreign-key enforcement is off in this project (no _foreign_keys/_fk in the DSN):")
            notes.append("DROP TABLE leaves referencing rows alone; the guard at the end fails the file on a new violation.")
        elif self.fk_mode == FK_ON:
            notes.append("Foreign-key enforcement is on: rows that reference the table are set aside and put back,")
            notes.append("because inside golang-migrate's transaction PRAGMA foreign_keys is a no-op and")
            notes.append("defer_foreign_keys does not stop DROP TABLE's ON DELETE actions.")
        else:
            notes.append("Whether foreign keys are enforced could not be determined, so this file is safe either way:")
            notes.append("rows that reference the table are set aside and put back, and a guard fails the file on a new violation.")
        if saved:
            notes.append("Set aside and put back: " + ", ".join(q(s) for s in saved) + ".")
        return notes

    def _no_fill_notes(self, temp: str) -> List[str]:
        """--no-fill: say in the file, and in the warnings, what a NULL row does."""
        notes = []
        for name in self.unfilled:
            notes.append(f"--no-fill: a row with NULL in {q(name)} makes this up fail (NOT NULL constraint failed:")
            notes.append(f"{temp}.{name}); find such rows first: SELECT count(*) FROM {q(self.table)} WHERE {q(name)} IS NULL;")
            self.log.warnings.append(
                f"--no-fill: the up fails with 'NOT NULL constraint failed: {temp}.{name}' at the first row whose {name} "
                f"is NULL; check first: SELECT count(*) FROM {q(self.table)} WHERE {q(name)} IS NULL;")
        return notes

    def _down_notes(self, rebuilt: bool) -> List[str]:
        notes = [f"Restores {q(self.table)} exactly as it was before the up: definition, indexes and triggers."]
        if rebuilt:
            notes.append("Same steps as the up file, in the other direction.")
        notes.extend(self.down_notes)
        return notes
