"""Replay the schema history of a real Diesel + SQLite backend (``<conformance>/lightfriend``).

For every commit folder: copy its diesel.toml and committed schema.rs into a scratch project,
apply every up.sql in version order to a fresh database with lightnb's runner, regenerate the
schema file in the style the committed file was printed in (auto-detected), and compare bytes.

A commit whose regenerated file differs must be one the out-of-sync check flags, with one
readable finding per difference. The commits of this history whose committed schema.rs does not
match their own migrations are listed in ``OUT_OF_SYNC`` with the findings verified by reading
the files; any other miss fails the test.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from lightnb import migrations, runner
from lightnb.backends import sqlite
from lightnb.errors import MigrationError
from lightnb.project import Project
from lightnb.schema import check_schema_sync, detect_style, regenerate_schema_files
from lightnb.schema.sync import check_migrations_sync
from tests.conftest import conformance_root

pytestmark = pytest.mark.conformance

CORPUS = conformance_root() / "lightfriend"
COMMITS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []

_STRIPE_TWICE = (
    "the migrations do not apply to a fresh database: Failed to run "
    "2025-03-01-182048_add_stripe_payment_method_id with: duplicate column name: stripe_payment_method_id "
    "(lightnb: up.sql line 2: ALTER TABLE users ADD COLUMN stripe_payment_method_id TEXT; fix the statement "
    "and run again — nothing of this migration was applied.)")

# Commits whose committed schema.rs is not what their migrations print, and why (read by hand):
OUT_OF_SYNC = {
    # schema.rs written by hand: tables unsorted, and the joinable for the FOREIGN KEY left out.
    "002-ec191fd8a8": [
        "tables are not in diesel's order in schema.rs: file has users, phone_verification_otps; "
        "database has phone_verification_otps, users",
        "joinable `phone_verification_otps -> users (user_id)` follows from the database's foreign keys "
        "but is missing from schema.rs",
    ],
    # 2025-02-08-205047_phonenumberfromemail renames users to users_old and drops it; SQLite >= 3.26
    # rewrites phone_verification_otps' REFERENCES users(id) to users_old, so no joinable remains.
    "004-09dd6855b7": [
        "joinable `phone_verification_otps -> users (user_id)` is in schema.rs but in the database "
        "`phone_verification_otps.user_id` references `users_old`, which does not exist (SQLite rewrites "
        "references when a table is renamed)",
    ],
    # 2025-02-14-121629_add_info was edited to add stripe_payment_method_id, which a later migration
    # adds again: the history no longer applies to a fresh database (fixed in 027).
    "024-5a1cebbd1c": [_STRIPE_TWICE],
    "025-1434b762e7": [_STRIPE_TWICE],
    "026-a4a02a6ccd": [_STRIPE_TWICE],
    # schema.rs printed from a local database ahead of the migrations: no migration creates bridges
    # or the two matrix columns of users.
    "031-9fee4e04fe": [
        "table `bridges` is in schema.rs but no migration creates it",
        "users.matrix_username: column is in schema.rs but not in the database",
        "users.encrypted_matrix_access_token: column is in schema.rs but not in the database",
    ],
}
IDENTICAL_FLOOR = 33


@dataclass(frozen=True)
class Replay:
    """What replaying one commit gave."""

    style: str
    identical: bool
    in_sync: bool
    findings: tuple[str, ...]
    diff: str


def scratch_project(commit: Path, folder: Path) -> Project:
    """Return a scratch project with the commit's diesel.toml and committed schema file."""
    folder.mkdir(parents=True)
    shutil.copyfile(commit / "diesel.toml", folder / "diesel.toml")
    project = Project.discover(folder, migration_dir=commit / "migrations", environ={})
    for options in project.print_schema.values():
        if "file" in options:
            target = project.resolve(options["file"])
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(commit / "schema.rs", target)
        patch = options.get("patch_file")
        if isinstance(patch, str) and not Path(patch).is_absolute():
            # a patch file the commit ships, at its diesel.toml path or beside schema.rs
            source = next((p for p in (commit / patch, commit / Path(patch).name) if p.is_file()), None)
            if source is not None:
                project.resolve(patch).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, project.resolve(patch))
    return project


@cache
def replay(name: str, scratch: Path) -> Replay:
    commit = CORPUS / name
    committed = (commit / "schema.rs").read_text(encoding="utf-8")
    style = detect_style(committed) or "2.2/2.3 (same text)"
    project = scratch_project(commit, scratch / name)
    report = check_migrations_sync(project)
    conn = sqlite.connect(scratch / f"{name}.sqlite3")
    try:
        try:
            runner.run_pending(conn, migrations.discover(project.migrations_dir))
        except MigrationError:
            identical = False
        else:
            assert check_schema_sync(project, conn).in_sync == report.in_sync
            written = regenerate_schema_files(project, conn)
            identical = [p.read_text(encoding="utf-8") for p in written] == [committed]
    finally:
        conn.close()
    return Replay(style, identical, report.in_sync, tuple(report.findings), report.diff)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lightfriend")


@pytest.mark.parametrize("name", COMMITS)
def test_commit_regenerates_or_is_flagged(name: str, conformance_dir: Path, scratch: Path) -> None:
    result = replay(name, scratch)
    # The out-of-sync check flags exactly the commits that do not regenerate byte for byte.
    assert result.in_sync == result.identical, result.findings
    if result.identical:
        assert name not in OUT_OF_SYNC, f"{name} now regenerates identically; remove it from OUT_OF_SYNC"
        return
    assert name in OUT_OF_SYNC, f"unexplained miss {name}: {result.findings}\n{result.diff}"
    assert list(result.findings) == OUT_OF_SYNC[name]
    assert all("\n" not in finding for finding in result.findings)


def test_history_summary(conformance_dir: Path, scratch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = {name: replay(name, scratch) for name in COMMITS}
    identical = sum(r.identical for r in results.values())
    styles = sorted({r.style for r in results.values()})
    with capsys.disabled():
        print(f"\nlightfriend: {identical}/{len(results)} commits regenerate byte-identical "
              f"(styles seen: {', '.join(styles)}); {len(results) - identical} flagged out of sync: "
              f"{', '.join(n for n, r in results.items() if not r.identical)}")
    assert identical >= IDENTICAL_FLOOR
    assert identical + len([n for n in OUT_OF_SYNC if n in results]) == len(results)
