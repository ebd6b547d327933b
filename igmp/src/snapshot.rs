//! What `mrouterctl show igmp` prints: per interface the querier state, the values in use,
//! message counters, and every group with its timers. Remaining times are in milliseconds
//! (0: not running) relative to the time of the snapshot.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use common::{FilterMode, IfIndex};
use serde::Serialize;

/// The state of the whole IGMP router side.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    /// The SSM range, "232.0.0.0/8".
    pub ssm_range: String,
    pub interfaces: Vec<InterfaceSnapshot>,
}

/// One interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InterfaceSnapshot {
    pub ifindex: IfIndex,
    /// Interface name, address and prefix length as last reported up.
    pub name: Option<String>,
    pub address: Option<Ipv4Addr>,
    pub prefix_len: Option<u8>,
    /// IGMP is configured here.
    pub configured: bool,
    /// The shell reported the interface up.
    pub up: bool,
    /// IGMP runs here (configured and up).
    pub active: bool,
    /// Configured version (1, 2, 3).
    pub version: Option<u8>,
    /// This router is the Querier (6.6.2).
    pub querier: bool,
    /// The Querier's address (ours when `querier`).
    pub querier_address: Option<Ipv4Addr>,
    /// Other Querier Present timer (6.6.2, 8.5), remaining ms.
    pub other_querier_present_ms: u64,
    /// General Query timer, remaining ms (Querier only).
    pub general_query_ms: u64,
    /// Startup General Queries still to be sent (8.7).
    pub startup_queries_left: u8,
    /// Robustness Variable in use (configured, or the querier's QRV, 4.1.6).
    pub robustness: u8,
    /// Query Interval in use (configured, or the querier's QQI, 4.1.7), ms.
    pub query_interval_ms: u64,
    /// Messages accepted, by kind: `query_v1`, `query_v2`, `query_v3`, `report_v1`,
    /// `report_v2`, `report_v3`, `leave_v2`.
    pub received: BTreeMap<String, u64>,
    /// Messages (or group records) dropped, by reason: the codec's `ParseError::kind()`
    /// names and those of [`crate::reasons`].
    pub dropped: BTreeMap<String, u64>,
    pub groups: Vec<GroupSnapshot>,
}

/// One group on an interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupSnapshot {
    pub group: Ipv4Addr,
    /// Router filter-mode of the host state (6.2.1).
    pub filter_mode: FilterMode,
    /// Group Compatibility Mode, 1, 2 or 3 (7.3.2; capped by the configured version).
    pub compat_mode: u8,
    /// Group timer (6.2.2), remaining ms; 0 in INCLUDE mode.
    pub group_timer_ms: u64,
    /// IGMPv1 / IGMPv2 Host Present timers (7.3.2), remaining ms.
    pub v1_host_present_ms: u64,
    pub v2_host_present_ms: u64,
    /// Group-specific queries still to be sent (6.6.3.1).
    pub group_query_retransmissions: u8,
    /// The most specific queries still to be sent for the group or any of its sources.
    pub retransmissions_pending: u8,
    /// Configured statically (merged into the forwarding state).
    #[serde(rename = "static")]
    pub is_static: bool,
    /// Source records (6.2.3). `timer_ms` 0 in EXCLUDE mode: on the Exclude List.
    pub sources: Vec<SourceSnapshot>,
    /// The forwarding state output as Membership (6.3, merged with static groups).
    pub forwarding_mode: FilterMode,
    pub forwarding_sources: Vec<Ipv4Addr>,
}

/// One source record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceSnapshot {
    pub source: Ipv4Addr,
    /// Source timer, remaining ms (0: not running).
    pub timer_ms: u64,
    /// Group-and-source-specific queries still to be sent for it (6.6.3.2).
    pub retransmissions: u8,
}
