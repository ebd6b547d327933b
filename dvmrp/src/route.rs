//! The DVMRP routing table (draft 3.4).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use common::{IfIndex, Instant};
use serde::Serialize;

use crate::packet::INFINITY;

/// Where a route comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The subnet of one of our DVMRP interfaces (2.2).
    Connected(IfIndex),
    /// A configured extra route ([`crate::config::Config::extra_routes`]).
    Extra,
    /// Learned from a neighbour's Report (3.4.6).
    Learned,
}

/// Why a route is in hold-down (3.4.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldDownCause {
    /// Not refreshed within the Route Expiration Time (3.4.7).
    Expired,
    /// The upstream neighbour reported infinity (3.4.6 B.2.a) or poison reverse (B.3.b).
    Unreachable,
    /// The upstream neighbour timed out, restarted or lost two-way state (3.2.4).
    NeighborLost,
    /// The interface of a directly connected subnet went down.
    InterfaceDown,
    /// A configured extra route was removed from the configuration.
    Withdrawn,
}

/// Hold-down state (3.4.8): the route is advertised with metric infinity until `until`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HoldDown {
    pub until: Instant,
    pub cause: HoldDownCause,
    /// The route before hold-down: re-learning it from the same neighbour with the same
    /// metric takes the route out of hold-down early (3.4.8).
    pub from: Option<(IfIndex, Ipv4Addr)>,
    pub metric: u8,
}

/// One route: a source network.
#[derive(Clone, Debug)]
pub(crate) struct Route {
    pub origin: Origin,
    /// Our metric to the network (adjusted, 3.4.6); [`INFINITY`] if we have no path. In
    /// hold-down this is the best replacement learned meanwhile (3.4.8: "MAY use this new
    /// route"), advertised only once the hold-down is over.
    pub metric: u8,
    /// The upstream neighbour (interface, address) of a learned route.
    pub upstream: Option<(IfIndex, Ipv4Addr)>,
    pub created: Instant,
    /// Last refresh (a Report from the upstream neighbour, or origination).
    pub refreshed: Instant,
    /// Route Expiration (3.4.7) of a learned route with a path.
    pub expires: Option<Instant>,
    pub hold_down: Option<HoldDown>,
    /// Downstream dependent neighbours per interface, learned from poison reverse (3.4.4),
    /// with the time of their last poison-reverse report.
    pub dependents: BTreeMap<IfIndex, BTreeMap<Ipv4Addr, Instant>>,
    /// Metrics (as received, 1..=31) that neighbours advertise per interface, with the time
    /// of the report: the candidates of the designated forwarder election (3.3.1).
    pub reported: BTreeMap<IfIndex, BTreeMap<Ipv4Addr, (u8, Instant)>>,
    /// Changed since the last flash update (3.4.5).
    pub changed: bool,
}

impl Route {
    pub fn local(origin: Origin, metric: u8, now: Instant) -> Route {
        Route {
            origin,
            metric,
            upstream: None,
            created: now,
            refreshed: now,
            expires: None,
            hold_down: None,
            dependents: BTreeMap::new(),
            reported: BTreeMap::new(),
            changed: true,
        }
    }

    pub fn learned(nbr: (IfIndex, Ipv4Addr), metric: u8, now: Instant, expiry: Duration) -> Route {
        Route {
            origin: Origin::Learned,
            metric,
            upstream: Some(nbr),
            created: now,
            refreshed: now,
            expires: Some(now + expiry),
            hold_down: None,
            dependents: BTreeMap::new(),
            reported: BTreeMap::new(),
            changed: true,
        }
    }

    /// Directly connected or configured, and not in hold-down: never replaced by a
    /// learned route.
    pub fn is_local(&self) -> bool {
        self.hold_down.is_none() && !matches!(self.origin, Origin::Learned)
    }

    /// The upstream (RPF) interface: the connected interface, or the interface of the
    /// upstream neighbour; None for extra routes and routes without a path.
    pub fn upstream_if(&self) -> Option<IfIndex> {
        match self.origin {
            Origin::Connected(i) => Some(i),
            Origin::Extra => None,
            Origin::Learned => self.upstream.map(|u| u.0),
        }
    }

    /// There is a path (possibly a replacement during hold-down).
    pub fn is_reachable(&self) -> bool {
        self.metric < INFINITY
    }

    /// The metric this router advertises (before poison reverse): infinity in hold-down
    /// (3.4.8).
    pub fn advertised_metric(&self) -> u8 {
        if self.hold_down.is_some() {
            INFINITY
        } else {
            self.metric
        }
    }

    /// Enter hold-down until `until` (3.4.8).
    pub fn hold(&mut self, until: Instant, cause: HoldDownCause) {
        self.hold_down = Some(HoldDown {
            until,
            cause,
            from: self.upstream,
            metric: self.metric,
        });
        self.metric = INFINITY;
        self.upstream = None;
        self.expires = None;
        self.changed = true;
    }

    /// Forget the replacement path of a route in hold-down.
    pub fn drop_path(&mut self) {
        self.metric = INFINITY;
        self.upstream = None;
        self.expires = None;
    }

    pub fn refresh(&mut self, now: Instant, expiry: Duration) {
        self.refreshed = now;
        self.expires = Some(now + expiry);
    }

    /// Forget everything neighbour `addr` on `ifindex` told us (3.2.4 steps 2 and 5).
    pub fn forget_neighbor(&mut self, ifindex: IfIndex, addr: Ipv4Addr) {
        if let Some(d) = self.dependents.get_mut(&ifindex) {
            d.remove(&addr);
            if d.is_empty() {
                self.dependents.remove(&ifindex);
            }
        }
        if let Some(r) = self.reported.get_mut(&ifindex) {
            r.remove(&addr);
            if r.is_empty() {
                self.reported.remove(&ifindex);
            }
        }
    }

    pub fn forget_interface(&mut self, ifindex: IfIndex) {
        self.dependents.remove(&ifindex);
        self.reported.remove(&ifindex);
    }

    /// Dependent neighbours on `ifindex` whose poison reverse is not older than `max_age`.
    pub fn dependents_on(
        &self,
        ifindex: IfIndex,
        now: Instant,
        max_age: Duration,
    ) -> BTreeSet<Ipv4Addr> {
        self.dependents
            .get(&ifindex)
            .into_iter()
            .flatten()
            .filter(|(_, at)| now.saturating_duration_since(**at) <= max_age)
            .map(|(a, _)| *a)
            .collect()
    }
}

/// The netmask of `len` bits.
pub(crate) fn mask(len: u8) -> u32 {
    match len {
        0 => 0,
        l => u32::MAX << (32 - u32::from(l.min(32))),
    }
}

/// `addr` is inside `net/len`.
pub(crate) fn contains(net: Ipv4Addr, len: u8, addr: Ipv4Addr) -> bool {
    u32::from(addr) & mask(len) == u32::from(net) & mask(len)
}
