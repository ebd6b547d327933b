//! mrinfo in virtual time: the Neighbors2 answer to an Ask Neighbors2 (draft appendix B,
//! mrouted's `accept_neighbor_request2`) for a router with a LAN neighbour, a leaf, a
//! down interface and tunnels; its splitting at the 576-octet limit; its counters; and
//! the questions that are not answered.

mod common;

use ::common::{IfIndex, Input, Protocol, RxPacket};
use common::{Net, a, cfg, secs};
use dvmrp::config::{Config, InterfaceConfig};
use dvmrp::packet::{
    self, ALL_DVMRP_ROUTERS, Body, Header, InterfaceFlags, MAX_LEN_576, Message, Neighbors2Entry,
};
use dvmrp::{Dvmrp, UnicastReply};

/// An Ask Neighbors2 as mrinfo sends it.
fn question() -> Vec<u8> {
    packet::emit(&Message::new(Body::AskNeighbors2))
}

fn ask(
    d: &mut Dvmrp,
    now: ::common::Instant,
    ifindex: u32,
    src: &str,
    dst: &str,
) -> Vec<UnicastReply> {
    ask_raw(d, now, ifindex, src, dst, &question(), |_| false)
}

fn ask_raw(
    d: &mut Dvmrp,
    now: ::common::Instant,
    ifindex: u32,
    src: &str,
    dst: &str,
    payload: &[u8],
    querier: impl Fn(IfIndex) -> bool,
) -> Vec<UnicastReply> {
    let pkt = RxPacket {
        ifindex: IfIndex(ifindex),
        src: a(src),
        dst: a(dst),
        ttl: 60,
        router_alert: false,
        payload,
    };
    let (actions, replies) = d.answer_ask_neighbors2(now, &pkt, querier);
    assert!(actions.is_empty(), "no timer was due: {actions:?}");
    replies
}

/// The Neighbors2 messages of an answer (each with the draft's header).
fn bodies(replies: &[UnicastReply]) -> Vec<Vec<Neighbors2Entry>> {
    replies
        .iter()
        .map(|r| {
            let m = packet::parse(&r.payload).expect("a valid Neighbors2");
            assert_eq!(
                m.header,
                Header::DRAFT,
                "version 3.255, prune, genid, mtrace"
            );
            assert_eq!(packet::emit(&m), r.payload, "codec round trip");
            match m.body {
                Body::Neighbors2(e) => e,
                other => panic!("not a Neighbors2: {other:?}"),
            }
        })
        .collect()
}

fn entry(
    local: &str,
    metric: u8,
    threshold: u8,
    flags: InterfaceFlags,
    nbrs: &[&str],
) -> Neighbors2Entry {
    Neighbors2Entry {
        local: a(local),
        metric,
        threshold,
        flags,
        neighbors: nbrs.iter().map(|n| a(n)).collect(),
    }
}

fn count(map: &std::collections::BTreeMap<String, u64>, k: &str) -> u64 {
    map.get(k).copied().unwrap_or(0)
}

/// Router R (index 0):
/// * if1 10.1.0.1/24 on LAN "lan" with router N (10.1.0.2), metric 2, threshold 8, and a
///   one-way stranger 10.1.0.9 (its Probes do not list us);
/// * if2 10.2.0.1/24, a leaf (no DVMRP neighbour), where R is the IGMP querier;
/// * if3 10.3.0.1/24, was up, now down;
/// * if4 configured, never up;
/// * if9 tunnel 192.0.2.1 -> peer T (198.51.100.1), metric 3, threshold 16;
/// * if10 tunnel 192.0.2.1 -> 203.0.113.7 that nobody answers.
fn router() -> Net {
    let tunnel = |peer: &str, metric: u8, ttl_threshold: u8| InterfaceConfig {
        tunnel_peer: Some(a(peer)),
        metric,
        ttl_threshold,
        ..cfg()
    };
    let mut net = Net::new();
    net.router("R", Config::default(), 1);
    net.router("N", Config::default(), 2);
    net.router("T", Config::default(), 3);
    let lan = InterfaceConfig {
        metric: 2,
        ttl_threshold: 8,
        ..cfg()
    };
    net.attach(0, 1, "10.1.0.1", 24, "lan", lan);
    net.attach(1, 1, "10.1.0.2", 24, "lan", cfg());
    net.attach(0, 2, "10.2.0.1", 24, "leaf", cfg());
    net.attach(0, 3, "10.3.0.1", 24, "gone", cfg());
    net.configure(0, 4, cfg());
    net.attach(0, 9, "192.0.2.1", 32, "tun", tunnel("198.51.100.1", 3, 16));
    net.attach(2, 9, "198.51.100.1", 32, "tun", tunnel("192.0.2.1", 1, 1));
    net.attach(0, 10, "192.0.2.1", 32, "tun2", tunnel("203.0.113.7", 1, 1));
    net.run_for(secs(15));
    net.probe_from(0, 1, a("10.1.0.9"), 77, &[]);
    net.down(0, 3);
    net
}

#[test]
fn the_answer_lists_every_interface_with_its_flags_and_neighbours() {
    let mut net = router();
    let now = net.now;
    // From a host on an interface without DVMRP (ifindex 50) to the router's address
    // there, with R the IGMP querier on if2 and (wrongly) on if1 and the tunnel: only
    // active physical interfaces carry the flag.
    let replies = ask_raw(
        &mut net.routers[0].d,
        now,
        50,
        "172.16.5.9",
        "172.16.5.1",
        &question(),
        |i| [1, 2, 9].contains(&i.0),
    );
    assert_eq!(replies.len(), 1);
    let r = &replies[0];
    assert_eq!(
        (r.src, r.dst, r.ttl),
        (a("172.16.5.1"), a("172.16.5.9"), 255)
    );
    use InterfaceFlags as F;
    assert_eq!(
        bodies(&replies),
        [vec![
            // The two-way neighbour only; the one-way stranger is left out.
            entry("10.1.0.1", 2, 8, F::QUERIER, &["10.1.0.2"]),
            entry("10.2.0.1", 1, 1, F::QUERIER | F::LEAF, &["0.0.0.0"]),
            // Down: the address it had.
            entry("10.3.0.1", 1, 1, F::DOWN, &["0.0.0.0"]),
            // Never up: no address known.
            entry("0.0.0.0", 1, 1, F::DOWN, &["0.0.0.0"]),
            entry("192.0.2.1", 3, 16, F::TUNNEL, &["198.51.100.1"]),
            // A tunnel whose remote end is silent: down (as mrouted), and a leaf.
            entry(
                "192.0.2.1",
                1,
                1,
                F::TUNNEL | F::DOWN | F::LEAF,
                &["203.0.113.7"]
            ),
        ]]
    );
    // Counted router-wide: the question arrived on no DVMRP interface.
    let snap = net.routers[0].d.snapshot();
    assert_eq!(count(&snap.other_interfaces.received, "ask_neighbors2"), 1);
    assert_eq!(count(&snap.other_interfaces.sent, "neighbors2"), 1);
    assert_eq!(count(&snap.counters, "ask_neighbors2"), 1);

    // From the neighbour, on the LAN, to our address there: counted on if1. The same
    // entries (no querier this time).
    let replies = ask(&mut net.routers[0].d, now, 1, "10.1.0.2", "10.1.0.1");
    assert_eq!(
        (replies[0].src, replies[0].dst),
        (a("10.1.0.1"), a("10.1.0.2"))
    );
    assert_eq!(bodies(&replies)[0][0].flags, F(0));
    assert_eq!(bodies(&replies)[0][1].flags, F::LEAF);
    let snap = net.routers[0].d.snapshot();
    let if1 = snap.interfaces.iter().find(|i| i.ifindex.0 == 1).unwrap();
    assert_eq!(count(&if1.received, "ask_neighbors2"), 1);
    assert_eq!(count(&if1.sent, "neighbors2"), 1);
    assert_eq!(count(&snap.counters, "ask_neighbors2"), 2);

    // Asking is not being a neighbour: no state changed, nothing else was sent.
    assert_eq!(net.routers[0].neighbors(IfIndex(1)).len(), 2);
    assert!(
        net.routers[0]
            .d
            .snapshot()
            .interfaces
            .iter()
            .all(|i| i.dropped.is_empty())
    );

    // The tunnel's peer answers too, from its end of the tunnel.
    let replies = ask(&mut net.routers[2].d, now, 9, "192.0.2.1", "198.51.100.1");
    assert_eq!(
        bodies(&replies),
        [vec![entry("198.51.100.1", 1, 1, F::TUNNEL, &["192.0.2.1"])]]
    );
}

#[test]
fn an_oversized_answer_is_split_at_576_octets() {
    let mut net = Net::new();
    net.router("R", Config::default(), 1);
    net.attach(0, 1, "10.1.0.1", 16, "lan", cfg());
    net.attach(0, 2, "10.2.0.1", 24, "leaf", cfg());
    // 300 two-way neighbours on the LAN.
    let nbrs: Vec<std::net::Ipv4Addr> = (0..300u32)
        .map(|i| std::net::Ipv4Addr::from(0x0a01_0100 + i))
        .collect();
    for (i, n) in nbrs.iter().enumerate() {
        net.probe_from(0, 1, *n, i as u32, &[a("10.1.0.1")]);
    }
    let now = net.now;
    let replies = ask(&mut net.routers[0].d, now, 7, "172.16.5.9", "10.2.0.1");
    assert_eq!(
        replies.len(),
        3,
        "300 neighbours need three 576-octet datagrams"
    );
    for r in &replies {
        assert!(r.payload.len() <= MAX_LEN_576, "{}", r.payload.len());
    }
    let msgs = bodies(&replies);
    // The LAN's entry is continued with the same interface fields in each message.
    let lan: Vec<std::net::Ipv4Addr> = msgs
        .iter()
        .flatten()
        .filter(|e| e.local == a("10.1.0.1"))
        .inspect(|e| assert_eq!((e.metric, e.threshold, e.flags), (1, 1, InterfaceFlags(0))))
        .flat_map(|e| e.neighbors.clone())
        .collect();
    let mut sorted = nbrs.clone();
    sorted.sort();
    assert_eq!(lan, sorted);
    // Full messages but the last, which also carries the leaf.
    assert_eq!(replies[0].payload.len(), MAX_LEN_576);
    assert_eq!(
        msgs[2].last().unwrap(),
        &entry("10.2.0.1", 1, 1, InterfaceFlags::LEAF, &["0.0.0.0"])
    );
    let snap = net.routers[0].d.snapshot();
    assert_eq!(count(&snap.other_interfaces.sent, "neighbors2"), 3);
    // A smaller limit (the Report limit) splits further.
    let mut d = Dvmrp::new(
        Config {
            max_report_len: 200,
            ..Config::default()
        },
        9,
    );
    d.configure_interface(now, IfIndex(1), cfg());
    d.handle(
        now,
        Input::Interface(::common::InterfaceChange::Up {
            ifindex: IfIndex(1),
            name: "lan".into(),
            addr: a("10.1.0.1"),
            prefix_len: 16,
        }),
    );
    for n in &nbrs[..100] {
        let probe = packet::emit(&Message::new(Body::Probe(packet::Probe {
            generation_id: 1,
            neighbors: vec![a("10.1.0.1")],
        })));
        d.handle(
            now,
            Input::Packet(RxPacket {
                ifindex: IfIndex(1),
                src: *n,
                dst: ALL_DVMRP_ROUTERS,
                ttl: 1,
                router_alert: false,
                payload: &probe,
            }),
        );
    }
    let replies = ask(&mut d, now, 1, "10.1.0.2", "10.1.0.1");
    assert_eq!(replies.len(), 3, "(200 - 16) / 4 = 46 neighbours a message");
    assert!(replies.iter().all(|r| r.payload.len() <= 200));
}

#[test]
fn questions_that_are_not_answered() {
    let mut net = router();
    let now = net.now;
    let d = &mut net.routers[0].d;
    // A damaged question: counted by the codec's reason.
    let mut bad = question();
    bad[2] ^= 0xff;
    assert!(ask_raw(d, now, 50, "172.16.5.9", "172.16.5.1", &bad, |_| false).is_empty());
    // To a group, or from an address no answer can go to.
    assert!(ask(d, now, 50, "172.16.5.9", "224.0.0.4").is_empty());
    assert!(ask(d, now, 50, "0.0.0.0", "172.16.5.1").is_empty());
    // Another message: counted, not answered.
    let answer = packet::emit(&Message::new(Body::Neighbors2(vec![])));
    assert!(ask_raw(d, now, 50, "172.16.5.9", "172.16.5.1", &answer, |_| false).is_empty());
    let other = d.snapshot().other_interfaces;
    assert_eq!(count(&other.dropped, "bad_checksum"), 1);
    assert_eq!(count(&other.dropped, "bad_destination"), 1);
    assert_eq!(count(&other.dropped, "unanswerable_source"), 1);
    assert_eq!(count(&other.received, "neighbors2"), 1);
    assert!(other.sent.is_empty());
    // An Ask Neighbors2 that reaches `handle` (to All-DVMRP-Routers on a DVMRP
    // interface) is counted there and not answered.
    let q = question();
    let acts = d.handle(
        now,
        Input::Packet(RxPacket {
            ifindex: IfIndex(1),
            src: a("10.1.0.2"),
            dst: ALL_DVMRP_ROUTERS,
            ttl: 1,
            router_alert: false,
            payload: &q,
        }),
    );
    assert!(acts.is_empty(), "{acts:?}");
    let if1 = d
        .snapshot()
        .interfaces
        .into_iter()
        .find(|i| i.ifindex.0 == 1)
        .unwrap();
    assert_eq!(count(&if1.received, "ask_neighbors2"), 1);
    assert!(!if1.sent.contains_key("neighbors2"));
    // A router where DVMRP runs nowhere does not answer.
    let mut idle = Dvmrp::default();
    assert!(ask(&mut idle, now, 50, "172.16.5.9", "172.16.5.1").is_empty());
    assert_eq!(
        count(
            &idle.snapshot().other_interfaces.dropped,
            "no_dvmrp_interface"
        ),
        1
    );
}

#[test]
fn the_answer_runs_due_timers_first() {
    let mut net = router();
    // Stop the simulation: N's Probes no longer arrive, so by the Neighbor Time-out it is
    // gone, and the answer (asked after it, without a timer call in between) says so.
    let later = net.now + secs(40);
    let pkt_src = a("172.16.5.9");
    let q = question();
    let pkt = RxPacket {
        ifindex: IfIndex(50),
        src: pkt_src,
        dst: a("172.16.5.1"),
        ttl: 64,
        router_alert: false,
        payload: &q,
    };
    let (actions, replies) = net.routers[0]
        .d
        .answer_ask_neighbors2(later, &pkt, |_| false);
    assert!(!actions.is_empty(), "Probes and Reports were due");
    let lan = &bodies(&replies)[0][0];
    assert_eq!(lan.local, a("10.1.0.1"));
    assert_eq!(lan.neighbors, [a("0.0.0.0")]);
    assert_eq!(lan.flags, InterfaceFlags::LEAF);
}
