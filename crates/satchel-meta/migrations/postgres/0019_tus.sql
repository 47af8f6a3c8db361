-- tus uploads: each is an upload session (`uploads`) whose chunk list grows as bytes arrive.
-- Keep in step with the other dialect's 0019_tus.sql.
CREATE TABLE tus_uploads (
    upload_id     TEXT PRIMARY KEY,
    -- Upload-Length: the whole file's size.
    length        BIGINT NOT NULL,
    -- Bytes acknowledged so far: the chunks listed in the session plus the tail.
    upload_offset BIGINT NOT NULL DEFAULT 0,
    -- Chunks listed in the session so far (the next chunk's index).
    chunk_count   BIGINT NOT NULL DEFAULT 0,
    -- The bytes after the last chunk boundary (fewer than a maximal chunk), kept here until more
    -- bytes decide where the next boundary falls.
    tail          BYTEA,
    -- Upload-Metadata as the client sent it (answered on HEAD).
    metadata      TEXT NOT NULL
);
