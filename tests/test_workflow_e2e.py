"""SKILL.md's workflow, followed literally, as an assistant would in chat.

The skill is installed with install.sh into a temp HOME; every ```sh block of
the Workflow section runs, in order, in a copy of examples/ (the user's
project), with ${CLAUDE_SKILL_DIR} pointing at the installed skill. Where the
assistant would write SQL (after Step 3), this test writes it: the rebuild
the script printed, plus a data fix that keeps user edits. The run must end
with the linter, the replay and the generated Go tests green and
`go vet ./... && go test ./...` passing. If SKILL.md's commands drift from
the scripts, a block fails here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import List, Tuple

import pytest
from markdown_it import MarkdownIt

from conftest import EXAMPLES, ROOT

pytestmark = [pytest.mark.go, pytest.mark.slow]

MIGRATIONS = "pkg/storage/sqlite/migrations"

# The data fix of the scenario: the built-in 'Original' preset keeps its
# source container (NULL) from now on, but only where the user never edited
# that preset: every shipped value must still match.
DATA_FIX_UP = """
-- Data: the built-in 'Original' preset keeps the source container from now
-- on, unless the user edited that preset (every shipped value must match).
UPDATE encoding_preset
SET container = NULL
WHERE id = 3 AND name = 'Original' AND container = 'mkv'
  AND max_bitrate_kbps IS NULL AND hw_accel = 0;
"""
DATA_FIX_DOWN = """
-- Data: give the untouched 'Original' preset its shipped container back.
UPDATE encoding_preset
SET container = 'mkv'
WHERE id = 3 AND name = 'Original' AND container IS NULL
  AND max_bitrate_kbps IS NULL AND hw_accel = 0;
"""


def workflow_blocks() -> List[Tuple[str, str]]:
    """(step heading, shell code) of every ```sh block in the Workflow section."""
    text = (ROOT / "SKILL.md").read_text(encoding="utf-8")
    tokens = MarkdownIt().parse(text)
    blocks, section, step = [], None, ""
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            title = tokens[index + 1].content
            if token.tag == "h2":
                section = title
            elif token.tag == "h3":
                step = title
        elif token.type == "fence" and section == "Workflow" and token.info.strip() == "sh":
            blocks.append((step, token.content))
    return blocks


def run(cmd, cwd: Path, env: dict, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=str(cwd), env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Tuple[Path, dict]:
    home = tmp_path_factory.mktemp("home")
    env = {k: v for k, v in os.environ.items() if k != "CLAUDE_CONFIG_DIR"}
    # A new HOME, but Go keeps using the machine's module and build caches
    # (they default to paths under HOME; a fresh cache rebuilds mattn's cgo).
    for name in ("GOCACHE", "GOMODCACHE", "GOPATH"):
        value = subprocess.run(["go", "env", name], capture_output=True, text=True).stdout.strip()
        if value:
            env[name] = value
    env["HOME"] = str(home)
    proc = run([str(ROOT / "install.sh")], ROOT, env)
    assert proc.returncode == 0, proc.stderr
    skill = home / ".claude" / "skills" / "migration-writer"
    assert (skill / "SKILL.md").is_file()
    env["CLAUDE_SKILL_DIR"] = str(skill)
    return skill, env


def test_the_workflow_has_runnable_steps():
    steps = [step for step, _ in workflow_blocks()]
    assert any(s.startswith("Step 2") for s in steps) and any(s.startswith("Step 6") for s in steps)
    for _, code in workflow_blocks():
        for script in re.findall(r"scripts/(\w+\.py)", code):
            assert "${CLAUDE_SKILL_DIR}/scripts/" + script in code, f"{script}: invoke it via ${{CLAUDE_SKILL_DIR}}"
            assert (ROOT / "scripts" / script).is_file(), script


def test_following_skill_md_adds_a_working_migration(installed, tmp_path):
    skill, env = installed
    project = tmp_path / "project"
    shutil.copytree(EXAMPLES, project, ignore=shutil.ignore_patterns("*.db", "*.db-*"))
    migrations = project / MIGRATIONS
    before = set(os.listdir(migrations))
    wrote_sql = updated_app = False
    for step, code in workflow_blocks():
        if step.startswith("Step 4") and not wrote_sql:
            write_the_migration(skill, env, project, migrations, before)
            wrote_sql = True
        if step.startswith("Step 7") and not updated_app:
            update_the_app(project)
            updated_app = True
        proc = run(["bash", "-eu", "-o", "pipefail", "-c", code], project, env)
        assert proc.returncode == 0, f"{step}: exit {proc.returncode}\n{code}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert wrote_sql and updated_app, "the workflow never reached Step 4 (validate) or Step 7 (the app)"

    created = sorted(set(os.listdir(migrations)) - before)
    assert created == ["000005_nullable_preset_container.down.sql", "000005_nullable_preset_container.up.sql"]
    tests = (project / "pkg" / "storage" / "sqlite" / "migrate_test.go").read_text()
    for name in ("FreshDatabase", "UpgradeFromV4", "PreservesUserModifications", "DownRestoresPrevious"):
        assert f"func TestMigration_000005_{name}(" in tests, name

    final = run(["bash", "-c", "go vet ./... && go test -count=1 ./..."], project, env)
    assert final.returncode == 0, final.stdout[-3000:] + final.stderr[-3000:]


def update_the_app(project: Path) -> None:
    """What the assistant changes in Step 7: the store scans the now
    nullable container (NULL = keep the source's container)."""
    store = project / "pkg" / "storage" / "sqlite" / "sqlite.go"
    code = store.read_text()
    scan = "rows.Scan(&p.ID, &p.Name, &p.Container, &bitrate, &p.HWAccel)"
    assert scan in code, "the example store changed; update this test's edit"
    code = code.replace("\t\tvar bitrate sql.NullInt64\n", "\t\tvar bitrate sql.NullInt64\n\t\tvar container sql.NullString\n")
    code = code.replace(scan, "rows.Scan(&p.ID, &p.Name, &container, &bitrate, &p.HWAccel)")
    code = code.replace("\t\tif bitrate.Valid {", "\t\tp.Container = container.String // empty: keep the source's container\n\t\tif bitrate.Valid {")
    store.write_text(code)


def write_the_migration(skill: Path, env: dict, project: Path, migrations: Path, before: set) -> None:
    """What the assistant writes in Step 3: the generated rebuild and a data
    fix, into the pair Step 2 created."""
    proc = run(["python3", str(skill / "scripts" / "rebuild_table.py"), "encoding_preset", "--nullable", "container",
                "--dir", MIGRATIONS, "--json"], project, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rebuild = json.loads(proc.stdout)
    (up,) = [migrations / n for n in set(os.listdir(migrations)) - before if n.endswith(".up.sql")]
    down = up.with_name(up.name.replace(".up.sql", ".down.sql"))
    up.write_text(up.read_text() + "\n" + rebuild["up_sql"] + DATA_FIX_UP, encoding="utf-8")
    down.write_text(down.read_text() + DATA_FIX_DOWN + "\n" + rebuild["down_sql"], encoding="utf-8")
