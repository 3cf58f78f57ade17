#!/usr/bin/env python3
"""Benchmark: `verify_migrations.py --new` checking one new pair on a
100-version chain, next to `python3 -c pass` measured in the same run.

Target (issue 14): at most 2.5x the bare interpreter start-up.

The chain and the two projects are bench/validate_new.py's: the 96 shipped
versions of tests/fixtures/shipped_history.py committed on `main` (eleven
of their ups fail on a scratch database: a BEGIN in a wrapped file, a SQL
function the app registers), a clean new pair untracked on top; "bare
folder" (no Go source: foreign-key enforcement unknown, so the new pair is
replayed twice, off and on, from one copy of the shipped state with its
synthetic rows) and "Go module" (the same migrations in a copy of examples/,
facts read from the Go source, one replay). `--new` applies the shipped ups
once (no synthetic rows, no downs), seeds the synthetic rows, then runs the
new version up, down and up again with every check.

Each command runs from its project root as the assistant runs it, with the
interpreter itself and, given `--launcher "$(command -v python3)"`, with the
`python3` the assistant types (a pyenv shim here), each against its own
`-c pass`; warm (bytecode cache) and cold (PYTHONDONTWRITEBYTECODE). The
commands take turns; medians.

    python3 bench/verify_new.py [--runs 21] [--launcher "$(command -v python3)"]
"""

from __future__ import annotations

from validate_new import measure_new_check


def main() -> None:
    measure_new_check("verify_migrations.py",
                      lambda out: ": new version 101 ok: up, down, up again" in out.splitlines()[0], __doc__)


if __name__ == "__main__":
    main()
