//! Stored credentials: `$XDG_CONFIG_HOME/satchel/credentials.json` (default `~/.config/satchel/`),
//! readable only by their owner.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ClientError;

/// A signed-in client's server and tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub server: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl Credentials {
    /// The default location of the credentials file.
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
        Some(base.join("satchel").join("credentials.json"))
    }

    /// Reads stored credentials.
    pub fn load(path: &Path) -> Result<Credentials, ClientError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(ClientError::NotLoggedIn);
            }
            Err(error) => return Err(error.into()),
        };
        serde_json::from_str(&text)
            .map_err(|e| ClientError::Other(format!("{}: {e}", path.display())))
    }

    /// Writes the credentials atomically with mode 0600.
    pub fn save(&self, path: &Path) -> Result<(), ClientError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let temp = path.with_extension("tmp");
        let text =
            serde_json::to_vec_pretty(self).map_err(|e| ClientError::Other(e.to_string()))?;
        write_private(&temp, &text)?;
        std::fs::rename(&temp, path)?;
        Ok(())
    }

    /// Forgets the stored credentials.
    pub fn remove(path: &Path) -> Result<(), ClientError> {
        match std::fs::remove_file(path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error.into()),
            _ => Ok(()),
        }
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
