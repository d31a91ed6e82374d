//! The slices of an export in key order, one after the other, each started at once.
//!
//! Slice `i` of a range split holds keys below those of slice `i + 1`, so reading the slices in turn, each
//! ordered by the key, yields every row in key order: a merge that never compares two rows. Every slice is
//! polled from the start, so all the servers' backends scan (and sort) at once; a slice that is not yet being
//! read holds its first row here and then stops being polled, and its backend blocks once the socket is full.
//! Memory stays bounded by one row per slice plus the sockets' buffers.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::error::{Error, Result};
use crate::stream::RowStream;

/// One slice: its stream, and the item it produced before its turn came.
struct Slice<T> {
    rows: RowStream<T>,
    held: Option<Result<T>>,
    done: bool,
}

/// Yields the rows of each slice in turn; see the module docs.
pub(super) struct InOrder<T> {
    slices: Vec<Slice<T>>,
    current: usize,
}

impl<T> InOrder<T> {
    pub(super) fn new(slices: impl IntoIterator<Item = RowStream<T>>) -> Self {
        let slices = slices.into_iter().map(|rows| Slice { rows, held: None, done: false }).collect();
        InOrder { slices, current: 0 }
    }
}

// Nothing in it is ever pinned in place: a held row is moved out by value and each slice's stream is `Unpin`.
impl<T> Unpin for InOrder<T> {}

/// An error that leaves the export incomplete (anything but a row that did not decode).
fn ends_export<T>(item: &Result<T>) -> bool {
    matches!(item, Err(error) if !matches!(error, Error::Decode { .. } | Error::InvalidUtf8 { .. }))
}

impl<T> Stream for InOrder<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        let this = self.get_mut();
        // The slices whose turn has not come: driven until their first row, so their queries run meanwhile. A
        // failure there is reported at once rather than after the slices before it.
        for slice in this.slices.iter_mut().skip(this.current + 1) {
            if slice.held.is_some() || slice.done {
                continue;
            }
            match Pin::new(&mut slice.rows).poll_next(cx) {
                Poll::Ready(Some(item)) if ends_export(&item) => {
                    slice.done = true;
                    return Poll::Ready(Some(item));
                }
                Poll::Ready(Some(item)) => slice.held = Some(item),
                Poll::Ready(None) => slice.done = true,
                Poll::Pending => {}
            }
        }
        while let Some(slice) = this.slices.get_mut(this.current) {
            if let Some(item) = slice.held.take() {
                return Poll::Ready(Some(item));
            }
            if !slice.done {
                match Pin::new(&mut slice.rows).poll_next(cx) {
                    Poll::Ready(Some(item)) => return Poll::Ready(Some(item)),
                    Poll::Ready(None) => slice.done = true,
                    Poll::Pending => return Poll::Pending,
                }
            }
            this.current += 1;
        }
        Poll::Ready(None)
    }
}
