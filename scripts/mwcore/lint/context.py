"""What rules receive: the folder, the project settings, the analysis."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

from ..folder import DOWN, UP, Migration, MigrationFile, MigrationFolder, printable
from ..sqltext import Statement, tokens
from .analysis import Analysis, FileAnalysis, StatementFact
from .registry import Hit
from .shapes import Shapes
from .tracker import Obj
from .suppress import Directives


@dataclass
class LintOptions:
    ext: str = "sql"
    allow_missing_down: bool = False
    require_down: bool = False  # MW003 even in an up-only folder
    foreign_keys: Optional[bool] = None  # None: read from the Go project
    foreign_keys_source: Optional[str] = None  # why `foreign_keys` is set (default: the command line)
    no_tx_wrap: Optional[bool] = None  # None: read from the Go project
    select: Optional[Set[str]] = None  # None: every rule
    ignore: Set[str] = field(default_factory=set)
    only: Optional[Set[str]] = None  # report only on these file names
    verify: bool = False  # re-check the schema mirror after every change (tests)
    project: Optional[object] = None  # project.ProjectFacts; None: read from the Go project
    sql_functions: tuple = ()  # stand-ins for the app's SQL functions (default: the project's)
    scope: Optional[object] = None  # mwcore.scope.Scope; in its NEW mode only new versions are checked
    # A memo shared by the runs of one folder (foreign keys off, then on): the
    # state after the shipped ups is built once (mwcore.lint.analysis).
    prefix: Optional[dict] = None
    read_cache: Optional[dict] = None  # path -> SqlText or FileReadError, shared by the runs of one folder

    def checks(self, version: int) -> bool:
        """Whether rules judge this version (False: shipped, only applied)."""
        return self.scope is None or self.scope.checks(version)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Settings:
    """How golang-migrate runs in this project, and where that came from."""

    foreign_keys: bool
    foreign_keys_source: str
    foreign_keys_known: bool  # False: nothing told us; OFF is assumed
    no_tx_wrap: bool
    no_tx_wrap_source: str
    migrations_table: str = "schema_migrations"

    def foreign_keys_text(self) -> str:
        state = "on" if self.foreign_keys else "off"
        verb = "" if self.foreign_keys_known else "assumed "
        return f"foreign keys {verb}{state} ({self.foreign_keys_source})"

    def wrap_text(self) -> str:
        if self.no_tx_wrap:
            return f"x-no-tx-wrap=true: files run without golang-migrate's transaction ({self.no_tx_wrap_source})"
        return f"each file runs in golang-migrate's transaction ({self.no_tx_wrap_source})"


class Context:
    """Passed to folder rules; file rules reach it as `FileCheck.ctx`."""

    def __init__(self, folder: MigrationFolder, options: LintOptions, settings: Settings, analysis: Analysis) -> None:
        self.folder = folder
        self.options = options
        self.settings = settings
        self.analysis = analysis
        self.shapes = Shapes(analysis.columns)
        self._embeds: Optional[dict] = None
        self.embed_root: Optional[Path] = None  # Go file paths in messages are relative to it
        self._hooks: Optional[Dict[int, str]] = None
        scope = options.scope
        # The versions that tell the folder's convention: the shipped ones
        # when there are enough of them, else all.
        shipped = getattr(scope, "shipped", None) or ()
        from ..folder import is_up_only

        self.up_only = is_up_only(folder, shipped if len(shipped) >= 2 else None)
        # No MW003 in an up-only folder (unless --require-down) or with --allow-missing-down.
        self.downs_optional = options.allow_missing_down or (self.up_only and not options.require_down)

    @property
    def embeds(self) -> dict:
        """{file name: EmbedUse} for the folder's files some //go:embed takes in."""
        if self._embeds is None:
            from ..goembed import folder_embeds
            from ..project import find_module_root

            root = find_module_root(self.folder.path)
            self.embed_root = root or self.folder.path.resolve().parent
            self._embeds = folder_embeds(self.folder.path, self.folder.names, root)
        return self._embeds

    def is_new(self, version: int) -> bool:
        """Whether the scope counts this version as new (no scope: every one)."""
        scope = self.options.scope
        return scope is None or scope.is_new(version)  # type: ignore[attr-defined]

    def judged(self, name: str) -> bool:
        """Whether findings about this file name count (--new: not a shipped file's)."""
        scope = self.options.scope
        return scope is None or scope.checks_name(name)  # type: ignore[attr-defined]

    def go_hook(self, version: int) -> Optional[str]:
        """Where Go code runs at this version (file:line), read once per run
        for every comment-only up (mwcore.gohooks)."""
        if self._hooks is None:
            from ..gohooks import hook_versions
            from ..project import find_module_root

            empty = [m.version for m in self.folder.migrations
                     if (fa := self.file(m.up)) is not None and fa.readable and not fa.statements]
            root = getattr(self.options.project, "module_root", None) or find_module_root(self.folder.path)
            self._hooks = hook_versions(self.folder.path, root, empty) if empty else {}
        return self._hooks.get(version)

    def file(self, migration_file: Optional[MigrationFile]) -> Optional[FileAnalysis]:
        return self.analysis.get(migration_file)

    def ups(self) -> List[FileAnalysis]:
        out = []
        for migration in self.folder.migrations:
            fa = self.file(migration.up)
            if fa is not None:
                out.append(fa)
        return out

    def schema_before(self, fa: FileAnalysis) -> Dict[Tuple[bool, str], Obj]:
        """The schema objects when `fa` starts, as the scratch run had them: the
        net changes (deltas) of the ups before it (an up) or through its own up
        (a down), applied in order. Built on demand: few rules need it."""
        objects: Dict[Tuple[bool, str], Obj] = {}
        for migration in self.folder.migrations:
            if migration is fa.migration and fa.direction == UP:
                break
            up = self.file(migration.up)
            if up is not None:
                for key, (_before, after) in up.delta.items():
                    if after is None:
                        objects.pop(key, None)
                    else:
                        objects[key] = after
            if migration is fa.migration:
                break
        return objects

    def pair_name(self, migration: Migration, direction: str) -> str:
        existing = migration.file(direction)
        if existing is not None:
            return existing.name
        other = migration.files[0]
        return f"{other.version_text}_{other.description}.{direction}.{other.ext}"


class FileCheck:
    """One migration file as a rule sees it."""

    def __init__(self, ctx: Context, fa: FileAnalysis, directives: Optional[Directives] = None) -> None:
        self.ctx = ctx
        self.fa = fa
        self.directives = directives  # its suppression comments

    # -- the file ------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.fa.name

    @property
    def is_up(self) -> bool:
        return self.fa.direction == UP

    @property
    def is_down(self) -> bool:
        return self.fa.direction == DOWN

    @property
    def statements(self) -> List[Statement]:
        return self.fa.statements

    @property
    def wrapped(self) -> bool:
        return not self.ctx.settings.no_tx_wrap

    def keyword(self, index: int) -> str:
        return self.fa.keywords[index]

    def indexes_of(self, *keywords: str) -> Iterator[int]:
        for index, keyword in enumerate(self.fa.keywords):
            if keyword in keywords:
                yield index

    def words(self, index: int, limit: int = 12) -> List[str]:
        """The statement's first words/identifiers, upper-cased keywords."""
        out = []
        for kind, text in tokens(self.fa.statements[index].sql):
            out.append(text.upper() if kind == "word" else text)
            if len(out) >= limit:
                break
        return out

    def failed(self, index: int) -> bool:
        """The statement failed on the scratch database (MW1xx/MW3xx report it)."""
        fact = self.fa.facts.get(index)
        return fact is not None and fact.error is not None

    def facts(self) -> List[StatementFact]:
        return [self.fa.facts[i] for i in sorted(self.fa.facts)]

    def other(self) -> Optional[FileAnalysis]:
        """The other direction's file of the same version."""
        migration = self.fa.migration
        return self.ctx.file(migration.down if self.is_up else migration.up)

    # -- hits ----------------------------------------------------------------------
    def at(self, index: int, message: str, hint: str = "", severity: Optional[str] = None, sql: str = "") -> Hit:
        statement = self.fa.statements[index]
        col = statement.col - 1 if self.fa.has_bom and statement.line == 1 and statement.col > 1 else statement.col
        return Hit(message, hint, statement.line, col, severity=severity, sql=sql)

    def at_top(self, message: str, hint: str = "", severity: Optional[str] = None, sql: str = "") -> Hit:
        if self.fa.statements:
            return self.at(0, message, hint, severity, sql)
        return Hit(message, hint, 1, 1, severity=severity, sql=sql)


def excerpt(sql: Optional[str], limit: int = 160) -> str:
    """One line of SQL for a message or hint."""
    if not sql:
        return ""
    flat = " ".join(sql.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def statement_sql(objects) -> str:
    """The CREATE statements of `objects` as SQL to paste: each as stored
    (its own line breaks kept), ending with ';'."""
    return "\n".join(o.sql.strip().rstrip(";") + ";" for o in objects if o.sql)


def name_list(names: List[str], limit: int = 4) -> str:
    shown = [printable(n) for n in names[:limit]]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")

