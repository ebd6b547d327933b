//! The Tree Information Base (RFC 7761 section 4.1): Join/Prune state for (*,G) and (S,G),
//! keyed by group, with per-interface downstream state (4.5.2, 4.5.3), upstream state
//! (4.5.6, 4.5.7), local membership (4.1.6) and the reverse paths it watches.
//!
//! Layout, chosen so that work per event is proportional to what changed:
//!
//! * `groups`: per group its (*,G) entry (with the RP it was built for), its (S,G) entries
//!   and the local membership per interface. Later parts add (S,G,rpt) entries and assert
//!   state per entry and interface here.
//! * one ordered timer set for all ET/PPT/JT ([`Timers`]), so `poll_at` is O(1);
//! * `watches`: per RPF target (a source or an RP) the answer of the shell and the groups
//!   whose (S,G) or (*,G) entry use it, so an RPF change touches exactly those entries;
//! * `ds_index` (interface -> entries with downstream state there) and `member_index`
//!   (interface -> groups with local members there), for interface-down and DR changes.
//!
//! Every change ends in [`Tib::refresh`] of the entries it touched: the olists (4.1.6) are
//! recomputed, the upstream state machine is given `JoinDesired` and `RPF'`, the forwarding
//! intent is emitted if it changed, and an entry without any state left is removed (with
//! `Unforward` and `UnwatchRpf` when it was the last user of its target).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use common::{Action, Event, FilterMode, Forwarding, IfIndex, Instant, Membership, RouteKey, Rpf};

use crate::assert::{self as asrt, AssertInput, AssertMetric, AssertState, Conds, IfAssert, Step};
use crate::config::{Config, SptPolicy};
use crate::downstream::Oif;
use crate::events;
use crate::interface::{IfView, Interface};
use crate::jp::Outbox;
use crate::macros::{
    AssertInputsSg, AssertInputsStarG, Member, assert_tracking_desired_sg,
    assert_tracking_desired_star_g, could_assert_sg, could_assert_star_g, directly_connected,
    immediate_olist, inherited_olist_sg, inherited_olist_sg_rpt, join_desired, join_desired_sg,
    joins, local_receiver_include_sg, local_receiver_include_star_g, lost_assert_sg,
    lost_assert_sg_rpt, lost_assert_star_g, minus, pim_exclude_sg, pim_include_sg,
    pim_include_star_g, routable_group, rpf_interface, rpf_prime,
};
use crate::neighbor::{PROPAGATION_DELAY_DEFAULT, T_OVERRIDE_DEFAULT};
use crate::packet::{self, EncodedGroup, Message, Register, RegisterStop};
use crate::packet::{EncodedSource, JoinPrune, JoinPruneGroup};
use crate::register::{KEEPALIVE_PERIOD, REGISTER_MTU, RP_KEEPALIVE_PERIOD, Reg, RegOutcome};
use crate::rng::Rng;
use crate::rpt::{self, Rate, Rpt, RptSend, RptUpstreamState};
use crate::snapshot::{
    AssertSnapshot, DownstreamSnapshot, EntrySnapshot, ForwardingSnapshot, GroupSnapshot,
    RegisterCounters, RptDownstreamSnapshot, RptSnapshot, SharedTreeRate, TibCounters, TibSnapshot,
    UpstreamSnapshot,
};
use crate::timers::{TimerKind, TimerRef, Timers};
use crate::upstream::{self, Nbr, Upstream, UpstreamState};

/// What another router's message says about an upstream entry (RFC 7761 4.5.7).
#[derive(Clone, Copy, Debug)]
enum SeenUpstream {
    /// "See Prune(X) to RPF'(X)", or "RPF'(X) GenID changes".
    PruneOrGenId,
    /// "See Join(X) to RPF'(X)" with the Join's holdtime.
    Join { holdtime: u16 },
}

/// Why a Join/Prune message, or one of its entries, was ignored (counted in
/// [`TibCounters::ignored`]).
pub mod ignored {
    /// The sender is not a PIM neighbour on the interface (4.3.1, 4.5).
    pub const NOT_NEIGHBOR: &str = "not_neighbor";
    /// The Upstream Neighbor Address is neither ours nor a neighbour's.
    pub const UNKNOWN_UPSTREAM: &str = "unknown_upstream";
    /// A group range, a bidir group, or not a routable multicast group.
    pub const BAD_GROUP: &str = "bad_group";
    /// A source with a mask length other than 32.
    pub const BAD_SOURCE: &str = "bad_source";
    /// Join(*,G) for a group in the SSM range (RFC 4607; 4.8).
    pub const STAR_G_IN_SSM_RANGE: &str = "star_g_in_ssm_range";
    /// Join(*,G) whose RP is not RP(G) (4.5.2: "silently dropped").
    pub const RP_MISMATCH: &str = "rp_mismatch";
    /// A Prune(S,G,rpt) for a group without (*,G) state: there is no shared tree to prune
    /// the source from (4.5.4).
    pub const SG_RPT: &str = "sg_rpt";
}

/// Why a Register was not sent or not acted on, or a Register-Stop ignored (counted in
/// [`RegisterCounters::dropped`]).
pub mod register_drops {
    /// DR: the packet does not fit a Register within a 1500-octet MTU
    /// (`max_register_payload(1500)`).
    pub const TOO_BIG: &str = "register_too_big";
    /// DR: a packet from the register VIF for an (S,G) not in Register state Join.
    pub const NOT_REGISTERING: &str = "not_registering";
    /// DR: a whole-packet upcall from a VIF other than the register VIF.
    pub const NOT_REGISTER_VIF: &str = "not_register_vif";
    /// DR: the packet handed over is not an IPv4 packet from S to G.
    pub const BAD_PACKET: &str = "bad_packet";
    /// DR: RPF_interface(RP(G)) unknown or unreachable.
    pub const NO_ROUTE_TO_RP: &str = "no_route_to_rp";
    /// RP: a Register whose destination is not RP(G) (or for an SSM group, or a group
    /// without an RP): not decapsulated; a Register-Stop answers it (4.4.2).
    pub const NOT_RP: &str = "not_rp";
    /// RP: a Register whose inner destination is not a routable multicast group.
    pub const BAD_GROUP: &str = "bad_group";
    /// DR: a Register-Stop for an (S,G) without Register state.
    pub const REGISTER_STOP_NO_STATE: &str = "register_stop_no_state";
}

/// What the TIB needs from the rest of the router for one event.
pub(crate) struct Env<'a> {
    pub now: Instant,
    pub config: &'a Config,
    pub ifs: &'a BTreeMap<IfIndex, Interface>,
    pub rng: &'a mut Rng,
    pub out: &'a mut Vec<Action>,
}

impl Env<'_> {
    /// `I_am_DR(I)` (4.3.2).
    fn is_dr(&self, i: IfIndex) -> bool {
        self.ifs.get(&i).is_some_and(Interface::is_dr)
    }

    fn own_addr(&self, i: IfIndex) -> Option<Ipv4Addr> {
        self.ifs.get(&i).and_then(Interface::own_addr)
    }

    /// `NBR(I, A)` (4.1.6): the primary address of the neighbour with address A on I.
    fn nbr_primary(&self, i: IfIndex, a: Ipv4Addr) -> Option<Ipv4Addr> {
        self.ifs.get(&i).and_then(|x| x.neighbor_primary(a))
    }

    fn alive(&self, n: Option<Nbr>) -> bool {
        n.is_some_and(|(i, a)| self.nbr_primary(i, a) == Some(a))
    }

    fn neighbor_count(&self, i: IfIndex) -> usize {
        self.ifs.get(&i).map_or(0, Interface::neighbor_count)
    }

    /// `J/P_Override_Interval(I)` (4.11).
    fn jp_override_interval(&self, i: IfIndex) -> Duration {
        self.ifs
            .get(&i)
            .map_or(PROPAGATION_DELAY_DEFAULT + T_OVERRIDE_DEFAULT, |x| {
                x.effective_propagation_delay() + x.effective_override_interval()
            })
    }

    /// t_override (4.11): `rand(0, Effective_Override_Interval(I))`.
    fn t_override(&mut self, i: IfIndex) -> Duration {
        let max = self
            .ifs
            .get(&i)
            .map_or(T_OVERRIDE_DEFAULT, Interface::effective_override_interval);
        self.rng.delay(max)
    }

    /// t_suppressed (4.11): `rand(1.1 x t_periodic, 1.4 x t_periodic)` when
    /// `Suppression_Enabled(I)`, else 0.
    fn t_suppressed(&mut self, i: IfIndex) -> Duration {
        if !self.ifs.get(&i).is_none_or(Interface::suppression_enabled) {
            return Duration::ZERO;
        }
        let p = self.config.join_prune_period;
        p.mul_f64(1.1) + self.rng.delay(p.mul_f64(0.3))
    }

    /// RP(G) for (*,G) state: none in the SSM range.
    fn rp_for(&self, g: Ipv4Addr) -> Option<Ipv4Addr> {
        rp_for(self.config, g)
    }

    fn t_periodic(&self) -> Duration {
        self.config.join_prune_period.max(Duration::from_millis(1))
    }

    /// J/P_HoldTime (4.11) in whole seconds, rounded up, 0xffff at most.
    fn holdtime_s(&self) -> u16 {
        let h = self.config.join_prune_holdtime;
        let secs = h.as_secs() + u64::from(h.subsec_nanos() > 0);
        u16::try_from(secs).unwrap_or(u16::MAX)
    }

    fn event(&mut self, what: &str, detail: String) {
        self.out.push(Action::Event(Event {
            what: what.to_string(),
            detail,
        }));
    }
}

/// RP(G) (4.7, static mappings) for (*,G) state: none for SSM groups.
pub(crate) fn rp_for(config: &Config, g: Ipv4Addr) -> Option<Ipv4Addr> {
    if config.is_ssm(g) {
        None
    } else {
        config.rp_of(g)
    }
}

/// One (*,G) or (S,G) entry.
#[derive(Debug, Default)]
struct Entry {
    /// Downstream state per interface (4.5.2, 4.5.3), sorted by interface; NoInfo
    /// interfaces are absent.
    oifs: Vec<Oif>,
    up: Upstream,
    /// `immediate_olist(X)` as last computed.
    olist: Vec<IfIndex>,
    /// The forwarding intent last emitted.
    fwd: Option<Forwarding>,
    /// (S,G) only: Keepalive Timer KAT(S,G) (4.1.1, 4.2.1); None: not running.
    kat: Option<Instant>,
    /// (S,G) only: SPTbit(S,G) (4.1.3, 4.2.2): data arrives natively on the source tree.
    spt_bit: bool,
    /// (S,G) only: Register state and Register-Stop Timer (4.4.1).
    reg: Reg,
    /// (S,G) only: RP(G), watched while KAT(S,G) runs (to register to it at the DR, to
    /// know `I_am_RP(G)` at the RP).
    rp_watch: Option<Ipv4Addr>,
    /// (S,G) only: made by a NOCACHE upcall before RPF(S) was known; once it is known, KAT
    /// stops unless S is directly connected on an interface where we are the DR.
    dc_check: bool,
    /// (S,G) only: the kernel's counters at the last `MfcStats` and the rate they give.
    rate: Rate,
    /// (S,G) only: SwitchToSptDesired(S,G) (4.2.2) decided at this last-hop router; kept
    /// while KAT(S,G) runs.
    spt_switch: bool,
    /// (S,G,rpt) state (4.5.4, 4.5.9); None when there is nothing to remember (no
    /// downstream state, upstream NotJoined or NotPruned without Override Timer).
    rpt: Option<Box<Rpt>>,
    /// (S,G) only: data Registers received (and decapsulated by the kernel into this
    /// entry's counter) since the last `MfcStats`.
    regs_since_stats: u64,
    /// Assert state per interface (4.6.1, 4.6.2), sorted by interface; NoInfo interfaces
    /// are absent.
    asserts: Vec<IfAssert>,
}

impl Entry {
    fn assert_on(&self, i: IfIndex) -> Option<&IfAssert> {
        self.asserts.iter().find(|a| a.ifindex == i)
    }

    /// `I_am_Assert_Loser(X, I)`: the winner's address if we lost on I.
    fn assert_loser_on(&self, i: Option<IfIndex>) -> Option<Ipv4Addr> {
        let i = i?;
        self.assert_on(i)
            .filter(|a| a.state == AssertState::Loser)
            .map(|a| a.winner)
    }

    fn oif_mut(&mut self, i: IfIndex) -> Option<&mut Oif> {
        self.oifs.iter_mut().find(|o| o.ifindex == i)
    }
}

/// The (*,G) entry and the RP it is built for (and watches).
#[derive(Debug)]
struct StarG {
    /// RP(G) when the entry was made or the configuration last changed; None once the
    /// group lost its RP (the entry lives on only while downstream state does).
    rp: Option<Ipv4Addr>,
    e: Entry,
    /// `joins(*,G)` and `pim_include(*,G)` as last computed, without RPF_interface(RP(G)):
    /// the parts of `inherited_olist(S,G,rpt)`.
    joins: Vec<IfIndex>,
    include: Vec<IfIndex>,
}

#[derive(Debug, Default)]
struct Group {
    star: Option<StarG>,
    sg: BTreeMap<Ipv4Addr, Entry>,
    /// Local membership per interface (sorted by interface).
    members: Vec<Member>,
}

impl Group {
    fn entry(&self, s: Option<Ipv4Addr>) -> Option<&Entry> {
        match s {
            None => self.star.as_ref().map(|st| &st.e),
            Some(s) => self.sg.get(&s),
        }
    }

    fn entry_mut(&mut self, s: Option<Ipv4Addr>) -> Option<&mut Entry> {
        match s {
            None => self.star.as_mut().map(|st| &mut st.e),
            Some(s) => self.sg.get_mut(&s),
        }
    }

    /// The encoded source of Join(X)/Prune(X).
    fn enc(&self, s: Option<Ipv4Addr>) -> Option<EncodedSource> {
        match s {
            None => self.star.as_ref()?.rp.map(EncodedSource::star_g),
            Some(s) => Some(EncodedSource::sg(s)),
        }
    }

    fn is_empty(&self) -> bool {
        self.star.is_none() && self.sg.is_empty() && self.members.is_empty()
    }
}

/// An RPF target and the entries that use it.
#[derive(Debug, Default)]
struct Watch {
    /// The shell's answer; None until it comes.
    rpf: Option<Rpf>,
    /// Groups whose (*,G) entry has this RP.
    star: BTreeSet<Ipv4Addr>,
    /// Groups with an (S,G) entry for this source.
    sg: BTreeSet<Ipv4Addr>,
    /// (G, S) of (S,G) entries with a running KAT whose RP(G) this is (4.4).
    reg: BTreeSet<(Ipv4Addr, Ipv4Addr)>,
}

impl Watch {
    fn users(&self, target: Ipv4Addr) -> Vec<(Ipv4Addr, Option<Ipv4Addr>)> {
        self.star
            .iter()
            .map(|g| (*g, None))
            .chain(self.sg.iter().map(|g| (*g, Some(target))))
            .chain(self.reg.iter().map(|(g, s)| (*g, Some(*s))))
            .collect()
    }

    fn is_unused(&self) -> bool {
        self.star.is_empty() && self.sg.is_empty() && self.reg.is_empty()
    }
}

#[derive(Debug, Default)]
struct Counters {
    jp_received: u64,
    joins_received: u64,
    prunes_received: u64,
    ignored: BTreeMap<&'static str, u64>,
    spt_switches: u64,
    rpt_prunes_sent: u64,
    rpt_prunes_received: u64,
    asserts_received: u64,
    asserts_sent: u64,
    assert_cancels_sent: u64,
    assert_wins: u64,
    assert_losses: u64,
}

/// The TIB; see the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Tib {
    groups: BTreeMap<Ipv4Addr, Group>,
    watches: BTreeMap<Ipv4Addr, Watch>,
    timers: Timers,
    outbox: Outbox,
    /// (I, G, S): the entry (G, S) has downstream state on I.
    ds_index: BTreeSet<(IfIndex, Ipv4Addr, Option<Ipv4Addr>)>,
    /// (I, G): local membership for G on I.
    member_index: BTreeSet<(IfIndex, Ipv4Addr)>,
    counters: Counters,
    /// The register VIF (`pimreg`), if the shell has one.
    register_vif: Option<IfIndex>,
    reg_counters: RegisterCounters,
    /// (I, G, S): (S,G,rpt) downstream state on I.
    rpt_index: BTreeSet<(IfIndex, Ipv4Addr, Ipv4Addr)>,
    /// (G, S): rate of a source on the shared tree at a last-hop router without (S,G)
    /// state, for `SptPolicy::Threshold` (4.2.2).
    shared_rates: BTreeMap<(Ipv4Addr, Ipv4Addr), Rate>,
    /// (I, G, S): assert state (Winner or Loser) of entry (G, S) on I.
    assert_index: BTreeSet<(IfIndex, Ipv4Addr, Option<Ipv4Addr>)>,
}

fn kat_ref(group: Ipv4Addr, s: Ipv4Addr) -> TimerRef {
    TimerRef {
        group,
        source: Some(s),
        kind: TimerKind::Kat,
    }
}

fn rst_ref(group: Ipv4Addr, s: Ipv4Addr) -> TimerRef {
    TimerRef {
        group,
        source: Some(s),
        kind: TimerKind::Rst,
    }
}

const ADDR_MIN: Ipv4Addr = Ipv4Addr::UNSPECIFIED;
const ADDR_MAX: Ipv4Addr = Ipv4Addr::BROADCAST;

fn emit_fwd(
    slot: &mut Option<Forwarding>,
    new: Option<Forwarding>,
    key: RouteKey,
    out: &mut Vec<Action>,
) {
    if *slot == new {
        return;
    }
    match &new {
        Some(f) => out.push(Action::Forward(f.clone())),
        None => out.push(Action::Unforward(key)),
    }
    *slot = new;
}

impl Tib {
    pub fn poll_at(&self) -> Option<Instant> {
        self.timers.next()
    }

    fn ignore(&mut self, why: &'static str) {
        *self.counters.ignored.entry(why).or_default() += 1;
    }

    /// Send what the state machines decided (see [`crate::jp`]).
    pub fn flush(&mut self, env: &mut Env<'_>) {
        let h = env.holdtime_s();
        self.outbox.flush(h, env.out);
    }

    // ---------------------------------------------------------------------------------
    // Entries and watches

    fn watch(&mut self, env: &mut Env<'_>, target: Ipv4Addr, g: Ipv4Addr, star: bool) {
        let w = self.watches.entry(target).or_insert_with(|| {
            env.out.push(Action::WatchRpf(target));
            Watch::default()
        });
        if star {
            w.star.insert(g);
        } else {
            w.sg.insert(g);
        }
    }

    fn unwatch(&mut self, env: &mut Env<'_>, target: Ipv4Addr, g: Ipv4Addr, star: bool) {
        let Some(w) = self.watches.get_mut(&target) else {
            return;
        };
        if star {
            w.star.remove(&g);
        } else {
            w.sg.remove(&g);
        }
        if w.is_unused() {
            self.watches.remove(&target);
            env.out.push(Action::UnwatchRpf(target));
        }
    }

    /// Watch RP(G) for the (S,G) entry (KAT running).
    fn watch_reg(&mut self, env: &mut Env<'_>, rp: Ipv4Addr, g: Ipv4Addr, s: Ipv4Addr) {
        let w = self.watches.entry(rp).or_insert_with(|| {
            env.out.push(Action::WatchRpf(rp));
            Watch::default()
        });
        w.reg.insert((g, s));
    }

    fn unwatch_reg(&mut self, env: &mut Env<'_>, rp: Ipv4Addr, g: Ipv4Addr, s: Ipv4Addr) {
        let Some(w) = self.watches.get_mut(&rp) else {
            return;
        };
        w.reg.remove(&(g, s));
        if w.is_unused() {
            self.watches.remove(&rp);
            env.out.push(Action::UnwatchRpf(rp));
        }
    }

    fn rpf_of(&self, target: Option<Ipv4Addr>) -> Option<Rpf> {
        self.watches.get(&target?).and_then(|w| w.rpf)
    }

    /// Make the (S,G) entry if there is none.
    fn ensure_sg(&mut self, env: &mut Env<'_>, g: Ipv4Addr, s: Ipv4Addr) {
        let group = self.groups.entry(g).or_default();
        if let std::collections::btree_map::Entry::Vacant(v) = group.sg.entry(s) {
            v.insert(Entry::default());
            self.watch(env, s, g, false);
        }
    }

    /// Make the (*,G) entry if there is none and G has an RP; false without one.
    fn ensure_star(&mut self, env: &mut Env<'_>, g: Ipv4Addr) -> bool {
        let Some(rp) = env.rp_for(g) else {
            return false;
        };
        let group = self.groups.entry(g).or_default();
        if group.star.is_none() {
            group.star = Some(StarG {
                rp: Some(rp),
                e: Entry::default(),
                joins: Vec::new(),
                include: Vec::new(),
            });
            self.watch(env, rp, g, true);
        }
        true
    }

    fn gc_group(&mut self, g: Ipv4Addr) {
        if self.groups.get(&g).is_some_and(Group::is_empty) {
            self.groups.remove(&g);
        }
    }

    fn refresh(&mut self, env: &mut Env<'_>, g: Ipv4Addr, s: Option<Ipv4Addr>) {
        match s {
            None => self.refresh_star(env, g),
            Some(s) => self.refresh_sg(env, g, s),
        }
    }

    /// Recompute (*,G): `immediate_olist(*,G)`, `JoinDesired(*,G)` and `RPF'(*,G)` for the
    /// upstream machine (4.5.6), the forwarding intent, removal; and the (S,G) entries of
    /// G if `immediate_olist(*,G)` changed (it is part of `inherited_olist(S,G)`).
    fn refresh_star(&mut self, env: &mut Env<'_>, g: Ipv4Addr) {
        // The assert conditions (4.6.5) before and after: the refresh may change them.
        self.assert_conditions(env, g, None);
        self.refresh_star_once(env, g);
        if self.assert_conditions(env, g, None) {
            self.refresh_star_once(env, g);
        }
    }

    fn refresh_star_once(&mut self, env: &mut Env<'_>, g: Ipv4Addr) {
        let Some(group) = self.groups.get_mut(&g) else {
            return;
        };
        let Group { star, members, sg } = group;
        let Some(st) = star.as_mut() else {
            return;
        };
        let rpf = st
            .rp
            .and_then(|rp| self.watches.get(&rp))
            .and_then(|w| w.rpf);
        let iif = rpf_interface(rpf.as_ref());
        // lost_assert(*,G) (4.6.5) leaves pim_include(*,G) and immediate_olist(*,G).
        let lost: Vec<IfIndex> =
            st.e.asserts
                .iter()
                .filter(|a| lost_assert_star_g(a, iif))
                .map(|a| a.ifindex)
                .collect();
        let include = pim_include_star_g(members, st.rp.is_some(), |i| env.is_dr(i));
        let joins_l = immediate_olist(&minus(&joins(&st.e.oifs), &lost), &[], iif);
        let include_l = immediate_olist(&[], &minus(&include, &lost), iif);
        let olist = immediate_olist(&joins_l, &include_l, iif);
        // RPF'(*,G) (4.1.6): the assert winner on RPF_interface(RP(G)) if we lost there.
        let assert_nbr = st.e.assert_loser_on(iif).map(|w| (iif.expect("loser"), w));
        let new_nbr = assert_nbr.or_else(|| rpf_prime(rpf.as_ref(), |i, a| env.nbr_primary(i, a)));
        let via_assert = assert_nbr.is_some();
        let old_alive = env.alive(st.e.up.nbr);
        let old_up = (st.e.up.state, st.e.up.nbr);
        if let (Some(rp), true) = (
            st.rp,
            new_nbr != st.e.up.nbr && (via_assert || st.e.up.via_assert),
        ) {
            let t = iif.map_or(Duration::ZERO, |i| env.t_override(i));
            let mut c = upstream::Ctx {
                timers: &mut self.timers,
                outbox: &mut self.outbox,
                now: env.now,
                t_periodic: env.t_periodic(),
                group: g,
                source: None,
                enc: EncodedSource::star_g(rp),
            };
            st.e.up.assert_rpf_change(&mut c, new_nbr, via_assert, t);
        }
        st.e.up.via_assert = via_assert;
        if let Some(rp) = st.rp {
            let mut c = upstream::Ctx {
                timers: &mut self.timers,
                outbox: &mut self.outbox,
                now: env.now,
                t_periodic: env.t_periodic(),
                group: g,
                source: None,
                enc: EncodedSource::star_g(rp),
            };
            let joined =
                st.e.up
                    .update(&mut c, join_desired(&olist), new_nbr, old_alive);
            // 4.5.8: a Join(*,G) carries Prune(S,G,rpt) for every source pruned off the
            // shared tree.
            if let Some((i, n)) = joined {
                for (s, e) in sg.iter() {
                    if e.rpt
                        .as_ref()
                        .is_some_and(|r| r.up == RptUpstreamState::Pruned)
                    {
                        self.outbox.prune(i, n, g, EncodedSource::sg_rpt(*s));
                    }
                }
            }
        } else {
            st.e.up.nbr = None;
        }
        // At the RP the iif is the register VIF, where the kernel decapsulates Registers
        // (4.4.2); None without one.
        let fwd = match (st.rp, rpf) {
            (Some(_), Some(r)) if r.local || r.ifindex.is_some() => Some(Forwarding {
                key: RouteKey::star_g(g),
                iif: if r.local { self.register_vif } else { iif },
                oifs: olist
                    .iter()
                    .copied()
                    .filter(|&i| !r.local || Some(i) != self.register_vif)
                    .collect(),
            }),
            _ => None,
        };
        emit_fwd(&mut st.e.fwd, fwd, RouteKey::star_g(g), env.out);
        // The (S,G) entries depend on joins(*,G), pim_include(*,G) (inherited_olist(S,G,rpt)),
        // RPTJoinDesired(G) and RPF'(*,G) (PruneDesired(S,G,rpt)).
        let changed = st.e.olist != olist
            || st.joins != joins_l
            || st.include != include_l
            || old_up != (st.e.up.state, st.e.up.nbr);
        st.e.olist = olist;
        st.joins = joins_l;
        st.include = include_l;
        let needed = !st.e.oifs.is_empty()
            || !include.is_empty()
            || st.e.up.state == UpstreamState::Joined
            || !st.e.asserts.is_empty();
        let sources: Vec<Ipv4Addr> = if changed || !needed {
            group.sg.keys().copied().collect()
        } else {
            Vec::new()
        };
        if !needed {
            let mut st = group.star.take().expect("present");
            for a in &mut st.e.asserts {
                let r = TimerRef {
                    group: g,
                    source: None,
                    kind: TimerKind::At(a.ifindex),
                };
                self.timers.set(&mut a.timer, r, None);
                self.assert_index.remove(&(a.ifindex, g, None));
            }
            emit_fwd(&mut st.e.fwd, None, RouteKey::star_g(g), env.out);
            if let Some(rp) = st.rp {
                self.unwatch(env, rp, g, true);
            }
            let stale: Vec<_> = self
                .shared_rates
                .range((g, ADDR_MIN)..=(g, ADDR_MAX))
                .map(|(k, _)| *k)
                .collect();
            for k in stale {
                self.shared_rates.remove(&k);
            }
        }
        for s in sources {
            self.refresh_sg(env, g, s);
        }
        self.gc_group(g);
    }

    /// Recompute (S,G): the KAT bookkeeping (the RP(G) watch, the NOCACHE check of
    /// DirectlyConnected(S)), `immediate_olist(S,G)`, `JoinDesired(S,G)` with its keepalive
    /// part, `RPF'(S,G)` (4.5.7), `CouldRegister(S,G)` and the Register state machine
    /// (4.4.1), the forwarding intent, removal.
    fn refresh_sg(&mut self, env: &mut Env<'_>, g: Ipv4Addr, s: Ipv4Addr) {
        // The assert conditions (4.6.5) before and after: the refresh may change them
        // (SPTbit, KAT, the olists).
        self.assert_conditions(env, g, Some(s));
        self.refresh_sg_once(env, g, s);
        if self.assert_conditions(env, g, Some(s)) {
            self.refresh_sg_once(env, g, s);
        }
    }

    fn refresh_sg_once(&mut self, env: &mut Env<'_>, g: Ipv4Addr, s: Ipv4Addr) {
        let rpf = self.rpf_of(Some(s));
        let dc = directly_connected(rpf.as_ref());
        let iif = rpf.and_then(|r| r.ifindex);
        let (kat_running, old_rp) = {
            let Some(e) = self.groups.get_mut(&g).and_then(|x| x.sg.get_mut(&s)) else {
                return;
            };
            if e.dc_check && rpf.is_some() {
                e.dc_check = false;
                if dc && iif.is_some_and(|i| env.is_dr(i)) {
                    // A first-hop source after all, not one of the shared tree.
                    e.spt_switch = false;
                } else if !e.spt_switch {
                    self.timers.set(&mut e.kat, kat_ref(g, s), None);
                }
            }
            (e.kat.is_some(), e.rp_watch)
        };
        // RP(G) is watched while KAT(S,G) runs.
        let want_rp = env.rp_for(g).filter(|_| kat_running);
        let rp_changed = old_rp.is_some() && want_rp.is_some() && old_rp != want_rp;
        if want_rp != old_rp {
            if let Some(rp) = old_rp {
                self.unwatch_reg(env, rp, g, s);
            }
            if let Some(rp) = want_rp {
                self.watch_reg(env, rp, g, s);
            }
        }
        let i_am_rp = self.rpf_of(want_rp).is_some_and(|r| r.local);
        let register_vif = self.register_vif;
        let rpf_if_rp = self
            .groups
            .get(&g)
            .and_then(|x| x.star.as_ref())
            .and_then(|st| rpf_interface(self.rpf_of(st.rp).as_ref()));
        let Some(group) = self.groups.get_mut(&g) else {
            return;
        };
        let Group { star, sg, members } = group;
        let Some(e) = sg.get_mut(&s) else {
            return;
        };
        let asm = star.as_ref().is_some_and(|st| st.rp.is_some());
        let exclude = pim_exclude_sg(members, asm, s, |i| env.is_dr(i));
        let (star_joins, star_include): (&[IfIndex], &[IfIndex]) = star
            .as_ref()
            .map_or((&[], &[]), |st| (&st.joins, &st.include));
        // RPTJoinDesired(G) = JoinDesired(*,G); RPF'(S,G,rpt) = RPF'(*,G) (4.1.6, 4.5.9).
        let rpt_jd = star
            .as_ref()
            .is_some_and(|st| st.rp.is_some() && st.e.up.state == UpstreamState::Joined);
        let rpt_nbr = star.as_ref().and_then(|st| st.e.up.nbr);
        let star_fwd_iif = star
            .as_ref()
            .and_then(|st| st.e.fwd.as_ref())
            .map(|f| f.iif);
        let prunes = e.rpt.as_ref().map_or_else(Vec::new, |r| r.prunes());
        // lost_assert(S,G,rpt) and lost_assert(S,G) (4.6.5) leave inherited_olist(S,G,rpt),
        // pim_include(S,G) and immediate_olist(S,G); star_joins and star_include are
        // already without lost_assert(*,G).
        let lost_rpt: Vec<IfIndex> = e
            .asserts
            .iter()
            .filter(|a| lost_assert_sg_rpt(a, rpf_if_rp, iif, e.spt_bit))
            .map(|a| a.ifindex)
            .collect();
        let lost_sg: Vec<IfIndex> = e
            .asserts
            .iter()
            .filter(|a| lost_assert_sg(a, iif, env.own_addr(a.ifindex).map(AssertMetric::spt)))
            .map(|a| a.ifindex)
            .collect();
        let rpt_olist = minus(
            &inherited_olist_sg_rpt(star_joins, &prunes, star_include, &exclude),
            &lost_rpt,
        );
        e.rp_watch = want_rp;
        let include = pim_include_sg(members, s, |i| env.is_dr(i));
        let olist = immediate_olist(
            &minus(&joins(&e.oifs), &lost_sg),
            &minus(&include, &lost_sg),
            iif,
        );
        let inherited = inherited_olist_sg(&olist, &rpt_olist, iif);
        // The macros of 4.1.6 do not remove the incoming interface; only forwarding does
        // (4.2). JoinDesired's keepalive part must see the shared-tree olist even when it is
        // the source's RPF interface: an RP whose receivers and source are both behind one
        // neighbour still joins the source tree through it (that neighbour then forwards).
        let inherited_all = inherited_olist_sg(&olist, &rpt_olist, None);
        // RPF'(S,G) (4.1.6): the assert winner on RPF_interface(S) if we lost there.
        let assert_nbr = e.assert_loser_on(iif).map(|w| (iif.expect("loser"), w));
        let via_assert = assert_nbr.is_some();
        let new_nbr = assert_nbr.or_else(|| rpf_prime(rpf.as_ref(), |i, a| env.nbr_primary(i, a)));
        let old_alive = env.alive(e.up.nbr);
        let assert_change = new_nbr != e.up.nbr && (via_assert || e.up.via_assert);
        let t = match iif {
            Some(i) if assert_change => env.t_override(i),
            _ => Duration::ZERO,
        };
        let mut c = upstream::Ctx {
            timers: &mut self.timers,
            outbox: &mut self.outbox,
            now: env.now,
            t_periodic: env.t_periodic(),
            group: g,
            source: Some(s),
            enc: EncodedSource::sg(s),
        };
        if assert_change {
            // "RPF'(S,G) changes due to an Assert" (4.5.7).
            e.up.assert_rpf_change(&mut c, new_nbr, via_assert, t);
        }
        e.up.via_assert = via_assert;
        let jd = join_desired_sg(&olist, kat_running, &inherited_all);
        e.up.update(&mut c, jd, new_nbr, old_alive);
        // 4.4.1: CouldRegister(S,G) = I_am_DR(RPF_interface(S)) AND KeepaliveTimer(S,G) is
        // running AND DirectlyConnected(S) == TRUE; and G has an RP that is not us.
        let could =
            kat_running && dc && iif.is_some_and(|i| env.is_dr(i)) && want_rp.is_some() && !i_am_rp;
        if rp_changed && e.reg.rp_changed() {
            self.timers.set(&mut e.reg.rst, rst_ref(g, s), None);
        }
        if let Some(rst) = e.reg.could_register(could) {
            self.timers.set(&mut e.reg.rst, rst_ref(g, s), rst);
        }
        if !kat_running {
            e.spt_bit = false;
            e.spt_switch = false;
        }
        // 4.5.9: PruneDesired(S,G,rpt) = RPTJoinDesired(G) AND (inherited_olist(S,G,rpt) ==
        // NULL OR (SPTbit(S,G) == TRUE AND RPF'(*,G) != RPF'(S,G))).
        let prune_desired = rpt_jd && (rpt_olist.is_empty() || (e.spt_bit && rpt_nbr != new_nbr));
        if rpt_jd || e.rpt.is_some() {
            let r = e.rpt.get_or_insert_with(Box::default);
            let send = rpt::update_up(
                r,
                &mut self.timers,
                g,
                s,
                rpt_jd,
                prune_desired,
                !rpt_olist.is_empty(),
            );
            match (send, rpt_nbr) {
                (RptSend::Join, Some((i, n))) => {
                    self.outbox.join(i, n, g, EncodedSource::sg_rpt(s));
                }
                (RptSend::Prune, Some((i, n))) => {
                    self.outbox.prune(i, n, g, EncodedSource::sg_rpt(s));
                    self.counters.rpt_prunes_sent += 1;
                    env.event(
                        events::RPT_PRUNE,
                        format!("({s}, {g}): Prune(S,G,rpt) to {n} on {i}"),
                    );
                }
                _ => {}
            }
            if r.up != RptUpstreamState::Pruned && r.is_idle() {
                e.rpt = None;
            }
        }
        let key = RouteKey::sg(s, g);
        let spt_state = !e.oifs.is_empty()
            || !include.is_empty()
            || e.up.state == UpstreamState::Joined
            || kat_running;
        let fwd = match register_vif {
            // 4.2 at the RP before SPTbit(S,G): the data comes decapsulated from the register
            // VIF (RPF_interface(RP(G)) at the RP) and goes to inherited_olist(S,G,rpt).
            Some(vif) if i_am_rp && !e.spt_bit => Some(Forwarding {
                key,
                iif: Some(vif),
                oifs: rpt_olist.iter().copied().filter(|&i| i != vif).collect(),
            }),
            _ if spt_state => iif.map(|iif| {
                let mut oifs: BTreeSet<IfIndex> = inherited.iter().copied().collect();
                if let Some(vif) = register_vif.filter(|_| e.reg.tunnel()) {
                    oifs.insert(vif);
                }
                Forwarding {
                    key,
                    iif: Some(iif),
                    oifs,
                }
            }),
            // Only (S,G,rpt) state: S on the shared tree, as the (*,G) intent has it, to
            // inherited_olist(S,G,rpt) (4.2).
            _ => star_fwd_iif.and_then(|star_iif| {
                let iif = star_iif.or(iif)?;
                Some(Forwarding {
                    key,
                    iif: Some(iif),
                    oifs: rpt_olist.iter().copied().filter(|&i| i != iif).collect(),
                })
            }),
        };
        emit_fwd(&mut e.fwd, fwd, key, env.out);
        e.olist = olist;
        let needed = spt_state
            || e.rpt.as_ref().is_some_and(|r| !r.is_idle())
            || !exclude.is_empty()
            || !e.asserts.is_empty();
        if !needed {
            let mut e = sg.remove(&s).expect("present");
            emit_fwd(&mut e.fwd, None, key, env.out);
            self.unwatch(env, s, g, false);
            self.gc_group(g);
        }
    }

    fn touch(&mut self, env: &mut Env<'_>, g: Ipv4Addr, s: Option<Ipv4Addr>, create: bool) {
        if create {
            match s {
                None => {
                    self.ensure_star(env, g);
                }
                Some(s) => self.ensure_sg(env, g, s),
            }
        }
        self.refresh(env, g, s);
    }

    // ---------------------------------------------------------------------------------
    // Inputs

    /// Local membership changed (4.1.6 `local_receiver_include`), as IGMP reports it.
    pub fn membership(&mut self, env: &mut Env<'_>, m: &Membership) {
        let g = m.group;
        if !routable_group(g) {
            return;
        }
        let exclude = m.mode == FilterMode::Exclude;
        if exclude && env.config.is_ssm(g) {
            env.event(
                events::SSM_ASM_REFUSED,
                format!(
                    "{}: any-source membership for SSM group {g} ignored (RFC 4607)",
                    m.ifindex
                ),
            );
        }
        let mut sources = m.sources.clone();
        sources.sort_unstable();
        sources.dedup();
        let (include, excluded) = if exclude {
            (Vec::new(), sources)
        } else {
            (sources, Vec::new())
        };
        let new = (exclude || !include.is_empty()).then_some(Member {
            ifindex: m.ifindex,
            exclude,
            excluded,
            include,
        });
        let group = self.groups.entry(g).or_default();
        let pos = group
            .members
            .binary_search_by_key(&m.ifindex, |x| x.ifindex);
        let old = pos.ok().map(|p| group.members[p].clone());
        if old == new {
            self.gc_group(g);
            return;
        }
        match (pos, &new) {
            (Ok(p), Some(n)) => group.members[p] = n.clone(),
            (Ok(p), None) => {
                group.members.remove(p);
                self.member_index.remove(&(m.ifindex, g));
            }
            (Err(p), Some(n)) => {
                group.members.insert(p, n.clone());
                self.member_index.insert((m.ifindex, g));
            }
            (Err(_), None) => {}
        }
        let dr = env.is_dr(m.ifindex);
        let old_ex = old.as_ref().is_some_and(|o| o.exclude);
        let new_ex = new.as_ref().is_some_and(|n| n.exclude);
        if old_ex != new_ex {
            self.touch(env, g, None, dr && new_ex);
        }
        // pim_exclude(S,G) (4.1.6): (S,G,rpt) state for the excluded sources of a group
        // on the shared tree.
        let old_x = old.as_ref().map(|o| o.excluded.clone()).unwrap_or_default();
        let new_x = new.as_ref().map(|n| n.excluded.clone()).unwrap_or_default();
        let has_star = self.groups.get(&g).is_some_and(|x| x.star.is_some());
        for s in old_x.iter().filter(|s| new_x.binary_search(s).is_err()) {
            self.touch(env, g, Some(*s), false);
        }
        for s in new_x.iter().filter(|s| old_x.binary_search(s).is_err()) {
            self.touch(env, g, Some(*s), dr && has_star);
        }
        let old_in = old.map(|o| o.include).unwrap_or_default();
        let new_in = new.map(|n| n.include).unwrap_or_default();
        for s in old_in.iter().filter(|s| new_in.binary_search(s).is_err()) {
            self.touch(env, g, Some(*s), false);
        }
        for s in new_in.iter().filter(|s| old_in.binary_search(s).is_err()) {
            self.touch(env, g, Some(*s), dr);
        }
        self.gc_group(g);
    }

    /// The shell's answer for a watched target (or a change of it).
    pub fn rpf(&mut self, env: &mut Env<'_>, rpf: Rpf) {
        let Some(w) = self.watches.get_mut(&rpf.target) else {
            return;
        };
        if w.rpf == Some(rpf) {
            return;
        }
        w.rpf = Some(rpf);
        for (g, s) in w.users(rpf.target) {
            self.refresh(env, g, s);
        }
    }

    /// The router-wide configuration changed (`env.config` is the new one): RP(G) may have
    /// changed for (*,G) entries (4.5.6: "RPF'(*,G) changes": a Prune(*,G) to the old
    /// RPF'(*,G) for the old RP, a Join(*,G) to the new), groups may have gained an RP (or
    /// left or entered the SSM range).
    pub fn config_changed(&mut self, env: &mut Env<'_>) {
        let groups: Vec<Ipv4Addr> = self.groups.keys().copied().collect();
        for g in groups {
            let new_rp = env.rp_for(g);
            let group = self.groups.get_mut(&g).expect("listed");
            match group.star.as_mut() {
                Some(st) if st.rp != new_rp => {
                    let old_rp = st.rp;
                    if let (UpstreamState::Joined, Some((i, n)), Some(rp)) =
                        (st.e.up.state, st.e.up.nbr, old_rp)
                        && env.alive(Some((i, n)))
                    {
                        self.outbox.prune(i, n, g, EncodedSource::star_g(rp));
                    }
                    st.e.up.state = UpstreamState::NotJoined;
                    st.e.up.nbr = None;
                    self.timers
                        .set(&mut st.e.up.jt, upstream::jt_ref(g, None), None);
                    st.rp = new_rp;
                    if let Some(rp) = old_rp {
                        self.unwatch(env, rp, g, true);
                    }
                    if let Some(rp) = new_rp {
                        self.watch(env, rp, g, true);
                    }
                    self.refresh_star(env, g);
                }
                Some(_) => self.refresh_star(env, g),
                None => {
                    let create = new_rp.is_some()
                        && group
                            .members
                            .iter()
                            .any(|m| m.exclude && env.is_dr(m.ifindex));
                    if create {
                        self.touch(env, g, None, true);
                    }
                }
            }
            // RP(G) of the (S,G) entries with a running KAT (4.4.1 "RP changed").
            let sources: Vec<Ipv4Addr> = self
                .groups
                .get(&g)
                .map(|x| x.sg.keys().copied().collect())
                .unwrap_or_default();
            for s in sources {
                self.refresh_sg(env, g, s);
            }
        }
    }

    /// An interface changed in what the TIB depends on ([`IfView`]).
    pub fn interface_changed(
        &mut self,
        env: &mut Env<'_>,
        i: IfIndex,
        before: &IfView,
        after: &IfView,
    ) {
        if before.running && !after.running {
            // PIM stopped on I: its downstream state goes.
            let keys: Vec<_> = self
                .ds_index
                .range((i, ADDR_MIN, None)..=(i, ADDR_MAX, Some(ADDR_MAX)))
                .copied()
                .collect();
            for (_, g, s) in keys {
                self.ds_no_info(env, i, g, s, false);
            }
            let keys: Vec<_> = self
                .rpt_index
                .range((i, ADDR_MIN, ADDR_MIN)..=(i, ADDR_MAX, ADDR_MAX))
                .copied()
                .collect();
            for (_, g, s) in keys {
                self.rpt_no_info(env, i, g, s);
            }
            // ... and its assert state.
            for (g, s) in self.asserts_on(i) {
                let cur = self
                    .groups
                    .get(&g)
                    .and_then(|x| x.entry(s))
                    .and_then(|e| e.assert_on(i))
                    .copied();
                let none = Step {
                    next: None,
                    send: None,
                };
                self.apply_assert(env, g, s, i, cur, none);
                self.refresh(env, g, s);
            }
        }
        if before.is_dr != after.is_dr {
            // I_am_DR(I) changed: CouldRegister(S,G) of the sources whose RPF interface is
            // I (4.4.1).
            let users: Vec<(Ipv4Addr, Option<Ipv4Addr>)> = self
                .watches
                .iter()
                .filter(|(_, w)| w.rpf.is_some_and(|r| r.ifindex == Some(i)))
                .flat_map(|(t, w)| w.sg.iter().map(|g| (*g, Some(*t))).collect::<Vec<_>>())
                .collect();
            for (g, s) in users {
                self.refresh(env, g, s);
            }
            // I_am_DR(I) changed: pim_include of every group with local members on I.
            let groups: Vec<Ipv4Addr> = self
                .member_index
                .range((i, ADDR_MIN)..=(i, ADDR_MAX))
                .map(|(_, g)| *g)
                .collect();
            for g in groups {
                let Some(m) = self
                    .groups
                    .get(&g)
                    .and_then(|x| x.members.iter().find(|m| m.ifindex == i))
                    .cloned()
                else {
                    continue;
                };
                if m.exclude {
                    self.touch(env, g, None, after.is_dr);
                }
                let has_star = self.groups.get(&g).is_some_and(|x| x.star.is_some());
                for s in m.excluded {
                    self.touch(env, g, Some(s), after.is_dr && has_star);
                }
                for s in m.include {
                    self.touch(env, g, Some(s), after.is_dr);
                }
            }
        }
        if before.neighbors != after.neighbors {
            // A neighbour came, went or restarted: RPF'(X) of the entries whose RPF
            // interface is I may have changed (4.5.6, 4.5.7 "RPF'(X) changes ... due to
            // neighbour loss" and appearance).
            let users: Vec<(Ipv4Addr, Option<Ipv4Addr>)> = self
                .watches
                .iter()
                .filter(|(_, w)| w.rpf.is_some_and(|r| r.ifindex == Some(i)))
                .flat_map(|(t, w)| w.users(*t))
                .collect();
            for &(g, s) in &users {
                self.refresh(env, g, s);
            }
            // "RPF'(X) GenID changes": decrease JT(X) to t_override.
            let restarted: Vec<Ipv4Addr> = after
                .neighbors
                .iter()
                .filter(|(a, gen_id, _)| {
                    before.neighbors.iter().any(|(b, old, _)| {
                        b == a && old.is_some() && gen_id.is_some() && old != gen_id
                    })
                })
                .map(|n| n.0)
                .collect();
            for &n in &restarted {
                for &(g, s) in &users {
                    self.upstream_sees(env, g, s, (i, n), SeenUpstream::PruneOrGenId);
                }
            }
            // Assert losers whose winner went away ("Current Winner's NLT(N,I) expires") or
            // restarted ("Current Winner's GenID changes"): NoInfo (4.6.1, 4.6.2).
            for (g, s) in self.asserts_on(i) {
                let winner_restarted = self
                    .groups
                    .get(&g)
                    .and_then(|x| x.entry(s))
                    .and_then(|e| e.assert_loser_on(Some(i)))
                    .is_some_and(|w| restarted.contains(&w));
                let input = if winner_restarted {
                    AssertInput::Reset
                } else {
                    AssertInput::Conditions
                };
                self.assert_input(env, g, s, i, input);
            }
        }
    }

    /// An event of 4.5.7 for entry X, taken only if X is Joined with RPF'(X) = `nbr`:
    /// "See Prune(X) to RPF'(X)" and "RPF'(X) GenID changes" decrease the Join Timer to
    /// t_override; "See Join(X) to RPF'(X)" increases it to t_suppressed (at most the
    /// Join's holdtime).
    fn upstream_sees(
        &mut self,
        env: &mut Env<'_>,
        g: Ipv4Addr,
        s: Option<Ipv4Addr>,
        nbr: Nbr,
        seen: SeenUpstream,
    ) {
        let Some(group) = self.groups.get_mut(&g) else {
            return;
        };
        let Some(enc) = group.enc(s) else {
            return;
        };
        let Some(e) = group.entry_mut(s) else {
            return;
        };
        if e.up.nbr != Some(nbr) || e.up.state != UpstreamState::Joined {
            return;
        }
        let t = match seen {
            SeenUpstream::PruneOrGenId => env.t_override(nbr.0),
            SeenUpstream::Join { holdtime } => env
                .t_suppressed(nbr.0)
                .min(Duration::from_secs(u64::from(holdtime))),
        };
        let mut c = upstream::Ctx {
            timers: &mut self.timers,
            outbox: &mut self.outbox,
            now: env.now,
            t_periodic: env.t_periodic(),
            group: g,
            source: s,
            enc,
        };
        match seen {
            SeenUpstream::PruneOrGenId => e.up.decrease_jt(&mut c, t),
            SeenUpstream::Join { .. } => e.up.see_join(&mut c, t),
        }
    }

    // ---------------------------------------------------------------------------------
    // Join/Prune messages received (4.5)

    /// A Join/Prune message from `src` on `i` (already accepted: ALL-PIM-ROUTERS, TTL 1).
    /// Addressed to us: the downstream machines (4.5.2, 4.5.3). Addressed to another
    /// router: the upstream machines of the entries whose RPF' it is (join suppression
    /// and prune override, 4.5.6, 4.5.7).
    pub fn receive_jp(&mut self, env: &mut Env<'_>, i: IfIndex, src: Ipv4Addr, jp: &JoinPrune) {
        self.counters.jp_received += 1;
        if env.nbr_primary(i, src).is_none() {
            self.ignore(ignored::NOT_NEIGHBOR);
            return;
        }
        let upstream = if env.own_addr(i) == Some(jp.upstream_neighbor) {
            None
        } else if let Some(u) = env.nbr_primary(i, jp.upstream_neighbor) {
            Some((i, u))
        } else {
            self.ignore(ignored::UNKNOWN_UPSTREAM);
            return;
        };
        for set in &jp.groups {
            let g = set.group.group;
            if set.group.mask_len != 32 || set.group.bidir || !routable_group(g) {
                self.ignore(ignored::BAD_GROUP);
                continue;
            }
            match upstream {
                None => self.downstream_set(env, i, jp.holdtime, set),
                Some(nbr) => self.upstream_set(env, nbr, jp.holdtime, set),
            }
        }
    }

    fn downstream_set(
        &mut self,
        env: &mut Env<'_>,
        i: IfIndex,
        holdtime: u16,
        set: &JoinPruneGroup,
    ) {
        let g = set.group.group;
        // 4.5.4: a Join(*,G) in the message moves (S,G,rpt) Prune to PruneTmp and
        // Prune-Pending to Prune-Pending-Tmp on I before the message's Prune(S,G,rpt) are
        // processed; what is still temporary at the end of the message goes to NoInfo.
        let star_join = !env.config.is_ssm(g)
            && set
                .joins
                .iter()
                .any(|j| j.mask_len == 32 && j.is_star_g() && env.rp_for(g) == Some(j.source));
        let tmp: Vec<Ipv4Addr> = if star_join {
            self.rpt_index
                .range((i, g, ADDR_MIN)..=(i, g, ADDR_MAX))
                .map(|k| k.2)
                .collect()
        } else {
            Vec::new()
        };
        for s in &tmp {
            if let Some(r) = self.rpt_mut(g, *s) {
                r.star_join(i);
            }
        }
        for j in &set.joins {
            self.counters.joins_received += 1;
            if j.mask_len != 32 {
                self.ignore(ignored::BAD_SOURCE);
            } else if j.is_star_g() {
                // 4.5.2: "the router MUST check that the RP in the message matches RP(G)
                // ... if not, the Join(*,G) is silently dropped"; none in the SSM range.
                if env.config.is_ssm(g) {
                    self.ignore(ignored::STAR_G_IN_SSM_RANGE);
                } else if env.rp_for(g) != Some(j.source) {
                    self.ignore(ignored::RP_MISMATCH);
                } else if self.ensure_star(env, g) {
                    self.assert_join(env, i, g, None);
                    self.ds_join(env, i, g, None, holdtime);
                }
            } else if j.is_sg() {
                self.ensure_sg(env, g, j.source);
                self.assert_join(env, i, g, Some(j.source));
                self.ds_join(env, i, g, Some(j.source), holdtime);
            } else {
                // Join(S,G,rpt): Prune and Prune-Pending -> NoInfo.
                self.rpt_no_info(env, i, g, j.source);
            }
        }
        for p in &set.prunes {
            self.counters.prunes_received += 1;
            if p.mask_len != 32 {
                self.ignore(ignored::BAD_SOURCE);
            } else if p.is_star_g() {
                self.ds_prune(env, i, g, None);
            } else if p.is_sg() {
                self.ds_prune(env, i, g, Some(p.source));
            } else {
                self.rpt_prune(env, i, g, p.source, holdtime);
            }
        }
        for s in tmp {
            let Some(r) = self
                .groups
                .get_mut(&g)
                .and_then(|x| x.sg.get_mut(&s))
                .and_then(|e| e.rpt.as_deref_mut())
            else {
                continue;
            };
            if r.end_of_message(&mut self.timers, g, s, i) {
                self.rpt_index.remove(&(i, g, s));
                self.refresh_sg(env, g, s);
            }
        }
    }

    fn rpt_mut(&mut self, g: Ipv4Addr, s: Ipv4Addr) -> Option<&mut Rpt> {
        self.groups.get_mut(&g)?.sg.get_mut(&s)?.rpt.as_deref_mut()
    }

    /// "Receive Prune(S,G,rpt)" on I (4.5.4). PPT(S,G,rpt,I) is J/P_Override_Interval(I)
    /// with more than one neighbour on I, else zero (Prune at once). Ignored without (*,G)
    /// state.
    fn rpt_prune(
        &mut self,
        env: &mut Env<'_>,
        i: IfIndex,
        g: Ipv4Addr,
        s: Ipv4Addr,
        holdtime: u16,
    ) {
        if self.groups.get(&g).is_none_or(|x| x.star.is_none()) {
            self.ignore(ignored::SG_RPT);
            return;
        }
        self.counters.rpt_prunes_received += 1;
        let ppt = if env.neighbor_count(i) > 1 {
            env.jp_override_interval(i)
        } else {
            Duration::ZERO
        };
        self.ensure_sg(env, g, s);
        let e = self
            .groups
            .get_mut(&g)
            .and_then(|x| x.sg.get_mut(&s))
            .expect("made");
        let r = e.rpt.get_or_insert_with(Box::default);
        if r.receive_prune(&mut self.timers, g, s, i, env.now, holdtime, ppt) && ppt.is_zero() {
            r.ppt_expired(&mut self.timers, g, s, i);
        }
        self.rpt_index.insert((i, g, s));
        self.refresh_sg(env, g, s);
    }

    /// (S,G,rpt) downstream state on I -> NoInfo (Join(S,G,rpt), ET expiry, PIM stopped).
    fn rpt_no_info(&mut self, env: &mut Env<'_>, i: IfIndex, g: Ipv4Addr, s: Ipv4Addr) {
        let Some(r) = self
            .groups
            .get_mut(&g)
            .and_then(|x| x.sg.get_mut(&s))
            .and_then(|e| e.rpt.as_deref_mut())
        else {
            return;
        };
        if r.no_info(&mut self.timers, g, s, i) {
            self.rpt_index.remove(&(i, g, s));
            self.refresh_sg(env, g, s);
        }
    }

    fn upstream_set(&mut self, env: &mut Env<'_>, nbr: Nbr, holdtime: u16, set: &JoinPruneGroup) {
        let g = set.group.group;
        if !self.groups.contains_key(&g) {
            return;
        }
        for j in &set.joins {
            if j.is_star_g() {
                self.upstream_sees(env, g, None, nbr, SeenUpstream::Join { holdtime });
            } else if j.is_sg() {
                self.upstream_sees(env, g, Some(j.source), nbr, SeenUpstream::Join { holdtime });
            } else {
                // 4.5.9 "See Join(S,G,rpt) to RPF'(S,G,rpt)": cancel OT.
                self.see_rpt(env, g, j.source, nbr, false);
            }
        }
        for p in &set.prunes {
            if p.is_star_g() {
                self.upstream_sees(env, g, None, nbr, SeenUpstream::PruneOrGenId);
                // 4.5.7 "See Prune(*,G) to RPF'(S,G)".
                let sources: Vec<Ipv4Addr> = self.groups[&g].sg.keys().copied().collect();
                for s in sources {
                    self.upstream_sees(env, g, Some(s), nbr, SeenUpstream::PruneOrGenId);
                }
            } else {
                // Prune(S,G), and 4.5.7 "See Prune(S,G,rpt) to RPF'(S,G)".
                self.upstream_sees(env, g, Some(p.source), nbr, SeenUpstream::PruneOrGenId);
                // 4.5.9 "See Prune(S,G,rpt) to RPF'(S,G,rpt)" and "See Prune(S,G) to
                // RPF'(S,G,rpt)": OT = min(OT, t_override) in NotPruned.
                self.see_rpt(env, g, p.source, nbr, true);
            }
        }
    }

    /// Another router's Prune(S,G,rpt) or Prune(S,G) (`prune`) or Join(S,G,rpt) to `nbr`:
    /// if `nbr` is RPF'(*,G) and RPTJoinDesired(G), the upstream (S,G,rpt) machine in
    /// NotPruned starts its Override Timer (a Prune) or cancels it (a Join) (4.5.9).
    fn see_rpt(&mut self, env: &mut Env<'_>, g: Ipv4Addr, s: Ipv4Addr, nbr: Nbr, prune: bool) {
        let on_rpt = self
            .groups
            .get(&g)
            .and_then(|x| x.star.as_ref())
            .is_some_and(|st| {
                st.rp.is_some()
                    && st.e.up.state == UpstreamState::Joined
                    && st.e.up.nbr == Some(nbr)
            });
        if !on_rpt {
            return;
        }
        if prune {
            self.ensure_sg(env, g, s);
            let t = env.t_override(nbr.0);
            let e = self
                .groups
                .get_mut(&g)
                .and_then(|x| x.sg.get_mut(&s))
                .expect("made");
            let r = e.rpt.get_or_insert_with(Box::default);
            if r.up == RptUpstreamState::RptNotJoined {
                // Derived NotPruned state (not stored while idle); refresh_sg corrects it.
                r.up = RptUpstreamState::NotPruned;
            }
            let at = env.now + t;
            if r.up == RptUpstreamState::NotPruned && r.ot.is_none_or(|ot| ot > at) {
                self.timers.set(&mut r.ot, rpt::ot_ref(g, s), Some(at));
            }
        } else if let Some(r) = self
            .groups
            .get_mut(&g)
            .and_then(|x| x.sg.get_mut(&s))
            .and_then(|e| e.rpt.as_deref_mut())
        {
            self.timers.set(&mut r.ot, rpt::ot_ref(g, s), None);
        } else {
            return;
        }
        self.refresh_sg(env, g, s);
    }

    /// "Receive Join(X)" on I (the entry exists).
    fn ds_join(
        &mut self,
        env: &mut Env<'_>,
        i: IfIndex,
        g: Ipv4Addr,
        s: Option<Ipv4Addr>,
        holdtime: u16,
    ) {
        let Some(e) = self.groups.get_mut(&g).and_then(|x| x.entry_mut(s)) else {
            return;
        };
        let pos = match e.oifs.binary_search_by_key(&i, |o| o.ifindex) {
            Ok(p) => p,
            Err(p) => {
                e.oifs.insert(p, Oif::new(i));
                self.ds_index.insert((i, g, s));
                p
            }
        };
        if e.oifs[pos].receive_join(&mut self.timers, g, s, env.now, holdtime) {
            self.refresh(env, g, s);
        }
    }

    /// "Receive Prune(X)" on I: PPT(X,I) is J/P_Override_Interval(I) with more than one
    /// neighbour on I, else zero: then the interface is pruned at once.
    fn ds_prune(&mut self, env: &mut Env<'_>, i: IfIndex, g: Ipv4Addr, s: Option<Ipv4Addr>) {
        let ppt = if env.neighbor_count(i) > 1 {
            env.jp_override_interval(i)
        } else {
            Duration::ZERO
        };
        let Some(oif) = self
            .groups
            .get_mut(&g)
            .and_then(|x| x.entry_mut(s))
            .and_then(|e| e.oif_mut(i))
        else {
            return;
        };
        if oif.receive_prune(&mut self.timers, g, s, env.now, ppt) && ppt.is_zero() {
            self.ds_no_info(env, i, g, s, false);
        }
    }

    /// The downstream state of X on I goes to NoInfo (ET or PPT expired, or PIM stopped on
    /// I). After a PPT expiry with more than one neighbour on I, a PruneEcho(X) (a Prune
    /// with our own address as Upstream Neighbor, 4.5.2) is sent so that a downstream
    /// router whose Join was lost gets another chance to override.
    fn ds_no_info(
        &mut self,
        env: &mut Env<'_>,
        i: IfIndex,
        g: Ipv4Addr,
        s: Option<Ipv4Addr>,
        echo: bool,
    ) {
        let Some(group) = self.groups.get_mut(&g) else {
            return;
        };
        let enc = group.enc(s);
        let Some(e) = group.entry_mut(s) else {
            return;
        };
        let Ok(pos) = e.oifs.binary_search_by_key(&i, |o| o.ifindex) else {
            return;
        };
        let mut oif = e.oifs.remove(pos);
        oif.enter_no_info(&mut self.timers, g, s);
        self.ds_index.remove(&(i, g, s));
        if echo
            && env.neighbor_count(i) > 1
            && let (Some(own), Some(enc)) = (env.own_addr(i), enc)
        {
            self.outbox.prune(i, own, g, enc);
        }
        self.refresh(env, g, s);
    }

    // ---------------------------------------------------------------------------------
    // Register (4.4) and keepalive (4.1.1, 4.2.1)

    fn reg_drop(&mut self, why: &'static str) {
        *self
            .reg_counters
            .dropped
            .entry(why.to_string())
            .or_default() += 1;
    }

    /// The register VIF appeared, changed or went away: every forwarding intent that
    /// names it is recomputed.
    pub fn set_register_vif(&mut self, env: &mut Env<'_>, vif: Option<IfIndex>) {
        if self.register_vif == vif {
            return;
        }
        self.register_vif = vif;
        let keys: Vec<(Ipv4Addr, Vec<Ipv4Addr>)> = self
            .groups
            .iter()
            .map(|(g, x)| (*g, x.sg.keys().copied().collect()))
            .collect();
        for (g, sources) in keys {
            self.refresh_star(env, g);
            for s in sources {
                self.refresh_sg(env, g, s);
            }
        }
    }

    /// (Re)start KAT(S,G) with `period`.
    fn set_kat(&mut self, env: &Env<'_>, g: Ipv4Addr, s: Ipv4Addr, period: Duration) {
        if let Some(e) = self.groups.get_mut(&g).and_then(|x| x.sg.get_mut(&s)) {
            self.timers
                .set(&mut e.kat, kat_ref(g, s), Some(env.now + period));
        }
    }

    /// A kernel NOCACHE upcall: the first packet of (S,G), arriving on `arrival`. At a DR
    /// for a directly connected source of an ASM group whose RP is another router, (S,G)
    /// state with a running KAT, so that `CouldRegister(S,G)` becomes true (4.4.1; 4.2.1
    /// "set KeepaliveTimer(S,G) to Keepalive_Period" for a directly connected source).
    /// At the RP itself nothing is needed: the (*,G) intent forwards the source natively.
    pub fn nocache(&mut self, env: &mut Env<'_>, arrival: IfIndex, s: Ipv4Addr, g: Ipv4Addr) {
        if !routable_group(g) {
            return;
        }
        let Some(rp) = env.rp_for(g) else {
            return;
        };
        let rp_is_us = self.rpf_of(Some(rp)).is_some_and(|r| r.local)
            || env.ifs.values().any(|i| i.own_addr() == Some(rp));
        if rp_is_us {
            return;
        }
        let rpf = self.rpf_of(Some(s));
        let first_hop = env.is_dr(arrival)
            && rpf.is_none_or(|r| directly_connected(Some(&r)) && r.ifindex == Some(arrival));
        // 4.2.2 at a last-hop router: the first packet of S on the shared tree (arriving
        // on RPF_interface(RP(G))).
        let on_rpt = self
            .groups
            .get(&g)
            .and_then(|x| x.star.as_ref())
            .is_some_and(|st| rpf_interface(self.rpf_of(st.rp).as_ref()) == Some(arrival));
        let switch = env.config.spt_switchover == SptPolicy::Immediate
            && on_rpt
            && self.last_hop_wants(env, g, s);
        if !first_hop && !switch {
            return;
        }
        self.ensure_sg(env, g, s);
        if first_hop {
            self.set_kat(env, g, s, KEEPALIVE_PERIOD);
            if rpf.is_none()
                && let Some(e) = self.groups.get_mut(&g).and_then(|x| x.sg.get_mut(&s))
            {
                e.dc_check = true;
            }
        }
        if switch {
            self.switch_to_spt(env, g, s, None);
        } else {
            self.refresh_sg(env, g, s);
        }
    }

    /// A packet of (S,G) from the register VIF (`UpcallKind::WholePacket`): in Register
    /// state Join, send it to RP(G) in a Register (4.4.1) unless it does not fit.
    pub fn whole_packet(
        &mut self,
        env: &mut Env<'_>,
        vif: IfIndex,
        s: Ipv4Addr,
        g: Ipv4Addr,
        data: &[u8],
    ) {
        if self.register_vif != Some(vif) {
            self.reg_drop(register_drops::NOT_REGISTER_VIF);
            return;
        }
        let Some(e) = self.groups.get(&g).and_then(|x| x.sg.get(&s)) else {
            self.reg_drop(register_drops::NOT_REGISTERING);
            return;
        };
        if !e.reg.tunnel() {
            self.reg_drop(register_drops::NOT_REGISTERING);
            return;
        }
        let rp = e.rp_watch;
        let reg = Register {
            border: false,
            null: false,
            packet: data.to_vec(),
        };
        if reg.source_group() != Some((s, g)) {
            self.reg_drop(register_drops::BAD_PACKET);
            return;
        }
        if data.len() > packet::max_register_payload(REGISTER_MTU) {
            self.reg_counters.register_too_big += 1;
            self.reg_drop(register_drops::TOO_BIG);
            return;
        }
        // Data from a directly connected S: KAT(S,G) (4.2.1).
        self.set_kat(env, g, s, KEEPALIVE_PERIOD);
        if self.send_to_rp(env, rp, Message::Register(reg)) {
            self.reg_counters.registers_sent += 1;
        }
    }

    /// Send a Register or Null-Register to RP(G) out of RPF_interface(RP(G)); false (and
    /// counted) if that is unknown.
    fn send_to_rp(&mut self, env: &mut Env<'_>, rp: Option<Ipv4Addr>, msg: Message) -> bool {
        let route = rp.and_then(|rp| Some((rp, self.rpf_of(Some(rp))?.ifindex?)));
        let Some((rp, ifindex)) = route else {
            self.reg_drop(register_drops::NO_ROUTE_TO_RP);
            return false;
        };
        env.out.push(Action::Send {
            ifindex,
            dst: rp,
            ttl: 64,
            router_alert: false,
            payload: packet::emit(&msg),
        });
        true
    }

    /// Register-Stop(S,G) to `dr` (4.4.2): out of RPF_interface(dr) if known, else the
    /// interface the Register came in on.
    fn send_register_stop(
        &mut self,
        env: &mut Env<'_>,
        arrival: IfIndex,
        dr: Ipv4Addr,
        g: Ipv4Addr,
        s: Ipv4Addr,
    ) {
        let ifindex = self
            .rpf_of(Some(dr))
            .and_then(|r| r.ifindex)
            .unwrap_or(arrival);
        env.out.push(Action::Send {
            ifindex,
            dst: dr,
            ttl: 64,
            router_alert: false,
            payload: packet::emit(&Message::RegisterStop(RegisterStop {
                group: EncodedGroup::new(g),
                source: s,
            })),
        });
        self.reg_counters.register_stops_sent += 1;
    }

    /// A Register unicast to `dst` (one of our addresses) from `src` (4.4.2
    /// `packet_arrives_on_rp_tunnel`). `SwitchToSptDesired(S,G)` is always true at the RP
    /// (it joins every source it hears of while it has receivers); the B bit (PMBR) is not
    /// supported and ignored. The data of a Register is decapsulated and forwarded by the
    /// kernel (the register VIF is the iif of the (*,G) and, before SPTbit, (S,G) intents).
    pub fn receive_register(
        &mut self,
        env: &mut Env<'_>,
        arrival: IfIndex,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        reg: &Register,
    ) {
        self.reg_counters.registers_received += 1;
        if reg.null {
            self.reg_counters.null_registers_received += 1;
        }
        let Some((s, g)) = reg.source_group() else {
            self.reg_drop(register_drops::BAD_PACKET);
            return;
        };
        if !routable_group(g) {
            self.reg_drop(register_drops::BAD_GROUP);
            return;
        }
        if env.rp_for(g) != Some(dst) {
            // "else send Register-Stop(S,G) to outer.src".
            self.reg_drop(register_drops::NOT_RP);
            self.send_register_stop(env, arrival, src, g, s);
            return;
        }
        self.ensure_sg(env, g, s);
        let rpt_olist = self.rpt_olist(env, g, s);
        let group = self.groups.get_mut(&g).expect("made");
        let e = group.sg.get_mut(&s).expect("made");
        // inherited_olist(S,G) as 4.1.6 defines it, without removing the iif (see
        // `update_sg`): receivers behind the source's RPF interface are still receivers.
        let inherited = inherited_olist_sg(&e.olist, &rpt_olist, None);
        let spt_bit = e.spt_bit;
        if !reg.null {
            e.regs_since_stats += 1;
        }
        // "if (SPTbit(S,G) OR (SwitchToSptDesired(S,G) AND inherited_olist(S,G) == NULL))
        // send Register-Stop(S,G)".
        let stop = spt_bit || inherited.is_empty();
        if stop {
            self.send_register_stop(env, arrival, src, g, s);
        }
        // "set KeepaliveTimer(S,G) to RP_Keepalive_Period" after a Register-Stop, else to
        // Keepalive_Period.
        let period = if stop {
            RP_KEEPALIVE_PERIOD
        } else {
            KEEPALIVE_PERIOD
        };
        self.set_kat(env, g, s, period);
        if !spt_bit && !reg.null {
            self.reg_counters.registers_decapsulated += 1;
        }
        self.refresh_sg(env, g, s);
    }

    /// A Register-Stop unicast to us (4.4.1 "Receive Register-Stop"); source 0.0.0.0 is
    /// every source of the group (4.9.4).
    pub fn receive_register_stop(&mut self, env: &mut Env<'_>, rs: &RegisterStop) {
        self.reg_counters.register_stops_received += 1;
        let g = rs.group.group;
        let sources: Vec<Ipv4Addr> = match self.groups.get(&g) {
            None => Vec::new(),
            Some(x) if rs.source.is_unspecified() => x.sg.keys().copied().collect(),
            Some(x) => {
                x.sg.get_key_value(&rs.source)
                    .map(|(k, _)| *k)
                    .into_iter()
                    .collect()
            }
        };
        let mut acted = false;
        for s in sources {
            let Some(e) = self.groups.get_mut(&g).and_then(|x| x.sg.get_mut(&s)) else {
                continue;
            };
            if e.reg.state == crate::RegisterState::NoInfo {
                continue;
            }
            acted = true;
            if let Some(rst) = e.reg.receive_register_stop(env.now, env.rng) {
                self.timers.set(&mut e.reg.rst, rst_ref(g, s), Some(rst));
                self.refresh_sg(env, g, s);
            }
        }
        if !acted {
            self.reg_drop(register_drops::REGISTER_STOP_NO_STATE);
        }
    }

    /// Kernel counters of (S,G) (`Input::MfcStats`): a packet counter that grew since the
    /// last sample (by more than the data Registers the kernel decapsulated into the entry
    /// meanwhile) means data arrived; the counter going down means the kernel entry was
    /// made again.
    ///
    /// The byte counters give the rate of the source (4.2.2): at a last-hop router
    /// (`pim_include(*,G) (-) pim_exclude(S,G)` not empty, on the shared tree, not the RP)
    /// `SwitchToSptDesired(S,G)` is evaluated on data ([`SptPolicy`]); for a source
    /// without (S,G) state the samples of the kernel entry made from the (*,G) intent are
    /// kept per (S,G) until the switch.
    pub fn mfc_stats(
        &mut self,
        env: &mut Env<'_>,
        s: Ipv4Addr,
        g: Ipv4Addr,
        packets: u64,
        bytes: u64,
    ) {
        if let Some(e) = self.groups.get_mut(&g).and_then(|x| x.sg.get_mut(&s)) {
            let delta = e.rate.sample(env.now, packets, bytes);
            let kbps = e.rate.kbps;
            let switched = e.spt_switch;
            let regs = std::mem::take(&mut e.regs_since_stats);
            if delta > regs {
                self.data_arrived(env, g, s);
            }
            if delta > 0
                && !switched
                && spt_wanted(env.config, kbps)
                && self.last_hop_wants(env, g, s)
            {
                self.switch_to_spt(env, g, s, None);
            }
            return;
        }
        if env.config.spt_switchover == SptPolicy::Never || !self.last_hop_wants(env, g, s) {
            self.shared_rates.remove(&(g, s));
            return;
        }
        let r = self.shared_rates.entry((g, s)).or_default();
        let delta = r.sample(env.now, packets, bytes);
        if delta > 0 && spt_wanted(env.config, r.kbps) {
            let base = self.shared_rates.remove(&(g, s));
            self.switch_to_spt(env, g, s, base);
        }
    }

    /// A last-hop router for S of G (4.2.2): G is on the shared tree here (RP(G) is another
    /// router), `pim_include(*,G) (-) pim_exclude(S,G)` is not empty, S is not directly
    /// connected (known or not yet).
    fn last_hop_wants(&self, env: &Env<'_>, g: Ipv4Addr, s: Ipv4Addr) -> bool {
        let Some(group) = self.groups.get(&g) else {
            return false;
        };
        let Some(st) = &group.star else {
            return false;
        };
        if st.rp.is_none()
            || self.rpf_of(st.rp).is_none_or(|r| r.local)
            || self
                .rpf_of(Some(s))
                .is_some_and(|r| directly_connected(Some(&r)))
        {
            return false;
        }
        let exclude = pim_exclude_sg(&group.members, true, s, |i| env.is_dr(i));
        st.include.iter().any(|i| !exclude.contains(i))
    }

    /// `inherited_olist(S,G,rpt)` (4.1.6) for S of G.
    fn rpt_olist(&self, env: &Env<'_>, g: Ipv4Addr, s: Ipv4Addr) -> Vec<IfIndex> {
        let Some(group) = self.groups.get(&g) else {
            return Vec::new();
        };
        let Some(st) = &group.star else {
            return Vec::new();
        };
        let exclude = pim_exclude_sg(&group.members, st.rp.is_some(), s, |i| env.is_dr(i));
        let prunes = group
            .sg
            .get(&s)
            .and_then(|e| e.rpt.as_ref())
            .map_or_else(Vec::new, |r| r.prunes());
        inherited_olist_sg_rpt(&st.joins, &prunes, &st.include, &exclude)
    }

    /// SwitchToSptDesired(S,G) became true at a last-hop router (4.2.2): (S,G) state with
    /// KAT(S,G) started by the data (4.2.1), so that JoinDesired(S,G) joins the source
    /// tree. `base`: the counters of the source on the shared tree, so that only data
    /// counted after the switch sets SPTbit(S,G).
    fn switch_to_spt(&mut self, env: &mut Env<'_>, g: Ipv4Addr, s: Ipv4Addr, base: Option<Rate>) {
        self.ensure_sg(env, g, s);
        let e = self
            .groups
            .get_mut(&g)
            .and_then(|x| x.sg.get_mut(&s))
            .expect("made");
        if e.spt_switch {
            return;
        }
        e.spt_switch = true;
        if let Some(b) = base {
            e.rate = b;
        }
        let kbps = e.rate.kbps;
        self.counters.spt_switches += 1;
        let why = match (env.config.spt_switchover, kbps) {
            (SptPolicy::Threshold { kbps: t }, Some(k)) => format!("{k} kbit/s > {t} kbit/s"),
            _ => "first packet".to_string(),
        };
        env.event(
            events::SPT_SWITCH,
            format!("({s}, {g}): switch to the shortest-path tree ({why})"),
        );
        self.set_kat(env, g, s, KEEPALIVE_PERIOD);
        self.refresh_sg(env, g, s);
    }

    /// Data of (S,G) arrived on RPF_interface(S) (4.2.1, the kernel counts only what the
    /// entry matched; arrival on another interface is not distinguished):
    ///
    /// * `DirectlyConnected(S)`: set KeepaliveTimer(S,G) to Keepalive_Period;
    /// * `UpstreamJPState(S,G) == Joined AND inherited_olist(S,G) != NULL`: the same;
    /// * `Update_SPTbit(S,G, RPF_interface(S))` (4.2.2): SPTbit(S,G) becomes TRUE if
    ///   `JoinDesired(S,G)` and (`DirectlyConnected(S)` or `RPF_interface(S) !=
    ///   RPF_interface(RP(G))` or `inherited_olist(S,G,rpt) == NULL` or `RPF'(S,G) ==
    ///   RPF'(*,G) != NULL` or `I_Am_Assert_Loser(S,G,RPF_interface(S))`).
    fn data_arrived(&mut self, env: &mut Env<'_>, g: Ipv4Addr, s: Ipv4Addr) {
        let rpf = self.rpf_of(Some(s));
        let dc = directly_connected(rpf.as_ref());
        let iif = rpf.and_then(|r| r.ifindex);
        let rpt_olist = self.rpt_olist(env, g, s);
        let Some(group) = self.groups.get(&g) else {
            return;
        };
        let (star_rpf_if, star_nbr) = match &group.star {
            Some(st) => {
                let r = self.rpf_of(st.rp);
                (rpf_interface(r.as_ref()), st.e.up.nbr)
            }
            None => (None, None),
        };
        let Some(e) = group.sg.get(&s) else {
            return;
        };
        let inherited = inherited_olist_sg(&e.olist, &rpt_olist, None);
        if dc || (e.up.state == UpstreamState::Joined && !inherited.is_empty()) {
            self.set_kat(env, g, s, KEEPALIVE_PERIOD);
        }
        let e = self
            .groups
            .get_mut(&g)
            .and_then(|x| x.sg.get_mut(&s))
            .expect("present");
        let jd = join_desired_sg(&e.olist, e.kat.is_some(), &inherited);
        let rpt_olist_null = rpt_olist.iter().all(|&i| Some(i) == iif);
        if iif.is_some()
            && jd
            && (dc
                || iif != star_rpf_if
                || rpt_olist_null
                || (e.up.nbr.is_some() && e.up.nbr == star_nbr)
                || e.assert_loser_on(iif).is_some())
        {
            e.spt_bit = true;
        }
        self.refresh_sg(env, g, s);
    }

    // ---------------------------------------------------------------------------------
    // Assert (4.6)

    /// The assert macros of 4.6.5 for (S,G) on I: `CouldAssert(S,G,I)`,
    /// `AssertTrackingDesired(S,G,I)`, `spt_assert_metric(S,I)` and `my_assert_metric(S,G,I)`.
    /// None without our address on I.
    fn sg_conds(&self, env: &Env<'_>, g: Ipv4Addr, s: Ipv4Addr, i: IfIndex) -> Option<Conds> {
        let me = env.own_addr(i)?;
        let group = self.groups.get(&g);
        let rpf_if_s = self.rpf_of(Some(s)).and_then(|r| r.ifindex);
        let star = group.and_then(|x| x.star.as_ref());
        let rpf_if_rp = star.and_then(|st| rpf_interface(self.rpf_of(st.rp).as_ref()));
        let asm = star.is_some_and(|st| st.rp.is_some());
        let e = group.and_then(|x| x.sg.get(&s));
        let members: &[Member] = group.map_or(&[], |x| &x.members);
        let exclude = pim_exclude_sg(members, asm, s, |i| env.is_dr(i));
        let prunes = e
            .and_then(|e| e.rpt.as_ref())
            .map_or_else(Vec::new, |r| r.prunes());
        // st.joins and st.include are joins(*,G) and pim_include(*,G) without
        // lost_assert(*,G).
        let (sj, si): (&[IfIndex], &[IfIndex]) =
            star.map_or((&[], &[]), |st| (&st.joins, &st.include));
        let x = AssertInputsSg {
            i: Some(i),
            spt_bit: e.is_some_and(|e| e.spt_bit),
            rpf_if_s,
            rpf_if_rp,
            from_star: (sj.contains(&i) && !prunes.contains(&i))
                || (si.contains(&i) && !exclude.contains(&i)),
            sg_joined: e.is_some_and(|e| joins(&e.oifs).contains(&i)),
            local_include: members
                .iter()
                .any(|m| m.ifindex == i && local_receiver_include_sg(m, s)),
            i_am_dr: env.is_dr(i),
            winner_is_me: e
                .and_then(|e| e.assert_on(i))
                .is_some_and(|a| a.state == AssertState::Winner),
            join_desired_sg: e.is_some_and(|e| e.up.state == UpstreamState::Joined),
            join_desired_star_g: star.is_some_and(|st| st.e.up.state == UpstreamState::Joined),
        };
        let could = could_assert_sg(&x);
        let could_star = (sj.contains(&i) || si.contains(&i)) && rpf_if_rp != Some(i);
        let spt = AssertMetric::spt(me);
        Some(Conds {
            could,
            tracking: assert_tracking_desired_sg(&x),
            assert_metric: spt,
            my_metric: if could {
                spt
            } else if could_star {
                AssertMetric::rpt(me)
            } else {
                AssertMetric::infinite()
            },
            star: false,
        })
    }

    /// The assert macros of 4.6.5 for (*,G) on I. None without (*,G) state or our address.
    fn star_conds(&self, env: &Env<'_>, g: Ipv4Addr, i: IfIndex) -> Option<Conds> {
        let me = env.own_addr(i)?;
        let group = self.groups.get(&g)?;
        let st = group.star.as_ref()?;
        let x = AssertInputsStarG {
            i: Some(i),
            rpf_if_rp: rpf_interface(self.rpf_of(st.rp).as_ref()),
            joined: joins(&st.e.oifs).contains(&i),
            local_include: st.rp.is_some()
                && group
                    .members
                    .iter()
                    .any(|m| m.ifindex == i && local_receiver_include_star_g(m)),
            i_am_dr: env.is_dr(i),
            winner_is_me: st
                .e
                .assert_on(i)
                .is_some_and(|a| a.state == AssertState::Winner),
            rpt_join_desired: st.rp.is_some() && st.e.up.state == UpstreamState::Joined,
        };
        let could = could_assert_star_g(&x);
        let rpt = AssertMetric::rpt(me);
        Some(Conds {
            could,
            tracking: assert_tracking_desired_star_g(&x),
            assert_metric: rpt,
            my_metric: if could { rpt } else { AssertMetric::infinite() },
            star: true,
        })
    }

    /// Run one input through the assert machine of entry (G, S) on I; true if anything
    /// changed (the caller refreshes the entry).
    fn assert_eval(
        &mut self,
        env: &mut Env<'_>,
        g: Ipv4Addr,
        s: Option<Ipv4Addr>,
        i: IfIndex,
        mut input: AssertInput,
    ) -> bool {
        let conds = match s {
            Some(s) => self.sg_conds(env, g, s, i),
            None => self.star_conds(env, g, i),
        };
        let cur = self
            .groups
            .get(&g)
            .and_then(|x| x.entry(s))
            .and_then(|e| e.assert_on(i))
            .copied();
        let (Some(c), Some(me)) = (conds, env.own_addr(i)) else {
            // No address on I (or no (*,G) state any more): no assert state.
            if cur.is_some() {
                self.apply_assert(
                    env,
                    g,
                    s,
                    i,
                    cur,
                    Step {
                        next: None,
                        send: None,
                    },
                );
                return true;
            }
            return false;
        };
        // "Current Winner's NLT(N,I) expires": the winner is no neighbour any more.
        if let Some(a) = cur.filter(|a| a.state == AssertState::Loser)
            && input == AssertInput::Conditions
            && env.nbr_primary(i, a.winner) != Some(a.winner)
        {
            input = AssertInput::Reset;
        }
        let step = asrt::step(cur.as_ref(), input, &c, env.now, i, me);
        if step.next == cur && step.send.is_none() {
            return false;
        }
        if step.next.is_some()
            && let Some(s) = s
        {
            self.ensure_sg(env, g, s);
        }
        self.apply_assert(env, g, s, i, cur, step);
        true
    }

    /// [`Self::assert_eval`], then refresh the entry.
    fn assert_input(
        &mut self,
        env: &mut Env<'_>,
        g: Ipv4Addr,
        s: Option<Ipv4Addr>,
        i: IfIndex,
        input: AssertInput,
    ) {
        if self.assert_eval(env, g, s, i, input) {
            self.refresh(env, g, s);
        }
    }

    /// Store the outcome of a transition: state, Assert Timer, index, events, the Assert
    /// or AssertCancel to send.
    fn apply_assert(
        &mut self,
        env: &mut Env<'_>,
        g: Ipv4Addr,
        s: Option<Ipv4Addr>,
        i: IfIndex,
        cur: Option<IfAssert>,
        step: Step,
    ) {
        let Some(e) = self.groups.get_mut(&g).and_then(|x| x.entry_mut(s)) else {
            return;
        };
        let r = TimerRef {
            group: g,
            source: s,
            kind: TimerKind::At(i),
        };
        match (e.asserts.binary_search_by_key(&i, |a| a.ifindex), step.next) {
            (Ok(p), Some(mut n)) => {
                let mut slot = e.asserts[p].timer;
                self.timers.set(&mut slot, r, n.timer);
                n.timer = slot;
                e.asserts[p] = n;
            }
            (Ok(p), None) => {
                let mut slot = e.asserts[p].timer;
                self.timers.set(&mut slot, r, None);
                e.asserts.remove(p);
                self.assert_index.remove(&(i, g, s));
            }
            (Err(p), Some(mut n)) => {
                let mut slot = None;
                self.timers.set(&mut slot, r, n.timer);
                n.timer = slot;
                e.asserts.insert(p, n);
                self.assert_index.insert((i, g, s));
            }
            (Err(_), None) => {}
        }
        let name = match s {
            Some(s) => format!("({s}, {g})"),
            None => format!("(*, {g})"),
        };
        match (cur, step.next) {
            (c, Some(n))
                if n.state == AssertState::Winner
                    && c.is_none_or(|c| c.state != AssertState::Winner) =>
            {
                self.counters.assert_wins += 1;
                env.event(events::ASSERT_WIN, format!("{name}: assert winner on {i}"));
            }
            (c, Some(n))
                if n.state == AssertState::Loser
                    && c.is_none_or(|c| c.state != AssertState::Loser || c.winner != n.winner) =>
            {
                self.counters.assert_losses += 1;
                env.event(
                    events::ASSERT_LOSE,
                    format!("{name}: assert loser on {i}, winner {}", n.winner),
                );
            }
            _ => {}
        }
        if let Some(m) = step.send {
            let msg = Message::Assert(packet::Assert {
                group: EncodedGroup::new(g),
                source: s.unwrap_or(Ipv4Addr::UNSPECIFIED),
                rpt: m.rpt,
                metric_preference: m.preference,
                metric: m.metric,
            });
            self.counters.asserts_sent += 1;
            if m.is_infinite() {
                self.counters.assert_cancels_sent += 1;
            }
            env.out.push(Action::Send {
                ifindex: i,
                dst: packet::ALL_PIM_ROUTERS,
                ttl: 1,
                router_alert: false,
                payload: packet::emit(&msg),
            });
        }
    }

    /// Re-evaluate the conditions of every assert state of (G, S) (CouldAssert,
    /// AssertTrackingDesired, my_assert_metric, the winner's liveness): at the start of a
    /// refresh.
    /// True if any changed.
    fn assert_conditions(&mut self, env: &mut Env<'_>, g: Ipv4Addr, s: Option<Ipv4Addr>) -> bool {
        let ifs: Vec<IfIndex> = self
            .groups
            .get(&g)
            .and_then(|x| x.entry(s))
            .map(|e| e.asserts.iter().map(|a| a.ifindex).collect())
            .unwrap_or_default();
        let mut changed = false;
        for i in ifs {
            changed |= self.assert_eval(env, g, s, i, AssertInput::Conditions);
        }
        changed
    }

    /// A data packet of (S,G) arrived on I, an outgoing interface of its entry (the
    /// kernel's WRONGVIF upcall): "data arrives on I AND CouldAssert(S,G,I)" (4.6.1), else
    /// with CouldAssert(*,G,I) and no (S,G) assert state on I, the (*,G) one (4.6.2).
    pub fn wrong_vif(&mut self, env: &mut Env<'_>, i: IfIndex, s: Ipv4Addr, g: Ipv4Addr) {
        if !routable_group(g) {
            return;
        }
        if self.sg_conds(env, g, s, i).is_some_and(|c| c.could) {
            self.assert_input(env, g, Some(s), i, AssertInput::Data);
            return;
        }
        let sg_state = self
            .groups
            .get(&g)
            .and_then(|x| x.sg.get(&s))
            .is_some_and(|e| e.assert_on(i).is_some());
        if !sg_state {
            self.assert_input(env, g, None, i, AssertInput::Data);
        }
    }

    /// An Assert from `src` on I (accepted by the interface: ALL-PIM-ROUTERS, TTL 1).
    /// RPT bit clear: the (S,G) machine (4.6.1). An AssertCancel(S,G) (RPT bit, infinite
    /// metric, source S): the (S,G) machine. Any other with the RPT bit: the (*,G) machine
    /// (4.6.2) and the (S,G) machines of G on I ("Receive Assert with RPTbit set AND
    /// CouldAssert(S,G,I)").
    pub fn receive_assert(
        &mut self,
        env: &mut Env<'_>,
        i: IfIndex,
        src: Ipv4Addr,
        a: &packet::Assert,
    ) {
        self.counters.asserts_received += 1;
        let Some(from) = env.nbr_primary(i, src) else {
            self.ignore(ignored::NOT_NEIGHBOR);
            return;
        };
        let g = a.group.group;
        if a.group.mask_len != 32 || a.group.bidir || !routable_group(g) {
            self.ignore(ignored::BAD_GROUP);
            return;
        }
        let metric = AssertMetric {
            rpt: a.rpt,
            preference: a.metric_preference,
            metric: a.metric,
            address: src,
        };
        let input = AssertInput::Assert { from, metric };
        let s = (!a.source.is_unspecified()).then_some(a.source);
        if !a.rpt || (s.is_some() && metric.is_infinite()) {
            if let Some(s) = s {
                self.assert_input(env, g, Some(s), i, input);
            }
            return;
        }
        self.assert_input(env, g, None, i, input);
        let sources: Vec<Ipv4Addr> = match s {
            Some(s) => vec![s],
            None => self
                .groups
                .get(&g)
                .map(|x| x.sg.keys().copied().collect())
                .unwrap_or_default(),
        };
        for s in sources {
            if self.groups.get(&g).is_some_and(|x| x.sg.contains_key(&s)) {
                self.assert_input(env, g, Some(s), i, input);
            }
        }
    }

    /// "Receive Join(X) on I" (addressed to us) in Loser state: NoInfo (4.6.1, 4.6.2).
    fn assert_join(&mut self, env: &mut Env<'_>, i: IfIndex, g: Ipv4Addr, s: Option<Ipv4Addr>) {
        if self.assert_index.contains(&(i, g, s)) {
            self.assert_input(env, g, s, i, AssertInput::Reset);
        }
    }

    /// The assert states on I, for interface changes.
    fn asserts_on(&self, i: IfIndex) -> Vec<(Ipv4Addr, Option<Ipv4Addr>)> {
        self.assert_index
            .range((i, ADDR_MIN, None)..=(i, ADDR_MAX, Some(ADDR_MAX)))
            .map(|&(_, g, s)| (g, s))
            .collect()
    }

    // ---------------------------------------------------------------------------------
    // Timers

    /// Run every TIB timer due at `env.now`.
    pub fn on_timeout(&mut self, env: &mut Env<'_>) {
        while let Some((_, r)) = self.timers.pop_due(env.now) {
            let (g, s) = (r.group, r.source);
            let Some(group) = self.groups.get_mut(&g) else {
                continue;
            };
            let enc = group.enc(s);
            let star_nbr = group.star.as_ref().and_then(|st| st.e.up.nbr);
            let Some(e) = group.entry_mut(s) else {
                continue;
            };
            match r.kind {
                TimerKind::Jt => {
                    e.up.jt = None;
                    let Some(enc) = enc else {
                        continue;
                    };
                    let mut c = upstream::Ctx {
                        timers: &mut self.timers,
                        outbox: &mut self.outbox,
                        now: env.now,
                        t_periodic: env.t_periodic(),
                        group: g,
                        source: s,
                        enc,
                    };
                    let joined = e.up.jt_expired(&mut c);
                    // 4.5.8: the periodic Join(*,G) carries the Prune(S,G,rpt) of the
                    // sources pruned off the shared tree.
                    if let (None, Some((i, n))) = (s, joined) {
                        let pruned: Vec<Ipv4Addr> = group
                            .sg
                            .iter()
                            .filter(|(_, e)| {
                                e.rpt
                                    .as_ref()
                                    .is_some_and(|r| r.up == RptUpstreamState::Pruned)
                            })
                            .map(|(s, _)| *s)
                            .collect();
                        for ps in pruned {
                            self.outbox.prune(i, n, g, EncodedSource::sg_rpt(ps));
                        }
                    }
                }
                TimerKind::Et(i) => {
                    if let Some(o) = e.oif_mut(i) {
                        o.et = None;
                    }
                    self.ds_no_info(env, i, g, s, false);
                }
                TimerKind::Ppt(i) => {
                    if let Some(o) = e.oif_mut(i) {
                        o.ppt = None;
                    }
                    self.ds_no_info(env, i, g, s, true);
                }
                TimerKind::Kat => {
                    // KAT(S,G) expires: the state that exists only because of it goes.
                    e.kat = None;
                    if let Some(s) = s {
                        self.refresh_sg(env, g, s);
                    }
                }
                TimerKind::RptEt(i) => {
                    if let Some(s) = s {
                        self.rpt_no_info(env, i, g, s);
                    }
                }
                TimerKind::RptPpt(i) => {
                    if let (Some(s), Some(r)) = (s, e.rpt.as_deref_mut()) {
                        r.ppt_expired(&mut self.timers, g, s, i);
                        self.refresh_sg(env, g, s);
                    }
                }
                TimerKind::Ot => {
                    let Some(s) = s else {
                        continue;
                    };
                    let Some(r) = e.rpt.as_deref_mut() else {
                        continue;
                    };
                    r.ot = None;
                    // "OT expires" (NotPruned): send Join(S,G,rpt) to RPF'(S,G,rpt).
                    if r.up == RptUpstreamState::NotPruned
                        && let Some((i, n)) = star_nbr
                    {
                        self.outbox.join(i, n, g, EncodedSource::sg_rpt(s));
                    }
                    self.refresh_sg(env, g, s);
                }
                TimerKind::At(i) => {
                    if let Some(a) = e.asserts.iter_mut().find(|a| a.ifindex == i) {
                        a.timer = None;
                    }
                    self.assert_input(env, g, s, i, AssertInput::Timer);
                }
                TimerKind::Rst => {
                    e.reg.rst = None;
                    let (rst, outcome) = e.reg.rst_expired(env.now);
                    let rp = e.rp_watch;
                    let Some(s) = s else {
                        continue;
                    };
                    self.timers.set(&mut e.reg.rst, rst_ref(g, s), rst);
                    if outcome == RegOutcome::SendNullRegister
                        && self.send_to_rp(env, rp, Message::Register(Register::null(s, g)))
                    {
                        self.reg_counters.null_registers_sent += 1;
                    }
                    self.refresh_sg(env, g, s);
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------
    // Snapshot

    pub fn snapshot(
        &self,
        now: Instant,
        config: &Config,
        ifs: &BTreeMap<IfIndex, Interface>,
    ) -> TibSnapshot {
        let ms = |t: Option<Instant>| t.map(|t| millis(now.until(t)));
        let entry = |group: &Group, s: Option<Ipv4Addr>, e: &Entry, target: Option<Ipv4Addr>| {
            let rpf = self.rpf_of(target);
            let mut ifaces: BTreeSet<IfIndex> = e.oifs.iter().map(|o| o.ifindex).collect();
            let local = |i: IfIndex| {
                group.members.iter().any(|m| {
                    m.ifindex == i
                        && match s {
                            None => m.exclude,
                            Some(s) => m.include.binary_search(&s).is_ok(),
                        }
                })
            };
            ifaces.extend(
                group
                    .members
                    .iter()
                    .map(|m| m.ifindex)
                    .filter(|&i| local(i)),
            );
            EntrySnapshot {
                source: s,
                upstream: UpstreamSnapshot {
                    state: e.up.state,
                    join_timer_ms: ms(e.up.jt),
                    rpf_interface: rpf_interface(rpf.as_ref()),
                    mrib_next_hop: rpf.and_then(|r| r.neighbor),
                    rpf_neighbor: e.up.nbr.map(|n| n.1),
                    local: rpf.is_some_and(|r| r.local),
                    rpf_known: rpf.is_some(),
                },
                interfaces: ifaces
                    .into_iter()
                    .map(|i| {
                        let o = e.oifs.iter().find(|o| o.ifindex == i);
                        DownstreamSnapshot {
                            ifindex: i,
                            state: o
                                .map_or(crate::downstream::DownstreamState::NoInfo, |o| o.state),
                            expiry_ms: o.and_then(|o| ms(o.et)),
                            prune_pending_ms: o.and_then(|o| ms(o.ppt)),
                            local_members: local(i),
                            i_am_dr: ifs.get(&i).is_some_and(Interface::is_dr),
                        }
                    })
                    .collect(),
                immediate_olist: e.olist.clone(),
                forwarding: e.fwd.as_ref().map(|f| ForwardingSnapshot {
                    iif: f.iif,
                    oifs: f.oifs.iter().copied().collect(),
                }),
                register_state: e.reg.state,
                register_stop_timer_ms: ms(e.reg.rst),
                keepalive_timer_ms: ms(e.kat),
                spt_bit: e.spt_bit,
                switch_to_spt_desired: e.spt_switch,
                rate_kbps: e.rate.kbps,
                asserts: e
                    .asserts
                    .iter()
                    .map(|a| AssertSnapshot {
                        ifindex: a.ifindex,
                        state: a.state,
                        winner: a.winner,
                        winner_metric: a.metric,
                        assert_timer_ms: ms(a.timer),
                    })
                    .collect(),
                rpt: s
                    .filter(|_| e.rpt.is_some() || group.star.is_some())
                    .map(|s| {
                        let r = e.rpt.as_deref().cloned().unwrap_or_default();
                        let asm = group.star.as_ref().is_some_and(|st| st.rp.is_some());
                        let is_dr = |i: IfIndex| ifs.get(&i).is_some_and(Interface::is_dr);
                        let exclude = pim_exclude_sg(&group.members, asm, s, is_dr);
                        let (joins_l, include_l): (&[IfIndex], &[IfIndex]) = group
                            .star
                            .as_ref()
                            .map_or((&[], &[]), |st| (&st.joins, &st.include));
                        let rpt_jd = group.star.as_ref().is_some_and(|st| {
                            st.rp.is_some() && st.e.up.state == UpstreamState::Joined
                        });
                        let olist =
                            inherited_olist_sg_rpt(joins_l, &r.prunes(), include_l, &exclude);
                        // NotPruned is not stored while idle: derive it.
                        let up = match r.up {
                            RptUpstreamState::RptNotJoined if rpt_jd && !olist.is_empty() => {
                                RptUpstreamState::NotPruned
                            }
                            x => x,
                        };
                        RptSnapshot {
                            upstream: up,
                            override_timer_ms: ms(r.ot),
                            interfaces: r
                                .oifs
                                .iter()
                                .map(|o| RptDownstreamSnapshot {
                                    ifindex: o.ifindex,
                                    state: o.state,
                                    expiry_ms: ms(o.et),
                                    prune_pending_ms: ms(o.ppt),
                                })
                                .collect(),
                            inherited_olist: olist,
                            pim_exclude: exclude,
                        }
                    }),
            }
        };
        TibSnapshot {
            groups: self
                .groups
                .iter()
                .map(|(g, group)| GroupSnapshot {
                    group: *g,
                    rp: group
                        .star
                        .as_ref()
                        .map_or_else(|| rp_for(config, *g), |st| st.rp),
                    ssm: config.is_ssm(*g),
                    star_g: group
                        .star
                        .as_ref()
                        .map(|st| entry(group, None, &st.e, st.rp)),
                    sources: group
                        .sg
                        .iter()
                        .map(|(s, e)| entry(group, Some(*s), e, Some(*s)))
                        .collect(),
                    shared_tree_rates: self
                        .shared_rates
                        .range((*g, ADDR_MIN)..=(*g, ADDR_MAX))
                        .map(|((_, s), r)| SharedTreeRate {
                            source: *s,
                            kbps: r.kbps,
                        })
                        .collect(),
                })
                .collect(),
            rpf_watches: self.watches.keys().copied().collect(),
            counters: TibCounters {
                jp_received: self.counters.jp_received,
                joins_received: self.counters.joins_received,
                prunes_received: self.counters.prunes_received,
                ignored: self
                    .counters
                    .ignored
                    .iter()
                    .map(|(k, v)| (k.to_string(), *v))
                    .collect(),
                jp_sent: self.outbox.messages_sent,
                joins_sent: self.outbox.joins_sent,
                prunes_sent: self.outbox.prunes_sent,
                timers: self.timers.len() as u64,
                spt_switches: self.counters.spt_switches,
                rpt_prunes_sent: self.counters.rpt_prunes_sent,
                rpt_prunes_received: self.counters.rpt_prunes_received,
                asserts_received: self.counters.asserts_received,
                asserts_sent: self.counters.asserts_sent,
                assert_cancels_sent: self.counters.assert_cancels_sent,
                assert_wins: self.counters.assert_wins,
                assert_losses: self.counters.assert_losses,
            },
            register: self.reg_counters.clone(),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `SwitchToSptDesired(S,G)` (4.2.2) at a last-hop router, by policy, from the measured
/// rate of the source.
fn spt_wanted(config: &Config, kbps: Option<u64>) -> bool {
    match config.spt_switchover {
        SptPolicy::Immediate => true,
        SptPolicy::Never => false,
        SptPolicy::Threshold { kbps: t } => kbps.is_some_and(|k| k > u64::from(t)),
    }
}
