-- 000004 unique_book_isbn (up)
-- Makes book.isbn unique. Databases with double imports hold the same ISBN
-- on several books: as agreed, the book with the lowest id keeps it and the
-- others get NULL (NULLs never collide in a UNIQUE index). No book is
-- deleted. The plain index book_isbn is replaced by a unique one.

UPDATE book SET isbn = NULL
WHERE isbn IS NOT NULL
  AND EXISTS (SELECT 1 FROM book AS kept WHERE kept.isbn = book.isbn AND kept.id < book.id);

DROP INDEX book_isbn;
-- migration-writer: ignore MW507 the UPDATE above clears every duplicate first
CREATE UNIQUE INDEX book_isbn ON book (isbn);
