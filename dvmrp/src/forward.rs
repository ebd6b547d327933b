//! Forwarding, pruning and grafting (draft 3.3, 3.5, 3.6).
//!
//! The forwarding cache holds one entry per (source network, group) that has carried
//! traffic, keyed like the routing table. Each entry lists the sources seen (the kernel
//! forwards per (S,G), so every source gets its own [`Action::Forward`]) and the prune and
//! graft state of the pair:
//!
//! * **Truncated reverse-path broadcast (3.3.3)**: traffic arrives on the reverse-path
//!   interface of the source network and leaves on every *child* interface: an active
//!   interface where this router is the designated forwarder (3.3.1), that has group
//!   members (IGMP) or a dependent neighbour (3.4.4) which has not pruned the pair, and
//!   that is not an administrative boundary for the group. A host LAN is a passive DVMRP
//!   interface ([`InterfaceConfig::passive`](crate::config::InterfaceConfig::passive)):
//!   members on an interface DVMRP does not run on are not children.
//! * **Prunes (3.5.2, 3.5.3)**: when traffic arrives for a pair without any child, a Prune
//!   goes to the upstream neighbour, with the least remaining lifetime among the pruned
//!   downstream neighbours, or [`Config::prune_lifetime`] when there are none (a leaf).
//!   While data keeps arriving the Prune is sent again, after
//!   [`Config::prune_retransmit`], doubled each time. When the upstream Prune expires the
//!   upstream router floods again; the next data re-prunes. An entry is kept as long as
//!   its Prune lasts, so that a later member can graft.
//! * **Received prunes (3.5.5)** are accepted from two-way neighbours that depend on us for
//!   the source network (their poison reverse) and hold until their lifetime ends or the
//!   neighbour grafts, restarts or is lost.
//! * **Grafts (3.6)**: a pair that was pruned upstream and gets a child again (a new
//!   member, a graft from downstream, a new dependent neighbour) sends a Graft to the
//!   upstream neighbour, again after [`Config::graft_retransmit`], doubled each time, until
//!   a Graft Ack arrives. Every Graft from a neighbour is acknowledged (3.6.5).
//! * A changed reverse path (another upstream neighbour or interface) forgets the
//!   upstream Prune and Graft of the pair: the new upstream floods.
//! * A source without traffic for [`Config::cache_lifetime`] is forgotten (its kernel
//!   entry removed); the entry goes when it has no sources and no prune or graft state.
//!
//! Traffic is seen through kernel upcalls (NOCACHE creates the entry) and the per-entry
//! packet counters the shell passes as [`Input::MfcStats`](common::Input::MfcStats).
//!
//! [`Config::prune_lifetime`]: crate::config::Config::prune_lifetime
//! [`Config::prune_retransmit`]: crate::config::Config::prune_retransmit
//! [`Config::graft_retransmit`]: crate::config::Config::graft_retransmit
//! [`Config::cache_lifetime`]: crate::config::Config::cache_lifetime

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use common::{Action, FilterMode, Forwarding, IfIndex, Instant, Membership, RouteKey};

use crate::packet::{Body, Graft, Message, Prune};
use crate::route::{self, Origin};
use crate::snapshot::{
    DownstreamPruneSnapshot, ForwardingSnapshot, GraftSnapshot, UpstreamPruneSnapshot,
};
use crate::{Dvmrp, Key, events, ms, reasons};

/// A forwarding cache key: (source network, group).
pub(crate) type CacheKey = (Key, Ipv4Addr);

/// One source of a cache entry (one kernel (S,G) entry).
#[derive(Clone, Debug)]
pub(crate) struct Source {
    /// The kernel's packet counter at the last [`Input::MfcStats`](common::Input::MfcStats).
    packets: u64,
    last_data: Instant,
    /// What was last asked of the kernel: (incoming interface, outgoing interfaces).
    installed: Option<(IfIndex, BTreeSet<IfIndex>)>,
}

/// The Prune this router sent upstream (3.5.2).
#[derive(Clone, Copy, Debug)]
pub(crate) struct UpstreamPrune {
    neighbor: (IfIndex, Ipv4Addr),
    lifetime: u32,
    expires: Instant,
    sent: u64,
    /// Data arriving after this time sends the Prune again (3.5.3).
    retransmit_at: Instant,
    interval: Duration,
}

/// A Graft waiting for its Graft Ack (3.6.4).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PendingGraft {
    neighbor: (IfIndex, Ipv4Addr),
    sent: u64,
    next: Instant,
    interval: Duration,
}

#[derive(Clone, Debug)]
pub(crate) struct CacheEntry {
    created: Instant,
    /// The reverse path when the entry was last evaluated.
    upstream: Option<(IfIndex, Option<Ipv4Addr>)>,
    sources: BTreeMap<Ipv4Addr, Source>,
    /// Prunes received: (interface, neighbour) -> expiry.
    downstream_prunes: BTreeMap<(IfIndex, Ipv4Addr), Instant>,
    upstream_prune: Option<UpstreamPrune>,
    graft: Option<PendingGraft>,
    /// Data arrived since the entry was last evaluated.
    data: bool,
    /// Some source had a child interface at the last evaluation.
    interest: bool,
}

impl CacheEntry {
    fn new(now: Instant) -> CacheEntry {
        CacheEntry {
            created: now,
            upstream: None,
            sources: BTreeMap::new(),
            downstream_prunes: BTreeMap::new(),
            upstream_prune: None,
            graft: None,
            data: false,
            interest: false,
        }
    }

    fn poll_at(&self, cache_lifetime: Duration) -> Option<Instant> {
        let sources = self
            .sources
            .values()
            .map(|s| s.last_data + cache_lifetime)
            .min();
        let prunes = self.downstream_prunes.values().copied().min();
        [
            sources,
            prunes,
            self.upstream_prune.map(|p| p.expires),
            self.graft.map(|g| g.next),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn is_empty(&self) -> bool {
        self.sources.is_empty()
            && self.downstream_prunes.is_empty()
            && self.upstream_prune.is_none()
            && self.graft.is_none()
    }
}

/// Receivers on one interface for one group (RFC 3376 6.3 semantics, from IGMP).
#[derive(Clone, Debug)]
pub(crate) struct Members {
    mode: FilterMode,
    sources: BTreeSet<Ipv4Addr>,
}

impl Members {
    fn wants(&self, source: Ipv4Addr) -> bool {
        match self.mode {
            FilterMode::Include => self.sources.contains(&source),
            FilterMode::Exclude => !self.sources.contains(&source),
        }
    }
}

/// Link-local groups (224.0.0.0/24) are never forwarded.
fn is_link_local(group: Ipv4Addr) -> bool {
    let o = group.octets();
    o[0] == 224 && o[1] == 0 && o[2] == 0
}

fn secs(lifetime: u32) -> Duration {
    Duration::from_secs(u64::from(lifetime))
}

impl Dvmrp {
    // -----------------------------------------------------------------------------------
    // Inputs

    /// IGMP says who listens on an interface (3.3.3: group members make a child).
    pub(crate) fn on_membership(&mut self, m: Membership) {
        let key = (m.ifindex, m.group);
        if m.mode == FilterMode::Include && m.sources.is_empty() {
            self.members.remove(&key);
        } else {
            self.members.insert(
                key,
                Members {
                    mode: m.mode,
                    sources: m.sources.into_iter().collect(),
                },
            );
        }
    }

    /// A kernel upcall: the first packet of (S,G) (NOCACHE) creates the cache entry.
    pub(crate) fn on_nocache(&mut self, now: Instant, key: RouteKey) {
        let Some(source) = key.source else { return };
        if is_link_local(key.group) {
            return;
        }
        let Some((&rk, _)) = self.lookup(source) else {
            return;
        };
        if self.rpf(source).is_none() {
            return;
        }
        let e = self
            .cache
            .entry((rk, key.group))
            .or_insert_with(|| CacheEntry::new(now));
        let s = e.sources.entry(source).or_insert(Source {
            packets: 0,
            last_data: now,
            installed: None,
        });
        s.last_data = now;
        // The kernel entry may have been lost (NOCACHE again): install it anew.
        s.installed = None;
        e.data = true;
        self.source_index.insert((source, key.group), rk);
        self.cache_dirty.insert((rk, key.group));
    }

    /// Kernel counters of (S,G): new packets are data for the prune machinery (3.5.3).
    pub(crate) fn on_mfc_stats(&mut self, now: Instant, key: RouteKey, packets: u64) {
        let Some(source) = key.source else { return };
        // The entry the source was filed under (its best route when it first sent).
        let Some(ck) = self
            .source_index
            .get(&(source, key.group))
            .map(|&rk| (rk, key.group))
        else {
            return;
        };
        let Some(e) = self.cache.get_mut(&ck) else {
            return;
        };
        let Some(s) = e.sources.get_mut(&source) else {
            return;
        };
        if packets > s.packets {
            s.last_data = now;
            e.data = true;
            self.cache_dirty.insert(ck);
        }
        s.packets = packets;
    }

    /// The cache key for a Prune, Graft or Graft Ack naming `source` (and maybe its mask).
    fn cache_key_for(
        &self,
        source: Ipv4Addr,
        mask: Option<Ipv4Addr>,
        group: Ipv4Addr,
    ) -> Option<CacheKey> {
        let key = match mask {
            Some(m) => {
                let len = u32::from(m).leading_ones() as u8;
                let k = crate::key_of(source, len);
                self.routes.contains_key(&k).then_some(k)?
            }
            None => *self.lookup(source)?.0,
        };
        Some((key, group))
    }

    /// A Prune from a downstream neighbour (3.5.5).
    pub(crate) fn on_prune(&mut self, now: Instant, ifindex: IfIndex, src: Ipv4Addr, prune: Prune) {
        let Some(ck) = self.cache_key_for(prune.source, prune.source_mask, prune.group) else {
            self.count_drop(ifindex, reasons::NO_ROUTE);
            return;
        };
        let Some(r) = self.routes.get(&ck.0) else {
            return;
        };
        if r.upstream_if() == Some(ifindex) {
            self.count_drop(ifindex, reasons::PRUNE_FROM_UPSTREAM);
            return;
        }
        if !self.dependents(r, ifindex).contains(&src) {
            self.count_drop(ifindex, reasons::NOT_DEPENDENT);
            return;
        }
        let e = self.cache.entry(ck).or_insert_with(|| CacheEntry::new(now));
        e.downstream_prunes
            .insert((ifindex, src), now + secs(prune.lifetime));
    }

    /// A Graft from a downstream neighbour (3.6.5): acknowledged, its prune removed.
    pub(crate) fn on_graft(
        &mut self,
        ifindex: IfIndex,
        src: Ipv4Addr,
        graft: Graft,
        out: &mut Vec<Action>,
    ) {
        // Every Graft is acknowledged, even without state for it (3.6.5).
        self.send_to_neighbor(ifindex, src, Message::new(Body::GraftAck(graft)), out);
        if let Some(ck) = self.cache_key_for(graft.source, graft.source_mask, graft.group)
            && let Some(e) = self.cache.get_mut(&ck)
        {
            e.downstream_prunes.remove(&(ifindex, src));
        }
    }

    /// A Graft Ack from the upstream neighbour ends the Graft's retransmission (3.6.6).
    pub(crate) fn on_graft_ack(&mut self, ifindex: IfIndex, src: Ipv4Addr, ack: Graft) {
        let Some(ck) = self.cache_key_for(ack.source, ack.source_mask, ack.group) else {
            return;
        };
        if let Some(e) = self.cache.get_mut(&ck)
            && e.graft.is_some_and(|g| g.neighbor == (ifindex, src))
        {
            e.graft = None;
        }
    }

    /// A neighbour restarted or was lost (3.2.2, 3.2.4): its prunes are gone, and if it
    /// was upstream, so are ours towards it.
    pub(crate) fn forget_neighbor_prunes(&mut self, ifindex: IfIndex, addr: Ipv4Addr) {
        for e in self.cache.values_mut() {
            e.downstream_prunes.remove(&(ifindex, addr));
            if e.upstream_prune
                .is_some_and(|p| p.neighbor == (ifindex, addr))
            {
                e.upstream_prune = None;
            }
            if e.graft.is_some_and(|g| g.neighbor == (ifindex, addr)) {
                e.graft = None;
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Timers

    pub(crate) fn cache_poll_at(&self) -> Option<Instant> {
        self.cache
            .values()
            .filter_map(|e| e.poll_at(self.config.cache_lifetime))
            .min()
    }

    /// Cache timers due at `t`: downstream prune expiry, upstream prune expiry, Graft
    /// retransmission, idle sources.
    pub(crate) fn fire_cache(&mut self, t: Instant, out: &mut Vec<Action>) {
        let lifetime = self.config.cache_lifetime;
        let mut grafts = Vec::new();
        for (ck, e) in &mut self.cache {
            e.downstream_prunes.retain(|_, exp| *exp > t);
            if e.upstream_prune.is_some_and(|p| p.expires <= t) {
                e.upstream_prune = None;
            }
            if let Some(g) = e.graft.as_mut().filter(|g| g.next <= t) {
                g.sent += 1;
                g.interval = g.interval.saturating_mul(2);
                g.next = t + g.interval;
                grafts.push((*ck, g.neighbor));
            }
            let idle: Vec<Ipv4Addr> = e
                .sources
                .iter()
                .filter(|(_, s)| s.last_data + lifetime <= t)
                .map(|(a, _)| *a)
                .collect();
            for a in idle {
                self.source_index.remove(&(a, ck.1));
                if let Some(s) = e.sources.remove(&a)
                    && s.installed.is_some()
                {
                    out.push(Action::Unforward(RouteKey::sg(a, ck.1)));
                }
            }
        }
        self.cache.retain(|_, e| !e.is_empty());
        for (ck, (ifindex, nbr)) in grafts {
            self.send_graft(ck, ifindex, nbr, out);
        }
    }

    // -----------------------------------------------------------------------------------
    // Evaluation

    /// Bring every cache entry in line with routes, neighbours, members and prunes: the
    /// kernel entries of its sources, and the Prune or Graft the pair needs.
    ///
    /// Everything is evaluated after any input or timer that can change routes,
    /// neighbours, members or prunes; kernel counters and upcalls only touch their entry
    /// (so a second's counters for n entries cost n evaluations, not n squared).
    pub(crate) fn update_cache(&mut self, now: Instant, out: &mut Vec<Action>) {
        let keys: Vec<CacheKey> = if std::mem::take(&mut self.cache_all_dirty) {
            self.cache_dirty.clear();
            self.cache.keys().copied().collect()
        } else {
            std::mem::take(&mut self.cache_dirty).into_iter().collect()
        };
        for ck in keys {
            if self.cache.contains_key(&ck) {
                self.update_entry(now, ck, out);
            }
        }
    }

    fn update_entry(&mut self, now: Instant, ck: CacheKey, out: &mut Vec<Action>) {
        let (rk, group) = ck;
        let upstream = self.entry_upstream(rk);
        // Sources that now match a longer route leave this entry (their next packet
        // creates the right one).
        let moved: Vec<Ipv4Addr> = self.cache[&ck]
            .sources
            .keys()
            .copied()
            .filter(|&s| self.lookup(s).map(|(k, _)| *k) != Some(rk))
            .collect();
        let per_source: Vec<(Ipv4Addr, BTreeSet<IfIndex>)> = self.cache[&ck]
            .sources
            .keys()
            .filter(|s| !moved.contains(s))
            .map(|&s| (s, self.children(now, ck, s, upstream.map(|u| u.0))))
            .collect();
        let lifetime = self.downstream_lifetime(now, ck, upstream.map(|u| u.0));
        let cfg = self.config.clone();
        let e = self.cache.get_mut(&ck).expect("listed");
        for s in moved {
            self.source_index.remove(&(s, group));
            if e.sources.remove(&s).and_then(|s| s.installed).is_some() {
                out.push(Action::Unforward(RouteKey::sg(s, group)));
            }
        }
        if e.upstream != upstream {
            // A new reverse path (3.5.4): the new upstream floods; our state towards
            // the old one is void.
            e.upstream = upstream;
            e.upstream_prune = None;
            e.graft = None;
        }
        let mut interest = false;
        for (s, oifs) in per_source {
            interest |= !oifs.is_empty();
            let src = e.sources.get_mut(&s).expect("listed");
            let want = upstream.map(|(i, _)| (i, oifs));
            if src.installed != want {
                match &want {
                    Some((iif, oifs)) => out.push(Action::Forward(Forwarding {
                        key: RouteKey::sg(s, group),
                        iif: Some(*iif),
                        oifs: oifs.clone(),
                    })),
                    None => out.push(Action::Unforward(RouteKey::sg(s, group))),
                }
                src.installed = want;
            }
        }
        // Data without a child, or the last child just gone while traffic flows (a
        // downstream Prune, the last member leaving), calls for a Prune.
        let data = std::mem::take(&mut e.data) || std::mem::replace(&mut e.interest, interest);
        e.interest = interest;
        let Some((uif, Some(unbr))) = upstream else {
            // A directly connected source (or none): nobody to prune or graft.
            e.upstream_prune = None;
            e.graft = None;
            return;
        };
        if interest {
            if e.upstream_prune.take().is_some() {
                // 3.6.1: a pruned pair has receivers again.
                e.graft = Some(PendingGraft {
                    neighbor: (uif, unbr),
                    sent: 1,
                    next: now + cfg.graft_retransmit,
                    interval: cfg.graft_retransmit,
                });
                self.send_graft(ck, uif, unbr, out);
            }
            return;
        }
        if !data || e.sources.is_empty() {
            return;
        }
        let lifetime = lifetime.unwrap_or(cfg.prune_lifetime);
        let lifetime_s = u32::try_from(lifetime.as_secs().max(1)).unwrap_or(u32::MAX);
        match e.upstream_prune.as_mut() {
            None => {
                // 3.5.2: data without a child: prune.
                e.graft = None;
                e.upstream_prune = Some(UpstreamPrune {
                    neighbor: (uif, unbr),
                    lifetime: lifetime_s,
                    expires: now + secs(lifetime_s),
                    sent: 1,
                    retransmit_at: now + cfg.prune_retransmit,
                    interval: cfg.prune_retransmit,
                });
            }
            Some(p) if p.retransmit_at <= now => {
                // 3.5.3: data still arrives: the Prune was lost (or is not honoured).
                p.sent += 1;
                p.interval = p.interval.saturating_mul(2);
                p.retransmit_at = now + p.interval;
                p.lifetime = lifetime_s;
                p.expires = now + secs(lifetime_s);
            }
            Some(_) => return,
        }
        self.send_prune(ck, uif, unbr, lifetime_s, out);
    }

    /// The reverse path of a source network: its upstream interface and neighbour.
    fn entry_upstream(&self, rk: Key) -> Option<(IfIndex, Option<Ipv4Addr>)> {
        let r = self.routes.get(&rk).filter(|r| r.is_reachable())?;
        match r.origin {
            Origin::Extra => None,
            Origin::Connected(i) if r.hold_down.is_none() => Some((i, None)),
            _ => r.upstream.map(|(i, a)| (i, Some(a))),
        }
    }

    /// The child interfaces of (S,G) (3.3.3).
    fn children(
        &self,
        now: Instant,
        ck: CacheKey,
        source: Ipv4Addr,
        upstream: Option<IfIndex>,
    ) -> BTreeSet<IfIndex> {
        let ((_, _), group) = ck;
        let Some(r) = self.routes.get(&ck.0) else {
            return BTreeSet::new();
        };
        let e = &self.cache[&ck];
        let mut out = BTreeSet::new();
        for (&i, iface) in &self.interfaces {
            if !iface.active || Some(i) == upstream || iface.blocks(group) {
                continue;
            }
            if !self.forwards_onto(r, i) {
                continue;
            }
            let members = self
                .members
                .get(&(i, group))
                .is_some_and(|m| m.wants(source));
            let dependents = self
                .dependents(r, i)
                .into_iter()
                .any(|n| e.downstream_prunes.get(&(i, n)).is_none_or(|&x| x <= now));
            if members || dependents {
                out.insert(i);
            }
        }
        out
    }

    /// The least remaining lifetime of the downstream prunes of a pair (3.5.2), if any.
    fn downstream_lifetime(
        &self,
        now: Instant,
        ck: CacheKey,
        upstream: Option<IfIndex>,
    ) -> Option<Duration> {
        self.cache[&ck]
            .downstream_prunes
            .iter()
            .filter(|((i, _), exp)| Some(*i) != upstream && **exp > now)
            .map(|(_, exp)| now.until(*exp))
            .min()
    }

    fn count_drop(&mut self, ifindex: IfIndex, reason: &'static str) {
        if let Some(i) = self.interfaces.get_mut(&ifindex) {
            i.drop(reason);
        }
    }

    // -----------------------------------------------------------------------------------
    // Sending

    /// The source network as Prunes and Grafts name it: its address and mask (3.5.6).
    fn wire_source(ck: CacheKey) -> (Ipv4Addr, Option<Ipv4Addr>) {
        let ((net, len), _) = ck;
        (net, Some(Ipv4Addr::from(route::mask(len))))
    }

    fn send_prune(
        &mut self,
        ck: CacheKey,
        ifindex: IfIndex,
        nbr: Ipv4Addr,
        lifetime: u32,
        out: &mut Vec<Action>,
    ) {
        let (source, source_mask) = Self::wire_source(ck);
        let prune = Prune {
            source,
            group: ck.1,
            lifetime,
            source_mask,
        };
        crate::event(
            out,
            events::PRUNE_SENT,
            format!(
                "({}/{}, {}) to {nbr} on {ifindex}, lifetime {lifetime} s",
                ck.0.0, ck.0.1, ck.1
            ),
        );
        self.send_to_neighbor(ifindex, nbr, Message::new(Body::Prune(prune)), out);
    }

    fn send_graft(&mut self, ck: CacheKey, ifindex: IfIndex, nbr: Ipv4Addr, out: &mut Vec<Action>) {
        let (source, source_mask) = Self::wire_source(ck);
        let graft = Graft {
            source,
            group: ck.1,
            source_mask,
        };
        crate::event(
            out,
            events::GRAFT_SENT,
            format!("({}/{}, {}) to {nbr} on {ifindex}", ck.0.0, ck.0.1, ck.1),
        );
        self.send_to_neighbor(ifindex, nbr, Message::new(Body::Graft(graft)), out);
    }

    // -----------------------------------------------------------------------------------
    // Snapshot

    pub(crate) fn forwarding_snapshot(&self, now: Instant) -> Vec<ForwardingSnapshot> {
        self.cache
            .iter()
            .map(|(&((net, len), group), e)| {
                let oifs: BTreeSet<IfIndex> = e
                    .sources
                    .values()
                    .filter_map(|s| s.installed.as_ref())
                    .flat_map(|(_, o)| o.iter().copied())
                    .collect();
                let last = e.sources.values().map(|s| s.last_data).max();
                let mut expiry = last.map_or(now, |l| l + self.config.cache_lifetime);
                if let Some(p) = e.upstream_prune {
                    expiry = expiry.max(p.expires);
                }
                ForwardingSnapshot {
                    source_network: net,
                    source_prefix_len: len,
                    group,
                    sources: e.sources.keys().copied().collect(),
                    upstream_interface: e.upstream.map(|u| u.0),
                    upstream_neighbor: e.upstream.and_then(|u| u.1),
                    outgoing: oifs.into_iter().collect(),
                    upstream_prune: e.upstream_prune.map(|p| UpstreamPruneSnapshot {
                        neighbor: p.neighbor.1,
                        lifetime_s: p.lifetime,
                        expiry_ms: ms(now.until(p.expires)),
                        sent: p.sent,
                    }),
                    graft: e.graft.map(|g| GraftSnapshot {
                        neighbor: g.neighbor.1,
                        sent: g.sent,
                        next_retransmit_ms: ms(now.until(g.next)),
                    }),
                    downstream_prunes: e
                        .downstream_prunes
                        .iter()
                        .map(|(&(ifindex, neighbor), &exp)| DownstreamPruneSnapshot {
                            ifindex,
                            neighbor,
                            expiry_ms: ms(now.until(exp)),
                        })
                        .collect(),
                    uptime_ms: ms(now.saturating_duration_since(e.created)),
                    expiry_ms: ms(now.until(expiry)),
                }
            })
            .collect()
    }
}
