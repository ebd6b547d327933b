//! Several PIM routers in one process (RFC 7761 4.5): Joins travel hop by hop to the first
//! hop router (SSM) or the RP (ASM), every router ends with the right Forward intent,
//! leaving prunes the branch (at once on point-to-point links, after the Prune-Pending
//! Timer on LANs), an RPF change moves the branch, join suppression and prune override on
//! a LAN (4.5.7), and 2000 groups at once.
//!
//! Router r has address 10.0.N.(r+1) on link N (see `common::net`).

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use ::common::{Action, Instant, Protocol, RouteKey};
use common::net::*;
use pim::DownstreamState;
use pim::config::{Config, RpMapping};

const S: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 100);
const G: Ipv4Addr = Ipv4Addr::new(232, 1, 1, 1);
const GA: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// R1 (0) - R2 (1) - R3 (2): the source S on R1's link 1 (if 1), R1 if 2 - R2 if 1 on link
/// 12, R2 if 2 - R3 if 1 on link 23 (with a bystander R4 (3) there when `lan`), receivers on
/// R3's link 3 (if 2). RP for 239/8: R1's address on link 1.
fn chain(lan: bool) -> Net {
    let config = Config {
        rps: vec![RpMapping {
            group: Ipv4Addr::new(239, 0, 0, 0),
            prefix_len: 8,
            rp: Ipv4Addr::new(10, 0, 1, 1),
        }],
        ..Config::default()
    };
    let mut net = Net::new();
    let r1 = net.router("r1", config.clone());
    let r2 = net.router("r2", config.clone());
    let r3 = net.router("r3", config.clone());
    net.link(1, &[(r1, 1)]);
    net.link(12, &[(r1, 2), (r2, 1)]);
    if lan {
        let r4 = net.router("r4", config);
        net.link(23, &[(r2, 2), (r3, 1), (r4, 1)]);
    } else {
        net.link(23, &[(r2, 2), (r3, 1)]);
    }
    net.link(3, &[(r3, 2)]);
    let rp = net.addr(r1, 1);
    net.route(r1, S, 1, None);
    net.route_local(r1, rp);
    let nh = net.addr(r1, 2);
    net.route(r2, S, 1, Some(nh));
    net.route(r2, rp, 1, Some(nh));
    let nh = net.addr(r2, 2);
    net.route(r3, S, 1, Some(nh));
    net.route(r3, rp, 1, Some(nh));
    net.run_until(Instant::from_secs(1));
    net.clear();
    net
}

#[test]
fn ssm_chain_joins_hop_by_hop_and_leaving_prunes_the_branch_at_once() {
    let mut net = chain(false);
    let t = net.now;
    net.include(2, 2, G, &[S]);
    let key = RouteKey::sg(S, G);
    // Everything at the same instant.
    assert_eq!(net.fwd(2, key), Some((Some(1), vec![2])));
    assert_eq!(net.fwd(1, key), Some((Some(1), vec![2])));
    assert_eq!(
        net.fwd(0, key),
        Some((Some(1), vec![2])),
        "first hop: iif towards S"
    );
    let j3 = net.take_jps(2);
    let j2 = net.take_jps(1);
    assert_eq!(j3.len(), 1);
    assert_eq!(j3[0].jp.upstream_neighbor, net.addr(1, 2));
    assert_eq!(j2.len(), 1);
    assert_eq!(j2[0].jp.upstream_neighbor, net.addr(0, 2));
    assert!(j3[0].at == t && j2[0].at == t);
    assert!(net.take_jps(0).is_empty(), "R1 is the first hop: no Join");
    assert_eq!(net.ds(0, G, Some(S), 2), "join");
    // Steady state: refreshed every 60 s, nothing expires.
    net.advance(secs(600));
    assert_eq!(net.fwd(0, key), Some((Some(1), vec![2])));
    assert_eq!(net.take_jps(2).len(), 10);
    // Leave: point-to-point links prune at once, the whole branch.
    net.leave(2, 2, G);
    for r in 0..3 {
        assert_eq!(net.fwd(r, key), None, "router {r}");
        assert!(net.nodes[r].watched.is_empty());
        assert!(net.nodes[r].pim.poll_at().is_some(), "Hellos still");
        assert!(net.nodes[r].pim.snapshot_at(net.now).tib.groups.is_empty());
    }
}

#[test]
fn ssm_chain_on_a_lan_prunes_after_the_prune_pending_timer() {
    let mut net = chain(true);
    net.include(2, 2, G, &[S]);
    let key = RouteKey::sg(S, G);
    assert_eq!(net.fwd(0, key), Some((Some(1), vec![2])));
    let t = net.now;
    net.leave(2, 2, G);
    assert_eq!(net.fwd(2, key), None);
    // R2 has two neighbours on link 23: Prune-Pending for J/P_Override_Interval = 3 s.
    assert_eq!(net.ds(1, G, Some(S), 2), "prune_pending");
    assert_eq!(net.fwd(1, key), Some((Some(1), vec![2])));
    net.run_until(t + Duration::from_millis(2_999));
    assert_eq!(net.fwd(1, key), Some((Some(1), vec![2])));
    net.run_until(t + secs(3));
    assert_eq!(net.fwd(1, key), None);
    assert_eq!(net.fwd(0, key), None);
    let echo = net
        .take_jps(1)
        .into_iter()
        .find(|j| j.ifindex == ::common::IfIndex(2))
        .expect("PruneEcho on the LAN");
    assert_eq!(echo.jp.upstream_neighbor, net.addr(1, 2));
}

#[test]
fn asm_chain_joins_the_shared_tree_to_the_rp() {
    let mut net = chain(false);
    net.exclude(2, 2, GA);
    let key = RouteKey::star_g(GA);
    assert_eq!(net.fwd(2, key), Some((Some(1), vec![2])));
    assert_eq!(net.fwd(1, key), Some((Some(1), vec![2])));
    assert_eq!(net.fwd(0, key), Some((None, vec![2])), "the RP: no iif");
    let rp = net.addr(0, 1);
    let j = net.take_jps(1);
    assert_eq!(
        j[0].joins(),
        vec![(GA, pim::packet::EncodedSource::star_g(rp))]
    );
    assert!(net.take_jps(0).is_empty());
    net.leave(2, 2, GA);
    for r in 0..3 {
        assert_eq!(net.fwd(r, key), None);
    }
}

/// R1 (0), R2 (1), R3 (2), R4 (3) in a square: R1-R2 (link 12), R2-R3 (link 23), R1-R4
/// (link 14), R4-R3 (link 43); S on R1's link 1; receivers on R3's link 3 (if 2).
#[test]
fn rpf_change_moves_the_join_to_the_new_neighbor_and_prunes_the_old() {
    let mut net = Net::new();
    let c = Config::default();
    let (r1, r2, r3, r4) = (
        net.router("r1", c.clone()),
        net.router("r2", c.clone()),
        net.router("r3", c.clone()),
        net.router("r4", c),
    );
    net.link(1, &[(r1, 1)]);
    net.link(12, &[(r1, 2), (r2, 1)]);
    net.link(23, &[(r2, 2), (r3, 1)]);
    net.link(14, &[(r1, 3), (r4, 1)]);
    net.link(43, &[(r4, 2), (r3, 3)]);
    net.link(3, &[(r3, 2)]);
    net.route(r1, S, 1, None);
    let a = net.addr(r1, 2);
    net.route(r2, S, 1, Some(a));
    let a = net.addr(r1, 3);
    net.route(r4, S, 1, Some(a));
    let a = net.addr(r2, 2);
    net.route(r3, S, 1, Some(a));
    net.run_until(Instant::from_secs(1));
    net.include(r3, 2, G, &[S]);
    let key = RouteKey::sg(S, G);
    assert_eq!(net.fwd(r1, key), Some((Some(1), vec![2])));
    assert_eq!(net.fwd(r4, key), None);
    net.advance(secs(10));
    net.clear();
    let t = net.now;
    let a = net.addr(r4, 2);
    net.route(r3, S, 3, Some(a));
    let sent = net.take_jps(r3);
    assert_eq!(sent.len(), 2);
    let to_new = sent
        .iter()
        .find(|j| j.jp.upstream_neighbor == net.addr(r4, 2))
        .unwrap();
    let to_old = sent
        .iter()
        .find(|j| j.jp.upstream_neighbor == net.addr(r2, 2))
        .unwrap();
    assert_eq!(to_new.joins(), vec![(G, sg(S))]);
    assert_eq!(to_old.prunes(), vec![(G, sg(S))]);
    assert!(to_new.at == t && to_old.at == t);
    assert_eq!(net.fwd(r3, key), Some((Some(3), vec![2])));
    assert_eq!(net.fwd(r4, key), Some((Some(1), vec![2])));
    assert_eq!(
        net.fwd(r2, key),
        None,
        "old branch pruned (point-to-point: at once)"
    );
    assert_eq!(net.fwd(r1, key), Some((Some(1), vec![3])));
}

/// R1 (0) upstream, D1 (1) and D2 (2) downstream on LAN 10; S on R1's link 1; receivers on
/// D1's link 21 and D2's link 22.
fn lan_of_three() -> Net {
    let mut net = Net::new();
    let c = Config::default();
    let (r1, d1, d2) = (
        net.router("r1", c.clone()),
        net.router("d1", c.clone()),
        net.router("d2", c),
    );
    net.link(1, &[(r1, 1)]);
    net.link(10, &[(r1, 2), (d1, 1), (d2, 1)]);
    net.link(21, &[(d1, 2)]);
    net.link(22, &[(d2, 2)]);
    net.route(r1, S, 1, None);
    let a = net.addr(r1, 2);
    net.route(d1, S, 1, Some(a));
    net.route(d2, S, 1, Some(a));
    net.run_until(Instant::from_secs(1));
    net.clear();
    net
}

fn joins_to_r1(net: &Net, r: usize) -> usize {
    net.nodes[r]
        .jps
        .iter()
        .filter(|j| !j.joins().is_empty())
        .count()
}

#[test]
fn lan_join_suppression_and_prune_override() {
    let mut net = lan_of_three();
    net.include(1, 2, G, &[S]);
    net.advance(secs(5));
    net.include(2, 2, G, &[S]);
    let key = RouteKey::sg(S, G);
    assert_eq!(net.fwd(0, key), Some((Some(1), vec![2])));
    net.clear();
    // 20 minutes: without suppression each would send 20 periodic Joins.
    net.advance(secs(1200));
    let (a, b) = (joins_to_r1(&net, 1), joins_to_r1(&net, 2));
    assert!(a + b <= 26, "suppressed: {a} + {b}");
    assert!(a + b >= 17, "still refreshed: {a} + {b}");
    assert!(
        net.nodes[0].fwd_log.is_empty(),
        "R1 never stopped forwarding"
    );
    assert_eq!(net.ds(0, G, Some(S), 2), "join");
    // D1's members leave: D1 prunes; D2 overrides within t_override; R1 keeps forwarding.
    net.clear();
    net.leave(1, 2, G);
    assert_eq!(net.ds(0, G, Some(S), 2), "prune_pending");
    net.advance(secs(10));
    assert_eq!(net.ds(0, G, Some(S), 2), "join");
    assert!(
        !net.nodes[0]
            .fwd_log
            .iter()
            .any(|(_, a)| matches!(a, Action::Unforward(_))),
        "no gap"
    );
    assert_eq!(net.fwd(0, key), Some((Some(1), vec![2])));
    let t_prune = net.nodes[1]
        .jps
        .iter()
        .find(|j| !j.prunes().is_empty())
        .unwrap()
        .at;
    let t_join = net.nodes[2]
        .jps
        .iter()
        .find(|j| !j.joins().is_empty())
        .unwrap()
        .at;
    assert!(t_join >= t_prune && t_join - t_prune <= Duration::from_millis(2_500));
    let e = net.entry(0, G, Some(S)).unwrap();
    assert_eq!(e.interfaces[0].state, DownstreamState::Join);
}

#[test]
fn two_thousand_groups_fit_the_mtu_and_all_join_upstream() {
    let mut net = chain(false);
    let groups: Vec<Ipv4Addr> = (0..2000u32)
        .map(|i| Ipv4Addr::new(232, 10, (i / 250) as u8, (i % 250) as u8 + 1))
        .collect();
    for g in &groups {
        net.include(2, 2, *g, &[S]);
    }
    // One Join per membership change, at once.
    assert_eq!(net.take_jps(2).len(), 2000);
    net.clear();
    // The periodic refresh: all 2000 Join Timers expire together: one batch.
    net.advance(secs(60));
    let sent = net.take_jps(2);
    assert!(
        sent.iter()
            .all(|j| j.len <= pim::MAX_JOIN_PRUNE_LEN && j.at == sent[0].at)
    );
    assert_eq!(pim::MAX_JOIN_PRUNE_LEN, 1480);
    assert_eq!(
        sent.len(),
        2000usize.div_ceil(73),
        "73 group sets of 20 octets per message"
    );
    let mut joined: Vec<Ipv4Addr> = sent
        .iter()
        .flat_map(|j| j.joins())
        .map(|(g, _)| g)
        .collect();
    joined.sort();
    joined.dedup();
    assert_eq!(joined.len(), 2000);
    let r2 = net.take_jps(1);
    assert!(r2.iter().all(|j| j.len <= 1480));
    assert_eq!(r2.len(), 28);
    // Every router has every group, joined downstream.
    let snap = net.nodes[0].pim.snapshot_at(net.now);
    assert_eq!(snap.tib.groups.len(), 2000);
    assert!(
        snap.tib
            .groups
            .iter()
            .all(|g| g.sources[0].interfaces[0].state == DownstreamState::Join)
    );
    assert_eq!(net.nodes[0].fwd.len(), 2000);
    assert_eq!(net.nodes[1].fwd.len(), 2000);
    // Leaving everything prunes everything.
    for g in &groups {
        net.leave(2, 2, *g);
    }
    assert!(net.nodes[0].fwd.is_empty());
}
