"""pytest fixtures for PostgreSQL: one private cluster per test session (per xdist worker), a fresh database per test.

The cluster is lightnb's own (:func:`lightnb.backends.postgres.cluster.start_cluster`) in a temporary
folder; each test gets a database copied from ``template1`` (``CREATE DATABASE … TEMPLATE``, a file
copy), dropped afterwards. Without PostgreSQL's programs the tests skip, saying why.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from lightnb.backends.postgres.binaries import PostgresNotInstalled, find_binaries
from lightnb.backends.postgres.cluster import Cluster, start_cluster
from lightnb.backends.postgres.connect import connect

_NAMES = itertools.count(1)


@dataclass
class PgDatabase:
    """A database of the test cluster, made for one test.

    :param name: its name.
    :param url: its ``postgresql://`` URL (unix socket).
    :param cluster: the cluster it lives in.
    """

    name: str
    url: str
    cluster: Cluster

    def connect(self, **options: Any) -> Any:
        """Open a psycopg connection (autocommit) to this database."""
        return connect(self.url, **options)

    def execute(self, script: str) -> None:
        """Run a script as one simple-query message (diesel's ``batch_execute``)."""
        with self.connect() as conn:
            conn.execute(script.encode("utf-8"), prepare=False)


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A private PostgreSQL cluster for this test session; skips when PostgreSQL is not installed."""
    try:
        find_binaries()
    except PostgresNotInstalled as error:
        pytest.skip(str(error))
    cluster = start_cluster(tmp_path_factory.mktemp("pg"))
    yield cluster
    cluster.destroy()


@pytest.fixture
def pg_database(pg_cluster: Cluster) -> Iterator[PgDatabase]:
    """A fresh, empty database for one test (a copy of template1), dropped afterwards."""
    name = f"test_{os.getpid()}_{next(_NAMES)}"
    url = pg_cluster.create_database(name)
    yield PgDatabase(name, url, pg_cluster)
    pg_cluster.drop_database(name)
