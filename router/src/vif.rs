//! Virtual interface (VIF) numbers.
//!
//! The kernel has 32 VIF slots per multicast table and MFC entries name outgoing
//! interfaces by slot, not by device. Two rules follow:
//!
//! * allocate slots only for interfaces that multicast routing actually uses, and say
//!   clearly when the 33rd is refused;
//! * a slot freed because its device disappeared must not be handed out again while any
//!   kernel entry still carries a TTL for it: the kernel removes the VIF but leaves the TTL
//!   slots in MFC entries, so a new device in that slot would inherit stale forwarding.
//!   The router rewrites all entries before it frees a slot ([`VifTable::free`] is called
//!   only after that), and the allocator additionally prefers the least recently freed
//!   slot, so a slot is reused only when no never-used one is left.

use std::collections::VecDeque;

use crate::sys::MAXVIFS;

/// Why a VIF could not be allocated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VifError {
    #[error(
        "the kernel's limit of {MAXVIFS} multicast interfaces (VIFs) per table is reached; \
         remove unused [[interface]] entries or use a second multicast table"
    )]
    Full,
}

/// Allocation state of the kernel's VIF slots.
#[derive(Clone, Debug)]
pub struct VifTable {
    /// slot -> owner ifindex
    slots: [Option<u32>; MAXVIFS],
    /// Never-used slots first (ascending), then freed slots in the order they were freed.
    free: VecDeque<u16>,
}

impl Default for VifTable {
    fn default() -> Self {
        VifTable {
            slots: [None; MAXVIFS],
            free: (0..MAXVIFS as u16).collect(),
        }
    }
}

impl VifTable {
    /// Take a slot for `ifindex`.
    pub fn alloc(&mut self, ifindex: u32) -> Result<u16, VifError> {
        let vif = self.free.pop_front().ok_or(VifError::Full)?;
        self.slots[usize::from(vif)] = Some(ifindex);
        Ok(vif)
    }

    /// Return a slot. Call only after no kernel entry references it any more.
    pub fn free(&mut self, vif: u16) {
        let slot = &mut self.slots[usize::from(vif)];
        if slot.take().is_some() {
            self.free.push_back(vif);
        }
    }

    /// The slot owned by `ifindex`.
    pub fn vif_of(&self, ifindex: u32) -> Option<u16> {
        self.slots
            .iter()
            .position(|s| *s == Some(ifindex))
            .map(|v| v as u16)
    }

    /// Record the device of a slot taken before its device existed (the register VIF,
    /// whose `pimreg` device the kernel creates when the VIF is added).
    pub fn set_owner(&mut self, vif: u16, ifindex: u32) {
        if let Some(slot) = self.slots.get_mut(usize::from(vif)) {
            *slot = Some(ifindex);
        }
    }

    /// The device in slot `vif`.
    pub fn ifindex_of(&self, vif: u16) -> Option<u32> {
        self.slots.get(usize::from(vif)).copied().flatten()
    }

    /// Slots in use.
    pub fn used(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// (slot, ifindex) pairs in use, ascending.
    pub fn iter(&self) -> impl Iterator<Item = (u16, u32)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(v, s)| s.map(|i| (v as u16, i)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_ascending_until_full() {
        let mut t = VifTable::default();
        for i in 0..MAXVIFS as u32 {
            assert_eq!(t.alloc(100 + i), Ok(i as u16));
        }
        assert_eq!(t.alloc(999), Err(VifError::Full));
        assert!(VifError::Full.to_string().contains("limit of 32"));
        assert_eq!(t.used(), 32);
        assert_eq!(t.vif_of(105), Some(5));
        assert_eq!(t.ifindex_of(5), Some(105));
    }

    #[test]
    fn freed_slots_are_reused_last() {
        let mut t = VifTable::default();
        let a = t.alloc(10).unwrap();
        let b = t.alloc(11).unwrap();
        assert_eq!((a, b), (0, 1));
        t.free(a);
        // Slot 0 was freed, but the never-used slot 2 comes first.
        assert_eq!(t.alloc(12), Ok(2));
        assert_eq!(t.vif_of(10), None);
        assert_eq!(t.ifindex_of(0), None);
        // Double free is harmless and does not duplicate the slot.
        t.free(a);
        for i in 0..29 {
            t.alloc(20 + i).unwrap();
        }
        // Only the freed slot 0 is left now.
        assert_eq!(t.alloc(50), Ok(0));
        assert_eq!(t.alloc(51), Err(VifError::Full));
        let used: Vec<u16> = t.iter().map(|(v, _)| v).collect();
        assert_eq!(used.len(), 32);
    }
}
