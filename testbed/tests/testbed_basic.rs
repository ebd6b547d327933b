//! Real namespaces, real ping; no mrouterd needed (routers are plain IP routers here).
//! Must run as root: a test that cannot create namespaces fails with the reason.

use std::panic::AssertUnwindSafe;
use std::process::Command;
use std::time::{Duration, Instant};

use testbed::{Net, Topology, wait_until};

/// Namespaces whose name starts with `{prefix}-`.
fn namespaces_of(prefix: &str) -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&format!("{prefix}-")))
        .map(str::to_string)
        .collect()
}

fn ping(net: &Net, from: &str, to: std::net::Ipv4Addr) -> bool {
    assert!(
        Command::new("ping").arg("-V").output().is_ok(),
        "ping is not installed (Debian: apt-get install iputils-ping)"
    );
    let to = to.to_string();
    net.node(from)
        .exec(&["ping", "-c1", "-W1", "-n", "-q", &to])
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn ping_soon(net: &Net, from: &str, to: std::net::Ipv4Addr) -> bool {
    wait_until(Duration::from_secs(5), || ping(net, from, to))
}

const CHAIN: &str = r#"
    [options]
    routing = "static"
    start_routers = false

    [[host]]
    name = "a"
    [[host]]
    name = "b"
    [[router]]
    name = "r1"
    [[router]]
    name = "r2"

    [[link]]
    nodes = ["a", "r1"]
    [[link]]
    nodes = ["r1", "r2"]
    [[link]]
    nodes = ["r2", "b"]
"#;

fn build(text: &str) -> Net {
    let t0 = Instant::now();
    let net = Net::from_toml(text).expect(
        "building the topology failed (these tests need root, iproute2 and network namespaces)",
    );
    eprintln!(
        "built {} ({} nodes) in {:?}",
        net.prefix(),
        net.plan().nodes.len(),
        t0.elapsed()
    );
    net
}

#[test]
fn chain_ping_link_down_and_up() {
    let net = build(CHAIN);
    let b = net.primary_addr("b");
    assert_eq!(b.to_string(), "10.0.3.2");
    assert_eq!(net.iface("r1", "r2"), "eth1");
    assert_eq!(net.iface("r2", "r1"), "eth0");
    assert_eq!(net.addr("r2", "eth1").to_string(), "10.0.3.1");
    assert!(ping_soon(&net, "a", b), "a cannot ping b over r1, r2");

    net.link_down("r1", "r2").unwrap();
    assert!(!ping(&net, "a", b), "ping works with r1-r2 down");
    let state = net
        .node("r2")
        .run(&["ip", "-br", "link", "show", "eth0"])
        .unwrap();
    assert!(state.contains("DOWN"), "r2 eth0 should be down: {state}");

    net.link_up("r1", "r2").unwrap();
    assert!(
        ping_soon(&net, "b", net.primary_addr("a")),
        "no recovery after link_up"
    );
}

#[test]
fn node_settings() {
    let net = build(CHAIN);
    let a = net.node("a");
    let r1 = net.node("r1");
    assert_eq!(
        a.sh("cat /proc/sys/net/ipv4/ip_forward").unwrap().trim(),
        "0"
    );
    assert_eq!(
        r1.sh("cat /proc/sys/net/ipv4/ip_forward").unwrap().trim(),
        "1"
    );
    for node in ["a", "r1"] {
        let rp = net
            .node(node)
            .sh("for f in all default lo eth0; do cat /proc/sys/net/ipv4/conf/$f/rp_filter; done")
            .unwrap();
        assert!(
            rp.split_whitespace().all(|v| v == "0"),
            "{node} rp_filter: {rp}"
        );
    }
    let routes = a.run(&["ip", "route"]).unwrap();
    assert!(routes.contains("default via 10.0.1.2 dev eth0"), "{routes}");
    assert!(routes.contains("224.0.0.0/4 dev eth0"), "{routes}");
    let routes = r1.run(&["ip", "route"]).unwrap();
    assert!(
        routes.contains("10.0.3.0/24 via 10.0.2.2 dev eth1"),
        "{routes}"
    );
    assert!(!routes.contains("224.0.0.0/4"), "{routes}");
    let lo = a.run(&["ip", "-br", "link", "show", "lo"]).unwrap();
    assert!(lo.contains("UNKNOWN") || lo.contains("UP"), "{lo}");
    // run() fails with stderr on a non-zero exit; exec() does not.
    let err = a.run(&["ls", "/nonexistent-testbed"]).unwrap_err();
    assert!(
        format!("{err:#}").contains("nonexistent-testbed"),
        "{err:#}"
    );
    assert!(!a.exec(&["false"]).unwrap().status.success());
    // Router configs are generated even when routers are not started.
    let cfg = std::fs::read_to_string(net.router_config_path("r2")).unwrap();
    assert!(cfg.contains("name = \"eth1\""), "{cfg}");
    assert!(
        cfg.contains(&format!("{}/r2.sock", net.rundir().display())),
        "{cfg}"
    );
    assert_eq!(net.router_pid("r1"), None);
}

#[test]
fn lan_members_ping_each_other() {
    let net = build(
        r#"
        [options]
        start_routers = false
        [[router]]
        name = "r"
        [[host]]
        name = "h1"
        [[host]]
        name = "h2"
        [[lan]]
        name = "lan1"
        nodes = ["r", "h1", "h2"]
        "#,
    );
    assert_eq!(net.iface("h2", "lan1"), "eth0");
    assert_eq!(net.primary_addr("h2").to_string(), "10.0.1.3");
    let snooping = net
        .node("lan1")
        .sh("cat /sys/class/net/br0/bridge/multicast_snooping")
        .unwrap();
    assert_eq!(snooping.trim(), "0");
    for from in ["r", "h1", "h2"] {
        for to in ["r", "h1", "h2"] {
            if from != to {
                let addr = net.primary_addr(to);
                assert!(
                    ping_soon(&net, from, addr),
                    "{from} cannot ping {to} ({addr})"
                );
            }
        }
    }
    // Taking one member off the LAN only affects that member.
    net.link_down("h2", "lan1").unwrap();
    assert!(!ping(&net, "h1", net.primary_addr("h2")));
    assert!(ping(&net, "h1", net.primary_addr("r")));
    net.link_up("lan1", "h2").unwrap();
    assert!(ping_soon(&net, "h1", net.primary_addr("h2")));
}

#[test]
fn loss_drops_and_clears() {
    let net = build(CHAIN);
    let b = net.primary_addr("b");
    assert!(ping_soon(&net, "a", b));
    net.set_loss("r1", "r2", 100).unwrap();
    assert!(!ping(&net, "a", b), "ping works with 100% loss r1->r2");
    let rules = net.node("r1").run(&["nft", "list", "ruleset"]).unwrap();
    assert!(rules.contains("oifname \"eth1\""), "{rules}");
    net.set_loss("r1", "r2", 0).unwrap();
    assert!(ping_soon(&net, "a", b), "loss not cleared");
    let rules = net.node("r1").run(&["nft", "list", "ruleset"]).unwrap();
    assert!(!rules.contains("testbed_loss"), "{rules}");
    // Partial loss: some of 40 quick pings get lost, not all.
    net.set_loss("a", "r1", 50).unwrap();
    let out = net
        .node("a")
        .exec(&["ping", "-c40", "-i0.01", "-W1", "-n", "-q", &b.to_string()])
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains(" 0% packet loss") && !text.contains(" 100% packet loss"),
        "{text}"
    );
}

#[test]
fn drop_removes_everything() {
    let net = build(CHAIN);
    let prefix = net.prefix().to_string();
    let rundir = net.rundir().to_path_buf();
    assert_eq!(namespaces_of(&prefix).len(), 4);
    let mut sleeper = net
        .node("r1")
        .spawn(&["sh", "-c", "echo started; exec sleep 600"])
        .unwrap();
    assert_eq!(sleeper.stdout_lines().next().as_deref(), Some("started"));
    let pid = sleeper.pid();
    // A process started behind the testbed's back in a namespace is killed too.
    net.node("r2")
        .run(&["sh", "-c", "sleep 600 >/dev/null 2>&1 &"])
        .unwrap();
    let stray = testbed::namespace_pids(&[net.ns("r2")]);
    assert_eq!(stray.len(), 1, "{stray:?}");
    drop(net);
    assert!(
        namespaces_of(&prefix).is_empty(),
        "namespaces left: {:?}",
        namespaces_of(&prefix)
    );
    assert!(!rundir.exists(), "run directory left: {}", rundir.display());
    let gone = |p: u32| {
        std::fs::read_to_string(format!("/proc/{p}/stat"))
            .map(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            })
            .unwrap_or(true)
    };
    assert!(gone(pid), "spawned process {pid} survived the Net");
    assert!(
        wait_until(Duration::from_secs(2), || gone(stray[0])),
        "stray process survived"
    );
    drop(sleeper);
}

#[test]
fn proc_wait_and_kill() {
    let net = build(CHAIN);
    let p = net
        .node("a")
        .spawn(&["sh", "-c", "echo out; echo err >&2; exit 3"])
        .unwrap();
    let out = p.wait().unwrap();
    assert_eq!(out.stdout, "out\n");
    assert_eq!(out.stderr, "err\n");
    assert_eq!(out.status.code(), Some(3));
    let mut p = net.node("a").spawn(&["sleep", "600"]).unwrap();
    let pid = p.pid();
    p.kill();
    assert!(p.try_wait().is_some());
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn panic_keeps_rundir_and_removes_namespaces() {
    let prefix = testbed::unique_prefix();
    let topo = Topology::parse(CHAIN, ".").unwrap();
    let rundir = std::path::Path::new(testbed::RUN_ROOT).join(&prefix);
    let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let _net = Net::build(&topo, Some(&prefix)).unwrap();
        panic!("deliberate panic with a Net alive");
    }));
    assert!(r.is_err());
    assert!(
        namespaces_of(&prefix).is_empty(),
        "{:?}",
        namespaces_of(&prefix)
    );
    assert!(
        rundir.join("r1.toml").exists(),
        "run directory not kept on panic"
    );
    std::fs::remove_dir_all(&rundir).unwrap();
}

#[test]
fn error_half_way_removes_namespaces() {
    // The namespaces are built before the invalid inline config of r3 is rendered.
    let text = format!("{CHAIN}\n[[router]]\nname = \"r3\"\nconfig = \"[[[ not toml\"\n");
    let prefix = testbed::unique_prefix();
    let topo = Topology::parse(&text, ".").unwrap();
    let err = Net::build(&topo, Some(&prefix))
        .err()
        .expect("invalid config accepted");
    assert!(format!("{err:#}").contains("r3"), "{err:#}");
    assert!(
        namespaces_of(&prefix).is_empty(),
        "{:?}",
        namespaces_of(&prefix)
    );
    assert!(
        !std::path::Path::new(testbed::RUN_ROOT)
            .join(&prefix)
            .exists()
    );
}

#[test]
fn concurrent_nets_do_not_collide() {
    let handles: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(|| {
                let net = build(CHAIN);
                assert!(ping_soon(&net, "a", net.primary_addr("b")));
                net.prefix().to_string()
            })
        })
        .collect();
    let prefixes: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_ne!(prefixes[0], prefixes[1]);
    for p in &prefixes {
        assert!(namespaces_of(p).is_empty());
    }
}

#[test]
fn larger_topology_builds_fast() {
    // 30 routers in a chain, a host at each end, a LAN with 4 hosts in the middle.
    let n = 30;
    let mut t = String::from("[options]\nstart_routers = false\n");
    for i in 1..=n {
        t += &format!("[[router]]\nname = \"r{i}\"\n");
    }
    for h in ["ha", "hb", "l1", "l2", "l3", "l4"] {
        t += &format!("[[host]]\nname = \"{h}\"\n");
    }
    t += "[[link]]\nnodes = [\"ha\", \"r1\"]\n";
    for i in 1..n {
        t += &format!("[[link]]\nnodes = [\"r{i}\", \"r{}\"]\n", i + 1);
    }
    t += &format!("[[link]]\nnodes = [\"r{n}\", \"hb\"]\n");
    t += "[[lan]]\nname = \"lan\"\nnodes = [\"r15\", \"l1\", \"l2\", \"l3\", \"l4\"]\n";
    let t0 = Instant::now();
    let net = build(&t);
    let built = t0.elapsed();
    assert!(ping_soon(&net, "ha", net.primary_addr("hb")));
    assert!(ping_soon(&net, "l4", net.primary_addr("ha")));
    let t1 = Instant::now();
    drop(net);
    eprintln!(
        "37 nodes + 1 LAN: built in {built:?}, removed in {:?}",
        t1.elapsed()
    );
    assert!(built < Duration::from_secs(20), "build took {built:?}");
}

#[test]
fn explicit_names_and_addresses() {
    // Interface names that are also `ip` keywords, an explicit subnet and explicit addresses.
    let net = build(
        r#"
        [options]
        start_routers = false
        tx_checksum_offload = false
        [[host]]
        name = "a"
        [[router]]
        name = "r"
        [[host]]
        name = "b"
        [[link]]
        nodes = ["a", "r"]
        names = ["up", "down"]
        subnet = "192.168.50.0/24"
        [[link]]
        nodes = ["r", "b"]
        addrs = ["172.16.1.1/16", "172.16.200.7/16"]
        "#,
    );
    assert_eq!(net.iface("a", "r"), "up");
    assert_eq!(net.iface("r", "b"), "eth1");
    assert_eq!(net.addr("r", "down").to_string(), "192.168.50.2");
    assert_eq!(net.primary_addr("b").to_string(), "172.16.200.7");
    assert!(ping_soon(&net, "a", net.primary_addr("b")));
    let features = net.node("r").run(&["ethtool", "-k", "down"]).unwrap();
    assert!(features.contains("tx-checksumming: off"), "{features}");
}

#[test]
fn net_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Net>();
    check::<testbed::Proc>();
}
