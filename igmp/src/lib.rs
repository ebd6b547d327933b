//! IGMP v1/v2/v3 router side (RFC 1112, RFC 2236, RFC 3376 as revised by RFC 9776), sans-IO.
//!
//! Being implemented (issue 3). Modules:
//! * [`packet`]: the codec (section 4);
//! * [`config`]: per-interface configuration with the defaults of section 8;
//! * `router`: querier election and query sending (sections 6.6, 7), group and source state
//!   (6.2-6.5), compatibility modes (7.3), as an [`Igmp`] implementing [`common::Protocol`].

pub mod config;
pub mod packet;

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
