//! Interoperation with older versions: RFC 3376 / RFC 9776 section 7.3.2 (Group
//! Compatibility Mode, Host Present timers, message translation) and 7.3.1 (interfaces
//! configured for IGMPv1 / IGMPv2).

mod common;

use std::net::Ipv4Addr;

use ::common::FilterMode;
use common::*;
use igmp::config::Version;
use igmp::events;
use igmp::packet::{Message, RecordType::*};

const G: Ipv4Addr = g(1);

fn compat(h: &Harness) -> u8 {
    h.group(G).expect("group").compat_mode
}

fn specific_queries(h: &mut Harness) -> Vec<(u64, Message)> {
    h.take_sent()
        .into_iter()
        .filter(|p| !p.is_general_query())
        .map(|p| (p.at.since_epoch().as_millis() as u64, p.msg))
        .collect()
}

#[test]
fn s7_3_2_v2_report_on_v3_interface_then_back_to_v3() {
    let mut h = Harness::new(cfg());
    h.clear();
    // A v3 host wants everything but S1; a v2 host joins the group.
    h.rx(host(3), &v3_report(&[(IsEx, G, &[s(1)])]));
    assert_eq!(h.take_memberships(), vec![(at(0), exclude(G, &[s(1)]))]);
    h.advance_to(at(10_000));
    h.v2_report(G);
    // 7.3.2: IGMPv2 mode, v2 Host Present timer = Older Host Present Interval (8.13).
    let gs = h.group(G).unwrap();
    assert_eq!(
        (gs.compat_mode, gs.v2_host_present_ms, gs.v1_host_present_ms),
        (2, 260_000, 0)
    );
    let ev = h.take_events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].1.what, events::COMPAT_MODE);
    // v2 Report = IS_EX( {} ): EXCLUDE (X,Y) IS_EX ({}) -> EXCLUDE ({}, {}).
    assert_eq!(h.take_memberships(), vec![(at(10_000), exclude(G, &[]))]);
    // In v2 mode IS_EX/TO_EX source lists are ignored and BLOCK is ignored.
    h.rx(host(3), &v3_report(&[(IsEx, G, &[s(1)])]));
    h.rx(host(3), &v3_report(&[(ToEx, G, &[s(1)])]));
    h.rx(host(3), &v3_report(&[(Block, G, &[s(2)])]));
    assert_eq!(h.dropped("compat_ignored"), 1);
    assert!(h.take_memberships().is_empty());
    assert_eq!(h.membership(G), Some(exclude(G, &[])));
    assert!(specific_queries(&mut h).is_empty());
    // The v2 host goes silent; the v3 host answers every query (every 100 s here).
    let mut t = 10_000;
    while t < 600_000 {
        t += 100_000;
        h.advance_to(at(t));
        h.rx(host(3), &v3_report(&[(IsEx, G, &[s(1)])]));
        if t == 210_000 {
            assert_eq!(compat(&h), 2);
        }
        if t == 310_000 {
            // The v2 Host Present timer expired at 270 s: IGMPv3 mode, and this IS_EX({S1})
            // is taken with its source list: EXCLUDE ({},{}) IS_EX ({S1}) -> EXCLUDE
            // (A-Y, Y*A) = EXCLUDE ({S1}, {}), (A-X-Y)=GMI: S1 is on the Requested List
            // (still forwarded) until its timer says no host wants it.
            assert_eq!(compat(&h), 3);
            assert_eq!(h.source_timers(G), vec![(s(1), GMI_MS)]);
        }
    }
    let ev = h.take_events();
    assert!(
        ev.iter()
            .any(|(t, e)| *t == at(270_000) && e.what == events::COMPAT_MODE),
        "{ev:?}"
    );
    // S1's timer expires at 310 + 260 s: it moves to the Exclude List.
    assert_eq!(
        h.take_memberships(),
        vec![(at(310_000 + GMI_MS), exclude(G, &[s(1)]))]
    );
}

#[test]
fn s7_3_2_v2_leave_is_to_in_empty() {
    let mut h = Harness::new(cfg());
    h.v2_report(G);
    h.advance_to(at(20_000));
    h.clear();
    h.leave(G);
    assert_eq!(h.received("leave_v2"), 1);
    assert_eq!(h.group_timer(G), LMQT_MS);
    h.advance_to(at(30_000));
    // v3 group-specific queries (the interface runs IGMPv3; v2 hosts answer them).
    let q = specific_queries(&mut h);
    assert_eq!(q.len(), 2);
    assert_eq!((q[0].0, q[1].0), (20_000, 21_000));
    for (_, m) in &q {
        let Message::Query(q) = m else { panic!() };
        assert_eq!((q.version(), q.group), (3, G));
    }
    assert_eq!(h.take_memberships(), vec![(at(22_000), include(G, &[]))]);
    assert!(h.group(G).is_none());
}

#[test]
fn s7_3_2_v1_mode_ignores_leave_to_in_and_block() {
    let mut h = Harness::new(cfg());
    h.v2_report(G);
    h.advance_to(at(5_000));
    h.v1_report(G);
    assert_eq!(compat(&h), 1);
    h.clear();
    h.leave(G);
    h.record(ToIn, G, &[]);
    h.record(Block, G, &[s(1)]);
    assert_eq!(h.dropped("compat_ignored"), 3);
    assert_eq!(h.group_timer(G), GMI_MS);
    assert!(specific_queries(&mut h).is_empty());
    // ALLOW is still processed (adds a source record, forwarding unchanged).
    h.record(Allow, G, &[s(1)]);
    assert_eq!(h.source_timers(G), vec![(s(1), GMI_MS)]);
    // A v2 report at 200 s runs the v2 Host Present timer until 460 s; when the v1 one
    // expires (5 + 260 s) the group is in IGMPv2 mode, where leaves count again.
    h.advance_to(at(200_000));
    h.v2_report(G); // v2 Host Present until 460 s
    h.advance_to(at(264_999));
    assert_eq!(compat(&h), 1);
    h.advance_to(at(265_000));
    assert_eq!(compat(&h), 2);
    h.leave(G);
    assert_eq!(h.group_timer(G), LMQT_MS);
}

#[test]
fn s7_3_2_v1_report_translates_to_is_ex_empty() {
    let mut h = Harness::new(cfg());
    h.record(IsIn, G, &[s(1)]);
    h.v1_report(G);
    assert_eq!(h.received("report_v1"), 1);
    let gs = h.group(G).unwrap();
    assert_eq!((gs.compat_mode, gs.v1_host_present_ms), (1, 260_000));
    assert_eq!(h.membership(G), Some(exclude(G, &[])));
}

#[test]
fn s7_3_1_v2_interface() {
    let mut h = Harness::new(cfg_version(Version::V2));
    h.clear();
    // v3 records mean: IS_IN with sources = join (all sources) ...
    h.record(IsIn, G, &[s(1)]);
    assert_eq!(h.membership(G), Some(exclude(G, &[])));
    assert_eq!(h.group(G).unwrap().compat_mode, 2);
    // ... BLOCK and IS_IN({}) = nothing ...
    h.record(Block, G, &[s(1)]);
    h.record(IsIn, G, &[]);
    assert_eq!(h.dropped("compat_ignored"), 2);
    // ... TO_IN({}) = leave: v2 group-specific queries, LMQI apart.
    h.advance_to(at(20_000));
    h.record(ToIn, G, &[]);
    h.advance_to(at(20_500));
    let q = specific_queries(&mut h);
    assert_eq!(q.len(), 1);
    let Message::Query(q0) = &q[0].1 else {
        panic!()
    };
    assert_eq!((q0.version(), q0.group, q0.max_resp_code), (2, G, 10));
    // A report in between stops the retransmissions (IGMPv2 has no S flag).
    h.v2_report(G);
    assert_eq!(h.group(G).unwrap().group_query_retransmissions, 0);
    h.advance_to(at(30_000));
    assert!(specific_queries(&mut h).is_empty());
    assert_eq!(h.group_timer(G), GMI_MS - 9_500);
    // Another leave without reports: two queries, then the group goes.
    h.leave(G);
    h.advance_to(at(40_000));
    let q = specific_queries(&mut h);
    assert_eq!(
        q.iter().map(|x| x.0).collect::<Vec<_>>(),
        vec![30_000, 31_000]
    );
    assert!(h.group(G).is_none());
    assert_eq!(h.take_memberships().last().unwrap().1, include(G, &[]));
}

#[test]
fn s7_3_1_v1_interface_ignores_leaves_and_times_out() {
    let mut h = Harness::new(cfg_version(Version::V1));
    h.clear();
    h.v2_report(G);
    h.record(ToEx, g(2), &[s(1)]);
    assert_eq!(h.membership(G), Some(exclude(G, &[])));
    assert_eq!(h.membership(g(2)), Some(exclude(g(2), &[])));
    assert_eq!(h.group(G).unwrap().compat_mode, 1);
    h.leave(G);
    h.record(ToIn, g(2), &[]);
    assert_eq!(h.dropped("compat_ignored"), 2);
    h.advance_to(at(GMI_MS));
    assert!(specific_queries(&mut h).is_empty());
    assert_eq!(
        h.take_memberships(),
        vec![
            (at(0), exclude(G, &[])),
            (at(0), exclude(g(2), &[])),
            (at(GMI_MS), include(G, &[])),
            (at(GMI_MS), include(g(2), &[])),
        ]
    );
}

#[test]
fn compat_mode_is_reported_per_group() {
    let mut h = Harness::new(cfg());
    h.v2_report(g(1));
    h.record(IsEx, g(2), &[]);
    let groups = h.iface().groups;
    assert_eq!(
        groups
            .iter()
            .map(|x| (x.group, x.compat_mode))
            .collect::<Vec<_>>(),
        vec![(g(1), 2), (g(2), 3)]
    );
    assert!(groups.iter().all(|x| x.filter_mode == FilterMode::Exclude));
}
