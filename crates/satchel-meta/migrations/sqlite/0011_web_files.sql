-- The web app's file manager.
--
-- A zip URL: a short-lived signed URL that streams a selection (files and folders) as one zip
-- archive, so the browser's own download manager can fetch it. Like a signed download URL it acts
-- as its maker through the session that made it, which must still be live. node_ids is the
-- selection, ids joined by commas.
CREATE TABLE zip_urls (
    id         TEXT PRIMARY KEY,
    created_by TEXT NOT NULL,
    session_id TEXT NOT NULL,
    node_ids   TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX zip_urls_expiry ON zip_urls (expires_at);

-- Thumbnails, by the SHA-256 of the content they show and their size (the longest side's bound),
-- so identical content is thumbnailed once for everyone who has it. data is NULL when the content
-- cannot be thumbnailed (undecodable, or too large): remembered, so it is not tried again.
CREATE TABLE thumbnails (
    sha256     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    data       BLOB,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (sha256, size)
);
CREATE INDEX versions_sha256 ON versions (sha256);
