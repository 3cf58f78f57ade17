"""Options every script spells the same way.

golang-migrate's transaction wrap: `--tx-wrap on|off|auto` (a bare
`--tx-wrap` is on) and its alias `--no-tx-wrap` (off), in every script that
has the setting. Each form is checked by what the script then does, not by
how argparse stores it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List

import pytest

from mwcore.folder import scan_folder
from mwcore.gomigrate import GoMigrate
from mwcore import engine

from conftest import run_cli, run_json, write_files

# (arguments, files run unwrapped?) with no Go source around: auto = wrapped.
FORMS = [
    ([], False),
    (["--tx-wrap", "auto"], False),
    (["--tx-wrap"], False),
    (["--tx-wrap", "on"], False),
    (["--tx-wrap", "off"], True),
    (["--no-tx-wrap"], True),
]
FORM_IDS = [" ".join(args) or "default" for args, _ in FORMS]

FOLDER = {
    "000001_t.up.sql": "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);",
    "000001_t.down.sql": "DROP TABLE t;",
    "000002_two.up.sql": "ALTER TABLE t ADD COLUMN b TEXT;\nCREATE INDEX t_b ON t(b);",
    "000002_two.down.sql": "BEGIN;\nDROP INDEX t_b;\nALTER TABLE t DROP COLUMN b;\nCOMMIT;",
}


def _validate(folder: Path, args: List[str]) -> bool:
    _, out = run_json("validate_pairs.py", "--dir", str(folder), *args)
    codes = {f["code"] for f in out["findings"]}
    # Wrapped: the down's BEGIN fails (MW201). Unwrapped: the up has no transaction of its own (MW205).
    assert codes in ({"MW201"}, {"MW205"}), codes
    return codes == {"MW205"}


def _verify(folder: Path, args: List[str]) -> bool:
    _, out = run_json("verify_migrations.py", "--dir", str(folder), *args)
    # Wrapped: the down's BEGIN fails. Unwrapped: it runs.
    unwrapped = out["steps"][1]["down"] == "ok"
    # How it ran is said at the top level when not as the project says, else in `project`.
    said = not out["tx_wrap"] if "tx_wrap" in out else out["project"]["tx_wrap"] == "off"
    assert said is unwrapped, out
    return unwrapped


def _rebuild(folder: Path, args: List[str]) -> bool:
    code, out = run_json("rebuild_table.py", "t", "--not-null", "a", "--fill", "a", "'-'", "--dir", str(folder), *args)
    assert code == 0, out
    # An unwrapped rebuild opens its own transaction.
    assert ("BEGIN;" in out["up_sql"]) is out["no_tx_wrap"]
    return out["no_tx_wrap"]


def _status(folder: Path, args: List[str]) -> bool:
    db = folder.parent / "app.db"
    if not db.exists():
        broken = write_files(folder.parent / "broken", {**FOLDER, "000002_two.up.sql": "SELECT * FROM nope;"})
        conn = engine.scratch()
        assert not GoMigrate(conn, scan_folder(broken)).up().ok
        engine.save_copy(conn, db)
        conn.close()
    _, out = run_json("status.py", "--dir", str(folder), "--db", str(db), *args)
    return "x-no-tx-wrap" in out["database"]["recovery"]["explanation"]


SCRIPTS: Dict[str, Callable[[Path, List[str]], bool]] = {
    "validate_pairs.py": _validate,
    "verify_migrations.py": _verify,
    "rebuild_table.py": _rebuild,
    "status.py": _status,
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
@pytest.mark.parametrize("args,unwrapped", FORMS, ids=FORM_IDS)
def test_every_tx_wrap_form_means_the_same_in_every_script(tmp_path, script, args, unwrapped):
    folder = write_files(tmp_path / "migrations", FOLDER)
    assert SCRIPTS[script](folder, args) is unwrapped


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_help_names_both_spellings(script):
    help_text = run_cli(script, "--help").stdout
    assert "--tx-wrap" in help_text and "--no-tx-wrap" in help_text


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_contradictory_or_unknown_tx_wrap_is_a_usage_error(script):
    for args in (["--tx-wrap", "on", "--no-tx-wrap"], ["--tx-wrap", "maybe"]):
        proc = run_cli(script, *args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr and "--tx-wrap" in proc.stderr
