-- 000003 book_isbn (down)
-- Removes the index, then the column (SQLite refuses to drop an indexed
-- column).
-- LOSSY: ISBNs entered since 000003 are deleted.
DROP INDEX book_isbn_idx;
ALTER TABLE book DROP COLUMN isbn;
