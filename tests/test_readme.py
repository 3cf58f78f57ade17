"""README.md holds THE test command; .ci/run reads it from there and runs it.

The first tests pin the README block itself. The rest run the real .ci/run
against a fake repository (MW_ROOT) whose README, `go` and `python3` are
stand-ins that log how they were called, so no network or Go build is needed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Dict, List

import pytest

REPO = Path(__file__).resolve().parents[1]
CI_RUN = REPO / ".ci" / "run"
MARKER = "<!-- test-command -->"
TEST_COMMAND = (
    "python3 -m pip install -q -r requirements-dev.txt && python3 -m pytest -q "
    "&& (cd examples && go vet ./... && go test ./...)"
)

FAKE_TOOL = '#!/bin/sh\necho "$(basename "$0") $PWD $*" >> "$MW_FAKE_LOG"\n'


def command_blocks(readme: str) -> List[List[str]]:
    """The non-blank lines of the fenced block after each marker line."""
    lines = readme.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if line.strip() != MARKER:
            continue
        rest = iter(lines[i + 1 :])
        opening = next((line for line in rest if line.strip()), "")
        assert opening.strip().startswith("```"), f"{MARKER} must be followed by a fenced block"
        body = []
        for line in rest:
            if line.strip() == "```":
                break
            if line.strip():
                body.append(line.strip())
        blocks.append(body)
    return blocks


# ------------------------------------------------------------ the README


def test_readme_has_exactly_one_test_command_block_of_one_line() -> None:
    blocks = command_blocks((REPO / "README.md").read_text())

    assert len(blocks) == 1, f"expected one {MARKER} block, found {len(blocks)}"
    assert len(blocks[0]) == 1, f"the {MARKER} block must hold one line, found {blocks[0]}"


def test_readme_test_command_runs_the_python_and_go_suites() -> None:
    [[command]] = command_blocks((REPO / "README.md").read_text())

    assert command == TEST_COMMAND


def test_ci_run_extracts_the_line_the_readme_holds() -> None:
    [[command]] = command_blocks((REPO / "README.md").read_text())

    result = subprocess.run(
        [str(CI_RUN), "--print-test-command"], capture_output=True, text=True, timeout=30
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == command + "\n"


# ------------------------------------------------- .ci/run on a fake repo


def fake_readme(command: str) -> str:
    return f"# Fake\n\n1. Run the tests:\n\n   {MARKER}\n   ```sh\n   {command}\n   ```\n"


@pytest.fixture
def fake_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "requirements-dev.txt").write_text("pytest\n")
    (root / "examples").mkdir()
    (root / "examples/go.mod").write_text("module example.com/demo\n")
    return root


@pytest.fixture
def ci_env(tmp_path: Path, fake_repo: Path) -> Dict[str, str]:
    """PATH starts with logging stand-ins for go and python3."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("go", "python3"):
        (bin_dir / tool).write_text(FAKE_TOOL)
        (bin_dir / tool).chmod(0o755)
    env = dict(os.environ)
    env.update(
        MW_ROOT=str(fake_repo),
        MW_FAKE_LOG=str(tmp_path / "tools.log"),
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    )
    return env


def ci_run(env: Dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CI_RUN), *args], env=env, capture_output=True, text=True, timeout=60
    )


def tool_calls(env: Dict[str, str]) -> List[str]:
    log = Path(env["MW_FAKE_LOG"])
    return log.read_text().splitlines() if log.exists() else []


def test_ci_run_runs_the_readme_command_with_bash_in_the_repo_root(
    fake_repo: Path, ci_env: Dict[str, str]
) -> None:
    (fake_repo / "README.md").write_text(fake_readme("echo ran > ran.txt && [[ -n $BASH_VERSION ]]"))

    result = ci_run(ci_env)

    assert result.returncode == 0, result.stderr
    assert (fake_repo / "ran.txt").read_text() == "ran\n"


def test_ci_run_installs_test_dependencies_and_downloads_go_modules(
    fake_repo: Path, ci_env: Dict[str, str]
) -> None:
    (fake_repo / "tests/fixtures/mod").mkdir(parents=True)
    (fake_repo / "tests/fixtures/mod/go.mod").write_text("module example.com/fixture\n")
    (fake_repo / "README.md").write_text(fake_readme("true"))

    result = ci_run(ci_env)

    assert result.returncode == 0, result.stderr
    assert tool_calls(ci_env) == [
        f"python3 {fake_repo} -m pip install -r requirements-dev.txt",
        f"go {fake_repo}/examples mod download",
        f"go {fake_repo}/tests/fixtures/mod mod download",
    ]


def test_ci_run_fails_when_pytest_collects_no_tests(fake_repo: Path, ci_env: Dict[str, str]) -> None:
    (fake_repo / "README.md").write_text(fake_readme("exit 5"))

    result = ci_run(ci_env)

    assert result.returncode == 1
    assert "pytest collected no tests" in result.stderr


@pytest.mark.parametrize("status", [1, 2, 3])
def test_ci_run_propagates_a_failing_command_status(
    fake_repo: Path, ci_env: Dict[str, str], status: int
) -> None:
    (fake_repo / "README.md").write_text(fake_readme(f"exit {status}"))

    assert ci_run(ci_env).returncode == status


def test_ci_run_without_go_fails_with_a_clear_message(fake_repo: Path, ci_env: Dict[str, str]) -> None:
    (fake_repo / "README.md").write_text(fake_readme("echo ran > ran.txt"))
    path_without_go = [
        d for d in os.environ["PATH"].split(os.pathsep) if d and not (Path(d) / "go").exists()
    ]
    env = dict(ci_env, PATH=os.pathsep.join(path_without_go))

    result = ci_run(env)

    assert result.returncode == 1
    assert "go is not on PATH" in result.stderr
    assert not (fake_repo / "ran.txt").exists()


# ------------------------------------------- extraction: valid and invalid

VALID_READMES = {
    "top level": f"{MARKER}\n```sh\nmake test\n```\n",
    "in a list item": "1. Test:\n\n   " + f"{MARKER}\n   ```sh\n   make test\n   ```\n",
    "blank line before fence": f"{MARKER}\n\n```\nmake test\n```\n",
    "CRLF line ends": f"{MARKER}\r\n```sh\r\nmake test\r\n```\r\n",
    "other blocks around": f"```sh\nnot this\n```\n{MARKER}\n```sh\nmake test\n```\n```sh\nnor this\n```\n",
}

INVALID_READMES = {
    "no marker": ("```sh\nmake test\n```\n", "no <!-- test-command --> line"),
    "two markers": (
        f"{MARKER}\n```sh\nmake test\n```\n{MARKER}\n```sh\nmake other\n```\n",
        "has 2 <!-- test-command --> lines",
    ),
    "two lines": (f"{MARKER}\n```sh\nmake deps\nmake test\n```\n", "exactly one command line (found 2)"),
    "empty block": (f"{MARKER}\n```sh\n```\n", "exactly one command line (found 0)"),
    "no fence": (f"{MARKER}\nmake test\n", "must open a fenced code block"),
    "unclosed fence": (f"{MARKER}\n```sh\nmake test\n", "missing or never closed"),
}


@pytest.mark.parametrize("readme", VALID_READMES.values(), ids=VALID_READMES.keys())
def test_extraction_finds_the_one_command_line(
    fake_repo: Path, ci_env: Dict[str, str], readme: str
) -> None:
    (fake_repo / "README.md").write_text(readme, newline="")

    result = ci_run(ci_env, "--print-test-command")

    assert (result.returncode, result.stdout) == (0, "make test\n"), result.stderr


@pytest.mark.parametrize(
    "readme,reason", INVALID_READMES.values(), ids=INVALID_READMES.keys()
)
def test_extraction_rejects_a_malformed_block(
    fake_repo: Path, ci_env: Dict[str, str], readme: str, reason: str
) -> None:
    (fake_repo / "README.md").write_text(readme)

    result = ci_run(ci_env, "--print-test-command")

    assert result.returncode == 1
    assert reason in result.stderr
    assert result.stdout == ""
