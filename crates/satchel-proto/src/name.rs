//! Node names: the one place the naming rules of the contract are checked.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Longest name, in bytes of UTF-8.
pub const MAX_NAME_BYTES: usize = 255;

/// A valid name for a file or folder: 1–255 bytes of UTF-8, no `/`, no NUL, not `.` or `..`.
///
/// Names are unique within a folder case-insensitively; [`NodeName::key`] gives the folded form that
/// uniqueness and search use, while the name itself keeps the case the user chose.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct NodeName(String);

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("a name cannot be empty")]
    Empty,
    #[error("a name is at most 255 bytes")]
    TooLong,
    #[error("a name cannot contain '/' or NUL")]
    ForbiddenCharacter,
    #[error("'.' and '..' are not names")]
    Dots,
}

impl NodeName {
    /// Checks `text` against the naming rules.
    pub fn new(text: impl Into<String>) -> Result<Self, NameError> {
        let text = text.into();
        if text.is_empty() {
            return Err(NameError::Empty);
        }
        if text.len() > MAX_NAME_BYTES {
            return Err(NameError::TooLong);
        }
        if text.contains(['/', '\0']) {
            return Err(NameError::ForbiddenCharacter);
        }
        if text == "." || text == ".." {
            return Err(NameError::Dots);
        }
        Ok(Self(text))
    }

    /// The name as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded key under which names clash (`Report.PDF` and `report.pdf` share one).
    pub fn key(&self) -> String {
        name_key(&self.0)
    }

    /// The name with ` (n)` before its extension: `a.txt` → `a (2).txt`; `.bashrc` → `.bashrc (2)`.
    /// Falls back to cutting the stem when the result would pass 255 bytes.
    pub fn numbered(&self, n: u32) -> NodeName {
        let (stem, ext) = match self.0.rfind('.') {
            Some(dot) if dot > 0 => self.0.split_at(dot),
            _ => (self.0.as_str(), ""),
        };
        let suffix = format!(" ({n}){ext}");
        let mut stem = stem.to_owned();
        while stem.len() + suffix.len() > MAX_NAME_BYTES {
            stem.pop();
        }
        NodeName(format!("{stem}{suffix}"))
    }
}

/// Folds a name or search term for case-insensitive comparison (full Unicode lower case).
pub fn name_key(text: &str) -> String {
    text.to_lowercase()
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl<'de> Deserialize<'de> for NodeName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        NodeName::new(text).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for NodeName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_NAME_BYTES))
            .description(Some(
                "1–255 bytes of UTF-8, no '/', no NUL, not '.' or '..'",
            ))
            .into()
    }
}

impl utoipa::ToSchema for NodeName {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_the_contract_refuses() {
        assert_eq!(NodeName::new(""), Err(NameError::Empty));
        assert_eq!(NodeName::new("a/b"), Err(NameError::ForbiddenCharacter));
        assert_eq!(NodeName::new("a\0b"), Err(NameError::ForbiddenCharacter));
        assert_eq!(NodeName::new(".."), Err(NameError::Dots));
        assert_eq!(NodeName::new("x".repeat(256)), Err(NameError::TooLong));
        assert!(NodeName::new("é".repeat(127)).is_ok());
        assert!(NodeName::new("line\nbreak 🎉").is_ok());
    }

    #[test]
    fn numbers_before_the_extension() {
        let name = NodeName::new("report.final.pdf").unwrap();
        assert_eq!(name.numbered(1).as_str(), "report.final (1).pdf");
        assert_eq!(
            NodeName::new(".bashrc").unwrap().numbered(2).as_str(),
            ".bashrc (2)"
        );
        let long = NodeName::new("a".repeat(255)).unwrap();
        assert_eq!(long.numbered(3).as_str().len(), 255);
    }

    #[test]
    fn keys_fold_case() {
        assert_eq!(NodeName::new("ÄBC.Txt").unwrap().key(), "äbc.txt");
    }
}
