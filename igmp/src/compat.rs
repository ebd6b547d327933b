//! Interoperation with older versions of IGMP (RFC 3376 / RFC 9776 section 7.3.2):
//! per-group IGMPv1 / IGMPv2 Host Present timers, the Group Compatibility Mode they define,
//! and the translation of messages into IGMPv3 records in the older modes.
//!
//! The configured querier version of the interface (section 7.3.1) caps the mode: on an
//! interface configured for IGMPv2 every group behaves at most as in IGMPv2 mode, on one
//! configured for IGMPv1 as in IGMPv1 mode.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use common::Instant;
use serde::Serialize;

use crate::group::Record;

/// Group Compatibility Mode (section 7.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum CompatMode {
    /// IGMPv1: the IGMPv1 Host Present timer is running.
    V1 = 1,
    /// IGMPv2: the IGMPv2 Host Present timer is running, the IGMPv1 one is not.
    V2 = 2,
    /// IGMPv3 (default): neither timer is running.
    V3 = 3,
}

impl CompatMode {
    /// The mode's number (1, 2, 3).
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The mode of a configured interface version (section 7.3.1).
    pub fn of_version(v: crate::config::Version) -> Self {
        match v {
            crate::config::Version::V1 => CompatMode::V1,
            crate::config::Version::V2 => CompatMode::V2,
            crate::config::Version::V3 => CompatMode::V3,
        }
    }
}

/// The IGMPv1 and IGMPv2 Host Present timers of one group (section 7.3.2). `None` means
/// not running.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct HostPresent {
    /// IGMPv1 Host Present timer: set to Older Host Present Interval (8.13) on a v1 report.
    pub v1: Option<Instant>,
    /// IGMPv2 Host Present timer: set to Older Host Present Interval (8.13) on a v2 report.
    pub v2: Option<Instant>,
}

impl HostPresent {
    /// The Group Compatibility Mode table of section 7.3.2.
    pub fn mode(&self) -> CompatMode {
        if self.v1.is_some() {
            CompatMode::V1
        } else if self.v2.is_some() {
            CompatMode::V2
        } else {
            CompatMode::V3
        }
    }

    /// The earliest running timer.
    pub fn deadline(&self) -> Option<Instant> {
        common::time::earliest(self.v1, self.v2)
    }

    /// Stop the timers that expired at or before `now`. "When the IGMPv1 Host Present timer
    /// expires, a router switches to Group Compatibility mode of IGMPv2 if it has a running
    /// IGMPv2 Host Present timer ... otherwise IGMPv3"; likewise for the IGMPv2 timer.
    pub fn expire(&mut self, now: Instant) {
        if self.v1.is_some_and(|t| t <= now) {
            self.v1 = None;
        }
        if self.v2.is_some_and(|t| t <= now) {
            self.v2 = None;
        }
    }
}

/// Translate an IGMPv3 group record for a group in Group Compatibility Mode `mode`
/// (section 7.3.2). `None`: the record is ignored.
///
/// * IGMPv2 mode: "IGMPv3 BLOCK messages are ignored, as are source-lists in TO_EX()
///   messages (i.e., any TO_EX() message is treated as TO_EX( {} ))". IS_EX() source lists
///   are ignored the same way (an IGMPv2 host in the group makes the router forward every
///   source, so no source may stay excluded).
/// * IGMPv1 mode: the same, and "IGMPv2 Leave messages and IGMPv3 TO_IN() messages are also
///   ignored".
pub(crate) fn translate(
    mode: CompatMode,
    record: Record,
    sources: BTreeSet<Ipv4Addr>,
) -> Option<(Record, BTreeSet<Ipv4Addr>)> {
    match (mode, record) {
        (CompatMode::V3, _) => Some((record, sources)),
        (_, Record::Block) => None,
        (_, Record::ToEx) => Some((Record::ToEx, BTreeSet::new())),
        (_, Record::IsEx) => Some((Record::IsEx, BTreeSet::new())),
        (CompatMode::V1, Record::ToIn) => None,
        (_, Record::IsIn | Record::Allow | Record::ToIn) => Some((record, sources)),
    }
}

/// What an IGMPv3 group record means to an interface configured for IGMPv1 or IGMPv2
/// (section 7.3.1 makes that an administrative choice; such a router does not keep
/// source-specific state). Our choice, documented in the crate:
///
/// * IS_EX, TO_EX (any sources), and IS_IN, ALLOW, TO_IN with a non-empty source list:
///   the host wants (some) traffic of the group, i.e. an IGMPv2 Report: [`OldMeaning::Join`];
/// * TO_IN( {} ): the host left, i.e. an IGMPv2 Leave: [`OldMeaning::Leave`];
/// * IS_IN( {} ), ALLOW( {} ), BLOCK: nothing an older router can express:
///   [`OldMeaning::Nothing`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OldMeaning {
    Join,
    Leave,
    Nothing,
}

pub(crate) fn old_meaning(record: Record, sources_empty: bool) -> OldMeaning {
    match record {
        Record::IsEx | Record::ToEx => OldMeaning::Join,
        Record::IsIn | Record::Allow if !sources_empty => OldMeaning::Join,
        Record::ToIn if !sources_empty => OldMeaning::Join,
        Record::ToIn => OldMeaning::Leave,
        Record::IsIn | Record::Allow | Record::Block => OldMeaning::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[u8]) -> BTreeSet<Ipv4Addr> {
        v.iter().map(|&x| Ipv4Addr::new(10, 0, 0, x)).collect()
    }

    #[test]
    fn mode_table() {
        let t = Instant::from_secs(1);
        let mut hp = HostPresent::default();
        assert_eq!(hp.mode(), CompatMode::V3);
        hp.v2 = Some(t);
        assert_eq!(hp.mode(), CompatMode::V2);
        hp.v1 = Some(t);
        assert_eq!(hp.mode(), CompatMode::V1);
        hp.v2 = None;
        assert_eq!(hp.mode(), CompatMode::V1);
    }

    #[test]
    fn translation() {
        use CompatMode::*;
        assert_eq!(translate(V2, Record::Block, set(&[1])), None);
        assert_eq!(
            translate(V2, Record::ToEx, set(&[1])),
            Some((Record::ToEx, set(&[])))
        );
        assert_eq!(
            translate(V2, Record::IsEx, set(&[1])),
            Some((Record::IsEx, set(&[])))
        );
        assert_eq!(
            translate(V2, Record::ToIn, set(&[1])),
            Some((Record::ToIn, set(&[1])))
        );
        assert_eq!(translate(V1, Record::ToIn, set(&[])), None);
        assert_eq!(
            translate(V1, Record::Allow, set(&[1])),
            Some((Record::Allow, set(&[1])))
        );
        assert_eq!(
            translate(V3, Record::Block, set(&[1])),
            Some((Record::Block, set(&[1])))
        );
    }

    #[test]
    fn old_meanings() {
        assert_eq!(old_meaning(Record::IsEx, false), OldMeaning::Join);
        assert_eq!(old_meaning(Record::ToEx, true), OldMeaning::Join);
        assert_eq!(old_meaning(Record::Allow, false), OldMeaning::Join);
        assert_eq!(old_meaning(Record::ToIn, true), OldMeaning::Leave);
        assert_eq!(old_meaning(Record::ToIn, false), OldMeaning::Join);
        assert_eq!(old_meaning(Record::IsIn, true), OldMeaning::Nothing);
        assert_eq!(old_meaning(Record::Block, false), OldMeaning::Nothing);
    }
}
