//! MBone-style IP-in-IP tunnels between two mrouterd across a unicast-only router.
//!
//! ```text
//! src --- r1 ===================== r2 --- rcv
//!          \____ mid (unicast) ____/
//! ```
//!
//! `mid` forwards unicast only (no mrouterd, no multicast routing); r1 and r2 reach each
//! other through it with static unicast routes, and a `[[tunnel]]` joins them. Static (S,G)
//! routes send the stream from src into the tunnel on r1 and out of it on r2. On this
//! kernel (no ipip driver) the tunnels run in userspace: a TUN device per tunnel and a raw
//! IPPROTO_IPIP socket in mrouterd.

use std::time::Duration;

use serde_json::Value;
use testbed::traffic::{net, recv, report, send, wait_sender};
use testbed::{Net, wait_until};

const TOPOLOGY: &str = r#"
[options]
start_routers = false
[[host]]
name = "src"
[[host]]
name = "rcv"
[[router]]
name = "r1"
[[router]]
name = "mid"
[[router]]
name = "r2"
[[link]]
nodes = ["src", "r1"]
[[link]]
nodes = ["r1", "mid"]
[[link]]
nodes = ["mid", "r2"]
[[link]]
nodes = ["r2", "rcv"]
"#;

const GROUP: &str = "239.7.7.7";

/// The endpoints: r1's address towards mid, r2's address towards mid.
fn endpoints(net: &Net) -> (String, String) {
    (
        net.addr("r1", &net.iface("r1", "mid")).to_string(),
        net.addr("r2", &net.iface("r2", "mid")).to_string(),
    )
}

/// r1: the stream from src goes into the tunnel. `extra` is appended (more tunnels).
fn r1_config(net: &Net, mode: &str, with_tunnel: bool, extra: &str) -> String {
    let (l, r) = endpoints(net);
    let src = net.primary_addr("src");
    let eth_src = net.iface("r1", "src");
    let tunnel = if with_tunnel {
        format!(
            "[[tunnel]]\nname = \"tun0\"\nlocal = \"{l}\"\nremote = \"{r}\"\nprotocols = []\n\
             mode = \"{mode}\"\n\
             [[route]]\nsource = \"{src}\"\ngroup = \"{GROUP}\"\ninput = \"{eth_src}\"\n\
             outputs = [\"tun0\"]\n"
        )
    } else {
        String::new()
    };
    format!("[router]\nname = \"r1\"\n[[interface]]\nname = \"{eth_src}\"\n{tunnel}{extra}")
}

/// r2: the stream from the tunnel goes to rcv.
fn r2_config(net: &Net) -> String {
    let (l, r) = endpoints(net);
    let src = net.primary_addr("src");
    let eth_rcv = net.iface("r2", "rcv");
    format!(
        "[router]\nname = \"r2\"\n[[interface]]\nname = \"{eth_rcv}\"\n\
         [[tunnel]]\nname = \"tun0\"\nlocal = \"{r}\"\nremote = \"{l}\"\nprotocols = []\n\
         mode = \"userspace\"\nmetric = 2\n\
         [[route]]\nsource = \"{src}\"\ngroup = \"{GROUP}\"\ninput = \"tun0\"\n\
         outputs = [\"{eth_rcv}\"]\n"
    )
}

/// Build the chain and start mrouterd on r1 and r2 (never on mid).
fn setup() -> Net {
    let net = net(TOPOLOGY);
    net.write_router_config("r1", &r1_config(&net, "auto", true, ""))
        .unwrap();
    net.write_router_config("r2", &r2_config(&net)).unwrap();
    net.start_router("r1").expect("start r1");
    net.start_router("r2").expect("start r2");
    net
}

/// Count, in mid's prerouting hook, what arrives on its links: IP-in-IP from r1 to r2, and
/// native multicast (other than link-local 224.0.0.0/24) or packets to the stream's port.
fn count_on_mid(net: &Net) {
    let (l, r) = endpoints(net);
    let rules = format!(
        "table ip tbtun {{\n chain pre {{\n  type filter hook prerouting priority -300; \
         policy accept;\n  ip protocol 4 ip saddr {l} ip daddr {r} counter comment \"ipip\"\n  \
         ip daddr 224.0.0.0/4 ip daddr != 224.0.0.0/24 counter comment \"native\"\n  \
         udp dport 5000 counter comment \"udp5000\"\n }}\n}}\n"
    );
    net.node("mid")
        .sh(&format!("nft -f - <<'EOF'\n{rules}EOF"))
        .expect("nft on mid");
}

/// Packets counted by the rule with `comment` on mid.
fn mid_counter(net: &Net, comment: &str) -> u64 {
    let out = net
        .node("mid")
        .run(&["nft", "-j", "list", "table", "ip", "tbtun"])
        .expect("nft list");
    let v: Value = serde_json::from_str(&out).expect("nft json");
    v["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o.get("rule"))
        .filter(|r| r["comment"] == comment)
        .flat_map(|r| r["expr"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e.get("counter").map(|c| c["packets"].as_u64().unwrap_or(0)))
        .sum()
}

/// `show tunnels --json` entry of `name` on `router`.
fn tunnel(net: &Net, router: &str, name: &str) -> Value {
    let v = net
        .ctl_json(router, &["show", "tunnels"])
        .expect("show tunnels");
    v["tunnels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

/// Does this kernel have the ipip driver? (Tried in mid, where nothing else cares.)
fn kernel_has_ipip(net: &Net) -> bool {
    let mid = net.node("mid");
    let ok = mid
        .exec(&[
            "ip",
            "link",
            "add",
            "ipprobe",
            "type",
            "ipip",
            "remote",
            "192.0.2.1",
        ])
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        let _ = mid.exec(&["ip", "link", "del", "ipprobe"]);
    }
    ok
}

#[test]
fn tunnel_carries_a_stream_across_a_unicast_only_router() {
    let net = setup();
    let has_ipip = kernel_has_ipip(&net);

    // mid has no multicast routing at all: no VIF, no entry, not enabled.
    let mid = net.node("mid");
    assert_eq!(mid.run(&["ip", "mroute", "show"]).unwrap().trim(), "");
    let vifs = mid.run(&["cat", "/proc/net/ip_mr_vif"]).unwrap();
    assert!(vifs.lines().count() <= 1, "mid has VIFs: {vifs}");
    assert_eq!(
        mid.run(&["cat", "/proc/sys/net/ipv4/conf/all/mc_forwarding"])
            .unwrap()
            .trim(),
        "0"
    );

    // Both ends report the tunnel up, with a VIF, and why they use their dataplane.
    for router in ["r1", "r2"] {
        let t = tunnel(&net, router, "tun0");
        assert_eq!(t["state"], "up", "{router}: {t}");
        assert!(t["vif"].is_u64() && t["ifindex"].is_u64(), "{router}: {t}");
        assert_eq!(t["rp_filter"]["device"], 0, "{router}: {t}");
    }
    let t1 = tunnel(&net, "r1", "tun0");
    if has_ipip {
        assert_eq!(t1["mode"], "kernel", "{t1}");
    } else {
        assert_eq!(t1["mode"], "userspace", "{t1}");
        assert!(
            t1["mode_reason"]
                .as_str()
                .is_some_and(|r| r.contains("kernel has no ipip driver")),
            "{t1}"
        );
    }
    let t2 = tunnel(&net, "r2", "tun0");
    assert_eq!(t2["mode"], "userspace", "{t2}");
    assert_eq!(t2["mode_reason"], "configured with mode = \"userspace\"");
    assert_eq!(t2["metric"], 2);
    let ifaces = net.ctl_json("r2", &["show", "interfaces"]).unwrap();
    let tun_iface = ifaces["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "tun0")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(tun_iface["state"], "active", "{ifaces}");

    count_on_mid(&net);
    let rx = recv(&net, "rcv", GROUP, 4.0, &[]);
    std::thread::sleep(Duration::from_millis(100));
    wait_sender(send(&net, "src", GROUP, 100, 200, &["--ttl", "8"]));
    let r = report(rx);
    assert_eq!(r.unique, 200, "every packet crosses the tunnel: {r:?}");
    assert_eq!((r.lost, r.duplicates), (0, 0), "{r:?}");

    // On the wire in the middle: IP-in-IP from r1's endpoint to r2's, nothing native.
    let ipip = mid_counter(&net, "ipip");
    assert!(
        (200..=205).contains(&ipip),
        "mid saw {ipip} IP-in-IP packets"
    );
    assert_eq!(mid_counter(&net, "native"), 0, "native multicast on mid");
    assert_eq!(
        mid_counter(&net, "udp5000"),
        0,
        "the stream's UDP seen unencapsulated on mid"
    );

    // The userspace counters agree with what was sent.
    let c2 = &tunnel(&net, "r2", "tun0")["counters"];
    let decap = c2["decap_packets"].as_u64().unwrap();
    assert!(
        (200..=205).contains(&decap),
        "r2 decapsulated {decap}: {c2}"
    );
    assert_eq!(c2["dropped_malformed"], 0, "{c2}");
    if !has_ipip {
        let c1 = &tunnel(&net, "r1", "tun0")["counters"];
        let encap = c1["encap_packets"].as_u64().unwrap();
        assert!(
            (200..=205).contains(&encap),
            "r1 encapsulated {encap}: {c1}"
        );
        assert_eq!(c1["send_errors"], 0, "{c1}");
        // 92-byte inner packets (20 IP + 8 UDP + 64 payload).
        assert_eq!(c1["encap_bytes"].as_u64().unwrap(), encap * 92, "{c1}");
    }
    // The kernel's VIF counters (what a kernel ipip tunnel shows): out of r1's tunnel,
    // into r2's.
    let v1 = &tunnel(&net, "r1", "tun0")["vif_counters"];
    let v2 = &tunnel(&net, "r2", "tun0")["vif_counters"];
    assert!(
        (200..=205).contains(&v1["packets_out"].as_u64().unwrap()),
        "{v1}"
    );
    assert!(
        (200..=205).contains(&v2["packets_in"].as_u64().unwrap()),
        "{v2}"
    );
    let mfc = net.ctl_json("r2", &["show", "mfc"]).unwrap();
    assert_eq!(mfc["mfc"][0]["iif"], "tun0", "{mfc}");
    assert_eq!(mfc["mfc"][0]["packets"], 200, "{mfc}");
}

#[test]
fn reload_keeps_the_tunnel_and_its_flow_and_removing_it_deletes_the_device() {
    let net = setup();
    let ifindex = tunnel(&net, "r1", "tun0")["ifindex"].clone();

    // A tunnel whose local address is not the router's waits for it.
    let (l, _) = endpoints(&net);
    let waiting = "[[tunnel]]\nname = \"tun1\"\nlocal = \"10.99.0.1\"\nremote = \"10.99.0.2\"\n\
                   protocols = []\nmode = \"userspace\"\n";

    // 400 packets at 100/s; reloads during the stream, with the tunnel unchanged (a route
    // and a waiting tunnel added on r1, nothing changed on r2).
    let rx = recv(&net, "rcv", GROUP, 6.0, &[]);
    std::thread::sleep(Duration::from_millis(100));
    let tx = send(&net, "src", GROUP, 100, 400, &["--ttl", "8"]);
    std::thread::sleep(Duration::from_millis(1000));
    let extra_route = format!(
        "{waiting}[[route]]\ngroup = \"239.8.0.0/16\"\ninput = \"{}\"\noutputs = [\"tun0\"]\n",
        net.iface("r1", "src")
    );
    net.write_router_config("r1", &r1_config(&net, "auto", true, &extra_route))
        .unwrap();
    net.ctl("r1", &["reload"]).expect("reload r1");
    net.ctl("r2", &["reload"]).expect("reload r2");
    std::thread::sleep(Duration::from_millis(1000));
    net.ctl("r1", &["reload"]).expect("reload r1 again");
    net.ctl("r2", &["reload"]).expect("reload r2 again");
    wait_sender(tx);
    let r = report(rx);
    assert_eq!(r.lost, 0, "no packet lost across reloads: {r:?}");
    assert_eq!(r.unique, 400, "{r:?}");
    assert_eq!(
        tunnel(&net, "r1", "tun0")["ifindex"],
        ifindex,
        "the device was not re-created"
    );

    // The waiting tunnel is created as soon as its local address appears.
    let t1 = tunnel(&net, "r1", "tun1");
    assert_eq!(t1["state"], "waiting-for-local-address", "{t1}");
    assert!(t1["ifindex"].is_null(), "{t1}");
    assert!(
        net.router_log("r1")
            .contains("local address 10.99.0.1 of tunnel tun1 is not an address of this router"),
        "warned in the log"
    );
    net.node("r1")
        .run(&["ip", "addr", "add", "10.99.0.1/32", "dev", "lo"])
        .unwrap();
    assert!(
        wait_until(
            Duration::from_secs(5),
            || tunnel(&net, "r1", "tun1")["state"] == "up"
        ),
        "tun1 came up: {}",
        tunnel(&net, "r1", "tun1")
    );
    assert!(
        net.node("r1")
            .exec(&["ip", "link", "show", "tun1"])
            .unwrap()
            .status
            .success()
    );

    // A crashed daemon leaves no device that stops the next one.
    net.kill_router("r1").unwrap();
    net.start_router("r1").expect("restart r1 after SIGKILL");
    assert_eq!(tunnel(&net, "r1", "tun0")["state"], "up");
    let rx = recv(&net, "rcv", GROUP, 2.0, &[]);
    std::thread::sleep(Duration::from_millis(100));
    wait_sender(send(&net, "src", GROUP, 100, 100, &["--ttl", "8"]));
    let r = report(rx);
    assert_eq!(r.unique, 100, "the stream flows after the restart: {r:?}");

    // A device deleted behind the daemon's back is created again and carries the stream.
    let before = tunnel(&net, "r1", "tun0")["ifindex"].clone();
    net.node("r1")
        .run(&["ip", "link", "del", "tun0"])
        .expect("delete tun0");
    assert!(
        wait_until(Duration::from_secs(5), || {
            let t = tunnel(&net, "r1", "tun0");
            t["state"] == "up" && t["ifindex"] != before && t["vif"].is_u64()
        }),
        "tun0 re-created: {}",
        tunnel(&net, "r1", "tun0")
    );
    let rx = recv(&net, "rcv", GROUP, 2.0, &[]);
    std::thread::sleep(Duration::from_millis(100));
    wait_sender(send(&net, "src", GROUP, 100, 100, &["--ttl", "8"]));
    let r = report(rx);
    assert_eq!(
        r.unique, 100,
        "the stream flows through the new device: {r:?}"
    );

    // Removing the tunnels from the file deletes their devices.
    net.write_router_config("r1", &r1_config(&net, "auto", false, ""))
        .unwrap();
    let out = net.ctl_json("r1", &["reload"]).expect("reload r1");
    assert!(
        out["interfaces"]["removed"]
            .as_array()
            .is_some_and(|a| a.len() == 2),
        "{out}"
    );
    for dev in ["tun0", "tun1"] {
        let st = net.node("r1").exec(&["ip", "link", "show", dev]).unwrap();
        assert!(!st.status.success(), "{dev} still exists after the reload");
    }
    let v = net.ctl_json("r1", &["show", "tunnels"]).unwrap();
    assert_eq!(v["tunnels"], Value::Array(vec![]), "{v}");
    let _ = l;

    // And the daemon removes the device on shutdown.
    net.stop_router("r2").unwrap();
    let st = net
        .node("r2")
        .exec(&["ip", "link", "show", "tun0"])
        .unwrap();
    assert!(!st.status.success(), "tun0 left behind on r2");
}
