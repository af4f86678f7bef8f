// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "mood"))]
    pub struct Mood;

    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "point", schema = "pg_catalog"))]
    pub struct Point;

    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Mood;
    use super::sql_types::Tsvector;
    use super::sql_types::Point;

    everything (id) {
        id -> Int8,
        small -> Int2,
        flag -> Nullable<Bool>,
        ratio -> Nullable<Float8>,
        single -> Nullable<Float4>,
        price -> Nullable<Numeric>,
        cash -> Nullable<Money>,
        #[max_length = 3]
        code -> Bpchar,
        #[max_length = 40]
        label -> Nullable<Varchar>,
        free_text -> Nullable<Varchar>,
        blob -> Nullable<Bytea>,
        created -> Timestamptz,
        local_time -> Nullable<Timestamp>,
        day -> Nullable<Date>,
        clock -> Nullable<Time>,
        span -> Nullable<Interval>,
        doc -> Nullable<Jsonb>,
        raw_json -> Nullable<Json>,
        uid -> Nullable<Uuid>,
        addr -> Nullable<Inet>,
        net -> Nullable<Cidr>,
        mac -> Nullable<Macaddr>,
        #[max_length = 3]
        bits -> Nullable<Bit>,
        ints -> Array<Nullable<Int4>>,
        names -> Nullable<Array<Nullable<Text>>>,
        labels -> Nullable<Array<Nullable<Varchar>>>,
        moods -> Array<Nullable<Mood>>,
        current_mood -> Nullable<Mood>,
        search -> Nullable<Tsvector>,
        period -> Nullable<Int4range>,
        location -> Nullable<Point>,
    }
}
