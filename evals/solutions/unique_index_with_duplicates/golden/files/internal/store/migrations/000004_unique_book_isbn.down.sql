-- 000004 unique_book_isbn (down)
-- Puts the plain index back.
-- LOSSY: the duplicate ISBNs the up cleared stay NULL; which book held
-- which copy is not recorded anywhere.

DROP INDEX book_isbn;
CREATE INDEX book_isbn ON book (isbn);
