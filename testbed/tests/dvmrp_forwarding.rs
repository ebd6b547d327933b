//! DVMRP forwarding with real `mrouterd` routers, the kernel dataplane and real traffic:
//! flood and prune, graft, prune lifetime expiry, the designated forwarder on a LAN, and
//! re-convergence on a ring after a link failure. The tunnel case is in
//! `dvmrp_tunnel.rs`.
//!
//! Timers are shortened (probes every second, reports every 2 s, routes expire after 5 s)
//! so that each test takes seconds, not minutes; the protocol is the same.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use testbed::capture::{Capture, rows};
use testbed::counters::GroupCounter;
use testbed::traffic::{net, recv, report, send, wait_sender};
use testbed::{Net, wait_until};

const DVMRP: &str = "dvmrp = { probe_interval = 1, neighbor_timeout = 3.5, report_interval = 2, \
                     route_expiration = 5, hold_down = 4, garbage_collection = 9 }";
const IGMP: &str = "igmp = { query_interval = 2, query_response_interval = 1, \
                    last_member_query_interval = 0.2 }";
const G: &str = "239.5.5.5";

/// A router section: `ifaces` lists (interface, runs IGMP too).
fn router(name: &str, global: &str, ifaces: &[(&str, bool)]) -> String {
    let list: Vec<String> = ifaces
        .iter()
        .map(|(i, igmp)| {
            if *igmp {
                format!("{{ name = \"{i}\", protocols = [\"igmp\", \"dvmrp\"], {DVMRP}, {IGMP} }}")
            } else {
                format!("{{ name = \"{i}\", protocols = [\"dvmrp\"], {DVMRP} }}")
            }
        })
        .collect();
    format!(
        "[[router]]\nname = \"{name}\"\n[router.mrouterd]\ndvmrp = {{ min_flash_update_interval = 1{global} }}\ninterface = [ {} ]\n",
        list.join(", ")
    )
}

fn hosts(names: &[&str]) -> String {
    names
        .iter()
        .map(|h| format!("[[host]]\nname = \"{h}\"\n"))
        .collect()
}

fn links(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(a, b)| format!("[[link]]\nnodes = [\"{a}\", \"{b}\"]\n"))
        .collect()
}

fn dvmrp(net: &Net, r: &str) -> Value {
    net.ctl_json(r, &["show", "dvmrp"]).unwrap()["dvmrp"].clone()
}

/// Valid routes of a router.
fn valid_routes(net: &Net, r: &str) -> usize {
    dvmrp(net, r)["routes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["state"] == "valid")
        .count()
}

/// The route to `net_addr/len` on `r`.
fn route(net: &Net, r: &str, network: &str) -> Option<Value> {
    dvmrp(net, r)["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["network"] == network)
        .cloned()
}

/// The forwarding cache entry of group `G` on `r`.
fn cache(net: &Net, r: &str) -> Option<Value> {
    dvmrp(net, r)["forwarding"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["group"] == G)
        .cloned()
}

/// Prunes `r` sent, over all interfaces.
fn prunes_sent(net: &Net, r: &str) -> u64 {
    dvmrp(net, r)["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sent"]["prune"].as_u64().unwrap_or(0))
        .sum()
}

/// Every router has `n` valid routes and the source's first router has a dependent
/// downstream neighbour for the source subnet (poison reverse heard): ready to forward.
fn converge(net: &Net, routers: &[&str], n: usize, first: &str, src_net: &str) {
    let ok = wait_until(Duration::from_secs(20), || {
        routers.iter().all(|r| valid_routes(net, r) == n)
            && route(net, first, src_net)
                .is_some_and(|r| r["dependents"].as_array().is_some_and(|d| !d.is_empty()))
    });
    assert!(
        ok,
        "DVMRP did not converge: {}",
        routers
            .iter()
            .map(|r| format!("{r}: {}", dvmrp(net, r)["routes"]))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn sleep(secs: f64) {
    std::thread::sleep(Duration::from_secs_f64(secs));
}

/// src -- r1 -- r2 -- r3 -- rcv3, and r2 -- rcv2.
fn chain(global: &str) -> Net {
    let mut t = hosts(&["src", "rcv2", "rcv3"]);
    t += &router("r1", global, &[("eth0", true), ("eth1", false)]);
    t += &router(
        "r2",
        global,
        &[("eth0", false), ("eth1", false), ("eth2", true)],
    );
    t += &router("r3", global, &[("eth0", false), ("eth1", true)]);
    t += &links(&[
        ("src", "r1"),
        ("r1", "r2"),
        ("r2", "r3"),
        ("r3", "rcv3"),
        ("r2", "rcv2"),
    ]);
    let net = net(&t);
    let src_net = net_of(&net, "src");
    converge(&net, &["r1", "r2", "r3"], 5, "r1", &src_net);
    net
}

/// The /24 of a node's primary address, as DVMRP names it.
fn net_of(net: &Net, node: &str) -> String {
    let o = net.primary_addr(node).octets();
    format!("{}.{}.{}.0", o[0], o[1], o[2])
}

#[test]
fn flood_then_prune_then_a_graft_brings_the_stream_within_a_second() {
    let net = chain("");
    let capture = Capture::start(&net, "r3", &net.iface("r3", "r2"), "igmp");
    let c12 = GroupCounter::install(&net, "r2", "r1", G).unwrap();
    let c23 = GroupCounter::install(&net, "r3", "r2", G).unwrap();
    let c_rcv2 = GroupCounter::install(&net, "rcv2", "r2", G).unwrap();
    let c_rcv3 = GroupCounter::install(&net, "rcv3", "r3", G).unwrap();
    let tx = send(&net, "src", G, 50, 750, &[]);
    sleep(4.0);
    let (a12, a23) = (c12.packets(&net).unwrap(), c23.packets(&net).unwrap());
    assert!(a12 >= 1 && a23 >= 1, "the first packets flood: {a12} {a23}");
    assert!(a12 < 100, "pruned within the first seconds: {a12} of ~200");
    // No member anywhere: both links stay quiet from now on.
    sleep(4.0);
    assert_eq!(
        c12.packets(&net).unwrap(),
        a12,
        "r1-r2 carries nothing after the prune"
    );
    assert_eq!(
        c23.packets(&net).unwrap(),
        a23,
        "r2-r3 carries nothing after the prune"
    );
    assert_eq!(
        c_rcv2.packets(&net).unwrap(),
        0,
        "truncated: no members on r2's leaf"
    );
    assert_eq!(
        c_rcv3.packets(&net).unwrap(),
        0,
        "truncated: no members on r3's leaf"
    );
    let e3 = cache(&net, "r3").expect("r3 has a forwarding entry");
    assert_eq!(e3["upstream_prune"]["lifetime_s"], 7200, "{e3}");
    let e1 = cache(&net, "r1").expect("r1 has a forwarding entry");
    assert_eq!(e1["downstream_prunes"].as_array().unwrap().len(), 1, "{e1}");
    let human = net.ctl("r3", &["show", "dvmrp", "prunes"]).unwrap();
    assert!(human.contains(G), "{human}");

    // A member on the pruned branch: the graft travels r3 -> r2 -> r1 at once.
    let joined = Instant::now();
    let rx = recv(&net, "rcv3", G, 3.0, &[]);
    let r = report(rx);
    let first = r
        .first_arrival_ms
        .expect("the stream arrives after the graft");
    eprintln!(
        "graft: first packet {first:.1} ms after the join, {} unique",
        r.unique
    );
    assert!(
        first < 1000.0,
        "graft latency {first} ms (joined {joined:?})"
    );
    assert!(r.unique >= 100, "{r:?}");
    assert_eq!(r.duplicates, 0);
    assert_eq!(
        c_rcv2.packets(&net).unwrap(),
        0,
        "r2's leaf still has no member"
    );
    let e3 = cache(&net, "r3").unwrap();
    assert!(e3["graft"].is_null(), "the graft was acknowledged: {e3}");
    drop(tx);

    // The Prune, Graft and Graft Ack on the r2-r3 link, decoded by tshark.
    let fields = [
        "ip.src",
        "ip.dst",
        "ip.checksum.status",
        "dvmrp.v3.code",
        "dvmrp.checksum.status",
        "dvmrp.saddr",
        "dvmrp.maddr",
        "dvmrp.lifetime",
        "dvmrp.netmask",
        "_ws.malformed",
        "_ws.expert.message",
    ];
    let text = capture.fields("dvmrp", &fields);
    let packets = rows(&text, &fields);
    let r2 = net.addr("r2", &net.iface("r2", "r3")).to_string();
    let r3 = net.addr("r3", &net.iface("r3", "r2")).to_string();
    let src_net = net_of(&net, "src");
    let of = |code: &str| -> Vec<&BTreeMap<&str, &str>> {
        packets
            .iter()
            .filter(|p| p["dvmrp.v3.code"] == code)
            .collect()
    };
    for p in &packets {
        assert_eq!(p["dvmrp.checksum.status"], "1", "{p:?}");
        assert_eq!(p["ip.checksum.status"], "1", "{p:?}");
        assert_eq!(p["_ws.malformed"], "", "{p:?}");
        assert_eq!(p["_ws.expert.message"], "", "{p:?}");
    }
    let (prunes, grafts, acks) = (of("0x07"), of("0x08"), of("0x09"));
    assert_eq!(prunes.len(), 1, "{packets:?}");
    assert_eq!(grafts.len(), 1, "{packets:?}");
    assert_eq!(acks.len(), 1, "{packets:?}");
    for (p, from, to) in [
        (prunes[0], &r3, &r2),
        (grafts[0], &r3, &r2),
        (acks[0], &r2, &r3),
    ] {
        assert_eq!(
            (p["ip.src"], p["ip.dst"]),
            (from.as_str(), to.as_str()),
            "unicast: {p:?}"
        );
        assert_eq!(p["dvmrp.saddr"], src_net, "{p:?}");
        assert_eq!(p["dvmrp.maddr"], G, "{p:?}");
    }
    assert_eq!(prunes[0]["dvmrp.lifetime"], "7200");
    assert_eq!(prunes[0]["dvmrp.netmask"], "255.255.255.0");
}

#[test]
fn prunes_expire_and_the_tree_refloods_and_prunes_again() {
    let net = chain(", prune_lifetime = 4");
    let c23 = GroupCounter::install(&net, "r3", "r2", G).unwrap();
    let tx = send(&net, "src", G, 50, 800, &[]);
    sleep(2.0);
    let first = c23.packets(&net).unwrap();
    assert!((1..60).contains(&first), "flood then prune: {first}");
    // Sample for 12 s: every ~4 s the prunes expire, the stream floods for a moment and
    // is pruned again.
    let mut samples = vec![first];
    for _ in 0..48 {
        sleep(0.25);
        samples.push(c23.packets(&net).unwrap());
    }
    let rises = samples.windows(2).filter(|w| w[1] > w[0]).count();
    let bursts = samples
        .windows(3)
        .filter(|w| w[0] == w[1] && w[2] > w[1])
        .count();
    let total = samples.last().unwrap() - first;
    assert!(bursts >= 2, "re-floods after each expiry: {samples:?}");
    assert!(
        total < 300,
        "mostly pruned (of ~600 packets): {total}, {rises} rising samples"
    );
    assert!(prunes_sent(&net, "r3") >= 3, "{}", dvmrp(&net, "r3"));
    drop(tx);
}

#[test]
fn on_a_lan_only_the_designated_forwarder_forwards() {
    // src -- r1 -- r2 --+-- lan1 (rcv)
    //          `-- r3 --'
    let mut t = hosts(&["src", "rcv"]);
    t += &router(
        "r1",
        "",
        &[("eth0", true), ("eth1", false), ("eth2", false)],
    );
    t += &router("r2", "", &[("eth0", false), ("eth1", true)]);
    t += &router("r3", "", &[("eth0", false), ("eth1", true)]);
    t += &links(&[("src", "r1"), ("r1", "r2"), ("r1", "r3")]);
    t += "[[lan]]\nname = \"lan1\"\nnodes = [\"r2\", \"r3\", \"rcv\"]\n";
    let net = net(&t);
    let src_net = net_of(&net, "src");
    converge(&net, &["r1", "r2", "r3"], 4, "r1", &src_net);
    // Both r2 and r3 must see each other's metric on the LAN to elect.
    sleep(3.0);
    let rx = recv(&net, "rcv", G, 6.0, &[]);
    let tx = send(&net, "src", G, 50, 250, &[]);
    let r = report(rx);
    wait_sender(tx);
    assert_eq!(r.duplicates, 0, "one forwarder on the LAN: {r:?}");
    assert!(r.unique >= 240, "{r:?}");
    // The forwarder is the router with the lower address on the LAN (equal metrics).
    let addr = |n: &str| net.addr(n, &net.iface(n, "lan1"));
    let (df, other) = if addr("r2") < addr("r3") {
        ("r2", "r3")
    } else {
        ("r3", "r2")
    };
    let lan_if = |r: &str| net.iface(r, "lan1");
    let e = cache(&net, df).unwrap();
    assert!(
        e["outgoing_names"].to_string().contains(&lan_if(df)),
        "{df} forwards onto the LAN: {e}"
    );
    let e = cache(&net, other).unwrap();
    assert!(
        e["outgoing"].as_array().unwrap().is_empty(),
        "{other} does not: {e}"
    );
    assert!(
        !e["upstream_prune"].is_null(),
        "{other} pruned upstream: {e}"
    );
}

#[test]
fn a_ring_reconverges_around_a_failed_link_and_delivery_resumes() {
    // r1 (src) -- r2 -- r3 (rcv) -- r4 -- r1
    let mut t = hosts(&["src", "rcv"]);
    t += &router(
        "r1",
        "",
        &[("eth0", true), ("eth1", false), ("eth2", false)],
    );
    t += &router("r2", "", &[("eth0", false), ("eth1", false)]);
    t += &router(
        "r3",
        "",
        &[("eth0", false), ("eth1", false), ("eth2", true)],
    );
    t += &router("r4", "", &[("eth0", false), ("eth1", false)]);
    t += &links(&[
        ("src", "r1"),
        ("r1", "r2"),
        ("r1", "r4"),
        ("r2", "r3"),
        ("r3", "r4"),
        ("r3", "rcv"),
    ]);
    let net = net(&t);
    let src_net = net_of(&net, "src");
    converge(&net, &["r1", "r2", "r3", "r4"], 6, "r1", &src_net);
    let rx = recv(&net, "rcv", G, 16.0, &[]);
    let tx = send(&net, "src", G, 50, 750, &[]);
    sleep(4.0);
    // Cut r3's upstream link for the source.
    let up = route(&net, "r3", &src_net).unwrap()["upstream_neighbor"]
        .as_str()
        .unwrap()
        .to_owned();
    let via = if up == net.addr("r2", &net.iface("r2", "r3")).to_string() {
        "r2"
    } else {
        "r4"
    };
    let cut = Instant::now();
    net.link_down("r3", via).unwrap();
    let other = if via == "r2" { "r4" } else { "r2" };
    let moved = wait_until(Duration::from_secs(10), || {
        route(&net, "r3", &src_net).is_some_and(|r| {
            r["upstream_neighbor"] == net.addr(other, &net.iface(other, "r3")).to_string()
        })
    });
    assert!(
        moved,
        "r3 re-routed via {other}: {:?}",
        route(&net, "r3", &src_net)
    );
    let reroute = cut.elapsed();
    let r = report(rx);
    wait_sender(tx);
    // The route-expiry bound: the neighbour times out (3.5 s) or the route expires (5 s),
    // then a flash update (1 s) makes r3 a dependent of its new upstream, which grafts.
    let lost = 750 - r.unique.min(750);
    eprintln!("ring: rerouted {reroute:?} after the cut, {lost} of 750 packets lost");
    assert!(
        lost <= 50 * 8,
        "lost {lost} packets (rerouted after {reroute:?}): {r:?}"
    );
    let last = r.sources.values().map(|s| s.last_seq).max().unwrap_or(0);
    assert!(last >= 740, "delivery resumed to the end: {r:?}");
    assert_eq!(r.duplicates, 0);
}

#[test]
fn a_reload_of_dvmrp_settings_keeps_the_stream_flowing() {
    let net = chain("");
    let rx = recv(&net, "rcv3", G, 6.0, &[]);
    let tx = send(&net, "src", G, 50, 250, &[]);
    sleep(2.0);
    // Router-wide and per-interface settings of the middle router change under traffic.
    let path = net.router_config_path("r2");
    let cfg = std::fs::read_to_string(&path).unwrap();
    assert!(cfg.contains("min_flash_update_interval = 1"), "{cfg}");
    let cfg = cfg
        .replace(
            "min_flash_update_interval = 1",
            "min_flash_update_interval = 2",
        )
        .replacen("probe_interval = 1", "probe_interval = 2", 1);
    net.write_router_config("r2", &cfg).unwrap();
    net.ctl("r2", &["reload"]).unwrap();
    let r = report(rx);
    wait_sender(tx);
    let first = r.sources.values().map(|s| s.first_seq).min().unwrap_or(0);
    assert_eq!(r.lost, 0, "no gap across the reload: {r:?}");
    assert!(first <= 5 && r.unique >= 245, "{r:?}");
    assert!(!net.router_log("r3").contains("dvmrp_neighbor_restart"));
}

#[test]
fn host_lans_running_igmp_only_are_passive_dvmrp_interfaces() {
    // src -- r1 -- r2 -- rcv, DVMRP only between the routers: the host-facing interfaces
    // run IGMP alone and become passive DVMRP interfaces (announced, silent).
    let igmp_only = format!("{{ name = \"eth0\", protocols = [\"igmp\"], {IGMP} }}");
    let mut t = hosts(&["src", "rcv"]);
    t += &format!(
        "[[router]]\nname = \"r1\"\n[router.mrouterd]\ndvmrp = {{ min_flash_update_interval = 1 }}\n\
         interface = [ {igmp_only}, {{ name = \"eth1\", protocols = [\"dvmrp\"], {DVMRP} }} ]\n"
    );
    t += &format!(
        "[[router]]\nname = \"r2\"\n[router.mrouterd]\ndvmrp = {{ min_flash_update_interval = 1 }}\n\
         interface = [ {{ name = \"eth0\", protocols = [\"dvmrp\"], {DVMRP} }}, \
         {{ name = \"eth1\", protocols = [\"igmp\"], {IGMP} }} ]\n"
    );
    t += &links(&[("src", "r1"), ("r1", "r2"), ("r2", "rcv")]);
    let net = net(&t);
    let src_net = net_of(&net, "src");
    converge(&net, &["r1", "r2"], 3, "r1", &src_net);
    let rx = recv(&net, "rcv", G, 4.0, &[]);
    let tx = send(&net, "src", G, 50, 150, &[]);
    let r = report(rx);
    wait_sender(tx);
    assert!(
        r.unique >= 145,
        "a source on a passive LAN is routed: {r:?}"
    );
    for (router, ifname) in [("r1", "eth0"), ("r2", "eth1")] {
        let i = dvmrp(&net, router)["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == ifname)
            .cloned()
            .unwrap_or_else(|| panic!("{router} {ifname} is a DVMRP interface"));
        assert_eq!(i["passive"], true, "{i}");
        assert_eq!(i["probes_sent"], 0, "silent: {i}");
        assert_eq!(i["reports_sent"], 0, "silent: {i}");
    }
}

/// Drop the DVMRP messages of `code` that `node` sends (nftables, output hook): the
/// transport header of IGMP type 0x13 carries the DVMRP code in its second octet.
fn drop_dvmrp_code(net: &Net, node: &str, code: u8) {
    let rules = format!(
        "table ip dvmrp_loss {{\n chain out {{\n  type filter hook output priority 0; \
         policy accept;\n  ip protocol igmp @th,0,8 0x13 @th,8,8 {code} counter drop\n }}\n}}\n"
    );
    net.node(node)
        .sh(&format!("nft -f - <<'EOF'\n{rules}EOF"))
        .expect("nft");
}

fn restore_dvmrp(net: &Net, node: &str) {
    net.node(node)
        .run(&["nft", "delete", "table", "ip", "dvmrp_loss"])
        .expect("nft delete");
}

#[test]
fn a_lost_graft_is_retransmitted_until_acknowledged() {
    let net = chain("");
    let tx = send(&net, "src", G, 50, 1000, &[]);
    sleep(3.0);
    assert!(cache(&net, "r3").is_some_and(|e| !e["upstream_prune"].is_null()));
    // r3's Grafts (code 8) are lost for 2 s: the first one never arrives, the one sent
    // 5 s later (the retransmission) does.
    drop_dvmrp_code(&net, "r3", 8);
    let rx = recv(&net, "rcv3", G, 9.0, &[]);
    let joined = Instant::now();
    assert!(
        wait_until(Duration::from_secs(2), || cache(&net, "r3")
            .is_some_and(|e| e["graft"]["sent"] == 1)),
        "r3 grafted: {:?}",
        cache(&net, "r3")
    );
    sleep(2.0);
    restore_dvmrp(&net, "r3");
    let r = report(rx);
    drop(tx);
    let first = r
        .first_arrival_ms
        .expect("the stream arrives after the retransmission");
    eprintln!(
        "graft retransmission: first packet {first:.0} ms after the join ({:?})",
        joined.elapsed()
    );
    assert!(
        (4000.0..7000.0).contains(&first),
        "the second Graft, 5 s after the first, brought the stream: {first} ms"
    );
    let e3 = cache(&net, "r3").unwrap();
    assert!(e3["graft"].is_null(), "acknowledged in the end: {e3}");
    let sent = dvmrp(&net, "r3")["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sent"]["graft"].as_u64().unwrap_or(0))
        .sum::<u64>();
    assert_eq!(sent, 2, "one Graft lost, one retransmitted");
}

#[test]
fn a_lost_prune_is_retransmitted_while_data_keeps_coming() {
    let net = chain("");
    let c23 = GroupCounter::install(&net, "r3", "r2", G).unwrap();
    // r3's Prunes (code 7) are lost for the first 2 s of the stream.
    drop_dvmrp_code(&net, "r3", 7);
    let tx = send(&net, "src", G, 50, 750, &[]);
    sleep(2.0);
    restore_dvmrp(&net, "r3");
    sleep(4.0);
    let a = c23.packets(&net).unwrap();
    sleep(3.0);
    let b = c23.packets(&net).unwrap();
    drop(tx);
    eprintln!("prune retransmission: r2-r3 carried {a} packets before the link went quiet");
    assert!(
        a >= 100,
        "the first Prune was lost, so data kept coming: {a}"
    );
    assert_eq!(a, b, "the retransmitted Prune stopped it");
    assert_eq!(prunes_sent(&net, "r3"), 2, "{}", dvmrp(&net, "r3"));
}
