//! The `MCST` payload header carried at the start of every datagram `mcast send` emits.
//!
//! Layout (all integers big-endian), [`HEADER_LEN`] = 28 bytes:
//!
//! ```text
//!  0..4   magic      b"MCST"
//!  4      version    1
//!  5..8   reserved   zero on send, ignored on receive
//!  8..12  sender     u32, random per sender process (tells two senders at one source apart)
//! 12..20  seq        u64, 0 for the first datagram of a run, +1 per datagram (failed sends
//!                    consume their number too, so receivers see them as lost)
//! 20..28  sent_ns    u64, CLOCK_REALTIME nanoseconds since the UNIX epoch at send time
//! ```
//!
//! The rest of the datagram (up to `--size`) is zero padding and is not checked.

use std::fmt;

/// The four magic bytes every payload starts with.
pub const MAGIC: [u8; 4] = *b"MCST";
/// The header version this code emits and accepts.
pub const VERSION: u8 = 1;
/// Length of the fixed header; the smallest valid datagram.
pub const HEADER_LEN: usize = 28;

/// The decoded payload header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Sender id, chosen at random by each sender process (or fixed with `--sender-id`).
    pub sender: u32,
    /// Sequence number, starting at 0.
    pub seq: u64,
    /// Send time, nanoseconds since the UNIX epoch (CLOCK_REALTIME).
    pub sent_ns: u64,
}

/// Why a datagram is not a valid `MCST` payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadError {
    /// Shorter than [`HEADER_LEN`].
    TooShort(usize),
    /// Does not start with [`MAGIC`].
    BadMagic,
    /// Magic matches but the version is not [`VERSION`].
    UnsupportedVersion(u8),
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadError::TooShort(n) => {
                write!(
                    f,
                    "payload too short: {n} bytes, need at least {HEADER_LEN}"
                )
            }
            PayloadError::BadMagic => write!(f, "payload does not start with MCST"),
            PayloadError::UnsupportedVersion(v) => write!(f, "unsupported payload version {v}"),
        }
    }
}

impl std::error::Error for PayloadError {}

impl Header {
    /// Writes the header into the first [`HEADER_LEN`] bytes of `buf`; the rest of `buf` is
    /// left untouched (callers zero it once).
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than [`HEADER_LEN`] (a programming error: the CLI enforces
    /// `--size >= HEADER_LEN`).
    pub fn emit(&self, buf: &mut [u8]) {
        assert!(
            buf.len() >= HEADER_LEN,
            "buffer of {} bytes cannot hold the {HEADER_LEN}-byte header",
            buf.len()
        );
        buf[0..4].copy_from_slice(&MAGIC);
        buf[4] = VERSION;
        buf[5..8].fill(0);
        buf[8..12].copy_from_slice(&self.sender.to_be_bytes());
        buf[12..20].copy_from_slice(&self.seq.to_be_bytes());
        buf[20..28].copy_from_slice(&self.sent_ns.to_be_bytes());
    }

    /// Parses the header at the start of `buf`. Never panics; trailing bytes are ignored.
    pub fn parse(buf: &[u8]) -> Result<Header, PayloadError> {
        let Some(h) = buf.get(..HEADER_LEN) else {
            return Err(PayloadError::TooShort(buf.len()));
        };
        if h[0..4] != MAGIC {
            return Err(PayloadError::BadMagic);
        }
        if h[4] != VERSION {
            return Err(PayloadError::UnsupportedVersion(h[4]));
        }
        let be_u64 = |r: std::ops::Range<usize>| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&h[r]);
            u64::from_be_bytes(b)
        };
        let mut s = [0u8; 4];
        s.copy_from_slice(&h[8..12]);
        Ok(Header {
            sender: u32::from_be_bytes(s),
            seq: be_u64(12..20),
            sent_ns: be_u64(20..28),
        })
    }
}

/// Free-function form of [`Header::parse`].
pub fn parse(buf: &[u8]) -> Result<Header, PayloadError> {
    Header::parse(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for h in [
            Header {
                sender: 0,
                seq: 0,
                sent_ns: 0,
            },
            Header {
                sender: 0xdead_beef,
                seq: 42,
                sent_ns: 1_700_000_000_123_456_789,
            },
            Header {
                sender: u32::MAX,
                seq: u64::MAX,
                sent_ns: u64::MAX,
            },
        ] {
            let mut buf = [0u8; HEADER_LEN];
            h.emit(&mut buf);
            assert_eq!(Header::parse(&buf), Ok(h));
            // With padding, trailing bytes are ignored.
            let mut big = vec![0xaau8; 1400];
            h.emit(&mut big);
            assert_eq!(parse(&big), Ok(h));
        }
    }

    #[test]
    fn exact_layout() {
        let h = Header {
            sender: 0x0102_0304,
            seq: 0x0506_0708_090a_0b0c,
            sent_ns: 0x0d0e_0f10_1112_1314,
        };
        let mut buf = [0xffu8; HEADER_LEN];
        h.emit(&mut buf);
        assert_eq!(
            buf,
            [
                b'M', b'C', b'S', b'T', 1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                15, 16, 0x11, 0x12, 0x13, 0x14
            ]
        );
    }

    #[test]
    fn short_buffers() {
        let mut buf = [0u8; HEADER_LEN];
        Header {
            sender: 1,
            seq: 2,
            sent_ns: 3,
        }
        .emit(&mut buf);
        for n in 0..HEADER_LEN {
            assert_eq!(Header::parse(&buf[..n]), Err(PayloadError::TooShort(n)));
        }
    }

    #[test]
    fn bad_magic_and_version() {
        let mut buf = [0u8; HEADER_LEN];
        Header {
            sender: 1,
            seq: 2,
            sent_ns: 3,
        }
        .emit(&mut buf);
        let mut bad = buf;
        bad[0] = b'X';
        assert_eq!(Header::parse(&bad), Err(PayloadError::BadMagic));
        let mut v2 = buf;
        v2[4] = 2;
        assert_eq!(Header::parse(&v2), Err(PayloadError::UnsupportedVersion(2)));
        // Reserved bytes are ignored.
        let mut r = buf;
        r[5] = 7;
        assert!(Header::parse(&r).is_ok());
    }

    #[test]
    fn garbage_never_panics() {
        // A simple deterministic pseudo-random generator (xorshift) over many lengths.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 0..200 {
            let buf: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let _ = Header::parse(&buf);
        }
    }

    #[test]
    #[should_panic]
    fn emit_into_short_buffer_panics() {
        Header {
            sender: 1,
            seq: 2,
            sent_ns: 3,
        }
        .emit(&mut [0u8; 10]);
    }
}
