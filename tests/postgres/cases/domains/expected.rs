// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "cents", schema = "money"))]
    pub struct Cents;

    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "email"))]
    pub struct Email;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Cents;
    use super::sql_types::Email;

    invoices (id) {
        id -> Int4,
        total -> Cents,
        contact -> Nullable<Email>,
        #[max_length = 8]
        code -> Nullable<Varchar>,
    }
}
// @generated automatically by Diesel CLI.

diesel::table! {
    invoices (id) {
        id -> Int4,
        total -> Int8,
        contact -> Nullable<Text>,
        #[max_length = 8]
        code -> Nullable<Varchar>,
    }
}
