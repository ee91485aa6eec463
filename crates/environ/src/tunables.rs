//! Settings that both the code generators and the runtime must agree on.

/// How linear-memory accesses are kept in bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BoundsChecks {
    /// 32-bit memories reserve [`Tunables::memory_reservation`] bytes plus a
    /// guard, so any `index + offset + size` lands in the reservation and an
    /// out-of-bounds access faults. Compiled code checks nothing.
    Guarded,
    /// Every access compares against the memory's current length.
    Explicit,
}

/// Knobs shared by backends and the runtime.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tunables {
    /// How memory accesses are bounds-checked.
    pub bounds_checks: BoundsChecks,
    /// Bytes of address space reserved per 32-bit memory (accessible part plus
    /// the guard that catches `index + offset` past the end).
    pub memory_reservation: u64,
    /// Emit fuel accounting at function entry and loop headers.
    ///
    /// The store context's `fuel_consumed` (`STORE_FUEL_CONSUMED`, an `i64`)
    /// holds minus the fuel left. Every backend implements exactly this:
    ///
    /// - **Cost.** `nop`, `block`, `loop`, `else` and `end` cost 0; every
    ///   other operator costs 1 each time it executes; entering the body of
    ///   a Wasm-defined function costs 1 more (host functions cost only the
    ///   `call` that reaches them). A call that returns normally has added
    ///   exactly the sum of these costs over everything it executed,
    ///   callees included, so the fuel used by a program is deterministic
    ///   and the same on every backend.
    /// - **Charging.** A backend counts the operators of each straight-line
    ///   region at compile time and adds the region's cost when the region
    ///   ends: just before `br`, `br_if`, `br_table`, `if`, `else`, `end`,
    ///   `loop`, `return`, `call` or `call_indirect` (each included in the
    ///   region it ends). Code after one of these starts a new region. A
    ///   region ending in a trap (`unreachable`, or any trapping operator)
    ///   may not be charged.
    /// - **Check points.** At function entry (after charging the entry's 1)
    ///   and each time control reaches a loop header (on entry to the loop
    ///   and on every branch back to it, after charging what ran before),
    ///   the code writes its count to `fuel_consumed` and, if it is `> 0`,
    ///   calls the `out_of_fuel` libcall (which traps with `OutOfFuel`, or
    ///   returns after refuelling the store; the code then reloads the
    ///   count). So a store with 0 fuel traps on entry to any Wasm function,
    ///   and a loop cannot run past a check point once its fuel is gone.
    /// - **Memory.** The count may be kept in a register between check
    ///   points, but is written to `fuel_consumed` at every check point,
    ///   before every call (Wasm, host or libcall that may observe it) and
    ///   before returning, and re-read after every call.
    pub consume_fuel: bool,
    /// Emit epoch-deadline checks at function entry and loop headers.
    ///
    /// At the same check points as fuel (function entry, and every time
    /// control reaches a loop header), after the fuel check if both are on:
    /// load the engine's epoch through `VMCTX_EPOCH_COUNTER` (a plain aligned
    /// `u64` load, never hoisted out of a loop) and the store's
    /// `epoch_deadline` (`STORE_EPOCH_DEADLINE`); if `epoch >= deadline`
    /// (unsigned), call the `new_epoch` libcall, which traps with
    /// `Interrupt` or returns the new deadline (also stored in the store
    /// context, where the next check reads it).
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
