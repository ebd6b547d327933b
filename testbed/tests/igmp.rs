//! IGMP against the real thing: the Linux kernel as the host (forced to IGMPv1, v2 or v3
//! per interface), real UDP traffic from `mcast send`, and `mrouterd` deciding what to
//! forward from the membership it learns.
//!
//! Timers are short (query interval 2 s, response interval 1 s, last member query interval
//! 0.2 s) so the RFC's waits fit in a test; the bounds asserted are the RFC's formulas.

use std::time::{Duration, Instant};

use serde_json::Value;
use testbed::traffic::{net, recv, report, send, wait_sender};
use testbed::{Net, wait_until};

/// `mrouterctl show igmp --json` of a router.
fn igmp(net: &Net, router: &str) -> Value {
    net.ctl_json(router, &["show", "igmp"]).expect("show igmp")["igmp"].clone()
}

/// The snapshot of one IGMP interface, by name.
fn igmp_iface(net: &Net, router: &str, ifname: &str) -> Value {
    let v = igmp(net, router);
    v["interfaces"]
        .as_array()
        .and_then(|l| l.iter().find(|i| i["name"] == ifname))
        .cloned()
        .unwrap_or_else(|| panic!("{router} has no IGMP interface {ifname}: {v}"))
}

/// The state of `group` on an interface, if the router has any.
fn igmp_group(net: &Net, router: &str, ifname: &str, group: &str) -> Option<Value> {
    igmp_iface(net, router, ifname)["groups"]
        .as_array()
        .and_then(|l| l.iter().find(|g| g["group"] == group))
        .cloned()
}

/// The outputs of the router's MRIB entry for (source, group).
fn mroute_oifs(net: &Net, router: &str, source: &str, group: &str) -> Option<Vec<String>> {
    let v = net.ctl_json(router, &["show", "mroutes"]).unwrap();
    v["mroutes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["source"] == source && m["group"] == group)
        .map(|m| {
            m["oifs"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["state"] == "forwarding")
                .map(|o| o["interface"].as_str().unwrap().to_owned())
                .collect()
        })
}

fn force_igmp_version(net: &Net, node: &str, ifname: &str, version: u8) {
    net.node(node)
        .run(&[
            "sysctl",
            "-q",
            "-w",
            &format!("net.ipv4.conf.{ifname}.force_igmp_version={version}"),
        ])
        .unwrap();
}

/// r1 between sources on a LAN and one receiver host.
///   rcv (10.0.1.2) --eth0-- r1 --eth1-- lan1: src1 (10.0.2.2), src2 (10.0.2.3)
/// IGMP runs on r1's eth0 (towards the receiver).
const ONE_HOP: &str = r#"
[[host]]
name = "src1"
[[host]]
name = "src2"
[[host]]
name = "rcv"
[[router]]
name = "r1"
[router.mrouterd]
interface = [ { name = "eth0", protocols = ["igmp"], igmp = { query_interval = 2, query_response_interval = 1, last_member_query_interval = 0.2 } } ]
[[link]]
nodes = ["r1", "rcv"]
[[lan]]
name = "lan1"
nodes = ["r1", "src1", "src2"]
"#;

/// Join, receive, leave; for each host IGMP version.
fn join_and_leave(version: u8) {
    let net = net(ONE_HOP);
    force_igmp_version(&net, "rcv", "eth0", version);
    // The receiver joins; the source keeps sending for a while.
    let tx = send(&net, "src1", "239.1.1.1", 100, 600, &[]);
    let rx = recv(&net, "rcv", "239.1.1.1", 2.0, &[]);
    let r = report(rx);
    assert!(r.unique >= 150, "IGMPv{version} join delivers: {r:?}");
    assert!(
        r.first_arrival_ms.unwrap() < 1000.0,
        "IGMPv{version}: the report is acted on at once, not at the next query: {r:?}"
    );
    let g = igmp_group(&net, "r1", "eth0", "239.1.1.1").expect("group known");
    assert_eq!(g["compat_mode"].as_u64(), Some(u64::from(version)), "{g}");
    // The receiver exited: v2 and v3 hosts leave at once, a v1 host just goes silent.
    let left = Instant::now();
    let bound = match version {
        // Last Member Query Count (2) x Last Member Query Interval (0.2 s), plus slack for
        // the query's response time and scheduling.
        2 | 3 => Duration::from_millis(400 + 600),
        // Group Membership Interval: 2 x 2 s + 1 s.
        _ => Duration::from_secs(5) + Duration::from_millis(1500),
    };
    assert!(
        wait_until(bound + Duration::from_secs(2), || mroute_oifs(
            &net,
            "r1",
            "10.0.2.2",
            "239.1.1.1"
        )
        .is_some_and(|o| o.is_empty())),
        "IGMPv{version}: delivery did not stop: {:?}",
        mroute_oifs(&net, "r1", "10.0.2.2", "239.1.1.1")
    );
    let took = left.elapsed();
    assert!(
        took <= bound,
        "IGMPv{version}: leave took {took:?}, bound {bound:?}"
    );
    if version == 1 {
        assert!(
            took >= Duration::from_secs(2),
            "a v1 host has no leave: the membership times out ({took:?})"
        );
    }
    assert!(igmp_group(&net, "r1", "eth0", "239.1.1.1").is_none());
    drop(tx);
}

#[test]
fn igmpv1_host_joins_and_times_out() {
    join_and_leave(1);
}

#[test]
fn igmpv2_host_joins_and_leaves() {
    join_and_leave(2);
}

#[test]
fn igmpv3_host_joins_and_leaves() {
    join_and_leave(3);
}

#[test]
fn source_include_and_exclude_deliver_exactly_the_right_sources() {
    let net = net(ONE_HOP);
    // INCLUDE {src1}: only src1.
    let rx = recv(&net, "rcv", "232.1.1.1", 2.5, &["--source", "10.0.2.2"]);
    let a = send(&net, "src1", "232.1.1.1", 100, 150, &[]);
    let b = send(&net, "src2", "232.1.1.1", 100, 150, &[]);
    wait_sender(a);
    wait_sender(b);
    let r = report(rx);
    assert!(
        r.sources.get("10.0.2.2").is_some_and(|s| s.unique >= 140),
        "{r:?}"
    );
    assert!(
        !r.sources.contains_key("10.0.2.3"),
        "INCLUDE {{src1}} must not get src2: {r:?}"
    );
    let g = igmp_group(&net, "r1", "eth0", "232.1.1.1").unwrap();
    assert_eq!(g["filter_mode"], "include", "{g}");
    assert_eq!(
        mroute_oifs(&net, "r1", "10.0.2.3", "232.1.1.1"),
        Some(vec![]),
        "src2 has an entry without outputs"
    );

    // EXCLUDE {src2}: everything but src2.
    let rx = recv(&net, "rcv", "239.2.2.2", 2.5, &["--exclude", "10.0.2.3"]);
    let a = send(&net, "src1", "239.2.2.2", 100, 150, &[]);
    let b = send(&net, "src2", "239.2.2.2", 100, 150, &[]);
    wait_sender(a);
    wait_sender(b);
    let r = report(rx);
    assert!(
        r.sources.get("10.0.2.2").is_some_and(|s| s.unique >= 140),
        "{r:?}"
    );
    assert!(
        !r.sources.contains_key("10.0.2.3"),
        "EXCLUDE {{src2}} must not get src2: {r:?}"
    );
    assert_eq!(
        mroute_oifs(&net, "r1", "10.0.2.3", "239.2.2.2"),
        Some(vec![])
    );
    assert_eq!(
        mroute_oifs(&net, "r1", "10.0.2.2", "239.2.2.2"),
        Some(vec!["eth0".into()])
    );
    let g = igmp_group(&net, "r1", "eth0", "239.2.2.2").unwrap();
    assert_eq!(g["filter_mode"], "exclude", "{g}");
}

#[test]
fn a_v2_host_on_a_v3_interface_switches_the_group_to_v2_and_back() {
    let net = net(ONE_HOP);
    force_igmp_version(&net, "rcv", "eth0", 2);
    let rx = recv(&net, "rcv", "239.3.3.3", 12.0, &[]);
    assert!(wait_until(Duration::from_secs(3), || igmp_group(
        &net,
        "r1",
        "eth0",
        "239.3.3.3"
    )
    .is_some_and(|g| g["compat_mode"] == 2)));
    // The host becomes v3; after the Older Host Present Interval (2 x 2 s + 1 s) without
    // v2 reports the group is back in v3 mode, and the membership never lapsed.
    force_igmp_version(&net, "rcv", "eth0", 3);
    let t = Instant::now();
    assert!(
        wait_until(Duration::from_secs(9), || igmp_group(
            &net,
            "r1",
            "eth0",
            "239.3.3.3"
        )
        .is_some_and(|g| g["compat_mode"] == 3)),
        "{:?}",
        igmp_group(&net, "r1", "eth0", "239.3.3.3")
    );
    assert!(
        t.elapsed() >= Duration::from_secs(3),
        "not before the v2 host timer could expire"
    );
    drop(rx);
}

/// Three routers and a host on one LAN, sources behind each router.
#[test]
fn the_lowest_address_is_querier_and_another_takes_over_when_it_dies() {
    let topo = r#"
[[host]]
name = "h1"
[[router]]
name = "ra"
[[router]]
name = "rb"
[[router]]
name = "rc"
[options]
log_level = "debug"
[[lan]]
name = "lan1"
nodes = ["ra", "rb", "rc", "h1"]
"#;
    let igmp_cfg = "igmp = { query_interval = 2, query_response_interval = 1, last_member_query_interval = 0.2 }";
    let topo = topo
        .replace(
            "name = \"ra\"",
            &format!("name = \"ra\"\n[router.mrouterd]\ninterface = [ {{ name = \"eth0\", protocols = [\"igmp\"], {igmp_cfg} }} ]"),
        )
        .replace(
            "name = \"rb\"",
            &format!("name = \"rb\"\n[router.mrouterd]\ninterface = [ {{ name = \"eth0\", protocols = [\"igmp\"], {igmp_cfg} }} ]"),
        )
        .replace(
            "name = \"rc\"",
            &format!("name = \"rc\"\n[router.mrouterd]\ninterface = [ {{ name = \"eth0\", protocols = [\"igmp\"], {igmp_cfg} }} ]"),
        );
    let net = net(&topo);
    // ra has 10.0.1.1, the lowest address on the LAN.
    let querier = |r: &str| igmp_iface(&net, r, "eth0")["querier"] == true;
    assert!(
        wait_until(Duration::from_secs(6), || querier("ra")
            && !querier("rb")
            && !querier("rc")),
        "ra must win: {} {} {}",
        igmp_iface(&net, "ra", "eth0"),
        igmp_iface(&net, "rb", "eth0"),
        igmp_iface(&net, "rc", "eth0")
    );
    let rx = recv(&net, "h1", "239.5.5.5", 20.0, &[]);
    for r in ["ra", "rb", "rc"] {
        assert!(
            wait_until(Duration::from_secs(3), || igmp_group(
                &net,
                r,
                "eth0",
                "239.5.5.5"
            )
            .is_some()),
            "{r} learns the member"
        );
    }
    net.kill_router("ra").unwrap();
    let t = Instant::now();
    // Other Querier Present Interval = 2 x 2 s + 1 s / 2 = 4.5 s.
    assert!(
        wait_until(Duration::from_secs(8), || querier("rb")),
        "rb takes over: {}",
        igmp_iface(&net, "rb", "eth0")
    );
    let took = t.elapsed();
    assert!(
        took <= Duration::from_millis(4500 + 1500),
        "take-over after {took:?}"
    );
    assert!(!querier("rc"));
    // Membership was never lost on the survivors.
    for r in ["rb", "rc"] {
        assert!(
            igmp_group(&net, r, "eth0", "239.5.5.5").is_some(),
            "{r} kept the member"
        );
    }
    drop(rx);
}

#[test]
fn malformed_igmp_is_counted_and_dropped_and_the_daemon_stays_up() {
    let net = net(ONE_HOP);
    // scapy crafts what no host stack sends: bad checksum, truncated, inconsistent lengths.
    let script = r#"
import sys
from scapy.all import IP, Raw, send, IPOption_Router_Alert, conf
conf.verb = 0
def igmp(payload, fix=True):
    b = bytearray(payload)
    if fix:
        b[2] = b[3] = 0
        s = 0
        data = bytes(b) + (b"\0" if len(b) % 2 else b"")
        for i in range(0, len(data), 2):
            s += (data[i] << 8) | data[i + 1]
        while s >> 16:
            s = (s & 0xffff) + (s >> 16)
        c = ~s & 0xffff
        b[2], b[3] = c >> 8, c & 0xff
    send(IP(dst="224.0.0.22", ttl=1, proto=2, options=[IPOption_Router_Alert()]) / Raw(bytes(b)), iface="eth0")
bad_sum = bytes([0x16, 0, 0x12, 0x34, 239, 1, 1, 1])
igmp(bad_sum, fix=False)
igmp(bytes([0x16, 0, 0, 0, 239]))                          # truncated below 8 octets
igmp(bytes([0x22, 0, 0, 0, 0, 0, 0, 5, 1, 0, 0, 9, 239, 1, 1, 1]))  # 5 records claimed, 1 short one
igmp(bytes([0x11, 10, 0, 0, 0, 0, 0, 0, 0, 0]))            # 10-octet query
igmp(bytes([0x99, 0, 0, 0, 0, 0, 0, 0]))                   # unknown type
for n in range(50):
    igmp(bytes([0x22, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 200, 239, 1, 1, 1]))  # 200 sources claimed, none present
print("sent")
"#;
    let out = net
        .node("rcv")
        .exec(&["/usr/bin/python3", "-c", script])
        .unwrap();
    assert!(
        out.status.success(),
        "scapy (python3-scapy) failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every packet is counted once the router has read them all.
    assert!(
        wait_until(Duration::from_secs(2), || {
            let d = &igmp_iface(&net, "r1", "eth0")["dropped"];
            d["bad_checksum"].as_u64().unwrap_or(0) >= 1
                && d["truncated"].as_u64().unwrap_or(0) >= 51
        }),
        "{}",
        igmp_iface(&net, "r1", "eth0")
    );
    let i = igmp_iface(&net, "r1", "eth0");
    let count = |k: &str| i["dropped"][k].as_u64().unwrap_or(0);
    assert!(count("too_short") >= 1, "{i}");
    assert!(count("bad_length") >= 1, "{i}");
    assert!(count("unknown_type") >= 1, "{i}");
    // Still alive and still correct: a real join works.
    let rx = recv(&net, "rcv", "239.1.1.1", 2.0, &[]);
    wait_sender(send(&net, "src1", "239.1.1.1", 100, 100, &[]));
    assert!(report(rx).unique >= 90);
    assert!(net.ctl_json("r1", &["version"]).is_ok());
}
