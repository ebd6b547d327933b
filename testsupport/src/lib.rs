//! Test-only helpers shared by the protocol crates' tests (a dev-dependency, never part of
//! a binary): the virtual-time loop of one protocol instance, frames and classic pcap
//! files to hand emitted packets to tshark, and running tshark for fields. The codec tests of `igmp`, `pim` and `dvmrp` check their
//! emitted messages against this independent decoder.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::checksum::checksum;
use common::{Action, Instant, Protocol};

/// Virtual time for a single protocol instance: run every timer of `p` due up to `t`, each
/// at its own deadline (in order, so that a timer set by an earlier one runs too), giving
/// its actions to `record`; then set `now` to `t`. Panics if time would go backwards or
/// the protocol asks for a deadline in the past.
pub fn advance_to<P: Protocol>(
    p: &mut P,
    now: &mut Instant,
    t: Instant,
    mut record: impl FnMut(Instant, Vec<Action>),
) {
    assert!(t >= *now, "time goes forward");
    while let Some(d) = p.poll_at().filter(|&d| d <= t) {
        assert!(d >= *now, "poll_at {d:?} in the past (now {now:?})");
        *now = d;
        let actions = p.on_timeout(d);
        record(d, actions);
    }
    *now = t;
}

/// A small deterministic generator (splitmix64) for the codecs' property tests: the same
/// seed gives the same messages on every machine.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// 0..n (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// 0..=n.
    pub fn upto(&mut self, n: usize) -> usize {
        self.below(n as u64 + 1) as usize
    }

    pub fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }

    pub fn u16(&mut self) -> u16 {
        self.next_u64() as u16
    }

    pub fn u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    pub fn bool(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    pub fn addr(&mut self) -> Ipv4Addr {
        Ipv4Addr::from(self.u32())
    }

    /// Up to `max` addresses.
    pub fn addrs(&mut self, max: u64) -> Vec<Ipv4Addr> {
        (0..self.below(max + 1)).map(|_| self.addr()).collect()
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
}

/// Set the Internet checksum of a message whose checksum field is octets 2-3 (IGMP,
/// DVMRP, PIM) so that it verifies: for tests that want to get past the checksum check.
pub fn fix_checksum(b: &mut [u8]) {
    if b.len() >= 4 {
        b[2] = 0;
        b[3] = 0;
        let c = checksum(b);
        b[2..4].copy_from_slice(&c.to_be_bytes());
    }
}

/// How the IPv4 header around a message looks (TOS 0xc0, internetwork control, as Linux
/// sends routing protocols; source 192.0.2.1).
#[derive(Clone, Copy, Debug)]
pub struct Ipv4 {
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    /// A Router Alert option (RFC 2113), as IGMP carries it.
    pub router_alert: bool,
    /// The Don't Fragment bit.
    pub dont_fragment: bool,
}

/// The source address of every frame.
pub const SOURCE: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// An Ethernet frame (the group's MAC address for a multicast destination) with the IPv4
/// header of `ip` (with its checksum) and `payload`.
pub fn frame(ip: Ipv4, payload: &[u8]) -> Vec<u8> {
    let options: &[u8] = if ip.router_alert {
        &[0x94, 0x04, 0x00, 0x00]
    } else {
        &[]
    };
    let header_len = 20 + options.len();
    let total = u16::try_from(header_len + payload.len()).expect("fits an IPv4 packet");
    let mut h = vec![0x40 | (header_len / 4) as u8, 0xc0];
    h.extend_from_slice(&total.to_be_bytes());
    let flags = if ip.dont_fragment { 0x40 } else { 0 };
    h.extend_from_slice(&[0, 0, flags, 0, ip.ttl, ip.protocol, 0, 0]);
    h.extend_from_slice(&SOURCE.octets());
    h.extend_from_slice(&ip.dst.octets());
    h.extend_from_slice(options);
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    let d = ip.dst.octets();
    let mut f = if ip.dst.is_multicast() {
        vec![0x01, 0x00, 0x5e, d[1] & 0x7f, d[2], d[3]]
    } else {
        vec![0x02, 0x00, 0x00, 0x00, 0x00, 0x02]
    };
    f.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00]);
    f.extend_from_slice(&h);
    f.extend_from_slice(payload);
    f
}

/// A classic pcap file (magic a1b2c3d4, little endian, version 2.4, linktype 1 Ethernet),
/// one frame a second.
pub fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    out.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
    out.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for (i, f) in frames.iter().enumerate() {
        let len = u32::try_from(f.len()).expect("a frame fits");
        let secs = 1_700_000_000 + u32::try_from(i).expect("few frames");
        out.extend_from_slice(&secs.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

/// A fresh directory under the system's temporary directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Write `frames` to a pcap file in a temporary directory and decode it with tshark
/// (IPv4 and UDP checksums checked): one line per packet, `fields` separated by tabs, repeated values
/// joined by commas. Panics, saying what to install, when tshark is missing.
pub fn tshark_fields(frames: &[Vec<u8>], fields: &[&str]) -> String {
    let dir = TempDir::new("mrouter-tshark");
    let file = dir.path().join("packets.pcap");
    std::fs::write(&file, pcap(frames)).expect("write the pcap file");
    let mut cmd = Command::new("tshark");
    cmd.arg("-n")
        .args(["-o", "ip.check_checksum:TRUE"])
        .args(["-o", "udp.check_checksum:TRUE"])
        .arg("-r")
        .arg(&file)
        .args(["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a"])
        .args(["-E", "aggregator=,"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "tshark not found: this test needs it, install it (apt-get install tshark; \
             ./test.sh installs it too)"
        ),
        Err(e) => panic!("cannot run tshark: {e}"),
    };
    assert!(
        out.status.success(),
        "tshark failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tshark output is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_a_valid_ipv4_header() {
        let ip = Ipv4 {
            dst: Ipv4Addr::new(224, 0, 0, 22),
            protocol: 2,
            ttl: 1,
            router_alert: true,
            dont_fragment: true,
        };
        let f = frame(ip, &[0x22, 0, 0, 0]);
        assert_eq!(&f[..6], &[0x01, 0x00, 0x5e, 0, 0, 22]);
        let h = &f[14..38];
        assert_eq!(h[0], 0x46);
        assert!(common::checksum::verify(h));
        assert_eq!(f.len(), 14 + 24 + 4);
        assert_eq!(pcap(&[f]).len(), 24 + 16 + 42);
    }
}
