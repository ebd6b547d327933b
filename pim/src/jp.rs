//! Building Join/Prune messages (RFC 7761 4.5.4-4.5.7, 4.9.5): every Join and Prune the
//! upstream state machines (and PruneEchoes of the downstream ones) decide during one
//! `handle` or timer round is collected per (interface, upstream neighbour) and sent at
//! the end of it, packed by [`split_join_prune`] into messages that fit the MTU (1500
//! less the 20-octet IP header). So the Join caused by a membership report goes out in
//! the same `handle` call, and the periodic Joins of thousands of entries whose Join
//! Timers expire together share as few messages as possible.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use common::{Action, IfIndex};

use crate::neighbor::ALL_PIM_ROUTERS;
use crate::packet::{self, EncodedGroup, EncodedSource, JoinPruneGroup, Message, split_join_prune};

/// The largest Join/Prune message: the Ethernet MTU less the IPv4 header.
pub const MAX_JOIN_PRUNE_LEN: usize = 1500 - 20;

/// Joins and Prunes waiting to be sent, per (interface, upstream neighbour address) and
/// group.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pending: BTreeMap<(IfIndex, Ipv4Addr), BTreeMap<Ipv4Addr, JoinPruneGroup>>,
    /// Join/Prune messages sent.
    pub messages_sent: u64,
    /// Entries joined and pruned in them.
    pub joins_sent: u64,
    pub prunes_sent: u64,
}

impl Outbox {
    fn set(&mut self, ifindex: IfIndex, upstream: Ipv4Addr, g: Ipv4Addr) -> &mut JoinPruneGroup {
        self.pending
            .entry((ifindex, upstream))
            .or_default()
            .entry(g)
            .or_insert_with(|| JoinPruneGroup::new(EncodedGroup::new(g)))
    }

    /// Join `src` of group `g` towards `upstream` on `ifindex`. The latest decision wins: a
    /// Prune of the same entry in the same batch is withdrawn.
    pub fn join(&mut self, ifindex: IfIndex, upstream: Ipv4Addr, g: Ipv4Addr, src: EncodedSource) {
        let set = self.set(ifindex, upstream, g);
        set.prunes.retain(|p| *p != src);
        if !set.joins.contains(&src) {
            set.joins.push(src);
        }
    }

    /// Prune `src` of group `g` towards `upstream` on `ifindex`.
    pub fn prune(&mut self, ifindex: IfIndex, upstream: Ipv4Addr, g: Ipv4Addr, src: EncodedSource) {
        let set = self.set(ifindex, upstream, g);
        set.joins.retain(|j| *j != src);
        if !set.prunes.contains(&src) {
            set.prunes.push(src);
        }
    }

    /// Send everything pending: Join/Prune messages with this HoldTime (seconds) to
    /// ALL-PIM-ROUTERS with TTL 1 (4.9.5).
    pub fn flush(&mut self, holdtime: u16, out: &mut Vec<Action>) {
        for ((ifindex, upstream), groups) in std::mem::take(&mut self.pending) {
            let groups: Vec<JoinPruneGroup> = groups
                .into_values()
                .filter(|g| !g.joins.is_empty() || !g.prunes.is_empty())
                .collect();
            if groups.is_empty() {
                continue;
            }
            for jp in split_join_prune(upstream, holdtime, &groups, MAX_JOIN_PRUNE_LEN) {
                for g in &jp.groups {
                    self.joins_sent += g.joins.len() as u64;
                    self.prunes_sent += g.prunes.len() as u64;
                }
                self.messages_sent += 1;
                out.push(Action::Send {
                    ifindex,
                    dst: ALL_PIM_ROUTERS,
                    ttl: 1,
                    router_alert: false,
                    payload: packet::emit(&Message::JoinPrune(jp)),
                });
            }
        }
    }
}
