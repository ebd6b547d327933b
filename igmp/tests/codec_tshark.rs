//! The codec against an independent decoder: every kind of message `emit` produces is put
//! into an IPv4 packet (protocol 2, TTL 1, Router Alert) and an Ethernet frame, written to a
//! pcap file, and decoded by tshark, which must agree on every field, find both checksums
//! good and report no malformed packet or other expert info.
//!
//! tshark is required (`apt-get install tshark`); without it this test fails.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use std::time::Duration;
use testsupport::{Ipv4, frame, tshark_fields};

use igmp::packet::{GroupRecord, Message, Query, RecordType, V3Report, emit, parse};

/// The fields asked from tshark, in this order.
const FIELDS: &[&str] = &[
    "frame.number",
    "ip.proto",
    "ip.ttl",
    "ip.opt.ra",
    "ip.checksum.status",
    "ip.dst",
    "igmp.type",
    "igmp.version",
    "igmp.max_resp",
    "igmp.checksum.status",
    "igmp.maddr",
    "igmp.s",
    "igmp.qrv",
    "igmp.qqic",
    "igmp.num_src",
    "igmp.saddr",
    "igmp.num_grp_recs",
    "igmp.record_type",
    "igmp.aux_data_len",
    "igmp.aux_data",
    "_ws.malformed",
    "_ws.expert.message",
];

struct Case {
    name: &'static str,
    dst: Ipv4Addr,
    msg: Message,
    /// Expected tshark fields (exact strings; lists are comma-separated).
    expect: Vec<(&'static str, &'static str)>,
}

fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn cases() -> Vec<Case> {
    let secs = Duration::from_secs;
    let rec = |kind, group: &str, sources: &[&str], aux: &[u8]| GroupRecord {
        kind,
        group: a(group),
        sources: sources.iter().map(|s| a(s)).collect(),
        aux: aux.to_vec(),
    };
    vec![
        Case {
            name: "v1 general query",
            dst: a("224.0.0.1"),
            msg: Message::Query(Query::general_v1()),
            expect: vec![
                ("igmp.type", "0x11"),
                ("igmp.version", "1"),
                ("igmp.maddr", "0.0.0.0"),
            ],
        },
        Case {
            name: "v2 general query",
            dst: a("224.0.0.1"),
            msg: Message::Query(Query::general_v2(secs(10))),
            expect: vec![
                ("igmp.type", "0x11"),
                ("igmp.version", "2"),
                ("igmp.max_resp", "100"),
                ("igmp.maddr", "0.0.0.0"),
            ],
        },
        Case {
            name: "v2 group-specific query",
            dst: a("239.1.2.3"),
            msg: Message::Query(Query::group_specific_v2(a("239.1.2.3"), secs(1))),
            expect: vec![
                ("igmp.type", "0x11"),
                ("igmp.version", "2"),
                ("igmp.max_resp", "10"),
                ("igmp.maddr", "239.1.2.3"),
            ],
        },
        Case {
            name: "v3 general query, exponential Max Resp Code",
            dst: a("224.0.0.1"),
            msg: Message::Query(Query::general_v3(secs(20), 2, secs(125))),
            expect: vec![
                ("igmp.type", "0x11"),
                ("igmp.version", "3"),
                ("igmp.max_resp", "200"), // tshark decodes code 0x89: 200 tenths
                ("igmp.maddr", "0.0.0.0"),
                ("igmp.s", "0"),
                ("igmp.qrv", "2"),
                ("igmp.qqic", "125"),
                ("igmp.num_src", "0"),
            ],
        },
        Case {
            name: "v3 group-specific query, S flag",
            dst: a("239.1.2.3"),
            msg: Message::Query(Query::group_specific_v3(
                a("239.1.2.3"),
                secs(1),
                true,
                3,
                secs(300),
            )),
            expect: vec![
                ("igmp.version", "3"),
                ("igmp.max_resp", "10"),
                ("igmp.maddr", "239.1.2.3"),
                ("igmp.s", "1"),
                ("igmp.qrv", "3"),
                ("igmp.qqic", "146"), // raw: 0x92 = 1 001 0010, 18 << 4 = 288 s (300 rounded down)
                ("igmp.num_src", "0"),
            ],
        },
        Case {
            name: "v3 group-and-source-specific query, S flag",
            dst: a("232.1.1.1"),
            msg: Message::Query(Query::group_and_source_specific_v3(
                a("232.1.1.1"),
                vec![a("192.0.2.1"), a("198.51.100.2"), a("203.0.113.3")],
                secs(2),
                true,
                2,
                secs(125),
            )),
            expect: vec![
                ("igmp.version", "3"),
                ("igmp.max_resp", "20"),
                ("igmp.maddr", "232.1.1.1"),
                ("igmp.s", "1"),
                ("igmp.qrv", "2"),
                ("igmp.qqic", "125"),
                ("igmp.num_src", "3"),
                ("igmp.saddr", "192.0.2.1,198.51.100.2,203.0.113.3"),
            ],
        },
        Case {
            name: "v1 report",
            dst: a("239.9.9.1"),
            msg: Message::V1Report {
                group: a("239.9.9.1"),
            },
            expect: vec![
                ("igmp.type", "0x12"),
                ("igmp.version", "1"),
                ("igmp.maddr", "239.9.9.1"),
            ],
        },
        Case {
            name: "v2 report",
            dst: a("239.9.9.2"),
            msg: Message::V2Report {
                group: a("239.9.9.2"),
            },
            expect: vec![
                ("igmp.type", "0x16"),
                ("igmp.version", "2"),
                ("igmp.maddr", "239.9.9.2"),
            ],
        },
        Case {
            name: "v2 leave",
            dst: a("224.0.0.2"),
            msg: Message::V2Leave {
                group: a("239.9.9.2"),
            },
            expect: vec![
                ("igmp.type", "0x17"),
                ("igmp.version", "2"),
                ("igmp.maddr", "239.9.9.2"),
            ],
        },
        Case {
            name: "v3 report, all six record types, aux data",
            dst: a("224.0.0.22"),
            msg: Message::V3Report(V3Report {
                records: vec![
                    rec(
                        RecordType::IsIn,
                        "232.1.1.1",
                        &["10.0.0.1", "10.0.0.2"],
                        &[],
                    ),
                    rec(RecordType::IsEx, "239.1.1.1", &[], &[]),
                    rec(RecordType::ToIn, "239.1.1.2", &["10.0.0.3"], &[]),
                    rec(
                        RecordType::ToEx,
                        "239.1.1.3",
                        &["10.0.0.4"],
                        &[1, 2, 3, 4, 5, 6, 7, 8],
                    ),
                    rec(RecordType::Allow, "232.1.1.4", &["10.0.0.5"], &[]),
                    rec(
                        RecordType::Block,
                        "232.1.1.5",
                        &["10.0.0.6", "10.0.0.7"],
                        &[],
                    ),
                ],
            }),
            expect: vec![
                ("igmp.type", "0x22"),
                ("igmp.version", "3"),
                ("igmp.num_grp_recs", "6"),
                ("igmp.record_type", "1,2,3,4,5,6"),
                ("igmp.aux_data_len", "0,0,0,2,0,0"),
                ("igmp.aux_data", "0102030405060708"),
                ("igmp.num_src", "2,0,1,1,1,2"),
                (
                    "igmp.maddr",
                    "232.1.1.1,239.1.1.1,239.1.1.2,239.1.1.3,232.1.1.4,232.1.1.5",
                ),
                (
                    "igmp.saddr",
                    "10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4,10.0.0.5,10.0.0.6,10.0.0.7",
                ),
            ],
        },
    ]
}

/// The IPv4 header around a message to `dst`.
fn ip(dst: Ipv4Addr) -> Ipv4 {
    Ipv4 {
        dst,
        protocol: 2,
        ttl: 1,
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
        frames.push(frame(ip(c.dst), &bytes));
    }
    let text = tshark_fields(&frames, FIELDS);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), cases.len(), "one line per packet:\n{text}");
    for (c, line) in cases.iter().zip(&lines) {
        let values: Vec<&str> = line.split('\t').collect();
        assert_eq!(values.len(), FIELDS.len(), "{}: {line}", c.name);
        let got: HashMap<&str, &str> = FIELDS.iter().copied().zip(values).collect();
        let common = [
            ("ip.proto", "2"),
            ("ip.ttl", "1"),
            ("ip.opt.ra", "0"),
            ("ip.checksum.status", "1"),   // good
            ("igmp.checksum.status", "1"), // good
            ("_ws.malformed", ""),
            ("_ws.expert.message", ""),
        ];
        for (field, want) in common.iter().chain(&c.expect) {
            assert_eq!(
                got[field], *want,
                "{}: tshark field {field}\nall fields: {got:?}",
                c.name
            );
        }
        assert_eq!(got["ip.dst"], c.dst.to_string(), "{}", c.name);
    }
}
