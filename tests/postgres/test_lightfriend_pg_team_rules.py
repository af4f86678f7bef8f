"""The team's rules on the real PostgreSQL history of ../shared/conformance/lightfriend-pg (latest commit folder).

Every finding must be true of that history: the column it names is one the migration added or changed, seen
by an oracle of the test's own (information_schema, read around each up.sql replayed with plain psycopg),
with a type that makes the claim true. Skipped when the corpus is absent (LIGHTNB_CONFORMANCE_DIR, else
../shared/conformance beside the project).
"""

from __future__ import annotations

from typing import Any

import pytest

from lightnb.backends.postgres.lintproject import lint_on_copy
from lightnb.lint.options import LintConfig
from lightnb.migrations import Migration, discover
from tests.postgres.test_lightfriend_pg_check import CORPUS
from tests.support.postgres import PgDatabase

pytestmark = pytest.mark.skipif(CORPUS is None, reason="conformance corpus lightfriend-pg is absent")
TEAM = ("timestamp-text", "json-column", "secret-plaintext")
TEXT = ("text", "character varying", "character")
TIME = ("timestamp without time zone", "timestamp with time zone", "date", "time without time zone",
        "time with time zone")


def _columns(conn: Any) -> dict[str, str]:
    rows = conn.execute("SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
                        "WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'").fetchall()
    return dict(rows)


def _made(db: PgDatabase, migrations: list[Migration]) -> dict[str, dict[str, str]]:
    """Per migration, the columns its up.sql added or retyped, with information_schema's data_type."""
    made: dict[str, dict[str, str]] = {}
    with db.connect() as conn:
        for migration in migrations:
            before = _columns(conn)
            with conn.transaction():
                conn.execute(migration.up_sql().encode(), prepare=False)
            made[migration.name] = {c: t for c, t in _columns(conn).items() if before.get(c) != t}
    return made


def test_every_team_finding_on_the_real_history_is_true(pg_database: PgDatabase) -> None:
    assert CORPUS is not None
    migrations = discover(CORPUS / "migrations")
    oracle_db = PgDatabase(f"{pg_database.name}_oracle", pg_database.cluster.create_database(
        f"{pg_database.name}_oracle"), pg_database.cluster)
    try:
        made = _made(oracle_db, migrations)
    finally:
        pg_database.cluster.drop_database(oracle_db.name)
    result = lint_on_copy(pg_database.cluster, pg_database.name, "(empty database)", CORPUS / "migrations",
                          LintConfig())
    team = [f for f in result.findings if f.rule in TEAM]
    for finding in team:
        column = finding.message.split(" ")[0]
        kind = made[finding.migration].get(column)
        assert kind is not None, f"{finding.location()}: {column} is not a column this migration made"
        words = column.split(".")[1].split("_")
        if finding.rule == "json-column":
            assert kind in ("json", "jsonb")
        elif finding.rule == "timestamp-text":
            assert kind in TIME or kind in TEXT
        else:
            assert kind in TEXT and {"token", "password", "secret", "key"} & set(words)
            assert words[0] not in ("encrypted", "hashed") and words[-1] not in ("hash", "encrypted")
        up = (CORPUS / "migrations" / finding.migration / "up.sql").read_text(encoding="utf-8").splitlines()
        assert column.split(".")[1] in "\n".join(up[finding.line - 1:]).split(";", 1)[0] or \
            column.split(".")[0] in up[finding.line - 1], finding
    # every json or time-typed column of the history would be a finding: the history has none
    assert not [c for m in made.values() for c, t in m.items() if t in ("json", "jsonb") or t in TIME]
    # what the history really holds: its timestamps are int4 Unix seconds (pg-int4-epoch's, not these rules'),
    # its documents TEXT, its secrets encrypted_*/…_hash but for the magic-link login token kept in plaintext
    assert [(f.rule, f.migration, f.line, f.message.split(" ")[0]) for f in team] == [
        ("secret-plaintext", "00000000000002_remaining_sqlite_tables", 4, "users.magic_token")]
    assert sum(f.rule == "pg-int4-epoch" for f in result.findings) == 45
