"""PostgreSQL database URLs, read the way libpq (and so diesel) reads them.

``postgres://`` and ``postgresql://`` URLs are parsed by libpq itself (through psycopg), so every
form libpq accepts works: ``postgres://user:password@host:port/db``, a unix-socket folder given as
``?host=/path`` or as a percent-encoded host (``postgres://%2Fvar%2Frun%2Fpostgresql/db``), and any
libpq parameter in the query string. Passwords never appear in what these functions return for
people to read.
"""

from __future__ import annotations

import getpass
from urllib.parse import quote

from psycopg import conninfo as _conninfo
from psycopg.errors import ProgrammingError

from lightnb.errors import ProjectError


def parse(url: str) -> dict[str, str]:
    """Return the libpq parameters of a PostgreSQL URL (``host``, ``port``, ``dbname``, ``user`` …).

    :raises ProjectError: when libpq cannot parse the URL.
    """
    try:
        params = _conninfo.conninfo_to_dict(url.strip())
    except ProgrammingError as error:
        reason = " ".join(str(error).replace(url.strip(), redact(url)).split())  # libpq quotes the URL
        raise ProjectError(f"Invalid PostgreSQL URL {redact(url)!r} ({reason}); write it as "
                           f"postgres://user:password@host:port/database.") from error
    return {key: str(value) for key, value in params.items() if value is not None}


def is_url(text: str) -> bool:
    """Return True when ``text`` is a ``postgres://`` or ``postgresql://`` URL."""
    return text.strip().startswith(("postgres://", "postgresql://"))


def user_of(params: dict[str, str]) -> str:
    """Return the role libpq connects as: ``user``, else the operating-system user."""
    return params.get("user") or getpass.getuser()


def database_of(params: dict[str, str]) -> str:
    """Return the database libpq connects to: ``dbname``, else the role name (libpq's default)."""
    return params.get("dbname") or user_of(params)


def with_database(url: str, database: str) -> str:
    """Return a connection string for the same server and role, on another database.

    diesel does the same to reach the ``postgres`` database before creating a missing one.
    """
    return _conninfo.make_conninfo(url.strip(), dbname=database)


def where(params: dict[str, str]) -> str:
    """Return where a server is, for messages: ``socket folder /run/x`` or ``host:port``."""
    host = params.get("host") or params.get("hostaddr") or ""
    port = params.get("port") or "5432"
    if not host:
        return f"the local socket (port {port})"
    if host.startswith("/") or host.startswith("@"):
        return f"socket folder {host} (port {port})"
    return f"{host}:{port}"


def describe(url: str) -> str:
    """Return ``database `x` on host:port`` for messages (never the password)."""
    params = parse(url)
    return f"database `{database_of(params)}` on {where(params)}"


def redact(url: str) -> str:
    """Return the URL with its password replaced by ``***`` (a URL libpq cannot parse is cut short)."""
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        return "***" if "password" in text else text
    authority, slash, tail = rest.partition("/")
    if "@" in authority:
        credentials, _, host = authority.rpartition("@")
        user, colon, _password = credentials.partition(":")
        authority = f"{user}:***@{host}" if colon else f"{user}@{host}"
    path, question, query = tail.partition("?")
    query = "&".join("password=***" if part.startswith("password=") else part for part in query.split("&"))
    return f"{scheme}://{authority}{slash}{path}{question}{query}"


def socket_url(socket_dir: str, database: str, *, user: str = "postgres", port: int = 5432) -> str:
    """Return the URL of a database reached through a unix-socket folder (diesel accepts it too)."""
    return (f"postgresql://{quote(user, safe='')}@/{quote(database, safe='')}"
            f"?host={quote(socket_dir, safe='/')}&port={port}")
