-- 000004 rename_author_name_to_display_name (down)
-- Renames author.display_name back to name and restores book_list exactly
-- as 000001 created it.

DROP VIEW book_list;

ALTER TABLE author RENAME COLUMN display_name TO name;

CREATE VIEW book_list AS
    SELECT book.id, book.title, author.name
    FROM book
    JOIN author ON author.id = book.author_id;
