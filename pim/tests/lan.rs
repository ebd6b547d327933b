//! Three PIM routers on one simulated LAN in virtual time (RFC 7761 4.3.1, 4.3.2): every
//! Hello one sends is received by the others. They discover each other, agree on the DR,
//! re-elect when the DR dies (after the Holdtime) or says goodbye (at once), and relearn a
//! restarted router quickly thanks to triggered Hellos.

mod common;

use std::net::Ipv4Addr;

use common::*;
use pim::config::InterfaceConfig;
use pim::events;

const R1: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const R2: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const R3: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);

fn prio(p: u32) -> InterfaceConfig {
    InterfaceConfig {
        dr_priority: p,
        ..cfg()
    }
}

/// R2 has the highest priority, R1 and R3 the default.
fn lan() -> Lan {
    let mut lan = Lan::new(&[(R1, prio(1)), (R2, prio(10)), (R3, prio(1))]);
    // First Hellos within Triggered_Hello_Delay, answers within another.
    lan.run_until(at(10_000));
    lan
}

fn others(i: usize) -> Vec<Ipv4Addr> {
    [R1, R2, R3]
        .into_iter()
        .enumerate()
        .filter(|&(j, _)| j != i)
        .map(|(_, a)| a)
        .collect()
}

#[test]
fn lan_routers_discover_each_other_and_agree_on_the_dr() {
    let lan = lan();
    for i in 0..3 {
        assert_eq!(lan.neighbor_addrs(i), others(i), "router {i}");
        assert_eq!(lan.events(i, events::NEIGHBOR_UP).len(), 2);
        assert_eq!(lan.dr(i), Some(R2), "router {i}: highest priority");
        assert_eq!(lan.routers[i].pim.is_dr(IF1), i == 1);
        // Each learned the others' options.
        for n in lan.routers[i].pim.neighbors(IF1) {
            assert_eq!(n.holdtime_s, 105);
            assert_eq!(n.dr_priority, Some(if n.address == R2 { 10 } else { 1 }));
            assert!(n.lan_prune_delay);
        }
    }
    // Each router sent its first Hello within Triggered_Hello_Delay and at most one
    // triggered Hello per new neighbour (usually fewer: triggers coalesce).
    for r in &lan.routers {
        let times: Vec<_> = r.log.sent.iter().map(|p| p.at).collect();
        assert!(times[0] <= at(5_000), "{times:?}");
        assert!((1..=3).contains(&times.len()), "{times:?}");
    }
}

#[test]
fn lan_same_priority_elects_the_highest_address() {
    let mut lan = Lan::new(&[(R1, prio(3)), (R2, prio(3)), (R3, prio(3))]);
    lan.run_until(at(10_000));
    for i in 0..3 {
        assert_eq!(lan.dr(i), Some(R3));
    }
}

#[test]
fn lan_dead_dr_is_replaced_after_the_holdtime() {
    let mut lan = lan();
    lan.run_until(at(60_000));
    lan.kill(1);
    // The last Hello R2 sent before it died.
    let last = lan.routers[1].log.sent.last().expect("R2 sent Hellos").at;
    let expiry = last + secs(105);
    lan.run_until(last + ms(104_999));
    for i in [0, 2] {
        assert_eq!(lan.dr(i), Some(R2), "router {i} still trusts R2");
    }
    lan.run_until(expiry);
    for i in [0, 2] {
        assert_eq!(
            lan.neighbor_addrs(i),
            others(i)
                .into_iter()
                .filter(|&a| a != R2)
                .collect::<Vec<_>>()
        );
        assert_eq!(
            lan.dr(i),
            Some(R3),
            "router {i}: next highest (same priority, higher address)"
        );
        let downs = lan.events(i, events::NEIGHBOR_DOWN);
        assert_eq!(downs.len(), 1);
        assert_eq!(downs[0].0, expiry);
        assert!(downs[0].1.ends_with("holdtime expired"));
        let changes = lan.events(i, events::DR_CHANGE);
        assert_eq!(changes.last().unwrap().0, expiry);
    }
    assert!(lan.routers[2].pim.is_dr(IF1));
    assert!(!lan.routers[0].pim.is_dr(IF1));
    // The survivors stay neighbours.
    lan.run_until(at(600_000));
    assert_eq!(lan.neighbor_addrs(0), vec![R3]);
    assert_eq!(lan.neighbor_addrs(2), vec![R1]);
}

#[test]
fn lan_dr_goodbye_re_elects_at_once() {
    let mut lan = lan();
    lan.run_until(at(60_000));
    lan.goodbye(1);
    for i in [0, 2] {
        assert_eq!(lan.dr(i), Some(R3), "router {i}");
        let downs = lan.events(i, events::NEIGHBOR_DOWN);
        assert_eq!(downs.len(), 1);
        assert_eq!(downs[0].0, at(60_000));
        assert!(downs[0].1.ends_with("goodbye"));
        assert_eq!(
            lan.events(i, events::DR_CHANGE).last().unwrap().0,
            at(60_000)
        );
    }
    // R2's last packet was the Goodbye: Holdtime 0.
    assert_eq!(lan.routers[1].log.sent.last().unwrap().holdtime(), Some(0));
}

#[test]
fn lan_restarted_router_is_relearned_within_triggered_hello_delay() {
    let mut lan = lan();
    lan.run_until(at(40_000));
    // R1 restarts (a new instance: new Generation ID), and hears the others' periodic
    // Hellos only every 30 s; their triggered Hellos answer it sooner.
    let t = at(40_000);
    let mut pim = pim::Pim::new(Default::default(), 99);
    let mut a = pim.configure_interface(t, IF1, prio(1));
    a.extend(::common::Protocol::handle(
        &mut pim,
        t,
        ::common::Input::Interface(::common::InterfaceChange::Up {
            ifindex: IF1,
            name: "lan".into(),
            addr: R1,
            prefix_len: 24,
        }),
    ));
    assert!(a.is_empty());
    lan.routers[0].pim = pim;
    lan.routers[0].log = Log::default();
    // Its first Hello within Triggered_Hello_Delay, their answers within another.
    lan.run_until(t + secs(10));
    assert_eq!(lan.neighbor_addrs(0), vec![R2, R3]);
    for i in [1, 2] {
        assert_eq!(
            lan.events(i, events::NEIGHBOR_RESTART).len(),
            1,
            "router {i}"
        );
        assert_eq!(lan.neighbor_addrs(i), others(i));
    }
    assert_eq!(lan.dr(0), Some(R2));
}
