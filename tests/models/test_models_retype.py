"""A changed column's field type: Diesel's SQLite mapping, read the way each derive uses the field,
with the user's aliases and custom types kept where they still fit, spelled as the file spells types."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightnb.models.scaffold import plan_models


def plan_one(tmp_path: Path, struct_code: str, before: str, now: str, *, head: str = "", extra_files=None,
             previous: bool = True):
    """Plan one struct of table `items` (columns id + `value`) whose `value` column goes from ``before`` to ``now``."""
    models = tmp_path / "src" / "models"
    models.mkdir(parents=True, exist_ok=True)
    (models / "items.rs").write_text("use diesel::prelude::*;\nuse crate::schema::items;\n" + head + "\n"
                                     + struct_code)
    for name, text in (extra_files or {}).items():
        (models / name).write_text(text)

    def schema(kind: str) -> str:
        return f"diesel::table! {{\n    items (id) {{\n        id -> Integer,\n        value -> {kind},\n    }}\n}}\n"
    return plan_models(models, schema(now), previous=schema(before) if previous else None,
                       src_root=tmp_path / "src")


def new_type(tmp_path: Path, derives: str, written: str, before: str, now: str, *, options: str = "",
             field_attr: str = "", head: str = "", generics: str = "") -> str | None:
    code = (f"#[derive({derives})]\n#[diesel(table_name = items{options})]\npub struct Item{generics} {{\n"
            f"    pub id: i32,\n{field_attr}    pub value: {written},\n}}\n")
    plan = plan_one(tmp_path, code, before, now, head=head)
    assert plan.left_alone == (), [str(x) for x in plan.left_alone]
    if not plan.changes:
        return None
    (change,) = plan.changes
    (retyped,) = change.retyped
    assert retyped.field == "value" and retyped.old == written
    return retyped.new


LOADS = "Queryable, Selectable"


@pytest.mark.parametrize("written, before, now, expected", [
    ("i32", "Integer", "BigInt", "i64"),                             # followed the mapping
    ("i16", "SmallInt", "Integer", "i32"),
    ("Option<i64>", "Nullable<BigInt>", "BigInt", "i64"),           # NULL no longer possible
    ("String", "Text", "Nullable<Text>", "Option<String>"),         # NULL now possible
    ("Option<chrono::NaiveDate>", "Nullable<Date>", "Nullable<Text>", "Option<String>"),
    ("f32", "Float", "Double", "f64"),
    ("Vec<u8>", "Binary", "Text", "String"),
    ("i32", "Integer", "Text", "String"),
    ("String", "Text", "Timestamp", "chrono::NaiveDateTime"),       # String followed Text's mapping
    ("i32", "Integer", "Bool", "bool"),
    ("i32", "Integer", "Int4", None),                               # the same SQL type, another spelling
    ("String", "VarChar", "Text", None),
])
def test_loading_struct_follows_the_mapping(tmp_path: Path, written, before, now, expected):
    assert new_type(tmp_path, LOADS, written, before, now) == expected


@pytest.mark.parametrize("derives, options, attr, written, before, now, expected", [
    # Insertable: Option<_> is None -> DEFAULT; it follows NULL when NULL changes
    ("Insertable", "", "", "Option<i64>", "Nullable<BigInt>", "BigInt", "i64"),
    ("Insertable", "", "", "i32", "Integer", "Nullable<Integer>", "Option<i32>"),
    ("Insertable", "", "", "&'a str", "Text", "Nullable<Text>", "Option<&'a str>"),  # the borrow is kept
    ("Insertable", "", "", "Option<&'a str>", "Nullable<Text>", "Text", "&'a str"),
    ("Insertable", "", "", "String", "Timestamp", "BigInt", "i64"),                 # String no longer fits
    # AsChangeset: the outer Option means "leave it alone"; only the value follows the column
    ("AsChangeset", "", "", "Option<Option<i64>>", "Nullable<BigInt>", "BigInt", "Option<i64>"),
    ("AsChangeset", "", "", "Option<i16>", "SmallInt", "Integer", "Option<i32>"),
    ("AsChangeset", "", "", "Option<i32>", "Integer", "Nullable<Integer>", None),   # still fits
    ("AsChangeset", "", "", "i32", "Integer", "Nullable<Integer>", None),
    # treat_none_as_null: the Option is NULL
    ("AsChangeset", ", treat_none_as_null = true", "", "Option<f32>", "Nullable<Float>", "Float", "f32"),
    ("AsChangeset", "", "    #[diesel(treat_none_as_null = true)]\n", "f32", "Float", "Nullable<Float>",
     "Option<f32>"),
])
def test_writing_struct_reads_option_as_its_derive_does(tmp_path: Path, derives, options, attr, written, before,
                                                        now, expected):
    generics = "<'a>" if "'a" in written else ""
    assert new_type(tmp_path, derives, written, before, now, options=options, field_attr=attr,
                    generics=generics) == expected


def test_an_alias_that_still_fits_is_kept_and_wrapped(tmp_path: Path):
    head = "type Count = i32;\ntype Money = f64;\n"
    assert new_type(tmp_path, LOADS, "Count", "Integer", "Nullable<Integer>", head=head) == "Option<Count>"
    assert new_type(tmp_path / "b", LOADS, "Option<Count>", "Nullable<Integer>", "Integer", head=head) == "Count"
    assert new_type(tmp_path / "c", LOADS, "Money", "Float", "Double", head=head) is None  # f64 fits Double
    assert new_type(tmp_path / "d", LOADS, "Count", "Integer", "BigInt", head=head) == "i64"  # i32 does not


def test_an_alias_imported_from_another_model_file_is_traced(tmp_path: Path):
    types = "pub type UnixTime = i32;\npub type Stamp = i64;\n"
    code = ("#[derive(Queryable, Selectable)]\n#[diesel(table_name = items)]\npub struct Item {\n"
            "    pub id: i32,\n    pub value: UnixTime,\n}\n")
    plan = plan_one(tmp_path, code, "Integer", "BigInt", head="use super::types::UnixTime;\n",
                    extra_files={"types.rs": types, "mod.rs": "pub mod items;\npub mod types;\n"})
    assert [r.new for r in plan.changes[0].retyped] == ["i64"]
    plan = plan_one(tmp_path / "b", code.replace("UnixTime", "Stamp"), "Integer", "BigInt",
                    head="use super::types::Stamp;\n",
                    extra_files={"types.rs": types, "mod.rs": "pub mod items;\npub mod types;\n"})
    assert plan.changes == () and plan.left_alone == ()  # Stamp is i64: it fits BigInt already


def test_a_custom_type_keeps_working_inside_option_when_only_null_changes(tmp_path: Path):
    code = ("#[derive(Queryable, Selectable)]\n#[diesel(table_name = items)]\npub struct Item {\n"
            "    pub id: i32,\n    pub value: Difficulty,\n}\n")
    plan = plan_one(tmp_path, code, "Text", "Nullable<Text>", head="use super::types::Difficulty;\n")
    assert [r.new for r in plan.changes[0].retyped] == ["Option<Difficulty>"]


def test_a_custom_type_whose_sql_type_changed_is_reported_not_replaced(tmp_path: Path):
    code = ("#[derive(Queryable, Selectable)]\n#[diesel(table_name = items)]\npub struct Item {\n"
            "    pub id: i32,\n    pub value: Difficulty,\n}\n")
    plan = plan_one(tmp_path, code, "Text", "Integer", head="use super::types::Difficulty;\n")
    assert plan.changes == ()
    (left,) = plan.left_alone
    assert left.struct == "Item" and left.columns == ("value",)
    assert "cannot tell whether `Difficulty` loads from and writes to `Integer`" in left.reason
    assert "e.g. `i32`" in left.by_hand


def test_an_alias_hiding_an_option_is_reported(tmp_path: Path):
    code = ("#[derive(Queryable, Selectable)]\n#[diesel(table_name = items)]\npub struct Item {\n"
            "    pub id: i32,\n    pub value: MaybeCount,\n}\n")
    plan = plan_one(tmp_path, code, "Nullable<Integer>", "Integer", head="type MaybeCount = Option<i32>;\n")
    (left,) = plan.left_alone
    assert "hidden in a type alias" in left.reason and "`value` as `i32`" in left.by_hand


@pytest.mark.parametrize("head, others, expected", [
    ("use chrono::NaiveDateTime;\n", "", "NaiveDateTime"),            # imported: written bare
    ("use chrono::prelude::*;\n", "", "NaiveDateTime"),
    ("", "", "chrono::NaiveDateTime"),
    # the crate's other Timestamp fields use the time crate: so does the new one
    ("", "    pub made: time::PrimitiveDateTime,\n    pub seen: time::PrimitiveDateTime,\n",
     "time::PrimitiveDateTime"),
    ("use time::PrimitiveDateTime;\n", "    pub made: PrimitiveDateTime,\n", "PrimitiveDateTime"),
])
def test_a_new_type_is_spelled_as_the_crate_spells_it(tmp_path: Path, head, others, expected):
    logs = ("\n#[derive(Queryable, Selectable)]\n#[diesel(table_name = logs)]\npub struct Log {\n"
            "    pub id: i32,\n" + others + "}\n") if others else ""
    code = ("#[derive(Queryable, Selectable)]\n#[diesel(table_name = items)]\npub struct Item {\n"
            "    pub id: i32,\n    pub value: i64,\n}\n" + logs)
    models = tmp_path / "src" / "models"
    models.mkdir(parents=True)
    (models / "items.rs").write_text("use diesel::prelude::*;\nuse crate::schema::{items, logs};\n" + head
                                     + "\n" + code)
    tables = ("diesel::table! {{\n    items (id) {{\n        id -> Integer,\n        value -> {},\n    }}\n}}\n"
              "diesel::table! {{\n    logs (id) {{\n        id -> Integer,\n        made -> Timestamp,\n"
              "        seen -> Timestamp,\n    }}\n}}\n")
    plan = plan_models(models, tables.format("Timestamp"), previous=tables.format("BigInt"),
                       src_root=tmp_path / "src")
    (change,) = plan.changes
    assert [r.new for r in change.retyped] == [expected]


def test_without_the_previous_schema_only_what_cannot_compile_changes(tmp_path: Path):
    code = ("#[derive(Queryable, Selectable)]\n#[diesel(table_name = items)]\n"
            "#[diesel(check_for_backend(diesel::sqlite::Sqlite))]\npub struct Item {\n"
            "    pub id: i32,\n    pub value: i32,\n}\n")
    plan = plan_one(tmp_path, code, "Integer", "BigInt", previous=False)
    assert [(r.old, r.new, r.why) for r in plan.changes[0].retyped] == [("i32", "i64", "BigInt")]
    plan = plan_one(tmp_path / "b", code.replace("value: i32", "value: String"), "Text", "Timestamp",
                    previous=False)
    assert plan.changes == ()  # a String loads from a Timestamp: it compiles, so it is the user's choice


def test_a_field_loaded_through_deserialize_as_is_judged_by_that_type(tmp_path: Path):
    code = ("#[derive(Queryable, Selectable)]\n#[diesel(table_name = items)]\n"
            "#[diesel(check_for_backend(diesel::sqlite::Sqlite))]\npub struct Item {\n    pub id: i32,\n"
            "    #[diesel(deserialize_as = i16)]\n    pub value: i32,\n}\n")
    plan = plan_one(tmp_path / "c", code, "SmallInt", "SmallInt", previous=False)
    assert plan.changes == () and plan.left_alone == ()  # i16 loads from SmallInt: nothing to change
    plan = plan_one(tmp_path / "d", code, "SmallInt", "Integer")
    (left,) = plan.left_alone
    assert "deserialize_as" in left.reason
