//! Multicast routing rules (`ip mrule`): which multicast table a packet is looked up in.
//!
//! A non-default multicast table only sees traffic that a rule sends to it, so a daemon
//! running `table = N` adds `iif IFNAME lookup N` for each of its interfaces and removes
//! it again when the interface goes. Message: `struct fib_rule_hdr` (linux/fib_rules.h,
//! 12 bytes) with family RTNL_FAMILY_IPMR, action FR_ACT_TO_TBL, then FRA_IIFNAME,
//! FRA_TABLE and FRA_PRIORITY.

use super::RTNL_FAMILY_IPMR;
use super::buf::{MessageBuilder, flags};

/// `FR_ACT_TO_TBL` (linux/fib_rules.h): look the packet up in `table`.
const FR_ACT_TO_TBL: u8 = 1;
/// `FRA_IIFNAME`, `FRA_PRIORITY`, `FRA_TABLE` (linux/fib_rules.h).
const FRA_IIFNAME: u16 = 3;
const FRA_PRIORITY: u16 = 6;
const FRA_TABLE: u16 = 15;
/// `sizeof(struct fib_rule_hdr)`.
const FIB_RULE_HDR_LEN: usize = 12;

fn fib_rule_hdr(table: u32) -> [u8; FIB_RULE_HDR_LEN] {
    [
        RTNL_FAMILY_IPMR,                          // family
        0,                                         // dst_len
        0,                                         // src_len
        0,                                         // tos
        if table < 256 { table as u8 } else { 0 }, // table (RT_TABLE_UNSPEC: see FRA_TABLE)
        0,                                         // res1
        0,                                         // res2
        FR_ACT_TO_TBL,                             // action
        0,
        0,
        0,
        0, // flags
    ]
}

/// `ip mrule add iif IFNAME lookup TABLE pref PRIORITY`.
pub fn build_mrule_add(seq: u32, iifname: &str, table: u32, priority: u32) -> Vec<u8> {
    build(
        libc::RTM_NEWRULE,
        flags::REQUEST | flags::ACK | flags::CREATE | flags::EXCL,
        seq,
        iifname,
        table,
        priority,
    )
}

/// `ip mrule del iif IFNAME lookup TABLE pref PRIORITY`.
pub fn build_mrule_del(seq: u32, iifname: &str, table: u32, priority: u32) -> Vec<u8> {
    build(
        libc::RTM_DELRULE,
        flags::REQUEST | flags::ACK,
        seq,
        iifname,
        table,
        priority,
    )
}

fn build(kind: u16, fl: u16, seq: u32, iifname: &str, table: u32, priority: u32) -> Vec<u8> {
    let mut b = MessageBuilder::new(kind, fl, seq);
    b.payload(&fib_rule_hdr(table));
    b.attr_str(FRA_IIFNAME, iifname);
    b.attr_u32(FRA_TABLE, table);
    b.attr_u32(FRA_PRIORITY, priority);
    b.finish()
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;

    #[test]
    fn mrule_add_is_laid_out_as_the_kernel_expects() {
        let m = build_mrule_add(7, "eth0", 10, 1000);
        #[rustfmt::skip]
        let want: Vec<u8> = vec![
            // nlmsghdr: len 56, RTM_NEWRULE (32), REQUEST|ACK|EXCL|CREATE, seq 7, pid 0
            56, 0, 0, 0,  32, 0,  0x05, 0x06,  7, 0, 0, 0,  0, 0, 0, 0,
            // fib_rule_hdr: family 128, table 10, action FR_ACT_TO_TBL
            128, 0, 0, 0, 10, 0, 0, 1, 0, 0, 0, 0,
            // FRA_IIFNAME "eth0\0" (len 9, padded to 12)
            9, 0, 3, 0, b'e', b't', b'h', b'0', 0, 0, 0, 0,
            // FRA_TABLE 10
            8, 0, 15, 0, 10, 0, 0, 0,
            // FRA_PRIORITY 1000
            8, 0, 6, 0, 0xe8, 0x03, 0, 0,
        ];
        assert_eq!(m, want);
        let d = build_mrule_del(8, "eth0", 70000, 5);
        assert_eq!(u16::from_ne_bytes([d[4], d[5]]), libc::RTM_DELRULE);
        assert_eq!(d[16 + 4], 0, "tables above 255 go in FRA_TABLE only");
    }
}
