"""Generated tests follow the app's driver: a cgo-free project (golang-migrate's
database/sqlite + modernc.org/sqlite) gets tests that compile and pass with
CGO_ENABLED=0, and the module commands make_test_stub prints are exactly the
ones that make a fresh module's tests build.

One temp copy of tests/fixtures/stub_modernc (golang-migrate v4.19.1,
modernc.org/sqlite v1.18.1, testify v1.11.1), after "the assistant" adds
migration 000010, holds:

- store: tests generated for the padded versions 000008, 000009, 000010
  (driver detected, not given), and the project's own tests with the places
  make_test_stub reported as pinning version 9 changed to 10;
- storepinned: the same package left alone: exactly its pinning tests fail;
- fkon: tests generated with foreign keys on (the project facts the app's
  `_pragma=foreign_keys(1)` DSN gives), for a migration whose result depends
  on enforcement: they pass only if modernc really enforces them.

That module is vetted and tested once. Two fresh modules (go.mod with no
requirement, one per driver) then get the printed commands run, then
`go vet ./... && go test ./...`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Tuple

import pytest

from conftest import run_json, write_files
from mwcore.folder import scan_folder
from mwcore.gotest import plan_stub, write_stub
from mwcore.project import read_project_facts

pytestmark = [pytest.mark.go, pytest.mark.slow]

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "stub_modernc"
PINNING_TESTS = {"TestMigration_FreshDatabase", "TestReopenKeepsTheVersion"}
NEAR_MISS_TESTS = {"TestForeignKeysAreOn", "TestMigrateToNineExplicitly", "TestNineNotes", "TestDownToNothing"}

MIGRATION_10 = {
    "000010_note_archived.up.sql": (
        "ALTER TABLE note ADD COLUMN archived_at TEXT;\n"
        "CREATE INDEX idx_note_archived ON note (archived_at) WHERE archived_at IS NOT NULL;\n"
    ),
    "000010_note_archived.down.sql": "DROP INDEX idx_note_archived;\nALTER TABLE note DROP COLUMN archived_at;\n",
}

# Version 2 deletes a parent: with foreign keys on, ON DELETE CASCADE takes
# its child rows along, and the generated tests assert that.
FK_MIGRATIONS = {
    "1_init.up.sql": (
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id) ON DELETE CASCADE, label TEXT);\n"
        "INSERT INTO parent (id, name) VALUES (1, 'old'), (2, 'kept');\n"
        "INSERT INTO child (id, parent_id, label) VALUES (1, 1, 'goes'), (2, 2, 'stays');\n"
    ),
    "1_init.down.sql": "DROP TABLE child;\nDROP TABLE parent;\n",
    "2_drop_old.up.sql": "DELETE FROM parent WHERE name = 'old';\n",
    "2_drop_old.down.sql": "-- data only: the deleted rows are not brought back\n",
}

FRESH_MIGRATIONS = {
    "000001_item.up.sql": "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n",
    "000001_item.down.sql": "DROP TABLE item;\n",
    "000002_item_rank.up.sql": "ALTER TABLE item ADD COLUMN rank INTEGER NOT NULL DEFAULT 0;\nCREATE INDEX idx_item_rank ON item (rank);\n",
    "000002_item_rank.down.sql": "DROP INDEX idx_item_rank;\nALTER TABLE item DROP COLUMN rank;\n",
}


def _go(module: Path, *args: str, cgo: bool = False, timeout: int = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ, CGO_ENABLED="1" if cgo else "0")
    return subprocess.run(["go", *args], cwd=module, env=env, capture_output=True, text=True, timeout=timeout)


def _test_results(stdout: str) -> Dict[Tuple[str, str], str]:
    results = {}
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("Test") and "/" not in event["Test"] and event.get("Action") in ("pass", "fail", "skip"):
            results[(event["Package"].rsplit("/", 1)[-1], event["Test"])] = event["Action"]
    return results


def _change_literal(path: Path, line: int, col: int, old: str, new: str) -> None:
    lines = path.read_text().split("\n")
    text = lines[line - 1]
    assert text[col - 1 : col - 1 + len(old)] == old, (text, col)
    lines[line - 1] = text[: col - 1] + new + text[col - 1 + len(old) :]
    path.write_text("\n".join(lines))


@dataclass
class ModerncRun:
    module: Path
    generated: Dict[str, dict]
    vet: subprocess.CompletedProcess
    results: Dict[Tuple[str, str], str]
    output: str

    def outcome(self, package: str, test: str) -> str:
        return self.results.get((package, test), "not run")


@pytest.fixture(scope="module")
def modernc_run(tmp_path_factory: pytest.TempPathFactory) -> ModerncRun:
    if shutil.which("go") is None:
        pytest.skip("Go is not installed; .ci/run requires it")
    module = tmp_path_factory.mktemp("modernc") / "notes"
    shutil.copytree(FIXTURE, module)
    write_files(module / "store" / "migrations", MIGRATION_10)
    shutil.copytree(module / "store", module / "storepinned")
    generated: Dict[str, dict] = {}
    for version in ("000008", "000009", "000010"):
        rc, payload = run_json("make_test_stub.py", "--dir", "store/migrations", "--version", version, cwd=module)
        assert rc == (1 if version == "000010" else 0), payload
        generated[version] = payload
    for place in generated["000010"]["pinned"]["places"]:
        if place["file"].startswith("store/"):  # storepinned keeps its pins
            _change_literal(module / place["file"], place["line"], place["col"], "9", "10")

    fk_folder = write_files(module / "fkon" / "migrations", FK_MIGRATIONS)
    project = read_project_facts(fk_folder)
    project.foreign_keys = True  # what the app's DSN `_pragma=foreign_keys(1)` means
    for version in (1, 2):
        plan = plan_stub(scan_folder(fk_folder), version, project=project, driver="modernc")
        assert not plan.problems, plan.problems
        write_stub(plan)
        generated[f"fkon {version}"] = {"added": plan.added_tests}

    vet = _go(module, "vet", "./...")
    test = _go(module, "test", "-count=1", "-json", "./...")
    return ModerncRun(module, generated, vet, _test_results(test.stdout), test.stdout[-4000:] + test.stderr[-4000:])


def test_the_driver_is_detected_and_nothing_needs_go_get(modernc_run: ModerncRun) -> None:
    payload = modernc_run.generated["000008"]

    assert payload["driver"] == "modernc"
    assert payload["setup"] is None and payload["status"] == "ok"


def test_generated_modernc_tests_vet_and_pass_without_cgo(modernc_run: ModerncRun) -> None:
    added = [name for v in ("000008", "000009", "000010") for name in modernc_run.generated[v]["added"]]

    assert modernc_run.vet.returncode == 0, modernc_run.vet.stderr
    assert len(added) == 9
    assert {modernc_run.outcome("store", name) for name in added} == {"pass"}, modernc_run.output


def test_padded_versions_8_9_and_10_are_decimal_in_go(modernc_run: ModerncRun) -> None:
    text = (modernc_run.module / "store" / "migrate_test.go").read_text()

    # 000008 would not compile and 000010 would mean 8: both would fail the run above.
    assert "mwMigrateTo(t, path, 8)" in text and "mwMigrateTo(t, path, 10)" in text
    assert "TestMigration_000010_UpgradeFromV9" in modernc_run.generated["000010"]["added"]
    assert modernc_run.outcome("store", "TestMigration_000010_UpgradeFromV9") == "pass"


def test_the_app_opens_the_generated_databases_through_modernc(modernc_run: ModerncRun) -> None:
    assert modernc_run.generated["000010"]["style"] == "mediaz"
    assert "mwRequireAppOpens" in (modernc_run.module / "store" / "migrate_test.go").read_text()


def test_the_report_names_each_pin_in_every_package_of_the_module(modernc_run: ModerncRun) -> None:
    places = {(p["file"], p["line"]) for p in modernc_run.generated["000010"]["pinned"]["places"]}

    assert places == {(f"{pkg}/store_test.go", line) for pkg in ("store", "storepinned") for line in (14, 33, 46)}


def test_updating_the_reported_places_is_all_the_project_tests_need(modernc_run: ModerncRun) -> None:
    hand_written = PINNING_TESTS | NEAR_MISS_TESTS

    assert {modernc_run.outcome("store", name) for name in hand_written} == {"pass"}, modernc_run.output


def test_without_the_update_exactly_the_pinning_tests_fail(modernc_run: ModerncRun) -> None:
    outcomes = {name: modernc_run.outcome("storepinned", name) for name in PINNING_TESTS | NEAR_MISS_TESTS}

    assert {n for n, o in outcomes.items() if o == "fail"} == PINNING_TESTS, outcomes
    assert {outcomes[n] for n in NEAR_MISS_TESTS} == {"pass"}


def test_the_modernc_dsn_really_enforces_foreign_keys(modernc_run: ModerncRun) -> None:
    text = (modernc_run.module / "fkon" / "migrate_test.go").read_text()
    added = modernc_run.generated["fkon 1"]["added"] + modernc_run.generated["fkon 2"]["added"]

    # Without enforcement the cascade would not happen and FreshDatabase of 2 would fail.
    assert 'sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")' in text
    assert 'mwRequireNoRows(t, db, "child", []string{"id"}' in text
    assert added and {modernc_run.outcome("fkon", name) for name in added} == {"pass"}, modernc_run.output


# ----------------------------------------------------------- fresh modules


@pytest.mark.parametrize("driver", ["mattn", "modernc"])
def test_in_a_fresh_module_the_printed_commands_make_the_tests_build_and_pass(tmp_path: Path, driver: str) -> None:
    if shutil.which("go") is None:
        pytest.skip("Go is not installed; .ci/run requires it")
    root = tmp_path / "fresh"
    write_files(root, {"go.mod": "module example.com/fresh\n\ngo 1.26\n"})
    write_files(root / "db" / "migrations", FRESH_MIGRATIONS)

    rc, payload = run_json("make_test_stub.py", "--dir", "db/migrations", "--driver", driver, cwd=root)
    assert rc == 1 and payload["written"] and payload["setup"], payload
    setup = subprocess.run(["bash", "-c", payload["setup"]], cwd=root, capture_output=True, text=True, timeout=900)
    vet = _go(root, "vet", "./...", cgo=driver == "mattn")
    test = _go(root, "test", "-count=1", "./...", cgo=driver == "mattn")
    rc_after, after = run_json("make_test_stub.py", "--dir", "db/migrations", "--driver", driver, cwd=root)

    assert setup.returncode == 0, setup.stderr
    assert vet.returncode == 0, vet.stdout + vet.stderr
    assert test.returncode == 0, test.stdout[-3000:] + test.stderr[-3000:]
    assert rc_after == 0 and after["setup"] is None, "go.mod and go.sum are complete now"
    go_mod = (root / "go.mod").read_text()
    assert ("modernc.org/sqlite v1.18.1" in go_mod) == (driver == "modernc")
    assert ("github.com/mattn/go-sqlite3 v1.14.32" in go_mod) == (driver == "mattn")
    assert "github.com/golang-migrate/migrate/v4 v4.19.1" in go_mod and "github.com/stretchr/testify v1.11.1" in go_mod


def test_the_advice_of_before_fails_in_a_fresh_module(tmp_path: Path) -> None:
    """Why the command names packages: the old advice, bare module paths,
    leaves go.sum without the hashes of what testify/require imports."""
    if shutil.which("go") is None:
        pytest.skip("Go is not installed; .ci/run requires it")
    root = tmp_path / "fresh"
    write_files(root, {"go.mod": "module example.com/fresh\n\ngo 1.26\n"})
    write_files(root / "db" / "migrations", FRESH_MIGRATIONS)
    run_json("make_test_stub.py", "--dir", "db/migrations", "--driver", "modernc", cwd=root)

    old = subprocess.run(["bash", "-c", "go get github.com/golang-migrate/migrate/v4@v4.19.1 modernc.org/sqlite@v1.18.1 "
                          "github.com/stretchr/testify@v1.11.1"], cwd=root, capture_output=True, text=True, timeout=900)
    vet = _go(root, "vet", "./...")

    assert old.returncode == 0, old.stderr
    assert vet.returncode != 0 and "missing go.sum entry" in vet.stderr
