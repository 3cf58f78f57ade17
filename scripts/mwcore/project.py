"""Where the migrations are, and how the Go project runs them: the one reader
every script asks.

`project_facts()` finds the migrations folder (the folders golang-migrate is
pointed at in the Go source, else an embedded folder, else the folder with
the most migration files; a folder holding only dialect subfolders resolves
to its SQLite one) and reads, from the Go module around it, how golang-migrate
runs that folder: the driver, the SQLite library and its SQLite version,
foreign-key enforcement while migrating, the transaction wrap, the
migrations table and the SQL functions the app registers (`goproject`).
Reading the Go source is the only way to learn these before the program
runs; each fact says where it was read, and is unknown when the code is too
indirect to tell.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from .errors import FolderError
from .folder import parse_name
from .goembed import valid_embed_pattern

SKIP_DIRS = {"vendor", "node_modules", ".git", "testdata"}
MAX_GO_FILE_BYTES = 2 * 1024 * 1024
MAX_MODULES = 20  # go.mod files read below a folder that is not inside a module

ON, OFF, UNKNOWN = "on", "off", "unknown"
DEFAULT_TABLE = "schema_migrations"

_EMBED_RE = re.compile(r"^[ \t]*//go:embed[ \t]+(.+?)[ \t]*$", re.M)
_EMBED_ARG_RE = re.compile(r'"((?:[^"\\]|\\.)*)"|`([^`]*)`|(\S+)')


class Detection(NamedTuple):
    path: Path
    reason: str
    others: Tuple[Path, ...] = ()  # other candidates that lost


class SqliteLibrary(NamedTuple):
    """The SQLite driver module of the app, as go.mod requires it."""

    module: str
    version: str
    evidence: str

    def as_json(self) -> dict:
        return {"module": self.module, "version": self.version, "evidence": self.evidence}


class AppSqlite(NamedTuple):
    """The SQLite version the app's driver runs, and where that was read."""

    version: str
    source: str

    def as_json(self) -> dict:
        return {"version": self.version, "source": self.source}


class ProjectFacts:
    """How the project runs golang-migrate on its migrations folder, each
    fact with its evidence (file:line). (A plain class: next_version.py
    reads it and must start fast; importing dataclasses costs more.)"""

    def __init__(self, dir: Optional[Path] = None, dir_source: str = "", module_root: Optional[Path] = None) -> None:
        self.dir = dir
        self.dir_source = dir_source
        self.module_root = module_root
        self.go_files = 0
        # "sqlite3" (mattn/go-sqlite3), "sqlite" (modernc.org/sqlite) or "unknown", as golang-migrate is given it
        self.driver = UNKNOWN
        self.driver_evidence = "no Go source found"
        self.sqlite_library: Optional[SqliteLibrary] = None
        self.app_sqlite: Optional[AppSqlite] = None
        self.foreign_keys: Optional[bool] = None  # while migrating; None: unknown
        self.foreign_keys_evidence = "no Go source found"
        self.no_tx_wrap: Optional[bool] = False  # None: unknown (files then run wrapped, golang-migrate's default)
        self.tx_wrap_evidence = "golang-migrate's default"
        self.migrations_table = DEFAULT_TABLE  # the name to use (the default when unknown)
        self.migrations_table_known = True
        self.migrations_table_evidence = "golang-migrate's default"
        self.sql_functions: list = []  # sqlfuncs.SqlFunction
        self.notes: List[str] = []

    @property
    def foreign_keys_state(self) -> str:
        return UNKNOWN if self.foreign_keys is None else (ON if self.foreign_keys else OFF)

    @property
    def tx_wrap(self) -> str:
        return UNKNOWN if self.no_tx_wrap is None else (OFF if self.no_tx_wrap else ON)

    @property
    def no_tx_wrap_evidence(self) -> str:  # the name older callers use
        return self.tx_wrap_evidence

    def as_json(self) -> dict:
        """The `project` object every script's --json carries. Evidence is
        cut to a line (the file:line it starts with is what to open), so a
        clean run's JSON stays small; `notes` only when there are some."""
        out = {
            "dir": str(self.dir) if self.dir is not None else None,
            "dir_source": _short(self.dir_source, EVIDENCE_CHARS),
            "driver": self.driver,
            "driver_evidence": _short(self.driver_evidence, EVIDENCE_CHARS),
            "sqlite_library": self.sqlite_library.as_json() if self.sqlite_library else None,
            "app_sqlite": self.app_sqlite.as_json() if self.app_sqlite else None,
            "foreign_keys": self.foreign_keys_state,
            "foreign_keys_evidence": _short(self.foreign_keys_evidence, EVIDENCE_CHARS),
            "tx_wrap": self.tx_wrap,
            "tx_wrap_evidence": _short(self.tx_wrap_evidence, EVIDENCE_CHARS),
            "migrations_table": self.migrations_table if self.migrations_table_known else None,
            "migrations_table_evidence": _short(self.migrations_table_evidence, EVIDENCE_CHARS),
            "sql_functions": [f.as_json() for f in self.sql_functions],
        }
        if self.notes:
            out["notes"] = self.notes
        return out

    def summary(self) -> str:
        """The facts in one line, for text output."""
        if self.sqlite_library:
            module = self.sqlite_library.module.replace("github.com/", "")
            library = f"{module} {self.sqlite_library.version}"
            if self.app_sqlite:
                library += f", SQLite {self.app_sqlite.version}"
            driver = f"driver {self.driver} ({library})"
        else:
            driver = {"sqlite3": "driver sqlite3 (mattn/go-sqlite3)", "sqlite": "driver sqlite (modernc.org/sqlite)"}.get(
                self.driver, "driver unknown")
        parts = [driver, f"foreign keys {self.foreign_keys_state} while migrating ({_short(self.foreign_keys_evidence)})"]
        wrap = {ON: "each file in a transaction", OFF: "files not wrapped (x-no-tx-wrap)",
                UNKNOWN: "transaction wrap unknown"}[self.tx_wrap]
        if self.tx_wrap != ON:
            wrap += f" ({_short(self.tx_wrap_evidence)})"
        parts.append(wrap)
        parts.append(f"table {self.migrations_table}" if self.migrations_table_known else
                     f"migrations table unknown ({_short(self.migrations_table_evidence)})")
        if self.sql_functions:
            parts.append("app SQL functions: " + ", ".join(f.name + "()" for f in self.sql_functions))
        return "project: " + "; ".join(parts)


EVIDENCE_CHARS = 60  # evidence in --json: file:line and what was read there


def _short(text: str, limit: int = 110) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Walking folders -------------------------------------------------------------


def walk(start: Path) -> Iterator[Tuple[Path, List[str]]]:
    """(folder, file names) under start, skipping vendor/, node_modules/,
    .git/, testdata/ and hidden folders; symlinked folders are not followed."""
    for root, dirs, files in os.walk(start, onerror=None, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        yield Path(root), files


def _safe_embed(pattern: str) -> bool:
    """go:embed refuses `..` and absolute paths; never follow one out of the module."""
    return not (pattern.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", pattern)
                or re.match(r"[A-Za-z]:", pattern) is not None)


def embedded_sql_dirs(go_file: Path, text: str) -> List[Path]:
    """Folders a Go file embeds SQL from (`//go:embed migrations/*.sql`)."""
    found = []
    for line in _EMBED_RE.findall(text):
        for quoted, raw, bare in _EMBED_ARG_RE.findall(line):
            pattern = quoted or raw or bare
            if pattern.startswith("all:"):
                pattern = pattern[4:]
            if not valid_embed_pattern(pattern) or ("sql" not in pattern.lower() and "migration" not in pattern.lower()):
                continue
            if not _safe_embed(pattern):
                continue
            head, _, last = pattern.rpartition("/")
            if any(ch in last for ch in "*?["):
                folder = go_file.parent / head if head else go_file.parent
            else:
                folder = go_file.parent / pattern
            if folder.is_dir():
                found.append(folder)
    return found


def _read_go(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_GO_FILE_BYTES:
            return ""
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _within(path: Path, start: Path) -> bool:
    try:
        path.relative_to(start)
        return True
    except ValueError:
        return False


def _rel(path: Path, start: Path) -> str:
    return str(path.relative_to(start)) if _within(path, start) else str(path)


def migration_count(folder: Path, ext: str = "sql") -> int:
    """How many up/down files of `ext` golang-migrate would read in `folder`."""
    suffixes = (f".up.{ext}", f".down.{ext}")
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    return sum(1 for name in names if name.endswith(suffixes) and parse_name(name) is not None)


def version_count(folder: Path, ext: str = "sql") -> int:
    suffixes = (f".up.{ext}", f".down.{ext}")
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    versions = set()
    for name in names:
        parsed = parse_name(name) if name.endswith(suffixes) else None
        if parsed is not None:
            versions.add(parsed.version)
    return len(versions)


def dialect_folder(folder: Path, ext: str = "sql") -> Optional[Path]:
    """The SQLite subfolder of a folder that holds only one subfolder per
    SQL dialect (`migrations/sqlite`, `migrations/postgres`), else None."""
    if migration_count(folder, ext):
        return None
    try:
        subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and migration_count(p, ext))
    except OSError:
        return None
    named = [p for p in subfolders if "sqlite" in p.name.lower()]
    return named[0] if len(named) == 1 else None


# The heuristic detection (when the Go source names no folder) ----------------------


def _pick(candidates: Dict[Path, str], start: Path, what: str) -> Optional[Detection]:
    if not candidates:
        return None
    paths = sorted(candidates)
    if len(paths) == 1:
        return Detection(paths[0], candidates[paths[0]])
    sqlite_named = _sqlite_named(paths, start)
    if len(sqlite_named) == 1:
        chosen = sqlite_named[0]
        others = tuple(p for p in paths if p != chosen)
        return Detection(chosen, candidates[chosen] + " (the only candidate named for SQLite)", others)
    listing = ", ".join(_rel(p, start) for p in paths)
    raise FolderError(f"found {len(paths)} {what}: {listing}; pass --dir to choose one.")


def _sqlite_named(paths: List[Path], start: Path) -> List[Path]:
    return [p for p in paths if "sqlite" in _rel(p, start).lower()]


def detect_migrations_dir(start: Path, ext: str = "sql") -> Detection:
    """Find the migrations folder under `start` from folder contents and
    `//go:embed` lines alone (no reading of how golang-migrate is called).
    Raises FolderError."""
    start = start.resolve()
    if not start.is_dir():
        raise FolderError(f"{start}: not a folder.")
    embedded: Dict[Path, str] = {}
    counts: Dict[Path, int] = {}
    suffixes = (f".up.{ext}", f".down.{ext}")
    for folder, files in walk(start):
        matching = sum(1 for name in files if name.endswith(suffixes) and parse_name(name) is not None)
        if matching:
            counts[folder] = matching
        for name in files:
            if name.endswith(".go"):
                go_file = folder / name
                text = _read_go(go_file)
                if "go:embed" not in text:
                    continue
                for target in embedded_sql_dirs(go_file, text):
                    reason = f"embedded by {_rel(go_file, start)}"
                    target = target.resolve()
                    sub = dialect_folder(target, ext)
                    if sub is not None:
                        reason += f" (its {sub.name} subfolder; the others are for other SQL dialects)"
                        target = sub
                    embedded.setdefault(target, reason)
    # An embed of a folder without migrations (assets/*.sql) is no candidate
    # when some other embedded folder has migrations.
    with_files = {p: r for p, r in embedded.items() if counts.get(p)}
    picked = _pick(with_files or embedded, start, "folders embedded with //go:embed")
    if picked is not None:
        return picked
    if not counts:
        raise FolderError(
            f"no migrations folder found under {start} (no //go:embed of *.{ext} and no *.up.{ext}/*.down.{ext} files); pass --dir."
        )
    named = _sqlite_named(list(counts), start)
    if len(counts) > 1 and len(named) == 1:
        chosen = named[0]
        reason = f"holds {counts[chosen]} migration files (the only candidate named for SQLite)"
        return Detection(chosen, reason, tuple(sorted(p for p in counts if p != chosen)))
    best = max(counts.values())
    top = sorted(p for p, n in counts.items() if n == best)
    if len(top) > 1:
        listing = ", ".join(_rel(p, start) for p in top)
        raise FolderError(f"found {len(top)} folders with {best} migration files each: {listing}; pass --dir to choose one.")
    return Detection(top[0], f"holds {best} migration files", tuple(sorted(p for p in counts if p != top[0])))


# The module and its facts ------------------------------------------------------------


def find_module_root(folder: Path) -> Optional[Path]:
    for candidate in [folder.resolve(), *folder.resolve().parents]:
        if (candidate / "go.mod").is_file():
            return candidate
    return None


def _module_roots_below(start: Path) -> List[Path]:
    roots = []
    for folder, files in walk(start):
        if "go.mod" in files:
            roots.append(folder)
            if len(roots) >= MAX_MODULES:
                break
    return roots


def _reports(roots: Sequence[Path]):
    if not roots:
        return []  # no Go module: the reader is not even imported
    from .goproject import read_module, unreadable

    out = []
    for root in roots:
        try:
            out.append(read_module(root))
        except (RecursionError, ValueError, IndexError, KeyError, AttributeError, TypeError) as exc:
            # A reader bug must not stop every script: the facts become unknown, and say why.
            out.append(unreadable(root, f"{type(exc).__name__}: {exc}"))
    return out


def _resolved(folder, ext: str) -> Tuple[Path, str]:
    """A migrator's folder, resolved to its SQLite subfolder when it holds
    only dialect subfolders."""
    path, how = folder.path, folder.how
    sub = dialect_folder(path, ext)
    if sub is not None:
        return sub.resolve(), how + f" (its {sub.name} subfolder; the others are for other SQL dialects)"
    return path, how


def _sqlite_candidates(reports, ext: str) -> Dict[Path, Tuple[str, list]]:
    """Every folder an SQLite migrator of the module(s) reads, with how it was
    found and the migrators that read it (Go code first, then build files)."""
    out: Dict[Path, Tuple[str, list]] = {}
    for report in reports:
        for migrator in sorted(report.migrators, key=lambda m: m.kind != "go"):
            if not migrator.is_sqlite:
                continue
            for folder in migrator.folders:
                path, how = _resolved(folder, ext)
                if path in out:
                    out[path][1].append(migrator)
                else:
                    out[path] = (how, [migrator])
    return out


def project_facts(dir_arg=None, *, start: Optional[Path] = None, ext: str = "sql",
                  declared: Sequence = ()) -> ProjectFacts:
    """The migrations folder (`dir_arg`, or found from `start`, default the
    current directory) and how the project runs golang-migrate on it.
    `declared`: SqlFunction stand-ins given with --sql-function.
    Raises FolderError when no folder, or several SQLite folders, qualify."""
    start = Path.cwd() if start is None else start
    if dir_arg is not None:
        folder = Path(dir_arg)
        root = find_module_root(folder)
        reports = _reports([root]) if root else []
        return _facts(folder, "given with --dir", root, reports[0] if reports else None, declared, ext)
    root = find_module_root(start)
    roots = [root] if root else _module_roots_below(start)
    reports = _reports(roots)
    candidates = _sqlite_candidates(reports, ext)
    usable = {p: c for p, c in candidates.items() if migration_count(p, ext)}
    if len(usable) > 1:
        listing = "; ".join(
            f"{_rel(path, start.resolve())} ({_table_text(migrators[0])}, {_versions_text(path, ext)}, "
            f"migrated at {migrators[0].where})" for path, (_how, migrators) in sorted(usable.items()))
        raise FolderError(f"found {len(usable)} SQLite migrations folders golang-migrate is pointed at: {listing}; "
                          "pass --dir with the one to work on.")
    if len(usable) == 1 or len(candidates) == 1:
        path, (how, migrators) = next(iter((usable or candidates).items()))
        report = next(r for r in reports if any(m in r.migrators for m in migrators))
        return _facts(path, how, report.module.root, report, declared, ext, migrators[0])
    detection = detect_migrations_dir(start, ext)
    how = detection.reason
    if detection.others:
        how += "; also found: " + ", ".join(_rel(p, start.resolve()) for p in detection.others)
    owner = find_module_root(detection.path)
    report = next((r for r in reports if owner is not None and r.module.root == owner), None)
    if report is None and owner is not None:
        report = _reports([owner])[0]
    return _facts(detection.path, how, owner, report, declared, ext)


def _table_text(migrator) -> str:
    return f"table {migrator.table}" if migrator.table else "table unknown"


def _versions_text(path: Path, ext: str) -> str:
    n = version_count(path, ext)
    return f"{n} version{'s' if n != 1 else ''}"


def read_project_facts(migrations_dir: Path, *, declared: Sequence = ()) -> ProjectFacts:
    """The facts for a given migrations folder (as with --dir)."""
    root = find_module_root(migrations_dir)
    report = _reports([root])[0] if root else None
    return _facts(migrations_dir, "given with --dir", root, report, declared, "sql")


def _facts(folder: Path, how: str, root: Optional[Path], report, declared: Sequence, ext: str,
           migrator=None) -> ProjectFacts:
    facts = ProjectFacts(dir=folder, dir_source=how, module_root=root)
    if report is None:
        facts.sql_functions = list(declared)
        facts.tx_wrap_evidence = "golang-migrate's default; no Go source found"
        return facts
    from .sqlfuncs import merge

    facts.go_files = report.module.go_files
    if migrator is None:
        migrator = _migrator_for(report, folder, ext, facts)
    facts.driver, facts.driver_evidence = migrator.driver, migrator.driver_evidence or "no golang-migrate call found"
    if facts.driver == "other":
        facts.notes.append(f"{migrator.where} runs golang-migrate with a database driver that is not SQLite")
        facts.driver = UNKNOWN
    facts.foreign_keys, facts.foreign_keys_evidence = migrator.foreign_keys, migrator.foreign_keys_evidence
    facts.no_tx_wrap, facts.tx_wrap_evidence = migrator.no_tx_wrap, migrator.tx_wrap_evidence
    facts.migrations_table_known = migrator.table is not None
    facts.migrations_table = migrator.table or DEFAULT_TABLE
    facts.migrations_table_evidence = migrator.table_evidence
    facts.notes.extend(migrator.notes)
    facts.notes.extend(report.notes)
    facts.sql_functions = merge(report.functions, declared)
    facts.sqlite_library = _library(report.module, facts.driver)
    if facts.sqlite_library is not None:
        facts.app_sqlite = app_sqlite_version(facts.sqlite_library)
    return facts


def _migrator_for(report, folder: Path, ext: str, facts: ProjectFacts):
    """The migrator that reads `folder`; else the module's only SQLite one;
    else one that agrees with all of them (unknown where they differ)."""
    from .goproject import Migrator

    target = folder.resolve()
    sqlite = [m for m in report.migrators if m.is_sqlite]
    matching = [m for m in sqlite if any(_resolved(f, ext)[0] == target or f.path == target for f in m.folders)]
    if matching:
        return sorted(matching, key=lambda m: m.kind != "go")[0]
    if len(sqlite) == 1:
        only = sqlite[0]
        if only.folders:
            facts.notes.append(f"golang-migrate at {only.where} reads {', '.join(str(f.path) for f in only.folders)}, "
                               f"not this folder; its settings are reported")
        return only
    if not sqlite:
        return report.fallback
    merged = Migrator(", ".join(m.where for m in sqlite[:3]), "merged")
    for attr, evidence in (("driver", "driver_evidence"), ("foreign_keys", "foreign_keys_evidence"),
                           ("no_tx_wrap", "tx_wrap_evidence"), ("table", "table_evidence")):
        values = {getattr(m, attr) for m in sqlite}
        if len(values) == 1:
            setattr(merged, attr, values.pop())
            setattr(merged, evidence, getattr(sqlite[0], evidence))
        else:
            setattr(merged, attr, UNKNOWN if attr == "driver" else None)
            setattr(merged, evidence, f"the {len(sqlite)} golang-migrate instances of the module differ "
                                      f"({', '.join(m.where for m in sqlite[:3])}) and none reads this folder")
    return merged


# The SQLite the app really runs -------------------------------------------------

MATTN_MODULE = "github.com/mattn/go-sqlite3"
MODERNC_MODULE = "modernc.org/sqlite"
# SQLite bundled by mattn/go-sqlite3 releases (sqlite3-binding.h), for when
# the Go module cache is not there to read it from.
MATTN_BUNDLED_SQLITE = {"v1.14.22": "3.45.1", "v1.14.32": "3.50.4"}
# SQLite compiled into modernc.org/sqlite releases (lib/sqlite_*.go,
# SQLITE_VERSION), checked in the module cache; the cache is read first.
MODERNC_BUNDLED_SQLITE = {"v1.18.1": "3.39.2"}
_BINDING_VERSION_RE = re.compile(r'^#define SQLITE_VERSION\s+"([0-9.]+)"', re.M)
_MODERNC_DOC_RE = re.compile(r"^//\s+\w+\s+\w+\s+(3\.[0-9]+\.[0-9]+)\s*$", re.M)
_MODERNC_LIB_RE = re.compile(r'\bSQLITE_VERSION\s*=\s*"(3\.[0-9]+\.[0-9]+)"')


def _library(module, driver: str) -> Optional[SqliteLibrary]:
    wanted = {"sqlite3": [MATTN_MODULE], "sqlite": [MODERNC_MODULE]}.get(driver, [MATTN_MODULE, MODERNC_MODULE])
    present = [module.requires[m] for m in wanted if m in module.requires]
    if len(present) != 1:
        return None
    req = present[0]
    return SqliteLibrary(req.module, req.version, f"go.mod:{req.line}")


def go_module_cache() -> Optional[Path]:
    env = os.environ.get("GOMODCACHE")
    if env:
        return Path(env)
    gopath = os.environ.get("GOPATH", "").split(os.pathsep)[0]
    base = Path(gopath) if gopath else Path.home() / "go"
    return base / "pkg" / "mod"


def _cached(path: Path, pattern: "re.Pattern[str]", limit: int) -> Optional[str]:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            found = pattern.search(handle.read(limit))
    except OSError:
        return None
    return found.group(1) if found else None


def app_sqlite_version(library: SqliteLibrary) -> Optional[AppSqlite]:
    """The SQLite version `library` compiles in: read from the Go module
    cache when the module is there, else from a table of known releases."""
    cache = go_module_cache()
    version = library.version
    if library.module == MATTN_MODULE:
        if cache is not None:
            header = cache / "github.com" / "mattn" / f"go-sqlite3@{version}" / "sqlite3-binding.h"
            found = _cached(header, _BINDING_VERSION_RE, 64 * 1024)
            if found:
                return AppSqlite(found, "module cache: sqlite3-binding.h")
        known = MATTN_BUNDLED_SQLITE.get(version)
        return AppSqlite(known, "known release") if known else None
    if library.module == MODERNC_MODULE:
        if cache is not None:
            base = cache / "modernc.org" / f"sqlite@{version}"
            found = _cached(base / "doc.go", _MODERNC_DOC_RE, 64 * 1024)
            if not found:
                found = _cached(base / "lib" / "sqlite_linux_amd64.go", _MODERNC_LIB_RE, 2 * 1024 * 1024)
            if found:
                return AppSqlite(found, "module cache")
        known = MODERNC_BUNDLED_SQLITE.get(version)
        return AppSqlite(known, "known release") if known else None
    return None
