-- Removes project.archived_at.
-- LOSSY: archive dates set since this migration are deleted; archived
-- projects show as active again.
ALTER TABLE project DROP COLUMN archived_at;
