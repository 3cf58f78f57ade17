"""Correct migrations of the kinds real projects write produce no finding:
few false alarms is part of the contract."""

from __future__ import annotations

import pytest

from lintkit import lint_files

INIT = {
    "000001_init.up.sql": (
        "CREATE TABLE users (\n    id INTEGER PRIMARY KEY AUTOINCREMENT,\n    email TEXT NOT NULL UNIQUE,\n"
        "    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n"
        "CREATE INDEX idx_users_created ON users (created_at);\n"
        "CREATE TABLE posts (\n    id INTEGER PRIMARY KEY,\n    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,\n"
        "    body TEXT\n);\n"
        "INSERT INTO users (email) VALUES ('admin@example.com');\n"
    ),
    "000001_init.down.sql": "DROP TABLE posts;\nDROP TABLE users;\n",
}

GOOD = [
    ("rename a column", "ALTER TABLE posts RENAME COLUMN body TO content;\n",
     "ALTER TABLE posts RENAME COLUMN content TO body;\n", []),
    ("add a column, backfill it, index it", (
        "ALTER TABLE users ADD COLUMN display_name TEXT;\n"
        "UPDATE users SET display_name = substr(email, 1, instr(email, '@') - 1) WHERE display_name IS NULL;\n"
        "CREATE INDEX idx_users_display_name ON users (display_name);\n"),
     "DROP INDEX idx_users_display_name;\nALTER TABLE users DROP COLUMN display_name;\n", []),
    ("NOT NULL column with a constant default", "ALTER TABLE posts ADD COLUMN title TEXT NOT NULL DEFAULT '';\n",
     "ALTER TABLE posts DROP COLUMN title;\n", []),
    ("IF NOT EXISTS / IF EXISTS on indexes", "CREATE INDEX IF NOT EXISTS idx_posts_user ON posts (user_id);\n",
     "DROP INDEX IF EXISTS idx_posts_user;\n", []),
    ("a view and a trigger", (
        "CREATE VIEW post_counts AS SELECT user_id, count(*) AS n FROM posts GROUP BY user_id;\n"
        "CREATE TRIGGER trg_posts_body AFTER UPDATE OF body ON posts\nBEGIN\n"
        "    UPDATE posts SET body = trim(NEW.body) WHERE id = NEW.id AND NEW.body <> trim(NEW.body);\nEND;\n"),
     "DROP TRIGGER trg_posts_body;\nDROP VIEW post_counts;\n", []),
    ("rebuild of a child table with enforcement on", (
        "CREATE TABLE posts_new (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
        " body TEXT NOT NULL DEFAULT '');\n"
        "INSERT INTO posts_new (id, user_id, body) SELECT id, user_id, coalesce(body, '') FROM posts;\n"
        "DROP TABLE posts;\nALTER TABLE posts_new RENAME TO posts;\n"),
     ("CREATE TABLE posts_old (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
      " body TEXT);\n"
      "INSERT INTO posts_old (id, user_id, body) SELECT id, user_id, body FROM posts;\n"
      "DROP TABLE posts;\nALTER TABLE posts_old RENAME TO posts;\n"), ["--foreign-keys", "on"]),
    ("rebuild with legacy_alter_table around the rename of a table a view reads", (
        "CREATE VIEW recent_users AS SELECT id, email FROM users WHERE created_at > '2024-01-01';\n"
        "CREATE TABLE users_new (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL UNIQUE COLLATE NOCASE,"
        " created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);\n"
        "INSERT INTO users_new (id, email, created_at) SELECT id, email, created_at FROM users;\n"
        "DROP TABLE users;\nPRAGMA legacy_alter_table = ON;\nALTER TABLE users_new RENAME TO users;\n"
        "PRAGMA legacy_alter_table = OFF;\nCREATE INDEX idx_users_created ON users (created_at);\n"),
     ("DROP VIEW recent_users;\n"
      "CREATE TABLE users_old (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL UNIQUE,"
      " created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);\n"
      "INSERT INTO users_old (id, email, created_at) SELECT id, email, created_at FROM users;\n"
      "DROP TABLE users;\nALTER TABLE users_old RENAME TO users;\nCREATE INDEX idx_users_created ON users (created_at);\n"), []),
    ("data fix that only touches the rows it means", "UPDATE users SET email = lower(email) WHERE email <> lower(email);\n",
     "-- lower-casing cannot be undone; nothing to do\nSELECT 1;\n", []),
    ("seed rows and delete exactly them", "INSERT INTO users (id, email) VALUES (100, 'bot@example.com');\n",
     "DELETE FROM users WHERE id = 100;\n", []),
    ("full-text search table", "CREATE VIRTUAL TABLE posts_fts USING fts5(body, content='posts', content_rowid='id');\n",
     "DROP TABLE posts_fts;\n", []),
    ("move a column's data to a new table, then drop it", (
        "CREATE TABLE post_bodies (post_id INTEGER PRIMARY KEY REFERENCES posts (id), body TEXT);\n"
        "INSERT INTO post_bodies (post_id, body) SELECT id, body FROM posts WHERE body IS NOT NULL;\n"
        "ALTER TABLE posts DROP COLUMN body;\n"),
     ("ALTER TABLE posts ADD COLUMN body TEXT;\n"
      "UPDATE posts SET body = (SELECT b.body FROM post_bodies AS b WHERE b.post_id = posts.id) "
      "WHERE id IN (SELECT post_id FROM post_bodies);\nDROP TABLE post_bodies;\n"), []),
    # Rules that judge what rows would do (MW306, MW307, MW506, MW507): the
    # correct forms of the same changes.
    ("a VIRTUAL generated column on a table with rows",
     "ALTER TABLE users ADD COLUMN email_domain TEXT GENERATED ALWAYS AS (substr(email, instr(email, '@') + 1)) VIRTUAL;\n",
     "ALTER TABLE users DROP COLUMN email_domain;\n", []),
    ("a STORED generated column on a table this file creates", (
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
        "ALTER TABLE tags ADD COLUMN slug TEXT GENERATED ALWAYS AS (lower(name)) STORED;\n"),
     "DROP TABLE tags;\n", []),
    ("drop a column the other table's trigger no longer writes", (
        "CREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT, extra TEXT);\n"
        "CREATE TRIGGER trg_posts_audit AFTER INSERT ON posts\nBEGIN\n"
        "    INSERT INTO audit (note, extra) VALUES (NEW.body, 'x');\nEND;\n"
        "DROP TRIGGER trg_posts_audit;\n"
        "ALTER TABLE audit DROP COLUMN extra;\n"
        "CREATE TRIGGER trg_posts_audit AFTER INSERT ON posts\nBEGIN\n"
        "    INSERT INTO audit (note) VALUES (NEW.body);\nEND;\n"),
     "DROP TRIGGER trg_posts_audit;\nDROP TABLE audit;\n", []),
    ("drop a column when another table's trigger writes only other columns", (
        "CREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT, extra TEXT);\n"
        "CREATE TRIGGER trg_posts_audit AFTER INSERT ON posts\nBEGIN\n"
        "    INSERT INTO audit (note) VALUES (NEW.body);\n    UPDATE audit SET note = trim(note) WHERE id = 1;\nEND;\n"
        "ALTER TABLE audit DROP COLUMN extra;\n"),
     "DROP TRIGGER trg_posts_audit;\nDROP TABLE audit;\n", []),
    ("rebuild to NOT NULL after giving the NULL rows a value", (
        "UPDATE posts SET body = '' WHERE body IS NULL;\n"
        "CREATE TABLE posts_new (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
        " body TEXT NOT NULL);\n"
        "INSERT INTO posts_new (id, user_id, body) SELECT id, user_id, body FROM posts;\n"
        "DROP TABLE posts;\nALTER TABLE posts_new RENAME TO posts;\n"),
     ("CREATE TABLE posts_old (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
      " body TEXT);\n"
      "INSERT INTO posts_old (id, user_id, body) SELECT id, user_id, body FROM posts;\n"
      "DROP TABLE posts;\nALTER TABLE posts_old RENAME TO posts;\n"), []),
    ("a unique index the table's UNIQUE column already implies",
     "CREATE UNIQUE INDEX idx_users_email_created ON users (email, created_at);\n",
     "DROP INDEX idx_users_email_created;\n", []),
    ("a unique index on a table this file creates", (
        "CREATE TABLE slugs (id INTEGER PRIMARY KEY, slug TEXT NOT NULL);\n"
        "CREATE UNIQUE INDEX idx_slugs_slug ON slugs (slug);\n"),
     "DROP TABLE slugs;\n", []),
]


@pytest.mark.parametrize("up,down,args", [g[1:] for g in GOOD], ids=[g[0] for g in GOOD])
def test_correct_migration_has_no_finding(tmp_path, up, down, args):
    files = {**INIT, "000002_change.up.sql": up, "000002_change.down.sql": down}
    result = lint_files(tmp_path, files, *args)
    assert [(f.file, f.line, f.code, f.message) for f in result.findings] == []
