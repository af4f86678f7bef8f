"""`check` over the real history of a Diesel + SQLite backend (``<conformance>/lightfriend``), on filled rows.

For every commit folder, the migrations that are new in it are pending. The database they run on is
the one the commit's own files describe for the others (``diesel migration run`` on a fresh
database, stopping short of the new ones; the team redid edited migrations, so the current file is
the one that ran), with every table filled with rows by a generic, catalogue-driven filler. Where
that history does not apply to a fresh database (commits 024-026, see test_lightfriend_schema), the
failing migration is recorded as applied and the next one runs, as on the team's own database. ``check`` then
rehearses the pending migrations (lint rules on, the project's tests off). A second run rehearses the
whole history of the last commit at once: one migration applied and filled, every other one pending.

Each verdict is compared with an independent replay that uses nothing of lightnb's: plain ``sqlite3``
runs up.sql then down.sql on a copy of the same state and compares the rows column by column, by
name. ``check`` must give every pending migration a verdict, never claim "rows not restored" when the
replay finds every row back (and never miss a row it loses), and claim "restores exactly" only where
the replay agrees.

``python -m tests.conformance.test_lightfriend_check`` prints the per-migration table kept in the README.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from lightnb import migrations as migration_files
from lightnb import runner
from lightnb.backends import sqlite
from lightnb.catalog import TRACKING_TABLE
from lightnb.checks import MigrationCheck, check
from lightnb.project import Project
from tests.conftest import conformance_root
from tests.precision.filler import fill

pytestmark = pytest.mark.conformance

CORPUS = conformance_root() / "lightfriend"
COMMITS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []
ROWS = 2000


@dataclass(frozen=True)
class Rehearsed:
    """One pending migration as check judged it, and what the independent replay saw."""

    commit: str
    check: MigrationCheck
    replay_up_ok: bool
    replay_down_ok: bool
    replay_rows_restored: bool | None  # None: the replay could not run up and down
    replay_schema_restored: tuple[bool, bool] | None  # (same structure, same raw text: types, defaults, SQL)


# -- the independent replay (plain sqlite3, no lightnb) -----------------------------------------

def _run_script(conn: sqlite3.Connection, sql: str) -> bool:
    try:
        conn.executescript("BEGIN;\n" + sql + "\n;COMMIT;")
        return True
    except sqlite3.Error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return False


def _tables(conn: sqlite3.Connection) -> dict[str, str]:
    return {r[0].lower(): r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name <> '__diesel_schema_migrations'")}


def _rows(conn: sqlite3.Connection, table: str, columns: list[str]) -> tuple[str, object]:
    """The table's rows over ``columns`` (each value with its storage class), keyed by primary key when it has one."""
    info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    pk = [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
    names = ", ".join(f'"{c}", typeof("{c}")' for c in columns) or "NULL"
    rows = conn.execute(f'SELECT {names} FROM "{table}"').fetchall()
    if pk and all(k in columns for k in pk):
        at = [2 * columns.index(k) for k in pk]
        return "keyed", {tuple(row[i] for i in at): row for row in rows}
    return "multiset", Counter(rows)


def _same_rows(a: sqlite3.Connection, b: sqlite3.Connection) -> bool:
    ta, tb = _tables(a), _tables(b)
    for key in ta.keys() & tb.keys():
        cols_a = {r[1].lower(): r[1] for r in a.execute(f'PRAGMA table_info("{ta[key]}")')}
        cols_b = {r[1].lower(): r[1] for r in b.execute(f'PRAGMA table_info("{tb[key]}")')}
        common = sorted(cols_a.keys() & cols_b.keys())
        if _rows(a, ta[key], [cols_a[c] for c in common]) != _rows(b, tb[key], [cols_b[c] for c in common]):
            return False
    return True


def _shape(conn: sqlite3.Connection, *, raw: bool) -> object:
    """The schema as the pragmas report it; ``raw`` adds declared types, defaults and the CREATE text."""
    out = {}
    for key, table in _tables(conn).items():
        columns = [(r[1].lower(), r[3], r[5]) + ((r[2].upper(), r[4]) if raw else ())
                   for r in conn.execute(f'PRAGMA table_info("{table}")')]
        indexes = sorted((r[2], r[4], tuple(i[2] for i in conn.execute(f'PRAGMA index_info("{r[1]}")')))
                         for r in conn.execute(f'PRAGMA index_list("{table}")'))
        keys = sorted(tuple(r[2:]) for r in conn.execute(f'PRAGMA foreign_key_list("{table}")'))
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
        out[key] = (columns, indexes, keys) + ((" ".join(sql.lower().split()),) if raw else ())
    return out


def _replay(state: Path, up: str, down: str | None, scratch: Path
            ) -> tuple[bool, bool, bool | None, tuple[bool, bool] | None]:
    """Run up then down on a copy of ``state`` with plain sqlite3; compare rows and shape with ``state``."""
    copy = scratch / "replay.db"
    shutil.copyfile(state, copy)
    before = sqlite3.connect(state, isolation_level=None)
    after = sqlite3.connect(copy, isolation_level=None)
    after.execute("PRAGMA synchronous = OFF")
    try:
        up_ok = _run_script(after, up)
        down_ok = up_ok and down is not None and _run_script(after, down)
        if not down_ok:
            return up_ok, False, None, None
        shape = (_shape(before, raw=False) == _shape(after, raw=False),
                 _shape(before, raw=True) == _shape(after, raw=True))
        return up_ok, True, _same_rows(before, after), shape
    finally:
        before.close()
        after.close()


# -- building each commit's production ---------------------------------------------------------

def _project(commit: str, root: Path) -> Project:
    folder = CORPUS / commit
    root.mkdir(parents=True)
    shutil.copy(folder / "diesel.toml", root / "diesel.toml")
    shutil.copytree(folder / "migrations", root / "migrations")
    return Project.discover(root)


def _names(commit: str) -> list[str]:
    return sorted(p.name for p in (CORPUS / commit / "migrations").iterdir() if p.is_dir())


def _production(project: Project, applied: set[str], path: Path) -> None:
    """Apply ``applied`` (the project's files) to a fresh database as diesel would, then fill every table."""
    conn = sqlite.connect(path)
    conn.execute("PRAGMA synchronous = OFF")  # a scratch database
    try:
        runner.ensure_tracking_table(conn)
        for migration in migration_files.discover(project.migrations_dir):
            if migration.name not in applied:
                continue
            try:
                runner.apply(conn, migration, "up")
            except Exception:  # noqa: BLE001 - a history that does not apply: the team's database had it
                conn.execute(f"INSERT INTO {TRACKING_TABLE} (version) VALUES (?)", (migration.version,))
        fill(conn, ROWS)
    finally:
        conn.close()


def _rehearse(commit: str, pending_names: list[str], applied: set[str], scratch: Path) -> list[Rehearsed]:
    """Rehearse ``commit``'s pending migrations on a filled database where ``applied`` ran."""
    project = _project(commit, scratch / "project")
    production = scratch / "production.db"
    _production(project, applied, production)
    result = check(project, database=production, run_tests=False)
    # The independent replay walks the same states: each pending up applied after its proof.
    state = scratch / "state.db"
    shutil.copyfile(production, state)
    out = []
    by_name = {m.name: m for m in migration_files.discover(project.migrations_dir)}
    for found in result.migrations:
        migration = by_name[found.migration]
        down = migration.down_sql() if migration.down_path is not None else None
        up_ok, down_ok, rows, shape = _replay(state, migration.up_sql(), down, scratch)
        out.append(Rehearsed(commit, found, up_ok, down_ok, rows, shape))
        if up_ok:
            conn = sqlite3.connect(state, isolation_level=None)
            conn.execute("PRAGMA synchronous = OFF")
            _run_script(conn, migration.up_sql())
            conn.close()
    assert [m.migration for m in result.migrations] == pending_names, "every pending migration gets a verdict"
    return out


@cache
def per_commit() -> tuple[Rehearsed, ...]:
    """Every migration, rehearsed in the commit where it first appears, on filled rows."""
    out: list[Rehearsed] = []
    previous: set[str] = set()
    for commit in COMMITS:
        names = _names(commit)
        pending = [n for n in names if n not in previous]
        if pending:
            with tempfile.TemporaryDirectory(prefix="lightnb-lf-") as scratch:
                out += _rehearse(commit, pending, set(names) - set(pending), Path(scratch))
        previous = set(names)
    return tuple(out)


@cache
def whole_history() -> tuple[Rehearsed, ...]:
    """The last commit's history at once: the first migration applied and filled, all the others pending."""
    commit = COMMITS[-1]
    names = _names(commit)
    with tempfile.TemporaryDirectory(prefix="lightnb-lf-") as scratch:
        return tuple(_rehearse(commit, names[1:], {names[0]}, Path(scratch)))


def _check_against_replay(found: tuple[Rehearsed, ...]) -> None:
    blocked: set[str] = set()  # commits where an up.sql really fails: what follows it cannot be reached
    for item in found:
        claim = item.check
        where = f"{item.commit} {claim.migration}: {claim.reasons}"
        assert claim.verdict in ("safe", "needs attention", "unsafe", "irreversible"), where
        if any(r.startswith("not rehearsed") for r in claim.reasons):
            assert item.commit in blocked, f"not rehearsed although every earlier up runs: {where}"
            continue
        if not item.replay_up_ok:
            blocked.add(item.commit)
            assert "up" not in claim.steps, where
            continue
        assert "up" in claim.steps, f"check could not run an up.sql that runs: {where}"
        if item.replay_rows_restored is None:
            continue
        assert "down" in claim.steps, where
        # Zero false "rows not restored", and no loss missed.
        assert bool(claim.row_differences) == (not item.replay_rows_restored), where
        structure, raw = item.replay_schema_restored or (False, False)
        if claim.schema_differences or claim.column_order:
            assert not raw, f"schema difference the replay does not see: {where}"
        if claim.restores_exactly:
            assert item.replay_rows_restored and structure, where


@pytest.mark.skipif(not COMMITS, reason="lightfriend corpus not found (set LIGHTNB_CONFORMANCE_DIR)")
def test_every_migration_of_every_commit_gets_a_verdict_that_the_replay_confirms() -> None:
    found = per_commit()
    assert len({r.check.migration for r in found}) == len(found)
    assert {r.check.migration for r in found} >= set(_names(COMMITS[-1]))
    _check_against_replay(found)


@pytest.mark.skipif(not COMMITS, reason="lightfriend corpus not found (set LIGHTNB_CONFORMANCE_DIR)")
def test_the_whole_history_at_once_is_rehearsed_to_the_end() -> None:
    found = whole_history()
    assert len(found) == len(_names(COMMITS[-1])) - 1
    _check_against_replay(found)


def report(found: tuple[Rehearsed, ...]) -> str:
    """The per-migration table for the README: verdict, restores exactly, and why not."""
    verdicts = Counter(r.check.verdict_text.split(" (")[0] for r in found)
    exact = sum(r.check.restores_exactly for r in found)
    counts = ", ".join(f"{n} {v}" for v, n in verdicts.most_common())
    lines = [f"{len(found)} migrations, {len(found)} verdicts ({counts}); {exact} restore exactly.", "",
             "| migration | verdict | restores exactly | why not |", "|---|---|---|---|"]
    for r in found:
        why = "" if r.check.restores_exactly else _why(r.check)
        exactly = "yes" if r.check.restores_exactly else "no"
        lines.append(f"| {r.check.migration} | {r.check.verdict_text} | {exactly} | {why} |")
    return "\n".join(lines)


def _why(check_result: MigrationCheck) -> str:
    for reason in check_result.reasons:
        for prefix in ("not rehearsed", "cannot run", "down.sql declares", "down.sql does not restore the schema",
                       "down.sql does not restore the rows", "down.sql restores every column",
                       "cannot prove"):
            if reason.startswith(prefix):
                return reason.split(" — ")[0][:160].replace("|", "/")
    if "down" not in check_result.steps:
        return "down.sql not run"
    return "; ".join(check_result.reasons)[:160].replace("|", "/")


if __name__ == "__main__":  # pragma: no cover - prints the README table
    print(report(per_commit()))
    print()
    print(report(whole_history()))
