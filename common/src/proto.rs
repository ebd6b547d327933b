//! The sans-IO protocol interface.
//!
//! Every routing or membership protocol (`igmp`, `pim`, `dvmrp`) is a plain struct that
//! implements [`Protocol`]. It owns no sockets, spawns nothing and never reads a clock:
//!
//! * the shell calls [`Protocol::handle`] with `now` and one [`Input`] (a received packet
//!   with its metadata, an interface change, a membership change, a kernel upcall, MFC
//!   statistics) and gets back a list of [`Action`]s;
//! * timers are data inside the protocol: the shell sleeps until [`Protocol::poll_at`] and
//!   then calls [`Protocol::on_timeout`];
//! * [`Protocol::snapshot`] returns serialisable state that backs `mrouterctl show ... --json`
//!   and golden tests.
//!
//! Because time is a value, the same code runs under the real clock in `mrouterd`, in the
//! one-process multi-router simulator, and in table-driven tests in virtual time.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::route::{FilterMode, Forwarding, RouteKey};
use crate::time::Instant;

/// Kernel interface index (or a simulated one). Protocols name interfaces only by index.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IfIndex(pub u32);

impl std::fmt::Display for IfIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "if{}", self.0)
    }
}

/// A packet as received, before the protocol decodes it. Decoding (and counting
/// decode errors) is the protocol's job, so the shell never interprets payloads.
#[derive(Clone, Debug)]
pub struct RxPacket<'a> {
    pub ifindex: IfIndex,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    /// IP Router Alert option present (RFC 2113).
    pub router_alert: bool,
    /// The protocol payload (IP header removed).
    pub payload: &'a [u8],
}

/// Interface facts the shell reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InterfaceChange {
    /// The interface is enabled for this protocol and operationally up.
    Up {
        ifindex: IfIndex,
        name: String,
        /// Primary IPv4 address and prefix length.
        addr: Ipv4Addr,
        prefix_len: u8,
    },
    /// Down, deleted, or disabled for this protocol.
    Down { ifindex: IfIndex },
}

/// Group membership on one interface, as IGMP reports it (RFC 3376 section 6.3 semantics):
/// forward traffic from `source` to `group` on `ifindex` if the mode is INCLUDE and the
/// source is listed, or EXCLUDE and it is not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub ifindex: IfIndex,
    pub group: Ipv4Addr,
    pub mode: FilterMode,
    pub sources: Vec<Ipv4Addr>,
}

/// Kernel upcall kinds (linux/mroute.h IGMPMSG_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpcallKind {
    /// No MFC entry for (S,G) (IGMPMSG_NOCACHE).
    NoCache,
    /// Packet for (S,G) arrived on a VIF other than the entry's iif (IGMPMSG_WRONGVIF).
    WrongVif,
    /// Whole packet from the register VIF (IGMPMSG_WHOLEPKT).
    WholePacket,
    /// Whole packet on the wrong VIF (IGMPMSG_WRVIFWHOLE).
    WrongVifWhole,
}

/// One input to a protocol.
#[derive(Clone, Debug)]
pub enum Input<'a> {
    Packet(RxPacket<'a>),
    Interface(InterfaceChange),
    /// Membership on an interface changed (from IGMP, consumed by PIM and DVMRP).
    Membership(Membership),
    /// A kernel upcall for (S,G) arriving on `ifindex`; `packet` holds the IP packet for
    /// whole-packet upcalls.
    Upcall {
        kind: UpcallKind,
        ifindex: IfIndex,
        key: RouteKey,
        packet: &'a [u8],
    },
    /// The reverse path towards `target` (a source or an RP), from the unicast routing
    /// table: the answer to [`Action::WatchRpf`], and again whenever it changes.
    Rpf(Rpf),
    /// Kernel counters of one forwarding entry (from an MFC dump): the PIM keepalive input.
    MfcStats {
        key: RouteKey,
        packets: u64,
        bytes: u64,
        /// Time since the last packet, if the kernel reported one.
        idle: Option<std::time::Duration>,
    },
}

/// The reverse path towards an address, as the unicast routing table has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rpf {
    pub target: Ipv4Addr,
    /// The interface towards `target`; None if it is unreachable.
    pub ifindex: Option<IfIndex>,
    /// The next hop (gateway) towards `target`; None if `target` is on a directly
    /// connected subnet of `ifindex` (or unreachable).
    pub neighbor: Option<Ipv4Addr>,
    /// `target` is one of this router's own addresses.
    pub local: bool,
}

/// A structured event for logs and tests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub what: String,
    pub detail: String,
}

/// One output of a protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send `payload` (protocol message, no IP header) from `ifindex` to `dst`.
    Send {
        ifindex: IfIndex,
        dst: Ipv4Addr,
        ttl: u8,
        router_alert: bool,
        payload: Vec<u8>,
    },
    /// The protocol wants this forwarding entry (replaces its previous intent for the key).
    Forward(Forwarding),
    /// The protocol no longer wants any entry for the key.
    Unforward(RouteKey),
    /// Membership changed on an interface (IGMP's output; PIM/DVMRP inputs).
    Membership(Membership),
    /// Track the reverse path towards this address: the shell answers with
    /// [`Input::Rpf`] at once and again on every change, until [`Action::UnwatchRpf`].
    WatchRpf(Ipv4Addr),
    UnwatchRpf(Ipv4Addr),
    Event(Event),
}

/// The sans-IO protocol interface; see the module documentation.
pub trait Protocol {
    /// Serialisable state for `show` commands and golden tests.
    type Snapshot: Serialize;

    /// Feed one input at time `now`.
    fn handle(&mut self, now: Instant, input: Input<'_>) -> Vec<Action>;

    /// Run every timer that has expired at `now`.
    fn on_timeout(&mut self, now: Instant) -> Vec<Action>;

    /// The earliest pending deadline, if any.
    fn poll_at(&self) -> Option<Instant>;

    /// Current state.
    fn snapshot(&self) -> Self::Snapshot;
}
