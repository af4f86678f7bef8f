"""The drift check on a real PostgreSQL code base: lightfriend's hand-written pg_models.rs and pg_schema.rs.

Each of the 19 commits in ``<conformance>/lightfriend-pg`` compiled, so every PROVEN finding of its
models against its own schema.rs would be a false drift. Measured: none at all — no PROVEN and no
UNPROVEN finding at any commit (the tables whose schema.rs lines drift from the migrations, users,
user_settings, ont_*, have no struct in pg_models.rs). That the check can fail here is shown by
changing one real field at a time, as a developer editing the file would.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from lightnb.models import check_models, load_schema

pytestmark = pytest.mark.conformance


def commits(conformance_dir: Path) -> list[Path]:
    root = conformance_dir / "lightfriend-pg"
    if not root.is_dir():
        pytest.skip(f"lightfriend-pg corpus not found at {root}")
    return sorted(d for d in root.iterdir() if d.is_dir() and (d / "models").is_dir())


def schema_module(commit: Path) -> tuple[str, ...]:
    """The Rust module of the schema file diesel.toml names (``src/pg_schema.rs`` -> ``crate::pg_schema``)."""
    settings = tomllib.loads((commit / "diesel.toml").read_text(encoding="utf-8"))
    return ("crate", Path(settings["print_schema"]["file"]).stem)


def test_no_drift_at_any_commit(conformance_dir: Path) -> None:
    checked = pg_checked = 0
    for commit in commits(conformance_dir):
        assert load_schema(commit / "schema.rs").backend == "postgres"
        report = check_models(commit / "models", commit / "schema.rs", schema_module=schema_module(commit))
        assert report.findings == (), f"{commit.name}:\n{report}"
        assert all(s.status == "checked" for s in report.structs), report.structs
        checked += len(report.checked)
        pg_checked += sum(1 for s in report.checked if "Selectable" in s.derives)
    print(f"lightfriend-pg: {checked} structs checked over 19 commits "
          f"({pg_checked} Selectable with check_for_backend(diesel::pg::Pg)), 0 findings")
    assert checked > 800 and pg_checked > 400


@pytest.fixture
def last(conformance_dir: Path, tmp_path: Path) -> Path:
    commit = commits(conformance_dir)[-1]
    work = tmp_path / commit.name
    shutil.copytree(commit / "models", work / "models")
    shutil.copyfile(commit / "schema.rs", work / "schema.rs")
    shutil.copyfile(commit / "diesel.toml", work / "diesel.toml")
    return work


# (text in pg_models.rs, replacement, findings as (struct, field, kind, proven))
EDITS = [
    # a Selectable struct with check_for_backend(diesel::pg::Pg): user_id is Int4, FromSql<Int4, Pg> is for i32 only
    ("pub struct UserSecrets {\n    pub id: i32,\n    pub user_id: i32,",
     "pub struct UserSecrets {\n    pub id: i32,\n    pub user_id: i64,",
     {("UserSecrets", "user_id", "wrong_type", True)}),
    # an Insertable-only struct: AsExpression<Nullable<Text>> for Option<i32> does not exist
    ("pub struct NewUserSecrets {\n    pub user_id: i32,\n    pub matrix_username: Option<String>,",
     "pub struct NewUserSecrets {\n    pub user_id: i32,\n    pub matrix_username: Option<i32>,",
     {("NewUserSecrets", "matrix_username", "wrong_type", True)}),
    # a field the table does not have: the derives name every field's column
    ("pub struct PgUserInfo {\n    pub id: i32,",
     "pub struct PgUserInfo {\n    pub id: i32,\n    pub country: Option<String>,",
     {("PgUserInfo", "country", "no_column", True)}),
    # latitude is Nullable<Float4>: a non-Option field cannot load it (and Insertable writes it fine)
    ("    pub latitude: Option<f32>,\n    pub longitude: Option<f32>,\n}",
     "    pub latitude: f32,\n    pub longitude: Option<f32>,\n}",
     {("PgUserInfo", "latitude", "wrong_type", True)}),
]


@pytest.mark.parametrize("before, after, expected", EDITS)
def test_a_real_struct_changed_by_hand_is_caught(last: Path, before: str, after: str,
                                                 expected: set[tuple[str, str, str, bool]]) -> None:
    models = last / "models" / "pg_models.rs"
    text = models.read_text(encoding="utf-8")
    assert text.count(before) == 1
    models.write_text(text.replace(before, after), encoding="utf-8")
    report = check_models(last / "models", last / "schema.rs", schema_module=schema_module(last))
    assert {(f.struct, f.field, f.kind, f.proven) for f in report.findings} == expected, str(report)
