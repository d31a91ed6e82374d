//! Property tests of the read path: a session fed server bytes (well-formed, broken or random), split into
//! reads at arbitrary places. Whatever the bytes, nothing panics, nothing is buffered beyond the message caps, and
//! the same bytes give the same rows, end and errors however the reads split them.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::session::{Next, Session};
use super::state::State;
use super::transport::Transport;

/// A transport that plays back chunks of bytes, then end of file; what is written goes nowhere.
pub(crate) struct Replay {
    chunks: VecDeque<Vec<u8>>,
}

impl AsyncRead for Replay {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        if let Some(chunk) = self.chunks.front_mut() {
            let n = chunk.len().min(buf.remaining());
            buf.put_slice(&chunk[..n]);
            chunk.drain(..n);
            if chunk.is_empty() {
                self.chunks.pop_front();
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Replay {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The largest row the replayed sessions accept.
const MAX_ROW: usize = 4096;

/// What the caller sees, in order, when reading rows from `bytes` split at `cuts`; and the largest read buffer
/// the session had.
pub(crate) fn replay(bytes: &[u8], cuts: &[usize]) -> (Vec<String>, usize) {
    let mut chunks = VecDeque::new();
    let mut start = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    for cut in cuts.into_iter().chain([bytes.len()]) {
        if cut > start {
            chunks.push_back(bytes[start..cut].to_vec());
            start = cut;
        }
    }
    let mut session = Session::replaying(Transport::Replay(Replay { chunks }), MAX_ROW, State::Rows);
    let mut cx = Context::from_waker(Waker::noop());
    let mut seen = Vec::new();
    let mut largest = 0;
    // Every step consumes input or ends the query, so this many steps always reach the end.
    for _ in 0..=bytes.len() + 1 {
        let next = match session.poll_row(&mut cx, |row| String::from_utf8_lossy(row.json()).into_owned()) {
            Poll::Ready(next) => next,
            // A replay is always ready; were it not, there would be nothing more to see.
            Poll::Pending => break,
        };
        largest = largest.max(session.read_capacity());
        match next {
            Next::Row(row) => seen.push(format!("row {row}")),
            Next::Oversized { size, .. } => {
                seen.push(format!("oversized {size}"));
                break;
            }
            Next::End => {
                seen.push("end".to_owned());
                break;
            }
            Next::Failed(error) => {
                seen.push(format!("failed: {error}"));
                break;
            }
        }
    }
    (seen, largest)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn message(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        out.extend_from_slice(&u32::try_from(body.len() + 4).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    /// One backend message a query may see, well-formed or not.
    fn backend_message() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => proptest::collection::vec(any::<u8>(), 0..48).prop_map(|value| {
                let mut body = 1i16.to_be_bytes().to_vec();
                body.extend_from_slice(&i32::try_from(value.len()).unwrap_or(0).to_be_bytes());
                body.extend_from_slice(&value);
                message(b'D', &body)
            }),
            1 => Just(message(b'D', &[0, 1, 0xff, 0xff, 0xff, 0xff])),
            1 => (MAX_ROW + 1..MAX_ROW * 3).prop_map(|size| {
                let mut body = 1i16.to_be_bytes().to_vec();
                body.extend_from_slice(&i32::try_from(size).unwrap_or(0).to_be_bytes());
                body.resize(body.len() + size, b'x');
                message(b'D', &body)
            }),
            1 => Just(message(b'C', b"SELECT 1\0")),
            1 => Just(message(b'N', b"SNOTICE\0C00000\0Mhello\0\0")),
            1 => Just(message(b'S', b"application_name\0x\0")),
            1 => Just(message(b'E', b"SERROR\0VERROR\0C22012\0Mdivision by zero\0\0")),
            1 => Just(message(b'Z', b"I")),
            1 => (any::<u8>(), any::<u32>(), proptest::collection::vec(any::<u8>(), 0..16)).prop_map(|(tag, length, rest)| {
                let mut raw = vec![tag];
                raw.extend_from_slice(&length.to_be_bytes());
                raw.extend_from_slice(&rest);
                raw
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        #[test]
        fn splitting_never_changes_what_the_caller_sees(
            messages in proptest::collection::vec(backend_message(), 0..12),
            first in proptest::collection::vec(any::<usize>(), 0..8),
            second in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let bytes = messages.concat();
            let (seen, largest) = replay(&bytes, &first);
            let (again, _) = replay(&bytes, &second);
            prop_assert_eq!(&seen, &again);
            // A declared length never makes the session buffer more than a capped message needs.
            prop_assert!(largest <= 256 * 1024, "read buffer grew to {} bytes", largest);
        }

        #[test]
        fn random_bytes_never_panic_or_overallocate(
            bytes in proptest::collection::vec(any::<u8>(), 0..256),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let (_, largest) = replay(&bytes, &cuts);
            prop_assert!(largest <= 256 * 1024, "read buffer grew to {} bytes", largest);
        }
    }
}
