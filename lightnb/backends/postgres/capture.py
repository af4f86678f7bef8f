"""Run a step on a PostgreSQL workspace database and keep what it changed: snapshots, a before copy, previews.

The twin of :mod:`lightnb.capture` for a workspace database in lightnb's private cluster (the sample's
``sample_workspace``). Before the step, the workspace is copied as it is into a *before copy*
(``CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY``, a rehearsal clone: named after this process, owned
by the rehearsal role) and snapshotted from the catalogue, counts and fingerprints computed in the server;
after it, snapshotted again. The step's :class:`~lightnb.results.RunResult` carries both snapshots and the
before copy's URL, and :func:`describe` turns it into the same :class:`~lightnb.capture.Change` SQLite's
capture makes: schema diff, row counts, row changes measured by a row diff keyed by primary key, and
redacted before/after previews.

Before copies live as long as they can be inspected: the latest :data:`KEEP` per process; older ones,
and all of them when the process exits, are dropped. A process killed outright leaves its copies to the
next lightnb that makes a clone in the cluster (:func:`~lightnb.backends.postgres.clone.sweep_stale`).
Nothing here writes the workspace but the step itself, and nothing writes production.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import psycopg

from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.clone import Clone, drop_clone, make_clone, sweep_stale
from lightnb.backends.postgres.cluster import ClusterError
from lightnb.backends.postgres.connect import connect
from lightnb.backends.postgres.inspect import compare_preview, row_diff, row_diff_pair, take_snapshot
from lightnb.backends.postgres.private import require_private
from lightnb.errors import DatabaseError, LightnbError, WorkspaceError

if TYPE_CHECKING:
    from lightnb.capture import Change, Inspection
    from lightnb.inspect.preview import ComparedPreview
    from lightnb.inspect.redact import Redactor
    from lightnb.results import RunResult

KEEP = 4
"""Before copies kept per process (the latest; a workbook inspects the latest run or revert)."""


@dataclass(frozen=True, slots=True)
class _Kept:
    clone: Clone
    workspace_url: str


_KEPT: dict[str, _Kept] = {}  # before copy's URL -> its clone and the workspace it copies
_LOCK = threading.Lock()
_HOOKED: list[bool] = []


def discard_all() -> None:
    """Drop every before copy this process keeps (their results can no longer be inspected)."""
    _drop_kept()


def _drop_kept() -> None:
    """Drop every before copy this process kept (at exit)."""
    with _LOCK:
        kept = list(_KEPT.values())
        _KEPT.clear()
    for one in kept:
        with contextlib.suppress(DatabaseError, psycopg.Error):
            drop_clone(one.clone)


def _keep(clone: Clone, workspace_url: str) -> None:
    with _LOCK:
        if not _HOOKED:
            atexit.register(_drop_kept)  # registered after the cluster's own hook: runs before it stops
            _HOOKED.append(True)
        _KEPT[clone.url] = _Kept(clone, workspace_url)
        old = list(_KEPT)[:-KEEP]
        dropped = [_KEPT.pop(url) for url in old]
    for one in dropped:
        with contextlib.suppress(DatabaseError, psycopg.Error):
            drop_clone(one.clone)


def discard(before_copy: str) -> bool:
    """Drop one before copy now (its result can no longer be inspected); return whether it was kept."""
    with _LOCK:
        kept = _KEPT.pop(before_copy, None)
    if kept is None:
        return False
    with contextlib.suppress(DatabaseError, psycopg.Error):
        drop_clone(kept.clone)
    return True


def kept_copies() -> tuple[str, ...]:
    """Return the URLs of the before copies this process keeps, oldest first."""
    with _LOCK:
        return tuple(_KEPT)


def is_before_copy(value: object) -> bool:
    """Tell whether a result's ``before_copy`` is a PostgreSQL before copy (a URL) rather than a file."""
    return isinstance(value, str) and pgurl.is_url(value)


def _workspace_of(before_copy: str) -> str:
    with _LOCK:
        kept = _KEPT.get(before_copy)
    if kept is None:
        raise WorkspaceError("The before copy of this step was dropped (lightnb keeps the latest "
                             f"{KEEP}); run or revert again to inspect what it changes.")
    return kept.workspace_url


def _before_copy(url: str) -> Clone:
    """Clone the workspace database ``url`` as it is now, in its private cluster.

    :raises WorkspaceError: one line when it cannot be copied (another session on it, no room …).
    """
    cluster = require_private(url, "keep a before copy of")
    with contextlib.suppress(ClusterError, DatabaseError, psycopg.Error):
        sweep_stale(cluster)  # copies left by a process that was killed
    try:
        return make_clone(cluster, pgurl.database_of(pgurl.parse(url)))
    except (ClusterError, DatabaseError, psycopg.Error) as error:
        reason = " ".join(str(error).split())
        if "being accessed by other users" in reason:
            advice = "close the other sessions on it (psql, another notebook's kernel), then run again"
        else:
            advice = "check the cluster's log and free disk space, then run again"
        raise WorkspaceError(f"Cannot keep a before copy of {pgurl.describe(url)}, so the step did not run "
                             f"(nothing was applied): {reason.split(': ', 1)[-1]}; {advice}.") from error


def _snapshot(url: str, label: str, redactor: Redactor | None) -> Any:
    with connect(url, read_only=True) as conn:
        return take_snapshot(conn, label=label, redactor=redactor)


def run_captured(url: str, direction: str, step: Callable[[], RunResult], *, copy: bool = True,
                 snapshot: bool = True, redactor: Redactor | None = None) -> RunResult:
    """Run ``step`` (a verb on the workspace database ``url``) with snapshots before and after and a before copy.

    :param copy: keep a before copy (needed for previews and row diffs).
    :param snapshot: take the snapshots (schema, row counts, fingerprints computed in the server).
    :raises WorkspaceError: when the before copy cannot be made (then the step does not run).
    """
    before = _snapshot(url, f"before {direction}", redactor) if snapshot else None
    clone = _before_copy(url) if copy else None
    try:
        result = step()
    except BaseException:
        if clone is not None:
            with contextlib.suppress(DatabaseError, psycopg.Error):
                drop_clone(clone)
        raise
    if clone is not None:
        _keep(clone, url)
    after = _snapshot(url, f"after {direction}", redactor) if snapshot else None
    return replace(result, before=before, after=after, before_copy=clone.url if clone is not None else None)


def describe(result: RunResult, *, preview_rows: int = 5, max_previews: int = 4,
             redactor: Redactor | None = None) -> Change:
    """Build the :class:`~lightnb.capture.Change` of a result captured on PostgreSQL (see the module docstring)."""
    from lightnb.capture import Change, RowChanges, _keys_of, changed_tables
    from lightnb.inspect.schema_diff import schema_diff

    if result.before is None or result.after is None or not is_before_copy(result.before_copy):
        raise WorkspaceError("This result was not captured; run the step with capture=Capture(copy=True).")
    before_url = str(result.before_copy)
    after_url = _workspace_of(before_url)
    diff = schema_diff(result.before, result.after)
    changed = changed_tables(result.before, result.after, diff)
    present = [t for t in changed if result.after.table(t) is not None and
               result.before.table({n: o for o, n in diff.table_renames.items()}.get(t, t)) is not None]
    counted: tuple[RowChanges, ...] = ()
    keys: dict[str, list[tuple[Any, ...]]] = {}
    if present:
        rows = row_diff(before_url, after_url, tables=present, sample=preview_rows, reveal=True)
        counted = tuple(RowChanges(d.table, d.added, d.removed, d.changed) for d in rows.tables
                        if d.status == "compared")
        keys = {d.table: _keys_of(d, preview_rows) for d in rows.tables if d.status == "compared" and not d.note}
    previews = _previews(before_url, after_url, changed[:max_previews], diff, preview_rows, redactor, keys)
    return Change(result, diff, previews, changed, counted)


def _previews(before_url: str, after_url: str, tables: tuple[str, ...], diff: Any, n: int,
              redactor: Redactor | None, keys: dict[str, list[tuple[Any, ...]]]) -> tuple[ComparedPreview, ...]:
    renamed_from = {new: old for old, new in diff.table_renames.items()}
    if not tables:
        return ()
    with connect(before_url, read_only=True) as before, connect(after_url, read_only=True) as after:
        return tuple(_compare(before, after, renamed_from.get(t, t), t, n, keys.get(t), redactor,
                              diff.column_renames(t)) for t in tables)


def _compare(before: psycopg.Connection[Any], after: psycopg.Connection[Any], before_table: str, table: str, n: int,
             keys: list[tuple[Any, ...]] | None, redactor: Redactor | None,
             column_renames: dict[str, str] | None) -> ComparedPreview:
    """Preview the affected rows (``keys``) when known, else the first ``n`` rows by key."""
    if keys:
        try:
            return compare_preview(before, after, before_table, after_table=table, keys=keys,
                                   column_renames=column_renames, redactor=redactor)
        except (LightnbError, psycopg.Error):
            pass  # e.g. the key changed with the table: the first rows still tell the story
    return compare_preview(before, after, before_table, after_table=table, n=n, column_renames=column_renames,
                           redactor=redactor)


def inspect_change(change: Change, table: str, *, rows: int = 10, sample: int = 5,
                   redactor: Redactor | None = None) -> Inspection:
    """Inspect one table of a step captured on PostgreSQL: preview, schema changes and row diff (redacted).

    :raises LightnbError: when the table is in neither database, or the before copy was dropped.
    """
    from lightnb.capture import Inspection, _keys_of
    from lightnb.inspect.schema_diff import SchemaDiff

    result = change.result
    if not is_before_copy(result.before_copy):
        raise WorkspaceError("This result was not captured; run the step with capture=Capture(copy=True).")
    before_url = str(result.before_copy)
    after_url = _workspace_of(before_url)
    before_name = {new: old for old, new in change.schema.table_renames.items()}.get(table, table)
    # one row diff, revealed to pick the rows the preview shows, redacted to be shown
    revealed, diff = row_diff_pair(before_url, after_url, tables=[table], revealed=rows, sample=sample,
                                   redactor=redactor)
    found = revealed.table(table)
    keys = _keys_of(found, rows) if found is not None and found.status == "compared" and not found.note else None
    with connect(before_url, read_only=True) as before, connect(after_url, read_only=True) as after:
        preview = _compare(before, after, before_name, table, rows, keys, redactor, change.schema.column_renames(table))
    schema = SchemaDiff(tuple(change.schema.of(table=table)), change.schema.before_label, change.schema.after_label)
    return Inspection(table, preview, schema, diff, _impact(result, (table, before_name), redactor))


def _impact(result: RunResult, tables: tuple[str, ...], redactor: Redactor | None) -> tuple[Any, ...]:
    """The step's SQL measured again on a clone of the before copy; a failure is said, never read as "no change"."""
    from lightnb.backends.postgres.impact import StatementImpact, measure_impact
    try:
        return measure_impact(result, tables, redactor=redactor)
    except (LightnbError, psycopg.Error) as error:
        reason = " ".join(str(error).split())
        return (StatementImpact(result.names[0] if result.names else "step", 0, "", None,
                                f"impact not measured: {redactor.message(reason) if redactor else reason}"),)


__all__ = ["KEEP", "describe", "discard", "discard_all", "inspect_change", "is_before_copy", "kept_copies",
           "run_captured"]
