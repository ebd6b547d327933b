//! The timers of the TIB (RFC 7761 4.5): one ordered set of (deadline, timer) for all
//! Expiry Timers ET(X,I), Prune-Pending Timers PPT(X,I), Join Timers JT(X), Keepalive Timers
//! KAT(S,G) and Register-Stop Timers RST(S,G), so that
//! `poll_at` is the first element and setting a timer costs O(log n) however many groups
//! there are. Each timer's deadline is also kept in its state machine (the "slot"); the two
//! are changed together by [`Timers::set`].

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use common::{IfIndex, Instant};

/// Which timer of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum TimerKind {
    /// Join Timer JT(*,G) or JT(S,G) (4.5.6, 4.5.7).
    Jt,
    /// Expiry Timer ET(*,G,I) or ET(S,G,I) (4.5.2, 4.5.3).
    Et(IfIndex),
    /// Prune-Pending Timer PPT(*,G,I) or PPT(S,G,I) (4.5.2, 4.5.3).
    Ppt(IfIndex),
    /// Keepalive Timer KAT(S,G) (4.1.1, 4.2.1).
    Kat,
    /// Register-Stop Timer RST(S,G) (4.4.1).
    Rst,
    /// Expiry Timer ET(S,G,rpt,I) (4.5.4).
    RptEt(IfIndex),
    /// Prune-Pending Timer PPT(S,G,rpt,I) (4.5.4).
    RptPpt(IfIndex),
    /// Override Timer OT(S,G,rpt) (4.5.9).
    Ot,
    /// Assert Timer AT(S,G,I) or AT(*,G,I) (4.6.1, 4.6.2).
    At(IfIndex),
}

/// A timer of the TIB: the entry ((*,G) when `source` is None) and which of its timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct TimerRef {
    pub group: Ipv4Addr,
    pub source: Option<Ipv4Addr>,
    pub kind: TimerKind,
}

#[derive(Debug, Default)]
pub(crate) struct Timers(BTreeSet<(Instant, TimerRef)>);

impl Timers {
    /// Start (`Some`), restart or stop (`None`) the timer `r` whose deadline is kept in
    /// `slot`.
    pub fn set(&mut self, slot: &mut Option<Instant>, r: TimerRef, at: Option<Instant>) {
        if let Some(old) = slot.take() {
            self.0.remove(&(old, r));
        }
        if let Some(t) = at {
            self.0.insert((t, r));
        }
        *slot = at;
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.0.first().map(|(t, _)| *t)
    }

    /// Take the earliest timer due at `now`; its owner must clear its slot.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, TimerRef)> {
        if self.next()? <= now {
            self.0.pop_first()
        } else {
            None
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}
