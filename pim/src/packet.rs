//! PIM version 2 message codec (RFC 7761 section 4.9; Bootstrap and Candidate-RP-Advertisement
//! as in RFC 5059), IPv4 only. Sans-IO: bytes in, values out.
//!
//! * [`parse`] decodes one PIM message (the IP payload, IP header already removed) into a
//!   [`Message`] or a typed [`ParseError`] whose [`ParseError::kind`] names a counter. It never
//!   panics, whatever the input.
//! * [`emit`] encodes a [`Message`] with a correct checksum; `parse(&emit(&m)) == Ok(m)` for
//!   every valid `m` (see [`emit`] for what "valid" means).
//! * [`split_join_prune`] packs join/prune state into as few messages as fit the MTU, splitting
//!   a group whose source lists do not fit one message; [`max_register_payload`] is the largest
//!   packet a Register can carry without exceeding the MTU.
//!
//! Decisions where the RFCs leave room:
//!
//! * **Checksums.** Every message's checksum covers the whole PIM message, except Register's,
//!   which covers the PIM header and the Register flags word only (first 8 octets, 4.9.3). A
//!   Register whose checksum covers the whole message is accepted too: some implementations
//!   send that, and FRR accepts both.
//! * **Header flag bits.** The 8 bits after the type (RFC 7761 "Reserved", RFC 9436 "Flag
//!   Bits") are ignored on receipt and sent as zero, except for Bootstrap, whose most
//!   significant bit (0x80, RFC 5059's `N`, RFC 9436's flag bit 7) is the No-Forward bit.
//! * **Addresses.** Encoded-Unicast, -Group and -Source addresses must be address family 1
//!   (IPv4, [`ParseError::UnsupportedFamily`]) with encoding type 0 (native,
//!   [`ParseError::UnsupportedEncoding`]; type 1, RFC 5384 join attributes, is not supported)
//!   and a mask length of at most 32 ([`ParseError::BadMaskLen`]). Reserved bits of the
//!   group and source flags are ignored.
//! * **Hello options.** Options of a known type must have their length (Holdtime 2, LAN
//!   Prune Delay 4, DR Priority 4, Generation ID 4), else [`ParseError::BadOption`]. The
//!   Address List (24) is a sequence of Encoded-Unicast addresses; FRR puts its IPv6
//!   link-local address (family 2, 18 octets) into the list of its IPv4 Hellos, so IPv6 entries
//!   are skipped, not rejected; any other family, a non-native encoding or a partial entry is
//!   a [`ParseError::BadOption`]. Unknown options are kept verbatim
//!   ([`HelloOption::Unknown`]).
//! * **Register.** The encapsulated packet must be IPv4 with a sane header (version 4, header
//!   length at least 20 and within the packet); for a data Register (N bit clear) its Total
//!   Length must also equal the octets present, so a truncated Register is detected although
//!   the checksum does not cover the data. A Null-Register carries at least the dummy
//!   IPv4 header (4.4.1); its length field is not checked.
//! * **Trailing octets** after the last field of Register-Stop, Join/Prune, Assert and
//!   C-RP-Adv are ignored (they are covered by the checksum). Hello options and Bootstrap
//!   group ranges run to the end of the message, so there a partial trailing item is an error.
//!
//! Encoding limits: a Join/Prune carries at most 255 group sets of at most 65535 joined and
//! 65535 pruned sources each; a Bootstrap group range at most 255 RPs; a C-RP-Adv at most 255
//! group prefixes; a Hello option at most 65535 octets of value. [`emit`] writes only what fits
//! these counts (use [`split_join_prune`] for large join/prune state).

use std::fmt;
use std::net::Ipv4Addr;

use common::checksum;

/// PIM message types (RFC 7761 section 4.9, RFC 5059 for Bootstrap and C-RP-Adv).
pub const HELLO: u8 = 0;
pub const REGISTER: u8 = 1;
pub const REGISTER_STOP: u8 = 2;
pub const JOIN_PRUNE: u8 = 3;
pub const BOOTSTRAP: u8 = 4;
pub const ASSERT: u8 = 5;
pub const CANDIDATE_RP_ADV: u8 = 8;

/// Hello option types (4.9.2, RFC 3973 and IANA "PIM-Hello Options").
pub const OPT_HOLDTIME: u16 = 1;
pub const OPT_LAN_PRUNE_DELAY: u16 = 2;
pub const OPT_DR_PRIORITY: u16 = 19;
pub const OPT_GENERATION_ID: u16 = 20;
pub const OPT_ADDRESS_LIST: u16 = 24;

/// A decoded PIM message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Hello(Hello),
    Register(Register),
    RegisterStop(RegisterStop),
    JoinPrune(JoinPrune),
    Bootstrap(Bootstrap),
    Assert(Assert),
    CandidateRpAdv(CandidateRpAdv),
}

/// Hello (4.9.2): a list of options, in the order they were received.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Hello {
    pub options: Vec<HelloOption>,
}

/// One Hello option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelloOption {
    /// Hold Time in seconds; 0xffff = never time out, 0 = forget me now.
    Holdtime(u16),
    /// LAN Prune Delay: T bit (join suppression disabled), propagation delay and override
    /// interval in milliseconds.
    LanPruneDelay {
        t_bit: bool,
        propagation_delay_ms: u16,
        override_interval_ms: u16,
    },
    DrPriority(u32),
    GenerationId(u32),
    /// Secondary addresses (Encoded-Unicast IPv4).
    AddressList(Vec<Ipv4Addr>),
    /// Anything else, kept verbatim so that the message round-trips.
    Unknown {
        kind: u16,
        value: Vec<u8>,
    },
}

/// Register (4.9.3). The checksum covers the PIM header only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Register {
    /// B bit: sent by a PMBR.
    pub border: bool,
    /// N bit: Null-Register (the packet is just an IP header, used to probe).
    pub null: bool,
    /// The encapsulated IP packet.
    pub packet: Vec<u8>,
}

/// Register-Stop (4.9.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterStop {
    pub group: EncodedGroup,
    pub source: Ipv4Addr,
}

/// Encoded-Group address (4.9.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EncodedGroup {
    pub group: Ipv4Addr,
    pub mask_len: u8,
    /// B bit (bidirectional PIM).
    pub bidir: bool,
    /// Z bit (admin scope zone).
    pub zone: bool,
}

/// Encoded-Source address (4.9.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EncodedSource {
    pub source: Ipv4Addr,
    pub mask_len: u8,
    /// S bit: sparse mode (always 1 in PIM-SM).
    pub sparse: bool,
    /// W bit: wildcard, the join or prune is for (*,G).
    pub wildcard: bool,
    /// R bit: RPT, the join or prune is sent towards the RP.
    pub rpt: bool,
}

/// Join/Prune (4.9.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinPrune {
    pub upstream_neighbor: Ipv4Addr,
    /// Seconds; 0xffff = infinity.
    pub holdtime: u16,
    pub groups: Vec<JoinPruneGroup>,
}

/// One group of a Join/Prune message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinPruneGroup {
    pub group: EncodedGroup,
    pub joins: Vec<EncodedSource>,
    pub prunes: Vec<EncodedSource>,
}

/// Assert (4.9.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assert {
    pub group: EncodedGroup,
    /// 0.0.0.0 for a (*,G) assert.
    pub source: Ipv4Addr,
    /// R bit: RPT (the assert is for the shared tree).
    pub rpt: bool,
    /// 31 bits.
    pub metric_preference: u32,
    pub metric: u32,
}

/// Bootstrap (4.9.7 / RFC 5059 section 4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bootstrap {
    pub fragment_tag: u16,
    pub hash_mask_len: u8,
    pub bsr_priority: u8,
    pub bsr_address: Ipv4Addr,
    /// No-Forward bit in the PIM header (RFC 5059 section 3.1.2).
    pub no_forward: bool,
    pub groups: Vec<BootstrapGroup>,
}

/// One group range of a Bootstrap message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootstrapGroup {
    pub group: EncodedGroup,
    /// RP Count: RPs for this range in the whole BSM (all fragments).
    pub rp_count: u8,
    pub rps: Vec<BootstrapRp>,
}

/// One RP of a Bootstrap group range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootstrapRp {
    pub address: Ipv4Addr,
    pub holdtime: u16,
    pub priority: u8,
}

/// Candidate-RP-Advertisement (4.9.8 / RFC 5059 section 4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CandidateRpAdv {
    pub priority: u8,
    pub holdtime: u16,
    pub rp: Ipv4Addr,
    pub groups: Vec<EncodedGroup>,
}

// ---------------------------------------------------------------------------------------------
// Wire constants

/// The PIM version this codec speaks (4.9).
pub const PIM_VERSION: u8 = 2;
/// ALL-PIM-ROUTERS (4.9): destination of Hello, Join/Prune, Assert and Bootstrap messages.
pub const ALL_PIM_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 13);
/// The IP protocol number of PIM.
pub const IP_PROTOCOL: u8 = 103;

/// The PIM header: version and type, flag bits, checksum (4.9).
pub const HEADER_LEN: usize = 4;
/// The octets a Register's checksum covers: PIM header and the flags word (4.9.3).
pub const REGISTER_HEADER_LEN: usize = 8;
/// An IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// Encoded-Unicast IPv4 address (4.9.1): family, encoding type, address.
pub const ENCODED_UNICAST_LEN: usize = 6;
/// Encoded-Group IPv4 address (4.9.1): family, encoding type, flags, mask length, address.
pub const ENCODED_GROUP_LEN: usize = 8;
/// Encoded-Source IPv4 address (4.9.1): family, encoding type, flags, mask length, address.
pub const ENCODED_SOURCE_LEN: usize = 8;
/// Encoded-Unicast IPv6 address: only skipped, in a Hello's Address List.
const ENCODED_UNICAST_V6_LEN: usize = 18;

/// Address family numbers (IANA) of encoded addresses.
pub const ADDRESS_FAMILY_IPV4: u8 = 1;
pub const ADDRESS_FAMILY_IPV6: u8 = 2;
/// The native encoding of an address family (the only one this codec accepts).
pub const ENCODING_NATIVE: u8 = 0;

/// Encoded-Group flags (4.9.1): B (bidirectional) and Z (admin scope zone).
pub const GROUP_FLAG_BIDIR: u8 = 0x80;
pub const GROUP_FLAG_ZONE: u8 = 0x01;
/// Encoded-Source flags (4.9.1): S (sparse), W (wildcard), R (RPT).
pub const SOURCE_FLAG_SPARSE: u8 = 0x04;
pub const SOURCE_FLAG_WILDCARD: u8 = 0x02;
pub const SOURCE_FLAG_RPT: u8 = 0x01;

/// Register flags word (4.9.3): B (border) and N (Null-Register).
pub const REGISTER_FLAG_BORDER: u32 = 0x8000_0000;
pub const REGISTER_FLAG_NULL: u32 = 0x4000_0000;
/// The R bit of an Assert's metric preference word (4.9.6).
pub const ASSERT_FLAG_RPT: u32 = 0x8000_0000;
/// The No-Forward bit of a Bootstrap message, in the PIM header's flag byte (RFC 5059 3.1.2,
/// 4.1: the first bit after the type; RFC 9436 flag bit 7).
pub const BOOTSTRAP_NO_FORWARD: u8 = 0x80;
/// The T bit of the LAN Prune Delay option (4.9.2).
const LAN_PRUNE_DELAY_T: u16 = 0x8000;

/// Holdtime 0xffff: infinite (Hello Holdtime "never time out", Join/Prune Holdtime).
pub const HOLDTIME_INFINITE: u16 = 0xffff;

/// A Join/Prune message without groups: PIM header, upstream neighbor, reserved, number of
/// groups, holdtime (4.9.5).
pub const JOIN_PRUNE_HEADER_LEN: usize = HEADER_LEN + ENCODED_UNICAST_LEN + 4;
/// A group set without sources: group address, number of joined and of pruned sources.
pub const JOIN_PRUNE_GROUP_LEN: usize = ENCODED_GROUP_LEN + 4;
/// Most group sets in one Join/Prune (an 8-bit count).
pub const MAX_JOIN_PRUNE_GROUPS: usize = 255;
/// Most joined (and, separately, pruned) sources in one group set (a 16-bit count).
pub const MAX_JOIN_PRUNE_SOURCES: usize = 0xffff;
/// The smallest `max_len` [`split_join_prune`] works with: one group set with one source.
pub const MIN_JOIN_PRUNE_SPLIT_LEN: usize =
    JOIN_PRUNE_HEADER_LEN + JOIN_PRUNE_GROUP_LEN + ENCODED_SOURCE_LEN;
/// Most RPs in one Bootstrap group range (an 8-bit Frag RP Count).
pub const MAX_BOOTSTRAP_RPS: usize = 255;
/// Most group prefixes in one C-RP-Advertisement (an 8-bit Prefix Count).
pub const MAX_CRP_GROUPS: usize = 255;
/// Most octets of one Hello option's value (a 16-bit length).
pub const MAX_OPTION_LEN: usize = 0xffff;

// ---------------------------------------------------------------------------------------------
// Errors

/// Why a message was not accepted. Every variant has a stable name, [`ParseError::kind`],
/// for counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParseError {
    /// Fewer than the 4 octets of the PIM header.
    TooShort,
    /// A PIM version other than 2.
    BadVersion(u8),
    /// The checksum is wrong (for a Register: over neither the first 8 octets nor the whole
    /// message).
    BadChecksum,
    /// A type this codec does not decode: 6 and 7 (PIM-DM Graft, Graft-Ack), 9 and above.
    UnknownType(u8),
    /// An encoded address of another address family than 1 (IPv4).
    UnsupportedFamily(u8),
    /// An encoded address with an encoding type other than 0 (native).
    UnsupportedEncoding(u8),
    /// An encoded group or source with a mask length above 32.
    BadMaskLen(u8),
    /// The message ends inside the part named by `what`.
    Truncated { what: &'static str },
    /// The part named by `what` has a length it cannot have: `len` octets. (A data
    /// Register whose packet's IPv4 Total Length is not the octets present.)
    BadLength { what: &'static str, len: usize },
    /// A Hello option of a known type with a wrong length or content.
    BadOption { kind: u16 },
    /// The packet inside a Register is not an IPv4 packet: `what` is wrong.
    BadInnerPacket { what: &'static str },
}

impl ParseError {
    /// All values [`ParseError::kind`] can return.
    pub const KINDS: [&'static str; 11] = [
        "too_short",
        "bad_version",
        "bad_checksum",
        "unknown_type",
        "unsupported_family",
        "unsupported_encoding",
        "bad_mask_len",
        "truncated",
        "bad_length",
        "bad_option",
        "bad_inner_packet",
    ];

    /// A stable snake_case name of the variant, e.g. `"bad_checksum"`, for counters.
    pub fn kind(&self) -> &'static str {
        match self {
            ParseError::TooShort => "too_short",
            ParseError::BadVersion(_) => "bad_version",
            ParseError::BadChecksum => "bad_checksum",
            ParseError::UnknownType(_) => "unknown_type",
            ParseError::UnsupportedFamily(_) => "unsupported_family",
            ParseError::UnsupportedEncoding(_) => "unsupported_encoding",
            ParseError::BadMaskLen(_) => "bad_mask_len",
            ParseError::Truncated { .. } => "truncated",
            ParseError::BadLength { .. } => "bad_length",
            ParseError::BadOption { .. } => "bad_option",
            ParseError::BadInnerPacket { .. } => "bad_inner_packet",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::TooShort => write!(
                f,
                "PIM message too short: less than the {HEADER_LEN}-octet header"
            ),
            ParseError::BadVersion(v) => write!(f, "PIM version {v}, only version 2 is supported"),
            ParseError::BadChecksum => f.write_str("bad PIM checksum"),
            ParseError::UnknownType(t) => write!(f, "unknown PIM message type {t}"),
            ParseError::UnsupportedFamily(af) => {
                write!(f, "unsupported address family {af} (only 1, IPv4)")
            }
            ParseError::UnsupportedEncoding(e) => {
                write!(f, "unsupported address encoding type {e} (only 0, native)")
            }
            ParseError::BadMaskLen(m) => write!(f, "mask length {m} exceeds 32"),
            ParseError::Truncated { what } => write!(f, "PIM message truncated in {what}"),
            ParseError::BadLength { what, len } => write!(f, "bad length of {what}: {len}"),
            ParseError::BadOption { kind } => write!(f, "malformed Hello option {kind}"),
            ParseError::BadInnerPacket { what } => {
                write!(f, "Register does not carry an IPv4 packet: bad {what}")
            }
        }
    }
}

impl std::error::Error for ParseError {}

// ---------------------------------------------------------------------------------------------
// Helpers on the message types

impl Message {
    /// The PIM Type of this message (4.9).
    pub fn message_type(&self) -> u8 {
        match self {
            Message::Hello(_) => HELLO,
            Message::Register(_) => REGISTER,
            Message::RegisterStop(_) => REGISTER_STOP,
            Message::JoinPrune(_) => JOIN_PRUNE,
            Message::Bootstrap(_) => BOOTSTRAP,
            Message::Assert(_) => ASSERT,
            Message::CandidateRpAdv(_) => CANDIDATE_RP_ADV,
        }
    }

    /// The number of octets [`emit`] produces for this message.
    pub fn wire_len(&self) -> usize {
        match self {
            Message::Hello(h) => {
                HEADER_LEN + h.options.iter().map(HelloOption::wire_len).sum::<usize>()
            }
            Message::Register(r) => REGISTER_HEADER_LEN + r.packet.len(),
            Message::RegisterStop(_) => HEADER_LEN + ENCODED_GROUP_LEN + ENCODED_UNICAST_LEN,
            Message::JoinPrune(jp) => jp.wire_len(),
            Message::Bootstrap(b) => {
                HEADER_LEN
                    + 4
                    + ENCODED_UNICAST_LEN
                    + b.groups
                        .iter()
                        .map(|g| ENCODED_GROUP_LEN + 4 + 10 * g.rps.len().min(MAX_BOOTSTRAP_RPS))
                        .sum::<usize>()
            }
            Message::Assert(_) => HEADER_LEN + ENCODED_GROUP_LEN + ENCODED_UNICAST_LEN + 8,
            Message::CandidateRpAdv(c) => {
                HEADER_LEN
                    + 4
                    + ENCODED_UNICAST_LEN
                    + ENCODED_GROUP_LEN * c.groups.len().min(MAX_CRP_GROUPS)
            }
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

impl From<Hello> for Message {
    fn from(m: Hello) -> Message {
        Message::Hello(m)
    }
}
impl From<Register> for Message {
    fn from(m: Register) -> Message {
        Message::Register(m)
    }
}
impl From<RegisterStop> for Message {
    fn from(m: RegisterStop) -> Message {
        Message::RegisterStop(m)
    }
}
impl From<JoinPrune> for Message {
    fn from(m: JoinPrune) -> Message {
        Message::JoinPrune(m)
    }
}
impl From<Bootstrap> for Message {
    fn from(m: Bootstrap) -> Message {
        Message::Bootstrap(m)
    }
}
impl From<Assert> for Message {
    fn from(m: Assert) -> Message {
        Message::Assert(m)
    }
}
impl From<CandidateRpAdv> for Message {
    fn from(m: CandidateRpAdv) -> Message {
        Message::CandidateRpAdv(m)
    }
}

/// The value of a LAN Prune Delay option (4.9.2), as [`Hello::lan_prune_delay`] returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LanPruneDelay {
    /// T bit: the sender disables join suppression.
    pub t_bit: bool,
    /// Propagation delay, milliseconds (15 bits).
    pub propagation_delay_ms: u16,
    /// Override interval, milliseconds.
    pub override_interval_ms: u16,
}

impl Hello {
    /// The Holdtime option (seconds), if present. As for every accessor here, the first option
    /// of the type counts if the Hello repeats it.
    pub fn holdtime(&self) -> Option<u16> {
        self.options.iter().find_map(|o| match o {
            HelloOption::Holdtime(h) => Some(*h),
            _ => None,
        })
    }

    /// The DR Priority option, if present.
    pub fn dr_priority(&self) -> Option<u32> {
        self.options.iter().find_map(|o| match o {
            HelloOption::DrPriority(p) => Some(*p),
            _ => None,
        })
    }

    /// The Generation ID option, if present.
    pub fn generation_id(&self) -> Option<u32> {
        self.options.iter().find_map(|o| match o {
            HelloOption::GenerationId(g) => Some(*g),
            _ => None,
        })
    }

    /// The LAN Prune Delay option, if present.
    pub fn lan_prune_delay(&self) -> Option<LanPruneDelay> {
        self.options.iter().find_map(|o| match *o {
            HelloOption::LanPruneDelay {
                t_bit,
                propagation_delay_ms,
                override_interval_ms,
            } => Some(LanPruneDelay {
                t_bit,
                propagation_delay_ms,
                override_interval_ms,
            }),
            _ => None,
        })
    }

    /// The (IPv4) secondary addresses of the Address List option, if present.
    pub fn addresses(&self) -> Option<&[Ipv4Addr]> {
        self.options.iter().find_map(|o| match o {
            HelloOption::AddressList(list) => Some(list.as_slice()),
            _ => None,
        })
    }
}

impl HelloOption {
    /// The option type on the wire.
    pub fn kind(&self) -> u16 {
        match self {
            HelloOption::Holdtime(_) => OPT_HOLDTIME,
            HelloOption::LanPruneDelay { .. } => OPT_LAN_PRUNE_DELAY,
            HelloOption::DrPriority(_) => OPT_DR_PRIORITY,
            HelloOption::GenerationId(_) => OPT_GENERATION_ID,
            HelloOption::AddressList(_) => OPT_ADDRESS_LIST,
            HelloOption::Unknown { kind, .. } => *kind,
        }
    }

    /// Octets of the value as [`emit`] writes it.
    fn value_len(&self) -> usize {
        match self {
            HelloOption::Holdtime(_) => 2,
            HelloOption::LanPruneDelay { .. }
            | HelloOption::DrPriority(_)
            | HelloOption::GenerationId(_) => 4,
            HelloOption::AddressList(list) => {
                ENCODED_UNICAST_LEN * list.len().min(MAX_OPTION_LEN / ENCODED_UNICAST_LEN)
            }
            HelloOption::Unknown { value, .. } => value.len().min(MAX_OPTION_LEN),
        }
    }

    /// Octets of the option (type, length, value) as [`emit`] writes it.
    pub fn wire_len(&self) -> usize {
        4 + self.value_len()
    }
}

impl EncodedGroup {
    /// One group: mask length 32, no flags.
    pub fn new(group: Ipv4Addr) -> EncodedGroup {
        EncodedGroup {
            group,
            mask_len: 32,
            bidir: false,
            zone: false,
        }
    }

    /// A group range (C-RP-Adv, Bootstrap): `group/mask_len`, no flags.
    pub fn range(group: Ipv4Addr, mask_len: u8) -> EncodedGroup {
        EncodedGroup {
            group,
            mask_len,
            bidir: false,
            zone: false,
        }
    }

    fn flags(&self) -> u8 {
        (if self.bidir { GROUP_FLAG_BIDIR } else { 0 })
            | (if self.zone { GROUP_FLAG_ZONE } else { 0 })
    }
}

impl EncodedSource {
    /// An (S,G) join or prune: S bit, mask length 32.
    pub fn sg(source: Ipv4Addr) -> EncodedSource {
        EncodedSource {
            source,
            mask_len: 32,
            sparse: true,
            wildcard: false,
            rpt: false,
        }
    }

    /// A (*,G) join or prune towards `rp`: S, W and R bits, mask length 32.
    pub fn star_g(rp: Ipv4Addr) -> EncodedSource {
        EncodedSource {
            source: rp,
            mask_len: 32,
            sparse: true,
            wildcard: true,
            rpt: true,
        }
    }

    /// An (S,G,rpt) join or prune: S and R bits, mask length 32.
    pub fn sg_rpt(source: Ipv4Addr) -> EncodedSource {
        EncodedSource {
            source,
            mask_len: 32,
            sparse: true,
            wildcard: false,
            rpt: true,
        }
    }

    /// W and R set: a (*,G) entry (4.9.5.1).
    pub fn is_star_g(&self) -> bool {
        self.wildcard && self.rpt
    }

    /// R set, W clear: an (S,G,rpt) entry.
    pub fn is_sg_rpt(&self) -> bool {
        self.rpt && !self.wildcard
    }

    /// W and R clear: an (S,G) entry.
    pub fn is_sg(&self) -> bool {
        !self.rpt && !self.wildcard
    }

    fn flags(&self) -> u8 {
        (if self.sparse { SOURCE_FLAG_SPARSE } else { 0 })
            | (if self.wildcard {
                SOURCE_FLAG_WILDCARD
            } else {
                0
            })
            | (if self.rpt { SOURCE_FLAG_RPT } else { 0 })
    }
}

impl Register {
    /// A Null-Register for (S,G) (4.4.1, 4.9.3): N bit, and as data a dummy IPv4 header
    /// (20 octets, TTL 0, protocol PIM, no payload, valid header checksum) from `source` to `group`.
    pub fn null(source: Ipv4Addr, group: Ipv4Addr) -> Register {
        // As FRR's pimd builds it (TTL 0, protocol PIM, no payload), with a valid checksum.
        let mut h = vec![
            0x45,
            0,
            0,
            IPV4_HEADER_LEN as u8,
            0,
            0,
            0,
            0,
            0,
            IP_PROTOCOL,
            0,
            0,
        ];
        h.extend_from_slice(&source.octets());
        h.extend_from_slice(&group.octets());
        let c = checksum::checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        Register {
            border: false,
            null: true,
            packet: h,
        }
    }

    /// Source and destination (S, G) of the encapsulated IPv4 packet, if it has an IPv4
    /// header (always so for a parsed Register).
    pub fn source_group(&self) -> Option<(Ipv4Addr, Ipv4Addr)> {
        let p = self.packet.get(..IPV4_HEADER_LEN)?;
        if p[0] >> 4 != 4 {
            return None;
        }
        Some((
            Ipv4Addr::new(p[12], p[13], p[14], p[15]),
            Ipv4Addr::new(p[16], p[17], p[18], p[19]),
        ))
    }
}

impl JoinPruneGroup {
    /// A group set without sources.
    pub fn new(group: EncodedGroup) -> JoinPruneGroup {
        JoinPruneGroup {
            group,
            joins: Vec::new(),
            prunes: Vec::new(),
        }
    }

    /// Octets of this group set as [`emit`] writes it.
    pub fn wire_len(&self) -> usize {
        JOIN_PRUNE_GROUP_LEN
            + ENCODED_SOURCE_LEN
                * (self.joins.len().min(MAX_JOIN_PRUNE_SOURCES)
                    + self.prunes.len().min(MAX_JOIN_PRUNE_SOURCES))
    }
}

impl JoinPrune {
    /// Octets of the whole message (PIM header included) as [`emit`] writes it.
    pub fn wire_len(&self) -> usize {
        JOIN_PRUNE_HEADER_LEN
            + self
                .groups
                .iter()
                .take(MAX_JOIN_PRUNE_GROUPS)
                .map(JoinPruneGroup::wire_len)
                .sum::<usize>()
    }
}

/// The most octets of an IP packet a Register can carry on a link of `mtu` octets: the MTU
/// less the outer IPv4 header (20) and the Register header (8), saturating at 0. For the
/// DR's rule never to send a Register larger than the MTU: a packet longer than this cannot
/// be encapsulated whole.
pub fn max_register_payload(mtu: usize) -> usize {
    mtu.saturating_sub(IPV4_HEADER_LEN + REGISTER_HEADER_LEN)
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// A cursor over the message that never reads past its end.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn rest(&mut self) -> &'a [u8] {
        let s = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        s
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ParseError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(ParseError::Truncated { what })?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(ParseError::Truncated { what })?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], ParseError> {
        let s = self.take(N, what)?;
        let mut a = [0; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, ParseError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, ParseError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// Address family and encoding type of an encoded address: IPv4, native.
    fn family(&mut self, what: &'static str) -> Result<(), ParseError> {
        let [af, enc] = self.array(what)?;
        if af != ADDRESS_FAMILY_IPV4 {
            return Err(ParseError::UnsupportedFamily(af));
        }
        if enc != ENCODING_NATIVE {
            return Err(ParseError::UnsupportedEncoding(enc));
        }
        Ok(())
    }

    fn ipv4(&mut self, what: &'static str) -> Result<Ipv4Addr, ParseError> {
        Ok(Ipv4Addr::from(self.array::<4>(what)?))
    }

    /// Encoded-Unicast address (4.9.1).
    fn unicast(&mut self, what: &'static str) -> Result<Ipv4Addr, ParseError> {
        self.family(what)?;
        self.ipv4(what)
    }

    /// Flags and mask length of an Encoded-Group or -Source address.
    fn flags_mask(&mut self, what: &'static str) -> Result<(u8, u8), ParseError> {
        let [flags, mask_len] = self.array(what)?;
        if mask_len > 32 {
            return Err(ParseError::BadMaskLen(mask_len));
        }
        Ok((flags, mask_len))
    }

    /// Encoded-Group address (4.9.1).
    fn group(&mut self, what: &'static str) -> Result<EncodedGroup, ParseError> {
        self.family(what)?;
        let (flags, mask_len) = self.flags_mask(what)?;
        Ok(EncodedGroup {
            group: self.ipv4(what)?,
            mask_len,
            bidir: flags & GROUP_FLAG_BIDIR != 0,
            zone: flags & GROUP_FLAG_ZONE != 0,
        })
    }

    /// Encoded-Source address (4.9.1).
    fn source(&mut self, what: &'static str) -> Result<EncodedSource, ParseError> {
        self.family(what)?;
        let (flags, mask_len) = self.flags_mask(what)?;
        Ok(EncodedSource {
            source: self.ipv4(what)?,
            mask_len,
            sparse: flags & SOURCE_FLAG_SPARSE != 0,
            wildcard: flags & SOURCE_FLAG_WILDCARD != 0,
            rpt: flags & SOURCE_FLAG_RPT != 0,
        })
    }

    /// `n` Encoded-Source addresses.
    fn sources(&mut self, n: u16, what: &'static str) -> Result<Vec<EncodedSource>, ParseError> {
        let n = usize::from(n);
        // Check the length first: no allocation for counts the message cannot hold.
        if n * ENCODED_SOURCE_LEN > self.remaining() {
            return Err(ParseError::Truncated { what });
        }
        (0..n).map(|_| self.source(what)).collect()
    }
}

/// Decode one PIM message (the IP payload). Checks, in this order: at least the 4-octet
/// header ([`ParseError::TooShort`]); version 2 ([`ParseError::BadVersion`]); the checksum
/// ([`ParseError::BadChecksum`]; see the module documentation for Register); the type
/// ([`ParseError::UnknownType`]); then the fields of the type. Never panics.
pub fn parse(bytes: &[u8]) -> Result<Message, ParseError> {
    let &[vt, flags, _, _, ..] = bytes else {
        return Err(ParseError::TooShort);
    };
    let version = vt >> 4;
    if version != PIM_VERSION {
        return Err(ParseError::BadVersion(version));
    }
    let ty = vt & 0x0f;
    let good = checksum::verify(bytes)
        || (ty == REGISTER
            && bytes
                .get(..REGISTER_HEADER_LEN)
                .is_some_and(checksum::verify));
    if !good {
        return Err(ParseError::BadChecksum);
    }
    let mut r = Reader::new(bytes.get(HEADER_LEN..).unwrap_or(&[]));
    match ty {
        HELLO => parse_hello(&mut r).map(Message::Hello),
        REGISTER => parse_register(&mut r).map(Message::Register),
        REGISTER_STOP => Ok(Message::RegisterStop(RegisterStop {
            group: r.group("register-stop group address")?,
            source: r.unicast("register-stop source address")?,
        })),
        JOIN_PRUNE => parse_join_prune(&mut r).map(Message::JoinPrune),
        BOOTSTRAP => parse_bootstrap(&mut r, flags).map(Message::Bootstrap),
        ASSERT => {
            let group = r.group("assert group address")?;
            let source = r.unicast("assert source address")?;
            let pref = r.u32("assert metric preference")?;
            let metric = r.u32("assert metric")?;
            Ok(Message::Assert(Assert {
                group,
                source,
                rpt: pref & ASSERT_FLAG_RPT != 0,
                metric_preference: pref & !ASSERT_FLAG_RPT,
                metric,
            }))
        }
        CANDIDATE_RP_ADV => parse_crp_adv(&mut r).map(Message::CandidateRpAdv),
        t => Err(ParseError::UnknownType(t)),
    }
}

fn parse_hello(r: &mut Reader<'_>) -> Result<Hello, ParseError> {
    let mut options = Vec::new();
    while !r.is_empty() {
        let kind = r.u16("hello option type")?;
        let len = r.u16("hello option length")?;
        let value = r.take(usize::from(len), "hello option value")?;
        options.push(parse_option(kind, value)?);
    }
    Ok(Hello { options })
}

fn parse_option(kind: u16, v: &[u8]) -> Result<HelloOption, ParseError> {
    let bad = ParseError::BadOption { kind };
    Ok(match kind {
        OPT_HOLDTIME => {
            let &[a, b] = v else { return Err(bad) };
            HelloOption::Holdtime(u16::from_be_bytes([a, b]))
        }
        OPT_LAN_PRUNE_DELAY => {
            let &[a, b, c, d] = v else { return Err(bad) };
            let delay = u16::from_be_bytes([a, b]);
            HelloOption::LanPruneDelay {
                t_bit: delay & LAN_PRUNE_DELAY_T != 0,
                propagation_delay_ms: delay & !LAN_PRUNE_DELAY_T,
                override_interval_ms: u16::from_be_bytes([c, d]),
            }
        }
        OPT_DR_PRIORITY => {
            let &[a, b, c, d] = v else { return Err(bad) };
            HelloOption::DrPriority(u32::from_be_bytes([a, b, c, d]))
        }
        OPT_GENERATION_ID => {
            let &[a, b, c, d] = v else { return Err(bad) };
            HelloOption::GenerationId(u32::from_be_bytes([a, b, c, d]))
        }
        OPT_ADDRESS_LIST => {
            let mut list = Vec::new();
            let mut rest = v;
            while let &[af, enc, ..] = rest {
                if enc != ENCODING_NATIVE {
                    return Err(bad);
                }
                let len = match af {
                    ADDRESS_FAMILY_IPV4 => ENCODED_UNICAST_LEN,
                    ADDRESS_FAMILY_IPV6 => ENCODED_UNICAST_V6_LEN,
                    _ => return Err(bad),
                };
                let Some((entry, tail)) = rest.split_at_checked(len) else {
                    return Err(bad);
                };
                if let &[ADDRESS_FAMILY_IPV4, _, a, b, c, d] = entry {
                    list.push(Ipv4Addr::new(a, b, c, d));
                }
                rest = tail;
            }
            if !rest.is_empty() {
                return Err(bad);
            }
            HelloOption::AddressList(list)
        }
        _ => HelloOption::Unknown {
            kind,
            value: v.to_vec(),
        },
    })
}

fn parse_register(r: &mut Reader<'_>) -> Result<Register, ParseError> {
    let flags = r.u32("register flags")?;
    let null = flags & REGISTER_FLAG_NULL != 0;
    let packet = r.rest();
    check_inner_packet(packet, null)?;
    Ok(Register {
        border: flags & REGISTER_FLAG_BORDER != 0,
        null,
        packet: packet.to_vec(),
    })
}

/// The packet in a Register must be IPv4 (same family as the Register itself, 4.9.3).
fn check_inner_packet(p: &[u8], null: bool) -> Result<(), ParseError> {
    let Some(h) = p.get(..IPV4_HEADER_LEN) else {
        return Err(ParseError::Truncated {
            what: "register inner IPv4 header",
        });
    };
    if h[0] >> 4 != 4 {
        return Err(ParseError::BadInnerPacket { what: "IP version" });
    }
    let ihl = usize::from(h[0] & 0x0f) * 4;
    if ihl < IPV4_HEADER_LEN || ihl > p.len() {
        return Err(ParseError::BadInnerPacket {
            what: "IPv4 header length",
        });
    }
    if !null && usize::from(u16::from_be_bytes([h[2], h[3]])) != p.len() {
        return Err(ParseError::BadLength {
            what: "register inner packet (IPv4 total length)",
            len: p.len(),
        });
    }
    Ok(())
}

fn parse_join_prune(r: &mut Reader<'_>) -> Result<JoinPrune, ParseError> {
    let upstream_neighbor = r.unicast("upstream neighbor address")?;
    let [_reserved, num_groups] = r.array("join/prune number of groups")?;
    let holdtime = r.u16("join/prune holdtime")?;
    let mut groups = Vec::with_capacity(usize::from(num_groups).min(r.remaining() / 12));
    for _ in 0..num_groups {
        let group = r.group("join/prune group address")?;
        let num_joins = r.u16("number of joined sources")?;
        let num_prunes = r.u16("number of pruned sources")?;
        let joins = r.sources(num_joins, "joined source address")?;
        let prunes = r.sources(num_prunes, "pruned source address")?;
        groups.push(JoinPruneGroup {
            group,
            joins,
            prunes,
        });
    }
    Ok(JoinPrune {
        upstream_neighbor,
        holdtime,
        groups,
    })
}

fn parse_bootstrap(r: &mut Reader<'_>, flags: u8) -> Result<Bootstrap, ParseError> {
    let fragment_tag = r.u16("bootstrap fragment tag")?;
    let [hash_mask_len, bsr_priority] = r.array("bootstrap hash mask length and priority")?;
    let bsr_address = r.unicast("bootstrap BSR address")?;
    let mut groups = Vec::new();
    while !r.is_empty() {
        let group = r.group("bootstrap group address")?;
        let [rp_count, frag_rp_count] = r.array("bootstrap RP counts")?;
        let _reserved = r.u16("bootstrap group reserved")?;
        let n = usize::from(frag_rp_count);
        if n * (ENCODED_UNICAST_LEN + 4) > r.remaining() {
            return Err(ParseError::Truncated {
                what: "bootstrap RP entries",
            });
        }
        let mut rps = Vec::with_capacity(n);
        for _ in 0..n {
            let address = r.unicast("bootstrap RP address")?;
            let holdtime = r.u16("bootstrap RP holdtime")?;
            let [priority, _reserved] = r.array("bootstrap RP priority")?;
            rps.push(BootstrapRp {
                address,
                holdtime,
                priority,
            });
        }
        groups.push(BootstrapGroup {
            group,
            rp_count,
            rps,
        });
    }
    Ok(Bootstrap {
        fragment_tag,
        hash_mask_len,
        bsr_priority,
        bsr_address,
        no_forward: flags & BOOTSTRAP_NO_FORWARD != 0,
        groups,
    })
}

fn parse_crp_adv(r: &mut Reader<'_>) -> Result<CandidateRpAdv, ParseError> {
    let [prefix_count, priority] = r.array("C-RP-Adv prefix count and priority")?;
    let holdtime = r.u16("C-RP-Adv holdtime")?;
    let rp = r.unicast("C-RP-Adv RP address")?;
    let n = usize::from(prefix_count);
    if n * ENCODED_GROUP_LEN > r.remaining() {
        return Err(ParseError::Truncated {
            what: "C-RP-Adv group address",
        });
    }
    let groups = (0..n)
        .map(|_| r.group("C-RP-Adv group address"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CandidateRpAdv {
        priority,
        holdtime,
        rp,
        groups,
    })
}

// ---------------------------------------------------------------------------------------------
// Emitting

fn put_unicast(w: &mut Vec<u8>, a: Ipv4Addr) {
    w.extend_from_slice(&[ADDRESS_FAMILY_IPV4, ENCODING_NATIVE]);
    w.extend_from_slice(&a.octets());
}

fn put_group(w: &mut Vec<u8>, g: &EncodedGroup) {
    w.extend_from_slice(&[ADDRESS_FAMILY_IPV4, ENCODING_NATIVE, g.flags(), g.mask_len]);
    w.extend_from_slice(&g.group.octets());
}

fn put_source(w: &mut Vec<u8>, s: &EncodedSource) {
    w.extend_from_slice(&[ADDRESS_FAMILY_IPV4, ENCODING_NATIVE, s.flags(), s.mask_len]);
    w.extend_from_slice(&s.source.octets());
}

fn put_option(w: &mut Vec<u8>, o: &HelloOption) {
    w.extend_from_slice(&o.kind().to_be_bytes());
    // value_len() is at most MAX_OPTION_LEN.
    w.extend_from_slice(&(o.value_len() as u16).to_be_bytes());
    match o {
        HelloOption::Holdtime(h) => w.extend_from_slice(&h.to_be_bytes()),
        HelloOption::LanPruneDelay {
            t_bit,
            propagation_delay_ms,
            override_interval_ms,
        } => {
            let t = if *t_bit { LAN_PRUNE_DELAY_T } else { 0 };
            w.extend_from_slice(&(t | (propagation_delay_ms & !LAN_PRUNE_DELAY_T)).to_be_bytes());
            w.extend_from_slice(&override_interval_ms.to_be_bytes());
        }
        HelloOption::DrPriority(v) | HelloOption::GenerationId(v) => {
            w.extend_from_slice(&v.to_be_bytes())
        }
        HelloOption::AddressList(list) => {
            for a in list.iter().take(MAX_OPTION_LEN / ENCODED_UNICAST_LEN) {
                put_unicast(w, *a);
            }
        }
        HelloOption::Unknown { value, .. } => {
            w.extend_from_slice(&value[..value.len().min(MAX_OPTION_LEN)])
        }
    }
}

/// Encode `msg`, checksum included (a Register's over its first 8 octets, any other's over
/// the whole message).
///
/// `parse(&emit(&m)) == Ok(m)` holds for every *valid* `m`, which means: mask lengths at most
/// 32; a LAN Prune Delay propagation delay below 0x8000 and an Assert metric preference
/// below 0x8000_0000 (their top bit is a flag on the wire; emit masks it off); no
/// [`HelloOption::Unknown`] whose kind is one of the five known options; a Register
/// packet that passes the checks described in the module documentation; and counts within
/// the encoding limits (255 group sets of 65535 + 65535 sources in a Join/Prune, 255 RPs per
/// Bootstrap group range, 255 C-RP-Adv groups, 65535 octets per Hello option): beyond them
/// emit writes only the first entries that fit the count.
pub fn emit(msg: &Message) -> Vec<u8> {
    let mut w = Vec::with_capacity(msg.wire_len());
    let flags = match msg {
        Message::Bootstrap(b) if b.no_forward => BOOTSTRAP_NO_FORWARD,
        _ => 0,
    };
    w.extend_from_slice(&[(PIM_VERSION << 4) | msg.message_type(), flags, 0, 0]);
    match msg {
        Message::Hello(h) => {
            for o in &h.options {
                put_option(&mut w, o);
            }
        }
        Message::Register(r) => {
            let flags = (if r.border { REGISTER_FLAG_BORDER } else { 0 })
                | (if r.null { REGISTER_FLAG_NULL } else { 0 });
            w.extend_from_slice(&flags.to_be_bytes());
            w.extend_from_slice(&r.packet);
        }
        Message::RegisterStop(rs) => {
            put_group(&mut w, &rs.group);
            put_unicast(&mut w, rs.source);
        }
        Message::JoinPrune(jp) => {
            let groups = &jp.groups[..jp.groups.len().min(MAX_JOIN_PRUNE_GROUPS)];
            put_unicast(&mut w, jp.upstream_neighbor);
            w.extend_from_slice(&[0, groups.len() as u8]);
            w.extend_from_slice(&jp.holdtime.to_be_bytes());
            for g in groups {
                let joins = &g.joins[..g.joins.len().min(MAX_JOIN_PRUNE_SOURCES)];
                let prunes = &g.prunes[..g.prunes.len().min(MAX_JOIN_PRUNE_SOURCES)];
                put_group(&mut w, &g.group);
                w.extend_from_slice(&(joins.len() as u16).to_be_bytes());
                w.extend_from_slice(&(prunes.len() as u16).to_be_bytes());
                for s in joins.iter().chain(prunes) {
                    put_source(&mut w, s);
                }
            }
        }
        Message::Bootstrap(b) => {
            w.extend_from_slice(&b.fragment_tag.to_be_bytes());
            w.extend_from_slice(&[b.hash_mask_len, b.bsr_priority]);
            put_unicast(&mut w, b.bsr_address);
            for g in &b.groups {
                let rps = &g.rps[..g.rps.len().min(MAX_BOOTSTRAP_RPS)];
                put_group(&mut w, &g.group);
                w.extend_from_slice(&[g.rp_count, rps.len() as u8, 0, 0]);
                for rp in rps {
                    put_unicast(&mut w, rp.address);
                    w.extend_from_slice(&rp.holdtime.to_be_bytes());
                    w.extend_from_slice(&[rp.priority, 0]);
                }
            }
        }
        Message::Assert(a) => {
            put_group(&mut w, &a.group);
            put_unicast(&mut w, a.source);
            let rpt = if a.rpt { ASSERT_FLAG_RPT } else { 0 };
            w.extend_from_slice(&(rpt | (a.metric_preference & !ASSERT_FLAG_RPT)).to_be_bytes());
            w.extend_from_slice(&a.metric.to_be_bytes());
        }
        Message::CandidateRpAdv(c) => {
            let groups = &c.groups[..c.groups.len().min(MAX_CRP_GROUPS)];
            w.extend_from_slice(&[groups.len() as u8, c.priority]);
            w.extend_from_slice(&c.holdtime.to_be_bytes());
            put_unicast(&mut w, c.rp);
            for g in groups {
                put_group(&mut w, g);
            }
        }
    }
    let covered = match msg {
        Message::Register(_) => &w[..REGISTER_HEADER_LEN],
        _ => &w[..],
    };
    let c = checksum::checksum(covered);
    w[2..4].copy_from_slice(&c.to_be_bytes());
    w
}

// ---------------------------------------------------------------------------------------------
// Join/Prune splitting

/// Pack join/prune state for one upstream neighbor into as few Join/Prune messages as
/// possible, each of at most `max_len` octets as [`emit`] writes it (pass the link MTU less
/// the 20-octet IPv4 header). Nothing is dropped and nothing duplicated: every joined and
/// every pruned source of `groups` appears in exactly one message, in the group set of its
/// group.
///
/// The messages are filled in order: group sets are appended to the current message while
/// they fit (and while it has fewer than 255); a group set that does not fit is split, its
/// first sources (joins before prunes) filling the current message and the rest continuing
/// in a group set for the same group in the next message. So a group set is split only
/// where a message is full, and every message but the last has no room for one more source
/// (fewer than 20 octets left) or has 255 group sets, except before a (*,G) Join as follows.
///
/// RFC 7761 4.9.5.2: a (*,G) Join and the (S,G,rpt) Prunes of its group set must not be split
/// across messages (a receiver treats (S,G,rpt) state not repeated in the message carrying
/// the (*,G) Join as gone). So when a group set's joins contain a wildcard (W bit) entry,
/// that entry and the group's (S,G,rpt) prunes go into one message: the current one if they
/// fit, else a new one (the current one is first filled with the group's other sources).
/// If even a message of their own cannot hold them, that message holds the (*,G) Join with
/// the numerically smallest (S,G,rpt) Prunes that fit, as 4.9.5.2 requires; unlike 4.9.5.2,
/// which drops the rest, the remaining prunes follow in the next messages (a receiver then
/// forwards those sources briefly after each periodic message rather than all the time).
///
/// Within a list, entries keep their order, except the (S,G,rpt) prunes in that overflow
/// case, which are sorted. A group set with no sources is kept as one. A `max_len` below
/// [`MIN_JOIN_PRUNE_SPLIT_LEN`] (34, a message with one source) is treated as that.
pub fn split_join_prune(
    upstream: Ipv4Addr,
    holdtime: u16,
    groups: &[JoinPruneGroup],
    max_len: usize,
) -> Vec<JoinPrune> {
    let mut p = Packer {
        upstream,
        holdtime,
        max_len: max_len.max(MIN_JOIN_PRUNE_SPLIT_LEN),
        out: Vec::new(),
        cur: Vec::new(),
        len: JOIN_PRUNE_HEADER_LEN,
        open: false,
    };
    for g in groups {
        p.add(g);
    }
    p.flush();
    p.out
}

/// One entry waiting to be placed: a join or a prune.
#[derive(Clone, Copy)]
enum Entry {
    Join(EncodedSource),
    Prune(EncodedSource),
}

/// State of [`split_join_prune`].
struct Packer {
    upstream: Ipv4Addr,
    holdtime: u16,
    max_len: usize,
    out: Vec<JoinPrune>,
    /// Group sets of the message being filled.
    cur: Vec<JoinPruneGroup>,
    /// Its wire length.
    len: usize,
    /// The last group set of `cur` belongs to the group being placed and takes more sources.
    open: bool,
}

impl Packer {
    fn room(&self) -> usize {
        self.max_len.saturating_sub(self.len)
    }

    /// Can the current message take a new group set with `n` sources?
    fn fits_new_set(&self, n: usize) -> bool {
        self.cur.len() < MAX_JOIN_PRUNE_GROUPS
            && self.room() >= JOIN_PRUNE_GROUP_LEN + n * ENCODED_SOURCE_LEN
    }

    fn flush(&mut self) {
        self.open = false;
        if self.cur.is_empty() {
            return;
        }
        self.out.push(JoinPrune {
            upstream_neighbor: self.upstream,
            holdtime: self.holdtime,
            groups: std::mem::take(&mut self.cur),
        });
        self.len = JOIN_PRUNE_HEADER_LEN;
    }

    fn open_set(&mut self, group: EncodedGroup) {
        self.cur.push(JoinPruneGroup::new(group));
        self.len += JOIN_PRUNE_GROUP_LEN;
        self.open = true;
    }

    /// Put one entry into the open group set if it fits there.
    fn try_put(&mut self, e: Entry) -> bool {
        if !self.open || self.room() < ENCODED_SOURCE_LEN {
            return false;
        }
        let Some(set) = self.cur.last_mut() else {
            return false;
        };
        let list = match e {
            Entry::Join(_) => &mut set.joins,
            Entry::Prune(_) => &mut set.prunes,
        };
        if list.len() >= MAX_JOIN_PRUNE_SOURCES {
            return false;
        }
        list.push(match e {
            Entry::Join(s) | Entry::Prune(s) => s,
        });
        self.len += ENCODED_SOURCE_LEN;
        true
    }

    /// Place entries in order, in the open group set while it has room, then in group sets
    /// for `group` in following messages.
    fn place(&mut self, group: EncodedGroup, entries: impl IntoIterator<Item = Entry>) {
        for e in entries {
            if self.try_put(e) {
                continue;
            }
            if !self.fits_new_set(1) {
                self.flush();
            }
            self.open_set(group);
            let placed = self.try_put(e);
            debug_assert!(placed, "max_len holds at least one source");
        }
    }

    fn add(&mut self, g: &JoinPruneGroup) {
        self.open = false;
        let has_star_g = g.joins.iter().any(|s| s.wildcard);
        let (bundle_joins, rest_joins): (Vec<&EncodedSource>, Vec<&EncodedSource>) =
            g.joins.iter().partition(|s| has_star_g && s.wildcard);
        let (mut bundle_prunes, rest_prunes): (Vec<&EncodedSource>, Vec<&EncodedSource>) = g
            .prunes
            .iter()
            .partition(|s| has_star_g && s.rpt && !s.wildcard);
        let rest = || {
            rest_joins
                .iter()
                .map(|s| Entry::Join(**s))
                .chain(rest_prunes.iter().map(|s| Entry::Prune(**s)))
        };
        if !has_star_g {
            if g.joins.is_empty() && g.prunes.is_empty() {
                if !self.fits_new_set(0) {
                    self.flush();
                }
                self.open_set(g.group);
            }
            self.place(g.group, rest());
            return;
        }

        let n = bundle_joins.len() + bundle_prunes.len();
        let fits_alone = bundle_joins.len() <= MAX_JOIN_PRUNE_SOURCES
            && bundle_prunes.len() <= MAX_JOIN_PRUNE_SOURCES
            && JOIN_PRUNE_HEADER_LEN + JOIN_PRUNE_GROUP_LEN + n * ENCODED_SOURCE_LEN
                <= self.max_len;
        let mut rest_left: Vec<Entry> = rest().collect();
        if !(fits_alone && self.fits_new_set(n)) {
            // Fill the current message with the group's other sources first, then start the
            // message for the (*,G) Join.
            if !rest_left.is_empty() && self.fits_new_set(1) {
                self.open_set(g.group);
                let k = rest_left.iter().take_while(|e| self.try_put(**e)).count();
                rest_left.drain(..k);
            }
            self.flush();
            if !fits_alone {
                bundle_prunes.sort_by_key(|s| u32::from(s.source));
            }
        }
        self.open_set(g.group);
        let bundle = bundle_joins
            .iter()
            .map(|s| Entry::Join(**s))
            .chain(bundle_prunes.iter().map(|s| Entry::Prune(**s)));
        // What does not fit the (*,G) Join's message (only if it cannot hold them all)
        // continues like the other sources.
        let mut overflow = Vec::new();
        for e in bundle {
            if !overflow.is_empty() || !self.try_put(e) {
                overflow.push(e);
            }
        }
        overflow.extend(rest_left);
        self.place(g.group, overflow);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use testsupport::{Rng, fix_checksum};

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    // -----------------------------------------------------------------------------------------
    // Real captures: FRR 8.4.4 pimd (Debian 12 package) on a veth pair between two network
    // namespaces, r1 10.9.0.1 and r2 10.9.0.2 (the RP for 224.0.0.0/4), captured with tshark
    // on r1's interface. PIM payloads, IP header removed.

    /// r1's Hello (IP TTL 1, to 224.0.0.13).
    const FRR_HELLO: &[u8] = &[
        0x20, 0x00, 0x66, 0xb1, // v2, type 0 Hello; reserved; checksum
        0x00, 0x01, 0x00, 0x02, 0x00, 0x69, // Holdtime (1), len 2: 105 s
        0x00, 0x02, 0x00, 0x04, 0x01, 0xf4, 0x09, 0xc4, // LAN Prune Delay (2), len 4: T 0,
        //                                                 500 ms, override 2500 ms
        0x00, 0x13, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, // DR Priority (19), len 4: 1
        0x00, 0x14, 0x00, 0x04, 0x58, 0x43, 0x98, 0x97, // Generation ID (20), len 4
        0x00, 0x18, 0x00, 0x12, // Address List (24), len 18: one entry,
        0x02, 0x00, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, // family 2 (IPv6!), native,
        0x00, 0x00, 0x34, 0xbc, 0xd0, 0xff, 0xfe, 0x34, // fe80::34bc:d0ff:fe34:777d
        0x77, 0x7d, //                                     (r1's link-local address)
    ];

    /// r1's triggered Join (*,239.1.1.1) after `ip igmp join 239.1.1.1` on another interface.
    const FRR_JOIN_STAR_G: &[u8] = &[
        0x23, 0x00, 0xcd, 0xd2, // v2, type 3 Join/Prune; reserved; checksum
        0x01, 0x00, 0x0a, 0x09, 0x00, 0x02, // upstream neighbor: IPv4, native, 10.9.0.2
        0x00, 0x01, 0x00, 0xd2, // reserved; 1 group; holdtime 210 s
        0x01, 0x00, 0x00, 0x20, 0xef, 0x01, 0x01, 0x01, // group: IPv4, native, no flags,
        //                                                 /32, 239.1.1.1
        0x00, 0x01, 0x00, 0x00, // 1 joined, 0 pruned source
        0x01, 0x00, 0x07, 0x20, 0x0a, 0x09, 0x00, 0x02, // joined: S W R, /32, RP 10.9.0.2
    ];

    /// r1's triggered SSM Join (10.8.0.5, 232.1.1.1).
    const FRR_JOIN_SG: &[u8] = &[
        0x23, 0x00, 0xd7, 0xd0, // Join/Prune, checksum
        0x01, 0x00, 0x0a, 0x09, 0x00, 0x02, // upstream neighbor 10.9.0.2
        0x00, 0x01, 0x00, 0xd2, // 1 group, holdtime 210
        0x01, 0x00, 0x00, 0x20, 0xe8, 0x01, 0x01, 0x01, // group 232.1.1.1/32
        0x00, 0x01, 0x00, 0x00, // 1 joined, 0 pruned
        0x01, 0x00, 0x04, 0x20, 0x0a, 0x08, 0x00, 0x05, // joined: S, /32, 10.8.0.5
    ];

    /// r1's periodic Join/Prune: the three groups in one message.
    const FRR_JOIN_PERIODIC: &[u8] = &[
        0x23, 0x00, 0xd1, 0x2f, // Join/Prune, checksum
        0x01, 0x00, 0x0a, 0x09, 0x00, 0x02, // upstream neighbor 10.9.0.2
        0x00, 0x03, 0x00, 0xd2, // 3 groups, holdtime 210
        0x01, 0x00, 0x00, 0x20, 0xe8, 0x01, 0x01, 0x01, // group 232.1.1.1/32
        0x00, 0x01, 0x00, 0x00, // 1 joined, 0 pruned
        0x01, 0x00, 0x04, 0x20, 0x0a, 0x08, 0x00, 0x05, // (10.8.0.5, G): S
        0x01, 0x00, 0x00, 0x20, 0xef, 0x01, 0x01, 0x01, // group 239.1.1.1/32
        0x00, 0x01, 0x00, 0x00, // 1 joined, 0 pruned
        0x01, 0x00, 0x07, 0x20, 0x0a, 0x09, 0x00, 0x02, // (*,G): S W R, RP 10.9.0.2
        0x01, 0x00, 0x00, 0x20, 0xef, 0x01, 0x01, 0x02, // group 239.1.1.2/32
        0x00, 0x01, 0x00, 0x00, // 1 joined, 0 pruned
        0x01, 0x00, 0x07, 0x20, 0x0a, 0x09, 0x00, 0x02, // (*,G): S W R, RP 10.9.0.2
    ];

    /// r1's triggered Prune (*,239.1.1.2) after `no ip igmp join 239.1.1.2`.
    const FRR_PRUNE_STAR_G: &[u8] = &[
        0x23, 0x00, 0xcd, 0xd1, // Join/Prune, checksum
        0x01, 0x00, 0x0a, 0x09, 0x00, 0x02, // upstream neighbor 10.9.0.2
        0x00, 0x01, 0x00, 0xd2, // 1 group, holdtime 210
        0x01, 0x00, 0x00, 0x20, 0xef, 0x01, 0x01, 0x02, // group 239.1.1.2/32
        0x00, 0x00, 0x00, 0x01, // 0 joined, 1 pruned
        0x01, 0x00, 0x07, 0x20, 0x0a, 0x09, 0x00, 0x02, // pruned (*,G): S W R, RP 10.9.0.2
    ];

    /// r1 (DR of 10.7.0.0/24) registers a UDP packet 10.7.0.2 -> 239.1.1.9 to the RP
    /// (unicast 10.7.0.1 -> 10.9.0.2, TTL 64).
    const FRR_REGISTER: &[u8] = &[
        0x21, 0x00, 0xde, 0xff, // v2, type 1 Register; checksum over these 8 octets only
        0x00, 0x00, 0x00, 0x00, // B 0, N 0, reserved
        0x45, 0x00, 0x00, 0x27, 0x1a, 0x30, 0x40, 0x00, // inner IPv4: total length 39, DF,
        0x08, 0x11, 0x5e, 0x83, 0x0a, 0x07, 0x00, 0x02, // TTL 8, UDP, 10.7.0.2 ->
        0xef, 0x01, 0x01, 0x09, //                         239.1.1.9
        0x13, 0x88, 0x17, 0x70, 0x00, 0x13, 0xfa, 0x37, // UDP 5000 -> 6000, length 19
        b'h', b'e', b'l', b'l', b'o', b' ', b'p', b'i', b'm', b' ', b'0', // payload
    ];

    /// The RP's answer (no receivers): Register-Stop, unicast 10.9.0.2 -> 10.7.0.1.
    const FRR_REGISTER_STOP: &[u8] = &[
        0x22, 0x00, 0xe1, 0xcb, // v2, type 2 Register-Stop; checksum
        0x01, 0x00, 0x00, 0x20, 0xef, 0x01, 0x01, 0x09, // group 239.1.1.9/32
        0x01, 0x00, 0x0a, 0x07, 0x00, 0x02, // source: IPv4, native, 10.7.0.2
    ];

    /// r1's Null-Register (Register-Stop timer probe), about 60 s later.
    const FRR_NULL_REGISTER: &[u8] = &[
        0x21, 0x00, 0x9e, 0xff, // Register; checksum over 8 octets
        0x40, 0x00, 0x00, 0x00, // B 0, N 1
        0x45, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, // dummy IPv4 header: length 20,
        0x00, 0x67, 0x00, 0x00, 0x0a, 0x07, 0x00, 0x02, // TTL 0, PIM, checksum 0 (FRR),
        0xef, 0x01, 0x01, 0x09, //                         10.7.0.2 -> 239.1.1.9
    ];

    // -----------------------------------------------------------------------------------------
    // Hand-written vectors (checked by tshark in tests/codec_tshark.rs, which emits the same
    // messages).

    /// A Hello with every option kind.
    const V_HELLO: &[u8] = &[
        0x20, 0x00, 0x1b, 0xd4, // Hello, checksum
        0x00, 0x01, 0x00, 0x02, 0x00, 0x69, // Holdtime 105
        0x00, 0x02, 0x00, 0x04, 0x81, 0xf4, 0x09, 0xc4, // LAN Prune Delay: T 1, 500, 2500
        0x00, 0x13, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, // DR Priority 1
        0x00, 0x14, 0x00, 0x04, 0x12, 0x34, 0x56, 0x78, // Generation ID 0x12345678
        0x00, 0x18, 0x00, 0x0c, // Address List, 2 entries
        0x01, 0x00, 0x0a, 0x00, 0x00, 0x02, // 10.0.0.2
        0x01, 0x00, 0xc0, 0xa8, 0x01, 0x01, // 192.168.1.1
        0x00, 0x15, 0x00, 0x04, 0x01, 0x3c, 0x00,
        0x00, // option 21 (State Refresh
              //                                                 Capable, PIM-DM): kept verbatim
    ];

    /// A (*,G) Join with an (S,G,rpt) Prune in the same group set.
    const V_JOIN_PRUNE: &[u8] = &[
        0x23, 0x00, 0xbc, 0x60, // Join/Prune, checksum
        0x01, 0x00, 0x0a, 0x00, 0x00, 0x01, // upstream neighbor 10.0.0.1
        0x00, 0x01, 0x00, 0xd2, // 1 group, holdtime 210
        0x01, 0x00, 0x00, 0x20, 0xef, 0x01, 0x01, 0x01, // group 239.1.1.1/32
        0x00, 0x01, 0x00, 0x01, // 1 joined, 1 pruned
        0x01, 0x00, 0x07, 0x20, 0x0a, 0x00, 0x00, 0x64, // joined (*,G): S W R, RP 10.0.0.100
        0x01, 0x00, 0x05, 0x20, 0x0a, 0x01, 0x01, 0x01, // pruned (S,G,rpt): S R, 10.1.1.1
    ];

    /// Assert (S,G).
    const V_ASSERT_SG: &[u8] = &[
        0x25, 0x00, 0xdd, 0x58, // v2, type 5 Assert; checksum
        0x01, 0x00, 0x00, 0x20, 0xef, 0x01, 0x01, 0x01, // group 239.1.1.1/32
        0x01, 0x00, 0x0a, 0x01, 0x01, 0x01, // source 10.1.1.1
        0x00, 0x00, 0x00, 0x6e, // R 0, metric preference 110
        0x00, 0x00, 0x00, 0x14, // metric 20
    ];

    /// Assert (*,G): R bit, source 0.0.0.0.
    const V_ASSERT_STAR_G: &[u8] = &[
        0x25, 0x00, 0x68, 0x5a, // Assert, checksum
        0x01, 0x00, 0x00, 0x20, 0xef, 0x01, 0x01, 0x01, // group 239.1.1.1/32
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // source 0.0.0.0
        0x80, 0x00, 0x00, 0x6e, // R 1, metric preference 110
        0x00, 0x00, 0x00, 0x14, // metric 20
    ];

    /// Bootstrap with the No-Forward bit and two group ranges.
    const V_BOOTSTRAP: &[u8] = &[
        0x24, 0x80, 0xdd, 0x01, // v2, type 4 Bootstrap; N bit (0x80); checksum
        0x12, 0x34, 0x1e, 0x40, // fragment tag 0x1234, hash mask length 30, BSR priority 64
        0x01, 0x00, 0x0a, 0x00, 0x00, 0x09, // BSR address 10.0.0.9
        0x01, 0x00, 0x00, 0x04, 0xe0, 0x00, 0x00, 0x00, // group range 224.0.0.0/4
        0x02, 0x02, 0x00, 0x00, // RP count 2, frag RP count 2, reserved
        0x01, 0x00, 0x0a, 0x00, 0x00, 0x64, // RP 10.0.0.100
        0x00, 0x96, 0xc0, 0x00, // holdtime 150, priority 192, reserved
        0x01, 0x00, 0x0a, 0x00, 0x00, 0x65, // RP 10.0.0.101
        0x00, 0x96, 0x0a, 0x00, // holdtime 150, priority 10
        0x01, 0x00, 0x01, 0x08, 0xef, 0x00, 0x00, 0x00, // group range 239.0.0.0/8, Z bit
        0x01, 0x01, 0x00, 0x00, // RP count 1, frag RP count 1
        0x01, 0x00, 0x0a, 0x00, 0x00, 0x64, // RP 10.0.0.100
        0x00, 0x96, 0x00, 0x00, // holdtime 150, priority 0
    ];

    /// Candidate-RP-Advertisement for two group prefixes.
    const V_CRP_ADV: &[u8] = &[
        0x28, 0x00, 0xf6, 0x30, // v2, type 8 C-RP-Adv; checksum
        0x02, 0xc0, 0x00, 0x96, // prefix count 2, priority 192, holdtime 150
        0x01, 0x00, 0x0a, 0x00, 0x00, 0x64, // RP address 10.0.0.100
        0x01, 0x00, 0x00, 0x04, 0xe0, 0x00, 0x00, 0x00, // 224.0.0.0/4
        0x01, 0x00, 0x01, 0x10, 0xef, 0xff, 0x00, 0x00, // 239.255.0.0/16, Z bit
    ];

    fn star_g_join_prune(upstream: &str, group: &str, rp: &str, holdtime: u16) -> JoinPrune {
        JoinPrune {
            upstream_neighbor: a(upstream),
            holdtime,
            groups: vec![JoinPruneGroup {
                group: EncodedGroup::new(a(group)),
                joins: vec![EncodedSource::star_g(a(rp))],
                prunes: vec![],
            }],
        }
    }

    /// Every vector with the message it decodes to, and whether emit reproduces it exactly.
    fn vectors() -> Vec<(&'static str, &'static [u8], Message, bool)> {
        let periodic = JoinPrune {
            upstream_neighbor: a("10.9.0.2"),
            holdtime: 210,
            groups: vec![
                JoinPruneGroup {
                    group: EncodedGroup::new(a("232.1.1.1")),
                    joins: vec![EncodedSource::sg(a("10.8.0.5"))],
                    prunes: vec![],
                },
                JoinPruneGroup {
                    group: EncodedGroup::new(a("239.1.1.1")),
                    joins: vec![EncodedSource::star_g(a("10.9.0.2"))],
                    prunes: vec![],
                },
                JoinPruneGroup {
                    group: EncodedGroup::new(a("239.1.1.2")),
                    joins: vec![EncodedSource::star_g(a("10.9.0.2"))],
                    prunes: vec![],
                },
            ],
        };
        let mut prune = star_g_join_prune("10.9.0.2", "239.1.1.2", "10.9.0.2", 210);
        let set = &mut prune.groups[0];
        std::mem::swap(&mut set.joins, &mut set.prunes);
        vec![
            (
                "FRR hello",
                FRR_HELLO,
                // The IPv6 entry of the Address List is skipped: emit gives other octets.
                Message::Hello(Hello {
                    options: vec![
                        HelloOption::Holdtime(105),
                        HelloOption::LanPruneDelay {
                            t_bit: false,
                            propagation_delay_ms: 500,
                            override_interval_ms: 2500,
                        },
                        HelloOption::DrPriority(1),
                        HelloOption::GenerationId(0x5843_9897),
                        HelloOption::AddressList(vec![]),
                    ],
                }),
                false,
            ),
            (
                "FRR join (*,G)",
                FRR_JOIN_STAR_G,
                Message::JoinPrune(star_g_join_prune("10.9.0.2", "239.1.1.1", "10.9.0.2", 210)),
                true,
            ),
            (
                "FRR join (S,G)",
                FRR_JOIN_SG,
                Message::JoinPrune(JoinPrune {
                    upstream_neighbor: a("10.9.0.2"),
                    holdtime: 210,
                    groups: vec![JoinPruneGroup {
                        group: EncodedGroup::new(a("232.1.1.1")),
                        joins: vec![EncodedSource::sg(a("10.8.0.5"))],
                        prunes: vec![],
                    }],
                }),
                true,
            ),
            (
                "FRR periodic join",
                FRR_JOIN_PERIODIC,
                Message::JoinPrune(periodic),
                true,
            ),
            (
                "FRR prune (*,G)",
                FRR_PRUNE_STAR_G,
                Message::JoinPrune(prune),
                true,
            ),
            (
                "FRR register",
                FRR_REGISTER,
                Message::Register(Register {
                    border: false,
                    null: false,
                    packet: FRR_REGISTER[8..].to_vec(),
                }),
                true,
            ),
            (
                "FRR register-stop",
                FRR_REGISTER_STOP,
                Message::RegisterStop(RegisterStop {
                    group: EncodedGroup::new(a("239.1.1.9")),
                    source: a("10.7.0.2"),
                }),
                true,
            ),
            (
                "FRR null-register",
                FRR_NULL_REGISTER,
                Message::Register(Register {
                    border: false,
                    null: true,
                    packet: FRR_NULL_REGISTER[8..].to_vec(),
                }),
                true,
            ),
            ("hello", V_HELLO, hello_all_options(), true),
            (
                "join/prune",
                V_JOIN_PRUNE,
                Message::JoinPrune(JoinPrune {
                    upstream_neighbor: a("10.0.0.1"),
                    holdtime: 210,
                    groups: vec![JoinPruneGroup {
                        group: EncodedGroup::new(a("239.1.1.1")),
                        joins: vec![EncodedSource::star_g(a("10.0.0.100"))],
                        prunes: vec![EncodedSource::sg_rpt(a("10.1.1.1"))],
                    }],
                }),
                true,
            ),
            (
                "assert (S,G)",
                V_ASSERT_SG,
                Message::Assert(Assert {
                    group: EncodedGroup::new(a("239.1.1.1")),
                    source: a("10.1.1.1"),
                    rpt: false,
                    metric_preference: 110,
                    metric: 20,
                }),
                true,
            ),
            (
                "assert (*,G)",
                V_ASSERT_STAR_G,
                Message::Assert(Assert {
                    group: EncodedGroup::new(a("239.1.1.1")),
                    source: Ipv4Addr::UNSPECIFIED,
                    rpt: true,
                    metric_preference: 110,
                    metric: 20,
                }),
                true,
            ),
            ("bootstrap", V_BOOTSTRAP, bootstrap(), true),
            (
                "C-RP-Adv",
                V_CRP_ADV,
                Message::CandidateRpAdv(CandidateRpAdv {
                    priority: 192,
                    holdtime: 150,
                    rp: a("10.0.0.100"),
                    groups: vec![
                        EncodedGroup::range(a("224.0.0.0"), 4),
                        EncodedGroup {
                            zone: true,
                            ..EncodedGroup::range(a("239.255.0.0"), 16)
                        },
                    ],
                }),
                true,
            ),
        ]
    }

    fn hello_all_options() -> Message {
        Message::Hello(Hello {
            options: vec![
                HelloOption::Holdtime(105),
                HelloOption::LanPruneDelay {
                    t_bit: true,
                    propagation_delay_ms: 500,
                    override_interval_ms: 2500,
                },
                HelloOption::DrPriority(1),
                HelloOption::GenerationId(0x1234_5678),
                HelloOption::AddressList(vec![a("10.0.0.2"), a("192.168.1.1")]),
                HelloOption::Unknown {
                    kind: 21,
                    value: vec![1, 60, 0, 0],
                },
            ],
        })
    }

    fn bootstrap() -> Message {
        Message::Bootstrap(Bootstrap {
            fragment_tag: 0x1234,
            hash_mask_len: 30,
            bsr_priority: 64,
            bsr_address: a("10.0.0.9"),
            no_forward: true,
            groups: vec![
                BootstrapGroup {
                    group: EncodedGroup::range(a("224.0.0.0"), 4),
                    rp_count: 2,
                    rps: vec![
                        BootstrapRp {
                            address: a("10.0.0.100"),
                            holdtime: 150,
                            priority: 192,
                        },
                        BootstrapRp {
                            address: a("10.0.0.101"),
                            holdtime: 150,
                            priority: 10,
                        },
                    ],
                },
                BootstrapGroup {
                    group: EncodedGroup {
                        zone: true,
                        ..EncodedGroup::range(a("239.0.0.0"), 8)
                    },
                    rp_count: 1,
                    rps: vec![BootstrapRp {
                        address: a("10.0.0.100"),
                        holdtime: 150,
                        priority: 0,
                    }],
                },
            ],
        })
    }

    #[test]
    fn vectors_both_ways() {
        for (name, bytes, msg, exact) in vectors() {
            assert_eq!(parse(bytes), Ok(msg.clone()), "{name}");
            let out = emit(&msg);
            assert_eq!(out.len(), msg.wire_len(), "{name}");
            if exact {
                assert_eq!(out, bytes, "{name}");
            }
            assert_eq!(parse(&out), Ok(msg), "{name}");
        }
    }

    #[test]
    fn frr_hello_accessors() {
        let Ok(Message::Hello(h)) = parse(FRR_HELLO) else {
            panic!("FRR hello does not parse");
        };
        assert_eq!(h.holdtime(), Some(105));
        assert_eq!(h.dr_priority(), Some(1));
        assert_eq!(h.generation_id(), Some(0x5843_9897));
        assert_eq!(
            h.lan_prune_delay(),
            Some(LanPruneDelay {
                t_bit: false,
                propagation_delay_ms: 500,
                override_interval_ms: 2500,
            })
        );
        assert_eq!(h.addresses(), Some(&[][..]));
        let Message::Hello(all) = hello_all_options() else {
            unreachable!()
        };
        assert_eq!(
            all.addresses(),
            Some(&[a("10.0.0.2"), a("192.168.1.1")][..])
        );
        assert_eq!(all.lan_prune_delay().map(|l| l.t_bit), Some(true));
        let empty = Hello::default();
        assert_eq!(empty.holdtime(), None);
        assert_eq!(empty.dr_priority(), None);
        assert_eq!(empty.generation_id(), None);
        assert_eq!(empty.lan_prune_delay(), None);
        assert_eq!(empty.addresses(), None);
        // A repeated option: the first counts.
        let twice = Hello {
            options: vec![HelloOption::Holdtime(30), HelloOption::Holdtime(0)],
        };
        assert_eq!(twice.holdtime(), Some(30));
    }

    #[test]
    fn frr_register_checksum_covers_the_header_only() {
        // The data is not covered: the checksum over the whole message is wrong...
        assert!(!checksum::verify(FRR_REGISTER));
        assert!(checksum::verify(&FRR_REGISTER[..8]));
        // ...and a Register checksummed over the whole message is accepted too.
        let mut whole = FRR_REGISTER.to_vec();
        fix_checksum(&mut whole);
        assert!(!checksum::verify(&whole[..8]));
        assert_eq!(parse(&whole), parse(FRR_REGISTER));
        let Ok(Message::Register(r)) = parse(FRR_REGISTER) else {
            panic!()
        };
        assert_eq!(r.source_group(), Some((a("10.7.0.2"), a("239.1.1.9"))));
        // Our Null-Register is FRR's but for the inner header checksum.
        let ours = Register::null(a("10.7.0.2"), a("239.1.1.9"));
        let mut theirs = FRR_NULL_REGISTER[8..].to_vec();
        assert_eq!(ours.packet[..10], theirs[..10]);
        assert_eq!(ours.packet[12..], theirs[12..]);
        assert!(checksum::verify(&ours.packet));
        theirs[10..12].copy_from_slice(&ours.packet[10..12]);
        assert_eq!(ours.packet, theirs);
        assert_eq!(ours.source_group(), Some((a("10.7.0.2"), a("239.1.1.9"))));
        assert_eq!(
            parse(&emit(&Message::Register(ours.clone()))),
            Ok(ours.into())
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        for (name, bytes, _, _) in vectors() {
            for len in 0..bytes.len() {
                let r = parse(&bytes[..len]);
                assert!(r.is_err(), "{name} [..{len}] parsed: {r:?}");
                if len < HEADER_LEN {
                    assert_eq!(r, Err(ParseError::TooShort));
                }
            }
        }
    }

    #[test]
    fn every_bit_flip_is_detected() {
        for (name, bytes, msg, _) in vectors() {
            for i in 0..bytes.len() * 8 {
                let mut b = bytes.to_vec();
                b[i / 8] ^= 0x80 >> (i % 8);
                let r = parse(&b);
                if msg.message_type() == REGISTER && i / 8 >= REGISTER_HEADER_LEN {
                    // The checksum does not cover the data: a flip there gives another
                    // packet (or a bad inner header), never the same message.
                    assert_ne!(r, Ok(msg.clone()), "{name} bit {i}");
                } else {
                    assert!(r.is_err(), "{name} bit {i}: {r:?}");
                }
            }
        }
    }

    /// `bytes` with its checksum fixed, parsed.
    fn parse_fixed(bytes: &[u8]) -> Result<Message, ParseError> {
        let mut b = bytes.to_vec();
        fix_checksum(&mut b);
        parse(&b)
    }

    #[test]
    fn header_errors() {
        assert_eq!(parse(&[]), Err(ParseError::TooShort));
        assert_eq!(parse(&[0x20, 0, 0]), Err(ParseError::TooShort));
        // PIMv1 (version nibble 1) and other versions.
        for v in [0u8, 1, 3, 15] {
            let mut b = V_HELLO.to_vec();
            b[0] = (v << 4) | HELLO;
            fix_checksum(&mut b);
            assert_eq!(parse(&b), Err(ParseError::BadVersion(v)));
        }
        let mut b = V_HELLO.to_vec();
        b[3] ^= 1;
        assert_eq!(parse(&b), Err(ParseError::BadChecksum));
        // PIM-DM Graft and Graft-Ack, State Refresh (9), and the rest.
        for t in [6u8, 7, 9, 10, 11, 12, 13, 14, 15] {
            let b = [0x20 | t, 0, 0, 0, 1, 0, 10, 0, 0, 1];
            assert_eq!(parse_fixed(&b), Err(ParseError::UnknownType(t)), "type {t}");
        }
        // A bare header of every known type: truncated in its first field, except Hello
        // (no options).
        for t in [
            REGISTER,
            REGISTER_STOP,
            JOIN_PRUNE,
            BOOTSTRAP,
            ASSERT,
            CANDIDATE_RP_ADV,
        ] {
            let r = parse_fixed(&[0x20 | t, 0, 0, 0]);
            assert!(matches!(r, Err(ParseError::Truncated { .. })), "{t}: {r:?}");
        }
        assert_eq!(
            parse_fixed(&[0x20, 0, 0, 0]),
            Ok(Message::Hello(Hello::default()))
        );
        // Flag bits are ignored except Bootstrap's No-Forward bit.
        let mut b = V_ASSERT_SG.to_vec();
        b[1] = 0xff;
        assert_eq!(parse_fixed(&b), parse(V_ASSERT_SG));
        let mut b = V_BOOTSTRAP.to_vec();
        b[1] = 0x7f;
        let Ok(Message::Bootstrap(bsm)) = parse_fixed(&b) else {
            panic!()
        };
        assert!(!bsm.no_forward);
    }

    #[test]
    fn address_errors() {
        // Register-Stop with an IPv6 source (family 2).
        let mut b = FRR_REGISTER_STOP.to_vec();
        b[12] = ADDRESS_FAMILY_IPV6;
        assert_eq!(parse_fixed(&b), Err(ParseError::UnsupportedFamily(2)));
        // Group of family 0.
        let mut b = FRR_REGISTER_STOP.to_vec();
        b[4] = 0;
        assert_eq!(parse_fixed(&b), Err(ParseError::UnsupportedFamily(0)));
        // A joined source with encoding type 1 (RFC 5384 join attributes).
        let mut b = V_JOIN_PRUNE.to_vec();
        b[27] = 1;
        assert_eq!(parse_fixed(&b), Err(ParseError::UnsupportedEncoding(1)));
        // Upstream neighbor with encoding type 7.
        let mut b = V_JOIN_PRUNE.to_vec();
        b[5] = 7;
        assert_eq!(parse_fixed(&b), Err(ParseError::UnsupportedEncoding(7)));
        // Mask lengths: 0 and 32 are fine, 33 is not.
        let mut b = V_JOIN_PRUNE.to_vec();
        b[17] = 0;
        assert!(parse_fixed(&b).is_ok());
        b[17] = 33;
        assert_eq!(parse_fixed(&b), Err(ParseError::BadMaskLen(33)));
        let mut b = V_JOIN_PRUNE.to_vec();
        b[37] = 255;
        assert_eq!(parse_fixed(&b), Err(ParseError::BadMaskLen(255)));
        // Reserved flag bits of groups and sources are ignored.
        let mut b = V_JOIN_PRUNE.to_vec();
        b[16] |= 0x7e;
        b[28] |= 0xf8;
        assert_eq!(parse_fixed(&b), parse(V_JOIN_PRUNE));
    }

    #[test]
    fn join_prune_counts_beyond_the_message() {
        // Number of groups 2 with one group set present.
        let mut b = V_JOIN_PRUNE.to_vec();
        b[11] = 2;
        assert_eq!(
            parse_fixed(&b),
            Err(ParseError::Truncated {
                what: "join/prune group address"
            })
        );
        // 0xffff joined sources: rejected before anything is allocated for them.
        let mut b = V_JOIN_PRUNE.to_vec();
        b[22..24].copy_from_slice(&[0xff, 0xff]);
        assert_eq!(
            parse_fixed(&b),
            Err(ParseError::Truncated {
                what: "joined source address"
            })
        );
        let mut b = V_JOIN_PRUNE.to_vec();
        b[24..26].copy_from_slice(&[0x00, 0x02]);
        assert_eq!(
            parse_fixed(&b),
            Err(ParseError::Truncated {
                what: "pruned source address"
            })
        );
        // Octets after the last group set are ignored.
        let mut b = V_JOIN_PRUNE.to_vec();
        b.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(parse_fixed(&b), parse(V_JOIN_PRUNE));
        // C-RP-Adv with a prefix count beyond the message; Bootstrap with a frag RP count
        // beyond it.
        let mut b = V_CRP_ADV.to_vec();
        b[4] = 3;
        assert!(matches!(parse_fixed(&b), Err(ParseError::Truncated { .. })));
        let mut b = V_BOOTSTRAP.to_vec();
        b[23] = 5;
        assert!(matches!(parse_fixed(&b), Err(ParseError::Truncated { .. })));
    }

    #[test]
    fn hello_option_errors() {
        let hello = |opts: &[u8]| {
            let mut b = vec![0x20, 0, 0, 0];
            b.extend_from_slice(opts);
            parse_fixed(&b)
        };
        let bad = |kind| Err(ParseError::BadOption { kind });
        // Known options with wrong lengths.
        assert_eq!(hello(&[0, 1, 0, 1, 0]), bad(1));
        assert_eq!(hello(&[0, 1, 0, 4, 0, 0, 0, 0]), bad(1));
        assert_eq!(hello(&[0, 2, 0, 2, 0, 0]), bad(2));
        assert_eq!(hello(&[0, 19, 0, 2, 0, 0]), bad(19));
        assert_eq!(hello(&[0, 20, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0]), bad(20));
        // Address List: partial entry, unknown family, non-native encoding, IPv6 skipped.
        assert_eq!(hello(&[0, 24, 0, 5, 1, 0, 10, 0, 0]), bad(24));
        assert_eq!(hello(&[0, 24, 0, 6, 3, 0, 10, 0, 0, 1]), bad(24));
        assert_eq!(hello(&[0, 24, 0, 6, 1, 1, 10, 0, 0, 1]), bad(24));
        let mut v6 = vec![0, 24, 0, 24, 2, 0];
        v6.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        v6.extend_from_slice(&[1, 0, 10, 0, 0, 1]);
        assert_eq!(
            hello(&v6),
            Ok(Message::Hello(Hello {
                options: vec![HelloOption::AddressList(vec![a("10.0.0.1")])]
            }))
        );
        // A length beyond the message; a partial option header.
        assert_eq!(
            hello(&[0, 1, 0, 4, 0, 105]),
            Err(ParseError::Truncated {
                what: "hello option value"
            })
        );
        assert_eq!(
            hello(&[0, 1, 0, 2, 0, 105, 0, 19, 0]),
            Err(ParseError::Truncated {
                what: "hello option length"
            })
        );
        // Unknown options of any length, including 0 and an odd one, are kept.
        assert_eq!(
            hello(&[0xff, 0xff, 0, 0, 0, 18, 0, 3, 1, 2, 3]),
            Ok(Message::Hello(Hello {
                options: vec![
                    HelloOption::Unknown {
                        kind: 0xffff,
                        value: vec![],
                    },
                    HelloOption::Unknown {
                        kind: 18,
                        value: vec![1, 2, 3],
                    },
                ]
            }))
        );
    }

    #[test]
    fn register_inner_packet_errors() {
        let reg = |flags: u8, inner: &[u8]| {
            let mut b = vec![0x21, 0, 0, 0, flags, 0, 0, 0];
            b.extend_from_slice(inner);
            let c = checksum::checksum(&b[..8]);
            b[2..4].copy_from_slice(&c.to_be_bytes());
            parse(&b)
        };
        let data = &FRR_REGISTER[8..];
        assert!(reg(0, data).is_ok());
        assert!(reg(0xc0, data).is_ok()); // B and N: a Null-Register may carry more
        assert_eq!(
            reg(0, &[]),
            Err(ParseError::Truncated {
                what: "register inner IPv4 header"
            })
        );
        // IPv6 inside.
        let mut v6 = data.to_vec();
        v6[0] = 0x60;
        assert_eq!(
            reg(0, &v6),
            Err(ParseError::BadInnerPacket { what: "IP version" })
        );
        // Header length 16 and 64 (beyond the packet).
        for ihl in [4u8, 15] {
            let mut p = data.to_vec();
            p[0] = 0x40 | ihl;
            assert_eq!(
                reg(0, &p),
                Err(ParseError::BadInnerPacket {
                    what: "IPv4 header length"
                })
            );
        }
        // Total length other than the octets present: an error for data, not for Null.
        let mut p = data.to_vec();
        p.push(0);
        assert_eq!(
            reg(0, &p),
            Err(ParseError::BadLength {
                what: "register inner packet (IPv4 total length)",
                len: 40
            })
        );
        assert!(reg(0x40, &p).is_ok());
        // Flags.
        let Ok(Message::Register(r)) = reg(0x80, data) else {
            panic!()
        };
        assert!(r.border && !r.null);
    }

    #[test]
    fn error_kinds_and_display() {
        let all = [
            ParseError::TooShort,
            ParseError::BadVersion(1),
            ParseError::BadChecksum,
            ParseError::UnknownType(6),
            ParseError::UnsupportedFamily(2),
            ParseError::UnsupportedEncoding(1),
            ParseError::BadMaskLen(33),
            ParseError::Truncated { what: "x" },
            ParseError::BadLength { what: "x", len: 3 },
            ParseError::BadOption { kind: 1 },
            ParseError::BadInnerPacket { what: "IP version" },
        ];
        let kinds: Vec<_> = all.iter().map(ParseError::kind).collect();
        assert_eq!(kinds, ParseError::KINDS);
        for e in all {
            let s = e.to_string();
            assert!(!s.is_empty());
            let _: &dyn std::error::Error = &e;
            assert!(e.kind().chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
        assert_eq!(
            ParseError::UnknownType(7).to_string(),
            "unknown PIM message type 7"
        );
        assert_eq!(
            ParseError::Truncated {
                what: "joined source address"
            }
            .to_string(),
            "PIM message truncated in joined source address"
        );
    }

    #[test]
    fn constructors() {
        let g = EncodedGroup::new(a("239.1.2.3"));
        assert_eq!((g.mask_len, g.bidir, g.zone), (32, false, false));
        let s = EncodedSource::sg(a("10.1.1.1"));
        assert_eq!(
            (s.sparse, s.wildcard, s.rpt, s.mask_len),
            (true, false, false, 32)
        );
        assert!(s.is_sg() && !s.is_sg_rpt() && !s.is_star_g());
        let s = EncodedSource::star_g(a("10.0.0.100"));
        assert_eq!(
            (s.sparse, s.wildcard, s.rpt, s.mask_len),
            (true, true, true, 32)
        );
        assert!(s.is_star_g() && !s.is_sg() && !s.is_sg_rpt());
        let s = EncodedSource::sg_rpt(a("10.1.1.1"));
        assert_eq!(
            (s.sparse, s.wildcard, s.rpt, s.mask_len),
            (true, false, true, 32)
        );
        assert!(s.is_sg_rpt() && !s.is_sg() && !s.is_star_g());
        let types: Vec<u8> = vectors()
            .iter()
            .map(|(_, b, m, _)| {
                assert_eq!(m.message_type(), b[0] & 0x0f);
                m.message_type()
            })
            .collect();
        for t in [
            HELLO,
            REGISTER,
            REGISTER_STOP,
            JOIN_PRUNE,
            BOOTSTRAP,
            ASSERT,
            CANDIDATE_RP_ADV,
        ] {
            assert!(types.contains(&t));
        }
        assert_eq!(max_register_payload(1500), 1472);
        assert_eq!(max_register_payload(9000), 8972);
        assert_eq!(max_register_payload(20), 0);
        // A Register of max_register_payload(mtu) data octets fills the MTU exactly.
        let mut p = vec![0u8; max_register_payload(1500)];
        p[0] = 0x45;
        let m = Message::Register(Register {
            border: false,
            null: false,
            packet: p,
        });
        assert_eq!(IPV4_HEADER_LEN + emit(&m).len(), 1500);
    }

    #[test]
    fn emit_masks_flag_bits_of_wide_fields() {
        let m = Message::Assert(Assert {
            group: EncodedGroup::new(a("239.1.1.1")),
            source: a("10.1.1.1"),
            rpt: false,
            metric_preference: 0xffff_ffff,
            metric: 1,
        });
        let Ok(Message::Assert(back)) = parse(&emit(&m)) else {
            panic!()
        };
        assert_eq!((back.rpt, back.metric_preference), (false, 0x7fff_ffff));
        let m = Message::Hello(Hello {
            options: vec![HelloOption::LanPruneDelay {
                t_bit: false,
                propagation_delay_ms: 0xffff,
                override_interval_ms: 1,
            }],
        });
        let Ok(Message::Hello(back)) = parse(&emit(&m)) else {
            panic!()
        };
        assert_eq!(
            back.lan_prune_delay(),
            Some(LanPruneDelay {
                t_bit: false,
                propagation_delay_ms: 0x7fff,
                override_interval_ms: 1
            })
        );
    }

    #[test]
    fn emit_respects_count_limits() {
        let group = JoinPruneGroup {
            group: EncodedGroup::new(a("239.1.1.1")),
            joins: vec![EncodedSource::sg(a("10.0.0.1")); 70_000],
            prunes: vec![],
        };
        let m = Message::JoinPrune(JoinPrune {
            upstream_neighbor: a("10.0.0.1"),
            holdtime: 210,
            groups: vec![group; 2],
        });
        let b = emit(&m);
        assert_eq!(b.len(), m.wire_len());
        let Ok(Message::JoinPrune(jp)) = parse(&b) else {
            panic!()
        };
        assert_eq!(jp.groups.len(), 2);
        assert!(jp.groups.iter().all(|g| g.joins.len() == 0xffff));
        let m = Message::CandidateRpAdv(CandidateRpAdv {
            priority: 0,
            holdtime: 150,
            rp: a("10.0.0.1"),
            groups: vec![EncodedGroup::new(a("239.1.1.1")); 300],
        });
        let b = emit(&m);
        assert_eq!(b.len(), m.wire_len());
        let Ok(Message::CandidateRpAdv(c)) = parse(&b) else {
            panic!()
        };
        assert_eq!(c.groups.len(), 255);
        let m = Message::Hello(Hello {
            options: vec![HelloOption::Unknown {
                kind: 1000,
                value: vec![7; 70_000],
            }],
        });
        let b = emit(&m);
        assert_eq!(b.len(), m.wire_len());
        assert_eq!(b.len(), 4 + 4 + 0xffff);
        assert!(parse(&b).is_ok());
    }

    // -----------------------------------------------------------------------------------------
    // Property tests with a small deterministic PRNG.

    /// PIM's encoded addresses from the shared generator.
    trait PimRng {
        fn mask(&mut self) -> u8;
        fn group(&mut self) -> EncodedGroup;
        fn source(&mut self) -> EncodedSource;
        fn sources(&mut self, max: usize) -> Vec<EncodedSource>;
    }

    impl PimRng for Rng {
        fn mask(&mut self) -> u8 {
            self.below(33) as u8
        }
        fn group(&mut self) -> EncodedGroup {
            EncodedGroup {
                group: self.addr(),
                mask_len: self.mask(),
                bidir: self.bool(),
                zone: self.bool(),
            }
        }
        fn source(&mut self) -> EncodedSource {
            EncodedSource {
                source: self.addr(),
                mask_len: self.mask(),
                sparse: self.bool(),
                wildcard: self.bool(),
                rpt: self.bool(),
            }
        }
        fn sources(&mut self, max: usize) -> Vec<EncodedSource> {
            (0..self.upto(max)).map(|_| self.source()).collect()
        }
    }

    fn random_option(rng: &mut Rng) -> HelloOption {
        match rng.below(6) {
            0 => HelloOption::Holdtime(rng.u16()),
            1 => HelloOption::LanPruneDelay {
                t_bit: rng.bool(),
                propagation_delay_ms: rng.u16() & 0x7fff,
                override_interval_ms: rng.u16(),
            },
            2 => HelloOption::DrPriority(rng.u32()),
            3 => HelloOption::GenerationId(rng.u32()),
            4 => HelloOption::AddressList((0..rng.upto(5)).map(|_| rng.addr()).collect()),
            _ => {
                let kind = loop {
                    let k = rng.u16();
                    if ![
                        OPT_HOLDTIME,
                        OPT_LAN_PRUNE_DELAY,
                        OPT_DR_PRIORITY,
                        OPT_GENERATION_ID,
                        OPT_ADDRESS_LIST,
                    ]
                    .contains(&k)
                    {
                        break k;
                    }
                };
                let n = rng.upto(12);
                HelloOption::Unknown {
                    kind,
                    value: rng.bytes(n),
                }
            }
        }
    }

    /// A random IPv4 packet (valid for a data Register: total length = its length).
    fn random_ipv4(rng: &mut Rng) -> Vec<u8> {
        let ihl = 5 + rng.upto(2);
        let len = ihl * 4 + rng.upto(60);
        let mut p = rng.bytes(len);
        p[0] = 0x40 | ihl as u8;
        p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        p
    }

    fn random_message(rng: &mut Rng) -> Message {
        match rng.below(7) {
            0 => Message::Hello(Hello {
                options: (0..rng.upto(7)).map(|_| random_option(rng)).collect(),
            }),
            1 => {
                let null = rng.bool();
                let packet = if null && rng.bool() {
                    Register::null(rng.addr(), rng.addr()).packet
                } else {
                    random_ipv4(rng)
                };
                Message::Register(Register {
                    border: rng.bool(),
                    null,
                    packet,
                })
            }
            2 => Message::RegisterStop(RegisterStop {
                group: rng.group(),
                source: rng.addr(),
            }),
            3 => Message::JoinPrune(JoinPrune {
                upstream_neighbor: rng.addr(),
                holdtime: rng.u16(),
                groups: (0..rng.upto(6))
                    .map(|_| JoinPruneGroup {
                        group: rng.group(),
                        joins: rng.sources(5),
                        prunes: rng.sources(5),
                    })
                    .collect(),
            }),
            4 => Message::Bootstrap(Bootstrap {
                fragment_tag: rng.u16(),
                hash_mask_len: rng.byte(),
                bsr_priority: rng.byte(),
                bsr_address: rng.addr(),
                no_forward: rng.bool(),
                groups: (0..rng.upto(4))
                    .map(|_| BootstrapGroup {
                        group: rng.group(),
                        rp_count: rng.byte(),
                        rps: (0..rng.upto(4))
                            .map(|_| BootstrapRp {
                                address: rng.addr(),
                                holdtime: rng.u16(),
                                priority: rng.byte(),
                            })
                            .collect(),
                    })
                    .collect(),
            }),
            5 => Message::Assert(Assert {
                group: rng.group(),
                source: rng.addr(),
                rpt: rng.bool(),
                metric_preference: rng.u32() & 0x7fff_ffff,
                metric: rng.u32(),
            }),
            _ => Message::CandidateRpAdv(CandidateRpAdv {
                priority: rng.byte(),
                holdtime: rng.u16(),
                rp: rng.addr(),
                groups: (0..rng.upto(5)).map(|_| rng.group()).collect(),
            }),
        }
    }

    #[test]
    fn random_messages_round_trip() {
        let mut rng = Rng(0x5eed_0001);
        let mut per_type = [0usize; 16];
        for i in 0..20_000 {
            let m = random_message(&mut rng);
            let b = emit(&m);
            assert_eq!(b.len(), m.wire_len(), "#{i} {m:?}");
            assert_eq!(parse(&b), Ok(m.clone()), "#{i} {b:02x?}");
            per_type[usize::from(m.message_type())] += 1;
        }
        for t in [0, 1, 2, 3, 4, 5, 8] {
            assert!(per_type[t] > 2000, "type {t}: {}", per_type[t]);
        }
    }

    /// Whatever parse accepts, emit writes back as the same message.
    fn check_accepted(b: &[u8]) {
        if let Ok(m) = parse(b) {
            let again = emit(&m);
            assert_eq!(parse(&again), Ok(m), "{b:02x?}");
        }
    }

    #[test]
    fn random_garbage_never_panics() {
        let mut rng = Rng(0xbad_c0de);
        let mut ok = 0;
        let mut kinds = BTreeMap::new();
        for _ in 0..30_000 {
            let len = rng.upto(80);
            let mut b = rng.bytes(len);
            if len > 0 && rng.bool() {
                // Mostly a v2 header with a known type and a valid checksum, to get past
                // the first checks.
                b[0] = 0x20 | [0u8, 1, 2, 3, 4, 5, 8][rng.upto(6)];
                if rng.below(4) != 0 {
                    for i in (4..b.len()).step_by(6) {
                        b[i] = 1;
                        if i + 1 < b.len() {
                            b[i + 1] = 0;
                        }
                    }
                }
                if b[0] == 0x21 && len >= 8 {
                    b[2] = 0;
                    b[3] = 0;
                    let c = checksum::checksum(&b[..8]);
                    b[2..4].copy_from_slice(&c.to_be_bytes());
                } else {
                    fix_checksum(&mut b);
                }
            }
            match parse(&b) {
                Ok(_) => ok += 1,
                Err(e) => *kinds.entry(e.kind()).or_insert(0) += 1,
            }
            check_accepted(&b);
        }
        // The inputs reach deep enough to produce a variety of outcomes.
        eprintln!("random garbage: {ok} accepted, rejected by kind {kinds:?}");
        assert!(ok > 100, "{ok} accepted, {kinds:?}");
        assert!(kinds.len() >= 8, "{kinds:?}");
    }

    #[test]
    fn mutated_messages_never_panic() {
        let mut rng = Rng(0xfeed);
        for _ in 0..20_000 {
            let m = random_message(&mut rng);
            let mut b = emit(&m);
            for _ in 0..1 + rng.upto(3) {
                match rng.below(3) {
                    0 if !b.is_empty() => {
                        let i = rng.upto(b.len() - 1);
                        b[i] = rng.byte();
                    }
                    1 => b.truncate(rng.upto(b.len())),
                    _ => {
                        let n = rng.upto(8);
                        let extra = rng.bytes(n);
                        b.extend_from_slice(&extra);
                    }
                }
            }
            if rng.bool() {
                if m.message_type() == REGISTER && b.len() >= 8 {
                    b[2] = 0;
                    b[3] = 0;
                    let c = checksum::checksum(&b[..8]);
                    b[2..4].copy_from_slice(&c.to_be_bytes());
                } else {
                    fix_checksum(&mut b);
                }
            }
            check_accepted(&b);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Join/Prune splitting

    /// (group, is join, source) of every entry, counted.
    fn entries<'a>(
        groups: impl IntoIterator<Item = &'a JoinPruneGroup>,
    ) -> BTreeMap<(EncodedGroup, bool, EncodedSource), usize> {
        let mut m = BTreeMap::new();
        for g in groups {
            for s in &g.joins {
                *m.entry((g.group, true, *s)).or_insert(0) += 1;
            }
            for s in &g.prunes {
                *m.entry((g.group, false, *s)).or_insert(0) += 1;
            }
        }
        m
    }

    /// Checks every property split_join_prune promises; returns the messages.
    fn check_split(groups: &[JoinPruneGroup], max_len: usize) -> Vec<JoinPrune> {
        let up = a("10.0.0.1");
        let msgs = split_join_prune(up, 210, groups, max_len);
        let eff = max_len.max(MIN_JOIN_PRUNE_SPLIT_LEN);
        for (i, jp) in msgs.iter().enumerate() {
            assert_eq!((jp.upstream_neighbor, jp.holdtime), (up, 210));
            assert!(!jp.groups.is_empty());
            assert!(jp.groups.len() <= MAX_JOIN_PRUNE_GROUPS);
            let m = Message::JoinPrune(jp.clone());
            let b = emit(&m);
            assert_eq!(b.len(), jp.wire_len());
            assert!(b.len() <= eff, "message {i}: {} > {eff}", b.len());
            assert_eq!(parse(&b), Ok(m));
        }
        // Every entry exactly once.
        let input = entries(groups);
        let output = entries(msgs.iter().flat_map(|m| &m.groups));
        assert_eq!(input, output);
        // Empty group sets are kept, once each.
        let empty_in = groups
            .iter()
            .filter(|g| g.joins.is_empty() && g.prunes.is_empty())
            .count();
        let empty_out = msgs
            .iter()
            .flat_map(|m| &m.groups)
            .filter(|g| g.joins.is_empty() && g.prunes.is_empty())
            .count();
        assert_eq!(empty_in, empty_out);
        // (*,G) Joins travel with their (S,G,rpt) Prunes, or with the smallest that fit.
        for g in groups.iter().filter(|g| g.joins.iter().any(|s| s.wildcard)) {
            let mut rpt: Vec<_> = g
                .prunes
                .iter()
                .filter(|s| s.rpt && !s.wildcard)
                .copied()
                .collect();
            let wc = g.joins.iter().filter(|s| s.wildcard).count();
            let m = msgs
                .iter()
                .find(|m| {
                    m.groups
                        .iter()
                        .any(|s| s.group == g.group && s.joins.iter().any(|j| j.wildcard))
                })
                .unwrap();
            let with: Vec<_> = m
                .groups
                .iter()
                .filter(|s| s.group == g.group)
                .flat_map(|s| s.prunes.iter().filter(|p| p.rpt && !p.wildcard).copied())
                .collect();
            let alone = JOIN_PRUNE_HEADER_LEN
                + JOIN_PRUNE_GROUP_LEN
                + ENCODED_SOURCE_LEN * (wc + rpt.len());
            if alone <= eff {
                assert_eq!(with.len(), rpt.len(), "{:?}", g.group);
            } else {
                rpt.sort_by_key(|s| u32::from(s.source));
                let mut with = with;
                with.sort_by_key(|s| u32::from(s.source));
                assert_eq!(with, rpt[..with.len()], "{:?}", g.group);
                assert_eq!(
                    with.len(),
                    (eff - JOIN_PRUNE_HEADER_LEN - JOIN_PRUNE_GROUP_LEN) / ENCODED_SOURCE_LEN - wc
                );
            }
        }
        // Full messages: every message but the last has no room for another source (or has
        // 255 group sets), unless the next one starts with a (*,G) Join.
        for w in msgs.windows(2) {
            let room = eff - w[0].wire_len();
            let next_starts_star_g = w[1].groups[0].joins.iter().any(|s| s.wildcard);
            assert!(
                room < JOIN_PRUNE_GROUP_LEN + ENCODED_SOURCE_LEN
                    || w[0].groups.len() == MAX_JOIN_PRUNE_GROUPS
                    || next_starts_star_g,
                "room {room} left in a message before {:?}",
                w[1].groups[0]
            );
        }
        msgs
    }

    fn sg_group(i: u32, joins: u32, prunes: u32) -> JoinPruneGroup {
        JoinPruneGroup {
            group: EncodedGroup::new(Ipv4Addr::from(0xe800_0000 + i)),
            joins: (0..joins)
                .map(|j| EncodedSource::sg(Ipv4Addr::from(0x0a00_0000 + j)))
                .collect(),
            prunes: (0..prunes)
                .map(|j| EncodedSource::sg(Ipv4Addr::from(0x0b00_0000 + j)))
                .collect(),
        }
    }

    #[test]
    fn split_small_cases() {
        assert!(split_join_prune(a("10.0.0.1"), 210, &[], 1480).is_empty());
        // One empty group set.
        let msgs = check_split(
            &[JoinPruneGroup::new(EncodedGroup::new(a("239.1.1.1")))],
            1480,
        );
        assert_eq!(msgs.len(), 1);
        // What fits stays one message, unchanged.
        let Message::JoinPrune(jp) = vectors()[3].2.clone() else {
            unreachable!()
        };
        let msgs = check_split(&jp.groups, 1480);
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].groups, jp.groups);
        // 1000 joins of one group at 1480: 181 per message ((1480 - 14 - 12) / 8).
        let msgs = check_split(&[sg_group(1, 1000, 0)], 1480);
        assert_eq!(
            msgs.iter()
                .map(|m| m.groups[0].joins.len())
                .collect::<Vec<_>>(),
            [181, 181, 181, 181, 181, 95]
        );
        // Joins then prunes of one group: the split falls inside the prunes.
        let msgs = check_split(&[sg_group(1, 100, 100)], 1480);
        assert_eq!(msgs.len(), 2);
        assert_eq!(
            (
                msgs[0].groups[0].joins.len(),
                msgs[0].groups[0].prunes.len()
            ),
            (100, 81)
        );
        assert_eq!(
            (
                msgs[1].groups[0].joins.len(),
                msgs[1].groups[0].prunes.len()
            ),
            (0, 19)
        );
        // 255 group sets at most: 1000 empty sets in a large max_len.
        let groups: Vec<_> = (0..1000).map(|i| sg_group(i, 0, 0)).collect();
        let msgs = check_split(&groups, 65535);
        assert_eq!(
            msgs.iter().map(|m| m.groups.len()).collect::<Vec<_>>(),
            [255, 255, 255, 235]
        );
        // A max_len below one source is treated as the minimum.
        let msgs = check_split(&[sg_group(1, 3, 0)], 0);
        assert_eq!(msgs.len(), 3);
        assert!(
            msgs.iter()
                .all(|m| m.wire_len() == MIN_JOIN_PRUNE_SPLIT_LEN)
        );
    }

    #[test]
    fn split_keeps_star_g_with_its_rpt_prunes() {
        let rp = a("10.0.0.100");
        let star = |i: u32, prunes: u32, sg: u32| {
            let mut g = sg_group(i, sg, 0);
            g.joins.insert(0, EncodedSource::star_g(rp));
            // Prunes in descending address order, to see the sorting.
            g.prunes = (0..prunes)
                .rev()
                .map(|j| EncodedSource::sg_rpt(Ipv4Addr::from(0x0c00_0000 + j)))
                .collect();
            g
        };
        // A message nearly full of (S,G) joins, then a (*,G) Join with 50 (S,G,rpt) Prunes:
        // those go together into the next message; the first is not left half empty.
        let msgs = check_split(&[sg_group(1, 170, 0), star(2, 50, 20)], 1480);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[1].groups.len(), 1);
        assert_eq!(msgs[1].groups[0].prunes.len(), 50);
        // Ten of the second group's (S,G) joins were put into the first message (94 octets
        // were left: a group set and 10 sources).
        assert_eq!(msgs[0].groups[1].joins.len(), 10);
        assert_eq!(msgs[1].groups[0].joins.len(), 11);
        // A (*,G) Join with 400 (S,G,rpt) Prunes: 180 (the smallest) with it, the rest after.
        let msgs = check_split(&[sg_group(1, 10, 0), star(2, 400, 0)], 1480);
        let with = &msgs[1].groups[0];
        assert!(with.joins[0].is_star_g());
        assert_eq!(with.prunes.len(), 180);
        assert_eq!(with.prunes[0].source, Ipv4Addr::from(0x0c00_0000));
        assert_eq!(with.prunes[179].source, Ipv4Addr::from(0x0c00_0000 + 179));
        assert_eq!(msgs.len(), 4);
    }

    #[test]
    fn split_5000_groups_into_1480_octets() {
        let mut rng = Rng(5000);
        let rp = a("10.0.0.100");
        let groups: Vec<JoinPruneGroup> = (0..5000u32)
            .map(|i| {
                let group = EncodedGroup::new(Ipv4Addr::from(0xe000_0000 + (i << 8)));
                let mut g = JoinPruneGroup::new(group);
                let source = |rng: &mut Rng, rpt: bool| EncodedSource {
                    source: rng.addr(),
                    rpt,
                    ..EncodedSource::sg(Ipv4Addr::UNSPECIFIED)
                };
                match rng.below(20) {
                    // (*,G) Join with a few (S,G,rpt) Prunes, sometimes more than fit.
                    0..=4 => {
                        g.joins.push(EncodedSource::star_g(rp));
                        let n = match rng.below(50) {
                            0 => 150 + rng.upto(300),
                            _ => rng.upto(6),
                        };
                        g.prunes = (0..n).map(|_| source(&mut rng, true)).collect();
                    }
                    // (*,G) Prune.
                    5 => g.prunes.push(EncodedSource::star_g(rp)),
                    // Nothing (kept as an empty group set).
                    6 => {}
                    // (S,G) joins and prunes, sometimes many.
                    _ => {
                        let big = rng.below(40) == 0;
                        let n = if big {
                            200 + rng.upto(800)
                        } else {
                            rng.upto(4)
                        };
                        g.joins = (0..n).map(|_| source(&mut rng, false)).collect();
                        let n = rng.upto(3);
                        g.prunes = (0..n).map(|_| source(&mut rng, false)).collect();
                    }
                }
                g
            })
            .collect();
        let total: usize = groups.iter().map(|g| g.joins.len() + g.prunes.len()).sum();
        let msgs = check_split(&groups, 1480);
        assert!(
            msgs.iter()
                .all(|m| emit(&Message::JoinPrune(m.clone())).len() <= 1480)
        );
        // Close to the lower bound: all octets of entries over the room of a message.
        let bytes: usize = groups.iter().map(JoinPruneGroup::wire_len).sum();
        let bound = bytes.div_ceil(1480 - JOIN_PRUNE_HEADER_LEN);
        // Groups were split, and some (*,G) Joins had more (S,G,rpt) Prunes than fit.
        let mut sets_per_group = BTreeMap::new();
        for g in msgs.iter().flat_map(|m| &m.groups) {
            *sets_per_group.entry(g.group).or_insert(0) += 1;
        }
        let split = sets_per_group.values().filter(|n| **n > 1).count();
        let overflowing = groups
            .iter()
            .filter(|g| g.joins.iter().any(|s| s.wildcard) && g.prunes.len() > 180)
            .count();
        assert!(
            split > 50 && overflowing > 5,
            "{split} split, {overflowing} overflowing"
        );
        assert_eq!(sets_per_group.len(), 5000);
        eprintln!(
            "{} messages for {total} entries in 5000 groups ({split} split, {overflowing} \
             (*,G) with too many prunes), lower bound {bound}",
            msgs.len()
        );
        assert!(
            msgs.len() <= bound + bound / 10,
            "{} messages for {total} entries, bound {bound}",
            msgs.len()
        );
    }
}
