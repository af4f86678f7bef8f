#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = readings)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite))]
pub struct Reading {
    pub id: i32,
    pub counter: i64,
    pub small: i16,
    pub ok: bool,
    pub ratio: f32,
    pub value: f64,
    pub label: String,
    pub raw: Vec<u8>,
    pub taken_at: chrono::NaiveDateTime,
    pub taken_on: chrono::NaiveDate,
    pub taken_time: chrono::NaiveTime,
    pub note: Option<String>,
    pub extra: Option<Vec<u8>>,
    pub seen_at: Option<chrono::NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = readings)]
pub struct NewReading {
    pub counter: i64,
    pub small: i16,
    pub ok: bool,
    pub ratio: f32,
    pub value: f64,
    pub label: String,
    pub raw: Vec<u8>,
    pub taken_at: chrono::NaiveDateTime,
    pub taken_on: chrono::NaiveDate,
    pub taken_time: chrono::NaiveTime,
    pub note: Option<String>,
    pub extra: Option<Vec<u8>>,
    pub seen_at: Option<chrono::NaiveDateTime>,
}
