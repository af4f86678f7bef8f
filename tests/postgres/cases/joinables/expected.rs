// @generated automatically by Diesel CLI.

diesel::table! {
    by_email (id) {
        id -> Int4,
        email -> Nullable<Text>,
    }
}

diesel::table! {
    events (id, happened) {
        id -> Int4,
        happened -> Date,
        person_id -> Nullable<Int4>,
    }
}

diesel::table! {
    events_2024 (id, happened) {
        id -> Int4,
        happened -> Date,
        person_id -> Nullable<Int4>,
    }
}

diesel::table! {
    letters (id) {
        id -> Int4,
        sender_id -> Int4,
        receiver_id -> Int4,
    }
}

diesel::table! {
    pair_notes (id) {
        id -> Int4,
        a -> Nullable<Int4>,
        b -> Nullable<Int4>,
    }
}

diesel::table! {
    pairs (a, b) {
        a -> Int4,
        b -> Int4,
    }
}

diesel::table! {
    people (id) {
        id -> Int4,
        email -> Text,
        mentor_id -> Nullable<Int4>,
    }
}

diesel::table! {
    points_to_hidden (id) {
        id -> Int4,
        hidden_id -> Nullable<Int4>,
    }
}

diesel::table! {
    profiles (id) {
        id -> Int4,
        person_id -> Int4,
    }
}

diesel::joinable!(events -> people (person_id));
diesel::joinable!(events_2024 -> people (person_id));
diesel::joinable!(profiles -> people (person_id));

diesel::allow_tables_to_appear_in_same_query!(events, events_2024, people, profiles,);
