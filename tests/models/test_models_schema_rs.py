"""schema.rs reading: tables, column order, sql_name, primary keys, joinable!."""

from __future__ import annotations

import pytest

from lightnb.errors import ModelDrift
from lightnb.models.schema_rs import load_schema, parse_schema

SCHEMA = '''
// @generated automatically by Diesel CLI.
pub mod sql_types {
    #[derive(diesel::sql_types::SqlType)]
    #[diesel(sqlite_type(name = "Text"))]
    pub struct Mood;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Mood;

    /// Beds of the garden.
    #[sql_name = "garden beds"]
    beds (row_no, plot) {
        /// Row within the plot.
        row_no -> Integer,
        plot -> BigInt,
        #[sql_name = "type"]
        #[max_length = 20]
        r#type -> Nullable<Text>,
        soil -> Nullable<diesel::sql_types::Double>,
        tags -> Array<Nullable<Text>>,
        mood -> Mood,
    }
}

table! {
    tools {
        id -> Integer,
    }
    sheds (id) {
        id -> Integer,
    }
}

diesel::joinable!(tools -> sheds (shed_id));
'''


def test_tables_columns_and_keys_are_read_in_order():
    schema = parse_schema(SCHEMA)
    assert schema.table_names == ("beds", "tools", "sheds")
    beds = schema.table("beds")
    assert beds.sql_name == "garden beds"
    assert beds.primary_key == ("row_no", "plot")
    assert beds.column_names == ("row_no", "plot", "r#type", "soil", "tags", "mood")
    assert schema.table("tools").primary_key == ("id",)


def test_column_types_names_and_nullability():
    beds = parse_schema(SCHEMA).table("beds")
    kind = beds.column("r#type")
    assert (kind.sql_name, kind.diesel_type, kind.nullable) == ("type", "Nullable<Text>", True)
    assert kind.sql_type.canonical == "Text"
    assert beds.column("soil").sql_type.canonical == "Double"
    assert beds.column("tags").diesel_type == "Array<Nullable<Text>>"
    assert beds.column("tags").sql_type.canonical is None  # not a SQLite type: never judged
    assert beds.column("mood").sql_type.canonical is None  # a custom type
    assert beds.column("plot").line == SCHEMA.splitlines().index("        plot -> BigInt,") + 1


def test_joinable_is_read():
    (join,) = parse_schema(SCHEMA).joinables
    assert (join.child, join.parent, join.column) == ("tools", "sheds", "shed_id")


def test_tables_inside_modules_keep_their_module():
    schema = parse_schema("pub mod archive {\n diesel::table! { logs (id) { id -> Integer, } }\n}\n")
    assert schema.table("logs") is None
    assert schema.table("logs", ("archive",)).column_names == ("id",)


def test_missing_schema_file_says_what_to_do(tmp_path):
    with pytest.raises(ModelDrift, match="print-schema"):
        load_schema(tmp_path / "schema.rs")


def test_max_length_is_read():
    """diesel_table_macro_syntax `ColumnDef::parse`: `#[max_length = N]` beside `#[sql_name]`, any order."""
    beds = parse_schema(SCHEMA).table("beds", ())
    assert [(c.rust_name, c.max_length) for c in beds.columns] == [
        ("row_no", None), ("plot", None), ("r#type", 20), ("soil", None), ("tags", None), ("mood", None)]


@pytest.mark.parametrize("literal, value", [("255", 255), ("0xff", 255), ("1_024", 1024), ("80u32", 80),
                                            ("0o17", 15), ("0b101", 5)])
def test_max_length_reads_rust_integer_literals(literal, value):
    """syn `LitInt::base10_parse::<u64>`: every base, underscores and a type suffix."""
    schema = parse_schema(f"diesel::table! {{\n    t (id) {{\n        id -> Integer,\n"
                          f"        #[max_length = {literal}]\n        #[sql_name = \"Name\"]\n        name -> Text,\n"
                          f"    }}\n}}\n")
    (_, name) = schema.tables[0].columns
    assert (name.sql_name, name.max_length) == ("Name", value)


@pytest.mark.parametrize("attribute, diesel_text", [
    # diesel_table_macro_syntax `take_lit`: not `= <integer literal>` is its (mislabelled) syn error
    ("#[max_length = -5]", 'Failed to parse schema: Invalid `#[sql_name = "max_length"]` attribute'),
    ('#[max_length = "255"]', 'Failed to parse schema: Invalid `#[sql_name = "max_length"]` attribute'),
    ("#[max_length]", 'Failed to parse schema: Invalid `#[sql_name = "max_length"]` attribute'),
    # diesel_cli data_structures.rs `ColumnType::for_column_def`: Error::ColumnLiteralParseError
    ("#[max_length = 18446744073709551616]",
     "Column length literal can't be parsed as u64: number too large to fit in target type"),
])
def test_max_length_that_is_not_a_u64_is_diesels_error(attribute, diesel_text):
    with pytest.raises(ModelDrift) as info:
        parse_schema(f"diesel::table! {{\n    t (id) {{\n        id -> Integer,\n        {attribute}\n"
                     f"        name -> Text,\n    }}\n}}\n")
    assert info.value.diesel_text == diesel_text
    assert str(info.value).startswith(diesel_text.removeprefix("Failed to parse schema: ") + " (lightnb: line 4 of")
