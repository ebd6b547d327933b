//! Router-wide configuration changes in place (a reload): extra routes come and go through
//! the normal route machinery, nothing else is disturbed.

mod common;

use common::*;
use dvmrp::config::Config;
use dvmrp::{HoldDownCause, RouteState};

fn pair(config: Config) -> Net {
    let mut net = Net::new();
    net.router("A", config, 1);
    net.router("B", Config::default(), 2);
    net.attach(0, 1, "10.12.0.1", 24, "l12", cfg());
    net.attach(1, 1, "10.12.0.2", 24, "l12", cfg());
    net.run_for(secs(10));
    net
}

#[test]
fn extra_routes_are_added_withdrawn_and_re_metered_without_a_restart() {
    let extra = |routes: &[(&str, u8)], metric: u8| Config {
        extra_routes: routes.iter().map(|&(n, l)| (a(n), l)).collect(),
        extra_route_metric: metric,
        min_flash_update_interval: secs(1),
        ..Config::default()
    };
    let mut net = pair(extra(&[("192.168.1.0", 24)], 1));
    assert_eq!(net.routers[1].route("192.168.1.0", 24).unwrap().metric, 2);
    let genid = net.routers[1].neighbors(::common::IfIndex(1))[0].generation_id;

    // Add one, withdraw the other, in one reload.
    let now = net.now;
    let acts = net.routers[0]
        .d
        .set_config(now, extra(&[("192.168.2.0", 24)], 1));
    net.deliver(0, acts);
    net.run_for(secs(2));
    let b = &net.routers[1];
    assert_eq!(b.route("192.168.2.0", 24).unwrap().metric, 2, "announced");
    let gone = b.route("192.168.1.0", 24).unwrap();
    assert_eq!(gone.state, RouteState::HeldDown, "{gone:?}");
    let held = net.routers[0].route("192.168.1.0", 24).unwrap();
    assert_eq!(held.hold_down_cause, Some(HoldDownCause::Withdrawn));
    assert_eq!(held.advertised_metric, 32);
    // The neighbour saw no restart.
    assert_eq!(
        net.routers[1].neighbors(::common::IfIndex(1))[0].generation_id,
        genid
    );
    // After the hold-down the withdrawn route is gone everywhere.
    net.run_for(secs(300));
    assert!(net.routers[0].route("192.168.1.0", 24).is_none());
    assert!(net.routers[1].route("192.168.1.0", 24).is_none());

    // A new metric for the extra routes.
    let now = net.now;
    let acts = net.routers[0]
        .d
        .set_config(now, extra(&[("192.168.2.0", 24)], 5));
    net.deliver(0, acts);
    net.run_for(secs(2));
    assert_eq!(net.routers[1].route("192.168.2.0", 24).unwrap().metric, 6);
}
