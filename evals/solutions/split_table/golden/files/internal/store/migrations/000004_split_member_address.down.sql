-- 000004 split_member_address (down)
-- Puts the address columns back on member, copies every address back, and
-- drops member_address. Nothing is lost.

ALTER TABLE member ADD COLUMN street TEXT;
ALTER TABLE member ADD COLUMN city TEXT;
ALTER TABLE member ADD COLUMN postcode TEXT;

UPDATE member
SET street   = (SELECT a.street FROM member_address AS a WHERE a.member_id = member.id),
    city     = (SELECT a.city FROM member_address AS a WHERE a.member_id = member.id),
    postcode = (SELECT a.postcode FROM member_address AS a WHERE a.member_id = member.id)
WHERE EXISTS (SELECT 1 FROM member_address AS a WHERE a.member_id = member.id);

DROP TABLE member_address;
