// Package sqlite is the SQLite storage of the mediaz example. Its schema is
// managed by golang-migrate with the migrations embedded from migrations/.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" database/sql driver
)

// Storage is the part of the store the rest of the application uses.
type Storage interface {
	RunMigrations(ctx context.Context) error
	ListEncodingPresets(ctx context.Context) ([]EncodingPreset, error)
	Close() error
}

// EncodingPreset is one row of encoding_preset.
type EncodingPreset struct {
	ID        int64
	Name      string
	Container string
	// MaxBitrateKbps is nil when the preset has no bitrate cap (000002).
	MaxBitrateKbps *int64
	HWAccel        bool
}

// SQLite implements Storage on a SQLite database file.
type SQLite struct {
	db *sql.DB
}

var _ Storage = (*SQLite)(nil)

// dsn builds the mattn/go-sqlite3 connection string. It sets a busy
// timeout, WAL journaling and BEGIN IMMEDIATE transactions. It deliberately
// does NOT set _foreign_keys/_fk: foreign-key enforcement stays off, which
// the rebuild migrations (see 000002) rely on.
func dsn(path string) string {
	return path + "?_busy_timeout=5000&_journal_mode=WAL&_txlock=immediate"
}

// open opens the database without touching its schema.
func open(ctx context.Context, path string) (*SQLite, error) {
	db, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("open %s: %w", path, err), db.Close())
	}
	return &SQLite{db: db}, nil
}

// New opens the database at path and migrates it to the newest schema.
func New(ctx context.Context, path string) (Storage, error) {
	s, err := open(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := s.RunMigrations(ctx); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// Close closes the database.
func (s *SQLite) Close() error {
	return s.db.Close()
}

// ListEncodingPresets returns all presets ordered by id.
func (s *SQLite) ListEncodingPresets(ctx context.Context) ([]EncodingPreset, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, name, container, max_bitrate_kbps, hw_accel FROM encoding_preset ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list encoding presets: %w", err)
	}
	defer rows.Close()

	var presets []EncodingPreset
	for rows.Next() {
		var p EncodingPreset
		var bitrate sql.NullInt64
		if err := rows.Scan(&p.ID, &p.Name, &p.Container, &bitrate, &p.HWAccel); err != nil {
			return nil, fmt.Errorf("scan encoding preset: %w", err)
		}
		if bitrate.Valid {
			v := bitrate.Int64
			p.MaxBitrateKbps = &v
		}
		presets = append(presets, p)
	}
	return presets, rows.Err()
}
