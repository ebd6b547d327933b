//! `mcast send`: paced UDP datagrams with an `MCST` header to a group.

use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::payload::{HEADER_LEN, Header};
use super::report::SendReport;
use super::{interface_index, now_unix_ns, stop_requested, sys};

/// Largest UDP payload over IPv4.
pub const MAX_SIZE: usize = 65_507;

/// Arguments of `mcast send`.
#[derive(clap::Args, Debug, Clone)]
pub struct SendArgs {
    /// Destination multicast group.
    #[arg(long)]
    pub group: Ipv4Addr,
    /// Destination UDP port.
    #[arg(long, default_value_t = 5000)]
    pub port: u16,
    /// Packets per second (fractions allowed), paced by absolute deadlines.
    #[arg(long, value_name = "PPS", default_value_t = 10.0)]
    pub rate: f64,
    /// Number of packets to send; 0 sends until SIGINT/SIGTERM.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub count: u64,
    /// IP TTL of the datagrams.
    #[arg(long, default_value_t = 16)]
    pub ttl: u8,
    /// UDP payload size in bytes (header plus zero padding), at least the 28-byte header.
    #[arg(long, value_name = "BYTES", default_value_t = 64)]
    pub size: usize,
    /// Outgoing interface (IP_MULTICAST_IF by index); default: route lookup of the group.
    #[arg(long, value_name = "IFNAME")]
    pub interface: Option<String>,
    /// Bind the socket to this local address (the datagrams' source address).
    #[arg(long, value_name = "ADDR")]
    pub source: Option<Ipv4Addr>,
    /// Enable IP_MULTICAST_LOOP (local receivers on this host get a copy).
    #[arg(long = "loop")]
    pub multicast_loop: bool,
    /// Sender id written into the header; default: random.
    #[arg(long, value_name = "ID")]
    pub sender_id: Option<u32>,
    /// Print the summary as one JSON object on stdout instead of a line on stderr.
    #[arg(long)]
    pub json: bool,
}

/// A random sender id (pid, time and the std hasher's random keys).
fn random_sender_id() -> u32 {
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u64(now_unix_ns());
    let v = h.finish();
    (v ^ (v >> 32)) as u32
}

/// Errors a running sender counts and survives: congestion, routes or links coming and
/// going, firewall drops (EPERM from an nftables drop in output).
fn transient_error_name(e: &io::Error) -> Option<&'static str> {
    Some(match e.raw_os_error()? {
        libc::ENOBUFS => "ENOBUFS",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::ENETDOWN => "ENETDOWN",
        libc::ENODEV => "ENODEV",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::EPERM => "EPERM",
        libc::EAGAIN => "EAGAIN",
        libc::EINTR => "EINTR",
        libc::ECONNREFUSED => "ECONNREFUSED",
        _ => return None,
    })
}

fn validate(args: &SendArgs) -> Result<()> {
    if !args.group.is_multicast() {
        bail!("{} is not an IPv4 multicast address", args.group);
    }
    if !(args.rate.is_finite() && args.rate > 0.0) {
        bail!(
            "--rate must be a positive number of packets per second, got {}",
            args.rate
        );
    }
    if !(HEADER_LEN..=MAX_SIZE).contains(&args.size) {
        bail!(
            "--size must be between {HEADER_LEN} (the header) and {MAX_SIZE}, got {}",
            args.size
        );
    }
    Ok(())
}

/// Creates and configures the sending socket.
fn open_socket(args: &SendArgs) -> Result<Socket> {
    let sock = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
        .context("cannot create UDP socket")?;
    if let Some(src) = args.source {
        sock.bind(&SockAddr::from(SocketAddrV4::new(src, 0)))
            .with_context(|| format!("cannot bind to source address {src}"))?;
    }
    sock.set_multicast_ttl_v4(u32::from(args.ttl))
        .context("cannot set IP_MULTICAST_TTL")?;
    sock.set_multicast_loop_v4(args.multicast_loop)
        .context("cannot set IP_MULTICAST_LOOP")?;
    if let Some(name) = &args.interface {
        let index = interface_index(name)?;
        let addr = match args.source {
            Some(s) => s,
            None => *sys::interface_ipv4_addrs(name)
                .with_context(|| format!("cannot list addresses of interface {name}"))?
                .first()
                .ok_or_else(|| anyhow::anyhow!("interface {name} has no IPv4 address"))?,
        };
        sys::set_multicast_if(&sock, index, addr)
            .with_context(|| format!("cannot set IP_MULTICAST_IF to interface {name}"))?;
    }
    Ok(sock)
}

/// Runs the sender until `--count` packets were attempted or SIGINT/SIGTERM (see
/// [`super::install_stop_handler`]); returns the summary. Configuration errors are returned
/// before anything is sent; transient send errors are counted and survived.
pub fn run(args: &SendArgs) -> Result<SendReport> {
    validate(args)?;
    let sock = open_socket(args)?;
    let dest = SockAddr::from(SocketAddrV4::new(args.group, args.port));
    let sender = args.sender_id.unwrap_or_else(random_sender_id);
    let mut buf = vec![0u8; args.size];
    let interval_ns = 1e9 / args.rate;
    // Short sleeps must wake on time for rates up to tens of thousands per second.
    sys::set_timer_slack(1_000);

    let mut report = SendReport {
        group: args.group,
        port: args.port,
        source: args.source,
        interface: args.interface.clone(),
        sender,
        sent: 0,
        errors: 0,
        error_kinds: BTreeMap::new(),
        first_seq: 0,
        last_seq: None,
        rate_requested: args.rate,
        rate_achieved: None,
        duration_ms: 0.0,
        interrupted: false,
    };
    let start = Instant::now();
    let mut first_attempt: Option<Instant> = None;
    let mut last_attempt = start;
    let mut seq: u64 = 0;
    loop {
        if args.count > 0 && seq >= args.count {
            break;
        }
        if stop_requested() {
            report.interrupted = true;
            break;
        }
        // Absolute schedule: packet `seq` is due at start + seq / rate, so sleep overshoot
        // never accumulates (a late wakeup sends the packets that are due back to back).
        let due = start + Duration::from_nanos((seq as f64 * interval_ns) as u64);
        let now = Instant::now();
        if due > now {
            std::thread::sleep((due - now).min(Duration::from_millis(100)));
            continue;
        }
        Header {
            sender,
            seq,
            sent_ns: now_unix_ns(),
        }
        .emit(&mut buf);
        let attempt = Instant::now();
        first_attempt.get_or_insert(attempt);
        last_attempt = attempt;
        match sock.send_to(&buf, &dest) {
            Ok(_) => report.sent += 1,
            Err(e) => match transient_error_name(&e) {
                Some(name) => {
                    report.errors += 1;
                    let n = report.error_kinds.entry(name.to_string()).or_insert(0);
                    if *n == 0 {
                        eprintln!(
                            "mcast send: warning: send failed with {name} ({e}); counting and continuing"
                        );
                    }
                    *n += 1;
                }
                None => {
                    return Err(e).with_context(|| {
                        format!("sending to {}:{} failed", args.group, args.port)
                    });
                }
            },
        }
        report.last_seq = Some(seq);
        seq += 1;
    }
    report.duration_ms = start.elapsed().as_secs_f64() * 1e3;
    if let Some(first) = first_attempt {
        let span = last_attempt.duration_since(first).as_secs_f64();
        if seq >= 2 && span > 0.0 {
            report.rate_achieved = Some((seq - 1) as f64 / span);
        }
    }
    Ok(report)
}

/// The one-line human summary printed on stderr.
pub fn summary_line(r: &SendReport) -> String {
    let mut line = format!(
        "mcast send: sent {} packets to {}:{} in {:.3} s",
        r.sent,
        r.group,
        r.port,
        r.duration_ms / 1e3
    );
    if let Some(rate) = r.rate_achieved {
        line.push_str(&format!(" ({rate:.1} pps, requested {})", r.rate_requested));
    }
    line.push_str(&format!(", sender id {:#010x}", r.sender));
    if r.errors > 0 {
        let kinds: Vec<String> = r
            .error_kinds
            .iter()
            .map(|(k, v)| format!("{k} x{v}"))
            .collect();
        line.push_str(&format!(
            ", {} send errors ({})",
            r.errors,
            kinds.join(", ")
        ));
    }
    if r.interrupted {
        line.push_str(", interrupted");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        a: SendArgs,
    }

    fn parse(args: &[&str]) -> SendArgs {
        Wrap::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
            .unwrap()
            .a
    }

    #[test]
    fn defaults() {
        let a = parse(&["--group", "239.1.2.3"]);
        assert_eq!(
            (a.port, a.rate, a.count, a.ttl, a.size),
            (5000, 10.0, 0, 16, 64)
        );
        assert!(!a.multicast_loop && !a.json && a.interface.is_none() && a.source.is_none());
        validate(&a).unwrap();
    }

    #[test]
    fn validation_errors() {
        let e = validate(&parse(&["--group", "10.1.2.3"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an IPv4 multicast"), "{e}");
        let e = validate(&parse(&["--group", "239.1.2.3", "--size", "27"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--size"), "{e}");
        let e = validate(&parse(&["--group", "239.1.2.3", "--rate", "0"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--rate"), "{e}");
        validate(&parse(&[
            "--group",
            "239.1.2.3",
            "--size",
            "28",
            "--rate",
            "0.5",
        ]))
        .unwrap();
    }

    #[test]
    fn missing_interface_is_a_clear_error() {
        let a = parse(&[
            "--group",
            "239.1.2.3",
            "--interface",
            "nosuchif0",
            "--count",
            "1",
        ]);
        let e = format!("{:#}", run(&a).unwrap_err());
        assert!(e.contains("no such interface nosuchif0"), "{e}");
    }

    #[test]
    fn sender_ids_differ() {
        assert_ne!(random_sender_id(), random_sender_id());
    }
}
