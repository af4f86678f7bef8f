"""check over the real PostgreSQL history of ../shared/conformance/lightfriend-pg (latest commit folder).

Every migration gets a proof, and whether it "restores exactly" agrees with an oracle of the test's own:
the same up → down replayed with plain psycopg, comparing information_schema columns (in order),
pg_indexes and pg_constraint before and after. Skipped when the corpus is absent
(LIGHTNB_CONFORMANCE_DIR, else ../shared/conformance beside the project).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from lightnb.backends.postgres.pglint import lint_migration
from lightnb.backends.postgres.proof import prove_pending
from lightnb.migrations import Migration, discover
from tests.support.postgres import PgDatabase

REPO = Path(__file__).resolve().parents[2]


def _corpus() -> Path | None:
    base = Path(os.environ["LIGHTNB_CONFORMANCE_DIR"]) if os.environ.get("LIGHTNB_CONFORMANCE_DIR") else \
        REPO.parent / "shared" / "conformance"
    folder = base / "lightfriend-pg"
    commits = sorted(p for p in folder.iterdir() if (p / "migrations").is_dir()) if folder.is_dir() else []
    return commits[-1] if commits else None


CORPUS = _corpus()
pytestmark = pytest.mark.skipif(CORPUS is None, reason="conformance corpus lightfriend-pg is absent")


def _state(conn: Any) -> tuple[Any, ...]:
    columns = conn.execute("SELECT table_name, column_name, data_type, is_nullable, column_default "
                           "FROM information_schema.columns WHERE table_schema = 'public' "
                           "AND table_name <> '__diesel_schema_migrations' "
                           "ORDER BY table_name, ordinal_position").fetchall()
    indexes = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                           "AND tablename <> '__diesel_schema_migrations' ORDER BY 1").fetchall()
    constraints = conn.execute("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                               "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2").fetchall()
    return columns, indexes, constraints


def _oracle(db: PgDatabase, migrations: list[Migration]) -> dict[str, bool | None]:
    """Whether up → down gives back the catalogue, per migration (None: no down.sql)."""
    verdicts: dict[str, bool | None] = {}
    with db.connect() as conn:
        for migration in migrations:
            before = _state(conn)
            with conn.transaction():
                conn.execute(migration.up_sql().encode(), prepare=False)
            if migration.down_path is None:
                verdicts[migration.name] = None
                continue
            with conn.transaction():
                if migration.down_sql().strip():
                    conn.execute(migration.down_sql().encode(), prepare=False)
            verdicts[migration.name] = _state(conn) == before
            with conn.transaction():
                conn.execute(migration.up_sql().encode(), prepare=False)
    return verdicts


def test_every_migration_is_proven_and_restores_exactly_agrees_with_the_oracle(pg_database: PgDatabase) -> None:
    assert CORPUS is not None
    migrations = discover(CORPUS / "migrations")
    base = pg_database.cluster.create_database(f"{pg_database.name}_base")
    oracle_db = PgDatabase(f"{pg_database.name}_oracle", pg_database.cluster.create_database(
        f"{pg_database.name}_oracle"), pg_database.cluster)
    try:
        del base
        proofs = prove_pending(pg_database.cluster, f"{pg_database.name}_base", migrations, lint=lint_migration)
        oracle = _oracle(oracle_db, migrations)
    finally:
        pg_database.cluster.drop_database(f"{pg_database.name}_base")
        pg_database.cluster.drop_database(f"{pg_database.name}_oracle")
    assert [p.check.migration for p in proofs] == [m.name for m in migrations]
    for proof, migration in zip(proofs, migrations):
        check = proof.check
        assert check.steps[:1] == ("up",), f"{migration.name} did not apply: {check.reasons}"
        if migration.down_path is None:
            assert check.verdict == "unsafe" and "cannot prove the revert: down.sql is missing" in check.reasons
            assert oracle[migration.name] is None
            continue
        assert check.restores_exactly == oracle[migration.name], migration.name
        if not check.restores_exactly:
            assert check.schema_differences or check.column_order or check.row_differences or check.declared
