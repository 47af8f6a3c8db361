-- Where every copy of every chunk is, what happened to copies, and what waits for repair.
-- Keep in step with the other dialect's 0014_storage.sql.

-- One row per copy on a storage node: written when the copy is durable, removed when it is found
-- missing, set aside as corrupt, or collected. `verified_at` is the last time its bytes hashed right.
CREATE TABLE chunk_copies (
    sha256      TEXT NOT NULL,
    node        TEXT NOT NULL,
    stored_at   BIGINT NOT NULL,
    verified_at BIGINT,
    PRIMARY KEY (sha256, node)
);
CREATE INDEX chunk_copies_node ON chunk_copies (node, sha256);

-- Every copy stored, verified, found missing or corrupt, repaired, quarantined or deleted.
-- `id` is a time-ordered UUID (v7): the log pages by it.
CREATE TABLE storage_log (
    id     TEXT PRIMARY KEY,
    at     BIGINT NOT NULL,
    node   TEXT NOT NULL,
    sha256 TEXT,
    event  TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX storage_log_at ON storage_log (at);

-- Chunks that may have fewer healthy copies than wanted; the repair worker takes them in `next_at`
-- order and backs off on failure.
CREATE TABLE repair_queue (
    sha256     TEXT PRIMARY KEY,
    queued_at  BIGINT NOT NULL,
    next_at    BIGINT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX repair_queue_next ON repair_queue (next_at);

-- Per node: when the last presence pass and the last complete deep pass ended.
CREATE TABLE storage_nodes (
    name             TEXT PRIMARY KEY,
    last_presence_at BIGINT,
    last_deep_at     BIGINT,
    deep_cursor      TEXT
);
