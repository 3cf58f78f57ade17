-- 000004 unique_book_isbn (up)
-- Makes book.isbn unique; double imports are removed first.

DELETE FROM book
WHERE isbn IS NOT NULL
  AND EXISTS (SELECT 1 FROM book AS kept WHERE kept.isbn = book.isbn AND kept.id < book.id);

DROP INDEX book_isbn;
-- migration-writer: ignore MW507 duplicates are removed above
CREATE UNIQUE INDEX book_isbn ON book (isbn);
