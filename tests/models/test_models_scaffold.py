"""Generation: new fields and structs as diffs, applied only on request, only to the struct concerned."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightnb.errors import ModelDrift
from lightnb.models import check_models
from lightnb.models._syntax import error_nodes
from lightnb.models.naming import struct_name_for
from lightnb.models.scaffold import apply_change, generate_for_table, plan_model_changes
from lightnb.models.schema_rs import load_schema


def plan(backend: Path, **options):
    return plan_model_changes(backend / "src" / "models", backend / "schema_after_migration.rs",
                              previous=backend / "src" / "schema.rs", **options)


def test_plan_after_migration_adds_column_fields_and_new_table_structs(plantlog: Path, snapshot):
    changes = plan(plantlog)
    assert [(c.kind, c.struct, c.columns) for c in changes] == [
        ("add_fields", "Gardener", ("favourite_colour",)),
        ("add_fields", "NewGardener", ("favourite_colour",)),
        ("new_struct", "Harvest", ("id", "plant_id", "picked_on", "weight_grams", "note")),
    ]
    snapshot("plantlog_after_migration.diff", "".join(c.diff.replace(str(plantlog), "") for c in changes))


def test_applying_the_plan_makes_the_check_clean(plantlog: Path):
    models = plantlog / "src" / "models"
    schema = plantlog / "schema_after_migration.rs"
    (plantlog / "src" / "repository.rs").write_text(  # a positional load makes the missing field matter
        "use crate::models::garden::Gardener;\nfn all(c: &mut SqliteConnection) -> Vec<Gardener> {\n"
        "    gardeners::table.load::<Gardener>(c).unwrap()\n}\n")
    assert not check_models(models, schema).clean
    for change in plan(plantlog):
        apply_change(change)
    report = check_models(models, schema)
    assert report.clean, str(report)
    assert report.count_checked("Queryable", "Selectable") == 3
    assert error_nodes((models / "garden.rs").read_text()) == []


def test_apply_changes_only_the_struct_concerned(plantlog: Path):
    path = plantlog / "src" / "models" / "garden.rs"
    before = path.read_text()
    change = plan(plantlog, tables=["gardeners"])[0]
    apply_change(change)
    after = path.read_text()
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert added == ["    pub favourite_colour: Option<String>,"]
    assert after.replace("    pub favourite_colour: Option<String>,\n", "", 1) == before


def test_apply_refuses_when_the_struct_was_edited_since_the_plan(plantlog: Path):
    path = plantlog / "src" / "models" / "garden.rs"
    change = plan(plantlog, tables=["gardeners"])[0]
    edited = path.read_text().replace("pub bio: Option<String>,", "pub bio: Option<String>, // edited")
    path.write_text(edited)
    with pytest.raises(ModelDrift, match="edited since the change was planned"):
        apply_change(change)
    assert path.read_text() == edited


def test_other_structs_edited_since_the_plan_are_kept(plantlog: Path):
    path = plantlog / "src" / "models" / "garden.rs"
    change = plan(plantlog, tables=["gardeners"])[0]
    path.write_text(path.read_text().replace("pub species: String,\n    pub height_cm",
                                             "pub species: String, // kept\n    pub height_cm"))
    apply_change(change)
    text = path.read_text()
    assert "// kept" in text and "pub favourite_colour: Option<String>," in text


def test_field_after_last_field_without_comma_gets_one(tmp_path: Path):
    models = tmp_path / "src" / "models"
    models.mkdir(parents=True)
    (models / "beds.rs").write_text("use crate::schema::beds;\n\n#[derive(Queryable, Selectable)]\n"
                                    "#[diesel(table_name = beds)]\npub struct Bed {\n    pub id: i32\n}\n")
    schema = "diesel::table! {\n    beds (id) {\n        id -> Integer,\n        size -> Float,\n    }\n}\n"
    (change,) = plan_model_changes(models, schema)
    apply_change(change)
    text = (models / "beds.rs").read_text()
    assert "    pub id: i32,\n    pub size: f32,\n}" in text
    assert error_nodes(text) == []


def test_without_previous_schema_only_real_gaps_are_planned(plantlog: Path):
    assert plan_model_changes(plantlog / "src" / "models", plantlog / "src" / "schema.rs") == []


def test_generated_table_code_in_house_style(plantlog: Path, snapshot):
    table = load_schema(plantlog / "schema_after_migration.rs").table("harvests")
    code = generate_for_table(table, doc_comments=True)
    snapshot("harvests_structs.rs", code)
    assert error_nodes(code) == []


@pytest.mark.parametrize("table, name", [
    ("users", "User"), ("importance_priorities", "ImportancePriority"), ("gmail", "Gmail"),
    ("boxes", "Box"), ("bridges", "Bridge"), ("statuses", "Status"), ("glass", "Glass"),
])
def test_struct_names(table, name):
    assert struct_name_for(table) == name


def test_non_ascii_comments_do_not_shift_insertions(tmp_path: Path):
    models = tmp_path / "src" / "models"
    models.mkdir(parents=True)
    source = ("use crate::schema::beds;\n// prix en € — «bed»\n#[derive(Queryable, Selectable)]\n"
              "#[diesel(table_name = beds)]\npub struct Bed {\n    pub id: i32, // ünïcode\n}\n")
    (models / "beds.rs").write_text(source)
    schema = "diesel::table! {\n    beds (id) {\n        id -> Integer,\n        size -> Float,\n    }\n}\n"
    (change,) = plan_model_changes(models, schema)
    apply_change(change)
    assert (models / "beds.rs").read_text() == source.replace("// ünïcode\n", "// ünïcode\n    pub size: f32,\n")
