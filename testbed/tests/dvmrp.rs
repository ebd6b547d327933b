//! DVMRP (draft-ietf-idmr-dvmrp-v3-11) between real `mrouterd` processes: neighbour
//! discovery and route exchange over a chain, what tshark's independent DVMRP dissector
//! makes of the messages we send, a neighbour that goes silent or whose link goes down
//! (time-out, hold-down, recovery), and malformed messages crafted with scapy.
//!
//! The timers are short (Probes every second, Reports every 2 s) so that the tests take
//! seconds; the `Net` removes its namespaces when dropped, also on a panic.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use testbed::capture::{Capture, rows};
use testbed::traffic::net;
use testbed::{Net, wait_until};

/// Per-interface DVMRP settings of every router: Probes every second (neighbour time-out
/// 3.5 s), Reports every 2 s, routes expire after 10 s and stay 20 s in hold-down.
const TIMERS: &str = "dvmrp = { probe_interval = 1, report_interval = 2, route_expiration = 10, \
                      hold_down = 20, garbage_collection = 30 }";

/// h1 -- r1 -- r2 -- r3 -- h3, every router interface running DVMRP; r2's interface
/// towards r3 has metric 2. Subnets: 10.0.1.0/24 (h1-r1), 10.0.2.0/24 (r1-r2, r1 .1,
/// r2 .2), 10.0.3.0/24 (r2-r3, r2 .1, r3 .2), 10.0.4.0/24 (r3-h3).
fn chain() -> Net {
    let mut t = String::from("[[host]]\nname = \"h1\"\n[[host]]\nname = \"h3\"\n");
    for r in ["r1", "r2", "r3"] {
        let metric = if r == "r2" { ", metric = 2" } else { "" };
        let eth1 = TIMERS.replacen(" }", &format!("{metric} }}"), 1);
        t.push_str(&format!(
            "[[router]]\nname = \"{r}\"\n[router.mrouterd]\n\
             dvmrp = {{ min_flash_update_interval = 1 }}\n\
             interface = [ {{ name = \"eth0\", protocols = [\"dvmrp\"], {TIMERS} }}, \
             {{ name = \"eth1\", protocols = [\"dvmrp\"], {eth1} }} ]\n"
        ));
    }
    for pair in [["h1", "r1"], ["r1", "r2"], ["r2", "r3"], ["r3", "h3"]] {
        t.push_str(&format!(
            "[[link]]\nnodes = [\"{}\", \"{}\"]\n",
            pair[0], pair[1]
        ));
    }
    net(&t)
}

/// `mrouterctl show dvmrp --json` of a router: the snapshot.
fn dvmrp(net: &Net, router: &str) -> Value {
    net.ctl_json(router, &["show", "dvmrp"])
        .unwrap_or_else(|e| panic!("{router}: show dvmrp: {e:#}"))["dvmrp"]
        .clone()
}

fn iface<'a>(snapshot: &'a Value, ifname: &str) -> &'a Value {
    snapshot["interfaces"]
        .as_array()
        .and_then(|l| l.iter().find(|i| i["name"] == ifname))
        .unwrap_or_else(|| panic!("no DVMRP interface {ifname}: {snapshot}"))
}

/// Neighbours of an interface: address -> state ("one_way", "two_way").
fn neighbors(net: &Net, router: &str, ifname: &str) -> BTreeMap<String, String> {
    iface(&dvmrp(net, router), ifname)["neighbors"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|n| (s(&n["address"]), s(&n["state"])))
                .collect()
        })
        .unwrap_or_default()
}

fn s(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// One route as the tests compare it: metric, origin, state, upstream interface name,
/// upstream neighbour ("-" for none).
type RouteView = (u64, String, String, String, String);

/// The route table: "network/len" -> view.
fn routes(net: &Net, router: &str) -> BTreeMap<String, RouteView> {
    dvmrp(net, router)["routes"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|r| {
                    (
                        format!("{}/{}", s(&r["network"]), r["prefix_len"]),
                        (
                            r["metric"].as_u64().unwrap_or(99),
                            s(&r["origin"]),
                            s(&r["state"]),
                            r["upstream_interface_name"]
                                .as_str()
                                .unwrap_or("-")
                                .to_owned(),
                            r["upstream_neighbor"].as_str().unwrap_or("-").to_owned(),
                        ),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn route(net: &Net, router: &str, network: &str) -> Value {
    dvmrp(net, router)["routes"]
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|r| format!("{}/{}", s(&r["network"]), r["prefix_len"]) == network)
                .cloned()
        })
        .unwrap_or(Value::Null)
}

fn view(metric: u64, origin: &str, ifname: &str, neighbor: &str) -> RouteView {
    (
        metric,
        origin.into(),
        "valid".into(),
        ifname.into(),
        neighbor.into(),
    )
}

/// What every router of [`chain`] must have once the routes have converged, with metric
/// `m` on r2's eth1: the metric is the sum of the interface metrics on the way, the
/// upstream is the next router towards the subnet.
fn converged_tables(m: u64) -> BTreeMap<&'static str, BTreeMap<String, RouteView>> {
    let t = |rows: [(&str, RouteView); 4]| -> BTreeMap<String, RouteView> {
        rows.into_iter().map(|(n, v)| (n.to_owned(), v)).collect()
    };
    [
        (
            "r1",
            t([
                ("10.0.1.0/24", view(1, "connected", "eth0", "-")),
                ("10.0.2.0/24", view(1, "connected", "eth1", "-")),
                ("10.0.3.0/24", view(m + 1, "learned", "eth1", "10.0.2.2")),
                ("10.0.4.0/24", view(m + 2, "learned", "eth1", "10.0.2.2")),
            ]),
        ),
        (
            "r2",
            t([
                ("10.0.1.0/24", view(2, "learned", "eth0", "10.0.2.1")),
                ("10.0.2.0/24", view(1, "connected", "eth0", "-")),
                ("10.0.3.0/24", view(m, "connected", "eth1", "-")),
                ("10.0.4.0/24", view(m + 1, "learned", "eth1", "10.0.3.2")),
            ]),
        ),
        (
            "r3",
            t([
                ("10.0.1.0/24", view(3, "learned", "eth0", "10.0.3.1")),
                ("10.0.2.0/24", view(2, "learned", "eth0", "10.0.3.1")),
                ("10.0.3.0/24", view(1, "connected", "eth0", "-")),
                ("10.0.4.0/24", view(1, "connected", "eth1", "-")),
            ]),
        ),
    ]
    .into_iter()
    .collect()
}

fn adjacent(net: &Net) -> bool {
    let two_way = |r: &str, i: &str, n: &str| {
        neighbors(net, r, i).get(n).map(String::as_str) == Some("two_way")
    };
    two_way("r1", "eth1", "10.0.2.2")
        && two_way("r2", "eth0", "10.0.2.1")
        && two_way("r2", "eth1", "10.0.3.2")
        && two_way("r3", "eth0", "10.0.3.1")
}

fn converged(net: &Net, m: u64) -> bool {
    converged_tables(m)
        .iter()
        .all(|(r, want)| routes(net, r) == *want)
}

/// Wait until the chain is adjacent and converged (metric 2 on r2's eth1), or fail with
/// every table.
fn wait_converged(net: &Net, within: Duration, what: &str) {
    wait_converged_with(net, within, what, 2);
}

fn wait_converged_with(net: &Net, within: Duration, what: &str, m: u64) {
    let ok = wait_until(within, || adjacent(net) && converged(net, m));
    if !ok {
        let mut msg = format!("{what}: not converged within {within:?}\n");
        for r in ["r1", "r2", "r3"] {
            msg.push_str(&format!(
                "{r} neighbors:\n{}{r} routes:\n{}",
                net.ctl(r, &["show", "dvmrp", "neighbors"])
                    .unwrap_or_default(),
                net.ctl(r, &["show", "dvmrp", "routes"]).unwrap_or_default()
            ));
        }
        panic!("{msg}");
    }
}

#[test]
fn a_chain_of_routers_become_two_way_neighbours_and_learn_every_subnet() {
    let net = chain();
    wait_converged(&net, Duration::from_secs(15), "chain");
    // Host-facing interfaces have no neighbours.
    assert!(neighbors(&net, "r1", "eth0").is_empty());
    assert!(neighbors(&net, "r3", "eth1").is_empty());
    // What each side heard in the other's Probes is what the other says about itself.
    let r1 = dvmrp(&net, "r1");
    let r2 = dvmrp(&net, "r2");
    let r2_eth0 = iface(&r2, "eth0");
    let r1_sees_r2 = &iface(&r1, "eth1")["neighbors"][0];
    assert_eq!(
        r1_sees_r2["generation_id"], r2_eth0["generation_id"],
        "{r1_sees_r2} / {r2_eth0}"
    );
    assert_eq!(r1_sees_r2["major_version"], 3);
    assert_eq!(r1_sees_r2["minor_version"], 255);
    assert_eq!(r2_eth0["metric"], 1);
    assert_eq!(iface(&r2, "eth1")["metric"], 2);
    // Split horizon with poison reverse (3.4.4): r2 depends on r1 for h1's subnet.
    let h1_net = route(&net, "r1", "10.0.1.0/24");
    assert_eq!(
        h1_net["dependents"],
        serde_json::json!([{"ifindex": iface(&r1, "eth1")["ifindex"], "name": "eth1",
                           "neighbors": ["10.0.2.2"]}]),
        "{h1_net}"
    );
    // r1 is the designated forwarder for h3's subnet towards h1 (3.3.1).
    let h3_net = route(&net, "r1", "10.0.4.0/24");
    assert!(
        h3_net["forwarders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "eth0" && f["is_us"] == true),
        "{h3_net}"
    );
    // The shell's counters and the human-readable tables.
    let c = &net.ctl_json("r2", &["show", "counters"]).unwrap()["counters"];
    assert!(c["dvmrp_packets"].as_u64().unwrap() > 4, "{c}");
    assert!(c["dvmrp_sent"].as_u64().unwrap() > 4, "{c}");
    assert_eq!(c["dvmrp_send_errors"], 0, "{c}");
    assert_eq!(c["dvmrp_not_enabled"], 0, "{c}");
    let text = net.ctl("r2", &["show", "dvmrp", "neighbors"]).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("eth1") && l.contains("10.0.3.2") && l.contains("two-way")),
        "{text}"
    );
    let text = net.ctl("r1", &["show", "dvmrp", "routes"]).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("10.0.4.0/24")
            && l.contains("learned")
            && l.contains("10.0.2.2")),
        "{text}"
    );
    let text = net.ctl("r3", &["show", "dvmrp"]).unwrap();
    assert!(text.contains("10.0.3.2/24"), "{text}");
    // No forwarding cache without traffic; the MRIB shows no DVMRP (*,G) intents.
    let text = net.ctl("r3", &["show", "dvmrp", "prunes"]).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let m = net.ctl_json("r2", &["show", "mroutes"]).unwrap();
    assert_eq!(m["dvmrp_star"], serde_json::json!({}), "{m}");
}

#[test]
fn reload_applies_interface_and_router_wide_settings_in_place() {
    let net = chain();
    wait_converged(&net, Duration::from_secs(15), "chain");
    let genids = |r: &str| -> Vec<Value> {
        dvmrp(&net, r)["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["generation_id"].clone())
            .collect()
    };
    let before = genids("r2");
    // An interface setting: applied to that interface in place (same Generation IDs).
    let path = net.router_config_path("r2");
    let cfg = std::fs::read_to_string(&path).unwrap();
    assert!(cfg.contains("metric = 2"), "{cfg}");
    let cfg = cfg.replace("metric = 2", "metric = 5");
    net.write_router_config("r2", &cfg).unwrap();
    net.ctl("r2", &["reload"]).unwrap();
    wait_converged_with(&net, Duration::from_secs(10), "metric 5 on r2's eth1", 5);
    assert_eq!(genids("r2"), before, "DVMRP did not restart");
    // A router-wide setting: applied in place too; the neighbours see no restart and the
    // routes stay.
    assert!(cfg.contains("min_flash_update_interval = 1"), "{cfg}");
    let cfg = cfg.replace(
        "min_flash_update_interval = 1",
        "min_flash_update_interval = 0.5",
    );
    net.write_router_config("r2", &cfg).unwrap();
    net.ctl("r2", &["reload"]).unwrap();
    wait_converged_with(&net, Duration::from_secs(12), "after [dvmrp] changed", 5);
    assert_eq!(genids("r2"), before, "DVMRP did not restart");
    assert!(
        !net.router_log("r1").contains("dvmrp_neighbor_restart"),
        "{}",
        net.router_log("r1")
    );
    assert!(
        net.router_log("r2")
            .contains("[dvmrp] changed: applied in place")
    );
}

#[test]
fn tshark_decodes_our_probes_and_reports_without_complaint() {
    let net = chain();
    wait_converged(&net, Duration::from_secs(15), "chain");
    // Capture the r1-r2 link on r2 for a few Probe and Report intervals.
    let cap = Capture::start(&net, "r2", "eth0", "igmp");
    std::thread::sleep(Duration::from_millis(5500));
    let fields = [
        "ip.src",
        "ip.dst",
        "ip.ttl",
        "ip.proto",
        "ip.checksum.status",
        "dvmrp.version",
        "dvmrp.type",
        "dvmrp.v3.code",
        "dvmrp.checksum.status",
        "dvmrp.maj_ver",
        "dvmrp.min_ver",
        "dvmrp.genid",
        "dvmrp.neighbor",
        "dvmrp.saddr",
        "dvmrp.metric",
        "_ws.malformed",
        "_ws.expert.message",
    ];
    let text = cap.fields("dvmrp", &fields);
    let packets = rows(&text, &fields);
    let r1 = dvmrp(&net, "r1");
    let r2 = dvmrp(&net, "r2");
    // tshark shows the Generation ID in decimal.
    let genid = |snap: &Value, ifname: &str| iface(snap, ifname)["generation_id"].to_string();
    for p in &packets {
        for (field, want) in [
            ("ip.dst", "224.0.0.4"),
            ("ip.ttl", "1"),
            ("ip.proto", "2"),
            ("ip.checksum.status", "1"),
            ("dvmrp.version", "3"),
            ("dvmrp.type", "0x13"),
            ("dvmrp.checksum.status", "1"),
            ("dvmrp.maj_ver", "0x03"),
            ("dvmrp.min_ver", "0xff"),
            ("_ws.malformed", ""),
            ("_ws.expert.message", ""),
        ] {
            assert_eq!(
                p.get(field).copied(),
                Some(want),
                "{field} in {p:?}\n{text}"
            );
        }
    }
    let of = |src: &str, code: &str| -> Vec<&BTreeMap<&str, &str>> {
        packets
            .iter()
            .filter(|p| p["ip.src"] == src && p["dvmrp.v3.code"] == code)
            .collect()
    };
    // Probes (code 1): every second, with the Generation ID and the neighbour heard.
    for (src, me, other, nbr) in [
        ("10.0.2.1", &r1, "eth1", "10.0.2.2"),
        ("10.0.2.2", &r2, "eth0", "10.0.2.1"),
    ] {
        let probes = of(src, "0x01");
        assert!(probes.len() >= 3, "Probes from {src}:\n{text}");
        for p in probes {
            assert_eq!(p["dvmrp.genid"], genid(me, other), "{p:?}");
            assert_eq!(p["dvmrp.neighbor"], nbr, "{p:?}");
        }
    }
    // Reports (code 2): the whole table every 2 s, poisoned towards the upstream
    // (metric + 32, 3.4.4).
    let table = |src: &str| -> BTreeMap<String, String> {
        let reports = of(src, "0x02");
        assert!(reports.len() >= 2, "Reports from {src}:\n{text}");
        let last = reports.last().unwrap();
        last["dvmrp.saddr"]
            .split(',')
            .zip(last["dvmrp.metric"].split(','))
            .map(|(a, m)| (a.to_owned(), m.to_owned()))
            .collect()
    };
    let want = |rows: &[(&str, &str)]| -> BTreeMap<String, String> {
        rows.iter()
            .map(|(a, m)| (a.to_string(), m.to_string()))
            .collect()
    };
    assert_eq!(
        table("10.0.2.1"),
        want(&[
            ("10.0.1.0", "1"),
            ("10.0.2.0", "1"),
            ("10.0.3.0", "35"),
            ("10.0.4.0", "36")
        ]),
        "r1's Report\n{text}"
    );
    assert_eq!(
        table("10.0.2.2"),
        want(&[
            ("10.0.1.0", "34"),
            ("10.0.2.0", "1"),
            ("10.0.3.0", "2"),
            ("10.0.4.0", "3")
        ]),
        "r2's Report\n{text}"
    );
}

#[test]
fn a_lost_neighbour_times_out_its_routes_are_held_down_and_all_recover() {
    let net = chain();
    wait_converged(&net, Duration::from_secs(15), "chain");
    let held = |r: &str, network: &str, cause: &str| {
        let v = route(&net, r, network);
        v["state"] == "held_down" && v["hold_down_cause"] == cause && v["advertised_metric"] == 32
    };

    // The r2-r3 link silently drops everything (both ways): no Probes, no goodbye.
    net.set_loss("r2", "r3", 100).unwrap();
    net.set_loss("r3", "r2", 100).unwrap();
    let t = Instant::now();
    assert!(
        wait_until(Duration::from_secs(8), || neighbors(&net, "r2", "eth1")
            .is_empty()),
        "{}",
        net.ctl("r2", &["show", "dvmrp", "neighbors"]).unwrap()
    );
    let took = t.elapsed();
    // Neighbor Time-out 3.5 s after the last Probe, which came at most 1 s before.
    assert!(
        took >= Duration::from_millis(2300),
        "not before the time-out: {took:?}"
    );
    assert!(
        took <= Duration::from_millis(3500 + 2000),
        "within the time-out: {took:?}"
    );
    assert!(wait_until(Duration::from_secs(3), || neighbors(
        &net, "r3", "eth0"
    )
    .is_empty()));
    assert!(
        net.router_log("r2").contains("neighbor timeout"),
        "the loss is logged: {}",
        net.router_log("r2")
    );
    // Routes through the lost neighbour are held down (3.4.8), advertised as infinity;
    // r1 hears that from r2 and holds h3's subnet down too.
    assert!(
        wait_until(Duration::from_secs(2), || held(
            "r2",
            "10.0.4.0/24",
            "neighbor_lost"
        )),
        "{}",
        net.ctl("r2", &["show", "dvmrp", "routes"]).unwrap()
    );
    assert!(held("r3", "10.0.1.0/24", "neighbor_lost"));
    assert!(held("r3", "10.0.2.0/24", "neighbor_lost"));
    assert!(
        wait_until(Duration::from_secs(5), || held(
            "r1",
            "10.0.4.0/24",
            "unreachable"
        )),
        "{}",
        net.ctl("r1", &["show", "dvmrp", "routes"]).unwrap()
    );
    // What does not go through r3 is untouched.
    assert_eq!(
        routes(&net, "r1")["10.0.3.0/24"],
        converged_tables(2)["r1"]["10.0.3.0/24"]
    );
    // The link works again: adjacency and every route are back (out of hold-down at
    // once, since the same neighbour announces the same metric).
    net.set_loss("r2", "r3", 0).unwrap();
    net.set_loss("r3", "r2", 0).unwrap();
    wait_converged(&net, Duration::from_secs(10), "after the loss ended");

    // Now r3's end of the link goes down: r3 stops at once (interface down), r2 still
    // has its link up and times r3 out.
    net.node("r3")
        .run(&["ip", "link", "set", "eth0", "down"])
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(2), || held(
            "r3",
            "10.0.3.0/24",
            "interface_down"
        ) && held(
            "r3",
            "10.0.1.0/24",
            "neighbor_lost"
        )),
        "{}",
        net.ctl("r3", &["show", "dvmrp", "routes"]).unwrap()
    );
    assert_eq!(
        iface(&dvmrp(&net, "r3"), "eth0")["active"],
        false,
        "{}",
        dvmrp(&net, "r3")
    );
    assert!(
        wait_until(Duration::from_secs(8), || neighbors(&net, "r2", "eth1")
            .is_empty()
            && held("r2", "10.0.4.0/24", "neighbor_lost")),
        "{}",
        net.ctl("r2", &["show", "dvmrp", "routes"]).unwrap()
    );
    net.node("r3")
        .run(&["ip", "link", "set", "eth0", "up"])
        .unwrap();
    wait_converged(&net, Duration::from_secs(12), "after the link came back");
}

#[test]
fn malformed_dvmrp_is_counted_and_dropped_and_the_daemon_stays_up() {
    // h1 -- r1 -- r2, and h2 on r1's eth2, which is a VIF but does not run DVMRP.
    let topo = format!(
        "[[host]]\nname = \"h1\"\n[[host]]\nname = \"h2\"\n\
         [[router]]\nname = \"r1\"\n[router.mrouterd]\n\
         interface = [ {{ name = \"eth0\", protocols = [\"dvmrp\"], {TIMERS} }}, \
         {{ name = \"eth1\", protocols = [\"dvmrp\"], {TIMERS} }}, {{ name = \"eth2\" }} ]\n\
         [[router]]\nname = \"r2\"\n[router.mrouterd]\n\
         interface = [ {{ name = \"eth0\", protocols = [\"dvmrp\"], {TIMERS} }} ]\n\
         [[link]]\nnodes = [\"h1\", \"r1\"]\n[[link]]\nnodes = [\"r1\", \"r2\"]\n\
         [[link]]\nnodes = [\"r1\", \"h2\"]\n"
    );
    let net = net(&topo);
    let two_way = || {
        neighbors(&net, "r1", "eth1")
            .get("10.0.2.2")
            .map(String::as_str)
            == Some("two_way")
    };
    assert!(wait_until(Duration::from_secs(10), two_way));
    // scapy crafts what no router sends: a bad checksum, a message shorter than the
    // header, an unknown code, a truncated Probe, a Report with a non-contiguous mask,
    // a Probe with TTL 2, a Report from a stranger, and a flood of truncated Probes.
    let script = r#"
import sys
from scapy.all import IP, Raw, send, conf
conf.verb = 0
def dvmrp(payload, fix=True, ttl=1, dst="224.0.0.4"):
    b = bytearray(payload)
    if fix and len(b) >= 4:
        b[2] = b[3] = 0
        s = 0
        data = bytes(b) + (b"\0" if len(b) % 2 else b"")
        for i in range(0, len(data), 2):
            s += (data[i] << 8) | data[i + 1]
        while s >> 16:
            s = (s & 0xffff) + (s >> 16)
        c = ~s & 0xffff
        b[2], b[3] = c >> 8, c & 0xff
    send(IP(dst=dst, ttl=ttl, proto=2) / Raw(bytes(b)), iface="eth0")
hdr = lambda code: [0x13, code, 0, 0, 0, 0x0e, 0xff, 3]
if sys.argv[1] == "unicast":
    dvmrp(bytes(hdr(2) + [0xff, 0xff, 0x00, 10, 9, 9, 0x81]), dst=sys.argv[2])
    sys.exit(0)
dvmrp(bytes([0x13, 1, 0x12, 0x34, 0, 0x0e, 0xff, 3, 1, 2, 3, 4]), fix=False)  # bad checksum
dvmrp(bytes([0x13, 1, 0, 0, 0]))                                         # 5 octets
dvmrp(bytes(hdr(99)))                                                    # unknown code
dvmrp(bytes(hdr(1) + [1, 2]))                                            # genid cut
dvmrp(bytes(hdr(2) + [0x00, 0xff, 0x00, 10, 9, 9, 0x81]))                # mask 255.0.255.0
dvmrp(bytes(hdr(1) + [1, 2, 3, 4]), ttl=2)                               # Probe, TTL 2
dvmrp(bytes(hdr(2) + [0xff, 0xff, 0x00, 10, 9, 9, 0x81]))                # Report, no neighbour
for n in range(50):
    dvmrp(bytes(hdr(1) + [1, 2, 3, 4, 10, 0]))                           # neighbour cut
"#;
    let out = net
        .node("h1")
        .exec(&["/usr/bin/python3", "-c", script, "multicast"])
        .unwrap();
    assert!(
        out.status.success(),
        "scapy (python3-scapy) failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A Report to r1's address on the interface that does not run DVMRP.
    let r1_eth2 = net.addr("r1", "eth2").to_string();
    let out = net
        .node("h2")
        .exec(&["/usr/bin/python3", "-c", script, "unicast", &r1_eth2])
        .unwrap();
    assert!(
        out.status.success(),
        "scapy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dropped = || iface(&dvmrp(&net, "r1"), "eth0")["dropped"].clone();
    assert!(
        wait_until(Duration::from_secs(3), || {
            dropped()["truncated"].as_u64().unwrap_or(0) >= 51
                && net.ctl_json("r1", &["show", "counters"]).unwrap()["counters"]
                    ["dvmrp_not_enabled"]
                    .as_u64()
                    .unwrap_or(0)
                    >= 1
        }),
        "{}\n{}",
        dropped(),
        net.ctl("r1", &["show", "counters"]).unwrap()
    );
    let d = dropped();
    for (reason, n) in [
        ("bad_checksum", 1),
        ("too_short", 1),
        ("unknown_code", 1),
        ("bad_netmask", 1),
        ("bad_ttl", 1),
        ("not_two_way", 1),
    ] {
        assert_eq!(d[reason].as_u64(), Some(n), "{reason}: {d}");
    }
    let text = net.ctl("r1", &["show", "dvmrp"]).unwrap();
    assert!(
        text.contains("eth0 dropped:") && text.contains("truncated=51"),
        "{text}"
    );
    // Still alive and still correct: the neighbour is two-way, h1's stranger made no route.
    assert!(net.ctl_json("r1", &["version"]).is_ok());
    assert!(two_way());
    std::thread::sleep(Duration::from_secs(2));
    assert!(two_way());
    assert!(route(&net, "r1", "10.9.9.0/24").is_null());
    assert!(
        routes(&net, "r2").contains_key("10.0.1.0/24"),
        "{:?}",
        routes(&net, "r2")
    );
}
