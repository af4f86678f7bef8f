"""Drift check: what is proven wrong (cannot compile) and what cannot be proven, with exact fixes."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightnb.models import check_models
from lightnb.models.drift import check_files
from lightnb.models.rust_reader import read_rust
from lightnb.models.schema_rs import parse_schema

SCHEMA = parse_schema('''
diesel::table! {
    beds (id) {
        id -> Integer,
        name -> Text,
        area -> Nullable<Double>,
        planted -> Timestamp,
    }
}
''')
HEAD = "use diesel::prelude::*;\nuse crate::schema::beds;\n\n"


def findings(source: str, schema=SCHEMA):
    rust = read_rust(HEAD + source, module=("crate", "models"))
    return list(check_files([rust], schema).findings)


def one(source: str):
    (finding,) = findings(source)
    return finding


def test_plantlog_models_are_clean(plantlog: Path):
    report = check_models(plantlog / "src" / "models", plantlog / "src" / "schema.rs")
    assert report.clean, str(report)
    assert report.count_checked("Queryable", "Selectable") == 2
    (skipped,) = [s for s in report.structs if s.status == "skipped"]
    assert skipped.struct == "PlantSummary" and "Queryable only" in skipped.reason


def write_repository(plantlog: Path, body: str) -> None:
    (plantlog / "src" / "repository.rs").write_text(
        "use diesel::prelude::*;\nuse crate::models::garden::Gardener;\nuse crate::schema::gardeners;\n\n"
        "pub fn all(conn: &mut SqliteConnection) -> QueryResult<Vec<Gardener>> {\n" + body + "\n}\n")


def test_added_column_without_a_positional_load_is_not_reported(plantlog: Path):
    # Gardener is Queryable + Selectable with a subset of the columns: valid wherever it is loaded
    # through .select(Gardener::as_select()); no call site loads it positionally, so nothing is said.
    report = check_models(plantlog / "src" / "models", plantlog / "schema_after_migration.rs")
    assert report.findings == ()
    write_repository(plantlog, "    gardeners::table.select(Gardener::as_select()).load(conn)")
    assert check_models(plantlog / "src" / "models", plantlog / "schema_after_migration.rs").findings == ()


@pytest.mark.parametrize("body, line", [
    ("    gardeners::table.order(gardeners::id).load::<Gardener>(conn)", 6),
    ("    let rows: Vec<Gardener> = gardeners::table.load(conn)?;\n    Ok(rows)", 6),
    ("    let one = gardeners::table\n        .filter(gardeners::id.eq(1))\n        .first::<Gardener>(conn)?;\n"
     "    Ok(vec![one])", 6),
])
def test_added_column_with_a_positional_load_is_proven_at_the_call_site(plantlog: Path, body: str, line: int):
    write_repository(plantlog, body)
    report = check_models(plantlog / "src" / "models", plantlog / "schema_after_migration.rs")
    (finding,) = report.findings
    assert (finding.struct, finding.field, finding.kind) == ("Gardener", "favourite_colour", "missing_field")
    assert finding.fix == "add `pub favourite_colour: Option<String>,` after line 17"
    assert finding.proven and "repository.rs" in finding.why and "positionally" in finding.why
    assert report.fails("proven")


def test_a_load_from_a_variable_or_another_select_is_not_counted(plantlog: Path):
    write_repository(plantlog, "    let query = gardeners::table.select((gardeners::id, gardeners::handle));\n"
                               "    query.load::<Gardener>(conn)")
    assert check_models(plantlog / "src" / "models", plantlog / "schema_after_migration.rs").findings == ()


def test_an_unrelated_table_name_is_not_suggested():
    from lightnb.models.drift import _no_table
    struct = read_rust("#[derive(Queryable, Selectable)]\n#[diesel(table_name = items)]\npub struct Item {\n"
                       "    pub id: i32,\n}\n").structs[0]
    near = parse_schema("diesel::table! {\n    tesla (id) {\n        id -> Integer,\n    }\n}\n"
                        "diesel::table! {\n    item (id) {\n        id -> Integer,\n    }\n}\n")
    assert "`table_name = item`" in _no_table(struct, near, proven=True).fix
    only_tesla = parse_schema("diesel::table! {\n    tesla (id) {\n        id -> Integer,\n    }\n}\n")
    assert "tesla" not in _no_table(struct, only_tesla, proven=True).fix


SELECTABLE = ("#[derive(Queryable, Selectable)]\n#[diesel(table_name = beds)]\n"
              "#[diesel(check_for_backend(diesel::sqlite::Sqlite))]\npub struct Bed {\n")


@pytest.mark.parametrize("body, kind, proven, fix", [
    # a field whose column does not exist: Selectable names `beds::size`
    ("    pub id: i32,\n    pub name: String,\n    pub size: Option<f64>,\n    pub planted: chrono::NaiveDateTime,\n",
     "no_column", True, "remove line 10 `pub size: Option<f64>,`, or add the column `beds.size` in a "
                        "migration; or, if the field holds `beds.area`, add `#[diesel(column_name = area)]` "
                        "above line 10"),
    # wrong type under check_for_backend
    ("    pub id: i64,\n    pub name: String,\n    pub area: Option<f64>,\n    pub planted: chrono::NaiveDateTime,\n",
     "wrong_type", True, "change line 8 to `pub id: i32,`"),
    # nullable column loaded into a non-Option field
    ("    pub id: i32,\n    pub name: String,\n    pub area: f64, // m2\n    pub planted: chrono::NaiveDateTime,\n",
     "wrong_type", True, "change line 10 to `pub area: Option<f64>, // m2`"),
])
def test_selectable_with_backend_check_is_proven(body, kind, proven, fix):
    finding = one(SELECTABLE + body + "}\n")
    assert (finding.kind, finding.proven, finding.fix) == (kind, proven, fix)
    assert finding.severity == "PROVEN"


INSERTABLE = "#[derive(Insertable)]\n#[diesel(table_name = beds)]\npub struct NewBed {\n"


def test_unknown_insertable_field_is_removed_not_renamed_to_an_unrelated_column():
    # Insertable is not positional: the column in the same place (`id`) is no candidate.
    finding = one(INSERTABLE + "    pub nickname: String,\n    pub name: String,\n}\n")
    assert (finding.kind, finding.proven, finding.field) == ("no_column", True, "nickname")
    assert finding.fix == ("remove line 7 `pub nickname: String,`, or add the column `beds.nickname` in a "
                           "migration")


@pytest.mark.parametrize("field, mapped", [
    ("pub nam: String,", None),            # `name` is close but already mapped by another field
    ("pub aera: Option<f64>,", "area"),    # close name, compatible type: offered as an option
    ("pub aera: String,", None),           # close name, but a String does not fit a Nullable<Double>
    ("pub plant: chrono::NaiveDateTime,", "planted"),
])
def test_column_name_mapping_is_offered_only_for_an_obvious_compatible_column(field, mapped):
    finding = one(INSERTABLE + "    pub name: String,\n    " + field + "\n}\n")
    assert finding.fix.startswith("remove line 8 ")
    if mapped is None:
        assert "column_name" not in finding.fix
    else:
        assert finding.fix.endswith(f"; or, if the field holds `beds.{mapped}`, add "
                                    f"`#[diesel(column_name = {mapped})]` above line 8")


def test_type_mismatch_without_backend_check_cannot_be_proven():
    source = ("#[derive(Queryable, Selectable)]\n#[diesel(table_name = beds)]\npub struct Bed {\n"
              "    pub id: i64,\n    pub name: String,\n    pub area: Option<f64>,\n    pub planted: String,\n}\n")
    finding = one(source)
    assert (finding.kind, finding.proven) == ("wrong_type", False)
    assert "check_for_backend" in finding.why


def test_equivalent_spellings_are_not_drift():
    source = ("type Id = i32;\n" + SELECTABLE +
              "    pub id: Id,\n    #[serde(rename = \"n\")]\n    pub name: std::string::String,\n"
              "    pub area: std::option::Option<f64>,\n    pub planted: chrono::naive::NaiveDateTime,\n}\n")
    assert findings(source) == []


def test_unknown_types_are_never_judged():
    source = (SELECTABLE + "    pub id: crate::ids::BedId,\n    pub name: Label,\n"
              "    #[diesel(deserialize_as = Celsius)]\n    pub area: Option<f64>,\n    pub planted: Stamp,\n}\n")
    assert findings(source) == []


def test_deserialize_as_type_is_the_one_checked():
    source = (SELECTABLE + "    pub id: i32,\n    pub name: String,\n"
              "    #[diesel(deserialize_as = i32)]\n    pub area: Option<f64>,\n    pub planted: String,\n}\n")
    finding = one(source)
    assert (finding.field, finding.kind, finding.proven) == ("area", "wrong_type", True)


def test_field_order_and_missing_columns_cannot_be_proven():
    source = (SELECTABLE + "    pub name: String,\n    pub id: i32,\n}\n")
    kinds = sorted((f.kind, f.field, f.proven) for f in findings(source))
    assert kinds == [("field_order", "name", False), ("missing_field", "area", False),
                     ("missing_field", "planted", False)]


def test_queryable_only_structs_are_unproven_or_skipped():
    narrow = "#[derive(Queryable)]\npub struct BedName {\n    pub name: String,\n}\n"
    assert findings(narrow) == []
    declared = ("#[derive(Queryable)]\n#[diesel(table_name = beds)]\npub struct BedName {\n"
                "    pub nickname: String,\n}\n")
    assert {(f.kind, f.proven) for f in findings(declared)} >= {("no_column", False)}
    assert not any(f.proven for f in findings(declared))


@pytest.mark.parametrize("field, ok", [
    ("pub name: &'a str,", True), ("pub name: Option<String>,", True), ("pub name: i32,", False),
    ("pub area: f64,", True), ("pub area: Option<&'a str>,", False), ("pub colour: String,", False),
])
def test_insertable_fields_must_exist_and_fit(field, ok):
    source = f"#[derive(Insertable)]\n#[diesel(table_name = beds)]\npub struct NewBed<'a> {{\n    {field}\n}}\n"
    found = findings(source)
    assert (found == []) == ok
    assert all(f.proven for f in found)


@pytest.mark.parametrize("derive, option, proven_fields", [
    # Insertable ignores treat_none_as_null: `Option<String>` on a NOT NULL column means "default"
    ("Insertable", "treat_none_as_null = true", []),
    ("Insertable", "treat_none_as_default_value = false", ["name"]),
    ("AsChangeset", "treat_none_as_null = true", ["name"]),
    ("AsChangeset", "treat_none_as_default_value = false", []),
])
def test_none_handling_follows_each_derive(derive, option, proven_fields):
    source = (f"#[derive({derive})]\n#[diesel(table_name = beds, {option})]\n"
              "pub struct NewBed {\n    pub name: Option<String>,\n    pub area: Option<f64>,\n}\n")
    assert [f.field for f in findings(source) if f.proven] == proven_fields


def test_changeset_skips_the_primary_key():
    source = ("#[derive(AsChangeset)]\n#[diesel(table_name = beds)]\npub struct BedChange {\n"
              "    pub id: String,\n    pub name: Option<String>,\n}\n")
    assert findings(source) == []


def test_tables_of_another_schema_module_are_skipped():
    source = ("use crate::legacy_schema::beds as old_beds;\n#[derive(Queryable, Selectable)]\n"
              "#[diesel(table_name = old_beds)]\npub struct OldBed {\n    pub whatever: u8,\n}\n")
    rust = read_rust(source, module=("crate", "models"))
    report = check_files([rust], SCHEMA)
    assert report.clean
    assert "legacy_schema" in report.structs[0].reason


def test_table_missing_from_schema_is_proven_with_close_name():
    source = ("#[derive(Selectable)]\n#[diesel(table_name = crate::schema::bedz)]\n"
              "pub struct Bed {\n    pub id: i32,\n}\n")
    finding = one(source)
    assert (finding.kind, finding.proven) == ("no_table", True)
    assert "table_name = beds" in finding.fix


def test_untraced_table_paths_are_never_proven():
    source = "#[derive(Selectable)]\n#[diesel(table_name = beds)]\npub struct Bed {\n    pub size: i32,\n}\n"
    rust = read_rust(source, module=("crate", "models"))  # no `use` for beds
    (finding,) = check_files([rust], SCHEMA).findings
    assert finding.kind == "no_column" and not finding.proven
    assert "not traced" in finding.why


def test_finding_text_names_file_line_struct_field_and_fix(plantlog: Path):
    write_repository(plantlog, "    gardeners::table.load::<Gardener>(conn)")
    report = check_models(plantlog / "src" / "models", plantlog / "schema_after_migration.rs")
    text = str(report).splitlines()[0]
    assert text.startswith(f"{plantlog / 'src' / 'models' / 'garden.rs'}:11: PROVEN: Gardener.favourite_colour:")
    assert "fix: add `pub favourite_colour: Option<String>,` after line 17" in text


def test_lines_that_do_not_parse_are_reported_and_never_silently_pass():
    source = INSERTABLE + "    pub name: String,\n}\n\npub struct {{{\n"
    report = check_files([read_rust(HEAD + source, path=Path("models.rs"), module=("crate", "models"))], SCHEMA)
    (finding,) = report.findings
    assert (finding.kind, finding.proven, finding.line, str(finding.file)) == ("unreadable", False, 10, "models.rs")
    assert report.unreadable == (finding,) and not report.clean
    assert str(finding).startswith("models.rs:10: UNPROVEN: line 10 could not be read (Rust syntax error); "
                                   "structs in that region were not checked; fix: correct the syntax there")
    assert str(report).endswith("1 region(s) could not be read, so the check is incomplete")


def test_a_struct_overlapping_an_unreadable_region_has_nothing_proven():
    broken = INSERTABLE + "    pub name: String,\n    pub size: = 3,\n    pub nickname: String,\n}\n"
    fine = INSERTABLE.replace("NewBed", "OtherBed") + "    pub nickname: String,\n}\n"
    report = check_files([read_rust(HEAD + broken + "\n" + fine, module=("crate", "models"))], SCHEMA)
    kinds = {(f.struct, f.kind, f.proven) for f in report.findings}
    assert kinds == {("", "unreadable", False), ("NewBed", "no_column", False), ("OtherBed", "no_column", True)}
    (doubted,) = [f for f in report.findings if f.struct == "NewBed"]
    assert "lines 8-8 of its file do not parse" in doubted.why


def test_fails_on_any_finding_or_only_proven_and_unreadable_ones():
    from dataclasses import replace

    from lightnb.models.drift import UNREADABLE, DriftReport
    unproven = one("#[derive(Queryable, Selectable)]\n#[diesel(table_name = beds)]\npub struct Bed {\n"
                   "    pub id: i32,\n    pub name: String,\n    pub area: Option<f64>,\n}\n")
    assert not unproven.proven
    assert not DriftReport((), ()).fails("any")
    assert DriftReport((unproven,), ()).fails("any") and not DriftReport((unproven,), ()).fails("proven")
    assert DriftReport((replace(unproven, proven=True),), ()).fails("proven")
    assert DriftReport((replace(unproven, kind=UNREADABLE),), ()).fails("proven")
    with pytest.raises(ValueError):
        DriftReport((), ()).fails("never")
