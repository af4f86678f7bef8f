// @generated automatically by Diesel CLI.

diesel::table! {
    a_pair (id) {
        id -> Integer,
        x -> Nullable<Integer>,
        y -> Nullable<Integer>,
    }
}

diesel::table! {
    audit (id) {
        id -> Integer,
    }
}

diesel::table! {
    b_pair (id) {
        id -> Integer,
    }
}

diesel::table! {
    cities (id) {
        id -> Integer,
        country_code -> Text,
    }
}

diesel::table! {
    comments (id) {
        id -> Integer,
        post_id -> Integer,
    }
}

diesel::table! {
    countries (code) {
        code -> Text,
    }
}

diesel::table! {
    posts (id) {
        id -> Integer,
        user_id -> Integer,
    }
}

diesel::table! {
    users (id) {
        id -> Integer,
    }
}

diesel::joinable!(cities -> countries (country_code));
diesel::joinable!(comments -> posts (post_id));
diesel::joinable!(posts -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    cities,
    countries,
);
diesel::allow_tables_to_appear_in_same_query!(
    comments,
    posts,
    users,
);
