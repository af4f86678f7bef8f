// @generated automatically by Diesel CLI.

diesel::table! {
    boxes (id) {
        id -> Integer,
        width -> Float,
        height -> Float,
        area -> Nullable<Float>,
        label -> Nullable<Text>,
        #[sql_name = "boxes"]
        boxes_ -> Integer,
        untyped -> Nullable<Binary>,
    }
}
