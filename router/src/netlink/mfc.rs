//! Multicast forwarding cache (MFC) entries over rtnetlink (family `RTNL_FAMILY_IPMR`).
//!
//! # Writing (`RTM_NEWROUTE` / `RTM_DELROUTE`)
//!
//! The kernel (`rtm_to_ipmr_mfcc` in net/ipv4/ipmr.c) checks `rtm_family == 128`,
//! `rtm_dst_len == 32`, `rtm_type == RTN_MULTICAST`, `rtm_scope == RT_SCOPE_UNIVERSE` and
//! `rtm_protocol` in {`RTPROT_MROUTED`, `RTPROT_STATIC`}, then reads:
//!
//! * `RTA_TABLE` (u32): the mroute table. **`rtm_table` is ignored**; without `RTA_TABLE`
//!   the table is `RT_TABLE_DEFAULT` (253). A table that does not exist gives `ENOENT`
//!   (per ipmr.c; not exercised here).
//! * `RTA_SRC`, `RTA_DST`: source and group. Source 0.0.0.0 is a (*,G) entry, which the
//!   kernel treats as a proxy entry (it matches only when the arrival VIF is in the oif
//!   list); we install (S,G) entries.
//! * `RTA_IIF` (u32): ifindex of the device of the incoming VIF. An unknown ifindex gives
//!   `ENODEV`; a device that is not a VIF gives `ENFILE`.
//! * `RTA_MULTIPATH`: a **positional** array of `struct rtnexthop`: the n-th entry's
//!   `rtnh_hops` is the TTL threshold of VIF n (0 = do not forward), its `rtnh_ifindex`
//!   is ignored. To forward on VIF k, send k + 1 entries. The parser
//!   (`ipmr_nla_get_ttls`) stops after `MAXVIFS` (32) entries and then fails with
//!   `EINVAL` if any bytes remain - which, by an off-by-one, is also the case for exactly
//!   32 entries: at most [`MAX_MULTIPATH_TTLS`] (31) slots can be written this way, so VIF
//!   31 can never be an outgoing VIF through rtnetlink (verified on this kernel).
//!
//! There is no `EEXIST`: `RTM_NEWROUTE` always replaces an existing (S,G) entry (adding
//! the same entry twice is acked twice; ipmr.c does not look at the `NLM_F_*` create
//! flags). Deleting a missing entry gives `ENOENT`.
//!
//! # Reading (dumps and `RTNLGRP_IPV4_MROUTE` notifications)
//!
//! `ipmr_fill_mroute` / `mr_fill_mroute` produce `RTM_NEWROUTE` (or `RTM_DELROUTE` for a
//! removed entry) with `rtm_table` = table id (truncated to 8 bits), `RTA_TABLE`,
//! `RTA_SRC`, `RTA_DST`, then for resolved entries `RTA_IIF` (device ifindex),
//! `RTA_MULTIPATH` listing **only forwarding VIFs, by device ifindex** with `rtnh_hops` =
//! TTL threshold, `RTA_MFC_STATS` and `RTA_EXPIRES` (time since the last packet in 1/100 s,
//! `jiffies_to_clock_t`; the PIM keepalive input). Unresolved entries (a NOCACHE upcall
//! is pending) have `RTNH_F_UNRESOLVED` in `rtm_flags` and none of those attributes.
//! The kernel dumps every table: filter on [`MfcEntry::table`].

use std::net::Ipv4Addr;

use common::RouteKey;
use serde::Serialize;

use super::buf::{MessageBuilder, NlMsg, align4, flags, rd_u16, rd_u32, rd_u64};
use super::route::RtMsg;
use super::{NetlinkError, RTNL_FAMILY_IPMR, RTPROT_MROUTED};

/// `MAXVIFS` (linux/mroute.h): VIF slots per table.
pub const MAXVIFS: usize = 32;

/// The most TTL slots [`build_mfc_add`] accepts: `MAXVIFS - 1`, because the kernel's
/// `ipmr_nla_get_ttls` rejects a 32-entry `RTA_MULTIPATH` with `EINVAL` (verified).
pub const MAX_MULTIPATH_TTLS: usize = MAXVIFS - 1;

/// `RTA_EXPIRES` (linux/rtnetlink.h, `enum rtattr_type_t`); libc has it for glibc only.
pub(crate) const RTA_EXPIRES: u16 = 23;
/// `RTA_MFC_STATS` (linux/rtnetlink.h).
pub(crate) const RTA_MFC_STATS: u16 = libc::RTA_MFC_STATS;
/// `RTNH_F_UNRESOLVED` (linux/rtnetlink.h): set in `rtm_flags` of unresolved MFC entries.
pub(crate) const RTNH_F_UNRESOLVED: u32 = 32;
/// `RTM_NEWCACHEREPORT` (linux/rtnetlink.h); libc has it for glibc only.
pub(crate) const RTM_NEWCACHEREPORT: u16 = 96;

/// `sizeof(struct rtnexthop)` (linux/rtnetlink.h): `u16 rtnh_len; u8 rtnh_flags;
/// u8 rtnh_hops; int rtnh_ifindex;`.
pub(crate) const RTNEXTHOP_LEN: usize = 8;
/// `sizeof(struct rta_mfc_stats)` (linux/rtnetlink.h): three `__u64`: packets, bytes,
/// wrong_if.
pub(crate) const RTA_MFC_STATS_LEN: usize = 24;

/// `IPMRA_CREPORT_*` (linux/mroute.h): attributes of `RTM_NEWCACHEREPORT`.
mod creport {
    pub const MSGTYPE: u16 = 1;
    pub const VIF_ID: u16 = 2;
    pub const SRC_ADDR: u16 = 3;
    pub const DST_ADDR: u16 = 4;
    pub const PKT: u16 = 5;
    pub const TABLE: u16 = 6;
}

fn mfc_rtmsg(table: u32, protocol: u8) -> RtMsg {
    RtMsg {
        family: RTNL_FAMILY_IPMR,
        dst_len: 32,
        src_len: 32,
        tos: 0,
        // Ignored by the kernel on write (RTA_TABLE rules); kept meaningful for readers.
        table: if table > 255 {
            libc::RT_TABLE_UNSPEC
        } else {
            table as u8
        },
        protocol,
        scope: libc::RT_SCOPE_UNIVERSE,
        rtype: libc::RTN_MULTICAST,
        flags: 0,
    }
}

fn mfc_request(
    msg_type: u16,
    nl_flags: u16,
    seq: u32,
    table: u32,
    source: Ipv4Addr,
    group: Ipv4Addr,
    iif_ifindex: Option<u32>,
) -> MessageBuilder {
    let mut b = MessageBuilder::new(msg_type, nl_flags, seq);
    b.payload(&mfc_rtmsg(table, RTPROT_MROUTED).to_bytes());
    b.attr_u32(libc::RTA_TABLE, table);
    b.attr_ipv4(libc::RTA_SRC, source);
    b.attr_ipv4(libc::RTA_DST, group);
    if let Some(ifindex) = iif_ifindex {
        b.attr_u32(libc::RTA_IIF, ifindex);
    }
    b
}

/// Builds an `RTM_NEWROUTE` that installs or replaces the MFC entry (source, group).
///
/// * `table`: the mroute table id ([`MROUTE_DEFAULT_TABLE`](super::MROUTE_DEFAULT_TABLE)
///   = 253 for the default table), sent as `RTA_TABLE`.
/// * `iif_ifindex`: ifindex of the incoming VIF's device (not the VIF number).
/// * `ttls`: indexed by **VIF number**: `ttls[n]` is the TTL threshold of VIF n, 0 = do not
///   forward on it. A packet leaves on VIF n if its TTL is greater than the threshold.
///   Trailing zeros are trimmed. More than [`MAX_MULTIPATH_TTLS`] slots after trimming is
///   [`NetlinkError::TooManyVifs`].
///
/// Flags are `NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE`, protocol
/// `RTPROT_MROUTED` (the entry goes away with the mroute socket). Errors come back as
/// `NLMSG_ERROR`: `ENFILE` if the iif device is not a VIF, `ENODEV` if it does not exist,
/// `ENOENT` if the table does not exist, `EINVAL` for a malformed request. Never `EEXIST`.
pub fn build_mfc_add(
    seq: u32,
    table: u32,
    source: Ipv4Addr,
    group: Ipv4Addr,
    iif_ifindex: u32,
    ttls: &[u8],
) -> Result<Vec<u8>, NetlinkError> {
    let used = ttls.iter().rposition(|&t| t != 0).map_or(0, |i| i + 1);
    if used > MAX_MULTIPATH_TTLS {
        return Err(NetlinkError::TooManyVifs {
            count: used,
            max: MAX_MULTIPATH_TTLS,
        });
    }
    let mut b = mfc_request(
        libc::RTM_NEWROUTE,
        flags::REQUEST | flags::ACK | flags::CREATE | flags::REPLACE,
        seq,
        table,
        source,
        group,
        Some(iif_ifindex),
    );
    let mut nh = Vec::with_capacity(used * RTNEXTHOP_LEN);
    for &ttl in &ttls[..used] {
        nh.extend_from_slice(&(RTNEXTHOP_LEN as u16).to_ne_bytes()); // rtnh_len
        nh.push(0); // rtnh_flags
        nh.push(ttl); // rtnh_hops: the TTL threshold of this VIF
        nh.extend_from_slice(&0i32.to_ne_bytes()); // rtnh_ifindex: ignored on write
    }
    // An entry that forwards nowhere (it drops the flow and keeps the kernel from
    // asking again) carries no RTA_MULTIPATH: the kernel rejects an empty one with
    // ERANGE ("Attribute failed policy validation"), and all TTLs default to 0.
    if !nh.is_empty() {
        b.attr(libc::RTA_MULTIPATH, &nh);
    }
    Ok(b.finish())
}

/// Builds an `RTM_DELROUTE` for the MFC entry (source, group) in `table`.
///
/// `iif_ifindex` is optional: the kernel resolves it to a device first and fails with
/// `ENODEV` if the device no longer exists, so pass `None` when deleting entries of a
/// vanished interface. (Without `RTA_PREFSRC` the kernel does not match on the parent VIF
/// for (S,G) entries anyway.) Deleting an entry that does not exist gives `ENOENT`.
pub fn build_mfc_del(
    seq: u32,
    table: u32,
    source: Ipv4Addr,
    group: Ipv4Addr,
    iif_ifindex: Option<u32>,
) -> Vec<u8> {
    mfc_request(
        libc::RTM_DELROUTE,
        flags::REQUEST | flags::ACK,
        seq,
        table,
        source,
        group,
        iif_ifindex,
    )
    .finish()
}

/// Builds an `RTM_GETROUTE` dump request for MFC entries (family 128).
///
/// With `table: Some(id)` an `RTA_TABLE` filter is added; the kernel honours it only on
/// sockets with `NETLINK_GET_STRICT_CHK` (then a missing table ends the dump with
/// `ENOENT`); otherwise all tables are dumped. Either way, filter on [`MfcEntry::table`].
pub fn build_mfc_dump(seq: u32, table: Option<u32>) -> Vec<u8> {
    let mut b = MessageBuilder::new(libc::RTM_GETROUTE, flags::REQUEST | flags::DUMP, seq);
    // A full, otherwise zeroed rtmsg: strict checking rejects non-zero header fields.
    let hdr = RtMsg {
        family: RTNL_FAMILY_IPMR,
        ..RtMsg::default()
    };
    b.payload(&hdr.to_bytes());
    if let Some(t) = table {
        b.attr_u32(libc::RTA_TABLE, t);
    }
    b.finish()
}

/// Builds an `RTM_GETROUTE` (not a dump) for the one MFC entry (source, group) of
/// `table`: the reply is that entry with its counters, or `NLMSG_ERROR` `ENOENT`.
pub fn build_mfc_get(seq: u32, table: u32, source: Ipv4Addr, group: Ipv4Addr) -> Vec<u8> {
    let mut b = MessageBuilder::new(libc::RTM_GETROUTE, flags::REQUEST, seq);
    let hdr = RtMsg {
        family: RTNL_FAMILY_IPMR,
        dst_len: 32,
        src_len: 32,
        ..RtMsg::default()
    };
    b.payload(&hdr.to_bytes());
    b.attr_u32(libc::RTA_TABLE, table);
    b.attr_ipv4(libc::RTA_SRC, source);
    b.attr_ipv4(libc::RTA_DST, group);
    b.finish()
}

/// One MFC entry as the kernel reports it (dump reply or `RTNLGRP_IPV4_MROUTE`
/// notification).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MfcEntry {
    /// Mroute table id (`RTA_TABLE`, else `rtm_table`).
    pub table: u32,
    /// Source; 0.0.0.0 for a (*,G) entry.
    pub source: Ipv4Addr,
    /// Group.
    pub group: Ipv4Addr,
    /// Ifindex of the incoming VIF's device; `None` for unresolved entries (or if the
    /// VIF's device is gone).
    pub iif: Option<u32>,
    /// Forwarding VIFs as (device ifindex, TTL threshold). Not positional: VIFs that do
    /// not forward are absent.
    pub oifs: Vec<(u32, u8)>,
    /// Packets forwarded by this entry (`rta_mfc_stats.mfcs_packets`).
    pub packets: u64,
    /// Bytes forwarded (`mfcs_bytes`).
    pub bytes: u64,
    /// Packets that arrived on a wrong interface (`mfcs_wrong_if`).
    pub wrong_if: u64,
    /// Time since the entry last forwarded a packet, in 1/100 s (`RTA_EXPIRES`); counts
    /// from the entry's creation if it never did.
    pub last_use_centisecs: Option<u64>,
    /// `RTPROT_MROUTED` (17) or `RTPROT_STATIC` (4).
    pub protocol: u8,
    /// `RTNH_F_UNRESOLVED`: a cache miss waiting for the daemon (no iif, oifs or stats).
    pub unresolved: bool,
    /// Reported by `RTM_DELROUTE` (the entry was removed).
    pub deleted: bool,
}

impl MfcEntry {
    /// The route key: (S,G), or (*,G) for source 0.0.0.0.
    pub fn key(&self) -> RouteKey {
        if self.source.is_unspecified() {
            RouteKey::star_g(self.group)
        } else {
            RouteKey::sg(self.source, self.group)
        }
    }
}

fn bad(kind: u16, len: usize, reason: &'static str) -> NetlinkError {
    NetlinkError::BadAttribute { kind, len, reason }
}

/// Walks the `struct rtnexthop` array of an `RTA_MULTIPATH` attribute (kernel `rtnh_ok` /
/// `rtnh_next` rules) and calls `f(rtnh_hops, rtnh_ifindex, nested attribute bytes)`.
pub(crate) fn for_each_nexthop<'a>(
    data: &'a [u8],
    mut f: impl FnMut(u8, u32, &'a [u8]) -> Result<(), NetlinkError>,
) -> Result<(), NetlinkError> {
    let mut rest = data;
    while !rest.is_empty() {
        if rest.len() < RTNEXTHOP_LEN {
            return Err(bad(libc::RTA_MULTIPATH, rest.len(), "truncated rtnexthop"));
        }
        let len = rd_u16(rest, 0) as usize;
        if len < RTNEXTHOP_LEN || len > rest.len() {
            return Err(bad(libc::RTA_MULTIPATH, len, "bad rtnh_len"));
        }
        let hops = rest[3];
        let ifindex = rd_u32(rest, 4);
        f(hops, ifindex, &rest[RTNEXTHOP_LEN..len])?;
        rest = &rest[align4(len).min(rest.len())..];
    }
    Ok(())
}

/// Parses an MFC entry from an `RTM_NEWROUTE` / `RTM_DELROUTE` of family 128.
///
/// Returns `Ok(None)` for other message types or families (e.g. unicast routes on the
/// same socket).
pub fn parse_mfc(msg: &NlMsg<'_>) -> Result<Option<MfcEntry>, NetlinkError> {
    let deleted = match msg.msg_type() {
        libc::RTM_NEWROUTE => false,
        libc::RTM_DELROUTE => true,
        _ => return Ok(None),
    };
    let rtm = RtMsg::parse(msg.payload)?;
    if rtm.family != RTNL_FAMILY_IPMR {
        return Ok(None);
    }
    let mut e = MfcEntry {
        table: u32::from(rtm.table),
        source: Ipv4Addr::UNSPECIFIED,
        group: Ipv4Addr::UNSPECIFIED,
        iif: None,
        oifs: Vec::new(),
        packets: 0,
        bytes: 0,
        wrong_if: 0,
        last_use_centisecs: None,
        protocol: rtm.protocol,
        unresolved: rtm.flags & RTNH_F_UNRESOLVED != 0,
        deleted,
    };
    let mut have_dst = false;
    for a in msg.attrs_after("rtmsg", RtMsg::LEN)? {
        let a = a?;
        match a.kind() {
            libc::RTA_TABLE => e.table = a.u32()?,
            libc::RTA_SRC => e.source = a.ipv4()?,
            libc::RTA_DST => {
                e.group = a.ipv4()?;
                have_dst = true;
            }
            libc::RTA_IIF => e.iif = Some(a.u32()?),
            libc::RTA_MULTIPATH => for_each_nexthop(a.data, |hops, ifindex, _| {
                e.oifs.push((ifindex, hops));
                Ok(())
            })?,
            RTA_MFC_STATS => {
                if a.data.len() < RTA_MFC_STATS_LEN {
                    return Err(bad(RTA_MFC_STATS, a.data.len(), "short rta_mfc_stats"));
                }
                e.packets = rd_u64(a.data, 0);
                e.bytes = rd_u64(a.data, 8);
                e.wrong_if = rd_u64(a.data, 16);
            }
            RTA_EXPIRES => e.last_use_centisecs = Some(a.u64()?),
            _ => {}
        }
    }
    if !have_dst {
        return Err(NetlinkError::MissingAttribute {
            kind: libc::RTA_DST,
            what: "MFC group (RTA_DST)",
        });
    }
    Ok(Some(e))
}

/// A kernel upcall mirrored on `RTNLGRP_IPV4_MROUTE_R` (`RTM_NEWCACHEREPORT`,
/// `igmpmsg_netlink_event` in net/ipv4/ipmr.c). The same event also reaches the mroute
/// socket as a `struct igmpmsg`; this copy is for observers that do not own it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheReport {
    /// `IGMPMSG_NOCACHE` (1), `IGMPMSG_WRONGVIF` (2), `IGMPMSG_WHOLEPKT` (3),
    /// `IGMPMSG_WRVIFWHOLE` (4).
    pub msg_type: u8,
    /// VIF number the packet arrived on.
    pub vif: u32,
    /// Packet source.
    pub source: Ipv4Addr,
    /// Packet destination (the group).
    pub group: Ipv4Addr,
    /// Mroute table id.
    pub table: u32,
    /// `IPMRA_CREPORT_PKT`: the upcall's bytes after its 20-byte `struct igmpmsg`. For
    /// NOCACHE and WRONGVIF that is only a stub (the 8-byte `igmphdr` the kernel appends,
    /// after any IP options); for WHOLEPKT / WRVIFWHOLE it is the whole original packet.
    pub packet: Vec<u8>,
}

/// Parses an `RTM_NEWCACHEREPORT` (family 128); `Ok(None)` for anything else.
pub fn parse_cache_report(msg: &NlMsg<'_>) -> Result<Option<CacheReport>, NetlinkError> {
    if msg.msg_type() != RTM_NEWCACHEREPORT {
        return Ok(None);
    }
    // struct rtgenmsg { unsigned char rtgen_family; } padded to 4.
    super::buf::need("rtgenmsg", msg.payload, 1)?;
    if msg.payload[0] != RTNL_FAMILY_IPMR {
        return Ok(None);
    }
    let mut r = CacheReport {
        msg_type: 0,
        vif: 0,
        source: Ipv4Addr::UNSPECIFIED,
        group: Ipv4Addr::UNSPECIFIED,
        table: 0,
        packet: Vec::new(),
    };
    for a in msg.attrs_after("rtgenmsg", 1)? {
        let a = a?;
        match a.kind() {
            creport::MSGTYPE => r.msg_type = a.u8()?,
            creport::VIF_ID => r.vif = a.u32()?,
            creport::SRC_ADDR => r.source = a.ipv4()?,
            creport::DST_ADDR => r.group = a.ipv4()?,
            creport::TABLE => r.table = a.u32()?,
            creport::PKT => r.packet = a.data.to_vec(),
            _ => {}
        }
    }
    Ok(Some(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::testdata::{self, bytes, data_msgs};
    use crate::netlink::{Message, NetlinkError, NlMsg, messages};

    const S: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const G: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);

    #[test]
    fn struct_sizes() {
        assert_eq!(RtMsg::LEN, 12);
        assert_eq!(RTNEXTHOP_LEN, 8);
        assert_eq!(RTA_MFC_STATS_LEN, 3 * 8);
    }

    /// The MFC add laid out field by field as the kernel's structs.
    #[test]
    fn mfc_add_byte_exact() {
        let got = build_mfc_add(0x0102_0304, 253, S, G, 7, &[0, 1, 0, 1]).unwrap();
        let mut exp: Vec<u8> = Vec::new();
        // struct nlmsghdr
        exp.extend(96u32.to_ne_bytes()); // nlmsg_len = 16 + 12 + 4 * 8 + (4 + 4 * 8)
        exp.extend(24u16.to_ne_bytes()); // nlmsg_type = RTM_NEWROUTE
        exp.extend(0x0505u16.to_ne_bytes()); // REQUEST 1 | ACK 4 | REPLACE 0x100 | CREATE 0x400
        exp.extend(0x0102_0304u32.to_ne_bytes()); // nlmsg_seq
        exp.extend(0u32.to_ne_bytes()); // nlmsg_pid
        // struct rtmsg
        exp.extend([
            128, // rtm_family = RTNL_FAMILY_IPMR
            32,  // rtm_dst_len
            32,  // rtm_src_len
            0,   // rtm_tos
            253, // rtm_table (< 256, so the id itself)
            17,  // rtm_protocol = RTPROT_MROUTED
            0,   // rtm_scope = RT_SCOPE_UNIVERSE
            5,   // rtm_type = RTN_MULTICAST
        ]);
        exp.extend(0u32.to_ne_bytes()); // rtm_flags
        // RTA_TABLE (15): rta_len 8, u32 253
        exp.extend(8u16.to_ne_bytes());
        exp.extend(15u16.to_ne_bytes());
        exp.extend(253u32.to_ne_bytes());
        // RTA_SRC (2): 10.0.0.1 in network order
        exp.extend(8u16.to_ne_bytes());
        exp.extend(2u16.to_ne_bytes());
        exp.extend([10, 0, 0, 1]);
        // RTA_DST (1): 239.1.1.1
        exp.extend(8u16.to_ne_bytes());
        exp.extend(1u16.to_ne_bytes());
        exp.extend([239, 1, 1, 1]);
        // RTA_IIF (3): ifindex 7
        exp.extend(8u16.to_ne_bytes());
        exp.extend(3u16.to_ne_bytes());
        exp.extend(7u32.to_ne_bytes());
        // RTA_MULTIPATH (9): 4 + 4 struct rtnexthop, one per VIF 0..3
        exp.extend(36u16.to_ne_bytes());
        exp.extend(9u16.to_ne_bytes());
        for ttl in [0u8, 1, 0, 1] {
            exp.extend(8u16.to_ne_bytes()); // rtnh_len
            exp.push(0); // rtnh_flags
            exp.push(ttl); // rtnh_hops = TTL threshold of this VIF
            exp.extend(0i32.to_ne_bytes()); // rtnh_ifindex (ignored)
        }
        assert_eq!(got, exp);
    }

    /// The kernel echoes a failed request in its NLMSG_ERROR: the captured ENFILE reply
    /// carries exactly what our builder produces for that request (iif = lo).
    #[test]
    fn kernel_echo_matches_builder() {
        let err = bytes(testdata::MFC_ADD_ENFILE);
        let echoed = &err[16 + 4..];
        let ours = build_mfc_add(1, 253, S, G, 1, &[0, 1, 0, 1]).unwrap();
        assert_eq!(echoed, &ours[..]);
        assert_eq!(
            messages(&err).next(),
            Some(Err(NetlinkError::Kernel {
                errno: libc::ENFILE,
                seq: 1,
                message: None
            }))
        );
        // The 32-nexthop request was refused with EINVAL, the ack of the normal add is 0.
        let e = bytes(testdata::MFC_ADD_32NH);
        assert_eq!(
            messages(&e).next().unwrap().unwrap_err().errno(),
            Some(libc::EINVAL)
        );
        assert_eq!(
            messages(&bytes(testdata::MFC_ADD_ACK)).next(),
            Some(Ok(Message::Ack { seq: 1 }))
        );
        let e = bytes(testdata::MFC_DEL_ENOENT);
        assert_eq!(
            messages(&e).next().unwrap().unwrap_err().errno(),
            Some(libc::ENOENT)
        );
    }

    fn multipath_of(msg: &[u8]) -> Vec<(u8, u32)> {
        let m = NlMsg::parse(msg).unwrap();
        let mut v = Vec::new();
        for a in m.attrs_after("rtmsg", RtMsg::LEN).unwrap() {
            let a = a.unwrap();
            if a.kind() == libc::RTA_MULTIPATH {
                for_each_nexthop(a.data, |h, i, _| {
                    v.push((h, i));
                    Ok(())
                })
                .unwrap();
            }
        }
        v
    }

    #[test]
    fn ttl_slots() {
        // trailing zeros trimmed
        let m = build_mfc_add(1, 253, S, G, 7, &[0, 2, 0, 0, 0]).unwrap();
        assert_eq!(multipath_of(&m), vec![(0, 0), (2, 0)]);
        // no oif at all: an empty RTA_MULTIPATH (a "drop" entry)
        let m = build_mfc_add(1, 253, S, G, 7, &[0; 40]).unwrap();
        assert!(multipath_of(&m).is_empty());
        // 31 slots fine, VIF 31 is refused (the kernel would say EINVAL)
        let mut t = [0u8; 32];
        t[30] = 1;
        assert_eq!(
            multipath_of(&build_mfc_add(1, 253, S, G, 7, &t).unwrap()).len(),
            31
        );
        t[31] = 1;
        assert_eq!(
            build_mfc_add(1, 253, S, G, 7, &t),
            Err(NetlinkError::TooManyVifs { count: 32, max: 31 })
        );
        // table ids above 255 go in RTA_TABLE only
        let m = build_mfc_add(1, 1000, S, G, 7, &[1]).unwrap();
        assert_eq!(m[16 + 4], 0);
        let e = parse_mfc(&NlMsg::parse(&m).unwrap()).unwrap().unwrap();
        assert_eq!(e.table, 1000);
    }

    #[test]
    fn mfc_del_and_dump_layout() {
        let d = build_mfc_del(5, 253, S, G, Some(7));
        let m = NlMsg::parse(&d).unwrap();
        assert_eq!(m.header.msg_type, libc::RTM_DELROUTE);
        assert_eq!(m.header.flags, flags::REQUEST | flags::ACK);
        assert_eq!(d.len(), 16 + 12 + 4 * 8);
        assert_eq!(&d[16..28], &mfc_rtmsg(253, RTPROT_MROUTED).to_bytes());
        // without RTA_IIF: the same message minus its last attribute
        let d2 = build_mfc_del(5, 253, S, G, None);
        assert_eq!(d2.len(), d.len() - 8);
        assert_eq!(&d2[4..], &d[4..d.len() - 8]);

        let q = build_mfc_dump(9, None);
        let mut exp = 28u32.to_ne_bytes().to_vec();
        exp.extend(26u16.to_ne_bytes()); // RTM_GETROUTE
        exp.extend(0x301u16.to_ne_bytes()); // REQUEST | DUMP (ROOT | MATCH)
        exp.extend(9u32.to_ne_bytes());
        exp.extend(0u32.to_ne_bytes());
        exp.extend([128, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(q, exp);
        let q = build_mfc_dump(9, Some(253));
        assert_eq!(q.len(), 36);
        let mut table_attr = 8u16.to_ne_bytes().to_vec(); // rta_len
        table_attr.extend(15u16.to_ne_bytes()); // RTA_TABLE
        table_attr.extend(253u32.to_ne_bytes());
        assert_eq!(&q[28..], &table_attr[..]);
    }

    #[test]
    fn mfc_get_layout() {
        let q = build_mfc_get(3, 253, S, G);
        let m = NlMsg::parse(&q).unwrap();
        assert_eq!(m.header.msg_type, libc::RTM_GETROUTE);
        assert_eq!(m.header.flags, flags::REQUEST, "one entry, not a dump");
        // rtmsg: family 128, dst_len 32, src_len 32, the rest zero.
        assert_eq!(&q[16..28], &[128, 32, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let mut attrs = Vec::new();
        for (kind, value) in [
            (libc::RTA_TABLE, 253u32.to_ne_bytes()),
            (libc::RTA_SRC, S.octets()),
            (libc::RTA_DST, G.octets()),
        ] {
            attrs.extend(8u16.to_ne_bytes());
            attrs.extend(kind.to_ne_bytes());
            attrs.extend(value);
        }
        assert_eq!(&q[28..], &attrs[..]);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn kernel_dump_vector() {
        let d = bytes(testdata::MFC_DUMP);
        let entries: Vec<MfcEntry> = data_msgs(&d)
            .iter()
            .map(|m| parse_mfc(m).unwrap().unwrap())
            .collect();
        assert_eq!(entries.len(), 3);
        assert_eq!(
            entries[0],
            MfcEntry {
                table: 253,
                source: S,
                group: G,
                iif: Some(2),               // r0
                oifs: vec![(4, 1), (8, 1)], // r1 (VIF 1) and r3 (VIF 3), by ifindex
                packets: 3,
                bytes: 384,
                wrong_if: 0,
                last_use_centisecs: Some(131),
                protocol: RTPROT_MROUTED,
                unresolved: false,
                deleted: false,
            }
        );
        assert_eq!(entries[0].key(), RouteKey::sg(S, G));
        // written with 31 positional slots, only VIF 30 forwarding: no such VIF, no oifs
        assert_eq!(entries[1].group, Ipv4Addr::new(239, 3, 3, 31));
        assert!(entries[1].oifs.is_empty());
        assert_eq!(entries[1].iif, Some(2));
        // the unresolved entry: no iif, no oifs, no stats
        assert_eq!(
            entries[2],
            MfcEntry {
                table: 253,
                source: S,
                group: Ipv4Addr::new(239, 2, 2, 2),
                iif: None,
                oifs: vec![],
                packets: 0,
                bytes: 0,
                wrong_if: 0,
                last_use_centisecs: None,
                protocol: RTPROT_MROUTED,
                unresolved: true,
                deleted: false,
            }
        );
        assert!(
            data_msgs(&d)
                .iter()
                .all(|m| m.header.is_multi() && m.header.seq == 4)
        );
        assert_eq!(
            messages(&bytes(testdata::MFC_DUMP_DONE)).collect::<Vec<_>>(),
            vec![Ok(Message::Done {
                seq: 4,
                interrupted: false
            })]
        );
        assert_eq!(
            messages(&bytes(testdata::MFC_DUMP_NO_TABLE)).next(),
            Some(Err(NetlinkError::DumpAborted {
                errno: libc::ENOENT,
                seq: 5
            }))
        );
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn kernel_notifications() {
        let d = bytes(testdata::MFC_NOTIFY_NEW);
        let m = data_msgs(&d)[0];
        assert_eq!((m.header.seq, m.header.pid), (0, 0)); // notifications: seq 0, from the kernel
        let e = parse_mfc(&m).unwrap().unwrap();
        assert!(!e.deleted);
        assert_eq!(
            (e.iif, e.oifs.clone(), e.packets),
            (Some(2), vec![(4, 1), (8, 1)], 0)
        );
        assert_eq!(e.last_use_centisecs, Some(0));

        let d = bytes(testdata::MFC_NOTIFY_DEL);
        let e = parse_mfc(&data_msgs(&d)[0]).unwrap().unwrap();
        assert!(e.deleted);
        assert_eq!((e.group, e.packets, e.bytes), (G, 3, 384));
        assert_eq!(e.last_use_centisecs, Some(281));

        let d = bytes(testdata::CACHE_REPORT);
        let m = data_msgs(&d)[0];
        assert_eq!(parse_mfc(&m), Ok(None));
        let r = parse_cache_report(&m).unwrap().unwrap();
        assert_eq!(r.msg_type, 1); // IGMPMSG_NOCACHE
        assert_eq!(r.vif, 0);
        assert_eq!(
            (r.source, r.group, r.table),
            (S, Ipv4Addr::new(239, 2, 2, 2), 253)
        );
        assert_eq!(r.packet.len(), 8);
    }

    /// A dump-style entry built by hand (by-ifindex multipath, stats, expires, a big
    /// table id) parses back to what went in.
    #[test]
    fn dump_style_round_trip() {
        let want = MfcEntry {
            table: 1000,
            source: Ipv4Addr::new(192, 0, 2, 1),
            group: Ipv4Addr::new(232, 1, 2, 3),
            iif: Some(11),
            oifs: vec![(12, 1), (40, 64)],
            packets: 1 << 40,
            bytes: u64::MAX,
            wrong_if: 5,
            last_use_centisecs: Some(12345),
            protocol: libc::RTPROT_STATIC,
            unresolved: false,
            deleted: true,
        };
        let mut b = MessageBuilder::new(libc::RTM_DELROUTE, 0, 0);
        b.payload(&mfc_rtmsg(0, libc::RTPROT_STATIC).to_bytes());
        b.attr_u32(libc::RTA_TABLE, want.table);
        b.attr_ipv4(libc::RTA_SRC, want.source);
        b.attr_ipv4(libc::RTA_DST, want.group);
        b.attr_u32(libc::RTA_IIF, 11);
        let mut nh = Vec::new();
        for &(ifindex, ttl) in &want.oifs {
            nh.extend(8u16.to_ne_bytes());
            nh.extend([0, ttl]);
            nh.extend(ifindex.to_ne_bytes());
        }
        // An entry that forwards nowhere (it drops the flow and keeps the kernel from
        // asking again) carries no RTA_MULTIPATH: the kernel rejects an empty one with
        // ERANGE ("Attribute failed policy validation"), and all TTLs default to 0.
        if !nh.is_empty() {
            b.attr(libc::RTA_MULTIPATH, &nh);
        }
        let mut st = Vec::new();
        for v in [want.packets, want.bytes, want.wrong_if] {
            st.extend(v.to_ne_bytes());
        }
        b.attr(RTA_MFC_STATS, &st);
        b.attr_u64(RTA_EXPIRES, 12345);
        b.attr_u32(0x3fff, 0); // unknown attributes are skipped
        let m = b.finish();
        let got = parse_mfc(&NlMsg::parse(&m).unwrap()).unwrap().unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn other_messages_and_errors() {
        // AF_INET routes are not MFC entries
        let r = crate::netlink::build_route_get(1, G);
        let mut r = r.clone();
        r[4..6].copy_from_slice(&libc::RTM_NEWROUTE.to_ne_bytes());
        assert_eq!(parse_mfc(&NlMsg::parse(&r).unwrap()), Ok(None));
        // other message types
        let l = crate::netlink::build_link_dump(1);
        assert_eq!(parse_mfc(&NlMsg::parse(&l).unwrap()), Ok(None));
        // missing RTA_DST
        let mut b = MessageBuilder::new(libc::RTM_NEWROUTE, 0, 0);
        b.payload(&mfc_rtmsg(253, RTPROT_MROUTED).to_bytes());
        b.attr_ipv4(libc::RTA_SRC, S);
        let m = b.finish();
        assert!(matches!(
            parse_mfc(&NlMsg::parse(&m).unwrap()),
            Err(NetlinkError::MissingAttribute { .. })
        ));
        // short rtmsg
        let mut b = MessageBuilder::new(libc::RTM_NEWROUTE, 0, 0);
        b.payload(&[128, 32, 32, 0]);
        let m = b.finish();
        assert!(matches!(
            parse_mfc(&NlMsg::parse(&m).unwrap()),
            Err(NetlinkError::Truncated { .. })
        ));
        // bad rtnexthop
        let mut b = MessageBuilder::new(libc::RTM_NEWROUTE, 0, 0);
        b.payload(&mfc_rtmsg(253, RTPROT_MROUTED).to_bytes());
        b.attr_ipv4(libc::RTA_DST, G);
        b.attr(libc::RTA_MULTIPATH, &[4, 0, 0, 1, 0, 0, 0, 0]);
        let m = b.finish();
        assert!(matches!(
            parse_mfc(&NlMsg::parse(&m).unwrap()),
            Err(NetlinkError::BadAttribute { kind: 9, .. })
        ));
    }
}
