-- Background jobs claim their turn here, so that several servers on one database run each job
-- once per period instead of once per server.
CREATE TABLE job_claims (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  BIGINT NOT NULL
);
