//! IGMP on one interface: acceptance of messages (RFC 3376 / RFC 9776 sections 4.2.13 and 9,
//! plus configuration), querier election and General Queries (6.6.2, 7.3.1, 8), adoption of
//! the querier's QRV and QQI (4.1.6, 4.1.7), the timer lowering on received specific queries
//! (6.6.1), dispatch of reports to the group state (6.4, 7.3.2) and the output of
//! Membership changes (6.3).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use common::route::is_link_local_group;
use common::{Action, Event, FilterMode, IfIndex, Instant, Membership, RxPacket};

use crate::compat::{self, CompatMode, OldMeaning};
use crate::config::{Config, InterfaceConfig, Version};
use crate::events;
use crate::group::{self, Ctx, Filter, Group, Record, Set};
use crate::packet::{self, GroupRecord, Message, Query, RecordType};
use crate::query::SpecificQuery;
use crate::reasons;
use crate::snapshot::{GroupSnapshot, InterfaceSnapshot, SourceSnapshot};
use crate::timers::Vars;

/// 224.0.0.1, the destination of General Queries (4.1.12).
pub(crate) const ALL_SYSTEMS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);

/// The MTU source lists of Group-and-Source-Specific Queries are split for (4.1.8). The
/// shell does not report interface MTUs; 1500 is the Ethernet MTU and what every IGMP
/// interface in practice has at least.
pub(crate) const QUERY_MTU: usize = 1500;

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

/// The querier role of the interface (section 6.6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Querier: sends a General Query when the General Query timer expires.
    Querier { general_query_timer: Instant },
    /// Non-Querier: a router with a lower address is querier, and this router takes over
    /// when the Other Querier Present timer expires (if configured as a querier at all).
    NonQuerier {
        querier: Option<Ipv4Addr>,
        other_querier_present_timer: Option<Instant>,
    },
}

/// One interface: configuration, link state, counters, and the protocol state while IGMP
/// runs there (configured and up).
#[derive(Debug)]
pub(crate) struct Interface {
    pub ifindex: IfIndex,
    pub cfg: Option<InterfaceConfig>,
    pub link: Option<Link>,
    pub counters: Counters,
    pub run: Option<Running>,
}

/// The protocol state of an interface where IGMP runs.
#[derive(Debug)]
pub(crate) struct Running {
    ifindex: IfIndex,
    cfg: InterfaceConfig,
    link: Link,
    role: Role,
    /// Startup queries still to be sent (8.6, 8.7).
    startup_queries_left: u8,
    /// Robustness Variable in use (8.1; QRV adopted as Non-Querier, 4.1.6).
    robustness: u8,
    /// Query Interval in use (8.2; QQI adopted as Non-Querier, 4.1.7).
    query_interval: Duration,
    groups: BTreeMap<Ipv4Addr, Group>,
    last_version_warning: Option<Instant>,
    group_limit_reported: bool,
    source_limit_reported: bool,
}

impl Interface {
    pub fn new(ifindex: IfIndex) -> Self {
        Interface {
            ifindex,
            cfg: None,
            link: None,
            counters: Counters::default(),
            run: None,
        }
    }

    /// Neither configured nor known to be up: nothing to keep but counters.
    pub fn is_idle(&self) -> bool {
        self.cfg.is_none() && self.link.is_none()
    }

    /// Start or stop IGMP so that it runs exactly when configured and up.
    fn reconcile(&mut self, now: Instant, out: &mut Vec<Action>) {
        match (&self.cfg, &self.link, &mut self.run) {
            (Some(cfg), Some(link), None) => {
                self.run = Some(Running::start(
                    now,
                    self.ifindex,
                    cfg.clone(),
                    link.clone(),
                    out,
                ));
            }
            (None, _, Some(_)) | (_, None, Some(_)) => {
                if let Some(run) = self.run.take() {
                    run.stop(out);
                }
            }
            _ => {}
        }
    }

    /// Enable IGMP here or replace the configuration (group state is kept).
    pub fn configure(&mut self, now: Instant, cfg: InterfaceConfig, out: &mut Vec<Action>) {
        self.cfg = Some(cfg.clone());
        match &mut self.run {
            Some(run) => run.reconfigure(now, cfg, out),
            None => self.reconcile(now, out),
        }
    }

    /// Disable IGMP here: forget the protocol state and the configuration.
    pub fn unconfigure(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.cfg = None;
        self.reconcile(now, out);
    }

    /// `InterfaceChange::Up`: operational with this primary address.
    pub fn up(&mut self, now: Instant, link: Link, out: &mut Vec<Action>) {
        self.link = Some(link.clone());
        match &mut self.run {
            Some(run) => run.relink(now, link, out),
            None => self.reconcile(now, out),
        }
    }

    /// `InterfaceChange::Down`: stop, keep the configuration.
    pub fn down(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.link = None;
        self.reconcile(now, out);
    }

    pub fn handle_packet(
        &mut self,
        now: Instant,
        pkt: &RxPacket<'_>,
        global: &Config,
        out: &mut Vec<Action>,
    ) {
        if let Some(run) = &mut self.run {
            run.handle_packet(now, pkt, global, &mut self.counters, out);
        }
    }

    pub fn poll_at(&self) -> Option<Instant> {
        self.run.as_ref().and_then(Running::poll_at)
    }

    pub fn on_timeout(&mut self, now: Instant, out: &mut Vec<Action>) {
        if let Some(run) = &mut self.run {
            run.on_timeout(now, out);
        }
    }

    pub fn membership(&self, group: Ipv4Addr) -> Option<Membership> {
        let g = self.run.as_ref()?.groups.get(&group)?;
        g.emitted
            .as_ref()
            .map(|f| membership(self.ifindex, group, Some(f)))
    }

    /// IGMP runs here and this router is the Querier (6.6).
    pub fn is_querier(&self) -> bool {
        self.run
            .as_ref()
            .is_some_and(|r| matches!(r.role, Role::Querier { .. }))
    }

    pub fn snapshot(&self, now: Instant) -> InterfaceSnapshot {
        let ms = |t: Option<Instant>| t.map_or(0, |t| millis(now.until(t)));
        let mut snap = InterfaceSnapshot {
            ifindex: self.ifindex,
            name: self.link.as_ref().map(|l| l.name.clone()),
            address: self.link.as_ref().map(|l| l.addr),
            prefix_len: self.link.as_ref().map(|l| l.prefix_len),
            configured: self.cfg.is_some(),
            up: self.link.is_some(),
            active: self.run.is_some(),
            version: self.cfg.as_ref().map(|c| c.version as u8),
            querier: false,
            querier_address: None,
            other_querier_present_ms: 0,
            general_query_ms: 0,
            startup_queries_left: 0,
            robustness: self.cfg.as_ref().map_or(0, |c| c.robustness),
            query_interval_ms: self.cfg.as_ref().map_or(0, |c| millis(c.query_interval)),
            received: self
                .counters
                .received
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            dropped: self
                .counters
                .dropped
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            groups: Vec::new(),
        };
        let Some(run) = &self.run else {
            return snap;
        };
        match run.role {
            Role::Querier {
                general_query_timer,
            } => {
                snap.querier = true;
                snap.querier_address = Some(run.link.addr);
                snap.general_query_ms = ms(Some(general_query_timer));
            }
            Role::NonQuerier {
                querier,
                other_querier_present_timer,
            } => {
                snap.querier_address = querier;
                snap.other_querier_present_ms = ms(other_querier_present_timer);
            }
        }
        snap.startup_queries_left = run.startup_queries_left;
        snap.robustness = run.robustness;
        snap.query_interval_ms = millis(run.query_interval);
        for (addr, g) in &run.groups {
            let fwd = g.forwarding();
            snap.groups.push(GroupSnapshot {
                group: *addr,
                filter_mode: g.mode,
                compat_mode: run.compat_mode(g).number(),
                group_timer_ms: ms(g.timer),
                v1_host_present_ms: ms(g.host_present.v1),
                v2_host_present_ms: ms(g.host_present.v2),
                group_query_retransmissions: g.retransmit.group_queries_left,
                retransmissions_pending: g.retransmissions_pending(),
                is_static: g.static_filter.is_some(),
                sources: g
                    .sources
                    .iter()
                    .map(|(s, src)| SourceSnapshot {
                        source: *s,
                        timer_ms: ms(src.timer),
                        retransmissions: src.retransmissions,
                    })
                    .collect(),
                forwarding_mode: fwd.as_ref().map_or(FilterMode::Include, |f| f.mode),
                forwarding_sources: fwd
                    .map(|f| f.sources.into_iter().collect())
                    .unwrap_or_default(),
            });
        }
        snap
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The Membership output for a forwarding state (`None`: INCLUDE {}, no interest).
fn membership(ifindex: IfIndex, group: Ipv4Addr, f: Option<&Filter>) -> Membership {
    Membership {
        ifindex,
        group,
        mode: f.map_or(FilterMode::Include, |f| f.mode),
        sources: f
            .map(|f| f.sources.iter().copied().collect())
            .unwrap_or_default(),
    }
}

fn event(what: &str, detail: String) -> Action {
    Action::Event(Event {
        what: what.to_string(),
        detail,
    })
}

/// The static groups of a configuration, merged per group (section 3.2 rules), skipping
/// addresses that can never be members (not multicast, or 224.0.0.0/24).
fn static_filters(cfg: &InterfaceConfig) -> BTreeMap<Ipv4Addr, Filter> {
    let mut per_group: BTreeMap<Ipv4Addr, Vec<Filter>> = BTreeMap::new();
    for sg in &cfg.static_groups {
        if !sg.group.is_multicast() || is_link_local_group(sg.group) {
            continue;
        }
        let sources: Set = sg.sources.iter().copied().collect();
        // `exclude = false` with no sources means "any source": EXCLUDE {}.
        let f = if sg.exclude || sources.is_empty() {
            Filter::exclude(sources)
        } else {
            Filter::include(sources)
        };
        per_group.entry(sg.group).or_default().push(f);
    }
    per_group
        .into_iter()
        .filter_map(|(g, fs)| group::merge(&fs).map(|f| (g, f)))
        .collect()
}

/// Group Record type to the state-machine record; `None` for unknown types (4.2.12:
/// ignored).
fn record_of(kind: RecordType) -> Option<Record> {
    Some(match kind {
        RecordType::IsIn => Record::IsIn,
        RecordType::IsEx => Record::IsEx,
        RecordType::ToIn => Record::ToIn,
        RecordType::ToEx => Record::ToEx,
        RecordType::Allow => Record::Allow,
        RecordType::Block => Record::Block,
        RecordType::Unknown(_) => return None,
    })
}

/// True if applying `record` to a group without host state creates host state.
fn creates_state(record: Record, sources: &Set) -> bool {
    match record {
        Record::IsEx | Record::ToEx => true,
        Record::IsIn | Record::Allow | Record::ToIn => !sources.is_empty(),
        Record::Block => false,
    }
}

/// Which older-version report arrived (7.3.2 Host Present timers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OlderReport {
    V1,
    V2,
    /// An IGMPv3 record that an interface configured for IGMPv1/v2 takes as a report.
    V3AsJoin,
}

impl Running {
    fn start(
        now: Instant,
        ifindex: IfIndex,
        cfg: InterfaceConfig,
        link: Link,
        out: &mut Vec<Action>,
    ) -> Self {
        let mut run = Running {
            ifindex,
            robustness: cfg.robustness,
            query_interval: cfg.query_interval,
            cfg,
            link,
            role: Role::NonQuerier {
                querier: None,
                other_querier_present_timer: None,
            },
            startup_queries_left: 0,
            groups: BTreeMap::new(),
            last_version_warning: None,
            group_limit_reported: false,
            source_limit_reported: false,
        };
        run.apply_static(out);
        if run.cfg.querier {
            // 6.6.2: "when a router starts, it assumes it is the querier"; it sends
            // [Startup Query Count] General Queries [Startup Query Interval] apart (8.6, 8.7).
            run.become_querier(now, true, "started", out);
        }
        run
    }

    /// Stop: every group with forwarding state gets INCLUDE {}.
    fn stop(self, out: &mut Vec<Action>) {
        for (g, group) in &self.groups {
            if group.emitted.is_some() {
                out.push(Action::Membership(membership(self.ifindex, *g, None)));
            }
        }
    }

    fn reconfigure(&mut self, now: Instant, cfg: InterfaceConfig, out: &mut Vec<Action>) {
        let old = std::mem::replace(&mut self.cfg, cfg);
        self.group_limit_reported = false;
        self.source_limit_reported = false;
        match self.role {
            Role::Querier { .. } if !self.cfg.querier => {
                self.role = Role::NonQuerier {
                    querier: None,
                    other_querier_present_timer: None,
                };
                self.startup_queries_left = 0;
                self.stop_specific_queries();
                out.push(event(
                    events::NON_QUERIER,
                    format!(
                        "{}: {} stops querying (querier disabled by configuration)",
                        self.ifindex, self.link.addr
                    ),
                ));
            }
            Role::Querier { .. } => {
                self.robustness = self.cfg.robustness;
                self.query_interval = self.cfg.query_interval;
            }
            Role::NonQuerier { querier: None, .. } if self.cfg.querier && !old.querier => {
                self.become_querier(now, true, "enabled by configuration", out);
            }
            Role::NonQuerier { querier: None, .. } => {
                self.robustness = self.cfg.robustness;
                self.query_interval = self.cfg.query_interval;
            }
            Role::NonQuerier { .. } => {}
        }
        self.apply_static(out);
    }

    /// `Up` again while running: the address may have changed.
    fn relink(&mut self, now: Instant, link: Link, out: &mut Vec<Action>) {
        let old = std::mem::replace(&mut self.link, link);
        if old.addr == self.link.addr {
            return;
        }
        // 6.6.2 with the new address: a current querier with a higher address loses.
        let outranked = match self.role {
            Role::NonQuerier {
                querier: Some(q), ..
            } => self.link.addr < q,
            _ => false,
        };
        if outranked && self.cfg.querier {
            self.become_querier(now, false, "address now lower than the querier's", out);
        }
    }

    /// Apply the configured static groups to the group table.
    fn apply_static(&mut self, out: &mut Vec<Action>) {
        let mut statics = static_filters(&self.cfg);
        let existing: Vec<Ipv4Addr> = self.groups.keys().copied().collect();
        for g in existing {
            if let Some(group) = self.groups.get_mut(&g) {
                group.static_filter = statics.remove(&g);
            }
            self.finish_group(g, out);
        }
        for (g, f) in statics {
            let mut group = Group::new(g);
            group.static_filter = Some(f);
            self.groups.insert(g, group);
            self.finish_group(g, out);
        }
    }

    fn vars(&self) -> Vars {
        Vars::new(&self.cfg, self.robustness, self.query_interval)
    }

    fn is_querier(&self) -> bool {
        matches!(self.role, Role::Querier { .. })
    }

    fn ctx(&self, now: Instant) -> Ctx {
        let v = self.vars();
        let q = self.is_querier();
        Ctx {
            now,
            gmi: v.group_membership_interval(),
            lmqt: v.last_member_query_time(),
            lmqi: v.last_member_query_interval,
            lmqc: v.last_member_query_count,
            send_group_queries: q && self.cfg.version >= Version::V2,
            send_source_queries: q && self.cfg.version == Version::V3,
            report_stops_retransmissions: self.cfg.version == Version::V2,
            immediate_leave: self.cfg.immediate_leave,
            max_sources: self.cfg.max_sources,
        }
    }

    /// Group Compatibility Mode (7.3.2), capped by the configured version (7.3.1).
    fn compat_mode(&self, g: &Group) -> CompatMode {
        CompatMode::of_version(self.cfg.version).min(g.host_present.mode())
    }

    /// Become the Querier (6.6.2) and send a General Query now; with `startup`, the first of
    /// [Startup Query Count] (8.7).
    fn become_querier(&mut self, now: Instant, startup: bool, why: &str, out: &mut Vec<Action>) {
        self.robustness = self.cfg.robustness;
        self.query_interval = self.cfg.query_interval;
        self.startup_queries_left = if startup {
            self.cfg.startup_query_count.max(1)
        } else {
            0
        };
        self.role = Role::Querier {
            general_query_timer: now,
        };
        out.push(event(
            events::QUERIER,
            format!("{}: {} is querier ({why})", self.ifindex, self.link.addr),
        ));
        self.general_query_timer_expired(now, out);
    }

    /// The General Query timer expired: send a General Query of the configured version
    /// (7.3.1) and restart the timer with [Startup Query Interval] while startup queries
    /// remain, else [Query Interval] (8.2, 8.6).
    fn general_query_timer_expired(&mut self, at: Instant, out: &mut Vec<Action>) {
        let v = self.vars();
        let query = match self.cfg.version {
            Version::V1 => Query::general_v1(),
            Version::V2 => Query::general_v2(v.query_response_interval),
            Version::V3 => {
                Query::general_v3(v.query_response_interval, v.robustness, v.query_interval)
            }
        };
        self.send(ALL_SYSTEMS, Message::Query(query), out);
        self.startup_queries_left = self.startup_queries_left.saturating_sub(1);
        let interval = if self.startup_queries_left > 0 {
            v.startup_query_interval
        } else {
            v.query_interval
        };
        self.role = Role::Querier {
            general_query_timer: at + interval,
        };
    }

    fn send(&self, dst: Ipv4Addr, msg: Message, out: &mut Vec<Action>) {
        out.push(Action::Send {
            ifindex: self.ifindex,
            dst,
            ttl: 1,
            router_alert: true,
            payload: packet::emit(&msg),
        });
    }

    /// Encode specific queries for the configured version (6.6.3; IGMPv2 has Group-Specific
    /// Queries only, IGMPv1 none) and send them to the group address (4.1.12).
    fn send_specific(&self, queries: Vec<SpecificQuery>, out: &mut Vec<Action>) {
        let v = self.vars();
        let lmqi = v.last_member_query_interval;
        for q in queries {
            match (self.cfg.version, q) {
                (Version::V3, SpecificQuery::Group { group, suppress }) => {
                    let q = Query::group_specific_v3(
                        group,
                        lmqi,
                        suppress,
                        v.robustness,
                        v.query_interval,
                    );
                    self.send(group, Message::Query(q), out);
                }
                (
                    Version::V3,
                    SpecificQuery::GroupAndSource {
                        group,
                        sources,
                        suppress,
                    },
                ) => {
                    for chunk in packet::split_sources(&sources, QUERY_MTU) {
                        let q = Query::group_and_source_specific_v3(
                            group,
                            chunk.to_vec(),
                            lmqi,
                            suppress,
                            v.robustness,
                            v.query_interval,
                        );
                        self.send(group, Message::Query(q), out);
                    }
                }
                (Version::V2, SpecificQuery::Group { group, .. }) => {
                    let q = Query::group_specific_v2(group, lmqi);
                    self.send(group, Message::Query(q), out);
                }
                _ => {}
            }
        }
    }

    /// Stop every pending group-specific and group-and-source-specific query.
    fn stop_specific_queries(&mut self) {
        for g in self.groups.values_mut() {
            g.stop_queries();
        }
    }

    /// After a change of group `g`: output its Membership if the forwarding state changed
    /// (never the same twice), and delete the group record if nothing is left.
    fn finish_group(&mut self, g: Ipv4Addr, out: &mut Vec<Action>) {
        let Some(group) = self.groups.get_mut(&g) else {
            return;
        };
        let fwd = group.forwarding();
        if fwd != group.emitted {
            out.push(Action::Membership(membership(
                self.ifindex,
                g,
                fwd.as_ref(),
            )));
            group.emitted = fwd;
        }
        if !group.has_dynamic_state() && group.static_filter.is_none() {
            self.groups.remove(&g);
        }
    }

    fn dynamic_groups(&self) -> usize {
        self.groups
            .values()
            .filter(|g| g.has_dynamic_state())
            .count()
    }

    /// `max_groups`: true if host state for one more group would exceed the limit (and
    /// count/report it).
    fn group_limit_hit(
        &mut self,
        g: Ipv4Addr,
        counters: &mut Counters,
        out: &mut Vec<Action>,
    ) -> bool {
        if self.cfg.max_groups == 0
            || self.groups.get(&g).is_some_and(Group::has_dynamic_state)
            || self.dynamic_groups() < self.cfg.max_groups
        {
            return false;
        }
        counters.dropped(reasons::GROUP_LIMIT);
        if !self.group_limit_reported {
            self.group_limit_reported = true;
            out.push(event(
                events::GROUP_LIMIT,
                format!(
                    "{}: limit of {} groups reached, reports for {g} and other new groups are ignored",
                    self.ifindex, self.cfg.max_groups
                ),
            ));
        }
        true
    }

    fn source_limit_hit(
        &mut self,
        g: Ipv4Addr,
        refused: usize,
        counters: &mut Counters,
        out: &mut Vec<Action>,
    ) {
        if refused == 0 {
            return;
        }
        counters.dropped(reasons::SOURCE_LIMIT);
        if !self.source_limit_reported {
            self.source_limit_reported = true;
            out.push(event(
                events::SOURCE_LIMIT,
                format!(
                    "{}: limit of {} sources per group reached in {g}, {refused} source(s) ignored",
                    self.ifindex, self.cfg.max_sources
                ),
            ));
        }
    }

    fn compat_event(&self, g: Ipv4Addr, before: CompatMode, after: CompatMode) -> Option<Action> {
        (before != after).then(|| {
            event(
                events::COMPAT_MODE,
                format!(
                    "{}: group {g} compatibility mode IGMPv{} -> IGMPv{}",
                    self.ifindex,
                    before.number(),
                    after.number()
                ),
            )
        })
    }

    // ---------------------------------------------------------------------------------
    // Received messages

    fn handle_packet(
        &mut self,
        now: Instant,
        pkt: &RxPacket<'_>,
        global: &Config,
        counters: &mut Counters,
        out: &mut Vec<Action>,
    ) {
        // Section 4 / 9: IGMP messages are sent with IP TTL 1.
        if pkt.ttl != 1 {
            return counters.dropped(reasons::BAD_TTL);
        }
        if self.cfg.require_router_alert && !pkt.router_alert {
            return counters.dropped(reasons::NO_ROUTER_ALERT);
        }
        if pkt.src == self.link.addr {
            return counters.dropped(reasons::OWN_PACKET);
        }
        let msg = match packet::parse(pkt.payload) {
            Ok(m) => m,
            Err(e) => return counters.dropped(e.kind()),
        };
        // 4.2.13: "Routers MUST accept a report with a source address of 0.0.0.0"; other
        // sources must be on the attached subnet (section 9). Queries come from a router's
        // address, never from 0.0.0.0 (which would also win every election).
        let unspecified = pkt.src.is_unspecified();
        let acceptable = match msg {
            Message::Query(_) => !unspecified && self.link.on_subnet(pkt.src),
            _ => unspecified || self.link.on_subnet(pkt.src),
        };
        if !acceptable {
            return counters.dropped(reasons::SOURCE_NOT_ON_SUBNET);
        }
        match msg {
            Message::Query(q) => {
                counters.received(match q.version() {
                    1 => "query_v1",
                    2 => "query_v2",
                    _ => "query_v3",
                });
                self.on_query(now, pkt.src, &q, out);
            }
            Message::V1Report { group } => {
                counters.received("report_v1");
                self.on_older_report(now, group, OlderReport::V1, global, counters, out);
            }
            Message::V2Report { group } => {
                counters.received("report_v2");
                self.on_older_report(now, group, OlderReport::V2, global, counters, out);
            }
            Message::V2Leave { group } => {
                counters.received("leave_v2");
                self.on_leave(now, group, global, counters, out);
            }
            Message::V3Report(report) => {
                counters.received("report_v3");
                for rec in &report.records {
                    self.on_group_record(now, rec, global, counters, out);
                }
            }
        }
    }

    /// A group address that can carry membership: multicast, not 224.0.0.0/24.
    fn routable_group(g: Ipv4Addr, counters: &mut Counters) -> bool {
        if !g.is_multicast() {
            counters.dropped(reasons::NOT_MULTICAST);
            false
        } else if is_link_local_group(g) {
            counters.dropped(reasons::LINK_LOCAL_GROUP);
            false
        } else {
            true
        }
    }

    /// A Membership Query (sections 6.6.1, 6.6.2, 7.3.1, 4.1.6, 4.1.7).
    fn on_query(&mut self, now: Instant, src: Ipv4Addr, q: &Query, out: &mut Vec<Action>) {
        // 7.3.1: a querier of another version on the link must be fixed by configuration;
        // log it (rate-limited to once per Query Interval), and still take part in the
        // election.
        let configured = self.cfg.version as u8;
        if q.version() != configured
            && self
                .last_version_warning
                .is_none_or(|t| now.saturating_duration_since(t) >= self.query_interval)
        {
            self.last_version_warning = Some(now);
            out.push(event(
                events::VERSION_MISMATCH,
                format!(
                    "{}: IGMPv{} query from {src} on an interface configured for IGMPv{configured}; \
                     every router on the link must be configured for the lowest version (RFC 3376 7.3.1)",
                    self.ifindex,
                    q.version()
                ),
            ));
        }

        // 6.6.2 Querier Election: "When a router receives a query with a lower IP address,
        // it sets the Other-Querier-Present timer to Other Querier Present Interval and
        // ceases to send queries on the network if it was the previously elected querier."
        if src < self.link.addr {
            // 4.1.6 / 4.1.7: a Non-Querier adopts the querier's QRV and QQI (unless 0).
            if let Some(v3) = &q.v3 {
                if v3.qrv != 0 {
                    self.robustness = v3.qrv;
                }
                let qqi = v3.qqi();
                if !qqi.is_zero() {
                    self.query_interval = qqi;
                }
            }
            let was_querier = self.is_querier();
            let oqpi = self.vars().other_querier_present_interval();
            self.role = Role::NonQuerier {
                querier: Some(src),
                other_querier_present_timer: Some(now + oqpi),
            };
            self.startup_queries_left = 0;
            if was_querier {
                self.stop_specific_queries();
                out.push(event(
                    events::NON_QUERIER,
                    format!(
                        "{}: {src} is querier ({} has a higher address)",
                        self.ifindex, self.link.addr
                    ),
                ));
            }
        }

        // 6.6.1 Timer Updates: a Group-Specific or Group-and-Source-Specific Query with the
        // S flag clear (IGMPv2 ones have no S flag) lowers the timers to LMQT. LMQT is taken
        // from the query: its Max Resp Time (the sender's LMQI) times our Last Member Query
        // Count, the rule of RFC 2236 section 3 for non-queriers.
        let suppress = q.v3.as_ref().is_some_and(|v| v.suppress);
        if q.is_general() || suppress {
            return;
        }
        let g = q.group;
        if let Some(group) = self.groups.get_mut(&g) {
            let lmqt = q.max_resp_time() * u32::from(self.cfg.last_member_query_count.max(1));
            let deadline = now + lmqt;
            if q.sources().is_empty() {
                group.lower_group_timer(deadline);
            } else {
                let set: Set = q.sources().iter().copied().collect();
                group.lower_source_timers(&set, deadline);
            }
            self.finish_group(g, out);
        }
    }

    /// One Group Record of an IGMPv3 report.
    fn on_group_record(
        &mut self,
        now: Instant,
        rec: &GroupRecord,
        global: &Config,
        counters: &mut Counters,
        out: &mut Vec<Action>,
    ) {
        let Some(record) = record_of(rec.kind) else {
            // 4.2.12: unrecognized Record Type values MUST be silently ignored.
            return counters.dropped(reasons::UNKNOWN_RECORD_TYPE);
        };
        let g = rec.group;
        if !Self::routable_group(g, counters) {
            return;
        }
        let sources: Set = rec.sources.iter().copied().collect();
        let ssm = global.is_ssm(g);
        if self.cfg.version != Version::V3 {
            // 7.3.1: an IGMPv1/v2 interface keeps no source state; see `old_meaning`.
            // SSM needs IGMPv3 (RFC 4604 section 3.5): nothing can be done for SSM groups.
            match compat::old_meaning(record, sources.is_empty()) {
                OldMeaning::Nothing => counters.dropped(reasons::COMPAT_IGNORED),
                _ if ssm => counters.dropped(reasons::SSM_IGNORED),
                OldMeaning::Join => {
                    self.on_older_report(now, g, OlderReport::V3AsJoin, global, counters, out)
                }
                OldMeaning::Leave => self.on_leave(now, g, global, counters, out),
            }
            return;
        }
        // RFC 4604 section 3.1: "A router SHOULD ignore a group record of either of the
        // following types if it refers to an SSM destination address: MODE_IS_EXCLUDE,
        // CHANGE_TO_EXCLUDE_MODE".
        if ssm && matches!(record, Record::IsEx | Record::ToEx) {
            return counters.dropped(reasons::SSM_IGNORED);
        }
        // 7.3.2: translate for the Group Compatibility Mode.
        let mode = self
            .groups
            .get(&g)
            .map_or(CompatMode::V3, |group| self.compat_mode(group));
        let Some((record, sources)) = compat::translate(mode, record, sources) else {
            return counters.dropped(reasons::COMPAT_IGNORED);
        };
        if creates_state(record, &sources) && self.group_limit_hit(g, counters, out) {
            return;
        }
        self.apply(now, g, record, &sources, counters, out);
    }

    /// Apply a record to group `g` (created if needed), send the queries it triggered and
    /// output the Membership change.
    fn apply(
        &mut self,
        now: Instant,
        g: Ipv4Addr,
        record: Record,
        sources: &Set,
        counters: &mut Counters,
        out: &mut Vec<Action>,
    ) {
        let ctx = self.ctx(now);
        let group = self.groups.entry(g).or_insert_with(|| Group::new(g));
        let fx = group.apply(&ctx, record, sources);
        let queries = group.take_due_queries(&ctx);
        self.source_limit_hit(g, fx.sources_refused, counters, out);
        self.send_specific(queries, out);
        self.finish_group(g, out);
    }

    /// An IGMPv1 or IGMPv2 Report (or an IGMPv3 record that an IGMPv1/v2 interface takes
    /// as one): IS_EX( {} ) (7.3.2), after setting the Host Present timer.
    fn on_older_report(
        &mut self,
        now: Instant,
        g: Ipv4Addr,
        kind: OlderReport,
        global: &Config,
        counters: &mut Counters,
        out: &mut Vec<Action>,
    ) {
        if !Self::routable_group(g, counters) {
            return;
        }
        // RFC 4604 section 3.5: IGMPv1/v2 reports for SSM addresses are ignored (and must
        // not switch the group to an older compatibility mode).
        if global.is_ssm(g) {
            return counters.dropped(reasons::SSM_IGNORED);
        }
        if self.group_limit_hit(g, counters, out) {
            return;
        }
        let ohpi = self.vars().older_host_present_interval();
        let cap = CompatMode::of_version(self.cfg.version);
        let group = self.groups.entry(g).or_insert_with(|| Group::new(g));
        let before = cap.min(group.host_present.mode());
        match kind {
            OlderReport::V1 => group.host_present.v1 = Some(now + ohpi),
            OlderReport::V2 => group.host_present.v2 = Some(now + ohpi),
            OlderReport::V3AsJoin => {}
        }
        let after = cap.min(group.host_present.mode());
        out.extend(self.compat_event(g, before, after));
        self.apply(now, g, Record::IsEx, &Set::new(), counters, out);
    }

    /// An IGMPv2 Leave (or TO_IN( {} ) on an IGMPv1/v2 interface): TO_IN( {} ) (7.3.2),
    /// ignored in IGMPv1 mode.
    fn on_leave(
        &mut self,
        now: Instant,
        g: Ipv4Addr,
        global: &Config,
        counters: &mut Counters,
        out: &mut Vec<Action>,
    ) {
        if !Self::routable_group(g, counters) {
            return;
        }
        // RFC 4604 section 3.7: IGMPv2 Leaves for SSM addresses are ignored.
        if global.is_ssm(g) {
            return counters.dropped(reasons::SSM_IGNORED);
        }
        let Some(group) = self.groups.get(&g) else {
            return;
        };
        if self.compat_mode(group) == CompatMode::V1 {
            return counters.dropped(reasons::COMPAT_IGNORED);
        }
        self.apply(now, g, Record::ToIn, &Set::new(), counters, out);
    }

    // ---------------------------------------------------------------------------------
    // Timers

    fn poll_at(&self) -> Option<Instant> {
        let mut d = match self.role {
            Role::Querier {
                general_query_timer,
            } => Some(general_query_timer),
            Role::NonQuerier {
                other_querier_present_timer,
                ..
            } => other_querier_present_timer,
        };
        for g in self.groups.values() {
            d = common::time::earliest(d, g.deadline());
        }
        d
    }

    /// Run every timer due at or before `now`. The caller calls this once per distinct
    /// deadline, in order, so `now` is the deadline being processed.
    fn on_timeout(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.role {
            Role::Querier {
                general_query_timer,
            } if general_query_timer <= now => {
                self.general_query_timer_expired(general_query_timer, out);
            }
            // 6.6.2: "After its Other-Querier Present timer expires, it should begin
            // sending General Queries."
            Role::NonQuerier {
                querier,
                other_querier_present_timer: Some(t),
            } if t <= now => {
                let gone = querier.map_or_else(|| "none".to_string(), |q| q.to_string());
                if self.cfg.querier {
                    self.become_querier(t, false, &format!("other querier {gone} timed out"), out);
                } else {
                    self.role = Role::NonQuerier {
                        querier: None,
                        other_querier_present_timer: None,
                    };
                    self.robustness = self.cfg.robustness;
                    self.query_interval = self.cfg.query_interval;
                    out.push(event(
                        events::NO_QUERIER,
                        format!(
                            "{}: querier {gone} timed out; this router is configured not to query",
                            self.ifindex
                        ),
                    ));
                }
            }
            _ => {}
        }
        let due: Vec<Ipv4Addr> = self
            .groups
            .iter()
            .filter(|(_, g)| g.deadline().is_some_and(|d| d <= now))
            .map(|(a, _)| *a)
            .collect();
        let ctx = self.ctx(now);
        for g in due {
            let Some(group) = self.groups.get_mut(&g) else {
                continue;
            };
            let before = CompatMode::of_version(self.cfg.version).min(group.host_present.mode());
            group.expire(now);
            let queries = group.take_due_queries(&ctx);
            let after = CompatMode::of_version(self.cfg.version).min(group.host_present.mode());
            let alive = group.has_dynamic_state();
            if alive {
                out.extend(self.compat_event(g, before, after));
            }
            self.send_specific(queries, out);
            self.finish_group(g, out);
        }
    }
}
