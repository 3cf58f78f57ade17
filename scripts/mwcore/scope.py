"""New versus shipped: which migrations a check is about.

A project's shipped history cannot be changed (databases already ran it), so
the scripts check the versions that are new and only apply the shipped ones
to build the state the new ones start from. One notion serves every script:

- With git, a version is new when one of its files is added or changed
  against a base: `--since REF`, else the merge base of HEAD with its
  upstream branch, else with the remote's default branch, else with a local
  `main`/`master`. Uncommitted and untracked files count: the assistant has
  just created them.
- Without git, the versions above the highest one recorded in
  migrations.sum are new.
- `--from N` (explicit) makes N and everything above new, whatever the above.
- With none of these to tell, every version is new.

The result says which rule decided, so output can name it in a few words.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import FrozenSet, Iterable, List, Optional, Tuple

from .errors import UsageError
from .folder import MigrationFolder, parse_name

_GIT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Scope:
    """The versions a run checks (`new`) and the ones it only applies (`shipped`)."""

    new: FrozenSet[int]
    shipped: FrozenSet[int]
    how: str  # one phrase: which rule decided, e.g. "changed against origin/main (merge base 1a2b3c4)"
    base: Optional[str] = None  # the git ref (or sum file) compared with, when there was one
    edited: FrozenSet[int] = field(default_factory=frozenset)  # shipped at the base, changed since

    def is_new(self, version: int) -> bool:
        return version in self.new

    @property
    def first_new(self) -> Optional[int]:
        return min(self.new) if self.new else None

    def as_dict(self) -> dict:
        return {
            "new": sorted(self.new),
            "shipped": len(self.shipped),
            "how": self.how,
            "base": self.base,
            "edited": sorted(self.edited),
        }


def resolve_scope(folder: MigrationFolder, *, since: Optional[str] = None, from_version: Optional[int] = None,
                  use_git: bool = True) -> Scope:
    """Decide which versions of `folder` are new (see the module docstring)."""
    versions = folder.versions
    if from_version is not None:
        return _split(versions, [v for v in versions if v >= from_version], f"--from {from_version}")
    git = _git_root(folder.path) if use_git else None
    if since is not None and git is None:
        raise UsageError(f"--since {since}: {folder.path} is not inside a git work tree.")
    if git is not None:
        return _from_git(folder, since)
    highest = _highest_summed(folder)
    if highest is not None:
        return _split(versions, [v for v in versions if v > highest],
                      f"above {highest}, the highest version in migrations.sum", base="migrations.sum")
    return _split(versions, versions, "every version (no git history or migrations.sum tells shipped from new)")


def _split(versions: List[int], new: Iterable[int], how: str, *, base: Optional[str] = None,
           edited: Iterable[int] = ()) -> Scope:
    fresh = frozenset(new)
    return Scope(fresh, frozenset(v for v in versions if v not in fresh), how, base, frozenset(edited))


def _highest_summed(folder: MigrationFolder) -> Optional[int]:
    from .checksum import SUM_FILE, read_sum

    recorded = read_sum(folder.path / SUM_FILE)
    if recorded is None:
        return None
    versions = [p.version for p in (parse_name(name) for name, _ in recorded.entries) if p is not None]
    return max(versions) if versions else None


# -- git ----------------------------------------------------------------------

def _git(cwd: Path, *args: str) -> Optional[str]:
    """stdout of a git command run in `cwd`, or None when it fails (no git,
    not a repository, unknown ref). Never prompts, never writes."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
    try:
        proc = subprocess.run(["git", *args], cwd=str(cwd), env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=_GIT_TIMEOUT)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "surrogateescape")


def _git_root(path: Path) -> Optional[Path]:
    out = _git(path, "rev-parse", "--is-inside-work-tree")
    return path if out is not None and out.strip() == "true" else None


def _base_ref(cwd: Path) -> Optional[Tuple[str, str]]:
    """(ref, commit) to compare with by default: the merge base of HEAD with
    its upstream, the remote default branch, or a local main/master."""
    if _git(cwd, "rev-parse", "--verify", "--quiet", "HEAD") is None:
        return None  # no commit yet: everything is new
    candidates: List[str] = []
    upstream = _git(cwd, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}")
    if upstream and upstream.strip():
        candidates.append(upstream.strip())
    remote_head = _git(cwd, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    if remote_head and remote_head.strip():
        candidates.append(remote_head.strip())
    candidates += ["origin/main", "origin/master", "main", "master"]
    for ref in candidates:
        base = _git(cwd, "merge-base", "HEAD", ref)
        if base and base.strip():
            return ref, base.strip()
    return None


def _from_git(folder: MigrationFolder, since: Optional[str]) -> Scope:
    cwd = folder.path
    versions = folder.versions
    if since is not None:
        commit = _git(cwd, "rev-parse", "--verify", "--quiet", since + "^{commit}")
        if commit is None:
            raise UsageError(f"--since {since}: git knows no such commit or branch here.")
        ref, base = since, commit.strip()
    else:
        found = _base_ref(cwd)
        if found is None:
            untracked_all = _changed_names(cwd, None)
            new = _versions_of(untracked_all[0] | untracked_all[1])
            return _split(versions, [v for v in versions if v in new],
                          "not committed yet (no branch to compare with)")
        ref, base = found
    added, modified = _changed_names(cwd, base)
    new_versions = _versions_of(added | modified)
    edited = _versions_of(modified) - _versions_of(added)
    if since is not None:
        how = f"changed against {since}"
    elif base == (_git(cwd, "rev-parse", "HEAD") or "").strip():
        how = f"not committed yet (HEAD is {ref})"
    else:
        how = f"changed against {ref} (merge base {base[:7]})"
    return _split(versions, [v for v in versions if v in new_versions], how, base=ref,
                  edited=[v for v in versions if v in edited])


def _changed_names(cwd: Path, base: Optional[str]) -> Tuple[set, set]:
    """(added, modified) file names directly in `cwd`: committed, staged,
    unstaged and untracked changes against `base` (None: no commit yet)."""
    added: set = set()
    modified: set = set()
    if base is not None:
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
    untracked = _git(cwd, "ls-files", "--others", "--exclude-standard", "-z", "--", ".")
    if base is None:
        tracked = _git(cwd, "ls-files", "-z", "--", ".")
        untracked = (untracked or "") + (tracked or "")
    for name in (untracked or "").split("\0"):
        if name and "/" not in name:
            added.add(name)
    return added, modified


def _versions_of(names: Iterable[str]) -> set:
    out = set()
    for name in names:
        parsed = parse_name(name)
        if parsed is not None:
            out.add(parsed.version)
    return out
