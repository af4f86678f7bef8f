pub fn get_user_theme(conn: &mut SqliteConnection, user_id: i32) -> Result<String, DieselError> {
    user_settings::table
        .filter(user_settings::user_id.eq(user_id))
        .select(user_settings::theme)
        .first(conn)
}

pub fn update_user_theme(
    conn: &mut SqliteConnection,
    user_id: i32,
    theme: &str,
    now: i32,
) -> Result<usize, DieselError> {
    diesel::update(user_settings::table)
        .filter(user_settings::user_id.eq(user_id))
        .set((
            user_settings::theme.eq(theme),
            user_settings::updated_at.eq(now),
        ))
        .execute(conn)
}

