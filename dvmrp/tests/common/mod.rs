//! Test harness: several `Dvmrp` routers in one process, in virtual time. Each router has
//! interfaces attached to links; every Send is delivered to the other routers on the link
//! (multicast to all of them, unicast to the owner of the destination address) unless the
//! link is cut. Packets are decoded with the real codec and logged. Packets from a fake
//! neighbour can be injected.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

use common::proto::UpcallKind;
use common::{
    Action, Event, FilterMode, Forwarding, IfIndex, Input, Instant, InterfaceChange, Membership,
    Protocol, RouteKey, RxPacket,
};
use dvmrp::config::{Config, InterfaceConfig};
use dvmrp::packet::{self, ALL_DVMRP_ROUTERS, Body, Message, Probe, Report, RouteEntry};
use dvmrp::{Dvmrp, NeighborSnapshot, RouteSnapshot, RouteState};

pub fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub const fn at(s: u64) -> Instant {
    Instant::from_secs(s)
}

/// A packet a router sent.
#[derive(Clone, Debug)]
pub struct Sent {
    pub at: Instant,
    pub ifindex: IfIndex,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub len: usize,
    pub msg: Message,
}

impl Sent {
    pub fn probe(&self) -> Option<&Probe> {
        match &self.msg.body {
            Body::Probe(p) => Some(p),
            _ => None,
        }
    }

    pub fn report(&self) -> Option<&Report> {
        match &self.msg.body {
            Body::Report(r) => Some(r),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Port {
    pub ifindex: IfIndex,
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
    /// Link id; ports with the same id share a link.
    pub link: &'static str,
}

pub struct Router {
    pub name: String,
    pub d: Dvmrp,
    pub ports: Vec<Port>,
    pub sent: Vec<Sent>,
    pub events: Vec<(Instant, Event)>,
    /// The simulated kernel's forwarding entries (from Forward / Unforward).
    pub fib: BTreeMap<RouteKey, Forwarding>,
    /// Data packets accepted per entry (the MFC packet counter).
    pub packets: BTreeMap<RouteKey, u64>,
    /// Data packets that arrived on an interface other than the entry's iif.
    pub wrong_iif: u64,
}

impl Router {
    fn record(&mut self, now: Instant, actions: Vec<Action>) -> Vec<Sent> {
        let mut new = Vec::new();
        for act in actions {
            match act {
                Action::Send {
                    ifindex,
                    dst,
                    ttl,
                    router_alert,
                    payload,
                } => {
                    assert!(!router_alert);
                    let msg = packet::parse(&payload).expect("the router sends valid messages");
                    let s = Sent {
                        at: now,
                        ifindex,
                        dst,
                        ttl,
                        len: payload.len(),
                        msg,
                    };
                    new.push(s.clone());
                    self.sent.push(s);
                }
                Action::Event(e) => self.events.push((now, e)),
                Action::Forward(f) => {
                    self.fib.insert(f.key, f);
                }
                Action::Unforward(k) => {
                    self.fib.remove(&k);
                    self.packets.remove(&k);
                }
                other => panic!("DVMRP produced {other:?}"),
            }
        }
        new
    }

    pub fn port(&self, ifindex: IfIndex) -> &Port {
        self.ports.iter().find(|p| p.ifindex == ifindex).unwrap()
    }

    pub fn route(&self, net: &str, len: u8) -> Option<RouteSnapshot> {
        let net = a(net);
        self.d
            .snapshot()
            .routes
            .into_iter()
            .find(|r| r.network == net && r.prefix_len == len)
    }

    pub fn neighbors(&self, ifindex: IfIndex) -> Vec<NeighborSnapshot> {
        self.d
            .snapshot()
            .interfaces
            .into_iter()
            .find(|i| i.ifindex == ifindex)
            .map(|i| i.neighbors)
            .unwrap_or_default()
    }

    pub fn dropped(&self, ifindex: IfIndex, reason: &str) -> u64 {
        self.d
            .snapshot()
            .interfaces
            .into_iter()
            .find(|i| i.ifindex == ifindex)
            .and_then(|i| i.dropped.get(reason).copied())
            .unwrap_or(0)
    }

    pub fn events_of(&self, what: &str) -> Vec<(Instant, String)> {
        self.events
            .iter()
            .filter(|(_, e)| e.what == what)
            .map(|(t, e)| (*t, e.detail.clone()))
            .collect()
    }

    /// Reports sent on `ifindex` at or after `from`, all routes flattened.
    pub fn reported(
        &self,
        ifindex: IfIndex,
        from: Instant,
    ) -> Vec<(Instant, Ipv4Addr, RouteEntry)> {
        self.sent
            .iter()
            .filter(|s| s.ifindex == ifindex && s.at >= from)
            .filter_map(|s| s.report().map(|r| (s, r)))
            .flat_map(|(s, r)| r.routes.iter().map(move |e| (s.at, s.dst, *e)))
            .collect()
    }
}

pub struct Net {
    pub routers: Vec<Router>,
    pub now: Instant,
    /// Cut links drop everything.
    pub cut: Vec<&'static str>,
    /// (link, message kind): control messages of that kind are lost on that link.
    pub lose: Vec<(&'static str, &'static str)>,
    /// Data packets carried per link.
    pub link_data: BTreeMap<&'static str, u64>,
    /// Fake neighbours that probe every 10 s while the net runs.
    pub fakes: Vec<Fake>,
}

/// A fake neighbour of router `r` on `ifindex`: it probes every 10 s with `genid`,
/// listing `neighbors`.
#[derive(Clone, Debug)]
pub struct Fake {
    pub r: usize,
    pub ifindex: u32,
    pub addr: Ipv4Addr,
    pub genid: u32,
    pub neighbors: Vec<Ipv4Addr>,
    pub next: Instant,
}

impl Default for Net {
    fn default() -> Self {
        Self::new()
    }
}

impl Net {
    pub fn new() -> Self {
        Net {
            routers: Vec::new(),
            now: Instant::ZERO,
            cut: Vec::new(),
            lose: Vec::new(),
            link_data: BTreeMap::new(),
            fakes: Vec::new(),
        }
    }

    /// Add a router (no interfaces yet); returns its index.
    pub fn router(&mut self, name: &str, config: Config, seed: u64) -> usize {
        self.routers.push(Router {
            name: name.into(),
            d: Dvmrp::new(config, seed),
            ports: Vec::new(),
            sent: Vec::new(),
            events: Vec::new(),
            fib: BTreeMap::new(),
            packets: BTreeMap::new(),
            wrong_iif: 0,
        });
        self.routers.len() - 1
    }

    /// Configure and bring up an interface of router `r` on `link` (now).
    pub fn attach(
        &mut self,
        r: usize,
        ifindex: u32,
        addr: &str,
        prefix_len: u8,
        link: &'static str,
        cfg: InterfaceConfig,
    ) {
        let ifindex = IfIndex(ifindex);
        let addr = a(addr);
        self.routers[r].ports.push(Port {
            ifindex,
            addr,
            prefix_len,
            link,
        });
        let now = self.now;
        let mut acts = self.routers[r].d.configure_interface(now, ifindex, cfg);
        acts.extend(self.routers[r].d.handle(
            now,
            Input::Interface(InterfaceChange::Up {
                ifindex,
                name: link.to_string(),
                addr,
                prefix_len,
            }),
        ));
        self.deliver(r, acts);
    }

    pub fn configure(&mut self, r: usize, ifindex: u32, cfg: InterfaceConfig) {
        let now = self.now;
        let acts = self.routers[r]
            .d
            .configure_interface(now, IfIndex(ifindex), cfg);
        self.deliver(r, acts);
    }

    pub fn down(&mut self, r: usize, ifindex: u32) {
        let now = self.now;
        let acts = self.routers[r].d.handle(
            now,
            Input::Interface(InterfaceChange::Down {
                ifindex: IfIndex(ifindex),
            }),
        );
        self.deliver(r, acts);
    }

    /// Record router `from`'s actions and deliver its packets, recursively.
    pub fn deliver(&mut self, from: usize, actions: Vec<Action>) {
        let mut queue = VecDeque::from([(from, actions)]);
        while let Some((from, actions)) = queue.pop_front() {
            let now = self.now;
            let sent = self.routers[from].record(now, actions);
            for s in sent {
                let port = self.routers[from].port(s.ifindex).clone();
                if self.cut.contains(&port.link)
                    || self
                        .lose
                        .contains(&(port.link, dvmrp::kinds::of(&s.msg.body)))
                {
                    continue;
                }
                let payload = packet::emit(&s.msg);
                for j in 0..self.routers.len() {
                    if j == from {
                        continue;
                    }
                    let Some(p) = self.routers[j]
                        .ports
                        .iter()
                        .find(|p| p.link == port.link)
                        .cloned()
                    else {
                        continue;
                    };
                    if s.dst != ALL_DVMRP_ROUTERS && s.dst != p.addr {
                        continue;
                    }
                    let acts = self.routers[j].d.handle(
                        now,
                        Input::Packet(RxPacket {
                            ifindex: p.ifindex,
                            src: port.addr,
                            dst: s.dst,
                            ttl: s.ttl,
                            router_alert: false,
                            payload: &payload,
                        }),
                    );
                    queue.push_back((j, acts));
                }
            }
        }
    }

    /// Deliver a raw packet to router `r` on `ifindex` now.
    pub fn inject_raw(
        &mut self,
        r: usize,
        ifindex: u32,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ttl: u8,
        payload: &[u8],
    ) {
        let now = self.now;
        let acts = self.routers[r].d.handle(
            now,
            Input::Packet(RxPacket {
                ifindex: IfIndex(ifindex),
                src,
                dst,
                ttl,
                router_alert: false,
                payload,
            }),
        );
        self.deliver(r, acts);
    }

    /// A message from a fake neighbour to All-DVMRP-Routers with TTL 1.
    pub fn inject(&mut self, r: usize, ifindex: u32, src: Ipv4Addr, body: Body) {
        let payload = packet::emit(&Message::new(body));
        self.inject_raw(r, ifindex, src, ALL_DVMRP_ROUTERS, 1, &payload);
    }

    pub fn probe_from(
        &mut self,
        r: usize,
        ifindex: u32,
        src: Ipv4Addr,
        genid: u32,
        neighbors: &[Ipv4Addr],
    ) {
        self.inject(
            r,
            ifindex,
            src,
            Body::Probe(Probe {
                generation_id: genid,
                neighbors: neighbors.to_vec(),
            }),
        );
    }

    pub fn report_from(
        &mut self,
        r: usize,
        ifindex: u32,
        src: Ipv4Addr,
        routes: &[(&str, u8, u8)],
    ) {
        let routes = routes
            .iter()
            .map(|&(n, l, m)| RouteEntry::new(a(n), l, m))
            .collect();
        self.inject(r, ifindex, src, Body::Report(Report { routes }));
    }

    /// Add a fake neighbour that probes now and every 10 s.
    pub fn fake(
        &mut self,
        r: usize,
        ifindex: u32,
        addr: Ipv4Addr,
        genid: u32,
        neighbors: &[Ipv4Addr],
    ) {
        self.fakes.push(Fake {
            r,
            ifindex,
            addr,
            genid,
            neighbors: neighbors.to_vec(),
            next: self.now + secs(10),
        });
        self.probe_from(r, ifindex, addr, genid, neighbors);
    }

    /// Run every router's timers (and fake neighbours' probes) up to `t` in time order.
    pub fn run_until(&mut self, t: Instant) {
        loop {
            let fakes = self.fakes.iter().map(|f| f.next).min();
            let Some(next) = self
                .routers
                .iter()
                .filter_map(|r| r.d.poll_at())
                .chain(fakes)
                .min()
                .filter(|&d| d <= t)
            else {
                break;
            };
            assert!(next >= self.now, "poll_at in the past");
            self.now = next;
            for k in 0..self.fakes.len() {
                if self.fakes[k].next <= next {
                    self.fakes[k].next = next + secs(10);
                    let f = self.fakes[k].clone();
                    self.probe_from(f.r, f.ifindex, f.addr, f.genid, &f.neighbors);
                }
            }
            for j in 0..self.routers.len() {
                if self.routers[j].d.poll_at().is_some_and(|d| d <= next) {
                    let acts = self.routers[j].d.on_timeout(next);
                    self.deliver(j, acts);
                }
            }
        }
        self.now = t;
    }

    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    /// IGMP membership on router `r`'s interface: EXCLUDE {} (join) or INCLUDE {} (leave).
    pub fn member(&mut self, r: usize, ifindex: u32, group: Ipv4Addr, joined: bool) {
        let now = self.now;
        let m = Membership {
            ifindex: IfIndex(ifindex),
            group,
            mode: if joined {
                FilterMode::Exclude
            } else {
                FilterMode::Include
            },
            sources: Vec::new(),
        };
        let acts = self.routers[r].d.handle(now, Input::Membership(m));
        self.deliver(r, acts);
    }

    /// One data packet (S,G) arriving at router `r` on `ifindex`, forwarded through the
    /// simulated kernels: an unknown (S,G) is a NOCACHE upcall (the packet waits for the
    /// entry, as the kernel queues it), a packet on the wrong interface is dropped.
    pub fn data(&mut self, r: usize, ifindex: u32, s: Ipv4Addr, g: Ipv4Addr) {
        let key = RouteKey::sg(s, g);
        let mut queue = VecDeque::from([(r, IfIndex(ifindex))]);
        while let Some((j, iif)) = queue.pop_front() {
            if !self.routers[j].fib.contains_key(&key) {
                let now = self.now;
                let acts = self.routers[j].d.handle(
                    now,
                    Input::Upcall {
                        kind: UpcallKind::NoCache,
                        ifindex: iif,
                        key,
                        packet: &[],
                    },
                );
                self.deliver(j, acts);
            }
            let Some(entry) = self.routers[j].fib.get(&key).cloned() else {
                continue;
            };
            if entry.iif != Some(iif) {
                self.routers[j].wrong_iif += 1;
                continue;
            }
            *self.routers[j].packets.entry(key).or_default() += 1;
            for o in &entry.oifs {
                let Some(port) = self.routers[j]
                    .ports
                    .iter()
                    .find(|p| p.ifindex == *o)
                    .cloned()
                else {
                    continue;
                };
                if self.cut.contains(&port.link) {
                    continue;
                }
                *self.link_data.entry(port.link).or_default() += 1;
                for k in 0..self.routers.len() {
                    if k == j {
                        continue;
                    }
                    if let Some(p) = self.routers[k].ports.iter().find(|p| p.link == port.link) {
                        queue.push_back((k, p.ifindex));
                    }
                }
            }
        }
    }

    /// Give every router its kernel counters (the shell does this every second).
    pub fn feed_stats(&mut self) {
        let now = self.now;
        for j in 0..self.routers.len() {
            let stats: Vec<(RouteKey, u64)> = self.routers[j]
                .packets
                .iter()
                .map(|(k, v)| (*k, *v))
                .collect();
            for (key, packets) in stats {
                let acts = self.routers[j].d.handle(
                    now,
                    Input::MfcStats {
                        key,
                        packets,
                        bytes: 0,
                        idle: None,
                    },
                );
                self.deliver(j, acts);
            }
        }
    }

    /// A stream of 10 packets per second for `d` from a source behind router `r`'s
    /// `ifindex`, with kernel counters fed every second.
    pub fn stream(&mut self, r: usize, ifindex: u32, s: Ipv4Addr, g: Ipv4Addr, d: Duration) {
        let end = self.now + d;
        let mut n = 0u64;
        while self.now < end {
            self.data(r, ifindex, s, g);
            n += 1;
            self.run_for(ms(100));
            if n.is_multiple_of(10) {
                self.feed_stats();
            }
        }
    }

    /// Data packets carried on `link` so far.
    pub fn carried(&self, link: &str) -> u64 {
        self.link_data
            .iter()
            .filter(|(l, _)| **l == link)
            .map(|(_, n)| *n)
            .sum()
    }

    /// Every (network, prefix_len) of every port.
    pub fn networks(&self) -> Vec<(Ipv4Addr, u8)> {
        let mut v: Vec<_> = self
            .routers
            .iter()
            .flat_map(|r| r.ports.iter())
            .map(|p| (net_of(p.addr, p.prefix_len), p.prefix_len))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// What every router's table should be, from a shortest-path computation with the
    /// draft's tie-break (lowest neighbour address), given the cut links. All interface
    /// metrics are taken from `metric(router, ifindex)`.
    /// Result: router -> network -> (metric, upstream interface, upstream neighbour).
    pub fn expected(&self, metric: impl Fn(usize, IfIndex) -> u8) -> Vec<Table> {
        let n = self.routers.len();
        let mut out = vec![BTreeMap::new(); n];
        for (net, len) in self.networks() {
            let mut best: Vec<Option<(u8, IfIndex, Option<Ipv4Addr>)>> = vec![None; n];
            for (i, r) in self.routers.iter().enumerate() {
                for p in &r.ports {
                    if net_of(p.addr, p.prefix_len) == net && p.prefix_len == len {
                        let m = metric(i, p.ifindex);
                        if best[i].is_none_or(|b| m < b.0) {
                            best[i] = Some((m, p.ifindex, None));
                        }
                    }
                }
            }
            let connected: Vec<bool> = best.iter().map(Option::is_some).collect();
            for _ in 0..n + 2 {
                let mut next = best.clone();
                for (i, r) in self.routers.iter().enumerate() {
                    if connected[i] {
                        continue;
                    }
                    let mut cand: Option<(u8, Ipv4Addr, IfIndex)> = None;
                    for p in &r.ports {
                        if self.cut.contains(&p.link) {
                            continue;
                        }
                        for (j, q) in self.routers.iter().enumerate() {
                            if j == i {
                                continue;
                            }
                            for qp in q.ports.iter().filter(|qp| qp.link == p.link) {
                                let Some((mj, _, _)) = best[j] else { continue };
                                let m = (mj + metric(i, p.ifindex)).min(32);
                                if m < 32 && cand.is_none_or(|c| (m, qp.addr) < (c.0, c.1)) {
                                    cand = Some((m, qp.addr, p.ifindex));
                                }
                            }
                        }
                    }
                    next[i] = cand.map(|(m, addr, ifi)| (m, ifi, Some(addr)));
                }
                best = next;
            }
            for i in 0..n {
                if let Some(b) = best[i] {
                    out[i].insert((net, len), b);
                }
            }
        }
        out
    }

    /// Each router's valid routes as (metric, upstream interface, upstream neighbour).
    pub fn tables(&self) -> Vec<Table> {
        self.routers
            .iter()
            .map(|r| {
                r.d.snapshot()
                    .routes
                    .into_iter()
                    .filter(|x| x.state == RouteState::Valid)
                    .map(|x| {
                        (
                            (x.network, x.prefix_len),
                            (
                                x.metric,
                                x.upstream_interface.unwrap_or(IfIndex(0)),
                                x.upstream_neighbor,
                            ),
                        )
                    })
                    .collect()
            })
            .collect()
    }

    /// Advance one second at a time until the tables equal `expected`; the time it
    /// happened, or None by `deadline`.
    pub fn converge_by(&mut self, deadline: Instant, expected: &[Table]) -> Option<Instant> {
        loop {
            if self.tables() == expected {
                return Some(self.now);
            }
            if self.now >= deadline {
                return None;
            }
            self.run_for(secs(1));
        }
    }
}

/// One router's table: (network, prefix length) -> (metric, upstream interface (0 for
/// none), upstream neighbour).
pub type Table = BTreeMap<(Ipv4Addr, u8), (u8, IfIndex, Option<Ipv4Addr>)>;

pub fn net_of(addr: Ipv4Addr, len: u8) -> Ipv4Addr {
    let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Ipv4Addr::from(u32::from(addr) & m)
}

pub fn cfg() -> InterfaceConfig {
    InterfaceConfig::default()
}

pub fn metric_cfg(metric: u8) -> InterfaceConfig {
    InterfaceConfig {
        metric,
        ..InterfaceConfig::default()
    }
}

/// The ring R1-R2-R3-R4-R1 with a stub LAN on each router:
/// link "l12" 10.12.0.0/24 (R1 .1 if1, R2 .2 if1), "l23" 10.23.0.0/24 (R2 .2 if2, R3 .3 if1),
/// "l34" 10.34.0.0/24 (R3 .3 if2, R4 .4 if1), "l41" 10.41.0.0/24 (R4 .4 if2, R1 .1 if2),
/// and stub "sN" 10.0.N.0/24 on ifindex 3 of RN (address 10.0.N.1).
pub fn ring() -> Net {
    let mut net = Net::new();
    for i in 1..=4u64 {
        net.router(&format!("R{i}"), Config::default(), 100 + i);
    }
    for (r, ifindex, addr, link) in [
        (0, 1, "10.12.0.1", "l12"),
        (1, 1, "10.12.0.2", "l12"),
        (1, 2, "10.23.0.2", "l23"),
        (2, 1, "10.23.0.3", "l23"),
        (2, 2, "10.34.0.3", "l34"),
        (3, 1, "10.34.0.4", "l34"),
        (3, 2, "10.41.0.4", "l41"),
        (0, 2, "10.41.0.1", "l41"),
    ] {
        net.attach(r, ifindex, addr, 24, link, cfg());
    }
    for (i, stub) in ["s1", "s2", "s3", "s4"].into_iter().enumerate() {
        net.attach(i, 3, &format!("10.0.{}.1", i + 1), 24, stub, cfg());
    }
    net
}
