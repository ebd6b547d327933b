//! IGMP message codec: v1 (RFC 1112), v2 (RFC 2236), v3 (RFC 3376 section 4, RFC 9776).
//!
//! * [`parse`] decodes one IGMP message (the IP payload, IP header already removed) into a
//!   [`Message`] or a typed [`ParseError`]; it never panics, whatever the input.
//! * [`emit`] encodes a [`Message`] with a correct checksum; `parse(&emit(&m)) == Ok(m)` for
//!   every valid `m` (see [`emit`] for what "valid" means).
//! * [`decode_code`] / [`encode_code`]: the exponential Max Resp Code and QQIC (3376 4.1.1,
//!   4.1.7); [`split_sources`] splits a source list so that every query fits the MTU.
//!
//! Which message a Membership Query is follows RFC 3376 section 7.1: 8 octets with Max Resp
//! Code 0 is IGMPv1, 8 octets otherwise IGMPv2, 12 or more octets IGMPv3; 9 to 11 octets are
//! rejected ([`ParseError::BadLength`], "MUST be silently ignored"; the typed error lets the
//! router count them). Octets after the last field of a v3 Query or Report ("Additional
//! Data", 3376 4.1.10 and 4.2.11) are covered by the checksum and otherwise ignored, as are
//! octets after the 8 octets of v1/v2 messages.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use common::checksum;

/// IGMP message types (RFC 3376 section 4, RFC 9776).
pub const MEMBERSHIP_QUERY: u8 = 0x11;
pub const V1_MEMBERSHIP_REPORT: u8 = 0x12;
/// DVMRP (draft-ietf-idmr-dvmrp-v3) shares the IGMP protocol number.
pub const DVMRP: u8 = 0x13;
pub const V2_MEMBERSHIP_REPORT: u8 = 0x16;
pub const V2_LEAVE_GROUP: u8 = 0x17;
pub const V3_MEMBERSHIP_REPORT: u8 = 0x22;

/// A decoded IGMP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Query(Query),
    V1Report { group: Ipv4Addr },
    V2Report { group: Ipv4Addr },
    V2Leave { group: Ipv4Addr },
    V3Report(V3Report),
}

/// A Membership Query. Its version follows from its length and Max Resp Code
/// (RFC 3376 section 7.1): 8 octets with code 0 is v1, 8 octets otherwise v2, 12 or more v3.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// Max Resp Code as on the wire (v2: tenths of a second; v3: exponential, section 4.1.1).
    pub max_resp_code: u8,
    /// 0.0.0.0 for a General Query.
    pub group: Ipv4Addr,
    /// Present for v3 queries only.
    pub v3: Option<V3QueryFields>,
}

/// The fields only IGMPv3 queries have (RFC 3376 section 4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V3QueryFields {
    /// S flag: Suppress Router-Side Processing (4.1.5).
    pub suppress: bool,
    /// Querier's Robustness Variable, 0..=7 (4.1.6).
    pub qrv: u8,
    /// Querier's Query Interval Code (4.1.7), exponential like Max Resp Code.
    pub qqic: u8,
    pub sources: Vec<Ipv4Addr>,
}

/// An IGMPv3 Membership Report (RFC 3376 section 4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V3Report {
    pub records: Vec<GroupRecord>,
}

/// One Group Record of a v3 report (4.2.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRecord {
    pub kind: RecordType,
    pub group: Ipv4Addr,
    pub sources: Vec<Ipv4Addr>,
    /// Auxiliary data, a multiple of 4 octets; kept verbatim (routers ignore it).
    pub aux: Vec<u8>,
}

/// Group Record types (4.2.12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// MODE_IS_INCLUDE (current state)
    IsIn,
    /// MODE_IS_EXCLUDE (current state)
    IsEx,
    /// CHANGE_TO_INCLUDE_MODE (filter mode change)
    ToIn,
    /// CHANGE_TO_EXCLUDE_MODE (filter mode change)
    ToEx,
    /// ALLOW_NEW_SOURCES (source list change)
    Allow,
    /// BLOCK_OLD_SOURCES (source list change)
    Block,
    /// Unknown types are kept so that a report round-trips; the router ignores them
    /// (RFC 3376 section 4.2.12 says to ignore unrecognised record types).
    Unknown(u8),
}

/// Length of the fixed part of every IGMP message (and of all v1/v2 messages).
pub const MIN_LEN: usize = 8;
/// Length of an IGMPv3 Query without sources.
pub const V3_QUERY_MIN_LEN: usize = 12;
/// Length of a v3 Group Record without sources and auxiliary data.
pub const GROUP_RECORD_HEADER_LEN: usize = 8;
/// Length of the IPv4 header that carries IGMP: 20 octets plus the 4-octet Router Alert
/// option (RFC 2113) that RFC 2236 and RFC 3376 require.
pub const IP_HEADER_WITH_RA_LEN: usize = 24;
/// The largest value an exponential code can express: code 0xff, (0x0f | 0x10) << (7 + 3).
pub const MAX_CODE_VALUE: u32 = 31744;
/// The Max Resp Time of an IGMPv1 Query (code 0): RFC 2236 section 4, "This MUST be
/// interpreted as a value of 100 (10 seconds)".
pub const V1_MAX_RESP_TIME: Duration = Duration::from_secs(10);
/// The most sources a v3 Query or Group Record can carry (a 16-bit count).
pub const MAX_SOURCES: usize = u16::MAX as usize;
/// The most Group Records a v3 Report can carry (a 16-bit count).
pub const MAX_RECORDS: usize = u16::MAX as usize;
/// The most auxiliary data a Group Record can carry (an 8-bit count of 32-bit words).
pub const MAX_AUX_LEN: usize = 255 * 4;

// ---------------------------------------------------------------------------------------------
// Errors

/// Why a message was not accepted. Every variant has a stable name, [`ParseError::kind`],
/// for counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParseError {
    /// Fewer than 8 octets.
    TooShort { len: usize },
    /// The Internet checksum over the whole message is wrong.
    BadChecksum,
    /// A length that no message of this kind can have: a Query of 9 to 11 octets (RFC 3376
    /// 7.1), or a v3 Query whose Number of Sources does not fit the message.
    BadLength { kind: &'static str, len: usize },
    /// A v3 Report ends inside the part named by `what`.
    Truncated { what: &'static str },
    /// A type this codec does not decode (e.g. 0x13, DVMRP, which the router dispatches
    /// before calling [`parse`]).
    UnknownType(u8),
}

impl ParseError {
    /// All values [`ParseError::kind`] can return.
    pub const KINDS: [&'static str; 5] = [
        "too_short",
        "bad_checksum",
        "bad_length",
        "truncated",
        "unknown_type",
    ];

    /// A stable snake_case name of the variant, e.g. `"bad_checksum"`, for counters.
    pub fn kind(&self) -> &'static str {
        match self {
            ParseError::TooShort { .. } => "too_short",
            ParseError::BadChecksum => "bad_checksum",
            ParseError::BadLength { .. } => "bad_length",
            ParseError::Truncated { .. } => "truncated",
            ParseError::UnknownType(_) => "unknown_type",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::TooShort { len } => {
                write!(
                    f,
                    "IGMP message too short: {len} octets, at least {MIN_LEN} needed"
                )
            }
            ParseError::BadChecksum => f.write_str("bad IGMP checksum"),
            ParseError::BadLength { kind, len } => write!(f, "bad length of {kind}: {len} octets"),
            ParseError::Truncated { what } => write!(f, "IGMP message truncated in {what}"),
            ParseError::UnknownType(t) => write!(f, "unknown IGMP message type {t:#04x}"),
        }
    }
}

impl std::error::Error for ParseError {}

// ---------------------------------------------------------------------------------------------
// Helpers on the message types

impl RecordType {
    /// The type from its wire value (4.2.12); values other than 1..=6 are `Unknown`.
    pub fn from_u8(n: u8) -> RecordType {
        match n {
            1 => RecordType::IsIn,
            2 => RecordType::IsEx,
            3 => RecordType::ToIn,
            4 => RecordType::ToEx,
            5 => RecordType::Allow,
            6 => RecordType::Block,
            n => RecordType::Unknown(n),
        }
    }

    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            RecordType::IsIn => 1,
            RecordType::IsEx => 2,
            RecordType::ToIn => 3,
            RecordType::ToEx => 4,
            RecordType::Allow => 5,
            RecordType::Block => 6,
            RecordType::Unknown(n) => n,
        }
    }

    /// MODE_IS_INCLUDE or MODE_IS_EXCLUDE (a Current-State Record, 4.2.12).
    pub fn is_current_state(self) -> bool {
        matches!(self, RecordType::IsIn | RecordType::IsEx)
    }

    /// CHANGE_TO_INCLUDE_MODE or CHANGE_TO_EXCLUDE_MODE (a Filter-Mode-Change Record).
    pub fn is_filter_mode_change(self) -> bool {
        matches!(self, RecordType::ToIn | RecordType::ToEx)
    }

    /// ALLOW_NEW_SOURCES or BLOCK_OLD_SOURCES (a Source-List-Change Record).
    pub fn is_source_list_change(self) -> bool {
        matches!(self, RecordType::Allow | RecordType::Block)
    }
}

impl From<u8> for RecordType {
    fn from(n: u8) -> RecordType {
        RecordType::from_u8(n)
    }
}

impl From<RecordType> for u8 {
    fn from(t: RecordType) -> u8 {
        t.to_u8()
    }
}

impl fmt::Display for RecordType {
    /// The notation of RFC 3376 section 6.4: `IS_IN`, `IS_EX`, `TO_IN`, `TO_EX`, `ALLOW`,
    /// `BLOCK`; unknown types as `TYPE_n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordType::IsIn => f.write_str("IS_IN"),
            RecordType::IsEx => f.write_str("IS_EX"),
            RecordType::ToIn => f.write_str("TO_IN"),
            RecordType::ToEx => f.write_str("TO_EX"),
            RecordType::Allow => f.write_str("ALLOW"),
            RecordType::Block => f.write_str("BLOCK"),
            RecordType::Unknown(n) => write!(f, "TYPE_{n}"),
        }
    }
}

impl Message {
    /// The IGMP Type octet this message is sent with.
    pub fn message_type(&self) -> u8 {
        match self {
            Message::Query(_) => MEMBERSHIP_QUERY,
            Message::V1Report { .. } => V1_MEMBERSHIP_REPORT,
            Message::V2Report { .. } => V2_MEMBERSHIP_REPORT,
            Message::V2Leave { .. } => V2_LEAVE_GROUP,
            Message::V3Report(_) => V3_MEMBERSHIP_REPORT,
        }
    }

    /// The number of octets [`emit`] produces for this message.
    pub fn wire_len(&self) -> usize {
        match self {
            Message::Query(q) => match &q.v3 {
                None => MIN_LEN,
                Some(v3) => V3_QUERY_MIN_LEN + 4 * v3.sources.len().min(MAX_SOURCES),
            },
            Message::V1Report { .. } | Message::V2Report { .. } | Message::V2Leave { .. } => {
                MIN_LEN
            }
            Message::V3Report(r) => {
                MIN_LEN
                    + r.records
                        .iter()
                        .take(MAX_RECORDS)
                        .map(GroupRecord::wire_len)
                        .sum::<usize>()
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

impl GroupRecord {
    /// The number of octets this record takes in an emitted report.
    pub fn wire_len(&self) -> usize {
        GROUP_RECORD_HEADER_LEN + 4 * self.sources.len().min(MAX_SOURCES) + 4 * aux_words(&self.aux)
    }
}

/// Max Resp Time in tenths of a second, rounded down, saturated at `u32::MAX`.
fn tenths(d: Duration) -> u32 {
    u32::try_from(d.as_millis() / 100).unwrap_or(u32::MAX)
}

/// An IGMPv2 Max Resp Time code: tenths, at least 1 (0 would make it a v1 query), at most 255.
fn v2_code(max_resp: Duration) -> u8 {
    u8::try_from(tenths(max_resp).max(1)).unwrap_or(u8::MAX)
}

/// QRV as sent: "If the querier's [Robustness Variable] exceeds 7, the maximum value of the
/// QRV field, the QRV is set to zero" (RFC 3376 4.1.6).
fn wire_qrv(qrv: u8) -> u8 {
    if qrv > 7 { 0 } else { qrv }
}

impl Query {
    /// 1, 2 or 3, as RFC 3376 section 7.1 tells them apart: v3 fields present means v3,
    /// otherwise Max Resp Code 0 means v1 and anything else v2.
    pub fn version(&self) -> u8 {
        match (&self.v3, self.max_resp_code) {
            (Some(_), _) => 3,
            (None, 0) => 1,
            (None, _) => 2,
        }
    }

    /// A General Query (group 0.0.0.0).
    pub fn is_general(&self) -> bool {
        self.group.is_unspecified()
    }

    /// A Group-Specific Query: a group, no sources.
    pub fn is_group_specific(&self) -> bool {
        !self.is_general() && self.sources().is_empty()
    }

    /// A Group-and-Source-Specific Query (v3 only): a group and at least one source.
    pub fn is_group_and_source_specific(&self) -> bool {
        !self.is_general() && !self.sources().is_empty()
    }

    /// The sources of a v3 query; empty for v1/v2.
    pub fn sources(&self) -> &[Ipv4Addr] {
        self.v3.as_ref().map_or(&[], |v3| v3.sources.as_slice())
    }

    /// The maximum response time the query allows: 10 s for a v1 query (RFC 2236 section 4),
    /// the code in tenths of a second for v2 (RFC 2236 2.2), the exponential code of RFC 3376
    /// 4.1.1 in tenths of a second for v3.
    pub fn max_resp_time(&self) -> Duration {
        match self.version() {
            1 => V1_MAX_RESP_TIME,
            2 => Duration::from_millis(u64::from(self.max_resp_code) * 100),
            _ => Duration::from_millis(u64::from(decode_code(self.max_resp_code)) * 100),
        }
    }

    /// The v1 General Query (Max Resp Code 0, RFC 1112 appendix I).
    pub fn general_v1() -> Query {
        Query {
            max_resp_code: 0,
            group: Ipv4Addr::UNSPECIFIED,
            v3: None,
        }
    }

    /// A v2 General Query. `max_resp` is sent in tenths of a second, rounded down, clamped to
    /// 0.1..=25.5 s (a code of 0 would turn it into a v1 query).
    pub fn general_v2(max_resp: Duration) -> Query {
        Query::group_specific_v2(Ipv4Addr::UNSPECIFIED, max_resp)
    }

    /// A v2 Group-Specific Query; `max_resp` as in [`Query::general_v2`].
    pub fn group_specific_v2(group: Ipv4Addr, max_resp: Duration) -> Query {
        Query {
            max_resp_code: v2_code(max_resp),
            group,
            v3: None,
        }
    }

    /// A v3 General Query (S flag clear, no sources). `max_resp` is encoded in tenths of a
    /// second and `qqi` in seconds with [`encode_code`] (rounded down, saturated at
    /// 3174.4 s and 31744 s); a `qrv` above 7 is sent as 0 (4.1.6).
    pub fn general_v3(max_resp: Duration, qrv: u8, qqi: Duration) -> Query {
        Query::group_and_source_specific_v3(
            Ipv4Addr::UNSPECIFIED,
            Vec::new(),
            max_resp,
            false,
            qrv,
            qqi,
        )
    }

    /// A v3 Group-Specific Query; arguments as in [`Query::general_v3`], `suppress` is the
    /// S flag (4.1.5).
    pub fn group_specific_v3(
        group: Ipv4Addr,
        max_resp: Duration,
        suppress: bool,
        qrv: u8,
        qqi: Duration,
    ) -> Query {
        Query::group_and_source_specific_v3(group, Vec::new(), max_resp, suppress, qrv, qqi)
    }

    /// A v3 Group-and-Source-Specific Query. Split long source lists with [`split_sources`]
    /// first: the message must fit the interface MTU.
    pub fn group_and_source_specific_v3(
        group: Ipv4Addr,
        sources: impl Into<Vec<Ipv4Addr>>,
        max_resp: Duration,
        suppress: bool,
        qrv: u8,
        qqi: Duration,
    ) -> Query {
        Query {
            max_resp_code: encode_code(tenths(max_resp)),
            group,
            v3: Some(V3QueryFields {
                suppress,
                qrv: wire_qrv(qrv),
                qqic: encode_code(u32::try_from(qqi.as_secs()).unwrap_or(u32::MAX)),
                sources: sources.into(),
            }),
        }
    }
}

impl V3QueryFields {
    /// The Querier's Query Interval (4.1.7): QQIC decoded, in seconds. A QQIC of 0 gives
    /// `Duration::ZERO`; what that means (Linux: "use the default") is the caller's decision.
    pub fn qqi(&self) -> Duration {
        Duration::from_secs(u64::from(decode_code(self.qqic)))
    }
}

// ---------------------------------------------------------------------------------------------
// Exponential codes

/// Decode a Max Resp Code (4.1.1, in tenths of a second) or a QQIC (4.1.7, in seconds):
/// below 128 the value itself, otherwise `(mant | 0x10) << (exp + 3)` with the code laid out
/// as `1 exp(3) mant(4)`. The result is at most [`MAX_CODE_VALUE`].
pub const fn decode_code(code: u8) -> u32 {
    if code < 128 {
        code as u32
    } else {
        let mant = (code & 0x0f) as u32;
        let exp = ((code >> 4) & 0x07) as u32;
        (mant | 0x10) << (exp + 3)
    }
}

/// Encode a value (tenths of a second, or seconds for QQIC) as a code: exact below 128,
/// otherwise the code of the largest representable value not above `value` (rounded down),
/// saturated at 0xff ([`MAX_CODE_VALUE`]). `encode_code(decode_code(c)) == c` for every `c`.
pub const fn encode_code(value: u32) -> u8 {
    if value < 128 {
        return value as u8;
    }
    if value >= MAX_CODE_VALUE {
        return 0xff;
    }
    // 128 <= value < 31744: find exp so that value >> (exp + 3) is in 16..=31; exp <= 7.
    let mut exp = 0;
    while (value >> (exp + 3)) > 0x1f {
        exp += 1;
    }
    let mant = (value >> (exp + 3)) & 0x0f;
    0x80 | ((exp as u8) << 4) | (mant as u8)
}

// ---------------------------------------------------------------------------------------------
// Source lists and the MTU

/// The most sources one v3 Query may carry so that its IP packet (24-octet header with Router
/// Alert, 12 octets of query, 4 per source) fits `mtu`; at least 1.
pub fn max_query_sources(mtu: usize) -> usize {
    (mtu.saturating_sub(IP_HEADER_WITH_RA_LEN + V3_QUERY_MIN_LEN) / 4).clamp(1, MAX_SOURCES)
}

/// Split `sources` into chunks of at most [`max_query_sources`]`(mtu)` addresses, so that a
/// Group-and-Source-Specific Query of each chunk fits the MTU (RFC 3376 4.1.8: send as many
/// queries as needed). An empty list yields no chunk; an MTU too small for even one source
/// yields one source per chunk.
pub fn split_sources(sources: &[Ipv4Addr], mtu: usize) -> impl Iterator<Item = &[Ipv4Addr]> {
    sources.chunks(max_query_sources(mtu))
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// A cursor over the message that never reads past its end.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
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
}

/// IPv4 addresses from a slice whose length is a multiple of 4.
fn addrs(b: &[u8]) -> Vec<Ipv4Addr> {
    b.chunks_exact(4)
        .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
        .collect()
}

/// Decode one IGMP message (the IP payload). Checks, in this order: at least 8 octets
/// ([`ParseError::TooShort`]); the checksum over the whole message ([`ParseError::BadChecksum`]);
/// the type ([`ParseError::UnknownType`]); then the lengths of the type. Octets beyond the
/// message's last field are ignored. Never panics.
pub fn parse(bytes: &[u8]) -> Result<Message, ParseError> {
    let &[ty, code, _, _, g0, g1, g2, g3, ..] = bytes else {
        return Err(ParseError::TooShort { len: bytes.len() });
    };
    if !checksum::verify(bytes) {
        return Err(ParseError::BadChecksum);
    }
    let group = Ipv4Addr::new(g0, g1, g2, g3);
    match ty {
        MEMBERSHIP_QUERY => parse_query(bytes, code, group).map(Message::Query),
        V1_MEMBERSHIP_REPORT => Ok(Message::V1Report { group }),
        V2_MEMBERSHIP_REPORT => Ok(Message::V2Report { group }),
        V2_LEAVE_GROUP => Ok(Message::V2Leave { group }),
        V3_MEMBERSHIP_REPORT => parse_v3_report(bytes).map(Message::V3Report),
        t => Err(ParseError::UnknownType(t)),
    }
}

fn parse_query(bytes: &[u8], code: u8, group: Ipv4Addr) -> Result<Query, ParseError> {
    let len = bytes.len();
    if len == MIN_LEN {
        // v1 (code 0) or v2.
        return Ok(Query {
            max_resp_code: code,
            group,
            v3: None,
        });
    }
    let &[
        _,
        _,
        _,
        _,
        _,
        _,
        _,
        _,
        flags,
        qqic,
        n_hi,
        n_lo,
        ref rest @ ..,
    ] = bytes
    else {
        // 9 to 11 octets: RFC 3376 7.1, "MUST be silently ignored".
        return Err(ParseError::BadLength { kind: "query", len });
    };
    let n = usize::from(u16::from_be_bytes([n_hi, n_lo]));
    let Some(src) = rest.get(..4 * n) else {
        return Err(ParseError::BadLength {
            kind: "v3 query sources",
            len,
        });
    };
    // Anything after the sources is Additional Data (4.1.10): checksummed, otherwise ignored.
    Ok(Query {
        max_resp_code: code,
        group,
        v3: Some(V3QueryFields {
            suppress: flags & 0x08 != 0,
            qrv: flags & 0x07,
            qqic,
            sources: addrs(src),
        }),
    })
}

fn parse_v3_report(bytes: &[u8]) -> Result<V3Report, ParseError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let head = r.take(MIN_LEN, "v3 report header")?;
    let m = usize::from(u16::from_be_bytes([head[6], head[7]]));
    // Each record takes at least 8 octets: never reserve more than the buffer can hold.
    let mut records = Vec::with_capacity(m.min(bytes.len() / GROUP_RECORD_HEADER_LEN));
    for _ in 0..m {
        let h = r.take(GROUP_RECORD_HEADER_LEN, "group record header")?;
        let kind = RecordType::from_u8(h[0]);
        let aux_len = 4 * usize::from(h[1]);
        let n = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let group = Ipv4Addr::new(h[4], h[5], h[6], h[7]);
        let sources = addrs(r.take(4 * n, "group record sources")?);
        let aux = r.take(aux_len, "group record auxiliary data")?.to_vec();
        records.push(GroupRecord {
            kind,
            group,
            sources,
            aux,
        });
    }
    // Octets after the last record are Additional Data (4.2.11): checksummed, ignored.
    Ok(V3Report { records })
}

// ---------------------------------------------------------------------------------------------
// Emitting

/// Auxiliary data length in 32-bit words as emitted: rounded up, at most 255.
fn aux_words(aux: &[u8]) -> usize {
    aux.len().div_ceil(4).min(255)
}

fn put_addrs(out: &mut Vec<u8>, addrs: &[Ipv4Addr]) {
    for a in addrs {
        out.extend_from_slice(&a.octets());
    }
}

/// Encode a message with its checksum. Queries: `v3: None` gives the 8-octet v1/v2 form
/// (code 0 is v1), `v3: Some` the 12 + 4N octet v3 form with reserved bits 0. Reports and
/// leaves are sent with code 0.
///
/// A message is valid, and round-trips through [`parse`], if its lists fit their wire
/// fields and its values are canonical: at most 65535 sources per query or record and
/// records per report, auxiliary data a multiple of 4 octets up to 1020, QRV at most 7, no
/// `RecordType::Unknown(1..=6)`. Otherwise `emit` still produces a well-formed message: it
/// truncates longer lists, zero-pads auxiliary data to a multiple of 4 octets (truncating at
/// 1020), sends a QRV above 7 as 0 (4.1.6) and `Unknown(n)` as type `n`.
pub fn emit(msg: &Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.wire_len());
    let code = match msg {
        Message::Query(q) => q.max_resp_code,
        _ => 0,
    };
    out.extend_from_slice(&[msg.message_type(), code, 0, 0]);
    match msg {
        Message::Query(q) => {
            out.extend_from_slice(&q.group.octets());
            if let Some(v3) = &q.v3 {
                let n = v3.sources.len().min(MAX_SOURCES);
                let flags = (u8::from(v3.suppress) << 3) | wire_qrv(v3.qrv);
                out.extend_from_slice(&[flags, v3.qqic]);
                out.extend_from_slice(&(n as u16).to_be_bytes());
                put_addrs(&mut out, &v3.sources[..n]);
            }
        }
        Message::V1Report { group } | Message::V2Report { group } | Message::V2Leave { group } => {
            out.extend_from_slice(&group.octets());
        }
        Message::V3Report(report) => {
            let m = report.records.len().min(MAX_RECORDS);
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&(m as u16).to_be_bytes());
            for rec in &report.records[..m] {
                let n = rec.sources.len().min(MAX_SOURCES);
                let words = aux_words(&rec.aux);
                out.extend_from_slice(&[rec.kind.to_u8(), words as u8]);
                out.extend_from_slice(&(n as u16).to_be_bytes());
                out.extend_from_slice(&rec.group.octets());
                put_addrs(&mut out, &rec.sources[..n]);
                let aux = &rec.aux[..rec.aux.len().min(4 * words)];
                out.extend_from_slice(aux);
                out.resize(out.len() + 4 * words - aux.len(), 0);
            }
        }
    }
    let c = checksum::checksum(&out);
    out[2..4].copy_from_slice(&c.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use testsupport::{Rng, fix_checksum};

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn rec(kind: RecordType, group: &str, sources: &[&str]) -> GroupRecord {
        GroupRecord {
            kind,
            group: a(group),
            sources: sources.iter().map(|s| a(s)).collect(),
            aux: Vec::new(),
        }
    }

    fn q3(code: u8, group: &str, s: bool, qrv: u8, qqic: u8, sources: &[&str]) -> Message {
        Message::Query(Query {
            max_resp_code: code,
            group: a(group),
            v3: Some(V3QueryFields {
                suppress: s,
                qrv,
                qqic,
                sources: sources.iter().map(|s| a(s)).collect(),
            }),
        })
    }

    fn q12(code: u8, group: &str) -> Message {
        Message::Query(Query {
            max_resp_code: code,
            group: a(group),
            v3: None,
        })
    }

    fn report(records: Vec<GroupRecord>) -> Message {
        Message::V3Report(V3Report { records })
    }

    /// (name, wire bytes, decoded message). Vectors marked "kernel" were captured from Linux
    /// 6.18 (host stack and bridge querier in two network namespaces joined by a veth pair;
    /// IGMP payload cut out of the pcap), so `emit` is checked byte for byte against the
    /// kernel's encoder.
    fn vectors() -> Vec<(&'static str, Vec<u8>, Message)> {
        vec![
            (
                "v1 general query (hand-made, RFC 1112 appendix I)",
                vec![
                    0x11, 0x00, // type Membership Query, code 0 = v1
                    0xee, 0xff, // checksum
                    0, 0, 0, 0, // group 0.0.0.0: general
                ],
                q12(0, "0.0.0.0"),
            ),
            (
                "v2 general query, code 100 = 10 s (hand-made)",
                vec![
                    0x11, 0x64, // type, Max Resp Time 100 tenths
                    0xee, 0x9b, // checksum = !0x1164
                    0, 0, 0, 0, // group
                ],
                q12(100, "0.0.0.0"),
            ),
            (
                "v2 general query (kernel: bridge querier, mcast_igmp_version 2)",
                vec![
                    0x11, 0x0a, // type, Max Resp Time 1 s
                    0xee, 0xf5, // checksum
                    0, 0, 0, 0, // group
                ],
                q12(10, "0.0.0.0"),
            ),
            (
                "v2 group-specific query after a leave (kernel: bridge querier)",
                vec![
                    0x11, 0x0a, // type, Max Resp Time (last member interval) 1 s
                    0xfc, 0xee, // checksum
                    239, 3, 3, 3, // group
                ],
                q12(10, "239.3.3.3"),
            ),
            (
                "v1 report (kernel: force_igmp_version=1)",
                vec![
                    0x12, 0x00, // type v1 Membership Report, unused
                    0xfb, 0xf8, // checksum
                    239, 3, 3, 3, // group
                ],
                Message::V1Report {
                    group: a("239.3.3.3"),
                },
            ),
            (
                "v2 report (kernel: force_igmp_version=2)",
                vec![
                    0x16, 0x00, // type v2 Membership Report, code 0
                    0xf7, 0xf8, // checksum
                    239, 3, 3, 3, // group
                ],
                Message::V2Report {
                    group: a("239.3.3.3"),
                },
            ),
            (
                "v2 leave (kernel: force_igmp_version=2, sent to 224.0.0.2)",
                vec![
                    0x17, 0x00, // type Leave Group, code 0
                    0xf6, 0xf8, // checksum
                    239, 3, 3, 3, // group
                ],
                Message::V2Leave {
                    group: a("239.3.3.3"),
                },
            ),
            (
                "v3 general query (kernel: bridge querier, mcast_igmp_version 3)",
                vec![
                    0x11, 0x0a, // type, Max Resp Code 10 = 1 s
                    0xec, 0xed, // checksum
                    0, 0, 0, 0,    // group 0.0.0.0
                    0x02, // Resv 0, S 0, QRV 2
                    0x08, // QQIC 8 s
                    0x00, 0x00, // Number of Sources 0
                ],
                q3(10, "0.0.0.0", false, 2, 8, &[]),
            ),
            (
                "v3 group-specific query with S flag (kernel: bridge querier)",
                vec![
                    0x11, 0x0a, // type, Max Resp Code 1 s
                    0xf3, 0xe8, // checksum
                    239, 2, 2, 2,    // group
                    0x0a, // Resv 0, S 1, QRV 2
                    0x08, // QQIC
                    0x00, 0x00, // no sources
                ],
                q3(10, "239.2.2.2", true, 2, 8, &[]),
            ),
            (
                "v3 group-and-source-specific query (kernel: bridge querier, after BLOCK)",
                vec![
                    0x11, 0x0a, // type, Max Resp Code
                    0xf2, 0xe0, // checksum
                    239, 1, 1, 1,    // group
                    0x02, // S 0, QRV 2
                    0x08, // QQIC
                    0x00, 0x01, // 1 source
                    10, 0, 0, 9, // source
                ],
                q3(10, "239.1.1.1", false, 2, 8, &["10.0.0.9"]),
            ),
            (
                "v3 general query, exponential code 0x89 = 20 s, QQIC 125 (hand-made)",
                vec![
                    0x11, 0x89, // type, Max Resp Code 1 000 1001: (0x19 << 3) = 200 tenths
                    0xeb, 0xf9, // checksum
                    0, 0, 0, 0, // group
                    0x02, 0x7d, // QRV 2, QQIC 125
                    0x00, 0x00, // no sources
                ],
                q3(0x89, "0.0.0.0", false, 2, 125, &[]),
            ),
            (
                "v3 group-and-source-specific query, S flag, 2 sources (hand-made)",
                vec![
                    0x11, 0x64, // type, code 100
                    0x0e, 0xe2, // checksum
                    232, 1, 1, 1, // group
                    0x0a, 0x7d, // S 1, QRV 2; QQIC 125
                    0x00, 0x02, // 2 sources
                    192, 0, 2, 1, // source 1
                    198, 51, 100, 2, // source 2
                ],
                q3(
                    100,
                    "232.1.1.1",
                    true,
                    2,
                    125,
                    &["192.0.2.1", "198.51.100.2"],
                ),
            ),
            (
                "v3 report ALLOW + TO_EX (kernel: one SSM join with 2 sources, one ASM join)",
                vec![
                    0x22, 0x00, // type v3 Report, reserved
                    0xe7, 0xf2, // checksum
                    0x00, 0x00, // reserved
                    0x00, 0x02, // 2 group records
                    0x05, 0x00, 0x00, 0x02, // ALLOW, aux 0, 2 sources
                    232, 1, 1, 1, // group
                    10, 0, 0, 1, // source
                    10, 0, 0, 2, // source
                    0x04, 0x00, 0x00, 0x00, // TO_EX, aux 0, 0 sources
                    239, 1, 1, 1, // group
                ],
                report(vec![
                    rec(RecordType::Allow, "232.1.1.1", &["10.0.0.1", "10.0.0.2"]),
                    rec(RecordType::ToEx, "239.1.1.1", &[]),
                ]),
            ),
            (
                "v3 report BLOCK + BLOCK (kernel: IP_DROP_SOURCE_MEMBERSHIP, IP_BLOCK_SOURCE)",
                vec![
                    0x22, 0x00, 0xe4, 0xea, // type, reserved, checksum
                    0x00, 0x00, 0x00, 0x02, // reserved, 2 records
                    0x06, 0x00, 0x00, 0x01, // BLOCK, 1 source
                    232, 1, 1, 1, // group
                    10, 0, 0, 2, // source
                    0x06, 0x00, 0x00, 0x01, // BLOCK, 1 source
                    239, 1, 1, 1, // group
                    10, 0, 0, 9, // source
                ],
                report(vec![
                    rec(RecordType::Block, "232.1.1.1", &["10.0.0.2"]),
                    rec(RecordType::Block, "239.1.1.1", &["10.0.0.9"]),
                ]),
            ),
            (
                "v3 report IS_IN + IS_IN + IS_EX (kernel: answer to a general query)",
                vec![
                    0x22, 0x00, 0xf1, 0xe1, // type, reserved, checksum
                    0x00, 0x00, 0x00, 0x03, // reserved, 3 records
                    0x01, 0x00, 0x00, 0x01, // IS_IN, 1 source
                    239, 2, 2, 2, // group
                    10, 0, 0, 3, // source
                    0x01, 0x00, 0x00, 0x01, // IS_IN, 1 source
                    232, 1, 1, 1, // group
                    10, 0, 0, 1, // source
                    0x02, 0x00, 0x00, 0x01, // IS_EX, 1 source
                    239, 1, 1, 1, // group
                    10, 0, 0, 9, // source
                ],
                report(vec![
                    rec(RecordType::IsIn, "239.2.2.2", &["10.0.0.3"]),
                    rec(RecordType::IsIn, "232.1.1.1", &["10.0.0.1"]),
                    rec(RecordType::IsEx, "239.1.1.1", &["10.0.0.9"]),
                ]),
            ),
            (
                "v3 report BLOCK + BLOCK + TO_IN (kernel: all sockets closed)",
                vec![
                    0x22, 0x00, 0xf0, 0xeb, // type, reserved, checksum
                    0x00, 0x00, 0x00, 0x03, // reserved, 3 records
                    0x06, 0x00, 0x00, 0x01, // BLOCK, 1 source
                    239, 2, 2, 2, // group
                    10, 0, 0, 3, // source
                    0x06, 0x00, 0x00, 0x01, // BLOCK, 1 source
                    232, 1, 1, 1, // group
                    10, 0, 0, 1, // source
                    0x03, 0x00, 0x00, 0x00, // TO_IN {}: leave
                    239, 1, 1, 1, // group
                ],
                report(vec![
                    rec(RecordType::Block, "239.2.2.2", &["10.0.0.3"]),
                    rec(RecordType::Block, "232.1.1.1", &["10.0.0.1"]),
                    rec(RecordType::ToIn, "239.1.1.1", &[]),
                ]),
            ),
            (
                "v3 report TO_IN with a source (kernel: EXCLUDE {} -> INCLUDE {s})",
                vec![
                    0x22, 0x00, 0xdf, 0xf5, // type, reserved, checksum
                    0x00, 0x00, 0x00, 0x01, // reserved, 1 record
                    0x03, 0x00, 0x00, 0x01, // TO_IN, 1 source
                    239, 2, 2, 2, // group
                    10, 0, 0, 3, // source
                ],
                report(vec![rec(RecordType::ToIn, "239.2.2.2", &["10.0.0.3"])]),
            ),
            (
                "v3 report of the bridge's own stack: TO_EX 224.0.0.106 (kernel)",
                vec![
                    0x22, 0x00, 0xf9, 0x93, // type, reserved, checksum
                    0x00, 0x00, 0x00, 0x01, // reserved, 1 record
                    0x04, 0x00, 0x00, 0x00, // TO_EX, no sources
                    224, 0, 0, 106, // all-snoopers
                ],
                report(vec![rec(RecordType::ToEx, "224.0.0.106", &[])]),
            ),
            (
                "v3 report with aux data and an unknown record type (hand-made)",
                vec![
                    0x22, 0x00, 0xb2, 0x51, // type, reserved, checksum
                    0x00, 0x00, 0x00, 0x02, // reserved, 2 records
                    0x01, 0x01, 0x00, 0x01, // IS_IN, aux 1 word, 1 source
                    224, 1, 2, 3, // group
                    192, 0, 2, 1, // source
                    0xde, 0xad, 0xbe, 0xef, // aux data
                    0x07, 0x00, 0x00, 0x00, // unknown type 7, no sources
                    224, 1, 2, 4, // group
                ],
                report(vec![
                    GroupRecord {
                        aux: vec![0xde, 0xad, 0xbe, 0xef],
                        ..rec(RecordType::IsIn, "224.1.2.3", &["192.0.2.1"])
                    },
                    rec(RecordType::Unknown(7), "224.1.2.4", &[]),
                ]),
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
            assert_eq!(msg.message_type(), bytes[0], "{name}: type");
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        for (name, bytes, _) in vectors() {
            for len in 0..bytes.len() {
                let cut = &bytes[..len];
                // As received: the checksum usually fails; it must be an error either way,
                // except an 8-octet prefix of a v3 query, which may be a valid v2 query.
                let r = parse(cut);
                if len < MIN_LEN {
                    assert_eq!(r, Err(ParseError::TooShort { len }), "{name} [..{len}]");
                } else if !(bytes[0] == MEMBERSHIP_QUERY && len == MIN_LEN) {
                    assert!(r.is_err(), "{name} [..{len}]: {r:?}");
                }
                // With a checksum that verifies, the length checks must catch it.
                let mut fixed = cut.to_vec();
                fix_checksum(&mut fixed);
                let r = parse(&fixed);
                match (bytes[0], len) {
                    (_, 0..=7) => assert_eq!(r, Err(ParseError::TooShort { len })),
                    (MEMBERSHIP_QUERY, 8) => assert!(
                        matches!(r, Ok(Message::Query(Query { v3: None, .. }))),
                        "{name} [..{len}]: {r:?}"
                    ),
                    (MEMBERSHIP_QUERY, 9..=11) => {
                        assert_eq!(r, Err(ParseError::BadLength { kind: "query", len }))
                    }
                    (MEMBERSHIP_QUERY, _) => assert_eq!(
                        r,
                        Err(ParseError::BadLength {
                            kind: "v3 query sources",
                            len
                        }),
                        "{name} [..{len}]"
                    ),
                    (V3_MEMBERSHIP_REPORT, _) => assert!(
                        matches!(r, Err(ParseError::Truncated { .. })),
                        "{name} [..{len}]: {r:?}"
                    ),
                    _ => unreachable!("8-octet messages have no truncation >= 8"),
                }
            }
        }
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
    fn query_lengths_rfc3376_7_1() {
        // 9, 10, 11 octets: neither v1/v2 nor v3.
        for len in 9..=11 {
            let mut b = vec![0x11, 0x64, 0, 0, 0, 0, 0, 0];
            b.resize(len, 0);
            fix_checksum(&mut b);
            let e = parse(&b).unwrap_err();
            assert_eq!(e, ParseError::BadLength { kind: "query", len });
            assert_eq!(e.kind(), "bad_length");
        }
        // A v3 query announcing 2 sources but carrying 1.
        let mut b = vec![
            0x11, 0x64, 0, 0, 0, 0, 0, 0, 0x02, 0x7d, 0x00, 0x02, 10, 0, 0, 1,
        ];
        fix_checksum(&mut b);
        assert_eq!(
            parse(&b),
            Err(ParseError::BadLength {
                kind: "v3 query sources",
                len: 16
            })
        );
        // Number of sources 0xffff in a 12-octet query.
        let mut b = vec![0x11, 0x64, 0, 0, 0, 0, 0, 0, 0x02, 0x7d, 0xff, 0xff];
        fix_checksum(&mut b);
        assert!(matches!(parse(&b), Err(ParseError::BadLength { .. })));
    }

    #[test]
    fn additional_data_is_checksummed_and_ignored() {
        for (name, bytes, msg) in vectors() {
            for extra in [1usize, 2, 3, 4, 7, 64] {
                let mut b = bytes.clone();
                b.extend((0..extra).map(|i| (i as u8).wrapping_mul(37).wrapping_add(1)));
                // Not yet covered by the checksum: rejected (the RFC includes it).
                assert_eq!(parse(&b), Err(ParseError::BadChecksum), "{name} +{extra}");
                fix_checksum(&mut b);
                let r = parse(&b);
                if bytes.len() == MIN_LEN && bytes[0] == MEMBERSHIP_QUERY {
                    // An 8-octet query grows into a 9-11 octet one or a v3 one.
                    assert!(
                        r.is_err() || matches!(r, Ok(Message::Query(Query { v3: Some(_), .. })))
                    );
                } else {
                    assert_eq!(r, Ok(msg.clone()), "{name} +{extra}");
                }
            }
        }
    }

    #[test]
    fn errors_have_stable_kinds_and_messages() {
        let cases = [
            (ParseError::TooShort { len: 3 }, "too_short"),
            (ParseError::BadChecksum, "bad_checksum"),
            (
                ParseError::BadLength {
                    kind: "query",
                    len: 10,
                },
                "bad_length",
            ),
            (ParseError::Truncated { what: "x" }, "truncated"),
            (ParseError::UnknownType(0x13), "unknown_type"),
        ];
        for (e, kind) in cases {
            assert_eq!(e.kind(), kind);
            assert!(ParseError::KINDS.contains(&kind));
            assert!(!e.to_string().is_empty());
        }
        assert_eq!(parse(&[]), Err(ParseError::TooShort { len: 0 }));
        assert_eq!(
            ParseError::UnknownType(0x13).to_string(),
            "unknown IGMP message type 0x13"
        );
    }

    #[test]
    fn unknown_types_dvmrp_included() {
        for t in [DVMRP, 0x00, 0x1e, 0x1f, 0x21, 0x23, 0xff] {
            let mut b = vec![t, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            fix_checksum(&mut b);
            assert_eq!(parse(&b), Err(ParseError::UnknownType(t)));
        }
        // The checksum is checked first.
        assert_eq!(
            parse(&[DVMRP, 0, 0, 0, 0, 0, 0, 0]),
            Err(ParseError::BadChecksum)
        );
    }

    #[test]
    fn v3_report_length_errors() {
        // Record header cut, sources cut, aux data cut.
        let cases: [(&[u8], &str); 4] = [
            (&[0x22, 0, 0, 0, 0, 0, 0, 1], "group record header"),
            (&[0x22, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0], "group record header"),
            (
                &[
                    0x22, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 2, 224, 0, 0, 9, 10, 0, 0, 1,
                ],
                "group record sources",
            ),
            (
                &[
                    0x22, 0, 0, 0, 0, 0, 0, 1, 1, 2, 0, 0, 224, 0, 0, 9, 1, 2, 3, 4, 5,
                ],
                "group record auxiliary data",
            ),
        ];
        for (b, what) in cases {
            let mut b = b.to_vec();
            fix_checksum(&mut b);
            assert_eq!(parse(&b), Err(ParseError::Truncated { what }), "{b:02x?}");
        }
        // M = 65535 records announced in a short buffer: an error, no huge allocation.
        let mut b = vec![0x22, 0, 0, 0, 0, 0, 0xff, 0xff, 4, 0, 0, 0, 239, 0, 0, 1];
        fix_checksum(&mut b);
        assert_eq!(
            parse(&b),
            Err(ParseError::Truncated {
                what: "group record header"
            })
        );
        // A report with no records is valid.
        let m = report(Vec::new());
        assert_eq!(emit(&m), vec![0x22, 0, 0xdd, 0xff, 0, 0, 0, 0]);
        assert_eq!(parse(&emit(&m)), Ok(m));
    }

    #[test]
    fn reserved_bits_and_report_code_are_ignored() {
        // v3 query with Resv bits set: parsed, S and QRV unaffected.
        let mut b = vec![0x11, 0x0a, 0, 0, 0, 0, 0, 0, 0xf2, 0x08, 0, 0];
        fix_checksum(&mut b);
        assert_eq!(parse(&b), Ok(q3(10, "0.0.0.0", false, 2, 8, &[])));
        // A v2 report with a non-zero code field and a v3 report with reserved octets set.
        let mut b = vec![0x16, 0x55, 0, 0, 239, 1, 1, 1];
        fix_checksum(&mut b);
        assert_eq!(
            parse(&b),
            Ok(Message::V2Report {
                group: a("239.1.1.1")
            })
        );
        let mut b = vec![0x22, 0x12, 0, 0, 0x34, 0x56, 0, 1, 4, 0, 0, 0, 239, 1, 1, 1];
        fix_checksum(&mut b);
        assert_eq!(
            parse(&b),
            Ok(report(vec![rec(RecordType::ToEx, "239.1.1.1", &[])]))
        );
    }

    #[test]
    fn random_garbage_never_panics() {
        let mut rng = Rng(0x1f2e_3d4c_5b6a_7988);
        let types = [0x11u8, 0x12, 0x13, 0x16, 0x17, 0x22];
        let mut ok = 0;
        for i in 0..20_000 {
            let len = rng.below(80) as usize;
            let mut b: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            // Most cases with a known type, small counts and a valid checksum, so that the
            // parser gets past the first checks.
            if i % 4 != 0 && len >= 8 {
                b[0] = types[rng.below(types.len() as u64) as usize];
                if rng.bool() && len >= 12 {
                    b[10] = 0;
                    b[11] = rng.below(8) as u8;
                }
                if rng.bool() {
                    b[6] = 0;
                    b[7] = rng.below(5) as u8;
                }
                fix_checksum(&mut b);
            }
            if let Ok(m) = parse(&b) {
                ok += 1;
                // What parses is canonical after one emit.
                assert_eq!(parse(&emit(&m)), Ok(m), "{b:02x?}");
            }
        }
        assert!(ok > 1000, "only {ok} random inputs parsed");
    }

    fn random_message(rng: &mut Rng) -> Message {
        let group = rng.addr();
        match rng.below(6) {
            0 => {
                let v3 = rng.bool().then(|| V3QueryFields {
                    suppress: rng.bool(),
                    qrv: rng.below(8) as u8,
                    qqic: rng.byte(),
                    sources: rng.addrs(40),
                });
                Message::Query(Query {
                    max_resp_code: rng.byte(),
                    group,
                    v3,
                })
            }
            1 => Message::V1Report { group },
            2 => Message::V2Report { group },
            3 => Message::V2Leave { group },
            _ => {
                let records = (0..rng.below(12))
                    .map(|_| {
                        let t = rng.byte();
                        GroupRecord {
                            // Unknown(1..=6) is not canonical (it parses as the known type).
                            kind: RecordType::from_u8(t),
                            group: rng.addr(),
                            sources: rng.addrs(20),
                            aux: (0..4 * rng.below(4)).map(|_| rng.byte()).collect(),
                        }
                    })
                    .collect();
                Message::V3Report(V3Report { records })
            }
        }
    }

    #[test]
    fn round_trip_random_messages() {
        let mut rng = Rng(42);
        for _ in 0..10_000 {
            let m = random_message(&mut rng);
            let b = emit(&m);
            assert_eq!(b.len(), m.wire_len());
            assert!(checksum::verify(&b));
            assert_eq!(parse(&b), Ok(m.clone()), "{b:02x?}");
        }
    }

    #[test]
    fn emit_normalises_invalid_messages() {
        // Aux data not a multiple of 4 is zero-padded; a QRV above 7 goes out as 0.
        let m = report(vec![GroupRecord {
            aux: vec![1, 2, 3, 4, 5],
            ..rec(RecordType::IsEx, "239.0.0.1", &[])
        }]);
        let b = emit(&m);
        assert_eq!(&b[8..12], &[2, 2, 0, 0]);
        assert_eq!(&b[16..], &[1, 2, 3, 4, 5, 0, 0, 0]);
        let Ok(Message::V3Report(r)) = parse(&b) else {
            panic!()
        };
        assert_eq!(r.records[0].aux, vec![1, 2, 3, 4, 5, 0, 0, 0]);
        let b = emit(&q3(10, "0.0.0.0", true, 9, 8, &[]));
        assert_eq!(b[8], 0x08);
        // Aux data beyond 255 words is cut.
        let m = report(vec![GroupRecord {
            aux: vec![7; 2000],
            ..rec(RecordType::IsEx, "239.0.0.1", &[])
        }]);
        let b = emit(&m);
        assert_eq!(b.len(), m.wire_len());
        assert_eq!(b.len(), 8 + 8 + MAX_AUX_LEN);
        assert!(parse(&b).is_ok());
    }

    #[test]
    fn codes_all_256() {
        for c in 0..=255u8 {
            let v = decode_code(c);
            assert_eq!(encode_code(v), c, "code {c:#04x}");
            assert_eq!(decode_code(encode_code(decode_code(c))), v);
            assert!(v <= MAX_CODE_VALUE);
            if c > 0 {
                assert!(decode_code(c - 1) < v, "monotonic at {c:#04x}");
            }
        }
    }

    #[test]
    fn codes_rfc_examples() {
        // RFC 3376 4.1.1: below 128 the value itself.
        assert_eq!(decode_code(0), 0);
        assert_eq!(decode_code(100), 100);
        assert_eq!(decode_code(127), 127);
        // 0x80: mant 0, exp 0 -> 0x10 << 3 = 128, continuing the linear range.
        assert_eq!(decode_code(0x80), 128);
        // RFC 6636 4.2: 20.0 s is "0b10001001" (mant 0b1001, exp 0b000) = 200 tenths.
        assert_eq!(decode_code(0b1000_1001), 200);
        assert_eq!(encode_code(200), 0b1000_1001);
        // The maximum: 0xff = 0x1f << 10 = 31744 (3174.4 s, or 31744 s for QQIC).
        assert_eq!(decode_code(0xff), MAX_CODE_VALUE);
        assert_eq!(encode_code(MAX_CODE_VALUE), 0xff);
        assert_eq!(encode_code(u32::MAX), 0xff);
        // The default QQIC 125 s and Max Resp 100 (10 s) are linear.
        assert_eq!(encode_code(125), 125);
        // Rounding down between representable values: 129..=135 -> 128, 255 -> 248.
        assert_eq!(encode_code(135), 0x80);
        assert_eq!(encode_code(255), 0x8f);
        assert_eq!(decode_code(0x8f), 248);
        assert_eq!(encode_code(256), 0x90);
        // Largest representable value not above v, for every v.
        let mut prev = 0;
        for v in 0..=40_000u32 {
            let c = encode_code(v);
            let d = decode_code(c);
            assert!(d <= v);
            if c < 0xff {
                assert!(decode_code(c + 1) > v, "{v}");
            }
            assert!(c >= prev);
            prev = c;
        }
    }

    #[test]
    fn query_helpers() {
        let q = Query::general_v1();
        assert_eq!(
            (q.version(), q.max_resp_time()),
            (1, Duration::from_secs(10))
        );
        assert!(q.is_general() && !q.is_group_specific());
        assert_eq!(
            emit(&Message::Query(q)),
            vec![0x11, 0, 0xee, 0xff, 0, 0, 0, 0]
        );

        let q = Query::general_v2(Duration::from_secs(10));
        assert_eq!((q.version(), q.max_resp_code), (2, 100));
        assert_eq!(q.max_resp_time(), Duration::from_secs(10));
        assert_eq!(
            emit(&Message::Query(q)),
            vec![0x11, 0x64, 0xee, 0x9b, 0, 0, 0, 0]
        );
        // v2 codes are clamped to 1..=255 (0 would be v1).
        assert_eq!(Query::general_v2(Duration::ZERO).max_resp_code, 1);
        assert_eq!(
            Query::general_v2(Duration::from_secs(60)).max_resp_code,
            255
        );
        let q = Query::group_specific_v2(a("239.1.2.3"), Duration::from_millis(1000));
        assert_eq!((q.version(), q.max_resp_code), (2, 10));
        assert!(q.is_group_specific() && !q.is_general());

        let q = Query::general_v3(Duration::from_secs(20), 2, Duration::from_secs(125));
        assert_eq!(q.version(), 3);
        assert_eq!(q.max_resp_code, 0x89);
        assert_eq!(q.max_resp_time(), Duration::from_secs(20));
        assert_eq!(q.v3.as_ref().unwrap().qqi(), Duration::from_secs(125));
        assert_eq!(
            emit(&Message::Query(q)),
            vec![0x11, 0x89, 0xeb, 0xf9, 0, 0, 0, 0, 0x02, 0x7d, 0, 0]
        );
        let q = Query::group_specific_v3(
            a("239.2.2.2"),
            Duration::from_secs(1),
            true,
            2,
            Duration::from_secs(8),
        );
        // Byte for byte what the Linux bridge querier sent.
        assert_eq!(
            emit(&Message::Query(q.clone())),
            vec![0x11, 0x0a, 0xf3, 0xe8, 239, 2, 2, 2, 0x0a, 0x08, 0, 0]
        );
        assert!(q.is_group_specific());
        let q = Query::group_and_source_specific_v3(
            a("239.1.1.1"),
            &[a("10.0.0.9")][..],
            Duration::from_secs(1),
            false,
            2,
            Duration::from_secs(8),
        );
        assert!(q.is_group_and_source_specific() && !q.is_group_specific());
        assert_eq!(q.sources(), &[a("10.0.0.9")]);
        assert_eq!(
            emit(&Message::Query(q)),
            vec![
                0x11, 0x0a, 0xf2, 0xe0, 239, 1, 1, 1, 0x02, 0x08, 0, 1, 10, 0, 0, 9
            ]
        );
        // QRV above 7 goes out as 0 (4.1.6); long times saturate; v3 exponential times.
        let q = Query::general_v3(Duration::from_secs(10_000), 8, Duration::from_secs(99_999));
        let v3 = q.v3.as_ref().unwrap();
        assert_eq!((q.max_resp_code, v3.qrv, v3.qqic), (0xff, 0, 0xff));
        assert_eq!(q.max_resp_time(), Duration::from_millis(3_174_400));
        assert_eq!(v3.qqi(), Duration::from_secs(31_744));
        let q = Query::general_v3(Duration::from_secs(64), 2, Duration::from_secs(300));
        assert_eq!(q.max_resp_time(), Duration::from_secs(64)); // 640 = 0x14 << 5, exact
        let q = Query::general_v3(Duration::from_secs(60), 2, Duration::from_secs(300));
        // 600 tenths is not representable: rounded down to 0x12 << 5 = 576.
        assert_eq!(q.max_resp_code, 0xa2);
        assert_eq!(q.max_resp_time(), Duration::from_millis(57_600));
        assert_eq!(q.v3.unwrap().qqi(), Duration::from_secs(288)); // 300 rounded down
        // A v3 query with code 0 is still v3, with 0 s.
        let Message::Query(q) = q3(0, "0.0.0.0", false, 2, 0, &[]) else {
            unreachable!()
        };
        assert_eq!((q.version(), q.max_resp_time()), (3, Duration::ZERO));
    }

    #[test]
    fn split_sources_fits_mtu() {
        let sources: Vec<Ipv4Addr> = (0..1000u32).map(Ipv4Addr::from).collect();
        assert_eq!(max_query_sources(1500), 366);
        for mtu in [68, 576, 1280, 1500, 9000] {
            let chunks: Vec<&[Ipv4Addr]> = split_sources(&sources, mtu).collect();
            assert_eq!(chunks.concat(), sources);
            for c in &chunks {
                let q = Query::group_and_source_specific_v3(
                    a("232.0.0.1"),
                    *c,
                    Duration::from_secs(1),
                    false,
                    2,
                    Duration::from_secs(125),
                );
                let len = emit(&Message::Query(q)).len();
                assert!(IP_HEADER_WITH_RA_LEN + len <= mtu, "mtu {mtu}: {len}");
            }
            // Only the last chunk may be short.
            for c in &chunks[..chunks.len() - 1] {
                assert_eq!(c.len(), max_query_sources(mtu));
            }
        }
        assert_eq!(split_sources(&[], 1500).count(), 0);
        // An MTU too small for one source still makes progress.
        assert_eq!(split_sources(&sources[..3], 10).count(), 3);
    }

    #[test]
    fn record_type_values() {
        for n in 0..=255u8 {
            let t = RecordType::from(n);
            assert_eq!(u8::from(t), n);
            assert_eq!(matches!(t, RecordType::Unknown(_)), !(1..=6).contains(&n));
        }
        assert!(RecordType::IsEx.is_current_state());
        assert!(RecordType::ToIn.is_filter_mode_change());
        assert!(RecordType::Block.is_source_list_change());
        assert_eq!(RecordType::Allow.to_string(), "ALLOW");
        assert_eq!(RecordType::Unknown(9).to_string(), "TYPE_9");
    }
}
