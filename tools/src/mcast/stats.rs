//! Pure receive-side accounting: feed datagrams (group, source, header, arrival time), get a
//! [`Report`]. A flow is one (group, source address, sender id) triple. No IO and no clock: times are passed in as nanoseconds since the UNIX epoch,
//! so tests are exact. Definitions of every count are in [`crate::mcast::report`].

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::payload::{Header, PayloadError};
use super::report::{FlowReport, Progress, Report, SourceReport};

/// How one valid datagram was classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// A new sequence number higher than any seen before in its flow (or the flow's first).
    InOrder,
    /// A new sequence number lower than the highest seen so far.
    Reordered,
    /// A sequence number seen before.
    Duplicate,
}

/// Set of sequence numbers kept as disjoint inclusive ranges `start -> end`, so an in-order
/// stream costs one entry however long it runs; memory grows with the number of gaps.
#[derive(Debug, Default, Clone)]
struct SeqSet {
    ranges: BTreeMap<u64, u64>,
}

impl SeqSet {
    /// Inserts `seq`; returns false if it was already present.
    fn insert(&mut self, seq: u64) -> bool {
        let prev = self.ranges.range(..=seq).next_back().map(|(&s, &e)| (s, e));
        if prev.is_some_and(|(_, e)| e >= seq) {
            return false;
        }
        // `e < seq` here, so `e + 1` cannot overflow.
        let joins_prev = prev.filter(|&(_, e)| e + 1 == seq).map(|(s, _)| s);
        let next_start = seq.checked_add(1);
        let joins_next = next_start.and_then(|n| self.ranges.get(&n).copied());
        if let (Some(_), Some(n)) = (joins_next, next_start) {
            self.ranges.remove(&n);
        }
        let start = joins_prev.unwrap_or(seq);
        let end = joins_next.unwrap_or(seq);
        self.ranges.insert(start, end);
        true
    }

    #[cfg(test)]
    fn range_count(&self) -> usize {
        self.ranges.len()
    }
}

#[derive(Debug, Clone)]
struct Flow {
    seen: SeqSet,
    received: u64,
    unique: u64,
    reordered: u64,
    first_seq: u64,
    min_seq: u64,
    max_seq: u64,
    first_arrival_ns: u64,
    last_arrival_ns: u64,
    first_latency_ns: i64,
    latency_sum_ns: f64,
    latency_max_ns: i64,
}

impl Flow {
    fn lost(&self) -> u64 {
        // max - min + 1 fits in u128 for any u64 values.
        let span = u128::from(self.max_seq - self.min_seq) + 1;
        span.saturating_sub(u128::from(self.unique))
            .try_into()
            .unwrap_or(u64::MAX)
    }
}

fn latency_ns(arrival_ns: u64, sent_ns: u64) -> i64 {
    let d = i128::from(arrival_ns) - i128::from(sent_ns);
    d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

fn ns_to_ms(ns: f64) -> f64 {
    ns / 1e6
}

/// Receive statistics over all flows.
#[derive(Debug, Clone)]
pub struct Stats {
    start_ns: u64,
    flows: BTreeMap<(Ipv4Addr, Ipv4Addr, u32), Flow>,
    received: u64,
    unique: u64,
    invalid: u64,
    ignored: u64,
    /// (arrival, latency) of the first valid datagram.
    first: Option<(u64, i64)>,
    last_arrival_ns: Option<u64>,
}

impl Stats {
    /// Starts accounting; `start_ns` (UNIX epoch ns) is the zero of every `*_arrival_ms`.
    pub fn new(start_ns: u64) -> Stats {
        Stats {
            start_ns,
            flows: BTreeMap::new(),
            received: 0,
            unique: 0,
            invalid: 0,
            ignored: 0,
            first: None,
            last_arrival_ns: None,
        }
    }

    /// The zero of every `*_arrival_ms`.
    pub fn start_ns(&self) -> u64 {
        self.start_ns
    }

    fn since_start_ms(&self, t_ns: u64) -> f64 {
        ns_to_ms((i128::from(t_ns) - i128::from(self.start_ns)) as f64)
    }

    /// Accounts one valid datagram from `src` to `group` that arrived at `arrival_ns`.
    pub fn record(
        &mut self,
        group: Ipv4Addr,
        src: Ipv4Addr,
        header: &Header,
        arrival_ns: u64,
    ) -> Arrival {
        let lat = latency_ns(arrival_ns, header.sent_ns);
        if self.first.is_none() {
            self.first = Some((arrival_ns, lat));
        }
        self.last_arrival_ns = Some(arrival_ns);
        let seq = header.seq;
        self.received += 1;
        let flow = self
            .flows
            .entry((group, src, header.sender))
            .or_insert_with(|| Flow {
                seen: SeqSet::default(),
                received: 0,
                unique: 0,
                reordered: 0,
                first_seq: seq,
                min_seq: seq,
                max_seq: seq,
                first_arrival_ns: arrival_ns,
                last_arrival_ns: arrival_ns,
                first_latency_ns: lat,
                latency_sum_ns: 0.0,
                latency_max_ns: lat,
            });
        flow.received += 1;
        flow.last_arrival_ns = arrival_ns;
        if !flow.seen.insert(seq) {
            return Arrival::Duplicate;
        }
        let is_first = flow.unique == 0;
        flow.unique += 1;
        self.unique += 1;
        flow.latency_sum_ns += lat as f64;
        flow.latency_max_ns = flow.latency_max_ns.max(lat);
        flow.min_seq = flow.min_seq.min(seq);
        if is_first || seq > flow.max_seq {
            flow.max_seq = seq;
            Arrival::InOrder
        } else {
            flow.reordered += 1;
            Arrival::Reordered
        }
    }

    /// Parses `payload` and accounts it, as valid or as invalid.
    pub fn record_payload(
        &mut self,
        group: Ipv4Addr,
        src: Ipv4Addr,
        payload: &[u8],
        arrival_ns: u64,
    ) -> Result<Arrival, PayloadError> {
        match Header::parse(payload) {
            Ok(h) => Ok(self.record(group, src, &h, arrival_ns)),
            Err(e) => {
                self.invalid += 1;
                Err(e)
            }
        }
    }

    /// Accounts a datagram to a joined group that is not a valid payload.
    pub fn record_invalid(&mut self) {
        self.invalid += 1;
    }

    /// Accounts a datagram whose destination is not a joined group.
    pub fn record_ignored(&mut self) {
        self.ignored += 1;
    }

    /// Valid datagrams so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Unique datagrams so far.
    pub fn unique(&self) -> u64 {
        self.unique
    }

    /// Sequence gaps so far.
    pub fn lost(&self) -> u64 {
        self.flows.values().map(Flow::lost).sum()
    }

    /// Invalid datagrams so far.
    pub fn invalid(&self) -> u64 {
        self.invalid
    }

    /// Per-flow reports, ordered by (group, source, sender).
    pub fn flows(&self) -> Vec<FlowReport> {
        self.flows
            .iter()
            .map(|(&(group, source, sender), f)| FlowReport {
                group,
                source,
                sender,
                received: f.received,
                unique: f.unique,
                duplicates: f.received - f.unique,
                reordered: f.reordered,
                lost: f.lost(),
                first_seq: f.first_seq,
                min_seq: f.min_seq,
                max_seq: f.max_seq,
                first_arrival_ms: self.since_start_ms(f.first_arrival_ns),
                last_arrival_ms: self.since_start_ms(f.last_arrival_ns),
                first_latency_ms: ns_to_ms(f.first_latency_ns as f64),
                mean_latency_ms: ns_to_ms(f.latency_sum_ns / f.unique.max(1) as f64),
                max_latency_ms: ns_to_ms(f.latency_max_ns as f64),
            })
            .collect()
    }

    /// Per-source reports keyed by dotted-quad address.
    pub fn sources(&self) -> BTreeMap<String, SourceReport> {
        let mut out: BTreeMap<Ipv4Addr, (SourceReport, u64)> = BTreeMap::new();
        for (&(_, src, _), f) in &self.flows {
            let (s, first_ns) = out.entry(src).or_insert_with(|| {
                (
                    SourceReport {
                        first_seq: f.first_seq,
                        last_seq: f.max_seq,
                        first_arrival_ms: self.since_start_ms(f.first_arrival_ns),
                        last_arrival_ms: self.since_start_ms(f.last_arrival_ns),
                        ..SourceReport::default()
                    },
                    f.first_arrival_ns,
                )
            });
            s.received += f.received;
            s.unique += f.unique;
            s.duplicates += f.received - f.unique;
            s.reordered += f.reordered;
            s.lost += f.lost();
            s.flows += 1;
            s.last_seq = s.last_seq.max(f.max_seq);
            if f.first_arrival_ns < *first_ns {
                *first_ns = f.first_arrival_ns;
                s.first_seq = f.first_seq;
                s.first_arrival_ms = self.since_start_ms(f.first_arrival_ns);
            }
            s.last_arrival_ms = s
                .last_arrival_ms
                .max(self.since_start_ms(f.last_arrival_ns));
        }
        out.into_iter()
            .map(|(k, (v, _))| (k.to_string(), v))
            .collect()
    }

    /// Cumulative progress at `now_ns`.
    pub fn progress(&self, now_ns: u64) -> Progress {
        Progress {
            elapsed_ms: self.since_start_ms(now_ns),
            received: self.received,
            unique: self.unique,
            duplicates: self.received - self.unique,
            reordered: self.flows.values().map(|f| f.reordered).sum(),
            lost: self.lost(),
            invalid: self.invalid,
            sources: self.sources(),
        }
    }

    /// The report at `end_ns`. Only the counting fields are filled; the context fields
    /// (`groups`, `port`, `mode`, `include`, `exclude`, `interface`, `stop_reason`,
    /// `socket_drops`) are left at their defaults for the caller to set.
    pub fn report(&self, end_ns: u64) -> Report {
        let (received, unique) = (self.received, self.unique);
        let lat_sum: f64 = self.flows.values().map(|f| f.latency_sum_ns).sum();
        let lat_max = self.flows.values().map(|f| f.latency_max_ns).max();
        Report {
            duration_ms: self.since_start_ms(end_ns),
            received,
            unique,
            duplicates: received - unique,
            reordered: self.flows.values().map(|f| f.reordered).sum(),
            lost: self.lost(),
            invalid: self.invalid,
            ignored: self.ignored,
            first_arrival_ms: self.first.map(|(t, _)| self.since_start_ms(t)),
            last_arrival_ms: self.last_arrival_ns.map(|t| self.since_start_ms(t)),
            first_latency_ms: self.first.map(|(_, l)| ns_to_ms(l as f64)),
            mean_latency_ms: (unique > 0).then(|| ns_to_ms(lat_sum / unique as f64)),
            max_latency_ms: lat_max.map(|m| ns_to_ms(m as f64)),
            sources: self.sources(),
            flows: self.flows(),
            ..Report::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    const T0: u64 = 1_700_000_000_000_000_000;
    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const G: Ipv4Addr = Ipv4Addr::new(239, 1, 2, 3);
    const G2: Ipv4Addr = Ipv4Addr::new(239, 1, 2, 4);

    fn h(sender: u32, seq: u64, sent_ns: u64) -> Header {
        Header {
            sender,
            seq,
            sent_ns,
        }
    }

    /// Feeds `seqs` from (A, sender 1), packet i sent at T0 + i ms and arriving 2 ms later.
    fn feed(st: &mut Stats, seqs: &[u64]) -> Vec<Arrival> {
        seqs.iter()
            .enumerate()
            .map(|(i, &s)| {
                let t = T0 + i as u64 * MS;
                st.record(G, A, &h(1, s, t), t + 2 * MS)
            })
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn seqset_merges_ranges() {
        let mut s = SeqSet::default();
        for i in 0..1000 {
            assert!(s.insert(i));
        }
        assert_eq!(s.range_count(), 1);
        assert!(!s.insert(500));
        assert!(s.insert(1002));
        assert_eq!(s.range_count(), 2);
        assert!(s.insert(1001)); // joins the next range only
        assert_eq!(s.range_count(), 2);
        assert!(s.insert(1000)); // fills the hole: prev and next merge
        assert_eq!(s.range_count(), 1);
        assert!(!s.insert(1000) && !s.insert(0) && !s.insert(1002));
        assert!(s.insert(u64::MAX));
        assert!(!s.insert(u64::MAX));
        assert!(s.insert(u64::MAX - 1));
        assert_eq!(s.range_count(), 2);
        assert!(s.insert(2000));
        assert!(s.insert(1999));
        assert!(!s.insert(1999));
        assert_eq!(s.range_count(), 3);
    }

    #[test]
    fn empty_report() {
        let st = Stats::new(T0);
        let r = st.report(T0 + 5 * MS);
        assert_eq!(r.received, 0);
        assert_eq!(r.lost, 0);
        assert!(r.first_arrival_ms.is_none());
        assert!(r.last_arrival_ms.is_none());
        assert!(r.first_latency_ms.is_none());
        assert!(r.mean_latency_ms.is_none());
        assert!(r.max_latency_ms.is_none());
        assert!(r.sources.is_empty());
        assert!(r.flows.is_empty());
        assert!(close(r.duration_ms, 5.0));
    }

    #[test]
    fn in_order_stream() {
        let mut st = Stats::new(T0);
        let a = feed(&mut st, &(0..100).collect::<Vec<_>>());
        assert!(a.iter().all(|&x| x == Arrival::InOrder));
        let r = st.report(T0 + 200 * MS);
        assert_eq!(
            (r.received, r.unique, r.duplicates, r.reordered, r.lost),
            (100, 100, 0, 0, 0)
        );
        assert!(close(r.first_arrival_ms.unwrap(), 2.0));
        assert!(close(r.last_arrival_ms.unwrap(), 101.0));
        assert!(close(r.first_latency_ms.unwrap(), 2.0));
        assert!(close(r.mean_latency_ms.unwrap(), 2.0));
        assert!(close(r.max_latency_ms.unwrap(), 2.0));
        let s = &r.sources["10.0.0.1"];
        assert_eq!(
            (
                s.received,
                s.unique,
                s.lost,
                s.first_seq,
                s.last_seq,
                s.flows
            ),
            (100, 100, 0, 0, 99, 1)
        );
        assert_eq!(r.flows.len(), 1);
        assert_eq!((r.flows[0].min_seq, r.flows[0].max_seq), (0, 99));
    }

    #[test]
    fn duplicates() {
        let mut st = Stats::new(T0);
        let a = feed(&mut st, &[0, 1, 1, 2, 0, 2, 3]);
        use Arrival::*;
        assert_eq!(
            a,
            [
                InOrder, InOrder, Duplicate, InOrder, Duplicate, Duplicate, InOrder
            ]
        );
        let r = st.report(T0);
        assert_eq!(
            (r.received, r.unique, r.duplicates, r.reordered, r.lost),
            (7, 4, 3, 0, 0)
        );
        // Duplicates do not contribute to latency.
        assert!(close(r.mean_latency_ms.unwrap(), 2.0));
    }

    #[test]
    fn reordering_is_not_loss() {
        let mut st = Stats::new(T0);
        use Arrival::*;
        let a = feed(&mut st, &[0, 2, 1, 3, 5, 4, 4, 6]);
        assert_eq!(
            a,
            [
                InOrder, InOrder, Reordered, InOrder, InOrder, Reordered, Duplicate, InOrder
            ]
        );
        let r = st.report(T0);
        assert_eq!(
            (r.received, r.unique, r.duplicates, r.reordered, r.lost),
            (8, 7, 1, 2, 0)
        );
    }

    #[test]
    fn loss_with_gaps() {
        let mut st = Stats::new(T0);
        // 0..=19 with 3, 7, 8, 9, 15 missing.
        let seqs: Vec<u64> = (0..20).filter(|s| ![3, 7, 8, 9, 15].contains(s)).collect();
        feed(&mut st, &seqs);
        assert_eq!(st.lost(), 5);
        let r = st.report(T0);
        assert_eq!((r.unique, r.lost, r.reordered), (15, 5, 0));
        // A late arrival fills a gap: loss goes down, reordered goes up.
        st.record(G, A, &h(1, 8, T0), T0 + 50 * MS);
        let r = st.report(T0);
        assert_eq!((r.unique, r.lost, r.reordered), (16, 4, 1));
        assert_eq!(r.sources["10.0.0.1"].lost, 4);
    }

    #[test]
    fn join_after_start_is_not_loss() {
        let mut st = Stats::new(T0);
        feed(&mut st, &(37..50).collect::<Vec<_>>());
        let r = st.report(T0);
        assert_eq!((r.unique, r.lost), (13, 0));
        assert_eq!(r.flows[0].first_seq, 37);
        assert_eq!(r.sources["10.0.0.1"].first_seq, 37);
        // An older packet arriving late lowers min_seq but first_seq stays.
        st.record(G, A, &h(1, 30, T0), T0 + 60 * MS);
        let r = st.report(T0);
        assert_eq!((r.unique, r.lost, r.reordered), (14, 6, 1));
        assert_eq!(
            (r.flows[0].first_seq, r.flows[0].min_seq, r.flows[0].max_seq),
            (37, 30, 49)
        );
    }

    #[test]
    fn two_flows_same_source_and_two_sources() {
        let mut st = Stats::new(T0);
        // Sender 1 and 2 both at A, with overlapping sequence numbers; sender 3 at B.
        for seq in 0..10u64 {
            st.record(G, A, &h(1, seq, T0), T0 + MS);
            if seq != 4 {
                st.record(G, A, &h(2, seq + 100, T0), T0 + 3 * MS);
            }
            st.record(G, B, &h(3, seq, T0), T0 + 5 * MS);
        }
        let r = st.report(T0 + 10 * MS);
        assert_eq!((r.received, r.unique, r.duplicates, r.lost), (29, 29, 0, 1));
        assert_eq!(r.flows.len(), 3);
        let a = &r.sources["10.0.0.1"];
        assert_eq!((a.received, a.unique, a.lost, a.flows), (19, 19, 1, 2));
        assert_eq!((a.first_seq, a.last_seq), (0, 109));
        let b = &r.sources["10.0.0.2"];
        assert_eq!(
            (
                b.received,
                b.unique,
                b.lost,
                b.flows,
                b.first_seq,
                b.last_seq
            ),
            (10, 10, 0, 1, 0, 9)
        );
        assert!(close(r.max_latency_ms.unwrap(), 5.0));
        assert!(close(r.first_latency_ms.unwrap(), 1.0));
        assert!(close(
            r.mean_latency_ms.unwrap(),
            (10.0 * 1.0 + 9.0 * 3.0 + 10.0 * 5.0) / 29.0
        ));
        let f2 = r.flows.iter().find(|f| f.sender == 2).unwrap();
        assert_eq!(
            (f2.first_seq, f2.min_seq, f2.max_seq, f2.lost),
            (100, 100, 109, 1)
        );
    }

    #[test]
    fn same_sender_on_two_groups_is_two_flows() {
        let mut st = Stats::new(T0);
        for seq in 0..5u64 {
            st.record(G, A, &h(1, seq, T0), T0 + MS);
            st.record(G2, A, &h(1, seq, T0), T0 + MS);
        }
        let r = st.report(T0);
        assert_eq!((r.received, r.unique, r.duplicates, r.lost), (10, 10, 0, 0));
        assert_eq!(r.flows.len(), 2);
        assert_eq!((r.flows[0].group, r.flows[1].group), (G, G2));
        let a = &r.sources["10.0.0.1"];
        assert_eq!((a.received, a.unique, a.flows), (10, 10, 2));
    }

    #[test]
    fn garbage_counts_as_invalid() {
        let mut st = Stats::new(T0);
        assert_eq!(
            st.record_payload(G, A, b"", T0),
            Err(PayloadError::TooShort(0))
        );
        assert_eq!(
            st.record_payload(G, A, &[0u8; 64], T0),
            Err(PayloadError::BadMagic)
        );
        let mut buf = [0u8; 64];
        h(1, 0, T0).emit(&mut buf);
        assert_eq!(st.record_payload(G, A, &buf, T0 + MS), Ok(Arrival::InOrder));
        st.record_invalid();
        st.record_ignored();
        let r = st.report(T0);
        assert_eq!((r.received, r.unique, r.invalid, r.ignored), (1, 1, 3, 1));
        assert_eq!(r.sources.len(), 1);
    }

    #[test]
    fn negative_latency_and_extreme_values() {
        let mut st = Stats::new(T0);
        // Sender clock ahead of the receiver: latency is negative, not a panic.
        st.record(G, A, &h(1, 0, T0 + 10 * MS), T0);
        st.record(G, A, &h(1, u64::MAX, u64::MAX), 0);
        let r = st.report(T0);
        assert_eq!(r.unique, 2);
        assert_eq!(r.lost, u64::MAX - 1);
        assert!(r.first_latency_ms.unwrap() < 0.0);
    }

    #[test]
    fn progress_and_report_serialize() {
        let mut st = Stats::new(T0);
        feed(&mut st, &[0, 1, 3]);
        let p = st.progress(T0 + 1000 * MS);
        assert_eq!((p.received, p.unique, p.lost), (3, 3, 1));
        let line = serde_json::to_string(&p).unwrap();
        assert!(
            line.starts_with(r#"{"type":"progress","elapsed_ms":1000.0,"#),
            "{line}"
        );
        let mut r = st.report(T0 + 2000 * MS);
        r.groups = vec![Ipv4Addr::new(239, 1, 2, 3)];
        r.mode = "asm".into();
        let line = serde_json::to_string(&r).unwrap();
        assert!(
            line.starts_with(r#"{"type":"report","groups":["239.1.2.3"]"#),
            "{line}"
        );
        let back: Report = serde_json::from_str(&line).unwrap();
        assert_eq!(back, r);
        // The type tag is checked.
        assert!(serde_json::from_str::<Report>(&serde_json::to_string(&p).unwrap()).is_err());
    }
}
