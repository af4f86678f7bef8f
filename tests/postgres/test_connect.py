"""PostgreSQL URLs as libpq reads them, and one line per connection failure."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from lightnb.backends import POSTGRES, SQLITE, backend_for_url, is_postgres_url
from lightnb.backends.postgres import url as pgurl
from lightnb.backends.postgres.cluster import Cluster
from lightnb.backends.postgres.connect import ConnectError, connect
from lightnb.errors import ProjectError
from tests.support.postgres import PgDatabase


@pytest.mark.parametrize(("url", "backend"), [
    ("postgres://u@h/db", POSTGRES), ("postgresql:///db?host=/run/pg", POSTGRES), ("  postgres://h/d", POSTGRES),
    ("app.db", SQLITE), ("sqlite://app.db", SQLITE), ("file:app.db?mode=ro", SQLITE), ("file:///abs/app.db", SQLITE),
    ("/abs/app.db", SQLITE),
])
def test_the_url_scheme_selects_the_backend_as_diesel_does(url: str, backend: str) -> None:
    assert backend_for_url(url) == backend
    assert is_postgres_url(url) is (backend == POSTGRES)


@pytest.mark.parametrize("url", ["mysql://u@h/db", "mariadb://h/db", "redis://h/0"])
def test_an_unknown_scheme_is_one_line_naming_what_works(url: str) -> None:
    with pytest.raises(ProjectError) as caught:
        backend_for_url(url)
    assert "\n" not in str(caught.value)
    assert "postgres://" in str(caught.value) and url.split("://")[0] in str(caught.value)


def test_libpq_url_forms_socket_hosts_and_passwords_never_shown() -> None:
    assert pgurl.parse("postgresql://%2Fvar%2Frun%2Fpg/app")["host"] == "/var/run/pg"
    assert pgurl.parse("postgres:///app?host=/tmp/my%20sock")["host"] == "/tmp/my sock"
    assert pgurl.describe("postgres://ann:s3cret@db.example:5433/app") == "database `app` on db.example:5433"
    assert pgurl.describe("postgresql:///app?host=/run/pg") == "database `app` on socket folder /run/pg (port 5432)"
    assert pgurl.redact("postgres://ann:s3cret@h/app?password=x&sslmode=require") == \
        "postgres://ann:***@h/app?password=***&sslmode=require"
    assert pgurl.parse(pgurl.with_database("postgres://ann@h:6000/app?sslmode=disable", "other")) == \
        {"user": "ann", "host": "h", "port": "6000", "dbname": "other", "sslmode": "disable"}
    socket = pgurl.socket_url("/tmp/a b", "my db")
    assert pgurl.parse(socket) == {"user": "postgres", "host": "/tmp/a b", "port": "5432", "dbname": "my db"}


def test_an_unparsable_url_is_one_line_without_the_password() -> None:
    with pytest.raises(ProjectError) as caught:
        pgurl.parse("postgres://ann:s3cret@[::1/app")
    message = str(caught.value)
    assert "s3cret" not in message and "\n" not in message and "postgres://USER:PASSWORD@HOST:PORT/DATABASE" in message


def test_no_server_missing_database_and_missing_role(pg_cluster: Cluster, tmp_path: Path) -> None:
    with pytest.raises(ConnectError) as down:
        connect(pgurl.socket_url(str(tmp_path), "app"))
    assert str(down.value) == (f"No PostgreSQL server is running on socket folder {tmp_path} (port 5432); start it "
                               f"(or the project's cluster), or fix the host and port in the database URL.")
    with pytest.raises(ConnectError, match=r"^Database `nope` does not exist on socket folder .*; create it"):
        connect(pg_cluster.url("nope"))
    with pytest.raises(ConnectError, match=r"^PostgreSQL on socket folder .* has no role `ghost`"):
        connect(pg_cluster.url("postgres").replace("postgres@", "ghost@"))


def test_wrong_or_missing_password(pg_database: PgDatabase) -> None:
    cluster = pg_database.cluster
    hba = cluster.data_dir / "pg_hba.conf"
    rule = "local all pw_user scram-sha-256\n"
    if rule not in hba.read_text(encoding="utf-8"):
        hba.write_text(rule + hba.read_text(encoding="utf-8"), encoding="utf-8")
    with pg_database.connect() as conn:
        conn.execute("DROP ROLE IF EXISTS pw_user")
        conn.execute("CREATE ROLE pw_user LOGIN PASSWORD 'right'")
        conn.execute("SELECT pg_reload_conf()")
    base = pg_database.url.replace("postgres@", "pw_user:{}@")
    try:
        with connect(base.format("right")) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("pw_user",)
        with pytest.raises(ConnectError) as wrong:
            connect(base.format("wrong"))
        assert str(wrong.value).startswith("PostgreSQL on socket folder")
        assert "rejected the password of user `pw_user`; fix the password" in str(wrong.value)
        assert "wrong" not in str(wrong.value)
        with pytest.raises(ConnectError, match="asks for the password of user `pw_user`"):
            connect(pg_database.url.replace("postgres@", "pw_user@"))
    finally:
        with pg_database.connect() as conn:
            conn.execute("DROP ROLE pw_user")


def test_read_only_sessions_refuse_writes(pg_database: PgDatabase) -> None:
    with connect(pg_database.url, read_only=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE t (x int)")
