"""verify_migrations.py on a project with history: the new versions get the
whole up/down/up protocol and a verdict, the shipped ones are only counted
(default), only applied as golang-migrate applies them (--new) or reported
too (--all); the summary counts ok apart from not run; up-only folders are
said once; output budgets on realistic fixtures.

Fixtures: tests/fixtures/shipped_history.py (96 shipped versions full of
what real projects ship, a clean new pair on top), the messy_history module
(an old down that fails, an up-only version, a rebuild that lost its
indexes) and the example module, each committed in a git repository made in
tmp_path with the new pair untracked, as the assistant has just written it.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Dict

import pytest

from conftest import EXAMPLES, ROOT, run_cli, run_json, write_files

sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
from shipped_history import SHIPPED, git, write_project  # noqa: E402

SCRIPT = "verify_migrations.py"
NEW = SHIPPED + 1
MESSY = ROOT / "tests" / "fixtures" / "projects" / "messy_history"
MESSY_DIR = Path("internal/store/migrations")
ARCHIVED = {
    "000006_task_archived_at.up.sql": "-- when a user archived the task (NULL: never)\n"
                                      "ALTER TABLE task ADD COLUMN archived_at TEXT;\n",
    "000006_task_archived_at.down.sql": "-- archive times are lost\nALTER TABLE task DROP COLUMN archived_at;\n",
}


def lines(proc) -> list:
    return proc.stdout.splitlines()


def commit_all(root: Path, message: str = "shipped") -> None:
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    """The 96-version shipped history in git with a clean, untracked new pair (read only)."""
    return write_project(tmp_path_factory.mktemp("history"))


def messy(tmp_path: Path, new: Dict[str, str] = ARCHIVED, *, use_git: bool = True) -> Path:
    """A copy of the messy_history module, shipped in git, with `new` untracked; returns its root."""
    root = tmp_path / "messy"
    shutil.copytree(MESSY, root)
    if use_git:
        commit_all(root)
    write_files(root / MESSY_DIR, new)
    return root


def example_module(tmp_path: Path) -> Path:
    """examples/ shipped in git, with a clean new pair untracked."""
    root = tmp_path / "app"
    shutil.copytree(EXAMPLES, root)
    commit_all(root)
    write_files(root / "pkg" / "storage" / "sqlite" / "migrations",
                {"000005_library_note.up.sql": "ALTER TABLE library ADD COLUMN note TEXT;\n",
                 "000005_library_note.down.sql": "ALTER TABLE library DROP COLUMN note;\n"})
    return root


# -- budgets ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [[], ["--new"]], ids=["default", "new"])
def test_a_clean_new_pair_in_a_real_go_module_stays_within_the_budgets(tmp_path, mode):
    """The project object every script carries is part of the 1 KB."""
    root = example_module(tmp_path)
    proc = run_cli(SCRIPT, *mode, cwd=root)
    raw = run_cli(SCRIPT, *mode, "--json", cwd=root).stdout
    assert proc.returncode == 0 and len(lines(proc)) <= 3, proc.stdout
    assert lines(proc)[0].startswith("pkg/storage/sqlite/migrations (") and ": new version 5 ok: up, down, up again" in lines(proc)[0]
    assert len(raw.encode()) <= 1024, (len(raw), raw)
    out = json.loads(raw)
    assert out["status"] == "ok" and out["scope"]["new"] == [5] and [s["version"] for s in out["steps"]] == [5]
    assert out["project"]["driver"] == "sqlite3" and {out["steps"][0][c] for c in ("up", "down", "roundtrip", "reup", "data", "integrity")} == {"ok"}


def test_a_clean_new_pair_on_a_history_full_of_shipped_problems_is_at_most_five_lines(history):
    proc = run_cli(SCRIPT, "--dir", str(history))
    out = lines(proc)
    assert proc.returncode == 0 and len(out) <= 5, proc.stdout
    assert f": new version {NEW} ok: up, down, up again" in out[0] and "new = not committed yet (HEAD is at main)" in out[0]
    shipped = [l for l in out if "shipped versions have problems" in l]
    assert len(shipped) == 1 and shipped[0].endswith("not shown (--all lists them)")
    assert out[-1].startswith("project: ")
    fast = run_cli(SCRIPT, "--dir", str(history), "--new")
    assert fast.returncode == 0 and len(lines(fast)) <= 3, fast.stdout


def dense_history(folder: Path) -> Path:
    """The shipped history without the files that stop golang-migrate's run
    (a BEGIN in a wrapped file, a default SQLite refuses on rows, the app's
    SQL function): every version is replayed, and some sixty have problems."""
    from shipped_history import history_files

    stoppers = ("rename_state_", "add_touched_at_", "slug_names_")
    return write_files(folder, {n: t for n, t in history_files().items() if not any(k in n for k in stoppers)})


def test_no_run_prints_more_than_4kb_without_all_or_v(history, tmp_path):
    bare = write_project(tmp_path / "bare", use_git=False)  # no git: every version is new
    dense = dense_history(tmp_path / "dense")
    for folder, extra in ((history, []), (history, ["--new"]), (bare, []), (bare, ["--new"]),
                          (bare, ["--foreign-keys", "on"]), (bare, ["--allow-missing-down"]), (bare, ["--no-data"]),
                          (dense, []), (dense, ["--foreign-keys", "on"])):
        proc = run_cli(SCRIPT, "--dir", str(folder), *extra)
        assert proc.returncode in (0, 1) and len(proc.stdout.encode()) <= 4096, (extra, len(proc.stdout), proc.stdout)
    # The cap is real: on the dense history a last line counts what did not
    # fit, and -v (or --all) prints it all.
    capped = run_cli(SCRIPT, "--dir", str(dense))
    assert any(l.startswith("... and ") and l.endswith("more lines not shown (-v prints them; --json has every "
                                                        "version's problems)") for l in lines(capped)), capped.stdout
    for extra in (["-v"], ["--all"]):
        assert len(run_cli(SCRIPT, "--dir", str(dense), *extra).stdout.encode()) > 4096, extra
    # Whatever is cut, how to recover where golang-migrate stops is always there.
    assert "golang-migrate's own up/down/up run stops at" in capped.stdout


def test_rows_in_messages_are_written_as_sql_values(tmp_path):
    dense = dense_history(tmp_path / "dense")
    rc, data = run_json(SCRIPT, "--dir", str(dense))
    (step,) = [s for s in data["steps"] if s["version"] == 4]
    assert "note_3=NULL before" in step["error"] and "name='mw item_001.name" in step["error"], step["error"]


def test_a_long_failing_chain_groups_problems_that_share_a_cause(tmp_path):
    """Seventy versions with the same missing down: one line, a count, the first places."""
    files = {f"{v:06d}_t{v}.up.sql": f"CREATE TABLE t{v} (id INTEGER PRIMARY KEY);\n" for v in range(1, 71)}
    files["000001_t1.down.sql"] = "DROP TABLE t1;\n"  # one down: not an up-only folder
    folder = write_files(tmp_path / "m", files)
    proc = run_cli(SCRIPT, "--dir", str(folder))
    missing = [l for l in lines(proc) if "has no down file" in l]
    assert proc.returncode == 1 and len(missing) == 1, proc.stdout
    assert "; the same at 000003_t3.up.sql, 000004_t4.up.sql, 000005_t5.up.sql and 65 more (-v lists them)" in missing[0]
    assert len(proc.stdout.encode()) <= 4096


def test_the_example_module_checked_from_its_root_is_under_4kb():
    """The before-stop hook runs verify_migrations.py in examples/ with no option."""
    proc = run_cli(SCRIPT, cwd=EXAMPLES)
    assert proc.returncode == 0 and len(proc.stdout.encode()) <= 4096, proc.stdout + proc.stderr
    assert len(lines(proc)) <= 3, proc.stdout


# -- what each mode checks ----------------------------------------------------------------------


def test_messy_history_reports_the_new_pair_and_counts_the_shipped_problems(tmp_path):
    root = messy(tmp_path)
    proc = run_cli(SCRIPT, cwd=root)
    out = lines(proc)
    assert proc.returncode == 0 and len(out) == 3, proc.stdout
    assert ": new version 6 ok: " in out[0] and "after the 5 shipped ones" in out[0]
    assert out[1] == "2 shipped versions have problems, not shown (--all lists them)"
    rc, data = run_json(SCRIPT, cwd=root)
    assert [s["version"] for s in data["steps"]] == [6]
    assert data["shipped"] == {"versions": 5, "problems": 2, "failing": [3, 5]}
    # --all lists them and fails on them.
    rc, everything = run_json(SCRIPT, "--all", cwd=root)
    assert rc == 1 and everything["summary"]["failing"] == [3, 5] and "shipped" not in everything
    assert "000005_task_due.down.sql" in everything["steps"][4]["error"]


def test_new_applies_the_shipped_versions_without_verdicts(tmp_path):
    root = messy(tmp_path)
    proc = run_cli(SCRIPT, "--new", cwd=root)
    assert proc.returncode == 0 and len(lines(proc)) == 2, proc.stdout
    rc, data = run_json(SCRIPT, "--new", cwd=root)
    assert [s["version"] for s in data["steps"]] == [6] and "shipped" not in data
    assert data["scope"] == {"mode": "new", "new": [6], "how": "not committed yet (HEAD is at main)"}


def test_a_new_pair_that_breaks_is_reported_whatever_the_shipped_history(tmp_path):
    bad = {"000006_task_archived_at.up.sql": "ALTER TABLE task ADD COLUMN archived_at TEXT;\n"
                                             "CREATE INDEX task_archived_at ON task (archived_at);\n",
           "000006_task_archived_at.down.sql": "ALTER TABLE task DROP COLUMN archived_at;\n"}  # the index is still there
    root = messy(tmp_path, bad)
    for mode in ([], ["--new"]):
        rc, data = run_json(SCRIPT, *mode, cwd=root)
        (step,) = data["steps"]
        assert rc == 1 and step["version"] == 6 and step["down"] == "failed", (mode, data)
        assert "000006_task_archived_at.down.sql:1" in step["error"]
        assert data["stop"]["version"] == 6


SHIPPED_DEFAULT_NOW = {
    # Shipped that way: fails on any table with rows, passes on the empty
    # database golang-migrate builds on a fresh install.
    "000006_task_created_at.up.sql": "ALTER TABLE task ADD COLUMN created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP;\n",
    "000006_task_created_at.down.sql": "ALTER TABLE task DROP COLUMN created_at;\n",
}


@pytest.mark.parametrize("mode", [[], ["--new"]], ids=["default", "new"])
def test_from_n_checks_n_and_above_without_replaying_older_versions_with_synthetic_rows(tmp_path, mode):
    """`verify --from N` used to replay the older versions with synthetic
    rows, fail on one that only fails with rows, and end with "nothing
    replayed". Now they are shipped: applied (--new) or judged apart
    (default), and version N is checked."""
    new = {name.replace("000006_", "000007_"): text for name, text in ARCHIVED.items()}
    root = messy(tmp_path, {**SHIPPED_DEFAULT_NOW, **new}, use_git=False)
    proc = run_cli(SCRIPT, "--from", "7", *mode, cwd=root)
    assert proc.returncode == 0 and "nothing replayed" not in proc.stdout, proc.stdout
    assert ": new version 7 ok: " in lines(proc)[0] and "new = --from 7" in lines(proc)[0]
    rc, data = run_json(SCRIPT, "--from", "7", *mode, cwd=root)
    assert rc == 0 and [s["version"] for s in data["steps"]] == [7] and data["status"] == "ok"


def test_a_shipped_up_that_fails_is_one_line_and_the_state_goes_on_from_there(tmp_path):
    """000006 (BEGIN in a wrapped file), 000068 (a function the app
    registers) ... fail in the shipped chain: each is skipped as the
    rollback leaves it, the first is named with file:line, and the tables of
    the later versions are still built for the new pair to use."""
    files = {f"{NEW:06d}_x.up.sql": "ALTER TABLE item_095 ADD COLUMN y TEXT;\n",
             f"{NEW:06d}_x.down.sql": "ALTER TABLE item_095 DROP COLUMN y;\n"}
    folder = write_project(tmp_path / "app", new=files)
    proc = run_cli(SCRIPT, "--dir", str(folder), "--new")
    out = lines(proc)
    assert proc.returncode == 0, proc.stdout
    (failure,) = [l for l in out if l.startswith("shipped ")]
    assert "000006_rename_state_6.up.sql:1 fails on the scratch database (cannot start a transaction within a transaction)" in failure
    assert "approximate state" in failure and "more shipped files failed; -v lists them" in failure
    every = [l for l in lines(run_cli(SCRIPT, "--dir", str(folder), "--new", "-v")) if l.startswith("shipped ")]
    assert len(every) == 11 and "000068_slug_names_68.up.sql:1 fails too (no such function: slugify)" in every[7]
    rc, data = run_json(SCRIPT, "--dir", str(folder), "--new")
    paths = [f["path"] for f in data["shipped_failures"]]
    assert paths[0].endswith("000006_rename_state_6.up.sql:1") and len(paths) == 5
    assert "no such function: slugify" in json.dumps(run_json(SCRIPT, "--dir", str(folder), "--new", "-v")[1])


def test_by_default_new_versions_golang_migrate_never_reaches_are_still_checked(history):
    """The full replay stops at a shipped up (000006): the new pair is
    checked from the state the shipped chain can build, and the summary
    says how many shipped versions were never run."""
    proc = run_cli(SCRIPT, "--dir", str(history))
    out = lines(proc)
    assert proc.returncode == 0 and f": new version {NEW} ok: " in out[0], proc.stdout
    (shipped,) = [l for l in out if "shipped versions have problems" in l]
    assert "were not run (golang-migrate stops at the up of version 6)" in shipped
    rc, data = run_json(SCRIPT, "--dir", str(history))
    assert data["steps"][0]["version"] == NEW and data["steps"][0]["up"] == "ok"
    assert data["shipped"]["not_run"] >= 80 and data["shipped"]["problems"] >= 5


def test_new_never_reads_a_shipped_down(tmp_path):
    folder = write_project(tmp_path / "app")
    (folder / "000099_index_state_99.down.sql").write_bytes(b"DROP INDEX \xff\xfe;\n")  # not UTF-8
    git(folder.parents[1], "commit", "-qam", "a down nobody can read")
    assert run_cli(SCRIPT, "--dir", str(folder)).returncode == 2  # the whole replay reads it
    rc, data = run_json(SCRIPT, "--dir", str(folder), "--new")
    assert rc == 0 and data["status"] == "ok" and [s["version"] for s in data["steps"]] == [NEW]


def test_new_with_nothing_new_says_so_in_two_lines(tmp_path):
    root = messy(tmp_path, {})
    proc = run_cli(SCRIPT, "--new", cwd=root)
    assert proc.returncode == 0 and len(lines(proc)) == 2, proc.stdout
    assert lines(proc)[0].startswith("ok: no new version in ") and "nothing to verify" in lines(proc)[0]
    default = run_cli(SCRIPT, cwd=root)
    assert default.returncode == 0 and ": no new version; 5 shipped versions replayed: " in lines(default)[0]


def test_an_edited_shipped_migration_is_one_line_and_checked_again(tmp_path):
    root = messy(tmp_path)
    path = root / MESSY_DIR / "000004_task_notes.up.sql"
    path.write_text(path.read_text().replace("body    TEXT", "body    TEXT NOT NULL DEFAULT ''"))
    proc = run_cli(SCRIPT, "--new", cwd=root)
    about = [l for l in lines(proc) if "000004_task_notes.up.sql: warning: version 4 is in main (it shipped) and was changed" in l]
    assert len(about) == 1 and "SKILL.md Rule 1" in about[0], proc.stdout
    rc, data = run_json(SCRIPT, "--new", cwd=root)
    assert data["scope"]["new"] == [4, 6] and data["scope"]["edited"] == [4]
    assert [s["version"] for s in data["steps"]] == [4, 6]  # 5 is replayed too, but shipped: counted
    assert data["shipped"]["versions"] == 1


def test_several_edited_shipped_migrations_are_one_line_not_one_each(tmp_path):
    root = messy(tmp_path)
    for name in ("000002_task_priority.down.sql", "000004_task_notes.down.sql", "000005_task_due.down.sql"):
        path = root / MESSY_DIR / name
        path.write_text(path.read_text() + "SELECT 1;\n")
    proc = run_cli(SCRIPT, "--new", cwd=root)
    about = [l for l in lines(proc) if "(it shipped) and was changed" in l]
    assert len(about) == 1 and "the same for" in about[0], proc.stdout
    assert all(v in about[0] for v in ("000002_task_priority", "000004_task_notes", "000005_task_due")), about[0]
    rc, data = run_json(SCRIPT, "--new", cwd=root)
    assert [(e["severity"], e.get("count")) for e in data["edited"]] == [("warning", 3)], data["edited"]


# -- the summary tells the truth ----------------------------------------------------------------


def chain(count: int, overrides: Dict[str, str]) -> Dict[str, str]:
    files = {}
    for v in range(1, count + 1):
        files[f"{v:06d}_t{v}.up.sql"] = f"CREATE TABLE t{v} (id INTEGER PRIMARY KEY, a TEXT);\n"
        files[f"{v:06d}_t{v}.down.sql"] = f"DROP TABLE t{v};\n"
    files.update(overrides)
    return files


def test_ok_and_not_run_are_counted_apart(tmp_path):
    folder = write_files(tmp_path / "m", chain(25, {"000003_t3.up.sql": "CREATE TABLE t3 (id INTEGER PRIMARY KEY);\nSELECT * FROM nope;\n"}))
    proc = run_cli(SCRIPT, "--dir", str(folder))
    assert proc.returncode == 1
    assert "(24 other versions: 2 ok, 22 not run because an up failed; -v lists them)" in proc.stdout, proc.stdout
    assert "all ok" not in proc.stdout
    rc, data = run_json(SCRIPT, "--dir", str(folder))
    assert data["summary"]["ok"] == 2 and data["summary"]["failing"] == [3] and len(data["summary"]["not_run"]) == 22


def test_the_version_golang_migrate_stops_at_is_never_folded_into_the_others(tmp_path):
    """Version 2's down works from the state it should see, so its verdict
    is ok, but golang-migrate's own run stops there: version 3's down left
    the index that makes DROP COLUMN fail. Its row stays in the table."""
    folder = write_files(tmp_path / "m", chain(25, {
        "000002_t2.up.sql": "ALTER TABLE t1 ADD COLUMN b TEXT;\n",
        "000002_t2.down.sql": "ALTER TABLE t1 DROP COLUMN b;\n",
        "000003_t3.up.sql": "CREATE INDEX t1_b ON t1 (b);\n",
        "000003_t3.down.sql": "-- forgot DROP INDEX t1_b\nSELECT 1;\n",
    }))
    proc = run_cli(SCRIPT, "--dir", str(folder))
    rows = [l for l in lines(proc) if l.startswith("000002 ")]
    assert proc.returncode == 1 and len(rows) == 1 and rows[0].endswith("<- golang-migrate stops here"), proc.stdout
    assert "(23 other versions: 23 ok; -v lists them)" in proc.stdout


# -- up-only folders --------------------------------------------------------------------------


UP_ONLY = {f"{v:06d}_t{v}.up.sql": f"CREATE TABLE t{v} (id INTEGER PRIMARY KEY);\n" for v in range(1, 74)}


def test_an_up_only_folder_is_said_once_with_no_missing_noise(tmp_path):
    folder = write_files(tmp_path / "m", UP_ONLY)
    proc = run_cli(SCRIPT, "--dir", str(folder))
    out = lines(proc)
    assert proc.returncode == 0 and len(out) == 3, proc.stdout
    assert sum("up-only folder" in l for l in out) == 1 and "missing" not in proc.stdout
    rc, data = run_json(SCRIPT, "--dir", str(folder))
    assert data["up_only"] is True and data["status"] == "ok"
    assert not any(s.get("notes") or s.get("problems") or s.get("error") for s in data["steps"])


def test_allow_missing_down_leaves_no_note_per_version(tmp_path):
    files = {**UP_ONLY, "000001_t1.down.sql": "DROP TABLE t1;\n"}  # one down: not up-only
    folder = write_files(tmp_path / "m", files)
    strict = run_cli(SCRIPT, "--dir", str(folder))
    assert strict.returncode == 1 and "has no down file" in strict.stdout
    proc = run_cli(SCRIPT, "--dir", str(folder), "--allow-missing-down")
    assert proc.returncode == 0 and len(lines(proc)) == 2, proc.stdout
    assert "(missing downs allowed)" in lines(proc)[0] and "has no down file" not in proc.stdout
    rc, data = run_json(SCRIPT, "--dir", str(folder), "--allow-missing-down")
    assert rc == 0 and not any(s.get("notes") for s in data["steps"]), [s for s in data["steps"] if s.get("notes")]


# -- help ---------------------------------------------------------------------------------------


def test_help_says_how_the_scope_options_relate():
    text = run_cli(SCRIPT, "--help").stdout
    for option in ("--new", "--all", "--since", "--from", "--to"):
        assert option in text
    assert "--from N is the scope's" in text and "--to N stops the replay" in text


def test_with_new_a_step_that_fails_only_on_synthetic_rows_is_still_a_warning(tmp_path):
    """The rows seeded at the first new version, shared by both runs, are
    taken away for the probe: the start state without them is the shipped
    one, as golang-migrate built it."""
    files = {"000001_t.up.sql": "CREATE TABLE t(id INTEGER PRIMARY KEY, active INT NOT NULL CHECK (active IN (0, 1)));",
             "000001_t.down.sql": "DROP TABLE t;"}
    root = tmp_path / "app"
    write_files(root / "m", files)
    commit_all(root)
    write_files(root / "m", {"000002_one.up.sql": "CREATE UNIQUE INDEX t_active ON t(active);",
                             "000002_one.down.sql": "DROP INDEX t_active;"})
    for mode in ([], ["--new"], ["--from", "2"]):
        rc, data = run_json(SCRIPT, "--dir", str(root / "m"), *mode)
        (step,) = data["steps"]
        assert rc == 0 and step["up"] == "data-dependent" and data["summary"]["warnings"] == [2], (mode, data)


def test_new_with_a_real_database_applies_its_pending_shipped_versions_and_names_the_rows_that_break_the_new_one(tmp_path):
    import sqlite3

    unique = {"000006_task_title_unique.up.sql": "CREATE UNIQUE INDEX task_title ON task (title);\n",
              "000006_task_title_unique.down.sql": "DROP INDEX task_title;\n"}
    root = messy(tmp_path, unique)
    db = tmp_path / "tasks.db"
    conn = sqlite3.connect(str(db))
    for name in ("000001_init.up.sql", "000002_task_priority.up.sql", "000003_inbox_project.up.sql"):
        conn.executescript((root / MESSY_DIR / name).read_text())
    conn.executescript("CREATE TABLE schema_migrations (version uint64, dirty bool);"
                       "INSERT INTO schema_migrations VALUES (3, 0);"
                       "INSERT INTO task (title) VALUES ('Buy milk'), ('Buy milk'), ('Call Ann');")
    conn.commit()
    conn.close()
    rc, data = run_json(SCRIPT, "--new", "--db", str(db), cwd=root)
    (step,) = data["steps"]
    assert rc == 1 and data["start_version"] == 3 and step["version"] == 6 and step["up"] == "failed", data
    (check,) = step["prechecks"]
    assert check["check"] == "unique" and check["count"] == 1 and "Buy milk" in str(check["sample"]), check
    text = run_cli(SCRIPT, "--new", "--db", str(db), cwd=root).stdout
    assert "at version 3 after the 2 shipped ones" not in text  # it failed: no "ok" line
    assert "000006_task_title_unique.up.sql: rows of " in text and "UNIQUE constraint failed: task.title" in text


def test_a_new_version_a_shipped_failure_keeps_from_its_second_up_is_checked_from_the_shipped_state(tmp_path):
    """The full replay cannot rebuild the state a shipped down needs (the
    shipped up in the way fails on synthetic rows), so the new version's
    second up never runs there: "ok: up, down, up again" would be a lie.
    Its verdict comes from the --new replay instead, whole."""
    root = tmp_path / "app"
    write_files(root / "m", {
        "000001_t.up.sql": "CREATE TABLE t (id INTEGER PRIMARY KEY, active INT NOT NULL CHECK (active IN (0, 1)));\n",
        "000001_t.down.sql": "DROP TABLE t;\n",
        "000002_c.up.sql": "CREATE UNIQUE INDEX t_active ON t (active);\n",
        "000002_c.down.sql": "DROP INDEX t_active;\n",
        "000003_i.up.sql": "CREATE INDEX t_a ON t (id, active);\n",
        "000003_i.down.sql": "DROP INDEX nope;\n",
    })
    commit_all(root)
    write_files(root / "m", {"000004_u.up.sql": "CREATE TABLE u (id INTEGER PRIMARY KEY);\n",
                             "000004_u.down.sql": "DROP TABLE u;\n"})
    everything = run_json(SCRIPT, "--dir", str(root / "m"), "--all")[1]
    assert everything["steps"][3]["reup"] == "skipped"  # what the full replay alone gives the new version
    rc, data = run_json(SCRIPT, "--dir", str(root / "m"))
    (step,) = data["steps"]
    assert rc == 0 and {step[c] for c in ("up", "down", "roundtrip", "reup", "data", "integrity")} == {"ok"}, step
    assert data["summary"] == {"versions": 1, "ok": 1} and data["shipped"]["problems"] == 1


def test_a_new_pair_committed_on_a_feature_branch_is_new_against_the_merge_base(tmp_path):
    folder = write_project(tmp_path / "app", commit_new=True)
    rc, data = run_json(SCRIPT, "--dir", str(folder), "--new")
    assert rc == 0 and data["scope"]["new"] == [NEW] and data["scope"]["how"].startswith("changed against main (merge base ")
    first = git(folder.parents[1], "rev-list", "--max-parents=0", "HEAD").strip()
    rc, data = run_json(SCRIPT, "--dir", str(folder), "--new", "--since", first)
    assert rc == 0 and data["scope"]["how"] == f"changed against {first}" and [s["version"] for s in data["steps"]] == [NEW]


@pytest.mark.parametrize("args,message", [
    (["--all", "--since", "main"], "--all lists every version"),
    (["--all", "--from", "3"], "--all lists every version"),
    (["--new", "--all"], "not allowed with argument"),
    (["--since", "no-such-ref"], "no such commit or branch"),
    (["--from", "-1"], "versions are not negative"),
    (["--from", "x1"], "is not a version"),
])
def test_scope_usage_errors_are_one_sentence(history, args, message):
    proc = run_cli(SCRIPT, "--dir", str(history), *args)
    assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
