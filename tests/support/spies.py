"""Spies on lightnb's internals that tests share: what was counted."""

from __future__ import annotations

import pytest

from lightnb.inspect import snapshot as snapshot_module


def spy_counts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the name of every table a snapshot counts the rows of (COUNT(*)), in order."""
    counted: list[str] = []
    real = snapshot_module._table_snapshot

    def spy(conn, table, *args, count=True, **options):  # type: ignore[no-untyped-def]
        if count:
            counted.append(table.name)
        return real(conn, table, *args, count=count, **options)

    monkeypatch.setattr(snapshot_module, "_table_snapshot", spy)
    return counted
