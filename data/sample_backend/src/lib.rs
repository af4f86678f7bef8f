pub mod models;
pub mod repositories;
pub mod schema;

use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub fn establish_connection(database_url: &str) -> ConnectionResult<SqliteConnection> {
    let mut conn = SqliteConnection::establish(database_url)?;
    // ON DELETE CASCADE on user_settings, oauth_connections and message_log needs this.
    diesel::sql_query("PRAGMA foreign_keys = ON")
        .execute(&mut conn)
        .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
    Ok(conn)
}

pub fn run_pending_migrations(
    conn: &mut SqliteConnection,
) -> Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
    conn.run_pending_migrations(MIGRATIONS)?;
    Ok(())
}
