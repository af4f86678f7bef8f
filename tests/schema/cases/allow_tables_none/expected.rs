// @generated automatically by Diesel CLI.

diesel::table! {
    a (id) {
        id -> Integer,
    }
}

diesel::table! {
    b (id) {
        id -> Integer,
        a_id -> Nullable<Integer>,
    }
}

diesel::joinable!(b -> a (a_id));
