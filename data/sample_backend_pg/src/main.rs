use std::env;

use sample_backend::repositories::{message_repository, user_repository};
use sample_backend::{establish_connection, run_pending_migrations};

fn main() {
    dotenvy::dotenv().ok();
    let database_url = env::var("DATABASE_URL").expect("DATABASE_URL must be set");
    let mut conn = establish_connection(&database_url)
        .unwrap_or_else(|e| panic!("Error connecting to {}: {}", database_url, e));
    run_pending_migrations(&mut conn).expect("Failed to run migrations");

    let users = user_repository::count_users(&mut conn).expect("Failed to count users");
    let messages = message_repository::count_messages(&mut conn).expect("Failed to count messages");
    println!("{} users, {} logged messages", users, messages);
}
