-- Satchel schema, version 1 (SQLite). Keep in step with ../postgres/0001_init.sql.
-- Ids are UUID text, times are microseconds since the Unix epoch, hashes are lowercase hex.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- A namespace is one journal: a user's root tree (later also each shared folder).
CREATE TABLE namespaces (
    id         TEXT PRIMARY KEY,
    last_seq   BIGINT NOT NULL DEFAULT 0,
    floor_seq  BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    ns_id         TEXT NOT NULL,
    root_id       TEXT NOT NULL,
    quota_bytes   BIGINT,
    used_bytes    BIGINT NOT NULL DEFAULT 0,
    disabled_at   BIGINT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    device_name  TEXT,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Every refresh token a session was ever given, hashed; a spent one coming back revokes the session.
CREATE TABLE refresh_tokens (
    hash       TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    spent_at   BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE nodes (
    id          TEXT PRIMARY KEY,
    ns_id       TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    parent_id   TEXT,
    kind        TEXT NOT NULL CHECK (kind IN ('file', 'folder')),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    rev         BIGINT NOT NULL,
    size        BIGINT,
    sha256      TEXT,
    mime        TEXT,
    version     BIGINT,
    created_at  BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    deleted_at  BIGINT,
    trash_root  TEXT
);
CREATE UNIQUE INDEX nodes_live_name ON nodes (parent_id, name_key) WHERE deleted_at IS NULL;
CREATE INDEX nodes_children ON nodes (parent_id, name_key, id);
CREATE INDEX nodes_ns_name ON nodes (ns_id, name_key, id);
CREATE INDEX nodes_trash ON nodes (trash_root) WHERE trash_root IS NOT NULL;

CREATE TABLE versions (
    node_id    TEXT NOT NULL,
    version    BIGINT NOT NULL,
    size       BIGINT NOT NULL,
    sha256     TEXT NOT NULL,
    device     TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (node_id, version)
);

-- The ordered chunk list of every version. A chunk is referenced while any row names it.
CREATE TABLE version_chunks (
    node_id      TEXT NOT NULL,
    version      BIGINT NOT NULL,
    idx          BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    size         BIGINT NOT NULL,
    offset_bytes BIGINT NOT NULL,
    PRIMARY KEY (node_id, version, idx)
);
CREATE INDEX version_chunks_sha256 ON version_chunks (sha256);

-- Every chunk a version references. Small chunks (a whole small file) keep their bytes in `data`,
-- written in the same transaction as the version; the others are in the blob store, durable before
-- the row is added.
CREATE TABLE chunks (
    sha256     TEXT PRIMARY KEY,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    data       BLOB
);

CREATE TABLE journal (
    ns_id   TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    node_id TEXT NOT NULL,
    op      TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
    node    TEXT NOT NULL,
    at      BIGINT NOT NULL,
    PRIMARY KEY (ns_id, seq)
);
