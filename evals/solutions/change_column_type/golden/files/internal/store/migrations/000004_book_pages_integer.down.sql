-- 000004 book_pages_integer (down)
-- Changes book.pages back to TEXT by the same rebuild. Nothing is lost:
-- TEXT affinity turns 184 back into '184'.

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
    pages      TEXT,
    added_at   TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    sort_title TEXT
);

-- TEXT affinity turns 184 back into '184'.
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
