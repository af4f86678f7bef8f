// @generated automatically by Diesel CLI.

diesel::table! {
    authors (id) {
        id -> Integer,
        name -> Text,
    }
}

diesel::table! {
    books (id) {
        id -> Integer,
        author_id -> Integer,
        editor_id -> Nullable<Integer>,
        sequel_of -> Nullable<Integer>,
    }
}

diesel::table! {
    dangling (id) {
        id -> Integer,
        ghost_id -> Nullable<Integer>,
    }
}

diesel::table! {
    editions (book_id, number) {
        book_id -> Integer,
        number -> Integer,
    }
}

diesel::table! {
    people (id) {
        id -> Integer,
        mentor_id -> Nullable<Integer>,
    }
}

diesel::table! {
    prints (id) {
        id -> Integer,
        book_id -> Integer,
        edition_number -> Integer,
    }
}

diesel::table! {
    reviews (id) {
        id -> Integer,
        book_id -> Integer,
        reviewer_id -> Integer,
        second_reviewer_id -> Nullable<Integer>,
    }
}

diesel::table! {
    tags (id) {
        id -> Integer,
        #[sql_name = "type"]
        type_ -> Nullable<Integer>,
        label -> Nullable<Text>,
    }
}

diesel::joinable!(books -> authors (author_id));
diesel::joinable!(books -> people (editor_id));
diesel::joinable!(editions -> books (book_id));
diesel::joinable!(reviews -> books (book_id));

diesel::allow_tables_to_appear_in_same_query!(
    authors, books, dangling, editions, people, prints, reviews, tags,
);
