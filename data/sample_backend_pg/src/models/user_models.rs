use diesel::prelude::*;
use crate::schema::users;
use crate::schema::user_settings;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: i32,
    pub email: String,
    pub display_name: String,
    pub phone_number: Option<String>, // E.164, set once the user verifies a phone
    pub password_hash: String, // argon2id PHC string, never the password
    pub created_at: i64, // unix seconds
    pub updated_at: i64, // unix seconds
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    pub phone_number: Option<String>,
    pub password_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = user_settings)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct UserSettings {
    pub id: i32,
    pub user_id: i32,
    pub timezone: String, // IANA name
    pub notify_by_email: bool,
    pub notify_by_sms: bool,
    pub quiet_hours_start: Option<i32>, // hour of day in the user's timezone
    pub quiet_hours_end: Option<i32>,
    pub updated_at: i64,
    pub locale: String, // BCP 47 tag, e.g. fi-FI
}

#[derive(Insertable)]
#[diesel(table_name = user_settings)]
pub struct NewUserSettings {
    pub user_id: i32,
    pub timezone: String,
    pub notify_by_email: bool,
    pub notify_by_sms: bool,
    pub quiet_hours_start: Option<i32>,
    pub quiet_hours_end: Option<i32>,
    pub updated_at: i64,
    pub locale: String,
}
