// Command mediaz-example opens a mediaz database, migrates it to the newest
// schema and prints the migration version and dirty flag.
//
//	go run ./cmd/mediaz-example [path/to/mediaz.db]
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"example.com/mediaz/pkg/storage/sqlite"
)

func main() {
	path := "./mediaz.db"
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	if err := run(context.Background(), path); err != nil {
		fmt.Fprintln(os.Stderr, "mediaz-example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, path string) (err error) {
	store, err := sqlite.New(ctx, path) // opens the file and runs migrations
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, store.Close()) }()

	version, dirty, err := store.(*sqlite.SQLite).GetMigrationVersion()
	if err != nil {
		return fmt.Errorf("read migration version: %w", err)
	}
	fmt.Printf("database: %s\nversion: %d\ndirty: %t\n", path, version, dirty)
	return nil
}
