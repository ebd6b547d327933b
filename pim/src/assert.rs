//! The Assert state machines of RFC 7761 section 4.6: per (S,G) and interface (4.6.1) and
//! per (*,G) and interface (4.6.2), the assert metrics and their comparison (4.6.3), and
//! AssertCancel (4.6.6). The TIB ([`crate::tib`]) evaluates the macros of 4.6.5
//! (`CouldAssert`, `AssertTrackingDesired`, `my_assert_metric`, `lost_assert`) and feeds
//! the machine through [`step`]; this module has no state of its own besides [`IfAssert`].
//!
//! ```text
//!                     NoInfo (NI)            Winner (W)             Loser (L)
//! data on I, Could    -> W: send Assert,     -                      -
//!                        AT = 177 s
//! inferior Assert,    -> W: send Assert,     send Assert,           -
//!   CouldAssert          AT = 177 s          AT = 177 s
//! preferred Assert    (acceptable, Tracking) -> L: AT = 180 s,      -> L: new winner,
//!                     -> L: AT = 180 s,      store winner           AT = 180 s
//!                        store winner
//! acceptable Assert   -                      -                      L: AT = 180 s
//!   from the winner
//! inferior Assert or  -                      -                      -> NI
//!   Cancel from winner
//! AT expires          -                      send Assert, 177 s     -> NI
//! CouldAssert -> F    -                      -> NI: AssertCancel    -
//! Tracking -> F,      -                      -                      -> NI
//!   my metric better, winner gone, Join(X) to me on I
//! ```
//!
//! `MRIB.pref(X)` and `MRIB.metric(X)` are not known (the shell's [`common::Rpf`] does not
//! carry the route's protocol preference nor its metric): every route has
//! [`MRIB_PREFERENCE`] and [`MRIB_METRIC`], so between routers of this implementation the
//! higher address wins. Per-route values are a later addition (they need the route's
//! protocol and metric from the shell).

use std::cmp::Reverse;
use std::net::Ipv4Addr;
use std::time::Duration;

use common::{IfIndex, Instant};
use serde::Serialize;

/// Assert_Time (4.11): how long a loser keeps the winner without hearing from it.
pub const ASSERT_TIME: Duration = Duration::from_secs(180);
/// Assert_Override_Interval (4.11): the winner refreshes its Assert this much earlier.
pub const ASSERT_OVERRIDE_INTERVAL: Duration = Duration::from_secs(3);
/// `MRIB.pref(X)` of every route (FRR uses the admin distance, for an unknown route 101...
/// here a constant; per-route values are a later addition).
pub const MRIB_PREFERENCE: u32 = 101;
/// `MRIB.metric(X)` of every route (a constant; per-route values are a later addition).
pub const MRIB_METRIC: u32 = 1024;

/// The largest metric preference on the wire (31 bits).
const INFINITE_PREFERENCE: u32 = 0x7fff_ffff;
const INFINITE_METRIC: u32 = u32::MAX;

/// An assert metric (4.6.3): `{rpt_bit_flag, metric_preference, route_metric, ip_address}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AssertMetric {
    pub rpt: bool,
    pub preference: u32,
    pub metric: u32,
    pub address: Ipv4Addr,
}

impl AssertMetric {
    /// `spt_assert_metric(S,I) = {0, MRIB.pref(S), MRIB.metric(S), my_ip_address(I)}`.
    pub fn spt(me: Ipv4Addr) -> Self {
        AssertMetric {
            rpt: false,
            preference: MRIB_PREFERENCE,
            metric: MRIB_METRIC,
            address: me,
        }
    }

    /// `rpt_assert_metric(G,I) = {1, MRIB.pref(RP(G)), MRIB.metric(RP(G)),
    /// my_ip_address(I)}`.
    pub fn rpt(me: Ipv4Addr) -> Self {
        AssertMetric {
            rpt: true,
            ..Self::spt(me)
        }
    }

    /// `infinite_assert_metric() = {1, infinity, infinity, 0}`: AssertCancel (4.6.6).
    pub fn infinite() -> Self {
        AssertMetric {
            rpt: true,
            preference: INFINITE_PREFERENCE,
            metric: INFINITE_METRIC,
            address: Ipv4Addr::UNSPECIFIED,
        }
    }

    pub fn is_infinite(&self) -> bool {
        self.preference == INFINITE_PREFERENCE && self.metric == INFINITE_METRIC
    }

    /// 4.6.3: `self` is better than `other`: RPT bit clear beats set, then the lower
    /// preference, then the lower metric, then the higher address.
    pub fn better(&self, other: &AssertMetric) -> bool {
        let key = |m: &AssertMetric| (m.rpt, m.preference, m.metric, Reverse(m.address));
        key(self) < key(other)
    }
}

/// Assert state of one entry on one interface (4.6.1, 4.6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssertState {
    NoInfo,
    Winner,
    Loser,
}

/// Assert state other than NoInfo on one interface (NoInfo is not stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IfAssert {
    pub ifindex: IfIndex,
    pub state: AssertState,
    /// Assert Timer AT(X,I).
    pub timer: Option<Instant>,
    /// AssertWinner(X,I): our own address in Winner state; a neighbour's primary address in
    /// Loser state.
    pub winner: Ipv4Addr,
    /// AssertWinnerMetric(X,I).
    pub metric: AssertMetric,
}

/// What the machine gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AssertInput {
    /// A data packet for the entry arrived on I (a WRONGVIF upcall).
    Data,
    /// An Assert from neighbour `from` (primary address) with this metric; for the (S,G)
    /// machine an RPT-bit one is an Assert(*,G) or an AssertCancel(S,G).
    Assert {
        from: Ipv4Addr,
        metric: AssertMetric,
    },
    /// AT(X,I) expired.
    Timer,
    /// Re-evaluation of the conditions (`CouldAssert -> FALSE`, `AssertTrackingDesired
    /// -> FALSE`, `my_metric -> better than the winner's`).
    Conditions,
    /// Receive Join(X) on I addressed to us; the winner went away or restarted; the RPF
    /// interface stopped being I: Loser -> NoInfo.
    Reset,
}

/// The macros of 4.6.5 for one entry and interface, as the TIB evaluated them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Conds {
    /// `CouldAssert(X,I)`.
    pub could: bool,
    /// `AssertTrackingDesired(X,I)`.
    pub tracking: bool,
    /// The metric this router asserts with: `spt_assert_metric(S,I)` for (S,G),
    /// `rpt_assert_metric(G,I)` for (*,G).
    pub assert_metric: AssertMetric,
    /// `my_assert_metric(X,I)`.
    pub my_metric: AssertMetric,
    /// The machine is the (*,G) one (it takes Asserts with the RPT bit set; the (S,G) one
    /// becomes a loser only to Asserts with the RPT bit clear).
    pub star: bool,
}

/// The outcome of one transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// The new state (None: NoInfo).
    pub next: Option<IfAssert>,
    /// Send an Assert with this metric (the infinite one: AssertCancel).
    pub send: Option<AssertMetric>,
}

/// One transition of 4.6.1 / 4.6.2 (their tables are the same but for the RPT bit) from
/// `cur` (None: NoInfo) at `now` for interface `i`, our address `me` on it.
pub(crate) fn step(
    cur: Option<&IfAssert>,
    input: AssertInput,
    c: &Conds,
    now: Instant,
    i: IfIndex,
    me: Ipv4Addr,
) -> Step {
    let win = |send: bool| Step {
        next: Some(IfAssert {
            ifindex: i,
            state: AssertState::Winner,
            timer: Some(now + (ASSERT_TIME - ASSERT_OVERRIDE_INTERVAL)),
            winner: me,
            metric: c.assert_metric,
        }),
        send: send.then_some(c.assert_metric),
    };
    let lose = |from: Ipv4Addr, metric: AssertMetric| Step {
        next: Some(IfAssert {
            ifindex: i,
            state: AssertState::Loser,
            timer: Some(now + ASSERT_TIME),
            winner: from,
            metric,
        }),
        send: None,
    };
    let stay = Step {
        next: cur.copied(),
        send: None,
    };
    let no_info = Step {
        next: None,
        send: None,
    };
    match (cur.map(|a| a.state), input) {
        (None | Some(AssertState::NoInfo), AssertInput::Data) if c.could => win(true),
        (None | Some(AssertState::NoInfo), AssertInput::Assert { from, metric }) => {
            if c.could && c.assert_metric.better(&metric) {
                // Receive inferior Assert (4.6.1: with the RPT bit clear, or any with it
                // set) AND CouldAssert: we are the better forwarder.
                win(true)
            } else if metric.rpt == c.star && metric.better(&c.my_metric) && c.tracking {
                // Receive acceptable Assert AND AssertTrackingDesired.
                lose(from, metric)
            } else {
                no_info
            }
        }
        (None | Some(AssertState::NoInfo), _) => no_info,
        (Some(AssertState::Winner), AssertInput::Timer) => win(true),
        (Some(AssertState::Winner), AssertInput::Assert { from, metric }) => {
            if c.assert_metric.better(&metric) {
                win(true)
            } else {
                lose(from, metric)
            }
        }
        (Some(AssertState::Winner), AssertInput::Conditions) if !c.could => Step {
            next: None,
            send: Some(AssertMetric::infinite()),
        },
        (Some(AssertState::Winner), _) => stay,
        (Some(AssertState::Loser), AssertInput::Assert { from, metric }) => {
            let a = cur.expect("loser");
            if metric.better(&a.metric) {
                // Preferred Assert: a new winner.
                lose(from, metric)
            } else if from == a.winner {
                if metric.is_infinite() || c.my_metric.better(&metric) {
                    // Inferior Assert or AssertCancel from the current winner.
                    no_info
                } else {
                    lose(from, metric)
                }
            } else {
                stay
            }
        }
        (Some(AssertState::Loser), AssertInput::Timer | AssertInput::Reset) => no_info,
        (Some(AssertState::Loser), AssertInput::Conditions) => {
            let a = cur.expect("loser");
            if !c.tracking || c.my_metric.better(&a.metric) {
                no_info
            } else {
                stay
            }
        }
        (Some(AssertState::Loser), AssertInput::Data) => stay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const HIGH: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);
    const LOW: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 0);
    const I: IfIndex = IfIndex(1);

    fn t(s: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(s)
    }

    fn sg(could: bool, tracking: bool) -> Conds {
        let m = AssertMetric::spt(ME);
        Conds {
            could,
            tracking,
            assert_metric: m,
            my_metric: if could { m } else { AssertMetric::infinite() },
            star: false,
        }
    }

    fn from(a: Ipv4Addr) -> AssertInput {
        AssertInput::Assert {
            from: a,
            metric: AssertMetric::spt(a),
        }
    }

    #[test]
    fn s4_6_3_metric_comparison() {
        let a = AssertMetric::spt(LOW);
        let b = AssertMetric::spt(HIGH);
        assert!(b.better(&a), "equal metrics: the higher address wins");
        let mut cheap = AssertMetric::spt(LOW);
        cheap.metric = 10;
        assert!(cheap.better(&b), "lower metric wins before the address");
        let mut pref = AssertMetric::spt(LOW);
        pref.preference = 1;
        pref.metric = u32::MAX - 1;
        assert!(
            pref.better(&cheap),
            "lower preference wins before the metric"
        );
        assert!(
            AssertMetric::spt(LOW).better(&AssertMetric::rpt(HIGH)),
            "the RPT bit loses"
        );
        assert!(AssertMetric::rpt(LOW).better(&AssertMetric::infinite()));
        assert!(AssertMetric::infinite().is_infinite());
        assert!(!a.better(&a));
    }

    #[test]
    fn s4_6_1_no_info_data_makes_a_winner() {
        let s = step(None, AssertInput::Data, &sg(true, true), t(0), I, ME);
        let a = s.next.unwrap();
        assert_eq!(a.state, AssertState::Winner);
        assert_eq!(a.timer, Some(t(177)));
        assert_eq!(a.winner, ME);
        assert_eq!(s.send, Some(AssertMetric::spt(ME)));
        // Without CouldAssert nothing happens.
        let s = step(None, AssertInput::Data, &sg(false, true), t(0), I, ME);
        assert_eq!(s.next, None);
        assert_eq!(s.send, None);
    }

    #[test]
    fn s4_6_1_no_info_assert() {
        // Inferior Assert and CouldAssert: Winner, send Assert.
        let s = step(None, from(LOW), &sg(true, true), t(0), I, ME);
        assert_eq!(s.next.unwrap().state, AssertState::Winner);
        assert!(s.send.is_some());
        // An Assert(*,G) (RPT bit) is inferior to any (S,G) metric.
        let rpt = AssertInput::Assert {
            from: HIGH,
            metric: AssertMetric::rpt(HIGH),
        };
        let s = step(None, rpt, &sg(true, true), t(0), I, ME);
        assert_eq!(s.next.unwrap().state, AssertState::Winner);
        // Acceptable (preferred) Assert and AssertTrackingDesired: Loser, AT = Assert_Time.
        let s = step(None, from(HIGH), &sg(true, true), t(0), I, ME);
        let a = s.next.unwrap();
        assert_eq!(
            (a.state, a.winner, a.timer),
            (AssertState::Loser, HIGH, Some(t(180)))
        );
        assert_eq!(s.send, None);
        // A downstream router (no CouldAssert, tracking on its RPF interface).
        let s = step(None, from(LOW), &sg(false, true), t(0), I, ME);
        assert_eq!(s.next.unwrap().winner, LOW);
        // Not tracking: nothing.
        let s = step(None, from(HIGH), &sg(false, false), t(0), I, ME);
        assert_eq!(s.next, None);
        // The (S,G) machine does not lose to an RPT-bit Assert.
        let s = step(None, rpt, &sg(false, true), t(0), I, ME);
        assert_eq!(s.next, None);
    }

    #[test]
    fn s4_6_1_winner_transitions() {
        let w = step(None, AssertInput::Data, &sg(true, true), t(0), I, ME)
            .next
            .unwrap();
        // AT expires: re-send, AT = Assert_Time - Assert_Override_Interval.
        let s = step(Some(&w), AssertInput::Timer, &sg(true, true), t(177), I, ME);
        assert_eq!(s.next.unwrap().timer, Some(t(354)));
        assert!(s.send.is_some());
        // Inferior Assert: re-send.
        let s = step(Some(&w), from(LOW), &sg(true, true), t(5), I, ME);
        assert_eq!(s.next.unwrap().state, AssertState::Winner);
        assert!(s.send.is_some());
        // Preferred Assert: Loser.
        let s = step(Some(&w), from(HIGH), &sg(true, true), t(5), I, ME);
        assert_eq!(s.next.unwrap().state, AssertState::Loser);
        assert_eq!(s.send, None);
        // CouldAssert -> FALSE: AssertCancel, NoInfo.
        let s = step(
            Some(&w),
            AssertInput::Conditions,
            &sg(false, true),
            t(5),
            I,
            ME,
        );
        assert_eq!(s.next, None);
        assert_eq!(s.send, Some(AssertMetric::infinite()));
        let s = step(
            Some(&w),
            AssertInput::Conditions,
            &sg(true, true),
            t(5),
            I,
            ME,
        );
        assert_eq!(s.next, Some(w));
    }

    #[test]
    fn s4_6_1_loser_transitions() {
        let c = sg(true, true);
        let l = step(None, from(HIGH), &c, t(0), I, ME).next.unwrap();
        // Acceptable Assert from the winner: AT restarts.
        let s = step(Some(&l), from(HIGH), &c, t(100), I, ME);
        assert_eq!(s.next.unwrap().timer, Some(t(280)));
        // A better one from another router: new winner.
        let higher = Ipv4Addr::new(10, 0, 0, 20);
        let s = step(Some(&l), from(higher), &c, t(100), I, ME);
        assert_eq!(s.next.unwrap().winner, higher);
        // An inferior one from someone else: no change.
        let s = step(Some(&l), from(LOW), &c, t(100), I, ME);
        assert_eq!(s.next, Some(l));
        // AssertCancel from the winner: NoInfo.
        let cancel = AssertInput::Assert {
            from: HIGH,
            metric: AssertMetric::infinite(),
        };
        assert_eq!(step(Some(&l), cancel, &c, t(1), I, ME).next, None);
        // Inferior Assert from the winner: NoInfo.
        let mut worse = AssertMetric::spt(HIGH);
        worse.metric = u32::MAX - 1;
        let inferior = AssertInput::Assert {
            from: HIGH,
            metric: worse,
        };
        assert_eq!(step(Some(&l), inferior, &c, t(1), I, ME).next, None);
        // AT expires, Join to us, winner gone: NoInfo.
        assert_eq!(
            step(Some(&l), AssertInput::Timer, &c, t(180), I, ME).next,
            None
        );
        assert_eq!(
            step(Some(&l), AssertInput::Reset, &c, t(1), I, ME).next,
            None
        );
        // AssertTrackingDesired -> FALSE: NoInfo.
        let s = step(
            Some(&l),
            AssertInput::Conditions,
            &sg(true, false),
            t(1),
            I,
            ME,
        );
        assert_eq!(s.next, None);
        // my_metric better than the winner's: NoInfo.
        let mut better = sg(true, true);
        better.my_metric.metric = 1;
        let s = step(Some(&l), AssertInput::Conditions, &better, t(1), I, ME);
        assert_eq!(s.next, None);
        let s = step(Some(&l), AssertInput::Conditions, &c, t(1), I, ME);
        assert_eq!(s.next, Some(l));
    }

    #[test]
    fn s4_6_2_star_g_machine_takes_rpt_asserts() {
        let m = AssertMetric::rpt(ME);
        let c = Conds {
            could: true,
            tracking: true,
            assert_metric: m,
            my_metric: m,
            star: true,
        };
        let s = step(None, AssertInput::Data, &c, t(0), I, ME);
        assert_eq!(s.send, Some(m));
        let rpt_high = AssertInput::Assert {
            from: HIGH,
            metric: AssertMetric::rpt(HIGH),
        };
        let s = step(None, rpt_high, &c, t(0), I, ME);
        assert_eq!(s.next.unwrap().state, AssertState::Loser);
        let rpt_low = AssertInput::Assert {
            from: LOW,
            metric: AssertMetric::rpt(LOW),
        };
        let s = step(None, rpt_low, &c, t(0), I, ME);
        assert_eq!(s.next.unwrap().state, AssertState::Winner);
    }
}
