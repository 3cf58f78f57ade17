-- 000004 rename_author_name_to_display_name (down)
ALTER TABLE author RENAME COLUMN display_name TO name;
