//! DVMRP version 3 message codec (draft-ietf-idmr-dvmrp-v3-11 section 3 and appendix B, with
//! the layouts of mrouted 3.9 where the draft leaves them open). Sans-IO: bytes in, values out.
//!
//! DVMRP rides in IGMP (IP protocol 2): every message starts with the 8-octet common header
//! `type 0x13 | code | checksum | reserved | capabilities | minor | major`, the code being the
//! DVMRP message type and the checksum the Internet checksum over the whole message.
//!
//! * [`parse`] decodes one DVMRP message (the IP payload, IP header already removed) into a
//!   [`Message`] or a typed [`ParseError`] whose [`ParseError::kind`] names a counter. It never
//!   panics, whatever the input.
//! * [`emit`] encodes a [`Message`] with a correct checksum. `parse(&emit(&m)) ==
//!   Ok(m.normalized())` for every `m`, and `m.normalized() == m` for every message that
//!   [`parse`] returns from a well-formed sender (see [`Message::normalized`]).
//! * [`split_report`] packs routes into as few Route Reports as fit a length limit, and
//!   [`split_neighbors2`] does the same for the interfaces of a Neighbors2 reply (mrinfo).
//!
//! Decisions where the draft leaves room:
//!
//! * **Header.** The octet after the checksum is reserved: ignored on receipt, sent as zero.
//!   The next one carries the capability flags (draft 3.2.1 for Probes, appendix B for
//!   Neighbors2); mrouted puts the same flags into every message it sends (its
//!   `MROUTED_LEVEL`, `0x000eff03` in 3.9), so they are decoded for every code
//!   ([`Header::capabilities`]) and kept verbatim, unused bits included. The versions are not
//!   checked: mrouted accepts older versions and cisco sends its software release (10, 11);
//!   what a version implies is the router's decision.
//! * **Codes.** 1 to 9 as in the draft (3 and 4, obsolete, in mrouted's layout), and 10/11,
//!   mrouted's Info Request/Reply (used by `mrinfo`). Anything else is
//!   [`ParseError::UnknownCode`].
//! * **Probe.** The Generation ID is required (a body of fewer than 4 octets is an error, as
//!   in mrouted for version 3.3 and later), then the neighbor list runs to the end of the
//!   message: a partial address is an error.
//! * **Route Report** (3.4.2, 3.4.10). Blocks of a 3-octet mask (the first mask octet, 255,
//!   is implied) and one or more (source network, metric) pairs; the network takes as many
//!   octets as the mask has significant octets (1 to 4), the high bit of the metric octet
//!   ends the block. A mask that is not contiguous is [`ParseError::BadNetmask`] (mrouted
//!   drops such a report whole); mask `00 00 00` with network `00` is the default route
//!   0.0.0.0/0 (3.4.2). The network is returned as sent, host bits included (a receiver may
//!   want to reject such a route, [`RouteEntry::has_host_bits`]), and the metric as its 7
//!   bits, illegal values included (3.4.6 says to ignore such a route, not the report).
//!   Masks may come in any order (3.4.2 lifted the ordering rule); entries keep wire order.
//! * **Prune, Graft, Graft Ack** (3.5.6, 3.6.3, 3.6.6). The Source Network Mask is present
//!   when the message is long enough for it; a partial mask is an error; octets after the
//!   mask are covered by the checksum and ignored. mrouted sends these without a mask.
//! * **Neighbors / Neighbors2** (mrouted, appendix B). A sequence of `local address, metric,
//!   threshold, [flags,] count, count neighbor addresses` entries up to the end of the
//!   message; a partial entry is an error.
//! * **Info Request / Reply** (mrouted). A sequence of `type, length (32-bit words of data),
//!   2 reserved octets, data` items; a partial item is an error.
//! * **Ask Neighbors, Ask Neighbors2** have no body; octets after the header are ignored.
//!
//! Checks are made in this order: length of the header ([`ParseError::TooShort`]), checksum
//! ([`ParseError::BadChecksum`]), IGMP type ([`ParseError::NotDvmrp`]), code
//! ([`ParseError::UnknownCode`]), then the body.

use std::fmt;
use std::net::Ipv4Addr;

use common::checksum;

/// The IGMP type of every DVMRP message.
pub const IGMP_TYPE_DVMRP: u8 = 0x13;
/// DVMRP is carried in IGMP, IP protocol 2.
pub const IP_PROTOCOL: u8 = 2;
/// All-DVMRP-Routers, the destination of Probes and periodic Reports.
pub const ALL_DVMRP_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 4);

/// DVMRP codes (draft 3.1 table 1, appendix B table 3, mrouted `dvmrp.h`).
pub const PROBE: u8 = 1;
pub const REPORT: u8 = 2;
/// Obsolete (appendix B).
pub const ASK_NEIGHBORS: u8 = 3;
/// Obsolete (appendix B).
pub const NEIGHBORS: u8 = 4;
pub const ASK_NEIGHBORS2: u8 = 5;
pub const NEIGHBORS2: u8 = 6;
pub const PRUNE: u8 = 7;
pub const GRAFT: u8 = 8;
pub const GRAFT_ACK: u8 = 9;
/// mrouted only (`DVMRP_INFO_REQUEST`).
pub const INFO_REQUEST: u8 = 10;
/// mrouted only (`DVMRP_INFO_REPLY`).
pub const INFO_REPLY: u8 = 11;

/// Info item types (mrouted `DVMRP_INFO_*`).
pub const INFO_VERSION: u8 = 1;
pub const INFO_NEIGHBORS: u8 = 2;

/// The current major version (draft 3.1).
pub const MAJOR_VERSION: u8 = 3;
/// The minor version that claims compliance with the draft (3.1).
pub const MINOR_VERSION: u8 = 0xff;
/// The Infinity metric (3.4.3); `INFINITY + m` is a poison reverse of metric `m` (3.4.4).
pub const INFINITY: u8 = 32;
/// Length of the common header.
pub const HEADER_LEN: usize = 8;
/// Length of a Prune without / with the Source Network Mask.
pub const PRUNE_LEN: usize = HEADER_LEN + 12;
pub const PRUNE_WITH_MASK_LEN: usize = PRUNE_LEN + 4;
/// Length of a Graft or Graft Ack without / with the Source Network Mask.
pub const GRAFT_LEN: usize = HEADER_LEN + 8;
pub const GRAFT_WITH_MASK_LEN: usize = GRAFT_LEN + 4;
/// The longest message that fits the 576-octet datagram every host must reassemble (RFC
/// 1122) with the largest IP header (60 octets): mrouted's limit (`MAX_DVMRP_DATA_LEN` + 8).
pub const MAX_LEN_576: usize = 576 - 60;
/// A Report with one route of the widest kind (mask, 4 network octets, metric): the
/// smallest `max_len` [`split_report`] works with.
pub const MIN_REPORT_SPLIT_LEN: usize = HEADER_LEN + 3 + 4 + 1;
/// The default prune lifetime, 2 hours (3.5.6).
pub const DEFAULT_PRUNE_LIFETIME: u32 = 7200;
/// Most neighbors one Neighbors / Neighbors2 entry can list (an 8-bit count).
pub const MAX_ENTRY_NEIGHBORS: usize = 255;
/// Most data one Info item can carry (an 8-bit count of 32-bit words).
pub const MAX_INFO_DATA_LEN: usize = 255 * 4;

// ---------------------------------------------------------------------------------------------
// Message types

/// A decoded DVMRP message: the common header and the body its code selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub body: Body,
}

/// The parts of the common header that are not fixed (draft 3.1, 3.2.1, 3.2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Capability flags (Probe and Neighbors2 per the draft; mrouted fills them in always).
    pub capabilities: Capabilities,
    pub minor: u8,
    pub major: u8,
}

/// Probe capability flags (draft 3.2.1 figure 2, appendix B table 4), all 8 bits as sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Capabilities(pub u8);

/// The body of a message, by code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Probe(Probe),
    Report(Report),
    AskNeighbors,
    Neighbors(Vec<NeighborsEntry>),
    AskNeighbors2,
    Neighbors2(Vec<Neighbors2Entry>),
    Prune(Prune),
    Graft(Graft),
    GraftAck(Graft),
    InfoRequest(Vec<InfoItem>),
    InfoReply(Vec<InfoItem>),
}

/// Probe (3.2.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub generation_id: u32,
    /// Neighbors whose Probes the sender has received on this interface.
    pub neighbors: Vec<Ipv4Addr>,
}

/// Route Report (3.4.10).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Report {
    pub routes: Vec<RouteEntry>,
}

/// One source network of a Report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteEntry {
    /// The source network as sent (octets beyond the mask's significant octets are 0).
    pub network: Ipv4Addr,
    /// 0 (the default route) or 8 to 32.
    pub prefix_len: u8,
    /// The 7-bit metric as sent: 1..=31 reachable, 32 ([`INFINITY`]) unreachable, 33..=63
    /// poison reverse (the sender depends on the receiver, 3.4.4), 0 and 64.. illegal.
    pub metric: u8,
}

/// Prune (3.5.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prune {
    /// Source host address of the datagram that triggered the prune (mrouted sends the
    /// source network).
    pub source: Ipv4Addr,
    pub group: Ipv4Addr,
    /// Prune Lifetime in seconds.
    pub lifetime: u32,
    /// The optional Source Network Mask (only to neighbors with the Netmask capability).
    pub source_mask: Option<Ipv4Addr>,
}

/// Graft (3.6.3) and Graft Ack (3.6.6), which have the same layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Graft {
    pub source: Ipv4Addr,
    pub group: Ipv4Addr,
    pub source_mask: Option<Ipv4Addr>,
}

/// One interface of an (obsolete) Neighbors message (mrouted `dvmrp.h`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NeighborsEntry {
    pub local: Ipv4Addr,
    pub metric: u8,
    pub threshold: u8,
    pub neighbors: Vec<Ipv4Addr>,
}

/// One interface of a Neighbors2 message (appendix B.2, mrouted `accept_neighbor_request2`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbors2Entry {
    pub local: Ipv4Addr,
    pub metric: u8,
    pub threshold: u8,
    pub flags: InterfaceFlags,
    /// For a down or neighborless interface mrouted lists 0.0.0.0 or the tunnel endpoint.
    pub neighbors: Vec<Ipv4Addr>,
}

/// Neighbors2 interface flags (appendix B table 5, mrouted `DVMRP_NF_*`), all 8 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct InterfaceFlags(pub u8);

/// One item of an Info Request or Reply (mrouted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfoItem {
    /// [`INFO_VERSION`], [`INFO_NEIGHBORS`] or anything else.
    pub kind: u8,
    /// A multiple of 4 octets, at most [`MAX_INFO_DATA_LEN`]; empty in a request.
    pub data: Vec<u8>,
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Why a message was not accepted. Every variant has a stable name, [`ParseError::kind`],
/// for counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParseError {
    /// Fewer than 8 octets (no complete header).
    TooShort { len: usize },
    /// The Internet checksum over the whole message is wrong.
    BadChecksum,
    /// The IGMP type is not 0x13.
    NotDvmrp(u8),
    /// A code this codec does not know.
    UnknownCode(u8),
    /// The message ends inside the part named by `what`.
    Truncated { what: &'static str },
    /// A Report mask whose bits are not contiguous (with the implied first octet 255).
    BadNetmask { mask: Ipv4Addr },
}

impl ParseError {
    /// All values [`ParseError::kind`] can return.
    pub const KINDS: [&'static str; 6] = [
        "too_short",
        "bad_checksum",
        "not_dvmrp",
        "unknown_code",
        "truncated",
        "bad_netmask",
    ];

    /// A stable snake_case name of the variant, e.g. `"bad_checksum"`, for counters.
    pub fn kind(&self) -> &'static str {
        match self {
            ParseError::TooShort { .. } => "too_short",
            ParseError::BadChecksum => "bad_checksum",
            ParseError::NotDvmrp(_) => "not_dvmrp",
            ParseError::UnknownCode(_) => "unknown_code",
            ParseError::Truncated { .. } => "truncated",
            ParseError::BadNetmask { .. } => "bad_netmask",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::TooShort { len } => write!(
                f,
                "DVMRP message too short: {len} octets, at least {HEADER_LEN} needed"
            ),
            ParseError::BadChecksum => f.write_str("bad DVMRP checksum"),
            ParseError::NotDvmrp(t) => write!(f, "IGMP type {t:#04x} is not DVMRP (0x13)"),
            ParseError::UnknownCode(c) => write!(f, "unknown DVMRP code {c}"),
            ParseError::Truncated { what } => write!(f, "DVMRP message truncated in {what}"),
            ParseError::BadNetmask { mask } => {
                write!(f, "DVMRP report with non-contiguous netmask {mask}")
            }
        }
    }
}

impl std::error::Error for ParseError {}

// ---------------------------------------------------------------------------------------------
// Header and flags

impl Header {
    /// What a draft-compliant router sends: Prune, GenID and Mtrace set (3.2.1 requires
    /// them), Netmask clear, minor 0xff, major 3. Byte for byte mrouted 3.9's
    /// `MROUTED_LEVEL`, which it sends unless it has neighbors on one interface only (then it
    /// adds the Leaf flag, `LEAF_FLAGS`).
    pub const DRAFT: Header = Header {
        capabilities: Capabilities::DRAFT,
        minor: MINOR_VERSION,
        major: MAJOR_VERSION,
    };

    /// Major 3, minor 0xff: compliant with the draft (3.1; mrouted's `dvmrpspec`).
    pub fn is_draft_compliant(&self) -> bool {
        self.major == MAJOR_VERSION && self.minor == MINOR_VERSION
    }
}

impl Default for Header {
    fn default() -> Header {
        Header::DRAFT
    }
}

impl Capabilities {
    /// L: the sender has one interface with neighbors (3.2.1: MUST be 0 and ignored;
    /// mrouted sets it).
    pub const LEAF: Capabilities = Capabilities(0x01);
    /// P: pruning (required by the draft, MUST be 1).
    pub const PRUNE: Capabilities = Capabilities(0x02);
    /// G: Generation ID (required, MUST be 1).
    pub const GENID: Capabilities = Capabilities(0x04);
    /// M: mtrace (MUST be 1 in Probes; meaningful in Neighbors2 only).
    pub const MTRACE: Capabilities = Capabilities(0x08);
    /// S: SNMP (meaningful in Neighbors2 only).
    pub const SNMP: Capabilities = Capabilities(0x10);
    /// N: the sender accepts a Source Network Mask in Prune, Graft and Graft Ack.
    pub const NETMASK: Capabilities = Capabilities(0x20);
    /// P, G and M: what 3.2.1 requires in every Probe (and mrouted 3.9 sends).
    pub const DRAFT: Capabilities = Capabilities(0x0e);

    /// True if every flag of `other` is set.
    pub fn contains(self, other: Capabilities) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn leaf(self) -> bool {
        self.contains(Capabilities::LEAF)
    }
    pub fn prune(self) -> bool {
        self.contains(Capabilities::PRUNE)
    }
    pub fn genid(self) -> bool {
        self.contains(Capabilities::GENID)
    }
    pub fn mtrace(self) -> bool {
        self.contains(Capabilities::MTRACE)
    }
    pub fn snmp(self) -> bool {
        self.contains(Capabilities::SNMP)
    }
    pub fn netmask(self) -> bool {
        self.contains(Capabilities::NETMASK)
    }
}

impl std::ops::BitOr for Capabilities {
    type Output = Capabilities;
    fn bitor(self, rhs: Capabilities) -> Capabilities {
        Capabilities(self.0 | rhs.0)
    }
}

impl InterfaceFlags {
    /// Neighbors reached through a tunnel.
    pub const TUNNEL: InterfaceFlags = InterfaceFlags(0x01);
    /// The tunnel uses IP source routing.
    pub const SRCRT: InterfaceFlags = InterfaceFlags(0x02);
    /// The neighbor is a PIM neighbor (mrouted; "no longer used" in the draft).
    pub const PIM: InterfaceFlags = InterfaceFlags(0x04);
    /// Operationally down.
    pub const DOWN: InterfaceFlags = InterfaceFlags(0x10);
    /// Administratively down.
    pub const DISABLED: InterfaceFlags = InterfaceFlags(0x20);
    /// The sender is the IGMP querier on the interface.
    pub const QUERIER: InterfaceFlags = InterfaceFlags(0x40);
    /// No downstream neighbors on the interface.
    pub const LEAF: InterfaceFlags = InterfaceFlags(0x80);

    /// True if every flag of `other` is set.
    pub fn contains(self, other: InterfaceFlags) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn tunnel(self) -> bool {
        self.contains(InterfaceFlags::TUNNEL)
    }
    pub fn srcrt(self) -> bool {
        self.contains(InterfaceFlags::SRCRT)
    }
    pub fn down(self) -> bool {
        self.contains(InterfaceFlags::DOWN)
    }
    pub fn disabled(self) -> bool {
        self.contains(InterfaceFlags::DISABLED)
    }
    pub fn querier(self) -> bool {
        self.contains(InterfaceFlags::QUERIER)
    }
    pub fn leaf(self) -> bool {
        self.contains(InterfaceFlags::LEAF)
    }
}

impl std::ops::BitOr for InterfaceFlags {
    type Output = InterfaceFlags;
    fn bitor(self, rhs: InterfaceFlags) -> InterfaceFlags {
        InterfaceFlags(self.0 | rhs.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers on the message types

impl Message {
    /// A message with [`Header::DRAFT`].
    pub fn new(body: Body) -> Message {
        Message {
            header: Header::DRAFT,
            body,
        }
    }

    /// The DVMRP code (IGMP code octet) this message is sent with.
    pub fn code(&self) -> u8 {
        self.body.code()
    }

    /// The number of octets [`emit`] produces for this message.
    pub fn wire_len(&self) -> usize {
        HEADER_LEN
            + match &self.body {
                Body::Probe(p) => 4 + 4 * p.neighbors.len(),
                Body::Report(r) => report_body_len(&r.routes),
                Body::AskNeighbors | Body::AskNeighbors2 => 0,
                Body::Neighbors(entries) => entries
                    .iter()
                    .map(|e| chunked_len(7, e.neighbors.len()))
                    .sum(),
                Body::Neighbors2(entries) => entries
                    .iter()
                    .map(|e| chunked_len(8, e.neighbors.len()))
                    .sum(),
                Body::Prune(p) => 12 + if p.source_mask.is_some() { 4 } else { 0 },
                Body::Graft(g) | Body::GraftAck(g) => {
                    8 + if g.source_mask.is_some() { 4 } else { 0 }
                }
                Body::InfoRequest(items) | Body::InfoReply(items) => {
                    items.iter().map(|i| 4 + 4 * info_words(&i.data)).sum()
                }
            }
    }

    /// The message [`parse`] returns for `emit(self)`: equal to `self` unless `self` holds
    /// something the wire cannot carry as is. [`emit`] then normalises:
    ///
    /// * Report routes as [`RouteEntry::normalized`] (host bits cleared, prefix lengths
    ///   1..=7 sent as 8 and above 32 as 32, 0.0.0.0/8 read back as 0.0.0.0/0, metric cut
    ///   to 7 bits);
    /// * a Neighbors / Neighbors2 entry with more than 255 neighbors is sent as several
    ///   consecutive entries with the same interface fields and at most 255 neighbors each
    ///   (as mrouted repeats the local address when it splits);
    /// * Info data is zero-padded to a multiple of 4 octets and cut at 1020.
    pub fn normalized(&self) -> Message {
        let body = match &self.body {
            Body::Report(r) => Body::Report(Report {
                routes: r.routes.iter().map(RouteEntry::normalized).collect(),
            }),
            Body::Neighbors(entries) => Body::Neighbors(
                entries
                    .iter()
                    .flat_map(|e| {
                        neighbor_chunks(&e.neighbors).map(|n| NeighborsEntry {
                            neighbors: n.to_vec(),
                            ..*e
                        })
                    })
                    .collect(),
            ),
            Body::Neighbors2(entries) => Body::Neighbors2(
                entries
                    .iter()
                    .flat_map(|e| {
                        neighbor_chunks(&e.neighbors).map(|n| Neighbors2Entry {
                            neighbors: n.to_vec(),
                            ..*e
                        })
                    })
                    .collect(),
            ),
            Body::InfoRequest(items) => {
                Body::InfoRequest(items.iter().map(InfoItem::normalized).collect())
            }
            Body::InfoReply(items) => {
                Body::InfoReply(items.iter().map(InfoItem::normalized).collect())
            }
            other => other.clone(),
        };
        Message {
            header: self.header,
            body,
        }
    }

    /// Same as [`parse`].
    pub fn parse(bytes: &[u8]) -> Result<Message, ParseError> {
        parse(bytes)
    }

    /// Same as [`emit`].
    pub fn emit(&self) -> Vec<u8> {
        emit(self)
    }
}

impl Body {
    /// The DVMRP code of this body.
    pub fn code(&self) -> u8 {
        match self {
            Body::Probe(_) => PROBE,
            Body::Report(_) => REPORT,
            Body::AskNeighbors => ASK_NEIGHBORS,
            Body::Neighbors(_) => NEIGHBORS,
            Body::AskNeighbors2 => ASK_NEIGHBORS2,
            Body::Neighbors2(_) => NEIGHBORS2,
            Body::Prune(_) => PRUNE,
            Body::Graft(_) => GRAFT,
            Body::GraftAck(_) => GRAFT_ACK,
            Body::InfoRequest(_) => INFO_REQUEST,
            Body::InfoReply(_) => INFO_REPLY,
        }
    }
}

/// A netmask of `len` bits (`len` at most 32).
fn prefix_mask(len: u8) -> u32 {
    match len {
        0 => 0,
        l => u32::MAX << (32 - u32::from(l.min(32))),
    }
}

impl RouteEntry {
    pub fn new(network: Ipv4Addr, prefix_len: u8, metric: u8) -> RouteEntry {
        RouteEntry {
            network,
            prefix_len,
            metric,
        }
    }

    /// The netmask of `prefix_len` (taken as 32 if larger).
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(prefix_mask(self.prefix_len))
    }

    /// The metric without the poison-reverse offset: `metric - 32` for 33..=63, otherwise
    /// `metric` as sent.
    pub fn metric(&self) -> u8 {
        if self.is_poison_reverse() {
            self.metric - INFINITY
        } else {
            self.metric
        }
    }

    /// Metric 33..=63: the sender depends on the receiver as its upstream for this source
    /// network (3.4.4).
    pub fn is_poison_reverse(&self) -> bool {
        self.metric > INFINITY && self.metric < 2 * INFINITY
    }

    /// Metric 1..=31.
    pub fn is_reachable(&self) -> bool {
        (1..INFINITY).contains(&self.metric)
    }

    /// Metric 32, [`INFINITY`].
    pub fn is_unreachable(&self) -> bool {
        self.metric == INFINITY
    }

    /// Metric 1..=63 (3.4.4); a route with any other metric is to be ignored (3.4.6).
    pub fn has_legal_metric(&self) -> bool {
        (1..2 * INFINITY).contains(&self.metric)
    }

    /// The same route with the poison-reverse offset added (metric + 32), for echoing a
    /// route back to the upstream neighbor; unchanged if the metric is not 1..=31.
    pub fn poisoned(self) -> RouteEntry {
        if self.is_reachable() {
            RouteEntry {
                metric: self.metric + INFINITY,
                ..self
            }
        } else {
            self
        }
    }

    /// The network has bits set beyond its prefix (a sender error).
    pub fn has_host_bits(&self) -> bool {
        u32::from(self.network) & !prefix_mask(self.prefix_len) != 0
    }

    /// The entry as [`emit`] sends it and [`parse`] reads it back: prefix length 1..=7 as
    /// 8 (the wire always implies 255 as the first mask octet), above 32 as 32; host bits
    /// cleared; 0.0.0.0/8 as 0.0.0.0/0 (the wire's default route, 3.4.2); the metric cut to
    /// its 7 bits.
    pub fn normalized(&self) -> RouteEntry {
        let prefix_len = match self.prefix_len {
            0 => 0,
            1..=8 => 8,
            l => l.min(32),
        };
        let network = u32::from(self.network) & prefix_mask(prefix_len);
        let prefix_len = if network == 0 && prefix_len == 8 {
            0
        } else {
            prefix_len
        };
        RouteEntry {
            network: Ipv4Addr::from(network),
            prefix_len,
            metric: self.metric & 0x7f,
        }
    }

    /// The three mask octets sent, the number of network octets, the network octets: of the
    /// normalized entry.
    fn wire(&self) -> ([u8; 3], usize, [u8; 4]) {
        let n = self.normalized();
        let wire_prefix = n.prefix_len.max(8);
        let m = prefix_mask(wire_prefix).to_be_bytes();
        (
            [m[1], m[2], m[3]],
            usize::from(wire_prefix.div_ceil(8)),
            n.network.octets(),
        )
    }
}

impl Prune {
    /// A Prune without mask, as mrouted sends it (see [`DEFAULT_PRUNE_LIFETIME`]).
    pub fn new(source: Ipv4Addr, group: Ipv4Addr, lifetime: u32) -> Prune {
        Prune {
            source,
            group,
            lifetime,
            source_mask: None,
        }
    }
}

impl Graft {
    /// A Graft (or Graft Ack) without mask, as mrouted sends it.
    pub fn new(source: Ipv4Addr, group: Ipv4Addr) -> Graft {
        Graft {
            source,
            group,
            source_mask: None,
        }
    }
}

impl InfoItem {
    /// A request item (no data), e.g. `InfoItem::request(INFO_VERSION)`.
    pub fn request(kind: u8) -> InfoItem {
        InfoItem {
            kind,
            data: Vec::new(),
        }
    }

    /// A version reply: the text, NUL-terminated and zero-padded to a multiple of 4.
    pub fn version(text: &str) -> InfoItem {
        let mut data = text.as_bytes().to_vec();
        data.push(0);
        data.resize(data.len().div_ceil(4) * 4, 0);
        data.truncate(MAX_INFO_DATA_LEN);
        InfoItem {
            kind: INFO_VERSION,
            data,
        }
    }

    /// The data up to the first NUL, as text (lossy UTF-8).
    pub fn text(&self) -> String {
        let end = self
            .data
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.data.len());
        String::from_utf8_lossy(&self.data[..end]).into_owned()
    }

    fn normalized(&self) -> InfoItem {
        let words = info_words(&self.data);
        let mut data = self.data[..self.data.len().min(4 * words)].to_vec();
        data.resize(4 * words, 0);
        InfoItem {
            kind: self.kind,
            data,
        }
    }
}

/// Info data length in 32-bit words as emitted: rounded up, at most 255.
fn info_words(data: &[u8]) -> usize {
    data.len().div_ceil(4).min(255)
}

/// Neighbor lists as emitted: chunks of at most 255, and one empty chunk for an empty list.
fn neighbor_chunks(neighbors: &[Ipv4Addr]) -> impl Iterator<Item = &[Ipv4Addr]> {
    let empty: &[Ipv4Addr] = &[];
    let first = neighbors.is_empty().then_some(empty);
    first
        .into_iter()
        .chain(neighbors.chunks(MAX_ENTRY_NEIGHBORS))
}

/// Length of a neighbor entry list with `head` octets per entry, split as emitted.
fn chunked_len(head: usize, n: usize) -> usize {
    let entries = n.div_ceil(MAX_ENTRY_NEIGHBORS).max(1);
    entries * head + 4 * n
}

/// Length of a Report body holding `routes`, compressed as [`emit`] does.
fn report_body_len(routes: &[RouteEntry]) -> usize {
    let mut len = 0;
    let mut mask = None;
    for r in routes {
        let (m, width, _) = r.wire();
        if mask != Some(m) {
            len += 3;
            mask = Some(m);
        }
        len += width + 1;
    }
    len
}

// ---------------------------------------------------------------------------------------------
// Report splitting

/// Pack `routes` into as few Reports as possible, each at most `max_len` octets as [`emit`]
/// writes it (pass the link MTU less the IP header, or [`MAX_LEN_576`] as mrouted does).
/// Routes keep their order and each appears in exactly one Report; a Report is filled while
/// the next route fits, so every Report but the last has no room for the route that starts
/// the next one. Consecutive routes with the same mask share a mask block, so sorting the
/// routes by mask first (as mrouted does) gives fewer, denser messages. No routes give no
/// Report; a `max_len` below [`MIN_REPORT_SPLIT_LEN`] is treated as that.
pub fn split_report(routes: &[RouteEntry], max_len: usize) -> Vec<Report> {
    let max_len = max_len.max(MIN_REPORT_SPLIT_LEN);
    let mut out = Vec::new();
    let mut current: Vec<RouteEntry> = Vec::new();
    let mut len = HEADER_LEN;
    let mut mask = None;
    for r in routes {
        let (m, width, _) = r.wire();
        let mut cost = if mask == Some(m) { 0 } else { 3 } + width + 1;
        if len + cost > max_len && !current.is_empty() {
            out.push(Report {
                routes: std::mem::take(&mut current),
            });
            len = HEADER_LEN;
            cost = 3 + width + 1;
        }
        current.push(*r);
        len += cost;
        mask = Some(m);
    }
    if !current.is_empty() {
        out.push(Report { routes: current });
    }
    out
}

/// The smallest `max_len` [`split_neighbors2`] works with: one entry with one neighbor.
pub const MIN_NEIGHBORS2_SPLIT_LEN: usize = HEADER_LEN + 8 + 4;

/// Pack interface entries into as few Neighbors2 messages as possible, each at most
/// `max_len` octets as [`emit`] writes it (mrouted's `accept_neighbor_request2` packs to
/// its 576-octet limit, [`MAX_LEN_576`]). Entries keep their order. An entry whose
/// neighbors do not all fit is continued in the next message as an entry with the same
/// interface fields (as mrouted repeats the local address when it splits), and so is one
/// with more than 255 neighbors; an entry is started only where its header and its first
/// neighbor fit. An entry without neighbors stays one (count 0). No entries give no
/// message; a `max_len` below [`MIN_NEIGHBORS2_SPLIT_LEN`] is treated as that.
pub fn split_neighbors2(entries: &[Neighbors2Entry], max_len: usize) -> Vec<Vec<Neighbors2Entry>> {
    let max_len = max_len.max(MIN_NEIGHBORS2_SPLIT_LEN);
    let mut out = Vec::new();
    let mut current: Vec<Neighbors2Entry> = Vec::new();
    let mut len = HEADER_LEN;
    let mut flush = |current: &mut Vec<Neighbors2Entry>, len: &mut usize| {
        if !current.is_empty() {
            out.push(std::mem::take(current));
        }
        *len = HEADER_LEN;
    };
    for e in entries {
        let head = Neighbors2Entry {
            neighbors: Vec::new(),
            ..e.clone()
        };
        let first = if e.neighbors.is_empty() { 0 } else { 4 };
        if len + 8 + first > max_len {
            flush(&mut current, &mut len);
        }
        current.push(head.clone());
        len += 8;
        for &n in &e.neighbors {
            let open = current.last().expect("an entry is open");
            if len + 4 > max_len || open.neighbors.len() == MAX_ENTRY_NEIGHBORS {
                if len + 8 + 4 > max_len {
                    flush(&mut current, &mut len);
                }
                current.push(head.clone());
                len += 8;
            }
            current
                .last_mut()
                .expect("an entry is open")
                .neighbors
                .push(n);
            len += 4;
        }
    }
    flush(&mut current, &mut len);
    out
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// A cursor over the message body that never reads past its end.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ParseError> {
        if n > self.buf.len() {
            return Err(ParseError::Truncated { what });
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn addr(&mut self, what: &'static str) -> Result<Ipv4Addr, ParseError> {
        let b = self.take(4, what)?;
        Ok(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    }

    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// IPv4 addresses from a slice whose length is a multiple of 4.
fn addrs(b: &[u8]) -> Vec<Ipv4Addr> {
    b.chunks_exact(4)
        .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
        .collect()
}

/// Decode one DVMRP message (the IP payload: IGMP type 0x13 and what follows). See the
/// module documentation for the checks and their order. Never panics.
pub fn parse(bytes: &[u8]) -> Result<Message, ParseError> {
    let &[ty, code, _, _, _reserved, caps, minor, major, ref body @ ..] = bytes else {
        return Err(ParseError::TooShort { len: bytes.len() });
    };
    if !checksum::verify(bytes) {
        return Err(ParseError::BadChecksum);
    }
    if ty != IGMP_TYPE_DVMRP {
        return Err(ParseError::NotDvmrp(ty));
    }
    let header = Header {
        capabilities: Capabilities(caps),
        minor,
        major,
    };
    let mut r = Reader { buf: body };
    let body = match code {
        PROBE => {
            let genid = r.take(4, "probe generation id")?;
            if !r.buf.chunks_exact(4).remainder().is_empty() {
                return Err(ParseError::Truncated {
                    what: "probe neighbor address",
                });
            }
            Body::Probe(Probe {
                generation_id: u32::from_be_bytes([genid[0], genid[1], genid[2], genid[3]]),
                neighbors: addrs(r.buf),
            })
        }
        REPORT => Body::Report(parse_report(r)?),
        ASK_NEIGHBORS => Body::AskNeighbors,
        NEIGHBORS => {
            let mut entries = Vec::new();
            while !r.is_empty() {
                let h = r.take(7, "neighbors entry")?;
                let n = usize::from(h[6]);
                entries.push(NeighborsEntry {
                    local: Ipv4Addr::new(h[0], h[1], h[2], h[3]),
                    metric: h[4],
                    threshold: h[5],
                    neighbors: addrs(r.take(4 * n, "neighbors addresses")?),
                });
            }
            Body::Neighbors(entries)
        }
        ASK_NEIGHBORS2 => Body::AskNeighbors2,
        NEIGHBORS2 => {
            let mut entries = Vec::new();
            while !r.is_empty() {
                let h = r.take(8, "neighbors2 entry")?;
                let n = usize::from(h[7]);
                entries.push(Neighbors2Entry {
                    local: Ipv4Addr::new(h[0], h[1], h[2], h[3]),
                    metric: h[4],
                    threshold: h[5],
                    flags: InterfaceFlags(h[6]),
                    neighbors: addrs(r.take(4 * n, "neighbors2 addresses")?),
                });
            }
            Body::Neighbors2(entries)
        }
        PRUNE => {
            let source = r.addr("prune")?;
            let group = r.addr("prune")?;
            let l = r.take(4, "prune")?;
            Body::Prune(Prune {
                source,
                group,
                lifetime: u32::from_be_bytes([l[0], l[1], l[2], l[3]]),
                source_mask: optional_mask(r, "prune source mask")?,
            })
        }
        GRAFT | GRAFT_ACK => {
            let what = if code == GRAFT { "graft" } else { "graft ack" };
            let source = r.addr(what)?;
            let group = r.addr(what)?;
            let g = Graft {
                source,
                group,
                source_mask: optional_mask(r, "graft source mask")?,
            };
            if code == GRAFT {
                Body::Graft(g)
            } else {
                Body::GraftAck(g)
            }
        }
        INFO_REQUEST | INFO_REPLY => {
            let mut items = Vec::new();
            while !r.is_empty() {
                let h = r.take(4, "info item header")?;
                items.push(InfoItem {
                    kind: h[0],
                    data: r.take(4 * usize::from(h[1]), "info item data")?.to_vec(),
                });
            }
            if code == INFO_REQUEST {
                Body::InfoRequest(items)
            } else {
                Body::InfoReply(items)
            }
        }
        c => return Err(ParseError::UnknownCode(c)),
    };
    Ok(Message { header, body })
}

/// The optional trailing Source Network Mask: absent if nothing follows, an error if only
/// part of it does; octets after it are ignored.
fn optional_mask(mut r: Reader<'_>, what: &'static str) -> Result<Option<Ipv4Addr>, ParseError> {
    if r.is_empty() {
        Ok(None)
    } else {
        r.addr(what).map(Some)
    }
}

fn parse_report(mut r: Reader<'_>) -> Result<Report, ParseError> {
    let mut routes = Vec::new();
    while !r.is_empty() {
        let m = r.take(3, "report netmask")?;
        let mask = u32::from_be_bytes([0xff, m[0], m[1], m[2]]);
        if mask.leading_ones() + mask.trailing_zeros() != 32 {
            return Err(ParseError::BadNetmask {
                mask: Ipv4Addr::from(mask),
            });
        }
        let prefix = mask.leading_ones() as u8; // 8..=32
        let width = usize::from(prefix.div_ceil(8));
        loop {
            let e = r.take(width + 1, "report route")?;
            let mut network = [0; 4];
            network[..width].copy_from_slice(&e[..width]);
            let last = e[width] & 0x80 != 0;
            // 3.4.2: mask 00 00 00 with network 00 is 0.0.0.0/0, not 0.0.0.0/8.
            let prefix_len = if width == 1 && network[0] == 0 {
                0
            } else {
                prefix
            };
            routes.push(RouteEntry {
                network: Ipv4Addr::from(network),
                prefix_len,
                metric: e[width] & 0x7f,
            });
            if last {
                break;
            }
        }
    }
    Ok(Report { routes })
}

// ---------------------------------------------------------------------------------------------
// Emitting

fn put_addrs(out: &mut Vec<u8>, addrs: &[Ipv4Addr]) {
    for a in addrs {
        out.extend_from_slice(&a.octets());
    }
}

/// Encode a message with its checksum: the header with the reserved octet 0, then the body
/// as the module documentation describes. A Report is compressed: consecutive routes with
/// the same mask share one mask block, a new mask starts a new block, the last route of
/// each block has the high bit of its metric set; routes keep their order (use
/// [`split_report`] to fit a length). Whatever the message holds, the result is well-formed
/// and parses back as [`Message::normalized`].
pub fn emit(msg: &Message) -> Vec<u8> {
    let h = msg.header;
    let mut out = Vec::with_capacity(msg.wire_len());
    out.extend_from_slice(&[
        IGMP_TYPE_DVMRP,
        msg.code(),
        0,
        0,
        0,
        h.capabilities.0,
        h.minor,
        h.major,
    ]);
    match &msg.body {
        Body::Probe(p) => {
            out.extend_from_slice(&p.generation_id.to_be_bytes());
            put_addrs(&mut out, &p.neighbors);
        }
        Body::Report(r) => emit_routes(&mut out, &r.routes),
        Body::AskNeighbors | Body::AskNeighbors2 => {}
        Body::Neighbors(entries) => {
            for e in entries {
                for n in neighbor_chunks(&e.neighbors) {
                    out.extend_from_slice(&e.local.octets());
                    out.extend_from_slice(&[e.metric, e.threshold, n.len() as u8]);
                    put_addrs(&mut out, n);
                }
            }
        }
        Body::Neighbors2(entries) => {
            for e in entries {
                for n in neighbor_chunks(&e.neighbors) {
                    out.extend_from_slice(&e.local.octets());
                    out.extend_from_slice(&[e.metric, e.threshold, e.flags.0, n.len() as u8]);
                    put_addrs(&mut out, n);
                }
            }
        }
        Body::Prune(p) => {
            out.extend_from_slice(&p.source.octets());
            out.extend_from_slice(&p.group.octets());
            out.extend_from_slice(&p.lifetime.to_be_bytes());
            if let Some(m) = p.source_mask {
                out.extend_from_slice(&m.octets());
            }
        }
        Body::Graft(g) | Body::GraftAck(g) => {
            out.extend_from_slice(&g.source.octets());
            out.extend_from_slice(&g.group.octets());
            if let Some(m) = g.source_mask {
                out.extend_from_slice(&m.octets());
            }
        }
        Body::InfoRequest(items) | Body::InfoReply(items) => {
            for i in items {
                let i = i.normalized();
                out.extend_from_slice(&[i.kind, (i.data.len() / 4) as u8, 0, 0]);
                out.extend_from_slice(&i.data);
            }
        }
    }
    let c = checksum::checksum(&out);
    out[2..4].copy_from_slice(&c.to_be_bytes());
    out
}

fn emit_routes(out: &mut Vec<u8>, routes: &[RouteEntry]) {
    let mut mask = None;
    // Position of the metric octet of the previous route, whose high bit ends a block.
    let mut last_metric: Option<usize> = None;
    for r in routes {
        let (m, width, network) = r.wire();
        if mask != Some(m) {
            if let Some(p) = last_metric {
                out[p] |= 0x80;
            }
            out.extend_from_slice(&m);
            mask = Some(m);
        }
        out.extend_from_slice(&network[..width]);
        last_metric = Some(out.len());
        out.push(r.metric & 0x7f);
    }
    if let Some(p) = last_metric {
        out[p] |= 0x80;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use testsupport::{Rng, fix_checksum};

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn addrs_of(list: &[&str]) -> Vec<Ipv4Addr> {
        list.iter().map(|s| a(s)).collect()
    }

    fn route(net: &str, prefix_len: u8, metric: u8) -> RouteEntry {
        RouteEntry::new(a(net), prefix_len, metric)
    }

    /// mrouted 3.9's header on an interface that is not a leaf: `MROUTED_LEVEL` 0x000eff03.
    fn mrouted(body: Body) -> Message {
        Message::new(body)
    }

    fn with_caps(caps: u8, body: Body) -> Message {
        Message {
            header: Header {
                capabilities: Capabilities(caps),
                ..Header::DRAFT
            },
            body,
        }
    }

    /// (name, wire bytes, decoded message). None of these is a capture: mrouted is not
    /// packaged for Debian 12 and no other DVMRP speaker was at hand. They are written
    /// octet by octet after the draft's figures and after mrouted 3.9's encoders
    /// (`send_probe_on_vif`, `report_chunk`, `send_prune`, `send_graft`, `send_graft_ack`,
    /// `accept_neighbor_request[2]`, `accept_info_request`), header `00 0e ff 03` included;
    /// the checksums were computed independently (Python), and tests/codec_tshark.rs checks
    /// the same kinds of message against Wireshark's dissector. No vector ends in octets that
    /// sum to 0xffff (e.g. a 255.255.0.0 mask): cutting those off leaves the checksum valid,
    /// and only the IP length could tell (the fixed-checksum half of the truncation test
    /// covers that case: the rest must be a valid shorter message).
    fn vectors() -> Vec<(&'static str, Vec<u8>, Message)> {
        vec![
            (
                "probe, no neighbor yet (mrouted 3.9 layout)",
                vec![
                    0x13, 0x01, // IGMP type DVMRP, code Probe
                    0x6d, 0xa2, // checksum
                    0x00, // reserved
                    0x0e, // capabilities: Mtrace, GenID, Prune
                    0xff, 0x03, // minor 0xff, major 3
                    0x65, 0x4a, 0x1b, 0x00, // generation id
                ],
                mrouted(Body::Probe(Probe {
                    generation_id: 0x654a_1b00,
                    neighbors: vec![],
                })),
            ),
            (
                "probe with two neighbors, leaf router (mrouted LEAF_FLAGS)",
                vec![
                    0x13, 0x01, 0xd9, 0xdf, // type, code Probe, checksum
                    0x00, 0x0f, 0xff, 0x03, // reserved, caps Mtrace|GenID|Prune|Leaf, 3.255
                    0x00, 0x00, 0x00, 0x07, // generation id 7
                    10, 0, 0, 2, // neighbor
                    10, 0, 0, 3, // neighbor
                ],
                with_caps(
                    0x0f,
                    Body::Probe(Probe {
                        generation_id: 7,
                        neighbors: addrs_of(&["10.0.0.2", "10.0.0.3"]),
                    }),
                ),
            ),
            (
                "probe of a netmask-capable router (draft 3.2.1 figure 2, N set)",
                vec![
                    0x13, 0x01, 0x8e, 0x25, // type, code Probe, checksum
                    0x00, 0x2e, 0xff, 0x03, // reserved, caps N|M|G|P, 3.255
                    0xde, 0xad, 0xbe, 0xef, // generation id
                    192, 0, 2, 9, // neighbor
                ],
                with_caps(
                    0x2e,
                    Body::Probe(Probe {
                        generation_id: 0xdead_beef,
                        neighbors: vec![a("192.0.2.9")],
                    }),
                ),
            ),
            (
                "report: /24 block with a poison reverse, /16 block, default route",
                vec![
                    0x13, 0x02, 0x1a, 0x24, // type, code Report, checksum
                    0x00, 0x0e, 0xff, 0x03, // reserved, caps, 3.255
                    0xff, 0xff, 0x00, // mask 255.255.255.0: 3 network octets
                    10, 1, 1,    // 10.1.1.0/24
                    0x01, // metric 1
                    10, 1, 2,    // 10.1.2.0/24
                    0xa1, // last of block, metric 33 = 1 + infinity (poison reverse)
                    0xff, 0x00, 0x00, // mask 255.255.0.0: 2 network octets
                    172, 16,   // 172.16.0.0/16
                    0x82, // last of block, metric 2
                    0x00, 0x00, 0x00, // mask 255.0.0.0 ...
                    0x00, // ... network 0: the default route 0.0.0.0/0
                    0xa0, // last of block, metric 32 (infinity: unreachable)
                ],
                mrouted(Body::Report(Report {
                    routes: vec![
                        route("10.1.1.0", 24, 1),
                        route("10.1.2.0", 24, 33),
                        route("172.16.0.0", 16, 2),
                        route("0.0.0.0", 0, 32),
                    ],
                })),
            ),
            (
                "report: /32, /30, /20, /8 and /9 blocks of one route each",
                vec![
                    0x13, 0x02, 0x07, 0x63, // type, code Report, checksum
                    0x00, 0x0e, 0xff, 0x03, // reserved, caps, 3.255
                    0xff, 0xff, 0xff, // mask /32: 4 network octets
                    192, 0, 2, 1, 0x83, // 192.0.2.1/32, last, metric 3
                    0xff, 0xff, 0xfc, // mask /30
                    198, 51, 100, 4, 0x9f, // 198.51.100.4/30, last, metric 31
                    0xff, 0xf0, 0x00, // mask /20: 3 network octets
                    10, 32, 16, 0x85, // 10.32.16.0/20, last, metric 5
                    0x00, 0x00, 0x00, // mask /8: 1 network octet
                    10, 0xbf, // 10.0.0.0/8, last, metric 63 (31 + infinity)
                    0x80, 0x00, 0x00, // mask /9: 2 network octets
                    44, 128, 0x81, // 44.128.0.0/9, last, metric 1
                ],
                mrouted(Body::Report(Report {
                    routes: vec![
                        route("192.0.2.1", 32, 3),
                        route("198.51.100.4", 30, 31),
                        route("10.32.16.0", 20, 5),
                        route("10.0.0.0", 8, 63),
                        route("44.128.0.0", 9, 1),
                    ],
                })),
            ),
            (
                "report with no route",
                vec![
                    0x13, 0x02, 0xed, 0xeb, // type, code Report, checksum
                    0x00, 0x0e, 0xff, 0x03, // reserved, caps, 3.255
                ],
                mrouted(Body::Report(Report::default())),
            ),
            (
                "prune without mask (mrouted send_prune: network, group, lifetime)",
                vec![
                    0x13, 0x07, 0xd5, 0xc0, // type, code Prune, checksum
                    0x00, 0x0e, 0xff, 0x03, // reserved, caps, 3.255
                    10, 1, 1, 0, // source (mrouted sends the route's origin)
                    239, 1, 2, 3, // group
                    0x00, 0x00, 0x1c, 0x20, // lifetime 7200 s
                ],
                mrouted(Body::Prune(Prune::new(
                    a("10.1.1.0"),
                    a("239.1.2.3"),
                    DEFAULT_PRUNE_LIFETIME,
                ))),
            ),
            (
                "prune with source network mask (draft 3.5.6)",
                vec![
                    0x13, 0x07, 0xe4, 0xa8, // type, code Prune, checksum
                    0x00, 0x2e, 0xff, 0x03, // reserved, caps with Netmask, 3.255
                    10, 1, 1, 7, // source host
                    239, 1, 2, 3, // group
                    0x00, 0x00, 0x0e, 0x10, // lifetime 3600 s
                    255, 255, 255, 0, // source network mask
                ],
                with_caps(
                    0x2e,
                    Body::Prune(Prune {
                        source_mask: Some(a("255.255.255.0")),
                        ..Prune::new(a("10.1.1.7"), a("239.1.2.3"), 3600)
                    }),
                ),
            ),
            (
                "graft without mask (mrouted send_graft)",
                vec![
                    0x13, 0x08, 0xf1, 0xdf, // type, code Graft, checksum
                    0x00, 0x0e, 0xff, 0x03, // reserved, caps, 3.255
                    10, 1, 1, 0, // source
                    239, 1, 2, 3, // group
                ],
                mrouted(Body::Graft(Graft::new(a("10.1.1.0"), a("239.1.2.3")))),
            ),
            (
                "graft with source network mask",
                vec![
                    0x13, 0x08, 0x63, 0xac, // type, code Graft, checksum
                    0x00, 0x2e, 0xff, 0x03, // reserved, caps with Netmask, 3.255
                    172, 16, 5, 5, // source host
                    232, 1, 1, 1, // group
                    255, 255, 240, 0, // source network mask
                ],
                with_caps(
                    0x2e,
                    Body::Graft(Graft {
                        source_mask: Some(a("255.255.240.0")),
                        ..Graft::new(a("172.16.5.5"), a("232.1.1.1"))
                    }),
                ),
            ),
            (
                "graft ack without mask (mrouted send_graft_ack)",
                vec![
                    0x13, 0x09, 0xf1, 0xde, // type, code Graft Ack, checksum
                    0x00, 0x0e, 0xff, 0x03, // reserved, caps, 3.255
                    10, 1, 1, 0, // source
                    239, 1, 2, 3, // group
                ],
                mrouted(Body::GraftAck(Graft::new(a("10.1.1.0"), a("239.1.2.3")))),
            ),
            (
                "graft ack with source network mask",
                vec![
                    0x13, 0x09, 0x63, 0xab, // type, code Graft Ack, checksum
                    0x00, 0x2e, 0xff, 0x03, // reserved, caps with Netmask, 3.255
                    172, 16, 5, 5, // source
                    232, 1, 1, 1, // group
                    255, 255, 240, 0, // source network mask
                ],
                with_caps(
                    0x2e,
                    Body::GraftAck(Graft {
                        source_mask: Some(a("255.255.240.0")),
                        ..Graft::new(a("172.16.5.5"), a("232.1.1.1"))
                    }),
                ),
            ),
            (
                "ask neighbors2 (as mrinfo sends it)",
                vec![
                    0x13, 0x05, 0xed, 0xe8, // type, code Ask Neighbors2, checksum
                    0x00, 0x0e, 0xff, 0x03, // reserved, caps, 3.255
                ],
                mrouted(Body::AskNeighbors2),
            ),
            (
                "neighbors2: a querier phyint with two neighbors, a down tunnel",
                vec![
                    0x13, 0x06, 0x8e, 0x5e, // type, code Neighbors2, checksum
                    0x00, 0x0e, 0xff, 0x03, // reserved, caps, 3.255
                    10, 0, 0, 1, // local address
                    0x01, 0x01, // metric 1, threshold 1
                    0x40, // flags: querier
                    0x02, // 2 neighbors
                    10, 0, 0, 2, // neighbor
                    10, 0, 0, 3, // neighbor
                    192, 0, 2, 1, // local address of the tunnel
                    0x03, 0x40, // metric 3, threshold 64
                    0x11, // flags: tunnel, down
                    0x01, // 1 "neighbor": the remote tunnel endpoint
                    198, 51, 100, 9, // remote endpoint
                ],
                mrouted(Body::Neighbors2(vec![
                    Neighbors2Entry {
                        local: a("10.0.0.1"),
                        metric: 1,
                        threshold: 1,
                        flags: InterfaceFlags::QUERIER,
                        neighbors: addrs_of(&["10.0.0.2", "10.0.0.3"]),
                    },
                    Neighbors2Entry {
                        local: a("192.0.2.1"),
                        metric: 3,
                        threshold: 64,
                        flags: InterfaceFlags::TUNNEL | InterfaceFlags::DOWN,
                        neighbors: vec![a("198.51.100.9")],
                    },
                ])),
            ),
            (
                "ask neighbors (obsolete)",
                vec![
                    0x13, 0x03, 0xed, 0xea, // type, code Ask Neighbors, checksum
                    0x00, 0x0e, 0xff, 0x03, // reserved, caps, 3.255
                ],
                mrouted(Body::AskNeighbors),
            ),
            (
                "neighbors (obsolete: no flags octet)",
                vec![
                    0x13, 0x04, 0xdf, 0xdd, // type, code Neighbors, checksum
                    0x00, 0x0e, 0xff, 0x03, // reserved, caps, 3.255
                    10, 0, 0, 1, // local address
                    0x01, 0x01, // metric, threshold
                    0x01, // 1 neighbor
                    10, 0, 0, 2, // neighbor
                ],
                mrouted(Body::Neighbors(vec![NeighborsEntry {
                    local: a("10.0.0.1"),
                    metric: 1,
                    threshold: 1,
                    neighbors: vec![a("10.0.0.2")],
                }])),
            ),
            (
                "info request for the version (mrouted)",
                vec![
                    0x13, 0x0a, 0xec, 0xe3, // type, code Info Request, checksum
                    0x00, 0x0e, 0xff, 0x03, // reserved, caps, 3.255
                    0x01, 0x00, 0x00, 0x00, // item: version, no data
                ],
                mrouted(Body::InfoRequest(vec![InfoItem::request(INFO_VERSION)])),
            ),
            (
                "info reply with the version (mrouted info_version)",
                vec![
                    0x13, 0x0b, 0x48, 0x84, // type, code Info Reply, checksum
                    0x00, 0x0e, 0xff, 0x03, // reserved, caps, 3.255
                    0x01, 0x02, 0x00, 0x00, // item: version, 2 words of data
                    b'3', b'.', b'9', b'.', // "3.9.8", NUL-padded
                    b'8', 0, 0, 0,
                ],
                mrouted(Body::InfoReply(vec![InfoItem::version("3.9.8")])),
            ),
        ]
    }

    #[test]
    fn vectors_parse_and_emit_byte_exact() {
        for (name, bytes, msg) in vectors() {
            assert!(checksum::verify(&bytes), "{name}: vector checksum");
            assert_eq!(parse(&bytes), Ok(msg.clone()), "{name}: parse");
            assert_eq!(emit(&msg), bytes, "{name}: emit");
            assert_eq!(msg.wire_len(), bytes.len(), "{name}: wire_len");
            assert_eq!(msg.code(), bytes[1], "{name}: code");
            assert_eq!(msg.normalized(), msg, "{name}: canonical");
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        for (name, bytes, msg) in vectors() {
            for len in 0..bytes.len() {
                let cut = &bytes[..len];
                // As received: an error, whatever the cut.
                let r = parse(cut);
                if len < HEADER_LEN {
                    assert_eq!(r, Err(ParseError::TooShort { len }), "{name} [..{len}]");
                } else {
                    assert!(r.is_err(), "{name} [..{len}]: {r:?}");
                }
                // With a checksum that verifies, the length checks catch every cut inside a
                // field; a cut between two list items (or before the optional mask) is a
                // shorter valid message, which must then be exactly what was left.
                let mut fixed = cut.to_vec();
                fix_checksum(&mut fixed);
                match parse(&fixed) {
                    Err(e) => assert!(
                        matches!(
                            e,
                            ParseError::TooShort { .. } | ParseError::Truncated { .. }
                        ),
                        "{name} [..{len}]: {e:?}"
                    ),
                    Ok(m) => {
                        assert_eq!(emit(&m), fixed, "{name} [..{len}]: not what was left");
                        assert_eq!(m.header, msg.header);
                        assert_eq!(m.code(), msg.code());
                        assert!(
                            !matches!(m.body, Body::Probe(_)) || len >= HEADER_LEN + 4,
                            "{name} [..{len}]"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn truncation_errors_name_the_part() {
        let cases: [(&[u8], ParseError); 12] = [
            (
                &[0x13, 1, 0, 0, 0, 0x0e, 0xff, 3, 0, 0, 1],
                ParseError::Truncated {
                    what: "probe generation id",
                },
            ),
            (
                &[0x13, 1, 0, 0, 0, 0x0e, 0xff, 3, 0, 0, 0, 1, 10, 0],
                ParseError::Truncated {
                    what: "probe neighbor address",
                },
            ),
            (
                &[0x13, 2, 0, 0, 0, 0x0e, 0xff, 3, 0xff, 0xff],
                ParseError::Truncated {
                    what: "report netmask",
                },
            ),
            (
                // A block whose last route lacks the end bit.
                &[
                    0x13, 2, 0, 0, 0, 0x0e, 0xff, 3, 0xff, 0xff, 0, 10, 1, 1, 0x01,
                ],
                ParseError::Truncated {
                    what: "report route",
                },
            ),
            (
                &[0x13, 2, 0, 0, 0, 0x0e, 0xff, 3, 0xff, 0xff, 0xff, 10, 1, 1],
                ParseError::Truncated {
                    what: "report route",
                },
            ),
            (
                &[
                    0x13, 7, 0, 0, 0, 0x0e, 0xff, 3, 10, 1, 1, 0, 239, 1, 2, 3, 0, 0,
                ],
                ParseError::Truncated { what: "prune" },
            ),
            (
                &[
                    0x13, 7, 0, 0, 0, 0x0e, 0xff, 3, 10, 1, 1, 0, 239, 1, 2, 3, 0, 0, 0, 9, 255,
                ],
                ParseError::Truncated {
                    what: "prune source mask",
                },
            ),
            (
                &[0x13, 8, 0, 0, 0, 0x0e, 0xff, 3, 10, 1, 1, 0, 239],
                ParseError::Truncated { what: "graft" },
            ),
            (
                &[
                    0x13, 9, 0, 0, 0, 0x0e, 0xff, 3, 10, 1, 1, 0, 239, 1, 2, 3, 255, 255,
                ],
                ParseError::Truncated {
                    what: "graft source mask",
                },
            ),
            (
                &[
                    0x13, 6, 0, 0, 0, 0x0e, 0xff, 3, 10, 0, 0, 1, 1, 1, 0, 2, 10, 0, 0, 2,
                ],
                ParseError::Truncated {
                    what: "neighbors2 addresses",
                },
            ),
            (
                &[0x13, 4, 0, 0, 0, 0x0e, 0xff, 3, 10, 0, 0, 1, 1, 1],
                ParseError::Truncated {
                    what: "neighbors entry",
                },
            ),
            (
                &[0x13, 11, 0, 0, 0, 0x0e, 0xff, 3, 1, 1, 0, 0, b'3', b'.'],
                ParseError::Truncated {
                    what: "info item data",
                },
            ),
        ];
        for (b, want) in cases {
            let mut b = b.to_vec();
            fix_checksum(&mut b);
            assert_eq!(parse(&b), Err(want), "{b:02x?}");
            assert_eq!(want.kind(), "truncated");
        }
        // A neighbor count of 255 in a short message: an error, no huge allocation.
        let mut b = vec![0x13, 6, 0, 0, 0, 0x0e, 0xff, 3, 10, 0, 0, 1, 1, 1, 0, 255];
        fix_checksum(&mut b);
        assert!(matches!(parse(&b), Err(ParseError::Truncated { .. })));
    }

    #[test]
    fn every_bit_flip_is_a_bad_checksum() {
        for (name, bytes, _) in vectors() {
            for i in 0..bytes.len() * 8 {
                let mut b = bytes.clone();
                b[i / 8] ^= 1 << (i % 8);
                assert_eq!(parse(&b), Err(ParseError::BadChecksum), "{name} bit {i}");
            }
        }
    }

    #[test]
    fn every_bit_flip_with_fixed_checksum_never_panics() {
        // Past the checksum the flipped message is either an error or a message that emits
        // back to itself (normalised).
        for (name, bytes, _) in vectors() {
            for i in 32..bytes.len() * 8 {
                let mut b = bytes.clone();
                b[i / 8] ^= 1 << (i % 8);
                fix_checksum(&mut b);
                if let Ok(m) = parse(&b) {
                    assert_eq!(parse(&emit(&m)), Ok(m.normalized()), "{name} bit {i}");
                }
            }
        }
    }

    #[test]
    fn trailing_octets() {
        // After the mask of a Prune / Graft / Graft Ack: checksummed, ignored.
        for (name, bytes, msg) in vectors() {
            let mask_len = match &msg.body {
                Body::Prune(p) if p.source_mask.is_some() => PRUNE_WITH_MASK_LEN,
                Body::Graft(g) | Body::GraftAck(g) if g.source_mask.is_some() => {
                    GRAFT_WITH_MASK_LEN
                }
                Body::AskNeighbors | Body::AskNeighbors2 => HEADER_LEN,
                _ => continue,
            };
            assert_eq!(bytes.len(), mask_len);
            for extra in [1usize, 2, 3, 4, 9] {
                let mut b = bytes.clone();
                b.extend((0..extra).map(|i| (i as u8).wrapping_mul(37).wrapping_add(1)));
                assert_eq!(parse(&b), Err(ParseError::BadChecksum), "{name} +{extra}");
                fix_checksum(&mut b);
                assert_eq!(parse(&b), Ok(msg.clone()), "{name} +{extra}");
            }
        }
        // Without a mask, 4 more octets are the mask; 1 to 3 are a partial mask.
        let p = mrouted(Body::Prune(Prune::new(a("10.1.1.0"), a("239.1.2.3"), 60)));
        let mut b = emit(&p);
        b.extend_from_slice(&[255, 255, 0, 0]);
        fix_checksum(&mut b);
        let Ok(Message {
            body: Body::Prune(q),
            ..
        }) = parse(&b)
        else {
            panic!()
        };
        assert_eq!(q.source_mask, Some(a("255.255.0.0")));
    }

    #[test]
    fn errors_have_stable_kinds_and_messages() {
        let cases = [
            (ParseError::TooShort { len: 3 }, "too_short"),
            (ParseError::BadChecksum, "bad_checksum"),
            (ParseError::NotDvmrp(0x11), "not_dvmrp"),
            (ParseError::UnknownCode(12), "unknown_code"),
            (ParseError::Truncated { what: "x" }, "truncated"),
            (
                ParseError::BadNetmask {
                    mask: a("255.0.255.0"),
                },
                "bad_netmask",
            ),
        ];
        for (e, kind) in cases {
            assert_eq!(e.kind(), kind);
            assert!(ParseError::KINDS.contains(&kind));
            assert!(!e.to_string().is_empty());
        }
        assert_eq!(parse(&[]), Err(ParseError::TooShort { len: 0 }));
        assert_eq!(
            ParseError::NotDvmrp(0x11).to_string(),
            "IGMP type 0x11 is not DVMRP (0x13)"
        );
        assert_eq!(
            ParseError::BadNetmask {
                mask: a("255.0.255.0")
            }
            .to_string(),
            "DVMRP report with non-contiguous netmask 255.0.255.0"
        );
    }

    #[test]
    fn other_igmp_types_and_unknown_codes() {
        for t in [0x11u8, 0x12, 0x14, 0x16, 0x17, 0x1e, 0x22, 0x00, 0xff] {
            let mut b = vec![t, 1, 0, 0, 0, 0x0e, 0xff, 3, 0, 0, 0, 1];
            fix_checksum(&mut b);
            assert_eq!(parse(&b), Err(ParseError::NotDvmrp(t)));
        }
        for c in [0u8, 12, 13, 0x80, 0xff] {
            let mut b = vec![0x13, c, 0, 0, 0, 0x0e, 0xff, 3, 0, 0, 0, 1];
            fix_checksum(&mut b);
            assert_eq!(parse(&b), Err(ParseError::UnknownCode(c)));
        }
        // Every known code with a valid body parses to its own code.
        for (_, bytes, msg) in vectors() {
            assert_eq!(parse(&bytes).unwrap().code(), msg.code());
        }
        // The checksum is checked before the type and the code.
        assert_eq!(
            parse(&[0x11, 0, 0, 0, 0, 0, 0, 0]),
            Err(ParseError::BadChecksum)
        );
    }

    #[test]
    fn header_fields_and_capabilities() {
        // mrouted 3.9: MROUTED_LEVEL = DVMRP_CONSTANT 0x000eff00 | PROTOCOL_VERSION 3, as the
        // IGMP group field: octets 00 0e ff 03.
        let b = emit(&mrouted(Body::AskNeighbors2));
        assert_eq!(&b[4..8], &0x000e_ff03u32.to_be_bytes());
        let h = Header::DRAFT;
        assert!(h.is_draft_compliant());
        assert_eq!(Header::default(), h);
        let c = h.capabilities;
        assert!(c.prune() && c.genid() && c.mtrace());
        assert!(!c.leaf() && !c.snmp() && !c.netmask());
        let all = Capabilities::LEAF
            | Capabilities::PRUNE
            | Capabilities::GENID
            | Capabilities::MTRACE
            | Capabilities::SNMP
            | Capabilities::NETMASK;
        assert_eq!(all, Capabilities(0x3f));
        assert!(all.leaf() && all.snmp() && all.netmask());
        // The reserved octet is ignored; unused capability bits and any version are kept.
        let mut b = vec![0x13, 5, 0, 0, 0x5a, 0xc0, 0x02, 0x0b];
        fix_checksum(&mut b);
        let m = parse(&b).unwrap();
        assert_eq!(
            m.header,
            Header {
                capabilities: Capabilities(0xc0),
                minor: 2,
                major: 11
            }
        );
        assert!(!m.header.is_draft_compliant());
        assert_eq!(emit(&m)[4], 0);
        let f = InterfaceFlags(0xff);
        assert!(f.tunnel() && f.srcrt() && f.down() && f.disabled() && f.querier() && f.leaf());
        assert!(f.contains(InterfaceFlags::PIM));
        assert!(!InterfaceFlags::QUERIER.leaf());
    }

    #[test]
    fn report_masks_and_special_cases() {
        let report = |body: &[u8]| {
            let mut b = vec![0x13, 2, 0, 0, 0, 0x0e, 0xff, 3];
            b.extend_from_slice(body);
            fix_checksum(&mut b);
            parse(&b).map(|m| match m.body {
                Body::Report(r) => r.routes,
                _ => unreachable!(),
            })
        };
        // Non-contiguous masks (with the implied first octet 255) are rejected.
        for m in [
            [0x00, 0xff, 0x00],
            [0xff, 0x00, 0xff],
            [0x7f, 0, 0],
            [0xff, 0xfe, 1],
        ] {
            let mut body = m.to_vec();
            body.extend_from_slice(&[10, 1, 1, 1, 0x81]);
            let mask = Ipv4Addr::new(0xff, m[0], m[1], m[2]);
            assert_eq!(report(&body), Err(ParseError::BadNetmask { mask }));
        }
        // Every contiguous mask: width = significant octets, prefix from the mask.
        for prefix in 8..=32u8 {
            let m = prefix_mask(prefix).to_be_bytes();
            let width = usize::from(prefix.div_ceil(8));
            let mut body = m[1..].to_vec();
            body.extend_from_slice(&[0x0a, 0xff, 0xff, 0xff][..width]);
            body.push(0x81);
            let r = report(&body).unwrap();
            assert_eq!(r.len(), 1);
            assert_eq!(r[0].prefix_len, prefix);
            assert_eq!(r[0].netmask(), Ipv4Addr::from(prefix_mask(prefix)));
            // Octets within the width are returned as sent, host bits included.
            assert_eq!(r[0].has_host_bits(), prefix < 8 * width as u8, "/{prefix}");
        }
        // 3.4.2: mask 00 00 00 with network 0 is 0/0 (also inside a block), others are /8.
        let r = report(&[0, 0, 0, 10, 0x01, 0, 0x02, 11, 0x83]).unwrap();
        assert_eq!(
            r,
            vec![
                route("10.0.0.0", 8, 1),
                route("0.0.0.0", 0, 2),
                route("11.0.0.0", 8, 3)
            ]
        );
        // The same mask twice in a row is two blocks on the wire, one run of routes here;
        // emit merges them.
        let body = [0xff, 0, 0, 10, 1, 0x81, 0xff, 0, 0, 10, 2, 0x82];
        let r = report(&body).unwrap();
        assert_eq!(r, vec![route("10.1.0.0", 16, 1), route("10.2.0.0", 16, 2)]);
        let merged = emit(&mrouted(Body::Report(Report { routes: r })));
        assert_eq!(&merged[8..], &[0xff, 0, 0, 10, 1, 0x01, 10, 2, 0x82]);
        // Metrics: 7 bits as sent, illegal ones included (3.4.6 ignores the route only).
        let r = report(&[0xff, 0xff, 0, 1, 2, 3, 0x00, 1, 2, 4, 0x40, 1, 2, 5, 0xff]).unwrap();
        assert_eq!(
            r.iter().map(|e| e.metric).collect::<Vec<_>>(),
            vec![0, 64, 127]
        );
        assert!(r.iter().all(|e| !e.has_legal_metric()));
    }

    #[test]
    fn metric_helpers() {
        let r = |m| route("10.0.0.0", 8, m);
        assert!(r(1).is_reachable() && !r(1).is_poison_reverse() && r(1).has_legal_metric());
        assert!(r(31).is_reachable());
        assert!(r(32).is_unreachable() && !r(32).is_reachable() && !r(32).is_poison_reverse());
        for m in 33..=63 {
            assert!(r(m).is_poison_reverse() && r(m).has_legal_metric());
            assert_eq!(r(m).metric(), m - 32);
        }
        assert!(!r(64).is_poison_reverse() && !r(64).has_legal_metric());
        assert!(!r(0).has_legal_metric() && !r(0).is_reachable());
        assert_eq!(r(5).metric(), 5);
        assert_eq!(r(32).metric(), 32);
        assert_eq!(r(64).metric(), 64);
        assert_eq!(r(5).poisoned().metric, 37);
        assert_eq!(r(5).poisoned().metric(), 5);
        assert_eq!(r(32).poisoned(), r(32));
        assert_eq!(r(40).poisoned(), r(40));
    }

    #[test]
    fn emit_normalises_routes() {
        let cases = [
            // (given, read back)
            (route("10.1.17.9", 20, 3), route("10.1.16.0", 20, 3)), // host bits cleared
            (route("10.200.0.0", 7, 3), route("10.0.0.0", 8, 3)),   // /7 sent as /8
            (route("10.0.0.1", 40, 3), route("10.0.0.1", 32, 3)),   // /40 as /32
            (route("0.0.0.0", 8, 3), route("0.0.0.0", 0, 3)),       // 0/8 is the default
            (route("0.1.0.0", 16, 3), route("0.1.0.0", 16, 3)),     // but 0.1/16 is not
            (route("10.9.9.9", 0, 3), route("0.0.0.0", 0, 3)),      // default, host bits
            (route("10.0.0.0", 8, 0xa1), route("10.0.0.0", 8, 0x21)), // metric 7 bits
        ];
        for (given, back) in cases {
            assert_eq!(given.normalized(), back, "{given:?}");
            assert_eq!(back.normalized(), back);
            let m = mrouted(Body::Report(Report {
                routes: vec![given],
            }));
            let b = emit(&m);
            assert_eq!(b.len(), m.wire_len());
            assert_eq!(
                parse(&b),
                Ok(mrouted(Body::Report(Report { routes: vec![back] })))
            );
            assert_eq!(parse(&b), Ok(m.normalized()));
        }
        assert!(route("10.1.17.9", 20, 3).has_host_bits());
        assert!(!route("10.1.16.0", 20, 3).has_host_bits());
    }

    #[test]
    fn emit_splits_long_neighbor_lists_and_pads_info() {
        let many: Vec<Ipv4Addr> = (0..600u32)
            .map(|i| Ipv4Addr::from(0x0a00_0000 + i))
            .collect();
        let m = mrouted(Body::Neighbors2(vec![Neighbors2Entry {
            local: a("10.0.0.1"),
            metric: 1,
            threshold: 1,
            flags: InterfaceFlags::QUERIER,
            neighbors: many.clone(),
        }]));
        let b = emit(&m);
        assert_eq!(b.len(), m.wire_len());
        assert_eq!(b.len(), 8 + 3 * 8 + 600 * 4);
        let Ok(Message {
            body: Body::Neighbors2(entries),
            ..
        }) = parse(&b)
        else {
            panic!()
        };
        assert_eq!(
            entries
                .iter()
                .map(|e| e.neighbors.len())
                .collect::<Vec<_>>(),
            vec![255, 255, 90]
        );
        assert!(entries.iter().all(|e| e.flags == InterfaceFlags::QUERIER));
        assert_eq!(
            entries
                .iter()
                .flat_map(|e| e.neighbors.clone())
                .collect::<Vec<_>>(),
            many
        );
        assert_eq!(parse(&b), Ok(m.normalized()));
        let m = mrouted(Body::Neighbors(vec![NeighborsEntry {
            local: a("10.0.0.1"),
            metric: 1,
            threshold: 1,
            neighbors: many[..256].to_vec(),
        }]));
        assert_eq!(emit(&m).len(), 8 + 2 * 7 + 256 * 4);
        assert_eq!(parse(&emit(&m)), Ok(m.normalized()));
        // An entry without neighbors is sent as such (count 0).
        let m = mrouted(Body::Neighbors2(vec![Neighbors2Entry {
            local: a("10.0.0.1"),
            metric: 1,
            threshold: 1,
            flags: InterfaceFlags::DOWN,
            neighbors: vec![],
        }]));
        assert_eq!(&emit(&m)[8..], &[10, 0, 0, 1, 1, 1, 0x10, 0]);
        assert_eq!(parse(&emit(&m)), Ok(m));
        // Info data: padded to words, cut at 255 words.
        let m = mrouted(Body::InfoReply(vec![
            InfoItem {
                kind: INFO_VERSION,
                data: b"abcde".to_vec(),
            },
            InfoItem {
                kind: 9,
                data: vec![7; 2000],
            },
        ]));
        let b = emit(&m);
        assert_eq!(b.len(), m.wire_len());
        assert_eq!(
            &b[8..20],
            &[1, 2, 0, 0, b'a', b'b', b'c', b'd', b'e', 0, 0, 0]
        );
        assert_eq!(&b[20..24], &[9, 255, 0, 0]);
        assert_eq!(b.len(), 20 + 4 + MAX_INFO_DATA_LEN);
        let back = parse(&b).unwrap();
        assert_eq!(back, m.normalized());
        let Body::InfoReply(items) = back.body else {
            panic!()
        };
        assert_eq!(items[0].text(), "abcde");
        assert_eq!(InfoItem::version("3.9.8").text(), "3.9.8");
        assert_eq!(InfoItem::version("3.9").data, b"3.9\0".to_vec());
    }

    fn random_route(rng: &mut Rng) -> RouteEntry {
        // Mostly canonical, sometimes not (host bits, odd prefix lengths, 8-bit metrics).
        let prefix_len = match rng.below(10) {
            0 => 0,
            1 => rng.byte() % 40,
            _ => 8 + (rng.below(25) as u8),
        };
        let r = RouteEntry {
            network: rng.addr(),
            prefix_len,
            metric: if rng.below(8) == 0 {
                rng.byte()
            } else {
                1 + rng.byte() % 63
            },
        };
        if rng.below(4) == 0 { r } else { r.normalized() }
    }

    fn random_message(rng: &mut Rng) -> Message {
        let header = Header {
            capabilities: Capabilities(rng.byte()),
            minor: rng.byte(),
            major: rng.byte(),
        };
        let mask = |rng: &mut Rng| rng.bool().then(|| rng.addr());
        let body = match rng.below(11) {
            0 => Body::Probe(Probe {
                generation_id: rng.next_u64() as u32,
                neighbors: rng.addrs(20),
            }),
            1 => Body::Report(Report {
                routes: (0..rng.below(60)).map(|_| random_route(rng)).collect(),
            }),
            2 => Body::AskNeighbors,
            3 => Body::Neighbors(
                (0..rng.below(4))
                    .map(|_| NeighborsEntry {
                        local: rng.addr(),
                        metric: rng.byte(),
                        threshold: rng.byte(),
                        neighbors: {
                            let max = if rng.below(10) == 0 { 600 } else { 5 };
                            rng.addrs(max)
                        },
                    })
                    .collect(),
            ),
            4 => Body::AskNeighbors2,
            5 => Body::Neighbors2(
                (0..rng.below(4))
                    .map(|_| Neighbors2Entry {
                        local: rng.addr(),
                        metric: rng.byte(),
                        threshold: rng.byte(),
                        flags: InterfaceFlags(rng.byte()),
                        neighbors: {
                            let max = if rng.below(10) == 0 { 600 } else { 5 };
                            rng.addrs(max)
                        },
                    })
                    .collect(),
            ),
            6 => Body::Prune(Prune {
                source: rng.addr(),
                group: rng.addr(),
                lifetime: rng.next_u64() as u32,
                source_mask: mask(rng),
            }),
            7 => Body::Graft(Graft {
                source: rng.addr(),
                group: rng.addr(),
                source_mask: mask(rng),
            }),
            8 => Body::GraftAck(Graft {
                source: rng.addr(),
                group: rng.addr(),
                source_mask: mask(rng),
            }),
            n => {
                let items = (0..rng.below(4))
                    .map(|_| InfoItem {
                        kind: rng.byte(),
                        data: (0..{
                            let max = if rng.below(10) == 0 { 1100 } else { 40 };
                            rng.below(max)
                        })
                            .map(|_| rng.byte())
                            .collect(),
                    })
                    .collect();
                if n == 9 {
                    Body::InfoRequest(items)
                } else {
                    Body::InfoReply(items)
                }
            }
        };
        Message { header, body }
    }

    #[test]
    fn round_trip_random_messages() {
        let mut rng = Rng(42);
        let mut unchanged = 0;
        for _ in 0..10_000 {
            let m = random_message(&mut rng);
            let b = emit(&m);
            assert_eq!(b.len(), m.wire_len(), "{m:?}");
            assert!(checksum::verify(&b));
            let n = m.normalized();
            assert_eq!(parse(&b), Ok(n.clone()), "{b:02x?}");
            assert_eq!(n.normalized(), n);
            assert_eq!(emit(&n), b);
            if n == m {
                unchanged += 1;
            }
        }
        assert!(unchanged > 5000, "only {unchanged} messages were canonical");
    }

    #[test]
    fn random_garbage_never_panics() {
        let mut rng = Rng(0x1f2e_3d4c_5b6a_7988);
        let mut ok = 0;
        let mut kinds = std::collections::HashSet::new();
        for i in 0..30_000 {
            let len = rng.below(90) as usize;
            let mut b: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            // A quarter as they come, a quarter with a valid checksum only (any IGMP type),
            // the rest DVMRP with a known code and a valid checksum, so the body parsers run.
            if i % 4 == 1 {
                fix_checksum(&mut b);
            } else if i % 4 > 1 && len >= 8 {
                b[0] = IGMP_TYPE_DVMRP;
                b[1] = 1 + rng.below(12) as u8;
                if b[1] == REPORT && rng.bool() && len >= 11 {
                    // A valid mask, so that routes get parsed.
                    let m = prefix_mask(8 + rng.below(25) as u8).to_be_bytes();
                    b[8..11].copy_from_slice(&m[1..]);
                }
                fix_checksum(&mut b);
            }
            match parse(&b) {
                Ok(m) => {
                    ok += 1;
                    // What parses is canonical after one emit.
                    let n = m.normalized();
                    assert_eq!(parse(&emit(&m)), Ok(n.clone()), "{b:02x?}");
                    assert_eq!(parse(&emit(&n)), Ok(n));
                }
                Err(e) => {
                    kinds.insert(e.kind());
                }
            }
        }
        assert!(ok > 3000, "only {ok} random inputs parsed");
        assert_eq!(kinds.len(), ParseError::KINDS.len(), "{kinds:?}");
    }

    #[test]
    fn split_report_fits_and_keeps_everything() {
        let mut rng = Rng(7);
        let mut routes: Vec<RouteEntry> = (0..3000)
            .map(|_| random_route(&mut rng).normalized())
            .collect();
        // Runs of equal masks, as a sorted table gives.
        routes[..1000].sort_by_key(|r| r.prefix_len);
        for max_len in [MIN_REPORT_SPLIT_LEN, 17, 40, 100, MAX_LEN_576, 1480, 9000] {
            let reports = split_report(&routes, max_len);
            let all: Vec<RouteEntry> = reports.iter().flat_map(|r| r.routes.clone()).collect();
            assert_eq!(all, routes, "max_len {max_len}");
            for (i, r) in reports.iter().enumerate() {
                let m = mrouted(Body::Report(r.clone()));
                let len = emit(&m).len();
                assert_eq!(len, m.wire_len());
                assert!(len <= max_len, "max_len {max_len}: {len}");
                assert!(!r.routes.is_empty());
                assert_eq!(parse(&emit(&m)), Ok(m));
                // Greedy: the next report's first route would not have fitted.
                if let Some(next) = reports.get(i + 1) {
                    let mut more = r.routes.clone();
                    more.push(next.routes[0]);
                    let longer = mrouted(Body::Report(Report { routes: more }));
                    assert!(longer.wire_len() > max_len, "max_len {max_len}");
                }
            }
        }
        assert!(split_report(&[], 1500).is_empty());
        // Too small a limit still makes progress: one host route per report.
        let hosts: Vec<RouteEntry> = (1..=5u32)
            .map(|i| RouteEntry::new(Ipv4Addr::from(0x0a00_0000 + i), 32, 1))
            .collect();
        assert_eq!(split_report(&hosts, 0).len(), 5);
        assert_eq!(split_report(&hosts, MIN_REPORT_SPLIT_LEN).len(), 5);
        assert_eq!(split_report(&hosts, MIN_REPORT_SPLIT_LEN + 5).len(), 3);
        // mrouted's packing: 126 /24 routes per 576-octet datagram (3 + 126 * 4 <= 508).
        let same: Vec<RouteEntry> = (0..1000u32)
            .map(|i| RouteEntry::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24, 1))
            .collect();
        let reports = split_report(&same, MAX_LEN_576);
        assert_eq!(reports.len(), 8);
        assert!(reports[..7].iter().all(|r| r.routes.len() == 126));
        assert_eq!(
            mrouted(Body::Report(reports[0].clone())).wire_len(),
            8 + 3 + 126 * 4
        );
    }

    #[test]
    fn split_neighbors2_fits_and_keeps_everything() {
        let nbrs = |base: u32, n: u32| -> Vec<Ipv4Addr> {
            (0..n).map(|i| Ipv4Addr::from(base + i)).collect()
        };
        let entry =
            |local: &str, flags: InterfaceFlags, neighbors: Vec<Ipv4Addr>| Neighbors2Entry {
                local: a(local),
                metric: 2,
                threshold: 8,
                flags,
                neighbors,
            };
        let entries = vec![
            entry("10.0.0.1", InterfaceFlags::QUERIER, nbrs(0x0a00_0002, 3)),
            entry(
                "10.0.1.1",
                InterfaceFlags::LEAF,
                vec![Ipv4Addr::UNSPECIFIED],
            ),
            entry("10.0.2.1", InterfaceFlags::DOWN, vec![]),
            entry("10.0.3.1", InterfaceFlags(0), nbrs(0x0a00_0300, 700)),
            entry("192.0.2.1", InterfaceFlags::TUNNEL, vec![a("198.51.100.9")]),
        ];
        // Merge consecutive entries with the same interface fields: what the asker sees.
        let merged = |msgs: &[Vec<Neighbors2Entry>]| -> Vec<Neighbors2Entry> {
            let mut out: Vec<Neighbors2Entry> = Vec::new();
            for e in msgs.iter().flatten() {
                match out.last_mut() {
                    Some(l) if (l.local, l.flags) == (e.local, e.flags) => {
                        l.neighbors.extend(&e.neighbors)
                    }
                    _ => out.push(e.clone()),
                }
            }
            out
        };
        for max_len in [
            0,
            MIN_NEIGHBORS2_SPLIT_LEN,
            27,
            100,
            MAX_LEN_576,
            1480,
            9000,
        ] {
            let msgs = split_neighbors2(&entries, max_len);
            assert_eq!(merged(&msgs), entries, "max_len {max_len}");
            for (i, body) in msgs.iter().enumerate() {
                let m = mrouted(Body::Neighbors2(body.clone()));
                let b = emit(&m);
                assert_eq!(b.len(), m.wire_len());
                assert!(
                    b.len() <= max_len.max(MIN_NEIGHBORS2_SPLIT_LEN),
                    "max_len {max_len}: {}",
                    b.len()
                );
                assert!(body.iter().all(|e| e.neighbors.len() <= 255));
                assert_eq!(parse(&b), Ok(m), "max_len {max_len}");
                // Greedy: the next message's first entry (with one neighbor) did not fit.
                if let Some(next) = msgs.get(i + 1) {
                    let first = &next[0];
                    let cont = body.last().is_some_and(|l| {
                        (l.local, l.flags) == (first.local, first.flags) && l.neighbors.len() < 255
                    });
                    let extra = if cont { 0 } else { 8 } + 4 * first.neighbors.len().min(1);
                    assert!(b.len() + extra > max_len, "max_len {max_len}");
                }
            }
        }
        // mrouted's limit, 508 octets of data: the first three entries and 115 of the 700
        // neighbors, then 125 a message (one entry header each), the rest and the tunnel.
        let msgs = split_neighbors2(&entries, MAX_LEN_576);
        let counts: Vec<Vec<usize>> = msgs
            .iter()
            .map(|m| m.iter().map(|e| e.neighbors.len()).collect())
            .collect();
        assert_eq!(
            counts,
            [
                vec![3, 1, 0, 115],
                vec![125],
                vec![125],
                vec![125],
                vec![125],
                vec![85, 1]
            ]
        );
        assert_eq!(
            mrouted(Body::Neighbors2(msgs[1].clone())).wire_len(),
            MAX_LEN_576
        );
        assert!(split_neighbors2(&[], MAX_LEN_576).is_empty());
        // Small enough to stay whole.
        let small = &entries[..3];
        assert_eq!(split_neighbors2(small, MAX_LEN_576), vec![small.to_vec()]);
    }
}
