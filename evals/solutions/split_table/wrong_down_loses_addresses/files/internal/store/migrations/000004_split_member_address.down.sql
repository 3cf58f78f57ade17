-- 000004 split_member_address (down)
-- Puts the address columns back on member and drops member_address.

ALTER TABLE member ADD COLUMN street TEXT;
ALTER TABLE member ADD COLUMN city TEXT;
ALTER TABLE member ADD COLUMN postcode TEXT;

DROP TABLE member_address;
