//! A real primary and its streaming replica (`pg_basebackup -R`): `target_session_attrs` picks the right one, and
//! after the primary stops and the replica is promoted, a pool follows to the new primary. A stream broken by the
//! failover reports its error; it is never restarted behind the caller's back.

use std::time::{Duration, Instant};

use fraiseql_wire::{Error, Pool};
use fraiseql_wire_tests::{AuthUser, ClusterOptions, StopMode, TestCluster};
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::time::timeout;

use crate::common::{create_endless_view, create_small_view, small_rows};

const NO_HANG: Duration = Duration::from_secs(30);

/// Which server answered.
#[derive(Debug, Deserialize, PartialEq, Eq)]
struct Server {
    port: u16,
    standby: bool,
}

/// A primary with a caught-up replica, and a database on both with the views the tests read.
async fn primary_and_replica() -> (TestCluster, TestCluster, String) {
    let primary = TestCluster::start_with(ClusterOptions::primary());
    let replica = primary.start_replica();
    let db = primary.database().await;
    db.execute(
        "CREATE VIEW v_server AS SELECT jsonb_build_object('port', current_setting('port')::int, \
         'standby', pg_is_in_recovery()) AS data",
    )
    .await;
    create_small_view(&db).await;
    create_endless_view(&db, 100).await;
    primary.wait_for_replica(&replica).await;
    let name = db.name().to_owned();
    (primary, replica, name)
}

/// A key=value connection string over `clusters`, in that order.
fn conninfo(clusters: &[&TestCluster], dbname: &str, extra: &str) -> String {
    let hosts = vec!["127.0.0.1"; clusters.len()].join(",");
    let ports: Vec<String> = clusters.iter().map(|c| c.port().to_string()).collect();
    let password = AuthUser::Scram.password().expect("a password");
    format!(
        "host={hosts} port={} user=scram_user password={password} dbname={dbname} sslmode=disable {extra}",
        ports.join(",")
    )
}

async fn server_of(pool: &Pool) -> Result<Server, Error> {
    timeout(NO_HANG, pool.query_as::<Server>("v_server").fetch_one()).await.expect("the query hung")
}

#[tokio::test]
async fn each_setting_lands_on_the_server_it_names() {
    let (primary, replica, db) = primary_and_replica().await;
    let on_primary = Server { port: primary.port(), standby: false };
    let on_replica = Server { port: replica.port(), standby: true };
    let cases = [
        // The first host is the other kind each time, so the setting, not the order, decides.
        (&[&replica, &primary], "read-write", &on_primary),
        (&[&replica, &primary], "primary", &on_primary),
        (&[&primary, &replica], "read-only", &on_replica),
        (&[&primary, &replica], "standby", &on_replica),
        (&[&primary, &replica], "prefer-standby", &on_replica),
        (&[&primary, &replica], "any", &on_primary),
        (&[&replica, &primary], "any", &on_replica),
    ];
    for (clusters, attrs, expected) in cases {
        let config = conninfo(clusters, &db, &format!("target_session_attrs={attrs}")).parse().expect("conninfo");
        let pool = Pool::builder(config).max_size(1).build().expect("pool");
        assert_eq!(&server_of(&pool).await.unwrap_or_else(|e| panic!("{attrs}: {e}")), expected, "{attrs}");
    }
    // The replica alone: prefer-standby takes it, read-write finds nothing and says what it found.
    let alone = conninfo(&[&replica], &db, "target_session_attrs=read-write").parse().expect("conninfo");
    let error = server_of(&Pool::builder(alone).build().expect("pool")).await.unwrap_err();
    assert!(error.to_string().contains("(standby)"), "{error}");
}

/// The failover, step by step: a stream on the primary breaks with a retriable error after some rows (and ends);
/// while no primary exists a read-write query fails with a retriable `NoSuitableHost`; once the replica is
/// promoted, the same pool's next query lands on it within the connect timeout and returns every row once.
#[tokio::test]
async fn a_pool_follows_the_promoted_replica() {
    let (primary, replica, db) = primary_and_replica().await;
    let connect_timeout = Duration::from_secs(2);
    let config = conninfo(&[&primary, &replica], &db, "target_session_attrs=read-write connect_timeout=2");
    let pool = Pool::builder(config.parse().expect("conninfo")).max_size(2).build().expect("pool");
    assert_eq!(server_of(&pool).await.expect("before"), Server { port: primary.port(), standby: false });

    let mut rows = pool.query("v_endless").stream();
    let mut read = 0u64;
    for _ in 0..10 {
        rows.next().await.expect("a row").expect("a good row");
        read += 1;
    }
    primary.stop(StopMode::Fast);
    let error = timeout(NO_HANG, async {
        loop {
            match rows.next().await {
                Some(Ok(_)) => read += 1,
                Some(Err(error)) => return error,
                None => panic!("the stream ended quietly after {read} rows: the failover was hidden"),
            }
        }
    })
    .await
    .expect("the broken stream hung");
    assert!(error.is_retriable(), "{error:?}");
    assert!(timeout(NO_HANG, rows.next()).await.expect("hung").is_none(), "the stream went on after its error");
    drop(rows);

    let error = server_of(&pool).await.unwrap_err();
    assert!(matches!(error, Error::NoSuitableHost { .. }), "{error:?}");
    assert!(error.is_retriable());

    replica.promote();
    let started = Instant::now();
    assert_eq!(server_of(&pool).await.expect("after"), Server { port: replica.port(), standby: false });
    assert!(started.elapsed() < connect_timeout, "reconnecting took {:?}", started.elapsed());
    let all = timeout(NO_HANG, pool.query("v_small").fetch_all()).await.expect("hung").expect("rows");
    assert_eq!(all, small_rows(), "a query after the failover lost or repeated rows");
}
