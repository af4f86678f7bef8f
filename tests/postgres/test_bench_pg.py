"""The PostgreSQL benchmark rows (bench/cases.py): they run, and say why when they cannot."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bench import QUICK, cases
from lightnb.backends.postgres import binaries
from lightnb.backends.postgres.binaries import find_binaries
from lightnb.backends.postgres.cluster import start_cluster


def test_rows_say_why_without_postgresql(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def missing() -> None:
        raise binaries.PostgresNotInstalled("PostgreSQL is not installed (no initdb, pg_ctl and postgres in /x)")

    monkeypatch.setattr(binaries, "find_binaries", missing)
    for case in (cases.pg_startup, cases.pg_migration, cases.pg_print_schema):
        (row,) = case(tmp_path, QUICK)
        assert row.peer is None and row.verdict == "failed"
        assert row.failed.startswith("PostgreSQL not installed: PostgreSQL is not installed")
    assert {"pg_startup", "pg_migration", "pg_print_schema"} <= set(cases.CASES)


def test_cluster_start_up_row_runs_both_contenders_and_leaves_no_server(tmp_path: Path) -> None:
    try:
        find_binaries()
    except binaries.PostgresNotInstalled as error:
        pytest.skip(str(error))
    (row,) = cases.pg_startup(tmp_path, dataclasses.replace(QUICK, rounds=1))
    assert not row.failed, row.failed
    assert len(row.library.samples) == len(row.peer.samples) == 3
    assert all(s.seconds > 0 for s in row.library.samples + row.peer.samples)
    again = start_cluster(tmp_path / "pg-startup")  # the row's cluster was stopped and deleted: made anew
    try:
        assert again.owned and again.initialised
    finally:
        again.destroy()


def test_review_rows_run_both_contenders_alternately_and_leave_no_server(tmp_path: Path) -> None:
    try:
        find_binaries()
    except binaries.PostgresNotInstalled as error:
        pytest.skip(str(error))
    diff, migration = cases.CASES["pg_review"](tmp_path, dataclasses.replace(QUICK, diff_rows=3_000, rounds=1))
    for row in (diff, migration):
        assert not row.failed, row.failed
        assert len(row.library.samples) == len(row.peer.samples) == 2 and row.limit is not None
    assert diff.name.startswith("row diff of 3,000 rows") and migration.limit == 1.1
    again = start_cluster(tmp_path / "pg-production")  # the row's cluster was stopped and deleted: made anew
    try:
        assert again.owned and again.initialised
    finally:
        again.destroy()
