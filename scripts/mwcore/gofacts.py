"""What a migration's generated Go tests assert, learned by running it.

Every scenario a generated test goes through is replayed here first, on
SQLite with `gomigrate` (golang-migrate's protocol), in the same steps the
Go test takes: a fresh database migrated to version N; a database at the
previous version with synthetic rows (`rows.seed_rows`), upgraded; the same,
then down one step and up again; and, when N changes data, rows a user
edited before the upgrade. Each check is then evaluated against the replayed
database before it is kept, so a generated test asserts only what the
migration really does. Each `mwMigrateTo` of a Go test opens a new
connection; so does the replay (temp tables and PRAGMAs do not carry over).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
import time
from typing import Dict, List, Optional, Sequence, Tuple

from .folder import MigrationFolder, read_sql
from .gomigrate import GoMigrate
from .project import ProjectFacts
from .rows import seed_rows
from .schema import Snapshot, diff, snapshot
from . import engine
from .sqlfuncs import registered
from .sqltext import quote_identifier as q

MAX_ROWS_PER_CHECK = 10
MAX_EDITED_ROWS = 3
SAMPLE_ROWS_PER_TABLE = 2


@dataclass(frozen=True)
class Check:
    """One call of a Go helper: helper(t, db, *args)."""

    helper: str
    args: tuple
    what: str  # for people: "column media_item.play_count added"


@dataclass(frozen=True)
class UserEdit:
    """A user's edit of one row, and the query that reads the row back."""

    table: str
    update_sql: str
    select_sql: str
    what: str


@dataclass
class MigrationFacts:
    version: int
    version_text: str
    name: str
    previous: Optional[int]
    previous_text: Optional[str]
    has_down: bool
    schema_checks: List[Check] = field(default_factory=list)
    data_checks: List[Check] = field(default_factory=list)
    sample_inserts: List[str] = field(default_factory=list)
    sample_tables: List[str] = field(default_factory=list)
    upgrade_checks: List[Check] = field(default_factory=list)
    down_checks: List[Check] = field(default_factory=list)
    down_restores: bool = True
    edits: List[UserEdit] = field(default_factory=list)
    changes_data: bool = False
    notes: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)
    failed: bool = False  # the migration (or an earlier one) does not run: nothing to generate


class _Replay:
    """Runs golang-migrate steps on in-memory databases, one connection per
    Go helper call."""

    def __init__(self, folder: MigrationFolder, project: ProjectFacts) -> None:
        self.folder = folder
        self.table = project.migrations_table
        self.no_tx_wrap = project.no_tx_wrap
        self.fk = bool(project.foreign_keys)
        self.functions = tuple(project.sql_functions)  # stand-ins for the app's SQL functions
        self._texts: Dict[str, str] = {}

    def _read(self, migration_file) -> str:
        if migration_file.name not in self._texts:
            self._texts[migration_file.name] = read_sql(self.folder.file_path(migration_file)).text
        return self._texts[migration_file.name]

    def empty(self) -> sqlite3.Connection:
        return registered(engine.scratch(foreign_keys=self.fk), self.functions)

    def reopen(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        """The same database on a new connection (temp objects gone)."""
        fresh = registered(engine.copy(conn, foreign_keys=self.fk), self.functions)
        conn.close()
        return fresh

    def copy(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        return registered(engine.copy(conn, foreign_keys=self.fk), self.functions)

    def run(self, conn: sqlite3.Connection, op: str, limit: int) -> Optional[str]:
        """One golang-migrate call on conn; the error, if any."""
        gm = GoMigrate(conn, self.folder, table=self.table, no_tx_wrap=self.no_tx_wrap, read_text=self._read)
        outcome = gm.up(limit) if op == "up" else gm.down(limit)
        return outcome.error

    def migrate(self, conn: sqlite3.Connection, op: str, limit: int) -> Tuple[sqlite3.Connection, Optional[str]]:
        """One golang-migrate call, then the database on a new connection."""
        error = self.run(conn, op, limit)
        return self.reopen(conn), error

    def snap(self, conn: sqlite3.Connection) -> Snapshot:
        return snapshot(conn, migrations_table=self.table)


# Values ------------------------------------------------------------------

_NOW_RE = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?")


def _looks_like_now(value) -> bool:
    """A date, time or Unix time (seconds or milliseconds) within a day of
    now: what CURRENT_TIMESTAMP, datetime('now') or strftime('%s') wrote.
    Asserting it would make the test fail tomorrow."""
    now = time.time()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return any(abs(value / scale - now) < 2 * 86400 for scale in (1, 1000))
    if not isinstance(value, str) or not _NOW_RE.fullmatch(value):
        return False
    return any(value.startswith(time.strftime("%Y-%m-%d", time.gmtime(now + d * 86400))) for d in (-1, 0, 1))


def sql_literal(value) -> str:
    """An SQLite literal for a value read from SQLite."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "NULL"
        if value in (float("inf"), float("-inf")):
            return "9e999" if value > 0 else "-9e999"
        return repr(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "X'" + bytes(value).hex().upper() + "'"
    text = str(value)
    if "\x00" in text:
        return "CAST(X'" + text.encode("utf-8", "surrogatepass").hex().upper() + "' AS TEXT)"
    return "'" + text.replace("'", "''") + "'"


def _typed(row: Sequence) -> tuple:
    # 5 and 5.0 are equal in Python but not to a Go test that prints them.
    return tuple((type(v).__name__, v) for v in row)


# Table reading -------------------------------------------------------------


@dataclass(frozen=True)
class _TableShape:
    name: str
    columns: Tuple[str, ...]
    key: Tuple[str, ...]  # primary-key columns, or ("rowid",)


def _shape(snap: Snapshot, name: str) -> Optional[_TableShape]:
    table = snap.table(name)
    if table is None:
        return None
    columns = tuple(c.name for c in table.columns)
    pk = tuple(c.name for c in sorted((c for c in table.columns if c.pk), key=lambda c: c.pk))
    without_rowid = "without rowid" in table.sql
    if not pk and without_rowid:
        return None
    return _TableShape(table.name, columns, pk or ("rowid",))


def _key_sql(shape: _TableShape) -> str:
    return ", ".join("rowid" if k == "rowid" else q(k) for k in shape.key)


def _read_rows(conn: sqlite3.Connection, table: str, key: Sequence[str], columns: Sequence[str]) -> Dict[tuple, tuple]:
    keys = ", ".join("rowid" if k == "rowid" else q(k) for k in key)
    cols = ", ".join(q(c) for c in columns) if columns else "NULL"
    try:
        rows = conn.execute(f"SELECT {keys}, {cols} FROM {q(table)}").fetchall()
    except sqlite3.Error:
        return {}
    width = len(key)
    return {tuple(r[:width]): tuple(r[width:]) for r in rows}


def _where(key: Sequence[str], values: Sequence) -> str:
    return " AND ".join(f"{'rowid' if k == 'rowid' else q(k)} = {sql_literal(v)}" for k, v in zip(key, values))


# Checks ----------------------------------------------------------------------


def schema_checks(before: Snapshot, after: Snapshot, conn: sqlite3.Connection) -> List[Check]:
    """The schema changes from `before` to `after` (read from conn) as Go helper calls."""
    checks: List[Check] = []
    sql_checked = set()
    for difference in diff(before, after):
        kind, name, change = difference.kind, difference.name, difference.change
        if kind == "table":
            if change == "unexpected":
                table = after.table(name)
                checks.append(Check("mwRequireTable", (table.name,), f"table {table.name} created"))
                for column in table.columns:
                    checks.append(Check("mwRequireColumn", (table.name, column.name, column.describe()),
                                        f"column {table.name}.{column.name}"))
            elif change == "missing":
                checks.append(Check("mwRequireNoTable", (name,), f"table {name} dropped"))
            elif name.lower() not in sql_checked:
                sql_checked.add(name.lower())
                table = after.table(name)
                checks.append(Check("mwRequireSQL", ("table", table.name, go_canonical_sql(_raw_sql(conn, "table", table.name))),
                                    f"table {table.name} redefined"))
        elif kind == "column":
            table_name, _, column_name = name.partition(".")
            if change == "missing":
                checks.append(Check("mwRequireNoColumn", (table_name, column_name), f"column {name} dropped"))
            else:
                column = after.table(table_name).column(column_name)
                verb = "added" if change == "unexpected" else "changed"
                checks.append(Check("mwRequireColumn", (table_name, column.name, column.describe()), f"column {name} {verb}"))
        elif kind == "foreign key":
            if name.lower() not in sql_checked and after.table(name) is not None:
                sql_checked.add(name.lower())
                table = after.table(name)
                checks.append(Check("mwRequireSQL", ("table", table.name, go_canonical_sql(_raw_sql(conn, "table", table.name))),
                                    f"foreign keys of {table.name} changed"))
        elif kind == "index":
            if name.lower().startswith("sqlite_autoindex_"):
                continue  # follows from the table definition
            if change == "missing":
                checks.append(Check("mwRequireNoIndex", (name,), f"index {name} dropped"))
                continue
            index = after.indexes[name.lower()]
            checks.append(Check("mwRequireIndex", (index.name, index.describe()),
                                f"index {index.name} {'created' if change == 'unexpected' else 'changed'}"))
            old = before.indexes.get(name.lower())
            if old is not None and old.describe() == index.describe():
                checks.append(Check("mwRequireSQL", ("index", index.name, go_canonical_sql(_raw_sql(conn, "index", index.name))),
                                    f"index {index.name} redefined"))
        elif kind in ("trigger", "view"):
            if change == "missing":
                checks.append(Check("mwRequireNoObject", (kind, name), f"{kind} {name} dropped"))
                continue
            pool = after.triggers if kind == "trigger" else after.views
            obj = pool[name.lower()]
            if change == "unexpected":
                checks.append(Check("mwRequireObject", (kind, obj.name, obj.table), f"{kind} {obj.name} created"))
            else:
                checks.append(Check("mwRequireSQL", (kind, obj.name, go_canonical_sql(_raw_sql(conn, kind, obj.name))),
                                    f"{kind} {obj.name} redefined"))
    return checks


def _raw_sql(conn: sqlite3.Connection, kind: str, name: str) -> str:
    row = conn.execute("SELECT sql FROM main.sqlite_master WHERE type = ? AND name = ? COLLATE NOCASE", (kind, name)).fetchone()
    return (row[0] or "") if row else ""


def go_canonical_sql(text: str) -> str:
    """What the generated Go helper mwNormalizeSQL makes of `text` (the same
    algorithm, byte for byte): comments and spacing dropped, words and
    quoted identifiers lower-cased and unquoted, literals kept."""
    data = text.encode("utf-8", "surrogatepass")
    n = len(data)

    def is_word(c: int) -> bool:
        return c in (0x5F, 0x24) or c >= 0x80 or 0x30 <= c <= 0x39 or 0x61 <= (c | 0x20) <= 0x7A

    def quoted_end(i: int, closer: int) -> int:
        i += 1
        while i < n:
            if data[i] == closer:
                if closer != 0x5D and i + 1 < n and data[i + 1] == closer:
                    i += 2
                    continue
                return i + 1
            i += 1
        return n

    out: List[bytes] = []
    i = 0
    while i < n:
        c = data[i]
        if c in b" \t\n\r\f\v":
            i += 1
        elif data.startswith(b"--", i):
            end = data.find(b"\n", i)
            i = n if end < 0 else end
        elif data.startswith(b"/*", i):
            end = data.find(b"*/", i + 2)
            i = n if end < 0 else end + 2
        elif c == 0x27 or (c in (0x78, 0x58) and i + 1 < n and data[i + 1] == 0x27):
            start = i
            if c != 0x27:
                i += 1
            i = quoted_end(i, 0x27)
            out.append(data[start:i])
        elif c in (0x22, 0x60, 0x5B):
            closer = 0x5D if c == 0x5B else c
            start = i
            i = quoted_end(i, closer)
            name = data[start + 1 : i]
            if name.endswith(bytes([closer])):
                name = name[:-1]
            if closer != 0x5D:
                name = name.replace(bytes([closer, closer]), bytes([closer]))
            name = _go_lower(name)
            if (not name or not is_word(name[0]) or 0x30 <= name[0] <= 0x39
                    or any(b < 0x80 and not is_word(b) for b in name)):
                name = b'"' + name.replace(b'"', b'""') + b'"'
            out.append(name)
        elif is_word(c):
            start = i
            while i < n and is_word(data[i]):
                i += 1
            out.append(_go_lower(data[start:i]))
        else:
            out.append(bytes([c]))
            i += 1
    while out and out[-1] == b";":
        out.pop()
    return b" ".join(out).decode("utf-8", "replace")


def _go_lower(data: bytes) -> bytes:
    # strings.ToLower: Unicode lower case of valid UTF-8.
    return data.decode("utf-8", "surrogateescape").lower().encode("utf-8", "surrogateescape")


def check_holds(check: Check, conn: sqlite3.Connection, snap: Snapshot) -> bool:
    """Evaluate a check the way its Go helper does."""
    h, a = check.helper, check.args
    if h == "mwRequireTable":
        return snap.table(a[0]) is not None
    if h == "mwRequireNoTable":
        return snap.table(a[0]) is None
    if h == "mwRequireColumn":
        table = snap.table(a[0])
        column = table.column(a[1]) if table else None
        return column is not None and column.describe() == a[2]
    if h == "mwRequireNoColumn":
        table = snap.table(a[0])
        return table is not None and table.column(a[1]) is None
    if h == "mwRequireIndex":
        index = snap.indexes.get(a[0].lower())
        return index is not None and index.describe() == a[1]
    if h == "mwRequireNoIndex":
        return a[0].lower() not in snap.indexes
    if h == "mwRequireObject":
        pool = snap.triggers if a[0] == "trigger" else snap.views
        obj = pool.get(a[1].lower())
        return obj is not None and obj.table.lower() == a[2].lower()
    if h == "mwRequireNoObject":
        pool = snap.triggers if a[0] == "trigger" else snap.views
        return a[1].lower() not in pool
    if h == "mwRequireSQL":
        row = conn.execute("SELECT sql FROM sqlite_master WHERE type = ? AND name = ? COLLATE NOCASE", (a[0], a[1])).fetchone()
        return row is not None and go_canonical_sql(row[0] or "") == a[2]
    if h in ("mwRequireRows", "mwRequireNoRows"):
        table, columns, rows = a
        query = row_query(table, columns)
        try:
            counts = [conn.execute(query, list(row)).fetchone()[0] for row in rows]
        except sqlite3.Error:
            return False
        return all(c > 0 for c in counts) if h == "mwRequireRows" else all(c == 0 for c in counts)
    if h == "mwRequireRowCount":
        try:
            return conn.execute(f"SELECT count(*) FROM {q(a[0])}").fetchone()[0] == a[1]
        except sqlite3.Error:
            return False
    raise ValueError(f"unknown check {h}")


def row_query(table: str, columns: Sequence[str]) -> str:
    where = " AND ".join(f"{q(c)} IS ?" for c in columns)
    return f"SELECT count(*) FROM {q(table)} WHERE {where}"


def _keep_holding(checks: List[Check], conn: sqlite3.Connection, snap: Snapshot, facts: MigrationFacts, scenario: str) -> List[Check]:
    kept = []
    for check in checks:
        if check_holds(check, conn, snap):
            kept.append(check)
        else:
            facts.warnings.append(f"left out a check that does not hold in {scenario}: {check.what}")
    return kept


# The replay ------------------------------------------------------------------


def migration_facts(folder: MigrationFolder, version: int, project: ProjectFacts) -> MigrationFacts:
    """Replay every scenario of version's tests and collect what they assert."""
    migration = folder.find(version)
    if migration is None:
        raise ValueError(f"version {version} is not in the folder")
    index = folder.versions.index(version)
    previous = folder.migrations[index - 1] if index > 0 else None
    facts = MigrationFacts(
        version=version,
        version_text=migration.version_text,
        name=migration.name,
        previous=previous.version if previous else None,
        previous_text=previous.version_text if previous else None,
        has_down=migration.down is not None,
    )
    replay = _Replay(folder, project)
    label = f"{migration.version_text}"

    # Empty -> PREV -> N on one connection, as golang-migrate's Migrate(N)
    # does for FreshDatabase; a copy taken at PREV is what a new connection
    # to a database at PREV sees.
    conn = replay.empty()
    if previous is not None:
        error = replay.run(conn, "up", index)
        if error:
            facts.failed = True
            facts.problems.append(f"migrating a new database to version {previous.version_text} fails, so nothing can be generated: {error}")
            return facts
    at_previous = replay.copy(conn)
    snap_previous = replay.snap(at_previous)
    error = replay.run(conn, "up", 1)
    fresh = replay.reopen(conn)
    if error:
        facts.failed = True
        facts.problems.append(f"up {label} fails on a database at the previous version: {error}")
        return facts
    # A second run: values that differ between the two are not asserted.
    fresh_again, _ = replay.migrate(replay.copy(at_previous), "up", 1)
    snap_fresh = replay.snap(fresh)
    facts.schema_checks = _keep_holding(schema_checks(snap_previous, snap_fresh, fresh), fresh, snap_fresh, facts, "a fresh database")
    data_checks, changed = _data_checks(at_previous, fresh, fresh_again, snap_previous, snap_fresh)
    facts.data_checks = _keep_holding(data_checks, fresh, snap_fresh, facts, "a fresh database")
    facts.changes_data = changed
    if not facts.schema_checks and not facts.data_checks:
        facts.notes.append(f"up {label} changes nothing on a new database: FreshDatabase checks only the version")

    if previous is None:
        facts.notes.append(f"{label} is the first version: no UpgradeFromV test (there is nothing to upgrade from)")
        _down_facts(replay, None, fresh, snap_previous, snap_fresh, facts)
        return facts

    # UpgradeFromV<PREV>: previous version + synthetic rows -> N.
    with_rows = replay.copy(at_previous)
    report = seed_rows(with_rows, _user_tables(snap_previous), SAMPLE_ROWS_PER_TABLE)
    for table, reason in report.skipped.items():
        facts.warnings.append(f"no sample row fits table {table} at version {previous.version_text} ({reason})")
    for rowset in report.inserted.values():
        facts.sample_tables.append(rowset.table)
        for row in rowset.rows:
            facts.sample_inserts.append(
                f"INSERT INTO {q(rowset.table)} ({', '.join(q(c) for c in rowset.columns)}) "
                f"VALUES ({', '.join(sql_literal(v) for v in row)})"
            )
    with_rows = replay.reopen(with_rows)
    upgraded, error = replay.migrate(replay.copy(with_rows), "up", 1)
    if error:
        facts.failed = True
        facts.problems.append(f"up {label} fails on a database at version {previous.version_text} with rows in its tables: {error}")
        return facts
    snap_upgraded = replay.snap(upgraded)
    upgrade_checks = list(facts.schema_checks)
    upgrade_checks += _rows_kept_checks(report.inserted.values(), upgraded, snap_upgraded, facts, "the upgrade")
    for table in facts.sample_tables:
        if snap_upgraded.table(table) is not None:
            count = upgraded.execute(f"SELECT count(*) FROM {q(table)}").fetchone()[0]
            upgrade_checks.append(Check("mwRequireRowCount", (snap_upgraded.table(table).name, count), f"{count} rows in {table}"))
    facts.upgrade_checks = _keep_holding(upgrade_checks, upgraded, snap_upgraded, facts, "the upgraded database")

    _edit_facts(replay, with_rows, upgraded, snap_upgraded, snap_previous, facts, label)
    _down_facts(replay, report.inserted.values(), upgraded, snap_previous, snap_fresh, facts)
    return facts


def _user_tables(snap: Snapshot) -> List[str]:
    return [t.name for t in snap.tables.values()]


def _rows_kept_checks(rowsets, conn, snap: Snapshot, facts: MigrationFacts, scenario: str) -> List[Check]:
    """The sample rows as they are after `scenario`: found by primary key and
    compared in every column the table has then (a renamed or new column
    included), or, without a primary key, by the values of the columns that
    are still there."""
    checks = []
    for rowset in rowsets:
        table = snap.table(rowset.table)
        if table is None:
            facts.notes.append(f"{rowset.table} is dropped by {scenario}: its sample rows are not checked after it")
            continue
        shape = _shape(snap, table.name)
        key_positions = [next((i for i, c in enumerate(rowset.columns) if c.lower() == k.lower()), None) for k in shape.key] if shape else [None]
        if shape is not None and shape.key != ("rowid",) and None not in key_positions:
            current = _read_rows(conn, table.name, shape.key, shape.columns)
            keys = [tuple(row[i] for i in key_positions) for row in rowset.rows]
            found = [current[k] for k in keys if k in current]
            stable = [i for i, c in enumerate(shape.columns) if not any(_looks_like_now(row[i]) for row in found)]
            columns = tuple(shape.columns[i] for i in stable)
            rows = [tuple(row[i] for i in stable) for row in found]
        else:
            kept = [(i, table.column(c).name) for i, c in enumerate(rowset.columns) if table.column(c) is not None]
            columns = tuple(name for _, name in kept)
            query = row_query(table.name, columns) if columns else ""
            rows = []
            for row in rowset.rows:
                values = tuple(row[i] for i, _ in kept)
                if columns and conn.execute(query, list(values)).fetchone()[0] > 0:
                    rows.append(values)
        if len(rows) < len(rowset.rows):
            facts.notes.append(
                f"{len(rowset.rows) - len(rows)} of {len(rowset.rows)} sample rows of {table.name} are gone or changed "
                f"after {scenario}; only the others are checked"
            )
        if rows and columns:
            checks.append(Check("mwRequireRows", (table.name, columns, tuple(rows[:MAX_ROWS_PER_CHECK])),
                                f"{len(rows)} sample rows of {table.name} after {scenario}"))
    return checks


def _data_checks(at_previous, fresh, fresh_again, snap_previous: Snapshot, snap_fresh: Snapshot) -> Tuple[List[Check], bool]:
    """Rows N inserts, changes or deletes on a new database."""
    checks: List[Check] = []
    changed_any = False
    for table in snap_fresh.tables.values():
        shape = _shape(snap_fresh, table.name)
        if shape is None:
            continue
        old_shape = _shape(snap_previous, table.name)
        after = _read_rows(fresh, table.name, shape.key, shape.columns)
        again = _read_rows(fresh_again, table.name, shape.key, shape.columns)
        unstable = {
            c for i, c in enumerate(shape.columns)
            if any(_typed((row[i],)) != _typed((again.get(key, row)[i],)) or _looks_like_now(row[i]) for key, row in after.items())
        }
        if old_shape is not None and old_shape.key != shape.key:
            continue  # a new primary key: rows cannot be matched up
        if old_shape is None:
            before: Dict[tuple, tuple] = {}
            common: Tuple[str, ...] = ()
        else:
            common = tuple(c for c in shape.columns if c in old_shape.columns)
            before = _read_rows(at_previous, table.name, shape.key, common)
        stable = [c for c in shape.columns if c not in unstable]
        key_in_columns = shape.key != ("rowid",)
        inserted, changed, deleted = [], [], []
        for key, row in after.items():
            if key not in before:
                inserted.append(row)
                continue
            now = tuple(row[shape.columns.index(c)] for c in common)
            if _typed(now) != _typed(before[key]):
                changed_cols = [c for c, a, b in zip(common, before[key], now) if _typed((a,)) != _typed((b,))]
                changed.append((key, row, changed_cols))
        for key, row in before.items():
            if key not in after:
                deleted.append((key, row))
        if inserted or changed or deleted:
            changed_any = changed_any or bool(changed or deleted or (old_shape is not None and inserted))
        if inserted and stable:
            rows = tuple(tuple(r[shape.columns.index(c)] for c in stable) for r in inserted[:MAX_ROWS_PER_CHECK])
            what = f"{len(inserted)} rows in {table.name} after up" + (f" ({MAX_ROWS_PER_CHECK} checked)" if len(inserted) > MAX_ROWS_PER_CHECK else "")
            checks.append(Check("mwRequireRows", (table.name, tuple(stable), rows), what))
        for key, row, changed_cols in changed[:MAX_ROWS_PER_CHECK]:
            cols = [c for c in changed_cols if c not in unstable]
            if not cols:
                continue
            if key_in_columns:
                cols = [c for c in shape.key if c not in cols] + cols
            else:
                cols = stable
            values = tuple(row[shape.columns.index(c)] for c in cols)
            checks.append(Check("mwRequireRows", (table.name, tuple(cols), (values,)),
                                f"row {_describe_key(shape.key, key)} of {table.name} changed by up"))
        if deleted and key_in_columns:
            rows = tuple(key for key, _ in deleted[:MAX_ROWS_PER_CHECK])
            checks.append(Check("mwRequireNoRows", (table.name, shape.key, rows), f"{len(deleted)} rows deleted from {table.name}"))
    return checks, changed_any


def _describe_key(key: Sequence[str], values: Sequence) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in zip(key, values))


def _edit_candidates(value) -> list:
    if isinstance(value, bool) or value is None:
        return [1, "edited by the user"]
    if isinstance(value, int):
        return [value + 1, value + 2, value - 1]
    if isinstance(value, float):
        return [value + 0.25, value + 1.0]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return [bytes(value) + b"!"]
    return [f"{value} (edited)", f"edited {value}"]


def _edit_facts(replay: _Replay, base, after, snap_after: Snapshot, snap_previous: Snapshot, facts: MigrationFacts, label: str) -> None:
    """Rows that up N changes from `base` (PREV with sample rows) to `after`,
    edited by a user first: keep the edits the migration leaves alone."""
    targets = []  # (shape, key, columns to try, common columns)
    for table in snap_previous.tables.values():
        old = _shape(snap_previous, table.name)
        new = _shape(snap_after, table.name)
        if old is None or new is None or old.key != new.key:
            continue
        common = tuple(c for c in old.columns if c in new.columns)
        if not common:
            continue
        before = _read_rows(base, table.name, old.key, common)
        now = _read_rows(after, table.name, old.key, common)
        for key, row in before.items():
            if key in now and _typed(now[key]) == _typed(row):
                continue
            changed_cols = [c for c, a, b in zip(common, row, now.get(key, row)) if _typed((a,)) != _typed((b,))]
            others = [c for c in common if c not in changed_cols and c not in old.key]
            targets.append((old, key, row, (changed_cols if key in now else []) + others, common))
    if not targets:
        return
    facts.changes_data = True
    accepted: List[UserEdit] = []
    tried: List[str] = []
    used_rows = set()
    for shape, key, row, columns, common in targets:
        if len(accepted) >= MAX_EDITED_ROWS:
            break
        if (shape.name, key) in used_rows:
            continue
        edit = _find_edit(replay, base, shape, key, row, columns, common, tried)
        if edit is not None:
            accepted.append(edit)
            used_rows.add((shape.name, key))
    if accepted and not _edits_preserved(replay, base, accepted):
        accepted = accepted[:1]
    if not accepted:
        facts.warnings.append(
            f"up {label} changes rows whatever a user did to them (tried: {'; '.join(tried[:3])}), so no "
            "PreservesUserModifications test was generated; if it must keep user edits, make its WHERE match "
            "only rows still at their original values"
        )
        return
    facts.edits = accepted


def _find_edit(replay, base, shape, key, row, columns, common, tried) -> Optional[UserEdit]:
    where = _where(shape.key, key)
    select = f"SELECT {', '.join(q(c) for c in common)} FROM {q(shape.name)} WHERE {where}"
    attempts = 0
    for column in columns:
        old = row[common.index(column)]
        for value in _edit_candidates(old):
            if attempts >= 8:
                return None
            attempts += 1
            update = f"UPDATE {q(shape.name)} SET {q(column)} = {sql_literal(value)} WHERE {where}"
            tried.append(f"{shape.name}.{column} of row {_describe_key(shape.key, key)}")
            edit = UserEdit(shape.name, update, select, f"{shape.name}.{column} of row {_describe_key(shape.key, key)}")
            if _edits_preserved(replay, base, [edit]):
                return edit
    return None


def _edits_preserved(replay: _Replay, base, edits: List[UserEdit]) -> bool:
    conn = replay.copy(base)
    try:
        for edit in edits:
            conn.execute(edit.update_sql)
        before = [conn.execute(e.select_sql).fetchall() for e in edits]
    except sqlite3.Error:
        conn.close()
        return False
    if any(len(rows) != 1 for rows in before):
        conn.close()
        return False
    conn = replay.reopen(conn)
    conn, error = replay.migrate(conn, "up", 1)
    if error:
        conn.close()
        return False
    after = [conn.execute(e.select_sql).fetchall() for e in edits]
    conn.close()
    return all(len(a) == 1 and _typed(a[0]) == _typed(b[0]) for a, b in zip(after, before))


def _down_facts(replay: _Replay, rowsets, upgraded, snap_previous: Snapshot, snap_fresh: Snapshot, facts: MigrationFacts) -> None:
    label = facts.version_text
    if not facts.has_down:
        facts.down_restores = False
        facts.notes.append(f"{label} has no down file: no DownRestoresPrevious test")
        return
    down, error = replay.migrate(replay.copy(upgraded), "down", 1)
    if error:
        facts.down_restores = False
        facts.problems.append(f"down {label} fails: {error}; the generated DownRestoresPrevious fails until the down file is fixed")
        return
    snap_down = replay.snap(down)
    differences = diff(snap_previous, snap_down)
    if differences:
        facts.down_restores = False
        shown = "; ".join(str(d) for d in differences[:3]) + (f"; and {len(differences) - 3} more" if len(differences) > 3 else "")
        previous = facts.previous_text or "(no version)"
        facts.problems.append(
            f"down {label} does not restore the schema of {previous}: {shown}; "
            "the generated DownRestoresPrevious fails until the down file is fixed"
        )
    if rowsets:
        checks = _rows_kept_checks(rowsets, down, snap_down, facts, "the down migration")
        facts.down_checks = [c for c in checks if check_holds(c, down, snap_down)]
    again, error = replay.migrate(down, "up", 1)
    if error:
        facts.down_restores = False
        facts.problems.append(f"up {label} fails after its down: {error}; the generated DownRestoresPrevious fails until that is fixed")
        return
    differences = diff(snap_fresh, replay.snap(again))
    if differences:
        facts.down_restores = False
        facts.problems.append(
            f"up {label} after its down gives another schema than a fresh up: {differences[0]}; "
            "the generated DownRestoresPrevious fails until that is fixed"
        )
