-- 10 drop_item_legacy_code (down)
-- Brings item.legacy_code and its index back, as 8 created them.
-- LOSSY: the codes themselves are gone; every item gets NULL.

ALTER TABLE item ADD COLUMN legacy_code TEXT;
CREATE INDEX item_legacy_code ON item (legacy_code);
