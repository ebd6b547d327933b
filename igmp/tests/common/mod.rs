//! Test harness: one `Igmp` with interface `IF1` (10.0.0.1/24) up, driven in virtual time,
//! recording every Send (decoded with the real codec), Membership and Event; and `Lan`,
//! several routers on one simulated link.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use common::{
    Action, Event, FilterMode, IfIndex, Input, Instant, InterfaceChange, Membership, Protocol,
    RxPacket,
};
use igmp::config::{Config, InterfaceConfig, Version};
use igmp::packet::{self, GroupRecord, Message, Query, RecordType, V3Report};
use igmp::{GroupSnapshot, Igmp, InterfaceSnapshot};

pub const IF1: IfIndex = IfIndex(1);
pub const ROUTER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const ALL_SYSTEMS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);

/// A host on the link, 10.0.0.(100 + n).
pub const fn host(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 100 + n)
}

/// A multicast source, 192.0.2.n.
pub const fn s(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, n)
}

/// Sources 192.0.2.n for each n.
pub fn srcs(ns: &[u8]) -> Vec<Ipv4Addr> {
    ns.iter().map(|&n| s(n)).collect()
}

/// An ASM group, 239.1.1.n.
pub const fn g(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(239, 1, 1, n)
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub const fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

/// Group Membership Interval with the defaults (8.4): 2 * 125 s + 10 s.
pub const GMI_MS: u64 = 260_000;
/// Last Member Query Time with the defaults (8.10): 1 s * 2.
pub const LMQT_MS: u64 = 2_000;

pub fn v3_report(records: &[(RecordType, Ipv4Addr, &[Ipv4Addr])]) -> Message {
    Message::V3Report(V3Report {
        records: records
            .iter()
            .map(|(kind, group, sources)| GroupRecord {
                kind: *kind,
                group: *group,
                sources: sources.to_vec(),
                aux: Vec::new(),
            })
            .collect(),
    })
}

/// A packet the router sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub at: Instant,
    pub ifindex: IfIndex,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub router_alert: bool,
    pub msg: Message,
}

impl Sent {
    pub fn query(&self) -> &Query {
        match &self.msg {
            Message::Query(q) => q,
            m => panic!("not a query: {m:?}"),
        }
    }

    pub fn is_general_query(&self) -> bool {
        matches!(&self.msg, Message::Query(q) if q.is_general())
    }

    /// (group, sources, S flag) of a v3 specific query.
    pub fn specific(&self) -> (Ipv4Addr, Vec<Ipv4Addr>, bool) {
        let q = self.query();
        let v3 = q.v3.as_ref().expect("v3 query");
        (q.group, v3.sources.clone(), v3.suppress)
    }
}

/// Decode the actions of one call into the logs.
pub struct Log {
    pub sent: Vec<Sent>,
    pub memberships: Vec<(Instant, Membership)>,
    pub events: Vec<(Instant, Event)>,
    /// Every Membership ever output (not cleared by `take_*`).
    pub history: Vec<(Instant, Membership)>,
}

impl Log {
    fn new() -> Self {
        Log {
            sent: Vec::new(),
            memberships: Vec::new(),
            events: Vec::new(),
            history: Vec::new(),
        }
    }

    fn record(&mut self, now: Instant, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Send {
                    ifindex,
                    dst,
                    ttl,
                    router_alert,
                    payload,
                } => {
                    let msg = packet::parse(&payload).expect("the router sends valid messages");
                    self.sent.push(Sent {
                        at: now,
                        ifindex,
                        dst,
                        ttl,
                        router_alert,
                        msg,
                    });
                }
                Action::Membership(m) => {
                    self.history.push((now, m.clone()));
                    self.memberships.push((now, m));
                }
                Action::Event(e) => self.events.push((now, e)),
                other => panic!("IGMP produced {other:?}"),
            }
        }
    }
}

/// One router in virtual time.
pub struct Harness {
    pub igmp: Igmp,
    pub now: Instant,
    pub addr: Ipv4Addr,
    pub log: Log,
}

impl Harness {
    /// IGMP on IF1 (10.0.0.1/24), configured and up at t = 0.
    pub fn new(cfg: InterfaceConfig) -> Self {
        Self::with(Config::default(), cfg, ROUTER)
    }

    pub fn with(global: Config, cfg: InterfaceConfig, addr: Ipv4Addr) -> Self {
        let mut h = Harness {
            igmp: Igmp::new(global),
            now: Instant::ZERO,
            addr,
            log: Log::new(),
        };
        let a = h.igmp.configure_interface(h.now, IF1, cfg);
        h.log.record(h.now, a);
        h.up();
        h
    }

    pub fn up(&mut self) {
        let a = self.igmp.handle(
            self.now,
            Input::Interface(InterfaceChange::Up {
                ifindex: IF1,
                name: "eth1".into(),
                addr: self.addr,
                prefix_len: 24,
            }),
        );
        self.log.record(self.now, a);
    }

    pub fn down(&mut self) {
        let a = self.igmp.handle(
            self.now,
            Input::Interface(InterfaceChange::Down { ifindex: IF1 }),
        );
        self.log.record(self.now, a);
    }

    pub fn configure(&mut self, cfg: InterfaceConfig) {
        let a = self.igmp.configure_interface(self.now, IF1, cfg);
        self.log.record(self.now, a);
    }

    pub fn remove(&mut self) {
        let a = self.igmp.remove_interface(self.now, IF1);
        self.log.record(self.now, a);
    }

    /// Deliver raw IGMP bytes.
    pub fn rx_raw(&mut self, src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, ra: bool, payload: &[u8]) {
        let a = self.igmp.handle(
            self.now,
            Input::Packet(RxPacket {
                ifindex: IF1,
                src,
                dst,
                ttl,
                router_alert: ra,
                payload,
            }),
        );
        self.log.record(self.now, a);
    }

    /// Deliver a message from `src` with TTL 1 and Router Alert.
    pub fn rx(&mut self, src: Ipv4Addr, msg: &Message) {
        let dst = match msg {
            Message::Query(q) if q.is_general() => ALL_SYSTEMS,
            Message::Query(q) => q.group,
            Message::V3Report(_) => Ipv4Addr::new(224, 0, 0, 22),
            Message::V2Leave { .. } => Ipv4Addr::new(224, 0, 0, 2),
            Message::V1Report { group } | Message::V2Report { group } => *group,
        };
        self.rx_raw(src, dst, 1, true, &packet::emit(msg));
    }

    /// One IGMPv3 record from host 1.
    pub fn record(&mut self, kind: RecordType, group: Ipv4Addr, sources: &[Ipv4Addr]) {
        self.rx(host(1), &v3_report(&[(kind, group, sources)]));
    }

    pub fn v1_report(&mut self, group: Ipv4Addr) {
        self.rx(host(1), &Message::V1Report { group });
    }

    pub fn v2_report(&mut self, group: Ipv4Addr) {
        self.rx(host(1), &Message::V2Report { group });
    }

    pub fn leave(&mut self, group: Ipv4Addr) {
        self.rx(host(1), &Message::V2Leave { group });
    }

    pub fn query(&mut self, from: Ipv4Addr, q: Query) {
        self.rx(from, &Message::Query(q));
    }

    /// Run every timer up to `t` (each at its own deadline), then set the clock to `t`.
    pub fn advance_to(&mut self, t: Instant) {
        let log = &mut self.log;
        testsupport::advance_to(&mut self.igmp, &mut self.now, t, |d, a| log.record(d, a));
    }

    pub fn advance(&mut self, d: Duration) {
        self.advance_to(self.now + d);
    }

    pub fn take_sent(&mut self) -> Vec<Sent> {
        std::mem::take(&mut self.log.sent)
    }

    pub fn take_memberships(&mut self) -> Vec<(Instant, Membership)> {
        std::mem::take(&mut self.log.memberships)
    }

    pub fn take_events(&mut self) -> Vec<(Instant, Event)> {
        std::mem::take(&mut self.log.events)
    }

    /// Clear the logs (e.g. after setting up a state).
    pub fn clear(&mut self) {
        self.take_sent();
        self.take_memberships();
        self.take_events();
    }

    pub fn membership(&self, group: Ipv4Addr) -> Option<Membership> {
        self.igmp.membership(IF1, group)
    }

    pub fn iface(&self) -> InterfaceSnapshot {
        self.igmp
            .snapshot_at(self.now)
            .interfaces
            .into_iter()
            .find(|i| i.ifindex == IF1)
            .expect("IF1 in snapshot")
    }

    pub fn group(&self, group: Ipv4Addr) -> Option<GroupSnapshot> {
        self.iface().groups.into_iter().find(|x| x.group == group)
    }

    /// Remaining ms of each source timer of `group` (0: Exclude List).
    pub fn source_timers(&self, group: Ipv4Addr) -> Vec<(Ipv4Addr, u64)> {
        self.group(group)
            .map(|x| x.sources.iter().map(|s| (s.source, s.timer_ms)).collect())
            .unwrap_or_default()
    }

    pub fn group_timer(&self, group: Ipv4Addr) -> u64 {
        self.group(group).expect("group exists").group_timer_ms
    }

    pub fn dropped(&self, reason: &str) -> u64 {
        self.iface().dropped.get(reason).copied().unwrap_or(0)
    }

    pub fn received(&self, kind: &str) -> u64 {
        self.iface().received.get(kind).copied().unwrap_or(0)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_no_repeated_membership(&self.log.history);
        }
    }
}

/// "Never emit an unchanged membership twice": per (interface, group), consecutive outputs
/// differ, and the first one is not INCLUDE {}.
pub fn assert_no_repeated_membership(log: &[(Instant, Membership)]) {
    let mut last: std::collections::BTreeMap<(IfIndex, Ipv4Addr), &Membership> = Default::default();
    for (t, m) in log {
        match last.insert((m.ifindex, m.group), m) {
            Some(prev) => assert_ne!(prev, m, "membership repeated at {t:?}"),
            None => assert!(
                !(m.mode == FilterMode::Include && m.sources.is_empty()),
                "INCLUDE {{}} without prior state at {t:?}: {m:?}"
            ),
        }
    }
}

pub fn include(group: Ipv4Addr, sources: &[Ipv4Addr]) -> Membership {
    Membership {
        ifindex: IF1,
        group,
        mode: FilterMode::Include,
        sources: sources
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    }
}

pub fn exclude(group: Ipv4Addr, sources: &[Ipv4Addr]) -> Membership {
    Membership {
        ifindex: IF1,
        group,
        mode: FilterMode::Exclude,
        sources: sources
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    }
}

pub fn cfg() -> InterfaceConfig {
    InterfaceConfig::default()
}

pub fn cfg_version(v: Version) -> InterfaceConfig {
    InterfaceConfig {
        version: v,
        ..InterfaceConfig::default()
    }
}

// -------------------------------------------------------------------------------------
// A LAN of several routers and hosts

/// Several routers on one link; every Send of one is received by the others (while
/// "alive"), hosts answer General Queries after `host_delay`.
pub struct Lan {
    pub routers: Vec<LanRouter>,
    pub now: Instant,
    /// (host, group) memberships: each host answers a General Query with IS_EX( {} ).
    pub members: Vec<(Ipv4Addr, Ipv4Addr)>,
    pub host_delay: Duration,
    /// Host reports waiting to be sent: (time, host, message).
    pending: Vec<(Instant, Ipv4Addr, Message)>,
}

pub struct LanRouter {
    pub igmp: Igmp,
    pub addr: Ipv4Addr,
    pub alive: bool,
    pub log: Log,
}

impl Lan {
    /// Routers with these addresses (10.0.0.0/24), configured and up at t = 0 in order.
    pub fn new(addrs: &[Ipv4Addr], cfg: InterfaceConfig) -> Self {
        let mut lan = Lan {
            routers: Vec::new(),
            now: Instant::ZERO,
            members: Vec::new(),
            host_delay: secs(1),
            pending: Vec::new(),
        };
        let mut initial = Vec::new();
        for &addr in addrs {
            let mut igmp = Igmp::new(Config::default());
            let mut a = igmp.configure_interface(Instant::ZERO, IF1, cfg.clone());
            a.extend(igmp.handle(
                Instant::ZERO,
                Input::Interface(InterfaceChange::Up {
                    ifindex: IF1,
                    name: "lan".into(),
                    addr,
                    prefix_len: 24,
                }),
            ));
            lan.routers.push(LanRouter {
                igmp,
                addr,
                alive: true,
                log: Log::new(),
            });
            initial.push(a);
        }
        for (i, a) in initial.into_iter().enumerate() {
            lan.deliver(i, a);
        }
        lan
    }

    /// Record router `from`'s actions and deliver its packets to the others.
    fn deliver(&mut self, from: usize, actions: Vec<Action>) {
        let mut queue = vec![(from, actions)];
        while let Some((from, actions)) = queue.pop() {
            let now = self.now;
            let before = self.routers[from].log.sent.len();
            self.routers[from].log.record(now, actions);
            let sent: Vec<Sent> = self.routers[from].log.sent[before..].to_vec();
            let src = self.routers[from].addr;
            for pkt in sent {
                if pkt.is_general_query() {
                    for &(h, grp) in &self.members {
                        let report = v3_report(&[(RecordType::IsEx, grp, &[])]);
                        self.pending.push((now + self.host_delay, h, report));
                    }
                }
                let payload = packet::emit(&pkt.msg);
                for j in 0..self.routers.len() {
                    if j == from || !self.routers[j].alive {
                        continue;
                    }
                    let a = self.routers[j].igmp.handle(
                        now,
                        Input::Packet(RxPacket {
                            ifindex: IF1,
                            src,
                            dst: pkt.dst,
                            ttl: 1,
                            router_alert: true,
                            payload: &payload,
                        }),
                    );
                    queue.push((j, a));
                }
            }
        }
    }

    /// A host sends a message to every live router now.
    pub fn host_sends(&mut self, host: Ipv4Addr, msg: &Message) {
        let payload = packet::emit(msg);
        for j in 0..self.routers.len() {
            if !self.routers[j].alive {
                continue;
            }
            let a = self.routers[j].igmp.handle(
                self.now,
                Input::Packet(RxPacket {
                    ifindex: IF1,
                    src: host,
                    dst: Ipv4Addr::new(224, 0, 0, 22),
                    ttl: 1,
                    router_alert: true,
                    payload: &payload,
                }),
            );
            self.deliver(j, a);
        }
    }

    /// Run the link up to `t`: router timers and host answers, in time order.
    pub fn run_until(&mut self, t: Instant) {
        loop {
            let routers = self
                .routers
                .iter()
                .filter(|r| r.alive)
                .filter_map(|r| r.igmp.poll_at())
                .min();
            let hosts = self.pending.iter().map(|p| p.0).min();
            let Some(next) = common::time::earliest(routers, hosts).filter(|&d| d <= t) else {
                break;
            };
            self.now = next;
            let due: Vec<(Instant, Ipv4Addr, Message)> = {
                let (due, rest) = std::mem::take(&mut self.pending)
                    .into_iter()
                    .partition(|p| p.0 <= next);
                self.pending = rest;
                due
            };
            for (_, h, m) in due {
                self.host_sends(h, &m);
            }
            for j in 0..self.routers.len() {
                if self.routers[j].alive
                    && self.routers[j].igmp.poll_at().is_some_and(|d| d <= next)
                {
                    let a = self.routers[j].igmp.on_timeout(next);
                    self.deliver(j, a);
                }
            }
        }
        self.now = t;
    }

    pub fn snapshot(&self, i: usize) -> InterfaceSnapshot {
        self.routers[i]
            .igmp
            .snapshot_at(self.now)
            .interfaces
            .into_iter()
            .next()
            .expect("one interface")
    }

    /// General Queries router `i` sent in [from, to].
    pub fn general_queries(&self, i: usize, from: Instant, to: Instant) -> Vec<Instant> {
        self.routers[i]
            .log
            .sent
            .iter()
            .filter(|p| p.is_general_query() && p.at >= from && p.at <= to)
            .map(|p| p.at)
            .collect()
    }
}
