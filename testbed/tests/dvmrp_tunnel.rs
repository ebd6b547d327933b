//! The MBone picture: two islands of DVMRP routers joined by an IP-in-IP tunnel across a
//! router that runs no multicast routing at all.
//!
//! ```text
//!   island A                                      island B
//! src -- a1 -- a2 ========== tunnel ========== b1 -- b2 -- rcv
//!                \______ mid (unicast only) ___/
//! ```
//!
//! DVMRP runs on a1, a2, b1, b2 (probes, reports, prunes, grafts cross the tunnel as
//! unicast between its endpoints); `mid` only forwards unicast. Receivers on island B get
//! the stream from island A; prunes and grafts cross the tunnel.

use std::time::{Duration, Instant};

use serde_json::Value;
use testbed::counters::GroupCounter;
use testbed::traffic::{net, recv, report, send};
use testbed::{Net, wait_until};

const TOPOLOGY: &str = r#"
[options]
start_routers = false
[[host]]
name = "src"
[[host]]
name = "rcv"
[[router]]
name = "a1"
[[router]]
name = "a2"
[[router]]
name = "mid"
[[router]]
name = "b1"
[[router]]
name = "b2"
[[link]]
nodes = ["src", "a1"]
[[link]]
nodes = ["a1", "a2"]
[[link]]
nodes = ["a2", "mid"]
[[link]]
nodes = ["mid", "b1"]
[[link]]
nodes = ["b1", "b2"]
[[link]]
nodes = ["b2", "rcv"]
"#;

const G: &str = "239.9.9.9";
const TIMERS: &str = "probe_interval = 1\nreport_interval = 2\n";

fn iface(name: &str, igmp: bool) -> String {
    let protocols = if igmp {
        "[\"igmp\", \"dvmrp\"]"
    } else {
        "[\"dvmrp\"]"
    };
    let mut s = format!(
        "[[interface]]\nname = \"{name}\"\nprotocols = {protocols}\n[interface.dvmrp]\n{TIMERS}"
    );
    if igmp {
        s.push_str(
            "[interface.igmp]\nquery_interval = 2\nquery_response_interval = 1\n\
             last_member_query_interval = 0.2\n",
        );
    }
    s
}

fn tunnel(local: &str, remote: &str) -> String {
    format!(
        "[[tunnel]]\nname = \"mbone0\"\nlocal = \"{local}\"\nremote = \"{remote}\"\nmetric = 1\n\
         [tunnel.dvmrp]\n{TIMERS}"
    )
}

fn setup() -> Net {
    let net = net(TOPOLOGY);
    let a2_end = net.addr("a2", &net.iface("a2", "mid")).to_string();
    let b1_end = net.addr("b1", &net.iface("b1", "mid")).to_string();
    let head =
        |r: &str| format!("[router]\nname = \"{r}\"\n[dvmrp]\nmin_flash_update_interval = 1\n");
    let i = |r: &str, peer: &str| net.iface(r, peer);
    let configs = [
        (
            "a1",
            head("a1") + &iface(&i("a1", "src"), true) + &iface(&i("a1", "a2"), false),
        ),
        (
            "a2",
            head("a2") + &iface(&i("a2", "a1"), false) + &tunnel(&a2_end, &b1_end),
        ),
        (
            "b1",
            head("b1") + &iface(&i("b1", "b2"), false) + &tunnel(&b1_end, &a2_end),
        ),
        (
            "b2",
            head("b2") + &iface(&i("b2", "b1"), false) + &iface(&i("b2", "rcv"), true),
        ),
    ];
    for (r, c) in &configs {
        net.write_router_config(r, c).unwrap();
        net.start_router(r)
            .unwrap_or_else(|e| panic!("start {r}: {e:#}\n{c}"));
    }
    net
}

fn dvmrp(net: &Net, r: &str) -> Value {
    net.ctl_json(r, &["show", "dvmrp"]).unwrap()["dvmrp"].clone()
}

fn src_route(net: &Net, r: &str) -> Option<Value> {
    let o = net.primary_addr("src").octets();
    let n = format!("{}.{}.{}.0", o[0], o[1], o[2]);
    dvmrp(net, r)["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["network"] == n && x["state"] == "valid")
        .cloned()
}

fn tunnel_counter(net: &Net, r: &str, key: &str) -> u64 {
    let v = net.ctl_json(r, &["show", "tunnels"]).unwrap();
    v["tunnels"][0]["counters"][key].as_u64().unwrap_or(0)
}

#[test]
fn two_islands_joined_by_a_tunnel_across_a_unicast_only_router() {
    let net = setup();
    // Routes cross the tunnel: b2 reaches src's subnet through b1 and the tunnel, and a2
    // knows b1 depends on it (poison reverse over the tunnel).
    let ok = wait_until(Duration::from_secs(20), || {
        src_route(&net, "b2").is_some_and(|r| r["metric"] == 4)
            && src_route(&net, "a2")
                .is_some_and(|r| r["dependents"].as_array().is_some_and(|d| !d.is_empty()))
    });
    assert!(
        ok,
        "routes over the tunnel: b2 {:?}\na2 {}",
        src_route(&net, "b2"),
        dvmrp(&net, "a2")
    );
    let nbrs = net.ctl("a2", &["show", "dvmrp", "neighbors"]).unwrap();
    assert!(nbrs.contains("mbone0"), "{nbrs}");
    let tunnels = net.ctl_json("a2", &["show", "tunnels"]).unwrap();
    assert_eq!(tunnels["tunnels"][0]["mode"], "userspace", "{tunnels}");

    let on_mid = GroupCounter::install(&net, "mid", "a2", G).unwrap();
    let at_b2 = GroupCounter::install(&net, "b2", "b1", G).unwrap();
    let tx = send(&net, "src", G, 50, 1000, &[]);
    // No receiver: b2 prunes to b1, b1 prunes across the tunnel to a2.
    std::thread::sleep(Duration::from_secs(4));
    let encap = tunnel_counter(&net, "a2", "encap_packets");
    assert!(encap >= 1, "the first packets crossed the tunnel");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        tunnel_counter(&net, "a2", "encap_packets"),
        encap,
        "pruned across the tunnel: {}",
        dvmrp(&net, "a2")["forwarding"]
    );
    let b1 = dvmrp(&net, "b1")["forwarding"].clone();
    assert!(
        b1.to_string().contains("upstream_prune"),
        "b1 pruned upstream over the tunnel: {b1}"
    );
    let pruned_at_b2 = at_b2.packets(&net).unwrap();

    // A receiver on island B: the graft crosses the tunnel.
    let joined = Instant::now();
    let rx = recv(&net, "rcv", G, 4.0, &[]);
    let r = report(rx);
    let first = r.first_arrival_ms.expect("the stream arrives");
    eprintln!("graft over the tunnel: first packet after {first:.1} ms");
    assert!(
        first < 1000.0,
        "graft over the tunnel in {first} ms ({joined:?})"
    );
    assert!(r.unique >= 140, "{r:?}");
    assert_eq!(r.duplicates, 0);
    assert!(at_b2.packets(&net).unwrap() > pruned_at_b2 + 100);
    // mid never saw the group natively: only IP-in-IP crossed it.
    assert_eq!(
        on_mid.packets(&net).unwrap(),
        0,
        "mid carries no native multicast"
    );
    assert!(tunnel_counter(&net, "b1", "decap_packets") >= 140);
    drop(tx);
}
