-- 000005 add_media_item_last_played_at (up)
-- Adds media_item.last_played_at: when the player last played the item, as
-- a UTC timestamp in TEXT. NULL means never played, which is what every
-- existing item gets; ADD COLUMN with no default needs no rebuild.

ALTER TABLE media_item ADD COLUMN last_played_at TEXT;
