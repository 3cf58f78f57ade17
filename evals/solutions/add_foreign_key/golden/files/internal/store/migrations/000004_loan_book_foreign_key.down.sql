-- 000004 loan_book_foreign_key (down)
-- Removes the foreign key from loan.book_id by the same rebuild.
-- LOSSY: the orphan loans the up deleted do not come back.

CREATE TEMP TABLE fk_before_000004 AS
    SELECT "table" AS child_table, rowid AS child_rowid, parent
    FROM pragma_foreign_key_check;

CREATE TABLE loan_next (
    id          INTEGER PRIMARY KEY,
    book_id     INTEGER NOT NULL,
    member_id   INTEGER NOT NULL REFERENCES member (id),
    loaned_at   TEXT NOT NULL,
    returned_at TEXT
);

INSERT INTO loan_next (id, book_id, member_id, loaned_at, returned_at)
SELECT id, book_id, member_id, loaned_at, returned_at
FROM loan;

DROP TABLE loan;

ALTER TABLE loan_next RENAME TO loan;

CREATE INDEX loan_book_id ON loan (book_id);
-- The desk only ever lists loans still out.
CREATE INDEX loan_open ON loan (member_id) WHERE returned_at IS NULL;

CREATE TEMP TABLE fk_guard_000004 (n INTEGER CHECK (n = 0));
INSERT INTO temp.fk_guard_000004
SELECT count(*) FROM pragma_foreign_key_check AS v
WHERE NOT EXISTS (
    SELECT 1 FROM temp.fk_before_000004 AS b
    WHERE b.child_table = v."table" AND b.child_rowid IS v.rowid AND b.parent = v.parent
);
DROP TABLE temp.fk_guard_000004;
DROP TABLE temp.fk_before_000004;
