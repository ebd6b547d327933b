//! `struct rtmsg` and IPv4 unicast routes (RPF lookups and route-change notifications).
//!
//! For RPF the daemon asks the kernel which route it would use towards a source or RP:
//! [`build_route_get`] returns the route as resolved for one packet (one nexthop, with
//! `RTM_F_CLONED` set and the table it came from); [`build_route_get_fib`] sets
//! `RTM_F_FIB_MATCH` and returns the matching FIB entry instead (its prefix and, for
//! ECMP routes, all nexthops in `RTA_MULTIPATH`). An unreachable destination comes back as
//! an `NLMSG_ERROR` (`ENETUNREACH`, `EHOSTUNREACH`, ...).

use std::net::Ipv4Addr;

use serde::Serialize;

use super::NetlinkError;
use super::buf::{Attrs, MessageBuilder, NlMsg, flags, need, rd_u32};
use super::mfc::for_each_nexthop;

/// `RTM_F_FIB_MATCH` (linux/rtnetlink.h): return the matching FIB entry on `RTM_GETROUTE`;
/// libc has it for glibc only.
pub const RTM_F_FIB_MATCH: u32 = 0x2000;

/// `struct rtmsg` (linux/rtnetlink.h), 12 bytes:
///
/// ```text
/// u8 rtm_family; u8 rtm_dst_len; u8 rtm_src_len; u8 rtm_tos;
/// u8 rtm_table; u8 rtm_protocol; u8 rtm_scope; u8 rtm_type; u32 rtm_flags;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RtMsg {
    /// `rtm_family`: `AF_INET`, or 128 for MFC entries.
    pub family: u8,
    /// `rtm_dst_len`: destination prefix length.
    pub dst_len: u8,
    /// `rtm_src_len`: source prefix length.
    pub src_len: u8,
    /// `rtm_tos`.
    pub tos: u8,
    /// `rtm_table`: table id if < 256, else `RT_TABLE_COMPAT`/`UNSPEC` (see `RTA_TABLE`).
    pub table: u8,
    /// `rtm_protocol`: `RTPROT_*`.
    pub protocol: u8,
    /// `rtm_scope`: `RT_SCOPE_*`.
    pub scope: u8,
    /// `rtm_type`: `RTN_*`.
    pub rtype: u8,
    /// `rtm_flags`: `RTM_F_*`, `RTNH_F_*`.
    pub flags: u32,
}

impl RtMsg {
    /// `sizeof(struct rtmsg)`.
    pub const LEN: usize = 12;

    /// Decodes the start of a message payload.
    pub fn parse(b: &[u8]) -> Result<Self, NetlinkError> {
        need("rtmsg", b, Self::LEN)?;
        Ok(RtMsg {
            family: b[0],
            dst_len: b[1],
            src_len: b[2],
            tos: b[3],
            table: b[4],
            protocol: b[5],
            scope: b[6],
            rtype: b[7],
            flags: rd_u32(b, 8),
        })
    }

    /// Encodes.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[..8].copy_from_slice(&[
            self.family,
            self.dst_len,
            self.src_len,
            self.tos,
            self.table,
            self.protocol,
            self.scope,
            self.rtype,
        ]);
        b[8..].copy_from_slice(&self.flags.to_ne_bytes());
        b
    }
}

fn route_get(seq: u32, dst: Ipv4Addr, rtm_flags: u32) -> Vec<u8> {
    let mut b = MessageBuilder::new(libc::RTM_GETROUTE, flags::REQUEST, seq);
    let hdr = RtMsg {
        family: libc::AF_INET as u8,
        dst_len: 32,
        flags: rtm_flags,
        ..RtMsg::default()
    };
    b.payload(&hdr.to_bytes());
    b.attr_ipv4(libc::RTA_DST, dst);
    b.finish()
}

/// Builds an `RTM_GETROUTE` (not a dump) for the route the kernel would use to reach
/// `dst`. The reply is one `RTM_NEWROUTE` (dst_len 32, table of the matching route,
/// `RTA_OIF`, `RTA_GATEWAY` if not on-link, `RTA_PREFSRC`) or an `NLMSG_ERROR`.
pub fn build_route_get(seq: u32, dst: Ipv4Addr) -> Vec<u8> {
    route_get(seq, dst, 0)
}

/// Like [`build_route_get`] with `RTM_F_FIB_MATCH`: the reply is the matching FIB entry
/// (real prefix length, all ECMP nexthops in [`RouteInfo::multipath`]).
pub fn build_route_get_fib(seq: u32, dst: Ipv4Addr) -> Vec<u8> {
    route_get(seq, dst, RTM_F_FIB_MATCH)
}

/// Builds an `RTM_GETROUTE` dump of the IPv4 routes of all tables.
pub fn build_route_dump(seq: u32) -> Vec<u8> {
    let mut b = MessageBuilder::new(libc::RTM_GETROUTE, flags::REQUEST | flags::DUMP, seq);
    let hdr = RtMsg {
        family: libc::AF_INET as u8,
        ..RtMsg::default()
    };
    b.payload(&hdr.to_bytes());
    b.finish()
}

/// An IPv4 unicast route (reply to a route get, dump entry or notification).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteInfo {
    /// Table id (`RTA_TABLE`, else `rtm_table`); 254 is main, 255 local.
    pub table: u32,
    /// Destination prefix (`RTA_DST`; 0.0.0.0 for a default route).
    pub dst: Ipv4Addr,
    /// Prefix length (32 in plain route-get replies).
    pub dst_len: u8,
    /// Outgoing interface (`RTA_OIF`).
    pub oif: Option<u32>,
    /// Next-hop router (`RTA_GATEWAY`); `None` when the destination is on-link.
    pub gateway: Option<Ipv4Addr>,
    /// Preferred source address (`RTA_PREFSRC`).
    pub prefsrc: Option<Ipv4Addr>,
    /// ECMP nexthops (`RTA_MULTIPATH`): (ifindex, gateway from the nested `RTA_GATEWAY`).
    pub multipath: Vec<(u32, Option<Ipv4Addr>)>,
    /// Metric (`RTA_PRIORITY`).
    pub priority: Option<u32>,
    /// `rtm_type`: `RTN_UNICAST` (1), `RTN_LOCAL` (2), `RTN_UNREACHABLE` (7), ...
    pub rtype: u8,
    /// `rtm_protocol`: `RTPROT_KERNEL` (2), `RTPROT_BOOT` (3), `RTPROT_STATIC` (4), ...
    pub protocol: u8,
    /// `rtm_scope`.
    pub scope: u8,
    /// Reported by `RTM_DELROUTE`.
    pub deleted: bool,
}

/// Parses an `RTM_NEWROUTE` / `RTM_DELROUTE` of family `AF_INET`; `Ok(None)` for other
/// types or families (including MFC entries, family 128).
pub fn parse_route(msg: &NlMsg<'_>) -> Result<Option<RouteInfo>, NetlinkError> {
    let deleted = match msg.msg_type() {
        libc::RTM_NEWROUTE => false,
        libc::RTM_DELROUTE => true,
        _ => return Ok(None),
    };
    let rtm = RtMsg::parse(msg.payload)?;
    if rtm.family != libc::AF_INET as u8 {
        return Ok(None);
    }
    let mut r = RouteInfo {
        table: u32::from(rtm.table),
        dst: Ipv4Addr::UNSPECIFIED,
        dst_len: rtm.dst_len,
        oif: None,
        gateway: None,
        prefsrc: None,
        multipath: Vec::new(),
        priority: None,
        rtype: rtm.rtype,
        protocol: rtm.protocol,
        scope: rtm.scope,
        deleted,
    };
    for a in msg.attrs_after("rtmsg", RtMsg::LEN)? {
        let a = a?;
        match a.kind() {
            libc::RTA_TABLE => r.table = a.u32()?,
            libc::RTA_DST => r.dst = a.ipv4()?,
            libc::RTA_OIF => r.oif = Some(a.u32()?),
            libc::RTA_GATEWAY => r.gateway = Some(a.ipv4()?),
            libc::RTA_PREFSRC => r.prefsrc = Some(a.ipv4()?),
            libc::RTA_PRIORITY => r.priority = Some(a.u32()?),
            libc::RTA_MULTIPATH => for_each_nexthop(a.data, |_, ifindex, nested| {
                let mut gw = None;
                for na in Attrs::new(nested) {
                    let na = na?;
                    if na.kind() == libc::RTA_GATEWAY {
                        gw = Some(na.ipv4()?);
                    }
                }
                r.multipath.push((ifindex, gw));
                Ok(())
            })?,
            _ => {}
        }
    }
    Ok(Some(r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::messages;
    use crate::netlink::testdata::{self, bytes, data_msgs};

    #[test]
    fn requests() {
        let d = build_route_get(9, Ipv4Addr::new(192, 168, 50, 7));
        let mut exp = 36u32.to_ne_bytes().to_vec(); // 16 + 12 + 8
        exp.extend(26u16.to_ne_bytes()); // RTM_GETROUTE
        exp.extend(1u16.to_ne_bytes()); // NLM_F_REQUEST only: not a dump
        exp.extend(9u32.to_ne_bytes());
        exp.extend(0u32.to_ne_bytes());
        exp.extend([2, 32, 0, 0, 0, 0, 0, 0]); // AF_INET, dst_len 32
        exp.extend(0u32.to_ne_bytes()); // rtm_flags
        exp.extend(8u16.to_ne_bytes());
        exp.extend(1u16.to_ne_bytes()); // RTA_DST
        exp.extend([192, 168, 50, 7]);
        assert_eq!(d, exp);
        let f = build_route_get_fib(9, Ipv4Addr::new(192, 168, 50, 7));
        assert_eq!(&f[24..28], &RTM_F_FIB_MATCH.to_ne_bytes());
        let q = build_route_dump(1);
        assert_eq!(q.len(), 28);
        assert_eq!(&q[6..8], &0x301u16.to_ne_bytes());
        assert_eq!(q[16], 2);
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn kernel_route_get() {
        let d = bytes(testdata::ROUTE_GET);
        let m = data_msgs(&d)[0];
        assert_eq!(m.header.seq, 9);
        assert_eq!(
            parse_route(&m).unwrap().unwrap(),
            RouteInfo {
                table: 254,
                dst: Ipv4Addr::new(192, 168, 50, 7),
                dst_len: 32,
                oif: Some(4),
                gateway: Some(Ipv4Addr::new(10, 1, 0, 2)),
                prefsrc: Some(Ipv4Addr::new(10, 1, 0, 1)),
                multipath: vec![],
                priority: None,
                rtype: libc::RTN_UNICAST,
                protocol: 0,
                scope: 0,
                deleted: false,
            }
        );
        assert_eq!(crate::netlink::parse_mfc(&m), Ok(None));

        let d = bytes(testdata::ROUTE_GET_FIB);
        let r = parse_route(&data_msgs(&d)[0]).unwrap().unwrap();
        assert_eq!(
            (r.dst, r.dst_len, r.oif, r.gateway),
            (Ipv4Addr::new(192, 168, 60, 0), 24, None, None)
        );
        assert_eq!(
            r.multipath,
            vec![
                (4, Some(Ipv4Addr::new(10, 1, 0, 2))),
                (6, Some(Ipv4Addr::new(10, 2, 0, 2)))
            ]
        );

        let d = bytes(testdata::ROUTE_GET_UNREACH);
        let e = messages(&d).next().unwrap().unwrap_err();
        assert_eq!((e.errno(), e.seq()), (Some(libc::ENETUNREACH), Some(9)));
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn kernel_route_dump_and_notify() {
        let d = bytes(testdata::ROUTE_DUMP);
        let routes: Vec<RouteInfo> = data_msgs(&d)
            .iter()
            .map(|m| parse_route(m).unwrap().unwrap())
            .collect();
        assert_eq!(routes.len(), 16);
        let main: Vec<_> = routes.iter().filter(|r| r.table == 254).collect();
        assert_eq!(main.len(), 6);
        let via = main
            .iter()
            .find(|r| r.dst == Ipv4Addr::new(192, 168, 50, 0))
            .unwrap();
        assert_eq!(
            (via.dst_len, via.oif, via.gateway),
            (24, Some(4), Some(Ipv4Addr::new(10, 1, 0, 2)))
        );
        let ecmp = main
            .iter()
            .find(|r| r.dst == Ipv4Addr::new(192, 168, 60, 0))
            .unwrap();
        assert_eq!(ecmp.multipath.len(), 2);
        let local = routes
            .iter()
            .find(|r| r.dst == Ipv4Addr::new(10, 0, 0, 2))
            .unwrap();
        assert_eq!((local.table, local.rtype), (255, libc::RTN_LOCAL));

        let d = bytes(testdata::ROUTE_NOTIFY_DEL);
        let r = parse_route(&data_msgs(&d)[0]).unwrap().unwrap();
        assert!(r.deleted);
        assert_eq!(
            (r.dst, r.dst_len, r.oif, r.protocol),
            (Ipv4Addr::new(10, 7, 0, 0), 24, Some(6), 2)
        );
    }

    #[test]
    fn round_trip_multipath_and_errors() {
        let mut b = MessageBuilder::new(libc::RTM_NEWROUTE, 0, 0);
        b.payload(
            &RtMsg {
                family: 2,
                dst_len: 16,
                table: 254,
                protocol: 4,
                rtype: 1,
                ..RtMsg::default()
            }
            .to_bytes(),
        );
        b.attr_u32(libc::RTA_TABLE, 5000);
        b.attr_ipv4(libc::RTA_DST, Ipv4Addr::new(172, 16, 0, 0));
        b.attr_u32(libc::RTA_PRIORITY, 20);
        // nexthop 1: ifindex 3 via 10.0.0.9; nexthop 2: ifindex 4, on-link
        let mut nh = Vec::new();
        nh.extend(16u16.to_ne_bytes());
        nh.extend([0, 0]);
        nh.extend(3u32.to_ne_bytes());
        nh.extend(8u16.to_ne_bytes());
        nh.extend(libc::RTA_GATEWAY.to_ne_bytes());
        nh.extend([10, 0, 0, 9]);
        nh.extend(8u16.to_ne_bytes());
        nh.extend([0, 0]);
        nh.extend(4u32.to_ne_bytes());
        b.attr(libc::RTA_MULTIPATH, &nh);
        let m = b.finish();
        let r = parse_route(&NlMsg::parse(&m).unwrap()).unwrap().unwrap();
        assert_eq!((r.table, r.priority, r.protocol), (5000, Some(20), 4));
        assert_eq!(
            r.multipath,
            vec![(3, Some(Ipv4Addr::new(10, 0, 0, 9))), (4, None)]
        );

        // a nexthop whose nested gateway overruns it
        let mut bad = nh.clone();
        bad[8..10].copy_from_slice(&12u16.to_ne_bytes());
        let mut b = MessageBuilder::new(libc::RTM_NEWROUTE, 0, 0);
        b.payload(
            &RtMsg {
                family: 2,
                ..RtMsg::default()
            }
            .to_bytes(),
        );
        b.attr(libc::RTA_MULTIPATH, &bad);
        let m = b.finish();
        assert!(matches!(
            parse_route(&NlMsg::parse(&m).unwrap()),
            Err(NetlinkError::BadAttribute { .. })
        ));
        // IPv6 routes are ignored
        let mut b = MessageBuilder::new(libc::RTM_NEWROUTE, 0, 0);
        b.payload(
            &RtMsg {
                family: libc::AF_INET6 as u8,
                ..RtMsg::default()
            }
            .to_bytes(),
        );
        let m = b.finish();
        assert_eq!(parse_route(&NlMsg::parse(&m).unwrap()), Ok(None));
    }
}
