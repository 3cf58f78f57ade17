-- 000004 rename_author_name_to_display_name (down)
-- Renames author.display_name back to name (the view follows).
ALTER TABLE author RENAME COLUMN display_name TO name;
