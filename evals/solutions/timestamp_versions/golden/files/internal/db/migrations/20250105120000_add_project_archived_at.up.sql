-- Adds project.archived_at: when the project was archived (UTC timestamp,
-- TEXT). NULL means active, which every existing project is.
ALTER TABLE project ADD COLUMN archived_at TEXT;
