//! [`Net`]: a built topology, its namespaces, routers and processes.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};

use crate::config;
use crate::process::{self, GRACE, Proc, Registry, lock};
use crate::state::{IfaceState, NodeState, RouterState, State};
use crate::sys;
use crate::topology::{NodeKind, Plan, PlanNode, Topology};

/// Root of the run directories.
pub const RUN_ROOT: &str = "/tmp/testbed";

/// How long [`Net::start_router`] waits for the control socket to answer.
pub const ROUTER_START_TIMEOUT: Duration = Duration::from_secs(5);

/// How long [`Net::stop_router`] waits after SIGTERM.
pub const ROUTER_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Parallel per-namespace setup workers.
const WORKERS: usize = 8;

static NEXT_NET: AtomicU32 = AtomicU32::new(0);

/// A fresh prefix unique in this process and across processes: `tb{pid}_{n}`.
pub fn unique_prefix() -> String {
    format!(
        "tb{}_{}",
        std::process::id(),
        NEXT_NET.fetch_add(1, Ordering::Relaxed)
    )
}

/// Locates a workspace binary (`mrouterd`, `mrouterctl`, `mcast`): in `$MROUTER_BIN_DIR` if
/// set, else next to the current executable or in its parent directory (so both
/// `target/debug/testbed` and `target/debug/deps/<test>` find `target/debug/mrouterd`).
pub fn bin_path(name: &str) -> Result<PathBuf> {
    let dirs: Vec<PathBuf> = match std::env::var_os("MROUTER_BIN_DIR") {
        Some(d) => vec![PathBuf::from(d)],
        None => {
            let exe = std::env::current_exe().context("cannot locate the current executable")?;
            let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
            let mut v = vec![dir.clone()];
            if let Some(p) = dir.parent() {
                v.push(p.to_path_buf());
            }
            v
        }
    };
    for d in &dirs {
        let p = d.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    bail!(
        "{name} not found in {}: build the workspace first (cargo build --workspace)",
        shown.join(" or ")
    )
}

/// Polls `cond` every 50 ms until it returns true (then true) or `timeout` passes (then false).
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs a command, failing with its stderr if it exits non-zero.
pub(crate) fn run_checked(cmd: &mut Command, stdin: Option<&str>, what: &str) -> Result<Output> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd
        .spawn()
        .with_context(|| format!("{what}: cannot start"))?;
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin piped");
        // A write error shows up as the command's failure below.
        let _ = pipe.write_all(input.as_bytes());
    }
    let out = child
        .wait_with_output()
        .with_context(|| format!("{what}: cannot wait"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            if let Some(input) = stdin {
                format!("\ninput was:\n{input}")
            } else {
                String::new()
            }
        );
    }
    Ok(out)
}

fn tail(text: &str, lines: usize) -> String {
    let v: Vec<&str> = text.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// The part of a router log written since its last start.
fn since_last_start(log: &str) -> &str {
    log.rfind("=== testbed: starting")
        .map_or(log, |i| &log[i..])
}

fn shell_words(argv: &[&str]) -> String {
    argv.join(" ")
}

/// A topology built in network namespaces. Dropping it stops every process it started and
/// deletes every namespace (and with them every veth and bridge). When dropped during a panic
/// the run directory is kept and its path and the tail of every router log are printed.
pub struct Net {
    prefix: String,
    rundir: PathBuf,
    plan: Plan,
    routers: Mutex<BTreeMap<String, Child>>,
    sockets: Mutex<BTreeMap<String, PathBuf>>,
    loss: Mutex<BTreeMap<String, BTreeMap<String, u32>>>,
    procs: Registry,
    source: Option<PathBuf>,
    detached: bool,
}

impl Net {
    /// Builds the topology of a file and (if `start_routers`) starts its routers.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Net> {
        Net::build(&Topology::from_file(path)?, None)
    }

    /// Builds a topology given as text; relative paths are relative to the current directory.
    pub fn from_toml(text: &str) -> Result<Net> {
        Net::build(&Topology::parse(text, ".")?, None)
    }

    /// Builds a parsed topology with the given namespace prefix (default: [`unique_prefix`]).
    pub fn build(topo: &Topology, prefix: Option<&str>) -> Result<Net> {
        let plan = topo.plan()?;
        let prefix = prefix.map_or_else(unique_prefix, str::to_string);
        let namespaces: Vec<String> = plan
            .nodes
            .iter()
            .map(|n| n.name.as_str())
            .chain(plan.lan_names())
            .map(|n| format!("{prefix}-{n}"))
            .collect();
        for ns in &namespaces {
            ensure!(
                !Path::new("/run/netns").join(ns).exists(),
                "namespace {ns} already exists (a leftover? `testbed gc` removes namespaces of \
                 dead processes)"
            );
        }
        let rundir = Path::new(RUN_ROOT).join(&prefix);
        if rundir.exists() {
            std::fs::remove_dir_all(&rundir)
                .with_context(|| format!("cannot clear {}", rundir.display()))?;
        }
        std::fs::create_dir_all(&rundir)
            .with_context(|| format!("cannot create {}", rundir.display()))?;
        let sockets = plan
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Router)
            .map(|n| (n.name.clone(), rundir.join(format!("{}.sock", n.name))))
            .collect();
        // From here on, dropping `net` (on any error) removes everything created so far.
        let net = Net {
            prefix,
            rundir,
            plan,
            routers: Mutex::new(BTreeMap::new()),
            sockets: Mutex::new(sockets),
            loss: Mutex::new(BTreeMap::new()),
            procs: Arc::new(Mutex::new(BTreeMap::new())),
            source: topo.source.clone(),
            detached: false,
        };
        net.create(&namespaces)?;
        net.wait_operational(&namespaces)?;
        net.write_generated_configs()?;
        if net.plan.options.start_routers {
            let routers: Vec<String> = net.multicast_routers().map(str::to_string).collect();
            net.start_routers(&routers)?;
        }
        Ok(net)
    }

    /// Waits until every device in `namespaces` that is administratively up is also
    /// operationally up.
    ///
    /// A veth end brought up before its peer has no carrier yet, and the kernel attaches
    /// its transmit queue only when the link-watch worker processes the carrier change,
    /// which it batches for up to a second. Until then everything sent through that end
    /// is silently dropped: a test that starts traffic right after building would lose
    /// its first packets (measured: 0.3 to 0.9 s of a 100 pkt/s stream on a LAN).
    fn wait_operational(&self, namespaces: &[String]) -> Result<()> {
        let mut pending: Vec<String> = Vec::new();
        let ok = wait_until(Duration::from_secs(5), || {
            pending.clear();
            for ns in namespaces {
                let Ok(out) = Command::new("ip")
                    .args(["-n", ns, "-j", "link", "show", "up"])
                    .output()
                else {
                    continue;
                };
                let links: serde_json::Value =
                    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
                for l in links.as_array().map(Vec::as_slice).unwrap_or(&[]) {
                    let name = l["ifname"].as_str().unwrap_or("?");
                    let state = l["operstate"].as_str().unwrap_or("");
                    // Loopback reports UNKNOWN forever; everything we create reports UP.
                    if name != "lo" && state != "UP" {
                        pending.push(format!("{ns}/{name} ({state})"));
                    }
                }
            }
            pending.is_empty()
        });
        ensure!(
            ok,
            "interfaces not operational after 5 s: {}",
            pending.join(", ")
        );
        Ok(())
    }

    fn create(&self, namespaces: &[String]) -> Result<()> {
        // 1. Namespaces, veths and bridges, in one batch in the root namespace. Devices are
        //    created directly inside their namespaces, so names never collide in the root.
        let mut batch = String::new();
        for ns in namespaces {
            writeln!(batch, "netns add {ns}").unwrap();
        }
        for seg in &self.plan.segments {
            match &seg.lan {
                None => {
                    let (a, b) = (&seg.members[0], &seg.members[1]);
                    writeln!(
                        batch,
                        "link add name {} netns {} type veth peer name {} netns {}",
                        a.ifname,
                        self.ns(&a.node),
                        b.ifname,
                        self.ns(&b.node)
                    )
                    .unwrap();
                }
                Some(lan) => {
                    let lan_ns = self.ns(lan);
                    writeln!(
                        batch,
                        "link add name br0 netns {lan_ns} type bridge mcast_snooping 0"
                    )
                    .unwrap();
                    for m in &seg.members {
                        writeln!(
                            batch,
                            "link add name {} netns {} type veth peer name {} netns {lan_ns}",
                            m.ifname,
                            self.ns(&m.node),
                            m.port.as_deref().unwrap_or(&m.node)
                        )
                        .unwrap();
                    }
                }
            }
        }
        run_checked(
            Command::new("ip").args(["-batch", "-"]),
            Some(&batch),
            "creating namespaces and links (ip -batch)",
        )
        .map_err(|e| {
            anyhow!(
                "{e:#}\n(cannot create network namespaces: the testbed must run as root with \
                 iproute2 installed)"
            )
        })?;

        // 2. Per-namespace configuration: one `ip netns exec NS sh` each, in parallel.
        let mut jobs: Vec<(String, String)> = Vec::new();
        for node in &self.plan.nodes {
            jobs.push((node.name.clone(), self.node_script(node)));
        }
        for lan in self.plan.lan_names() {
            jobs.push((lan.to_string(), self.lan_script(lan)));
        }
        let next = AtomicUsize::new(0);
        let errors: Mutex<Vec<anyhow::Error>> = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..WORKERS.min(jobs.len()) {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((name, script)) = jobs.get(i) else {
                            break;
                        };
                        let ns = self.ns(name);
                        let r = run_checked(
                            Command::new("ip").args(["netns", "exec", &ns, "sh", "-c", script]),
                            None,
                            &format!("configuring {name} (namespace {ns})"),
                        );
                        if let Err(e) = r {
                            lock(&errors).push(e);
                        }
                    }
                });
            }
        });
        let mut errors = errors.into_inner().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = errors.pop() {
            return Err(e);
        }
        Ok(())
    }

    fn common_sysctls(&self, script: &mut String) {
        if !self.plan.options.ipv6 {
            script.push_str(
                "if [ -d /proc/sys/net/ipv6 ]; then\n\
                 echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6\n\
                 echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6\nfi\n",
            );
        }
    }

    fn offload(&self, script: &mut String, ifname: &str) {
        if !self.plan.options.tx_checksum_offload {
            writeln!(script, "ethtool -K {ifname} tx off >/dev/null").unwrap();
        }
    }

    fn node_script(&self, node: &PlanNode) -> String {
        let mut s = String::from("set -e\n");
        let fwd = u8::from(node.kind == NodeKind::Router);
        writeln!(s, "echo {fwd} > /proc/sys/net/ipv4/ip_forward").unwrap();
        s.push_str(
            "echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter\n\
             echo 0 > /proc/sys/net/ipv4/conf/default/rp_filter\n",
        );
        self.common_sysctls(&mut s);
        s.push_str("ip -batch - <<'EOF'\nlink set lo up\n");
        for i in &node.ifaces {
            writeln!(s, "addr add {}/{} dev {}", i.addr, i.prefix_len, i.name).unwrap();
            writeln!(s, "link set dev {} up", i.name).unwrap();
        }
        for r in &node.routes {
            writeln!(s, "route add {}", r.ip_args()).unwrap();
        }
        if node.kind == NodeKind::Host
            && let Some(first) = node.ifaces.first()
        {
            writeln!(s, "route add 224.0.0.0/4 dev {}", first.name).unwrap();
        }
        s.push_str("EOF\n");
        for ifname in std::iter::once("lo").chain(node.ifaces.iter().map(|i| i.name.as_str())) {
            writeln!(s, "echo 0 > /proc/sys/net/ipv4/conf/{ifname}/rp_filter").unwrap();
        }
        for i in &node.ifaces {
            self.offload(&mut s, &i.name);
        }
        s
    }

    fn lan_script(&self, lan: &str) -> String {
        let seg = self.plan.lan(lan).expect("lan exists");
        let mut s = String::from("set -e\n");
        self.common_sysctls(&mut s);
        s.push_str("ip -batch - <<'EOF'\nlink set lo up\nlink set br0 up\n");
        for m in &seg.members {
            let port = m.port.as_deref().unwrap_or(&m.node);
            writeln!(s, "link set dev {port} master br0").unwrap();
            writeln!(s, "link set dev {port} up").unwrap();
        }
        s.push_str("EOF\n");
        for m in &seg.members {
            self.offload(&mut s, m.port.as_deref().unwrap_or(&m.node));
        }
        s
    }

    fn write_generated_configs(&self) -> Result<()> {
        for node in self
            .plan
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Router)
        {
            let socket = self.rundir.join(format!("{}.sock", node.name));
            let text = config::render(node, &socket, &self.plan.options.log_level)?;
            self.write_router_config(&node.name, &text)?;
        }
        Ok(())
    }

    // ----- names and addresses -----

    /// The namespace prefix of this Net.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The run directory: router configs, logs, control sockets, process stderr files.
    pub fn rundir(&self) -> &Path {
        &self.rundir
    }

    /// The resolved topology.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Router names in file order.
    pub fn routers(&self) -> impl Iterator<Item = &str> {
        self.plan
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Router)
            .map(|n| n.name.as_str())
    }

    /// Routers that run mrouterd (not `multicast = false`), in file order.
    pub fn multicast_routers(&self) -> impl Iterator<Item = &str> {
        self.plan
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Router && n.multicast)
            .map(|n| n.name.as_str())
    }

    /// Host names in file order.
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.plan
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Host)
            .map(|n| n.name.as_str())
    }

    fn known(&self, name: &str) -> bool {
        self.plan.node(name).is_some() || self.plan.lan(name).is_some()
    }

    fn plan_node(&self, name: &str) -> &PlanNode {
        self.plan
            .node(name)
            .unwrap_or_else(|| panic!("testbed: no node {name:?} in this topology"))
    }

    fn router_node(&self, name: &str) -> Result<&PlanNode> {
        match self.plan.node(name) {
            Some(n) if n.kind == NodeKind::Router => Ok(n),
            Some(_) => bail!("{name} is a host, not a router"),
            None => bail!("no router {name:?} in this topology"),
        }
    }

    /// The namespace of a node or LAN. Panics if there is no such node or LAN.
    pub fn ns(&self, node: &str) -> String {
        assert!(
            self.known(node),
            "testbed: no node or LAN {node:?} in this topology"
        );
        format!("{}-{node}", self.prefix)
    }

    /// A node (or a LAN: its namespace holds the bridge `br0` and one port per member, named
    /// after the member). Panics if unknown.
    pub fn node(&self, name: &str) -> Node<'_> {
        Node {
            net: self,
            ns: self.ns(name),
            name: name.to_string(),
        }
    }

    /// `node`'s interface on the link to `peer` (a node or a LAN name; for two nodes on a
    /// common LAN, `node`'s interface on that LAN). Panics if they are not adjacent.
    pub fn iface(&self, node: &str, peer: &str) -> String {
        let seg = self
            .plan
            .segment_between(node, peer)
            .unwrap_or_else(|| panic!("testbed: {node:?} has no link or LAN to {peer:?}"));
        self.plan.segments[seg]
            .members
            .iter()
            .find(|m| m.node == node)
            .map(|m| m.ifname.clone())
            .expect("member")
    }

    /// The address of an interface. Panics if unknown.
    pub fn addr(&self, node: &str, ifname: &str) -> Ipv4Addr {
        self.plan_node(node)
            .iface(ifname)
            .unwrap_or_else(|| panic!("testbed: node {node:?} has no interface {ifname:?}"))
            .addr
    }

    /// The address of a node's first interface (eth0 unless renamed).
    pub fn primary_addr(&self, node: &str) -> Ipv4Addr {
        self.plan_node(node)
            .ifaces
            .first()
            .unwrap_or_else(|| panic!("testbed: node {node:?} has no interfaces"))
            .addr
    }

    // ----- faults -----

    /// (node or LAN name, interface) pairs of the a-b connection, a's side first: both ends of
    /// a link, or a's interface and its bridge port for a LAN.
    fn link_ends(&self, a: &str, b: &str) -> Result<Vec<(String, String)>> {
        let (a, b) = if self.plan.lan(a).is_some() && self.plan.node(b).is_some() {
            (b, a)
        } else {
            (a, b)
        };
        let seg = self
            .plan
            .segment_between(a, b)
            .ok_or_else(|| anyhow!("{a} has no link or LAN to {b}"))?;
        let seg = &self.plan.segments[seg];
        let mine = seg.members.iter().find(|m| m.node == a).expect("member");
        let mut ends = vec![(a.to_string(), mine.ifname.clone())];
        match &seg.lan {
            None => {
                let other = seg.members.iter().find(|m| m.node != a).expect("two ends");
                ends.push((other.node.clone(), other.ifname.clone()));
            }
            Some(lan) => ends.push((
                lan.clone(),
                mine.port.clone().unwrap_or_else(|| a.to_string()),
            )),
        }
        Ok(ends)
    }

    fn set_link(&self, a: &str, b: &str, state: &str) -> Result<()> {
        let ends = self.link_ends(a, b)?;
        for (owner, ifname) in &ends {
            let ns = self.ns(owner);
            run_checked(
                Command::new("ip").args(["-n", &ns, "link", "set", "dev", ifname, state]),
                None,
                &format!("link {a}-{b}: ip -n {ns} link set dev {ifname} {state}"),
            )?;
        }
        if state == "up" {
            let namespaces: Vec<String> = ends.iter().map(|(owner, _)| self.ns(owner)).collect();
            self.wait_operational(&namespaces)?;
            // The kernel deleted the routes through these interfaces when they went down.
            for (owner, ifname) in &ends {
                if let Some(node) = self.plan.node(owner) {
                    self.restore_routes(node, ifname)?;
                }
            }
        }
        Ok(())
    }

    /// Re-adds the planned routes of `node` through `ifname`.
    fn restore_routes(&self, node: &PlanNode, ifname: &str) -> Result<()> {
        let mut batch = String::new();
        for r in node.routes.iter().filter(|r| r.dev == ifname) {
            writeln!(batch, "route replace {}", r.ip_args()).unwrap();
        }
        if node.kind == NodeKind::Host && node.ifaces.first().is_some_and(|i| i.name == ifname) {
            writeln!(batch, "route replace 224.0.0.0/4 dev {ifname}").unwrap();
        }
        if batch.is_empty() {
            return Ok(());
        }
        let ns = self.ns(&node.name);
        run_checked(
            Command::new("ip").args(["-n", &ns, "-batch", "-"]),
            Some(&batch),
            &format!("{}: restoring routes through {ifname}", node.name),
        )?;
        Ok(())
    }

    /// Sets both ends of the a-b link down (for a LAN member and b = the LAN: a's interface
    /// and its bridge port).
    pub fn link_down(&self, a: &str, b: &str) -> Result<()> {
        self.set_link(a, b, "down")
    }

    /// Undoes [`Net::link_down`], and re-adds the testbed's routes through the two interfaces
    /// (the kernel deletes routes through an interface that goes down; routes added by
    /// others are not restored).
    pub fn link_up(&self, a: &str, b: &str) -> Result<()> {
        self.set_link(a, b, "up")
    }

    /// Drops `percent`% of the packets leaving `a` on its interface towards `b` (nftables
    /// `numgen random mod 100 < N` in a's postrouting hook, so locally sent and forwarded
    /// IPv4/IPv6 packets are affected, ARP is not). 0 removes the rule.
    pub fn set_loss(&self, a: &str, b: &str, percent: u32) -> Result<()> {
        ensure!(percent <= 100, "loss {percent}% is more than 100%");
        ensure!(
            self.plan.node(a).is_some(),
            "no node {a:?} in this topology"
        );
        let ifname = self
            .plan
            .segment_between(a, b)
            .map(|_| self.iface(a, b))
            .ok_or_else(|| anyhow!("{a} has no link or LAN to {b}"))?;
        let mut all = lock(&self.loss);
        let rules = all.entry(a.to_string()).or_default();
        if percent == 0 {
            rules.remove(&ifname);
        } else {
            rules.insert(ifname, percent);
        }
        let mut nft = String::from("table inet testbed_loss\ndelete table inet testbed_loss\n");
        if !rules.is_empty() {
            nft.push_str(
                "table inet testbed_loss {\n chain post {\n  type filter hook postrouting \
                 priority 0; policy accept;\n",
            );
            for (ifname, pct) in rules.iter() {
                let cond = if *pct >= 100 {
                    String::new()
                } else {
                    format!("numgen random mod 100 < {pct} ")
                };
                writeln!(nft, "  oifname \"{ifname}\" {cond}counter drop").unwrap();
            }
            nft.push_str(" }\n}\n");
        }
        let ns = self.ns(a);
        run_checked(
            Command::new("ip").args(["netns", "exec", &ns, "nft", "-f", "-"]),
            Some(&nft),
            &format!("set_loss {a}->{b} {percent}%: nft in {ns}"),
        )?;
        Ok(())
    }

    // ----- routers -----

    /// Where a router's mrouterd config is (`{rundir}/{router}.toml`).
    pub fn router_config_path(&self, router: &str) -> PathBuf {
        self.rundir.join(format!("{router}.toml"))
    }

    /// Where a router's log (mrouterd's stdout and stderr, plus testbed notes) is.
    pub fn router_log_path(&self, router: &str) -> PathBuf {
        self.rundir.join(format!("{router}.log"))
    }

    /// The control socket of a router.
    pub fn router_socket(&self, router: &str) -> PathBuf {
        lock(&self.sockets)
            .get(router)
            .cloned()
            .unwrap_or_else(|| self.rundir.join(format!("{router}.sock")))
    }

    /// Replaces a router's config file (takes effect at the next start or reload). If the text
    /// does not set `[router] control_socket`, it is set to `{rundir}/{router}.sock`.
    pub fn write_router_config(&self, router: &str, toml: &str) -> Result<()> {
        self.router_node(router)?;
        let default_socket = self.rundir.join(format!("{router}.sock"));
        let text = config::with_socket(toml, &default_socket)
            .with_context(|| format!("router {router}: invalid config"))?;
        let cfg: toml::Table = toml::from_str(&text)?;
        let socket = config::control_socket(&cfg)
            .map(PathBuf::from)
            .unwrap_or(default_socket);
        let path = self.router_config_path(router);
        std::fs::write(&path, text)
            .with_context(|| format!("router {router}: cannot write {}", path.display()))?;
        lock(&self.sockets).insert(router.to_string(), socket);
        Ok(())
    }

    fn log_note(&self, router: &str, note: &str) {
        if let Ok(mut f) = process::append_file(&self.router_log_path(router)) {
            let _ = writeln!(f, "=== testbed: {note}");
        }
    }

    fn spawn_router(&self, router: &str) -> Result<()> {
        self.router_node(router)?;
        if lock(&self.routers).contains_key(router) {
            self.stop_router(router)?;
        }
        let mrouterd = bin_path("mrouterd")?;
        bin_path("mrouterctl")?;
        let config = self.router_config_path(router);
        let socket = self.router_socket(router);
        let _ = std::fs::remove_file(&socket);
        let log_path = self.router_log_path(router);
        let log = process::append_file(&log_path)?;
        let log2 = log.try_clone()?;
        let ns = self.ns(router);
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns])
            .arg(&mrouterd)
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .process_group(0);
        self.log_note(
            router,
            &format!(
                "starting ip netns exec {ns} {} --config {}",
                mrouterd.display(),
                config.display()
            ),
        );
        let child = cmd
            .spawn()
            .with_context(|| format!("router {router}: cannot start {}", mrouterd.display()))?;
        self.log_note(router, &format!("pid {}", child.id()));
        lock(&self.routers).insert(router.to_string(), child);
        Ok(())
    }

    fn wait_router_ready(&self, router: &str) -> Result<()> {
        let socket = self.router_socket(router);
        let deadline = Instant::now() + ROUTER_START_TIMEOUT;
        loop {
            let exited = {
                let mut routers = lock(&self.routers);
                match routers.get_mut(router) {
                    Some(c) => c.try_wait().ok().flatten(),
                    None => bail!("router {router}: not running"),
                }
            };
            if let Some(status) = exited {
                lock(&self.routers).remove(router);
                self.log_note(router, &format!("mrouterd exited: {status}"));
                bail!(
                    "router {router}: mrouterd exited during start-up ({status}); log {}:\n{}",
                    self.router_log_path(router).display(),
                    tail(since_last_start(&self.router_log(router)), 40)
                );
            }
            if socket.exists() && self.ctl(router, &["version"]).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let last = self.ctl(router, &["version"]).err();
                if let Some(mut child) = lock(&self.routers).remove(router) {
                    process::terminate(&mut child, true, GRACE);
                }
                self.log_note(router, "no answer on the control socket: killed");
                bail!(
                    "router {router}: control socket {} did not answer `mrouterctl version` \
                     within {:?}{}; log {}:\n{}",
                    socket.display(),
                    ROUTER_START_TIMEOUT,
                    last.map(|e| format!(" (last error: {e:#})"))
                        .unwrap_or_default(),
                    self.router_log_path(router).display(),
                    tail(since_last_start(&self.router_log(router)), 40)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn start_routers(&self, routers: &[String]) -> Result<()> {
        for r in routers {
            self.spawn_router(r)?;
        }
        for r in routers {
            self.wait_router_ready(r)?;
        }
        Ok(())
    }

    /// (Re)starts mrouterd on a router with its config file and waits until its control socket
    /// answers `mrouterctl version` (up to 5 s; the error carries the log tail).
    pub fn start_router(&self, router: &str) -> Result<()> {
        self.spawn_router(router)?;
        self.wait_router_ready(router)
    }

    /// Stops a router with SIGTERM and waits for it to exit (its exit status goes to the log).
    /// Fails if it needed SIGKILL after 5 s. A router that is not running is not an error.
    pub fn stop_router(&self, router: &str) -> Result<()> {
        self.router_node(router)?;
        let Some(mut child) = lock(&self.routers).remove(router) else {
            return Ok(());
        };
        let pid = child.id();
        if let Ok(Some(status)) = child.try_wait() {
            self.log_note(
                router,
                &format!("mrouterd (pid {pid}) had exited: {status}"),
            );
            return Ok(());
        }
        sys::kill(pid as i32, sys::SIGTERM);
        let deadline = Instant::now() + ROUTER_STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                self.log_note(router, &format!("mrouterd (pid {pid}) stopped: {status}"));
                sys::kill(-(pid as i32), sys::SIGKILL);
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        sys::kill(-(pid as i32), sys::SIGKILL);
        let status = child.wait();
        self.log_note(
            router,
            &format!("mrouterd (pid {pid}) ignored SIGTERM for 5 s; SIGKILLed: {status:?}"),
        );
        bail!(
            "router {router}: mrouterd (pid {pid}) did not exit within {:?} of SIGTERM; killed",
            ROUTER_STOP_TIMEOUT
        )
    }

    /// Kills a router with SIGKILL and reaps it.
    pub fn kill_router(&self, router: &str) -> Result<()> {
        self.router_node(router)?;
        if let Some(mut child) = lock(&self.routers).remove(router) {
            let pid = child.id();
            sys::kill(-(pid as i32), sys::SIGKILL);
            let status = child
                .wait()
                .with_context(|| format!("router {router}: waiting for pid {pid}"))?;
            self.log_note(router, &format!("mrouterd (pid {pid}) killed: {status}"));
        }
        Ok(())
    }

    /// Sends a signal (e.g. [`crate::SIGHUP`]) to a running router.
    pub fn signal_router(&self, router: &str, sig: i32) -> Result<()> {
        let pid = self
            .router_pid(router)
            .ok_or_else(|| anyhow!("router {router}: not running"))?;
        ensure!(
            sys::kill(pid as i32, sig),
            "router {router}: kill({pid}, {sig}) failed"
        );
        Ok(())
    }

    /// The pid of a running router.
    pub fn router_pid(&self, router: &str) -> Option<u32> {
        let mut routers = lock(&self.routers);
        let child = routers.get_mut(router)?;
        match child.try_wait() {
            Ok(None) => Some(child.id()),
            _ => None,
        }
    }

    /// Runs `mrouterctl --socket SOCKET args...` and returns its stdout.
    pub fn ctl(&self, router: &str, args: &[&str]) -> Result<String> {
        self.router_node(router)?;
        let ctl = bin_path("mrouterctl")?;
        let socket = self.router_socket(router);
        let out = run_checked(
            Command::new(&ctl).arg("--socket").arg(&socket).args(args),
            None,
            &format!("router {router}: mrouterctl {}", shell_words(args)),
        )?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// [`Net::ctl`] with `--json` appended, parsed.
    pub fn ctl_json(&self, router: &str, args: &[&str]) -> Result<serde_json::Value> {
        let mut v = args.to_vec();
        v.push("--json");
        let out = self.ctl(router, &v)?;
        serde_json::from_str(&out).with_context(|| {
            format!(
                "router {router}: mrouterctl {} printed invalid JSON: {out}",
                shell_words(&v)
            )
        })
    }

    /// The router's log so far (empty if none).
    pub fn router_log(&self, router: &str) -> String {
        std::fs::read_to_string(self.router_log_path(router)).unwrap_or_default()
    }

    // ----- lifecycle -----

    /// The serializable description of this Net (namespaces, addresses, router pids).
    pub fn state(&self, name: &str) -> State {
        let nodes = self
            .plan
            .nodes
            .iter()
            .map(|n| NodeState {
                name: n.name.clone(),
                kind: n.kind,
                ns: self.ns(&n.name),
                ifaces: n
                    .ifaces
                    .iter()
                    .map(|i| {
                        let seg = &self.plan.segments[i.segment];
                        let peer = match &seg.lan {
                            Some(l) => l.clone(),
                            None => seg
                                .members
                                .iter()
                                .find(|m| m.node != n.name)
                                .map(|m| m.node.clone())
                                .unwrap_or_default(),
                        };
                        IfaceState {
                            name: i.name.clone(),
                            addr: format!("{}/{}", i.addr, i.prefix_len),
                            peer,
                        }
                    })
                    .collect(),
                routes: n.routes.iter().map(|r| r.ip_args()).collect(),
            })
            .collect();
        let lans = self
            .plan
            .lan_names()
            .map(|l| (l.to_string(), self.ns(l)))
            .collect();
        let routers = self
            .routers()
            .map(|r| RouterState {
                name: r.to_string(),
                pid: self.router_pid(r),
                config: self.router_config_path(r),
                socket: self.router_socket(r),
                log: self.router_log_path(r),
            })
            .collect();
        State {
            name: name.to_string(),
            prefix: self.prefix.clone(),
            rundir: self.rundir.clone(),
            topology: self.source.clone(),
            nodes,
            lans,
            routers,
            created_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        }
    }

    /// Leaves everything running and returns the state needed to tear it down later
    /// ([`State::teardown`]). Processes spawned with [`Node::spawn`] are not detached (they
    /// stop when their [`Proc`] is dropped).
    pub fn detach(mut self) -> State {
        let name = self.prefix.clone();
        let state = self.state(&name);
        self.detached = true;
        state
    }

    fn namespaces(&self) -> Vec<String> {
        self.plan
            .nodes
            .iter()
            .map(|n| n.name.as_str())
            .chain(self.plan.lan_names())
            .map(|n| format!("{}-{n}", self.prefix))
            .collect()
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if self.detached {
            return;
        }
        let panicking = std::thread::panicking();
        // 1. SIGTERM to every router and background process, then wait (2 s) and SIGKILL.
        let mut routers = std::mem::take(&mut *lock(&self.routers));
        let procs: Vec<u32> = lock(&self.procs).values().copied().collect();
        for child in routers.values() {
            sys::kill(child.id() as i32, sys::SIGTERM);
        }
        for pid in &procs {
            sys::kill(-(*pid as i32), sys::SIGTERM);
        }
        let deadline = Instant::now() + GRACE;
        loop {
            let routers_done = routers
                .values_mut()
                .all(|c| matches!(c.try_wait(), Ok(Some(_))));
            let procs_done = procs.iter().all(|p| !process::pid_alive(*p));
            if (routers_done && procs_done) || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        for (name, child) in routers.iter_mut() {
            let pid = child.id();
            let status = match child.try_wait() {
                Ok(Some(s)) => format!("stopped: {s}"),
                _ => {
                    sys::kill(-(pid as i32), sys::SIGKILL);
                    format!("SIGKILLed after {GRACE:?}: {:?}", child.wait())
                }
            };
            sys::kill(-(pid as i32), sys::SIGKILL);
            self.log_note(name, &format!("teardown: mrouterd (pid {pid}) {status}"));
        }
        for pid in &procs {
            sys::kill(-(*pid as i32), sys::SIGKILL);
        }
        // 2. Anything else still living in our namespaces.
        let namespaces = self.namespaces();
        kill_namespace_processes(&namespaces);
        // 3. Logs for the post-mortem.
        if panicking {
            report_rundir(
                &self.rundir,
                self.routers().map(|r| self.router_log_path(r)),
            );
        }
        // 4. Namespaces (with their veths and bridges) and the run directory.
        delete_namespaces(&namespaces);
        if !panicking {
            let _ = std::fs::remove_dir_all(&self.rundir);
        }
    }
}

/// Prints the run directory and the tail of every router log to stderr.
pub(crate) fn report_rundir(rundir: &Path, logs: impl Iterator<Item = PathBuf>) {
    let mut msg = format!("testbed: keeping run directory {}\n", rundir.display());
    for log in logs {
        if let Ok(text) = std::fs::read_to_string(&log) {
            let _ = writeln!(
                msg,
                "----- last 40 lines of {} -----\n{}",
                log.display(),
                tail(&text, 40)
            );
        }
    }
    eprint!("{msg}");
}

/// Kills every process living in these namespaces and deletes them (missing ones are
/// ignored). For leftovers; a [`Net`] cleans up after itself.
pub fn remove_namespaces(namespaces: &[String]) {
    kill_namespace_processes(namespaces);
    delete_namespaces(namespaces);
}

/// Deletes namespaces (missing ones are ignored).
pub(crate) fn delete_namespaces(namespaces: &[String]) {
    let mut batch = String::new();
    for ns in namespaces {
        if Path::new("/run/netns").join(ns).exists() {
            let _ = writeln!(batch, "netns del {ns}");
        }
    }
    if !batch.is_empty()
        && let Err(e) = run_checked(
            Command::new("ip").args(["-force", "-batch", "-"]),
            Some(&batch),
            "deleting namespaces",
        )
    {
        eprintln!("testbed: {e:#}");
    }
}

/// SIGKILLs every process (other than ourselves) whose network namespace is one of these.
pub(crate) fn kill_namespace_processes(namespaces: &[String]) {
    let pids = namespace_pids(namespaces);
    for pid in &pids {
        sys::kill(*pid as i32, sys::SIGKILL);
    }
    if !pids.is_empty() {
        wait_until(GRACE, || pids.iter().all(|p| !process::pid_alive(*p)));
    }
}

/// Pids of processes living in any of these namespaces.
pub fn namespace_pids(namespaces: &[String]) -> Vec<u32> {
    let Ok(own) = std::fs::metadata("/proc/self/ns/net") else {
        return Vec::new();
    };
    let inodes: HashSet<u64> = namespaces
        .iter()
        .filter_map(|ns| std::fs::metadata(Path::new("/run/netns").join(ns)).ok())
        .filter(|m| m.dev() == own.dev())
        .map(|m| m.ino())
        .collect();
    if inodes.is_empty() {
        return Vec::new();
    }
    let me = std::process::id();
    let mut pids = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(link) = std::fs::read_link(entry.path().join("ns/net")) else {
            continue;
        };
        let ino = link
            .to_str()
            .and_then(|s| s.strip_prefix("net:["))
            .and_then(|s| s.strip_suffix(']'))
            .and_then(|s| s.parse::<u64>().ok());
        if ino.is_some_and(|i| inodes.contains(&i)) {
            pids.push(pid);
        }
    }
    pids
}

/// A node (or LAN) namespace of a [`Net`].
pub struct Node<'a> {
    net: &'a Net,
    name: String,
    ns: String,
}

impl Node<'_> {
    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node's namespace.
    pub fn ns(&self) -> &str {
        &self.ns
    }

    fn command(&self, argv: &[&str]) -> Result<Command> {
        ensure!(!argv.is_empty(), "{}: empty command", self.name);
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns]).args(argv);
        Ok(cmd)
    }

    /// Runs `argv` in the node's namespace and returns its output, whatever the exit status.
    pub fn exec(&self, argv: &[&str]) -> Result<Output> {
        self.command(argv)?
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("{}: cannot run `{}`", self.name, shell_words(argv)))
    }

    /// Runs `argv` in the node's namespace; fails (with stderr) on a non-zero exit; returns
    /// stdout.
    pub fn run(&self, argv: &[&str]) -> Result<String> {
        let out = run_checked(
            &mut self.command(argv)?,
            None,
            &format!("{}: `{}`", self.name, shell_words(argv)),
        )?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs a `sh -c` script in the node's namespace (like [`Node::run`]).
    pub fn sh(&self, script: &str) -> Result<String> {
        self.run(&["sh", "-c", script])
    }

    /// Starts `argv` in the background in the node's namespace, in its own process group;
    /// stdout is piped, stderr goes to `{rundir}/{node}-{program}-{n}.err`.
    pub fn spawn(&self, argv: &[&str]) -> Result<Proc> {
        static N: AtomicU32 = AtomicU32::new(0);
        let mut cmd = self.command(argv)?;
        let program = Path::new(argv[0])
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("proc")
            .to_string();
        let err_path = self.net.rundir.join(format!(
            "{}-{program}-{}.err",
            self.name,
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let err = process::append_file(&err_path)?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .process_group(0)
            .spawn()
            .with_context(|| format!("{}: cannot start `{}`", self.name, shell_words(argv)))?;
        Ok(Proc::new(
            child,
            format!("{}: `{}`", self.name, shell_words(argv)),
            err_path,
            Some(self.net.procs.clone()),
        ))
    }
}
