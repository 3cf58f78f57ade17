"""lint_folder: read a migrations folder, run it on a scratch database, apply
every registered rule, then suppressions and filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from ..errors import FileReadError
from ..folder import MigrationFolder, go_sort_key, printable, read_sql, scan_folder
from ..project import read_project_facts
from ..sqltext import split_statements
from . import suppress
from .analysis import Analysis, FileAnalysis, ShippedFailure, analyze
from .context import Context, FileCheck, LintOptions, Settings
from .registry import ERROR, FOLDER, INFO, WARNING, Hit, Rule, sorted_rules

MAX_SIDE_FILE_BYTES = 1024 * 1024  # non-migration files are read only for suppressions


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    severity: str
    file: str  # name inside the folder
    line: int
    col: int
    message: str
    hint: str = ""
    sql: str = ""  # suggested SQL, verbatim (real newlines)

    def as_dict(self, path: str) -> dict:
        out = {
            "code": self.code,
            "severity": self.severity,
            "path": path,
            "line": self.line,
            "col": self.col,
            "message": self.message,
            "hint": self.hint,
        }
        if self.sql:
            out["sql"] = self.sql
        return out

    def item(self, path: str):
        """The finding as a mwcore.report.Item (grouped output)."""
        from ..report import Item

        return Item(self.code, self.severity, self.message, self.hint, path, self.line, self.col, self.sql)


@dataclass
class LintResult:
    folder: MigrationFolder
    settings: Settings
    findings: List[Finding] = field(default_factory=list)
    suppressed: int = 0
    files: int = 0
    referenced_drop: bool = False
    both_ways: bool = False  # checked with foreign keys off and on (the project cannot tell)
    shipped_failures: List[ShippedFailure] = field(default_factory=list)  # NEW mode: building the state
    checked_files: int = 0  # files the rules judged (all of them unless the scope is NEW)
    up_only: bool = False  # the folder keeps no down files (MW003 is not asked)

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def errors(self) -> int:
        return self.count(ERROR)

    @property
    def warnings(self) -> int:
        return self.count(WARNING)

    @property
    def infos(self) -> int:
        return self.count(INFO)


def resolve_settings(directory: Path, options: LintOptions) -> Settings:
    fk, fk_known, fk_source = options.foreign_keys, True, options.foreign_keys_source or "given on the command line"
    wrap, wrap_source = options.no_tx_wrap, "given on the command line"
    facts = options.project if options.project is not None else read_project_facts(directory)
    table = facts.migrations_table
    if fk is None:
        if facts.foreign_keys is None:
            fk, fk_known = False, False
            fk_source = f"unknown: {facts.foreign_keys_evidence}; pass --foreign-keys on|off"
        else:
            fk, fk_source = facts.foreign_keys, facts.foreign_keys_evidence
    if wrap is None:
        wrap, wrap_source = bool(facts.no_tx_wrap), facts.tx_wrap_evidence
    return Settings(bool(fk), fk_source, fk_known, bool(wrap), wrap_source, table)


def read_cached(path: Path, cache: Optional[dict]):
    """read_sql(path), or the FileReadError it raises, remembered in `cache`
    (by path) when one is given: the runs of one folder read each file once."""
    if cache is not None and path in cache:
        found = cache[path]
    else:
        try:
            found = read_sql(path)
        except FileReadError as exc:
            found = exc
        if cache is not None:
            cache[path] = found
    if isinstance(found, FileReadError):
        raise found
    return found


def _read(folder: MigrationFolder, options: LintOptions) -> Analysis:
    analysis = Analysis()
    built = (options.prefix or {}).get("files", {})  # shipped ups whose state a memo holds
    for migration in folder.migrations:
        checked = options.checks(migration.version)
        for migration_file in migration.files:
            if not checked and migration_file is not migration.up:
                continue  # a shipped down never runs
            fa = FileAnalysis(migration_file, migration, folder.file_path(migration_file))
            analysis.files[migration_file.name] = fa
            if not checked and migration_file.name in built:
                continue  # not read: the run starts from the memo's copy of its state
            try:
                sql = read_cached(fa.path, options.read_cache)
            except FileReadError as exc:
                fa.read_error = exc.reason
            else:
                fa.set_text(sql.text, sql.has_bom)
    return analysis


def lint_folder(directory: Path, options: Optional[LintOptions] = None) -> LintResult:
    """Lint the migrations folder `directory`. Raises FolderError if it cannot be listed."""
    options = options or LintOptions()
    folder = scan_folder(directory, options.ext)
    settings = resolve_settings(Path(directory), options)
    analysis = _read(folder, options)
    functions = options.sql_functions or tuple(getattr(options.project, "sql_functions", ()) or ())
    analyze(folder, analysis, foreign_keys=settings.foreign_keys, migrations_table=settings.migrations_table,
            verify=options.verify, sql_functions=functions, checked=options.checks if options.scope else None,
            prefix=options.prefix)
    ctx = Context(folder, options, settings, analysis)
    judged = [fa for fa in analysis.files.values() if not fa.applied_only]

    raw: List[Finding] = []
    directives: Dict[str, suppress.Directives] = {}
    for fa in judged:
        if fa.text is not None:
            directives[fa.name] = suppress.parse(fa.text, fa.statements)
    rules = sorted_rules()
    for rule in rules:
        if rule.scope == FOLDER:
            raw.extend(f for f in _findings(rule, rule.check(ctx), None) if _judged(options, f.file))
    file_rules = [rule for rule in rules if rule.scope != FOLDER]
    for fa in judged:
        check = FileCheck(ctx, fa, directives.get(fa.name))
        for rule in file_rules:
            raw.extend(_findings(rule, rule.check(check), fa.name))

    result = LintResult(folder, settings, files=len(folder.all_files()), referenced_drop=analysis.referenced_drop,
                        shipped_failures=list(analysis.shipped_failures), checked_files=len(judged),
                        up_only=ctx.up_only and not options.require_down)
    for finding in raw:
        if finding.file not in directives and finding.file not in analysis.files:
            directives[finding.file] = _side_directives(folder, finding.file)
        found = directives.get(finding.file)
        if found is not None and found.covers(finding.code, finding.line):
            result.suppressed += 1
            continue
        if options.select is not None and finding.code not in options.select:
            continue
        if finding.code in options.ignore:
            continue
        if options.only is not None and finding.file not in options.only:
            continue
        result.findings.append(finding)
    order = {name: index for index, name in enumerate(sorted(set(f.file for f in result.findings), key=go_sort_key))}
    result.findings.sort(key=lambda f: (order[f.file], f.line, f.col, f.code))
    return result


def _judged(options: LintOptions, name: str) -> bool:
    """A folder rule's finding counts unless it is about a shipped version
    that the scope only applies."""
    return options.scope is None or options.scope.checks_name(name)  # type: ignore[attr-defined]


def _findings(rule: Rule, hits, default_file: Optional[str]) -> List[Finding]:
    out = []
    for hit in hits or ():
        assert isinstance(hit, Hit), f"{rule.code} yielded {hit!r}"
        file_name = hit.file or default_file
        assert file_name is not None, f"{rule.code}: a folder rule must name the file"
        # SQLite's messages may quote SQL with newlines: a finding stays one line.
        out.append(Finding(rule.code, rule.name, hit.severity or rule.severity, file_name,
                           max(1, hit.line), max(1, hit.col), printable(hit.message), printable(hit.hint),
                           printable_sql(hit.sql)))
    return out


def printable_sql(sql: str) -> str:
    """Suggested SQL as it can be pasted: newlines and tabs stay, other
    control characters (never in SQL worth suggesting) become escapes."""
    if not sql:
        return ""
    lines = sql.replace("\r\n", "\n").split("\n")
    return "\n".join("\t".join(printable(part) for part in line.split("\t")) for line in lines)


def _side_directives(folder: MigrationFolder, name: str) -> Optional[suppress.Directives]:
    """Suppressions in a file that is not a migration (a near-miss name)."""
    path = folder.path / name
    try:
        if path.stat().st_size > MAX_SIDE_FILE_BYTES:
            return None
        text = read_sql(path).text
    except (FileReadError, OSError):
        return None
    return suppress.parse(text, split_statements(text))
