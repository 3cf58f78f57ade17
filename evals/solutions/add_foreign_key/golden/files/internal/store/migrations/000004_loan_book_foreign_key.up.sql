-- 000004 loan_book_foreign_key (up)
-- Makes loan.book_id a foreign key to book(id), ON DELETE CASCADE. Loans
-- whose book no longer exists are leftovers of a bug: they are deleted
-- first, as agreed. A foreign key cannot be added with ALTER TABLE, so loan
-- is rebuilt: created under a temporary name, filled, swapped into place,
-- its two indexes recreated. No table references loan. The guard fails the
-- file if any loan is left pointing at a missing book or member that was
-- not already doing so.

CREATE TEMP TABLE fk_before_000004 AS
    SELECT "table" AS child_table, rowid AS child_rowid, parent
    FROM pragma_foreign_key_check;

DELETE FROM loan WHERE NOT EXISTS (SELECT 1 FROM book WHERE book.id = loan.book_id);

CREATE TABLE loan_next (
    id          INTEGER PRIMARY KEY,
    book_id     INTEGER NOT NULL REFERENCES book (id) ON DELETE CASCADE,
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
