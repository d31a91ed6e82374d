//! Process-exit cleanup of clusters and removal of directories left by dead test processes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError, TryLockError};
use std::thread;
use std::time::{Duration, Instant};

use crate::os;

/// Name of the file (inside each cluster's root directory) holding the owning test pid.
pub(crate) const OWNER_FILE: &str = "owner.pid";

struct Live {
    id: u64,
    postmaster_pid: Arc<AtomicI32>,
    root: PathBuf,
}

static LIVE: Mutex<Vec<Live>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static REGISTER_ATEXIT: Once = Once::new();

/// Records a cluster so that it is stopped and its directory removed when the process exits
/// (the shared cluster is a `static` and is never dropped). Returns a handle for
/// [`unregister`].
pub(crate) fn register(postmaster_pid: Arc<AtomicI32>, root: PathBuf) -> u64 {
    REGISTER_ATEXIT.call_once(|| {
        // SAFETY: `at_exit` is an `extern "C" fn()` that never unwinds.
        let rc = unsafe { libc::atexit(at_exit) };
        if rc != 0 {
            eprintln!(
                "fraiseql-wire-tests: atexit registration failed; clusters are still stopped \
                 by PR_SET_PDEATHSIG, stale directories are removed by the next test run"
            );
        }
    });
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    LIVE.lock().unwrap_or_else(PoisonError::into_inner).push(Live { id, postmaster_pid, root });
    id
}

/// Forgets a cluster that cleaned up after itself.
pub(crate) fn unregister(id: u64) {
    LIVE.lock().unwrap_or_else(PoisonError::into_inner).retain(|l| l.id != id);
}

extern "C" fn at_exit() {
    // Never block forever on a lock held by a thread that is being torn down.
    let mut live = Vec::new();
    for _ in 0..100 {
        match LIVE.try_lock() {
            Ok(mut guard) => {
                live = std::mem::take(&mut *guard);
                break;
            }
            Err(TryLockError::Poisoned(p)) => {
                live = std::mem::take(&mut *p.into_inner());
                break;
            }
            Err(TryLockError::WouldBlock) => thread::sleep(Duration::from_millis(10)),
        }
    }
    let pids: Vec<libc::pid_t> =
        live.iter().map(|l| l.postmaster_pid.swap(0, Ordering::SeqCst)).filter(|&pid| pid > 0).collect();
    for &pid in &pids {
        // Immediate shutdown: the data is thrown away anyway.
        // SAFETY: plain kill(2) on a pid we spawned.
        unsafe { libc::kill(pid, libc::SIGQUIT) };
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for &pid in &pids {
        loop {
            let mut status = 0;
            // SAFETY: waitpid on our own child with a valid status pointer.
            let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if rc != 0 {
                break; // reaped, or not our child any more
            }
            if Instant::now() >= deadline {
                // SAFETY: as above.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, &mut status, 0);
                }
                break;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
    for l in &live {
        let _ = std::fs::remove_dir_all(&l.root);
    }
}

fn read_pid(path: &Path) -> Option<libc::pid_t> {
    std::fs::read_to_string(path).ok()?.lines().next()?.trim().parse().ok()
}

/// Removes `<base>/fraiseql-pg-*` directories whose owning test process no longer exists
/// and whose postmaster (if any) is gone, e.g. after a test run was killed with SIGKILL.
/// Runs once per process.
pub(crate) fn remove_stale_dirs(base: &Path) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Ok(entries) = std::fs::read_dir(base) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.starts_with(os::DIR_PREFIX) {
                continue;
            }
            let dir = entry.path();
            let Some(owner) = read_pid(&dir.join(OWNER_FILE)) else {
                continue; // being set up right now, or not ours
            };
            if os::process_exists(owner) {
                continue;
            }
            if read_pid(&dir.join("data").join("postmaster.pid")).is_some_and(os::process_exists) {
                continue;
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    });
}
