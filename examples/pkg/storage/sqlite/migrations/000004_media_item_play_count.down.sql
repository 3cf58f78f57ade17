-- 000004 media_item_play_count (down)
-- Removes media_item.play_count. The index must go first: SQLite refuses
-- DROP COLUMN on an indexed column. Rows are kept; the play counts are lost
-- (version 3 has nowhere to store them).

DROP INDEX idx_media_item_play_count;

ALTER TABLE media_item DROP COLUMN play_count;
