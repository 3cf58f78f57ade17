"""Go test stubs for one migration: detect, render, merge.

`plan_stub` finds the Go package of the migrations folder and its test file,
replays the migration (`gofacts`) to learn what to assert, renders the four
tests (FreshDatabase, UpgradeFromV<PREV>, PreservesUserModifications when
the migration changes data, DownRestoresPrevious) with the helpers they need
(`gotemplates`), and merges them into the test file: tests that exist are
kept and reported, a helper is reused only when the file already holds the
very same declaration, every other name clash gets a fresh name, missing
imports are added, and gofmt (when installed) formats the result. Nothing is
written here: `write_stub` does that, once, atomically.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

from .errors import MigrationWriterError, UsageError
from .folder import MigrationFolder, read_sql
from .gofacts import Check, MigrationFacts, migration_facts
from .gopins import PinnedVersion, find_pinned_versions
from .golex import GoFile, default_package_name, normalize_decl, package_name, parse_file, rename_identifiers, used_qualifiers
from .gotemplates import (
    DRIVERS, HELPERS, MATTN, MIGRATE_MODULE, MODERNC, PINNED_VERSIONS, TESTIFY_MODULE, TestDriver, imports_for,
    with_dependencies,
)
from .project import ProjectFacts, find_module_root, read_project_facts

MEDIAZ, PLAIN, AUTO = "mediaz", "plain", "auto"
DEFAULT_TEST_FILE = "migrate_test.go"
GO_KEYWORDS = {
    "break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough", "for", "func",
    "go", "goto", "if", "import", "interface", "map", "package", "range", "return", "select", "struct",
    "switch", "type", "var",
}

_EMBED_VAR_RE = re.compile(
    r"^[ \t]*//go:embed[ \t]+([^\n]+)\n(?:[ \t]*//[^\n]*\n)*[ \t]*var[ \t]+([^\W\d]\w*)[ \t]+(?:[^\W\d]\w*\.)?FS\b",
    re.M,
)
_NEW_RE = re.compile(r"\bfunc\s+New\s*\(\s*\w+\s+context\.Context\s*,\s*\w+\s+string\s*\)\s*\(\s*[\w.*\[\]]+\s*,\s*error\s*\)")
_VERSION_RE = re.compile(
    r"\bfunc\s*\(\s*\w*\s*\*?\s*\w+\s*\)\s*GetMigrationVersion\s*\(\s*\)\s*"
    r"\(\s*(?:\w+\s+)?uint\s*,\s*(?:\w+\s+)?bool\s*,\s*(?:\w+\s+)?error\s*\)"
)


# Go literals -------------------------------------------------------------------

_PLAIN_ASCII = re.compile(r"[ -_a-~]*")  # printable ASCII without the backtick


def go_string(text: str) -> str:
    """A Go string literal for text: raw (`...`) when that is exact and
    readable, else an interpreted literal with escapes."""
    if _PLAIN_ASCII.fullmatch(text):
        return "`" + text + "`" if '"' in text or "\\" in text else '"' + text + '"'
    raw_ok = "`" not in text and "\r" not in text and all(
        ch == "\n" or ch == "\t" or (ch.isprintable() and ch != "\ufeff" and not 0xD800 <= ord(ch) <= 0xDFFF) for ch in text
    )
    if raw_ok and ('"' in text or "\\" in text):
        return "`" + text + "`"
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\uFFFD")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not ch.isprintable() or ch == "\ufeff":
            out.append(f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_value(value) -> str:
    """A Go expression for a value read from SQLite (inside []any{...})."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if text in ("inf", "-inf", "nan"):
            return {"inf": "math.Inf(1)", "-inf": "math.Inf(-1)", "nan": "nil"}[text]
        return text if any(c in text for c in ".e") else text + ".0"
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return "[]byte(" + go_string(data.decode("utf-8", "surrogateescape")) + ")"
    return go_string(str(value))


def _go_args(check: Check) -> str:
    parts = ["t", "db"]
    for arg in check.args:
        if isinstance(arg, tuple) and check.helper in ("mwRequireRows", "mwRequireNoRows") and arg and isinstance(arg[0], tuple):
            rows = "".join(f"\t\t{{{', '.join(go_value(v) for v in row)}}},\n" for row in arg)
            parts.append("[][]any{\n" + rows + "\t}")
        elif isinstance(arg, tuple):
            parts.append("[]string{" + ", ".join(go_string(str(a)) for a in arg) + "}")
        elif isinstance(arg, str):
            parts.append(go_string(arg))
        else:
            parts.append(go_value(arg))
    return ", ".join(parts)


def _check_line(check: Check) -> str:
    return f"\t{check.helper}({_go_args(check)})\n"


def _comment(text: str) -> str:
    """Text safe inside a // comment (no line breaks or control characters)."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


# The Go package -----------------------------------------------------------------


@dataclass
class GoPackage:
    dir: Path
    name: str  # the package clause the test file has (or will have)
    test_file: Path
    test_text: Optional[str]  # None: the file does not exist yet; else with LF line ends, no BOM
    raw_text: Optional[str]  # the file exactly as read
    crlf: bool
    bom: bool
    files: Dict[Path, GoFile]  # same-package files, the test file included
    taken: Set[str]  # package-level names and every import name in those files
    source_expr: str  # Go expression opening the migrations with iofs
    source_note: str
    mediaz: Optional[str]  # evidence that New(ctx, path) and GetMigrationVersion exist
    module_root: Optional[Path]
    driver: TestDriver = DRIVERS[MATTN]
    driver_reason: str = ""


def _read_go_file(path: Path) -> str:
    return read_sql(path).text  # any UTF-8 source file, exactly; one-sentence errors


def _embedding(pkg_dir: Path, migrations: Path, texts: Dict[Path, str]) -> Optional[Tuple[str, str, Path]]:
    """(variable, path inside it, file) of a //go:embed FS that holds the folder."""
    target = migrations.resolve()
    for path, text in texts.items():
        if "go:embed" not in text:
            continue
        for match in _EMBED_VAR_RE.finditer(text):
            for pattern in re.findall(r'"((?:[^"\\]|\\.)*)"|`([^`]*)`|(\S+)', match.group(1)):
                raw = next(p for p in pattern if p)
                if raw.startswith("all:"):
                    raw = raw[4:]
                head, _, last = raw.rpartition("/")
                inside = head if any(ch in last for ch in "*?[") else raw
                if not inside:
                    continue
                if (pkg_dir / inside).resolve() == target:
                    return match.group(2), inside, path
    return None


def detect_package(migrations: Path, test_file: Optional[Path], project: ProjectFacts,
                   test_text_override: Optional[str] = None) -> GoPackage:
    """The Go package the tests go into and what it offers.
    `test_text_override`: the test file's text as an earlier plan of the
    same run left it (nothing is written until the end)."""
    if test_file is not None:
        if not test_file.name.endswith("_test.go"):
            raise UsageError(f"--test-file {test_file} must end in _test.go, or `go test` ignores it.")
        if test_file.is_symlink():
            raise UsageError(f"--test-file {test_file} is a symlink; give the real file.")
        pkg_dir = test_file.parent
        if not pkg_dir.is_dir():
            raise UsageError(f"--test-file {test_file}: the folder {pkg_dir} does not exist.")
    else:
        pkg_dir = _package_dir(migrations)
        test_file = pkg_dir / DEFAULT_TEST_FILE
        if test_file.is_symlink():
            raise UsageError(f"{test_file} is a symlink; pass --test-file with the real file.")

    texts: Dict[Path, str] = {}
    for path in sorted(pkg_dir.glob("*.go")):
        if path.is_file():
            texts[path] = _read_go_file(path)
    test_text = texts.get(test_file) if test_file.exists() else None
    if test_file.exists() and test_text is None:
        test_text = _read_go_file(test_file)
    if test_text_override is not None:
        test_text = test_text_override
    raw_text = test_text
    crlf = test_text is not None and "\r\n" in test_text
    bom = test_text is not None and test_text.startswith("\ufeff")
    if test_text is not None:
        test_text = test_text.replace("\r\n", "\n").lstrip("\ufeff")
        texts[test_file] = test_text

    non_test_packages = {package_name(t) for p, t in texts.items() if not p.name.endswith("_test.go")} - {None}
    if test_text is not None:
        name = package_name(test_text)
        if name is None:
            raise MigrationWriterError(f"{test_file} has no package clause; fix the file first.")
    elif non_test_packages:
        name = sorted(non_test_packages)[0]
    else:
        name = _package_name_from_dir(pkg_dir)

    same = {p: t for p, t in texts.items() if package_name(t) == name}
    files = {p: parse_file(t) for p, t in same.items()}
    if test_text is not None:
        files[test_file] = parse_file(test_text)
    taken: Set[str] = set()
    for go_file in files.values():
        taken.update(go_file.names())
        taken.update(i.local_name for i in go_file.imports if i.local_name not in ("_", "."))

    embed = _embedding(pkg_dir, migrations, same)
    if embed is not None:
        var, inside, where = embed
        source_expr = f"iofs.New({var}, {go_string(inside)})"
        source_note = f"the embedded {var} ({where.name})"
    else:
        rel = os.path.relpath(migrations.resolve(), pkg_dir.resolve()).replace(os.sep, "/")
        source_expr = f"iofs.New(os.DirFS({go_string(rel)}), \".\")"
        source_note = f"os.DirFS({rel!r}) (no //go:embed of the folder in package {name})"

    code = "\n".join(_without_comments(t) for p, t in same.items() if not p.name.endswith("_test.go"))
    mediaz = None
    new_match, version_match = _NEW_RE.search(code), _VERSION_RE.search(code)
    if new_match and version_match:
        mediaz = "New(ctx, path) and GetMigrationVersion() (uint, bool, error) are declared"
    module_root = find_module_root(pkg_dir)
    return GoPackage(pkg_dir, name, test_file, test_text, raw_text, crlf, bom, files, taken, source_expr, source_note,
                     mediaz, module_root)


def _package_dir(migrations: Path) -> Path:
    """The package that embeds the folder, else the folder's parent."""
    parent = migrations.resolve().parent
    for candidate in (parent, migrations.resolve()):
        if any(p.is_file() for p in candidate.glob("*.go")):
            return candidate
    return parent


def _package_name_from_dir(pkg_dir: Path) -> str:
    name = re.sub(r"\W", "_", pkg_dir.resolve().name.lower()).strip("_") or "migrations"
    if name[0].isdigit() or name in GO_KEYWORDS:
        name = "db_" + name
    return name


def _without_comments(text: str) -> str:
    return re.sub(r"//[^\n]*|/\*.*?\*/", " ", text, flags=re.S)


# The driver --------------------------------------------------------------------------



def resolve_driver(choice: str, project: ProjectFacts, module_root: Optional[Path]) -> Tuple[TestDriver, str]:
    """The driver the tests use and why: --driver, else the project's own."""
    if choice in DRIVERS:
        return DRIVERS[choice], "chosen with --driver"
    fact = getattr(project, "driver", None)  # "sqlite3" (mattn), "sqlite" (modernc) or "unknown"
    if fact in ("sqlite3", "sqlite"):
        key = MATTN if fact == "sqlite3" else MODERNC
        return DRIVERS[key], str(getattr(project, "driver_evidence", "") or "the project's golang-migrate driver")
    library = getattr(project, "sqlite_library", None)
    for key, driver in DRIVERS.items():
        if library is not None and library.module == driver.library:
            return driver, f"{library.evidence}: golang-migrate's driver for it"
    return DRIVERS[MATTN], "no SQLite driver found in the Go source or go.mod: golang-migrate's sqlite3 driver (mattn) by default"


# The module's requirements ---------------------------------------------------------------


@dataclass
class ModuleSetup:
    """What go.mod and go.sum lack for the generated tests to compile, and
    the one `go get` that adds it (run in the module root)."""

    module_root: Optional[Path]
    missing: List[str] = field(default_factory=list)  # modules go.mod does not require
    unsummed: List[str] = field(default_factory=list)  # "module version" without its go.sum hash
    packages: List[str] = field(default_factory=list)  # package@version for `go get`
    vendored: bool = False

    @property
    def needed(self) -> bool:
        return self.module_root is None or bool(self.missing or self.unsummed)

    def commands(self) -> List[str]:
        """The commands to run in the module root, in order."""
        out = [] if self.module_root is not None else ["go mod init MODULE_PATH"]
        out.append("go get " + " ".join(self.packages))
        if self.vendored:
            out.append("go mod vendor")
        return out

    def shell(self) -> str:
        """One line for a shell, from the current directory."""
        joined = " && ".join(self.commands())
        if self.module_root is None:
            return joined
        try:
            where = os.path.relpath(self.module_root.resolve(), Path.cwd().resolve())
        except ValueError:
            where = str(self.module_root)
        return joined if where == "." else f"(cd {shlex.quote(where)} && {joined})"


def _read_text(path: Path) -> Optional[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _required_version(go_mod: str, module: str) -> Optional[str]:
    match = re.search(r"(?m)^\s*(?:require\s+)?" + re.escape(module) + r"\s+(v\S+)", go_mod)
    return match.group(1) if match else None


def _replaced(go_mod: str, module: str) -> bool:
    return re.search(r"(?m)^\s*(?:replace\s+)?" + re.escape(module) + r"(?:\s+v\S+)?\s+=>", go_mod) is not None


def module_setup(module_root: Optional[Path], driver: TestDriver) -> ModuleSetup:
    """Check go.mod and go.sum for the modules the generated tests import.

    `go get` is given package paths, not bare module paths: for a package it
    also records the go.sum hashes of everything that package imports (a
    bare `go get github.com/stretchr/testify@latest` leaves testify's YAML
    dependency unhashed, and `go test` fails on a missing go.sum entry). A
    module go.mod already requires keeps its version; a missing one gets the
    version the test suite builds with (PINNED_VERSIONS)."""
    setup = ModuleSetup(module_root)
    go_mod = _read_text(module_root / "go.mod") if module_root is not None else None
    go_sum = (_read_text(module_root / "go.sum") or "") if module_root is not None else ""
    if module_root is not None:
        setup.vendored = (module_root / "vendor" / "modules.txt").is_file()
    modules = (MIGRATE_MODULE, driver.library, TESTIFY_MODULE)
    versions: Dict[str, str] = {}
    for module in modules:
        required = _required_version(go_mod, module) if go_mod is not None else None
        versions[module] = required or PINNED_VERSIONS[module]
        if required is None:
            setup.missing.append(module)
        elif not _replaced(go_mod or "", module) and f"{module} {required} h1:" not in go_sum:
            setup.unsummed.append(f"{module} {required}")
    packages = [MIGRATE_MODULE, driver.migrate_package, MIGRATE_MODULE + "/source", MIGRATE_MODULE + "/source/iofs",
                driver.library, TESTIFY_MODULE + "/require"]
    for package in packages:
        module = next(m for m in modules if package == m or package.startswith(m + "/"))
        setup.packages.append(f"{package}@{versions[module]}")
    return setup


# Names -----------------------------------------------------------------------------


@dataclass
class Naming:
    """Final names: helpers (renamed on clashes) and import qualifiers."""

    helpers: Dict[str, str] = field(default_factory=dict)  # template name -> name used
    reused: List[str] = field(default_factory=list)  # helpers already in the file, identical
    added: List[str] = field(default_factory=list)  # helpers this run adds (final names)
    qualifiers: Dict[str, str] = field(default_factory=dict)  # template qualifier -> name used
    new_imports: List[Tuple[Optional[str], str]] = field(default_factory=list)  # (alias, path)


def fill_template(code: str, driver: TestDriver, *, source: str, foreign_keys: bool, migrations_table: str,
                  no_tx_wrap: bool) -> str:
    """A helper template with its placeholders filled for one project."""
    dsn = f"path+{go_string(driver.fk_dsn_suffix)}" if foreign_keys else "path"  # as gofmt spaces it in a call
    config = f"&{driver.qualifier}.Config{{MigrationsTable: {go_string(migrations_table)}"
    config += ", NoTxWrap: true}" if no_tx_wrap else "}"
    return (code.replace("@@SOURCE@@", source).replace("@@DSN@@", dsn).replace("@@CONFIG@@", config)
            .replace("@@TABLE@@", go_string(migrations_table)).replace("@@SQLNAME@@", go_string(driver.sql_name))
            .replace("@@MIGRATEPKG@@", driver.qualifier))


def _fill(code: str, package: GoPackage, project: ProjectFacts) -> str:
    return fill_template(code, package.driver, source=package.source_expr, foreign_keys=bool(project.foreign_keys),
                         migrations_table=project.migrations_table, no_tx_wrap=project.no_tx_wrap)


def resolve_names(needed: Sequence[str], package: GoPackage, project: ProjectFacts, test_names: Set[str]) -> Naming:
    naming = Naming()
    test_file = package.files.get(package.test_file)
    file_imports = {i.path: i.local_name for i in (test_file.imports if test_file else [])}
    declared = {}
    for go_file in package.files.values():
        declared.update(go_file.names())
    import_names_everywhere = {i.local_name for f in package.files.values() for i in f.imports}
    package_level = set(declared)

    # Qualifiers: reuse the file's own import of a path, else the default name
    # when nothing else in the package uses it, else an mw-prefixed alias.
    for qualifier, path in imports_for(package.driver).items():
        existing = file_imports.get(path)
        if existing and existing not in ("_", "."):
            naming.qualifiers[qualifier] = existing
            continue
        used_by_file = set(file_imports.values())
        candidate, n = qualifier, 1
        while candidate in package_level or candidate in used_by_file or candidate in test_names:
            n += 1
            candidate = f"mw{qualifier}" + ("" if n == 2 else str(n - 1))
        naming.qualifiers[qualifier] = candidate

    # Helpers, dependencies first: reuse an identical declaration, else the first free name.
    taken = set(package.taken) | set(naming.qualifiers.values()) | test_names
    for name in with_dependencies(needed):
        n = 1
        while True:
            candidate = name if n == 1 else f"{name}{n}"
            rendered = _render_helper(name, candidate, naming, package, project)
            existing = declared.get(candidate)
            if existing is not None and existing.kind == "func" and normalize_decl(existing.text) == normalize_decl(_decl_only(rendered)):
                naming.helpers[name] = candidate
                naming.reused.append(candidate)
                break
            if candidate not in taken and candidate not in import_names_everywhere:
                naming.helpers[name] = candidate
                naming.added.append(candidate)
                taken.add(candidate)
                break
            n += 1
    return naming


def _decl_only(code: str) -> str:
    """A helper's declaration without its doc comment."""
    index = code.find("\nfunc ")
    return code[index + 1 :] if index >= 0 else code


def _render_helper(name: str, final: str, naming: Naming, package: GoPackage, project: ProjectFacts) -> str:
    code = _fill(HELPERS[name].code, package, project)
    mapping = dict(naming.helpers)
    mapping[name] = final
    mapping.update({q: a for q, a in naming.qualifiers.items() if q != a})
    mapping = {k: v for k, v in mapping.items() if k != v}
    code = rename_identifiers(code, mapping)
    if final != name:
        code = code.replace(f"// {name} ", f"// {final} ", 1)
    return code


# Rendering the tests ---------------------------------------------------------------


@dataclass(frozen=True)
class TestCode:
    name: str
    code: str
    helpers: Tuple[str, ...]  # template names it calls


def test_names(facts: MigrationFacts) -> Dict[str, str]:
    v = facts.version_text
    names = {"fresh": f"TestMigration_{v}_FreshDatabase", "down": f"TestMigration_{v}_DownRestoresPrevious"}
    if facts.previous is not None:
        names["upgrade"] = f"TestMigration_{v}_UpgradeFromV{facts.previous}"
        names["preserves"] = f"TestMigration_{v}_PreservesUserModifications"
    return names


def rows_var_name(facts: MigrationFacts) -> str:
    return f"mwRowsBefore{facts.version_text}"


def _helpers_in(code: str) -> Tuple[str, ...]:
    return tuple(sorted({m for m in re.findall(r"\b(mw[A-Z]\w*)\(", code) if m in HELPERS}))


def render_tests(facts: MigrationFacts, style: str, rows_var: str) -> List[TestCode]:
    """The tests for facts.version in template names (mwX helpers)."""
    v, n = facts.version_text, str(facts.version)
    title = f"{v} ({_comment(facts.name)})" if facts.name else v
    prev = str(facts.previous) if facts.previous is not None else None
    names = test_names(facts)
    out: List[TestCode] = []

    body = f"\tpath := mwDBPath(t)\n\tmwMigrateTo(t, path, {n})\n\tmwRequireVersion(t, path, {n})\n"
    checks = facts.schema_checks + facts.data_checks
    if checks:
        body += "\n\tdb := mwOpenDB(t, path)\n" + "".join(_check_line(c) for c in checks)
    if style == MEDIAZ:
        body += "\n\t// The app's own New opens a database at this version and migrates it on.\n\tmwRequireAppOpens(t, path)\n"
    doc = _doc(f"{names['fresh']} runs every migration from an empty database up to {title} "
               f"with golang-migrate and checks the version row and what {v} creates or changes.")
    out.append(_test(names["fresh"], doc, body))

    if prev is not None:
        body = (f"\tpath := mwDBPath(t)\n\tmwMigrateTo(t, path, {prev})\n\tdb := mwOpenDB(t, path)\n"
                f"\tmwExecAll(t, db, {rows_var})\n\n\tmwMigrateTo(t, path, {n})\n\tmwRequireVersion(t, path, {n})\n")
        body += "".join(_check_line(c) for c in facts.upgrade_checks)
        doc = _doc(f"{names['upgrade']} builds a database at version {facts.previous_text} with "
                   f"rows in its tables, upgrades it to {v} and checks that the rows are kept.")
        out.append(_test(names["upgrade"], doc, body))

    if prev is not None and facts.edits:
        updates = "".join(f"\t\t{go_string(e.update_sql)},\n" for e in facts.edits)
        selects = "".join(f"\t\t{go_string(e.select_sql)},\n" for e in facts.edits)
        edited = ", ".join(_comment(e.what) for e in facts.edits)
        body = (f"\tpath := mwDBPath(t)\n\tmwMigrateTo(t, path, {prev})\n\tdb := mwOpenDB(t, path)\n"
                f"\tmwExecAll(t, db, {rows_var})\n"
                f"\tmwExecAll(t, db, []string{{\n{updates}\t}})\n"
                f"\tedited := []string{{\n{selects}\t}}\n"
                f"\tbefore := mwRowTexts(t, db, edited)\n\n"
                f"\tmwMigrateTo(t, path, {n})\n\n"
                f"\trequire.Equal(t, before, mwRowTexts(t, db, edited), {go_string(v + ' changed rows the user had edited')})\n")
        doc = _doc(f"{names['preserves']} edits rows that {v} changes ({edited}) before the "
                   "upgrade and checks that the upgrade leaves them as the user left them.")
        out.append(_test(names["preserves"], doc, body))

    if facts.has_down:
        if prev is not None:
            body = (f"\tpath := mwDBPath(t)\n\tmwMigrateTo(t, path, {prev})\n\tdb := mwOpenDB(t, path)\n"
                    f"\tmwExecAll(t, db, {rows_var})\n\tmwMigrateTo(t, path, {n})\n\n"
                    f"\tmwStepDown(t, path)\n\tmwRequireVersion(t, path, {prev})\n"
                    f"\trequire.Equal(t, mwSchemaAt(t, {prev}), mwSchema(t, db), {go_string(f'down {v} restores the schema of version {facts.previous_text}')})\n")
            body += "".join(_check_line(c) for c in facts.down_checks)
        else:
            body = (f"\tpath := mwDBPath(t)\n\tmwMigrateTo(t, path, {n})\n\tdb := mwOpenDB(t, path)\n\n"
                    f"\tmwStepDown(t, path)\n\tmwRequireNoVersion(t, path)\n"
                    f"\trequire.Empty(t, mwSchema(t, db), {go_string(f'down {v} leaves no schema object')})\n")
        body += (f"\n\tmwMigrateTo(t, path, {n})\n\tmwRequireVersion(t, path, {n})\n"
                 f"\trequire.Equal(t, mwSchemaAt(t, {n}), mwSchema(t, db), {go_string(f'up {v} again after its down')})\n")
        what = (f"gives version {facts.previous_text} and its schema" if prev is not None
                else "leaves no version row and no schema object")
        doc = _doc(f"{names['down']} runs the down migration of {v} and checks that it {what}, "
                   "and that up works again.")
        out.append(_test(names["down"], doc, body))
    return out


def _doc(text: str) -> str:
    return "".join(f"// {line}\n" for line in textwrap.wrap(_comment(text), 76, break_long_words=False, break_on_hyphens=False))


def _test(name: str, doc: str, body: str) -> TestCode:
    code = f"{doc}func {name}(t *testing.T) {{\n{body}}}\n"
    return TestCode(name, code, _helpers_in(code))


def render_rows_var(facts: MigrationFacts, name: str) -> str:
    lines = "".join(f"\t{go_string(s)},\n" for s in facts.sample_inserts)
    return (_doc(f"{name} are rows for the tables of version {facts.previous_text}, made by "
                 f"make_test_stub.py; the tests of {facts.version_text} insert them before upgrading.")
            + f"var {name} = []string{{\n{lines}}}\n")


# Merging into the file ---------------------------------------------------------------


def add_imports(text: str, go_file: Optional[GoFile], imports: Sequence[Tuple[Optional[str], str]]) -> str:
    """Insert import specs: standard-library paths into the file's group of
    standard imports, others into its group of module imports."""
    if not imports:
        return text
    spec = lambda alias, path: (f"{alias} " if alias else "") + go_string(path)  # noqa: E731
    std = [spec(a, p) for a, p in imports if "." not in p.split("/")[0]]
    mods = [spec(a, p) for a, p in imports if "." in p.split("/")[0]]
    grouped = [d for d in (go_file.import_decls if go_file else []) if d[2]]
    if not grouped:
        block = "import (\n" + "".join(f"\t{s}\n" for s in std) + ("\n" if std and mods else "") + "".join(f"\t{s}\n" for s in mods) + ")\n"
        anchor = max((d[1] for d in go_file.import_decls), default=None) if go_file else None
        if anchor is None:
            anchor = go_file.package_end if go_file else 0
            return text[:anchor].rstrip("\n") + "\n\n" + block + "\n" + text[anchor:].lstrip("\n")
        line_end = text.find("\n", anchor)
        line_end = len(text) if line_end < 0 else line_end + 1
        return text[:line_end] + "\n" + block + text[line_end:]
    start, end, _ = grouped[0]
    inside = [i for i in go_file.imports if start <= i.start < end]
    std_specs = [i for i in inside if "." not in i.path.split("/")[0]]
    mod_specs = [i for i in inside if "." in i.path.split("/")[0]]
    edits: List[Tuple[int, str]] = []

    def after_line(offset: int) -> int:
        line_end = text.find("\n", offset)
        return len(text) if line_end < 0 else line_end + 1

    open_paren = text.find("(", start) + 1
    open_line = after_line(open_paren) if text[open_paren:after_line(open_paren)].strip() == "" else open_paren
    close_paren = end - 1
    if std:
        lines = "".join(f"\t{s}\n" for s in std)
        if std_specs:
            edits.append((after_line(std_specs[-1].end), lines))
        else:
            edits.append((open_line, lines + ("\n" if inside else "")))
    if mods:
        lines = "".join(f"\t{s}\n" for s in mods)
        if mod_specs:
            edits.append((after_line(mod_specs[-1].end), lines))
        else:
            line_start = text.rfind("\n", 0, close_paren) + 1
            edits.append((line_start, ("\n" if inside or std else "") + lines))
    for offset, insert in sorted(edits, reverse=True):
        text = text[:offset] + insert + text[offset:]
    return text


def run_gofmt(text: str) -> Tuple[Optional[str], Optional[str]]:
    """(formatted text, None), (None, error), or (text, None) without gofmt."""
    gofmt = shutil.which("gofmt")
    if gofmt is None:
        go = shutil.which("go")
        if go is not None:
            candidate = Path(go).resolve().parent / "gofmt"
            gofmt = str(candidate) if candidate.exists() else None
    if gofmt is None:
        return text, None
    try:
        proc = subprocess.run([gofmt], input=text.encode("utf-8", "surrogateescape"), capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"gofmt could not run ({exc})"
    if proc.returncode != 0:
        first = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return None, (first[0] if first else "gofmt failed")
    return proc.stdout.decode("utf-8", "surrogateescape"), None


def gofmt_available() -> bool:
    return shutil.which("gofmt") is not None or (shutil.which("go") is not None and (Path(shutil.which("go")).resolve().parent / "gofmt").exists())


# The plan -------------------------------------------------------------------------------


@dataclass
class StubPlan:
    folder: Path
    version: int
    version_text: str
    style: str
    style_reason: str
    package: GoPackage
    facts: MigrationFacts
    added_tests: List[str] = field(default_factory=list)
    existing_tests: List[str] = field(default_factory=list)
    skipped_tests: List[str] = field(default_factory=list)  # with the reason
    helpers_added: List[str] = field(default_factory=list)
    helpers_reused: List[str] = field(default_factory=list)
    imports_added: List[str] = field(default_factory=list)
    old_text: str = ""
    new_text: str = ""
    gofmt: str = "not installed"  # "ran", "not installed"
    setup: Optional[ModuleSetup] = None  # None: not checked (the migration fails)
    newest: bool = False  # the version is the newest in the folder
    pinned: List[PinnedVersion] = field(default_factory=list)  # tests expecting the previous newest version
    rows_added: List[str] = field(default_factory=list)  # the sample-rows variables this run adds
    problems: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.new_text != self.old_text

    def diff(self, name: Optional[str] = None, *, full: bool = True, budget: int = 0) -> str:
        """The change as a unified diff; `name` is how to show the file.

        Not `full` (a dry run's default), what a reader does not need is one
        `+// ...` line: each run of added helpers (library code, documented
        in references/generated-tests.md), the sample-rows variables, and
        the row literals inside the tests (`// ... 2 rows`). Then, within
        `budget` bytes (DIFF_BUDGET when 0), tests are shown whole,
        FreshDatabase ones first; the others are one line each."""
        import difflib  # only a dry run needs it

        name = name or str(self.package.test_file)
        old = self.old_text.splitlines(keepends=True)
        new = self.new_text.splitlines(keepends=True)
        if full:
            return "".join(difflib.unified_diff(old, new, f"a/{name}", f"b/{name}"))
        budget = budget or DIFF_BUDGET
        marks, tests = self._added_lines()
        groups = list(difflib.SequenceMatcher(None, old, new, autojunk=False).get_grouped_opcodes(3))
        end = "\r\n" if self.package.crlf else "\n"

        def render(hidden: Set[str]) -> str:
            out = [f"--- a/{name}\n", f"+++ b/{name}\n"]
            for group in groups:
                i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
                out.append(f"@@ -{_hunk_range(i1, i2)} +{_hunk_range(j1, j2)} @@\n")
                for tag, a1, a2, b1, b2 in group:
                    if tag == "equal":
                        out.extend(" " + line for line in old[a1:a2])
                        continue
                    if tag in ("replace", "delete"):
                        out.extend("-" + line for line in old[a1:a2])
                    if tag in ("replace", "insert"):
                        out.extend(_condensed(new, b1, b2, marks, hidden, end))
            return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in out)

        hidden = set(tests)
        for test in sorted(tests, key=lambda t: (not t.endswith("_FreshDatabase"), tests.index(t))):
            if len(render(hidden - {test}).encode("utf-8", "surrogateescape")) <= budget:
                hidden.discard(test)
        return render(hidden)

    def _added_lines(self) -> Tuple[Dict[int, Tuple[str, str]], List[str]]:
        """({0-based line of new_text: (kind, name)}, added tests in file
        order) for what a short diff folds: "helper", "rows" and "test"
        lines (each with its doc comment and the blank line before), and the
        "tuple" lines of row literals inside added tests."""
        text = self.new_text.replace("\r\n", "\n").lstrip("\ufeff")
        all_lines = text.split("\n")
        marks: Dict[int, Tuple[str, str]] = {}
        tests: List[str] = []
        kinds = {**{n: "helper" for n in self.helpers_added}, **{n: "test" for n in self.added_tests}}
        rows = set(self.rows_added)
        parsed = parse_file(text)
        if not self.old_text and len(self.imports_added) > 3:  # a new file: its import block is one line
            for start, stop, _ in parsed.import_decls:
                for n in range(text.count("\n", 0, start), text.count("\n", 0, stop) + 1):
                    marks[n] = ("imports", str(len(self.imports_added)))
        for decl in parsed.decls:
            kind = kinds.get(decl.name) if decl.kind == "func" else ("rows" if decl.kind == "var" and decl.name in rows else None)
            if kind is None:
                continue
            first = text.count("\n", 0, decl.start)
            last = text.count("\n", 0, decl.end)
            while first > 0 and all_lines[first - 1].startswith("//"):
                first -= 1
            if first > 0 and all_lines[first - 1] == "":
                first -= 1
            for n in range(first, last + 1):
                marks[n] = (kind, decl.name)
            if kind == "test":
                tests.append(decl.name)
                self._mark_row_calls(all_lines, first, last, decl.name, marks)
        return marks, tests

    @staticmethod
    def _mark_row_calls(lines: List[str], first: int, last: int, test: str, marks: Dict[int, Tuple[str, str]]) -> None:
        """Mark each call whose last argument is a literal of rows
        (`mwRequireRows(t, db, "t", []string{...}, [][]any{` .. `})`) as one
        "call" run, named by the call up to its table and the row count."""
        n = first
        while n <= last:
            if lines[n].rstrip().endswith("[][]any{"):
                close = n + 1
                while close <= last and _ROW_LITERAL.match(lines[close]):
                    close += 1
                if close <= last and lines[close].strip() == "})" and close > n + 1:
                    head = _CALL_HEAD.match(lines[n])
                    shown = head.group(1) if head else lines[n][:60]
                    label = f"{shown}, ...) // {close - n - 1} row(s): -v shows them"
                    for k in range(n, close + 1):
                        marks[k] = ("call", f"{test}\0{label}")
                    n = close
            n += 1


DIFF_BUDGET = 2600  # bytes of a dry run's short diff: the run's other lines come on top (4 KB in all)
_ROW_LITERAL = re.compile(r"[ \t]+\{.*\},$")  # one row of a [][]any{...} literal, as gofmt lays it out
_CALL_HEAD = re.compile(r'^([ \t]*\w+\(t, db, "(?:[^"\\]|\\.)*")')  # mwRequireRows(t, db, "table"


def _condensed(new: List[str], b1: int, b2: int, marks: Dict[int, Tuple[str, str]], hidden: Set[str],
               end: str) -> List[str]:
    """The added lines new[b1:b2] of a short diff: each run of folded lines
    is one `+// ...` line."""
    def kind_of(mark: Optional[Tuple[str, str]]) -> Optional[str]:
        """The fold a line belongs to: a row call of a hidden test is part of the test."""
        if mark is None:
            return None
        if mark[0] == "call":
            return "test" if mark[1].split("\0")[0] in hidden else "call"
        return None if mark[0] == "test" and mark[1] not in hidden else mark[0]

    def name_of(mark: Tuple[str, str]) -> str:
        return mark[1].split("\0")[0] if mark[0] == "call" and kind_of(mark) == "test" else mark[1]

    out: List[str] = []
    j = b1
    while j < b2:
        kind = kind_of(marks.get(j))
        if kind is None:
            out.append("+" + new[j])
            j += 1
            continue
        k = j
        names: List[str] = []
        while k < b2 and kind_of(marks.get(k)) == kind and (kind != "call" or marks[k] == marks[j]):
            name = name_of(marks[k])
            if name not in names:
                names.append(name)
            k += 1
        listed = ", ".join(sorted(names) if kind == "helper" else names)
        if kind == "test":
            listed = _grouped_test_names(names)
        if kind == "imports":
            out.append(f"+import ( ... {marks[j][1]} packages: -v shows them ){end}")
        elif kind == "helper":
            out.append(f"+// ... {k - j} lines: helper(s) {listed} (library code, not shown; -v shows it){end}")
        elif kind == "rows":
            out.append(f"+// ... {k - j} lines: {listed}, the sample rows the upgrade tests insert (-v shows them){end}")
        elif kind == "call":
            out.append("+" + marks[j][1].split("\0", 1)[1] + end)
        else:
            out.append(f"+// ... {k - j} lines: {listed} (not shown here; -v shows it){end}")
        j = k
    return out


def _grouped_test_names(names: List[str]) -> str:
    """TestMigration_000006_{UpgradeFromV5, DownRestoresPrevious} for the
    tests of one version; other names as they are."""
    by_prefix: Dict[str, List[str]] = {}
    for name in names:
        match = re.match(r"(TestMigration_.+?_)([A-Z][A-Za-z]*(?:V.+)?)$", name)
        prefix, rest = (match.group(1), match.group(2)) if match else (name, "")
        by_prefix.setdefault(prefix, []).append(rest)
    return ", ".join(prefix + (rest[0] if len(rest) == 1 else "{" + ", ".join(rest) + "}") if rest != [""] else prefix
                     for prefix, rest in by_prefix.items())


def _hunk_range(start: int, stop: int) -> str:
    length = stop - start
    first = start + 1 if length else start
    return str(first) if length == 1 else f"{first},{length}"


def plan_stub(folder: MigrationFolder, version: Optional[int], *, test_file: Optional[Path] = None,
              style: str = AUTO, project: Optional[ProjectFacts] = None, driver: str = AUTO,
              start_text: Optional[str] = None, pin_versions: Sequence[int] = ()) -> StubPlan:
    """Everything a run would do, computed; nothing written. `start_text`:
    the test file as an earlier plan left it (see plan_stubs). When `version`
    is the newest, the project's tests that still expect the previous one
    as the newest are looked for, and those expecting any of `pin_versions`
    (the newest shipped version, when several versions are new)."""
    if not folder.migrations:
        raise UsageError(f"{folder.path} holds no migrations; write one first.")
    if folder.duplicates:
        d = folder.duplicates[0]
        raise MigrationWriterError(
            f"{folder.path} has two {d.direction} files for version {d.version} ({', '.join(d.names)}); "
            "golang-migrate refuses to open it: fix that first."
        )
    if version is None:
        version = folder.versions[-1]
    elif folder.find(version) is None:
        listing = ", ".join(m.version_text for m in folder.migrations[-5:])
        raise UsageError(f"version {version} is not in {folder.path} (latest: {listing}).")
    project = project or read_project_facts(folder.path)
    package = detect_package(folder.path, test_file, project, start_text)
    package.driver, package.driver_reason = resolve_driver(driver, project, package.module_root)
    if style == MEDIAZ and package.mediaz is None:
        raise UsageError(
            f"--style mediaz needs New(ctx context.Context, path string) and GetMigrationVersion() (uint, bool, error) "
            f"in package {package.name} ({package.dir}); use --style plain."
        )
    if style == AUTO:
        style = MEDIAZ if package.mediaz else PLAIN
        reason = package.mediaz if package.mediaz else "no New(ctx, path) with GetMigrationVersion() in the package"
    else:
        reason = "chosen with --style"
    facts = migration_facts(folder, version, project)
    plan = StubPlan(folder.path, version, facts.version_text, style, reason, package, facts)
    plan.old_text = package.raw_text or ""
    plan.new_text = plan.old_text
    plan.problems.extend(facts.problems)
    plan.warnings.extend(facts.warnings)
    plan.notes.extend(facts.notes)
    if folder.other_ext and "DirFS" in package.source_expr:
        plan.warnings.append(
            f"{len(folder.other_ext)} file(s) such as {folder.other_ext[0].name} match golang-migrate's pattern but not *.{folder.ext}: "
            "os.DirFS reads them too"
        )
    if facts.failed:
        return plan
    plan.setup = module_setup(package.module_root, package.driver)
    if plan.setup.needed:
        if package.module_root is None:
            what = f"no go.mod in {package.dir} or above it: `go test` needs a module"
        else:
            parts = []
            if plan.setup.missing:
                parts.append("go.mod does not require " + ", ".join(plan.setup.missing))
            if plan.setup.unsummed:
                parts.append("go.sum has no hash for " + ", ".join(plan.setup.unsummed))
            what = "; ".join(parts) + "; the tests do not compile"
        plan.problems.append(f"{what} until you run: {plan.setup.shell()}")
    _merge(plan, project)
    plan.newest = version == folder.versions[-1]
    expected = sorted({facts.previous, *pin_versions} - {None, version}, reverse=True)
    if plan.newest and expected:
        # Lines as they will be once the test file is written.
        after = {package.test_file: plan.new_text} if plan.changed or start_text is not None else {}
        for value in expected:
            plan.pinned += find_pinned_versions(package.module_root or package.dir, value, texts=after)
        plan.pinned.sort(key=lambda p: (str(p.path), p.line, p.col))
    return plan


def plan_stubs(folder: MigrationFolder, versions: Sequence[int], *, test_file: Optional[Path] = None,
               style: str = AUTO, project: Optional[ProjectFacts] = None, driver: str = AUTO,
               pin_versions: Sequence[int] = ()) -> List[StubPlan]:
    """A plan per version, in order, each starting from the test file the
    one before left (so helpers are added once and reused after); nothing
    written. `combine` turns them into the one change to write."""
    plans: List[StubPlan] = []
    text: Optional[str] = None
    for version in versions:
        plan = plan_stub(folder, version, test_file=test_file, style=style, project=project, driver=driver,
                         start_text=text, pin_versions=pin_versions)
        plans.append(plan)
        if plan.changed or text is not None:
            text = plan.new_text
    return plans


def combine(plans: Sequence[StubPlan]) -> StubPlan:
    """One plan for what `plans` (from plan_stubs) add together: the file as
    read, the file after the last one, and the union of what each added."""
    if len(plans) == 1:
        return plans[0]
    first, last = plans[0], plans[-1]

    def union(attr: str) -> List[str]:
        return list(dict.fromkeys(x for p in plans for x in getattr(p, attr)))

    added_helpers = union("helpers_added")
    return replace(
        last, package=first.package, old_text=first.old_text,
        added_tests=union("added_tests"), existing_tests=union("existing_tests"), skipped_tests=union("skipped_tests"),
        helpers_added=added_helpers, helpers_reused=[h for h in union("helpers_reused") if h not in added_helpers],
        imports_added=union("imports_added"), rows_added=union("rows_added"),
        problems=union("problems"), warnings=union("warnings"), notes=union("notes"),
        setup=next((p.setup for p in plans if p.setup is not None), None),
        gofmt=next((p.gofmt for p in plans if p.gofmt == "ran"), last.gofmt),
    )


def _merge(plan: StubPlan, project: ProjectFacts) -> None:
    package, facts = plan.package, plan.facts
    declared: Dict[str, object] = {}
    for go_file in package.files.values():
        declared.update(go_file.names())
    rows_var = rows_var_name(facts)
    tests = render_tests(facts, plan.style, rows_var)
    wanted = [t for t in tests if t.name not in declared]
    plan.existing_tests = [t.name for t in tests if t.name in declared]
    names = test_names(facts)
    if "preserves" in names and not facts.edits:
        plan.skipped_tests.append(f"{names['preserves']}: " + ("up changes no row data" if not facts.changes_data else "no user edit survives the upgrade (see warnings)"))
    if not facts.has_down:
        plan.skipped_tests.append(f"{names['down']}: {facts.version_text} has no down file")
    if not wanted:
        return

    needed = sorted({h for t in wanted for h in t.helpers})
    naming = resolve_names(needed, package, project, {t.name for t in tests})
    mapping = {k: v for k, v in naming.helpers.items() if k != v}
    mapping.update({q: a for q, a in naming.qualifiers.items() if q != a})

    # The rows variable: reuse an identical one, else a free name.
    uses_rows = any(rows_var in t.code for t in wanted)
    rows_code = ""
    if uses_rows:
        taken = set(package.taken) | set(naming.helpers.values()) | set(naming.qualifiers.values())
        final, n = rows_var, 1
        while True:
            code = render_rows_var(facts, final)
            existing = declared.get(final)
            if existing is not None and normalize_decl(existing.text) == normalize_decl(code[code.index("\nvar ") + 1:]):
                rows_code = ""
                break
            if final not in taken:
                rows_code = code
                break
            n += 1
            final = f"{rows_var}_{n}"
        if final != rows_var:
            mapping[rows_var] = final
    rows_added = [final] if rows_code else []

    pieces = [rows_code] if rows_code else []
    pieces += [rename_identifiers(t.code, mapping) for t in wanted]
    helpers_code = [_render_helper(name, naming.helpers[name], naming, package, project)
                    for name in with_dependencies(needed) if naming.helpers[name] in naming.added]
    added_code = "\n".join(pieces + helpers_code)

    # Imports the added code uses and the file lacks.
    used = set(used_qualifiers(added_code))
    test_file = package.files.get(package.test_file)
    have = {(i.local_name, i.path) for i in (test_file.imports if test_file else [])}
    new_imports = []
    for qualifier, path in imports_for(package.driver).items():
        name = naming.qualifiers[qualifier]
        if name in used and (name, path) not in have:
            alias = name if name != default_package_name(path) else None
            new_imports.append((alias, path))
    plan.imports_added = [p if a is None else f"{a} {p}" for a, p in new_imports]

    if package.test_text is None:
        header = f"package {package.name}\n"
        text = add_imports(header, parse_file(header), new_imports) if new_imports else header
        text = text.rstrip("\n") + "\n\n" + added_code
        formatted, error = run_gofmt(text)
    else:
        text = add_imports(package.test_text, test_file, new_imports)
        text = text.rstrip("\n") + "\n\n" + added_code
        formatted, error = _format_keeping_user_code(package, text, added_code)
    if error is not None:
        plan.problems.append(f"gofmt rejects the result ({error}); nothing was written")
        return
    plan.gofmt = "ran" if gofmt_available() else "not installed"
    if package.crlf:
        formatted = formatted.replace("\n", "\r\n")
        plan.notes.append("the test file uses CRLF line ends; kept them")
    if package.bom:
        formatted = "\ufeff" + formatted
    plan.new_text = formatted
    plan.added_tests = [t.name for t in wanted]
    plan.rows_added = rows_added
    plan.helpers_added = list(naming.added)
    plan.helpers_reused = [n for n in naming.reused if any(re.search(rf"\b{n}\b", p) for p in pieces + helpers_code)]


def _format_keeping_user_code(package: GoPackage, text: str, added_code: str) -> Tuple[Optional[str], Optional[str]]:
    """gofmt the merged file when the user's file is gofmt-clean. Otherwise
    gofmt only the import declarations (so added imports land sorted) and
    what is added: not one other line of the user's code changes, and a dry
    run shows only the additions."""
    original = (package.test_text or "").rstrip("\n") + "\n"  # trailing blank lines go either way
    formatted_original, _ = run_gofmt(original)
    formatted, error = run_gofmt(text)
    if error is not None or formatted_original == original or formatted == text:
        return formatted, error
    header = f"package {package.name}\n\n"
    added, error = run_gofmt(header + added_code)
    if error is not None:
        return None, error
    user = text[: len(text) - len(added_code)]
    mine, theirs = parse_file(user).import_decls, parse_file(formatted).import_decls
    if len(mine) != len(theirs) or not mine:
        return formatted, None
    user = user[: mine[0][0]] + formatted[theirs[0][0] : theirs[-1][1]] + user[mine[-1][1] :]
    return user + added[len(header):], None


def write_stub(plan: StubPlan) -> bool:
    """Write the merged file (atomically, only if it did not change since it
    was read). Returns True when something was written."""
    if not plan.changed:
        return False
    path = plan.package.test_file
    current: Optional[bytes]
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        current = None
    except OSError as exc:
        raise MigrationWriterError(f"{path}: cannot read it again before writing ({exc.strerror or exc}).") from None
    expected = plan.old_text.encode("utf-8") if plan.package.raw_text is not None else None
    if current != expected:
        what = "appeared" if expected is None else "changed"
        raise MigrationWriterError(f"{path} {what} while the tests were being generated; run again.")
    import tempfile  # only a real write needs it

    data = plan.new_text.encode("utf-8", "surrogateescape")
    mode = path.stat().st_mode & 0o777 if current is not None else 0o644
    try:
        fd, tmp = tempfile.mkstemp(prefix=".mw-", suffix=".go.tmp", dir=str(path.parent))
    except OSError as exc:
        raise MigrationWriterError(f"{path.parent}: cannot write there ({exc.strerror or exc}).") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        if current is None:
            # A new file: never replace one that appeared meanwhile.
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except FileExistsError:
        os.unlink(tmp)
        raise MigrationWriterError(f"{path} appeared while the tests were being generated; run again.") from None
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise MigrationWriterError(f"{path}: cannot write ({exc.strerror or exc}).") from None
    return True
