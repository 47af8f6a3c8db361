-- Shared folders. A folder shared with other accounts becomes a namespace of its own (its subtree
-- moves into it), so its journal is read by the owner and every member. A namespace now knows its
-- root node and its owner (whose quota its content uses).
ALTER TABLE namespaces ADD COLUMN owner_id TEXT;
ALTER TABLE namespaces ADD COLUMN root_id TEXT;
UPDATE namespaces SET
    owner_id = (SELECT u.id FROM users u WHERE u.ns_id = namespaces.id),
    root_id = (SELECT u.root_id FROM users u WHERE u.ns_id = namespaces.id);
CREATE INDEX namespaces_owner ON namespaces (owner_id);
CREATE UNIQUE INDEX namespaces_root ON namespaces (root_id);

-- One row per member: the share and the member's mount of it (a name in the member's root, which the
-- member may change without affecting anyone else).
CREATE TABLE shares (
    id         TEXT PRIMARY KEY,
    ns_id      TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    permission TEXT NOT NULL CHECK (permission IN ('view', 'edit')),
    mount_name TEXT NOT NULL,
    mount_key  TEXT NOT NULL,
    -- The sequence number, in the member's own journal, of the entry that announced the mount: a
    -- cursor that had not reached it holds no valid position in the shared journal.
    mount_seq  BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX shares_member_ns ON shares (member_id, ns_id);
CREATE UNIQUE INDEX shares_member_name ON shares (member_id, mount_key);
CREATE INDEX shares_ns ON shares (ns_id);
CREATE INDEX shares_owner ON shares (owner_id, created_at, id);
