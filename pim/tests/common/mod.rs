//! Test harness: one `Pim` with interface `IF1` (10.0.0.1/24) configured and up at t = 0,
//! driven in virtual time, recording every Send (decoded with the real codec) and Event;
//! Hello builders for neighbours; and `Lan`, several routers on one simulated link.
#![allow(dead_code)]

pub mod net;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::{Action, Event, IfIndex, Input, Instant, InterfaceChange, Protocol, RxPacket};
use pim::config::{Config, InterfaceConfig};
use pim::packet::{self, Hello, HelloOption, Message};
use pim::{InterfaceSnapshot, NeighborSnapshot, Pim};

pub const IF1: IfIndex = IfIndex(1);
pub const ROUTER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const ALL_PIM_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 13);
pub const SEED: u64 = 7;

/// A neighbour on the link, 10.0.0.n.
pub const fn nbr(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
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

pub fn cfg() -> InterfaceConfig {
    InterfaceConfig::default()
}

/// Configuration with Triggered_Hello_Delay 0: Hellos go out at once, so times are exact.
pub fn cfg_no_jitter() -> InterfaceConfig {
    InterfaceConfig {
        triggered_hello_delay: Duration::ZERO,
        ..InterfaceConfig::default()
    }
}

// -------------------------------------------------------------------------------------
// Hellos a neighbour sends

/// A neighbour's Hello, built option by option.
#[derive(Clone, Debug)]
pub struct HelloBuilder {
    pub options: Vec<HelloOption>,
}

/// A Hello as a modern router sends it: Holdtime 105, LAN Prune Delay 500/2500 without T,
/// DR Priority 1, and the Generation ID `genid`.
pub fn hello(genid: u32) -> HelloBuilder {
    HelloBuilder {
        options: Vec::new(),
    }
    .holdtime(105)
    .lan_prune_delay(false, 500, 2500)
    .dr_priority(1)
    .genid(genid)
}

/// A Hello without any option.
pub fn bare_hello() -> HelloBuilder {
    HelloBuilder {
        options: Vec::new(),
    }
}

impl HelloBuilder {
    fn set(mut self, opt: HelloOption) -> Self {
        let same = std::mem::discriminant(&opt);
        match self
            .options
            .iter_mut()
            .find(|o| std::mem::discriminant(*o) == same)
        {
            Some(o) => *o = opt,
            None => self.options.push(opt),
        }
        self
    }

    fn without(mut self, pred: impl Fn(&HelloOption) -> bool) -> Self {
        self.options.retain(|o| !pred(o));
        self
    }

    pub fn holdtime(self, s: u16) -> Self {
        self.set(HelloOption::Holdtime(s))
    }

    pub fn dr_priority(self, p: u32) -> Self {
        self.set(HelloOption::DrPriority(p))
    }

    pub fn genid(self, g: u32) -> Self {
        self.set(HelloOption::GenerationId(g))
    }

    pub fn lan_prune_delay(self, t_bit: bool, propagation_ms: u16, override_ms: u16) -> Self {
        self.set(HelloOption::LanPruneDelay {
            t_bit,
            propagation_delay_ms: propagation_ms,
            override_interval_ms: override_ms,
        })
    }

    pub fn addresses(self, list: &[Ipv4Addr]) -> Self {
        self.set(HelloOption::AddressList(list.to_vec()))
    }

    pub fn no_holdtime(self) -> Self {
        self.without(|o| matches!(o, HelloOption::Holdtime(_)))
    }

    pub fn no_dr_priority(self) -> Self {
        self.without(|o| matches!(o, HelloOption::DrPriority(_)))
    }

    pub fn no_lan_prune_delay(self) -> Self {
        self.without(|o| matches!(o, HelloOption::LanPruneDelay { .. }))
    }

    pub fn no_genid(self) -> Self {
        self.without(|o| matches!(o, HelloOption::GenerationId(_)))
    }

    pub fn message(&self) -> Message {
        Message::Hello(Hello {
            options: self.options.clone(),
        })
    }

    pub fn bytes(&self) -> Vec<u8> {
        packet::emit(&self.message())
    }
}

// -------------------------------------------------------------------------------------
// What the router sent

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
    pub fn hello(&self) -> &Hello {
        match &self.msg {
            Message::Hello(h) => h,
            m => panic!("not a Hello: {m:?}"),
        }
    }

    fn option<T>(&self, f: impl Fn(&HelloOption) -> Option<T>) -> Option<T> {
        self.hello().options.iter().find_map(f)
    }

    pub fn holdtime(&self) -> Option<u16> {
        self.option(|o| match o {
            HelloOption::Holdtime(h) => Some(*h),
            _ => None,
        })
    }

    pub fn dr_priority(&self) -> Option<u32> {
        self.option(|o| match o {
            HelloOption::DrPriority(p) => Some(*p),
            _ => None,
        })
    }

    pub fn genid(&self) -> Option<u32> {
        self.option(|o| match o {
            HelloOption::GenerationId(g) => Some(*g),
            _ => None,
        })
    }

    /// (T bit, propagation delay ms, override interval ms).
    pub fn lan_prune_delay(&self) -> Option<(bool, u16, u16)> {
        self.option(|o| match o {
            HelloOption::LanPruneDelay {
                t_bit,
                propagation_delay_ms,
                override_interval_ms,
            } => Some((*t_bit, *propagation_delay_ms, *override_interval_ms)),
            _ => None,
        })
    }
}

/// The actions of a router, decoded.
#[derive(Default)]
pub struct Log {
    pub sent: Vec<Sent>,
    pub events: Vec<(Instant, Event)>,
    pub other: Vec<(Instant, Action)>,
}

impl Log {
    pub fn record(&mut self, now: Instant, actions: Vec<Action>) {
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
                Action::Event(e) => self.events.push((now, e)),
                // Forwarding intents and RPF watches: see `net` for tests that use them.
                other => self.other.push((now, other)),
            }
        }
    }
}

// -------------------------------------------------------------------------------------
// One router

/// One router in virtual time.
pub struct Harness {
    pub pim: Pim,
    pub now: Instant,
    pub addr: Ipv4Addr,
    pub log: Log,
}

impl Harness {
    /// PIM on IF1 (10.0.0.1/24), configured and up at t = 0.
    pub fn new(cfg: InterfaceConfig) -> Self {
        Self::with(cfg, ROUTER, SEED)
    }

    pub fn with(cfg: InterfaceConfig, addr: Ipv4Addr, seed: u64) -> Self {
        let mut h = Harness {
            pim: Pim::new(Config::default(), seed),
            now: Instant::ZERO,
            addr,
            log: Log::default(),
        };
        h.configure(cfg);
        h.up();
        // Whatever is due at once (a zero Triggered_Hello_Delay), as the shell would.
        h.advance_to(h.now);
        h
    }

    /// Like `new`, with the first Hello already sent and the logs cleared.
    pub fn started(cfg: InterfaceConfig) -> Self {
        let mut h = Self::new(cfg);
        let first = h.pim.poll_at().expect("the first Hello is scheduled");
        h.advance_to(first);
        assert_eq!(h.take_sent().len(), 1);
        h.clear();
        h
    }

    pub fn up(&mut self) {
        self.up_with(self.addr, 24);
    }

    pub fn up_with(&mut self, addr: Ipv4Addr, prefix_len: u8) {
        self.addr = addr;
        let a = self.pim.handle(
            self.now,
            Input::Interface(InterfaceChange::Up {
                ifindex: IF1,
                name: "eth1".into(),
                addr,
                prefix_len,
            }),
        );
        self.log.record(self.now, a);
    }

    pub fn down(&mut self) {
        let a = self.pim.handle(
            self.now,
            Input::Interface(InterfaceChange::Down { ifindex: IF1 }),
        );
        self.log.record(self.now, a);
    }

    pub fn configure(&mut self, cfg: InterfaceConfig) {
        let a = self.pim.configure_interface(self.now, IF1, cfg);
        self.log.record(self.now, a);
    }

    pub fn remove(&mut self) {
        let a = self.pim.remove_interface(self.now, IF1);
        self.log.record(self.now, a);
    }

    /// Deliver raw PIM bytes.
    pub fn rx_raw(&mut self, src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, payload: &[u8]) {
        let a = self.pim.handle(
            self.now,
            Input::Packet(RxPacket {
                ifindex: IF1,
                src,
                dst,
                ttl,
                router_alert: false,
                payload,
            }),
        );
        self.log.record(self.now, a);
    }

    /// A Hello from `src` to ALL-PIM-ROUTERS with TTL 1.
    pub fn rx_hello(&mut self, src: Ipv4Addr, h: &HelloBuilder) {
        self.rx_raw(src, ALL_PIM_ROUTERS, 1, &h.bytes());
    }

    /// Run every timer up to `t` (each at its own deadline), then set the clock to `t`.
    pub fn advance_to(&mut self, t: Instant) {
        let log = &mut self.log;
        testsupport::advance_to(&mut self.pim, &mut self.now, t, |d, a| log.record(d, a));
    }

    pub fn advance(&mut self, d: Duration) {
        self.advance_to(self.now + d);
    }

    pub fn take_sent(&mut self) -> Vec<Sent> {
        std::mem::take(&mut self.log.sent)
    }

    pub fn take_events(&mut self) -> Vec<(Instant, Event)> {
        std::mem::take(&mut self.log.events)
    }

    /// The `what` of every event since the last take, in order.
    pub fn take_event_kinds(&mut self) -> Vec<String> {
        self.take_events()
            .into_iter()
            .map(|(_, e)| e.what)
            .collect()
    }

    pub fn clear(&mut self) {
        self.take_sent();
        self.take_events();
    }

    pub fn iface(&self) -> InterfaceSnapshot {
        self.pim
            .snapshot_at(self.now)
            .interfaces
            .into_iter()
            .find(|i| i.ifindex == IF1)
            .expect("IF1 in snapshot")
    }

    pub fn neighbor(&self, addr: Ipv4Addr) -> Option<NeighborSnapshot> {
        self.iface()
            .neighbors
            .into_iter()
            .find(|n| n.address == addr)
    }

    pub fn neighbor_addrs(&self) -> Vec<Ipv4Addr> {
        self.iface().neighbors.iter().map(|n| n.address).collect()
    }

    pub fn dr(&self) -> Option<Ipv4Addr> {
        self.pim.dr(IF1)
    }

    pub fn dropped(&self, reason: &str) -> u64 {
        self.iface().dropped.get(reason).copied().unwrap_or(0)
    }

    pub fn received(&self, kind: &str) -> u64 {
        self.iface().received.get(kind).copied().unwrap_or(0)
    }
}

// -------------------------------------------------------------------------------------
// A LAN of several routers

/// Several routers on one link: every Send of a live router is received by the other live
/// routers at the same instant.
pub struct Lan {
    pub routers: Vec<LanRouter>,
    pub now: Instant,
}

pub struct LanRouter {
    pub pim: Pim,
    pub addr: Ipv4Addr,
    /// False: the router is stopped (neither fed nor run), as if its power were cut.
    pub alive: bool,
    pub log: Log,
}

impl Lan {
    /// Routers with these addresses and configurations (10.0.0.0/24), configured and up at
    /// t = 0; router i is seeded with i + 1.
    pub fn new(routers: &[(Ipv4Addr, InterfaceConfig)]) -> Self {
        let mut lan = Lan {
            routers: Vec::new(),
            now: Instant::ZERO,
        };
        let mut initial = Vec::new();
        for (i, (addr, cfg)) in routers.iter().enumerate() {
            let mut pim = Pim::new(Config::default(), i as u64 + 1);
            let mut a = pim.configure_interface(Instant::ZERO, IF1, cfg.clone());
            a.extend(pim.handle(
                Instant::ZERO,
                Input::Interface(InterfaceChange::Up {
                    ifindex: IF1,
                    name: "lan".into(),
                    addr: *addr,
                    prefix_len: 24,
                }),
            ));
            lan.routers.push(LanRouter {
                pim,
                addr: *addr,
                alive: true,
                log: Log::default(),
            });
            initial.push(a);
        }
        for (i, a) in initial.into_iter().enumerate() {
            lan.deliver(i, a);
        }
        lan
    }

    /// Record router `from`'s actions and deliver its packets to the other live routers.
    fn deliver(&mut self, from: usize, actions: Vec<Action>) {
        let mut queue = vec![(from, actions)];
        while let Some((from, actions)) = queue.pop() {
            let now = self.now;
            let before = self.routers[from].log.sent.len();
            self.routers[from].log.record(now, actions);
            let sent: Vec<Sent> = self.routers[from].log.sent[before..].to_vec();
            let src = self.routers[from].addr;
            for pkt in sent {
                let payload = packet::emit(&pkt.msg);
                for j in 0..self.routers.len() {
                    if j == from || !self.routers[j].alive {
                        continue;
                    }
                    let a = self.routers[j].pim.handle(
                        now,
                        Input::Packet(RxPacket {
                            ifindex: IF1,
                            src,
                            dst: pkt.dst,
                            ttl: pkt.ttl,
                            router_alert: pkt.router_alert,
                            payload: &payload,
                        }),
                    );
                    queue.push((j, a));
                }
            }
        }
    }

    /// Run the link up to `t`: every live router's timers, in time order.
    pub fn run_until(&mut self, t: Instant) {
        loop {
            let next = self
                .routers
                .iter()
                .filter(|r| r.alive)
                .filter_map(|r| r.pim.poll_at())
                .min();
            let Some(next) = next.filter(|&d| d <= t) else {
                break;
            };
            self.now = next;
            for j in 0..self.routers.len() {
                if self.routers[j].alive && self.routers[j].pim.poll_at().is_some_and(|d| d <= next)
                {
                    let a = self.routers[j].pim.on_timeout(next);
                    self.deliver(j, a);
                }
            }
        }
        self.now = t;
    }

    /// Router `i` stops dead: nothing more from it, nothing more to it.
    pub fn kill(&mut self, i: usize) {
        self.routers[i].alive = false;
    }

    /// Router `i` disables PIM on the link (a Hello with Holdtime 0) and stops.
    pub fn goodbye(&mut self, i: usize) {
        let a = self.routers[i].pim.remove_interface(self.now, IF1);
        self.deliver(i, a);
        self.routers[i].alive = false;
    }

    pub fn dr(&self, i: usize) -> Option<Ipv4Addr> {
        self.routers[i].pim.dr(IF1)
    }

    pub fn neighbor_addrs(&self, i: usize) -> Vec<Ipv4Addr> {
        self.routers[i]
            .pim
            .neighbors(IF1)
            .iter()
            .map(|n| n.address)
            .collect()
    }

    /// Events of router `i` with this `what`, with their times.
    pub fn events(&self, i: usize, what: &str) -> Vec<(Instant, String)> {
        self.routers[i]
            .log
            .events
            .iter()
            .filter(|(_, e)| e.what == what)
            .map(|(t, e)| (*t, e.detail.clone()))
            .collect()
    }
}
