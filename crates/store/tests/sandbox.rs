//! The sandbox, tested on every backend: a guest load or store at every
//! boundary (effective addresses near 4 GiB and 8 GiB, near the current
//! size after `memory.grow`, in the guard region) traps without touching
//! memory and never reads host memory; host memory right after a
//! reservation stays untouched (a canary); code is never writable while
//! executable (read from `/proc/self/maps`); and a trap inside a host call,
//! a panic in a host function and a fault in host code called from Wasm
//! each behave as documented.

use std::process::Command;
use tandem_store::{
    BackendKind, Caller, Config, Engine, Error, Extern, Func, Instance, Linker, Memory, MemoryType,
    Module, Store, TrapCode, WasmBacktrace,
};

/// One engine per backend this build has.
fn engines() -> Vec<(BackendKind, Engine)> {
    BackendKind::available()
        .iter()
        .map(|&kind| (kind, Engine::new(Config::new().backend(kind)).unwrap()))
        .collect()
}

/// The trap code of an error, if it is a trap (one place for the shape of
/// the store's error type).
fn trap_code(error: &Error) -> Option<TrapCode> {
    error.downcast_ref::<TrapCode>().copied()
}

/// The name of the innermost Wasm frame of a failure.
fn innermost(error: &Error) -> Option<&str> {
    error
        .downcast_ref::<WasmBacktrace>()?
        .frames()
        .first()?
        .func_name()
}

/// The number of Wasm frames of a failure.
fn depth(error: &Error) -> usize {
    error
        .downcast_ref::<WasmBacktrace>()
        .map_or(0, |bt| bt.frames().len())
}

/// Loads and stores of each width, at each static offset.
const ACCESSES: [(&str, &str, u64); 4] = [
    ("i32.load8_u", "i32.store8", 1),
    ("i32.load16_u", "i32.store16", 2),
    ("i32.load", "i32.store", 4),
    ("i64.load", "i64.store", 8),
];
const OFFSETS: [u64; 9] = [
    0,
    1,
    7,
    0x1000,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0xffff_fff0,
    0xffff_ffff,
];

fn boundary_module() -> String {
    let mut wat = String::from(
        "(module (memory (export \"m\") 1 4)\n\
         (func (export \"grow\") (param i32) (result i32) local.get 0 memory.grow)\n",
    );
    for (load, store, width) in ACCESSES {
        let extend = if width == 8 { "" } else { "i64.extend_i32_u" };
        let value = if width == 8 {
            "i64.const 0x0102030405060708"
        } else {
            "i32.const 0x01020304"
        };
        for offset in OFFSETS {
            wat.push_str(&format!(
                "(func (export \"load{width}@{offset}\") (param i32) (result i64)\n\
                   local.get 0 {load} offset={offset} {extend})\n\
                 (func (export \"store{width}@{offset}\") (param i32)\n\
                   local.get 0 {value} {store} offset={offset})\n"
            ));
        }
    }
    wat.push(')');
    wat
}

/// Addresses around the memory's end, the guard region and 4 GiB.
fn addresses(size: u64, width: u64) -> Vec<u32> {
    let mut list = vec![0u64, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_fff0, 0xffff_ffff];
    list.push(0xffff_ffff - width);
    for delta in [
        1,
        0,
        -1,
        -2,
        -(width as i64),
        -(width as i64) - 1,
        4096,
        65536,
    ] {
        list.push(size.wrapping_add_signed(delta));
    }
    list.into_iter().map(|a| a as u32).collect()
}

fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(7) + 3) as u8
}

/// Checks every access of [`ACCESSES`] x [`OFFSETS`] x [`addresses`]
/// against the spec's rule: in bounds iff `address + offset + width <=
/// size`, otherwise a `MemoryOutOfBounds` trap that changes nothing.
fn check_boundaries(kind: BackendKind, store: &mut Store<()>, instance: Instance, memory: Memory) {
    let size = memory.data(&*store).len() as u64;
    for (i, byte) in memory.data_mut(&mut *store).iter_mut().enumerate() {
        *byte = pattern(i);
    }
    let before: Vec<u8> = memory.data(&*store).to_vec();
    for (_, _, width) in ACCESSES {
        for offset in OFFSETS {
            let load = instance
                .get_typed_func::<u32, i64>(&mut *store, &format!("load{width}@{offset}"))
                .unwrap();
            let store_fn = instance
                .get_typed_func::<u32, ()>(&mut *store, &format!("store{width}@{offset}"))
                .unwrap();
            for address in addresses(size, width) {
                let ea = u64::from(address) + offset;
                let in_bounds = ea + width <= size;
                let what = format!(
                    "{kind}: {width}-byte access at {address:#x}+{offset:#x}, size {size:#x}"
                );
                match load.call(&mut *store, address) {
                    Ok(value) => {
                        assert!(in_bounds, "{what}: load did not trap");
                        let mut expected = 0u64;
                        for k in (0..width).rev() {
                            expected = expected << 8 | u64::from(pattern((ea + k) as usize));
                        }
                        assert_eq!(value as u64, expected, "{what}: wrong bytes");
                    }
                    Err(e) => {
                        assert!(!in_bounds, "{what}: load trapped: {e}");
                        assert_eq!(trap_code(&e), Some(TrapCode::MemoryOutOfBounds), "{what}");
                    }
                }
                match store_fn.call(&mut *store, address) {
                    Ok(()) => {
                        assert!(in_bounds, "{what}: store did not trap");
                        let data = memory.data_mut(&mut *store);
                        let range = ea as usize..(ea + width) as usize;
                        assert_ne!(
                            data[range.clone()],
                            before[range.clone()],
                            "{what}: nothing written"
                        );
                        data[range.clone()].copy_from_slice(&before[range]);
                    }
                    Err(e) => {
                        assert!(!in_bounds, "{what}: store trapped: {e}");
                        assert_eq!(trap_code(&e), Some(TrapCode::MemoryOutOfBounds), "{what}");
                    }
                }
                // A trapping store writes nothing, not even the part of a
                // straddling access that would fit.
                assert!(
                    memory.data(&*store) == &before[..],
                    "{what}: memory changed"
                );
            }
        }
    }
}

#[test]
fn every_boundary_traps_before_and_after_growth() {
    let wat = boundary_module();
    for (kind, engine) in engines() {
        let module = Module::new(&engine, &wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let memory = instance.get_memory(&mut store, "m").unwrap();
        check_boundaries(kind, &mut store, instance, memory);
        let grow = instance
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        assert_eq!(grow.call(&mut store, 2).unwrap(), 1, "{kind}");
        check_boundaries(kind, &mut store, instance, memory);
        // Past the maximum, growth fails and the boundary stays.
        assert_eq!(grow.call(&mut store, 2).unwrap(), -1, "{kind}");
        assert_eq!(memory.data(&store).len(), 3 << 16, "{kind}");
        check_boundaries(kind, &mut store, instance, memory);
    }
}

/// The first byte past a memory's reservation: where an escaped access
/// would land first.
fn reservation_end(memory: Memory, store: &Store<()>) -> usize {
    memory.data(store).as_ptr() as usize
        + tandem_environ::Tunables::default().memory_reservation as usize
}

#[test]
fn host_memory_next_to_a_reservation_is_untouched() {
    const CANARY: u8 = 0xa5;
    let page = 4096;
    let wat = r#"(module (import "env" "m" (memory 1))
        (func (export "poke") (param i32 i32)
          local.get 0 i64.const -1 i64.store offset=0xffffffff
          local.get 1 i64.const -1 i64.store offset=0xffffffff)
        (func (export "peek") (param i32) (result i64)
          local.get 0 i64.load offset=0xffffffff))"#;
    for (kind, engine) in engines() {
        let module = Module::new(&engine, wat).unwrap();
        // mmap hands out the highest free range that fits. Find a range of
        // reservation + one page, free it, map the canary at its top: the
        // reservation of the next memory then ends right at the canary.
        // Retry if another thread mapped something in between.
        let reservation = tandem_environ::Tunables::default().memory_reservation as usize;
        let mut placed = None;
        for _ in 0..20 {
            // SAFETY: a fresh inaccessible mapping, only used to find room.
            let probe = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    reservation + page,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            assert_ne!(probe, libc::MAP_FAILED);
            // SAFETY: unmapping the probe, which nothing uses.
            unsafe { libc::munmap(probe, reservation + page) };
            // SAFETY: maps a page where the probe was (NOREPLACE: never
            // over anything); the page is ours.
            let canary = unsafe {
                libc::mmap(
                    probe.cast::<u8>().add(reservation).cast(),
                    page,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                    -1,
                    0,
                )
            };
            if canary == libc::MAP_FAILED {
                continue;
            }
            // SAFETY: the page is ours, readable and writable.
            unsafe { std::ptr::write_bytes(canary.cast::<u8>(), CANARY, page) };
            let mut store = Store::new(&engine, ());
            let memory = Memory::new(
                &mut store,
                MemoryType {
                    minimum: 1,
                    maximum: None,
                    memory64: false,
                    shared: false,
                },
            )
            .unwrap();
            if reservation_end(memory, &store) == canary as usize {
                placed = Some((canary, store, memory));
                break;
            }
            // SAFETY: unmapping our own page.
            unsafe { libc::munmap(canary, page) };
        }
        let (canary, mut store, memory) =
            placed.unwrap_or_else(|| panic!("{kind}: never got a page right after a reservation"));
        let instance = Instance::new(&mut store, &module, &[memory.into()]).unwrap();
        let poke = instance
            .get_typed_func::<(u32, u32), ()>(&mut store, "poke")
            .unwrap();
        let peek = instance
            .get_typed_func::<u32, i64>(&mut store, "peek")
            .unwrap();
        // The farthest any access reaches: 0xffffffff + 0xffffffff + 8.
        for address in [u32::MAX, u32::MAX - 7, 0x8000_0000, 0x1_0000] {
            let err = poke.call(&mut store, (address, address)).unwrap_err();
            assert_eq!(trap_code(&err), Some(TrapCode::MemoryOutOfBounds), "{kind}");
            let err = peek.call(&mut store, address).unwrap_err();
            assert_eq!(trap_code(&err), Some(TrapCode::MemoryOutOfBounds), "{kind}");
        }
        // SAFETY: the page is still ours and mapped.
        let bytes = unsafe { std::slice::from_raw_parts(canary.cast::<u8>(), page) };
        assert!(
            bytes.iter().all(|&b| b == CANARY),
            "{kind}: the canary was written"
        );
        drop(store);
        // SAFETY: unmapping our own page, which nothing uses any more.
        unsafe { libc::munmap(canary, page) };
    }
}

/// `(start, end, perms)` of every mapping of this process.
fn mappings() -> Vec<(usize, usize, String)> {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (start, end) = fields.next()?.split_once('-')?;
            let perms = fields.next()?.to_string();
            Some((
                usize::from_str_radix(start, 16).ok()?,
                usize::from_str_radix(end, 16).ok()?,
                perms,
            ))
        })
        .collect()
}

fn assert_no_writable_code(when: &str) {
    for (start, end, perms) in mappings() {
        assert!(
            !(perms.contains('w') && perms.contains('x')),
            "{when}: {start:#x}-{end:#x} is {perms}"
        );
    }
}

/// The permissions of the mapping holding `address`.
fn perms_at(address: usize) -> String {
    mappings()
        .into_iter()
        .find(|(start, end, _)| (*start..*end).contains(&address))
        .map(|(_, _, perms)| perms)
        .unwrap_or_else(|| format!("unmapped ({address:#x})"))
}

/// The machine code address of a Wasm function (its Wasm-call entry).
fn code_address(func: Func, store: &Store<()>) -> usize {
    let func_ref = func.func_ref_address(store).unwrap() as *const tandem_vm::VMFuncRef;
    // SAFETY: the address is a func-ref the store keeps alive for its life.
    unsafe { (*func_ref).wasm_call as usize }
}

#[test]
fn code_is_never_writable_and_executable() {
    let wat = r#"(module (import "h" "check" (func $check))
        (func (export "run") (result i32) call $check i32.const 7))"#;
    for (kind, engine) in engines() {
        let module = Module::new(&engine, wat).unwrap();
        assert_no_writable_code(&format!("{kind}: after compiling"));
        let mut store = Store::new(&engine, ());
        let check = Func::wrap(&mut store, move || {
            assert_no_writable_code("inside a host call")
        });
        let instance = Instance::new(&mut store, &module, &[check.into()]).unwrap();
        assert_no_writable_code(&format!("{kind}: after instantiating"));
        let run = instance.get_func(&mut store, "run").unwrap();
        let perms = perms_at(code_address(run, &store));
        assert!(perms.starts_with("r-x"), "{kind}: code mapped {perms}");
        let typed = run.typed::<(), i32>(&store).unwrap();
        assert_eq!(typed.call(&mut store, ()).unwrap(), 7, "{kind}");
    }
}

const CALLBACK: &str = r#"(module
    (import "h" "call_inner" (func $call_inner (param i32) (result i32)))
    (func $outer (export "outer") (param i32) (result i32)
      local.get 0 call $call_inner i32.const 1 i32.add)
    (func $inner (export "inner") (param i32) (result i32)
      local.get 0 if unreachable end i32.const 10))"#;

/// Instantiates [`CALLBACK`] with a host function that calls `inner` and
/// hands its result to `then`.
fn callback_instance(
    engine: &Engine,
    then: impl Fn(Result<i32, Error>) -> tandem_store::Result<i32> + Send + Sync + 'static,
) -> (Store<()>, Instance) {
    let module = Module::new(engine, CALLBACK).unwrap();
    let mut linker = Linker::<()>::new(engine);
    linker
        .func_wrap(
            "h",
            "call_inner",
            move |mut caller: Caller<'_, ()>, x: i32| {
                let Some(Extern::Func(inner)) = caller.get_export("inner") else {
                    panic!("no inner export");
                };
                let inner = inner.typed::<i32, i32>(caller.store()).unwrap();
                then(inner.call(caller.store(), x))
            },
        )
        .unwrap();
    let mut store = Store::new(engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance)
}

#[test]
fn a_trap_inside_a_host_call_reaches_the_host_function_then_its_caller() {
    for (kind, engine) in engines() {
        // The host function sees the nested trap as an error and may
        // recover from it: the outer Wasm call then goes on.
        let (mut store, instance) = callback_instance(&engine, |result| match result {
            Ok(v) => Ok(v),
            Err(e) => {
                assert_eq!(trap_code(&e), Some(TrapCode::UnreachableCodeReached));
                assert_eq!(innermost(&e), Some("inner"));
                Ok(100)
            }
        });
        let outer = instance
            .get_typed_func::<i32, i32>(&mut store, "outer")
            .unwrap();
        assert_eq!(outer.call(&mut store, 1).unwrap(), 101, "{kind}");
        assert_eq!(outer.call(&mut store, 0).unwrap(), 11, "{kind}");

        // Or pass it on with `?`: the outer call fails with the same trap.
        let (mut store, instance) = callback_instance(&engine, |result| result);
        let outer = instance
            .get_typed_func::<i32, i32>(&mut store, "outer")
            .unwrap();
        let err = outer.call(&mut store, 1).unwrap_err();
        assert_eq!(
            trap_code(&err),
            Some(TrapCode::UnreachableCodeReached),
            "{kind}: {err}"
        );
        assert_eq!(innermost(&err), Some("inner"), "{kind}");
        assert_eq!(
            outer.call(&mut store, 0).unwrap(),
            11,
            "{kind}: the store still works"
        );
    }
}

#[test]
fn a_panic_in_a_nested_host_function_reaches_the_outermost_caller() {
    let wat = r#"(module
        (import "h" "call_inner" (func $call_inner (param i32) (result i32)))
        (import "h" "boom" (func $boom (param i32) (result i32)))
        (func (export "outer") (param i32) (result i32) local.get 0 call $call_inner)
        (func (export "inner") (param i32) (result i32) local.get 0 call $boom)
        (func (export "div") (param i32) (result i32) i32.const 1 local.get 0 i32.div_u))"#;
    for (kind, engine) in engines() {
        let module = Module::new(&engine, wat).unwrap();
        let mut linker = Linker::<()>::new(&engine);
        linker
            .func_wrap(
                "h",
                "call_inner",
                |mut caller: Caller<'_, ()>, x: i32| -> tandem_store::Result<i32> {
                    let Some(Extern::Func(inner)) = caller.get_export("inner") else {
                        panic!("no inner export");
                    };
                    inner
                        .typed::<i32, i32>(caller.store())?
                        .call(caller.store(), x)
                },
            )
            .unwrap()
            .func_wrap("h", "boom", |x: i32| -> i32 {
                if x == 13 {
                    std::panic::panic_any(format!("host panic {x}"));
                }
                x * 2
            })
            .unwrap();
        let mut store = Store::new(&engine, ());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let outer = instance
            .get_typed_func::<i32, i32>(&mut store, "outer")
            .unwrap();
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = outer.call(&mut store, 13);
        }))
        .expect_err("the panic reaches the caller of the outermost call");
        assert_eq!(
            panic.downcast_ref::<String>().map(String::as_str),
            Some("host panic 13"),
            "{kind}"
        );
        // Both activations were unwound: calls, traps and backtraces work.
        assert_eq!(outer.call(&mut store, 4).unwrap(), 8, "{kind}");
        let div = instance
            .get_typed_func::<i32, i32>(&mut store, "div")
            .unwrap();
        let err = div.call(&mut store, 0).unwrap_err();
        assert_eq!(
            trap_code(&err),
            Some(TrapCode::IntegerDivisionByZero),
            "{kind}"
        );
        assert_eq!(depth(&err), 1, "{kind}: {err}");
    }
}

/// The child process's part of the fault tests: a host function called
/// from Wasm on `backend` reads a page it may not.
fn fault_in_host_code(backend: &str) {
    let kind: BackendKind = backend.parse().unwrap();
    let engine = Engine::new(Config::new().backend(kind)).unwrap();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "fault" (func $f)) (func (export "run") call $f))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let fault = Func::wrap(&mut store, || {
        // SAFETY: maps a fresh inaccessible page; reading it faults, which
        // is the point.
        unsafe {
            let page = libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            std::ptr::read_volatile(page.cast::<u8>());
        }
    });
    let instance = Instance::new(&mut store, &module, &[fault.into()]).unwrap();
    let run = instance
        .get_typed_func::<(), ()>(&mut store, "run")
        .unwrap();
    let result = run.call(&mut store, ());
    // Reaching this line means the fault was swallowed as a Wasm trap.
    println!("SWALLOWED: {:?}", result.err().map(|e| e.to_string()));
    std::process::exit(0);
}

extern "C" fn embedder_handler(_: libc::c_int) {
    const MESSAGE: &[u8] = b"EMBEDDER HANDLER\n";
    // SAFETY: write(2) and _exit(2) are async-signal-safe.
    unsafe {
        libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
        libc::_exit(42);
    }
}

/// Runs this test binary again on `test` with the child variable set.
fn child(test: &str, scenario: &str) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env("TANDEM_SANDBOX_CHILD", scenario)
        .output()
        .unwrap()
}

#[test]
fn a_fault_in_host_code_called_from_wasm_is_not_a_trap() {
    const TEST: &str = "a_fault_in_host_code_called_from_wasm_is_not_a_trap";
    if let Ok(scenario) = std::env::var("TANDEM_SANDBOX_CHILD") {
        let (how, backend) = scenario.split_once(':').unwrap();
        if how == "chained" {
            // An embedder's own handler, installed before Tandem's.
            // SAFETY: installs a plain handler that only calls
            // async-signal-safe functions.
            unsafe {
                libc::signal(
                    libc::SIGSEGV,
                    embedder_handler as *const () as libc::sighandler_t,
                )
            };
        }
        fault_in_host_code(backend);
        return;
    }
    use std::os::unix::process::ExitStatusExt;
    for &kind in BackendKind::available() {
        // With the default disposition the process dies of the signal.
        let out = child(TEST, &format!("default:{kind}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("SWALLOWED"), "{kind}: {stdout}");
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGSEGV),
            "{kind}: {:?}",
            out.status
        );
        // A handler the embedder installed first gets the fault.
        let out = child(TEST, &format!("chained:{kind}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(42),
            "{kind}: {:?} {stderr}",
            out.status
        );
        assert!(stderr.contains("EMBEDDER HANDLER"), "{kind}: {stderr}");
    }
}
