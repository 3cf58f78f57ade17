-- Adds customer.phone (nullable: existing customers have none yet).
-- Up-only, like every migration here: `migrate down` across 004 moves the
-- version and keeps the column.
ALTER TABLE customer ADD COLUMN phone TEXT;
