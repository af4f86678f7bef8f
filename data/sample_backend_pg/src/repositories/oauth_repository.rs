use diesel::prelude::*;
use diesel::result::Error as DieselError;

use crate::models::oauth_models::{NewOauthConnection, OauthConnection};
use crate::schema::oauth_connections;

pub fn create_connection(
    conn: &mut PgConnection,
    new_connection: &NewOauthConnection,
) -> Result<usize, DieselError> {
    diesel::insert_into(oauth_connections::table)
        .values(new_connection)
        .execute(conn)
}

pub fn get_connection(
    conn: &mut PgConnection,
    user_id: i32,
    provider: &str,
) -> Result<Option<OauthConnection>, DieselError> {
    oauth_connections::table
        .filter(oauth_connections::user_id.eq(user_id))
        .filter(oauth_connections::provider.eq(provider))
        .select(OauthConnection::as_select())
        .first(conn)
        .optional()
}

pub fn update_tokens(
    conn: &mut PgConnection,
    user_id: i32,
    provider: &str,
    access_token_encrypted: &str,
    refresh_token_encrypted: Option<&str>,
    expires_at: i64,
) -> Result<usize, DieselError> {
    diesel::update(oauth_connections::table)
        .filter(oauth_connections::user_id.eq(user_id))
        .filter(oauth_connections::provider.eq(provider))
        .set((
            oauth_connections::access_token_encrypted.eq(access_token_encrypted),
            oauth_connections::refresh_token_encrypted.eq(refresh_token_encrypted),
            oauth_connections::expires_at.eq(expires_at),
        ))
        .execute(conn)
}

pub fn delete_connection(
    conn: &mut PgConnection,
    user_id: i32,
    provider: &str,
) -> Result<usize, DieselError> {
    diesel::delete(
        oauth_connections::table
            .filter(oauth_connections::user_id.eq(user_id))
            .filter(oauth_connections::provider.eq(provider)),
    )
    .execute(conn)
}

pub fn expiring_before(
    conn: &mut PgConnection,
    deadline: i64,
) -> Result<Vec<OauthConnection>, DieselError> {
    oauth_connections::table
        .filter(oauth_connections::expires_at.lt(deadline))
        .filter(oauth_connections::refresh_token_encrypted.is_not_null())
        .select(OauthConnection::as_select())
        .load(conn)
}
