//! IGMP in the shell: which interfaces run it, packets in, queries out, membership into
//! the MRIB. The protocol itself is the sans-IO `igmp` crate.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use common::{Action, IfIndex, Input, InterfaceChange, Protocol, RxPacket};

use super::Daemon;
use crate::ipv4;

/// All IGMPv3 routers (RFC 3376 section 4.2.14) and all routers, where v2 leaves go
/// (RFC 2236 section 3): the mroute socket must join both or those messages never reach it.
const ALL_V3_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 22);
const ALL_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 2);

/// What the IGMP instance was last told about an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct IgmpIface {
    pub ifindex: u32,
    pub cfg: igmp::config::InterfaceConfig,
    /// Address and prefix length while the interface is up and addressed.
    pub up: Option<(Ipv4Addr, u8)>,
}

impl Daemon {
    pub(super) fn now(&self) -> common::Instant {
        common::Instant::from_epoch(self.started.elapsed())
    }

    /// Bring the IGMP instance in line with configuration and interface state: an IGMP
    /// interface runs while it has a VIF, its link is up and it has an IPv4 address.
    pub(super) fn sync_igmp(&mut self) {
        let now = self.now();
        let mut actions = Vec::new();
        // Interfaces that no longer run IGMP (removed, protocol dropped, device gone).
        let names: Vec<String> = self.igmp_ifaces.keys().cloned().collect();
        for name in names {
            let st = &self.igmp_ifaces[&name];
            let wanted = self
                .config
                .interfaces
                .get(&name)
                .and_then(|c| c.igmp.as_ref());
            let same_device = self.ifaces.get(&name).and_then(|s| s.ifindex) == Some(st.ifindex)
                && self.ifaces.get(&name).is_some_and(|s| s.vif.is_some());
            if wanted.is_none() || !same_device {
                let st = self.igmp_ifaces.remove(&name).expect("listed");
                if st.up.is_some() {
                    self.leave_router_groups(st.ifindex);
                }
                actions.extend(self.igmp.remove_interface(now, IfIndex(st.ifindex)));
                tracing::info!(interface = %name, "IGMP stopped");
            }
        }
        let configured: Vec<(String, igmp::config::InterfaceConfig)> = self
            .config
            .interfaces
            .values()
            .filter_map(|c| c.igmp.clone().map(|g| (c.name.clone(), g)))
            .collect();
        for (name, cfg) in configured {
            let Some(state) = self.ifaces.get(&name) else {
                continue;
            };
            let (Some(ifindex), Some(_vif)) = (state.ifindex, state.vif) else {
                continue;
            };
            let link_up = self.links.get(&ifindex).is_some_and(|l| l.is_up());
            let addr = self.addrs.get(&ifindex).and_then(|v| v.first().copied());
            let up = if link_up { addr } else { None };
            let prev = self.igmp_ifaces.get(&name).cloned();
            if prev.as_ref().is_none_or(|p| p.cfg != cfg) {
                actions.extend(
                    self.igmp
                        .configure_interface(now, IfIndex(ifindex), cfg.clone()),
                );
                if prev.is_none() {
                    tracing::info!(interface = %name, version = cfg.version as u8, "IGMP enabled");
                }
            }
            let was_up = prev.as_ref().and_then(|p| p.up);
            if was_up != up {
                match up {
                    Some((addr, prefix_len)) => {
                        if was_up.is_none() {
                            self.join_router_groups(ifindex, &name);
                        }
                        actions.extend(self.igmp.handle(
                            now,
                            Input::Interface(InterfaceChange::Up {
                                ifindex: IfIndex(ifindex),
                                name: name.clone(),
                                addr,
                                prefix_len,
                            }),
                        ));
                    }
                    None => {
                        self.leave_router_groups(ifindex);
                        actions.extend(self.igmp.handle(
                            now,
                            Input::Interface(InterfaceChange::Down {
                                ifindex: IfIndex(ifindex),
                            }),
                        ));
                    }
                }
            }
            self.igmp_ifaces
                .insert(name, super::igmp_shell::IgmpIface { ifindex, cfg, up });
        }
        self.apply_igmp(actions);
    }

    fn join_router_groups(&mut self, ifindex: u32, name: &str) {
        for g in [ALL_V3_ROUTERS, ALL_ROUTERS] {
            if let Err(e) = self.mroute.get_ref().join(g, ifindex) {
                // EADDRINUSE: already joined (the interface came back).
                if e.raw_os_error() != Some(libc::EADDRINUSE) {
                    tracing::error!(interface = %name, "joining {g} for IGMP reports: {e}");
                }
            }
        }
    }

    fn leave_router_groups(&mut self, ifindex: u32) {
        for g in [ALL_V3_ROUTERS, ALL_ROUTERS] {
            let _ = self.mroute.get_ref().leave(g, ifindex);
        }
    }

    /// An IGMP datagram (IP header included) arrived on `ifindex`.
    pub(super) fn on_igmp_packet(&mut self, data: &[u8], ifindex: u32) {
        self.counters.igmp_packets += 1;
        let h = match ipv4::parse(data) {
            Ok(h) if h.protocol == ipv4::PROTO_IGMP => h,
            Ok(_) => return,
            Err(e) => {
                tracing::debug!(
                    "dropping an undecodable IP packet on ifindex {ifindex}: {}",
                    e.kind()
                );
                self.counters.igmp_bad_ip_header += 1;
                return;
            }
        };
        let payload = &data[h.header_len..h.total_len];
        if payload.first() == Some(&igmp::packet::DVMRP) {
            // DVMRP shares the protocol number; it is not implemented yet (issue 5).
            self.counters.dvmrp_packets += 1;
            return;
        }
        if !self
            .igmp_ifaces
            .values()
            .any(|i| i.ifindex == ifindex && i.up.is_some())
        {
            self.counters.igmp_not_enabled += 1;
            return;
        }
        let now = self.now();
        let actions = self.igmp.handle(
            now,
            Input::Packet(RxPacket {
                ifindex: IfIndex(ifindex),
                src: h.src,
                dst: h.dst,
                ttl: h.ttl,
                router_alert: h.router_alert,
                payload,
            }),
        );
        self.apply_igmp(actions);
    }

    pub(super) fn igmp_timeout(&mut self) {
        let now = self.now();
        let actions = self.igmp.on_timeout(now);
        self.apply_igmp(actions);
    }

    /// Carry out what IGMP asked for.
    pub(super) fn apply_igmp(&mut self, actions: Vec<Action>) {
        let mut changed = BTreeSet::new();
        for a in actions {
            match a {
                Action::Send {
                    ifindex,
                    dst,
                    ttl,
                    router_alert,
                    payload,
                } => {
                    let src = self
                        .igmp_ifaces
                        .values()
                        .find(|i| i.ifindex == ifindex.0)
                        .and_then(|i| i.up)
                        .map(|(a, _)| a);
                    let Some(src) = src else { continue };
                    let packet =
                        ipv4::build(src, dst, ipv4::PROTO_IGMP, ttl, router_alert, &payload);
                    match self.igmp_tx.send(ifindex.0, dst, &packet) {
                        Ok(()) => self.counters.igmp_sent += 1,
                        Err(e) => {
                            self.counters.igmp_send_errors += 1;
                            tracing::warn!("sending IGMP to {dst} on ifindex {}: {e}", ifindex.0);
                        }
                    }
                }
                Action::Membership(m) => {
                    let Some(name) = self.name_by_ifindex(m.ifindex.0).map(str::to_owned) else {
                        continue;
                    };
                    tracing::debug!(
                        interface = %name,
                        "membership {}: {:?} {:?}",
                        m.group,
                        m.mode,
                        m.sources
                    );
                    if self.pim_ifaces.contains_key(&name) || self.pim_active() {
                        self.pim_membership(m.clone());
                    }
                    let sources = m.sources.into_iter().collect();
                    changed.extend(self.mrib.set_membership(&name, m.group, m.mode, sources));
                }
                Action::Event(e) => tracing::info!("igmp: {}: {}", e.what, e.detail),
                Action::Forward(_)
                | Action::Unforward(_)
                | Action::WatchRpf(_)
                | Action::UnwatchRpf(_) => {}
            }
        }
        for k in changed {
            self.sync_key(k);
        }
    }

    /// True if the router runs IGMP anywhere (then sources get entries on their RPF
    /// interface, forwarded to the members).
    pub(super) fn igmp_active(&self) -> bool {
        // With PIM, membership reaches the MRIB through PIM's forwarding intents.
        !self.pim_active() && self.igmp_ifaces.values().any(|i| i.up.is_some())
    }
}
