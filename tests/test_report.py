"""Grouped, capped findings (mwcore.report): what every script prints for an
assistant with a small context."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from mwcore.report import (JSON_PLACES, TEXT_BUDGET, Item, group_items, groups_json, hidden_line, render_text,
                           severity_counts)


def missing_down(version: int) -> Item:
    return Item("MW003", "error", f"version {version} has no down file", f"add {version:06d}_x.down.sql",
                f"m/{version:06d}_x.up.sql", 1, 1)


def test_the_same_fix_in_many_files_is_one_line_with_a_count_and_the_first_places():
    out = render_text(group_items([missing_down(v) for v in range(1, 74)]))
    assert len(out) == 1
    assert out[0].startswith("m/000001_x.up.sql:1:1: error: version 1 has no down file; fix: add 000001_x.down.sql; ")
    assert "the same at m/000002_x.up.sql:1, m/000003_x.up.sql:1, m/000004_x.up.sql:1 and 69 more (-v lists them)" in out[0]
    assert out[0].endswith(" [MW003]")


def test_verbose_lists_every_place():
    out = render_text(group_items([missing_down(v) for v in range(1, 74)]), verbose=True)
    assert len(out) == 1 and "m/000073_x.up.sql:1" in out[0] and "more" not in out[0]


def test_a_fix_text_is_printed_once_per_code():
    items = [Item("MW305", "error", f"DROP TABLE t{n} deletes rows of c{n}", "drop the children first", f"m/{n}.sql", 3, 1,
                  sql=f"DROP TABLE c{n};") for n in range(3)]
    out = render_text(group_items(items))
    assert len(out) == 6  # three findings (their SQL differs), each with one line of SQL
    assert sum("drop the children first" in line for line in out) == 1
    assert sum("fix: as above" in line for line in out) == 2


def test_errors_come_first():
    items = [Item("MW503", "warning", "w", "fix w", "a.sql"), Item("MW101", "error", "e", "fix e", "b.sql"),
             Item("MW006", "info", "i", "", "c.sql")]
    assert [g.severity for g in group_items(items)] == ["error", "warning", "info"]


def test_suggested_sql_follows_on_indented_lines():
    item = Item("MW402", "error", "index gone", "recreate it (SQL below)", "m/2.down.sql", 1, 1,
                sql="CREATE INDEX i\n  ON t (a);")
    assert render_text(group_items([item])) == [
        "m/2.down.sql:1:1: error: index gone; fix: recreate it (SQL below) [MW402]",
        "    CREATE INDEX i",
        "      ON t (a);",
    ]
    entry = groups_json(group_items([item]))[0][0]
    assert entry["sql"] == "CREATE INDEX i\n  ON t (a);"


def test_json_groups_have_the_compact_shape_and_a_capped_list_of_places():
    (entry,), left_out = groups_json(group_items([missing_down(v) for v in range(1, 74)]))
    assert set(entry) == {"code", "severity", "message", "fix", "places", "count"}
    assert entry["count"] == 73 and len(entry["places"]) == JSON_PLACES and left_out == 0
    assert entry["places"][0] == "m/000001_x.up.sql:1:1"
    (full,), _ = groups_json(group_items([missing_down(v) for v in range(1, 74)]), verbose=True)
    assert len(full["places"]) == 73


def test_what_does_not_fit_the_budget_is_counted_in_one_line():
    items = [Item(f"MW1{n:02d}", "error", "x" * 300, f"fix {n}", f"m/{n}.sql") for n in range(40)]
    out = render_text(group_items(items))
    assert out[-1].startswith("... and ") and out[-1].endswith("not shown: -v lists them")
    shown = len(out) - 1
    assert f"and {40 - shown} more findings (" in out[-1]
    assert sum(len(line) + 1 for line in out[:-1]) <= TEXT_BUDGET


def test_hidden_line_and_counts():
    items = [missing_down(1), missing_down(2), Item("MW503", "warning", "w", "", "a")]
    assert hidden_line(items, 2) == "3 findings (2 errors) in 2 shipped migrations not shown (--all lists them)"
    assert severity_counts(items) == "2 errors, 1 warning"
    assert severity_counts([]) == "no findings"


_ITEMS = st.lists(
    st.builds(Item, code=st.sampled_from(["MW003", "MW101", "MW402", "MW503"]),
              severity=st.sampled_from(["error", "warning", "info"]),
              message=st.text(min_size=1, max_size=900), fix=st.sampled_from(["", "fix a", "fix b " * 200]),
              path=st.sampled_from([f"m/{v:06d}_x.up.sql" for v in range(1, 30)]),
              line=st.integers(1, 500), col=st.integers(1, 80),
              sql=st.sampled_from(["", "CREATE INDEX i ON t (a);", "SELECT 1;\n" * 300])),
    max_size=120)


@given(_ITEMS)
def test_text_stays_within_the_budget_and_every_finding_is_shown_or_counted(items):
    groups = group_items(items)
    out = render_text(groups)
    body = out[:-1] if out and out[-1].startswith("... and ") else out
    if groups:
        first = render_text(groups[:1])
        limit = max(TEXT_BUDGET, sum(len(l.encode("utf-8", "backslashreplace")) + 1 for l in first))
        assert sum(len(l.encode("utf-8", "backslashreplace")) + 1 for l in body) <= limit
    # Every item is either a place on a printed line or in the closing count.
    printed = sum(1 for g, line in zip(groups, [l for l in body if not l.startswith("    ")]) for _ in g.items)
    counted = 0
    if out and out[-1].startswith("... and "):
        counted = int(out[-1].split()[2])
    assert printed + counted == len(items)


@given(_ITEMS)
def test_json_is_valid_and_counts_what_it_leaves_out(items):
    groups = group_items(items)
    entries, left_out = groups_json(groups)
    json.dumps(entries)
    assert sum(e["count"] for e in entries) + left_out == len(items)
