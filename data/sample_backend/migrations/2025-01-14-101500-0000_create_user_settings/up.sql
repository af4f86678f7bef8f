-- Your SQL goes here
-- One row per user; deleting a user deletes their settings.
CREATE TABLE user_settings (
    id INTEGER PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL UNIQUE,
    timezone TEXT NOT NULL DEFAULT 'UTC', -- IANA name, e.g. Europe/Helsinki
    notify_by_email BOOLEAN NOT NULL DEFAULT TRUE,
    notify_by_sms BOOLEAN NOT NULL DEFAULT FALSE,
    quiet_hours_start INTEGER, -- hour of day 0-23 in the user's timezone
    quiet_hours_end INTEGER,
    updated_at INTEGER NOT NULL,
    FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
);
