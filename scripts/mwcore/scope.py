"""New versus shipped: which migrations a check is about.

A project's shipped history cannot be changed (databases already ran it), so
the scripts check the versions that are new and only apply the shipped ones
to build the state the new ones start from. One notion serves every script:

- With git, a version is new when one of its files is added, changed or
  deleted against a base: `--since REF`, else the merge base of HEAD with its
  upstream branch, else with the remote's default branch, else with a local
  `main`/`master`, else HEAD itself. Uncommitted and untracked files count:
  the assistant has just created them. A new version that already had a
  file at the base is an edited shipped version (`edited`); a file deleted
  since the base whose version is gone entirely is `removed`. An edit that
  changes only comments or spacing (`cosmetic`) leaves the version shipped.
- Without git, the versions none of whose files migrations.sum records are
  new (added since it was written, above its highest version or, merged
  from another branch, below it).
- `--from N` (explicit) makes N and everything above new, whatever the above.
- With none of these to tell, every version is new.

What a run does with that split is its `mode`: DEFAULT checks every version
and shows the findings of new ones (shipped ones are counted), NEW checks
only the new versions and merely applies the shipped ones, ALL checks and
shows everything. The result says which rule decided, so output can name it
in a few words.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, NamedTuple, Optional, Tuple

from .errors import UsageError
from .folder import MigrationFolder, parse_name

_GIT_TIMEOUT = 10.0

DEFAULT, NEW, ALL = "default", "new", "all"
JSON_VERSIONS = 20  # new versions listed in as_dict (beyond that, new_count counts them)
MODES = (DEFAULT, NEW, ALL)


@dataclass(frozen=True)
class Scope:
    """The versions a run checks (`new`) and the ones it only applies (`shipped`)."""

    new: FrozenSet[int]
    shipped: FrozenSet[int]
    how: str  # one phrase: which rule decided, e.g. "changed against origin/main (merge base 1a2b3c4)"
    base: Optional[str] = None  # the git ref (or sum file) compared with, when there was one
    edited: FrozenSet[int] = field(default_factory=frozenset)  # shipped at the base, changed since (new unless cosmetic)
    removed: Tuple[str, ...] = ()  # file names deleted since the base whose version is gone
    # File names git reports as changed (added, modified, untracked); None without git.
    changed: Optional[FrozenSet[str]] = None
    # Edited versions whose statements are unchanged (only comments or whitespace differ).
    cosmetic: FrozenSet[int] = field(default_factory=frozenset)
    mode: str = DEFAULT

    def is_new(self, version: int) -> bool:
        return version in self.new

    @property
    def first_new(self) -> Optional[int]:
        return min(self.new) if self.new else None

    def checks(self, version: int) -> bool:
        """Whether rules judge this version (NEW mode: only new ones)."""
        return self.mode != NEW or version in self.new

    def shows(self, version: int) -> bool:
        """Whether this version's findings are listed (ALL: every one)."""
        return self.mode == ALL or version in self.new

    def shows_name(self, name: str) -> bool:
        """`shows` for any file name of the folder: a migration by its
        version; another file (a near miss, a broken link, migrations.sum)
        unless git says it is unchanged."""
        parsed = parse_name(name)
        if parsed is not None and (parsed.version in self.new or parsed.version in self.shipped):
            return self.shows(parsed.version)
        return self.mode == ALL or self.changed is None or name in self.changed

    def checks_name(self, name: str) -> bool:
        """`checks` for any file name of the folder (see `shows_name`)."""
        parsed = parse_name(name)
        if parsed is not None and (parsed.version in self.new or parsed.version in self.shipped):
            return self.checks(parsed.version)
        return self.mode != NEW or self.changed is None or name in self.changed

    def with_mode(self, mode: str) -> "Scope":
        if mode not in MODES:
            raise ValueError(f"unknown scope mode {mode!r}")
        return replace(self, mode=mode)

    def as_dict(self) -> dict:
        out = {
            "mode": self.mode,
            "new": sorted(self.new)[:JSON_VERSIONS],
            "shipped": len(self.shipped),
            "how": self.how,
            "base": self.base,
        }
        if len(self.new) > JSON_VERSIONS:
            out["new_count"] = len(self.new)
        if self.edited:
            out["edited"] = sorted(self.edited)[:JSON_VERSIONS]
            if len(self.edited) > JSON_VERSIONS:
                out["edited_count"] = len(self.edited)
        if self.removed:
            out["removed"] = list(self.removed)
        return out


def everything(folder: MigrationFolder, how: str, mode: str = ALL) -> Scope:
    """Every version new (no history consulted)."""
    versions = folder.versions
    return Scope(frozenset(versions), frozenset(), how, mode=mode)


def resolve_scope(folder: MigrationFolder, *, since: Optional[str] = None, from_version: Optional[int] = None,
                  use_git: bool = True) -> Scope:
    """Decide which versions of `folder` are new (see the module docstring)."""
    versions = folder.versions
    if from_version is not None:
        return _split(versions, [v for v in versions if v >= from_version], f"--from {from_version}")
    head = _head(folder.path) if use_git else None
    if since is not None and head is None:
        raise UsageError(f"--since {since}: {folder.path} is not inside a git work tree.")
    if head is not None:
        return _from_git(folder, since, head)
    summed = _summed_names(folder)
    if summed is not None:
        new = [m.version for m in folder.migrations if not any(f.name in summed for f in m.files)]
        return _split(versions, new, "not recorded in migrations.sum", base="migrations.sum")
    return _split(versions, versions, "every version (no git history or migrations.sum tells shipped from new)")


def _split(versions: List[int], new: Iterable[int], how: str, *, base: Optional[str] = None,
           edited: Iterable[int] = (), **extra) -> Scope:
    fresh = frozenset(new)
    return Scope(fresh, frozenset(v for v in versions if v not in fresh), how, base, frozenset(edited), **extra)


def _summed_names(folder: MigrationFolder) -> Optional[set]:
    """The file names migrations.sum records, or None without one (or with
    one that records nothing)."""
    if "migrations.sum" not in folder.names:
        return None
    from .checksum import SUM_FILE, read_sum

    recorded = read_sum(folder.path / SUM_FILE)
    if recorded is None:
        return None
    return {name for name, _ in recorded.entries} or None


# -- git ----------------------------------------------------------------------
# A handful of git calls (each a few ms): where HEAD is, which branches exist
# and what they track (one for-each-ref), at most a merge-base per candidate,
# then the changes (diff) and the untracked files (ls-files).

def _git_run(cwd: Path, *args: str) -> Tuple[int, str]:
    """(exit status, stdout) of a git command run in `cwd`; (-1, "") when git
    cannot run. Never prompts, never writes."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    try:
        proc = subprocess.run(["git", *args], cwd=str(cwd), env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=_GIT_TIMEOUT)
    except (OSError, subprocess.SubprocessError):
        return -1, ""
    return proc.returncode, proc.stdout.decode("utf-8", "surrogateescape")


def _git(cwd: Path, *args: str) -> Optional[str]:
    """stdout of a git command, or None when it fails (no git, not a
    repository, unknown ref)."""
    code, out = _git_run(cwd, *args)
    return out if code == 0 else None


class _Head(NamedTuple):
    commit: Optional[str]  # None: no commit yet
    ref: str  # refs/heads/NAME, or HEAD when detached


def _head(path: Path) -> Optional[_Head]:
    """Where HEAD is, or None when `path` is not inside a git work tree."""
    code, out = _git_run(path, "rev-parse", "--is-inside-work-tree", "HEAD", "--symbolic-full-name", "HEAD")
    lines = out.split("\n")
    if not lines or lines[0].strip() != "true":
        return None
    if code != 0 or len(lines) < 3:
        return _Head(None, "HEAD")
    return _Head(lines[1].strip(), lines[2].strip() or "HEAD")


def _short(ref: str) -> str:
    for prefix in ("refs/heads/", "refs/remotes/"):
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return ref


_USUAL = ("refs/remotes/origin/main", "refs/remotes/origin/master", "refs/heads/main", "refs/heads/master")


def _base_ref(cwd: Path, head: _Head) -> Tuple[str, str]:
    """(ref, commit) to compare with by default: the merge base of HEAD with
    its upstream, the remote default branch, a local main/master, else HEAD."""
    assert head.commit is not None
    asked = [r for r in (head.ref, "refs/remotes/origin/HEAD", *_USUAL) if r.startswith("refs/")]
    out = _git(cwd, "for-each-ref", "--format=%(refname)%00%(objectname)%00%(upstream)%00%(symref)", *asked) or ""
    commits: Dict[str, str] = {}
    upstream = symref = ""
    for line in out.splitlines():
        fields = line.split("\0")
        if len(fields) < 4:
            continue
        name, commit, tracked, target = fields[:4]
        commits[name] = commit
        if name == head.ref:
            upstream = tracked
        if name == "refs/remotes/origin/HEAD":
            symref = target
    candidates = [r for r in (upstream, symref, *_USUAL) if r]
    for ref in dict.fromkeys(candidates):
        commit = commits.get(ref)
        if commit is None and ref not in (upstream, symref):
            continue  # a usual name that does not exist here
        if commit == head.commit:
            return _short(ref), head.commit
        base = _git(cwd, "merge-base", "HEAD", ref)
        if base and base.strip():
            return _short(ref), base.strip()
    return "HEAD", head.commit


def _from_git(folder: MigrationFolder, since: Optional[str], head: _Head) -> Scope:
    cwd = folder.path
    versions = folder.versions
    if since is not None:
        commit = _git(cwd, "rev-parse", "--verify", "--quiet", since + "^{commit}")
        if commit is None:
            raise UsageError(f"--since {since}: git knows no such commit or branch here.")
        ref, base = since, commit.strip()
    elif head.commit is None:
        return _split(versions, versions, "every version (the git repository has no commit yet)")
    else:
        ref, base = _base_ref(cwd, head)
    added, modified, deleted = _changed_names(cwd, base)
    changed_versions = _versions_of(added | modified | deleted)
    # A version some file of which was there at the base shipped: every
    # current file not added since, and every deleted one, was there.
    at_base = _versions_of(n for n in folder.names if n not in added) | _versions_of(deleted)
    present = set(versions)
    new = [v for v in versions if v in changed_versions]
    # Edited: a file that was there at the base changed or went away. A file
    # merely added beside shipped ones (a duplicate version, a down added to
    # an up-only version) is new, and the folder checks judge it.
    touched_at_base = _versions_of(modified | deleted)
    edited = [v for v in new if v in at_base and v in touched_at_base]
    removed = tuple(sorted(n for n in deleted if (p := parse_name(n)) is not None and p.version not in present))
    if since is not None:
        how = f"changed against {since}"
    elif ref == "HEAD":
        how = "not committed yet (no upstream, main or master branch to compare with)"
    elif base == head.commit:
        how = f"not committed yet (HEAD is at {ref})"
    else:
        how = f"changed against {ref} (merge base {base[:7]})"
    cosmetic = _cosmetic_edits(folder, base, edited, modified, added, deleted)
    # Only comments or spacing changed: still the shipped version (one note says so).
    new = [v for v in new if v not in cosmetic]
    return _split(versions, new, how, base=ref, edited=edited, removed=removed,
                  changed=frozenset(added | modified), cosmetic=frozenset(cosmetic))


def _changed_names(cwd: Path, base: str) -> Tuple[set, set, set]:
    """(added, modified, deleted) file names directly in `cwd`: committed,
    staged, unstaged and untracked changes against `base`."""
    added: set = set()
    modified: set = set()
    deleted: set = set()
    out = _git(cwd, "diff", "--name-status", "--no-renames", "-z", "--relative", base, "--", ".")
    if out:
        fields = out.split("\0")
        for status, name in zip(fields[0::2], fields[1::2]):
            if "/" in name:
                continue
            if status.startswith("A"):
                added.add(name)
            elif status.startswith(("M", "T")):
                modified.add(name)
            elif status.startswith("D"):
                deleted.add(name)
    untracked = _git(cwd, "ls-files", "--others", "--exclude-standard", "-z", "--", ".")
    for name in (untracked or "").split("\0"):
        if name and "/" not in name:
            added.add(name)
    return added, modified, deleted


def _cosmetic_edits(folder: MigrationFolder, base: str, edited: List[int], modified: set, added: set,
                    deleted: set) -> List[int]:
    """Edited versions whose files only changed in comments or whitespace
    (the statements SQLite runs are the same): harmless, golang-migrate keeps
    no checksum. A file added to or deleted from the version is never cosmetic."""
    out = []
    for version in edited:
        def of_version(names: set) -> List[str]:
            return [n for n in names if (p := parse_name(n)) is not None and p.version == version]

        touched = of_version(modified)
        # A file added to or deleted from the version (a duplicate merged in,
        # a down added) is a real change, and so is anything but an edit.
        if of_version(added) or of_version(deleted) or not touched:
            continue
        if all(_same_statements(folder, base, name) for name in touched):
            out.append(version)
    return out


def _same_statements(folder: MigrationFolder, base: str, name: str) -> bool:
    from .sqltext import normalize_sql, split_statements

    old = _git(folder.path, "show", f"{base}:./{name}")
    if old is None:
        return False
    try:
        new = (folder.path / name).read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return False
    return [normalize_sql(s.sql) for s in split_statements(old)] == [normalize_sql(s.sql) for s in split_statements(new)]


def _versions_of(names: Iterable[str]) -> set:
    out = set()
    for name in names:
        parsed = parse_name(name)
        if parsed is not None:
            out.add(parsed.version)
    return out
