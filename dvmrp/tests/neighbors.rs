//! Neighbour discovery (draft 3.2): Probes, one-way and two-way state, Neighbor Time-out,
//! Generation ID restarts, acceptance checks.

mod common;

use ::common::{IfIndex, Protocol};
use common::*;
use dvmrp::packet::{self, ALL_DVMRP_ROUTERS, Body, INFINITY, Message, Report, RouteEntry};
use dvmrp::{NeighborState, RouteState, events, reasons};

const IF1: IfIndex = IfIndex(1);
const IF2: IfIndex = IfIndex(2);

fn one_router() -> Net {
    let mut net = Net::new();
    let r = net.router("R", dvmrp::config::Config::default(), 7);
    net.attach(r, 1, "10.0.0.1", 24, "lan", cfg());
    net.attach(r, 2, "10.1.0.1", 24, "other", cfg());
    net
}

/// 3.2, 3.2.3, 3.2.5: Probes to 224.0.0.4 with TTL 1 at once and every Probe Interval,
/// listing every neighbour heard on that interface, with the draft's capabilities.
#[test]
fn probes_go_out_every_probe_interval_listing_neighbors() {
    let mut net = one_router();
    net.probe_from(0, 1, a("10.0.0.9"), 9, &[]);
    net.probe_from(0, 1, a("10.0.0.3"), 3, &[]);
    net.run_until(at(35));
    let probes: Vec<_> = net.routers[0]
        .sent
        .iter()
        .filter(|s| s.ifindex == IF1 && s.probe().is_some())
        .collect();
    for p in &probes {
        assert_eq!((p.dst, p.ttl), (ALL_DVMRP_ROUTERS, 1));
        assert_eq!(p.msg.header, packet::Header::DRAFT);
    }
    let times: Vec<_> = probes.iter().map(|p| p.at).collect();
    // The first at start, one triggered by each new neighbour (t = 0), then every 10 s.
    assert_eq!(times, vec![at(0), at(0), at(0), at(10), at(20), at(30)]);
    assert!(probes[0].probe().unwrap().neighbors.is_empty());
    assert_eq!(
        probes[3].probe().unwrap().neighbors,
        vec![a("10.0.0.3"), a("10.0.0.9")]
    );
    // The same Generation ID in every Probe of an interface; the other interface has its own.
    let genids: Vec<_> = probes
        .iter()
        .map(|p| p.probe().unwrap().generation_id)
        .collect();
    assert!(genids.iter().all(|&g| g == genids[0]));
    let s = net.routers[0].d.snapshot();
    assert_ne!(s.interfaces[0].generation_id, s.interfaces[1].generation_id);
    // Neither neighbour listed us: one-way, no events, no reports sent to them.
    let n = net.routers[0].neighbors(IF1);
    assert!(n.iter().all(|n| n.state == NeighborState::OneWay));
    assert!(net.routers[0].events.is_empty());
    assert!(net.routers[0].sent.iter().all(|s| s.report().is_none()));
}

/// 2.1, 3.2.3, 3.4.5, 3.4.6: one-way until the neighbour's Probe lists us; then two-way,
/// an event and a unicast copy of the table. Reports from one-way neighbours are dropped.
#[test]
fn neighbor_becomes_two_way_when_its_probe_lists_us() {
    let mut net = one_router();
    let (me, n) = (a("10.0.0.1"), a("10.0.0.2"));
    net.probe_from(0, 1, n, 42, &[]);
    assert_eq!(
        net.routers[0].neighbors(IF1)[0].state,
        NeighborState::OneWay
    );
    net.report_from(0, 1, n, &[("10.5.0.0", 16, 1)]);
    assert!(net.routers[0].route("10.5.0.0", 16).is_none());
    assert_eq!(net.routers[0].dropped(IF1, reasons::NOT_TWO_WAY), 1);
    // Reports from unknown neighbours too.
    net.report_from(0, 1, a("10.0.0.77"), &[("10.5.0.0", 16, 1)]);
    assert_eq!(net.routers[0].dropped(IF1, reasons::NOT_TWO_WAY), 2);
    net.run_until(at(3));
    net.probe_from(0, 1, n, 42, &[me]);
    let nb = &net.routers[0].neighbors(IF1)[0];
    assert_eq!((nb.state, nb.generation_id), (NeighborState::TwoWay, 42));
    assert_eq!(nb.capability_names, vec!["prune", "genid", "mtrace"]);
    assert_eq!((nb.major_version, nb.minor_version), (3, 0xff));
    let ups = net.routers[0].events_of(events::NEIGHBOR_UP);
    assert_eq!(ups.len(), 1);
    assert_eq!(ups[0].0, at(3));
    // The whole table, unicast to the neighbour, at once.
    let uni: Vec<_> = net.routers[0].sent.iter().filter(|s| s.dst == n).collect();
    assert_eq!(uni.len(), 1);
    assert_eq!(uni[0].at, at(3));
    let routes = &uni[0].report().unwrap().routes;
    assert_eq!(
        routes,
        &vec![
            RouteEntry::new(a("10.0.0.0"), 24, 1),
            RouteEntry::new(a("10.1.0.0"), 24, 1)
        ]
    );
    // Now its reports are accepted (adjusted metric 2).
    net.report_from(0, 1, n, &[("10.5.0.0", 16, 1)]);
    let r = net.routers[0].route("10.5.0.0", 16).unwrap();
    assert_eq!((r.metric, r.upstream_neighbor), (2, Some(n)));
    // A unicast report to our address is accepted too.
    let payload = packet::emit(&Message::new(Body::Report(Report {
        routes: vec![RouteEntry::new(a("10.6.0.0"), 16, 3)],
    })));
    net.inject_raw(0, 1, n, me, 5, &payload);
    assert_eq!(net.routers[0].route("10.6.0.0", 16).unwrap().metric, 4);
}

/// 3.2, 3.2.4: a neighbour not heard for the Neighbor Time-out is lost: an event, and its
/// routes go into hold-down (advertised with infinity on the other interfaces).
#[test]
fn neighbor_times_out_and_its_routes_go_into_hold_down() {
    let mut net = one_router();
    let (me, n) = (a("10.0.0.1"), a("10.0.0.2"));
    let (me2, n2) = (a("10.1.0.1"), a("10.1.0.2"));
    net.fake(0, 2, n2, 5, &[me2]);
    net.probe_from(0, 1, n, 42, &[me]);
    net.report_from(0, 1, n, &[("10.5.0.0", 16, 1)]);
    net.run_until(at(20));
    net.probe_from(0, 1, n, 42, &[me]);
    // Its last Probe at t = 20: lost at 55.
    net.run_until(at(54));
    assert_eq!(net.routers[0].neighbors(IF1).len(), 1);
    assert!(net.routers[0].events_of(events::NEIGHBOR_DOWN).is_empty());
    net.run_until(at(55));
    assert!(net.routers[0].neighbors(IF1).is_empty());
    let downs = net.routers[0].events_of(events::NEIGHBOR_DOWN);
    assert_eq!(downs.len(), 1);
    assert_eq!(downs[0].0, at(55));
    assert!(
        downs[0].1.ends_with(dvmrp::down_reasons::TIMEOUT),
        "{downs:?}"
    );
    let r = net.routers[0].route("10.5.0.0", 16).unwrap();
    assert_eq!(r.state, RouteState::HeldDown);
    assert_eq!(r.hold_down_cause, Some(dvmrp::HoldDownCause::NeighborLost));
    assert_eq!(net.routers[0].d.rpf(a("10.5.0.1")), None);
    // The flash update on the other interface says infinity.
    assert!(
        net.routers[0]
            .reported(IF2, at(55))
            .iter()
            .any(|(t, _, e)| *t == at(55) && e.network == a("10.5.0.0") && e.metric == INFINITY)
    );
    // Hold-down (120 s) then garbage collection.
    net.run_until(at(55 + 119));
    assert!(net.routers[0].route("10.5.0.0", 16).is_some());
    net.run_until(at(55 + 120));
    assert!(net.routers[0].route("10.5.0.0", 16).is_none());
}

/// 3.2.2: a new Generation ID is a restart: an event, the neighbour is one-way again, its
/// routes are reset (hold-down); once its Probe lists us again it is two-way, gets our
/// table, and re-learning the same route with the same metric ends the hold-down.
#[test]
fn generation_id_change_is_a_restart_that_resets_routes() {
    let mut net = one_router();
    let (me, n) = (a("10.0.0.1"), a("10.0.0.2"));
    net.probe_from(0, 1, n, 1, &[me]);
    net.report_from(0, 1, n, &[("10.5.0.0", 16, 1), ("10.0.0.0", 24, 33)]);
    // It depends on us for our own subnet (poison reverse).
    assert!(
        net.routers[0]
            .d
            .dependent_neighbors(IF1, a("10.1.0.7"))
            .is_empty()
    );
    net.report_from(0, 1, n, &[("10.1.0.0", 24, 34)]);
    assert_eq!(
        net.routers[0].d.dependent_neighbors(IF1, a("10.1.0.7")),
        vec![n]
    );
    net.run_until(at(5));
    let sent_before = net.routers[0].sent.len();
    net.probe_from(0, 1, n, 2, &[]);
    let restarts = net.routers[0].events_of(events::NEIGHBOR_RESTART);
    assert_eq!(restarts.len(), 1);
    assert_eq!(restarts[0].0, at(5));
    let nb = &net.routers[0].neighbors(IF1)[0];
    assert_eq!((nb.state, nb.generation_id), (NeighborState::OneWay, 2));
    let r = net.routers[0].route("10.5.0.0", 16).unwrap();
    assert_eq!(
        (r.state, r.advertised_metric),
        (RouteState::HeldDown, INFINITY)
    );
    assert!(
        net.routers[0]
            .d
            .dependent_neighbors(IF1, a("10.1.0.7"))
            .is_empty()
    );
    // A triggered Probe tells it about us at once.
    assert!(
        net.routers[0].sent[sent_before..]
            .iter()
            .any(|s| s.probe().is_some())
    );
    // Reports are not accepted while one-way.
    net.report_from(0, 1, n, &[("10.5.0.0", 16, 1)]);
    assert_eq!(
        net.routers[0].route("10.5.0.0", 16).unwrap().state,
        RouteState::HeldDown
    );
    assert_eq!(net.routers[0].dropped(IF1, reasons::NOT_TWO_WAY), 1);
    // It lists us: two-way again, a new unicast table.
    net.run_until(at(6));
    net.probe_from(0, 1, n, 2, &[me]);
    assert_eq!(
        net.routers[0].neighbors(IF1)[0].state,
        NeighborState::TwoWay
    );
    assert_eq!(net.routers[0].events_of(events::NEIGHBOR_UP).len(), 2);
    let uni: Vec<_> = net.routers[0].sent.iter().filter(|s| s.dst == n).collect();
    assert_eq!(uni.len(), 2);
    assert_eq!(uni[1].at, at(6));
    // The route, re-learned from the same neighbour with the same metric, is valid again.
    net.report_from(0, 1, n, &[("10.5.0.0", 16, 1)]);
    let r = net.routers[0].route("10.5.0.0", 16).unwrap();
    assert_eq!((r.state, r.metric), (RouteState::Valid, 2));
}

/// 3.2.3 (and section 6): a two-way neighbour whose Probe no longer lists us is one-way:
/// its routes and dependencies go.
#[test]
fn neighbor_that_stops_listing_us_is_one_way_again() {
    let mut net = one_router();
    let (me, n) = (a("10.0.0.1"), a("10.0.0.2"));
    net.probe_from(0, 1, n, 1, &[me]);
    net.report_from(0, 1, n, &[("10.5.0.0", 16, 1)]);
    net.probe_from(0, 1, n, 1, &[]);
    assert_eq!(
        net.routers[0].neighbors(IF1)[0].state,
        NeighborState::OneWay
    );
    let downs = net.routers[0].events_of(events::NEIGHBOR_DOWN);
    assert_eq!(downs.len(), 1);
    assert!(downs[0].1.ends_with(dvmrp::down_reasons::NOT_LISTED));
    assert_eq!(
        net.routers[0].route("10.5.0.0", 16).unwrap().state,
        RouteState::HeldDown
    );
}

/// Interface down: its neighbours are lost and its subnet goes into hold-down (advertised
/// with infinity elsewhere); up again: a new Generation ID and the subnet back at once.
#[test]
fn interface_down_and_up() {
    let mut net = one_router();
    let (me2, n2) = (a("10.1.0.1"), a("10.1.0.2"));
    net.fake(0, 2, n2, 5, &[me2]);
    net.probe_from(0, 1, a("10.0.0.2"), 1, &[a("10.0.0.1")]);
    let genid = net.routers[0].d.snapshot().interfaces[0].generation_id;
    net.run_until(at(10));
    net.down(0, 1);
    assert_eq!(net.routers[0].events_of(events::NEIGHBOR_DOWN).len(), 1);
    let r = net.routers[0].route("10.0.0.0", 24).unwrap();
    assert_eq!(r.state, RouteState::HeldDown);
    assert!(
        net.routers[0]
            .reported(IF2, at(10))
            .iter()
            .any(|(_, _, e)| e.network == a("10.0.0.0") && e.metric == INFINITY)
    );
    net.run_until(at(20));
    let acts = net.routers[0].d.handle(
        net.now,
        ::common::Input::Interface(::common::InterfaceChange::Up {
            ifindex: IF1,
            name: "lan".into(),
            addr: a("10.0.0.1"),
            prefix_len: 24,
        }),
    );
    net.deliver(0, acts);
    let s = net.routers[0].d.snapshot();
    assert_ne!(s.interfaces[0].generation_id, genid);
    let r = net.routers[0].route("10.0.0.0", 24).unwrap();
    assert_eq!(
        (r.state, r.metric, r.origin),
        (RouteState::Valid, 1, "connected")
    );
}

/// Acceptance (3.1, 3.2, 3.4.6): decoding errors are counted by the codec's kind; Probes
/// must go to 224.0.0.4 with TTL 1; Reports to it with TTL 1 or to us; sources on the
/// subnet; our own packets are ignored.
#[test]
fn acceptance_checks_are_counted_by_reason() {
    let mut net = one_router();
    let me = a("10.0.0.1");
    let n = a("10.0.0.2");
    let probe = packet::emit(&Message::new(Body::Probe(packet::Probe {
        generation_id: 1,
        neighbors: vec![me],
    })));
    let mut bad = probe.clone();
    bad[7] ^= 0xff;
    net.inject_raw(0, 1, n, ALL_DVMRP_ROUTERS, 1, &bad);
    net.inject_raw(0, 1, n, ALL_DVMRP_ROUTERS, 1, &probe[..5]);
    net.inject_raw(0, 1, n, me, 1, &probe);
    net.inject_raw(0, 1, n, ALL_DVMRP_ROUTERS, 2, &probe);
    net.inject_raw(0, 1, a("10.9.0.2"), ALL_DVMRP_ROUTERS, 1, &probe);
    net.inject_raw(0, 1, me, ALL_DVMRP_ROUTERS, 1, &probe);
    let report = packet::emit(&Message::new(Body::Report(Report {
        routes: vec![RouteEntry::new(a("10.5.0.0"), 16, 1)],
    })));
    net.inject_raw(0, 1, n, a("10.0.0.99"), 1, &report);
    net.inject_raw(0, 1, n, ALL_DVMRP_ROUTERS, 3, &report);
    let r = &net.routers[0];
    assert_eq!(r.dropped(IF1, "bad_checksum"), 1);
    assert_eq!(r.dropped(IF1, "too_short"), 1);
    assert_eq!(r.dropped(IF1, reasons::BAD_DESTINATION), 2);
    assert_eq!(r.dropped(IF1, reasons::BAD_TTL), 2);
    assert_eq!(r.dropped(IF1, reasons::SOURCE_NOT_ON_SUBNET), 1);
    assert_eq!(r.dropped(IF1, reasons::OWN_PACKET), 1);
    assert!(r.neighbors(IF1).is_empty());
    let s = r.d.snapshot();
    assert_eq!(s.interfaces[0].received.get("probe"), Some(&3));
    assert_eq!(s.counters.get("bad_checksum"), Some(&1));
    // Prunes and Grafts are counted and ignored for now.
    net.inject(
        0,
        1,
        n,
        Body::Prune(packet::Prune::new(a("10.5.0.1"), a("239.1.1.1"), 7200)),
    );
    assert_eq!(
        net.routers[0].d.snapshot().interfaces[0]
            .received
            .get("prune"),
        Some(&1)
    );
}

/// Two real routers on a LAN: they become two-way at once and exchange tables.
#[test]
fn two_routers_discover_each_other_at_once() {
    let mut net = Net::new();
    net.router("A", dvmrp::config::Config::default(), 1);
    net.router("B", dvmrp::config::Config::default(), 2);
    net.attach(0, 1, "10.0.0.1", 24, "lan", cfg());
    net.attach(0, 2, "10.1.0.1", 24, "sa", cfg());
    net.attach(1, 1, "10.0.0.2", 24, "lan", cfg());
    net.attach(1, 2, "10.2.0.1", 24, "sb", cfg());
    for (i, other) in [(0, "10.0.0.2"), (1, "10.0.0.1")] {
        let n = net.routers[i].neighbors(IF1);
        assert_eq!(n.len(), 1);
        assert_eq!(
            (n[0].address, n[0].state),
            (a(other), NeighborState::TwoWay)
        );
    }
    assert_eq!(net.routers[1].route("10.1.0.0", 24).unwrap().metric, 2);
    // B's subnet sb came up after B had sent a flash update: it waits for the Minimum
    // Flash Update Interval.
    assert!(net.routers[0].route("10.2.0.0", 24).is_none());
    net.run_until(at(5));
    assert_eq!(net.routers[0].route("10.2.0.0", 24).unwrap().metric, 2);
    net.run_until(at(1000));
    assert_eq!(net.routers[0].events_of(events::NEIGHBOR_UP).len(), 1);
    assert!(net.routers[0].events_of(events::NEIGHBOR_DOWN).is_empty());
}
