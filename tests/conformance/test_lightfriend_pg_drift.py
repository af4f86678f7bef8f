"""The hand-written PostgreSQL schema.rs of a real project, checked against its own migrations.

For each of the 19 commits in ``<conformance>/lightfriend-pg``: replay every migration on a fresh
database (diesel's semantics: one transaction each), read the catalogue as print-schema does, and
compare the commit's hand-written ``schema.rs`` structurally. The expectations below are the facts
its README lists (measured independently); lightnb must find exactly those differences, no more.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lightnb.backends.postgres.catalog import read_schema
from lightnb.backends.postgres.migrate import run_pending
from lightnb.schema.structure import StructureDrift, compare_structure
from tests.conftest import conformance_root
from tests.support.postgres import PgDatabase

pytestmark = pytest.mark.conformance

CORPUS = conformance_root() / "lightfriend-pg"
COMMITS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []

# The README's facts, by commit number (the folder's three-digit prefix).
ONTOLOGY = ("ont_persons", "ont_person_edits", "ont_channels", "ont_changelog")
REFRESH = ("refresh_token_hash", "refresh_token_compromised", "magic_token_expires_at")


def tables_only_in_file(n: int) -> set[str]:
    return set(ONTOLOGY) | ({"ont_links"} if n == 6 else set()) if 4 <= n <= 6 else set()


def tables_only_in_database(n: int) -> set[str]:
    return {"contact_profiles", "contact_profile_exceptions"} if 5 <= n <= 18 else set()


def columns_only_in_file(n: int) -> set[str]:
    columns = {f"users.{c}" for c in REFRESH} if n in (11, 12) else set()
    if n == 16:
        columns.add("user_settings.system_important_notify")
    if n == 18:
        columns |= {"ont_messages.urgency", "ont_messages.category", "ont_messages.summary",
                    "ont_messages.digest_delivered_at", "user_settings.digest_enabled", "user_settings.digest_time"}
    return columns


def drift_of(commit: Path, database: PgDatabase) -> StructureDrift:
    with database.connect() as conn:
        applied = run_pending(conn, commit / "migrations")
        schema = read_schema(conn)
    assert applied, "every commit has migrations"
    return compare_structure((commit / "schema.rs").read_text(encoding="utf-8"), schema)


@pytest.fixture
def corpus(conformance_dir: Path) -> Path:
    folder = conformance_dir / "lightfriend-pg"
    if not folder.is_dir():
        pytest.skip(f"lightfriend-pg not found in {conformance_dir}")
    return folder


def test_the_corpus_has_its_19_commits(corpus: Path) -> None:
    assert len(COMMITS) == 19 and [c[:3] for c in COMMITS] == [f"{i:03d}" for i in range(19)]


@pytest.mark.parametrize("commit", COMMITS)
def test_drift_is_exactly_what_the_readme_lists(commit: str, corpus: Path, pg_database: PgDatabase) -> None:
    n = int(commit[:3])
    drift = drift_of(corpus / commit, pg_database)

    assert set(drift.tables_only_in_file) == tables_only_in_file(n)
    assert set(drift.tables_only_in_database) == tables_only_in_database(n)
    assert {f"{t.table}.{c}" for t in drift.tables for c in t.columns_only_in_file} == columns_only_in_file(n)
    assert not any(t.columns_only_in_database for t in drift.tables)
    # column order: only users, from 013 on, where the three refresh columns sit elsewhere
    reordered = {t.table: t.order_window() for t in drift.tables if t.order is not None}
    if 13 <= n <= 18:
        after, in_file, in_db = reordered.pop("users")
        assert after == "magic_token"
        assert in_file[:3] == REFRESH and in_db[-3:] == REFRESH and in_db[:-3] == in_file[3:]
    assert reordered == {}
    # primary keys, types (aliases folded) and nullability agree wherever a column is on both sides
    assert all(not (t.types or t.nullability or t.primary_key) for t in drift.tables)
    assert drift.in_sync is (n <= 3)
    if n == 5:
        assert (drift.database_tables, drift.file_tables) == (27, 29)
    if n == 18:
        assert (drift.database_tables, drift.file_tables) == (37, 35)
    # joinables the file declares although no migration creates their foreign key
    declared = {("refund_info", "users", "user_id"), ("user_settings", "users", "user_id")} if n >= 1 else set()
    if 4 <= n <= 6:
        declared |= {("ont_channels", "ont_persons", "person_id"), ("ont_person_edits", "ont_persons", "person_id")}
    assert set(drift.joinables_only_in_file) == declared
