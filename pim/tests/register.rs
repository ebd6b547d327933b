//! Register (RFC 7761 4.4) and the Keepalive Timer (4.1.1, 4.2.1), in virtual time: the DR's
//! Register state machine (4.4.1) transition by transition with its timers, the RP's
//! handling of Registers (4.4.2), KAT(S,G) driven by the kernel's MFC counters, and a
//! source - DR - RP - router - receiver chain.
//!
//! Router r has address 10.0.N.(r+1) on link N (see `common::net`).

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use ::common::proto::UpcallKind;
use ::common::{Action, IfIndex, Instant, RouteKey};
use common::net::*;
use pim::config::{Config, RpMapping};
use pim::packet::{EncodedGroup, Message, Register, RegisterStop, max_register_payload};
use pim::register::{
    KEEPALIVE_PERIOD, REGISTER_PROBE_TIME, REGISTER_SUPPRESSION_TIME, RP_KEEPALIVE_PERIOD,
};
use pim::{EntrySnapshot, RegisterState, register_drops};

const S: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 100);
const G: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);
const G_SSM: Ipv4Addr = Ipv4Addr::new(232, 1, 1, 1);
/// A virtual RP (no router owns it) for the DR-only tests.
const VRP: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 9);
const VIF: u32 = 100;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// One millisecond before `t`.
fn before(t: Instant) -> Instant {
    Instant::from_millis(ms(t.saturating_duration_since(Instant::ZERO)) - 1)
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

fn config(rp: Ipv4Addr) -> Config {
    Config {
        rps: vec![RpMapping {
            group: Ipv4Addr::new(239, 0, 0, 0),
            prefix_len: 8,
            rp,
        }],
        ..Config::default()
    }
}

/// An IPv4/UDP packet from `s` to `g` of `len` octets (header included).
fn udp(s: Ipv4Addr, g: Ipv4Addr, len: usize) -> Vec<u8> {
    assert!(len >= 28);
    let mut p = vec![0u8; len];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    p[8] = 63;
    p[9] = 17;
    p[12..16].copy_from_slice(&s.octets());
    p[16..20].copy_from_slice(&g.octets());
    let c = ::common::checksum::checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p
}

fn entry(net: &Net, r: usize, s: Ipv4Addr, g: Ipv4Addr) -> EntrySnapshot {
    net.entry(r, g, Some(s)).expect("(S,G) entry")
}

fn sends(actions: &[Action]) -> Vec<(IfIndex, Ipv4Addr, u8, bool, Message)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                ifindex,
                dst,
                ttl,
                router_alert,
                payload,
            } => Some((
                *ifindex,
                *dst,
                *ttl,
                *router_alert,
                pim::packet::parse(payload).expect("valid"),
            )),
            _ => None,
        })
        .collect()
}

fn registers(net: &mut Net, r: usize) -> Vec<(Instant, Register)> {
    net.take_unicasts(r)
        .into_iter()
        .filter_map(|(t, _, _, _, m)| match m {
            Message::Register(reg) => Some((t, reg)),
            _ => None,
        })
        .collect()
}

fn register_stop(g: Ipv4Addr, s: Ipv4Addr) -> Message {
    Message::RegisterStop(RegisterStop {
        group: EncodedGroup::new(g),
        source: s,
    })
}

// -------------------------------------------------------------------------------------
// 4.4.1: the DR

/// The DR r0 alone: the source LAN is link 1 (if 1), link 2 (if 2) leads to the virtual RP
/// 10.0.2.9. Register VIF 100.
fn dr() -> (Net, usize) {
    let mut net = Net::new();
    let r = net.router("dr", config(VRP));
    net.link(1, &[(r, 1)]);
    net.link(2, &[(r, 2)]);
    net.route(r, S, 1, None);
    net.route(r, VRP, 2, Some(VRP));
    net.register_vif(r, Some(VIF));
    (net, r)
}

/// The DR after the source's first packet: Register state Join.
fn registering() -> (Net, usize) {
    let (mut net, r) = dr();
    net.upcall(r, UpcallKind::NoCache, 1, S, G, &[]);
    assert_eq!(entry(&net, r, S, G).register_state, RegisterState::Join);
    net.clear();
    (net, r)
}

/// Registering, then a Register-Stop: Prune. Returns the RST deadline.
fn pruned() -> (Net, usize, Instant) {
    let (mut net, r) = registering();
    net.inject_unicast(r, 2, VRP, net.addr(r, 2), &register_stop(G, S));
    let e = entry(&net, r, S, G);
    assert_eq!(e.register_state, RegisterState::Prune);
    let rst = net.now + Duration::from_millis(e.register_stop_timer_ms.expect("RST"));
    (net, r, rst)
}

#[test]
fn s4_4_1_nocache_from_directly_connected_source_starts_registering() {
    let (mut net, r) = dr();
    let a = net.upcall(r, UpcallKind::NoCache, 1, S, G, &[]);
    assert!(a.contains(&Action::WatchRpf(S)));
    assert!(
        a.contains(&Action::WatchRpf(VRP)),
        "RP(G) watched while KAT runs"
    );
    let e = entry(&net, r, S, G);
    assert_eq!(e.register_state, RegisterState::Join);
    assert_eq!(e.keepalive_timer_ms, Some(ms(KEEPALIVE_PERIOD)));
    assert_eq!(e.register_stop_timer_ms, None);
    assert_eq!(net.fwd(r, RouteKey::sg(S, G)), Some((Some(1), vec![VIF])));
    assert_eq!(net.nodes[r].watched.len(), 2);
}

#[test]
fn s4_4_1_register_vif_appears_later() {
    let mut net = Net::new();
    let r = net.router("dr", config(VRP));
    net.link(1, &[(r, 1)]);
    net.link(2, &[(r, 2)]);
    net.route(r, S, 1, None);
    net.route(r, VRP, 2, Some(VRP));
    net.upcall(r, UpcallKind::NoCache, 1, S, G, &[]);
    assert_eq!(entry(&net, r, S, G).register_state, RegisterState::Join);
    assert_eq!(net.fwd(r, RouteKey::sg(S, G)), Some((Some(1), vec![])));
    net.register_vif(r, Some(VIF));
    assert_eq!(net.fwd(r, RouteKey::sg(S, G)), Some((Some(1), vec![VIF])));
    net.register_vif(r, None);
    assert_eq!(net.fwd(r, RouteKey::sg(S, G)), Some((Some(1), vec![])));
}

#[test]
fn s4_4_1_could_register_needs_dr_directly_connected_asm_and_a_remote_rp() {
    // Not directly connected (a next hop): no state.
    let (mut net, r) = dr();
    let far = Ipv4Addr::new(10, 9, 9, 9);
    net.route(r, far, 2, Some(VRP));
    net.upcall(r, UpcallKind::NoCache, 2, far, G, &[]);
    // RPF(far) not known yet: tentative state, dropped once the answer comes (at once here).
    assert!(net.entry(r, G, Some(far)).is_none());
    assert!(!net.nodes[r].watched.contains(&far));
    // Arrival on another interface than RPF_interface(S): nothing (RPF(S) known now).
    net.upcall(r, UpcallKind::NoCache, 1, S, G, &[]);
    net.upcall(
        r,
        UpcallKind::NoCache,
        2,
        S,
        Ipv4Addr::new(239, 2, 2, 2),
        &[],
    );
    assert!(net.entry(r, Ipv4Addr::new(239, 2, 2, 2), Some(S)).is_none());
    // SSM: no Register.
    net.upcall(r, UpcallKind::NoCache, 1, S, G_SSM, &[]);
    assert!(net.entry(r, G_SSM, Some(S)).is_none());
    // No RP for the group.
    net.upcall(
        r,
        UpcallKind::NoCache,
        1,
        S,
        Ipv4Addr::new(238, 1, 1, 1),
        &[],
    );
    assert!(net.entry(r, Ipv4Addr::new(238, 1, 1, 1), Some(S)).is_none());
    // Not the DR on the source's LAN: a router with a higher address there.
    let (mut net, r) = dr();
    net.hello_from(r, 1, Ipv4Addr::new(10, 0, 1, 200), 1, false);
    assert!(!net.nodes[r].pim.is_dr(IfIndex(1)));
    net.upcall(r, UpcallKind::NoCache, 1, S, G, &[]);
    assert!(net.entry(r, G, Some(S)).is_none());
}

#[test]
fn s4_4_1_rp_is_us_no_register() {
    // The DR is the RP (RP(G) is its own address on the source LAN): the (*,G) intent
    // forwards the source natively, no (S,G) state, no Register.
    let mut net = Net::new();
    let r = net.router("dr", config(Ipv4Addr::new(10, 0, 1, 1)));
    net.link(1, &[(r, 1)]);
    net.route(r, S, 1, None);
    net.register_vif(r, Some(VIF));
    net.upcall(r, UpcallKind::NoCache, 1, S, G, &[]);
    assert!(net.entry(r, G, Some(S)).is_none());
}

#[test]
fn s4_4_1_whole_packet_is_registered_in_the_same_call() {
    let (mut net, r) = registering();
    let pkt = udp(S, G, 100);
    let a = net.upcall(r, UpcallKind::WholePacket, VIF, S, G, &pkt);
    assert_eq!(
        sends(&a),
        vec![(
            IfIndex(2),
            VRP,
            64,
            false,
            Message::Register(Register {
                border: false,
                null: false,
                packet: pkt,
            })
        )]
    );
    let c = net.register_counters(r);
    assert_eq!(c.registers_sent, 1);
    // From another VIF, or for a packet of another (S,G): dropped and counted.
    net.upcall(r, UpcallKind::WholePacket, 1, S, G, &udp(S, G, 100));
    net.upcall(
        r,
        UpcallKind::WholePacket,
        VIF,
        S,
        G,
        &udp(S, Ipv4Addr::new(239, 9, 9, 9), 100),
    );
    let c = net.register_counters(r);
    assert_eq!(c.registers_sent, 1);
    assert_eq!(c.dropped[register_drops::NOT_REGISTER_VIF], 1);
    assert_eq!(c.dropped[register_drops::BAD_PACKET], 1);
}

#[test]
fn s4_4_1_register_too_big_is_dropped_and_counted() {
    let (mut net, r) = registering();
    let max = max_register_payload(1500);
    assert_eq!(max, 1472);
    let a = net.upcall(r, UpcallKind::WholePacket, VIF, S, G, &udp(S, G, max + 1));
    assert!(sends(&a).is_empty(), "never a Register over the MTU");
    let a = net.upcall(r, UpcallKind::WholePacket, VIF, S, G, &udp(S, G, max));
    assert_eq!(sends(&a).len(), 1);
    let c = net.register_counters(r);
    assert_eq!((c.registers_sent, c.register_too_big), (1, 1));
    assert_eq!(c.dropped[register_drops::TOO_BIG], 1);
}

#[test]
fn s4_4_1_join_receive_register_stop_to_prune() {
    let (mut net, r, rst) = pruned();
    // J -> P: the register tunnel leaves the olist; RST in
    // (0.5 x 60 s, 1.5 x 60 s) - 5 s.
    assert_eq!(net.fwd(r, RouteKey::sg(S, G)), Some((Some(1), vec![])));
    let d = rst.saturating_duration_since(net.now);
    assert!(
        d > REGISTER_SUPPRESSION_TIME / 2 - REGISTER_PROBE_TIME,
        "{d:?}"
    );
    assert!(
        d < REGISTER_SUPPRESSION_TIME * 3 / 2 - REGISTER_PROBE_TIME,
        "{d:?}"
    );
    assert_eq!(net.register_counters(r).register_stops_received, 1);
    // Packets from the register VIF are no longer sent.
    let a = net.upcall(r, UpcallKind::WholePacket, VIF, S, G, &udp(S, G, 100));
    assert!(sends(&a).is_empty());
    assert_eq!(
        net.register_counters(r).dropped[register_drops::NOT_REGISTERING],
        1
    );
    // P: another Register-Stop changes nothing (RST not restarted).
    net.advance(secs(10));
    net.inject_unicast(r, 2, VRP, net.addr(r, 2), &register_stop(G, S));
    let e = entry(&net, r, S, G);
    assert_eq!(e.register_state, RegisterState::Prune);
    assert_eq!(
        e.register_stop_timer_ms,
        Some(ms(rst.saturating_duration_since(net.now)))
    );
}

#[test]
fn s4_4_1_rst_expires_in_prune_null_register_then_join_after_probe_time() {
    let (mut net, r, rst) = pruned();
    // Keep KAT running (the source keeps sending).
    net.mfc_stats(r, S, G, 10);
    net.run_until(before(rst));
    assert!(registers(&mut net, r).is_empty());
    net.run_until(rst);
    // P -> JP: one Null-Register at exactly the RST deadline, RST = Register_Probe_Time.
    let regs = registers(&mut net, r);
    assert_eq!(regs.len(), 1);
    assert_eq!(regs[0].0, rst);
    assert_eq!(regs[0].1, Register::null(S, G));
    let e = entry(&net, r, S, G);
    assert_eq!(e.register_state, RegisterState::JoinPending);
    assert_eq!(e.register_stop_timer_ms, Some(ms(REGISTER_PROBE_TIME)));
    assert_eq!(net.fwd(r, RouteKey::sg(S, G)), Some((Some(1), vec![])));
    assert_eq!(net.register_counters(r).null_registers_sent, 1);
    // JP -> J after Register_Probe_Time without a Register-Stop: the tunnel is back.
    net.run_until(before(rst + REGISTER_PROBE_TIME));
    assert_eq!(
        entry(&net, r, S, G).register_state,
        RegisterState::JoinPending
    );
    net.run_until(rst + REGISTER_PROBE_TIME);
    let e = entry(&net, r, S, G);
    assert_eq!(e.register_state, RegisterState::Join);
    assert_eq!(e.register_stop_timer_ms, None);
    assert_eq!(net.fwd(r, RouteKey::sg(S, G)), Some((Some(1), vec![VIF])));
    let a = net.upcall(r, UpcallKind::WholePacket, VIF, S, G, &udp(S, G, 60));
    assert_eq!(sends(&a).len(), 1);
}

#[test]
fn s4_4_1_register_stop_in_join_pending_back_to_prune() {
    let (mut net, r, rst) = pruned();
    net.mfc_stats(r, S, G, 10);
    net.run_until(rst + secs(2));
    assert_eq!(
        entry(&net, r, S, G).register_state,
        RegisterState::JoinPending
    );
    net.inject_unicast(r, 2, VRP, net.addr(r, 2), &register_stop(G, S));
    let e = entry(&net, r, S, G);
    assert_eq!(e.register_state, RegisterState::Prune);
    let d = Duration::from_millis(e.register_stop_timer_ms.expect("RST"));
    assert!(d > secs(25) && d < secs(85), "{d:?}");
    // No Join at the old probe deadline.
    net.run_until(rst + REGISTER_PROBE_TIME);
    assert_eq!(entry(&net, r, S, G).register_state, RegisterState::Prune);
    assert_eq!(net.fwd(r, RouteKey::sg(S, G)), Some((Some(1), vec![])));
}

#[test]
fn s4_4_1_register_stop_without_state_is_ignored() {
    let (mut net, r) = dr();
    net.inject_unicast(r, 2, VRP, net.addr(r, 2), &register_stop(G, S));
    assert!(net.entry(r, G, Some(S)).is_none());
    let c = net.register_counters(r);
    assert_eq!(c.register_stops_received, 1);
    assert_eq!(c.dropped[register_drops::REGISTER_STOP_NO_STATE], 1);
}

#[test]
fn s4_4_1_wildcard_register_stop_stops_every_source_of_the_group() {
    let (mut net, r) = registering();
    let s2 = Ipv4Addr::new(10, 0, 1, 101);
    net.route(r, s2, 1, None);
    net.upcall(r, UpcallKind::NoCache, 1, s2, G, &[]);
    net.inject_unicast(
        r,
        2,
        VRP,
        net.addr(r, 2),
        &register_stop(G, Ipv4Addr::UNSPECIFIED),
    );
    assert_eq!(entry(&net, r, S, G).register_state, RegisterState::Prune);
    assert_eq!(entry(&net, r, s2, G).register_state, RegisterState::Prune);
}

#[test]
fn s4_4_1_could_register_false_on_kat_expiry() {
    let (mut net, r) = registering();
    net.run_until(before(Instant::ZERO + KEEPALIVE_PERIOD));
    assert_eq!(entry(&net, r, S, G).register_state, RegisterState::Join);
    net.run_until(Instant::ZERO + KEEPALIVE_PERIOD);
    // KAT expired: NoInfo, the state that existed only because of KAT is gone.
    assert!(net.entry(r, G, Some(S)).is_none());
    assert_eq!(net.fwd(r, RouteKey::sg(S, G)), None);
    assert!(net.nodes[r].watched.is_empty());
}

#[test]
fn s4_4_1_could_register_false_in_prune_stops_rst() {
    let (mut net, r, rst) = pruned();
    assert!(rst > Instant::ZERO + secs(25));
    // The DR loses the election on the source's LAN.
    net.hello_from(r, 1, Ipv4Addr::new(10, 0, 1, 200), 1, false);
    let e = entry(&net, r, S, G);
    assert_eq!(e.register_state, RegisterState::NoInfo);
    assert_eq!(e.register_stop_timer_ms, None);
    // And back: Join at once.
    net.goodbye_from(r, 1, Ipv4Addr::new(10, 0, 1, 200));
    assert_eq!(entry(&net, r, S, G).register_state, RegisterState::Join);
}

#[test]
fn s4_4_1_rp_changed_back_to_join() {
    let (mut net, r, _) = pruned();
    let new_rp = Ipv4Addr::new(10, 0, 2, 8);
    net.route(r, new_rp, 2, Some(new_rp));
    net.set_config(r, config(new_rp));
    let e = entry(&net, r, S, G);
    assert_eq!(e.register_state, RegisterState::Join);
    assert_eq!(e.register_stop_timer_ms, None);
    assert!(net.nodes[r].watched.contains(&new_rp));
    assert!(!net.nodes[r].watched.contains(&VRP));
    assert_eq!(net.fwd(r, RouteKey::sg(S, G)), Some((Some(1), vec![VIF])));
    let a = net.upcall(r, UpcallKind::WholePacket, VIF, S, G, &udp(S, G, 60));
    assert_eq!(sends(&a)[0].1, new_rp, "Registers go to the new RP");
}

#[test]
fn s4_1_1_kat_restarted_by_mfc_counters() {
    let (mut net, r) = registering();
    // The counter grows every 100 s: KAT restarts each time.
    for (i, n) in [(1u64, 5u64), (2, 9), (3, 9)] {
        net.run_until(Instant::ZERO + secs(100 * i));
        net.mfc_stats(r, S, G, n);
    }
    // The last sample (300 s) did not grow: KAT still from 200 s.
    let e = entry(&net, r, S, G);
    assert_eq!(e.keepalive_timer_ms, Some(ms(KEEPALIVE_PERIOD - secs(100))));
    net.run_until(Instant::ZERO + secs(200) + KEEPALIVE_PERIOD);
    assert!(
        net.entry(r, G, Some(S)).is_none(),
        "KAT expired 210 s after the last packet"
    );
    // A counter going down is a new kernel entry: its packets count.
    let (mut net, r) = registering();
    net.mfc_stats(r, S, G, 100);
    net.advance(secs(50));
    net.mfc_stats(r, S, G, 3);
    assert_eq!(
        entry(&net, r, S, G).keepalive_timer_ms,
        Some(ms(KEEPALIVE_PERIOD))
    );
    // Stats for unknown entries are ignored.
    net.mfc_stats(r, Ipv4Addr::new(10, 0, 1, 55), G, 7);
    assert!(net.entry(r, G, Some(Ipv4Addr::new(10, 0, 1, 55))).is_none());
}

// -------------------------------------------------------------------------------------
// 4.4.2: the RP

/// The RP r0: the DR-side link is 2 (if 1, a virtual DR 10.0.2.9), receivers on link 3
/// (if 2). RP(G) = its address on link 2, 10.0.2.1. Register VIF 100.
fn rp() -> (Net, usize, Ipv4Addr) {
    let mut net = Net::new();
    let rp_addr = Ipv4Addr::new(10, 0, 2, 1);
    let r = net.router("rp", config(rp_addr));
    net.link(2, &[(r, 1)]);
    net.link(3, &[(r, 2)]);
    net.hello_from(r, 1, VRP, 7, false);
    net.route_local(r, rp_addr);
    net.route(r, S, 1, Some(VRP));
    net.register_vif(r, Some(VIF));
    (net, r, rp_addr)
}

fn data_register(s: Ipv4Addr, g: Ipv4Addr) -> Message {
    Message::Register(Register {
        border: false,
        null: false,
        packet: udp(s, g, 100),
    })
}

#[test]
fn s4_4_2_no_receivers_immediate_register_stop() {
    let (mut net, r, rp_addr) = rp();
    let a = net.inject_unicast(r, 1, VRP, rp_addr, &data_register(S, G));
    // In the same call: Register-Stop(S,G) to the Register's source, TTL 64.
    assert_eq!(
        sends(&a),
        vec![(IfIndex(1), VRP, 64, false, register_stop(G, S))]
    );
    let e = entry(&net, r, S, G);
    assert_eq!(e.keepalive_timer_ms, Some(ms(RP_KEEPALIVE_PERIOD)));
    assert_eq!(e.register_state, RegisterState::NoInfo);
    assert_eq!(e.upstream.state, pim::UpstreamState::NotJoined);
    // Decapsulated into the register VIF, forwarded nowhere.
    assert_eq!(net.fwd(r, RouteKey::sg(S, G)), Some((Some(VIF), vec![])));
    let c = net.register_counters(r);
    assert_eq!(
        (
            c.registers_received,
            c.register_stops_sent,
            c.registers_decapsulated
        ),
        (1, 1, 1)
    );
    // Null-Registers get a Register-Stop too and keep KAT at RP_Keepalive_Period.
    net.advance(secs(60));
    let a = net.inject_unicast(r, 1, VRP, rp_addr, &Message::Register(Register::null(S, G)));
    assert_eq!(sends(&a).len(), 1);
    assert_eq!(
        entry(&net, r, S, G).keepalive_timer_ms,
        Some(ms(RP_KEEPALIVE_PERIOD))
    );
    assert_eq!(net.register_counters(r).null_registers_received, 1);
    // Without Registers, the state goes with KAT.
    net.advance(RP_KEEPALIVE_PERIOD);
    assert!(net.entry(r, G, Some(S)).is_none());
    assert_eq!(net.fwd(r, RouteKey::sg(S, G)), None);
}

#[test]
fn s4_4_2_register_with_receivers_joins_the_source_tree() {
    let (mut net, r, rp_addr) = rp();
    net.exclude(r, 2, G);
    // (*,G) at the RP: iif the register VIF.
    assert_eq!(net.fwd(r, RouteKey::star_g(G)), Some((Some(VIF), vec![2])));
    net.take_jps(r);
    let a = net.inject_unicast(r, 1, VRP, rp_addr, &data_register(S, G));
    assert!(
        sends(&a)
            .iter()
            .all(|s| !matches!(s.4, Message::RegisterStop(_)))
    );
    let e = entry(&net, r, S, G);
    assert_eq!(e.keepalive_timer_ms, Some(ms(KEEPALIVE_PERIOD)));
    assert!(!e.spt_bit);
    // JoinDesired(S,G) = KAT running AND inherited_olist(S,G) != NULL: Join(S,G) to the DR.
    assert_eq!(e.upstream.state, pim::UpstreamState::Joined);
    let jps = net.take_jps(r);
    assert_eq!(jps.len(), 1);
    assert_eq!(jps[0].joins(), vec![(G, sg(S))]);
    assert_eq!(jps[0].jp.upstream_neighbor, VRP);
    // Before SPTbit: decapsulated data from the register VIF down the shared tree.
    assert_eq!(net.fwd(r, RouteKey::sg(S, G)), Some((Some(VIF), vec![2])));
    assert_eq!(net.register_counters(r).register_stops_sent, 0);
}

#[test]
fn s4_4_2_spt_bit_from_native_traffic_then_register_stop() {
    let (mut net, r, rp_addr) = rp();
    net.exclude(r, 2, G);
    net.inject_unicast(r, 1, VRP, rp_addr, &data_register(S, G));
    net.inject_unicast(r, 1, VRP, rp_addr, &data_register(S, G));
    // The kernel counted exactly the two decapsulated packets: no native traffic yet.
    net.advance(secs(1));
    net.mfc_stats(r, S, G, 2);
    assert!(!entry(&net, r, S, G).spt_bit);
    // More packets than Registers: native data on the source tree (Update_SPTbit, 4.2.2).
    net.advance(secs(1));
    net.inject_unicast(r, 1, VRP, rp_addr, &data_register(S, G));
    net.mfc_stats(r, S, G, 6);
    let e = entry(&net, r, S, G);
    assert!(e.spt_bit);
    assert_eq!(e.keepalive_timer_ms, Some(ms(KEEPALIVE_PERIOD)));
    assert_eq!(net.fwd(r, RouteKey::sg(S, G)), Some((Some(1), vec![2])));
    // SPTbit: the next Register is answered with a Register-Stop, not forwarded.
    let a = net.inject_unicast(r, 1, VRP, rp_addr, &data_register(S, G));
    assert_eq!(
        sends(&a),
        vec![(IfIndex(1), VRP, 64, false, register_stop(G, S))]
    );
    let c = net.register_counters(r);
    assert_eq!((c.registers_received, c.registers_decapsulated), (4, 3));
    assert_eq!(
        entry(&net, r, S, G).keepalive_timer_ms,
        Some(ms(RP_KEEPALIVE_PERIOD))
    );
}

#[test]
fn s4_4_2_receivers_after_register_stop_join_while_kat_runs() {
    let (mut net, r, rp_addr) = rp();
    net.inject_unicast(r, 1, VRP, rp_addr, &data_register(S, G));
    net.take_jps(r);
    net.advance(secs(30));
    net.exclude(r, 2, G);
    let jps = net.take_jps(r);
    assert!(
        jps.iter().any(|j| j.joins().contains(&(G, sg(S)))),
        "JoinDesired(S,G) via KAT: {jps:?}"
    );
}

#[test]
fn s4_4_2_register_not_for_us_answered_with_register_stop() {
    let (mut net, r, _) = rp();
    // To our other address, not RP(G).
    let other = net.addr(r, 2);
    let a = net.inject_unicast(r, 1, VRP, other, &data_register(S, G));
    assert_eq!(
        sends(&a),
        vec![(IfIndex(1), VRP, 64, false, register_stop(G, S))]
    );
    // For an SSM group.
    net.inject_unicast(
        r,
        1,
        VRP,
        Ipv4Addr::new(10, 0, 2, 1),
        &data_register(S, G_SSM),
    );
    assert!(net.entry(r, G, Some(S)).is_none());
    assert!(net.entry(r, G_SSM, Some(S)).is_none());
    let c = net.register_counters(r);
    assert_eq!(c.dropped[register_drops::NOT_RP], 2);
    assert_eq!(c.registers_decapsulated, 0);
}

#[test]
fn s4_4_2_star_g_iif_at_the_rp_without_register_vif_is_none() {
    let (mut net, r, _) = rp();
    net.exclude(r, 2, G);
    assert_eq!(net.fwd(r, RouteKey::star_g(G)), Some((Some(VIF), vec![2])));
    net.register_vif(r, None);
    assert_eq!(net.fwd(r, RouteKey::star_g(G)), Some((None, vec![2])));
}

// -------------------------------------------------------------------------------------
// The chain: S - DR (r0) - RP (r1) - r2 - receiver

/// r0 if 1 on the source LAN (link 1), r0 if 2 - r1 if 1 on link 2, r1 if 2 - r2 if 1 on
/// link 3, receivers on r2's link 4 (if 2). RP(G) = r1's address on link 2 (10.0.2.2).
/// Register VIFs: 100 on r0 and r1.
fn chain() -> (Net, usize, usize, usize, Ipv4Addr) {
    let rp_addr = Ipv4Addr::new(10, 0, 2, 2);
    let mut net = Net::new();
    let dr = net.router("dr", config(rp_addr));
    let rp = net.router("rp", config(rp_addr));
    let r3 = net.router("r3", config(rp_addr));
    net.link(1, &[(dr, 1)]);
    net.link(2, &[(dr, 2), (rp, 1)]);
    net.link(3, &[(rp, 2), (r3, 1)]);
    net.link(4, &[(r3, 2)]);
    net.route(dr, S, 1, None);
    net.route(dr, rp_addr, 2, Some(rp_addr));
    net.route_local(rp, rp_addr);
    net.route(rp, S, 1, Some(net.addr(dr, 2)));
    net.route(rp, net.addr(dr, 2), 1, None);
    net.route(r3, S, 1, Some(net.addr(rp, 2)));
    net.route(r3, rp_addr, 1, Some(net.addr(rp, 2)));
    net.register_vif(dr, Some(VIF));
    net.register_vif(rp, Some(VIF));
    (net, dr, rp, r3, rp_addr)
}

#[test]
fn chain_register_then_source_tree_then_register_stop_and_null_registers() {
    let (mut net, dr, rp, r3, rp_addr) = chain();
    net.exclude(r3, 2, G);
    assert_eq!(net.fwd(rp, RouteKey::star_g(G)), Some((Some(VIF), vec![2])));
    assert_eq!(net.fwd(r3, RouteKey::star_g(G)), Some((Some(1), vec![2])));
    net.clear();

    // The source's first packet: NOCACHE at the DR, Register state Join.
    net.upcall(dr, UpcallKind::NoCache, 1, S, G, &[]);
    assert_eq!(net.fwd(dr, RouteKey::sg(S, G)), Some((Some(1), vec![VIF])));
    // The kernel hands it over from the register VIF: a Register to the RP in the same call.
    let pkt = udp(S, G, 200);
    let a = net.upcall(dr, UpcallKind::WholePacket, VIF, S, G, &pkt);
    let s = sends(&a);
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].0, s[0].1, s[0].2), (IfIndex(2), rp_addr, 64));
    // The RP decapsulates it down the shared tree (the kernel does: iif register VIF,
    // oifs inherited_olist(S,G,rpt)) and joins the source tree towards the DR.
    assert_eq!(net.register_counters(rp).registers_decapsulated, 1);
    assert_eq!(net.fwd(rp, RouteKey::sg(S, G)), Some((Some(VIF), vec![2])));
    let jps = net.take_jps(rp);
    assert!(jps.iter().any(|j| j.ifindex == IfIndex(1)
        && j.jp.upstream_neighbor == net.addr(dr, 2)
        && j.joins().contains(&(G, sg(S)))));
    // The DR now forwards natively to the RP as well as registering.
    assert_eq!(
        net.fwd(dr, RouteKey::sg(S, G)),
        Some((Some(1), vec![2, VIF]))
    );
    assert_eq!(net.register_counters(rp).register_stops_sent, 0);

    // Native traffic reaches the RP: its counter grows by more than the Registers.
    net.advance(secs(1));
    net.mfc_stats(dr, S, G, 3);
    net.mfc_stats(rp, S, G, 3);
    assert!(entry(&net, rp, S, G).spt_bit);
    assert_eq!(net.fwd(rp, RouteKey::sg(S, G)), Some((Some(1), vec![2])));
    // The next Register is answered by a Register-Stop; the DR stops registering.
    net.take_unicasts(dr);
    net.upcall(dr, UpcallKind::WholePacket, VIF, S, G, &udp(S, G, 200));
    assert_eq!(net.register_counters(rp).register_stops_sent, 1);
    let rs: Vec<_> = net
        .take_unicasts(rp)
        .into_iter()
        .filter(|u| matches!(u.4, Message::RegisterStop(_)))
        .collect();
    assert_eq!(rs.len(), 1);
    assert_eq!(
        (rs[0].1, rs[0].2, rs[0].3),
        (IfIndex(1), net.addr(dr, 2), 64)
    );
    assert_eq!(entry(&net, dr, S, G).register_state, RegisterState::Prune);
    assert_eq!(net.fwd(dr, RouteKey::sg(S, G)), Some((Some(1), vec![2])));
    assert_eq!(
        registers(&mut net, dr).len(),
        1,
        "the Register that got the Register-Stop"
    );

    // Traffic goes on (counters every second); Null-Registers every RST, each answered
    // by a Register-Stop; the tunnel never comes back.
    let mut packets = 3;
    let mut nulls = Vec::new();
    let mut rst_deadlines = Vec::new();
    let mut last_rst = None;
    let end = net.now + secs(400);
    while net.now < end {
        let e = entry(&net, dr, S, G);
        if let Some(t) = e.register_stop_timer_ms
            && e.register_state == RegisterState::Prune
        {
            let d = net.now + Duration::from_millis(t);
            if last_rst != Some(d) {
                rst_deadlines.push(d);
                last_rst = Some(d);
            }
        }
        net.advance(secs(1));
        packets += 50;
        net.mfc_stats(dr, S, G, packets);
        net.mfc_stats(rp, S, G, packets);
        nulls.extend(registers(&mut net, dr));
        assert_ne!(
            net.fwd(dr, RouteKey::sg(S, G)),
            Some((Some(1), vec![2, VIF])),
            "registering again at {:?}",
            net.now
        );
    }
    assert!(nulls.len() >= 4, "{nulls:?}");
    for (i, (t, reg)) in nulls.iter().enumerate() {
        assert!(reg.null);
        assert_eq!(*t, rst_deadlines[i], "Null-Register at the RST deadline");
        if i > 0 {
            let gap = t.saturating_duration_since(nulls[i - 1].0);
            assert!(
                gap > secs(25) && gap < secs(85),
                "(0.5..1.5) x Register_Suppression_Time - Register_Probe_Time: {gap:?}"
            );
        }
    }
    assert_eq!(
        net.register_counters(dr).null_registers_sent,
        nulls.len() as u64
    );
    assert_eq!(
        net.register_counters(rp).register_stops_sent,
        1 + nulls.len() as u64
    );
    assert_eq!(
        entry(&net, rp, S, G).keepalive_timer_ms,
        Some(ms(KEEPALIVE_PERIOD))
    );
}

#[test]
fn chain_without_receivers_immediate_register_stop() {
    let (mut net, dr, rp, _r3, _) = chain();
    net.upcall(dr, UpcallKind::NoCache, 1, S, G, &[]);
    net.upcall(dr, UpcallKind::WholePacket, VIF, S, G, &udp(S, G, 200));
    // The RP answers at once; the DR prunes the tunnel.
    assert_eq!(net.register_counters(rp).register_stops_sent, 1);
    assert_eq!(entry(&net, dr, S, G).register_state, RegisterState::Prune);
    assert_eq!(net.fwd(dr, RouteKey::sg(S, G)), Some((Some(1), vec![])));
    let e = entry(&net, rp, S, G);
    assert_eq!(e.keepalive_timer_ms, Some(ms(RP_KEEPALIVE_PERIOD)));
    assert_eq!(e.upstream.state, pim::UpstreamState::NotJoined);
    assert!(net.take_jps(rp).iter().all(|j| j.joins().is_empty()));
}
