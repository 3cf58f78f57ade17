-- 000003 nullable_author_name (down)
-- Makes author.name NOT NULL again, by the same rebuild (books parked and
-- put back, so no cascade deletes them).
-- LOSSY: authors saved without a name since 000003 are named
-- 'Unknown author'.

CREATE TEMP TABLE fk_before_000003 AS
    SELECT "table" AS child_table, rowid AS child_rowid, parent
    FROM pragma_foreign_key_check;

CREATE TEMP TABLE parked_book_000003 AS SELECT id, author_id, title FROM book;
DELETE FROM book;

CREATE TABLE author_next (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL
);
INSERT INTO author_next (id, name) SELECT id, coalesce(name, 'Unknown author') FROM author;
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
