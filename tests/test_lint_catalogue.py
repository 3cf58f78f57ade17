"""references/rules.md is the catalogue and its examples are specifications:
every registered rule has a complete entry, every documented bad example
makes its rule fire, and every fixed example does not (and has no errors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mwcore.lint import ERROR, RULES, sorted_rules

from lintkit import SECTIONS, catalogue, codes, lint, parse_example, write_example

ENTRIES = catalogue()
CODES = sorted(RULES)


def test_every_registered_rule_has_an_entry_and_every_entry_a_rule():
    assert sorted(ENTRIES) == CODES


@pytest.mark.parametrize("code", CODES)
def test_entry_is_complete_and_matches_the_registry(code):
    entry, rule = ENTRIES[code], RULES[code]
    assert entry.name == rule.name
    assert entry.severity == rule.severity
    for section in SECTIONS:
        assert entry.sections.get(section), f"{code} has no '{section}' text"
    assert list(entry.sections) == list(SECTIONS), f"{code}: sections must be exactly {SECTIONS} in order"
    entry.sql("Example")
    entry.sql("Use instead")


def _lint_example(tmp_path: Path, code: str, section: str, *extra: str):
    example = parse_example(ENTRIES[code].sql(section))
    folder = write_example(tmp_path / section.replace(" ", "_"), example)
    return lint(folder, *example.options, *extra)


@pytest.mark.parametrize("code", CODES)
def test_bad_example_fires_its_rule(tmp_path, code):
    result = _lint_example(tmp_path, code, "Example")
    assert code in codes(result), [str(f) for f in result.findings]


@pytest.mark.parametrize("code", CODES)
def test_fixed_example_does_not_fire_and_has_no_errors(tmp_path, code):
    result = _lint_example(tmp_path, code, "Use instead", "--allow-missing-down")
    assert code not in codes(result), [str(f) for f in result.findings]
    assert [f for f in result.findings if f.severity == ERROR] == []


def test_rule_codes_are_grouped_as_the_catalogue_says():
    groups = {"0": "folder", "1": "sql", "2": "transactions", "3": "rebuilds", "4": "reversibility", "5": "safety"}
    for rule in sorted_rules():
        assert rule.group == groups[rule.code[2]]
