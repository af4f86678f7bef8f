// @generated automatically by Diesel CLI.

diesel::table! {
    notes (id) {
        id -> Integer,
        body -> Nullable<Text>,
    }
}
