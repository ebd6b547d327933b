//! PIM on one interface (RFC 7761 section 4.3): acceptance of received messages, the Hello
//! Timer and triggered Hellos (4.3.1), neighbour discovery and the Neighbor Liveness Timers
//! (4.3.1, 4.3.4), and the DR election (4.3.2) with the LAN Prune Delay macros (4.3.3).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use common::{Action, Event, IfIndex, Instant, RxPacket};

use crate::config::InterfaceConfig;
use crate::neighbor::{
    self, ALL_PIM_ROUTERS, Candidate, HOLDTIME_INFINITE, HelloInfo, Neighbor,
    PROPAGATION_DELAY_DEFAULT, T_OVERRIDE_DEFAULT,
};
use crate::packet::{self, Hello, HelloOption, Message};
use crate::rng::Rng;
use crate::snapshot::{InterfaceSnapshot, NeighborSnapshot};
use crate::{down_reasons, events, kinds, reasons};

/// The operational state the shell reported (`InterfaceChange::Up`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Link {
    pub name: String,
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
}

impl Link {
    /// True if `src` is on the interface's subnet. A /32 (or /0) interface has no subnet to
    /// check against (point-to-point and unnumbered links): every source is accepted.
    fn on_subnet(&self, src: Ipv4Addr) -> bool {
        if self.prefix_len == 0 || self.prefix_len >= 32 {
            return true;
        }
        let mask = u32::MAX << (32 - u32::from(self.prefix_len));
        u32::from(src) & mask == u32::from(self.addr) & mask
    }
}

/// The facts of an interface the TIB depends on; see [`Interface::view`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct IfView {
    pub running: bool,
    pub is_dr: bool,
    /// (primary address, Generation ID, secondary addresses), by primary address.
    pub neighbors: Vec<(Ipv4Addr, Option<u32>, Vec<Ipv4Addr>)>,
}

/// Message counters; they survive the interface going down and up.
#[derive(Clone, Debug, Default)]
pub(crate) struct Counters {
    pub received: BTreeMap<&'static str, u64>,
    pub dropped: BTreeMap<&'static str, u64>,
}

impl Counters {
    fn received(&mut self, kind: &'static str) {
        *self.received.entry(kind).or_default() += 1;
    }

    fn dropped(&mut self, reason: &'static str) {
        *self.dropped.entry(reason).or_default() += 1;
    }
}

/// One interface: configuration, link state, counters, and the protocol state while PIM
/// runs there (configured and up).
#[derive(Debug)]
pub(crate) struct Interface {
    pub ifindex: IfIndex,
    pub cfg: Option<InterfaceConfig>,
    pub link: Option<Link>,
    pub counters: Counters,
    pub run: Option<Running>,
    /// The Generation ID last used here, so that a restart never reuses it.
    last_generation_id: Option<u32>,
}

/// The protocol state of an interface where PIM runs.
#[derive(Debug)]
pub(crate) struct Running {
    ifindex: IfIndex,
    cfg: InterfaceConfig,
    link: Link,
    /// Our Generation ID (4.3.1), new each time PIM starts here or the address changes.
    generation_id: u32,
    /// Hello Timer HT(I) (4.3.1): the next periodic Hello.
    hello_timer: Instant,
    /// A triggered Hello (4.3.1: new neighbour or GenID change, our options changed), sent
    /// after a random delay up to Triggered_Hello_Delay "without changing the timing of the
    /// scheduled periodic message". Any Hello sent meanwhile satisfies it.
    triggered_hello: Option<Instant>,
    neighbors: BTreeMap<Ipv4Addr, Neighbor>,
    /// The elected DR's primary address (4.3.2); ours when I_am_DR(I).
    dr: Ipv4Addr,
    /// Our secondary addresses on the interface, advertised in the Address List option
    /// (4.3.1, 4.3.4). The shell reports only the primary address so far.
    secondary_addresses: Vec<Ipv4Addr>,
}

impl Interface {
    /// Send the pending triggered Hello now, if there is one (see `Pim::hello_first`).
    pub(crate) fn send_pending_hello(&mut self, out: &mut Vec<Action>) {
        if let Some(run) = self.run.as_mut()
            && run.triggered_hello.is_some()
        {
            run.send_hello(holdtime_of(&run.cfg), out);
            run.triggered_hello = None;
        }
    }

    pub fn new(ifindex: IfIndex) -> Self {
        Interface {
            ifindex,
            cfg: None,
            link: None,
            counters: Counters::default(),
            run: None,
            last_generation_id: None,
        }
    }

    /// Neither configured nor known to be up: nothing to keep but counters.
    pub fn is_idle(&self) -> bool {
        self.cfg.is_none() && self.link.is_none()
    }

    fn start_if_ready(&mut self, now: Instant, rng: &mut Rng) {
        if self.run.is_some() {
            return;
        }
        if let (Some(cfg), Some(link)) = (&self.cfg, &self.link) {
            let run = Running::start(
                now,
                self.ifindex,
                cfg.clone(),
                link.clone(),
                rng,
                self.last_generation_id,
            );
            self.last_generation_id = Some(run.generation_id);
            self.run = Some(run);
        }
    }

    /// Enable PIM here or replace the configuration (neighbours are kept).
    pub fn configure(
        &mut self,
        now: Instant,
        cfg: InterfaceConfig,
        rng: &mut Rng,
        out: &mut Vec<Action>,
    ) {
        self.cfg = Some(cfg.clone());
        match &mut self.run {
            Some(run) => run.reconfigure(now, cfg, rng, out),
            None => self.start_if_ready(now, rng),
        }
    }

    /// Disable PIM here: a Hello with Holdtime 0 (4.3.1), then forget the protocol state and
    /// the configuration.
    pub fn unconfigure(&mut self, out: &mut Vec<Action>) {
        self.cfg = None;
        if let Some(run) = self.run.take() {
            run.send_hello(0, out);
            run.stop(down_reasons::PIM_DISABLED, out);
        }
    }

    /// `InterfaceChange::Up`: operational with this primary address.
    pub fn up(&mut self, now: Instant, link: Link, rng: &mut Rng, out: &mut Vec<Action>) {
        self.link = Some(link.clone());
        match &mut self.run {
            Some(run) => {
                run.relink(now, link, rng, out);
                self.last_generation_id = Some(run.generation_id);
            }
            None => self.start_if_ready(now, rng),
        }
    }

    /// `InterfaceChange::Down`: stop and forget the neighbours, keep the configuration.
    pub fn down(&mut self, out: &mut Vec<Action>) {
        self.link = None;
        if let Some(run) = self.run.take() {
            run.stop(down_reasons::INTERFACE_DOWN, out);
        }
    }

    /// A received PIM message: the acceptance rules, then the Hello processing of 4.3.
    /// A Join/Prune that passes the acceptance rules (to ALL-PIM-ROUTERS, TTL 1) is returned
    /// for the TIB (4.5); other message types are only counted so far.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        pkt: &RxPacket<'_>,
        rng: &mut Rng,
        out: &mut Vec<Action>,
    ) -> Option<Message> {
        let Some(run) = &mut self.run else {
            return None;
        };
        let counters = &mut self.counters;
        if pkt.src == run.link.addr {
            // Our own multicast, looped back.
            counters.dropped(reasons::OWN_PACKET);
            return None;
        }
        let msg = match packet::parse(pkt.payload) {
            Ok(m) => m,
            Err(e) => {
                counters.dropped(e.kind());
                return None;
            }
        };
        let hello = match msg {
            Message::Hello(hello) => hello,
            m @ (Message::JoinPrune(_) | Message::Assert(_)) => {
                // 4.9: Join/Prune and Assert messages are multicast with TTL 1 to
                // ALL-PIM-ROUTERS.
                if pkt.dst != ALL_PIM_ROUTERS {
                    counters.dropped(reasons::BAD_DESTINATION);
                    return None;
                }
                if pkt.ttl != 1 {
                    counters.dropped(reasons::BAD_TTL);
                    return None;
                }
                counters.received(kinds::of(&m));
                return Some(m);
            }
            // Register and Register-Stop are acted on only when unicast (4.9.3, 4.9.4; see
            // `Pim::handle`): multicast ones, like the message types not implemented yet,
            // are only counted.
            other => {
                counters.received(kinds::of(&other));
                return None;
            }
        };
        // 4.3.1, 4.9: Hellos are multicast to ALL-PIM-ROUTERS with TTL 1.
        if pkt.dst != ALL_PIM_ROUTERS {
            counters.dropped(reasons::BAD_DESTINATION);
            return None;
        }
        if pkt.ttl != 1 {
            counters.dropped(reasons::BAD_TTL);
            return None;
        }
        if !run.link.on_subnet(pkt.src) {
            counters.dropped(reasons::SOURCE_NOT_ON_SUBNET);
            return None;
        }
        counters.received(kinds::HELLO);
        run.handle_hello(now, pkt.src, &hello, rng, out);
        None
    }

    /// Count a message accepted outside [`Interface::handle_packet`] (unicast Register and
    /// Register-Stop).
    pub fn count_received(&mut self, kind: &'static str) {
        self.counters.received(kind);
    }

    /// What the TIB depends on (4.5, 4.1.6): whether PIM runs, `I_am_DR(I)`, and the
    /// neighbours with their Generation IDs and secondary addresses. Compared before and
    /// after every change to the interface, so that the TIB works only when it changed.
    pub fn view(&self) -> IfView {
        IfView {
            running: self.run.is_some(),
            is_dr: self.is_dr(),
            neighbors: self
                .run
                .as_ref()
                .map(|r| {
                    r.neighbors
                        .values()
                        .map(|n| (n.address, n.generation_id, n.secondary.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Our primary address while PIM runs here.
    pub fn own_addr(&self) -> Option<Ipv4Addr> {
        self.run.as_ref().map(|r| r.link.addr)
    }

    /// The primary address of the neighbour that has `addr` as its primary or a secondary
    /// address (4.3.4: Join/Prune messages name the neighbour by its primary address).
    pub fn neighbor_primary(&self, addr: Ipv4Addr) -> Option<Ipv4Addr> {
        let r = self.run.as_ref()?;
        if r.neighbors.contains_key(&addr) {
            return Some(addr);
        }
        r.neighbors
            .values()
            .find(|n| n.secondary.contains(&addr))
            .map(|n| n.address)
    }

    /// The number of PIM neighbours here.
    pub fn neighbor_count(&self) -> usize {
        self.run.as_ref().map_or(0, |r| r.neighbors.len())
    }

    pub fn poll_at(&self) -> Option<Instant> {
        self.run.as_ref().map(Running::poll_at)
    }

    pub fn on_timeout(&mut self, now: Instant, out: &mut Vec<Action>) {
        if let Some(run) = &mut self.run {
            run.on_timeout(now, out);
        }
    }

    pub fn dr(&self) -> Option<Ipv4Addr> {
        self.run.as_ref().map(|r| r.dr)
    }

    pub fn is_dr(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.dr == r.link.addr)
    }

    pub fn lan_delay_enabled(&self) -> bool {
        self.run
            .as_ref()
            .is_some_and(|r| neighbor::lan_delay_enabled(&r.neighbors))
    }

    pub fn effective_propagation_delay(&self) -> Duration {
        self.run.as_ref().map_or(PROPAGATION_DELAY_DEFAULT, |r| {
            neighbor::effective_propagation_delay(r.cfg.propagation_delay, &r.neighbors)
        })
    }

    pub fn effective_override_interval(&self) -> Duration {
        self.run.as_ref().map_or(T_OVERRIDE_DEFAULT, |r| {
            neighbor::effective_override_interval(r.cfg.override_interval, &r.neighbors)
        })
    }

    pub fn suppression_enabled(&self) -> bool {
        self.run.as_ref().is_none_or(|r| {
            neighbor::suppression_enabled(r.cfg.disable_join_suppression, &r.neighbors)
        })
    }

    /// True if `addr` is the primary or a secondary address of a neighbour here.
    pub fn is_neighbor(&self, addr: Ipv4Addr) -> bool {
        self.run.as_ref().is_some_and(|r| {
            r.neighbors.contains_key(&addr)
                || r.neighbors.values().any(|n| n.secondary.contains(&addr))
        })
    }

    pub fn neighbors(&self, now: Instant) -> Vec<NeighborSnapshot> {
        self.run
            .as_ref()
            .map(|r| {
                r.neighbors
                    .values()
                    .map(|n| neighbor_snapshot(now, n))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn snapshot(&self, now: Instant) -> InterfaceSnapshot {
        let count = |m: &BTreeMap<&'static str, u64>| -> BTreeMap<String, u64> {
            m.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        let run = self.run.as_ref();
        InterfaceSnapshot {
            ifindex: self.ifindex,
            name: self.link.as_ref().map(|l| l.name.clone()),
            address: self.link.as_ref().map(|l| l.addr),
            prefix_len: self.link.as_ref().map(|l| l.prefix_len),
            configured: self.cfg.is_some(),
            up: self.link.is_some(),
            active: run.is_some(),
            generation_id: run.map(|r| r.generation_id),
            dr_priority: self.cfg.as_ref().map(|c| c.dr_priority),
            hello_period_ms: self.cfg.as_ref().map(|c| millis(c.hello_period)),
            hello_holdtime_s: self.cfg.as_ref().map(holdtime_of),
            dr: self.dr(),
            i_am_dr: self.is_dr(),
            hello_timer_ms: run.map(|r| millis(now.until(r.hello_timer))),
            triggered_hello_ms: run
                .and_then(|r| r.triggered_hello)
                .map(|t| millis(now.until(t))),
            lan_delay_enabled: self.lan_delay_enabled(),
            effective_propagation_delay_ms: millis(self.effective_propagation_delay()),
            effective_override_interval_ms: millis(self.effective_override_interval()),
            suppression_enabled: self.suppression_enabled(),
            received: count(&self.counters.received),
            dropped: count(&self.counters.dropped),
            neighbors: self.neighbors(now),
        }
    }
}

impl Running {
    /// PIM starts on the interface (4.3.1): a new Generation ID, and the Hello Timer set to
    /// a random value in [0, Triggered_Hello_Delay].
    fn start(
        now: Instant,
        ifindex: IfIndex,
        cfg: InterfaceConfig,
        link: Link,
        rng: &mut Rng,
        previous_generation_id: Option<u32>,
    ) -> Self {
        let generation_id = rng.generation_id(previous_generation_id);
        let hello_timer = now + rng.delay(cfg.triggered_hello_delay);
        Running {
            ifindex,
            dr: link.addr,
            cfg,
            link,
            generation_id,
            hello_timer,
            triggered_hello: None,
            neighbors: BTreeMap::new(),
            secondary_addresses: Vec::new(),
        }
    }

    /// "me" in the DR election (4.3.2): we always advertise a DR Priority.
    fn me(&self) -> Candidate {
        Candidate {
            primary_ip_address: self.link.addr,
            dr_priority: Some(self.cfg.dr_priority),
        }
    }

    fn label(&self) -> String {
        format!("{} ({})", self.link.name, self.ifindex)
    }

    /// Run `DR(I)` (4.3.2) and report a change.
    fn elect_dr(&mut self, out: &mut Vec<Action>) {
        let new = neighbor::dr(self.me(), &self.neighbors).primary_ip_address;
        if new == self.dr {
            return;
        }
        let old = std::mem::replace(&mut self.dr, new);
        let who = |a: Ipv4Addr| {
            if a == self.link.addr {
                format!("{a} (this router)")
            } else {
                a.to_string()
            }
        };
        out.push(event(
            events::DR_CHANGE,
            format!("{}: DR {} -> {}", self.label(), who(old), who(new)),
        ));
    }

    /// Our Hello (4.3.1, 4.9.2), options in FRR's order: Holdtime, LAN Prune Delay, DR
    /// Priority, Generation ID, Address List (only with secondary addresses).
    fn hello(&self, holdtime: u16) -> Message {
        let mut options = vec![
            HelloOption::Holdtime(holdtime),
            HelloOption::LanPruneDelay {
                t_bit: self.cfg.disable_join_suppression,
                propagation_delay_ms: clamp_ms(self.cfg.propagation_delay, 0x7fff),
                override_interval_ms: clamp_ms(self.cfg.override_interval, 0xffff),
            },
            HelloOption::DrPriority(self.cfg.dr_priority),
            HelloOption::GenerationId(self.generation_id),
        ];
        if !self.secondary_addresses.is_empty() {
            options.push(HelloOption::AddressList(self.secondary_addresses.clone()));
        }
        Message::Hello(Hello { options })
    }

    fn send_hello(&self, holdtime: u16, out: &mut Vec<Action>) {
        out.push(Action::Send {
            ifindex: self.ifindex,
            dst: ALL_PIM_ROUTERS,
            ttl: 1,
            router_alert: false,
            payload: packet::emit(&self.hello(holdtime)),
        });
    }

    /// Schedule a triggered Hello after a random delay in [0, Triggered_Hello_Delay]
    /// (4.3.1); one already pending earlier stays.
    fn trigger_hello(&mut self, now: Instant, rng: &mut Rng) {
        let at = now + rng.delay(self.cfg.triggered_hello_delay);
        self.triggered_hello = Some(self.triggered_hello.map_or(at, |t| t.min(at)));
    }

    fn poll_at(&self) -> Instant {
        let mut t = self.hello_timer;
        if let Some(x) = self.triggered_hello {
            t = t.min(x);
        }
        self.neighbors
            .values()
            .filter_map(|n| n.nlt)
            .fold(t, Instant::min)
    }

    fn on_timeout(&mut self, now: Instant, out: &mut Vec<Action>) {
        // Neighbor Liveness Timers (4.3.1): the neighbour is gone.
        let expired: Vec<Ipv4Addr> = self
            .neighbors
            .values()
            .filter(|n| n.nlt.is_some_and(|t| t <= now))
            .map(|n| n.address)
            .collect();
        for addr in &expired {
            self.neighbors.remove(addr);
            out.push(self.neighbor_down(*addr, down_reasons::HOLDTIME_EXPIRED));
        }
        if !expired.is_empty() {
            self.elect_dr(out);
        }
        // Hello Timer (4.3.1): send a Hello, restart the timer with Hello_Period. A
        // triggered Hello due at the same time is satisfied by it.
        if self.hello_timer <= now {
            self.send_hello(holdtime_of(&self.cfg), out);
            self.hello_timer = now + self.cfg.hello_period.max(Duration::from_millis(1));
            self.triggered_hello = None;
        } else if self.triggered_hello.is_some_and(|t| t <= now) {
            self.send_hello(holdtime_of(&self.cfg), out);
            self.triggered_hello = None;
        }
    }

    fn neighbor_down(&self, addr: Ipv4Addr, reason: &str) -> Action {
        event(
            events::NEIGHBOR_DOWN,
            format!("{}: neighbor {addr} down: {reason}", self.label()),
        )
    }

    /// A Hello from `src` that passed the acceptance checks (4.3.1-4.3.4).
    fn handle_hello(
        &mut self,
        now: Instant,
        src: Ipv4Addr,
        hello: &Hello,
        rng: &mut Rng,
        out: &mut Vec<Action>,
    ) {
        let info = HelloInfo::of(hello);
        if info.holdtime == 0 {
            // 4.9.2: Holdtime 0, "the information is timed out immediately" (a goodbye).
            if self.neighbors.remove(&src).is_some() {
                out.push(self.neighbor_down(src, down_reasons::GOODBYE));
                self.elect_dr(out);
            }
            return;
        }
        // 4.3.4: a secondary address advertised by two neighbours belongs to the one that
        // advertised it most recently.
        for n in self.neighbors.values_mut() {
            if n.address != src {
                n.secondary.retain(|a| !info.secondary.contains(a));
            }
        }
        match self.neighbors.get_mut(&src) {
            Some(n) if info.generation_id.is_some() && info.generation_id != n.generation_id => {
                // 4.3.1: a new GenID: the neighbour restarted. Its old information is
                // discarded and superseded by the new Hello, and it is greeted like a new
                // neighbour with a triggered Hello.
                let old = n.generation_id;
                let new = info.generation_id;
                *n = Neighbor::new(now, src, info);
                let detail = format!(
                    "{}: neighbor {src} restarted: generation id {} -> {}",
                    self.label(),
                    genid_text(old),
                    genid_text(new),
                );
                out.push(event(events::NEIGHBOR_RESTART, detail));
                self.trigger_hello(now, rng);
            }
            Some(n) => n.update(now, info),
            None => {
                let n = Neighbor::new(now, src, info);
                let detail = format!(
                    "{}: neighbor {src} up: holdtime {}, dr priority {}, generation id {}",
                    self.label(),
                    holdtime_text(n.holdtime),
                    n.dr_priority
                        .map_or_else(|| "none".to_string(), |p| p.to_string()),
                    genid_text(n.generation_id),
                );
                self.neighbors.insert(src, n);
                out.push(event(events::NEIGHBOR_UP, detail));
                // 4.3.1: a Hello to the new neighbour within Triggered_Hello_Delay.
                self.trigger_hello(now, rng);
            }
        }
        self.elect_dr(out);
    }

    /// `InterfaceChange::Up` while running: a new primary address restarts PIM on the
    /// interface (a new GenID, the Hello Timer set to rand(0, Triggered_Hello_Delay), 4.3.1);
    /// neighbours no longer on the subnet are forgotten, and the DR is elected again.
    fn relink(&mut self, now: Instant, link: Link, rng: &mut Rng, out: &mut Vec<Action>) {
        let addr_changed = link.addr != self.link.addr;
        self.link = link;
        if addr_changed {
            self.generation_id = rng.generation_id(Some(self.generation_id));
            self.hello_timer = now + rng.delay(self.cfg.triggered_hello_delay);
            self.triggered_hello = None;
        }
        let gone: Vec<Ipv4Addr> = self
            .neighbors
            .keys()
            .copied()
            .filter(|&a| a == self.link.addr || !self.link.on_subnet(a))
            .collect();
        for addr in gone {
            self.neighbors.remove(&addr);
            out.push(self.neighbor_down(addr, down_reasons::ADDRESS_CHANGED));
        }
        self.elect_dr(out);
    }

    /// A new configuration while running. Changed Hello options (Holdtime, DR Priority, LAN
    /// Prune Delay) are announced with a triggered Hello; a new DR Priority may change the
    /// DR (4.3.2: "when a router's own DR Priority changes"). A shorter Hello_Period applies
    /// at once to a Hello Timer that would run longer than it.
    fn reconfigure(
        &mut self,
        now: Instant,
        cfg: InterfaceConfig,
        rng: &mut Rng,
        out: &mut Vec<Action>,
    ) {
        let old = std::mem::replace(&mut self.cfg, cfg);
        let new = &self.cfg;
        let options_changed = holdtime_of(&old) != holdtime_of(new)
            || old.dr_priority != new.dr_priority
            || old.disable_join_suppression != new.disable_join_suppression
            || clamp_ms(old.propagation_delay, 0x7fff) != clamp_ms(new.propagation_delay, 0x7fff)
            || clamp_ms(old.override_interval, 0xffff) != clamp_ms(new.override_interval, 0xffff);
        let period = new.hello_period.max(Duration::from_millis(1));
        if self.hello_timer > now + period {
            self.hello_timer = now + period;
        }
        if old.dr_priority != self.cfg.dr_priority {
            self.elect_dr(out);
        }
        if options_changed {
            self.trigger_hello(now, rng);
        }
    }

    /// PIM stops here: every neighbour is forgotten.
    fn stop(self, reason: &str, out: &mut Vec<Action>) {
        for addr in self.neighbors.keys() {
            out.push(self.neighbor_down(*addr, reason));
        }
    }
}

/// The Holdtime we advertise, in whole seconds rounded up (the default 3.5 x Hello_Period
/// is fractional for odd periods, and rounding down could let neighbours time us out
/// between two Hellos); 0xffff means "never time out".
fn holdtime_of(cfg: &InterfaceConfig) -> u16 {
    let secs = cfg.hello_holdtime.as_secs() + u64::from(cfg.hello_holdtime.subsec_nanos() > 0);
    u16::try_from(secs).unwrap_or(HOLDTIME_INFINITE)
}

fn genid_text(g: Option<u32>) -> String {
    g.map_or_else(|| "none".to_string(), |g| format!("{g:#010x}"))
}

fn holdtime_text(h: u16) -> String {
    if h == HOLDTIME_INFINITE {
        "infinite".to_string()
    } else {
        format!("{h} s")
    }
}

fn clamp_ms(d: Duration, max: u16) -> u16 {
    u16::try_from(d.as_millis()).unwrap_or(max).min(max)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn event(what: &str, detail: String) -> Action {
    Action::Event(Event {
        what: what.to_string(),
        detail,
    })
}

fn neighbor_snapshot(now: Instant, n: &Neighbor) -> NeighborSnapshot {
    NeighborSnapshot {
        address: n.address,
        generation_id: n.generation_id,
        dr_priority: n.dr_priority,
        holdtime_s: n.holdtime,
        expires_ms: n.nlt.map(|t| millis(now.until(t))),
        uptime_ms: millis(now.saturating_duration_since(n.since)),
        lan_prune_delay: n.lan_prune_delay.is_some(),
        propagation_delay_ms: n.lan_prune_delay.map(|l| millis(l.propagation_delay)),
        override_interval_ms: n.lan_prune_delay.map(|l| millis(l.override_interval)),
        t_bit: n.lan_prune_delay.map(|l| l.tracking_support),
        secondary_addresses: n.secondary.clone(),
    }
}
