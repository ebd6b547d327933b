//! Acceptance rules (RFC 3376 / RFC 9776 4.2.13, section 9, configuration), SSM (RFC 4604
//! section 3), immediate leave, limits, static groups, interface life cycle, snapshots.

mod common;

use std::net::Ipv4Addr;

use ::common::{Action, FilterMode, IfIndex, Input, Instant, InterfaceChange, Protocol};
use common::*;
use igmp::Igmp;
use igmp::config::{Config, InterfaceConfig, StaticGroup};
use igmp::events;
use igmp::packet::{self, Message, Query, RecordType::*};

const G: Ipv4Addr = g(1);
const SSM_G: Ipv4Addr = Ipv4Addr::new(232, 1, 1, 1);

// ----------------------------------------------------------------------------------------
// Acceptance

fn report_bytes() -> Vec<u8> {
    packet::emit(&v3_report(&[(IsEx, G, &[])]))
}

#[test]
fn acceptance_ttl_must_be_1() {
    let mut h = Harness::new(cfg());
    h.rx_raw(
        host(1),
        Ipv4Addr::new(224, 0, 0, 22),
        2,
        true,
        &report_bytes(),
    );
    assert_eq!(h.dropped("bad_ttl"), 1);
    assert!(h.group(G).is_none());
    assert_eq!(h.received("report_v3"), 0);
}

#[test]
fn acceptance_router_alert_only_when_required() {
    let mut h = Harness::new(cfg());
    h.rx_raw(
        host(1),
        Ipv4Addr::new(224, 0, 0, 22),
        1,
        false,
        &report_bytes(),
    );
    assert_eq!(h.membership(G), Some(exclude(G, &[])));
    let mut h = Harness::new(InterfaceConfig {
        require_router_alert: true,
        ..cfg()
    });
    h.rx_raw(
        host(1),
        Ipv4Addr::new(224, 0, 0, 22),
        1,
        false,
        &report_bytes(),
    );
    assert_eq!(h.dropped("no_router_alert"), 1);
    assert!(h.group(G).is_none());
    h.rx_raw(
        host(1),
        Ipv4Addr::new(224, 0, 0, 22),
        1,
        true,
        &report_bytes(),
    );
    assert_eq!(h.membership(G), Some(exclude(G, &[])));
}

#[test]
fn acceptance_source_on_subnet_or_unspecified() {
    let mut h = Harness::new(cfg());
    h.rx_raw(Ipv4Addr::new(10, 0, 1, 5), G, 1, true, &report_bytes());
    assert_eq!(h.dropped("source_not_on_subnet"), 1);
    assert!(h.group(G).is_none());
    // 4.2.13: "Routers MUST accept a report with a source address of 0.0.0.0."
    h.rx_raw(Ipv4Addr::UNSPECIFIED, G, 1, true, &report_bytes());
    assert_eq!(h.membership(G), Some(exclude(G, &[])));
    // A query from another subnet takes no part in the election.
    h.query(
        Ipv4Addr::new(10, 0, 1, 0),
        Query::general_v3(secs(10), 2, secs(125)),
    );
    assert!(h.iface().querier);
    assert_eq!(h.dropped("source_not_on_subnet"), 2);
}

#[test]
fn acceptance_own_packets_ignored() {
    let mut h = Harness::new(cfg());
    let own = packet::emit(&Message::Query(Query::general_v3(secs(10), 2, secs(125))));
    h.rx_raw(ROUTER, ALL_SYSTEMS, 1, true, &own);
    assert_eq!(h.dropped("own_packet"), 1);
    assert_eq!(h.received("query_v3"), 0);
}

#[test]
fn acceptance_codec_errors_counted_by_kind() {
    let mut h = Harness::new(cfg());
    let mut bad = report_bytes();
    bad[2] ^= 0xff; // checksum
    h.rx_raw(host(1), G, 1, true, &bad);
    h.rx_raw(host(1), G, 1, true, &[0x22, 0, 0]);
    h.rx_raw(host(1), G, 1, true, &packet_with_type(0x42));
    assert_eq!(h.dropped("bad_checksum"), 1);
    assert_eq!(h.dropped("too_short"), 1);
    assert_eq!(h.dropped("unknown_type"), 1);
    assert!(h.group(G).is_none());
}

fn packet_with_type(t: u8) -> Vec<u8> {
    let mut b = vec![t, 0, 0, 0, 239, 1, 1, 1];
    let c = ::common::checksum::checksum(&b);
    b[2..4].copy_from_slice(&c.to_be_bytes());
    b
}

#[test]
fn acceptance_groups_that_carry_no_membership() {
    let mut h = Harness::new(cfg());
    h.rx(
        host(1),
        &v3_report(&[
            (IsEx, Ipv4Addr::new(224, 0, 0, 22), &[]),
            (IsEx, Ipv4Addr::new(10, 1, 1, 1), &[]),
            (IsEx, G, &[]),
        ]),
    );
    h.v2_report(Ipv4Addr::new(224, 0, 0, 251));
    assert_eq!(h.dropped("link_local_group"), 2);
    assert_eq!(h.dropped("not_multicast"), 1);
    assert_eq!(h.iface().groups.len(), 1);
    assert_eq!(h.membership(G), Some(exclude(G, &[])));
    assert_eq!(h.received("report_v3"), 1);
    assert_eq!(h.received("report_v2"), 1);
}

#[test]
fn unknown_record_types_are_skipped() {
    let mut h = Harness::new(cfg());
    h.rx(
        host(1),
        &v3_report(&[(Unknown(9), G, &[s(1)]), (IsIn, g(2), &[s(1)])]),
    );
    assert_eq!(h.dropped("unknown_record_type"), 1);
    assert!(h.group(G).is_none());
    assert_eq!(h.membership(g(2)), Some(include(g(2), &[s(1)])));
}

// ----------------------------------------------------------------------------------------
// SSM (RFC 4604 section 3)

#[test]
fn ssm_ignores_exclude_records_and_older_versions() {
    let mut h = Harness::new(cfg());
    h.record(IsEx, SSM_G, &[]);
    h.record(ToEx, SSM_G, &[s(1)]);
    h.v2_report(SSM_G);
    h.v1_report(SSM_G);
    assert_eq!(h.dropped("ssm_ignored"), 4);
    assert!(h.group(SSM_G).is_none());
    // Source-specific records are processed.
    h.record(IsIn, SSM_G, &srcs(&[1, 2]));
    assert_eq!(h.membership(SSM_G), Some(include(SSM_G, &srcs(&[1, 2]))));
    h.leave(SSM_G);
    assert_eq!(h.dropped("ssm_ignored"), 5);
    assert_eq!(h.group(SSM_G).unwrap().compat_mode, 3);
    // TO_IN is processed normally (RFC 4604 3.1).
    h.record(ToIn, SSM_G, &[s(2)]);
    h.advance(secs(3));
    assert_eq!(h.membership(SSM_G), Some(include(SSM_G, &[s(2)])));
}

#[test]
fn ssm_range_is_configurable() {
    let global = Config {
        ssm_range: (Ipv4Addr::new(239, 1, 0, 0), 16),
    };
    let mut h = Harness::with(global, cfg(), ROUTER);
    h.record(IsEx, G, &[]);
    assert_eq!(h.dropped("ssm_ignored"), 1);
    h.record(IsEx, SSM_G, &[]);
    assert_eq!(h.membership(SSM_G), Some(exclude(SSM_G, &[])));
    h.igmp.set_config(Config::default());
    h.record(IsEx, G, &[]);
    assert_eq!(h.membership(G), Some(exclude(G, &[])));
}

// ----------------------------------------------------------------------------------------
// Immediate leave

fn immediate() -> Harness {
    let mut h = Harness::new(InterfaceConfig {
        immediate_leave: true,
        ..cfg()
    });
    h.clear();
    h
}

fn no_specific_queries(h: &mut Harness) {
    assert!(h.take_sent().iter().all(|p| p.is_general_query()));
}

#[test]
fn immediate_leave_v2_leave_and_to_in_empty() {
    let mut h = immediate();
    h.v2_report(G);
    h.leave(G);
    assert!(h.group(G).is_none());
    h.record(IsEx, g(2), &[s(1)]);
    h.record(ToIn, g(2), &[]);
    assert!(h.group(g(2)).is_none());
    no_specific_queries(&mut h);
    assert_eq!(
        h.take_memberships(),
        vec![
            (at(0), exclude(G, &[])),
            (at(0), include(G, &[])),
            (at(0), exclude(g(2), &[s(1)])),
            (at(0), include(g(2), &[])),
        ]
    );
}

#[test]
fn immediate_leave_block_and_to_in_remove_sources_at_once() {
    let mut h = immediate();
    h.record(IsIn, G, &srcs(&[1, 2, 3]));
    h.record(Block, G, &[s(1)]);
    assert_eq!(h.membership(G), Some(include(G, &srcs(&[2, 3]))));
    h.record(ToIn, G, &[s(3)]);
    assert_eq!(h.membership(G), Some(include(G, &[s(3)])));
    // EXCLUDE mode: BLOCK puts the sources on the Exclude List at once.
    h.record(IsEx, g(2), &[s(1)]);
    h.record(Block, g(2), &[s(2)]);
    assert_eq!(h.membership(g(2)), Some(exclude(g(2), &srcs(&[1, 2]))));
    // TO_EX(B) excludes exactly B.
    h.record(ToEx, g(2), &[s(3)]);
    assert_eq!(h.membership(g(2)), Some(exclude(g(2), &[s(3)])));
    // EXCLUDE TO_IN(B): INCLUDE(B) at once.
    h.record(ToIn, g(2), &[s(4)]);
    assert_eq!(h.membership(g(2)), Some(include(g(2), &[s(4)])));
    assert_eq!(h.group(g(2)).unwrap().filter_mode, FilterMode::Include);
    no_specific_queries(&mut h);
}

// ----------------------------------------------------------------------------------------
// Limits

#[test]
fn max_groups_ignores_new_groups_and_reports_once() {
    let mut h = Harness::new(InterfaceConfig {
        max_groups: 2,
        static_groups: vec![StaticGroup {
            group: g(9),
            sources: vec![],
            exclude: false,
        }],
        ..cfg()
    });
    h.clear();
    h.record(IsEx, g(1), &[]);
    h.v2_report(g(2));
    h.record(IsEx, g(3), &[]);
    h.v2_report(g(4));
    // Known groups still take reports; a static-only group is not counted.
    h.record(IsIn, g(1), &[s(1)]);
    assert!(h.group(g(3)).is_none() && h.group(g(4)).is_none());
    assert_eq!(h.dropped("group_limit"), 2);
    let ev: Vec<_> = h
        .take_events()
        .into_iter()
        .filter(|e| e.1.what == events::GROUP_LIMIT)
        .collect();
    assert_eq!(ev.len(), 1, "one event for two refusals");
    // Records that create no state are not refused.
    h.record(Block, g(5), &[s(1)]);
    assert_eq!(h.dropped("group_limit"), 2);
}

#[test]
fn max_sources_ignores_sources_beyond_the_limit() {
    let mut h = Harness::new(InterfaceConfig {
        max_sources: 2,
        ..cfg()
    });
    h.clear();
    h.record(IsIn, G, &srcs(&[1, 2, 3]));
    assert_eq!(h.membership(G), Some(include(G, &srcs(&[1, 2]))));
    h.record(Allow, G, &[s(4)]);
    assert_eq!(h.dropped("source_limit"), 2);
    assert_eq!(h.take_events().len(), 1);
    // Refreshing known sources is fine.
    h.record(IsIn, G, &srcs(&[1, 2]));
    assert_eq!(h.dropped("source_limit"), 2);
}

// ----------------------------------------------------------------------------------------
// Static groups

fn static_cfg(groups: Vec<StaticGroup>) -> InterfaceConfig {
    InterfaceConfig {
        static_groups: groups,
        ..cfg()
    }
}

#[test]
fn static_groups_are_members_and_never_time_out() {
    let mut h = Harness::new(static_cfg(vec![
        StaticGroup {
            group: g(1),
            sources: vec![],
            exclude: false,
        },
        StaticGroup {
            group: g(2),
            sources: vec![s(1)],
            exclude: false,
        },
        StaticGroup {
            group: g(3),
            sources: vec![s(1)],
            exclude: true,
        },
    ]));
    let m: Vec<_> = h.take_memberships().into_iter().map(|x| x.1).collect();
    assert_eq!(
        m,
        vec![
            exclude(g(1), &[]),
            include(g(2), &[s(1)]),
            exclude(g(3), &[s(1)]),
        ]
    );
    h.advance_to(at(10_000_000));
    assert!(h.take_memberships().is_empty());
    assert_eq!(h.iface().groups.len(), 3);
    assert!(h.iface().groups.iter().all(|x| x.is_static));
}

#[test]
fn static_and_dynamic_state_are_merged() {
    let mut h = Harness::new(static_cfg(vec![StaticGroup {
        group: G,
        sources: vec![s(1)],
        exclude: false,
    }]));
    h.clear();
    // INCLUDE {S1} + host INCLUDE {S2} = INCLUDE {S1,S2}.
    h.record(IsIn, G, &[s(2)]);
    assert_eq!(h.membership(G), Some(include(G, &srcs(&[1, 2]))));
    // INCLUDE {S1} + host EXCLUDE {S1,S3} = EXCLUDE {S3}.
    h.record(IsEx, G, &srcs(&[1, 3]));
    assert_eq!(h.membership(G), Some(exclude(G, &[s(3)])));
    // The host state times out: the static INCLUDE {S1} stays.
    h.advance_to(at(GMI_MS));
    assert_eq!(h.membership(G), Some(include(G, &[s(1)])));
    // Reconfiguration without the static group: INCLUDE {}.
    h.configure(cfg());
    assert_eq!(h.membership(G), None);
    assert!(h.group(G).is_none());
}

#[test]
fn reload_keeps_group_state_and_applies_new_timers_later() {
    let mut h = Harness::new(cfg());
    h.record(IsEx, G, &[]);
    h.clear();
    h.configure(InterfaceConfig {
        query_interval: secs(60),
        ..cfg()
    });
    assert!(h.take_memberships().is_empty());
    assert_eq!(h.group_timer(G), GMI_MS);
    h.record(IsEx, G, &[]);
    assert_eq!(h.group_timer(G), 2 * 60_000 + 10_000);
}

// ----------------------------------------------------------------------------------------
// Interface life cycle

#[test]
fn down_forgets_groups_up_restarts() {
    let mut h = Harness::new(static_cfg(vec![StaticGroup {
        group: g(9),
        sources: vec![],
        exclude: false,
    }]));
    h.record(IsIn, G, &[s(1)]);
    h.clear();
    h.down();
    assert_eq!(
        h.take_memberships(),
        vec![(at(0), include(G, &[])), (at(0), include(g(9), &[]))]
    );
    assert!(!h.iface().active && h.iface().configured);
    assert_eq!(h.igmp.poll_at(), None);
    // Packets while down are ignored.
    h.record(IsIn, G, &[s(1)]);
    assert_eq!(h.membership(G), None);
    h.advance(secs(10));
    h.up();
    assert_eq!(h.take_memberships(), vec![(at(10_000), exclude(g(9), &[]))]);
    assert!(h.iface().querier);
    assert_eq!(h.take_sent().len(), 1);
}

#[test]
fn remove_interface_outputs_include_empty() {
    let mut h = Harness::new(cfg());
    h.record(IsEx, G, &[s(1)]);
    h.clear();
    h.remove();
    assert_eq!(h.take_memberships(), vec![(at(0), include(G, &[]))]);
    assert!(h.igmp.snapshot_at(h.now).interfaces.is_empty() || !h.iface().configured);
    assert_eq!(h.igmp.poll_at(), None);
}

#[test]
fn configured_before_up_and_other_interfaces_ignored() {
    let mut igmp = Igmp::default();
    let a = igmp.configure_interface(Instant::ZERO, IfIndex(7), cfg());
    assert!(a.is_empty());
    // Up for an interface that is not configured: nothing runs there.
    let a = igmp.handle(
        Instant::ZERO,
        Input::Interface(InterfaceChange::Up {
            ifindex: IfIndex(8),
            name: "x".into(),
            addr: Ipv4Addr::new(10, 9, 9, 1),
            prefix_len: 24,
        }),
    );
    assert!(a.is_empty());
    let a = igmp.handle(
        Instant::ZERO,
        Input::Interface(InterfaceChange::Up {
            ifindex: IfIndex(7),
            name: "y".into(),
            addr: ROUTER,
            prefix_len: 24,
        }),
    );
    assert!(matches!(
        &a[..],
        [
            Action::Event(_),
            Action::Send {
                ifindex: IfIndex(7),
                ..
            }
        ]
    ));
    // Configuring the one that is up starts it at once.
    let a = igmp.configure_interface(Instant::ZERO, IfIndex(8), cfg());
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Send {
            ifindex: IfIndex(8),
            ..
        }
    )));
    let snap = igmp.snapshot();
    assert_eq!(snap.interfaces.len(), 2);
    assert_eq!(snap.ssm_range, "232.0.0.0/8");
}

// ----------------------------------------------------------------------------------------
// Snapshot

#[test]
fn snapshot_shows_timers_and_counters() {
    fn is_serialize<T: serde::Serialize>(_: &T) {}
    let mut h = Harness::new(cfg());
    h.record(IsEx, G, &[s(3)]);
    h.advance_to(at(5_000));
    h.record(IsIn, G, &[s(1)]);
    h.v2_report(G);
    h.advance_to(at(7_000));
    let i = h.iface();
    is_serialize(&h.igmp.snapshot());
    assert_eq!(i.name.as_deref(), Some("eth1"));
    assert_eq!(
        (i.address, i.prefix_len, i.version),
        (Some(ROUTER), Some(24), Some(3))
    );
    assert!(i.querier && i.active);
    assert_eq!(i.querier_address, Some(ROUTER));
    assert_eq!(i.general_query_ms, 31_250 - 7_000);
    assert_eq!(i.received.get("report_v3"), Some(&2));
    assert_eq!(i.received.get("report_v2"), Some(&1));
    let gs = &i.groups[0];
    assert_eq!(gs.group, G);
    assert_eq!(gs.filter_mode, FilterMode::Exclude);
    assert_eq!(gs.compat_mode, 2);
    assert_eq!(gs.group_timer_ms, GMI_MS - 2_000);
    assert_eq!(gs.v2_host_present_ms, GMI_MS - 2_000);
    assert_eq!(gs.forwarding_mode, FilterMode::Exclude);
    assert!(gs.forwarding_sources.is_empty());
    // The v2 report (IS_EX {}) deleted the source records.
    assert!(gs.sources.is_empty());
}
