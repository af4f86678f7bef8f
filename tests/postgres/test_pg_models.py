"""The PostgreSQL model checks against what a real server prints.

The type-mapping fixture's schema.rs is print-schema's output for its schema.sql (so the checks are
tested on what diesel prints, not on a hand-written file), and lightfriend's hand-written models
are checked against the schema the database of its last commit prints.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from lightnb.backends.postgres.migrate import run_pending
from lightnb.models import check_models, parse_schema
from lightnb.schema.postgres import print_schema_postgres
from tests.support.postgres import PgDatabase

FIXTURE = Path(__file__).parents[1] / "models" / "fixtures" / "pg_types"


def test_the_type_fixture_is_what_print_schema_prints(pg_database: PgDatabase) -> None:
    pg_database.execute((FIXTURE / "schema.sql").read_text(encoding="utf-8"))
    assert print_schema_postgres(pg_database.url) == (FIXTURE / "src" / "schema.rs").read_text(encoding="utf-8")


@pytest.mark.conformance
def test_lightfriend_models_against_the_printed_schema(conformance_dir: Path, pg_database: PgDatabase) -> None:
    """Regenerating pg_schema.rs from the database would break none of its models (measured: 0 findings)."""
    root = conformance_dir / "lightfriend-pg"
    if not root.is_dir():
        pytest.skip(f"lightfriend-pg corpus not found at {root}")
    commit = sorted(p for p in root.iterdir() if p.is_dir())[-1]
    with pg_database.connect() as conn:
        run_pending(conn, commit / "migrations")
    printed = parse_schema(print_schema_postgres(pg_database.url))
    assert printed.backend == "postgres"
    module = Path(tomllib.loads((commit / "diesel.toml").read_text(encoding="utf-8"))["print_schema"]["file"]).stem
    report = check_models(commit / "models", printed, schema_module=("crate", module))
    assert report.findings == (), str(report)
    assert len(report.checked) == len(report.structs) > 40
