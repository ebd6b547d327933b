//! Topology files: parsing, validation, interface naming, addressing and static routes.
//!
//! See the crate documentation for the file format. [`Topology::plan`] turns a parsed file into
//! a [`Plan`]: every node with its interfaces, addresses and unicast routes, every segment (a
//! point-to-point link or a LAN) with its members. The plan is pure data and does no IO, so the
//! naming and routing rules are unit-tested without namespaces.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail, ensure};
use ipnetwork::Ipv4Network;
use serde::{Deserialize, Serialize};

/// Longest node or LAN name.
pub const MAX_NAME_LEN: usize = 8;

/// A parsed topology file (see the crate documentation for the format).
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    #[serde(default)]
    pub options: Options,
    #[serde(default)]
    pub host: Vec<HostSpec>,
    #[serde(default)]
    pub router: Vec<RouterSpec>,
    #[serde(default)]
    pub link: Vec<LinkSpec>,
    #[serde(default)]
    pub lan: Vec<LanSpec>,
    /// Directory against which relative paths (`config_file`) are resolved.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The file this topology was read from, if any.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// `[options]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Options {
    /// `"static"` (default) or `"none"`.
    pub routing: Routing,
    /// Start mrouterd on every router after building (default true).
    pub start_routers: bool,
    /// `[router] log_level` of generated router configs (default "info").
    pub log_level: String,
    /// false: `ethtool -K IF tx off` on every veth end (default true: leave offload on).
    pub tx_checksum_offload: bool,
    /// false (default): IPv6 disabled in every namespace (no DAD, no MLD or RS noise).
    pub ipv6: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            routing: Routing::Static,
            start_routers: true,
            log_level: "info".into(),
            tx_checksum_offload: true,
            ipv6: false,
        }
    }
}

/// How unicast routes are set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Routing {
    /// Routes to every subnet from every node, computed by shortest paths through routers.
    Static,
    /// Routers get only connected routes (a routing protocol will do the rest); hosts still
    /// get their default route.
    None,
}

/// `[[host]]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    pub name: String,
}

/// `[[router]]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouterSpec {
    pub name: String,
    /// A complete mrouterd config file, relative to the topology file.
    #[serde(default)]
    pub config_file: Option<PathBuf>,
    /// A complete mrouterd config inline.
    #[serde(default)]
    pub config: Option<String>,
    /// An overlay deep-merged over the generated config.
    #[serde(default)]
    pub mrouterd: Option<toml::Table>,
    /// false: a unicast-only router (IP forwarding, static routes) that never runs
    /// mrouterd, such as the multicast-ignorant middle of an MBone tunnel. Default true.
    #[serde(default = "yes")]
    pub multicast: bool,
}

fn yes() -> bool {
    true
}

/// `[[link]]`: a veth pair between two nodes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    pub nodes: Vec<String>,
    #[serde(default)]
    pub subnet: Option<Ipv4Network>,
    #[serde(default)]
    pub addrs: Option<Vec<String>>,
    #[serde(default)]
    pub names: Option<Vec<String>>,
}

/// `[[lan]]`: a bridge in its own namespace with one veth per member.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LanSpec {
    pub name: String,
    pub nodes: Vec<String>,
    #[serde(default)]
    pub subnet: Option<Ipv4Network>,
    #[serde(default)]
    pub addrs: Option<Vec<String>>,
    #[serde(default)]
    pub names: Option<Vec<String>>,
}

/// Host or router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    Host,
    Router,
}

/// Where a router's mrouterd config comes from.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// Generated, with an optional overlay merged over it.
    Generated(Option<toml::Table>),
    /// A complete config text (inline or read from `config_file`).
    Text(String),
}

/// One interface of a node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Iface {
    pub name: String,
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
    /// Index into [`Plan::segments`].
    pub segment: usize,
}

impl Iface {
    /// The interface's subnet.
    pub fn network(&self) -> Ipv4Network {
        let n = Ipv4Network::new(self.addr, self.prefix_len).expect("prefix length validated");
        Ipv4Network::new(n.network(), self.prefix_len).expect("prefix length validated")
    }
}

/// A unicast route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// None: default route.
    pub dest: Option<Ipv4Network>,
    pub via: Ipv4Addr,
    pub dev: String,
}

impl Route {
    /// The `ip route add` arguments (without `route add`).
    pub fn ip_args(&self) -> String {
        let dest = self
            .dest
            .map_or_else(|| "default".to_string(), |d| d.to_string());
        format!("{dest} via {} dev {}", self.via, self.dev)
    }
}

/// A node of the plan.
#[derive(Debug, Clone)]
pub struct PlanNode {
    pub name: String,
    pub kind: NodeKind,
    pub ifaces: Vec<Iface>,
    pub routes: Vec<Route>,
    /// Routers only.
    pub config: Option<ConfigSource>,
    /// Routers only: runs mrouterd (false for a unicast-only router).
    pub multicast: bool,
}

impl PlanNode {
    /// The interface called `name`.
    pub fn iface(&self, name: &str) -> Option<&Iface> {
        self.ifaces.iter().find(|i| i.name == name)
    }
}

/// A member of a segment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    pub node: String,
    pub ifname: String,
    pub addr: Ipv4Addr,
    /// For LANs: the bridge port (in the LAN namespace) paired with this member's interface.
    pub port: Option<String>,
}

/// A link or a LAN.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Segment {
    /// None for a point-to-point link, the LAN name for a LAN.
    pub lan: Option<String>,
    pub subnet: Ipv4Network,
    pub members: Vec<Member>,
}

/// The fully resolved topology.
#[derive(Debug, Clone)]
pub struct Plan {
    pub options: Options,
    /// Hosts (file order) then routers (file order).
    pub nodes: Vec<PlanNode>,
    /// Links (file order) then LANs (file order).
    pub segments: Vec<Segment>,
}

impl Plan {
    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&PlanNode> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The LAN segment called `name`.
    pub fn lan(&self, name: &str) -> Option<&Segment> {
        self.segments
            .iter()
            .find(|s| s.lan.as_deref() == Some(name))
    }

    /// Names of LANs in file order.
    pub fn lan_names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| s.lan.as_deref())
    }

    /// The segment joining `node` and `peer` (a node or a LAN name): a link between them
    /// (first in file order), the LAN named `peer`, or else a LAN they share.
    pub fn segment_between(&self, node: &str, peer: &str) -> Option<usize> {
        let has = |s: &Segment, n: &str| s.members.iter().any(|m| m.node == n);
        let direct = self
            .segments
            .iter()
            .position(|s| s.lan.is_none() && has(s, node) && has(s, peer));
        direct
            .or_else(|| {
                self.segments
                    .iter()
                    .position(|s| s.lan.as_deref() == Some(peer) && has(s, node))
            })
            .or_else(|| {
                self.segments
                    .iter()
                    .position(|s| s.lan.is_some() && has(s, node) && has(s, peer))
            })
    }
}

impl Topology {
    /// Parses a topology; relative paths are resolved against `base_dir`.
    pub fn parse(text: &str, base_dir: impl Into<PathBuf>) -> Result<Topology> {
        let mut t: Topology = toml::from_str(text).context("invalid topology")?;
        t.base_dir = base_dir.into();
        Ok(t)
    }

    /// Reads and parses a topology file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Topology> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read topology {}", path.display()))?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        let mut t =
            Topology::parse(&text, base).with_context(|| format!("in {}", path.display()))?;
        t.source = Some(path.to_path_buf());
        Ok(t)
    }

    /// Validates the topology and resolves names, addresses and routes.
    pub fn plan(&self) -> Result<Plan> {
        let mut kinds: BTreeMap<&str, NodeKind> = BTreeMap::new();
        let mut all_names: BTreeSet<&str> = BTreeSet::new();
        let node_names = self
            .host
            .iter()
            .map(|h| (h.name.as_str(), NodeKind::Host))
            .chain(
                self.router
                    .iter()
                    .map(|r| (r.name.as_str(), NodeKind::Router)),
            );
        for (name, kind) in node_names {
            check_name(name)?;
            ensure!(all_names.insert(name), "duplicate name {name:?}");
            kinds.insert(name, kind);
        }
        for lan in &self.lan {
            check_name(&lan.name)?;
            ensure!(all_names.insert(&lan.name), "duplicate name {:?}", lan.name);
        }
        ensure!(
            !kinds.is_empty(),
            "the topology has no [[host]] or [[router]]"
        );

        // Segments: links then LANs.
        struct Raw<'a> {
            what: String,
            lan: Option<&'a str>,
            nodes: &'a [String],
            subnet: Option<Ipv4Network>,
            addrs: Option<&'a [String]>,
            names: Option<&'a [String]>,
        }
        let mut raws = Vec::new();
        for (i, l) in self.link.iter().enumerate() {
            ensure!(
                l.nodes.len() == 2,
                "link {} ({:?}): a link has exactly 2 nodes (use [[lan]] for more)",
                i + 1,
                l.nodes
            );
            raws.push(Raw {
                what: format!("link {} {:?}", i + 1, l.nodes),
                lan: None,
                nodes: &l.nodes,
                subnet: l.subnet,
                addrs: l.addrs.as_deref(),
                names: l.names.as_deref(),
            });
        }
        for l in &self.lan {
            ensure!(!l.nodes.is_empty(), "lan {}: no nodes", l.name);
            raws.push(Raw {
                what: format!("lan {}", l.name),
                lan: Some(&l.name),
                nodes: &l.nodes,
                subnet: l.subnet,
                addrs: l.addrs.as_deref(),
                names: l.names.as_deref(),
            });
        }
        ensure!(
            raws.len() <= 255,
            "too many links and LANs ({}; at most 255)",
            raws.len()
        );

        let mut ifaces: HashMap<&str, Vec<Iface>> = HashMap::new();
        let mut segments = Vec::new();
        let mut used_addrs: BTreeMap<Ipv4Addr, String> = BTreeMap::new();
        for (idx, raw) in raws.iter().enumerate() {
            let what = &raw.what;
            let mut seen = BTreeSet::new();
            for n in raw.nodes {
                ensure!(
                    kinds.contains_key(n.as_str()),
                    "{what}: unknown node {n:?} (declare it as [[host]] or [[router]])"
                );
                ensure!(seen.insert(n), "{what}: node {n:?} appears twice");
            }
            if let Some(names) = raw.names {
                ensure!(
                    names.len() == raw.nodes.len(),
                    "{what}: `names` needs one interface name per node"
                );
            }
            let auto = Ipv4Network::new(Ipv4Addr::new(10, 0, (idx + 1) as u8, 0), 24)
                .expect("valid prefix");
            let addrs: Vec<(Ipv4Addr, u8)> = match raw.addrs {
                Some(addrs) => {
                    ensure!(
                        addrs.len() == raw.nodes.len(),
                        "{what}: `addrs` needs one address per node"
                    );
                    let default_len = raw.subnet.map_or(24, |s| s.prefix());
                    addrs
                        .iter()
                        .map(|a| parse_addr(a, default_len).with_context(|| what.clone()))
                        .collect::<Result<_>>()?
                }
                None => {
                    let subnet = raw.subnet.unwrap_or(auto);
                    let subnet = Ipv4Network::new(subnet.network(), subnet.prefix())?;
                    (0..raw.nodes.len())
                        .map(|i| {
                            let a = subnet
                                .nth(i as u32 + 1)
                                .filter(|a| subnet.prefix() >= 31 || *a != subnet.broadcast());
                            a.map(|a| (a, subnet.prefix())).ok_or_else(|| {
                                anyhow!("{what}: subnet {subnet} too small for its nodes")
                            })
                        })
                        .collect::<Result<_>>()?
                }
            };
            let subnet = match raw.subnet {
                Some(s) => Ipv4Network::new(s.network(), s.prefix())?,
                None => {
                    let (a, len) = addrs[0];
                    let n = Ipv4Network::new(a, len)?;
                    Ipv4Network::new(n.network(), len)?
                }
            };
            for (a, len) in &addrs {
                ensure!(
                    subnet.contains(*a) && *len == subnet.prefix(),
                    "{what}: address {a}/{len} is not in subnet {subnet}"
                );
            }
            for other in &segments {
                let other: &Segment = other;
                ensure!(
                    !other.subnet.overlaps(subnet),
                    "{what}: subnet {subnet} overlaps {} (automatic subnets are 10.0.N.0/24 \
                     for the N-th link or LAN)",
                    other.subnet
                );
            }
            let mut members = Vec::new();
            for (i, n) in raw.nodes.iter().enumerate() {
                let list = ifaces.entry(n.as_str()).or_default();
                let ifname = match raw.names {
                    Some(names) => names[i].clone(),
                    None => format!("eth{}", list.len()),
                };
                check_ifname(&ifname).with_context(|| format!("{what}: node {n}"))?;
                ensure!(
                    !list.iter().any(|x| x.name == ifname),
                    "{what}: node {n} already has an interface {ifname}"
                );
                let (addr, prefix_len) = addrs[i];
                if let Some(prev) = used_addrs.insert(addr, format!("{n} {ifname}")) {
                    bail!("{what}: address {addr} of {n} {ifname} is also used by {prev}");
                }
                list.push(Iface {
                    name: ifname.clone(),
                    addr,
                    prefix_len,
                    segment: idx,
                });
                members.push(Member {
                    node: n.clone(),
                    ifname,
                    addr,
                    port: raw.lan.map(|_| n.clone()),
                });
            }
            segments.push(Segment {
                lan: raw.lan.map(str::to_string),
                subnet,
                members,
            });
        }

        let mut nodes = Vec::new();
        for h in &self.host {
            nodes.push(PlanNode {
                name: h.name.clone(),
                kind: NodeKind::Host,
                ifaces: ifaces.remove(h.name.as_str()).unwrap_or_default(),
                routes: Vec::new(),
                config: None,
                multicast: false,
            });
        }
        for r in &self.router {
            let sources = [
                r.config_file.is_some(),
                r.config.is_some(),
                r.mrouterd.is_some(),
            ];
            ensure!(
                sources.iter().filter(|b| **b).count() <= 1,
                "router {}: use at most one of config_file, config and mrouterd",
                r.name
            );
            ensure!(
                r.multicast || !sources.iter().any(|b| *b),
                "router {}: `multicast = false` runs no mrouterd, so it takes no config",
                r.name
            );
            let config = if let Some(file) = &r.config_file {
                let path = self.base_dir.join(file);
                let text = std::fs::read_to_string(&path).with_context(|| {
                    format!(
                        "router {}: cannot read config_file {}",
                        r.name,
                        path.display()
                    )
                })?;
                ConfigSource::Text(text)
            } else if let Some(text) = &r.config {
                ConfigSource::Text(text.clone())
            } else {
                ConfigSource::Generated(r.mrouterd.clone())
            };
            nodes.push(PlanNode {
                name: r.name.clone(),
                kind: NodeKind::Router,
                ifaces: ifaces.remove(r.name.as_str()).unwrap_or_default(),
                routes: Vec::new(),
                config: Some(config),
                multicast: r.multicast,
            });
        }

        let mut plan = Plan {
            options: self.options.clone(),
            nodes,
            segments,
        };
        compute_routes(&mut plan);
        Ok(plan)
    }
}

fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= MAX_NAME_LEN;
    ensure!(
        ok,
        "invalid name {name:?}: names are identifiers (letter, then letters, digits, _) of at \
         most {MAX_NAME_LEN} characters"
    );
    ensure!(
        name != "lo" && name != "br0",
        "invalid name {name:?}: reserved"
    );
    Ok(())
}

fn check_ifname(name: &str) -> Result<()> {
    ensure!(
        !name.is_empty()
            && name.len() <= 15
            && name != "lo"
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)),
        "invalid interface name {name:?} (at most 15 characters of [A-Za-z0-9_.-], not lo)"
    );
    Ok(())
}

fn parse_addr(s: &str, default_len: u8) -> Result<(Ipv4Addr, u8)> {
    let (a, len) = match s.split_once('/') {
        Some((a, len)) => (a, len.parse::<u8>().ok()),
        None => (s, Some(default_len)),
    };
    let a: Ipv4Addr = a
        .parse()
        .with_context(|| format!("invalid address {s:?}"))?;
    let len = len
        .filter(|l| *l <= 32)
        .ok_or_else(|| anyhow!("invalid prefix length in {s:?}"))?;
    Ok((a, len))
}

/// First hop from a node: (neighbor name, own interface, neighbor address). Ordered so that
/// `min` breaks ties by lower node name, then lower interface name.
type FirstHop = (String, String, Ipv4Addr);

/// Shortest paths from `src` through routers: for every reached node, (distance, first hop).
fn shortest_paths(plan: &Plan, src: &str) -> BTreeMap<String, (usize, FirstHop)> {
    let kind: HashMap<&str, NodeKind> = plan
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.kind))
        .collect();
    // adjacency: node -> [(neighbor, own ifname, neighbor addr)]
    let mut adj: HashMap<&str, Vec<(&str, &str, Ipv4Addr)>> = HashMap::new();
    for seg in &plan.segments {
        for a in &seg.members {
            for b in &seg.members {
                if a.node != b.node {
                    adj.entry(a.node.as_str()).or_default().push((
                        b.node.as_str(),
                        a.ifname.as_str(),
                        b.addr,
                    ));
                }
            }
        }
    }
    let mut best: BTreeMap<String, (usize, FirstHop)> = BTreeMap::new();
    let mut frontier: Vec<String> = Vec::new();
    // Level 1.
    for (nb, ifname, addr) in adj.get(src).into_iter().flatten() {
        let hop = (nb.to_string(), ifname.to_string(), *addr);
        match best.get_mut(*nb) {
            Some((_, h)) => {
                if hop < *h {
                    *h = hop;
                }
            }
            None => {
                best.insert(nb.to_string(), (1, hop));
                frontier.push(nb.to_string());
            }
        }
    }
    best.remove(src);
    frontier.retain(|n| n != src);
    let mut dist = 1;
    while !frontier.is_empty() {
        let mut next: Vec<String> = Vec::new();
        let mut level: BTreeMap<String, FirstHop> = BTreeMap::new();
        for n in &frontier {
            if kind.get(n.as_str()) != Some(&NodeKind::Router) {
                continue; // hosts do not forward
            }
            let hop = best[n].1.clone();
            for (nb, _, _) in adj.get(n.as_str()).into_iter().flatten() {
                if *nb == src || best.contains_key(*nb) {
                    continue;
                }
                let e = level.entry(nb.to_string()).or_insert_with(|| hop.clone());
                if hop < *e {
                    *e = hop.clone();
                }
            }
        }
        dist += 1;
        for (n, hop) in level {
            best.insert(n.clone(), (dist, hop));
            next.push(n);
        }
        frontier = next;
    }
    best
}

fn compute_routes(plan: &mut Plan) {
    let mut all_routes = Vec::new();
    for node in &plan.nodes {
        let connected: BTreeSet<usize> = node.ifaces.iter().map(|i| i.segment).collect();
        let mut routes = Vec::new();
        let single_homed_host = node.kind == NodeKind::Host && node.ifaces.len() == 1;
        if single_homed_host {
            let seg = &plan.segments[node.ifaces[0].segment];
            let router = seg.members.iter().find(|m| {
                m.node != node.name
                    && plan
                        .node(&m.node)
                        .is_some_and(|n| n.kind == NodeKind::Router)
            });
            if let Some(r) = router {
                routes.push(Route {
                    dest: None,
                    via: r.addr,
                    dev: node.ifaces[0].name.clone(),
                });
            }
        } else if plan.options.routing == Routing::Static || node.kind == NodeKind::Host {
            let paths = shortest_paths(plan, &node.name);
            for (idx, seg) in plan.segments.iter().enumerate() {
                if connected.contains(&idx) {
                    continue;
                }
                let best = seg
                    .members
                    .iter()
                    .filter(|m| {
                        plan.node(&m.node)
                            .is_some_and(|n| n.kind == NodeKind::Router)
                    })
                    .filter_map(|m| paths.get(&m.node))
                    .min();
                if let Some((_, (_, dev, via))) = best {
                    routes.push(Route {
                        dest: Some(seg.subnet),
                        via: *via,
                        dev: dev.clone(),
                    });
                }
            }
        }
        all_routes.push(routes);
    }
    for (node, routes) in plan.nodes.iter_mut().zip(all_routes) {
        node.routes = routes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Plan {
        Topology::parse(text, ".").unwrap().plan().unwrap()
    }

    const CHAIN: &str = r#"
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
        [[lan]]
        name = "lan1"
        nodes = ["r2", "a"]
    "#;

    #[test]
    fn naming_and_addressing() {
        let p = plan(CHAIN);
        let r2 = p.node("r2").unwrap();
        let names: Vec<_> = r2
            .ifaces
            .iter()
            .map(|i| (i.name.as_str(), i.addr))
            .collect();
        assert_eq!(
            names,
            vec![
                ("eth0", Ipv4Addr::new(10, 0, 2, 2)),
                ("eth1", Ipv4Addr::new(10, 0, 3, 1)),
                ("eth2", Ipv4Addr::new(10, 0, 4, 1)),
            ]
        );
        let a = p.node("a").unwrap();
        assert_eq!(a.ifaces[1].name, "eth1");
        assert_eq!(a.ifaces[1].addr, Ipv4Addr::new(10, 0, 4, 2));
        assert_eq!(p.segment_between("r1", "r2"), Some(1));
        assert_eq!(p.segment_between("a", "lan1"), Some(3));
        assert_eq!(p.segment_between("r2", "a"), Some(3));
        assert_eq!(p.segment_between("a", "b"), None);
    }

    #[test]
    fn static_routes() {
        let p = plan(CHAIN);
        let r1 = p.node("r1").unwrap();
        let r: Vec<_> = r1.routes.iter().map(Route::ip_args).collect();
        assert_eq!(
            r,
            vec![
                "10.0.3.0/24 via 10.0.2.2 dev eth1",
                "10.0.4.0/24 via 10.0.2.2 dev eth1"
            ]
        );
        // b is single-homed: default route.
        let b = p.node("b").unwrap();
        assert_eq!(b.routes[0].ip_args(), "default via 10.0.3.1 dev eth0");
        // a is multi-homed: per-subnet routes, shortest path to 10.0.3.0/24 is over the LAN.
        let a = p.node("a").unwrap();
        let r: Vec<_> = a.routes.iter().map(Route::ip_args).collect();
        assert_eq!(
            r,
            vec![
                "10.0.2.0/24 via 10.0.1.2 dev eth0",
                "10.0.3.0/24 via 10.0.4.1 dev eth1"
            ]
        );
    }

    #[test]
    fn ties_break_by_node_name() {
        let p = plan(
            r#"
            [[router]]
            name = "a"
            [[router]]
            name = "y"
            [[router]]
            name = "x"
            [[router]]
            name = "z"
            [[link]]
            nodes = ["a", "y"]
            [[link]]
            nodes = ["a", "x"]
            [[link]]
            nodes = ["y", "z"]
            [[link]]
            nodes = ["x", "z"]
            [[host]]
            name = "h"
            [[link]]
            nodes = ["z", "h"]
            "#,
        );
        let a = p.node("a").unwrap();
        let to_h = a
            .routes
            .iter()
            .find(|r| r.dest == Some("10.0.5.0/24".parse().unwrap()))
            .unwrap();
        assert_eq!(to_h.ip_args(), "10.0.5.0/24 via 10.0.2.2 dev eth1");
    }

    #[test]
    fn routing_none_and_explicit_addresses() {
        let p = plan(
            r#"
            [options]
            routing = "none"
            [[router]]
            name = "r1"
            [[router]]
            name = "r2"
            [[router]]
            name = "r3"
            [[link]]
            nodes = ["r1", "r2"]
            subnet = "192.168.7.0/30"
            [[link]]
            nodes = ["r2", "r3"]
            addrs = ["172.16.0.5", "172.16.0.9"]
            names = ["up", "down"]
            "#,
        );
        assert!(p.nodes.iter().all(|n| n.routes.is_empty()));
        let r1 = p.node("r1").unwrap();
        assert_eq!(r1.ifaces[0].addr, Ipv4Addr::new(192, 168, 7, 1));
        let r3 = p.node("r3").unwrap();
        assert_eq!(r3.ifaces[0].name, "down");
        assert_eq!(r3.ifaces[0].prefix_len, 24);
        let r2 = p.node("r2").unwrap();
        assert_eq!(r2.ifaces[1].name, "up");
    }

    #[test]
    fn errors() {
        let bad = |t: &str| {
            Topology::parse(t, ".")
                .and_then(|t| t.plan())
                .unwrap_err()
                .to_string()
        };
        assert!(bad("[[host]]\nname = \"averylongname\"").contains("invalid name"));
        assert!(
            bad("[[host]]\nname = \"a\"\n[[link]]\nnodes = [\"a\", \"b\"]")
                .contains("unknown node")
        );
        assert!(bad("[[host]]\nname = \"a\"\n[[host]]\nname = \"a\"").contains("duplicate"));
        assert!(bad("[options]\nrouting = \"ospf\"\n[[host]]\nname = \"a\"").contains("invalid"));
    }

    #[test]
    fn config_file_is_relative_to_the_topology() {
        let dir = std::env::temp_dir().join(format!("testbed-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("r1.toml"), "[router]\nname = \"x\"\n").unwrap();
        std::fs::write(
            dir.join("topo.toml"),
            "[[router]]\nname = \"r1\"\nconfig_file = \"r1.toml\"\n",
        )
        .unwrap();
        let p = Topology::from_file(dir.join("topo.toml"))
            .unwrap()
            .plan()
            .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        match &p.node("r1").unwrap().config {
            Some(ConfigSource::Text(t)) => assert!(t.contains("name = \"x\"")),
            other => panic!("{other:?}"),
        }
    }
}
