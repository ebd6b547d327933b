//! PIM-SM joins and prunes across a chain of real `mrouterd` routers, with the Linux kernel
//! as the IGMP host and real traffic: SSM source trees from IGMPv3 INCLUDE membership, and
//! the (*,G) shared tree with the RP at the source's first hop.
//!
//!   src (10.0.1.1) -- r1 -- r2 -- r3 -- rcv (10.0.4.2)
//!          eth0 10.0.1.2 | eth1  eth0 | eth1  eth0 | eth1 10.0.4.1

use std::time::{Duration, Instant};

use serde_json::Value;
use testbed::capture::Capture;
use testbed::traffic::{net, recv, report, send};
use testbed::{Net, wait_until};
use tools::mcast::report::Report;

/// Forwarding outputs of a router's MRIB entry, with its origin.
fn mroute(net: &Net, router: &str, source: &str, group: &str) -> Option<(String, Vec<String>)> {
    let v = net.ctl_json(router, &["show", "mroutes"]).unwrap();
    v["mroutes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["source"] == source && m["group"] == group)
        .map(|m| {
            (
                m["origin"]["kind"].as_str().unwrap_or("?").to_owned(),
                m["oifs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|o| o["state"] == "forwarding")
                    .map(|o| o["interface"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
}

fn chain(extra_global: &str) -> String {
    let pim = "pim = { hello_period = 1, triggered_hello_delay = 0.1 }";
    let igmp = "igmp = { query_interval = 2, query_response_interval = 1, last_member_query_interval = 0.2 }";
    let mut t = String::from("[[host]]\nname = \"src\"\n[[host]]\nname = \"rcv\"\n");
    for r in ["r1", "r2", "r3"] {
        t.push_str(&format!(
            "[[router]]\nname = \"{r}\"\n[router.mrouterd]\n{extra_global}\n"
        ));
        let ifaces = match r {
            // eth0 faces the source: PIM there makes r1 the source's DR (it registers).
            "r1" => format!(
                "{{ name = \"eth0\", protocols = [\"pim\"], {pim} }}, {{ name = \"eth1\", protocols = [\"pim\"], {pim} }}"
            ),
            "r2" => format!(
                "{{ name = \"eth0\", protocols = [\"pim\"], {pim} }}, {{ name = \"eth1\", protocols = [\"pim\"], {pim} }}"
            ),
            _ => format!(
                "{{ name = \"eth0\", protocols = [\"pim\"], {pim} }}, {{ name = \"eth1\", protocols = [\"igmp\", \"pim\"], {pim}, {igmp} }}"
            ),
        };
        t.push_str(&format!("interface = [ {ifaces} ]\n"));
    }
    for (a, b) in [("src", "r1"), ("r1", "r2"), ("r2", "r3"), ("r3", "rcv")] {
        t.push_str(&format!("[[link]]\nnodes = [\"{a}\", \"{b}\"]\n"));
    }
    t
}

fn neighbours_up(net: &Net) -> bool {
    let n = |r: &str| -> usize {
        let v: Value = net.ctl_json(r, &["show", "pim"]).unwrap();
        v["pim"]["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["neighbors"].as_array().map_or(0, Vec::len))
            .sum()
    };
    n("r1") == 1 && n("r2") == 2 && n("r3") == 1
}

#[test]
fn ssm_source_tree_from_an_igmpv3_include_join_and_prune_on_leave() {
    let net = net(&chain(""));
    assert!(
        wait_until(Duration::from_secs(5), || neighbours_up(&net)),
        "PIM adjacencies"
    );
    // rcv joins (10.0.1.1, 232.1.1.1): IGMPv3 INCLUDE -> (S,G) Joins r3 -> r2 -> r1.
    let rx = recv(&net, "rcv", "232.1.1.1", 4.0, &["--source", "10.0.1.1"]);
    let joined_at = Instant::now();
    assert!(
        wait_until(Duration::from_secs(3), || mroute(
            &net,
            "r1",
            "10.0.1.1",
            "232.1.1.1"
        )
        .is_some_and(|(_, o)| o == ["eth1"])),
        "r1 forwards towards r2: {:?}",
        mroute(&net, "r1", "10.0.1.1", "232.1.1.1")
    );
    let join_latency = joined_at.elapsed();
    assert!(
        join_latency < Duration::from_secs(2),
        "joins are event-driven: {join_latency:?}"
    );
    // The human tables show the state: r2 joined upstream towards r1, r2's eth1 joined
    // downstream by r3.
    let up = net.ctl("r2", &["show", "pim", "upstream"]).unwrap();
    assert!(
        up.lines()
            .any(|l| l.contains("10.0.1.1") && l.contains("joined") && l.contains("10.0.2.1")),
        "{up}"
    );
    let join = net.ctl("r2", &["show", "pim", "join"]).unwrap();
    assert!(
        join.lines()
            .any(|l| l.starts_with("eth1") && l.contains("join")),
        "{join}"
    );
    let tx = send(&net, "src", "232.1.1.1", 100, 200, &[]);
    let r = report(rx);
    drop(tx);
    assert!(r.unique >= 190, "SSM delivery through three routers: {r:?}");
    for router in ["r1", "r2", "r3"] {
        let (origin, _) = mroute(&net, router, "10.0.1.1", "232.1.1.1").expect("an (S,G) entry");
        assert_eq!(origin, "pim", "{router}");
    }
    // The receiver left: its IGMP leave prunes the branch back to r1.
    assert!(
        wait_until(Duration::from_secs(5), || mroute(
            &net,
            "r1",
            "10.0.1.1",
            "232.1.1.1"
        )
        .is_none_or(|(_, o)| o.is_empty())),
        "the prune reached r1: {:?}",
        mroute(&net, "r1", "10.0.1.1", "232.1.1.1")
    );
}

#[test]
fn asm_shared_tree_with_the_rp_at_the_first_hop() {
    let net = net(&chain(
        "pim = { rp = [ { group = \"239.0.0.0/8\", address = \"10.0.1.2\" } ] }",
    ));
    assert!(
        wait_until(Duration::from_secs(5), || neighbours_up(&net)),
        "PIM adjacencies"
    );
    let rx = recv(&net, "rcv", "239.1.2.3", 4.0, &[]);
    // (*,G) Joins towards the RP (r1): r1 has (*,G) state with r2 in its olist.
    assert!(
        wait_until(Duration::from_secs(3), || {
            let v = net.ctl_json("r1", &["show", "mroutes"]).unwrap();
            v["pim_star"]["239.1.2.3"]["oifs"] == serde_json::json!(["eth1"])
        }),
        "{}",
        net.ctl_json("r1", &["show", "mroutes"]).unwrap()
    );
    let tx = send(&net, "src", "239.1.2.3", 100, 200, &[]);
    let r = report(rx);
    drop(tx);
    assert!(r.unique >= 180, "shared-tree delivery: {r:?}");
    assert_eq!(r.duplicates, 0, "{r:?}");
    for router in ["r1", "r2", "r3"] {
        let (origin, oifs) =
            mroute(&net, router, "10.0.1.1", "239.1.2.3").expect("an entry per source");
        assert_eq!(oifs, vec!["eth1".to_owned()], "{router}");
        // The last hop switched to the source tree at the first packet (the default
        // policy, RFC 7761 4.2.2): its entry is PIM (S,G) state, not the shared tree's.
        if router == "r3" {
            assert_eq!(origin, "pim", "r3 switched to the SPT");
        } else {
            assert!(
                origin == "pim" || origin == "pim-star-g",
                "{router}: {origin}"
            );
        }
    }
}

#[test]
fn ssm_joins_cross_frr_pimd_in_the_middle() {
    // src -- r1 (mrouterd) -- f2 (FRR pimd) -- r3 (mrouterd) -- rcv
    let pim = "pim = { hello_period = 1, triggered_hello_delay = 0.1 }";
    let igmp = "igmp = { query_interval = 2, query_response_interval = 1, last_member_query_interval = 0.2 }";
    let topo = format!(
        "[options]\nstart_routers = false\n[[host]]\nname = \"src\"\n[[host]]\nname = \"rcv\"\n[[router]]\nname = \"f2\"\n\
         [[router]]\nname = \"r1\"\n[router.mrouterd]\ninterface = [ {{ name = \"eth1\", protocols = [\"pim\"], {pim} }} ]\n\
         [[router]]\nname = \"r3\"\n[router.mrouterd]\ninterface = [ {{ name = \"eth0\", protocols = [\"pim\"], {pim} }}, \
         {{ name = \"eth1\", protocols = [\"igmp\", \"pim\"], {pim}, {igmp} }} ]\n\
         [[link]]\nnodes = [\"src\", \"r1\"]\n[[link]]\nnodes = [\"r1\", \"f2\"]\n[[link]]\nnodes = [\"f2\", \"r3\"]\n\
         [[link]]\nnodes = [\"r3\", \"rcv\"]\n"
    );
    let net = net(&topo);
    // f2 is a router of the topology (it forwards, and has routes to every subnet) that
    // runs FRR instead of mrouterd.
    net.start_router("r1").unwrap();
    net.start_router("r3").unwrap();
    let frr = testbed::frr::Frr::start(
        &net,
        "f2",
        "interface eth0\n ip pim\n ip pim hello 1 4\ninterface eth1\n ip pim\n ip pim hello 1 4\n",
    )
    .expect("FRR pimd");
    let frr_neighbors = || {
        frr.json("show ip pim neighbor json")
            .map(|v| v["eth0"]["10.0.2.1"].is_object() && v["eth1"]["10.0.3.2"].is_object())
            .unwrap_or(false)
    };
    assert!(
        wait_until(Duration::from_secs(10), frr_neighbors),
        "{}",
        frr.vtysh("show ip pim neighbor").unwrap_or_default()
    );
    let rx = recv(&net, "rcv", "232.9.9.9", 5.0, &["--source", "10.0.1.1"]);
    // r3's (S,G) Join goes to FRR, FRR's goes to r1.
    assert!(
        wait_until(Duration::from_secs(4), || mroute(
            &net,
            "r1",
            "10.0.1.1",
            "232.9.9.9"
        )
        .is_some_and(|(_, o)| o == ["eth1"])),
        "FRR propagated the join to r1: {:?}\nFRR: {}\n{}\nr3: {}\nFRR log: {}",
        mroute(&net, "r1", "10.0.1.1", "232.9.9.9"),
        frr.vtysh("show ip pim join").unwrap_or_default(),
        frr.vtysh("show ip pim upstream").unwrap_or_default(),
        net.ctl_json("r3", &["show", "pim"])
            .map(|v| v["pim"]["tib"].to_string())
            .unwrap_or_default(),
        frr.pimd_log()
    );
    let tx = send(&net, "src", "232.9.9.9", 100, 200, &[]);
    let r = report(rx);
    drop(tx);
    assert!(
        r.unique >= 180,
        "delivery through FRR: {r:?}\n{}",
        frr.vtysh("show ip mroute").unwrap_or_default()
    );
}

#[test]
fn asm_through_register_to_an_rp_in_the_middle_then_register_stop() {
    // r2 (10.0.2.2) is the RP; src's DR r1 registers its packets to r2, which forwards
    // them down the shared tree, joins the source tree and stops the Registers.
    let net = net(&chain(
        "pim = { rp = [ { group = \"239.0.0.0/8\", address = \"10.0.2.2\" } ] }",
    ));
    assert!(
        wait_until(Duration::from_secs(5), || neighbours_up(&net)),
        "PIM adjacencies"
    );
    // r1's source-facing interface must run PIM too: the DR of the source's LAN registers.
    let rx = recv(&net, "rcv", "239.7.7.7", 6.0, &[]);
    assert!(
        wait_until(Duration::from_secs(3), || {
            let v = net.ctl_json("r2", &["show", "mroutes"]).unwrap();
            v["pim_star"]["239.7.7.7"]["oifs"] == serde_json::json!(["eth1"])
        }),
        "(*,G) joined at the RP: {}",
        net.ctl_json("r2", &["show", "mroutes"]).unwrap()
    );
    let rp = net.ctl("r3", &["show", "pim", "rp"]).unwrap();
    assert!(
        rp.contains("239.0.0.0/8") && rp.contains("10.0.2.2"),
        "{rp}"
    );
    let tx = send(&net, "src", "239.7.7.7", 100, 400, &[]);
    let r = report(rx);
    drop(tx);
    assert!(
        r.unique >= 380,
        "delivery via Register and then the source tree: {r:?}"
    );
    assert!(
        r.sources.get("10.0.1.1").is_some_and(|s| s.first_seq <= 1),
        "the first packets came through Registers: {r:?}"
    );
    let reg =
        |r: &str| net.ctl_json(r, &["show", "pim"]).unwrap()["pim"]["tib"]["register"].clone();
    let (dr, rp) = (reg("r1"), reg("r2"));
    assert!(
        dr["registers_sent"].as_u64().unwrap() >= 1,
        "r1 registered: {dr}"
    );
    assert!(
        rp["registers_received"].as_u64().unwrap() >= 1,
        "r2 got them: {rp}"
    );
    assert!(
        wait_until(
            Duration::from_secs(3),
            || reg("r1")["register_stops_received"].as_u64().unwrap() >= 1
        ),
        "the RP stopped the Registers: {}",
        reg("r1")
    );
    // The RP joined the source tree and r1 forwards natively now.
    let (origin, oifs) = mroute(&net, "r1", "10.0.1.1", "239.7.7.7").expect("r1 (S,G)");
    assert_eq!(
        (origin.as_str(), oifs),
        ("pim", vec!["eth1".to_owned()]),
        "native forwarding, no pimreg"
    );
}

/// The RP off the shortest path:
///   src (10.0.1.1) -- r1 -- r2 -- r3 -- rcv
///                           |
///                           rp (10.0.4.2)
/// r2 (10.0.2.2 / 10.0.3.1 / 10.0.4.1) is where the shared tree (via rp) and the source
/// tree (via r1) diverge.
fn rp_off_path(policy: &str) -> String {
    let pim = "pim = { hello_period = 1, triggered_hello_delay = 0.1 }";
    let igmp = "igmp = { query_interval = 2, query_response_interval = 1, last_member_query_interval = 0.2 }";
    let global = format!(
        "pim = {{ rp = [ {{ group = \"239.0.0.0/8\", address = \"10.0.4.2\" }} ], {policy} }}"
    );
    let mut t = String::from("[[host]]\nname = \"src\"\n[[host]]\nname = \"rcv\"\n");
    for (r, ifaces) in [
        ("r1", vec!["eth0", "eth1"]),
        ("r2", vec!["eth0", "eth1", "eth2"]),
        ("r3", vec!["eth0"]),
        ("rp", vec!["eth0"]),
    ] {
        let mut list: Vec<String> = ifaces
            .iter()
            .map(|i| format!("{{ name = \"{i}\", protocols = [\"pim\"], {pim} }}"))
            .collect();
        if r == "r3" {
            list.push(format!(
                "{{ name = \"eth1\", protocols = [\"igmp\", \"pim\"], {pim}, {igmp} }}"
            ));
        }
        t.push_str(&format!(
            "[[router]]\nname = \"{r}\"\n[router.mrouterd]\n{global}\ninterface = [ {} ]\n",
            list.join(", ")
        ));
    }
    for (a, b) in [
        ("src", "r1"),
        ("r1", "r2"),
        ("r2", "r3"),
        ("r2", "rp"),
        ("r3", "rcv"),
    ] {
        t.push_str(&format!("[[link]]\nnodes = [\"{a}\", \"{b}\"]\n"));
    }
    t
}

/// Run traffic at 100 pkt/s of 64 bytes (about 60 kbit/s on the wire) and report what the
/// receiver got, r3's entry origin, and whether the RP still forwards S towards r2.
fn spt_run(policy: &str) -> (Report, String, bool) {
    let net = net(&rp_off_path(policy));
    let adj = || {
        let n = |r: &str| -> usize {
            let v: Value = net.ctl_json(r, &["show", "pim"]).unwrap();
            v["pim"]["interfaces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["neighbors"].as_array().map_or(0, Vec::len))
                .sum()
        };
        n("r1") == 1 && n("r2") == 3 && n("r3") == 1 && n("rp") == 1
    };
    assert!(wait_until(Duration::from_secs(6), adj), "PIM adjacencies");
    let rx = recv(&net, "rcv", "239.4.4.4", 6.0, &[]);
    assert!(
        wait_until(Duration::from_secs(3), || {
            let v = net.ctl_json("rp", &["show", "mroutes"]).unwrap();
            v["pim_star"]["239.4.4.4"]["oifs"] == serde_json::json!(["eth0"])
        }),
        "(*,G) at the RP: {}\nr3: {}\nr2: {}",
        net.ctl_json("rp", &["show", "mroutes"]).unwrap(),
        net.ctl("r3", &["show", "pim", "upstream"])
            .unwrap_or_default(),
        net.ctl("r2", &["show", "pim", "upstream"])
            .unwrap_or_default()
    );
    let tx = send(&net, "src", "239.4.4.4", 100, 500, &[]);
    let r = report(rx);
    drop(tx);
    let origin = mroute(&net, "r3", "10.0.1.1", "239.4.4.4")
        .map(|(o, _)| o)
        .unwrap_or_default();
    let rp_forwards =
        mroute(&net, "rp", "10.0.1.1", "239.4.4.4").is_some_and(|(_, o)| !o.is_empty());
    if std::env::var("SPT_DEBUG").is_ok() {
        for rt in ["r1", "r2", "r3", "rp"] {
            eprintln!(
                "== {rt}\n{}\n{}\n{}",
                net.ctl(rt, &["show", "mroutes"]).unwrap_or_default(),
                net.ctl(rt, &["show", "pim", "upstream"])
                    .unwrap_or_default(),
                net.ctl(rt, &["show", "pim", "join"]).unwrap_or_default()
            );
        }
    }
    (r, origin, rp_forwards)
}

#[test]
fn spt_switchover_immediate_prunes_the_shared_tree_at_the_divergence() {
    let (r, origin, rp_forwards) = spt_run("spt_switchover = \"immediate\"");
    assert!(r.unique >= 480, "{r:?}");
    assert_eq!(r.duplicates, 0, "no duplicates across the switch: {r:?}");
    assert_eq!(origin, "pim", "r3 is on the source tree");
    assert!(
        !rp_forwards,
        "r2 pruned (S,G,rpt) towards the RP, which stopped forwarding S"
    );
}

#[test]
fn spt_switchover_never_stays_on_the_shared_tree() {
    let (r, origin, _rp_forwards) = spt_run("spt_switchover = \"never\"");
    assert!(r.unique >= 480, "{r:?}");
    assert_eq!(r.duplicates, 0, "{r:?}");
    assert_eq!(origin, "pim-star-g", "r3 stays on the shared tree");
    // The RP's receivers and the source are both behind r2: the RP joins the source tree
    // through r2 (RFC 7761 4.1.6 keeps the iif in inherited_olist(S,G)), and r2 forwards S
    // down the shared tree towards r3; the RP itself has nowhere to send S.
}

#[test]
fn spt_switchover_by_rate_threshold() {
    // About 60 kbit/s: above 20, below 500.
    let (_, origin, _) = spt_run("spt_switchover = \"threshold\", spt_threshold_kbps = 500");
    assert_eq!(origin, "pim-star-g", "below the threshold: shared tree");
    let (r, origin, _) = spt_run("spt_switchover = \"threshold\", spt_threshold_kbps = 20");
    assert_eq!(origin, "pim", "above the threshold: source tree");
    assert_eq!(r.duplicates, 0, "{r:?}");
}

#[test]
fn rpf_change_moves_the_source_tree_to_the_other_path() {
    // src -- r1, r1 -- r2 -- r4, r1 -- r3 -- r4, r4 -- rcv: two paths from r4 to the source.
    let pim = "pim = { hello_period = 1, triggered_hello_delay = 0.1 }";
    let igmp = "igmp = { query_interval = 2, query_response_interval = 1, last_member_query_interval = 0.2 }";
    let mut t = String::from("[[host]]\nname = \"src\"\n[[host]]\nname = \"rcv\"\n");
    for (r, n) in [("r1", 3), ("r2", 2), ("r3", 2), ("r4", 2)] {
        let mut list: Vec<String> = (0..n)
            .map(|i| format!("{{ name = \"eth{i}\", protocols = [\"pim\"], {pim} }}"))
            .collect();
        if r == "r4" {
            list.push(format!(
                "{{ name = \"eth2\", protocols = [\"igmp\", \"pim\"], {pim}, {igmp} }}"
            ));
        }
        t.push_str(&format!(
            "[[router]]\nname = \"{r}\"\n[router.mrouterd]\ninterface = [ {} ]\n",
            list.join(", ")
        ));
    }
    // Links in order: 10.0.1 src-r1, 10.0.2 r1-r2, 10.0.3 r1-r3, 10.0.4 r2-r4, 10.0.5 r3-r4,
    // 10.0.6 r4-rcv. r4: eth0 to r2, eth1 to r3, eth2 to rcv.
    for (a, b) in [
        ("src", "r1"),
        ("r1", "r2"),
        ("r1", "r3"),
        ("r2", "r4"),
        ("r3", "r4"),
        ("r4", "rcv"),
    ] {
        t.push_str(&format!("[[link]]\nnodes = [\"{a}\", \"{b}\"]\n"));
    }
    let net = net(&t);
    let adj = || {
        let v: Value = net.ctl_json("r4", &["show", "pim"]).unwrap();
        v["pim"]["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["neighbors"].as_array().map_or(0, Vec::len))
            .sum::<usize>()
            == 2
    };
    assert!(
        wait_until(Duration::from_secs(6), adj),
        "PIM adjacencies at r4"
    );
    let rx = recv(&net, "rcv", "232.6.6.6", 9.0, &["--source", "10.0.1.1"]);
    assert!(
        wait_until(Duration::from_secs(3), || mroute(
            &net,
            "r2",
            "10.0.1.1",
            "232.6.6.6"
        )
        .is_some_and(|(_, o)| o == ["eth1"])),
        "the tree goes through r2 first"
    );
    assert!(
        wait_until(Duration::from_secs(3), || mroute(
            &net,
            "r1",
            "10.0.1.1",
            "232.6.6.6"
        )
        .is_some_and(|(_, o)| o.contains(&"eth1".to_owned()))),
        "the tree reaches r1"
    );
    let tx = send(&net, "src", "232.6.6.6", 100, 700, &[]);
    std::thread::sleep(Duration::from_secs(2));
    // The r2 path fails; the unicast route moves to r3 (as a routing protocol would).
    net.link_down("r2", "r4").unwrap();
    net.node("r4")
        .run(&["ip", "route", "replace", "10.0.1.0/24", "via", "10.0.5.1"])
        .unwrap();
    let switched = Instant::now();
    assert!(
        wait_until(Duration::from_secs(3), || mroute(
            &net,
            "r3",
            "10.0.1.1",
            "232.6.6.6"
        )
        .is_some_and(|(_, o)| o == ["eth1"])),
        "r4's RPF moved to r3 and its Join followed: {}",
        net.ctl("r4", &["show", "pim", "upstream"])
            .unwrap_or_default()
    );
    let took = switched.elapsed();
    let r = report(rx);
    drop(tx);
    let s = &r.sources["10.0.1.1"];
    assert!(
        s.last_seq >= 650,
        "delivery resumed over r3 until the end: {r:?}"
    );
    // The gap is the failover: link down, route change, RPF notification, Join. Unloaded
    // runs lose well under a second; CI runs many topologies at once on two cores.
    assert!(
        r.lost <= 250,
        "at most ~2.5 s of the stream lost in the failover ({took:?}): {r:?}"
    );
}

#[test]
fn two_thousand_groups_are_joined_in_join_prunes_that_fit_the_mtu() {
    // r3 has 2000 static IGMP (S,G) memberships; their Joins go hop by hop to r1.
    let groups: Vec<String> = (0..2000)
        .map(|i| {
            format!(
                "{{ group = \"232.10.{}.{}\", sources = [\"10.0.1.1\"] }}",
                i / 250,
                i % 250 + 1
            )
        })
        .collect();
    let static_groups = format!("static_groups = [ {} ]", groups.join(", "));
    let t = chain("").replace(
        "igmp = { query_interval = 2, query_response_interval = 1, last_member_query_interval = 0.2 }",
        &format!("igmp = {{ query_interval = 2, query_response_interval = 1, {static_groups} }}"),
    );
    let net = net(&t);
    let joined = || {
        let v = net.ctl_json("r1", &["show", "mroutes"]).unwrap();
        v["mroutes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["origin"]["kind"] == "pim" && m["oifs"][0]["interface"] == "eth1")
            .count()
    };
    assert!(
        wait_until(Duration::from_secs(40), || joined() == 2000),
        "r1 has {} of 2000 groups joined; r3: {} IGMP groups, tib counters {}, neighbours {}",
        joined(),
        net.ctl_json("r3", &["show", "igmp"]).unwrap()["igmp"]["interfaces"]
            .to_string()
            .matches("\"group\"")
            .count(),
        net.ctl_json("r3", &["show", "pim"]).unwrap()["pim"]["tib"]["counters"],
        net.ctl("r3", &["show", "pim", "neighbors"]).unwrap()
    );
    // Capture r3's Joins to r2 while r3 restarts and joins everything again: tshark sees
    // every Join/Prune frame within the 1500-byte MTU.
    let cap = Capture::start(&net, "r2", "eth1", "ip proto 103");
    std::thread::sleep(Duration::from_millis(500));
    net.stop_router("r3").unwrap();
    net.start_router("r3").unwrap();
    let r3_joins = || {
        let v = net.ctl_json("r3", &["show", "pim"]).unwrap();
        v["pim"]["tib"]["counters"]["joins_sent"]
            .as_u64()
            .unwrap_or(0)
    };
    assert!(
        wait_until(Duration::from_secs(10), || r3_joins() >= 2000),
        "r3 sent {} joins",
        r3_joins()
    );
    std::thread::sleep(Duration::from_millis(500));
    let text = cap.fields("pim.type == 3", &["frame.len", "pim.numgroups"]);
    let frames: Vec<(usize, usize)> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
        })
        .collect();
    assert!(frames.len() >= 8, "several Join/Prune messages: {text}");
    assert!(
        frames.iter().all(|(len, _)| *len <= 1514),
        "every frame fits the MTU: {frames:?}"
    );
    let groups_sent: usize = frames.iter().map(|(_, g)| g).sum();
    assert!(
        groups_sent >= 2000,
        "all groups were sent upstream: {groups_sent}"
    );
    assert!(joined() == 2000);
}

/// src -- a -- b -- c -- rcv, where one of a (the source's DR), b (the RP) or c (the last
/// hop) runs FRR's pimd and the others mrouterd; the RP is b (10.0.2.2).
fn frr_mixed(frr_node: &str) -> (Net, testbed::frr::Frr) {
    let pim = "pim = { hello_period = 1, triggered_hello_delay = 0.1 }";
    let igmp = "igmp = { query_interval = 2, query_response_interval = 1, last_member_query_interval = 0.2 }";
    let global = "pim = { rp = [ { group = \"239.0.0.0/8\", address = \"10.0.2.2\" } ] }";
    let mut t = String::from(
        "[options]\nstart_routers = false\n[[host]]\nname = \"src\"\n[[host]]\nname = \"rcv\"\n",
    );
    for r in ["a", "b", "c"] {
        let ifaces = if r == "c" {
            format!(
                "{{ name = \"eth0\", protocols = [\"pim\"], {pim} }}, {{ name = \"eth1\", protocols = [\"igmp\", \"pim\"], {pim}, {igmp} }}"
            )
        } else {
            format!(
                "{{ name = \"eth0\", protocols = [\"pim\"], {pim} }}, {{ name = \"eth1\", protocols = [\"pim\"], {pim} }}"
            )
        };
        t.push_str(&format!(
            "[[router]]\nname = \"{r}\"\n[router.mrouterd]\n{global}\ninterface = [ {ifaces} ]\n"
        ));
    }
    for (x, y) in [("src", "a"), ("a", "b"), ("b", "c"), ("c", "rcv")] {
        t.push_str(&format!("[[link]]\nnodes = [\"{x}\", \"{y}\"]\n"));
    }
    let net = net(&t);
    for r in ["a", "b", "c"].iter().filter(|r| **r != frr_node) {
        net.start_router(r).unwrap();
    }
    let mut conf = String::from("ip pim rp 10.0.2.2 239.0.0.0/8\n");
    for i in ["eth0", "eth1"] {
        conf.push_str(&format!("interface {i}\n ip pim\n ip pim hello 1 4\n"));
        if frr_node == "c" && i == "eth1" {
            conf.push_str(" ip igmp\n");
        }
    }
    let frr = testbed::frr::Frr::start(&net, frr_node, &conf).expect("FRR pimd");
    (net, frr)
}

fn frr_mixed_delivery(frr_node: &str) {
    let (net, frr) = frr_mixed(frr_node);
    let adjacent = || {
        frr.json("show ip pim neighbor json")
            .map(|v| {
                v["eth0"].as_object().is_some_and(|m| !m.is_empty())
                    && v["eth1"].as_object().is_some_and(|m| !m.is_empty())
            })
            .unwrap_or(false)
    };
    let needs_two = frr_node == "b";
    assert!(
        wait_until(Duration::from_secs(10), || if needs_two {
            adjacent()
        } else {
            frr.json("show ip pim neighbor json")
                .map(|v| v.to_string().contains("10.0."))
                .unwrap_or(false)
        }),
        "FRR adjacencies: {}",
        frr.vtysh("show ip pim neighbor").unwrap_or_default()
    );
    std::thread::sleep(Duration::from_secs(2));
    let rx = recv(&net, "rcv", "239.8.8.8", 8.0, &[]);
    std::thread::sleep(Duration::from_secs(1));
    let tx = send(&net, "src", "239.8.8.8", 100, 500, &[]);
    let r = report(rx);
    drop(tx);
    // The stream arrives whole but for the first packets (measured: first_seq 1 or 2 of
    // 500 at 100 pkt/s in both directions), without duplicates. (An earlier version
    // measured first_seq 69 with FRR as the source's DR; not reproduced since, in 3 runs,
    // the cause not isolated.)
    let min = 480;
    assert!(
        r.unique >= min,
        "FRR as {frr_node}: {r:?}\nFRR upstream:\n{}\nFRR mroute:\n{}",
        frr.vtysh("show ip pim upstream").unwrap_or_default(),
        frr.vtysh("show ip mroute").unwrap_or_default()
    );
    assert_eq!(r.duplicates, 0, "{r:?}");
    if frr_node == "a" {
        // Our RP decapsulated FRR's Registers and stopped them once on the source tree.
        let reg = net.ctl_json("b", &["show", "pim"]).unwrap()["pim"]["tib"]["register"].clone();
        assert!(reg["registers_received"].as_u64().unwrap() >= 1, "{reg}");
        assert!(reg["register_stops_sent"].as_u64().unwrap() >= 1, "{reg}");
    } else {
        // FRR as RP sent the Register-Stop our DR acted on.
        let reg = net.ctl_json("a", &["show", "pim"]).unwrap()["pim"]["tib"]["register"].clone();
        assert!(reg["registers_sent"].as_u64().unwrap() >= 1, "{reg}");
        assert!(
            reg["register_stops_received"].as_u64().unwrap() >= 1,
            "{reg}"
        );
    }
}

#[test]
fn frr_pimd_as_the_rp_with_mrouterd_as_dr_and_last_hop() {
    frr_mixed_delivery("b");
}

#[test]
fn mrouterd_as_the_rp_with_frr_pimd_as_the_sources_dr() {
    frr_mixed_delivery("a");
}
