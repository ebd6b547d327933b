//! MBone-style IP-in-IP tunnels (RFC 2003): the devices behind `[[tunnel]]`.
//!
//! A tunnel is a network device that mrouterd creates itself and then treats like any
//! configured interface: it gets a VIF, static routes and protocols use its name. Two
//! dataplanes, chosen per tunnel at creation ([`Dataplane`]):
//!
//! - **kernel**: an `ipip` link made over rtnetlink (`ip link add NAME type ipip local L
//!   remote R ttl 64`). The kernel encapsulates and decapsulates; mrouterd only creates,
//!   brings up and deletes the device.
//! - **userspace**, for kernels without the `ipip` driver (common in containers): a TUN
//!   device named after the tunnel, plus one raw `IPPROTO_IPIP` socket shared by every
//!   tunnel. What the kernel forwards into the TUN (multicast routed onto the tunnel's VIF)
//!   is read by a thread of that tunnel and sent to `remote` on the raw socket, the kernel
//!   adding the outer header (protocol 4, source `local` chosen per packet with
//!   `IP_PKTINFO`, TTL 64, DF clear so a small path MTU fragments rather than drops).
//!   One receive thread reads the raw socket: a packet whose outer source and destination
//!   are the `remote` and `local` of a tunnel is stripped of its outer header, checked
//!   (inner IPv4, consistent lengths, multicast destination) and written into that
//!   tunnel's TUN, where the kernel receives it and multicast routing forwards it; any other
//!   is counted as foreign and dropped. These threads block in `poll()` on their descriptor
//!   and an eventfd that stops them; the daemon's event loop is never on the data path.
//!   Buffers are allocated once per thread, counters are relaxed atomics.
//!
//! `mode = "auto"` tries the kernel first and falls back to userspace when the kernel
//! answers `EOPNOTSUPP` (no driver: "Unknown device type"); the reason is kept and shown by
//! `mrouterctl show tunnels`. The tunnel carries IPv4 multicast only: unicast, IPv6 and
//! malformed packets are counted and dropped in both directions. `rp_filter` is set to 0 on
//! the device (decapsulated packets arrive on the tunnel while the unicast route to their
//! source usually points elsewhere); the kernel uses the maximum of `all` and the device's
//! value, so a non-zero `net.ipv4.conf.all.rp_filter` is reported as a warning.
//!
//! DVMRP (a later user of this module) treats a tunnel as a point-to-point interface to
//! `remote`; its control packets are ordinary unicast IGMP-protocol packets between
//! `local` and `remote`, not carried inside the tunnel.

use std::collections::BTreeMap;
use std::io;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use serde::Serialize;

use crate::config::{TunnelConfig, TunnelMode};
use crate::kernel::Rtnl;
use crate::netlink::{self, LinkInfo};
use crate::sys::{self, IpipSocket, TunDevice, Waker};

/// MTU of a userspace tunnel's TUN device: an inner packet plus the 20-byte outer header
/// fits a 1500-byte Ethernet MTU (what the kernel's ipip driver uses too).
pub const TUN_MTU: u32 = 1480;
/// Transmit queue of the TUN device: room for bursts while the encapsulating thread runs.
pub const TUN_TXQLEN: u32 = 1000;
/// TTL of the outer header, in both dataplanes.
pub const OUTER_TTL: u8 = 64;
/// Packets a dataplane thread handles between two polls (bounds the time it holds the
/// peer table).
const BATCH: usize = 64;
/// Largest IPv4 packet.
const BUF_LEN: usize = 65_536;

/// The dataplane of a tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dataplane {
    /// The kernel's `ipip` driver.
    Kernel,
    /// A TUN device and the raw socket, driven by mrouterd's threads.
    Userspace,
}

/// Why a tunnel could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TunnelError {
    /// `mode = "kernel"` on a kernel without the `ipip` driver.
    #[error("{0}")]
    KernelUnsupported(String),
    #[error("{0}")]
    Failed(String),
}

/// Packet counters of one userspace tunnel (the kernel dataplane counts in the device).
#[derive(Debug, Default)]
pub struct Counters {
    encap_packets: AtomicU64,
    encap_bytes: AtomicU64,
    decap_packets: AtomicU64,
    decap_bytes: AtomicU64,
    send_errors: AtomicU64,
    /// errno of the last failed send (0: none yet).
    last_send_errno: AtomicI32,
    tun_write_errors: AtomicU64,
    malformed: AtomicU64,
    not_ipv4: AtomicU64,
    not_multicast: AtomicU64,
}

/// A copy of [`Counters`] (the `counters` member of `show tunnels`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CounterSnapshot {
    /// Packets read from the TUN and sent to the peer, and their inner bytes.
    pub encap_packets: u64,
    pub encap_bytes: u64,
    /// Packets from the peer written into the TUN, and their inner bytes.
    pub decap_packets: u64,
    pub decap_bytes: u64,
    /// Sends to the peer that failed (e.g. EINVAL while `local` is not an address of the
    /// router, ENETUNREACH without a route to `remote`).
    pub send_errors: u64,
    /// The last send error, e.g. "Invalid argument (os error 22)".
    pub last_send_error: Option<String>,
    /// Decapsulated packets the kernel refused from the TUN.
    pub tun_write_errors: u64,
    /// Dropped: truncated or inconsistent IPv4 header (either direction).
    pub dropped_malformed: u64,
    /// Dropped: not IPv4 (e.g. IPv6 the kernel sent into the TUN).
    pub dropped_not_ipv4: u64,
    /// Dropped: IPv4 but not to a multicast group (the tunnel is a multicast link).
    pub dropped_not_multicast: u64,
}

impl Counters {
    pub fn snapshot(&self) -> CounterSnapshot {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let errno = self.last_send_errno.load(Ordering::Relaxed);
        CounterSnapshot {
            encap_packets: r(&self.encap_packets),
            encap_bytes: r(&self.encap_bytes),
            decap_packets: r(&self.decap_packets),
            decap_bytes: r(&self.decap_bytes),
            send_errors: r(&self.send_errors),
            last_send_error: (errno != 0).then(|| io::Error::from_raw_os_error(errno).to_string()),
            tun_write_errors: r(&self.tun_write_errors),
            dropped_malformed: r(&self.malformed),
            dropped_not_ipv4: r(&self.not_ipv4),
            dropped_not_multicast: r(&self.not_multicast),
        }
    }

    fn count_drop(&self, d: DropReason) {
        let c = match d {
            DropReason::Malformed => &self.malformed,
            DropReason::NotIpv4 => &self.not_ipv4,
            DropReason::NotMulticast => &self.not_multicast,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// Why a packet is not carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    Malformed,
    NotIpv4,
    NotMulticast,
}

/// Check a packet to carry through a tunnel (read from the TUN, or the inner packet of a
/// received one): IPv4, header and total length consistent with the buffer, multicast
/// destination. Returns the packet's total length (the buffer may be longer).
pub fn check_inner(p: &[u8]) -> Result<usize, DropReason> {
    let Some(&b0) = p.first() else {
        return Err(DropReason::Malformed);
    };
    if b0 >> 4 != 4 {
        return Err(DropReason::NotIpv4);
    }
    let ihl = usize::from(b0 & 0x0f) * 4;
    if ihl < 20 || p.len() < ihl {
        return Err(DropReason::Malformed);
    }
    let total = usize::from(u16::from_be_bytes([p[2], p[3]]));
    if total < ihl || total > p.len() {
        return Err(DropReason::Malformed);
    }
    if p[16] & 0xf0 != 0xe0 {
        return Err(DropReason::NotMulticast);
    }
    Ok(total)
}

/// The outer header of a received packet: (source, destination, header length), or
/// `None` if it is not a well-formed IPv4 header.
pub fn parse_outer(p: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, usize)> {
    if p.len() < 20 || p[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    if ihl < 20 || p.len() < ihl {
        return None;
    }
    let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
    let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
    Some((src, dst, ihl))
}

/// A userspace tunnel as the receive thread sees it.
struct Peer {
    local: Ipv4Addr,
    remote: Ipv4Addr,
    tun: Arc<TunDevice>,
    counters: Arc<Counters>,
}

/// The shared raw socket and its receive thread.
struct Engine {
    sock: Arc<IpipSocket>,
    peers: Arc<RwLock<Vec<Peer>>>,
    foreign: Arc<AtomicU64>,
    stop: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    fn start() -> io::Result<Engine> {
        let sock = Arc::new(IpipSocket::open(OUTER_TTL)?);
        let peers: Arc<RwLock<Vec<Peer>>> = Arc::default();
        let foreign = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(Waker::new()?);
        let thread = {
            let (sock, peers, foreign, stop) =
                (sock.clone(), peers.clone(), foreign.clone(), stop.clone());
            std::thread::Builder::new()
                .name("tunnel-rx".into())
                .spawn(move || rx_loop(&sock, &peers, &foreign, &stop))?
        };
        Ok(Engine {
            sock,
            peers,
            foreign,
            stop,
            thread: Some(thread),
        })
    }
}

impl std::ops::Drop for Engine {
    fn drop(&mut self) {
        self.stop.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The receive thread: decapsulate what the configured peers send.
fn rx_loop(sock: &IpipSocket, peers: &RwLock<Vec<Peer>>, foreign: &AtomicU64, stop: &Waker) {
    use std::os::fd::AsRawFd;
    let mut buf = vec![0u8; BUF_LEN];
    loop {
        match sys::poll_readable(sock.as_raw_fd(), stop.as_raw_fd(), -1) {
            Ok((_, true)) => return,
            Ok((false, false)) => continue,
            Ok(_) => {}
            Err(e) => {
                tracing::error!("tunnel receive thread: poll: {e}; stopping");
                return;
            }
        }
        let peers = peers.read().unwrap_or_else(|e| e.into_inner());
        for _ in 0..BATCH {
            let n = match sock.recv(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!("tunnel receive thread: reading the IPIP socket: {e}");
                    // Do not spin on a persistent error.
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    break;
                }
            };
            decapsulate(&buf[..n], &peers, foreign);
        }
    }
}

fn decapsulate(p: &[u8], peers: &[Peer], foreign: &AtomicU64) {
    let Some((src, dst, ihl)) = parse_outer(p) else {
        foreign.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let Some(peer) = peers.iter().find(|t| t.remote == src && t.local == dst) else {
        foreign.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let inner = &p[ihl..];
    match check_inner(inner) {
        Ok(len) => match peer.tun.write(&inner[..len]) {
            Ok(_) => {
                peer.counters.decap_packets.fetch_add(1, Ordering::Relaxed);
                peer.counters
                    .decap_bytes
                    .fetch_add(len as u64, Ordering::Relaxed);
            }
            Err(_) => {
                peer.counters
                    .tun_write_errors
                    .fetch_add(1, Ordering::Relaxed);
            }
        },
        Err(d) => peer.counters.count_drop(d),
    }
}

/// The encapsulating thread of one userspace tunnel.
struct TxThread {
    stop: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

impl std::ops::Drop for TxThread {
    fn drop(&mut self) {
        self.stop.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn tx_loop(
    name: &str,
    tun: &TunDevice,
    sock: &IpipSocket,
    local: Ipv4Addr,
    remote: Ipv4Addr,
    counters: &Counters,
    stop: &Waker,
) {
    use std::os::fd::AsRawFd;
    let mut buf = vec![0u8; BUF_LEN];
    loop {
        match sys::poll_readable(tun.as_raw_fd(), stop.as_raw_fd(), -1) {
            Ok((_, true)) => return,
            Ok((false, false)) => continue,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(tunnel = %name, "tunnel send thread: poll: {e}; stopping");
                return;
            }
        }
        for _ in 0..BATCH {
            let n = match tun.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // The device is gone (deleted by someone): the daemon sees the link
                    // disappear and creates the tunnel again.
                    tracing::warn!(tunnel = %name, "reading the TUN device: {e}; send thread stops");
                    return;
                }
            };
            let len = match check_inner(&buf[..n]) {
                Ok(len) => len,
                Err(d) => {
                    counters.count_drop(d);
                    continue;
                }
            };
            match sock.send_from(&buf[..len], local, remote) {
                Ok(_) => {
                    counters.encap_packets.fetch_add(1, Ordering::Relaxed);
                    counters
                        .encap_bytes
                        .fetch_add(len as u64, Ordering::Relaxed);
                }
                Err(e) => {
                    counters.send_errors.fetch_add(1, Ordering::Relaxed);
                    let errno = e.raw_os_error().unwrap_or(-1);
                    // Log when the reason changes, not for every packet.
                    if counters.last_send_errno.swap(errno, Ordering::Relaxed) != errno {
                        tracing::warn!(
                            tunnel = %name,
                            "sending to {remote} from {local} failed: {e}{}",
                            if errno == libc::EINVAL {
                                " (is the local address configured on this router?)"
                            } else {
                                ""
                            }
                        );
                    }
                }
            }
        }
    }
}

/// One tunnel device that exists.
pub struct Tunnel {
    /// The device (and interface) name.
    pub name: String,
    /// What it was created from (`metric` is updated in place on reload).
    pub config: TunnelConfig,
    pub dataplane: Dataplane,
    /// Why this dataplane, e.g. "kernel has no ipip driver (Unknown device type)".
    pub reason: String,
    /// The device's ifindex.
    pub ifindex: u32,
    counters: Option<Arc<Counters>>,
    tun: Option<Arc<TunDevice>>,
    tx: Option<TxThread>,
}

impl Tunnel {
    /// Counters of a userspace tunnel; `None` for the kernel dataplane.
    pub fn counters(&self) -> Option<CounterSnapshot> {
        self.counters.as_ref().map(|c| c.snapshot())
    }
}

/// `net.ipv4.conf.{all,NAME}.rp_filter` and the value the kernel applies (their maximum).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RpFilter {
    pub device: Option<u8>,
    pub all: Option<u8>,
    pub effective: Option<u8>,
}

/// Read the reverse-path filter settings that apply to device `name`.
pub fn rp_filter(name: &str) -> RpFilter {
    let read = |dev: &str| -> Option<u8> {
        std::fs::read_to_string(format!("/proc/sys/net/ipv4/conf/{dev}/rp_filter"))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    let device = read(name);
    let all = read("all");
    let effective = match (device, all) {
        (Some(d), Some(a)) => Some(d.max(a)),
        _ => None,
    };
    RpFilter {
        device,
        all,
        effective,
    }
}

/// Every tunnel device of the daemon, and the shared userspace dataplane.
#[derive(Default)]
pub struct Tunnels {
    tunnels: BTreeMap<String, Tunnel>,
    engine: Option<Engine>,
    /// Result of the first attempt at an `ipip` link: `Some(reason)` if the kernel has
    /// no driver (then "auto" goes straight to userspace).
    kernel_unsupported: Option<String>,
}

impl Tunnels {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, name: &str) -> Option<&Tunnel> {
        self.tunnels.get(name)
    }

    /// Update what is stored without touching the device (the DVMRP metric).
    pub fn set_metric(&mut self, name: &str, metric: u8) {
        if let Some(t) = self.tunnels.get_mut(name) {
            t.config.metric = metric;
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Tunnel> {
        self.tunnels.values()
    }

    /// Packets on the raw socket that belong to no configured tunnel (userspace only).
    pub fn foreign_dropped(&self) -> u64 {
        self.engine
            .as_ref()
            .map_or(0, |e| e.foreign.load(Ordering::Relaxed))
    }

    /// Create the device of tunnel `name`, bring it up, set `rp_filter` 0 and, for the
    /// userspace dataplane, start its thread. A leftover device of the same name (an
    /// `ipip` link or a persistent TUN from an earlier run) is replaced or reused; a device
    /// of another kind is an error.
    pub fn create(
        &mut self,
        rtnl: &mut Rtnl,
        name: &str,
        cfg: &TunnelConfig,
    ) -> Result<&Tunnel, TunnelError> {
        if self.tunnels.contains_key(name) {
            self.remove(rtnl, name);
        }
        let t = match cfg.mode {
            TunnelMode::Kernel => self.create_kernel(rtnl, name, cfg)?,
            TunnelMode::Userspace => self.create_userspace(
                rtnl,
                name,
                cfg,
                "configured with mode = \"userspace\"".into(),
            )?,
            TunnelMode::Auto => match self.create_kernel(rtnl, name, cfg) {
                Ok(t) => t,
                Err(TunnelError::KernelUnsupported(why)) => {
                    tracing::info!(tunnel = %name, "{why}; using the userspace dataplane");
                    self.create_userspace(rtnl, name, cfg, why)?
                }
                Err(e) => return Err(e),
            },
        };
        self.tunnels.insert(name.to_owned(), t);
        Ok(&self.tunnels[name])
    }

    fn create_kernel(
        &mut self,
        rtnl: &mut Rtnl,
        name: &str,
        cfg: &TunnelConfig,
    ) -> Result<Tunnel, TunnelError> {
        if let Some(why) = &self.kernel_unsupported {
            return Err(TunnelError::KernelUnsupported(why.clone()));
        }
        clear_leftover(rtnl, name, &["ipip"])?;
        match rtnl
            .request(|seq| netlink::build_ipip_add(seq, name, cfg.local, cfg.remote, OUTER_TTL))
        {
            Ok(()) => {}
            Err(e) if e.errno() == Some(libc::EOPNOTSUPP) => {
                let detail = match &e {
                    crate::kernel::RtnlError::Netlink(netlink::NetlinkError::Kernel {
                        message: Some(m),
                        ..
                    }) => format!("EOPNOTSUPP, \"{m}\""),
                    _ => "EOPNOTSUPP".to_owned(),
                };
                let why = format!("kernel has no ipip driver (ip link add type ipip: {detail})");
                self.kernel_unsupported = Some(why.clone());
                return Err(TunnelError::KernelUnsupported(why));
            }
            Err(e) => {
                return Err(TunnelError::Failed(format!(
                    "creating the ipip link {name}: {e}"
                )));
            }
        }
        let ifindex = match find_link(rtnl, name) {
            Ok(Some(l)) => l.ifindex,
            other => {
                return Err(TunnelError::Failed(format!(
                    "the ipip link {name} was created but cannot be found: {other:?}"
                )));
            }
        };
        let t = Tunnel {
            name: name.to_owned(),
            config: cfg.clone(),
            dataplane: Dataplane::Kernel,
            reason: match cfg.mode {
                TunnelMode::Kernel => "configured with mode = \"kernel\"".into(),
                _ => "the kernel has an ipip driver".into(),
            },
            ifindex,
            counters: None,
            tun: None,
            tx: None,
        };
        if let Err(e) = prepare_device(rtnl, name, ifindex, None) {
            let _ = rtnl.request(|seq| netlink::build_link_del(seq, ifindex));
            return Err(e);
        }
        Ok(t)
    }

    fn create_userspace(
        &mut self,
        rtnl: &mut Rtnl,
        name: &str,
        cfg: &TunnelConfig,
        reason: String,
    ) -> Result<Tunnel, TunnelError> {
        // A persistent TUN is attached to; an ipip link from a kernel-mode run is replaced.
        clear_leftover(rtnl, name, &["ipip"])?;
        if self.engine.is_none() {
            let e = Engine::start().map_err(|e| {
                TunnelError::Failed(format!("opening the raw IPPROTO_IPIP socket: {e}"))
            })?;
            self.engine = Some(e);
        }
        let tun = TunDevice::open(name).map_err(|e| {
            TunnelError::Failed(match e.raw_os_error() {
                Some(libc::EBUSY) => {
                    format!("the TUN device {name} exists and another process holds it: {e}")
                }
                Some(libc::ENOENT) | Some(libc::ENODEV) => {
                    format!("the kernel has no TUN support (/dev/net/tun): {e}")
                }
                _ => format!("creating the TUN device {name}: {e}"),
            })
        })?;
        let tun = Arc::new(tun);
        let ifindex = match find_link(rtnl, name) {
            Ok(Some(l)) => l.ifindex,
            other => {
                return Err(TunnelError::Failed(format!(
                    "the TUN device {name} was created but cannot be found: {other:?}"
                )));
            }
        };
        prepare_device(rtnl, name, ifindex, Some(TUN_MTU))?;
        let engine = self.engine.as_ref().expect("started above");
        let counters = Arc::new(Counters::default());
        {
            let mut peers = engine.peers.write().unwrap_or_else(|e| e.into_inner());
            peers.retain(|p| p.tun.name() != name);
            peers.push(Peer {
                local: cfg.local,
                remote: cfg.remote,
                tun: tun.clone(),
                counters: counters.clone(),
            });
        }
        let stop =
            Arc::new(Waker::new().map_err(|e| TunnelError::Failed(format!("eventfd: {e}")))?);
        let thread = {
            let (tun, sock, counters, stop) = (
                tun.clone(),
                engine.sock.clone(),
                counters.clone(),
                stop.clone(),
            );
            let (local, remote, tname) = (cfg.local, cfg.remote, name.to_owned());
            std::thread::Builder::new()
                .name(format!("tunnel-tx-{name}"))
                .spawn(move || tx_loop(&tname, &tun, &sock, local, remote, &counters, &stop))
                .map_err(|e| TunnelError::Failed(format!("starting the send thread: {e}")))?
        };
        Ok(Tunnel {
            name: name.to_owned(),
            config: cfg.clone(),
            dataplane: Dataplane::Userspace,
            reason,
            ifindex,
            counters: Some(counters),
            tun: Some(tun),
            tx: Some(TxThread {
                stop,
                thread: Some(thread),
            }),
        })
    }

    /// Stop a tunnel and delete its device (a no-op for an unknown name). The kernel
    /// removes the device's VIF with it.
    pub fn remove(&mut self, rtnl: &mut Rtnl, name: &str) {
        let Some(mut t) = self.tunnels.remove(name) else {
            return;
        };
        match t.dataplane {
            Dataplane::Userspace => {
                // Stop the sender, then unregister from the receiver; the device goes when
                // the last reference to its descriptor is dropped.
                drop(t.tx.take());
                if let Some(e) = &self.engine {
                    e.peers
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .retain(|p| p.tun.name() != name);
                }
                drop(t.tun.take());
                if !self
                    .tunnels
                    .values()
                    .any(|t| t.dataplane == Dataplane::Userspace)
                {
                    self.engine = None;
                }
            }
            Dataplane::Kernel => {
                match rtnl.request(|seq| netlink::build_link_del(seq, t.ifindex)) {
                    Ok(()) => {}
                    Err(e) if e.errno() == Some(libc::ENODEV) => {}
                    Err(e) => tracing::warn!(tunnel = %name, "deleting the ipip link: {e}"),
                }
            }
        }
        tracing::info!(tunnel = %name, "tunnel device removed");
    }

    /// Remove every tunnel (at shutdown).
    pub fn remove_all(&mut self, rtnl: &mut Rtnl) {
        let names: Vec<String> = self.tunnels.keys().cloned().collect();
        for n in names {
            self.remove(rtnl, &n);
        }
        self.engine = None;
    }
}

fn find_link(rtnl: &mut Rtnl, name: &str) -> Result<Option<LinkInfo>, crate::kernel::RtnlError> {
    let links = rtnl.dump(netlink::build_link_dump, netlink::parse_link)?;
    Ok(links.into_iter().find(|l| l.name == name))
}

/// Delete a device named `name` left by an earlier run if its kind is in `replace`; keep a
/// TUN (it is attached to); refuse any other kind.
fn clear_leftover(rtnl: &mut Rtnl, name: &str, replace: &[&str]) -> Result<(), TunnelError> {
    let link = find_link(rtnl, name)
        .map_err(|e| TunnelError::Failed(format!("listing network devices: {e}")))?;
    let Some(l) = link else { return Ok(()) };
    let kind = l.kind.as_deref().unwrap_or("");
    if replace.contains(&kind) {
        tracing::info!(tunnel = %name, "replacing the leftover {kind} device {name}");
        return match rtnl.request(|seq| netlink::build_link_del(seq, l.ifindex)) {
            Ok(()) => Ok(()),
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(()),
            Err(e) => Err(TunnelError::Failed(format!(
                "deleting the leftover device {name}: {e}"
            ))),
        };
    }
    if kind == "tun" {
        return Ok(());
    }
    Err(TunnelError::Failed(format!(
        "a device named {name} already exists ({}) and is not a tunnel of mrouterd; \
         rename the tunnel or remove the device",
        if kind.is_empty() {
            "a physical device"
        } else {
            kind
        }
    )))
}

/// Sysctls and link state of a new tunnel device.
fn prepare_device(
    rtnl: &mut Rtnl,
    name: &str,
    ifindex: u32,
    mtu: Option<u32>,
) -> Result<(), TunnelError> {
    // Decapsulated packets come in on the tunnel while the route back to their source
    // usually points elsewhere: strict reverse-path filtering would drop them.
    let path = format!("/proc/sys/net/ipv4/conf/{name}/rp_filter");
    if let Err(e) = std::fs::write(&path, "0") {
        tracing::warn!(tunnel = %name, "setting {path} to 0: {e}");
    }
    let rp = rp_filter(name);
    if rp.all.is_some_and(|a| a != 0) {
        tracing::warn!(
            tunnel = %name,
            "net.ipv4.conf.all.rp_filter is {}: the kernel applies the larger of it and the \
             device's 0, so packets arriving through the tunnel may be dropped by the \
             reverse-path filter; set it to 0",
            rp.all.unwrap_or(0)
        );
    }
    // The tunnel carries IPv4 multicast only: no IPv6 autoconfiguration noise on it.
    let v6 = format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6");
    if std::path::Path::new(&v6).exists() {
        let _ = std::fs::write(&v6, "1");
    }
    let txqlen = mtu.map(|_| TUN_TXQLEN);
    rtnl.request(|seq| netlink::build_link_up(seq, ifindex, mtu, txqlen))
        .map_err(|e| TunnelError::Failed(format!("bringing {name} up: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4(dst: [u8; 4], total: u16, buf_len: usize) -> Vec<u8> {
        let mut p = vec![0u8; buf_len];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&total.to_be_bytes());
        p[8] = 16;
        p[9] = 17;
        p[12..16].copy_from_slice(&[10, 0, 1, 1]);
        p[16..20].copy_from_slice(&dst);
        p
    }

    #[test]
    fn inner_packets_are_checked() {
        let g = [239, 1, 1, 1];
        assert_eq!(check_inner(&ipv4(g, 92, 92)), Ok(92));
        // Trailing bytes beyond the total length are not carried.
        assert_eq!(check_inner(&ipv4(g, 92, 100)), Ok(92));
        assert_eq!(check_inner(&ipv4(g, 93, 92)), Err(DropReason::Malformed));
        assert_eq!(check_inner(&ipv4(g, 19, 92)), Err(DropReason::Malformed));
        assert_eq!(
            check_inner(&ipv4(g, 92, 92)[..10]),
            Err(DropReason::Malformed)
        );
        assert_eq!(check_inner(&[]), Err(DropReason::Malformed));
        let mut p = ipv4(g, 92, 92);
        p[0] = 0x44; // IHL 4
        assert_eq!(check_inner(&p), Err(DropReason::Malformed));
        p[0] = 0x4f; // IHL 15 = 60 bytes, total 92: fine
        assert_eq!(check_inner(&p), Ok(92));
        p[0] = 0x60;
        assert_eq!(check_inner(&p), Err(DropReason::NotIpv4));
        assert_eq!(
            check_inner(&ipv4([10, 0, 4, 2], 92, 92)),
            Err(DropReason::NotMulticast)
        );
    }

    #[test]
    fn outer_header_is_parsed() {
        let mut p = ipv4([10, 0, 3, 2], 112, 112);
        p[9] = 4;
        p[12..16].copy_from_slice(&[10, 0, 2, 1]);
        assert_eq!(
            parse_outer(&p),
            Some((Ipv4Addr::new(10, 0, 2, 1), Ipv4Addr::new(10, 0, 3, 2), 20))
        );
        assert_eq!(parse_outer(&p[..19]), None);
        p[0] = 0x46;
        assert_eq!(parse_outer(&p).map(|x| x.2), Some(24));
        p[0] = 0x43;
        assert_eq!(parse_outer(&p), None);
    }

    #[test]
    fn counters_snapshot() {
        let c = Counters::default();
        c.count_drop(DropReason::NotIpv4);
        c.count_drop(DropReason::NotMulticast);
        c.count_drop(DropReason::NotMulticast);
        c.last_send_errno.store(libc::EINVAL, Ordering::Relaxed);
        let s = c.snapshot();
        assert_eq!((s.dropped_not_ipv4, s.dropped_not_multicast), (1, 2));
        assert!(s.last_send_error.unwrap().contains("os error 22"));
    }
}
