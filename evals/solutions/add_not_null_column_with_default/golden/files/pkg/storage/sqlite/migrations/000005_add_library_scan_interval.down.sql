-- 000005 add_library_scan_interval (down)
-- Removes library.scan_interval_minutes.
-- LOSSY: intervals users changed since 000005 are deleted; the up gives
-- every library 60 again.

ALTER TABLE library DROP COLUMN scan_interval_minutes;
