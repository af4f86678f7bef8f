"""PostgreSQL database URLs, read the way libpq (and so diesel) reads them.

``postgres://`` and ``postgresql://`` URLs are parsed by libpq itself (through psycopg), so every
form libpq accepts works: ``postgres://user:password@host:port/db``, a unix-socket folder given as
``?host=/path`` or as a percent-encoded host (``postgres://%2Fvar%2Frun%2Fpostgresql/db``), and any
libpq parameter in the query string. Passwords never appear in what these functions return for
people to read.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from psycopg import conninfo as _conninfo
from psycopg.errors import ProgrammingError

from lightnb.errors import ProjectError


def parse(url: str) -> dict[str, str]:
    """Return the libpq parameters of a PostgreSQL URL (``host``, ``port``, ``dbname``, ``user`` …).

    :raises ProjectError: when libpq cannot parse the URL, or a ``/`` sits in its user or password
        (libpq would read the password as a host and port, and say so with the password in the message).
    """
    text = url.strip()
    credentials = _credentials(text)
    if credentials is not None and ("/" in credentials or "@" in credentials):
        odd = "/" if "/" in credentials else "@"
        raise ProjectError(f"The PostgreSQL URL {redact(url)!r} has a `{odd}` in its user or password; "
                           f"percent-encode it (/ as %2F, @ as %40, : as %3A, space as %20).")
    try:
        params = _conninfo.conninfo_to_dict(text)
    except ProgrammingError as error:
        reason = " ".join(_hide_secrets(str(error), text).split())  # libpq quotes parts of the URL
        raise ProjectError(f"Invalid PostgreSQL URL {redact(url)!r} ({reason}); write it as "
                           f"postgres://USER:PASSWORD@HOST:PORT/DATABASE, special characters percent-encoded."
                           ) from error
    return {key: str(value) for key, value in params.items() if value is not None}


def _credentials(text: str) -> str | None:
    """Return what stands before the last ``@`` of a URL's authority (``user:password``), or None."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        return None
    head = rest.split("?", 1)[0].split("#", 1)[0]
    credentials, at, _host = head.rpartition("@")
    return credentials if at else None


def _hide_secrets(message: str, text: str) -> str:
    """Return ``message`` without the URL, its password or its ``password=`` parameter."""
    message = message.replace(text, redact(text))
    credentials = _credentials(text)
    secrets = []
    if credentials and ":" in credentials:
        secrets.append(credentials.split(":", 1)[1])
    for part in text.partition("?")[2].split("&"):
        if part.startswith("password="):
            secrets.append(part[len("password="):])
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        message = message.replace(secret, "***")
        message = message.replace(unquote(secret), "***")
        for piece in unquote(secret).split():  # libpq quotes a password cut at a space
            if len(piece) >= 3:
                message = message.replace(piece, "***")
    return message


def is_url(text: str) -> bool:
    """Return True when ``text`` is a ``postgres://`` or ``postgresql://`` URL."""
    return text.strip().startswith(("postgres://", "postgresql://"))


def user_of(params: dict[str, str]) -> str:
    """Return the role libpq connects as: ``user``, else the operating-system user."""
    if params.get("user"):
        return params["user"]
    import getpass  # libpq's default user: the system user's name
    return getpass.getuser()


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
    credentials = _credentials(text)
    if credentials is not None:
        host_and_tail = rest[len(credentials) + 1:]
        user, colon, _password = credentials.partition(":")
        rest = (f"{user}:***@" if colon else f"{user}@") + host_and_tail
    head, question, query = rest.partition("?")
    query = "&".join("password=***" if part.startswith("password=") else part for part in query.split("&"))
    return f"{scheme}://{head}{question}{query}"


def socket_url(socket_dir: str, database: str, *, user: str = "postgres", port: int = 5432) -> str:
    """Return the URL of a database reached through a unix-socket folder (diesel accepts it too)."""
    return (f"postgresql://{quote(user, safe='')}@/{quote(database, safe='')}"
            f"?host={quote(socket_dir, safe='/')}&port={port}")
