//! PIM-SM v2 (RFC 7761) and SSM (RFC 4607/4604), sans-IO.
//!
//! [`Pim`] implements [`common::Protocol`] for all interfaces of one router. Not here yet:
//! BSR (RFC 5059) and per-route assert metrics. Modules, by RFC 7761 section:
//!
//! * [`packet`]: the codec (4.9);
//! * [`config`]: per-interface configuration with the defaults of 4.11;
//! * `interface`: acceptance of received messages, the Hello Timer HT(I) and triggered
//!   Hellos (4.3.1), neighbour discovery with the Neighbor Liveness Timers NLT(N,I)
//!   (4.3.1, 4.3.4), the DR election (4.3.2);
//! * `neighbor`: per-neighbour state, `DR(I)` and `dr_is_better` (4.3.2), and the LAN Prune
//!   Delay macros `lan_delay_enabled(I)`, `Effective_Propagation_Delay(I)`,
//!   `Effective_Override_Interval(I)`, `Suppression_Enabled(I)` (4.3.3);
//! * `snapshot`: what `show pim` prints;
//! * `tib`: the Tree Information Base (4.1) for (*,G) and (S,G) Join/Prune state, with
//!   `macros` (the olists of 4.1.6, JoinDesired, RPF'), `downstream` (4.5.2, 4.5.3),
//!   `upstream` (4.5.6, 4.5.7), `jp` (building Join/Prune messages, 4.9.5) and `timers`;
//!   the TIB also holds the Keepalive Timer KAT(S,G) (4.1.1, 4.2.1), SPTbit(S,G) (4.2.2)
//!   and the Register handling of the DR (4.4.1) and the RP (4.4.2);
//! * [`register`]: the Register state machine (4.4.1) and the Register timers of 4.11.
//!
//! * `rpt`: (S,G,rpt) downstream (4.5.4) and upstream (4.5.9, with the Prune(S,G,rpt) of
//!   4.5.8 carried in every Join(*,G)) state machines, and the rate measurement behind
//!   `SwitchToSptDesired(S,G)` (4.2.2): at a last-hop router (`pim_include(*,G) (-)
//!   pim_exclude(S,G)` not empty) per [`config::SptPolicy`] — Immediate on the NOCACHE
//!   upcall of S on RPF_interface(RP(G)) (or its first MfcStats), Threshold once the rate
//!   from consecutive `MfcStats` byte counters exceeds it, Never — (S,G) state with KAT
//!   started, so JoinDesired(S,G) joins the SPT (event `pim_spt_switch`). An (S,G) entry
//!   with only (S,G,rpt) state has the intent iif of the (*,G) intent, oifs
//!   `inherited_olist(S,G,rpt)`.
//!
//! * [`assert`]: the Assert state machines (4.6.1, 4.6.2) and metrics (4.6.3); the TIB
//!   evaluates the macros of 4.6.5 and takes `lost_assert` out of the olists of 4.1.6.
//!
//! Next: PMBRs (the Register B bit), BSR.
//!
//! # Register (4.4) and keepalive in this crate
//!
//! * The shell tells the register VIF (`pimreg`) with [`Pim::set_register_vif`].
//! * **DR (4.4.1).** The kernel's NOCACHE upcall for a new (S,G) (`Input::Upcall` with
//!   `UpcallKind::NoCache`) on an interface where we are the DR, for a directly connected
//!   S (its RPF has no next hop; if RPF(S) is not known yet, state is made and dropped once
//!   the answer says otherwise) of an ASM group whose RP is another router, makes (S,G)
//!   state with KAT(S,G) = Keepalive_Period and watches S and RP(G).
//!   `CouldRegister(S,G)` = `I_am_DR(RPF_interface(S)) AND KeepaliveTimer(S,G) running AND
//!   DirectlyConnected(S)` (and RP(G) known and not us) drives the Register state machine
//!   (see [`register`]); in Join state the (S,G) Forward intent has the register VIF among
//!   its oifs, and each packet the kernel hands over from it (`UpcallKind::WholePacket`) is
//!   sent in the same `handle` call in a Register to RP(G) (out of RPF_interface(RP(G)), TTL
//!   64) unless it is longer than `max_register_payload(1500)` (dropped, counted
//!   `register_too_big`). A Register-Stop (unicast to us; source 0.0.0.0: every source of
//!   G) moves Join/Join-Pending to Prune with RST = rand(0.5, 1.5) x
//!   Register_Suppression_Time - Register_Probe_Time; RST expiry in Prune sends a
//!   Null-Register ([`packet::Register::null`]) and waits Register_Probe_Time in
//!   Join-Pending before registering again.
//! * **The RP is the DR of a source**: no (S,G) state and no Register; the (*,G) intent
//!   (iif the register VIF, or None without one: any source arriving on its RPF interface)
//!   forwards it natively.
//! * **RP (4.4.2).** A Register whose destination is RP(G) (the destination is one of our
//!   addresses, so that is `I_am_RP(G)`) makes (S,G) state. `SwitchToSptDesired(S,G)` is
//!   always TRUE at the RP: a Register-Stop goes back to the Register's source in the same
//!   call if SPTbit(S,G) is set or `inherited_olist(S,G)` is empty, and KAT(S,G) is set to
//!   RP_Keepalive_Period then, else to Keepalive_Period. While KAT runs and
//!   `inherited_olist(S,G)` is not empty, `JoinDesired(S,G)` (4.5.7) is true: the RP joins
//!   the source tree. The kernel decapsulates Registers into the register VIF by itself:
//!   the RP's (*,G) intents, and its (S,G) intents before SPTbit(S,G), have the register VIF
//!   as iif (the (S,G) one forwarding to `inherited_olist(S,G,rpt)`, 4.2); once SPTbit(S,G)
//!   is set, the (S,G) intent takes RPF_interface(S) and `inherited_olist(S,G)`. A Register
//!   to an address that is not RP(G) (or for an SSM group) is not acted on (counted
//!   `not_rp`) and, as 4.4.2 says, answered with a Register-Stop. The B bit is ignored.
//! * **Keepalive (4.1.1, 4.2.1) from kernel counters.** `Input::MfcStats` for an (S,G) with
//!   state: a packet counter that grew since the last sample (a counter that went down is a
//!   new kernel entry and counts whole) means data arrived, as far as the kernel's counter
//!   tells (it also counts packets that arrived on a wrong interface). At the RP the data
//!   Registers received since the last sample are subtracted first (the kernel counts the
//!   packets it decapsulates into the same entry), so that only native traffic counts. Data
//!   arriving restarts KAT(S,G) with Keepalive_Period if S is directly connected or the
//!   upstream state is Joined with a non-empty `inherited_olist(S,G)`, and runs
//!   `Update_SPTbit(S,G, RPF_interface(S))` (4.2.2, without the assert clause). KAT expiry
//!   takes away what existed only because of it: Register state goes to NoInfo, SPTbit is
//!   cleared, the intent changes or is withdrawn, RP(G) is no longer watched for it.
//! * Register and Register-Stop are acted on when unicast to us, whatever the TTL and
//!   interface (PIM need not run there); sent to a multicast address they are only counted.
//!
//! # Join/Prune (4.5) in this crate
//!
//! * Inputs: [`Input::Membership`] (local members, 4.1.6), Join/Prune messages,
//!   [`Input::Rpf`] (answers to [`Action::WatchRpf`]), interface, neighbour and DR changes,
//!   and [`Pim::set_config`] (RP mappings, SSM range, t_periodic, J/P_HoldTime).
//! * Outputs: Join/Prune messages, [`Action::Forward`] / [`Action::Unforward`] intents
//!   ((*,G): iif `RPF_interface(RP(G))`, None at the RP, oifs `immediate_olist(*,G)`;
//!   (S,G): iif `RPF_interface(S)`, oifs `inherited_olist(S,G)`), emitted only when they
//!   change and only once the RPF answer is known; `WatchRpf`/`UnwatchRpf` for every
//!   source with (S,G) state and every RP with (*,G) state.
//! * Local membership counts only where PIM runs and this router is the DR
//!   (`pim_include`, 4.1.6): PIM must be enabled on receiver LANs. An EXCLUDE membership
//!   is a (*,G) membership whose source list is `pim_exclude(S,G)` ((S,G,rpt) state); in the
//!   SSM range it is refused (event `pim_ssm_asm_refused`); INCLUDE sources give (S,G)
//!   memberships in any group.
//! * Joins and Prunes decided while handling one input or one timer deadline are sent
//!   together at its end, per upstream neighbour, packed into messages of at most 1480
//!   octets. A Join caused by a membership goes out in the same `handle` call when the
//!   RPF of the source or RP is already known; for a new target the shell's answer to
//!   `WatchRpf` (given at once) carries it.
//! * Join/Prune messages are accepted only to ALL-PIM-ROUTERS with TTL 1 (4.9) and, for
//!   processing, only from PIM neighbours (4.3.1); others are counted in
//!   [`TibCounters::ignored`]. Joins received on the RPF interface of their entry
//!   create downstream state but never put that interface into an olist.
//!
//! # Choices where the RFC leaves room
//!
//! * The first Hello after PIM starts on an interface (configured and up) goes out when the
//!   Hello Timer, set to a random value in [0, Triggered_Hello_Delay], expires; then every
//!   Hello_Period (4.3.1). A new primary address restarts PIM there the same way (a new
//!   Generation ID and a new random first Hello). A Goodbye with the old address (4.3.1)
//!   cannot be sent: the shell reports the change after the fact.
//! * Triggered Hellos (a new neighbour, a neighbour's new GenID, our own Hello options
//!   changed by [`Pim::configure_interface`]) go out after a random delay in
//!   [0, Triggered_Hello_Delay] and leave the Hello Timer alone ("need not change the timing
//!   of the scheduled periodic message"); a periodic Hello sent first satisfies them, and
//!   several triggers before the Hello make one Hello.
//! * A Hello whose Generation ID differs from the one recorded (or that brings one where
//!   there was none) is a restart: the neighbour's old information is discarded and it is
//!   greeted like a new neighbour (4.3.1). A Hello without the option keeps the neighbour.
//! * A repeated Hello option counts once (the first); an option missing from a Hello is no
//!   longer present for that neighbour (4.3.3: "present in the last Hello").
//! * Hellos are accepted only to ALL-PIM-ROUTERS with TTL 1 and from the interface's subnet
//!   (any source on a /32); each refusal is counted by reason ([`reasons`]), decoding errors
//!   by `ParseError::kind()`. Other message types are counted by kind ([`kinds`]).
//! * `Suppression_Enabled(I)` also counts this router's own T bit: suppression stays on
//!   unless all routers on the link, us included, advertise the T bit.
//! * 4.3.4: an Address List never lists the sender's primary address; a secondary address
//!   advertised by two neighbours belongs to the latest.
//! * [`Protocol::handle`], [`Pim::configure_interface`] and [`Pim::remove_interface`] first
//!   run the timers due at `now`, so that inputs always meet up-to-date state. Timers due at
//!   the same instant on one interface run as: Neighbor Liveness Timers, then the Hello.
//! * Randomness comes from a SplitMix64 generator seeded by [`Pim::new`], so runs are
//!   reproducible.

pub mod assert;
pub mod config;
pub mod packet;

mod downstream;
mod interface;
mod jp;
mod macros;
mod neighbor;
pub mod register;
mod rng;
mod rpt;
mod snapshot;
mod tib;
mod timers;
mod upstream;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use common::proto::UpcallKind;
use common::{Action, IfIndex, Input, Instant, InterfaceChange, Protocol, RxPacket};

pub use downstream::DownstreamState;
use interface::{IfView, Interface, Link};
pub use jp::MAX_JOIN_PRUNE_LEN;
pub use neighbor::{
    ALL_PIM_ROUTERS, DEFAULT_HELLO_HOLDTIME, HOLDTIME_INFINITE, PROPAGATION_DELAY_DEFAULT,
    T_OVERRIDE_DEFAULT,
};
pub use register::RegisterState;
pub use rpt::{RptDownstreamState, RptUpstreamState};
pub use snapshot::{
    AssertSnapshot, DownstreamSnapshot, EntrySnapshot, ForwardingSnapshot, GroupSnapshot,
    InterfaceSnapshot, NeighborSnapshot, RegisterCounters, RptDownstreamSnapshot, RptSnapshot,
    SharedTreeRate, Snapshot, TibCounters, TibSnapshot, UpstreamSnapshot,
};
use tib::{Env, Tib};
pub use tib::{ignored, register_drops};
pub use upstream::UpstreamState;

/// `Event::what` values.
pub mod events {
    /// A new neighbour: its first Hello (4.3.1).
    pub const NEIGHBOR_UP: &str = "pim_neighbor_up";
    /// A neighbour is gone; the detail ends with one of [`super::down_reasons`].
    pub const NEIGHBOR_DOWN: &str = "pim_neighbor_down";
    /// A neighbour's Generation ID changed: it restarted (4.3.1).
    pub const NEIGHBOR_RESTART: &str = "pim_neighbor_restart";
    /// The elected DR of an interface changed (4.3.2).
    pub const DR_CHANGE: &str = "pim_dr_change";
    /// An any-source (EXCLUDE) membership for a group in the SSM range was ignored
    /// (RFC 4607, RFC 4604): SSM groups get only (S,G) state.
    pub const SSM_ASM_REFUSED: &str = "pim_ssm_asm_refused";
    /// A last-hop router switched a source to the shortest-path tree
    /// (SwitchToSptDesired(S,G), 4.2.2).
    pub const SPT_SWITCH: &str = "pim_spt_switch";
    /// An (S,G,rpt) Prune was sent upstream on the shared tree (4.5.9).
    pub const RPT_PRUNE: &str = "pim_rpt_prune";
    /// This router became the assert winner of an entry on an interface (4.6).
    pub const ASSERT_WIN: &str = "pim_assert_win";
    /// This router lost an assert (or the winner changed) on an interface (4.6).
    pub const ASSERT_LOSE: &str = "pim_assert_lose";
}

/// Why a neighbour went down (the end of a [`events::NEIGHBOR_DOWN`] detail).
pub mod down_reasons {
    /// Its Neighbor Liveness Timer expired (4.3.1).
    pub const HOLDTIME_EXPIRED: &str = "holdtime expired";
    /// It sent a Hello with Holdtime 0 (4.3.1, 4.9.2).
    pub const GOODBYE: &str = "goodbye";
    /// Our interface went down.
    pub const INTERFACE_DOWN: &str = "interface down";
    /// PIM was disabled on the interface ([`crate::Pim::remove_interface`]).
    pub const PIM_DISABLED: &str = "pim disabled";
    /// Our address changed and the neighbour is no longer on the subnet (or now has it).
    pub const ADDRESS_CHANGED: &str = "address changed";
}

/// Message kinds counted in [`InterfaceSnapshot::received`].
pub mod kinds {
    use crate::packet::Message;

    pub const HELLO: &str = "hello";
    pub const REGISTER: &str = "register";
    pub const REGISTER_STOP: &str = "register_stop";
    pub const JOIN_PRUNE: &str = "join_prune";
    pub const BOOTSTRAP: &str = "bootstrap";
    pub const ASSERT: &str = "assert";
    pub const CANDIDATE_RP_ADV: &str = "candidate_rp_adv";

    /// The kind of a decoded message.
    pub fn of(msg: &Message) -> &'static str {
        match msg {
            Message::Hello(_) => HELLO,
            Message::Register(_) => REGISTER,
            Message::RegisterStop(_) => REGISTER_STOP,
            Message::JoinPrune(_) => JOIN_PRUNE,
            Message::Bootstrap(_) => BOOTSTRAP,
            Message::Assert(_) => ASSERT,
            Message::CandidateRpAdv(_) => CANDIDATE_RP_ADV,
        }
    }
}

/// Drop reasons counted in [`InterfaceSnapshot::dropped`], besides the codec's
/// [`packet::ParseError::kind`] names.
pub mod reasons {
    /// A Hello not sent to ALL-PIM-ROUTERS (224.0.0.13).
    pub const BAD_DESTINATION: &str = "bad_destination";
    /// A Hello with an IP TTL other than 1.
    pub const BAD_TTL: &str = "bad_ttl";
    /// A Hello from a source not on the interface's subnet.
    pub const SOURCE_NOT_ON_SUBNET: &str = "source_not_on_subnet";
    /// Sent from this router's own address.
    pub const OWN_PACKET: &str = "own_packet";
}

/// PIM-SM for all interfaces of one router.
#[derive(Debug)]
pub struct Pim {
    config: config::Config,
    rng: rng::Rng,
    interfaces: BTreeMap<IfIndex, Interface>,
    tib: Tib,
    /// The latest time seen (for snapshots).
    now: Instant,
}

impl Default for Pim {
    fn default() -> Self {
        Pim::new(config::Config::default(), 0)
    }
}

impl Pim {
    /// `seed` seeds the generator of Generation IDs and Hello jitter (give each router its
    /// own, e.g. from the system's random source in the daemon).
    pub fn new(config: config::Config, seed: u64) -> Self {
        Pim {
            config,
            rng: rng::Rng::new(seed),
            interfaces: BTreeMap::new(),
            tib: Tib::default(),
            now: Instant::ZERO,
        }
    }

    /// Replace the router-wide configuration (a reload): a changed RP(G) moves (*,G) state
    /// (a Prune(*,G) to the old RPF'(*,G), a Join(*,G) to the new one, 4.5.6), a group that
    /// gained an RP gets (*,G) state for its members; a new t_periodic or J/P_HoldTime
    /// applies from the next Join sent.
    pub fn set_config(&mut self, now: Instant, config: config::Config) -> Vec<Action> {
        let mut out = self.on_timeout(now);
        self.config = config;
        let mut env = Env {
            now,
            config: &self.config,
            ifs: &self.interfaces,
            rng: &mut self.rng,
            out: &mut out,
        };
        self.tib.config_changed(&mut env);
        self.tib.flush(&mut env);
        out
    }

    /// Run `f` on interface `ifindex` (made if `create`), then tell the TIB what changed
    /// for it (PIM running, I_am_DR(I), neighbours), and forget the interface if idle.
    fn with_interface<R>(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        create: bool,
        out: &mut Vec<Action>,
        f: impl FnOnce(&mut Interface, &mut rng::Rng, &mut Vec<Action>) -> R,
    ) -> Option<R> {
        if create {
            self.interfaces
                .entry(ifindex)
                .or_insert_with(|| Interface::new(ifindex));
        }
        let iface = self.interfaces.get_mut(&ifindex)?;
        let before = iface.view();
        let r = f(iface, &mut self.rng, out);
        let after = iface.view();
        if iface.is_idle() {
            self.interfaces.remove(&ifindex);
        }
        self.interface_changed(now, ifindex, &before, &after, out);
        Some(r)
    }

    fn interface_changed(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        before: &IfView,
        after: &IfView,
        out: &mut Vec<Action>,
    ) {
        if before == after {
            return;
        }
        let mut env = Env {
            now,
            config: &self.config,
            ifs: &self.interfaces,
            rng: &mut self.rng,
            out,
        };
        self.tib.interface_changed(&mut env, ifindex, before, after);
    }

    /// 4.3.1: a router that has just learned a new neighbour (or a GenID change) owes the
    /// link a triggered Hello, and a Join/Prune or Assert must not reach that neighbour
    /// before our Hello does: it ignores PIM messages from routers it does not know, and
    /// would otherwise wait for our next periodic Join (t_periodic, 60 s) — seen at start-up
    /// under load, when the upstream router heard our first Hellos before it was listening.
    /// So a pending triggered Hello goes out at once, ahead of the first such message.
    fn hello_first(&mut self, out: Vec<Action>) -> Vec<Action> {
        let needs = |a: &Action| match a {
            Action::Send { payload, .. } => {
                matches!(
                    payload.first().map(|b| b & 0x0f),
                    Some(packet::JOIN_PRUNE | packet::ASSERT)
                )
            }
            _ => false,
        };
        if !out.iter().any(needs) {
            return out;
        }
        let mut result = Vec::with_capacity(out.len() + 1);
        for a in out {
            if let Action::Send { ifindex, .. } = &a
                && needs(&a)
                && let Some(iface) = self.interfaces.get_mut(ifindex)
            {
                iface.send_pending_hello(&mut result);
            }
            result.push(a);
        }
        result
    }

    fn flush(&mut self, now: Instant, out: &mut Vec<Action>) {
        let mut env = Env {
            now,
            config: &self.config,
            ifs: &self.interfaces,
            rng: &mut self.rng,
            out,
        };
        self.tib.flush(&mut env);
    }

    /// The kernel's register VIF (`pimreg`), or None when there is none (4.4). The DR puts
    /// it into the (S,G) forwarding intent in Register state Join and sends what the kernel
    /// hands over from it ([`UpcallKind::WholePacket`]) in Registers; the RP uses it as
    /// the iif of its (*,G) intents (and of (S,G) intents before SPTbit(S,G)), because the
    /// kernel decapsulates Registers into it.
    pub fn set_register_vif(&mut self, now: Instant, vif: Option<IfIndex>) -> Vec<Action> {
        let mut out = self.on_timeout(now);
        let mut env = Env {
            now,
            config: &self.config,
            ifs: &self.interfaces,
            rng: &mut self.rng,
            out: &mut out,
        };
        self.tib.set_register_vif(&mut env, vif);
        self.tib.flush(&mut env);
        out
    }

    /// A unicast PIM message: Register (to the RP) and Register-Stop (to the DR) are
    /// accepted whatever the TTL and interface (4.4, 4.9.3, 4.9.4); anything else goes
    /// to the interface, which refuses it. Returns false if not handled here.
    fn unicast(&mut self, now: Instant, pkt: &RxPacket<'_>, out: &mut Vec<Action>) -> bool {
        let msg = match packet::parse(pkt.payload) {
            Ok(m @ (packet::Message::Register(_) | packet::Message::RegisterStop(_))) => m,
            _ => return false,
        };
        if let Some(iface) = self.interfaces.get_mut(&pkt.ifindex) {
            iface.count_received(kinds::of(&msg));
        }
        let mut env = Env {
            now,
            config: &self.config,
            ifs: &self.interfaces,
            rng: &mut self.rng,
            out,
        };
        match &msg {
            packet::Message::Register(r) => {
                self.tib
                    .receive_register(&mut env, pkt.ifindex, pkt.src, pkt.dst, r);
            }
            packet::Message::RegisterStop(rs) => self.tib.receive_register_stop(&mut env, rs),
            _ => {}
        }
        true
    }

    /// The router-wide configuration.
    pub fn config(&self) -> &config::Config {
        &self.config
    }

    /// Enable PIM on an interface or replace its configuration (a reload). Neighbours are
    /// kept; a changed DR Priority, Holdtime or LAN Prune Delay is announced with a
    /// triggered Hello, and a changed DR Priority may change the DR at once.
    pub fn configure_interface(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        cfg: config::InterfaceConfig,
    ) -> Vec<Action> {
        let mut out = self.on_timeout(now);
        self.with_interface(now, ifindex, true, &mut out, |iface, rng, out| {
            iface.configure(now, cfg, rng, out);
        });
        self.flush(now, &mut out);
        out
    }

    /// Disable PIM on an interface: send a Hello with Holdtime 0 (4.3.1: "a router that is
    /// shutting down an interface SHOULD send a Hello with Holdtime 0") and forget state.
    pub fn remove_interface(&mut self, now: Instant, ifindex: IfIndex) -> Vec<Action> {
        let mut out = self.on_timeout(now);
        self.with_interface(now, ifindex, false, &mut out, |iface, _, out| {
            iface.unconfigure(out);
        });
        self.flush(now, &mut out);
        out
    }

    /// The elected DR's address on an interface where PIM runs (4.3.2).
    pub fn dr(&self, ifindex: IfIndex) -> Option<Ipv4Addr> {
        self.interfaces.get(&ifindex)?.dr()
    }

    /// `I_am_DR(I)` (4.3.2): false where PIM does not run.
    pub fn is_dr(&self, ifindex: IfIndex) -> bool {
        self.interfaces.get(&ifindex).is_some_and(Interface::is_dr)
    }

    /// The neighbours on an interface, with times relative to the latest `now` seen.
    pub fn neighbors(&self, ifindex: IfIndex) -> Vec<NeighborSnapshot> {
        self.interfaces
            .get(&ifindex)
            .map(|i| i.neighbors(self.now))
            .unwrap_or_default()
    }

    /// True if `addr` is the primary or a secondary address of a neighbour on the
    /// interface (Join/Prune and Assert messages are accepted only from neighbours, 4.3.1).
    pub fn is_neighbor(&self, ifindex: IfIndex, addr: Ipv4Addr) -> bool {
        self.interfaces
            .get(&ifindex)
            .is_some_and(|i| i.is_neighbor(addr))
    }

    /// `lan_delay_enabled(I)` (4.3.3): every neighbour sends the LAN Prune Delay option.
    /// False where PIM does not run.
    pub fn lan_delay_enabled(&self, ifindex: IfIndex) -> bool {
        self.interfaces
            .get(&ifindex)
            .is_some_and(Interface::lan_delay_enabled)
    }

    /// `Effective_Propagation_Delay(I)` (4.3.3); Propagation_delay_default where PIM does not
    /// run.
    pub fn effective_propagation_delay(&self, ifindex: IfIndex) -> Duration {
        self.interfaces.get(&ifindex).map_or(
            PROPAGATION_DELAY_DEFAULT,
            Interface::effective_propagation_delay,
        )
    }

    /// `Effective_Override_Interval(I)` (4.3.3); t_override_default where PIM does not run.
    pub fn effective_override_interval(&self, ifindex: IfIndex) -> Duration {
        self.interfaces
            .get(&ifindex)
            .map_or(T_OVERRIDE_DEFAULT, Interface::effective_override_interval)
    }

    /// `Suppression_Enabled(I)` (4.3.3); true where PIM does not run.
    pub fn suppression_enabled(&self, ifindex: IfIndex) -> bool {
        self.interfaces
            .get(&ifindex)
            .is_none_or(Interface::suppression_enabled)
    }

    /// `J/P_Override_Interval(I)` (4.11): `Effective_Propagation_Delay(I)` +
    /// `Effective_Override_Interval(I)`.
    pub fn jp_override_interval(&self, ifindex: IfIndex) -> Duration {
        self.effective_propagation_delay(ifindex) + self.effective_override_interval(ifindex)
    }

    /// The state with remaining times relative to `now`.
    pub fn snapshot_at(&self, now: Instant) -> Snapshot {
        Snapshot {
            interfaces: self.interfaces.values().map(|i| i.snapshot(now)).collect(),
            tib: self.tib.snapshot(now, &self.config, &self.interfaces),
        }
    }
}

impl Protocol for Pim {
    type Snapshot = Snapshot;

    fn handle(&mut self, now: Instant, input: Input<'_>) -> Vec<Action> {
        let mut out = self.on_timeout(now);
        match input {
            Input::Packet(pkt) if !pkt.dst.is_multicast() && self.unicast(now, &pkt, &mut out) => {}
            Input::Packet(pkt) => {
                let jp = self
                    .with_interface(now, pkt.ifindex, false, &mut out, |iface, rng, out| {
                        iface.handle_packet(now, &pkt, rng, out)
                    })
                    .flatten();
                if let Some(msg) = jp {
                    let mut env = Env {
                        now,
                        config: &self.config,
                        ifs: &self.interfaces,
                        rng: &mut self.rng,
                        out: &mut out,
                    };
                    match &msg {
                        packet::Message::JoinPrune(jp) => {
                            self.tib.receive_jp(&mut env, pkt.ifindex, pkt.src, jp);
                        }
                        packet::Message::Assert(a) => {
                            self.tib.receive_assert(&mut env, pkt.ifindex, pkt.src, a);
                        }
                        _ => {}
                    }
                }
            }
            Input::Interface(InterfaceChange::Up {
                ifindex,
                name,
                addr,
                prefix_len,
            }) => {
                let link = Link {
                    name,
                    addr,
                    prefix_len,
                };
                self.with_interface(now, ifindex, true, &mut out, |iface, rng, out| {
                    iface.up(now, link, rng, out);
                });
            }
            Input::Interface(InterfaceChange::Down { ifindex }) => {
                self.with_interface(now, ifindex, false, &mut out, |iface, _, out| {
                    iface.down(out);
                });
            }
            Input::Membership(m) => {
                let mut env = Env {
                    now,
                    config: &self.config,
                    ifs: &self.interfaces,
                    rng: &mut self.rng,
                    out: &mut out,
                };
                self.tib.membership(&mut env, &m);
            }
            Input::Rpf(rpf) => {
                let mut env = Env {
                    now,
                    config: &self.config,
                    ifs: &self.interfaces,
                    rng: &mut self.rng,
                    out: &mut out,
                };
                self.tib.rpf(&mut env, rpf);
            }
            Input::Upcall {
                kind,
                ifindex,
                key,
                packet,
            } => {
                let mut env = Env {
                    now,
                    config: &self.config,
                    ifs: &self.interfaces,
                    rng: &mut self.rng,
                    out: &mut out,
                };
                match (kind, key.source) {
                    (UpcallKind::NoCache, Some(s)) => {
                        self.tib.nocache(&mut env, ifindex, s, key.group);
                    }
                    (UpcallKind::WholePacket, Some(s)) => {
                        self.tib
                            .whole_packet(&mut env, ifindex, s, key.group, packet);
                    }
                    // 4.6: data arrived on an outgoing interface of the entry.
                    (UpcallKind::WrongVif | UpcallKind::WrongVifWhole, Some(s)) => {
                        self.tib.wrong_vif(&mut env, ifindex, s, key.group);
                    }
                    _ => {}
                }
            }
            Input::MfcStats {
                key,
                packets,
                bytes,
                ..
            } => {
                if let Some(s) = key.source {
                    let mut env = Env {
                        now,
                        config: &self.config,
                        ifs: &self.interfaces,
                        rng: &mut self.rng,
                        out: &mut out,
                    };
                    self.tib.mfc_stats(&mut env, s, key.group, packets, bytes);
                }
            }
        }
        self.flush(now, &mut out);
        self.hello_first(out)
    }

    fn on_timeout(&mut self, now: Instant) -> Vec<Action> {
        self.now = self.now.max(now);
        let mut out = Vec::new();
        // Deadline order: each round runs everything due at the earliest deadline:
        // interfaces first (a neighbour that expires changes RPF'), then the TIB; the
        // Join/Prune messages of the round go out at its end.
        while let Some(deadline) = self.poll_at().filter(|&d| d <= now) {
            let due: Vec<IfIndex> = self
                .interfaces
                .iter()
                .filter(|(_, i)| i.poll_at().is_some_and(|d| d <= deadline))
                .map(|(k, _)| *k)
                .collect();
            for ifindex in due {
                self.with_interface(deadline, ifindex, false, &mut out, |iface, _, out| {
                    iface.on_timeout(deadline, out);
                });
            }
            if self.tib.poll_at().is_some_and(|d| d <= deadline) {
                let mut env = Env {
                    now: deadline,
                    config: &self.config,
                    ifs: &self.interfaces,
                    rng: &mut self.rng,
                    out: &mut out,
                };
                self.tib.on_timeout(&mut env);
            }
            self.flush(deadline, &mut out);
            // Every timer that fires is stopped or moved later; never spin on one.
            if self.poll_at() == Some(deadline) {
                debug_assert!(false, "PIM timer at {deadline:?} did not advance");
                break;
            }
        }
        self.hello_first(out)
    }

    fn poll_at(&self) -> Option<Instant> {
        let ifs = self
            .interfaces
            .values()
            .filter_map(Interface::poll_at)
            .min();
        common::time::earliest(ifs, self.tib.poll_at())
    }

    fn snapshot(&self) -> Snapshot {
        self.snapshot_at(self.now)
    }
}
