-- 000004 loan_book_foreign_key (up)
-- Makes loan.book_id a foreign key to book(id), ON DELETE CASCADE, after
-- deleting the loans whose book is gone.

DELETE FROM loan WHERE book_id NOT IN (SELECT id FROM book);

ALTER TABLE loan RENAME TO loan_old;

CREATE TABLE loan (
    id          INTEGER PRIMARY KEY,
    book_id     INTEGER NOT NULL REFERENCES book (id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL REFERENCES member (id),
    loaned_at   TEXT NOT NULL,
    returned_at TEXT
);

INSERT INTO loan (id, book_id, member_id, loaned_at, returned_at)
SELECT id, book_id, member_id, loaned_at, returned_at
FROM loan_old;

DROP TABLE loan_old;
