"""validate_pairs.py on a project with history: the new versions are checked
and listed, the shipped ones counted in one line (default), only applied
(--new) or listed too (--all); output budgets on a realistic history.

The history (tests/fixtures/shipped_history.py) is 96 versions with ~90
findings of eleven codes, committed on `main` in a git repository made in
tmp_path; a clean new pair sits on top, untracked as the assistant has just
written it, or committed on a feature branch.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT, places, run_cli, run_json, write_files

sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
from shipped_history import SHIPPED, git, history_files, new_pair, write_project  # noqa: E402

SCRIPT = "validate_pairs.py"
NEW = SHIPPED + 1


def lines(proc) -> list:
    return proc.stdout.splitlines()


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    """The shipped history in git with a clean, untracked new pair (read only)."""
    return write_project(tmp_path_factory.mktemp("history"))


@pytest.fixture
def project(tmp_path) -> Path:
    """The same, for tests that change it."""
    return write_project(tmp_path / "app")


# -- budgets ------------------------------------------------------------------------------


def test_a_clean_new_pair_on_a_messy_history_is_three_lines_then_one_for_the_shipped_findings(history):
    proc = run_cli(SCRIPT, "--dir", str(history))
    out = lines(proc)
    assert proc.returncode == 0, proc.stdout
    assert len(out) <= 5 and len(out) == 3, out
    assert out[0].startswith(f"ok: 2 new migration files (version {NEW}) in ")
    assert "new = not committed yet (HEAD is at main)" in out[0]
    assert out[1].endswith("shipped migrations not shown (--all lists them)") and out[1].split()[0].isdigit()
    assert out[2].startswith("project: ")


def test_the_fast_check_of_a_clean_new_pair_is_at_most_three_lines_and_1kb_of_json(history):
    root = history.parents[1]  # run as the assistant does: from the project root, the folder found
    proc = run_cli(SCRIPT, "--new", cwd=root)
    assert proc.returncode == 0 and len(lines(proc)) <= 3, proc.stdout
    raw = run_cli(SCRIPT, "--new", "--json", cwd=root).stdout
    assert len(raw.encode()) <= 1024, len(raw)
    out = json.loads(raw)
    assert out["status"] == "ok" and out["findings"] == [] and out["scope"]["new"] == [NEW]


def test_a_clean_pair_on_a_clean_folder_is_at_most_three_lines_and_1kb_of_json(tmp_path):
    root = tmp_path / "app"
    folder = write_files(root / "m", {"000001_a.up.sql": "CREATE TABLE item_001 (id INTEGER PRIMARY KEY);\n",
                                      "000001_a.down.sql": "DROP TABLE item_001;\n"})
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "one")
    write_files(folder, new_pair(2))
    for extra in ([], ["--new"]):
        proc = run_cli(SCRIPT, *extra, cwd=root)
        assert proc.returncode == 0 and len(lines(proc)) <= 3, proc.stdout
        raw = run_cli(SCRIPT, "--json", *extra, cwd=root).stdout
        assert len(raw.encode()) <= 1024 and json.loads(raw)["findings"] == []


def test_without_git_or_sum_every_version_is_new_and_the_text_stays_under_4kb(tmp_path):
    folder = write_project(tmp_path / "app", use_git=False)
    proc = run_cli(SCRIPT, "--dir", str(folder))
    assert proc.returncode == 1
    assert len(proc.stdout.encode()) <= 4096, len(proc.stdout)
    assert "new = every version (no git history or migrations.sum tells shipped from new)" in proc.stdout
    more = [l for l in lines(proc) if l.startswith("... and ")]
    assert len(more) == 1 and more[0].endswith("not shown: -v lists them")
    # The cap is real: -v and --all print every place, far over the budget.
    everything = run_cli(SCRIPT, "--dir", str(folder), "-v")
    assert len(everything.stdout.encode()) > 4096 and "... and " not in everything.stdout
    # --all lists the same (every version is new here); only its summary drops the "new =" clause.
    assert lines(run_cli(SCRIPT, "--dir", str(folder), "--all"))[:-2] == lines(everything)[:-2]


def test_no_text_run_without_all_or_v_is_over_4kb(history, tmp_path):
    bare = write_project(tmp_path / "bare", use_git=False)
    for folder, extra in ((history, []), (history, ["--new"]), (bare, []), (bare, ["--new"]),
                          (bare, ["--foreign-keys", "on"]), (bare, ["--allow-missing-down"])):
        proc = run_cli(SCRIPT, "--dir", str(folder), *extra)
        assert proc.returncode in (0, 1) and len(proc.stdout.encode()) <= 4096, (extra, len(proc.stdout))


def test_the_example_module_checked_from_its_root_is_under_4kb():
    """The before-stop hook runs validate_pairs.py in examples/ with no option."""
    proc = run_cli(SCRIPT, cwd=EXAMPLES)
    assert proc.returncode == 0 and len(proc.stdout.encode()) <= 4096, proc.stdout + proc.stderr


# -- what each mode checks ----------------------------------------------------------------


def test_all_lists_what_the_default_counts(history):
    default = run_json(SCRIPT, "--dir", str(history))[1]
    everything = run_json(SCRIPT, "--dir", str(history), "--all")[1]
    hidden = default["shipped"]["findings"]
    assert hidden >= 80 and default["findings"] == []
    assert sum(g["count"] for g in everything["findings"]) == hidden
    codes = {g["code"] for g in everything["findings"]}
    assert len(codes) >= 8, codes
    # The comment-only up that shipped (000048) is a note that never says to delete it.
    (reserved,) = [g for g in everything["findings"] if g["code"] == "MW008"]
    assert reserved["severity"] == "info" and "delete" not in reserved["fix"] and "it has shipped" in reserved["message"]
    assert run_cli(SCRIPT, "--dir", str(history), "--all").returncode == 1


BAD_NEW = {
    f"{NEW:06d}_bad.up.sql": "ALTER TABLE item_001 ADD COLUMN archived_at TEXT;\nCREATE INDEX idx_archived ON item_001 (archived_at);\n",
    f"{NEW:06d}_bad.down.sql": "ALTER TABLE item_001 DROP COLUMN archived_at;\n",  # the index is still there: fails
}


def test_new_reports_the_new_pair_and_never_judges_a_shipped_file(tmp_path):
    folder = write_project(tmp_path / "app", new=BAD_NEW)
    rc, out = run_json(SCRIPT, "--dir", str(folder), "--new")
    found = places(out)
    assert rc == 1 and found, out
    assert all(Path(path).name.startswith(f"{NEW:06d}_") for path, *_ in found), found
    assert "shipped" not in out  # nothing judged, so nothing counted


def test_new_and_all_agree_on_the_new_versions(tmp_path):
    """--new applies the shipped ups without judging them; the verdicts on the
    new files are the ones the full check gives them."""
    cases = [
        BAD_NEW,
        {f"{NEW:06d}_x.up.sql": "BEGIN;\nUPDATE item_011 SET state = 'x';\nCOMMIT;\n",
         f"{NEW:06d}_x.down.sql": "SELECT 1;\n"},
        {f"{NEW:06d}_x.up.sql": "DROP INDEX idx_item_005_name;\n", f"{NEW:06d}_x.down.sql": "SELECT 1;\n"},
        {f"{NEW:06d}_x.up.sql": ("CREATE TABLE item_001_new (id INTEGER PRIMARY KEY, name TEXT);\n"
                                 "INSERT INTO item_001_new (id, name) SELECT id, name FROM item_001;\n"
                                 "DROP TABLE item_001;\nALTER TABLE item_001_new RENAME TO item_001;\n"),
         f"{NEW:06d}_x.down.sql": "SELECT 1;\n"},
        # Whether these rows are unique already depends on item_001's shape when the file starts.
        {f"{NEW:06d}_x.up.sql": "CREATE UNIQUE INDEX idx_a ON item_001 (id, name);\nCREATE UNIQUE INDEX idx_b ON item_001 (name);\n",
         f"{NEW:06d}_x.down.sql": "DROP INDEX idx_a;\nDROP INDEX idx_b;\n"},
    ]
    for n, files in enumerate(cases):
        folder = write_project(tmp_path / f"app{n}", new=files)
        fast = sorted(places(run_json(SCRIPT, "--dir", str(folder), "--new", "-v")[1]))
        full = sorted(p for p in places(run_json(SCRIPT, "--dir", str(folder), "--all")[1])
                      if Path(p[0]).name.startswith(f"{NEW:06d}_"))
        assert fast == full and fast, (n, fast, full)


def test_new_goes_on_from_the_state_the_shipped_chain_could_build(tmp_path):
    # 000068 fails here (slugify is the app's); the tables of 69..100 are still built.
    later = max(name for name in history_files() if name.startswith("0000") and "create_item" in name)
    table = later.split("create_", 1)[1].split(".")[0]
    files = {f"{NEW:06d}_x.up.sql": f"ALTER TABLE {table} ADD COLUMN y TEXT;\n",
             f"{NEW:06d}_x.down.sql": f"ALTER TABLE {table} DROP COLUMN y;\n"}
    folder = write_project(tmp_path / "app", new=files)
    proc = run_cli(SCRIPT, "--dir", str(folder), "--new")
    out = lines(proc)
    assert proc.returncode == 0, proc.stdout
    failure = [l for l in out if l.startswith("shipped ")]
    assert len(failure) == 1 and "000068_slug_names_68.up.sql:1 fails" in failure[0] and "no such function: slugify" in failure[0]
    rc, data = run_json(SCRIPT, "--dir", str(folder), "--new")
    assert data["shipped_failures"][0]["path"].endswith("000068_slug_names_68.up.sql:1")


def test_a_new_pair_committed_on_a_feature_branch_is_new_against_the_merge_base(tmp_path):
    folder = write_project(tmp_path / "app", commit_new=True)
    proc = run_cli(SCRIPT, "--dir", str(folder))
    assert proc.returncode == 0 and "new = changed against main (merge base " in lines(proc)[0]
    rc, out = run_json(SCRIPT, "--dir", str(folder))
    assert out["scope"]["new"] == [NEW] and out["scope"]["base"] == "main"


def test_since_and_from_choose_the_new_versions(tmp_path):
    folder = write_project(tmp_path / "app", commit_new=True)
    first = git(folder.parents[1], "rev-list", "--max-parents=0", "HEAD").strip()
    rc, out = run_json(SCRIPT, "--dir", str(folder), "--since", first)
    assert out["scope"]["new"] == [NEW] and out["scope"]["how"] == f"changed against {first}"
    rc, out = run_json(SCRIPT, "--dir", str(folder), "--from", "99")
    assert out["scope"]["new"] == [99, 100, NEW] and out["scope"]["how"] == "--from 99"


@pytest.mark.parametrize("args,message", [
    (["--all", "--since", "main"], "--all lists every version"),
    (["--all", "--from", "3"], "--all lists every version"),
    (["--new", "--all"], "not allowed with argument"),
    (["--since", "no-such-ref"], "no such commit or branch"),
    (["--from", "-1"], "versions are not negative"),
])
def test_scope_usage_errors_are_one_sentence(history, args, message):
    proc = run_cli(SCRIPT, "--dir", str(history), *args)
    assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


def test_without_git_migrations_sum_tells_what_shipped(tmp_path):
    folder = write_files(tmp_path / "m", history_files())
    assert run_cli("status.py", "--dir", str(folder), "--write-sum").returncode == 0
    write_files(folder, new_pair())
    proc = run_cli(SCRIPT, "--dir", str(folder))
    assert proc.returncode == 0, proc.stdout
    assert "new = not recorded in migrations.sum" in lines(proc)[0]


# -- shipped versions that changed ----------------------------------------------------------


def test_an_edited_shipped_migration_is_always_one_line_and_a_warning(project):
    """Wrong when a database applied the version (Rule 1), right when it
    failed wherever it ran (a dirty database being repaired): the line says
    both, and the user decides."""
    (project / "000011_create_item_011.up.sql").write_text(
        (project / "000011_create_item_011.up.sql").read_text().replace("'new'", "'draft'"))
    for extra in ([], ["--new"]):
        proc = run_cli(SCRIPT, "--dir", str(project), *extra)
        about = [l for l in lines(proc) if "000011_create_item_011.up.sql: warning: version 11 is in main (it shipped) and was changed" in l]
        assert proc.returncode == 0 and len(about) == 1, proc.stdout
        assert "SKILL.md Rule 1" in about[0] and "dirty database" in about[0]
    rc, out = run_json(SCRIPT, "--dir", str(project), "--new")
    assert [e["path"].rsplit("/", 1)[-1] for e in out["edited"]] == ["000011_create_item_011.up.sql"]


def test_a_comment_only_edit_of_a_shipped_migration_is_a_note(project):
    path = project / "000011_create_item_011.up.sql"
    path.write_text("-- reworded comment\n" + path.read_text().replace("\n    id", "\n        id"))
    proc = run_cli(SCRIPT, "--dir", str(project))
    about = [l for l in lines(proc) if l.startswith(str(path))]
    assert proc.returncode == 0 and len(about) == 1 and ": info: " in about[0] and "only comments or whitespace" in about[0]


def test_a_deleted_shipped_migration_is_reported(project):
    (project / "000099_index_state_99.up.sql").unlink()
    (project / "000099_index_state_99.down.sql").unlink()
    proc = run_cli(SCRIPT, "--dir", str(project))
    assert proc.returncode == 1
    about = [l for l in lines(proc) if "deleted since main" in l]
    # Both files said once: one line, the second file named in "the same for".
    assert len(about) == 1 and "no migration found for version 99" in about[0], proc.stdout
    assert ": error: " in about[0] and "000099_index_state_99.up.sql" in about[0] \
        and "000099_index_state_99.down.sql" in about[0], about[0]


# -- up-only folders ----------------------------------------------------------------------


UP_ONLY = {f"{v:06d}_t{v}.up.sql": f"CREATE TABLE t{v} (id INTEGER PRIMARY KEY);\n" for v in range(1, 74)}


def test_an_up_only_folder_is_said_once_and_asks_no_down(tmp_path):
    folder = write_files(tmp_path / "m", UP_ONLY)
    proc = run_cli(SCRIPT, "--dir", str(folder))
    assert proc.returncode == 0 and "MW003" not in proc.stdout
    assert sum("up-only folder" in l for l in lines(proc)) == 1 and len(lines(proc)) == 3, proc.stdout
    assert run_json(SCRIPT, "--dir", str(folder))[1]["up_only"] is True
    # --require-down asks anyway: one grouped line for the 73 versions, not 73 lines.
    strict = run_cli(SCRIPT, "--dir", str(folder), "--require-down")
    mw003 = [l for l in lines(strict) if l.endswith("[MW003]")]
    assert strict.returncode == 1 and len(mw003) == 1 and "and 69 more (-v lists them)" in mw003[0]


def test_allow_missing_down_leaves_no_note_per_version(tmp_path):
    files = {**UP_ONLY, "000001_t1.down.sql": "DROP TABLE t1;\n"}  # one down: not up-only
    folder = write_files(tmp_path / "m", files)
    assert sum(g["count"] for g in run_json(SCRIPT, "--dir", str(folder))[1]["findings"] if g["code"] == "MW003") == 72
    proc = run_cli(SCRIPT, "--dir", str(folder), "--allow-missing-down")
    assert proc.returncode == 0 and "MW003" not in proc.stdout and "--allow-missing-down" not in proc.stdout


def test_a_new_pair_with_a_down_in_an_up_only_history_is_fine(tmp_path):
    root = tmp_path / "app"
    folder = write_files(root / "m", UP_ONLY)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "up-only")
    write_files(folder, {"000074_t74.up.sql": "CREATE TABLE t74 (id INTEGER PRIMARY KEY);\n",
                         "000074_t74.down.sql": "DROP TABLE t74;\n"})
    proc = run_cli(SCRIPT, "--dir", str(folder))
    assert proc.returncode == 0 and "MW003" not in proc.stdout and "no shipped version has a down file" in proc.stdout


# -- suggested SQL ------------------------------------------------------------------------


FORGOTTEN_INDEX = {
    "000001_a.up.sql": "CREATE TABLE a (\n  id INTEGER PRIMARY KEY,\n  name TEXT\n);\nCREATE INDEX idx_a_name\n  ON a (name)\n  WHERE name IS NOT NULL;\n",
    "000001_a.down.sql": "DROP TABLE a;\n",
    "000002_b.up.sql": "DROP INDEX idx_a_name;\n",
    "000002_b.down.sql": "-- forgot the index\nSELECT 1;\n",
}


def test_suggested_sql_keeps_its_newlines_and_runs_on_sqlite(tmp_path):
    folder = write_files(tmp_path / "m", FORGOTTEN_INDEX)
    proc = run_cli(SCRIPT, "--dir", str(folder))
    assert "\\x0a" not in proc.stdout
    text = lines(proc)
    at = next(i for i, l in enumerate(text) if l.endswith("[MW402]"))
    assert text[at + 1:at + 4] == ["    CREATE INDEX idx_a_name", "      ON a (name)", "      WHERE name IS NOT NULL;"]
    rc, out = run_json(SCRIPT, "--dir", str(folder))
    (group,) = [g for g in out["findings"] if g["code"] == "MW402"]
    assert "\n" in group["sql"]
    # Paste it into the down: on the schema the down leaves, it restores the index exactly.
    conn = sqlite3.connect(":memory:")
    conn.executescript(FORGOTTEN_INDEX["000001_a.up.sql"])
    before = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'idx_a_name'").fetchone()
    conn.executescript(FORGOTTEN_INDEX["000002_b.up.sql"] + FORGOTTEN_INDEX["000002_b.down.sql"])
    conn.executescript(group["sql"])
    assert conn.execute("SELECT sql FROM sqlite_master WHERE name = 'idx_a_name'").fetchone() == before


def test_the_rebuild_hint_sql_recreates_every_lost_index(tmp_path):
    files = {
        "000001_a.up.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT, y TEXT);\nCREATE INDEX a_x\n  ON a (x);\n"
                           "CREATE UNIQUE INDEX a_y ON a (y);\n",
        "000001_a.down.sql": "DROP TABLE a;\n",
        "000002_r.up.sql": "CREATE TABLE a_new (id INTEGER PRIMARY KEY, x TEXT, y TEXT NOT NULL DEFAULT '');\n"
                           "INSERT INTO a_new SELECT id, x, coalesce(y, '') FROM a;\nDROP TABLE a;\nALTER TABLE a_new RENAME TO a;\n",
        "000002_r.down.sql": "SELECT 1;\n",
    }
    folder = write_files(tmp_path / "m", files)
    rc, out = run_json(SCRIPT, "--dir", str(folder), "--select", "MW302")
    (group,) = out["findings"]
    conn = sqlite3.connect(":memory:")
    conn.executescript(files["000001_a.up.sql"] + files["000002_r.up.sql"])
    conn.executescript(group["sql"])
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    assert names == {"a_x", "a_y"}


# -- comment-only ups: placeholders for Go code -------------------------------------------


GO_MOD = "module example.com/app\n\ngo 1.24.0\n"
HOOKS = {
    "map": "var hooks = map[uint]func(*sql.Tx) error{\n\t5: backfillSlugs,\n}\n",
    "case": "func hook(v uint, tx *sql.Tx) error {\n\tswitch v {\n\tcase 5:\n\t\treturn backfillSlugs(tx)\n\t}\n\treturn nil\n}\n",
    "migrate": "func up(m *migrate.Migrate, tx *sql.Tx) error {\n\tif err := m.Migrate(5); err != nil {\n\t\treturn err\n\t}\n"
               "\treturn backfillSlugs(tx)\n}\n",
    "compare": "func after(version uint, tx *sql.Tx) error {\n\tif version == 5 {\n\t\treturn backfillSlugs(tx)\n\t}\n\treturn nil\n}\n",
}


def placeholder_project(root: Path, go: str, name: str = "backfill_slugs") -> Path:
    files = {f"{v:06d}_t{v}.{d}.sql": (f"CREATE TABLE t{v} (id INTEGER);\n" if d == "up" else f"DROP TABLE t{v};\n")
             for v in range(1, 5) for d in ("up", "down")}
    files[f"000005_{name}.up.sql"] = "-- slugs are computed in Go\n"
    files[f"000005_{name}.down.sql"] = "-- nothing to undo\n"
    folder = write_files(root / "db" / "migrations", files)
    (root / "go.mod").write_text(GO_MOD)
    if go:
        (root / "db" / "migrate.go").write_text('package db\n\nimport (\n\t"database/sql"\n\n'
                                                 '\t"github.com/golang-migrate/migrate/v4"\n)\n\n' + go)
    return folder


@pytest.mark.parametrize("kind", sorted(HOOKS))
def test_a_comment_only_up_where_go_code_runs_is_not_reported(tmp_path, kind):
    folder = placeholder_project(tmp_path / kind, HOOKS[kind])
    rc, out = run_json(SCRIPT, "--dir", str(folder))
    assert "MW008" not in {g["code"] for g in out["findings"]}, out["findings"]


def test_a_comment_only_up_named_as_a_placeholder_is_a_note_without_go_evidence(tmp_path):
    folder = placeholder_project(tmp_path / "a", "", name="noop")
    rc, out = run_json(SCRIPT, "--dir", str(folder))
    (group,) = [g for g in out["findings"] if g["code"] == "MW008"]
    assert rc == 0 and group["severity"] == "info" and "no Go code that runs at this version was found" in group["message"]
    assert "delete" not in group["fix"]


def test_an_unfilled_created_pair_is_still_an_error(tmp_path):
    folder = placeholder_project(tmp_path / "a", HOOKS["map"])
    assert run_cli("next_version.py", "--dir", str(folder), "--create", "add_thing").returncode == 0
    rc, out = run_json(SCRIPT, "--dir", str(folder))
    mw008 = [g for g in out["findings"] if g["code"] == "MW008"]
    assert rc == 1 and [(g["severity"], g["places"][0].rsplit("/", 1)[-1]) for g in mw008] == [
        ("error", "000006_add_thing.up.sql:1:1")]


# -- github annotations stay per place ------------------------------------------------------


def test_github_format_annotates_every_place_of_the_new_versions_only(tmp_path):
    files = {f"{NEW:06d}_x.up.sql": "BEGIN;\nUPDATE item_011 SET state = 'x' WHERE id = 1;\nCOMMIT;\n",
             f"{NEW:06d}_x.down.sql": "BEGIN;\nUPDATE item_011 SET state = 'new' WHERE id = 1;\nCOMMIT;\n"}
    folder = write_project(tmp_path / "app", new=files)
    proc = run_cli(SCRIPT, "--dir", str(folder), "--format", "github")
    annotations = [l for l in lines(proc) if l.startswith("::")]
    assert proc.returncode == 1 and len(annotations) == 2, proc.stdout
    assert all(f"{NEW:06d}_x." in a and "MW201" in a for a in annotations)
    assert any(l.endswith("shipped migrations not shown (--all lists them)") for l in lines(proc))


# -- the shipped state built once for both foreign-key runs -----------------------------------


def test_the_run_with_foreign_keys_on_starting_from_the_memo_finds_what_a_fresh_run_finds(tmp_path):
    from mwcore.folder import scan_folder
    from mwcore.lint import LintOptions, lint_folder
    from mwcore.scope import resolve_scope

    files = {f"{NEW:06d}_x.up.sql": "DROP TABLE item_090;\nDELETE FROM item_091;\n"
                                     "CREATE UNIQUE INDEX idx_a ON item_001 (id, name);\n"
                                     "CREATE UNIQUE INDEX idx_b ON item_001 (name);\n",
             f"{NEW:06d}_x.down.sql": "SELECT 1;\n"}
    folder = write_project(tmp_path / "app", new=files)
    scope = resolve_scope(scan_folder(folder)).with_mode("new")

    def findings(result):
        return sorted((f.file, f.code, f.line, f.message) for f in result.findings)

    memo: dict = {}
    off = lint_folder(folder, LintOptions(scope=scope, foreign_keys=False, prefix=memo))
    assert memo["first"] > 0 and memo["files"]
    on_from_memo = lint_folder(folder, LintOptions(scope=scope, foreign_keys=True, prefix=memo))
    on_fresh = lint_folder(folder, LintOptions(scope=scope, foreign_keys=True))
    assert findings(on_from_memo) == findings(on_fresh) and findings(on_fresh)
    assert findings(on_fresh) != findings(off)  # enforcement matters here, so the test can tell
    assert on_from_memo.shipped_failures == on_fresh.shipped_failures == off.shipped_failures
    memo["conn"].close()


def test_new_never_reads_a_shipped_down(tmp_path):
    folder = write_project(tmp_path / "app")
    root = folder.parents[1]
    (folder / "000099_index_state_99.down.sql").write_bytes(b"DROP INDEX \xff\xfe;\n")  # not UTF-8
    git(root, "commit", "-qam", "a down nobody can read")
    everything = run_json(SCRIPT, "--dir", str(folder), "--all")[1]
    assert "MW012" in {g["code"] for g in everything["findings"]}
    rc, out = run_json(SCRIPT, "--dir", str(folder), "--new")
    assert rc == 0 and out["findings"] == [] and "shipped" not in out


def test_a_pair_numbered_like_a_shipped_version_is_reported_by_the_new_check(project):
    """A merge (or a version read off `ls | tail`) gives a new pair the number
    of a shipped one: golang-migrate refuses the folder, so --new must say so
    (a scope that counted the shipped version as merely edited hid it)."""
    folder = project
    shipped = sorted(p.name for p in folder.glob(f"{SHIPPED:06d}_*.up.sql"))[0]
    stem = shipped.split("_", 1)[0]
    write_files(folder, {f"{stem}_also.up.sql": "CREATE TABLE also_here (id INTEGER PRIMARY KEY);",
                         f"{stem}_also.down.sql": "DROP TABLE also_here;"})

    code, out = run_json(SCRIPT, "--dir", str(folder), "--new")

    assert code == 1
    assert [g["code"] for g in out["findings"]] == ["MW002"], out["findings"]
    assert not out.get("edited"), out.get("edited")


def test_a_clean_new_pair_in_a_real_go_module_stays_within_the_budgets(tmp_path):
    """The example module (mattn, go:embed, its own DSN): the project object
    every script carries is part of the 1 KB a clean check may print."""
    import shutil

    root = tmp_path / "app"
    shutil.copytree(EXAMPLES, root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "shipped")
    folder = root / "pkg" / "storage" / "sqlite" / "migrations"
    write_files(folder, {"000005_library_note.up.sql": "ALTER TABLE library ADD COLUMN note TEXT;\n",
                         "000005_library_note.down.sql": "ALTER TABLE library DROP COLUMN note;\n"})

    proc = run_cli(SCRIPT, "--new", cwd=root)
    raw = run_cli(SCRIPT, "--new", "--json", cwd=root).stdout

    assert proc.returncode == 0 and len(lines(proc)) <= 3, proc.stdout
    assert len(raw.encode()) <= 1024, raw
    out = json.loads(raw)
    assert out["scope"]["new"] == [5] and out["project"]["driver"] == "sqlite3"
