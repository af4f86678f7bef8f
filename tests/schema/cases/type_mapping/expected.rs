// @generated automatically by Diesel CLI.

diesel::table! {
    kinds (id) {
        id -> Integer,
        a_boolean -> Bool,
        a_bool -> Nullable<Bool>,
        a_tinyint -> Nullable<Bool>,
        a_int2 -> Nullable<SmallInt>,
        a_smallint -> Nullable<SmallInt>,
        a_int8 -> Nullable<BigInt>,
        a_bigint -> Nullable<BigInt>,
        an_int -> Nullable<Integer>,
        a_mediumint -> Nullable<Integer>,
        a_point -> Nullable<Integer>,
        a_varchar -> Nullable<Text>,
        a_nchar -> Nullable<Text>,
        a_clob -> Nullable<Text>,
        a_text -> Text,
        a_blob -> Nullable<Binary>,
        a_binary -> Nullable<Binary>,
        untyped -> Nullable<Binary>,
        a_real -> Nullable<Float>,
        a_float -> Nullable<Float>,
        a_double -> Nullable<Double>,
        a_numeric -> Nullable<Double>,
        a_decimal -> Nullable<Double>,
        a_datetime -> Nullable<Timestamp>,
        a_timestamp -> Timestamp,
        a_date -> Nullable<Date>,
        a_time -> Nullable<Time>,
        printer_text -> Nullable<Integer>,
    }
}
