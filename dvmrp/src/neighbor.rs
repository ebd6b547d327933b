//! Neighbours learned from Probes (draft 3.2).

use std::net::Ipv4Addr;

use common::Instant;
use serde::Serialize;

use crate::packet::Header;

/// Adjacency state of a neighbour (3.2.3, 2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NeighborState {
    /// We hear its Probes, but its Probes do not list our address yet.
    OneWay,
    /// Its Probes list our address: a two-way adjacency (2.1). Only now are its Reports
    /// accepted (3.4.6) and Reports sent to it (3.4.5).
    TwoWay,
}

/// One DVMRP neighbour on one interface.
#[derive(Clone, Debug)]
pub(crate) struct Neighbor {
    pub addr: Ipv4Addr,
    /// Generation ID of its last Probe (3.2.2).
    pub generation_id: u32,
    /// Capabilities and versions of its last Probe (3.2.1).
    pub header: Header,
    pub state: NeighborState,
    /// First Probe heard (or restart).
    pub since: Instant,
    /// When the adjacency became two-way.
    pub two_way_since: Option<Instant>,
    /// Neighbor Time-out (3.2): last Probe + neighbor_timeout.
    pub expires: Instant,
    pub probes: u64,
    pub reports: u64,
}

impl Neighbor {
    pub fn is_two_way(&self) -> bool {
        self.state == NeighborState::TwoWay
    }
}
