//! Differential property test over wasm-smith's modules: every module it
//! generates with the features both backends implement (Wasm 2.0 without
//! SIMD, tail calls, extended constant expressions; its typed function
//! references live under its GC switch, which also makes struct types and
//! declared subtypes Tandem does not compile, so `differential.rs`
//! generates those programs) must compile on both backends, instantiate
//! alike, and give the same results or traps from every export, leaving
//! the same exported globals, memories and tables behind.
//!
//! wasm-smith makes each module terminate (a fuel global checked at every
//! function entry and loop header); a run that exhausts the stack on
//! either backend ends the comparison of that module, since the two
//! backends' frames differ in size.

mod common;

use arbitrary::Unstructured;
use common::show;
use proptest::prelude::*;
use tandem_store::{
    BackendKind, Config, Engine, Extern, Instance, Module, Store, Trap, Val, ValType,
};

/// wasm-smith's settings: what both backends implement, no imports. With
/// `disallow_traps` it guards every trapping operator, so functions run
/// long instead of stopping at the first `unreachable`.
fn smith_config(disallow_traps: bool) -> wasm_smith::Config {
    wasm_smith::Config {
        disallow_traps,
        max_imports: 0,
        min_funcs: 1,
        max_funcs: 8,
        max_memories: 1,
        max_memory32_bytes: 1 << 20,
        max_tables: 2,
        max_table_elements: 100,
        export_everything: true,
        tail_call_enabled: true,
        extended_const_enabled: true,
        reference_types_enabled: true,
        bulk_memory_enabled: true,
        multi_value_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        gc_enabled: false,
        simd_enabled: false,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        memory64_enabled: false,
        exceptions_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: false,
        compact_imports_enabled: false,
        ..wasm_smith::Config::default()
    }
}

/// What one step of a run produced, comparable across backends.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Results(Vec<String>),
    Trap(Trap),
    Error(String),
}

/// The state an instance shows from outside after a step.
fn exported_state(store: &mut Store<()>, instance: Instance) -> Vec<String> {
    let exports: Vec<(String, Extern)> = instance
        .exports(&mut *store)
        .map(|e| (e.name().to_string(), e.into_extern()))
        .collect();
    let mut out = Vec::new();
    for (name, e) in exports {
        match e {
            Extern::Global(g) => out.push(format!("{name}={}", show(&g.get(&mut *store)))),
            Extern::Memory(m) => {
                let data = m.data(&*store);
                // FNV-1a: enough to see a difference, cheap to print.
                let hash = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
                    (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                });
                out.push(format!("{name}=memory[{}]:{hash:x}", data.len()));
            }
            Extern::Table(t) => out.push(format!("{name}=table[{}]", t.size(&*store))),
            Extern::Func(_) => {}
        }
    }
    out
}

/// Instantiates `module` and calls every exported function with zero
/// arguments, recording each outcome and the exported state after it.
fn run(engine: &Engine, module: &Module) -> Vec<(Step, Vec<String>)> {
    let mut store = Store::new(engine, ());
    let instance = match Instance::new(&mut store, module, &[]) {
        Ok(i) => i,
        Err(e) => {
            let step = match e.downcast_ref::<Trap>() {
                Some(&t) => Step::Trap(t),
                None => Step::Error(e.to_string()),
            };
            return vec![(step, Vec::new())];
        }
    };
    let funcs: Vec<_> = instance
        .exports(&mut store)
        .filter_map(|e| e.into_func())
        .collect();
    let mut steps = Vec::new();
    for f in funcs {
        let ty = f.ty(&store);
        let args: Vec<Val> = ty.params().map(Val::default_for).collect();
        if ty
            .params()
            .any(|t| matches!(t, ValType::Ref(r) if !r.is_nullable()))
        {
            continue;
        }
        let mut results: Vec<Val> = ty.results().map(Val::default_for).collect();
        let step = match f.call(&mut store, &args, &mut results) {
            Ok(()) => Step::Results(results.iter().map(show).collect()),
            Err(e) => match e.downcast_ref::<Trap>() {
                Some(&t) => Step::Trap(t),
                None => Step::Error(e.to_string()),
            },
        };
        let stop = step == Step::Trap(Trap::StackOverflow);
        steps.push((step, exported_state(&mut store, instance)));
        if stop {
            break;
        }
    }
    steps
}

fn engine() -> Engine {
    let mut config = Config::new();
    config.max_wasm_stack(1 << 20);
    Engine::new(&config).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn wasm_smith_modules_run_alike_on_both_backends(
        bytes in prop::collection::vec(any::<u8>(), 1024..16384),
        disallow_traps in any::<bool>(),
    ) {
        let mut u = Unstructured::new(&bytes);
        let Ok(mut module) = wasm_smith::Module::new(smith_config(disallow_traps), &mut u) else {
            return Ok(());
        };
        module.ensure_termination(1000).unwrap();
        let wasm = module.to_bytes();
        let engine = engine();
        let compiled: Vec<Module> = [BackendKind::Cranelift, BackendKind::Baseline]
            .iter()
            .map(|&kind| {
                Module::with_backend(&engine, &wasm, kind)
                    .unwrap_or_else(|e| panic!("{kind} rejects a wasm-smith module: {e:?}\n{}",
                        hex(&wasm)))
            })
            .collect();
        let cranelift = run(&engine, &compiled[0]);
        let baseline = run(&engine, &compiled[1]);

        // A stack overflow on one side ends the comparison where it happens.
        let n = cranelift
            .iter()
            .zip(&baseline)
            .position(|(c, b)| {
                c.0 == Step::Trap(Trap::StackOverflow) || b.0 == Step::Trap(Trap::StackOverflow)
            })
            .map_or(cranelift.len().max(baseline.len()), |i| i);
        prop_assert_eq!(
            &cranelift[..n.min(cranelift.len())],
            &baseline[..n.min(baseline.len())],
            "module:\n{}",
            hex(&wasm)
        );
    }
}

/// The module as bytes in hex, for a failure message (no printer crate is
/// a dependency; `wasm-tools print` reads it back).
fn hex(wasm: &[u8]) -> String {
    wasm.iter().map(|b| format!("{b:02x}")).collect()
}
