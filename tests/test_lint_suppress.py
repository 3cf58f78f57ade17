"""Inline suppressions: `-- migration-writer: ignore CODE[,CODE] reason`."""

from __future__ import annotations

from lintkit import codes, lint_files

BASE = {
    "000001_init.up.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);\nCREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT);\n",
    "000001_init.down.sql": "DROP TABLE b;\nDROP TABLE a;\n",
}
TWO_UPDATES = "UPDATE a SET v = 'x';\nUPDATE b SET v = 'y';\n"


def lint_up(tmp_path, up: str, *args: str):
    files = {**BASE, "000002_x.up.sql": up, "000002_x.down.sql": "SELECT 1;\n"}
    return lint_files(tmp_path, files, *args)


def test_without_suppression_both_statements_are_reported(tmp_path):
    result = lint_up(tmp_path, TWO_UPDATES)
    assert [(f.code, f.line) for f in result.findings] == [("MW503", 1), ("MW503", 2)]


def test_comment_above_a_statement_suppresses_only_that_statement(tmp_path):
    up = "UPDATE a SET v = 'x';\n-- migration-writer: ignore MW503 every row needs the new value\nUPDATE b SET v = 'y';\n"
    result = lint_up(tmp_path, up)
    assert [(f.code, f.line) for f in result.findings] == [("MW503", 1)]
    assert result.suppressed == 1


def test_suppression_can_sit_in_a_comment_block_above_the_statement(tmp_path):
    up = "-- migration-writer: ignore MW503 reset\n-- (the column was never used)\nUPDATE a SET v = 'x';\nUPDATE b SET v = 'y';\n"
    result = lint_up(tmp_path, up)
    assert [(f.code, f.line) for f in result.findings] == [("MW503", 4)]


def test_suppression_at_the_top_followed_by_a_blank_line_covers_the_file(tmp_path):
    up = "-- Reset both tables.\n-- migration-writer: ignore MW503 fresh start\n\n" + TWO_UPDATES
    result = lint_up(tmp_path, up)
    assert codes(result) == [] and result.suppressed == 2


def test_suppression_right_above_the_first_statement_covers_only_it(tmp_path):
    up = "-- migration-writer: ignore MW503 fresh start\n" + TWO_UPDATES
    result = lint_up(tmp_path, up)
    assert [(f.code, f.line) for f in result.findings] == [("MW503", 3)]


def test_several_codes_and_other_codes_stay(tmp_path):
    up = "-- migration-writer: ignore MW201,MW503 legacy file\nBEGIN;\nUPDATE a SET v = 'x';\nCOMMIT;\n"
    result = lint_up(tmp_path, up)
    # BEGIN (line 2) is covered; COMMIT is reported with it as one MW201 at line 2.
    assert codes(result) == ["MW503"]
    assert result.findings[0].line == 3


def test_unknown_code_is_a_warning_and_suppresses_nothing(tmp_path):
    up = "-- migration-writer: ignore MW599 typo\nUPDATE a SET v = 'x';\n"
    result = lint_up(tmp_path, up)
    assert [(f.code, f.line) for f in result.findings] == [("MW013", 1), ("MW503", 2)]
    assert "MW599" in result.findings[0].message


def test_directive_without_a_code_is_reported(tmp_path):
    result = lint_up(tmp_path, "-- migration-writer: ignore\nUPDATE a SET v = 'x' WHERE id = 1;\n")
    assert codes(result) == ["MW013"]


def test_text_inside_a_statement_is_not_a_directive(tmp_path):
    up = ("CREATE TRIGGER t AFTER INSERT ON a BEGIN\n"
          "-- migration-writer: ignore MW503 not a directive: inside the trigger\n"
          "UPDATE b SET v = 'z';\nEND;\n"
          "UPDATE a SET v = 'x';\n")
    result = lint_files(tmp_path, {**BASE, "000002_x.up.sql": up, "000002_x.down.sql": "DROP TRIGGER t;\n"})
    assert [(f.code, f.line) for f in result.findings] == [("MW503", 5)]


def test_a_file_named_like_a_near_miss_can_carry_its_own_suppression(tmp_path):
    files = {**BASE, "000002-notes.up.sql": "-- migration-writer: ignore MW001 kept for reference, never run\n\nSELECT 1;\n"}
    result = lint_files(tmp_path, files)
    assert codes(result) == [] and result.suppressed == 1


def test_suppressed_findings_are_counted_in_json(tmp_path):
    from conftest import run_json

    folder = tmp_path / "m"
    folder.mkdir()
    for name, text in {**BASE, "000002_x.up.sql": "-- migration-writer: ignore MW503 ok\n\n" + TWO_UPDATES,
                       "000002_x.down.sql": "SELECT 1;\n"}.items():
        (folder / name).write_text(text)
    rc, out = run_json("validate_pairs.py", "--dir", str(folder))
    assert rc == 0 and out["summary"]["suppressed"] == 2 and out["findings"] == []
