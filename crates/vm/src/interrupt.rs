//! [`InterruptHook`]: how the `out_of_fuel` and `new_epoch` libcalls let the
//! embedding decide whether Wasm goes on or unwinds.
//!
//! Compiled code calls those libcalls at a check point once the store's fuel
//! is used up or the engine's epoch has reached the store's deadline (the
//! contract is on `Tunables::consume_fuel` and
//! `Tunables::epoch_interruption`). Without a hook both trap. The embedding
//! layer, which alone can turn the store context back into its store, installs
//! a hook per instance (see [`crate::instance::Instance::set_interrupt_hook`]);
//! a hook that returns `Ok` has refuelled the store or moved its deadline,
//! and compiled code rereads both from the store context before going on.

use crate::VMStoreContext;
use crate::libcalls::LibcallResult;

/// Why Wasm stopped at a check point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupt {
    /// The store's fuel is used up (`fuel_consumed > 0`).
    OutOfFuel,
    /// The engine's epoch reached the store's `epoch_deadline`.
    EpochDeadline,
}

/// Asked by the `out_of_fuel` and `new_epoch` libcalls what to do. `Ok`
/// resumes Wasm; an error raises its trap, or unwinds with what the hook
/// recorded through `traphandlers::set_pending_unwind`.
///
/// # Safety
///
/// Called only from a libcall, on the thread running Wasm of the store whose
/// context `store` is, with no reference to any of that store's instances
/// live (the hook may run arbitrary host code, Wasm included, on the store).
pub type InterruptHook = unsafe fn(store: *mut VMStoreContext, why: Interrupt) -> LibcallResult;
