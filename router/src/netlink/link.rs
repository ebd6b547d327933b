//! Links (`RTM_NEWLINK` / `RTM_DELLINK`) and the IPMR VIF table (`RTM_GETLINK` family 128).
//!
//! Link messages to act on have `ifi_family == AF_UNSPEC`. A bridge also sends
//! `AF_BRIDGE` link messages to `RTNLGRP_LINK` about its ports, including an
//! `RTM_DELLINK` when a port merely leaves the bridge; [`parse_link`] ignores those, so
//! a device is reported deleted only when it really is gone.
//!
//! A link going down keeps its VIF; a deleted device removes its VIF (but its TTL slot
//! stays in MFC entries until they are rewritten).

use std::net::Ipv4Addr;

use serde::Serialize;

use super::buf::{MessageBuilder, NlMsg, flags, need, rd_u16, rd_u32};
use super::{NetlinkError, RTNL_FAMILY_IPMR};

/// `IFLA_INFO_KIND` (linux/if_link.h), nested in `IFLA_LINKINFO`.
const IFLA_INFO_KIND: u16 = libc::IFLA_INFO_KIND;

/// `IPMRA_TABLE_*` (linux/mroute.h): attributes inside `IFLA_AF_SPEC` of a family-128
/// link message, one message per mroute table.
mod ipmra_table {
    pub const ID: u16 = 1;
    pub const CACHE_RES_QUEUE_LEN: u16 = 2;
    pub const MROUTE_REG_VIF_NUM: u16 = 3;
    pub const MROUTE_DO_ASSERT: u16 = 4;
    pub const MROUTE_DO_PIM: u16 = 5;
    pub const VIFS: u16 = 6;
    pub const MROUTE_DO_WRVIFWHOLE: u16 = 7;
}

/// `IPMRA_VIF` (linux/mroute.h): one VIF, nested in `IPMRA_TABLE_VIFS`.
const IPMRA_VIF: u16 = 1;

/// `IPMRA_VIFA_*` (linux/mroute.h): attributes of one VIF.
mod ipmra_vifa {
    pub const IFINDEX: u16 = 1;
    pub const VIF_ID: u16 = 2;
    pub const FLAGS: u16 = 3;
    pub const BYTES_IN: u16 = 4;
    pub const BYTES_OUT: u16 = 5;
    pub const PACKETS_IN: u16 = 6;
    pub const PACKETS_OUT: u16 = 7;
    pub const LOCAL_ADDR: u16 = 8;
    pub const REMOTE_ADDR: u16 = 9;
}

/// `struct ifinfomsg` (linux/rtnetlink.h), 16 bytes:
///
/// ```text
/// u8 ifi_family; u8 pad; u16 ifi_type; int ifi_index; u32 ifi_flags; u32 ifi_change;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IfInfoMsg {
    /// `ifi_family`: `AF_UNSPEC` for links, 128 for the VIF table.
    pub family: u8,
    /// `ifi_type`: `ARPHRD_*`.
    pub link_type: u16,
    /// `ifi_index`.
    pub index: u32,
    /// `ifi_flags`: `IFF_*`.
    pub flags: u32,
    /// `ifi_change`: which flags changed (notifications).
    pub change: u32,
}

const _: () = assert!(IfInfoMsg::LEN == std::mem::size_of::<libc::ifinfomsg>());

impl IfInfoMsg {
    /// `sizeof(struct ifinfomsg)`.
    pub const LEN: usize = 16;

    /// Decodes the start of a message payload.
    pub fn parse(b: &[u8]) -> Result<Self, NetlinkError> {
        need("ifinfomsg", b, Self::LEN)?;
        Ok(IfInfoMsg {
            family: b[0],
            link_type: rd_u16(b, 2),
            index: rd_u32(b, 4),
            flags: rd_u32(b, 8),
            change: rd_u32(b, 12),
        })
    }

    /// Encodes.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0] = self.family;
        b[2..4].copy_from_slice(&self.link_type.to_ne_bytes());
        b[4..8].copy_from_slice(&self.index.to_ne_bytes());
        b[8..12].copy_from_slice(&self.flags.to_ne_bytes());
        b[12..16].copy_from_slice(&self.change.to_ne_bytes());
        b
    }
}

/// Builds an `RTM_GETLINK` dump of all links (`AF_UNSPEC`), asking the kernel to skip
/// the interface statistics (`IFLA_EXT_MASK` = `RTEXT_FILTER_SKIP_STATS`) to keep the
/// replies small.
pub fn build_link_dump(seq: u32) -> Vec<u8> {
    let mut b = MessageBuilder::new(libc::RTM_GETLINK, flags::REQUEST | flags::DUMP, seq);
    b.payload(&IfInfoMsg::default().to_bytes());
    b.attr_u32(libc::IFLA_EXT_MASK, libc::RTEXT_FILTER_SKIP_STATS as u32);
    b.finish()
}

/// A network device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkInfo {
    /// `ifi_index`.
    pub ifindex: u32,
    /// `IFLA_IFNAME` (empty if absent).
    pub name: String,
    /// `ifi_flags` (`IFF_*`); see the helper methods.
    pub flags: u32,
    /// `IFLA_MTU` (0 if absent).
    pub mtu: u32,
    /// `IFLA_OPERSTATE` (RFC 2863: 0 unknown, 2 down, 5 dormant, 6 up, ...).
    pub operstate: Option<u8>,
    /// `IFLA_LINKINFO` / `IFLA_INFO_KIND`: "veth", "bridge", "tun", "dummy", ...; `None` for
    /// physical devices and loopback.
    pub kind: Option<String>,
    /// `ifi_type` (`ARPHRD_ETHER` = 1, `ARPHRD_LOOPBACK` = 772, `ARPHRD_NONE` = 0xfffe for
    /// tun, ...).
    pub link_type: u16,
    /// Reported by `RTM_DELLINK`: the device is gone (and with it its VIF).
    pub deleted: bool,
}

impl LinkInfo {
    /// `IFF_UP`: administratively up.
    pub fn is_up(&self) -> bool {
        self.flags & libc::IFF_UP as u32 != 0
    }

    /// `IFF_RUNNING`: operationally up (operstate up or unknown, as the kernel reports it).
    pub fn is_running(&self) -> bool {
        self.flags & libc::IFF_RUNNING as u32 != 0
    }

    /// `IFF_LOWER_UP`: carrier.
    pub fn is_lower_up(&self) -> bool {
        self.flags & libc::IFF_LOWER_UP as u32 != 0
    }

    /// `IFF_MULTICAST`.
    pub fn is_multicast(&self) -> bool {
        self.flags & libc::IFF_MULTICAST as u32 != 0
    }

    /// `IFF_LOOPBACK`.
    pub fn is_loopback(&self) -> bool {
        self.flags & libc::IFF_LOOPBACK as u32 != 0
    }

    /// `IFF_POINTOPOINT`.
    pub fn is_point_to_point(&self) -> bool {
        self.flags & libc::IFF_POINTOPOINT as u32 != 0
    }

    /// Up and running: the state in which the interface can carry traffic. (tun, dummy
    /// and loopback report operstate "unknown" but still set `IFF_RUNNING`.)
    pub fn is_operational(&self) -> bool {
        self.is_up() && self.is_running()
    }
}

/// Parses an `RTM_NEWLINK` / `RTM_DELLINK` of family `AF_UNSPEC`; `Ok(None)` for other
/// types and families (`AF_BRIDGE` port messages, the family-128 VIF table).
pub fn parse_link(msg: &NlMsg<'_>) -> Result<Option<LinkInfo>, NetlinkError> {
    let deleted = match msg.msg_type() {
        libc::RTM_NEWLINK => false,
        libc::RTM_DELLINK => true,
        _ => return Ok(None),
    };
    let ifi = IfInfoMsg::parse(msg.payload)?;
    if ifi.family != libc::AF_UNSPEC as u8 {
        return Ok(None);
    }
    let mut l = LinkInfo {
        ifindex: ifi.index,
        name: String::new(),
        flags: ifi.flags,
        mtu: 0,
        operstate: None,
        kind: None,
        link_type: ifi.link_type,
        deleted,
    };
    for a in msg.attrs_after("ifinfomsg", IfInfoMsg::LEN)? {
        let a = a?;
        match a.kind() {
            libc::IFLA_IFNAME => l.name = a.string(),
            libc::IFLA_MTU => l.mtu = a.u32()?,
            libc::IFLA_OPERSTATE => l.operstate = Some(a.u8()?),
            libc::IFLA_LINKINFO => {
                for n in a.nested() {
                    let n = n?;
                    if n.kind() == IFLA_INFO_KIND {
                        l.kind = Some(n.string());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(Some(l))
}

/// `IFLA_INFO_DATA` (linux/if_link.h), nested in `IFLA_LINKINFO`.
const IFLA_INFO_DATA: u16 = 2;
/// `IFLA_TXQLEN`.
const IFLA_TXQLEN: u16 = 13;

/// `IFLA_IPTUN_*` (linux/if_tunnel.h): the attributes of an `ipip` link, nested in
/// `IFLA_INFO_DATA`.
pub mod iptun {
    pub const LOCAL: u16 = 2;
    pub const REMOTE: u16 = 3;
    pub const TTL: u16 = 4;
    pub const PMTUDISC: u16 = 10;
}

/// `ip link add NAME type ipip local LOCAL remote REMOTE ttl TTL`: `RTM_NEWLINK` with
/// `NLM_F_CREATE | NLM_F_EXCL`, `IFLA_IFNAME` and `IFLA_LINKINFO` { `IFLA_INFO_KIND`
/// "ipip", `IFLA_INFO_DATA` { `IFLA_IPTUN_LOCAL`, `IFLA_IPTUN_REMOTE`, `IFLA_IPTUN_TTL`,
/// `IFLA_IPTUN_PMTUDISC` 1 } } (a fixed TTL needs path MTU discovery on, as iproute2
/// enforces). A kernel without the driver answers `EOPNOTSUPP` ("Unknown device type").
pub fn build_ipip_add(seq: u32, name: &str, local: Ipv4Addr, remote: Ipv4Addr, ttl: u8) -> Vec<u8> {
    let mut b = MessageBuilder::new(
        libc::RTM_NEWLINK,
        flags::REQUEST | flags::ACK | flags::CREATE | flags::EXCL,
        seq,
    );
    b.payload(&IfInfoMsg::default().to_bytes());
    b.attr_str(libc::IFLA_IFNAME, name);
    let info = b.begin_nested(libc::IFLA_LINKINFO);
    b.attr_str(IFLA_INFO_KIND, "ipip");
    let data = b.begin_nested(IFLA_INFO_DATA);
    b.attr_ipv4(iptun::LOCAL, local);
    b.attr_ipv4(iptun::REMOTE, remote);
    b.attr_u8(iptun::TTL, ttl);
    b.attr_u8(iptun::PMTUDISC, 1);
    b.end_nested(data);
    b.end_nested(info);
    b.finish()
}

/// `ip link set dev IFINDEX up [mtu MTU] [txqueuelen N]`: `RTM_NEWLINK` on an existing
/// device with `IFF_UP` in both flags and change mask.
pub fn build_link_up(seq: u32, ifindex: u32, mtu: Option<u32>, txqlen: Option<u32>) -> Vec<u8> {
    let mut b = MessageBuilder::new(libc::RTM_NEWLINK, flags::REQUEST | flags::ACK, seq);
    let hdr = IfInfoMsg {
        index: ifindex,
        flags: libc::IFF_UP as u32,
        change: libc::IFF_UP as u32,
        ..IfInfoMsg::default()
    };
    b.payload(&hdr.to_bytes());
    if let Some(mtu) = mtu {
        b.attr_u32(libc::IFLA_MTU, mtu);
    }
    if let Some(q) = txqlen {
        b.attr_u32(IFLA_TXQLEN, q);
    }
    b.finish()
}

/// `ip link del dev IFINDEX`: `RTM_DELLINK`.
pub fn build_link_del(seq: u32, ifindex: u32) -> Vec<u8> {
    let mut b = MessageBuilder::new(libc::RTM_DELLINK, flags::REQUEST | flags::ACK, seq);
    let hdr = IfInfoMsg {
        index: ifindex,
        ..IfInfoMsg::default()
    };
    b.payload(&hdr.to_bytes());
    b.finish()
}

/// Builds an `RTM_GETLINK` dump of family 128: one `RTM_NEWLINK` per mroute table with
/// its VIFs and their counters. Tables exist only while an mroute socket holds them, so
/// without a running daemon the dump is empty.
pub fn build_vif_dump(seq: u32) -> Vec<u8> {
    let mut b = MessageBuilder::new(libc::RTM_GETLINK, flags::REQUEST | flags::DUMP, seq);
    // Strict checking wants a full, zeroed ifinfomsg and no attributes.
    let hdr = IfInfoMsg {
        family: RTNL_FAMILY_IPMR,
        ..IfInfoMsg::default()
    };
    b.payload(&hdr.to_bytes());
    b.finish()
}

/// One mroute table as dumped by [`build_vif_dump`].
///
/// Layout (`ipmr_rtm_dumplink`): `ifinfomsg` (family 128, rest zero), then
/// `IFLA_AF_SPEC` nesting the `IPMRA_TABLE_*` attributes, among them `IPMRA_TABLE_VIFS`
/// nesting one `IPMRA_VIF` per existing VIF, each nesting `IPMRA_VIFA_*`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VifTable {
    /// `IPMRA_TABLE_ID`: table id (253 = default).
    pub table: u32,
    /// `IPMRA_TABLE_CACHE_RES_QUEUE_LEN`: unresolved entries queued.
    pub cache_res_queue_len: u32,
    /// `IPMRA_TABLE_MROUTE_REG_VIF_NUM`: the register VIF (`pimreg`), if any.
    pub reg_vif: Option<u32>,
    /// `IPMRA_TABLE_MROUTE_DO_ASSERT` (`MRT_ASSERT`).
    pub do_assert: bool,
    /// `IPMRA_TABLE_MROUTE_DO_PIM` (`MRT_PIM`).
    pub do_pim: bool,
    /// `IPMRA_TABLE_MROUTE_DO_WRVIFWHOLE`.
    pub do_wrvifwhole: bool,
    /// Existing VIFs, in VIF number order.
    pub vifs: Vec<VifInfo>,
}

/// One VIF and its counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VifInfo {
    /// `IPMRA_VIFA_VIF_ID`: the VIF number (the index into MFC TTL arrays).
    pub vif_index: u32,
    /// `IPMRA_VIFA_IFINDEX`: ifindex of the VIF's device.
    pub ifindex: u32,
    /// `IPMRA_VIFA_FLAGS`: `VIFF_*` (`VIFF_REGISTER` = 4, `VIFF_USE_IFINDEX` = 8, ...).
    pub flags: u16,
    /// `IPMRA_VIFA_BYTES_IN`.
    pub bytes_in: u64,
    /// `IPMRA_VIFA_BYTES_OUT`.
    pub bytes_out: u64,
    /// `IPMRA_VIFA_PACKETS_IN`.
    pub packets_in: u64,
    /// `IPMRA_VIFA_PACKETS_OUT`.
    pub packets_out: u64,
    /// `IPMRA_VIFA_LOCAL_ADDR`: the `vifc_lcl_addr` the VIF was added with. With
    /// `VIFF_USE_IFINDEX` the kernel copies the same union member, so this holds the
    /// ifindex's host-order bytes (ifindex 2 reads as 2.0.0.0 on x86), not an address.
    pub local_addr: Ipv4Addr,
    /// `IPMRA_VIFA_REMOTE_ADDR` (tunnels only).
    pub remote_addr: Ipv4Addr,
}

fn parse_vif(a: super::Attr<'_>) -> Result<VifInfo, NetlinkError> {
    let mut v = VifInfo {
        vif_index: 0,
        ifindex: 0,
        flags: 0,
        bytes_in: 0,
        bytes_out: 0,
        packets_in: 0,
        packets_out: 0,
        local_addr: Ipv4Addr::UNSPECIFIED,
        remote_addr: Ipv4Addr::UNSPECIFIED,
    };
    for f in a.nested() {
        let f = f?;
        match f.kind() {
            ipmra_vifa::IFINDEX => v.ifindex = f.u32()?,
            ipmra_vifa::VIF_ID => v.vif_index = f.u32()?,
            ipmra_vifa::FLAGS => v.flags = f.u16()?,
            ipmra_vifa::BYTES_IN => v.bytes_in = f.u64()?,
            ipmra_vifa::BYTES_OUT => v.bytes_out = f.u64()?,
            ipmra_vifa::PACKETS_IN => v.packets_in = f.u64()?,
            ipmra_vifa::PACKETS_OUT => v.packets_out = f.u64()?,
            ipmra_vifa::LOCAL_ADDR => v.local_addr = f.ipv4()?,
            ipmra_vifa::REMOTE_ADDR => v.remote_addr = f.ipv4()?,
            _ => {}
        }
    }
    Ok(v)
}

/// Parses one mroute table from an `RTM_NEWLINK` of family 128; `Ok(None)` for other
/// messages.
pub fn parse_vif_table(msg: &NlMsg<'_>) -> Result<Option<VifTable>, NetlinkError> {
    if msg.msg_type() != libc::RTM_NEWLINK {
        return Ok(None);
    }
    let ifi = IfInfoMsg::parse(msg.payload)?;
    if ifi.family != RTNL_FAMILY_IPMR {
        return Ok(None);
    }
    let mut t = VifTable::default();
    let mut have_id = false;
    for a in msg.attrs_after("ifinfomsg", IfInfoMsg::LEN)? {
        let a = a?;
        if a.kind() != libc::IFLA_AF_SPEC {
            continue;
        }
        for ta in a.nested() {
            let ta = ta?;
            match ta.kind() {
                ipmra_table::ID => {
                    t.table = ta.u32()?;
                    have_id = true;
                }
                ipmra_table::CACHE_RES_QUEUE_LEN => t.cache_res_queue_len = ta.u32()?,
                // An `int`, -1 when there is no register VIF.
                ipmra_table::MROUTE_REG_VIF_NUM => {
                    t.reg_vif = Some(ta.u32()?).filter(|&v| (v as usize) < super::MAXVIFS);
                }
                ipmra_table::MROUTE_DO_ASSERT => t.do_assert = ta.u8()? != 0,
                ipmra_table::MROUTE_DO_PIM => t.do_pim = ta.u8()? != 0,
                ipmra_table::MROUTE_DO_WRVIFWHOLE => t.do_wrvifwhole = ta.u8()? != 0,
                ipmra_table::VIFS => {
                    for va in ta.nested() {
                        let va = va?;
                        if va.kind() == IPMRA_VIF {
                            t.vifs.push(parse_vif(va)?);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if !have_id {
        return Err(NetlinkError::MissingAttribute {
            kind: ipmra_table::ID,
            what: "mroute table id (IPMRA_TABLE_ID)",
        });
    }
    Ok(Some(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::testdata::{self, bytes, data_msgs};

    #[test]
    fn requests() {
        let d = build_link_dump(3);
        let mut exp = 40u32.to_ne_bytes().to_vec(); // 16 + 16 + 8
        exp.extend(18u16.to_ne_bytes()); // RTM_GETLINK
        exp.extend(0x301u16.to_ne_bytes()); // REQUEST | DUMP
        exp.extend(3u32.to_ne_bytes());
        exp.extend(0u32.to_ne_bytes());
        exp.extend([0u8; 16]); // ifinfomsg, AF_UNSPEC
        exp.extend(8u16.to_ne_bytes());
        exp.extend(29u16.to_ne_bytes()); // IFLA_EXT_MASK
        exp.extend(8u32.to_ne_bytes()); // RTEXT_FILTER_SKIP_STATS
        assert_eq!(d, exp);

        let d = build_vif_dump(4);
        assert_eq!(d.len(), 32);
        assert_eq!(&d[4..6], &18u16.to_ne_bytes());
        assert_eq!(d[16], 128);
        assert!(d[17..].iter().all(|&b| b == 0));
    }

    /// The request `ip link add tun0 type ipip local 10.0.2.1 remote 10.0.3.2 ttl 64` sends
    /// (iproute2 lays it out the same way, padding included in the nest lengths).
    #[test]
    #[cfg(target_endian = "little")]
    fn ipip_link_request_bytes() {
        let m = build_ipip_add(
            5,
            "tun0",
            Ipv4Addr::new(10, 0, 2, 1),
            Ipv4Addr::new(10, 0, 3, 2),
            64,
        );
        #[rustfmt::skip]
        let want: Vec<u8> = vec![
            // nlmsghdr: len 96, RTM_NEWLINK (16), REQUEST|ACK|EXCL|CREATE, seq 5, pid 0
            96, 0, 0, 0,  16, 0,  0x05, 0x06,  5, 0, 0, 0,  0, 0, 0, 0,
            // ifinfomsg: AF_UNSPEC, no index, no flags
            0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
            // IFLA_IFNAME "tun0\0" (len 9, padded to 12)
            9, 0, 3, 0,  b't', b'u', b'n', b'0',  0, 0, 0, 0,
            // IFLA_LINKINFO (18), 52 bytes
            52, 0, 18, 0,
              // IFLA_INFO_KIND "ipip\0"
              9, 0, 1, 0,  b'i', b'p', b'i', b'p',  0, 0, 0, 0,
              // IFLA_INFO_DATA, 36 bytes
              36, 0, 2, 0,
                8, 0, 2, 0,  10, 0, 2, 1,   // IFLA_IPTUN_LOCAL (network order)
                8, 0, 3, 0,  10, 0, 3, 2,   // IFLA_IPTUN_REMOTE
                5, 0, 4, 0,  64, 0, 0, 0,   // IFLA_IPTUN_TTL
                5, 0, 10, 0,  1, 0, 0, 0,   // IFLA_IPTUN_PMTUDISC
        ];
        assert_eq!(m, want);
        // It decodes as a netlink message whose nests are well formed.
        let msg = NlMsg::parse(&m).unwrap();
        let attrs: Vec<_> = msg
            .attrs_after("ifinfomsg", IfInfoMsg::LEN)
            .unwrap()
            .map(|a| a.unwrap())
            .collect();
        assert_eq!(attrs.len(), 2);
        let info: Vec<_> = attrs[1].nested().map(|a| a.unwrap()).collect();
        assert_eq!(info[0].string(), "ipip");
        let data: Vec<_> = info[1].nested().map(|a| a.unwrap()).collect();
        assert_eq!(data[0].ipv4().unwrap(), Ipv4Addr::new(10, 0, 2, 1));
        assert_eq!(data[1].ipv4().unwrap(), Ipv4Addr::new(10, 0, 3, 2));
        assert_eq!(data[2].u8().unwrap(), 64);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn link_up_and_delete_request_bytes() {
        let m = build_link_up(9, 7, Some(1480), Some(1000));
        #[rustfmt::skip]
        let want: Vec<u8> = vec![
            // nlmsghdr: len 48, RTM_NEWLINK, REQUEST|ACK, seq 9
            48, 0, 0, 0,  16, 0,  0x05, 0x00,  9, 0, 0, 0,  0, 0, 0, 0,
            // ifinfomsg: index 7, flags IFF_UP, change IFF_UP
            0, 0, 0, 0,  7, 0, 0, 0,  1, 0, 0, 0,  1, 0, 0, 0,
            8, 0, 4, 0,  0xc8, 0x05, 0, 0,    // IFLA_MTU 1480
            8, 0, 13, 0,  0xe8, 0x03, 0, 0,   // IFLA_TXQLEN 1000
        ];
        assert_eq!(m, want);
        assert_eq!(build_link_up(1, 7, None, None).len(), 32);
        let d = build_link_del(10, 7);
        #[rustfmt::skip]
        let want: Vec<u8> = vec![
            // nlmsghdr: len 32, RTM_DELLINK (17), REQUEST|ACK, seq 10
            32, 0, 0, 0,  17, 0,  0x05, 0x00,  10, 0, 0, 0,  0, 0, 0, 0,
            0, 0, 0, 0,  7, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
        ];
        assert_eq!(d, want);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn kernel_link_vectors() {
        let d = bytes(testdata::LINK_DUMP);
        let links: Vec<LinkInfo> = data_msgs(&d)
            .iter()
            .map(|m| parse_link(m).unwrap().unwrap())
            .collect();
        assert_eq!(links.len(), 2);
        let lo = &links[0];
        assert_eq!((lo.ifindex, lo.name.as_str(), lo.mtu), (1, "lo", 65536));
        assert!(lo.is_loopback() && lo.is_operational() && !lo.is_multicast());
        assert_eq!(
            (lo.kind.as_deref(), lo.operstate, lo.link_type),
            (None, Some(0), 772)
        );
        assert_eq!(
            links[1],
            LinkInfo {
                ifindex: 2,
                name: "r0".into(),
                flags: 0x11043, // UP | BROADCAST | RUNNING | MULTICAST | LOWER_UP
                mtu: 1500,
                operstate: Some(6), // IF_OPER_UP
                kind: Some("veth".into()),
                link_type: 1,
                deleted: false,
            }
        );
        let r0 = &links[1];
        assert!(r0.is_up() && r0.is_running() && r0.is_lower_up() && r0.is_multicast());
        assert!(!r0.is_loopback() && !r0.is_point_to_point());

        let d = bytes(testdata::LINK_NEW_R2_DOWN);
        let l = parse_link(&data_msgs(&d)[0]).unwrap().unwrap();
        assert_eq!(
            (l.ifindex, l.name.as_str(), l.operstate),
            (6, "r2", Some(2))
        );
        assert!(!l.is_up() && !l.is_operational() && !l.deleted);

        let d = bytes(testdata::LINK_DEL_R3);
        let l = parse_link(&data_msgs(&d)[0]).unwrap().unwrap();
        assert_eq!((l.ifindex, l.name.as_str(), l.deleted), (8, "r3", true));

        // A bridge port leaving its bridge: AF_BRIDGE RTM_DELLINK, the device is still there.
        let d = bytes(testdata::LINK_BRIDGE_DEL);
        let m = data_msgs(&d)[0];
        assert_eq!(m.header.msg_type, libc::RTM_DELLINK);
        assert_eq!(m.payload[0], libc::AF_BRIDGE as u8);
        assert_eq!(parse_link(&m), Ok(None));
        // link messages are not VIF tables
        assert_eq!(parse_vif_table(&m), Ok(None));
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn kernel_vif_vector() {
        let d = bytes(testdata::VIF_DUMP);
        let m = data_msgs(&d)[0];
        assert_eq!(parse_link(&m), Ok(None));
        let t = parse_vif_table(&m).unwrap().unwrap();
        assert_eq!(t.table, 253);
        assert_eq!(t.cache_res_queue_len, 1); // the unresolved (10.0.0.1, 239.2.2.2)
        assert_eq!(t.reg_vif, None);
        assert!(t.do_assert && !t.do_pim && !t.do_wrvifwhole);
        assert_eq!(t.vifs.len(), 4);
        for (i, v) in t.vifs.iter().enumerate() {
            assert_eq!(v.vif_index as usize, i);
            assert_eq!(v.ifindex, [2, 4, 6, 8][i]);
            assert_eq!(v.flags, 8); // VIFF_USE_IFINDEX
            assert_eq!(v.remote_addr, Ipv4Addr::UNSPECIFIED);
        }
        assert_eq!((t.vifs[0].packets_in, t.vifs[0].bytes_in), (3, 384));
        assert_eq!((t.vifs[1].packets_out, t.vifs[1].bytes_out), (3, 384));
        assert_eq!((t.vifs[2].packets_out, t.vifs[2].bytes_out), (0, 0));
        assert_eq!((t.vifs[3].packets_out, t.vifs[3].bytes_out), (3, 384));
        // VIFF_USE_IFINDEX: the "local address" is the ifindex union member
        assert_eq!(t.vifs[0].local_addr, Ipv4Addr::new(2, 0, 0, 0));
    }

    #[test]
    fn vif_round_trip_and_errors() {
        let mut b = MessageBuilder::new(libc::RTM_NEWLINK, 0, 0);
        b.payload(
            &IfInfoMsg {
                family: RTNL_FAMILY_IPMR,
                ..IfInfoMsg::default()
            }
            .to_bytes(),
        );
        let af = b.begin_nested(libc::IFLA_AF_SPEC);
        b.attr_u32(ipmra_table::ID, 1000);
        b.attr_u32(ipmra_table::MROUTE_REG_VIF_NUM, 5);
        b.attr_u8(ipmra_table::MROUTE_DO_PIM, 1);
        b.attr_u8(ipmra_table::MROUTE_DO_WRVIFWHOLE, 1);
        let vifs = b.begin_nested(ipmra_table::VIFS);
        let v = b.begin_nested(IPMRA_VIF);
        b.attr_u32(ipmra_vifa::IFINDEX, 9);
        b.attr_u32(ipmra_vifa::VIF_ID, 5);
        b.attr_u16(ipmra_vifa::FLAGS, 4); // VIFF_REGISTER
        b.attr_u64(ipmra_vifa::BYTES_IN, 1 << 33);
        b.attr_ipv4(ipmra_vifa::REMOTE_ADDR, Ipv4Addr::new(192, 0, 2, 9));
        b.end_nested(v);
        b.end_nested(vifs);
        b.end_nested(af);
        let m = b.finish();
        let t = parse_vif_table(&NlMsg::parse(&m).unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(
            (t.table, t.reg_vif, t.do_pim, t.do_wrvifwhole),
            (1000, Some(5), true, true)
        );
        assert_eq!(t.vifs.len(), 1);
        let v = &t.vifs[0];
        assert_eq!(
            (v.vif_index, v.ifindex, v.flags, v.bytes_in),
            (5, 9, 4, 1 << 33)
        );
        assert_eq!(v.remote_addr, Ipv4Addr::new(192, 0, 2, 9));

        // no table id
        let mut b = MessageBuilder::new(libc::RTM_NEWLINK, 0, 0);
        b.payload(
            &IfInfoMsg {
                family: RTNL_FAMILY_IPMR,
                ..IfInfoMsg::default()
            }
            .to_bytes(),
        );
        let m = b.finish();
        assert!(matches!(
            parse_vif_table(&NlMsg::parse(&m).unwrap()),
            Err(NetlinkError::MissingAttribute { .. })
        ));
        // short ifinfomsg
        let mut b = MessageBuilder::new(libc::RTM_NEWLINK, 0, 0);
        b.payload(&[0; 8]);
        let m = b.finish();
        assert!(matches!(
            parse_link(&NlMsg::parse(&m).unwrap()),
            Err(NetlinkError::Truncated { .. })
        ));
    }
}
