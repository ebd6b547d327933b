//! Netlink framing: the message builder, the datagram splitter and a bounds-checked
//! attribute iterator.
//!
//! Layouts (all fields host byte order, as in `linux/netlink.h`):
//!
//! ```text
//! struct nlmsghdr { u32 nlmsg_len; u16 nlmsg_type; u16 nlmsg_flags; u32 nlmsg_seq; u32 nlmsg_pid; }  // 16
//! struct nlattr / rtattr { u16 len; u16 type; }                                                        // 4
//! struct nlmsgerr { int error; struct nlmsghdr msg; /* + payload or ext-ack TLVs */ }                  // 4 + 16
//! ```
//!
//! Messages and attributes are padded to 4 bytes (`NLMSG_ALIGN`, `NLA_ALIGN`); the length
//! fields do not include the trailing padding of the last attribute.
//!
//! Nothing here panics on received bytes: every read is bounds-checked and reported as a
//! [`NetlinkError`]. The builder asserts only on programming errors (an attribute longer
//! than 64 KiB).

use std::net::Ipv4Addr;

use super::NetlinkError;

/// `NLMSG_HDRLEN`: size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// `NLA_HDRLEN` / `RTA_LENGTH(0)`: size of `struct nlattr` / `struct rtattr`.
pub const NLA_HDRLEN: usize = 4;

/// `NLA_F_NESTED` (linux/netlink.h), as the u16 it is on the wire.
pub const NLA_F_NESTED: u16 = libc::NLA_F_NESTED as u16;
/// `NLA_F_NET_BYTEORDER` (linux/netlink.h).
pub const NLA_F_NET_BYTEORDER: u16 = libc::NLA_F_NET_BYTEORDER as u16;
/// `NLA_TYPE_MASK` (linux/netlink.h): the attribute type without the two flag bits.
pub const NLA_TYPE_MASK: u16 = libc::NLA_TYPE_MASK as u16;

/// `NLMSGERR_ATTR_MSG` (linux/netlink.h, `enum nlmsgerr_attrs`): extended-ack error string.
pub const NLMSGERR_ATTR_MSG: u16 = 1;

/// Rounds up to the 4-byte netlink alignment (`NLMSG_ALIGN`, `NLA_ALIGN`, `RTA_ALIGN`).
pub const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

// Compile-time checks of the sizes we hard-code against the C structs that libc knows.
const _: () = assert!(NLMSG_HDRLEN == std::mem::size_of::<libc::nlmsghdr>());
const _: () = assert!(NLA_HDRLEN == std::mem::size_of::<libc::nlattr>());
const _: () = assert!(NLA_HDRLEN == std::mem::size_of::<libc::rtattr>());
const _: () = assert!(4 + NLMSG_HDRLEN == std::mem::size_of::<libc::nlmsgerr>());

// ---------------------------------------------------------------------------------------
// Little helpers for host-order reads from a checked slice.

pub(crate) fn rd_u16(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes([b[off], b[off + 1]])
}

pub(crate) fn rd_u32(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

pub(crate) fn rd_u64(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_ne_bytes(a)
}

/// Checks that `buf` holds at least `need` bytes for a `what`.
pub(crate) fn need(what: &'static str, buf: &[u8], need: usize) -> Result<(), NetlinkError> {
    if buf.len() < need {
        Err(NetlinkError::Truncated {
            what,
            need,
            have: buf.len(),
        })
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Header

/// `struct nlmsghdr`, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NlHeader {
    /// `nlmsg_len`: header plus payload, without trailing alignment padding.
    pub len: u32,
    /// `nlmsg_type`: `RTM_*` or `NLMSG_*`.
    pub msg_type: u16,
    /// `nlmsg_flags`: `NLM_F_*`.
    pub flags: u16,
    /// `nlmsg_seq`: echoed by the kernel in replies; 0 in multicast notifications.
    pub seq: u32,
    /// `nlmsg_pid`: port id of the sender (0 = kernel).
    pub pid: u32,
}

impl NlHeader {
    /// Size on the wire.
    pub const LEN: usize = NLMSG_HDRLEN;

    /// Decodes the first 16 bytes of `buf`.
    pub fn parse(buf: &[u8]) -> Result<Self, NetlinkError> {
        need("nlmsghdr", buf, Self::LEN)?;
        Ok(NlHeader {
            len: rd_u32(buf, 0),
            msg_type: rd_u16(buf, 4),
            flags: rd_u16(buf, 6),
            seq: rd_u32(buf, 8),
            pid: rd_u32(buf, 12),
        })
    }

    /// Encodes into 16 bytes.
    pub fn to_bytes(&self) -> [u8; NLMSG_HDRLEN] {
        let mut b = [0u8; NLMSG_HDRLEN];
        b[0..4].copy_from_slice(&self.len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.msg_type.to_ne_bytes());
        b[6..8].copy_from_slice(&self.flags.to_ne_bytes());
        b[8..12].copy_from_slice(&self.seq.to_ne_bytes());
        b[12..16].copy_from_slice(&self.pid.to_ne_bytes());
        b
    }

    /// `NLM_F_MULTI`: part of a multipart reply (a dump), ended by `NLMSG_DONE`.
    pub fn is_multi(&self) -> bool {
        self.flags & flags::MULTI != 0
    }

    /// `NLM_F_DUMP_INTR`: the kernel's table changed during the dump; the result may be
    /// inconsistent and the dump should be repeated.
    pub fn is_dump_interrupted(&self) -> bool {
        self.flags & flags::DUMP_INTR != 0
    }
}

/// `NLM_F_*` request and reply flags as `u16` (libc declares them as `c_int`).
pub mod flags {
    /// `NLM_F_REQUEST`: every request sets it.
    pub const REQUEST: u16 = libc::NLM_F_REQUEST as u16;
    /// `NLM_F_MULTI`: multipart message.
    pub const MULTI: u16 = libc::NLM_F_MULTI as u16;
    /// `NLM_F_ACK`: ask for an `NLMSG_ERROR` with error 0 on success.
    pub const ACK: u16 = libc::NLM_F_ACK as u16;
    /// `NLM_F_DUMP_INTR`: dump was inconsistent.
    pub const DUMP_INTR: u16 = libc::NLM_F_DUMP_INTR as u16;
    /// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`) on `RTM_GET*`.
    pub const DUMP: u16 = libc::NLM_F_DUMP as u16;
    /// `NLM_F_REPLACE` on `RTM_NEW*`.
    pub const REPLACE: u16 = libc::NLM_F_REPLACE as u16;
    /// `NLM_F_EXCL` on `RTM_NEW*`.
    pub const EXCL: u16 = libc::NLM_F_EXCL as u16;
    /// `NLM_F_CREATE` on `RTM_NEW*`.
    pub const CREATE: u16 = libc::NLM_F_CREATE as u16;
    /// `NLM_F_CAPPED` on `NLMSG_ERROR`: the echoed request is only its header.
    pub const CAPPED: u16 = libc::NLM_F_CAPPED as u16;
    /// `NLM_F_ACK_TLVS` on `NLMSG_ERROR`: extended-ack attributes follow.
    pub const ACK_TLVS: u16 = libc::NLM_F_ACK_TLVS as u16;
}

// ---------------------------------------------------------------------------------------
// Builder

/// Position of an open nested attribute, returned by [`MessageBuilder::begin_nested`].
#[derive(Debug)]
#[must_use = "close the nest with MessageBuilder::end_nested"]
pub struct Nest(usize);

/// Builds one netlink message: header, fixed payload struct, attributes.
///
/// `nlmsg_pid` is always 0 (the kernel fills in the sender's port id) and `nlmsg_len`
/// is set by [`finish`](Self::finish).
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    buf: Vec<u8>,
}

impl MessageBuilder {
    /// Starts a message with the given type, flags and sequence number.
    pub fn new(msg_type: u16, flags: u16, seq: u32) -> Self {
        let hdr = NlHeader {
            len: 0,
            msg_type,
            flags,
            seq,
            pid: 0,
        };
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&hdr.to_bytes());
        MessageBuilder { buf }
    }

    fn pad(&mut self) {
        let n = align4(self.buf.len());
        self.buf.resize(n, 0);
    }

    /// Appends the fixed payload struct (`rtmsg`, `ifinfomsg`, ...) padded to 4 bytes.
    pub fn payload(&mut self, bytes: &[u8]) -> &mut Self {
        self.pad();
        self.buf.extend_from_slice(bytes);
        self.pad();
        self
    }

    /// Appends one attribute. `rta_len` covers header and data; padding follows.
    ///
    /// # Panics
    /// If `data` is longer than 65531 bytes (a programming error: nothing we send is).
    pub fn attr(&mut self, kind: u16, data: &[u8]) -> &mut Self {
        let len = u16::try_from(NLA_HDRLEN + data.len()).expect("netlink attribute over 64 KiB");
        self.pad();
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    /// Appends a `u8` attribute.
    pub fn attr_u8(&mut self, kind: u16, v: u8) -> &mut Self {
        self.attr(kind, &[v])
    }

    /// Appends a host-order `u16` attribute.
    pub fn attr_u16(&mut self, kind: u16, v: u16) -> &mut Self {
        self.attr(kind, &v.to_ne_bytes())
    }

    /// Appends a host-order `u32` attribute.
    pub fn attr_u32(&mut self, kind: u16, v: u32) -> &mut Self {
        self.attr(kind, &v.to_ne_bytes())
    }

    /// Appends a host-order `u64` attribute.
    pub fn attr_u64(&mut self, kind: u16, v: u64) -> &mut Self {
        self.attr(kind, &v.to_ne_bytes())
    }

    /// Appends an IPv4 address attribute (network byte order, 4 bytes).
    pub fn attr_ipv4(&mut self, kind: u16, a: Ipv4Addr) -> &mut Self {
        self.attr(kind, &a.octets())
    }

    /// Appends a NUL-terminated string attribute.
    pub fn attr_str(&mut self, kind: u16, s: &str) -> &mut Self {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.attr(kind, &v)
    }

    /// Opens a nested attribute; everything appended until [`end_nested`](Self::end_nested)
    /// goes inside it. `kind` is written as given: or in [`NLA_F_NESTED`] yourself where
    /// the kernel wants it (legacy rtnetlink attributes do not).
    pub fn begin_nested(&mut self, kind: u16) -> Nest {
        self.pad();
        let at = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        Nest(at)
    }

    /// Closes a nested attribute opened by [`begin_nested`](Self::begin_nested).
    ///
    /// # Panics
    /// If the nest grew over 64 KiB (a programming error).
    pub fn end_nested(&mut self, nest: Nest) -> &mut Self {
        let len = u16::try_from(self.buf.len() - nest.0).expect("netlink nest over 64 KiB");
        self.buf[nest.0..nest.0 + 2].copy_from_slice(&len.to_ne_bytes());
        self.pad();
        self
    }

    /// Sets `nlmsg_len` and returns the message bytes.
    ///
    /// # Panics
    /// If the message exceeds 4 GiB (impossible in practice).
    pub fn finish(mut self) -> Vec<u8> {
        self.pad();
        let len = u32::try_from(self.buf.len()).expect("netlink message over 4 GiB");
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

// ---------------------------------------------------------------------------------------
// Datagram splitter

/// One data message (`RTM_*`): its header and the bytes after the header, up to
/// `nlmsg_len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NlMsg<'a> {
    /// The decoded `nlmsghdr`.
    pub header: NlHeader,
    /// Fixed struct (`rtmsg`, ...) followed by attributes.
    pub payload: &'a [u8],
}

impl<'a> NlMsg<'a> {
    /// Parses exactly one message from the start of `buf` (trailing bytes are ignored).
    pub fn parse(buf: &'a [u8]) -> Result<Self, NetlinkError> {
        let header = NlHeader::parse(buf)?;
        let len = header.len as usize;
        if len < NLMSG_HDRLEN || len > buf.len() {
            return Err(NetlinkError::BadLength {
                len: header.len,
                available: buf.len(),
            });
        }
        Ok(NlMsg {
            header,
            payload: &buf[NLMSG_HDRLEN..len],
        })
    }

    /// The message type (`RTM_NEWROUTE`, ...).
    pub fn msg_type(&self) -> u16 {
        self.header.msg_type
    }

    /// The attributes after a fixed struct of `fixed_len` bytes (aligned to 4).
    pub fn attrs_after(
        &self,
        what: &'static str,
        fixed_len: usize,
    ) -> Result<Attrs<'a>, NetlinkError> {
        need(what, self.payload, fixed_len)?;
        let start = align4(fixed_len).min(self.payload.len());
        Ok(Attrs::new(&self.payload[start..]))
    }
}

/// What one netlink message in a received datagram means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// An `RTM_*` message: a reply, a dump entry or a multicast notification.
    Data(NlMsg<'a>),
    /// `NLMSG_ERROR` with error 0: the request with this sequence number succeeded.
    Ack {
        /// Sequence number of the acknowledged request.
        seq: u32,
    },
    /// `NLMSG_DONE`: end of the multipart reply (dump) with this sequence number.
    Done {
        /// Sequence number of the dump request.
        seq: u32,
        /// `NLM_F_DUMP_INTR` was set: the dump may be inconsistent, repeat it.
        interrupted: bool,
    },
    /// `NLMSG_NOOP`: to be ignored.
    Noop,
    /// `NLMSG_OVERRUN`: data lost (never sent by current kernels; socket overruns are
    /// reported as `ENOBUFS` from `recv`).
    Overrun {
        /// Sequence number in the header.
        seq: u32,
    },
}

/// Splits a received datagram into messages; see [`messages`].
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: &'a [u8],
    failed: bool,
}

/// Iterates over the messages of one received datagram.
///
/// The kernel may pack several messages into one datagram (dumps always do). Each item
/// is a [`Message`], or an error:
///
/// * [`NetlinkError::Kernel`] for an `NLMSG_ERROR` with a negative errno (iteration goes
///   on: later messages may belong to other requests);
/// * [`NetlinkError::DumpAborted`] for an `NLMSG_DONE` that carries a negative errno (the
///   dump ended early, e.g. `-ENOENT` for a missing table with strict checking);
/// * [`NetlinkError::Truncated`] / [`NetlinkError::BadLength`] for broken framing, after
///   which iteration stops (the rest of the datagram cannot be trusted).
pub fn messages(datagram: &[u8]) -> Messages<'_> {
    Messages {
        rest: datagram,
        failed: false,
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, NetlinkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let msg = match NlMsg::parse(self.rest) {
            Ok(m) => m,
            Err(e) => {
                // Broken framing: nothing after this point can be located reliably.
                self.failed = true;
                return Some(Err(e));
            }
        };
        let adv = align4(msg.header.len as usize).min(self.rest.len());
        self.rest = &self.rest[adv..];
        Some(classify(msg))
    }
}

const NLMSG_NOOP: u16 = libc::NLMSG_NOOP as u16;
const NLMSG_ERROR: u16 = libc::NLMSG_ERROR as u16;
const NLMSG_DONE: u16 = libc::NLMSG_DONE as u16;
const NLMSG_OVERRUN: u16 = libc::NLMSG_OVERRUN as u16;

/// Interprets the control message types (`NLMSG_*` < 16); everything else is data.
pub fn classify(msg: NlMsg<'_>) -> Result<Message<'_>, NetlinkError> {
    let seq = msg.header.seq;
    match msg.header.msg_type {
        NLMSG_NOOP => Ok(Message::Noop),
        NLMSG_OVERRUN => Ok(Message::Overrun { seq }),
        NLMSG_DONE => {
            // Dumps carry an `int` status after the header; old or odd senders may not.
            let status = if msg.payload.len() >= 4 {
                rd_u32(msg.payload, 0) as i32
            } else {
                0
            };
            if status < 0 {
                Err(NetlinkError::DumpAborted {
                    errno: status.saturating_neg(),
                    seq,
                })
            } else {
                Ok(Message::Done {
                    seq,
                    interrupted: msg.header.is_dump_interrupted(),
                })
            }
        }
        NLMSG_ERROR => {
            // struct nlmsgerr { int error; struct nlmsghdr msg; ... }
            need("nlmsgerr", msg.payload, 4)?;
            let error = rd_u32(msg.payload, 0) as i32;
            if error == 0 {
                return Ok(Message::Ack { seq });
            }
            Err(NetlinkError::Kernel {
                errno: error.saturating_neg(),
                seq,
                message: ext_ack_message(&msg),
            })
        }
        _ => Ok(Message::Data(msg)),
    }
}

/// The `NLMSGERR_ATTR_MSG` string of an extended ack, if present and well formed.
fn ext_ack_message(msg: &NlMsg<'_>) -> Option<String> {
    if msg.header.flags & flags::ACK_TLVS == 0 {
        return None;
    }
    // After `int error` comes the request header, then (unless capped) its payload.
    let req = NlHeader::parse(msg.payload.get(4..)?).ok()?;
    let echoed = if msg.header.flags & flags::CAPPED != 0 {
        NLMSG_HDRLEN
    } else {
        align4(req.len as usize)
    };
    let tlvs = msg.payload.get(4usize.checked_add(echoed)?..)?;
    Attrs::new(tlvs)
        .filter_map(Result::ok)
        .find(|a| a.kind() == NLMSGERR_ATTR_MSG)
        .map(|a| a.string())
}

// ---------------------------------------------------------------------------------------
// Attributes

/// One attribute: type (flag bits split off) and data (without header or padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    raw_type: u16,
    /// The attribute data.
    pub data: &'a [u8],
}

impl<'a> Attr<'a> {
    /// The attribute type without `NLA_F_NESTED` / `NLA_F_NET_BYTEORDER`.
    pub fn kind(&self) -> u16 {
        self.raw_type & NLA_TYPE_MASK
    }

    /// Whether the sender flagged the attribute as nested (`NLA_F_NESTED`). Legacy
    /// rtnetlink nests (`RTA_MULTIPATH`, `IFLA_LINKINFO`, ...) do not set it.
    pub fn nested_flag(&self) -> bool {
        self.raw_type & NLA_F_NESTED != 0
    }

    fn fixed<const N: usize>(&self, what: &'static str) -> Result<[u8; N], NetlinkError> {
        // Like the kernel's nla_get_*: at least N bytes, extra bytes ignored.
        match self.data.get(..N) {
            Some(s) => {
                let mut a = [0u8; N];
                a.copy_from_slice(s);
                Ok(a)
            }
            None => Err(NetlinkError::BadAttribute {
                kind: self.kind(),
                len: self.data.len(),
                reason: what,
            }),
        }
    }

    /// Reads a `u8`.
    pub fn u8(&self) -> Result<u8, NetlinkError> {
        Ok(self.fixed::<1>("shorter than u8")?[0])
    }

    /// Reads a host-order `u16`.
    pub fn u16(&self) -> Result<u16, NetlinkError> {
        Ok(u16::from_ne_bytes(self.fixed("shorter than u16")?))
    }

    /// Reads a host-order `u32`.
    pub fn u32(&self) -> Result<u32, NetlinkError> {
        Ok(u32::from_ne_bytes(self.fixed("shorter than u32")?))
    }

    /// Reads a host-order `u64`.
    pub fn u64(&self) -> Result<u64, NetlinkError> {
        Ok(u64::from_ne_bytes(self.fixed("shorter than u64")?))
    }

    /// Reads an IPv4 address (network byte order).
    pub fn ipv4(&self) -> Result<Ipv4Addr, NetlinkError> {
        Ok(Ipv4Addr::from(
            self.fixed::<4>("shorter than an IPv4 address")?,
        ))
    }

    /// Reads a string up to the first NUL (or the end), replacing invalid UTF-8.
    pub fn string(&self) -> String {
        let end = self
            .data
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.data.len());
        String::from_utf8_lossy(&self.data[..end]).into_owned()
    }

    /// Iterates over the attributes nested in this one.
    pub fn nested(&self) -> Attrs<'a> {
        Attrs::new(self.data)
    }
}

/// Bounds-checked iterator over a run of attributes.
///
/// Follows the kernel's `nla_ok`: an attribute whose length is below 4 or beyond the
/// remaining bytes is an error ([`NetlinkError::BadAttribute`]), after which iteration
/// stops. Fewer than 4 trailing bytes are ignored, as the kernel does.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Attrs<'a> {
    /// Iterates over the attributes in `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Attrs {
            rest: buf,
            failed: false,
        }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, NetlinkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.len() < NLA_HDRLEN {
            return None;
        }
        let len = rd_u16(self.rest, 0) as usize;
        let raw_type = rd_u16(self.rest, 2);
        if len < NLA_HDRLEN || len > self.rest.len() {
            self.failed = true;
            return Some(Err(NetlinkError::BadAttribute {
                kind: raw_type & NLA_TYPE_MASK,
                len,
                reason: "length outside the enclosing message",
            }));
        }
        let data = &self.rest[NLA_HDRLEN..len];
        let adv = align4(len).min(self.rest.len());
        self.rest = &self.rest[adv..];
        Some(Ok(Attr { raw_type, data }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_pads_and_nests() {
        let mut b = MessageBuilder::new(0x1234, flags::REQUEST, 7);
        b.payload(&[1, 2, 3]);
        b.attr_u8(1, 0xaa);
        let n = b.begin_nested(2 | NLA_F_NESTED);
        b.attr_u16(3, 0xbeef);
        b.attr_str(4, "ab");
        b.end_nested(n);
        let m = b.finish();
        assert_eq!(m.len() % 4, 0);
        let msg = NlMsg::parse(&m).unwrap();
        assert_eq!(msg.header.len as usize, m.len());
        assert_eq!(msg.header.msg_type, 0x1234);
        assert_eq!(msg.header.seq, 7);
        assert_eq!(msg.header.pid, 0);
        let attrs: Vec<_> = msg
            .attrs_after("test", 3)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs[0].kind(), 1);
        assert_eq!(attrs[0].u8().unwrap(), 0xaa);
        assert_eq!(attrs[1].kind(), 2);
        assert!(attrs[1].nested_flag());
        // The nest's length covers its inner attributes with their padding, as the
        // kernel's nla_nest_end does: u16 attr (6 -> 8) + "ab\0" attr (7 -> 8).
        assert_eq!(attrs[1].data.len(), 16);
        let inner: Vec<_> = attrs[1].nested().map(Result::unwrap).collect();
        assert_eq!(inner[0].u16().unwrap(), 0xbeef);
        assert_eq!(inner[1].string(), "ab");
    }

    #[test]
    fn attr_errors() {
        // length 3 < header
        let bad = [3u8, 0, 1, 0, 0, 0, 0, 0];
        let v: Vec<_> = Attrs::new(&bad).collect();
        assert_eq!(v.len(), 1);
        assert!(matches!(v[0], Err(NetlinkError::BadAttribute { .. })));
        // length beyond the buffer
        let bad = [12u8, 0, 1, 0, 0, 0, 0, 0];
        assert!(Attrs::new(&bad).next().unwrap().is_err());
        // short u32
        let a = [6u8, 0, 1, 0, 9, 9];
        let attr = Attrs::new(&a).next().unwrap().unwrap();
        assert!(attr.u32().is_err());
        assert_eq!(attr.u16().unwrap(), u16::from_ne_bytes([9, 9]));
        // last attribute without padding is fine; < 4 trailing bytes ignored
        let a = [5u8, 0, 1, 0, 7, 0xff];
        let v: Vec<_> = Attrs::new(&a).collect();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].as_ref().unwrap().u8().unwrap(), 7);
    }

    fn ack_bytes(seq: u32, error: i32) -> Vec<u8> {
        let mut b = MessageBuilder::new(NLMSG_ERROR, 0, seq);
        let mut p = error.to_ne_bytes().to_vec();
        p.extend_from_slice(
            &NlHeader {
                len: 16,
                msg_type: 24,
                flags: 5,
                seq,
                pid: 0,
            }
            .to_bytes(),
        );
        b.payload(&p);
        b.finish()
    }

    #[test]
    fn splitter_acks_errors_done() {
        let mut d = ack_bytes(1, 0);
        d.extend(ack_bytes(2, -libc::ENFILE));
        let mut done = MessageBuilder::new(NLMSG_DONE, flags::MULTI, 3);
        done.payload(&0i32.to_ne_bytes());
        d.extend(done.finish());
        let mut done = MessageBuilder::new(NLMSG_DONE, flags::MULTI, 4);
        done.payload(&(-libc::ENOENT).to_ne_bytes());
        d.extend(done.finish());
        d.extend(MessageBuilder::new(NLMSG_NOOP, 0, 0).finish());
        let v: Vec<_> = messages(&d).collect();
        assert_eq!(v.len(), 5);
        assert_eq!(v[0], Ok(Message::Ack { seq: 1 }));
        assert_eq!(
            v[1],
            Err(NetlinkError::Kernel {
                errno: libc::ENFILE,
                seq: 2,
                message: None
            })
        );
        assert_eq!(
            v[2],
            Ok(Message::Done {
                seq: 3,
                interrupted: false
            })
        );
        assert_eq!(
            v[3],
            Err(NetlinkError::DumpAborted {
                errno: libc::ENOENT,
                seq: 4
            })
        );
        assert_eq!(v[4], Ok(Message::Noop));
    }

    #[test]
    fn splitter_stops_on_bad_framing() {
        let mut d = ack_bytes(1, 0);
        d.extend_from_slice(&[1, 2, 3]);
        let v: Vec<_> = messages(&d).collect();
        assert_eq!(v.len(), 2);
        assert!(matches!(v[1], Err(NetlinkError::Truncated { .. })));

        let mut d = ack_bytes(1, 0);
        d[0] = 200; // nlmsg_len beyond the datagram
        let v: Vec<_> = messages(&d).collect();
        assert_eq!(v.len(), 1);
        assert!(matches!(v[0], Err(NetlinkError::BadLength { .. })));

        let mut d = ack_bytes(1, 0);
        d[0..4].copy_from_slice(&8u32.to_ne_bytes()); // below the header size
        assert!(matches!(
            messages(&d).next(),
            Some(Err(NetlinkError::BadLength { .. }))
        ));
        assert!(messages(&[]).next().is_none());

        // A short NLMSG_ERROR body is an error for that message only.
        let mut d = MessageBuilder::new(NLMSG_ERROR, 0, 5).finish();
        d.extend(ack_bytes(6, 0));
        let v: Vec<_> = messages(&d).collect();
        assert!(matches!(v[0], Err(NetlinkError::Truncated { .. })));
        assert_eq!(v[1], Ok(Message::Ack { seq: 6 }));
    }

    #[test]
    fn ext_ack_message_is_extracted() {
        // NLMSG_ERROR, flags CAPPED|ACK_TLVS, error -EINVAL, request header, MSG TLV.
        let mut p = (-libc::EINVAL).to_ne_bytes().to_vec();
        p.extend_from_slice(
            &NlHeader {
                len: 44,
                msg_type: 24,
                flags: 5,
                seq: 9,
                pid: 0,
            }
            .to_bytes(),
        );
        let mut b = MessageBuilder::new(NLMSG_ERROR, flags::CAPPED | flags::ACK_TLVS, 9);
        b.payload(&p);
        b.attr_str(NLMSGERR_ATTR_MSG, "Invalid thing");
        let m = b.finish();
        assert_eq!(
            messages(&m).next(),
            Some(Err(NetlinkError::Kernel {
                errno: libc::EINVAL,
                seq: 9,
                message: Some("Invalid thing".into())
            }))
        );
    }
}
