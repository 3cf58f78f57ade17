-- 000003 nullable_author_name (up)
-- Makes author.name nullable (books by an unknown author). ALTER TABLE
-- cannot drop a NOT NULL, so author is rebuilt.
-- The app enforces foreign keys on the connection golang-migrate uses
-- (_foreign_keys=1), and book references author ON DELETE CASCADE: a plain
-- DROP TABLE author would delete every book first, and PRAGMA foreign_keys
-- is a no-op inside golang-migrate's transaction. So the books are parked in
-- a temp table and emptied out before the rebuild, and put back after it:
-- DROP TABLE then finds no child row and no cascade fires.

CREATE TEMP TABLE fk_before_000003 AS
    SELECT "table" AS child_table, rowid AS child_rowid, parent
    FROM pragma_foreign_key_check;

CREATE TEMP TABLE parked_book_000003 AS SELECT id, author_id, title FROM book;
DELETE FROM book;

CREATE TABLE author_next (
    id   INTEGER PRIMARY KEY,
    name TEXT
);
INSERT INTO author_next (id, name) SELECT id, name FROM author;
DROP TABLE author;
ALTER TABLE author_next RENAME TO author;

INSERT INTO book (id, author_id, title) SELECT id, author_id, title FROM temp.parked_book_000003;
DROP TABLE temp.parked_book_000003;

CREATE TEMP TABLE fk_guard_000003 (n INTEGER CHECK (n = 0));
INSERT INTO temp.fk_guard_000003
SELECT count(*) FROM pragma_foreign_key_check AS v
WHERE NOT EXISTS (
    SELECT 1 FROM temp.fk_before_000003 AS b
    WHERE b.child_table = v."table" AND b.child_rowid IS v.rowid AND b.parent = v.parent
);
DROP TABLE temp.fk_guard_000003;
DROP TABLE temp.fk_before_000003;
