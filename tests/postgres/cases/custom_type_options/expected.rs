// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "size"))]
    pub struct Size;
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::models::exports::*;
    use super::sql_types::Size;

    shirts (id) {
        id -> Int4,
        color -> Color,
        size -> Nullable<Size>,
        sizes -> Nullable<Array<Nullable<Size>>>,
    }
}
// @generated automatically by Diesel CLI.

diesel::table! {
    shirts (id) {
        id -> Int4,
        color -> Color,
        size -> Nullable<Size>,
        sizes -> Nullable<Array<Nullable<Size>>>,
    }
}
