-- +goose Up
-- Tasks can have a due date (TEXT, YYYY-MM-DD); existing tasks have none.
ALTER TABLE task ADD COLUMN due_date TEXT;

-- +goose Down
-- LOSSY: due dates set since this migration are deleted.
ALTER TABLE task DROP COLUMN due_date;
