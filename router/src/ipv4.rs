//! The IPv4 header of packets the router receives and sends itself (IGMP, later PIM and
//! DVMRP): parse with the Router Alert option found, and build with it.

use std::net::Ipv4Addr;

/// IP protocol numbers.
pub const PROTO_IGMP: u8 = 2;

/// What the router needs from a received IPv4 header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub protocol: u8,
    /// IP Router Alert option (RFC 2113) present.
    pub router_alert: bool,
    /// Header length in bytes.
    pub header_len: usize,
    /// Total length from the header, clipped to what was received.
    pub total_len: usize,
}

/// Why a received datagram was not an acceptable IPv4 packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    TooShort,
    NotIpv4,
    BadHeaderLength,
    BadOptions,
}

impl HeaderError {
    pub fn kind(self) -> &'static str {
        match self {
            HeaderError::TooShort => "ip_too_short",
            HeaderError::NotIpv4 => "ip_not_v4",
            HeaderError::BadHeaderLength => "ip_bad_header_length",
            HeaderError::BadOptions => "ip_bad_options",
        }
    }
}

const OPT_END: u8 = 0;
const OPT_NOP: u8 = 1;
/// Router Alert (RFC 2113): copied flag set, class 0, number 20.
const OPT_ROUTER_ALERT: u8 = 0x94;

/// Parse an IPv4 header (as a raw socket delivers it). Never panics.
pub fn parse(buf: &[u8]) -> Result<Header, HeaderError> {
    if buf.len() < 20 {
        return Err(HeaderError::TooShort);
    }
    if buf[0] >> 4 != 4 {
        return Err(HeaderError::NotIpv4);
    }
    let header_len = usize::from(buf[0] & 0x0f) * 4;
    if header_len < 20 || header_len > buf.len() {
        return Err(HeaderError::BadHeaderLength);
    }
    let total = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    let total_len = total.clamp(header_len, buf.len());
    let mut router_alert = false;
    let mut opts = &buf[20..header_len];
    while let Some(&kind) = opts.first() {
        match kind {
            OPT_END => break,
            OPT_NOP => opts = &opts[1..],
            _ => {
                let len = usize::from(*opts.get(1).ok_or(HeaderError::BadOptions)?);
                if len < 2 || len > opts.len() {
                    return Err(HeaderError::BadOptions);
                }
                if kind == OPT_ROUTER_ALERT && len == 4 {
                    router_alert = true;
                }
                opts = &opts[len..];
            }
        }
    }
    Ok(Header {
        src: Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]),
        dst: Ipv4Addr::new(buf[16], buf[17], buf[18], buf[19]),
        ttl: buf[8],
        protocol: buf[9],
        router_alert,
        header_len,
        total_len,
    })
}

/// Build an IPv4 packet around `payload`: TTL `ttl`, TOS 0xc0 (internetwork control, as
/// the Linux kernel sends IGMP), optionally with the Router Alert option, checksummed.
pub fn build(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    ttl: u8,
    router_alert: bool,
    payload: &[u8],
) -> Vec<u8> {
    let hlen = if router_alert { 24 } else { 20 };
    let total = hlen + payload.len();
    let mut p = Vec::with_capacity(total);
    p.push(0x40 | (hlen / 4) as u8);
    p.push(0xc0);
    p.extend_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0]); // id (the kernel fills it in), no fragmentation
    p.push(ttl);
    p.push(protocol);
    p.extend_from_slice(&[0, 0]); // checksum below
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    if router_alert {
        p.extend_from_slice(&[OPT_ROUTER_ALERT, 4, 0, 0]);
    }
    let c = common::checksum::checksum(&p[..hlen]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_then_parse() {
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let dst = Ipv4Addr::new(224, 0, 0, 1);
        let p = build(
            src,
            dst,
            PROTO_IGMP,
            1,
            true,
            &[0x11, 0x64, 0, 0, 0, 0, 0, 0],
        );
        // The header checksum verifies.
        assert!(common::checksum::verify(&p[..24]));
        assert_eq!(&p[..4], &[0x46, 0xc0, 0, 32]);
        let h = parse(&p).unwrap();
        assert_eq!(
            h,
            Header {
                src,
                dst,
                ttl: 1,
                protocol: 2,
                router_alert: true,
                header_len: 24,
                total_len: 32
            }
        );
        let p = build(src, dst, PROTO_IGMP, 1, false, &[1, 2, 3]);
        let h = parse(&p).unwrap();
        assert!(!h.router_alert);
        assert_eq!((h.header_len, h.total_len), (20, 23));
    }

    #[test]
    fn bad_headers_are_errors_never_panics() {
        assert_eq!(parse(&[0x45; 10]), Err(HeaderError::TooShort));
        let mut p = build(
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::BROADCAST,
            2,
            1,
            true,
            &[0; 8],
        );
        p[0] = 0x65;
        assert_eq!(parse(&p), Err(HeaderError::NotIpv4));
        p[0] = 0x4f;
        assert_eq!(parse(&p), Err(HeaderError::BadHeaderLength));
        p[0] = 0x46;
        p[21] = 9; // option longer than the header
        assert_eq!(parse(&p), Err(HeaderError::BadOptions));
        // NOP, NOP, then Router Alert split over the end: an error.
        p[20..24].copy_from_slice(&[1, 1, 0x94, 4]);
        assert_eq!(parse(&p), Err(HeaderError::BadOptions));
        // Every prefix and every byte value at every position: no panic.
        let good = build(
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::BROADCAST,
            2,
            1,
            true,
            &[0; 8],
        );
        for n in 0..good.len() {
            let _ = parse(&good[..n]);
        }
        for i in 0..24 {
            for v in [0u8, 1, 2, 0x44, 0x46, 0x94, 0xff] {
                let mut q = good.clone();
                q[i] = v;
                let _ = parse(&q);
            }
        }
    }
}

/// Recompute the UDP checksum of a whole IPv4/UDP packet in place.
///
/// Packets a local sender hands to a veth can reach the router with only the pseudo-header
/// sum in the UDP checksum field (CHECKSUM_PARTIAL: the device was to finish it). Forwarded
/// natively that is harmless, but a PIM Register built from such a packet (a WHOLEPKT
/// upcall) would carry a wrong inner checksum and receivers would drop it, so the DR
/// finishes the checksum when it encapsulates, as a real NIC would. A zero checksum ("none")
/// and anything that is not a complete, unfragmented UDP packet is left alone.
pub fn complete_udp_checksum(packet: &mut [u8]) {
    let Ok(h) = parse(packet) else { return };
    const UDP: u8 = 17;
    let frag = u16::from_be_bytes([packet[6], packet[7]]);
    if h.protocol != UDP || frag & 0x3fff != 0 || h.total_len != packet.len() {
        return;
    }
    let udp_len = h.total_len - h.header_len;
    if udp_len < 8 {
        return;
    }
    let udp = h.header_len;
    if usize::from(u16::from_be_bytes([packet[udp + 4], packet[udp + 5]])) != udp_len {
        return;
    }
    if packet[udp + 6] == 0 && packet[udp + 7] == 0 {
        return;
    }
    packet[udp + 6] = 0;
    packet[udp + 7] = 0;
    let mut acc = common::checksum::sum(&packet[12..20], 0);
    acc += u32::from(UDP) + udp_len as u32;
    acc = common::checksum::sum(&packet[udp..], acc);
    let mut c = common::checksum::finish(acc);
    if c == 0 {
        c = 0xffff;
    }
    packet[udp + 6..udp + 8].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod udp_tests {
    use super::*;

    /// A UDP packet with a correct checksum, then the same with only the pseudo-header sum
    /// (what CHECKSUM_PARTIAL leaves): completing gives the correct one back.
    #[test]
    fn completes_a_partial_udp_checksum() {
        let src = Ipv4Addr::new(10, 0, 1, 1);
        let dst = Ipv4Addr::new(239, 1, 1, 1);
        let mut udp = vec![0x13, 0x88, 0x13, 0x88, 0, 12, 0, 0, b'a', b'b', b'c', b'd'];
        let mut acc = common::checksum::sum(&src.octets(), 0);
        acc = common::checksum::sum(&dst.octets(), acc) + 17 + 12;
        let good = common::checksum::finish(common::checksum::sum(&udp, acc));
        udp[6..8].copy_from_slice(&good.to_be_bytes());
        let correct = build(src, dst, 17, 16, false, &udp);
        let mut partial = correct.clone();
        // Pseudo-header sum only, not inverted, as the kernel leaves it.
        let pseudo = !common::checksum::finish(acc);
        partial[26..28].copy_from_slice(&pseudo.to_be_bytes());
        assert_ne!(partial, correct);
        complete_udp_checksum(&mut partial);
        assert_eq!(partial, correct);
        // Idempotent on a correct packet; a zero checksum stays zero; junk is left alone.
        let mut again = correct.clone();
        complete_udp_checksum(&mut again);
        assert_eq!(again, correct);
        let mut none = correct.clone();
        none[26] = 0;
        none[27] = 0;
        complete_udp_checksum(&mut none);
        assert_eq!(&none[26..28], &[0, 0]);
        let mut short = correct[..25].to_vec();
        complete_udp_checksum(&mut short);
    }
}
