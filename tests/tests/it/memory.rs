//! Resident memory after one row far larger than the rest: the connection must not keep that row's buffer for
//! the rest of its life.
//!
//! Resident memory belongs to the whole process, and the suite's other tests allocate in parallel, so the
//! measurement runs in a process of its own: the test re-runs its own binary on itself alone.

use bytes::Bytes;
use futures_util::TryStreamExt;
use serde_json::Value;

use crate::common::{CHILD_URL, assert_usable, connect, create_small_view, database, run_alone_in_child};
use fraiseql_wire_tests::AuthUser;

/// The big row's text: far above the read buffer's usual size and above anything the allocator keeps around.
const BIG: usize = 100_000_000;

/// How far above its baseline resident memory may end (a quarter of the big row).
const SLACK: usize = BIG / 4;

#[test]
fn a_big_row_does_not_stay_resident() {
    match std::env::var(CHILD_URL) {
        Ok(url) => measure(&url),
        Err(_) => run_in_child(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

fn run_in_child() {
    let runtime = runtime();
    let db = runtime.block_on(async {
        let db = database().await;
        db.execute(&format!("CREATE VIEW v_big AS SELECT jsonb_build_object('s', repeat('x', {BIG})) AS data")).await;
        create_small_view(&db).await;
        db
    });
    run_alone_in_child("memory::a_big_row_does_not_stay_resident", &db.url(AuthUser::Trust));
    drop(db);
}

fn measure(url: &str) {
    runtime().block_on(async {
        let client = connect(url).await;
        for _ in 0..3 {
            assert_usable(&client).await;
        }
        let baseline = resident_bytes();

        let raw: Vec<Bytes> = client.query("v_big").stream_raw().try_collect().await.expect("the big row, raw");
        assert!(raw[0].len() > BIG, "{}", raw[0].len());
        drop(raw);
        let value: Value = client.query("v_big").fetch_one().await.expect("the big row, parsed");
        assert_eq!(value["s"].as_str().map(str::len), Some(BIG));
        drop(value);
        for _ in 0..3 {
            assert_usable(&client).await;
        }

        let after = resident_bytes();
        println!("figure: resident {} MiB before the big row, {} MiB after it", baseline >> 20, after >> 20);
        assert!(
            after < baseline + SLACK,
            "{} MiB resident after a {} MB row and small queries, {} MiB before: the row's buffer stayed",
            after >> 20,
            BIG / 1_000_000,
            baseline >> 20
        );
    });
}

/// `VmRSS` of this process.
fn resident_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("a VmRSS line");
    let kib: usize = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmRSS in kB");
    kib * 1024
}
