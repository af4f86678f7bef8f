"""Refuse migration SQL that reaches outside the database: files, programs, the server's settings, other servers.

Every PostgreSQL path that executes migration SQL (``migration run``/``revert``/``redo``, ``setup``, and
``check``'s proofs on clones) calls :func:`refuse_escapes` on the script before it is sent, so a refused
migration is never applied, not even its first statement. What is refused, statement by statement
(PostgreSQL's own parser, through pglast):

* ``COPY … TO 'file'`` / ``FROM 'file'`` and ``COPY … PROGRAM '…'`` (``TO STDOUT`` / ``FROM STDIN`` stay
  allowed);
* calls of the server-file and file-backed large-object functions (``pg_read_file``, ``pg_ls_dir``,
  ``lo_import``, ``lo_export``, adminpack's ``pg_file_write`` …) and of dblink's functions;
* ``ALTER SYSTEM``, ``LOAD``, foreign servers, user mappings, foreign tables and schemas imported from one;
* ``CREATE EXTENSION`` of an extension that reads files or reaches other servers or runs untrusted code
  (dblink, postgres_fdw, file_fdw, adminpack, the untrusted procedural languages);
* functions and ``DO`` blocks written in C or in an untrusted language; the same checks inside the bodies
  of functions, procedures and ``DO`` blocks, whose text (and the SQL strings in it, e.g. ``EXECUTE '…'``)
  is scanned token by token.

In a migration that runs in a transaction (diesel's default), a statement that ends that transaction
(``COMMIT``/``END``, ``ROLLBACK``/``ABORT``, ``PREPARE TRANSACTION``) is refused too: the statements before it would
stay committed while the rest, and the migration's version row, failed or ran on their own.

What a static check cannot see: SQL built at run time (``EXECUTE 'lo_' || 'export(…)'``, ``format()``),
functions that already exist in the database and do one of these things when called, and anything a
trusted function reaches through a name resolved later (``search_path``). On lightnb's rehearsal clones
the real fence is the role the SQL runs as (no superuser, no server-file or server-program rights);
on a database URL given to ``migration run``, the rights of the URL's role are that fence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from lightnb.backends.postgres.split import split
from lightnb.errors import MigrationError
from lightnb.migrations import Migration

_FILE_FUNCTIONS = frozenset({
    "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "pg_ls_logdir", "pg_ls_waldir",
    "pg_ls_tmpdir", "pg_ls_archive_statusdir", "pg_ls_logicalsnapdir", "pg_ls_logicalmapdir",
    "pg_ls_replslotdir", "pg_file_write", "pg_file_rename", "pg_file_unlink", "pg_file_sync",
    "pg_logdir_ls", "pg_file_read", "pg_file_length", "lo_import", "lo_export",
})
_REMOTE_PREFIXES = ("dblink",)
# Functions that act on other sessions or on the server itself, not on the database's contents.
_SERVER_FUNCTIONS = frozenset({"pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
                               "pg_promote", "pg_log_backend_memory_contexts"})
# Predefined roles whose members may read or write the server's files or run programs.
_SERVER_ROLES = frozenset({"pg_execute_server_program", "pg_read_server_files", "pg_write_server_files",
                           "pg_signal_backend", "pg_checkpoint"})
_EXTENSIONS = frozenset({"dblink", "postgres_fdw", "file_fdw", "adminpack", "plpythonu", "plpython2u",
                         "plpython3u", "plperlu", "pltclu", "plsh", "pg_execute_server_program"})
_LANGUAGES = frozenset({"c", "internal", "plpythonu", "plpython2u", "plpython3u", "plperlu", "pltclu", "plsh"})
_STATEMENTS = {
    "AlterSystemStmt": "ALTER SYSTEM changes the server's configuration",
    "LoadStmt": "LOAD loads a shared library into the server",
    "CreateForeignServerStmt": "CREATE SERVER reaches another server",
    "AlterForeignServerStmt": "ALTER SERVER reaches another server",
    "CreateUserMappingStmt": "CREATE USER MAPPING stores credentials for another server",
    "AlterUserMappingStmt": "ALTER USER MAPPING stores credentials for another server",
    "CreateForeignTableStmt": "CREATE FOREIGN TABLE reads another server or a file",
    "ImportForeignSchemaStmt": "IMPORT FOREIGN SCHEMA reads another server",
    "CreateFdwStmt": "CREATE FOREIGN DATA WRAPPER reaches outside the database",
}
_MAX_DEPTH = 4  # SQL strings inside bodies inside strings …


class EscapeRefused(MigrationError):
    """A migration's SQL would read or write the server's files, run a program or reach another server."""


class TransactionEndRefused(MigrationError):
    """A migration that runs in a transaction would end it (COMMIT, ROLLBACK, PREPARE TRANSACTION): what ran before
    would stay committed (or be lost) while the rest, and the migration's version row, fail or run on their own."""


# The transaction statements that end the transaction a migration runs in (``COMMIT`` and ``END``, ``ROLLBACK`` and
# ``ABORT``, ``PREPARE TRANSACTION``, and the prepared ones'); ``BEGIN`` inside it is only a warning, and a
# migration's own savepoints stay inside it.
_LEADING_WORD = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*([A-Za-z]+)", re.DOTALL)
_TRANSACTION_ENDS = {"TRANS_STMT_COMMIT": "COMMIT", "TRANS_STMT_ROLLBACK": "ROLLBACK",
                     "TRANS_STMT_PREPARE": "PREPARE TRANSACTION", "TRANS_STMT_COMMIT_PREPARED": "COMMIT PREPARED",
                     "TRANS_STMT_ROLLBACK_PREPARED": "ROLLBACK PREPARED"}


def _function_reason(name: str) -> str | None:
    name = name.lower()
    if name in _FILE_FUNCTIONS:
        return f"{name}() reads or writes the server's files"
    if name.startswith(_REMOTE_PREFIXES):
        return f"{name}() reaches another server"
    if name in _SERVER_FUNCTIONS:
        return f"{name}() acts on other sessions or on the server"
    return None


def _role_reason(kind: str, value: dict[str, Any]) -> str | None:
    """Why a role statement is refused: it hands out superuser, or the server's file and program rights."""
    if kind == "GrantRoleStmt" and value.get("is_grant"):
        granted = [str(item.get("AccessPriv", {}).get("priv_name", "")).lower()
                   for item in value.get("granted_roles") or [] if isinstance(item, dict)]
        server = sorted(set(granted) & _SERVER_ROLES)
        if server:
            return f"GRANT {server[0]} gives the right to reach the server's files, programs or sessions"
    if kind in ("CreateRoleStmt", "AlterRoleStmt"):
        superuser = _options(value.get("options")).get("superuser")
        if isinstance(superuser, dict) and superuser.get("Boolean", {}).get("boolval"):
            return "a role with SUPERUSER can reach the server's files and programs"
    return None


def _sval(node: Any) -> str:
    if isinstance(node, dict):
        inner = node.get("String", node)
        return str(inner.get("sval", ""))
    return ""


def _options(args: list[Any] | None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in args or []:
        elem = item.get("DefElem") if isinstance(item, dict) else None
        if elem:
            found[elem.get("defname", "")] = elem.get("arg")
    return found


def _body_texts(arg: Any) -> list[str]:
    if isinstance(arg, dict) and "List" in arg:
        return [_sval(item) for item in arg["List"].get("items", [])]
    return [_sval(arg)] if arg else []


def _node_reasons(node: Any, depth: int) -> Iterator[str]:
    """Yield why a parse-tree node (and everything under it) is refused."""
    if isinstance(node, list):
        for item in node:
            yield from _node_reasons(item, depth)
        return
    if not isinstance(node, dict):
        return
    for kind, value in node.items():
        if kind in _STATEMENTS:
            yield _STATEMENTS[kind]
        elif kind in ("GrantRoleStmt", "CreateRoleStmt", "AlterRoleStmt") and isinstance(value, dict):
            reason = _role_reason(kind, value)
            if reason:
                yield reason
        elif kind == "CopyStmt" and isinstance(value, dict):
            if value.get("is_program"):
                yield "COPY … PROGRAM runs a program on the server"
            elif value.get("filename"):
                yield f"COPY {'FROM' if value.get('is_from') else 'TO'} a file reads or writes the server's files"
        elif kind == "FuncCall" and isinstance(value, dict):
            names = value.get("funcname") or []
            reason = _function_reason(_sval(names[-1])) if names else None
            if reason:
                yield reason
        elif kind == "CreateExtensionStmt" and isinstance(value, dict):
            name = str(value.get("extname", "")).lower()
            if name in _EXTENSIONS:
                yield f"CREATE EXTENSION {name} reaches outside the database"
        elif kind in ("CreateFunctionStmt", "DoStmt") and isinstance(value, dict):
            options = _options(value.get("options") if kind == "CreateFunctionStmt" else value.get("args"))
            language = _sval(options.get("language")).lower() or ("plpgsql" if kind == "DoStmt" else "sql")
            what = "DO block" if kind == "DoStmt" else "function"
            if language in _LANGUAGES:
                yield f"a {what} in LANGUAGE {language} runs code outside PostgreSQL's sandbox"
            elif depth < _MAX_DEPTH:
                for body in _body_texts(options.get("as")):
                    yield from (f"{reason} (inside a {what})" for reason in _text_reasons(body, depth + 1))
        if isinstance(value, (dict, list)):
            yield from _node_reasons(value, depth)


def _unquote(token: str) -> str:
    if token.startswith("$"):
        tag_end = token.find("$", 1) + 1
        return token[tag_end:len(token) - tag_end]
    if token[:1] in "eEnN" and token[1:2] == "'":
        token = token[1:]
    if token.startswith("'") and token.endswith("'"):
        return token[1:-1].replace("''", "'").replace("\\'", "'")
    return token


def _token_reasons(text: str, depth: int) -> Iterator[str]:
    """Scan text the parser cannot read as SQL (a PL/pgSQL body) token by token."""
    from pglast.parser import ParseError, scan  # imported when SQL is first read
    data = text.encode("utf-8")
    try:
        tokens = scan(text)
    except ParseError:
        tokens = []
    words = [(t.name, data[t.start:t.end + 1].decode("utf-8", errors="replace")) for t in tokens
             if t.name not in ("SQL_COMMENT", "C_COMMENT")]
    for index, (name, word) in enumerate(words):
        following = [n for n, _ in words[index + 1:index + 3]]
        if name == "IDENT" and following[:1] == ["ASCII_40"]:
            reason = _function_reason(word.strip('"'))
            if reason:
                yield reason
        elif name == "ALTER" and following[:1] == ["SYSTEM_P"]:
            yield _STATEMENTS["AlterSystemStmt"]
        elif name == "LOAD" and following[:1] == ["SCONST"]:
            yield _STATEMENTS["LoadStmt"]
        elif name == "CREATE" and (following[:1] == ["SERVER"] or following == ["USER", "MAPPING"]):
            yield "CREATE SERVER or USER MAPPING reaches another server"
        elif name == "CREATE" and following[:1] == ["FOREIGN"]:
            yield "CREATE FOREIGN … reaches another server or a file"
        elif name == "IMPORT_P" and following[:1] == ["FOREIGN"]:
            yield _STATEMENTS["ImportForeignSchemaStmt"]
        elif name == "COPY":
            tail = [n for n, _ in words[index + 1:]]
            tail = tail[:tail.index("ASCII_59")] if "ASCII_59" in tail else tail
            if "PROGRAM" in tail:
                yield "COPY … PROGRAM runs a program on the server"
            elif any(a in ("TO", "FROM") and b == "SCONST" for a, b in zip(tail, tail[1:])):
                yield "COPY to or from a file reads or writes the server's files"
        elif name == "SCONST" and depth < _MAX_DEPTH:
            yield from _text_reasons(_unquote(word), depth + 1)


def _text_reasons(text: str, depth: int) -> Iterator[str]:
    """Yield why a piece of SQL (or a body that may hold SQL) is refused."""
    from pglast.parser import ParseError, parse_sql_json  # imported when SQL is first read
    if not text.strip():
        return
    try:
        tree = json.loads(parse_sql_json(text))
    except ParseError:
        yield from _token_reasons(text, depth)
        return
    yield from _node_reasons(tree.get("stmts", []), depth)


def first_escape(script: str) -> tuple[int, str] | None:
    """Return ``(line, reason)`` for the first statement of ``script`` that reaches outside the database."""
    for statement in split(script):
        for reason in _text_reasons(statement.text, 0):
            return statement.line, reason
    return None


def first_transaction_end(script: str) -> tuple[int, str] | None:
    """Return ``(line, statement)`` for the first statement of ``script`` that ends the transaction it runs in
    (``COMMIT``, ``ROLLBACK``, ``PREPARE TRANSACTION`` …), or None."""
    from pglast.parser import ParseError, parse_sql_json  # imported when SQL is first read
    for statement in split(script):
        try:
            tree = json.loads(parse_sql_json(statement.text))
        except ParseError:
            continue  # the server refuses it before anything of the script runs
        for item in tree.get("stmts", []):
            kind = (item.get("stmt") or {}).get("TransactionStmt", {}).get("kind")
            if kind in _TRANSACTION_ENDS:
                # named as written (END is a COMMIT, ABORT a ROLLBACK, to the parser)
                written = _LEADING_WORD.match(statement.text)
                word = written.group(1).upper() if written else ""
                return statement.line, word if word in ("END", "ABORT") else _TRANSACTION_ENDS[kind]
    return None


def refuse_escapes(migration: Migration, script: str, file: str = "up.sql") -> None:
    """Raise :class:`EscapeRefused` (one line, the migration not applied) when ``script`` reaches outside, and
    :class:`TransactionEndRefused` when it would end the transaction it runs in (a migration that runs in one).

    :param file: ``up.sql`` or ``down.sql``, named in the message.
    """
    path = migration.up_path if file == "up.sql" else migration.down_path
    if migration.run_in_transaction and (ending := first_transaction_end(script)) is not None:
        line, statement = ending
        raise TransactionEndRefused(
            f"Refused to run {migration.name}/{file} line {line}: {statement} is not allowed in a migration that runs "
            f"in a transaction (it would end the migration's transaction halfway); remove it, or set "
            f"`run_in_transaction = false` in its metadata.toml (nothing of this migration was applied).",
            path=path, version=migration.version)
    found = first_escape(script)
    if found is None:
        return
    line, reason = found
    raise EscapeRefused(f"Refused to run {migration.name}/{file} line {line}: {reason}; migration SQL may only "
                        f"change the database (nothing of this migration was applied).", path=path,
                        version=migration.version)
