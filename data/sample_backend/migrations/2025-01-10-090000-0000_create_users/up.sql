-- Your SQL goes here
-- Team rules: timestamps are INTEGER Unix seconds (UTC); no JSON columns; secrets are stored
-- encrypted, as TEXT.
CREATE TABLE users (
    id INTEGER PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    phone_number TEXT, -- E.164, e.g. +358401234567; NULL until the user verifies a phone
    password_hash TEXT NOT NULL, -- argon2id PHC string
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
