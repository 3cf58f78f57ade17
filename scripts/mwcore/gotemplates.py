"""The Go helpers generated tests call, as gofmt-formatted templates.

Every helper is added to a test file at most once, only when a generated
test needs it, under the first free name (`mwDBPath`, else `mwDBPath2`...).
Placeholders `@@NAME@@` are filled per project: how golang-migrate reads
the migrations (the package's `//go:embed` variable, else `os.DirFS`), the
SQLite driver the app runs (`TestDriver`: mattn/go-sqlite3 through
golang-migrate's `database/sqlite3`, or the cgo-free modernc.org/sqlite
through `database/sqlite`), the DSN suffix (foreign keys on when the app
turns them on, in that driver's DSN form), the migrations table and
x-no-tx-wrap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

MATTN, MODERNC = "mattn", "modernc"
MIGRATE_MODULE = "github.com/golang-migrate/migrate/v4"
TESTIFY_MODULE = "github.com/stretchr/testify"


@dataclass(frozen=True)
class TestDriver:
    """How generated tests open SQLite: the app's driver, never another one
    (a cgo-free app built with CGO_ENABLED=0 cannot run mattn tests)."""

    key: str  # MATTN or MODERNC
    sql_name: str  # the database/sql driver name, also golang-migrate's name for it
    qualifier: str  # the Go package name of golang-migrate's driver package
    migrate_package: str  # golang-migrate's database driver package
    library: str  # the module that holds the SQLite code
    fk_dsn_suffix: str  # appended to the file path to turn foreign keys on

    __test__ = False  # not a pytest class


DRIVERS: Dict[str, TestDriver] = {
    MATTN: TestDriver(MATTN, "sqlite3", "sqlite3", MIGRATE_MODULE + "/database/sqlite3",
                      "github.com/mattn/go-sqlite3", "?_foreign_keys=1"),
    # modernc.org/sqlite runs each _pragma value as `PRAGMA <value>` on every new connection.
    MODERNC: TestDriver(MODERNC, "sqlite", "sqlite", MIGRATE_MODULE + "/database/sqlite",
                        "modernc.org/sqlite", "?_pragma=foreign_keys(1)"),
}

# The versions `go get` is told to use for a module go.mod does not require
# yet: the ones the test suite builds the generated tests with. "@latest"
# would be whatever is newest on the day, untested (golang-migrate's newer
# releases raise the Go version they need, testify's moved its YAML module).
PINNED_VERSIONS: Dict[str, str] = {
    MIGRATE_MODULE: "v4.19.1",
    "github.com/mattn/go-sqlite3": "v1.14.32",
    "modernc.org/sqlite": "v1.18.1",  # what golang-migrate v4.19.1's go.mod requires
    TESTIFY_MODULE: "v1.11.1",
}


@dataclass(frozen=True)
class Helper:
    name: str
    code: str  # doc comment + declaration, gofmt-formatted, tab-indented
    deps: Tuple[str, ...] = ()


_HELPERS = [
    Helper("mwDBPath", '''
// mwDBPath returns the path of a new database file in the test's temp folder.
func mwDBPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "test.db")
}
'''),
    Helper("mwSource", '''
// mwSource opens the migrations exactly as the tests read them.
func mwSource(t *testing.T) source.Driver {
	t.Helper()
	src, err := @@SOURCE@@
	require.NoError(t, err)
	return src
}
'''),
    Helper("mwNewMigrate", '''
// mwNewMigrate returns golang-migrate on the database file at path.
// Closing it also closes the database connection it opened.
func mwNewMigrate(t *testing.T, path string) *migrate.Migrate {
	t.Helper()
	db, err := sql.Open(@@SQLNAME@@, @@DSN@@)
	require.NoError(t, err)
	drv, err := @@MIGRATEPKG@@.WithInstance(db, @@CONFIG@@)
	require.NoError(t, err)
	m, err := migrate.NewWithInstance("iofs", mwSource(t), @@SQLNAME@@, drv)
	require.NoError(t, err)
	return m
}
''', ("mwSource",)),
    Helper("mwMigrateTo", '''
// mwMigrateTo moves the database at path to version, up or down, with
// golang-migrate: the one way every test builds a database at a version.
func mwMigrateTo(t *testing.T, path string, version uint) {
	t.Helper()
	m := mwNewMigrate(t, path)
	defer m.Close()
	if err := m.Migrate(version); !errors.Is(err, migrate.ErrNoChange) {
		require.NoError(t, err, "migrate to version %d", version)
	}
}
''', ("mwNewMigrate",)),
    Helper("mwStepDown", '''
// mwStepDown runs the down migration of the current version.
func mwStepDown(t *testing.T, path string) {
	t.Helper()
	m := mwNewMigrate(t, path)
	defer m.Close()
	require.NoError(t, m.Steps(-1), "down one step")
}
''', ("mwNewMigrate",)),
    Helper("mwRequireVersion", '''
// mwRequireVersion checks golang-migrate's version row: version, not dirty.
func mwRequireVersion(t *testing.T, path string, version uint) {
	t.Helper()
	m := mwNewMigrate(t, path)
	defer m.Close()
	got, dirty, err := m.Version()
	require.NoError(t, err)
	require.Equal(t, version, got, "migration version")
	require.False(t, dirty, "the database is dirty")
}
''', ("mwNewMigrate",)),
    Helper("mwRequireNoVersion", '''
// mwRequireNoVersion checks that golang-migrate has no version row.
func mwRequireNoVersion(t *testing.T, path string) {
	t.Helper()
	m := mwNewMigrate(t, path)
	defer m.Close()
	_, _, err := m.Version()
	require.ErrorIs(t, err, migrate.ErrNilVersion)
}
''', ("mwNewMigrate",)),
    Helper("mwOpenDB", '''
// mwOpenDB opens the database file at path without migrating it.
func mwOpenDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open(@@SQLNAME@@, @@DSN@@)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}
'''),
    Helper("mwExecAll", '''
// mwExecAll runs each statement on db.
func mwExecAll(t *testing.T, db *sql.DB, statements []string) {
	t.Helper()
	for _, statement := range statements {
		_, err := db.Exec(statement)
		require.NoError(t, err, statement)
	}
}
'''),
    Helper("mwQuote", '''
// mwQuote quotes an SQLite identifier.
func mwQuote(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
'''),
    Helper("mwCount", '''
// mwCount runs a query that returns one number.
func mwCount(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(query, args...).Scan(&n), query)
	return n
}
'''),
    Helper("mwRequireTable", '''
// mwRequireTable checks that a table exists.
func mwRequireTable(t *testing.T, db *sql.DB, table string) {
	t.Helper()
	require.Equal(t, 1, mwCount(t, db, `SELECT count(*) FROM sqlite_master
		WHERE type = 'table' AND name = ? COLLATE NOCASE`, table), "table %s exists", table)
}
''', ("mwCount",)),
    Helper("mwRequireNoTable", '''
// mwRequireNoTable checks that a table does not exist.
func mwRequireNoTable(t *testing.T, db *sql.DB, table string) {
	t.Helper()
	require.Zero(t, mwCount(t, db, `SELECT count(*) FROM sqlite_master
		WHERE type = 'table' AND name = ? COLLATE NOCASE`, table), "table %s is gone", table)
}
''', ("mwCount",)),
    Helper("mwColumns", '''
// mwColumns describes each column of table, e.g. "INTEGER NOT NULL DEFAULT 0".
func mwColumns(t *testing.T, db *sql.DB, table string) map[string]string {
	t.Helper()
	rows, err := db.Query(`SELECT name, type, "notnull", dflt_value, pk, hidden
		FROM pragma_table_xinfo(?)`, table)
	require.NoError(t, err)
	defer rows.Close()
	columns := map[string]string{}
	for rows.Next() {
		var name, typ string
		var notNull bool
		var dflt sql.NullString
		var pk, hidden int
		require.NoError(t, rows.Scan(&name, &typ, &notNull, &dflt, &pk, &hidden))
		if hidden == 1 {
			continue
		}
		parts := []string{typ}
		if typ == "" {
			parts[0] = "(no type)"
		}
		if notNull {
			parts = append(parts, "NOT NULL")
		}
		if dflt.Valid {
			parts = append(parts, "DEFAULT "+dflt.String)
		}
		if pk == 1 {
			parts = append(parts, "PRIMARY KEY")
		} else if pk > 1 {
			parts = append(parts, fmt.Sprintf("PRIMARY KEY part %d", pk))
		}
		if hidden == 2 {
			parts = append(parts, "GENERATED VIRTUAL")
		} else if hidden == 3 {
			parts = append(parts, "GENERATED STORED")
		}
		columns[strings.ToLower(name)] = strings.Join(parts, " ")
	}
	require.NoError(t, rows.Err())
	return columns
}
'''),
    Helper("mwRequireColumn", '''
// mwRequireColumn checks that table has column, declared as want.
func mwRequireColumn(t *testing.T, db *sql.DB, table, column, want string) {
	t.Helper()
	got, ok := mwColumns(t, db, table)[strings.ToLower(column)]
	require.True(t, ok, "column %s.%s exists", table, column)
	require.Equal(t, want, got, "column %s.%s", table, column)
}
''', ("mwColumns",)),
    Helper("mwRequireNoColumn", '''
// mwRequireNoColumn checks that table has no column named column.
func mwRequireNoColumn(t *testing.T, db *sql.DB, table, column string) {
	t.Helper()
	require.NotContains(t, mwColumns(t, db, table), strings.ToLower(column),
		"column %s.%s is gone", table, column)
}
''', ("mwColumns",)),
    Helper("mwRequireIndex", '''
// mwRequireIndex checks that an index exists and what it covers, e.g.
// "UNIQUE INDEX on library(root_path)" (" WHERE ..." when partial).
func mwRequireIndex(t *testing.T, db *sql.DB, index, want string) {
	t.Helper()
	var table string
	err := db.QueryRow(`SELECT tbl_name FROM sqlite_master
		WHERE type = 'index' AND name = ? COLLATE NOCASE`, index).Scan(&table)
	require.NoError(t, err, "index %s exists", index)
	var unique, partial bool
	list, err := db.Query(`SELECT "unique", partial FROM pragma_index_list(?)
		WHERE name = ? COLLATE NOCASE`, table, index)
	require.NoError(t, err)
	for list.Next() {
		require.NoError(t, list.Scan(&unique, &partial))
	}
	require.NoError(t, list.Close())
	var columns []string
	info, err := db.Query(`SELECT name FROM pragma_index_info(?) ORDER BY seqno`, index)
	require.NoError(t, err)
	for info.Next() {
		var name sql.NullString
		require.NoError(t, info.Scan(&name))
		if name.Valid {
			columns = append(columns, name.String)
		} else {
			columns = append(columns, "(expression)")
		}
	}
	require.NoError(t, info.Close())
	got := "INDEX on " + table + "(" + strings.Join(columns, ", ") + ")"
	if unique {
		got = "UNIQUE " + got
	}
	if partial {
		got += " WHERE ..."
	}
	require.Equal(t, want, got, "index %s", index)
}
'''),
    Helper("mwRequireNoIndex", '''
// mwRequireNoIndex checks that an index does not exist.
func mwRequireNoIndex(t *testing.T, db *sql.DB, index string) {
	t.Helper()
	require.Zero(t, mwCount(t, db, `SELECT count(*) FROM sqlite_master
		WHERE type = 'index' AND name = ? COLLATE NOCASE`, index), "index %s is gone", index)
}
''', ("mwCount",)),
    Helper("mwRequireObject", '''
// mwRequireObject checks that a trigger or view exists (on table).
func mwRequireObject(t *testing.T, db *sql.DB, typ, name, table string) {
	t.Helper()
	require.Equal(t, 1, mwCount(t, db, `SELECT count(*) FROM sqlite_master
		WHERE type = ? AND name = ? COLLATE NOCASE AND tbl_name = ? COLLATE NOCASE`, typ, name, table),
		"%s %s on %s exists", typ, name, table)
}
''', ("mwCount",)),
    Helper("mwRequireNoObject", '''
// mwRequireNoObject checks that a trigger or view does not exist.
func mwRequireNoObject(t *testing.T, db *sql.DB, typ, name string) {
	t.Helper()
	require.Zero(t, mwCount(t, db, `SELECT count(*) FROM sqlite_master
		WHERE type = ? AND name = ? COLLATE NOCASE`, typ, name), "%s %s is gone", typ, name)
}
''', ("mwCount",)),
    Helper("mwRequireSQL", '''
// mwRequireSQL checks the SQL of a table, index, trigger or view in the
// canonical form of mwNormalizeSQL.
func mwRequireSQL(t *testing.T, db *sql.DB, typ, name, want string) {
	t.Helper()
	var text sql.NullString
	err := db.QueryRow(`SELECT sql FROM sqlite_master
		WHERE type = ? AND name = ? COLLATE NOCASE`, typ, name).Scan(&text)
	require.NoError(t, err, "%s %s exists", typ, name)
	require.Equal(t, want, mwNormalizeSQL(text.String), "%s %s", typ, name)
}
''', ("mwNormalizeSQL",)),
    Helper("mwRowQuery", '''
// mwRowQuery is a count of the rows of table whose columns hold the values
// (compared with IS, so NULL matches NULL).
func mwRowQuery(table string, columns []string) string {
	where := make([]string, len(columns))
	for i, column := range columns {
		where[i] = mwQuote(column) + " IS ?"
	}
	return "SELECT count(*) FROM " + mwQuote(table) + " WHERE " + strings.Join(where, " AND ")
}
''', ("mwQuote",)),
    Helper("mwRequireRows", '''
// mwRequireRows checks that table has each row (values of columns).
func mwRequireRows(t *testing.T, db *sql.DB, table string, columns []string, rows [][]any) {
	t.Helper()
	query := mwRowQuery(table, columns)
	for _, row := range rows {
		require.Positive(t, mwCount(t, db, query, row...), "%s has a row %v %v", table, columns, row)
	}
}
''', ("mwRowQuery", "mwCount")),
    Helper("mwRequireNoRows", '''
// mwRequireNoRows checks that table has none of the rows (values of columns).
func mwRequireNoRows(t *testing.T, db *sql.DB, table string, columns []string, rows [][]any) {
	t.Helper()
	query := mwRowQuery(table, columns)
	for _, row := range rows {
		require.Zero(t, mwCount(t, db, query, row...), "%s has no row %v %v", table, columns, row)
	}
}
''', ("mwRowQuery", "mwCount")),
    Helper("mwRequireRowCount", '''
// mwRequireRowCount checks how many rows table has.
func mwRequireRowCount(t *testing.T, db *sql.DB, table string, want int) {
	t.Helper()
	require.Equal(t, want, mwCount(t, db, "SELECT count(*) FROM "+mwQuote(table)), "rows in %s", table)
}
''', ("mwCount", "mwQuote")),
    Helper("mwRowTexts", '''
// mwRowTexts runs each query, which must return exactly one row, and
// renders the rows as text so they can be compared later.
func mwRowTexts(t *testing.T, db *sql.DB, queries []string) []string {
	t.Helper()
	out := make([]string, len(queries))
	for i, query := range queries {
		rows, err := db.Query(query)
		require.NoError(t, err, query)
		columns, err := rows.Columns()
		require.NoError(t, err)
		n := 0
		for rows.Next() {
			values := make([]any, len(columns))
			pointers := make([]any, len(columns))
			for j := range values {
				pointers[j] = &values[j]
			}
			require.NoError(t, rows.Scan(pointers...))
			out[i] = fmt.Sprintf("%#v", values)
			n++
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		require.Equal(t, 1, n, "rows returned by %s", query)
	}
	return out
}
'''),
    Helper("mwNormalizeSQL", '''
// mwNormalizeSQL is the canonical text of a schema object's SQL: comments
// and spacing dropped, keywords and identifiers lower-cased and unquoted,
// string literals and numbers kept as written.
func mwNormalizeSQL(text string) string {
	quotedEnd := func(i int, closer byte) int {
		for i++; i < len(text); i++ {
			if text[i] == closer {
				if closer != ']' && i+1 < len(text) && text[i+1] == closer {
					i++
					continue
				}
				return i + 1
			}
		}
		return len(text)
	}
	isWord := func(c byte) bool {
		return c == '_' || c == '$' || c >= 0x80 || c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z'
	}
	var out []string
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case strings.IndexByte(" \\t\\n\\r\\f\\v", c) >= 0:
			i++
		case strings.HasPrefix(text[i:], "--"):
			if end := strings.IndexByte(text[i:], '\\n'); end >= 0 {
				i += end
			} else {
				i = len(text)
			}
		case strings.HasPrefix(text[i:], "/*"):
			if end := strings.Index(text[i+2:], "*/"); end >= 0 {
				i += end + 4
			} else {
				i = len(text)
			}
		case c == '\\'' || (c == 'x' || c == 'X') && i+1 < len(text) && text[i+1] == '\\'':
			start := i
			if c != '\\'' {
				i++
			}
			i = quotedEnd(i, '\\'')
			out = append(out, text[start:i])
		case c == '"' || c == '`' || c == '[':
			closer := c
			if c == '[' {
				closer = ']'
			}
			start := i
			i = quotedEnd(i, closer)
			name := strings.TrimSuffix(text[start+1:i], string(closer))
			if closer != ']' {
				name = strings.ReplaceAll(name, string(closer)+string(closer), string(closer))
			}
			name = strings.ToLower(name)
			if name == "" || !isWord(name[0]) || name[0] >= '0' && name[0] <= '9' ||
				strings.IndexFunc(name, func(r rune) bool { return r < 0x80 && !isWord(byte(r)) }) >= 0 {
				name = `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
			}
			out = append(out, name)
		case isWord(c):
			start := i
			for i < len(text) && isWord(text[i]) {
				i++
			}
			out = append(out, strings.ToLower(text[start:i]))
		default:
			out = append(out, string(c))
			i++
		}
	}
	for len(out) > 0 && out[len(out)-1] == ";" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, " ")
}
'''),
    Helper("mwSchema", '''
// mwSchema returns every schema object of db except golang-migrate's table
// and SQLite's own, keyed "type name", with its table and canonical SQL.
func mwSchema(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	rows, err := db.Query(`SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master`)
	require.NoError(t, err)
	defer rows.Close()
	schema := map[string]string{}
	for rows.Next() {
		var typ, name, table, text string
		require.NoError(t, rows.Scan(&typ, &name, &table, &text))
		table = strings.ToLower(table)
		if strings.HasPrefix(table, "sqlite_") || table == strings.ToLower(@@TABLE@@) {
			continue
		}
		schema[typ+" "+strings.ToLower(name)] = table + ": " + mwNormalizeSQL(text)
	}
	require.NoError(t, rows.Err())
	return schema
}
''', ("mwNormalizeSQL",)),
    Helper("mwSchemaAt", '''
// mwSchemaAt builds a new database at version and returns its schema.
func mwSchemaAt(t *testing.T, version uint) map[string]string {
	t.Helper()
	path := mwDBPath(t)
	mwMigrateTo(t, path, version)
	return mwSchema(t, mwOpenDB(t, path))
}
''', ("mwDBPath", "mwMigrateTo", "mwSchema", "mwOpenDB")),
    Helper("mwLatestVersion", '''
// mwLatestVersion is the highest version in the migrations source.
func mwLatestVersion(t *testing.T) uint {
	t.Helper()
	src := mwSource(t)
	defer src.Close()
	version, err := src.First()
	require.NoError(t, err)
	for {
		next, err := src.Next(version)
		if err != nil {
			return version
		}
		version = next
	}
}
''', ("mwSource",)),
    Helper("mwRequireAppOpens", '''
// mwRequireAppOpens opens the database at path with the application's own
// New, which migrates it, and checks through GetMigrationVersion that it
// reached the newest version in the source, clean.
func mwRequireAppOpens(t *testing.T, path string) {
	t.Helper()
	store, err := New(context.Background(), path)
	require.NoError(t, err, "New opens and migrates the database")
	if closer, ok := any(store).(interface{ Close() error }); ok {
		t.Cleanup(func() { _ = closer.Close() })
	}
	app, ok := any(store).(interface {
		GetMigrationVersion() (uint, bool, error)
	})
	require.True(t, ok, "New returns a store with GetMigrationVersion")
	version, dirty, err := app.GetMigrationVersion()
	require.NoError(t, err)
	require.Equal(t, mwLatestVersion(t), version, "version after New")
	require.False(t, dirty, "dirty after New")
}
''', ("mwLatestVersion",)),
]

HELPERS: Dict[str, Helper] = {h.name: Helper(h.name, h.code.strip("\n") + "\n", h.deps) for h in _HELPERS}

# Import paths the generated code may use, by the name the code spells
# (mattn's driver package; imports_for() gives each driver's).
IMPORTS: Dict[str, str] = {
    "context": "context",
    "errors": "errors",
    "filepath": "path/filepath",
    "fmt": "fmt",
    "math": "math",
    "os": "os",
    "sql": "database/sql",
    "strings": "strings",
    "testing": "testing",
    "migrate": "github.com/golang-migrate/migrate/v4",
    "sqlite3": "github.com/golang-migrate/migrate/v4/database/sqlite3",
    "source": "github.com/golang-migrate/migrate/v4/source",
    "iofs": "github.com/golang-migrate/migrate/v4/source/iofs",
    "require": "github.com/stretchr/testify/require",
}


def imports_for(driver: TestDriver) -> Dict[str, str]:
    """IMPORTS with golang-migrate's package for `driver`, in the same order."""
    return {(driver.qualifier if name == "sqlite3" else name): (driver.migrate_package if name == "sqlite3" else path)
            for name, path in IMPORTS.items()}


def with_dependencies(names) -> list:
    """The helpers named and everything they call, dependencies first."""
    ordered: list = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        for dep in HELPERS[name].deps:
            visit(dep)
        ordered.append(name)

    for name in names:
        visit(name)
    return ordered
