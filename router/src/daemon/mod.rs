//! The event loop of `mrouterd`.
//!
//! One task owns all state. It waits on the mroute socket (upcalls, IGMP), the rtnetlink
//! monitor (links, addresses, unicast routes), control requests, signals and one timer,
//! handles the event to completion and waits again. Nothing is polled: an interface that
//! appears gets its VIF and its entries as soon as the kernel announces it.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::json;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot};

use common::{IfIndex, Protocol};

use crate::config::{self, Config};
use crate::control::{Request, Response, Show};
use crate::kernel::{self, Rtnl};
use crate::mrib::{self, IfaceView, KernelEntry, Mrib, Origin, RoutingProtocol, SgKey};
use crate::netlink::{self, LinkInfo, Message};
use crate::sys::{self, MrouteSocket, NetlinkSocket};
use crate::tunnel::{self, Tunnels};
use crate::vif::VifTable;

mod dvmrp_shell;
mod ifaces;
mod igmp_shell;
mod pim_shell;

/// Preference of the `ip mrule` entries mrouterd adds for a non-default table: before
/// the kernel's catch-all rule (32766, "lookup default").
const MRULE_PRIORITY: u32 = 1000;

/// Sets the log filter at runtime; returns an error text for a bad filter.
pub type SetLogLevel = Box<dyn Fn(&str) -> Result<(), String>>;

/// How the daemon was started.
pub struct Options {
    pub config_path: PathBuf,
    /// A `--log-level` given on the command line wins over the file, also after reloads.
    pub log_level_override: Option<String>,
    pub set_log_level: SetLogLevel,
}

/// State of one configured interface.
#[derive(Clone, Debug, Default)]
struct IfaceState {
    ifindex: Option<u32>,
    vif: Option<u16>,
    error: Option<String>,
}

/// Counters shown by `mrouterctl show counters`.
#[derive(Clone, Debug, Default, Serialize)]
struct Counters {
    upcall_nocache: u64,
    upcall_wrongvif: u64,
    upcall_wholepkt: u64,
    upcall_wrvifwhole: u64,
    upcall_unknown: u64,
    /// NOCACHE upcalls for which no route exists.
    unresolved_no_route: u64,
    igmp_packets: u64,
    igmp_sent: u64,
    igmp_send_errors: u64,
    /// IGMP packets on interfaces that do not run IGMP.
    igmp_not_enabled: u64,
    igmp_bad_ip_header: u64,
    /// DVMRP messages (IGMP type 0x13) received.
    dvmrp_packets: u64,
    dvmrp_sent: u64,
    dvmrp_send_errors: u64,
    /// DVMRP messages on interfaces that do not run DVMRP.
    dvmrp_not_enabled: u64,
    /// mrinfo questions (Ask-Neighbors2 to one of our addresses) given to DVMRP.
    dvmrp_mrinfo_questions: u64,
    pim_packets: u64,
    pim_sent: u64,
    pim_send_errors: u64,
    pim_not_enabled: u64,
    pim_bad_ip_header: u64,
    mfc_writes: u64,
    mfc_deletes: u64,
    mfc_write_errors: u64,
    vif_adds: u64,
    vif_deletes: u64,
    vif_errors: u64,
    netlink_events: u64,
    netlink_resyncs: u64,
    reloads: u64,
    reload_errors: u64,
}

/// RPF of a source according to the kernel's unicast routes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
struct Rpf {
    interface: Option<String>,
    ifindex: Option<u32>,
    gateway: Option<Ipv4Addr>,
    /// The address is one of this router's own.
    local: bool,
}

struct Daemon {
    config_path: PathBuf,
    config: Config,
    log_level_override: Option<String>,
    set_log_level: SetLogLevel,
    log_level: String,
    table: u32,
    mroute: AsyncFd<MrouteSocket>,
    monitor: AsyncFd<NetlinkSocket>,
    rtnl: Rtnl,
    links: BTreeMap<u32, LinkInfo>,
    addrs: BTreeMap<u32, Vec<(Ipv4Addr, u8)>>,
    ifaces: BTreeMap<String, IfaceState>,
    vifs: VifTable,
    mrib: Mrib,
    /// What we wrote to the kernel, by (S,G).
    installed: BTreeMap<SgKey, KernelEntry>,
    /// RPF of every MRIB source, refreshed on unicast route changes.
    rpf: BTreeMap<Ipv4Addr, Rpf>,
    /// Interfaces for which we added `ip mrule iif NAME lookup TABLE` (non-default table).
    mrules: BTreeSet<String>,
    counters: Counters,
    started: std::time::Instant,
    igmp: igmp::Igmp,
    igmp_tx: sys::RawSender,
    igmp_ifaces: ifaces::Tracker<igmp::config::InterfaceConfig>,
    pim: pim::Pim,
    pim_rx: AsyncFd<sys::RawReceiver>,
    pim_tx: sys::RawSender,
    pim_ifaces: ifaces::Tracker<pim::config::InterfaceConfig>,
    /// Addresses PIM asked us to track the reverse path of, with what we last told it.
    pim_rpf: BTreeMap<Ipv4Addr, common::Rpf>,
    /// The PIM register VIF (slot, ifindex of its `pimreg` device), while PIM runs.
    register_vif: Option<(u16, u32)>,
    /// The devices of configured `[[tunnel]]`s.
    tunnels: Tunnels,
    /// Tunnels that could not be created, with the reason (retried on every change).
    tunnel_errors: BTreeMap<String, String>,
    /// Tunnels whose `local` is not an address of the router (warned once per episode).
    tunnel_no_local: BTreeSet<String>,
    /// DVMRP; its messages come and go through the mroute socket and `igmp_tx`.
    dvmrp: dvmrp::Dvmrp,
    dvmrp_ifaces: ifaces::Tracker<dvmrp::config::InterfaceConfig>,
}

/// Run the daemon until SIGTERM or SIGINT.
pub async fn run(opts: Options) -> Result<()> {
    let config = config::load(&opts.config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    if !sys::has_net_admin() {
        bail!(
            "mrouterd needs the CAP_NET_ADMIN and CAP_NET_RAW capabilities to program the \
             kernel's multicast routing: run it as root (or grant them with \
             `setcap cap_net_admin,cap_net_raw+ep mrouterd`)"
        );
    }
    let log_level = opts
        .log_level_override
        .clone()
        .unwrap_or_else(|| config.log_level.clone());
    (opts.set_log_level)(&log_level).map_err(|e| anyhow::anyhow!(e))?;

    let mroute =
        MrouteSocket::open(config.table).map_err(|e| mroute_open_error(e, config.table))?;
    let monitor = NetlinkSocket::open(
        &[
            netlink::groups::LINK,
            netlink::groups::IPV4_IFADDR,
            netlink::groups::IPV4_ROUTE,
        ],
        true,
    )
    .context("opening the rtnetlink monitor socket")?;
    let rtnl = Rtnl::open().context("opening the rtnetlink request socket")?;

    let listener = bind_control_socket(&config.control_socket)?;
    let igmp_tx =
        sys::RawSender::open(libc::IPPROTO_IGMP).context("opening the IGMP send socket")?;
    let igmp = igmp::Igmp::new(config.igmp.clone());
    let pim_rx = sys::RawReceiver::open(libc::IPPROTO_PIM).context("opening the PIM socket")?;
    let pim_tx = sys::RawSender::open(libc::IPPROTO_PIM).context("opening the PIM send socket")?;
    // Generation IDs and hello jitter come from this seed (RFC 7761 4.3.1 wants GenIDs to
    // differ across restarts).
    let seed = fresh_seed();
    let pim = pim::Pim::new(config.pim.clone(), seed);
    // Its own stream of Generation IDs (DVMRP 3.2.2 also wants them to change on restart).
    let dvmrp = dvmrp::Dvmrp::new(config.dvmrp.clone(), seed.rotate_left(17) ^ 0x5d);

    let mut d = Daemon {
        config_path: opts.config_path,
        table: kernel::table_id(config.table),
        config,
        log_level_override: opts.log_level_override,
        set_log_level: opts.set_log_level,
        log_level,
        mroute: sys::async_fd(mroute).context("registering the mroute socket")?,
        monitor: sys::async_fd(monitor).context("registering the netlink socket")?,
        rtnl,
        links: BTreeMap::new(),
        addrs: BTreeMap::new(),
        ifaces: BTreeMap::new(),
        vifs: VifTable::default(),
        mrib: Mrib::default(),
        installed: BTreeMap::new(),
        rpf: BTreeMap::new(),
        mrules: BTreeSet::new(),
        counters: Counters::default(),
        started: std::time::Instant::now(),
        igmp,
        igmp_tx,
        igmp_ifaces: ifaces::Tracker::default(),
        pim,
        pim_rx: sys::async_fd(pim_rx).context("registering the PIM socket")?,
        pim_tx,
        pim_ifaces: ifaces::Tracker::default(),
        pim_rpf: BTreeMap::new(),
        register_vif: None,
        tunnels: Tunnels::new(),
        tunnel_errors: BTreeMap::new(),
        tunnel_no_local: BTreeSet::new(),
        dvmrp,
        dvmrp_ifaces: ifaces::Tracker::default(),
    };
    let tokio_epoch = tokio::time::Instant::now();
    d.refresh_links().context("reading network interfaces")?;
    // Tunnel devices first, so that they get their VIFs like any interface.
    d.reconcile_tunnels();
    d.reconcile_interfaces();
    d.sync_igmp();
    d.sync_pim();
    d.sync_dvmrp();
    let routes = d.config.routes.clone();
    d.mrib.set_static(&routes);
    d.sync_all();
    d.refresh_rpf();
    tracing::info!(
        name = %d.config.name,
        table = d.table,
        interfaces = d.ifaces.len(),
        routes = d.config.routes.len(),
        control = %d.config.control_socket.display(),
        "mrouterd {} started",
        env!("CARGO_PKG_VERSION")
    );

    let (ctl_tx, mut ctl_rx) = mpsc::channel::<(Request, oneshot::Sender<Response>)>(64);
    let socket_path = d.config.control_socket.clone();
    tokio::spawn(serve_control(listener, ctl_tx));

    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut buf = vec![0u8; 65536];
    let mut next_tick = tokio::time::Instant::now() + d.tick_interval();
    // Kernel counters for PIM (its keepalive input) and DVMRP, read every second while
    // one of them runs.
    let mut next_stats = tokio::time::Instant::now() + Duration::from_secs(1);

    enum Ev {
        Mroute,
        Monitor,
        Pim,
        Control(Request, oneshot::Sender<Response>),
        Reload,
        Stop(&'static str),
        Tick,
        Protocols,
        Stats,
    }
    loop {
        // Protocol timers are data inside the protocols; sleep until the earliest.
        let protocol_deadline = common::time::earliest(d.igmp.poll_at(), d.pim.poll_at());
        let protocol_deadline = common::time::earliest(protocol_deadline, d.dvmrp.poll_at())
            .map(|t| tokio_epoch + t.since_epoch())
            .unwrap_or(next_tick + Duration::from_secs(3600));
        let ev = tokio::select! {
            r = d.mroute.readable() => { r?.clear_ready(); Ev::Mroute }
            r = d.monitor.readable() => { r?.clear_ready(); Ev::Monitor }
            r = d.pim_rx.readable() => { r?.clear_ready(); Ev::Pim }
            Some((req, tx)) = ctl_rx.recv() => Ev::Control(req, tx),
            _ = hup.recv() => Ev::Reload,
            _ = term.recv() => Ev::Stop("SIGTERM"),
            _ = int.recv() => Ev::Stop("SIGINT"),
            _ = tokio::time::sleep_until(next_tick) => Ev::Tick,
            _ = tokio::time::sleep_until(protocol_deadline) => Ev::Protocols,
            _ = tokio::time::sleep_until(next_stats) => Ev::Stats,
        };
        match ev {
            Ev::Mroute => d.drain_mroute(&mut buf),
            Ev::Monitor => d.drain_monitor(&mut buf),
            Ev::Pim => d.drain_pim(&mut buf),
            Ev::Control(req, tx) => {
                let _ = tx.send(d.handle_request(req));
            }
            Ev::Reload => {
                let r = d.reload();
                match r {
                    Ok(v) => tracing::info!("reload on SIGHUP: {v}"),
                    Err(e) => tracing::error!(
                        "reload on SIGHUP failed, keeping the running configuration: {e}"
                    ),
                }
            }
            Ev::Stop(sig) => {
                tracing::info!("{sig}: removing VIFs and forwarding entries, exiting");
                break;
            }
            Ev::Tick => {
                d.on_tick();
                next_tick = tokio::time::Instant::now() + d.tick_interval();
            }
            Ev::Stats => {
                d.pim_stats();
                d.dvmrp_stats();
                next_stats = tokio::time::Instant::now() + Duration::from_secs(1);
            }
            Ev::Protocols => {
                d.igmp_timeout();
                d.pim_timeout();
                d.dvmrp_timeout();
            }
        }
    }
    d.shutdown();
    let _ = std::fs::remove_file(&socket_path);
    Ok(())
}

/// A seed for Generation IDs and jitter that differs across restarts and processes.
fn fresh_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ u64::from(std::process::id()) << 32
}

fn mroute_open_error(e: io::Error, table: Option<u32>) -> anyhow::Error {
    let t = table.map_or("the default multicast table".to_owned(), |t| {
        format!("multicast table {t}")
    });
    match e.raw_os_error() {
        Some(libc::EADDRINUSE) => anyhow::anyhow!(
            "another multicast routing daemon (mrouterd, pimd, mrouted, smcroute or FRR pimd) \
             already owns {t} in this network namespace; stop it, or give this router \
             another `table` in [router]"
        ),
        Some(libc::ENOPROTOOPT) | Some(libc::EOPNOTSUPP) if table.is_some() => anyhow::anyhow!(
            "the kernel does not support multiple multicast tables (CONFIG_IP_MROUTE_MULTIPLE_TABLES); remove `table` from [router]"
        ),
        Some(libc::ENOPROTOOPT) | Some(libc::EOPNOTSUPP) => {
            anyhow::anyhow!("the kernel has no IPv4 multicast routing (CONFIG_IP_MROUTE)")
        }
        Some(libc::EPERM) | Some(libc::EACCES) => anyhow::anyhow!(
            "not permitted to open the multicast routing socket: run mrouterd as root or with CAP_NET_ADMIN and CAP_NET_RAW"
        ),
        _ => anyhow::anyhow!("cannot open the multicast routing socket for {t}: {e}"),
    }
}

fn bind_control_socket(path: &Path) -> Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "creating the directory of the control socket {}",
                path.display()
            )
        })?;
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!(
                "the control socket {} is in use by another running mrouterd; give this router \
                 its own `control_socket` in [router]",
                path.display()
            );
        }
        // Left over by an instance that was killed.
        std::fs::remove_file(path)
            .with_context(|| format!("removing the stale control socket {}", path.display()))?;
    }
    let l = UnixListener::bind(path)
        .with_context(|| format!("binding the control socket {}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .with_context(|| format!("setting the mode of {}", path.display()))?;
    Ok(l)
}

/// Accept control connections; every line is passed to the main loop.
async fn serve_control(
    listener: UnixListener,
    tx: mpsc::Sender<(Request, oneshot::Sender<Response>)>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let mut lines = BufReader::new(r).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if line.trim().is_empty() {
                    continue;
                }
                let resp = match serde_json::from_str::<Request>(&line) {
                    Ok(req) => {
                        let (otx, orx) = oneshot::channel();
                        if tx.send((req, otx)).await.is_err() {
                            return;
                        }
                        orx.await
                            .unwrap_or_else(|_| Response::err("mrouterd is shutting down"))
                    }
                    Err(e) => Response::err(format!("bad request: {e}")),
                };
                let mut out =
                    serde_json::to_string(&resp).unwrap_or_else(|_| "{\"ok\":false}".into());
                out.push('\n');
                if w.write_all(out.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

impl Daemon {
    fn tick_interval(&self) -> Duration {
        (self.config.cache_timeout / 4).clamp(Duration::from_secs(1), Duration::from_secs(30))
    }

    // ---------------------------------------------------------------- interfaces

    fn refresh_links(&mut self) -> Result<()> {
        let links = self
            .rtnl
            .dump(netlink::build_link_dump, netlink::parse_link)?;
        self.links = links.into_iter().map(|l| (l.ifindex, l)).collect();
        let addrs = self
            .rtnl
            .dump(netlink::build_addr_dump, netlink::parse_addr)?;
        self.addrs.clear();
        for a in addrs {
            self.addrs
                .entry(a.ifindex)
                .or_default()
                .push((a.addr, a.prefix_len));
        }
        Ok(())
    }

    fn ifindex_by_name(&self, name: &str) -> Option<u32> {
        self.links
            .values()
            .find(|l| l.name == name)
            .map(|l| l.ifindex)
    }

    fn name_by_ifindex(&self, ifindex: u32) -> Option<&str> {
        self.links.get(&ifindex).map(|l| l.name.as_str())
    }

    fn is_own_address(&self, a: Ipv4Addr) -> bool {
        self.addrs.values().flatten().any(|(x, _)| *x == a)
    }

    /// Create, replace or remove tunnel devices to match the configuration. A tunnel whose
    /// endpoints and mode are unchanged is left alone (a new metric is only stored). A
    /// tunnel is created once its `local` is an address of the router; failures are
    /// retried on the next change. True if a device was created or removed (the links are
    /// then re-read, so that [`Self::reconcile_interfaces`] sees them).
    fn reconcile_tunnels(&mut self) -> bool {
        let wanted: BTreeMap<String, config::TunnelConfig> = self
            .config
            .interfaces
            .values()
            .filter_map(|c| c.tunnel.clone().map(|t| (c.name.clone(), t)))
            .collect();
        let mut changed = false;
        let existing: Vec<(String, config::TunnelConfig)> = self
            .tunnels
            .iter()
            .map(|t| (t.name.clone(), t.config.clone()))
            .collect();
        for (name, have) in existing {
            match wanted.get(&name) {
                Some(w) if (w.local, w.remote, w.mode) == (have.local, have.remote, have.mode) => {
                    self.tunnels.set_metric(&name, w.metric);
                }
                _ => {
                    self.tunnels.remove(&mut self.rtnl, &name);
                    changed = true;
                }
            }
        }
        self.tunnel_errors.retain(|n, _| wanted.contains_key(n));
        self.tunnel_no_local.retain(|n| wanted.contains_key(n));
        for (name, cfg) in &wanted {
            let local_ok = self.is_own_address(cfg.local);
            if !local_ok {
                if self.tunnel_no_local.insert(name.clone()) {
                    tracing::warn!(
                        tunnel = %name,
                        "local address {} of tunnel {name} is not an address of this router{}",
                        cfg.local,
                        if self.tunnels.get(name).is_some() {
                            "; nothing can be sent through the tunnel until it is back"
                        } else {
                            " (yet); the tunnel is created when it is"
                        }
                    );
                }
                continue;
            }
            if self.tunnel_no_local.remove(name) {
                tracing::info!(tunnel = %name, "local address {} is now an address of this router", cfg.local);
            }
            if self.tunnels.get(name).is_some() {
                continue;
            }
            match self.tunnels.create(&mut self.rtnl, name, cfg) {
                Ok(t) => {
                    tracing::info!(
                        tunnel = %name,
                        ifindex = t.ifindex,
                        "tunnel {name} from {} to {} created: {} dataplane ({})",
                        cfg.local,
                        cfg.remote,
                        match t.dataplane {
                            tunnel::Dataplane::Kernel => "kernel",
                            tunnel::Dataplane::Userspace => "userspace",
                        },
                        t.reason
                    );
                    self.tunnel_errors.remove(name);
                    changed = true;
                }
                Err(e) => {
                    let msg = e.to_string();
                    if self.tunnel_errors.get(name) != Some(&msg) {
                        tracing::error!(tunnel = %name, "cannot create tunnel {name}: {msg}");
                    }
                    self.tunnel_errors.insert(name.clone(), msg);
                }
            }
        }
        if changed && let Err(e) = self.refresh_links() {
            tracing::error!("re-reading interfaces after a tunnel change: {e}");
        }
        changed
    }

    /// `show tunnels`: every configured tunnel, with its device if it exists.
    fn show_tunnels(&mut self) -> serde_json::Value {
        // The kernel's VIF counters: multicast into and out of each tunnel, whatever the
        // dataplane (the only counters of a kernel ipip tunnel).
        let vif_counters: BTreeMap<u32, serde_json::Value> = self
            .rtnl
            .dump(netlink::build_vif_dump, netlink::parse_vif_table)
            .map(|tables| {
                tables
                    .into_iter()
                    .filter(|t| t.table == self.table)
                    .flat_map(|t| t.vifs)
                    .map(|v| {
                        (
                            v.vif_index,
                            json!({
                                "packets_in": v.packets_in,
                                "packets_out": v.packets_out,
                                "bytes_in": v.bytes_in,
                                "bytes_out": v.bytes_out,
                            }),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let list: Vec<_> = self
            .config
            .interfaces
            .values()
            .filter_map(|c| c.tunnel.as_ref().map(|t| (c, t)))
            .map(|(c, cfg)| {
                let t = self.tunnels.get(&c.name);
                let st = self.ifaces.get(&c.name);
                let local_ok = self.is_own_address(cfg.local);
                let error = self.tunnel_errors.get(&c.name);
                let state = match (t, error) {
                    (Some(_), _) if !local_ok => "no-local-address",
                    (Some(_), _) => "up",
                    (None, Some(_)) => "error",
                    (None, None) if !local_ok => "waiting-for-local-address",
                    (None, None) => "pending",
                };
                let rp = t.map(|t| tunnel::rp_filter(&t.name));
                let mut warnings = Vec::new();
                if let Some(a) = rp.and_then(|r| r.all).filter(|a| *a != 0) {
                    warnings.push(format!(
                        "net.ipv4.conf.all.rp_filter is {a}: the kernel applies the larger of \
                         it and the device's value, so packets from the tunnel may be dropped \
                         by the reverse-path filter"
                    ));
                }
                if t.is_some() && !local_ok {
                    warnings.push(format!(
                        "{} is not an address of this router: nothing can be sent",
                        cfg.local
                    ));
                }
                json!({
                    "name": c.name,
                    "local": cfg.local,
                    "remote": cfg.remote,
                    "configured_mode": cfg.mode,
                    "mode": t.map(|t| t.dataplane),
                    "mode_reason": t.map(|t| t.reason.clone()),
                    "ifindex": t.map(|t| t.ifindex),
                    "vif": st.and_then(|s| s.vif),
                    "metric": cfg.metric,
                    "ttl_threshold": c.ttl_threshold,
                    "state": state,
                    "error": error,
                    "rp_filter": rp,
                    "warnings": warnings,
                    "counters": t.and_then(|t| t.counters()),
                    "vif_counters": st
                        .and_then(|s| s.vif)
                        .and_then(|v| vif_counters.get(&u32::from(v))),
                })
            })
            .collect();
        json!({ "tunnels": list, "foreign_dropped": self.tunnels.foreign_dropped() })
    }

    /// Bring VIFs in line with configured interfaces and existing devices, then rewrite
    /// affected kernel entries. A VIF slot whose device went away is freed only after the
    /// entries that used it have been rewritten (see [`crate::vif`]).
    fn reconcile_interfaces(&mut self) {
        let mut released: Vec<u16> = Vec::new();
        // Interfaces removed from the configuration.
        let gone: Vec<String> = self
            .ifaces
            .keys()
            .filter(|n| !self.config.interfaces.contains_key(*n))
            .cloned()
            .collect();
        for name in gone {
            let st = self.ifaces.remove(&name).expect("listed");
            if let Some(vif) = st.vif {
                self.del_vif(vif, &name);
                released.push(vif);
            }
            self.del_mrule(&name);
        }
        let names: Vec<String> = self.config.interfaces.keys().cloned().collect();
        // First release VIFs whose device vanished or changed, so their slots can be reused.
        for name in &names {
            let now = self.ifindex_by_name(name);
            let st = self.ifaces.entry(name.clone()).or_default();
            if st.ifindex != now {
                if let Some(vif) = st.vif.take() {
                    let old = st.ifindex;
                    // A renamed device still exists and still holds the VIF.
                    if old.is_some_and(|i| self.links.contains_key(&i)) {
                        self.del_vif(vif, name);
                    } else {
                        tracing::info!(interface = %name, vif, "device removed; the kernel dropped its VIF");
                    }
                    released.push(vif);
                }
                let st = self.ifaces.get_mut(name).expect("inserted");
                st.ifindex = now;
                st.error = None;
                if now.is_none() {
                    tracing::info!(interface = %name, "interface does not exist (yet); waiting for it");
                }
            }
        }
        for name in &names {
            let st = self.ifaces[name].clone();
            let (Some(ifindex), None) = (st.ifindex, st.vif) else {
                continue;
            };
            let threshold = self.config.interfaces[name].ttl_threshold;
            let result = match self.vifs.alloc(ifindex) {
                Ok(vif) => match self.mroute.get_ref().add_vif(vif, ifindex, threshold, 0) {
                    Ok(()) => Ok(vif),
                    Err(e) => {
                        self.vifs.free(vif);
                        Err(format!("the kernel refused the VIF: {e}"))
                    }
                },
                Err(e) => Err(e.to_string()),
            };
            let st = self.ifaces.get_mut(name).expect("configured");
            match result {
                Ok(vif) => {
                    self.counters.vif_adds += 1;
                    st.vif = Some(vif);
                    st.error = None;
                    tracing::info!(interface = %name, ifindex, vif, "interface added as VIF {vif}");
                    self.add_mrule(name);
                }
                Err(msg) => {
                    if st.error.as_deref() != Some(msg.as_str()) {
                        self.counters.vif_errors += 1;
                        tracing::error!(interface = %name, "cannot add interface {name}: {msg}");
                    }
                    st.error = Some(msg);
                }
            }
        }
        self.sync_all();
        let retry = !released.is_empty();
        for vif in released {
            self.vifs.free(vif);
        }
        // A freed slot may let an interface that hit the VIF limit in.
        if retry
            && self
                .ifaces
                .values()
                .any(|s| s.vif.is_none() && s.ifindex.is_some())
        {
            self.reconcile_interfaces();
        }
    }

    /// With a non-default table, steer the interface's traffic into it (`ip mrule`).
    fn add_mrule(&mut self, name: &str) {
        let Some(table) = self.config.table else {
            return;
        };
        if self.mrules.contains(name) {
            return;
        }
        match self
            .rtnl
            .request(|seq| netlink::build_mrule_add(seq, name, table, MRULE_PRIORITY))
        {
            Ok(()) => {}
            // Left by an earlier instance: it is what we want.
            Err(e) if e.errno() == Some(libc::EEXIST) => {}
            Err(e) => {
                tracing::error!(interface = %name, "adding `ip mrule iif {name} lookup {table}`: {e}");
                return;
            }
        }
        tracing::info!(interface = %name, "multicast rule: iif {name} lookup table {table}");
        self.mrules.insert(name.to_owned());
    }

    fn del_mrule(&mut self, name: &str) {
        let Some(table) = self.config.table else {
            return;
        };
        if !self.mrules.remove(name) {
            return;
        }
        if let Err(e) = self
            .rtnl
            .request(|seq| netlink::build_mrule_del(seq, name, table, MRULE_PRIORITY))
        {
            tracing::warn!(interface = %name, "removing the multicast rule: {e}");
        }
    }

    fn del_vif(&mut self, vif: u16, name: &str) {
        match self.mroute.get_ref().del_vif(vif) {
            Ok(()) => {
                self.counters.vif_deletes += 1;
                tracing::info!(interface = %name, vif, "VIF removed");
            }
            // Already gone with its device.
            Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => {}
            Err(e) => tracing::warn!(interface = %name, vif, "removing VIF: {e}"),
        }
    }

    fn iface_view(&self, name: &str) -> Option<IfaceView> {
        if let Some((vif, ifindex)) = self.register_vif
            && self.name_by_ifindex(ifindex) == Some(name)
        {
            // The PIM register VIF: not configured, no threshold, no boundaries.
            return Some(IfaceView {
                ifindex,
                vif,
                ttl_threshold: 1,
                boundaries: Vec::new(),
            });
        }
        let st = self.ifaces.get(name)?;
        let cfg = self.config.interfaces.get(name)?;
        Some(IfaceView {
            ifindex: st.ifindex?,
            vif: st.vif?,
            ttl_threshold: cfg.ttl_threshold,
            boundaries: cfg.boundaries.clone(),
        })
    }

    // ---------------------------------------------------------------- kernel entries

    /// Make the kernel entry for `key` match the MRIB. Writes nothing if it already does.
    fn sync_key(&mut self, key: SgKey) {
        let desired = self
            .mrib
            .get(&key)
            .and_then(|e| mrib::resolve(e, |n| self.iface_view(n)).kernel);
        if desired.as_ref() == self.installed.get(&key) {
            return;
        }
        let (source, group) = key;
        match desired {
            Some(k) => {
                let used = k.ttls.iter().rposition(|&t| t != 0).map_or(0, |i| i + 1);
                let r = if used > netlink::MAX_MULTIPATH_TTLS {
                    // Only an entry that forwards on VIF 31 gets here; see sys::add_mfc.
                    self.mroute
                        .get_ref()
                        .add_mfc(source, group, k.iif_vif, &k.ttls)
                        .map_err(|e| e.to_string())
                } else {
                    self.rtnl
                        .mfc_add(self.table, source, group, k.iif_ifindex, &k.ttls)
                        .map_err(|e| e.to_string())
                };
                match r {
                    Ok(()) => {
                        self.counters.mfc_writes += 1;
                        tracing::debug!(sg = %format!("({source}, {group})"), ttls = ?k.ttls, "MFC entry written");
                        self.installed.insert(key, k);
                    }
                    Err(e) => {
                        self.counters.mfc_write_errors += 1;
                        tracing::error!("writing the kernel entry ({source}, {group}): {e}");
                        self.installed.remove(&key);
                    }
                }
            }
            None => {
                // The input device may be gone: delete by (S,G) alone.
                match self.rtnl.mfc_del(self.table, source, group, None) {
                    Ok(()) => {
                        self.counters.mfc_deletes += 1;
                        tracing::debug!("MFC entry ({source}, {group}) deleted");
                    }
                    Err(e) if e.errno() == Some(libc::ENOENT) => {}
                    Err(e) => {
                        self.counters.mfc_write_errors += 1;
                        tracing::error!("deleting the kernel entry ({source}, {group}): {e}");
                    }
                }
                self.installed.remove(&key);
            }
        }
    }

    /// A routing protocol's forwarding intent for one key into the MRIB (interfaces by
    /// name); returns the entries that changed.
    fn protocol_forward(
        &mut self,
        protocol: mrib::RoutingProtocol,
        f: common::Forwarding,
    ) -> BTreeSet<SgKey> {
        let name = |d: &Daemon, i: IfIndex| d.name_by_ifindex(i.0).map(str::to_owned);
        let iif = f.iif.and_then(|i| name(self, i));
        let oifs = f.oifs.iter().filter_map(|i| name(self, *i)).collect();
        tracing::debug!(key = %f.key, ?iif, ?oifs, ?protocol, "forwarding intent");
        self.mrib.set_protocol(protocol, f.key, iif, oifs)
    }

    /// A routing protocol withdraws its intent for one key.
    fn protocol_unforward(
        &mut self,
        protocol: mrib::RoutingProtocol,
        key: common::RouteKey,
    ) -> BTreeSet<SgKey> {
        tracing::debug!(%key, ?protocol, "forwarding intent withdrawn");
        self.mrib.clear_protocol(protocol, key)
    }

    fn sync_all(&mut self) {
        let keys: BTreeSet<SgKey> = self
            .mrib
            .keys()
            .chain(self.installed.keys().copied())
            .collect();
        for k in keys {
            self.sync_key(k);
        }
    }

    // ---------------------------------------------------------------- events

    fn drain_mroute(&mut self, buf: &mut [u8]) {
        loop {
            let r = self.mroute.get_ref().recv(buf);
            match r {
                Ok((n, ifindex)) => self.on_mroute_datagram(&buf[..n], ifindex),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!("reading the mroute socket: {e}");
                    return;
                }
            }
        }
    }

    fn on_mroute_datagram(&mut self, data: &[u8], ifindex: u32) {
        let Some(up) = sys::parse_upcall(data) else {
            self.on_igmp_packet(data, ifindex);
            return;
        };
        match up.msgtype {
            sys::IGMPMSG_NOCACHE => {
                // PIM first: a DR may start registering a directly connected source
                // (RFC 7761 4.4.1), which creates the (S,G) entry the MRIB then installs.
                if self.pim_active()
                    && let Some(ifindex) = self.vifs.ifindex_of(up.vif)
                {
                    self.pim_upcall(
                        common::proto::UpcallKind::NoCache,
                        ifindex,
                        up.src,
                        up.dst,
                        &[],
                    );
                }
                // DVMRP may want the new source forwarded (its forwarding cache, 3.5).
                if self.dvmrp_active()
                    && let Some(ifindex) = self.vifs.ifindex_of(up.vif)
                {
                    self.dvmrp_upcall(common::proto::UpcallKind::NoCache, ifindex, up.src, up.dst);
                }
                self.counters.upcall_nocache += 1;
                let key = (up.src, up.dst);
                let iif = self
                    .vifs
                    .ifindex_of(up.vif)
                    .and_then(|i| self.name_by_ifindex(i))
                    .map(str::to_owned);
                let Some(iif) = iif else {
                    self.counters.unresolved_no_route += 1;
                    return;
                };
                // With IGMP alone, a source arriving on its RPF interface gets an entry
                // towards the members (possibly none yet: the entry then just drops its
                // traffic). With PIM, its (*,G) intents decide; with DVMRP, its (S,G) intents.
                let on_rpf = self.lookup_rpf(up.src).interface.as_deref() == Some(iif.as_str());
                let membership = self.igmp_active();
                if self.mrib.get(&key).is_some()
                    || self
                        .mrib
                        .on_unresolved(up.src, up.dst, &iif, on_rpf, membership)
                {
                    tracing::debug!("new source ({}, {}) on {iif}", up.src, up.dst);
                    self.sync_key(key);
                    self.refresh_rpf_for(up.src);
                } else {
                    self.counters.unresolved_no_route += 1;
                    tracing::trace!("no route for ({}, {}) arriving on {iif}", up.src, up.dst);
                }
            }
            sys::IGMPMSG_WRONGVIF => {
                self.counters.upcall_wrongvif += 1;
                let arrived_ifindex = self.vifs.ifindex_of(up.vif);
                let arrived = arrived_ifindex.and_then(|i| self.name_by_ifindex(i));
                match (arrived, self.mrib.get(&(up.src, up.dst))) {
                    // Most often a static route with the wrong `input`.
                    (Some(arrived), Some(e)) if e.origin == Origin::Static => {
                        tracing::warn!(
                            "({}, {}) arrives on {arrived} but its route expects it on {}; \
                             those packets are dropped",
                            up.src,
                            up.dst,
                            e.iif
                        );
                    }
                    // With PIM, data arriving on an outgoing interface means another
                    // router forwards onto that link too: an Assert trigger (RFC 7761 4.6).
                    // DVMRP hears of it as well (traffic from a pruned or wrong upstream).
                    _ => {
                        if self.pim_active()
                            && let Some(ifindex) = arrived_ifindex
                        {
                            self.pim_stats_of(up.src, up.dst);
                            self.pim_upcall(
                                common::proto::UpcallKind::WrongVif,
                                ifindex,
                                up.src,
                                up.dst,
                                &[],
                            );
                        }
                        if self.dvmrp_active()
                            && let Some(ifindex) = arrived_ifindex
                        {
                            self.dvmrp_upcall(
                                common::proto::UpcallKind::WrongVif,
                                ifindex,
                                up.src,
                                up.dst,
                            );
                        }
                    }
                }
            }
            sys::IGMPMSG_WHOLEPKT => {
                self.counters.upcall_wholepkt += 1;
                if let Some((_, ifindex)) = self.register_vif.filter(|(v, _)| *v == up.vif) {
                    let mut packet = up.packet;
                    crate::ipv4::complete_udp_checksum(&mut packet);
                    self.pim_upcall(
                        common::proto::UpcallKind::WholePacket,
                        ifindex,
                        up.src,
                        up.dst,
                        &packet,
                    );
                }
            }
            sys::IGMPMSG_WRVIFWHOLE => self.counters.upcall_wrvifwhole += 1,
            _ => self.counters.upcall_unknown += 1,
        }
    }

    fn drain_monitor(&mut self, buf: &mut [u8]) {
        let mut links_changed = false;
        let mut routes_changed = false;
        let mut addrs_changed = false;
        loop {
            let n = match self.monitor.get_ref().recv(buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    // Notifications were lost: read everything again.
                    tracing::warn!("netlink monitor overrun; re-reading interfaces");
                    self.counters.netlink_resyncs += 1;
                    if let Err(e) = self.refresh_links() {
                        tracing::error!("re-reading interfaces: {e}");
                    }
                    links_changed = true;
                    routes_changed = true;
                    continue;
                }
                Err(e) => {
                    tracing::warn!("reading the netlink monitor: {e}");
                    break;
                }
            };
            for m in netlink::messages(&buf[..n]) {
                let Ok(Message::Data(msg)) = m else { continue };
                self.counters.netlink_events += 1;
                match msg.msg_type() {
                    libc::RTM_NEWLINK | libc::RTM_DELLINK => {
                        if let Ok(Some(l)) = netlink::parse_link(&msg) {
                            links_changed |= self.on_link(l);
                        }
                    }
                    libc::RTM_NEWADDR | libc::RTM_DELADDR => {
                        if let Ok(Some(a)) = netlink::parse_addr(&msg) {
                            let list = self.addrs.entry(a.ifindex).or_default();
                            list.retain(|x| *x != (a.addr, a.prefix_len));
                            if !a.deleted {
                                list.push((a.addr, a.prefix_len));
                            }
                            routes_changed = true;
                            addrs_changed = true;
                        }
                    }
                    libc::RTM_NEWROUTE | libc::RTM_DELROUTE => routes_changed = true,
                    _ => {}
                }
            }
        }
        // A tunnel waits for its local address, and is re-created if its device vanished.
        if (links_changed || addrs_changed) && self.reconcile_tunnels() {
            links_changed = true;
        }
        if links_changed {
            self.reconcile_interfaces();
        }
        if links_changed || routes_changed {
            // Links or addresses changed: a protocol may start or stop on an interface.
            self.sync_igmp();
            self.sync_pim();
            self.sync_dvmrp();
        }
        if routes_changed {
            self.refresh_rpf();
            self.refresh_pim_rpf();
        }
    }

    /// Record a link event; true if it matters to a configured interface.
    fn on_link(&mut self, l: LinkInfo) -> bool {
        let configured = |n: &str| self.config.interfaces.contains_key(n);
        let old = self.links.get(&l.ifindex).cloned();
        let relevant = configured(&l.name) || old.as_ref().is_some_and(|o| configured(&o.name));
        if l.deleted {
            self.links.remove(&l.ifindex);
            self.addrs.remove(&l.ifindex);
            // Someone deleted a tunnel's device: forget it, it is created again.
            if self
                .tunnels
                .get(&l.name)
                .is_some_and(|t| t.ifindex == l.ifindex)
            {
                tracing::warn!(tunnel = %l.name, "the tunnel's device was deleted; re-creating it");
                self.tunnels.remove(&mut self.rtnl, &l.name);
            }
        } else {
            if relevant {
                let was_up = old.as_ref().is_some_and(LinkInfo::is_up);
                if was_up != l.is_up() {
                    tracing::info!(interface = %l.name, "link {}", if l.is_up() { "up" } else { "down" });
                }
            }
            self.links.insert(l.ifindex, l);
        }
        relevant
    }

    fn on_tick(&mut self) {
        self.expire_idle_sources();
    }

    /// Remove (S,G) entries created for (*,G) routes whose source stopped sending.
    fn expire_idle_sources(&mut self) {
        let derived: BTreeSet<SgKey> = self
            .mrib
            .entries()
            // Entries created on demand for a source; they go when it stops sending.
            .filter(|e| {
                matches!(
                    e.origin,
                    Origin::StarG { .. } | Origin::Membership | Origin::ProtocolStarG(_)
                )
            })
            .map(|e| (e.source, e.group))
            .collect();
        if derived.is_empty() {
            return;
        }
        let dump = match self.rtnl.mfc_dump(self.table) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!("reading MFC counters: {e}");
                return;
            }
        };
        let timeout_cs = self.config.cache_timeout.as_millis() as u64 / 10;
        for e in dump {
            let key = (e.source, e.group);
            if derived.contains(&key) && e.last_use_centisecs.is_some_and(|c| c >= timeout_cs) {
                tracing::info!(
                    "source ({}, {}) idle for {:?}; removing its entry",
                    e.source,
                    e.group,
                    self.config.cache_timeout
                );
                self.mrib.expire(key);
                self.sync_key(key);
            }
        }
    }

    /// Look up the RPF interface of every MRIB source (after a unicast route change).
    fn refresh_rpf(&mut self) {
        let sources: BTreeSet<Ipv4Addr> = self.mrib.entries().map(|e| e.source).collect();
        self.rpf.retain(|s, _| sources.contains(s));
        for s in sources {
            self.refresh_rpf_for(s);
        }
    }

    fn refresh_rpf_for(&mut self, source: Ipv4Addr) {
        let rpf = self.lookup_rpf(source);
        if self.rpf.get(&source) != Some(&rpf) {
            if self.rpf.contains_key(&source) {
                tracing::info!(%source, interface = ?rpf.interface, gateway = ?rpf.gateway, "RPF changed");
            }
            self.rpf.insert(source, rpf);
        }
    }

    fn lookup_rpf(&mut self, source: Ipv4Addr) -> Rpf {
        match self.rtnl.route_get(source) {
            Ok(Some(r)) => {
                let ifindex = r.oif.or_else(|| r.multipath.first().map(|m| m.0));
                let gateway = r.gateway.or_else(|| r.multipath.first().and_then(|m| m.1));
                Rpf {
                    interface: ifindex
                        .and_then(|i| self.name_by_ifindex(i))
                        .map(str::to_owned),
                    ifindex,
                    gateway,
                    local: r.rtype == libc::RTN_LOCAL,
                }
            }
            Ok(None) => Rpf {
                interface: None,
                ifindex: None,
                gateway: None,
                local: false,
            },
            Err(e) => {
                tracing::debug!(%source, "RPF lookup: {e}");
                Rpf {
                    interface: None,
                    ifindex: None,
                    gateway: None,
                    local: false,
                }
            }
        }
    }

    // ---------------------------------------------------------------- reload

    /// Re-read the file and apply only the difference.
    fn reload(&mut self) -> Result<serde_json::Value> {
        let r = self.try_reload();
        match &r {
            Ok(_) => self.counters.reloads += 1,
            Err(_) => self.counters.reload_errors += 1,
        }
        r
    }

    fn try_reload(&mut self) -> Result<serde_json::Value> {
        let new = config::load(&self.config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
        if new.table != self.config.table {
            bail!(
                "changing [router] `table` needs a restart of mrouterd; configuration not reloaded"
            );
        }
        if new.control_socket != self.config.control_socket {
            bail!(
                "changing [router] `control_socket` needs a restart of mrouterd; configuration not reloaded"
            );
        }
        // The file's level applies when the file changed it: a level set at runtime with
        // `mrouterctl log-level` survives reloads that leave `log_level` alone.
        if self.log_level_override.is_none() && new.log_level != self.config.log_level {
            (self.set_log_level)(&new.log_level).map_err(|e| anyhow::anyhow!(e))?;
            self.log_level = new.log_level.clone();
        }
        let added: Vec<&String> = new
            .interfaces
            .keys()
            .filter(|n| !self.config.interfaces.contains_key(*n))
            .collect();
        let removed: Vec<&String> = self
            .config
            .interfaces
            .keys()
            .filter(|n| !new.interfaces.contains_key(*n))
            .collect();
        let summary_ifaces = json!({"added": added, "removed": removed});
        let ifaces_changed = new.interfaces != self.config.interfaces;
        if new.igmp != self.config.igmp {
            self.igmp.set_config(new.igmp.clone());
        }
        if new.pim != self.config.pim {
            let now = self.now();
            let actions = self.pim.set_config(now, new.pim.clone());
            self.apply_pim(actions);
        }
        if new.dvmrp != self.config.dvmrp {
            self.reconfigure_dvmrp(new.dvmrp.clone());
        }
        self.config = new;
        // Tunnels whose endpoints and mode did not change are not touched: flows go on.
        let tunnels_changed = self.reconcile_tunnels();
        if ifaces_changed || tunnels_changed {
            // Thresholds and boundaries live in the entries: rewrite what changed.
            self.reconcile_interfaces();
        }
        self.sync_igmp();
        self.sync_pim();
        self.sync_dvmrp();
        let routes = self.config.routes.clone();
        let changed = self.mrib.set_static(&routes);
        for k in &changed {
            self.sync_key(*k);
        }
        self.refresh_rpf();
        Ok(json!({
            "reloaded": true,
            "interfaces": summary_ifaces,
            "routes_changed": changed.len(),
        }))
    }

    // ---------------------------------------------------------------- control

    fn handle_request(&mut self, req: Request) -> Response {
        match req {
            Request::Version => Response::ok(json!({
                "name": self.config.name,
                "version": env!("CARGO_PKG_VERSION"),
                "pid": std::process::id(),
                "uptime_s": self.started.elapsed().as_secs(),
                "table": self.table,
                "config": self.config_path,
            })),
            Request::LogLevel { level } => {
                if let Err(e) = config::check_log_level(&level) {
                    return Response::err(e);
                }
                match (self.set_log_level)(&level) {
                    Ok(()) => {
                        tracing::info!("log level set to {level}");
                        self.log_level = level.clone();
                        Response::ok(json!({ "log_level": level }))
                    }
                    Err(e) => Response::err(e),
                }
            }
            Request::Reload => match self.reload() {
                Ok(v) => {
                    tracing::info!("reload: {v}");
                    Response::ok(v)
                }
                Err(e) => {
                    tracing::error!("reload failed, keeping the running configuration: {e:#}");
                    Response::err(format!("{e:#}; the running configuration is unchanged"))
                }
            },
            Request::Show { what } => match self.show(what) {
                Ok(v) => Response::ok(v),
                Err(e) => Response::err(format!("{e:#}")),
            },
        }
    }

    fn show(&mut self, what: Show) -> Result<serde_json::Value> {
        Ok(match what {
            Show::Interfaces => {
                let list: Vec<_> = self
                    .config
                    .interfaces
                    .values()
                    .map(|c| {
                        let mut st = self.ifaces.get(&c.name).cloned().unwrap_or_default();
                        if st.error.is_none() {
                            st.error = self.tunnel_errors.get(&c.name).cloned();
                        }
                        let link = st.ifindex.and_then(|i| self.links.get(&i));
                        let state = if st.error.is_some() {
                            "error"
                        } else if st.vif.is_some() {
                            "active"
                        } else {
                            "pending"
                        };
                        let addrs: Vec<String> = st
                            .ifindex
                            .and_then(|i| self.addrs.get(&i))
                            .map(|v| v.iter().map(|(a, p)| format!("{a}/{p}")).collect())
                            .unwrap_or_default();
                        json!({
                            "name": c.name,
                            "state": state,
                            "ifindex": st.ifindex,
                            "link_up": link.map(LinkInfo::is_up),
                            "addresses": addrs,
                            "vif": st.vif,
                            "ttl_threshold": c.ttl_threshold,
                            "boundaries": c.boundaries.iter().map(|b| b.to_string()).collect::<Vec<_>>(),
                            "protocols": c.protocols,
                            "tunnel": c.tunnel.as_ref().map(|t| json!({"local": t.local, "remote": t.remote})),
                            "error": st.error,
                        })
                    })
                    .collect();
                json!({ "interfaces": list })
            }
            Show::Vifs => {
                let tables = self
                    .rtnl
                    .dump(netlink::build_vif_dump, netlink::parse_vif_table)?;
                let mut list = Vec::new();
                for t in tables.into_iter().filter(|t| t.table == self.table) {
                    for v in t.vifs {
                        list.push(json!({
                            "vif": v.vif_index,
                            "interface": self.name_by_ifindex(v.ifindex),
                            "ifindex": v.ifindex,
                            "flags": v.flags,
                            "packets_in": v.packets_in,
                            "packets_out": v.packets_out,
                            "bytes_in": v.bytes_in,
                            "bytes_out": v.bytes_out,
                        }));
                    }
                }
                json!({ "vifs": list })
            }
            Show::Mroutes => {
                let entries: Vec<_> = self
                    .mrib
                    .entries()
                    .map(|e| {
                        let r = mrib::resolve(e, |n| self.iface_view(n));
                        let key = (e.source, e.group);
                        json!({
                            "source": e.source,
                            "group": e.group,
                            "origin": e.origin,
                            "iif": e.iif,
                            "state": r.state,
                            "installed": self.installed.contains_key(&key),
                            "oifs": r.oifs.iter().map(|(n, s)| json!({
                                "interface": n,
                                "state": s,
                                "ttl_threshold": self.config.interfaces.get(n).map(|c| c.ttl_threshold),
                            })).collect::<Vec<_>>(),
                            "rpf": self.rpf.get(&e.source),
                        })
                    })
                    .collect();
                let star: Vec<_> = self
                    .mrib
                    .star_rules()
                    .iter()
                    .map(|r| json!({"group": r.group.to_string(), "input": r.input, "outputs": r.outputs}))
                    .collect();
                // The (*,G) intents of the routing protocol, under "pim_star" or
                // "dvmrp_star" (both always present).
                let star_of = |p: RoutingProtocol| -> serde_json::Map<String, serde_json::Value> {
                    self.mrib
                        .protocol_star()
                        .iter()
                        .filter(|(_, s)| s.protocol == p)
                        .map(|(g, s)| (g.to_string(), json!({ "iif": s.iif, "oifs": s.oifs })))
                        .collect()
                };
                json!({
                    "mroutes": entries,
                    "star_rules": star,
                    "pim_star": star_of(RoutingProtocol::Pim),
                    "dvmrp_star": star_of(RoutingProtocol::Dvmrp),
                })
            }
            Show::Mfc => {
                let dump = self.rtnl.mfc_dump(self.table)?;
                let list: Vec<_> = dump
                    .iter()
                    .map(|e| {
                        json!({
                            "source": e.source,
                            "group": e.group,
                            "iif": e.iif.and_then(|i| self.name_by_ifindex(i)),
                            "iif_ifindex": e.iif,
                            "oifs": e.oifs.iter().map(|(i, ttl)| json!({
                                "interface": self.name_by_ifindex(*i),
                                "ifindex": i,
                                "ttl": ttl,
                            })).collect::<Vec<_>>(),
                            "packets": e.packets,
                            "bytes": e.bytes,
                            "wrong_if": e.wrong_if,
                            "last_use_ms": e.last_use_centisecs.map(|c| c * 10),
                            "unresolved": e.unresolved,
                        })
                    })
                    .collect();
                json!({ "mfc": list })
            }
            Show::Rpf { source } => {
                let rpf = self.lookup_rpf(source);
                json!({ "source": source, "rpf": rpf })
            }
            Show::Counters => json!({ "counters": self.counters }),
            Show::Tunnels => self.show_tunnels(),
            Show::Pim => {
                let mut v = serde_json::to_value(self.pim.snapshot_at(self.now()))?;
                if let Some(list) = v.get_mut("interfaces").and_then(|l| l.as_array_mut()) {
                    for i in list {
                        let name = i["ifindex"]
                            .as_u64()
                            .and_then(|x| self.name_by_ifindex(x as u32))
                            .map(str::to_owned);
                        if let (Some(obj), Some(name)) = (i.as_object_mut(), name) {
                            obj.insert("name".into(), json!(name));
                        }
                    }
                }
                json!({ "pim": v, "rp_mappings": self.config.pim.rps })
            }
            Show::Dvmrp => self.show_dvmrp()?,
            Show::Igmp => {
                let mut v = serde_json::to_value(self.igmp.snapshot_at(self.now()))?;
                // Name the interfaces the way the user configured them.
                if let Some(list) = v.get_mut("interfaces").and_then(|l| l.as_array_mut()) {
                    for i in list {
                        let name = i["ifindex"]
                            .as_u64()
                            .and_then(|x| self.name_by_ifindex(x as u32))
                            .map(str::to_owned);
                        if let (Some(obj), Some(name)) = (i.as_object_mut(), name) {
                            obj.insert("name".into(), json!(name));
                        }
                    }
                }
                json!({ "igmp": v })
            }
        })
    }

    // ---------------------------------------------------------------- shutdown

    fn shutdown(&mut self) {
        // PIM neighbours hear a goodbye (Hello with Holdtime 0) and re-elect at once.
        let now = self.now();
        for ifindex in self.pim_ifaces.ifindexes() {
            let actions = self.pim.remove_interface(now, IfIndex(ifindex));
            self.apply_pim(actions);
        }
        // DVMRP has no goodbye: neighbours time out (Neighbor Time-out, 3.2).
        for ifindex in self.dvmrp_ifaces.ifindexes() {
            let actions = self.dvmrp.remove_interface(now, IfIndex(ifindex));
            self.apply_dvmrp(actions);
        }
        let keys: Vec<SgKey> = self.installed.keys().copied().collect();
        for (s, g) in keys {
            let _ = self.rtnl.mfc_del(self.table, s, g, None);
        }
        self.installed.clear();
        let vifs: Vec<(u16, u32)> = self.vifs.iter().collect();
        for (vif, _) in vifs {
            let _ = self.mroute.get_ref().del_vif(vif);
        }
        let rules: Vec<String> = self.mrules.iter().cloned().collect();
        for name in rules {
            self.del_mrule(&name);
        }
        self.tunnels.remove_all(&mut self.rtnl);
        // Dropping the mroute socket (MRT_DONE) makes the kernel flush the rest.
    }
}
