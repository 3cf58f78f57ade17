// Command goharness drives real golang-migrate (database/sqlite3 with
// mattn/go-sqlite3, source/file) through a list of operations and prints one
// JSON line per operation: its error (or null), then the version and dirty
// flag the database holds. The Python tests compare these lines with what
// mwcore.gomigrate reports for the same folder and operations.
//
// Usage: goharness -dir MIGRATIONS -db FILE [-no-tx-wrap] [-fk] OP...
// where OP is up, down, steps:N, force:V or version.
//
// goharness -parse reads JSON strings (file names), one per line, from stdin
// and prints for each what source.Parse makes of it, or null.
//
// goharness -sqlite-version prints the version of the SQLite library the
// sqlite3 driver runs (mattn/go-sqlite3's bundled one), as sqlite_version().
package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/sqlite3"
	"github.com/golang-migrate/migrate/v4/source"
	_ "github.com/golang-migrate/migrate/v4/source/file"
)

type result struct {
	Op      string  `json:"op"`
	Error   *string `json:"error"`
	Version int     `json:"version"`
	Dirty   bool    `json:"dirty"`
}

func main() {
	dir := flag.String("dir", "", "migrations folder")
	db := flag.String("db", "", "SQLite database file")
	noTxWrap := flag.Bool("no-tx-wrap", false, "run with x-no-tx-wrap=true")
	fk := flag.Bool("fk", false, "enable foreign keys in the DSN (_foreign_keys=1)")
	table := flag.String("table", "", "x-migrations-table")
	parse := flag.Bool("parse", false, "parse file names read from stdin")
	sqliteVersion := flag.Bool("sqlite-version", false, "print the SQLite version the driver runs")
	flag.Parse()
	if *parse {
		parseNames()
		return
	}
	if *sqliteVersion {
		printSQLiteVersion()
		return
	}

	absDir, err := filepath.Abs(*dir)
	if err != nil {
		fail(err)
	}
	query := url.Values{}
	if *noTxWrap {
		query.Set("x-no-tx-wrap", "true")
	}
	if *fk {
		query.Set("_foreign_keys", "1")
	}
	if *table != "" {
		query.Set("x-migrations-table", *table)
	}
	dbURL := "sqlite3://" + *db
	if len(query) > 0 {
		dbURL += "?" + query.Encode()
	}
	m, err := migrate.New("file://"+absDir, dbURL)
	if err != nil {
		// Opening can fail (duplicate files): report it as the only line.
		msg := err.Error()
		emit(result{Op: "open", Error: &msg, Version: -1})
		return
	}
	defer m.Close()

	state, err := sql.Open("sqlite3", *db)
	if err != nil {
		fail(err)
	}
	defer state.Close()
	for _, op := range flag.Args() {
		emit(run(m, state, tableName(*table), op))
	}
}

func tableName(t string) string {
	if t == "" {
		return "schema_migrations"
	}
	return t
}

// run applies one operation, then reads the version row straight from the
// database: m.Version() hides a dirty NilVersion row (-1, dirty) behind
// ErrNilVersion, and that state matters.
func run(m *migrate.Migrate, state *sql.DB, table, op string) result {
	var err error
	name, arg, _ := strings.Cut(op, ":")
	switch name {
	case "up":
		err = m.Up()
	case "down":
		err = m.Down()
	case "steps":
		n, convErr := strconv.Atoi(arg)
		if convErr != nil {
			fail(convErr)
		}
		err = m.Steps(n)
	case "force":
		v, convErr := strconv.Atoi(arg)
		if convErr != nil {
			fail(convErr)
		}
		err = m.Force(v)
	case "version":
	default:
		fail(fmt.Errorf("unknown operation %q", op))
	}
	res := result{Op: op, Version: -1}
	if err != nil {
		msg := err.Error()
		res.Error = &msg
	}
	row := state.QueryRow("SELECT version, dirty FROM " + table + " LIMIT 1")
	switch scanErr := row.Scan(&res.Version, &res.Dirty); {
	case scanErr == nil:
	case errors.Is(scanErr, sql.ErrNoRows):
		res.Version, res.Dirty = -1, false
	default:
		fail(scanErr)
	}
	return res
}

func emit(r result) {
	line, err := json.Marshal(r)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(line))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "goharness:", err)
	os.Exit(2)
}

func printSQLiteVersion() {
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		fail(err)
	}
	defer db.Close()
	var version string
	if err := db.QueryRow("SELECT sqlite_version()").Scan(&version); err != nil {
		fail(err)
	}
	fmt.Println(version)
}

type parsed struct {
	Version    uint64 `json:"version"`
	Identifier string `json:"identifier"`
	Direction  string `json:"direction"`
}

func parseNames() {
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		var name string
		if err := json.Unmarshal(scanner.Bytes(), &name); err != nil {
			fail(err)
		}
		m, err := source.Parse(name)
		if err != nil {
			fmt.Println("null")
			continue
		}
		line, err := json.Marshal(parsed{uint64(m.Version), m.Identifier, string(m.Direction)})
		if err != nil {
			fail(err)
		}
		fmt.Println(string(line))
	}
	if err := scanner.Err(); err != nil {
		fail(err)
	}
}
