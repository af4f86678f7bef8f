#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = harvests)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite))]
pub struct Harvest {
    /// `harvests.id`: Integer
    pub id: i32,
    /// `harvests.plant_id`: Integer
    pub plant_id: i32,
    /// `harvests.picked_on`: Date
    pub picked_on: chrono::NaiveDate,
    /// `harvests.weight_grams`: BigInt
    pub weight_grams: i64,
    /// `harvests.note`: Nullable<Text>
    pub note: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = harvests)]
pub struct NewHarvest {
    /// `harvests.plant_id`: Integer
    pub plant_id: i32,
    /// `harvests.picked_on`: Date
    pub picked_on: chrono::NaiveDate,
    /// `harvests.weight_grams`: BigInt
    pub weight_grams: i64,
    /// `harvests.note`: Nullable<Text>
    pub note: Option<String>,
}
