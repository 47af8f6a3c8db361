//! Content-defined chunk boundaries (FastCDC 2020), shared by the server's simple uploads and the
//! client, so that the same bytes cut the same way on both sides and deduplicate.

/// Smallest chunk FastCDC cuts (except a file's last chunk).
pub const MIN_CHUNK: usize = 256 * 1024;
/// Average chunk size.
pub const AVG_CHUNK: usize = 1024 * 1024;
/// Largest chunk FastCDC cuts.
pub const MAX_CHUNK: usize = 4 * 1024 * 1024;

/// Where the first chunk of `buffer` ends, if that is already decided: always when the buffer holds
/// at least [`MAX_CHUNK`] bytes, and at the end of input (`eof`) for whatever is left.
pub fn cut_point(buffer: &[u8], eof: bool) -> Option<usize> {
    if buffer.is_empty() || (!eof && buffer.len() < MAX_CHUNK) {
        return None;
    }
    let window = &buffer[..buffer.len().min(MAX_CHUNK)];
    let mut chunker =
        fastcdc::v2020::FastCDC::new(window, MIN_CHUNK as u32, AVG_CHUNK as u32, MAX_CHUNK as u32);
    chunker.next().map(|chunk| chunk.length)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo_random(len: usize) -> Vec<u8> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    fn cut_all(data: &[u8]) -> Vec<usize> {
        let mut rest = data;
        let mut sizes = Vec::new();
        while let Some(cut) = cut_point(rest, true) {
            sizes.push(cut);
            rest = &rest[cut..];
        }
        sizes
    }

    #[test]
    fn cuts_within_bounds_and_cover_everything() {
        let data = pseudo_random(9 * 1024 * 1024 + 17);
        let sizes = cut_all(&data);
        assert_eq!(sizes.iter().sum::<usize>(), data.len());
        assert!(sizes.iter().all(|&s| s <= MAX_CHUNK));
        assert!(sizes[..sizes.len() - 1].iter().all(|&s| s >= MIN_CHUNK));
    }

    #[test]
    fn an_insert_at_the_start_changes_few_chunks() {
        let data = pseudo_random(8 * 1024 * 1024);
        let mut edited = vec![42u8];
        edited.extend_from_slice(&data);
        let (a, b) = (cut_all(&data), cut_all(&edited));
        let tail_a: Vec<_> = a.iter().rev().take(a.len() - 1).collect();
        let tail_b: Vec<_> = b.iter().rev().take(a.len() - 1).collect();
        assert_eq!(
            tail_a, tail_b,
            "boundaries after the first chunk should resynchronise"
        );
    }

    #[test]
    fn waits_for_more_input_unless_at_the_end() {
        assert_eq!(cut_point(&[1, 2, 3], false), None);
        assert_eq!(cut_point(&[1, 2, 3], true), Some(3));
        assert_eq!(cut_point(&[], true), None);
    }
}
