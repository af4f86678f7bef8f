"""``steps.command`` names the backend a database error came from, and lets anything else through."""

from __future__ import annotations

import sqlite3

import pytest

from lightnb import steps
from lightnb.backends import driver_error_label
from lightnb.errors import UntranslatedDatabaseError


def test_a_sqlite_error_no_module_translated_is_labelled_sqlite() -> None:
    with pytest.raises(UntranslatedDatabaseError) as raised:
        with steps.command():
            raise sqlite3.OperationalError("disk I/O error")
    assert str(raised.value) == "SQLite: disk I/O error"


def test_a_postgresql_error_no_module_translated_is_labelled_postgresql() -> None:
    psycopg = pytest.importorskip("psycopg")
    import lightnb.backends.postgres  # noqa: F401 - the backend whose driver raises
    with pytest.raises(UntranslatedDatabaseError) as raised:
        with steps.command():
            raise psycopg.errors.UndefinedTable('relation "users" does not exist')
    assert str(raised.value) == 'PostgreSQL: relation "users" does not exist'


def test_other_errors_pass_through_unlabelled() -> None:
    with pytest.raises(ValueError, match="^not a database error$"):
        with steps.command():
            raise ValueError("not a database error")
    assert driver_error_label(KeyError("x")) is None
