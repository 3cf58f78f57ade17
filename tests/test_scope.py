"""New versus shipped (mwcore.scope): git history, migrations.sum, --from."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import write_files
from mwcore.checksum import write as write_sum
from mwcore.errors import UsageError
from mwcore.folder import scan_folder
from mwcore.scope import resolve_scope

PAIR = "CREATE TABLE t{v}(x);", "DROP TABLE t{v};"


def pair(version: int) -> dict:
    up, down = PAIR
    return {f"{version:06d}_v{version}.up.sql": up.format(v=version),
            f"{version:06d}_v{version}.down.sql": down.format(v=version)}


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(repo), "PATH": "/usr/bin:/bin:/usr/local/bin"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write_files(root / "migrations", {**pair(1), **pair(2)})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "shipped")
    return root


def scope_of(folder: Path, **kw):
    return resolve_scope(scan_folder(folder), **kw)


def test_untracked_pair_on_the_default_branch_is_new(repo: Path) -> None:
    write_files(repo / "migrations", pair(3))
    scope = scope_of(repo / "migrations")
    assert scope.new == {3}
    assert scope.shipped == {1, 2}
    assert scope.how == "not committed yet (HEAD is at main)"


def test_a_clean_tree_on_the_default_branch_has_nothing_new(repo: Path) -> None:
    scope = scope_of(repo / "migrations")
    assert scope.new == frozenset()
    assert scope.shipped == {1, 2}


def test_committed_on_a_feature_branch_is_new_against_the_merge_base(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    write_files(repo / "migrations", pair(3))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "add 3")
    git(repo, "checkout", "-q", "main")
    write_files(repo / "migrations", pair(4))  # main moved on after the branch point
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "add 4 on main")
    git(repo, "checkout", "-q", "feature")
    scope = scope_of(repo / "migrations")
    assert scope.new == {3}
    assert scope.base == "main"
    assert scope.how.startswith("changed against main (merge base ")


def test_the_upstream_branch_wins_over_main(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "base")
    write_files(repo / "migrations", pair(3))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "3 on base")
    git(repo, "checkout", "-q", "-b", "work", "--track", "base")
    write_files(repo / "migrations", pair(4))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "4 on work")
    scope = scope_of(repo / "migrations")
    assert scope.base == "base"
    assert scope.new == {4}


def test_an_edited_shipped_file_is_new_and_marked_edited(repo: Path) -> None:
    (repo / "migrations" / "000001_v1.up.sql").write_text("CREATE TABLE t1(x, y);")
    write_files(repo / "migrations", pair(3))
    scope = scope_of(repo / "migrations")
    assert scope.new == {1, 3}
    assert scope.edited == {1}


def test_since_names_the_ref(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    write_files(repo / "migrations", pair(3))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "3")
    scope = scope_of(repo / "migrations", since=first)
    assert scope.new == {3}
    assert scope.how == f"changed against {first}"


def test_an_unknown_since_ref_is_a_usage_error(repo: Path) -> None:
    with pytest.raises(UsageError, match="no such commit"):
        scope_of(repo / "migrations", since="nope")


def test_a_repository_without_commits_counts_everything_new(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    write_files(tmp_path / "m", {**pair(1), **pair(2)})
    scope = scope_of(tmp_path / "m")
    assert scope.new == {1, 2}


def test_files_in_subfolders_do_not_count(repo: Path) -> None:
    write_files(repo / "migrations" / "old", pair(2))
    scope = scope_of(repo / "migrations")
    assert scope.new == frozenset()


def test_without_git_the_sum_file_tells(tmp_path: Path) -> None:
    folder = write_files(tmp_path / "m", {**pair(1), **pair(2)})
    write_sum(scan_folder(folder))
    write_files(folder, pair(3))
    scope = scope_of(folder, use_git=False)
    assert scope.new == {3}
    assert "migrations.sum" in scope.how


def test_without_git_or_sum_every_version_is_new(tmp_path: Path) -> None:
    folder = write_files(tmp_path / "m", {**pair(1), **pair(2)})
    scope = scope_of(folder, use_git=False)
    assert scope.new == {1, 2}
    assert scope.shipped == frozenset()


def test_from_wins_over_git(repo: Path) -> None:
    write_files(repo / "migrations", pair(3))
    scope = scope_of(repo / "migrations", from_version=2)
    assert scope.new == {2, 3}
    assert scope.how == "--from 2"


def test_since_outside_git_is_a_usage_error(tmp_path: Path) -> None:
    folder = write_files(tmp_path / "m", pair(1))
    with pytest.raises(UsageError, match="not inside a git work tree"):
        scope_of(folder, since="main", use_git=False)


# -- deletions, cosmetic edits, bases, names that are not migrations ----------------------


def test_a_deleted_down_of_a_shipped_version_makes_it_edited(repo: Path) -> None:
    (repo / "migrations" / "000001_v1.down.sql").unlink()
    scope = scope_of(repo / "migrations")
    assert scope.new == {1} and scope.edited == {1} and scope.removed == ()


def test_a_version_deleted_entirely_is_removed(repo: Path) -> None:
    for name in ("000002_v2.up.sql", "000002_v2.down.sql"):
        (repo / "migrations" / name).unlink()
    scope = scope_of(repo / "migrations")
    assert scope.new == frozenset() and scope.removed == ("000002_v2.down.sql", "000002_v2.up.sql")


def test_an_edit_of_comments_and_spacing_only_is_cosmetic_and_stays_shipped(repo: Path) -> None:
    path = repo / "migrations" / "000001_v1.up.sql"
    path.write_text("-- the first table\nCREATE   TABLE t1 (x);\n")
    scope = scope_of(repo / "migrations")
    assert scope.edited == {1} and scope.cosmetic == {1} and scope.new == frozenset()
    path.write_text("CREATE TABLE t1 (x, y);")
    scope = scope_of(repo / "migrations")
    assert scope.cosmetic == frozenset() and scope.new == {1}


def test_a_new_down_for_a_shipped_up_is_checked_but_not_an_edit(repo: Path) -> None:
    """Nothing that ran changed (there is nothing to restore): the down is
    new and checked, not reported as an edit of the shipped up."""
    (repo / "migrations" / "000002_v2.down.sql").unlink()
    git(repo, "commit", "-qam", "2 is up-only")
    write_files(repo / "migrations", {"000002_v2.down.sql": "DROP TABLE t2;"})
    scope = scope_of(repo / "migrations")
    assert scope.new == {2} and scope.edited == frozenset() and scope.cosmetic == frozenset()


def test_a_file_added_beside_a_shipped_version_is_new_not_an_edit(repo: Path) -> None:
    """A duplicate version merged in from another branch: the folder checks
    (MW002) judge it; nothing shipped was edited, and it is never cosmetic."""
    write_files(repo / "migrations", {"000002_other.up.sql": "CREATE TABLE o(x);",
                                      "000002_other.down.sql": "DROP TABLE o;"})
    scope = scope_of(repo / "migrations")
    assert scope.new == {2} and scope.edited == frozenset() and scope.cosmetic == frozenset()


def test_without_main_master_or_upstream_head_is_the_base(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "develop")
    write_files(tmp_path / "m", {**pair(1), **pair(2)})
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "shipped")
    write_files(tmp_path / "m", pair(3))
    scope = scope_of(tmp_path / "m")
    assert scope.new == {3} and scope.shipped == {1, 2}
    assert scope.how == "not committed yet (no upstream, main or master branch to compare with)"


def test_a_detached_head_compares_with_main(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    write_files(repo / "migrations", pair(3))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "3")
    git(repo, "checkout", "-q", "--detach")
    scope = scope_of(repo / "migrations")
    assert scope.new == {3} and scope.base == "main"


def test_modes_decide_what_is_checked_and_shown(repo: Path) -> None:
    from mwcore.scope import ALL, NEW

    write_files(repo / "migrations", {**pair(3), "000004-typo.up.sql": "SELECT 1;"})
    scope = scope_of(repo / "migrations")
    assert scope.checks(1) and not scope.shows(1) and scope.shows(3)
    assert not scope.with_mode(NEW).checks(1) and scope.with_mode(NEW).checks(3)
    assert scope.with_mode(ALL).shows(1)
    # A name that is no migration (a near miss) follows git: untracked here, so new.
    assert scope.shows_name("000004-typo.up.sql") and scope.with_mode(NEW).checks_name("000004-typo.up.sql")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "typo shipped")
    assert not scope_of(repo / "migrations").shows_name("000004-typo.up.sql")


def test_the_scope_options_parse_and_refuse_what_changes_nothing(repo: Path) -> None:
    import argparse

    from mwcore import cli

    parser = argparse.ArgumentParser()
    cli.add_scope_options(parser, from_version=True)
    folder = scan_folder(repo / "migrations")
    write_files(repo / "migrations", pair(3))
    folder = scan_folder(repo / "migrations")
    assert cli.scope_from_args(parser.parse_args([]), folder).mode == "default"
    scope = cli.scope_from_args(parser.parse_args(["--new"]), folder)
    assert scope.mode == "new" and scope.new == {3}
    assert cli.scope_from_args(parser.parse_args(["--from", "2"]), folder).new == {2, 3}
    for args in (["--all", "--since", "main"], ["--from", "1", "--since", "main"]):
        with pytest.raises(UsageError):
            cli.scope_from_args(parser.parse_args(args), folder)
    with pytest.raises(SystemExit):
        parser.parse_args(["--new", "--all"])


def test_without_git_a_version_merged_below_the_summed_ones_is_new(tmp_path: Path) -> None:
    folder = write_files(tmp_path / "m", {**pair(1), **pair(3)})
    write_sum(scan_folder(folder))
    write_files(folder, pair(2))
    scope = scope_of(folder, use_git=False)
    assert scope.new == {2} and scope.shipped == {1, 3}


def test_the_json_form_of_a_scope_lists_at_most_a_screenful_of_versions_and_counts_the_rest():
    from mwcore.scope import JSON_VERSIONS, Scope

    many = frozenset(range(1, JSON_VERSIONS * 3))
    data = Scope(many, frozenset(), "test", edited=many).as_dict()
    assert data["new"] == sorted(many)[:JSON_VERSIONS] and data["new_count"] == len(many)
    assert data["edited"] == sorted(many)[:JSON_VERSIONS] and data["edited_count"] == len(many)
    few = Scope(frozenset({3, 1}), frozenset({2}), "test", edited=frozenset({3})).as_dict()
    assert few["new"] == [1, 3] and few["edited"] == [3] and "new_count" not in few and "edited_count" not in few
