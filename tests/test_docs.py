"""Self-validation of the skill's guidance: SKILL.md and references/*.md.

Checks the frontmatter against the skill format's limits, the size of
SKILL.md, every relative link and anchor, that every reference is reachable
from SKILL.md, that long references open with a contents list, that every
script the docs name exists and answers --help, that every script command in
SKILL.md and the references runs from a project root with the skill
installed (as the assistant types it), and runs every ```sql block the way
golang-migrate would run a migration file.

SQL fence conventions (the info string after ```sql):
    (none)    wrapped in one transaction, foreign keys off; must succeed
    fk        PRAGMA foreign_keys=ON on the connection first
    notx      not wrapped (as with x-no-tx-wrap=true)
    bad       must fail; a `-- Fails: TEXT` comment, if present, names the error
    fragment  not executed
    folder    a whole migrations folder (`-- file: NAME` sections), only in
              references/rules.md; tests/test_lint_catalogue.py runs each
              one through the linter (bad must fire, fixed must not)
Flags combine: ```sql bad fk, ```sql notx fk.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from mwcore.engine import run_script, save_copy, scratch as connect  # noqa: E402

SKILL = ROOT / "SKILL.md"
REFERENCES = sorted((ROOT / "references").glob("*.md"))
DOC_PATHS = [SKILL, *REFERENCES]
# Files whose `scripts/NAME.py` mentions must point at real scripts.
SCRIPT_MENTION_PATHS = [p for p in (SKILL, *REFERENCES, ROOT / "README.md") if p.exists()]

INSTALL_NAME = "migration-writer"
ALLOWED_FIELDS = {"name", "description", "license", "compatibility"}
REQUIRED_FIELDS = {"name", "description"}
NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
TRIGGER_PHRASES = [
    "Use when",
    "migration",
    "schema change",
    "ALTER TABLE",
    "golang-migrate",
    "down SQL",
    "migrate_test.go",
    "rollback",
    "dirty database",
    "SQLite",
    "add column",
]
SQL_FLAGS = {"fk", "notx", "bad", "fragment", "folder"}
# A `bad` block must fail for the reason it shows, not because it is broken.
BROKEN_SQL_MARKERS = ("syntax error", "incomplete input", "unrecognized token")
SCRIPT_RE = re.compile(r"scripts/([A-Za-z0-9_]+\.py)")
CONTENTS_MIN_LINES = 100
SKILL_MAX_BODY_LINES = 500

_md = MarkdownIt("commonmark").enable("table")


@dataclass
class Doc:
    path: Path
    frontmatter: Optional[str]
    body: str
    body_offset: int  # lines before the body (the frontmatter block)
    tokens: List[Token] = field(default_factory=list)

    @property
    def rel(self) -> str:
        return self.path.relative_to(ROOT).as_posix()


@lru_cache(maxsize=None)
def load(path: Path) -> Doc:
    text = path.read_text(encoding="utf-8")
    frontmatter, body, offset = None, text, 0
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end != -1:
            frontmatter = text[4:end]
            body = text[end + len("\n---\n"):]
            offset = text[: end + len("\n---\n")].count("\n")
    return Doc(path, frontmatter, body, offset, _md.parse(body))


def skill_frontmatter() -> dict:
    doc = load(SKILL)
    assert doc.frontmatter is not None, "SKILL.md must start with a --- YAML frontmatter block ---"
    data = yaml.safe_load(doc.frontmatter)
    assert isinstance(data, dict), "the frontmatter must be a YAML mapping"
    return data


def inline_text(inline: Token) -> str:
    return "".join(c.content for c in inline.children or [] if c.type in ("text", "code_inline"))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading text."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(doc: Doc) -> set:
    seen: Dict[str, int] = {}
    result = set()
    for i, tok in enumerate(doc.tokens):
        if tok.type == "heading_open":
            base = slug(inline_text(doc.tokens[i + 1]))
            n = seen.get(base, 0)
            seen[base] = n + 1
            result.add(base if n == 0 else f"{base}-{n}")
    return result


def h2_slugs(doc: Doc) -> List[str]:
    return [
        slug(inline_text(doc.tokens[i + 1]))
        for i, tok in enumerate(doc.tokens)
        if tok.type == "heading_open" and tok.tag == "h2"
    ]


def links(doc: Doc) -> List[Tuple[int, str]]:
    """(1-based line, href) of every link in the document."""
    found = []
    for tok in doc.tokens:
        if tok.type != "inline":
            continue
        line = doc.body_offset + tok.map[0] + 1
        for child in tok.children or []:
            if child.type == "link_open":
                found.append((line, str(child.attrGet("href"))))
    return found


def is_external(href: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", href))


@dataclass(frozen=True)
class Fence:
    doc: str
    line: int  # 1-based line of the opening ``` in the file
    lang: str
    flags: Tuple[str, ...]
    code: str

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def fences(doc: Doc) -> List[Fence]:
    result = []
    for tok in doc.tokens:
        if tok.type == "fence":
            words = tok.info.split()
            lang = words[0] if words else ""
            result.append(Fence(doc.rel, doc.body_offset + tok.map[0] + 1, lang, tuple(words[1:]), tok.content))
    return result


ALL_FENCES = [f for p in DOC_PATHS for f in fences(load(p))]
SQL_FENCES = [f for f in ALL_FENCES if f.lang == "sql"]
RUNNABLE_SQL = [f for f in SQL_FENCES if "fragment" not in f.flags and "folder" not in f.flags]
FOLDER_SQL = [f for f in SQL_FENCES if "folder" in f.flags]
ALL_LINKS = [(load(p), line, href) for p in DOC_PATHS for line, href in links(load(p))]
RELATIVE_LINKS = [(d, line, href) for d, line, href in ALL_LINKS if not is_external(href)]


def mentioned_scripts() -> List[str]:
    names = set()
    for path in SCRIPT_MENTION_PATHS:
        names.update(SCRIPT_RE.findall(path.read_text(encoding="utf-8")))
    return sorted(names)


def script_command_lines() -> List[Tuple[str, str, str]]:
    """(id, script name, line) for each line of a ```sh block (a command) or
    ```text block (a synopsis) in SKILL.md or a reference that runs a script."""
    found = []
    for fence in (f for path in DOC_PATHS for f in fences(load(path))):
        if fence.lang not in ("sh", "text"):
            continue
        for offset, line in enumerate(fence.code.splitlines(), start=1):
            match = SCRIPT_RE.search(line)
            if match:
                found.append((f"{fence.doc}:{fence.line + offset}", match.group(1), line))
    return found


@lru_cache(maxsize=None)
def script_help(name: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


# --- frontmatter ----------------------------------------------------------


def test_frontmatter_has_only_allowed_fields():
    extra = set(skill_frontmatter()) - ALLOWED_FIELDS
    assert not extra, f"fields not allowed in the frontmatter: {sorted(extra)}"


def test_frontmatter_has_required_fields():
    missing = REQUIRED_FIELDS - set(skill_frontmatter())
    assert not missing, f"required frontmatter fields missing: {sorted(missing)}"


def test_name_is_valid():
    name = str(skill_frontmatter().get("name", ""))
    assert NAME_RE.match(name), f"name {name!r} must be lower-case words joined by single hyphens"
    assert len(name) <= 64, f"name is too long ({len(name)} characters). Maximum is 64 characters."
    assert "anthropic" not in name and "claude" not in name, "name must not contain 'anthropic' or 'claude'"


def test_name_is_the_install_name():
    assert skill_frontmatter().get("name") == INSTALL_NAME


def test_description_length():
    description = str(skill_frontmatter().get("description", ""))
    assert description.strip(), "description is empty"
    assert len(description) <= 1024, f"description is too long ({len(description)} characters). Maximum is 1024."


def test_description_has_no_angle_brackets():
    description = str(skill_frontmatter().get("description", ""))
    assert "<" not in description and ">" not in description


@pytest.mark.parametrize("phrase", TRIGGER_PHRASES)
def test_description_names_trigger(phrase):
    description = str(skill_frontmatter().get("description", ""))
    assert phrase.lower() in description.lower(), f"description does not mention {phrase!r}"


def test_compatibility_length():
    compatibility = skill_frontmatter().get("compatibility")
    if compatibility is not None:
        assert len(str(compatibility)) <= 500, f"compatibility is too long ({len(str(compatibility))} characters). Maximum is 500."


def test_license_is_a_string():
    license_ = skill_frontmatter().get("license")
    if license_ is not None:
        assert isinstance(license_, str) and license_.strip()


# --- structure ------------------------------------------------------------


def test_skill_body_is_under_500_lines():
    lines = load(SKILL).body.count("\n")
    assert lines < SKILL_MAX_BODY_LINES, f"SKILL.md body has {lines} lines; move depth to references/."


def test_references_are_one_level_deep():
    nested = [p.relative_to(ROOT).as_posix() for p in (ROOT / "references").rglob("*.md") if p.parent != ROOT / "references"]
    assert not nested, f"references must sit directly in references/: {nested}"


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda p: p.name)
def test_reference_is_linked_from_skill(reference):
    targets = {
        (SKILL.parent / href.partition("#")[0]).resolve()
        for _, href in links(load(SKILL))
        if not is_external(href) and href.partition("#")[0]
    }
    assert reference.resolve() in targets, f"SKILL.md does not link to {reference.relative_to(ROOT)}"


@pytest.mark.parametrize(
    "doc,line,href", RELATIVE_LINKS, ids=[f"{d.rel}:{line}:{href}" for d, line, href in RELATIVE_LINKS]
)
def test_relative_link_resolves(doc, line, href):
    target_part, _, fragment = href.partition("#")
    target = (doc.path.parent / target_part).resolve() if target_part else doc.path
    assert target.exists(), f"{doc.rel}:{line}: {href}: no such file"
    if fragment:
        assert target.suffix == ".md", f"{doc.rel}:{line}: {href}: anchor into a non-markdown file"
        assert fragment in anchors(load(target)), f"{doc.rel}:{line}: {href}: no heading with that anchor"


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda p: p.name)
def test_long_reference_opens_with_contents_list(reference):
    doc = load(reference)
    if doc.body.count("\n") <= CONTENTS_MIN_LINES:
        pytest.skip("short reference")
    first_h2 = next((t.map[0] for t in doc.tokens if t.type == "heading_open" and t.tag == "h2"), None)
    listed = set()
    for tok in doc.tokens:
        if tok.type == "bullet_list_open" and (first_h2 is None or tok.map[0] < first_h2):
            start, end = tok.map
            listed = {
                str(c.attrGet("href"))[1:]
                for t in doc.tokens
                if t.type == "inline" and t.map and start <= t.map[0] < end
                for c in t.children or []
                if c.type == "link_open" and str(c.attrGet("href")).startswith("#")
            }
            break
    missing = [s for s in h2_slugs(doc) if s not in listed]
    assert listed and not missing, f"{doc.rel}: the contents list before the first section lacks {missing}"


# --- scripts ----------------------------------------------------------------


def test_docs_name_at_least_one_script():
    assert mentioned_scripts(), "SKILL.md names no scripts/NAME.py"


@pytest.mark.parametrize("name", mentioned_scripts())
def test_named_script_exists(name):
    assert (ROOT / "scripts" / name).is_file(), f"scripts/{name} is named in the docs but does not exist"


@pytest.mark.parametrize("name", mentioned_scripts())
def test_named_script_help_exits_zero(name):
    if not (ROOT / "scripts" / name).is_file():
        pytest.skip("missing script is reported by test_named_script_exists")
    result = script_help(name)
    assert result.returncode == 0, f"scripts/{name} --help exited {result.returncode}: {result.stderr[-500:]}"


COMMAND_LINES = script_command_lines()


@pytest.mark.parametrize("name,line", [(n, l) for _, n, l in COMMAND_LINES], ids=[i for i, _, _ in COMMAND_LINES])
def test_documented_command_options_exist(name, line):
    if not (ROOT / "scripts" / name).is_file() or script_help(name).returncode != 0:
        pytest.skip("a missing script or failing --help is reported by its own test")
    help_text = script_help(name).stdout
    for option in re.findall(r"(?<!\S)(--[a-z][a-z0-9-]*)", line):
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_text), (
            f"{option} is not an option of scripts/{name} (see its --help)"
        )


# --- script commands, run as the assistant types them ------------------------
#
# Claude Code substitutes ${CLAUDE_SKILL_DIR} in SKILL.md's body only; a
# reference read later shows it literally, and the assistant's shell does not
# set it. So SKILL.md writes ${CLAUDE_SKILL_DIR}/scripts/ and the references
# write <skill>/scripts/, which SKILL.md tells the assistant to replace with
# the skill's folder. Every script line of every ```sh block runs here that
# way: the skill installed by install.sh into a temp HOME, each block in a
# fresh copy of examples/ (the user's project root), lines in order, the
# variable NOT set in the environment.

SKILL_DIR_VAR = "${CLAUDE_SKILL_DIR}"
REFERENCE_SKILL_DIR = "<skill>"
EXAMPLE_DB = "path/to/app.db"  # what the docs call the user's database
EXAMPLE_DB_VERSION = 2  # so that a --db run has pending versions to check


@dataclass(frozen=True)
class ScriptBlock:
    fence: Fence
    lines: Tuple[str, ...]  # the lines that run a script, in order

    @property
    def id(self) -> str:
        return self.fence.id


def script_blocks() -> List[ScriptBlock]:
    blocks = []
    for fence in ALL_FENCES:
        lines = tuple(line for line in fence.code.splitlines() if SCRIPT_RE.search(line))
        if fence.lang == "sh" and lines:
            blocks.append(ScriptBlock(fence, lines))
    return blocks


SCRIPT_BLOCKS = script_blocks()


def typed_command(block: ScriptBlock, line: str, skill: Path) -> str:
    """The line as the assistant runs it: the skill folder typed in where
    the doc says so, nothing else changed."""
    marker = SKILL_DIR_VAR if block.fence.doc == "SKILL.md" else REFERENCE_SKILL_DIR
    return line.replace(marker, str(skill))


@pytest.fixture(scope="module")
def installed_skill(tmp_path_factory) -> Tuple[Path, Dict[str, str]]:
    home = tmp_path_factory.mktemp("home")
    env = {k: v for k, v in os.environ.items() if k not in ("CLAUDE_CONFIG_DIR", "CLAUDE_SKILL_DIR")}
    env["HOME"] = str(home)
    proc = subprocess.run([str(ROOT / "install.sh")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    skill = home / ".claude" / "skills" / INSTALL_NAME
    assert (skill / "scripts").is_dir()
    return skill, env


def project_copy(skill: Path, where: Path) -> Path:
    """The user's project: a copy of the installed example, with a real
    database at the path the docs use, migrated to an early version."""
    project = where / "project"
    shutil.copytree(skill / "examples", project, ignore=shutil.ignore_patterns("*.db", "*.db-*"))
    from mwcore.folder import scan_folder
    from mwcore.gomigrate import GoMigrate

    db = project / EXAMPLE_DB
    db.parent.mkdir(parents=True)
    conn = connect()
    assert GoMigrate(conn, scan_folder(project / "pkg" / "storage" / "sqlite" / "migrations")).up(EXAMPLE_DB_VERSION).ok
    save_copy(conn, db)
    conn.close()
    return project


def test_docs_have_script_commands_in_every_reference_that_names_a_script():
    docs = {b.fence.doc for b in SCRIPT_BLOCKS}
    assert {"SKILL.md", "references/troubleshooting.md", "references/verification.md", "references/rebuild.md",
            "references/generated-tests.md"} <= docs


@pytest.mark.parametrize("path", DOC_PATHS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_script_commands_use_the_form_that_works_where_they_are_read(path):
    """SKILL.md: ${CLAUDE_SKILL_DIR}/scripts/ (substituted when the skill
    loads). A reference: <skill>/scripts/, never the variable (it reaches
    the shell unset: /scripts/...) and never a bare scripts/ (the shell runs
    in the project, not in the skill)."""
    doc = load(path)
    want = SKILL_DIR_VAR if path == SKILL else REFERENCE_SKILL_DIR
    for fence in fences(doc):
        if fence.lang not in ("sh", "text"):
            continue
        for offset, line in enumerate(fence.code.splitlines(), start=1):
            for match in SCRIPT_RE.finditer(line):
                prefix = line[: match.start()]
                assert prefix.endswith(want + "/"), (
                    f"{fence.doc}:{fence.line + offset}: write {want}/scripts/{match.group(1)}")
    if path != SKILL:
        assert SKILL_DIR_VAR not in doc.body, f"{doc.rel}: ${{CLAUDE_SKILL_DIR}} is not substituted in a reference"


@pytest.mark.slow
@pytest.mark.parametrize("block", SCRIPT_BLOCKS, ids=[b.id for b in SCRIPT_BLOCKS])
def test_script_commands_run_from_the_project_root(block, installed_skill, tmp_path):
    skill, env = installed_skill
    project = project_copy(skill, tmp_path)
    for line in block.lines:
        command = typed_command(block, line, skill)
        proc = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=project, env=env,
                              capture_output=True, text=True, timeout=300)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert proc.returncode == 0, (
            f"{block.id}: exit {proc.returncode}: {command}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


# --- SQL blocks ----------------------------------------------------------


def test_docs_have_sql_blocks():
    assert RUNNABLE_SQL, "no ```sql block found: the SQL guidance is untested"


@pytest.mark.parametrize("fence", SQL_FENCES, ids=[f.id for f in SQL_FENCES])
def test_sql_fence_flags_are_known(fence):
    unknown = set(fence.flags) - SQL_FLAGS
    assert not unknown, f"{fence.id}: unknown ```sql flags {sorted(unknown)}; known: {sorted(SQL_FLAGS)}"
    assert not ({"fragment"} < set(fence.flags)), f"{fence.id}: 'fragment' is not executed; it takes no other flag"


@pytest.mark.parametrize("fence", FOLDER_SQL, ids=[f.id for f in FOLDER_SQL])
def test_folder_blocks_are_rule_examples(fence):
    """A folder block is executed by the rule-catalogue test, which only
    reads references/rules.md; anywhere else it would run nowhere."""
    assert fence.doc == "references/rules.md", f"{fence.id}: 'folder' blocks belong in references/rules.md"
    assert fence.flags == ("folder",), f"{fence.id}: 'folder' takes no other flag"
    assert "-- file: " in fence.code, f"{fence.id}: a folder block names its files with '-- file: NAME' lines"


@pytest.mark.parametrize("fence", RUNNABLE_SQL, ids=[f.id for f in RUNNABLE_SQL])
def test_sql_block(fence):
    conn = connect(foreign_keys="fk" in fence.flags)
    try:
        result = run_script(conn, fence.code, wrap="notx" not in fence.flags)
    finally:
        conn.close()
    where = f"{fence.doc}:{fence.line + result.line}" if result.line else fence.id
    if "bad" not in fence.flags:
        assert result.ok, f"{where}: {result.error}"
        return
    assert not result.ok, f"{fence.id}: a 'bad' block ran without error"
    assert not any(m in (result.error or "") for m in BROKEN_SQL_MARKERS), (
        f"{where}: a 'bad' block must fail for its point, not on broken SQL: {result.error}"
    )
    expected = re.search(r"--\s*Fails:\s*(.+)", fence.code)
    if expected:
        assert expected.group(1).strip() in (result.error or ""), (
            f"{where}: expected the error {expected.group(1).strip()!r}, got {result.error!r}"
        )


# --- Go code of references/testing.md ------------------------------------

# The chain the templates in testing.md are written against: version 2 adds
# an indexed movie.rating and new defaults for untouched download profiles.
GO_FIXTURE_MIGRATIONS = {
    "000001_init.up.sql": """
CREATE TABLE movie (id INTEGER PRIMARY KEY, title TEXT NOT NULL, year INTEGER);
CREATE INDEX movie_year ON movie (year);
CREATE TABLE download_profile (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, max_size_mb INTEGER, upgrade_allowed INTEGER NOT NULL
);
INSERT INTO download_profile VALUES (1, 'Small', 700, 1), (2, 'Balanced', 4000, 1);
""",
    "000001_init.down.sql": "DROP TABLE download_profile;\nDROP TABLE movie;\n",
    "000002_add_rating.up.sql": """
ALTER TABLE movie ADD COLUMN rating INTEGER NOT NULL DEFAULT 0;
CREATE INDEX movie_rating ON movie (rating);
UPDATE download_profile SET max_size_mb = 1500
WHERE (id IS 1 AND name IS 'Small' AND max_size_mb IS 700 AND upgrade_allowed IS 1)
   OR (id IS 2 AND name IS 'Balanced' AND max_size_mb IS 4000 AND upgrade_allowed IS 1);
""",
    "000002_add_rating.down.sql": """
UPDATE download_profile SET max_size_mb = CASE id WHEN 1 THEN 700 ELSE 4000 END
WHERE (id IS 1 AND name IS 'Small' AND max_size_mb IS 1500 AND upgrade_allowed IS 1)
   OR (id IS 2 AND name IS 'Balanced' AND max_size_mb IS 1500 AND upgrade_allowed IS 1);
DROP INDEX movie_rating;
ALTER TABLE movie DROP COLUMN rating;
""",
}
GO_FIXTURE_MOD = """module example.com/migrationwriterdocs

go 1.24

require (
\tgithub.com/golang-migrate/migrate/v4 v4.19.1
\tgithub.com/mattn/go-sqlite3 v1.14.32
\tgithub.com/stretchr/testify v1.11.1
)
"""
GO_FIXTURE_EMBED = """package sqlite

import "embed"

//go:embed migrations/*.sql
var migrationFiles embed.FS
"""


@pytest.mark.go
@pytest.mark.slow
def test_testing_reference_go_code_passes(tmp_path):
    """The helper and templates in testing.md, in order, form a passing
    migrate_test.go for a real golang-migrate chain."""
    if shutil.which("go") is None:
        pytest.skip("the Go toolchain is not installed")
    blocks = [f.code for f in fences(load(ROOT / "references" / "testing.md")) if f.lang == "go"]
    assert blocks, "testing.md has no ```go blocks"
    package = tmp_path / "pkg" / "storage" / "sqlite"
    (package / "migrations").mkdir(parents=True)
    for name, sql in GO_FIXTURE_MIGRATIONS.items():
        (package / "migrations" / name).write_text(sql.lstrip(), encoding="utf-8")
    (package / "migrate.go").write_text(GO_FIXTURE_EMBED, encoding="utf-8")
    (package / "migrate_test.go").write_text("package sqlite\n\n" + "\n".join(blocks), encoding="utf-8")
    (tmp_path / "go.mod").write_text(GO_FIXTURE_MOD, encoding="utf-8")
    env = {**os.environ, "CGO_ENABLED": "1", "GOFLAGS": "-mod=mod"}
    for command in (["go", "mod", "tidy"], ["go", "test", "./...", "-count=1"]):
        result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    # generated-tests.md: the generated mw... helpers and tests join these
    # hand-written ones in the same file, and everything still passes.
    stub = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_test_stub.py"), "--dir", str(package / "migrations"),
                           "--version", "1"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert stub.returncode == 0, stub.stdout + stub.stderr
    test_file = (package / "migrate_test.go").read_text(encoding="utf-8")
    assert "func migrateTo(" in test_file and "func mwMigrateTo(" in test_file
    assert "func TestMigration_000001_FreshDatabase(" in test_file
    result = subprocess.run(["go", "test", "./...", "-count=1"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"go test with both helper sets failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
