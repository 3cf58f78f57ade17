-- 11 drop_item_legacy_code (up)
-- Drops item.legacy_code: the spreadsheet import is gone.

-- migration-writer: ignore MW502 the legacy codes are obsolete
ALTER TABLE item DROP COLUMN legacy_code;
