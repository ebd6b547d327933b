//! PIM-SM configuration, with the defaults of RFC 7761 (section 4.11 timer values).

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

/// Router-wide PIM settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct Config {}
