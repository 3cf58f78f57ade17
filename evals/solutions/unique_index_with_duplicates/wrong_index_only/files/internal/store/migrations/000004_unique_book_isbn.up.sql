-- 000004 unique_book_isbn (up)
-- Makes book.isbn unique.

DROP INDEX book_isbn;
CREATE UNIQUE INDEX book_isbn ON book (isbn);
