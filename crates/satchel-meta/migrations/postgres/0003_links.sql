-- Public links: a token (random, ≥128 bits) that reaches one node of its owner without an account.
-- The token is looked up by its SHA-256 (so the lookup never compares the secret itself) and kept
-- for the owner's list of links.
CREATE TABLE links (
    id               TEXT PRIMARY KEY,
    token            TEXT NOT NULL,
    token_hash       TEXT NOT NULL UNIQUE,
    owner_id         TEXT NOT NULL,
    node_id          TEXT NOT NULL,
    permission       TEXT NOT NULL CHECK (permission IN ('view', 'upload')),
    password_hash    TEXT,
    expires_at       BIGINT,
    max_downloads    BIGINT,
    download_count   BIGINT NOT NULL DEFAULT 0,
    max_upload_bytes BIGINT,
    disabled_at      BIGINT,
    created_at       BIGINT NOT NULL
);
CREATE INDEX links_owner ON links (owner_id, created_at, id);

-- Every request a link answered, for its owner.
CREATE TABLE link_accesses (
    link_id TEXT NOT NULL,
    at      BIGINT NOT NULL,
    address TEXT NOT NULL,
    path    TEXT NOT NULL,
    status  BIGINT NOT NULL
);
CREATE INDEX link_accesses_link ON link_accesses (link_id, at);
