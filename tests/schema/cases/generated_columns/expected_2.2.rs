// @generated automatically by Diesel CLI.

diesel::table! {
    boxes (id) {
        id -> Integer,
        width -> Float,
        height -> Float,
        area -> Nullable<Float>,
        label -> Nullable<Text>,
        boxes -> Integer,
        untyped -> Nullable<Binary>,
    }
}
