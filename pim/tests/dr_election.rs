//! RFC 7761 section 4.3.2 (DR Election): `DR(I)` and `dr_is_better` as in the pseudocode,
//! the switch to address-only election when a neighbour lacks the DR Priority option, and
//! the events and triggered Hello when the DR or our own priority changes.

mod common;

use std::net::Ipv4Addr;

use common::*;
use pim::config::InterfaceConfig;
use pim::events;

/// This router is 10.0.0.10 in the election tables.
const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 10);

fn with_priority(p: u32) -> InterfaceConfig {
    InterfaceConfig {
        dr_priority: p,
        ..cfg()
    }
}

/// Elect among this router (priority `mine`) and neighbours 10.0.0.n with their DR
/// Priority option (`None`: the option is absent).
fn elect(mine: u32, neighbors: &[(u8, Option<u32>)]) -> Ipv4Addr {
    let mut h = Harness::with(with_priority(mine), ME, SEED);
    for &(n, p) in neighbors {
        let b = match p {
            Some(p) => hello(u32::from(n)).dr_priority(p),
            None => hello(u32::from(n)).no_dr_priority(),
        };
        h.rx_hello(nbr(n), &b);
    }
    let dr = h.dr().expect("PIM runs");
    let i = h.iface();
    assert_eq!(i.dr, Some(dr));
    assert_eq!(i.i_am_dr, dr == ME);
    assert_eq!(h.pim.is_dr(IF1), dr == ME);
    dr
}

/// (my priority, neighbours (n, DR Priority option), the DR's n, why).
type Row = (u32, &'static [(u8, Option<u32>)], u8, &'static str);

#[test]
fn s4_3_2_election_table() {
    #[rustfmt::skip]
    let rows: &[Row] = &[
        (1,   &[],                                    10, "alone: me"),
        (1,   &[(2, Some(5)), (20, Some(1))],          2, "higher priority wins"),
        (1,   &[(2, Some(1)), (20, Some(1))],         20, "tie: higher address"),
        (9,   &[(2, Some(5)), (20, Some(1))],         10, "my priority highest"),
        (5,   &[(2, Some(5)), (20, Some(1))],         10, "tie with me: my address is higher"),
        (5,   &[(20, Some(5)), (2, Some(1))],         20, "tie with me: neighbour address is higher"),
        (100, &[(2, None), (20, Some(1))],            20, "one without the option: address only"),
        (1,   &[(2, None), (5, Some(100))],           10, "address only: me highest"),
        (0,   &[(2, Some(0))],                        10, "priority 0 ties"),
        (0,   &[(2, Some(1))],                         2, "priority 0 loses"),
        (1,   &[(2, Some(u32::MAX)), (20, Some(u32::MAX - 1))], 2, "full 32-bit range"),
        (1,   &[(2, Some(7)), (3, Some(7)), (4, Some(6))], 3, "order of arrival does not matter"),
        (1,   &[(4, Some(6)), (3, Some(7)), (2, Some(7))], 3, "order of arrival does not matter"),
    ];
    for (mine, neighbors, want, why) in rows {
        assert_eq!(elect(*mine, neighbors), nbr(*want), "{why}");
    }
}

#[test]
fn s4_3_2_dr_changes_are_reported() {
    let mut h = Harness::with(with_priority(1), ME, SEED);
    h.advance(secs(1));
    h.rx_hello(nbr(2), &hello(1));
    assert_eq!(h.dr(), Some(ME));
    assert_eq!(h.take_event_kinds(), vec![events::NEIGHBOR_UP]);
    h.rx_hello(nbr(20), &hello(1).holdtime(30));
    assert_eq!(h.dr(), Some(nbr(20)));
    let ev = h.take_events();
    assert_eq!(ev[1].1.what, events::DR_CHANGE);
    assert!(
        ev[1]
            .1
            .detail
            .contains("10.0.0.10 (this router) -> 10.0.0.20"),
        "{}",
        ev[1].1.detail
    );
    // 10.0.0.20 times out: the DR is this router again, at exactly the holdtime.
    let t = h.now;
    h.advance(secs(31));
    assert_eq!(h.dr(), Some(ME));
    let ev: Vec<_> = h
        .take_events()
        .into_iter()
        .filter(|(_, e)| e.what == events::DR_CHANGE)
        .collect();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].0, t + secs(30));
    // 10.0.0.2 raises its priority.
    h.rx_hello(nbr(2), &hello(1).dr_priority(50));
    assert_eq!(h.dr(), Some(nbr(2)));
    assert_eq!(h.take_event_kinds(), vec![events::DR_CHANGE]);
    // Refreshes change nothing.
    h.rx_hello(nbr(2), &hello(1).dr_priority(50));
    assert!(h.take_events().is_empty());
}

#[test]
fn s4_3_2_own_priority_change() {
    let mut h = Harness::with(with_priority(1), ME, SEED);
    h.rx_hello(nbr(20), &hello(1));
    h.advance(secs(10));
    h.clear();
    assert_eq!(h.dr(), Some(nbr(20)));
    // Raising our priority makes us DR at once and is announced with a triggered Hello.
    h.configure(with_priority(100));
    assert_eq!(h.dr(), Some(ME));
    assert!(h.pim.is_dr(IF1));
    assert_eq!(h.take_event_kinds(), vec![events::DR_CHANGE]);
    let d = h.iface().triggered_hello_ms.expect("triggered Hello");
    assert!(d <= 5_000);
    h.advance(ms(d));
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].dr_priority(), Some(100));
    // Back to 1: 10.0.0.20 is DR again.
    h.configure(with_priority(1));
    assert_eq!(h.dr(), Some(nbr(20)));
    assert_eq!(h.take_event_kinds(), vec![events::DR_CHANGE]);
    assert!(h.iface().triggered_hello_ms.is_some());
}

#[test]
fn s4_3_2_a_neighbor_without_the_option_switches_to_address_election() {
    let mut h = Harness::with(with_priority(1), ME, SEED);
    h.rx_hello(nbr(2), &hello(1).dr_priority(100));
    assert_eq!(h.dr(), Some(nbr(2)));
    // A router that does not support DR priority joins: highest address wins.
    h.rx_hello(nbr(20), &hello(1).no_dr_priority());
    assert_eq!(h.dr(), Some(nbr(20)));
    // It starts advertising a low priority: priorities count again.
    h.rx_hello(nbr(20), &hello(1).dr_priority(1));
    assert_eq!(h.dr(), Some(nbr(2)));
    // It drops the option again, then says goodbye.
    h.rx_hello(nbr(20), &hello(1).no_dr_priority());
    assert_eq!(h.dr(), Some(nbr(20)));
    h.rx_hello(nbr(20), &hello(1).holdtime(0));
    assert_eq!(h.dr(), Some(nbr(2)));
}
