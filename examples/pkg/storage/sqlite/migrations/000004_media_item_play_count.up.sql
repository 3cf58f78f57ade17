-- 000004 media_item_play_count (up)
-- Adds media_item.play_count and an index for "most played" listings.
-- ADD COLUMN with NOT NULL needs a constant default on a table with rows;
-- existing items start at 0.

ALTER TABLE media_item ADD COLUMN play_count INTEGER NOT NULL DEFAULT 0;

CREATE INDEX idx_media_item_play_count ON media_item (play_count);
