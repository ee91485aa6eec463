//! Fuel and epoch deadlines: setting them, and the callbacks that decide what
//! happens when Wasm runs out of fuel or reaches its deadline (by default it
//! traps with `OutOfFuel` or `Interrupt`).
//!
//! Compiled code calls the `out_of_fuel` and `new_epoch` libcalls at a check
//! point (function entry or loop header); those ask the instance's
//! [`InterruptHook`], which here is [`hook::<T>`](hook). It turns the store
//! context back into the `Store<T>` running the call, takes the callback
//! out of the store while it runs (so the callback may use the whole store,
//! calling Wasm included), and puts it back unless the callback installed
//! another one meanwhile.

use crate::error::HostUnwind;
use crate::store::{StoreCell, StoreOpaque};
use crate::{Result, Store, bail};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::Ordering;
use tandem_environ::TrapCode;
use tandem_vm::VMStoreContext;
use tandem_vm::interrupt::{Interrupt, InterruptHook};
use tandem_vm::libcalls::{LibcallError, LibcallResult};
use tandem_vm::traphandlers::{UnwindReason, set_pending_unwind};

/// What Wasm does after an epoch-deadline callback returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpdateDeadline {
    /// Go on, with the deadline this many ticks beyond the engine's current
    /// epoch (0 calls the callback again at the next check point).
    Continue(u64),
}

/// A callback of a `Store<T>` that decides with an `R`.
type Callback<T, R> = Box<dyn FnMut(&mut Store<T>) -> Result<R> + Send>;

/// A store's callbacks; `None` means trap.
pub(crate) struct Callbacks<T> {
    epoch: Option<Callback<T, UpdateDeadline>>,
    fuel: Option<Callback<T, u64>>,
    /// Bumped whenever the host sets a callback, so one that replaces
    /// itself while running is not put back over its replacement.
    generation: u64,
}

impl<T> Default for Callbacks<T> {
    fn default() -> Self {
        Callbacks {
            epoch: None,
            fuel: None,
            generation: 0,
        }
    }
}

/// Fuel and epoch deadlines.
impl<T> Store<T> {
    /// Sets the fuel left to `fuel` (capped at `i64::MAX`). Fails unless
    /// [`Config::consume_fuel`](crate::Config::consume_fuel) is on. Also
    /// what lets a store run again after an `OutOfFuel` trap.
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.opaque.check_fuel_enabled()?;
        let fuel = i64::try_from(fuel).unwrap_or(i64::MAX);
        *self.opaque.context.vm.fuel_consumed.get_mut() = -fuel;
        Ok(())
    }

    /// The fuel left: 0 once Wasm has used it all (a call may overshoot
    /// between two checks; the overshoot is not owed). Fails unless
    /// [`Config::consume_fuel`](crate::Config::consume_fuel) is on.
    pub fn get_fuel(&self) -> Result<u64> {
        self.opaque.check_fuel_enabled()?;
        let consumed = self.fuel_consumed();
        Ok(if consumed < 0 {
            consumed.unsigned_abs()
        } else {
            0
        })
    }

    /// Makes Wasm in this store stop once the engine's epoch reaches its
    /// current value plus `ticks_beyond_current` (see
    /// [`Engine::increment_epoch`](crate::Engine::increment_epoch)): it
    /// traps with [`Trap::Interrupt`](crate::Trap::Interrupt), or
    /// asks the [`epoch_deadline_callback`](Store::epoch_deadline_callback).
    /// Only has an effect with
    /// [`Config::epoch_interruption`](crate::Config::epoch_interruption); a
    /// store has no deadline until this is called.
    pub fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        let now = self.opaque.engine.inner.epoch.load(Ordering::Relaxed);
        *self.opaque.context.vm.epoch_deadline.get_mut() = now.saturating_add(ticks_beyond_current);
    }

    /// Calls `callback` each time Wasm reaches the epoch deadline, instead
    /// of trapping. It may use the store (call Wasm, read fuel, change its
    /// data) and then either lets Wasm go on with a new deadline
    /// ([`UpdateDeadline::Continue`]) or fails, and the call into Wasm fails
    /// with that error (and the [`WasmBacktrace`](crate::WasmBacktrace) of
    /// where Wasm was). Replaces any earlier callback.
    ///
    /// ```
    /// use tandem_store::{Config, Engine, Instance, Module, Store, UpdateDeadline};
    /// let engine = Engine::new(Config::new().epoch_interruption(true)).unwrap();
    /// let module = Module::new(&engine, r#"(module (func (export "count") (param i32) (result i32)
    ///     (loop (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br_if 0 (local.get 0)))
    ///     (local.get 0)))"#).unwrap();
    /// let mut store = Store::new(&engine, 0u32);
    /// store.set_epoch_deadline(0);
    /// store.epoch_deadline_callback(|store| {
    ///     *store.data_mut() += 1;
    ///     Ok(UpdateDeadline::Continue(if *store.data() < 3 { 0 } else { 1 }))
    /// });
    /// let instance = Instance::new(&mut store, &module, &[]).unwrap();
    /// let count = instance.get_typed_func::<i32, i32>(&mut store, "count").unwrap();
    /// assert_eq!(count.call(&mut store, 10).unwrap(), 0);
    /// assert_eq!(*store.data(), 3);
    /// ```
    pub fn epoch_deadline_callback(
        &mut self,
        callback: impl FnMut(&mut Store<T>) -> Result<UpdateDeadline> + Send + 'static,
    ) {
        self.interrupts.epoch = Some(Box::new(callback));
        self.interrupts.generation += 1;
    }

    /// Makes Wasm trap with `Interrupt` at the epoch deadline again (the
    /// default), dropping any [`epoch_deadline_callback`](Store::epoch_deadline_callback).
    pub fn epoch_deadline_trap(&mut self) {
        self.interrupts.epoch = None;
        self.interrupts.generation += 1;
    }

    /// Calls `callback` each time Wasm has used all its fuel, instead of
    /// trapping. It returns how much fuel to add; if the store still has
    /// none after that, Wasm traps with
    /// [`Trap::OutOfFuel`](crate::Trap::OutOfFuel). An error fails
    /// the call into Wasm as for
    /// [`epoch_deadline_callback`](Store::epoch_deadline_callback). Replaces
    /// any earlier callback.
    pub fn out_of_fuel_callback(
        &mut self,
        callback: impl FnMut(&mut Store<T>) -> Result<u64> + Send + 'static,
    ) {
        self.interrupts.fuel = Some(Box::new(callback));
        self.interrupts.generation += 1;
    }

    /// Makes Wasm trap with `OutOfFuel` again when its fuel is used up (the
    /// default), dropping any [`out_of_fuel_callback`](Store::out_of_fuel_callback).
    pub fn out_of_fuel_trap(&mut self) {
        self.interrupts.fuel = None;
        self.interrupts.generation += 1;
    }

    /// Minus the fuel left (positive once overdrawn).
    fn fuel_consumed(&self) -> i64 {
        // SAFETY: Wasm writes this cell only while it runs on the thread
        // that owns the store, and it cannot run while `self` is borrowed
        // here (the store is not `Sync`).
        unsafe { *self.opaque.context.vm.fuel_consumed.get() }
    }

    /// Runs the callback for `why`, if there is one.
    fn interrupted(&mut self, why: Interrupt) -> LibcallResult {
        match why {
            Interrupt::EpochDeadline => {
                let UpdateDeadline::Continue(ticks) =
                    self.call_back(|c| &mut c.epoch, TrapCode::Interrupt)?;
                self.set_epoch_deadline(ticks);
            }
            Interrupt::OutOfFuel => {
                let added = self.call_back(|c| &mut c.fuel, TrapCode::OutOfFuel)?;
                let added = i64::try_from(added).unwrap_or(i64::MAX);
                let consumed = self.fuel_consumed().saturating_sub(added);
                *self.opaque.context.vm.fuel_consumed.get_mut() = consumed;
                if consumed > 0 {
                    return Err(TrapCode::OutOfFuel.into());
                }
            }
        }
        Ok(())
    }

    /// Takes the callback out of `slot` (trapping with `trap` if there is
    /// none), runs it with the whole store, and puts it back unless the
    /// host set a callback meanwhile.
    fn call_back<R>(
        &mut self,
        slot: fn(&mut Callbacks<T>) -> &mut Option<Callback<T, R>>,
        trap: TrapCode,
    ) -> LibcallResult<R> {
        let generation = self.interrupts.generation;
        let mut callback = slot(&mut self.interrupts)
            .take()
            .ok_or(LibcallError::Trap(trap))?;
        let outcome = catch_unwind(AssertUnwindSafe(|| callback(self)));
        if self.interrupts.generation == generation {
            *slot(&mut self.interrupts) = Some(callback);
        }
        resume_on_panic(outcome)
    }
}

impl StoreOpaque {
    /// Fails unless the engine meters fuel.
    fn check_fuel_enabled(&self) -> Result<()> {
        if !self.engine.config().tunables.consume_fuel {
            bail!("fuel is not enabled for this store (Config::consume_fuel)");
        }
        Ok(())
    }
}

/// A callback's panic resumes once the callback is back in place; its error
/// becomes the unwind the call into Wasm reports.
fn resume_on_panic<R>(outcome: std::thread::Result<Result<R>>) -> LibcallResult<R> {
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => {
            set_pending_unwind(UnwindReason::Host(Box::new(HostUnwind(error))));
            Err(LibcallError::Pending)
        }
        Err(panic) => resume_unwind(panic),
    }
}

/// The [`InterruptHook`] of every instance in a `Store<T>`.
///
/// # Safety
///
/// As [`InterruptHook`]; `store` belongs to a `Store<T>`, which is running
/// Wasm on this thread.
pub(crate) unsafe fn hook<T: 'static>(store: *mut VMStoreContext, why: Interrupt) -> LibcallResult {
    // SAFETY: a store's `VMStoreContext` is the first field of its
    // `#[repr(C)]` `StoreCell`, whose `store` holds the `Store<T>` of the
    // innermost call into Wasm, still running (it made this libcall) and
    // borrowed by nothing while Wasm runs.
    let store = unsafe {
        let context = &*store.cast::<StoreCell>();
        debug_assert!(!context.store.get().is_null());
        &mut *context.store.get().cast::<Store<T>>()
    };
    store.interrupted(why)
}

/// Type check: `hook::<T>` is an [`InterruptHook`].
const _: InterruptHook = hook::<()>;
