//! DVMRP v3 (draft-ietf-idmr-dvmrp-v3-11), sans-IO.
//!
//! **Status: not implemented yet** (issue 5). This crate fixes the shape: a [`Dvmrp`]
//! instance per router implementing [`common::Protocol`]. `mrouterd` rejects
//! `protocols = ["dvmrp"]` until it is real.
//!
//! Planned layout after the draft: `packet` (section 3 message formats), `neighbor`
//! (probes, 3.2), `route` (distance vector with poison reverse, 3.4), `forward`
//! (designated forwarder and truncated broadcast, 3.5), `prune` (prune/graft, 3.5.4-3.5.6).

pub mod packet;

use common::{Action, Input, Instant, Protocol};
use serde::Serialize;

/// DVMRP for all interfaces (and tunnels) of one router.
#[derive(Debug, Default)]
pub struct Dvmrp {}

/// What `mrouterctl show dvmrp` will serialise.
#[derive(Debug, Default, Serialize)]
pub struct Snapshot {}

impl Protocol for Dvmrp {
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
