"""Schemas and rows the table-rebuild tests share.

SHOP's "user account" is the table to rebuild: a name with a space, a keyword
column, AUTOINCREMENT (with a counter above the largest id), a self-reference,
unique, partial and expression indexes, a trigger; referenced by a CASCADE
child (post) with a CASCADE grandchild (comment) and a SET NULL child
(follow, a rowid table without an id column); a view and another table's
trigger that mention it; and ON DELETE / ON INSERT triggers on the child
that would write to audit if they fired.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Dict, List, Optional

from mwcore import engine

SHOP = """
CREATE TABLE team (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE "user account" (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    email       TEXT NOT NULL UNIQUE,
    "order"     INTEGER DEFAULT 0,
    referrer_id INTEGER REFERENCES "user account" (id) ON DELETE SET NULL,
    nickname    TEXT,
    bio         TEXT,
    team_id     INTEGER,
    score       REAL NOT NULL DEFAULT 1.5 CHECK (score >= 0),
    created_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_user_nick ON "user account" (nickname) WHERE nickname IS NOT NULL;
CREATE INDEX idx_user_lower_email ON "user account" (lower(email));
CREATE UNIQUE INDEX idx_user_order ON "user account" ("order", email);
CREATE TRIGGER trg_user_touch AFTER UPDATE OF email ON "user account"
BEGIN
    UPDATE "user account" SET created_at = 'touched' WHERE id = NEW.id;
END;
CREATE TABLE post (
    id        INTEGER PRIMARY KEY,
    author_id INTEGER NOT NULL REFERENCES "user account" (id) ON DELETE CASCADE,
    title     TEXT NOT NULL
);
CREATE TABLE comment (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES post (id) ON DELETE CASCADE, body TEXT);
CREATE TABLE follow (follower_id INTEGER REFERENCES "user account" (id) ON DELETE SET NULL, note TEXT);
CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT);
CREATE TRIGGER trg_post_deleted AFTER DELETE ON post BEGIN INSERT INTO audit (what) VALUES ('deleted post ' || OLD.id); END;
CREATE TRIGGER trg_post_added AFTER INSERT ON post BEGIN INSERT INTO audit (what) VALUES ('new post ' || NEW.id); END;
CREATE VIEW user_posts AS SELECT u.email, p.title FROM "user account" AS u JOIN post AS p ON p.author_id = u.id;
CREATE VIEW busy_users AS SELECT email FROM user_posts GROUP BY email HAVING count(*) > 1;
CREATE TRIGGER trg_comment_added AFTER INSERT ON comment BEGIN UPDATE "user account" SET bio = bio WHERE id = 0; END;
"""

SHOP_ROWS = """
INSERT INTO team VALUES (1, 'red'), (2, 'blue');
INSERT INTO "user account" (id, email, "order", referrer_id, nickname, bio, team_id, score) VALUES
    (1, 'ann@x.org', 1, NULL, 'ann', 'hi', 1, 2.0),
    (2, 'bob@x.org', 2, 1, NULL, NULL, 2, 3.0),
    (3, 'cy@x.org', 3, 2, 'cy', 'yo', NULL, 0);
INSERT INTO "user account" (id, email) VALUES (10, 'gone@x.org');
DELETE FROM "user account" WHERE id = 10;
INSERT INTO post VALUES (1, 1, 'first'), (2, 2, 'second'), (3, 1, 'third');
INSERT INTO comment VALUES (1, 1, 'nice'), (2, 1, 'meh'), (3, 3, NULL);
INSERT INTO follow VALUES (1, 'a'), (2, 'b'), (NULL, 'c');
DELETE FROM follow WHERE note = 'a';
INSERT INTO follow VALUES (1, 'a again');
"""

USER = "user account"


def database(*scripts: str, foreign_keys: bool = False) -> sqlite3.Connection:
    """A database holding `scripts` (set up directly), on a connection of
    the engine, which runs the migrations under test."""
    setup = sqlite3.connect(":memory:", isolation_level=None)
    for script in scripts:
        setup.executescript(script)
    conn = engine.copy(setup, foreign_keys=foreign_keys)
    setup.close()
    return conn


def copy_of(conn: sqlite3.Connection, foreign_keys: bool) -> sqlite3.Connection:
    """A copy the engine runs migrations on."""
    return engine.copy(conn, foreign_keys=foreign_keys)


def rows(conn: sqlite3.Connection, table: str) -> List[tuple]:
    """Every row with its rowid (where the table has one), sorted."""
    try:
        got = conn.execute(f'SELECT rowid, * FROM "{table}"').fetchall()
    except sqlite3.OperationalError:
        got = conn.execute(f'SELECT * FROM "{table}"').fetchall()
    return sorted(got, key=repr)


@dataclass
class State:
    tables: Dict[str, List[tuple]]
    objects: Dict[str, Optional[str]]  # name -> sql, from sqlite_master
    sequence: Dict[str, int]
    violations: List[tuple]
    integrity: List[str]


def state(conn: sqlite3.Connection) -> State:
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    try:
        sequence = dict(conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
    except sqlite3.OperationalError:
        sequence = {}
    return State(
        tables={n: rows(conn, n) for n in names},
        objects={name: sql for name, sql in conn.execute("SELECT name, sql FROM sqlite_master")},
        sequence=sequence,
        violations=conn.execute("SELECT * FROM pragma_foreign_key_check").fetchall(),
        integrity=[r[0] for r in conn.execute("PRAGMA integrity_check")],
    )
