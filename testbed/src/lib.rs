//! Mininet-style topologies in network namespaces, for testing `mrouterd`.
//!
//! A [`Net`] is built from a TOML topology: every host, router and LAN gets its own network
//! namespace `{prefix}-{name}`, links are veth pairs, LANs are a Linux bridge (`br0`,
//! `mcast_snooping 0`) in the LAN's namespace with one veth per member. Routers can run
//! `mrouterd` with a generated config. Dropping the `Net` stops every process it started and
//! deletes every namespace, also during a panic (then the run directory with router configs and
//! logs is kept and its path and the tail of every router log are printed to stderr).
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! let net = testbed::Net::from_toml(r#"
//!     [options]
//!     start_routers = false
//!     [[host]]
//!     name = "a"
//!     [[router]]
//!     name = "r1"
//!     [[host]]
//!     name = "b"
//!     [[link]]
//!     nodes = ["a", "r1"]
//!     [[link]]
//!     nodes = ["r1", "b"]
//! "#)?;
//! let b = net.primary_addr("b").to_string();
//! net.node("a").run(&["ping", "-c1", "-W1", &b])?;
//! net.link_down("r1", "b")?;
//! # Ok(()) }
//! ```
//!
//! # Topology file
//!
//! ```toml
//! [options]                 # all optional
//! routing = "static"        # "static" (default): routes so every subnet is reachable from
//!                           # every node; "none": routers get connected routes only
//! start_routers = true      # start mrouterd on every router after building
//! log_level = "info"        # [router] log_level of generated router configs
//! tx_checksum_offload = true  # false: `ethtool -K IF tx off` on every veth end
//! ipv6 = false              # false: IPv6 disabled in every namespace (no DAD/MLD noise)
//!
//! [[host]]
//! name = "src"
//!
//! [[router]]
//! name = "r1"
//! # mrouterd configuration, at most one of:
//! #   config_file = "r1.toml"   (relative to the topology file; used as-is)
//! #   config = """ ... """      (used as-is)
//! #   an overlay deep-merged over the generated config:
//! [router.mrouterd]
//! route = [ { source = "10.0.1.1", group = "239.1.1.1", input = "eth0", outputs = ["eth1"] } ]
//!
//! [[router]]
//! name = "mid"
//! multicast = false         # a unicast-only router: never runs mrouterd (default true)
//!
//! [[link]]                  # point-to-point veth pair
//! nodes = ["src", "r1"]
//! # optional: subnet = "10.9.0.0/24", addrs = ["10.9.0.5/24", "10.9.0.1/24"],
//! #           names = ["eth0", "eth0"]
//!
//! [[lan]]                   # shared LAN: a bridge in its own namespace
//! name = "lan1"
//! nodes = ["r1", "h1", "h2"]
//! # optional: subnet, addrs (one per node, in order), names
//! ```
//!
//! Rules:
//!
//! - Names (hosts, routers, LANs share one name space) are identifiers of at most 8
//!   characters; `lo` and `br0` are reserved.
//! - A node's interfaces are `eth0`, `eth1`, ... in the order the node appears in links (file
//!   order), then LANs (file order), unless `names` overrides one.
//! - The N-th link or LAN (links first, then LANs) gets `10.0.N.0/24` unless it has a
//!   `subnet` or `addrs`; members get `.1`, `.2`, ... in `nodes` order. An address in `addrs`
//!   without `/len` takes the length of `subnet`, or 24. Subnets must not overlap.
//! - Every node: `lo` up, `rp_filter` 0 (all, default and every interface). Hosts:
//!   `ip_forward` 0 and `224.0.0.0/4 dev <first interface>` (so senders need no interface
//!   option). Routers: `ip_forward` 1 (also when mrouterd is not started).
//! - Unicast routes, `routing = "static"`: shortest paths (in hops) where only routers forward,
//!   ties broken by the lower next-hop node name, then the lower interface name. A router gets a
//!   route to every subnet it is not connected to. A host with one interface gets a default
//!   route via the first router (in `nodes` order) on it, a multi-homed host gets per-subnet
//!   routes computed like a router's (and no default route). With `routing = "none"` routers
//!   get only connected routes, hosts still get theirs (nothing else would give them any).
//! - LAN namespaces hold `br0` and one bridge port per member named after the member.
//!
//! # Router configuration
//!
//! The run directory `/tmp/testbed/{prefix}/` holds `{router}.toml` (the config mrouterd is
//! started with), `{router}.log` (its stdout and stderr plus `=== testbed:` notes),
//! `{router}.sock` (its control socket) and the stderr files of [`Node::spawn`]ed processes.
//! The generated config is
//!
//! ```toml
//! [router]
//! name = "r1"
//! control_socket = "/tmp/testbed/PREFIX/r1.sock"
//! log_level = "info"
//! [[interface]]
//! name = "eth0"
//! [[interface]]
//! name = "eth1"
//! ```
//!
//! and the `mrouterd` overlay is merged over it: tables merge recursively, the `interface`
//! array merges by `name` (overlay fields override, new names are appended), everything else is
//! replaced. A complete config (`config`, `config_file`, [`Net::write_router_config`]) is used
//! as it is, except that `[router] control_socket` is added when it is missing, since every
//! router needs its own socket path.

pub mod capture;
mod config;
pub mod counters;
pub mod frr;
mod net;
mod process;
mod state;
mod sys;
pub mod topology;
pub mod traffic;

pub use config::merge as merge_config;
pub use net::{
    Net, Node, ROUTER_START_TIMEOUT, RUN_ROOT, bin_path, namespace_pids, remove_namespaces,
    unique_prefix, wait_until,
};
pub use process::{Proc, ProcOutput};
pub use state::{IfaceState, NodeState, RouterState, State};
pub use sys::{SIGHUP, SIGKILL, SIGTERM, install_interrupt_handler, interrupted};
pub use topology::{NodeKind, Plan, Topology};

/// The topology of `testbed demo` (also in `examples/demo.toml`).
pub const DEMO_TOPOLOGY: &str = include_str!("../examples/demo.toml");
/// The topology of `testbed demo --protocol pim` (the default demo).
pub const DEMO_PIM_TOPOLOGY: &str = include_str!("../examples/demo-pim.toml");
/// The topology of `testbed demo --protocol dvmrp`: two DVMRP islands joined by a tunnel.
pub const DEMO_DVMRP_TOPOLOGY: &str = include_str!("../examples/demo-dvmrp.toml");
