//! DVMRP configuration, with the defaults of draft-ietf-idmr-dvmrp-v3-11 (appendix A,
//! "Table 2 - Parameter Summary", and sections 3.2, 3.4.5, 3.4.7, 3.4.8).

use std::net::Ipv4Addr;
use std::time::Duration;

use serde::Serialize;

use crate::packet;

/// Per-interface DVMRP settings.
///
/// The route timers of a learned route (`route_expiration`, `hold_down`,
/// `garbage_collection`) are those of the interface it was learned on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InterfaceConfig {
    /// Interface metric (3.4, 3.4.3), default 1: added to the metric of every route received
    /// here, and the metric of the interface's own subnet. 1..=31 (taken as 1 if 0, 31 if
    /// larger).
    pub metric: u8,
    /// Probe Interval (3.2, appendix A), default 10 s.
    pub probe_interval: Duration,
    /// Neighbor Time-out Interval (3.2, appendix A), default 35 s.
    pub neighbor_timeout: Duration,
    /// Route Report Interval (3.4.5, appendix A), default 60 s.
    pub report_interval: Duration,
    /// Route Expiration Time (3.4.7, appendix A), default 140 s (2 x report interval + 20):
    /// a learned route not refreshed for this long expires and goes into hold-down.
    pub route_expiration: Duration,
    /// Route Hold-down (3.4.8, appendix A), default 120 s (2 x report interval): how long a
    /// route deleted because an infinity metric was received, its neighbour was lost or
    /// this interface went down is still advertised with metric infinity.
    pub hold_down: Duration,
    /// Garbage collection time, default 260 s (route expiration + hold-down): an expired
    /// route is removed this long after it was last refreshed. Taken as `route_expiration`
    /// if shorter.
    pub garbage_collection: Duration,
    /// The remote end of a tunnel (2.1, "tunnels"): the interface is a point-to-point
    /// virtual link, Probes and Reports go to this address by unicast instead of
    /// All-DVMRP-Routers, and messages from it are accepted with any TTL.
    pub tunnel_peer: Option<Ipv4Addr>,
    /// Administrative boundaries (network, prefix length) for groups (3.3.3): traffic for
    /// these groups is never forwarded out of this interface, so it does not count as a
    /// child for them.
    pub boundaries: Vec<(Ipv4Addr, u8)>,
    /// The interface's TTL threshold (its VIF's: only packets with a larger TTL leave
    /// through it), default 1. The kernel applies it; DVMRP only reports it to mrinfo in
    /// Neighbors2 (appendix B).
    pub ttl_threshold: u8,
    /// A passive (host-only) interface: its subnet is announced and it is a child for
    /// its group members, but no Probes or Reports are sent there and none are accepted
    /// (no neighbours). For host LANs; mrouterd makes every IGMP interface of a DVMRP
    /// router without `dvmrp` passive, so that sources there are routed.
    pub passive: bool,
}

impl Default for InterfaceConfig {
    fn default() -> Self {
        InterfaceConfig {
            metric: 1,
            probe_interval: Duration::from_secs(10),
            neighbor_timeout: Duration::from_secs(35),
            report_interval: Duration::from_secs(60),
            route_expiration: Duration::from_secs(140),
            hold_down: Duration::from_secs(120),
            garbage_collection: Duration::from_secs(260),
            tunnel_peer: None,
            boundaries: Vec::new(),
            passive: false,
            ttl_threshold: 1,
        }
    }
}

impl InterfaceConfig {
    /// The metric as used: 1..=31.
    pub fn effective_metric(&self) -> u8 {
        self.metric.clamp(1, packet::INFINITY - 1)
    }

    /// The garbage collection time as used: at least `route_expiration`.
    pub fn effective_garbage_collection(&self) -> Duration {
        self.garbage_collection.max(self.route_expiration)
    }
}

/// Router-wide DVMRP settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Config {
    /// Networks announced as directly connected (network, prefix length), e.g. subnets of
    /// interfaces that do not run DVMRP. They have no upstream interface.
    pub extra_routes: Vec<(Ipv4Addr, u8)>,
    /// The metric the extra routes are announced with, default 1 (1..=31).
    pub extra_route_metric: u8,
    /// Minimum Flash Update Interval (3.4.5, appendix A), default 5 s: triggered updates
    /// are never sent more often than this.
    pub min_flash_update_interval: Duration,
    /// Longest Route Report sent (DVMRP message, IP header excluded), default
    /// [`packet::MAX_LEN_576`] (516 octets: a 576-octet datagram with the largest IP
    /// header, exactly mrouted's limit).
    pub max_report_len: usize,
    /// Prune Lifetime (3.5.2, appendix A), default 7200 s: the lifetime of a Prune this
    /// router originates (a leaf). A Prune sent on behalf of pruned downstream neighbours
    /// carries the least remaining lifetime among them (3.5.2).
    pub prune_lifetime: Duration,
    /// Initial Prune retransmission interval (3.5.3, appendix A), default 3 s: while data
    /// keeps arriving for a pruned (source network, group), the Prune is sent again after
    /// this interval, doubled each time.
    pub prune_retransmit: Duration,
    /// Initial Graft retransmission interval (3.6.4, appendix A), default 5 s: a Graft is
    /// sent again after this interval, doubled each time, until a Graft Ack arrives.
    pub graft_retransmit: Duration,
    /// How long a forwarding cache entry (3.5) lives without traffic, default 300 s.
    pub cache_lifetime: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            extra_routes: Vec::new(),
            extra_route_metric: 1,
            min_flash_update_interval: Duration::from_secs(5),
            max_report_len: packet::MAX_LEN_576,
            prune_lifetime: Duration::from_secs(7200),
            prune_retransmit: Duration::from_secs(3),
            graft_retransmit: Duration::from_secs(5),
            cache_lifetime: Duration::from_secs(300),
        }
    }
}
