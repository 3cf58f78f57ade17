package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/golang-migrate/migrate/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// latestVersion is the newest migration in migrations/, read from the
// embedded files so that adding a migration needs no edit here.
func latestVersion(t *testing.T) uint {
	t.Helper()
	versions := embeddedVersions(t)
	require.NotEmpty(t, versions)
	return versions[len(versions)-1]
}

// ---------------------------------------------------------------------------
// Helpers

func dbPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "mediaz.db")
}

// migrateTo moves the database at path to version (up or down) with
// golang-migrate and the embedded migrations, exactly as the app would.
// Version 0 means "all the way down" (no version row).
func migrateTo(t *testing.T, path string, version uint) {
	t.Helper()
	db, err := sql.Open("sqlite3", dsn(path))
	require.NoError(t, err)
	m, err := newMigrate(db)
	require.NoError(t, err)
	defer m.Close() // also closes db

	if version == 0 {
		err = m.Down()
	} else {
		err = m.Migrate(version)
	}
	if errors.Is(err, migrate.ErrNoChange) {
		err = nil
	}
	require.NoError(t, err, "migrate to version %d", version)
}

// openDB opens the database with the app's DSN, without migrating it.
func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", dsn(path))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func exec(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	_, err := db.Exec(query, args...)
	require.NoError(t, err, query)
}

var sqlNoise = regexp.MustCompile("[\\s\"`]+")

// schemaOf returns every schema object except golang-migrate's own table
// and SQLite's internal ones, keyed "type name", with whitespace and
// identifier quotes removed from the SQL (ALTER TABLE RENAME re-quotes
// the table name).
func schemaOf(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	rows, err := db.Query(`SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master
		WHERE name NOT LIKE 'sqlite_%' AND tbl_name <> 'schema_migrations'`)
	require.NoError(t, err)
	defer rows.Close()
	schema := map[string]string{}
	for rows.Next() {
		var typ, name, table, text string
		require.NoError(t, rows.Scan(&typ, &name, &table, &text))
		schema[typ+" "+name] = table + ": " + sqlNoise.ReplaceAllString(text, "")
	}
	require.NoError(t, rows.Err())
	return schema
}

// schemaAt builds a fresh database at version and returns its schema.
func schemaAt(t *testing.T, version uint) map[string]string {
	t.Helper()
	path := dbPath(t)
	migrateTo(t, path, version)
	return schemaOf(t, openDB(t, path))
}

type column struct {
	Type    string
	NotNull bool
	Default sql.NullString
}

func columns(t *testing.T, db *sql.DB, table string) map[string]column {
	t.Helper()
	rows, err := db.Query(`SELECT name, type, "notnull", dflt_value FROM pragma_table_info(?)`, table)
	require.NoError(t, err)
	defer rows.Close()
	cols := map[string]column{}
	for rows.Next() {
		var name string
		var c column
		require.NoError(t, rows.Scan(&name, &c.Type, &c.NotNull, &c.Default))
		cols[name] = c
	}
	require.NoError(t, rows.Err())
	return cols
}

// objectSQL returns the sql of a schema object, or "" if it does not exist.
func objectSQL(t *testing.T, db *sql.DB, typ, name string) string {
	t.Helper()
	var text string
	err := db.QueryRow(`SELECT sql FROM sqlite_master WHERE type = ? AND name = ?`, typ, name).Scan(&text)
	if errors.Is(err, sql.ErrNoRows) {
		return ""
	}
	require.NoError(t, err)
	return text
}

func count(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(query, args...).Scan(&n), query)
	return n
}

// dumpRows renders every row of table, in rowid order, as text.
func dumpRows(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	return dumpRowsQuery(t, db, `SELECT * FROM `+table+` ORDER BY rowid`)
}

// insertSampleRows fills every table of the version-1 schema (those columns
// exist at every later version too).
func insertSampleRows(t *testing.T, db *sql.DB) {
	t.Helper()
	exec(t, db, `INSERT INTO encoding_preset (id, name, container, max_bitrate_kbps) VALUES (10, 'Archive', 'mkv', 40000)`)
	exec(t, db, `INSERT INTO library (id, name, root_path, kind, default_preset_id) VALUES
		(1, 'Movies', '/srv/movies', 'movie', 2),
		(2, 'Shows', '/srv/shows', 'series', 10),
		(3, 'Music', '/srv/music', 'music', NULL)`)
	exec(t, db, `INSERT INTO media_item (id, library_id, title, release_year, file_path, size_bytes) VALUES
		(1, 1, 'Night Train', 1999, '/srv/movies/night-train.mkv', 734003200),
		(2, 1, 'Harbor Lights', NULL, '/srv/movies/harbor-lights.mkv', 1073741824),
		(3, 2, 'Pilot', 2021, '/srv/shows/s01e01.mkv', 524288000)`)
	exec(t, db, `INSERT INTO transcode_job (id, media_item_id, preset_id, state, progress_pct) VALUES
		(1, 1, 1, 'done', 100),
		(2, 2, 10, 'running', 40),
		(3, 3, 3, 'queued', 0)`)
}

var allTables = []string{"encoding_preset", "library", "media_item", "transcode_job"}

func dumpAll(t *testing.T, db *sql.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range allTables {
		out[table] = dumpRows(t, db, table)
	}
	return out
}

func embeddedVersions(t *testing.T) []uint {
	t.Helper()
	names, err := fs.Glob(migrationFiles, "migrations/*.up.sql")
	require.NoError(t, err)
	var versions []uint
	for _, name := range names {
		var v uint
		_, err := fmt.Sscanf(filepath.Base(name), "%06d_", &v)
		require.NoError(t, err, name)
		versions = append(versions, v)
	}
	sort.Slice(versions, func(i, j int) bool { return versions[i] < versions[j] })
	return versions
}

// ---------------------------------------------------------------------------
// Store behaviour

func TestGetMigrationVersion_EmptyFile(t *testing.T) {
	s, err := open(context.Background(), dbPath(t))
	require.NoError(t, err)
	defer s.Close()

	version, dirty, err := s.GetMigrationVersion()
	require.NoError(t, err)
	assert.Equal(t, uint(0), version)
	assert.False(t, dirty)

	// Reading the version must not create schema_migrations: that would
	// make a legacy database look migrated.
	exists, err := s.tableExists(context.Background(), migrationsTable)
	require.NoError(t, err)
	assert.False(t, exists)
}

// After a failed down of the first migration golang-migrate leaves the row
// (-1, dirty); the version is reported as 0 but the dirty flag is kept.
func TestGetMigrationVersion_DirtyBelowFirst(t *testing.T) {
	path := dbPath(t)
	migrateTo(t, path, 1)
	db := openDB(t, path)
	exec(t, db, `DELETE FROM schema_migrations`)
	exec(t, db, `INSERT INTO schema_migrations (version, dirty) VALUES (-1, 1)`)

	s, err := open(context.Background(), path)
	require.NoError(t, err)
	defer s.Close()
	version, dirty, err := s.GetMigrationVersion()
	require.NoError(t, err)
	assert.Equal(t, uint(0), version)
	assert.True(t, dirty)
	assert.ErrorContains(t, s.RunMigrations(context.Background()), "Dirty database version -1")
}

func TestNew_FreshDatabase(t *testing.T) {
	ctx := context.Background()
	store, err := New(ctx, dbPath(t))
	require.NoError(t, err)
	defer store.Close()
	s := store.(*SQLite)

	version, dirty, err := s.GetMigrationVersion()
	require.NoError(t, err)
	assert.Equal(t, latestVersion(t), version)
	assert.False(t, dirty)

	var fk int
	require.NoError(t, s.db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk))
	assert.Equal(t, 0, fk, "the app runs with foreign-key enforcement off")

	var journal string
	require.NoError(t, s.db.QueryRow(`PRAGMA journal_mode`).Scan(&journal))
	assert.Equal(t, "wal", journal)

	presets, err := s.ListEncodingPresets(ctx)
	require.NoError(t, err)
	require.Len(t, presets, 3)
	assert.Equal(t, "Mobile 720p", presets[0].Name)
	assert.Nil(t, presets[2].MaxBitrateKbps, "Original has no cap after 000003")
}

func TestRunMigrations_AlreadyCurrent(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	store, err := New(ctx, path)
	require.NoError(t, err)
	require.NoError(t, store.RunMigrations(ctx), "ErrNoChange is success")
	require.NoError(t, store.Close())

	store, err = New(ctx, path)
	require.NoError(t, err)
	defer store.Close()
	version, dirty, err := store.(*SQLite).GetMigrationVersion()
	require.NoError(t, err)
	assert.Equal(t, latestVersion(t), version)
	assert.False(t, dirty)
}

func TestLegacyDatabase(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)

	// A database from before migrations existed: the version-1 schema and
	// data, but no schema_migrations table.
	initial, err := migrationFiles.ReadFile("migrations/000001_initial_schema.up.sql")
	require.NoError(t, err)
	legacy := openDB(t, path)
	exec(t, legacy, string(initial))
	insertSampleRows(t, legacy)
	require.NoError(t, legacy.Close())

	store, err := New(ctx, path)
	require.NoError(t, err, "000001 must not run again on a legacy database")
	defer store.Close()
	s := store.(*SQLite)

	version, dirty, err := s.GetMigrationVersion()
	require.NoError(t, err)
	assert.Equal(t, latestVersion(t), version)
	assert.False(t, dirty)

	assert.Equal(t, schemaAt(t, latestVersion(t)), schemaOf(t, s.db))
	assert.Equal(t, 4, count(t, s.db, `SELECT count(*) FROM encoding_preset`))
	assert.Equal(t, 3, count(t, s.db, `SELECT count(*) FROM media_item`))
	assert.Equal(t, 3, count(t, s.db, `SELECT count(*) FROM transcode_job`))
}

func TestMigrationFiles_Conventions(t *testing.T) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	require.NoError(t, err)
	name := regexp.MustCompile(`^([0-9]{6})_([a-z0-9_]+)\.(up|down)\.sql$`)
	pairs := map[string][]string{}
	for _, e := range entries {
		m := name.FindStringSubmatch(e.Name())
		require.NotNil(t, m, "%s does not match NNNNNN_name.(up|down).sql", e.Name())
		pairs[m[1]] = append(pairs[m[1]], m[3])

		body, err := migrationFiles.ReadFile("migrations/" + e.Name())
		require.NoError(t, err)
		text := strings.ToUpper(string(body))
		assert.True(t, strings.HasPrefix(text, "-- "), "%s needs a comment header", e.Name())
		code := stripComments(text)
		assert.NotContains(t, code, "PRAGMA FOREIGN_KEYS", "%s: no-op inside golang-migrate's transaction", e.Name())
		assert.NotRegexp(t, `\bBEGIN\s*(TRANSACTION|IMMEDIATE|EXCLUSIVE|DEFERRED)?\s*;`, code,
			"%s: golang-migrate already wraps the file in a transaction", e.Name())
		assert.NotContains(t, code, "IF NOT EXISTS", "%s: IF NOT EXISTS hides a wrong schema", e.Name())
	}
	for version, dirs := range pairs {
		sort.Strings(dirs)
		assert.Equal(t, []string{"down", "up"}, dirs, "version %s needs exactly one up and one down", version)
	}
	assert.Len(t, pairs, len(embeddedVersions(t)), "every version has its pair")
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// TestMigration_AllVersions_RoundTrip checks for every version N that
// up N -> down N restores the schema of N-1 exactly and that up N again
// produces the same schema as the first up N, with rows present.
func TestMigration_AllVersions_RoundTrip(t *testing.T) {
	dataOnly := map[uint]bool{3: true}
	versions := embeddedVersions(t)
	require.NotEmpty(t, versions)
	for i, v := range versions {
		prev := uint(0)
		if i > 0 {
			prev = versions[i-1]
		}
		t.Run(fmt.Sprintf("%06d", v), func(t *testing.T) {
			path := dbPath(t)
			if prev > 0 {
				migrateTo(t, path, prev)
				db := openDB(t, path)
				insertSampleRows(t, db)
				require.NoError(t, db.Close())
			}
			db := openDB(t, path)
			before := schemaOf(t, db)

			migrateTo(t, path, v)
			afterUp := schemaOf(t, db)
			if dataOnly[v] {
				assert.Equal(t, before, afterUp, "%06d is data only", v)
			} else {
				assert.NotEqual(t, before, afterUp, "up %d changes nothing in the schema", v)
			}

			migrateTo(t, path, prev)
			assert.Equal(t, before, schemaOf(t, db), "down %d does not restore version %d", v, prev)
			if prev > 0 {
				assert.Equal(t, 3, count(t, db, `SELECT count(*) FROM transcode_job`))
				assert.Equal(t, 3, count(t, db, `SELECT count(*) FROM media_item`))
			}

			migrateTo(t, path, v)
			assert.Equal(t, afterUp, schemaOf(t, db), "up %d after down %d differs", v, v)
		})
	}
}

// ---------------------------------------------------------------------------
// 000001 initial_schema

func TestMigration_000001_FreshDatabase(t *testing.T) {
	path := dbPath(t)
	migrateTo(t, path, 1)
	db := openDB(t, path)

	for _, table := range allTables {
		assert.NotEmpty(t, objectSQL(t, db, "table", table), "table %s", table)
	}
	for _, index := range []string{
		"idx_encoding_preset_name", "idx_library_root_path", "idx_library_default_preset",
		"idx_media_item_file_path", "idx_media_item_library_title",
		"idx_transcode_job_media_item", "idx_transcode_job_preset", "idx_transcode_job_pending",
	} {
		assert.NotEmpty(t, objectSQL(t, db, "index", index), "index %s", index)
	}
	assert.Contains(t, objectSQL(t, db, "index", "idx_encoding_preset_name"), "UNIQUE")
	assert.Contains(t, objectSQL(t, db, "index", "idx_transcode_job_pending"), "WHERE state IN")
	assert.NotEmpty(t, objectSQL(t, db, "trigger", "trg_encoding_preset_touch"))
	assert.NotEmpty(t, objectSQL(t, db, "trigger", "trg_media_item_touch"))

	assert.True(t, columns(t, db, "encoding_preset")["max_bitrate_kbps"].NotNull)
	assert.Equal(t, 1, count(t, db,
		`SELECT count(*) FROM pragma_foreign_key_list('media_item') WHERE "table" = 'library' AND on_delete = 'CASCADE'`))

	assert.Equal(t, []string{
		"1 Mobile 480p mp4 1500 0",
		"2 HD 1080p mkv 8000 0",
		"3 Original mkv 80000 0",
	}, dumpRowsQuery(t, db, `SELECT id, name, container, max_bitrate_kbps, hw_accel FROM encoding_preset ORDER BY id`))

	// The trigger keeps updated_at current.
	insertSampleRows(t, db)
	exec(t, db, `UPDATE media_item SET updated_at = '2000-01-01 00:00:00' WHERE id = 1`)
	exec(t, db, `UPDATE media_item SET title = 'Night Train (Director''s Cut)' WHERE id = 1`)
	assert.Equal(t, 0, count(t, db, `SELECT count(*) FROM media_item WHERE id = 1 AND updated_at = '2000-01-01 00:00:00'`))
}

func dumpRowsQuery(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(query)
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		parts := make([]string, len(vals))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, " "))
	}
	require.NoError(t, rows.Err())
	return out
}

func TestMigration_000001_Down(t *testing.T) {
	path := dbPath(t)
	migrateTo(t, path, 1)
	migrateTo(t, path, 0)

	db := openDB(t, path)
	assert.Empty(t, schemaOf(t, db), "down 1 leaves no application object")

	migrateTo(t, path, 1)
	assert.Equal(t, schemaAt(t, 1), schemaOf(t, db))
}

// ---------------------------------------------------------------------------
// 000002 nullable_preset_bitrate (parent-table rebuild)

func TestMigration_000002_UpgradeFromV1(t *testing.T) {
	path := dbPath(t)
	migrateTo(t, path, 1)
	db := openDB(t, path)
	insertSampleRows(t, db)
	v1 := columns(t, db, "encoding_preset")

	migrateTo(t, path, 2)

	v2 := columns(t, db, "encoding_preset")
	assert.False(t, v2["max_bitrate_kbps"].NotNull, "max_bitrate_kbps is nullable")
	for name, col := range v1 {
		if name != "max_bitrate_kbps" {
			assert.Equal(t, col, v2[name], "column %s unchanged", name)
		}
	}
	assert.Len(t, v2, len(v1))

	// Everything DROP TABLE removed came back.
	assert.Contains(t, objectSQL(t, db, "index", "idx_encoding_preset_name"), "UNIQUE")
	assert.NotEmpty(t, objectSQL(t, db, "trigger", "trg_encoding_preset_touch"))
	assert.Empty(t, objectSQL(t, db, "table", "encoding_preset_new"))

	// Children still reference encoding_preset, and nothing dangles.
	assert.Equal(t, 1, count(t, db,
		`SELECT count(*) FROM pragma_foreign_key_list('transcode_job') WHERE "table" = 'encoding_preset'`))
	assert.Equal(t, 1, count(t, db,
		`SELECT count(*) FROM pragma_foreign_key_list('library') WHERE "table" = 'encoding_preset'`))
	assert.Equal(t, 0, count(t, db, `SELECT count(*) FROM pragma_foreign_key_check`))

	// NULL now means "no cap"; the CHECK still rejects nonsense.
	exec(t, db, `INSERT INTO encoding_preset (id, name, max_bitrate_kbps) VALUES (20, 'Passthrough', NULL)`)
	_, err := db.Exec(`INSERT INTO encoding_preset (id, name, max_bitrate_kbps) VALUES (21, 'Broken', 0)`)
	assert.Error(t, err)

	// The recreated trigger works.
	exec(t, db, `UPDATE encoding_preset SET updated_at = '2000-01-01 00:00:00' WHERE id = 20`)
	exec(t, db, `UPDATE encoding_preset SET hw_accel = 1 WHERE id = 20`)
	assert.Equal(t, 0, count(t, db, `SELECT count(*) FROM encoding_preset WHERE id = 20 AND updated_at = '2000-01-01 00:00:00'`))
}

func TestMigration_000002_PreservesRows(t *testing.T) {
	path := dbPath(t)
	migrateTo(t, path, 1)
	db := openDB(t, path)
	insertSampleRows(t, db)
	before := dumpAll(t, db)

	migrateTo(t, path, 2)

	assert.Equal(t, before, dumpAll(t, db), "the rebuild keeps every row of every table unchanged")
}

func TestMigration_000002_ToleratesExistingOrphans(t *testing.T) {
	path := dbPath(t)
	migrateTo(t, path, 1)
	db := openDB(t, path)
	insertSampleRows(t, db)
	// With enforcement off, deleting parents leaves orphans behind.
	exec(t, db, `DELETE FROM encoding_preset WHERE id = 10`)
	exec(t, db, `DELETE FROM library WHERE id = 2`)
	orphans := count(t, db, `SELECT count(*) FROM pragma_foreign_key_check`)
	require.Equal(t, 2, orphans) // library 1's items stay valid; the rest dangle

	migrateTo(t, path, 2)

	assert.Equal(t, orphans, count(t, db, `SELECT count(*) FROM pragma_foreign_key_check`),
		"old orphans do not block the upgrade and no new ones appear")
	assert.Equal(t, 3, count(t, db, `SELECT count(*) FROM transcode_job`))
}

// TestMigration_000002_GuardCatchesLostParents runs the up file with its
// copy step sabotaged (one referenced preset is not copied) and checks that
// the foreign-key guard fails the file and the transaction rolls back.
func TestMigration_000002_GuardCatchesLostParents(t *testing.T) {
	path := dbPath(t)
	migrateTo(t, path, 1)
	db := openDB(t, path)
	insertSampleRows(t, db)

	up, err := migrationFiles.ReadFile("migrations/000002_nullable_preset_bitrate.up.sql")
	require.NoError(t, err)
	const copyEnd = "FROM encoding_preset;\n"
	require.Contains(t, string(up), copyEnd)
	broken := strings.Replace(string(up), copyEnd, "FROM encoding_preset WHERE id <> 10;\n", 1)

	tx, err := db.Begin()
	require.NoError(t, err)
	_, err = tx.Exec(broken)
	require.ErrorContains(t, err, "CHECK constraint failed")
	require.NoError(t, tx.Rollback())

	assert.True(t, columns(t, db, "encoding_preset")["max_bitrate_kbps"].NotNull, "still version 1")
	assert.Equal(t, 4, count(t, db, `SELECT count(*) FROM encoding_preset`))
}

func TestMigration_000002_Down(t *testing.T) {
	path := dbPath(t)
	migrateTo(t, path, 1)
	db := openDB(t, path)
	insertSampleRows(t, db)
	migrateTo(t, path, 2)
	exec(t, db, `INSERT INTO encoding_preset (id, name, max_bitrate_kbps) VALUES (20, 'Passthrough', NULL)`)
	exec(t, db, `INSERT INTO transcode_job (id, media_item_id, preset_id) VALUES (4, 1, 20)`)

	migrateTo(t, path, 1)

	assert.Equal(t, schemaAt(t, 1), schemaOf(t, db), "down 2 restores the version-1 schema exactly")
	assert.True(t, columns(t, db, "encoding_preset")["max_bitrate_kbps"].NotNull)
	assert.Equal(t, 80000, count(t, db, `SELECT max_bitrate_kbps FROM encoding_preset WHERE id = 20`),
		"NULL falls back to the documented 80000")
	assert.Equal(t, 5, count(t, db, `SELECT count(*) FROM encoding_preset`))
	assert.Equal(t, 4, count(t, db, `SELECT count(*) FROM transcode_job`))
	assert.Equal(t, 3, count(t, db, `SELECT count(*) FROM library`))
	assert.Equal(t, 0, count(t, db, `SELECT count(*) FROM pragma_foreign_key_check`))
}

// ---------------------------------------------------------------------------
// 000003 refresh_builtin_presets (data only)

const presetQuery = `SELECT id, name, container, max_bitrate_kbps, hw_accel FROM encoding_preset ORDER BY id`

func TestMigration_000003_UpgradeFromV2(t *testing.T) {
	path := dbPath(t)
	migrateTo(t, path, 2)
	db := openDB(t, path)

	migrateTo(t, path, 3)

	assert.Equal(t, []string{
		"1 Mobile 720p mp4 2500 0",
		"2 HD 1080p mkv 8000 0",
		"3 Original mkv <nil> 0",
	}, dumpRowsQuery(t, db, presetQuery))
}

func TestMigration_000003_PreservesUserModifications(t *testing.T) {
	path := dbPath(t)
	migrateTo(t, path, 2)
	db := openDB(t, path)
	exec(t, db, `UPDATE encoding_preset SET max_bitrate_kbps = 1800 WHERE id = 1`)
	exec(t, db, `UPDATE encoding_preset SET hw_accel = 1 WHERE id = 3`)
	before := dumpRows(t, db, "encoding_preset")

	migrateTo(t, path, 3)

	assert.Equal(t, before, dumpRows(t, db, "encoding_preset"), "edited presets keep the user's values")
}

func TestMigration_000003_SkipsNameCollision(t *testing.T) {
	path := dbPath(t)
	migrateTo(t, path, 2)
	db := openDB(t, path)
	exec(t, db, `INSERT INTO encoding_preset (id, name, container, max_bitrate_kbps) VALUES (7, 'Mobile 720p', 'mp4', 3000)`)

	migrateTo(t, path, 3) // must not fail on the unique name index

	assert.Equal(t, []string{
		"1 Mobile 480p mp4 1500 0",
		"2 HD 1080p mkv 8000 0",
		"3 Original mkv <nil> 0",
		"7 Mobile 720p mp4 3000 0",
	}, dumpRowsQuery(t, db, presetQuery))
}

func TestMigration_000003_Down(t *testing.T) {
	path := dbPath(t)
	migrateTo(t, path, 3)
	db := openDB(t, path)
	// The user edits one refreshed preset after the upgrade.
	exec(t, db, `UPDATE encoding_preset SET max_bitrate_kbps = 50000 WHERE id = 3`)

	migrateTo(t, path, 2)

	assert.Equal(t, []string{
		"1 Mobile 480p mp4 1500 0",
		"2 HD 1080p mkv 8000 0",
		"3 Original mkv 50000 0",
	}, dumpRowsQuery(t, db, presetQuery), "only rows still at the new values are reverted")
	assert.Equal(t, schemaAt(t, 2), schemaOf(t, db))
}

// ---------------------------------------------------------------------------
// 000004 media_item_play_count (ADD COLUMN / DROP COLUMN)

func TestMigration_000004_UpgradeFromV3(t *testing.T) {
	path := dbPath(t)
	migrateTo(t, path, 3)
	db := openDB(t, path)
	insertSampleRows(t, db)

	migrateTo(t, path, 4)

	col, ok := columns(t, db, "media_item")["play_count"]
	require.True(t, ok, "play_count exists")
	assert.True(t, col.NotNull)
	assert.Equal(t, "0", col.Default.String)
	assert.Contains(t, objectSQL(t, db, "index", "idx_media_item_play_count"), "play_count")
	assert.Equal(t, 3, count(t, db, `SELECT count(*) FROM media_item WHERE play_count = 0`))
}

func TestMigration_000004_Down(t *testing.T) {
	path := dbPath(t)
	migrateTo(t, path, 4)
	db := openDB(t, path)
	insertSampleRows(t, db)
	exec(t, db, `UPDATE media_item SET play_count = 7 WHERE id = 1`)

	migrateTo(t, path, 3)

	assert.NotContains(t, columns(t, db, "media_item"), "play_count")
	assert.Empty(t, objectSQL(t, db, "index", "idx_media_item_play_count"))
	assert.Equal(t, 3, count(t, db, `SELECT count(*) FROM media_item`))
	assert.Equal(t, schemaAt(t, 3), schemaOf(t, db))
}
