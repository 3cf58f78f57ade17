"""The migration linter: a rule catalogue run over a migrations folder.

`lint_folder(path, LintOptions(...))` returns a `LintResult` of `Finding`s.
Rules live in the rules_*.py modules, one function each, registered with
`registry.rule`; importing this package registers them all.
"""

from __future__ import annotations

from . import rules_folder, rules_rebuild, rules_reverse, rules_safety, rules_sql, rules_tx  # noqa: F401
from .context import LintOptions, Settings
from .engine import Finding, LintResult, lint_folder
from .registry import ERROR, INFO, RULES, WARNING, Rule, expand_codes, sorted_rules

__all__ = [
    "ERROR", "INFO", "WARNING", "RULES", "Rule", "Finding", "LintOptions", "LintResult", "Settings",
    "expand_codes", "lint_folder", "sorted_rules",
]
