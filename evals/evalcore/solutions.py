"""Golden and wrong solutions: what an assistant leaves behind in the
workdir, kept as data so the grader can be proven on them.

    solutions/<scenario>/<solution>/
        solution.json   {"summary": ..., and for a wrong one "mistake": ...,
                         "fails": [check ids it must fail, no more, no less],
                         optionally "extends": "golden", "omit": [paths],
                         "delete": [paths], "run": [argv, ...] commands run
                         in the workdir afterwards}
        files/...       files written into the workdir (same relative paths)
        changes.diff    optional: a patch applied with `git apply` (for edits
                        to the fixture's own files, so a changed fixture
                        makes the patch fail loudly instead of being reverted)
        transcript.txt  optional: what the assistant says (its stdout)

A solution that `extends` another applies that one first, minus the paths
in `omit` ("changes.diff" omits the base's patch), then its own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from .spec import SOLUTIONS_DIR, SpecError

GOLDEN = "golden"


@dataclass
class Solution:
    scenario: str
    name: str
    path: Path
    summary: str
    mistake: str = ""
    fails: List[str] = field(default_factory=list)
    extends: Optional[str] = None
    omit: List[str] = field(default_factory=list)
    delete: List[str] = field(default_factory=list)
    run: List[List[str]] = field(default_factory=list)

    @property
    def is_golden(self) -> bool:
        return self.name == GOLDEN

    def files(self) -> List[str]:
        root = self.path / "files"
        if not root.is_dir():
            return []
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    def transcript(self) -> Optional[str]:
        t = self.path / "transcript.txt"
        return t.read_text(encoding="utf-8") if t.exists() else None


def load(scenario: str, name: str, root: Path = SOLUTIONS_DIR) -> Solution:
    path = root / scenario / name
    meta_path = path / "solution.json"
    if not meta_path.exists():
        raise SpecError(f"no solution {scenario}/{name} ({meta_path} is missing)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return Solution(scenario=scenario, name=name, path=path, summary=meta.get("summary", ""),
                    mistake=meta.get("mistake", ""), fails=list(meta.get("fails", [])),
                    extends=meta.get("extends"), omit=list(meta.get("omit", [])),
                    delete=list(meta.get("delete", [])), run=[list(c) for c in meta.get("run", [])])


def names(scenario: str, root: Path = SOLUTIONS_DIR) -> List[str]:
    folder = root / scenario
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / "solution.json").exists())


def wrong_names(scenario: str, root: Path = SOLUTIONS_DIR) -> List[str]:
    return [n for n in names(scenario, root) if n != GOLDEN]


def apply(solution: Solution, workdir: Path, omit: Optional[List[str]] = None) -> Optional[str]:
    """Leave in workdir what the solution's assistant would have left; return
    its transcript (None when it has none)."""
    omit = list(omit or [])
    transcript = None
    if solution.extends:
        base = load(solution.scenario, solution.extends, solution.path.parent.parent)
        transcript = apply(base, workdir, omit=solution.omit)
    for rel in solution.files():
        if rel in omit:
            continue
        target = workdir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(solution.path / "files" / rel, target)
    diff = solution.path / "changes.diff"
    if diff.exists() and "changes.diff" not in omit:
        proc = subprocess.run(["git", "apply", "--whitespace=nowarn", str(diff)], cwd=str(workdir),
                              capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise SpecError(f"{solution.scenario}/{solution.name}: changes.diff does not apply: {proc.stderr.strip()}")
    for rel in solution.delete:
        target = workdir / rel
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    for argv in solution.run:
        # Commands the assistant ran in the project (python3 means this interpreter).
        argv = [sys.executable if a == "python3" else a for a in argv]
        proc = subprocess.run(argv, cwd=str(workdir), capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise SpecError(f"{solution.scenario}/{solution.name}: {argv!r} failed: {proc.stderr.strip()}")
    own = solution.transcript()
    return own if own is not None else transcript
