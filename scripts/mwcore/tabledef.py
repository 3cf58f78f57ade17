"""A CREATE TABLE statement cut into the parts a table rebuild edits.

SQLite keeps a table's definition as the text of its CREATE TABLE
(`sqlite_master.sql`). The PRAGMAs tell columns, types, NOT NULL, defaults and
foreign keys, but not CHECK expressions, COLLATE, generated-column
expressions, AUTOINCREMENT or conflict clauses, and a rebuild must keep all of
them. So the stored text is cut at SQLite's own token boundaries
(`sqltext.token_spans`) into column definitions and table constraints, each
keeping its original text; an edit replaces whole parts and untouched parts are
copied verbatim. Whether an edited definition is right is not decided here:
`rebuild.py` creates it on SQLite and reads the PRAGMAs back.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import FrozenSet, List, Optional, Sequence, Tuple

from .errors import MigrationWriterError, UsageError
from .sqltext import quote_identifier as q
from .sqltext import token_spans, unquote_identifier

# Words that start a column constraint (SQLite's `column-constraint`).
_COLUMN_STARTERS = {"CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT", "COLLATE", "REFERENCES", "GENERATED", "AS"}
_TABLE_STARTERS = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}
_CLAUSE_KIND = {
    "PRIMARY": "primary", "NOT": "notnull", "NULL": "null", "UNIQUE": "unique", "CHECK": "check",
    "DEFAULT": "default", "COLLATE": "collate", "REFERENCES": "references", "GENERATED": "generated", "AS": "generated",
}
_LITERAL_WORDS = {"NULL", "TRUE", "FALSE", "CURRENT_TIME", "CURRENT_DATE", "CURRENT_TIMESTAMP"}
ON_DELETE_ACTIONS = ("CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT", "NO ACTION")


class TableDefError(MigrationWriterError):
    """The stored CREATE TABLE has a shape this module does not understand."""


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int
    end: int

    @property
    def word(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    @property
    def name(self) -> Optional[str]:
        """The identifier this token denotes ('x', "x", [x], `x` or x)."""
        if self.kind in ("word", "ident"):
            return unquote_identifier(self.text)
        if self.kind == "string" and self.text.startswith("'"):
            return self.text[1:-1].replace("''", "'")
        return None


def _tokens(sql: str) -> List[Token]:
    return [Token(*span) for span in token_spans(sql)]


def _names_used(tokens: Sequence[Token]) -> FrozenSet[str]:
    """Lower-cased identifiers an expression mentions (function names excluded)."""
    out = set()
    for index, token in enumerate(tokens):
        if token.kind not in ("word", "ident"):
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if following is not None and following.text == "(" and token.kind == "word":
            continue
        out.add(unquote_identifier(token.text).lower())
    return frozenset(out)


def _matching(tokens: Sequence[Token], open_index: int) -> int:
    depth = 0
    for index in range(open_index, len(tokens)):
        if tokens[index].text == "(":
            depth += 1
        elif tokens[index].text == ")":
            depth -= 1
            if depth == 0:
                return index
    raise TableDefError("unbalanced parentheses")


def _split_commas(tokens: Sequence[Token]) -> List[List[Token]]:
    items: List[List[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        if token.text == "," and depth == 0:
            items.append([])
        else:
            items[-1].append(token)
    return [item for item in items if item]


@dataclass
class Clause:
    """One column constraint, as written (`NOT NULL`, `DEFAULT 0`, ...)."""

    kind: str  # primary notnull null unique check default collate references generated
    text: str
    names: FrozenSet[str] = frozenset()  # identifiers its expression mentions
    target: Optional[str] = None  # references: the parent table
    autoincrement: bool = False

    @property
    def default_expression(self) -> Optional[str]:
        """For a DEFAULT clause: the value as an SQL expression."""
        if self.kind != "default":
            return None
        tokens = _tokens(self.text)
        index = next(i for i, t in enumerate(tokens) if t.word == "DEFAULT")
        return self.text[tokens[index + 1].start:tokens[-1].end]


@dataclass
class ColumnDef:
    name: str
    type_text: str
    clauses: List[Clause]
    source: Optional[str]  # the definition as written; None once edited
    name_text: str = ""  # the name as written (quoted or not)
    gap: str = " "  # the spaces between name and type as written (keeps alignment)

    def render(self) -> str:
        if self.source is not None:
            return self.source
        parts = [(self.name_text or q(self.name)) + (self.gap if self.type_text else "") + self.type_text]
        parts.extend(c.text for c in self.clauses)
        return " ".join(parts)

    def has(self, kind: str) -> bool:
        return any(c.kind == kind for c in self.clauses)

    def clause(self, kind: str) -> Optional[Clause]:
        return next((c for c in self.clauses if c.kind == kind), None)

    @property
    def generated(self) -> bool:
        return self.has("generated")

    def edited(self) -> "ColumnDef":
        self.source = None
        return self


@dataclass
class TableConstraint:
    kind: str  # primary unique check foreign
    text: str
    columns: Tuple[str, ...] = ()  # primary/unique/foreign: the columns it lists
    names: FrozenSet[str] = frozenset()  # check: identifiers mentioned
    target: Optional[str] = None  # foreign: the parent table

    def mentions(self, column: str) -> bool:
        lower = column.lower()
        return lower in (c.lower() for c in self.columns) or lower in self.names


@dataclass
class TableDef:
    name: str
    columns: List[ColumnDef]
    constraints: List[TableConstraint]
    options: str = ""  # what follows the closing parenthesis: WITHOUT ROWID, STRICT

    def column(self, name: str) -> Optional[ColumnDef]:
        lower = name.lower()
        return next((c for c in self.columns if c.name.lower() == lower), None)

    def column_names(self) -> List[str]:
        return [c.name for c in self.columns]

    @property
    def without_rowid(self) -> bool:
        words = [t.word for t in _tokens(self.options)]
        return any(a == "WITHOUT" and b == "ROWID" for a, b in zip(words, words[1:]))

    @property
    def autoincrement(self) -> bool:
        return any(cl.autoincrement for c in self.columns for cl in c.clauses)

    def render(self, name: str) -> str:
        """The CREATE TABLE statement for this definition under `name`
        (without ';'). References to the table itself keep its own name."""
        items = [c.render() for c in self.columns] + [c.text for c in self.constraints]
        body = ",\n    ".join(items)
        options = f" {self.options}" if self.options else ""
        return f"CREATE TABLE {q(name)} (\n    {body}\n){options}"

    def clone(self) -> "TableDef":
        return copy.deepcopy(self)


def parse_create_table(sql: str) -> TableDef:
    """Cut a stored CREATE TABLE into columns, constraints and options."""
    tokens = _tokens(sql)
    words = [t.word for t in tokens]
    i = 0
    if words[:1] != ["CREATE"]:
        raise TableDefError("not a CREATE TABLE statement")
    i = 1
    if i < len(words) and words[i] in ("TEMP", "TEMPORARY"):
        i += 1
    if i >= len(words) or words[i] != "TABLE":
        raise TableDefError("only ordinary tables can be rebuilt (this is a virtual table or not a table)")
    i += 1
    if words[i:i + 3] == ["IF", "NOT", "EXISTS"]:
        i += 3
    if i + 1 < len(tokens) and tokens[i + 1].text == ".":
        i += 2
    name_token = tokens[i]
    name = name_token.name
    if name is None:
        raise TableDefError("no table name")
    i += 1
    if i >= len(tokens) or tokens[i].text != "(":
        raise TableDefError("no column list")
    close = _matching(tokens, i)
    rest = [t for t in tokens[close + 1:] if t.text != ";"]
    options = sql[rest[0].start:rest[-1].end] if rest else ""
    columns: List[ColumnDef] = []
    constraints: List[TableConstraint] = []
    for item in _split_commas(tokens[i + 1:close]):
        text = sql[item[0].start:item[-1].end]
        if item[0].word in _TABLE_STARTERS:
            constraints.append(_table_constraint(sql, item, text))
        else:
            columns.append(_column(sql, item, text))
    if not columns:
        raise TableDefError("no columns")
    return TableDef(name, columns, constraints, options)


def _column(sql: str, tokens: List[Token], text: str) -> ColumnDef:
    name = tokens[0].name
    if name is None:
        raise TableDefError(f"cannot read the column name in {text!r}")
    j = _scan(tokens, 1, lambda k: tokens[k].word in _COLUMN_STARTERS)
    type_text = sql[tokens[1].start:tokens[j - 1].end] if j > 1 else ""
    clauses: List[Clause] = []
    while j < len(tokens):
        start = j
        if tokens[j].word == "CONSTRAINT":
            j += 2
        if j >= len(tokens) or tokens[j].word not in _CLAUSE_KIND:
            raise TableDefError(f"cannot read the constraints of column {name!r}")
        keyword_at = j
        kind = _CLAUSE_KIND[tokens[j].word]
        j += 1
        if kind == "default":
            if j >= len(tokens):
                raise TableDefError(f"DEFAULT without a value in column {name!r}")
            if tokens[j].text == "(":
                j = _matching(tokens, j) + 1
            elif tokens[j].text in ("+", "-"):
                j += 2
            else:
                j += 1
        else:
            j = _scan(tokens, j, lambda k: tokens[k].word in _COLUMN_STARTERS and not _continues(kind, tokens, k, keyword_at))
        part = tokens[start:j]
        clause_text = sql[part[0].start:part[-1].end]
        target = None
        if kind == "references":
            ref = next(k for k, t in enumerate(part) if t.word == "REFERENCES")
            target = part[ref + 1].name if ref + 1 < len(part) else None
        names = _names_used(part[1:]) if kind in ("check", "generated", "default") else frozenset()
        autoinc = kind == "primary" and any(t.word == "AUTOINCREMENT" for t in part)
        clauses.append(Clause(kind, clause_text, names, target, autoinc))
    gap = sql[tokens[0].end:tokens[1].start] if len(tokens) > 1 else " "
    if not gap.strip(" ") == "" or not gap:
        gap = " "
    return ColumnDef(name, type_text, clauses, text, tokens[0].text, gap)


def _scan(tokens: Sequence[Token], j: int, stop) -> int:
    """The index of the first token from j, outside parentheses, where stop(index)
    holds; len(tokens) when there is none."""
    depth = 0
    while j < len(tokens):
        if tokens[j].text == "(":
            depth += 1
        elif tokens[j].text == ")":
            depth -= 1
        elif depth == 0 and stop(j):
            break
        j += 1
    return j


def _continues(kind: str, tokens: Sequence[Token], j: int, keyword_at: int) -> bool:
    """Whether a constraint keyword at j belongs to the clause whose keyword is at keyword_at."""
    word = tokens[j].word
    previous = tokens[j - 1].word
    following = tokens[j + 1].word if j + 1 < len(tokens) else ""
    if kind == "notnull" and word == "NULL" and previous == "NOT":
        return True
    if kind == "references":
        if word in ("NULL", "DEFAULT") and previous == "SET":
            return True
        if word == "NOT" and following == "DEFERRABLE":
            return True
    if kind == "generated" and word == "AS" and not any(t.word == "AS" for t in tokens[keyword_at:j]):
        return True
    return False


def _table_constraint(sql: str, tokens: List[Token], text: str) -> TableConstraint:
    k = 2 if tokens[0].word == "CONSTRAINT" else 0
    keyword = tokens[k].word if k < len(tokens) else ""
    kinds = {"PRIMARY": "primary", "UNIQUE": "unique", "CHECK": "check", "FOREIGN": "foreign"}
    if keyword not in kinds:
        raise TableDefError(f"cannot read the table constraint {text!r}")
    kind = kinds[keyword]
    if kind == "check":
        return TableConstraint(kind, text, names=_names_used(tokens[k + 1:]))
    open_index = next((n for n in range(k, len(tokens)) if tokens[n].text == "("), None)
    if open_index is None:
        raise TableDefError(f"cannot read the columns of {text!r}")
    close = _matching(tokens, open_index)
    columns = []
    for item in _split_commas(tokens[open_index + 1:close]):
        column = item[0].name
        if column is None:
            raise TableDefError(f"cannot read the columns of {text!r}")
        columns.append(column)
    target = None
    if kind == "foreign":
        ref = next((n for n in range(close, len(tokens)) if tokens[n].word == "REFERENCES"), None)
        if ref is None or ref + 1 >= len(tokens):
            raise TableDefError(f"cannot read the parent table of {text!r}")
        target = tokens[ref + 1].name
    return TableConstraint(kind, text, tuple(columns), target=target)


def retarget_self_references(sql: str, table: str, new_name: str) -> str:
    """Point `REFERENCES table` in a CREATE TABLE text at `new_name`."""
    out, last = [], 0
    tokens = _tokens(sql)
    for index, token in enumerate(tokens[1:], start=1):
        if tokens[index - 1].word == "REFERENCES" and (token.name or "").lower() == table.lower():
            out.append(sql[last:token.start])
            out.append(q(new_name))
            last = token.end
    out.append(sql[last:])
    return "".join(out)


def mentions_name(sql: str, names: Sequence[str]) -> bool:
    """Whether any identifier token of `sql` is one of `names` (any case)."""
    wanted = {n.lower() for n in names}
    return any((t.name or "").lower() in wanted for t in _tokens(sql) if t.kind in ("word", "ident", "string"))


# Checking option values -----------------------------------------------------


def check_expression(text: str, option: str) -> str:
    """An SQL expression from the command line: one expression, balanced,
    no statement separator. SQLite judges the rest when the table is built."""
    tokens = _tokens(text)
    if not tokens:
        raise UsageError(f"{option}: the expression is empty.")
    depth = 0
    for token in tokens:
        if token.text == ";":
            raise UsageError(f"{option}: {text!r} holds a ';'; give one SQL expression.")
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
            if depth < 0:
                break
    if depth != 0:
        raise UsageError(f"{option}: {text!r} has unbalanced parentheses.")
    return text.strip()


def check_type(text: str, option: str) -> str:
    """A column type name such as INTEGER, TEXT, VARCHAR(20), DECIMAL(10, 2)."""
    tokens = _tokens(text)
    words = 0
    while words < len(tokens) and tokens[words].kind in ("word", "ident"):
        words += 1
    rest = [t.text for t in tokens[words:]]
    numbers_ok = True
    if rest:
        inner = rest[1:-1]
        parts = [p for p in " ".join(inner).split(",")]
        numbers_ok = (
            rest[0] == "(" and rest[-1] == ")" and 1 <= len(parts) <= 2
            and all(_is_signed_number(p.split()) for p in parts)
        )
    if words == 0 or not numbers_ok:
        raise UsageError(f"{option}: {text!r} is not a column type; give e.g. INTEGER, TEXT, REAL, BLOB or VARCHAR(20).")
    return text.strip()


def _is_signed_number(parts: List[str]) -> bool:
    if parts and parts[0] in ("+", "-"):
        parts = parts[1:]
    if len(parts) != 1:
        return False
    try:
        float(parts[0])
    except ValueError:
        return False
    return True


def default_clause(expression: str) -> str:
    """`DEFAULT x`, with parentheses where SQLite needs them (anything but a
    literal, a signed number or an already parenthesised expression)."""
    tokens = _tokens(expression)
    simple = (
        (len(tokens) == 1 and (tokens[0].kind in ("number", "string") or tokens[0].word in _LITERAL_WORDS))
        or (len(tokens) == 2 and tokens[0].text in ("+", "-") and tokens[1].kind == "number")
        or (tokens and tokens[0].text == "(" and _matching(tokens, 0) == len(tokens) - 1)
    )
    return f"DEFAULT {expression}" if simple else f"DEFAULT ({expression})"


def on_delete_action(text: str) -> str:
    action = " ".join(text.upper().split())
    if action not in ON_DELETE_ACTIONS:
        raise UsageError(f"--on-delete {text!r}: use one of {', '.join(ON_DELETE_ACTIONS)}.")
    return action


# Edits --------------------------------------------------------------------
# Each edit changes the definition in place and raises UsageError when the
# request does not fit the table; messages name the option and the column.


@dataclass
class EditLog:
    summary: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)


def set_type(table: TableDef, column: ColumnDef, type_text: str, log: EditLog) -> None:
    old = column.type_text or "(no type)"
    column.edited().type_text = type_text
    log.summary.append(f"{q(column.name)} type {old} -> {type_text}")


def set_not_null(table: TableDef, column: ColumnDef, log: EditLog) -> None:
    if column.has("notnull"):
        raise UsageError(f"--not-null {column.name}: the column is already NOT NULL.")
    column.edited().clauses = [c for c in column.clauses if c.kind != "null"]
    column.clauses.insert(0, Clause("notnull", "NOT NULL"))
    log.summary.append(f"{q(column.name)} becomes NOT NULL")


def _remove_clauses(column: ColumnDef, kind: str, missing: str) -> None:
    """Remove every `kind` clause of the column; UsageError(missing) if none."""
    if not column.has(kind):
        raise UsageError(missing)
    column.edited().clauses = [c for c in column.clauses if c.kind != kind]


def set_nullable(table: TableDef, column: ColumnDef, log: EditLog) -> None:
    _remove_clauses(column, "notnull", f"--nullable {column.name}: the column is not declared NOT NULL.")
    log.summary.append(f"{q(column.name)} becomes nullable")


def set_default(table: TableDef, column: ColumnDef, expression: str, log: EditLog) -> None:
    clause = Clause("default", default_clause(expression))
    existing = [i for i, c in enumerate(column.edited().clauses) if c.kind == "default"]
    if existing:
        column.clauses[existing[0]] = clause
    else:
        column.clauses.append(clause)
    log.summary.append(f"{q(column.name)} {clause.text}")


def drop_default(table: TableDef, column: ColumnDef, log: EditLog) -> None:
    _remove_clauses(column, "default", f"--drop-default {column.name}: the column has no DEFAULT.")
    log.summary.append(f"{q(column.name)} loses its DEFAULT")


def primary_key(table: TableDef) -> Tuple[str, ...]:
    for constraint in table.constraints:
        if constraint.kind == "primary":
            return constraint.columns
    return tuple(c.name for c in table.columns if c.has("primary"))


def set_primary_key(table: TableDef, columns: Sequence[ColumnDef], log: EditLog) -> None:
    names = tuple(c.name for c in columns)
    if tuple(n.lower() for n in primary_key(table)) == tuple(n.lower() for n in names):
        return  # already the key: keep it as written (AUTOINCREMENT and all)
    for column in table.columns:
        if column.has("primary"):
            if column.clause("primary").autoincrement:  # type: ignore[union-attr]
                log.warnings.append(f"--pk: {q(column.name)} loses AUTOINCREMENT with its PRIMARY KEY.")
            column.edited().clauses = [c for c in column.clauses if c.kind != "primary"]
    table.constraints = [c for c in table.constraints if c.kind != "primary"]
    table.constraints.insert(0, TableConstraint("primary", f"PRIMARY KEY ({', '.join(map(q, names))})", names))
    log.summary.append(f"primary key ({', '.join(map(q, names))})")


def add_foreign_key(table: TableDef, column: ColumnDef, parent: str, parent_column: str, action: Optional[str], log: EditLog) -> None:
    text = f"FOREIGN KEY ({q(column.name)}) REFERENCES {q(parent)} ({q(parent_column)})"
    if action:
        text += f" ON DELETE {action}"
    table.constraints.append(TableConstraint("foreign", text, (column.name,), target=parent))
    log.summary.append(f"{q(column.name)} references {q(parent)}({q(parent_column)})" + (f" ON DELETE {action}" if action else ""))


def drop_foreign_key(table: TableDef, column: ColumnDef, log: EditLog) -> None:
    found = column.has("references")
    if found:
        column.edited().clauses = [c for c in column.clauses if c.kind != "references"]
    kept = []
    for constraint in table.constraints:
        if constraint.kind == "foreign" and constraint.mentions(column.name):
            found = True
            continue
        kept.append(constraint)
    if not found:
        raise UsageError(f"--drop-foreign-key {column.name}: the column has no foreign key.")
    table.constraints = kept
    log.summary.append(f"{q(column.name)} loses its foreign key")


def add_check(table: TableDef, expression: str, log: EditLog) -> None:
    table.constraints.append(TableConstraint("check", f"CHECK ({expression})", names=_names_used(_tokens(expression))))
    log.summary.append(f"CHECK ({expression})")


def add_unique(table: TableDef, columns: Sequence[ColumnDef], log: EditLog) -> None:
    names = tuple(c.name for c in columns)
    table.constraints.append(TableConstraint("unique", f"UNIQUE ({', '.join(map(q, names))})", names))
    log.summary.append(f"UNIQUE ({', '.join(map(q, names))})")


def drop_column(table: TableDef, column: ColumnDef, log: EditLog) -> None:
    """Remove a column and every constraint that names it (with a warning);
    a PRIMARY KEY that names it needs --pk."""
    name = column.name
    if column.has("primary"):
        raise UsageError(f"--drop {name}: the column is the PRIMARY KEY; give the new key with --pk.")
    table.columns = [c for c in table.columns if c is not column]
    if not table.columns:
        raise UsageError(f"--drop {name}: a table needs at least one column.")
    for constraint in list(table.constraints):
        if not constraint.mentions(name):
            continue
        if constraint.kind == "primary":
            raise UsageError(f"--drop {name}: the column is part of the PRIMARY KEY; give the new key with --pk.")
        table.constraints.remove(constraint)
        log.warnings.append(f"--drop {name}: the table constraint `{constraint.text}` names it and goes with it.")
    for other in table.columns:
        for clause in list(other.clauses):
            if clause.kind == "check" and name.lower() in clause.names:
                other.edited().clauses.remove(clause)
                log.warnings.append(f"--drop {name}: the CHECK of {q(other.name)} (`{clause.text}`) names it and goes with it.")
    log.summary.append(f"{q(name)} dropped")


def reorder_columns(table: TableDef, first: Sequence[ColumnDef], log: EditLog) -> None:
    chosen = [id(c) for c in first]
    table.columns = list(first) + [c for c in table.columns if id(c) not in chosen]
    log.summary.append("column order " + ", ".join(q(c.name) for c in table.columns))
