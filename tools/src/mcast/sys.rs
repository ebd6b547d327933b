//! The few raw libc calls that socket2 does not wrap: source filters by interface index
//! (`MCAST_JOIN_SOURCE_GROUP`, `MCAST_BLOCK_SOURCE`), `IP_MULTICAST_IF` by index,
//! `recvmsg` with `IP_PKTINFO` / `SO_TIMESTAMPNS` / `SO_RXQ_OVFL` control messages, `poll`,
//! interface lookup, a SIGINT/SIGTERM flag and the timer slack. Everything unsafe in the
//! `mcast` tool lives here, each block with its SAFETY argument.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::mem;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use libc::{c_int, c_void, socklen_t};

/// `SO_TIMESTAMPNS` (asm-generic and x86 value; the old 32-bit-time_t variant, whose
/// `timespec` matches the 64-bit layout on 64-bit targets).
const SO_TIMESTAMPNS: c_int = 35;
const SCM_TIMESTAMPNS: c_int = SO_TIMESTAMPNS;
/// `SO_RXQ_OVFL`: a `u32` drop counter with each datagram.
const SO_RXQ_OVFL: c_int = 40;

fn cvt(rc: c_int) -> io::Result<c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// `setsockopt` with a plain-old-data C value.
fn setsockopt<T: Copy>(fd: RawFd, level: c_int, name: c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` is a valid, initialised `T` that lives for the whole call and the
    // length passed is exactly its size; the kernel only reads (copies) it.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            ptr::from_ref(value).cast::<c_void>(),
            mem::size_of::<T>() as socklen_t,
        )
    };
    cvt(rc).map(drop)
}

fn in_addr(a: Ipv4Addr) -> libc::in_addr {
    libc::in_addr {
        s_addr: u32::from(a).to_be(),
    }
}

fn sockaddr_storage_v4(a: Ipv4Addr) -> libc::sockaddr_storage {
    // SAFETY: `sockaddr_storage` is a C struct of integers and byte arrays, for which the
    // all-zero bit pattern is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: in_addr(a),
        sin_zero: [0; 8],
    };
    const _: () =
        assert!(mem::size_of::<libc::sockaddr_in>() <= mem::size_of::<libc::sockaddr_storage>());
    // SAFETY: `sockaddr_storage` is larger than `sockaddr_in` (checked at compile time) and
    // suitably aligned for it (that is its purpose); we write one value into it.
    unsafe { ptr::write(ptr::from_mut(&mut ss).cast::<libc::sockaddr_in>(), sin) };
    ss
}

/// `IP_MULTICAST_IF` with an `ip_mreqn`: send multicast out of interface `ifindex`, with
/// `addr` as the default source address.
pub fn set_multicast_if(sock: &impl AsRawFd, ifindex: u32, addr: Ipv4Addr) -> io::Result<()> {
    let mreqn = libc::ip_mreqn {
        imr_multiaddr: in_addr(Ipv4Addr::UNSPECIFIED),
        imr_address: in_addr(addr),
        imr_ifindex: ifindex as c_int,
    };
    setsockopt(
        sock.as_raw_fd(),
        libc::IPPROTO_IP,
        libc::IP_MULTICAST_IF,
        &mreqn,
    )
}

fn group_source_req(group: Ipv4Addr, source: Ipv4Addr, ifindex: u32) -> libc::group_source_req {
    libc::group_source_req {
        gsr_interface: ifindex,
        gsr_group: sockaddr_storage_v4(group),
        gsr_source: sockaddr_storage_v4(source),
    }
}

/// `MCAST_JOIN_SOURCE_GROUP` (the index-based `IP_ADD_SOURCE_MEMBERSHIP`); `ifindex` 0 lets
/// the kernel pick the interface by a route lookup of the group.
pub fn join_source_group(
    sock: &impl AsRawFd,
    group: Ipv4Addr,
    source: Ipv4Addr,
    ifindex: u32,
) -> io::Result<()> {
    let req = group_source_req(group, source, ifindex);
    setsockopt(
        sock.as_raw_fd(),
        libc::IPPROTO_IP,
        libc::MCAST_JOIN_SOURCE_GROUP,
        &req,
    )
}

/// `MCAST_BLOCK_SOURCE` (the index-based `IP_BLOCK_SOURCE`) on an any-source membership.
pub fn block_source(
    sock: &impl AsRawFd,
    group: Ipv4Addr,
    source: Ipv4Addr,
    ifindex: u32,
) -> io::Result<()> {
    let req = group_source_req(group, source, ifindex);
    setsockopt(
        sock.as_raw_fd(),
        libc::IPPROTO_IP,
        libc::MCAST_BLOCK_SOURCE,
        &req,
    )
}

/// Turns on the control messages [`recv_msg`] decodes: `IP_PKTINFO`, `SO_TIMESTAMPNS`,
/// `SO_RXQ_OVFL`.
pub fn enable_recv_metadata(sock: &impl AsRawFd) -> io::Result<()> {
    let fd = sock.as_raw_fd();
    let one: c_int = 1;
    setsockopt(fd, libc::IPPROTO_IP, libc::IP_PKTINFO, &one)?;
    setsockopt(fd, libc::SOL_SOCKET, SO_TIMESTAMPNS, &one)?;
    // Drop counting is a diagnostic; older kernels may lack it.
    let _ = setsockopt(fd, libc::SOL_SOCKET, SO_RXQ_OVFL, &one);
    Ok(())
}

/// `SO_RCVBUFFORCE` (needs CAP_NET_ADMIN, exceeds `rmem_max`).
pub fn force_recv_buffer(sock: &impl AsRawFd, bytes: usize) -> io::Result<()> {
    let v = c_int::try_from(bytes).unwrap_or(c_int::MAX);
    setsockopt(sock.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &v)
}

/// One datagram's metadata from [`recv_msg`].
#[derive(Debug, Clone, Copy)]
pub struct RecvMeta {
    /// Bytes copied into the buffer.
    pub len: usize,
    /// Sender's address.
    pub src: SocketAddrV4,
    /// Destination address of the IP header (`IP_PKTINFO` `ipi_addr`).
    pub dst: Option<Ipv4Addr>,
    /// Arrival interface (`ipi_ifindex`).
    pub ifindex: Option<u32>,
    /// Kernel receive timestamp, ns since the UNIX epoch (`SO_TIMESTAMPNS`).
    pub rx_ns: Option<u64>,
    /// The socket's cumulative drop counter (`SO_RXQ_OVFL`), if reported.
    pub drops: Option<u32>,
}

/// Non-blocking `recvmsg` of one datagram (`MSG_DONTWAIT`; `WouldBlock` when none is
/// queued) with its control messages decoded.
pub fn recv_msg(sock: &impl AsRawFd, buf: &mut [u8]) -> io::Result<RecvMeta> {
    // u64 elements give the alignment `cmsghdr` needs.
    let mut control = [0u64; 32];
    // SAFETY: all-zero is a valid `sockaddr_in` (integers and a byte array).
    let mut from: libc::sockaddr_in = unsafe { mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: all-zero is a valid `msghdr` (null pointers, zero lengths); fields set below.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = ptr::from_mut(&mut from).cast();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_in>() as socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = mem::size_of_val(&control);
    // SAFETY: every pointer in `msg` refers to a live local (`from`, `iov` -> `buf`,
    // `control`) whose length is given alongside, and all outlive the call.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut meta = RecvMeta {
        len: n as usize,
        src: SocketAddrV4::new(
            Ipv4Addr::from(u32::from_be(from.sin_addr.s_addr)),
            u16::from_be(from.sin_port),
        ),
        dst: None,
        ifindex: None,
        rx_ns: None,
        drops: None,
    };
    // SAFETY: `msg` was filled by a successful recvmsg, so msg_control/msg_controllen
    // describe initialised control data inside `control`; CMSG_FIRSTHDR/CMSG_NXTHDR stay
    // within it and return null at the end. Each payload is read with `read_unaligned`
    // only after checking its type and that `cmsg_len` covers the value read.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let h = &*cmsg;
            let data = libc::CMSG_DATA(cmsg);
            let avail = h.cmsg_len.saturating_sub(libc::CMSG_LEN(0) as usize);
            match (h.cmsg_level, h.cmsg_type) {
                (libc::IPPROTO_IP, libc::IP_PKTINFO)
                    if avail >= mem::size_of::<libc::in_pktinfo>() =>
                {
                    let pi = ptr::read_unaligned(data.cast::<libc::in_pktinfo>());
                    meta.dst = Some(Ipv4Addr::from(u32::from_be(pi.ipi_addr.s_addr)));
                    meta.ifindex = u32::try_from(pi.ipi_ifindex).ok();
                }
                (libc::SOL_SOCKET, SCM_TIMESTAMPNS)
                    if avail >= mem::size_of::<libc::timespec>() =>
                {
                    let ts = ptr::read_unaligned(data.cast::<libc::timespec>());
                    if let (Ok(s), Ok(ns)) = (u64::try_from(ts.tv_sec), u64::try_from(ts.tv_nsec)) {
                        meta.rx_ns = Some(s.saturating_mul(1_000_000_000).saturating_add(ns));
                    }
                }
                (libc::SOL_SOCKET, SO_RXQ_OVFL) if avail >= mem::size_of::<u32>() => {
                    meta.drops = Some(ptr::read_unaligned(data.cast::<u32>()));
                }
                _ => {}
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok(meta)
}

/// Waits until one of `fds` is readable or `timeout` passes; fills `ready` with the indices
/// (into `fds`) of the readable ones. An interrupted wait (EINTR) returns with none ready.
pub fn poll_readable(fds: &[RawFd], timeout: Duration, ready: &mut Vec<usize>) -> io::Result<()> {
    ready.clear();
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = c_int::try_from(timeout.as_micros().div_ceil(1000)).unwrap_or(c_int::MAX);
    // SAFETY: `pfds` is a live array of `pfds.len()` initialised pollfd structs.
    let rc = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(())
        } else {
            Err(e)
        };
    }
    ready.extend(
        pfds.iter()
            .enumerate()
            .filter(|(_, p)| p.revents & (libc::POLLIN | libc::POLLERR) != 0)
            .map(|(i, _)| i),
    );
    Ok(())
}

/// Interface index of `name`, `None` if there is no such interface.
pub fn interface_index(name: &str) -> io::Result<Option<u32>> {
    let c = CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name contains NUL"))?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    Ok((idx != 0).then_some(idx))
}

/// The IPv4 addresses configured on interface `name`, in kernel order.
pub fn interface_ipv4_addrs(name: &str) -> io::Result<Vec<Ipv4Addr>> {
    let mut head: *mut libc::ifaddrs = ptr::null_mut();
    // SAFETY: `head` is a valid out-pointer; on success it receives a list we free below.
    cvt(unsafe { libc::getifaddrs(&mut head) })?;
    let mut out = Vec::new();
    let mut cur = head;
    // SAFETY: we walk the singly linked list getifaddrs returned until the null terminator,
    // reading each node's name (a NUL-terminated string) and, for AF_INET entries, the
    // address as a `sockaddr_in`; the list is freed exactly once, after the last use.
    unsafe {
        while !cur.is_null() {
            let ifa = &*cur;
            if !ifa.ifa_addr.is_null()
                && c_int::from((*ifa.ifa_addr).sa_family) == libc::AF_INET
                && std::ffi::CStr::from_ptr(ifa.ifa_name).to_bytes() == name.as_bytes()
            {
                let sin = ptr::read_unaligned(ifa.ifa_addr.cast::<libc::sockaddr_in>());
                out.push(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)));
            }
            cur = ifa.ifa_next;
        }
        libc::freeifaddrs(head);
    }
    Ok(out)
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_sig: c_int) {
    if STOP.swap(true, Ordering::SeqCst) {
        // Second signal: the user insists; leave without a report.
        // SAFETY: `_exit` is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
}

/// Installs SIGINT and SIGTERM handlers that set the flag read by [`stop_requested`]; a
/// second signal exits at once with status 130.
pub fn install_stop_handler() -> io::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: all-zero is a valid `sigaction` (empty mask, no flags); the handler is an
        // `extern "C" fn(c_int)` that only touches an atomic and calls `_exit`, both
        // async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = mem::zeroed();
            sa.sa_sigaction = on_stop_signal as extern "C" fn(c_int) as libc::sighandler_t;
            cvt(libc::sigemptyset(&mut sa.sa_mask))?;
            cvt(libc::sigaction(sig, &sa, ptr::null_mut()))?;
        }
    }
    Ok(())
}

/// Whether SIGINT or SIGTERM arrived since [`install_stop_handler`].
pub fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// Sets this thread's timer slack (default 50 µs) so short sleeps wake on time.
pub fn set_timer_slack(ns: u64) {
    // SAFETY: PR_SET_TIMERSLACK takes an unsigned long by value and touches no memory.
    let _ = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, ns as libc::c_ulong, 0, 0, 0) };
}
