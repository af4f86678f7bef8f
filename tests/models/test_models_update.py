"""models generate after a migration that drops columns and changes types: fields removed (with
their own attributes), types rewritten, everything else of the file kept; what cannot be changed
safely is left alone and reported."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from lightnb.cli import main
from lightnb.errors import ModelDrift
from lightnb.models import check_models, read_rust
from lightnb.models._syntax import error_nodes
from lightnb.models.scaffold import apply_change, plan_models, render_change

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def kitchenbook(tmp_path: Path) -> Path:
    target = tmp_path / "kitchenbook"
    shutil.copytree(FIXTURES / "kitchenbook", target)
    return target


def plan_kitchenbook(root: Path, **options):
    return plan_models(root / "src" / "models", root / "schema_after_retype.rs", previous=root / "src" / "schema.rs",
                       src_root=root / "src", **options)


def plan_plantlog(root: Path, **options):
    return plan_models(root / "src" / "models", root / "schema_after_retype.rs", previous=root / "src" / "schema.rs",
                       **options)


def test_kitchenbook_drops_and_type_changes_snapshot(kitchenbook: Path, snapshot):
    plan = plan_kitchenbook(kitchenbook)
    assert [(c.struct, c.kind) for c in plan.changes] == [
        ("Author", "update_fields"), ("NewAuthor", "update_fields"), ("AuthorSince", "update_fields"),
        ("Recipe", "update_fields"), ("NewRecipe", "update_fields"), ("RecipeEdit", "update_fields"),
        ("RecipePatch", "update_fields")]
    snapshot("kitchenbook_drop_and_retype.diff", "".join(c.diff for c in plan.changes))
    # the one struct that converts through deserialize_as is reported, nothing else
    assert [(left.struct, left.columns) for left in plan.left_alone] == [("RecipeSummary", ("servings",))]
    assert "deserialize_as" in plan.left_alone[0].reason


def test_kitchenbook_after_applying_has_no_drift_but_what_was_left_alone(kitchenbook: Path):
    models, schema = kitchenbook / "src" / "models", kitchenbook / "schema_after_retype.rs"
    before = check_models(models, schema, src_root=kitchenbook / "src")
    assert {f.struct for f in before.proven} == {"Author", "NewAuthor", "AuthorSince", "Recipe", "NewRecipe",
                                                  "RecipeEdit", "RecipePatch", "RecipeSummary"}
    plan = plan_kitchenbook(kitchenbook)
    for change in plan.changes:
        apply_change(change)
    after = check_models(models, schema, src_root=kitchenbook / "src")
    assert {f.struct for f in after.proven} == {"RecipeSummary"}, str(after)
    for rust in (models / "authors.rs", models / "recipes.rs"):
        assert error_nodes(rust.read_text()) == []
    again = plan_kitchenbook(kitchenbook)
    assert again.changes == () and [left.struct for left in again.left_alone] == ["RecipeSummary"]


def test_plantlog_result_passes_models_check_with_no_drift(plantlog: Path, snapshot):
    shutil.copy(FIXTURES / "plantlog" / "schema_after_retype.rs", plantlog)
    (plantlog / "src" / "repository.rs").write_text(  # positional load: every field must match the table
        "use crate::models::garden::Gardener;\nfn all(c: &mut SqliteConnection) -> Vec<Gardener> {\n"
        "    gardeners::table.load::<Gardener>(c).unwrap()\n}\n")
    models, schema = plantlog / "src" / "models", plantlog / "schema_after_retype.rs"
    assert check_models(models, schema).proven
    plan = plan_plantlog(plantlog)
    snapshot("plantlog_drop_and_retype.diff", "".join(c.diff.replace(str(plantlog), "") for c in plan.changes))
    for change in plan.changes:
        apply_change(change)
    report = check_models(models, schema)
    assert report.clean, str(report)
    assert report.count_checked() == 4
    assert plan_plantlog(plantlog).changes == ()
    text = (models / "garden.rs").read_text()
    assert "#[serde(rename = \"name\")]\n    pub handle: std::string::String, // shown on the plot sign" in text
    assert "pub plot_count: Option<PlotCount>," in text and "type PlotCount = i32;" in text


def test_a_custom_select_of_a_changed_column_is_reported(plantlog: Path):
    shutil.copy(FIXTURES / "plantlog" / "schema_after_retype.rs", plantlog)
    (plantlog / "src" / "summaries.rs").write_text(
        "use crate::models::garden::PlantSummary;\n"
        "fn summaries(c: &mut SqliteConnection) -> Vec<PlantSummary> {\n"
        "    plants::table.select((plants::species, plants::height_cm)).load::<PlantSummary>(c).unwrap()\n}\n")
    plan = plan_plantlog(plantlog)
    (left,) = plan.left_alone
    assert (left.struct, left.table, left.columns) == ("PlantSummary", "plants", ("height_cm",))
    assert "summaries.rs:3" in left.reason and "`plants.height_cm` is now Double" in left.by_hand
    (plantlog / "src" / "summaries.rs").unlink()
    assert plan_plantlog(plantlog).left_alone == ()  # no call site: nothing to say


# -- what is left alone --------------------------------------------------------------------------

SCHEMA_BEFORE = """diesel::table! {
    items (id) {
        id -> Integer,
        code -> Integer,
        parent_id -> Nullable<Integer>,
        value -> Integer,
        note -> Text,
    }
}
"""
SCHEMA_AFTER = """diesel::table! {
    items (id) {
        id -> Integer,
        code -> Integer,
        value -> BigInt,
    }
}
"""
ITEMS = '''use diesel::prelude::*;
use crate::schema::items;

/// Changed: the control.
#[derive(Queryable, Selectable)]
#[diesel(table_name = items)]
pub struct Item {
    pub id: i32,
    pub code: i32,
    pub parent_id: Option<i32>,
    pub value: i32,
    pub note: String,
}

#[cfg(feature = "audit")]
#[derive(Queryable, Selectable)]
#[diesel(table_name = items)]
pub struct ItemForAudit {
    pub id: i32,
    pub note: String,
}

#[my_orm::audited]
#[derive(Queryable, Selectable)]
#[diesel(table_name = items)]
pub struct ItemAudited {
    pub id: i32,
    pub note: String,
}

#[derive(Queryable, Selectable, Identifiable, Associations)]
#[diesel(table_name = items, belongs_to(Parent))]
pub struct Child {
    pub id: i32,
    pub parent_id: Option<i32>,
    pub value: i32,
}

#[derive(Insertable)]
#[diesel(table_name = items)]
pub struct NewItem<'a> {
    pub code: i32,
    pub note: &'a str,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = items)]
pub struct ItemPair(#[diesel(column_name = id)] i32, #[diesel(column_name = value)] i32);

#[derive(Insertable)]
#[diesel(table_name = items)]
pub struct ItemCode {
    pub code: i32,
}

macro_rules! note_row {
    ($name:ident) => {
        #[derive(Queryable, Selectable)]
        #[diesel(table_name = items)]
        pub struct $name {
            pub id: i32,
            pub note: String,
        }
    };
}

note_row!(ItemNote);
'''


@pytest.fixture
def items(tmp_path: Path) -> Path:
    models = tmp_path / "src" / "models"
    models.mkdir(parents=True)
    (models / "mod.rs").write_text("pub mod items;\n")
    (models / "items.rs").write_text(ITEMS)
    (models / "orphan.rs").write_text(  # no `mod orphan;`: cargo never compiles it
        "use crate::schema::items;\n\n#[derive(Insertable)]\n#[diesel(table_name = items)]\n"
        "pub struct Orphan {\n    pub note: String,\n}\n")
    return models


def test_structs_that_cannot_be_changed_safely_are_left_alone_and_reported(items: Path, tmp_path: Path):
    plan = plan_models(items, SCHEMA_AFTER, previous=SCHEMA_BEFORE, src_root=tmp_path / "src")
    assert [(c.struct, c.removed, [(r.field, r.new) for r in c.retyped]) for c in plan.changes] == [
        ("Item", (("parent_id", "parent_id"), ("note", "note")), [("value", "i64")])]
    reasons = {left.struct: left.reason for left in plan.left_alone}
    assert reasons == {
        "ItemForAudit": "a #[cfg]/#[cfg_attr] attribute decides whether or how it is compiled",
        "ItemAudited": "the attribute `#[my_orm::audited]` may be a macro that rewrites the struct",
        "Child": "its own attributes name `parent_id` (a key or a foreign key of the derives)",
        "NewItem": "the change would leave `'a` unused in `NewItem`, which does not compile",
        "ItemPair": "its fields are positional (a tuple struct): which field holds which column is not written",
        "note_row!": "the structs this macro writes cannot be read or rewritten (called at items.rs:67)",
        "Orphan": "`mod orphan;` is not declared in mod.rs, so cargo may not compile this file",
    }
    by_hand = {left.struct: left.by_hand for left in plan.left_alone}
    assert by_hand["Child"] == "remove `parent_id`; change `value: i32` to `i64` (Integer -> BigInt)"
    assert by_hand["note_row!"] == "`items.note` was dropped"
    assert "ItemCode" not in reasons  # it has no field of a changed column: nothing to say
    for change in plan.changes:
        apply_change(change)
    text = (items / "items.rs").read_text()
    start = text.index("#[cfg(feature")
    assert text[start:] == ITEMS[ITEMS.index("#[cfg(feature"):]  # everything after Item is as written
    assert "pub value: i64,\n}" in text and "note" not in text[:start]


def test_a_field_that_may_be_a_renamed_column_is_not_removed_without_the_previous_schema(tmp_path: Path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "items.rs").write_text("use crate::schema::items;\n#[derive(Queryable, Selectable)]\n"
                                     "#[diesel(table_name = items)]\npub struct Item {\n    pub id: i32,\n"
                                     "    pub nme: String,\n    pub gone: Vec<u8>,\n}\n")
    schema = "diesel::table! {\n    items (id) {\n        id -> Integer,\n        name -> Text,\n    }\n}\n"
    plan = plan_models(models, schema)
    (left,) = plan.left_alone
    assert left.reason == "field `nme` has no column; it may be meant for `items.name`"
    assert "add `#[diesel(column_name = name)]` above `nme`" in left.by_hand and "remove `gone`" in left.by_hand


# -- how the text is rewritten -------------------------------------------------------------------

@pytest.mark.parametrize("body, expected", [
    # attributes and doc comments of the removed field go with it; a plain comment above stays
    ("    pub id: i32,\n    // kept: a note about the next field\n    /// The note.\n"
     "    #[diesel(column_name = note)]\n    #[serde(skip)]\n    pub memo: String,\n    pub value: i32,\n",
     "    pub id: i32,\n    // kept: a note about the next field\n    pub value: i64,\n"),
    # a comment after the field on its line goes with it
    ("    pub id: i32,\n    pub note: String, // free text\n    pub value: i32, // counts\n",
     "    pub id: i32,\n    pub value: i64, // counts\n"),
    # two fields on one line: only the dropped one goes
    ("    pub id: i32, pub note: String,\n    pub value: i32\n",
     "    pub id: i32,\n    pub value: i64\n"),
    ("    pub id: i32,\n    pub note: String, pub value: i32,\n",
     "    pub id: i32,\n    pub value: i64,\n"),
    # the last field without a comma
    ("    pub id: i32,\n    pub value: i32,\n    pub note: String\n",
     "    pub id: i32,\n    pub value: i64,\n"),
    # a type spread over lines, and CRLF line ends
    ("    pub id: i32,\r\n    pub note: String,\r\n    pub value:\r\n        i32,\r\n",
     "    pub id: i32,\r\n    pub value:\r\n        i64,\r\n"),
])
def test_removal_and_retyping_keep_the_rest_of_the_text(tmp_path: Path, body: str, expected: str):
    models = tmp_path / "models"
    models.mkdir()
    head = "use crate::schema::items;\n\n/// Items.\n#[derive(Queryable, Selectable)]\n#[diesel(table_name = items)]\n"
    tail = "}\n\n// the end\n"
    (models / "items.rs").write_text(head + "pub struct Item {\n" + body + tail)
    before = ("diesel::table! {\n    items (id) {\n        id -> Integer,\n        note -> Text,\n"
              "        value -> Integer,\n    }\n}\n")
    after = "diesel::table! {\n    items (id) {\n        id -> Integer,\n        value -> BigInt,\n    }\n}\n"
    (change,) = plan_models(models, after, previous=before).changes
    apply_change(change)
    assert (models / "items.rs").read_bytes().decode() == head + "pub struct Item {\n" + expected + tail


def test_a_rewrite_that_does_not_read_back_is_refused(plantlog: Path):
    shutil.copy(FIXTURES / "plantlog" / "schema_after_retype.rs", plantlog)
    change = next(c for c in plan_plantlog(plantlog).changes if c.struct == "Plant")
    broken = change.__class__(**{**{k: getattr(change, k) for k in change.__dataclass_fields__},
                                 "retyped": (change.retyped[0].__class__("height_cm", "height_cm", "Option<f64>",
                                                                         "f64 {", "x"),)})
    path = plantlog / "src" / "models" / "garden.rs"
    text = path.read_text()
    with pytest.raises(ModelDrift, match="could not rewrite struct `Plant`.*nothing was written"):
        apply_change(broken)
    assert path.read_text() == text
    assert render_change(change, text) != text


def test_apply_keeps_permissions_and_leaves_no_temporary_file(plantlog: Path):
    shutil.copy(FIXTURES / "plantlog" / "schema_after_retype.rs", plantlog)
    path = plantlog / "src" / "models" / "garden.rs"
    path.chmod(0o640)
    for change in plan_plantlog(plantlog).changes:
        apply_change(change)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in path.parent.iterdir()) == ["garden.rs"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only folders")
def test_apply_to_a_read_only_folder_writes_nothing(plantlog: Path):
    shutil.copy(FIXTURES / "plantlog" / "schema_after_retype.rs", plantlog)
    path = plantlog / "src" / "models" / "garden.rs"
    text = path.read_text()
    change = plan_plantlog(plantlog).changes[0]
    path.parent.chmod(0o555)
    try:
        with pytest.raises(ModelDrift, match="nothing was written"):
            apply_change(change)
    finally:
        path.parent.chmod(0o755)
    assert path.read_text() == text


# -- the CLI and the panel -------------------------------------------------------------------------

def test_cli_generate_applies_and_names_what_it_left_alone(plantlog: Path, capsys, monkeypatch):
    shutil.copy(FIXTURES / "plantlog" / "schema_after_retype.rs", plantlog)
    (plantlog / "src" / "summaries.rs").write_text(
        "fn summaries(c: &mut SqliteConnection) -> Vec<PlantSummary> {\n"
        "    plants::table.select((plants::species, plants::height_cm)).load::<PlantSummary>(c).unwrap()\n}\n")
    monkeypatch.chdir(plantlog)
    code = main(["models", "generate", "--schema", "schema_after_retype.rs", "--previous-schema", "src/schema.rs",
                 "--apply"])
    out = capsys.readouterr().out
    assert code == 0
    assert "-    pub bio: Option<String>,\n" in out and "+    pub joined_at: i64,\n" in out
    assert ("applied: add nickname; remove bio (dropped); change joined_at to i64 (Timestamp -> BigInt); "
            "change plot_count to Option<PlotCount> (Integer -> Nullable<Integer>) in struct `Gardener`") in out
    assert out.rstrip().splitlines()[-1].endswith(
        "garden.rs:31: left alone: `PlantSummary` (table `plants`): it is loaded with its own `.select(…)` at "
        f"{plantlog / 'src' / 'summaries.rs'}:2, whose columns lightnb does not map to fields; by hand: "
        "`plants.height_cm` is now Double")
    assert main(["models", "check", "--schema", "schema_after_retype.rs"]) == 0


def test_the_panel_shows_what_was_left_alone(items: Path, tmp_path: Path):
    from lightnb.render import html as render_html
    from lightnb.render import markdown as render_md
    from lightnb.results import RegenerateResult
    plan = plan_models(items, SCHEMA_AFTER, previous=SCHEMA_BEFORE, src_root=tmp_path / "src")
    for render in (render_html.regenerate_result, render_md.regenerate_result):
        text = render(RegenerateResult((), None, plan.changes, plan.left_alone))
        assert "Left alone (change by hand)" in text and "my_orm::audited" in text
        assert "Left alone" not in render(RegenerateResult((), None, plan.changes))


def test_reader_sees_generics_attributes_and_macros():
    rust = read_rust("#[my::model]\n#[derive(Insertable)]\npub struct A<'a, N: Clone> { x: &'a N }\n"
                     "macro_rules! m { () => { #[derive(Queryable)] struct B; } }\nm!();\n")
    (struct,) = rust.structs
    assert struct.generics == ("'a", "N") and struct.attributes == ("my::model", "derive")
    assert [(m.name, m.kind, m.makes_models) for m in rust.macros] == [("m", "definition", True),
                                                                        ("m", "call", False)]


def test_a_queryable_named_after_its_table_but_loaded_with_its_own_select_is_reported(tmp_path: Path):
    src = tmp_path / "src"
    models = src / "models"
    models.mkdir(parents=True)
    (models / "items.rs").write_text("use crate::schema::*;\n\n#[derive(Queryable)]\npub struct Item {\n"
                                     "    pub id: i32,\n    pub value: i32,\n}\n")
    (src / "queries.rs").write_text("fn all(c: &mut SqliteConnection) -> Vec<Item> {\n"
                                    "    items::table.select((items::id, items::value)).load::<Item>(c).unwrap()\n}\n")
    plan = plan_models(models, SCHEMA_AFTER, previous=SCHEMA_BEFORE, src_root=src)
    assert plan.changes == ()
    (left,) = plan.left_alone
    assert (left.struct, left.columns, left.by_hand) == ("Item", ("value",), "`items.value` is now BigInt")


def test_the_regenerate_step_plans_drops_and_type_changes_from_the_database(plantlog: Path):
    """What the Regenerate models panel shows and applies: schema.rs printed from the migrated database,
    compared with schema.rs as it was; nothing is written with write=False."""
    import sqlite3

    from lightnb import steps
    from lightnb.project import Project
    database = plantlog / "after.db"
    conn = sqlite3.connect(database)
    conn.executescript(
        "CREATE TABLE gardeners (id INTEGER PRIMARY KEY NOT NULL, handle TEXT NOT NULL, joined_at BIGINT NOT NULL, "
        "plot_count INTEGER, nickname TEXT);"
        "CREATE TABLE plants (id INTEGER PRIMARY KEY, gardener_id INTEGER NOT NULL REFERENCES gardeners(id), "
        "species TEXT NOT NULL, height_cm DOUBLE NOT NULL);")
    conn.close()
    garden = plantlog / "src" / "models" / "garden.rs"
    before = garden.read_text()
    result = steps.regenerate(Project.discover(plantlog), database, write=False)
    assert [(c.struct, c.kind) for c in result.changes] == [
        ("Gardener", "update_fields"), ("NewGardener", "update_fields"), ("Plant", "update_fields"),
        ("NewPlant", "update_fields")]
    assert garden.read_text() == before and result.left_alone == ()
    for change in result.changes:  # what the Apply buttons do
        apply_change(change)
    assert steps.regenerate(Project.discover(plantlog), database, write=False).changes == ()
