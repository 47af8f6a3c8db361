-- A spent refresh token remembers its successor for the refresh grace (a few seconds), so that a
-- retried or concurrent refresh gets the same new token instead of revoking the session.
-- `successor_sealed` is the successor encrypted under a key derived from the spent token itself,
-- which the database never holds (only its hash): what is stored here opens nothing.
ALTER TABLE refresh_tokens ADD COLUMN successor_hash TEXT;
ALTER TABLE refresh_tokens ADD COLUMN successor_sealed TEXT;
