//! Answering mrinfo: Ask Neighbors2 and Neighbors2 (draft appendix B, as mrouted's
//! `accept_neighbor_request2` answers them).
//!
//! mrinfo sends an Ask Neighbors2 by unicast to one of a router's addresses; the router
//! answers with Neighbors2 messages by unicast to the asker: its version and capabilities
//! in the common header, and one entry per interface (local address, metric, TTL
//! threshold, flags, neighbors). [`Dvmrp::answer_ask_neighbors2`] is a dedicated entry
//! point rather than a case of [`Protocol::handle`](common::Protocol::handle) because
//! only the shell knows every address of the router: the question may be sent to an
//! address of an interface that does not run DVMRP (an asker on a host LAN asks its
//! gateway), and the answer must leave from that address, which the crate may not know.
//!
//! * **Who is answered**: the shell vouches that the destination is one of the router's
//!   unicast addresses; it may have arrived on any interface (DVMRP or not), from anyone
//!   (the asker need not be a neighbor) and with any TTL, as mrouted answers. The answer
//!   goes from that destination to the asker's address with TTL [`UNICAST_TTL`], every
//!   message with the header [`Header::DRAFT`](packet::Header::DRAFT) (version 3.255,
//!   Prune, GenID and Mtrace; mrouted too sends its Neighbors2 without the Leaf
//!   capability). A router with DVMRP configured on no interface does not answer
//!   ([`reasons::NO_INTERFACE`]).
//! * **Entries**: every interface configured for DVMRP, active or not, in interface index
//!   order (mrouted's are in VIF order):
//!   * local address: the interface's address (a tunnel's: its `local` end); an interface
//!     that is down gives the address it had when it was last up, or 0.0.0.0 if it never
//!     was;
//!   * metric ([`InterfaceConfig::effective_metric`]) and TTL threshold
//!     ([`InterfaceConfig::ttl_threshold`]);
//!   * neighbors: the two-way neighbors (mrouted leaves one-way ones out on a
//!     physical interface), or 0.0.0.0 if there are none; a tunnel lists its remote end,
//!     whatever its state;
//!   * flags: **tunnel** for a tunnel; **down** for an interface that is not active (link
//!     down, no address, no device yet), and for a tunnel whose remote end is not a
//!     two-way neighbor (mrouted marks a tunnel without neighbors, or with a one-way one,
//!     down); **leaf** for an active interface without two-way neighbors (mrouted sets it
//!     once an interface has had no neighbor for its leaf confirmation time; we do at
//!     once); **querier** for an active physical interface where this router is the IGMP
//!     querier, which DVMRP does not know: the caller says (`igmp_querier`), the shell
//!     from its IGMP instance. **disabled** is never set: mrouted sets it for a `phyint
//!     ... disable` in its configuration; mrouterd's counterpart is an interface without
//!     `dvmrp` in its protocols, which is no DVMRP interface and is not listed. **srcrt**
//!     and **pim** do not apply.
//! * **Splitting**: the entries are packed with [`packet::split_neighbors2`] into
//!   messages of at most [`Config::max_report_len`](crate::config::Config::max_report_len)
//!   octets (516 by default: the 576-octet datagram, mrouted's limit for this message
//!   too); an interface whose neighbors do not fit is continued in the next message with
//!   the same interface fields, as mrouted does.
//! * **Counters**: the question counts as received ([`kinds::ASK_NEIGHBORS2`]) and the
//!   replies as sent ([`kinds::NEIGHBORS2`], one per message) on the interface it arrived
//!   on if that runs DVMRP, else in the router-wide
//!   [`Snapshot::other_interfaces`](crate::Snapshot::other_interfaces); refusals count as
//!   drops by reason there.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use common::{Action, IfIndex, Instant, RxPacket};

use crate::config::InterfaceConfig;
use crate::packet::{self, Body, InterfaceFlags, Message, Neighbors2Entry};
use crate::{Dvmrp, UNICAST_TTL, kinds, reasons};

/// A DVMRP message to send by unicast from a given address of this router: the answer to
/// an mrinfo question. The kernel routes it; no interface is implied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnicastReply {
    /// The source address: the address the question was sent to.
    pub src: Ipv4Addr,
    /// The asker.
    pub dst: Ipv4Addr,
    pub ttl: u8,
    /// The DVMRP message (IGMP type 0x13 and what follows; no IP header).
    pub payload: Vec<u8>,
}

/// Message counters of the interfaces that do not run DVMRP (only mrinfo questions reach
/// DVMRP from there).
#[derive(Debug, Default)]
pub(crate) struct OtherCounters {
    pub received: BTreeMap<&'static str, u64>,
    pub dropped: BTreeMap<&'static str, u64>,
    pub sent: BTreeMap<&'static str, u64>,
}

/// Where a message that arrived on an interface is counted.
struct Counts<'a> {
    received: &'a mut BTreeMap<&'static str, u64>,
    dropped: &'a mut BTreeMap<&'static str, u64>,
    sent: &'a mut BTreeMap<&'static str, u64>,
}

impl Dvmrp {
    /// Answer an Ask Neighbors2 (mrinfo) that was sent by unicast to `pkt.dst`, one of
    /// this router's addresses (the caller checked), from `pkt.src`, and arrived on
    /// `pkt.ifindex` (any interface). `igmp_querier(ifindex)` tells whether this router is
    /// the IGMP querier on an interface (the Querier flag). Returns the actions of the
    /// timers due at `now` (run first, as [`Protocol::handle`](common::Protocol::handle)
    /// does) and the Neighbors2 messages to send. See the module documentation.
    pub fn answer_ask_neighbors2(
        &mut self,
        now: Instant,
        pkt: &RxPacket<'_>,
        igmp_querier: impl Fn(IfIndex) -> bool,
    ) -> (Vec<Action>, Vec<UnicastReply>) {
        let mut out = Vec::new();
        self.run_timers(now, &mut out);
        let replies = self.ask_neighbors2(pkt, igmp_querier);
        (out, replies)
    }

    fn ask_neighbors2(
        &mut self,
        pkt: &RxPacket<'_>,
        igmp_querier: impl Fn(IfIndex) -> bool,
    ) -> Vec<UnicastReply> {
        let msg = match packet::parse(pkt.payload) {
            Ok(m) => m,
            Err(e) => {
                bump(self.counts(pkt.ifindex).dropped, e.kind());
                return Vec::new();
            }
        };
        bump(self.counts(pkt.ifindex).received, kinds::of(&msg.body));
        let refused = if !matches!(msg.body, Body::AskNeighbors2) {
            // Nothing else is answered here (the shell passes only Ask Neighbors2).
            return Vec::new();
        } else if !is_unicast(pkt.dst) {
            Some(reasons::BAD_DESTINATION)
        } else if !is_unicast(pkt.src) {
            Some(reasons::UNANSWERABLE_SOURCE)
        } else if !self.interfaces.values().any(|i| i.cfg.is_some()) {
            Some(reasons::NO_INTERFACE)
        } else {
            None
        };
        if let Some(reason) = refused {
            bump(self.counts(pkt.ifindex).dropped, reason);
            return Vec::new();
        }
        let entries = self.neighbors2_entries(igmp_querier);
        let replies: Vec<UnicastReply> =
            packet::split_neighbors2(&entries, self.config.max_report_len)
                .into_iter()
                .map(|body| UnicastReply {
                    src: pkt.dst,
                    dst: pkt.src,
                    ttl: UNICAST_TTL,
                    payload: packet::emit(&Message::new(Body::Neighbors2(body))),
                })
                .collect();
        *self
            .counts(pkt.ifindex)
            .sent
            .entry(kinds::NEIGHBORS2)
            .or_default() += replies.len() as u64;
        replies
    }

    /// What an mrinfo question is answered with now, before splitting: one entry per
    /// interface configured for DVMRP (see the module documentation).
    pub fn neighbors2_entries(
        &self,
        igmp_querier: impl Fn(IfIndex) -> bool,
    ) -> Vec<Neighbors2Entry> {
        self.interfaces
            .iter()
            .filter_map(|(&ifindex, i)| {
                let cfg: &InterfaceConfig = i.cfg.as_ref()?;
                let active = i.active && i.link.is_some();
                let local = i
                    .link
                    .as_ref()
                    .map(|l| l.addr)
                    .or(i.last_addr)
                    .unwrap_or(Ipv4Addr::UNSPECIFIED);
                let two_way: Vec<Ipv4Addr> = i
                    .neighbors
                    .values()
                    .filter(|n| n.is_two_way())
                    .map(|n| n.addr)
                    .collect();
                let mut flags = InterfaceFlags(0);
                if !active {
                    flags = flags | InterfaceFlags::DOWN;
                }
                if active && two_way.is_empty() {
                    flags = flags | InterfaceFlags::LEAF;
                }
                let neighbors = match cfg.tunnel_peer {
                    Some(peer) => {
                        flags = flags | InterfaceFlags::TUNNEL;
                        if !two_way.contains(&peer) {
                            flags = flags | InterfaceFlags::DOWN;
                        }
                        vec![peer]
                    }
                    None => {
                        if active && igmp_querier(ifindex) {
                            flags = flags | InterfaceFlags::QUERIER;
                        }
                        if two_way.is_empty() {
                            vec![Ipv4Addr::UNSPECIFIED]
                        } else {
                            two_way
                        }
                    }
                };
                Some(Neighbors2Entry {
                    local,
                    metric: cfg.effective_metric(),
                    threshold: cfg.ttl_threshold,
                    flags,
                    neighbors,
                })
            })
            .collect()
    }

    /// The counters of `ifindex`: its own if it is configured for DVMRP, else the
    /// router-wide ones of the other interfaces.
    fn counts(&mut self, ifindex: IfIndex) -> Counts<'_> {
        match self
            .interfaces
            .get_mut(&ifindex)
            .filter(|i| i.cfg.is_some())
        {
            Some(i) => Counts {
                received: &mut i.received,
                dropped: &mut i.dropped,
                sent: &mut i.sent,
            },
            None => Counts {
                received: &mut self.other.received,
                dropped: &mut self.other.dropped,
                sent: &mut self.other.sent,
            },
        }
    }
}

fn bump(map: &mut BTreeMap<&'static str, u64>, key: &'static str) {
    *map.entry(key).or_default() += 1;
}

/// An address a unicast packet can come from or go to.
fn is_unicast(a: Ipv4Addr) -> bool {
    !(a.is_unspecified() || a.is_multicast() || a.is_broadcast())
}
