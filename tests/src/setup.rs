//! Creating a cluster: a private root directory, `initdb`, the configuration, the first start and the test roles.

use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use tokio_postgres::NoTls;

use crate::binaries::{self, Binaries};
use crate::conninfo::Endpoint;
use crate::server::{self, LaunchError, ServerSpec};
use crate::{AuthUser, ClusterOptions, PgServer, ServerTls, TestCluster, WHO, cleanup, connect, describe, os};

/// A port of 127.0.0.1 that was free a moment ago (the caller retries if someone takes it first).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| {
            panic!(
                "{WHO}: could not bind 127.0.0.1:0 to pick a free port: {e}. The tests need a \
                 working loopback interface."
            )
        })
}

/// Quotes a value for postgresql.conf.
pub(crate) fn conf_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

fn pg_hba() -> String {
    let mut out = String::from(
        "# Written by fraiseql-wire-tests. One role per authentication method.\n\
         # TYPE  DATABASE  USER  ADDRESS  METHOD\n",
    );
    for user in AuthUser::ALL {
        let (name, method) = (user.name(), user.hba_method());
        out.push_str(&format!("local all {name} {method}\n"));
        out.push_str(&format!("host all {name} 127.0.0.1/32 {method}\n"));
        out.push_str(&format!("host all {name} ::1/128 {method}\n"));
    }
    out
}

/// Role setup, run once per cluster as the superuser in database `postgres`.
fn roles_sql(server_version_num: i32) -> String {
    let mut sql = String::from("CREATE ROLE readers NOLOGIN;\n");
    if server_version_num >= 140_000 {
        sql.push_str("GRANT pg_read_all_data TO readers;\n");
    }
    for user in AuthUser::ALL {
        if user == AuthUser::Superuser {
            continue;
        }
        // Store each password the way its method expects it: md5 needs an MD5 hash (a SCRAM
        // verifier would make the server run SCRAM instead), everything else gets SCRAM.
        let encryption = if user == AuthUser::Md5 { "md5" } else { "scram-sha-256" };
        sql.push_str(&format!("SET password_encryption = '{encryption}';\n"));
        sql.push_str(&format!("CREATE ROLE {} LOGIN", user.name()));
        if let Some(password) = user.password() {
            sql.push_str(&format!(" PASSWORD '{password}'"));
        }
        sql.push_str(" IN ROLE readers;\n");
    }
    sql.push_str("RESET password_encryption;\n");
    sql
}

/// Run once per cluster in `template1`, so every new database inherits it (this also covers
/// PostgreSQL 13, which has no `pg_read_all_data`).
const TEMPLATE_SQL: &str = "\
GRANT USAGE ON SCHEMA public TO readers;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT SELECT ON TABLES TO readers;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT SELECT, USAGE ON SEQUENCES TO readers;
";

/// A fresh private directory under the temporary base (removing the ones left by dead test processes first).
pub(crate) fn new_root_dir() -> PathBuf {
    let base = os::temp_base();
    cleanup::remove_stale_dirs(&base);
    os::make_temp_dir(&base).unwrap_or_else(|e| {
        panic!(
            "{WHO}: could not create a temporary directory under {}: {e}. Make sure it exists and is writable.",
            base.display()
        )
    })
}

impl TestCluster {
    /// initdb + configuration + first start + role setup. On panic, `Drop` cleans up.
    pub(crate) fn create(options: &ClusterOptions) -> TestCluster {
        let bins = match options.server {
            PgServer::System => binaries::locate(),
            PgServer::Pg15 => binaries::locate_pg15(),
            PgServer::Pg18 => binaries::locate_pg18(),
        }
        .unwrap_or_else(|e| panic!("{WHO}: {e}"));
        let mut cluster = TestCluster::empty(bins);
        // From here on, a panic drops `cluster`, which stops the server and removes its root directory.
        cluster.prepare_dirs();
        cluster.initdb();
        cluster.write_config(options);
        cluster.first_start();
        cluster.setup_roles(&options.sql.join(";\n"));
        cluster
    }

    /// A cluster with a fresh root directory, registered for cleanup, and nothing in it yet (no server, port 0).
    pub(crate) fn empty(bins: Binaries) -> TestCluster {
        let root = new_root_dir();
        let postmaster_pid = Arc::new(AtomicI32::new(0));
        let registry_id = cleanup::register(Arc::clone(&postmaster_pid), root.clone());
        TestCluster {
            spec: ServerSpec {
                bin_dir: bins.dir,
                data_dir: root.join("data"),
                log_path: root.join("postgres.log"),
                root_dir: root.clone(),
                run_as: os::server_identity(),
                lib_dir: bins.lib_dir,
            },
            endpoint: Endpoint { host: "127.0.0.1".to_owned(), port: 0, socket_dir: root.join("sock") },
            version: bins.version,
            server: Mutex::new(None),
            postmaster_pid,
            registry_id,
        }
    }

    pub(crate) fn prepare_dirs(&self) {
        let root = &self.spec.root_dir;
        let fail = |what: &str, e: std::io::Error| -> ! {
            panic!(
                "{WHO}: {what} in {}: {e}. Make sure the temporary directory is writable{}.",
                root.display(),
                if self.spec.run_as.is_some() {
                    " and that root may chown files there (the server runs as `nobody`)"
                } else {
                    ""
                }
            )
        };
        let owner = root.join(cleanup::OWNER_FILE);
        if let Err(e) = fs::write(&owner, format!("{}\n", std::process::id())) {
            fail("could not write owner.pid", e);
        }
        if let Err(e) = fs::create_dir(&self.endpoint.socket_dir) {
            fail("could not create the socket directory", e);
        }
        if let Some(who) = self.spec.run_as {
            for dir in [root, &self.endpoint.socket_dir] {
                if let Err(e) = os::chown(dir, who) {
                    fail(&format!("could not chown {} to uid {}", dir.display(), who.uid), e);
                }
            }
        }
    }

    fn initdb(&self) {
        let initdb = self.spec.bin_dir.join("initdb");
        let mut cmd = Command::new(&initdb);
        cmd.arg("-D").arg(&self.spec.data_dir).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        os::prepare(&mut cmd, self.spec.run_as, &self.spec.root_dir);
        if let Some(lib) = &self.spec.lib_dir {
            cmd.env("LD_LIBRARY_PATH", lib);
        }
        let output = cmd.output().unwrap_or_else(|e| {
            panic!(
                "{WHO}: could not run {}: {e}. Check that the file is executable{}.",
                initdb.display(),
                self.nobody_hint()
            )
        });
        if !output.status.success() {
            panic!(
                "{WHO}: `{} -D {}` failed ({}). Fix the problem it reports{}.\n--- stdout ---\n\
                 {}\n--- stderr ---\n{}",
                initdb.display(),
                self.spec.data_dir.display(),
                output.status,
                self.nobody_hint(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    pub(crate) fn nobody_hint(&self) -> &'static str {
        if self.spec.run_as.is_some() {
            " (running as root, the harness runs the server as `nobody`, which must be able \
             to read and execute the binaries and their libraries)"
        } else {
            ""
        }
    }

    fn write_config(&self, options: &ClusterOptions) {
        let data = &self.spec.data_dir;
        let mut settings = format!(
            "\n# --- fraiseql-wire-tests ---\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = {}\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n\
             max_connections = 200\n\
             shared_buffers = 128MB\n\
             logging_collector = off\n\
             log_min_messages = warning\n\
             lc_messages = 'C'\n\
             include = '{}'\n",
            conf_quote(&self.endpoint.socket_dir.to_string_lossy()),
            server::PORT_CONF
        );
        for line in &options.settings {
            settings.push_str(line);
            settings.push('\n');
        }
        if let Some(tls) = &options.tls {
            settings.push_str(&self.install_tls(tls));
        }
        let conf = data.join("postgresql.conf");
        let appended =
            fs::OpenOptions::new().append(true).open(&conf).and_then(|mut f| f.write_all(settings.as_bytes()));
        if let Err(e) = appended {
            panic!(
                "{WHO}: could not append settings to {}: {e}. initdb should have created it; \
                 check the directory's permissions.",
                conf.display()
            );
        }
        let hba = data.join("pg_hba.conf");
        let mut lines = String::new();
        for line in &options.hba {
            lines.push_str(line);
            lines.push('\n');
        }
        if let Err(e) = fs::write(&hba, lines + &pg_hba()) {
            panic!("{WHO}: could not write {}: {e}. Check the directory's permissions.", hba.display());
        }
    }

    /// Copies the server's certificate files into the data directory (the key readable by the server only) and
    /// returns the settings that turn TLS on.
    fn install_tls(&self, tls: &ServerTls) -> String {
        use std::os::unix::fs::PermissionsExt;
        let data = &self.spec.data_dir;
        let mut copies = vec![(&tls.cert.cert, "server.crt"), (&tls.cert.key, "server.key")];
        if let Some(ca) = &tls.client_ca {
            copies.push((ca, "root.crt"));
        }
        for (from, name) in copies {
            let to = data.join(name);
            let copied = fs::copy(from, &to)
                .and_then(|_| fs::set_permissions(&to, fs::Permissions::from_mode(0o600)))
                .and_then(|()| self.spec.run_as.map_or(Ok(()), |who| os::chown(&to, who)));
            if let Err(e) = copied {
                panic!("{WHO}: could not install {} as {}: {e}", from.display(), to.display());
            }
        }
        let mut settings = String::from("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        if tls.client_ca.is_some() {
            settings.push_str("ssl_ca_file = 'root.crt'\n");
        }
        settings
    }

    pub(crate) fn first_start(&mut self) {
        const ATTEMPTS: usize = 10;
        let mut last = String::new();
        for _ in 0..ATTEMPTS {
            let port = free_port();
            match self.spec.launch(port) {
                Ok(running) => {
                    self.endpoint.port = port;
                    self.postmaster_pid.store(running.pid(), Ordering::SeqCst);
                    *self.lock_server() = Some(running);
                    return;
                }
                // Someone else took the port between our probe and the server's bind.
                Err(LaunchError::Retryable(message)) => last = message,
                Err(LaunchError::Fatal(message)) => panic!(
                    "{WHO}: could not start PostgreSQL ({}) from {} with data directory {}: \
                     {message}\nHow to fix: read the server log above{}; to use other \
                     binaries set FRAISEQL_PG_BIN=/path/to/bin.",
                    self.version,
                    self.spec.bin_dir.display(),
                    self.spec.data_dir.display(),
                    self.nobody_hint()
                ),
            }
        }
        panic!(
            "{WHO}: could not start PostgreSQL on a free port of 127.0.0.1 after {ATTEMPTS} \
             attempts (every port was taken before the server could bind it). Last attempt: \
             {last}"
        );
    }

    /// Creates the test roles, run through tokio-postgres on a private runtime in its own
    /// thread (so that `start()` also works when called from inside an async test).
    fn setup_roles(&self, extra_sql: &str) {
        let endpoint = self.endpoint.clone();
        let extra_sql = extra_sql.to_owned();
        let result = thread::Builder::new()
            .name("fraiseql-pg-setup".into())
            .spawn(move || -> Result<(), String> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("could not build a tokio runtime: {e}"))?;
                runtime.block_on(async move {
                    let conninfo = endpoint.tcp_conninfo(AuthUser::Superuser, "postgres");
                    let client = connect(&conninfo)
                        .await
                        .map_err(|e| format!("could not connect with `{conninfo}`: {}", describe(&e)))?;
                    let version: i32 = client
                        .query_one("SELECT current_setting('server_version_num')::int", &[])
                        .await
                        .and_then(|row| row.try_get(0))
                        .map_err(|e| format!("could not read server_version_num: {}", describe(&e)))?;
                    let sql = roles_sql(version) + &extra_sql;
                    client.batch_execute(&sql).await.map_err(|e| format!("{}\n--- SQL ---\n{sql}", describe(&e)))?;

                    let conninfo = endpoint.tcp_conninfo(AuthUser::Superuser, "template1");
                    let (template, connection) = tokio_postgres::connect(&conninfo, NoTls)
                        .await
                        .map_err(|e| format!("could not connect with `{conninfo}`: {}", describe(&e)))?;
                    let connection = tokio::spawn(connection);
                    template
                        .batch_execute(TEMPLATE_SQL)
                        .await
                        .map_err(|e| format!("{}\n--- SQL ---\n{TEMPLATE_SQL}", describe(&e)))?;
                    // Leave template1 before anyone runs CREATE DATABASE from it.
                    drop(template);
                    let _ = connection.await;
                    Ok(())
                })
            })
            .unwrap_or_else(|e| panic!("{WHO}: could not spawn the setup thread: {e}"))
            .join()
            .unwrap_or_else(|payload| std::panic::resume_unwind(payload));
        if let Err(message) = result {
            panic!(
                "{WHO}: setting up the test roles failed: {message}\nServer log {}:\n{}",
                self.spec.log_path.display(),
                server::log_tail(&self.spec)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hba_has_local_and_host_lines_for_every_role() {
        let hba = pg_hba();
        for user in AuthUser::ALL {
            assert!(hba.contains(&format!("local all {} {}\n", user.name(), user.hba_method())));
            assert!(hba.contains(&format!("host all {} 127.0.0.1/32 {}\n", user.name(), user.hba_method())));
        }
    }

    #[test]
    fn md5_password_is_created_with_md5_encryption() {
        let sql = roles_sql(150_000);
        let md5 = sql.find("CREATE ROLE md5_user").unwrap();
        let set = sql[..md5].rfind("SET password_encryption").unwrap();
        assert!(sql[set..md5].contains("'md5'"));
        assert!(sql.contains("pg_read_all_data"));
        assert!(!roles_sql(130_000).contains("pg_read_all_data"));
    }
}
