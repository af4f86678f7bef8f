-- This file should undo anything in `up.sql`
-- Puts the derived locales back to the default. Not exact, and it cannot be: a row is reset when
-- its locale still equals the one up.sql would have derived from the phone number, so a user who
-- chose that same locale themselves (before or after the backfill) is reset to 'en-US' too.
-- Rows with any other locale are left alone.
UPDATE user_settings SET locale = 'en-US'
WHERE locale = 'fi-FI'
  AND user_id IN (SELECT id FROM users WHERE phone_number LIKE '+358%');
UPDATE user_settings SET locale = 'en-US'
WHERE locale = 'sv-SE'
  AND user_id IN (SELECT id FROM users WHERE phone_number LIKE '+46%');
UPDATE user_settings SET locale = 'en-US'
WHERE locale = 'de-DE'
  AND user_id IN (SELECT id FROM users WHERE phone_number LIKE '+49%');
UPDATE user_settings SET locale = 'en-US'
WHERE locale = 'fr-FR'
  AND user_id IN (SELECT id FROM users WHERE phone_number LIKE '+33%');
UPDATE user_settings SET locale = 'en-US'
WHERE locale = 'en-GB'
  AND user_id IN (SELECT id FROM users WHERE phone_number LIKE '+44%');
