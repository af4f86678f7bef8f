-- Your SQL goes here
-- Tokens are encrypted by the backend (AES-256-GCM, base64 of nonce || ciphertext || tag) before
-- they reach the database; plaintext tokens never do.
CREATE TABLE oauth_connections (
    id INTEGER PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL,
    provider TEXT NOT NULL, -- google, microsoft, slack, github
    external_account_id TEXT NOT NULL,
    access_token_encrypted TEXT NOT NULL,
    refresh_token_encrypted TEXT,
    scopes TEXT NOT NULL, -- space-separated, as the provider returns them
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
    UNIQUE (user_id, provider)
);
