//! A pure rtnetlink codec: builds request messages and parses replies and notifications.
//!
//! No sockets, no IO, no `unsafe`: the shell sends the bytes from the `build_*` functions
//! on a `NETLINK_ROUTE` socket and feeds every received datagram to [`messages`], then
//! each [`Message::Data`] to the `parse_*` function for its kind. Parsers never panic on
//! malformed input; they return [`NetlinkError`], or `Ok(None)` for a well-formed message
//! of another type or family (so a dispatcher can try them in turn).
//!
//! | What | Request | Parser |
//! |---|---|---|
//! | MFC entries (family 128) | [`build_mfc_add`], [`build_mfc_del`], [`build_mfc_dump`], [`build_mfc_get`] | [`parse_mfc`] |
//! | Kernel upcall mirror (group 30) | - | [`parse_cache_report`] |
//! | VIF table (family 128 links) | [`build_vif_dump`] | [`parse_vif_table`] |
//! | Links | [`build_link_dump`] | [`parse_link`] |
//! | Tunnel links | [`build_ipip_add`], [`build_link_up`], [`build_link_del`] | - |
//! | IPv4 addresses | [`build_addr_dump`] | [`parse_addr`] |
//! | IPv4 unicast routes (RPF) | [`build_route_get`], [`build_route_get_fib`], [`build_route_dump`] | [`parse_route`] |
//!
//! # Kernel behaviour worth knowing (verified on this machine's 6.x kernel)
//!
//! * MFC writes and reads are **not symmetric**. On write, `RTA_MULTIPATH` is positional:
//!   the n-th `rtnexthop` carries the TTL threshold of VIF n in `rtnh_hops` and its
//!   `rtnh_ifindex` is ignored. On read (dumps and notifications), `RTA_MULTIPATH` lists
//!   only the forwarding VIFs, each by the ifindex of its device. See [`mfc`].
//! * More than 31 nexthops give `EINVAL` (the kernel's limit is 32 VIFs, but an
//!   off-by-one in `ipmr_nla_get_ttls` refuses exactly 32 too), so VIF 31 can never be
//!   an outgoing VIF of an entry written over netlink: [`MAX_MULTIPATH_TTLS`].
//! * `RTM_NEWROUTE` for an MFC entry never fails with `EEXIST`: an add replaces.
//! * An `RTA_IIF` device that is not a VIF gives `ENFILE`; an ifindex that does not exist
//!   gives `ENODEV` (also on delete, so delete without `RTA_IIF` once a device is gone).
//! * The MFC table id defaults to `RT_TABLE_DEFAULT` (253) when `RTA_TABLE` is absent;
//!   `rtm_table` in the header is ignored on write.
//! * Dump filters in the request (`RTA_TABLE`) are honoured only when the socket has
//!   `NETLINK_GET_STRICT_CHK` set; otherwise every table is dumped, so parsers report the
//!   table and callers filter. With strict checking, a missing table ends the dump with
//!   `NLMSG_DONE` carrying `-ENOENT` ([`NetlinkError::DumpAborted`]).
//! * A (*,G) MFC entry is source 0.0.0.0; unresolved entries (pending NOCACHE) show up in
//!   dumps with `RTNH_F_UNRESOLVED` and no `RTA_IIF`, multipath or stats.
//! * Bridges send `AF_BRIDGE` `RTM_DELLINK` for ports that merely leave them;
//!   [`parse_link`] ignores non-`AF_UNSPEC` link messages.
//!
//! Byte order: netlink headers and integer attributes are host order; addresses are
//! network order (the kernel's `__be32`).

pub mod addr;
pub mod buf;
pub mod link;
pub mod mfc;
pub mod route;
mod rule;

#[cfg(test)]
mod testdata;

pub use addr::{AddrInfo, IfAddrMsg, build_addr_dump, parse_addr};
pub use buf::{
    Attr, Attrs, Message, MessageBuilder, Messages, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HDRLEN,
    NLMSG_HDRLEN, Nest, NlHeader, NlMsg, align4, classify, flags, messages,
};
pub use link::{
    IfInfoMsg, LinkInfo, VifInfo, VifTable, build_ipip_add, build_link_del, build_link_dump,
    build_link_up, build_vif_dump, parse_link, parse_vif_table,
};
pub use mfc::{
    CacheReport, MAX_MULTIPATH_TTLS, MAXVIFS, MfcEntry, build_mfc_add, build_mfc_del,
    build_mfc_dump, build_mfc_get, parse_cache_report, parse_mfc,
};
pub use route::{
    RouteInfo, RtMsg, build_route_dump, build_route_get, build_route_get_fib, parse_route,
};
pub use rule::{build_mrule_add, build_mrule_del};

/// Everything that can go wrong decoding (or, for [`build_mfc_add`], encoding) a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetlinkError {
    /// A header or fixed struct is cut short.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated {
        /// What was being read (`"nlmsghdr"`, `"rtmsg"`, ...).
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// `nlmsg_len` is below the header size or beyond the datagram.
    #[error("bad netlink message length {len} ({available} bytes available)")]
    BadLength {
        /// The `nlmsg_len` field.
        len: u32,
        /// Bytes left in the datagram.
        available: usize,
    },
    /// An attribute overruns its container or is too short for its type.
    #[error("bad attribute type {kind} (data length {len}): {reason}")]
    BadAttribute {
        /// Attribute type (flags masked off).
        kind: u16,
        /// Length as found (the `rta_len` field, or the data length for a short value).
        len: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A message lacks an attribute it cannot do without.
    #[error("missing attribute {kind}: {what}")]
    MissingAttribute {
        /// Attribute type.
        kind: u16,
        /// What it is.
        what: &'static str,
    },
    /// An `NLMSG_ERROR` with a negative errno: the request `seq` failed.
    #[error("kernel error for request {seq}: {} (errno {errno}){}",
        std::io::Error::from_raw_os_error(*.errno),
        .message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Kernel {
        /// Positive errno (`libc::ENFILE`, ...).
        errno: i32,
        /// Sequence number of the failed request.
        seq: u32,
        /// Extended-ack message (`NLMSGERR_ATTR_MSG`) when the socket enabled
        /// `NETLINK_EXT_ACK` and the kernel gave one.
        message: Option<String>,
    },
    /// An `NLMSG_DONE` with a negative status: the dump `seq` ended with an error.
    #[error("dump {seq} aborted: {} (errno {errno})", std::io::Error::from_raw_os_error(*.errno))]
    DumpAborted {
        /// Positive errno.
        errno: i32,
        /// Sequence number of the dump request.
        seq: u32,
    },
    /// [`build_mfc_add`] got more TTL slots than the kernel accepts.
    #[error("{count} VIF TTL slots, the kernel accepts at most {max}")]
    TooManyVifs {
        /// Slots after trimming trailing zeros.
        count: usize,
        /// [`MAX_MULTIPATH_TTLS`].
        max: usize,
    },
}

impl NetlinkError {
    /// The errno of a [`Kernel`](Self::Kernel) or [`DumpAborted`](Self::DumpAborted) error.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetlinkError::Kernel { errno, .. } | NetlinkError::DumpAborted { errno, .. } => {
                Some(*errno)
            }
            _ => None,
        }
    }

    /// The request sequence number a kernel error refers to.
    pub fn seq(&self) -> Option<u32> {
        match self {
            NetlinkError::Kernel { seq, .. } | NetlinkError::DumpAborted { seq, .. } => Some(*seq),
            _ => None,
        }
    }
}

/// `RTNL_FAMILY_IPMR` (linux/rtnetlink.h): the address family of IPv4 multicast routing
/// messages (MFC entries, VIF tables, cache reports). Not in libc.
pub const RTNL_FAMILY_IPMR: u8 = 128;

/// `RTPROT_MROUTED` (linux/rtnetlink.h): protocol of MFC entries owned by the mroute socket;
/// the kernel flushes them when that socket closes. The only other accepted value is
/// `RTPROT_STATIC` (4), whose entries survive. Not in libc.
pub const RTPROT_MROUTED: u8 = 17;

/// `RT_TABLE_DEFAULT` (253, linux/rtnetlink.h): the id of the default multicast routing
/// table (what `MRT_INIT` creates without `MRT_TABLE`).
pub const MROUTE_DEFAULT_TABLE: u32 = libc::RT_TABLE_DEFAULT as u32;

/// rtnetlink multicast groups (`enum rtnetlink_groups`, linux/rtnetlink.h) we subscribe to.
///
/// Join them with `setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group)`, which works
/// for every group number, or with the legacy `nl_groups` bind mask from
/// [`legacy_group_mask`] for groups 1..=32.
pub mod groups {
    /// `RTNLGRP_LINK`: `RTM_NEWLINK` / `RTM_DELLINK` (device up/down/added/removed).
    pub const LINK: u32 = libc::RTNLGRP_LINK;
    /// `RTNLGRP_IPV4_IFADDR`: `RTM_NEWADDR` / `RTM_DELADDR` for IPv4.
    pub const IPV4_IFADDR: u32 = libc::RTNLGRP_IPV4_IFADDR;
    /// `RTNLGRP_IPV4_MROUTE`: MFC changes (`RTM_NEWROUTE` / `RTM_DELROUTE`, family 128).
    pub const IPV4_MROUTE: u32 = libc::RTNLGRP_IPV4_MROUTE;
    /// `RTNLGRP_IPV4_ROUTE`: unicast route changes (RPF inputs).
    pub const IPV4_ROUTE: u32 = libc::RTNLGRP_IPV4_ROUTE;
    /// `RTNLGRP_IPV4_MROUTE_R` (30): a mirror of the mroute socket's upcalls
    /// (`RTM_NEWCACHEREPORT`), handy for test observers. See
    /// [`parse_cache_report`](super::parse_cache_report).
    pub const IPV4_MROUTE_R: u32 = libc::RTNLGRP_IPV4_MROUTE_R;

    const _: () = assert!(LINK == 1 && IPV4_IFADDR == 5 && IPV4_MROUTE == 6);
    const _: () = assert!(IPV4_ROUTE == 7 && IPV4_MROUTE_R == 30);

    /// All the groups the daemon listens to.
    pub const ALL: [u32; 4] = [LINK, IPV4_IFADDR, IPV4_MROUTE, IPV4_ROUTE];
}

/// The legacy `sockaddr_nl.nl_groups` bit for an rtnetlink group: `1 << (group - 1)`.
///
/// Only groups 1..=32 have a bit; returns `None` for 0 and for larger groups (join those
/// with `NETLINK_ADD_MEMBERSHIP`).
pub const fn legacy_group_mask(group: u32) -> Option<u32> {
    if group >= 1 && group <= 32 {
        Some(1u32 << (group - 1))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_masks() {
        assert_eq!(legacy_group_mask(groups::LINK), Some(1));
        assert_eq!(legacy_group_mask(groups::IPV4_IFADDR), Some(0x10));
        assert_eq!(legacy_group_mask(groups::IPV4_MROUTE), Some(0x20));
        assert_eq!(legacy_group_mask(groups::IPV4_ROUTE), Some(0x40));
        assert_eq!(legacy_group_mask(groups::IPV4_MROUTE_R), Some(1 << 29));
        assert_eq!(legacy_group_mask(32), Some(1 << 31));
        assert_eq!(legacy_group_mask(0), None);
        assert_eq!(legacy_group_mask(33), None);
    }

    /// Runs every parser on every data message of a datagram; returns how many data
    /// messages were seen. Must never panic, whatever the input.
    fn parse_everything(datagram: &[u8]) -> usize {
        let mut n = 0;
        for m in messages(datagram) {
            if let Ok(Message::Data(m)) = m {
                n += 1;
                let _ = parse_mfc(&m);
                let _ = parse_cache_report(&m);
                let _ = parse_vif_table(&m);
                let _ = parse_link(&m);
                let _ = parse_addr(&m);
                let _ = parse_route(&m);
            }
        }
        n
    }

    /// xorshift64*: a small deterministic PRNG for the robustness tests.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn vectors() -> Vec<Vec<u8>> {
        testdata::ALL.iter().map(|v| testdata::bytes(v)).collect()
    }

    #[test]
    fn all_vectors_parse_cleanly() {
        for (i, v) in vectors().iter().enumerate() {
            for m in messages(v) {
                match m {
                    Ok(Message::Data(m)) => {
                        let results = [
                            parse_mfc(&m).map(|x| x.is_some()),
                            parse_cache_report(&m).map(|x| x.is_some()),
                            parse_vif_table(&m).map(|x| x.is_some()),
                            parse_link(&m).map(|x| x.is_some()),
                            parse_addr(&m).map(|x| x.is_some()),
                            parse_route(&m).map(|x| x.is_some()),
                        ];
                        let hits = results.iter().filter(|r| matches!(r, Ok(true))).count();
                        assert!(results.iter().all(Result::is_ok), "vector {i}: {results:?}");
                        // exactly one parser claims each message, except the AF_BRIDGE port
                        // message that nobody should act on
                        let bridge = m.payload.first() == Some(&(libc::AF_BRIDGE as u8));
                        assert_eq!(hits, usize::from(!bridge), "vector {i}");
                    }
                    Ok(_) => {}
                    Err(e) => assert!(e.errno().is_some(), "vector {i}: {e}"),
                }
            }
        }
    }

    /// Every prefix of every datagram, and every message cut short with `nlmsg_len`
    /// adjusted (so the cut reaches the attribute parsers), parse without panicking.
    #[test]
    fn truncations_never_panic() {
        for v in vectors() {
            for len in 0..=v.len() {
                parse_everything(&v[..len]);
            }
            let mut off = 0;
            while off + NLMSG_HDRLEN <= v.len() {
                let h = NlHeader::parse(&v[off..]).unwrap();
                let msg = &v[off..off + h.len as usize];
                for len in NLMSG_HDRLEN..=msg.len() {
                    let mut cut = msg[..len].to_vec();
                    cut[..4].copy_from_slice(&(len as u32).to_ne_bytes());
                    assert_eq!(parse_everything(&cut), usize::from(h.msg_type >= 16));
                }
                off += align4(h.len as usize);
            }
        }
    }

    /// Random byte flips in real vectors and pure garbage parse without panicking.
    #[test]
    fn garbage_never_panics() {
        let vs = vectors();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut reached = 0;
        for _ in 0..4000 {
            let mut v = vs[rng.below(vs.len())].clone();
            if v.is_empty() {
                continue;
            }
            for _ in 0..1 + rng.below(6) {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            reached += parse_everything(&v);
        }
        let types = [
            libc::RTM_NEWROUTE,
            libc::RTM_DELROUTE,
            libc::RTM_NEWLINK,
            libc::RTM_DELLINK,
            libc::RTM_NEWADDR,
            libc::RTM_DELADDR,
            mfc::RTM_NEWCACHEREPORT,
            2,
            3,
        ];
        for _ in 0..4000 {
            let len = rng.below(200);
            let mut v: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            // half of the time, a plausible header so the garbage reaches the parsers
            if rng.below(2) == 0 && v.len() >= 20 {
                let n = v.len() as u32;
                v[..4].copy_from_slice(&n.to_ne_bytes());
                v[4..6].copy_from_slice(&types[rng.below(types.len())].to_ne_bytes());
                v[16] = [0, 2, 7, 128][rng.below(4)];
            }
            reached += parse_everything(&v);
        }
        // the garbage did get past the framing checks
        assert!(reached > 3000, "{reached}");
    }

    #[test]
    fn error_display() {
        let e = NetlinkError::Kernel {
            errno: libc::ENFILE,
            seq: 3,
            message: None,
        };
        let s = e.to_string();
        assert!(s.contains("errno 23") && s.contains("request 3"), "{s}");
        assert_eq!(e.errno(), Some(libc::ENFILE));
        assert_eq!(e.seq(), Some(3));
    }
}
