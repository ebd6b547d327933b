//! PIM-SM configuration, with the defaults of RFC 7761 (section 4.11 timer values).

use std::net::Ipv4Addr;
use std::time::Duration;

use serde::Serialize;

/// Per-interface PIM settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InterfaceConfig {
    /// Hello_Period (4.11), default 30 s.
    pub hello_period: Duration,
    /// Hello Holdtime advertised (4.11: 3.5 x Hello_Period), default 105 s.
    pub hello_holdtime: Duration,
    /// Triggered_Hello_Delay (4.11), default 5 s: the first Hello after start or a GenID
    /// change is sent after a random delay up to this.
    pub triggered_hello_delay: Duration,
    /// DR Priority advertised (4.3.2), default 1.
    pub dr_priority: u32,
    /// Propagation_Delay advertised in the LAN Prune Delay option (4.3.3), default 500 ms.
    pub propagation_delay: Duration,
    /// Override_Interval advertised (4.3.3), default 2500 ms.
    pub override_interval: Duration,
    /// Advertise the T bit (join suppression disabled) in the LAN Prune Delay option.
    pub disable_join_suppression: bool,
}

impl Default for InterfaceConfig {
    fn default() -> Self {
        InterfaceConfig {
            hello_period: Duration::from_secs(30),
            hello_holdtime: Duration::from_secs(105),
            triggered_hello_delay: Duration::from_secs(5),
            dr_priority: 1,
            propagation_delay: Duration::from_millis(500),
            override_interval: Duration::from_millis(2500),
            disable_join_suppression: false,
        }
    }
}

/// A static group-range-to-RP mapping (RFC 7761 section 4.7: the longest match wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RpMapping {
    pub group: Ipv4Addr,
    pub prefix_len: u8,
    pub rp: Ipv4Addr,
}

/// When a last-hop router switches from the shared tree to the source tree
/// (RFC 7761 4.2.2, SwitchToSptDesired(S,G)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "policy")]
pub enum SptPolicy {
    /// On the first packet (the RFC's default, and FRR's).
    Immediate,
    /// Never: traffic stays on the shared tree.
    Never,
    /// When a source's rate on the shared tree exceeds this many kbit/s.
    Threshold { kbps: u32 },
}

/// Router-wide PIM settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Config {
    /// Source-specific multicast range (RFC 4607), default 232.0.0.0/8: no RP, no shared
    /// tree; only (S,G) joins.
    pub ssm_range: (Ipv4Addr, u8),
    /// Static RP per group range.
    pub rps: Vec<RpMapping>,
    /// t_periodic (4.11), default 60 s: how often Join/Prune state is refreshed.
    pub join_prune_period: Duration,
    /// J/P_HoldTime (4.11), default 3.5 x t_periodic = 210 s.
    pub join_prune_holdtime: Duration,
    /// SPT switchover at last-hop routers, default immediate.
    pub spt_switchover: SptPolicy,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ssm_range: (Ipv4Addr::new(232, 0, 0, 0), 8),
            rps: Vec::new(),
            join_prune_period: Duration::from_secs(60),
            join_prune_holdtime: Duration::from_secs(210),
            spt_switchover: SptPolicy::Immediate,
        }
    }
}

impl Config {
    /// True if `group` is in the SSM range.
    pub fn is_ssm(&self, group: Ipv4Addr) -> bool {
        prefix_contains(self.ssm_range, group)
    }

    /// RP(G): the RP of the longest matching range (4.7), None outside every range.
    pub fn rp_of(&self, group: Ipv4Addr) -> Option<Ipv4Addr> {
        self.rps
            .iter()
            .filter(|m| prefix_contains((m.group, m.prefix_len), group))
            .max_by_key(|m| m.prefix_len)
            .map(|m| m.rp)
    }
}

fn prefix_contains((net, len): (Ipv4Addr, u8), a: Ipv4Addr) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    };
    u32::from(a) & mask == u32::from(net) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rp_longest_match_and_ssm() {
        let a = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        let c = Config {
            rps: vec![
                RpMapping {
                    group: a("224.0.0.0"),
                    prefix_len: 4,
                    rp: a("10.0.0.1"),
                },
                RpMapping {
                    group: a("239.1.0.0"),
                    prefix_len: 16,
                    rp: a("10.0.0.2"),
                },
            ],
            ..Config::default()
        };
        assert_eq!(c.rp_of(a("239.1.2.3")), Some(a("10.0.0.2")));
        assert_eq!(c.rp_of(a("239.2.2.3")), Some(a("10.0.0.1")));
        assert!(c.is_ssm(a("232.1.1.1")) && !c.is_ssm(a("233.1.1.1")));
        assert_eq!(Config::default().rp_of(a("239.1.1.1")), None);
    }
}
