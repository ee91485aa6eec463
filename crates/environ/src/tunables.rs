//! Settings that both the code generators and the runtime must agree on.

/// How linear-memory accesses are kept in bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundsChecks {
    /// 32-bit memories reserve [`Tunables::memory_reservation`] bytes plus a
    /// guard, so any `index + offset + size` lands in the reservation and an
    /// out-of-bounds access faults. Compiled code checks nothing.
    Guarded,
    /// Every access compares against the memory's current length.
    Explicit,
}

/// Knobs shared by backends and the runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tunables {
    /// How memory accesses are bounds-checked.
    pub bounds_checks: BoundsChecks,
    /// Bytes of address space reserved per 32-bit memory (accessible part plus
    /// the guard that catches `index + offset` past the end).
    pub memory_reservation: u64,
    /// Emit fuel accounting at function entry and loop headers.
    pub consume_fuel: bool,
    /// Emit epoch-deadline checks at function entry and loop headers.
    pub epoch_interruption: bool,
}

impl Tunables {
    /// Largest `offset` immediate (plus access size) the guarded scheme covers
    /// without an explicit check: index < 2^32, so `reservation - 2^32`.
    pub fn guard_covers_offset(&self, offset: u64, access_size: u64) -> bool {
        self.bounds_checks == BoundsChecks::Guarded
            && offset.saturating_add(access_size) <= self.memory_reservation - (1 << 32)
    }
}

impl Default for Tunables {
    fn default() -> Self {
        Tunables {
            bounds_checks: BoundsChecks::Guarded,
            // 4 GiB of index space + 4 GiB for every u32 offset + the widest access.
            memory_reservation: (8 << 30) + (64 << 10),
            consume_fuel: false,
            epoch_interruption: false,
        }
    }
}
