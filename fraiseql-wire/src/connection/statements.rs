//! A session's named prepared statements, by SQL text, so that the server parses and plans a repeated query once.
//!
//! Bounded: past `statement_cache_capacity` the least recently used statement is closed on the server (its Close
//! goes out with the next query). Names carry a random prefix per session, so that two sessions behind a pooler
//! that shares server connections (PgBouncer in transaction mode) never run each other's statements: there, a
//! statement may be missing on the server connection a query lands on, and the query is prepared again.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// How a query's statement goes to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// The unnamed statement, parsed with the query (the cache is off).
    Unnamed,
    /// Already prepared under this name: Bind only.
    Cached(String),
    /// Parse under this name, after closing `evict` (to stay within the capacity).
    Prepare { name: String, evict: Option<String> },
}

impl Plan {
    /// The statement name the Bind refers to.
    pub(crate) fn name(&self) -> &str {
        match self {
            Plan::Unnamed => "",
            Plan::Cached(name) | Plan::Prepare { name, .. } => name,
        }
    }
}

pub(crate) struct StatementCache {
    capacity: usize,
    prefix: String,
    next: u64,
    clock: u64,
    /// SQL text → the statement's name and when it was last used.
    entries: HashMap<String, (String, u64)>,
}

impl StatementCache {
    pub(crate) fn new(capacity: usize) -> StatementCache {
        // Random enough that no two sessions share a prefix; no dependency needed for it.
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        StatementCache { capacity, prefix: format!("fw{random:016x}_"), next: 0, clock: 0, entries: HashMap::new() }
    }

    /// How `sql` goes to the server this time.
    pub(crate) fn plan(&mut self, sql: &str) -> Plan {
        if self.capacity == 0 {
            return Plan::Unnamed;
        }
        self.clock += 1;
        if let Some((name, used)) = self.entries.get_mut(sql) {
            *used = self.clock;
            return Plan::Cached(name.clone());
        }
        let evict = if self.entries.len() >= self.capacity { self.evict() } else { None };
        self.next += 1;
        Plan::Prepare { name: format!("{}{}", self.prefix, self.next), evict }
    }

    /// The server parsed `sql` under `name` (ParseComplete arrived).
    pub(crate) fn prepared(&mut self, sql: &str, name: String) {
        if self.entries.len() >= self.capacity {
            // Only when the evicted statement's Close could not be sent; keep the bound anyway.
            let _ = self.evict();
        }
        self.entries.insert(sql.to_owned(), (name, self.clock));
    }

    /// Forgets `sql`'s statement (the server no longer has it, or it no longer fits the view); whether it was
    /// cached.
    pub(crate) fn forget(&mut self, sql: &str) -> bool {
        self.entries.remove(sql).is_some()
    }

    /// Removes the least recently used statement and returns its name, to close on the server.
    fn evict(&mut self) -> Option<String> {
        let oldest = self.entries.iter().min_by_key(|(_, (_, used))| *used).map(|(sql, _)| sql.clone())?;
        self.entries.remove(&oldest).map(|(name, _)| name)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepare(cache: &mut StatementCache, sql: &str) -> (String, Option<String>) {
        match cache.plan(sql) {
            Plan::Prepare { name, evict } => {
                cache.prepared(sql, name.clone());
                (name, evict)
            }
            other => panic!("{sql}: expected a Parse, got {other:?}"),
        }
    }

    #[test]
    fn a_repeated_query_binds_the_statement_it_prepared() {
        let mut cache = StatementCache::new(4);
        let (name, evict) = prepare(&mut cache, "SELECT 1");
        assert_eq!(evict, None);
        assert_eq!(cache.plan("SELECT 1"), Plan::Cached(name.clone()));
        assert_ne!(prepare(&mut cache, "SELECT 2").0, name, "names are never reused");
    }

    #[test]
    fn the_least_recently_used_statement_is_closed_past_the_capacity() {
        let mut cache = StatementCache::new(2);
        let (a, _) = prepare(&mut cache, "a");
        let (b, _) = prepare(&mut cache, "b");
        assert_eq!(cache.plan("a"), Plan::Cached(a.clone()));
        let (_, evicted) = prepare(&mut cache, "c");
        assert_eq!(evicted, Some(b), "b was used least recently");
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.plan("a"), Plan::Cached(a));
    }

    #[test]
    fn an_unparsed_statement_is_not_cached_and_a_forgotten_one_is_prepared_again() {
        let mut cache = StatementCache::new(2);
        assert!(matches!(cache.plan("broken"), Plan::Prepare { .. }));
        // No ParseComplete (a syntax error): the next attempt parses again.
        assert!(matches!(cache.plan("broken"), Plan::Prepare { .. }));
        prepare(&mut cache, "ok");
        assert!(cache.forget("ok"));
        assert!(!cache.forget("ok"));
        assert!(matches!(cache.plan("ok"), Plan::Prepare { .. }));
    }

    #[test]
    fn capacity_zero_is_the_unnamed_statement_and_sessions_differ_in_prefix() {
        assert_eq!(StatementCache::new(0).plan("SELECT 1"), Plan::Unnamed);
        let (mut a, mut b) = (StatementCache::new(1), StatementCache::new(1));
        assert_ne!(a.plan("x").name(), b.plan("x").name());
    }
}
