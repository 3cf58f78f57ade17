-- Runs unwrapped (NoTxWrap): the file brings its own transaction.
-- 000003 book_title_not_blank (down)
-- Removes the CHECK on book.title by the same rebuild.
-- LOSSY: titles the up changed from blank to 'Untitled' stay 'Untitled'.
BEGIN;

CREATE TEMP TABLE fk_before_000003 AS
    SELECT "table" AS child_table, rowid AS child_rowid, parent
    FROM pragma_foreign_key_check;

CREATE TABLE book_next (
    id        INTEGER PRIMARY KEY,
    author_id INTEGER NOT NULL REFERENCES author (id) ON DELETE CASCADE,
    title     TEXT NOT NULL
);

INSERT INTO book_next (id, author_id, title)
SELECT id, author_id, title
FROM book;

DROP TABLE book;

ALTER TABLE book_next RENAME TO book;

CREATE INDEX book_author_idx ON book (author_id);

CREATE TEMP TABLE fk_guard_000003 (n INTEGER CHECK (n = 0));
INSERT INTO temp.fk_guard_000003
SELECT count(*) FROM pragma_foreign_key_check AS v
WHERE NOT EXISTS (
    SELECT 1 FROM temp.fk_before_000003 AS b
    WHERE b.child_table = v."table" AND b.child_rowid IS v.rowid AND b.parent = v.parent
);
DROP TABLE temp.fk_guard_000003;
DROP TABLE temp.fk_before_000003;

COMMIT;
