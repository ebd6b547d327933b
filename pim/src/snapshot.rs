//! What `mrouterctl show pim` prints: per interface the Hello state (4.3.1), the DR
//! (4.3.2), the LAN Prune Delay macros (4.3.3), message counters, and every neighbour with
//! its Neighbor Liveness Timer. Remaining times are in milliseconds relative to the time of
//! the snapshot.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use common::IfIndex;
use serde::Serialize;

/// The state of PIM on all interfaces.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    pub interfaces: Vec<InterfaceSnapshot>,
}

/// One interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InterfaceSnapshot {
    pub ifindex: IfIndex,
    /// Interface name, primary address and prefix length as last reported up.
    pub name: Option<String>,
    pub address: Option<Ipv4Addr>,
    pub prefix_len: Option<u8>,
    /// PIM is configured here.
    pub configured: bool,
    /// The shell reported the interface up.
    pub up: bool,
    /// PIM runs here (configured and up).
    pub active: bool,
    /// Our Generation ID (4.3.1) while active.
    pub generation_id: Option<u32>,
    /// Our configured DR Priority (4.3.2).
    pub dr_priority: Option<u32>,
    /// Configured Hello_Period (4.11), ms.
    pub hello_period_ms: Option<u64>,
    /// The Holdtime we advertise, s (65535: never time out).
    pub hello_holdtime_s: Option<u16>,
    /// The elected DR's address (4.3.2) while active.
    pub dr: Option<Ipv4Addr>,
    /// I_am_DR(I).
    pub i_am_dr: bool,
    /// Hello Timer HT(I) (4.3.1), remaining ms, while active.
    pub hello_timer_ms: Option<u64>,
    /// A triggered Hello waiting to be sent (4.3.1), remaining ms.
    pub triggered_hello_ms: Option<u64>,
    /// `lan_delay_enabled(I)` (4.3.3).
    pub lan_delay_enabled: bool,
    /// `Effective_Propagation_Delay(I)` (4.3.3), ms.
    pub effective_propagation_delay_ms: u64,
    /// `Effective_Override_Interval(I)` (4.3.3), ms.
    pub effective_override_interval_ms: u64,
    /// `Suppression_Enabled(I)` (4.3.3).
    pub suppression_enabled: bool,
    /// Messages accepted, by kind: `hello`, `register`, `register_stop`, `join_prune`,
    /// `bootstrap`, `assert`, `candidate_rp_adv`.
    pub received: BTreeMap<String, u64>,
    /// Messages dropped, by reason: the codec's `ParseError::kind()` names and those of
    /// [`crate::reasons`].
    pub dropped: BTreeMap<String, u64>,
    pub neighbors: Vec<NeighborSnapshot>,
}

/// One PIM neighbour (4.3.1-4.3.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NeighborSnapshot {
    /// Primary address (the source of its Hellos).
    pub address: Ipv4Addr,
    /// Generation ID of its Hellos, if it sends one.
    pub generation_id: Option<u32>,
    /// DR Priority; `None`: it does not support DR priority (4.3.2).
    pub dr_priority: Option<u32>,
    /// Holdtime of its last Hello, s (105 when absent; 65535: never expires).
    pub holdtime_s: u16,
    /// Neighbor Liveness Timer, remaining ms; `None`: never expires.
    pub expires_ms: Option<u64>,
    /// Time since it became a neighbour or last restarted (new GenID), ms.
    pub uptime_ms: u64,
    /// It sent the LAN Prune Delay option (4.3.3); the three fields below are its values.
    pub lan_prune_delay: bool,
    pub propagation_delay_ms: Option<u64>,
    pub override_interval_ms: Option<u64>,
    /// T bit: it can disable Join suppression.
    pub t_bit: Option<bool>,
    /// Secondary addresses from its Address List option (4.3.4).
    pub secondary_addresses: Vec<Ipv4Addr>,
}
