//! What typed entities add to [`Query`]: filters and sort keys from field handles, and keyset pagination.

use super::{Entity, Filter, IntoOrderKeys, OrderKey};
use crate::query::Query;
use crate::sql::{Projection, keyset_after};

impl<E: Entity> Query<E> {
    /// Asks the server for only the keys `E` reads ([`Entity::KEYS`]) from documents large enough for it to pay:
    /// those stored in at least 256 bytes per key read (`pg_column_size`). Smaller ones come whole, which decodes
    /// to the same `E` (serde skips the other keys) and costs the server less than building a projection of
    /// nearly every key. For exactly the keys listed on every row, use [`select_keys`](Query::select_keys).
    ///
    /// An entity whose keys the derive cannot list (it has a `#[serde(flatten)]` field) gets whole documents
    /// instead: a projection that dropped the flattened keys would fail every row.
    pub fn projected(self) -> Self {
        let Some(keys) = E::KEYS else { return self };
        let projection = Projection::new(keys.iter().map(|key| (*key).to_owned())).map(Projection::adaptive);
        self.map_select(|select| {
            select.set_projection(Some(projection?));
            Ok(())
        })
    }

    /// Adds a typed condition, built from the entity's field handles:
    /// `.filter(|p| p.status.eq("active").and(p.priority.gte(3)))`.
    ///
    /// Several calls combine with `AND`.
    pub fn filter(self, build: impl FnOnce(&E::Fields) -> Filter<E>) -> Self {
        let filter = build(&E::fields());
        self.filter_by(filter)
    }

    /// Adds a condition built elsewhere (see [`Entity::fields`]).
    pub fn filter_by(self, filter: Filter<E>) -> Self {
        self.push_filter(filter.into_condition())
    }

    /// Adds sort keys: `.order_by(|p| p.priority.desc())`, or several at once as a tuple, an array or a `Vec`.
    pub fn order_by<K: IntoOrderKeys<E>>(self, build: impl FnOnce(&E::Fields) -> K) -> Self {
        let keys: Result<Vec<_>, _> =
            build(&E::fields()).into_order_keys().into_iter().map(OrderKey::into_parts).collect();
        match keys {
            Ok(keys) => self.push_keys(keys),
            Err(error) => self.map_select(|_| Err(error)),
        }
    }

    /// Keyset pagination: only the rows after `row` in the current `order_by` order.
    ///
    /// The order keys must end with a unique key (a `#[entity(column = …)]` field or one marked
    /// `#[entity(order_key)]`). The condition is the lexicographic expansion `a > $1 OR (a = $1 AND b > $2)`
    /// (never an `AND` of comparisons, which would skip rows); `Option` keys follow PostgreSQL's placement of
    /// NULLs, so rows with a null key are neither skipped nor repeated, and a null key in `row` is a position like
    /// any other. Each key compares in the type its field decodes as (`f64` as `float8`), so `row`'s values are
    /// exactly the server's. A search [`Rank`](super::Rank) key is not in `row`: the condition recomputes it on the
    /// server from `row`'s unique key (`(SELECT <rank> FROM <view> WHERE <key> = $n)`), so `row` must still exist.
    pub fn after(self, row: &E) -> Self {
        let (keys, values): (Vec<_>, Vec<_>) =
            self.keys().iter().map(|key| (key.sort.clone(), (key.value)(row))).unzip();
        self.map_select(|select| {
            let condition = keyset_after(select.relation(), &keys, values)?;
            select.filter(condition);
            Ok(())
        })
    }
}
