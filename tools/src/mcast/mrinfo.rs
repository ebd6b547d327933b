//! `mcast mrinfo ROUTER`: ask a DVMRP router (mrouterd, mrouted) for its interfaces and
//! neighbours, as `mrinfo` does: an Ask Neighbors2 (IGMP type 0x13, code 5) by unicast to
//! the router, answered by Neighbors2 messages (code 6) carrying the router's version and
//! capabilities and, per interface, its local address, metric, TTL threshold, flags and
//! neighbours (draft-ietf-idmr-dvmrp-v3-11 appendix B). The codec is the `dvmrp` crate's.
//!
//! * The question goes from a raw IGMP socket (root or CAP_NET_RAW), the kernel choosing
//!   the source address, with TTL 255 (mrinfo's, a unicast that may cross routers), and is
//!   repeated every second until an answer arrives or `--timeout` passes.
//! * The first Neighbors2 sets the responder (normally the router asked; mrinfo too warns
//!   when another address answers); further messages are taken from it only, identical
//!   repeats ignored. A router splits a long answer over several messages of at most 576
//!   octets (mrouted and mrouterd both fill each message before starting the next), so a
//!   message with room for one more entry is the last one; otherwise the answer is taken
//!   as complete 500 ms after the last message. mrinfo itself prints only the first.
//! * An interface split over messages (same local address, metric, threshold and flags
//!   in consecutive entries) is shown once, with all its neighbours. mrinfo's 0.0.0.0
//!   "neighbour" of an interface without neighbours is printed as mrinfo prints it, and
//!   left out of the JSON list.
//! * Names are not looked up: addresses print as `mrinfo -n` prints them.

use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddrV4, ToSocketAddrs};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dvmrp::packet::{self, Body, Capabilities, InterfaceFlags, MAX_LEN_576, Message};
use serde::{Deserialize, Serialize};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::stop_requested;

/// How long to wait for more messages after one that was full.
const LINGER: Duration = Duration::from_millis(500);
/// The question is repeated this often while no answer came.
const RETRY: Duration = Duration::from_secs(1);
/// One Neighbors2 entry with one neighbour: a message with room for this was the last.
const ENTRY_WITH_ONE_NEIGHBOR: usize = 12;

/// Arguments of `mcast mrinfo`.
#[derive(clap::Args, Debug, Clone)]
pub struct MrinfoArgs {
    /// The router to ask: an IPv4 address or a host name (default: this host, as mrinfo).
    #[arg(default_value = "127.0.0.1")]
    pub router: String,
    /// Seconds to wait for the answer (the question is repeated every second meanwhile).
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub timeout: f64,
    /// Print the answer as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The answer, as `mcast mrinfo --json` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MrinfoReport {
    /// The address asked.
    pub router: Ipv4Addr,
    /// The address the answer came from.
    pub responder: Ipv4Addr,
    /// "major.minor", e.g. "3.255" for a router compliant with the draft.
    pub version: String,
    pub major_version: u8,
    pub minor_version: u8,
    /// The capability flags of the answer's header, as sent.
    pub capabilities: u8,
    /// The same as names: leaf, prune, genid, mtrace, snmp, netmask.
    pub capability_names: Vec<String>,
    /// Neighbors2 messages the answer came in.
    pub messages: usize,
    pub interfaces: Vec<MrinfoInterface>,
}

/// One interface of the router.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MrinfoInterface {
    /// Its address (a tunnel's local end).
    pub local: Ipv4Addr,
    pub metric: u8,
    /// TTL threshold.
    pub threshold: u8,
    /// The flags as sent.
    pub flag_bits: u8,
    /// The same as names, in mrinfo's order: tunnel, srcrt, pim, querier, disabled, down,
    /// leaf.
    pub flags: Vec<String>,
    /// Its neighbours (a tunnel: its remote end); empty if the router listed none
    /// (0.0.0.0 on the wire).
    pub neighbors: Vec<Ipv4Addr>,
}

/// The router's address: a literal, or the first IPv4 address of a name.
fn resolve(router: &str) -> Result<Ipv4Addr> {
    if let Ok(a) = router.parse() {
        return Ok(a);
    }
    (router, 0)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {router}"))?
        .find_map(|s| match s {
            std::net::SocketAddr::V4(v4) => Some(*v4.ip()),
            std::net::SocketAddr::V6(_) => None,
        })
        .with_context(|| format!("{router} has no IPv4 address"))
}

/// The source and DVMRP message of a received IPv4 packet, if it is a well-formed DVMRP
/// message (IP protocol 2, IGMP type 0x13, good checksum), with the message's length.
pub fn parse_packet(ip: &[u8]) -> Option<(Ipv4Addr, Message, usize)> {
    let (&vihl, _) = ip.split_first()?;
    let ihl = usize::from(vihl & 0x0f) * 4;
    if vihl >> 4 != 4 || ihl < 20 || ip.len() < ihl {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    // Raw sockets on Linux give the header as received (total length in network order).
    let end = if (ihl..=ip.len()).contains(&total) {
        total
    } else {
        ip.len()
    };
    if ip[9] != packet::IP_PROTOCOL {
        return None;
    }
    let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let payload = &ip[ihl..end];
    let msg = packet::parse(payload).ok()?;
    Some((src, msg, payload.len()))
}

fn capability_names(c: Capabilities) -> Vec<String> {
    [
        (c.leaf(), "leaf"),
        (c.prune(), "prune"),
        (c.genid(), "genid"),
        (c.mtrace(), "mtrace"),
        (c.snmp(), "snmp"),
        (c.netmask(), "netmask"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| n.to_owned())
    .collect()
}

/// Flag names in mrinfo's order.
fn flag_names(f: InterfaceFlags) -> Vec<String> {
    [
        (InterfaceFlags::TUNNEL, "tunnel"),
        (InterfaceFlags::SRCRT, "srcrt"),
        (InterfaceFlags::PIM, "pim"),
        (InterfaceFlags::QUERIER, "querier"),
        (InterfaceFlags::DISABLED, "disabled"),
        (InterfaceFlags::DOWN, "down"),
        (InterfaceFlags::LEAF, "leaf"),
    ]
    .into_iter()
    .filter(|(flag, _)| f.contains(*flag))
    .map(|(_, n)| n.to_owned())
    .collect()
}

/// The report of an answer: the header of its first message, its interfaces with the
/// entries of one interface split over consecutive entries (or messages) joined.
pub fn assemble(router: Ipv4Addr, responder: Ipv4Addr, messages: &[Message]) -> MrinfoReport {
    let header = messages.first().map(|m| m.header).unwrap_or_default();
    let mut interfaces: Vec<MrinfoInterface> = Vec::new();
    let mut last: Option<(Ipv4Addr, u8, u8, InterfaceFlags)> = None;
    let entries = messages.iter().flat_map(|m| match &m.body {
        Body::Neighbors2(e) => e.as_slice(),
        _ => &[],
    });
    for e in entries {
        let key = (e.local, e.metric, e.threshold, e.flags);
        let nbrs = e.neighbors.iter().copied().filter(|n| !n.is_unspecified());
        match interfaces.last_mut() {
            Some(i) if last == Some(key) => i.neighbors.extend(nbrs),
            _ => interfaces.push(MrinfoInterface {
                local: e.local,
                metric: e.metric,
                threshold: e.threshold,
                flag_bits: e.flags.0,
                flags: flag_names(e.flags),
                neighbors: nbrs.collect(),
            }),
        }
        last = Some(key);
    }
    MrinfoReport {
        router,
        responder,
        version: format!("{}.{}", header.major, header.minor),
        major_version: header.major,
        minor_version: header.minor,
        capabilities: header.capabilities.0,
        capability_names: capability_names(header.capabilities),
        messages: messages.len(),
        interfaces,
    }
}

/// mrinfo's `inet_name` without name lookups: "local" for 0.0.0.0, else the address.
fn name(a: Ipv4Addr) -> String {
    if a.is_unspecified() {
        "local".into()
    } else {
        a.to_string()
    }
}

/// The answer as mrinfo prints it:
///
/// ```text
/// 10.0.2.2 (10.0.2.2) [version 3.255,prune,genid,mtrace]:
///   10.0.2.2 -> 10.0.2.1 (10.0.2.1) [2/8]
///   10.0.5.1 -> 0.0.0.0 (local) [1/1/querier/leaf]
///   10.0.3.1 -> 10.0.3.2 (10.0.3.2) [3/16/tunnel]
/// ```
pub fn render_text(r: &MrinfoReport) -> String {
    let mut out = format!(
        "{} ({}) [version {}.{}",
        r.responder,
        name(r.responder),
        r.major_version,
        r.minor_version
    );
    let caps = Capabilities(r.capabilities);
    for (on, n) in [
        (caps.leaf(), "leaf"),
        (caps.prune(), "prune"),
        (caps.genid(), "genid"),
        (caps.mtrace(), "mtrace"),
    ] {
        if on {
            out.push(',');
            out.push_str(n);
        }
    }
    out.push_str("]:\n");
    for i in &r.interfaces {
        let mut attrs = format!("{}/{}", i.metric, i.threshold);
        for f in &i.flags {
            attrs.push('/');
            attrs.push_str(f);
        }
        let nbrs = if i.neighbors.is_empty() {
            vec![Ipv4Addr::UNSPECIFIED]
        } else {
            i.neighbors.clone()
        };
        for n in nbrs {
            out.push_str(&format!("  {} -> {} ({}) [{attrs}]\n", i.local, n, name(n)));
        }
    }
    out
}

/// Ask the router and collect its answer.
pub fn run(args: &MrinfoArgs) -> Result<MrinfoReport> {
    let router = resolve(&args.router)?;
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        bail!("--timeout must be a positive number of seconds");
    }
    let timeout = Duration::from_secs_f64(args.timeout);
    let sock = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(2))).map_err(|e| {
        if e.kind() == io::ErrorKind::PermissionDenied {
            anyhow::anyhow!("a raw IGMP socket needs root (CAP_NET_RAW): {e}")
        } else {
            anyhow::anyhow!("cannot open a raw IGMP socket: {e}")
        }
    })?;
    sock.set_ttl_v4(255).context("IP_TTL")?;
    let question = packet::emit(&Message::new(Body::AskNeighbors2));
    let to = SockAddr::from(SocketAddrV4::new(router, 0));

    let start = Instant::now();
    let deadline = start + timeout;
    let mut next_ask = start;
    let mut responder: Option<Ipv4Addr> = None;
    let mut messages: Vec<Message> = Vec::new();
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut last_at = start;
    let mut complete = false;
    let mut buf = vec![0u8; 65_536];
    loop {
        if stop_requested() {
            bail!("interrupted");
        }
        let now = Instant::now();
        if complete || now >= deadline || (responder.is_some() && now >= last_at + LINGER) {
            break;
        }
        if responder.is_none() && now >= next_ask {
            sock.send_to(&question, &to)
                .with_context(|| format!("sending Ask-Neighbors2 to {router}"))?;
            next_ask = now + RETRY;
        }
        let wake = if responder.is_some() {
            (last_at + LINGER).min(deadline)
        } else {
            next_ask.min(deadline)
        };
        let wait = wake
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        sock.set_read_timeout(Some(wait))?;
        let n = match (&sock).read(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e).context("receiving"),
        };
        let Some((src, msg, len)) = parse_packet(&buf[..n]) else {
            continue;
        };
        if !matches!(msg.body, Body::Neighbors2(_)) {
            continue;
        }
        match responder {
            None => {
                if src != router {
                    eprintln!("mcast mrinfo: got the answer from {src} instead of {router}");
                }
                responder = Some(src);
            }
            Some(r) if r != src => continue,
            Some(_) => {}
        }
        let payload = packet::emit(&msg);
        if seen.contains(&payload) {
            continue;
        }
        seen.push(payload);
        messages.push(msg);
        last_at = Instant::now();
        complete = len + ENTRY_WITH_ONE_NEIGHBOR <= MAX_LEN_576;
    }
    let Some(responder) = responder else {
        bail!(
            "no answer from {router} within {} s (is it a DVMRP router, mrouterd or mrouted, \
             reachable by unicast?)",
            args.timeout
        );
    };
    Ok(assemble(router, responder, &messages))
}

/// Print the answer: JSON or mrinfo's lines, on stdout.
pub fn print_report(r: &MrinfoReport, json: bool) -> Result<()> {
    use std::io::Write;
    let mut out = io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(r)?)?;
    } else {
        write!(out, "{}", render_text(r))?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dvmrp::packet::Neighbors2Entry;

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn entry(local: &str, m: u8, t: u8, f: InterfaceFlags, n: &[&str]) -> Neighbors2Entry {
        Neighbors2Entry {
            local: a(local),
            metric: m,
            threshold: t,
            flags: f,
            neighbors: n.iter().map(|x| a(x)).collect(),
        }
    }

    /// An IPv4 packet around a DVMRP message, as a raw socket gives it.
    fn ip(src: &str, dvmrp: &[u8]) -> Vec<u8> {
        let total = u16::try_from(20 + dvmrp.len()).unwrap();
        let mut p = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 255, 2, 0, 0];
        p[2..4].copy_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&a(src).octets());
        p.extend_from_slice(&[10, 0, 0, 9]);
        p.extend_from_slice(dvmrp);
        p
    }

    fn answer() -> Vec<Message> {
        use InterfaceFlags as F;
        let first = vec![
            entry("10.0.2.2", 2, 8, F(0), &["10.0.2.1", "10.0.2.3"]),
            entry("10.0.5.1", 1, 1, F::QUERIER | F::LEAF, &["0.0.0.0"]),
            entry("10.0.6.1", 1, 1, F::DOWN, &["0.0.0.0"]),
            entry("10.0.7.1", 1, 1, F(0), &["10.0.7.2"]),
        ];
        let second = vec![
            entry("10.0.7.1", 1, 1, F(0), &["10.0.7.3"]),
            entry("10.0.3.1", 3, 16, F::TUNNEL, &["10.0.3.2"]),
        ];
        vec![
            Message::new(Body::Neighbors2(first)),
            Message::new(Body::Neighbors2(second)),
        ]
    }

    #[test]
    fn an_answer_prints_like_mrinfo_and_joins_split_interfaces() {
        let r = assemble(a("10.0.2.2"), a("10.0.2.2"), &answer());
        assert_eq!(
            render_text(&r),
            "10.0.2.2 (10.0.2.2) [version 3.255,prune,genid,mtrace]:\n\
             \x20 10.0.2.2 -> 10.0.2.1 (10.0.2.1) [2/8]\n\
             \x20 10.0.2.2 -> 10.0.2.3 (10.0.2.3) [2/8]\n\
             \x20 10.0.5.1 -> 0.0.0.0 (local) [1/1/querier/leaf]\n\
             \x20 10.0.6.1 -> 0.0.0.0 (local) [1/1/down]\n\
             \x20 10.0.7.1 -> 10.0.7.2 (10.0.7.2) [1/1]\n\
             \x20 10.0.7.1 -> 10.0.7.3 (10.0.7.3) [1/1]\n\
             \x20 10.0.3.1 -> 10.0.3.2 (10.0.3.2) [3/16/tunnel]\n"
        );
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["version"], "3.255");
        assert_eq!(j["messages"], 2);
        assert_eq!(
            j["capability_names"],
            serde_json::json!(["prune", "genid", "mtrace"])
        );
        assert_eq!(j["interfaces"].as_array().unwrap().len(), 5);
        assert_eq!(
            j["interfaces"][1],
            serde_json::json!({"local": "10.0.5.1", "metric": 1, "threshold": 1,
                "flag_bits": 0xc0, "flags": ["querier", "leaf"], "neighbors": []})
        );
        assert_eq!(
            j["interfaces"][3]["neighbors"],
            serde_json::json!(["10.0.7.2", "10.0.7.3"])
        );
        assert_eq!(j["interfaces"][4]["flags"], serde_json::json!(["tunnel"]));
        let back: MrinfoReport = serde_json::from_value(j).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn packets_are_taken_apart() {
        let m = &answer()[1];
        let wire = packet::emit(m);
        let (src, got, len) = parse_packet(&ip("10.0.2.2", &wire)).unwrap();
        assert_eq!((src, &got, len), (a("10.0.2.2"), m, wire.len()));
        // Padding after the IP total length is ignored.
        let mut padded = ip("10.0.2.2", &wire);
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(parse_packet(&padded).unwrap().1, *m);
        // Not DVMRP, damaged, not IPv4, not IGMP.
        let query = [0x11, 0x64, 0xee, 0x9b, 0, 0, 0, 0];
        assert!(parse_packet(&ip("10.0.2.2", &query)).is_none());
        let mut bad = wire.clone();
        bad[9] ^= 1;
        assert!(parse_packet(&ip("10.0.2.2", &bad)).is_none());
        let mut v6 = ip("10.0.2.2", &wire);
        v6[0] = 0x65;
        assert!(parse_packet(&v6).is_none());
        let mut udp = ip("10.0.2.2", &wire);
        udp[9] = 17;
        assert!(parse_packet(&udp).is_none());
        assert!(parse_packet(&[]).is_none());
        assert!(parse_packet(&[0x4f, 0, 0]).is_none());
    }

    #[test]
    fn names_and_addresses() {
        assert_eq!(resolve("10.1.2.3").unwrap(), a("10.1.2.3"));
        assert_eq!(resolve("localhost").unwrap(), a("127.0.0.1"));
        assert!(resolve("no-such-host.invalid").is_err());
    }
}
