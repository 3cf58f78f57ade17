"""Go code that runs at a migration version: what makes a comment-only up
file a placeholder on purpose.

golang-migrate only runs SQL. Projects that must run Go at some version (a
backfill that computes values, a hash SQL cannot) keep a comment-only up
file at that version, so the version is recorded in `schema_migrations`,
and run their Go code there: they migrate to exactly that version
(`m.Migrate(N)`), call their hook, and go on; or they step one version at a
time (`m.Steps(1)`) and look the version up in a table of hooks
(`map[uint]func(...){N: backfill}`, `case N:`, `if version == N`). A Go file
named after the version in the migrations folder (`000005_backfill.go`) says
the same.

`hook_versions` reads the Go files of the migrations folder, of the folder
around it, and those of the module that import golang-migrate, with Go's
own tokens (mwcore.golex), and returns the versions such code names, each
with the file:line it was read at.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set

from .golex import IDENT, NUMBER, OP, tokenize

MAX_GO_FILE_BYTES = 2 * 1024 * 1024
MAX_MODULE_FILES = 5000  # Go files looked at below the module root
MIGRATE_IMPORT = "github.com/golang-migrate/migrate"

_VERSION_FILE = re.compile(r"([0-9]+)_[^/]*\.go\Z")


def go_int(text: str) -> Optional[int]:
    """The value of a Go integer literal (decimal, 0x, 0o, 0b, a leading 0
    is octal, `_` separators), or None for anything else."""
    text = text.replace("_", "")
    try:
        if text[:2].lower() in ("0x", "0o", "0b"):
            return int(text, 0)
        if len(text) > 1 and text.startswith("0"):
            return int(text, 8)
        return int(text, 10)
    except ValueError:
        return None


def hook_versions(folder: Path, module_root: Optional[Path], versions: Iterable[int]) -> Dict[int, str]:
    """{version: "file:line (what)"} for the `versions` some Go code runs at."""
    wanted: Set[int] = set(versions)
    found: Dict[int, str] = {}
    if not wanted:
        return found
    base = module_root or folder.parent
    for path in _go_files(folder, module_root):
        if not wanted - set(found):
            break
        match = _VERSION_FILE.match(path.name)
        if path.parent == folder and match and int(match.group(1)) in wanted:
            found.setdefault(int(match.group(1)), f"{_rel(path, base)} (a Go file named after the version)")
        text = _read(path)
        if text is None:
            continue
        for version, line, what in _mentions(text, wanted):
            found.setdefault(version, f"{_rel(path, base)}:{line} ({what})")
    return found


def _go_files(folder: Path, module_root: Optional[Path]) -> List[Path]:
    seen: Set[Path] = set()
    out: List[Path] = []

    def add(path: Path) -> None:
        if path.suffix == ".go" and not path.name.endswith("_test.go") and path not in seen:
            seen.add(path)
            out.append(path)

    for place in (folder, folder.parent):
        try:
            for path in sorted(place.iterdir()):
                add(path)
        except OSError:
            continue
    if module_root is not None:
        from .project import walk

        count = 0
        for directory, names in walk(module_root):
            for name in sorted(names):
                if not name.endswith(".go") or name.endswith("_test.go"):
                    continue
                count += 1
                if count > MAX_MODULE_FILES:
                    return out
                path = directory / name
                if path in seen:
                    continue
                text = _read(path)
                if text is not None and MIGRATE_IMPORT in text:
                    add(path)
    return out


def _read(path: Path) -> Optional[str]:
    try:
        if path.stat().st_size > MAX_GO_FILE_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _rel(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _mentions(text: str, wanted: Set[int]):
    """(version, line, what) for each integer literal of `wanted` that Go
    code uses as a migration version: a key of a composite literal whose
    value is a function, a `case`, `Migrate(N)`, or compared with a name
    that says version."""
    if not any(str(v) in text for v in wanted) and "0x" not in text and "0o" not in text:
        return
    tokens = [t for t in tokenize(text) if t.kind != "newline"]
    for i, token in enumerate(tokens):
        if token.kind != NUMBER:
            continue
        value = go_int(token.text)
        if value is None or value not in wanted:
            continue
        before = tokens[i - 1] if i > 0 else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        what = None
        if before is not None and before.kind == IDENT and before.text == "case":
            what = "a case of a switch"
        elif (after is not None and after.text == ":" and before is not None and before.text in ("{", ",")
              and i + 2 < len(tokens) and tokens[i + 2].kind == IDENT):
            what = "a key of a table of functions"
        elif (before is not None and before.text == "(" and i >= 2 and tokens[i - 2].text == "Migrate"
              and after is not None and after.text == ")"):
            what = "Migrate to this version"
        elif before is not None and before.kind == OP and before.text in ("==", "!=", ">=", "<=", "<", ">"):
            if i >= 2 and "version" in tokens[i - 2].text.lower():
                what = "compared with the version"
        elif after is not None and after.kind == OP and after.text in ("==", "!="):
            if i + 2 < len(tokens) and "version" in tokens[i + 2].text.lower():
                what = "compared with the version"
        if what is not None:
            yield value, text.count("\n", 0, token.start) + 1, what
