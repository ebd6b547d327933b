//! The codec against an independent decoder: one message of every type `emit` produces is put
//! into an IPv4 packet (protocol 103; TTL 1 to ALL-PIM-ROUTERS, or TTL 255 unicast) and an
//! Ethernet frame, written to a pcap file, and decoded by tshark, which must agree on every
//! field, find the PIM checksum (and the IP and UDP checksums) good and report no malformed
//! packet or other expert info. tshark lists a field once per occurrence (the Encoded-Group
//! address twice: once for the item, once for its address), in packet order.
//!
//! tshark is required (`apt-get install tshark`); without it this test fails.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use common::checksum::checksum;
use testsupport::{Ipv4, frame, tshark_fields};

use pim::packet::{
    ALL_PIM_ROUTERS, Assert, Bootstrap, BootstrapGroup, BootstrapRp, CandidateRpAdv, EncodedGroup,
    EncodedSource, Hello, HelloOption, JoinPrune, JoinPruneGroup, Message, Register, RegisterStop,
    emit, parse,
};

/// The fields asked from tshark, in this order.
const FIELDS: &[&str] = &[
    "frame.number",
    "ip.proto",
    "ip.ttl",
    "ip.checksum.status",
    "ip.src",
    "ip.dst",
    "pim.version",
    "pim.type",
    "pim.res_bytes",
    "pim.cksum.status",
    "pim.optiontype",
    "pim.optionlength",
    "pim.optionvalue",
    "pim.holdtime",
    "pim.t",
    "pim.propagation_delay",
    "pim.override_interval",
    "pim.dr_priority",
    "pim.generation_id",
    "pim.address_list",
    "pim.register_flag.border",
    "pim.register_flag.null_register",
    "udp.srcport",
    "udp.dstport",
    "udp.checksum.status",
    "pim.upstream_neighbor",
    "pim.numgroups",
    "pim.group",
    "pim.mask_len",
    "pim.group_addr.flags.b",
    "pim.group_addr.flags.z",
    "pim.numjoins",
    "pim.numprunes",
    "pim.join_ip",
    "pim.prune_ip",
    "pim.source_addr.flags.s",
    "pim.source_addr.flags.w",
    "pim.source_addr.flags.r",
    "pim.source",
    "pim.unicast",
    "pim.rpt",
    "pim.metric_pref",
    "pim.metric",
    "pim.fragment_tag",
    "pim.hash_mask_len",
    "pim.bsr_priority",
    "pim.bsr",
    "pim.rp_count",
    "pim.frp_count",
    "pim.rp",
    "pim.priority",
    "pim.prefix_count",
    "_ws.malformed",
    "_ws.expert.message",
];

struct Case {
    name: &'static str,
    dst: Ipv4Addr,
    msg: Message,
    /// Expected tshark fields (exact strings; repeated fields are comma-separated).
    expect: Vec<(&'static str, &'static str)>,
}

fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// A small IPv4/UDP packet 10.1.1.1:5000 -> 239.1.1.1:6000 with correct checksums.
fn udp_packet() -> Vec<u8> {
    let payload = b"mrouter";
    let total = 20 + 8 + payload.len();
    let mut p = vec![0x45, 0, 0, total as u8, 0x12, 0x34, 0x40, 0, 16, 17, 0, 0];
    p.extend_from_slice(&a("10.1.1.1").octets());
    p.extend_from_slice(&a("239.1.1.1").octets());
    let c = checksum(&p);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    let mut udp = vec![0x13, 0x88, 0x17, 0x70, 0, (8 + payload.len()) as u8, 0, 0];
    udp.extend_from_slice(payload);
    // UDP checksum over the pseudo-header.
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&p[12..20]);
    pseudo.extend_from_slice(&[0, 17, 0, udp.len() as u8]);
    pseudo.extend_from_slice(&udp);
    let c = checksum(&pseudo);
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(&udp);
    p
}

fn cases() -> Vec<Case> {
    let rp = a("10.0.0.100");
    let g = |s: &str| EncodedGroup::new(a(s));
    vec![
        Case {
            name: "hello with every option kind",
            dst: ALL_PIM_ROUTERS,
            msg: Message::Hello(Hello {
                options: vec![
                    HelloOption::Holdtime(105),
                    HelloOption::LanPruneDelay {
                        t_bit: true,
                        propagation_delay_ms: 500,
                        override_interval_ms: 2500,
                    },
                    HelloOption::DrPriority(7),
                    HelloOption::GenerationId(0x1234_5678),
                    HelloOption::AddressList(vec![a("10.0.0.2"), a("192.168.1.1")]),
                    HelloOption::Unknown {
                        kind: 21, // State Refresh Capable (RFC 3973): version 1, 60 s
                        value: vec![1, 60, 0, 0],
                    },
                    HelloOption::Unknown {
                        kind: 65000,
                        value: vec![0xde, 0xad],
                    },
                ],
            }),
            expect: vec![
                ("pim.type", "0"),
                ("pim.optiontype", "1,2,19,20,24,21,65000"),
                ("pim.optionlength", "2,4,4,4,12,4,2"),
                ("pim.holdtime", "105"),
                ("pim.t", "1"),
                ("pim.propagation_delay", "500"),
                ("pim.override_interval", "2500"),
                ("pim.dr_priority", "7"),
                ("pim.generation_id", "305419896"),
                ("pim.address_list", "10.0.0.2,192.168.1.1"),
                ("pim.optionvalue", "dead"),
            ],
        },
        Case {
            name: "hello holdtime 0, no other option",
            dst: ALL_PIM_ROUTERS,
            msg: Message::Hello(Hello {
                options: vec![HelloOption::Holdtime(0)],
            }),
            expect: vec![
                ("pim.type", "0"),
                ("pim.optiontype", "1"),
                ("pim.holdtime", "0"),
            ],
        },
        Case {
            name: "register",
            dst: a("10.0.0.100"),
            msg: Message::Register(Register {
                border: false,
                null: false,
                packet: udp_packet(),
            }),
            expect: vec![
                ("pim.type", "1"),
                ("pim.register_flag.border", "0"),
                ("pim.register_flag.null_register", "0"),
                // Outer and inner IPv4 headers.
                ("ip.proto", "103,17"),
                ("ip.ttl", "255,16"),
                ("ip.src", "192.0.2.1,10.1.1.1"),
                ("ip.dst", "10.0.0.100,239.1.1.1"),
                ("ip.checksum.status", "1,1"),
                ("udp.srcport", "5000"),
                ("udp.dstport", "6000"),
                ("udp.checksum.status", "1"),
            ],
        },
        Case {
            name: "null-register from a border router",
            dst: a("10.0.0.100"),
            msg: Message::Register(Register {
                border: true,
                ..Register::null(a("10.1.1.1"), a("239.1.1.1"))
            }),
            expect: vec![
                ("pim.type", "1"),
                ("pim.register_flag.border", "1"),
                ("pim.register_flag.null_register", "1"),
                // The dummy header: protocol PIM, TTL 0 (as FRR sends it).
                ("ip.proto", "103,103"),
                ("ip.ttl", "255,0"),
                ("ip.src", "192.0.2.1,10.1.1.1"),
                ("ip.dst", "10.0.0.100,239.1.1.1"),
                ("ip.checksum.status", "1,1"),
            ],
        },
        Case {
            name: "register-stop",
            dst: a("192.0.2.9"),
            msg: Message::RegisterStop(RegisterStop {
                group: g("239.1.1.1"),
                source: a("10.1.1.1"),
            }),
            expect: vec![
                ("pim.type", "2"),
                ("pim.group", "239.1.1.1,239.1.1.1"),
                ("pim.mask_len", "32"),
                ("pim.unicast", "10.1.1.1"),
            ],
        },
        Case {
            name: "join/prune, several groups, every bit combination",
            dst: ALL_PIM_ROUTERS,
            msg: Message::JoinPrune(JoinPrune {
                upstream_neighbor: a("10.0.0.1"),
                holdtime: 210,
                groups: vec![
                    // (*,G) Join with (S,G,rpt) Prunes.
                    JoinPruneGroup {
                        group: g("239.1.1.1"),
                        joins: vec![EncodedSource::star_g(rp)],
                        prunes: vec![
                            EncodedSource::sg_rpt(a("10.1.1.1")),
                            EncodedSource::sg_rpt(a("10.1.1.2")),
                        ],
                    },
                    // (S,G) Joins and an (S,G) Prune, a source prefix, bidir and zone bits.
                    JoinPruneGroup {
                        group: EncodedGroup {
                            bidir: true,
                            zone: true,
                            ..EncodedGroup::range(a("239.2.0.0"), 16)
                        },
                        joins: vec![
                            EncodedSource::sg(a("10.2.2.2")),
                            EncodedSource {
                                mask_len: 24,
                                ..EncodedSource::sg(a("10.3.3.0"))
                            },
                        ],
                        prunes: vec![EncodedSource::sg(a("10.4.4.4"))],
                    },
                    // (*,G) Prune.
                    JoinPruneGroup {
                        group: g("239.3.3.3"),
                        joins: vec![],
                        prunes: vec![EncodedSource::star_g(rp)],
                    },
                    // SSM join, and the remaining combinations of S, W, R: none, W only.
                    JoinPruneGroup {
                        group: g("232.1.1.1"),
                        joins: vec![
                            EncodedSource::sg(a("10.5.5.5")),
                            EncodedSource {
                                sparse: false,
                                ..EncodedSource::sg(a("10.6.6.6"))
                            },
                        ],
                        prunes: vec![EncodedSource {
                            rpt: false,
                            ..EncodedSource::star_g(rp)
                        }],
                    },
                ],
            }),
            expect: vec![
                ("pim.type", "3"),
                ("pim.upstream_neighbor", "10.0.0.1"),
                ("pim.numgroups", "4"),
                ("pim.holdtime", "210"),
                (
                    "pim.group",
                    "239.1.1.1,239.1.1.1,239.2.0.0,239.2.0.0,239.3.3.3,239.3.3.3,\
                     232.1.1.1,232.1.1.1",
                ),
                // The header's and the Join/Prune's reserved octet.
                ("pim.res_bytes", "00,00"),
                ("pim.group_addr.flags.b", "0,1,0,0"),
                ("pim.group_addr.flags.z", "0,1,0,0"),
                ("pim.numjoins", "1,2,0,2"),
                ("pim.numprunes", "2,1,1,1"),
                (
                    "pim.join_ip",
                    "10.0.0.100,10.2.2.2,10.3.3.0,10.5.5.5,10.6.6.6",
                ),
                (
                    "pim.prune_ip",
                    "10.1.1.1,10.1.1.2,10.4.4.4,10.0.0.100,10.0.0.100",
                ),
                // Per source, in order: 1 join + 2 prunes, 2 joins + 1 prune, 1 prune,
                // 2 joins + 1 prune.
                ("pim.source_addr.flags.s", "1,1,1,1,1,1,1,1,0,1"),
                ("pim.source_addr.flags.w", "1,0,0,0,0,0,1,0,0,1"),
                ("pim.source_addr.flags.r", "1,1,1,0,0,0,1,0,0,0"),
                // Groups, then sources, in order of appearance.
                ("pim.mask_len", "32,32,32,32,16,32,24,32,32,32,32,32,32,32"),
            ],
        },
        Case {
            name: "assert (S,G)",
            dst: ALL_PIM_ROUTERS,
            msg: Message::Assert(Assert {
                group: g("239.1.1.1"),
                source: a("10.1.1.1"),
                rpt: false,
                metric_preference: 110,
                metric: 20,
            }),
            expect: vec![
                ("pim.type", "5"),
                ("pim.group", "239.1.1.1,239.1.1.1"),
                ("pim.source", "10.1.1.1"),
                ("pim.rpt", "0"),
                ("pim.metric_pref", "110"),
                ("pim.metric", "20"),
            ],
        },
        Case {
            name: "assert (*,G) with R bit",
            dst: ALL_PIM_ROUTERS,
            msg: Message::Assert(Assert {
                group: g("239.1.1.1"),
                source: Ipv4Addr::UNSPECIFIED,
                rpt: true,
                metric_preference: 0x7fff_ffff,
                metric: 0xffff_ffff,
            }),
            expect: vec![
                ("pim.type", "5"),
                ("pim.group", "239.1.1.1,239.1.1.1"),
                ("pim.source", "0.0.0.0"),
                ("pim.rpt", "1"),
                ("pim.metric_pref", "2147483647"),
                ("pim.metric", "4294967295"),
            ],
        },
        Case {
            name: "bootstrap, No-Forward",
            dst: ALL_PIM_ROUTERS,
            msg: Message::Bootstrap(Bootstrap {
                fragment_tag: 0x1234,
                hash_mask_len: 30,
                bsr_priority: 64,
                bsr_address: a("10.0.0.9"),
                no_forward: true,
                groups: vec![
                    BootstrapGroup {
                        group: EncodedGroup::range(a("224.0.0.0"), 4),
                        rp_count: 2,
                        rps: vec![
                            BootstrapRp {
                                address: rp,
                                holdtime: 150,
                                priority: 192,
                            },
                            BootstrapRp {
                                address: a("10.0.0.101"),
                                holdtime: 151,
                                priority: 10,
                            },
                        ],
                    },
                    BootstrapGroup {
                        group: EncodedGroup {
                            zone: true,
                            ..EncodedGroup::range(a("239.0.0.0"), 8)
                        },
                        rp_count: 1,
                        rps: vec![BootstrapRp {
                            address: rp,
                            holdtime: 152,
                            priority: 0,
                        }],
                    },
                ],
            }),
            expect: vec![
                ("pim.type", "4"),
                // The header's flag byte with the No-Forward bit, then each RP's reserved
                // octet.
                ("pim.res_bytes", "80,00,00,00"),
                ("pim.fragment_tag", "0x1234"),
                ("pim.hash_mask_len", "30"),
                ("pim.bsr_priority", "64"),
                ("pim.bsr", "10.0.0.9"),
                ("pim.group", "224.0.0.0,224.0.0.0,239.0.0.0,239.0.0.0"),
                ("pim.mask_len", "4,8"),
                ("pim.group_addr.flags.z", "0,1"),
                ("pim.rp_count", "2,1"),
                ("pim.frp_count", "2,1"),
                ("pim.rp", "10.0.0.100,10.0.0.101,10.0.0.100"),
                ("pim.holdtime", "150,151,152"),
                ("pim.priority", "192,10,0"),
            ],
        },
        Case {
            name: "candidate-RP advertisement",
            dst: a("10.0.0.9"),
            msg: Message::CandidateRpAdv(CandidateRpAdv {
                priority: 192,
                holdtime: 150,
                rp,
                groups: vec![
                    EncodedGroup::range(a("224.0.0.0"), 4),
                    EncodedGroup {
                        zone: true,
                        ..EncodedGroup::range(a("239.255.0.0"), 16)
                    },
                ],
            }),
            expect: vec![
                ("pim.type", "8"),
                ("pim.prefix_count", "2"),
                ("pim.priority", "192"),
                ("pim.holdtime", "150"),
                ("pim.rp", "10.0.0.100"),
                ("pim.group", "224.0.0.0,224.0.0.0,239.255.0.0,239.255.0.0"),
                ("pim.mask_len", "4,16"),
                ("pim.group_addr.flags.z", "0,1"),
            ],
        },
    ]
}

/// The IPv4 header around a message to `dst`.
fn ip(dst: Ipv4Addr) -> Ipv4 {
    Ipv4 {
        dst,
        protocol: 103,
        ttl: if dst.is_multicast() { 1 } else { 255 },
        router_alert: false,
        dont_fragment: false,
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
    let mut failures = Vec::new();
    for (c, line) in cases.iter().zip(&lines) {
        let values: Vec<&str> = line.split('\t').collect();
        assert_eq!(values.len(), FIELDS.len(), "{}: {line}", c.name);
        let got: HashMap<&str, &str> = FIELDS.iter().copied().zip(values).collect();
        let ttl = if c.dst.is_multicast() { "1" } else { "255" };
        let mut common = vec![
            ("pim.version", "2"),
            ("pim.cksum.status", "1"), // good
            ("_ws.malformed", ""),
            ("_ws.expert.message", ""),
        ];
        // A Register's fields of the inner IPv4 header follow those of the outer one: its
        // case lists them.
        if c.msg.message_type() != pim::packet::REGISTER {
            common.push(("ip.proto", "103"));
            common.push(("ip.ttl", ttl));
            common.push(("ip.checksum.status", "1")); // good
            common.push(("ip.src", "192.0.2.1"));
        }
        if !matches!(c.msg, Message::Bootstrap(_) | Message::JoinPrune(_)) {
            common.push(("pim.res_bytes", "00"));
        }
        for (field, want) in common.iter().chain(&c.expect) {
            if got[field] != *want {
                failures.push(format!(
                    "{}: tshark field {field} = {:?}, expected {want:?}\n  all fields: {got:?}",
                    c.name, got[field]
                ));
            }
        }
        let ip_dst = got["ip.dst"].split(',').next().unwrap();
        assert_eq!(ip_dst, c.dst.to_string(), "{}", c.name);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
