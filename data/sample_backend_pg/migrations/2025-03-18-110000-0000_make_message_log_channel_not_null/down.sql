-- This file should undo anything in `up.sql`
-- Back to a nullable channel without a default. The rows that were NULL before up.sql keep 'sms':
-- they cannot be told apart from real SMS rows any more.
ALTER TABLE message_log
    ALTER COLUMN channel DROP NOT NULL,
    ALTER COLUMN channel DROP DEFAULT;
