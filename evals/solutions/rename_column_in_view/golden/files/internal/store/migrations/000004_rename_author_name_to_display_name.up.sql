-- 000004 rename_author_name_to_display_name (up)
-- Renames author.name to author.display_name.
-- RENAME COLUMN also rewrites the book_list view to select
-- author.display_name, which would rename the view's third column; the
-- nightly export reads it as "name", so the view is recreated with an alias.

ALTER TABLE author RENAME COLUMN name TO display_name;

DROP VIEW book_list;
CREATE VIEW book_list AS
    SELECT book.id, book.title, author.display_name AS name
    FROM book
    JOIN author ON author.id = book.author_id;
