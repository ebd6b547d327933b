//! RFC 3376 / RFC 9776 sections 6.4.1 and 6.4.2, every row of both tables from both router
//! states, with exact timers in virtual time, the queries sent (6.6.3) and the Membership
//! output (6.3); section 6.5 expiry; section 6.6.1 / 6.6.3 query rules.

mod common;

use std::net::Ipv4Addr;

use ::common::{FilterMode, Instant};
use common::*;
use igmp::packet::{Query, RecordType::*};

const G: Ipv4Addr = g(1);
const T20: Instant = at(20_000);

/// INCLUDE (A), A = {S1, S2}: IS_IN({S1,S2}) at t = 0; now t = 20 s (A timers: 240 s).
fn include_a() -> Harness {
    let mut h = Harness::new(cfg());
    h.record(IsIn, G, &srcs(&[1, 2]));
    h.advance_to(T20);
    assert_eq!(h.source_timers(G), vec![(s(1), 240_000), (s(2), 240_000)]);
    assert_eq!(h.membership(G), Some(include(G, &srcs(&[1, 2]))));
    h.clear();
    h
}

/// EXCLUDE (X,Y), X = {S1, S2}, Y = {S3, S4}: IS_EX({S3,S4}) at 0, IS_IN({S1,S2}) at 5 s;
/// now t = 20 s (group timer 240 s, X timers 245 s).
fn exclude_xy() -> Harness {
    let mut h = Harness::new(cfg());
    h.record(IsEx, G, &srcs(&[3, 4]));
    h.advance_to(at(5_000));
    h.record(IsIn, G, &srcs(&[1, 2]));
    h.advance_to(T20);
    assert_eq!(h.group(G).unwrap().filter_mode, FilterMode::Exclude);
    assert_eq!(h.group_timer(G), 240_000);
    assert_eq!(
        h.source_timers(G),
        vec![(s(1), 245_000), (s(2), 245_000), (s(3), 0), (s(4), 0)]
    );
    assert_eq!(h.membership(G), Some(exclude(G, &srcs(&[3, 4]))));
    h.clear();
    h
}

/// Specific queries sent: (ms since epoch, group, sources, S flag). Checks they go to the
/// group with TTL 1, Router Alert, Max Resp Time = LMQI (1 s).
fn specific(h: &mut Harness) -> Vec<(u64, Ipv4Addr, Vec<Ipv4Addr>, bool)> {
    h.take_sent()
        .into_iter()
        .filter(|p| !p.is_general_query())
        .map(|p| {
            let (group, sources, suppress) = p.specific();
            assert_eq!(p.dst, group);
            assert_eq!((p.ttl, p.router_alert, p.ifindex), (1, true, IF1));
            assert_eq!(p.query().max_resp_time(), secs(1));
            (
                p.at.since_epoch().as_millis() as u64,
                group,
                sources,
                suppress,
            )
        })
        .collect()
}

fn mode(h: &Harness) -> FilterMode {
    h.group(G).expect("group").filter_mode
}

// ----------------------------------------------------------------------------------------
// 6.4.1 Reception of Current-State Records

#[test]
fn s6_4_1_include_is_in() {
    // INCLUDE (A)  IS_IN (B)  ->  INCLUDE (A+B)  (B)=GMI
    let mut h = include_a();
    h.record(IsIn, G, &srcs(&[2, 3]));
    assert_eq!(mode(&h), FilterMode::Include);
    assert_eq!(h.group_timer(G), 0);
    assert_eq!(
        h.source_timers(G),
        vec![(s(1), 240_000), (s(2), GMI_MS), (s(3), GMI_MS)]
    );
    assert!(specific(&mut h).is_empty());
    assert_eq!(
        h.take_memberships(),
        vec![(T20, include(G, &srcs(&[1, 2, 3])))]
    );
}

#[test]
fn s6_4_1_include_is_ex() {
    // INCLUDE (A)  IS_EX (B)  ->  EXCLUDE (A*B,B-A)  (B-A)=0, Delete (A-B), Group Timer=GMI
    let mut h = include_a();
    h.record(IsEx, G, &srcs(&[2, 3]));
    assert_eq!(mode(&h), FilterMode::Exclude);
    assert_eq!(h.group_timer(G), GMI_MS);
    assert_eq!(h.source_timers(G), vec![(s(2), 240_000), (s(3), 0)]);
    assert!(specific(&mut h).is_empty());
    assert_eq!(h.take_memberships(), vec![(T20, exclude(G, &[s(3)]))]);
}

#[test]
fn s6_4_1_exclude_is_in() {
    // EXCLUDE (X,Y)  IS_IN (A)  ->  EXCLUDE (X+A,Y-A)  (A)=GMI
    let mut h = exclude_xy();
    h.record(IsIn, G, &srcs(&[2, 4, 5]));
    assert_eq!(mode(&h), FilterMode::Exclude);
    assert_eq!(h.group_timer(G), 240_000);
    assert_eq!(
        h.source_timers(G),
        vec![
            (s(1), 245_000),
            (s(2), GMI_MS),
            (s(3), 0),
            (s(4), GMI_MS),
            (s(5), GMI_MS)
        ]
    );
    assert!(specific(&mut h).is_empty());
    assert_eq!(h.take_memberships(), vec![(T20, exclude(G, &[s(3)]))]);
}

#[test]
fn s6_4_1_exclude_is_ex() {
    // EXCLUDE (X,Y)  IS_EX (A)  ->  EXCLUDE (A-Y,Y*A)
    //   (A-X-Y)=GMI, Delete (X-A), Delete (Y-A), Group Timer=GMI
    let mut h = exclude_xy();
    h.record(IsEx, G, &srcs(&[2, 4, 5]));
    assert_eq!(mode(&h), FilterMode::Exclude);
    assert_eq!(h.group_timer(G), GMI_MS);
    assert_eq!(
        h.source_timers(G),
        vec![(s(2), 245_000), (s(4), 0), (s(5), GMI_MS)]
    );
    assert!(specific(&mut h).is_empty());
    assert_eq!(h.take_memberships(), vec![(T20, exclude(G, &[s(4)]))]);
}

// ----------------------------------------------------------------------------------------
// 6.4.2 Reception of Filter-Mode-Change and Source-List-Change Records

#[test]
fn s6_4_2_include_allow() {
    // INCLUDE (A)  ALLOW (B)  ->  INCLUDE (A+B)  (B)=GMI
    let mut h = include_a();
    h.record(Allow, G, &srcs(&[2, 3]));
    assert_eq!(mode(&h), FilterMode::Include);
    assert_eq!(
        h.source_timers(G),
        vec![(s(1), 240_000), (s(2), GMI_MS), (s(3), GMI_MS)]
    );
    assert!(specific(&mut h).is_empty());
    assert_eq!(
        h.take_memberships(),
        vec![(T20, include(G, &srcs(&[1, 2, 3])))]
    );
}

#[test]
fn s6_4_2_include_block() {
    // INCLUDE (A)  BLOCK (B)  ->  INCLUDE (A)  Send Q(G,A*B)
    let mut h = include_a();
    h.record(Block, G, &srcs(&[2, 3]));
    assert_eq!(mode(&h), FilterMode::Include);
    // 6.6.3.2: the source timer of A*B = {S2} is lowered to LMQT.
    assert_eq!(h.source_timers(G), vec![(s(1), 240_000), (s(2), LMQT_MS)]);
    assert!(
        h.take_memberships().is_empty(),
        "still forwarding S2 until LMQT"
    );
    h.advance_to(at(20_000 + LMQT_MS));
    assert_eq!(
        specific(&mut h),
        vec![
            (20_000, G, vec![s(2)], false),
            (21_000, G, vec![s(2)], false)
        ]
    );
    // 6.2.3: INCLUDE mode, timer 0: the source record is removed.
    assert_eq!(h.source_timers(G), vec![(s(1), 238_000)]);
    assert_eq!(
        h.take_memberships(),
        vec![(at(22_000), include(G, &[s(1)]))]
    );
}

#[test]
fn s6_4_2_include_to_ex() {
    // INCLUDE (A)  TO_EX (B)  ->  EXCLUDE (A*B,B-A)
    //   (B-A)=0, Delete (A-B), Send Q(G,A*B), Group Timer=GMI
    let mut h = include_a();
    h.record(ToEx, G, &srcs(&[2, 3]));
    assert_eq!(mode(&h), FilterMode::Exclude);
    assert_eq!(h.group_timer(G), GMI_MS);
    assert_eq!(h.source_timers(G), vec![(s(2), LMQT_MS), (s(3), 0)]);
    assert_eq!(h.take_memberships(), vec![(T20, exclude(G, &[s(3)]))]);
    h.advance_to(at(20_000 + LMQT_MS));
    assert_eq!(
        specific(&mut h),
        vec![
            (20_000, G, vec![s(2)], false),
            (21_000, G, vec![s(2)], false)
        ]
    );
    // 6.2.3: EXCLUDE mode, timer 0: S2 stays, on the Exclude List.
    assert_eq!(h.source_timers(G), vec![(s(2), 0), (s(3), 0)]);
    assert_eq!(
        h.take_memberships(),
        vec![(at(22_000), exclude(G, &srcs(&[2, 3])))]
    );
}

#[test]
fn s6_4_2_include_to_in() {
    // INCLUDE (A)  TO_IN (B)  ->  INCLUDE (A+B)  (B)=GMI, Send Q(G,A-B)
    let mut h = include_a();
    h.record(ToIn, G, &srcs(&[2, 3]));
    assert_eq!(mode(&h), FilterMode::Include);
    assert_eq!(
        h.source_timers(G),
        vec![(s(1), LMQT_MS), (s(2), GMI_MS), (s(3), GMI_MS)]
    );
    assert_eq!(
        h.take_memberships(),
        vec![(T20, include(G, &srcs(&[1, 2, 3])))]
    );
    h.advance_to(at(20_000 + LMQT_MS));
    assert_eq!(
        specific(&mut h),
        vec![
            (20_000, G, vec![s(1)], false),
            (21_000, G, vec![s(1)], false)
        ]
    );
    assert_eq!(
        h.take_memberships(),
        vec![(at(22_000), include(G, &srcs(&[2, 3])))]
    );
}

#[test]
fn s6_4_2_exclude_allow() {
    // EXCLUDE (X,Y)  ALLOW (A)  ->  EXCLUDE (X+A,Y-A)  (A)=GMI
    let mut h = exclude_xy();
    h.record(Allow, G, &srcs(&[2, 4, 5]));
    assert_eq!(mode(&h), FilterMode::Exclude);
    assert_eq!(h.group_timer(G), 240_000);
    assert_eq!(
        h.source_timers(G),
        vec![
            (s(1), 245_000),
            (s(2), GMI_MS),
            (s(3), 0),
            (s(4), GMI_MS),
            (s(5), GMI_MS)
        ]
    );
    assert!(specific(&mut h).is_empty());
    assert_eq!(h.take_memberships(), vec![(T20, exclude(G, &[s(3)]))]);
}

#[test]
fn s6_4_2_exclude_block() {
    // EXCLUDE (X,Y)  BLOCK (A)  ->  EXCLUDE (X+(A-Y),Y)  (A-X-Y)=Group Timer, Send Q(G,A-Y)
    let mut h = exclude_xy();
    h.record(Block, G, &srcs(&[2, 4, 5]));
    assert_eq!(mode(&h), FilterMode::Exclude);
    assert_eq!(h.group_timer(G), 240_000);
    // S5 got the group timer (240 s), then S2 and S5 (A-Y) were lowered to LMQT.
    assert_eq!(
        h.source_timers(G),
        vec![
            (s(1), 245_000),
            (s(2), LMQT_MS),
            (s(3), 0),
            (s(4), 0),
            (s(5), LMQT_MS)
        ]
    );
    assert!(
        h.take_memberships().is_empty(),
        "S5 was forwarded and still is"
    );
    h.advance_to(at(20_000 + LMQT_MS));
    assert_eq!(
        specific(&mut h),
        vec![
            (20_000, G, srcs(&[2, 5]), false),
            (21_000, G, srcs(&[2, 5]), false)
        ]
    );
    assert_eq!(
        h.take_memberships(),
        vec![(at(22_000), exclude(G, &srcs(&[2, 3, 4, 5])))]
    );
}

#[test]
fn s6_4_2_exclude_block_new_source_with_low_group_timer_is_not_queried() {
    // (A-X-Y)=Group Timer; a group timer at or below LMQT means nothing to lower or query.
    let mut h = Harness::new(cfg());
    h.record(IsEx, G, &[]);
    h.advance_to(at(GMI_MS - 1_500));
    h.clear();
    h.record(Block, G, &[s(7)]);
    assert_eq!(h.source_timers(G), vec![(s(7), 1_500)]);
    assert!(specific(&mut h).is_empty());
}

#[test]
fn s6_4_2_exclude_to_ex() {
    // EXCLUDE (X,Y)  TO_EX (A)  ->  EXCLUDE (A-Y,Y*A)
    //   (A-X-Y)=Group Timer, Delete (X-A), Delete (Y-A), Send Q(G,A-Y), Group Timer=GMI
    let mut h = exclude_xy();
    h.record(ToEx, G, &srcs(&[2, 4, 5]));
    assert_eq!(mode(&h), FilterMode::Exclude);
    assert_eq!(h.group_timer(G), GMI_MS);
    assert_eq!(
        h.source_timers(G),
        vec![(s(2), LMQT_MS), (s(4), 0), (s(5), LMQT_MS)]
    );
    assert_eq!(h.take_memberships(), vec![(T20, exclude(G, &[s(4)]))]);
    h.advance_to(at(20_000 + LMQT_MS));
    assert_eq!(
        specific(&mut h),
        vec![
            (20_000, G, srcs(&[2, 5]), false),
            (21_000, G, srcs(&[2, 5]), false)
        ]
    );
    assert_eq!(
        h.take_memberships(),
        vec![(at(22_000), exclude(G, &srcs(&[2, 4, 5])))]
    );
}

#[test]
fn s6_4_2_exclude_to_in() {
    // EXCLUDE (X,Y)  TO_IN (A)  ->  EXCLUDE (X+A,Y-A)  (A)=GMI, Send Q(G,X-A), Send Q(G)
    let mut h = exclude_xy();
    h.record(ToIn, G, &srcs(&[2, 4, 5]));
    assert_eq!(mode(&h), FilterMode::Exclude);
    // 6.6.3.1: the group timer is lowered to LMQT.
    assert_eq!(h.group_timer(G), LMQT_MS);
    assert_eq!(
        h.source_timers(G),
        vec![
            (s(1), LMQT_MS),
            (s(2), GMI_MS),
            (s(3), 0),
            (s(4), GMI_MS),
            (s(5), GMI_MS)
        ]
    );
    assert_eq!(h.take_memberships(), vec![(T20, exclude(G, &[s(3)]))]);
    h.advance_to(at(20_000 + LMQT_MS));
    let q = specific(&mut h);
    assert_eq!(
        q,
        vec![
            (20_000, G, vec![s(1)], false),
            (20_000, G, vec![], false),
            (21_000, G, vec![s(1)], false),
            (21_000, G, vec![], false),
        ]
    );
    // 6.5: the group timer expired: INCLUDE with the sources whose timers run (S1's expired
    // at the same instant), the Exclude List is deleted.
    assert_eq!(mode(&h), FilterMode::Include);
    assert_eq!(
        h.source_timers(G),
        vec![(s(2), 258_000), (s(4), 258_000), (s(5), 258_000)]
    );
    assert_eq!(
        h.take_memberships(),
        vec![(at(22_000), include(G, &srcs(&[2, 4, 5])))]
    );
}

// ----------------------------------------------------------------------------------------
// Records for a group without state (INCLUDE {}), as the tables apply to them.

#[test]
fn records_for_unknown_group() {
    let mut h = Harness::new(cfg());
    h.clear();
    // INCLUDE ({})  BLOCK (B), TO_IN ({}), IS_IN ({}): no state.
    h.record(Block, G, &[s(1)]);
    h.record(ToIn, G, &[]);
    h.record(IsIn, G, &[]);
    assert!(h.group(G).is_none());
    assert!(h.take_memberships().is_empty());
    assert!(specific(&mut h).is_empty());
    // INCLUDE ({})  TO_EX ({S1})  ->  EXCLUDE ({}, {S1}), nothing to query.
    h.record(ToEx, G, &[s(1)]);
    assert_eq!(h.source_timers(G), vec![(s(1), 0)]);
    assert!(specific(&mut h).is_empty());
    assert_eq!(h.take_memberships(), vec![(h.now, exclude(G, &[s(1)]))]);
}

// ----------------------------------------------------------------------------------------
// 6.5 Switching Router Filter-Modes, 6.2.2 / 6.2.3 timer expiry

#[test]
fn s6_5_include_source_expiry_deletes_source_then_group() {
    let mut h = Harness::new(cfg());
    h.record(IsIn, G, &[s(1)]);
    h.advance_to(at(10_000));
    h.record(IsIn, G, &[s(2)]);
    h.clear();
    h.advance_to(at(GMI_MS));
    assert_eq!(
        h.take_memberships(),
        vec![(at(GMI_MS), include(G, &[s(2)]))]
    );
    h.advance_to(at(GMI_MS + 10_000));
    assert_eq!(
        h.take_memberships(),
        vec![(at(GMI_MS + 10_000), include(G, &[]))]
    );
    assert!(h.group(G).is_none());
}

#[test]
fn s6_5_exclude_source_expiry_moves_to_exclude_list() {
    let mut h = Harness::new(cfg());
    h.record(IsEx, G, &[]);
    h.advance_to(at(100_000));
    h.record(IsEx, G, &[]); // group timer -> 360 s
    h.advance_to(at(150_000));
    // EXCLUDE ({}, {})  IS_IN ({S1}) at 150 s, then silence for S1 while IS_EX keeps coming.
    h.record(IsIn, G, &[s(1)]);
    h.clear();
    h.advance_to(at(200_000));
    h.record(IsEx, G, &[s(1)]); // X={S1} stays (A-Y), group timer -> 460 s
    h.advance_to(at(150_000 + GMI_MS - 1));
    assert!(h.take_memberships().is_empty());
    h.advance_to(at(150_000 + GMI_MS));
    assert_eq!(h.source_timers(G), vec![(s(1), 0)]);
    assert_eq!(
        h.take_memberships(),
        vec![(at(150_000 + GMI_MS), exclude(G, &[s(1)]))]
    );
}

#[test]
fn s6_5_group_timer_expiry_switches_to_include_with_running_sources() {
    let mut h = Harness::new(cfg());
    h.record(IsEx, G, &srcs(&[3]));
    h.advance_to(at(100_000));
    h.record(IsIn, G, &srcs(&[1])); // X = {S1} until 360 s
    h.clear();
    h.advance_to(at(GMI_MS));
    assert_eq!(mode(&h), FilterMode::Include);
    assert_eq!(h.source_timers(G), vec![(s(1), 100_000)]);
    assert_eq!(
        h.take_memberships(),
        vec![(at(GMI_MS), include(G, &[s(1)]))]
    );
    h.advance_to(at(100_000 + GMI_MS));
    assert_eq!(h.take_memberships(), vec![(at(360_000), include(G, &[]))]);
    assert!(h.group(G).is_none());
}

#[test]
fn s6_5_group_timer_expiry_without_running_sources_deletes_group() {
    let mut h = Harness::new(cfg());
    h.record(IsEx, G, &srcs(&[1, 2]));
    h.clear();
    h.advance_to(at(GMI_MS));
    assert!(h.group(G).is_none());
    assert_eq!(h.take_memberships(), vec![(at(GMI_MS), include(G, &[]))]);
}

#[test]
fn timers_fire_in_deadline_order_in_one_call() {
    let mut h = Harness::new(cfg());
    h.record(IsIn, G, &[s(1)]);
    h.record(IsIn, g(2), &[s(2)]);
    h.clear();
    h.now = at(10_000);
    h.record(IsIn, G, &[s(3)]);
    h.clear();
    // One call far in the future runs everything, in deadline order.
    let actions = ::common::Protocol::on_timeout(&mut h.igmp, at(1_000_000));
    let memberships: Vec<_> = actions
        .into_iter()
        .filter_map(|a| match a {
            ::common::Action::Membership(m) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(
        memberships,
        vec![include(G, &[s(3)]), include(g(2), &[]), include(G, &[]),]
    );
    h.now = at(1_000_000);
    assert!(h.iface().groups.is_empty());
}

// ----------------------------------------------------------------------------------------
// 6.6.3 Building and sending specific queries; 6.6.1 timer updates

#[test]
fn s6_6_3_1_group_query_s_flag_set_after_report_raises_group_timer() {
    // EXCLUDE ({}, {}), TO_IN ({}) -> Send Q(G); a report at +0.5 s raises the group timer to
    // GMI: the retransmission at +1 s has the S flag set (group timer > LMQT).
    let mut h = Harness::new(cfg());
    h.record(IsEx, G, &[]);
    h.advance_to(T20);
    h.clear();
    h.record(ToIn, G, &[]);
    assert_eq!(h.group_timer(G), LMQT_MS);
    assert_eq!(h.group(G).unwrap().group_query_retransmissions, 1);
    h.advance_to(at(20_500));
    h.rx(host(2), &v3_report(&[(IsEx, G, &[])]));
    assert_eq!(h.group_timer(G), GMI_MS);
    h.advance_to(at(30_000));
    assert_eq!(
        specific(&mut h),
        vec![(20_000, G, vec![], false), (21_000, G, vec![], true)]
    );
    // The S-flagged query did not lower our own timer (6.6.1).
    assert_eq!(h.group_timer(G), GMI_MS - 9_500);
    assert!(h.take_memberships().is_empty());
}

#[test]
fn s6_6_3_1_group_query_count_and_spacing() {
    let c = igmp::config::InterfaceConfig {
        last_member_query_count: 3,
        last_member_query_interval: ms(700),
        ..cfg()
    };
    let mut h = Harness::new(c);
    h.record(IsEx, G, &[]);
    h.advance_to(T20);
    h.clear();
    h.record(ToIn, G, &[]);
    // LMQT = 3 * 0.7 s.
    assert_eq!(h.group_timer(G), 2_100);
    h.advance_to(at(30_000));
    let q: Vec<_> = h
        .take_sent()
        .into_iter()
        .filter(|p| !p.is_general_query())
        .map(|p| {
            assert_eq!(p.query().max_resp_time(), ms(700));
            (p.at, p.specific().2)
        })
        .collect();
    assert_eq!(
        q,
        vec![
            (at(20_000), false),
            (at(20_700), false),
            (at(21_400), false)
        ]
    );
    assert_eq!(h.take_memberships(), vec![(at(22_100), include(G, &[]))]);
}

#[test]
fn s6_6_3_2_two_queries_split_by_s_flag() {
    // INCLUDE ({S1,S2}), BLOCK ({S1,S2}) -> Q(G,{S1,S2}); ALLOW({S1}) at +0.5 s raises S1:
    // the retransmission is two messages, S set for {S1}, S clear for {S2}.
    let mut h = include_a();
    h.record(Block, G, &srcs(&[1, 2]));
    assert_eq!(h.source_timers(G), vec![(s(1), LMQT_MS), (s(2), LMQT_MS)]);
    h.advance_to(at(20_500));
    h.rx(host(2), &v3_report(&[(Allow, G, &[s(1)])]));
    h.advance_to(at(30_000));
    assert_eq!(
        specific(&mut h),
        vec![
            (20_000, G, srcs(&[1, 2]), false),
            (21_000, G, vec![s(1)], true),
            (21_000, G, vec![s(2)], false),
        ]
    );
    assert_eq!(h.source_timers(G), vec![(s(1), GMI_MS - 9_500)]);
    assert_eq!(
        h.take_memberships(),
        vec![(at(22_000), include(G, &[s(1)]))]
    );
}

#[test]
fn s6_6_3_2_only_sources_above_lmqt_get_retransmission_state() {
    let mut h = include_a();
    h.record(Block, G, &[s(1)]);
    h.advance_to(at(20_400));
    // S1 is at LMQT already: a second BLOCK does not restart its retransmissions; S2 is new.
    h.record(Block, G, &srcs(&[1, 2]));
    h.advance_to(at(25_000));
    assert_eq!(
        specific(&mut h),
        vec![
            (20_000, G, vec![s(1)], false),
            (20_400, G, srcs(&[1, 2]), false),
            (21_400, G, vec![s(2)], false),
        ]
    );
}

#[test]
fn s6_6_3_no_queries_from_non_querier() {
    let mut h = include_a();
    // A query from a lower address: this router is a Non-Querier now (6.6.2).
    h.query(
        Ipv4Addr::new(10, 0, 0, 0),
        Query::general_v3(secs(10), 2, secs(125)),
    );
    h.clear();
    h.record(Block, G, &[s(1)]);
    h.record(ToIn, G, &[]);
    assert!(specific(&mut h).is_empty());
    // The Non-Querier does not lower its timers itself ...
    assert_eq!(h.source_timers(G), vec![(s(1), 240_000), (s(2), 240_000)]);
    // ... it does when the Querier's Q(G,A) with S clear arrives (6.6.1).
    let q = Query::group_and_source_specific_v3(G, vec![s(1)], secs(1), false, 2, secs(125));
    h.query(Ipv4Addr::new(10, 0, 0, 0), q);
    assert_eq!(h.source_timers(G), vec![(s(1), LMQT_MS), (s(2), 240_000)]);
    h.advance_to(at(20_000 + LMQT_MS));
    assert_eq!(
        h.take_memberships(),
        vec![(at(22_000), include(G, &[s(2)]))]
    );
}

#[test]
fn s6_6_1_received_group_query_lowers_group_timer_unless_suppressed() {
    let mut h = Harness::new(cfg());
    h.record(IsEx, G, &[]);
    h.advance_to(T20);
    let querier = Ipv4Addr::new(10, 0, 0, 0);
    // S set: no timer update.
    h.query(
        querier,
        Query::group_specific_v3(G, secs(1), true, 2, secs(125)),
    );
    assert_eq!(h.group_timer(G), 240_000);
    // S clear: lowered to LMQT (Max Resp Time 1 s * LMQC 2).
    h.query(
        querier,
        Query::group_specific_v3(G, secs(1), false, 2, secs(125)),
    );
    assert_eq!(h.group_timer(G), LMQT_MS);
    // Lowered only: a later query with a longer Max Resp Time does not raise it.
    h.query(
        querier,
        Query::group_specific_v3(G, secs(5), false, 2, secs(125)),
    );
    assert_eq!(h.group_timer(G), LMQT_MS);
    // IGMPv2 group-specific queries have no S flag: they lower too (RFC 2236 section 3).
    h.record(IsEx, G, &[]);
    h.query(querier, Query::group_specific_v2(G, ms(500)));
    assert_eq!(h.group_timer(G), 1_000);
    h.clear();
    h.advance_to(at(21_000));
    assert_eq!(h.take_memberships(), vec![(at(21_000), include(G, &[]))]);
}

#[test]
fn s6_6_1_received_source_query_s_set_does_not_lower() {
    let mut h = include_a();
    let q = Query::group_and_source_specific_v3(G, vec![s(1)], secs(1), true, 2, secs(125));
    h.query(Ipv4Addr::new(10, 0, 0, 0), q);
    assert_eq!(h.source_timers(G), vec![(s(1), 240_000), (s(2), 240_000)]);
}

#[test]
fn s6_6_3_2_long_source_lists_are_split_to_fit_the_mtu() {
    let mut h = Harness::new(cfg());
    let many: Vec<Ipv4Addr> = (0..400u16)
        .map(|i| Ipv4Addr::new(198, 18, (i >> 8) as u8, i as u8))
        .collect();
    h.record(IsIn, G, &many);
    h.clear();
    h.record(Block, G, &many);
    let q = specific(&mut h);
    assert!(q.len() > 1, "split into several queries");
    let total: usize = q.iter().map(|x| x.2.len()).sum();
    assert_eq!(total, 400);
    for p in &q {
        assert!(24 + 12 + 4 * p.2.len() <= 1500);
    }
}
