"""Diesel's derive rules on SQLite, over a sample crate that compiles (kitchenbook).

The sample uses every column type SQLite's print-schema emits, chrono and time types, a custom
enum with FromSql/ToSql, aliases from another module, borrowed Insertable fields, Cow, changesets
with treat_none_as_null, serde attributes, a struct for another schema module, a macro that
generates structs, a #[cfg] module, a file no `mod` declares and a #[cfg(test)] module. None of
it may be PROVEN; each edit below makes `cargo build` fail and must be PROVEN, naming the field.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lightnb.models import check_models
from lightnb.models._syntax import error_nodes
from lightnb.models.drift import check_files
from lightnb.models.rust_reader import read_rust
from lightnb.models.scaffold import generate_for_table
from lightnb.models.schema_rs import parse_schema

KITCHENBOOK = Path(__file__).parent / "fixtures" / "kitchenbook"


@pytest.fixture
def kitchenbook(tmp_path: Path) -> Path:
    target = tmp_path / "kitchenbook"
    shutil.copytree(KITCHENBOOK, target)
    return target


def check(root: Path):
    return check_models(root / "src" / "models", root / "src" / "schema.rs")


def test_a_crate_that_compiles_has_no_proven_drift():
    report = check(KITCHENBOOK)
    assert report.proven == (), str(report)
    status = {s.struct: s.status for s in report.structs}
    assert status["RecipeCard"] == "skipped"  # crate::views_schema, not crate::schema
    assert status["RecipeTitle"] == "skipped"  # Queryable only, loaded from a narrower select
    assert report.count_checked("Queryable", "Selectable") == 6
    why = {f.struct: f.why for f in report.unproven if f.kind in ("no_column", "wrong_type")}
    assert "is not declared in mod.rs" in why["Draft"]
    assert "under #[cfg]" in why["OldRecipe"]
    assert set(why) == {"Draft", "OldRecipe", "OnlyInTests"}


def _edit(root: Path, file: str, old: str, new: str) -> None:
    path = root / "src" / "models" / file
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("file, old, new, expected", [
    # check_for_backend(Sqlite): every field must load from its column
    ("recipes.rs", "pub calories: Option<i64>,", "pub calories: Option<i32>,", {("Recipe", "calories")}),
    ("recipes.rs", "pub vegetarian: bool,", "pub vegetarian: i32,", {("Recipe", "vegetarian")}),
    ("authors.rs", "pub bio: Option<String>,", "pub bio: String,", {("Author", "bio")}),
    ("authors.rs", "pub joined: time::PrimitiveDateTime,", "pub joined: time::OffsetDateTime,",
     {("AuthorSince", "joined")}),
    ("recipes.rs", "#[diesel(deserialize_as = i16)]", "#[diesel(deserialize_as = i64)]",
     {("RecipeSummary", "servings")}),
    # Insertable: the value must be AsExpression of the column's type (borrowed impl included)
    ("recipes.rs", "pub title: &'a str,", "pub title: &'a [u8],", {("NewRecipe", "title")}),
    ("authors.rs", "pub joined: String,", "pub joined: i32,", {("NewAuthor", "joined")}),
    ("recipes.rs", "pub updated_unix: i32,\n    pub difficulty: Difficulty,\n    pub author_id: i32,\n}\n\n/// Every",
     "pub updated_unix: chrono::NaiveDateTime,\n    pub difficulty: Difficulty,\n"
     "    pub author_id: i32,\n}\n\n/// Every",
     {("NewRecipe", "updated_unix")}),
    # AsChangeset with treat_none_as_null binds Option<T> itself: NOT NULL columns refuse it
    ("recipes.rs", "pub title: Cow<'a, str>,", "pub title: Option<String>,", {("RecipeEdit", "title")}),
    # Selectable/Insertable/AsChangeset name every field's column
    ("tags.rs", "pub weight: f64,", "pub score: f64,", {("Tag", "score")}),
    # once the module is compiled, its drift is certain
    ("mod.rs", '#[cfg(feature = "legacy-import")]\n', "", {("OldRecipe", "name")}),
    ("mod.rs", "pub mod views;\n", "pub mod views;\nmod drafts;\n", {("Draft", "title"), ("Draft", "notes")}),
])
def test_edits_that_break_the_build_are_proven(kitchenbook: Path, file, old, new, expected):
    _edit(kitchenbook, file, old, new)
    report = check(kitchenbook)
    assert {(f.struct, f.field) for f in report.proven} == expected, str(report)


@pytest.mark.parametrize("file, old, new", [
    # `AsExpression<Nullable<ST>> for Option<T>` holds for any T: the derive compiles
    ("recipes.rs", "pub calories: Option<Option<i64>>,", "pub calories: Option<Option<i32>>,"),
    # without check_for_backend a Selectable's field types are checked only where it is loaded
    ("authors.rs", "#[diesel(table_name = authors)]\n#[diesel(check_for_backend(diesel::sqlite::Sqlite))]",
     "#[diesel(table_name = authors)]"),
    # an alias from another module is not judged
    ("types.rs", "pub type UnixTime = i32;", "pub type UnixTime = i64;"),
    # Insertable ignores treat_none_as_null: Option<T> still means "use the default"
    ("recipes.rs", "#[derive(Insertable)]\n#[diesel(table_name = recipes)]\npub struct NewRecipe<'a> {\n"
                   "    pub title: &'a str,",
     "#[derive(Insertable)]\n#[diesel(table_name = recipes, treat_none_as_null = true)]\n"
     "pub struct NewRecipe<'a> {\n    pub title: Option<&'a str>,"),
])
def test_edits_that_still_compile_are_not_proven(kitchenbook: Path, file, old, new):
    _edit(kitchenbook, file, old, new)
    assert check(kitchenbook).proven == ()


SCHEMA = parse_schema("""
diesel::table! {
    notes (id) {
        id -> Integer,
        body -> Text,
        stamped -> Integer,
    }
}
""")


def findings(source: str, schema=SCHEMA, module=("crate", "models", "notes")):
    return check_files([read_rust(source, module=module)], schema).findings


SELECT = ("#[derive(Queryable, Selectable)]\n#[diesel(table_name = notes)]\n"
          "#[diesel(check_for_backend(diesel::sqlite::Sqlite))]\npub struct Note {\n"
          "    pub id: i32,\n    pub body: String,\n    pub stamped: NaiveDateTime,\n}\n")


@pytest.mark.parametrize("imports, expected", [
    ("use chrono::NaiveDateTime;\n", [("stamped", True)]),
    ("use chrono::prelude::*;\n", [("stamped", True)]),
    # a glob from elsewhere may bring any type of that name: not judged
    ("use super::*;\n", []),
    ("use crate::types::NaiveDateTime;\n", []),
    ("type NaiveDateTime = i32;\n", []),  # a same-module alias: it fits
])
def test_bare_type_names_are_traced_through_imports(imports, expected):
    source = "use diesel::prelude::*;\nuse crate::schema::notes;\n" + imports + SELECT
    assert [(f.field, f.proven) for f in findings(source)] == expected


def test_an_alias_of_option_is_not_unwrapped_by_insertable():
    source = ("use crate::schema::notes;\ntype MaybeText = Option<String>;\n"
              "#[derive(Insertable)]\n#[diesel(table_name = notes)]\npub struct NewNote {\n"
              "    pub body: MaybeText,\n    pub stamped: Option<i32>,\n}\n")
    assert [(f.field, f.proven) for f in findings(source)] == [("body", True)]


def test_a_missing_table_is_proven_only_when_schema_rs_holds_only_tables():
    source = ("#[derive(Queryable, Selectable)]\n#[diesel(table_name = crate::schema::archive)]\n"
              "pub struct Archived {\n    pub id: i32,\n}\n")
    assert [f.proven for f in findings(source)] == [True]
    reexporting = parse_schema("pub use crate::views::*;\n" + """
diesel::table! {
    notes (id) {
        id -> Integer,
    }
}
""")
    assert [f.proven for f in findings(source, reexporting)] == [False]


def test_the_first_table_name_is_the_one_selectable_uses():
    source = ("#[derive(Queryable, Selectable)]\n#[diesel(table_name = crate::schema::notes)]\n"
              "#[diesel(table_name = crate::schema::other)]\npub struct Note {\n    pub id: i32,\n}\n")
    assert [f.kind for f in findings(source) if f.proven] == []


EVERY_TYPE = parse_schema("""
diesel::table! {
    readings (id) {
        id -> Integer,
        counter -> BigInt,
        small -> SmallInt,
        ok -> Bool,
        ratio -> Float,
        value -> Double,
        label -> Text,
        raw -> Binary,
        taken_at -> Timestamp,
        taken_on -> Date,
        taken_time -> Time,
        note -> Nullable<Text>,
        extra -> Nullable<Binary>,
        seen_at -> Nullable<Timestamp>,
    }
}
""")


def test_generated_structs_for_every_sqlite_type_fit_diesel(snapshot):
    code = generate_for_table(EVERY_TYPE.table("readings"))
    snapshot("readings_every_type.rs", code)
    assert error_nodes(code) == []
    rust = read_rust("use diesel::prelude::*;\nuse crate::schema::readings;\n\n" + code,
                     module=("crate", "models"))
    report = check_files([rust], EVERY_TYPE)
    assert report.findings == (), str(report)
    assert report.count_checked() == 2
