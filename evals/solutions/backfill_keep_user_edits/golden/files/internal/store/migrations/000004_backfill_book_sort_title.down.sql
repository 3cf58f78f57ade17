-- 000004 backfill_book_sort_title (down)
-- Clears the sort titles that still hold exactly what the up computed.
-- LOSSY: a sort title a librarian set to that same value is cleared too;
-- the app then sorts that book by its title, as before 000004.

UPDATE book
SET sort_title = NULL
WHERE sort_title IS lower(CASE
        WHEN title LIKE 'The %' THEN substr(title, 5)
        WHEN title LIKE 'An %' THEN substr(title, 4)
        WHEN title LIKE 'A %' THEN substr(title, 3)
        ELSE title
    END);
