//! Streaming replicas of a test cluster: a base backup, a hot standby, promotion, and waiting until a replica
//! has caught up with its primary.

use std::fs::{self, File};
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use crate::binaries::Binaries;
use crate::server;
use crate::setup::conf_quote;
use crate::{TestCluster, WHO, describe, os};

/// How long `pg_basebackup` may take (the clusters are small: a second or two is usual).
const BASE_BACKUP_TIMEOUT: Duration = Duration::from_secs(120);

/// How long `promote` waits for the end of recovery.
const PROMOTE_TIMEOUT_SECS: u32 = 60;

/// How long `wait_for_replica` waits for a replica to replay the primary's WAL.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(60);

/// The `pg_basebackup` output, next to the replica's server log.
const BASE_BACKUP_LOG: &str = "pg_basebackup.log";

impl TestCluster {
    /// A hot standby of this cluster, streaming its WAL: a cluster of its own (own root directory, port and
    /// Unix socket directory), made with `pg_basebackup -R -X stream` and started; stopped and removed on Drop.
    ///
    /// It has the primary's roles, databases and settings, and accepts read-only connections: create databases
    /// and objects on the primary, call [`wait_for_replica`](Self::wait_for_replica), then read through
    /// `replica.url(user, dbname)`. ([`database`](Self::database) cannot work on a replica, which is read-only.)
    /// [`stop`](Self::stop), [`kill`](Self::kill), [`restart`](Self::restart) and [`promote`](Self::promote) work
    /// on it as on any cluster.
    ///
    /// # Panics
    ///
    /// If this cluster is not running or was not started with
    /// [`ClusterOptions::primary`](crate::ClusterOptions::primary) (replication connections are refused), if
    /// `pg_basebackup` is missing or fails, or if the replica does not start; the message includes the relevant log.
    pub fn start_replica(&self) -> TestCluster {
        if self.postmaster_pid.load(Ordering::SeqCst) == 0 {
            panic!(
                "{WHO}: start_replica needs a running primary, and the cluster on port {} is stopped: call \
                 restart() on it first.",
                self.port()
            );
        }
        let bins = Binaries {
            dir: self.spec.bin_dir.clone(),
            version: self.version.clone(),
            lib_dir: self.spec.lib_dir.clone(),
        };
        let mut replica = TestCluster::empty(bins);
        // From here on, a panic drops `replica`, which stops its server and removes its root directory.
        replica.prepare_dirs();
        replica.base_backup(self);
        replica.append_replica_settings();
        replica.first_start();
        replica
    }

    /// Promotes this replica to a primary (`pg_ctl promote -w`) and returns once it accepts writes:
    /// `pg_is_in_recovery()` is then false and `in_hot_standby` is off.
    ///
    /// The old primary is not told: stop it first (or let it run on as a second, diverging primary).
    ///
    /// # Panics
    ///
    /// If this cluster is not a running replica, or recovery does not end within 60 s; the message includes the
    /// server log.
    pub fn promote(&self) {
        if self.postmaster_pid.load(Ordering::SeqCst) == 0 {
            panic!("{WHO}: promote() needs a running replica, and the cluster on port {} is stopped.", self.port());
        }
        let pg_ctl = self.spec.bin_dir.join("pg_ctl");
        let mut cmd = Command::new(&pg_ctl);
        cmd.arg("promote").arg("-D").arg(&self.spec.data_dir).args(["-w", "-t", &PROMOTE_TIMEOUT_SECS.to_string()]);
        os::prepare(&mut cmd, self.spec.run_as, &self.spec.root_dir);
        if let Some(lib) = &self.spec.lib_dir {
            cmd.env("LD_LIBRARY_PATH", lib);
        }
        let output = cmd.output().unwrap_or_else(|e| {
            panic!(
                "{WHO}: could not run {}: {e}. It comes with the server binaries; check that it exists and is \
                 executable{}.",
                pg_ctl.display(),
                self.nobody_hint()
            )
        });
        if !output.status.success() {
            panic!(
                "{WHO}: `pg_ctl promote` failed ({}) for the cluster on port {}. Only a replica made by \
                 start_replica() can be promoted, once.\n--- pg_ctl ---\n{}{}\n--- server log (tail) {} ---\n{}",
                output.status,
                self.port(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
                self.spec.log_path.display(),
                server::log_tail(&self.spec)
            );
        }
    }

    /// Waits until `replica` has replayed all the WAL this cluster had written when the call began, so that what
    /// a test created here (databases, tables, rows) can be read there.
    ///
    /// This flushes the primary's WAL first: the harness runs with `synchronous_commit = off`, so the latest
    /// commits may not have reached the WAL sender yet.
    ///
    /// # Panics
    ///
    /// If either cluster cannot be reached, `replica` is not in recovery, or it has not caught up within 60 s;
    /// the message includes both server logs.
    pub async fn wait_for_replica(&self, replica: &TestCluster) {
        let primary = self.admin("postgres").await;
        // A commit of our own with synchronous_commit on flushes the WAL up to it, which includes every commit
        // before it, so the flush position is at or past everything the test wrote. (The insert position would
        // not do: it can lie past a page header that no record ends at, so replay would never reach it.) The
        // commit must have written WAL before its commit record, or it is not flushed (an xid alone, as from
        // txid_current(), is not enough): a transactional logical message is the smallest such write, at any
        // wal_level.
        let flushed = async {
            primary
                .batch_execute(
                    "SET synchronous_commit = on; \
                     SELECT pg_logical_emit_message(true, 'fraiseql-wire-tests', 'wait_for_replica')",
                )
                .await?;
            primary.query_one("SELECT pg_current_wal_flush_lsn()::text", &[]).await?.try_get::<_, String>(0)
        };
        let target = match flushed.await {
            Ok(lsn) => lsn,
            Err(e) => panic!(
                "{WHO}: could not read the WAL position of the primary on port {}: {}. wait_for_replica must be \
                 called on the primary, with the replica as its argument.",
                self.port(),
                describe(&e)
            ),
        };
        drop(primary);

        let standby = replica.admin("postgres").await;
        let check = format!(
            "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"
        );
        let deadline = Instant::now() + CATCH_UP_TIMEOUT;
        loop {
            let row = standby.query_one(check.as_str(), &[]).await.and_then(|row| {
                Ok((
                    row.try_get::<_, bool>(0)?,
                    row.try_get::<_, Option<String>>(1)?,
                    row.try_get::<_, Option<bool>>(2)?,
                ))
            });
            let replayed = match row {
                Ok((true, replayed, caught_up)) => {
                    if caught_up == Some(true) {
                        return;
                    }
                    replayed
                }
                Ok((false, ..)) => panic!(
                    "{WHO}: the cluster on port {} is not a replica (it is not in recovery): pass a cluster made by \
                     start_replica() that was not promoted.",
                    replica.port()
                ),
                Err(e) => panic!(
                    "{WHO}: could not read the replay position of the replica on port {}: {}",
                    replica.port(),
                    describe(&e)
                ),
            };
            if Instant::now() >= deadline {
                panic!(
                    "{WHO}: the replica on port {} had replayed the WAL up to {} after {CATCH_UP_TIMEOUT:?}, short \
                     of the primary's {target}. Is it streaming from this primary (port {})? Read both logs.\n\
                     --- replica log (tail) {} ---\n{}\n--- primary log (tail) {} ---\n{}",
                    replica.port(),
                    replayed.as_deref().unwrap_or("(nothing)"),
                    self.port(),
                    replica.spec.log_path.display(),
                    server::log_tail(&replica.spec),
                    self.spec.log_path.display(),
                    server::log_tail(&self.spec)
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// `pg_basebackup` from `primary` into this cluster's (not yet existing) data directory, run as the server's
    /// user, with `-R`: `standby.signal` and a `primary_conninfo` to the primary's Unix socket.
    fn base_backup(&self, primary: &TestCluster) {
        let pg_basebackup = self.spec.bin_dir.join("pg_basebackup");
        if !pg_basebackup.is_file() {
            panic!(
                "{WHO}: {} does not exist: replicas need pg_basebackup from the same PostgreSQL version as the \
                 server. Install the full server package (e.g. `apt-get install postgresql-15`, which ships it), or \
                 set FRAISEQL_PG_BIN to a bin directory that has it.",
                pg_basebackup.display()
            );
        }
        let log_path = self.spec.root_dir.join(BASE_BACKUP_LOG);
        let log = File::create(&log_path)
            .and_then(|log| Ok((log.try_clone()?, log)))
            .unwrap_or_else(|e| panic!("{WHO}: could not create {}: {e}", log_path.display()));
        let mut cmd = Command::new(&pg_basebackup);
        cmd.arg("-D")
            .arg(&self.spec.data_dir)
            .arg("-h")
            .arg(primary.socket_dir())
            .args(["-p", &primary.port().to_string(), "-U", "postgres"])
            // Stream the WAL written during the copy, write the standby configuration, don't wait for a spread
            // checkpoint nor fsync a copy that lives as long as a test, and never prompt for a password.
            .args(["-X", "stream", "-R", "--checkpoint=fast", "--no-sync", "--no-password"])
            .stdin(Stdio::null())
            .stdout(log.0)
            .stderr(log.1);
        os::prepare(&mut cmd, self.spec.run_as, &self.spec.root_dir);
        if let Some(lib) = &self.spec.lib_dir {
            cmd.env("LD_LIBRARY_PATH", lib);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "{WHO}: could not run {}: {e}. Check that it is executable{}.",
                pg_basebackup.display(),
                self.nobody_hint()
            )
        });
        let deadline = Instant::now() + BASE_BACKUP_TIMEOUT;
        let failure = loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return,
                Ok(Some(status)) => break status.to_string(),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break format!("killed after {BASE_BACKUP_TIMEOUT:?}");
                }
                Err(e) => break format!("unknown status ({e})"),
            }
        };
        panic!(
            "{WHO}: `pg_basebackup` from the cluster on port {} failed ({failure}). If it says that no pg_hba.conf \
             entry allows the replication connection, start the primary with ClusterOptions::primary() (or \
             .replication()).\n--- pg_basebackup ({}) ---\n{}\n--- primary log (tail) {} ---\n{}",
            primary.port(),
            log_path.display(),
            read_or_say(&log_path),
            primary.spec.log_path.display(),
            server::log_tail(&primary.spec)
        );
    }

    /// The copied postgresql.conf names the primary's socket directory; later lines win, so the replica's own goes
    /// at the end. (The port is written before each start, like on any cluster.)
    fn append_replica_settings(&self) {
        let conf = self.spec.data_dir.join("postgresql.conf");
        let settings = format!(
            "\n# --- fraiseql-wire-tests: replica ---\nunix_socket_directories = {}\n",
            conf_quote(&self.endpoint.socket_dir.to_string_lossy())
        );
        let appended =
            fs::OpenOptions::new().append(true).open(&conf).and_then(|mut f| f.write_all(settings.as_bytes()));
        if let Err(e) = appended {
            panic!("{WHO}: could not append the replica's settings to {}: {e}", conf.display());
        }
    }
}

fn read_or_say(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| format!("(could not read it: {e})"))
}

#[cfg(test)]
mod tests {
    use crate::{AuthUser, ClusterOptions, StopMode, TestCluster, connect, one_value};

    #[tokio::test]
    async fn a_replica_follows_its_primary_and_takes_over_when_promoted() {
        let primary = TestCluster::start_with(ClusterOptions::primary());
        let db = primary.database().await;
        db.execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)").await;
        let replica = primary.start_replica();
        // Written after the base backup: it can only arrive by streaming.
        db.execute("INSERT INTO t VALUES (3); CREATE VIEW v AS SELECT count(*) AS n FROM t").await;
        primary.wait_for_replica(&replica).await;

        let reader = connect(&replica.url(AuthUser::Scram, db.name())).await.expect("log in to the replica");
        assert_eq!(one_value(&reader, "SELECT n FROM v").await, "3");
        assert_eq!(one_value(&reader, "SELECT pg_is_in_recovery()").await, "t");
        assert_eq!(one_value(&reader, "SHOW in_hot_standby").await, "on");
        let refused = reader.simple_query("CREATE TABLE u (id int)").await.expect_err("a replica is read-only");
        assert_eq!(refused.code(), Some(&tokio_postgres::error::SqlState::READ_ONLY_SQL_TRANSACTION));
        drop(reader);

        // A replica restarts like any cluster, and comes back as a hot standby.
        replica.restart();
        db.execute("INSERT INTO t VALUES (4)").await;
        primary.wait_for_replica(&replica).await;
        let standby = replica.admin(db.name()).await;
        assert_eq!(one_value(&standby, "SELECT count(*) FROM t").await, "4");
        drop(standby);

        primary.stop(StopMode::Fast);
        replica.promote();
        let promoted = replica.admin(db.name()).await;
        assert_eq!(one_value(&promoted, "SELECT pg_is_in_recovery()").await, "f");
        assert_eq!(one_value(&promoted, "SHOW in_hot_standby").await, "off");
        promoted.batch_execute("INSERT INTO t VALUES (5)").await.expect("the promoted replica accepts writes");
        assert_eq!(one_value(&promoted, "SELECT count(*) FROM t").await, "5");
    }

    #[test]
    fn a_primary_without_replication_lines_is_refused_with_a_hint() {
        let payload = std::panic::catch_unwind(|| TestCluster::shared().start_replica())
            .expect_err("pg_basebackup needs a replication line in pg_hba.conf");
        let message = payload.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("ClusterOptions::primary()"), "{message}");
        assert!(message.contains("no pg_hba.conf entry for replication connection"), "{message}");
    }

    #[test]
    fn primary_options_allow_replication_connections() {
        let options = ClusterOptions::primary();
        assert!(options.hba.contains(&"local replication postgres trust".to_owned()));
        assert!(options.hba.contains(&"host replication postgres 127.0.0.1/32 trust".to_owned()));
        assert!(options.settings.iter().any(|s| s.starts_with("max_wal_senders")));
    }
}
