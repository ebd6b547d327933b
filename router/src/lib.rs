//! mrouterd: the IO shell of the multicast router.
//!
//! Everything that touches the kernel lives here: the mroute socket ([`sys`], the only
//! module with `unsafe`), rtnetlink ([`netlink`] codec, [`kernel`] requests), the
//! event loop ([`daemon`]) and the control socket ([`control`]). Decisions that can be
//! made without IO are in plain modules with unit tests: [`config`], [`mrib`], [`vif`].

pub mod config;
pub mod control;
pub mod daemon;
pub mod ipv4;
pub mod kernel;
pub mod mrib;
pub mod netlink;
pub mod sys;
pub mod tunnel;
pub mod vif;
