//! The TOML configuration of one router.
//!
//! One file per router. Every table rejects unknown keys, and every error names the file,
//! the line and column, the table and key, and what is wrong, e.g.
//!
//! ```text
//! r1.toml:7:17: [[interface]] `ttl_threshold`: must be between 1 and 255, got 0
//! ```
//!
//! See the README for the reference and a commented example.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::Ipv4Addr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnetwork::Ipv4Network;
use serde::Deserialize;
use toml::Spanned;

/// Where the control socket lives when the file does not say.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/mrouterd.sock";

/// Idle time after which an (S,G) entry created on demand for a (*,G) route is removed.
pub const DEFAULT_CACHE_TIMEOUT: Duration = Duration::from_secs(300);

/// A validated router configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub name: String,
    pub control_socket: PathBuf,
    pub log_level: String,
    /// Multicast routing table; `None` is the kernel's default table.
    pub table: Option<u32>,
    pub cache_timeout: Duration,
    /// Interfaces by name, in name order.
    pub interfaces: BTreeMap<String, InterfaceConfig>,
    pub routes: Vec<StaticRoute>,
    /// Router-wide IGMP settings (`[igmp]`).
    pub igmp: igmp::config::Config,
    /// Router-wide PIM settings (`[pim]`).
    pub pim: pim::config::Config,
    /// Router-wide DVMRP settings (`[dvmrp]`).
    pub dvmrp: dvmrp::config::Config,
}

/// Protocols that can run on an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolName {
    Igmp,
    Pim,
    Dvmrp,
}

impl ProtocolName {
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolName::Igmp => "igmp",
            ProtocolName::Pim => "pim",
            ProtocolName::Dvmrp => "dvmrp",
        }
    }

    /// A multicast routing protocol: it installs forwarding intents in the MRIB, so a
    /// router runs at most one of them.
    pub fn is_routing(self) -> bool {
        matches!(self, ProtocolName::Pim | ProtocolName::Dvmrp)
    }
}

/// Protocols this build can run; the others are refused with a clear error.
pub const IMPLEMENTED_PROTOCOLS: &[ProtocolName] =
    &[ProtocolName::Igmp, ProtocolName::Pim, ProtocolName::Dvmrp];

/// One `[[interface]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceConfig {
    pub name: String,
    pub protocols: BTreeSet<ProtocolName>,
    /// A packet crosses this interface outwards only if its TTL is greater than this.
    pub ttl_threshold: u8,
    /// Administratively scoped group ranges that never cross this interface.
    pub boundaries: Vec<Ipv4Network>,
    /// IGMP settings, present when `protocols` has "igmp".
    pub igmp: Option<igmp::config::InterfaceConfig>,
    /// PIM settings, present when `protocols` has "pim".
    pub pim: Option<pim::config::InterfaceConfig>,
    /// DVMRP settings, present when `protocols` has "dvmrp".
    pub dvmrp: Option<dvmrp::config::InterfaceConfig>,
    /// Present for a `[[tunnel]]`: mrouterd creates the device itself.
    pub tunnel: Option<TunnelConfig>,
}

/// The endpoints of a `[[tunnel]]` (RFC 2003 IP-in-IP): a virtual point-to-point multicast
/// link to `remote`, an interface (and VIF) named after the tunnel.
///
/// DVMRP control messages to and from the peer are ordinary unicast IGMP-protocol packets
/// between `local` and `remote`; only multicast data travels inside the tunnel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelConfig {
    /// This router's end: the outer source address, one of the router's own addresses.
    pub local: Ipv4Addr,
    /// The peer's end: the outer destination address.
    pub remote: Ipv4Addr,
    /// The DVMRP metric of the tunnel, 1..=31 (stored for DVMRP; unused by the dataplane).
    pub metric: u8,
    pub mode: TunnelMode,
}

/// Which dataplane a tunnel uses (`mode` in `[[tunnel]]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelMode {
    /// The kernel's `ipip` driver if it has one, else the userspace dataplane.
    #[default]
    Auto,
    /// The kernel's `ipip` driver, or an error if it has none.
    Kernel,
    /// A TUN device and a raw IPPROTO_IPIP socket driven by mrouterd.
    Userspace,
}

impl InterfaceConfig {
    /// True if `group` may not cross this interface.
    pub fn blocks(&self, group: Ipv4Addr) -> bool {
        self.boundaries.iter().any(|b| b.contains(group))
    }
}

/// One `[[route]]`: a static (S,G) route, or a (*,G) route for a group or group range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticRoute {
    pub source: Option<Ipv4Addr>,
    /// A single group is a /32.
    pub group: Ipv4Network,
    pub input: String,
    pub outputs: BTreeSet<String>,
}

/// A configuration error that points into the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Table and key, e.g. "[[interface]] `ttl_threshold`".
    pub key: String,
    pub message: String,
    /// The offending source line.
    pub source_line: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        write!(f, "{}", self.message)?;
        if !self.source_line.is_empty() {
            write!(f, "\n    {}", self.source_line.trim_end())?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Read and validate a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_owned(),
        line: 0,
        column: 0,
        key: String::new(),
        message: format!("cannot read the file: {e}"),
        source_line: String::new(),
    })?;
    parse(path, &text)
}

/// Parse and validate configuration text; `path` is used in error messages.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim().to_owned();
        error_at(path, text, span, message)
    })?;
    validate(raw).map_err(|(span, message)| error_at(path, text, span, message))
}

// ---------------------------------------------------------------------------------------
// The file as written: every value that can be wrong after parsing keeps its span.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    router: RawRouter,
    igmp: Option<RawIgmpGlobal>,
    pim: Option<RawPimGlobal>,
    dvmrp: Option<RawDvmrpGlobal>,
    #[serde(default)]
    interface: Vec<RawInterface>,
    #[serde(default)]
    route: Vec<RawRoute>,
    #[serde(default)]
    tunnel: Vec<RawTunnel>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRouter {
    name: Option<Spanned<String>>,
    control_socket: Option<Spanned<String>>,
    log_level: Option<Spanned<String>>,
    table: Option<Spanned<i64>>,
    cache_timeout: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInterface {
    name: Spanned<String>,
    #[serde(default)]
    protocols: Vec<Spanned<String>>,
    ttl_threshold: Option<Spanned<i64>>,
    #[serde(default)]
    boundaries: Vec<Spanned<String>>,
    igmp: Option<Spanned<RawIgmp>>,
    pim: Option<Spanned<RawPim>>,
    dvmrp: Option<Spanned<RawDvmrp>>,
}

/// `[interface.dvmrp]`: every key optional, draft-ietf-idmr-dvmrp-v3-11 appendix A
/// defaults (the dependent times follow the intervals given, as in the draft's table).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDvmrp {
    metric: Option<Spanned<i64>>,
    probe_interval: Option<Spanned<Seconds>>,
    neighbor_timeout: Option<Spanned<Seconds>>,
    report_interval: Option<Spanned<Seconds>>,
    route_expiration: Option<Spanned<Seconds>>,
    hold_down: Option<Spanned<Seconds>>,
    garbage_collection: Option<Spanned<Seconds>>,
    passive: Option<bool>,
}

/// `[dvmrp]`: router-wide DVMRP settings.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDvmrpGlobal {
    #[serde(default)]
    extra_routes: Vec<Spanned<String>>,
    extra_route_metric: Option<Spanned<i64>>,
    min_flash_update_interval: Option<Spanned<Seconds>>,
    prune_lifetime: Option<Spanned<i64>>,
    prune_retransmit: Option<Spanned<Seconds>>,
    graft_retransmit: Option<Spanned<Seconds>>,
    cache_lifetime: Option<Spanned<Seconds>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTunnel {
    name: Spanned<String>,
    local: Spanned<String>,
    remote: Spanned<String>,
    metric: Option<Spanned<i64>>,
    ttl_threshold: Option<Spanned<i64>>,
    #[serde(default)]
    boundaries: Vec<Spanned<String>>,
    protocols: Option<Vec<Spanned<String>>>,
    mode: Option<Spanned<String>>,
    dvmrp: Option<Spanned<RawDvmrp>>,
}

/// `[interface.pim]`: every key optional, RFC 7761 section 4.11 defaults.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPim {
    hello_period: Option<Spanned<Seconds>>,
    hello_holdtime: Option<Spanned<Seconds>>,
    triggered_hello_delay: Option<Spanned<Seconds>>,
    dr_priority: Option<Spanned<i64>>,
    propagation_delay: Option<Spanned<Seconds>>,
    override_interval: Option<Spanned<Seconds>>,
    join_suppression: Option<bool>,
}

/// `[pim]`: router-wide PIM-SM settings.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPimGlobal {
    ssm_range: Option<Spanned<String>>,
    #[serde(default)]
    rp: Vec<RawRp>,
    join_prune_period: Option<Spanned<Seconds>>,
    spt_switchover: Option<Spanned<String>>,
    spt_threshold_kbps: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRp {
    group: Spanned<String>,
    address: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgmpGlobal {
    ssm_range: Option<Spanned<String>>,
}

/// `[interface.igmp]`: every key optional, RFC 3376 section 8 defaults.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgmp {
    version: Option<Spanned<i64>>,
    querier: Option<bool>,
    robustness: Option<Spanned<i64>>,
    query_interval: Option<Spanned<Seconds>>,
    query_response_interval: Option<Spanned<Seconds>>,
    startup_query_interval: Option<Spanned<Seconds>>,
    startup_query_count: Option<Spanned<i64>>,
    last_member_query_interval: Option<Spanned<Seconds>>,
    last_member_query_count: Option<Spanned<i64>>,
    immediate_leave: Option<bool>,
    require_router_alert: Option<bool>,
    max_groups: Option<Spanned<i64>>,
    max_sources: Option<Spanned<i64>>,
    #[serde(default)]
    static_groups: Vec<RawStaticGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStaticGroup {
    group: Spanned<String>,
    #[serde(default)]
    sources: Vec<Spanned<String>>,
    mode: Option<Spanned<String>>,
}

/// A duration in seconds, written as an integer or a decimal number.
#[derive(Deserialize, Clone, Copy)]
#[serde(untagged)]
enum Seconds {
    Int(i64),
    Float(f64),
}

impl Seconds {
    fn get(self) -> f64 {
        match self {
            Seconds::Int(i) => i as f64,
            Seconds::Float(f) => f,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    source: Option<Spanned<String>>,
    group: Spanned<String>,
    input: Spanned<String>,
    outputs: Spanned<Vec<Spanned<String>>>,
}

type Invalid = (Range<usize>, String);

fn validate(raw: RawConfig) -> Result<Config, Invalid> {
    let r = raw.router;
    let name = match r.name {
        Some(n) => {
            let v = n.get_ref();
            if v.is_empty() || v.len() > 64 || v.chars().any(|c| c.is_whitespace()) {
                return Err((n.span(), "must be 1 to 64 characters without spaces".into()));
            }
            v.clone()
        }
        None => "mrouterd".to_owned(),
    };
    let control_socket = match r.control_socket {
        Some(p) if p.get_ref().is_empty() => {
            return Err((p.span(), "must not be empty".into()));
        }
        Some(p) => PathBuf::from(p.into_inner()),
        None => PathBuf::from(DEFAULT_CONTROL_SOCKET),
    };
    let log_level = match r.log_level {
        Some(l) => {
            check_log_level(l.get_ref()).map_err(|m| (l.span(), m))?;
            l.into_inner()
        }
        None => "info".to_owned(),
    };
    let table = match r.table {
        // Linux multicast tables are 32-bit ids; 0 is RT_TABLE_UNSPEC and not usable.
        Some(t) if !(1..=i64::from(u32::MAX)).contains(t.get_ref()) => {
            return Err((
                t.span(),
                format!("must be between 1 and {}, got {}", u32::MAX, t.get_ref()),
            ));
        }
        Some(t) => Some(*t.get_ref() as u32),
        None => None,
    };
    let cache_timeout = match r.cache_timeout {
        Some(t) if !(1..=86_400).contains(t.get_ref()) => {
            return Err((
                t.span(),
                format!("must be between 1 and 86400 seconds, got {}", t.get_ref()),
            ));
        }
        Some(t) => Duration::from_secs(*t.get_ref() as u64),
        None => DEFAULT_CACHE_TIMEOUT,
    };

    let mut interfaces = BTreeMap::new();
    // The routing protocol of the router (PIM or DVMRP) and the interface that named it.
    let mut routing: Option<(ProtocolName, String)> = None;
    for i in raw.interface {
        let iname = interface_name(&i.name)?;
        if interfaces.contains_key(&iname) {
            return Err((
                i.name.span(),
                format!("interface `{iname}` is listed twice"),
            ));
        }
        let protocols = parse_protocols(&i.protocols)?;
        one_routing_protocol(&i.protocols, &iname, &mut routing)?;
        let ttl_threshold = parse_ttl_threshold(i.ttl_threshold.as_ref())?;
        let mut boundaries = Vec::new();
        for b in &i.boundaries {
            boundaries.push(parse_group_range(b)?);
        }
        let listed = |p| protocols.contains(&p);
        let igmp = protocol_table(&i.igmp, listed(ProtocolName::Igmp), "igmp", igmp_interface)?;
        let pim = protocol_table(&i.pim, listed(ProtocolName::Pim), "pim", pim_interface)?;
        let dvmrp = protocol_table(
            &i.dvmrp,
            listed(ProtocolName::Dvmrp),
            "dvmrp",
            dvmrp_interface,
        )?;
        interfaces.insert(
            iname.clone(),
            InterfaceConfig {
                name: iname,
                protocols,
                ttl_threshold,
                boundaries,
                igmp,
                pim,
                dvmrp,
                tunnel: None,
            },
        );
    }

    let mut endpoints: BTreeMap<(Ipv4Addr, Ipv4Addr), String> = BTreeMap::new();
    for t in raw.tunnel {
        let tname = interface_name(&t.name)?;
        match interfaces.get(&tname) {
            Some(InterfaceConfig { tunnel: None, .. }) => {
                return Err((
                    t.name.span(),
                    format!(
                        "`{tname}` is also an [[interface]]; a tunnel creates its own device, \
                         give it another name"
                    ),
                ));
            }
            Some(_) => {
                return Err((t.name.span(), format!("tunnel `{tname}` is listed twice")));
            }
            None => {}
        }
        let local = endpoint(&t.local)?;
        let remote = endpoint(&t.remote)?;
        if local == remote {
            return Err((
                t.remote.span(),
                format!("{remote} is also `local`; the two ends of a tunnel must differ"),
            ));
        }
        if let Some(other) = endpoints.insert((local, remote), tname.clone()) {
            return Err((
                t.remote.span(),
                format!(
                    "tunnel `{other}` has the same endpoints (local {local}, remote {remote}); \
                     the receiver could not tell their packets apart"
                ),
            ));
        }
        let metric = match &t.metric {
            Some(m) => int_in(m, 1, 31)? as u8,
            None => 1,
        };
        let mode = match &t.mode {
            None => TunnelMode::Auto,
            Some(m) => match m.get_ref().as_str() {
                "auto" => TunnelMode::Auto,
                "kernel" => TunnelMode::Kernel,
                "userspace" => TunnelMode::Userspace,
                other => {
                    return Err((
                        m.span(),
                        format!("`{other}` is not a mode: \"auto\", \"kernel\" or \"userspace\""),
                    ));
                }
            },
        };
        let protocols = match &t.protocols {
            Some(list) => {
                let p = parse_protocols(list)?;
                one_routing_protocol(list, &tname, &mut routing)?;
                p
            }
            // DVMRP by default, as on an mrouted tunnel.
            None => {
                if let Some((other, on)) =
                    routing.as_ref().filter(|(p, _)| *p != ProtocolName::Dvmrp)
                {
                    return Err((
                        t.name.span(),
                        format!(
                            "a tunnel runs `dvmrp` by default, and `{}` runs on `{on}`: one \
                             multicast routing protocol per router; add `protocols = []` to \
                             use the tunnel with static routes only",
                            other.as_str()
                        ),
                    ));
                }
                routing.get_or_insert((ProtocolName::Dvmrp, tname.clone()));
                BTreeSet::from([ProtocolName::Dvmrp])
            }
        };
        let ttl_threshold = parse_ttl_threshold(t.ttl_threshold.as_ref())?;
        let mut boundaries = Vec::new();
        for b in &t.boundaries {
            boundaries.push(parse_group_range(b)?);
        }
        // IGMP or PIM on a tunnel run with their defaults (no per-tunnel tables).
        let igmp = protocols
            .contains(&ProtocolName::Igmp)
            .then(igmp::config::InterfaceConfig::default);
        let pim = protocols
            .contains(&ProtocolName::Pim)
            .then(pim::config::InterfaceConfig::default);
        // DVMRP on a tunnel: `[tunnel.dvmrp]` timers, the tunnel's metric, and the peer
        // as the only neighbour, spoken to by unicast.
        let dvmrp = match (&t.dvmrp, protocols.contains(&ProtocolName::Dvmrp)) {
            (Some(d), false) => {
                return Err((
                    d.span(),
                    "there is a [tunnel.dvmrp] table but `dvmrp` is not in `protocols`".into(),
                ));
            }
            (Some(d), true) if d.get_ref().metric.is_some() => {
                let m = d.get_ref().metric.as_ref().expect("checked");
                return Err((
                    m.span(),
                    "a tunnel's DVMRP metric is the `metric` of its [[tunnel]] table".into(),
                ));
            }
            (d, true) => {
                let mut c = dvmrp_interface(d.as_ref().map(Spanned::get_ref))?;
                c.metric = metric;
                c.tunnel_peer = Some(remote);
                Some(c)
            }
            (None, false) => None,
        };
        interfaces.insert(
            tname.clone(),
            InterfaceConfig {
                name: tname,
                protocols,
                ttl_threshold,
                boundaries,
                igmp,
                pim,
                dvmrp,
                tunnel: Some(TunnelConfig {
                    local,
                    remote,
                    metric,
                    mode,
                }),
            },
        );
    }

    // On a DVMRP router an interface with IGMP but not DVMRP is a passive (host-only)
    // DVMRP interface, as every mrouted phyint runs DVMRP: its subnet is announced (so
    // sources there are routed) and its members are children; no Probes or Reports.
    if routing
        .as_ref()
        .is_some_and(|(p, _)| *p == ProtocolName::Dvmrp)
    {
        for c in interfaces.values_mut() {
            if c.tunnel.is_none() && c.dvmrp.is_none() && c.igmp.is_some() {
                c.dvmrp = Some(dvmrp::config::InterfaceConfig {
                    passive: true,
                    ..dvmrp::config::InterfaceConfig::default()
                });
            }
        }
    }
    // DVMRP sees the interface's (or tunnel's) boundaries, so that a boundary is no
    // child for its groups (and is pruned upstream), and its TTL threshold, which it
    // reports to mrinfo (Neighbors2).
    for c in interfaces.values_mut() {
        if let Some(d) = c.dvmrp.as_mut() {
            d.boundaries = c
                .boundaries
                .iter()
                .map(|b| (b.network(), b.prefix()))
                .collect();
            d.ttl_threshold = c.ttl_threshold;
        }
    }

    let mut routes: Vec<StaticRoute> = Vec::new();
    for rt in raw.route {
        let group = parse_group_range(&rt.group)?;
        let source = match &rt.source {
            Some(s) => {
                let a: Ipv4Addr = s.get_ref().parse().map_err(|_| {
                    (
                        s.span(),
                        format!("`{}` is not an IPv4 address", s.get_ref()),
                    )
                })?;
                if a.is_multicast() || a.is_unspecified() || a.is_broadcast() {
                    return Err((s.span(), format!("{a} is not a unicast source address")));
                }
                if group.prefix() != 32 {
                    return Err((
                        rt.group.span(),
                        "an (S,G) route needs a single group, not a range; ranges are for (*,G) routes (omit `source`)".into(),
                    ));
                }
                Some(a)
            }
            None => None,
        };
        let input = rt.input.get_ref().clone();
        if !interfaces.contains_key(&input) {
            return Err((
                rt.input.span(),
                format!("interface `{input}` is not listed in any [[interface]] or [[tunnel]]"),
            ));
        }
        if rt.outputs.get_ref().is_empty() {
            return Err((
                rt.outputs.span(),
                "needs at least one output interface".into(),
            ));
        }
        let mut outputs = BTreeSet::new();
        for o in rt.outputs.get_ref() {
            let oname = o.get_ref();
            if !interfaces.contains_key(oname) {
                return Err((
                    o.span(),
                    format!("interface `{oname}` is not listed in any [[interface]] or [[tunnel]]"),
                ));
            }
            if *oname == input {
                return Err((
                    o.span(),
                    format!("`{oname}` is the input interface; it cannot also be an output"),
                ));
            }
            if !outputs.insert(oname.clone()) {
                return Err((o.span(), format!("`{oname}` is listed twice")));
            }
        }
        if let Some(dup) = routes
            .iter()
            .find(|x| x.source == source && x.group == group)
        {
            let what = match dup.source {
                Some(s) => format!("({s}, {})", dup.group.ip()),
                None => format!("(*, {})", dup.group),
            };
            return Err((rt.group.span(), format!("route {what} is configured twice")));
        }
        routes.push(StaticRoute {
            source,
            group,
            input,
            outputs,
        });
    }

    let mut igmp = igmp::config::Config::default();
    if let Some(g) = raw.igmp.and_then(|g| g.ssm_range) {
        let net: Ipv4Network = g
            .get_ref()
            .parse()
            .map_err(|_| (g.span(), format!("`{}` is not an IPv4 prefix", g.get_ref())))?;
        if !net.network().is_multicast() || net.prefix() < 4 {
            return Err((
                g.span(),
                format!("`{}` is not within 224.0.0.0/4", g.get_ref()),
            ));
        }
        igmp.ssm_range = (net.network(), net.prefix());
    }

    let mut pim = pim::config::Config::default();
    if let Some(p) = raw.pim {
        if let Some(g) = p.ssm_range {
            let net = parse_group_range(&g)?;
            pim.ssm_range = (net.network(), net.prefix());
        }
        for r in &p.rp {
            let net = parse_group_range(&r.group)?;
            let a: Ipv4Addr = r.address.get_ref().parse().map_err(|_| {
                (
                    r.address.span(),
                    format!("`{}` is not an IPv4 address", r.address.get_ref()),
                )
            })?;
            if a.is_multicast() || a.is_unspecified() || a.is_broadcast() {
                return Err((r.address.span(), format!("{a} is not a unicast RP address")));
            }
            if pim
                .rps
                .iter()
                .any(|m| (m.group, m.prefix_len) == (net.network(), net.prefix()))
            {
                return Err((r.group.span(), format!("{net} has an RP already")));
            }
            pim.rps.push(pim::config::RpMapping {
                group: net.network(),
                prefix_len: net.prefix(),
                rp: a,
            });
        }
        if let Some(v) = &p.spt_switchover {
            pim.spt_switchover = match v.get_ref().as_str() {
                "immediate" => pim::config::SptPolicy::Immediate,
                "never" => pim::config::SptPolicy::Never,
                "threshold" => {
                    let k = p.spt_threshold_kbps.as_ref().ok_or_else(|| {
                        (
                            v.span(),
                            "\"threshold\" needs `spt_threshold_kbps`".to_owned(),
                        )
                    })?;
                    let kbps = int_in(k, 1, i64::from(u32::MAX))? as u32;
                    pim::config::SptPolicy::Threshold { kbps }
                }
                other => {
                    return Err((
                        v.span(),
                        format!(
                            "`{other}` is not a policy: \"immediate\", \"never\" or \"threshold\""
                        ),
                    ));
                }
            };
        }
        if let Some(k) = &p.spt_threshold_kbps
            && !matches!(pim.spt_switchover, pim::config::SptPolicy::Threshold { .. })
        {
            return Err((k.span(), "only with spt_switchover = \"threshold\"".into()));
        }
        if let Some(v) = &p.join_prune_period {
            pim.join_prune_period = secs_in(v, 1.0, 18000.0)?;
            // J/P_HoldTime = 3.5 x t_periodic (4.11), a 16-bit number of seconds.
            pim.join_prune_holdtime =
                (pim.join_prune_period * 7 / 2).min(Duration::from_secs(65535));
        }
    }

    let dvmrp = match &raw.dvmrp {
        Some(d) => dvmrp_global(d)?,
        None => dvmrp::config::Config::default(),
    };

    Ok(Config {
        name,
        control_socket,
        log_level,
        table,
        cache_timeout,
        interfaces,
        routes,
        igmp,
        pim,
        dvmrp,
    })
}

/// A Linux interface name: 1 to 15 characters, no '/' or whitespace.
fn interface_name(n: &Spanned<String>) -> Result<String, Invalid> {
    let name = n.get_ref();
    if name.is_empty() || name.len() > 15 || name.contains(['/', ' ', '\t']) {
        return Err((
            n.span(),
            "is not a valid Linux interface name (1 to 15 characters, no '/' or spaces)".into(),
        ));
    }
    Ok(name.clone())
}

/// `protocols` of an interface or tunnel.
/// The router runs one routing protocol (PIM or DVMRP): both would install forwarding
/// state for the same (S,G)s. `routing` is the first one seen and where.
fn one_routing_protocol(
    list: &[Spanned<String>],
    iname: &str,
    routing: &mut Option<(ProtocolName, String)>,
) -> Result<(), Invalid> {
    for p in list {
        let proto = match p.get_ref().as_str() {
            "igmp" => ProtocolName::Igmp,
            "pim" => ProtocolName::Pim,
            "dvmrp" => ProtocolName::Dvmrp,
            _ => continue,
        };
        if !proto.is_routing() {
            continue;
        }
        match routing {
            Some((other, on)) if *other != proto => {
                let on = if on == iname {
                    "on this interface too".to_owned()
                } else {
                    format!("on `{on}`")
                };
                return Err((
                    p.span(),
                    format!(
                        "one multicast routing protocol per router: `{}` here and `{}` {on} \
                         would both install forwarding state in the multicast routing table; \
                         run one of them on every interface",
                        proto.as_str(),
                        other.as_str()
                    ),
                ));
            }
            Some(_) => {}
            None => *routing = Some((proto, iname.to_owned())),
        }
    }
    Ok(())
}

/// An interface's `[interface.NAME]` table of a protocol: its settings (defaults without
/// a table) when the protocol is in `protocols`, None when not; a table for a protocol
/// that is not listed is an error.
fn protocol_table<R, C>(
    table: &Option<Spanned<R>>,
    listed: bool,
    name: &str,
    parse: impl FnOnce(Option<&R>) -> Result<C, Invalid>,
) -> Result<Option<C>, Invalid> {
    match (table, listed) {
        (Some(t), false) => Err((
            t.span(),
            format!("there is an [interface.{name}] table but `{name}` is not in `protocols`"),
        )),
        (t, true) => parse(t.as_ref().map(Spanned::get_ref)).map(Some),
        (None, false) => Ok(None),
    }
}

fn parse_protocols(list: &[Spanned<String>]) -> Result<BTreeSet<ProtocolName>, Invalid> {
    let mut protocols = BTreeSet::new();
    for p in list {
        let proto = match p.get_ref().as_str() {
            "igmp" => ProtocolName::Igmp,
            "pim" => ProtocolName::Pim,
            "dvmrp" => ProtocolName::Dvmrp,
            other => {
                return Err((
                    p.span(),
                    format!("unknown protocol `{other}`; known: igmp, pim, dvmrp"),
                ));
            }
        };
        // Refuse rather than silently run without the protocol the user asked for.
        if !IMPLEMENTED_PROTOCOLS.contains(&proto) {
            return Err((
                p.span(),
                format!(
                    "protocol `{}` is not implemented in this version of mrouterd yet; \
                     remove it to use static multicast routes",
                    p.get_ref()
                ),
            ));
        }
        if !protocols.insert(proto) {
            return Err((p.span(), format!("`{}` is listed twice", p.get_ref())));
        }
    }
    Ok(protocols)
}

/// `ttl_threshold` of an interface or tunnel, 1 by default.
fn parse_ttl_threshold(t: Option<&Spanned<i64>>) -> Result<u8, Invalid> {
    match t {
        Some(t) => Ok(int_in(t, 1, 255)? as u8),
        None => Ok(1),
    }
}

/// A tunnel endpoint: a unicast IPv4 address.
fn endpoint(s: &Spanned<String>) -> Result<Ipv4Addr, Invalid> {
    let a: Ipv4Addr = s.get_ref().parse().map_err(|_| {
        (
            s.span(),
            format!("`{}` is not an IPv4 address", s.get_ref()),
        )
    })?;
    if a.is_multicast() || a.is_unspecified() || a.is_broadcast() {
        return Err((s.span(), format!("{a} is not a unicast address")));
    }
    Ok(a)
}

fn int_in(v: &Spanned<i64>, lo: i64, hi: i64) -> Result<i64, Invalid> {
    let x = *v.get_ref();
    if (lo..=hi).contains(&x) {
        Ok(x)
    } else {
        Err((v.span(), format!("must be between {lo} and {hi}, got {x}")))
    }
}

fn secs_in(v: &Spanned<Seconds>, lo: f64, hi: f64) -> Result<Duration, Invalid> {
    let x = v.get_ref().get();
    if x.is_finite() && x >= lo && x <= hi {
        Ok(Duration::from_secs_f64(x))
    } else {
        Err((
            v.span(),
            format!("must be between {lo} and {hi} seconds, got {x}"),
        ))
    }
}

/// `[interface.igmp]` with the defaults of RFC 3376 section 8 for what is not given.
fn igmp_interface(raw: Option<&RawIgmp>) -> Result<igmp::config::InterfaceConfig, Invalid> {
    use igmp::config::{InterfaceConfig as C, StaticGroup, Version};
    let mut c = C::default();
    let Some(r) = raw else { return Ok(c) };
    if let Some(v) = &r.version {
        c.version = match int_in(v, 1, 3)? {
            1 => Version::V1,
            2 => Version::V2,
            _ => Version::V3,
        };
    }
    if let Some(q) = r.querier {
        c.querier = q;
    }
    if let Some(v) = &r.robustness {
        // The QRV field has 3 bits; 0 is not a robustness.
        c.robustness = int_in(v, 1, 7)? as u8;
    }
    // The largest times the exponential codes can carry: 31744 s (QQIC), 3174.4 s (MRC).
    if let Some(v) = &r.query_interval {
        c.query_interval = secs_in(v, 1.0, 31744.0)?;
    }
    if let Some(v) = &r.query_response_interval {
        c.query_response_interval = secs_in(v, 0.1, 3174.4)?;
        if c.query_response_interval >= c.query_interval {
            return Err((
                v.span(),
                format!(
                    "must be less than query_interval ({} s) (RFC 3376 section 8.3)",
                    c.query_interval.as_secs_f64()
                ),
            ));
        }
    } else if c.query_response_interval >= c.query_interval {
        c.query_response_interval = c.query_interval / 2;
    }
    c.startup_query_interval = match &r.startup_query_interval {
        Some(v) => secs_in(v, 0.1, 31744.0)?,
        None => c.query_interval / 4,
    };
    c.startup_query_count = match &r.startup_query_count {
        Some(v) => int_in(v, 1, 255)? as u8,
        None => c.robustness,
    };
    if let Some(v) = &r.last_member_query_interval {
        c.last_member_query_interval = secs_in(v, 0.1, 3174.4)?;
    }
    c.last_member_query_count = match &r.last_member_query_count {
        Some(v) => int_in(v, 1, 255)? as u8,
        None => c.robustness,
    };
    if let Some(v) = r.immediate_leave {
        c.immediate_leave = v;
    }
    if let Some(v) = r.require_router_alert {
        c.require_router_alert = v;
    }
    if let Some(v) = &r.max_groups {
        c.max_groups = int_in(v, 0, 1_000_000)? as usize;
    }
    if let Some(v) = &r.max_sources {
        c.max_sources = int_in(v, 0, 1_000_000)? as usize;
    }
    for g in &r.static_groups {
        let net = parse_group_range(&g.group)?;
        if net.prefix() != 32 {
            return Err((
                g.group.span(),
                "a static group is a single group, not a range".into(),
            ));
        }
        let mut sources = Vec::new();
        for s in &g.sources {
            let a: Ipv4Addr = s.get_ref().parse().map_err(|_| {
                (
                    s.span(),
                    format!("`{}` is not an IPv4 address", s.get_ref()),
                )
            })?;
            if a.is_multicast() || a.is_unspecified() || a.is_broadcast() {
                return Err((s.span(), format!("{a} is not a unicast source address")));
            }
            sources.push(a);
        }
        let exclude = match &g.mode {
            None => sources.is_empty(),
            Some(m) => match m.get_ref().as_str() {
                "include" if sources.is_empty() => {
                    return Err((
                        m.span(),
                        "INCLUDE with no sources is no membership; list `sources` or use mode = \"exclude\"".into(),
                    ));
                }
                "include" => false,
                "exclude" => true,
                other => {
                    return Err((
                        m.span(),
                        format!("`{other}` is not a filter mode; use \"include\" or \"exclude\""),
                    ));
                }
            },
        };
        c.static_groups.push(StaticGroup {
            group: net.ip(),
            sources,
            exclude,
        });
    }
    Ok(c)
}

/// `[interface.pim]` with the defaults of RFC 7761 section 4.11 for what is not given.
fn pim_interface(raw: Option<&RawPim>) -> Result<pim::config::InterfaceConfig, Invalid> {
    let mut c = pim::config::InterfaceConfig::default();
    let Some(r) = raw else { return Ok(c) };
    // Times travel in 16-bit fields: seconds for holdtimes, milliseconds for delays.
    if let Some(v) = &r.hello_period {
        c.hello_period = secs_in(v, 1.0, 18000.0)?;
    }
    c.hello_holdtime = match &r.hello_holdtime {
        Some(v) => {
            let h = secs_in(v, 1.0, 65535.0)?;
            if h < c.hello_period {
                return Err((v.span(), "must not be shorter than hello_period".into()));
            }
            h
        }
        // Hello holdtime = 3.5 x Hello_Period (4.11).
        None => c.hello_period * 7 / 2,
    };
    if let Some(v) = &r.triggered_hello_delay {
        c.triggered_hello_delay = secs_in(v, 0.0, 60.0)?;
    }
    if let Some(v) = &r.dr_priority {
        c.dr_priority = int_in(v, 0, i64::from(u32::MAX))? as u32;
    }
    if let Some(v) = &r.propagation_delay {
        c.propagation_delay = secs_in(v, 0.0, 32.767)?;
    }
    if let Some(v) = &r.override_interval {
        c.override_interval = secs_in(v, 0.0, 65.535)?;
    }
    if let Some(v) = r.join_suppression {
        c.disable_join_suppression = !v;
    }
    Ok(c)
}

/// `[interface.dvmrp]` with the defaults of draft-ietf-idmr-dvmrp-v3-11 appendix A for
/// what is not given. As in the draft's table, the dependent times follow the intervals:
/// neighbor_timeout = 3.5 x probe_interval, route_expiration = 2 x report_interval + 20 s,
/// hold_down = 2 x report_interval, garbage_collection = route_expiration + hold_down
/// (with the default intervals these are the draft's 35, 140, 120 and 260 s).
fn dvmrp_interface(raw: Option<&RawDvmrp>) -> Result<dvmrp::config::InterfaceConfig, Invalid> {
    let mut c = dvmrp::config::InterfaceConfig::default();
    let Some(r) = raw else { return Ok(c) };
    const DAY: f64 = 86_400.0;
    if let Some(v) = &r.metric {
        // 32 is infinity (3.4.6).
        c.metric = int_in(v, 1, i64::from(dvmrp::packet::INFINITY) - 1)? as u8;
    }
    if let Some(v) = &r.probe_interval {
        c.probe_interval = secs_in(v, 0.1, 3600.0)?;
    }
    c.neighbor_timeout = match &r.neighbor_timeout {
        Some(v) => {
            let t = secs_in(v, 0.1, DAY)?;
            if t <= c.probe_interval {
                return Err((
                    v.span(),
                    format!(
                        "must be longer than probe_interval ({} s), or every neighbour \
                         times out between its Probes",
                        c.probe_interval.as_secs_f64()
                    ),
                ));
            }
            t
        }
        None => c.probe_interval * 7 / 2,
    };
    if let Some(v) = &r.report_interval {
        c.report_interval = secs_in(v, 0.1, 3600.0)?;
    }
    c.route_expiration = match &r.route_expiration {
        Some(v) => {
            let t = secs_in(v, 0.1, DAY)?;
            if t <= c.report_interval {
                return Err((
                    v.span(),
                    format!(
                        "must be longer than report_interval ({} s), or learned routes \
                         expire between Reports",
                        c.report_interval.as_secs_f64()
                    ),
                ));
            }
            t
        }
        None => c.report_interval * 2 + Duration::from_secs(20),
    };
    c.hold_down = match &r.hold_down {
        Some(v) => secs_in(v, 0.1, DAY)?,
        None => c.report_interval * 2,
    };
    c.garbage_collection = match &r.garbage_collection {
        Some(v) => {
            let t = secs_in(v, 0.1, 2.0 * DAY)?;
            if t < c.route_expiration {
                return Err((
                    v.span(),
                    format!(
                        "must not be shorter than route_expiration ({} s)",
                        c.route_expiration.as_secs_f64()
                    ),
                ));
            }
            t
        }
        None => c.route_expiration + c.hold_down,
    };
    // A host-only LAN: announced, no Probes or Reports.
    c.passive = r.passive.unwrap_or(false);
    // Not a configuration key: tunnels are configured elsewhere.
    c.tunnel_peer = None;
    Ok(c)
}

/// `[dvmrp]` with the crate's defaults (draft appendix A) for what is not given.
fn dvmrp_global(r: &RawDvmrpGlobal) -> Result<dvmrp::config::Config, Invalid> {
    let mut c = dvmrp::config::Config::default();
    for s in &r.extra_routes {
        let text = s.get_ref();
        let net: Ipv4Network = text.parse().map_err(|_| {
            (
                s.span(),
                format!("`{text}` is not an IPv4 prefix (a.b.c.d/len)"),
            )
        })?;
        if !text.contains('/') {
            return Err((
                s.span(),
                format!("`{text}` needs a prefix length, e.g. {text}/24"),
            ));
        }
        if net.network() != net.ip() {
            return Err((
                s.span(),
                format!(
                    "`{text}` has host bits set; did you mean {}/{}?",
                    net.network(),
                    net.prefix()
                ),
            ));
        }
        if net.network().is_multicast() || net.network().is_broadcast() {
            return Err((
                s.span(),
                format!("`{text}` is not a unicast source network"),
            ));
        }
        let key = (net.network(), net.prefix());
        if c.extra_routes.contains(&key) {
            return Err((s.span(), format!("`{text}` is listed twice")));
        }
        c.extra_routes.push(key);
    }
    if let Some(v) = &r.extra_route_metric {
        c.extra_route_metric = int_in(v, 1, i64::from(dvmrp::packet::INFINITY) - 1)? as u8;
    }
    if let Some(v) = &r.min_flash_update_interval {
        c.min_flash_update_interval = secs_in(v, 0.0, 3600.0)?;
    }
    if let Some(v) = &r.prune_lifetime {
        // Carried in whole seconds (3.5.6); up to a day.
        c.prune_lifetime = Duration::from_secs(int_in(v, 1, 86_400)? as u64);
    }
    if let Some(v) = &r.prune_retransmit {
        c.prune_retransmit = secs_in(v, 0.1, 3600.0)?;
    }
    if let Some(v) = &r.graft_retransmit {
        c.graft_retransmit = secs_in(v, 0.1, 3600.0)?;
    }
    if let Some(v) = &r.cache_lifetime {
        c.cache_lifetime = secs_in(v, 1.0, 86_400.0)?;
    }
    Ok(c)
}

/// A multicast group or group prefix ("239.1.1.1" or "239.0.0.0/8").
fn parse_group_range(s: &Spanned<String>) -> Result<Ipv4Network, Invalid> {
    let text = s.get_ref();
    let net: Ipv4Network = if text.contains('/') {
        text.parse()
            .map_err(|_| (s.span(), format!("`{text}` is not an IPv4 prefix")))?
    } else {
        let a: Ipv4Addr = text
            .parse()
            .map_err(|_| (s.span(), format!("`{text}` is not an IPv4 address")))?;
        Ipv4Network::new(a, 32).expect("/32 is valid")
    };
    if net.network() != net.ip() {
        return Err((
            s.span(),
            format!(
                "`{text}` has host bits set; did you mean {}/{}?",
                net.network(),
                net.prefix()
            ),
        ));
    }
    if !net.network().is_multicast() || net.prefix() < 4 {
        return Err((
            s.span(),
            format!("`{text}` is not within the multicast range 224.0.0.0/4"),
        ));
    }
    let o = net.network().octets();
    if net.prefix() >= 24 && o[0] == 224 && o[1] == 0 && o[2] == 0 {
        return Err((
            s.span(),
            format!("`{text}` is link-local (224.0.0.0/24) and never routed"),
        ));
    }
    Ok(net)
}

/// Accepts a plain level or a tracing `EnvFilter` directive list.
pub fn check_log_level(level: &str) -> Result<(), String> {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    // A bare word would be taken by EnvFilter as a target name and silently log nothing.
    for directive in level.split(',') {
        if !directive.contains('=')
            && !LEVELS.contains(&directive.trim().to_ascii_lowercase().as_str())
        {
            return Err(format!(
                "`{level}` is not a log level (off, error, warn, info, debug, trace) or a filter like `info,router=debug`"
            ));
        }
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(level)
        .map(|_| ())
        .map_err(|e| {
            format!("`{level}` is not a log level (error, warn, info, debug, trace) or filter: {e}")
        })
}

/// Turn a byte span into file, line, column, table and key.
fn error_at(path: &Path, text: &str, span: Range<usize>, message: String) -> ConfigError {
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_no = text[..line_start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let source_line = text[line_start..].lines().next().unwrap_or("").to_owned();
    // The table: the last header line at or above the error.
    let table = std::iter::once(source_line.as_str())
        .chain(text[..line_start].lines().rev())
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.split('#').next().unwrap_or(l).trim().to_owned());
    // The key: the text before '=' on the error's line, unless the error is on a header.
    let key = source_line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_owned())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    let mut where_ = String::new();
    if let Some(t) = table {
        where_.push_str(&t);
    }
    if let Some(k) = key {
        if !where_.is_empty() {
            where_.push(' ');
        }
        where_.push_str(&format!("`{k}`"));
    }
    ConfigError {
        file: path.to_owned(),
        line: line_no,
        column,
        key: where_,
        message,
        source_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[router]
name = "r1"
control_socket = "/tmp/r1.sock"
log_level = "debug"
table = 10
cache_timeout = 60

[[interface]]
name = "eth0"

[[interface]]
name = "eth1"
ttl_threshold = 8
boundaries = ["239.0.0.0/8"]

[[route]]
source = "10.0.1.2"
group = "232.1.1.1"
input = "eth0"
outputs = ["eth1"]

[[route]]
group = "225.1.0.0/16"
input = "eth1"
outputs = ["eth0"]
"#;

    fn err(text: &str) -> ConfigError {
        parse(Path::new("r1.toml"), text).expect_err("must be rejected")
    }

    #[test]
    fn good_file_parses() {
        let c = parse(Path::new("r1.toml"), GOOD).unwrap();
        assert_eq!(c.name, "r1");
        assert_eq!(c.control_socket, PathBuf::from("/tmp/r1.sock"));
        assert_eq!(c.log_level, "debug");
        assert_eq!(c.table, Some(10));
        assert_eq!(c.cache_timeout, Duration::from_secs(60));
        assert_eq!(c.interfaces.len(), 2);
        let e1 = &c.interfaces["eth1"];
        assert_eq!(e1.ttl_threshold, 8);
        assert!(e1.blocks("239.255.0.1".parse().unwrap()));
        assert!(!e1.blocks("238.255.0.1".parse().unwrap()));
        assert_eq!(c.interfaces["eth0"].ttl_threshold, 1);
        assert_eq!(c.routes.len(), 2);
        assert_eq!(c.routes[0].source, Some("10.0.1.2".parse().unwrap()));
        assert_eq!(c.routes[0].group.prefix(), 32);
        assert_eq!(c.routes[1].source, None);
        assert_eq!(c.routes[1].group.to_string(), "225.1.0.0/16");
    }

    #[test]
    fn empty_file_has_defaults() {
        let c = parse(Path::new("x.toml"), "").unwrap();
        assert_eq!(c.name, "mrouterd");
        assert_eq!(c.control_socket, PathBuf::from(DEFAULT_CONTROL_SOCKET));
        assert_eq!(c.log_level, "info");
        assert_eq!(c.table, None);
        assert_eq!(c.cache_timeout, DEFAULT_CACHE_TIMEOUT);
    }

    /// Every rejection: (file text, line, key, words the message must contain).
    #[test]
    fn every_error_names_line_key_and_problem() {
        let cases: &[(&str, usize, &str, &str)] = &[
            (
                "[router]\nnmae = \"x\"\n",
                2,
                "[router] `nmae`",
                "unknown field `nmae`",
            ),
            ("[routr]\n", 1, "[routr]", "unknown field `routr`"),
            ("[router]\nname = 5\n", 2, "[router] `name`", "invalid type"),
            (
                "[router]\nname = \"a b\"\n",
                2,
                "[router] `name`",
                "without spaces",
            ),
            (
                "[router]\ncontrol_socket = \"\"\n",
                2,
                "[router] `control_socket`",
                "must not be empty",
            ),
            (
                "[router]\nlog_level = \"loud\"\n",
                2,
                "[router] `log_level`",
                "not a log level",
            ),
            (
                "[router]\ntable = 0\n",
                2,
                "[router] `table`",
                "between 1 and",
            ),
            (
                "[router]\ncache_timeout = 0\n",
                2,
                "[router] `cache_timeout`",
                "between 1 and 86400",
            ),
            (
                "[router]\nname = \"x\"\nname = \"y\"\n",
                3,
                "[router] `name`",
                "duplicate key",
            ),
            (
                "[[interface]]\nname = \"eth0\"\nttl = 3\n",
                3,
                "[[interface]] `ttl`",
                "unknown field `ttl`",
            ),
            (
                "[[interface]]\nttl_threshold = 2\n",
                1,
                "[[interface]]",
                "missing field `name`",
            ),
            (
                "[[interface]]\nname = \"this-name-is-too-long\"\n",
                2,
                "[[interface]] `name`",
                "not a valid Linux interface name",
            ),
            (
                "[[interface]]\nname = \"eth0\"\n[[interface]]\nname = \"eth0\"\n",
                4,
                "[[interface]] `name`",
                "listed twice",
            ),
            (
                "[[interface]]\nname = \"eth0\"\nttl_threshold = 0\n",
                3,
                "[[interface]] `ttl_threshold`",
                "between 1 and 255, got 0",
            ),
            (
                "[[interface]]\nname = \"eth0\"\nttl_threshold = 300\n",
                3,
                "[[interface]] `ttl_threshold`",
                "got 300",
            ),
            (
                "[[interface]]\nname = \"eth0\"\nprotocols = [\"ospf\"]\n",
                3,
                "[[interface]] `protocols`",
                "unknown protocol `ospf`",
            ),
            (
                "[[interface]]\nname = \"eth0\"\nprotocols = [\"dvmrp\", \"dvmrp\"]\n",
                3,
                "[[interface]] `protocols`",
                "listed twice",
            ),
            (
                "[[interface]]\nname = \"eth0\"\nboundaries = [\"10.0.0.0/8\"]\n",
                3,
                "[[interface]] `boundaries`",
                "not within the multicast range",
            ),
            (
                "[[interface]]\nname = \"eth0\"\nboundaries = [\"239.1.0.0/8\"]\n",
                3,
                "[[interface]] `boundaries`",
                "host bits set; did you mean 239.0.0.0/8",
            ),
            (
                "[[interface]]\nname = \"eth0\"\nboundaries = [\"nope\"]\n",
                3,
                "[[interface]] `boundaries`",
                "not an IPv4 address",
            ),
            (
                "[[interface]]\nname = \"eth0\"\nboundaries = [\"239.0.0.0/40\"]\n",
                3,
                "[[interface]] `boundaries`",
                "not an IPv4 prefix",
            ),
        ];
        for (text, line, key, words) in cases {
            let e = err(text);
            assert_eq!(e.line, *line, "line for {text:?}: {e}");
            assert_eq!(e.key, *key, "key for {text:?}: {e}");
            assert!(
                e.message.contains(words),
                "message for {text:?} lacks {words:?}: {e}"
            );
            assert!(
                e.to_string().starts_with(&format!("r1.toml:{line}:")),
                "{e}"
            );
        }
    }

    #[test]
    fn route_errors() {
        let base = "[[interface]]\nname = \"eth0\"\n[[interface]]\nname = \"eth1\"\n[[route]]\n";
        let cases: &[(&str, &str, &str)] = &[
            (
                "group = \"239.1.1.1\"\ninput = \"eth0\"\noutputs = [\"eth9\"]\n",
                "`outputs`",
                "`eth9` is not listed in any [[interface]]",
            ),
            (
                "group = \"239.1.1.1\"\ninput = \"eth7\"\noutputs = [\"eth1\"]\n",
                "`input`",
                "`eth7` is not listed",
            ),
            (
                "group = \"239.1.1.1\"\ninput = \"eth0\"\noutputs = [\"eth0\"]\n",
                "`outputs`",
                "is the input interface",
            ),
            (
                "group = \"239.1.1.1\"\ninput = \"eth0\"\noutputs = []\n",
                "`outputs`",
                "at least one output",
            ),
            (
                "group = \"239.1.1.1\"\ninput = \"eth0\"\noutputs = [\"eth1\", \"eth1\"]\n",
                "`outputs`",
                "listed twice",
            ),
            (
                "group = \"10.1.1.1\"\ninput = \"eth0\"\noutputs = [\"eth1\"]\n",
                "`group`",
                "not within the multicast range",
            ),
            (
                "group = \"224.0.0.5\"\ninput = \"eth0\"\noutputs = [\"eth1\"]\n",
                "`group`",
                "link-local",
            ),
            (
                "source = \"239.0.0.1\"\ngroup = \"239.1.1.1\"\ninput = \"eth0\"\noutputs = [\"eth1\"]\n",
                "`source`",
                "not a unicast source",
            ),
            (
                "source = \"10.0.0.300\"\ngroup = \"239.1.1.1\"\ninput = \"eth0\"\noutputs = [\"eth1\"]\n",
                "`source`",
                "not an IPv4 address",
            ),
            (
                "source = \"10.0.0.1\"\ngroup = \"239.1.0.0/16\"\ninput = \"eth0\"\noutputs = [\"eth1\"]\n",
                "`group`",
                "needs a single group",
            ),
            (
                "group = \"239.1.1.1\"\ninput = \"eth0\"\n",
                "[[route]]",
                "missing field `outputs`",
            ),
            (
                "group = \"239.1.1.1\"\ninput = \"eth0\"\noutputs = [\"eth1\"]\n[[route]]\ngroup = \"239.1.1.1\"\ninput = \"eth1\"\noutputs = [\"eth0\"]\n",
                "`group`",
                "configured twice",
            ),
        ];
        for (tail, key, words) in cases {
            let text = format!("{base}{tail}");
            let e = err(&text);
            assert!(e.key.ends_with(key), "key for {tail:?}: {e}");
            assert!(
                e.message.contains(words),
                "message for {tail:?} lacks {words:?}: {e}"
            );
            assert!(e.line >= 5, "{e}");
        }
    }

    #[test]
    fn igmp_settings_and_defaults() {
        let c = parse(
            Path::new("r1.toml"),
            "[igmp]\nssm_range = \"232.1.0.0/16\"\n\
             [[interface]]\nname = \"eth0\"\nprotocols = [\"igmp\"]\n\
             [interface.igmp]\nversion = 2\nquery_interval = 10\nquery_response_interval = 2.5\n\
             last_member_query_interval = 0.2\nimmediate_leave = true\nquerier = false\n\
             static_groups = [ { group = \"239.1.1.1\" }, { group = \"232.1.1.1\", sources = [\"10.0.0.1\"] } ]\n\
             [[interface]]\nname = \"eth1\"\nprotocols = [\"igmp\"]\n\
             [[interface]]\nname = \"eth2\"\n",
        )
        .unwrap();
        assert_eq!(c.igmp.ssm_range, ("232.1.0.0".parse().unwrap(), 16));
        let g = c.interfaces["eth0"].igmp.as_ref().unwrap();
        assert_eq!(g.version, igmp::config::Version::V2);
        assert_eq!(g.query_interval, Duration::from_secs(10));
        assert_eq!(g.query_response_interval, Duration::from_millis(2500));
        assert_eq!(
            g.startup_query_interval,
            Duration::from_millis(2500),
            "QI/4"
        );
        assert_eq!(g.last_member_query_interval, Duration::from_millis(200));
        assert_eq!(
            (g.startup_query_count, g.last_member_query_count),
            (2, 2),
            "= robustness"
        );
        assert!(g.immediate_leave && !g.querier);
        assert_eq!(g.static_groups.len(), 2);
        assert!(g.static_groups[0].exclude && !g.static_groups[1].exclude);
        // Defaults of RFC 3376 section 8.
        let d = c.interfaces["eth1"].igmp.as_ref().unwrap();
        assert_eq!(d, &igmp::config::InterfaceConfig::default());
        assert_eq!(d.query_interval, Duration::from_secs(125));
        assert!(c.interfaces["eth2"].igmp.is_none());
    }

    #[test]
    fn igmp_errors() {
        let base = "[[interface]]\nname = \"eth0\"\nprotocols = [\"igmp\"]\n[interface.igmp]\n";
        let cases: &[(&str, &str, &str)] = &[
            ("version = 4\n", "`version`", "between 1 and 3, got 4"),
            ("robustness = 0\n", "`robustness`", "between 1 and 7"),
            (
                "query_interval = 0\n",
                "`query_interval`",
                "between 1 and 31744 seconds",
            ),
            (
                "query_interval = 10\nquery_response_interval = 10\n",
                "`query_response_interval`",
                "less than query_interval",
            ),
            (
                "query_interval = \"fast\"\n",
                "`query_interval`",
                "did not match any variant",
            ),
            ("querier = 1\n", "`querier`", "invalid type"),
            ("speed = 1\n", "`speed`", "unknown field `speed`"),
            (
                "static_groups = [ { group = \"10.0.0.1\" } ]\n",
                "`static_groups`",
                "not within the multicast range",
            ),
            (
                "static_groups = [ { group = \"239.1.1.1\", mode = \"include\" } ]\n",
                "`static_groups`",
                "INCLUDE with no sources",
            ),
            (
                "static_groups = [ { group = \"239.1.1.1\", mode = \"both\" } ]\n",
                "`static_groups`",
                "not a filter mode",
            ),
            (
                "static_groups = [ { group = \"239.1.1.1\", sources = [\"224.1.1.1\"] } ]\n",
                "`static_groups`",
                "not a unicast source",
            ),
        ];
        for (tail, key, words) in cases {
            let e = err(&format!("{base}{tail}"));
            assert!(e.key.ends_with(key), "key for {tail:?}: {e}");
            assert!(
                e.message.contains(words),
                "message for {tail:?} lacks {words:?}: {e}"
            );
            assert!(e.line >= 5, "{e}");
        }
        let e = err("[[interface]]\nname = \"eth0\"\n[interface.igmp]\nversion = 2\n");
        assert!(e.message.contains("`igmp` is not in `protocols`"), "{e}");
        let e = err("[igmp]\nssm_range = \"10.0.0.0/8\"\n");
        assert_eq!((e.line, e.key.as_str()), (2, "[igmp] `ssm_range`"), "{e}");
    }

    #[test]
    fn pim_settings_and_errors() {
        let c = parse(
            Path::new("r1.toml"),
            "[pim]\nrp = [ { group = \"239.0.0.0/8\", address = \"10.0.0.1\" } ]\n\
             spt_switchover = \"threshold\"\nspt_threshold_kbps = 64\njoin_prune_period = 10\n\
             [[interface]]\nname = \"eth0\"\nprotocols = [\"pim\"]\n\
             [interface.pim]\nhello_period = 1\ndr_priority = 7\njoin_suppression = false\n",
        )
        .unwrap();
        assert_eq!(
            c.pim.rp_of("239.1.1.1".parse().unwrap()),
            Some("10.0.0.1".parse().unwrap())
        );
        assert_eq!(
            c.pim.spt_switchover,
            pim::config::SptPolicy::Threshold { kbps: 64 }
        );
        assert_eq!(c.pim.join_prune_holdtime, Duration::from_secs(35));
        let i = c.interfaces["eth0"].pim.as_ref().unwrap();
        assert_eq!(i.hello_holdtime, Duration::from_millis(3500));
        assert_eq!(i.dr_priority, 7);
        assert!(i.disable_join_suppression);
        let cases: &[(&str, &str, &str)] = &[
            (
                "[pim]\nspt_switchover = \"sometimes\"\n",
                "`spt_switchover`",
                "not a policy",
            ),
            (
                "[pim]\nspt_switchover = \"threshold\"\n",
                "`spt_switchover`",
                "needs `spt_threshold_kbps`",
            ),
            (
                "[pim]\nspt_threshold_kbps = 5\n",
                "`spt_threshold_kbps`",
                "only with",
            ),
            (
                "[pim]\nrp = [ { group = \"239.0.0.0/8\", address = \"239.1.1.1\" } ]\n",
                "`rp`",
                "not a unicast RP",
            ),
            (
                "[pim]\nrp = [ { group = \"10.0.0.0/8\", address = \"10.1.1.1\" } ]\n",
                "`rp`",
                "multicast range",
            ),
            (
                "[[interface]]\nname = \"eth0\"\nprotocols = [\"pim\"]\n[interface.pim]\nhello_period = 10\nhello_holdtime = 5\n",
                "`hello_holdtime`",
                "not be shorter",
            ),
            (
                "[[interface]]\nname = \"eth0\"\n[interface.pim]\ndr_priority = 2\n",
                "[interface.pim]",
                "`pim` is not in `protocols`",
            ),
        ];
        for (text, key, words) in cases {
            let e = err(text);
            assert!(e.key.ends_with(key), "key for {text:?}: {e}");
            assert!(
                e.message.contains(words),
                "message for {text:?} lacks {words:?}: {e}"
            );
        }
    }

    #[test]
    fn tunnels_are_interfaces_with_endpoints() {
        let c = parse(
            Path::new("r1.toml"),
            "[[interface]]\nname = \"eth0\"\n\
             [[tunnel]]\nname = \"tun0\"\nlocal = \"10.0.2.1\"\nremote = \"10.0.3.2\"\n\
             protocols = []\nmetric = 3\nttl_threshold = 16\nboundaries = [\"239.0.0.0/8\"]\n\
             mode = \"userspace\"\n\
             [[tunnel]]\nname = \"mbone\"\nlocal = \"10.0.2.1\"\nremote = \"192.0.2.7\"\n\
             protocols = []\n\
             [[route]]\nsource = \"10.0.1.1\"\ngroup = \"239.1.1.1\"\ninput = \"eth0\"\n\
             outputs = [\"tun0\", \"mbone\"]\n",
        )
        .unwrap();
        assert_eq!(c.interfaces.len(), 3);
        assert!(c.interfaces["eth0"].tunnel.is_none());
        let t = &c.interfaces["tun0"];
        assert_eq!(
            t.tunnel,
            Some(TunnelConfig {
                local: "10.0.2.1".parse().unwrap(),
                remote: "10.0.3.2".parse().unwrap(),
                metric: 3,
                mode: TunnelMode::Userspace,
            })
        );
        assert_eq!(t.ttl_threshold, 16);
        assert!(t.blocks("239.9.9.9".parse().unwrap()));
        assert!(t.protocols.is_empty() && t.igmp.is_none() && t.pim.is_none());
        // Defaults.
        let m = &c.interfaces["mbone"];
        let mt = m.tunnel.as_ref().unwrap();
        assert_eq!(
            (mt.metric, mt.mode, m.ttl_threshold),
            (1, TunnelMode::Auto, 1)
        );
        assert_eq!(
            c.routes[0].outputs,
            BTreeSet::from(["mbone".to_owned(), "tun0".to_owned()])
        );
    }

    #[test]
    fn tunnel_errors() {
        let t = |tail: &str| {
            format!(
                "[[interface]]\nname = \"eth0\"\n[[tunnel]]\nname = \"tun0\"\n\
                 local = \"10.0.0.1\"\nremote = \"10.0.0.2\"\nprotocols = []\n{tail}"
            )
        };
        let cases: Vec<(String, usize, &str, &str)> = vec![
            (
                "[[tunnel]]\nname = \"t\"\nremote = \"10.0.0.2\"\n".into(),
                1,
                "[[tunnel]]",
                "missing field `local`",
            ),
            (
                "[[tunnel]]\nname = \"t\"\nlocal = \"10.0.0.2\"\n".into(),
                1,
                "[[tunnel]]",
                "missing field `remote`",
            ),
            (t("speed = 3\n"), 8, "[[tunnel]] `speed`", "unknown field `speed`"),
            (
                "[[tunnel]]\nname = \"a-very-long-tunnel\"\nlocal = \"10.0.0.1\"\nremote = \"10.0.0.2\"\n"
                    .into(),
                2,
                "[[tunnel]] `name`",
                "not a valid Linux interface name",
            ),
            (
                "[[interface]]\nname = \"eth0\"\n[[tunnel]]\nname = \"eth0\"\nlocal = \"10.0.0.1\"\nremote = \"10.0.0.2\"\nprotocols = []\n"
                    .into(),
                4,
                "[[tunnel]] `name`",
                "also an [[interface]]",
            ),
            (
                t("[[tunnel]]\nname = \"tun0\"\nlocal = \"10.0.0.1\"\nremote = \"10.0.0.3\"\nprotocols = []\n"),
                9,
                "[[tunnel]] `name`",
                "listed twice",
            ),
            (
                t("[[tunnel]]\nname = \"tun1\"\nlocal = \"10.0.0.1\"\nremote = \"10.0.0.2\"\nprotocols = []\n"),
                11,
                "[[tunnel]] `remote`",
                "tunnel `tun0` has the same endpoints",
            ),
            (
                "[[tunnel]]\nname = \"t\"\nlocal = \"10.0.0.1\"\nremote = \"10.0.0.1\"\n".into(),
                4,
                "[[tunnel]] `remote`",
                "the two ends of a tunnel must differ",
            ),
            (
                "[[tunnel]]\nname = \"t\"\nlocal = \"239.1.1.1\"\nremote = \"10.0.0.1\"\n".into(),
                3,
                "[[tunnel]] `local`",
                "not a unicast address",
            ),
            (
                "[[tunnel]]\nname = \"t\"\nlocal = \"10.0.0.1\"\nremote = \"0.0.0.0\"\n".into(),
                4,
                "[[tunnel]] `remote`",
                "not a unicast address",
            ),
            (
                "[[tunnel]]\nname = \"t\"\nlocal = \"10.0.0.1\"\nremote = \"peer\"\n".into(),
                4,
                "[[tunnel]] `remote`",
                "not an IPv4 address",
            ),
            (t("metric = 32\n"), 8, "[[tunnel]] `metric`", "between 1 and 31, got 32"),
            (t("metric = 0\n"), 8, "[[tunnel]] `metric`", "between 1 and 31, got 0"),
            (
                t("ttl_threshold = 0\n"),
                8,
                "[[tunnel]] `ttl_threshold`",
                "between 1 and 255, got 0",
            ),
            (
                t("boundaries = [\"10.0.0.0/8\"]\n"),
                8,
                "[[tunnel]] `boundaries`",
                "not within the multicast range",
            ),
            (t("mode = \"ipip\"\n"), 8, "[[tunnel]] `mode`", "not a mode"),
            (
                "[[interface]]\nname = \"eth0\"\nprotocols = [\"pim\"]\n[[tunnel]]\nname = \"t\"\nlocal = \"10.0.0.1\"\nremote = \"10.0.0.2\"\n"
                    .into(),
                5,
                "[[tunnel]] `name`",
                "runs `dvmrp` by default, and `pim` runs on `eth0`",
            ),
            (
                "[[tunnel]]\nname = \"t\"\nlocal = \"10.0.0.1\"\nremote = \"10.0.0.2\"\n[tunnel.dvmrp]\nmetric = 3\n"
                    .into(),
                6,
                "[tunnel.dvmrp] `metric`",
                "the `metric` of its [[tunnel]] table",
            ),
            (
                "[[tunnel]]\nname = \"t\"\nlocal = \"10.0.0.1\"\nremote = \"10.0.0.2\"\nprotocols = []\n[tunnel.dvmrp]\nprobe_interval = 3\n"
                    .into(),
                6,
                "[tunnel.dvmrp]",
                "`dvmrp` is not in `protocols`",
            ),
            (
                "[[tunnel]]\nname = \"t\"\nlocal = \"10.0.0.1\"\nremote = \"10.0.0.2\"\nprotocols = [\"ospf\"]\n"
                    .into(),
                5,
                "[[tunnel]] `protocols`",
                "unknown protocol",
            ),
        ];
        for (text, line, key, words) in &cases {
            let e = err(text);
            assert_eq!(e.line, *line, "line for {text:?}: {e}");
            assert_eq!(e.key, *key, "key for {text:?}: {e}");
            assert!(
                e.message.contains(words),
                "message for {text:?} lacks {words:?}: {e}"
            );
        }
        // The default protocol is DVMRP: refused while this build cannot run it, with the
        // way out in the message.
        if !IMPLEMENTED_PROTOCOLS.contains(&ProtocolName::Dvmrp) {
            let e = err("[[tunnel]]\nname = \"t\"\nlocal = \"10.0.0.1\"\nremote = \"10.0.0.2\"\n");
            assert_eq!((e.line, e.key.as_str()), (2, "[[tunnel]] `name`"), "{e}");
            assert!(e.message.contains("protocols = []"), "{e}");
        }
        // A route may name a tunnel; one that names neither kind says so.
        let e = err(&t(
            "[[route]]\ngroup = \"239.1.1.1\"\ninput = \"eth0\"\noutputs = [\"tun9\"]\n",
        ));
        assert!(
            e.message
                .contains("not listed in any [[interface]] or [[tunnel]]"),
            "{e}"
        );
    }

    #[test]
    fn igmp_only_interfaces_of_a_dvmrp_router_are_passive_dvmrp_interfaces() {
        let c = parse(
            Path::new("r1.toml"),
            "[[interface]]\nname = \"eth0\"\nprotocols = [\"dvmrp\"]\n\
             [[interface]]\nname = \"eth1\"\nprotocols = [\"igmp\"]\nttl_threshold = 4\n\
             boundaries = [\"239.192.0.0/14\"]\n\
             [[interface]]\nname = \"eth2\"\nprotocols = [\"igmp\", \"dvmrp\"]\n\
             [interface.dvmrp]\npassive = true\n\
             [[interface]]\nname = \"eth3\"\n",
        )
        .unwrap();
        let d = |n: &str| c.interfaces[n].dvmrp.clone();
        assert!(!d("eth0").unwrap().passive);
        let eth1 = d("eth1").expect("IGMP-only on a DVMRP router: passive DVMRP");
        assert!(eth1.passive);
        assert_eq!(eth1.ttl_threshold, 4);
        assert_eq!(eth1.boundaries, [("239.192.0.0".parse().unwrap(), 14)]);
        assert!(d("eth2").unwrap().passive, "explicit");
        assert!(d("eth3").is_none(), "no IGMP, no DVMRP: static routes only");
        // Without DVMRP on the router, IGMP-only interfaces stay IGMP-only.
        let c = parse(
            Path::new("r1.toml"),
            "[[interface]]\nname = \"eth1\"\nprotocols = [\"igmp\"]\n",
        )
        .unwrap();
        assert!(c.interfaces["eth1"].dvmrp.is_none());
    }

    #[test]
    fn dvmrp_settings_and_defaults() {
        let c = parse(
            Path::new("r1.toml"),
            "[dvmrp]\nextra_routes = [\"192.168.0.0/16\", \"10.9.0.0/24\"]\nextra_route_metric = 3\n\
             min_flash_update_interval = 0.5\nprune_lifetime = 600\nprune_retransmit = 1.5\n\
             graft_retransmit = 2\ncache_lifetime = 60\n\
             [[interface]]\nname = \"eth0\"\nprotocols = [\"igmp\", \"dvmrp\"]\n\
             [interface.dvmrp]\nmetric = 4\nprobe_interval = 1\nreport_interval = 2.5\n\
             [[interface]]\nname = \"eth1\"\nprotocols = [\"dvmrp\"]\nttl_threshold = 8\n\
             [interface.dvmrp]\nneighbor_timeout = 12\nroute_expiration = 70\nhold_down = 30\n\
             garbage_collection = 100\n\
             [[tunnel]]\nname = \"mbone0\"\nlocal = \"10.0.2.1\"\nremote = \"10.0.3.2\"\n\
             metric = 3\nttl_threshold = 16\n[tunnel.dvmrp]\nprobe_interval = 2\n\
             [[interface]]\nname = \"eth2\"\nprotocols = [\"dvmrp\"]\n\
             [[interface]]\nname = \"eth3\"\n",
        )
        .unwrap();
        let g = &c.dvmrp;
        assert_eq!(
            g.extra_routes,
            [
                ("192.168.0.0".parse().unwrap(), 16),
                ("10.9.0.0".parse().unwrap(), 24)
            ]
        );
        assert_eq!(g.extra_route_metric, 3);
        assert_eq!(g.min_flash_update_interval, Duration::from_millis(500));
        assert_eq!(g.prune_lifetime, Duration::from_secs(600));
        assert_eq!(g.prune_retransmit, Duration::from_millis(1500));
        assert_eq!(g.graft_retransmit, Duration::from_secs(2));
        assert_eq!(g.cache_lifetime, Duration::from_secs(60));
        assert_eq!(
            g.max_report_len,
            dvmrp::config::Config::default().max_report_len
        );
        // The dependent times follow the intervals given (draft appendix A).
        let e0 = c.interfaces["eth0"].dvmrp.as_ref().unwrap();
        assert_eq!(e0.metric, 4);
        assert_eq!(e0.probe_interval, Duration::from_secs(1));
        assert_eq!(e0.neighbor_timeout, Duration::from_millis(3500));
        assert_eq!(e0.report_interval, Duration::from_millis(2500));
        assert_eq!(e0.route_expiration, Duration::from_secs(25));
        assert_eq!(e0.hold_down, Duration::from_secs(5));
        assert_eq!(e0.garbage_collection, Duration::from_secs(30));
        assert_eq!(e0.tunnel_peer, None);
        assert_eq!(e0.ttl_threshold, 1);
        assert!(c.interfaces["eth0"].igmp.is_some());
        let e1 = c.interfaces["eth1"].dvmrp.as_ref().unwrap();
        // The interface's TTL threshold reaches DVMRP (for mrinfo's Neighbors2).
        assert_eq!(e1.ttl_threshold, 8);
        assert_eq!(e1.neighbor_timeout, Duration::from_secs(12));
        assert_eq!(e1.route_expiration, Duration::from_secs(70));
        assert_eq!(e1.hold_down, Duration::from_secs(30));
        assert_eq!(e1.garbage_collection, Duration::from_secs(100));
        // A tunnel: its peer, its metric and its TTL threshold.
        let t = c.interfaces["mbone0"].dvmrp.as_ref().unwrap();
        assert_eq!(
            (t.tunnel_peer, t.metric, t.ttl_threshold, t.probe_interval),
            (
                Some("10.0.3.2".parse().unwrap()),
                3,
                16,
                Duration::from_secs(2)
            )
        );
        // No table: the draft's defaults, exactly the crate's.
        assert_eq!(
            c.interfaces["eth2"].dvmrp.as_ref().unwrap(),
            &dvmrp::config::InterfaceConfig::default()
        );
        assert!(c.interfaces["eth3"].dvmrp.is_none());
        let c = parse(Path::new("r1.toml"), "").unwrap();
        assert_eq!(c.dvmrp, dvmrp::config::Config::default());
    }

    #[test]
    fn dvmrp_errors() {
        let iface = "[[interface]]\nname = \"eth0\"\nprotocols = [\"dvmrp\"]\n[interface.dvmrp]\n";
        // (file text, line, key, words): every error names its line and key.
        let cases: &[(String, usize, &str, &str)] = &[
            (
                format!("{iface}metric = 0\n"),
                5,
                "[interface.dvmrp] `metric`",
                "between 1 and 31, got 0",
            ),
            (
                format!("{iface}metric = 32\n"),
                5,
                "[interface.dvmrp] `metric`",
                "between 1 and 31, got 32",
            ),
            (
                format!("{iface}probe_interval = 0\n"),
                5,
                "[interface.dvmrp] `probe_interval`",
                "between 0.1 and 3600 seconds",
            ),
            (
                format!("{iface}probe_interval = \"often\"\n"),
                5,
                "[interface.dvmrp] `probe_interval`",
                "did not match any variant",
            ),
            (
                format!("{iface}probe_interval = 10\nneighbor_timeout = 10\n"),
                6,
                "[interface.dvmrp] `neighbor_timeout`",
                "longer than probe_interval (10 s)",
            ),
            (
                format!("{iface}report_interval = 4000\n"),
                5,
                "[interface.dvmrp] `report_interval`",
                "between 0.1 and 3600 seconds, got 4000",
            ),
            (
                format!("{iface}report_interval = 30\nroute_expiration = 20\n"),
                6,
                "[interface.dvmrp] `route_expiration`",
                "longer than report_interval (30 s)",
            ),
            (
                format!("{iface}hold_down = -1\n"),
                5,
                "[interface.dvmrp] `hold_down`",
                "between 0.1 and 86400 seconds",
            ),
            (
                format!("{iface}route_expiration = 100\ngarbage_collection = 50\n"),
                6,
                "[interface.dvmrp] `garbage_collection`",
                "not be shorter than route_expiration (100 s)",
            ),
            (
                format!("{iface}tunnel_peer = \"10.0.0.1\"\n"),
                5,
                "[interface.dvmrp] `tunnel_peer`",
                "unknown field `tunnel_peer`",
            ),
            (
                "[[interface]]\nname = \"eth0\"\n[interface.dvmrp]\nmetric = 2\n".into(),
                3,
                "[interface.dvmrp]",
                "`dvmrp` is not in `protocols`",
            ),
            (
                "[dvmrp]\nextra_routes = [\"10.1.0.0/16\", \"10.1.2.3/16\"]\n".into(),
                2,
                "[dvmrp] `extra_routes`",
                "host bits set; did you mean 10.1.0.0/16",
            ),
            (
                "[dvmrp]\nextra_routes = [\"10.1.0.0\"]\n".into(),
                2,
                "[dvmrp] `extra_routes`",
                "needs a prefix length",
            ),
            (
                "[dvmrp]\nextra_routes = [\"10.1.0.0/33\"]\n".into(),
                2,
                "[dvmrp] `extra_routes`",
                "not an IPv4 prefix",
            ),
            (
                "[dvmrp]\nextra_routes = [\"239.0.0.0/8\"]\n".into(),
                2,
                "[dvmrp] `extra_routes`",
                "not a unicast source network",
            ),
            (
                "[dvmrp]\nextra_routes = [\"10.1.0.0/16\", \"10.1.0.0/16\"]\n".into(),
                2,
                "[dvmrp] `extra_routes`",
                "listed twice",
            ),
            (
                "[dvmrp]\nextra_route_metric = 40\n".into(),
                2,
                "[dvmrp] `extra_route_metric`",
                "between 1 and 31, got 40",
            ),
            (
                "[dvmrp]\nmin_flash_update_interval = -2\n".into(),
                2,
                "[dvmrp] `min_flash_update_interval`",
                "between 0 and 3600 seconds",
            ),
            (
                "[dvmrp]\nprune_lifetime = 0\n".into(),
                2,
                "[dvmrp] `prune_lifetime`",
                "between 1 and 86400, got 0",
            ),
            (
                "[dvmrp]\nprune_lifetime = 2.5\n".into(),
                2,
                "[dvmrp] `prune_lifetime`",
                "invalid type",
            ),
            (
                "[dvmrp]\nprune_retransmit = 0\n".into(),
                2,
                "[dvmrp] `prune_retransmit`",
                "between 0.1 and 3600 seconds",
            ),
            (
                "[dvmrp]\ngraft_retransmit = 7200\n".into(),
                2,
                "[dvmrp] `graft_retransmit`",
                "between 0.1 and 3600 seconds",
            ),
            (
                "[dvmrp]\ncache_lifetime = 0.5\n".into(),
                2,
                "[dvmrp] `cache_lifetime`",
                "between 1 and 86400 seconds",
            ),
            (
                "[dvmrp]\nmax_report_len = 1000\n".into(),
                2,
                "[dvmrp] `max_report_len`",
                "unknown field `max_report_len`",
            ),
        ];
        for (text, line, key, words) in cases {
            let e = err(text);
            assert_eq!(e.line, *line, "line for {text:?}: {e}");
            assert_eq!(e.key, *key, "key for {text:?}: {e}");
            assert!(
                e.message.contains(words),
                "message for {text:?} lacks {words:?}: {e}"
            );
        }
    }

    #[test]
    fn one_routing_protocol_per_router() {
        // On two interfaces: the error points at the second protocol named.
        let e = err(
            "[[interface]]\nname = \"eth0\"\nprotocols = [\"igmp\", \"pim\"]\n\
                     [[interface]]\nname = \"eth1\"\nprotocols = [\"dvmrp\"]\n",
        );
        assert_eq!((e.line, e.column), (6, 14), "{e}");
        assert_eq!(e.key, "[[interface]] `protocols`");
        assert!(
            e.message.starts_with(
                "one multicast routing protocol per router: `dvmrp` here and `pim` on `eth0`"
            ),
            "{e}"
        );
        // On one interface.
        let e = err("[[interface]]\nname = \"eth0\"\nprotocols = [\"dvmrp\", \"pim\"]\n");
        assert_eq!(e.line, 3, "{e}");
        assert!(
            e.message
                .contains("`pim` here and `dvmrp` on this interface too"),
            "{e}"
        );
        // DVMRP and IGMP, or DVMRP alone on several interfaces, are fine.
        let c = parse(
            Path::new("r1.toml"),
            "[[interface]]\nname = \"eth0\"\nprotocols = [\"igmp\", \"dvmrp\"]\n\
             [[interface]]\nname = \"eth1\"\nprotocols = [\"dvmrp\"]\n",
        )
        .unwrap();
        assert!(c.interfaces.values().all(|i| i.dvmrp.is_some()));
    }

    /// The configuration reference in the README is valid configuration.
    #[test]
    fn readme_examples_are_valid() {
        let readme = include_str!("../../README.md");
        let blocks: Vec<&str> = readme
            .split("```toml\n")
            .skip(1)
            .filter_map(|b| b.split("```").next())
            .collect();
        assert!(
            blocks.len() >= 2,
            "the README has its configuration examples"
        );
        // A block that starts with [router] begins another router's file; the others
        // continue the file before them.
        let mut files: Vec<String> = Vec::new();
        for b in blocks {
            match files.last_mut() {
                Some(f) if !b.trim_start().starts_with("[router]") => f.push_str(b),
                _ => files.push(b.to_owned()),
            }
        }
        let configs: Vec<Config> = files
            .iter()
            .map(|t| parse(Path::new("README.md"), t).unwrap_or_else(|e| panic!("{e}\n{t}")))
            .collect();
        let c = &configs[0];
        assert!(c.interfaces["eth0"].igmp.is_some() && c.interfaces["eth0"].pim.is_some());
        assert!(!c.pim.rps.is_empty());
        assert!(
            configs.iter().any(|c| c
                .interfaces
                .get("mbone0")
                .is_some_and(|t| t.tunnel.is_some() && t.dvmrp.is_some())),
            "the README has a DVMRP tunnel"
        );
        assert!(
            configs
                .iter()
                .any(|c| c.interfaces.values().any(|i| i.dvmrp.is_some())
                    && !c.dvmrp.extra_routes.is_empty()),
            "the README has a DVMRP example"
        );
    }

    #[test]
    fn error_display_shows_the_line() {
        let e = err("[router]\n\ntable = -3\n");
        assert_eq!(
            e.to_string(),
            "r1.toml:3:9: [router] `table`: must be between 1 and 4294967295, got -3\n    table = -3"
        );
    }
}
