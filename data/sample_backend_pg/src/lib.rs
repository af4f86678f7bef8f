pub mod models;
pub mod repositories;
pub mod schema;

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub fn establish_connection(database_url: &str) -> ConnectionResult<PgConnection> {
    // Foreign keys (ON DELETE CASCADE on user_settings, oauth_connections and message_log) are
    // always enforced by PostgreSQL: nothing to switch on.
    PgConnection::establish(database_url)
}

pub fn run_pending_migrations(
    conn: &mut PgConnection,
) -> Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
    conn.run_pending_migrations(MIGRATIONS)?;
    Ok(())
}
