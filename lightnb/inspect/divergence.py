"""Is the workspace still a copy of production? If not, how does it differ?

A workspace starts as an exact copy of production. Once a migration has been run or reverted on
it (or production has moved on), a rehearsal on it no longer shows what production would go
through. :func:`compare_with_production` says so and how: the migrations applied on one side
only, the schema differences (compared by structure, as :mod:`lightnb.inspect.schema_diff` does)
and the tables whose rows differ (compared by column name, inside SQLite). Both files are only
read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightnb.backends import sqlite
from lightnb.catalog import TRACKING_TABLE, is_bookkeeping
from lightnb.errors import LightnbError
from lightnb.inspect.row_diff import changed_tables, row_diff
from lightnb.inspect.schema_diff import schema_diff
from lightnb.inspect.snapshot import take_snapshot


@dataclass(frozen=True, slots=True)
class Divergence:
    """How a workspace differs from the production database it was copied from.

    :param applied_here_only: versions applied on the workspace and not on production.
    :param applied_there_only: versions applied on production and not on the workspace (reverted,
        or applied to production after the copy was made).
    :param schema: schema differences, production -> workspace, one line each.
    :param rows: tables whose rows differ, one line each with the counts.
    :param error: why the comparison could not be made (then nothing else is known).
    """

    workspace: str
    production: str | None
    applied_here_only: tuple[str, ...] = ()
    applied_there_only: tuple[str, ...] = ()
    schema: tuple[str, ...] = ()
    rows: tuple[str, ...] = ()
    error: str = ""

    @property
    def differs(self) -> bool:
        """True when the workspace is known not to be a copy of production (or cannot be compared)."""
        return bool(self.applied_here_only or self.applied_there_only or self.schema or self.rows or self.error)

    def lines(self) -> list[str]:
        """Return what differs, one line each (empty when the workspace is a copy of production)."""
        out = []
        if self.error:
            out.append(self.error)
        if self.applied_here_only:
            out.append("applied on the workspace only: " + ", ".join(self.applied_here_only))
        if self.applied_there_only:
            out.append("applied on production but not on the workspace: " + ", ".join(self.applied_there_only))
        out += [f"schema: {line}" for line in self.schema]
        out += [f"rows: {line}" for line in self.rows]
        return out

    def to_text(self) -> str:
        """One sentence, then what differs, one line each."""
        if self.production is None:
            return f"baseline: the workspace {self.workspace} was made empty (no production database to compare with)"
        if not self.differs:
            return (f"baseline: the workspace is a copy of production {self.production}"
                    " (same migrations, schema and rows)")
        head = (f"baseline: the workspace {self.workspace} differs from production {self.production}; a rehearsal "
                f"on it is not a rehearsal on production (`lightnb snapshot --reset` copies production again)")
        return "\n".join([head] + [f"  - {line}" for line in self.lines()])

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {"workspace": self.workspace, "production": self.production, "differs": self.differs,
                "applied_here_only": list(self.applied_here_only),
                "applied_there_only": list(self.applied_there_only),
                "schema": list(self.schema), "rows": list(self.rows), "error": self.error}


def compare_with_production(workspace: str | Path, production: str | Path | None) -> Divergence:
    """Compare a workspace with the production database it copies (both only read).

    A production that cannot be read is reported in ``error`` (the comparison is then unknown).
    """
    here = str(workspace)
    if production is None:
        return Divergence(here, None)
    there = str(production)
    try:
        versions_here, before_snap, after_snap = _read(Path(workspace), Path(production))
    except (LightnbError, OSError, sqlite.Error) as error:
        return Divergence(here, there, error=f"cannot compare with production: {error}")
    versions_there = before_snap[0]
    prod, work = before_snap[1], after_snap
    schema = tuple(c.to_text() for c in schema_diff(prod, work).changes
                   if c.action != "rebuilt" and not is_bookkeeping(c.table))
    suspects = [t.name for t in prod.tables if not is_bookkeeping(t.name)
                and (w := work.table(t.name)) is not None
                and (t.row_count, t.fingerprint) != (w.row_count, w.fingerprint)]
    rows: list[str] = []
    if suspects:
        differing = changed_tables(production, workspace, suspects)
        if differing:
            diff = row_diff(production, workspace, tables=differing, sample=0)
            for name in differing:
                table = diff.table(name)
                if table is not None:
                    rows.append(f"{name}: {table.added} row(s) added, {table.removed} removed, {table.changed} "
                                f"changed on the workspace")
    return Divergence(here, there, tuple(v for v in versions_here if v not in versions_there),
                      tuple(v for v in versions_there if v not in versions_here), schema, tuple(rows))


def _read(workspace: Path, production: Path) -> tuple[list[str], tuple[list[str], Any], Any]:
    conns = []
    try:
        results = []
        for path in (production, workspace):
            conn = sqlite.open_readonly(path)
            conns.append(conn)
            results.append((_versions(conn), take_snapshot(conn, label=str(path))))
        (there, prod), (here, work) = results
        return here, (there, prod), work
    finally:
        for conn in conns:
            conn.close()


def _versions(conn: sqlite.Connection) -> list[str]:
    try:
        return [r[0] for r in conn.execute(f"SELECT version FROM {TRACKING_TABLE} ORDER BY version")]
    except sqlite.Error:  # no tracking table yet: nothing applied
        return []
