"""Generated Go tests compile, pass against real golang-migrate, and fail
when the migration is broken.

One temp copy of examples/ (its own go.mod, so golang-migrate v4.19.1,
mattn v1.14.32, testify v1.11.1) holds every package these tests need:

- pkg/storage/sqlite: the mediaz package with every TestMigration_<V>_*
  deleted from its migrate_test.go, then regenerated for each version;
- pkg/mut_*: copies of that package whose tests were generated from the
  correct migrations, then one migration was broken (a mutation);
- pkg/notes (unpadded versions, odd names, os.DirFS), pkg/stamp (timestamp
  versions, //go:embed of a folder) and pkg/clash (names the generator must
  not reuse): plain style.

The module is vetted once and tested once (`go test -json`); each test here
reads its verdict from that one run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from conftest import EXAMPLES, ROOT, run_json, write_files
from mwcore.gofacts import go_canonical_sql
from mwcore.golex import parse_file

pytestmark = [pytest.mark.go, pytest.mark.slow]

SQLITE_PKG = Path("pkg/storage/sqlite")
EXAMPLE_VERSIONS = ["000001", "000002", "000003", "000004"]


@dataclass(frozen=True)
class Mutation:
    package: str
    version: str  # tests generated for this version from the correct files
    file: str
    old: str
    new: str
    must_fail: Tuple[str, ...]


MUTATIONS = {
    "up drops an index it should create": Mutation(
        "mut_drop_index", "000004", "000004_media_item_play_count.up.sql",
        "CREATE INDEX idx_media_item_play_count ON media_item (play_count);", "",
        ("TestMigration_000004_FreshDatabase", "TestMigration_000004_UpgradeFromV3"),
    ),
    "down forgets a column": Mutation(
        "mut_down_column", "000004", "000004_media_item_play_count.down.sql",
        "ALTER TABLE media_item DROP COLUMN play_count;", "",
        ("TestMigration_000004_DownRestoresPrevious",),
    ),
    "an UPDATE touches user-modified rows": Mutation(
        "mut_user_rows", "000003", "000003_refresh_builtin_presets.up.sql",
        "  AND max_bitrate_kbps = 80000\n", "",
        ("TestMigration_000003_PreservesUserModifications",),
    ),
    "a rebuild loses rows": Mutation(
        "mut_lost_rows", "000002", "000002_nullable_preset_bitrate.up.sql",
        "FROM encoding_preset;\n\nDROP TABLE", "FROM encoding_preset WHERE id < 4;\n\nDROP TABLE",
        ("TestMigration_000002_UpgradeFromV1",),
    ),
}

NOTES_MIGRATIONS = {
    '1_create notes.up.sql': (
        'CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL, "odd ""col`" TEXT);\n'
        'CREATE TABLE "func" ("type" TEXT, ünï INTEGER);\n'
        "INSERT INTO note (id, body) VALUES (1, 'hello `world` \"x\" \\ ü');\n"
    ),
    '1_create notes.down.sql': 'DROP TABLE "func";\nDROP TABLE note;\n',
    '2_add "quoted" `tick` ünï.up.sql': (
        'CREATE INDEX "idx ""q"" `b`" ON note (body);\n'
        "ALTER TABLE note ADD COLUMN stars INTEGER NOT NULL DEFAULT 0 CHECK (stars >= 0);\n"
    ),
    '2_add "quoted" `tick` ünï.down.sql': 'DROP INDEX "idx ""q"" `b`";\nALTER TABLE note DROP COLUMN stars;\n',
    "10_type.up.sql": "UPDATE note SET body = 'hello world' WHERE id = 1 AND body = 'hello `world` \"x\" \\ ü';\n",
    "10_type.down.sql": "UPDATE note SET body = 'hello `world` \"x\" \\ ü' WHERE id = 1 AND body = 'hello world';\n",
}

STAMP_MIGRATIONS = {
    "20240101120000_init.up.sql": "CREATE TABLE tag (id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE);\n",
    "20240101120000_init.down.sql": "DROP TABLE tag;\n",
    "20240202120000_check_label.up.sql": (
        "CREATE TABLE tag_new (id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE CHECK (length(label) > 0));\n"
        "INSERT INTO tag_new SELECT id, label FROM tag;\nDROP TABLE tag;\nALTER TABLE tag_new RENAME TO tag;\n"
        "CREATE VIEW tag_labels AS SELECT label FROM tag;\n"
        "CREATE TRIGGER tag_trim AFTER INSERT ON tag BEGIN UPDATE tag SET label = trim(label) WHERE id = NEW.id; END;\n"
    ),
    "20240202120000_check_label.down.sql": (
        "DROP VIEW tag_labels;\n"
        "CREATE TABLE tag_old (id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE);\n"
        "INSERT INTO tag_old SELECT id, label FROM tag;\nDROP TABLE tag;\nALTER TABLE tag_old RENAME TO tag;\n"
    ),
}

STAMP_GO = """\
// Package stamp keeps tags.
package stamp

import "embed"

//go:embed migrations
var migrationFS embed.FS

// Files returns the migrations.
func Files() embed.FS { return migrationFS }
"""

CLASH_GO = """\
// Package clash declares names the generated tests would like to use.
package clash

import "embed"

//go:embed migrations/*.sql
var files embed.FS

// require is not testify's.
var require = "mine"

// mwDBPath is the user's own, with another signature.
func mwDBPath() string { return "mine" }
"""

CLASH_TEST = """\
package clash

import (
	errs "errors"
	"strings"
	"testing"
)

func TestHandWritten(t *testing.T) {
	if errs.New("x") == nil || mwDBPath() != "mine" || require != "mine" {
		t.Fatal("hand-written test broken")
	}
}

// mwQuote quotes an SQLite identifier.
func mwQuote(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
"""

CLASH_MIGRATIONS = {
    "1_init.up.sql": (
        "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
        "CREATE INDEX idx_item_name ON item (name);\n"
        "CREATE TABLE legacy (id INTEGER PRIMARY KEY, note TEXT);\n"
        "CREATE TRIGGER item_note AFTER INSERT ON item BEGIN INSERT INTO legacy (note) VALUES (NEW.name); END;\n"
        "INSERT INTO item (id, name) VALUES (1, 'obsolete'), (2, 'kept');\n"
    ),
    "1_init.down.sql": "DROP TABLE legacy;\nDROP TABLE item;\n",
    "2_rename.up.sql": (
        "DROP TRIGGER item_note;\nDROP TABLE legacy;\nDROP INDEX idx_item_name;\n"
        "ALTER TABLE item RENAME COLUMN name TO title;\n"
    ),
    "2_rename.down.sql": (
        "ALTER TABLE item RENAME COLUMN title TO name;\nCREATE INDEX idx_item_name ON item (name);\n"
        "CREATE TABLE legacy (id INTEGER PRIMARY KEY, note TEXT);\n"
        "CREATE TRIGGER item_note AFTER INSERT ON item BEGIN INSERT INTO legacy (note) VALUES (NEW.name); END;\n"
    ),
    "3_purge.up.sql": "DELETE FROM item WHERE title = 'obsolete';\n",
    "3_purge.down.sql": "-- data only: deleted rows are not brought back\n",
}

# SQL texts whose canonical form Go (mwNormalizeSQL) and Python
# (go_canonical_sql) must agree on.
CANONICAL_SAMPLES = [
    "CREATE TABLE \"Tag\" (id INTEGER, -- note\n  [Label] TEXT /* c */ DEFAULT 'A''b')",
    "create index `i x` on t(a) where b > 1.5e3;",
    "CREATE VIEW v AS SELECT x'AB', \"a\"\"b\", `c``d` FROM t;;",
    "CREATE TRIGGER ünï AFTER INSERT ON t BEGIN SELECT 'ÄÖ'; END",
    "CREATE TABLE t (a TEXT CHECK (a <> '--not a comment'), b)",
    "unterminated 'string",
]


def _go(module: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(["go", *args], cwd=module, capture_output=True, text=True, timeout=timeout)


def _delete_version_tests(test_file: Path) -> None:
    """Remove every func TestMigration_<digits>_* and its doc comment."""
    text = test_file.read_text()
    decls = [d for d in parse_file(text).decls if re.fullmatch(r"TestMigration_\d+_\w+", d.name)]
    for decl in sorted(decls, key=lambda d: -d.start):
        start = decl.start
        while True:
            previous = text.rfind("\n", 0, start - 1)
            if start > 0 and text[previous + 1 : start - 1].startswith("//"):
                start = previous + 1
            else:
                break
        text = text[:start] + text[decl.end :].lstrip("\n")
    test_file.write_text(text)


def _copy_sqlite_package(module: Path, name: str) -> Path:
    target = module / "pkg" / name
    target.mkdir(parents=True)
    for file in ("sqlite.go", "migrate.go"):
        shutil.copy(module / SQLITE_PKG / file, target / file)
    shutil.copytree(module / SQLITE_PKG / "migrations", target / "migrations")
    return target


@dataclass
class GoRun:
    module: Path
    generated: Dict[str, dict]  # label -> --json payload of the generating run
    vet: subprocess.CompletedProcess
    results: Dict[Tuple[str, str], str]  # (package dir, test) -> pass/fail/skip
    output: str
    gofmt_dirty: List[str]
    clash_rerun: dict

    def outcome(self, package: str, test: str) -> str:
        return self.results.get((package, test), "not run")


@pytest.fixture(scope="module")
def go_run(tmp_path_factory: pytest.TempPathFactory) -> GoRun:
    if shutil.which("go") is None:
        pytest.skip("Go is not installed; .ci/run requires it")
    module = tmp_path_factory.mktemp("stubmod") / "examples"
    shutil.copytree(EXAMPLES, module)
    generated: Dict[str, dict] = {}

    def generate(label: str, *args: str) -> None:
        rc, payload = run_json("make_test_stub.py", *args, cwd=module)
        assert rc == 0, payload
        generated[label] = payload

    for mutation in MUTATIONS.values():
        _copy_sqlite_package(module, mutation.package)
    _delete_version_tests(module / SQLITE_PKG / "migrate_test.go")
    for version in EXAMPLE_VERSIONS:
        generate(f"sqlite {version}", "--dir", str(SQLITE_PKG / "migrations"), "--version", version)
    for label, mutation in MUTATIONS.items():
        generate(label, "--dir", f"pkg/{mutation.package}/migrations", "--version", mutation.version)
        path = module / "pkg" / mutation.package / "migrations" / mutation.file
        text = path.read_text()
        assert mutation.old in text, f"{label}: the mutation no longer applies to {mutation.file}"
        path.write_text(text.replace(mutation.old, mutation.new, 1))

    write_files(module / "pkg" / "notes" / "migrations", NOTES_MIGRATIONS)
    for version in ("1", "2", "10"):
        generate(f"notes {version}", "--dir", "pkg/notes/migrations", "--version", version)
    write_files(module / "pkg" / "stamp" / "migrations", STAMP_MIGRATIONS)
    (module / "pkg" / "stamp" / "stamp.go").write_text(STAMP_GO)
    for version in ("20240101120000", "20240202120000"):
        generate(f"stamp {version}", "--dir", "pkg/stamp/migrations", "--version", version, "--style", "plain")
    write_files(module / "pkg" / "clash" / "migrations", CLASH_MIGRATIONS)
    write_files(module / "pkg" / "clash", {"clash.go": CLASH_GO, "migrate_test.go": CLASH_TEST})
    generate("clash 2", "--dir", "pkg/clash/migrations", "--version", "2")
    generate("clash 3", "--dir", "pkg/clash/migrations", "--version", "3")
    _, clash_rerun = run_json("make_test_stub.py", "--dir", "pkg/clash/migrations", "--version", "2", cwd=module)

    # Go's mwNormalizeSQL against its Python mirror, in the notes package.
    cases = "".join(f"\t\t{{{json.dumps(s)}, {json.dumps(go_canonical_sql(s))}}},\n" for s in CANONICAL_SAMPLES)
    (module / "pkg" / "notes" / "canonical_test.go").write_text(
        "package notes\n\nimport \"testing\"\n\nfunc TestCanonicalSQLMatchesPython(t *testing.T) {\n"
        f"\tfor _, c := range [][2]string{{\n{cases}\t}} {{\n"
        "\t\tif got := mwNormalizeSQL(c[0]); got != c[1] {\n\t\t\tt.Errorf(\"%q: Go %q, Python %q\", c[0], got, c[1])\n\t\t}\n\t}\n}\n"
    )

    # The hand-written examples of references/generated-tests.md, next to the generated tests.
    reference = (ROOT / "references" / "generated-tests.md").read_text()
    blocks = re.findall(r"```go\n(.*?)```", reference, re.S)
    (module / SQLITE_PKG / "reference_test.go").write_text("package sqlite\n\nimport \"testing\"\n\n" + "\n".join(blocks))

    gofmt = subprocess.run(["gofmt", "-l", "."], cwd=module, capture_output=True, text=True, timeout=120)
    vet = _go(module, "vet", "./...")
    test = _go(module, "test", "-count=1", "-json", "./...")
    results: Dict[Tuple[str, str], str] = {}
    prefix = "example.com/mediaz/"
    for line in test.stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("Test") and event.get("Action") in ("pass", "fail", "skip"):
            results[(event["Package"][len(prefix):], event["Test"])] = event["Action"]
    return GoRun(module, generated, vet, results, test.stdout[-4000:] + test.stderr[-4000:],
                 gofmt.stdout.split(), clash_rerun)


# ------------------------------------------------------------ the examples


def test_every_generated_file_is_gofmt_clean_and_vets(go_run: GoRun) -> None:
    assert go_run.gofmt_dirty == []
    assert go_run.vet.returncode == 0, go_run.vet.stderr


@pytest.mark.parametrize("version", EXAMPLE_VERSIONS)
def test_regenerated_tests_of_each_example_migration_pass(go_run: GoRun, version: str) -> None:
    payload = go_run.generated[f"sqlite {version}"]
    assert payload["added"], payload

    outcomes = {name: go_run.outcome(str(SQLITE_PKG), name) for name in payload["added"]}

    assert set(outcomes.values()) == {"pass"}, (outcomes, go_run.output)


def test_examples_get_all_four_kinds_of_test(go_run: GoRun) -> None:
    added = [name for v in EXAMPLE_VERSIONS for name in go_run.generated[f"sqlite {v}"]["added"]]

    for kind in ("FreshDatabase", "UpgradeFromV", "PreservesUserModifications", "DownRestoresPrevious"):
        assert any(f"_{kind}" in name for name in added), kind
    assert "TestMigration_000003_PreservesUserModifications" in added, "000003 changes data"
    assert "TestMigration_000004_UpgradeFromV3" in added


def test_hand_written_tests_of_the_example_still_pass(go_run: GoRun) -> None:
    hand_written = [t for (pkg, t), _ in go_run.results.items()
                    if pkg == str(SQLITE_PKG) and not re.match(r"TestMigration_\d+_", t) and "/" not in t]

    assert "TestLegacyDatabase" in hand_written
    assert all(go_run.outcome(str(SQLITE_PKG), t) == "pass" for t in hand_written)


def test_the_reference_examples_of_extending_by_hand_pass(go_run: GoRun) -> None:
    names = re.findall(r"^func (Test\w+)", (go_run.module / SQLITE_PKG / "reference_test.go").read_text(), re.M)

    assert names
    assert all(go_run.outcome(str(SQLITE_PKG), name) == "pass" for name in names), go_run.output


# --------------------------------------------------------------- mutations


@pytest.mark.parametrize("label", MUTATIONS)
def test_generated_tests_fail_when_the_migration_is_broken(go_run: GoRun, label: str) -> None:
    mutation = MUTATIONS[label]
    package = f"pkg/{mutation.package}"

    for name in mutation.must_fail:
        assert go_run.outcome(package, name) == "fail", (name, go_run.output)


def test_a_mutation_fails_only_the_tests_of_what_it_broke(go_run: GoRun) -> None:
    mutation = MUTATIONS["an UPDATE touches user-modified rows"]
    others = [n for n in go_run.generated["an UPDATE touches user-modified rows"]["added"] if n not in mutation.must_fail]

    assert others
    assert all(go_run.outcome(f"pkg/{mutation.package}", n) == "pass" for n in others)


# -------------------------------------------------------------- plain style


@pytest.mark.parametrize("package,labels", [
    ("pkg/notes", ["notes 1", "notes 2", "notes 10"]),
    ("pkg/stamp", ["stamp 20240101120000", "stamp 20240202120000"]),
])
def test_plain_style_tests_pass_with_unpadded_and_timestamp_versions(go_run: GoRun, package: str, labels: List[str]) -> None:
    added = [name for label in labels for name in go_run.generated[label]["added"]]

    assert all(go_run.generated[label]["style"] == "plain" for label in labels)
    assert added and all(go_run.outcome(package, name) == "pass" for name in added), go_run.output


def test_odd_names_become_valid_go_and_timestamp_names_keep_their_digits(go_run: GoRun) -> None:
    assert "TestMigration_10_PreservesUserModifications" in go_run.generated["notes 10"]["added"]
    assert "TestMigration_20240202120000_UpgradeFromV20240101120000" in go_run.generated["stamp 20240202120000"]["added"]
    assert "os.DirFS" in go_run.generated["notes 1"]["source"]
    assert "migrationFS" in go_run.generated["stamp 20240101120000"]["source"]


def test_go_and_python_agree_on_canonical_sql(go_run: GoRun) -> None:
    assert go_run.outcome("pkg/notes", "TestCanonicalSQLMatchesPython") == "pass", go_run.output


# ------------------------------------------------------- names and re-runs


def test_taken_names_get_fresh_ones_and_an_identical_helper_is_reused(go_run: GoRun) -> None:
    payload = go_run.generated["clash 2"]
    text = (go_run.module / "pkg" / "clash" / "migrate_test.go").read_text()

    assert "mwDBPath2" in payload["helpers_added"] and "mwDBPath" not in payload["helpers_added"]
    assert "mwQuote" in payload["helpers_reused"]
    assert 'mwrequire "github.com/stretchr/testify/require"' in text
    assert text.count('"errors"') == 1 and "errs.Is(" in text
    assert go_run.outcome("pkg/clash", "TestHandWritten") == "pass"
    assert all(go_run.outcome("pkg/clash", name) == "pass" for name in payload["added"]), go_run.output


def test_drops_and_deletes_are_checked_and_pass(go_run: GoRun) -> None:
    text = (go_run.module / "pkg" / "clash" / "migrate_test.go").read_text()
    added = go_run.generated["clash 2"]["added"] + go_run.generated["clash 3"]["added"]

    for helper in ("mwRequireNoTable(", "mwRequireNoIndex(", "mwRequireNoObject(", "mwRequireNoColumn(", "mwRequireNoRows("):
        assert helper in text, helper
    assert "TestMigration_3_PreservesUserModifications" in added, "3 deletes rows a user may have edited"
    assert all(go_run.outcome("pkg/clash", name) == "pass" for name in added), go_run.output


def test_a_second_run_adds_nothing(go_run: GoRun) -> None:
    assert go_run.clash_rerun["added"] == []
    assert go_run.clash_rerun["written"] is False
    assert len(go_run.clash_rerun["existing"]) == len(go_run.generated["clash 2"]["added"])
