// @generated automatically by Diesel CLI.

diesel::table! {
    logins (id) {
        id -> Integer,
        user_id -> Nullable<Integer>,
    }
}

diesel::table! {
    users (id) {
        id -> Integer,
    }
}

diesel::joinable!(logins -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    logins,
    users,
);
