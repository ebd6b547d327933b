//! `mcast`: a multicast traffic sender and receiver for testing routers.
//!
//! - [`payload`]: the `MCST` header every datagram carries (sender id, sequence, send time);
//! - [`stats`]: pure receive accounting (duplicates, reordering, loss, latency) -> [`report`];
//! - [`report`]: the JSON documents the tool prints (a stable interface);
//! - [`send`] and [`recv`]: the two traffic subcommands (clap argument structs plus `run`);
//! - [`mrinfo`]: asks a DVMRP router for its interfaces and neighbours, as `mrinfo` does.
//!
//! The handful of raw libc calls live in the private `sys` module.

pub mod mrinfo;
pub mod payload;
pub mod recv;
pub mod report;
pub mod send;
pub mod stats;
mod sys;

use std::time::{SystemTime, UNIX_EPOCH};

/// Installs SIGINT/SIGTERM handlers after which [`stop_requested`] returns true; `send` and
/// `recv` poll it and finish with their summary. A second signal exits immediately.
pub fn install_stop_handler() -> std::io::Result<()> {
    sys::install_stop_handler()
}

/// Whether SIGINT or SIGTERM arrived since [`install_stop_handler`].
pub fn stop_requested() -> bool {
    sys::stop_requested()
}

/// CLOCK_REALTIME now, in nanoseconds since the UNIX epoch.
pub fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Resolves `--interface NAME` to its index, with a clear error for a missing interface.
fn interface_index(name: &str) -> anyhow::Result<u32> {
    sys::interface_index(name)
        .map_err(|e| anyhow::anyhow!("cannot look up interface {name}: {e}"))?
        .ok_or_else(|| anyhow::anyhow!("no such interface {name}"))
}
