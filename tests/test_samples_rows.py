"""The sample's fake rows, produced once for every backend (lightnb.samples.fake_rows)."""

from __future__ import annotations

import pytest

from lightnb import samples


def collect(**options: int) -> dict[str, list[tuple[object, ...]]]:
    tables: dict[str, list[tuple[object, ...]]] = {t: [] for t in samples.TABLE_COLUMNS}
    for batch in samples.fake_rows(**options):
        assert list(batch) == list(samples.TABLE_COLUMNS)  # parents first, in every batch
        for table, rows in batch.items():
            tables[table].extend(rows)
    return tables


def test_rows_do_not_depend_on_the_batch_size() -> None:
    assert collect(users=120, seed=7, batch_users=7) == collect(users=120, seed=7, batch_users=1000)
    assert collect(users=120, seed=7) != collect(users=120, seed=8)


def test_rows_fit_their_columns_and_keys() -> None:
    tables = collect(users=150, seed=3)
    users = {row[0] for row in tables["users"]}
    assert users == set(range(1, 151))
    for table, rows in tables.items():
        assert rows, table
        assert all(len(row) == len(samples.TABLE_COLUMNS[table]) for row in rows)
        assert [row[0] for row in rows] == list(range(1, len(rows) + 1))  # keys count from 1
        if table != "users":
            assert {row[1] for row in rows} <= users  # every user_id names a user


def test_negative_users_are_refused() -> None:
    with pytest.raises(ValueError, match="users must be >= 0"):
        next(samples.fake_rows(users=-1))


def test_tracking_rows_are_dated_by_their_version() -> None:
    stamps = samples._tracking_stamps(["00000000000000", "20250110090000", "20250114101500"])
    assert stamps == {"00000000000000": "2025-01-10 09:00:00", "20250110090000": "2025-01-10 09:00:00",
                      "20250114101500": "2025-01-14 10:15:00"}
    assert samples._tracking_stamps(["20250110090000_x", "not_a_date"]) == {"20250110090000_x": "2025-01-10 09:00:00"}
