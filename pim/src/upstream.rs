//! Upstream state machines for sending Join/Prune messages: (*,G) of RFC 7761 section 4.5.6
//! and (S,G) of 4.5.7 (the same table):
//!
//! ```text
//!                                NotJoined (NJ)           Joined (J)
//! JoinDesired(X) -> True         -> J: send Join(X),      -
//!                                   JT = t_periodic
//! JoinDesired(X) -> False        -                        -> NJ: send Prune(X), stop JT
//! JT(X) expires                  -                        send Join(X), JT = t_periodic
//! See Join(X) to RPF'(X)         -                        JT = max(JT, t_joinsuppress)
//! See Prune(X) to RPF'(X)        -                        JT = min(JT, t_override)
//! RPF'(X) changes (not Assert)   -                        Join(X) to new, Prune(X) to old,
//!                                                            JT = t_periodic
//! RPF'(X) GenID changes          -                        JT = min(JT, t_override)
//! ```
//!
//! (4.5.7 adds "See Prune(S,G,rpt) to RPF'(S,G)" and "See Prune(*,G) to RPF'(S,G)": both
//! decrease JT(S,G) to t_override, as a Prune(S,G) does.) Joins and Prunes go to RPF'(X); when
//! there is none (this router is the first hop or the RP, or the next hop is not a PIM
//! neighbour) the state machine still runs but nothing is sent and JT does not run, and
//! when RPF'(X) appears later, that is an RPF' change: the Join goes out then.
//! A Prune to an old RPF'(X) that is no longer a neighbour (it went away, which is why
//! RPF' changed) is not sent: nobody would read it.

use std::net::Ipv4Addr;
use std::time::Duration;

use common::{IfIndex, Instant};
use serde::Serialize;

use crate::jp::Outbox;
use crate::packet::EncodedSource;
use crate::timers::{TimerKind, TimerRef, Timers};

/// Upstream (*,G) / (S,G) state (4.5.6, 4.5.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamState {
    NotJoined,
    Joined,
}

/// RPF'(X): the interface and the neighbour's primary address.
pub(crate) type Nbr = (IfIndex, Ipv4Addr);

/// The upstream state of one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Upstream {
    pub state: UpstreamState,
    /// Join Timer JT(X): runs in Joined state while there is an RPF'(X).
    pub jt: Option<Instant>,
    /// RPF'(X) as last acted on.
    pub nbr: Option<Nbr>,
    /// `nbr` is the assert winner on RPF_interface(X) (4.5.6, 4.5.7: RPF'(X) is
    /// AssertWinner(X, RPF_interface(X)) while we are an assert loser there).
    pub via_assert: bool,
}

impl Default for Upstream {
    fn default() -> Self {
        Upstream {
            state: UpstreamState::NotJoined,
            jt: None,
            nbr: None,
            via_assert: false,
        }
    }
}

pub(crate) fn jt_ref(group: Ipv4Addr, source: Option<Ipv4Addr>) -> TimerRef {
    TimerRef {
        group,
        source,
        kind: TimerKind::Jt,
    }
}

/// What the transitions of one entry need.
pub(crate) struct Ctx<'a> {
    pub timers: &'a mut Timers,
    pub outbox: &'a mut Outbox,
    pub now: Instant,
    /// t_periodic (4.11).
    pub t_periodic: Duration,
    pub group: Ipv4Addr,
    /// None for (*,G).
    pub source: Option<Ipv4Addr>,
    /// The encoded source of Join(X) and Prune(X): `star_g(RP(G))` or `sg(S)`.
    pub enc: EncodedSource,
}

impl Ctx<'_> {
    fn jt(&mut self, up: &mut Upstream, at: Option<Instant>) {
        self.timers
            .set(&mut up.jt, jt_ref(self.group, self.source), at);
    }

    fn send_join(&mut self, (i, n): Nbr) {
        self.outbox.join(i, n, self.group, self.enc);
    }

    fn send_prune(&mut self, (i, n): Nbr) {
        self.outbox.prune(i, n, self.group, self.enc);
    }
}

impl Upstream {
    /// Re-evaluate `JoinDesired(X)` and `RPF'(X)` after anything they depend on changed.
    /// `old_alive`: the old RPF'(X) is still a neighbour (a Prune to it is worth sending).
    /// Returns the neighbour a Join(X) was sent to, if one was.
    pub fn update(
        &mut self,
        c: &mut Ctx<'_>,
        join_desired: bool,
        rpf_prime: Option<Nbr>,
        old_alive: bool,
    ) -> Option<Nbr> {
        let old = self.nbr;
        let mut joined = None;
        match (self.state, join_desired) {
            (UpstreamState::NotJoined, false) => {}
            (UpstreamState::NotJoined, true) => {
                // NJ -> J: send Join(X) to RPF'(X), set JT to t_periodic.
                self.state = UpstreamState::Joined;
                if let Some(n) = rpf_prime {
                    c.send_join(n);
                    joined = Some(n);
                }
                let at = rpf_prime.map(|_| c.now + c.t_periodic);
                c.jt(self, at);
            }
            (UpstreamState::Joined, false) => {
                // J -> NJ: send Prune(X) to RPF'(X), cancel JT.
                if let Some(n) = old.filter(|_| old_alive) {
                    c.send_prune(n);
                }
                self.state = UpstreamState::NotJoined;
                c.jt(self, None);
            }
            (UpstreamState::Joined, true) if old != rpf_prime => {
                // RPF'(X) changes not due to an Assert: Join to the new, Prune to the old,
                // JT = t_periodic.
                if let Some(n) = rpf_prime {
                    c.send_join(n);
                    joined = Some(n);
                }
                if let Some(n) = old.filter(|_| old_alive) {
                    c.send_prune(n);
                }
                let at = rpf_prime.map(|_| c.now + c.t_periodic);
                c.jt(self, at);
            }
            (UpstreamState::Joined, true) => {}
        }
        self.nbr = rpf_prime;
        joined
    }

    /// "RPF'(X) changes due to an Assert" (4.5.6, 4.5.7; Joined): no Join/Prune now,
    /// "if the Join Timer is set to expire in more than t_override seconds, reset it so that
    /// it expires after t_override seconds"; the next Join goes to the new RPF'(X).
    pub fn assert_rpf_change(
        &mut self,
        c: &mut Ctx<'_>,
        rpf_prime: Option<Nbr>,
        via_assert: bool,
        t_override: Duration,
    ) {
        self.via_assert = via_assert;
        if self.nbr == rpf_prime {
            return;
        }
        self.nbr = rpf_prime;
        if self.state != UpstreamState::Joined {
            return;
        }
        let target = c.now + t_override;
        let at = match (rpf_prime, self.jt) {
            (None, _) => None,
            (Some(_), Some(jt)) if jt <= target => Some(jt),
            (Some(_), _) => Some(target),
        };
        c.jt(self, at);
    }

    /// "JT(X) expires": send Join(X) to RPF'(X), restart JT with t_periodic. Returns the
    /// neighbour the Join went to.
    pub fn jt_expired(&mut self, c: &mut Ctx<'_>) -> Option<Nbr> {
        match (self.state, self.nbr) {
            (UpstreamState::Joined, Some(n)) => {
                c.send_join(n);
                let at = c.now + c.t_periodic;
                c.jt(self, Some(at));
                Some(n)
            }
            _ => {
                c.jt(self, None);
                None
            }
        }
    }

    /// "See Join(X) to RPF'(X)" (Joined): "If the Join Timer is set to expire in less than
    /// t_joinsuppress seconds, reset it so that it expires after t_joinsuppress seconds",
    /// t_joinsuppress being the smaller of t_suppressed and the message's HoldTime.
    pub fn see_join(&mut self, c: &mut Ctx<'_>, t_joinsuppress: Duration) {
        if self.state != UpstreamState::Joined || t_joinsuppress.is_zero() {
            return;
        }
        let target = c.now + t_joinsuppress;
        if let Some(jt) = self.jt.filter(|&jt| jt < target) {
            let _ = jt;
            c.jt(self, Some(target));
        }
    }

    /// "See Prune(X) to RPF'(X)" and "RPF'(X) GenID changes" (Joined): "If the Join Timer
    /// is set to expire in more than t_override seconds, reset it so that it expires after
    /// t_override seconds."
    pub fn decrease_jt(&mut self, c: &mut Ctx<'_>, t_override: Duration) {
        if self.state != UpstreamState::Joined {
            return;
        }
        let target = c.now + t_override;
        if self.jt.is_some_and(|jt| jt > target) {
            c.jt(self, Some(target));
        }
    }
}
