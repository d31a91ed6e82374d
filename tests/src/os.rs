//! Small operating-system helpers: identities, temp dirs, ownership, process spawning.

use std::ffi::{CString, OsString};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Prefix of every temporary directory the harness creates.
pub(crate) const DIR_PREFIX: &str = "fraiseql-pg-";

/// The unprivileged identity the server runs as when the test process is root.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunAs {
    pub(crate) uid: libc::uid_t,
    pub(crate) gid: libc::gid_t,
}

/// `None` when not root (the server runs as the current user); otherwise the
/// uid/gid of `nobody` (65534 when the account does not exist).
pub(crate) fn server_identity() -> Option<RunAs> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let fallback = RunAs { uid: 65534, gid: 65534 };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: passwd is plain old data; all-zero is a valid value that getpwnam_r overwrites.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the given sizes for the duration of the call.
    let rc = unsafe { libc::getpwnam_r(c"nobody".as_ptr(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() {
        return Some(fallback);
    }
    Some(RunAs { uid: pwd.pw_uid, gid: pwd.pw_gid })
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// `chown(path, uid, gid)`.
pub(crate) fn chown(path: &Path, who: RunAs) -> io::Result<()> {
    let c = c_path(path)?;
    // SAFETY: `c` is a valid NUL-terminated path.
    if unsafe { libc::chown(c.as_ptr(), who.uid, who.gid) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Directory under which the harness creates its temporary directories.
///
/// Unix socket paths are limited to ~107 bytes, so a long `$TMPDIR` is ignored in favour of
/// `/tmp`. As root, `/tmp` is always used so that `nobody` can traverse the parent.
pub(crate) fn temp_base() -> PathBuf {
    let tmp = PathBuf::from("/tmp");
    if server_identity().is_some() {
        return tmp;
    }
    let dir = std::env::temp_dir();
    if dir.as_os_str().len() <= 60 && dir.is_dir() { dir } else { tmp }
}

/// Creates a fresh, private (mode 0700) directory `<base>/fraiseql-pg-XXXXXX`.
pub(crate) fn make_temp_dir(base: &Path) -> io::Result<PathBuf> {
    let template = base.join(format!("{DIR_PREFIX}XXXXXX"));
    let mut bytes = template.into_os_string().into_vec();
    if bytes.contains(&0) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "temp dir path contains a NUL byte"));
    }
    bytes.push(0);
    // SAFETY: `bytes` is a writable NUL-terminated template ending in XXXXXX.
    let ptr = unsafe { libc::mkdtemp(bytes.as_mut_ptr().cast()) };
    if ptr.is_null() {
        return Err(io::Error::last_os_error());
    }
    bytes.pop();
    Ok(PathBuf::from(OsString::from_vec(bytes)))
}

/// Whether a process with this pid exists (zombies count as gone where we can tell).
pub(crate) fn process_exists(pid: libc::pid_t) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only performs the existence/permission check.
    let alive = unsafe { libc::kill(pid, 0) } == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    if !alive {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state != "Z" && state != "X"),
        Err(_) => true,
    }
}

/// Pids of the direct children of `parent` (Linux `/proc`; empty elsewhere).
pub(crate) fn children_of(parent: libc::pid_t) -> Vec<libc::pid_t> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|stat| {
                let (_, rest) = stat.rsplit_once(')')?;
                rest.split_whitespace().nth(1)?.parse::<libc::pid_t>().ok()
            }) == Some(parent)
        })
        .collect()
}

/// Makes this process the reaper of orphaned descendants (Linux `PR_SET_CHILD_SUBREAPER`), so
/// that the backends of a SIGKILLed postmaster become our children and can be reaped instead
/// of lingering as zombies under an init that does not reap (common in containers).
/// Returns whether this process is a subreaper.
pub(crate) fn become_subreaper() -> bool {
    #[cfg(target_os = "linux")]
    {
        static DONE: OnceLock<bool> = OnceLock::new();
        // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a process attribute.
        *DONE.get_or_init(|| unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) } == 0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Reaps `pids` once they exit (they must have become our children, see
/// [`become_subreaper`]); pids that are not our children are only waited for.
pub(crate) fn reap(pids: &[libc::pid_t], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    for &pid in pids {
        loop {
            let mut status = 0;
            // SAFETY: waitpid with a valid status pointer.
            let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if rc == pid {
                break;
            }
            if rc < 0 {
                // Not our child (anymore): fall back to watching it.
                wait_gone(&[pid], deadline.saturating_duration_since(Instant::now()));
                break;
            }
            if Instant::now() >= deadline {
                break;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Waits (polling) until none of `pids` exists any more, or `timeout` passes.
pub(crate) fn wait_gone(pids: &[libc::pid_t], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while pids.iter().any(|&p| process_exists(p)) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
}

/// Configures `cmd` to run as `who` (if any) in `home`, with a C locale and no
/// inherited libpq/server environment, and - on Linux - to receive SIGQUIT when the thread
/// that spawned it exits.
pub(crate) fn prepare(cmd: &mut Command, who: Option<RunAs>, home: &Path) {
    if let Some(who) = who {
        cmd.uid(who.uid).gid(who.gid);
    }
    cmd.current_dir(home).env("HOME", home).env("LC_ALL", "C").env("LANG", "C");
    for var in ["PGDATA", "PGPORT", "PGHOST", "PGHOSTADDR", "PGUSER", "PGDATABASE", "PGOPTIONS", "PGPASSWORD"] {
        cmd.env_remove(var);
    }
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id();
        // SAFETY: the closure only calls the async-signal-safe functions prctl and getppid and
        // builds an io::Error from a raw errno (no allocation). std runs it after setuid/setgid,
        // so the death signal is not cleared by the credential change.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died between fork and prctl.
                if libc::getppid() as u32 != parent {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
}

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawns `cmd` from a dedicated thread that lives as long as the process.
///
/// `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits, so spawning the
/// postmaster from a (short-lived) test thread would kill it when that test ends.
pub(crate) fn spawn_from_keeper_thread(cmd: Command) -> io::Result<Child> {
    static KEEPER: OnceLock<mpsc::Sender<SpawnRequest>> = OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        thread::Builder::new()
            .name("fraiseql-pg-keeper".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("fraiseql-wire-tests: could not start the postmaster keeper thread");
        tx
    });
    let gone = || io::Error::other("the fraiseql-wire-tests keeper thread is gone");
    let (reply_tx, reply_rx) = mpsc::channel();
    keeper.send((cmd, reply_tx)).map_err(|_| gone())?;
    reply_rx.recv().map_err(|_| gone())?
}
