//! The codec against an independent decoder: every kind of message `emit` produces is put
//! into an IPv4 packet (protocol 2, TOS 0xc0 as the draft asks, Router Alert as mrouted sends
//! it; to All-DVMRP-Routers 224.0.0.4 with TTL 1, or unicast with TTL 255 as mrouted sends
//! Prunes, Grafts and Neighbors2 replies to one router) and an Ethernet frame, written to a pcap file, and decoded by tshark's DVMRP
//! dissector, which must agree on every field, find both checksums good and report no
//! malformed packet or other expert info.
//!
//! tshark is required (`apt-get install tshark`); without it this test fails.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use testsupport::{Ipv4, frame, tshark_fields};

use dvmrp::packet::{
    ALL_DVMRP_ROUTERS, Body, Capabilities, Graft, Header, InfoItem, InterfaceFlags, MAX_LEN_576,
    Message, Neighbors2Entry, NeighborsEntry, Probe, Prune, Report, RouteEntry, emit, parse,
    split_report,
};

/// The fields asked from tshark, in this order.
const FIELDS: &[&str] = &[
    "frame.number",
    "ip.proto",
    "ip.ttl",
    "ip.dst",
    "ip.checksum.status",
    "dvmrp.version",
    "dvmrp.type",
    "dvmrp.v3.code",
    "dvmrp.checksum.status",
    "dvmrp.capabilities",
    "dvmrp.cap.leaf",
    "dvmrp.cap.prune",
    "dvmrp.cap.genid",
    "dvmrp.cap.mtrace",
    "dvmrp.cap.snmp",
    "dvmrp.cap.netmask",
    "dvmrp.min_ver",
    "dvmrp.maj_ver",
    "dvmrp.genid",
    "dvmrp.neighbor",
    "dvmrp.netmask",
    "dvmrp.saddr",
    "dvmrp.metric",
    "dvmrp.maddr",
    "dvmrp.lifetime",
    "dvmrp.local",
    "dvmrp.threshold",
    "dvmrp.flag.tunnel",
    "dvmrp.flag.srcroute",
    "dvmrp.flag.down",
    "dvmrp.flag.disabled",
    "dvmrp.flag.querier",
    "dvmrp.flag.leaf",
    "dvmrp.ncount",
    "_ws.malformed",
    "_ws.expert.message",
];

struct Case {
    name: String,
    dst: Ipv4Addr,
    msg: Message,
    /// Expected tshark fields (exact strings; lists are comma-separated).
    expect: Vec<(&'static str, String)>,
}

fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn route(net: &str, prefix_len: u8, metric: u8) -> RouteEntry {
    RouteEntry::new(a(net), prefix_len, metric)
}

fn join<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn case(name: &str, dst: Ipv4Addr, msg: Message, expect: &[(&'static str, &str)]) -> Case {
    Case {
        name: name.to_string(),
        dst,
        msg,
        expect: expect.iter().map(|(f, v)| (*f, v.to_string())).collect(),
    }
}

/// What tshark shows for the routes of a Report: the mask of each block (consecutive routes
/// with the same mask on the wire, where the default route has the mask of a /8), and per
/// route the network and the 7-bit metric.
fn report_fields(routes: &[RouteEntry]) -> Vec<(&'static str, String)> {
    let mut masks: Vec<Ipv4Addr> = routes
        .iter()
        .map(|r| RouteEntry::new(r.network, r.prefix_len.max(8), 0).netmask())
        .collect();
    masks.dedup();
    vec![
        ("dvmrp.netmask", join(masks)),
        ("dvmrp.saddr", join(routes.iter().map(|r| r.network))),
        ("dvmrp.metric", join(routes.iter().map(|r| r.metric))),
    ]
}

fn cases() -> Vec<Case> {
    let neighbor = a("192.0.2.2");
    let leaf_netmask = Header {
        capabilities: Capabilities::DRAFT | Capabilities::LEAF | Capabilities::NETMASK,
        ..Header::DRAFT
    };
    let snmp = Header {
        capabilities: Capabilities::DRAFT | Capabilities::SNMP,
        ..Header::DRAFT
    };
    let mut cases = vec![
        case(
            "probe, no neighbor (mrouted 3.9 header)",
            ALL_DVMRP_ROUTERS,
            Message::new(Body::Probe(Probe {
                generation_id: 0x654a_1b00,
                neighbors: vec![],
            })),
            &[
                ("dvmrp.v3.code", "0x01"),
                ("dvmrp.capabilities", "0x0e"),
                ("dvmrp.cap.leaf", "0"),
                ("dvmrp.cap.prune", "1"),
                ("dvmrp.cap.genid", "1"),
                ("dvmrp.cap.mtrace", "1"),
                ("dvmrp.cap.snmp", "0"),
                ("dvmrp.cap.netmask", "0"),
                ("dvmrp.genid", "1699355392"),
                ("dvmrp.neighbor", ""),
            ],
        ),
        case(
            "probe, leaf, netmask capable, three neighbors",
            ALL_DVMRP_ROUTERS,
            Message {
                header: leaf_netmask,
                body: Body::Probe(Probe {
                    generation_id: 7,
                    neighbors: vec![a("192.0.2.2"), a("192.0.2.3"), a("192.0.2.200")],
                }),
            },
            &[
                ("dvmrp.v3.code", "0x01"),
                ("dvmrp.capabilities", "0x2f"),
                ("dvmrp.cap.leaf", "1"),
                ("dvmrp.cap.prune", "1"),
                ("dvmrp.cap.genid", "1"),
                ("dvmrp.cap.mtrace", "1"),
                ("dvmrp.cap.snmp", "0"),
                ("dvmrp.cap.netmask", "1"),
                ("dvmrp.genid", "7"),
                ("dvmrp.neighbor", "192.0.2.2,192.0.2.3,192.0.2.200"),
            ],
        ),
    ];

    // Reports: mixed masks, poison reverse, infinity, default route; then the first message
    // of a long table split for 576-octet datagrams.
    let routes = vec![
        route("10.1.1.0", 24, 1),
        route("10.1.2.0", 24, 33),
        route("172.16.0.0", 16, 2),
        route("192.0.2.1", 32, 3),
        route("198.51.100.4", 30, 31),
        route("10.32.16.0", 20, 5),
        route("44.128.0.0", 9, 63),
        route("10.0.0.0", 8, 4),
        route("0.0.0.0", 0, 32),
    ];
    let mut expect = vec![("dvmrp.v3.code", "0x02".to_string())];
    expect.extend(report_fields(&routes));
    cases.push(Case {
        name: "report, every mask width, poison reverse, default route".into(),
        dst: ALL_DVMRP_ROUTERS,
        msg: Message::new(Body::Report(Report { routes })),
        expect,
    });
    let table: Vec<RouteEntry> = (0..300u32)
        .map(|i| {
            RouteEntry::new(
                Ipv4Addr::from(0x0a00_0000 + (i << 8)),
                24,
                1 + (i % 31) as u8,
            )
        })
        .collect();
    let split = split_report(&table, MAX_LEN_576);
    assert!(split.len() > 1);
    for (i, r) in split.iter().enumerate() {
        let mut expect = vec![("dvmrp.v3.code", "0x02".to_string())];
        expect.extend(report_fields(&r.routes));
        cases.push(Case {
            name: format!("report {} of {} of a 300-route table", i + 1, split.len()),
            dst: ALL_DVMRP_ROUTERS,
            msg: Message::new(Body::Report(r.clone())),
            expect,
        });
    }

    cases.extend([
        case(
            "prune without mask (mrouted)",
            neighbor,
            Message::new(Body::Prune(Prune::new(a("10.1.1.0"), a("239.1.2.3"), 7200))),
            &[
                ("dvmrp.v3.code", "0x07"),
                ("dvmrp.saddr", "10.1.1.0"),
                ("dvmrp.maddr", "239.1.2.3"),
                ("dvmrp.lifetime", "7200"),
                ("dvmrp.netmask", ""),
            ],
        ),
        case(
            "prune with source mask (draft 3.7: to All-DVMRP-Routers)",
            ALL_DVMRP_ROUTERS,
            Message::new(Body::Prune(Prune {
                source_mask: Some(a("255.255.255.0")),
                ..Prune::new(a("10.1.1.7"), a("239.1.2.3"), 3600)
            })),
            &[
                ("dvmrp.v3.code", "0x07"),
                ("dvmrp.saddr", "10.1.1.7"),
                ("dvmrp.maddr", "239.1.2.3"),
                ("dvmrp.lifetime", "3600"),
                ("dvmrp.netmask", "255.255.255.0"),
            ],
        ),
        case(
            "graft without mask (mrouted)",
            neighbor,
            Message::new(Body::Graft(Graft::new(a("10.1.1.0"), a("239.1.2.3")))),
            &[
                ("dvmrp.v3.code", "0x08"),
                ("dvmrp.saddr", "10.1.1.0"),
                ("dvmrp.maddr", "239.1.2.3"),
                ("dvmrp.netmask", ""),
            ],
        ),
        case(
            "graft with source mask (draft 3.7: to All-DVMRP-Routers)",
            ALL_DVMRP_ROUTERS,
            Message::new(Body::Graft(Graft {
                source_mask: Some(a("255.255.240.0")),
                ..Graft::new(a("172.16.5.5"), a("232.1.1.1"))
            })),
            &[
                ("dvmrp.v3.code", "0x08"),
                ("dvmrp.saddr", "172.16.5.5"),
                ("dvmrp.maddr", "232.1.1.1"),
                ("dvmrp.netmask", "255.255.240.0"),
            ],
        ),
        case(
            "graft ack without mask (mrouted)",
            neighbor,
            Message::new(Body::GraftAck(Graft::new(a("10.1.1.0"), a("239.1.2.3")))),
            &[
                ("dvmrp.v3.code", "0x09"),
                ("dvmrp.saddr", "10.1.1.0"),
                ("dvmrp.maddr", "239.1.2.3"),
                ("dvmrp.netmask", ""),
            ],
        ),
        case(
            "graft ack with source mask (draft 3.7: to All-DVMRP-Routers)",
            ALL_DVMRP_ROUTERS,
            Message::new(Body::GraftAck(Graft {
                source_mask: Some(a("255.255.255.255")),
                ..Graft::new(a("172.16.5.5"), a("232.1.1.1"))
            })),
            &[
                ("dvmrp.v3.code", "0x09"),
                ("dvmrp.saddr", "172.16.5.5"),
                ("dvmrp.maddr", "232.1.1.1"),
                ("dvmrp.netmask", "255.255.255.255"),
            ],
        ),
        case(
            "ask neighbors2",
            neighbor,
            Message::new(Body::AskNeighbors2),
            &[("dvmrp.v3.code", "0x05")],
        ),
        case(
            "neighbors2: querier phyint, down tunnel, disabled leaf vif, SNMP capable",
            neighbor,
            Message {
                header: snmp,
                body: Body::Neighbors2(vec![
                    Neighbors2Entry {
                        local: a("10.0.0.1"),
                        metric: 1,
                        threshold: 1,
                        flags: InterfaceFlags::QUERIER,
                        neighbors: vec![a("10.0.0.2"), a("10.0.0.3")],
                    },
                    Neighbors2Entry {
                        local: a("192.0.2.1"),
                        metric: 3,
                        threshold: 64,
                        flags: InterfaceFlags::TUNNEL
                            | InterfaceFlags::SRCRT
                            | InterfaceFlags::DOWN,
                        neighbors: vec![a("198.51.100.9")],
                    },
                    Neighbors2Entry {
                        local: a("10.9.0.1"),
                        metric: 2,
                        threshold: 16,
                        flags: InterfaceFlags::DISABLED | InterfaceFlags::LEAF,
                        neighbors: vec![a("0.0.0.0")],
                    },
                ]),
            },
            &[
                ("dvmrp.v3.code", "0x06"),
                ("dvmrp.capabilities", "0x1e"),
                ("dvmrp.cap.snmp", "1"),
                ("dvmrp.cap.leaf", "0"),
                ("dvmrp.local", "10.0.0.1,192.0.2.1,10.9.0.1"),
                ("dvmrp.metric", "1,3,2"),
                ("dvmrp.threshold", "1,64,16"),
                ("dvmrp.flag.tunnel", "0,1,0"),
                ("dvmrp.flag.srcroute", "0,1,0"),
                ("dvmrp.flag.down", "0,1,0"),
                ("dvmrp.flag.disabled", "0,0,1"),
                ("dvmrp.flag.querier", "1,0,0"),
                ("dvmrp.flag.leaf", "0,0,1"),
                ("dvmrp.ncount", "2,1,1"),
                ("dvmrp.neighbor", "10.0.0.2,10.0.0.3,198.51.100.9,0.0.0.0"),
            ],
        ),
        // Obsolete and mrouted-only codes: tshark decodes the header only.
        case(
            "ask neighbors (obsolete)",
            neighbor,
            Message::new(Body::AskNeighbors),
            &[("dvmrp.v3.code", "0x03")],
        ),
        case(
            "neighbors (obsolete)",
            neighbor,
            Message::new(Body::Neighbors(vec![NeighborsEntry {
                local: a("10.0.0.1"),
                metric: 1,
                threshold: 1,
                neighbors: vec![a("10.0.0.2")],
            }])),
            &[("dvmrp.v3.code", "0x04")],
        ),
        case(
            "info request (mrouted)",
            neighbor,
            Message::new(Body::InfoRequest(vec![InfoItem::request(1)])),
            &[("dvmrp.v3.code", "0x0a")],
        ),
        case(
            "info reply (mrouted)",
            neighbor,
            Message::new(Body::InfoReply(vec![InfoItem::version("3.9.8")])),
            &[("dvmrp.v3.code", "0x0b")],
        ),
    ]);
    cases
}

/// The IPv4 header around a message to `dst`: protocol 2 with Router Alert (RFC 2113),
/// TOS 0xc0 (draft 3.1: Internetwork Control), TTL 1 to a group and 255 to a unicast
/// address (mrouted's `send_igmp`).
fn ip(dst: Ipv4Addr) -> Ipv4 {
    Ipv4 {
        dst,
        protocol: 2,
        ttl: if dst.is_multicast() { 1 } else { 255 },
        router_alert: true,
        dont_fragment: true,
    }
}

#[test]
fn tshark_decodes_every_emitted_message() {
    let cases = cases();
    let mut frames = Vec::new();
    for c in &cases {
        let bytes = emit(&c.msg);
        // Our own decoder agrees first.
        assert_eq!(parse(&bytes), Ok(c.msg.clone()), "{}", c.name);
        assert!(
            bytes.len() <= MAX_LEN_576,
            "{}: {} octets",
            c.name,
            bytes.len()
        );
        frames.push(frame(ip(c.dst), &bytes));
    }
    let text = tshark_fields(&frames, FIELDS);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), cases.len(), "one line per packet:\n{text}");
    for (c, line) in cases.iter().zip(&lines) {
        let values: Vec<&str> = line.split('\t').collect();
        assert_eq!(values.len(), FIELDS.len(), "{}: {line}", c.name);
        let got: HashMap<&str, &str> = FIELDS.iter().copied().zip(values).collect();
        let h = c.msg.header;
        let common = [
            ("ip.proto", "2".to_string()),
            ("ip.ttl", ip(c.dst).ttl.to_string()),
            ("ip.dst", c.dst.to_string()),
            ("ip.checksum.status", "1".to_string()), // good
            ("dvmrp.version", "3".to_string()),
            ("dvmrp.type", "0x13".to_string()),
            ("dvmrp.checksum.status", "1".to_string()), // good
            ("dvmrp.min_ver", format!("{:#04x}", h.minor)),
            ("dvmrp.maj_ver", format!("{:#04x}", h.major)),
            ("_ws.malformed", String::new()),
            ("_ws.expert.message", String::new()),
        ];
        for (field, want) in common.iter().chain(&c.expect) {
            assert_eq!(
                got[field], want,
                "{}: tshark field {field}\nall fields: {got:?}",
                c.name
            );
        }
        // tshark shows capabilities for Probe and Neighbors2 only.
        if matches!(c.msg.body, Body::Probe(_) | Body::Neighbors2(_)) {
            assert_eq!(
                got["dvmrp.capabilities"],
                format!("{:#04x}", h.capabilities.0),
                "{}",
                c.name
            );
        } else {
            assert_eq!(got["dvmrp.capabilities"], "", "{}", c.name);
        }
    }
}
