//! Shared vocabulary of the multicast router.
//!
//! Everything here is free of IO: plain data types that the protocol crates
//! (`igmp`, `pim`, `dvmrp`), the router shell and the tools agree on.
//!
//! * [`time`]: a virtual-time [`Instant`] so state machines run identically under the
//!   real clock and in simulation.
//! * [`route`]: multicast route keys ((S,G) and (*,G)) and forwarding intents.
//! * [`proto`]: the sans-IO protocol interface (inputs in, actions out, `poll_at`,
//!   `snapshot`), documented there.
//! * [`checksum`]: the Internet checksum (RFC 1071) used by IGMP, PIM and DVMRP.

pub mod checksum;
pub mod proto;
pub mod route;
pub mod time;

pub use proto::{
    Action, Event, IfIndex, Input, InterfaceChange, Membership, Protocol, Rpf, RxPacket,
};
pub use route::{FilterMode, Forwarding, RouteKey};
pub use time::Instant;
