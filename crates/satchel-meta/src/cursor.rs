//! Opaque cursors: journal positions and list page keys.
//!
//! A journal cursor is a position per namespace (`ns → last seen seq`), so that when folders shared
//! by others join a user's view, one cursor still names a point in every journal the user reads.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::StoreError;

/// A position in the journals a user reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    positions: BTreeMap<Uuid, u64>,
}

impl Cursor {
    /// The last seen sequence number of `ns` (0 = nothing seen).
    pub fn seq(&self, ns: Uuid) -> u64 {
        self.positions.get(&ns).copied().unwrap_or(0)
    }

    /// Records that `ns` has been read up to `seq`.
    pub fn set(&mut self, ns: Uuid, seq: u64) {
        self.positions.insert(ns, seq);
    }

    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        let text: Vec<String> = self
            .positions
            .iter()
            .map(|(ns, seq)| format!("{}:{seq}", ns.simple()))
            .collect();
        URL_SAFE_NO_PAD.encode(format!("c1|{}", text.join(",")))
    }

    /// Parses a cursor this server issued.
    pub fn decode(text: &str) -> Result<Cursor, StoreError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| StoreError::BadCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| StoreError::BadCursor)?;
        let body = text.strip_prefix("c1|").ok_or(StoreError::BadCursor)?;
        let mut cursor = Cursor::default();
        for part in body.split(',').filter(|part| !part.is_empty()) {
            let (ns, seq) = part.split_once(':').ok_or(StoreError::BadCursor)?;
            let ns = Uuid::try_parse(ns).map_err(|_| StoreError::BadCursor)?;
            let seq = seq.parse().map_err(|_| StoreError::BadCursor)?;
            cursor.set(ns, seq);
        }
        Ok(cursor)
    }
}

/// The key of the last entry of a list page: the sort value and the id that breaks ties.
pub(crate) fn encode_page_key(sort: &str, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{sort}\u{0}{id}"))
}

/// Parses [`encode_page_key`]'s output.
pub(crate) fn decode_page_key(text: &str) -> Result<(String, Uuid), StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| StoreError::BadCursor)?;
    let text = String::from_utf8(bytes).map_err(|_| StoreError::BadCursor)?;
    let (sort, id) = text.rsplit_once('\u{0}').ok_or(StoreError::BadCursor)?;
    let id = Uuid::try_parse(id).map_err(|_| StoreError::BadCursor)?;
    Ok((sort.to_owned(), id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let mut cursor = Cursor::default();
        cursor.set(Uuid::now_v7(), 42);
        cursor.set(Uuid::now_v7(), 7);
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert!(Cursor::decode("not a cursor").is_err());
    }

    #[test]
    fn page_keys_round_trip() {
        let id = Uuid::now_v7();
        let key = encode_page_key("ä\nb", id);
        assert_eq!(decode_page_key(&key).unwrap(), ("ä\nb".to_owned(), id));
    }
}
