-- 000004 book_pages_integer (up)
-- book with pages as INTEGER.

CREATE TABLE IF NOT EXISTS book (
    id         INTEGER PRIMARY KEY,
    author_id  INTEGER NOT NULL REFERENCES author (id),
    title      TEXT NOT NULL,
    isbn       TEXT,
    pages      INTEGER,
    added_at   TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    sort_title TEXT
);
