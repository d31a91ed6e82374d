//! The operating system's account of the current user: libpq's default role name and home directory.
//!
//! On Unix this is the passwd entry of the effective user (`getpwuid_r`), as libpq reads it; the `whoami` crate
//! would give the name but not the home directory, which libpq falls back to for `.pgpass` when `HOME` is unset.
//! Elsewhere there is no entry, and resolution uses `USER`/`LOGNAME` and `HOME`.

use std::path::PathBuf;

/// The parts of the current user's passwd entry that resolution uses.
pub(super) struct PasswdEntry {
    pub(super) name: Option<String>,
    pub(super) home: Option<PathBuf>,
}

/// The passwd entry of the effective user, if the system has one.
#[cfg(unix)]
pub(super) fn passwd_entry() -> Option<PasswdEntry> {
    use std::ffi::OsString;
    use std::mem::MaybeUninit;
    use std::os::unix::ffi::OsStringExt;

    const MAX_BUFFER: usize = 1 << 20;

    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let mut buf: Vec<libc::c_char> = vec![0; 1024];
    loop {
        let mut pwd = MaybeUninit::<libc::passwd>::uninit();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: `pwd` and `result` are valid for writes and `buf` is valid for `buf.len()` bytes; on success
        // getpwuid_r fills `pwd`, with its strings stored inside `buf`, and points `result` at it.
        let rc = unsafe { libc::getpwuid_r(uid, pwd.as_mut_ptr(), buf.as_mut_ptr(), buf.len(), &mut result) };
        if rc == libc::ERANGE && buf.len() < MAX_BUFFER {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 || result.is_null() {
            return None;
        }
        // SAFETY: getpwuid_r succeeded and found an entry, so `pwd` is initialised; its `pw_name` and `pw_dir`
        // are null or NUL-terminated strings inside `buf`, which is alive and unchanged during these reads.
        let (name, home) = unsafe {
            let pwd = pwd.assume_init_ref();
            (c_string_bytes(pwd.pw_name), c_string_bytes(pwd.pw_dir))
        };
        return Some(PasswdEntry {
            name: name.and_then(|name| String::from_utf8(name).ok()).filter(|name| !name.is_empty()),
            home: home.filter(|home| !home.is_empty()).map(|home| PathBuf::from(OsString::from_vec(home))),
        });
    }
}

/// Copies a C string.
///
/// # Safety
///
/// `ptr` must be null or point to a NUL-terminated string that stays valid during the call.
#[cfg(unix)]
unsafe fn c_string_bytes(ptr: *const libc::c_char) -> Option<Vec<u8>> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` is non-null and, per this function's contract, a valid NUL-terminated string.
    Some(unsafe { std::ffi::CStr::from_ptr(ptr) }.to_bytes().to_vec())
}

#[cfg(not(unix))]
pub(super) fn passwd_entry() -> Option<PasswdEntry> {
    None
}
