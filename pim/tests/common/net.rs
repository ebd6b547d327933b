//! A network of PIM routers in one process, in virtual time: routers with several
//! interfaces, links between them (point-to-point or LANs: every Send on a link is received
//! by every other live router on it at the same instant), a static RPF table per router
//! answering `WatchRpf` at once as the shell does, membership injected as IGMP would, and
//! "virtual neighbours": packets injected on a link from an address no router owns.
//! Router `r` has address 10.0.N.(r+1) on link N. Unicast PIM messages (Register,
//! Register-Stop) go straight to the router that owns the destination address (arriving on
//! its interface with that address), or nowhere if none does; every one is logged.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use common::proto::UpcallKind;
use common::{
    Action, Event, FilterMode, Forwarding, IfIndex, Input, Instant, InterfaceChange, Membership,
    Protocol, RouteKey, Rpf, RxPacket,
};
use pim::config::{Config, InterfaceConfig};
use pim::packet::{self, EncodedGroup, EncodedSource, JoinPrune, JoinPruneGroup, Message};
use pim::{EntrySnapshot, Pim};

pub const ALL_PIM_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 13);

pub fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("address")
}

/// Interface configuration without Hello jitter, so neighbours know each other at t = 0.
pub fn iface_cfg() -> InterfaceConfig {
    InterfaceConfig {
        triggered_hello_delay: Duration::ZERO,
        ..InterfaceConfig::default()
    }
}

/// A Join/Prune a router sent.
#[derive(Clone, Debug)]
pub struct JpSent {
    pub at: Instant,
    pub ifindex: IfIndex,
    pub jp: JoinPrune,
    /// Octets of the PIM message.
    pub len: usize,
}

impl JpSent {
    fn entries(&self, prunes: bool) -> Vec<(Ipv4Addr, EncodedSource)> {
        self.jp
            .groups
            .iter()
            .flat_map(|g| {
                let list = if prunes { &g.prunes } else { &g.joins };
                list.iter().map(move |s| (g.group.group, *s))
            })
            .collect()
    }
    pub fn joins(&self) -> Vec<(Ipv4Addr, EncodedSource)> {
        self.entries(false)
    }
    pub fn prunes(&self) -> Vec<(Ipv4Addr, EncodedSource)> {
        self.entries(true)
    }
}

pub struct Node {
    pub name: String,
    pub pim: Pim,
    pub alive: bool,
    /// ifindex -> (link, our address).
    pub ifaces: BTreeMap<IfIndex, (usize, Ipv4Addr)>,
    pub rpf_table: BTreeMap<Ipv4Addr, Rpf>,
    pub watched: BTreeSet<Ipv4Addr>,
    /// Current forwarding intents.
    pub fwd: BTreeMap<RouteKey, Forwarding>,
    /// Every Forward/Unforward, in order.
    pub fwd_log: Vec<(Instant, Action)>,
    pub jps: Vec<JpSent>,
    pub events: Vec<(Instant, Event)>,
    /// Every unicast message sent: (time, interface, destination, TTL, message).
    pub unicasts: Vec<(Instant, IfIndex, Ipv4Addr, u8, Message)>,
    /// Every Assert sent: (time, interface, message).
    pub asserts: Vec<(Instant, IfIndex, packet::Assert)>,
}

pub struct Link {
    pub net: u8,
    pub ends: Vec<(usize, IfIndex)>,
}

pub struct Net {
    pub now: Instant,
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
}

impl Default for Net {
    fn default() -> Self {
        Self::new()
    }
}

impl Net {
    pub fn new() -> Self {
        Net {
            now: Instant::ZERO,
            nodes: Vec::new(),
            links: Vec::new(),
        }
    }

    /// A router with this configuration (seeded with its index + 1).
    pub fn router(&mut self, name: &str, config: Config) -> usize {
        let i = self.nodes.len();
        self.nodes.push(Node {
            name: name.to_string(),
            pim: Pim::new(config, i as u64 + 1),
            alive: true,
            ifaces: BTreeMap::new(),
            rpf_table: BTreeMap::new(),
            watched: BTreeSet::new(),
            fwd: BTreeMap::new(),
            fwd_log: Vec::new(),
            jps: Vec::new(),
            events: Vec::new(),
            unicasts: Vec::new(),
            asserts: Vec::new(),
        });
        i
    }

    /// Link 10.0.`net`.0/24 joining these (router, ifindex) ends; PIM starts on each end
    /// now. A router alone on a link is a receiver (stub) LAN.
    pub fn link(&mut self, net: u8, ends: &[(usize, u32)]) -> usize {
        self.link_with(net, ends, iface_cfg())
    }

    pub fn link_with(&mut self, net: u8, ends: &[(usize, u32)], cfg: InterfaceConfig) -> usize {
        let l = self.links.len();
        self.links.push(Link {
            net,
            ends: ends.iter().map(|&(r, i)| (r, IfIndex(i))).collect(),
        });
        for &(r, i) in ends {
            let addr = Ipv4Addr::new(10, 0, net, r as u8 + 1);
            let ifindex = IfIndex(i);
            self.nodes[r].ifaces.insert(ifindex, (l, addr));
            let now = self.now;
            let mut a = self.nodes[r]
                .pim
                .configure_interface(now, ifindex, cfg.clone());
            a.extend(self.nodes[r].pim.handle(
                now,
                Input::Interface(InterfaceChange::Up {
                    ifindex,
                    name: format!("eth{i}"),
                    addr,
                    prefix_len: 24,
                }),
            ));
            self.process(r, a);
        }
        self.run_until(self.now);
        l
    }

    /// Router `r`'s address on its interface `ifindex`.
    pub fn addr(&self, r: usize, ifindex: u32) -> Ipv4Addr {
        self.nodes[r].ifaces[&IfIndex(ifindex)].1
    }

    /// RPF(target) at `r`: out of `ifindex` via `next_hop` (None: directly connected).
    pub fn route(&mut self, r: usize, target: Ipv4Addr, ifindex: u32, next_hop: Option<Ipv4Addr>) {
        self.set_rpf(
            r,
            Rpf {
                target,
                ifindex: Some(IfIndex(ifindex)),
                neighbor: next_hop,
                local: false,
            },
        );
    }

    /// `target` is one of `r`'s own addresses (it is the RP).
    pub fn route_local(&mut self, r: usize, target: Ipv4Addr) {
        self.set_rpf(
            r,
            Rpf {
                target,
                ifindex: None,
                neighbor: None,
                local: true,
            },
        );
    }

    /// Set (or change) a route; a watched target is told at once, as the shell does.
    pub fn set_rpf(&mut self, r: usize, rpf: Rpf) {
        self.nodes[r].rpf_table.insert(rpf.target, rpf);
        if self.nodes[r].watched.contains(&rpf.target) {
            let a = self.nodes[r].pim.handle(self.now, Input::Rpf(rpf));
            self.process(r, a);
        }
    }

    /// IGMP reports membership on `r`'s interface; returns the actions of that one call.
    pub fn member(
        &mut self,
        r: usize,
        ifindex: u32,
        group: Ipv4Addr,
        mode: FilterMode,
        sources: &[Ipv4Addr],
    ) -> Vec<Action> {
        let a = self.nodes[r].pim.handle(
            self.now,
            Input::Membership(Membership {
                ifindex: IfIndex(ifindex),
                group,
                mode,
                sources: sources.to_vec(),
            }),
        );
        self.process(r, a.clone());
        a
    }

    pub fn include(
        &mut self,
        r: usize,
        ifindex: u32,
        group: Ipv4Addr,
        sources: &[Ipv4Addr],
    ) -> Vec<Action> {
        self.member(r, ifindex, group, FilterMode::Include, sources)
    }

    pub fn exclude(&mut self, r: usize, ifindex: u32, group: Ipv4Addr) -> Vec<Action> {
        self.member(r, ifindex, group, FilterMode::Exclude, &[])
    }

    pub fn leave(&mut self, r: usize, ifindex: u32, group: Ipv4Addr) -> Vec<Action> {
        self.member(r, ifindex, group, FilterMode::Include, &[])
    }

    /// A packet to router `r` on `ifindex` from `src` (a virtual neighbour).
    pub fn inject(&mut self, r: usize, ifindex: u32, src: Ipv4Addr, msg: &Message) -> Vec<Action> {
        let payload = packet::emit(msg);
        let a = self.nodes[r].pim.handle(
            self.now,
            Input::Packet(RxPacket {
                ifindex: IfIndex(ifindex),
                src,
                dst: ALL_PIM_ROUTERS,
                ttl: 1,
                router_alert: false,
                payload: &payload,
            }),
        );
        self.process(r, a.clone());
        a
    }

    /// A virtual neighbour's Hello (Holdtime 0xffff: it never times out by itself; LAN
    /// Prune Delay 500/2500 ms, T bit as given).
    pub fn hello_from(&mut self, r: usize, ifindex: u32, src: Ipv4Addr, genid: u32, t_bit: bool) {
        use pim::packet::{Hello, HelloOption};
        let msg = Message::Hello(Hello {
            options: vec![
                HelloOption::Holdtime(0xffff),
                HelloOption::LanPruneDelay {
                    t_bit,
                    propagation_delay_ms: 500,
                    override_interval_ms: 2500,
                },
                HelloOption::DrPriority(1),
                HelloOption::GenerationId(genid),
            ],
        });
        self.inject(r, ifindex, src, &msg);
    }

    pub fn goodbye_from(&mut self, r: usize, ifindex: u32, src: Ipv4Addr) {
        use pim::packet::{Hello, HelloOption};
        let msg = Message::Hello(Hello {
            options: vec![HelloOption::Holdtime(0)],
        });
        self.inject(r, ifindex, src, &msg);
    }

    /// A Join/Prune from a virtual neighbour.
    pub fn jp_from(
        &mut self,
        r: usize,
        ifindex: u32,
        src: Ipv4Addr,
        upstream: Ipv4Addr,
        holdtime: u16,
        groups: Vec<JoinPruneGroup>,
    ) -> Vec<Action> {
        self.inject(
            r,
            ifindex,
            src,
            &Message::JoinPrune(JoinPrune {
                upstream_neighbor: upstream,
                holdtime,
                groups,
            }),
        )
    }

    /// Record router `from`'s actions, answer its RPF watches, deliver its packets.
    fn process(&mut self, from: usize, actions: Vec<Action>) {
        // First in, first out: the outputs of the calls one call's actions cause are
        // recorded after it, in the order the calls were made.
        let mut queue = std::collections::VecDeque::from([(from, actions)]);
        while let Some((r, actions)) = queue.pop_front() {
            let now = self.now;
            for a in actions {
                match a {
                    Action::Send {
                        ifindex,
                        dst,
                        ttl,
                        router_alert,
                        payload,
                    } => {
                        let msg = packet::parse(&payload).expect("valid PIM");
                        if let Message::Assert(a) = &msg {
                            assert_eq!(
                                (dst, ttl),
                                (ALL_PIM_ROUTERS, 1),
                                "Assert to 224.0.0.13, TTL 1"
                            );
                            self.nodes[r].asserts.push((now, ifindex, *a));
                        }
                        if let Message::JoinPrune(jp) = &msg {
                            self.nodes[r].jps.push(JpSent {
                                at: now,
                                ifindex,
                                jp: jp.clone(),
                                len: payload.len(),
                            });
                        }
                        let Some(&(l, src)) = self.nodes[r].ifaces.get(&ifindex) else {
                            continue;
                        };
                        if !dst.is_multicast() {
                            self.nodes[r].unicasts.push((now, ifindex, dst, ttl, msg));
                            let owner = self.nodes.iter().enumerate().find_map(|(j, n)| {
                                n.ifaces
                                    .iter()
                                    .find(|(_, (_, a))| *a == dst)
                                    .map(|(i, _)| (j, *i))
                            });
                            if let Some((j, jif)) = owner.filter(|&(j, _)| self.nodes[j].alive) {
                                let b = self.nodes[j].pim.handle(
                                    now,
                                    Input::Packet(RxPacket {
                                        ifindex: jif,
                                        src,
                                        dst,
                                        ttl: ttl.saturating_sub(1),
                                        router_alert,
                                        payload: &payload,
                                    }),
                                );
                                queue.push_back((j, b));
                            }
                            continue;
                        }
                        let ends = self.links[l].ends.clone();
                        for (j, jif) in ends {
                            if j == r || !self.nodes[j].alive {
                                continue;
                            }
                            let b = self.nodes[j].pim.handle(
                                now,
                                Input::Packet(RxPacket {
                                    ifindex: jif,
                                    src,
                                    dst,
                                    ttl,
                                    router_alert,
                                    payload: &payload,
                                }),
                            );
                            queue.push_back((j, b));
                        }
                    }
                    Action::WatchRpf(t) => {
                        let node = &mut self.nodes[r];
                        assert!(node.watched.insert(t), "{}: {t} watched twice", node.name);
                        let rpf = node.rpf_table.get(&t).copied().unwrap_or(Rpf {
                            target: t,
                            ifindex: None,
                            neighbor: None,
                            local: false,
                        });
                        let b = node.pim.handle(now, Input::Rpf(rpf));
                        queue.push_back((r, b));
                    }
                    Action::UnwatchRpf(t) => {
                        let node = &mut self.nodes[r];
                        assert!(node.watched.remove(&t), "{}: {t} not watched", node.name);
                    }
                    Action::Forward(f) => {
                        let node = &mut self.nodes[r];
                        node.fwd_log.push((now, Action::Forward(f.clone())));
                        node.fwd.insert(f.key, f);
                    }
                    Action::Unforward(k) => {
                        let node = &mut self.nodes[r];
                        node.fwd_log.push((now, Action::Unforward(k)));
                        assert!(
                            node.fwd.remove(&k).is_some(),
                            "{}: {k} unforwarded twice",
                            node.name
                        );
                    }
                    Action::Event(e) => self.nodes[r].events.push((now, e)),
                    Action::Membership(_) => panic!("PIM produced membership"),
                }
            }
        }
    }

    /// Run every live router's timers up to `t`, in time order.
    pub fn run_until(&mut self, t: Instant) {
        loop {
            let next = self
                .nodes
                .iter()
                .filter(|n| n.alive)
                .filter_map(|n| n.pim.poll_at())
                .min();
            let Some(next) = next.filter(|&d| d <= t) else {
                break;
            };
            assert!(next >= self.now, "poll_at in the past");
            self.now = next;
            for r in 0..self.nodes.len() {
                if self.nodes[r].alive && self.nodes[r].pim.poll_at().is_some_and(|d| d <= next) {
                    let a = self.nodes[r].pim.on_timeout(next);
                    self.process(r, a);
                }
            }
        }
        self.now = t;
    }

    pub fn advance(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    /// The forwarding intent of `r` for a key: (iif, oifs).
    pub fn fwd(&self, r: usize, key: RouteKey) -> Option<(Option<u32>, Vec<u32>)> {
        self.nodes[r]
            .fwd
            .get(&key)
            .map(|f| (f.iif.map(|i| i.0), f.oifs.iter().map(|i| i.0).collect()))
    }

    /// The TIB entry of `r` for (S,G) or (*,G).
    pub fn entry(
        &self,
        r: usize,
        group: Ipv4Addr,
        source: Option<Ipv4Addr>,
    ) -> Option<EntrySnapshot> {
        let snap = self.nodes[r].pim.snapshot_at(self.now);
        let g = snap.tib.groups.into_iter().find(|x| x.group == group)?;
        match source {
            None => g.star_g,
            Some(s) => g.sources.into_iter().find(|e| e.source == Some(s)),
        }
    }

    /// Downstream state of an entry on an interface, as a string ("join", ...).
    pub fn ds(&self, r: usize, group: Ipv4Addr, source: Option<Ipv4Addr>, ifindex: u32) -> String {
        self.entry(r, group, source)
            .and_then(|e| {
                e.interfaces
                    .into_iter()
                    .find(|i| i.ifindex == IfIndex(ifindex))
            })
            .map_or("no_info".to_string(), |i| {
                serde_json_like(&format!("{:?}", i.state))
            })
    }

    /// A unicast packet to router `r` on `ifindex` from `src` to `dst`.
    pub fn inject_unicast(
        &mut self,
        r: usize,
        ifindex: u32,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        msg: &Message,
    ) -> Vec<Action> {
        let payload = packet::emit(msg);
        let a = self.nodes[r].pim.handle(
            self.now,
            Input::Packet(RxPacket {
                ifindex: IfIndex(ifindex),
                src,
                dst,
                ttl: 62,
                router_alert: false,
                payload: &payload,
            }),
        );
        self.process(r, a.clone());
        a
    }

    /// A new router-wide configuration for `r` (a reload).
    pub fn set_config(&mut self, r: usize, config: Config) -> Vec<Action> {
        let a = self.nodes[r].pim.set_config(self.now, config);
        self.process(r, a.clone());
        a
    }

    /// The shell created (or removed) the register VIF of `r`.
    pub fn register_vif(&mut self, r: usize, vif: Option<u32>) -> Vec<Action> {
        let a = self.nodes[r]
            .pim
            .set_register_vif(self.now, vif.map(IfIndex));
        self.process(r, a.clone());
        a
    }

    /// A kernel upcall at `r`.
    pub fn upcall(
        &mut self,
        r: usize,
        kind: UpcallKind,
        ifindex: u32,
        s: Ipv4Addr,
        g: Ipv4Addr,
        packet: &[u8],
    ) -> Vec<Action> {
        let a = self.nodes[r].pim.handle(
            self.now,
            Input::Upcall {
                kind,
                ifindex: IfIndex(ifindex),
                key: RouteKey::sg(s, g),
                packet,
            },
        );
        self.process(r, a.clone());
        a
    }

    /// The kernel's packet counter of (S,G) at `r`.
    pub fn mfc_stats(&mut self, r: usize, s: Ipv4Addr, g: Ipv4Addr, packets: u64) -> Vec<Action> {
        let a = self.nodes[r].pim.handle(
            self.now,
            Input::MfcStats {
                key: RouteKey::sg(s, g),
                packets,
                bytes: packets * 100,
                idle: None,
            },
        );
        self.process(r, a.clone());
        a
    }

    /// The kernel's packet and byte counters of (S,G) at `r`.
    pub fn mfc_stats_bytes(
        &mut self,
        r: usize,
        s: Ipv4Addr,
        g: Ipv4Addr,
        packets: u64,
        bytes: u64,
    ) -> Vec<Action> {
        let a = self.nodes[r].pim.handle(
            self.now,
            Input::MfcStats {
                key: RouteKey::sg(s, g),
                packets,
                bytes,
                idle: None,
            },
        );
        self.process(r, a.clone());
        a
    }

    /// Unicast messages `r` sent since the last call: (time, interface, destination,
    /// TTL, message).
    pub fn take_unicasts(&mut self, r: usize) -> Vec<(Instant, IfIndex, Ipv4Addr, u8, Message)> {
        std::mem::take(&mut self.nodes[r].unicasts)
    }

    pub fn register_counters(&self, r: usize) -> pim::RegisterCounters {
        self.nodes[r].pim.snapshot_at(self.now).tib.register
    }

    pub fn take_jps(&mut self, r: usize) -> Vec<JpSent> {
        std::mem::take(&mut self.nodes[r].jps)
    }

    pub fn clear(&mut self) {
        for n in &mut self.nodes {
            n.jps.clear();
            n.events.clear();
            n.fwd_log.clear();
            n.unicasts.clear();
            n.asserts.clear();
        }
    }

    pub fn counters(&self, r: usize) -> pim::TibCounters {
        self.nodes[r].pim.snapshot_at(self.now).tib.counters
    }
}

fn serde_json_like(debug: &str) -> String {
    match debug {
        "NoInfo" => "no_info",
        "Join" => "join",
        "PrunePending" => "prune_pending",
        other => other,
    }
    .to_string()
}

/// A group set joining/pruning these encoded sources.
pub fn set(group: Ipv4Addr, joins: &[EncodedSource], prunes: &[EncodedSource]) -> JoinPruneGroup {
    JoinPruneGroup {
        group: EncodedGroup::new(group),
        joins: joins.to_vec(),
        prunes: prunes.to_vec(),
    }
}

pub fn sg(s: Ipv4Addr) -> EncodedSource {
    EncodedSource::sg(s)
}

pub fn star(rp: Ipv4Addr) -> EncodedSource {
    EncodedSource::star_g(rp)
}

/// Join/Prune messages among `actions` (one handle call's output).
pub fn jps_in(actions: &[Action]) -> Vec<JoinPrune> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { payload, .. } => match packet::parse(payload) {
                Ok(Message::JoinPrune(jp)) => Some(jp),
                _ => None,
            },
            _ => None,
        })
        .collect()
}
