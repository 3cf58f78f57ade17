-- 000003 nullable_author_name (up)
-- Makes author.name nullable. Foreign keys are switched off around the
-- rebuild so dropping author does not touch the books.

PRAGMA foreign_keys = OFF;

CREATE TABLE author_next (
    id   INTEGER PRIMARY KEY,
    name TEXT
);
INSERT INTO author_next (id, name) SELECT id, name FROM author;
DROP TABLE author;
ALTER TABLE author_next RENAME TO author;

PRAGMA foreign_keys = ON;
