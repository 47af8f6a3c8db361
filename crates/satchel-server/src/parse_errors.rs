//! hyper's own answers to requests it cannot parse, rewritten as problem documents.
//!
//! When a request line or header block is malformed (`400`), its URI is too long (`414`) or its
//! headers overflow the read buffer (`431`), hyper answers by itself, before any request reaches
//! the router, with an empty body — and it has no hook to change that answer. [`ProblemAnswers`]
//! wraps the connection's socket and recognises that answer on its way out: a head of exactly
//! that status line, `content-length: 0` and hyper's `date` (perhaps after `connection: close`) (a response the router built always
//! has more: every error of ours carries a problem document). It writes a problem document with a
//! stable code in its place (`bad_request`, `uri_too_long`, `headers_too_large`) and
//! `connection: close`, which is what hyper does next anyway.
//!
//! Invariant: nothing else is changed — every other byte passes through in order, and a write is
//! reported complete only once all of its replacement is written.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use satchel_proto::{Problem, ProblemCode};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A socket whose parse-error answers from hyper become problem documents.
pub struct ProblemAnswers<S> {
    inner: S,
    /// A replacement being written: its bytes, how many are out, and the length of the write it
    /// stands for (what the caller is told once it is all out).
    replacing: Option<(Vec<u8>, usize, usize)>,
}

impl<S> ProblemAnswers<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            replacing: None,
        }
    }
}

/// The automatic answers hyper gives, with the code and detail that replace them.
const AUTOMATIC: [(&[u8], ProblemCode, &str); 3] = [
    (
        b"HTTP/1.1 400 Bad Request\r\n",
        ProblemCode::BadRequest,
        "the request line or a header could not be parsed",
    ),
    (
        b"HTTP/1.1 414 URI Too Long\r\n",
        ProblemCode::UriTooLong,
        "the request's URI is longer than the server reads",
    ),
    (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
        ProblemCode::HeadersTooLarge,
        "the request's headers are larger than the server reads",
    ),
];

/// The bytes to write instead of `buf`, when `buf` begins with one of hyper's automatic answers.
fn replacement(buf: &[u8]) -> Option<Vec<u8>> {
    let (status_line, code, detail) = AUTOMATIC
        .iter()
        .find(|(status_line, ..)| buf.starts_with(status_line))?;
    let rest = &buf[status_line.len()..];
    let rest = rest
        .strip_prefix(b"connection: close\r\n".as_slice())
        .unwrap_or(rest);
    let headers = rest.strip_prefix(b"content-length: 0\r\n".as_slice())?;
    if !headers.starts_with(b"date: ") {
        return None;
    }
    // Exactly one more header line (the date), then the blank line.
    let date_end = headers.windows(2).position(|pair| pair == b"\r\n")?;
    let after = &headers[date_end + 2..];
    let after = after.strip_prefix(b"\r\n".as_slice())?;
    let date = &headers[..date_end + 2];
    let body = serde_json::to_vec(&Problem::new(*code, Some((*detail).to_owned()))).ok()?;
    let mut out = Vec::with_capacity(256 + body.len() + after.len());
    out.extend_from_slice(status_line);
    out.extend_from_slice(b"content-type: application/problem+json\r\n");
    out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    out.extend_from_slice(b"connection: close\r\n");
    out.extend_from_slice(date);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&body);
    out.extend_from_slice(after);
    Some(out)
}

impl<S: AsyncRead + Unpin> AsyncRead for ProblemAnswers<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ProblemAnswers<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.replacing.is_none()
            && let Some(bytes) = replacement(buf)
        {
            this.replacing = Some((bytes, 0, buf.len()));
        }
        let Some((bytes, written, stands_for)) = &mut this.replacing else {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        };
        while *written < bytes.len() {
            let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        let stands_for = *stands_for;
        this.replacing = None;
        Poll::Ready(Ok(stands_for))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    // Not vectored: hyper then hands over each response head whole, in one write.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bare_answers_are_replaced() {
        let hyper = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Wed, 02 Dec 2026 14:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(replacement(hyper).unwrap()).unwrap();
        assert!(out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(out.contains("content-type: application/problem+json\r\n"));
        assert!(out.contains("date: Wed, 02 Dec 2026 14:00:00 GMT\r\n\r\n{"));
        assert!(out.ends_with('}'));
        assert!(out.contains(r#""code":"headers_too_large""#));
        // A response of the router has a type and a body: untouched.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 2\r\ndate: x\r\n\r\n{}";
        assert!(replacement(ours).is_none());
        let with_more =
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: x\r\nallow: GET\r\n\r\n";
        assert!(replacement(with_more).is_none());
    }
}
