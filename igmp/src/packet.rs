//! IGMP message codec: v1 (RFC 1112), v2 (RFC 2236), v3 (RFC 3376 section 4, RFC 9776).
//!
//! TYPES ARE FIXED (other modules use them); parse/emit are being implemented.

use std::net::Ipv4Addr;

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
