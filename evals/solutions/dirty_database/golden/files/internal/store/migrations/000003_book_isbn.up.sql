-- 000003 book_isbn (up)
-- ISBNs for the catalogue, indexed for the scanner at the desk.
ALTER TABLE book ADD COLUMN isbn TEXT;
CREATE INDEX book_isbn_idx ON book (isbn);
