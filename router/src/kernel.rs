//! Requests to the kernel over rtnetlink: dumps, MFC writes, route lookups.
//!
//! One blocking NETLINK_ROUTE socket used strictly request/response (the event monitor
//! is a separate socket in [`crate::daemon`]). Every request asks for an ACK so that a
//! failed MFC write is noticed and reported with its errno.

use std::io;
use std::net::Ipv4Addr;
use std::time::Duration;

use crate::netlink::{self, Message, MfcEntry, NetlinkError, NlMsg, RouteInfo};
use crate::sys::NetlinkSocket;

/// An rtnetlink failure: the socket, or the kernel's answer.
#[derive(Debug, thiserror::Error)]
pub enum RtnlError {
    #[error("netlink socket: {0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Netlink(#[from] NetlinkError),
    #[error("no answer from the kernel within {0:?}")]
    Timeout(Duration),
}

impl RtnlError {
    /// The kernel's errno, if the kernel refused the request.
    pub fn errno(&self) -> Option<i32> {
        match self {
            RtnlError::Netlink(e) => e.errno(),
            RtnlError::Io(e) => e.raw_os_error(),
            RtnlError::Timeout(_) => None,
        }
    }
}

const TIMEOUT: Duration = Duration::from_secs(3);

/// The request socket.
pub struct Rtnl {
    sock: NetlinkSocket,
    seq: u32,
    buf: Vec<u8>,
}

impl Rtnl {
    pub fn open() -> io::Result<Self> {
        let sock = NetlinkSocket::open(&[], false)?;
        sock.set_read_timeout(TIMEOUT)?;
        Ok(Rtnl {
            sock,
            seq: 1,
            buf: vec![0; 1 << 16],
        })
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    fn recv(&mut self) -> Result<usize, RtnlError> {
        match self.sock.recv(&mut self.buf) {
            Ok(n) => Ok(n),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(RtnlError::Timeout(TIMEOUT))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Send a request and wait for its ACK.
    pub fn request(&mut self, build: impl FnOnce(u32) -> Vec<u8>) -> Result<(), RtnlError> {
        let seq = self.next_seq();
        self.sock.send(&build(seq))?;
        loop {
            let n = self.recv()?;
            for m in netlink::messages(&self.buf[..n]) {
                match m {
                    Ok(Message::Ack { seq: s }) if s == seq => return Ok(()),
                    Err(e) if e.seq() == Some(seq) => return Err(e.into()),
                    // Answers to older requests that timed out, or framing noise.
                    _ => {}
                }
            }
        }
    }

    /// Send a dump request and collect what `parse` extracts from each reply message.
    pub fn dump<T>(
        &mut self,
        build: impl FnOnce(u32) -> Vec<u8>,
        mut parse: impl FnMut(&NlMsg<'_>) -> Result<Option<T>, NetlinkError>,
    ) -> Result<Vec<T>, RtnlError> {
        let seq = self.next_seq();
        self.sock.send(&build(seq))?;
        let mut out = Vec::new();
        loop {
            let n = self.recv()?;
            for m in netlink::messages(&self.buf[..n]) {
                match m {
                    Ok(Message::Data(msg)) if msg.header.seq == seq => {
                        // One undecodable entry must not hide the others.
                        match parse(&msg) {
                            Ok(Some(t)) => out.push(t),
                            Ok(None) => {}
                            Err(e) => tracing::warn!("skipping undecodable netlink entry: {e}"),
                        }
                    }
                    Ok(Message::Done { seq: s, .. }) if s == seq => return Ok(out),
                    Err(e) if e.seq() == Some(seq) => return Err(e.into()),
                    _ => {}
                }
            }
        }
    }

    /// Write one MFC entry: (S,G) arriving on `iif_ifindex`, TTL thresholds by VIF.
    pub fn mfc_add(
        &mut self,
        table: u32,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iif_ifindex: u32,
        ttls: &[u8],
    ) -> Result<(), RtnlError> {
        let msg = netlink::build_mfc_add(0, table, source, group, iif_ifindex, ttls)?;
        self.request(|seq| with_seq(msg, seq))
    }

    /// Delete one MFC entry. `iif_ifindex` may be None when the input device is gone.
    pub fn mfc_del(
        &mut self,
        table: u32,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iif_ifindex: Option<u32>,
    ) -> Result<(), RtnlError> {
        self.request(|seq| netlink::build_mfc_del(seq, table, source, group, iif_ifindex))
    }

    /// All MFC entries of `table`, with counters.
    pub fn mfc_dump(&mut self, table: u32) -> Result<Vec<MfcEntry>, RtnlError> {
        let all = self.dump(
            |seq| netlink::build_mfc_dump(seq, Some(table)),
            netlink::parse_mfc,
        )?;
        Ok(all.into_iter().filter(|e| e.table == table).collect())
    }

    /// The MFC entry (source, group) of `table` with its counters, if there is one.
    pub fn mfc_get(
        &mut self,
        table: u32,
        source: Ipv4Addr,
        group: Ipv4Addr,
    ) -> Result<Option<MfcEntry>, RtnlError> {
        let found = self.get(
            |seq| netlink::build_mfc_get(seq, table, source, group),
            netlink::parse_mfc,
            &[libc::ENOENT],
        )?;
        Ok(found.flatten())
    }

    /// The kernel's unicast route towards `dst` (RPF lookup).
    pub fn route_get(&mut self, dst: Ipv4Addr) -> Result<Option<RouteInfo>, RtnlError> {
        let found = self.get(
            |seq| netlink::build_route_get(seq, dst),
            netlink::parse_route,
            &[libc::ENETUNREACH, libc::EHOSTUNREACH],
        )?;
        Ok(found.flatten())
    }

    /// One request with one answer, parsed by `parse`; `None` if the kernel answers with
    /// one of the `absent` errors.
    fn get<T>(
        &mut self,
        build: impl FnOnce(u32) -> Vec<u8>,
        parse: impl Fn(&netlink::NlMsg<'_>) -> Result<T, NetlinkError>,
        absent: &[i32],
    ) -> Result<Option<T>, RtnlError> {
        let seq = self.next_seq();
        self.sock.send(&build(seq))?;
        loop {
            let n = self.recv()?;
            for m in netlink::messages(&self.buf[..n]) {
                match m {
                    Ok(Message::Data(msg)) if msg.header.seq == seq => {
                        return Ok(Some(parse(&msg)?));
                    }
                    Err(e) if e.seq() == Some(seq) => {
                        if e.errno().is_some_and(|x| absent.contains(&x)) {
                            return Ok(None);
                        }
                        return Err(e.into());
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Patch the sequence number of an already built message.
fn with_seq(mut msg: Vec<u8>, seq: u32) -> Vec<u8> {
    msg[8..12].copy_from_slice(&seq.to_ne_bytes());
    msg
}

/// The kernel's name for a multicast table id: the default table is RT_TABLE_DEFAULT.
pub fn table_id(table: Option<u32>) -> u32 {
    table.unwrap_or(netlink::MROUTE_DEFAULT_TABLE)
}
