"""Precision of verify's verdicts with synthetic rows on.

A chain of clean, realistic migrations (JSON columns read with json_each,
json_extract and json_array_length, CHECK ... IN lists, a json_valid CHECK,
counting triggers, a validation trigger that RAISEs, foreign keys with
CASCADE, a table rebuild that recreates its indexes and triggers, a JSON
backfill into a join table) must verify with no `failed`, `differs` or
`data-dependent` verdict, with foreign keys off and on, and every version's
rows must really have been checked. Each real defect seeded into it must
still be caught, at its version and nowhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest

from mwcore.replay import ReplayOptions, ReplayReport
from mwcore.replay import replay_dir

from conftest import write_files

MEDIA_ITEM = """CREATE TABLE {name} (
    id          INTEGER PRIMARY KEY,
    library_id  INTEGER NOT NULL REFERENCES library (id) ON DELETE CASCADE,
    title       TEXT    NOT NULL,
    tags        TEXT    NOT NULL DEFAULT '[]'{tags_check},
    status      TEXT    NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'scanned', 'failed')),
    play_count  INTEGER NOT NULL DEFAULT 0 CHECK (play_count >= 0),
    tag_count   INTEGER NOT NULL DEFAULT 0
);"""
MEDIA_ITEM_EXTRAS = """CREATE INDEX idx_media_item_library ON media_item (library_id);
CREATE UNIQUE INDEX idx_media_item_title ON media_item (library_id, title);
CREATE TRIGGER media_item_counted AFTER INSERT ON media_item BEGIN
    UPDATE library SET item_count = item_count + 1 WHERE id = NEW.library_id;
END;
CREATE TRIGGER media_item_uncounted AFTER DELETE ON media_item BEGIN
    UPDATE library SET item_count = item_count - 1 WHERE id = OLD.library_id;
END;"""
COPY_MEDIA_ITEM = """INSERT INTO {into} (id, library_id, title, tags, status, play_count, tag_count)
    SELECT id, library_id, title, tags, status, play_count, tag_count FROM media_item;
DROP TABLE media_item;
ALTER TABLE {into} RENAME TO media_item;"""
JSON_ARRAY_CHECK = " CHECK (json_valid(tags) AND json_type(tags) = 'array')"


def rebuild_media_item(tags_check: str, extras: str = MEDIA_ITEM_EXTRAS) -> str:
    return "\n".join([
        "-- Rebuild media_item (the 12 steps inside golang-migrate's transaction).",
        MEDIA_ITEM.format(name="media_item_new", tags_check=tags_check),
        COPY_MEDIA_ITEM.format(into="media_item_new"),
        extras,
    ])


CLEAN: Dict[str, str] = {
    "000001_library.up.sql": """CREATE TABLE library (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL CHECK (kind IN ('movie', 'series', 'music')),
    settings    TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),
    created_at  TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO library (name, kind) VALUES ('Movies', 'movie');
""",
    "000001_library.down.sql": "DROP TABLE library;\n",
    "000002_media_item.up.sql": """CREATE TABLE media_item (
    id          INTEGER PRIMARY KEY,
    library_id  INTEGER NOT NULL REFERENCES library (id) ON DELETE CASCADE,
    title       TEXT    NOT NULL,
    tags        TEXT    NOT NULL DEFAULT '[]',
    status      TEXT    NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'scanned', 'failed')),
    play_count  INTEGER NOT NULL DEFAULT 0 CHECK (play_count >= 0)
);
CREATE INDEX idx_media_item_library ON media_item (library_id);
CREATE UNIQUE INDEX idx_media_item_title ON media_item (library_id, title);
""",
    "000002_media_item.down.sql": "DROP TABLE media_item;\n",
    "000003_item_count.up.sql": """ALTER TABLE library ADD COLUMN item_count INTEGER NOT NULL DEFAULT 0;
UPDATE library SET item_count = (SELECT count(*) FROM media_item WHERE library_id = library.id);
CREATE TRIGGER media_item_counted AFTER INSERT ON media_item BEGIN
    UPDATE library SET item_count = item_count + 1 WHERE id = NEW.library_id;
END;
CREATE TRIGGER media_item_uncounted AFTER DELETE ON media_item BEGIN
    UPDATE library SET item_count = item_count - 1 WHERE id = OLD.library_id;
END;
""",
    "000003_item_count.down.sql": """DROP TRIGGER media_item_uncounted;
DROP TRIGGER media_item_counted;
ALTER TABLE library DROP COLUMN item_count;
""",
    "000004_tag_count.up.sql": """ALTER TABLE media_item ADD COLUMN tag_count INTEGER NOT NULL DEFAULT 0;
UPDATE media_item SET tag_count = json_array_length(tags);
CREATE VIEW library_scan AS
    SELECT id, name, json_extract(settings, '$.scan.interval_minutes') AS scan_interval
    FROM library;
""",
    "000004_tag_count.down.sql": """DROP VIEW library_scan;
ALTER TABLE media_item DROP COLUMN tag_count;
""",
    "000005_tags_are_arrays.up.sql": rebuild_media_item(JSON_ARRAY_CHECK) + "\n",
    "000005_tags_are_arrays.down.sql": rebuild_media_item("") + "\n",
    "000006_playlist.up.sql": """CREATE TABLE playlist (
    id          INTEGER PRIMARY KEY,
    library_id  INTEGER NOT NULL REFERENCES library (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    visibility  TEXT    NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'shared', 'public')),
    rules       TEXT    CHECK (rules IS NULL OR json_valid(rules))
);
CREATE TABLE playlist_item (
    playlist_id    INTEGER NOT NULL REFERENCES playlist (id) ON DELETE CASCADE,
    media_item_id  INTEGER NOT NULL REFERENCES media_item (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL CHECK (position >= 0),
    PRIMARY KEY (playlist_id, position)
);
CREATE INDEX idx_playlist_item_media ON playlist_item (media_item_id);
CREATE TRIGGER playlist_rules_match BEFORE INSERT ON playlist
WHEN NEW.rules IS NOT NULL AND json_extract(NEW.rules, '$.match') IS NULL
BEGIN
    SELECT RAISE(ABORT, 'playlist rules need a match');
END;
INSERT INTO playlist (library_id, name) SELECT id, 'Favourites' FROM library WHERE name = 'Movies';
""",
    "000006_playlist.down.sql": """DROP TABLE playlist_item;
DROP TABLE playlist;
""",
    "000007_tags.up.sql": """CREATE TABLE tag (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);
CREATE TABLE media_item_tag (
    media_item_id  INTEGER NOT NULL REFERENCES media_item (id) ON DELETE CASCADE,
    tag_id         INTEGER NOT NULL REFERENCES tag (id) ON DELETE CASCADE,
    PRIMARY KEY (media_item_id, tag_id)
);
INSERT OR IGNORE INTO tag (name)
    SELECT DISTINCT j.value FROM media_item AS m, json_each(m.tags) AS j WHERE j.type = 'text';
INSERT OR IGNORE INTO media_item_tag (media_item_id, tag_id)
    SELECT m.id, t.id FROM media_item AS m, json_each(m.tags) AS j JOIN tag AS t ON t.name = j.value;
""",
    "000007_tags.down.sql": """DROP TABLE media_item_tag;
DROP TABLE tag;
""",
    "000008_scanned_at.up.sql": """ALTER TABLE library ADD COLUMN scanned_at TEXT;
CREATE INDEX idx_library_scanned_at ON library (scanned_at);
""",
    "000008_scanned_at.down.sql": """DROP INDEX idx_library_scanned_at;
ALTER TABLE library DROP COLUMN scanned_at;
""",
}


def verify(tmp_path: Path, files: Dict[str, str], foreign_keys: bool) -> ReplayReport:
    folder = write_files(tmp_path / "migrations", files)
    return replay_dir(folder, ReplayOptions(foreign_keys=foreign_keys, cross_check=True))


def not_ok(report: ReplayReport) -> Dict[int, Dict[str, str]]:
    """{version: {check: status}} for every check that is not ok."""
    out = {}
    for step in report.steps:
        bad = {c: s for c, s in step.statuses().items() if s != "ok"}
        if bad or step.warnings:
            out[step.version] = bad
    return out


@pytest.mark.parametrize("foreign_keys", [False, True], ids=["fk-off", "fk-on"])
def test_a_clean_realistic_chain_verifies_clean_with_synthetic_rows(tmp_path, foreign_keys):
    report = verify(tmp_path, CLEAN, foreign_keys)
    assert not_ok(report) == {}, [str(p) for s in report.steps for p in s.problems + s.warnings]
    assert report.ok and report.stop is None and report.restores == 0
    # The rows really were there: every table got synthetic rows.
    assert not any("no synthetic row fits" in n for s in report.steps for n in s.notes), \
        [n for s in report.steps for n in s.notes]


def _with(version_file: str, text: str) -> Dict[str, str]:
    return {**CLEAN, version_file: text}


DEFECTS = {
    # The down forgets the index on the column it drops: SQLite refuses the drop.
    "down drops an indexed column": (
        _with("000008_scanned_at.down.sql", "ALTER TABLE library DROP COLUMN scanned_at;\n"),
        8, {"down": "failed"}),
    # The down's rebuild recreates one index but not the other.
    "rebuild loses an index": (
        _with("000005_tags_are_arrays.down.sql",
              rebuild_media_item("", MEDIA_ITEM_EXTRAS.replace(
                  "CREATE UNIQUE INDEX idx_media_item_title ON media_item (library_id, title);\n", "")) + "\n"),
        5, {"roundtrip": "differs"}),
    # Version 6's own data has a playlist with rules NULL; a rebuild makes
    # rules NOT NULL without a default or COALESCE.
    "NOT NULL over the migrations' own NULL rows": (
        {**CLEAN,
         "000009_rules_required.up.sql": (
             "CREATE TABLE playlist_new (id INTEGER PRIMARY KEY, library_id INTEGER NOT NULL REFERENCES library (id) "
             "ON DELETE CASCADE, name TEXT NOT NULL, visibility TEXT NOT NULL DEFAULT 'private', rules TEXT NOT NULL);\n"
             "INSERT INTO playlist_new SELECT id, library_id, name, visibility, rules FROM playlist;\n"
             "DROP TABLE playlist;\nALTER TABLE playlist_new RENAME TO playlist;\n"),
         "000009_rules_required.down.sql": "SELECT 1;\n"},
        9, {"up": "failed"}),
    # Another table's trigger still writes the dropped column (SQLite lets
    # the drop through: the trigger only assigns it, never reads it).
    "drop column a trigger writes": (
        {**CLEAN,
         "000009_last_added.up.sql": "ALTER TABLE library ADD COLUMN last_added_at TEXT;\n"
                                     "CREATE TRIGGER media_item_last_added AFTER INSERT ON media_item BEGIN\n"
                                     "    UPDATE library SET last_added_at = CURRENT_TIMESTAMP WHERE id = NEW.library_id;\n"
                                     "END;\n",
         "000009_last_added.down.sql": "DROP TRIGGER media_item_last_added;\n"
                                       "ALTER TABLE library DROP COLUMN last_added_at;\n",
         "000010_forget_last_added.up.sql": "ALTER TABLE library DROP COLUMN last_added_at;\n",
         "000010_forget_last_added.down.sql": "ALTER TABLE library ADD COLUMN last_added_at TEXT;\n"},
        10, {"integrity": "failed"}),
    # The migration's own row holds text where the chain reads a JSON array.
    "own data that is not JSON": (
        {**CLEAN,
         "000009_trailer.up.sql": "INSERT INTO tag (name) VALUES ('trailer');\n"
                                  "INSERT INTO media_item (library_id, title, tags) "
                                  "SELECT id, 'Trailer', 'trailer' FROM library WHERE name = 'Movies';\n",
         "000009_trailer.down.sql": "DELETE FROM media_item WHERE title = 'Trailer';\nDELETE FROM tag WHERE name = 'trailer';\n"},
        9, {"up": "failed"}),
}


@pytest.mark.parametrize("foreign_keys", [False, True], ids=["fk-off", "fk-on"])
@pytest.mark.parametrize("name", list(DEFECTS))
def test_each_seeded_defect_is_still_caught_at_its_version_and_nowhere_else(tmp_path, name, foreign_keys):
    files, version, expected = DEFECTS[name]
    report = verify(tmp_path, files, foreign_keys)
    found = not_ok(report)
    assert version in found, [str(p) for s in report.steps for p in s.problems]
    assert all(found[version].get(check) == status for check, status in expected.items()), found[version]
    step = next(s for s in report.steps if s.version == version)
    assert step.warnings == [] and "data-dependent" not in step.statuses().values()
    # No other version is blamed (later versions may be skipped after a failed up).
    others = {v: bad for v, bad in found.items() if v != version}
    assert all(set(bad.values()) <= {"skipped"} for bad in others.values()), others


# Columns that only later become foreign keys, or that migrations compare with a parent's key ------------


LIBRARY = {
    "000001_init.up.sql": """CREATE TABLE book (
    id    INTEGER PRIMARY KEY,
    title TEXT NOT NULL
);
CREATE TABLE loan (
    id        INTEGER PRIMARY KEY,
    book_id   INTEGER NOT NULL,
    loaned_at TEXT NOT NULL
);
CREATE INDEX loan_book_id ON loan (book_id);""",
    "000001_init.down.sql": "DROP TABLE loan;\nDROP TABLE book;",
}


def _add_book_foreign_key(tmp_path: Path, foreign_keys: str) -> Path:
    """The folder with the rebuild rebuild_table.py writes for
    `--add-foreign-key book_id book id`."""
    from conftest import run_cli

    folder = write_files(tmp_path / "migrations", LIBRARY)
    proc = run_cli("rebuild_table.py", "loan", "--add-foreign-key", "book_id", "book", "id", "--on-delete", "CASCADE",
                   "--create", "loan_book_foreign_key", "--dir", str(folder), "--foreign-keys", foreign_keys)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "REFERENCES" in (folder / "000002_loan_book_foreign_key.up.sql").read_text()
    return folder


@pytest.mark.parametrize("foreign_keys", [False, True], ids=["fk-off", "fk-on"])
def test_adding_a_foreign_key_to_an_existing_column_verifies_clean(tmp_path, foreign_keys):
    """The synthetic loans point at books that exist: the column is seeded
    as the foreign key it becomes in version 2, not with arbitrary numbers
    that the rebuild's guard (or the integrity check) would call orphans."""
    folder = _add_book_foreign_key(tmp_path, "on" if foreign_keys else "off")
    report = replay_dir(folder, ReplayOptions(foreign_keys=foreign_keys))
    assert report.ok and not_ok(report) == {}, not_ok(report)
    second = report.steps[1]
    assert (second.up, second.data, second.integrity) == ("ok", "ok", "ok") and not second.warnings
    # The rows were really there and really checked: without what the folder
    # teaches about loan.book_id, the same replay blames the migration.
    blind = replay_dir(folder, ReplayOptions(foreign_keys=foreign_keys, key_columns={}))
    assert not blind.ok or blind.steps[1].warnings, not_ok(blind)


@pytest.mark.parametrize("cleanup", [
    "DELETE FROM loan WHERE book_id NOT IN (SELECT id FROM book);",
    "DELETE FROM loan WHERE NOT EXISTS (SELECT 1 FROM book AS b WHERE b.id = loan.book_id);",
    "DELETE FROM loan WHERE id IN (SELECT l.id FROM loan AS l LEFT JOIN book ON book.id = l.book_id WHERE book.id IS NULL);",
], ids=["not-in", "not-exists", "left-join"])
def test_an_orphan_cleanup_keeps_every_synthetic_row(tmp_path, cleanup):
    """A migration that deletes loans whose book is gone deletes no
    synthetic loan: they point at real books."""
    folder = write_files(tmp_path / "migrations", {
        **LIBRARY,
        "000002_orphan_loans.up.sql": "-- loans of deleted books are leftovers of a bug\n" + cleanup,
        "000002_orphan_loans.down.sql": "-- the orphan loans are gone for good\nSELECT 1;",
    })
    report = replay_dir(folder)
    assert report.ok and report.steps[1].data == "ok", not_ok(report)
    blind = replay_dir(folder, ReplayOptions(key_columns={}))
    assert blind.steps[1].data == "failed"  # arbitrary book ids: every loan deleted


def test_a_real_orphan_in_the_users_database_is_still_named(tmp_path):
    """What the synthetic rows no longer do, --db does: an orphan loan in a
    real database breaks the added foreign key, and verify says which row."""
    import sqlite3

    from conftest import run_json

    folder = _add_book_foreign_key(tmp_path, "off")
    db = tmp_path / "app.db"
    conn = sqlite3.connect(str(db))
    conn.executescript(LIBRARY["000001_init.up.sql"] + """
        CREATE TABLE schema_migrations (version uint64, dirty bool);
        INSERT INTO schema_migrations VALUES (1, 0);
        INSERT INTO book (id, title) VALUES (1, 'Dune');
        INSERT INTO loan (id, book_id, loaned_at) VALUES (10, 1, '2024-01-01'), (11, 99, '2024-01-02');""")
    conn.commit()
    conn.close()
    code, out = run_json("verify_migrations.py", "--dir", str(folder), "--db", str(db), "--foreign-keys", "off")
    step = out["steps"][0]
    assert code == 1 and step["version"] == 2 and step["up"] == "failed", out
    (check,) = [c for c in step["prechecks"] if c["check"] == "foreign-key"]
    assert check["count"] == 1 and "99" in str(check["sample"]), check


# A down that re-adds a column the up moved elsewhere must bring the values back ------------------------


MEMBERS = {
    "000001_member.up.sql": """CREATE TABLE member (
    id       INTEGER PRIMARY KEY,
    name     TEXT NOT NULL,
    city     TEXT,
    postcode TEXT
);""",
    "000001_member.down.sql": "DROP TABLE member;",
    "000002_split_address.up.sql": """CREATE TABLE member_address (
    member_id INTEGER PRIMARY KEY REFERENCES member (id) ON DELETE CASCADE,
    city      TEXT,
    postcode  TEXT
);
INSERT INTO member_address (member_id, city, postcode)
    SELECT id, city, postcode FROM member WHERE city IS NOT NULL OR postcode IS NOT NULL;
ALTER TABLE member DROP COLUMN city;
ALTER TABLE member DROP COLUMN postcode;""",
}
COPY_BACK = """ALTER TABLE member ADD COLUMN city TEXT;
ALTER TABLE member ADD COLUMN postcode TEXT;
UPDATE member
SET city     = (SELECT a.city FROM member_address AS a WHERE a.member_id = member.id),
    postcode = (SELECT a.postcode FROM member_address AS a WHERE a.member_id = member.id);
DROP TABLE member_address;"""
EMPTY_BACK = """ALTER TABLE member ADD COLUMN city TEXT;
ALTER TABLE member ADD COLUMN postcode TEXT;
DROP TABLE member_address;"""


def test_a_split_whose_down_copies_the_values_back_verifies_clean(tmp_path):
    folder = write_files(tmp_path / "m", {**MEMBERS, "000002_split_address.down.sql": COPY_BACK})
    report = replay_dir(folder)
    assert report.ok and report.steps[1].data == "ok", not_ok(report)
    assert not any("cannot bring them back" in n for n in report.steps[1].notes)  # moved, not destroyed


def test_a_split_whose_down_recreates_the_columns_empty_fails_the_data_check(tmp_path):
    folder = write_files(tmp_path / "m", {**MEMBERS, "000002_split_address.down.sql": EMPTY_BACK})
    report = replay_dir(folder)
    second = report.steps[1]
    assert not report.ok and (second.down, second.roundtrip, second.data) == ("ok", "ok", "failed")
    (problem,) = [p for p in second.problems if p.check == "data"]
    assert problem.file == "000002_split_address.down.sql"
    assert "back without the values the up moved to member_address.city, member_address.postcode" in problem.message
    assert "must also copy the values back" in problem.message


def test_a_column_dropped_for_good_is_a_note_whatever_the_down_does(tmp_path):
    """Values the up destroys (copied nowhere) cannot come back: the down
    that re-adds the column empty is right, and verify says what is lost."""
    folder = write_files(tmp_path / "m", {
        "000001_member.up.sql": MEMBERS["000001_member.up.sql"],
        "000001_member.down.sql": "DROP TABLE member;",
        "000002_drop_postcode.up.sql": "ALTER TABLE member DROP COLUMN postcode;",
        "000002_drop_postcode.down.sql": "ALTER TABLE member ADD COLUMN postcode TEXT;",
    })
    report = replay_dir(folder)
    assert report.ok, not_ok(report)
    assert any("drops member.postcode and the values in it" in n for n in report.steps[1].notes)
