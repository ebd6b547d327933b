//! What `mrouterctl show dvmrp` will print ([`crate::Dvmrp::snapshot`]).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use common::IfIndex;
use serde::Serialize;

use crate::neighbor::NeighborState;
use crate::route::HoldDownCause;

/// The whole DVMRP state.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Snapshot {
    pub interfaces: Vec<InterfaceSnapshot>,
    pub routes: Vec<RouteSnapshot>,
    /// The forwarding cache (3.5): one entry per (source network, group) with traffic.
    pub forwarding: Vec<ForwardingSnapshot>,
    /// Messages that arrived on interfaces that do not run DVMRP: mrinfo questions
    /// ([`crate::Dvmrp::answer_ask_neighbors2`]) and their answers.
    pub other_interfaces: OtherInterfacesSnapshot,
    /// Received messages by kind and drops by reason, summed over the interfaces (those
    /// of [`Snapshot::other_interfaces`] included).
    pub counters: BTreeMap<String, u64>,
}

/// Counters of the interfaces that do not run DVMRP.
#[derive(Clone, Debug, Default, Serialize)]
pub struct OtherInterfacesSnapshot {
    /// Received messages by kind ([`crate::kinds`]).
    pub received: BTreeMap<String, u64>,
    /// Refused messages by reason ([`crate::reasons`] and the codec's `ParseError::kind`).
    pub dropped: BTreeMap<String, u64>,
    /// Sent messages by kind (Neighbors2).
    pub sent: BTreeMap<String, u64>,
}

/// One configured or known interface.
#[derive(Clone, Debug, Serialize)]
pub struct InterfaceSnapshot {
    pub ifindex: IfIndex,
    pub name: Option<String>,
    pub address: Option<Ipv4Addr>,
    pub prefix_len: Option<u8>,
    pub configured: bool,
    /// Configured and up: Probes and Reports are sent.
    pub active: bool,
    pub metric: Option<u8>,
    /// Our Generation ID on this interface (3.2.2).
    pub generation_id: Option<u32>,
    pub next_probe_ms: Option<u64>,
    pub next_report_ms: Option<u64>,
    pub probes_sent: u64,
    pub reports_sent: u64,
    /// Prunes, Grafts, Graft Acks and Neighbors2 (mrinfo answers) sent, by kind
    /// ([`crate::kinds`]).
    pub sent: BTreeMap<String, u64>,
    /// The remote end when the interface is a tunnel.
    pub tunnel_peer: Option<Ipv4Addr>,
    /// A passive (host-only) interface: no Probes or Reports.
    pub passive: bool,
    pub neighbors: Vec<NeighborSnapshot>,
    /// Received messages by kind ([`crate::kinds`]).
    pub received: BTreeMap<String, u64>,
    /// Dropped messages (and ignored routes) by reason ([`crate::reasons`] and the codec's
    /// `ParseError::kind`).
    pub dropped: BTreeMap<String, u64>,
}

/// One neighbour (3.2).
#[derive(Clone, Debug, Serialize)]
pub struct NeighborSnapshot {
    pub address: Ipv4Addr,
    pub state: NeighborState,
    pub generation_id: u32,
    /// Capability flags of its last Probe (3.2.1), as sent.
    pub capabilities: u8,
    /// The same as names: leaf, prune, genid, mtrace, snmp, netmask.
    pub capability_names: Vec<&'static str>,
    pub major_version: u8,
    pub minor_version: u8,
    pub uptime_ms: u64,
    pub expiry_ms: u64,
    pub probes: u64,
    pub reports: u64,
}

/// Route state for display.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteState {
    Valid,
    /// In hold-down after Route Expiration (3.4.7).
    Expired,
    /// In hold-down for another reason (3.4.8).
    HeldDown,
}

/// One route (3.4).
#[derive(Clone, Debug, Serialize)]
pub struct RouteSnapshot {
    pub network: Ipv4Addr,
    pub prefix_len: u8,
    /// "connected", "extra" or "learned".
    pub origin: &'static str,
    /// Our metric (in hold-down: of the replacement path, 32 if none).
    pub metric: u8,
    /// What we advertise (32 in hold-down), before poison reverse.
    pub advertised_metric: u8,
    pub upstream_neighbor: Option<Ipv4Addr>,
    pub upstream_interface: Option<IfIndex>,
    pub state: RouteState,
    pub hold_down_cause: Option<HoldDownCause>,
    /// Time since the route was created.
    pub uptime_ms: u64,
    /// Time since the route was last refreshed.
    pub age_ms: u64,
    /// Time left until Route Expiration (learned routes with a path).
    pub expiry_ms: Option<u64>,
    /// Time left in hold-down (garbage collection when there is no replacement path).
    pub hold_down_ms: Option<u64>,
    pub dependents: Vec<DependentsSnapshot>,
    /// The designated forwarder on each active interface other than the upstream one
    /// (3.3.1); None where nobody has a path.
    pub forwarders: Vec<ForwarderSnapshot>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DependentsSnapshot {
    pub ifindex: IfIndex,
    pub neighbors: Vec<Ipv4Addr>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ForwarderSnapshot {
    pub ifindex: IfIndex,
    pub forwarder: Option<Ipv4Addr>,
    /// This router is the designated forwarder.
    pub is_us: bool,
}

/// One forwarding cache entry (3.5): traffic from a source network to a group.
#[derive(Clone, Debug, Serialize)]
pub struct ForwardingSnapshot {
    pub source_network: Ipv4Addr,
    pub source_prefix_len: u8,
    pub group: Ipv4Addr,
    /// The sources seen sending (one kernel entry each).
    pub sources: Vec<Ipv4Addr>,
    /// The reverse-path interface (2.2); None if the source network has no route now.
    pub upstream_interface: Option<IfIndex>,
    /// The upstream neighbour; None for a directly connected source network.
    pub upstream_neighbor: Option<Ipv4Addr>,
    /// Interfaces the traffic is forwarded on (truncated broadcast, 3.3.3, minus prunes).
    pub outgoing: Vec<IfIndex>,
    /// The Prune this router sent upstream (3.5.2), while it lasts.
    pub upstream_prune: Option<UpstreamPruneSnapshot>,
    /// A Graft waiting for its Graft Ack (3.6.4).
    pub graft: Option<GraftSnapshot>,
    /// Prunes received from downstream neighbours (3.5.5), while they last.
    pub downstream_prunes: Vec<DownstreamPruneSnapshot>,
    pub uptime_ms: u64,
    /// Time left until the entry is removed for lack of traffic.
    pub expiry_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct UpstreamPruneSnapshot {
    pub neighbor: Ipv4Addr,
    /// The lifetime sent, in seconds.
    pub lifetime_s: u32,
    /// Time left until the prune expires upstream.
    pub expiry_ms: u64,
    /// Prunes sent for this entry (the first and retransmissions).
    pub sent: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct GraftSnapshot {
    pub neighbor: Ipv4Addr,
    /// Grafts sent so far.
    pub sent: u64,
    pub next_retransmit_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct DownstreamPruneSnapshot {
    pub ifindex: IfIndex,
    pub neighbor: Ipv4Addr,
    /// Time left until the prune expires.
    pub expiry_ms: u64,
}
