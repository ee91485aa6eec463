//! Tests of entering Wasm, traps from signals, raising from libcalls,
//! pending unwinds from host functions, nesting and backtraces, on
//! hand-assembled code.

use super::*;
use crate::code_memory::LinkedCode;
use crate::code_memory::testing::{Asm, FakeVmctx, TestFunc, UD2, test_module};
use std::sync::Arc;
use tandem_codegen_api::RelocTarget;
use tandem_codegen_api::abi::RAISE_PENDING;
use tandem_environ::{DefinedFuncIndex, Libcall};

const RETURNS_42: usize = 0;
const UNREACHABLE: usize = 1;
const LOADS_NULL: usize = 2;
const CALLS_UNREACHABLE: usize = 3;
const RAISES: usize = 4;
const CALLS_HOST: usize = 5;
const RECURSES: usize = 6;
const RAISES_PENDING: usize = 7;
const SMASHES_STACK: usize = 8;

/// The test module: one function per behaviour, indexed by the constants
/// above. `CALLS_UNREACHABLE` has an address map for offset checks.
fn linked() -> Arc<LinkedCode> {
    let call = |i| RelocTarget::Func(DefinedFuncIndex::new(i));
    let raise_trap = RelocTarget::LibcallTrampoline(Libcall::raise_trap);
    let funcs = vec![
        (
            "returns_42",
            Asm::new().prologue().mov_eax(42).epilogue().finish(),
        ),
        (
            "unreachable",
            Asm::new()
                .prologue()
                .trap(TrapCode::UnreachableCodeReached, &UD2)
                .finish(),
        ),
        (
            "loads_null",
            Asm::new()
                .prologue()
                .bytes(&[0x31, 0xC0]) // xor eax, eax
                .trap(TrapCode::MemoryOutOfBounds, &[0x8B, 0x00]) // mov eax, [rax]
                .epilogue()
                .finish(),
        ),
        (
            "calls_unreachable",
            Asm::new()
                .prologue()
                .wasm_offset(0x20)
                .call(call(UNREACHABLE))
                .wasm_offset(0x21)
                .epilogue()
                .finish(),
        ),
        (
            "raises",
            Asm::new()
                .prologue()
                .mov_esi(TrapCode::IntegerDivisionByZero as u32)
                .call(raise_trap)
                .epilogue()
                .finish(),
        ),
        (
            "calls_host",
            // The host function's result, then trap if it is not 7.
            Asm::new()
                .prologue()
                .call(RelocTarget::LibcallTrampoline(Libcall::memory_grow))
                .bytes(&[0x48, 0x83, 0xF8, 0x07]) // cmp rax, 7
                .bytes(&[0x74, 0x02]) // je +2
                .trap(TrapCode::IntegerOverflow, &UD2)
                .epilogue()
                .finish(),
        ),
        (
            "recurses",
            Asm::new()
                .prologue()
                .bytes(&[0x48, 0x8B, 0x47, 0x08]) // mov rax, [rdi + VMCTX_STORE_CONTEXT]
                .bytes(&[0x48, 0x3B, 0x20]) // cmp rsp, [rax + STORE_STACK_LIMIT]
                .bytes(&[0x73, 0x02]) // jae +2
                .trap(TrapCode::StackOverflow, &UD2)
                .call(call(RECURSES))
                .epilogue()
                .finish(),
        ),
        (
            "raises_pending",
            // Calls the host (keeping the vmctx), then raises what is pending.
            Asm::new()
                .prologue()
                .bytes(&[0x57]) // push rdi
                .bytes(&[0x48, 0x83, 0xEC, 0x08]) // sub rsp, 8
                .call(RelocTarget::LibcallTrampoline(Libcall::memory_grow))
                .bytes(&[0x48, 0x83, 0xC4, 0x08]) // add rsp, 8
                .bytes(&[0x5F]) // pop rdi
                .mov_esi(RAISE_PENDING as u32)
                .call(raise_trap)
                .epilogue()
                .finish(),
        ),
        (
            "smashes_stack",
            // With rsp = 0 the kernel cannot push a signal frame on this
            // stack: only the alternate signal stack can handle the fault.
            Asm::new()
                .prologue()
                .bytes(&[0x31, 0xE4]) // xor esp, esp
                .trap(TrapCode::StackOverflow, &[0x50]) // push rax
                .finish(),
        ),
    ];
    let funcs = funcs
        .into_iter()
        .map(|(name, body)| TestFunc {
            name,
            body,
            entry: true,
        })
        .collect();
    let (compiled, module) = test_module(funcs, &[Libcall::memory_grow, Libcall::raise_trap]);
    LinkedCode::link(&compiled, module).unwrap()
}

/// The test builtin in the `raise_trap` slot.
extern "C" fn test_raise_trap(_vmctx: *mut u8, code: i32) {
    // SAFETY: called by the test code through its libcall trampoline; this
    // frame owns nothing, and above it are only that trampoline and Wasm.
    unsafe {
        if code == RAISE_PENDING {
            raise_pending();
        }
        raise_trap(TrapCode::from_u8(code as u8).unwrap_or(TrapCode::HostError))
    }
}

/// What the host function in the `memory_grow` slot does.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Host {
    /// Returns 7.
    Return7,
    /// Calls back into Wasm (`FakeVmctx::reenter`) and expects a trap there,
    /// then returns 7.
    ReenterAndExpectTrap,
    /// Records a pending host error and returns, so the next `raise_pending`
    /// raises it.
    SetPending,
}

thread_local! {
    static HOST: Cell<Host> = const { Cell::new(Host::Return7) };
}

/// The test builtin in the `memory_grow` slot: a host function called from
/// Wasm through the libcall trampoline.
extern "C" fn test_host(vmctx: *mut u8) -> i64 {
    match HOST.with(Cell::get) {
        Host::Return7 => 7,
        Host::SetPending => {
            set_pending_unwind(UnwindReason::Host("pending from the host".into()));
            7
        }
        Host::ReenterAndExpectTrap => {
            // SAFETY: the Wasm passed its own FakeVmctx.
            let ctx = unsafe { &*vmctx.cast::<FakeVmctx>() };
            let entry = ctx.reenter.expect("reenter entry set");
            let mut values = [ValRaw::default()];
            // SAFETY: same store and vmctx as the outer call, same thread.
            let result = unsafe {
                catch_traps(
                    ctx.store,
                    1 << 20,
                    entry,
                    vmctx,
                    vmctx,
                    values.as_mut_ptr(),
                    1,
                )
            };
            let unwind = result.expect_err("inner call traps");
            assert!(matches!(
                unwind.reason,
                UnwindReason::Trap {
                    code: TrapCode::UnreachableCodeReached
                }
            ));
            // The inner trap's backtrace continues into the outer activation.
            assert_eq!(
                unwind.backtrace.func_names(),
                [Some("unreachable"), Some("calls_host")]
            );
            7
        }
    }
}

/// A store, builtins and vmctx for calling the test module.
struct Harness {
    code: Arc<LinkedCode>,
    store: Box<VMStoreContext>,
    _builtins: Box<[usize; Libcall::COUNT]>,
    vmctx: Box<FakeVmctx>,
}

impl Harness {
    fn new() -> Harness {
        let code = linked();
        let store = Box::new(VMStoreContext::default());
        let mut builtins = Box::new([0usize; Libcall::COUNT]);
        builtins[Libcall::raise_trap.index()] = test_raise_trap as *const () as usize;
        builtins[Libcall::memory_grow.index()] = test_host as *const () as usize;
        let vmctx = Box::new(FakeVmctx {
            magic: 0,
            store: &*store,
            builtins: &*builtins,
            reenter: None,
        });
        Harness {
            code,
            store,
            _builtins: builtins,
            vmctx,
        }
    }

    fn entry(&self, func: usize) -> ArrayCallFn {
        self.code
            .array_to_wasm(DefinedFuncIndex::new(func))
            .unwrap()
    }

    /// Calls `func` through its array-to-Wasm entry: its i64 result, or the
    /// unwind.
    fn call(&mut self, func: usize) -> Result<i64, Box<Unwind>> {
        self.call_array(self.entry(func))
    }

    fn call_array(&mut self, callee: ArrayCallFn) -> Result<i64, Box<Unwind>> {
        let mut values = [ValRaw::default()];
        let vmctx = (&raw mut *self.vmctx).cast::<u8>();
        // SAFETY: the store and vmctx live in `self`; the callee is an
        // array-to-Wasm entry of linked test code or a test host function.
        unsafe {
            catch_traps(
                &*self.store,
                1 << 18,
                callee,
                vmctx,
                vmctx,
                values.as_mut_ptr(),
                1,
            )?;
        }
        Ok(values[0].get_i64())
    }

    fn trap_code(&mut self, func: usize) -> TrapCode {
        match self.call(func).expect_err("traps").reason {
            UnwindReason::Trap { code } => code,
            other => panic!("expected a trap, got {other:?}"),
        }
    }

    /// The store is back to its idle state.
    fn assert_store_idle(&self) {
        // SAFETY: no Wasm runs; this thread owns the store.
        unsafe {
            assert_eq!(*self.store.stack_limit.get(), usize::MAX);
            assert_eq!(*self.store.last_wasm_exit_fp.get(), 0);
            assert_eq!(*self.store.last_wasm_exit_pc.get(), 0);
            assert_eq!(*self.store.last_wasm_entry_fp.get(), 0);
        }
    }
}

#[test]
fn normal_return_is_ok() {
    let mut h = Harness::new();
    assert_eq!(h.call(RETURNS_42).unwrap(), 42);
    h.assert_store_idle();
    // Entering Wasm gave this thread a large enough alternate signal stack.
    let mut stack = libc::stack_t {
        ss_sp: std::ptr::null_mut(),
        ss_flags: 0,
        ss_size: 0,
    };
    // SAFETY: queries into a local.
    let rc = unsafe { libc::sigaltstack(std::ptr::null(), &mut stack) };
    assert_eq!(rc, 0);
    assert_eq!(stack.ss_flags & libc::SS_DISABLE, 0);
    assert!(stack.ss_size >= 64 * 1024, "{}", stack.ss_size);
}

#[test]
fn ud2_and_segfault_become_traps() {
    let mut h = Harness::new();
    assert_eq!(h.trap_code(UNREACHABLE), TrapCode::UnreachableCodeReached);
    assert_eq!(h.trap_code(LOADS_NULL), TrapCode::MemoryOutOfBounds);
    h.assert_store_idle();
}

#[test]
fn a_thread_can_trap_a_thousand_times() {
    let mut h = Harness::new();
    for i in 0..1000 {
        let func = [UNREACHABLE, LOADS_NULL, RAISES][i % 3];
        assert!(h.call(func).is_err());
    }
    assert_eq!(h.call(RETURNS_42).unwrap(), 42);
    h.assert_store_idle();
}

#[test]
fn trap_backtrace_walks_the_frame_chain() {
    let mut h = Harness::new();
    let unwind = h.call(CALLS_UNREACHABLE).unwrap_err();
    let bt = &unwind.backtrace;
    assert_eq!(
        bt.func_names(),
        [Some("unreachable"), Some("calls_unreachable")]
    );
    // The return address follows the call; `pc - 1` is still the call's.
    assert_eq!(bt.frames[1].wasm_offset, Some(0x20));
    assert_eq!(bt.frames[0].wasm_offset, None);
    let text = bt.to_string();
    assert!(text.contains("test!calls_unreachable @ 0x20"), "{text}");
}

#[test]
fn raise_trap_from_a_libcall_unwinds() {
    let mut h = Harness::new();
    let unwind = h.call(RAISES).unwrap_err();
    assert!(matches!(
        unwind.reason,
        UnwindReason::Trap {
            code: TrapCode::IntegerDivisionByZero
        }
    ));
    assert_eq!(unwind.backtrace.func_names(), [Some("raises")]);
    h.assert_store_idle();
    assert_eq!(h.call(RETURNS_42).unwrap(), 42);
}

fn host_message(unwind: &Unwind) -> String {
    match &unwind.reason {
        UnwindReason::Host(e) => e.to_string(),
        other => panic!("expected a host error, got {other:?}"),
    }
}

#[test]
fn pending_unwind_is_raised_later() {
    let mut h = Harness::new();
    HOST.with(|c| c.set(Host::SetPending));
    // The host records a pending error but returns normally: nothing is
    // raised, and the pending error dies with the activation.
    assert_eq!(h.call(CALLS_HOST).unwrap(), 7);
    // The host records it, then the Wasm raises it.
    let unwind = h.call(RAISES_PENDING).unwrap_err();
    HOST.with(|c| c.set(Host::Return7));
    assert_eq!(host_message(&unwind), "pending from the host");
    assert_eq!(unwind.backtrace.func_names(), [Some("raises_pending")]);
    // Raising with nothing pending is still an orderly unwind.
    let unwind = h.call(RAISES_PENDING).unwrap_err();
    assert!(host_message(&unwind).contains("without a pending unwind"));
    h.assert_store_idle();
}

unsafe extern "C" fn host_fails(_: *mut u8, _: *mut u8, _: *mut ValRaw, _: usize) -> bool {
    set_pending_unwind(UnwindReason::Host("host failed".into()));
    false
}

unsafe extern "C" fn host_panics(_: *mut u8, _: *mut u8, _: *mut ValRaw, _: usize) -> bool {
    match std::panic::catch_unwind(|| -> bool { std::panic::panic_any(17u32) }) {
        Ok(ok) => ok,
        // SAFETY: `catch_unwind` has returned, so this frame owns only the
        // payload, which moves into the unwind; above it is the Wasm-to-array
        // trampoline and Wasm.
        Err(payload) => unsafe { raise_unwind(UnwindReason::Panic(payload)) },
    }
}

unsafe extern "C" fn host_returns_false(_: *mut u8, _: *mut u8, _: *mut ValRaw, _: usize) -> bool {
    false
}

#[test]
fn host_functions_report_errors_and_panics() {
    let mut h = Harness::new();
    let unwind = h.call_array(host_fails).unwrap_err();
    assert_eq!(host_message(&unwind), "host failed");
    assert!(unwind.backtrace.is_empty());

    let unwind = h.call_array(host_panics).unwrap_err();
    match unwind.reason {
        UnwindReason::Panic(payload) => assert_eq!(payload.downcast_ref::<u32>(), Some(&17)),
        other => panic!("{other:?}"),
    }

    let unwind = h.call_array(host_returns_false).unwrap_err();
    assert!(host_message(&unwind).contains("without recording"));
    h.assert_store_idle();
}

#[test]
fn nested_activations_unwind_to_the_innermost() {
    let mut h = Harness::new();
    h.vmctx.reenter = Some(h.entry(UNREACHABLE));
    HOST.with(|c| c.set(Host::ReenterAndExpectTrap));
    // Outer Wasm calls the host, which calls Wasm that traps; the outer call
    // then finishes normally with the host's 7.
    let result = h.call(CALLS_HOST);
    HOST.with(|c| c.set(Host::Return7));
    assert_eq!(result.unwrap(), 7);
    h.assert_store_idle();
    // And the outer activation still traps properly afterwards.
    assert_eq!(h.trap_code(LOADS_NULL), TrapCode::MemoryOutOfBounds);
}

#[test]
fn deep_recursion_hits_the_stack_limit() {
    let mut h = Harness::new();
    let unwind = h.call(RECURSES).unwrap_err();
    assert!(matches!(
        unwind.reason,
        UnwindReason::Trap {
            code: TrapCode::StackOverflow
        }
    ));
    // 256 KiB of 16-byte frames.
    assert!(unwind.backtrace.frames.len() > 10_000);
    h.assert_store_idle();
    assert_eq!(h.call(RETURNS_42).unwrap(), 42);
}

#[test]
fn a_fault_without_a_usable_stack_is_handled() {
    let mut h = Harness::new();
    let unwind = h.call(SMASHES_STACK).unwrap_err();
    assert!(matches!(
        unwind.reason,
        UnwindReason::Trap {
            code: TrapCode::StackOverflow
        }
    ));
    assert_eq!(unwind.backtrace.func_names(), [Some("smashes_stack")]);
    assert_eq!(h.call(RETURNS_42).unwrap(), 42);
}

#[test]
fn traps_work_on_many_threads() {
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                let mut h = Harness::new();
                for _ in 0..100 {
                    assert_eq!(h.trap_code(LOADS_NULL), TrapCode::MemoryOutOfBounds);
                    assert_eq!(h.call(RETURNS_42).unwrap(), 42);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn raising_outside_wasm_panics_clearly() {
    // SAFETY: with no activation it panics before skipping any frame.
    let err = std::panic::catch_unwind(|| unsafe { raise_trap(TrapCode::UnreachableCodeReached) })
        .unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(msg.contains("no Wasm call is in progress"), "{msg}");
    let err = std::panic::catch_unwind(|| set_pending_unwind(UnwindReason::Host("x".into())));
    assert!(err.is_err());
    assert!(with_activation_store().is_none());
}

/// Re-runs this test binary to fault in Wasm code outside any activation:
/// the fault must not be swallowed, the process dies of SIGSEGV.
#[test]
fn faults_outside_an_activation_are_not_swallowed() {
    use std::os::unix::process::ExitStatusExt;
    if std::env::var_os("TANDEM_FAULT_CHILD").is_some() {
        init_traps();
        let h = Harness::new();
        let entry = h.entry(LOADS_NULL);
        let vmctx = (&raw const *h.vmctx).cast_mut().cast::<u8>();
        let mut values = [ValRaw::default()];
        // SAFETY: deliberately faults (no activation): the process dies.
        unsafe { entry(vmctx, vmctx, values.as_mut_ptr(), 1) };
        unreachable!("the load from address 0 returned");
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "traphandlers::tests::faults_outside_an_activation_are_not_swallowed",
            "--test-threads=1",
        ])
        .env("TANDEM_FAULT_CHILD", "1")
        .stderr(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGSEGV), "{status:?}");
}
