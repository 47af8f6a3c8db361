-- Accounts that may use the admin API. The first account created is one; on a server that
-- already has accounts, the oldest becomes one, so someone can reach the admin page.
ALTER TABLE users ADD COLUMN is_admin BIGINT NOT NULL DEFAULT 0;
UPDATE users SET is_admin = 1 WHERE id = (SELECT id FROM users ORDER BY created_at, id LIMIT 1);
