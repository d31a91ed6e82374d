//! A session's named prepared statements, by SQL text, so that the server parses and plans a repeated query once.
//!
//! Bounded: past `statement_cache_capacity` the least recently used statement is closed on the server (its Close
//! goes out with the next query), and so is every statement the server parsed but the cache did not keep (a
//! query that failed after its Parse, a relation that is not JSON), so that nothing piles up on the server. Names carry a random prefix per session, so that two sessions behind a pooler
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
    /// Parse under this name.
    Prepare(String),
}

impl Plan {
    /// The statement name the Bind refers to.
    pub(crate) fn name(&self) -> &str {
        match self {
            Plan::Unnamed => "",
            Plan::Cached(name) | Plan::Prepare(name) => name,
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
    /// Statements to close on the server with the next query.
    to_close: Vec<String>,
}

impl StatementCache {
    pub(crate) fn new(capacity: usize) -> StatementCache {
        // Random enough that no two sessions share a prefix; no dependency needed for it.
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        StatementCache {
            capacity,
            prefix: format!("fw{random:016x}_"),
            next: 0,
            clock: 0,
            entries: HashMap::new(),
            to_close: Vec::new(),
        }
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
        self.next += 1;
        Plan::Prepare(format!("{}{}", self.prefix, self.next))
    }

    /// The server parsed `sql` under `name` and described a JSON column: bound again from now on.
    pub(crate) fn prepared(&mut self, sql: &str, name: String) {
        while self.entries.len() >= self.capacity && self.evict() {}
        self.entries.insert(sql.to_owned(), (name, self.clock));
    }

    /// The server parsed a statement the cache does not keep: it is closed with the next query.
    pub(crate) fn discard(&mut self, name: String) {
        self.to_close.push(name);
    }

    /// Forgets `sql`'s statement (the server lost it, or it no longer fits the view), closing it on the server in
    /// case it is still there; whether it was cached.
    pub(crate) fn forget(&mut self, sql: &str) -> bool {
        match self.entries.remove(sql) {
            Some((name, _)) => {
                self.to_close.push(name);
                true
            }
            None => false,
        }
    }

    /// The statements to close with the query about to be sent.
    pub(crate) fn take_to_close(&mut self) -> Vec<String> {
        std::mem::take(&mut self.to_close)
    }

    /// Closes the least recently used statement (with the next query); whether there was one.
    fn evict(&mut self) -> bool {
        let Some(oldest) = self.entries.iter().min_by_key(|(_, (_, used))| *used).map(|(sql, _)| sql.clone()) else {
            return false;
        };
        if let Some((name, _)) = self.entries.remove(&oldest) {
            self.to_close.push(name);
        }
        true
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plans, prepares and caches `sql`; its name, and what is to be closed with the next query.
    fn prepare(cache: &mut StatementCache, sql: &str) -> (String, Vec<String>) {
        match cache.plan(sql) {
            Plan::Prepare(name) => {
                cache.prepared(sql, name.clone());
                (name, cache.take_to_close())
            }
            other => panic!("{sql}: expected a Parse, got {other:?}"),
        }
    }

    #[test]
    fn a_repeated_query_binds_the_statement_it_prepared() {
        let mut cache = StatementCache::new(4);
        let (name, closed) = prepare(&mut cache, "SELECT 1");
        assert!(closed.is_empty());
        assert_eq!(cache.plan("SELECT 1"), Plan::Cached(name.clone()));
        assert_ne!(prepare(&mut cache, "SELECT 2").0, name, "names are never reused");
    }

    #[test]
    fn the_least_recently_used_statement_is_closed_past_the_capacity() {
        let mut cache = StatementCache::new(2);
        let (a, _) = prepare(&mut cache, "a");
        let (b, _) = prepare(&mut cache, "b");
        assert_eq!(cache.plan("a"), Plan::Cached(a.clone()));
        let (_, closed) = prepare(&mut cache, "c");
        assert_eq!(closed, [b], "b was used least recently");
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.plan("a"), Plan::Cached(a));
    }

    #[test]
    fn an_unparsed_statement_is_not_cached_and_a_forgotten_one_is_prepared_again() {
        let mut cache = StatementCache::new(2);
        assert!(matches!(cache.plan("broken"), Plan::Prepare(_)));
        // Not kept (a syntax error, or not JSON): the next attempt parses again.
        let Plan::Prepare(parsed) = cache.plan("broken") else { panic!("a Parse") };
        cache.discard(parsed.clone());
        assert_eq!(cache.take_to_close(), [parsed], "a statement the server parsed but the cache dropped is closed");
        let (ok, _) = prepare(&mut cache, "ok");
        assert!(cache.forget("ok"));
        assert!(!cache.forget("ok"));
        assert_eq!(cache.take_to_close(), [ok]);
        assert!(matches!(cache.plan("ok"), Plan::Prepare(_)));
    }

    #[test]
    fn capacity_zero_is_the_unnamed_statement_and_sessions_differ_in_prefix() {
        assert_eq!(StatementCache::new(0).plan("SELECT 1"), Plan::Unnamed);
        let (mut a, mut b) = (StatementCache::new(1), StatementCache::new(1));
        assert_ne!(a.plan("x").name(), b.plan("x").name());
    }
}
