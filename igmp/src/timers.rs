//! The timer values of RFC 3376 section 8 (unchanged by RFC 9776), computed from an
//! interface's configuration and the values it currently uses.
//!
//! A Non-Querier adopts the querier's Robustness Variable (QRV, section 4.1.6) and Query
//! Interval (QQIC, section 4.1.7); everything derived from them below uses those values "in
//! use" rather than the configured ones.

use std::time::Duration;

use crate::config::InterfaceConfig;

/// The section 8 variables of one interface, as currently in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Vars {
    /// 8.1 Robustness Variable (configured, or adopted from QRV as Non-Querier). At least 1.
    pub robustness: u8,
    /// 8.2 Query Interval (configured, or adopted from QQIC as Non-Querier).
    pub query_interval: Duration,
    /// 8.3 Query Response Interval (Max Resp Time of General Queries).
    pub query_response_interval: Duration,
    /// 8.6 Startup Query Interval.
    pub startup_query_interval: Duration,
    /// 8.7 Startup Query Count.
    pub startup_query_count: u8,
    /// 8.8 Last Member Query Interval (Max Resp Time of specific queries).
    pub last_member_query_interval: Duration,
    /// 8.9 Last Member Query Count. At least 1.
    pub last_member_query_count: u8,
}

impl Vars {
    /// The variables of `cfg` with the Robustness Variable and Query Interval in use.
    pub fn new(cfg: &InterfaceConfig, robustness: u8, query_interval: Duration) -> Self {
        Vars {
            robustness: robustness.max(1),
            // Never 0: a zero interval would make the General Query timer fire forever.
            query_interval: query_interval.max(Duration::from_millis(1)),
            query_response_interval: cfg.query_response_interval,
            startup_query_interval: cfg.startup_query_interval,
            startup_query_count: cfg.startup_query_count,
            last_member_query_interval: cfg.last_member_query_interval,
            last_member_query_count: cfg.last_member_query_count.max(1),
        }
    }

    /// 8.4 Group Membership Interval: `RV * QI + QRI`.
    pub fn group_membership_interval(&self) -> Duration {
        self.query_interval * u32::from(self.robustness) + self.query_response_interval
    }

    /// 8.5 Other Querier Present Interval: `RV * QI + QRI / 2`.
    pub fn other_querier_present_interval(&self) -> Duration {
        self.query_interval * u32::from(self.robustness) + self.query_response_interval / 2
    }

    /// 8.10 Last Member Query Time: `LMQI * LMQC`.
    pub fn last_member_query_time(&self) -> Duration {
        self.last_member_query_interval * u32::from(self.last_member_query_count)
    }

    /// 8.13 Older Host Present Interval: `RV * QI + QRI` (QI of the last Query received,
    /// which is the Query Interval in use).
    pub fn older_host_present_interval(&self) -> Duration {
        self.query_interval * u32::from(self.robustness) + self.query_response_interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_8_defaults() {
        let cfg = InterfaceConfig::default();
        let v = Vars::new(&cfg, cfg.robustness, cfg.query_interval);
        assert_eq!(v.group_membership_interval(), Duration::from_secs(260));
        assert_eq!(v.other_querier_present_interval(), Duration::from_secs(255));
        assert_eq!(v.last_member_query_time(), Duration::from_secs(2));
        assert_eq!(v.older_host_present_interval(), Duration::from_secs(260));
    }
}
