//! Starting, watching and stopping one postmaster process.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use crate::os::{self, RunAs};

/// The start of the log line that tells us the server accepts connections. A hot standby says "ready to accept
/// read-only connections" instead (PostgreSQL 13: "read only"), hence only the common prefix.
const READY: &str = "database system is ready to accept";

/// How long the postmaster may take to become ready.
pub(crate) const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// How many server log lines error messages include.
const LOG_TAIL: usize = 40;

/// File (inside the data directory) with the per-launch settings (the port).
pub(crate) const PORT_CONF: &str = "fraiseql_port.conf";

/// Everything needed to (re)start the postmaster of one cluster.
#[derive(Debug, Clone)]
pub(crate) struct ServerSpec {
    pub(crate) bin_dir: PathBuf,
    pub(crate) root_dir: PathBuf,
    pub(crate) data_dir: PathBuf,
    pub(crate) log_path: PathBuf,
    pub(crate) run_as: Option<RunAs>,
    /// `LD_LIBRARY_PATH` for binaries that bring their own libraries.
    pub(crate) lib_dir: Option<PathBuf>,
}

/// A running postmaster that we spawned.
#[derive(Debug)]
pub(crate) struct Running {
    child: Child,
}

/// Why a launch failed; the message already includes the server log tail.
#[derive(Debug)]
pub(crate) enum LaunchError {
    /// The port is taken (or the previous server's processes/shared memory still linger):
    /// trying again, possibly on another port, may help.
    Retryable(String),
    /// Anything else.
    Fatal(String),
}

enum Event {
    Line(String),
    Ready,
    Eof,
}

fn tail(lines: &[String]) -> String {
    let start = lines.len().saturating_sub(LOG_TAIL);
    if lines.is_empty() { "(the server wrote nothing to stderr)".to_owned() } else { lines[start..].join("\n") }
}

/// Last lines of the on-disk server log (for error messages after startup).
pub(crate) fn log_tail(spec: &ServerSpec) -> String {
    match std::fs::read_to_string(&spec.log_path) {
        Ok(text) => tail(&text.lines().map(str::to_owned).collect::<Vec<_>>()),
        Err(e) => format!("(could not read {}: {e})", spec.log_path.display()),
    }
}

impl ServerSpec {
    /// Starts `postgres -D <data_dir>` listening on `port` and waits until it is ready.
    pub(crate) fn launch(&self, port: u16) -> Result<Running, LaunchError> {
        let fatal = |what: String| LaunchError::Fatal(what);

        let port_conf = self.data_dir.join(PORT_CONF);
        std::fs::write(&port_conf, format!("# written by fraiseql-wire-tests before each start\nport = {port}\n"))
            .map_err(|e| fatal(format!("could not write {}: {e}", port_conf.display())))?;
        if let Some(who) = self.run_as {
            os::chown(&port_conf, who).map_err(|e| fatal(format!("could not chown {}: {e}", port_conf.display())))?;
        }

        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| fatal(format!("could not open {}: {e}", self.log_path.display())))?;
        let _ = writeln!(log, "--- fraiseql-wire-tests: starting postmaster on port {port} ---");

        let postgres = self.bin_dir.join("postgres");
        let mut cmd = Command::new(&postgres);
        cmd.arg("-D")
            .arg(&self.data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // Keep terminal Ctrl-C away from the server; our own signals and
            // PR_SET_PDEATHSIG stop it.
            .process_group(0);
        os::prepare(&mut cmd, self.run_as, &self.root_dir);
        if let Some(lib) = &self.lib_dir {
            cmd.env("LD_LIBRARY_PATH", lib);
        }
        let mut child = os::spawn_from_keeper_thread(cmd).map_err(|e| {
            fatal(format!("could not start `{} -D {}`: {e}", postgres.display(), self.data_dir.display()))
        })?;

        // Forward stderr to the log file for the server's whole life (so the pipe never
        // fills) and report the lines up to readiness to this thread.
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = mpsc::channel::<Event>();
        let drained = thread::Builder::new().name(format!("fraiseql-pg-log-{port}")).spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut tx = Some(tx);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let _ = log.write_all(&line);
                if let Some(sender) = &tx {
                    let text = String::from_utf8_lossy(&line).trim_end().to_owned();
                    let ready = text.contains(READY);
                    if sender.send(Event::Line(text)).is_err() || ready {
                        if ready {
                            let _ = sender.send(Event::Ready);
                        }
                        tx = None;
                    }
                }
            }
            if let Some(sender) = tx {
                let _ = sender.send(Event::Eof);
            }
        });
        if let Err(e) = drained {
            let _ = child.kill();
            let _ = child.wait();
            return Err(fatal(format!("could not start the log drain thread: {e}")));
        }

        let mut lines = Vec::new();
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut exited: Option<ExitStatus> = None;
        loop {
            let now = Instant::now();
            if now >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fatal(format!(
                    "the server was not ready after {STARTUP_TIMEOUT:?} (no {READY:?} line); \
                     killed it.\n--- server log (tail) ---\n{}",
                    tail(&lines)
                )));
            }
            let step = if exited.is_some() {
                // The process is gone: just collect what is left in the pipe.
                Duration::from_millis(500)
            } else {
                (deadline - now).min(Duration::from_millis(100))
            };
            match rx.recv_timeout(step) {
                Ok(Event::Line(line)) => lines.push(line),
                Ok(Event::Ready) => return Ok(Running { child }),
                Ok(Event::Eof) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) if exited.is_some() => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if exited.is_none() {
                exited = child.try_wait().ok().flatten();
            }
        }

        // stderr closed or the process exited before it became ready.
        let status = match exited {
            Some(status) => Ok(status),
            None => child.wait(),
        };
        let status = match status {
            Ok(s) => s.to_string(),
            Err(e) => format!("unknown status ({e})"),
        };
        let log_text = tail(&lines);
        let message = format!("the server exited during startup ({status}).\n--- server log (tail) ---\n{log_text}");
        let retryable = [
            "could not bind",
            "Address already in use",
            "could not create any TCP/IP sockets",
            "pre-existing shared memory block",
            "is still in use",
        ]
        .iter()
        .any(|needle| log_text.contains(needle));
        Err(if retryable { LaunchError::Retryable(message) } else { LaunchError::Fatal(message) })
    }
}

impl Running {
    /// Pid of the postmaster.
    pub(crate) fn pid(&self) -> libc::pid_t {
        self.child.id() as libc::pid_t
    }

    /// Sends `signal` and waits up to `timeout` for the postmaster to exit.
    /// Returns `false` if it is still running afterwards.
    pub(crate) fn signal_and_wait(&mut self, signal: libc::c_int, timeout: Duration) -> bool {
        if let Ok(Some(_)) = self.child.try_wait() {
            return true;
        }
        // SAFETY: plain kill(2) on our own, not yet reaped, child.
        unsafe { libc::kill(self.pid(), signal) };
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return true,
                Ok(None) if Instant::now() >= deadline => return false,
                Ok(None) => thread::sleep(Duration::from_millis(5)),
            }
        }
    }

    /// SIGKILLs the postmaster, waits for it, then gives its orphaned backends a few seconds
    /// to notice the postmaster's death and exit (reaping them where possible).
    pub(crate) fn kill_hard(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let subreaper = os::become_subreaper();
        // Freeze the postmaster so that the list of its children cannot change under us.
        // SAFETY: plain kill(2) on our own, not yet reaped, child.
        unsafe { libc::kill(self.pid(), libc::SIGSTOP) };
        let children = os::children_of(self.pid());
        let _ = self.child.kill();
        let _ = self.child.wait();
        let timeout = Duration::from_secs(10);
        if subreaper {
            os::reap(&children, timeout);
        } else {
            os::wait_gone(&children, timeout);
        }
    }
}
