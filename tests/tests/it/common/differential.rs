//! The differential tests' loop: random filters run on the server over the same documents a Rust model reads,
//! and the rows each returns must be the rows the model says are true.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::future::Future;

use fraiseql_wire::{Client, Entity, Filter};
use fraiseql_wire_tests::{AuthUser, TestCluster, TestDatabase};
use futures_util::TryStreamExt;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde_json::{Map, Value};

use super::model::{Truth, insert_documents};

/// Documents loaded into `table (id bigint, data jsonb)` behind the entity's view, and a client on them.
pub struct Differential {
    runtime: tokio::runtime::Runtime,
    client: Client,
    _db: TestDatabase,
}

impl Differential {
    /// Loads `docs` (each with its position as `id`) into a fresh table behind `E::VIEW`.
    pub fn load<E: Entity>(table: &str, docs: &[Map<String, Value>]) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
        let (db, client) = runtime.block_on(async {
            let db = TestCluster::shared().database().await;
            db.execute(&format!(
                "CREATE TABLE {table} (id bigint PRIMARY KEY, data jsonb NOT NULL); \
                 CREATE VIEW {} AS SELECT id, data FROM {table}",
                E::VIEW
            ))
            .await;
            insert_documents(&db, table, docs).await;
            let client = Client::connect(&db.url(AuthUser::Superuser)).await.expect("connect");
            (db, client)
        });
        Differential { runtime, client, _db: db }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// For 400 filters drawn from `exprs`, the server returns exactly the documents (by position) `model` says
    /// are true (not false, not unknown). Returns how many filters selected some documents but not all, for a
    /// test to show its model is not vacuous.
    pub fn agree<E: Entity, X: Clone + Debug>(
        &self,
        count: usize,
        exprs: impl Strategy<Value = X>,
        filter: impl Fn(&X) -> Filter<E>,
        model: impl Fn(&X, usize) -> Truth,
    ) -> usize {
        let discriminating = std::cell::Cell::new(0);
        let mut runner = TestRunner::new(ProptestConfig { cases: 400, ..ProptestConfig::default() });
        runner
            .run(&exprs, |expr| {
                let expected: BTreeSet<i64> =
                    (0..count).filter(|&i| model(&expr, i) == Some(true)).map(|i| i as i64).collect();
                if !expected.is_empty() && expected.len() < count {
                    discriminating.set(discriminating.get() + 1);
                }
                let query = E::query(&self.client).filter_by(filter(&expr));
                let sql = query.to_sql().map(|s| format!("{} {:?}", s.sql, s.params)).unwrap_or_default();
                let actual: BTreeSet<i64> = self
                    .block_on(query.stream_raw().try_collect::<Vec<_>>())
                    .map_err(|e| TestCaseError::fail(format!("query failed: {e}\nSQL: {sql}")))?
                    .iter()
                    .filter_map(|raw| serde_json::from_slice::<Value>(raw).ok().and_then(|d| d["id"].as_i64()))
                    .collect();
                prop_assert_eq!(&actual, &expected, "filter {:?}\nSQL: {}", expr, sql);
                Ok(())
            })
            .expect("PostgreSQL and the Rust model disagree");
        discriminating.get()
    }
}
