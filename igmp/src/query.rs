//! Group-specific and group-and-source-specific queries (RFC 3376 / RFC 9776 section
//! 6.6.3): the "Send Q(G)" and "Send Q(G,A)" actions of the section 6.4 tables, their
//! Last Member Query Count transmissions Last Member Query Interval apart, the
//! "Suppress Router-Side Processing" (S) flag, and the timer lowering of section 6.6.1 that
//! sending them implies.
//!
//! Reports that arrive between the transmissions update the state the next transmission
//! is built from (section 6.6.3): a group whose timer a report raised above LMQT is queried
//! with the S flag set (6.6.3.1), and sources whose timers a report raised above LMQT move
//! to the query with the S flag set (6.6.3.2), so that the retransmissions still reach the
//! hosts without making other routers lower their timers. On an interface configured for
//! IGMPv2 there is no S flag: there a report that sets the group timer stops the pending
//! group-specific retransmissions (see `Ctx::report_stops_retransmissions`).

use std::net::Ipv4Addr;

use common::time::earliest;
use common::{FilterMode, Instant};

use crate::group::{Ctx, Effects, Group, Set, Source};

/// Retransmission schedule of one group's specific queries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Retransmit {
    /// 6.6.3.1: group-specific queries still to be sent (the next one included).
    pub group_queries_left: u8,
    /// When the next group-specific query is due.
    pub group_query_at: Option<Instant>,
    /// 6.6.3.2: when the next group-and-source-specific queries (for every source with
    /// retransmission state) are due.
    pub source_query_at: Option<Instant>,
}

impl Retransmit {
    pub fn deadline(&self) -> Option<Instant> {
        earliest(self.group_query_at, self.source_query_at)
    }

    pub fn stop_group_queries(&mut self) {
        self.group_queries_left = 0;
        self.group_query_at = None;
    }
}

/// A specific query to transmit, before encoding for the interface's version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SpecificQuery {
    /// Q(G), a Group-Specific Query.
    Group { group: Ipv4Addr, suppress: bool },
    /// Q(G,A), a Group-and-Source-Specific Query.
    GroupAndSource {
        group: Ipv4Addr,
        sources: Vec<Ipv4Addr>,
        suppress: bool,
    },
}

impl Group {
    /// The action "Send Q(G)" (section 6.6.3.1): "the group timer must be lowered to LMQT.
    /// The router must then immediately send a group specific query as well as schedule
    /// [Last Member Query Count - 1] query retransmissions to be sent every [Last Member
    /// Query Interval] over [Last Member Query Time]."
    ///
    /// Only a Querier sends; with `immediate_leave` the group timer expires at once instead.
    pub(crate) fn send_group_query(&mut self, ctx: &Ctx, fx: &mut Effects) {
        if self.mode != FilterMode::Exclude {
            return;
        }
        if ctx.immediate_leave {
            self.timer = Some(ctx.now);
            fx.expire_now = true;
            return;
        }
        if !ctx.send_group_queries {
            return;
        }
        self.lower_group_timer(ctx.now + ctx.lmqt);
        self.retransmit.group_queries_left = ctx.lmqc;
        self.retransmit.group_query_at = Some(ctx.now);
    }

    /// The action "Send Q(G,X)" (section 6.6.3.2): "for each of the sources in X of group
    /// G, with source timer larger than LMQT: set number of retransmissions for each source
    /// to [Last Member Query Count]; lower source timer to LMQT. The router must then
    /// immediately send a group and source specific query as well as schedule [Last Member
    /// Query Count - 1] query retransmissions ..."
    ///
    /// Only a Querier sends; with `immediate_leave` the sources' timers expire at once.
    pub(crate) fn send_group_and_source_query(&mut self, ctx: &Ctx, x: &Set, fx: &mut Effects) {
        if ctx.immediate_leave {
            for s in x {
                let running = |src: &&mut Source| src.timer.is_some();
                if let Some(src) = self.sources.get_mut(s).filter(running) {
                    src.timer = Some(ctx.now);
                    fx.expire_now = true;
                }
            }
            return;
        }
        if !ctx.send_source_queries {
            return;
        }
        let lmqt = ctx.now + ctx.lmqt;
        let mut marked = false;
        for s in x {
            let above = |src: &&mut Source| src.timer.is_some_and(|t| t > lmqt);
            if let Some(src) = self.sources.get_mut(s).filter(above) {
                src.retransmissions = ctx.lmqc;
                src.timer = Some(lmqt);
                marked = true;
            }
        }
        if marked {
            self.retransmit.source_query_at = Some(ctx.now);
        }
    }

    /// Stop every pending specific query (the router is no longer the Querier).
    pub(crate) fn stop_queries(&mut self) {
        self.retransmit = Retransmit::default();
        for s in self.sources.values_mut() {
            s.retransmissions = 0;
        }
    }

    /// The specific queries due at `ctx.now`, updating the retransmission state.
    ///
    /// * Q(G): "if the group timer is larger than LMQT, the 'Suppress Router-Side
    ///   Processing' bit is set in the query message" (6.6.3.1).
    /// * Q(G,A): "two separate query messages are sent for the group. The first one has the
    ///   'Suppress Router-Side Processing' bit set and contains all the sources with
    ///   retransmission state and timers greater than LMQT. The second has the 'Suppress
    ///   Router-Side Processing' bit clear and contains all the sources with retransmission
    ///   state and timers lower or equal to LMQT. If either of the two calculated messages
    ///   does not contain any sources, then its transmission is suppressed." The note of
    ///   6.6.3.2 is applied too: when a Q(G) goes out at the same time, the message with the
    ///   S bit set is suppressed.
    ///
    /// A query sent with the S flag clear lowers the timers it names (6.6.1); the timers
    /// of such queries are at or below LMQT already, so this only keeps the rule explicit.
    pub(crate) fn take_due_queries(&mut self, ctx: &Ctx) -> Vec<SpecificQuery> {
        let now = ctx.now;
        let lmqt = now + ctx.lmqt;
        let mut out = Vec::new();
        let mut group_query = None;
        if let Some(at) = self.retransmit.group_query_at.filter(|&t| t <= now) {
            if self.retransmit.group_queries_left > 0 && self.mode == FilterMode::Exclude {
                let suppress = self.timer.is_some_and(|t| t > lmqt);
                if !suppress {
                    self.lower_group_timer(lmqt);
                }
                group_query = Some(SpecificQuery::Group {
                    group: self.group,
                    suppress,
                });
                self.retransmit.group_queries_left -= 1;
            }
            if self.retransmit.group_queries_left > 0 && self.mode == FilterMode::Exclude {
                self.retransmit.group_query_at = Some(at + ctx.lmqi);
            } else {
                self.retransmit.stop_group_queries();
            }
        }
        if let Some(at) = self.retransmit.source_query_at.filter(|&t| t <= now) {
            let mut with_s = Vec::new();
            let mut without_s = Vec::new();
            for (addr, src) in self.sources.iter_mut() {
                if src.retransmissions == 0 {
                    continue;
                }
                if src.timer.is_some_and(|t| t > lmqt) {
                    with_s.push(*addr);
                } else {
                    without_s.push(*addr);
                }
                src.retransmissions -= 1;
            }
            if !with_s.is_empty() && group_query.is_none() {
                out.push(SpecificQuery::GroupAndSource {
                    group: self.group,
                    sources: with_s,
                    suppress: true,
                });
            }
            if !without_s.is_empty() {
                let set: Set = without_s.iter().copied().collect();
                self.lower_source_timers(&set, lmqt);
                out.push(SpecificQuery::GroupAndSource {
                    group: self.group,
                    sources: without_s,
                    suppress: false,
                });
            }
            self.retransmit.source_query_at = self
                .sources
                .values()
                .any(|s| s.retransmissions > 0)
                .then_some(at + ctx.lmqi);
        }
        out.extend(group_query);
        out
    }

    /// Group-specific queries still to be sent, and the largest number of
    /// group-and-source-specific retransmissions left for any source (for snapshots).
    pub(crate) fn retransmissions_pending(&self) -> u8 {
        let sources = self
            .sources
            .values()
            .map(|s| s.retransmissions)
            .max()
            .unwrap_or(0);
        self.retransmit.group_queries_left.max(sources)
    }
}
