//! PIM in the shell: the PIM sockets, which interfaces run PIM, the register VIF, RPF
//! watching, kernel upcalls and counters for PIM, and PIM's forwarding intents into the
//! MRIB. The protocol itself is the sans-IO `pim` crate.

use std::net::Ipv4Addr;

use common::{Action, IfIndex, Input, Protocol, RxPacket};

use super::{Daemon, ifaces};
use crate::config::ProtocolName;
use crate::ipv4;
use crate::mrib::RoutingProtocol;

/// ALL-PIM-ROUTERS (RFC 7761 section 4.9).
const ALL_PIM_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 13);
pub(super) const PROTO_PIM: u8 = 103;

impl Daemon {
    /// Bring the PIM instance in line with configuration and interface state: a PIM
    /// interface runs while it has a VIF, its link is up and it has an IPv4 address.
    pub(super) fn sync_pim(&mut self) {
        if self.config.interfaces.values().any(|c| c.pim.is_some()) {
            self.ensure_register_vif();
        }
        let now = self.now();
        let candidates = self.protocol_candidates(ProtocolName::Pim, |c| c.pim.as_ref());
        let transitions = self.pim_ifaces.sync(candidates);
        let came_up = transitions
            .iter()
            .any(|t| matches!(t, ifaces::Transition::Up { first: true, .. }));
        let pim_rx = self.pim_rx.get_ref();
        let actions = ifaces::drive(
            &mut self.pim,
            now,
            "PIM-SM",
            transitions,
            ifaces::listen_to(
                &[ALL_PIM_ROUTERS],
                "PIM (ALL-PIM-ROUTERS)",
                |g, i| pim_rx.join(g, i),
                |g, i| pim_rx.leave(g, i),
            ),
        );
        self.apply_pim(actions);
        if came_up {
            // PIM started somewhere: give it the membership IGMP already has (static
            // groups and members that reported before PIM ran).
            for m in self.current_memberships() {
                self.pim_membership(m);
            }
        }
    }

    /// Read everything the PIM socket has.
    pub(super) fn drain_pim(&mut self, buf: &mut [u8]) {
        loop {
            let r = self.pim_rx.get_ref().recv(buf);
            match r {
                Ok((n, ifindex)) => self.on_pim_packet(&buf[..n], ifindex),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!("reading the PIM socket: {e}");
                    return;
                }
            }
        }
    }

    fn on_pim_packet(&mut self, data: &[u8], ifindex: u32) {
        self.counters.pim_packets += 1;
        let Ok(h) = ipv4::parse(data) else {
            self.counters.pim_bad_ip_header += 1;
            return;
        };
        if h.protocol != PROTO_PIM {
            return;
        }
        if !self.pim_ifaces.is_up(ifindex) {
            self.counters.pim_not_enabled += 1;
            return;
        }
        let now = self.now();
        let actions = self.pim.handle(
            now,
            Input::Packet(RxPacket {
                ifindex: IfIndex(ifindex),
                src: h.src,
                dst: h.dst,
                ttl: h.ttl,
                router_alert: h.router_alert,
                payload: &data[h.header_len..h.total_len],
            }),
        );
        self.apply_pim(actions);
    }

    pub(super) fn pim_timeout(&mut self) {
        let now = self.now();
        let actions = self.pim.on_timeout(now);
        self.apply_pim(actions);
    }

    /// A kernel upcall for PIM (NOCACHE at a possible DR, WHOLEPKT from the register VIF).
    pub(super) fn pim_upcall(
        &mut self,
        kind: common::proto::UpcallKind,
        ifindex: u32,
        source: Ipv4Addr,
        group: Ipv4Addr,
        packet: &[u8],
    ) {
        let now = self.now();
        let actions = self.pim.handle(
            now,
            Input::Upcall {
                kind,
                ifindex: IfIndex(ifindex),
                key: common::RouteKey::sg(source, group),
                packet,
            },
        );
        self.apply_pim(actions);
    }

    /// Create the register VIF (RFC 7761 4.4: Registers leave and arrive through it) once
    /// PIM runs; the kernel makes the `pimreg` device for it and decapsulates Registers
    /// into it by itself.
    fn ensure_register_vif(&mut self) {
        if self.register_vif.is_some() {
            return;
        }
        let mroute = self.mroute.get_ref();
        if let Err(e) = mroute.set_pim(true) {
            tracing::error!("MRT_PIM: {e}; PIM Register will not work");
            return;
        }
        let vif = match self.vifs.alloc(0) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!("no VIF for the PIM register interface: {e}");
                return;
            }
        };
        if let Err(e) = self.mroute.get_ref().add_register_vif(vif) {
            self.vifs.free(vif);
            tracing::error!("adding the PIM register VIF: {e}");
            return;
        }
        let name = match self.config.table {
            None => "pimreg".to_owned(),
            Some(t) => format!("pimreg{t}"),
        };
        if let Err(e) = self.refresh_links() {
            tracing::error!("reading interfaces: {e}");
        }
        let Some(ifindex) = self.ifindex_by_name(&name) else {
            tracing::error!("the kernel made no {name} device for the register VIF");
            return;
        };
        self.vifs.set_owner(vif, ifindex);
        self.register_vif = Some((vif, ifindex));
        self.mrib.set_register_vif(Some(name.clone()));
        tracing::info!(vif, ifindex, "PIM register VIF {name} added");
        let now = self.now();
        let actions = self.pim.set_register_vif(now, Some(IfIndex(ifindex)));
        self.apply_pim(actions);
    }

    /// Give PIM the kernel's counters of every entry (its keepalive input, 4.2.1).
    pub(super) fn pim_stats(&mut self) {
        if !self.pim_active() {
            return;
        }
        let inputs = self.mfc_stats_inputs("PIM");
        let now = self.now();
        let mut actions = Vec::new();
        for input in inputs {
            actions.extend(self.pim.handle(now, input));
        }
        self.apply_pim(actions);
    }

    /// Give PIM the kernel's counters of one (S,G) now, ahead of the once-a-second
    /// round: before a WRONGVIF upcall, so that data already forwarded has set
    /// SPTbit(S,G) (4.2.2 Update_SPTbit) and CouldAssert(S,G,I) holds on the first upcall.
    /// Otherwise the first Assert waits for the kernel's next WRONGVIF, 3 s later, and the
    /// LAN carries duplicates meanwhile.
    pub(super) fn pim_stats_of(&mut self, source: Ipv4Addr, group: Ipv4Addr) {
        let entry = match self.rtnl.mfc_get(self.table, source, group) {
            Ok(Some(e)) if !e.unresolved => e,
            Ok(_) => return,
            Err(e) => {
                tracing::debug!("reading the counters of ({source}, {group}) for PIM: {e}");
                return;
            }
        };
        let now = self.now();
        let actions = self.pim.handle(now, mfc_stats_input(&entry));
        self.apply_pim(actions);
    }

    /// The kernel's counters of every resolved (S,G) entry, as protocol inputs; `who`
    /// names the protocol in the log when the dump fails.
    pub(super) fn mfc_stats_inputs(&mut self, who: &str) -> Vec<Input<'static>> {
        let dump = match self.rtnl.mfc_dump(self.table) {
            Ok(d) => d,
            Err(e) => {
                tracing::debug!("reading MFC counters for {who}: {e}");
                return Vec::new();
            }
        };
        dump.iter()
            .filter(|e| !e.unresolved && !e.source.is_unspecified())
            .map(mfc_stats_input)
            .collect()
    }

    /// The reverse path towards `target` in PIM's terms.
    fn pim_rpf_of(&mut self, target: Ipv4Addr) -> common::Rpf {
        let r = self.lookup_rpf(target);
        common::Rpf {
            target,
            ifindex: r.ifindex.map(IfIndex),
            neighbor: r.gateway,
            local: r.local,
        }
    }

    /// Unicast routes or addresses changed: tell PIM about every watched reverse path
    /// that moved (RFC 7761 4.5.6/4.5.7 "RPF'(X) changes").
    pub(super) fn refresh_pim_rpf(&mut self) {
        let targets: Vec<Ipv4Addr> = self.pim_rpf.keys().copied().collect();
        let mut actions = Vec::new();
        let now = self.now();
        for t in targets {
            let rpf = self.pim_rpf_of(t);
            if self.pim_rpf.get(&t) != Some(&rpf) {
                tracing::info!(target = %t, ifindex = ?rpf.ifindex, neighbor = ?rpf.neighbor, "PIM RPF changed");
                self.pim_rpf.insert(t, rpf);
                actions.extend(self.pim.handle(now, Input::Rpf(rpf)));
            }
        }
        self.apply_pim(actions);
    }

    /// IGMP membership is PIM's local receiver information (RFC 7761 4.1.6).
    pub(super) fn pim_membership(&mut self, m: common::Membership) {
        let now = self.now();
        let actions = self.pim.handle(now, Input::Membership(m));
        self.apply_pim(actions);
    }

    /// True if the router runs PIM on any interface: then PIM, not IGMP alone, decides
    /// what is forwarded.
    pub(super) fn pim_active(&self) -> bool {
        self.pim_ifaces.any_up()
    }

    pub(super) fn apply_pim(&mut self, actions: Vec<Action>) {
        let mut pending = actions;
        while !pending.is_empty() {
            let batch = std::mem::take(&mut pending);
            pending = self.apply_pim_batch(batch);
        }
    }

    /// Carry out PIM's actions; returns the actions PIM produced in response to inputs
    /// given here (RPF answers).
    fn apply_pim_batch(&mut self, actions: Vec<Action>) -> Vec<Action> {
        let mut more = Vec::new();
        let mut changed = std::collections::BTreeSet::new();
        for a in actions {
            match a {
                Action::Send {
                    ifindex,
                    dst,
                    ttl,
                    router_alert,
                    payload,
                } => {
                    let Some(src) = self.pim_ifaces.addr(ifindex.0) else {
                        continue;
                    };
                    let packet = ipv4::build(src, dst, PROTO_PIM, ttl, router_alert, &payload);
                    match self.pim_tx.send(ifindex.0, dst, &packet) {
                        Ok(()) => self.counters.pim_sent += 1,
                        Err(e) => {
                            self.counters.pim_send_errors += 1;
                            tracing::warn!("sending PIM to {dst} on ifindex {}: {e}", ifindex.0);
                        }
                    }
                }
                Action::Event(e) => tracing::info!("pim: {}: {}", e.what, e.detail),
                Action::WatchRpf(target) => {
                    let rpf = self.pim_rpf_of(target);
                    self.pim_rpf.insert(target, rpf);
                    let now = self.now();
                    more.extend(self.pim.handle(now, Input::Rpf(rpf)));
                }
                Action::UnwatchRpf(target) => {
                    self.pim_rpf.remove(&target);
                }
                Action::Forward(f) => {
                    changed.extend(self.protocol_forward(RoutingProtocol::Pim, f));
                }
                Action::Unforward(key) => {
                    changed.extend(self.protocol_unforward(RoutingProtocol::Pim, key));
                }
                // PIM does not produce membership.
                Action::Membership(_) => {}
            }
        }
        for k in changed {
            self.sync_key(k);
        }
        more
    }
}

/// A kernel MFC entry's counters as a protocol input (the keepalive and prune input).
fn mfc_stats_input(e: &crate::netlink::MfcEntry) -> Input<'static> {
    Input::MfcStats {
        key: common::RouteKey::sg(e.source, e.group),
        packets: e.packets,
        bytes: e.bytes,
        idle: e
            .last_use_centisecs
            .map(|c| std::time::Duration::from_millis(c * 10)),
    }
}
