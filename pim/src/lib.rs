//! PIM-SM v2 (RFC 7761) and SSM (RFC 4607/4604), sans-IO.
//!
//! **Status: not implemented yet** (issue 4). This crate fixes the shape: a [`Pim`]
//! instance per router implementing [`common::Protocol`]. `mrouterd` rejects
//! `protocols = ["pim"]` until it is real.
//!
//! Planned layout after FRR's one-file-per-state-machine habit, named after RFC 7761:
//! `packet` (section 4.9), `neighbor` (4.3), `downstream` (4.5.2-4.5.4),
//! `upstream` (4.5.5-4.5.7), `register` (4.4), `assert` (4.6), `macros` (4.1.6, 4.6.5).

use common::{Action, Input, Instant, Protocol};
use serde::Serialize;

/// PIM-SM for all interfaces of one router.
#[derive(Debug, Default)]
pub struct Pim {}

/// What `mrouterctl show pim` will serialise.
#[derive(Debug, Default, Serialize)]
pub struct Snapshot {}

impl Protocol for Pim {
    type Snapshot = Snapshot;

    fn handle(&mut self, _now: Instant, _input: Input<'_>) -> Vec<Action> {
        Vec::new()
    }

    fn on_timeout(&mut self, _now: Instant) -> Vec<Action> {
        Vec::new()
    }

    fn poll_at(&self) -> Option<Instant> {
        None
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {}
    }
}
