//! Multicast route keys and forwarding intents.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::proto::IfIndex;

/// A multicast route key: (S,G) when `source` is set, (*,G) otherwise.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct RouteKey {
    pub source: Option<Ipv4Addr>,
    pub group: Ipv4Addr,
}

impl RouteKey {
    /// The (S,G) key.
    pub const fn sg(source: Ipv4Addr, group: Ipv4Addr) -> Self {
        RouteKey {
            source: Some(source),
            group,
        }
    }

    /// The (*,G) key.
    pub const fn star_g(group: Ipv4Addr) -> Self {
        RouteKey {
            source: None,
            group,
        }
    }

    /// True for (*,G).
    pub const fn is_star(&self) -> bool {
        self.source.is_none()
    }
}

impl fmt::Display for RouteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.source {
            Some(s) => write!(f, "({s}, {})", self.group),
            None => write!(f, "(*, {})", self.group),
        }
    }
}

/// What a protocol (or static configuration) wants the data plane to do for one key.
///
/// `iif` is the interface the traffic must arrive on (the RPF interface); `oifs` are
/// the interfaces it is forwarded to. The router merges intents from all owners into
/// the MRIB and is the only writer of kernel entries.
///
/// For a (*,G) key the router installs one (S,G) kernel entry per active source that
/// arrives on `iif`. `iif` None on a (*,G) means "this router is the RP": any source
/// arriving on its own RPF interface is accepted.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Forwarding {
    pub key: RouteKey,
    pub iif: Option<IfIndex>,
    pub oifs: BTreeSet<IfIndex>,
}

/// Source-filter mode of a group on an interface (RFC 3376 section 3.2).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterMode {
    Include,
    Exclude,
}

/// 224.0.0.0/24 is link-local: never routed (RFC 5771).
pub fn is_link_local_group(g: Ipv4Addr) -> bool {
    let o = g.octets();
    o[0] == 224 && o[1] == 0 && o[2] == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_order() {
        let g = Ipv4Addr::new(239, 1, 1, 1);
        let s = Ipv4Addr::new(10, 0, 0, 1);
        assert_eq!(RouteKey::sg(s, g).to_string(), "(10.0.0.1, 239.1.1.1)");
        assert_eq!(RouteKey::star_g(g).to_string(), "(*, 239.1.1.1)");
        // (*,G) sorts before any (S,G) of the same group: None < Some.
        assert!(RouteKey::star_g(g) < RouteKey::sg(s, g));
        assert!(is_link_local_group(Ipv4Addr::new(224, 0, 0, 13)));
        assert!(!is_link_local_group(Ipv4Addr::new(224, 0, 1, 13)));
    }
}
