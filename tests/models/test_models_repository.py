"""Repository scaffolding in the team's pattern: update(...).filter(...).set(...).execute(conn)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from lightnb import samples
from lightnb.cli import main
from lightnb.errors import ModelDrift
from lightnb.models import locate
from lightnb.models._syntax import error_nodes
from lightnb.models.house_style import KeyStyle, Touch, read_house_style, read_house_style_text
from lightnb.models.repository import (
    added_columns,
    repository_for_migration,
    repository_functions,
    repository_module,
    unique_foreign_keys,
)
from lightnb.models.schema_rs import load_schema
from lightnb.project import Project


def test_functions_for_the_columns_a_migration_added(plantlog: Path, snapshot):
    before = load_schema(plantlog / "src" / "schema.rs")
    after = load_schema(plantlog / "schema_after_migration.rs")
    assert added_columns(before, after) == {"gardeners": ("favourite_colour",)}
    code = repository_for_migration(before, after)["gardeners"]
    snapshot("gardeners_repository.rs", code)
    assert "diesel::update(gardeners::table)\n        .filter(gardeners::id.eq(gardener_id))\n" \
           "        .set(gardeners::favourite_colour.eq(favourite_colour))\n        .execute(conn)?;" in code
    assert error_nodes(code) == []


def test_whole_module_parses_and_borrows_text_and_blobs(plantlog: Path):
    table = load_schema(plantlog / "src" / "schema.rs").table("plants")
    code = repository_module(table)
    assert code.startswith("use diesel::prelude::*;\nuse diesel::result::Error as DieselError;\n"
                           "use crate::schema::plants;\n")
    assert "    species: &str,\n" in code and "    photo: Option<&[u8]>,\n" in code
    assert "pub fn get_plant_height_cm(\n    conn: &mut SqliteConnection,\n    plant_id: i32,\n" \
           ") -> Result<Option<f64>, DieselError> {" in code
    assert error_nodes(code) == []


def test_unknown_column_is_refused(plantlog: Path):
    table = load_schema(plantlog / "src" / "schema.rs").table("plants")
    with pytest.raises(ModelDrift, match="choose one of"):
        repository_module(table, ["colour"])


@pytest.fixture
def sample_with_theme(tmp_path: Path) -> tuple[Path, Path]:
    """The bundled sample backend, its production database with the exercise's `theme` column added."""
    made = samples.sample_workbook(tmp_path / "sample", users=5, workspace=False)
    conn = sqlite3.connect(made.production_db)
    conn.executescript(samples.EXERCISE.up_sql)
    conn.close()
    return made.project_dir, made.production_db


def test_sample_backend_repository_follows_the_house_pattern(sample_with_theme, snapshot, capsys):
    project, database = sample_with_theme
    assert main(["models", "generate", "--project", str(project), "--database-url", str(database),
                 "--previous-schema", str(project / "src" / "schema.rs"), "--repository"]) == 0
    out = capsys.readouterr().out
    code = out[out.index("pub fn get_user_theme"):]
    snapshot("sample_user_settings_theme_repository.rs", code)
    # the seed's own pattern: keyed by the UNIQUE foreign key, touches updated_at, returns usize
    assert ("pub fn update_user_theme(\n    conn: &mut SqliteConnection,\n    user_id: i32,\n    theme: &str,\n"
            "    now: i32,\n) -> Result<usize, DieselError> {\n") in code
    assert ".filter(user_settings::user_id.eq(user_id))" in code and "user_settings::updated_at.eq(now)," in code
    assert error_nodes(code) == []


def test_house_style_is_read_from_the_existing_repository_files():
    style = read_house_style(samples.sample_source() / "src")
    assert style.keys["user_settings"] == (KeyStyle("user_id", "user_id", "i32"),)
    assert style.keys["users"] == (KeyStyle(None, "user_id", "i32"),)  # users::table.find(user_id)
    assert [k.column for k in style.keys["oauth_connections"]] == ["user_id", "provider"]
    assert style.touches == (Touch("updated_at", "now", ("now", "i32")),)
    assert style.update_return == "Result<usize, DieselError>"


HOUSE = '''
pub fn set_plant_name(conn: &mut SqliteConnection, id: i64, name: &str, at: i64) -> QueryResult<usize> {
    diesel::update(plants::table.find(id))
        .set((plants::name.eq(name), plants::touched_at.eq(at)))
        .execute(conn)
}

pub fn set_plant_kind(conn: &mut SqliteConnection, id: i64, kind: &str, at: i64) -> QueryResult<usize> {
    diesel::update(plants::table.find(id)).set((plants::kind.eq(kind), plants::touched_at.eq(at))).execute(conn)
}
'''


def test_another_house_style_is_followed_not_the_samples(plantlog: Path):
    table = load_schema(plantlog / "src" / "schema.rs").table("plants")
    style = read_house_style_text(HOUSE)
    code = repository_functions(table, ["species"], style=style)
    # plants has no touched_at column: no `at` parameter; 104 columns on one line, so one per line
    assert ("pub fn update_plant_species(\n    conn: &mut SqliteConnection,\n    id: i64,\n    species: &str,\n"
            ") -> QueryResult<usize> {\n    diesel::update(plants::table.find(id))\n") in code
    # the getter fits in 100 columns, and its chain in 60
    assert ("pub fn get_plant_species(conn: &mut SqliteConnection, id: i64) -> QueryResult<String> {\n"
            "    plants::table.find(id).select(plants::species).first(conn)\n}\n") in code
    assert error_nodes(code) == []


def test_without_house_functions_a_unique_foreign_key_is_the_key(plantlog: Path):
    schema = load_schema(plantlog / "src" / "schema.rs")  # joinable!(plants -> gardeners (gardener_id))
    plants = schema.table("plants")
    assert unique_foreign_keys(schema, "plants", ["gardener_id", "species"]) == ("gardener_id",)
    keyed = repository_functions(plants, ["species"], unique_keys=("gardener_id",))
    assert "pub fn update_gardener_species(" in keyed and ".filter(plants::gardener_id.eq(gardener_id))" in keyed
    plain = repository_functions(plants, ["species"], unique_keys=unique_foreign_keys(schema, "plants", []))
    assert "pub fn update_plant_species(" in plain and ".filter(plants::id.eq(plant_id))" in plain


def test_sample_without_repository_files_keys_by_the_databases_unique_foreign_key(sample_with_theme, capsys):
    project, database = sample_with_theme
    found = locate.unique_columns(Project.discover(project, database_url=str(database)))
    assert found["user_settings"] == ("user_id",)
    shutil.rmtree(project / "src" / "repositories")
    assert main(["models", "generate", "--project", str(project), "--database-url", str(database),
                 "--previous-schema", str(project / "src" / "schema.rs"), "--repository"]) == 0
    out = capsys.readouterr().out
    assert ".filter(user_settings::user_id.eq(user_id))" in out  # UNIQUE + joinable!: the parent's key
    assert "updated_at" not in out[out.index("pub fn get_user_theme"):]  # no house pattern to follow
    assert ") -> Result<(), DieselError> {" in out
