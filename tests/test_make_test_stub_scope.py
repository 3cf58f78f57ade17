"""make_test_stub.py --new: tests for every new version, in order, as one
change to the test file; which versions and why in one line; the project's
own tests that pin the newest shipped version; a dry run within 4 KB.

The project is tests/fixtures/projects/messy_history (a store package with
an app test pinning version 5) committed on `main` in a git repository made
in tmp_path; new versions are written untracked, as the assistant does.
One test compiles and runs the generated tests with Go.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from conftest import ROOT, run_cli, run_json, write_files

sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
from shipped_history import git  # noqa: E402

SCRIPT = "make_test_stub.py"
MESSY = ROOT / "tests" / "fixtures" / "projects" / "messy_history"
STORE = Path("internal/store")
MIGRATIONS = STORE / "migrations"
TEST_FILE = STORE / "migrate_test.go"
PIN = ("internal/store/store_test.go", 19)  # require.Equal(t, uint(5), version)
BUDGET = 4096

NEW_VERSIONS: Dict[str, str] = {
    "000006_task_archived.up.sql": "ALTER TABLE task ADD COLUMN archived_at TEXT;\n"
                                   "CREATE INDEX task_archived ON task (archived_at);\n",
    "000006_task_archived.down.sql": "DROP INDEX task_archived;\nALTER TABLE task DROP COLUMN archived_at;\n",
    "000007_tags.up.sql": "CREATE TABLE tag (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);\n"
                          "INSERT INTO tag (name) VALUES ('urgent');\n",
    "000007_tags.down.sql": "DROP TABLE tag;\n",
}

MORE_VERSIONS: Dict[str, str] = {
    "000008_project_color.up.sql": "ALTER TABLE project ADD COLUMN color TEXT;\n"
                                   "UPDATE project SET color = 'blue' WHERE name = 'Inbox' AND color IS NULL;\n",
    "000008_project_color.down.sql": "ALTER TABLE project DROP COLUMN color;\n",
    "000009_task_tag.up.sql": "CREATE TABLE task_tag (task_id INTEGER NOT NULL REFERENCES task (id), "
                              "tag_id INTEGER NOT NULL REFERENCES tag (id), PRIMARY KEY (task_id, tag_id));\n"
                              "CREATE INDEX task_tag_tag ON task_tag (tag_id);\n",
    "000009_task_tag.down.sql": "DROP TABLE task_tag;\n",
}


def shipped_project(tmp_path: Path, new: Dict[str, str] = NEW_VERSIONS, *, use_git: bool = True) -> Path:
    """messy_history with its 5 versions committed on main, and `new` untracked."""
    root = tmp_path / "messy"
    shutil.copytree(MESSY, root)
    if use_git:
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "the shipped history")
    write_files(root / MIGRATIONS, new)
    return root


def lines(proc) -> list:
    return proc.stdout.splitlines()


# -- which versions, and why -----------------------------------------------------------------


def test_new_covers_every_new_version_and_says_why_in_the_first_line(tmp_path):
    root = shipped_project(tmp_path)
    proc = run_cli(SCRIPT, "--new", "--dry-run", cwd=root)
    out = lines(proc)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the app test pinning 5 is a problem to fix
    assert (f"): versions 000006, 000007 (new = not committed yet (HEAD is at main)); {TEST_FILE} "
            "(package store, plain style, mattn driver)") in out[0]
    added = [l for l in out if l.startswith("would add ")]
    assert added == ["would add 6 test(s): TestMigration_000006_{FreshDatabase, UpgradeFromV5, DownRestoresPrevious}, "
                     "TestMigration_000007_{FreshDatabase, UpgradeFromV6, DownRestoresPrevious}"]
    assert f"run: (cd {STORE} && go test -run 'TestMigration_(000006|000007)_' .)" in out
    assert not (root / TEST_FILE).exists()


def test_new_json_names_the_versions_the_scope_and_the_pinned_newest_shipped_version(tmp_path):
    root = shipped_project(tmp_path)
    rc, out = run_json(SCRIPT, "--new", "--dry-run", cwd=root)
    assert rc == 1 and out["versions"] == ["000006", "000007"] and out["version"] == "000007"
    assert out["why"] == "new = not committed yet (HEAD is at main)"
    assert out["scope"]["new"] == [6, 7] and out["scope"]["shipped"] == 5 and out["scope"]["base"] == "main"
    assert len(out["added"]) == 6 and out["written"] is False
    # The app's test still expects 5, the newest shipped version (the previous version, 6, is new itself).
    assert out["pinned"]["expected"] == 5 and out["pinned"]["newest"] == 7
    assert [(p["file"], p["line"], p["expected"]) for p in out["pinned"]["places"]] == [(*PIN, 5)]
    # The diff in --json is the same short diff the text prints.
    text = run_cli(SCRIPT, "--new", "--dry-run", cwd=root).stdout
    assert out["diff"].splitlines()[:3] == [l for l in text.splitlines() if l.startswith(("---", "+++", "@@"))][:3]


def test_the_default_covers_the_newest_and_names_the_other_new_version(tmp_path):
    root = shipped_project(tmp_path)
    proc = run_cli(SCRIPT, "--dry-run", cwd=root)
    out = lines(proc)
    assert "): version 000007 (the newest version); " in out[0]
    assert "note: 000006 is new too; --new covers every new version" in out
    # The pin on the newest shipped version is found here too, not only the previous version's.
    assert f"  {PIN[0]}:{PIN[1]}: require.Equal(t, uint(5), version)" in out
    assert "expect 5 as the newest version, which is now 7 (000007)" in proc.stdout


def test_version_names_one_and_says_so(tmp_path):
    root = shipped_project(tmp_path)
    proc = run_cli(SCRIPT, "--version", "6", "--dry-run", cwd=root)
    assert proc.returncode == 0 and "): version 000006 (given with --version); " in lines(proc)[0]
    assert not any(l.startswith("note: ") for l in lines(proc))


def test_from_chooses_the_new_versions_without_git(tmp_path):
    root = shipped_project(tmp_path, use_git=False)
    rc, out = run_json(SCRIPT, "--from", "6", "--dry-run", cwd=root)
    assert out["versions"] == ["000006", "000007"] and out["why"] == "new = --from 6"


def test_without_anything_to_tell_new_covers_the_newest_only_and_says_why(tmp_path):
    root = shipped_project(tmp_path, use_git=False)
    rc, out = run_json(SCRIPT, "--new", "--dry-run", cwd=root)
    assert out["versions"] == ["000007"]
    assert out["why"].startswith("the newest version: nothing tells new versions from shipped ones here (every version")
    assert "--from N covers N and above" in out["why"]


def test_migrations_sum_tells_what_is_new_without_git(tmp_path):
    root = shipped_project(tmp_path, new={}, use_git=False)
    assert run_cli("status.py", "--dir", str(MIGRATIONS), "--write-sum", cwd=root).returncode == 0
    write_files(root / MIGRATIONS, NEW_VERSIONS)
    rc, out = run_json(SCRIPT, "--new", "--dry-run", cwd=root)
    assert out["versions"] == ["000006", "000007"] and out["why"] == "new = not recorded in migrations.sum"


def test_nothing_new_is_one_line_and_writes_nothing(tmp_path):
    root = shipped_project(tmp_path, new={})
    proc = run_cli(SCRIPT, "--new", cwd=root)
    out = lines(proc)
    assert proc.returncode == 0 and len(out) == 2, out
    assert out[0].endswith(": no new version (new = not committed yet (HEAD is at main)); nothing to generate")
    assert out[1].startswith("project: ") and not (root / TEST_FILE).exists()
    rc, data = run_json(SCRIPT, "--new", cwd=root)
    assert rc == 0 and data["versions"] == [] and data["project"]["driver"] == "sqlite3"


@pytest.mark.parametrize("args,message", [
    (["--new", "--version", "6"], "not allowed with argument"),
    (["--since", "main", "--version", "6"], "--version and --latest name one"),
    (["--from", "6", "--latest"], "--version and --latest name one"),
    (["--new", "--since", "no-such-ref"], "no such commit or branch"),
])
def test_scope_usage_errors_are_one_sentence(tmp_path, args, message):
    root = shipped_project(tmp_path)
    proc = run_cli(SCRIPT, *args, cwd=root)
    assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


# -- one change to the file ----------------------------------------------------------------------


def test_new_writes_what_one_run_per_version_writes(tmp_path):
    """The oracle: --new gives the very file that --version 6 then
    --version 7 give (helpers added once, reused by the second)."""
    together = shipped_project(tmp_path / "a")
    one_by_one = shipped_project(tmp_path / "b")
    assert run_cli(SCRIPT, "--new", cwd=together).returncode == 1
    for version in ("6", "7"):
        run_cli(SCRIPT, "--version", version, cwd=one_by_one)
    written = (together / TEST_FILE).read_text()
    assert written == (one_by_one / TEST_FILE).read_text()
    assert written.count("\nfunc mwMigrateTo(") == 1 and written.count("\nfunc TestMigration_") == 6


def test_new_keeps_the_tests_that_exist_and_a_second_run_changes_nothing(tmp_path):
    root = shipped_project(tmp_path)
    assert run_cli(SCRIPT, "--version", "6", cwd=root).returncode == 0
    rc, out = run_json(SCRIPT, "--new", cwd=root)
    assert out["added"] == ["TestMigration_000007_FreshDatabase", "TestMigration_000007_UpgradeFromV6",
                            "TestMigration_000007_DownRestoresPrevious"]
    assert out["existing"] == ["TestMigration_000006_FreshDatabase", "TestMigration_000006_UpgradeFromV5",
                               "TestMigration_000006_DownRestoresPrevious"]
    before = (root / TEST_FILE).read_bytes()
    proc = run_cli(SCRIPT, "--new", cwd=root)
    assert (root / TEST_FILE).read_bytes() == before
    assert "nothing to add: the file already has these tests" in lines(proc)
    assert any(l.startswith("kept 6 existing test(s): TestMigration_000006_{") for l in lines(proc))


# -- the dry-run budget --------------------------------------------------------------------------


def test_a_dry_run_of_four_new_versions_stays_under_4kb_and_v_shows_everything(tmp_path):
    root = shipped_project(tmp_path, {**NEW_VERSIONS, **MORE_VERSIONS})
    proc = run_cli(SCRIPT, "--new", "--dry-run", cwd=root)
    full = run_cli(SCRIPT, "--new", "--dry-run", "-v", cwd=root)
    out = proc.stdout
    assert "): versions 000006, 000007, 000008, 000009 (new = " in lines(proc)[0]
    assert len(out.encode()) <= BUDGET, len(out)
    # What it adds, as hunks: FreshDatabase tests whole while they fit, the
    # oldest version's first; every other test named on a folded line.
    assert "+func TestMigration_000006_FreshDatabase(t *testing.T) {" in out
    folded = [l for l in out.splitlines() if l.startswith("+// ... ")]
    for version in ("000006", "000007", "000008", "000009"):
        whole = f"+func TestMigration_{version}_FreshDatabase(t *testing.T) {{" in out
        named = [l for l in folded if f"TestMigration_{version}_" in l]
        assert len(named) == 1 and "DownRestoresPrevious" in named[0] and ("FreshDatabase" in named[0]) != whole
    assert any("helper(s) " in l and "mwMigrateTo" in l for l in folded)
    assert "+import ( ... 11 packages: -v shows them )" in out
    assert any("the sample rows the upgrade tests insert" in l for l in folded)
    assert not any(l.startswith("+func mw") for l in out.splitlines())
    # -v: the whole change, which is what gets written.
    assert len(full.stdout) > 4 * len(out)
    added = [l[1:] for l in full.stdout.splitlines() if l.startswith("+") and not l.startswith("+++")]
    run_cli(SCRIPT, "--new", cwd=root)
    assert "\n".join(added) + "\n" == (root / TEST_FILE).read_text()


def test_a_shown_test_folds_its_row_literals_into_one_line_per_call(tmp_path):
    root = shipped_project(tmp_path, {k: v for k, v in NEW_VERSIONS.items() if k.startswith("000007")})
    out = run_cli(SCRIPT, "--new", "--dry-run", cwd=root).stdout
    assert '+\tmwRequireRows(t, db, "tag", ...) // 1 row(s): -v shows them' in out
    assert "'urgent'" not in out and '"urgent"' not in out


# -- Go ------------------------------------------------------------------------------------------


@pytest.mark.go
@pytest.mark.slow
def test_the_tests_generated_for_two_new_versions_compile_and_pass(tmp_path):
    """The assistant's loop: --new, update the pinned line it reports, go test."""
    if shutil.which("go") is None:
        pytest.skip("Go is not installed; .ci/run requires it")
    root = shipped_project(tmp_path)
    rc, out = run_json(SCRIPT, "--new", cwd=root)
    assert rc == 1 and out["written"] is True and len(out["added"]) == 6
    (place,) = out["pinned"]["places"]
    pinned = root / place["file"]
    text = pinned.read_text().splitlines(keepends=True)
    line = text[place["line"] - 1]
    assert line[place["col"] - 1:].startswith("5")
    text[place["line"] - 1] = line[: place["col"] - 1] + "7" + line[place["col"]:]
    pinned.write_text("".join(text))
    assert run_json(SCRIPT, "--new", cwd=root)[0] == 0  # nothing left to update
    vet = subprocess.run(["go", "vet", "./..."], cwd=root, capture_output=True, text=True, timeout=900)
    assert vet.returncode == 0, vet.stdout + vet.stderr
    test = subprocess.run(["go", "test", "-count=1", "-json", "./..."], cwd=root, capture_output=True, text=True,
                          timeout=900)
    results = {}
    for raw in test.stdout.splitlines():
        try:
            event = json.loads(raw)
        except ValueError:
            continue
        if event.get("Test") and event.get("Action") in ("pass", "fail", "skip"):
            results[event["Test"]] = event["Action"]
    generated = {name: results.get(name) for name in out["added"]}
    assert test.returncode == 0, test.stdout[-3000:] + test.stderr[-3000:]
    assert set(generated.values()) == {"pass"}, generated
    assert results.get("TestOpenMigratesToTheNewestVersion") == "pass"
    assert re.search(r"TestMigration_000007_DownRestoresPrevious", " ".join(results))
