//! Per-neighbour state and the macros of RFC 7761 section 4.3 that are computed over the
//! neighbours of an interface: the DR election of 4.3.2 (`DR(I)`, `dr_is_better`) and the
//! LAN Prune Delay functions of 4.3.3 (`lan_delay_enabled(I)`,
//! `Effective_Propagation_Delay(I)`, `Effective_Override_Interval(I)`,
//! `Suppression_Enabled(I)`), plus the timer values of 4.11 they use.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use common::Instant;

use crate::packet::Hello;

/// ALL-PIM-ROUTERS, 224.0.0.13 (4.3.1, 4.9): the destination of every Hello.
pub const ALL_PIM_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 13);

/// Default_Hello_Holdtime (4.11): 3.5 x Hello_Period = 105 s, the Neighbor Liveness Timer of
/// a neighbour whose Hello carries no Holdtime option.
pub const DEFAULT_HELLO_HOLDTIME: u16 = 105;

/// Holdtime 0xffff (4.9.2): "the receiver of this message never times out the neighbor".
pub const HOLDTIME_INFINITE: u16 = 0xffff;

/// Propagation_delay_default (4.11): 0.5 s, `Effective_Propagation_Delay(I)` when
/// `lan_delay_enabled(I)` is false.
pub const PROPAGATION_DELAY_DEFAULT: Duration = Duration::from_millis(500);

/// t_override_default (4.11): 2.5 s, `Effective_Override_Interval(I)` when
/// `lan_delay_enabled(I)` is false.
pub const T_OVERRIDE_DEFAULT: Duration = Duration::from_millis(2500);

/// The LAN Prune Delay option of a neighbour (4.3.3, 4.9.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LanPruneDelay {
    /// `neighbor.tracking_support`: the T bit, the neighbour can disable Join suppression.
    pub tracking_support: bool,
    /// `neighbor.propagation_delay`.
    pub propagation_delay: Duration,
    /// `neighbor.override_interval`.
    pub override_interval: Duration,
}

/// What one Hello says about its sender (4.9.2). A repeated option counts once: the first
/// occurrence wins (as the codec's accessors have it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HelloInfo {
    /// Holdtime option, [`DEFAULT_HELLO_HOLDTIME`] when absent.
    pub holdtime: u16,
    pub generation_id: Option<u32>,
    /// `None`: the sender does not support DR priority (4.3.2).
    pub dr_priority: Option<u32>,
    /// `None`: `neighbor.lan_prune_delay_present` is false (4.3.3).
    pub lan_prune_delay: Option<LanPruneDelay>,
    /// Address List option (4.3.4): secondary addresses.
    pub secondary: Vec<Ipv4Addr>,
}

impl HelloInfo {
    pub fn of(hello: &Hello) -> Self {
        HelloInfo {
            holdtime: hello.holdtime().unwrap_or(DEFAULT_HELLO_HOLDTIME),
            generation_id: hello.generation_id(),
            dr_priority: hello.dr_priority(),
            lan_prune_delay: hello.lan_prune_delay().map(|l| LanPruneDelay {
                tracking_support: l.t_bit,
                propagation_delay: Duration::from_millis(u64::from(l.propagation_delay_ms)),
                override_interval: Duration::from_millis(u64::from(l.override_interval_ms)),
            }),
            secondary: hello
                .addresses()
                .map(<[Ipv4Addr]>::to_vec)
                .unwrap_or_default(),
        }
    }
}

/// One PIM neighbour on an interface (4.3.1-4.3.4).
#[derive(Clone, Debug)]
pub(crate) struct Neighbor {
    /// Primary address: the IP source address of its Hellos.
    pub address: Ipv4Addr,
    /// Generation ID of its Hellos (4.3.1), if it sends one.
    pub generation_id: Option<u32>,
    /// `neighbor.dr_priority`; `None`: `neighbor.dr_priority_present` is false (4.3.2).
    pub dr_priority: Option<u32>,
    /// The Holdtime of its last Hello, seconds.
    pub holdtime: u16,
    /// Neighbor Liveness Timer NLT(N,I) (4.3.1): when the neighbour is forgotten; `None` for
    /// Holdtime 0xffff (never).
    pub nlt: Option<Instant>,
    /// When it became a neighbour (or last restarted with a new GenID).
    pub since: Instant,
    /// LAN Prune Delay option of its last Hello (4.3.3).
    pub lan_prune_delay: Option<LanPruneDelay>,
    /// Secondary addresses from its Address List option (4.3.4).
    pub secondary: Vec<Ipv4Addr>,
}

impl Neighbor {
    /// A neighbour created (or re-created after a GenID change) by a Hello at `now`.
    pub fn new(now: Instant, address: Ipv4Addr, info: HelloInfo) -> Self {
        let mut n = Neighbor {
            address,
            generation_id: None,
            dr_priority: None,
            holdtime: 0,
            nlt: None,
            since: now,
            lan_prune_delay: None,
            secondary: Vec::new(),
        };
        n.update(now, info);
        n
    }

    /// Take the information of a new Hello (4.3.1): every option is what the latest Hello
    /// says (an option that is missing now is no longer present, 4.3.3), and the Neighbor
    /// Liveness Timer restarts with its Holdtime. The Generation ID identifies the
    /// neighbour's incarnation rather than a capability: a Hello without one keeps it.
    pub fn update(&mut self, now: Instant, info: HelloInfo) {
        if info.generation_id.is_some() {
            self.generation_id = info.generation_id;
        }
        self.dr_priority = info.dr_priority;
        self.holdtime = info.holdtime;
        self.nlt = nlt(now, info.holdtime);
        self.lan_prune_delay = info.lan_prune_delay;
        // 4.3.4: the sender's primary address is never one of its secondary addresses.
        let mut secondary: Vec<Ipv4Addr> = info
            .secondary
            .into_iter()
            .filter(|a| *a != self.address)
            .collect();
        secondary.sort();
        secondary.dedup();
        self.secondary = secondary;
    }
}

/// The Neighbor Liveness Timer for a Holdtime received at `now`: `None` for 0xffff
/// (4.9.2: never times out). Holdtime 0 is handled by the caller (the neighbour goes at once).
pub(crate) fn nlt(now: Instant, holdtime: u16) -> Option<Instant> {
    (holdtime != HOLDTIME_INFINITE).then(|| now + Duration::from_secs(u64::from(holdtime)))
}

/// A DR candidate (4.3.2): this router ("me") or a neighbour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub primary_ip_address: Ipv4Addr,
    /// `None`: `dr_priority_present` is false.
    pub dr_priority: Option<u32>,
}

impl From<&Neighbor> for Candidate {
    fn from(n: &Neighbor) -> Self {
        Candidate {
            primary_ip_address: n.address,
            dr_priority: n.dr_priority,
        }
    }
}

/// `dr_is_better(a, b, I)` (4.3.2):
///
/// ```text
/// bool dr_is_better(a, b, I) {
///     if( there is a neighbor n on I for which n.dr_priority_present is false ) {
///         return a.primary_ip_address > b.primary_ip_address
///     } else {
///         return ( a.dr_priority > b.dr_priority ) OR
///                ( a.dr_priority == b.dr_priority AND
///                  a.primary_ip_address > b.primary_ip_address )
///     }
/// }
/// ```
///
/// `some_neighbor_lacks_priority` is the condition of the first branch. This router always
/// advertises a DR Priority, so "me" never lacks one.
pub(crate) fn dr_is_better(a: Candidate, b: Candidate, some_neighbor_lacks_priority: bool) -> bool {
    match (some_neighbor_lacks_priority, a.dr_priority, b.dr_priority) {
        (false, Some(pa), Some(pb)) => {
            pa > pb || (pa == pb && a.primary_ip_address > b.primary_ip_address)
        }
        _ => a.primary_ip_address > b.primary_ip_address,
    }
}

/// `DR(I)` (4.3.2): start with "me" and let every better neighbour take its place.
///
/// ```text
/// host DR(I) {
///     highest = me
///     for each neighbor on interface I {
///         if ( dr_is_better( neighbor, highest, I ) == TRUE ) {
///             highest = neighbor
///         }
///     }
///     return highest
/// }
/// ```
pub(crate) fn dr(me: Candidate, neighbors: &BTreeMap<Ipv4Addr, Neighbor>) -> Candidate {
    let lacks = neighbors.values().any(|n| n.dr_priority.is_none());
    let mut highest = me;
    for n in neighbors.values() {
        let c = Candidate::from(n);
        if dr_is_better(c, highest, lacks) {
            highest = c;
        }
    }
    highest
}

/// `lan_delay_enabled(I)` (4.3.3): every neighbour sent the LAN Prune Delay option in its
/// last Hello (true without neighbours; this router always sends it).
pub(crate) fn lan_delay_enabled(neighbors: &BTreeMap<Ipv4Addr, Neighbor>) -> bool {
    neighbors.values().all(|n| n.lan_prune_delay.is_some())
}

/// `Effective_Propagation_Delay(I)` (4.3.3): `Propagation_delay_default` unless
/// `lan_delay_enabled(I)`; otherwise the largest of our own `Propagation_Delay(I)` and every
/// neighbour's.
pub(crate) fn effective_propagation_delay(
    own: Duration,
    neighbors: &BTreeMap<Ipv4Addr, Neighbor>,
) -> Duration {
    if !lan_delay_enabled(neighbors) {
        return PROPAGATION_DELAY_DEFAULT;
    }
    neighbors
        .values()
        .filter_map(|n| n.lan_prune_delay.map(|l| l.propagation_delay))
        .fold(own, Duration::max)
}

/// `Effective_Override_Interval(I)` (4.3.3): `t_override_default` unless
/// `lan_delay_enabled(I)`; otherwise the largest of our own `Override_Interval(I)` and every
/// neighbour's.
pub(crate) fn effective_override_interval(
    own: Duration,
    neighbors: &BTreeMap<Ipv4Addr, Neighbor>,
) -> Duration {
    if !lan_delay_enabled(neighbors) {
        return T_OVERRIDE_DEFAULT;
    }
    neighbors
        .values()
        .filter_map(|n| n.lan_prune_delay.map(|l| l.override_interval))
        .fold(own, Duration::max)
}

/// `Suppression_Enabled(I)` (4.3.3): Join suppression stays enabled unless
/// `lan_delay_enabled(I)` and every neighbour sets the T bit:
///
/// ```text
/// bool Suppression_Enabled(I) {
///     if ( lan_delay_enabled(I) == false ) {
///         return true
///     }
///     for each neighbor on interface I {
///         if ( neighbor.tracking_support == false ) {
///             return true
///         }
///     }
///     return false
/// }
/// ```
///
/// Besides the neighbours, this router's own T bit (`disable_join_suppression`) counts:
/// "unless all PIM routers on a link negotiate this capability, explicit tracking and the
/// disabling of the Join suppression mechanism are not possible", and the neighbours will
/// keep suppressing if we do not advertise the T bit.
pub(crate) fn suppression_enabled(
    own_t_bit: bool,
    neighbors: &BTreeMap<Ipv4Addr, Neighbor>,
) -> bool {
    if !lan_delay_enabled(neighbors) {
        return true;
    }
    if !own_t_bit {
        return true;
    }
    neighbors
        .values()
        .any(|n| n.lan_prune_delay.is_some_and(|l| !l.tracking_support))
}
