//! DVMRP in the shell: which interfaces run it, its messages in (IGMP type 0x13 on the
//! mroute socket) and out (IGMP packets from the interface's address), IGMP membership,
//! kernel upcalls and counters for DVMRP, and DVMRP's forwarding intents into the MRIB.
//! The protocol itself is the sans-IO `dvmrp` crate.
//!
//! * Receiving: DVMRP shares IP protocol 2 with IGMP, so its messages arrive on the mroute
//!   socket with the IGMP traffic and are told apart by the IGMP type (0x13). The mroute
//!   socket joins All-DVMRP-Routers (224.0.0.4) on every interface that runs DVMRP;
//!   unicast messages to our address arrive on the same socket.
//! * Sending: an IGMP packet (protocol 2) with the interface's address as source, TTL and
//!   Router Alert as DVMRP asks, out of that interface for a multicast destination and
//!   routed by the kernel for a unicast one.
//! * mrinfo: an Ask-Neighbors2 sent to one of the router's addresses (any address, on
//!   any interface: the asker may sit on a host LAN without DVMRP) goes to
//!   [`dvmrp::Dvmrp::answer_ask_neighbors2`] instead of the interface's DVMRP input,
//!   with IGMP's querier state for the Querier flag, and its Neighbors2 answer goes from
//!   the address asked to the asker, routed by the kernel. The router answers as long as
//!   some interface is configured for DVMRP.
//! * DVMRP has its own routing table, so it never asks the shell for the reverse path
//!   ([`Action::WatchRpf`] is ignored).
//! * A change of the router-wide `[dvmrp]` table on reload is applied in place
//!   ([`dvmrp::Dvmrp::set_config`]): neighbours, routes and flows stay. Interface changes
//!   only touch their interface.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use common::{Action, IfIndex, Input, Protocol, RxPacket};

use super::{Daemon, ifaces};
use crate::config::ProtocolName;
use crate::ipv4;
use crate::mrib::RoutingProtocol;

/// All-DVMRP-Routers (draft-ietf-idmr-dvmrp-v3-11 section 3.2).
const ALL_DVMRP_ROUTERS: Ipv4Addr = dvmrp::packet::ALL_DVMRP_ROUTERS;

impl Daemon {
    /// Bring the DVMRP instance in line with configuration and interface state: a DVMRP
    /// interface runs while it has a VIF, its link is up and it has an IPv4 address.
    pub(super) fn sync_dvmrp(&mut self) {
        let now = self.now();
        let candidates = self.protocol_candidates(ProtocolName::Dvmrp, |c| c.dvmrp.as_ref());
        let transitions = self.dvmrp_ifaces.sync(candidates);
        let came_up = transitions
            .iter()
            .any(|t| matches!(t, ifaces::Transition::Up { first: true, .. }));
        let mroute = self.mroute.get_ref();
        let actions = ifaces::drive(
            &mut self.dvmrp,
            now,
            "DVMRP",
            transitions,
            ifaces::listen_to(
                &[ALL_DVMRP_ROUTERS],
                "DVMRP (All-DVMRP-Routers)",
                |g, i| mroute.join(g, i),
                |g, i| mroute.leave(g, i),
            ),
        );
        self.apply_dvmrp(actions);
        if came_up {
            // DVMRP started somewhere: give it the membership IGMP already has.
            for m in self.current_memberships() {
                self.dvmrp_membership(m);
            }
        }
    }

    /// The router-wide configuration changed (reload): applied in place, so neighbours,
    /// routes and flows stay (new extra routes are announced, removed ones withdrawn).
    pub(super) fn reconfigure_dvmrp(&mut self, config: dvmrp::config::Config) {
        tracing::info!("[dvmrp] changed: applied in place");
        let now = self.now();
        let actions = self.dvmrp.set_config(now, config);
        self.apply_dvmrp(actions);
    }

    /// A DVMRP message (IGMP type 0x13; `payload` starts at the IGMP header) arrived on
    /// `ifindex`.
    pub(super) fn on_dvmrp_packet(&mut self, h: &ipv4::Header, payload: &[u8], ifindex: u32) {
        self.counters.dvmrp_packets += 1;
        // A tunnel peer's messages arrive by unicast on whatever interface routes them:
        // they belong to the tunnel.
        let ifindex = self.tunnel_of(h.src, h.dst).unwrap_or(ifindex);
        if payload.get(1) == Some(&dvmrp::packet::ASK_NEIGHBORS2)
            && self.is_own_address(h.dst)
            && self.config.interfaces.values().any(|c| c.dvmrp.is_some())
        {
            self.answer_mrinfo(h, payload, ifindex);
            return;
        }
        if !self.dvmrp_ifaces.is_up(ifindex) {
            self.counters.dvmrp_not_enabled += 1;
            return;
        }
        let now = self.now();
        let actions = self.dvmrp.handle(
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
        self.apply_dvmrp(actions);
    }

    /// mrinfo asked (an Ask-Neighbors2 to our address `h.dst`, arrived on `ifindex`):
    /// DVMRP answers, and the answer leaves from the address asked.
    fn answer_mrinfo(&mut self, h: &ipv4::Header, payload: &[u8], ifindex: u32) {
        self.counters.dvmrp_mrinfo_questions += 1;
        let now = self.now();
        let igmp = &self.igmp;
        let (actions, replies) = self.dvmrp.answer_ask_neighbors2(
            now,
            &RxPacket {
                ifindex: IfIndex(ifindex),
                src: h.src,
                dst: h.dst,
                ttl: h.ttl,
                router_alert: h.router_alert,
                payload,
            },
            |i| igmp.is_querier(i),
        );
        self.apply_dvmrp(actions);
        tracing::debug!(
            "mrinfo from {} to {}: {} Neighbors2 message(s)",
            h.src,
            h.dst,
            replies.len()
        );
        for r in replies {
            let packet = ipv4::build(r.src, r.dst, ipv4::PROTO_IGMP, r.ttl, false, &r.payload);
            // Unicast: the kernel routes it (the interface only matters for multicast).
            match self.igmp_tx.send(ifindex, r.dst, &packet) {
                Ok(()) => self.counters.dvmrp_sent += 1,
                Err(e) => {
                    self.counters.dvmrp_send_errors += 1;
                    tracing::warn!("answering mrinfo from {} to {}: {e}", r.dst, r.src);
                }
            }
        }
    }

    /// The ifindex of the tunnel whose `remote` is `src` and `local` is `dst`.
    fn tunnel_of(&self, src: Ipv4Addr, dst: Ipv4Addr) -> Option<u32> {
        self.config
            .interfaces
            .values()
            .filter(|c| {
                c.tunnel
                    .as_ref()
                    .is_some_and(|t| t.remote == src && t.local == dst)
            })
            .find_map(|c| self.ifaces.get(&c.name).and_then(|s| s.ifindex))
    }

    pub(super) fn dvmrp_timeout(&mut self) {
        let now = self.now();
        let actions = self.dvmrp.on_timeout(now);
        self.apply_dvmrp(actions);
    }

    /// A kernel upcall for DVMRP (NOCACHE: a new source; WRONGVIF: traffic on an
    /// outgoing interface).
    pub(super) fn dvmrp_upcall(
        &mut self,
        kind: common::proto::UpcallKind,
        ifindex: u32,
        source: Ipv4Addr,
        group: Ipv4Addr,
    ) {
        let now = self.now();
        let actions = self.dvmrp.handle(
            now,
            Input::Upcall {
                kind,
                ifindex: IfIndex(ifindex),
                key: common::RouteKey::sg(source, group),
                packet: &[],
            },
        );
        self.apply_dvmrp(actions);
    }

    /// Give DVMRP the kernel's counters of every entry (traffic keeps its forwarding
    /// cache entries and prunes alive).
    pub(super) fn dvmrp_stats(&mut self) {
        if !self.dvmrp_active() {
            return;
        }
        let inputs = self.mfc_stats_inputs("DVMRP");
        let now = self.now();
        // One batch: timers and the forwarding cache are evaluated once per round.
        let actions = self.dvmrp.handle_all(now, inputs);
        self.apply_dvmrp(actions);
    }

    /// IGMP membership tells DVMRP where local receivers are (leaf pruning, grafts).
    pub(super) fn dvmrp_membership(&mut self, m: common::Membership) {
        let now = self.now();
        let actions = self.dvmrp.handle(now, Input::Membership(m));
        self.apply_dvmrp(actions);
    }

    /// True if the router runs DVMRP on any interface: then DVMRP, not IGMP alone,
    /// decides what is forwarded.
    pub(super) fn dvmrp_active(&self) -> bool {
        self.dvmrp_ifaces.any_up()
    }

    /// Carry out DVMRP's actions.
    pub(super) fn apply_dvmrp(&mut self, actions: Vec<Action>) {
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
                    // Gone between the decision and now (it stopped in the same call).
                    let Some(src) = self.dvmrp_ifaces.addr(ifindex.0) else {
                        continue;
                    };
                    let packet =
                        ipv4::build(src, dst, ipv4::PROTO_IGMP, ttl, router_alert, &payload);
                    match self.igmp_tx.send(ifindex.0, dst, &packet) {
                        Ok(()) => self.counters.dvmrp_sent += 1,
                        Err(e) => {
                            self.counters.dvmrp_send_errors += 1;
                            tracing::warn!("sending DVMRP to {dst} on ifindex {}: {e}", ifindex.0);
                        }
                    }
                }
                Action::Event(e) => tracing::info!("dvmrp: {}: {}", e.what, e.detail),
                Action::Forward(f) => {
                    changed.extend(self.protocol_forward(RoutingProtocol::Dvmrp, f));
                }
                Action::Unforward(key) => {
                    changed.extend(self.protocol_unforward(RoutingProtocol::Dvmrp, key));
                }
                // DVMRP routes by its own table; it produces no membership.
                Action::WatchRpf(_) | Action::UnwatchRpf(_) | Action::Membership(_) => {}
            }
        }
        for k in changed {
            self.sync_key(k);
        }
    }

    /// `show dvmrp`: the snapshot, with interface names next to the interface indexes.
    pub(super) fn show_dvmrp(&self) -> serde_json::Result<serde_json::Value> {
        let mut v = serde_json::to_value(self.dvmrp.snapshot_at(self.now()))?;
        self.name_ifindexes(&mut v);
        Ok(serde_json::json!({ "dvmrp": v }))
    }

    /// Add interface names to a snapshot: `"name"` to every object with an `"ifindex"`
    /// (where it has no name yet), `"upstream_interface_name"` next to
    /// `"upstream_interface"`, and `"outgoing_names"` next to `"outgoing"`.
    fn name_ifindexes(&self, v: &mut serde_json::Value) {
        use serde_json::{Value, json};
        let name = |x: &Value| {
            x.as_u64()
                .and_then(|i| u32::try_from(i).ok())
                .and_then(|i| self.name_by_ifindex(i))
                .map(str::to_owned)
        };
        match v {
            Value::Object(obj) => {
                let mut add = Vec::new();
                if let Some(n) = obj.get("ifindex").and_then(name)
                    && obj.get("name").is_none_or(Value::is_null)
                {
                    add.push(("name", json!(n)));
                }
                if let Some(up) = obj.get("upstream_interface") {
                    add.push(("upstream_interface_name", json!(name(up))));
                }
                if let Some(Value::Array(out)) = obj.get("outgoing") {
                    let names: Vec<Option<String>> = out.iter().map(name).collect();
                    add.push(("outgoing_names", json!(names)));
                }
                for (k, x) in add {
                    obj.insert(k.to_owned(), x);
                }
                for x in obj.values_mut() {
                    self.name_ifindexes(x);
                }
            }
            Value::Array(list) => {
                for x in list {
                    self.name_ifindexes(x);
                }
            }
            _ => {}
        }
    }
}
