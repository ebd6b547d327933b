//! Acceptance of received PIM messages (RFC 7761 sections 4.3.1 and 4.9): Hellos only to
//! ALL-PIM-ROUTERS with TTL 1 from the interface's subnet, our own packets ignored, codec
//! errors counted by kind, other message types counted by kind.

mod common;

use std::net::Ipv4Addr;

use ::common::{IfIndex, Input, Protocol, RxPacket};
use common::*;
use pim::packet::{self, Assert, EncodedGroup, JoinPrune, Message, RegisterStop};

fn group(g: Ipv4Addr) -> EncodedGroup {
    EncodedGroup {
        group: g,
        mask_len: 32,
        bidir: false,
        zone: false,
    }
}

#[test]
fn hello_with_ttl_other_than_1_is_dropped() {
    let mut h = Harness::started(cfg());
    let b = hello(1).bytes();
    h.rx_raw(nbr(2), ALL_PIM_ROUTERS, 2, &b);
    h.rx_raw(nbr(2), ALL_PIM_ROUTERS, 255, &b);
    assert_eq!(h.dropped("bad_ttl"), 2);
    assert_eq!(h.received("hello"), 0);
    assert!(h.iface().neighbors.is_empty());
    assert!(h.take_events().is_empty());
}

#[test]
fn hello_to_another_destination_is_dropped() {
    let mut h = Harness::started(cfg());
    let b = hello(1).bytes();
    h.rx_raw(nbr(2), ROUTER, 1, &b);
    h.rx_raw(nbr(2), Ipv4Addr::new(224, 0, 0, 5), 1, &b);
    assert_eq!(h.dropped("bad_destination"), 2);
    assert!(h.iface().neighbors.is_empty());
}

#[test]
fn own_packets_are_ignored() {
    let mut h = Harness::new(cfg_no_jitter());
    let own = h.take_sent().remove(0);
    h.rx_raw(ROUTER, ALL_PIM_ROUTERS, 1, &packet::emit(&own.msg));
    assert_eq!(h.dropped("own_packet"), 1);
    assert_eq!(h.received("hello"), 0);
    assert!(h.iface().neighbors.is_empty());
    assert!(h.pim.is_dr(IF1));
}

#[test]
fn hello_from_another_subnet_is_dropped() {
    let mut h = Harness::started(cfg());
    h.rx_hello(Ipv4Addr::new(10, 0, 1, 2), &hello(1));
    h.rx_hello(Ipv4Addr::new(192, 0, 2, 1), &hello(1));
    assert_eq!(h.dropped("source_not_on_subnet"), 2);
    assert!(h.iface().neighbors.is_empty());
    // A /32 (point-to-point, unnumbered) interface has no subnet to check.
    h.up_with(ROUTER, 32);
    h.rx_hello(Ipv4Addr::new(192, 0, 2, 1), &hello(1));
    assert_eq!(h.neighbor_addrs(), vec![Ipv4Addr::new(192, 0, 2, 1)]);
}

#[test]
fn codec_errors_are_counted_by_kind() {
    let mut h = Harness::started(cfg());
    let mut bad_checksum = hello(1).bytes();
    bad_checksum[2] ^= 0xff;
    let truncated = vec![0x20, 0x00];
    let mut bad_version = hello(1).bytes();
    bad_version[0] = 0x30; // PIM version 3
    let mut expected = std::collections::BTreeMap::new();
    for b in [&bad_checksum, &truncated, &bad_version] {
        let kind = packet::parse(b).expect_err("invalid").kind();
        *expected.entry(kind.to_string()).or_insert(0u64) += 1;
        h.rx_raw(nbr(2), ALL_PIM_ROUTERS, 1, b);
    }
    assert_eq!(h.iface().dropped, expected);
    assert!(expected.len() >= 2, "distinct kinds: {expected:?}");
    assert!(h.iface().neighbors.is_empty());
    assert_eq!(h.received("hello"), 0);
}

#[test]
fn other_message_types_are_counted_by_kind() {
    let mut h = Harness::started(cfg());
    let g = Ipv4Addr::new(239, 1, 1, 1);
    let s = Ipv4Addr::new(192, 0, 2, 1);
    let msgs = [
        Message::JoinPrune(JoinPrune {
            upstream_neighbor: ROUTER,
            holdtime: 210,
            groups: Vec::new(),
        }),
        Message::JoinPrune(JoinPrune {
            upstream_neighbor: nbr(3),
            holdtime: 210,
            groups: Vec::new(),
        }),
        Message::Assert(Assert {
            group: group(g),
            source: s,
            rpt: false,
            metric_preference: 110,
            metric: 20,
        }),
        Message::RegisterStop(RegisterStop {
            group: group(g),
            source: s,
        }),
    ];
    for m in &msgs {
        h.rx_raw(nbr(2), ALL_PIM_ROUTERS, 1, &packet::emit(m));
    }
    assert_eq!(h.received("join_prune"), 2);
    assert_eq!(h.received("assert"), 1);
    assert_eq!(h.received("register_stop"), 1);
    assert!(h.iface().dropped.is_empty());
    assert!(
        h.iface().neighbors.is_empty(),
        "only Hellos make neighbours"
    );
}

#[test]
fn packets_on_interfaces_without_pim_are_ignored() {
    let mut h = Harness::started(cfg());
    let b = hello(1).bytes();
    let a = h.pim.handle(
        h.now,
        Input::Packet(RxPacket {
            ifindex: IfIndex(9),
            src: nbr(2),
            dst: ALL_PIM_ROUTERS,
            ttl: 1,
            router_alert: false,
            payload: &b,
        }),
    );
    assert!(a.is_empty());
    assert_eq!(h.pim.snapshot_at(h.now).interfaces.len(), 1);
    assert!(h.iface().neighbors.is_empty());
}

#[test]
fn counters_survive_down_and_up() {
    let mut h = Harness::started(cfg());
    h.rx_hello(nbr(2), &hello(1));
    h.rx_raw(nbr(2), ALL_PIM_ROUTERS, 2, &hello(1).bytes());
    h.down();
    h.up();
    assert_eq!((h.received("hello"), h.dropped("bad_ttl")), (1, 1));
}
