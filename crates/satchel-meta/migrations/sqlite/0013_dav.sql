-- App passwords: credentials an account makes for third-party clients (WebDAV, tus). `lookup` is
-- the first characters of the password, shown nowhere else, so a sign-in finds its row with one
-- index probe; the rest is only ever kept as an argon2 hash. Revoking deletes the row.
CREATE TABLE app_passwords (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL,
    name           TEXT NOT NULL,
    scope          TEXT NOT NULL CHECK (scope IN ('full', 'read_only')),
    lookup         TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT,
    last_used_from TEXT
);
CREATE UNIQUE INDEX app_passwords_lookup ON app_passwords (lookup);
CREATE INDEX app_passwords_user ON app_passwords (user_id);

-- WebDAV dead properties, per node: they follow the node through a move (same id) and are copied
-- with it. `xml` is the property element as the client sent it.
CREATE TABLE dead_props (
    node_id   TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    xml       TEXT NOT NULL,
    PRIMARY KEY (node_id, namespace, name)
);

-- WebDAV locks, kept here so that every server sharing the database honours them. `path` is the
-- locked resource as its account sees it (`/a/b`, no trailing slash); `owner_xml` the client's
-- owner element; times in microseconds.
CREATE TABLE dav_locks (
    token      TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    path       TEXT NOT NULL,
    principal  TEXT,
    owner_xml  TEXT,
    shared     BIGINT NOT NULL,
    deep       BIGINT NOT NULL,
    timeout_us BIGINT,
    expires_at BIGINT
);
CREATE INDEX dav_locks_user_path ON dav_locks (user_id, path);
