//! `Range: bytes=…` for downloads: one range, as RFC 9110 allows a server to limit itself to.

/// What a `Range` header asks of a body of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No (usable) range: send everything with `200`.
    Full,
    /// Send bytes `start..end` (end exclusive) with `206`.
    Partial { start: u64, end: u64 },
    /// The range lies outside the body: `416`.
    Unsatisfiable,
}

/// Interprets a `Range` header. Multiple ranges and other units are ignored (a full `200`).
pub fn parse(header: Option<&str>, size: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let range = match (first.parse::<u64>().ok(), last.parse::<u64>().ok()) {
        (Some(start), Some(end)) if start <= end => Some((start, end.saturating_add(1).min(size))),
        (Some(start), None) if last.is_empty() => Some((start, size)),
        (None, Some(suffix)) if first.is_empty() => {
            if suffix == 0 {
                return RangeRequest::Unsatisfiable;
            }
            Some((size.saturating_sub(suffix), size))
        }
        _ => None,
    };
    match range {
        None => RangeRequest::Full,
        Some((start, _)) if start >= size => RangeRequest::Unsatisfiable,
        Some((start, end)) => RangeRequest::Partial { start, end },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeRequest::*;

    #[test]
    fn reads_the_forms_of_rfc_9110() {
        assert_eq!(parse(None, 10), Full);
        assert_eq!(parse(Some("bytes=0-4"), 10), Partial { start: 0, end: 5 });
        assert_eq!(parse(Some("bytes=5-"), 10), Partial { start: 5, end: 10 });
        assert_eq!(parse(Some("bytes=-3"), 10), Partial { start: 7, end: 10 });
        assert_eq!(parse(Some("bytes=-30"), 10), Partial { start: 0, end: 10 });
        assert_eq!(
            parse(Some("bytes=8-100"), 10),
            Partial { start: 8, end: 10 }
        );
        assert_eq!(parse(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(parse(Some("bytes=0-0"), 0), Unsatisfiable);
        assert_eq!(parse(Some("bytes=5-2"), 10), Full);
        assert_eq!(parse(Some("bytes=0-1,4-5"), 10), Full);
        assert_eq!(parse(Some("items=0-1"), 10), Full);
    }
}
