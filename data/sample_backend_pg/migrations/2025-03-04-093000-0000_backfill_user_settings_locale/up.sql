-- Your SQL goes here
-- Existing users all got the default 'en-US'. Derive a better locale from the country code of
-- their phone number; only rows still on the default are touched.
UPDATE user_settings SET locale = 'fi-FI'
WHERE locale = 'en-US'
  AND user_id IN (SELECT id FROM users WHERE phone_number LIKE '+358%');
UPDATE user_settings SET locale = 'sv-SE'
WHERE locale = 'en-US'
  AND user_id IN (SELECT id FROM users WHERE phone_number LIKE '+46%');
UPDATE user_settings SET locale = 'de-DE'
WHERE locale = 'en-US'
  AND user_id IN (SELECT id FROM users WHERE phone_number LIKE '+49%');
UPDATE user_settings SET locale = 'fr-FR'
WHERE locale = 'en-US'
  AND user_id IN (SELECT id FROM users WHERE phone_number LIKE '+33%');
UPDATE user_settings SET locale = 'en-GB'
WHERE locale = 'en-US'
  AND user_id IN (SELECT id FROM users WHERE phone_number LIKE '+44%');
