-- 000004 rename_author_name_to_display_name (up)
ALTER TABLE author RENAME COLUMN name TO display_name;
