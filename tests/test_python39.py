"""The scripts run on the oldest Python the skill supports (3.9), with the
standard library only."""

from __future__ import annotations

import glob
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import EXAMPLES, SCRIPTS

CANDIDATES = ["python3.9", *sorted(glob.glob("/root/.pyenv/versions/3.9*/bin/python3")),
              *sorted(glob.glob("/usr/bin/python3.9"))]


def _python39():
    """The first candidate that really runs as Python 3.9 (a pyenv shim may
    exist and still refuse)."""
    for candidate in CANDIDATES:
        path = shutil.which(candidate) or (candidate if Path(candidate).exists() else None)
        if not path:
            continue
        probe = subprocess.run([path, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 9)":
            return path
    return None


PY39 = _python39()
pytestmark = pytest.mark.skipif(PY39 is None, reason="no Python 3.9 interpreter on this machine")
SCRIPT_NAMES = sorted(p.name for p in SCRIPTS.glob("*.py"))


def test_every_module_compiles_on_39():
    files = [str(p) for p in SCRIPTS.rglob("*.py")]
    proc = subprocess.run([PY39, "-m", "py_compile", *files], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("script", SCRIPT_NAMES)
def test_help_runs_on_39(script):
    proc = subprocess.run([PY39, "-I", str(SCRIPTS / script), "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "usage:" in proc.stdout, proc.stderr


def test_the_example_is_checked_on_39_with_only_the_standard_library(tmp_path):
    """-I isolates from site-packages: nothing outside the standard library
    can be imported."""
    copy = tmp_path / "examples"
    shutil.copytree(EXAMPLES, copy, ignore=shutil.ignore_patterns("*.db"))
    migrations = copy / "pkg" / "storage" / "sqlite" / "migrations"
    runs = [
        ["next_version.py", "--dir", str(migrations), "--json"],
        ["status.py", "--dir", str(migrations), "--json"],
        ["rebuild_table.py", "encoding_preset", "--nullable", "container", "--dir", str(migrations), "--json"],
        ["make_test_stub.py", "--dir", str(migrations), "--latest", "--dry-run", "--json"],
    ]
    for name in ("validate_pairs.py", "verify_migrations.py"):
        if (SCRIPTS / name).exists():
            runs.append([name, "--dir", str(migrations)] + (["--format", "json"] if name == "validate_pairs.py" else ["--json"]))
    for script, *args in runs:
        proc = subprocess.run([PY39, "-I", str(SCRIPTS / script), *args], capture_output=True, text=True, cwd=copy)
        assert proc.returncode == 0, f"{script}: {proc.stderr or proc.stdout[:500]}"
        assert '"status":"ok"' in proc.stdout.replace(" ", ""), f"{script}: {proc.stdout[:300]}"
