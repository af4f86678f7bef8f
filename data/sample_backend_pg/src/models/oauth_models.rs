use diesel::prelude::*;
use crate::schema::oauth_connections;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_connections)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct OauthConnection {
    pub id: i32,
    pub user_id: i32,
    pub provider: String,
    pub external_account_id: String,
    pub access_token_encrypted: String, // base64(nonce || ciphertext || tag)
    pub refresh_token_encrypted: Option<String>,
    pub scopes: String, // space-separated
    pub expires_at: i64,
    pub created_at: i64,
}

#[derive(Insertable)]
#[diesel(table_name = oauth_connections)]
pub struct NewOauthConnection {
    pub user_id: i32,
    pub provider: String,
    pub external_account_id: String,
    pub access_token_encrypted: String,
    pub refresh_token_encrypted: Option<String>,
    pub scopes: String,
    pub expires_at: i64,
    pub created_at: i64,
}
