package store

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/sqlite3"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	_ "github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/require"
)

// migrateTo moves the database at path to version with golang-migrate's
// sqlite3 driver (mattn/go-sqlite3).
func migrateTo(t *testing.T, path string, version uint) {
	t.Helper()
	src, err := iofs.New(migrationsFS, "migrations")
	require.NoError(t, err)
	m, err := migrate.NewWithSourceInstance("iofs", src, "sqlite3://"+path+"?_foreign_keys=1")
	require.NoError(t, err)
	defer m.Close()
	if err := m.Migrate(version); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		require.NoError(t, err)
	}
}

func countRows(t *testing.T, db *sql.DB, query string) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(query).Scan(&n), query)
	return n
}

func TestMigration_000003_BookISBN(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	migrateTo(t, path, 2)

	db, err := sql.Open("sqlite3", path)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`INSERT INTO author (id, name) VALUES (10, 'Ted Chiang');
		INSERT INTO book (id, author_id, title) VALUES (100, 10, 'Exhalation')`)
	require.NoError(t, err)

	migrateTo(t, path, 3)
	require.Equal(t, 1, countRows(t, db, `SELECT count(*) FROM pragma_table_info('book') WHERE name = 'isbn'`))
	require.Equal(t, 1, countRows(t, db, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'book_isbn_idx'`))
	require.Equal(t, 4, countRows(t, db, `SELECT count(*) FROM book WHERE isbn IS NULL`), "existing books keep no ISBN")
	_, err = db.Exec(`UPDATE book SET isbn = '9781101947883' WHERE id = 100`)
	require.NoError(t, err)

	migrateTo(t, path, 2)
	require.Equal(t, 0, countRows(t, db, `SELECT count(*) FROM pragma_table_info('book') WHERE name = 'isbn'`))
	require.Equal(t, 4, countRows(t, db, `SELECT count(*) FROM book`), "the down keeps every book")
}
