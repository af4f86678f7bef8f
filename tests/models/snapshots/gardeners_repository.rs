pub fn get_gardener_favourite_colour(
    conn: &mut SqliteConnection,
    gardener_id: i32,
) -> Result<Option<String>, DieselError> {
    gardeners::table
        .filter(gardeners::id.eq(gardener_id))
        .select(gardeners::favourite_colour)
        .first(conn)
}

pub fn update_gardener_favourite_colour(
    conn: &mut SqliteConnection,
    gardener_id: i32,
    favourite_colour: Option<&str>,
) -> Result<(), DieselError> {
    diesel::update(gardeners::table)
        .filter(gardeners::id.eq(gardener_id))
        .set(gardeners::favourite_colour.eq(favourite_colour))
        .execute(conn)?;
    Ok(())
}
