use diesel::prelude::*;
use diesel::result::Error as DieselError;

use crate::models::user_models::{NewUser, NewUserSettings, User, UserSettings};
use crate::schema::{user_settings, users};

pub fn create_user(conn: &mut PgConnection, new_user: &NewUser) -> Result<User, DieselError> {
    diesel::insert_into(users::table)
        .values(new_user)
        .returning(User::as_returning())
        .get_result(conn)
}

pub fn find_by_email(conn: &mut PgConnection, email: &str) -> Result<Option<User>, DieselError> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn count_users(conn: &mut PgConnection) -> Result<i64, DieselError> {
    users::table.count().get_result(conn)
}

pub fn update_phone_number(
    conn: &mut PgConnection,
    user_id: i32,
    phone_number: &str,
    now: i64,
) -> Result<usize, DieselError> {
    diesel::update(users::table.find(user_id))
        .set((
            users::phone_number.eq(Some(phone_number)),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn delete_user(conn: &mut PgConnection, user_id: i32) -> Result<usize, DieselError> {
    // Settings, OAuth connections and logged messages go with it (ON DELETE CASCADE).
    diesel::delete(users::table.find(user_id)).execute(conn)
}

pub fn create_user_settings(
    conn: &mut PgConnection,
    new_settings: &NewUserSettings,
) -> Result<usize, DieselError> {
    diesel::insert_into(user_settings::table)
        .values(new_settings)
        .execute(conn)
}

pub fn get_user_settings(
    conn: &mut PgConnection,
    user_id: i32,
) -> Result<Option<UserSettings>, DieselError> {
    user_settings::table
        .filter(user_settings::user_id.eq(user_id))
        .select(UserSettings::as_select())
        .first(conn)
        .optional()
}

pub fn update_user_timezone(
    conn: &mut PgConnection,
    user_id: i32,
    timezone: &str,
    now: i64,
) -> Result<usize, DieselError> {
    diesel::update(user_settings::table)
        .filter(user_settings::user_id.eq(user_id))
        .set((
            user_settings::timezone.eq(timezone),
            user_settings::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn update_user_locale(
    conn: &mut PgConnection,
    user_id: i32,
    locale: &str,
    now: i64,
) -> Result<usize, DieselError> {
    diesel::update(user_settings::table)
        .filter(user_settings::user_id.eq(user_id))
        .set((
            user_settings::locale.eq(locale),
            user_settings::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn update_notification_preferences(
    conn: &mut PgConnection,
    user_id: i32,
    notify_by_email: bool,
    notify_by_sms: bool,
    now: i64,
) -> Result<usize, DieselError> {
    diesel::update(user_settings::table)
        .filter(user_settings::user_id.eq(user_id))
        .set((
            user_settings::notify_by_email.eq(notify_by_email),
            user_settings::notify_by_sms.eq(notify_by_sms),
            user_settings::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn update_quiet_hours(
    conn: &mut PgConnection,
    user_id: i32,
    start: Option<i32>,
    end: Option<i32>,
    now: i64,
) -> Result<usize, DieselError> {
    diesel::update(user_settings::table)
        .filter(user_settings::user_id.eq(user_id))
        .set((
            user_settings::quiet_hours_start.eq(start),
            user_settings::quiet_hours_end.eq(end),
            user_settings::updated_at.eq(now),
        ))
        .execute(conn)
}
