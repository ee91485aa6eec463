//! The current thread's native stack bounds, so the Wasm stack limit never
//! lies below what the thread really has.
//!
//! `Config::max_wasm_stack` says how much stack Wasm may use, measured from
//! the outermost entry. On a thread whose stack is smaller than that, a limit
//! of `sp - max_wasm_stack` would lie below the stack's end: Wasm would run
//! into the guard page (or another mapping) before its prologue checks
//! fire, and the process would die. [`clamp_stack_limit`] raises such a
//! limit to [`STACK_SAFETY_MARGIN`] bytes above the stack's low end.
//!
//! The bounds come from `pthread_getattr_np` + `pthread_attr_getstack`,
//! asked once per thread and cached in a thread-local.

use std::cell::OnceCell;

/// Bytes kept free between the Wasm stack limit and the low end of the
/// thread's stack.
///
/// Wasm frames themselves never cross the limit: Cranelift's prologue check
/// compares `rsp - frame_size` with it. But everything Wasm calls at its
/// deepest point runs *below* the limit, unchecked: the Wasm-to-array and
/// Wasm-to-libcall trampolines, the store's host-function machinery (value
/// conversion, the user's closure — several KiB of frames in unoptimised
/// builds), libcalls with their allocator calls, a `ResourceLimiter`
/// callback, and, if a host function panics, the unwinder walking DWARF
/// tables (tens of KiB). 128 KiB covers that with room to spare while
/// leaving most of a small thread's stack to Wasm (a 256 KiB thread still
/// runs about 100 KiB of Wasm frames). The signal handler needs none of it:
/// it runs on its own alternate stack.
pub const STACK_SAFETY_MARGIN: usize = 128 << 10;

/// The main thread's stack grows on demand, and the kernel keeps this gap
/// (`stack_guard_gap`, 256 pages by default) between it and the mapping
/// below. glibc reports the main stack's low end as the lower of "top minus
/// the rlimit" and "the end of the mapping below"; in the second case the
/// gap lies inside the reported range. Telling the cases apart would mean
/// parsing `/proc/self/maps`, so the main thread always keeps the gap free:
/// it costs 1 MiB of a stack that is usually 8 MiB.
const MAIN_THREAD_GUARD_GAP: usize = 1 << 20;

thread_local! {
    /// This thread's lowest usable stack address; `None` inside when it
    /// could not be determined. Needs no destructor.
    static STACK_LOW: OnceCell<Option<usize>> = const { OnceCell::new() };
}

/// The lowest usable address of this thread's stack, if known.
pub(crate) fn stack_low_end() -> Option<usize> {
    STACK_LOW
        .try_with(|cell| *cell.get_or_init(query_stack_low_end))
        .ok()
        .flatten()
}

/// `limit` (the address Wasm's stack may not go below), raised if needed so
/// that at least [`STACK_SAFETY_MARGIN`] bytes of this thread's stack remain
/// below it. Unchanged when the bounds are unknown.
pub(crate) fn clamp_stack_limit(limit: usize) -> usize {
    match stack_low_end() {
        Some(low) => limit.max(low.saturating_add(STACK_SAFETY_MARGIN)),
        None => limit,
    }
}

fn query_stack_low_end() -> Option<usize> {
    // SAFETY: all-zero is a valid bit pattern for the opaque attribute
    // struct, which `pthread_getattr_np` initialises before we read it.
    let mut attr: libc::pthread_attr_t = unsafe { std::mem::zeroed() };
    // SAFETY: `attr` is a writable attribute object; on success it must be
    // destroyed, which we do below.
    if unsafe { libc::pthread_getattr_np(libc::pthread_self(), &mut attr) } != 0 {
        return None;
    }
    let mut addr: *mut libc::c_void = std::ptr::null_mut();
    let mut size: libc::size_t = 0;
    // SAFETY: `attr` was initialised by `pthread_getattr_np`; the out
    // pointers are valid locals.
    let rc = unsafe { libc::pthread_attr_getstack(&attr, &mut addr, &mut size) };
    // SAFETY: `attr` was initialised above and is not used afterwards.
    unsafe { libc::pthread_attr_destroy(&mut attr) };
    if rc != 0 || addr.is_null() || size == 0 {
        return None;
    }
    let low = addr as usize;
    if is_main_thread() {
        return Some(low.saturating_add(MAIN_THREAD_GUARD_GAP));
    }
    Some(low)
}

fn is_main_thread() -> bool {
    // SAFETY: both calls only return ids.
    unsafe { libc::gettid() == libc::getpid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_stack_lies_within_the_bounds() {
        let low = stack_low_end().expect("Linux reports thread stacks");
        let sp = crate::traphandlers::current_stack_pointer();
        assert!(low < sp, "{low:#x} < {sp:#x}");
        assert_eq!(clamp_stack_limit(0), low + STACK_SAFETY_MARGIN);
        assert_eq!(clamp_stack_limit(sp), sp);
    }

    #[test]
    fn a_small_thread_reports_its_small_stack() {
        let outer = stack_low_end();
        let (low, sp) = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(|| {
                (
                    stack_low_end().expect("bounds"),
                    crate::traphandlers::current_stack_pointer(),
                )
            })
            .expect("spawn")
            .join()
            .expect("join");
        assert_ne!(Some(low), outer);
        assert!(sp > low && sp - low <= 256 << 10, "{:#x}", sp - low);
    }
}
