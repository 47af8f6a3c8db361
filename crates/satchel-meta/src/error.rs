//! What the store can refuse, in domain terms; the HTTP layer maps each variant to a problem code.

/// An error from the metadata store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such node, user or session — or one the caller may not see.
    #[error("not found")]
    NotFound,
    /// A live node with that name (case-insensitively) already exists in the folder.
    #[error("a node named {0:?} already exists in that folder")]
    NameConflict(String),
    #[error("that email is already registered")]
    EmailTaken,
    /// A folder cannot move into itself or one of its descendants.
    #[error("a folder cannot move into itself")]
    Cycle,
    #[error("not a folder")]
    NotAFolder,
    #[error("not a file")]
    NotAFile,
    /// The node (or the folder it would go into) is in the trash.
    #[error("the node is in the trash")]
    Trashed,
    #[error("the node is not in the trash")]
    NotTrashed,
    /// `If-Match` / `base_rev` named a revision the node has moved past.
    #[error("the node is at rev {current}, not {expected}")]
    RevMismatch { expected: String, current: String },
    /// The write would pass the owner's quota.
    #[error("quota exceeded: {used} of {quota} bytes used, {needed} more needed")]
    QuotaExceeded { used: u64, quota: u64, needed: u64 },
    /// The cursor points before what the journal still holds.
    #[error("cursor expired")]
    CursorExpired,
    /// The cursor is not one this server issued.
    #[error("malformed cursor")]
    BadCursor,
    /// A commit found chunks not yet received (their indexes).
    #[error("chunks {0:?} have not been received")]
    Incomplete(Vec<u64>),
    /// The chunk list of an upload session was closed; nothing can be appended.
    #[error("the chunk list of this upload is complete")]
    ListClosed,
    /// Sizes do not add up, or are missing.
    #[error("{0}")]
    SizeMismatch(String),
    /// The upload session has expired.
    #[error("the upload session has expired")]
    UploadExpired,
    /// The upload session was committed; it takes no more chunks.
    #[error("the upload session is already committed")]
    UploadCommitted,
    /// A tus request named an offset other than the upload's: another request got there first.
    #[error("the upload is not at that offset")]
    OffsetMismatch,
    /// The root folder cannot be renamed, moved, copied or trashed.
    #[error("the root folder cannot be changed")]
    RootImmutable,
    /// The actor may read this shared folder but not change it.
    #[error("read-only access to this shared folder")]
    ReadOnly,
    /// Shared folders do not nest: the move or share would put one inside another.
    #[error("a shared folder cannot contain, or be inside, another shared folder")]
    SharedNesting,
    /// A share that cannot be made (with oneself, for instance).
    #[error("{0}")]
    InvalidShare(String),
    /// A member's mount of a shared folder stays in their root.
    #[error("a folder shared with you stays in your root")]
    MountFixed,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The shared commit of a batch of writes failed (SQLite group commit).
    #[error("commit failed: {0}")]
    CommitFailed(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the database could not be reached (as opposed to refusing the request): worth a retry.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
            )
        )
    }

    /// Whether this is a unique-constraint violation on the live-name index (a race lost to another
    /// writer that took the name first).
    pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
        match error {
            sqlx::Error::Database(db) => {
                db.kind() == sqlx::error::ErrorKind::UniqueViolation
                    || db.message().contains("UNIQUE constraint failed")
            }
            _ => false,
        }
    }
}
