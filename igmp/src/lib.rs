//! IGMP v1/v2/v3 router side (RFC 1112, RFC 2236, RFC 3376 as revised by RFC 9776, with
//! the SSM rules of RFC 4604), sans-IO.
//!
//! [`Igmp`] implements [`common::Protocol`] for all interfaces of one router. Modules, by
//! RFC 3376 / RFC 9776 section (the revision keeps the numbering):
//!
//! * [`packet`]: the codec (section 4);
//! * [`config`]: per-interface configuration with the defaults of section 8;
//! * `timers`: the section 8 values (GMI, Other Querier Present Interval, LMQT, Older Host
//!   Present Interval);
//! * `interface`: acceptance of messages (4.2.13, 9), querier election and General Queries
//!   (6.6.2, 7.3.1), adoption of QRV/QQI (4.1.6, 4.1.7), timer lowering on received queries
//!   (6.6.1), Membership output (6.3);
//! * `group`: router filter-mode, group and source timers (6.2), the tables of 6.4.1 and
//!   6.4.2, timer expiry and filter-mode switching (6.5), forwarding state (6.3);
//! * `query`: "Send Q(G)" and "Send Q(G,A)" with retransmissions and the S flag (6.6.3);
//! * `compat`: Group Compatibility Mode and Host Present timers (7.3.2).
//!
//! # Choices where the RFCs leave room
//!
//! * Retransmissions of specific queries on an IGMPv3 interface follow 6.6.3 literally: a
//!   report arriving in between does not cancel them, it moves the group or sources it
//!   refreshed into the query with the S flag set. On an IGMPv2 interface (no S flag) a
//!   report that sets the group timer stops the pending group-specific retransmissions.
//! * A Non-Querier does nothing for "Send Q(...)" (only the Querier sends, and lowers its
//!   timers when it sends, 6.6.3); it lowers its timers when it receives the Querier's query
//!   with the S flag clear (6.6.1), to the query's Max Resp Time times its Last Member Query
//!   Count (RFC 2236 section 3).
//! * An interface configured for IGMPv1/v2 (7.3.1) keeps no source state. IGMPv3 records
//!   there mean: IS_EX, TO_EX, and IS_IN / ALLOW / TO_IN with sources: a Report (join of the
//!   group, all sources); TO_IN( {} ): a Leave (ignored on IGMPv1); IS_IN( {} ), ALLOW( {} ),
//!   BLOCK: nothing. SSM groups get no state there (SSM needs IGMPv3, RFC 4604 3.5).
//! * In IGMPv1 and IGMPv2 Group Compatibility Mode, IS_EX source lists are ignored like
//!   TO_EX ones (7.3.2 names TO_EX only); in IGMPv1 mode TO_IN records and Leaves are
//!   ignored (7.3.2). An IGMPv2 Leave for a group in IGMPv3 mode is TO_IN( {} ).
//! * `immediate_leave`: "Send Q(G,A)" expires the sources in A at once and "Send Q(G)" the
//!   group timer, as if the reporting host were the only member; so a Leave or TO_IN( {} )
//!   deletes the group, BLOCK(B) and TO_IN(B) stop B / the other sources, TO_EX(B) blocks
//!   exactly B, all without queries.
//! * Static groups are merged with host state like sockets (section 3.2): a source is
//!   forwarded if either admits it.
//! * Limits: `max_groups` counts groups with host state (static-only groups are free);
//!   `max_sources` refuses new source records beyond the limit. Each is counted per message
//!   or record in `dropped`, and reported by one event per interface until the
//!   configuration is applied again or the interface restarts.
//! * Group-and-source-specific queries are split for an MTU of 1500 octets.
//! * [`Protocol::handle`], [`Igmp::configure_interface`] and [`Igmp::remove_interface`] first
//!   run the timers due at `now`, so that inputs always meet up-to-date state.
//! * [`Protocol::snapshot`] reports remaining times relative to the latest `now` seen.

pub mod config;
pub mod packet;

mod compat;
mod group;
mod interface;
mod query;
mod snapshot;
mod timers;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use common::{Action, IfIndex, Input, Instant, InterfaceChange, Membership, Protocol};

use interface::{Interface, Link};
pub use snapshot::{GroupSnapshot, InterfaceSnapshot, Snapshot, SourceSnapshot};

/// `Event::what` values.
pub mod events {
    /// This router became the Querier on an interface (start, or Other Querier Present
    /// timer expiry; 6.6.2).
    pub const QUERIER: &str = "igmp_querier";
    /// This router stopped being the Querier (a lower address queries, or configuration).
    pub const NON_QUERIER: &str = "igmp_non_querier";
    /// The Querier timed out and this router is configured not to query.
    pub const NO_QUERIER: &str = "igmp_no_querier";
    /// A query of another IGMP version than configured (7.3.1).
    pub const VERSION_MISMATCH: &str = "igmp_version_mismatch";
    /// A group's compatibility mode changed (7.3.2).
    pub const COMPAT_MODE: &str = "igmp_compat_mode";
    /// `max_groups` reached.
    pub const GROUP_LIMIT: &str = "igmp_group_limit";
    /// `max_sources` reached.
    pub const SOURCE_LIMIT: &str = "igmp_source_limit";
}

/// Drop reasons counted in [`InterfaceSnapshot::dropped`], besides the codec's
/// [`packet::ParseError::kind`] names.
pub mod reasons {
    /// IP TTL other than 1.
    pub const BAD_TTL: &str = "bad_ttl";
    /// No IP Router Alert option while `require_router_alert` is set.
    pub const NO_ROUTER_ALERT: &str = "no_router_alert";
    /// Source not on the interface's subnet (reports from 0.0.0.0 are accepted, queries
    /// not).
    pub const SOURCE_NOT_ON_SUBNET: &str = "source_not_on_subnet";
    /// Sent from this router's own address.
    pub const OWN_PACKET: &str = "own_packet";
    /// IS_EX / TO_EX record, IGMPv1/v2 report or leave for an SSM group (RFC 4604).
    pub const SSM_IGNORED: &str = "ssm_ignored";
    /// New group beyond `max_groups`.
    pub const GROUP_LIMIT: &str = "group_limit";
    /// Record with sources beyond `max_sources`.
    pub const SOURCE_LIMIT: &str = "source_limit";
    /// Group address not multicast.
    pub const NOT_MULTICAST: &str = "not_multicast";
    /// Group in 224.0.0.0/24 (never routed).
    pub const LINK_LOCAL_GROUP: &str = "link_local_group";
    /// Group record of an unknown type (4.2.12).
    pub const UNKNOWN_RECORD_TYPE: &str = "unknown_record_type";
    /// Ignored in an older Group Compatibility Mode (7.3.2) or by an IGMPv1/v2 interface.
    pub const COMPAT_IGNORED: &str = "compat_ignored";
}

/// The IGMP router side for all interfaces of one router.
#[derive(Debug)]
pub struct Igmp {
    config: config::Config,
    interfaces: BTreeMap<IfIndex, Interface>,
    /// The latest time seen (for snapshots).
    now: Instant,
}

impl Default for Igmp {
    fn default() -> Self {
        Igmp::new(config::Config::default())
    }
}

impl Igmp {
    pub fn new(config: config::Config) -> Self {
        Igmp {
            config,
            interfaces: BTreeMap::new(),
            now: Instant::ZERO,
        }
    }

    /// Replace the router-wide configuration (the SSM range). Existing group state is
    /// kept and times out normally.
    pub fn set_config(&mut self, config: config::Config) {
        self.config = config;
    }

    /// The router-wide configuration.
    pub fn config(&self) -> &config::Config {
        &self.config
    }

    /// Enable IGMP on an interface or replace its configuration. A reload keeps group
    /// state; new timer values apply from the next time a timer is set. Returns e.g. the
    /// Membership of static groups, and the first General Query if the interface is up.
    pub fn configure_interface(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        cfg: config::InterfaceConfig,
    ) -> Vec<Action> {
        let mut out = self.on_timeout(now);
        self.interfaces
            .entry(ifindex)
            .or_insert_with(|| Interface::new(ifindex))
            .configure(now, cfg, &mut out);
        out
    }

    /// Disable IGMP on an interface: forget its state; outputs Membership INCLUDE {} for
    /// every group that had forwarding state.
    pub fn remove_interface(&mut self, now: Instant, ifindex: IfIndex) -> Vec<Action> {
        let mut out = self.on_timeout(now);
        if let Some(iface) = self.interfaces.get_mut(&ifindex) {
            iface.unconfigure(now, &mut out);
            if iface.is_idle() {
                self.interfaces.remove(&ifindex);
            }
        }
        out
    }

    /// The forwarding state last output for (`ifindex`, `group`); `None` if there is none
    /// (INCLUDE {}).
    pub fn membership(&self, ifindex: IfIndex, group: Ipv4Addr) -> Option<Membership> {
        self.interfaces.get(&ifindex)?.membership(group)
    }

    /// This router is the Querier on `ifindex` (IGMP runs there and no router with a lower
    /// address queries, 6.6). DVMRP reports it to mrinfo.
    pub fn is_querier(&self, ifindex: IfIndex) -> bool {
        self.interfaces
            .get(&ifindex)
            .is_some_and(Interface::is_querier)
    }

    /// The state with remaining times relative to `now`.
    pub fn snapshot_at(&self, now: Instant) -> Snapshot {
        let (net, len) = self.config.ssm_range;
        Snapshot {
            ssm_range: format!("{net}/{len}"),
            interfaces: self.interfaces.values().map(|i| i.snapshot(now)).collect(),
        }
    }

    fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }
}

impl Protocol for Igmp {
    type Snapshot = Snapshot;

    fn handle(&mut self, now: Instant, input: Input<'_>) -> Vec<Action> {
        let mut out = self.on_timeout(now);
        match input {
            Input::Packet(pkt) => {
                if let Some(iface) = self.interfaces.get_mut(&pkt.ifindex) {
                    iface.handle_packet(now, &pkt, &self.config, &mut out);
                }
            }
            Input::Interface(InterfaceChange::Up {
                ifindex,
                name,
                addr,
                prefix_len,
            }) => {
                self.interfaces
                    .entry(ifindex)
                    .or_insert_with(|| Interface::new(ifindex))
                    .up(
                        now,
                        Link {
                            name,
                            addr,
                            prefix_len,
                        },
                        &mut out,
                    );
            }
            Input::Interface(InterfaceChange::Down { ifindex }) => {
                if let Some(iface) = self.interfaces.get_mut(&ifindex) {
                    iface.down(now, &mut out);
                    if iface.is_idle() {
                        self.interfaces.remove(&ifindex);
                    }
                }
            }
            _ => {}
        }
        out
    }

    fn on_timeout(&mut self, now: Instant) -> Vec<Action> {
        self.advance(now);
        let mut out = Vec::new();
        // Deadline order: each round runs everything due at the earliest deadline.
        while let Some(deadline) = self.poll_at().filter(|&d| d <= now) {
            for iface in self.interfaces.values_mut() {
                if iface.poll_at().is_some_and(|d| d <= deadline) {
                    iface.on_timeout(deadline, &mut out);
                }
            }
            // Every timer that fires is stopped or moved later; never spin on one.
            if self.poll_at() == Some(deadline) {
                debug_assert!(false, "IGMP timer at {deadline:?} did not advance");
                break;
            }
        }
        out
    }

    fn poll_at(&self) -> Option<Instant> {
        self.interfaces
            .values()
            .filter_map(Interface::poll_at)
            .min()
    }

    fn snapshot(&self) -> Snapshot {
        self.snapshot_at(self.now)
    }
}
