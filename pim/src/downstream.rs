//! Downstream per-interface state machines for Join/Prune messages: (*,G) of RFC 7761
//! section 4.5.2 and (S,G) of 4.5.3 (the two tables are the same):
//!
//! ```text
//!                      NoInfo (NI)        Join (J)            Prune-Pending (PP)
//! Receive Join(X)      -> J, start ET     -> J, ET = max(ET,  -> J, stop PPT,
//!                                            HoldTime)           ET = max(ET, HoldTime)
//! Receive Prune(X)     -> NI              -> PP, start PPT    -> PP
//! PPT(X,I) expires     -                  -                   -> NI (PruneEcho)
//! ET(X,I) expires      -                  -> NI               -> NI
//! ```
//!
//! The Expiry Timer ET(X,I) runs for the HoldTime of the Join/Prune message (a HoldTime of
//! 0xffff: until a Prune, 4.9.5); the Prune-Pending Timer PPT(X,I) for
//! `J/P_Override_Interval(I)` if the router has more than one neighbour on I, else 0 (it
//! expires at once, so the interface is pruned without delay on a point-to-point link).
//! An interface in NoInfo has no state at all: the [`Oif`] is dropped.

use std::net::Ipv4Addr;
use std::time::Duration;

use common::{IfIndex, Instant};
use serde::Serialize;

use crate::packet::HOLDTIME_INFINITE;
use crate::timers::{TimerKind, TimerRef, Timers};

/// DownstreamJPState(X,I) (4.5.2, 4.5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DownstreamState {
    /// NoInfo (NI): no Join state.
    NoInfo,
    /// Join (J): the interface is in `joins(X)`.
    Join,
    /// Prune-Pending (PP): a Prune was received; waiting J/P_Override_Interval for a Join
    /// that overrides it. Still in `joins(X)`.
    PrunePending,
}

impl DownstreamState {
    /// In `joins(X)` (4.1.6): Join or Prune-Pending.
    pub fn is_joined(self) -> bool {
        matches!(self, DownstreamState::Join | DownstreamState::PrunePending)
    }
}

/// Downstream state of an entry X on one interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Oif {
    pub ifindex: IfIndex,
    pub state: DownstreamState,
    /// Expiry Timer ET(X,I); None in Join state with HoldTime 0xffff (never).
    pub et: Option<Instant>,
    /// Prune-Pending Timer PPT(X,I), in Prune-Pending state.
    pub ppt: Option<Instant>,
}

/// The timer references of an entry's downstream state on one interface.
pub(crate) fn et_ref(group: Ipv4Addr, source: Option<Ipv4Addr>, i: IfIndex) -> TimerRef {
    TimerRef {
        group,
        source,
        kind: TimerKind::Et(i),
    }
}

pub(crate) fn ppt_ref(group: Ipv4Addr, source: Option<Ipv4Addr>, i: IfIndex) -> TimerRef {
    TimerRef {
        group,
        source,
        kind: TimerKind::Ppt(i),
    }
}

/// The deadline of the Expiry Timer for a received HoldTime (seconds; 0xffff: never).
fn expiry(now: Instant, holdtime: u16) -> Option<Instant> {
    (holdtime != HOLDTIME_INFINITE).then(|| now + Duration::from_secs(u64::from(holdtime)))
}

impl Oif {
    pub fn new(ifindex: IfIndex) -> Self {
        Oif {
            ifindex,
            state: DownstreamState::NoInfo,
            et: None,
            ppt: None,
        }
    }

    /// "Receive Join(X)" with this HoldTime. Returns true if the interface entered
    /// `joins(X)` (NoInfo -> Join).
    pub fn receive_join(
        &mut self,
        timers: &mut Timers,
        g: Ipv4Addr,
        s: Option<Ipv4Addr>,
        now: Instant,
        holdtime: u16,
    ) -> bool {
        let held = expiry(now, holdtime);
        let et = et_ref(g, s, self.ifindex);
        match self.state {
            DownstreamState::NoInfo => {
                // NI -> J: "The Expiry Timer (ET) is started and set to the HoldTime from
                // the triggering Join/Prune message."
                self.state = DownstreamState::Join;
                timers.set(&mut self.et, et, held);
                true
            }
            DownstreamState::Join | DownstreamState::PrunePending => {
                // J -> J, PP -> J: "The Prune-Pending Timer is canceled (without triggering
                // an expiry event). The Expiry Timer is restarted and set to the maximum of
                // its current value and the HoldTime from the triggering Join/Prune message."
                timers.set(&mut self.ppt, ppt_ref(g, s, self.ifindex), None);
                self.state = DownstreamState::Join;
                let new = match (self.et, held) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    // Either never expires.
                    _ => None,
                };
                timers.set(&mut self.et, et, new);
                false
            }
        }
    }

    /// "Receive Prune(X)": J -> PP with PPT(X,I) = `ppt` (J/P_Override_Interval(I) with
    /// more than one neighbour on I, else zero). Returns true if PPT was started; with a
    /// zero `ppt` the caller runs [`Oif::ppt_expired`] at once instead.
    pub fn receive_prune(
        &mut self,
        timers: &mut Timers,
        g: Ipv4Addr,
        s: Option<Ipv4Addr>,
        now: Instant,
        ppt: Duration,
    ) -> bool {
        if self.state != DownstreamState::Join {
            // NI -> NI, PP -> PP: nothing.
            return false;
        }
        self.state = DownstreamState::PrunePending;
        timers.set(&mut self.ppt, ppt_ref(g, s, self.ifindex), Some(now + ppt));
        true
    }

    /// "PPT(X,I) expires" (PP -> NI) or "ET(X,I) expires" (J, PP -> NI): every timer stops
    /// and the state is gone. Returns true if the interface left `joins(X)`.
    pub fn enter_no_info(&mut self, timers: &mut Timers, g: Ipv4Addr, s: Option<Ipv4Addr>) -> bool {
        timers.set(&mut self.ppt, ppt_ref(g, s, self.ifindex), None);
        timers.set(&mut self.et, et_ref(g, s, self.ifindex), None);
        let was = self.state.is_joined();
        self.state = DownstreamState::NoInfo;
        was
    }
}
