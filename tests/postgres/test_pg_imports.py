"""A PostgreSQL verb loads what it uses: PostgreSQL's parser (pglast) only when it reads SQL, the Rust
reader (lightnb.models) only when it reads a Rust file, SQLite's introspection never, the private
cluster's manager only when it starts or copies into a cluster. Structural, not timed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.postgres import PgDatabase

RUN = r"""
import json, sys
from lightnb.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print("\n" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""

# What a PostgreSQL print-schema needs: the core every verb shares (the project's settings, the command's
# ledger, the migrations folder, the record type they are made with), the options, records and renderer of
# print-schema, a read-only connection, diesel's catalogue queries, and its own result.
PG_PRINT_SCHEMA_MODULES = {
    "lightnb", "lightnb.lazy", "lightnb.errors",
    "lightnb.files", "lightnb.layout", "lightnb.settings", "lightnb.project",
    "lightnb.migrations", "lightnb.target", "lightnb.workspace", "lightnb.listing", "lightnb.rendered", "lightnb.steps",
    "lightnb.runner", "lightnb.scratch", "lightnb.signals", "lightnb.statement_log", "lightnb.progress",
    "lightnb.ledger", "lightnb.records",
    "lightnb.backends", "lightnb.backends.statement", "lightnb.backends.sqlite",
    "lightnb.cli", "lightnb.cli._common", "lightnb.cli.print_schema", "lightnb.envfile",
    "lightnb.schema", "lightnb.schema.config", "lightnb.schema.model", "lightnb.schema.naming",
    "lightnb.schema.inference", "lightnb.schema.layout", "lightnb.schema.print_schema", "lightnb.schema.postgres",
    "lightnb.printed_schema",
    "lightnb.backends.postgres", "lightnb.backends.postgres.connect", "lightnb.backends.postgres.url",
    "lightnb.backends.postgres.catalog", "lightnb.backends.postgres.project_cluster",
}
# Never loaded by a PostgreSQL verb that only reads the catalogue: SQLite's introspection and the schema-file
# sync, the structural check and the patch applier (no file compared, no patch configured), every other
# verb's results, the SQL guard and its parser, the private cluster's manager (and its hashing and
# processes), the backend's catalogue records, the Rust reader.
NOT_FOR_A_PG_PRINT_SCHEMA = {
    "lightnb.schema.introspect", "lightnb.schema.sync", "lightnb.schema.style", "lightnb.schema.target",
    "lightnb.schema.structure", "lightnb.schema.patch", "lightnb.results", "lightnb.catalog",
    "lightnb.backends.postgres.guard", "lightnb.backends.postgres.split", "lightnb.backends.postgres.records",
    "lightnb.backends.postgres.private", "lightnb.backends.postgres.cluster", "lightnb.backends.postgres.binaries",
    "lightnb.backends.postgres.watchdog", "lightnb.backends.postgres.verbs", "lightnb.backends.postgres.migrate",
    "lightnb.inspect.redact", "hashlib", "difflib", "pglast",
}
# A migration run reads SQL (the parser and the guard) and writes the version rows, but reads no
# catalogue and, with --no-schema, prints no schema: none of print-schema's modules, no cluster manager
# (the database exists), no other verb's result, no inspect, lint or model module.
NOT_FOR_A_PG_MIGRATION_RUN = {
    "lightnb.schema", "lightnb.catalog", "lightnb.results", "lightnb.printed_schema",
    "lightnb.backends.postgres.records", "lightnb.backends.postgres.catalog",
    "lightnb.backends.postgres.private", "lightnb.backends.postgres.cluster", "lightnb.backends.postgres.binaries",
    "lightnb.backends.postgres.watchdog", "lightnb.inspect.redact", "hashlib", "difflib",
}


def _run(args: list[str], cwd: Path) -> tuple[int, set[str], str]:
    done = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True, cwd=cwd, timeout=120)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["code"], set(report["modules"]), done.stdout


def _below(modules: set[str], *packages: str) -> set[str]:
    return {m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)}


def test_print_schema_of_a_postgres_database_loads_neither_the_sql_parser_nor_the_rust_reader(pg_database: PgDatabase,
                                                                         tmp_path: Path) -> None:
    pg_database.execute("CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL)")
    (tmp_path / "diesel.toml").write_text("", encoding="utf-8")
    code, modules, out = _run(["print-schema", "--database-url", pg_database.url], tmp_path)
    assert code == 0 and "users (id) {" in out
    assert "lightnb.backends.postgres" in modules
    assert not _below(modules, "pglast", "lightnb.models")


def test_print_schema_of_a_postgres_database_loads_only_the_named_set(pg_database: PgDatabase,
                                                                      tmp_path: Path) -> None:
    pg_database.execute("CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);"
                        "CREATE TABLE posts (id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id))")
    (tmp_path / "diesel.toml").write_text("", encoding="utf-8")
    code, modules, out = _run(["print-schema", "--database-url", pg_database.url], tmp_path)
    assert code == 0 and "diesel::joinable!(posts -> users (user_id));" in out
    ours = _below(modules, "lightnb")
    assert ours <= PG_PRINT_SCHEMA_MODULES, sorted(ours - PG_PRINT_SCHEMA_MODULES)
    assert not modules & NOT_FOR_A_PG_PRINT_SCHEMA, sorted(modules & NOT_FOR_A_PG_PRINT_SCHEMA)


def test_a_postgres_migration_run_loads_no_catalogue_reader_nor_cluster_manager(pg_database: PgDatabase,
                                                                                tmp_path: Path) -> None:
    migration = tmp_path / "migrations" / "2024-01-01-000000_create_users"
    migration.mkdir(parents=True)
    (migration / "up.sql").write_text("CREATE TABLE users (id bigint PRIMARY KEY);\n", encoding="utf-8")
    (migration / "down.sql").write_text("DROP TABLE users;\n", encoding="utf-8")
    (tmp_path / "diesel.toml").write_text("", encoding="utf-8")
    code, modules, _ = _run(["migration", "run", "--no-schema", "--database-url", pg_database.url], tmp_path)
    assert code == 0
    with pg_database.connect() as conn:
        assert conn.execute("SELECT version FROM __diesel_schema_migrations").fetchall() == [("20240101000000",)]
    assert {"pglast", "lightnb.backends.postgres.guard", "lightnb.backends.postgres.migrate"} <= modules
    loaded = _below(modules, *NOT_FOR_A_PG_MIGRATION_RUN)
    assert not loaded, sorted(loaded)
    assert not _below(modules, "lightnb.models", "lightnb.inspect", "lightnb.lint", "sqlglot", "pandas")


def test_the_backend_loads_the_parser_when_it_first_reads_sql() -> None:
    done = subprocess.run([sys.executable, "-c", r"""
import sys
import lightnb.backends.postgres as backend
from lightnb.backends.postgres import base, dump, guard
before = "pglast" in sys.modules
statements = backend.split("CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
print(before, len(statements), "pglast" in sys.modules, guard.first_escape("COPY t FROM '/etc/passwd'") is not None)
"""], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "2", "True", "True"], done.stderr


def test_the_backend_package_loads_its_parts_when_used_and_keeps_its_functions_over_modules() -> None:
    """Importing the backend loads neither the guard, the cluster manager nor the catalogue records; each
    name is its module's own object when first used; ``connect`` and ``split`` stay the Backend's
    functions after the modules of the same names are imported."""
    done = subprocess.run([sys.executable, "-c", r"""
import importlib, sys, types
import lightnb.backends.postgres as backend
parts = ("guard", "private", "records", "split", "cluster")
print(sorted(p for p in parts if f"lightnb.backends.postgres.{p}" in sys.modules))
import lightnb.backends.postgres.split, lightnb.backends.postgres.connect  # binds the modules
print(all(isinstance(f, types.FunctionType) for f in (backend.split, backend.connect)))
homes = {"EscapeRefused": "guard", "first_escape": "guard", "NotPrivate": "private", "private_cluster": "private",
         "require_private": "private", "read_catalog": "records", "split": "split"}
wrong = [name for name, home in homes.items()
         if getattr(backend, name) is not getattr(importlib.import_module(f"lightnb.backends.postgres.{home}"), name)]
print(wrong, set(backend.__all__) <= set(dir(backend)))
try:
    backend.no_such_name
except AttributeError as error:
    print("refused" if "no_such_name" in str(error) else error)
"""], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "True", "[] True", "refused"], done.stdout
