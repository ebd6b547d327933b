//! The foundation, end to end: `mrouterd` programs the kernel from its configuration and
//! real UDP traffic from `mcast send` crosses real namespaces to `mcast recv`.
//!
//! Every test builds its own topology with a unique namespace prefix, so they run in
//! parallel; the `Net` removes everything when it is dropped, also on a panic. These
//! tests need root (CI runs as root); without it they fail and say why.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use testbed::traffic::{net, recv, report, send, wait_sender};
use testbed::{Net, bin_path, wait_until};

/// A little slack after the joins before traffic starts.
fn settle() {
    std::thread::sleep(Duration::from_millis(100));
}

/// (source, group, iif, sorted oifs) of every kernel entry, as `mrouterctl show mfc --json`
/// reports it.
fn ctl_mfc(net: &Net, router: &str) -> BTreeSet<(String, String, String, Vec<String>)> {
    let v = net.ctl_json(router, &["show", "mfc"]).expect("show mfc");
    v["mfc"]
        .as_array()
        .expect("mfc list")
        .iter()
        // Unresolved entries are the kernel queueing packets that nobody routes.
        .filter(|e| e["unresolved"] != true)
        .map(|e| {
            let mut oifs: Vec<String> = e["oifs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["interface"].as_str().unwrap_or("?").to_owned())
                .collect();
            oifs.sort();
            (
                e["source"].as_str().unwrap().to_owned(),
                e["group"].as_str().unwrap().to_owned(),
                e["iif"].as_str().unwrap_or("-").to_owned(),
                oifs,
            )
        })
        .collect()
}

/// The same from `ip -json mroute show` in the router's namespace: an independent reader.
fn ip_mroute(net: &Net, router: &str) -> BTreeSet<(String, String, String, Vec<String>)> {
    let out = net
        .node(router)
        .run(&["ip", "-json", "mroute", "show"])
        .expect("ip mroute");
    let v: Value = serde_json::from_str(if out.trim().is_empty() { "[]" } else { &out })
        .unwrap_or_else(|e| panic!("ip -json mroute: {e}: {out}"));
    v.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["state"] != "unresolved")
        .map(|e| {
            let mut oifs: Vec<String> = e["multipath"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|o| o["oif"].as_str().unwrap_or("?").to_owned())
                        .collect()
                })
                .unwrap_or_default();
            oifs.sort();
            (
                e["src"].as_str().unwrap_or("-").to_owned(),
                e["dst"].as_str().unwrap_or("-").to_owned(),
                e["iif"].as_str().unwrap_or("-").to_owned(),
                oifs,
            )
        })
        .collect()
}

fn entry(s: &str, g: &str, iif: &str, oifs: &[&str]) -> (String, String, String, Vec<String>) {
    (
        s.into(),
        g.into(),
        iif.into(),
        oifs.iter().map(|o| o.to_string()).collect(),
    )
}

/// src --- r1 --- rcv. src 10.0.1.1 (r1 eth0 10.0.1.2), rcv 10.0.2.2 (r1 eth1 10.0.2.1).
const ONE_ROUTER: &str = r#"
[[host]]
name = "src"
[[host]]
name = "rcv"
[[router]]
name = "r1"
[router.mrouterd]
route = [ { source = "10.0.1.1", group = "239.1.1.1", input = "eth0", outputs = ["eth1"] } ]
[[link]]
nodes = ["src", "r1"]
[[link]]
nodes = ["r1", "rcv"]
"#;

const R1_BASE: &str = r#"
[router]
name = "r1"
control_socket = "SOCKET"
[[interface]]
name = "eth0"
[[interface]]
name = "eth1"
"#;

fn r1_config(net: &Net, routes: &str) -> String {
    let base = R1_BASE.replace("SOCKET", &net.router_socket("r1").display().to_string());
    format!("{base}\n{routes}")
}

#[test]
fn static_sg_forwards_through_one_router_and_deleting_it_stops_delivery() {
    let net = net(ONE_ROUTER);
    let rx = recv(&net, "rcv", "239.1.1.1", 3.0, &[]);
    settle();
    wait_sender(send(&net, "src", "239.1.1.1", 200, 300, &[]));
    let r = report(rx);
    assert_eq!(r.unique, 300, "every packet arrives: {r:?}");
    assert_eq!((r.lost, r.duplicates), (0, 0), "{r:?}");
    assert!(r.sources.contains_key("10.0.1.1"), "{r:?}");

    // Intent, kernel via mrouterctl, and kernel via iproute2 agree.
    let want: BTreeSet<_> = [entry("10.0.1.1", "239.1.1.1", "eth0", &["eth1"])].into();
    assert_eq!(ctl_mfc(&net, "r1"), want);
    assert_eq!(ip_mroute(&net, "r1"), want);
    let mfc = net.ctl_json("r1", &["show", "mfc"]).unwrap();
    assert_eq!(mfc["mfc"][0]["packets"], 300, "kernel counters: {mfc}");

    // Delete the route: the kernel entry goes and nothing is delivered any more.
    net.write_router_config("r1", &r1_config(&net, "")).unwrap();
    net.ctl("r1", &["reload"]).expect("reload");
    assert!(ctl_mfc(&net, "r1").is_empty());
    assert!(ip_mroute(&net, "r1").is_empty());
    let rx = recv(&net, "rcv", "239.1.1.1", 2.0, &[]);
    settle();
    wait_sender(send(&net, "src", "239.1.1.1", 200, 200, &[]));
    let r = report(rx);
    assert_eq!(
        r.received, 0,
        "no delivery after the route is deleted: {r:?}"
    );
}

/// src --- r1 --- r2 --- r3 --- rcv
const CHAIN3: &str = r#"
[[host]]
name = "src"
[[host]]
name = "rcv"
[[router]]
name = "r1"
[router.mrouterd]
route = [ { source = "10.0.1.1", group = "239.1.2.3", input = "eth0", outputs = ["eth1"] } ]
[[router]]
name = "r2"
[router.mrouterd]
route = [ { source = "10.0.1.1", group = "239.1.2.3", input = "eth0", outputs = ["eth1"] } ]
[[router]]
name = "r3"
[router.mrouterd]
route = [ { source = "10.0.1.1", group = "239.1.2.3", input = "eth0", outputs = ["eth1"] } ]
[[link]]
nodes = ["src", "r1"]
[[link]]
nodes = ["r1", "r2"]
[[link]]
nodes = ["r2", "r3"]
[[link]]
nodes = ["r3", "rcv"]
"#;

#[test]
fn static_sg_forwards_through_a_chain_of_three() {
    let net = net(CHAIN3);
    let rx = recv(&net, "rcv", "239.1.2.3", 3.0, &[]);
    settle();
    wait_sender(send(&net, "src", "239.1.2.3", 200, 300, &["--ttl", "4"]));
    let r = report(rx);
    assert_eq!(r.unique, 300, "{r:?}");
    assert_eq!(r.lost, 0, "{r:?}");
    for router in ["r1", "r2", "r3"] {
        assert_eq!(
            ctl_mfc(&net, router),
            ip_mroute(&net, router),
            "{router}: mrouterctl and ip agree"
        );
    }
    // TTL 4 leaves the sender, each router decrements: a TTL of 3 would not cross r3.
    let rx = recv(&net, "rcv", "239.1.2.3", 2.0, &[]);
    settle();
    wait_sender(send(&net, "src", "239.1.2.3", 200, 100, &["--ttl", "3"]));
    let r = report(rx);
    assert_eq!(r.received, 0, "TTL 3 expires before the receiver: {r:?}");
}

/// Two sources on a LAN in front of r1, one receiver behind it.
/// r1: eth0 = link to rcv (10.0.1.1), eth1 = lan1 (10.0.2.1); src1 10.0.2.2, src2 10.0.2.3.
const TWO_SOURCES: &str = r#"
[options]
log_level = "debug"
[[host]]
name = "src1"
[[host]]
name = "src2"
[[host]]
name = "rcv"
[[router]]
name = "r1"
[router.mrouterd]
route = [ { group = "239.2.0.0/16", input = "eth1", outputs = ["eth0"] } ]
[[link]]
nodes = ["r1", "rcv"]
[[lan]]
name = "lan1"
nodes = ["r1", "src1", "src2"]
"#;

#[test]
fn star_g_route_serves_two_sources() {
    let net = net(TWO_SOURCES);
    let rx = recv(&net, "rcv", "239.2.1.1", 3.0, &[]);
    settle();
    let s1 = send(&net, "src1", "239.2.1.1", 100, 150, &[]);
    let s2 = send(&net, "src2", "239.2.1.1", 100, 150, &[]);
    wait_sender(s1);
    wait_sender(s2);
    let r = report(rx);
    let a = &r.sources["10.0.2.2"];
    let b = &r.sources["10.0.2.3"];
    // The kernel queues the first packets of a new source while the router installs the
    // entry (it holds up to 4 per unresolved entry), so at most those few may be lost.
    assert!(
        a.unique >= 146 && b.unique >= 146,
        "both sources delivered: {r:?}"
    );
    assert_eq!(r.duplicates, 0);
    let mfc = ctl_mfc(&net, "r1");
    assert_eq!(
        mfc,
        [
            entry("10.0.2.2", "239.2.1.1", "eth1", &["eth0"]),
            entry("10.0.2.3", "239.2.1.1", "eth1", &["eth0"])
        ]
        .into()
    );
    assert_eq!(mfc, ip_mroute(&net, "r1"));
    let mroutes = net.ctl_json("r1", &["show", "mroutes"]).unwrap();
    for m in mroutes["mroutes"].as_array().unwrap() {
        assert_eq!(m["origin"]["kind"], "star-g", "{m}");
    }
    // A group outside the rule is not forwarded.
    let rx = recv(&net, "rcv", "239.3.1.1", 2.0, &[]);
    settle();
    wait_sender(send(&net, "src1", "239.3.1.1", 100, 50, &[]));
    assert_eq!(report(rx).received, 0);
}

/// src --- r1 --- rcv1 (eth1, TTL threshold 8)
///          \---- rcv2 (eth2, boundary 239.0.0.0/8)
const SCOPED: &str = r#"
[[host]]
name = "src"
[[host]]
name = "rcv1"
[[host]]
name = "rcv2"
[[router]]
name = "r1"
[router.mrouterd]
interface = [ { name = "eth1", ttl_threshold = 8 }, { name = "eth2", boundaries = ["239.0.0.0/8"] } ]
route = [
  { group = "225.0.0.0/8", input = "eth0", outputs = ["eth1", "eth2"] },
  { group = "239.0.0.0/8", input = "eth0", outputs = ["eth1", "eth2"] },
]
[[link]]
nodes = ["src", "r1"]
[[link]]
nodes = ["r1", "rcv1"]
[[link]]
nodes = ["r1", "rcv2"]
"#;

#[test]
fn ttl_threshold_and_administrative_boundary_block_what_they_should() {
    let net = net(SCOPED);
    // TTL 5 is not above eth1's threshold of 8: only rcv2 gets it.
    let r1 = recv(&net, "rcv1", "225.1.1.1", 2.5, &[]);
    let r2 = recv(&net, "rcv2", "225.1.1.1", 2.5, &[]);
    settle();
    wait_sender(send(&net, "src", "225.1.1.1", 100, 100, &["--ttl", "5"]));
    let (a, b) = (report(r1), report(r2));
    assert_eq!(a.received, 0, "threshold 8 blocks TTL 5: {a:?}");
    assert!(b.unique >= 96, "no threshold on eth2: {b:?}");

    // TTL 16 crosses the threshold.
    let r1 = recv(&net, "rcv1", "225.1.1.2", 2.5, &[]);
    settle();
    wait_sender(send(&net, "src", "225.1.1.2", 100, 100, &["--ttl", "16"]));
    assert!(report(r1).unique >= 96);

    // 239/8 never crosses eth2's boundary, whatever the TTL; eth1 forwards it.
    let r1 = recv(&net, "rcv1", "239.5.5.5", 2.5, &[]);
    let r2 = recv(&net, "rcv2", "239.5.5.5", 2.5, &[]);
    settle();
    wait_sender(send(&net, "src", "239.5.5.5", 100, 100, &["--ttl", "64"]));
    let (a, b) = (report(r1), report(r2));
    assert!(a.unique >= 96, "{a:?}");
    assert_eq!(b.received, 0, "boundary blocks 239/8: {b:?}");

    let mroutes = net.ctl_json("r1", &["show", "mroutes"]).unwrap();
    let scoped = mroutes["mroutes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["group"] == "239.5.5.5")
        .expect("an entry for 239.5.5.5");
    let states: Vec<(&str, &str)> = scoped["oifs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["interface"].as_str().unwrap(),
                o["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(states, [("eth1", "forwarding"), ("eth2", "boundary")]);
}

#[test]
fn reload_of_an_unrelated_change_loses_no_packet() {
    let net = net(ONE_ROUTER);
    // 200 packets/s for 5 s while the configuration is reloaded ten times.
    let rx = recv(&net, "rcv", "239.1.1.1", 7.0, &[]);
    settle();
    let tx = send(&net, "src", "239.1.1.1", 200, 1000, &[]);
    let keep = r#"[[route]]
source = "10.0.1.1"
group = "239.1.1.1"
input = "eth0"
outputs = ["eth1"]
"#;
    for i in 0..10 {
        std::thread::sleep(Duration::from_millis(400));
        let extra = if i % 2 == 0 {
            "[[route]]\ngroup = \"225.9.0.0/16\"\ninput = \"eth1\"\noutputs = [\"eth0\"]\n\
             [[route]]\nsource = \"10.0.2.2\"\ngroup = \"239.9.9.9\"\ninput = \"eth1\"\noutputs = [\"eth0\"]\n"
        } else {
            ""
        };
        let text = r1_config(&net, &format!("{keep}{extra}")).replace(
            "name = \"eth1\"",
            &format!(
                "name = \"eth1\"\nttl_threshold = 1\nboundaries = [{}]",
                if i % 2 == 0 { "\"238.0.0.0/8\"" } else { "" }
            ),
        );
        net.write_router_config("r1", &text).unwrap();
        let out = net.ctl_json("r1", &["reload"]).expect("reload");
        assert_eq!(out["reloaded"], true, "{out}");
    }
    wait_sender(tx);
    let r = report(rx);
    assert_eq!(
        r.unique, 1000,
        "not one packet lost across ten reloads: {r:?}"
    );
    assert_eq!(r.lost, 0, "{r:?}");
    let c = net.ctl_json("r1", &["show", "counters"]).unwrap();
    assert_eq!(c["counters"]["reloads"], 10);
}

#[test]
fn a_bad_file_on_reload_is_rejected_and_the_running_configuration_stays() {
    let net = net(ONE_ROUTER);
    let before = ctl_mfc(&net, "r1");
    assert_eq!(before.len(), 1);
    // Written directly: the file must reach mrouterd exactly as typed.
    let sock = net.router_socket("r1").display().to_string();
    let bad = format!("[router]\nname = \"r1\"\nbogus = 1\ncontrol_socket = \"{sock}\"\n");
    std::fs::write(net.router_config_path("r1"), bad).unwrap();
    let err = net
        .ctl("r1", &["reload"])
        .expect_err("a bad file must be refused");
    let msg = format!("{err:#}");
    assert!(
        msg.contains(":3:") && msg.contains("bogus"),
        "error names line and key: {msg}"
    );
    assert_eq!(
        ctl_mfc(&net, "r1"),
        before,
        "running configuration unchanged"
    );
    // SIGHUP takes the same path.
    net.signal_router("r1", testbed::SIGHUP).unwrap();
    assert!(wait_until(Duration::from_secs(3), || net
        .router_log("r1")
        .contains("reload on SIGHUP failed")));
    assert_eq!(ctl_mfc(&net, "r1"), before);
    let rx = recv(&net, "rcv", "239.1.1.1", 2.0, &[]);
    settle();
    wait_sender(send(&net, "src", "239.1.1.1", 200, 100, &[]));
    assert_eq!(report(rx).unique, 100);
}

#[test]
fn sigkill_and_restart_leave_no_stale_forwarding() {
    let net = net(ONE_ROUTER);
    assert_eq!(ctl_mfc(&net, "r1").len(), 1);
    net.kill_router("r1").unwrap();
    // The kernel drops VIFs and entries with the socket of the killed daemon.
    assert!(
        wait_until(Duration::from_secs(3), || ip_mroute(&net, "r1").is_empty()),
        "stale entries after SIGKILL: {:?}",
        ip_mroute(&net, "r1")
    );
    let rx = recv(&net, "rcv", "239.1.1.1", 1.5, &[]);
    settle();
    wait_sender(send(&net, "src", "239.1.1.1", 200, 100, &[]));
    assert_eq!(
        report(rx).received,
        0,
        "nothing forwarded while mrouterd is dead"
    );

    // Restart with a changed configuration: only the new route may exist afterwards.
    let new = "[[route]]\nsource = \"10.0.1.1\"\ngroup = \"239.1.1.2\"\ninput = \"eth0\"\noutputs = [\"eth1\"]\n";
    net.write_router_config("r1", &r1_config(&net, new))
        .unwrap();
    net.start_router("r1").unwrap();
    assert_eq!(
        ctl_mfc(&net, "r1"),
        [entry("10.0.1.1", "239.1.1.2", "eth0", &["eth1"])].into()
    );
    let old = recv(&net, "rcv", "239.1.1.1", 2.0, &[]);
    let new = recv(&net, "rcv", "239.1.1.2", 2.0, &[]);
    settle();
    let a = send(&net, "src", "239.1.1.1", 200, 100, &[]);
    let b = send(&net, "src", "239.1.1.2", 200, 100, &[]);
    wait_sender(a);
    wait_sender(b);
    assert_eq!(report(old).received, 0, "the old route did not come back");
    assert_eq!(report(new).unique, 100, "the configured route is restored");
    assert_eq!(ctl_mfc(&net, "r1"), ip_mroute(&net, "r1"));
}

#[test]
fn an_interface_deleted_and_recreated_is_picked_up_again() {
    let net = net(ONE_ROUTER);
    let r1 = net.ns("r1");
    let rcv = net.ns("rcv");
    // Deleting r1's eth1 removes the whole veth pair (rcv's eth0 too).
    net.node("r1").run(&["ip", "link", "del", "eth1"]).unwrap();
    assert!(wait_until(Duration::from_secs(3), || {
        net.ctl_json("r1", &["show", "interfaces"]).unwrap()["interfaces"][1]["state"] == "pending"
    }));
    // The entry is rewritten without the vanished VIF, its input still works.
    assert_eq!(
        ctl_mfc(&net, "r1"),
        [entry("10.0.1.1", "239.1.1.1", "eth0", &[])].into()
    );

    // Re-create it (new ifindex, new VIF) and restore the addresses.
    net.node("r1")
        .run(&[
            "ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth0", "netns", &rcv,
        ])
        .unwrap();
    net.node("r1")
        .sh("ip addr add 10.0.2.1/24 dev eth1 && ip link set eth1 up")
        .unwrap();
    net.node("rcv")
        .sh("ip addr add 10.0.2.2/24 dev eth0 && ip link set eth0 up && ip route replace default via 10.0.2.1")
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(3), || ctl_mfc(&net, "r1")
            == [entry("10.0.1.1", "239.1.1.1", "eth0", &["eth1"])].into()),
        "entry rewritten with the new eth1 ({r1}): {:?}",
        ctl_mfc(&net, "r1")
    );
    let rx = recv(&net, "rcv", "239.1.1.1", 2.5, &[]);
    settle();
    wait_sender(send(&net, "src", "239.1.1.1", 200, 200, &[]));
    assert_eq!(report(rx).unique, 200);
    assert_eq!(ctl_mfc(&net, "r1"), ip_mroute(&net, "r1"));
}

#[test]
fn an_interface_that_appears_after_start_is_picked_up() {
    // r1's configuration names `late0`, which does not exist when mrouterd starts.
    let topo = r#"
[[host]]
name = "src"
[[host]]
name = "rcv"
[[router]]
name = "r1"
[router.mrouterd]
interface = [ { name = "late0" } ]
route = [ { source = "10.0.1.1", group = "239.7.7.7", input = "eth0", outputs = ["late0"] } ]
[[link]]
nodes = ["src", "r1"]
[[link]]
nodes = ["rcv", "src"]
"#;
    let net = net(topo);
    let ifs = net.ctl_json("r1", &["show", "interfaces"]).unwrap();
    let late = ifs["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "late0")
        .unwrap()
        .clone();
    assert_eq!(late["state"], "pending", "{late}");
    let mroutes = net.ctl_json("r1", &["show", "mroutes"]).unwrap();
    assert_eq!(mroutes["mroutes"][0]["oifs"][0]["state"], "no-vif");

    // Now the link to a second receiver host appears.
    let rcv = net.ns("rcv");
    net.node("r1")
        .run(&[
            "ip", "link", "add", "late0", "type", "veth", "peer", "name", "eth9", "netns", &rcv,
        ])
        .unwrap();
    net.node("r1")
        .sh("ip addr add 10.0.9.1/24 dev late0 && ip link set late0 up")
        .unwrap();
    net.node("rcv")
        .sh("ip addr add 10.0.9.2/24 dev eth9 && ip link set eth9 up")
        .unwrap();
    assert!(wait_until(Duration::from_secs(3), || {
        ctl_mfc(&net, "r1") == [entry("10.0.1.1", "239.7.7.7", "eth0", &["late0"])].into()
    }));
    let rx = recv(&net, "rcv", "239.7.7.7", 2.5, &["--interface", "eth9"]);
    settle();
    wait_sender(send(
        &net,
        "src",
        "239.7.7.7",
        200,
        200,
        &["--interface", "eth0"],
    ));
    let r = report(rx);
    assert_eq!(r.unique, 200, "{r:?}");
}

#[test]
fn the_33rd_vif_gives_a_clear_error_and_vif_31_still_forwards() {
    let net = net(ONE_ROUTER);
    // 31 more interfaces in r1 (veth pairs whose peers stay in r1), 33 in all.
    let mut script = String::new();
    for i in 0..31 {
        script.push_str(&format!("ip link add x{i:02} type veth peer name y{i:02}\nip link set x{i:02} up\nip link set y{i:02} up\n"));
    }
    net.node("r1").sh(&script).unwrap();
    let mut ifaces =
        String::from("[[interface]]\nname = \"eth0\"\n[[interface]]\nname = \"eth1\"\n");
    for i in 0..31 {
        ifaces.push_str(&format!("[[interface]]\nname = \"x{i:02}\"\n"));
    }
    let sock = net.router_socket("r1").display().to_string();
    let base = format!("[router]\nname = \"r1\"\ncontrol_socket = \"{sock}\"\n{ifaces}");
    net.write_router_config("r1", &base).unwrap();
    net.ctl("r1", &["reload"]).unwrap();
    let ifs = net.ctl_json("r1", &["show", "interfaces"]).unwrap();
    let list = ifs["interfaces"].as_array().unwrap();
    assert_eq!(list.len(), 33);
    let active = list.iter().filter(|i| i["state"] == "active").count();
    let errors: Vec<&Value> = list.iter().filter(|i| i["state"] == "error").collect();
    assert_eq!(active, 32, "{ifs}");
    assert_eq!(errors.len(), 1, "{ifs}");
    let msg = errors[0]["error"].as_str().unwrap();
    assert!(
        msg.contains("limit of 32") && msg.contains("VIF"),
        "clear error: {msg}"
    );
    assert!(
        net.router_log("r1").contains("limit of 32"),
        "and it is logged"
    );

    // The interface in VIF slot 31 can still be an output (rtnetlink cannot express it;
    // mrouterd falls back to MRT_ADD_MFC for that entry).
    let last = list
        .iter()
        .find(|i| i["vif"] == 31)
        .expect("slot 31 in use");
    let last = last["name"].as_str().unwrap().to_owned();
    let route = format!(
        "[[route]]\nsource = \"10.0.1.1\"\ngroup = \"239.1.1.1\"\ninput = \"eth0\"\noutputs = [\"eth1\", \"{last}\"]\n"
    );
    net.write_router_config("r1", &format!("{base}{route}"))
        .unwrap();
    net.ctl("r1", &["reload"]).unwrap();
    let want: BTreeSet<_> = [entry("10.0.1.1", "239.1.1.1", "eth0", &["eth1", &last])].into();
    assert_eq!(ip_mroute(&net, "r1"), want);
    assert_eq!(ctl_mfc(&net, "r1"), want);
    let rx = recv(&net, "rcv", "239.1.1.1", 2.0, &[]);
    settle();
    wait_sender(send(&net, "src", "239.1.1.1", 200, 100, &[]));
    assert_eq!(report(rx).unique, 100);
}

#[test]
fn a_second_daemon_in_the_same_namespace_is_refused_with_a_reason() {
    let net = net(ONE_ROUTER);
    let cfg = net.rundir().join("second.toml");
    std::fs::write(
        &cfg,
        format!(
            "[router]\ncontrol_socket = \"{}\"\n",
            net.rundir().join("second.sock").display()
        ),
    )
    .unwrap();
    let mrouterd = bin_path("mrouterd").unwrap().display().to_string();
    let out = net
        .node("r1")
        .exec(&[&mrouterd, "--config", &cfg.display().to_string()])
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already owns the default multicast table"),
        "{err}"
    );
}

#[test]
fn check_reports_file_line_and_key_and_the_daemon_refuses_a_bad_file() {
    let dir = std::env::temp_dir().join(format!("mrouterd-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[router]\nname = \"r1\"\n\n[[interface]]\nname = \"eth0\"\nttl_threshold = 0\n",
    )
    .unwrap();
    let mrouterd = bin_path("mrouterd").unwrap();
    let out = std::process::Command::new(&mrouterd)
        .arg("--check")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:6:17: [[interface]] `ttl_threshold`: must be between 1 and 255, got 0",
            bad.display()
        )),
        "{err}"
    );
    let out = std::process::Command::new(&mrouterd)
        .arg("--config")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ttl_threshold"));
    let good = dir.join("good.toml");
    std::fs::write(&good, "[[interface]]\nname = \"eth0\"\n").unwrap();
    let out = std::process::Command::new(&mrouterd)
        .arg("--check")
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn log_level_changes_at_runtime_and_bad_levels_are_refused() {
    let net = net(ONE_ROUTER);
    let v = net.ctl_json("r1", &["log-level", "debug"]).unwrap();
    assert_eq!(v["log_level"], "debug");
    let err = net
        .ctl("r1", &["log-level", "loud"])
        .expect_err("bad level");
    assert!(format!("{err:#}").contains("not a log level"), "{err:#}");
    // Debug output now appears: a reload logs its MFC writes at debug level.
    net.write_router_config("r1", &r1_config(&net, "[[route]]\nsource = \"10.0.1.1\"\ngroup = \"239.4.4.4\"\ninput = \"eth0\"\noutputs = [\"eth1\"]\n")).unwrap();
    net.ctl("r1", &["reload"]).unwrap();
    assert!(wait_until(Duration::from_secs(2), || net
        .router_log("r1")
        .contains("MFC entry written")));
    let v = net.ctl_json("r1", &["version"]).unwrap();
    assert_eq!(v["name"], "r1");
}

/// Two daemons in one namespace, each owning its own multicast table and interfaces:
/// mrouterd steers its interfaces into its table with `ip mrule` and removes the rules
/// when it stops.
#[test]
fn two_daemons_in_one_namespace_use_separate_multicast_tables() {
    // r1: eth0 <- src1 (10.0.1.1), eth1 -> rcv1, eth2 <- src2 (10.0.3.1), eth3 -> rcv2.
    let topo = r#"
[[host]]
name = "src1"
[[host]]
name = "rcv1"
[[host]]
name = "src2"
[[host]]
name = "rcv2"
[[router]]
name = "r1"
config = """
[router]
name = "r1-a"
table = 10
[[interface]]
name = "eth0"
[[interface]]
name = "eth1"
[[route]]
source = "10.0.1.1"
group = "239.10.0.1"
input = "eth0"
outputs = ["eth1"]
"""
[[link]]
nodes = ["src1", "r1"]
[[link]]
nodes = ["r1", "rcv1"]
[[link]]
nodes = ["src2", "r1"]
[[link]]
nodes = ["r1", "rcv2"]
"#;
    let net = net(topo);
    let second = net.rundir().join("r1-b.toml");
    let sock = net.rundir().join("r1-b.sock");
    std::fs::write(
        &second,
        format!(
            "[router]\nname = \"r1-b\"\ntable = 20\ncontrol_socket = \"{}\"\n\
             [[interface]]\nname = \"eth2\"\n[[interface]]\nname = \"eth3\"\n\
             [[route]]\nsource = \"10.0.3.1\"\ngroup = \"239.20.0.1\"\ninput = \"eth2\"\noutputs = [\"eth3\"]\n",
            sock.display()
        ),
    )
    .unwrap();
    let mrouterd = bin_path("mrouterd").unwrap().display().to_string();
    let mut b = net
        .node("r1")
        .spawn(&[&mrouterd, "--config", &second.display().to_string()])
        .unwrap();
    let ctl = bin_path("mrouterctl").unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || std::process::Command::new(&ctl)
            .arg("--socket")
            .arg(&sock)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())),
        "second daemon did not start: {}",
        b.stderr()
    );
    let rules = net.node("r1").run(&["ip", "mrule", "show"]).unwrap();
    for want in [
        "iif eth0 lookup 10",
        "iif eth1 lookup 10",
        "iif eth2 lookup 20",
        "iif eth3 lookup 20",
    ] {
        assert!(rules.contains(want), "missing `{want}` in:\n{rules}");
    }
    let r1 = recv(&net, "rcv1", "239.10.0.1", 2.5, &[]);
    let r2 = recv(&net, "rcv2", "239.20.0.1", 2.5, &[]);
    settle();
    let s1 = send(&net, "src1", "239.10.0.1", 200, 200, &[]);
    let s2 = send(&net, "src2", "239.20.0.1", 200, 200, &[]);
    wait_sender(s1);
    wait_sender(s2);
    assert_eq!(report(r1).unique, 200, "table 10 forwards");
    assert_eq!(report(r2).unique, 200, "table 20 forwards");
    let t10 = net
        .node("r1")
        .run(&["ip", "mroute", "show", "table", "10"])
        .unwrap();
    let t20 = net
        .node("r1")
        .run(&["ip", "mroute", "show", "table", "20"])
        .unwrap();
    assert!(
        t10.contains("239.10.0.1") && !t10.contains("239.20.0.1"),
        "{t10}"
    );
    assert!(
        t20.contains("239.20.0.1") && !t20.contains("239.10.0.1"),
        "{t20}"
    );

    // SIGTERM: the second daemon removes its rules and its table empties.
    b.signal(15);
    assert!(wait_until(Duration::from_secs(5), || b
        .try_wait()
        .is_some()));
    let rules = net.node("r1").run(&["ip", "mrule", "show"]).unwrap();
    assert!(!rules.contains("lookup 20"), "rules left behind:\n{rules}");
    assert!(rules.contains("iif eth0 lookup 10"), "{rules}");
    let t20 = net
        .node("r1")
        .run(&["ip", "mroute", "show", "table", "20"])
        .unwrap();
    assert!(t20.trim().is_empty(), "{t20}");
}

#[test]
fn traffic_on_the_wrong_interface_is_reported() {
    // The route expects rcv's traffic on eth0, but it arrives on eth1 (one of the route's
    // outputs, which is when the kernel reports it: WRONGVIF).
    let topo = ONE_ROUTER.replace(
        "route = [ { source = \"10.0.1.1\"",
        "route = [ { source = \"10.0.2.2\", group = \"239.8.8.8\", input = \"eth0\", outputs = [\"eth1\"] }, { source = \"10.0.1.1\"",
    );
    let net = net(&topo);
    wait_sender(send(&net, "rcv", "239.8.8.8", 100, 50, &[]));
    let c = net.ctl_json("r1", &["show", "counters"]).unwrap();
    assert!(
        c["counters"]["upcall_wrongvif"].as_u64().unwrap() >= 1,
        "{c}"
    );
    assert!(
        net.router_log("r1")
            .contains("(10.0.2.2, 239.8.8.8) arrives on eth1 but its route expects it on eth0"),
        "{}",
        net.router_log("r1")
    );
}

#[test]
fn rpf_follows_unicast_route_changes() {
    let net = net(ONE_ROUTER);
    let rpf_of_route = || {
        let v = net.ctl_json("r1", &["show", "mroutes"]).unwrap();
        v["mroutes"][0]["rpf"]["interface"]
            .as_str()
            .map(str::to_owned)
    };
    assert_eq!(rpf_of_route().as_deref(), Some("eth0"));
    let v = net.ctl_json("r1", &["show", "rpf", "10.0.1.1"]).unwrap();
    assert_eq!(v["rpf"]["interface"], "eth0", "{v}");
    // A more specific route through eth1: the router hears of it through rtnetlink.
    net.node("r1")
        .run(&[
            "ip",
            "route",
            "add",
            "10.0.1.1/32",
            "via",
            "10.0.2.2",
            "dev",
            "eth1",
        ])
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(3), || rpf_of_route().as_deref()
            == Some("eth1")),
        "RPF did not follow the route change: {:?}",
        rpf_of_route()
    );
    let v = net.ctl_json("r1", &["show", "rpf", "10.0.1.1"]).unwrap();
    assert_eq!(
        (v["rpf"]["interface"].as_str(), v["rpf"]["gateway"].as_str()),
        (Some("eth1"), Some("10.0.2.2")),
        "{v}"
    );
    assert!(net.router_log("r1").contains("RPF changed"));
    net.node("r1")
        .run(&["ip", "route", "del", "10.0.1.1/32"])
        .unwrap();
    assert!(wait_until(Duration::from_secs(3), || rpf_of_route()
        .as_deref()
        == Some("eth0")));
}

#[test]
fn idle_sources_of_star_g_routes_expire_and_static_routes_stay() {
    let topo = r#"
[[host]]
name = "src"
[[host]]
name = "rcv"
[[router]]
name = "r1"
[router.mrouterd]
router = { cache_timeout = 2 }
route = [
  { group = "239.2.0.0/16", input = "eth0", outputs = ["eth1"] },
  { source = "10.0.1.1", group = "239.1.1.1", input = "eth0", outputs = ["eth1"] },
]
[[link]]
nodes = ["src", "r1"]
[[link]]
nodes = ["r1", "rcv"]
"#;
    let net = net(topo);
    wait_sender(send(&net, "src", "239.2.3.4", 100, 20, &[]));
    assert!(ctl_mfc(&net, "r1").contains(&entry("10.0.1.1", "239.2.3.4", "eth0", &["eth1"])));
    // Idle for the cache timeout (2 s) plus one check interval (1 s): gone.
    assert!(
        wait_until(Duration::from_secs(6), || ctl_mfc(&net, "r1")
            == [entry("10.0.1.1", "239.1.1.1", "eth0", &["eth1"])].into()),
        "{:?}",
        ctl_mfc(&net, "r1")
    );
    assert!(net.router_log("r1").contains("idle for 2s"));
    // A new packet brings it back.
    wait_sender(send(&net, "src", "239.2.3.4", 100, 5, &[]));
    assert!(wait_until(Duration::from_secs(2), || ctl_mfc(&net, "r1")
        .len()
        == 2));
}

#[test]
fn a_link_that_goes_down_and_up_keeps_its_vif_and_forwards_again() {
    let net = net(ONE_ROUTER);
    net.link_down("r1", "rcv").unwrap();
    let ifs = net.ctl_json("r1", &["show", "interfaces"]).unwrap();
    assert!(
        wait_until(Duration::from_secs(3), || {
            let v = net.ctl_json("r1", &["show", "interfaces"]).unwrap();
            v["interfaces"][1]["link_up"] == false && v["interfaces"][1]["state"] == "active"
        }),
        "{ifs}"
    );
    net.link_up("r1", "rcv").unwrap();
    let rx = recv(&net, "rcv", "239.1.1.1", 2.0, &[]);
    settle();
    wait_sender(send(&net, "src", "239.1.1.1", 200, 100, &[]));
    assert_eq!(report(rx).unique, 100);
    assert!(net.router_log("r1").contains("link down"));
}

#[test]
fn the_control_socket_is_group_accessible_only_and_root_is_required() {
    use std::os::unix::fs::PermissionsExt;
    let net = net(ONE_ROUTER);
    let mode = std::fs::metadata(net.router_socket("r1"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o660);

    // Without CAP_NET_ADMIN the daemon says what to do instead of failing obscurely.
    let mrouterd = bin_path("mrouterd").unwrap().display().to_string();
    let cfg = net.router_config_path("r1").display().to_string();
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            "--inh-caps=-all",
            &mrouterd,
            "--config",
            &cfg,
        ])
        .output()
        .expect("setpriv (util-linux)");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("CAP_NET_ADMIN") && err.contains("run it as root"),
        "{err}"
    );
}
