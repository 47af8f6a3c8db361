//! What can go wrong talking to a server, in terms a user can act on.

use satchel_proto::ProblemCode;

/// An error from the client library.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a problem document.
    #[error("{}", .detail.clone().unwrap_or_else(|| code.title().to_owned()))]
    Api {
        status: u16,
        code: ProblemCode,
        detail: Option<String>,
    },
    /// The server could not be reached, or the connection broke.
    #[error("cannot reach the server: {0}")]
    Transport(#[from] reqwest::Error),
    /// No credentials are stored.
    #[error("not logged in: run `satchel login URL`")]
    NotLoggedIn,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Other(String),
}

impl ClientError {
    /// Whether trying again later may succeed (network trouble, server overload or restart).
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Transport(_) => true,
            ClientError::Api { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// The problem code, when the server sent one.
    pub fn code(&self) -> Option<ProblemCode> {
        match self {
            ClientError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}
