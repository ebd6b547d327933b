//! `mcast recv`: join groups (any-source, source-specific or with blocked sources), count
//! what arrives and report.
//!
//! Sockets: every socket is bound to `0.0.0.0:port` with `SO_REUSEADDR` (several receivers
//! may share a host) and `IP_MULTICAST_ALL` off, so the kernel hands it only datagrams of
//! groups *this socket* joined, filtered by *its* source filter and join interface. The
//! destination address of each datagram (`IP_PKTINFO`) is checked against the joined groups
//! anyway, which also sorts datagrams into per-group flows. A socket can hold only
//! `net.ipv4.igmp_max_memberships` groups (20 by default) and `optmem_max` worth of filters,
//! so when a join fails with ENOBUFS the receiver opens another socket and carries on; one
//! `poll` loop serves them all. Arrival times are kernel timestamps (`SO_TIMESTAMPNS`).
//!
//! Source filtering is left entirely to the kernel: a datagram from a source outside
//! `--source` (or inside `--exclude`) that still shows up in the report really reached
//! this socket.

use std::collections::HashSet;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};

use super::report::{Progress, Report};
use super::stats::Stats;
use super::{interface_index, now_unix_ns, stop_requested, sys};

/// Receive buffer requested per socket (`SO_RCVBUFFORCE` when privileged, else capped by
/// `net.core.rmem_max`).
const RCVBUF: usize = 4 << 20;
/// Longest the loop blocks, so signals and deadlines are noticed promptly.
const TICK: Duration = Duration::from_millis(100);
/// Datagrams taken from one socket per poll round (fairness between sockets).
const BURST: usize = 256;

/// Arguments of `mcast recv`.
#[derive(clap::Args, Debug, Clone)]
pub struct RecvArgs {
    /// Group to join (repeatable).
    #[arg(long = "group", value_name = "GROUP", required = true)]
    pub groups: Vec<Ipv4Addr>,
    /// UDP port.
    #[arg(long, default_value_t = 5000)]
    pub port: u16,
    /// Join source-specifically (IP_ADD_SOURCE_MEMBERSHIP) to this source (repeatable).
    #[arg(long = "source", value_name = "SOURCE", conflicts_with = "exclude")]
    pub sources: Vec<Ipv4Addr>,
    /// Join any-source and block this source (IP_BLOCK_SOURCE; repeatable): EXCLUDE{S...}.
    #[arg(long = "exclude", value_name = "SOURCE")]
    pub exclude: Vec<Ipv4Addr>,
    /// Interface to join on (by index); default: route lookup of each group.
    #[arg(long, value_name = "IFNAME")]
    pub interface: Option<String>,
    /// Seconds to receive; 0 means until --count or a signal.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub duration: f64,
    /// Stop early once this many unique datagrams arrived.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Print JSON (one object per line) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Print cumulative counts every SECS seconds.
    #[arg(long, value_name = "SECS")]
    pub progress: Option<f64>,
}

/// How the groups are joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinMode {
    /// Any-source joins.
    Asm,
    /// Source-specific joins, one per source.
    Include(Vec<Ipv4Addr>),
    /// Any-source joins with these sources blocked.
    Exclude(Vec<Ipv4Addr>),
}

impl JoinMode {
    fn name(&self) -> &'static str {
        match self {
            JoinMode::Asm => "asm",
            JoinMode::Include(_) => "include",
            JoinMode::Exclude(_) => "exclude",
        }
    }
}

fn dedup<T: PartialEq + Copy>(v: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(v.len());
    for &x in v {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

fn validate(args: &RecvArgs) -> Result<(Vec<Ipv4Addr>, JoinMode)> {
    if args.groups.is_empty() {
        bail!("at least one --group is required");
    }
    let groups = if args.groups.len() > 64 {
        let mut seen = HashSet::new();
        args.groups
            .iter()
            .copied()
            .filter(|g| seen.insert(*g))
            .collect()
    } else {
        dedup(&args.groups)
    };
    if let Some(g) = groups.iter().find(|g| !g.is_multicast()) {
        bail!("{g} is not an IPv4 multicast address");
    }
    if !args.sources.is_empty() && !args.exclude.is_empty() {
        bail!("--source and --exclude cannot be used together");
    }
    if !(args.duration.is_finite() && args.duration >= 0.0) {
        bail!(
            "--duration must be a non-negative number of seconds, got {}",
            args.duration
        );
    }
    if let Some(p) = args.progress.filter(|p| !(p.is_finite() && *p > 0.0)) {
        bail!("--progress must be a positive number of seconds, got {p}");
    }
    let mode = if !args.sources.is_empty() {
        JoinMode::Include(dedup(&args.sources))
    } else if !args.exclude.is_empty() {
        JoinMode::Exclude(dedup(&args.exclude))
    } else {
        JoinMode::Asm
    };
    Ok((groups, mode))
}

struct RxSocket {
    sock: Socket,
    groups: usize,
    drops: u32,
}

fn open_socket(port: u16) -> Result<Socket> {
    let sock = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
        .context("cannot create UDP socket")?;
    sock.set_reuse_address(true)
        .context("cannot set SO_REUSEADDR")?;
    sock.set_multicast_all_v4(false)
        .context("cannot clear IP_MULTICAST_ALL")?;
    sys::enable_recv_metadata(&sock).context("cannot enable IP_PKTINFO/SO_TIMESTAMPNS")?;
    if sys::force_recv_buffer(&sock, RCVBUF).is_err() {
        let _ = sock.set_recv_buffer_size(RCVBUF);
    }
    sock.bind(&SockAddr::from(SocketAddrV4::new(
        Ipv4Addr::UNSPECIFIED,
        port,
    )))
    .with_context(|| format!("cannot bind to 0.0.0.0:{port}"))?;
    Ok(sock)
}

/// Performs the membership operations for `group` on `sock`. The error says which step
/// failed; the first step failing with ENOBUFS means "socket full".
fn join(sock: &Socket, group: Ipv4Addr, mode: &JoinMode, ifindex: u32) -> Result<(), JoinError> {
    let asm = |sock: &Socket| {
        sock.join_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(ifindex))
            .map_err(|e| JoinError {
                first_step: true,
                what: format!("join {group}"),
                err: e,
            })
    };
    match mode {
        JoinMode::Asm => asm(sock),
        JoinMode::Include(sources) => {
            for (i, &s) in sources.iter().enumerate() {
                sys::join_source_group(sock, group, s, ifindex).map_err(|e| JoinError {
                    first_step: i == 0,
                    what: format!("join ({s}, {group})"),
                    err: e,
                })?;
            }
            Ok(())
        }
        JoinMode::Exclude(sources) => {
            asm(sock)?;
            for &s in sources {
                sys::block_source(sock, group, s, ifindex).map_err(|e| JoinError {
                    first_step: false,
                    what: format!("block source {s} in group {group}"),
                    err: e,
                })?;
            }
            Ok(())
        }
    }
}

struct JoinError {
    first_step: bool,
    what: String,
    err: io::Error,
}

impl JoinError {
    fn into_anyhow(self) -> anyhow::Error {
        let hint = if self.err.raw_os_error() == Some(libc::ENOBUFS) {
            " (per-socket limits: net.ipv4.igmp_max_msf sources per group, net.core.optmem_max)"
        } else {
            ""
        };
        anyhow::anyhow!("cannot {}: {}{hint}", self.what, self.err)
    }
}

/// Joins every group, spreading them over as many sockets as the kernel limits require.
fn join_all(
    port: u16,
    groups: &[Ipv4Addr],
    mode: &JoinMode,
    ifindex: u32,
) -> Result<Vec<RxSocket>> {
    let mut sockets = vec![RxSocket {
        sock: open_socket(port)?,
        groups: 0,
        drops: 0,
    }];
    for &g in groups {
        let cur = sockets.last_mut().expect("at least one socket");
        match join(&cur.sock, g, mode, ifindex) {
            Ok(()) => cur.groups += 1,
            Err(e)
                if e.first_step
                    && cur.groups > 0
                    && e.err.raw_os_error() == Some(libc::ENOBUFS) =>
            {
                // This socket is full: continue on a fresh one.
                let sock = open_socket(port)?;
                join(&sock, g, mode, ifindex).map_err(JoinError::into_anyhow)?;
                sockets.push(RxSocket {
                    sock,
                    groups: 1,
                    drops: 0,
                });
            }
            Err(e) => return Err(e.into_anyhow()),
        }
    }
    Ok(sockets)
}

fn write_line(line: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

fn progress_text(p: &Progress) -> String {
    let mut line = format!(
        "[{:8.3}s] received {} unique {} lost {} duplicates {} reordered {} invalid {}",
        p.elapsed_ms / 1e3,
        p.received,
        p.unique,
        p.lost,
        p.duplicates,
        p.reordered,
        p.invalid
    );
    for (src, s) in &p.sources {
        line.push_str(&format!(
            "  {src}: {}/{} lost {}",
            s.unique, s.received, s.lost
        ));
    }
    line
}

fn opt_ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.3} ms"))
}

/// The multi-line human form of the final report.
pub fn report_text(r: &Report) -> String {
    let groups: Vec<String> = r.groups.iter().map(|g| g.to_string()).collect();
    let mut s = format!(
        "mcast recv: {} port {} mode {}",
        groups.join(" "),
        r.port,
        r.mode
    );
    if !r.include.is_empty() {
        let v: Vec<String> = r.include.iter().map(|a| a.to_string()).collect();
        s.push_str(&format!(" sources {}", v.join(" ")));
    }
    if !r.exclude.is_empty() {
        let v: Vec<String> = r.exclude.iter().map(|a| a.to_string()).collect();
        s.push_str(&format!(" excluding {}", v.join(" ")));
    }
    if let Some(i) = &r.interface {
        s.push_str(&format!(" on {i}"));
    }
    s.push_str(&format!(
        "\n  stopped by {} after {:.3} s\n  received {}  unique {}  duplicates {}  reordered {}  lost {}  invalid {}  ignored {}  socket drops {}\n  first arrival {}  last arrival {}\n  latency: first {}  mean {}  max {}\n",
        r.stop_reason,
        r.duration_ms / 1e3,
        r.received,
        r.unique,
        r.duplicates,
        r.reordered,
        r.lost,
        r.invalid,
        r.ignored,
        r.socket_drops,
        opt_ms(r.first_arrival_ms),
        opt_ms(r.last_arrival_ms),
        opt_ms(r.first_latency_ms),
        opt_ms(r.mean_latency_ms),
        opt_ms(r.max_latency_ms),
    ));
    for f in &r.flows {
        s.push_str(&format!(
            "  flow {} from {} sender {:#010x}: received {} unique {} lost {} dup {} reord {} seq {}..{} (first {}) latency mean {:.3} max {:.3} ms\n",
            f.group,
            f.source,
            f.sender,
            f.received,
            f.unique,
            f.lost,
            f.duplicates,
            f.reordered,
            f.min_seq,
            f.max_seq,
            f.first_seq,
            f.mean_latency_ms,
            f.max_latency_ms
        ));
    }
    s.pop();
    s
}

/// Runs the receiver: joins, counts until `--duration`, `--count` or SIGINT/SIGTERM (see
/// [`super::install_stop_handler`]), printing progress lines on the way; returns the final
/// report (the caller prints it, see [`report_text`]).
pub fn run(args: &RecvArgs) -> Result<Report> {
    let (groups, mode) = validate(args)?;
    let ifindex = match &args.interface {
        Some(name) => interface_index(name)?,
        None => 0,
    };
    let group_set: HashSet<Ipv4Addr> = groups.iter().copied().collect();

    // Time zero is just before the first join: first_arrival_ms is the join latency.
    let start = Instant::now();
    let mut stats = Stats::new(now_unix_ns());
    let mut sockets = join_all(args.port, &groups, &mode, ifindex)?;
    let fds: Vec<RawFd> = sockets.iter().map(|s| s.sock.as_raw_fd()).collect();
    if args.json {
        // Tells a reader (tests, the testbed demo) that the host has joined: traffic sent
        // from now on is expected to arrive.
        let line = serde_json::json!({
            "type": "joined",
            "groups": groups,
            "sockets": sockets.len(),
        });
        let _ = write_line(&line.to_string());
    }

    let deadline = (args.duration > 0.0).then(|| start + Duration::from_secs_f64(args.duration));
    let progress_every = args.progress.map(Duration::from_secs_f64);
    let mut next_progress = progress_every.map(|p| start + p);
    let mut buf = vec![0u8; 65_536];
    let mut ready = Vec::new();
    let stop_reason = 'run: loop {
        if stop_requested() {
            break 'run "signal";
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            break 'run "duration";
        }
        if let (Some(np), Some(every)) = (next_progress.filter(|&np| now >= np), progress_every) {
            let p = stats.progress(now_unix_ns());
            let line = if args.json {
                serde_json::to_string(&p)?
            } else {
                progress_text(&p)
            };
            // A reader that went away is not a reason to stop counting.
            let _ = write_line(&line);
            let mut n = np + every;
            while n <= now {
                n += every;
            }
            next_progress = Some(n);
        }
        let mut wait = TICK;
        for t in [deadline, next_progress].into_iter().flatten() {
            wait = wait.min(t.saturating_duration_since(now));
        }
        sys::poll_readable(&fds, wait, &mut ready).context("poll failed")?;
        for &i in &ready {
            let rx = &mut sockets[i];
            for _ in 0..BURST {
                let meta = match sys::recv_msg(&rx.sock, &mut buf) {
                    Ok(m) => m,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e).context("recvmsg failed"),
                };
                let arrival = meta.rx_ns.unwrap_or_else(now_unix_ns);
                if let Some(d) = meta.drops {
                    rx.drops = d;
                }
                match meta.dst.filter(|d| group_set.contains(d)) {
                    Some(group) => {
                        let len = meta.len.min(buf.len());
                        let _ = stats.record_payload(group, *meta.src.ip(), &buf[..len], arrival);
                    }
                    None => stats.record_ignored(),
                }
                if args.count.is_some_and(|c| stats.unique() >= c) {
                    break 'run "count";
                }
            }
        }
    };

    let mut report = stats.report(now_unix_ns());
    report.groups = groups;
    report.port = args.port;
    report.mode = mode.name().to_string();
    match mode {
        JoinMode::Asm => {}
        JoinMode::Include(s) => report.include = s,
        JoinMode::Exclude(s) => report.exclude = s,
    }
    report.interface = args.interface.clone();
    report.stop_reason = stop_reason.to_string();
    report.socket_drops = sockets.iter().map(|s| u64::from(s.drops)).sum();
    Ok(report)
}

/// Prints the final report as the CLI does (`--json`: one line; else text), flushing stdout.
pub fn print_report(r: &Report, json: bool) -> Result<()> {
    let text = if json {
        serde_json::to_string(r)?
    } else {
        report_text(r)
    };
    write_line(&text).context("cannot write the report to stdout")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Wrap {
        #[command(flatten)]
        a: RecvArgs,
    }

    fn parse(args: &[&str]) -> Result<RecvArgs, clap::Error> {
        Wrap::try_parse_from(std::iter::once("t").chain(args.iter().copied())).map(|w| w.a)
    }

    #[test]
    fn modes() {
        let a = parse(&[
            "--group",
            "239.1.1.1",
            "--group",
            "239.1.1.2",
            "--group",
            "239.1.1.1",
        ])
        .unwrap();
        let (g, m) = validate(&a).unwrap();
        assert_eq!(
            g,
            [Ipv4Addr::new(239, 1, 1, 1), Ipv4Addr::new(239, 1, 1, 2)]
        );
        assert_eq!(m, JoinMode::Asm);
        assert_eq!(
            (a.port, a.duration, a.count, a.progress),
            (5000, 10.0, None, None)
        );
        let a = parse(&[
            "--group",
            "232.1.1.1",
            "--source",
            "10.0.0.1",
            "--source",
            "10.0.0.2",
        ])
        .unwrap();
        assert_eq!(
            validate(&a).unwrap().1,
            JoinMode::Include(vec![Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)])
        );
        let a = parse(&["--group", "239.1.1.1", "--exclude", "10.0.0.1"]).unwrap();
        assert_eq!(
            validate(&a).unwrap().1,
            JoinMode::Exclude(vec![Ipv4Addr::new(10, 0, 0, 1)])
        );
    }

    #[test]
    fn source_and_exclude_conflict() {
        assert!(
            parse(&[
                "--group",
                "239.1.1.1",
                "--source",
                "10.0.0.1",
                "--exclude",
                "10.0.0.2"
            ])
            .is_err()
        );
        // Library callers building RecvArgs by hand get the same check.
        let mut a = parse(&["--group", "239.1.1.1", "--source", "10.0.0.1"]).unwrap();
        a.exclude = vec![Ipv4Addr::new(10, 0, 0, 2)];
        assert!(
            validate(&a)
                .unwrap_err()
                .to_string()
                .contains("cannot be used together")
        );
    }

    #[test]
    fn bad_values() {
        let a = parse(&["--group", "10.1.1.1"]).unwrap();
        assert!(
            validate(&a)
                .unwrap_err()
                .to_string()
                .contains("not an IPv4 multicast")
        );
        let a = parse(&["--group", "239.1.1.1", "--progress", "0"]).unwrap();
        assert!(validate(&a).is_err());
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn text_report_renders() {
        let mut st = Stats::new(0);
        st.record(
            Ipv4Addr::new(239, 1, 1, 1),
            Ipv4Addr::new(10, 0, 0, 1),
            &super::super::payload::Header {
                sender: 7,
                seq: 0,
                sent_ns: 0,
            },
            1_000_000,
        );
        let mut r = st.report(2_000_000);
        r.groups = vec![Ipv4Addr::new(239, 1, 1, 1)];
        r.mode = "asm".into();
        r.stop_reason = "duration".into();
        let t = report_text(&r);
        assert!(t.contains("unique 1"), "{t}");
        assert!(
            t.contains("flow 239.1.1.1 from 10.0.0.1 sender 0x00000007"),
            "{t}"
        );
        assert!(!t.ends_with('\n'));
    }
}
