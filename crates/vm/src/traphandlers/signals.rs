//! The process-wide signal handlers that turn faults in compiled code into
//! traps, and the per-thread alternate signal stack they run on.
//!
//! The handler for SIGSEGV, SIGBUS, SIGILL and SIGFPE asks
//! [`super::handle_trap`] whether the fault is a trap site of registered code
//! inside an activation; if so it rewrites the signal context so that
//! returning from the handler resumes at the activation's landing pad (the
//! kernel restores the signal mask on that return, so no `siglongjmp` is
//! needed). Any other fault is passed on to the handler that was installed
//! before ours, or, if that was the default action, the default is restored
//! and the faulting instruction re-executed so the process dies of the real
//! signal.

use crate::VmError;
use crate::mmap::{Mmap, page_size};
use std::cell::RefCell;
use std::ffi::{c_int, c_void};
use std::sync::{Once, OnceLock};

/// The signals we handle.
const SIGNALS: [c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// Usable size of the alternate signal stack.
const ALT_STACK_SIZE: usize = 64 * 1024;

/// The handlers that were installed before ours, in [`SIGNALS`] order.
static PREVIOUS: OnceLock<[libc::sigaction; 4]> = OnceLock::new();

/// Installs the trap signal handlers, once per process.
///
/// # Panics
///
/// If the operating system refuses to install a handler, which it does only
/// for invalid signal numbers.
pub fn init_traps() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let mut previous = [empty_sigaction(); 4];
        for (prev, &signal) in previous.iter_mut().zip(&SIGNALS) {
            // SAFETY: queries the current disposition into a local.
            let rc = unsafe { libc::sigaction(signal, std::ptr::null(), prev) };
            assert_eq!(rc, 0, "sigaction query failed for signal {signal}");
        }
        // Stored before installing, so the handler always finds it.
        let _ = PREVIOUS.set(previous);
        for &signal in &SIGNALS {
            let mut action = empty_sigaction();
            action.sa_sigaction = handle_signal as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            // SAFETY: `handle_signal` has the SA_SIGINFO signature and is
            // async-signal-safe for faults it does not claim (it only reads
            // thread-locals and the code registry before deciding).
            let rc = unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) };
            assert_eq!(rc, 0, "installing the handler for signal {signal} failed");
        }
    });
}

fn empty_sigaction() -> libc::sigaction {
    // SAFETY: `sigaction` is plain data for which all-zero is valid (SIG_DFL,
    // no flags); the mask is then emptied properly.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: `sa_mask` is a valid sigset_t to initialise.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    action
}

unsafe extern "C" fn handle_signal(
    signal: c_int,
    info: *mut libc::siginfo_t,
    context: *mut c_void,
) {
    // SAFETY: for an SA_SIGINFO handler the kernel passes a valid ucontext_t
    // that we may modify to change where the thread resumes.
    let uc = unsafe { &mut *context.cast::<libc::ucontext_t>() };
    let regs = &mut uc.uc_mcontext.gregs;
    let pc = regs[libc::REG_RIP as usize] as usize;
    let fp = regs[libc::REG_RBP as usize] as usize;
    if let Some(pad) = super::handle_trap(pc, fp) {
        regs[libc::REG_RIP as usize] = pad.pc as i64;
        regs[libc::REG_RSP as usize] = pad.sp as i64;
        regs[libc::REG_RBP as usize] = pad.fp as i64;
        return;
    }
    // SAFETY: forwarding the kernel's own arguments.
    unsafe { chain(signal, info, context) }
}

/// Passes a fault that is not ours to the previously installed handler.
///
/// # Safety
///
/// Only from [`handle_signal`], with its arguments.
unsafe fn chain(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    let Some(slot) = SIGNALS.iter().position(|&s| s == signal) else {
        return;
    };
    let Some(previous) = PREVIOUS.get() else {
        return;
    };
    let prev = &previous[slot];
    let handler = prev.sa_sigaction;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        // Restore the default and return: the instruction faults again and
        // the process dies of the real signal.
        // SAFETY: reinstalls a disposition the process had before.
        unsafe { libc::sigaction(signal, prev, std::ptr::null_mut()) };
    } else if prev.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was installed with SA_SIGINFO, so it
        // has this signature and expects these arguments.
        let f = unsafe {
            std::mem::transmute::<usize, extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void)>(
                handler,
            )
        };
        f(signal, info, context);
    } else {
        // SAFETY: a plain handler installed without SA_SIGINFO.
        let f = unsafe { std::mem::transmute::<usize, extern "C" fn(c_int)>(handler) };
        f(signal);
    }
}

/// This thread's alternate signal stack, if we installed one.
struct AltStack {
    /// The guard page and the stack; `None` when the thread already had a
    /// large enough stack of its own.
    mapping: Option<Mmap>,
    /// The alternate stack that was installed before ours.
    previous: libc::stack_t,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        let Some(mapping) = &self.mapping else {
            return;
        };
        let mut current = empty_stack();
        // SAFETY: queries this thread's alternate stack into a local.
        let rc = unsafe { libc::sigaltstack(std::ptr::null(), &mut current) };
        let ours = mapping.as_ptr().wrapping_add(page_size());
        if rc == 0 && current.ss_sp.cast_const().cast::<u8>() == ours {
            // Put back what was there (or disable) before our mapping goes.
            // SAFETY: `previous` is what the kernel reported for this thread.
            unsafe { libc::sigaltstack(&self.previous, std::ptr::null_mut()) };
        }
    }
}

fn empty_stack() -> libc::stack_t {
    libc::stack_t {
        ss_sp: std::ptr::null_mut(),
        ss_flags: libc::SS_DISABLE,
        ss_size: 0,
    }
}

thread_local! {
    /// Created the first time this thread enters Wasm; dropped at thread exit.
    static ALT_STACK: RefCell<Option<AltStack>> = const { RefCell::new(None) };
}

/// Makes sure this thread has an alternate signal stack of at least
/// [`ALT_STACK_SIZE`] bytes, so a fault on an exhausted stack can be handled.
pub(super) fn ensure_alt_stack() -> Result<(), VmError> {
    let result = ALT_STACK.try_with(|slot| {
        if slot.borrow().is_some() {
            return Ok(());
        }
        let stack = install_alt_stack()?;
        *slot.borrow_mut() = Some(stack);
        Ok(())
    });
    // During thread teardown the slot may be gone: run without our stack.
    result.unwrap_or(Ok(()))
}

fn install_alt_stack() -> Result<AltStack, VmError> {
    let mut previous = empty_stack();
    // SAFETY: queries this thread's alternate stack into a local.
    if unsafe { libc::sigaltstack(std::ptr::null(), &mut previous) } != 0 {
        return Err(VmError::Signals(std::io::Error::last_os_error()));
    }
    if previous.ss_flags & libc::SS_DISABLE == 0 && previous.ss_size >= ALT_STACK_SIZE {
        return Ok(AltStack {
            mapping: None,
            previous,
        });
    }
    let guard = page_size();
    let mut mapping = Mmap::reserve(guard + ALT_STACK_SIZE)?;
    mapping.make_accessible(guard, ALT_STACK_SIZE)?;
    let stack = libc::stack_t {
        ss_sp: mapping.as_mut_ptr().wrapping_add(guard).cast::<c_void>(),
        ss_flags: 0,
        ss_size: ALT_STACK_SIZE,
    };
    // SAFETY: the stack is a fresh read+write mapping owned by the returned
    // `AltStack`, which uninstalls it before unmapping.
    if unsafe { libc::sigaltstack(&stack, std::ptr::null_mut()) } != 0 {
        return Err(VmError::Signals(std::io::Error::last_os_error()));
    }
    Ok(AltStack {
        mapping: Some(mapping),
        previous,
    })
}
