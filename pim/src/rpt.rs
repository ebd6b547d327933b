//! (S,G,rpt) state (RFC 7761): the downstream per-interface machine of 4.5.4 and the
//! upstream machine of 4.5.9 (with the periodic rules of 4.5.8), and the per-(S,G) SPT
//! switchover bookkeeping of 4.2.2 (the measured rate of a source).
//!
//! Downstream (4.5.4), per interface; PruneTmp (P') and Prune-Pending-Tmp (PP') live only
//! while one Join/Prune message is processed:
//!
//! ```text
//!                        NoInfo      Prune (P)        Prune-Pending (PP)  P'    PP'
//! Receive Join(*,G)      -           -> P'            -> PP'              -     -
//! Receive Join(S,G,rpt)  -           -> NI            -> NI               -     -
//! Receive Prune(S,G,rpt) -> PP, PPT, -> P, ET = max   -> PP, ET = max     -> P, -> PP,
//!                           ET = HT     (ET, HT)         (ET, HT)            ET=HT ET=HT
//! End of message         -           -                -                   -> NI -> NI
//! PPT expires            -           -                -> P                -     -
//! ET expires             -           -> NI            -> NI               -> NI -> NI
//! ```
//!
//! `prunes(S,G,rpt)` (4.1.6) are the interfaces in Prune or PruneTmp.
//!
//! Upstream (4.5.9), `RPF'(S,G,rpt)` = `RPF'(*,G)` (no asserts yet):
//!
//! ```text
//!                                RPTNotJoined (NJ)  Pruned (P)          NotPruned (NP)
//! PruneDesired(S,G,rpt) -> True  -> P               -                   -> P: Prune(S,G,rpt),
//!                                                                          cancel OT
//! PruneDesired(S,G,rpt) -> False -                  -> NP: Join(S,G,rpt) -
//! RPTJoinDesired(G) -> False     -                  -> NJ               -> NJ, cancel OT
//! inherited_olist(S,G,rpt)       -> NP              -                   -
//!   -> non-NULL
//! OT expires                     -                  -                   Join(S,G,rpt)
//! See Prune(S,G,rpt) or Prune(S,G) to RPF'(S,G,rpt)  -                  OT = min(OT, t_override)
//! See Join(S,G,rpt) to RPF'(S,G,rpt)                 -                  cancel OT
//! ```
//!
//! Choice: entering Pruned from RPTNotJoined also sends the Prune(S,G,rpt) (it goes in the
//! same message as the Join(*,G) that is sent when RPTJoinDesired(G) becomes true); every
//! Join(*,G) sent carries a Prune(S,G,rpt) for every source in Pruned state (4.5.8).

use std::net::Ipv4Addr;
use std::time::Duration;

use common::{IfIndex, Instant};
use serde::Serialize;

use crate::packet::HOLDTIME_INFINITE;
use crate::timers::{TimerKind, TimerRef, Timers};

/// DownstreamJPState(S,G,rpt,I) (4.5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RptDownstreamState {
    NoInfo,
    Prune,
    PrunePending,
    PruneTmp,
    PrunePendingTmp,
}

impl RptDownstreamState {
    /// In `prunes(S,G,rpt)` (4.1.6): Prune or PruneTmp.
    pub fn is_pruned(self) -> bool {
        matches!(
            self,
            RptDownstreamState::Prune | RptDownstreamState::PruneTmp
        )
    }
}

/// Upstream (S,G,rpt) state (4.5.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RptUpstreamState {
    #[default]
    RptNotJoined,
    Pruned,
    NotPruned,
}

/// (S,G,rpt) downstream state on one interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RptOif {
    pub ifindex: IfIndex,
    pub state: RptDownstreamState,
    /// Expiry Timer ET(S,G,rpt,I); None with HoldTime 0xffff.
    pub et: Option<Instant>,
    /// Prune-Pending Timer PPT(S,G,rpt,I).
    pub ppt: Option<Instant>,
}

/// The (S,G,rpt) state of one source (boxed in the entry: most entries have none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Rpt {
    /// Sorted by interface; NoInfo interfaces are absent.
    pub oifs: Vec<RptOif>,
    pub up: RptUpstreamState,
    /// Override Timer OT(S,G,rpt), in NotPruned.
    pub ot: Option<Instant>,
}

pub(crate) fn rpt_et_ref(g: Ipv4Addr, s: Ipv4Addr, i: IfIndex) -> TimerRef {
    TimerRef {
        group: g,
        source: Some(s),
        kind: TimerKind::RptEt(i),
    }
}

pub(crate) fn rpt_ppt_ref(g: Ipv4Addr, s: Ipv4Addr, i: IfIndex) -> TimerRef {
    TimerRef {
        group: g,
        source: Some(s),
        kind: TimerKind::RptPpt(i),
    }
}

pub(crate) fn ot_ref(g: Ipv4Addr, s: Ipv4Addr) -> TimerRef {
    TimerRef {
        group: g,
        source: Some(s),
        kind: TimerKind::Ot,
    }
}

fn expiry(now: Instant, holdtime: u16) -> Option<Instant> {
    (holdtime != HOLDTIME_INFINITE).then(|| now + Duration::from_secs(u64::from(holdtime)))
}

impl Rpt {
    pub fn is_idle(&self) -> bool {
        self.oifs.is_empty() && self.ot.is_none()
    }

    /// `prunes(S,G,rpt)` (4.1.6), sorted.
    pub fn prunes(&self) -> Vec<IfIndex> {
        self.oifs
            .iter()
            .filter(|o| o.state.is_pruned())
            .map(|o| o.ifindex)
            .collect()
    }

    fn pos(&self, i: IfIndex) -> Result<usize, usize> {
        self.oifs.binary_search_by_key(&i, |o| o.ifindex)
    }

    /// Remove the state on I (-> NoInfo), stopping its timers.
    pub fn no_info(&mut self, timers: &mut Timers, g: Ipv4Addr, s: Ipv4Addr, i: IfIndex) -> bool {
        let Ok(p) = self.pos(i) else {
            return false;
        };
        let mut o = self.oifs.remove(p);
        timers.set(&mut o.et, rpt_et_ref(g, s, i), None);
        timers.set(&mut o.ppt, rpt_ppt_ref(g, s, i), None);
        true
    }

    /// "Receive Join(*,G)" on I: P -> P', PP -> PP'.
    pub fn star_join(&mut self, i: IfIndex) {
        if let Ok(p) = self.pos(i) {
            let o = &mut self.oifs[p];
            o.state = match o.state {
                RptDownstreamState::Prune => RptDownstreamState::PruneTmp,
                RptDownstreamState::PrunePending => RptDownstreamState::PrunePendingTmp,
                x => x,
            };
        }
    }

    /// "Receive Prune(S,G,rpt)" on I with this HoldTime; `ppt` is the Prune-Pending delay
    /// (zero: the caller runs [`Rpt::ppt_expired`] at once). Returns true if PPT started.
    #[allow(clippy::too_many_arguments)]
    pub fn receive_prune(
        &mut self,
        timers: &mut Timers,
        g: Ipv4Addr,
        s: Ipv4Addr,
        i: IfIndex,
        now: Instant,
        holdtime: u16,
        ppt: Duration,
    ) -> bool {
        let held = expiry(now, holdtime);
        let p = match self.pos(i) {
            Ok(p) => p,
            Err(p) => {
                // NI -> PP: start PPT and ET.
                let mut o = RptOif {
                    ifindex: i,
                    state: RptDownstreamState::PrunePending,
                    et: None,
                    ppt: None,
                };
                timers.set(&mut o.et, rpt_et_ref(g, s, i), held);
                timers.set(&mut o.ppt, rpt_ppt_ref(g, s, i), Some(now + ppt));
                self.oifs.insert(p, o);
                return true;
            }
        };
        let o = &mut self.oifs[p];
        match o.state {
            RptDownstreamState::Prune | RptDownstreamState::PrunePending => {
                let new = match (o.et, held) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
                timers.set(&mut o.et, rpt_et_ref(g, s, i), new);
            }
            RptDownstreamState::PruneTmp => {
                o.state = RptDownstreamState::Prune;
                timers.set(&mut o.et, rpt_et_ref(g, s, i), held);
            }
            RptDownstreamState::PrunePendingTmp => {
                o.state = RptDownstreamState::PrunePending;
                timers.set(&mut o.et, rpt_et_ref(g, s, i), held);
            }
            RptDownstreamState::NoInfo => {}
        }
        false
    }

    /// "End of Message" on I: P', PP' -> NI. Returns true if the state changed.
    pub fn end_of_message(
        &mut self,
        timers: &mut Timers,
        g: Ipv4Addr,
        s: Ipv4Addr,
        i: IfIndex,
    ) -> bool {
        let tmp = self.pos(i).is_ok_and(|p| {
            matches!(
                self.oifs[p].state,
                RptDownstreamState::PruneTmp | RptDownstreamState::PrunePendingTmp
            )
        });
        tmp && self.no_info(timers, g, s, i)
    }

    /// "PPT(S,G,rpt,I) expires": PP -> P.
    pub fn ppt_expired(&mut self, timers: &mut Timers, g: Ipv4Addr, s: Ipv4Addr, i: IfIndex) {
        if let Ok(p) = self.pos(i) {
            let o = &mut self.oifs[p];
            timers.set(&mut o.ppt, rpt_ppt_ref(g, s, i), None);
            if o.state == RptDownstreamState::PrunePending {
                o.state = RptDownstreamState::Prune;
            }
        }
    }

    /// The state on I (NoInfo if none).
    #[cfg(test)]
    pub fn state(&self, i: IfIndex) -> RptDownstreamState {
        self.pos(i)
            .map_or(RptDownstreamState::NoInfo, |p| self.oifs[p].state)
    }
}

/// What the upstream (S,G,rpt) machine decided: send Join(S,G,rpt) or Prune(S,G,rpt) to
/// RPF'(*,G).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RptSend {
    Nothing,
    Join,
    Prune,
}

/// Re-evaluate the upstream (S,G,rpt) machine (4.5.9) with `RPTJoinDesired(G)`,
/// `PruneDesired(S,G,rpt)` and whether `inherited_olist(S,G,rpt)` is non-NULL.
pub(crate) fn update_up(
    rpt: &mut Rpt,
    timers: &mut Timers,
    g: Ipv4Addr,
    s: Ipv4Addr,
    rpt_join_desired: bool,
    prune_desired: bool,
    olist_non_null: bool,
) -> RptSend {
    use RptUpstreamState::*;
    let (next, send) = match rpt.up {
        _ if !rpt_join_desired => (RptNotJoined, RptSend::Nothing),
        RptNotJoined if prune_desired => (Pruned, RptSend::Prune),
        RptNotJoined if olist_non_null => (NotPruned, RptSend::Nothing),
        RptNotJoined => (RptNotJoined, RptSend::Nothing),
        NotPruned if prune_desired => (Pruned, RptSend::Prune),
        NotPruned => (NotPruned, RptSend::Nothing),
        Pruned if !prune_desired => (NotPruned, RptSend::Join),
        Pruned => (Pruned, RptSend::Nothing),
    };
    if next != NotPruned {
        timers.set(&mut rpt.ot, ot_ref(g, s), None);
    }
    rpt.up = next;
    send
}

/// Measured rate of an (S,G) from consecutive kernel byte counters (4.2.2 Threshold).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Rate {
    /// The last sample: (time, packets, bytes).
    pub last: Option<(Instant, u64, u64)>,
    /// kbit/s between the last two samples.
    pub kbps: Option<u64>,
}

impl Rate {
    /// A new sample; returns the packet delta (a counter that went down is a new kernel
    /// entry and counts whole).
    pub fn sample(&mut self, now: Instant, packets: u64, bytes: u64) -> u64 {
        let delta = match self.last {
            Some((at, lp, lb)) => {
                let dt = now.saturating_duration_since(at).as_millis() as u64;
                let db = if bytes >= lb { bytes - lb } else { bytes };
                // bytes * 8 / ms = kbit/s.
                if let Some(k) = db.saturating_mul(8).checked_div(dt) {
                    self.kbps = Some(k);
                }
                if packets >= lp { packets - lp } else { packets }
            }
            None => packets,
        };
        self.last = Some((now, packets, bytes));
        delta
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RptDownstreamState as D;
    use RptUpstreamState as U;

    const G: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);
    const S: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 100);
    const I: IfIndex = IfIndex(2);

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn s4_5_4_prune_then_ppt_then_et() {
        let mut t = Timers::default();
        let mut r = Rpt::default();
        assert!(r.receive_prune(&mut t, G, S, I, at(0), 210, Duration::from_secs(3)));
        assert_eq!(r.state(I), D::PrunePending);
        assert!(
            r.prunes().is_empty(),
            "Prune-Pending is not in prunes(S,G,rpt)"
        );
        r.ppt_expired(&mut t, G, S, I);
        assert_eq!(r.state(I), D::Prune);
        assert_eq!(r.prunes(), vec![I]);
        assert_eq!(r.oifs[0].et, Some(at(210_000)));
        // P: a later Prune extends ET to max(ET, HoldTime).
        r.receive_prune(&mut t, G, S, I, at(100_000), 210, Duration::ZERO);
        assert_eq!(r.oifs[0].et, Some(at(310_000)));
        assert!(r.no_info(&mut t, G, S, I));
        assert_eq!(r.state(I), D::NoInfo);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn s4_5_4_join_star_g_without_prune_clears_the_prune() {
        let mut t = Timers::default();
        let mut r = Rpt::default();
        r.receive_prune(&mut t, G, S, I, at(0), 210, Duration::ZERO);
        r.ppt_expired(&mut t, G, S, I);
        r.star_join(I);
        assert_eq!(r.state(I), D::PruneTmp);
        assert_eq!(r.prunes(), vec![I], "PruneTmp is in prunes(S,G,rpt)");
        assert!(r.end_of_message(&mut t, G, S, I));
        assert_eq!(r.state(I), D::NoInfo);
    }

    #[test]
    fn s4_5_4_join_star_g_with_prune_keeps_it_and_restarts_et() {
        let mut t = Timers::default();
        let mut r = Rpt::default();
        r.receive_prune(&mut t, G, S, I, at(0), 210, Duration::from_secs(3));
        // PP -> PP' -> PP with ET restarted.
        r.star_join(I);
        assert_eq!(r.state(I), D::PrunePendingTmp);
        r.receive_prune(&mut t, G, S, I, at(1000), 100, Duration::from_secs(3));
        assert_eq!(r.state(I), D::PrunePending);
        assert_eq!(r.oifs[0].et, Some(at(101_000)));
        assert!(!r.end_of_message(&mut t, G, S, I));
        r.ppt_expired(&mut t, G, S, I);
        // P -> P' -> P.
        r.star_join(I);
        r.receive_prune(&mut t, G, S, I, at(2000), 210, Duration::ZERO);
        assert_eq!(r.state(I), D::Prune);
        assert_eq!(r.oifs[0].et, Some(at(212_000)));
    }

    #[test]
    fn s4_5_9_upstream_transitions() {
        let mut t = Timers::default();
        let mut r = Rpt::default();
        assert_eq!(
            update_up(&mut r, &mut t, G, S, false, false, true),
            RptSend::Nothing
        );
        assert_eq!(r.up, U::RptNotJoined);
        // inherited_olist(S,G,rpt) non-NULL: NJ -> NP.
        assert_eq!(
            update_up(&mut r, &mut t, G, S, true, false, true),
            RptSend::Nothing
        );
        assert_eq!(r.up, U::NotPruned);
        // PruneDesired -> True: NP -> P, send Prune(S,G,rpt), cancel OT.
        t.set(&mut r.ot, ot_ref(G, S), Some(at(5)));
        assert_eq!(
            update_up(&mut r, &mut t, G, S, true, true, true),
            RptSend::Prune
        );
        assert_eq!((r.up, r.ot), (U::Pruned, None));
        // PruneDesired -> False: P -> NP, send Join(S,G,rpt).
        assert_eq!(
            update_up(&mut r, &mut t, G, S, true, false, true),
            RptSend::Join
        );
        assert_eq!(r.up, U::NotPruned);
        // RPTJoinDesired(G) -> False: -> NJ, cancel OT.
        t.set(&mut r.ot, ot_ref(G, S), Some(at(5)));
        update_up(&mut r, &mut t, G, S, false, false, true);
        assert_eq!((r.up, r.ot), (U::RptNotJoined, None));
        // NJ with PruneDesired (inherited_olist(S,G,rpt) NULL): -> P.
        assert_eq!(
            update_up(&mut r, &mut t, G, S, true, true, false),
            RptSend::Prune
        );
        assert_eq!(r.up, U::Pruned);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn s4_2_2_rate_from_byte_counters() {
        let mut r = Rate::default();
        assert_eq!(r.sample(at(0), 10, 1000), 10);
        assert_eq!(r.kbps, None);
        // 125000 bytes in 1 s = 1000 kbit/s.
        assert_eq!(r.sample(at(1000), 110, 126_000), 100);
        assert_eq!(r.kbps, Some(1000));
        // A counter that went down: a new kernel entry.
        assert_eq!(r.sample(at(2000), 5, 500), 5);
        assert_eq!(r.kbps, Some(4));
    }
}
