-- Chunked, resumable upload sessions. Keep in step with the other dialect's 0002_uploads.sql.

CREATE TABLE uploads (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    ns_id      TEXT NOT NULL,
    parent_id  TEXT NOT NULL,
    name       TEXT NOT NULL,
    size       BIGINT NOT NULL,
    -- The whole-file hash: given at init, or at commit by a client that sent while it cut.
    sha256     TEXT,
    -- 1 while the client may still append chunks to the list (it is sending while it cuts).
    list_open  BIGINT NOT NULL DEFAULT 0,
    mime       TEXT,
    base_rev   TEXT,
    mode       TEXT NOT NULL CHECK (mode IN ('version', 'rename', 'fail')),
    device     TEXT,
    state      TEXT NOT NULL CHECK (state IN ('open', 'committed', 'aborted', 'expired')),
    node_id    TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX uploads_user ON uploads (user_id, state);
CREATE INDEX uploads_expiry ON uploads (state, expires_at);

-- The chunk list a session promised; `received` is 1 once the bytes are durable (uploaded here, or
-- already owned by the user when the session began).
CREATE TABLE upload_chunks (
    upload_id TEXT NOT NULL,
    idx       BIGINT NOT NULL,
    sha256    TEXT NOT NULL,
    size      BIGINT NOT NULL,
    received  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (upload_id, idx)
);
CREATE INDEX upload_chunks_sha256 ON upload_chunks (sha256);
