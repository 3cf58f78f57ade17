-- migration-writer: ignore MW502 every address value is copied into member_address before its column is dropped

-- 000004 split_member_address (up)
-- Moves the postal address out of member into member_address (one row per
-- member that has any part of an address), then drops the three columns
-- from member. No index, view or trigger uses them.

CREATE TABLE member_address (
    member_id INTEGER PRIMARY KEY REFERENCES member (id) ON DELETE CASCADE,
    street    TEXT,
    city      TEXT,
    postcode  TEXT
);

INSERT INTO member_address (member_id, street, city, postcode)
SELECT id, street, city, postcode
FROM member
WHERE street IS NOT NULL OR city IS NOT NULL OR postcode IS NOT NULL;

ALTER TABLE member DROP COLUMN street;
ALTER TABLE member DROP COLUMN city;
ALTER TABLE member DROP COLUMN postcode;
