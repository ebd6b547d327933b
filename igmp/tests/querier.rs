//! Querier election and General Queries: RFC 3376 / RFC 9776 sections 6.6.2, 7.3.1, 8.5-8.7,
//! 4.1.6 and 4.1.7; three routers on one simulated LAN.

mod common;

use std::net::Ipv4Addr;

use ::common::FilterMode;
use common::*;
use igmp::config::{InterfaceConfig, Version};
use igmp::events;
use igmp::packet::{Query, RecordType};

const R1: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const R2: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const R3: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);

#[test]
fn s6_6_2_starts_as_querier_with_startup_queries() {
    let mut h = Harness::with(Default::default(), cfg(), Ipv4Addr::new(10, 0, 0, 5));
    assert!(h.iface().querier);
    assert_eq!(h.iface().startup_queries_left, 1);
    assert_eq!(h.take_events()[0].1.what, events::QUERIER);
    h.advance_to(at(500_000));
    let sent = h.take_sent();
    // 8.7 Startup Query Count (2) queries 8.6 Startup Query Interval (31.25 s) apart, then
    // every 8.2 Query Interval (125 s).
    let times: Vec<_> = sent.iter().map(|p| p.at).collect();
    assert_eq!(
        times,
        vec![at(0), at(31_250), at(156_250), at(281_250), at(406_250)]
    );
    for p in &sent {
        assert_eq!((p.dst, p.ttl, p.router_alert), (ALL_SYSTEMS, 1, true));
        let q = p.query();
        assert!(q.is_general());
        assert_eq!(q.version(), 3);
        assert_eq!(q.max_resp_time(), secs(10));
        let v3 = q.v3.as_ref().unwrap();
        assert_eq!((v3.qrv, v3.qqi(), v3.suppress), (2, secs(125), false));
    }
    assert_eq!(h.iface().general_query_ms, 125_000 - (500_000 - 406_250));
}

#[test]
fn s7_3_1_general_query_versions() {
    let mut h = Harness::new(cfg_version(Version::V2));
    let q = h.take_sent()[0].query().clone();
    assert_eq!((q.version(), q.max_resp_code), (2, 100));
    let mut h = Harness::new(cfg_version(Version::V1));
    let q = h.take_sent()[0].query().clone();
    assert_eq!((q.version(), q.max_resp_code), (1, 0));
}

#[test]
fn s6_6_2_lower_address_wins_higher_is_ignored() {
    let mut h = Harness::with(Default::default(), cfg(), R2);
    h.clear();
    // A query from a higher address: still querier.
    h.query(R3, Query::general_v3(secs(10), 2, secs(125)));
    assert!(h.iface().querier);
    // From a lower one: Non-Querier, Other Querier Present timer = 8.5 (255 s).
    h.advance_to(at(1_000));
    h.query(R1, Query::general_v3(secs(10), 2, secs(125)));
    let i = h.iface();
    assert!(!i.querier);
    assert_eq!(i.querier_address, Some(R1));
    assert_eq!(i.other_querier_present_ms, 255_000);
    assert_eq!(i.startup_queries_left, 0);
    assert_eq!(h.take_events()[0].1.what, events::NON_QUERIER);
    // No more General Queries while the querier is heard.
    h.advance_to(at(200_000));
    h.query(R1, Query::general_v3(secs(10), 2, secs(125)));
    h.advance_to(at(454_999));
    assert!(h.take_sent().is_empty());
    // Other Querier Present timer expiry: querier again, a General Query at once.
    h.advance_to(at(455_000));
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].is_general_query() && sent[0].at == at(455_000));
    assert!(h.iface().querier);
    assert_eq!(h.take_events()[0].1.what, events::QUERIER);
    h.advance_to(at(455_000 + 125_000));
    assert_eq!(h.take_sent().len(), 1);
}

#[test]
fn s4_1_6_and_4_1_7_non_querier_adopts_qrv_and_qqi() {
    let mut h = Harness::with(Default::default(), cfg(), R2);
    h.query(R1, Query::general_v3(secs(10), 3, secs(60)));
    let i = h.iface();
    assert_eq!((i.robustness, i.query_interval_ms), (3, 60_000));
    // 8.5 with the adopted values: 3 * 60 + 10 / 2.
    assert_eq!(i.other_querier_present_ms, 185_000);
    // 8.4 with the adopted values: 3 * 60 + 10.
    h.record(RecordType::IsEx, g(1), &[]);
    assert_eq!(h.group_timer(g(1)), 190_000);
    // QRV 0 and QQIC 0 are not adopted.
    h.query(R1, Query::general_v3(secs(10), 0, secs(0)));
    let i = h.iface();
    assert_eq!((i.robustness, i.query_interval_ms), (3, 60_000));
    // Back to the configured values when it becomes querier again.
    h.advance_to(at(185_000));
    let i = h.iface();
    assert!(i.querier);
    assert_eq!((i.robustness, i.query_interval_ms), (2, 125_000));
}

#[test]
fn s7_3_1_older_querier_is_logged_and_still_elected() {
    let mut h = Harness::with(Default::default(), cfg(), R2);
    h.clear();
    h.query(R1, Query::general_v2(secs(10)));
    let ev = h.take_events();
    assert_eq!(ev[0].1.what, events::VERSION_MISMATCH);
    assert!(ev[0].1.detail.contains("IGMPv2"), "{}", ev[0].1.detail);
    assert_eq!(ev[1].1.what, events::NON_QUERIER);
    assert!(!h.iface().querier);
    assert_eq!(h.received("query_v2"), 1);
    // Rate-limited: not again within a Query Interval.
    h.advance_to(at(60_000));
    h.query(R1, Query::general_v1());
    assert!(h.take_events().is_empty());
    h.advance_to(at(130_000));
    h.query(R1, Query::general_v1());
    assert_eq!(h.take_events()[0].1.what, events::VERSION_MISMATCH);
    assert_eq!(h.received("query_v1"), 2);
}

#[test]
fn querier_disabled_never_queries() {
    let c = InterfaceConfig {
        querier: false,
        ..cfg()
    };
    let mut h = Harness::new(c.clone());
    h.advance_to(at(1_000_000));
    assert!(h.take_sent().is_empty());
    assert!(!h.iface().querier);
    // Still tracks the querier, and never takes over.
    h.query(
        Ipv4Addr::new(10, 0, 0, 0),
        Query::general_v3(secs(10), 2, secs(125)),
    );
    assert_eq!(h.iface().querier_address, Some(Ipv4Addr::new(10, 0, 0, 0)));
    h.advance_to(at(2_000_000));
    assert!(h.take_sent().is_empty());
    assert_eq!(h.iface().querier_address, None);
    assert!(
        h.take_events()
            .iter()
            .any(|e| e.1.what == events::NO_QUERIER)
    );
    // Enabling it by configuration makes it querier, with startup queries.
    h.configure(InterfaceConfig {
        querier: true,
        ..c.clone()
    });
    assert!(h.iface().querier);
    assert_eq!(h.take_sent().len(), 1);
    // And disabling it again stops the queries.
    h.configure(c);
    assert!(!h.iface().querier);
    h.advance_to(at(3_000_000));
    assert!(h.take_sent().is_empty());
}

#[test]
fn query_from_unspecified_address_is_dropped() {
    let mut h = Harness::new(cfg());
    h.query(
        Ipv4Addr::UNSPECIFIED,
        Query::general_v3(secs(10), 2, secs(125)),
    );
    assert!(h.iface().querier);
    assert_eq!(h.dropped("source_not_on_subnet"), 1);
}

#[test]
fn address_change_below_the_querier_takes_over() {
    let mut h = Harness::with(Default::default(), cfg(), R3);
    h.query(R2, Query::general_v3(secs(10), 2, secs(125)));
    assert!(!h.iface().querier);
    h.clear();
    h.addr = R1;
    h.up();
    assert!(h.iface().querier);
    assert_eq!(h.take_sent().len(), 1);
}

#[test]
fn querier_stops_specific_queries_when_it_loses_the_election() {
    let mut h = Harness::with(Default::default(), cfg(), R2);
    let grp = g(1);
    h.record(RecordType::IsIn, grp, &[s(1)]);
    h.record(RecordType::Block, grp, &[s(1)]);
    h.clear();
    h.query(R1, Query::general_v3(secs(10), 2, secs(125)));
    assert_eq!(h.group(grp).unwrap().retransmissions_pending, 0);
    h.advance_to(at(5_000));
    assert!(h.take_sent().is_empty());
    // The source timer was lowered when the query went out; it expires.
    assert_eq!(h.membership(grp), None);
}

// ----------------------------------------------------------------------------------------
// Three routers on one LAN

fn lan() -> Lan {
    let mut lan = Lan::new(&[R3, R1, R2], cfg());
    lan.members.push((host(1), g(1)));
    lan.host_sends(host(1), &v3_report(&[(RecordType::IsEx, g(1), &[])]));
    lan
}

#[test]
fn three_routers_elect_the_lowest_address() {
    let mut lan = lan();
    lan.run_until(at(2_000_000));
    // Index 1 is R1.
    assert!(lan.snapshot(1).querier);
    assert!(!lan.snapshot(0).querier && !lan.snapshot(2).querier);
    assert_eq!(lan.snapshot(0).querier_address, Some(R1));
    assert_eq!(lan.snapshot(2).querier_address, Some(R1));
    // The same through the accessor DVMRP's mrinfo answer uses.
    let queriers: Vec<bool> = (0..3)
        .map(|i| lan.routers[i].igmp.is_querier(IF1))
        .collect();
    assert_eq!(queriers, [false, true, false]);
    assert!(!lan.routers[1].igmp.is_querier(::common::IfIndex(99)));
    // After the first instant only R1 sends General Queries: startup, then every 125 s.
    assert!(lan.general_queries(0, at(1), at(2_000_000)).is_empty());
    assert!(lan.general_queries(2, at(1), at(2_000_000)).is_empty());
    let r1 = lan.general_queries(1, at(0), at(2_000_000));
    assert_eq!(&r1[..3], &[at(0), at(31_250), at(156_250)]);
    for w in r1[2..].windows(2) {
        assert_eq!(w[1] - w[0], secs(125));
    }
    // Every router keeps the member's group.
    for i in 0..3 {
        assert_eq!(
            lan.routers[i].igmp.membership(IF1, g(1)).map(|m| m.mode),
            Some(FilterMode::Exclude)
        );
    }
}

#[test]
fn querier_failure_next_lowest_takes_over_without_losing_members() {
    let mut lan = lan();
    lan.run_until(at(1_000_000));
    let last_r1 = *lan.general_queries(1, at(0), at(1_000_000)).last().unwrap();
    // R1 dies (nobody feeds it any more, and its packets are gone).
    lan.routers[1].alive = false;
    let takeover = last_r1 + secs(255);
    lan.run_until(at(3_000_000));
    // R2 takes over when its Other Querier Present timer (8.5: 255 s) expires.
    let r2 = lan.general_queries(2, at(1), at(3_000_000));
    assert_eq!(r2[0], takeover);
    for w in r2.windows(2) {
        assert_eq!(w[1] - w[0], secs(125));
    }
    // R3's timer expired at the same instant; it yields to R2 and never queries again.
    let r3 = lan.general_queries(0, at(1), at(3_000_000));
    assert!(r3.iter().all(|&t| t == takeover), "{r3:?}");
    assert!(lan.snapshot(2).querier);
    assert!(!lan.snapshot(0).querier);
    assert_eq!(lan.snapshot(0).querier_address, Some(R2));
    // No router ever lost the group (the host answers each query after 1 s; OQPI < GMI).
    for i in [0, 2] {
        let log = &lan.routers[i].log.memberships;
        assert_eq!(log.len(), 1, "router {i}: {log:?}");
        assert_eq!(log[0].1, exclude(g(1), &[]));
        assert_no_repeated_membership(log);
    }
}
