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
    /// Join/Prune state (4.5).
    pub tib: TibSnapshot,
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

/// The Tree Information Base (RFC 7761 4.1, 4.5): what `mrouterctl show pim upstream|join`
/// prints. Remaining times in milliseconds relative to the snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TibSnapshot {
    /// By group.
    pub groups: Vec<GroupSnapshot>,
    /// The addresses whose reverse path is watched (sources and RPs with state).
    pub rpf_watches: Vec<Ipv4Addr>,
    pub counters: TibCounters,
    /// Register and Register-Stop counters (4.4).
    pub register: RegisterCounters,
}

/// Register (4.4) counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RegisterCounters {
    /// Data Registers sent by the DR (4.4.1).
    pub registers_sent: u64,
    /// Null-Registers sent by the DR when the Register-Stop Timer expired in Prune state.
    pub null_registers_sent: u64,
    /// Registers received (Null-Registers included), and of them Null-Registers.
    pub registers_received: u64,
    pub null_registers_received: u64,
    /// Data Registers received at the RP before SPTbit(S,G): the kernel decapsulates and
    /// forwards them down the shared tree (4.4.2).
    pub registers_decapsulated: u64,
    /// Register-Stops sent (by the RP, or to a DR that registers to a router that is not
    /// RP(G)) and received.
    pub register_stops_sent: u64,
    pub register_stops_received: u64,
    /// Packets handed over for registering that exceed `max_register_payload(1500)`: never
    /// sent (also counted in `dropped`).
    pub register_too_big: u64,
    /// Registers not sent (DR) or not acted on (RP), and Register-Stops ignored, by reason
    /// ([`crate::register_drops`]).
    pub dropped: BTreeMap<String, u64>,
}

/// One group: its (*,G) entry and its (S,G) entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupSnapshot {
    pub group: Ipv4Addr,
    /// RP(G): of the (*,G) entry if there is one, else of the configuration (none for SSM).
    pub rp: Option<Ipv4Addr>,
    /// In the SSM range: never (*,G) state.
    pub ssm: bool,
    pub star_g: Option<EntrySnapshot>,
    pub sources: Vec<EntrySnapshot>,
    /// Sources seen on the shared tree at this last-hop router without (S,G) state, with
    /// their measured rate (for `SptPolicy::Threshold`, 4.2.2).
    pub shared_tree_rates: Vec<SharedTreeRate>,
}

/// The rate of a source on the shared tree (4.2.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SharedTreeRate {
    pub source: Ipv4Addr,
    /// kbit/s between the last two kernel samples; None after one sample.
    pub kbps: Option<u64>,
}

/// (S,G,rpt) state (4.5.4, 4.5.9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RptSnapshot {
    /// Upstream (S,G,rpt) state (4.5.9).
    pub upstream: crate::RptUpstreamState,
    /// Override Timer OT(S,G,rpt), remaining ms.
    pub override_timer_ms: Option<u64>,
    /// Downstream (S,G,rpt) state per interface (4.5.4); NoInfo interfaces are absent.
    pub interfaces: Vec<RptDownstreamSnapshot>,
    /// `inherited_olist(S,G,rpt)` (4.1.6).
    pub inherited_olist: Vec<IfIndex>,
    /// `pim_exclude(S,G)` (4.1.6).
    pub pim_exclude: Vec<IfIndex>,
}

/// (S,G,rpt) downstream state on one interface (4.5.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RptDownstreamSnapshot {
    pub ifindex: IfIndex,
    pub state: crate::RptDownstreamState,
    /// Expiry Timer ET(S,G,rpt,I), remaining ms.
    pub expiry_ms: Option<u64>,
    /// Prune-Pending Timer PPT(S,G,rpt,I), remaining ms.
    pub prune_pending_ms: Option<u64>,
}

/// One (*,G) (`source` None) or (S,G) entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntrySnapshot {
    pub source: Option<Ipv4Addr>,
    pub upstream: UpstreamSnapshot,
    /// Interfaces with downstream state or local members.
    pub interfaces: Vec<DownstreamSnapshot>,
    /// `immediate_olist(X)` (4.1.6), without the RPF interface.
    pub immediate_olist: Vec<IfIndex>,
    /// The forwarding intent last emitted (for (S,G): `inherited_olist(S,G)`, plus the
    /// register VIF in Register state Join; at the RP before SPTbit(S,G): iif the register
    /// VIF, oifs `inherited_olist(S,G,rpt)`).
    pub forwarding: Option<ForwardingSnapshot>,
    /// (S,G) only: Register state (4.4.1) at the DR (`no_info` elsewhere).
    pub register_state: crate::RegisterState,
    /// (S,G) only: Register-Stop Timer RST(S,G) (4.4.1), remaining ms.
    pub register_stop_timer_ms: Option<u64>,
    /// (S,G) only: Keepalive Timer KAT(S,G) (4.1.1, 4.2.1), remaining ms; None: not running.
    pub keepalive_timer_ms: Option<u64>,
    /// (S,G) only: SPTbit(S,G) (4.2.2).
    pub spt_bit: bool,
    /// (S,G) only: SwitchToSptDesired(S,G) (4.2.2) decided at this last-hop router.
    pub switch_to_spt_desired: bool,
    /// (S,G) only: the rate measured from the last two kernel samples, kbit/s.
    pub rate_kbps: Option<u64>,
    /// (S,G) only: (S,G,rpt) state (4.5.4, 4.5.9), None if there is none.
    pub rpt: Option<RptSnapshot>,
    /// Assert state per interface (4.6.1, 4.6.2); NoInfo interfaces are absent.
    pub asserts: Vec<AssertSnapshot>,
}

/// Assert state of an entry on one interface (4.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AssertSnapshot {
    pub ifindex: IfIndex,
    pub state: crate::assert::AssertState,
    /// AssertWinner(X,I): our own address when we are the winner.
    pub winner: Ipv4Addr,
    /// AssertWinnerMetric(X,I).
    pub winner_metric: crate::assert::AssertMetric,
    /// Assert Timer AT(X,I), remaining ms.
    pub assert_timer_ms: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ForwardingSnapshot {
    pub iif: Option<IfIndex>,
    pub oifs: Vec<IfIndex>,
}

/// Upstream state (4.5.6, 4.5.7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpstreamSnapshot {
    pub state: crate::UpstreamState,
    /// Join Timer JT(X), remaining ms (runs while Joined with an RPF').
    pub join_timer_ms: Option<u64>,
    /// RPF_interface(S) or RPF_interface(RP(G)); None at the RP, unreachable or unknown.
    pub rpf_interface: Option<IfIndex>,
    /// MRIB.next_hop of the target (None: directly connected).
    pub mrib_next_hop: Option<Ipv4Addr>,
    /// RPF'(X): the PIM neighbour Joins go to (None: first hop, RP, or no PIM neighbour).
    pub rpf_neighbor: Option<Ipv4Addr>,
    /// The target is this router (we are the RP).
    pub local: bool,
    /// The shell has answered the RPF watch.
    pub rpf_known: bool,
}

/// Downstream state of an entry on one interface (4.5.2, 4.5.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DownstreamSnapshot {
    pub ifindex: IfIndex,
    pub state: crate::DownstreamState,
    /// Expiry Timer ET(X,I), remaining ms (None: NoInfo, or HoldTime 0xffff).
    pub expiry_ms: Option<u64>,
    /// Prune-Pending Timer PPT(X,I), remaining ms.
    pub prune_pending_ms: Option<u64>,
    /// `local_receiver_include(X,I)` (4.1.6), whatever I_am_DR(I).
    pub local_members: bool,
    pub i_am_dr: bool,
}

/// Join/Prune counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TibCounters {
    /// Join/Prune messages received (accepted by the interface).
    pub jp_received: u64,
    /// Join and Prune entries in messages addressed to us.
    pub joins_received: u64,
    pub prunes_received: u64,
    /// Messages or entries ignored, by reason ([`crate::ignored`]).
    pub ignored: BTreeMap<String, u64>,
    /// Join/Prune messages sent, and the entries joined and pruned in them.
    pub jp_sent: u64,
    pub joins_sent: u64,
    pub prunes_sent: u64,
    /// TIB timers running.
    pub timers: u64,
    /// SPT switches at this last-hop router (4.2.2).
    pub spt_switches: u64,
    /// Prune(S,G,rpt) decided by the upstream (S,G,rpt) machine (4.5.9; the periodic
    /// repetitions in Join(*,G) messages are not counted), and received (4.5.4).
    pub rpt_prunes_sent: u64,
    pub rpt_prunes_received: u64,
    /// Assert messages received (4.6), sent (AssertCancel included), AssertCancels sent,
    /// and transitions to Winner and to Loser (or to a new winner).
    pub asserts_received: u64,
    pub asserts_sent: u64,
    pub assert_cancels_sent: u64,
    pub assert_wins: u64,
    pub assert_losses: u64,
}
