//! Per-interface IGMP configuration (RFC 3376 section 8 defaults).

use std::net::Ipv4Addr;
use std::time::Duration;

use serde::Serialize;

/// IGMP version a router interface runs as querier (RFC 3376 section 7.3.1: a v1 or v2
/// querier per interface is configured, not negotiated).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Version {
    V1 = 1,
    V2 = 2,
    V3 = 3,
}

/// A statically configured membership (as if a host had reported it forever).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StaticGroup {
    pub group: Ipv4Addr,
    /// INCLUDE these sources; empty with `exclude = false` means "any source" (EXCLUDE {}).
    pub sources: Vec<Ipv4Addr>,
    /// EXCLUDE `sources` instead of INCLUDE.
    pub exclude: bool,
}

/// Configuration of IGMP on one interface. All durations are the RFC's variables.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InterfaceConfig {
    pub version: Version,
    /// Act as querier when elected (false: never send queries, still track membership).
    pub querier: bool,
    /// Robustness Variable (section 8.1), default 2.
    pub robustness: u8,
    /// Query Interval (8.2), default 125 s.
    pub query_interval: Duration,
    /// Query Response Interval (8.3), default 10 s.
    pub query_response_interval: Duration,
    /// Startup Query Interval (8.6), default Query Interval / 4.
    pub startup_query_interval: Duration,
    /// Startup Query Count (8.7), default Robustness Variable.
    pub startup_query_count: u8,
    /// Last Member Query Interval (8.8), default 1 s.
    pub last_member_query_interval: Duration,
    /// Last Member Query Count (8.9), default Robustness Variable.
    pub last_member_query_count: u8,
    /// Stop forwarding at once on a leave / TO_IN{} (for point-to-point links with one host).
    pub immediate_leave: bool,
    /// Drop messages without the IP Router Alert option (RFC 2113). Default: false for v1/v2
    /// messages (hosts in the field omit it); v3 reports without it are always accepted too
    /// unless this is set.
    pub require_router_alert: bool,
    /// Most groups tracked on the interface; 0 = no limit. Reports beyond it are ignored and
    /// logged.
    pub max_groups: usize,
    /// Most sources tracked per group; 0 = no limit.
    pub max_sources: usize,
    pub static_groups: Vec<StaticGroup>,
}

impl Default for InterfaceConfig {
    fn default() -> Self {
        InterfaceConfig {
            version: Version::V3,
            querier: true,
            robustness: 2,
            query_interval: Duration::from_secs(125),
            query_response_interval: Duration::from_secs(10),
            startup_query_interval: Duration::from_millis(125_000 / 4),
            startup_query_count: 2,
            last_member_query_interval: Duration::from_secs(1),
            last_member_query_count: 2,
            immediate_leave: false,
            require_router_alert: false,
            max_groups: 0,
            max_sources: 0,
            static_groups: Vec::new(),
        }
    }
}

/// Router-wide IGMP configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Config {
    /// Source-specific multicast range (RFC 4607/4604), default 232.0.0.0/8: IS_EX/TO_EX
    /// records and v1/v2 reports for these groups are ignored.
    pub ssm_range: (Ipv4Addr, u8),
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ssm_range: (Ipv4Addr::new(232, 0, 0, 0), 8),
        }
    }
}

impl Config {
    /// True if `group` is in the SSM range.
    pub fn is_ssm(&self, group: Ipv4Addr) -> bool {
        let (net, len) = self.ssm_range;
        let mask = if len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(len))
        };
        u32::from(group) & mask == u32::from(net) & mask
    }
}
