-- 000005 add_library_scan_interval (up)
-- Adds library.scan_interval_minutes and fills it with 60.

ALTER TABLE library ADD COLUMN scan_interval_minutes INTEGER NOT NULL;
UPDATE library SET scan_interval_minutes = 60 WHERE scan_interval_minutes IS NULL;
