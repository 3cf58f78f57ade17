module migration-writer/tests/goharness

go 1.26

require github.com/golang-migrate/migrate/v4 v4.19.1

require github.com/mattn/go-sqlite3 v1.14.32 // indirect
