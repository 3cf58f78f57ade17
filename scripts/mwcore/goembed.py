"""What `//go:embed` does with a migrations folder, as `go build` decides it.

The rules are cmd/go's (internal/load/pkg.go, resolveEmbed): a pattern must
be a valid io/fs path that is not "." (no '..', '.' or empty element, not
absolute); a file a glob pattern matches must be a regular file (a symlink
fails the build: "cannot embed irregular file"), and every file, matched by
a glob or found in an embedded directory, must have a name
golang.org/x/mod/module.CheckFilePath accepts ("cannot embed file ...:
invalid name ..."). In an embedded directory, non-regular files (symlinks)
are left out without a word.

golang-migrate's file:// source (os.DirFS) has none of these limits: it
reads any name and follows links. So a folder can work with the CLI and
break, or silently lose a migration, in the app that embeds it.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional

MAX_GO_FILE_BYTES = 2 * 1024 * 1024

_EMBED_LINE = re.compile(r"^[ \t]*//go:embed[ \t]+(.+?)[ \t]*$", re.M)
_EMBED_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"|`([^`]*)`|(\S+)')

# module.fileNameOK: ASCII letters, digits and these; any Unicode letter.
_ASCII_OK = frozenset("!#$%&()+,-.=@[]^_{}~ ")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def valid_embed_pattern(pattern: str) -> bool:
    """What `go build` accepts as a //go:embed pattern (cmd/go's
    validEmbedPattern: fs.ValidPath and not "."): no '..' or '.' element, no
    empty element, not absolute. Anything else fails the build, so it
    embeds nothing."""
    return pattern not in ("", ".") and all(part not in ("", ".", "..") for part in pattern.split("/"))


def embed_name_problem(name: str) -> Optional[str]:
    """Why go:embed refuses a file named `name` (module.CheckFilePath on one
    path element, plus the names cmd/go never embeds), or None."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "it is not valid UTF-8"
    if name in ("", ".bzr", ".hg", ".git", ".svn"):
        return "it is a version-control name"
    if name.count(".") == len(name):
        return "it is only dots"
    if name.endswith("."):
        return "it ends with a dot"
    for ch in name:
        if ch.isascii():
            ok = ch.isalnum() or ch in _ASCII_OK
        else:
            ok = ch.isalpha()
        if not ok:
            shown = repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}"
            return f"it contains {shown}, which Go does not allow in file names that can be embedded"
    if name.split(".", 1)[0].upper() in _WINDOWS_RESERVED:
        return "its first part is a name Windows reserves"
    return None


class EmbedUse(NamedTuple):
    """One //go:embed pattern that takes in a file of the folder."""

    go_file: Path
    line: int
    pattern: str
    whole_directory: bool  # the pattern names the folder (or a parent), not the file

    def where(self, start: Optional[Path] = None) -> str:
        path = self.go_file
        if start is not None:
            try:
                path = self.go_file.relative_to(start)
            except ValueError:
                pass
        return f"{path}:{self.line}"


def _go_match(pattern: str, path: str) -> bool:
    """Go's path.Match for slash-separated paths: elementwise, '*' never
    crosses a '/'."""
    parts, names = pattern.split("/"), path.split("/")
    if len(parts) != len(names):
        return False
    return all(fnmatch.fnmatchcase(n, p.replace("[^", "[!")) for p, n in zip(parts, names))


def _patterns(go_file: Path) -> List[tuple]:
    try:
        if go_file.stat().st_size > MAX_GO_FILE_BYTES:
            return []
        text = go_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    if "go:embed" not in text:
        return []
    found = []
    for match in _EMBED_LINE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        for quoted, raw, bare in _EMBED_ARG.findall(match.group(1)):
            pattern = quoted or raw or bare
            whole = pattern[4:] if pattern.startswith("all:") else pattern
            if valid_embed_pattern(whole):
                found.append((line, pattern, whole))
    return found


def folder_embeds(folder: Path, names: List[str], module_root: Optional[Path]) -> Dict[str, EmbedUse]:
    """For each of `names` (files of `folder`) that some //go:embed takes in,
    the first pattern that does. Go files are looked for in the folder and
    each folder above it up to the module root (a pattern cannot reach
    outside its package folder); without a go.mod, in the folder and its parent."""
    folder = folder.resolve()
    top = module_root.resolve() if module_root is not None else folder.parent
    dirs = [folder] + [p for p in folder.parents if p == top or top in p.parents]
    if top not in dirs:
        dirs = [folder, folder.parent]
    uses: Dict[str, EmbedUse] = {}
    for directory in dirs:
        rel = folder.relative_to(directory).as_posix() if directory != folder else ""
        prefixes = [] if not rel else ["/".join(rel.split("/")[: i + 1]) for i in range(rel.count("/") + 1)]
        try:
            go_files = sorted(p for p in directory.glob("*.go") if p.is_file())
        except OSError:
            continue
        for go_file in go_files:
            for line, pattern, whole in _patterns(go_file):
                if any(_go_match(whole, prefix) for prefix in prefixes):
                    for name in names:
                        uses.setdefault(name, EmbedUse(go_file, line, pattern, True))
                    continue
                for name in names:
                    if name not in uses and _go_match(whole, f"{rel}/{name}" if rel else name):
                        uses[name] = EmbedUse(go_file, line, pattern, False)
    return uses
