-- 000004 backfill_book_sort_title (up)
-- Fills book.sort_title: the title in lower case, without a leading
-- article.

UPDATE book
SET sort_title = lower(CASE
        WHEN title LIKE 'The %' THEN substr(title, 5)
        WHEN title LIKE 'An %' THEN substr(title, 4)
        WHEN title LIKE 'A %' THEN substr(title, 3)
        ELSE title
    END);
