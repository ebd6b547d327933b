//! RFC 7761 sections 4.3.1 and 4.9.2 (receiving Hellos: neighbours, the Neighbor Liveness
//! Timer, Holdtime 0 and 0xffff, Generation ID changes) and 4.3.4 (secondary addresses).

mod common;

use std::net::Ipv4Addr;

use ::common::{IfIndex, Input, InterfaceChange, Protocol, RxPacket};
use common::*;
use pim::events;

#[test]
fn s4_3_1_hello_creates_a_neighbor_with_its_options() {
    let mut h = Harness::started(cfg());
    h.advance_to(at(10_000));
    h.rx_hello(
        nbr(2),
        &hello(0x1234_5678)
            .dr_priority(3)
            .lan_prune_delay(true, 600, 2_000),
    );
    let ev = h.take_events();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].1.what, events::NEIGHBOR_UP);
    assert!(ev[0].1.detail.contains("10.0.0.2"));
    // 10.0.0.2 is above our 10.0.0.1.
    assert_eq!(ev[1].1.what, events::DR_CHANGE);
    let n = h.neighbor(nbr(2)).expect("neighbour");
    assert_eq!(n.generation_id, Some(0x1234_5678));
    assert_eq!(n.dr_priority, Some(3));
    assert_eq!(n.holdtime_s, 105);
    assert_eq!(n.expires_ms, Some(105_000));
    assert_eq!(n.uptime_ms, 0);
    assert!(n.lan_prune_delay);
    assert_eq!(n.propagation_delay_ms, Some(600));
    assert_eq!(n.override_interval_ms, Some(2_000));
    assert_eq!(n.t_bit, Some(true));
    assert!(n.secondary_addresses.is_empty());
    assert_eq!(h.received("hello"), 1);
    assert!(h.pim.is_neighbor(IF1, nbr(2)));
    assert!(!h.pim.is_neighbor(IF1, nbr(3)));
    h.advance(secs(5));
    let n = h.neighbor(nbr(2)).unwrap();
    assert_eq!((n.uptime_ms, n.expires_ms), (5_000, Some(100_000)));
    // `neighbors` reports relative to the latest time the router has seen.
    assert!(h.pim.on_timeout(h.now).is_empty());
    assert_eq!(h.pim.neighbors(IF1), vec![n]);
}

#[test]
fn s4_3_1_liveness_timer_expires_at_exactly_the_holdtime() {
    let mut h = Harness::started(cfg());
    h.advance_to(at(10_000));
    h.rx_hello(nbr(2), &hello(1).holdtime(30));
    h.clear();
    h.advance_to(at(39_999));
    assert!(h.neighbor(nbr(2)).is_some());
    assert_eq!(h.neighbor(nbr(2)).unwrap().expires_ms, Some(1));
    h.advance_to(at(40_000));
    assert!(h.neighbor(nbr(2)).is_none());
    let ev = h.take_events();
    assert_eq!(ev.len(), 2);
    assert_eq!((ev[0].0, ev[1].0), (at(40_000), at(40_000)));
    assert_eq!(ev[0].1.what, events::NEIGHBOR_DOWN);
    assert_eq!(ev[1].1.what, events::DR_CHANGE);
    assert_eq!(h.dr(), Some(ROUTER));
    assert!(
        ev[0].1.detail.ends_with("holdtime expired"),
        "{}",
        ev[0].1.detail
    );
}

#[test]
fn s4_3_1_each_hello_restarts_the_liveness_timer() {
    let mut h = Harness::started(cfg());
    h.advance_to(at(10_000));
    h.rx_hello(nbr(2), &hello(1));
    h.advance_to(at(70_000));
    h.rx_hello(nbr(2), &hello(1));
    let n = h.neighbor(nbr(2)).unwrap();
    assert_eq!(n.expires_ms, Some(105_000));
    assert_eq!(n.uptime_ms, 60_000, "a refresh is not a new neighbour");
    // A shorter Holdtime in a later Hello applies from then on.
    h.rx_hello(nbr(2), &hello(1).holdtime(10));
    assert_eq!(h.neighbor(nbr(2)).unwrap().expires_ms, Some(10_000));
    h.advance_to(at(79_999));
    assert!(h.neighbor(nbr(2)).is_some());
    h.advance_to(at(80_000));
    assert!(h.neighbor(nbr(2)).is_none());
    let kinds = h.take_event_kinds();
    assert_eq!(
        kinds,
        vec![
            events::NEIGHBOR_UP,
            events::DR_CHANGE,
            events::NEIGHBOR_DOWN,
            events::DR_CHANGE
        ]
    );
}

#[test]
fn s4_9_2_absent_holdtime_means_default_hello_holdtime() {
    let mut h = Harness::started(cfg());
    let t = h.now;
    h.rx_hello(nbr(2), &bare_hello().genid(9));
    let n = h.neighbor(nbr(2)).unwrap();
    assert_eq!((n.holdtime_s, n.expires_ms), (105, Some(105_000)));
    assert_eq!(n.dr_priority, None);
    assert!(!n.lan_prune_delay);
    h.advance_to(t + ms(104_999));
    assert!(h.neighbor(nbr(2)).is_some());
    h.advance(ms(1));
    assert!(h.neighbor(nbr(2)).is_none());
    // A Hello without any option at all is a neighbour too.
    h.rx_hello(nbr(3), &bare_hello());
    let n = h.neighbor(nbr(3)).unwrap();
    assert_eq!((n.generation_id, n.holdtime_s), (None, 105));
}

#[test]
fn s4_9_2_holdtime_0_removes_the_neighbor_at_once() {
    let mut h = Harness::started(cfg());
    h.rx_hello(nbr(2), &hello(1));
    h.rx_hello(nbr(3), &hello(1));
    h.advance(secs(6)); // past the triggered Hello
    h.clear();
    h.rx_hello(nbr(3), &hello(1).holdtime(0));
    assert_eq!(h.neighbor_addrs(), vec![nbr(2)]);
    let ev = h.take_events();
    assert_eq!(ev[0].1.what, events::NEIGHBOR_DOWN);
    assert!(ev[0].1.detail.ends_with("goodbye"), "{}", ev[0].1.detail);
    // The DR was 10.0.0.3: re-elected at once.
    assert_eq!(ev[1].1.what, events::DR_CHANGE);
    assert_eq!(h.dr(), Some(nbr(2)));
    // A goodbye from a router that is no neighbour changes nothing (and greets nobody).
    h.rx_hello(nbr(4), &hello(1).holdtime(0));
    assert!(h.take_events().is_empty());
    assert_eq!(h.neighbor_addrs(), vec![nbr(2)]);
    assert_eq!(h.iface().triggered_hello_ms, None);
    assert_eq!(h.received("hello"), 4);
}

#[test]
fn s4_9_2_holdtime_ffff_never_expires() {
    let mut h = Harness::started(cfg());
    h.rx_hello(nbr(2), &hello(1).holdtime(0xffff));
    let n = h.neighbor(nbr(2)).unwrap();
    assert_eq!((n.holdtime_s, n.expires_ms), (0xffff, None));
    h.advance(secs(10 * 24 * 3600));
    assert!(h.neighbor(nbr(2)).is_some());
    // Only the Hello Timer is pending.
    assert_eq!(
        h.pim.poll_at(),
        Some(h.now + ms(h.iface().hello_timer_ms.unwrap()))
    );
    // It still goes away with a goodbye.
    h.rx_hello(nbr(2), &hello(1).holdtime(0));
    assert!(h.neighbor(nbr(2)).is_none());
}

#[test]
fn s4_3_1_genid_change_is_a_restart_with_a_triggered_hello() {
    let mut h = Harness::started(cfg());
    h.rx_hello(nbr(2), &hello(100).dr_priority(5).addresses(&[nbr(102)]));
    h.advance(secs(40));
    h.clear();
    assert_eq!(h.iface().triggered_hello_ms, None);
    // The same GenID: a refresh, no trigger.
    h.rx_hello(nbr(2), &hello(100).dr_priority(5).addresses(&[nbr(102)]));
    assert!(h.take_events().is_empty());
    assert_eq!(h.iface().triggered_hello_ms, None);
    h.advance(secs(1));
    // A new GenID: the neighbour restarted. Its old information is discarded (here: DR
    // Priority and secondary addresses), its uptime starts again, and it gets a Hello
    // within Triggered_Hello_Delay.
    h.rx_hello(nbr(2), &hello(101));
    let ev = h.take_events();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].1.what, events::NEIGHBOR_RESTART);
    let n = h.neighbor(nbr(2)).unwrap();
    assert_eq!(n.generation_id, Some(101));
    assert_eq!(n.dr_priority, Some(1));
    assert!(n.secondary_addresses.is_empty());
    assert_eq!(n.uptime_ms, 0);
    let d = h.iface().triggered_hello_ms.expect("triggered Hello");
    assert!(d <= 5_000);
    let ht = h.iface().hello_timer_ms.unwrap();
    let t = h.now;
    h.advance(ms(d));
    if d < ht {
        let sent = h.take_sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].at, t + ms(d));
    }
    // A Hello without the GenID option keeps the neighbour and its GenID.
    h.rx_hello(nbr(2), &hello(0).no_genid());
    assert!(h.take_events().is_empty());
    assert_eq!(h.neighbor(nbr(2)).unwrap().generation_id, Some(101));
}

#[test]
fn s4_3_1_genid_appearing_is_a_restart() {
    let mut h = Harness::started(cfg());
    h.rx_hello(nbr(2), &bare_hello());
    h.clear();
    h.rx_hello(nbr(2), &bare_hello().genid(5));
    assert_eq!(h.take_event_kinds(), vec![events::NEIGHBOR_RESTART]);
    assert!(h.iface().triggered_hello_ms.is_some());
}

#[test]
fn s4_3_3_options_follow_the_latest_hello() {
    let mut h = Harness::started(cfg());
    h.rx_hello(nbr(2), &hello(1).dr_priority(9));
    let n = h.neighbor(nbr(2)).unwrap();
    assert_eq!((n.dr_priority, n.lan_prune_delay), (Some(9), true));
    h.rx_hello(nbr(2), &hello(1).no_dr_priority().no_lan_prune_delay());
    let n = h.neighbor(nbr(2)).unwrap();
    assert_eq!((n.dr_priority, n.lan_prune_delay), (None, false));
    assert_eq!(
        (n.propagation_delay_ms, n.override_interval_ms, n.t_bit),
        (None, None, None)
    );
}

#[test]
fn s4_3_4_secondary_addresses() {
    let mut h = Harness::started(cfg());
    let a = Ipv4Addr::new(192, 168, 1, 2);
    let b = Ipv4Addr::new(172, 16, 0, 2);
    // The sender's primary address is not one of its secondary addresses.
    h.rx_hello(nbr(2), &hello(1).addresses(&[a, nbr(2), b]));
    assert_eq!(h.neighbor(nbr(2)).unwrap().secondary_addresses, vec![b, a]);
    assert!(h.pim.is_neighbor(IF1, a) && h.pim.is_neighbor(IF1, b));
    // Another neighbour advertises one of them: the most recent mapping wins.
    h.rx_hello(nbr(3), &hello(1).addresses(&[a]));
    assert_eq!(h.neighbor(nbr(2)).unwrap().secondary_addresses, vec![b]);
    assert_eq!(h.neighbor(nbr(3)).unwrap().secondary_addresses, vec![a]);
    // A Hello without the option replaces the list with nothing.
    h.rx_hello(nbr(2), &hello(1));
    assert!(h.neighbor(nbr(2)).unwrap().secondary_addresses.is_empty());
    assert!(!h.pim.is_neighbor(IF1, b));
}

#[test]
fn neighbors_are_per_interface() {
    const IF2: IfIndex = IfIndex(2);
    let mut pim = pim::Pim::new(Default::default(), 1);
    for (ifindex, addr) in [(IF1, nbr(1)), (IF2, Ipv4Addr::new(10, 0, 2, 1))] {
        pim.configure_interface(at(0), ifindex, cfg());
        pim.handle(
            at(0),
            Input::Interface(InterfaceChange::Up {
                ifindex,
                name: format!("eth{}", ifindex.0),
                addr,
                prefix_len: 24,
            }),
        );
    }
    let bytes = hello(1).bytes();
    pim.handle(
        at(1),
        Input::Packet(RxPacket {
            ifindex: IF2,
            src: Ipv4Addr::new(10, 0, 2, 9),
            dst: ALL_PIM_ROUTERS,
            ttl: 1,
            router_alert: false,
            payload: &bytes,
        }),
    );
    assert!(pim.neighbors(IF1).is_empty());
    assert_eq!(pim.neighbors(IF2).len(), 1);
    assert_eq!(pim.dr(IF2), Some(Ipv4Addr::new(10, 0, 2, 9)));
    assert!(pim.is_dr(IF1) && !pim.is_dr(IF2));
    // Both interfaces send Hellos.
    let mut sent = Vec::new();
    while let Some(t) = pim.poll_at().filter(|&t| t <= at(6_000)) {
        sent.extend(pim.on_timeout(t));
    }
    let ifs: std::collections::BTreeSet<_> = sent
        .iter()
        .filter_map(|a| match a {
            ::common::Action::Send { ifindex, .. } => Some(*ifindex),
            _ => None,
        })
        .collect();
    assert_eq!(ifs.into_iter().collect::<Vec<_>>(), vec![IF1, IF2]);
}
