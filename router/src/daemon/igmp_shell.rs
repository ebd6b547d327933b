//! IGMP in the shell: which interfaces run it, packets in, queries out, membership into
//! the MRIB. The protocol itself is the sans-IO `igmp` crate.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use common::{Action, IfIndex, Input, Protocol, RxPacket};

use super::{Daemon, ifaces};
use crate::config::ProtocolName;
use crate::ipv4;

/// All IGMPv3 routers (RFC 3376 section 4.2.14) and all routers, where v2 leaves go
/// (RFC 2236 section 3): the mroute socket must join both or those messages never reach it.
const ALL_V3_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 22);
const ALL_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 2);

impl Daemon {
    pub(super) fn now(&self) -> common::Instant {
        common::Instant::from_epoch(self.started.elapsed())
    }

    /// Bring the IGMP instance in line with configuration and interface state: an IGMP
    /// interface runs while it has a VIF, its link is up and it has an IPv4 address.
    pub(super) fn sync_igmp(&mut self) {
        let now = self.now();
        let candidates = self.protocol_candidates(ProtocolName::Igmp, |c| c.igmp.as_ref());
        let transitions = self.igmp_ifaces.sync(candidates);
        let mroute = self.mroute.get_ref();
        let actions = ifaces::drive(
            &mut self.igmp,
            now,
            "IGMP",
            transitions,
            ifaces::listen_to(
                &[ALL_V3_ROUTERS, ALL_ROUTERS],
                "IGMP reports",
                |g, i| mroute.join(g, i),
                |g, i| mroute.leave(g, i),
            ),
        );
        self.apply_igmp(actions);
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
            // DVMRP shares the protocol number (IGMP type 0x13).
            self.on_dvmrp_packet(&h, payload, ifindex);
            return;
        }
        if !self.igmp_ifaces.is_up(ifindex) {
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
                    let Some(src) = self.igmp_ifaces.addr(ifindex.0) else {
                        continue;
                    };
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
                    if self.pim_ifaces.contains(&name) || self.pim_active() {
                        self.pim_membership(m.clone());
                    }
                    if self.dvmrp_ifaces.contains(&name) || self.dvmrp_active() {
                        self.dvmrp_membership(m.clone());
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

    /// True if IGMP alone decides what is forwarded: the router runs IGMP somewhere and
    /// no routing protocol (then sources get entries on their RPF interface, forwarded to
    /// the members).
    pub(super) fn igmp_active(&self) -> bool {
        // With PIM or DVMRP, membership reaches the MRIB through the routing protocol's
        // forwarding intents.
        !self.pim_active() && !self.dvmrp_active() && self.igmp_ifaces.any_up()
    }

    /// The IGMP membership of every interface now, as IGMP reported it (for a routing
    /// protocol that starts after members reported).
    pub(super) fn current_memberships(&self) -> Vec<common::Membership> {
        let mut list = Vec::new();
        for (group, ifaces) in self.mrib.memberships() {
            for (name, (mode, sources)) in ifaces {
                if let Some(i) = self.ifaces.get(name).and_then(|s| s.ifindex) {
                    list.push(common::Membership {
                        ifindex: IfIndex(i),
                        group: *group,
                        mode: *mode,
                        sources: sources.iter().copied().collect(),
                    });
                }
            }
        }
        list
    }
}
