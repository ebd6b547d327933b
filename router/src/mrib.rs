//! The multicast routing information base (MRIB).
//!
//! Owners (static configuration, IGMP membership, and one routing protocol: PIM or DVMRP)
//! say what they want per (S,G); the MRIB merges that into one entry per (S,G) and [`resolve`] turns an entry
//! into the kernel's form (a VIF-indexed TTL vector) by applying interface state, TTL
//! thresholds and administrative boundaries. The router is the single writer of kernel
//! MFC entries and writes only what [`resolve`] returns.
//!
//! (*,G) state is kept here, never in the kernel (whose (*,G) entries have "proxy"
//! semantics): a (*,G) rule produces one (S,G) entry per active source when the kernel
//! reports an unresolved (S,G) (NOCACHE upcall) arriving on the rule's input interface.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use common::FilterMode;
use ipnetwork::Ipv4Network;
use serde::Serialize;

use crate::config::StaticRoute;

/// The routing protocol that owns protocol intents. A router runs at most one (the
/// configuration refuses PIM and DVMRP together), but entries say which.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RoutingProtocol {
    Pim,
    Dvmrp,
}

impl RoutingProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            RoutingProtocol::Pim => "pim",
            RoutingProtocol::Dvmrp => "dvmrp",
        }
    }
}

/// Who wants an entry. Serialised as `{"kind": ...}`: "static", "star-g" (with "rule"),
/// "membership", the protocol's name ("pim", "dvmrp") for a protocol's (S,G) intent and
/// "pim-star-g" / "dvmrp-star-g" for an entry derived from its (*,G) intent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A configured (S,G) route.
    Static,
    /// Created on demand for a source of a configured (*,G) route.
    StarG { rule: Ipv4Network },
    /// Created for a source arriving on its RPF interface; forwarded to the interfaces
    /// whose IGMP membership admits it (possibly none, which keeps the kernel from
    /// asking again while the source is active).
    Membership,
    /// A routing protocol's (S,G) forwarding intent.
    Protocol(RoutingProtocol),
    /// Created on demand for a source of a routing protocol's (*,G) intent.
    ProtocolStarG(RoutingProtocol),
}

impl Serialize for Origin {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let star_g;
        let kind = match self {
            Origin::Static => "static",
            Origin::StarG { .. } => "star-g",
            Origin::Membership => "membership",
            Origin::Protocol(p) => p.as_str(),
            Origin::ProtocolStarG(p) => {
                star_g = format!("{}-star-g", p.as_str());
                star_g.as_str()
            }
        };
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("kind", kind)?;
        if let Origin::StarG { rule } = self {
            m.serialize_entry("rule", rule)?;
        }
        m.end()
    }
}

/// A routing protocol's (*,G) intent: sources arriving on `iif` (None: at the PIM RP, any
/// source on its RPF interface) are forwarded to `oifs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolStar {
    pub protocol: RoutingProtocol,
    pub iif: Option<String>,
    pub oifs: BTreeSet<String>,
}

/// One (S,G) the router wants forwarded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MribEntry {
    pub source: Ipv4Addr,
    pub group: Ipv4Addr,
    pub iif: String,
    pub oifs: BTreeSet<String>,
    pub origin: Origin,
}

/// A (*,G) rule: traffic for any source to a group in `group`, arriving on `input`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StarRule {
    pub group: Ipv4Network,
    pub input: String,
    pub outputs: BTreeSet<String>,
}

pub type SgKey = (Ipv4Addr, Ipv4Addr);

/// The MRIB: (S,G) entries and (*,G) rules.
#[derive(Clone, Debug, Default)]
pub struct Mrib {
    entries: BTreeMap<SgKey, MribEntry>,
    /// group -> sources with an entry: the entries of one group without a scan (IGMP,
    /// (*,G) intents), kept by [`Mrib::put`] and [`Mrib::take`].
    by_group: BTreeMap<Ipv4Addr, BTreeSet<Ipv4Addr>>,
    star: Vec<StarRule>,
    /// group -> interface -> (filter mode, sources): IGMP's forwarding state (RFC 3376 6.3).
    members: BTreeMap<Ipv4Addr, BTreeMap<String, (FilterMode, BTreeSet<Ipv4Addr>)>>,
    /// Routing protocol (*,G) intents by group.
    protocol_star: BTreeMap<Ipv4Addr, ProtocolStar>,
    /// The PIM register VIF's device name (`pimreg`), once it exists.
    register_vif: Option<String>,
}

impl Mrib {
    /// Insert or replace an entry (the only way entries are added).
    fn put(&mut self, k: SgKey, e: MribEntry) -> Option<MribEntry> {
        self.by_group.entry(k.1).or_default().insert(k.0);
        self.entries.insert(k, e)
    }

    /// Remove an entry (the only way entries are removed).
    fn take(&mut self, k: &SgKey) -> Option<MribEntry> {
        let e = self.entries.remove(k)?;
        if let Some(sources) = self.by_group.get_mut(&k.1) {
            sources.remove(&k.0);
            if sources.is_empty() {
                self.by_group.remove(&k.1);
            }
        }
        Some(e)
    }

    /// The keys of `group`'s entries that satisfy `filter`.
    fn group_keys(&self, group: Ipv4Addr, filter: impl Fn(&MribEntry) -> bool) -> Vec<SgKey> {
        self.by_group
            .get(&group)
            .into_iter()
            .flatten()
            .map(|&s| (s, group))
            .filter(|k| self.entries.get(k).is_some_and(&filter))
            .collect()
    }

    /// Replace the static configuration. Returns every key whose entry was added, removed
    /// or changed; entries that are equal before and after are not touched (so a reload
    /// that leaves a route alone never disturbs its flow).
    pub fn set_static(&mut self, routes: &[StaticRoute]) -> BTreeSet<SgKey> {
        let mut changed = BTreeSet::new();
        let mut wanted: BTreeMap<SgKey, MribEntry> = BTreeMap::new();
        let mut star = Vec::new();
        for r in routes {
            match r.source {
                Some(s) => {
                    let key = (s, r.group.ip());
                    wanted.insert(
                        key,
                        MribEntry {
                            source: s,
                            group: r.group.ip(),
                            iif: r.input.clone(),
                            oifs: r.outputs.clone(),
                            origin: Origin::Static,
                        },
                    );
                }
                None => star.push(StarRule {
                    group: r.group,
                    input: r.input.clone(),
                    outputs: r.outputs.clone(),
                }),
            }
        }
        self.star = star;
        // Static entries: drop the ones no longer configured.
        let stale: Vec<SgKey> = self
            .entries
            .iter()
            .filter(|(k, e)| e.origin == Origin::Static && !wanted.contains_key(k))
            .map(|(k, _)| *k)
            .collect();
        for k in stale {
            self.take(&k);
            changed.insert(k);
        }
        // Entries derived from (*,G) rules follow the new rules.
        let derived: Vec<SgKey> = self
            .entries
            .iter()
            .filter(|(_, e)| matches!(e.origin, Origin::StarG { .. }))
            .map(|(k, _)| *k)
            .collect();
        for k in derived {
            let old = self.take(&k).expect("listed above");
            if let Some(new) = self.derive(k.0, k.1, &old.iif) {
                if new != old {
                    changed.insert(k);
                }
                self.put(k, new);
            } else {
                changed.insert(k);
            }
        }
        // New or changed static entries (a static route overrides a derived one).
        for (k, e) in wanted {
            if self.entries.get(&k) != Some(&e) {
                changed.insert(k);
                self.put(k, e);
            }
        }
        changed
    }

    /// The most specific (*,G) rule for `group` whose input is `iif`.
    pub fn star_rule(&self, group: Ipv4Addr, iif: &str) -> Option<&StarRule> {
        self.star
            .iter()
            .filter(|r| r.input == iif && r.group.contains(group))
            .max_by_key(|r| r.group.prefix())
    }

    fn derive(&self, source: Ipv4Addr, group: Ipv4Addr, iif: &str) -> Option<MribEntry> {
        self.star_rule(group, iif).map(|r| MribEntry {
            source,
            group,
            iif: iif.to_owned(),
            oifs: r.outputs.clone(),
            origin: Origin::StarG { rule: r.group },
        })
    }

    /// The kernel saw (S,G) arrive on `iif` with no entry: create one if something
    /// wants it, by precedence a configured (*,G) rule, then a routing protocol's (*,G)
    /// intent, then, when `membership` (IGMP alone decides forwarding) and `on_rpf` (the
    /// source arrived on its RPF interface), IGMP membership. Returns true if an entry was
    /// created.
    pub fn on_unresolved(
        &mut self,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iif: &str,
        on_rpf: bool,
        membership: bool,
    ) -> bool {
        if self.entries.contains_key(&(source, group)) {
            return false;
        }
        let entry = self
            .derive(source, group, iif)
            .or_else(|| self.derive_protocol_star(source, group, iif, on_rpf))
            .or_else(|| {
                (membership && on_rpf).then(|| MribEntry {
                    source,
                    group,
                    iif: iif.to_owned(),
                    oifs: self.member_oifs(source, group, iif),
                    origin: Origin::Membership,
                })
            });
        match entry {
            Some(e) => {
                self.put((source, group), e);
                true
            }
            None => false,
        }
    }

    /// An (S,G) entry from a protocol's (*,G) intent for a source arriving on `iif`: on
    /// PIM's shared tree (`iif` is the RPF interface towards the RP), or at the RP (no
    /// input interface in the intent) for a source arriving on its own RPF interface.
    fn derive_protocol_star(
        &self,
        source: Ipv4Addr,
        group: Ipv4Addr,
        iif: &str,
        on_rpf: bool,
    ) -> Option<MribEntry> {
        let star = self.protocol_star.get(&group)?;
        let (want_iif, oifs) = (&star.iif, &star.oifs);
        let accepted = match want_iif {
            // At the RP the (*,G) input is the register VIF (decapsulated Registers), and
            // a source the RP reaches directly arrives natively on its RPF interface.
            Some(w) if self.register_vif.as_ref() == Some(w) => w == iif || on_rpf,
            Some(w) => w == iif,
            None => on_rpf,
        };
        accepted.then(|| MribEntry {
            source,
            group,
            iif: iif.to_owned(),
            oifs: oifs.iter().filter(|o| o.as_str() != iif).cloned().collect(),
            origin: Origin::ProtocolStarG(star.protocol),
        })
    }

    /// A routing protocol's forwarding intent for (S,G) or (*,G); `iif` None for (*,G)
    /// at the PIM RP. Returns the entries that changed.
    pub fn set_protocol(
        &mut self,
        protocol: RoutingProtocol,
        key: common::RouteKey,
        iif: Option<String>,
        oifs: BTreeSet<String>,
    ) -> BTreeSet<SgKey> {
        let mut changed = BTreeSet::new();
        match key.source {
            Some(s) => {
                let k = (s, key.group);
                if self
                    .entries
                    .get(&k)
                    .is_some_and(|e| e.origin == Origin::Static)
                {
                    return changed;
                }
                let Some(iif) = iif else {
                    return self.clear_protocol(protocol, key);
                };
                let oifs: BTreeSet<String> = oifs.into_iter().filter(|o| *o != iif).collect();
                let e = MribEntry {
                    source: s,
                    group: key.group,
                    iif,
                    oifs,
                    origin: Origin::Protocol(protocol),
                };
                if self.entries.get(&k) != Some(&e) {
                    self.put(k, e);
                    changed.insert(k);
                }
            }
            None => {
                let g = key.group;
                self.protocol_star.insert(
                    g,
                    ProtocolStar {
                        protocol,
                        iif: iif.clone(),
                        oifs: oifs.clone(),
                    },
                );
                // Entries already derived from it follow the new outputs; those on a
                // now wrong input interface go (the next packet derives them again).
                let keys = self.group_keys(g, |e| matches!(e.origin, Origin::ProtocolStarG(_)));
                for k in keys {
                    let e = &self.entries[&k];
                    let still = match &iif {
                        Some(w) => *w == e.iif,
                        None => true,
                    };
                    if still {
                        let new: BTreeSet<String> =
                            oifs.iter().filter(|o| **o != e.iif).cloned().collect();
                        let origin = Origin::ProtocolStarG(protocol);
                        if new != e.oifs || e.origin != origin {
                            let e = self.entries.get_mut(&k).expect("listed");
                            e.oifs = new;
                            e.origin = origin;
                            changed.insert(k);
                        }
                    } else {
                        self.take(&k);
                        changed.insert(k);
                    }
                }
            }
        }
        changed
    }

    /// `protocol` no longer wants `key`. Returns the entries that changed.
    pub fn clear_protocol(
        &mut self,
        protocol: RoutingProtocol,
        key: common::RouteKey,
    ) -> BTreeSet<SgKey> {
        let mut changed = BTreeSet::new();
        match key.source {
            Some(s) => {
                let k = (s, key.group);
                if self
                    .entries
                    .get(&k)
                    .is_some_and(|e| e.origin == Origin::Protocol(protocol))
                {
                    self.take(&k);
                    changed.insert(k);
                }
            }
            None => {
                let g = key.group;
                if self
                    .protocol_star
                    .get(&g)
                    .is_some_and(|s| s.protocol == protocol)
                {
                    self.protocol_star.remove(&g);
                }
                let keys = self.group_keys(g, |e| e.origin == Origin::ProtocolStarG(protocol));
                for k in keys {
                    self.take(&k);
                    changed.insert(k);
                }
            }
        }
        changed
    }

    /// Name the PIM register VIF's device (see [`Mrib::on_unresolved`]).
    pub fn set_register_vif(&mut self, name: Option<String>) {
        self.register_vif = name;
    }

    /// Routing protocol (*,G) intents, for `show`.
    pub fn protocol_star(&self) -> &BTreeMap<Ipv4Addr, ProtocolStar> {
        &self.protocol_star
    }

    /// Interfaces other than `iif` whose membership admits traffic from `source` to
    /// `group`: INCLUDE lists it, or EXCLUDE does not (RFC 3376 section 6.3).
    pub fn member_oifs(&self, source: Ipv4Addr, group: Ipv4Addr, iif: &str) -> BTreeSet<String> {
        self.members
            .get(&group)
            .map(|m| {
                m.iter()
                    .filter(|(name, (mode, srcs))| {
                        name.as_str() != iif
                            && match mode {
                                FilterMode::Include => srcs.contains(&source),
                                FilterMode::Exclude => !srcs.contains(&source),
                            }
                    })
                    .map(|(name, _)| name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// IGMP's forwarding state for `group` on `iface` changed. INCLUDE {} removes it.
    /// Returns the entries whose outputs changed.
    pub fn set_membership(
        &mut self,
        iface: &str,
        group: Ipv4Addr,
        mode: FilterMode,
        sources: BTreeSet<Ipv4Addr>,
    ) -> BTreeSet<SgKey> {
        let m = self.members.entry(group).or_default();
        if mode == FilterMode::Include && sources.is_empty() {
            m.remove(iface);
            if m.is_empty() {
                self.members.remove(&group);
            }
        } else {
            m.insert(iface.to_owned(), (mode, sources));
        }
        let keys = self.group_keys(group, |e| e.origin == Origin::Membership);
        let mut changed = BTreeSet::new();
        for k in keys {
            let oifs = self.member_oifs(k.0, k.1, &self.entries[&k].iif);
            let e = self.entries.get_mut(&k).expect("listed");
            if e.oifs != oifs {
                e.oifs = oifs;
                changed.insert(k);
            }
        }
        changed
    }

    /// Forget all membership of an interface (IGMP disabled there). Returns changed keys.
    pub fn clear_membership(&mut self, iface: &str) -> BTreeSet<SgKey> {
        let groups: Vec<Ipv4Addr> = self
            .members
            .iter()
            .filter(|(_, m)| m.contains_key(iface))
            .map(|(g, _)| *g)
            .collect();
        let mut changed = BTreeSet::new();
        for g in groups {
            changed.extend(self.set_membership(iface, g, FilterMode::Include, BTreeSet::new()));
        }
        changed
    }

    /// Membership by group, for `show`.
    pub fn memberships(
        &self,
    ) -> &BTreeMap<Ipv4Addr, BTreeMap<String, (FilterMode, BTreeSet<Ipv4Addr>)>> {
        &self.members
    }

    /// Remove an on-demand entry (its source went idle). Static entries stay.
    pub fn expire(&mut self, key: SgKey) -> bool {
        // Static routes and protocol (S,G) state live as long as their owner wants them.
        if self
            .entries
            .get(&key)
            .is_some_and(|e| !matches!(e.origin, Origin::Static | Origin::Protocol(_)))
        {
            self.take(&key);
            true
        } else {
            false
        }
    }

    pub fn get(&self, key: &SgKey) -> Option<&MribEntry> {
        self.entries.get(key)
    }

    pub fn entries(&self) -> impl Iterator<Item = &MribEntry> {
        self.entries.values()
    }

    pub fn keys(&self) -> impl Iterator<Item = SgKey> + '_ {
        self.entries.keys().copied()
    }

    pub fn star_rules(&self) -> &[StarRule] {
        &self.star
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What the router knows about an interface when it resolves entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfaceView {
    pub ifindex: u32,
    pub vif: u16,
    pub ttl_threshold: u8,
    pub boundaries: Vec<Ipv4Network>,
}

/// A kernel MFC entry: input device and TTL thresholds indexed by VIF (0 = not forwarded).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KernelEntry {
    pub iif_ifindex: u32,
    pub iif_vif: u16,
    pub ttls: Vec<u8>,
}

/// Why an outgoing interface of an entry does or does not forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OifState {
    Forwarding,
    /// The interface does not exist (yet) or has no VIF.
    NoVif,
    /// The group is inside an administrative boundary of the interface.
    Boundary,
}

/// Why an entry is or is not in the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryState {
    Installed,
    /// The input interface does not exist (yet) or has no VIF.
    NoInputVif,
    /// The group is inside an administrative boundary of the input interface: nothing
    /// from there is forwarded.
    InputBoundary,
}

/// The kernel form of an MRIB entry, with the reason for each interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub state: EntryState,
    pub kernel: Option<KernelEntry>,
    pub oifs: Vec<(String, OifState)>,
}

/// Translate one entry. `iface` looks an interface up by name.
pub fn resolve(entry: &MribEntry, iface: impl Fn(&str) -> Option<IfaceView>) -> Resolved {
    let oifs: Vec<(String, OifState)> = entry
        .oifs
        .iter()
        .map(|name| {
            let st = match iface(name) {
                None => OifState::NoVif,
                Some(v) if v.boundaries.iter().any(|b| b.contains(entry.group)) => {
                    OifState::Boundary
                }
                Some(_) => OifState::Forwarding,
            };
            (name.clone(), st)
        })
        .collect();
    let Some(input) = iface(&entry.iif) else {
        return Resolved {
            state: EntryState::NoInputVif,
            kernel: None,
            oifs,
        };
    };
    if input.boundaries.iter().any(|b| b.contains(entry.group)) {
        return Resolved {
            state: EntryState::InputBoundary,
            kernel: None,
            oifs,
        };
    }
    let mut ttls = Vec::new();
    for (name, st) in &oifs {
        if *st != OifState::Forwarding {
            continue;
        }
        let v = iface(name).expect("resolved above");
        let slot = usize::from(v.vif);
        if ttls.len() <= slot {
            ttls.resize(slot + 1, 0);
        }
        // The kernel forwards when the packet's TTL is greater than the slot value, and
        // 0 means "not an outgoing interface", so the lowest usable threshold is 1.
        ttls[slot] = v.ttl_threshold.max(1);
    }
    Resolved {
        state: EntryState::Installed,
        kernel: Some(KernelEntry {
            iif_ifindex: input.ifindex,
            iif_vif: input.vif,
            ttls,
        }),
        oifs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIM: RoutingProtocol = RoutingProtocol::Pim;

    fn a(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn route(src: Option<&str>, grp: &str, input: &str, outs: &[&str]) -> StaticRoute {
        let group: Ipv4Network = if grp.contains('/') {
            grp.parse().unwrap()
        } else {
            Ipv4Network::new(a(grp), 32).unwrap()
        };
        StaticRoute {
            source: src.map(a),
            group,
            input: input.into(),
            outputs: outs.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn ifaces(name: &str) -> Option<IfaceView> {
        let (ifindex, vif, thr, bnd): (u32, u16, u8, &[&str]) = match name {
            "eth0" => (10, 0, 1, &[]),
            "eth1" => (11, 1, 1, &[]),
            "eth2" => (12, 3, 16, &[]),
            "edge" => (13, 2, 1, &["239.0.0.0/8"]),
            _ => return None,
        };
        Some(IfaceView {
            ifindex,
            vif,
            ttl_threshold: thr,
            boundaries: bnd.iter().map(|b| b.parse().unwrap()).collect(),
        })
    }

    #[test]
    fn static_sg_translates_to_positional_ttls() {
        let mut m = Mrib::default();
        let changed = m.set_static(&[route(
            Some("10.0.0.1"),
            "232.1.1.1",
            "eth0",
            &["eth1", "eth2"],
        )]);
        assert_eq!(changed.len(), 1);
        let e = m.get(&(a("10.0.0.1"), a("232.1.1.1"))).unwrap();
        let r = resolve(e, ifaces);
        assert_eq!(r.state, EntryState::Installed);
        assert_eq!(
            r.kernel,
            Some(KernelEntry {
                iif_ifindex: 10,
                iif_vif: 0,
                ttls: vec![0, 1, 0, 16]
            })
        );
    }

    #[test]
    fn missing_interfaces_and_boundaries() {
        let mut m = Mrib::default();
        m.set_static(&[
            route(
                Some("10.0.0.1"),
                "239.1.1.1",
                "eth0",
                &["eth1", "edge", "ppp0"],
            ),
            route(Some("10.0.0.1"), "239.2.2.2", "edge", &["eth1"]),
            route(Some("10.0.0.1"), "232.2.2.2", "ppp0", &["eth1"]),
        ]);
        let r = resolve(m.get(&(a("10.0.0.1"), a("239.1.1.1"))).unwrap(), ifaces);
        assert_eq!(r.kernel.unwrap().ttls, vec![0, 1]);
        assert_eq!(
            r.oifs,
            vec![
                ("edge".into(), OifState::Boundary),
                ("eth1".into(), OifState::Forwarding),
                ("ppp0".into(), OifState::NoVif)
            ]
        );
        let r = resolve(m.get(&(a("10.0.0.1"), a("239.2.2.2"))).unwrap(), ifaces);
        assert_eq!((r.state, r.kernel), (EntryState::InputBoundary, None));
        let r = resolve(m.get(&(a("10.0.0.1"), a("232.2.2.2"))).unwrap(), ifaces);
        assert_eq!((r.state, r.kernel), (EntryState::NoInputVif, None));
    }

    #[test]
    fn star_g_creates_entries_per_source_with_longest_match() {
        let mut m = Mrib::default();
        m.set_static(&[
            route(None, "225.0.0.0/8", "eth0", &["eth1"]),
            route(None, "225.1.0.0/16", "eth0", &["eth1", "eth2"]),
        ]);
        assert!(m.is_empty());
        assert!(m.on_unresolved(a("10.0.0.1"), a("225.1.2.3"), "eth0", false, false));
        assert!(m.on_unresolved(a("10.0.0.2"), a("225.9.2.3"), "eth0", false, false));
        // Wrong input interface, or no rule: nothing.
        assert!(!m.on_unresolved(a("10.0.0.3"), a("225.1.2.3"), "eth1", false, false));
        assert!(!m.on_unresolved(a("10.0.0.3"), a("226.1.2.3"), "eth0", false, false));
        // Already there: nothing new.
        assert!(!m.on_unresolved(a("10.0.0.1"), a("225.1.2.3"), "eth0", false, false));
        assert_eq!(m.len(), 2);
        let e = m.get(&(a("10.0.0.1"), a("225.1.2.3"))).unwrap();
        assert_eq!(e.oifs.len(), 2);
        assert_eq!(
            e.origin,
            Origin::StarG {
                rule: "225.1.0.0/16".parse().unwrap()
            }
        );
        let e = m.get(&(a("10.0.0.2"), a("225.9.2.3"))).unwrap();
        assert_eq!(e.oifs.len(), 1);
        assert!(m.expire((a("10.0.0.2"), a("225.9.2.3"))));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn membership_decides_the_outputs_of_sources_on_their_rpf_interface() {
        let mut m = Mrib::default();
        let (s1, s2, g) = (a("10.0.0.1"), a("10.0.0.2"), a("239.1.1.1"));
        // eth1 wants only s1, eth2 everything but s2.
        m.set_membership("eth1", g, FilterMode::Include, [s1].into());
        m.set_membership("eth2", g, FilterMode::Exclude, [s2].into());
        // Not on the RPF interface: nothing is created.
        assert!(!m.on_unresolved(s1, g, "eth0", false, false));
        assert!(m.on_unresolved(s1, g, "eth0", true, true));
        assert!(m.on_unresolved(s2, g, "eth0", true, true));
        let oifs = |m: &Mrib, s| {
            m.get(&(s, g))
                .unwrap()
                .oifs
                .iter()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(oifs(&m, s1), ["eth1", "eth2"]);
        assert!(
            oifs(&m, s2).is_empty(),
            "an entry with no outputs stops further upcalls"
        );
        assert_eq!(m.get(&(s2, g)).unwrap().origin, Origin::Membership);
        // eth2 switches to INCLUDE {s2}: both entries change.
        let changed = m.set_membership("eth2", g, FilterMode::Include, [s2].into());
        assert_eq!(changed, [(s1, g), (s2, g)].into());
        assert_eq!(oifs(&m, s1), ["eth1"]);
        assert_eq!(oifs(&m, s2), ["eth2"]);
        // The input interface is never an output, whatever its membership.
        m.set_membership("eth0", g, FilterMode::Exclude, BTreeSet::new());
        assert_eq!(oifs(&m, s1), ["eth1"]);
        // Leaving: INCLUDE {} removes the interface.
        let changed = m.clear_membership("eth1");
        assert_eq!(changed, [(s1, g)].into());
        assert!(oifs(&m, s1).is_empty());
        assert!(!m.memberships()[&g].contains_key("eth1"));
        // A (*,G) rule takes precedence over membership.
        m.set_static(&[route(None, "239.0.0.0/8", "eth0", &["eth1"])]);
        assert!(m.on_unresolved(a("10.0.0.3"), g, "eth0", true, true));
        assert!(matches!(
            m.get(&(a("10.0.0.3"), g)).unwrap().origin,
            Origin::StarG { .. }
        ));
        assert!(m.expire((s1, g)), "membership entries expire when idle");
    }

    #[test]
    fn pim_intents_for_sg_and_star_g() {
        let mut m = Mrib::default();
        let (s1, s2, g) = (a("10.0.0.1"), a("10.0.0.2"), a("239.1.1.1"));
        let set = |v: &[&str]| {
            v.iter()
                .map(|x| x.to_string())
                .collect::<BTreeSet<String>>()
        };
        // (S,G): an entry at once; the input is never an output.
        let ch = m.set_protocol(
            PIM,
            common::RouteKey::sg(s1, g),
            Some("eth0".into()),
            set(&["eth0", "eth1"]),
        );
        assert_eq!(ch, [(s1, g)].into());
        assert_eq!(m.get(&(s1, g)).unwrap().oifs, set(&["eth1"]));
        assert_eq!(m.get(&(s1, g)).unwrap().origin, Origin::Protocol(PIM));
        assert!(
            !m.expire((s1, g)),
            "PIM state does not expire with idleness"
        );
        // (*,G) on the shared tree: sources arriving on the RPF interface to the RP only.
        m.set_protocol(
            PIM,
            common::RouteKey::star_g(g),
            Some("eth2".into()),
            set(&["eth1", "eth3"]),
        );
        assert!(!m.on_unresolved(s2, g, "eth0", true, false));
        assert!(m.on_unresolved(s2, g, "eth2", false, false));
        assert_eq!(m.get(&(s2, g)).unwrap().oifs, set(&["eth1", "eth3"]));
        // The (*,G) olist changes: derived entries follow; (S,G) state is separate.
        let ch = m.set_protocol(
            PIM,
            common::RouteKey::star_g(g),
            Some("eth2".into()),
            set(&["eth1"]),
        );
        assert_eq!(ch, [(s2, g)].into());
        // The RPF interface towards the RP changes: derived entries go.
        let ch = m.set_protocol(
            PIM,
            common::RouteKey::star_g(g),
            Some("eth4".into()),
            set(&["eth1"]),
        );
        assert_eq!(ch, [(s2, g)].into());
        assert!(m.get(&(s2, g)).is_none());
        // At the RP (no iif): any source on its RPF interface.
        m.set_protocol(PIM, common::RouteKey::star_g(g), None, set(&["eth1"]));
        assert!(!m.on_unresolved(s2, g, "eth3", false, false));
        assert!(m.on_unresolved(s2, g, "eth3", true, false));
        // Removing the intents removes what they made.
        assert_eq!(
            m.clear_protocol(PIM, common::RouteKey::star_g(g)),
            [(s2, g)].into()
        );
        assert_eq!(
            m.clear_protocol(PIM, common::RouteKey::sg(s1, g)),
            [(s1, g)].into()
        );
        assert!(m.is_empty());
        // A static route is never overridden by PIM.
        m.set_static(&[route(Some("10.0.0.1"), "239.1.1.1", "eth0", &["eth1"])]);
        assert!(
            m.set_protocol(
                PIM,
                common::RouteKey::sg(s1, g),
                Some("eth5".into()),
                set(&["eth6"])
            )
            .is_empty()
        );
        assert_eq!(m.get(&(s1, g)).unwrap().origin, Origin::Static);
    }

    #[test]
    fn origins_serialise_with_stable_kinds() {
        let cases = [
            (Origin::Static, r#"{"kind":"static"}"#),
            (
                Origin::StarG {
                    rule: "225.0.0.0/8".parse().unwrap(),
                },
                r#"{"kind":"star-g","rule":"225.0.0.0/8"}"#,
            ),
            (Origin::Membership, r#"{"kind":"membership"}"#),
            (Origin::Protocol(PIM), r#"{"kind":"pim"}"#),
            (Origin::ProtocolStarG(PIM), r#"{"kind":"pim-star-g"}"#),
            (
                Origin::Protocol(RoutingProtocol::Dvmrp),
                r#"{"kind":"dvmrp"}"#,
            ),
            (
                Origin::ProtocolStarG(RoutingProtocol::Dvmrp),
                r#"{"kind":"dvmrp-star-g"}"#,
            ),
        ];
        for (o, json) in cases {
            assert_eq!(serde_json::to_string(&o).unwrap(), json);
        }
    }

    #[test]
    fn dvmrp_intents_belong_to_dvmrp() {
        const DVMRP: RoutingProtocol = RoutingProtocol::Dvmrp;
        let mut m = Mrib::default();
        let (s1, s2, g) = (a("10.0.0.1"), a("10.0.0.2"), a("239.1.1.1"));
        let oifs: BTreeSet<String> = ["eth1".to_string()].into();
        m.set_protocol(
            DVMRP,
            common::RouteKey::sg(s1, g),
            Some("eth0".into()),
            oifs.clone(),
        );
        m.set_protocol(
            DVMRP,
            common::RouteKey::star_g(g),
            Some("eth0".into()),
            oifs.clone(),
        );
        assert!(m.on_unresolved(s2, g, "eth0", true, false));
        assert_eq!(m.get(&(s1, g)).unwrap().origin, Origin::Protocol(DVMRP));
        assert_eq!(
            m.get(&(s2, g)).unwrap().origin,
            Origin::ProtocolStarG(DVMRP)
        );
        // Another protocol's removal leaves DVMRP's intents alone.
        assert!(
            m.clear_protocol(PIM, common::RouteKey::sg(s1, g))
                .is_empty()
        );
        assert!(
            m.clear_protocol(PIM, common::RouteKey::star_g(g))
                .is_empty()
        );
        assert_eq!(m.protocol_star().len(), 1);
    }

    #[test]
    fn reload_touches_only_what_changed() {
        let mut m = Mrib::default();
        let r1 = route(Some("10.0.0.1"), "232.1.1.1", "eth0", &["eth1"]);
        let r2 = route(Some("10.0.0.1"), "232.1.1.2", "eth0", &["eth1"]);
        let star = route(None, "225.0.0.0/8", "eth0", &["eth1"]);
        m.set_static(&[r1.clone(), r2.clone(), star.clone()]);
        m.on_unresolved(a("10.0.0.9"), a("225.0.0.1"), "eth0", false, false);
        // Same config: nothing changes.
        assert!(
            m.set_static(&[r1.clone(), r2.clone(), star.clone()])
                .is_empty()
        );
        // r2 gets another output, r1 untouched, the star rule gains eth2.
        let r2b = route(Some("10.0.0.1"), "232.1.1.2", "eth0", &["eth1", "eth2"]);
        let starb = route(None, "225.0.0.0/8", "eth0", &["eth1", "eth2"]);
        let changed = m.set_static(&[r1.clone(), r2b, starb]);
        assert_eq!(
            changed,
            [
                (a("10.0.0.1"), a("232.1.1.2")),
                (a("10.0.0.9"), a("225.0.0.1"))
            ]
            .into()
        );
        // Removing the star rule removes its derived entries; removing r1 removes r1.
        let changed = m.set_static(std::slice::from_ref(&r2));
        assert_eq!(
            changed,
            [
                (a("10.0.0.1"), a("232.1.1.1")),
                (a("10.0.0.1"), a("232.1.1.2")),
                (a("10.0.0.9"), a("225.0.0.1"))
            ]
            .into()
        );
        assert_eq!(m.len(), 1);
        // A static route takes over a key that a (*,G) rule had derived.
        m.set_static(&[r2.clone(), star.clone()]);
        m.on_unresolved(a("10.0.0.1"), a("225.0.0.1"), "eth0", false, false);
        let takeover = route(Some("10.0.0.1"), "225.0.0.1", "eth1", &["eth0"]);
        let changed = m.set_static(&[r2, star, takeover]);
        assert_eq!(changed, [(a("10.0.0.1"), a("225.0.0.1"))].into());
        assert_eq!(
            m.get(&(a("10.0.0.1"), a("225.0.0.1"))).unwrap().origin,
            Origin::Static
        );
        assert!(
            !m.expire((a("10.0.0.1"), a("225.0.0.1"))),
            "static entries never expire"
        );
    }

    /// The per-group index always lists exactly the entries there are, whatever adds or
    /// removes them.
    #[test]
    fn the_group_index_follows_every_change() {
        fn check(m: &Mrib) {
            let mut want: BTreeMap<Ipv4Addr, BTreeSet<Ipv4Addr>> = BTreeMap::new();
            for (s, g) in m.entries.keys() {
                want.entry(*g).or_default().insert(*s);
            }
            assert_eq!(m.by_group, want);
        }
        let mut m = Mrib::default();
        let (g1, g2) = (a("239.1.1.1"), a("239.2.2.2"));
        let (s1, s2) = (a("10.0.0.1"), a("10.0.0.2"));
        m.set_static(&[route(Some("10.0.0.9"), "239.1.1.1", "eth0", &["eth1"])]);
        check(&m);
        m.set_membership("eth1", g1, FilterMode::Exclude, BTreeSet::new());
        assert!(m.on_unresolved(s1, g1, "eth0", true, true));
        check(&m);
        m.set_protocol(
            PIM,
            common::RouteKey::sg(s2, g2),
            Some("eth0".into()),
            ["eth1".into()].into(),
        );
        m.set_protocol(
            PIM,
            common::RouteKey::star_g(g1),
            Some("eth0".into()),
            ["eth2".into()].into(),
        );
        check(&m);
        assert_eq!(
            m.group_keys(g1, |_| true),
            vec![(s1, g1), (a("10.0.0.9"), g1)]
        );
        m.clear_protocol(PIM, common::RouteKey::sg(s2, g2));
        check(&m);
        assert!(m.group_keys(g2, |_| true).is_empty());
        assert!(m.expire((s1, g1)));
        m.set_static(&[]);
        check(&m);
        assert!(m.by_group.is_empty());
    }
}
