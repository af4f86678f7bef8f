-- Your SQL goes here
-- Rows logged before the channel was recorded were all SMS. PostgreSQL changes the column in place:
-- SET NOT NULL scans the table (no rewrite) under an ACCESS EXCLUSIVE lock.
UPDATE message_log SET channel = 'sms' WHERE channel IS NULL;

ALTER TABLE message_log
    ALTER COLUMN channel SET DEFAULT 'sms',
    ALTER COLUMN channel SET NOT NULL;
