//! TLS: `sslmode=verify-full` with a private CA (`sslrootcert`) against a server with `ssl = on`; the server's
//! own view (`pg_stat_ssl`) shows the session encrypted, and the same server reached with roots that do not hold
//! its CA is refused before any password is sent. It starts its own throwaway cluster with TLS and a test CA; to
//! try your own server, add `sslmode=verify-full&sslrootcert=/path/to/ca.pem` to the `DATABASE_URL` of any other
//! example.
//!
//! ```sh
//! cargo run -p examples --example tls
//! ```

use fraiseql_wire::{Client, ErrorKind};
use fraiseql_wire_tests::{AuthUser, ClusterOptions, ServerTls, TestCerts, TestCluster};
use serde::Deserialize;

const SETUP_SQL: &str = "CREATE OR REPLACE VIEW v_my_ssl AS SELECT jsonb_build_object('ssl', ssl, 'version', version, \
                         'cipher', cipher) AS data FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

#[derive(Debug, Deserialize)]
struct Ssl {
    ssl: bool,
    version: Option<String>,
    cipher: Option<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("starting a throwaway PostgreSQL cluster with TLS…");
    let certs = TestCerts::get();
    let options = ClusterOptions {
        tls: Some(ServerTls { cert: certs.server.clone(), client_ca: None }),
        ..ClusterOptions::default()
    };
    let cluster = TestCluster::start_with(options);
    examples::run_sql(&cluster.url(AuthUser::Superuser, "postgres"), SETUP_SQL).await?;

    let user = AuthUser::Scram;
    // The server's certificate names `localhost`: verify-full checks the chain and the name.
    let url = |roots: &str| {
        format!(
            "host=localhost port={} user={} password={} dbname=postgres sslmode=verify-full sslrootcert={roots}",
            cluster.port(),
            user.name(),
            user.password().unwrap_or_default()
        )
    };
    let client = Client::connect(&url(&certs.ca.display().to_string())).await?;
    let ssl: Ssl = client.query_as("v_my_ssl").fetch_one().await?;
    println!("the server sees: ssl {}, {:?}, {:?}", ssl.ssl, ssl.version, ssl.cipher);
    assert!(ssl.ssl);

    // The platform's roots do not hold the test CA: refused, kind `tls`, nothing sent.
    let error = Client::connect(&url("system")).await.err().ok_or("a private CA was trusted")?;
    println!("with the system's roots instead ({:?}): {error}", error.kind());
    assert_eq!(error.kind(), ErrorKind::Tls);
    Ok(())
}
