//! DVMRP v3 (draft-ietf-idmr-dvmrp-v3-11), sans-IO.
//!
//! [`Dvmrp`] implements [`common::Protocol`] for all interfaces of one router: neighbour
//! discovery, route exchange, and forwarding with prunes and grafts. Modules, by draft
//! section:
//!
//! * [`packet`]: the codec (3.1, 3.2.5, 3.4.10, 3.5.6, 3.6, appendix B);
//! * [`config`]: per-interface and router-wide settings with the defaults of appendix A;
//! * `neighbor`: neighbours and their one-way / two-way state (3.2, 3.2.3);
//! * `route`: routes, hold-down (3.4.8), dependent neighbours (3.4.4) and the metrics
//!   neighbours advertise (designated forwarder candidates, 3.3.1);
//! * `forward`: the forwarding cache, truncated broadcast, prunes and grafts (3.3.3, 3.5,
//!   3.6); its module documentation describes the behaviour;
//! * `mrinfo`: answering Ask Neighbors2 with Neighbors2 (appendix B), through
//!   [`Dvmrp::answer_ask_neighbors2`]; its module documentation describes the answer;
//! * `snapshot`: what `show dvmrp` prints;
//! * `rng`: the seeded generator of Generation IDs and jitter.
//!
//! # Behaviour
//!
//! * **Probes (3.2)** go to All-DVMRP-Routers with TTL 1 as soon as an interface is
//!   configured and up, then every Probe Interval, listing every neighbour heard on the
//!   interface. A new neighbour, or a neighbour's new Generation ID, triggers one extra
//!   Probe at once so that the adjacency becomes two-way without waiting for the period.
//! * A neighbour is one-way until its Probe lists our address, then two-way (2.1): we then
//!   send it a unicast copy of the whole routing table (3.4.5) and event
//!   [`events::NEIGHBOR_UP`]. A two-way neighbour whose Probe no longer lists us, that
//!   times out (Neighbor Time-out, 3.2) or whose interface goes down is lost (3.2.4): its
//!   routes go into hold-down, its dependencies and its designated forwarder candidacy are
//!   removed ([`events::NEIGHBOR_DOWN`]). A changed Generation ID (3.2.2) is a restart
//!   ([`events::NEIGHBOR_RESTART`]): the same, and the neighbour is one-way again until a
//!   Probe lists us (often the same Probe).
//! * **Reports (3.4.6)** are accepted only from two-way neighbours (others are counted as
//!   [`reasons::NOT_TWO_WAY`]) and processed by the rules A and B.1-B.4 of 3.4.6. Routes
//!   with an illegal metric (0, 64 and above) or host bits are ignored and counted.
//!   Directly connected and extra routes are never replaced by learned ones.
//! * **Sending (3.4.5)**: the whole table every Route Report Interval to All-DVMRP-Routers
//!   on every interface with a two-way neighbour (the first one after a random 0-25 %
//!   shortening of the interval), and flash updates with the changed routes only, at most
//!   once per Minimum Flash Update Interval (router-wide), coalescing every change made in
//!   between. Split horizon with poison reverse (3.4.4): on the upstream interface of a
//!   learned route it is sent with metric + 32; a directly connected subnet is advertised
//!   normally on its own interface. Reports are split with [`packet::split_report`] into
//!   messages of at most [`config::Config::max_report_len`] octets (516 by default, the
//!   576-octet datagram limit of mrouted), routes sorted by prefix length then network.
//!   A periodic Report that takes several messages is spread evenly over the Route
//!   Report Interval (3.4.2), the first message at once.
//! * **Expiry and hold-down (3.4.7, 3.4.8)**: a learned route not refreshed for
//!   `route_expiration` goes into hold-down until `garbage_collection` after its last
//!   refresh; a route deleted otherwise (infinity from the upstream, neighbour lost,
//!   interface down) for `hold_down`. In hold-down a route is advertised with metric 32;
//!   a path learned meanwhile (from any neighbour) is used for [`Dvmrp::rpf`] and becomes
//!   the advertised route when the hold-down ends, while re-learning the old path (same
//!   neighbour, same metric) ends the hold-down at once. A route without a path when its
//!   hold-down ends is removed (garbage collection).
//! * **Designated forwarder (3.3.1)**: derived, per route and interface, from the metrics
//!   two-way neighbours advertise there (as received, not adjusted, compared with the
//!   metric we advertise; ties to the lowest address). Reported metrics and dependencies
//!   not refreshed within the interface's route expiration time are disregarded.
//! * **Dependent neighbours (3.4.4)**: a poison reverse received on a downstream
//!   interface registers its sender (3.4.6 B.3.a), one received on the upstream interface
//!   counts as infinity (B.3.b). On a multi-access LAN a poison reverse is heard by every
//!   router there and registers the sender with each of them (as in mrouted); only the
//!   designated forwarder's list matters for forwarding and pruning. Any other metric
//!   from a dependent cancels the dependency.
//! * When a route loses its path (hold-down), the best path its other two-way neighbours
//!   currently advertise (their latest reports, not older than the route expiration time)
//!   becomes its replacement at once, so that [`Dvmrp::rpf`] follows without waiting for
//!   their next periodic report.
//! * Acceptance: Probes only to All-DVMRP-Routers with TTL 1; Reports to All-DVMRP-Routers
//!   with TTL 1 or unicast to our address (any TTL); the source must be on the interface's
//!   subnet (any source on a /32) and not our own address. Each refusal is counted by
//!   reason ([`reasons`]), decoding errors by `ParseError::kind()`, messages by kind
//!   ([`kinds`]). Prunes, Grafts and Graft Acks are accepted by unicast to our address
//!   (or to All-DVMRP-Routers) from two-way neighbours only. An Ask-Neighbors2 sent to
//!   one of the router's addresses is answered through [`Dvmrp::answer_ask_neighbors2`]
//!   (mrinfo, see `mrinfo`), which the shell calls for it whatever interface it arrives
//!   on; Ask-Neighbors2 that reach [`Protocol::handle`] (e.g. to All-DVMRP-Routers),
//!   Ask-Neighbors (obsolete) and the other mrouted extensions are counted and not
//!   answered.
//! * **Tunnels** (2.1): an interface configured with a
//!   [`tunnel_peer`](config::InterfaceConfig::tunnel_peer) is a point-to-point virtual
//!   link; everything "to All-DVMRP-Routers" goes to the peer by unicast,
//!   and only unicast messages from the peer to our end are accepted (any TTL).
//! * **Inputs for forwarding**: IGMP membership ([`Input::Membership`]), NOCACHE upcalls
//!   (the first packet of an (S,G)) and kernel counters ([`Input::MfcStats`]); outputs
//!   [`Action::Forward`] / [`Action::Unforward`] per (S,G).
//! * Generation IDs are random (seeded) and differ from the previous one of the interface
//!   (the draft's "non-decreasing" is not needed: any change is a restart to neighbours);
//!   a new one is chosen each time an interface becomes active.
//! * [`Protocol::handle`], [`Dvmrp::configure_interface`] and [`Dvmrp::remove_interface`]
//!   first run the timers due at `now`, and run them again at the end, so that a flash
//!   update due at once leaves in the same call.
//!
//! Not here: appendix C compatibility with pre-3.0xff neighbours (they must send Probes
//! listing us), route aggregation (3.4.1), answering the obsolete Ask-Neighbors and Info
//! Request.

pub mod config;
pub mod packet;

mod forward;
mod mrinfo;
mod neighbor;
mod rng;
mod route;
mod snapshot;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use common::proto::UpcallKind;
use common::{Action, Event, IfIndex, Input, Instant, InterfaceChange, Protocol, RxPacket};

use config::{Config, InterfaceConfig};
pub use mrinfo::UnicastReply;
use neighbor::Neighbor;
pub use neighbor::NeighborState;
use packet::{ALL_DVMRP_ROUTERS, Body, Header, INFINITY, Message, Probe, Report, RouteEntry};
pub use route::HoldDownCause;
use route::{Origin, Route};
pub use snapshot::{
    DependentsSnapshot, DownstreamPruneSnapshot, ForwarderSnapshot, ForwardingSnapshot,
    GraftSnapshot, InterfaceSnapshot, NeighborSnapshot, OtherInterfacesSnapshot, RouteSnapshot,
    RouteState, Snapshot, UpstreamPruneSnapshot,
};

/// `Event::what` values.
pub mod events {
    /// A neighbour became two-way (its Probe lists us, 2.1).
    pub const NEIGHBOR_UP: &str = "dvmrp_neighbor_up";
    /// A two-way neighbour was lost; the detail ends with one of [`super::down_reasons`].
    pub const NEIGHBOR_DOWN: &str = "dvmrp_neighbor_down";
    /// A neighbour's Generation ID changed (3.2.2).
    pub const NEIGHBOR_RESTART: &str = "dvmrp_neighbor_restart";
    /// A Prune went upstream (3.5.2).
    pub const PRUNE_SENT: &str = "dvmrp_prune_sent";
    /// A Graft went upstream (3.6.1).
    pub const GRAFT_SENT: &str = "dvmrp_graft_sent";
}

/// Why a neighbour was lost (the end of a [`events::NEIGHBOR_DOWN`] detail).
pub mod down_reasons {
    pub const TIMEOUT: &str = "neighbor timeout";
    pub const NOT_LISTED: &str = "probe no longer lists us";
    pub const INTERFACE_DOWN: &str = "interface down";
}

/// Message kinds counted in [`InterfaceSnapshot::received`].
pub mod kinds {
    use crate::packet::Body;

    pub const PROBE: &str = "probe";
    pub const REPORT: &str = "report";
    pub const ASK_NEIGHBORS: &str = "ask_neighbors";
    pub const NEIGHBORS: &str = "neighbors";
    pub const ASK_NEIGHBORS2: &str = "ask_neighbors2";
    pub const NEIGHBORS2: &str = "neighbors2";
    pub const PRUNE: &str = "prune";
    pub const GRAFT: &str = "graft";
    pub const GRAFT_ACK: &str = "graft_ack";
    pub const INFO_REQUEST: &str = "info_request";
    pub const INFO_REPLY: &str = "info_reply";

    pub fn of(body: &Body) -> &'static str {
        match body {
            Body::Probe(_) => PROBE,
            Body::Report(_) => REPORT,
            Body::AskNeighbors => ASK_NEIGHBORS,
            Body::Neighbors(_) => NEIGHBORS,
            Body::AskNeighbors2 => ASK_NEIGHBORS2,
            Body::Neighbors2(_) => NEIGHBORS2,
            Body::Prune(_) => PRUNE,
            Body::Graft(_) => GRAFT,
            Body::GraftAck(_) => GRAFT_ACK,
            Body::InfoRequest(_) => INFO_REQUEST,
            Body::InfoReply(_) => INFO_REPLY,
        }
    }
}

/// Drop reasons counted in [`InterfaceSnapshot::dropped`], besides the codec's
/// [`packet::ParseError::kind`] names.
pub mod reasons {
    /// A Probe not to All-DVMRP-Routers, a Report neither to it nor to our address.
    pub const BAD_DESTINATION: &str = "bad_destination";
    /// A Probe or multicast Report with an IP TTL other than 1.
    pub const BAD_TTL: &str = "bad_ttl";
    /// Source not on the interface's subnet.
    pub const SOURCE_NOT_ON_SUBNET: &str = "source_not_on_subnet";
    /// Sent from this router's own address.
    pub const OWN_PACKET: &str = "own_packet";
    /// Received while the interface is not active (not configured or down).
    pub const INACTIVE: &str = "inactive_interface";
    /// Received on a passive (host-only) interface.
    pub const PASSIVE: &str = "passive_interface";
    /// A Report from an unknown or one-way neighbour (3.4.6, 3.2.3).
    pub const NOT_TWO_WAY: &str = "not_two_way";
    /// A route (not a message) with metric 0 or 64 and above (3.4.6 B.4).
    pub const ILLEGAL_METRIC: &str = "route_illegal_metric";
    /// A route (not a message) whose network has bits set beyond its prefix.
    pub const HOST_BITS: &str = "route_host_bits";
    /// A Prune, Graft or Graft Ack for a source network without a route.
    pub const NO_ROUTE: &str = "no_route";
    /// A Prune received on the reverse-path interface of its source network.
    pub const PRUNE_FROM_UPSTREAM: &str = "prune_from_upstream";
    /// A Prune from a neighbour that does not depend on us for the source (3.5.5).
    pub const NOT_DEPENDENT: &str = "prune_not_dependent";
    /// An mrinfo question from an address no answer can go to (0.0.0.0, multicast,
    /// broadcast).
    pub const UNANSWERABLE_SOURCE: &str = "unanswerable_source";
    /// An mrinfo question while DVMRP is configured on no interface.
    pub const NO_INTERFACE: &str = "no_dvmrp_interface";
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Link {
    name: String,
    addr: Ipv4Addr,
    prefix_len: u8,
}

#[derive(Debug)]
struct Interface {
    cfg: Option<InterfaceConfig>,
    link: Option<Link>,
    /// The address of the latest link, kept while the interface is down (mrinfo).
    last_addr: Option<Ipv4Addr>,
    active: bool,
    generation_id: Option<u32>,
    neighbors: BTreeMap<Ipv4Addr, Neighbor>,
    next_probe: Option<Instant>,
    next_report: Option<Instant>,
    /// The rest of the periodic Report, spread over the Route Report Interval (3.4.2):
    /// (when, message).
    report_queue: std::collections::VecDeque<(Instant, Report)>,
    probes_sent: u64,
    reports_sent: u64,
    /// Prunes, Grafts, Graft Acks and Neighbors2 sent, by kind.
    sent: BTreeMap<&'static str, u64>,
    received: BTreeMap<&'static str, u64>,
    dropped: BTreeMap<&'static str, u64>,
}

impl Interface {
    fn new() -> Self {
        Interface {
            cfg: None,
            link: None,
            last_addr: None,
            active: false,
            generation_id: None,
            neighbors: BTreeMap::new(),
            next_probe: None,
            next_report: None,
            report_queue: std::collections::VecDeque::new(),
            probes_sent: 0,
            reports_sent: 0,
            sent: BTreeMap::new(),
            received: BTreeMap::new(),
            dropped: BTreeMap::new(),
        }
    }

    fn drop(&mut self, reason: &'static str) {
        *self.dropped.entry(reason).or_default() += 1;
    }

    /// The interface is an administrative boundary for `group` (3.3.3).
    fn blocks(&self, group: Ipv4Addr) -> bool {
        self.cfg.as_ref().is_some_and(|c| {
            c.boundaries
                .iter()
                .any(|&(net, len)| route::contains(net, len, group))
        })
    }

    /// Where messages "to all DVMRP routers" go on this interface, and with which TTL: the
    /// group with TTL 1, or on a tunnel the peer by unicast (TTL [`UNICAST_TTL`]).
    fn all_routers(&self) -> (Ipv4Addr, u8) {
        match self.cfg.as_ref().and_then(|c| c.tunnel_peer) {
            Some(peer) => (peer, UNICAST_TTL),
            None => (ALL_DVMRP_ROUTERS, 1),
        }
    }

    fn has_two_way(&self) -> bool {
        self.neighbors.values().any(Neighbor::is_two_way)
    }

    fn is_two_way(&self, addr: Ipv4Addr) -> bool {
        self.neighbors.get(&addr).is_some_and(Neighbor::is_two_way)
    }

    fn poll_at(&self) -> Option<Instant> {
        let n = self.neighbors.values().map(|n| n.expires).min();
        let queued = self.report_queue.front().map(|(at, _)| *at);
        [n, self.next_probe, self.next_report, queued]
            .into_iter()
            .flatten()
            .min()
    }
}

/// Route table key: (network, prefix length), the network without host bits.
type Key = (Ipv4Addr, u8);

/// The IP TTL of DVMRP messages sent by unicast (to a neighbour, or across a tunnel's
/// unicast path): 255, as mrouted sends them (MAXTTL); multicast ones have TTL 1.
pub const UNICAST_TTL: u8 = 255;

/// DVMRP for all interfaces of one router.
#[derive(Debug)]
pub struct Dvmrp {
    config: Config,
    rng: rng::Rng,
    interfaces: BTreeMap<IfIndex, Interface>,
    routes: BTreeMap<Key, Route>,
    flash_at: Option<Instant>,
    last_flash: Option<Instant>,
    flashes_sent: u64,
    /// The forwarding cache (3.5), see [`forward`].
    cache: BTreeMap<forward::CacheKey, forward::CacheEntry>,
    /// IGMP membership: (interface, group) -> receivers.
    members: BTreeMap<(IfIndex, Ipv4Addr), forward::Members>,
    /// (source, group) -> the route key its cache entry is filed under.
    source_index: BTreeMap<(Ipv4Addr, Ipv4Addr), Key>,
    /// Cache entries to evaluate (their traffic changed), and whether all must be.
    cache_dirty: std::collections::BTreeSet<forward::CacheKey>,
    cache_all_dirty: bool,
    /// Messages (mrinfo questions) that arrived on interfaces without DVMRP.
    other: mrinfo::OtherCounters,
    /// The latest time seen (for snapshots).
    now: Instant,
}

impl Default for Dvmrp {
    fn default() -> Self {
        Dvmrp::new(Config::default(), 0)
    }
}

fn event(out: &mut Vec<Action>, what: &str, detail: String) {
    out.push(Action::Event(Event {
        what: what.to_string(),
        detail,
    }));
}

fn send(out: &mut Vec<Action>, ifindex: IfIndex, dst: Ipv4Addr, ttl: u8, msg: &Message) {
    out.push(Action::Send {
        ifindex,
        dst,
        ttl,
        router_alert: false,
        payload: packet::emit(msg),
    });
}

fn key_of(network: Ipv4Addr, prefix_len: u8) -> Key {
    let e = RouteEntry::new(network, prefix_len, 1).normalized();
    (e.network, e.prefix_len)
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Dvmrp {
    /// `seed` seeds the generator of Generation IDs and jitter (give each router its own).
    /// The extra routes of `config` are originated at once.
    pub fn new(config: Config, seed: u64) -> Self {
        let mut d = Dvmrp {
            config,
            rng: rng::Rng::new(seed),
            interfaces: BTreeMap::new(),
            routes: BTreeMap::new(),
            flash_at: None,
            last_flash: None,
            flashes_sent: 0,
            cache: BTreeMap::new(),
            members: BTreeMap::new(),
            source_index: BTreeMap::new(),
            cache_dirty: std::collections::BTreeSet::new(),
            cache_all_dirty: false,
            other: mrinfo::OtherCounters::default(),
            now: Instant::ZERO,
        };
        let metric = d.config.extra_route_metric.clamp(1, INFINITY - 1);
        for &(net, len) in &d.config.extra_routes {
            d.routes.insert(
                key_of(net, len),
                Route::local(Origin::Extra, metric, Instant::ZERO),
            );
        }
        d
    }

    /// The router-wide configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replace the router-wide configuration in place (a reload): neighbours, routes and
    /// the forwarding cache stay. New extra routes are originated, removed ones go into
    /// hold-down (advertised with metric infinity, 3.4.8) like any withdrawn route, a new
    /// `extra_route_metric` is announced; all in one flash update. The timers apply from
    /// their next use.
    pub fn set_config(&mut self, now: Instant, config: Config) -> Vec<Action> {
        let mut out = Vec::new();
        self.run_timers(now, &mut out);
        self.cache_all_dirty = true;
        let metric = config.extra_route_metric.clamp(1, INFINITY - 1);
        let wanted: std::collections::BTreeSet<Key> = config
            .extra_routes
            .iter()
            .map(|&(n, l)| key_of(n, l))
            .collect();
        let hold = self
            .interfaces
            .values()
            .filter_map(|i| i.cfg.as_ref().map(|c| c.hold_down))
            .max()
            .unwrap_or_else(|| InterfaceConfig::default().hold_down);
        for (key, r) in &mut self.routes {
            if r.origin == Origin::Extra && r.hold_down.is_none() {
                if !wanted.contains(key) {
                    r.hold(now + hold, HoldDownCause::Withdrawn);
                } else if r.metric != metric {
                    r.metric = metric;
                    r.changed = true;
                }
            }
        }
        for key in wanted {
            let keep = self.routes.get(&key).is_some_and(|r| {
                r.origin == Origin::Extra && r.hold_down.is_none()
                    || matches!(r.origin, Origin::Connected(_)) && r.hold_down.is_none()
            });
            if !keep {
                let mut r = Route::local(Origin::Extra, metric, now);
                if let Some(old) = self.routes.remove(&key) {
                    r.dependents = old.dependents;
                    r.reported = old.reported;
                }
                self.routes.insert(key, r);
            }
        }
        self.config = config;
        self.finish(now, &mut out);
        out
    }

    /// Enable DVMRP on an interface or replace its configuration. If the interface is up
    /// (see [`InterfaceChange::Up`]) it starts at once: first Probe, its subnet originated.
    /// A new metric changes the metric of the interface's subnet (flash update) and applies
    /// to learned routes from their next report.
    pub fn configure_interface(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        cfg: InterfaceConfig,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        self.run_timers(now, &mut out);
        self.cache_all_dirty = true;
        let iface = self
            .interfaces
            .entry(ifindex)
            .or_insert_with(Interface::new);
        let old = iface.cfg.replace(cfg.clone());
        if iface.active {
            if let (Some(old), Some(link)) = (old, iface.link.clone()) {
                if cfg.passive {
                    iface.next_probe = None;
                    iface.next_report = None;
                } else {
                    if old.passive || old.probe_interval != cfg.probe_interval {
                        iface.next_probe = Some(now + cfg.probe_interval);
                    }
                    if old.passive || old.report_interval != cfg.report_interval {
                        iface.next_report = Some(now + cfg.report_interval);
                    }
                }
                if old.effective_metric() != cfg.effective_metric() {
                    let key = key_of(link.addr, link.prefix_len);
                    if let Some(r) = self
                        .routes
                        .get_mut(&key)
                        .filter(|r| r.origin == Origin::Connected(ifindex) && r.hold_down.is_none())
                    {
                        r.metric = cfg.effective_metric();
                        r.changed = true;
                    }
                }
            }
        } else {
            self.activate(now, ifindex, &mut out);
        }
        self.finish(now, &mut out);
        out
    }

    /// Disable DVMRP on an interface: its neighbours are lost, its subnet goes into
    /// hold-down, and its state is forgotten.
    pub fn remove_interface(&mut self, now: Instant, ifindex: IfIndex) -> Vec<Action> {
        let mut out = Vec::new();
        self.run_timers(now, &mut out);
        self.cache_all_dirty = true;
        self.deactivate(now, ifindex, &mut out);
        if let Some(iface) = self.interfaces.get_mut(&ifindex) {
            iface.cfg = None;
            if iface.link.is_none() {
                self.interfaces.remove(&ifindex);
            }
        }
        self.finish(now, &mut out);
        out
    }

    /// Several inputs at the same time `now`, as [`Protocol::handle`] would take them one
    /// by one, but with the timers and the forwarding cache evaluated once for the lot:
    /// the shell gives the kernel counters of every entry this way each second.
    pub fn handle_all<'a>(
        &mut self,
        now: Instant,
        inputs: impl IntoIterator<Item = Input<'a>>,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        self.run_timers(now, &mut out);
        for input in inputs {
            self.input(now, input, &mut out);
        }
        self.finish(now, &mut out);
        out
    }

    fn input(&mut self, now: Instant, input: Input<'_>, out: &mut Vec<Action>) {
        // Anything but traffic (counters, upcalls) may change every forwarding entry.
        if !matches!(input, Input::MfcStats { .. } | Input::Upcall { .. }) {
            self.cache_all_dirty = true;
        }
        match input {
            Input::Packet(pkt) => self.on_packet(now, &pkt, out),
            Input::Interface(InterfaceChange::Up {
                ifindex,
                name,
                addr,
                prefix_len,
            }) => self.link_up(
                now,
                ifindex,
                Link {
                    name,
                    addr,
                    prefix_len,
                },
                out,
            ),
            Input::Interface(InterfaceChange::Down { ifindex }) => {
                self.link_down(now, ifindex, out)
            }
            Input::Membership(m) => self.on_membership(m),
            Input::Upcall {
                kind: UpcallKind::NoCache,
                key,
                ..
            } => self.on_nocache(now, key),
            Input::MfcStats { key, packets, .. } => self.on_mfc_stats(now, key, packets),
            _ => {}
        }
    }

    // -----------------------------------------------------------------------------------
    // Accessors for forwarding (3.3) and pruning (3.5)

    /// The best matching route with a path (longest prefix): one probe of the table
    /// per prefix length, longest first (at most 33 lookups, whatever the table's size).
    fn lookup(&self, source: Ipv4Addr) -> Option<(&Key, &Route)> {
        (0..=32u8).rev().find_map(|len| {
            self.routes
                .get_key_value(&key_of(source, len))
                .filter(|(_, r)| r.is_reachable())
        })
    }

    /// The reverse path towards `source` (2.2, 3.3.2): the upstream interface and the
    /// upstream neighbour (None for a directly connected source network). None if no
    /// route has a path, or the best match is an extra route (no DVMRP interface).
    pub fn rpf(&self, source: Ipv4Addr) -> Option<(IfIndex, Option<Ipv4Addr>)> {
        let (_, r) = self.lookup(source)?;
        match r.origin {
            Origin::Extra => None,
            Origin::Connected(i) if r.hold_down.is_none() => Some((i, None)),
            _ => r.upstream.map(|(i, a)| (i, Some(a))),
        }
    }

    /// The designated forwarder (3.3.1) for the best route to `source` on `ifindex`: the
    /// router with the lowest advertised metric, ties to the lowest address; us included
    /// (our address on `ifindex`). None on the upstream interface, on an inactive
    /// interface, or if nobody has a path.
    pub fn designated_forwarder(&self, ifindex: IfIndex, source: Ipv4Addr) -> Option<Ipv4Addr> {
        let (_, r) = self.lookup(source)?;
        self.forwarder(r, ifindex)
    }

    fn forwarder(&self, r: &Route, ifindex: IfIndex) -> Option<Ipv4Addr> {
        let iface = self.interfaces.get(&ifindex).filter(|i| i.active)?;
        let link = iface.link.as_ref()?;
        if r.upstream_if() == Some(ifindex) {
            return None;
        }
        let max_age = iface.cfg.as_ref()?.route_expiration;
        let mut best =
            (r.advertised_metric() < INFINITY).then_some((r.advertised_metric(), link.addr));
        for (addr, (metric, at)) in r.reported.get(&ifindex).into_iter().flatten() {
            if !iface.is_two_way(*addr) || self.now.saturating_duration_since(*at) > max_age {
                continue;
            }
            let cand = (*metric, *addr);
            if best.is_none_or(|b| cand < b) {
                best = Some(cand);
            }
        }
        best.map(|b| b.1)
    }

    /// This router is the designated forwarder for `source`'s network on `ifindex`
    /// (3.3.1).
    pub fn is_designated_forwarder(&self, ifindex: IfIndex, source: Ipv4Addr) -> bool {
        self.lookup(source)
            .is_some_and(|(_, r)| self.forwards_onto(r, ifindex))
    }

    /// This router is the designated forwarder of route `r` on `ifindex` (3.3.1).
    fn forwards_onto(&self, r: &Route, ifindex: IfIndex) -> bool {
        let ours = self
            .interfaces
            .get(&ifindex)
            .and_then(|i| i.link.as_ref())
            .map(|l| l.addr);
        ours.is_some() && self.forwarder(r, ifindex) == ours
    }

    /// The interfaces where this router is the designated forwarder for `source`'s network,
    /// the upstream interface excluded (the candidates of 3.3.3).
    pub fn child_interfaces(&self, source: Ipv4Addr) -> Vec<IfIndex> {
        self.interfaces
            .keys()
            .copied()
            .filter(|&i| self.is_designated_forwarder(i, source))
            .collect()
    }

    /// The downstream neighbours on `ifindex` that depend on us for `source`'s network,
    /// learned from their poison reverse (2.3, 3.4.4), sorted.
    pub fn dependent_neighbors(&self, ifindex: IfIndex, source: Ipv4Addr) -> Vec<Ipv4Addr> {
        self.lookup(source)
            .map(|(_, r)| self.dependents(r, ifindex).into_iter().collect())
            .unwrap_or_default()
    }

    /// The two-way neighbours on an active `ifindex` whose poison reverse for route `r`
    /// is not older than the interface's route expiration time (3.4.4).
    fn dependents(&self, r: &Route, ifindex: IfIndex) -> BTreeSet<Ipv4Addr> {
        let Some(iface) = self.interfaces.get(&ifindex).filter(|i| i.active) else {
            return BTreeSet::new();
        };
        let max_age = iface
            .cfg
            .as_ref()
            .map_or(Duration::ZERO, |c| c.route_expiration);
        r.dependents_on(ifindex, self.now, max_age)
            .into_iter()
            .filter(|a| iface.is_two_way(*a))
            .collect()
    }

    /// The two-way neighbours of an interface.
    pub fn two_way_neighbors(&self, ifindex: IfIndex) -> Vec<Ipv4Addr> {
        self.interfaces
            .get(&ifindex)
            .map(|i| {
                i.neighbors
                    .values()
                    .filter(|n| n.is_two_way())
                    .map(|n| n.addr)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The state with times relative to `now`.
    pub fn snapshot_at(&self, now: Instant) -> Snapshot {
        let mut counters: BTreeMap<String, u64> = BTreeMap::new();
        let interfaces = self
            .interfaces
            .iter()
            .map(|(&ifindex, i)| {
                for (k, v) in i.received.iter().chain(&i.dropped) {
                    *counters.entry((*k).to_string()).or_default() += v;
                }
                InterfaceSnapshot {
                    ifindex,
                    name: i.link.as_ref().map(|l| l.name.clone()),
                    address: i.link.as_ref().map(|l| l.addr),
                    prefix_len: i.link.as_ref().map(|l| l.prefix_len),
                    configured: i.cfg.is_some(),
                    active: i.active,
                    metric: i.cfg.as_ref().map(InterfaceConfig::effective_metric),
                    generation_id: i.generation_id,
                    next_probe_ms: i.next_probe.map(|t| ms(now.until(t))),
                    next_report_ms: i.next_report.map(|t| ms(now.until(t))),
                    probes_sent: i.probes_sent,
                    reports_sent: i.reports_sent,
                    sent: i.sent.iter().map(|(k, v)| ((*k).to_string(), *v)).collect(),
                    tunnel_peer: i.cfg.as_ref().and_then(|c| c.tunnel_peer),
                    passive: i.cfg.as_ref().is_some_and(|c| c.passive),
                    neighbors: i
                        .neighbors
                        .values()
                        .map(|n| NeighborSnapshot {
                            address: n.addr,
                            state: n.state,
                            generation_id: n.generation_id,
                            capabilities: n.header.capabilities.0,
                            capability_names: capability_names(n.header.capabilities),
                            major_version: n.header.major,
                            minor_version: n.header.minor,
                            uptime_ms: ms(now.saturating_duration_since(n.since)),
                            expiry_ms: ms(now.until(n.expires)),
                            probes: n.probes,
                            reports: n.reports,
                        })
                        .collect(),
                    received: i
                        .received
                        .iter()
                        .map(|(k, v)| ((*k).to_string(), *v))
                        .collect(),
                    dropped: i
                        .dropped
                        .iter()
                        .map(|(k, v)| ((*k).to_string(), *v))
                        .collect(),
                }
            })
            .collect();
        let routes = self
            .routes
            .iter()
            .map(|(&(network, prefix_len), r)| {
                let state = match r.hold_down.map(|h| h.cause) {
                    None => RouteState::Valid,
                    Some(HoldDownCause::Expired) => RouteState::Expired,
                    Some(_) => RouteState::HeldDown,
                };
                RouteSnapshot {
                    network,
                    prefix_len,
                    origin: match r.origin {
                        Origin::Connected(_) => "connected",
                        Origin::Extra => "extra",
                        Origin::Learned => "learned",
                    },
                    metric: r.metric,
                    advertised_metric: r.advertised_metric(),
                    upstream_neighbor: r.upstream.map(|u| u.1),
                    upstream_interface: r.upstream_if(),
                    state,
                    hold_down_cause: r.hold_down.map(|h| h.cause),
                    uptime_ms: ms(now.saturating_duration_since(r.created)),
                    age_ms: ms(now.saturating_duration_since(r.refreshed)),
                    expiry_ms: r.expires.map(|t| ms(now.until(t))),
                    hold_down_ms: r.hold_down.map(|h| ms(now.until(h.until))),
                    dependents: self
                        .interfaces
                        .iter()
                        .filter_map(|(&i, iface)| {
                            let max_age = iface.cfg.as_ref()?.route_expiration;
                            let n: Vec<Ipv4Addr> =
                                r.dependents_on(i, now, max_age).into_iter().collect();
                            (!n.is_empty()).then_some(DependentsSnapshot {
                                ifindex: i,
                                neighbors: n,
                            })
                        })
                        .collect(),
                    forwarders: self
                        .interfaces
                        .iter()
                        .filter(|(i, iface)| iface.active && r.upstream_if() != Some(**i))
                        .map(|(&i, iface)| {
                            let f = self.forwarder(r, i);
                            ForwarderSnapshot {
                                ifindex: i,
                                forwarder: f,
                                is_us: f.is_some() && f == iface.link.as_ref().map(|l| l.addr),
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        for (k, v) in self.other.received.iter().chain(&self.other.dropped) {
            *counters.entry((*k).to_string()).or_default() += v;
        }
        let names = |m: &BTreeMap<&'static str, u64>| -> BTreeMap<String, u64> {
            m.iter().map(|(k, v)| ((*k).to_string(), *v)).collect()
        };
        Snapshot {
            interfaces,
            routes,
            forwarding: self.forwarding_snapshot(now),
            other_interfaces: OtherInterfacesSnapshot {
                received: names(&self.other.received),
                dropped: names(&self.other.dropped),
                sent: names(&self.other.sent),
            },
            counters,
        }
    }

    // -----------------------------------------------------------------------------------
    // Interfaces

    /// Start DVMRP on an interface that is configured and up (3.2, 3.2.2).
    fn activate(&mut self, now: Instant, ifindex: IfIndex, out: &mut Vec<Action>) {
        let Some(iface) = self.interfaces.get_mut(&ifindex) else {
            return;
        };
        let (Some(cfg), Some(link)) = (iface.cfg.clone(), iface.link.clone()) else {
            return;
        };
        if iface.active {
            return;
        }
        iface.active = true;
        iface.generation_id = Some(self.rng.generation_id(iface.generation_id));
        if !cfg.passive {
            iface.next_probe = Some(now + cfg.probe_interval);
            let jitter = self.rng.delay(cfg.report_interval / 4);
            iface.next_report = Some(now + cfg.report_interval.saturating_sub(jitter));
            self.send_probe(now, ifindex, out);
        }
        // The interface's subnet is directly connected (2.2); a tunnel has none (its
        // endpoint address belongs to another interface's subnet).
        if cfg.tunnel_peer.is_some() {
            return;
        }
        let key = key_of(link.addr, link.prefix_len);
        let metric = cfg.effective_metric();
        match self.routes.get_mut(&key) {
            Some(r) => {
                let (dependents, reported) = (
                    std::mem::take(&mut r.dependents),
                    std::mem::take(&mut r.reported),
                );
                *r = Route::local(Origin::Connected(ifindex), metric, now);
                r.dependents = dependents;
                r.reported = reported;
            }
            None => {
                self.routes
                    .insert(key, Route::local(Origin::Connected(ifindex), metric, now));
            }
        }
    }

    /// Stop DVMRP on an interface: neighbours lost (3.2.4), the subnet into hold-down.
    fn deactivate(&mut self, now: Instant, ifindex: IfIndex, out: &mut Vec<Action>) {
        let Some(iface) = self.interfaces.get_mut(&ifindex) else {
            return;
        };
        if !iface.active {
            return;
        }
        iface.active = false;
        iface.next_probe = None;
        iface.next_report = None;
        iface.report_queue.clear();
        let hold = iface.cfg.as_ref().map_or(Duration::ZERO, |c| c.hold_down);
        let neighbors = std::mem::take(&mut iface.neighbors);
        for n in neighbors.values() {
            if n.is_two_way() {
                event(
                    out,
                    events::NEIGHBOR_DOWN,
                    format!("{ifindex} {}: {}", n.addr, down_reasons::INTERFACE_DOWN),
                );
            }
            self.neighbor_lost(now, ifindex, n.addr);
        }
        for r in self.routes.values_mut() {
            r.forget_interface(ifindex);
            if r.origin == Origin::Connected(ifindex) && r.hold_down.is_none() {
                r.hold(now + hold, HoldDownCause::InterfaceDown);
            }
        }
    }

    fn link_up(&mut self, now: Instant, ifindex: IfIndex, link: Link, out: &mut Vec<Action>) {
        let iface = self
            .interfaces
            .entry(ifindex)
            .or_insert_with(Interface::new);
        if iface.link.as_ref() == Some(&link) {
            return;
        }
        if iface.link.is_some() {
            // A new address: restart the interface.
            self.deactivate(now, ifindex, out);
        }
        if let Some(iface) = self.interfaces.get_mut(&ifindex) {
            iface.last_addr = Some(link.addr);
            iface.link = Some(link);
        }
        self.activate(now, ifindex, out);
    }

    fn link_down(&mut self, now: Instant, ifindex: IfIndex, out: &mut Vec<Action>) {
        self.deactivate(now, ifindex, out);
        if let Some(iface) = self.interfaces.get_mut(&ifindex) {
            iface.link = None;
            if iface.cfg.is_none() {
                self.interfaces.remove(&ifindex);
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Probes and neighbours (3.2)

    fn send_probe(&mut self, _now: Instant, ifindex: IfIndex, out: &mut Vec<Action>) {
        let Some(iface) = self.interfaces.get_mut(&ifindex).filter(|i| i.active) else {
            return;
        };
        let msg = Message::new(Body::Probe(Probe {
            generation_id: iface.generation_id.unwrap_or(0),
            neighbors: iface.neighbors.keys().copied().collect(),
        }));
        iface.probes_sent += 1;
        let (dst, ttl) = iface.all_routers();
        send(out, ifindex, dst, ttl, &msg);
    }

    fn on_probe(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        src: Ipv4Addr,
        header: Header,
        probe: Probe,
        out: &mut Vec<Action>,
    ) {
        let Some(iface) = self.interfaces.get_mut(&ifindex) else {
            return;
        };
        let (Some(cfg), Some(link)) = (iface.cfg.clone(), iface.link.clone()) else {
            return;
        };
        let lists_us = probe.neighbors.contains(&link.addr);
        let mut trigger_probe = false;
        let mut lost = false;
        match iface.neighbors.get_mut(&src) {
            None => {
                iface.neighbors.insert(
                    src,
                    Neighbor {
                        addr: src,
                        generation_id: probe.generation_id,
                        header,
                        state: NeighborState::OneWay,
                        since: now,
                        two_way_since: None,
                        expires: now + cfg.neighbor_timeout,
                        probes: 1,
                        reports: 0,
                    },
                );
                trigger_probe = true;
            }
            Some(n) => {
                n.probes += 1;
                n.expires = now + cfg.neighbor_timeout;
                n.header = header;
                if n.generation_id != probe.generation_id {
                    // 3.2.2: the neighbour restarted.
                    event(
                        out,
                        events::NEIGHBOR_RESTART,
                        format!(
                            "{ifindex} {src}: generation id {:#010x} -> {:#010x}",
                            n.generation_id, probe.generation_id
                        ),
                    );
                    n.generation_id = probe.generation_id;
                    n.state = NeighborState::OneWay;
                    n.two_way_since = None;
                    n.since = now;
                    lost = true;
                    trigger_probe = true;
                } else if n.is_two_way() && !lists_us {
                    event(
                        out,
                        events::NEIGHBOR_DOWN,
                        format!("{ifindex} {src}: {}", down_reasons::NOT_LISTED),
                    );
                    n.state = NeighborState::OneWay;
                    n.two_way_since = None;
                    lost = true;
                }
            }
        }
        if lost {
            self.neighbor_lost(now, ifindex, src);
        }
        let Some(n) = self
            .interfaces
            .get_mut(&ifindex)
            .and_then(|i| i.neighbors.get_mut(&src))
        else {
            return;
        };
        let became_two_way = lists_us && !n.is_two_way();
        if became_two_way {
            n.state = NeighborState::TwoWay;
            n.two_way_since = Some(now);
            event(
                out,
                events::NEIGHBOR_UP,
                format!(
                    "{ifindex} {src}: two-way, generation id {:#010x}",
                    n.generation_id
                ),
            );
        }
        if trigger_probe {
            self.send_probe(now, ifindex, out);
        }
        if became_two_way {
            // 3.4.5 and 3.2.2: a unicast copy of the whole table.
            self.send_report(now, ifindex, src, false, out);
        }
    }

    /// A neighbour is gone or restarted (3.2.4): routes through it into hold-down, its
    /// dependencies and designated forwarder candidacy removed.
    fn neighbor_lost(&mut self, now: Instant, ifindex: IfIndex, addr: Ipv4Addr) {
        self.forget_neighbor_prunes(ifindex, addr);
        let hold = self
            .interfaces
            .get(&ifindex)
            .and_then(|i| i.cfg.as_ref())
            .map_or(Duration::ZERO, |c| c.hold_down);
        for r in self.routes.values_mut() {
            r.forget_neighbor(ifindex, addr);
            if r.upstream == Some((ifindex, addr)) {
                if r.hold_down.is_some() {
                    r.drop_path();
                } else {
                    r.hold(now + hold, HoldDownCause::NeighborLost);
                }
                replace_path(r, &self.interfaces, now);
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Reports (3.4)

    fn on_report(&mut self, now: Instant, ifindex: IfIndex, src: Ipv4Addr, report: Report) {
        let Some(iface) = self.interfaces.get_mut(&ifindex) else {
            return;
        };
        let Some(cfg) = iface.cfg.clone() else {
            return;
        };
        match iface.neighbors.get_mut(&src) {
            Some(n) if n.is_two_way() => n.reports += 1,
            _ => {
                iface.drop(reasons::NOT_TWO_WAY);
                return;
            }
        }
        for e in report.routes {
            let reason = if !e.has_legal_metric() {
                reasons::ILLEGAL_METRIC
            } else if e.has_host_bits() {
                reasons::HOST_BITS
            } else {
                self.process_route(now, &cfg, (ifindex, src), e);
                continue;
            };
            if let Some(iface) = self.interfaces.get_mut(&ifindex) {
                iface.drop(reason);
            }
        }
    }

    /// One route of a Report from two-way neighbour `nbr` (3.4.6).
    fn process_route(
        &mut self,
        now: Instant,
        cfg: &InterfaceConfig,
        nbr: (IfIndex, Ipv4Addr),
        e: RouteEntry,
    ) {
        let (ifindex, src) = nbr;
        let key = (e.network, e.prefix_len);
        let m = e.metric;
        let adjust = |m: u8| {
            if m < INFINITY {
                (m + cfg.effective_metric()).min(INFINITY)
            } else {
                INFINITY
            }
        };
        let Some(r) = self.routes.get_mut(&key) else {
            // A. A new route with a finite adjusted metric is added.
            let adj = adjust(m);
            if adj < INFINITY {
                self.routes
                    .insert(key, Route::learned(nbr, adj, now, cfg.route_expiration));
            }
            return;
        };
        // Designated forwarder candidates (3.3.1): what the neighbour advertises here.
        if m < INFINITY {
            r.reported.entry(ifindex).or_default().insert(src, (m, now));
        } else if let Some(x) = r.reported.get_mut(&ifindex) {
            x.remove(&src);
        }
        let on_upstream_if = r.upstream_if() == Some(ifindex);
        if m > INFINITY && !on_upstream_if {
            // B.3.a: poison reverse from a downstream interface: a dependent neighbour.
            r.dependents.entry(ifindex).or_default().insert(src, now);
            return;
        }
        // B.1, B.2: the dependency (if any) is cancelled; B.3.b: poison reverse on the
        // upstream interface counts as infinity.
        if let Some(d) = r.dependents.get_mut(&ifindex) {
            d.remove(&src);
        }
        if r.is_local() {
            return;
        }
        let adj = adjust(m.min(INFINITY));
        if adj < INFINITY {
            Self::reachable(r, now, cfg, nbr, adj);
        } else if r.upstream == Some(nbr) {
            // B.2.a: the next hop says unreachable: delete (hold-down, 3.4.8).
            if r.hold_down.is_some() {
                r.drop_path();
            } else {
                r.hold(now + cfg.hold_down, HoldDownCause::Unreachable);
            }
            replace_path(r, &self.interfaces, now);
        }
        // B.2.b: from another neighbour: ignored.
    }

    /// 3.4.6 B.1 (and 3.4.8 for a route in hold-down).
    fn reachable(
        r: &mut Route,
        now: Instant,
        cfg: &InterfaceConfig,
        nbr: (IfIndex, Ipv4Addr),
        adj: u8,
    ) {
        let better = |r: &Route| {
            adj < r.metric || (adj == r.metric && r.upstream.is_none_or(|u| nbr.1 < u.1))
        };
        if let Some(h) = r.hold_down {
            if h.from == Some(nbr) && h.metric == adj {
                // Re-learned from the same router with the same metric: out of hold-down.
                r.hold_down = None;
                r.origin = Origin::Learned;
                r.metric = adj;
                r.upstream = Some(nbr);
                r.refresh(now, cfg.route_expiration);
                r.changed = true;
            } else if r.upstream == Some(nbr) || better(r) {
                // A replacement path, used but not advertised during hold-down.
                r.origin = Origin::Learned;
                r.metric = adj;
                r.upstream = Some(nbr);
                r.refresh(now, cfg.route_expiration);
            }
            return;
        }
        if r.upstream == Some(nbr) {
            // B.1.a / B.1.b / B.1.c from the upstream neighbour: update and refresh.
            if adj != r.metric {
                r.metric = adj;
                r.changed = true;
            }
            r.refresh(now, cfg.route_expiration);
        } else if better(r) {
            // B.1.b, B.1.c: a better metric, or the same from a lower address.
            r.metric = adj;
            r.upstream = Some(nbr);
            r.refresh(now, cfg.route_expiration);
            r.changed = true;
        }
    }

    /// The entries to advertise on `ifindex` (3.4.4, 3.4.8): hold-down as infinity, routes
    /// learned on `ifindex` poisoned (metric + 32).
    fn entries_for(&self, ifindex: IfIndex, only_changed: bool) -> Vec<RouteEntry> {
        let mut entries: Vec<RouteEntry> = self
            .routes
            .iter()
            .filter(|(_, r)| !only_changed || r.changed)
            .map(|(&(net, len), r)| {
                let adv = r.advertised_metric();
                let metric = if adv < INFINITY
                    && r.origin == Origin::Learned
                    && r.upstream_if() == Some(ifindex)
                {
                    adv + INFINITY
                } else {
                    adv
                };
                RouteEntry::new(net, len, metric)
            })
            .collect();
        entries.sort_by_key(|e| (e.prefix_len, e.network));
        entries
    }

    /// Send the table (or the changed routes) on `ifindex` to `dst`.
    fn send_report(
        &mut self,
        _now: Instant,
        ifindex: IfIndex,
        dst: Ipv4Addr,
        only_changed: bool,
        out: &mut Vec<Action>,
    ) {
        let entries = self.entries_for(ifindex, only_changed);
        let Some(iface) = self.interfaces.get_mut(&ifindex) else {
            return;
        };
        let (dst, ttl) = if dst == ALL_DVMRP_ROUTERS {
            iface.all_routers()
        } else {
            (dst, UNICAST_TTL)
        };
        for report in packet::split_report(&entries, self.config.max_report_len) {
            iface.reports_sent += 1;
            send(out, ifindex, dst, ttl, &Message::new(Body::Report(report)));
        }
    }

    /// The periodic Report on `ifindex` (3.4.5): the whole table, in as many messages as
    /// it takes; when it takes more than one they are spread evenly over the Route Report
    /// Interval (3.4.2), the first at once, so that a large table does not leave in one
    /// burst. What is still queued from the previous interval is dropped (it is stale).
    fn send_periodic_report(
        &mut self,
        t: Instant,
        ifindex: IfIndex,
        interval: Duration,
        out: &mut Vec<Action>,
    ) {
        let entries = self.entries_for(ifindex, false);
        let reports = packet::split_report(&entries, self.config.max_report_len);
        let Some(iface) = self.interfaces.get_mut(&ifindex) else {
            return;
        };
        iface.report_queue.clear();
        let (dst, ttl) = iface.all_routers();
        let n = u32::try_from(reports.len()).unwrap_or(u32::MAX).max(1);
        let step = interval / n;
        for (k, report) in reports.into_iter().enumerate() {
            if k == 0 {
                iface.reports_sent += 1;
                send(out, ifindex, dst, ttl, &Message::new(Body::Report(report)));
            } else {
                let at = t + step * u32::try_from(k).unwrap_or(u32::MAX);
                iface.report_queue.push_back((at, report));
            }
        }
    }

    /// Send a Prune, Graft or Graft Ack to a neighbour (unicast, 3.5.6, 3.6).
    fn send_to_neighbor(
        &mut self,
        ifindex: IfIndex,
        nbr: Ipv4Addr,
        msg: Message,
        out: &mut Vec<Action>,
    ) {
        let Some(iface) = self.interfaces.get_mut(&ifindex).filter(|i| i.active) else {
            return;
        };
        *iface.sent.entry(kinds::of(&msg.body)).or_default() += 1;
        send(out, ifindex, nbr, UNICAST_TTL, &msg);
    }

    // -----------------------------------------------------------------------------------
    // Timers

    fn route_poll_at(&self) -> Option<Instant> {
        self.routes
            .values()
            .flat_map(|r| [r.expires, r.hold_down.map(|h| h.until)])
            .flatten()
            .min()
    }

    fn schedule_flash(&mut self, now: Instant) {
        if self.flash_at.is_none() && self.routes.values().any(|r| r.changed) {
            let earliest = self
                .last_flash
                .map_or(now, |t| t + self.config.min_flash_update_interval);
            self.flash_at = Some(earliest.max(now));
        }
    }

    fn finish(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.schedule_flash(now);
        self.run_timers(now, out);
    }

    fn run_timers(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.now = self.now.max(now);
        while let Some(deadline) = self.poll_at().filter(|&d| d <= now) {
            self.fire(deadline, out);
            if self.poll_at() == Some(deadline) {
                debug_assert!(false, "DVMRP timer at {deadline:?} did not advance");
                break;
            }
        }
        self.update_cache(now, out);
    }

    /// Everything due at `t`: neighbour time-outs, route expiry and hold-down ends, the
    /// flash update, Probes, periodic Reports.
    fn fire(&mut self, t: Instant, out: &mut Vec<Action>) {
        self.cache_all_dirty = true;
        // Neighbor Time-out (3.2, 3.2.4).
        let mut expired = Vec::new();
        for (&ifindex, iface) in &mut self.interfaces {
            let gone: Vec<Ipv4Addr> = iface
                .neighbors
                .values()
                .filter(|n| n.expires <= t)
                .map(|n| n.addr)
                .collect();
            for addr in gone {
                if let Some(n) = iface.neighbors.remove(&addr) {
                    expired.push((ifindex, n));
                }
            }
        }
        for (ifindex, n) in expired {
            if n.is_two_way() {
                event(
                    out,
                    events::NEIGHBOR_DOWN,
                    format!("{ifindex} {}: {}", n.addr, down_reasons::TIMEOUT),
                );
            }
            self.neighbor_lost(t, ifindex, n.addr);
        }
        // Route Expiration (3.4.7), hold-down end and garbage collection (3.4.8).
        let mut removed = Vec::new();
        for (key, r) in &mut self.routes {
            let cfg = r
                .upstream_if()
                .and_then(|i| self.interfaces.get(&i))
                .and_then(|i| i.cfg.clone())
                .unwrap_or_default();
            if r.expires.is_some_and(|e| e <= t) {
                if r.hold_down.is_some() {
                    r.drop_path();
                } else {
                    let until = (r.refreshed + cfg.effective_garbage_collection()).max(t);
                    r.hold(until, HoldDownCause::Expired);
                }
                replace_path(r, &self.interfaces, t);
            }
            if r.hold_down.is_some_and(|h| h.until <= t) {
                if r.is_reachable() {
                    r.hold_down = None;
                    r.changed = true;
                } else {
                    removed.push(*key);
                }
            }
        }
        for key in removed {
            self.routes.remove(&key);
        }
        // The forwarding cache (3.5, 3.6).
        self.fire_cache(t, out);
        // Flash update (3.4.5), including the changes just made.
        self.schedule_flash(t);
        if self.flash_at.is_some_and(|f| f <= t) {
            self.flash_at = None;
            let targets: Vec<IfIndex> = self
                .interfaces
                .iter()
                .filter(|(_, i)| i.active && i.has_two_way())
                .map(|(&k, _)| k)
                .collect();
            if !targets.is_empty() {
                // Only a flash update actually sent counts for the rate limit.
                self.last_flash = Some(t);
                self.flashes_sent += 1;
            }
            for ifindex in targets {
                self.send_report(t, ifindex, ALL_DVMRP_ROUTERS, true, out);
            }
            for r in self.routes.values_mut() {
                r.changed = false;
            }
        }
        // Probes (3.2) and periodic Reports (3.4.5).
        let due: Vec<(IfIndex, bool, bool)> = self
            .interfaces
            .iter()
            .map(|(&k, i)| {
                (
                    k,
                    i.next_probe.is_some_and(|p| p <= t),
                    i.next_report.is_some_and(|p| p <= t),
                )
            })
            .filter(|&(_, p, r)| p || r)
            .collect();
        for (ifindex, probe, report) in due {
            let Some(iface) = self.interfaces.get_mut(&ifindex) else {
                continue;
            };
            let Some(cfg) = iface.cfg.clone() else {
                continue;
            };
            if probe {
                iface.next_probe = Some(t + cfg.probe_interval);
                self.send_probe(t, ifindex, out);
            }
            if report {
                let Some(iface) = self.interfaces.get_mut(&ifindex) else {
                    continue;
                };
                iface.next_report = Some(t + cfg.report_interval);
                if iface.has_two_way() {
                    self.send_periodic_report(t, ifindex, cfg.report_interval, out);
                }
            }
        }
        // The queued parts of periodic Reports (3.4.2).
        for (&ifindex, iface) in &mut self.interfaces {
            let (dst, ttl) = iface.all_routers();
            while iface.report_queue.front().is_some_and(|(at, _)| *at <= t) {
                let (_, report) = iface.report_queue.pop_front().expect("checked");
                iface.reports_sent += 1;
                send(out, ifindex, dst, ttl, &Message::new(Body::Report(report)));
            }
        }
        // Schedule the flash for changes made after it (none today, but cheap).
        self.schedule_flash(t);
    }

    // -----------------------------------------------------------------------------------
    // Packets

    fn on_packet(&mut self, now: Instant, pkt: &RxPacket<'_>, out: &mut Vec<Action>) {
        let Some(iface) = self.interfaces.get_mut(&pkt.ifindex) else {
            return;
        };
        let Some(link) = iface.link.clone().filter(|_| iface.active) else {
            iface.drop(reasons::INACTIVE);
            return;
        };
        if iface.cfg.as_ref().is_some_and(|c| c.passive) {
            iface.drop(reasons::PASSIVE);
            return;
        }
        if pkt.src == link.addr {
            iface.drop(reasons::OWN_PACKET);
            return;
        }
        let msg = match packet::parse(pkt.payload) {
            Ok(m) => m,
            Err(e) => {
                iface.drop(e.kind());
                return;
            }
        };
        *iface.received.entry(kinds::of(&msg.body)).or_default() += 1;
        // On a tunnel only the peer speaks, by unicast to our end, with any TTL.
        let peer = iface.cfg.as_ref().and_then(|c| c.tunnel_peer);
        let on_subnet = match peer {
            Some(p) => pkt.src == p,
            None => link.prefix_len >= 32 || route::contains(link.addr, link.prefix_len, pkt.src),
        };
        let multicast_ok = |ttl_checked: bool| -> Result<(), &'static str> {
            if peer.is_some() {
                return if pkt.dst == link.addr {
                    Ok(())
                } else {
                    Err(reasons::BAD_DESTINATION)
                };
            }
            if pkt.dst == ALL_DVMRP_ROUTERS {
                if ttl_checked && pkt.ttl != 1 {
                    Err(reasons::BAD_TTL)
                } else {
                    Ok(())
                }
            } else {
                Err(reasons::BAD_DESTINATION)
            }
        };
        // Probes only to All-DVMRP-Routers with TTL 1 (3.2); Reports also by unicast to
        // us (3.4.5); Prunes, Grafts and Graft Acks to us (or the group) from two-way
        // neighbours (3.5.6, 3.6).
        let check = match &msg.body {
            Body::Probe(_) => multicast_ok(true),
            Body::Report(_) | Body::Prune(_) | Body::Graft(_) | Body::GraftAck(_) => {
                if pkt.dst == link.addr {
                    Ok(())
                } else {
                    multicast_ok(matches!(msg.body, Body::Report(_)))
                }
            }
            // Ask-Neighbors and the rest: counted, not answered.
            _ => return,
        };
        let control = matches!(
            msg.body,
            Body::Prune(_) | Body::Graft(_) | Body::GraftAck(_)
        );
        let refused = match check {
            Err(reason) => Some(reason),
            Ok(()) if !on_subnet => Some(reasons::SOURCE_NOT_ON_SUBNET),
            Ok(()) if control && !iface.is_two_way(pkt.src) => Some(reasons::NOT_TWO_WAY),
            Ok(()) => None,
        };
        if let Some(reason) = refused {
            iface.drop(reason);
            return;
        }
        let (ifindex, src) = (pkt.ifindex, pkt.src);
        match msg.body {
            Body::Probe(probe) => self.on_probe(now, ifindex, src, msg.header, probe, out),
            Body::Report(report) => self.on_report(now, ifindex, src, report),
            Body::Prune(prune) => self.on_prune(now, ifindex, src, prune),
            Body::Graft(graft) => self.on_graft(ifindex, src, graft, out),
            Body::GraftAck(ack) => self.on_graft_ack(ifindex, src, ack),
            _ => {}
        }
    }
}

/// A route just lost its path (in hold-down): take the best path other two-way neighbours
/// currently advertise (their last reports, not older than the route expiration time), if
/// any, as its replacement (3.4.8: "the route may be learned via a different gateway").
fn replace_path(r: &mut Route, interfaces: &BTreeMap<IfIndex, Interface>, now: Instant) {
    let mut best: Option<(u8, Ipv4Addr, IfIndex, Instant, Duration)> = None;
    for (ifindex, reported) in &r.reported {
        let Some(iface) = interfaces.get(ifindex).filter(|i| i.active) else {
            continue;
        };
        let Some(cfg) = iface.cfg.as_ref() else {
            continue;
        };
        for (addr, (m, at)) in reported {
            if !iface.is_two_way(*addr)
                || now.saturating_duration_since(*at) >= cfg.route_expiration
            {
                continue;
            }
            let adj = (m + cfg.effective_metric()).min(INFINITY);
            if adj < INFINITY && best.is_none_or(|b| (adj, *addr) < (b.0, b.1)) {
                best = Some((adj, *addr, *ifindex, *at, cfg.route_expiration));
            }
        }
    }
    if let Some((metric, addr, ifindex, at, expiry)) = best {
        r.origin = Origin::Learned;
        r.metric = metric;
        r.upstream = Some((ifindex, addr));
        r.refreshed = at;
        r.expires = Some(at + expiry);
    }
}

fn capability_names(c: packet::Capabilities) -> Vec<&'static str> {
    let mut v = Vec::new();
    for (on, name) in [
        (c.leaf(), "leaf"),
        (c.prune(), "prune"),
        (c.genid(), "genid"),
        (c.mtrace(), "mtrace"),
        (c.snmp(), "snmp"),
        (c.netmask(), "netmask"),
    ] {
        if on {
            v.push(name);
        }
    }
    v
}

impl Protocol for Dvmrp {
    type Snapshot = Snapshot;

    fn handle(&mut self, now: Instant, input: Input<'_>) -> Vec<Action> {
        self.handle_all(now, [input])
    }

    fn on_timeout(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        self.run_timers(now, &mut out);
        out
    }

    fn poll_at(&self) -> Option<Instant> {
        let ifaces = self
            .interfaces
            .values()
            .filter_map(Interface::poll_at)
            .min();
        [
            ifaces,
            self.route_poll_at(),
            self.flash_at,
            self.cache_poll_at(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn snapshot(&self) -> Snapshot {
        self.snapshot_at(self.now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_appendix_a() {
        let c = InterfaceConfig::default();
        assert_eq!(c.metric, 1);
        assert_eq!(c.probe_interval, Duration::from_secs(10));
        assert_eq!(c.neighbor_timeout, Duration::from_secs(35));
        assert_eq!(c.report_interval, Duration::from_secs(60));
        assert_eq!(
            c.route_expiration,
            2 * c.report_interval + Duration::from_secs(20)
        );
        assert_eq!(c.hold_down, 2 * c.report_interval);
        assert_eq!(c.garbage_collection, c.route_expiration + c.hold_down);
        let g = Config::default();
        assert_eq!(g.min_flash_update_interval, Duration::from_secs(5));
        assert_eq!(g.max_report_len, 516);
    }

    #[test]
    fn keys_are_normalised() {
        assert_eq!(
            key_of(Ipv4Addr::new(10, 1, 2, 3), 24),
            (Ipv4Addr::new(10, 1, 2, 0), 24)
        );
        assert_eq!(
            key_of(Ipv4Addr::new(10, 1, 2, 3), 0),
            (Ipv4Addr::UNSPECIFIED, 0)
        );
        assert!(route::contains(
            Ipv4Addr::new(10, 1, 2, 0),
            24,
            Ipv4Addr::new(10, 1, 2, 77)
        ));
        assert!(!route::contains(
            Ipv4Addr::new(10, 1, 2, 0),
            24,
            Ipv4Addr::new(10, 1, 3, 77)
        ));
    }
}
