//! `Config::max_wasm_stack` holds on any thread: unbounded recursion traps
//! with `StackOverflow` at a depth set by the configured stack, and on a
//! thread whose native stack is smaller than that it still traps (at the
//! depth the thread's stack allows) instead of crashing the process. Every
//! test runs on every backend this build has.

use tandem_store::{BackendKind, Config, Engine, Instance, Module, Store, Trap, Val};

const WAT: &str = r#"
(module
  (global $depth (export "depth") (mut i32) (i32.const 0))
  (func $recurse (export "recurse")
    global.get $depth
    i32.const 1
    i32.add
    global.set $depth
    call $recurse)
  (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)
)
"#;

fn module(kind: BackendKind, max_wasm_stack: usize) -> Module {
    let mut config = Config::new();
    config.backend(kind).max_wasm_stack(max_wasm_stack);
    let engine = Engine::new(&config).expect("engine");
    Module::new(&engine, WAT).unwrap_or_else(|e| panic!("{kind}: compiles: {e}"))
}

/// Recurses until the stack limit, checks the trap, checks the store still
/// works, and returns how deep the recursion got.
fn overflow_depth(kind: BackendKind, store: &mut Store<()>, instance: Instance) -> u32 {
    let depth = instance
        .get_global(&mut *store, "depth")
        .expect("depth global");
    depth.set(&mut *store, Val::I32(0)).expect("mutable");
    let recurse = instance.get_func(&mut *store, "recurse").expect("recurse");
    let Err(err) = recurse.call(&mut *store, &[], &mut []) else {
        panic!("{kind}: unbounded recursion must trap");
    };
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::StackOverflow),
        "{kind}: {err:?}"
    );
    // Ordinary calls work right after.
    let add = instance
        .get_typed_func::<(i32, i32), i32>(&mut *store, "add")
        .expect("add");
    let sum = add
        .call(&mut *store, (2, 3))
        .unwrap_or_else(|e| panic!("{kind}: store unusable after overflow: {e}"));
    assert_eq!(sum, 5, "{kind}");
    let reached = depth.get(store).i32().expect("i32");
    assert!(reached > 0, "{kind}");
    reached as u32
}

fn depth_on_this_thread(kind: BackendKind, module: &Module) -> u32 {
    let mut store = Store::new(module.engine(), ());
    let instance = Instance::new(&mut store, module, &[]).expect("instantiates");
    let first = overflow_depth(kind, &mut store, instance);
    // The same again: the limit is restored between calls.
    let second = overflow_depth(kind, &mut store, instance);
    assert_eq!(
        first, second,
        "{kind}: overflow depths {first} then {second}"
    );
    first
}

#[test]
fn depth_scales_with_max_wasm_stack_on_the_test_thread() {
    for &kind in BackendKind::available() {
        let big = depth_on_this_thread(kind, &module(kind, 1 << 20));
        let small = depth_on_this_thread(kind, &module(kind, 256 << 10));
        assert!(small < big, "{kind}: {small} < {big}");
        // Frames are the same size, so the depth is proportional to the
        // configured stack (within what the entry path uses).
        let ratio = big as f64 / small as f64;
        assert!(
            (3.8..=4.2).contains(&ratio),
            "{kind}: {big} / {small} = {ratio}"
        );
    }
}

#[test]
fn a_thread_with_a_small_native_stack_traps_instead_of_crashing() {
    for &kind in BackendKind::available() {
        let module = module(kind, 1 << 20);
        let full = depth_on_this_thread(kind, &module);
        // Compile on this thread; only run on the small one.
        let on_small = module.clone();
        let small = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || {
                let mut store = Store::new(on_small.engine(), ());
                let instance = Instance::new(&mut store, &on_small, &[]).expect("instantiates");
                let depths: Vec<u32> = (0..3)
                    .map(|_| overflow_depth(kind, &mut store, instance))
                    .collect();
                // A second store on the same thread gets the same protection.
                let mut other = Store::new(on_small.engine(), ());
                let other_instance =
                    Instance::new(&mut other, &on_small, &[]).expect("instantiates");
                let other_depth = overflow_depth(kind, &mut other, other_instance);
                (depths, other_depth)
            })
            .expect("spawn")
            .join()
            .unwrap_or_else(|_| panic!("{kind}: the small thread panicked"));
        let (depths, other_depth) = small;
        assert!(depths.iter().all(|&d| d == depths[0]), "{kind}: {depths:?}");
        assert!(
            other_depth.abs_diff(depths[0]) <= depths[0] / 50,
            "{kind}: {other_depth} vs {depths:?}"
        );
        // A 256 KiB stack holds well under a quarter of what 1 MiB does.
        assert!(
            u64::from(depths[0]) * 4 < u64::from(full),
            "{kind}: {} on 256 KiB vs {full} on 1 MiB",
            depths[0]
        );
    }
}
