//! SPT switchover at last-hop routers (RFC 7761 4.2.2) and (S,G,rpt) state (4.5.4, 4.5.9,
//! 4.1.6 `inherited_olist(S,G,rpt)`, `pim_exclude(S,G)`), in virtual time, on a topology
//! where the RP is not on the shortest path:
//!
//! ```text
//!   S --(1)-- DR --(2)-- A --(3)-- LH --(4)-- receivers
//!                        |
//!                       (5)
//!                        |
//!                        RP
//! ```
//!
//! Router r has address 10.0.N.(r+1) on link N; each router's interfaces are numbered
//! from 1 in the order of the links above.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use ::common::RouteKey;
use ::common::proto::UpcallKind;
use common::net::*;
use pim::config::{Config, RpMapping, SptPolicy};
use pim::packet::EncodedSource;
use pim::{RptDownstreamState, RptUpstreamState};

const S: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 100);
const G: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);
const RP: Ipv4Addr = Ipv4Addr::new(10, 0, 5, 4);
const VIF: u32 = 100;
const DR: usize = 0;
const A: usize = 1;
const LH: usize = 2;
const RPR: usize = 3;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn build(lh_policy: SptPolicy) -> Net {
    let config = |p| Config {
        rps: vec![RpMapping {
            group: Ipv4Addr::new(239, 0, 0, 0),
            prefix_len: 8,
            rp: RP,
        }],
        spt_switchover: p,
        ..Config::default()
    };
    let mut net = Net::new();
    assert_eq!(net.router("dr", config(SptPolicy::Immediate)), DR);
    assert_eq!(net.router("a", config(SptPolicy::Immediate)), A);
    assert_eq!(net.router("lh", config(lh_policy)), LH);
    assert_eq!(net.router("rp", config(SptPolicy::Immediate)), RPR);
    net.link(1, &[(DR, 1)]);
    net.link(2, &[(DR, 2), (A, 1)]);
    net.link(3, &[(A, 2), (LH, 1)]);
    net.link(4, &[(LH, 2)]);
    net.link(5, &[(A, 3), (RPR, 1)]);
    let (dr2, a2, a3, a5, rp5) = (
        net.addr(DR, 2),
        net.addr(A, 1),
        net.addr(A, 2),
        net.addr(A, 3),
        net.addr(RPR, 1),
    );
    assert_eq!(rp5, RP);
    net.route(DR, S, 1, None);
    net.route(DR, RP, 2, Some(a2));
    net.route(A, S, 1, Some(dr2));
    net.route(A, RP, 3, Some(RP));
    net.route(LH, S, 1, Some(a3));
    net.route(LH, RP, 1, Some(a3));
    net.route_local(RPR, RP);
    net.route(RPR, S, 1, Some(a5));
    net.register_vif(DR, Some(VIF));
    net.register_vif(RPR, Some(VIF));
    net
}

/// Receivers on LH's LAN, then the first packet of S: NOCACHE at the DR, registered to
/// the RP, which forwards it down the shared tree; NOCACHE at LH on its RPT interface.
fn start(net: &mut Net) {
    net.exclude(LH, 2, G);
    assert_eq!(net.fwd(A, RouteKey::star_g(G)), Some((Some(3), vec![2])));
    assert_eq!(
        net.fwd(RPR, RouteKey::star_g(G)),
        Some((Some(VIF), vec![1]))
    );
    net.upcall(DR, UpcallKind::NoCache, 1, S, G, &[]);
    net.upcall(DR, UpcallKind::WholePacket, VIF, S, G, &udp(S, G, 100));
    // The RP decapsulates and forwards down the shared tree (towards A).
    assert_eq!(
        net.fwd(RPR, RouteKey::sg(S, G)),
        Some((Some(VIF), vec![1])),
        "the first packets reach the receivers via the RP"
    );
    net.clear();
    net.upcall(LH, UpcallKind::NoCache, 1, S, G, &[]);
}

/// An IPv4/UDP packet from `s` to `g` of `len` octets.
fn udp(s: Ipv4Addr, g: Ipv4Addr, len: usize) -> Vec<u8> {
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

fn events(net: &Net, r: usize, what: &str) -> usize {
    net.nodes[r]
        .events
        .iter()
        .filter(|(_, e)| e.what == what)
        .count()
}

fn sent(net: &Net, r: usize, prune: bool, src: EncodedSource) -> bool {
    net.nodes[r].jps.iter().any(|j| {
        let l = if prune { j.prunes() } else { j.joins() };
        l.contains(&(G, src))
    })
}

fn rpt_ds(net: &Net, r: usize, i: u32) -> Option<RptDownstreamState> {
    let e = net.entry(r, G, Some(S))?;
    e.rpt?
        .interfaces
        .iter()
        .find(|x| x.ifindex.0 == i)
        .map(|x| x.state)
}

#[test]
fn s4_2_2_immediate_switch_joins_the_spt_and_prunes_the_rpt_at_the_divergence() {
    let mut net = build(SptPolicy::Immediate);
    start(&mut net);
    // LH: SwitchToSptDesired on the first packet: (S,G) Join towards A, iif RPF_interface(S).
    assert_eq!(events(&net, LH, pim::events::SPT_SWITCH), 1);
    let lh = net.entry(LH, G, Some(S)).expect("(S,G) at LH");
    assert!(lh.switch_to_spt_desired);
    assert!(lh.keepalive_timer_ms.is_some());
    assert!(sent(&net, LH, false, sg(S)));
    assert_eq!(net.fwd(LH, RouteKey::sg(S, G)), Some((Some(1), vec![2])));
    // A is joined towards the DR (since the RP's own source-tree Join, which reached the
    // source through A: RFC 7761 4.1.6 keeps the iif in inherited_olist(S,G) at the RP);
    // the DR forwards (S,G) natively towards A.
    assert_eq!(
        net.entry(A, G, Some(S)).unwrap().upstream.state,
        pim::UpstreamState::Joined
    );
    // Towards LH (2), and for now also towards the RP (3), until A's Prune(S,G,rpt)
    // empties the RP's inherited_olist(S,G) and the RP prunes its source-tree branch.
    let (iif, oifs) = net.fwd(A, RouteKey::sg(S, G)).unwrap();
    assert_eq!(iif, Some(1));
    assert!(oifs.contains(&2), "{oifs:?}");
    assert!(net.fwd(DR, RouteKey::sg(S, G)).unwrap().1.contains(&2));
    // RPF'(*,G) == RPF'(S,G) at LH: no Prune(S,G,rpt) from it.
    assert!(!sent(&net, LH, true, EncodedSource::sg_rpt(S)));
    assert_eq!(net.counters(LH).spt_switches, 1);
    // Data arrives on the SPT at LH and at A: SPTbit (4.2.2 Update_SPTbit).
    net.mfc_stats(LH, S, G, 10);
    net.mfc_stats(A, S, G, 10);
    assert!(net.entry(LH, G, Some(S)).unwrap().spt_bit);
    assert!(net.entry(A, G, Some(S)).unwrap().spt_bit);
    // A: PruneDesired(S,G,rpt) (SPTbit and RPF'(*,G) = RP != RPF'(S,G) = DR): Prune(S,G,rpt)
    // to the RP.
    assert!(sent(&net, A, true, EncodedSource::sg_rpt(S)));
    assert_eq!(events(&net, A, pim::events::RPT_PRUNE), 1);
    assert_eq!(
        net.entry(A, G, Some(S)).unwrap().rpt.unwrap().upstream,
        RptUpstreamState::Pruned
    );
    // The RP: (S,G,rpt) Prune on its interface to A (one neighbour: no Prune-Pending
    // delay); S's shared-tree traffic no longer goes towards A.
    assert_eq!(rpt_ds(&net, RPR, 1), Some(RptDownstreamState::Prune));
    assert_eq!(net.fwd(RPR, RouteKey::sg(S, G)), Some((Some(VIF), vec![])));
    assert_eq!(net.counters(RPR).rpt_prunes_received, 1);
    // (*,G) still forwards other sources.
    assert_eq!(
        net.fwd(RPR, RouteKey::star_g(G)),
        Some((Some(VIF), vec![1]))
    );
    // 4.5.8: the periodic Join(*,G) from A carries the Prune(S,G,rpt) in the same message;
    // the RP stays pruned (Prune -> PruneTmp -> Prune within the message).
    net.clear();
    for k in 1..=7 {
        net.advance(secs(10));
        net.mfc_stats(A, S, G, 10 + 10 * k);
        net.mfc_stats(LH, S, G, 10 + 10 * k);
    }
    let together = net.nodes[A].jps.iter().any(|j| {
        j.ifindex.0 == 3
            && j.joins().contains(&(G, star(RP)))
            && j.prunes().contains(&(G, EncodedSource::sg_rpt(S)))
    });
    assert!(together, "Join(*,G) and Prune(S,G,rpt) in one message");
    assert_eq!(rpt_ds(&net, RPR, 1), Some(RptDownstreamState::Prune));
    assert_eq!(net.fwd(RPR, RouteKey::sg(S, G)), Some((Some(VIF), vec![])));
}

#[test]
fn s4_5_9_spt_gone_joins_the_rpt_again() {
    let mut net = build(SptPolicy::Immediate);
    start(&mut net);
    net.mfc_stats(LH, S, G, 10);
    net.mfc_stats(A, S, G, 10);
    assert_eq!(net.fwd(RPR, RouteKey::sg(S, G)), Some((Some(VIF), vec![])));
    net.clear();
    // The source stops: KAT(S,G) expires everywhere; A's SPTbit goes, PruneDesired(S,G,rpt)
    // becomes false: Join(S,G,rpt) to the RP (4.5.9 P -> NP).
    net.advance(secs(215));
    assert!(net.entry(LH, G, Some(S)).is_none());
    assert!(sent(&net, A, false, EncodedSource::sg_rpt(S)));
    assert_eq!(rpt_ds(&net, RPR, 1), None);
}

#[test]
fn s4_2_2_never_keeps_the_shared_tree() {
    let mut net = build(SptPolicy::Never);
    start(&mut net);
    for k in 1..=5 {
        net.advance(secs(1));
        net.mfc_stats_bytes(LH, S, G, 1000 * k, 1_000_000 * k);
    }
    assert!(net.entry(LH, G, Some(S)).is_none());
    // A has (S,G) state only for the RP's source-tree Join (the RP's receivers are behind
    // A, which is also its RPF neighbour towards S); LH stays on the shared tree.
    assert_eq!(events(&net, LH, pim::events::SPT_SWITCH), 0);
    assert!(!sent(&net, LH, false, sg(S)));
    assert_eq!(net.fwd(RPR, RouteKey::sg(S, G)), Some((Some(VIF), vec![1])));
}

#[test]
fn s4_2_2_threshold_switches_only_above_the_rate() {
    let mut net = build(SptPolicy::Threshold { kbps: 100 });
    start(&mut net);
    // The NOCACHE upcall alone does not switch.
    assert!(net.entry(LH, G, Some(S)).is_none());
    net.mfc_stats_bytes(LH, S, G, 10, 1_000);
    net.advance(secs(1));
    // 6250 octets in 1 s: 50 kbit/s.
    net.mfc_stats_bytes(LH, S, G, 20, 7_250);
    assert!(net.entry(LH, G, Some(S)).is_none());
    let g = net.nodes[LH].pim.snapshot_at(net.now).tib.groups;
    let rates = &g.iter().find(|x| x.group == G).unwrap().shared_tree_rates;
    assert_eq!(rates.len(), 1);
    assert_eq!((rates[0].source, rates[0].kbps), (S, Some(50)));
    net.advance(secs(1));
    // Exactly 100 kbit/s: not above.
    net.mfc_stats_bytes(LH, S, G, 30, 19_750);
    assert!(net.entry(LH, G, Some(S)).is_none());
    assert!(!sent(&net, LH, false, sg(S)));
    net.advance(secs(1));
    // 25000 octets in 1 s: 200 kbit/s.
    net.mfc_stats_bytes(LH, S, G, 60, 44_750);
    let e = net.entry(LH, G, Some(S)).expect("switched");
    assert!(e.switch_to_spt_desired);
    assert_eq!(e.rate_kbps, Some(200));
    assert!(sent(&net, LH, false, sg(S)));
    assert_eq!(
        net.entry(A, G, Some(S)).unwrap().upstream.state,
        pim::UpstreamState::Joined
    );
    assert_eq!(events(&net, LH, pim::events::SPT_SWITCH), 1);
    // Only data counted after the switch sets SPTbit.
    assert!(!e.spt_bit);
    net.advance(secs(1));
    net.mfc_stats_bytes(LH, S, G, 70, 45_750);
    assert!(net.entry(LH, G, Some(S)).unwrap().spt_bit);
}

#[test]
fn s4_1_6_pim_exclude_prunes_the_source_off_the_shared_tree() {
    let mut net = build(SptPolicy::Never);
    net.member(LH, 2, G, ::common::FilterMode::Exclude, &[S]);
    // LH: (S,G,rpt) with inherited_olist(S,G,rpt) NULL: Prune(S,G,rpt) to A; its (S,G)
    // intent on the shared tree forwards nowhere.
    let lh = net.entry(LH, G, Some(S)).expect("(S,G,rpt) at LH");
    let rpt = lh.rpt.unwrap();
    assert_eq!(
        rpt.pim_exclude.iter().map(|i| i.0).collect::<Vec<_>>(),
        vec![2]
    );
    assert_eq!(rpt.upstream, RptUpstreamState::Pruned);
    assert!(sent(&net, LH, true, EncodedSource::sg_rpt(S)));
    assert_eq!(net.fwd(LH, RouteKey::sg(S, G)), Some((Some(1), vec![])));
    assert_eq!(net.fwd(LH, RouteKey::star_g(G)), Some((Some(1), vec![2])));
    // A: Prune on its interface to LH, its only (*,G) olist interface: it prunes S from
    // the shared tree too.
    assert_eq!(rpt_ds(&net, A, 2), Some(RptDownstreamState::Prune));
    assert_eq!(net.fwd(A, RouteKey::sg(S, G)), Some((Some(3), vec![])));
    assert!(sent(&net, A, true, EncodedSource::sg_rpt(S)));
    assert_eq!(rpt_ds(&net, RPR, 1), Some(RptDownstreamState::Prune));
    // The exclusion ends: Join(S,G,rpt) up the tree, the state goes.
    net.clear();
    net.exclude(LH, 2, G);
    assert!(sent(&net, LH, false, EncodedSource::sg_rpt(S)));
    assert!(sent(&net, A, false, EncodedSource::sg_rpt(S)));
    assert!(net.entry(LH, G, Some(S)).is_none());
    assert!(net.entry(A, G, Some(S)).is_none());
    assert_eq!(rpt_ds(&net, RPR, 1), None);
}
