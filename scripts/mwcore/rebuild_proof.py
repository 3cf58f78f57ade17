"""Proof of a planned rebuild, on a scratch database, before anyone sees it.

On a copy of the replayed database, sample rows go into the table, the tables
it references, every table that references it (directly or through others)
and every other table they fit; then the up runs as golang-migrate runs it (one transaction, or the
file's own with x-no-tx-wrap) with foreign-key enforcement as the project has
it (both ways when that is unknown), and then the down, and the up again.
After each: no new foreign-key violation, integrity_check ok, every view and
trigger still compiles, rows kept (exactly, in every other table, whether it
references the table or not, so a file that touches anything else fails; as
the change says, in the table), the schema as expected (the down gives back the
schema from before the up exactly; the second up gives the first up's).

Sample rows are made to fit the new shape (a value for a new foreign key that
points at a real parent, rows a new CHECK or UNIQUE would refuse left out):
the proof is about the SQL; whether the user's rows fit is data, and the
generated comments and warnings say what such rows do.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from .jsonuse import JsonColumns
from .rebuild import FK_OFF, FK_ON, RebuildPlan, foreign_keys, table_columns, user_tables
from .rows import seed_rows
from .schema import Snapshot, diff, snapshot
from . import engine
from .sqltext import normalize_sql
from .sqltext import quote_identifier as q

@dataclass
class SchemaState:
    """The schema, read in two ways: the table, the tables that reference it and
    their indexes and triggers through the PRAGMAs (mwcore.schema), every other
    object as sqlite_master holds it. A rebuild touches only the first part;
    reading the rest as text keeps the proof fast on large schemas."""

    focus: Snapshot
    rest: Dict[Tuple[str, str], Tuple[str, str]]  # (type, name) -> (table, sql)

    def without(self, table: str, indexes: Sequence[str]) -> "SchemaState":
        """This state minus the table itself, its automatic indexes and `indexes`."""
        drop = {i.lower() for i in indexes}
        focus = Snapshot(
            tables={k: v for k, v in self.focus.tables.items() if k != table.lower()},
            indexes={k: v for k, v in self.focus.indexes.items()
                     if k not in drop and not (v.table.lower() == table.lower() and v.sql is None)},
            triggers=dict(self.focus.triggers), views=dict(self.focus.views),
        )
        return SchemaState(focus, dict(self.rest))


def schema_differences(a: SchemaState, b: SchemaState) -> List[str]:
    out = [str(d) for d in diff(a.focus, b.focus)]
    for key in sorted(set(a.rest) | set(b.rest)):
        x, y = a.rest.get(key), b.rest.get(key)
        if x is None:
            out.append(f"{key[0]} {key[1]}: unexpected")
        elif y is None:
            out.append(f"{key[0]} {key[1]}: missing")
        elif x != y and (x[0].lower() != y[0].lower() or normalize_sql(x[1]) != normalize_sql(y[1])):
            out.append(f"{key[0]} {key[1]}: changed: {normalize_sql(x[1])} -> {normalize_sql(y[1])}")
    return out


CHECKS = (
    "up", "foreign_key_check", "integrity_check", "schema_compiles", "new_shape", "other_objects_unchanged",
    "rows_kept", "down", "down_restores_schema", "down_rows_kept", "reup_same_schema",
)


@dataclass
class Proof:
    checks: Dict[str, str] = field(default_factory=lambda: {name: "not run" for name in CHECKS})
    failures: List[str] = field(default_factory=list)
    sample_rows: Dict[str, int] = field(default_factory=dict)
    modes: List[str] = field(default_factory=list)  # "on"/"off": enforcement the proof ran with
    notes: List[str] = field(default_factory=list)  # limits of this proof worth knowing

    @property
    def ok(self) -> bool:
        return not self.failures

    def passed(self, name: str) -> None:
        if self.checks.get(name) != "failed":
            self.checks[name] = "ok"

    def failed(self, name: str, message: str) -> None:
        self.checks[name] = "failed"
        self.failures.append(message)


def prove(base: sqlite3.Connection, plan: RebuildPlan, *, migrations_table: str = "schema_migrations",
          per_table: int = 3, json_columns: Optional[JsonColumns] = None) -> Proof:
    """Run the plan's up, down and up again on copies of `base`. Sample rows
    hold JSON where `json_columns` (jsonuse) says the migrations read it."""
    proof = Proof()
    modes = [True] if plan.fk_mode == FK_ON else [False] if plan.fk_mode == FK_OFF else [True, False]
    for enforce in modes:
        proof.modes.append("on" if enforce else "off")
        _Run(base, plan, enforce, proof, migrations_table, per_table, len(modes) > 1, json_columns).run()
        if not proof.ok:
            break
    if proof.ok and plan.unfilled:
        _Run(base, plan, modes[0], proof, migrations_table, per_table, False, json_columns).fails_on_null()
    return proof


def _rows(conn: sqlite3.Connection, table: str, columns: Sequence[str]) -> List[tuple]:
    rows = conn.execute(f"SELECT {', '.join(q(c) for c in columns)} FROM {q(table)}").fetchall()
    return sorted(rows, key=repr)


def _without_rowid(conn: sqlite3.Connection, table: str) -> bool:
    try:
        conn.execute(f"SELECT rowid FROM {q(table)} LIMIT 0")
    except sqlite3.OperationalError:
        return True
    return False


class _Run:
    def __init__(self, base, plan: RebuildPlan, enforce: bool, proof: Proof, migrations_table: str, per_table: int,
                 several_modes: bool, json_columns: Optional[JsonColumns] = None) -> None:
        self.base = base
        self.json_columns = json_columns
        self.plan = plan
        self.enforce = enforce
        self.proof = proof
        self.migrations_table = migrations_table
        self.per_table = per_table
        self.prefix = f"(foreign keys {'on' if enforce else 'off'}) " if several_modes else ""
        self.expected_up: Optional[List[tuple]] = None
        self.expected_down: Optional[List[tuple]] = None
        self.reported: set = set()  # tables whose changed rows were reported

    def fail(self, check: str, message: str) -> None:
        self.proof.failed(check, self.prefix + message)

    # -- the run -----------------------------------------------------------------
    def run(self) -> None:
        plan, table = self.plan, self.plan.table
        conn = engine.copy(self.base)
        try:
            conn.execute("PRAGMA foreign_keys = OFF")
            self._seed(conn)
            self._set_enforcement(conn)
            s1 = self._after_renames(conn)
            before = self._schema(conn)
            others_before = self._other_rows(conn)
            old_cols = [self._s0(c) for c in self._row_columns(conn, table, plan.down_copy)]
            table_before = _rows(conn, table, old_cols) if old_cols else []
            seq_before = self._sequence(conn)
            violations = self._violations(conn)
            if violations is None:
                return

            if not self._run_file(conn, "up", "up"):
                return
            after_up = self._schema(conn)
            self._check_state(conn, violations, "after the up")
            self._check_shape(s1, after_up)
            self._check_rows(conn, others_before, "rows_kept", "after the up")
            up_cols = self._row_columns(conn, table, plan.up_copy)
            if plan.rebuilt and self.expected_up is not None and _rows(conn, table, up_cols) != self.expected_up:
                self.fail("rows_kept", f"after the up, the rows of {table} are not the old rows in the new shape.")
            elif not plan.rebuilt and _rows(conn, table, up_cols) != table_before:
                self.fail("rows_kept", f"after the up, the rows of {table} changed.")
            self._check_sequence(conn, seq_before, "after the up", "rows_kept")
            self.proof.passed("rows_kept")

            if not self._run_file(conn, "down", "down"):
                return
            after_down = self._schema(conn)
            self._check_state(conn, violations, "after the down")
            differences = schema_differences(before, after_down)
            if differences:
                self.fail("down_restores_schema", "the down does not restore the schema: " + "; ".join(map(str, differences[:5])))
            else:
                self.proof.passed("down_restores_schema")
            self._check_rows(conn, others_before, "down_rows_kept", "after the down")
            if plan.rebuilt and self.expected_down is not None and _rows(conn, table, old_cols) != self.expected_down:
                self.fail("down_rows_kept", f"after the down, the rows of {table} are not back as the down says.")
            elif not plan.rebuilt and _rows(conn, table, old_cols) != table_before:
                self.fail("down_rows_kept", f"after the down, the rows of {table} changed.")
            self._check_round_trip(conn, table_before, old_cols)
            if plan.old_def.autoincrement and plan.new_def.autoincrement:
                self._check_sequence(conn, seq_before, "after the down", "down_rows_kept")
            self.proof.passed("down_rows_kept")

            if not self._run_file(conn, "up", "reup_same_schema", again=True):
                return
            after_reup = self._schema(conn)
            differences = schema_differences(after_up, after_reup)
            if differences:
                self.fail("reup_same_schema", "the up run again gives another schema: " + "; ".join(map(str, differences[:5])))
            else:
                self.proof.passed("reup_same_schema")
            self._check_state(conn, violations, "after the second up")
            self._check_rows(conn, others_before, "rows_kept", "after the second up")
        finally:
            conn.close()

    def fails_on_null(self) -> None:
        """--no-fill says the up fails on the first row with NULL in such a
        column: put NULL in one sample row and see it fail, with nothing changed."""
        plan, table = self.plan, self.plan.table
        for column in plan.unfilled:
            conn = engine.copy(self.base)
            try:
                conn.execute("PRAGMA foreign_keys = OFF")
                self._seed(conn)
                key_cols, keys = self._keys(conn, table)
                old = self._s0(column)
                try:
                    changed = conn.execute(f"UPDATE {q(table)} SET {q(old)} = NULL WHERE "
                                           + " AND ".join(f"{q(c)} IS ?" for c in key_cols), keys[0]).rowcount if keys else 0
                except sqlite3.Error:
                    changed = 0
                if not changed:
                    self.proof.notes.append(f"no sample row of {table} can hold NULL in {old}, so the failure --no-fill "
                                            "announces was not seen.")
                    continue
                self._set_enforcement(conn)
                before = self._schema(conn)
                result = engine.run_script(conn, plan.render("up"), wrap=not plan.no_tx_wrap, file="the generated up")
                error = result.error or ""
                if result.ok or not (error.startswith("NOT NULL constraint failed: ")
                                     and error.lower().endswith("." + column.lower())):
                    self.fail("up", f"--no-fill: with NULL in {old} on a sample row the up should fail with "
                                    f"'NOT NULL constraint failed' on {column}; it " + ("ran." if result.ok else f"failed otherwise: {error}"))
                elif not plan.no_tx_wrap and schema_differences(before, self._schema(conn)):
                    self.fail("up", "--no-fill: the failed up left changes behind.")
                else:
                    self.proof.notes.append(f"--no-fill checked: a sample row with NULL in {old} makes the up fail ({error}).")
            finally:
                conn.close()

    def _set_enforcement(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.execute(f"PRAGMA foreign_keys = {'ON' if self.enforce else 'OFF'}")

    def _run_file(self, conn: sqlite3.Connection, direction: str, check: str, again: bool = False) -> bool:
        result = engine.run_script(conn, self.plan.render(direction), wrap=not self.plan.no_tx_wrap,
                                   file=f"the generated {direction}")
        # An x-no-tx-wrap file sets enforcement itself; golang-migrate's next
        # file would run on the same connection, the proof checks as the DSN has it.
        self._set_enforcement(conn)
        label = "the up, run again," if again else f"the {direction}"
        if not result.ok:
            where = f" at `{result.statement.sql.splitlines()[0][:70]}`" if result.statement else ""
            self.fail(check, f"{label} fails on the scratch database{where}: {result.error}{self._hint(direction, result.error or '')}")
            return False
        self.proof.passed(check)
        return True

    def _hint(self, direction: str, error: str) -> str:
        if error.startswith("NOT NULL constraint failed: "):
            column = error.rsplit(".", 1)[-1]
            option = "--fill" if direction == "up" else "--down-fill"
            return f". Rows need a value there: add {option} {column} EXPR."
        if "FOREIGN KEY constraint failed" in error:
            return ". A row points at a missing parent."
        return ""

    # -- checks --------------------------------------------------------------------
    def _violations(self, conn: sqlite3.Connection) -> Optional[set]:
        try:
            return set(conn.execute('SELECT "table", rowid, parent, fkid FROM pragma_foreign_key_check').fetchall())
        except sqlite3.Error as exc:
            self.fail("foreign_key_check", f"foreign_key_check fails before the up ({exc}).")
            return None

    def _check_state(self, conn: sqlite3.Connection, before: set, when: str) -> None:
        try:
            found = set(conn.execute('SELECT "table", rowid, parent, fkid FROM pragma_foreign_key_check').fetchall())
        except sqlite3.Error as exc:
            self.fail("foreign_key_check", f"{when}, foreign_key_check fails: {exc}.")
        else:
            new = sorted(found - before, key=repr)
            if new:
                t, rowid, parent, _fkid = new[0]
                more = f" (and {len(new) - 1} more)" if len(new) > 1 else ""
                self.fail("foreign_key_check", f"{when}, {t} row {rowid} points at a missing {parent} row{more}.")
            else:
                self.proof.passed("foreign_key_check")
        result = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
        if result != ["ok"]:
            self.fail("integrity_check", f"{when}, integrity_check says: {'; '.join(result[:3])}.")
        else:
            self.proof.passed("integrity_check")
        # ALTER TABLE ... RENAME re-parses the views and triggers that use the
        # table and fails on any that no longer compiles; rolled back at once.
        conn.execute("BEGIN")
        try:
            conn.execute(f"ALTER TABLE {q(self.plan.table)} RENAME TO {q('mw_compile_check')}")
        except sqlite3.Error as exc:
            self.fail("schema_compiles", f"{when}, a view or trigger no longer compiles: {exc}.")
        else:
            self.proof.passed("schema_compiles")
        finally:
            conn.execute("ROLLBACK")

    def _schema(self, conn: sqlite3.Connection) -> SchemaState:
        focus = [self.plan.table] + list(self.plan.referencing)
        lower = {t.lower() for t in focus}
        rest = {}
        for kind, name, table, sql in conn.execute("SELECT type, name, tbl_name, sql FROM main.sqlite_master"):
            if table.lower() in lower or table.lower().startswith("sqlite_") or table.lower() == self.migrations_table.lower():
                continue
            rest[(kind, name.lower())] = (table, sql or "")
        return SchemaState(snapshot(conn, tables=focus, migrations_table=self.migrations_table), rest)

    def _after_renames(self, conn: sqlite3.Connection) -> SchemaState:
        """The schema before the up, with the up's column renames applied."""
        ref = engine.copy(conn)
        try:
            for old, new in self.plan.renames:
                ref.execute(f"ALTER TABLE {q(self.plan.table)} RENAME COLUMN {q(old)} TO {q(new)}")
            return self._schema(ref)
        finally:
            ref.close()

    def _check_shape(self, s1: SchemaState, after: SchemaState) -> None:
        plan = self.plan
        differences = schema_differences(s1.without(plan.table, plan.dropped_indexes), after.without(plan.table, ()))
        if differences:
            self.fail("other_objects_unchanged", "the up changes more than the table: " + "; ".join(differences[:5]))
        else:
            self.proof.passed("other_objects_unchanged")
        problems = self._shape_problems(after.focus)
        if problems:
            self.fail("new_shape", "after the up, " + "; ".join(problems[:5]) + ".")
        else:
            self.proof.passed("new_shape")

    def _shape_problems(self, after: Snapshot) -> List[str]:
        """The requested change, checked against what SQLite reports."""
        plan, c = self.plan, self.plan.changes
        got = after.table(plan.table)
        if got is None:
            return [f"there is no table {plan.table}"]
        problems: List[str] = []
        probe = engine.scratch()
        try:
            probe.execute(plan.new_def.render(plan.table))
            wanted = snapshot(probe).table(plan.table)
        finally:
            probe.close()
        if wanted is not None and (wanted.columns != got.columns or wanted.foreign_keys != got.foreign_keys):
            problems.append(f"{plan.table} is not the definition the up creates")

        def column(name: str):
            return got.column(self._current_name(name))

        for old, new in plan.renames:
            if got.column(new) is None or (old.lower() != new.lower() and got.column(old) is not None):
                problems.append(f"{old} is not renamed to {new}")
        for name, type_text in c.types:
            col = column(name)
            if col is None or " ".join(col.type.upper().split()) != " ".join(type_text.upper().split()):
                problems.append(f"{name} does not have type {type_text}")
        for name in c.not_null:
            if column(name) is None or not column(name).notnull:
                problems.append(f"{name} is not NOT NULL")
        for name in c.nullable:
            if column(name) is None or column(name).notnull:
                problems.append(f"{name} is not nullable")
        for name, expression in c.defaults:
            col = column(name)
            if col is None or col.default is None or normalize_sql(col.default).strip("() ") != normalize_sql(expression).strip("() "):
                problems.append(f"{name} does not default to {expression}")
        for name in c.drop_defaults:
            if column(name) is None or column(name).default is not None:
                problems.append(f"{name} still has a DEFAULT")
        for name in c.drops:
            if column(name) is not None:
                problems.append(f"{name} is still there")
        if c.pk is not None:
            pk = [col.name.lower() for col in sorted((x for x in got.columns if x.pk), key=lambda x: x.pk)]
            if pk != [self._current_name(n).lower() for n in c.pk]:
                problems.append(f"the primary key is ({', '.join(pk)})")
        for spec in c.add_fks:
            name = self._current_name(spec.column).lower()
            action = (spec.on_delete or "NO ACTION").upper()
            if not any(fk.columns == (name,) or tuple(x.lower() for x in fk.columns) == (name,)
                       for fk in got.foreign_keys if fk.table.lower() == spec.table.lower() and fk.on_delete.upper() == " ".join(action.split())):
                problems.append(f"{spec.column} has no foreign key to {spec.table}")
        for name in c.drop_fks:
            current = self._current_name(name).lower()
            if any(current in (x.lower() for x in fk.columns) for fk in got.foreign_keys):
                problems.append(f"{name} still has a foreign key")
        if c.column_order is not None:
            order = [x.name.lower() for x in got.columns[:len(c.column_order)]]
            if order != [self._current_name(n).lower() for n in c.column_order]:
                problems.append("the columns are not in the requested order")
        for names in c.uniques:
            wanted_cols = tuple(self._current_name(n).lower() for n in names)
            if not any(i.unique and tuple((x or "").lower() for x in i.columns) == wanted_cols for i in after.indexes_of(plan.table)):
                problems.append(f"({', '.join(names)}) is not UNIQUE")
        for expression in c.checks:
            if normalize_sql(expression) not in got.sql:
                problems.append(f"CHECK ({expression}) is missing")
        return problems

    def _current_name(self, name: str) -> str:
        current = name
        for old, new in self.plan.renames:
            if current.lower() == old.lower():
                current = new
        return current

    def _other_rows(self, conn: sqlite3.Connection) -> Dict[str, List[tuple]]:
        """The rows of every table but the one rebuilt (the migrations table and
        sqlite_sequence too, minus the rebuilt table's counter, checked apart)."""
        table = self.plan.table.lower()
        out: Dict[str, List[tuple]] = {}
        for name, sql in conn.execute("SELECT name, sql FROM main.sqlite_master WHERE type = 'table' ORDER BY name").fetchall():
            lower = name.lower()
            if lower == table or (sql or "").upper().startswith("CREATE VIRTUAL"):
                continue
            if lower == "sqlite_sequence":
                out[name] = sorted((r for r in conn.execute("SELECT name, seq FROM sqlite_sequence") if str(r[0]).lower() != table),
                                   key=repr)
            elif not lower.startswith("sqlite_"):
                out[name] = _rows(conn, name, self._all_columns(conn, name))
        return out

    def _check_rows(self, conn: sqlite3.Connection, before: Dict[str, List[tuple]], check: str, when: str) -> None:
        """Every other table holds exactly the rows it held before."""
        now_all = self._other_rows(conn)
        for t, rows in before.items():
            if t in self.reported:
                continue  # said once, after the first file that changed it
            now = now_all.get(t)
            if now is None:
                self.reported.add(t)
                self.fail(check, f"{when}, table {t} is gone.")
                return
            if now != rows:
                lost = len([r for r in rows if r not in now])
                added = len([r for r in now if r not in rows])
                self.reported.add(t)
                why = f"which references {self.plan.table}" if t in self.plan.referencing else "which the change does not touch"
                self.fail(check, f"{when}, the rows of {t} ({why}) changed: {lost} of {len(rows)} no longer as they were"
                                 + (f", {added} new" if added else "") + ".")
                return

    def _check_round_trip(self, conn: sqlite3.Connection, table_before: List[tuple], old_cols: Sequence[str]) -> None:
        """Columns the change leaves alone hold the same values after up and down."""
        plan = self.plan
        changed = {self._s0(c).lower() for c in plan.dropped_columns + plan.filled_columns + plan.typed_columns}
        changed |= {self._s0(self._current_name(c)).lower() for c, _ in plan.changes.down_fills}
        keep = [i for i, c in enumerate(old_cols) if c.lower() not in changed]
        if not keep or not old_cols:
            return
        now = _rows(conn, plan.table, old_cols)
        project = lambda rows: sorted((tuple(r[i] for i in keep) for r in rows), key=repr)  # noqa: E731
        if project(now) != project(table_before):
            self.fail("down_rows_kept", f"after up and down, rows of {plan.table} lost values in columns the change does not touch.")

    def _all_columns(self, conn: sqlite3.Connection, table: str) -> List[str]:
        cols = [row[0] for row in table_columns(conn, table) if row[5] == 0]
        if not _without_rowid(conn, table) and not any(c.lower() == "rowid" for c in cols):
            cols = ["rowid"] + cols
        return cols

    def _row_columns(self, conn: sqlite3.Connection, table: str, copy) -> List[str]:
        if copy is not None:
            return list(copy.columns)
        return [row[0] for row in table_columns(conn, table) if row[5] == 0]

    def _sequence(self, conn: sqlite3.Connection) -> Optional[int]:
        try:
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (self.plan.table,)).fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row else None

    def _check_sequence(self, conn: sqlite3.Connection, before: Optional[int], when: str, check: str) -> None:
        if not (self.plan.old_def.autoincrement and self.plan.new_def.autoincrement) or before is None:
            return
        now = self._sequence(conn)
        if now != before:
            self.fail(check, f"{when}, the AUTOINCREMENT counter of {self.plan.table} is {now}, was {before}.")

    # -- sample rows ---------------------------------------------------------------
    def _seed(self, conn: sqlite3.Connection) -> None:
        plan, table = self.plan, self.plan.table
        tables = user_tables(conn, self.migrations_table)
        parents = {t: [p for _f, p, _t, _a in foreign_keys(conn, t)] for t in tables}
        by_lower = {t.lower(): t for t in tables}

        def ancestors(start: Sequence[str]) -> List[str]:
            found: List[str] = []
            todo = list(start)
            while todo:
                for p in parents.get(todo.pop(), []):
                    name = by_lower.get(p.lower())
                    if name and name not in found and name not in start:
                        found.append(name)
                        todo.append(name)
            return found

        first = [t for t in ancestors([table]) if t != table] + [table]
        seed_rows(conn, first, self.per_table, json_columns=self.json_columns)
        # Every other table gets rows too (where they fit), so a file that
        # empties a table it was not asked to touch shows as lost rows.
        referencing = {t.lower() for t in plan.referencing}
        taken = {t.lower() for t in first} | referencing
        unrelated = [t for t in tables if t.lower() not in taken]
        if unrelated:
            seed_rows(conn, unrelated, self.per_table, start=3, json_columns=self.json_columns)
        if plan.old_def.autoincrement:
            # A counter above the largest id, as after deleted rows: only then
            # does losing it show.
            conn.execute("UPDATE sqlite_sequence SET seq = seq + 100 WHERE name = ?", (table,))
        if plan.rebuilt:
            self._fill_fixup(conn)
            self._fit(conn, keep_expected=False)
            self._foreign_key_fixup(conn)
            self._drop_dangling_self_references(conn)
            self._fit(conn, keep_expected=True)
        self._set_enforcement(conn)
        rest = [t for t in ancestors(list(plan.referencing)) if t not in first and t not in plan.referencing]
        if plan.referencing:
            seed_rows(conn, rest + list(plan.referencing), self.per_table, start=2, json_columns=self.json_columns)
        for t in [table] + list(plan.referencing):
            self.proof.sample_rows[t] = conn.execute(f"SELECT count(*) FROM {q(t)}").fetchone()[0]
        if not self.proof.sample_rows[table]:
            note = f"no sample row fits {table} in both shapes, so rows were checked on an empty {table}."
            if note not in self.proof.notes:
                self.proof.notes.append(note)

    def _s0(self, name: str) -> str:
        """A column's name before the up's renames."""
        for old, new in reversed(self.plan.renames):
            if name.lower() == new.lower():
                name = old
        return name

    def _keys(self, conn: sqlite3.Connection, table: str) -> Tuple[List[str], List[tuple]]:
        """How to find each row again: its rowid, or its primary key."""
        if not _without_rowid(conn, table):
            cols = ["rowid"]
        else:
            cols = [row[0] for row in sorted((r for r in table_columns(conn, table) if r[4]), key=lambda r: r[4])]
        rows = conn.execute(f"SELECT {', '.join(q(c) for c in cols)} FROM {q(table)}").fetchall()
        return cols, rows

    def _fill_fixup(self, conn: sqlite3.Connection) -> None:
        """One row gets NULL in each --fill column (when it may), so the proof
        shows the fill at work."""
        table = self.plan.table
        cols, keys = self._keys(conn, table)
        if not keys:
            return
        info = {row[0].lower(): row for row in table_columns(conn, table)}
        where = " AND ".join(f"{q(c)} IS ?" for c in cols)
        for name in self.plan.filled_columns:
            old = self._s0(name)
            if not info.get(old.lower(), (0, 0, 1))[2]:
                conn.execute(f"UPDATE {q(table)} SET {q(old)} = NULL WHERE {where}", keys[-1])

    def _foreign_key_fixup(self, conn: sqlite3.Connection) -> None:
        """A new foreign key's column gets values that point at real parent rows."""
        table = self.plan.table
        for spec in self.plan.changes.add_fks:
            column = self._s0(self._current_name(spec.column))
            parent = table if spec.table.lower() == table.lower() else spec.table
            parent_col = self._s0(spec.to_column) if parent == table else spec.to_column
            try:
                values = [r[0] for r in conn.execute(f"SELECT {q(parent_col)} FROM {q(parent)} WHERE {q(parent_col)} IS NOT NULL")]
            except sqlite3.Error:
                values = []
            cols, keys = self._keys(conn, table)
            where = " AND ".join(f"{q(c)} IS ?" for c in cols)
            for i, key in enumerate(keys):
                value = values[(i + 1) % len(values)] if values else None  # another row, for a self-reference
                try:
                    conn.execute(f"UPDATE {q(table)} SET {q(column)} = ? WHERE {where}", (value, *key))
                except sqlite3.Error:
                    conn.execute(f"DELETE FROM {q(table)} WHERE {where}", key)

    def _drop_dangling_self_references(self, conn: sqlite3.Connection) -> None:
        table = self.plan.table
        for _ in range(10):
            rows = conn.execute("SELECT rowid FROM pragma_foreign_key_check(?) WHERE rowid IS NOT NULL", (table,)).fetchall()
            if not rows:
                return
            conn.executemany(f"DELETE FROM {q(table)} WHERE rowid = ?", rows)

    def _fit(self, conn: sqlite3.Connection, keep_expected: bool) -> None:
        """Leave out the sample rows the new shape refuses; with keep_expected,
        also work out the rows the up and the down should leave."""
        plan, table = self.plan, self.plan.table
        up, down = plan.up_copy, plan.down_copy
        assert up is not None and down is not None
        fit = engine.copy(conn)
        try:
            for old, new in plan.renames:
                fit.execute(f"ALTER TABLE {q(table)} RENAME COLUMN {q(old)} TO {q(new)}")
            taken = {row[0].lower() for row in fit.execute("SELECT name FROM sqlite_master")}
            new_name = next(n for n in (f"mw_fit_new{i}" for i in range(100)) if n not in taken)
            old_name = next(n for n in (f"mw_fit_old{i}" for i in range(100)) if n not in taken)
            fit.execute(plan.new_def.render(new_name))
            fit.execute(plan.old_def.render(old_name))
            key_cols, keys = self._keys(fit, table)
            key_cols0 = [c if c == "rowid" else self._s0(c) for c in key_cols]
            where = " AND ".join(f"{q(c)} IS ?" for c in key_cols)
            up_cols = ", ".join(q(c) for c in up.columns)
            down_cols = ", ".join(q(c) for c in down.columns)
            new_keys = None if not _without_rowid(fit, new_name) else [
                i for i, c in enumerate(up.columns)
                if c.lower() in {r[0].lower() for r in table_columns(fit, new_name) if r[4]}]
            down_ok = True
            unfit = []
            for key in keys:
                values = fit.execute(f"SELECT {', '.join(up.exprs)} FROM {q(table)} WHERE {where}", key).fetchone()
                fit.execute("SAVEPOINT mw_fit")
                try:
                    cursor = fit.execute(f"INSERT INTO {q(new_name)} ({up_cols}) VALUES ({', '.join('?' for _ in up.columns)})", values)
                except sqlite3.Error:
                    fit.execute("ROLLBACK TO mw_fit")
                    fit.execute("RELEASE mw_fit")
                    unfit.append(key)
                    continue
                fit.execute("RELEASE mw_fit")
                if not keep_expected:
                    continue
                if new_keys is None:
                    stored = fit.execute(f"SELECT {up_cols} FROM {q(new_name)} WHERE rowid = ?", (cursor.lastrowid,)).fetchone()
                else:
                    cond = " AND ".join(f"{q(up.columns[i])} IS ?" for i in new_keys)
                    stored = fit.execute(f"SELECT {up_cols} FROM {q(new_name)} WHERE {cond}", [values[i] for i in new_keys]).fetchone()
                aliases = ", ".join(f"? AS {q(c)}" for c in up.columns)
                try:
                    back = fit.execute(f"SELECT {', '.join(down.exprs)} FROM (SELECT {aliases})", stored).fetchone()
                    fit.execute(f"INSERT INTO {q(old_name)} ({down_cols}) VALUES ({', '.join('?' for _ in down.columns)})", back)
                except sqlite3.Error:
                    down_ok = False  # the real down fails on this row too, and says so
            for key in unfit:
                conn.execute(f"DELETE FROM {q(table)} WHERE {' AND '.join(f'{q(c)} IS ?' for c in key_cols0)}", key)
            if keep_expected:
                self.expected_up = sorted(_rows(fit, new_name, up.columns), key=repr)
                self.expected_down = sorted(_rows(fit, old_name, down.columns), key=repr) if down_ok else None
        finally:
            fit.close()
