-- Your SQL goes here
-- Every message sent to or received from a user, one row each.
CREATE TABLE message_log (
    id INTEGER PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL,
    direction TEXT NOT NULL, -- inbound or outbound
    channel TEXT, -- sms, email or push
    body_preview TEXT NOT NULL, -- first 80 characters
    status TEXT NOT NULL, -- queued, sent, delivered, failed, received
    sent_at INTEGER NOT NULL,
    FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
);
