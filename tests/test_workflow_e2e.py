"""SKILL.md's workflow, followed literally, as an assistant would in chat.

The skill is installed with install.sh into a temp HOME; every ```sh block of
the Workflow section runs, in order, in a git repository holding a copy of
examples/ or of the messy_history fixture (a shipped history with real
defects and an app test pinning the newest version) as the user's shipped
project, with ${CLAUDE_SKILL_DIR} pointing at the installed skill. Where the
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
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

import pytest
from markdown_it import MarkdownIt

from conftest import EXAMPLES, ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "projects"

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


@dataclass(frozen=True)
class Project:
    """A user's project and what the assistant does in it where SKILL.md has
    it write code: the SQL after Step 3, the app (and the tests the script
    names as pinning the newest version) in Step 7."""

    source: Path
    migrations: str
    package: str  # the store package, in place of pkg/storage/sqlite in the commands
    change: str  # the pair's name, in place of nullable_preset_container
    rebuild: str  # rebuild_table.py's table and change, in place of the example's
    created: Tuple[str, ...]
    generated: Tuple[str, ...]
    write_sql: Callable
    update_app: Callable
    repair: Optional[Callable] = None  # (skill, env, project, spec, step, failed run) -> whether it fixed something

    def command(self, code: str) -> str:
        return (code.replace(MIGRATIONS, self.migrations)
                .replace("./pkg/storage/sqlite/", f"./{self.package}/")
                .replace("nullable_preset_container", self.change)
                .replace("encoding_preset --nullable container", self.rebuild))


def shipped_repo(source: Path, where: Path, env: dict) -> Path:
    """The project as a user has it: a git repository whose main branch holds
    the shipped migrations (so the scripts' --new means what the assistant adds)."""
    shutil.copytree(source, where, ignore=shutil.ignore_patterns("*.db", "*.db-*"))
    git = {**env, "GIT_AUTHOR_NAME": "u", "GIT_AUTHOR_EMAIL": "u@example.com", "GIT_COMMITTER_NAME": "u",
           "GIT_COMMITTER_EMAIL": "u@example.com"}
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "shipped"]):
        assert run(cmd, where, git).returncode == 0
    return where


def test_following_skill_md_adds_a_working_migration(installed, tmp_path, kind):
    skill, env = installed
    spec = PROJECTS[kind]
    project = shipped_repo(spec.source, tmp_path / "project", env)
    migrations = project / spec.migrations
    before = set(os.listdir(migrations))
    wrote_sql = updated_app = False
    for step, code in workflow_blocks():
        if step.startswith("Step 4") and not wrote_sql:
            spec.write_sql(skill, env, project, spec, before)
            wrote_sql = True
        if step.startswith("Step 7") and not updated_app:
            spec.update_app(skill, env, project, spec)
            updated_app = True
        command = spec.command(code)
        proc = run(["bash", "-eu", "-o", "pipefail", "-c", command], project, env)
        if proc.returncode != 0 and spec.repair is not None and spec.repair(skill, env, project, spec, step, proc):
            # What the assistant does with a report it can act on: fix what it names, run the step again.
            proc = run(["bash", "-eu", "-o", "pipefail", "-c", command], project, env)
        assert proc.returncode == 0, f"{step}: exit {proc.returncode}\n{command}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        if kind == "messy_history" and ("validate_pairs.py" in command or "verify_migrations.py" in command):
            # The shipped history's problems never reach the new pair's check.
            assert len(proc.stdout.encode()) <= 4096 and len(proc.stdout.splitlines()) <= 5, proc.stdout
    assert wrote_sql and updated_app, "the workflow never reached Step 4 (validate) or Step 7 (the app)"

    assert sorted(set(os.listdir(migrations)) - before) == list(spec.created)
    tests = (project / spec.package / "migrate_test.go").read_text()
    for name in spec.generated:
        assert name in tests, name

    final = run(["bash", "-c", "go vet ./... && go test -count=1 ./..."], project, env)
    assert final.returncode == 0, final.stdout[-3000:] + final.stderr[-3000:]


def update_the_example_app(skill: Path, env: dict, project: Path, spec: "Project") -> None:
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


def write_the_rebuild(skill: Path, env: dict, project: Path, spec: "Project", before: set, data=("", "")) -> None:
    """What the assistant writes in Step 3: the generated rebuild and a data
    fix, into the pair Step 2 created."""
    table, *change = spec.rebuild.split()
    proc = run(["python3", str(skill / "scripts" / "rebuild_table.py"), table, *change,
                "--dir", spec.migrations, "--json"], project, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rebuild = json.loads(proc.stdout)
    migrations = project / spec.migrations
    (up,) = [migrations / n for n in set(os.listdir(migrations)) - before if n.endswith(".up.sql")]
    down = up.with_name(up.name.replace(".up.sql", ".down.sql"))
    up.write_text(up.read_text() + "\n" + rebuild["up_sql"] + data[0], encoding="utf-8")
    down.write_text(down.read_text() + data[1] + "\n" + rebuild["down_sql"], encoding="utf-8")


def update_the_messy_app(skill: Path, env: dict, project: Path, spec: "Project") -> None:
    """The tracker scans project.name, now nullable (NULL shows as "(unnamed)")."""
    tasks = project / spec.package / "tasks.go"
    code = tasks.read_text()
    scan = "rows.Scan(&p.ID, &p.Name, &p.Open)"
    assert scan in code, "the fixture's store changed; update this test's edit"
    code = code.replace("\t\tvar p Project\n", "\t\tvar p Project\n\t\tvar name sql.NullString\n")
    code = code.replace(scan, "rows.Scan(&p.ID, &name, &p.Open)")
    code = code.replace("\t\tout = append(out, p)", "\t\tp.Name = name.String\n\t\tif !name.Valid {\n\t\t\tp.Name = \"(unnamed)\"\n\t\t}\n\t\tout = append(out, p)")
    code = code.replace('import "context"', 'import (\n\t"context"\n\t"database/sql"\n)')
    tasks.write_text(code)


def fix_pinned_versions(skill: Path, env: dict, project: Path, spec: "Project", step: str, failed) -> bool:
    """Step 6 exits 1 naming the app's tests that expect the old newest
    version: change each place it lists (read from --json), as SKILL.md says."""
    if not step.startswith("Step 6") or "expect 5 as the newest version" not in failed.stdout:
        return False
    proc = run(["python3", str(skill / "scripts" / "make_test_stub.py"), "--dir", spec.migrations, "--new", "--dry-run",
                "--json"], project, env)
    pinned = json.loads(proc.stdout)["pinned"]
    assert pinned and pinned["places"], proc.stdout
    for place in pinned["places"]:
        path = project / place["file"]
        lines = path.read_text().splitlines(keepends=True)
        lines[place["line"] - 1] = lines[place["line"] - 1].replace(str(place["expected"]), "6")
        path.write_text("".join(lines))
    return True


PROJECTS = {
    "examples": Project(
        EXAMPLES, MIGRATIONS, "pkg/storage/sqlite", "nullable_preset_container", "encoding_preset --nullable container",
        ("000005_nullable_preset_container.down.sql", "000005_nullable_preset_container.up.sql"),
        tuple(f"func TestMigration_000005_{n}(" for n in
              ("FreshDatabase", "UpgradeFromV4", "PreservesUserModifications", "DownRestoresPrevious")),
        lambda skill, env, project, spec, before: write_the_rebuild(skill, env, project, spec, before,
                                                                     (DATA_FIX_UP, DATA_FIX_DOWN)),
        update_the_example_app),
    # A shipped history with a failing old down, an up-only version, an IF NOT
    # EXISTS, a rebuild that lost its indexes, and an app test pinning 5.
    "messy_history": Project(
        FIXTURES / "messy_history", "internal/store/migrations", "internal/store", "relax_project_name",
        "project --nullable name",
        ("000006_relax_project_name.down.sql", "000006_relax_project_name.up.sql"),
        tuple(f"func TestMigration_000006_{n}(" for n in ("FreshDatabase", "UpgradeFromV5", "DownRestoresPrevious")),
        write_the_rebuild, update_the_messy_app, fix_pinned_versions),
}


@pytest.fixture(params=sorted(PROJECTS))
def kind(request) -> str:
    return request.param
