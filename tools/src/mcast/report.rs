//! The JSON documents `mcast` prints. These are a stable interface (tests and the testbed
//! parse them): add fields only at the end of a struct, never rename or remove one.
//!
//! `mcast recv --json` prints zero or more [`Progress`] lines (with `--progress`) and exactly
//! one [`Report`] line last; `mcast send --json` prints one [`SendReport`] line. Each line is
//! one JSON object with a `"type"` field (`"progress"`, `"report"`, `"send"`).
//!
//! Conventions: counts are `u64`; times called `*_ms` are milliseconds as `f64` (sub-ms
//! precision) unless noted; addresses are dotted-quad strings; a value that does not exist
//! yet (no packet received) is `null`.
//!
//! Definitions used throughout (per flow, a flow being one (group, source address, sender id)
//! triple):
//!
//! - *received*: valid `MCST` datagrams, duplicates included;
//! - *unique*: distinct sequence numbers;
//! - *duplicates*: `received - unique`;
//! - *reordered*: datagrams whose sequence is lower than the highest seen so far in the flow
//!   and not seen before (late arrivals, not duplicates);
//! - *lost*: `max_seq - min_seq + 1 - unique` (never negative). Packets sent before the join
//!   took effect are not counted as lost since `min_seq` starts where reception started; look
//!   at `first_seq` to see how many were missed at the start;
//! - *latency*: arrival time (kernel receive timestamp, CLOCK_REALTIME) minus the header's send
//!   timestamp. Namespaces share the clock, so this is meaningful across namespaces on one
//!   machine. Mean and max are over the first copy of each unique sequence number.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

/// Final report of `mcast recv` (`{"type":"report", ...}`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(tag = "type", rename = "report")]
pub struct Report {
    /// The groups joined, in command-line order.
    pub groups: Vec<Ipv4Addr>,
    /// The UDP port listened on.
    pub port: u16,
    /// Join mode: `"asm"` (any source), `"include"` (source-specific joins for `include`) or
    /// `"exclude"` (any-source join plus blocked sources `exclude`).
    pub mode: String,
    /// Sources joined source-specifically (`--source`), empty unless mode is `"include"`.
    pub include: Vec<Ipv4Addr>,
    /// Sources blocked (`--exclude`), empty unless mode is `"exclude"`.
    pub exclude: Vec<Ipv4Addr>,
    /// Interface the joins were made on (`--interface`), `null` for the kernel's choice
    /// (route lookup of the group).
    pub interface: Option<String>,
    /// Why reception stopped: `"duration"`, `"count"` or `"signal"`.
    pub stop_reason: String,
    /// Milliseconds from the start of reception (just before the first join) to the end.
    pub duration_ms: f64,
    /// Valid datagrams received in total (duplicates included).
    pub received: u64,
    /// Distinct (group, source, sender, sequence) tuples received.
    pub unique: u64,
    /// `received - unique`.
    pub duplicates: u64,
    /// Late (out-of-order, non-duplicate) datagrams, summed over flows.
    pub reordered: u64,
    /// Sequence gaps, summed over flows (see the module docs).
    pub lost: u64,
    /// Datagrams to a joined group and the port that are not valid `MCST` payloads.
    pub invalid: u64,
    /// Datagrams on the port whose destination is not one of the joined groups (for example
    /// unicast to the port); not counted anywhere else.
    pub ignored: u64,
    /// Datagrams the kernel dropped because the receive buffer was full (`SO_RXQ_OVFL`), when
    /// known. Non-zero means some `lost` packets were lost in this receiver, not the network.
    pub socket_drops: u64,
    /// Milliseconds from the start of reception to the first valid datagram (the join
    /// latency as seen by the application), `null` if none arrived.
    pub first_arrival_ms: Option<f64>,
    /// Milliseconds from the start of reception to the last valid datagram, `null` if none.
    pub last_arrival_ms: Option<f64>,
    /// One-way latency of the very first valid datagram, ms.
    pub first_latency_ms: Option<f64>,
    /// Mean one-way latency over unique datagrams, ms.
    pub mean_latency_ms: Option<f64>,
    /// Maximum one-way latency over unique datagrams, ms.
    pub max_latency_ms: Option<f64>,
    /// Per source address (key: dotted quad), all senders at that address together.
    pub sources: BTreeMap<String, SourceReport>,
    /// Per (group, source address, sender id) flow, ordered by group, source, sender.
    pub flows: Vec<FlowReport>,
}

/// Counts for one source address (all its flows, over all groups, together).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct SourceReport {
    /// Valid datagrams received from this address.
    pub received: u64,
    /// Unique datagrams (summed over flows).
    pub unique: u64,
    /// Duplicates (summed over flows).
    pub duplicates: u64,
    /// Reordered datagrams (summed over flows).
    pub reordered: u64,
    /// Sequence gaps (summed over flows).
    pub lost: u64,
    /// Sequence number of the first datagram received from this address.
    pub first_seq: u64,
    /// Highest sequence number received from this address (over all its flows).
    pub last_seq: u64,
    /// Number of flows (distinct (group, sender id) pairs) from this address.
    pub flows: u64,
    /// Milliseconds from the start of reception to the first datagram from this address.
    pub first_arrival_ms: f64,
    /// Milliseconds from the start of reception to the last datagram from this address.
    pub last_arrival_ms: f64,
}

/// Counts for one flow: one sender process (sender id) at one source address to one group.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct FlowReport {
    /// Destination group.
    pub group: Ipv4Addr,
    /// Source address of the datagrams.
    pub source: Ipv4Addr,
    /// Sender id from the header.
    pub sender: u32,
    /// Valid datagrams received (duplicates included).
    pub received: u64,
    /// Distinct sequence numbers.
    pub unique: u64,
    /// `received - unique`.
    pub duplicates: u64,
    /// Late, non-duplicate datagrams.
    pub reordered: u64,
    /// `max_seq - min_seq + 1 - unique`.
    pub lost: u64,
    /// Sequence number of the first datagram received (how many were missed at the start,
    /// e.g. before the join took effect, if the sender started first).
    pub first_seq: u64,
    /// Lowest sequence number received.
    pub min_seq: u64,
    /// Highest sequence number received.
    pub max_seq: u64,
    /// Milliseconds from the start of reception to the first datagram of this flow.
    pub first_arrival_ms: f64,
    /// Milliseconds from the start of reception to the last datagram of this flow.
    pub last_arrival_ms: f64,
    /// One-way latency of the first datagram received, ms.
    pub first_latency_ms: f64,
    /// Mean one-way latency over unique datagrams, ms.
    pub mean_latency_ms: f64,
    /// Maximum one-way latency over unique datagrams, ms.
    pub max_latency_ms: f64,
}

/// Periodic progress line of `mcast recv --progress` (`{"type":"progress", ...}`); counts
/// are cumulative since the start and defined as in [`Report`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(tag = "type", rename = "progress")]
pub struct Progress {
    /// Milliseconds since the start of reception.
    pub elapsed_ms: f64,
    /// Valid datagrams received so far.
    pub received: u64,
    /// Unique datagrams so far.
    pub unique: u64,
    /// Duplicates so far.
    pub duplicates: u64,
    /// Reordered so far.
    pub reordered: u64,
    /// Sequence gaps so far.
    pub lost: u64,
    /// Invalid datagrams so far.
    pub invalid: u64,
    /// Per source address, as in [`Report::sources`].
    pub sources: BTreeMap<String, SourceReport>,
}

/// Summary of `mcast send` (`{"type":"send", ...}` with `--json`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "type", rename = "send")]
pub struct SendReport {
    /// Destination group.
    pub group: Ipv4Addr,
    /// Destination UDP port.
    pub port: u16,
    /// Source address the socket was bound to (`--source`), `null` if the kernel chose.
    pub source: Option<Ipv4Addr>,
    /// Outgoing interface (`--interface`), `null` for the route lookup's choice.
    pub interface: Option<String>,
    /// Sender id written into every header.
    pub sender: u32,
    /// Datagrams handed to the kernel successfully.
    pub sent: u64,
    /// Send attempts that failed transiently (ENOBUFS, ENETUNREACH, ...); their sequence
    /// numbers are consumed, so receivers count them as lost.
    pub errors: u64,
    /// Failed attempts by error name (`"ENOBUFS"`, ...).
    pub error_kinds: BTreeMap<String, u64>,
    /// Sequence number of the first datagram (always 0).
    pub first_seq: u64,
    /// Sequence number of the last attempted datagram, `null` if none was attempted.
    pub last_seq: Option<u64>,
    /// Requested rate, packets per second.
    pub rate_requested: f64,
    /// Achieved rate: attempts minus one over the time between the first and last attempt;
    /// `null` with fewer than two attempts.
    pub rate_achieved: Option<f64>,
    /// Milliseconds from the start of sending to the end.
    pub duration_ms: f64,
    /// Whether sending stopped because of SIGINT/SIGTERM (rather than reaching `--count`).
    pub interrupted: bool,
}
