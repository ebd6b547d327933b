//! Route exchange (draft 3.4): a ring of four routers in one process, in virtual time.

mod common;

use std::net::Ipv4Addr;

use ::common::{IfIndex, Protocol};
use common::*;
use dvmrp::RouteState;
use dvmrp::packet::INFINITY;

const IF1: IfIndex = IfIndex(1);
const IF2: IfIndex = IfIndex(2);
const IF3: IfIndex = IfIndex(3);

/// 3.4.5, 3.4.6: the ring converges on shortest paths with the lowest-address tie-break,
/// long before the first periodic report, thanks to the unicast table sent on two-way
/// adjacency and flash updates.
#[test]
fn ring_of_four_converges_with_correct_metrics_and_upstreams() {
    let mut net = ring();
    let expected = net.expected(|_, _| 1);
    // Sanity of the expectation itself: R1 reaches s3 (two hops either way) via R2, whose
    // address 10.12.0.2 is lower than R4's 10.41.0.4.
    assert_eq!(
        expected[0][&(a("10.0.3.0"), 24)],
        (3, IF1, Some(a("10.12.0.2")))
    );
    assert_eq!(expected[0][&(a("10.0.1.0"), 24)], (1, IF3, None));
    let t = net.converge_by(at(30), &expected).expect("converged");
    assert!(t <= at(15), "converged at {t:?}");
    // And stays so through periodic reports.
    net.run_until(at(600));
    assert_eq!(net.tables(), expected);
    for r in &net.routers {
        let s = r.d.snapshot();
        assert_eq!(s.routes.len(), 8, "{}", r.name);
        assert!(s.routes.iter().all(|x| x.state == RouteState::Valid));
        for i in s.interfaces.iter().filter(|i| i.ifindex != IF3) {
            assert_eq!(i.neighbors.len(), 1);
            assert_eq!(i.neighbors[0].state, dvmrp::NeighborState::TwoWay);
        }
    }
    // rpf() agrees with the table.
    let r3 = &net.routers[2].d;
    assert_eq!(r3.rpf(a("10.0.1.9")), Some((IF1, Some(a("10.23.0.2")))));
    assert_eq!(r3.rpf(a("10.0.3.9")), Some((IF3, None)));
    assert_eq!(r3.rpf(a("192.0.2.1")), None);
}

/// 2.3, 3.4.4: a downstream router echoes the route with metric + 32 on its upstream
/// interface, which makes it a dependent neighbour there.
#[test]
fn poison_reverse_makes_the_downstream_router_a_dependent() {
    let mut net = ring();
    net.run_until(at(120));
    // s1 (10.0.1.0/24): R2 and R4 depend on R1; R3 on R2 (10.23.0.2 < 10.34.0.4).
    let s1 = a("10.0.1.7");
    let r1 = &net.routers[0].d;
    assert_eq!(r1.dependent_neighbors(IF1, s1), vec![a("10.12.0.2")]);
    assert_eq!(r1.dependent_neighbors(IF2, s1), vec![a("10.41.0.4")]);
    assert_eq!(r1.dependent_neighbors(IF3, s1), Vec::<Ipv4Addr>::new());
    let r2 = &net.routers[1].d;
    assert_eq!(r2.dependent_neighbors(IF2, s1), vec![a("10.23.0.3")]);
    assert_eq!(r2.dependent_neighbors(IF1, s1), Vec::<Ipv4Addr>::new());
    let r4 = &net.routers[3].d;
    assert_eq!(
        r4.dependent_neighbors(IF1, s1),
        Vec::<Ipv4Addr>::new(),
        "R3 uses R2"
    );
    // The snapshot shows the same.
    let route = net.routers[0].route("10.0.1.0", 24).unwrap();
    assert_eq!(route.dependents.len(), 2);
    // What R2 sends on l12 for s1 is 1 + 1 + 32.
    let sent = net.routers[1].reported(IF1, at(60));
    assert!(!sent.is_empty());
    for (_, _, e) in sent.iter().filter(|(_, _, e)| e.network == a("10.0.1.0")) {
        assert_eq!(e.metric, 2 + INFINITY);
    }
}

/// 3.4.4 split horizon with poison reverse: no route is advertised back on the interface
/// it was learned on except poisoned; routes learned elsewhere are advertised normally.
#[test]
fn split_horizon_advertises_routes_back_only_poisoned() {
    let mut net = ring();
    net.run_until(at(300));
    for (i, r) in net.routers.iter().enumerate() {
        let table = r.d.snapshot().routes;
        for ifindex in [IF1, IF2] {
            let sent = r.reported(ifindex, at(100));
            assert!(!sent.is_empty(), "router {i} reports on {ifindex}");
            for (_, dst, e) in sent {
                assert_eq!(dst, dvmrp::packet::ALL_DVMRP_ROUTERS);
                let route = table
                    .iter()
                    .find(|x| x.network == e.network && x.prefix_len == e.prefix_len)
                    .unwrap();
                if route.origin == "learned" && route.upstream_interface == Some(ifindex) {
                    assert_eq!(e.metric, route.metric + INFINITY, "router {i} {e:?}");
                } else {
                    assert_eq!(e.metric, route.metric, "router {i} {e:?}");
                }
            }
        }
    }
}

/// 3.2.4, 3.4.7, 3.4.8: the link R1-R2 fails silently. After the Neighbor Time-out the
/// routes through it go into hold-down (advertised with infinity), and the ring
/// re-converges over the other side once the hold-downs are over: within the Neighbor
/// Time-out + Route Hold-down + a few flash updates, well inside the garbage collection
/// time (route expiration + hold-down) after the failure.
#[test]
fn ring_link_failure_reconverges_over_the_other_side() {
    let mut net = ring();
    net.run_until(at(100));
    let t_fail = net.now;
    net.cut.push("l12");
    let expected = net.expected(|_, _| 1);
    // R2 now reaches s1 via R3 and R4: metric 4.
    assert_eq!(
        expected[1][&(a("10.0.1.0"), 24)],
        (4, IF2, Some(a("10.23.0.3")))
    );
    // Before the Neighbor Time-out nothing changes.
    net.run_until(t_fail + secs(24));
    assert_eq!(net.routers[1].neighbors(IF1).len(), 1);
    // Within the time-out (35 s after the last probe heard, <= 10 s before the cut) both
    // ends lose each other, and R2's route to s1 goes into hold-down.
    net.run_until(t_fail + secs(36));
    assert!(net.routers[1].neighbors(IF1).is_empty());
    assert!(net.routers[0].neighbors(IF1).is_empty());
    assert_eq!(
        net.routers[1].events_of(dvmrp::events::NEIGHBOR_DOWN).len(),
        1
    );
    let r = net.routers[1].route("10.0.1.0", 24).unwrap();
    assert_eq!(r.state, RouteState::HeldDown);
    assert_eq!(r.advertised_metric, INFINITY);
    // R2 told R3 at once (flash): s1 advertised with infinity on l23.
    let down_at = net.routers[1].events_of(dvmrp::events::NEIGHBOR_DOWN)[0].0;
    let inf: Vec<_> = net.routers[1]
        .reported(IF2, down_at)
        .into_iter()
        .filter(|(_, _, e)| e.network == a("10.0.1.0") && e.metric == INFINITY)
        .collect();
    assert!(!inf.is_empty());
    assert!(inf[0].0 <= down_at + secs(5), "{inf:?}");
    // R3 moved its RPF for s1 to R4 at once (a replacement during hold-down, 3.4.8).
    net.run_for(secs(6));
    assert_eq!(
        net.routers[2].d.rpf(a("10.0.1.1")),
        Some((IF2, Some(a("10.34.0.4"))))
    );
    let gc = cfg().garbage_collection;
    let done = net
        .converge_by(t_fail + gc, &expected)
        .expect("re-converged within the garbage collection time");
    eprintln!("failure at {t_fail:?}, neighbour lost at {down_at:?}, converged at {done:?}");
    let bound = t_fail + cfg().neighbor_timeout + cfg().hold_down + secs(20);
    assert!(done <= bound, "converged at {done:?}, bound {bound:?}");
    // Hold-down was respected: R2 did not take the longer path before its hold-down ended.
    assert!(done >= down_at + cfg().hold_down, "{done:?} {down_at:?}");
    net.run_for(secs(400));
    assert_eq!(net.tables(), expected);
    // The link comes back: the original routes return.
    net.cut.clear();
    let expected = net.expected(|_, _| 1);
    net.converge_by(net.now + secs(60), &expected)
        .expect("re-converged after repair");
}

/// 3.4.5: a change goes out as a flash update at once (then at most every 5 s,
/// coalesced), and reaches the far side of the ring within a few seconds, long before
/// the next periodic report.
#[test]
fn triggered_updates_go_out_quickly_and_are_rate_limited() {
    let mut net = ring();
    net.run_until(at(200));
    let t = net.now;
    // R1 gets a new stub network.
    net.attach(0, 4, "10.99.0.1", 24, "s99", cfg());
    // R1 sent the flash in the same call (its last flash was long ago).
    let first = net.routers[0]
        .reported(IF1, t)
        .into_iter()
        .find(|(_, _, e)| e.network == a("10.99.0.0"))
        .expect("flash");
    assert_eq!(first.0, t);
    // A flash carries only changed routes.
    let flash_len = net.routers[0]
        .sent
        .iter()
        .filter(|s| s.at == t && s.ifindex == IF1)
        .filter_map(|s| s.report())
        .map(|r| r.routes.len())
        .sum::<usize>();
    assert_eq!(flash_len, 1);
    net.run_for(secs(11));
    for (i, r) in net.routers.iter().enumerate() {
        let route = r.route("10.99.0.0", 24).expect("learned");
        assert_eq!(route.state, RouteState::Valid, "router {i}");
    }
    assert_eq!(net.routers[2].route("10.99.0.0", 24).unwrap().metric, 3);
    // A second and third change 1 s and 2 s later wait for the Minimum Flash Update
    // Interval and go out together.
    net.run_until(t + secs(20));
    let t2 = net.now;
    net.attach(0, 5, "10.98.0.1", 24, "s98", cfg());
    assert!(
        net.routers[0]
            .reported(IF1, t2)
            .iter()
            .any(|(_, _, e)| e.network == a("10.98.0.0"))
    );
    net.run_for(secs(1));
    net.attach(0, 6, "10.97.0.1", 24, "s97", cfg());
    net.run_for(secs(1));
    net.attach(0, 7, "10.96.0.1", 24, "s96", cfg());
    assert!(
        !net.routers[0]
            .reported(IF1, t2 + secs(1))
            .iter()
            .any(|(_, _, e)| e.network == a("10.97.0.0"))
    );
    net.run_until(t2 + secs(5));
    let batch: Vec<_> = net.routers[0]
        .reported(IF1, t2 + secs(1))
        .into_iter()
        .map(|(at, _, e)| (at, e.network))
        .collect();
    assert_eq!(
        batch,
        vec![
            (t2 + secs(5), a("10.96.0.0")),
            (t2 + secs(5), a("10.97.0.0"))
        ]
    );
    // Flash updates of R1 on IF1 are never closer than 5 s, apart from periodic reports.
    let times: Vec<_> = net.routers[0]
        .sent
        .iter()
        .filter(|s| {
            s.ifindex == IF1 && s.report().is_some() && s.dst == dvmrp::packet::ALL_DVMRP_ROUTERS
        })
        .map(|s| (s.at, s.report().unwrap().routes.len()))
        .collect();
    let flashes: Vec<_> = times.iter().filter(|(_, n)| *n < 8).map(|x| x.0).collect();
    for w in flashes.windows(2) {
        assert!(w[1] == w[0] || w[1] - w[0] >= secs(5), "{flashes:?}");
    }
}

/// 3.4.6 B.1-B.2 with a fake neighbour: new routes, better metrics, equal metric from a
/// lower address, worse from others ignored, worse from the upstream accepted, infinity
/// from the upstream deletes (hold-down), illegal metrics ignored.
#[test]
fn report_processing_rules() {
    let mut net = Net::new();
    let r = net.router("R", dvmrp::config::Config::default(), 1);
    net.attach(r, 1, "10.0.0.1", 24, "lan", cfg());
    let (n2, n3) = (a("10.0.0.2"), a("10.0.0.3"));
    let me = a("10.0.0.1");
    net.probe_from(r, 1, n3, 3, &[me]);
    net.probe_from(r, 1, n2, 2, &[me]);
    // A: new route via n3, metric 5 + 1.
    net.report_from(r, 1, n3, &[("10.5.0.0", 16, 5)]);
    let route = |net: &Net| net.routers[0].route("10.5.0.0", 16).unwrap();
    assert_eq!(
        (route(&net).metric, route(&net).upstream_neighbor),
        (6, Some(n3))
    );
    // Worse from another neighbour: ignored.
    net.report_from(r, 1, n2, &[("10.5.0.0", 16, 7)]);
    assert_eq!(
        (route(&net).metric, route(&net).upstream_neighbor),
        (6, Some(n3))
    );
    // Equal from a lower address: switch.
    net.report_from(r, 1, n2, &[("10.5.0.0", 16, 5)]);
    assert_eq!(
        (route(&net).metric, route(&net).upstream_neighbor),
        (6, Some(n2))
    );
    // Equal from a higher address: stays.
    net.report_from(r, 1, n3, &[("10.5.0.0", 16, 5)]);
    assert_eq!(route(&net).upstream_neighbor, Some(n2));
    // Better from n3: switch.
    net.report_from(r, 1, n3, &[("10.5.0.0", 16, 3)]);
    assert_eq!(
        (route(&net).metric, route(&net).upstream_neighbor),
        (4, Some(n3))
    );
    // Worse from the upstream: accepted (B.1.a).
    net.report_from(r, 1, n3, &[("10.5.0.0", 16, 9)]);
    assert_eq!(
        (route(&net).metric, route(&net).upstream_neighbor),
        (10, Some(n3))
    );
    // Adjusted metric reaching infinity from the upstream: unreachable.
    net.report_from(r, 1, n3, &[("10.5.0.0", 16, 31)]);
    assert_eq!(route(&net).state, RouteState::HeldDown);
    // Illegal metrics and host bits: ignored and counted.
    net.report_from(r, 1, n2, &[("10.6.0.0", 16, 0), ("10.7.0.0", 16, 64)]);
    // 10.8.17.0/20 has host bits; emit would clear them, so build the bytes.
    let mut raw = vec![
        0x13, 2, 0, 0, 0, 0x0e, 0xff, 3, 0xff, 0xf0, 0x00, 10, 8, 17, 0x82,
    ];
    let c = ::common::checksum::checksum(&raw);
    raw[2..4].copy_from_slice(&c.to_be_bytes());
    net.inject_raw(r, 1, n2, dvmrp::packet::ALL_DVMRP_ROUTERS, 1, &raw);
    assert!(net.routers[0].route("10.6.0.0", 16).is_none());
    assert!(net.routers[0].route("10.7.0.0", 16).is_none());
    assert!(net.routers[0].route("10.8.16.0", 20).is_none());
    assert!(net.routers[0].route("10.8.17.0", 20).is_none());
    assert_eq!(
        net.routers[0].dropped(IF1, dvmrp::reasons::ILLEGAL_METRIC),
        2
    );
    assert_eq!(net.routers[0].dropped(IF1, dvmrp::reasons::HOST_BITS), 1);
    // Infinity for an unknown route, and from a non-upstream: nothing.
    net.report_from(r, 1, n2, &[("10.9.0.0", 16, 32), ("10.9.0.0", 16, 40)]);
    assert!(net.routers[0].route("10.9.0.0", 16).is_none());
    // Our own connected subnet is never replaced by a learned route.
    net.report_from(r, 1, n2, &[("10.0.0.0", 24, 1)]);
    let own = net.routers[0].route("10.0.0.0", 24).unwrap();
    assert_eq!(
        (own.origin, own.metric, own.upstream_neighbor),
        ("connected", 1, None)
    );
}

/// 3.4.7, 3.4.8: a route that its neighbour stops reporting expires after the Route
/// Expiration Time, is advertised with infinity during hold-down, and is removed at the
/// garbage collection time after its last refresh.
#[test]
fn route_expires_then_is_garbage_collected() {
    let mut net = Net::new();
    let r = net.router("R", dvmrp::config::Config::default(), 1);
    net.attach(r, 1, "10.0.0.1", 24, "lan", cfg());
    net.attach(r, 2, "10.1.0.1", 24, "down", cfg());
    let (me, me2, n) = (a("10.0.0.1"), a("10.1.0.1"), a("10.0.0.2"));
    let n2 = a("10.1.0.2");
    net.probe_from(r, 1, n, 7, &[me]);
    net.probe_from(r, 2, n2, 8, &[me2]);
    net.report_from(r, 1, n, &[("10.5.0.0", 16, 1)]);
    let t0 = net.now;
    // The neighbour keeps probing but never reports again.
    for k in 1..=30 {
        net.run_until(t0 + secs(10 * k));
        net.probe_from(r, 1, n, 7, &[me]);
        net.probe_from(r, 2, n2, 8, &[me2]);
        let route = net.routers[0].route("10.5.0.0", 16);
        let t = net.now - t0;
        if t < secs(140) {
            assert_eq!(route.unwrap().state, RouteState::Valid, "{t:?}");
        } else if t < secs(260) {
            let route = route.unwrap();
            assert_eq!(route.state, RouteState::Expired, "{t:?}");
            assert_eq!(route.advertised_metric, INFINITY);
            assert_eq!(net.routers[0].d.rpf(a("10.5.1.1")), None);
        } else {
            assert!(route.is_none(), "{t:?}");
        }
    }
    // Expiry was advertised at once with infinity on the other interface, then until GC.
    let sent: Vec<_> = net.routers[0]
        .reported(IfIndex(2), t0)
        .into_iter()
        .filter(|(_, _, e)| e.network == a("10.5.0.0"))
        .collect();
    let first_inf = sent.iter().find(|(_, _, e)| e.metric == INFINITY).unwrap();
    assert_eq!(first_inf.0, t0 + secs(140));
    assert!(
        sent.iter()
            .all(|(t, _, e)| (*t < t0 + secs(140)) == (e.metric == 2))
    );
    assert!(sent.iter().all(|(t, _, _)| *t < t0 + secs(260)));
}

/// 3.4.8: re-learning the same route from the same neighbour with the same metric takes
/// it out of hold-down at once; a different path waits for the hold-down to end but is
/// used for RPF meanwhile.
#[test]
fn hold_down_rules() {
    let mut net = Net::new();
    let r = net.router("R", dvmrp::config::Config::default(), 1);
    net.attach(r, 1, "10.0.0.1", 24, "lan", cfg());
    let (me, n2, n3) = (a("10.0.0.1"), a("10.0.0.2"), a("10.0.0.3"));
    net.fake(r, 1, n2, 2, &[me]);
    net.fake(r, 1, n3, 3, &[me]);
    net.report_from(r, 1, n2, &[("10.5.0.0", 16, 1), ("10.6.0.0", 16, 1)]);
    net.run_for(secs(1));
    net.report_from(r, 1, n2, &[("10.5.0.0", 16, 32), ("10.6.0.0", 16, 32)]);
    let route = |net: &Net, x| net.routers[0].route(x, 16).unwrap();
    assert_eq!(route(&net, "10.5.0.0").state, RouteState::HeldDown);
    // Same neighbour, same metric: out of hold-down.
    net.report_from(r, 1, n2, &[("10.5.0.0", 16, 1)]);
    assert_eq!(route(&net, "10.5.0.0").state, RouteState::Valid);
    assert_eq!(route(&net, "10.5.0.0").advertised_metric, 2);
    // Another neighbour: used for RPF, advertised as infinity until the hold-down ends.
    let t = net.now;
    net.report_from(r, 1, n3, &[("10.6.0.0", 16, 4)]);
    let x = route(&net, "10.6.0.0");
    assert_eq!(
        (x.state, x.metric, x.advertised_metric),
        (RouteState::HeldDown, 5, INFINITY)
    );
    assert_eq!(net.routers[0].d.rpf(a("10.6.0.1")), Some((IF1, Some(n3))));
    net.run_until(t + secs(60));
    net.report_from(r, 1, n3, &[("10.6.0.0", 16, 4)]);
    net.run_until(t + secs(119));
    assert_eq!(route(&net, "10.6.0.0").state, RouteState::HeldDown);
    net.run_until(t + secs(120));
    let x = route(&net, "10.6.0.0");
    assert_eq!((x.state, x.advertised_metric), (RouteState::Valid, 5));
}

/// 3.4.5: a table longer than the maximum Report length goes out in several Reports, each
/// within the limit (516 octets by default, as mrouted), together carrying every route.
#[test]
fn reports_longer_than_the_maximum_are_split() {
    let extra: Vec<(Ipv4Addr, u8)> = (0..300u32)
        .map(|i| (Ipv4Addr::from(0xac10_0000 + (i << 8)), 24))
        .collect();
    let mut net = Net::new();
    let r = net.router(
        "R",
        dvmrp::config::Config {
            extra_routes: extra.clone(),
            ..Default::default()
        },
        1,
    );
    net.attach(r, 1, "10.0.0.1", 24, "lan", cfg());
    let t = net.now;
    net.probe_from(r, 1, a("10.0.0.2"), 2, &[a("10.0.0.1")]);
    let unicast: Vec<_> = net.routers[0]
        .sent
        .iter()
        .filter(|s| s.at >= t && s.dst == a("10.0.0.2"))
        .collect();
    assert_eq!(unicast.len(), 3, "301 routes: 126 + 126 + 49");
    assert!(
        unicast
            .iter()
            .all(|s| s.len <= dvmrp::packet::MAX_LEN_576 && s.ttl == dvmrp::UNICAST_TTL)
    );
    let all: Vec<_> = unicast
        .iter()
        .flat_map(|s| s.report().unwrap().routes.clone())
        .collect();
    assert_eq!(all.len(), 301);
    for (net_, len) in extra {
        assert!(
            all.iter()
                .any(|e| e.network == net_ && e.prefix_len == len && e.metric == 1)
        );
    }
    // A smaller configured limit gives more, smaller reports.
    let mut net = Net::new();
    let r = net.router(
        "R",
        dvmrp::config::Config {
            extra_routes: (0..300u32)
                .map(|i| (Ipv4Addr::from(0xac10_0000 + (i << 8)), 24))
                .collect(),
            max_report_len: 100,
            ..Default::default()
        },
        1,
    );
    net.attach(r, 1, "10.0.0.1", 24, "lan", cfg());
    net.fake(r, 1, a("10.0.0.2"), 2, &[a("10.0.0.1")]);
    net.run_until(at(130));
    // The periodic Report (after the first flash update of every route, which leaves at
    // once) takes many messages: they are spread evenly over the 60 s interval (3.4.2).
    let periodic: Vec<_> = net.routers[0]
        .sent
        .iter()
        .filter(|s| {
            s.report().is_some() && s.dst == dvmrp::packet::ALL_DVMRP_ROUTERS && s.at >= at(30)
        })
        .collect();
    assert!(periodic.iter().all(|s| s.len <= 100));
    let first = periodic[0].at;
    let one_interval: Vec<_> = periodic
        .iter()
        .filter(|s| s.at < first + secs(60))
        .collect();
    let n = one_interval.len();
    assert!(n >= 301 / 22, "{n} messages");
    let routes: usize = one_interval
        .iter()
        .map(|s| s.report().unwrap().routes.len())
        .sum();
    assert_eq!(routes, 301, "the whole table once per interval");
    let step = secs(60) / u32::try_from(n).unwrap();
    for (k, s) in one_interval.iter().enumerate() {
        assert_eq!(
            s.at,
            first + step * u32::try_from(k).unwrap(),
            "message {k} of {n}"
        );
    }
}
