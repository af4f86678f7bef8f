"""Repository scaffolding in the team's pattern: update(...).filter(...).set(...).execute(conn)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightnb.errors import ModelDrift
from lightnb.models._syntax import error_nodes
from lightnb.models.repository import added_columns, repository_for_migration, repository_module
from lightnb.models.schema_rs import load_schema


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
    assert "species: &str)" in code and "photo: Option<&[u8]>)" in code
    assert "pub fn get_plant_height_cm(conn: &mut SqliteConnection, plant_id: i32) " \
           "-> Result<Option<f64>, DieselError>" in code
    assert error_nodes(code) == []


def test_unknown_column_is_refused(plantlog: Path):
    table = load_schema(plantlog / "src" / "schema.rs").table("plants")
    with pytest.raises(ModelDrift, match="choose one of"):
        repository_module(table, ["colour"])
