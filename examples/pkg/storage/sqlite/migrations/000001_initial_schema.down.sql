-- 000001 initial_schema (down)
-- Drops the whole base schema, children before parents. Indexes and
-- triggers go with their tables. This deletes every row: it is only meant
-- for resetting a database, never for a rollback that must keep data.

DROP TABLE transcode_job;
DROP TABLE media_item;
DROP TABLE library;
DROP TABLE encoding_preset;
