"""Diesel's PostgreSQL type mapping: which Rust types load from, write to and bind to which SQL types.

Every expectation below is one of diesel 2.3.12's impls (or the absence of one), named in the
comment: ``FromSql<ST, Pg>`` for loading (what ``check_for_backend(diesel::pg::Pg)`` asks),
``AsExpression<ST>`` for the Insertable/AsChangeset derives, ``ToSql<ST, Pg>`` for running the
insert on a PgConnection. None means "cannot be known here" (a user's type, a custom SQL type).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from lightnb.models import check_files, check_models, generate_for_table, load_schema, parse_schema, pg_types
from lightnb.models.fit import as_expression, loads_as, rust_type_for
from lightnb.models.rust_reader import parse_type, read_models_dir
from lightnb.models.types import SqlType

FIXTURE = Path(__file__).parent / "fixtures" / "pg_types"


def sql(text: str, backend: str = "postgres") -> SqlType:
    return SqlType.parse(re.findall(r"::|\w+|[<>,]", text)).on(backend)


# (Rust type, SQL type, loads, writes, binds)
CASES = [
    # integers.rs, floats/mod.rs, primitives.rs; print-schema's aliases (Int4, Float8, …) fold to diesel's structs
    ("i32", "Int4", True, True, True),
    ("i64", "Int4", False, False, False),
    ("i16", "Int2", True, True, True),
    ("i64", "Int8", True, True, True),
    ("f32", "Float4", True, True, True),
    ("f64", "Float8", True, True, True),
    ("bool", "Bool", True, True, True),
    ("u32", "Oid", True, True, True),
    ("String", "Varchar", True, True, True),
    ("String", "Bpchar", True, True, True),
    ("&str", "Text", False, True, True),               # FromSqlRef only; AsExpression<Text> for &str
    ("Vec<u8>", "Bytea", True, True, True),
    ("&[u8]", "Bytea", False, True, True),
    ("[u8; 16]", "Bytea", False, True, True),           # BinaryArrayProxy<const N>: writes, never loads
    # Option and Nullable (type_impls/option.rs; the AsExpression derive adds Nullable<ST> for T)
    ("Option<i32>", "Nullable<Int4>", True, True, True),
    ("Option<i32>", "Int4", False, False, False),
    ("i32", "Nullable<Int4>", False, True, True),
    ("Option<MyType>", "Int4", False, False, False),    # Option<T> is only for nullable types, any T
    # date_and_time/{chrono,time,std_time,mod}.rs
    ("chrono::NaiveDateTime", "Timestamp", True, True, True),
    ("chrono::NaiveDateTime", "Timestamptz", True, True, True),
    ("chrono::DateTime<chrono::Utc>", "Timestamptz", True, True, True),
    ("chrono::DateTime<chrono::Local>", "Timestamptz", True, True, True),
    ("chrono::DateTime<chrono::FixedOffset>", "Timestamptz", False, True, True),  # FromSql for Utc, Local only
    ("chrono::DateTime<chrono::Utc>", "Timestamp", False, False, False),
    ("time::OffsetDateTime", "Timestamptz", True, True, True),
    ("time::PrimitiveDateTime", "Timestamp", True, True, True),
    ("time::OffsetDateTime", "Timestamp", False, False, False),
    ("std::time::SystemTime", "Timestamp", True, True, True),
    ("std::time::SystemTime", "Timestamptz", False, False, False),
    ("chrono::NaiveDate", "Date", True, True, True),
    ("chrono::NaiveTime", "Time", True, True, True),
    ("chrono::Duration", "Interval", True, True, True),
    ("chrono::TimeDelta", "Interval", True, True, True),
    ("diesel::data_types::PgTimestamp", "Timestamptz", True, True, True),
    ("diesel::pg::data_types::PgInterval", "Interval", True, True, True),
    # String for a date type: AsExpression through diesel's sqlite feature, no FromSql/ToSql on Pg
    ("String", "Timestamp", False, True, False),
    ("&str", "Date", False, True, False),
    ("i64", "Timestamptz", False, False, False),
    # json.rs, uuid.rs, numeric.rs, network_address.rs, ipnet_address.rs, mac_addr.rs, money.rs
    ("serde_json::Value", "Jsonb", True, True, True),
    ("serde_json::Value", "Json", True, True, True),
    ("String", "Jsonb", False, False, False),
    ("uuid::Uuid", "Uuid", True, True, True),
    ("String", "Uuid", False, False, False),
    ("bigdecimal::BigDecimal", "Numeric", True, True, True),
    ("f64", "Numeric", False, False, False),
    ("ipnetwork::IpNetwork", "Inet", True, True, True),
    ("ipnet::IpNet", "Cidr", True, True, True),
    ("[u8; 6]", "Macaddr", True, True, True),
    ("[u8; 8]", "Macaddr", False, False, False),
    ("diesel::data_types::PgMoney", "Money", True, True, True),
    ("diesel::data_types::Cents", "Money", True, True, True),
    # array.rs: Vec<T> where T: FromSql<ST, Pg>; AsExpression for Vec<T>/&[T] for any T, ToSql per element
    ("Vec<Option<String>>", "Array<Nullable<Text>>", True, True, True),
    ("Vec<String>", "Array<Nullable<Text>>", False, True, True),  # String: FromSql<Nullable<Text>>? no
    ("Vec<i64>", "Array<Nullable<Int4>>", False, True, False),
    ("&[Option<String>]", "Array<Nullable<Text>>", False, True, True),
    ("Option<Vec<Option<i32>>>", "Nullable<Array<Nullable<Int4>>>", True, True, True),
    ("Vec<Option<i32>>", "Nullable<Array<Nullable<Int4>>>", False, True, True),
    ("String", "Array<Nullable<Text>>", False, False, False),
    ("Vec<MyType>", "Array<Nullable<Text>>", None, True, None),
    # ranges.rs, multirange.rs
    ("(std::collections::Bound<i32>, std::collections::Bound<i32>)", "Int4range", True, True, True),
    ("(std::ops::Bound<i64>, std::ops::Bound<i64>)", "Int4range", False, True, False),
    ("std::ops::Range<i32>", "Int4range", False, True, True),  # writes only
    ("Vec<(std::ops::Bound<i32>, std::ops::Bound<i32>)>", "Int4multirange", True, True, True),
    ("i32", "Int4range", False, False, False),
    # Cow (type_impls/primitives.rs): loads through its owned type, AsExpression for any ST
    ("std::borrow::Cow<'static, str>", "Text", True, True, True),
    ("std::borrow::Cow<'static, str>", "Int4", False, True, False),
    # unknown: a user's type, a custom SQL type (the crate declaring it may implement anything for it)
    ("MyType", "Text", None, None, None),
    ("String", "Mood", None, None, None),
    ("String", "super::sql_types::Mood", None, None, None),
    ("Vec<Option<String>>", "Array<Nullable<Mood>>", None, None, None),
]


@pytest.mark.parametrize("rust, sql_text, loads, writes, binds", CASES)
def test_diesel_pg_impls(rust: str, sql_text: str, loads: bool | None, writes: bool | None,
                         binds: bool | None) -> None:
    rust_type, sql_type = parse_type(rust), sql(sql_text)
    assert loads_as(rust_type, sql_type) is loads
    assert as_expression(rust_type, sql_type) is writes
    assert pg_types.binds(rust_type, sql_type) is binds


@pytest.mark.parametrize("sql_text, rust", [
    ("Int4", "i32"), ("Nullable<Int8>", "Option<i64>"), ("Int2", "i16"), ("Float4", "f32"), ("Float8", "f64"),
    ("Varchar", "String"), ("Bpchar", "String"), ("Bytea", "Vec<u8>"), ("Numeric", "bigdecimal::BigDecimal"),
    ("Timestamp", "chrono::NaiveDateTime"), ("Timestamptz", "chrono::DateTime<chrono::Utc>"),
    ("Interval", "chrono::Duration"), ("Jsonb", "serde_json::Value"), ("Uuid", "uuid::Uuid"),
    ("Inet", "ipnetwork::IpNetwork"), ("Macaddr", "[u8; 6]"), ("Money", "diesel::data_types::PgMoney"),
    ("Array<Nullable<Text>>", "Vec<Option<String>>"),
    ("Nullable<Array<Nullable<Int4>>>", "Option<Vec<Option<i32>>>"),
    ("Int4range", "(std::collections::Bound<i32>, std::collections::Bound<i32>)"),
    ("Mood", "Mood"), ("Nullable<Mood>", "Option<Mood>"),
])
def test_generated_types_load_and_write(sql_text: str, rust: str) -> None:
    sql_type = sql(sql_text)
    assert rust_type_for(sql_type) == rust
    if pg_types.sql_shape(sql_type) is not None:  # what generation writes is what diesel loads and writes
        assert loads_as(parse_type(rust), sql_type) is True
        assert as_expression(parse_type(rust), sql_type) is True


def test_the_same_pair_on_sqlite_keeps_sqlites_rules() -> None:
    # SQLite: String loads from Timestamp (FromSql<Timestamp, Sqlite> for String); PostgreSQL: no
    assert loads_as(parse_type("String"), sql("Timestamp", "sqlite")) is True
    assert loads_as(parse_type("String"), sql("Timestamp")) is False
    assert loads_as(parse_type("String"), sql("Timestamp"), "sqlite") is True
    assert rust_type_for(sql("Int4", "sqlite")) == "i32"
    assert sql("Int4").canonical == sql("Int4", "sqlite").canonical == "Integer"
    assert sql("Timestamptz").canonical == "Timestamptz" and sql("Timestamptz", "sqlite").canonical is None


def test_the_backend_is_told_from_schema_rs() -> None:
    assert load_schema(FIXTURE / "src" / "schema.rs").backend == "postgres"
    plain = "diesel::table! {\n    users (id) {\n        id -> Integer,\n        name -> Text,\n    }\n}\n"
    assert parse_schema(plain).backend == "sqlite"
    assert parse_schema(plain.replace("Integer", "Int4")).backend == "postgres"
    assert parse_schema(plain.replace("Integer", "Int4"), backend="sqlite").backend == "sqlite"
    custom = plain + '\npub mod sql_types {\n    #[derive(diesel::sql_types::SqlType)]\n' \
                     '    #[diesel(postgres_type(name = "mood"))]\n    pub struct Mood;\n}\n'
    assert parse_schema(custom.replace("Integer", "Text")).backend == "postgres"
    table = parse_schema(plain.replace("Integer", "Int4")).table("users")
    assert table.backend == "postgres" and table.column("id").sql_type.backend == "postgres"
    with pytest.raises(ValueError, match="backend must be one of sqlite, postgres"):
        parse_schema(plain, backend="mysql")


def test_check_for_backend_paths() -> None:
    assert pg_types.backend_of_check("diesel::pg::Pg") == "postgres"
    assert pg_types.backend_of_check("Pg") == "postgres"
    assert pg_types.backend_of_check("diesel::sqlite::Sqlite") == "sqlite"
    assert pg_types.backend_of_check("diesel::mysql::Mysql") is None


# --------------------------------------------------------------------------- the drift check


def test_models_written_as_diesel_maps_them_have_no_drift() -> None:
    report = check_models(FIXTURE / "src" / "models", FIXTURE / "src" / "schema.rs")
    assert report.clean, str(report)
    assert report.count_checked() == 4


@pytest.fixture
def crate(tmp_path: Path) -> Path:
    target = tmp_path / "crate"
    shutil.copytree(FIXTURE / "src", target / "src")
    return target


# (struct, field line as written, replacement, (kind, proven) per struct the field is in)
MUTATIONS = [
    # Selectable + check_for_backend(Pg): FromSql<Array<Nullable<Text>>, Pg> for Vec<String> does not exist
    ("pub tags: Vec<Option<String>>,", "pub tags: Vec<String>,", {("Everything", "wrong_type", True)}),
    # FromSql<Timestamptz, Pg> is for DateTime<Utc> and DateTime<Local> only
    ("pub created_at: DateTime<Utc>,", "pub created_at: DateTime<chrono::FixedOffset>,",
     {("Everything", "wrong_type", True)}),
    # AsExpression<Jsonb> for String: none, whatever the features
    ("pub doc: Value,", "pub doc: String,", {("Everything", "wrong_type", True)}),
    ("pub big: Option<i64>,", "pub big: Option<i32>,", {("Everything", "wrong_type", True)}),
    ("pub during: Option<(Bound<i32>, Bound<i32>)>,", "pub during: Option<(Bound<i64>, Bound<i64>)>,",
     {("Everything", "wrong_type", True)}),
    ("pub mac: Option<[u8; 6]>,\n    pub tags: Vec<Option<String>>,",
     "pub mac: Option<[u8; 8]>,\n    pub tags: Vec<Option<String>>,", {("Everything", "wrong_type", True)}),
    # Insertable only: String is AsExpression<Timestamp> (diesel's sqlite feature), but no ToSql<Timestamp, Pg>
    ("pub seen_at: Option<NaiveDateTime>,\n    pub doc: &'a Value,",
     "pub seen_at: Option<String>,\n    pub doc: &'a Value,", {("NewEverything", "wrong_type", False)}),
    # a custom SQL type: the crate may implement FromSql<Mood, Pg> for anything, String included
    ("pub feeling: Mood,\n    pub feelings", "pub feeling: String,\n    pub feelings", set()),
    ("pub uid: Uuid,\n    pub address", "pub uid: String,\n    pub address", {("Everything", "wrong_type", True)}),
]


@pytest.mark.parametrize("before, after, expected", MUTATIONS)
def test_each_mismatch_is_found_with_the_right_certainty(crate: Path, before: str, after: str,
                                                         expected: set[tuple[str, str, bool]]) -> None:
    models = crate / "src" / "models" / "everything.rs"
    text = models.read_text(encoding="utf-8")
    assert text.count(before) == 1
    models.write_text(text.replace(before, after), encoding="utf-8")
    report = check_models(crate / "src" / "models", crate / "src" / "schema.rs")
    assert {(f.struct, f.kind, f.proven) for f in report.findings} == expected, str(report)
    for finding in report.findings:
        assert "expected " in finding.message and "change line" in finding.fix


def test_messages_name_postgresqls_types_and_check(crate: Path) -> None:
    models = crate / "src" / "models" / "everything.rs"
    models.write_text(models.read_text(encoding="utf-8").replace("pub tags: Vec<Option<String>>,",
                                                                 "pub tags: Vec<String>,"), encoding="utf-8")
    (finding,) = check_models(crate / "src" / "models", crate / "src" / "schema.rs").findings
    assert "expected Vec<Option<String>>" in finding.message
    assert "`everything.tags -> Array<Nullable<Text>>`" in finding.message
    assert finding.fix.endswith("to `pub tags: Vec<Option<String>>,`")
    assert finding.why == "check_for_backend(diesel::pg::Pg) checks every field type"


def test_without_check_for_backend_a_load_mismatch_cannot_be_proven(crate: Path) -> None:
    models = crate / "src" / "models" / "everything.rs"
    text = models.read_text(encoding="utf-8")
    text = text.replace("#[diesel(check_for_backend(diesel::pg::Pg))]\npub struct EverythingAlso",
                        "pub struct EverythingAlso")
    models.write_text(text.replace("pub created_at: time::OffsetDateTime,", "pub created_at: i64,"),
                      encoding="utf-8")
    report = check_models(crate / "src" / "models", crate / "src" / "schema.rs")
    assert report.clean, str(report)  # only a positional load (none in this crate) would make it matter


def test_the_backend_can_be_given(crate: Path) -> None:
    """Judged as SQLite, `String` loads from `Timestamp`; as PostgreSQL (told from the file) it does not."""
    models = crate / "src" / "models" / "everything.rs"
    models.write_text(models.read_text(encoding="utf-8").replace(
        "#[diesel(check_for_backend(diesel::pg::Pg))]\npub struct EverythingAlso", "pub struct EverythingAlso"
    ).replace("pub seen_at: Option<std::time::SystemTime>,", "pub seen_at: Option<String>,"), encoding="utf-8")
    # check_files keeps findings that only a positional load would make matter (check_models drops them)
    files = read_models_dir(crate / "src" / "models", src_root=crate / "src")
    as_pg = check_files(files, load_schema(crate / "src" / "schema.rs"))
    as_sqlite = check_files(files, load_schema(crate / "src" / "schema.rs", backend="sqlite"))
    def types(report):  # type: ignore[no-untyped-def]
        return [(f.field, f.proven) for f in report.findings if f.kind == "wrong_type"]

    assert types(as_pg) == [("seen_at", False)]
    assert types(as_sqlite) == []


# --------------------------------------------------------------------------- generation


def test_generated_structs_for_a_postgresql_table(snapshot) -> None:  # type: ignore[no-untyped-def]
    schema = load_schema(FIXTURE / "src" / "schema.rs")
    code = generate_for_table(schema.table("everything"))
    snapshot("pg_everything.rs", code)
    assert "#[diesel(check_for_backend(diesel::pg::Pg))]" in code


def test_generated_structs_pass_the_check(tmp_path: Path) -> None:
    schema = load_schema(FIXTURE / "src" / "schema.rs")
    models = tmp_path / "src" / "models"
    models.mkdir(parents=True)
    shutil.copyfile(FIXTURE / "src" / "schema.rs", tmp_path / "src" / "schema.rs")
    code = "".join(generate_for_table(t) for t in schema.tables)
    (models / "generated.rs").write_text("use diesel::prelude::*;\nuse crate::schema::*;\n\n" + code, encoding="utf-8")
    report = check_models(models, tmp_path / "src" / "schema.rs")
    assert report.clean, str(report)
    assert report.count_checked() == 4
