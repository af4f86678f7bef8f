-- Your SQL goes here
ALTER TABLE user_settings ADD COLUMN locale TEXT NOT NULL DEFAULT 'en-US';
