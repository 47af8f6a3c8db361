-- Signed download URLs become records, so they can be listed and revoked, and end with the access
-- that made them: a URL names its row (and is still signed, so a forged one costs no lookup); a
-- download acts as the creator through the creating session, which must still be live.
CREATE TABLE download_urls (
    id         TEXT PRIMARY KEY,
    node_id    TEXT NOT NULL,
    -- The version current when the URL was made: what it serves, whatever comes later.
    version    BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    session_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX download_urls_creator ON download_urls (created_by, created_at, id);
CREATE INDEX download_urls_node ON download_urls (node_id);
CREATE INDEX download_urls_expiry ON download_urls (expires_at);

-- A link's `owner_id` was always the account that made it, whose access a visit acts with: a member
-- of a shared folder may make one on the owner's folder. Named for what it is; the node's owner is
-- `nodes.owner_id`, read when the owner lists or manages the links on their nodes.
ALTER TABLE links RENAME COLUMN owner_id TO created_by;
DROP INDEX links_owner;
CREATE INDEX links_creator ON links (created_by, created_at, id);
CREATE INDEX links_node ON links (node_id);
