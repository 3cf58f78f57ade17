"""Shared code of the stand-in agents: find the scenario whose prompt
arrived on stdin, apply one of its stored solutions to the current folder,
and print what that assistant would have said."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evalcore import solutions  # noqa: E402
from evalcore.spec import load_scenarios  # noqa: E402


def skill_installed() -> bool:
    config = Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude")
    return (config / "skills" / "migration-writer" / "SKILL.md").is_file()


def run(pick) -> int:
    """pick(scenario_name) -> solution name, or None to do nothing."""
    prompt = sys.stdin.read().strip()
    matches = [s for s in load_scenarios().values() if s.prompt.strip() == prompt]
    if not matches:
        print("stand-in agent: no scenario has this prompt", file=sys.stderr)
        return 2
    scenario = matches[0]
    name = pick(scenario.name)
    if name is None:
        print(f"stand-in agent: no solution for {scenario.name}", file=sys.stderr)
        return 2
    solution = solutions.load(scenario.name, name)
    transcript = solutions.apply(solution, Path.cwd())
    print(f"[stand-in agent: {scenario.name}/{name}; skill installed: {'yes' if skill_installed() else 'no'}]")
    print(transcript if transcript is not None else solution.summary)
    return 0
