//! Sort keys of typed queries.

use std::fmt;
use std::sync::Arc;

use crate::error::BuildError;
use crate::query::{DocumentValue, Key, KeyValue};
use crate::sql::{Param, SortKey};

/// One sort key of a query on entity `E`, from a field's [`asc`](super::Field::asc) or
/// [`desc`](super::Field::desc), or a search [`Rank`](super::Rank)'s.
pub struct OrderKey<E> {
    /// A key that could not be built (a rank with an invalid text search configuration) fails the query.
    key: Result<SortKey, BuildError>,
    value: KeyValue<E>,
    document: DocumentValue,
    check: fn(&str) -> bool,
}

impl<E> Clone for OrderKey<E> {
    fn clone(&self) -> Self {
        OrderKey {
            key: self.key.clone(),
            value: self.value.clone(),
            document: self.document.clone(),
            check: self.check,
        }
    }
}

impl<E> fmt::Debug for OrderKey<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Ok(key) => f.write_str(&key.sql()),
            Err(error) => write!(f, "invalid: {}", crate::error::Error::from(error.clone())),
        }
    }
}

impl<E> OrderKey<E> {
    pub(crate) fn new(key: SortKey, value: KeyValue<E>, document: DocumentValue, check: fn(&str) -> bool) -> Self {
        OrderKey { key: Ok(key), value, document, check }
    }

    /// A key that could not be built; the query reports `error` when it runs.
    pub(crate) fn invalid(error: BuildError) -> Self {
        OrderKey {
            key: Err(error),
            value: Arc::new(|_: &E| Param::NULL),
            document: Arc::new(|_| Param::NULL),
            check: |_| false,
        }
    }

    pub(crate) fn into_parts(self) -> Result<Key<E>, BuildError> {
        Ok(Key { sort: self.key?, value: self.value, document: self.document, check: self.check })
    }

    /// Puts rows whose key is missing or null first.
    pub fn nulls_first(mut self) -> Self {
        if let Ok(key) = &mut self.key {
            key.nulls_first = Some(true);
        }
        self
    }

    /// Puts rows whose key is missing or null last.
    pub fn nulls_last(mut self) -> Self {
        if let Ok(key) = &mut self.key {
            key.nulls_first = Some(false);
        }
        self
    }
}

/// Sort keys given to [`Query::order_by`](crate::Query::order_by): one key, a tuple of keys, an array or a
/// `Vec`.
pub trait IntoOrderKeys<E> {
    /// The keys, most significant first.
    fn into_order_keys(self) -> Vec<OrderKey<E>>;
}

impl<E> IntoOrderKeys<E> for OrderKey<E> {
    fn into_order_keys(self) -> Vec<OrderKey<E>> {
        vec![self]
    }
}

impl<E> IntoOrderKeys<E> for Vec<OrderKey<E>> {
    fn into_order_keys(self) -> Vec<OrderKey<E>> {
        self
    }
}

impl<E, const N: usize> IntoOrderKeys<E> for [OrderKey<E>; N] {
    fn into_order_keys(self) -> Vec<OrderKey<E>> {
        self.into()
    }
}

macro_rules! tuple_order_keys {
    ($($name:ident),+) => {
        impl<E> IntoOrderKeys<E> for ($(tuple_order_keys!(@key $name),)+) {
            #[allow(non_snake_case)]
            fn into_order_keys(self) -> Vec<OrderKey<E>> {
                let ($($name,)+) = self;
                vec![$($name),+]
            }
        }
    };
    (@key $name:ident) => { OrderKey<E> };
}
tuple_order_keys!(A, B);
tuple_order_keys!(A, B, C);
tuple_order_keys!(A, B, C, D);
