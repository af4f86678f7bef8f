"""Destructive statements: flagged, measured on the workspace copy, and allowed only when acknowledged.

A migration acknowledges them with a ``-- lightnb: allow-destructive`` comment in its up.sql (the team's
one-time override); they are then reported as info, still with their measured impact. A DROP whose
values were all found elsewhere after the whole migration (moved or converted: :attr:`Impact.is_loss`)
is info naming where they are; "lost" is said only of values that are gone.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlglot import exp

from lightnb.backends import sqlite
from lightnb.catalog import Column
from lightnb.errors import LightnbError
from lightnb.inspect.impact import FOUND_KINDS, Impact, measure_impact
from lightnb.inspect.redact import Redactor
from lightnb.lint.copying import ColumnFate, RebuildCopy, rebuild_copies
from lightnb.lint.effects import statement_effects
from lightnb.lint.finding import Severity
from lightnb.lint.options import ALLOW_DESTRUCTIVE
from lightnb.lint.registry import Hit, MigrationContext, rule
from lightnb.lint.source import Parsed, Script, leading_words, name_of, parse_statement, tokens
from lightnb.time_limit import TimeLimitExceeded


@rule("destructive", severity="error",
      summary="DROP TABLE/COLUMN/INDEX, DELETE, RENAME or UPDATE without WHERE, unless acknowledged; "
              "a DROP whose values the migration kept elsewhere (measured) is info.")
def destructive(ctx: MigrationContext) -> Iterator[Hit]:
    """Flag statements that destroy or move data, with the impact measured on the workspace.

    A DROP is judged by what the whole migration did with the dropped values (measured on the
    workspace copy): every value found elsewhere (moved or converted) is info naming where they went;
    values gone stay an error with their count; values copied in a form that cannot be looked up row
    by row are a warning. Without a measurement, the statement alone decides (an error); a column a rebuild carries
    through a CAST (or into a column of another affinity) is then a warning only where the types alone say some
    values would change (:func:`_narrowing`).
    """
    acknowledged = is_acknowledged(ctx.source.up)
    severity: Severity | None = "info" if acknowledged else None
    fix = ("acknowledged with `-- " + ALLOW_DESTRUCTIVE + "`; review the impact" if acknowledged else
           f"if intended, add the comment `-- {ALLOW_DESTRUCTIVE}` to up.sql; otherwise keep the data "
           f"(copy it first, or rename instead of dropping)")
    rebuilt = _rebuilt_tables(ctx)
    measured: dict[int, Measurement] | None = None
    for index, statement in enumerate(ctx.source.up.statements):
        for what, level, scope, judge in _destruction(statement, rebuilt, ctx):
            if measured is None:
                measured = measure_statements(ctx.conn, ctx.source.up.statements, redactor=ctx.config.redactor,
                                              outside=not ctx.source.run_in_transaction) if ctx.conn is not None \
                    else _unreached(ctx.unreached, len(ctx.source.up.statements))
            measurement = measured.get(index)
            if isinstance(level, _IfLost):  # carried through a CAST: kept unless the measurement finds values lost
                lost = [i for i in measurement.about(scope) if i.is_loss] if measurement is not None else []
                if measurement is not None and lost:
                    yield Hit("up.sql", statement.line, what + measurement.note(lost), fix, severity)
                elif measurement is not None and not measurement.ran:  # a database was given, yet nothing measured
                    yield Hit("up.sql", statement.line, what + measurement.note([]), fix, severity or "warning")
                elif measurement is None and ctx.conn is None and level.unmeasured:  # no database: the types tell
                    yield Hit("up.sql", statement.line,
                              f"{what} (not measured: no database; {level.unmeasured}: `lightnb lint --database "
                              f"PROD.db` measures which values it keeps)", fix, severity or "warning")
                continue
            if measurement is None:
                yield Hit("up.sql", statement.line, what, fix, severity or level)
                continue
            impacts = measurement.about(scope)
            judged = _judge_drop(impacts) if judge and measurement.ran else None
            if judged == "kept":
                where = ", ".join(dict.fromkeys(i.destination for i in impacts if i.kind in FOUND_KINDS
                                                and i.destination))
                yield Hit("up.sql", statement.line, what + measurement.note(impacts),
                          f"no value is lost: they are kept in {where}; make sure the code reads them there",
                          "info")
            elif judged == "unverified":
                yield Hit("up.sql", statement.line, what + measurement.note(impacts), fix, severity or "warning")
            else:
                yield Hit("up.sql", statement.line, what + measurement.note(impacts), fix, severity or level)


class _Scope:
    """Which measured impacts a finding is about (a sentinel type)."""


_NOT_A_DROP = _Scope()  # DELETE, UPDATE, RENAME, DROP INDEX: the statement's whole measurement, not judged
_ROWS = _Scope()  # the rows of a dropped table (a rebuild that leaves rows behind)
_WHOLE = None  # every value and row of a dropped table
Scope = frozenset[str] | _Scope | None  # frozenset: dropped columns (lower case)


def _renamed(column: str) -> tuple[frozenset[str], bool]:
    """A column renamed by a rebuild: its own measurement, not judged (code using the old name breaks)."""
    return frozenset({column.lower()}), False


@dataclass(frozen=True, slots=True)
class Measurement:
    """What one statement did on the workspace copy (its impacts), or why it was not measured."""

    impacts: tuple[Impact, ...]
    ran: bool = True
    reason: str = ""

    def about(self, scope: Scope) -> list[Impact]:
        """The impacts a finding of this ``scope`` is about (failures always are)."""
        if scope is _WHOLE or scope is _NOT_A_DROP:
            return list(self.impacts)
        if scope is _ROWS:
            return [i for i in self.impacts if i.column is None]
        assert isinstance(scope, frozenset)  # the other scopes are answered above
        return [i for i in self.impacts if i.kind == "error" or (i.column or "").lower() in scope]

    def note(self, impacts: Sequence[Impact]) -> str:
        """Return " (measured on the workspace copy: …)" for ``impacts``."""
        if not self.ran:
            return f" (not measured: {self.reason})"
        if not impacts:
            return " (measured on the workspace copy: no rows or values lost)"
        return f" (measured on the workspace copy: {'; '.join(i.message.rstrip('.') for i in impacts)})"


def _judge_drop(impacts: Sequence[Impact]) -> str | None:
    """Return "kept" when every dropped value was found elsewhere, "unverified" when copied unverifiably.

    None: something is lost, the statement failed, or nothing was found (the statement alone decides).
    """
    if any(i.is_loss or i.kind == "error" for i in impacts):
        return None
    if any(i.kind == "values_unverified" for i in impacts):
        return "unverified"
    if any(i.kind in ("values_moved", "values_converted") and not i.keyed for i in impacts):
        return "unverified"  # the values are there, but not which row held which
    kept = [i for i in impacts if i.kind in ("values_moved", "values_converted")]
    return "kept" if kept and all(i.found == i.count for i in kept) else None


def _unreached(reason: str | None, statements: int) -> dict[int, Measurement]:
    """No measurement: without a database nothing is said; with one whose copy the migration cannot be reached on,
    each statement says why it was not measured."""
    if reason is None:
        return {}
    return {index: Measurement((), ran=False, reason=reason) for index in range(statements)}


def measure_statements(conn: sqlite.Connection | None, statements: Sequence[Parsed], *,
                       redactor: Redactor | None = None, outside: bool = False) -> dict[int, Measurement]:
    """Return {statement index: its :class:`Measurement`} from the inspect step's impact.

    The statements run on ``conn`` (a workspace copy) inside a savepoint that is rolled back
    (:func:`lightnb.inspect.impact.measure_impact`). Statements from the first one that controls
    the transaction (BEGIN, COMMIT, VACUUM …) on are not run: they would end the savepoint (diesel's
    transaction refuses them too). With ``outside`` (a migration that runs outside a transaction), they all
    run as the migration runs, its own transactions and PRAGMAs acting, on a throwaway copy of ``conn``'s
    database (:func:`lightnb.inspect.impact.measure_as_run`).
    """
    if conn is None:
        return {}
    runnable = list(statements) if outside else \
        list(itertools.takewhile(lambda s: not _controls_transaction(s), statements))
    try:
        if not runnable:
            impacts = []
        elif outside:
            impacts = _as_run(conn, runnable, redactor)
        else:
            impacts = measure_impact(conn, runnable, redactor=redactor)
    except TimeLimitExceeded as stopped:
        reason = f"its measurement on the workspace copy ran over the time limit ({stopped.limit:g} s)"
        return {index: Measurement((), ran=False, reason=reason) for index in range(len(statements))}
    except (LightnbError, sqlite.Error):
        return {}
    by_index: dict[int, list[Impact]] = {}
    for impact in impacts:
        if impact.kind != "rows_inserted":
            by_index.setdefault(impact.index, []).append(impact)
    failed = next((i.index for i in impacts if i.kind == "error"), None)
    out = {}
    for index in range(len(statements)):
        if index in by_index:
            out[index] = Measurement(tuple(by_index[index]))
        elif index >= len(runnable) or (failed is not None and index > failed):
            out[index] = Measurement((), ran=False,
                                     reason="an earlier statement does not run on the workspace copy")
        else:
            out[index] = Measurement(())
    return out


def _as_run(conn: sqlite.Connection, statements: list[Parsed], redactor: Redactor | None) -> list[Impact]:
    """``statements`` measured as they run outside a transaction, on a throwaway copy of ``conn``'s database."""
    from lightnb import scratch
    from lightnb.inspect.impact import measure_as_run

    with scratch.folder("lint-impact") as folder:
        copy = sqlite.open_scratch(sqlite.backup(conn, folder / "copy.db"))
        try:
            return measure_as_run(copy, statements, redactor=redactor)
        finally:
            copy.close()


def _controls_transaction(statement: Parsed) -> bool:
    if isinstance(statement.expr, (exp.Transaction, exp.Commit, exp.Rollback)):
        return True
    return leading_words(statement.text, 1)[:1] in {("BEGIN",), ("COMMIT",), ("END",), ("ROLLBACK",),
                                                   ("SAVEPOINT",), ("RELEASE",), ("VACUUM",),
                                                   ("ATTACH",), ("DETACH",)}


def is_acknowledged(script: Script) -> bool:
    """Return True when a comment of the script contains the allow-destructive marker."""
    return any(ALLOW_DESTRUCTIVE in comment for token in tokens(script.text) for comment in token.comments or [])


def _rebuilt_tables(ctx: MigrationContext) -> dict[str, RebuildCopy]:
    """Return {table dropped as a step of a rebuild (lower case): what the rebuild copies}."""
    found = {}
    for copy in rebuild_copies(ctx):
        drop = ctx.source.up.statements[copy.statements[0]:copy.statements[-1] + 1]
        for statement in drop:
            for effect in statement_effects(statement):
                if effect.action == "drop" and effect.kind == "table":
                    found[effect.name.lower()] = copy
    return found


class _IfLost:
    """The level of a column a rebuild carries through a CAST (or into a column of another type affinity): a finding
    (at the rule's severity) only when the measurement finds values it did not keep. Without a database, a warning
    when the types alone say that some values would not be kept (``unmeasured``: which, for people), else nothing.
    """

    __slots__ = ("unmeasured",)

    def __init__(self, unmeasured: str = "") -> None:
        self.unmeasured = unmeasured


def _narrowing(source: str, target: str, *, cast: bool) -> str:
    """Which values of a column of SQLite type affinity ``source`` a CAST to ``target`` (or, without ``cast``, storing
    them in a column of affinity ``target``) does not keep as they were, whatever the data: "" for none (a CAST to
    TEXT, to the same affinity, or of integers to REAL)."""
    if source in ("TEXT", "BLOB") and target in ("INTEGER", "REAL", "NUMERIC"):
        return ("text that is not a number's own text ('abc', '007', ' 5') becomes another value under it" if cast
                else f"text that looks like a number but is not its own text ('007', '4.0') is stored as that "
                     f"number in a column of {target} affinity")
    if cast and source in ("REAL", "NUMERIC") and target == "INTEGER":
        return "a value with a fraction (4.5) loses it under it"
    return ""


Level = Severity | _IfLost | None  # None: the rule's severity (error unless acknowledged)
Destruction = tuple[str, Level, Scope, bool]  # what, level, the measured impacts it is about, judged by them


def _destruction(statement: Parsed, rebuilt: dict[str, RebuildCopy], ctx: MigrationContext
                 ) -> list[Destruction]:
    tree = statement.expr
    if isinstance(tree, exp.Delete):
        where = tree.args.get("where")
        return [(f"DELETE from {name_of(tree.this)}{'' if where is not None else ' without WHERE'}", None,
                 _NOT_A_DROP, False)]
    if isinstance(tree, exp.Update) and tree.args.get("where") is None:
        table = name_of(tree.this)
        if _added_here(ctx, statement, table, [name_of(eq.this) for eq in tree.expressions if isinstance(eq, exp.EQ)]):
            return []  # filling columns this migration just added: no earlier value is overwritten
        return [(f"UPDATE of every row of {table} (no WHERE)", None, _NOT_A_DROP, False)]
    found: list[Destruction] = []
    for effect in statement_effects(statement):
        name, table = effect.name, effect.table
        if effect.action == "drop" and effect.kind == "table":
            found += _rebuild_losses(rebuilt[name.lower()]) if name.lower() in rebuilt \
                else [(f"DROP TABLE {name}", None, _WHOLE, True)]
        elif effect.action == "drop" and effect.kind == "index":
            found.append((f"DROP INDEX {name}", None, _NOT_A_DROP, False))
        elif effect.action == "drop-column":
            found.append((f"DROP COLUMN {table}.{name}", None, frozenset({name.lower()}), True))
        elif effect.action == "rename-column":
            found.append((f"RENAME COLUMN {table}.{name} to {effect.new_name} (code using the old name breaks)",
                          None, _NOT_A_DROP, False))
        elif effect.action == "rename" and ctx.replay.before.table(name) is not None \
                and effect.new_name.lower() not in rebuilt and name.lower() not in _rebuilt_names(rebuilt):
            found.append((f"RENAME TABLE {name} to {effect.new_name} (code using the old name breaks)", None,
                          _NOT_A_DROP, False))
    return found


def _rebuilt_names(rebuilt: dict[str, RebuildCopy]) -> set[str]:
    return {copy.table.lower() for copy in rebuilt.values()}


def _added_here(ctx: MigrationContext, statement: Parsed, table: str, columns: list[str]) -> bool:
    """Return True when every column an UPDATE sets did not exist before this migration."""
    old = ctx.replay.before.table(table)
    if not columns:
        return False
    return old is None or all(old.column(c) is None for c in columns)


def _rebuild_losses(copy: RebuildCopy) -> list[Destruction]:
    """Describe what a rebuild does not carry over: dropped columns, renames, conversions, rows left behind."""
    table, new = copy.table, copy.new
    if new is None:
        return []
    if not copy.copies:
        return [(f"rebuild of {table} copies no rows from the old table: every row is deleted", None, _WHOLE, True)]
    found: list[Destruction] = []
    if copy.where:
        found.append((f"rebuild of {table} copies only the rows WHERE {copy.where}: the others are deleted", None,
                      _ROWS, True))
    if not copy.understood:
        return found + [(f"rebuild of {table} drops column {c.name}", None, frozenset({c.name.lower()}), True)
                        for c in copy.old.columns if new.column(c.name) is None and not c.hidden]
    conversions: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
    for fate in copy.fates:
        if fate.fate == "converted" and new.column(fate.column) is None:
            conversions.setdefault((fate.targets, fate.expressions), []).append(fate.column)
    for (targets, expressions), columns in conversions.items():
        found.append((f"rebuild of {table} converts {_columns(columns)} into {', '.join(targets)} = "
                      f"{'; '.join(expressions)}, then drops {'it' if len(columns) == 1 else 'them'}: "
                      "the original values are not kept", "warning", frozenset(c.lower() for c in columns), True))
    for fate in copy.fates:
        if fate.cast and fate.fate in ("kept", "renamed"):
            found.append((f"rebuild of {table} converts column {fate.column} with {fate.cast}",
                          _IfLost(_cast_narrowing(copy, fate)), frozenset({fate.column.lower()}), True))
        elif fate.fate in ("kept", "renamed") and (changed := _affinity_change(copy, fate)):
            found.append((f"rebuild of {table} copies column {fate.column} into {changed}",
                          _IfLost(_stored_narrowing(copy, fate)), frozenset({fate.column.lower()}), True))
    for fate in copy.fates:
        if fate.fate == "dropped":
            found.append((f"rebuild of {table} drops column {fate.column}", None, frozenset({fate.column.lower()}),
                          True))
        elif fate.fate == "renamed" and new.column(fate.column) is None:
            found.append((f"rebuild of {table} renames column {fate.column} to {fate.targets[0]} (values copied; "
                          f"code using the old name breaks)", None, *_renamed(fate.column)))
    return found


def _affinity_change(copy: RebuildCopy, fate: ColumnFate) -> str:
    """``"amount INTEGER (was TEXT)"`` when the rebuild copies ``fate``'s column unchanged into a column of another
    type affinity (SQLite may store its values as other values: ``'007'`` as 7), else ``""``."""
    from lightnb.inspect.definition import affinity

    old, new = _old_and_new(copy, fate)
    if old is None or new is None or affinity(old.type) == affinity(new.type):
        return ""
    return f"{new.name} {new.type or '(no type)'} (was {old.type or 'no type'})"


def _old_and_new(copy: RebuildCopy, fate: ColumnFate) -> tuple[Column | None, Column | None]:
    """``fate``'s column in the table before the rebuild, and the column it is written to after (None: none)."""
    return copy.old.column(fate.column), \
        copy.new.column(fate.targets[0]) if copy.new is not None and fate.targets else None


def _cast_narrowing(copy: RebuildCopy, fate: ColumnFate) -> str:
    """:func:`_narrowing` of the CAST that carries ``fate``'s column (its own CAST of the old column), else ""."""
    from lightnb.inspect.definition import affinity

    old = copy.old.column(fate.column)
    tree = parse_statement(fate.cast)
    casts = [node for node in tree.walk() if isinstance(node, (exp.Cast, exp.TryCast))
             and isinstance(node.this, exp.Column) and node.this.name.lower() == fate.column.lower()] \
        if tree is not None else []
    to = casts[0].args.get("to") if len(casts) == 1 else None
    if old is None or to is None:
        return ""
    return _narrowing(affinity(old.type), affinity(to.sql(dialect="sqlite")), cast=True)


def _stored_narrowing(copy: RebuildCopy, fate: ColumnFate) -> str:
    """:func:`_narrowing` of storing ``fate``'s column unchanged in its new column (of another affinity)."""
    from lightnb.inspect.definition import affinity

    old, new = _old_and_new(copy, fate)
    if old is None or new is None:
        return ""
    return _narrowing(affinity(old.type), affinity(new.type), cast=False)


def _columns(names: list[str]) -> str:
    return f"column {names[0]}" if len(names) == 1 else "columns " + ", ".join(names)


def intentionally_destroyed(source_script: Script) -> set[str]:
    """Return the tables whose rows up.sql destroys on purpose (acknowledged with the marker)."""
    if not is_acknowledged(source_script):
        return set()
    tables = set()
    for statement in source_script.statements:
        tree = statement.expr
        if isinstance(tree, exp.Delete) or (isinstance(tree, exp.Update) and tree.args.get("where") is None):
            tables.add(name_of(tree.this).lower())
        for effect in statement_effects(statement):
            if effect.action == "drop" and effect.kind == "table":
                tables.add(effect.name.lower())
            elif effect.action in ("drop-column", "rename-column"):
                tables.add(effect.table.lower())
    return tables
