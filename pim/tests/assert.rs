//! PIM Assert (RFC 7761 section 4.6) in virtual time, on a LAN with two upstream routers:
//!
//! ```text
//!   S --(1)-- R1                R2 --(4)-- S      (S is directly connected to both)
//!              \              /
//!               +----(2)-----+---- V (a virtual neighbour of R2, joined via R2)
//!                     |
//!                     R3 --(3)-- receivers        (R3's RPF to S and RP is R1)
//! ```
//!
//! Router r has address 10.0.N.(r+1) on link N: R1 10.0.2.1, R2 10.0.2.2, R3 10.0.2.3 on
//! the LAN, so with equal metrics R2 (the higher address) wins every assert.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use ::common::RouteKey;
use ::common::proto::UpcallKind;
use common::net::*;
use pim::assert::{AssertMetric, AssertState, MRIB_METRIC, MRIB_PREFERENCE};
use pim::config::{Config, RpMapping};
use pim::packet::{Assert, EncodedGroup, Message};

const S: Ipv4Addr = Ipv4Addr::new(10, 0, 9, 100);
const G_SSM: Ipv4Addr = Ipv4Addr::new(232, 1, 1, 1);
const G_ASM: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);
const RP: Ipv4Addr = Ipv4Addr::new(10, 0, 8, 1);
const V: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 50);
const R1: usize = 0;
const R2: usize = 1;
const R3: usize = 2;
const LAN: u32 = 2;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn r1_lan() -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 2, 1)
}
fn r2_lan() -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 2, 2)
}

/// The topology with R3 joined towards R1 and V towards R2 (for (S,G) if `g` is SSM,
/// for (*,G) otherwise), and data flowing at R1 and R2 (SPTbit set).
fn build(g: Ipv4Addr) -> Net {
    let config = Config {
        rps: vec![RpMapping {
            group: Ipv4Addr::new(239, 0, 0, 0),
            prefix_len: 8,
            rp: RP,
        }],
        ..Config::default()
    };
    let mut net = Net::new();
    assert_eq!(net.router("r1", config.clone()), R1);
    assert_eq!(net.router("r2", config.clone()), R2);
    assert_eq!(net.router("r3", config), R3);
    net.link(1, &[(R1, 1)]);
    net.link(2, &[(R1, 2), (R2, 2), (R3, 1)]);
    net.link(3, &[(R3, 2)]);
    net.link(4, &[(R2, 1)]);
    for r in [R1, R2] {
        net.route(r, S, 1, None);
        net.route(r, RP, 1, None);
    }
    net.route(R3, S, 1, Some(r1_lan()));
    net.route(R3, RP, 1, Some(r1_lan()));
    net.hello_from(R2, LAN, V, 7, false);
    let ssm = g == G_SSM;
    if ssm {
        net.include(R3, 2, g, &[S]);
        net.jp_from(R2, LAN, V, r2_lan(), 0xffff, vec![set(g, &[sg(S)], &[])]);
    } else {
        net.exclude(R3, 2, g);
        net.jp_from(R2, LAN, V, r2_lan(), 0xffff, vec![set(g, &[star(RP)], &[])]);
        // First-hop (S,G) state at both (each is the DR of its source link).
        net.upcall(R1, UpcallKind::NoCache, 1, S, g, &[]);
        net.upcall(R2, UpcallKind::NoCache, 1, S, g, &[]);
    }
    net.advance(secs(1));
    for r in [R1, R2] {
        net.mfc_stats(r, S, g, 10);
        let e = net.entry(r, g, Some(S)).expect("(S,G) entry");
        assert!(e.spt_bit, "{r}: SPTbit");
        assert_eq!(net.fwd(r, RouteKey::sg(S, g)), Some((Some(1), vec![LAN])));
    }
    net.clear();
    net
}

/// Assert state of `r` on its LAN interface (R3's is 1).
fn assert_state(
    net: &Net,
    r: usize,
    g: Ipv4Addr,
    s: Option<Ipv4Addr>,
) -> Option<(AssertState, Ipv4Addr)> {
    let e = net.entry(r, g, s)?;
    let lan = if r == R3 { 1 } else { LAN };
    e.asserts
        .iter()
        .find(|a| a.ifindex.0 == lan)
        .map(|a| (a.state, a.winner))
}

/// Advance in steps of 30 s, the kernel's counters of (S,G) growing at R1 and R2 (data
/// keeps arriving from S at both: KAT(S,G) keeps running).
fn advance_with_data(net: &mut Net, g: Ipv4Addr, until: ::common::Instant) {
    while net.now < until {
        let next = (net.now + secs(30)).min(until);
        net.run_until(next);
        let n = 10 + net.now.since_epoch().as_secs();
        for r in [R1, R2] {
            if net.nodes[r].alive {
                net.mfc_stats(r, S, g, n);
            }
        }
    }
}

fn events(net: &Net, r: usize, what: &str) -> usize {
    net.nodes[r]
        .events
        .iter()
        .filter(|(_, e)| e.what == what)
        .count()
}

/// Both forward onto the LAN: the kernel's WRONGVIF upcalls start the assert.
fn both_forward(net: &mut Net, g: Ipv4Addr) {
    net.upcall(R1, UpcallKind::WrongVif, LAN, S, g, &[]);
    net.upcall(R2, UpcallKind::WrongVif, LAN, S, g, &[]);
}

#[test]
fn s4_6_1_lan_two_upstream_routers_one_winner() {
    let mut net = build(G_SSM);
    both_forward(&mut net, G_SSM);
    // R1 asserted first, R2's metric is better (higher address): R2 wins, R1 loses.
    assert_eq!(
        assert_state(&net, R2, G_SSM, Some(S)),
        Some((AssertState::Winner, r2_lan()))
    );
    assert_eq!(
        assert_state(&net, R1, G_SSM, Some(S)),
        Some((AssertState::Loser, r2_lan()))
    );
    assert_eq!(events(&net, R2, "pim_assert_win"), 1);
    assert!(events(&net, R1, "pim_assert_lose") >= 1);
    // Asserts: to 224.0.0.13 TTL 1 (checked by the simulator), spt_assert_metric.
    let (_, i, a) = net.nodes[R2].asserts[0];
    assert_eq!(i.0, LAN);
    assert_eq!(
        (a.source, a.rpt, a.metric_preference, a.metric),
        (S, false, MRIB_PREFERENCE, MRIB_METRIC)
    );
    // Only the winner forwards onto the LAN.
    assert_eq!(net.fwd(R1, RouteKey::sg(S, G_SSM)), Some((Some(1), vec![])));
    assert_eq!(
        net.fwd(R2, RouteKey::sg(S, G_SSM)),
        Some((Some(1), vec![LAN]))
    );
    let snap = net.entry(R1, G_SSM, Some(S)).unwrap();
    let a1 = &snap.asserts[0];
    assert_eq!(a1.winner_metric, AssertMetric::spt(r2_lan()));
    assert_eq!(a1.assert_timer_ms, Some(180_000));
    // R3 tracks the assert on its RPF interface: RPF'(S,G) is the winner; its Join goes
    // there within t_override (4.5.7 "RPF'(S,G) changes due to an Assert").
    assert_eq!(
        assert_state(&net, R3, G_SSM, Some(S)),
        Some((AssertState::Loser, r2_lan()))
    );
    assert_eq!(
        net.entry(R3, G_SSM, Some(S)).unwrap().upstream.rpf_neighbor,
        Some(r2_lan())
    );
    assert!(net.take_jps(R3).is_empty(), "no Join at once");
    net.advance(secs(3));
    let jps = net.take_jps(R3);
    assert_eq!(jps.len(), 1);
    assert_eq!(jps[0].jp.upstream_neighbor, r2_lan());
    assert_eq!(jps[0].joins(), vec![(G_SSM, sg(S))]);
    assert_eq!(net.ds(R2, G_SSM, Some(S), LAN), "join");
    // The winner refreshes its Assert every Assert_Time - Assert_Override_Interval; the
    // loser and R3 keep the winner.
    let t0 = net.nodes[R2].asserts[0].0;
    net.clear();
    advance_with_data(&mut net, G_SSM, t0 + secs(176));
    assert!(net.nodes[R2].asserts.is_empty());
    advance_with_data(&mut net, G_SSM, t0 + secs(177));
    assert_eq!(net.nodes[R2].asserts.len(), 1, "refresh at 177 s");
    assert_eq!(net.nodes[R2].asserts[0].0, t0 + secs(177));
    assert_eq!(
        net.entry(R3, G_SSM, Some(S)).unwrap().asserts[0].assert_timer_ms,
        Some(180_000),
        "R3 restarted its Assert Timer"
    );
    assert_eq!(
        assert_state(&net, R3, G_SSM, Some(S)),
        Some((AssertState::Loser, r2_lan()))
    );
    let t1 = net.now + secs(177);
    advance_with_data(&mut net, G_SSM, t1);
    assert_eq!(
        net.nodes[R2].asserts.len(),
        2,
        "{:?} {:?} {:?}",
        net.nodes[R2].asserts,
        net.nodes[R1].events,
        net.nodes[R1].asserts
    );
    assert_eq!(
        assert_state(&net, R3, G_SSM, Some(S)),
        Some((AssertState::Loser, r2_lan()))
    );
    let c = net.counters(R2);
    assert!(c.asserts_sent >= 3 && c.assert_wins == 1);
}

#[test]
fn s4_6_1_loser_forwards_again_when_the_winner_dies() {
    let mut net = build(G_SSM);
    both_forward(&mut net, G_SSM);
    net.advance(secs(3));
    assert_eq!(net.fwd(R1, RouteKey::sg(S, G_SSM)), Some((Some(1), vec![])));
    net.nodes[R2].alive = false;
    net.clear();
    // R2's Neighbor Liveness Timer expires (Hello Holdtime 105 s) at R1 and R3: R1 goes
    // back to NoInfo and forwards; R3's RPF'(S,G) is R1 again and it joins R1.
    net.advance(secs(106));
    assert_eq!(assert_state(&net, R1, G_SSM, Some(S)), None);
    assert_eq!(assert_state(&net, R3, G_SSM, Some(S)), None);
    assert_eq!(
        net.fwd(R1, RouteKey::sg(S, G_SSM)),
        Some((Some(1), vec![LAN]))
    );
    assert_eq!(
        net.entry(R3, G_SSM, Some(S)).unwrap().upstream.rpf_neighbor,
        Some(r1_lan())
    );
    let jps = net.take_jps(R3);
    assert!(
        jps.iter()
            .any(|j| j.jp.upstream_neighbor == r1_lan() && j.joins() == vec![(G_SSM, sg(S))]),
        "{jps:?}"
    );
}

/// An Assert from a virtual router W with a better metric, never refreshed.
/// The Assert reaches R1 and R3 (R2 is not on the LAN in these tests' view).
fn virtual_winner(net: &mut Net, g: Ipv4Addr, metric: u32) -> Ipv4Addr {
    let w = Ipv4Addr::new(10, 0, 2, 60);
    let msg = Message::Assert(Assert {
        group: EncodedGroup::new(g),
        source: S,
        rpt: false,
        metric_preference: MRIB_PREFERENCE,
        metric,
    });
    for (r, i) in [(R1, LAN), (R3, 1)] {
        net.hello_from(r, i, w, 9, false);
        net.inject(r, i, w, &msg);
    }
    w
}

#[test]
fn s4_6_1_loser_timer_expiry_and_assert_cancel() {
    let mut net = build(G_SSM);
    // R1 and a virtual router W on the LAN; R2 is silent.
    net.nodes[R2].alive = false;
    // A better metric wins even from a lower address.
    let w = virtual_winner(&mut net, G_SSM, 10);
    assert_eq!(
        assert_state(&net, R1, G_SSM, Some(S)),
        Some((AssertState::Loser, w))
    );
    assert_eq!(net.fwd(R1, RouteKey::sg(S, G_SSM)), Some((Some(1), vec![])));
    net.advance(secs(60));
    net.mfc_stats(R1, S, G_SSM, 20);
    net.advance(secs(119));
    assert_eq!(net.fwd(R1, RouteKey::sg(S, G_SSM)), Some((Some(1), vec![])));
    // Assert Timer expiry: NoInfo, forwarding again.
    net.advance(secs(2));
    assert_eq!(assert_state(&net, R1, G_SSM, Some(S)), None);
    assert_eq!(
        net.fwd(R1, RouteKey::sg(S, G_SSM)),
        Some((Some(1), vec![LAN]))
    );

    // Lose again, then the winner cancels (AssertCancel, 4.6.6): NoInfo at once.
    virtual_winner(&mut net, G_SSM, 10);
    assert_eq!(net.fwd(R1, RouteKey::sg(S, G_SSM)), Some((Some(1), vec![])));
    let inf = AssertMetric::infinite();
    let cancel = Message::Assert(Assert {
        group: EncodedGroup::new(G_SSM),
        source: S,
        rpt: true,
        metric_preference: inf.preference,
        metric: inf.metric,
    });
    net.inject(R1, LAN, w, &cancel);
    net.inject(R3, 1, w, &cancel);
    assert_eq!(assert_state(&net, R1, G_SSM, Some(S)), None);
    assert_eq!(
        net.fwd(R1, RouteKey::sg(S, G_SSM)),
        Some((Some(1), vec![LAN]))
    );

    // R1 wins against an inferior virtual router; when its receivers leave, CouldAssert
    // goes FALSE and it sends an AssertCancel.
    net.clear();
    virtual_winner(&mut net, G_SSM, 5000);
    assert_eq!(
        assert_state(&net, R1, G_SSM, Some(S)),
        Some((AssertState::Winner, r1_lan()))
    );
    assert_eq!(net.nodes[R1].asserts.len(), 1);
    net.leave(R3, 2, G_SSM);
    net.advance(secs(5));
    assert_eq!(assert_state(&net, R1, G_SSM, Some(S)), None);
    let last = net.nodes[R1].asserts.last().unwrap().2;
    assert!(
        last.rpt && last.metric == u32::MAX,
        "AssertCancel: {last:?}"
    );
    assert_eq!(net.counters(R1).assert_cancels_sent, 1);
}

#[test]
fn s4_6_1_assert_from_a_non_neighbor_is_ignored() {
    let mut net = build(G_SSM);
    net.inject(
        R1,
        LAN,
        Ipv4Addr::new(10, 0, 2, 99),
        &Message::Assert(Assert {
            group: EncodedGroup::new(G_SSM),
            source: S,
            rpt: false,
            metric_preference: 1,
            metric: 1,
        }),
    );
    assert_eq!(assert_state(&net, R1, G_SSM, Some(S)), None);
    assert_eq!(
        net.fwd(R1, RouteKey::sg(S, G_SSM)),
        Some((Some(1), vec![LAN]))
    );
}

#[test]
fn s4_6_1_sg_assert_on_an_oif_inherited_from_star_g() {
    let mut net = build(G_ASM);
    // The LAN is in R1's and R2's (S,G) olist only through their (*,G) Joins.
    for r in [R1, R2] {
        let e = net.entry(r, G_ASM, Some(S)).unwrap();
        assert!(!e.immediate_olist.iter().any(|i| i.0 == LAN));
    }
    both_forward(&mut net, G_ASM);
    assert_eq!(
        assert_state(&net, R2, G_ASM, Some(S)),
        Some((AssertState::Winner, r2_lan()))
    );
    assert_eq!(
        assert_state(&net, R1, G_ASM, Some(S)),
        Some((AssertState::Loser, r2_lan()))
    );
    // lost_assert(S,G,rpt,I) takes the LAN out of R1's inherited_olist(S,G,rpt): only R2
    // forwards S; the shared tree of other sources is untouched.
    assert_eq!(net.fwd(R1, RouteKey::sg(S, G_ASM)), Some((Some(1), vec![])));
    assert_eq!(
        net.fwd(R2, RouteKey::sg(S, G_ASM)),
        Some((Some(1), vec![LAN]))
    );
    assert_eq!(
        net.fwd(R1, RouteKey::star_g(G_ASM)),
        Some((Some(1), vec![LAN]))
    );
    // R3 (on the shared tree, RPF_interface(RP(G)) == LAN) tracks the (S,G) assert.
    assert_eq!(
        assert_state(&net, R3, G_ASM, Some(S)),
        Some((AssertState::Loser, r2_lan()))
    );
}

#[test]
fn s4_6_2_star_g_assert_on_the_shared_tree() {
    let mut net = build(G_ASM);
    // A source without (S,G) state at R1 and R2 (no SPTbit): CouldAssert(S2,G,I) is FALSE,
    // CouldAssert(*,G,I) TRUE: a (*,G) assert with rpt_assert_metric.
    let s2 = Ipv4Addr::new(10, 0, 7, 7);
    net.upcall(R1, UpcallKind::WrongVif, LAN, s2, G_ASM, &[]);
    net.upcall(R2, UpcallKind::WrongVif, LAN, s2, G_ASM, &[]);
    assert_eq!(
        assert_state(&net, R2, G_ASM, None),
        Some((AssertState::Winner, r2_lan()))
    );
    assert_eq!(
        assert_state(&net, R1, G_ASM, None),
        Some((AssertState::Loser, r2_lan()))
    );
    let (_, _, a) = net.nodes[R2].asserts[0];
    assert!(a.rpt && a.source.is_unspecified());
    // lost_assert(*,G,I): R1 no longer forwards the shared tree onto the LAN.
    assert_eq!(
        net.fwd(R1, RouteKey::star_g(G_ASM)),
        Some((Some(1), vec![]))
    );
    assert_eq!(
        net.fwd(R2, RouteKey::star_g(G_ASM)),
        Some((Some(1), vec![LAN]))
    );
    // R3 tracks it: RPF'(*,G) is R2, the next Join(*,G) goes there.
    assert_eq!(
        assert_state(&net, R3, G_ASM, None),
        Some((AssertState::Loser, r2_lan()))
    );
    net.take_jps(R3);
    net.advance(secs(3));
    let jps = net.take_jps(R3);
    assert!(
        jps.iter()
            .any(|j| j.jp.upstream_neighbor == r2_lan() && j.joins().contains(&(G_ASM, star(RP)))),
        "{jps:?}"
    );
    // The (S,G) assert of S (SPTbit set at both) is separate: an (S,G) Assert beats any
    // (*,G) one.
    both_forward(&mut net, G_ASM);
    assert_eq!(
        assert_state(&net, R2, G_ASM, Some(S)),
        Some((AssertState::Winner, r2_lan()))
    );
}
