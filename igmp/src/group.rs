//! Group and source state of one group on one interface (RFC 3376 / RFC 9776 sections
//! 6.2 to 6.5): the router filter-mode, the group timer, the source records with their
//! timers, the tables of section 6.4 and the timer expiry rules of section 6.5, and the
//! forwarding suggestion of section 6.3 merged with static configuration.
//!
//! Notation of section 6.4: in INCLUDE mode the router state is `INCLUDE (A)`, A being the
//! sources (all with running timers). In EXCLUDE mode it is `EXCLUDE (X,Y)`: X, the
//! "Requested List", holds the sources whose timers run; Y, the "Exclude List", those whose
//! timer is 0 (here `None`). `(B)=J` sets the timers of the sources in B to J (creating the
//! missing source records), `Delete (A)` removes the source records in A, `Group Timer=J`
//! sets the group timer, `Send Q(G,A)` and `Send Q(G)` are the specific queries of section
//! 6.6.3 (see the `query` module). `+`, `-` and `*` are union, difference and intersection.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use common::{FilterMode, Instant};

use crate::compat::HostPresent;
use crate::query::Retransmit;

/// A set of source addresses.
pub(crate) type Set = BTreeSet<Ipv4Addr>;

/// Group Record types after version translation (section 4.2.12): the current-state
/// records of 6.4.1 and the filter-mode-change and source-list-change records of 6.4.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Record {
    /// MODE_IS_INCLUDE, "IS_IN".
    IsIn,
    /// MODE_IS_EXCLUDE, "IS_EX".
    IsEx,
    /// CHANGE_TO_INCLUDE_MODE, "TO_IN".
    ToIn,
    /// CHANGE_TO_EXCLUDE_MODE, "TO_EX".
    ToEx,
    /// ALLOW_NEW_SOURCES, "ALLOW".
    Allow,
    /// BLOCK_OLD_SOURCES, "BLOCK".
    Block,
}

/// A source record (section 6.2.3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Source {
    /// The source timer; `None` is a timer of 0 (in EXCLUDE mode: the source is on the
    /// Exclude List and not forwarded).
    pub timer: Option<Instant>,
    /// Retransmission state of section 6.6.3.2: group-and-source-specific queries still
    /// to be sent that name this source.
    pub retransmissions: u8,
}

/// A filter state: a mode and a source list (INCLUDE {} means no interest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Filter {
    pub mode: FilterMode,
    pub sources: Set,
}

impl Filter {
    pub fn include(sources: Set) -> Self {
        Filter {
            mode: FilterMode::Include,
            sources,
        }
    }

    pub fn exclude(sources: Set) -> Self {
        Filter {
            mode: FilterMode::Exclude,
            sources,
        }
    }

    /// True if traffic from `source` is forwarded (section 6.3).
    #[cfg(test)]
    pub fn admits(&self, source: Ipv4Addr) -> bool {
        match self.mode {
            FilterMode::Include => self.sources.contains(&source),
            FilterMode::Exclude => !self.sources.contains(&source),
        }
    }
}

/// Merge several filter states into the one that forwards a source if any of them does,
/// the rule of section 3.2 for an interface's reception state: EXCLUDE with the
/// intersection of the exclude lists minus the union of the include lists if any state
/// is EXCLUDE, else INCLUDE with the union. `None`: no interest (INCLUDE {}).
pub(crate) fn merge<'a>(filters: impl IntoIterator<Item = &'a Filter>) -> Option<Filter> {
    let mut include = Set::new();
    let mut exclude: Option<Set> = None;
    for f in filters {
        match f.mode {
            FilterMode::Include => include.extend(f.sources.iter().copied()),
            FilterMode::Exclude => {
                exclude = Some(match exclude {
                    None => f.sources.clone(),
                    Some(e) => e.intersection(&f.sources).copied().collect(),
                })
            }
        }
    }
    match exclude {
        Some(e) => Some(Filter::exclude(e.difference(&include).copied().collect())),
        None if include.is_empty() => None,
        None => Some(Filter::include(include)),
    }
}

/// The state-machine inputs that come from the interface (section 8 values in use, the
/// querier role, configuration).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ctx {
    pub now: Instant,
    /// 8.4 Group Membership Interval.
    pub gmi: Duration,
    /// 8.10 Last Member Query Time.
    pub lmqt: Duration,
    /// 8.8 Last Member Query Interval.
    pub lmqi: Duration,
    /// 8.9 Last Member Query Count.
    pub lmqc: u8,
    /// This router is the Querier and its version has group-specific queries (v2, v3):
    /// "Send Q(G)" sends (section 6.6.3.1). A Non-Querier does nothing for "Send Q(...)":
    /// it lowers its timers when it receives the Querier's query (6.6.1).
    pub send_group_queries: bool,
    /// ... and has group-and-source-specific queries (v3): "Send Q(G,A)" sends (6.6.3.2).
    pub send_source_queries: bool,
    /// IGMPv2 querier (RFC 2236): no S flag exists, so a report that sets the group timer
    /// stops the pending group-specific retransmissions instead of sending them with S set.
    pub report_stops_retransmissions: bool,
    /// Configuration `immediate_leave`: "Send Q(G,A)" expires the sources in A at once and
    /// "Send Q(G)" the group timer, as if the reporting host were the only member.
    pub immediate_leave: bool,
    /// Configuration `max_sources` (0: no limit).
    pub max_sources: usize,
}

/// What applying a record did besides changing state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Effects {
    /// Sources not created because of `max_sources`.
    pub sources_refused: usize,
    /// Timers were set to `now` (immediate leave): run expiry.
    pub expire_now: bool,
}

/// One group on one interface.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub group: Ipv4Addr,
    /// Router filter-mode (6.2.1).
    pub mode: FilterMode,
    /// Group timer (6.2.2): runs in EXCLUDE mode only, `None` in INCLUDE mode.
    pub timer: Option<Instant>,
    /// Source records (6.2.3).
    pub sources: BTreeMap<Ipv4Addr, Source>,
    /// IGMPv1/IGMPv2 Host Present timers (7.3.2).
    pub host_present: HostPresent,
    /// Specific-query retransmission schedule (6.6.3).
    pub retransmit: Retransmit,
    /// Static configuration of the group, merged (section 3.2) into one filter.
    pub static_filter: Option<Filter>,
    /// The forwarding state last output as a Membership (`None`: INCLUDE {} / none).
    pub emitted: Option<Filter>,
}

impl Group {
    pub fn new(group: Ipv4Addr) -> Self {
        Group {
            group,
            mode: FilterMode::Include,
            timer: None,
            sources: BTreeMap::new(),
            host_present: HostPresent::default(),
            retransmit: Retransmit::default(),
            static_filter: None,
            emitted: None,
        }
    }

    /// True if the group has state learned from hosts: EXCLUDE mode, or INCLUDE with at
    /// least one source. (An INCLUDE group without sources is deleted, section 6.2.3.)
    pub fn has_dynamic_state(&self) -> bool {
        self.mode == FilterMode::Exclude || !self.sources.is_empty()
    }

    /// Delete the dynamic group record (6.5): its sources, timers, host present timers and
    /// retransmission state. Static configuration stays.
    pub fn clear_dynamic(&mut self) {
        self.mode = FilterMode::Include;
        self.timer = None;
        self.sources.clear();
        self.host_present = HostPresent::default();
        self.retransmit = Retransmit::default();
    }

    /// All source addresses: A in INCLUDE mode, X+Y in EXCLUDE mode.
    fn all(&self) -> Set {
        self.sources.keys().copied().collect()
    }

    /// The Requested List X (EXCLUDE mode): sources whose timer runs.
    pub fn requested(&self) -> Set {
        self.sources
            .iter()
            .filter(|(_, s)| s.timer.is_some())
            .map(|(a, _)| *a)
            .collect()
    }

    /// The Exclude List Y (EXCLUDE mode): sources whose timer is 0.
    pub fn excluded(&self) -> Set {
        self.sources
            .iter()
            .filter(|(_, s)| s.timer.is_none())
            .map(|(a, _)| *a)
            .collect()
    }

    /// `(S)=J`: set the timers of the sources in `set` to `timer`, creating missing source
    /// records unless `max_sources` is reached.
    fn set_timers(&mut self, ctx: &Ctx, set: &Set, timer: Option<Instant>, fx: &mut Effects) {
        for s in set {
            if let Some(src) = self.sources.get_mut(s) {
                src.timer = timer;
                if timer.is_none() {
                    src.retransmissions = 0;
                }
            } else if ctx.max_sources != 0 && self.sources.len() >= ctx.max_sources {
                fx.sources_refused += 1;
            } else {
                self.sources.insert(
                    *s,
                    Source {
                        timer,
                        retransmissions: 0,
                    },
                );
            }
        }
    }

    /// `Delete (S)`.
    fn delete(&mut self, set: &Set) {
        for s in set {
            self.sources.remove(s);
        }
    }

    /// `Group Timer=GMI`.
    fn group_timer_gmi(&mut self, ctx: &Ctx) {
        self.timer = Some(ctx.now + ctx.gmi);
        if ctx.report_stops_retransmissions {
            self.retransmit.stop_group_queries();
        }
    }

    /// Apply one group record to the router state: the tables of sections 6.4.1 and 6.4.2,
    /// row by row. `b` is the record's source list (called B or A in the tables).
    pub fn apply(&mut self, ctx: &Ctx, record: Record, b: &Set) -> Effects {
        let mut fx = Effects::default();
        let gmi = Some(ctx.now + ctx.gmi);
        match (self.mode, record) {
            // 6.4.1  INCLUDE (A)  IS_IN (B)  ->  INCLUDE (A+B)  (B)=GMI
            // 6.4.2  INCLUDE (A)  ALLOW (B)  ->  INCLUDE (A+B)  (B)=GMI
            (FilterMode::Include, Record::IsIn | Record::Allow) => {
                self.set_timers(ctx, b, gmi, &mut fx);
            }
            // 6.4.1  INCLUDE (A)  IS_EX (B)  ->  EXCLUDE (A*B,B-A)
            //        (B-A)=0, Delete (A-B), Group Timer=GMI
            (FilterMode::Include, Record::IsEx) => {
                let a = self.all();
                self.delete(&(&a - b));
                self.mode = FilterMode::Exclude;
                self.set_timers(ctx, &(b - &a), None, &mut fx);
                self.group_timer_gmi(ctx);
            }
            // 6.4.2  INCLUDE (A)  BLOCK (B)  ->  INCLUDE (A)  Send Q(G,A*B)
            (FilterMode::Include, Record::Block) => {
                let a = self.all();
                self.send_group_and_source_query(ctx, &(&a & b), &mut fx);
            }
            // 6.4.2  INCLUDE (A)  TO_EX (B)  ->  EXCLUDE (A*B,B-A)
            //        (B-A)=0, Delete (A-B), Send Q(G,A*B), Group Timer=GMI
            (FilterMode::Include, Record::ToEx) => {
                let a = self.all();
                self.delete(&(&a - b));
                self.mode = FilterMode::Exclude;
                self.set_timers(ctx, &(b - &a), None, &mut fx);
                self.send_group_and_source_query(ctx, &(&a & b), &mut fx);
                self.group_timer_gmi(ctx);
            }
            // 6.4.2  INCLUDE (A)  TO_IN (B)  ->  INCLUDE (A+B)  (B)=GMI, Send Q(G,A-B)
            (FilterMode::Include, Record::ToIn) => {
                let a = self.all();
                self.set_timers(ctx, b, gmi, &mut fx);
                self.send_group_and_source_query(ctx, &(&a - b), &mut fx);
            }
            // 6.4.1  EXCLUDE (X,Y)  IS_IN (A)  ->  EXCLUDE (X+A,Y-A)  (A)=GMI
            // 6.4.2  EXCLUDE (X,Y)  ALLOW (A)  ->  EXCLUDE (X+A,Y-A)  (A)=GMI
            (FilterMode::Exclude, Record::IsIn | Record::Allow) => {
                self.set_timers(ctx, b, gmi, &mut fx);
            }
            // 6.4.1  EXCLUDE (X,Y)  IS_EX (A)  ->  EXCLUDE (A-Y,Y*A)
            //        (A-X-Y)=GMI, Delete (X-A), Delete (Y-A), Group Timer=GMI
            (FilterMode::Exclude, Record::IsEx) => {
                let (x, y) = (self.requested(), self.excluded());
                self.delete(&(&x - b));
                self.delete(&(&y - b));
                self.set_timers(ctx, &(&(b - &x) - &y), gmi, &mut fx);
                self.group_timer_gmi(ctx);
            }
            // 6.4.2  EXCLUDE (X,Y)  BLOCK (A)  ->  EXCLUDE (X+(A-Y),Y)
            //        (A-X-Y)=Group Timer, Send Q(G,A-Y)
            (FilterMode::Exclude, Record::Block) => {
                let (x, y) = (self.requested(), self.excluded());
                self.set_timers(ctx, &(&(b - &x) - &y), self.timer, &mut fx);
                self.send_group_and_source_query(ctx, &(b - &y), &mut fx);
            }
            // 6.4.2  EXCLUDE (X,Y)  TO_EX (A)  ->  EXCLUDE (A-Y,Y*A)
            //        (A-X-Y)=Group Timer, Delete (X-A), Delete (Y-A), Send Q(G,A-Y),
            //        Group Timer=GMI
            (FilterMode::Exclude, Record::ToEx) => {
                let (x, y) = (self.requested(), self.excluded());
                self.set_timers(ctx, &(&(b - &x) - &y), self.timer, &mut fx);
                self.delete(&(&x - b));
                self.delete(&(&y - b));
                self.send_group_and_source_query(ctx, &(b - &y), &mut fx);
                self.group_timer_gmi(ctx);
            }
            // 6.4.2  EXCLUDE (X,Y)  TO_IN (A)  ->  EXCLUDE (X+A,Y-A)
            //        (A)=GMI, Send Q(G,X-A), Send Q(G)
            (FilterMode::Exclude, Record::ToIn) => {
                let x = self.requested();
                self.set_timers(ctx, b, gmi, &mut fx);
                self.send_group_and_source_query(ctx, &(&x - b), &mut fx);
                self.send_group_query(ctx, &mut fx);
            }
        }
        if fx.expire_now {
            self.expire(ctx.now);
        }
        if !self.has_dynamic_state() {
            self.clear_dynamic();
        }
        fx
    }

    /// Run the timers that expired at or before `now` (sections 6.2.2, 6.2.3, 6.5, 7.3.2).
    ///
    /// * Source timer expiry (6.2.3): in INCLUDE mode the source record is deleted (and the
    ///   group with the last one); in EXCLUDE mode the source stays with timer 0, i.e. it
    ///   moves to the Exclude List and is no longer forwarded.
    /// * Group timer expiry in EXCLUDE mode (6.5): "the router filter-mode for the group
    ///   transitions to INCLUDE", keeping the sources whose timers still run as the
    ///   INCLUDE list and deleting the Exclude List; with no source left the group record is
    ///   deleted.
    /// * Host Present timer expiry (7.3.2): the Group Compatibility Mode goes back up.
    pub fn expire(&mut self, now: Instant) {
        let mut gone = Vec::new();
        for (addr, src) in self.sources.iter_mut() {
            if src.timer.is_some_and(|t| t <= now) {
                match self.mode {
                    FilterMode::Include => gone.push(*addr),
                    FilterMode::Exclude => {
                        src.timer = None;
                        src.retransmissions = 0;
                    }
                }
            }
        }
        for addr in gone {
            self.sources.remove(&addr);
        }
        if self.mode == FilterMode::Include {
            // 6.2.2: the group timer is not used in INCLUDE mode.
            self.timer = None;
        } else if self.timer.is_none_or(|t| t <= now) {
            self.sources.retain(|_, s| s.timer.is_some());
            self.mode = FilterMode::Include;
            self.timer = None;
            self.retransmit.stop_group_queries();
        }
        self.host_present.expire(now);
        if !self.has_dynamic_state() {
            self.clear_dynamic();
        }
    }

    /// Section 6.6.1, Q(G) received (or sent) with the S flag clear: "Group Timer is
    /// lowered to LMQT" (only ever lowered; only meaningful in EXCLUDE mode).
    pub fn lower_group_timer(&mut self, deadline: Instant) {
        if self.mode == FilterMode::Exclude && self.timer.is_some_and(|t| t > deadline) {
            self.timer = Some(deadline);
        }
    }

    /// Section 6.6.1, Q(G,A) received (or sent) with the S flag clear: "Source Timer for
    /// sources in A are lowered to LMQT".
    pub fn lower_source_timers(&mut self, set: &Set, deadline: Instant) {
        for s in set {
            let above = |src: &&mut Source| src.timer.is_some_and(|t| t > deadline);
            if let Some(src) = self.sources.get_mut(s).filter(above) {
                src.timer = Some(deadline);
            }
        }
    }

    /// The forwarding suggestion of section 6.3 from host state alone: INCLUDE with the
    /// sources whose timers run, or EXCLUDE with the Exclude List (sources with timer 0;
    /// sources on the Requested List are forwarded). `None`: no host state.
    pub fn dynamic_filter(&self) -> Option<Filter> {
        match self.mode {
            FilterMode::Include if self.sources.is_empty() => None,
            FilterMode::Include => Some(Filter::include(self.all())),
            FilterMode::Exclude => Some(Filter::exclude(self.excluded())),
        }
    }

    /// The forwarding state: the host state merged with the static configuration (a
    /// source is forwarded if either admits it). `None`: no interest.
    pub fn forwarding(&self) -> Option<Filter> {
        let dynamic = self.dynamic_filter();
        merge(dynamic.iter().chain(self.static_filter.iter()))
    }

    /// The earliest running timer of the group.
    pub fn deadline(&self) -> Option<Instant> {
        let mut d = self.timer;
        for s in self.sources.values() {
            d = common::time::earliest(d, s.timer);
        }
        d = common::time::earliest(d, self.host_present.deadline());
        common::time::earliest(d, self.retransmit.deadline())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(x: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 1, 1, x)
    }

    fn set(v: &[u8]) -> Set {
        v.iter().map(|&x| a(x)).collect()
    }

    #[test]
    fn merge_rules_of_section_3_2() {
        let inc = Filter::include(set(&[1, 2]));
        let exc = Filter::exclude(set(&[2, 3, 4]));
        let exc2 = Filter::exclude(set(&[3, 4, 5]));
        assert_eq!(merge([&inc]), Some(Filter::include(set(&[1, 2]))));
        assert_eq!(merge([&inc, &exc]), Some(Filter::exclude(set(&[3, 4]))));
        assert_eq!(
            merge([&inc, &exc, &exc2]),
            Some(Filter::exclude(set(&[3, 4])))
        );
        assert_eq!(merge([&Filter::include(Set::new())]), None);
        assert_eq!(merge(std::iter::empty()), None);
        let m = merge([&inc, &exc]).unwrap();
        assert!(m.admits(a(1)) && m.admits(a(2)) && !m.admits(a(3)) && m.admits(a(9)));
    }
}
