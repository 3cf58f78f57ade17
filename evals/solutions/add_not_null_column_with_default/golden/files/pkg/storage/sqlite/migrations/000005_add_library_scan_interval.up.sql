-- 000005 add_library_scan_interval (up)
-- Adds library.scan_interval_minutes: how often the library is rescanned.
-- ADD COLUMN ... NOT NULL needs a constant default on a table with rows:
-- every existing library gets 60, and so does every new one that does not
-- say otherwise.

ALTER TABLE library ADD COLUMN scan_interval_minutes INTEGER NOT NULL DEFAULT 60;
