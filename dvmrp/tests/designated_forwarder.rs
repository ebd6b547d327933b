//! Designated forwarder election (draft 2.4, 3.3.1) on a LAN with two upstream routers,
//! and the accessors the forwarding part will use: rpf, child interfaces, dependents.
//!
//! U (source network 10.9.0.0/24) reaches R1 over link "a" and R2 over link "b"; R1, R2
//! and R3 share the LAN 10.0.0.0/24 (LAN interface metric 10, so nobody routes to the
//! source across the LAN); R3 is downstream only.

mod common;

use ::common::IfIndex;
use common::*;

const IF1: IfIndex = IfIndex(1);
const IF2: IfIndex = IfIndex(2);
const IF3: IfIndex = IfIndex(3);
const R1: usize = 1;
const R2: usize = 2;
const R3: usize = 3;

fn lan_cfg() -> dvmrp::config::InterfaceConfig {
    metric_cfg(10)
}

fn topology(r1_a_metric: u8, r2_b_metric: u8) -> Net {
    let mut net = Net::new();
    for (i, name) in ["U", "R1", "R2", "R3"].into_iter().enumerate() {
        net.router(name, dvmrp::config::Config::default(), 10 + i as u64);
    }
    net.attach(0, 1, "10.1.0.1", 24, "a", cfg());
    net.attach(0, 2, "10.2.0.1", 24, "b", cfg());
    net.attach(0, 3, "10.9.0.1", 24, "src", cfg());
    net.attach(R1, 1, "10.1.0.2", 24, "a", metric_cfg(r1_a_metric));
    net.attach(R1, 2, "10.0.0.1", 24, "lan", lan_cfg());
    net.attach(R2, 1, "10.2.0.2", 24, "b", metric_cfg(r2_b_metric));
    net.attach(R2, 2, "10.0.0.2", 24, "lan", lan_cfg());
    net.attach(R3, 1, "10.0.0.3", 24, "lan", lan_cfg());
    net.attach(R3, 2, "10.3.0.1", 24, "leaf", cfg());
    net.run_until(at(30));
    net
}

fn source() -> std::net::Ipv4Addr {
    a("10.9.0.77")
}

fn df(net: &Net, r: usize) -> Option<std::net::Ipv4Addr> {
    net.routers[r].d.designated_forwarder(IF2, source())
}

/// 2.4: equal metrics: the lowest address on the LAN is the designated forwarder.
#[test]
fn lan_tie_elects_the_lowest_address() {
    let net = topology(1, 1);
    assert_eq!(net.routers[R1].route("10.9.0.0", 24).unwrap().metric, 2);
    assert_eq!(net.routers[R2].route("10.9.0.0", 24).unwrap().metric, 2);
    for r in [R1, R2] {
        assert_eq!(df(&net, r), Some(a("10.0.0.1")), "router {r}");
    }
    assert_eq!(
        net.routers[R3].d.designated_forwarder(IF1, source()),
        None,
        "upstream"
    );
    assert!(net.routers[R1].d.is_designated_forwarder(IF2, source()));
    assert!(!net.routers[R2].d.is_designated_forwarder(IF2, source()));
    // The accessors for forwarding.
    assert_eq!(net.routers[R1].d.child_interfaces(source()), vec![IF2]);
    assert_eq!(
        net.routers[R2].d.child_interfaces(source()),
        Vec::<IfIndex>::new()
    );
    assert_eq!(net.routers[0].d.child_interfaces(source()), vec![IF1, IF2]);
    assert_eq!(
        net.routers[R1].d.rpf(source()),
        Some((IF1, Some(a("10.1.0.1"))))
    );
    assert_eq!(net.routers[0].d.rpf(source()), Some((IF3, None)));
    // R3 picks the lower address too (12 either way) and depends on R1 there.
    assert_eq!(
        net.routers[R3].d.rpf(source()),
        Some((IF1, Some(a("10.0.0.1"))))
    );
    assert_eq!(
        net.routers[R1].d.dependent_neighbors(IF2, source()),
        vec![a("10.0.0.3")]
    );
    // R3's poison reverse is multicast on the LAN: R2 hears it too and, per 3.4.6 B.3.a
    // (as mrouted), registers R3; only the designated forwarder's list matters.
    assert_eq!(
        net.routers[R2].d.dependent_neighbors(IF2, source()),
        vec![a("10.0.0.3")]
    );
    assert_eq!(
        net.routers[0].d.dependent_neighbors(IF1, source()),
        vec![a("10.1.0.2")]
    );
    // R1 and R2 advertise 2 to each other on the LAN: not dependent on each other.
    assert!(
        !net.routers[R1]
            .d
            .dependent_neighbors(IF2, source())
            .contains(&a("10.0.0.2"))
    );
    // R3's own leaf network: R3 forwards onto the LAN for it? No: it is the only one
    // with metric 1 there, so it is the LAN's designated forwarder for it.
    assert!(
        net.routers[R3]
            .d
            .is_designated_forwarder(IF1, a("10.3.0.5"))
    );
    assert!(
        !net.routers[R1]
            .d
            .is_designated_forwarder(IF2, a("10.3.0.5"))
    );
    // The snapshot names the forwarder per interface.
    let route = net.routers[R2].route("10.9.0.0", 24).unwrap();
    assert_eq!(route.forwarders.len(), 1);
    assert_eq!(route.forwarders[0].forwarder, Some(a("10.0.0.1")));
    assert!(!route.forwarders[0].is_us);
}

/// 2.4, 3.3.1: the lower metric wins even from the higher address.
#[test]
fn lan_lower_metric_wins() {
    let net = topology(3, 1);
    assert_eq!(net.routers[R1].route("10.9.0.0", 24).unwrap().metric, 4);
    for r in [R1, R2] {
        assert_eq!(df(&net, r), Some(a("10.0.0.2")), "router {r}");
    }
    assert!(net.routers[R2].d.is_designated_forwarder(IF2, source()));
    assert!(!net.routers[R1].d.is_designated_forwarder(IF2, source()));
    assert_eq!(
        net.routers[R3].d.rpf(source()),
        Some((IF1, Some(a("10.0.0.2"))))
    );
    assert_eq!(
        net.routers[R2].d.dependent_neighbors(IF2, source()),
        vec![a("10.0.0.3")]
    );
}

/// 3.3.1, 3.4.6 B.1: a metric change moves the designated forwarder, on both routers,
/// once the new metric has been reported (next report from U, then a flash update).
#[test]
fn designated_forwarder_follows_metric_changes() {
    let mut net = topology(1, 1);
    assert_eq!(df(&net, R2), Some(a("10.0.0.1")));
    let t = net.now;
    net.configure(R1, 1, metric_cfg(3));
    // R1's route changes on U's next report (within one report interval), and R1's flash
    // update tells R2 at once.
    let mut switched = None;
    while net.now < t + secs(70) {
        net.run_for(secs(1));
        if switched.is_none()
            && df(&net, R1) == Some(a("10.0.0.2"))
            && df(&net, R2) == Some(a("10.0.0.2"))
        {
            switched = Some(net.now);
        }
    }
    let switched = switched.expect("DF moved to R2");
    assert!(switched <= t + secs(66), "{switched:?}");
    assert!(net.routers[R2].d.is_designated_forwarder(IF2, source()));
    // R3 moves to the better upstream at R2's next report at the latest.
    net.run_for(secs(60));
    assert_eq!(
        net.routers[R3].d.rpf(source()),
        Some((IF1, Some(a("10.0.0.2"))))
    );
    assert_eq!(
        net.routers[R2].d.dependent_neighbors(IF2, source()),
        vec![a("10.0.0.3")]
    );
    // Now R2's link to U gets worse than R1's: R1 forwards again.
    net.configure(R2, 1, metric_cfg(5));
    net.run_for(secs(130));
    for r in [R1, R2] {
        assert_eq!(df(&net, r), Some(a("10.0.0.1")), "router {r}");
    }
    assert_eq!(
        net.routers[R3].d.rpf(source()),
        Some((IF1, Some(a("10.0.0.1"))))
    );
}

/// 3.2.4 step 2, 3.3.1: when the designated forwarder falls silent on the LAN, the other
/// router takes over after the Neighbor Time-out, and the downstream router moves its
/// RPF to it at once (the replacement path it already heard, 3.4.8).
#[test]
fn designated_forwarder_lost_is_replaced() {
    let mut net = topology(1, 1);
    assert!(net.routers[R1].d.is_designated_forwarder(IF2, source()));
    let t = net.now;
    // R1 stops DVMRP on its LAN interface without a word.
    let acts = net.routers[R1].d.remove_interface(t, IF2);
    net.deliver(R1, acts);
    net.run_until(t + secs(24));
    assert_eq!(df(&net, R2), Some(a("10.0.0.1")));
    net.run_until(t + secs(36));
    assert_eq!(df(&net, R2), Some(a("10.0.0.2")));
    assert!(net.routers[R2].d.is_designated_forwarder(IF2, source()));
    assert_eq!(
        net.routers[R2].d.two_way_neighbors(IF2),
        vec![a("10.0.0.3")]
    );
    assert_eq!(
        net.routers[R3].d.rpf(source()),
        Some((IF1, Some(a("10.0.0.2"))))
    );
    let route = net.routers[R3].route("10.9.0.0", 24).unwrap();
    assert_eq!(route.state, dvmrp::RouteState::HeldDown);
    assert_eq!(route.metric, 12);
    // After the hold-down R3 advertises it again, and its dependency moves to R2.
    net.run_until(t + secs(36 + 120 + 60));
    let route = net.routers[R3].route("10.9.0.0", 24).unwrap();
    assert_eq!(route.state, dvmrp::RouteState::Valid);
    assert_eq!(
        net.routers[R2].d.dependent_neighbors(IF2, source()),
        vec![a("10.0.0.3")]
    );
    let _ = IF3;
}
