//! Which interfaces each protocol (IGMP, PIM, DVMRP) runs on, kept by one generic tracker.
//!
//! A protocol runs on an interface while the interface is configured for it, exists, has a
//! VIF, its link is up and it has an address for the protocol
//! ([`Daemon::protocol_address`]). The daemon lists what is true now as [`Candidate`]s
//! ([`Daemon::protocol_candidates`]); [`Tracker::sync`] compares them with what the
//! protocol instance was last told and returns the [`Transition`]s to apply, in order; and
//! [`drive`] applies them to the instance (configure, up, down, remove) together with the
//! protocol's own group joins and leaves.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use common::{Action, IfIndex, Input, InterfaceChange, Protocol};

use super::Daemon;
use crate::config::{InterfaceConfig, ProtocolName};

/// What a protocol instance was last told about an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ProtoIface<C> {
    pub ifindex: u32,
    pub cfg: C,
    /// Address and prefix length while the interface is up and addressed.
    pub up: Option<(Ipv4Addr, u8)>,
}

/// An interface that may run the protocol now: configured for it, with a device and a VIF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Candidate<C> {
    pub name: String,
    pub ifindex: u32,
    pub cfg: C,
    /// Its address for the protocol while the link is up.
    pub up: Option<(Ipv4Addr, u8)>,
}

/// One change to tell a protocol instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Transition<C> {
    /// Stop the protocol on the interface (`remove_interface`): no longer configured for
    /// it, its device is gone or was re-created, or it lost its VIF. `was_up`: the
    /// protocol's groups were joined there.
    Remove {
        name: String,
        ifindex: u32,
        was_up: bool,
    },
    /// Enable the protocol (`first`) or replace the interface's configuration
    /// (`configure_interface`).
    Configure {
        name: String,
        ifindex: u32,
        cfg: C,
        first: bool,
    },
    /// Up with this address (`InterfaceChange::Up`), also when only the address changed;
    /// `first`: it was not up before (join the protocol's groups).
    Up {
        name: String,
        ifindex: u32,
        addr: Ipv4Addr,
        prefix_len: u8,
        first: bool,
    },
    /// Link down or no address any more (`InterfaceChange::Down`; leave the groups).
    Down { name: String, ifindex: u32 },
}

/// The interfaces one protocol instance runs on, by configured name.
#[derive(Clone, Debug)]
pub(super) struct Tracker<C> {
    ifaces: BTreeMap<String, ProtoIface<C>>,
}

impl<C> Default for Tracker<C> {
    fn default() -> Self {
        Tracker {
            ifaces: BTreeMap::new(),
        }
    }
}

impl<C: Clone + PartialEq> Tracker<C> {
    /// Record `candidates` (every interface that may run the protocol now, in name order)
    /// and return what the protocol instance must be told: first the interfaces to
    /// remove, then per candidate a configuration change, then an up/down change.
    pub fn sync(&mut self, candidates: Vec<Candidate<C>>) -> Vec<Transition<C>> {
        let mut out = Vec::new();
        let gone: Vec<String> = self
            .ifaces
            .iter()
            .filter(|(name, st)| {
                !candidates
                    .iter()
                    .any(|c| c.name == **name && c.ifindex == st.ifindex)
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in gone {
            let st = self.ifaces.remove(&name).expect("listed");
            out.push(Transition::Remove {
                name,
                ifindex: st.ifindex,
                was_up: st.up.is_some(),
            });
        }
        for c in candidates {
            let prev = self.ifaces.get(&c.name);
            if prev.is_none_or(|p| p.cfg != c.cfg) {
                out.push(Transition::Configure {
                    name: c.name.clone(),
                    ifindex: c.ifindex,
                    cfg: c.cfg.clone(),
                    first: prev.is_none(),
                });
            }
            let was_up = prev.and_then(|p| p.up);
            if was_up != c.up {
                out.push(match c.up {
                    Some((addr, prefix_len)) => Transition::Up {
                        name: c.name.clone(),
                        ifindex: c.ifindex,
                        addr,
                        prefix_len,
                        first: was_up.is_none(),
                    },
                    None => Transition::Down {
                        name: c.name.clone(),
                        ifindex: c.ifindex,
                    },
                });
            }
            self.ifaces.insert(
                c.name,
                ProtoIface {
                    ifindex: c.ifindex,
                    cfg: c.cfg,
                    up: c.up,
                },
            );
        }
        out
    }
}

impl<C> Tracker<C> {
    pub fn contains(&self, name: &str) -> bool {
        self.ifaces.contains_key(name)
    }

    /// The interface with this ifindex.
    pub fn by_ifindex(&self, ifindex: u32) -> Option<&ProtoIface<C>> {
        self.ifaces.values().find(|i| i.ifindex == ifindex)
    }

    /// The protocol's address on `ifindex` while it runs there (the source of what it
    /// sends).
    pub fn addr(&self, ifindex: u32) -> Option<Ipv4Addr> {
        self.by_ifindex(ifindex).and_then(|i| i.up).map(|(a, _)| a)
    }

    /// The protocol runs (is up) on `ifindex`.
    pub fn is_up(&self, ifindex: u32) -> bool {
        self.addr(ifindex).is_some()
    }

    /// The protocol runs on some interface.
    pub fn any_up(&self) -> bool {
        self.ifaces.values().any(|i| i.up.is_some())
    }

    /// Every tracked interface's ifindex (up or not).
    pub fn ifindexes(&self) -> Vec<u32> {
        self.ifaces.values().map(|i| i.ifindex).collect()
    }
}

/// A protocol instance the tracker drives: the three protocol crates have the same
/// interface-management calls besides [`Protocol::handle`].
pub(super) trait Instance: Protocol {
    type IfConfig;
    fn configure_interface(
        &mut self,
        now: common::Instant,
        ifindex: IfIndex,
        cfg: Self::IfConfig,
    ) -> Vec<Action>;
    fn remove_interface(&mut self, now: common::Instant, ifindex: IfIndex) -> Vec<Action>;
}

impl Instance for igmp::Igmp {
    type IfConfig = igmp::config::InterfaceConfig;
    fn configure_interface(
        &mut self,
        now: common::Instant,
        ifindex: IfIndex,
        cfg: Self::IfConfig,
    ) -> Vec<Action> {
        igmp::Igmp::configure_interface(self, now, ifindex, cfg)
    }
    fn remove_interface(&mut self, now: common::Instant, ifindex: IfIndex) -> Vec<Action> {
        igmp::Igmp::remove_interface(self, now, ifindex)
    }
}

impl Instance for pim::Pim {
    type IfConfig = pim::config::InterfaceConfig;
    fn configure_interface(
        &mut self,
        now: common::Instant,
        ifindex: IfIndex,
        cfg: Self::IfConfig,
    ) -> Vec<Action> {
        pim::Pim::configure_interface(self, now, ifindex, cfg)
    }
    fn remove_interface(&mut self, now: common::Instant, ifindex: IfIndex) -> Vec<Action> {
        pim::Pim::remove_interface(self, now, ifindex)
    }
}

impl Instance for dvmrp::Dvmrp {
    type IfConfig = dvmrp::config::InterfaceConfig;
    fn configure_interface(
        &mut self,
        now: common::Instant,
        ifindex: IfIndex,
        cfg: Self::IfConfig,
    ) -> Vec<Action> {
        dvmrp::Dvmrp::configure_interface(self, now, ifindex, cfg)
    }
    fn remove_interface(&mut self, now: common::Instant, ifindex: IfIndex) -> Vec<Action> {
        dvmrp::Dvmrp::remove_interface(self, now, ifindex)
    }
}

/// Apply `transitions` to `instance`; returns its actions. `label` names the protocol in
/// logs; `groups(ifindex, name, join)` joins (true) or leaves (false) the protocol's
/// multicast groups on an interface as it comes up or goes down.
pub(super) fn drive<P: Instance>(
    instance: &mut P,
    now: common::Instant,
    label: &str,
    transitions: Vec<Transition<P::IfConfig>>,
    mut groups: impl FnMut(u32, &str, bool),
) -> Vec<Action> {
    let mut actions = Vec::new();
    for t in transitions {
        match t {
            Transition::Remove {
                name,
                ifindex,
                was_up,
            } => {
                if was_up {
                    groups(ifindex, &name, false);
                }
                actions.extend(instance.remove_interface(now, IfIndex(ifindex)));
                tracing::info!(interface = %name, "{label} stopped");
            }
            Transition::Configure {
                name,
                ifindex,
                cfg,
                first,
            } => {
                actions.extend(instance.configure_interface(now, IfIndex(ifindex), cfg));
                if first {
                    tracing::info!(interface = %name, "{label} enabled");
                }
            }
            Transition::Up {
                name,
                ifindex,
                addr,
                prefix_len,
                first,
            } => {
                if first {
                    groups(ifindex, &name, true);
                }
                actions.extend(instance.handle(
                    now,
                    Input::Interface(InterfaceChange::Up {
                        ifindex: IfIndex(ifindex),
                        name,
                        addr,
                        prefix_len,
                    }),
                ));
            }
            Transition::Down { name, ifindex } => {
                groups(ifindex, &name, false);
                actions.extend(instance.handle(
                    now,
                    Input::Interface(InterfaceChange::Down {
                        ifindex: IfIndex(ifindex),
                    }),
                ));
            }
        }
    }
    actions
}

/// Log a failed join of `group` on an interface; EADDRINUSE (already joined, the
/// interface came back) is not a failure.
fn log_join(r: std::io::Result<()>, name: &str, group: Ipv4Addr, what: &str) {
    if let Err(e) = r
        && e.raw_os_error() != Some(libc::EADDRINUSE)
    {
        tracing::error!(interface = %name, "joining {group} for {what}: {e}");
    }
}

/// The `groups` argument of [`drive`] for a protocol that listens to `groups` on its
/// interfaces through a socket's `join` / `leave` (errors joining are logged, except
/// "already joined"; leaving is best effort).
pub(super) fn listen_to(
    groups: &[Ipv4Addr],
    what: &str,
    join: impl Fn(Ipv4Addr, u32) -> std::io::Result<()>,
    leave: impl Fn(Ipv4Addr, u32) -> std::io::Result<()>,
) -> impl FnMut(u32, &str, bool) {
    move |ifindex, name, up| {
        for &g in groups {
            if up {
                log_join(join(g, ifindex), name, g, what);
            } else {
                let _ = leave(g, ifindex);
            }
        }
    }
}

impl Daemon {
    /// The address `protocol` uses on an interface (the source of its packets and the
    /// subnet it announces), while the link is up: the interface's first IPv4 address.
    /// The one place to special-case interfaces whose address is not on the device.
    pub(super) fn protocol_address(
        &self,
        _protocol: ProtocolName,
        name: &str,
        ifindex: u32,
    ) -> Option<(Ipv4Addr, u8)> {
        let link_up = self.links.get(&ifindex).is_some_and(|l| l.is_up());
        if !link_up {
            return None;
        }
        // A tunnel has no address of its own: it speaks from its local endpoint, a
        // point-to-point link to `remote`.
        if let Some(t) = self
            .config
            .interfaces
            .get(name)
            .and_then(|c| c.tunnel.as_ref())
        {
            return Some((t.local, 32));
        }
        self.addrs.get(&ifindex).and_then(|v| v.first().copied())
    }

    /// Every interface configured for `protocol` that exists and has a VIF, in name
    /// order, with its settings for the protocol (`settings`) and its address.
    pub(super) fn protocol_candidates<C: Clone>(
        &self,
        protocol: ProtocolName,
        settings: impl Fn(&InterfaceConfig) -> Option<&C>,
    ) -> Vec<Candidate<C>> {
        self.config
            .interfaces
            .values()
            .filter_map(|c| {
                let cfg = settings(c)?.clone();
                let state = self.ifaces.get(&c.name)?;
                let (Some(ifindex), Some(_vif)) = (state.ifindex, state.vif) else {
                    return None;
                };
                Some(Candidate {
                    name: c.name.clone(),
                    ifindex,
                    cfg,
                    up: self.protocol_address(protocol, &c.name, ifindex),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(name: &str, ifindex: u32, cfg: u8, up: Option<&str>) -> Candidate<u8> {
        Candidate {
            name: name.into(),
            ifindex,
            cfg,
            up: up.map(|a| (a.parse().unwrap(), 24)),
        }
    }

    #[test]
    fn transitions_follow_configuration_device_and_link() {
        let mut t: Tracker<u8> = Tracker::default();
        // Configured, no address yet: configure only.
        let tr = t.sync(vec![cand("eth0", 2, 1, None)]);
        assert_eq!(
            tr,
            [Transition::Configure {
                name: "eth0".into(),
                ifindex: 2,
                cfg: 1,
                first: true
            }]
        );
        assert!(!t.any_up() && t.contains("eth0"));
        // Up: the first Up joins groups.
        let tr = t.sync(vec![cand("eth0", 2, 1, Some("10.0.0.1"))]);
        assert!(
            matches!(tr[..], [Transition::Up { first: true, .. }]),
            "{tr:?}"
        );
        assert_eq!(t.addr(2), Some("10.0.0.1".parse().unwrap()));
        // Nothing changed: nothing to do.
        assert!(
            t.sync(vec![cand("eth0", 2, 1, Some("10.0.0.1"))])
                .is_empty()
        );
        // New settings and a new address: configure, then Up (not the first).
        let tr = t.sync(vec![cand("eth0", 2, 7, Some("10.0.0.9"))]);
        assert!(
            matches!(
                tr[..],
                [
                    Transition::Configure {
                        cfg: 7,
                        first: false,
                        ..
                    },
                    Transition::Up { first: false, .. }
                ]
            ),
            "{tr:?}"
        );
        // Link down.
        let tr = t.sync(vec![cand("eth0", 2, 7, None)]);
        assert!(
            matches!(tr[..], [Transition::Down { ifindex: 2, .. }]),
            "{tr:?}"
        );
        assert!(!t.is_up(2));
        // The device is re-created under the same name: remove the old, start the new.
        t.sync(vec![cand("eth0", 2, 7, Some("10.0.0.9"))]);
        let tr = t.sync(vec![cand("eth0", 5, 7, Some("10.0.0.9"))]);
        assert!(
            matches!(
                tr[..],
                [
                    Transition::Remove {
                        ifindex: 2,
                        was_up: true,
                        ..
                    },
                    Transition::Configure {
                        ifindex: 5,
                        first: true,
                        ..
                    },
                    Transition::Up {
                        ifindex: 5,
                        first: true,
                        ..
                    }
                ]
            ),
            "{tr:?}"
        );
        // No longer a candidate (protocol removed, VIF lost): removed.
        let tr = t.sync(vec![]);
        assert!(
            matches!(tr[..], [Transition::Remove { ifindex: 5, .. }]),
            "{tr:?}"
        );
        assert!(t.ifindexes().is_empty() && !t.contains("eth0"));
    }
}
