-- 000004 book_pages_integer (up)
-- Changes book.pages from TEXT to INTEGER. ALTER TABLE cannot change a
-- type, so book is rebuilt: created under a temporary name, filled, swapped
-- into place, its two indexes and the book_list view recreated. No table
-- references book, and the app does not enforce foreign keys; the guard
-- fails the file on any new dangling reference anyway.

CREATE TEMP TABLE fk_before_000004 AS
    SELECT "table" AS child_table, rowid AS child_rowid, parent
    FROM pragma_foreign_key_check;

-- book_list reads book: the RENAME below re-checks every view and fails
-- while book is missing, so the view goes first and comes back last.
DROP VIEW book_list;

CREATE TABLE book_next (
    id         INTEGER PRIMARY KEY,
    author_id  INTEGER NOT NULL REFERENCES author (id),
    title      TEXT NOT NULL,
    isbn       TEXT,
    pages      INTEGER,
    added_at   TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    sort_title TEXT
);

-- INTEGER affinity turns '184' into 184; text that is not a number stays as it is.
INSERT INTO book_next (id, author_id, title, isbn, pages, added_at, sort_title)
SELECT id, author_id, title, isbn, pages, added_at, sort_title
FROM book;

DROP TABLE book;

ALTER TABLE book_next RENAME TO book;

CREATE INDEX book_author_id ON book (author_id);
CREATE INDEX book_isbn ON book (isbn);

CREATE VIEW book_list AS
    SELECT book.id, book.title, author.name
    FROM book
    JOIN author ON author.id = book.author_id;

CREATE TEMP TABLE fk_guard_000004 (n INTEGER CHECK (n = 0));
INSERT INTO temp.fk_guard_000004
SELECT count(*) FROM pragma_foreign_key_check AS v
WHERE NOT EXISTS (
    SELECT 1 FROM temp.fk_before_000004 AS b
    WHERE b.child_table = v."table" AND b.child_rowid IS v.rowid AND b.parent = v.parent
);
DROP TABLE temp.fk_guard_000004;
DROP TABLE temp.fk_before_000004;
