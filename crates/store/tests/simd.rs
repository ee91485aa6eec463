//! `v128` through the embedding API: typed calls with `u128` and `V128`,
//! host functions taking and returning them, `v128` globals, and
//! signatures with more `v128`s than vector registers (stack arguments and
//! a stack return area), on every backend that compiles SIMD.

use tandem_store::{
    BackendKind, Config, Engine, Func, Global, GlobalType, Instance, Module, Mutability, Store,
    V128, Val, ValType,
};

/// Backends that compile SIMD code.
const SIMD_BACKENDS: &[BackendKind] = &[BackendKind::Cranelift];

fn engines() -> impl Iterator<Item = (BackendKind, Engine)> {
    SIMD_BACKENDS
        .iter()
        .filter(|k| BackendKind::available().contains(k))
        .map(|&kind| (kind, Engine::new(Config::new().backend(kind)).unwrap()))
}

/// `i32x4` lanes as a `u128`, lane 0 lowest.
fn i32x4(lanes: [i32; 4]) -> u128 {
    lanes
        .iter()
        .rev()
        .fold(0, |acc, &l| (acc << 32) | u128::from(l as u32))
}

#[test]
fn typed_calls_host_functions_and_globals_carry_v128() {
    for (kind, engine) in engines() {
        let mut store = Store::new(&engine, ());
        let double = Func::wrap(&mut store, |v: V128| -> u128 {
            let x = v.as_u128();
            i32x4([0, 1, 2, 3].map(|i| 2 * (x >> (32 * i)) as u32 as i32))
        });
        let g = Global::new(
            &mut store,
            GlobalType::new(ValType::V128, Mutability::Var),
            Val::V128(i32x4([10, 20, 30, 40])),
        )
        .unwrap();
        let module = Module::new(
            &engine,
            r#"(module
              (import "" "double" (func $double (param v128) (result v128)))
              (import "" "g" (global $g (mut v128)))
              (func (export "add") (param v128 v128) (result v128)
                (i32x4.add (local.get 0) (local.get 1)))
              (func (export "run") (param v128) (result v128)
                (global.set $g (i32x4.add (global.get $g) (local.get 0)))
                (call $double (global.get $g))))"#,
        )
        .unwrap();
        let instance = Instance::new(&mut store, &module, &[double.into(), g.into()]).unwrap();
        let add = instance
            .get_typed_func::<(u128, u128), u128>(&mut store, "add")
            .unwrap();
        let sum = add
            .call(&mut store, (i32x4([1, 2, 3, -4]), i32x4([5, 6, 7, 8])))
            .unwrap();
        assert_eq!(sum, i32x4([6, 8, 10, 4]), "{kind}");
        let run = instance
            .get_typed_func::<V128, V128>(&mut store, "run")
            .unwrap();
        let out = run
            .call(&mut store, V128::from(i32x4([1, 1, 1, 1])))
            .unwrap();
        assert_eq!(out.as_u128(), i32x4([22, 42, 62, 82]), "{kind}");
        assert_eq!(g.get(&mut store).unwrap_v128(), i32x4([11, 21, 31, 41]));
    }
}

#[test]
fn more_v128s_than_vector_registers_pass_on_the_stack() {
    // Ten v128 params (eight in xmm0-7, two in 16-byte stack slots) and
    // ten results (two in the stack return area), across a Wasm call.
    let params = "v128 ".repeat(10);
    let gets: String = (0..10).rev().map(|i| format!("(local.get {i}) ")).collect();
    let wat = format!(
        r#"(module
          (func $rev (param {params}) (result {params}) {gets})
          (func (export "run") (param {params}) (result {params})
            (call $rev {args})))"#,
        args = (0..10)
            .map(|i| format!("(local.get {i}) "))
            .collect::<String>(),
    );
    for (kind, engine) in engines() {
        let mut store = Store::new(&engine, ());
        let module = Module::new(&engine, &wat).unwrap();
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let run = instance.get_func(&mut store, "run").unwrap();
        let args: Vec<Val> = (0..10u128).map(|i| Val::V128(i << 100 | i)).collect();
        let mut results = vec![Val::V128(0); 10];
        run.call(&mut store, &args, &mut results).unwrap();
        for (i, r) in results.iter().enumerate() {
            let j = 9 - i as u128;
            assert_eq!(r.unwrap_v128(), j << 100 | j, "{kind} result {i}");
        }
    }
}

#[cfg(feature = "baseline")]
#[test]
fn the_baseline_refuses_simd_by_name() {
    let engine = Engine::new(Config::new().backend(BackendKind::Baseline)).unwrap();
    let err = Module::new(
        &engine,
        "(module (func (result v128) (i32x4.splat (i32.const 1))))",
    )
    .unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("SIMD") || text.contains("v128"), "{text}");
}
