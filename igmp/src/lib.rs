//! IGMP v1/v2/v3 querier (RFC 1112, RFC 2236, RFC 3376 as revised by RFC 9776), sans-IO.
//!
//! **Status: not implemented yet.** This crate only fixes the shape the implementation
//! will have (issue 3): an [`Igmp`] instance per router implementing
//! [`common::Protocol`]. Until then `mrouterd` does not run IGMP at all (it rejects
//! `protocols = ["igmp"]` in the configuration rather than pretending to), and
//! membership comes only from static routes.
//!
//! Planned layout, one module per part of the RFC:
//! `packet` (codec, section 4), `querier` (election and query sending, sections 6.6 and 7),
//! `group` (group and source state, sections 6.2-6.5), `compat` (section 7.3).

use common::{Action, Input, Instant, Protocol};
use serde::Serialize;

/// The IGMP router side for all interfaces of one router.
#[derive(Debug, Default)]
pub struct Igmp {}

/// What `mrouterctl show igmp` will serialise.
#[derive(Debug, Default, Serialize)]
pub struct Snapshot {}

impl Protocol for Igmp {
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
