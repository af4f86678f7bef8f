-- Your SQL goes here
-- The conversation view loads a user's latest messages: WHERE user_id = ? ORDER BY sent_at DESC.
CREATE INDEX message_log_user_id_sent_at_idx ON message_log (user_id, sent_at);
