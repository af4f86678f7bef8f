pub mod message_repository;
pub mod oauth_repository;
pub mod user_repository;
