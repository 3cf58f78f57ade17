#!/usr/bin/env bash
# Install the migration-writer skill for Claude Code. No network access.
# Run ./install.sh --help for the options.
set -eu
set -o pipefail

SKILL_NAME=migration-writer
MANIFEST_NAME=.migration-writer-manifest
# What a skill install holds. Everything else in the checkout (tests/, bench/,
# README.md, install.sh, .ci/) is for developing the skill, not for using it.
INSTALL_ITEMS="SKILL.md references scripts examples"

# ======================================================================
# DEMO COMMANDS: the one list of what `./install.sh --demo` runs.
# Every script that joins the skill adds its demo step here, in the order
# of the skill's workflow. Steps run inside a temp copy of the INSTALLED
# examples/ folder (the current directory), never in the installed copy:
#   $SKILL       the installed skill folder
#   $MIGRATIONS  the temp copy's migrations folder (a relative path)
# ======================================================================
demo_steps() {
    demo_step "Current and next migration version of the example" \
        python3 "$SKILL/scripts/next_version.py" --dir "$MIGRATIONS"
    demo_step "Create the up/down pair for a new migration (dry run)" \
        python3 "$SKILL/scripts/next_version.py" --dir "$MIGRATIONS" \
        --create add_demo_column --dry-run
    demo_step "Rebuild a table ALTER TABLE cannot change: media_item.release_year NOT NULL (dry run)" \
        python3 "$SKILL/scripts/rebuild_table.py" media_item --dir "$MIGRATIONS" \
        --not-null release_year --fill release_year 0 --create require_release_year --dry-run
    demo_step "Check the example's migrations before they run" \
        python3 "$SKILL/scripts/validate_pairs.py" --dir "$MIGRATIONS"
    demo_step "Replay every migration up, down and up again on a scratch database" \
        python3 "$SKILL/scripts/verify_migrations.py" --dir "$MIGRATIONS"
    demo_step "Generate Go tests for the newest migration (written into the temp copy)" \
        python3 "$SKILL/scripts/make_test_stub.py" --dir "$MIGRATIONS"
    demo_step "What is in the folder (status; with --db it reads a database)" \
        python3 "$SKILL/scripts/status.py" --dir "$MIGRATIONS"
}
# ======================================================================

usage() {
    cat <<'EOF'
Usage: ./install.sh [--project DIR] [--demo] [--dry-run]
       ./install.sh --uninstall [--project DIR] [--dry-run]

Install the migration-writer skill for Claude Code (SKILL.md, references/,
scripts/, examples/). Nothing is downloaded.

Options:
  (none)          install into ${CLAUDE_CONFIG_DIR:-$HOME/.claude}/skills/migration-writer
  --project DIR   install into DIR/.claude/skills/migration-writer instead
  --demo          after installing, run the skill's scripts on a temp copy of
                  the bundled example (the installed copy is not modified)
  --dry-run       print what would be done; write nothing
  --uninstall     remove the files this script installed; files you added stay
  -h, --help      show this help

An existing install that differs from this checkout is moved to
<config>/skill-backups/migration-writer-<UTC time> before the new one goes in.
EOF
}

say_err() { printf 'install.sh: %s\n' "$*" >&2; }

# die STATUS MESSAGE
die() {
    local status=$1
    shift
    say_err "$*"
    exit "$status"
}

usage_error() {
    say_err "$*"
    usage >&2
    exit 2
}

# ---------------------------------------------------------------- checks

check_python() {
    local version major minor
    if ! command -v python3 >/dev/null 2>&1; then
        die 2 "python3 was not found on PATH; the skill's scripts need Python 3.9 or newer."
    fi
    version=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) ||
        version=unknown
    major=${version%%.*}
    minor=${version#*.}
    case "$major.$minor" in
    *[!0-9.]* | .* | *.) die 2 "could not tell the version of python3 ($version); the skill's scripts need Python 3.9 or newer." ;;
    esac
    if [ "$major" -lt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -lt 9 ]; }; then
        die 2 "python3 is version $version, but the skill's scripts need Python 3.9 or newer."
    fi
}

# ------------------------------------------------------------- checksums

pick_hasher() {
    if command -v sha256sum >/dev/null 2>&1; then
        HASHER=sha256sum
    elif command -v shasum >/dev/null 2>&1; then
        HASHER=shasum
    elif command -v python3 >/dev/null 2>&1; then
        HASHER=python3
    else
        die 1 "no SHA-256 tool found (sha256sum, shasum or python3); one is needed to track installed files."
    fi
}

# sha256_of FILE: print the file's SHA-256 in hex.
sha256_of() {
    local out
    case $HASHER in
    sha256sum) out=$(sha256sum <"$1") ;;
    shasum) out=$(shasum -a 256 <"$1") ;;
    python3) out=$(python3 -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())' <"$1") ;;
    esac
    printf '%s\n' "${out%% *}"
}

# listing BASE: read relative file paths on stdin and print one line per file,
# "<sha256> <x|-> <path>", where x marks an executable file. This is both the
# manifest format and what two trees are compared by.
listing() {
    local base=$1 path flag
    while IFS= read -r path; do
        [ -n "$path" ] || continue
        if [ -f "$base/$path" ]; then
            flag=-
            [ -x "$base/$path" ] && flag=x
            printf '%s %s %s\n' "$(sha256_of "$base/$path")" "$flag" "$path"
        else
            # A fifo, dangling symlink or the like: never something install.sh made.
            printf '%s %s %s\n' not-a-regular-file - "$path"
        fi
    done
}

# Caches that running the scripts or their tests creates. Never installed, and
# ignored in an install (the assistant running the installed scripts makes
# __pycache__ there), so they do not make an install look modified.
CACHE_NAMES=(__pycache__ '*.pyc' '*.pyo' .pytest_cache .hypothesis .mypy_cache .ruff_cache)
# Also never installed: version control, databases, editor and OS droppings.
OTHER_EXCLUDED_NAMES=('.git*' '*.db' '*.db-journal' '*.db-wal' '*.db-shm' '*.swp' '*~' .DS_Store)

# prune_expression NAME...: set PRUNE to find arguments that skip these names.
prune_expression() {
    local name
    PRUNE=('(' -name "$1")
    shift
    for name in "$@"; do
        PRUNE+=(-o -name "$name")
    done
    PRUNE+=(')' -prune)
}

# The files a skill install holds, relative to the checkout, sorted.
source_files() {
    local items=() item
    for item in $INSTALL_ITEMS; do
        [ -e "$SRC/$item" ] && items+=("$item")
    done
    [ ${#items[@]} -gt 0 ] || return 0
    prune_expression "${CACHE_NAMES[@]}" "${OTHER_EXCLUDED_NAMES[@]}" "$MANIFEST_NAME"
    (cd "$SRC" && find "${items[@]}" "${PRUNE[@]}" -o \( -type f -o -type l \) -print) | LC_ALL=C sort
}

# Everything in an existing install except its manifest and caches, sorted.
installed_files() {
    prune_expression "${CACHE_NAMES[@]}"
    (cd "$DEST" && find . "${PRUNE[@]}" -o ! -type d ! -path "./$MANIFEST_NAME" -print) |
        sed 's|^\./||' | LC_ALL=C sort
}

manifest_text() {
    printf '# %s install manifest: <sha256> <x = executable> <path>. Used by --uninstall.\n' "$SKILL_NAME"
    printf '%s\n' "$1"
}

# count_lines TEXT
count_lines() {
    if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l | tr -d ' '; fi
}

# differing_paths WANTED CURRENT: one "changed|extra|missing: <path>" line for
# each path whose listing line differs between the checkout and the install.
differing_paths() {
    LC_ALL=C comm -3 <(printf '%s\n' "$1" | LC_ALL=C sort) <(printf '%s\n' "$2" | LC_ALL=C sort) |
        awk '{
            side = (sub(/^\t/, "") ? "install" : "checkout")
            if ($0 == "") next
            sub(/^[^ ]+ [^ ]+ /, "")
            where[$0] = where[$0] " " side
        }
        END {
            for (path in where) {
                if (where[path] ~ /checkout/ && where[path] ~ /install/) label = "changed"
                else if (where[path] ~ /install/) label = "extra"
                else label = "missing"
                print label ": " path
            }
        }' | LC_ALL=C sort
}

# ----------------------------------------------------------------- install

try_it() {
    echo
    if [ -n "$PROJECT" ]; then
        echo "Try it: open Claude Code in $PROJECT and ask, for example:"
    else
        echo "Try it: open Claude Code in a Go project that uses golang-migrate with SQLite and ask:"
    fi
    echo '  "Add a migration that adds a nullable archived_at column to the notes table."'
    if [ "$DEMO" -eq 0 ]; then
        echo "Or watch the scripts work on the bundled example: ./install.sh --demo"
    fi
}

new_backup_path() {
    local stamp path n=1
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    path="$BACKUP_ROOT/$SKILL_NAME-$stamp"
    while [ -e "$path" ]; do
        n=$((n + 1))
        path="$BACKUP_ROOT/$SKILL_NAME-$stamp-$n"
    done
    printf '%s\n' "$path"
}

# first_existing PATH: PATH, or the nearest folder above it that exists.
first_existing() {
    local p=$1
    while [ ! -e "$p" ] && [ ! -L "$p" ] && [ "$p" != / ] && [ "$p" != . ]; do
        p=$(dirname "$p")
    done
    printf '%s\n' "$p"
}

# check_folder_path DIR: DIR can be a folder (nothing on its way is a file).
check_folder_path() {
    local p
    p=$(first_existing "$1")
    if [ ! -d "$p" ]; then
        die 2 "cannot create $1: $p is a file, not a folder; move it away and run install.sh again."
    fi
}

# make_dir DIR: mkdir -p, or one sentence and exit 2.
make_dir() {
    mkdir -p "$1" 2>/dev/null && return 0
    check_folder_path "$1"
    die 2 "cannot create $1: $(first_existing "$1") is not writable (permission denied or read-only); nothing was installed."
}

# process_alive PID: true if a process with that PID runs (also another user's).
process_alive() {
    local err
    err=$(kill -0 "$1" 2>&1) && return 0
    case $err in *ermit*) return 0 ;; esac
    return 1
}

# A killed install leaves its staging folder (.migration-writer-staging.<PID>.XXXXXX)
# behind; remove those whose install.sh no longer runs (or that are a day old).
clean_stale_staging() {
    local dir rest pid
    for dir in "$CONFIG_DIR/.$SKILL_NAME-staging."*; do
        [ -d "$dir" ] && [ ! -L "$dir" ] || continue
        rest=${dir##*/."$SKILL_NAME"-staging.}
        pid=${rest%%.*}
        if [ -z "$(find "$dir" -maxdepth 0 -mmin +1440 2>/dev/null)" ]; then
            case $pid in
            '' | *[!0-9]*)
                # Named before the PID was recorded: stale after an hour.
                [ -n "$(find "$dir" -maxdepth 0 -mmin +60 2>/dev/null)" ] || continue
                ;;
            *) ! process_alive "$pid" || continue ;;
            esac
        fi
        if rm -rf "$dir" 2>/dev/null; then
            echo "Removed $dir (left by an install.sh that was stopped)."
        fi
    done
}

install_skill() {
    local wanted current count changed backup="" path
    [ -f "$SRC/SKILL.md" ] ||
        die 2 "no SKILL.md next to install.sh (in $SRC); run install.sh from a migration-writer checkout."
    check_folder_path "$(dirname "$DEST")"

    wanted=$(source_files | listing "$SRC")
    count=$(count_lines "$wanted")
    [ "$count" -gt 0 ] || die 1 "found nothing to install in $SRC."

    if [ -e "$DEST" ] && [ ! -d "$DEST" ]; then
        die 2 "$DEST exists and is not a folder; move it away and run install.sh again."
    fi
    [ "$DRY_RUN" -eq 1 ] || [ ! -d "$CONFIG_DIR" ] || clean_stale_staging
    if [ -e "$DEST" ] && [ "$(cd -P "$DEST" && pwd)" = "$SRC" ]; then
        die 2 "this checkout is itself the install folder ($DEST); clone it elsewhere and install from there."
    fi

    if [ -d "$DEST" ]; then
        current=$(installed_files | listing "$DEST")
        if [ "$current" = "$wanted" ]; then
            if [ -f "$DEST/$MANIFEST_NAME" ] && [ "$(cat "$DEST/$MANIFEST_NAME")" = "$(manifest_text "$wanted")" ]; then
                echo "Already up to date: $count files in $DEST; nothing changed."
            elif [ "$DRY_RUN" -eq 1 ]; then
                echo "Dry run: $DEST already holds these $count files; would rewrite its manifest."
            else
                { manifest_text "$wanted" >"$DEST/$MANIFEST_NAME"; } 2>/dev/null ||
                    die 2 "cannot write $DEST/$MANIFEST_NAME (permission denied or read-only); nothing was changed."
                echo "Already up to date: $count files in $DEST (rewrote its missing or stale manifest)."
            fi
            return 0
        fi
        changed=$(differing_paths "$wanted" "$current")
        backup=$(new_backup_path)
    fi

    if [ "$DRY_RUN" -eq 1 ]; then
        echo "Dry run: nothing will be written."
        if [ -n "$backup" ]; then
            echo "Would move the existing install (it differs from this checkout) to $backup"
            printf '%s\n' "$changed" | sed 's/^/  /'
        fi
        echo "Would install $count files to $DEST:"
        printf '%s\n' "$wanted" | cut -d' ' -f3- | sed 's/^/  /'
        return 0
    fi

    # Build the new install next to skills/ (not inside it, where a half-copied
    # folder could be loaded as a skill), then move it into place in one step.
    make_dir "$CONFIG_DIR"
    make_dir "$(dirname "$DEST")"
    [ -w "$(dirname "$DEST")" ] ||
        die 2 "cannot write in $(dirname "$DEST") (permission denied or read-only); nothing was installed."
    # The PID in the name lets a later run tell a killed run's leftover from a live one.
    STAGE=$(mktemp -d "$CONFIG_DIR/.$SKILL_NAME-staging.$$.XXXXXX" 2>/dev/null) ||
        die 2 "cannot create a folder in $CONFIG_DIR (permission denied or read-only); nothing was installed."
    chmod "$(umask -S)" "$STAGE"
    while IFS= read -r path; do
        # Plain cp keeps the source's mode bits (minus umask), so scripts stay executable.
        { mkdir -p "$STAGE/$(dirname "$path")" && cp "$SRC/$path" "$STAGE/$path"; } 2>/dev/null ||
            die 2 "cannot copy $path into $CONFIG_DIR (disk full or read-only?); nothing was installed."
    done < <(printf '%s\n' "$wanted" | cut -d' ' -f3-)
    { manifest_text "$wanted" >"$STAGE/$MANIFEST_NAME"; } 2>/dev/null ||
        die 2 "cannot write the manifest into $CONFIG_DIR (disk full or read-only?); nothing was installed."

    if [ -n "$backup" ]; then
        make_dir "$BACKUP_ROOT"
        mv "$DEST" "$backup" 2>/dev/null ||
            die 2 "cannot move the existing install $DEST to $backup (permission denied or read-only); nothing was changed."
        echo "Backed up the previous install (it differed from this checkout) to $backup"
        printf '%s\n' "$changed" | head -n 5 | sed 's/^/  /'
        [ "$(count_lines "$changed")" -le 5 ] || echo "  ... and $(($(count_lines "$changed") - 5)) more"
    fi
    if ! mv "$STAGE" "$DEST" 2>/dev/null; then
        [ -z "$backup" ] || mv "$backup" "$DEST" 2>/dev/null || true
        die 2 "cannot move the new install into $DEST (permission denied or read-only); nothing was changed."
    fi
    STAGE=""
    echo "Installed $count files to $DEST"
}

# --------------------------------------------------------------- uninstall

# True if a manifest path is relative and stays inside the install folder.
safe_relative_path() {
    case "/$1/" in
    // | //* | */../* | */./*) return 1 ;;
    esac
    return 0
}

# remove_file PATH: rm, or one sentence and exit 2.
remove_file() {
    rm -f "$1" 2>/dev/null || die 2 "cannot remove $1 (permission denied or read-only); the rest of the install is still in place."
}

# remove_module_cache PATH: the bytecode Python caches for PATH (a .py file
# in the manifest): __pycache__/<module>.<tag>.pyc next to it.
remove_module_cache() {
    local path=$1 dir stem cache
    case $path in *.py) ;; *) return 0 ;; esac
    dir=$(dirname "$DEST/$path")
    stem=$(basename "$path" .py)
    for cache in "$dir/__pycache__/$stem".cpython-*.pyc "$dir/__pycache__/$stem".pypy*.pyc; do
        if [ -f "$cache" ] && [ ! -L "$cache" ]; then
            remove_file "$cache"
        fi
    done
}

uninstall_skill() {
    local manifest="$DEST/$MANIFEST_NAME" listed hash flag path removed=0 modified="" leftover
    if [ ! -e "$DEST" ]; then
        echo "Nothing to uninstall: $DEST does not exist."
        return 0
    fi
    [ -f "$manifest" ] ||
        die 1 "$DEST has no $MANIFEST_NAME, so install.sh cannot tell which files it installed; nothing was removed."

    # Check every entry before removing anything.
    while read -r hash flag path; do
        case $hash in '' | '#'*) continue ;; esac
        safe_relative_path "$path" || die 1 "$manifest lists an unsafe path ($path); nothing was removed."
        if [ "$DRY_RUN" -eq 0 ] && [ -e "$DEST/$path" ] && [ ! -w "$(dirname "$DEST/$path")" ]; then
            die 2 "cannot remove files from $(dirname "$DEST/$path") (permission denied or read-only); nothing was removed."
        fi
    done <"$manifest"
    # The list of what to remove outlives the manifest, which goes first.
    listed=$(cat "$manifest")

    [ "$DRY_RUN" -eq 0 ] || echo "Dry run: nothing will be removed."
    while read -r hash flag path; do
        case $hash in '' | '#'*) continue ;; esac
        [ -f "$DEST/$path" ] || continue
        if [ "$(sha256_of "$DEST/$path")" != "$hash" ]; then
            modified="$modified  $path"$'\n'
            continue
        fi
        if [ "$DRY_RUN" -eq 1 ]; then
            echo "Would remove $path"
        else
            remove_file "$DEST/$path"
        fi
        removed=$((removed + 1))
    done <"$manifest"

    if [ "$DRY_RUN" -eq 1 ]; then
        echo "Would remove $removed files and the manifest from $DEST"
    else
        remove_file "$manifest"
        # Running an installed module leaves its bytecode next to it; that
        # goes too. Nothing else does: a file that only looks like a cache
        # may be the user's.
        while read -r hash flag path; do
            case $hash in '' | '#'*) continue ;; esac
            remove_module_cache "$path"
        done <<<"$listed"
        find "$DEST" -depth -type d -empty -delete 2>/dev/null || true
        echo "Removed $removed files from $DEST"
    fi
    if [ -n "$modified" ]; then
        echo "Kept these files because they changed since install.sh installed them:"
        printf '%s' "$modified"
    fi
    if [ "$DRY_RUN" -eq 0 ] && [ -d "$DEST" ]; then
        leftover=$(cd "$DEST" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort)
        echo "Left $DEST in place; it still holds files install.sh did not install or that changed:"
        printf '%s\n' "$leftover" | sed 's/^/  /'
    elif [ "$DRY_RUN" -eq 0 ]; then
        echo "Removed the folder $DEST"
    fi
}

# -------------------------------------------------------------------- demo

# demo_step DESCRIPTION COMMAND...: run one demo command; stop the demo if it fails.
demo_step() {
    local what=$1 status
    shift
    printf '\n== %s\n$ %s\n' "$what" "$*"
    "$@" || {
        status=$?
        die 1 "demo step failed (exit $status): $what: $*"
    }
}

run_demo() {
    DEMO_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$SKILL_NAME-demo.XXXXXX")
    [ -d "$DEST/examples" ] || die 1 "the install has no examples/ folder to run the demo on."
    cp -R "$DEST/examples" "$DEMO_TMP/examples"
    echo
    echo "Demo: running the skill's scripts on a temp copy of the installed examples/ in $DEMO_TMP"
    (
        cd "$DEMO_TMP"
        SKILL=$DEST
        MIGRATIONS=examples/pkg/storage/sqlite/migrations
        [ -d "$MIGRATIONS" ] || die 1 "the installed examples/ has no $MIGRATIONS folder."
        demo_steps
    )
    echo
    echo "Demo finished: every step succeeded; the installed copy in $DEST was not touched."
}

cleanup() {
    [ -z "${STAGE:-}" ] || rm -rf "$STAGE"
    [ -z "${DEMO_TMP:-}" ] || rm -rf "$DEMO_TMP"
}

# -------------------------------------------------------------------- main

main() {
    PROJECT=""
    DRY_RUN=0
    UNINSTALL=0
    DEMO=0
    STAGE=""
    DEMO_TMP=""
    while [ $# -gt 0 ]; do
        case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --project)
            if [ $# -lt 2 ] || [ -z "$2" ]; then
                usage_error "--project needs a folder, e.g. --project ~/code/myapp."
            fi
            PROJECT=$2
            shift
            ;;
        --project=*)
            PROJECT=${1#--project=}
            [ -n "$PROJECT" ] || usage_error "--project needs a folder, e.g. --project ~/code/myapp."
            ;;
        --dry-run) DRY_RUN=1 ;;
        --uninstall) UNINSTALL=1 ;;
        --demo) DEMO=1 ;;
        *) usage_error "unknown option '$1'." ;;
        esac
        shift
    done
    if [ "$UNINSTALL" -eq 1 ] && [ "$DEMO" -eq 1 ]; then
        usage_error "--demo cannot be combined with --uninstall."
    fi

    SRC=$(cd -P "$(dirname "$0")" && pwd)
    if [ -n "$PROJECT" ]; then
        [ -d "$PROJECT" ] || die 2 "the project folder $PROJECT does not exist."
        PROJECT=$(cd -P "$PROJECT" && pwd)
        CONFIG_DIR="$PROJECT/.claude"
    elif [ -n "${CLAUDE_CONFIG_DIR:-}" ]; then
        CONFIG_DIR=$CLAUDE_CONFIG_DIR
        # The demo runs in a temp folder: a relative path must not change meaning.
        case $CONFIG_DIR in /*) ;; *) CONFIG_DIR="$PWD/$CONFIG_DIR" ;; esac
    else
        [ -n "${HOME:-}" ] || die 2 "HOME is not set; set HOME or CLAUDE_CONFIG_DIR, or use --project DIR."
        CONFIG_DIR="$HOME/.claude"
    fi
    DEST="$CONFIG_DIR/skills/$SKILL_NAME"
    # Backups live outside skills/: a copy in there would load as a second skill.
    BACKUP_ROOT="$CONFIG_DIR/skill-backups"

    trap cleanup EXIT
    pick_hasher
    if [ "$UNINSTALL" -eq 1 ]; then
        uninstall_skill
        return 0
    fi

    check_python
    install_skill
    if [ "$DRY_RUN" -eq 1 ]; then
        [ "$DEMO" -eq 0 ] || echo "Would then run the demo on a temp copy of $DEST/examples"
        return 0
    fi
    [ "$DEMO" -eq 0 ] || run_demo
    try_it
}

main "$@"
