-- 11 drop_item_legacy_code (down)
-- Brings item.legacy_code back (empty).

ALTER TABLE item ADD COLUMN legacy_code TEXT;
