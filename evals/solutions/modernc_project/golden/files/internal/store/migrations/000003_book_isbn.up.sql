-- 000003 book_isbn (up)
-- Adds book.isbn (nullable: books in the catalogue have none yet) and an
-- index for lookups by ISBN.
ALTER TABLE book ADD COLUMN isbn TEXT;
CREATE INDEX book_isbn_idx ON book (isbn);
