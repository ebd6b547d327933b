//! Register (RFC 7761 section 4.4) and the Keepalive Timer (4.1.1, 4.2.1): the per-(S,G)
//! Register state machine of the DR (4.4.1) and the timer values of 4.11.
//!
//! ```text
//!                      NoInfo (NI)     Join (J)           Join-Pending (JP)   Prune (P)
//! Register-Stop Timer  -               -                  -> J: add reg       -> JP: send
//!   expires                                                  tunnel              Null-Register,
//!                                                                                RST = Probe
//! Receive              -               -> P: remove reg   -> P: set RST (*)   -
//!   Register-Stop                         tunnel, RST (*)
//! CouldRegister->True  -> J: add reg   -                  -                   -
//!                         tunnel
//! CouldRegister->False -               -> NI: remove reg  -> NI               -> NI
//!                                         tunnel
//! RP changed           -               -> J: update reg   -> J: add reg       -> J: add reg
//!                                         tunnel             tunnel, stop RST    tunnel,
//!                                                                                stop RST
//! ```
//!
//! (*) the Register-Stop Timer RST(S,G) is set to a random value in
//! `(0.5 x Register_Suppression_Time, 1.5 x Register_Suppression_Time) - Register_Probe_Time`.
//!
//! "The register tunnel" is the register VIF (`pimreg`) in the (S,G) forwarding intent: the
//! kernel hands every packet forwarded to it to the shell (`UpcallKind::WholePacket`),
//! which gives it back to us to be sent, encapsulated, to RP(G). It is in the olist only in
//! Join state.

use std::time::Duration;

use common::Instant;
use serde::Serialize;

use crate::rng::Rng;

/// Register_Suppression_Time (4.11): 60 s.
pub const REGISTER_SUPPRESSION_TIME: Duration = Duration::from_secs(60);
/// Register_Probe_Time (4.11): 5 s.
pub const REGISTER_PROBE_TIME: Duration = Duration::from_secs(5);
/// Keepalive_Period (4.11): 210 s.
pub const KEEPALIVE_PERIOD: Duration = Duration::from_secs(210);
/// RP_Keepalive_Period (4.11): `3 x Register_Suppression_Time + Register_Probe_Time`.
pub const RP_KEEPALIVE_PERIOD: Duration = Duration::from_secs(3 * 60 + 5);

/// The largest link MTU a Register may fill (the DR never sends a Register larger).
pub const REGISTER_MTU: usize = 1500;

/// Register state of (S,G) at the DR (4.4.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegisterState {
    /// No Info (NI): not registering.
    #[default]
    NoInfo,
    /// Join (J): the register tunnel is in the olist; data is sent in Registers.
    Join,
    /// Join-Pending (JP): a Null-Register probe went out; waiting Register_Probe_Time for a
    /// Register-Stop before joining again.
    JoinPending,
    /// Prune (P): a Register-Stop was received; the tunnel is out of the olist until the
    /// Register-Stop Timer expires.
    Prune,
}

/// What the caller must do after a transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RegOutcome {
    Nothing,
    /// Send a Null-Register for (S,G) to RP(G).
    SendNullRegister,
}

/// The Register state and Register-Stop Timer of one (S,G); the timer's entry in the TIB's
/// timer set is kept in step by the caller (it passes the new deadline to `Timers::set`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Reg {
    pub state: RegisterState,
    /// Register-Stop Timer RST(S,G) (4.4.1).
    pub rst: Option<Instant>,
}

/// The Register-Stop Timer value after a Register-Stop (4.4.1, (*)).
pub(crate) fn register_stop_delay(rng: &mut Rng) -> Duration {
    let half = REGISTER_SUPPRESSION_TIME / 2;
    half + rng.delay(REGISTER_SUPPRESSION_TIME) - REGISTER_PROBE_TIME
}

impl Reg {
    /// `CouldRegister(S,G)` changed (or was re-evaluated). Returns the new RST deadline
    /// (`Some(None)`: stop it; `None`: unchanged).
    pub fn could_register(&mut self, could: bool) -> Option<Option<Instant>> {
        match (self.state, could) {
            (RegisterState::NoInfo, true) => {
                self.state = RegisterState::Join;
                None
            }
            (RegisterState::NoInfo, false) | (_, true) => None,
            (_, false) => {
                self.state = RegisterState::NoInfo;
                Some(None)
            }
        }
    }

    /// "Receive Register-Stop". Returns the new RST deadline if it changed.
    pub fn receive_register_stop(&mut self, now: Instant, rng: &mut Rng) -> Option<Instant> {
        match self.state {
            RegisterState::Join | RegisterState::JoinPending => {
                self.state = RegisterState::Prune;
                Some(now + register_stop_delay(rng))
            }
            RegisterState::NoInfo | RegisterState::Prune => None,
        }
    }

    /// "Register-Stop Timer expires". Returns the new RST deadline (None: stopped) and
    /// whether to send a Null-Register.
    pub fn rst_expired(&mut self, now: Instant) -> (Option<Instant>, RegOutcome) {
        match self.state {
            RegisterState::JoinPending => {
                self.state = RegisterState::Join;
                (None, RegOutcome::Nothing)
            }
            RegisterState::Prune => {
                self.state = RegisterState::JoinPending;
                (
                    Some(now + REGISTER_PROBE_TIME),
                    RegOutcome::SendNullRegister,
                )
            }
            RegisterState::NoInfo | RegisterState::Join => (None, RegOutcome::Nothing),
        }
    }

    /// "RP changed": back to Join (the tunnel now leads to the new RP), RST stopped.
    /// Returns true if the state was not NoInfo.
    pub fn rp_changed(&mut self) -> bool {
        if self.state == RegisterState::NoInfo {
            return false;
        }
        self.state = RegisterState::Join;
        true
    }

    /// The register tunnel is in the olist (4.4.1: in Join state only).
    pub fn tunnel(&self) -> bool {
        self.state == RegisterState::Join
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s4_11_timer_values() {
        assert_eq!(
            RP_KEEPALIVE_PERIOD,
            3 * REGISTER_SUPPRESSION_TIME + REGISTER_PROBE_TIME
        );
        assert_eq!(KEEPALIVE_PERIOD.as_secs(), 210);
    }

    #[test]
    fn s4_4_1_register_stop_delay_range() {
        let mut rng = Rng::new(1);
        for _ in 0..1000 {
            let d = register_stop_delay(&mut rng);
            assert!(
                d >= Duration::from_secs(25) && d <= Duration::from_secs(85),
                "{d:?}"
            );
        }
    }

    #[test]
    fn s4_4_1_transition_table() {
        let mut rng = Rng::new(3);
        let t0 = Instant::ZERO;
        let mut r = Reg::default();
        assert_eq!(r.could_register(false), None);
        assert_eq!(r.state, RegisterState::NoInfo);
        // NI: Register-Stop and RST expiry do nothing.
        assert_eq!(r.receive_register_stop(t0, &mut rng), None);
        assert_eq!(r.rst_expired(t0), (None, RegOutcome::Nothing));
        assert!(!r.rp_changed());
        // NI -> J.
        r.could_register(true);
        assert_eq!(r.state, RegisterState::Join);
        assert!(r.tunnel());
        // J -> P with a random RST.
        let rst = r.receive_register_stop(t0, &mut rng).expect("rst");
        assert_eq!(r.state, RegisterState::Prune);
        assert!(!r.tunnel());
        assert!(rst >= t0 + Duration::from_secs(25) && rst < t0 + Duration::from_secs(85));
        // P: another Register-Stop is ignored.
        assert_eq!(r.receive_register_stop(t0, &mut rng), None);
        // P -> JP: Null-Register, RST = Register_Probe_Time.
        assert_eq!(
            r.rst_expired(rst),
            (
                Some(rst + REGISTER_PROBE_TIME),
                RegOutcome::SendNullRegister
            )
        );
        assert_eq!(r.state, RegisterState::JoinPending);
        assert!(!r.tunnel());
        // JP -> P on a Register-Stop.
        assert!(r.receive_register_stop(rst, &mut rng).is_some());
        assert_eq!(r.state, RegisterState::Prune);
        // P -> JP -> J when no Register-Stop comes.
        r.rst_expired(rst);
        assert_eq!(r.rst_expired(rst), (None, RegOutcome::Nothing));
        assert_eq!(r.state, RegisterState::Join);
        // RP changed: J, JP, P -> J.
        for s in [
            RegisterState::Join,
            RegisterState::JoinPending,
            RegisterState::Prune,
        ] {
            r.state = s;
            assert!(r.rp_changed());
            assert_eq!(r.state, RegisterState::Join);
        }
        // CouldRegister -> False: every state -> NI, RST stopped.
        for s in [
            RegisterState::Join,
            RegisterState::JoinPending,
            RegisterState::Prune,
        ] {
            r.state = s;
            assert_eq!(r.could_register(false), Some(None));
            assert_eq!(r.state, RegisterState::NoInfo);
        }
    }
}
