"""Rust struct reading: derives, diesel options, fields, uses, aliases, module paths."""

from __future__ import annotations

from pathlib import Path

from lightnb.models.rust_reader import infer_table_name, module_path_of, parse_type, read_rust

SOURCE = '''
use diesel::prelude::*;
use crate::schema::{beds, tools as kit, archive::*};

type Count = i64;

/// A bed.
#[derive(Debug, diesel::Queryable, Selectable)]
#[diesel(table_name = beds, check_for_backend(diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
pub struct Bed<'a> {
    /// The row.
    #[diesel(column_name = row_no)]
    pub(crate) row: Count,
    #[serde(skip)]
    #[diesel(deserialize_as = i32)]
    note: Option<&'a str>,
    #[diesel(embed)]
    pub extra: Extra
}

#[derive(Queryable)]
#[table_name = "sheds"]
struct ShedRow(i32, std::string::String);

mod inner {
    use super::super::schema::tools;
    #[derive(Insertable)]
    pub struct Tool { pub id: i32 }
}
'''


def test_struct_derives_and_options():
    rust = read_rust(SOURCE)
    bed = rust.structs[0]
    assert bed.name == "Bed"
    assert bed.derives == ("Debug", "Queryable", "Selectable")
    assert bed.table_path == ("beds",)
    assert bed.check_for_backend == ("diesel::sqlite::Sqlite",)
    assert bed.options["treat_none_as_null"] == "true"
    assert bed.line == SOURCE.splitlines().index("pub struct Bed<'a> {") + 1


def test_fields_in_order_with_columns_types_and_options():
    row, note, extra = read_rust(SOURCE).structs[0].fields
    assert (row.name, row.column, row.visibility, row.type.canonical) == ("row", "row_no", "pub(crate)", "i64")
    assert note.options == {"deserialize_as": "i32"}
    assert note.type.canonical == "Option<&str>"
    assert "embed" in extra.options and extra.has_comma is False
    assert row.line == SOURCE.splitlines().index("    pub(crate) row: Count,") + 1


def test_tuple_structs_and_diesel_1_attributes():
    shed = read_rust(SOURCE).structs[1]
    assert shed.tuple_struct and shed.table_path == ("sheds",)
    assert [f.type.canonical for f in shed.fields] == ["i32", "String"]


def test_uses_and_inline_modules():
    rust = read_rust(SOURCE, module=("crate", "models", "garden"))
    assert [(u.local, u.path) for u in rust.uses] == [
        (None, ("diesel", "prelude")), ("beds", ("crate", "schema", "beds")),
        ("kit", ("crate", "schema", "tools")), (None, ("crate", "schema", "archive"))]
    tool = rust.structs[2]
    assert tool.module == ("crate", "models", "garden", "inner")
    assert tool.uses[0].path == ("super", "super", "schema", "tools")
    assert tool.table_name == "tools"


def test_default_table_name_follows_diesel():
    assert infer_table_name("UserSetting") == "user_settings"
    assert infer_table_name("Category") == "categorys"  # diesel adds `s`, nothing smarter


def test_module_paths(tmp_path: Path):
    src = tmp_path / "src"
    assert module_path_of(src / "models" / "mod.rs", src) == ("crate", "models")
    assert module_path_of(src / "models" / "user.rs", src) == ("crate", "models", "user")
    assert module_path_of(src / "schema.rs", src) == ("crate", "schema")


def test_fully_qualified_types_are_canonical():
    assert parse_type("std::option::Option<chrono::naive::NaiveDateTime>").canonical == "Option<NaiveDateTime>"
    assert parse_type("crate::types::String").canonical is None
    assert parse_type("Vec<u8>").canonical == "Vec<u8>"
