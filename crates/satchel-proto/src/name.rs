//! Node names: the one place the naming rules of the contract are checked, and the one place the
//! key under which names clash is computed.
//!
//! - A name is kept as the client sent it (NFC or NFD alike: macOS sends NFD), so what a client
//!   uploaded is what it lists and downloads.
//! - Uniqueness uses [`name_key`]: canonical caseless matching (Unicode §3.13) — NFD, full default
//!   case folding (`caseless`, Unicode 16: `ß` → `ss`, final `ς` → `σ`), then NFC. So the NFC and
//!   NFD spellings of one name clash, as `Report.PDF` and `report.pdf` do. Changing this function
//!   changes every stored key: it needs a migration that rewrites them (see `satchel-meta`'s
//!   `rekey.rs`).
//! - Control characters (C0, DEL, C1) and bidirectional formatting characters (the Unicode
//!   `Bidi_Control` set: U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069) are refused: they
//!   hide or reorder what a name shows (`\u{202e}gpj.exe` reads as `exe.jpg`).

use std::fmt;

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;

use serde::{Deserialize, Deserializer, Serialize};

/// Longest name, in bytes of UTF-8.
pub const MAX_NAME_BYTES: usize = 255;

/// A valid name for a file or folder: 1–255 bytes of UTF-8, no `/`, no control or bidirectional
/// formatting character, not `.` or `..`.
///
/// Names are unique within a folder case-insensitively and whatever their normalisation;
/// [`NodeName::key`] gives the folded form that uniqueness and search use, while the name itself
/// keeps the spelling the user chose.
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
    #[error("a name cannot contain control or bidirectional formatting characters")]
    ControlCharacter,
    #[error("'.' and '..' are not names")]
    Dots,
    #[error("a name must be UTF-8")]
    NotUtf8,
}

impl NameError {
    /// Every reason, for callers that recognise one inside another library's message.
    pub const ALL: [NameError; 6] = [
        NameError::Empty,
        NameError::TooLong,
        NameError::ForbiddenCharacter,
        NameError::ControlCharacter,
        NameError::Dots,
        NameError::NotUtf8,
    ];
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
        if text.chars().any(is_hidden_control) {
            return Err(NameError::ControlCharacter);
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

    /// A name stored before the rule on control characters: each refused character becomes `_`,
    /// then the usual checks apply (and fail only on names that were never valid).
    pub fn repaired(text: &str) -> Result<Self, NameError> {
        let text: String = text
            .chars()
            .map(|c| if is_hidden_control(c) { '_' } else { c })
            .collect();
        Self::new(text)
    }

    /// Checks raw bytes: a name that is not UTF-8 is refused, never repaired.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, NameError> {
        let text = std::str::from_utf8(bytes).map_err(|_| NameError::NotUtf8)?;
        Self::new(text)
    }

    /// The key under which names clash (`Report.PDF` and `report.pdf` share one, and so do the NFC
    /// and NFD spellings of `é`): see [`name_key`].
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

/// Folds a name or search term for comparison: NFD, full Unicode case folding, NFC — canonical
/// caseless matching, kept composed so keys stay short and sort like the names they come from.
/// `str::to_lowercase` is not enough: it leaves `ß` and `ς` alone, which fold to `ss` and `σ`.
pub fn name_key(text: &str) -> String {
    text.nfd().default_case_fold().nfc().collect()
}

/// Whether `c` is a control character (C0, DEL, C1) or a bidirectional formatting character.
fn is_hidden_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
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
            .pattern(Some(
                "^[^/\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]+$",
            ))
            .description(Some(
                "1–255 bytes of UTF-8, no '/', no control or bidirectional formatting \
                 character (C0, DEL, C1, U+061C, U+200E–F, U+202A–E, U+2066–9), not '.' or '..'; \
                 unique in its folder after NFC and case folding",
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
        assert!(NodeName::new("emoji 🎉 and \u{200d} joiner").is_ok());
        assert!(NodeName::new("עברית.txt").is_ok());
    }

    #[test]
    fn refuses_control_and_bidi_characters() {
        for bad in [
            "line\nbreak",
            "tab\t",
            "\u{1}",
            "del\u{7f}",
            "c1\u{85}",
            "c1\u{9f}",
            "\u{202e}gpj.exe",
            "\u{202a}",
            "\u{2066}x",
            "\u{2069}",
            "\u{200e}",
            "\u{200f}",
            "\u{61c}",
        ] {
            assert_eq!(
                NodeName::new(bad),
                Err(NameError::ControlCharacter),
                "{bad:?}"
            );
        }
        assert_eq!(NodeName::from_bytes(b"caf\xe9"), Err(NameError::NotUtf8));
        assert_eq!(
            NodeName::repaired("a\nb\u{202e}.txt").unwrap().as_str(),
            "a_b_.txt"
        );
        assert_eq!(
            NodeName::from_bytes("café".as_bytes()).unwrap().as_str(),
            "café"
        );
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
        assert_eq!(name_key("Straße"), name_key("STRASSE"));
        assert_eq!(name_key("ΟΔΟΣ"), name_key("οδος"));
        assert_eq!(name_key("ﬁle"), "file");
    }

    #[test]
    fn keys_ignore_normalisation_but_names_keep_it() {
        let nfc = NodeName::new("caf\u{e9}.txt").unwrap();
        let nfd = NodeName::new("cafe\u{301}.txt").unwrap();
        assert_ne!(nfc.as_str(), nfd.as_str());
        assert_eq!(nfc.key(), nfd.key());
        assert_eq!(nfd.key(), "caf\u{e9}.txt");
        assert_eq!(name_key("CAFE\u{301}"), nfc.key().trim_end_matches(".txt"));
        for text in ["Straße", "ΣΊΣΥΦΟΣ", "cafe\u{301}", "\u{1e9e}"] {
            assert_eq!(name_key(&name_key(text)), name_key(text), "{text:?}");
        }
    }
}
