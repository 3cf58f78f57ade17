-- 000005 add_media_item_last_played_at (down)
-- Removes media_item.last_played_at.
-- LOSSY: every play time recorded since 000005 is deleted; running the up
-- again brings the column back empty.

ALTER TABLE media_item DROP COLUMN last_played_at;
