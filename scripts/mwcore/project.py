"""Where the migrations are, and how the Go project runs them.

Autodetection: a folder embedded with `//go:embed` of `*.sql` in a Go file,
else the folder with the most `*.up.<ext>`/`*.down.<ext>` files. Facts about
how golang-migrate runs (foreign-key enforcement from the DSN, x-no-tx-wrap,
the migrations table name) are read from the project's Go source; reading Go
source text is the only way to learn them before the program runs.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from .errors import FolderError
from .folder import parse_name
from .goembed import valid_embed_pattern

SKIP_DIRS = {"vendor", "node_modules", ".git", "testdata"}
MAX_GO_FILE_BYTES = 2 * 1024 * 1024

_EMBED_RE = re.compile(r"^[ \t]*//go:embed[ \t]+(.+?)[ \t]*$", re.M)
_EMBED_ARG_RE = re.compile(r'"((?:[^"\\]|\\.)*)"|`([^`]*)`|(\S+)')


@dataclass(frozen=True)
class Detection:
    path: Path
    reason: str
    others: Tuple[Path, ...] = ()  # other candidates that lost


def walk(start: Path) -> Iterator[Tuple[Path, List[str]]]:
    """(folder, file names) under start, skipping vendor/, node_modules/,
    .git/, testdata/ and hidden folders; symlinked folders are not followed."""
    for root, dirs, files in os.walk(start, onerror=None, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        yield Path(root), files


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


def _within(path: Path, start: Path) -> bool:
    try:
        path.relative_to(start)
        return True
    except ValueError:
        return False


def _rel(path: Path, start: Path) -> str:
    return str(path.relative_to(start)) if _within(path, start) else str(path)


def detect_migrations_dir(start: Path, ext: str = "sql") -> Detection:
    """Find the migrations folder under `start`. Raises FolderError."""
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
                    embedded.setdefault(target.resolve(), f"embedded by {_rel(go_file, start)}")
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


# Facts from the Go source --------------------------------------------------

_FK_ON = re.compile(r"(?<![A-Za-z0-9])_(?:foreign_keys|fk)=(?:1|true|on|yes)\b", re.I)
_FK_OFF = re.compile(r"(?<![A-Za-z0-9])_(?:foreign_keys|fk)=(?:0|false|off|no)\b", re.I)
_FK_PRAGMA_ON = re.compile(r"PRAGMA\s+foreign_keys\s*=\s*(?:ON|1|true|yes)\b", re.I)
_FK_TAG = re.compile(r"\bsqlite_foreign_keys\b")
_NO_TX_WRAP = re.compile(r"x-no-tx-wrap=(?:1|t|true|T|TRUE|True)\b|NoTxWrap\s*:\s*true\b")
_TABLE_URL = re.compile(r"x-migrations-table=([A-Za-z0-9_]+)")
_TABLE_CFG = re.compile(r'MigrationsTable\s*:\s*"([^"]+)"')
_BUILD_FILES = ("Makefile", "makefile", "GNUmakefile", "Taskfile.yml", "Justfile", "justfile", ".goreleaser.yml", ".goreleaser.yaml", "Dockerfile")


@dataclass
class ProjectFacts:
    """How the project runs golang-migrate, with the evidence for each fact."""

    module_root: Optional[Path] = None
    go_files: int = 0
    foreign_keys: Optional[bool] = None  # None: no Go source to tell
    foreign_keys_evidence: str = "no Go source found"
    no_tx_wrap: bool = False
    no_tx_wrap_evidence: str = ""
    migrations_table: str = "schema_migrations"
    notes: List[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "module_root": str(self.module_root) if self.module_root else None,
            "foreign_keys": self.foreign_keys,
            "foreign_keys_evidence": self.foreign_keys_evidence,
            "no_tx_wrap": self.no_tx_wrap,
            "migrations_table": self.migrations_table,
        }


def find_module_root(folder: Path) -> Optional[Path]:
    for candidate in [folder.resolve(), *folder.resolve().parents]:
        if (candidate / "go.mod").is_file():
            return candidate
    return None


def read_project_facts(migrations_dir: Path) -> ProjectFacts:
    """Read the Go module around the migrations folder (non-test .go files
    and build files) for the DSN and golang-migrate configuration."""
    facts = ProjectFacts(module_root=find_module_root(migrations_dir))
    root = facts.module_root
    if root is None:
        return facts
    fk_on: Optional[str] = None
    fk_off: Optional[str] = None
    for folder, files in walk(root):
        for name in files:
            is_go = name.endswith(".go") and not name.endswith("_test.go")
            if not is_go and name not in _BUILD_FILES:
                continue
            path = folder / name
            text = _read_go(path)
            facts.go_files += int(is_go)
            where = lambda m: f"{_rel(path, root)}:{text.count(chr(10), 0, m.start()) + 1}"  # noqa: E731
            for pattern in (_FK_ON, _FK_PRAGMA_ON, _FK_TAG):
                m = pattern.search(text)
                if m and fk_on is None:
                    fk_on = f"{where(m)}: {m.group(0)}"
            m = _FK_OFF.search(text)
            if m and fk_off is None:
                fk_off = f"{where(m)}: {m.group(0)}"
            m = _NO_TX_WRAP.search(text)
            if m and not facts.no_tx_wrap:
                facts.no_tx_wrap, facts.no_tx_wrap_evidence = True, f"{where(m)}: {m.group(0)}"
            m = _TABLE_URL.search(text) or _TABLE_CFG.search(text)
            if m:
                facts.migrations_table = m.group(1)
    if fk_on is not None:
        facts.foreign_keys, facts.foreign_keys_evidence = True, fk_on
        if fk_off is not None:
            facts.notes.append(f"foreign keys are switched on in one place ({fk_on}) and off in another ({fk_off}).")
    elif facts.go_files:
        facts.foreign_keys = False
        facts.foreign_keys_evidence = fk_off or f"no _foreign_keys/_fk in the DSN ({facts.go_files} Go files read)"
    return facts


# The SQLite the app really runs -------------------------------------------------

MATTN_MODULE = "github.com/mattn/go-sqlite3"
# SQLite bundled by mattn/go-sqlite3 releases (sqlite3-binding.h), for when
# the Go module cache is not there to read it from.
MATTN_BUNDLED_SQLITE = {"v1.14.22": "3.45.1", "v1.14.32": "3.50.4"}
_REQUIRE_RE = re.compile(r"^\s*(?:require\s+)?" + re.escape(MATTN_MODULE) + r"\s+(v[0-9][^\s]*)", re.M)
_BINDING_VERSION_RE = re.compile(r'^#define SQLITE_VERSION\s+"([0-9.]+)"', re.M)


@dataclass(frozen=True)
class GoDriver:
    """The SQLite driver module of the Go project and the SQLite it bundles."""

    module: str
    version: str
    sqlite_version: Optional[str]
    source: str  # where sqlite_version was read ("module cache", "known release", "unknown")


def go_module_cache() -> Optional[Path]:
    env = os.environ.get("GOMODCACHE")
    if env:
        return Path(env)
    gopath = os.environ.get("GOPATH", "").split(os.pathsep)[0]
    base = Path(gopath) if gopath else Path.home() / "go"
    return base / "pkg" / "mod"


def go_sqlite_driver(module_root: Optional[Path]) -> Optional[GoDriver]:
    """mattn/go-sqlite3's version from go.mod and the SQLite it bundles (read
    from the module cache's sqlite3-binding.h when present)."""
    if module_root is None:
        return None
    try:
        text = (module_root / "go.mod").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = _REQUIRE_RE.search(text)
    if match is None:
        return None
    version = match.group(1)
    cache = go_module_cache()
    if cache is not None:
        header = cache / "github.com" / "mattn" / f"go-sqlite3@{version}" / "sqlite3-binding.h"
        try:
            with header.open("r", encoding="utf-8", errors="replace") as handle:
                found = _BINDING_VERSION_RE.search(handle.read(64 * 1024))
            if found:
                return GoDriver(MATTN_MODULE, version, found.group(1), "module cache")
        except OSError:
            pass
    known = MATTN_BUNDLED_SQLITE.get(version)
    return GoDriver(MATTN_MODULE, version, known, "known release" if known else "unknown")
