//! IPv4 interface addresses (`RTM_NEWADDR` / `RTM_DELADDR`).
//!
//! For IPv4 the kernel always sends `IFA_LOCAL` (the interface's own address) and
//! `IFA_ADDRESS`, which equals `IFA_LOCAL` except on point-to-point addresses
//! (`ip addr add A peer P`), where it is the peer `P` and `ifa_prefixlen` applies to the
//! peer.

use std::net::Ipv4Addr;

use serde::Serialize;

use super::NetlinkError;
use super::buf::{MessageBuilder, NlMsg, flags, need, rd_u32};

/// `struct ifaddrmsg` (linux/if_addr.h), 8 bytes:
///
/// ```text
/// u8 ifa_family; u8 ifa_prefixlen; u8 ifa_flags; u8 ifa_scope; u32 ifa_index;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IfAddrMsg {
    /// `ifa_family`.
    pub family: u8,
    /// `ifa_prefixlen`.
    pub prefix_len: u8,
    /// `ifa_flags`: low 8 bits of `IFA_F_*` (the full set is in `IFA_FLAGS`).
    pub flags: u8,
    /// `ifa_scope`: `RT_SCOPE_*`.
    pub scope: u8,
    /// `ifa_index`.
    pub index: u32,
}

const _: () = assert!(IfAddrMsg::LEN == std::mem::size_of::<libc::ifaddrmsg>());

impl IfAddrMsg {
    /// `sizeof(struct ifaddrmsg)`.
    pub const LEN: usize = 8;

    /// Decodes the start of a message payload.
    pub fn parse(b: &[u8]) -> Result<Self, NetlinkError> {
        need("ifaddrmsg", b, Self::LEN)?;
        Ok(IfAddrMsg {
            family: b[0],
            prefix_len: b[1],
            flags: b[2],
            scope: b[3],
            index: rd_u32(b, 4),
        })
    }

    /// Encodes.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[..4].copy_from_slice(&[self.family, self.prefix_len, self.flags, self.scope]);
        b[4..].copy_from_slice(&self.index.to_ne_bytes());
        b
    }
}

/// Builds an `RTM_GETADDR` dump of the IPv4 addresses of all interfaces.
pub fn build_addr_dump(seq: u32) -> Vec<u8> {
    let mut b = MessageBuilder::new(libc::RTM_GETADDR, flags::REQUEST | flags::DUMP, seq);
    let hdr = IfAddrMsg {
        family: libc::AF_INET as u8,
        ..IfAddrMsg::default()
    };
    b.payload(&hdr.to_bytes());
    b.finish()
}

/// One IPv4 address of an interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddrInfo {
    /// `ifa_index`.
    pub ifindex: u32,
    /// The interface's own address (`IFA_LOCAL`, else `IFA_ADDRESS`).
    pub addr: Ipv4Addr,
    /// The peer of a point-to-point address (`IFA_ADDRESS` when it differs from
    /// `IFA_LOCAL`).
    pub peer: Option<Ipv4Addr>,
    /// `ifa_prefixlen` (of the peer, for point-to-point addresses).
    pub prefix_len: u8,
    /// `IFA_F_*` (`IFA_FLAGS` if present, else `ifa_flags`); `IFA_F_SECONDARY` = 1.
    pub flags: u32,
    /// `ifa_scope` (`RT_SCOPE_UNIVERSE` 0, `RT_SCOPE_LINK` 253, `RT_SCOPE_HOST` 254).
    pub scope: u8,
    /// `IFA_LABEL` (the interface name, or an alias such as `eth0:1`).
    pub label: Option<String>,
    /// Reported by `RTM_DELADDR`.
    pub deleted: bool,
}

impl AddrInfo {
    /// `IFA_F_SECONDARY`: not the primary address of its subnet on this interface.
    pub fn is_secondary(&self) -> bool {
        self.flags & libc::IFA_F_SECONDARY != 0
    }
}

/// Parses an `RTM_NEWADDR` / `RTM_DELADDR` of family `AF_INET`; `Ok(None)` for other
/// types and families (IPv6 addresses arrive on the same dump if asked for).
pub fn parse_addr(msg: &NlMsg<'_>) -> Result<Option<AddrInfo>, NetlinkError> {
    let deleted = match msg.msg_type() {
        libc::RTM_NEWADDR => false,
        libc::RTM_DELADDR => true,
        _ => return Ok(None),
    };
    let ifa = IfAddrMsg::parse(msg.payload)?;
    if ifa.family != libc::AF_INET as u8 {
        return Ok(None);
    }
    let mut local = None;
    let mut address = None;
    let mut flags = u32::from(ifa.flags);
    let mut label = None;
    for a in msg.attrs_after("ifaddrmsg", IfAddrMsg::LEN)? {
        let a = a?;
        match a.kind() {
            libc::IFA_LOCAL => local = Some(a.ipv4()?),
            libc::IFA_ADDRESS => address = Some(a.ipv4()?),
            libc::IFA_FLAGS => flags = a.u32()?,
            libc::IFA_LABEL => label = Some(a.string()),
            _ => {}
        }
    }
    let (addr, peer) = match (local, address) {
        (Some(l), Some(a)) if a != l => (l, Some(a)),
        (Some(l), _) => (l, None),
        (None, Some(a)) => (a, None),
        (None, None) => {
            return Err(NetlinkError::MissingAttribute {
                kind: libc::IFA_LOCAL,
                what: "IPv4 address (IFA_LOCAL / IFA_ADDRESS)",
            });
        }
    };
    Ok(Some(AddrInfo {
        ifindex: ifa.index,
        addr,
        peer,
        prefix_len: ifa.prefix_len,
        flags,
        scope: ifa.scope,
        label,
        deleted,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::testdata::{self, bytes, data_msgs};

    #[test]
    fn request() {
        let d = build_addr_dump(2);
        let mut exp = 24u32.to_ne_bytes().to_vec();
        exp.extend(22u16.to_ne_bytes()); // RTM_GETADDR
        exp.extend(0x301u16.to_ne_bytes()); // REQUEST | DUMP
        exp.extend(2u32.to_ne_bytes());
        exp.extend(0u32.to_ne_bytes());
        exp.extend([2, 0, 0, 0, 0, 0, 0, 0]); // ifaddrmsg, AF_INET
        assert_eq!(d, exp);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn kernel_vectors() {
        let d = bytes(testdata::ADDR_DUMP);
        let a: Vec<AddrInfo> = data_msgs(&d)
            .iter()
            .map(|m| parse_addr(m).unwrap().unwrap())
            .collect();
        let summary: Vec<_> = a
            .iter()
            .map(|a| (a.ifindex, a.addr, a.peer, a.prefix_len))
            .collect();
        assert_eq!(
            summary,
            vec![
                (1, Ipv4Addr::new(127, 0, 0, 1), None, 8),
                (2, Ipv4Addr::new(10, 0, 0, 2), None, 24),
                (4, Ipv4Addr::new(10, 1, 0, 1), None, 24),
                (6, Ipv4Addr::new(10, 2, 0, 1), None, 24),
                (
                    8,
                    Ipv4Addr::new(10, 9, 0, 1),
                    Some(Ipv4Addr::new(10, 9, 0, 2)),
                    32
                ),
            ]
        );
        assert_eq!(
            a[1],
            AddrInfo {
                ifindex: 2,
                addr: Ipv4Addr::new(10, 0, 0, 2),
                peer: None,
                prefix_len: 24,
                flags: 0x80, // IFA_F_PERMANENT
                scope: 0,
                label: Some("r0".into()),
                deleted: false,
            }
        );
        assert_eq!(a[0].scope, libc::RT_SCOPE_HOST);
        assert!(!a[0].is_secondary());

        let d = bytes(testdata::ADDR_NOTIFY_DEL);
        let x = parse_addr(&data_msgs(&d)[0]).unwrap().unwrap();
        assert_eq!(
            (x.ifindex, x.addr, x.prefix_len, x.deleted),
            (6, Ipv4Addr::new(10, 7, 0, 1), 24, true)
        );
    }

    #[test]
    fn other_families_and_errors() {
        // an AF_INET6 address is ignored
        let mut b = MessageBuilder::new(libc::RTM_NEWADDR, 0, 0);
        b.payload(
            &IfAddrMsg {
                family: libc::AF_INET6 as u8,
                prefix_len: 64,
                index: 3,
                ..IfAddrMsg::default()
            }
            .to_bytes(),
        );
        b.attr(
            libc::IFA_ADDRESS,
            &[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        );
        let m = b.finish();
        assert_eq!(parse_addr(&NlMsg::parse(&m).unwrap()), Ok(None));
        // IFA_ADDRESS only, and IFA_FLAGS overriding ifa_flags
        let mut b = MessageBuilder::new(libc::RTM_NEWADDR, 0, 0);
        b.payload(
            &IfAddrMsg {
                family: libc::AF_INET as u8,
                prefix_len: 16,
                flags: 0,
                index: 3,
                ..IfAddrMsg::default()
            }
            .to_bytes(),
        );
        b.attr_ipv4(libc::IFA_ADDRESS, Ipv4Addr::new(172, 16, 0, 1));
        b.attr_u32(libc::IFA_FLAGS, libc::IFA_F_SECONDARY);
        let m = b.finish();
        let a = parse_addr(&NlMsg::parse(&m).unwrap()).unwrap().unwrap();
        assert_eq!(
            (a.addr, a.peer, a.prefix_len),
            (Ipv4Addr::new(172, 16, 0, 1), None, 16)
        );
        assert!(a.is_secondary());
        // no address at all
        let mut b = MessageBuilder::new(libc::RTM_NEWADDR, 0, 0);
        b.payload(
            &IfAddrMsg {
                family: 2,
                ..IfAddrMsg::default()
            }
            .to_bytes(),
        );
        let m = b.finish();
        assert!(matches!(
            parse_addr(&NlMsg::parse(&m).unwrap()),
            Err(NetlinkError::MissingAttribute { .. })
        ));
        // a short IFA_LOCAL
        let mut b = MessageBuilder::new(libc::RTM_NEWADDR, 0, 0);
        b.payload(
            &IfAddrMsg {
                family: 2,
                ..IfAddrMsg::default()
            }
            .to_bytes(),
        );
        b.attr(libc::IFA_LOCAL, &[10, 0]);
        let m = b.finish();
        assert!(matches!(
            parse_addr(&NlMsg::parse(&m).unwrap()),
            Err(NetlinkError::BadAttribute {
                kind: 2,
                len: 2,
                ..
            })
        ));
    }
}
