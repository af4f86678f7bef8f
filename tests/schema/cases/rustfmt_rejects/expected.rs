// @generated automatically by Diesel CLI.

diesel::table! {
    #[sql_name = r#"back\slash"#]
    back_slash (id) {
        id -> Integer,
    }
}

diesel::table! {
    other (id) {
        id -> Integer,
    }
}

diesel::allow_tables_to_appear_in_same_query!(back_slash, other,);
