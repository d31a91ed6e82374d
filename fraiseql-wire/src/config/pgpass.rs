//! The password file (`~/.pgpass`, `PGPASSFILE`).
//!
//! Each line is `hostname:port:database:username:password`; a field that is exactly `*` matches anything, `\:`
//! and `\\` stand for a literal colon and backslash, and lines starting with `#` are comments. The first line
//! that matches wins.

use std::fs;
use std::io;
use std::path::Path;

use super::{Host, Target};

/// The password of the first line of `contents` matching this host, port, database and user.
pub(super) fn lookup(contents: &str, host: &str, port: u16, dbname: &str, user: &str) -> Option<String> {
    lookup_hosts(contents, &[host], port, dbname, user)
}

/// The password for connecting to `host`: a Unix socket directory matches an entry for `localhost` or for the
/// directory itself.
pub(super) fn lookup_host(contents: &str, host: &Host, port: u16, dbname: &str, user: &str) -> Option<String> {
    match host {
        Host::Tcp(name) => lookup(contents, name, port, dbname, user),
        Host::Unix(dir) => {
            let dir = dir.to_string_lossy();
            lookup_hosts(contents, &["localhost", &dir], port, dbname, user)
        }
    }
}

fn lookup_hosts(contents: &str, hosts: &[&str], port: u16, dbname: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    contents
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(Entry::parse)
        .find(|entry| {
            hosts.iter().any(|host| entry.host.matches(host))
                && entry.port.matches(&port)
                && entry.dbname.matches(dbname)
                && entry.user.matches(user)
        })
        .and_then(|entry| if entry.password.is_empty() { None } else { Some(entry.password) })
}

/// The password for the first of `targets` that has an entry in the password file at `path`.
///
/// A missing file gives nothing, silently; a file that is not a regular file, or that group or others may
/// access, is ignored with a warning, as libpq does.
pub(super) fn find_password(path: &Path, targets: &[Target], dbname: &str, user: &str) -> Option<String> {
    let contents = read(path)?;
    targets.iter().find_map(|target| lookup_host(&contents, &target.host, target.port, dbname, user))
}

/// Reads the password file, or gives `None` (with a warning when the file exists but cannot be used).
fn read(path: &Path) -> Option<String> {
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!("password file {} is ignored: {e}", path.display());
            return None;
        }
    };
    if !metadata.is_file() {
        tracing::warn!("password file {} is not a plain file; it is ignored", path.display());
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "password file {} has group or world access; it is ignored. Restrict it with `chmod 0600 {}`",
                path.display(),
                path.display()
            );
            return None;
        }
    }
    match fs::read(path) {
        Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) => {
            tracing::warn!("password file {} could not be read: {e}", path.display());
            None
        }
    }
}

/// One field of a password file line.
#[derive(Debug, PartialEq, Eq)]
enum Field {
    /// `*`: matches anything.
    Any,
    /// A literal value, unescaped.
    Exact(String),
}

impl Field {
    fn matches(&self, value: &str) -> bool {
        match self {
            Field::Any => true,
            Field::Exact(exact) => exact == value,
        }
    }
}

/// One usable line of the password file.
#[derive(Debug)]
struct Entry {
    host: Field,
    port: Field,
    dbname: Field,
    user: Field,
    password: String,
}

impl Entry {
    /// Splits a line into its four unescaped fields and the password; `None` for a line with fewer fields.
    fn parse(line: &str) -> Option<Entry> {
        let mut fields = Vec::with_capacity(4);
        let mut current = String::new();
        let mut escaped = false;
        let mut chars = line.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    current.push(chars.next().map_or('\\', |(_, next)| next));
                    escaped = true;
                }
                ':' => {
                    let field = if current == "*" && !escaped {
                        Field::Any
                    } else {
                        Field::Exact(std::mem::take(&mut current))
                    };
                    current.clear();
                    escaped = false;
                    fields.push(field);
                    if fields.len() == 4 {
                        let mut fields = fields.into_iter();
                        let (host, port, dbname, user) =
                            (fields.next()?, fields.next()?, fields.next()?, fields.next()?);
                        return Some(Entry { host, port, dbname, user, password: unescape(&line[i + 1..]) });
                    }
                }
                _ => current.push(c),
            }
        }
        None
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
    }
    out
}

#[cfg(test)]
pub(super) mod test_support {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory under the system temporary directory, removed on drop.
    pub(crate) struct TempDir(PathBuf);

    impl TempDir {
        pub(crate) fn new(tag: &str) -> TempDir {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let nanos =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
            let name = format!(
                "fraiseql-wire-{tag}-{}-{}-{nanos}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let dir = std::env::temp_dir().join(name);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        pub(crate) fn path(&self) -> &Path {
            &self.0
        }

        /// Writes `name` in this directory with the given permission bits and returns its path.
        pub(crate) fn write(&self, name: &str, contents: &str, mode: u32) -> PathBuf {
            let path = self.0.join(name);
            fs::write(&path, contents).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::test_support::TempDir;
    use super::*;

    const FILE: &str = "\
# comment line: host:port:db:user:password
#hidden:5432:d:u:commented
   
db.example.com:5432:shop:app:first
db.example.com:5432:shop:app:second-is-shadowed
*:5433:*:app:any-host-on-5433
other:*:*:*:anything-on-other
esc\\:aped:5432:d\\\\b:u\\*:escaped-fields
star:5432:*:\\*:literal-star-user
colon:5432:*:*:pass:with\\:colons\\\\and:raw
incomplete:5432:shop:app
localhost:5432:*:sock:via-localhost
/run/pg:5432:*:dir:via-dir
empty:5432:*:*:
";

    #[test]
    fn exact_match_and_first_line_wins() {
        assert_eq!(lookup(FILE, "db.example.com", 5432, "shop", "app").as_deref(), Some("first"));
        assert_eq!(lookup(FILE, "db.example.com", 5432, "shop", "bob"), None);
        assert_eq!(lookup(FILE, "db.example.com", 5432, "other", "app"), None);
        assert_eq!(lookup(FILE, "DB.example.com", 5432, "shop", "app"), None, "matching is case-sensitive");
    }

    #[test]
    fn wildcards() {
        assert_eq!(lookup(FILE, "anywhere", 5433, "any", "app").as_deref(), Some("any-host-on-5433"));
        assert_eq!(lookup(FILE, "anywhere", 5434, "any", "app"), None);
        assert_eq!(lookup(FILE, "other", 1, "x", "y").as_deref(), Some("anything-on-other"));
    }

    #[test]
    fn escapes() {
        assert_eq!(lookup(FILE, "esc:aped", 5432, "d\\b", "u*").as_deref(), Some("escaped-fields"));
        // `\*` is a literal star, not a wildcard.
        assert_eq!(lookup(FILE, "star", 5432, "db", "*").as_deref(), Some("literal-star-user"));
        assert_eq!(lookup(FILE, "star", 5432, "db", "someone"), None);
        // In the password, `\:` and `\\` are unescaped and a bare `:` is kept.
        assert_eq!(lookup(FILE, "colon", 5432, "db", "u").as_deref(), Some("pass:with:colons\\and:raw"));
    }

    #[test]
    fn skipped_lines() {
        assert_eq!(lookup(FILE, "incomplete", 5432, "shop", "app"), None);
        assert_eq!(lookup(FILE, "#hidden", 5432, "d", "u"), None, "comments are skipped");
        assert_eq!(lookup(FILE, "empty", 5432, "db", "u"), None, "an empty password is no password");
        assert_eq!(lookup("", "h", 5432, "d", "u"), None);
        assert_eq!(lookup("h:5432:d:u:crlf\r\n", "h", 5432, "d", "u").as_deref(), Some("crlf"));
    }

    #[test]
    fn unix_socket_hosts() {
        let default_dir = Host::Unix(PathBuf::from("/var/run/postgresql"));
        assert_eq!(lookup_host(FILE, &default_dir, 5432, "db", "sock").as_deref(), Some("via-localhost"));
        let dir = Host::Unix(PathBuf::from("/run/pg"));
        assert_eq!(lookup_host(FILE, &dir, 5432, "db", "dir").as_deref(), Some("via-dir"));
        assert_eq!(lookup_host(FILE, &dir, 5432, "db", "sock").as_deref(), Some("via-localhost"));
        let tcp = Host::Tcp("/run/pg".to_owned());
        assert_eq!(lookup_host(FILE, &tcp, 5432, "db", "sock"), None);
    }

    #[test]
    fn file_permissions() {
        let dir = TempDir::new("pgpass");
        let contents = "h:5432:d:u:secret\n";
        let private = dir.write("private", contents, 0o600);
        let shared = dir.write("shared", contents, 0o644);
        let group = dir.write("group", contents, 0o640);
        let targets = [Target { host: Host::Tcp("h".to_owned()), port: 5432, addr: None }];

        assert_eq!(find_password(&private, &targets, "d", "u").as_deref(), Some("secret"));
        assert_eq!(find_password(&shared, &targets, "d", "u"), None, "a 0644 file is ignored");
        assert_eq!(find_password(&group, &targets, "d", "u"), None, "a 0640 file is ignored");
        assert_eq!(find_password(&dir.path().join("missing"), &targets, "d", "u"), None);
        assert_eq!(find_password(dir.path(), &targets, "d", "u"), None, "a directory is ignored");
        let removed = dir.path().to_path_buf();
        drop(dir);
        assert!(!removed.exists());
    }

    #[test]
    fn first_matching_target_wins() {
        let dir = TempDir::new("pgpass-targets");
        let path = dir.write("pgpass", "b:6000:d:u:for-b\na:5432:d:u:for-a\n", 0o600);
        let targets = [
            Target { host: Host::Tcp("nowhere".to_owned()), port: 5432, addr: None },
            Target { host: Host::Tcp("a".to_owned()), port: 5432, addr: None },
            Target { host: Host::Tcp("b".to_owned()), port: 6000, addr: None },
        ];
        assert_eq!(find_password(&path, &targets, "d", "u").as_deref(), Some("for-a"));
    }
}
