pub mod message_models;
pub mod oauth_models;
pub mod user_models;
