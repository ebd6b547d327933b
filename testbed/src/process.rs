//! Background processes started in a node ([`Proc`]) and graceful termination by pid.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, ExitStatus};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::sys;

/// How long a process gets between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(2);

/// Live background processes of a `Net`: id -> pid (= process group id).
pub(crate) type Registry = Arc<Mutex<BTreeMap<u64, u32>>>;

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sends SIGTERM (to the process group if `group`), waits up to `grace` for the child to exit,
/// then SIGKILLs it. Always reaps the child.
pub(crate) fn terminate(child: &mut Child, group: bool, grace: Duration) -> Option<ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        if group {
            // The leader is gone but the group may live on.
            sys::kill(-(child.id() as i32), sys::SIGKILL);
        }
        return Some(status);
    }
    let target = if group {
        -(child.id() as i32)
    } else {
        child.id() as i32
    };
    sys::kill(target, sys::SIGTERM);
    let deadline = Instant::now() + grace;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            if group {
                sys::kill(target, sys::SIGKILL);
            }
            return Some(status);
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    sys::kill(target, sys::SIGKILL);
    child.wait().ok()
}

/// True if `pid` exists and is not a zombie.
pub(crate) fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // "pid (comm) S ..." - comm may contain spaces or parentheses.
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next());
            !matches!(state, Some('Z') | Some('X') | None)
        }
        Err(_) => false,
    }
}

/// Terminates a process that is not our child (so it cannot be reaped here): SIGTERM, wait up
/// to `grace` for it to disappear or become a zombie, then SIGKILL.
pub(crate) fn terminate_pid(pid: u32, grace: Duration) {
    if !pid_alive(pid) {
        return;
    }
    sys::kill(pid as i32, sys::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !pid_alive(pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    sys::kill(pid as i32, sys::SIGKILL);
}

/// The result of [`Proc::wait`].
#[derive(Debug)]
pub struct ProcOutput {
    pub status: ExitStatus,
    /// All of stdout not consumed by [`Proc::stdout_lines`].
    pub stdout: String,
    /// The stderr file's content.
    pub stderr: String,
}

impl ProcOutput {
    /// Exit status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

/// A background process in a node: stdout is piped, stderr goes to a file in the run
/// directory. It runs in its own process group; dropping it SIGTERMs the group, waits up to
/// 2 s, then SIGKILLs it. Read its stdout (or let it go to a pipe that is never read only if it
/// prints little: a full pipe blocks the process).
pub struct Proc {
    child: Child,
    stdout: Option<BufReader<ChildStdout>>,
    label: String,
    stderr_path: PathBuf,
    registry: Option<(Registry, u64)>,
    reaped: bool,
}

impl Proc {
    pub(crate) fn new(
        mut child: Child,
        label: String,
        stderr_path: PathBuf,
        registry: Option<Registry>,
    ) -> Proc {
        let stdout = child.stdout.take().map(BufReader::new);
        let registry = registry.map(|r| {
            let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            lock(&r).insert(id, child.id());
            (r, id)
        });
        Proc {
            child,
            stdout,
            label,
            stderr_path,
            registry,
            reaped: false,
        }
    }

    /// Process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where stderr goes.
    pub fn stderr_path(&self) -> &Path {
        &self.stderr_path
    }

    /// The current stderr content.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Lines of stdout as they come (blocks for each line; ends at EOF).
    pub fn stdout_lines(&mut self) -> impl Iterator<Item = String> + '_ {
        self.stdout
            .as_mut()
            .into_iter()
            .flat_map(|r| r.lines().map_while(Result::ok))
    }

    /// Takes the stdout reader, e.g. to read it from another thread.
    pub fn take_stdout(&mut self) -> Option<BufReader<ChildStdout>> {
        self.stdout.take()
    }

    /// Sends a signal to the process (not its group).
    pub fn signal(&self, sig: i32) -> bool {
        !self.reaped && sys::kill(self.pid() as i32, sig)
    }

    /// Exit status if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        let status = self.child.try_wait().ok().flatten();
        if status.is_some() {
            self.mark_reaped();
        }
        status
    }

    /// Reads the rest of stdout, waits for the exit and collects stderr.
    pub fn wait(mut self) -> Result<ProcOutput> {
        let mut stdout = String::new();
        if let Some(mut r) = self.stdout.take() {
            r.read_to_string(&mut stdout)
                .with_context(|| format!("{}: reading stdout", self.label))?;
        }
        let status = self
            .child
            .wait()
            .with_context(|| format!("{}: waiting", self.label))?;
        self.mark_reaped();
        Ok(ProcOutput {
            status,
            stdout,
            stderr: self.stderr(),
        })
    }

    /// SIGTERM to the process group, up to 2 s, then SIGKILL; reaps the process.
    pub fn kill(&mut self) {
        if !self.reaped {
            terminate(&mut self.child, true, GRACE);
            self.mark_reaped();
        }
    }

    fn mark_reaped(&mut self) {
        self.reaped = true;
        if let Some((r, id)) = &self.registry {
            lock(r).remove(id);
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

impl std::fmt::Debug for Proc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Proc({}, pid {})", self.label, self.child.id())
    }
}

/// Opens (creating) a file for appending, for a child's output.
pub(crate) fn append_file(path: &Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}
