//! Entering Wasm with a landing pad, and leaving it abnormally.
//!
//! # How an unwind works
//!
//! [`catch_traps`] pushes an *activation* on a thread-local chain and calls
//! Wasm through a small naked stub, `enter_wasm`, which saves the
//! callee-saved registers and records a *landing pad* (its own stack
//! pointer, frame pointer and a resume address) in the activation. To abort
//! Wasm, something records an [`Unwind`] in the innermost activation and
//! resumes at the pad with the pad's stack and frame pointers:
//!
//! - the signal handler (`signals`), for a fault at a trap site of
//!   registered code, by rewriting the signal context so that returning from
//!   the handler lands on the pad;
//! - `raise_unwind` (and `raise_trap`, `raise_pending`), called by
//!   libcalls, by jumping there with `resume_at`.
//!
//! The stub then returns `false` to [`catch_traps`], which returns the
//! recorded unwind. Every frame between the pad and the raise point is
//! discarded without running destructors: those are Wasm frames, trampolines
//! and the libcall that raises, which must have dropped its Rust locals
//! first. A host function called with the array call reports failure instead
//! with [`set_pending_unwind`] and returns `false`.
//!
//! # Saved state
//!
//! An activation saves the store's `last_wasm_exit_fp/pc`,
//! `last_wasm_entry_fp` and `stack_limit` and restores them on every exit, so
//! outside a call they hold their previous values (0 and `usize::MAX` when no
//! Wasm is running). This keeps the invariant the backtrace walker relies on:
//! the saved exit values of an activation are either 0 or describe live Wasm
//! frames of an enclosing activation on the same thread.

use crate::backtrace::{Backtrace, Start, Walk};
use crate::vmcontext::{ArrayCallFn, VMStoreContext, ValRaw};
use std::cell::Cell;
use std::ptr;
use tandem_environ::TrapCode;

mod signals;
mod stack_bounds;
#[cfg(test)]
mod tests;

pub use signals::init_traps;
pub use stack_bounds::STACK_SAFETY_MARGIN;
pub(crate) use stack_bounds::clamp_stack_limit;

/// Why Wasm execution was aborted.
pub enum UnwindReason {
    /// A Wasm trap.
    Trap {
        /// Which trap.
        code: TrapCode,
    },
    /// A host function or libcall failed with an error.
    Host(Box<dyn std::error::Error + Send + Sync>),
    /// A host function panicked; the payload is to be resumed by the
    /// embedder with `std::panic::resume_unwind`.
    Panic(Box<dyn std::any::Any + Send>),
}

impl std::fmt::Debug for UnwindReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnwindReason::Trap { code } => f.debug_struct("Trap").field("code", code).finish(),
            UnwindReason::Host(e) => f.debug_tuple("Host").field(e).finish(),
            UnwindReason::Panic(_) => f.write_str("Panic(..)"),
        }
    }
}

/// An aborted Wasm call: why, and the Wasm frames at that point.
#[derive(Debug)]
pub struct Unwind {
    /// Why.
    pub reason: UnwindReason,
    /// The Wasm frames active when the unwind started, innermost first.
    pub backtrace: Backtrace,
}

/// Where to resume after an unwind, recorded by `enter_wasm`. Field order is
/// part of the stub's contract.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct LandingPad {
    /// Stack pointer at the pad.
    sp: usize,
    /// Frame pointer at the pad.
    fp: usize,
    /// Resume address; 0 until the stub has run.
    pc: usize,
}

/// One host-to-Wasm entry on this thread's stack.
struct Activation {
    /// Written by `enter_wasm` through a raw pointer.
    pad: Cell<LandingPad>,
    /// The enclosing activation, or null.
    prev: *const Activation,
    /// The store the Wasm runs in.
    store: *const VMStoreContext,
    /// The recorded reason for aborting, if any.
    unwind: Cell<Option<Box<Unwind>>>,
    /// The store's values at entry, restored at exit.
    saved_exit_fp: usize,
    saved_exit_pc: usize,
    saved_entry_fp: usize,
    saved_stack_limit: usize,
}

thread_local! {
    /// The innermost activation of this thread, or null. Const-initialised
    /// without a destructor, so reading it is safe in a signal handler.
    static ACTIVATION: Cell<*const Activation> = const { Cell::new(ptr::null()) };
}

/// The innermost activation of this thread.
///
/// # Safety
///
/// The reference must not outlive the activation: use it only from code
/// running inside it (a libcall, host function or signal handler), never
/// after the Wasm call that reached the caller has returned.
unsafe fn innermost<'a>() -> Option<&'a Activation> {
    let act = ACTIVATION.with(Cell::get);
    // SAFETY: a non-null head points to an activation on this thread's
    // stack, pushed by `catch_traps` and popped before its frame returns;
    // the caller uses the reference only while that frame is live.
    unsafe { act.as_ref() }
}

/// Pops the activation and restores the store's saved values when
/// [`catch_traps`] leaves, however it leaves.
struct ActivationGuard<'a>(&'a Activation);

impl Drop for ActivationGuard<'_> {
    fn drop(&mut self) {
        let act = self.0;
        // SAFETY: `catch_traps`' contract keeps the store valid for the call.
        let store = unsafe { &*act.store };
        // SAFETY: the store's cells are only touched by this thread while it
        // runs the store, and no Wasm runs at this point.
        unsafe {
            *store.last_wasm_exit_fp.get() = act.saved_exit_fp;
            *store.last_wasm_exit_pc.get() = act.saved_exit_pc;
            *store.last_wasm_entry_fp.get() = act.saved_entry_fp;
            *store.stack_limit.get() = act.saved_stack_limit;
        }
        ACTIVATION.with(|head| head.set(act.prev));
    }
}

/// Calls `callee(callee_vmctx, caller_vmctx, values, len)` (an array-call
/// function: an array-to-Wasm entry or a host function) so that traps and
/// unwinds inside it come back here as `Err`.
///
/// If no Wasm of `store` is running yet (`stack_limit` is `usize::MAX`), the
/// store's stack limit is set to `max_wasm_stack` bytes below the current
/// stack pointer for the duration of the call — but never closer than
/// [`STACK_SAFETY_MARGIN`] to the low end of this thread's stack, so a
/// thread with less native stack than `max_wasm_stack` gets a
/// `StackOverflow` trap instead of a crash.
///
/// # Safety
///
/// `store` must be valid for the whole call and used by this thread only;
/// `callee` must follow the array-call convention and may rely on
/// `callee_vmctx`, `caller_vmctx` and `values[..len]` as its contract says.
pub unsafe fn catch_traps(
    store: *const VMStoreContext,
    max_wasm_stack: usize,
    callee: ArrayCallFn,
    callee_vmctx: *mut u8,
    caller_vmctx: *mut u8,
    values: *mut ValRaw,
    len: usize,
) -> Result<(), Box<Unwind>> {
    init_traps();
    if let Err(e) = signals::ensure_alt_stack() {
        return Err(Box::new(Unwind {
            reason: UnwindReason::Host(Box::new(e)),
            backtrace: Backtrace::empty(),
        }));
    }
    // SAFETY: the caller guarantees `store` is valid for the call.
    let s = unsafe { &*store };
    // SAFETY: this thread is the store's only user (caller's contract).
    let activation = unsafe {
        Activation {
            pad: Cell::new(LandingPad::default()),
            prev: ACTIVATION.with(Cell::get),
            store,
            unwind: Cell::new(None),
            saved_exit_fp: *s.last_wasm_exit_fp.get(),
            saved_exit_pc: *s.last_wasm_exit_pc.get(),
            saved_entry_fp: *s.last_wasm_entry_fp.get(),
            saved_stack_limit: *s.stack_limit.get(),
        }
    };
    ACTIVATION.with(|head| head.set(&activation));
    let guard = ActivationGuard(&activation);
    if activation.saved_stack_limit == usize::MAX {
        let limit = clamp_stack_limit(current_stack_pointer().saturating_sub(max_wasm_stack));
        // SAFETY: as above; the guard restores the saved limit.
        unsafe { *s.stack_limit.get() = limit };
    }
    // SAFETY: the pad pointer stays valid for the call (the activation lives
    // in this frame); the callee's contract is the caller's.
    let ok = unsafe {
        enter_wasm(
            activation.pad.as_ptr(),
            callee,
            callee_vmctx,
            caller_vmctx,
            values,
            len,
        )
    };
    drop(guard);
    if ok {
        return Ok(());
    }
    Err(activation.unwind.take().unwrap_or_else(|| {
        Box::new(Unwind {
            reason: UnwindReason::Host(
                "an array-call function returned false without recording an unwind".into(),
            ),
            backtrace: Backtrace::empty(),
        })
    }))
}

/// The store of the innermost activation on this thread, if any Wasm call
/// is in progress.
#[cfg(test)]
pub(crate) fn with_activation_store() -> Option<*const VMStoreContext> {
    // SAFETY: the reference does not escape this expression.
    unsafe { innermost() }.map(|act| act.store)
}

/// The current stack pointer.
#[inline(always)]
pub(crate) fn current_stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads a register; touches no memory.
    unsafe {
        core::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    sp
}

/// Aborts Wasm with a trap: [`raise_unwind`] with [`UnwindReason::Trap`].
///
/// # Safety
///
/// As for [`raise_unwind`].
///
/// # Panics
///
/// If no Wasm call is in progress on this thread.
pub(crate) unsafe fn raise_trap(code: TrapCode) -> ! {
    // SAFETY: the caller's duty is `raise_unwind`'s.
    unsafe { raise_unwind(UnwindReason::Trap { code }) }
}

/// Aborts Wasm with `reason`: records it, with the backtrace from the
/// store's last exit, in the innermost activation and resumes at its landing
/// pad. Every frame in between is discarded without running destructors.
///
/// # Safety
///
/// Every frame between the caller and the innermost [`catch_traps`] of this
/// thread is skipped without being unwound, so each must be one that may be
/// skipped: Wasm frames, trampolines, and Rust frames (the caller's among
/// them) that own nothing to drop and hold no lock or borrow that outlives
/// them. A libcall calls this only after its body has returned, so every
/// local of the body is already dropped.
///
/// # Panics
///
/// If no Wasm call is in progress on this thread (before skipping anything).
pub(crate) unsafe fn raise_unwind(reason: UnwindReason) -> ! {
    // SAFETY: called from code running inside the activation, which stays
    // live until this function resumes at its pad or returns.
    let act =
        unsafe { innermost() }.expect("raise_unwind: no Wasm call is in progress on this thread");
    record_from_exit(act, reason);
    // SAFETY: the frames above the pad may be skipped (the caller's duty).
    unsafe { resume(act) }
}

/// Records `reason` as the innermost activation's pending unwind without
/// leaving: for host functions called with the array call, which then
/// return `false`.
///
/// # Panics
///
/// If no Wasm call is in progress on this thread.
pub fn set_pending_unwind(reason: UnwindReason) {
    // SAFETY: called from code running inside the activation, which stays
    // live until this function resumes at its pad or returns.
    let act = unsafe { innermost() }
        .expect("set_pending_unwind: no Wasm call is in progress on this thread");
    record_from_exit(act, reason);
}

/// Aborts Wasm with the pending unwind recorded by [`set_pending_unwind`]
/// (the `raise_trap` libcall with [`tandem_codegen_api::abi::RAISE_PENDING`]).
///
/// # Safety
///
/// As for [`raise_unwind`].
///
/// # Panics
///
/// If no Wasm call is in progress on this thread.
pub(crate) unsafe fn raise_pending() -> ! {
    // SAFETY: called from code running inside the activation, which stays
    // live until this function resumes at its pad or returns.
    let act =
        unsafe { innermost() }.expect("raise_pending: no Wasm call is in progress on this thread");
    let pending = act.unwind.take();
    if pending.is_some() {
        act.unwind.set(pending);
    } else {
        record_from_exit(
            act,
            UnwindReason::Host("raise_pending called without a pending unwind".into()),
        );
    }
    // SAFETY: the frames above the pad may be skipped (the caller's duty).
    unsafe { resume(act) }
}

/// Records `reason` in `act` with the backtrace from the store's last exit.
fn record_from_exit(act: &Activation, reason: UnwindReason) {
    // SAFETY: `act.store` is valid while the activation is (catch_traps'
    // contract), and this thread is its only user.
    let (pc, fp) = unsafe {
        let store = &*act.store;
        (
            *store.last_wasm_exit_pc.get(),
            *store.last_wasm_exit_fp.get(),
        )
    };
    let backtrace = capture(act, Start::Return { pc, fp });
    act.unwind.set(Some(Box::new(Unwind { reason, backtrace })));
}

/// Walks the Wasm frames of `act` from `start`, then those of enclosing
/// activations of the same store.
fn capture(act: &Activation, start: Start) -> Backtrace {
    let mut walk = Walk::new();
    // SAFETY: the store is valid while the activation is.
    let entry_fp = unsafe { *(*act.store).last_wasm_entry_fp.get() };
    // SAFETY: `start` is a trap context or the store's current exit, both in
    // Wasm of this activation, whose frames lie below the activation itself
    // (it lives in `catch_traps`' frame, above the stub and Wasm frames).
    unsafe { walk.segment(start, entry_fp, act as *const Activation as usize) };
    let mut inner = act;
    loop {
        let outer = enclosing_same_store(inner);
        let ceiling = outer.map_or(usize::MAX, |o| o as *const Activation as usize);
        // SAFETY: by the invariant in the module docs, an activation's saved
        // exit values are 0 or live Wasm frames of an enclosing activation of
        // the same store, which lie between `inner` and `outer`.
        unsafe {
            walk.segment(
                Start::Return {
                    pc: inner.saved_exit_pc,
                    fp: inner.saved_exit_fp,
                },
                inner.saved_entry_fp,
                ceiling,
            )
        };
        match outer {
            Some(o) => inner = o,
            None => return walk.finish(),
        }
    }
}

/// The nearest activation enclosing `act` that runs the same store.
fn enclosing_same_store(act: &Activation) -> Option<&Activation> {
    let mut cur = act.prev;
    // SAFETY: the chain links activations in live frames of this thread.
    while let Some(a) = unsafe { cur.as_ref() } {
        if a.store == act.store {
            return Some(a);
        }
        cur = a.prev;
    }
    None
}

/// Resumes at `act`'s landing pad.
///
/// # Safety
///
/// Every frame above the pad may be skipped (see [`raise_unwind`]).
unsafe fn resume(act: &Activation) -> ! {
    let pad = act.pad.get();
    assert!(pad.pc != 0, "unwind raised before Wasm was entered");
    // SAFETY: the pad was recorded by `enter_wasm` in a frame that is still
    // live (the activation is on the chain), and the caller guarantees every
    // frame above it may be skipped.
    unsafe { resume_at(pad.sp, pad.fp, pad.pc) }
}

/// Called by the signal handler for a fault at `pc` with frame pointer `fp`:
/// if it is a trap of registered code inside an activation, records the
/// unwind and returns the landing pad to resume at.
fn handle_trap(pc: usize, fp: usize) -> Option<LandingPad> {
    // SAFETY: the interrupted code runs inside the activation (if any), which
    // stays live while the handler runs.
    let act = unsafe { innermost() }?;
    let pad = act.pad.get();
    if pad.pc == 0 {
        return None;
    }
    let code = crate::code_memory::lookup_code(pc)?.lookup_trap(pc)?;
    let backtrace = capture(act, Start::Trap { pc, fp });
    act.unwind.set(Some(Box::new(Unwind {
        reason: UnwindReason::Trap { code },
        backtrace,
    })));
    Some(pad)
}

/// `enter_wasm(pad, callee, callee_vmctx, caller_vmctx, values, len)`:
/// saves the callee-saved registers, records the landing pad in `*pad` and
/// returns `callee(callee_vmctx, caller_vmctx, values, len)`, or `false`
/// when resumed at the pad.
#[unsafe(naked)]
unsafe extern "C" fn enter_wasm(
    pad: *mut LandingPad,
    callee: ArrayCallFn,
    callee_vmctx: *mut u8,
    caller_vmctx: *mut u8,
    values: *mut ValRaw,
    len: usize,
) -> bool {
    core::arch::naked_asm!(
        "push rbp",
        "mov rbp, rsp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        // Five pushes after rbp: realign rsp to 16 for the call.
        "sub rsp, 8",
        // Record the pad: sp, fp, resume address.
        "mov [rdi], rsp",
        "mov [rdi + 8], rbp",
        "lea rax, [rip + 2f]",
        "mov [rdi + 16], rax",
        // callee(callee_vmctx, caller_vmctx, values, len)
        "mov rax, rsi",
        "mov rdi, rdx",
        "mov rsi, rcx",
        "mov rdx, r8",
        "mov rcx, r9",
        "call rax",
        "movzx eax, al",
        "jmp 3f",
        // The landing pad: rsp and rbp are the recorded ones.
        "2:",
        "xor eax, eax",
        "3:",
        "add rsp, 8",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

/// Jumps to `pc` with the given stack and frame pointers.
#[unsafe(naked)]
unsafe extern "C" fn resume_at(sp: usize, fp: usize, pc: usize) -> ! {
    core::arch::naked_asm!("mov rsp, rdi", "mov rbp, rsi", "jmp rdx")
}
