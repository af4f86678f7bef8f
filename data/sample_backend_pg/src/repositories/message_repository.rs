use diesel::prelude::*;
use diesel::result::Error as DieselError;

use crate::models::message_models::{MessageLog, NewMessageLog};
use crate::schema::message_log;

pub fn log_message(
    conn: &mut PgConnection,
    new_message: &NewMessageLog,
) -> Result<usize, DieselError> {
    diesel::insert_into(message_log::table)
        .values(new_message)
        .execute(conn)
}

pub fn latest_messages(
    conn: &mut PgConnection,
    user_id: i32,
    limit: i64,
) -> Result<Vec<MessageLog>, DieselError> {
    // Served by message_log_user_id_sent_at_idx.
    message_log::table
        .filter(message_log::user_id.eq(user_id))
        .order(message_log::sent_at.desc())
        .limit(limit)
        .select(MessageLog::as_select())
        .load(conn)
}

pub fn update_status(
    conn: &mut PgConnection,
    message_id: i32,
    status: &str,
) -> Result<usize, DieselError> {
    diesel::update(message_log::table)
        .filter(message_log::id.eq(message_id))
        .set(message_log::status.eq(status))
        .execute(conn)
}

pub fn count_messages(conn: &mut PgConnection) -> Result<i64, DieselError> {
    message_log::table.count().get_result(conn)
}
