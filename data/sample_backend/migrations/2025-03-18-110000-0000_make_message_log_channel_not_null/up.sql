-- Your SQL goes here
-- SQLite cannot ALTER a column to NOT NULL, so the table is rebuilt: create the new table, copy
-- the rows, drop the old table, rename, and recreate its index. Rows logged before the channel
-- was recorded were all SMS.
CREATE TABLE message_log_new (
    id INTEGER PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL,
    direction TEXT NOT NULL,
    channel TEXT NOT NULL DEFAULT 'sms',
    body_preview TEXT NOT NULL,
    status TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
);

INSERT INTO message_log_new (id, user_id, direction, channel, body_preview, status, sent_at)
SELECT id, user_id, direction, COALESCE(channel, 'sms'), body_preview, status, sent_at
FROM message_log;

DROP TABLE message_log;

ALTER TABLE message_log_new RENAME TO message_log;

CREATE INDEX message_log_user_id_sent_at_idx ON message_log (user_id, sent_at);
