-- This file should undo anything in `up.sql`
DROP INDEX message_log_user_id_sent_at_idx;
