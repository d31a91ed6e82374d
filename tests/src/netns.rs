//! A private network namespace, for tests that need a server outside the loopback interface without touching
//! the machine's network: the calling thread gets a namespace of its own with `lo` up and one more address,
//! [`OFF_LOOPBACK`], on it.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

use crate::WHO;

/// The address a test server listens on inside the namespace: routable there, but not a loopback address.
pub const OFF_LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 231, 0, 1));

/// Runs `test` on a thread of its own inside a fresh network namespace (threads it starts inherit it), and
/// returns its result; a panic in `test` is passed on.
///
/// # Panics
///
/// If the namespace cannot be made: this needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and the `ip` command
/// (`apt-get install iproute2`).
pub fn in_private_network<T: Send>(test: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let thread = scope.spawn(|| {
            enter();
            test()
        });
        thread.join().unwrap_or_else(|payload| std::panic::resume_unwind(payload))
    })
}

fn enter() {
    // SAFETY: unshare only changes the calling thread's namespaces; no memory is involved.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        panic!(
            "{WHO}: could not create a network namespace ({}): run the tests as root (or with CAP_SYS_ADMIN), as CI \
             does",
            std::io::Error::last_os_error()
        );
    }
    ip(&["link", "set", "lo", "up"]);
    ip(&["addr", "add", &format!("{OFF_LOOPBACK}/32"), "dev", "lo"]);
    ip(&["addr", "add", &format!("{SECOND_ADDRESS}/32"), "dev", "lo"]);
    // Local delivery is decided by the first routing rule; move it behind room for `cut_off` rules.
    ip(&["rule", "add", "pref", "100", "table", "local"]);
    ip(&["rule", "del", "pref", "0", "table", "local"]);
}

/// A second address in the namespace, for a relay that sits between a client and [`OFF_LOOPBACK`].
pub const SECOND_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 231, 0, 2));

/// Drops every packet to the namespace's addresses from now on, as a dead path does (a peer that lost power, a
/// NAT or firewall that forgot the connection): nothing is answered, nothing is reset. Call it from the thread
/// that [`in_private_network`] runs.
///
/// # Panics
///
/// If the rules cannot be added.
pub fn cut_off() {
    for address in [OFF_LOOPBACK, SECOND_ADDRESS] {
        ip(&["rule", "add", "pref", "10", "to", &address.to_string(), "blackhole"]);
    }
}

fn ip(args: &[&str]) {
    // `ip` runs in the namespace of the thread that starts it, which is this one.
    let output = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{WHO}: could not run `ip` ({e}): install it (`apt-get install iproute2`)"));
    if !output.status.success() {
        panic!("{WHO}: `ip {}` failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
    }
}
