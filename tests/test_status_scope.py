"""status.py on a project with history: the new versions are listed, the
shipped ones summarised in one line (--all lists every version), pending
versions of a database are counted shipped apart from new, edited or deleted
shipped files and migrations.sum findings are grouped; output budgets on the
96-version history of tests/fixtures/shipped_history.py.

Databases are built with mwcore's golang-migrate model (GoMigrate on a
scratch database, saved to a file); the recovery itself is checked against
real golang-migrate in test_status_dirty.py.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import List

import pytest

from mwcore import engine
from mwcore.folder import scan_folder
from mwcore.gomigrate import GoMigrate
from mwcore.sqlfuncs import parse_declaration, register

from conftest import ROOT, run_cli, run_json, write_files

sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
from shipped_history import SHIPPED, git, history_files, new_pair, write_project  # noqa: E402

SCRIPT = "status.py"
NEW = SHIPPED + 1
BUDGET = 4096
MESSY = ROOT / "tests" / "fixtures" / "projects" / "messy_history"
SLUGIFY = "slugify=lower(?1)"


def lines(proc) -> List[str]:
    return proc.stdout.splitlines()


def shipped_counts():
    """(versions, up only) of the shipped history, read from its files."""
    names = history_files()
    versions = {name.split("_", 1)[0] for name in names}
    up_only = {v for v in versions if not any(n.startswith(v + "_") and n.endswith(".down.sql") for n in names)}
    return len(versions), len(up_only)


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    """The shipped history in git with a clean, untracked new pair (read only)."""
    return write_project(tmp_path_factory.mktemp("history"))


@pytest.fixture(scope="module")
def clean_history(tmp_path_factory) -> Path:
    """The shipped history in git and nothing new (read only)."""
    return write_project(tmp_path_factory.mktemp("clean"), new={})


def database_at(folder: Path, path: Path, steps: int, *, no_tx_wrap: bool = True) -> Path:
    """A database golang-migrate left after `steps` ups of `folder`'s chain
    (the history's explicit BEGINs need x-no-tx-wrap to get far, and its
    000068 the app's slugify())."""
    conn = engine.scratch()
    register(conn, [parse_declaration(SLUGIFY)])
    GoMigrate(conn, scan_folder(folder), no_tx_wrap=no_tx_wrap).up(steps)
    engine.save_copy(conn, path)
    conn.close()
    return path


# -- what is listed ------------------------------------------------------------------------


def test_nothing_new_on_a_96_version_history_is_at_most_five_lines(clean_history):
    proc = run_cli(SCRIPT, "--dir", str(clean_history))
    out = lines(proc)
    versions, up_only = shipped_counts()
    assert proc.returncode == 0 and len(out) <= 5, out
    assert out[2] == "no new version (new = not committed yet (HEAD is at main))"
    assert out[3] == (f"{versions} shipped versions (000001..{SHIPPED:06d}): {versions - up_only} up+down, "
                      f"{up_only} up only (--all lists them)")


def test_a_new_pair_is_listed_and_the_shipped_versions_are_one_line(history):
    proc = run_cli(SCRIPT, "--dir", str(history))
    out = lines(proc)
    assert proc.returncode == 0, proc.stdout
    assert out[2:5] == ["1 new version (new = not committed yet (HEAD is at main)):",
                        f"  {NEW:06d}  add_item_001_archived_at  up+down",
                        out[4]] and out[4].startswith("96 shipped versions (000001..000100): ")
    assert len(out) == 5


def test_json_lists_only_the_new_versions_with_a_scope_like_validates(history):
    raw = run_cli(SCRIPT, "--dir", str(history), "--json").stdout
    out = json.loads(raw)
    versions, up_only = shipped_counts()
    assert len(raw.encode()) <= 1024, len(raw)
    assert list(out)[:3] == ["status", "dir", "project"] and out["project"]["dir"] == str(history)
    assert out["versions"] == [{"version": f"{NEW:06d}", "name": "add_item_001_archived_at", "files": "up+down"}]
    assert out["scope"] == {"mode": "default", "new": [NEW], "shipped": versions,
                            "how": "not committed yet (HEAD is at main)", "base": "main"}
    assert out["shipped"] == {"count": versions, "first": "000001", "last": "000100",
                              "up_down": versions - up_only, "up_only": up_only}
    # validate_pairs.py --json says the same about what is new.
    validated = run_json("validate_pairs.py", "--dir", str(history), "--new")[1]["scope"]
    assert {k: validated[k] for k in ("new", "shipped", "how", "base")} == {k: out["scope"][k] for k in ("new", "shipped", "how", "base")}


def test_all_lists_every_version_and_marks_the_new_one(history):
    proc = run_cli(SCRIPT, "--dir", str(history), "--all")
    listed = [l for l in lines(proc) if l.startswith("  0")]
    assert proc.returncode == 0 and len(listed) == shipped_counts()[0] + 1
    assert [l for l in listed if l.endswith("  new")] == [f"  {NEW:06d}  add_item_001_archived_at  up+down  new"]
    rc, out = run_json(SCRIPT, "--dir", str(history), "--all")
    assert len(out["versions"]) == len(listed) and [v["version"] for v in out["versions"] if v.get("new")] == [f"{NEW:06d}"]
    assert out["scope"]["mode"] == "all"


def test_new_is_the_default_listing(history):
    default = run_cli(SCRIPT, "--dir", str(history)).stdout
    assert run_cli(SCRIPT, "--dir", str(history), "--new").stdout == default


def test_since_and_from_choose_what_is_new(tmp_path):
    folder = write_project(tmp_path / "app", commit_new=True)
    rc, out = run_json(SCRIPT, "--dir", str(folder))
    assert out["scope"]["new"] == [NEW] and out["scope"]["how"].startswith("changed against main (merge base ")
    rc, out = run_json(SCRIPT, "--dir", str(folder), "--since", "HEAD")
    assert out["scope"]["new"] == [] and out["versions"] == []
    rc, out = run_json(SCRIPT, "--dir", str(folder), "--from", "99")
    assert [v["version"] for v in out["versions"]] == ["000099", "000100", f"{NEW:06d}"]
    assert out["shipped"]["last"] == "000098"


def test_without_git_every_version_is_new_and_the_listing_is_capped(tmp_path):
    folder = write_project(tmp_path / "app", use_git=False)
    proc = run_cli(SCRIPT, "--dir", str(folder))
    out = lines(proc)
    assert proc.returncode == 0 and len(proc.stdout.encode()) <= BUDGET
    assert out[2].startswith(f"{shipped_counts()[0] + 1} new versions (new = every version (no git history")
    assert out[3].startswith("  ... ") and out[3].endswith("earlier new versions (--all lists every version)")
    assert out[-1] == f"  {NEW:06d}  add_item_001_archived_at  up+down"


def test_without_git_migrations_sum_tells_what_shipped(tmp_path):
    folder = write_files(tmp_path / "m", history_files())
    assert run_cli(SCRIPT, "--dir", str(folder), "--write-sum").returncode == 0
    write_files(folder, {**new_pair(NEW), **new_pair(NEW + 1, "item_002")})
    proc = run_cli(SCRIPT, "--dir", str(folder))
    out = lines(proc)
    assert proc.returncode == 0, proc.stdout
    assert out[2] == "2 new versions (new = not recorded in migrations.sum):"
    assert out[3].endswith("  sum:new") and out[4].endswith("  sum:new")
    # The four files not summed yet are one note, not four.
    notes = [l for l in out if l.startswith("note: ")]
    assert len(notes) == 1 and notes[0].count(".sql") == 4 and "run status.py --write-sum" in notes[0]


def test_the_go_project_facts_come_first_and_the_new_pair_is_listed(tmp_path):
    root = tmp_path / "messy"
    shutil.copytree(MESSY, root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "shipped")
    folder = root / "internal" / "store" / "migrations"
    write_files(folder, {"000006_task_archived.up.sql": "ALTER TABLE task ADD COLUMN archived_at TEXT;\n",
                         "000006_task_archived.down.sql": "ALTER TABLE task DROP COLUMN archived_at;\n"})
    proc = run_cli(SCRIPT, cwd=root)
    out = lines(proc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out[1].startswith("project: driver sqlite3")
    assert out[2:4] == ["1 new version (new = not committed yet (HEAD is at main)):", "  000006  task_archived  up+down"]
    assert out[4] == "5 shipped versions (000001..000005): 4 up+down, 1 up only (--all lists them)"
    rc, data = run_json(SCRIPT, cwd=root)
    assert data["project"]["driver"] == "sqlite3" and data["project"]["dir"] == "internal/store/migrations"


def test_an_up_only_history_is_said_in_the_shipped_line(tmp_path):
    root = tmp_path / "app"
    folder = write_files(root / "db" / "migrations",
                         {name: text for name, text in history_files(30).items() if name.endswith(".up.sql")})
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "up-only history")
    write_files(folder, {"000031_note.up.sql": "ALTER TABLE item_001 ADD COLUMN note TEXT;\n"})
    out = lines(run_cli(SCRIPT, "--dir", str(folder)))
    assert out[2:] == ["1 new version (new = not committed yet (HEAD is at main)):", "  000031  note  up only",
                       "30 shipped versions (000001..000030): all up only (--all lists them)"]


# -- shipped files that changed --------------------------------------------------------------


def _edit_and_delete(folder: Path, edited: int, deleted: int) -> None:
    for name in sorted(history_files())[: edited * 2 : 2]:
        path = folder / name
        path.write_text(path.read_text() + "SELECT 2;\n")
    for name in sorted(n for n in history_files() if n.startswith("00009"))[:deleted]:
        (folder / name).unlink()


def test_edited_and_deleted_shipped_files_are_always_reported_grouped(tmp_path):
    folder = write_project(tmp_path / "app")
    _edit_and_delete(folder, edited=12, deleted=2)
    proc = run_cli(SCRIPT, "--dir", str(folder))
    out = lines(proc)
    errors = [l for l in out if ": error: deleted since main" in l]
    warnings = [l for l in out if ": warning: version " in l and "(it shipped) and was changed" in l]
    assert proc.returncode == 1 and len(errors) == 1 and len(warnings) == 1, proc.stdout
    assert warnings[0].endswith("and 8 more: -v lists them)")
    assert len(proc.stdout.encode()) <= BUDGET
    # Edited shipped versions count as new (SKILL.md Rule 1 makes them so) and say so.
    assert len([l for l in out if l.endswith("  edited (shipped)")]) == 12
    rc, data = run_json(SCRIPT, "--dir", str(folder))
    assert rc == 1 and data["status"] == "problems"
    assert [(e["severity"], e.get("count")) for e in data["edited"]] == [("error", 2), ("warning", 12)]
    every = lines(run_cli(SCRIPT, "--dir", str(folder), "-v"))
    assert not any("more: -v lists them" in l for l in every)


def test_an_edited_shipped_version_is_reported_with_a_database_too(tmp_path):
    folder = write_project(tmp_path / "app")
    _edit_and_delete(folder, edited=1, deleted=0)
    db = database_at(folder, tmp_path / "app.db", 20)
    proc = run_cli(SCRIPT, "--dir", str(folder), "--db", str(db))
    assert sum("(it shipped) and was changed since" in l for l in lines(proc)) == 1, proc.stdout


# -- with a database ---------------------------------------------------------------------------


def test_many_pending_versions_are_counted_shipped_apart_from_new(history, tmp_path):
    db = database_at(history, tmp_path / "app.db", 48)
    proc = run_cli(SCRIPT, "--dir", str(history), "--db", str(db), "--no-tx-wrap")
    out = lines(proc)
    pending = [l for l in out if l.startswith("  pending: ")]
    assert proc.returncode == 0, proc.stdout
    assert out[2] == f"{db}: version 49, clean; 48 applied, 49 pending"
    assert pending == [f"  pending: 49 versions: 48 shipped (000050..000100) and 1 new "
                       f"({NEW:06d}_add_item_001_archived_at) (-v lists them)"]
    assert f"1 new version (new = not committed yet (HEAD is at main)): {NEW:06d}" in out
    assert any(l.startswith("96 shipped versions (000001..000100): ") for l in out)
    assert len(out) <= 6
    rc, data = run_json(SCRIPT, "--dir", str(history), "--db", str(db), "--no-tx-wrap")
    database = data["database"]
    assert (database["version"], database["applied"], database["pending_count"]) == (49, 48, 49)
    assert database["pending"] == [m.version_text for m in scan_folder(history).migrations if m.version >= 50][:10]
    assert len(run_json(SCRIPT, "--dir", str(history), "--db", str(db), "--no-tx-wrap", "-v")[1]["database"]["pending"]) == 49
    every = [l for l in lines(run_cli(SCRIPT, "--dir", str(history), "--db", str(db), "--no-tx-wrap", "-v"))
             if l.startswith("  pending: ")]
    assert every[0].count(", ") == 48 and every[0].endswith(f"{NEW:06d}_add_item_001_archived_at (new)")


def test_a_few_pending_versions_are_named(history, tmp_path):
    db = database_at(history, tmp_path / "app.db", 93)
    proc = run_cli(SCRIPT, "--dir", str(history), "--db", str(db), "--no-tx-wrap", "--sql-function", SLUGIFY)
    pending = [l for l in lines(proc) if l.startswith("  pending: ")]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert pending == ["  pending: 000098_index_state_98, 000099_index_state_99, 000100_create_item_100, "
                       f"{NEW:06d}_add_item_001_archived_at (new)"]


def test_a_dirty_database_keeps_its_diagnosis_and_the_shipped_line(history, tmp_path):
    # The history's 000006 opens its own transaction inside golang-migrate's: dirty at 6.
    db = database_at(history, tmp_path / "app.db", 10, no_tx_wrap=False)
    proc = run_cli(SCRIPT, "--dir", str(history), "--db", str(db))
    out = lines(proc)
    assert proc.returncode == 1
    assert out[2].startswith(f"{db}: version 6, DIRTY")
    assert "    (in Go: m.Force(5))" in out and not any(l.startswith("  pending") for l in out)
    assert any(l.startswith("96 shipped versions (000001..000100): ") for l in out)
    assert len(proc.stdout.encode()) <= BUDGET


# -- migrations.sum ----------------------------------------------------------------------------


def test_check_sum_groups_one_kind_of_finding_into_one_line(tmp_path):
    folder = write_files(tmp_path / "m", history_files())
    assert run_cli(SCRIPT, "--dir", str(folder), "--write-sum").returncode == 0
    _edit_and_delete(folder, edited=30, deleted=0)
    proc = run_cli(SCRIPT, "--dir", str(folder), "--check-sum")
    out = lines(proc)
    assert proc.returncode == 1 and len(out) == 1, out
    assert out[0].startswith("error: 000001_create_item_001.") and "changed since it was summed" in out[0]
    assert out[0].endswith("and 26 more: -v lists them).")
    rc, data = run_json(SCRIPT, "--dir", str(folder), "--check-sum")
    (finding,) = data["findings"]
    assert (finding["kind"], finding["count"], len(finding["files"])) == ("edited", 30, 10)
    assert len(lines(run_cli(SCRIPT, "--dir", str(folder), "--check-sum", "-v"))[0].split(".sql")) == 31


# -- budgets -----------------------------------------------------------------------------------


def test_no_run_is_over_4kb_without_all_or_v(history, tmp_path):
    """Text and --json, run from the project root as the assistant does."""
    bare = write_project(tmp_path / "bare", use_git=False)
    summed = write_files(tmp_path / "summed" / "db" / "migrations", history_files())
    assert run_cli(SCRIPT, "--dir", str(summed), "--write-sum").returncode == 0
    _edit_and_delete(summed, edited=40, deleted=6)
    write_files(summed, {f"{v:06d}_dup_{n}.up.sql": "SELECT 1;\n" for v in range(2, 40) for n in (1, 2)})
    changed = write_project(tmp_path / "changed")
    _edit_and_delete(changed, edited=45, deleted=8)
    at48 = database_at(history, tmp_path / "at48.db", 48)
    dirty = database_at(history, tmp_path / "dirty.db", 10, no_tx_wrap=False)
    runs = [
        (history, []), (history, ["--new"]), (bare, []), (summed, []), (summed, ["--check-sum"]), (changed, []),
        (history, ["--db", str(at48), "--no-tx-wrap"]), (history, ["--db", str(dirty)]),
        (changed, ["--db", str(at48), "--no-tx-wrap"]),
    ]
    over = []
    for folder, extra in runs:
        root = folder.parents[1]
        proc = run_cli(SCRIPT, "--dir", "db/migrations", *extra, cwd=root)
        assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stdout.encode()) <= BUDGET, (extra, len(proc.stdout), proc.stdout)
        raw = run_cli(SCRIPT, "--dir", "db/migrations", *extra, "--json", cwd=root).stdout
        assert len(raw.encode()) <= BUDGET and json.loads(raw)["project"], (extra, len(raw))
        over.append(len(run_cli(SCRIPT, "--dir", "db/migrations", *extra, "-v", cwd=root).stdout.encode()) > BUDGET)
    # The caps are real: -v prints past the budget where there is that much to say.
    assert any(over)


# -- usage -------------------------------------------------------------------------------------


@pytest.mark.parametrize("args,message", [
    (["--check-sum", "--new"], "--write-sum and --check-sum cover every migration file"),
    (["--write-sum", "--since", "main"], "--write-sum and --check-sum cover every migration file"),
    (["--check-sum", "--from", "3"], "--write-sum and --check-sum cover every migration file"),
    (["--all", "--since", "main"], "--all lists every version"),
    (["--new", "--all"], "not allowed with argument"),
    (["--since", "no-such-ref"], "no such commit or branch"),
])
def test_scope_usage_errors_are_one_sentence(history, args, message):
    proc = run_cli(SCRIPT, "--dir", str(history), *args)
    assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
