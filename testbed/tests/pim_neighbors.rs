//! PIM-SM neighbour discovery and DR election (RFC 7761 section 4.3) between real
//! `mrouterd` processes on a real LAN, and with FRR's pimd as the neighbour.

use std::time::{Duration, Instant};

use serde_json::Value;
use testbed::frr::Frr;
use testbed::{Net, wait_until};

fn net(topology: &str) -> Net {
    Net::from_toml(topology).unwrap_or_else(|e| {
        panic!("cannot build the test topology (these tests need root and iproute2): {e:#}")
    })
}

/// `mrouterctl show pim --json` of one interface.
fn pim_iface(net: &Net, router: &str, ifname: &str) -> Value {
    let v = net.ctl_json(router, &["show", "pim"]).expect("show pim");
    v["pim"]["interfaces"]
        .as_array()
        .and_then(|l| l.iter().find(|i| i["name"] == ifname))
        .cloned()
        .unwrap_or_else(|| panic!("{router} has no PIM interface {ifname}: {v}"))
}

fn neighbors(net: &Net, router: &str, ifname: &str) -> Vec<String> {
    let mut n: Vec<String> = pim_iface(net, router, ifname)["neighbors"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|n| n["address"].as_str().unwrap_or("?").to_owned())
                .collect()
        })
        .unwrap_or_default();
    n.sort();
    n
}

fn dr(net: &Net, router: &str, ifname: &str) -> Option<String> {
    pim_iface(net, router, ifname)["dr"]
        .as_str()
        .map(str::to_owned)
}

/// ra (10.0.1.1), rb (10.0.1.2), rc (10.0.1.3) on one LAN, fast Hellos (1 s, holdtime 3.5 s).
fn three_routers(priorities: [u32; 3]) -> String {
    let mut t = String::new();
    for (name, prio) in ["ra", "rb", "rc"].iter().zip(priorities) {
        t.push_str(&format!(
            "[[router]]\nname = \"{name}\"\n[router.mrouterd]\ninterface = [ {{ name = \"eth0\", protocols = [\"pim\"], \
             pim = {{ hello_period = 1, triggered_hello_delay = 0.2, dr_priority = {prio} }} }} ]\n"
        ));
    }
    t.push_str("[[lan]]\nname = \"lan1\"\nnodes = [\"ra\", \"rb\", \"rc\"]\n");
    t
}

#[test]
fn routers_on_a_lan_become_neighbours_and_elect_the_dr_by_priority_then_address() {
    let net = net(&three_routers([1, 1, 1]));
    let all_adjacent = || {
        neighbors(&net, "ra", "eth0") == ["10.0.1.2", "10.0.1.3"]
            && neighbors(&net, "rb", "eth0") == ["10.0.1.1", "10.0.1.3"]
            && neighbors(&net, "rc", "eth0") == ["10.0.1.1", "10.0.1.2"]
    };
    assert!(
        wait_until(Duration::from_secs(5), all_adjacent),
        "{}",
        pim_iface(&net, "ra", "eth0")
    );
    // Equal priorities: the highest address is DR, and everyone agrees.
    for r in ["ra", "rb", "rc"] {
        assert_eq!(dr(&net, r, "eth0").as_deref(), Some("10.0.1.3"), "{r}");
    }
    assert_eq!(pim_iface(&net, "rc", "eth0")["i_am_dr"], true);
    // Raise ra's priority with a reload: a triggered Hello makes it DR everywhere.
    let cfg = std::fs::read_to_string(net.router_config_path("ra"))
        .unwrap()
        .replace("dr_priority = 1", "dr_priority = 100");
    net.write_router_config("ra", &cfg).unwrap();
    net.ctl("ra", &["reload"]).unwrap();
    assert!(
        wait_until(Duration::from_secs(3), || ["ra", "rb", "rc"]
            .iter()
            .all(|r| dr(&net, r, "eth0").as_deref() == Some("10.0.1.1"))),
        "{} / {}",
        pim_iface(&net, "rb", "eth0"),
        pim_iface(&net, "ra", "eth0")
    );
    let n = &pim_iface(&net, "rb", "eth0")["neighbors"];
    let ra = n
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["address"] == "10.0.1.1")
        .unwrap();
    assert_eq!(ra["dr_priority"], 100, "{ra}");
}

#[test]
fn the_dr_is_replaced_when_it_dies_and_at_once_when_it_says_goodbye() {
    let net = net(&three_routers([1, 1, 1]));
    assert!(wait_until(Duration::from_secs(5), || dr(
        &net, "ra", "eth0"
    )
    .as_deref()
        == Some("10.0.1.3")
        && dr(&net, "rb", "eth0").as_deref() == Some("10.0.1.3")));
    // SIGKILL: no goodbye; the neighbour times out after its holdtime (3.5 s).
    net.kill_router("rc").unwrap();
    let t = Instant::now();
    assert!(
        wait_until(Duration::from_secs(6), || dr(&net, "ra", "eth0").as_deref()
            == Some("10.0.1.2")
            && dr(&net, "rb", "eth0").as_deref() == Some("10.0.1.2")),
        "{}",
        pim_iface(&net, "ra", "eth0")
    );
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "not before the holdtime: {took:?}"
    );
    assert!(
        took <= Duration::from_millis(3500 + 1500),
        "within the holdtime: {took:?}"
    );
    // SIGTERM: rb sends a Hello with Holdtime 0 and ra takes over at once.
    net.stop_router("rb").unwrap();
    let t = Instant::now();
    assert!(wait_until(Duration::from_secs(3), || dr(
        &net, "ra", "eth0"
    )
    .as_deref()
        == Some("10.0.1.1")));
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "goodbye is acted on at once: {:?}",
        t.elapsed()
    );
    assert!(neighbors(&net, "ra", "eth0").is_empty());
}

#[test]
fn frr_pimd_and_mrouterd_are_neighbours_and_agree_on_the_dr() {
    // r1 runs mrouterd (10.0.1.1), f1 runs FRR (10.0.1.2) on the same LAN.
    let topo = r#"
[[host]]
name = "f1"
[[router]]
name = "r1"
[router.mrouterd]
interface = [ { name = "eth0", protocols = ["pim"], pim = { hello_period = 1, triggered_hello_delay = 0.2, dr_priority = 5 } } ]
[[lan]]
name = "lan1"
nodes = ["r1", "f1"]
"#;
    let net = net(topo);
    let frr =
        Frr::start(&net, "f1", "interface eth0\n ip pim\n ip pim hello 1 4\n").expect("FRR pimd");
    assert!(
        wait_until(Duration::from_secs(10), || neighbors(&net, "r1", "eth0")
            == ["10.0.1.2"]),
        "mrouterd sees FRR: {}",
        pim_iface(&net, "r1", "eth0")
    );
    let frr_sees_us = || {
        frr.json("show ip pim neighbor json")
            .map(|v| v["eth0"]["10.0.1.1"].is_object())
            .unwrap_or(false)
    };
    assert!(
        wait_until(Duration::from_secs(10), frr_sees_us),
        "FRR sees mrouterd: {}\n{}",
        frr.vtysh("show ip pim neighbor").unwrap_or_default(),
        frr.pimd_log()
    );
    // Our priority 5 beats FRR's default 1: both say r1 is DR.
    assert_eq!(dr(&net, "r1", "eth0").as_deref(), Some("10.0.1.1"));
    let frr_dr = || {
        frr.json("show ip pim interface json")
            .ok()
            .and_then(|v| v["eth0"]["pimDesignatedRouter"].as_str().map(str::to_owned))
    };
    assert!(
        wait_until(Duration::from_secs(5), || frr_dr().as_deref()
            == Some("10.0.1.1")),
        "{:?}",
        frr_dr()
    );
    // What we decoded from FRR's Hello matches what FRR says it sends.
    let n = pim_iface(&net, "r1", "eth0")["neighbors"][0].clone();
    assert_eq!(n["dr_priority"], 1, "{n}");
    assert_eq!(n["holdtime_s"], 4, "{n}");
    // FRR decoded our DR priority and holdtime (3.5 x 1 s, rounded up to whole seconds).
    let fn_ = frr.json("show ip pim neighbor json").unwrap();
    let us = &fn_["eth0"]["10.0.1.1"];
    assert!(us["drPriority"] == 5 || us["drPriority"] == "5", "{us}");
}
