-- 10 drop_item_legacy_code (up)
-- Drops item.legacy_code: the spreadsheet import is gone and nothing reads
-- it. Its index goes first, because SQLite refuses to drop an indexed
-- column.

DROP INDEX item_legacy_code;
-- migration-writer: ignore MW502 the legacy codes are obsolete; the down brings the column back empty
ALTER TABLE item DROP COLUMN legacy_code;
