//! Test certificates, generated with `rcgen` when first asked for: two certificate authorities, server
//! certificates (for `localhost` only, expired, Ed25519) and client certificates (valid, from the other CA,
//! expired, with a PKCS#1 RSA key).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ED25519, date_time_ymd,
};

use std::sync::Arc;
use std::sync::atomic::AtomicI32;

use crate::{WHO, cleanup, os};

/// A certificate and its private key, as PEM files.
#[derive(Clone, Debug)]
pub struct CertFiles {
    /// The certificate.
    pub cert: PathBuf,
    /// The private key (mode 0600).
    pub key: PathBuf,
}

/// Every certificate the TLS tests use, written once per test process into a temporary directory.
#[derive(Debug)]
pub struct TestCerts {
    /// The CA that signed the servers' and the valid clients' certificates.
    pub ca: PathBuf,
    /// A second CA, which signed nothing the servers trust: "the wrong CA".
    pub other_ca: PathBuf,
    /// A server certificate for `localhost` only (no IP address), ECDSA P-256 with SHA-256.
    pub server: CertFiles,
    /// A server certificate for `localhost` that expired in 2021.
    pub server_expired: CertFiles,
    /// A self-signed server certificate for `localhost` with an Ed25519 key: its signature has no
    /// channel-binding hash.
    pub server_ed25519: CertFiles,
    /// A client certificate for the role `cert_user`.
    pub client: CertFiles,
    /// A client certificate for `cert_user` signed by [`other_ca`](Self::other_ca).
    pub client_other_ca: CertFiles,
    /// An expired client certificate for `cert_user`.
    pub client_expired: CertFiles,
    /// A client certificate for `cert_user` whose key file is PKCS#1 (`BEGIN RSA PRIVATE KEY`), made with the
    /// `openssl` command since `rcgen` cannot generate RSA keys.
    pub client_pkcs1: CertFiles,
    dir: PathBuf,
}

/// The role client certificates name (their common name).
pub const CERT_USER: &str = "cert_user";

impl TestCerts {
    /// The certificates of this test process.
    ///
    /// # Panics
    ///
    /// If they cannot be generated or written; the message says why.
    pub fn get() -> &'static TestCerts {
        static CERTS: OnceLock<TestCerts> = OnceLock::new();
        CERTS.get_or_init(|| TestCerts::generate().unwrap_or_else(|e| panic!("{WHO}: {e}")))
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn generate() -> Result<TestCerts, String> {
        let base = os::temp_base();
        cleanup::remove_stale_dirs(&base);
        let dir =
            os::make_temp_dir(&base).map_err(|e| format!("could not create a directory in {}: {e}", base.display()))?;
        fs::write(dir.join(cleanup::OWNER_FILE), format!("{}\n", std::process::id()))
            .map_err(|e| format!("could not write in {}: {e}", dir.display()))?;
        // Removed when the process exits, like the clusters' directories.
        cleanup::register(Arc::new(AtomicI32::new(0)), dir.clone());
        let writer = Writer { dir: dir.clone() };
        let (ca_cert, ca_key) = ca("fraiseql-wire test CA")?;
        let (other_ca_cert, other_ca_key) = ca("fraiseql-wire other CA")?;
        let ca = writer.file("ca.crt", &ca_cert.pem())?;
        let other_ca = writer.file("other-ca.crt", &other_ca_cert.pem())?;

        let server_key = KeyPair::generate().map_err(rcgen_error)?;
        let server = leaf(Leaf::Server, &server_key, &ca_cert, &ca_key, true)?;
        let expired_key = KeyPair::generate().map_err(rcgen_error)?;
        let expired = leaf(Leaf::Server, &expired_key, &ca_cert, &ca_key, false)?;
        // The signature is what channel binding looks at, so the issuer must sign with Ed25519 too: the server
        // certificate is self-signed.
        let ed_key = KeyPair::generate_for(&PKCS_ED25519).map_err(rcgen_error)?;
        let ed = leaf_params(Leaf::Server, true)?.self_signed(&ed_key).map_err(rcgen_error)?;
        let client_key = KeyPair::generate().map_err(rcgen_error)?;
        let client = leaf(Leaf::Client, &client_key, &ca_cert, &ca_key, true)?;
        let other_client_key = KeyPair::generate().map_err(rcgen_error)?;
        let other_client = leaf(Leaf::Client, &other_client_key, &other_ca_cert, &other_ca_key, true)?;
        let expired_client_key = KeyPair::generate().map_err(rcgen_error)?;
        let expired_client = leaf(Leaf::Client, &expired_client_key, &ca_cert, &ca_key, false)?;

        let client_pkcs1 = writer.rsa_client(&ca_cert, &ca_key)?;
        let server_ed25519 = writer.pair("server-ed25519", &ed, &ed_key)?;
        writer.ed25519_key_for_openssl(&ed_key, &server_ed25519.key)?;
        Ok(TestCerts {
            ca,
            other_ca,
            server: writer.pair("server", &server, &server_key)?,
            server_expired: writer.pair("server-expired", &expired, &expired_key)?,
            server_ed25519,
            client: writer.pair("client", &client, &client_key)?,
            client_other_ca: writer.pair("client-other-ca", &other_client, &other_client_key)?,
            client_expired: writer.pair("client-expired", &expired_client, &expired_client_key)?,
            client_pkcs1,
            dir,
        })
    }
}

fn rcgen_error(e: rcgen::Error) -> String {
    format!("generating a test certificate failed: {e}")
}

fn ca(name: &str) -> Result<(Certificate, KeyPair), String> {
    let key = KeyPair::generate().map_err(rcgen_error)?;
    let mut params = CertificateParams::new(Vec::new()).map_err(rcgen_error)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let cert = params.self_signed(&key).map_err(rcgen_error)?;
    Ok((cert, key))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Leaf {
    Server,
    Client,
}

fn leaf_params(kind: Leaf, valid: bool) -> Result<CertificateParams, String> {
    let names = if kind == Leaf::Server { vec!["localhost".to_owned()] } else { Vec::new() };
    let mut params = CertificateParams::new(names).map_err(rcgen_error)?;
    let common_name = if kind == Leaf::Server { "localhost" } else { CERT_USER };
    params.distinguished_name.push(DnType::CommonName, common_name);
    params.extended_key_usages = vec![if kind == Leaf::Server {
        ExtendedKeyUsagePurpose::ServerAuth
    } else {
        ExtendedKeyUsagePurpose::ClientAuth
    }];
    if !valid {
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2021, 1, 1);
    }
    Ok(params)
}

fn leaf(kind: Leaf, key: &KeyPair, ca: &Certificate, ca_key: &KeyPair, valid: bool) -> Result<Certificate, String> {
    leaf_params(kind, valid)?.signed_by(key, ca, ca_key).map_err(rcgen_error)
}

struct Writer {
    dir: PathBuf,
}

impl Writer {
    fn file(&self, name: &str, contents: &str) -> Result<PathBuf, String> {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.join(name);
        fs::write(&path, contents).map_err(|e| format!("could not write {}: {e}", path.display()))?;
        // Private keys must be readable by their owner only, or libpq and fraiseql-wire refuse them.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("could not chmod {}: {e}", path.display()))?;
        Ok(path)
    }

    fn pair(&self, name: &str, cert: &Certificate, key: &KeyPair) -> Result<CertFiles, String> {
        Ok(CertFiles {
            cert: self.file(&format!("{name}.crt"), &cert.pem())?,
            key: self.file(&format!("{name}.key"), &key.serialize_pem())?,
        })
    }

    /// rcgen (through ring) writes Ed25519 keys as PKCS#8 version 2, which OpenSSL 3, and so PostgreSQL, cannot
    /// read: write the same seed as version 1 and let `openssl` make the PEM file.
    fn ed25519_key_for_openssl(&self, key: &KeyPair, path: &Path) -> Result<(), String> {
        // Version 2: SEQUENCE, version 1, the Ed25519 algorithm, OCTET STRING { OCTET STRING seed }, public key.
        const PREFIX_V1: [u8; 16] =
            [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
        let der = key.serialize_der();
        let seed = der.get(16..48).ok_or("unexpected Ed25519 key encoding from rcgen")?;
        let mut v1 = PREFIX_V1.to_vec();
        v1.extend_from_slice(seed);
        let der_path = self.dir.join("server-ed25519.der");
        fs::write(&der_path, v1).map_err(|e| format!("could not write {}: {e}", der_path.display()))?;
        openssl(&["pkey", "-inform", "DER", "-in", &der_path.to_string_lossy(), "-out"], path)
    }

    /// A client certificate with an RSA key stored as PKCS#1.
    fn rsa_client(&self, ca: &Certificate, ca_key: &KeyPair) -> Result<CertFiles, String> {
        let pkcs8 = self.dir.join("client-rsa.pk8");
        let pkcs1 = self.dir.join("client-pkcs1.key");
        openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"], &pkcs8)?;
        openssl(&["pkey", "-traditional", "-in", &pkcs8.to_string_lossy(), "-out"], &pkcs1)?;
        let pem = fs::read_to_string(&pkcs8).map_err(|e| format!("could not read {}: {e}", pkcs8.display()))?;
        let key = KeyPair::from_pem(&pem).map_err(rcgen_error)?;
        let cert = leaf(Leaf::Client, &key, ca, ca_key, true)?;
        let key_text = fs::read_to_string(&pkcs1).map_err(|e| format!("could not read {}: {e}", pkcs1.display()))?;
        if !key_text.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
            return Err(format!("`openssl pkey -traditional` did not write a PKCS#1 key to {}", pkcs1.display()));
        }
        Ok(CertFiles {
            cert: self.file("client-pkcs1.crt", &cert.pem())?,
            key: self.file("client-pkcs1.key", &key_text)?,
        })
    }
}

fn openssl(args: &[&str], out: &Path) -> Result<(), String> {
    let output = Command::new("openssl").args(args).arg(out).output().map_err(|e| {
        format!(
            "could not run the `openssl` command ({e}), which makes the RSA key of the PKCS#1 test (rcgen cannot): \
             install it (`apt-get install openssl`)"
        )
    })?;
    if !output.status.success() {
        return Err(format!("`openssl {}` failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr)));
    }
    Ok(())
}
