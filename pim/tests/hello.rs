//! RFC 7761 section 4.3.1 (Sending Hello Messages) with the timers of 4.11: the Hello Timer,
//! the first Hello within Triggered_Hello_Delay, periodic Hellos every Hello_Period, the
//! options and their values, triggered Hellos, Goodbye (Holdtime 0), interface down / up
//! and address changes.

mod common;

use std::collections::BTreeSet;

use ::common::Protocol;
use common::*;
use pim::config::InterfaceConfig;
use pim::events;
use pim::packet::{Hello, HelloOption, Message};

#[test]
fn s4_3_1_first_hello_within_triggered_hello_delay_then_every_hello_period() {
    let mut h = Harness::new(cfg());
    assert!(h.take_sent().is_empty(), "nothing is sent at once");
    let ht = h.iface().hello_timer_ms.expect("Hello Timer running");
    assert!(
        ht <= 5_000,
        "HT(I) = rand(0, Triggered_Hello_Delay), got {ht} ms"
    );
    h.advance_to(at(200_000));
    let times: Vec<_> = h.take_sent().iter().map(|p| p.at).collect();
    let first = at(ht);
    let expected: Vec<_> = (0..7).map(|k| first + secs(30 * k)).collect();
    assert_eq!(times, expected);
    // The timer now runs until the next period.
    let next = first + secs(210);
    assert_eq!(
        h.iface().hello_timer_ms,
        Some((next - h.now).as_millis() as u64)
    );
}

#[test]
fn s4_3_1_first_hello_is_randomized_and_genid_differs_per_seed() {
    let mut firsts = BTreeSet::new();
    let mut genids = BTreeSet::new();
    for seed in 0..20 {
        let mut h = Harness::with(cfg(), ROUTER, seed);
        h.advance_to(at(5_000));
        let sent = h.take_sent();
        assert_eq!(
            sent.len(),
            1,
            "seed {seed}: one Hello within Triggered_Hello_Delay"
        );
        firsts.insert(sent[0].at);
        genids.insert(sent[0].genid().expect("GenID option"));
    }
    assert!(firsts.len() > 10, "first Hellos are spread: {firsts:?}");
    assert_eq!(genids.len(), 20);
    // The same seed gives the same run.
    let a = Harness::with(cfg(), ROUTER, 3).iface();
    let b = Harness::with(cfg(), ROUTER, 3).iface();
    assert_eq!(
        (a.generation_id, a.hello_timer_ms),
        (b.generation_id, b.hello_timer_ms)
    );
}

#[test]
fn s4_3_1_zero_triggered_hello_delay_sends_at_once() {
    let mut h = Harness::new(cfg_no_jitter());
    h.advance_to(at(61_000));
    let times: Vec<_> = h.take_sent().iter().map(|p| p.at).collect();
    assert_eq!(times, vec![at(0), at(30_000), at(60_000)]);
}

#[test]
fn s4_3_1_hello_options_and_values() {
    let mut h = Harness::new(InterfaceConfig {
        hello_holdtime: secs(90),
        dr_priority: 7,
        propagation_delay: ms(750),
        override_interval: ms(3_000),
        disable_join_suppression: true,
        ..cfg_no_jitter()
    });
    h.advance_to(at(30_000));
    let sent = h.take_sent();
    assert_eq!(sent.len(), 2);
    let genid = h.iface().generation_id.expect("active");
    for p in &sent {
        assert_eq!(
            (p.ifindex, p.dst, p.ttl, p.router_alert),
            (IF1, ALL_PIM_ROUTERS, 1, false)
        );
        // Holdtime first (as FRR), then LAN Prune Delay, DR Priority, Generation ID; no
        // Address List without secondary addresses.
        assert_eq!(
            p.msg,
            Message::Hello(Hello {
                options: vec![
                    HelloOption::Holdtime(90),
                    HelloOption::LanPruneDelay {
                        t_bit: true,
                        propagation_delay_ms: 750,
                        override_interval_ms: 3_000,
                    },
                    HelloOption::DrPriority(7),
                    HelloOption::GenerationId(genid),
                ],
            })
        );
    }
}

#[test]
fn s4_3_1_default_options() {
    let mut h = Harness::new(cfg_no_jitter());
    let p = &h.take_sent()[0];
    assert_eq!(p.holdtime(), Some(105));
    assert_eq!(p.lan_prune_delay(), Some((false, 500, 2_500)));
    assert_eq!(p.dr_priority(), Some(1));
    assert!(p.genid().is_some());
}

#[test]
fn s4_3_1_new_neighbor_gets_triggered_hello_and_periodic_timing_is_kept() {
    let mut h = Harness::started(cfg());
    let t0 = h.now; // the first Hello
    h.advance(secs(10));
    h.rx_hello(nbr(2), &hello(1));
    let delay = h
        .iface()
        .triggered_hello_ms
        .expect("triggered Hello pending");
    assert!(delay <= 5_000, "within Triggered_Hello_Delay: {delay} ms");
    // A second new neighbour before it goes out does not add another Hello.
    h.rx_hello(nbr(3), &hello(2));
    assert!(h.iface().triggered_hello_ms.unwrap() <= delay);
    let trig = h.now + ms(h.iface().triggered_hello_ms.unwrap());
    let ups = h
        .take_event_kinds()
        .into_iter()
        .filter(|k| k == events::NEIGHBOR_UP)
        .count();
    assert_eq!(ups, 2);
    h.advance_to(t0 + secs(61));
    let times: Vec<_> = h.take_sent().iter().map(|p| p.at).collect();
    assert_eq!(times, vec![trig, t0 + secs(30), t0 + secs(60)]);
    assert_eq!(h.iface().triggered_hello_ms, None);
}

#[test]
fn s4_3_1_periodic_hello_satisfies_a_pending_trigger() {
    let mut h = Harness::started(cfg());
    let t0 = h.now;
    // A neighbour shows up just before the periodic Hello.
    h.advance_to(t0 + ms(29_999));
    h.rx_hello(nbr(2), &hello(1));
    let pending = h.iface().triggered_hello_ms.unwrap();
    h.advance_to(t0 + secs(40));
    let times: Vec<_> = h.take_sent().iter().map(|p| p.at).collect();
    // The periodic Hello 1 ms later satisfies the trigger unless it came due first.
    let expected = match pending {
        0 => vec![t0 + ms(29_999), t0 + secs(30)],
        _ => vec![t0 + secs(30)],
    };
    assert_eq!(times, expected);
    assert_eq!(h.iface().triggered_hello_ms, None);
}

#[test]
fn s4_3_1_changed_options_are_announced_with_a_triggered_hello() {
    let mut h = Harness::started(cfg());
    let t0 = h.now;
    h.advance(secs(5));
    // The same configuration again: nothing to announce.
    h.configure(cfg());
    assert_eq!(h.iface().triggered_hello_ms, None);
    // A new DR Priority: a triggered Hello carries it, the Hello Timer is unchanged.
    h.configure(InterfaceConfig {
        dr_priority: 42,
        ..cfg()
    });
    let d = h.iface().triggered_hello_ms.expect("triggered");
    assert!(d <= 5_000);
    h.advance_to(t0 + secs(30));
    let sent = h.take_sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].at, t0 + secs(5) + ms(d));
    assert_eq!(sent[0].dr_priority(), Some(42));
    assert_eq!(sent[1].at, t0 + secs(30));
    // A new Holdtime likewise.
    h.configure(InterfaceConfig {
        dr_priority: 42,
        hello_holdtime: secs(200),
        ..cfg()
    });
    let d = h.iface().triggered_hello_ms.expect("triggered");
    h.advance(ms(d));
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].holdtime(), Some(200));
    // And the LAN Prune Delay (T bit).
    h.configure(InterfaceConfig {
        dr_priority: 42,
        hello_holdtime: secs(200),
        disable_join_suppression: true,
        ..cfg()
    });
    let d = h.iface().triggered_hello_ms.expect("triggered");
    h.advance(ms(d));
    assert_eq!(h.take_sent()[0].lan_prune_delay(), Some((true, 500, 2_500)));
}

#[test]
fn s4_11_shorter_hello_period_applies_at_once() {
    let mut h = Harness::started(cfg());
    let t0 = h.now;
    h.advance(secs(1));
    h.configure(InterfaceConfig {
        hello_period: secs(10),
        ..cfg()
    });
    h.advance_to(t0 + secs(32));
    let times: Vec<_> = h.take_sent().iter().map(|p| p.at).collect();
    assert_eq!(times, vec![t0 + secs(11), t0 + secs(21), t0 + secs(31)]);
}

#[test]
fn s4_3_1_remove_interface_sends_goodbye_and_forgets() {
    let mut h = Harness::started(cfg());
    h.rx_hello(nbr(2), &hello(1));
    h.advance(secs(6)); // past the triggered Hello
    h.clear();
    h.remove();
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].at, h.now);
    assert_eq!(sent[0].holdtime(), Some(0));
    assert_eq!(sent[0].dst, ALL_PIM_ROUTERS);
    let ev = h.take_events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].1.what, events::NEIGHBOR_DOWN);
    assert!(
        ev[0].1.detail.ends_with("pim disabled"),
        "{}",
        ev[0].1.detail
    );
    assert_eq!(h.pim.poll_at(), None);
    assert_eq!(h.dr(), None);
    let i = h.iface();
    assert!(!i.configured && i.up && !i.active);
    assert!(i.neighbors.is_empty());
    h.advance(secs(300));
    assert!(h.take_sent().is_empty());
}

#[test]
fn s4_3_1_interface_down_forgets_neighbors_and_up_restarts_with_new_genid() {
    let mut h = Harness::started(cfg());
    let genid = h.iface().generation_id.unwrap();
    h.rx_hello(nbr(2), &hello(1));
    h.rx_hello(nbr(3), &hello(1));
    h.clear();
    h.down();
    let ev = h.take_events();
    assert_eq!(ev.len(), 2);
    for (_, e) in &ev {
        assert_eq!(e.what, events::NEIGHBOR_DOWN);
        assert!(e.detail.ends_with("interface down"), "{}", e.detail);
    }
    assert!(
        h.take_sent().is_empty(),
        "nothing can be sent on a down interface"
    );
    assert!(!h.iface().active && h.iface().configured);
    h.advance(secs(100));
    assert!(h.take_sent().is_empty());
    // Up again: PIM starts again with a new GenID and a randomized first Hello.
    h.up();
    let i = h.iface();
    assert!(i.active);
    assert_ne!(i.generation_id, Some(genid));
    assert!(i.neighbors.is_empty());
    let first = i.hello_timer_ms.unwrap();
    assert!(first <= 5_000);
    h.advance(secs(5));
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].genid(), i.generation_id);
}

#[test]
fn s4_3_1_address_change_new_genid_and_hello() {
    let mut h = Harness::started(cfg());
    let genid = h.iface().generation_id.unwrap();
    h.rx_hello(nbr(2), &hello(1));
    h.rx_hello(nbr(50), &hello(1));
    h.advance(secs(6));
    h.clear();
    // A new address on the same subnet: neighbours stay, a new GenID, a Hello within
    // Triggered_Hello_Delay.
    h.up_with(nbr(60), 24);
    let i = h.iface();
    assert_ne!(i.generation_id, Some(genid));
    assert_eq!(i.neighbors.len(), 2);
    // 10.0.0.60 is now the highest address: DR.
    assert_eq!(i.dr, Some(nbr(60)));
    assert!(
        h.take_event_kinds()
            .contains(&events::DR_CHANGE.to_string())
    );
    h.advance(secs(5));
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].genid(), i.generation_id);
    // A new subnet: neighbours off it are forgotten.
    h.up_with(std::net::Ipv4Addr::new(10, 0, 1, 1), 24);
    let ev = h.take_events();
    let downs: Vec<_> = ev
        .iter()
        .filter(|(_, e)| e.what == events::NEIGHBOR_DOWN)
        .collect();
    assert_eq!(downs.len(), 2);
    assert!(downs[0].1.detail.ends_with("address changed"));
    assert!(h.iface().neighbors.is_empty());
    assert!(h.pim.is_dr(IF1));
}

#[test]
fn s4_3_1_unconfigured_or_down_interfaces_send_nothing() {
    // Configured but never up.
    let mut pim = pim::Pim::new(Default::default(), 1);
    let a = pim.configure_interface(at(0), IF1, cfg());
    assert!(a.is_empty());
    assert_eq!(pim.poll_at(), None);
    assert!(!pim.is_dr(IF1));
    assert_eq!(pim.dr(IF1), None);
    // Up but not configured.
    let mut pim = pim::Pim::new(Default::default(), 1);
    let a = pim.handle(
        at(0),
        ::common::Input::Interface(::common::InterfaceChange::Up {
            ifindex: IF1,
            name: "eth1".into(),
            addr: ROUTER,
            prefix_len: 24,
        }),
    );
    assert!(a.is_empty());
    assert_eq!(pim.poll_at(), None);
    // Configuring it starts PIM.
    pim.configure_interface(at(1_000), IF1, cfg());
    assert!(pim.poll_at().unwrap() <= at(6_000));
    assert!(pim.is_dr(IF1));
}
