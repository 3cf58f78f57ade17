"""Specification of install.sh, run for real against a temp HOME.

Most tests install from a small fake checkout (the real install.sh copied next
to known files), so they can plant things that must NOT be installed and do
not depend on what the rest of the skill holds today. The last test installs
the real checkout and runs the real demo.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Tuple

import pytest

REPO = Path(__file__).resolve().parents[1]
SKILL_NAME = "migration-writer"
MANIFEST = ".migration-writer-manifest"
MIGRATIONS = "examples/pkg/storage/sqlite/migrations"

# Stand-in for the scripts the demo runs (next_version.py, rebuild_table.py):
# logs how it was called, then behaves
# like a careless script by writing into --dir, so tests can check the demo
# only ever points it at a throwaway copy. MW_FAKE_EXIT makes it fail.
FAKE_NEXT_VERSION = """\
#!/usr/bin/env python3
import os, sys
from pathlib import Path
with open(os.environ["MW_FAKE_LOG"], "a") as log:
    log.write(os.getcwd() + " " + " ".join(sys.argv[1:]) + "\\n")
folder = Path(sys.argv[sys.argv.index("--dir") + 1])
(folder / "000002_written_by_demo.up.sql").write_text("-- demo\\n")
print("current: 1, next: 2")
sys.exit(int(os.environ.get("MW_FAKE_EXIT", "0")))
"""

# path -> (content, executable): what a skill install holds. Every real
# script gets the stand-in, so the demo's steps all run against fakes.
SKILL_FILES: Dict[str, Tuple[str, bool]] = {
    "SKILL.md": ("---\nname: migration-writer\n---\n# Writing migrations\n", False),
    "references/sqlite-alter-table.md": ("# ALTER TABLE in SQLite\n", False),
    "scripts/next_version.py": (FAKE_NEXT_VERSION, True),
    **{f"scripts/{p.name}": (FAKE_NEXT_VERSION, True) for p in sorted((REPO / "scripts").glob("*.py"))},
    "scripts/mwcore/__init__.py": ('"""Shared core."""\n', False),
    "examples/go.mod": ("module example.com/demo\n\ngo 1.22\n", False),
    f"{MIGRATIONS}/000001_init.up.sql": ("CREATE TABLE note (id INTEGER PRIMARY KEY);\n", False),
    f"{MIGRATIONS}/000001_init.down.sql": ("DROP TABLE note;\n", False),
}

# Development files in the checkout that an install must leave out.
DEVELOPMENT_FILES = [
    "README.md",
    "tests/test_core.py",
    "bench/bench_lint.py",
    ".ci/run",
    ".git/HEAD",
    ".gitignore",
    "examples/.gitignore",
    "scripts/__pycache__/next_version.cpython-311.pyc",
    "scripts/mwcore/stale.pyc",
    ".pytest_cache/README.md",
    "examples/.pytest_cache/v/cache/lastfailed",
    "examples/mediaz.db",
    "examples/mediaz.db-wal",
]


@dataclass
class Setup:
    checkout: Path
    home: Path
    env: Dict[str, str]
    log: Path

    @property
    def claude_dir(self) -> Path:
        return self.home / ".claude"

    @property
    def dest(self) -> Path:
        return self.claude_dir / "skills" / SKILL_NAME

    def run(self, *args: str, env: Dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.checkout / "install.sh"), *args],
            env=env or self.env,
            cwd=self.checkout.parent,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def install(self, *args: str) -> subprocess.CompletedProcess:
        result = self.run(*args)
        assert result.returncode == 0, result.stdout + result.stderr
        return result


def write_file(path: Path, content: str, executable: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    path.chmod(0o755 if executable else 0o644)


def make_checkout(root: Path) -> Path:
    root.mkdir(parents=True)
    shutil.copy2(REPO / "install.sh", root / "install.sh")
    for relative, (content, executable) in SKILL_FILES.items():
        write_file(root / relative, content, executable)
    for relative in DEVELOPMENT_FILES:
        write_file(root / relative, "not for installing\n")
    return root


def base_env(home: Path, tmp: Path) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CLAUDE_CONFIG_DIR"}
    env["HOME"] = str(home)
    env["TMPDIR"] = str(tmp)
    return env


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    home = tmp_path / "home"
    home.mkdir()
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = base_env(home, scratch)
    log = tmp_path / "next_version.log"
    env["MW_FAKE_LOG"] = str(log)
    return Setup(make_checkout(tmp_path / "checkout"), home, env, log)


def files_under(folder: Path) -> Dict[str, bytes]:
    """Relative path -> content of every file under folder, manifest excluded."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name != MANIFEST
    }


def expected_files() -> Dict[str, bytes]:
    return {path: content.encode() for path, (content, _) in SKILL_FILES.items()}


def snapshot(folder: Path) -> Dict[str, int]:
    """Relative path -> mtime in ns of everything under folder, folders included."""
    return {
        str(p.relative_to(folder)): p.lstat().st_mtime_ns
        for p in [folder, *folder.rglob("*")]
    }


def backups(claude_dir: Path) -> list:
    folder = claude_dir / "skill-backups"
    return sorted(folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------- where to


def test_installs_the_skill_files_into_claude_folder_under_home(setup: Setup) -> None:
    result = setup.install()

    assert files_under(setup.dest) == expected_files()
    assert f"Installed {len(SKILL_FILES)} files to {setup.dest}" in result.stdout


def test_installs_into_claude_config_dir_when_it_is_set(setup: Setup, tmp_path: Path) -> None:
    config = tmp_path / "config"
    env = dict(setup.env, CLAUDE_CONFIG_DIR=str(config))

    result = setup.run(env=env)

    assert result.returncode == 0, result.stderr
    assert files_under(config / "skills" / SKILL_NAME) == expected_files()
    assert not setup.claude_dir.exists()


def test_project_option_installs_into_the_projects_claude_folder(setup: Setup, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()

    setup.install("--project", str(project))

    assert files_under(project / ".claude" / "skills" / SKILL_NAME) == expected_files()
    assert not setup.claude_dir.exists()


def test_project_option_needs_an_existing_folder(setup: Setup, tmp_path: Path) -> None:
    result = setup.run("--project", str(tmp_path / "missing"))

    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert not (tmp_path / "missing").exists()


# ------------------------------------------------------------------ what


@pytest.mark.parametrize("development_file", DEVELOPMENT_FILES)
def test_development_files_are_not_installed(setup: Setup, development_file: str) -> None:
    setup.install()

    assert not (setup.dest / development_file).exists()


def test_executable_bits_are_kept(setup: Setup) -> None:
    setup.install()

    assert os.access(setup.dest / "scripts/next_version.py", os.X_OK)
    assert not os.access(setup.dest / "SKILL.md", os.X_OK)


def test_manifest_holds_a_sha256_for_every_installed_file(setup: Setup) -> None:
    setup.install()

    entries = {}
    for line in (setup.dest / MANIFEST).read_text().splitlines():
        if line.startswith("#"):
            continue
        digest, _executable, path = line.split(" ", 2)
        entries[path] = digest
    assert entries == {
        path: hashlib.sha256(content).hexdigest() for path, content in expected_files().items()
    }


# ----------------------------------------------------------- idempotence


def test_second_run_reports_up_to_date_and_changes_nothing(setup: Setup) -> None:
    setup.install()
    before = snapshot(setup.claude_dir)

    result = setup.install()

    assert "Already up to date" in result.stdout
    assert snapshot(setup.claude_dir) == before


def test_caches_left_by_running_the_installed_scripts_are_not_changes(setup: Setup) -> None:
    setup.install()
    write_file(setup.dest / "scripts/mwcore/__pycache__/__init__.cpython-311.pyc", "bytecode")

    result = setup.install()

    assert "Already up to date" in result.stdout
    assert backups(setup.claude_dir) == []


def test_modified_install_is_backed_up_before_reinstalling(setup: Setup) -> None:
    setup.install()
    (setup.dest / "SKILL.md").write_text("my local edits\n")

    result = setup.install()

    [backup] = backups(setup.claude_dir)
    assert (backup / "SKILL.md").read_text() == "my local edits\n"
    assert str(backup) in result.stdout
    assert files_under(setup.dest) == expected_files()


def test_backup_is_kept_outside_the_skills_folder(setup: Setup) -> None:
    """A copy inside skills/ would be loaded as a second skill."""
    setup.install()
    (setup.dest / "SKILL.md").write_text("my local edits\n")

    setup.install()

    assert [p.name for p in (setup.claude_dir / "skills").iterdir()] == [SKILL_NAME]
    assert backups(setup.claude_dir)[0].name.startswith(f"{SKILL_NAME}-")


def test_install_of_an_older_version_is_backed_up_before_upgrading(setup: Setup) -> None:
    setup.install()
    write_file(setup.checkout / "references/new-topic.md", "# New in this version\n")

    setup.install()

    [backup] = backups(setup.claude_dir)
    assert not (backup / "references/new-topic.md").exists()
    assert (setup.dest / "references/new-topic.md").exists()


def test_project_install_backups_stay_in_the_project(setup: Setup, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    setup.install("--project", str(project))
    (project / ".claude/skills" / SKILL_NAME / "SKILL.md").write_text("edited\n")

    setup.install("--project", str(project))

    assert len(backups(project / ".claude")) == 1
    assert not setup.claude_dir.exists()


# --------------------------------------------------------------- dry run


def test_dry_run_writes_nothing(setup: Setup) -> None:
    result = setup.install("--dry-run")

    assert list(setup.home.iterdir()) == []
    assert f"Would install {len(SKILL_FILES)} files to {setup.dest}" in result.stdout


def test_dry_run_over_a_modified_install_changes_nothing(setup: Setup) -> None:
    setup.install()
    (setup.dest / "SKILL.md").write_text("my local edits\n")
    before = snapshot(setup.claude_dir)

    result = setup.install("--dry-run")

    assert snapshot(setup.claude_dir) == before
    assert "Would move the existing install" in result.stdout
    assert "changed: SKILL.md" in result.stdout


# ------------------------------------------------------------- uninstall


def test_uninstall_removes_installed_files_but_keeps_a_user_added_file(setup: Setup) -> None:
    setup.install()
    (setup.dest / "my-notes.md").write_text("mine\n")

    setup.install("--uninstall")

    assert files_under(setup.dest) == {"my-notes.md": b"mine\n"}
    assert not (setup.dest / MANIFEST).exists()
    assert not (setup.dest / "scripts").exists(), "emptied folders are removed"


def test_uninstall_of_an_untouched_install_removes_its_folder(setup: Setup) -> None:
    setup.install()

    result = setup.install("--uninstall")

    assert not setup.dest.exists()
    assert f"Removed {len(SKILL_FILES)} files" in result.stdout


def test_uninstall_also_removes_caches_left_by_the_installed_scripts(setup: Setup) -> None:
    setup.install()
    write_file(setup.dest / "scripts/mwcore/__pycache__/__init__.cpython-311.pyc", "bytecode")

    setup.install("--uninstall")

    assert not setup.dest.exists()


@pytest.mark.parametrize("user_file", [
    "scripts/important.pyc",
    "examples/__pycache__/userfile.txt",
    "scripts/mwcore/__pycache__/notes.cpython-311.pyc",  # no scripts/mwcore/notes.py was installed
    "references/.pytest_cache/keep.md",
])
def test_uninstall_keeps_user_files_that_only_look_like_caches(setup: Setup, user_file: str) -> None:
    setup.install()
    write_file(setup.dest / user_file, "mine\n")
    write_file(setup.dest / "scripts/mwcore/__pycache__/__init__.cpython-311.opt-1.pyc", "bytecode")

    result = setup.install("--uninstall")

    assert files_under(setup.dest) == {user_file: b"mine\n"}
    assert user_file in result.stdout


def test_uninstall_keeps_a_file_changed_since_install(setup: Setup) -> None:
    setup.install()
    (setup.dest / "SKILL.md").write_text("my local edits\n")

    result = setup.install("--uninstall")

    assert (setup.dest / "SKILL.md").read_text() == "my local edits\n"
    assert "SKILL.md" in result.stdout


def test_uninstall_without_a_manifest_removes_nothing(setup: Setup) -> None:
    setup.install()
    (setup.dest / MANIFEST).unlink()

    result = setup.run("--uninstall")

    assert result.returncode == 1
    assert MANIFEST in result.stderr
    assert files_under(setup.dest) == expected_files()


def test_uninstall_dry_run_removes_nothing(setup: Setup) -> None:
    setup.install()
    before = snapshot(setup.claude_dir)

    result = setup.install("--uninstall", "--dry-run")

    assert snapshot(setup.claude_dir) == before
    assert "Would remove SKILL.md" in result.stdout


# ------------------------------------------------------ usage and checks


def test_help_prints_usage(setup: Setup) -> None:
    result = setup.install("--help")

    assert result.stdout.startswith("Usage: ./install.sh")


def test_unknown_option_exits_2_with_one_sentence_and_usage(setup: Setup) -> None:
    result = setup.run("--frobnicate")

    assert result.returncode == 2
    assert result.stderr.startswith("install.sh: unknown option '--frobnicate'.\nUsage:")
    assert not setup.claude_dir.exists()


def test_missing_python3_exits_2_with_one_sentence(setup: Setup, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin-without-python"
    bin_dir.mkdir()
    for system_dir in (Path("/usr/bin"), Path("/bin")):
        for tool in system_dir.iterdir():
            if not tool.name.startswith("python") and not (bin_dir / tool.name).exists():
                (bin_dir / tool.name).symlink_to(tool)
    env = dict(setup.env, PATH=str(bin_dir))

    result = setup.run(env=env)

    assert result.returncode == 2
    assert result.stderr == (
        "install.sh: python3 was not found on PATH; "
        "the skill's scripts need Python 3.9 or newer.\n"
    )


def test_python_older_than_3_9_exits_2(setup: Setup, tmp_path: Path) -> None:
    bin_dir = tmp_path / "old-python"
    write_file(bin_dir / "python3", "#!/bin/sh\necho 3.8\n", executable=True)
    env = dict(setup.env, PATH=f"{bin_dir}{os.pathsep}{setup.env['PATH']}")

    result = setup.run(env=env)

    assert result.returncode == 2
    assert "python3 is version 3.8" in result.stderr
    assert not setup.claude_dir.exists()


# ------------------------------------------------------------------ demo


def test_demo_runs_each_demo_command_on_a_temp_copy_of_the_installed_examples(setup: Setup) -> None:
    result = setup.install("--demo")

    calls = setup.log.read_text().splitlines()
    assert [call.split(" ", 1)[1] for call in calls] == [
        f"--dir {MIGRATIONS}",
        f"--dir {MIGRATIONS} --create add_demo_column --dry-run",
        f"media_item --dir {MIGRATIONS} --not-null release_year --fill release_year 0 --create require_release_year --dry-run",
        f"--dir {MIGRATIONS}",
        f"--dir {MIGRATIONS}",
        f"--dir {MIGRATIONS}",
        f"--dir {MIGRATIONS}",
    ]
    assert all(not call.startswith(str(setup.dest)) for call in calls)
    assert files_under(setup.dest) == expected_files(), "the installed copy is untouched"
    assert list((setup.home.parent / "tmp").iterdir()) == [], "the temp copy is removed"
    assert "Demo finished" in result.stdout


def test_failing_demo_command_is_named_and_exits_nonzero(setup: Setup) -> None:
    env = dict(setup.env, MW_FAKE_EXIT="3")

    result = setup.run("--demo", env=env)

    assert result.returncode != 0
    assert "demo step failed (exit 3): Current and next migration version" in result.stderr
    assert "next_version.py --dir" in result.stderr


def test_demo_of_the_real_checkout_succeeds_and_leaves_the_install_untouched(tmp_path: Path) -> None:
    for needed in ("SKILL.md", "scripts/next_version.py", MIGRATIONS):
        if not (REPO / needed).exists():
            pytest.skip(f"{needed} does not exist yet, so the real demo cannot run")
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "tmp").mkdir()

    result = subprocess.run(
        [str(REPO / "install.sh"), "--demo"],
        env=base_env(home, tmp_path / "tmp"),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    dest = home / ".claude/skills" / SKILL_NAME
    for line in (dest / MANIFEST).read_text().splitlines():
        if not line.startswith("#"):
            digest, _executable, path = line.split(" ", 2)
            assert hashlib.sha256((dest / path).read_bytes()).hexdigest() == digest, path
    assert not any("add_demo_column" in p.name for p in dest.rglob("*"))
    assert not (dest / "tests").exists()


# ------------------------------------------------- hostile or broken places


def test_relative_claude_config_dir_works_for_the_demo(setup: Setup) -> None:
    env = dict(setup.env, CLAUDE_CONFIG_DIR="relative-config")

    result = setup.run("--demo", env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    dest = setup.checkout.parent / "relative-config" / "skills" / SKILL_NAME
    assert files_under(dest) == expected_files()
    assert "Demo finished" in result.stdout


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_staging_folder_a_killed_install_left_is_removed_by_the_next_run(setup: Setup) -> None:
    stale = setup.claude_dir / f".{SKILL_NAME}-staging.{dead_pid()}.a1B2c3"
    live = setup.claude_dir / f".{SKILL_NAME}-staging.{os.getpid()}.d4E5f6"
    other = setup.claude_dir / ".someone-else-staging.1.x"
    for folder in (stale, live, other):
        write_file(folder / "scripts/next_version.py", "half copied")

    result = setup.install()

    assert not stale.exists() and f"Removed {stale}" in result.stdout
    assert live.exists(), "a live install's staging folder stays"
    assert other.exists(), "only migration-writer's staging folders are touched"


def test_a_staging_folder_left_by_a_killed_install_sh_is_cleaned_for_real(setup: Setup) -> None:
    proc = subprocess.Popen([str(setup.checkout / "install.sh")], env=setup.env, cwd=setup.checkout.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not list(setup.claude_dir.glob(f".{SKILL_NAME}-staging.*")) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    proc.kill()
    proc.wait()
    left = list(setup.claude_dir.glob(f".{SKILL_NAME}-staging.*"))
    if not left:
        pytest.skip("install.sh finished before it could be killed mid-copy")

    setup.install()

    assert list(setup.claude_dir.glob(f".{SKILL_NAME}-staging.*")) == []
    assert files_under(setup.dest) == expected_files()


@pytest.mark.parametrize("blocker", ["skills", "skills/migration-writer", ""])
def test_a_file_in_the_way_is_one_sentence_and_exit_2(setup: Setup, tmp_path: Path, blocker: str) -> None:
    config = tmp_path / "config"
    if blocker:
        write_file(config / blocker, "a file, not a folder\n")
    else:
        write_file(config, "the config folder is a file\n")
    env = dict(setup.env, CLAUDE_CONFIG_DIR=str(config))

    for args in ((), ("--dry-run",)):
        result = setup.run(*args, env=env)

        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("install.sh: ")
        assert "not a folder" in result.stderr and "mkdir" not in result.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.fixture
def unprivileged(tmp_path: Path):
    """A Setup whose install.sh runs as a user that permissions bind: this
    user, or, under root, `nobody` (setpriv), in a folder that user can use."""
    if os.geteuid() != 0:
        home, scratch = tmp_path / "home", tmp_path / "tmp"
        home.mkdir()
        scratch.mkdir()
        yield Setup(make_checkout(tmp_path / "checkout"), home, base_env(home, scratch), tmp_path / "log"), []
        return
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: read-only folders do not stop root")
    root = Path(tempfile.mkdtemp(prefix="mw-install-"))
    try:
        root.chmod(0o755)
        home, scratch = root / "home", root / "tmp"
        checkout = make_checkout(root / "checkout")
        for folder in (home, scratch):
            folder.mkdir()
            os.chown(folder, 65534, 65534)
        yield (Setup(checkout, home, base_env(home, scratch), root / "log"),
               [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_as(prefix: list, setup: Setup, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, str(setup.checkout / "install.sh"), *args], env=setup.env,
                          cwd=setup.home, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("read_only", ["config", "skills"])
def test_a_read_only_target_is_one_sentence_and_exit_2(unprivileged, read_only: str) -> None:
    setup, prefix = unprivileged
    assert run_as(prefix, setup, "--dry-run").returncode == 0  # the user can install here at all
    folder = setup.claude_dir / ("skills" if read_only == "skills" else "")
    folder.mkdir(parents=True)
    if prefix:
        os.chown(setup.claude_dir, 65534, 65534)
        os.chown(folder, 65534, 65534)
    folder.chmod(0o555)

    result = run_as(prefix, setup)

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "read-only" in result.stderr
    assert not setup.dest.exists()


def test_uninstall_from_a_read_only_install_removes_nothing_and_says_so(unprivileged) -> None:
    setup, prefix = unprivileged
    assert run_as(prefix, setup).returncode == 0
    (setup.dest / "scripts").chmod(0o555)

    result = run_as(prefix, setup, "--uninstall")

    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stdout + result.stderr
    assert "nothing was removed" in result.stderr
    assert files_under(setup.dest) == expected_files()
