"""Synthetic rows respect the schema and how the migrations use it: JSON of
the shape the SQL reads where it reads JSON, foreign keys that point at real
parent rows (or NULL) whatever the enforcement, values that pass CHECKs."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mwcore.jsonuse import json_uses, learn_json_columns, parse_path, sample_json
from mwcore.replay import ReplayOptions, replay_dir
from mwcore.rows import seed_rows
from mwcore.engine import run_script
from mwcore.engine import scratch as connect

from conftest import write_files

# -- what the migrations read as JSON ---------------------------------------------------


@pytest.mark.parametrize("path,steps", [
    ("$", []), ("$.a", ["a"]), ("$.a.b", ["a", "b"]), ('$."a b".c', ["a b", "c"]), ("$[0]", [None]),
    ("$.items[#-1].id", ["items", None, "id"]), ("a.b", None), ("$.a[", None),
])
def test_json_paths_are_read_as_sqlite_reads_them(path, steps):
    assert parse_path(path) == steps


SCHEMA = ("CREATE TABLE post (id INTEGER PRIMARY KEY, data TEXT, tags TEXT, extra TEXT);\n"
          "CREATE TABLE note (id INTEGER PRIMARY KEY, post_id INTEGER, data TEXT);\n"
          "CREATE TABLE label (name TEXT);\n")


@pytest.mark.parametrize("statement,expected", [
    ("INSERT INTO label SELECT value FROM post, json_each(post.tags);", {("post", "tags"): "array"}),
    ("SELECT json_extract(data, '$.title') FROM post;", {("post", "data"): "object with title"}),
    ("SELECT p.data ->> '$.a.b', p.extra -> 'k' FROM post AS p;",
     {("post", "data"): "object with a", ("post", "extra"): "object with k"}),
    ("SELECT json_array_length(tags), json_type(extra, '$.x') FROM post;",
     {("post", "tags"): "array", ("post", "extra"): "object with x"}),
    ("INSERT INTO label SELECT json_extract(j.value, '$.name') FROM post AS p, json_each(p.data, '$.authors') AS j;",
     {("post", "data"): "object with authors"}),
    ("UPDATE post SET data = json_set(data, '$.meta.seen', 1) WHERE id = 1;", {("post", "data"): "object with meta"}),
    # Two tables have a `data` column: SQLite resolves the alias, the note's data is read.
    ("SELECT json_extract(n.data, '$.body') FROM post JOIN note AS n ON n.post_id = post.id;",
     {("note", "data"): "object with body"}),
    ("SELECT json_extract(data, '$.body') FROM note WHERE post_id IN (SELECT id FROM post);",
     {("note", "data"): "object with body"}),
    # Not resolved when prepared: a trigger body (NEW), an expression index, a CHECK.
    ("CREATE TRIGGER t AFTER INSERT ON post BEGIN INSERT INTO label SELECT value FROM json_each(NEW.tags); END;",
     {("post", "tags"): "array"}),
    ("CREATE INDEX post_title ON post (json_extract(data, '$.title'));", {("post", "data"): "object with title"}),
    ("CREATE TABLE doc (id INTEGER PRIMARY KEY, body TEXT CHECK (json_valid(body)));", {("doc", "body"): "value"}),
    ("SELECT data, length(tags) FROM post;", {}),
])
def test_the_columns_a_statement_reads_as_json_are_found(statement, expected):
    found = learn_json_columns([("up", SCHEMA), ("up", statement)])
    assert {key: shape.describe() for key, shape in found.items()} == expected


def test_downs_are_learned_from_without_keeping_their_changes():
    found = learn_json_columns([
        ("up", SCHEMA), ("down", "DROP TABLE post;"),
        ("up", "ALTER TABLE post ADD COLUMN theme TEXT;"),
        ("down", "UPDATE post SET data = json_set(data, '$.ui.theme', theme);\nALTER TABLE post DROP COLUMN theme;"),
        ("up", "SELECT json_extract(theme, '$.x') FROM post;"),  # theme is still there: the down was rolled back
    ])
    assert set(found) == {("post", "data"), ("post", "theme")}


def test_a_chain_without_json_is_not_run_again():
    assert learn_json_columns([("up", "CREATE TABLE t (x);"), ("up", "INSERT INTO t VALUES (json_object());")]) == {}
    assert json_uses("SELECT 1") == []


@pytest.mark.parametrize("statement", [
    "INSERT INTO label SELECT value FROM post, json_each(post.tags);",
    "INSERT INTO label SELECT j.value ->> '$.name' FROM post AS p, json_each(p.data, '$.authors') AS j;",
    "INSERT INTO label SELECT json_extract(j.value, '$.name') FROM post AS p, json_each(p.data, '$.authors') AS j;",
    "UPDATE post SET extra = json_extract(data, '$.a.b') WHERE data ->> '$.a.b' IS NOT NULL;",
    "SELECT sum(json_array_length(tags)) FROM post;",
    "INSERT INTO label SELECT t.value FROM post, json_tree(post.data) AS t;",
])
def test_seeded_rows_are_json_the_statement_can_read(statement):
    conn = connect()
    run_script(conn, SCHEMA)
    plain = seed_rows(conn, ["post"])
    assert plain.inserted["post"].rows
    malformed = run_script(conn, statement)  # plain text where JSON is read: what the replay used to report
    conn.execute("DELETE FROM post")
    seed_rows(conn, ["post"], json_columns=learn_json_columns([("up", SCHEMA), ("up", statement)]))
    result = run_script(conn, statement)
    assert result.ok, result.error
    if "json_tree" not in statement:
        assert not malformed.ok and "malformed JSON" in malformed.error


def test_columns_named_json_or_typed_json_get_json_and_shapes_give_their_keys():
    conn = connect()
    run_script(conn, "CREATE TABLE t (id INTEGER PRIMARY KEY, meta_json TEXT NOT NULL, doc JSON, other TEXT);")
    rows = seed_rows(conn, ["t"]).inserted["t"].rows
    for _id, meta, doc, other in rows:
        assert isinstance(json.loads(meta), dict) and isinstance(json.loads(doc), dict)
        with pytest.raises(ValueError):
            json.loads(other)
    shape = learn_json_columns([("up", SCHEMA), ("up", "SELECT json_extract(data, '$.a.b', '$.c[0]') FROM post;")])
    assert json.loads(sample_json(shape[("post", "data")], 5)) == {"a": {"b": "5"}, "c": ["5"]}


# -- foreign keys -------------------------------------------------------------------------


FOREIGN_KEY_SCHEMAS = {
    "implicit text primary key": (
        "CREATE TABLE country (code TEXT PRIMARY KEY, name TEXT NOT NULL);"
        "CREATE TABLE city (id INTEGER PRIMARY KEY, country_code TEXT NOT NULL REFERENCES country, name TEXT);"),
    "composite key": (
        "CREATE TABLE shelf (room TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (room, n));"
        "CREATE TABLE book (id INTEGER PRIMARY KEY, room TEXT, n INTEGER, FOREIGN KEY (room, n) REFERENCES shelf (room, n));"),
    "composite key with NULLs in the parent": (
        "CREATE TABLE shelf (room TEXT, n INTEGER, UNIQUE (room, n));"
        "INSERT INTO shelf VALUES ('a', NULL), (NULL, 2), ('c', 3);"
        "CREATE TABLE book (id INTEGER PRIMARY KEY, room TEXT NOT NULL, n INTEGER NOT NULL,"
        " FOREIGN KEY (room, n) REFERENCES shelf (room, n));"),
    "unique child key and a check that refuses the first values": (
        "CREATE TABLE team (id INTEGER PRIMARY KEY);"
        "CREATE TABLE member (id INTEGER PRIMARY KEY, team_id INTEGER NOT NULL UNIQUE REFERENCES team (id),"
        " role TEXT NOT NULL CHECK (role IN ('owner', 'guest')), rank INTEGER NOT NULL CHECK (rank BETWEEN 1 AND 3));"),
    "self reference": (
        "CREATE TABLE node (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES node (id), label TEXT NOT NULL);"),
    "parent with text affinity and an integer-looking key": (
        "CREATE TABLE code (c TEXT PRIMARY KEY); INSERT INTO code VALUES ('007'), ('42');"
        "CREATE TABLE use (id INTEGER PRIMARY KEY, c INTEGER REFERENCES code (c));"),
}


@pytest.mark.parametrize("enforce", [False, True], ids=["fk off", "fk on"])
@pytest.mark.parametrize("schema", list(FOREIGN_KEY_SCHEMAS.values()), ids=list(FOREIGN_KEY_SCHEMAS))
def test_seeding_never_makes_a_foreign_key_violation(schema, enforce):
    conn = connect(foreign_keys=enforce)
    run_script(conn, schema)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    report = seed_rows(conn, tables)
    assert conn.execute("SELECT * FROM pragma_foreign_key_check").fetchall() == []
    child = tables[-1]
    # Every child row that could point somewhere does: the key is not just left NULL.
    assert child in report.inserted, report.skipped


def test_a_not_null_foreign_key_without_parent_rows_is_skipped_not_faked():
    conn = connect()
    run_script(conn, "CREATE TABLE p (id INTEGER PRIMARY KEY);"
                     "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER NOT NULL REFERENCES p (id));")
    report = seed_rows(conn, ["c"])
    assert "c" in report.skipped and conn.execute("SELECT count(*) FROM c").fetchone() == (0,)


_PARENT_KEYS = {
    "integer primary key": ("id INTEGER PRIMARY KEY", ["id"]),
    "text primary key": ("code TEXT PRIMARY KEY", ["code"]),
    "composite primary key": ("a TEXT NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (a, b)", ["a", "b"]),
    "unique column": ("id INTEGER PRIMARY KEY, k TEXT UNIQUE", ["k"]),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    parent=st.sampled_from(sorted(_PARENT_KEYS)),
    implicit=st.booleans(),
    notnull=st.booleans(),
    unique=st.booleans(),
    check=st.sampled_from(["", "CHECK (x IN ('p', 'q'))", "CHECK (x > 5)", "CHECK (length(x) <= 2)"]),
    parent_rows=st.integers(0, 3),
    enforce=st.booleans(),
)
def test_no_seeded_child_ever_violates_its_foreign_key(parent, implicit, notnull, unique, check, parent_rows, enforce):
    definition, key = _PARENT_KEYS[parent]
    if implicit and parent == "unique column":
        implicit = False  # REFERENCES p alone means p's primary key
    conn = connect(foreign_keys=enforce)
    conn.execute(f"CREATE TABLE p ({definition})")
    child_cols = ", ".join(f"f{i} {'TEXT' if i else 'INTEGER'}{' NOT NULL' if notnull else ''}" for i in range(len(key)))
    target = "" if implicit else f" ({', '.join(key)})"
    constraints = [f"FOREIGN KEY ({', '.join(f'f{i}' for i in range(len(key)))}) REFERENCES p{target}"]
    if unique:
        constraints.append(f"UNIQUE ({', '.join(f'f{i}' for i in range(len(key)))})")
    conn.execute(f"CREATE TABLE c (id INTEGER PRIMARY KEY, {child_cols}, x TEXT {check}, {', '.join(constraints)})")
    if parent_rows:
        seed_rows(conn, ["p"], parent_rows)
    report = seed_rows(conn, ["c"])
    assert conn.execute("SELECT * FROM pragma_foreign_key_check").fetchall() == []
    if parent_rows or not notnull:
        assert "c" in report.inserted, report.skipped


# -- CHECK constraints --------------------------------------------------------------------


@pytest.mark.parametrize("column", [
    "kind TEXT NOT NULL CHECK (kind IN ('movie', 'series', 'episode')) UNIQUE",
    "n INTEGER NOT NULL CHECK (n > 0 AND n < 5)",
    "code TEXT NOT NULL CHECK (length(code) <= 3)",
    "code TEXT NOT NULL CHECK (length(code) >= 12)",
    "score REAL NOT NULL CHECK (score BETWEEN 0 AND 1)",
    "sku TEXT NOT NULL CHECK (sku GLOB '[A-Z][A-Z]-[0-9]*')",
    "slug TEXT NOT NULL CHECK (slug LIKE 'item-%')",
    "state TEXT NOT NULL CONSTRAINT state_known CHECK (state IN ('on', 'off'))",
    "body TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'array')",
    "day TEXT NOT NULL CHECK (date(day) IS NOT NULL AND day = date(day))",
])
def test_every_row_passes_checks_a_value_can_satisfy(column):
    conn = connect()
    conn.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, {column})")
    report = seed_rows(conn, ["t"])
    assert len(report.inserted["t"].rows) == 3, report.skipped


def test_a_check_across_columns_is_satisfied():
    conn = connect()
    conn.execute("CREATE TABLE span (id INTEGER PRIMARY KEY, starts INTEGER NOT NULL, ends INTEGER NOT NULL,"
                 " CHECK (starts < ends), CHECK (ends - starts <= 10))")
    assert len(seed_rows(conn, ["span"]).inserted["span"].rows) == 3


def test_an_in_list_is_used_round_robin_so_rows_differ():
    conn = connect()
    conn.execute("CREATE TABLE job (id INTEGER PRIMARY KEY, state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done')))")
    rows = seed_rows(conn, ["job"]).inserted["job"].rows
    assert {r[1] for r in rows} == {"queued", "running", "done"}


# -- the replay ------------------------------------------------------------------------


JSON_CHAIN = {
    "000001_init.up.sql": (
        "CREATE TABLE account (\n    id INTEGER PRIMARY KEY,\n    email TEXT NOT NULL UNIQUE,\n"
        "    plan TEXT NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'pro', 'team')),\n"
        "    settings TEXT NOT NULL DEFAULT '{}',\n    tags TEXT\n);\n"
        "CREATE TABLE project (\n    id INTEGER PRIMARY KEY,\n"
        "    account_id INTEGER NOT NULL REFERENCES account (id) ON DELETE CASCADE,\n"
        "    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 40),\n"
        "    meta_json TEXT CHECK (meta_json IS NULL OR json_valid(meta_json))\n);\n"),
    "000001_init.down.sql": "DROP TABLE project;\nDROP TABLE account;\n",
    "000002_tags.up.sql": (
        "CREATE TABLE tag (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES account (id) ON DELETE CASCADE,"
        " label TEXT NOT NULL);\n"
        "INSERT INTO tag (account_id, label) SELECT a.id, t.value FROM account AS a, json_each(a.tags) AS t"
        " WHERE a.tags IS NOT NULL;\n"
        "ALTER TABLE account ADD COLUMN theme TEXT;\n"
        "UPDATE account SET theme = json_extract(settings, '$.ui.theme') WHERE settings ->> '$.ui.theme' IS NOT NULL;\n"),
    "000002_tags.down.sql": (
        "UPDATE account SET settings = json_set(settings, '$.ui.theme', theme) WHERE theme IS NOT NULL;\n"
        "ALTER TABLE account DROP COLUMN theme;\nDROP TABLE tag;\n"),
    "000003_audit.up.sql": (
        "CREATE TABLE audit (id INTEGER PRIMARY KEY, project_id INTEGER REFERENCES project (id) ON DELETE SET NULL,"
        " what TEXT NOT NULL CHECK (what IN ('created', 'renamed')));\n"
        "CREATE TRIGGER trg_project_created AFTER INSERT ON project\nBEGIN\n"
        "    INSERT INTO audit (project_id, what) VALUES (NEW.id, 'created');\nEND;\n"
        "CREATE TRIGGER trg_project_renamed AFTER UPDATE OF name ON project\nBEGIN\n"
        "    INSERT INTO audit (project_id, what) VALUES (NEW.id, 'renamed');\nEND;\n"),
    "000003_audit.down.sql": "DROP TRIGGER trg_project_renamed;\nDROP TRIGGER trg_project_created;\nDROP TABLE audit;\n",
    "000004_owner.up.sql": (
        "ALTER TABLE project ADD COLUMN owner TEXT;\n"
        "UPDATE project SET owner = json_extract(meta_json, '$.owner.email') WHERE meta_json IS NOT NULL;\n"
        "CREATE INDEX idx_project_owner ON project (owner);\n"),
    "000004_owner.down.sql": "DROP INDEX idx_project_owner;\nALTER TABLE project DROP COLUMN owner;\n",
    "000005_rename_city.up.sql": (
        "CREATE TABLE country (code TEXT PRIMARY KEY, name TEXT NOT NULL);\n"
        "CREATE TABLE city (id INTEGER PRIMARY KEY, country_code TEXT NOT NULL REFERENCES country, name TEXT NOT NULL);\n"),
    "000005_rename_city.down.sql": "DROP TABLE city;\nDROP TABLE country;\n",
    "000006_town.up.sql": "ALTER TABLE city RENAME TO town;\n",
    "000006_town.down.sql": "ALTER TABLE town RENAME TO city;\n",
}


def _failed(report):
    return {s.version: [str(p) for p in s.problems] for s in report.steps if not s.is_ok()}


@pytest.mark.parametrize("enforce", [False, True], ids=["fk off", "fk on"])
def test_a_clean_chain_with_json_checks_triggers_and_foreign_keys_verifies_clean(tmp_path, enforce):
    folder = write_files(tmp_path / "m", JSON_CHAIN)
    report = replay_dir(folder, ReplayOptions(foreign_keys=enforce))
    assert report.ok, _failed(report)
    # Rows were really there to check: JSON columns included.
    assert all(s.data == "ok" for s in report.steps)


def test_without_knowing_the_json_columns_the_same_chain_is_data_dependent_as_reported(tmp_path):
    # Plain text in the JSON columns: the up fails on those rows, passes
    # without them (replay's data-dependent warning, not a failure).
    folder = write_files(tmp_path / "m", JSON_CHAIN)
    report = replay_dir(folder, ReplayOptions(json_columns={}))
    step = next(s for s in report.steps if s.version == 2)
    assert step.up == "data-dependent" and "malformed JSON" in str(step.warnings[0])
    assert report.ok and report.stop is None


DEFECTS = {
    "a down that forgets the index": ("000004_owner.down.sql", "ALTER TABLE project DROP COLUMN owner;\n", "down"),
    "an up that loses rows": ("000002_tags.up.sql", JSON_CHAIN["000002_tags.up.sql"] + "DELETE FROM account WHERE plan <> 'x';\n",
                              "data"),
    "a down that drops the wrong trigger": ("000003_audit.down.sql", "DROP TRIGGER trg_project_created;\nDROP TABLE audit;\n",
                                            "roundtrip"),
    "a json read of a column that is not there": ("000004_owner.up.sql",
                                                  JSON_CHAIN["000004_owner.up.sql"].replace("meta_json, '$", "meta, '$"), "up"),
}


@pytest.mark.parametrize("name", list(DEFECTS))
def test_each_seeded_defect_still_fails(tmp_path, name):
    file, text, check = DEFECTS[name]
    folder = write_files(tmp_path / "m", {**JSON_CHAIN, file: text})
    report = replay_dir(folder, ReplayOptions())
    version = int(file[:6])
    step = next(s for s in report.steps if s.version == version)
    assert not step.is_ok() and getattr(step, check) in ("failed", "differs"), _failed(report)
    assert [s.version for s in report.steps if not s.is_ok()] == [version]
