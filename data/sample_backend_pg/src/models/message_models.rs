use diesel::prelude::*;
use crate::schema::message_log;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = message_log)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct MessageLog {
    pub id: i32,
    pub user_id: i32,
    pub direction: String, // inbound or outbound
    pub channel: String, // sms, email or push
    pub body_preview: String,
    pub status: String,
    pub sent_at: i64, // unix seconds
}

#[derive(Insertable)]
#[diesel(table_name = message_log)]
pub struct NewMessageLog {
    pub user_id: i32,
    pub direction: String,
    pub channel: String,
    pub body_preview: String,
    pub status: String,
    pub sent_at: i64,
}
