//! mrinfo against `mrouterd`: hosts ask a DVMRP router with `mcast mrinfo` (Ask-Neighbors2
//! by unicast) and check its Neighbors2 answer, and tshark's DVMRP dissector decodes the
//! exchange.
//!
//! ```text
//!   h1 -- r1 -- r2 -- r3          r2's interfaces:
//!               |  \                to r1  DVMRP, metric 2, TTL threshold 8
//!              hx   hl, hd          to hl  IGMP + DVMRP (a leaf where r2 is querier)
//!                                   to hd  DVMRP, taken down
//!                                   to hx  static routes only (no IGMP, no DVMRP;
//!                                          an IGMP-only LAN would be a passive DVMRP
//!                                          interface)
//!                                   mbone0 tunnel to r3 over the r2-r3 link (DVMRP,
//!                                          metric 3, TTL threshold 16)
//! ```
//!
//! h1 asks r2 at its address towards r1 (two hops away, through r1); hx asks r2 at its
//! address on hx's LAN, an interface without DVMRP.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use testbed::capture::{Capture, rows};
use testbed::traffic::net;
use testbed::{Net, bin_path, wait_until};

const TOPOLOGY: &str = r#"
[options]
start_routers = false
[[host]]
name = "h1"
[[host]]
name = "hx"
[[host]]
name = "hl"
[[host]]
name = "hd"
[[router]]
name = "r1"
[[router]]
name = "r2"
[[router]]
name = "r3"
[[link]]
nodes = ["h1", "r1"]
[[link]]
nodes = ["r1", "r2"]
[[link]]
nodes = ["r2", "r3"]
[[link]]
nodes = ["r2", "hx"]
[[link]]
nodes = ["r2", "hl"]
[[link]]
nodes = ["r2", "hd"]
"#;

const TIMERS: &str = "probe_interval = 1\nreport_interval = 2\n";

fn iface(name: &str, protocols: &str, extra: &str, dvmrp: &str) -> String {
    let mut s = format!("[[interface]]\nname = \"{name}\"\nprotocols = {protocols}\n{extra}");
    if protocols.contains("dvmrp") {
        s.push_str(&format!("[interface.dvmrp]\n{TIMERS}{dvmrp}"));
    }
    s
}

fn tunnel(local: &str, remote: &str, extra: &str) -> String {
    format!(
        "[[tunnel]]\nname = \"mbone0\"\nlocal = \"{local}\"\nremote = \"{remote}\"\n{extra}\
         [tunnel.dvmrp]\n{TIMERS}"
    )
}

struct Addrs {
    /// r2's addresses towards r1, r3 (the tunnel's local end), hx, hl, hd.
    r2_r1: String,
    r2_r3: String,
    r2_hx: String,
    r2_hl: String,
    r2_hd: String,
    /// The neighbours: r1 towards r2, r3 towards r2 (the tunnel's remote end).
    r1: String,
    r3: String,
}

fn setup() -> (Net, Addrs) {
    let net = net(TOPOLOGY);
    let i = |r: &str, peer: &str| net.iface(r, peer);
    let addr = |r: &str, peer: &str| net.addr(r, &net.iface(r, peer)).to_string();
    let ad = Addrs {
        r2_r1: addr("r2", "r1"),
        r2_r3: addr("r2", "r3"),
        r2_hx: addr("r2", "hx"),
        r2_hl: addr("r2", "hl"),
        r2_hd: addr("r2", "hd"),
        r1: addr("r1", "r2"),
        r3: addr("r3", "r2"),
    };
    let head = |r: &str| format!("[router]\nname = \"{r}\"\n");
    let dvmrp = "[\"dvmrp\"]";
    let configs = [
        (
            "r1",
            head("r1")
                + &iface(&i("r1", "h1"), "[\"igmp\", \"dvmrp\"]", "", "")
                + &iface(&i("r1", "r2"), dvmrp, "", ""),
        ),
        (
            "r2",
            head("r2")
                + &iface(&i("r2", "r1"), dvmrp, "ttl_threshold = 8\n", "metric = 2\n")
                + &iface(&i("r2", "hl"), "[\"igmp\", \"dvmrp\"]", "", "")
                + &iface(&i("r2", "hd"), dvmrp, "", "")
                + &iface(&i("r2", "hx"), "[]", "", "")
                + &tunnel(&ad.r2_r3, &ad.r3, "metric = 3\nttl_threshold = 16\n"),
        ),
        (
            "r3",
            head("r3") + &tunnel(&ad.r3, &ad.r2_r3, "metric = 3\n"),
        ),
    ];
    for (r, c) in &configs {
        net.write_router_config(r, c).unwrap();
        net.start_router(r)
            .unwrap_or_else(|e| panic!("start {r}: {e:#}\n{c}"));
    }
    (net, ad)
}

fn dvmrp(net: &Net, r: &str) -> Value {
    net.ctl_json(r, &["show", "dvmrp"]).unwrap()["dvmrp"].clone()
}

/// r2's two-way neighbours by interface name.
fn two_way(net: &Net) -> BTreeMap<String, Vec<String>> {
    dvmrp(net, "r2")["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let n = i["neighbors"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["state"] == "two_way")
                .map(|n| n["address"].as_str().unwrap().to_owned())
                .collect();
            (i["name"].as_str().unwrap_or("?").to_owned(), n)
        })
        .collect()
}

/// Wait until r2 has r1 and r3 (across the tunnel) as two-way neighbours.
fn wait_neighbors(net: &Net, ad: &Addrs) {
    let up = wait_until(Duration::from_secs(20), || {
        let n = two_way(net);
        n.get(&net.iface("r2", "r1")) == Some(&vec![ad.r1.clone()])
            && n.get("mbone0") == Some(&vec![ad.r3.clone()])
    });
    assert!(
        up,
        "r2's neighbours: {:?}\n{}",
        two_way(net),
        dvmrp(net, "r2")
    );
}

fn mcast() -> String {
    bin_path("mcast").unwrap().display().to_string()
}

/// `mcast mrinfo ROUTER [extra]` on `node`: (success, stdout, stderr).
fn mrinfo(net: &Net, node: &str, router: &str, extra: &[&str]) -> (bool, String, String) {
    let m = mcast();
    let mut argv = vec![m.as_str(), "mrinfo", router];
    argv.extend_from_slice(extra);
    let out = net.node(node).exec(&argv).unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn mrinfo_json(net: &Net, node: &str, router: &str) -> Value {
    let (ok, out, err) = mrinfo(net, node, router, &["--json", "--timeout", "5"]);
    assert!(ok, "mcast mrinfo {router} on {node}: {err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The answer's interfaces by local address: (metric, threshold, flags, neighbours).
type IfView = (u64, u64, Vec<String>, Vec<String>);

fn interfaces(answer: &Value) -> BTreeMap<String, IfView> {
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect()
    };
    answer["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["local"].as_str().unwrap().to_owned(),
                (
                    i["metric"].as_u64().unwrap(),
                    i["threshold"].as_u64().unwrap(),
                    strs(&i["flags"]),
                    strs(&i["neighbors"]),
                ),
            )
        })
        .collect()
}

fn view(metric: u64, threshold: u64, flags: &[&str], nbrs: &[&str]) -> IfView {
    (
        metric,
        threshold,
        flags.iter().map(|s| s.to_string()).collect(),
        nbrs.iter().map(|s| s.to_string()).collect(),
    )
}

fn count(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or(0)
}

#[test]
fn mrinfo_from_hosts_lists_interfaces_neighbours_metrics_thresholds_and_the_tunnel() {
    let (net, ad) = setup();
    wait_neighbors(&net, &ad);
    // r2 becomes the IGMP querier towards hl at once (no other router there); then hd's
    // link goes down.
    net.link_down("r2", "hd").unwrap();
    let hd = net.iface("r2", "hd");
    assert!(
        wait_until(Duration::from_secs(10), || {
            dvmrp(&net, "r2")["interfaces"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["name"] == hd.as_str() && i["active"] == false)
        }),
        "{}",
        dvmrp(&net, "r2")
    );

    // h1 asks r2 at its address towards r1, through r1.
    let a = mrinfo_json(&net, "h1", &ad.r2_r1);
    assert_eq!(a["router"], ad.r2_r1.as_str());
    assert_eq!(a["responder"], ad.r2_r1.as_str(), "{a}");
    assert_eq!(a["version"], "3.255");
    assert_eq!(
        a["capability_names"],
        serde_json::json!(["prune", "genid", "mtrace"])
    );
    assert_eq!(a["messages"], 1);
    let want: BTreeMap<String, IfView> = [
        (ad.r2_r1.clone(), view(2, 8, &[], &[&ad.r1])),
        (ad.r2_hl.clone(), view(1, 1, &["querier", "leaf"], &[])),
        (ad.r2_hd.clone(), view(1, 1, &["down"], &[])),
        (ad.r2_r3.clone(), view(3, 16, &["tunnel"], &[&ad.r3])),
    ]
    .into_iter()
    .collect();
    assert_eq!(interfaces(&a), want, "{a}");
    assert!(
        !interfaces(&a).contains_key(&ad.r2_hx),
        "hx's interface runs no DVMRP"
    );
    // Counted on the DVMRP interface it arrived on.
    let snap = dvmrp(&net, "r2");
    let on_r1 = snap["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == net.iface("r2", "r1").as_str())
        .unwrap()
        .clone();
    assert!(count(&on_r1["received"], "ask_neighbors2") >= 1, "{on_r1}");
    assert!(count(&on_r1["sent"], "neighbors2") >= 1, "{on_r1}");

    // hx asks r2 on its LAN, where r2 runs no DVMRP: the same answer, from that address.
    let b = mrinfo_json(&net, "hx", &ad.r2_hx);
    assert_eq!(b["responder"], ad.r2_hx.as_str(), "{b}");
    assert_eq!(interfaces(&b), want, "{b}");
    let other = dvmrp(&net, "r2")["other_interfaces"].clone();
    assert!(count(&other["received"], "ask_neighbors2") >= 1, "{other}");
    assert!(count(&other["sent"], "neighbors2") >= 1, "{other}");
    let shown = net.ctl("r2", &["show", "dvmrp", "interfaces"]).unwrap();
    assert!(
        shown.contains("mrinfo: 2 questions (1 on interfaces without DVMRP)"),
        "{shown}"
    );

    // As mrinfo prints it.
    let (ok, text, err) = mrinfo(&net, "hx", &ad.r2_hx, &[]);
    assert!(ok, "{err}");
    eprintln!("mcast mrinfo {}:\n{text}", ad.r2_hx);
    let first = text.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!("{0} ({0}) [version 3.255,prune,genid,mtrace]:", ad.r2_hx),
        "{text}"
    );
    for line in [
        format!("  {} -> {1} ({1}) [2/8]", ad.r2_r1, ad.r1),
        format!("  {} -> 0.0.0.0 (local) [1/1/querier/leaf]", ad.r2_hl),
        format!("  {} -> 0.0.0.0 (local) [1/1/down]", ad.r2_hd),
        format!("  {} -> {1} ({1}) [3/16/tunnel]", ad.r2_r3, ad.r3),
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }

    // On the router itself, mrinfo's default: r2 answers from its loopback address.
    let l = mrinfo_json(&net, "r2", "127.0.0.1");
    assert_eq!(l["responder"], "127.0.0.1", "{l}");
    assert_eq!(interfaces(&l), want, "{l}");

    // The other end of the tunnel answers for its side; r1 for its own.
    let c = mrinfo_json(&net, "h1", &ad.r3);
    assert_eq!(
        interfaces(&c),
        [(ad.r3.clone(), view(3, 1, &["tunnel"], &[&ad.r2_r3]))]
            .into_iter()
            .collect(),
        "{c}"
    );
    let d = mrinfo_json(
        &net,
        "h1",
        &net.addr("r1", &net.iface("r1", "h1")).to_string(),
    );
    assert_eq!(interfaces(&d)[&ad.r1], view(1, 1, &[], &[&ad.r2_r1]), "{d}");

    // Something that is no router: a clear failure once the timeout has passed.
    let h1 = net.primary_addr("h1").to_string();
    let started = std::time::Instant::now();
    let (ok, out, err) = mrinfo(&net, "hx", &h1, &["--timeout", "1.5"]);
    assert!(!ok, "no answer is a failure: {out}");
    assert!(
        err.contains(&format!("no answer from {h1} within 1.5 s")),
        "{err}"
    );
    assert!(started.elapsed() >= Duration::from_millis(1500));
}

#[test]
fn tshark_decodes_the_neighbors2_answer_without_complaint() {
    let (net, ad) = setup();
    wait_neighbors(&net, &ad);
    let cap = Capture::start(&net, "hx", "eth0", "igmp");
    std::thread::sleep(Duration::from_millis(500));
    let answer = mrinfo_json(&net, "hx", &ad.r2_hx);
    std::thread::sleep(Duration::from_millis(500));
    let fields = [
        "ip.src",
        "ip.dst",
        "ip.ttl",
        "ip.checksum.status",
        "dvmrp.version",
        "dvmrp.type",
        "dvmrp.v3.code",
        "dvmrp.checksum.status",
        "dvmrp.maj_ver",
        "dvmrp.min_ver",
        "dvmrp.capabilities",
        "dvmrp.local",
        "dvmrp.metric",
        "dvmrp.threshold",
        "dvmrp.flag.tunnel",
        "dvmrp.flag.down",
        "dvmrp.flag.querier",
        "dvmrp.flag.leaf",
        "dvmrp.ncount",
        "dvmrp.neighbor",
        "_ws.malformed",
        "_ws.expert.message",
    ];
    let text = cap.fields("dvmrp", &fields);
    let packets = rows(&text, &fields);
    let hx = net.primary_addr("hx").to_string();
    for p in &packets {
        for (field, want) in [
            ("ip.ttl", "255"),
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
    // The question, then the answer (code 6) from the address asked, to the asker.
    let asks: Vec<_> = packets
        .iter()
        .filter(|p| p["dvmrp.v3.code"] == "0x05")
        .collect();
    assert_eq!(asks.len(), 1, "{text}");
    assert_eq!(
        (asks[0]["ip.src"], asks[0]["ip.dst"]),
        (hx.as_str(), ad.r2_hx.as_str())
    );
    let answers: Vec<_> = packets
        .iter()
        .filter(|p| p["dvmrp.v3.code"] == "0x06")
        .collect();
    assert_eq!(answers.len(), 1, "{text}");
    let n2 = answers[0];
    assert_eq!(
        (n2["ip.src"], n2["ip.dst"]),
        (ad.r2_hx.as_str(), hx.as_str())
    );
    assert_eq!(n2["dvmrp.capabilities"], "0x0e", "prune, genid, mtrace");
    // tshark's reading of every interface agrees with mcast mrinfo's.
    let col = |f: &str| -> Vec<String> { n2[f].split(',').map(str::to_owned).collect() };
    let locals = col("dvmrp.local");
    assert_eq!(locals.len(), 4, "{n2:?}");
    let ours = interfaces(&answer);
    for (k, local) in locals.iter().enumerate() {
        let (metric, threshold, flags, _) = &ours[local];
        assert_eq!(col("dvmrp.metric")[k], metric.to_string(), "{n2:?}");
        assert_eq!(col("dvmrp.threshold")[k], threshold.to_string(), "{n2:?}");
        for (field, name) in [
            ("dvmrp.flag.tunnel", "tunnel"),
            ("dvmrp.flag.down", "down"),
            ("dvmrp.flag.querier", "querier"),
            ("dvmrp.flag.leaf", "leaf"),
        ] {
            let want = if flags.iter().any(|f| f == name) {
                "1"
            } else {
                "0"
            };
            assert_eq!(col(field)[k], want, "{field} of {local}: {n2:?}");
        }
    }
    assert_eq!(col("dvmrp.ncount"), ["1", "1", "1", "1"], "{n2:?}");
    let mut nbrs = col("dvmrp.neighbor");
    nbrs.sort();
    let mut want = vec![
        ad.r1.clone(),
        ad.r3.clone(),
        "0.0.0.0".into(),
        "0.0.0.0".into(),
    ];
    want.sort();
    assert_eq!(nbrs, want, "{n2:?}");
}
