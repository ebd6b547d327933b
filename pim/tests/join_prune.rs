//! RFC 7761 section 4.5 on one router, with virtual neighbours: the downstream state
//! machines of 4.5.2 ((*,G)) and 4.5.3 ((S,G)), the upstream ones of 4.5.6 and 4.5.7, local
//! membership (4.1.6), RPF and RP changes, and the Forward intents.
//!
//! The router R: interface 1 = upstream LAN 10.0.1.0/24 (R is .1; U = .50 is RPF' of the
//! source and of the RP, P = .60 a peer router); interface 2 = downstream LAN 10.0.2.0/24
//! (R is .1; routers D1 = .50 and D2 = .60); interface 3 = receivers (R alone: the DR);
//! interface 4 = point-to-point 10.0.4.0/24 to Q = .50.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use ::common::{Action, FilterMode, IfIndex, RouteKey, Rpf};
use common::net::*;
use pim::config::{Config, InterfaceConfig, RpMapping};
use pim::{DownstreamState, UpstreamState, events, ignored};

const S: Ipv4Addr = Ipv4Addr::new(10, 0, 100, 10);
const RP: Ipv4Addr = Ipv4Addr::new(10, 9, 9, 9);
const RP2: Ipv4Addr = Ipv4Addr::new(10, 9, 9, 2);
/// SSM group.
const G: Ipv4Addr = Ipv4Addr::new(232, 1, 1, 1);
/// ASM group (RP(GA) = RP).
const GA: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);
const GA2: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 2);
const U: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 50);
const P: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 60);
const D1: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 50);
const D2: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 60);
const Q: Ipv4Addr = Ipv4Addr::new(10, 0, 4, 50);
const R_UP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);
const R_DOWN: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 1);
const R_P2P: Ipv4Addr = Ipv4Addr::new(10, 0, 4, 1);

fn config() -> Config {
    Config {
        rps: vec![RpMapping {
            group: Ipv4Addr::new(239, 0, 0, 0),
            prefix_len: 8,
            rp: RP,
        }],
        ..Config::default()
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn rig_with(config: Config, up_cfg: InterfaceConfig) -> Net {
    let mut net = Net::new();
    let r = net.router("r", config);
    net.link_with(1, &[(r, 1)], up_cfg);
    net.link(2, &[(r, 2)]);
    net.link(3, &[(r, 3)]);
    net.link(4, &[(r, 4)]);
    net.hello_from(r, 1, U, 1, false);
    net.hello_from(r, 1, P, 1, false);
    net.hello_from(r, 2, D1, 1, false);
    net.hello_from(r, 2, D2, 1, false);
    net.hello_from(r, 4, Q, 1, false);
    net.route(r, S, 1, Some(U));
    net.route(r, RP, 1, Some(U));
    net.route(r, RP2, 4, Some(Q));
    net.clear();
    net
}

fn rig() -> Net {
    rig_with(config(), iface_cfg())
}

fn sg_key() -> RouteKey {
    RouteKey::sg(S, G)
}

/// D1 (or another) sends Join(S,G) to R on interface 2.
fn join_sg(net: &mut Net, from: Ipv4Addr, holdtime: u16) -> Vec<Action> {
    net.jp_from(0, 2, from, R_DOWN, holdtime, vec![set(G, &[sg(S)], &[])])
}

fn prune_sg(net: &mut Net, from: Ipv4Addr) -> Vec<Action> {
    net.jp_from(0, 2, from, R_DOWN, 210, vec![set(G, &[], &[sg(S)])])
}

fn ds(net: &Net, g: Ipv4Addr, s: Option<Ipv4Addr>, i: u32) -> pim::DownstreamSnapshot {
    net.entry(0, g, s)
        .expect("entry")
        .interfaces
        .into_iter()
        .find(|x| x.ifindex == IfIndex(i))
        .expect("interface state")
}

fn up(net: &Net, g: Ipv4Addr, s: Option<Ipv4Addr>) -> pim::UpstreamSnapshot {
    net.entry(0, g, s).expect("entry").upstream
}

/// (group, source, upstream neighbour, is_join) of every Join/Prune entry in `jps`.
fn entries(jps: &[pim::packet::JoinPrune]) -> Vec<(Ipv4Addr, Ipv4Addr, Ipv4Addr, bool)> {
    let mut v = Vec::new();
    for jp in jps {
        for g in &jp.groups {
            for j in &g.joins {
                v.push((g.group.group, j.source, jp.upstream_neighbor, true));
            }
            for p in &g.prunes {
                v.push((g.group.group, p.source, jp.upstream_neighbor, false));
            }
        }
    }
    v
}

fn sent_entries(net: &mut Net) -> Vec<(Ipv4Addr, Ipv4Addr, Ipv4Addr, bool)> {
    let jps: Vec<_> = net.take_jps(0).into_iter().map(|j| j.jp).collect();
    entries(&jps)
}

// -------------------------------------------------------------------------------------
// 4.5.3 (S,G) downstream

#[test]
fn s4_5_3_noinfo_receive_join_starts_et_and_joins_upstream_at_once() {
    let mut net = rig();
    // S is watched already (another group), so everything happens in this one call.
    net.include(0, 3, Ipv4Addr::new(232, 9, 9, 9), &[S]);
    net.take_jps(0);
    let a = join_sg(&mut net, D1, 210);
    let d = ds(&net, G, Some(S), 2);
    assert_eq!(d.state, DownstreamState::Join);
    assert_eq!(d.expiry_ms, Some(210_000));
    assert_eq!(d.prune_pending_ms, None);
    // 4.5.7 NotJoined -> Joined in the same call: Join(S,G) to RPF'(S,G) = U on if 1.
    assert_eq!(entries(&jps_in(&a)), vec![(G, S, U, true)]);
    let jp = net.take_jps(0);
    assert_eq!(jp[0].ifindex, IfIndex(1));
    assert_eq!(jp[0].jp.holdtime, 210);
    assert_eq!(net.fwd(0, sg_key()), Some((Some(1), vec![2])));
    assert_eq!(up(&net, G, Some(S)).state, UpstreamState::Joined);
    assert_eq!(up(&net, G, Some(S)).join_timer_ms, Some(60_000));
    assert_eq!(up(&net, G, Some(S)).rpf_neighbor, Some(U));
    assert_eq!(net.counters(0).joins_received, 1);
}

#[test]
fn s4_5_3_join_receive_join_sets_et_to_the_larger() {
    let mut net = rig();
    join_sg(&mut net, D1, 210);
    net.advance(secs(100));
    join_sg(&mut net, D2, 60);
    assert_eq!(
        ds(&net, G, Some(S), 2).expiry_ms,
        Some(110_000),
        "max(110 s, 60 s)"
    );
    join_sg(&mut net, D2, 200);
    assert_eq!(ds(&net, G, Some(S), 2).expiry_ms, Some(200_000));
    assert!(
        sent_entries(&mut net).iter().all(|e| e.3),
        "only Joins (the periodic one at 60 s)"
    );
}

#[test]
fn s4_5_3_join_receive_prune_on_a_lan_is_prune_pending_then_noinfo_with_prune_echo() {
    let mut net = rig();
    join_sg(&mut net, D1, 210);
    net.take_jps(0);
    let a = prune_sg(&mut net, D1);
    assert!(jps_in(&a).is_empty(), "nothing until the PPT expires");
    let d = ds(&net, G, Some(S), 2);
    assert_eq!(d.state, DownstreamState::PrunePending);
    // J/P_Override_Interval(I) = 500 + 2500 ms (two neighbours on the LAN).
    assert_eq!(d.prune_pending_ms, Some(3_000));
    assert_eq!(d.expiry_ms, Some(210_000), "ET keeps running");
    assert_eq!(
        net.fwd(0, sg_key()),
        Some((Some(1), vec![2])),
        "still forwarding"
    );
    // Prune-Pending + Prune: nothing changes.
    net.advance(ms(1_000));
    prune_sg(&mut net, D2);
    assert_eq!(ds(&net, G, Some(S), 2).prune_pending_ms, Some(2_000));
    net.advance(ms(1_999));
    assert_eq!(ds(&net, G, Some(S), 2).state, DownstreamState::PrunePending);
    net.advance(ms(1));
    // PPT expires: NoInfo, a PruneEcho on the LAN, Prune(S,G) upstream, no more forwarding.
    assert!(net.entry(0, G, Some(S)).is_none());
    let jps = net.take_jps(0);
    let t = ::common::Instant::from_millis(3_000);
    assert!(jps.iter().all(|j| j.at == t));
    let echo: Vec<_> = jps.iter().filter(|j| j.ifindex == IfIndex(2)).collect();
    assert_eq!(echo.len(), 1);
    assert_eq!(entries(&[echo[0].jp.clone()]), vec![(G, S, R_DOWN, false)]);
    let upstream: Vec<_> = jps
        .iter()
        .filter(|j| j.ifindex == IfIndex(1))
        .map(|j| j.jp.clone())
        .collect();
    assert_eq!(entries(&upstream), vec![(G, S, U, false)]);
    assert_eq!(net.fwd(0, sg_key()), None);
    assert!(
        !net.nodes[0].watched.contains(&S),
        "UnwatchRpf with the last user"
    );
}

#[test]
fn s4_5_3_prune_pending_receive_join_overrides() {
    let mut net = rig();
    join_sg(&mut net, D1, 210);
    prune_sg(&mut net, D1);
    net.advance(ms(2_000));
    join_sg(&mut net, D2, 100);
    let d = ds(&net, G, Some(S), 2);
    assert_eq!(d.state, DownstreamState::Join);
    assert_eq!(d.prune_pending_ms, None, "PPT cancelled");
    assert_eq!(d.expiry_ms, Some(208_000), "max(ET, HoldTime)");
    net.advance(secs(10));
    assert_eq!(ds(&net, G, Some(S), 2).state, DownstreamState::Join);
    assert!(
        sent_entries(&mut net).iter().all(|e| e.3),
        "no Prune upstream"
    );
}

#[test]
fn s4_5_3_prune_on_point_to_point_prunes_at_once() {
    let mut net = rig();
    net.jp_from(0, 4, Q, R_P2P, 210, vec![set(G, &[sg(S)], &[])]);
    assert_eq!(net.fwd(0, sg_key()), Some((Some(1), vec![4])));
    net.take_jps(0);
    // One neighbour on the link: PPT is zero, NoInfo at once, Prune upstream in this call.
    let a = net.jp_from(0, 4, Q, R_P2P, 210, vec![set(G, &[], &[sg(S)])]);
    assert_eq!(
        entries(&jps_in(&a)),
        vec![(G, S, U, false)],
        "no PruneEcho either"
    );
    assert!(net.entry(0, G, Some(S)).is_none());
    assert_eq!(net.fwd(0, sg_key()), None);
}

#[test]
fn s4_5_3_et_expiry_from_join_and_from_prune_pending() {
    let mut net = rig();
    join_sg(&mut net, D1, 30);
    net.advance(ms(29_999));
    assert_eq!(ds(&net, G, Some(S), 2).state, DownstreamState::Join);
    net.take_jps(0);
    net.advance(ms(1));
    assert!(
        net.entry(0, G, Some(S)).is_none(),
        "J -> NI at the HoldTime"
    );
    assert_eq!(sent_entries(&mut net), vec![(G, S, U, false)]);
    // PP -> NI when ET expires before PPT.
    join_sg(&mut net, D1, 2);
    prune_sg(&mut net, D1);
    net.advance(ms(2_000));
    assert!(net.entry(0, G, Some(S)).is_none());
    let jps = net.take_jps(0);
    assert!(
        jps.iter().all(|j| j.ifindex == IfIndex(1)),
        "no PruneEcho after ET expiry"
    );
}

#[test]
fn s4_5_3_noinfo_receive_prune_does_nothing_and_infinite_holdtime_never_expires() {
    let mut net = rig();
    let a = prune_sg(&mut net, D1);
    assert!(jps_in(&a).is_empty() && !a.iter().any(|x| matches!(x, Action::WatchRpf(_))));
    assert!(net.entry(0, G, Some(S)).is_none());
    join_sg(&mut net, D1, 0xffff);
    assert_eq!(ds(&net, G, Some(S), 2).expiry_ms, None);
    net.advance(secs(100_000));
    assert_eq!(ds(&net, G, Some(S), 2).state, DownstreamState::Join);
}

// -------------------------------------------------------------------------------------
// 4.5.2 (*,G) downstream, acceptance

#[test]
fn s4_5_2_star_g_join_and_prune() {
    let mut net = rig();
    net.jp_from(0, 2, D1, R_DOWN, 210, vec![set(GA, &[star(RP)], &[])]);
    let jp = net.take_jps(0).remove(0).jp;
    assert_eq!(entries(std::slice::from_ref(&jp)), vec![(GA, RP, U, true)]);
    assert!(jp.groups[0].joins[0].is_star_g(), "S, W and R bits");
    assert_eq!(ds(&net, GA, None, 2).state, DownstreamState::Join);
    assert_eq!(net.fwd(0, RouteKey::star_g(GA)), Some((Some(1), vec![2])));
    net.jp_from(0, 2, D1, R_DOWN, 210, vec![set(GA, &[], &[star(RP)])]);
    assert_eq!(ds(&net, GA, None, 2).state, DownstreamState::PrunePending);
    net.advance(ms(3_000));
    assert!(net.entry(0, GA, None).is_none());
    assert_eq!(net.fwd(0, RouteKey::star_g(GA)), None);
    assert!(!net.nodes[0].watched.contains(&RP));
}

#[test]
fn s4_5_2_star_g_join_with_another_rp_or_in_the_ssm_range_is_dropped() {
    let mut net = rig();
    net.jp_from(0, 2, D1, R_DOWN, 210, vec![set(GA, &[star(RP2)], &[])]);
    net.jp_from(0, 2, D1, R_DOWN, 210, vec![set(G, &[star(RP)], &[])]);
    assert!(net.entry(0, GA, None).is_none());
    assert!(net.entry(0, G, None).is_none());
    let c = net.counters(0);
    assert_eq!(c.ignored.get(ignored::RP_MISMATCH), Some(&1));
    assert_eq!(c.ignored.get(ignored::STAR_G_IN_SSM_RANGE), Some(&1));
    assert!(net.take_jps(0).is_empty());
}

#[test]
fn s4_5_join_prune_acceptance() {
    let mut net = rig();
    // From a router that is not a PIM neighbour.
    net.jp_from(
        0,
        2,
        Ipv4Addr::new(10, 0, 2, 99),
        R_DOWN,
        210,
        vec![set(G, &[sg(S)], &[])],
    );
    // (S,G,rpt) entries: a later part.
    net.jp_from(
        0,
        2,
        D1,
        R_DOWN,
        210,
        vec![set(GA, &[], &[pim::packet::EncodedSource::sg_rpt(S)])],
    );
    // A link-local group.
    net.jp_from(
        0,
        2,
        D1,
        R_DOWN,
        210,
        vec![set(Ipv4Addr::new(224, 0, 0, 5), &[sg(S)], &[])],
    );
    let c = net.counters(0);
    assert_eq!(c.jp_received, 3);
    assert_eq!(c.ignored.get(ignored::NOT_NEIGHBOR), Some(&1));
    assert_eq!(c.ignored.get(ignored::SG_RPT), Some(&1));
    assert_eq!(c.ignored.get(ignored::BAD_GROUP), Some(&1));
    assert!(net.nodes[0].pim.snapshot_at(net.now).tib.groups.is_empty());
}

#[test]
fn s4_5_join_received_on_the_rpf_interface_is_not_forwarded_to() {
    let mut net = rig();
    // P joins (S,G) through R on R's own RPF interface: downstream state, no olist.
    net.jp_from(0, 1, P, R_UP, 210, vec![set(G, &[sg(S)], &[])]);
    assert_eq!(ds(&net, G, Some(S), 1).state, DownstreamState::Join);
    assert_eq!(up(&net, G, Some(S)).state, UpstreamState::NotJoined);
    assert_eq!(net.fwd(0, sg_key()), Some((Some(1), vec![])));
    assert!(net.take_jps(0).is_empty());
}

// -------------------------------------------------------------------------------------
// 4.5.6 / 4.5.7 upstream

#[test]
fn s4_5_7_join_timer_refreshes_every_t_periodic_and_prune_stops_it() {
    let mut net = rig();
    join_sg(&mut net, D1, 0xffff);
    net.take_jps(0);
    net.advance(secs(59));
    assert!(net.take_jps(0).is_empty());
    assert_eq!(up(&net, G, Some(S)).join_timer_ms, Some(1_000));
    net.advance(secs(1));
    let jps = net.take_jps(0);
    assert_eq!(entries(&[jps[0].jp.clone()]), vec![(G, S, U, true)]);
    assert_eq!(jps[0].at, ::common::Instant::from_secs(60));
    assert_eq!(up(&net, G, Some(S)).join_timer_ms, Some(60_000));
    net.advance(secs(120));
    assert_eq!(net.take_jps(0).len(), 2, "at 120 s and 180 s");
    // JoinDesired -> false: Prune, JT cancelled.
    let a = net.jp_from(0, 2, D1, R_DOWN, 210, vec![set(G, &[], &[sg(S)])]);
    assert!(a.is_empty());
    net.advance(ms(3_000));
    let upstream: Vec<_> = net
        .take_jps(0)
        .into_iter()
        .filter(|j| j.ifindex == IfIndex(1))
        .map(|j| j.jp)
        .collect();
    assert_eq!(entries(&upstream), vec![(G, S, U, false)]);
    assert!(net.entry(0, G, Some(S)).is_none());
    assert_eq!(net.nodes[0].pim.snapshot_at(net.now).tib.counters.timers, 0);
}

#[test]
fn s4_5_7_see_join_to_rpf_prime_suppresses() {
    let mut net = rig();
    join_sg(&mut net, D1, 0xffff);
    net.advance(secs(10));
    // P sends Join(S,G) to U (our RPF'), HoldTime 210: JT = t_suppressed in [66, 84] s.
    net.jp_from(0, 1, P, U, 210, vec![set(G, &[sg(S)], &[])]);
    let jt = up(&net, G, Some(S)).join_timer_ms.unwrap();
    assert!((66_000..=84_000).contains(&jt), "{jt}");
    // HoldTime shorter than t_suppressed: t_joinsuppress is the HoldTime.
    let mut net2 = rig();
    join_sg(&mut net2, D1, 0xffff);
    net2.jp_from(0, 1, P, U, 61, vec![set(G, &[sg(S)], &[])]);
    assert_eq!(up(&net2, G, Some(S)).join_timer_ms, Some(61_000));
    // A Join to another neighbour is no reason to suppress.
    let mut net3 = rig();
    join_sg(&mut net3, D1, 0xffff);
    net3.jp_from(0, 1, U, P, 210, vec![set(G, &[sg(S)], &[])]);
    assert_eq!(up(&net3, G, Some(S)).join_timer_ms, Some(60_000));
}

#[test]
fn s4_5_7_suppression_disabled_when_every_router_sets_the_t_bit() {
    let cfg = InterfaceConfig {
        disable_join_suppression: true,
        ..iface_cfg()
    };
    let mut net = rig_with(config(), cfg);
    net.hello_from(0, 1, U, 1, true);
    net.hello_from(0, 1, P, 1, true);
    join_sg(&mut net, D1, 0xffff);
    net.jp_from(0, 1, P, U, 210, vec![set(G, &[sg(S)], &[])]);
    assert_eq!(
        up(&net, G, Some(S)).join_timer_ms,
        Some(60_000),
        "t_suppressed = 0"
    );
}

#[test]
fn s4_5_7_see_prune_to_rpf_prime_overrides() {
    let mut net = rig();
    join_sg(&mut net, D1, 0xffff);
    net.take_jps(0);
    net.advance(secs(10));
    net.jp_from(0, 1, P, U, 210, vec![set(G, &[], &[sg(S)])]);
    let jt = up(&net, G, Some(S)).join_timer_ms.unwrap();
    assert!(
        jt <= 2_500,
        "t_override <= Effective_Override_Interval: {jt}"
    );
    net.advance(ms(jt));
    assert_eq!(
        sent_entries(&mut net),
        vec![(G, S, U, true)],
        "the overriding Join"
    );
    assert_eq!(up(&net, G, Some(S)).join_timer_ms, Some(60_000));
    // 4.5.7: Prune(S,G,rpt) and Prune(*,G) to RPF'(S,G) do the same.
    net.jp_from(
        0,
        1,
        P,
        U,
        210,
        vec![set(G, &[], &[pim::packet::EncodedSource::sg_rpt(S)])],
    );
    assert!(up(&net, G, Some(S)).join_timer_ms.unwrap() <= 2_500);
    net.advance(secs(3));
    net.jp_from(0, 1, P, U, 210, vec![set(G, &[], &[star(RP)])]);
    assert!(up(&net, G, Some(S)).join_timer_ms.unwrap() <= 2_500);
}

#[test]
fn s4_5_6_star_g_upstream_suppression_and_override() {
    let mut net = rig();
    net.exclude(0, 3, GA);
    assert_eq!(sent_entries(&mut net), vec![(GA, RP, U, true)]);
    net.jp_from(0, 1, P, U, 210, vec![set(GA, &[star(RP)], &[])]);
    assert!(up(&net, GA, None).join_timer_ms.unwrap() >= 66_000);
    net.jp_from(0, 1, P, U, 210, vec![set(GA, &[], &[star(RP)])]);
    assert!(up(&net, GA, None).join_timer_ms.unwrap() <= 2_500);
}

#[test]
fn s4_5_7_rpf_prime_change_joins_the_new_and_prunes_the_old() {
    let mut net = rig();
    join_sg(&mut net, D1, 0xffff);
    net.take_jps(0);
    net.advance(secs(20));
    // The route to S moves to the point-to-point link via Q.
    net.route(0, S, 4, Some(Q));
    let jps = net.take_jps(0);
    let mut got: Vec<_> = jps
        .iter()
        .map(|j| (j.ifindex, entries(std::slice::from_ref(&j.jp))))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (IfIndex(1), vec![(G, S, U, false)]),
            (IfIndex(4), vec![(G, S, Q, true)]),
        ]
    );
    assert_eq!(up(&net, G, Some(S)).join_timer_ms, Some(60_000));
    assert_eq!(up(&net, G, Some(S)).rpf_neighbor, Some(Q));
    assert_eq!(net.fwd(0, sg_key()), Some((Some(4), vec![2])));
}

#[test]
fn s4_5_7_rpf_neighbor_genid_change_decreases_jt() {
    let mut net = rig();
    join_sg(&mut net, D1, 0xffff);
    net.advance(secs(1));
    net.hello_from(0, 1, U, 1, false);
    assert_eq!(
        up(&net, G, Some(S)).join_timer_ms,
        Some(59_000),
        "same GenID: nothing"
    );
    net.hello_from(0, 1, U, 2, false);
    assert!(up(&net, G, Some(S)).join_timer_ms.unwrap() <= 2_500);
}

#[test]
fn s4_5_7_rpf_neighbor_loss_and_return() {
    let mut net = rig();
    join_sg(&mut net, D1, 0xffff);
    net.take_jps(0);
    net.goodbye_from(0, 1, U);
    let u = up(&net, G, Some(S));
    assert_eq!(
        (u.state, u.rpf_neighbor, u.join_timer_ms),
        (UpstreamState::Joined, None, None)
    );
    assert!(
        net.take_jps(0).is_empty(),
        "nothing to a neighbour that is gone"
    );
    net.advance(secs(300));
    assert!(net.take_jps(0).is_empty());
    // It comes back: RPF'(S,G) changes from NULL to U: Join at once.
    net.hello_from(0, 1, U, 5, false);
    assert_eq!(sent_entries(&mut net), vec![(G, S, U, true)]);
    assert_eq!(up(&net, G, Some(S)).join_timer_ms, Some(60_000));
}

#[test]
fn s4_5_7_directly_connected_source_no_upstream_join() {
    let mut net = rig();
    net.route(0, S, 1, None);
    net.include(0, 3, G, &[S]);
    let u = up(&net, G, Some(S));
    assert_eq!(
        (u.state, u.rpf_neighbor, u.join_timer_ms),
        (UpstreamState::Joined, None, None)
    );
    assert!(net.take_jps(0).is_empty(), "first hop: no Join");
    assert_eq!(net.fwd(0, sg_key()), Some((Some(1), vec![3])));
}

// -------------------------------------------------------------------------------------
// 4.1.6 local membership, Forward intents, RP and DR changes

#[test]
fn s4_1_6_include_membership_joins_in_the_same_handle_call() {
    let mut net = rig();
    // First membership for S: WatchRpf in this call; the shell's answer (given at once,
    // here by the harness) carries the Join, at the same instant.
    let a = net.include(0, 3, G, &[S]);
    assert!(a.contains(&Action::WatchRpf(S)));
    assert_eq!(sent_entries(&mut net), vec![(G, S, U, true)]);
    assert_eq!(net.fwd(0, sg_key()), Some((Some(1), vec![3])));
    // S is known now: the next group's Join is in the membership call itself.
    let g2 = Ipv4Addr::new(232, 1, 1, 2);
    let a = net.include(0, 3, g2, &[S]);
    assert_eq!(entries(&jps_in(&a)), vec![(g2, S, U, true)]);
    assert!(
        a.iter()
            .any(|x| matches!(x, Action::Forward(f) if f.key == RouteKey::sg(S, g2)))
    );
    // Same for (*,G) once the RP is watched.
    net.exclude(0, 3, GA);
    net.take_jps(0);
    let a = net.exclude(0, 3, GA2);
    assert_eq!(entries(&jps_in(&a)), vec![(GA2, RP, U, true)]);
    // Leaving prunes in the same call.
    let a = net.leave(0, 3, g2);
    assert_eq!(entries(&jps_in(&a)), vec![(g2, S, U, false)]);
    assert!(a.contains(&Action::Unforward(RouteKey::sg(S, g2))));
}

#[test]
fn s4_1_6_ssm_exclude_membership_is_refused_and_no_rp_no_star_g() {
    let mut net = rig();
    net.exclude(0, 3, G);
    assert!(
        net.nodes[0]
            .events
            .iter()
            .any(|(_, e)| e.what == events::SSM_ASM_REFUSED)
    );
    assert!(net.entry(0, G, None).is_none());
    // A group without an RP.
    net.exclude(0, 3, Ipv4Addr::new(238, 1, 1, 1));
    assert!(net.entry(0, Ipv4Addr::new(238, 1, 1, 1), None).is_none());
    assert!(net.take_jps(0).is_empty());
    assert!(net.nodes[0].fwd.is_empty());
}

#[test]
fn s4_1_6_inherited_olist_adds_star_g_oifs_to_sg() {
    let mut net = rig();
    net.exclude(0, 3, GA);
    assert_eq!(net.fwd(0, RouteKey::star_g(GA)), Some((Some(1), vec![3])));
    net.jp_from(0, 2, D1, R_DOWN, 210, vec![set(GA, &[sg(S)], &[])]);
    assert_eq!(net.fwd(0, RouteKey::sg(S, GA)), Some((Some(1), vec![2, 3])));
    // (*,G) olist changes: the (S,G) intent follows.
    net.jp_from(0, 4, Q, R_P2P, 210, vec![set(GA, &[star(RP)], &[])]);
    assert_eq!(
        net.fwd(0, RouteKey::sg(S, GA)),
        Some((Some(1), vec![2, 3, 4]))
    );
    net.leave(0, 3, GA);
    assert_eq!(net.fwd(0, RouteKey::star_g(GA)), Some((Some(1), vec![4])));
    assert_eq!(net.fwd(0, RouteKey::sg(S, GA)), Some((Some(1), vec![2, 4])));
    let e = net.entry(0, GA, Some(S)).unwrap();
    assert_eq!(e.immediate_olist, vec![IfIndex(2)]);
}

#[test]
fn s4_1_6_dr_change_changes_pim_include() {
    let mut net = rig();
    net.include(0, 3, G, &[S]);
    net.take_jps(0);
    // A router with a higher address appears on the receiver LAN: it is DR now.
    net.hello_from(0, 3, Ipv4Addr::new(10, 0, 3, 200), 1, false);
    assert!(!net.nodes[0].pim.is_dr(IfIndex(3)));
    assert_eq!(sent_entries(&mut net), vec![(G, S, U, false)]);
    assert_eq!(net.fwd(0, sg_key()), None);
    let snap = net.nodes[0].pim.snapshot_at(net.now);
    assert_eq!(snap.tib.groups.len(), 1, "the membership is kept");
    // It leaves: DR again, Join again.
    net.goodbye_from(0, 3, Ipv4Addr::new(10, 0, 3, 200));
    assert_eq!(sent_entries(&mut net), vec![(G, S, U, true)]);
    assert_eq!(net.fwd(0, sg_key()), Some((Some(1), vec![3])));
}

#[test]
fn interface_down_removes_downstream_state() {
    let mut net = rig();
    join_sg(&mut net, D1, 210);
    net.take_jps(0);
    let a = net.nodes[0].pim.remove_interface(net.now, IfIndex(2));
    assert!(entries(&jps_in(&a)).contains(&(G, S, U, false)));
    assert!(a.contains(&Action::Unforward(sg_key())));
}

#[test]
fn rpf_unreachable_then_reachable() {
    let mut net = rig();
    let s2 = Ipv4Addr::new(10, 0, 200, 1);
    net.include(0, 3, G, &[s2]);
    // Unknown to the table: unreachable, no Forward, no Join.
    assert_eq!(net.fwd(0, RouteKey::sg(s2, G)), None);
    assert!(net.take_jps(0).is_empty());
    net.route(0, s2, 4, Some(Q));
    assert_eq!(sent_entries(&mut net), vec![(G, s2, Q, true)]);
    assert_eq!(net.fwd(0, RouteKey::sg(s2, G)), Some((Some(4), vec![3])));
}

#[test]
fn config_rp_change_moves_star_g() {
    let mut net = rig();
    net.exclude(0, 3, GA);
    net.take_jps(0);
    let mut c = config();
    c.rps[0].rp = RP2;
    let a = net.nodes[0].pim.set_config(net.now, c);
    // Prune(*,G) for the old RP to U, WatchRpf(RP2), UnwatchRpf(RP).
    assert_eq!(entries(&jps_in(&a)), vec![(GA, RP, U, false)]);
    assert!(a.contains(&Action::WatchRpf(RP2)) && a.contains(&Action::UnwatchRpf(RP)));
    // The shell answers for RP2 (via Q): Join(*,G) to Q.
    let rpf = net.nodes[0].rpf_table[&RP2];
    net.nodes[0].watched.remove(&RP);
    net.nodes[0].watched.insert(RP2);
    let b = ::common::Protocol::handle(&mut net.nodes[0].pim, net.now, ::common::Input::Rpf(rpf));
    assert_eq!(entries(&jps_in(&b)), vec![(GA, RP2, Q, true)]);
    assert!(b.iter().any(|x| matches!(x, Action::Forward(f) if f.key == RouteKey::star_g(GA) && f.iif == Some(IfIndex(4)))));
    let snap = net.nodes[0].pim.snapshot_at(net.now);
    assert_eq!(snap.tib.groups[0].rp, Some(RP2));
    // RP mapping removed: Prune, no more (*,G).
    let c = Config::default();
    let a = net.nodes[0].pim.set_config(net.now, c);
    assert_eq!(entries(&jps_in(&a)), vec![(GA, RP2, Q, false)]);
    assert!(a.contains(&Action::Unforward(RouteKey::star_g(GA))));
    // And back: the member gets (*,G) again.
    let a = net.nodes[0].pim.set_config(net.now, config());
    assert!(a.contains(&Action::WatchRpf(RP)));
}

#[test]
fn rpf_local_rp_forwards_with_no_iif_and_sends_nothing() {
    let mut net = rig();
    net.set_rpf(
        0,
        Rpf {
            target: RP,
            ifindex: None,
            neighbor: None,
            local: true,
        },
    );
    net.exclude(0, 3, GA);
    assert_eq!(net.fwd(0, RouteKey::star_g(GA)), Some((None, vec![3])));
    assert!(net.take_jps(0).is_empty());
    let u = up(&net, GA, None);
    assert!(u.local && u.rpf_neighbor.is_none());
}

#[test]
fn snapshot_serialises() {
    let mut net = rig();
    join_sg(&mut net, D1, 210);
    net.include(0, 3, G, &[S]);
    let snap = net.nodes[0].pim.snapshot_at(net.now);
    let e = &snap.tib.groups[0].sources[0];
    assert_eq!(e.interfaces.len(), 2);
    assert!(e.interfaces.iter().any(|i| i.local_members && i.i_am_dr));
    assert_eq!(snap.tib.counters.jp_sent, 1);
    assert_eq!(snap.tib.counters.joins_sent, 1);
    assert_eq!(snap.tib.rpf_watches, vec![S]);
    let _ = FilterMode::Include;
}
