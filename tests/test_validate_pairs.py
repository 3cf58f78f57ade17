"""validate_pairs.py as users and CI run it: output formats, exit codes,
options, PATH filtering, and the project settings it reads from Go source."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLE_MIGRATIONS, EXAMPLES, go_app, places, run_cli, run_json, write_files

SCRIPT = "validate_pairs.py"
LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning|info): (?P<message>.+) \[(?P<code>MW\d{3})\]$")

BASE = {
    "000001_init.up.sql": "CREATE TABLE account (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n",
    "000001_init.down.sql": "DROP TABLE account;\n",
}


def folder_with(tmp_path: Path, files: dict) -> Path:
    return write_files(tmp_path / "migrations", {**BASE, **files})


# -- the bundled example --------------------------------------------------------


def test_example_module_lints_clean_with_its_own_settings():
    rc, out = run_json(SCRIPT, cwd=EXAMPLES)

    assert rc == 0
    assert out["status"] == "ok"
    assert out["findings"] == []
    assert out["summary"]["files"] == 8
    assert out["settings"]["foreign_keys"] is False and "foreign_keys_assumed" not in out["settings"]
    assert out["dir"] == "pkg/storage/sqlite/migrations"


def test_example_text_output_says_ok_and_the_foreign_key_setting_it_used():
    proc = run_cli(SCRIPT, "--dir", str(EXAMPLE_MIGRATIONS), "--all")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    line, project = proc.stdout.splitlines()
    assert line.startswith("ok: 8 migration files in ")
    # 000002 drops a table others reference, so enforcement matters: say what was used, and why.
    assert line.endswith("; checked with foreign keys off")
    assert project.startswith("project: driver sqlite3 ") and "foreign keys off while migrating (pkg/storage/sqlite/sqlite.go:" in project


def test_example_with_foreign_keys_enforced_flags_its_parent_rebuild():
    rc, out = run_json(SCRIPT, "--foreign-keys", "on", "--all", cwd=EXAMPLES)

    assert rc == 1
    found = {(Path(path).name, code) for path, _line, _col, code in places(out)}
    assert found == {
        ("000002_nullable_preset_bitrate.up.sql", "MW305"),
        ("000002_nullable_preset_bitrate.down.sql", "MW305"),
    }


# -- output formats -------------------------------------------------------------------


def test_text_lines_name_file_line_column_severity_message_and_code(tmp_path):
    folder = folder_with(tmp_path, {
        "000002_bad.up.sql": "-- adds an email\n\nALTER TABLE acount ADD COLUMN email TEXT;\n",
        "000002_bad.down.sql": "ALTER TABLE account DROP COLUMN email;\n",
    })

    proc = run_cli(SCRIPT, "--dir", str(folder))

    assert proc.returncode == 1
    *findings, summary, project = proc.stdout.splitlines()
    assert len(findings) == 1 and project.startswith("project: ")
    match = LINE.match(findings[0])
    assert match, findings[0]
    assert match["path"] == str(folder / "000002_bad.up.sql")
    assert (match["line"], match["col"], match["severity"], match["code"]) == ("3", "1", "error", "MW101")
    assert "no such table: acount" in match["message"]
    assert summary.startswith("1 error in 4 migration files")


def test_json_has_the_documented_shape(tmp_path):
    folder = folder_with(tmp_path, {"000002_plan.up.sql": "UPDATE account SET name = 'x';\n",
                                    "000002_plan.down.sql": "SELECT 1;\n"})

    rc, out = run_json(SCRIPT, "--dir", str(folder))

    assert rc == 0  # warnings only
    assert set(out) >= {"status", "dir", "findings", "summary"}
    assert out["summary"] == {"errors": 0, "warnings": 1, "files": 4}  # zero infos and suppressed are left out
    (finding,) = out["findings"]
    assert set(finding) == {"code", "severity", "message", "fix", "places", "count"}
    assert (finding["code"], finding["severity"], finding["places"], finding["count"]) == (
        "MW503", "warning", [f"{folder / '000002_plan.up.sql'}:1:1"], 1)
    assert finding["fix"]


def test_format_json_equals_json_flag(tmp_path):
    folder = folder_with(tmp_path, {})
    a = run_cli(SCRIPT, "--dir", str(folder), "--json").stdout
    b = run_cli(SCRIPT, "--dir", str(folder), "--format", "json").stdout
    assert json.loads(a) == json.loads(b)


def test_github_format_prints_workflow_annotations(tmp_path):
    folder = folder_with(tmp_path, {
        "000002_x.up.sql": "BEGIN;\nALTER TABLE account ADD COLUMN email TEXT;\nCOMMIT;\n",
        "000002_x.down.sql": "ALTER TABLE account DROP COLUMN email;\n",
        "000004_y.up.sql": "UPDATE account SET name = trim(name) WHERE name <> trim(name);\n",
        "000004_y.down.sql": "SELECT 1;\n",
    })

    proc = run_cli(SCRIPT, "--dir", str(folder), "--format", "github")

    annotations = [l for l in proc.stdout.splitlines() if l.startswith("::")]
    assert annotations[0].startswith(f"::error file={folder / '000002_x.up.sql'},line=1,col=1,title=MW201 explicit-transaction::")
    assert any(a.startswith("::notice file=") and "MW006" in a for a in annotations)
    assert proc.returncode == 1


def test_github_annotation_escapes_newlines_and_percent(tmp_path):
    folder = folder_with(tmp_path, {"000002_x%.up.sql": "SELECT * FROM nope;\n", "000002_x%.down.sql": "SELECT 1;\n"})
    proc = run_cli(SCRIPT, "--dir", str(folder), "--format", "github")
    line = next(l for l in proc.stdout.splitlines() if l.startswith("::error"))
    assert "x%25.up.sql" in line and "\n" not in line


# -- exit codes and options ----------------------------------------------------------


def test_clean_folder_exits_zero_with_one_line_and_the_project_line(tmp_path):
    proc = run_cli(SCRIPT, "--dir", str(folder_with(tmp_path, {})))
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == [
        f"ok: 2 migration files in {tmp_path / 'migrations'} (given with --dir), no problems; "
        "new = every version (no git history or migrations.sum tells shipped from new)",
        "project: driver unknown; foreign keys unknown while migrating (no Go source found); "
        "each file in a transaction; table schema_migrations",
    ]


@pytest.mark.parametrize("args,message", [
    (["--select", "MW999"], "matches no rule"),
    (["--ignore", "nonsense!"], "is not a rule code"),
    (["--require-down", "--allow-missing-down"], "not allowed with argument"),
    (["--foreign-keys", "maybe"], "invalid choice"),
    (["--ext", "a/b"], "is not a file extension"),
])
def test_usage_errors_exit_two_with_one_line(tmp_path, args, message):
    proc = run_cli(SCRIPT, "--dir", str(folder_with(tmp_path, {})), *args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_missing_dir_and_missing_path_are_io_errors(tmp_path):
    for args in (["--dir", str(tmp_path / "nope")], ["--dir", str(folder_with(tmp_path, {})), str(tmp_path / "x.up.sql")]):
        proc = run_cli(SCRIPT, *args)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr


def test_select_and_ignore_accept_codes_groups_and_names(tmp_path):
    folder = folder_with(tmp_path, {
        "000002_x.up.sql": "BEGIN;\nUPDATE account SET name = 'n';\nCOMMIT;\n",
        "000002_x.down.sql": "SELECT 1;\n",
    })
    assert {f["code"] for f in run_json(SCRIPT, "--dir", str(folder))[1]["findings"]} == {"MW201", "MW503"}
    assert {f["code"] for f in run_json(SCRIPT, "--dir", str(folder), "--select", "MW2xx")[1]["findings"]} == {"MW201"}
    assert {f["code"] for f in run_json(SCRIPT, "--dir", str(folder), "--ignore", "explicit-transaction")[1]["findings"]} == {"MW503"}
    rc, out = run_json(SCRIPT, "--dir", str(folder), "--select", "MW5")
    assert rc == 0 and {f["code"] for f in out["findings"]} == {"MW503"}


def test_allow_missing_down_silences_the_missing_down(tmp_path):
    folder = folder_with(tmp_path, {"000002_x.up.sql": "ALTER TABLE account ADD COLUMN email TEXT;\n"})

    strict = run_json(SCRIPT, "--dir", str(folder))
    lenient = run_json(SCRIPT, "--dir", str(folder), "--allow-missing-down")

    assert strict[0] == 1 and [(f["code"], f["severity"]) for f in strict[1]["findings"]] == [("MW003", "error")]
    # Not a note per version telling you to pass the flag you passed: nothing.
    assert lenient[0] == 0 and lenient[1]["findings"] == []


def test_paths_limit_findings_but_the_whole_folder_gives_context(tmp_path):
    folder = folder_with(tmp_path, {
        "000002_a.up.sql": "UPDATE account SET name = 'a';\n",  # a warning outside the PATHs
        "000002_a.down.sql": "SELECT 1;\n",
        "000003_b.up.sql": "ALTER TABLE account ADD COLUMN email TEXT;\nALTER TABLE acount ADD COLUMN x TEXT;\n",
        "000003_b.down.sql": "ALTER TABLE account DROP COLUMN email;\n",
    })

    rc, out = run_json(SCRIPT, str(folder / "000003_b.up.sql"), str(folder / "000003_b.down.sql"))

    assert rc == 1
    # account (created by 000001, not a PATH) is known; only the typo fails.
    assert [(Path(path).name, code, line) for path, line, _col, code in places(out)] == [("000003_b.up.sql", "MW101", 2)]


def test_paths_outside_any_migrations_folder_are_ignored(tmp_path):
    other = write_files(tmp_path / "docs", {"schema.sql": "CREATE TABLE x (a);\n"})
    proc = run_cli(SCRIPT, str(other / "schema.sql"))
    assert proc.returncode == 0
    assert "nothing to check" in proc.stdout


def test_list_rules_prints_every_code():
    from mwcore.lint import RULES

    rc, out = run_json(SCRIPT, "--list-rules")
    assert rc == 0 and [r["code"] for r in out["rules"]] == sorted(RULES)


# -- settings read from the Go project -----------------------------------------------


def go_project(tmp_path: Path, dsn: str, files: dict) -> Path:
    """A module whose golang-migrate gets `dsn` (a sqlite3:// URL, or the DSN
    of the *sql.DB handed to WithInstance)."""
    if dsn.startswith("sqlite3://"):
        folder = go_app(tmp_path, url=f'"{dsn}"')
    else:
        folder = go_app(tmp_path, dsn=f'"{dsn}"')
    return write_files(folder, {**BASE, **files})


REFERENCED_REBUILD = {
    "000002_child.up.sql": "CREATE TABLE note (id INTEGER PRIMARY KEY, account_id INTEGER REFERENCES account (id) ON DELETE CASCADE);\n",
    "000002_child.down.sql": "DROP TABLE note;\n",
    "000003_rebuild.up.sql": (
        "CREATE TABLE account_new (id INTEGER PRIMARY KEY, name TEXT);\n"
        "INSERT INTO account_new (id, name) SELECT id, name FROM account;\n"
        "DROP TABLE account;\nALTER TABLE account_new RENAME TO account;\n"
    ),
    "000003_rebuild.down.sql": (
        "CREATE TABLE account_old (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
        "INSERT INTO account_old (id, name) SELECT id, coalesce(name, '') FROM account;\n"
        "DROP TABLE account;\nALTER TABLE account_old RENAME TO account;\n"
    ),
}


def test_foreign_keys_from_the_dsn_decide_whether_a_parent_rebuild_is_an_error(tmp_path):
    on = go_project(tmp_path / "on", "file:app.db?_foreign_keys=1", REFERENCED_REBUILD)
    off = go_project(tmp_path / "off", "file:app.db?_busy_timeout=5000", REFERENCED_REBUILD)

    rc_on, out_on = run_json(SCRIPT, "--dir", str(on))
    rc_off, out_off = run_json(SCRIPT, "--dir", str(off))

    assert rc_on == 1 and {f["code"] for f in out_on["findings"]} == {"MW305"}
    assert "deletes the rows of note" in out_on["findings"][0]["message"]
    assert out_on["settings"]["foreign_keys"] is True
    assert rc_off == 0 and out_off["findings"] == []
    # The flag overrides the Go source.
    assert run_json(SCRIPT, "--dir", str(on), "--foreign-keys", "off")[1]["findings"] == []


def test_without_go_source_both_enforcements_are_checked_and_each_finding_says_which(tmp_path):
    folder = write_files(tmp_path / "migrations", {**BASE, **REFERENCED_REBUILD})

    proc = run_cli(SCRIPT, "--dir", str(folder))
    rc, out = run_json(SCRIPT, "--dir", str(folder))

    # The parent rebuild deletes note's rows only when enforcement is on: reported as such.
    assert proc.returncode == 1 and rc == 1
    assert {f["code"] for f in out["findings"]} == {"MW305"}
    assert all(f["message"].startswith("with foreign keys on while migrating: ") for f in out["findings"])
    assert out["settings"]["foreign_keys"] == "both" and out["project"]["foreign_keys"] == "unknown"
    assert "checked with foreign keys off and on (the Go source cannot tell; --foreign-keys on|off settles it)" in proc.stdout
    # Settling it ends the doubt.
    assert run_json(SCRIPT, "--dir", str(folder), "--foreign-keys", "off")[0] == 0


def test_x_no_tx_wrap_in_the_go_source_turns_the_transaction_rules_around(tmp_path):
    files = {"000002_two.up.sql": "ALTER TABLE account ADD COLUMN a TEXT;\nALTER TABLE account ADD COLUMN b TEXT;\n",
             "000002_two.down.sql": "BEGIN;\nALTER TABLE account DROP COLUMN a;\nALTER TABLE account DROP COLUMN b;\nCOMMIT;\n"}
    wrapped = go_project(tmp_path / "wrapped", "sqlite3://app.db", files)
    unwrapped = go_project(tmp_path / "unwrapped", "sqlite3://app.db?x-no-tx-wrap=true", files)

    wrapped_codes = [(Path(path).name, code) for path, _l, _c, code in places(run_json(SCRIPT, "--dir", str(wrapped))[1])]
    unwrapped_codes = [(Path(path).name, code) for path, _l, _c, code in places(run_json(SCRIPT, "--dir", str(unwrapped))[1])]

    assert wrapped_codes == [("000002_two.down.sql", "MW201")]
    assert unwrapped_codes == [("000002_two.up.sql", "MW205")]


def test_autodetects_the_folder_like_next_version(tmp_path):
    root = tmp_path / "app"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns("*.db"))
    rc, out = run_json(SCRIPT, cwd=root)
    assert rc == 0 and out["project"]["dir_source"].startswith("embedded by ")
