package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database/sqlite3"
	"github.com/golang-migrate/migrate/v4/source/iofs"
)

// Only *.sql files are embedded: README files or editor backups in the
// folder never reach golang-migrate.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

const (
	migrationsTable = "schema_migrations"
	// legacyMarkerTable is a table of 000001 that every database created
	// before migrations were introduced already has.
	legacyMarkerTable = "library"
	// legacyBaseline is the version whose schema legacy databases have.
	legacyBaseline = 1
)

// newMigrate builds a golang-migrate instance on db using the embedded
// migrations. Note that sqlite3.WithInstance creates schema_migrations if it
// is missing, and that (*migrate.Migrate).Close would close db itself.
func newMigrate(db *sql.DB) (*migrate.Migrate, error) {
	src, err := iofs.New(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migration source: %w", err)
	}
	drv, err := sqlite3.WithInstance(db, &sqlite3.Config{MigrationsTable: migrationsTable})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("migration driver: %w", err), src.Close())
	}
	m, err := migrate.NewWithInstance("iofs", src, "sqlite3", drv)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("migrate instance: %w", err), src.Close())
	}
	return m, nil
}

// RunMigrations applies every pending migration. A database without
// schema_migrations that already has the initial tables predates
// migrations: it is baselined to version 1 first, then upgraded.
func (s *SQLite) RunMigrations(ctx context.Context) error {
	// Detect legacy databases BEFORE creating the migrate driver: the
	// driver creates schema_migrations, which would hide the signal.
	legacy, err := s.isLegacyDatabase(ctx)
	if err != nil {
		return err
	}

	m, err := newMigrate(s.db)
	if err != nil {
		return err
	}
	// m.Close() is not called: it would close s.db as well.

	if legacy {
		if err := m.Force(legacyBaseline); err != nil {
			return fmt.Errorf("baseline legacy database at version %d: %w", legacyBaseline, err)
		}
	}

	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("run migrations: %w", err)
	}
	return nil
}

// GetMigrationVersion reports the applied version and the dirty flag. A
// database that has never been migrated reports (0, false, nil); so does
// one migrated all the way down. It never creates schema_migrations.
func (s *SQLite) GetMigrationVersion() (version uint, dirty bool, err error) {
	ctx := context.Background()
	exists, err := s.tableExists(ctx, migrationsTable)
	if err != nil || !exists {
		return 0, false, err
	}

	m, err := newMigrate(s.db)
	if err != nil {
		return 0, false, err
	}
	version, dirty, err = m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		// No version row. golang-migrate can still leave the row
		// (-1, dirty) after a failed down of the first migration; report
		// that as dirty instead of hiding it.
		err = s.db.QueryRowContext(ctx,
			`SELECT count(*) > 0 FROM `+migrationsTable+` WHERE version = -1 AND dirty`).Scan(&dirty)
		return 0, dirty, err
	}
	return version, dirty, err
}

func (s *SQLite) isLegacyDatabase(ctx context.Context) (bool, error) {
	hasMigrations, err := s.tableExists(ctx, migrationsTable)
	if err != nil || hasMigrations {
		return false, err
	}
	return s.tableExists(ctx, legacyMarkerTable)
}

func (s *SQLite) tableExists(ctx context.Context, name string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up table %s: %w", name, err)
	}
	return n > 0, nil
}
