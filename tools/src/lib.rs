//! Traffic and control tools.

pub mod ctl;
pub mod mcast;
