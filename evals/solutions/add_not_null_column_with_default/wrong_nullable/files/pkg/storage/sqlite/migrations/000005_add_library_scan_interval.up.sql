-- 000005 add_library_scan_interval (up)
-- Adds library.scan_interval_minutes, 60 by default.

ALTER TABLE library ADD COLUMN scan_interval_minutes INTEGER DEFAULT 60;
