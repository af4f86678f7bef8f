-- This file should undo anything in `up.sql`
-- Rebuild back to a nullable channel without a default. The rows that were NULL before up.sql
-- keep 'sms': they cannot be told apart from real SMS rows any more.
CREATE TABLE message_log_old (
    id INTEGER PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL,
    direction TEXT NOT NULL,
    channel TEXT,
    body_preview TEXT NOT NULL,
    status TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
);

INSERT INTO message_log_old (id, user_id, direction, channel, body_preview, status, sent_at)
SELECT id, user_id, direction, channel, body_preview, status, sent_at
FROM message_log;

DROP TABLE message_log;

ALTER TABLE message_log_old RENAME TO message_log;

CREATE INDEX message_log_user_id_sent_at_idx ON message_log (user_id, sent_at);
