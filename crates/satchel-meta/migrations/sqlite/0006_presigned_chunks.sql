-- Chunks of an upload session for which the server handed out a presigned URL (S3): only those may
-- be taken as received because the bucket holds them; any other chunk is received by sending it.
ALTER TABLE upload_chunks ADD COLUMN presigned BIGINT NOT NULL DEFAULT 0;
