//! The only unsafe code of the crate: `kill(2)` and a SIGINT/SIGTERM flag.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};

pub use libc::{SIGHUP, SIGKILL, SIGTERM};

/// Sends `sig` to process `pid` (or to process group `-pid` when `pid` is negative).
/// Returns false if it failed (typically: no such process).
pub fn kill(pid: i32, sig: i32) -> bool {
    if pid == 0 || pid == -1 {
        return false; // never signal our own group or every process
    }
    // SAFETY: kill(2) takes plain integers and has no memory-safety preconditions.
    unsafe { libc::kill(pid, sig) == 0 }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: libc::c_int) {
    // An atomic store is async-signal-safe.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Installs a SIGINT and SIGTERM handler that only sets a flag (see [`interrupted`]). The
/// handler is one-shot (`SA_RESETHAND`): a second Ctrl-C kills the process the default way.
pub fn install_interrupt_handler() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; the handler only
        // touches an atomic, which is async-signal-safe; sigaction(2) reads `sa` and we pass a
        // null old-action pointer, which it allows.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// True once SIGINT or SIGTERM arrived after [`install_interrupt_handler`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
