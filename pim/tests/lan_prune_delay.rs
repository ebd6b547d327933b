//! RFC 7761 section 4.3.3 (Reducing Prune Propagation Delay on LANs): `lan_delay_enabled(I)`,
//! `Effective_Propagation_Delay(I)`, `Effective_Override_Interval(I)`,
//! `Suppression_Enabled(I)`, and `J/P_Override_Interval(I)` of 4.11, with mixed neighbours.

mod common;

use common::*;
use pim::config::InterfaceConfig;

fn own(propagation_ms: u64, override_ms: u64, t_bit: bool) -> InterfaceConfig {
    InterfaceConfig {
        propagation_delay: ms(propagation_ms),
        override_interval: ms(override_ms),
        disable_join_suppression: t_bit,
        ..cfg()
    }
}

/// (lan_delay_enabled, Effective_Propagation_Delay ms, Effective_Override_Interval ms,
/// Suppression_Enabled), from the API and checked against the snapshot.
fn macros(h: &Harness) -> (bool, u64, u64, bool) {
    let p = &h.pim;
    let m = (
        p.lan_delay_enabled(IF1),
        p.effective_propagation_delay(IF1).as_millis() as u64,
        p.effective_override_interval(IF1).as_millis() as u64,
        p.suppression_enabled(IF1),
    );
    let i = h.iface();
    assert_eq!(
        m,
        (
            i.lan_delay_enabled,
            i.effective_propagation_delay_ms,
            i.effective_override_interval_ms,
            i.suppression_enabled
        )
    );
    assert_eq!(
        p.jp_override_interval(IF1).as_millis() as u64,
        m.1 + m.2,
        "J/P_Override_Interval(I) (4.11)"
    );
    m
}

#[test]
fn s4_3_3_without_neighbors_our_own_values() {
    let h = Harness::new(own(700, 3_100, false));
    assert_eq!(macros(&h), (true, 700, 3_100, true));
}

#[test]
fn s4_3_3_all_neighbors_with_the_option_largest_values() {
    let mut h = Harness::new(own(500, 2_500, false));
    h.rx_hello(nbr(2), &hello(1).lan_prune_delay(false, 800, 2_000));
    h.rx_hello(nbr(3), &hello(1).lan_prune_delay(false, 300, 4_000));
    assert_eq!(macros(&h), (true, 800, 4_000, true));
    // Our own value counts too.
    h.configure(own(900, 1_000, false));
    assert_eq!(macros(&h), (true, 900, 4_000, true));
}

#[test]
fn s4_3_3_one_neighbor_without_the_option_means_defaults() {
    // Own values differ from the defaults, so that the defaults are visible.
    let mut h = Harness::new(own(100, 1_000, true));
    h.rx_hello(nbr(2), &hello(1).lan_prune_delay(true, 800, 2_000));
    h.rx_hello(nbr(3), &hello(1).no_lan_prune_delay().holdtime(20));
    // Propagation_delay_default 0.5 s and t_override_default 2.5 s (4.11); suppression on.
    assert_eq!(macros(&h), (false, 500, 2_500, true));
    // When it times out, the option is in use again.
    h.advance(secs(20));
    assert_eq!(h.neighbor_addrs(), vec![nbr(2)]);
    assert_eq!(macros(&h), (true, 800, 2_000, false));
    // When it comes back and now sends the option, likewise.
    h.rx_hello(nbr(3), &hello(1).lan_prune_delay(true, 100, 100));
    assert_eq!(macros(&h), (true, 800, 2_000, false));
}

#[test]
fn s4_3_3_suppression_enabled_unless_every_router_sets_the_t_bit() {
    let mut h = Harness::new(own(500, 2_500, true));
    h.rx_hello(nbr(2), &hello(1).lan_prune_delay(true, 500, 2_500));
    h.rx_hello(nbr(3), &hello(1).lan_prune_delay(true, 500, 2_500));
    assert!(!h.pim.suppression_enabled(IF1), "all T bits set");
    // One neighbour without the T bit.
    h.rx_hello(nbr(3), &hello(1).lan_prune_delay(false, 500, 2_500));
    assert!(h.pim.suppression_enabled(IF1));
    h.rx_hello(nbr(3), &hello(1).lan_prune_delay(true, 500, 2_500));
    assert!(!h.pim.suppression_enabled(IF1));
    // We do not set it ourselves: the neighbours keep suppressing, so do we.
    h.configure(own(500, 2_500, false));
    assert!(h.pim.suppression_enabled(IF1));
    h.configure(own(500, 2_500, true));
    assert!(!h.pim.suppression_enabled(IF1));
    // A neighbour without the LAN Prune Delay option at all.
    h.rx_hello(nbr(4), &hello(1).no_lan_prune_delay());
    assert!(h.pim.suppression_enabled(IF1));
    assert!(!h.pim.lan_delay_enabled(IF1));
}

#[test]
fn s4_3_3_not_running_gives_the_defaults() {
    let mut h = Harness::new(own(100, 100, true));
    h.down();
    assert_eq!(macros(&h), (false, 500, 2_500, true));
}
