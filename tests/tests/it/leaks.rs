//! No file descriptor or task outlives what it served: a thousand failed connections, failed queries and
//! abandoned streams leave the process with the descriptors and tasks it had before.
//!
//! Descriptors and tasks belong to the whole process, so the measurement runs alone in a child process.

use std::net::TcpListener;

use fraiseql_wire::{Client, ErrorKind};
use fraiseql_wire_tests::AuthUser;
use futures_util::StreamExt;

use crate::common::{
    CHILD_URL, assert_usable, connect, create_endless_view, create_small_view, database, run_alone_in_child,
};

const ROUNDS: usize = 1000;

#[test]
fn failures_and_abandoned_streams_leak_no_descriptor_or_task() {
    match std::env::var(CHILD_URL) {
        Ok(url) => measure(&url),
        Err(_) => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            let db = runtime.block_on(async {
                let db = database().await;
                create_small_view(&db).await;
                create_endless_view(&db, 0).await;
                db
            });
            run_alone_in_child(
                "leaks::failures_and_abandoned_streams_leak_no_descriptor_or_task",
                &db.url(AuthUser::Md5),
            );
            drop(db);
        }
    }
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|dir| dir.count()).expect("/proc/self/fd")
}

fn measure(url: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let client = connect(url).await;
        assert_usable(&client).await;
        // Nothing listens on this port once the listener is dropped: connections are refused.
        let closed_port = TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()).expect("a port").port();
        let wrong_password = url.replacen("md5_secret", "wrong", 1);
        assert_ne!(wrong_password, url, "the URL carries md5_user's password");
        let tasks = || tokio::runtime::Handle::current().metrics().num_alive_tasks();
        let (fds_before, tasks_before) = (open_descriptors(), tasks());

        for round in 0..ROUNDS {
            let refused = Client::connect(&format!("postgresql://u@127.0.0.1:{closed_port}/d?sslmode=disable")).await;
            assert_eq!(refused.err().map(|e| e.kind()), Some(ErrorKind::Connect), "round {round}");
            let rejected = Client::connect(&wrong_password).await;
            assert_eq!(rejected.err().and_then(|e| e.code().map(str::to_owned)).as_deref(), Some("28P01"));
            let missing = client.query("v_missing").fetch_all().await;
            assert_eq!(missing.err().and_then(|e| e.code().map(str::to_owned)).as_deref(), Some("42P01"));
            // An abandoned stream: cancelled and drained in the background before the next query starts.
            let mut rows = client.query("v_endless").stream();
            rows.next().await.expect("a row").expect("a good row");
            drop(rows);
        }
        assert_usable(&client).await;

        let (fds_after, tasks_after) = (open_descriptors(), tasks());
        println!(
            "figure: {ROUNDS} rounds: descriptors {fds_before} -> {fds_after}, tasks {tasks_before} -> {tasks_after}"
        );
        assert!(fds_after <= fds_before + 2, "descriptors grew from {fds_before} to {fds_after}");
        assert!(tasks_after <= tasks_before, "tasks grew from {tasks_before} to {tasks_after}");
    });
}
