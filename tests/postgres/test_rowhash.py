"""Row comparison across two databases: the same counts whatever the batch size, key kind or where changes fall."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from psycopg import sql as psycopg_sql

from lightnb.backends.postgres import rowhash
from lightnb.backends.postgres.cluster import Cluster
from lightnb.backends.postgres.shape import read_shape
from tests.support.postgres import PgDatabase

SCHEMA = """
CREATE TABLE t (id int PRIMARY KEY, a text, b int, c text);
CREATE TABLE k (region text, n int, v text, PRIMARY KEY (region, n));
INSERT INTO t SELECT g, 'a' || g, g % 7, NULL FROM generate_series(1, 300) g;
INSERT INTO k SELECT r, g, 'v' || g FROM generate_series(1, 60) g, unnest(ARRAY['eu', 'us', 'Ap']) r;
"""


def _compare(left: PgDatabase, right: PgDatabase, table: str) -> rowhash.TableRows:
    with left.connect() as one, right.connect() as two:
        return rowhash.compare_table(one, read_shape(one).tables[table], two, read_shape(two).tables[table])


@pytest.fixture
def sides(pg_database: PgDatabase, pg_cluster: Cluster) -> tuple[PgDatabase, PgDatabase]:
    pg_database.execute(SCHEMA)
    name = pg_database.name + "_after"
    url = pg_cluster.create_database(name, template=pg_database.name)
    after = PgDatabase(name, url, pg_cluster)
    yield pg_database, after
    pg_cluster.drop_database(name)


@pytest.mark.parametrize("fetch", [1, 7, 20_000])
def test_counts_do_not_depend_on_the_batch_size(sides: tuple[PgDatabase, PgDatabase], fetch: int,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    before, after = sides
    monkeypatch.setattr(rowhash, "_FETCH", fetch)
    after.execute("UPDATE t SET b = b + 100 WHERE id % 10 = 0;"  # 29 rows, 150 among them
                  "UPDATE t SET a = 'x', c = 'now set' WHERE id IN (1, 150);"
                  "DELETE FROM t WHERE id IN (3, 299, 300);"
                  "INSERT INTO t VALUES (0, 'z', 1, NULL), (301, 'y', 2, NULL);"
                  "UPDATE k SET v = NULL WHERE n % 10 = 0 AND region = 'eu';"
                  "DELETE FROM k WHERE region = 'Ap' AND n = 5;"
                  "INSERT INTO k VALUES ('eu', 0, 'first');")
    keyed = _compare(before, after, "t")
    assert (keyed.added, keyed.removed, keyed.changed) == (2, 3, 30)
    assert keyed.changed_columns == {"a": 2, "b": 29, "c": 2}
    assert keyed.sample_keys == ("'0'", "'1'", "'3'")  # the first differing keys, in key order
    composite = _compare(before, after, "k")
    assert (composite.added, composite.removed, composite.changed) == (1, 1, 6)
    assert composite.changed_columns == {"v": 6}
    assert composite.sample_keys[0] == "'Ap', '5'"  # byte order: 'A' sorts before 'e' and 'u'


def test_a_key_of_any_integer_type_and_sign(pg_database: PgDatabase, pg_cluster: Cluster) -> None:
    """Keys of each integer type, negative ones among them, and columns of other types (NULLs, empty text)."""
    pg_database.execute("CREATE TABLE s (id smallint PRIMARY KEY, v text, j jsonb);"
                        "CREATE TABLE b (id bigint PRIMARY KEY, n numeric, at timestamptz);"
                        "INSERT INTO s SELECT g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'v' || g END, '{}'::jsonb "
                        "FROM generate_series(-50, 50) g;"
                        "INSERT INTO b SELECT g * 4000000000, g / 7.0, now() FROM generate_series(-40, 40) g;")
    name = pg_database.name + "_types"
    after = PgDatabase(name, pg_cluster.create_database(name, template=pg_database.name), pg_cluster)
    try:
        after.execute("UPDATE s SET v = '' WHERE id IN (-48, 3);"  # NULL becomes '', and a value becomes ''
                      "DELETE FROM s WHERE id = -50; INSERT INTO s VALUES (51, NULL, '[]');"
                      "UPDATE b SET n = n + 1 WHERE id < 0; DELETE FROM b WHERE id = 0;")
        small = _compare(pg_database, after, "s")
        assert (small.added, small.removed, small.changed, small.changed_columns) == (1, 1, 2, {"v": 2})
        assert small.sample_keys == ("'-50'", "'-48'", "'3'")
        big = _compare(pg_database, after, "b")
        assert (big.added, big.removed, big.changed, big.changed_columns) == (0, 1, 40, {"n": 40})
        assert big.sample_keys == ("'-160000000000'", "'-156000000000'", "'-152000000000'")
    finally:
        pg_cluster.drop_database(name)


def test_equal_tables_are_equal_without_streaming(sides: tuple[PgDatabase, PgDatabase]) -> None:
    before, after = sides
    assert _compare(before, after, "t").equal and _compare(before, after, "k").equal
    after.execute("UPDATE t SET c = '' WHERE id = 9;")  # NULL and empty text differ
    found = _compare(before, after, "t")
    assert (found.changed, found.changed_columns, found.sample_keys) == (1, {"c": 1}, ("'9'",))


def test_both_sides_sums_are_computed_at_once_and_are_those_of_each_side(
        sides: tuple[PgDatabase, PgDatabase], monkeypatch: pytest.MonkeyPatch) -> None:
    before, after = sides
    after.execute("UPDATE t SET b = b + 1 WHERE id = 7")
    threads: list[str] = []
    real = rowhash.summaries

    def spied(conn: object, tables: object) -> object:
        threads.append(threading.current_thread().name)
        return real(conn, tables)  # type: ignore[arg-type]

    monkeypatch.setattr(rowhash, "summaries", spied)
    wanted = [("t", ["a", "b", "c", "id"]), ("k", ["n", "region", "v"])]
    with before.connect() as one, after.connect() as two:
        mine, theirs = rowhash.summaries_side_by_side(one, wanted, two, wanted)
        assert (mine, theirs) == (real(one, wanted), real(two, wanted))
    assert mine[1] == theirs[1] and mine[0][0] == theirs[0][0] and mine[0][1] != theirs[0][1]
    assert sorted(threads) == sorted([threading.current_thread().name, "lightnb-row-sums"])


def test_a_stop_on_one_side_cancels_the_other_sides_query_in_its_server(
        sides: tuple[PgDatabase, PgDatabase], monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C (or an error) while the other side's sums are computed: its query is cancelled, not waited for."""
    before, after = sides
    started = threading.Event()
    real = rowhash.summaries

    def slow_there(conn: object, tables: object) -> object:
        if threading.current_thread().name == "lightnb-row-sums":
            started.set()
            conn.execute("SELECT pg_sleep(60)")  # type: ignore[attr-defined]
            return real(conn, tables)  # type: ignore[arg-type]
        assert started.wait(30)
        time.sleep(0.3)  # the other side's query has begun in its server
        raise KeyboardInterrupt  # Ctrl-C here, while it runs there

    monkeypatch.setattr(rowhash, "summaries", slow_there)
    with before.connect() as one, after.connect() as two:
        began = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            rowhash.summaries_side_by_side(one, [("t", ["id"])], two, [("t", ["id"])])
        assert time.monotonic() - began < 20  # not the minute the query would have run
        assert not any(t.name == "lightnb-row-sums" for t in threading.enumerate())
        two.rollback()
        assert two.execute("SELECT 1").fetchone() == (1,)  # the connection is free again


def test_ctrl_c_while_a_side_sorts_its_rows_cancels_that_query(sides: tuple[PgDatabase, PgDatabase],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows stream in key order: a side still computing its first batch (a sort of a large table) when Ctrl-C
    comes has its query cancelled in the server, not waited for."""
    before, after = sides
    after.execute("UPDATE t SET b = b + 1 WHERE id = 7")  # the sums differ: the rows are streamed
    real = rowhash._keyed_rows
    slow: list[object] = []

    def keyed_rows(conn: object, table: str, *args: object) -> object:
        if not slow:  # the first side asked: its first batch takes a minute
            slow.append(conn)
            return rowhash._stream(conn, psycopg_sql.SQL("SELECT 1, 2 FROM pg_sleep(60)"))  # type: ignore[arg-type]
        return real(conn, table, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(rowhash, "_keyed_rows", keyed_rows)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    began = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            _compare(before, after, "t")
    finally:
        timer.cancel()
    assert time.monotonic() - began < 20  # not the minute the query would have run
    assert not any(t.name.startswith("ThreadPoolExecutor") and t.is_alive() for t in threading.enumerate())
