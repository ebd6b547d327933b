//! The only module with `unsafe`: the kernel's multicast routing socket (linux/mroute.h),
//! the rtnetlink socket, and the tunnel dataplane's TUN device, raw IPPROTO_IPIP socket,
//! eventfd and poll.
//!
//! Everything here is a thin, typed wrapper over one system call. The C structures are
//! declared with `#[repr(C)]` and their sizes are checked at compile time against the
//! kernel ABI, so a layout mistake does not build.
#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, Protocol, Socket, Type};

// linux/mroute.h
const MRT_BASE: libc::c_int = 200;
const MRT_INIT: libc::c_int = MRT_BASE;
const MRT_DONE: libc::c_int = MRT_BASE + 1;
const MRT_ADD_VIF: libc::c_int = MRT_BASE + 2;
const MRT_DEL_VIF: libc::c_int = MRT_BASE + 3;
const MRT_ADD_MFC: libc::c_int = MRT_BASE + 4;
const MRT_ASSERT: libc::c_int = MRT_BASE + 7;
const MRT_PIM: libc::c_int = MRT_BASE + 8;
const MRT_TABLE: libc::c_int = MRT_BASE + 9;
const MRT_FLUSH: libc::c_int = MRT_BASE + 12;

/// MRT_FLUSH flags: everything, static entries and VIFs included.
const MRT_FLUSH_ALL: libc::c_int = 1 | 2 | 4 | 8;

/// The kernel's VIF limit (MAXVIFS).
pub const MAXVIFS: usize = 32;

/// vifctl.vifc_flags
pub const VIFF_TUNNEL: u8 = 0x1;
pub const VIFF_REGISTER: u8 = 0x4;
pub const VIFF_USE_IFINDEX: u8 = 0x8;

/// struct vifctl (linux/mroute.h). The union of vifc_lcl_addr / vifc_lcl_ifindex is
/// represented by its ifindex member, which is what VIFF_USE_IFINDEX reads.
#[repr(C)]
struct VifCtl {
    vifc_vifi: u16,
    vifc_flags: u8,
    vifc_threshold: u8,
    vifc_rate_limit: u32,
    vifc_lcl_ifindex: i32,
    vifc_rmt_addr: u32,
}
const _: () = assert!(size_of::<VifCtl>() == 16);

/// struct mfcctl (linux/mroute.h).
#[repr(C)]
struct MfcCtl {
    mfcc_origin: [u8; 4],
    mfcc_mcastgrp: [u8; 4],
    mfcc_parent: u16,
    mfcc_ttls: [u8; MAXVIFS],
    mfcc_pkt_cnt: u32,
    mfcc_byte_cnt: u32,
    mfcc_wrong_if: u32,
    mfcc_expire: i32,
}
const _: () = assert!(size_of::<MfcCtl>() == 60);

/// struct igmpmsg (linux/mroute.h): an upcall, laid over the start of an IP header so that
/// the IP protocol byte (offset 9, `im_mbz`) is 0.
#[repr(C)]
struct IgmpMsg {
    unused1: u32,
    unused2: u32,
    im_msgtype: u8,
    im_mbz: u8,
    im_vif: u8,
    im_vif_hi: u8,
    im_src: [u8; 4],
    im_dst: [u8; 4],
}
const _: () = assert!(size_of::<IgmpMsg>() == 20);

/// Upcall message types (IGMPMSG_*).
pub const IGMPMSG_NOCACHE: u8 = 1;
pub const IGMPMSG_WRONGVIF: u8 = 2;
pub const IGMPMSG_WHOLEPKT: u8 = 3;
pub const IGMPMSG_WRVIFWHOLE: u8 = 4;

/// A kernel upcall read from the mroute socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawUpcall {
    pub msgtype: u8,
    pub vif: u16,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// For whole-packet upcalls: the IP packet after the igmpmsg header.
    pub packet: Vec<u8>,
}

/// Decode an upcall; `buf` must start with the igmpmsg header (protocol byte 0).
pub fn parse_upcall(buf: &[u8]) -> Option<RawUpcall> {
    if buf.len() < size_of::<IgmpMsg>() || buf[9] != 0 {
        return None;
    }
    Some(RawUpcall {
        msgtype: buf[8],
        vif: u16::from(buf[10]) | (u16::from(buf[11]) << 8),
        src: Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]),
        dst: Ipv4Addr::new(buf[16], buf[17], buf[18], buf[19]),
        packet: buf[20..].to_vec(),
    })
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live, initialised T of the size we pass; the kernel
    // copies it and keeps no reference.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The multicast routing socket: a raw IGMP socket that owns one multicast table.
///
/// Created with [`MrouteSocket::open`], which performs the documented start sequence;
/// dropping it closes the socket, and the kernel then removes every VIF and every
/// dynamic MFC entry of the table.
pub struct MrouteSocket {
    sock: Socket,
}

impl MrouteSocket {
    /// Open the socket for `table` (None: the default table), MRT_INIT, and flush
    /// whatever a previous instance left, static entries and VIFs included.
    pub fn open(table: Option<u32>) -> io::Result<Self> {
        let sock = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(libc::IPPROTO_IGMP)),
        )?;
        let fd = sock.as_raw_fd();
        if let Some(t) = table {
            setsockopt(fd, libc::IPPROTO_IP, MRT_TABLE, &(t as libc::c_int))?;
        }
        setsockopt(fd, libc::IPPROTO_IP, MRT_INIT, &(1 as libc::c_int))?;
        setsockopt(fd, libc::IPPROTO_IP, MRT_FLUSH, &MRT_FLUSH_ALL)?;
        // WRONGVIF upcalls (rate limited by the kernel to one per 3 s per entry): the
        // router reports traffic that arrives on another interface than its route expects.
        setsockopt(fd, libc::IPPROTO_IP, MRT_ASSERT, &(1 as libc::c_int))?;
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_PKTINFO, &(1 as libc::c_int))?;
        sock.set_nonblocking(true)?;
        // Upcalls and reports can come in bursts: give the socket room.
        let _ = sock.set_recv_buffer_size(4 << 20);
        Ok(MrouteSocket { sock })
    }

    /// MRT_ADD_VIF for a network device, by ifindex.
    pub fn add_vif(&self, vif: u16, ifindex: u32, threshold: u8, flags: u8) -> io::Result<()> {
        let ctl = VifCtl {
            vifc_vifi: vif,
            vifc_flags: flags | VIFF_USE_IFINDEX,
            vifc_threshold: threshold,
            vifc_rate_limit: 0,
            vifc_lcl_ifindex: ifindex as i32,
            vifc_rmt_addr: 0,
        };
        setsockopt(self.sock.as_raw_fd(), libc::IPPROTO_IP, MRT_ADD_VIF, &ctl)
    }

    /// MRT_ADD_VIF of the PIM register VIF (creates `pimreg`, or `pimregN` in table N).
    pub fn add_register_vif(&self, vif: u16) -> io::Result<()> {
        let ctl = VifCtl {
            vifc_vifi: vif,
            vifc_flags: VIFF_REGISTER,
            vifc_threshold: 1,
            vifc_rate_limit: 0,
            vifc_lcl_ifindex: 0,
            vifc_rmt_addr: 0,
        };
        setsockopt(self.sock.as_raw_fd(), libc::IPPROTO_IP, MRT_ADD_VIF, &ctl)
    }

    /// MRT_DEL_VIF. The kernel looks only at the index.
    pub fn del_vif(&self, vif: u16) -> io::Result<()> {
        let ctl = VifCtl {
            vifc_vifi: vif,
            vifc_flags: 0,
            vifc_threshold: 0,
            vifc_rate_limit: 0,
            vifc_lcl_ifindex: 0,
            vifc_rmt_addr: 0,
        };
        setsockopt(self.sock.as_raw_fd(), libc::IPPROTO_IP, MRT_DEL_VIF, &ctl)
    }

    /// MRT_ADD_MFC: the setsockopt way to write an MFC entry. The router writes entries
    /// through rtnetlink; this is used only for an entry that forwards on VIF 31, which
    /// rtnetlink cannot express (the kernel rejects a 32-hop RTA_MULTIPATH with EINVAL).
    pub fn add_mfc(
        &self,
        source: Ipv4Addr,
        group: Ipv4Addr,
        parent_vif: u16,
        ttls: &[u8],
    ) -> io::Result<()> {
        let mut ctl = MfcCtl {
            mfcc_origin: source.octets(),
            mfcc_mcastgrp: group.octets(),
            mfcc_parent: parent_vif,
            mfcc_ttls: [0; MAXVIFS],
            mfcc_pkt_cnt: 0,
            mfcc_byte_cnt: 0,
            mfcc_wrong_if: 0,
            mfcc_expire: 0,
        };
        let n = ttls.len().min(MAXVIFS);
        ctl.mfcc_ttls[..n].copy_from_slice(&ttls[..n]);
        setsockopt(self.sock.as_raw_fd(), libc::IPPROTO_IP, MRT_ADD_MFC, &ctl)
    }

    /// MRT_PIM (which also turns MRT_ASSERT on) or off.
    pub fn set_pim(&self, on: bool) -> io::Result<()> {
        setsockopt(
            self.sock.as_raw_fd(),
            libc::IPPROTO_IP,
            MRT_PIM,
            &(on as libc::c_int),
        )
    }

    /// MRT_ASSERT: ask for WRONGVIF upcalls.
    pub fn set_assert(&self, on: bool) -> io::Result<()> {
        setsockopt(
            self.sock.as_raw_fd(),
            libc::IPPROTO_IP,
            MRT_ASSERT,
            &(on as libc::c_int),
        )
    }

    /// Join `group` on an interface so that IGMP messages to it reach this socket.
    pub fn join(&self, group: Ipv4Addr, ifindex: u32) -> io::Result<()> {
        self.sock
            .join_multicast_v4_n(&group, &socket2::InterfaceIndexOrAddress::Index(ifindex))
    }

    /// Leave `group` on an interface.
    pub fn leave(&self, group: Ipv4Addr, ifindex: u32) -> io::Result<()> {
        self.sock
            .leave_multicast_v4_n(&group, &socket2::InterfaceIndexOrAddress::Index(ifindex))
    }

    /// Read one datagram: an IP packet (IGMP, with header) or an upcall. Returns the
    /// length and the arrival ifindex from IP_PKTINFO (0 for upcalls).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, u32)> {
        recv_with_ifindex(self.sock.as_raw_fd(), buf)
    }
}

impl AsRawFd for MrouteSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl Drop for MrouteSocket {
    fn drop(&mut self) {
        // Closing would do the same; MRT_DONE makes the intent explicit and synchronous.
        let _ = setsockopt(
            self.sock.as_raw_fd(),
            libc::IPPROTO_IP,
            MRT_DONE,
            &(0 as libc::c_int),
        );
    }
}

/// recvmsg with IP_PKTINFO: the datagram and the index of the interface it arrived on
/// (0 when the kernel gives none, as for mroute upcalls).
fn recv_with_ifindex(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, u32)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // Room for one in_pktinfo control message.
    let mut cbuf = [0u64; 8];
    // SAFETY: msghdr is plain data; all-zero is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<[u64; 8]>() as _;
    // SAFETY: iov and cbuf outlive the call and their lengths are correct.
    let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut ifindex = 0;
    // SAFETY: the CMSG_* macros walk the control buffer the kernel filled in, bounded
    // by msg_controllen; in_pktinfo is read unaligned from a cmsg of that type.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::IPPROTO_IP && (*c).cmsg_type == libc::IP_PKTINFO {
                let info: libc::in_pktinfo = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                ifindex = info.ipi_ifindex as u32;
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n as usize, ifindex))
}

/// A raw socket for sending the router's own protocol messages (IGMP, PIM) with an IP
/// header we build (TTL, Router Alert), out of a chosen interface.
pub struct RawSender {
    sock: Socket,
}

impl RawSender {
    /// `protocol`: libc::IPPROTO_IGMP or libc::IPPROTO_PIM.
    pub fn open(protocol: libc::c_int) -> io::Result<Self> {
        let sock = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(protocol)))?;
        sock.set_header_included_v4(true)?;
        // Our own queries must not come back to us (or to local listeners) as input.
        sock.set_multicast_loop_v4(false)?;
        // A send socket never reads: do not let IGMP traffic pile up in its buffer.
        let _ = sock.set_recv_buffer_size(0);
        sock.set_nonblocking(true)?;
        Ok(RawSender { sock })
    }

    /// Send `packet` (IPv4 header included) to `dst` out of interface `ifindex`.
    pub fn send(&self, ifindex: u32, dst: Ipv4Addr, packet: &[u8]) -> io::Result<()> {
        let mreqn = libc::ip_mreqn {
            imr_multiaddr: libc::in_addr { s_addr: 0 },
            imr_address: libc::in_addr { s_addr: 0 },
            imr_ifindex: ifindex as libc::c_int,
        };
        setsockopt(
            self.sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            &mreqn,
        )?;
        let to = socket2::SockAddr::from(std::net::SocketAddrV4::new(dst, 0));
        self.sock.send_to(packet, &to)?;
        Ok(())
    }
}

/// A raw receive socket for one IP protocol (PIM), with the arrival interface of every
/// packet (IP_PKTINFO).
pub struct RawReceiver {
    sock: Socket,
}

impl RawReceiver {
    pub fn open(protocol: libc::c_int) -> io::Result<Self> {
        let sock = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(protocol)))?;
        setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_PKTINFO,
            &(1 as libc::c_int),
        )?;
        sock.set_nonblocking(true)?;
        let _ = sock.set_recv_buffer_size(4 << 20);
        Ok(RawReceiver { sock })
    }

    pub fn join(&self, group: Ipv4Addr, ifindex: u32) -> io::Result<()> {
        self.sock
            .join_multicast_v4_n(&group, &socket2::InterfaceIndexOrAddress::Index(ifindex))
    }

    pub fn leave(&self, group: Ipv4Addr, ifindex: u32) -> io::Result<()> {
        self.sock
            .leave_multicast_v4_n(&group, &socket2::InterfaceIndexOrAddress::Index(ifindex))
    }

    /// Read one packet (IP header included); returns its length and arrival ifindex.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, u32)> {
        recv_with_ifindex(self.sock.as_raw_fd(), buf)
    }
}

impl AsRawFd for RawReceiver {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

/// A NETLINK_ROUTE socket.
pub struct NetlinkSocket {
    sock: Socket,
}

const SOL_NETLINK: libc::c_int = 270;
const NETLINK_ADD_MEMBERSHIP: libc::c_int = 1;
const NETLINK_EXT_ACK: libc::c_int = 11;

impl NetlinkSocket {
    /// Open a NETLINK_ROUTE socket subscribed to `groups` (RTNLGRP_* numbers).
    pub fn open(groups: &[u32], nonblocking: bool) -> io::Result<Self> {
        let sock = Socket::new(
            Domain::from(libc::AF_NETLINK),
            Type::RAW,
            Some(Protocol::from(libc::NETLINK_ROUTE)),
        )?;
        let fd = sock.as_raw_fd();
        // SAFETY: sockaddr_nl is plain data; we bind with pid 0 (kernel assigns) and no
        // legacy groups, passing the correct length.
        let rc = unsafe {
            let mut sa: libc::sockaddr_nl = std::mem::zeroed();
            sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
            libc::bind(
                fd,
                (&sa as *const libc::sockaddr_nl).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        for g in groups {
            setsockopt(
                fd,
                SOL_NETLINK,
                NETLINK_ADD_MEMBERSHIP,
                &(*g as libc::c_int),
            )?;
        }
        let _ = setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &(1 as libc::c_int));
        sock.set_nonblocking(nonblocking)?;
        let _ = sock.set_recv_buffer_size(8 << 20);
        Ok(NetlinkSocket { sock })
    }

    /// Send one request to the kernel.
    pub fn send(&self, buf: &[u8]) -> io::Result<()> {
        let n = self.sock.send(buf)?;
        if n != buf.len() {
            return Err(io::Error::other("short netlink send"));
        }
        Ok(())
    }

    /// Receive one datagram (possibly several messages).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: socket2 takes MaybeUninit; an initialised &mut [u8] is a valid one.
        let uninit = unsafe {
            std::slice::from_raw_parts_mut(
                buf.as_mut_ptr().cast::<std::mem::MaybeUninit<u8>>(),
                buf.len(),
            )
        };
        self.sock.recv(uninit)
    }

    /// Set a receive timeout for blocking sockets.
    pub fn set_read_timeout(&self, d: std::time::Duration) -> io::Result<()> {
        self.sock.set_read_timeout(Some(d))
    }
}

impl AsRawFd for NetlinkSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

// ---------------------------------------------------------------------------------------
// Tunnel dataplane: TUN device, raw IP-in-IP socket, eventfd, poll.

/// `TUNSETIFF` = `_IOW('T', 202, int)` (linux/if_tun.h).
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
/// `IFF_TUN`, `IFF_NO_PI` (linux/if_tun.h): layer-3 device, no packet-information prefix.
const IFF_TUN: libc::c_short = 0x0001;
const IFF_NO_PI: libc::c_short = 0x1000;

/// `struct ifreq` with the `ifr_flags` member of its union (linux/if.h): 40 bytes.
#[repr(C)]
struct IfReqFlags {
    ifr_name: [u8; libc::IFNAMSIZ],
    ifr_flags: libc::c_short,
    _pad: [u8; 22],
}
const _: () = assert!(size_of::<IfReqFlags>() == 40);
const _: () = assert!(size_of::<IfReqFlags>() == size_of::<libc::ifreq>());

/// A TUN device (layer 3, no packet information): what the kernel sends out of the
/// device is read here as bare IP packets, and IP packets written here are received by
/// the kernel as if they arrived on the device. The device exists while this descriptor
/// is open (it is not made persistent), so a crashed daemon leaves nothing behind.
pub struct TunDevice {
    file: std::fs::File,
    name: String,
}

impl TunDevice {
    /// Open `/dev/net/tun` (non-blocking) and attach it to the TUN device `name`, creating
    /// it, or attaching to an existing persistent TUN device of that name that nobody holds.
    /// Errors: EINVAL if a device of another kind has the name, EBUSY if another process
    /// holds it, EPERM without CAP_NET_ADMIN.
    pub fn open(name: &str) -> io::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        if name.is_empty() || name.len() >= libc::IFNAMSIZ {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/net/tun")?;
        let mut req = IfReqFlags {
            ifr_name: [0; libc::IFNAMSIZ],
            ifr_flags: IFF_TUN | IFF_NO_PI,
            _pad: [0; 22],
        };
        req.ifr_name[..name.len()].copy_from_slice(name.as_bytes());
        // SAFETY: TUNSETIFF reads and writes one struct ifreq, which `req` is (size checked
        // above); the descriptor is open.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF, &mut req as *mut IfReqFlags) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(TunDevice {
            file,
            name: name.to_owned(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Read one packet the kernel sent out of the device; `WouldBlock` when there is none.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for writes of its length for the duration of the call.
        let n = unsafe { libc::read(self.file.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// Hand one IP packet to the kernel as received on the device.
    pub fn write(&self, packet: &[u8]) -> io::Result<usize> {
        // SAFETY: `packet` is valid for reads of its length for the duration of the call.
        let n = unsafe { libc::write(self.file.as_raw_fd(), packet.as_ptr().cast(), packet.len()) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }
}

impl AsRawFd for TunDevice {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

/// `IPPROTO_IPIP` (RFC 2003 IP-in-IP).
pub const IPPROTO_IPIP: libc::c_int = 4;

/// The raw `IPPROTO_IPIP` socket of the userspace tunnel dataplane, shared by every
/// tunnel. Sending: the kernel builds the outer header (protocol 4, TTL of the socket);
/// the outer source is chosen per packet with `IP_PKTINFO`. Receiving: every protocol-4
/// packet addressed to this host, outer header included (reassembled if it was
/// fragmented).
pub struct IpipSocket {
    sock: Socket,
}

impl IpipSocket {
    /// Open the socket: blocking sends (the TUN queue absorbs bursts), non-blocking reads
    /// through [`IpipSocket::recv`], outer TTL `ttl`, no DF bit (the outer packet may be
    /// fragmented rather than dropped when the path MTU is small).
    pub fn open(ttl: u8) -> io::Result<Self> {
        let sock = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_IPIP)))?;
        sock.set_ttl_v4(u32::from(ttl))?;
        setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            &libc::IP_PMTUDISC_DONT,
        )?;
        let _ = sock.set_recv_buffer_size(8 << 20);
        let _ = sock.set_send_buffer_size(4 << 20);
        Ok(IpipSocket { sock })
    }

    /// Send `packet` (an IPv4 packet, the inner one) to `remote` with outer source `local`.
    /// Allocation-free: address and control message live on the stack.
    pub fn send_from(&self, packet: &[u8], local: Ipv4Addr, remote: Ipv4Addr) -> io::Result<usize> {
        let mut to: libc::sockaddr_in = zeroed_sockaddr_in();
        to.sin_family = libc::AF_INET as libc::sa_family_t;
        to.sin_addr.s_addr = u32::from_ne_bytes(remote.octets());
        let mut iov = libc::iovec {
            iov_base: packet.as_ptr() as *mut libc::c_void,
            iov_len: packet.len(),
        };
        // One in_pktinfo control message: CMSG_SPACE(12) = 32 bytes on 64-bit.
        let mut cbuf = [0u64; 4];
        // SAFETY: msghdr is plain data; all-zero is a valid value.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut to as *mut libc::sockaddr_in).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        // SAFETY: CMSG_SPACE is a pure computation.
        msg.msg_controllen = unsafe { libc::CMSG_SPACE(size_of::<libc::in_pktinfo>() as u32) } as _;
        debug_assert!(msg.msg_controllen as usize <= size_of::<[u64; 4]>());
        // SAFETY: the control buffer is large enough for one in_pktinfo cmsg (checked
        // above) and aligned for cmsghdr; CMSG_FIRSTHDR/CMSG_DATA point inside it.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::IPPROTO_IP;
            (*c).cmsg_type = libc::IP_PKTINFO;
            (*c).cmsg_len = libc::CMSG_LEN(size_of::<libc::in_pktinfo>() as u32) as _;
            let info = libc::in_pktinfo {
                ipi_ifindex: 0,
                ipi_spec_dst: libc::in_addr {
                    s_addr: u32::from_ne_bytes(local.octets()),
                },
                ipi_addr: libc::in_addr { s_addr: 0 },
            };
            std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<libc::in_pktinfo>(), info);
        }
        // SAFETY: every pointer in `msg` refers to a live local or to `packet`, with the
        // lengths given; the kernel only reads them.
        let n = unsafe { libc::sendmsg(self.sock.as_raw_fd(), &msg, 0) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// Read one received packet (outer IPv4 header included) without blocking;
    /// `WouldBlock` when there is none.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for writes of its length; no address is asked for.
        let n = unsafe {
            libc::recvfrom(
                self.sock.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }
}

impl AsRawFd for IpipSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

fn zeroed_sockaddr_in() -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain data; all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

/// An eventfd used to wake a thread blocked in [`poll_readable`]: once [`Waker::wake`]
/// has been called it stays readable, so it serves as a stop flag too.
pub struct Waker {
    file: std::fs::File,
}

impl Waker {
    pub fn new() -> io::Result<Self> {
        // SAFETY: eventfd has no pointer arguments; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by eventfd and is owned by nobody else.
        let owned = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        Ok(Waker {
            file: std::fs::File::from(owned),
        })
    }

    /// Make the eventfd readable (and keep it so).
    pub fn wake(&self) {
        use std::io::Write;
        let _ = (&self.file).write(&1u64.to_ne_bytes());
    }
}

impl AsRawFd for Waker {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

/// Wait until `a` or `b` is readable (or has an error), or `timeout_ms` passes (-1:
/// forever). Returns which are ready; EINTR is reported as nothing ready.
pub fn poll_readable(a: RawFd, b: RawFd, timeout_ms: i32) -> io::Result<(bool, bool)> {
    let mut fds = [
        libc::pollfd {
            fd: a,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: b,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // SAFETY: `fds` is a valid array of two pollfd for the duration of the call.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout_ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok((false, false));
        }
        return Err(e);
    }
    Ok((fds[0].revents != 0, fds[1].revents != 0))
}

/// True if the process has CAP_NET_ADMIN in its effective set (root normally does).
pub fn has_net_admin() -> bool {
    // capget would be exact; reading /proc avoids another unsafe block.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << 12) != 0)
}

/// Register a socket that owns its file descriptor with the tokio reactor.
pub fn async_fd<T: AsRawFd>(inner: T) -> io::Result<tokio::io::unix::AsyncFd<T>> {
    // SAFETY: `inner` (MrouteSocket or NetlinkSocket) owns its descriptor; the AsyncFd owns
    // `inner`, so the descriptor stays open exactly as long as it is registered.
    unsafe { tokio::io::unix::AsyncFd::register(inner) }.map_err(|e| e.into_parts().1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upcall_decoding() {
        let mut b = vec![0u8; 20];
        b[8] = IGMPMSG_NOCACHE;
        b[10] = 3;
        b[11] = 0;
        b[12..16].copy_from_slice(&[10, 0, 1, 2]);
        b[16..20].copy_from_slice(&[239, 1, 1, 1]);
        let u = parse_upcall(&b).unwrap();
        assert_eq!(u.msgtype, IGMPMSG_NOCACHE);
        assert_eq!(u.vif, 3);
        assert_eq!(u.src, Ipv4Addr::new(10, 0, 1, 2));
        assert_eq!(u.dst, Ipv4Addr::new(239, 1, 1, 1));
        // Protocol byte non-zero: an ordinary IGMP packet, not an upcall.
        b[9] = 2;
        assert_eq!(parse_upcall(&b), None);
        assert_eq!(parse_upcall(&b[..10]), None);
    }
}
