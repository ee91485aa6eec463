//! Tail calls on both backends and across them: constant stack over 10^8
//! calls, callees with more and fewer stack arguments than their caller
//! (every pair of backends), results in a return area passed through, tail
//! calls that reach host functions (which return to the original caller),
//! a `return_call_indirect` dispatch loop, fuel, and backtraces that no
//! longer show the frames a tail call replaced.

use tandem_store::{
    BackendKind, Config, Engine, Func, FuncType, Instance, Module, Store, Trap, Val, ValType,
    WasmBacktrace,
};

fn each_backend(mut test: impl FnMut(BackendKind)) {
    for &kind in BackendKind::available() {
        println!("backend: {kind}");
        test(kind);
    }
}

fn instance(engine: &Engine, wat: &str, kind: BackendKind) -> (Store<()>, Instance) {
    let module = Module::with_backend(engine, wat, kind).expect("compiles");
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
    (store, instance)
}

fn call_i64(store: &mut Store<()>, instance: Instance, name: &str, args: &[Val]) -> i64 {
    let f = instance.get_func(&mut *store, name).expect("export");
    let mut out = [Val::I64(0)];
    f.call(store, args, &mut out).expect("call succeeds");
    out[0].i64().expect("an i64")
}

const COUNTDOWN: &str = r#"(module
  (func $down (export "down") (param i64 i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (local.get 1))
      (else (return_call $down (i64.sub (local.get 0) (i64.const 1))
                               (i64.add (local.get 1) (i64.const 3))))))
  ;; The same recursion with a plain call, to show the stack is bounded.
  (func $deep (export "deep") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 0))
      (else (call $deep (i64.sub (local.get 0) (i64.const 1))))))
  ;; Mutual recursion through a table, each function with stack arguments.
  (type $t (func (param i64 i64 i64 i64 i64 i64) (result i64)))
  (table 2 funcref)
  (elem (i32.const 0) $even $odd)
  (func $even (type $t)
    (if (result i64) (i64.eqz (local.get 0))
      (then (local.get 5))
      (else (return_call_indirect (type $t)
        (i64.sub (local.get 0) (i64.const 1)) (local.get 1) (local.get 2)
        (local.get 3) (local.get 4) (i64.add (local.get 5) (i64.const 1))
        (i32.const 1)))))
  (func $odd (type $t)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.sub (i64.const 0) (local.get 5)))
      (else (return_call_indirect (type $t)
        (i64.sub (local.get 0) (i64.const 1)) (local.get 1) (local.get 2)
        (local.get 3) (local.get 4) (i64.add (local.get 5) (i64.const 1))
        (i32.const 0)))))
  (func (export "parity") (param i64) (result i64)
    (call $even (local.get 0) (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0)
      (i64.const 0))))"#;

#[test]
fn a_hundred_million_tail_calls_run_in_constant_stack() {
    let mut config = Config::new();
    config.max_wasm_stack(64 << 10);
    let engine = Engine::new(&config).unwrap();
    each_backend(|kind| {
        let (mut store, i) = instance(&engine, COUNTDOWN, kind);
        let n = 100_000_000;
        assert_eq!(
            call_i64(&mut store, i, "down", &[Val::I64(n), Val::I64(0)]),
            3 * n
        );
        assert_eq!(
            call_i64(&mut store, i, "parity", &[Val::I64(1_000_001)]),
            -1_000_001
        );
        // The same depth with `call` exhausts the 64 KiB stack.
        let deep = i.get_func(&mut store, "deep").unwrap();
        let err = deep
            .call(&mut store, &[Val::I64(1_000_000)], &mut [Val::I64(0)])
            .unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::StackOverflow));
    });
}

/// 10 i64 and 10 f64 parameters: 4 and 8 in registers (after the two
/// VMContexts), the rest (6 i64 and 2 f64: 64 bytes) on the stack.
fn wide_params() -> String {
    "i64 ".repeat(10) + &"f64 ".repeat(10)
}

/// A module whose functions tail-call each other and an import, growing
/// and shrinking the stack-argument area: `start` (no stack arguments)
/// -> `wide` (64 bytes) -> import `wide` of the other module -> its
/// `narrow` (32 bytes) -> `finish` (none). Each step mixes its arguments
/// into a checksum the next one carries.
fn chain_wat(salt: i64, last: bool) -> String {
    let p = wide_params();
    let mix_wide = (0..10)
        .map(|i| {
            format!(
                "(local.get {i}) i64.add (i64.trunc_f64_s (local.get {})) i64.add",
                10 + i
            )
        })
        .collect::<String>();
    let forward_wide = |target: &str| {
        let mut s = String::from("(i64.add (local.get 0) (i64.const 1))");
        for i in 1..20 {
            s += &format!(" (local.get {i})");
        }
        format!("(return_call {target} {s})")
    };
    let wide_body = if last {
        // In the module that ends the chain: shrink to `narrow`.
        format!(
            "(return_call $narrow (i64.add (i64.const {salt}) (i64.const 0) {mix_wide}) (i64.const 7) (i64.const 8) (i64.const 9) (i64.const 10) (i64.const 11) (i64.const 12) (i64.const 13))"
        )
    } else {
        // In the module that starts it: grow further through the import.
        forward_wide("$other_wide")
    };
    format!(
        r#"(module
  (type $wide (func (param {p}) (result i64)))
  (import "other" "wide" (func $other_wide (type $wide)))
  (func (export "start") (param i64) (result i64)
    (return_call $wide (local.get 0) (i64.const 2) (i64.const 3) (i64.const 4)
      (i64.const 5) (i64.const 6) (i64.const 7) (i64.const 8) (i64.const 9) (i64.const 10)
      (f64.const 11) (f64.const 12) (f64.const 13) (f64.const 14) (f64.const 15)
      (f64.const 16) (f64.const 17) (f64.const 18) (f64.const 19) (f64.const 20)))
  (func $wide (export "wide") (type $wide) {wide_body})
  ;; 8 i64 parameters: 4 on the stack.
  (func $narrow (param i64 i64 i64 i64 i64 i64 i64 i64) (result i64)
    (return_call $finish (i64.add (i64.add (local.get 0) (local.get 7))
                                  (i64.mul (local.get 6) (i64.const {salt})))))
  (func $finish (param i64) (result i64)
    (i64.add (local.get 0) (i64.const 1000000))))"#
    )
}

/// What the chain computes for `start(x)` ending in a module salted `s`:
/// the last `wide` sees x+1 (the first module's `wide` adds one before
/// forwarding), 2..=10 and 11.0..=20.0, and passes its mix and 7..=13 on.
fn chain_expected(x: i64, s: i64) -> i64 {
    let mix: i64 = (x + 1) + (2..=10).sum::<i64>() + (11..=20).sum::<i64>();
    let narrow = (s + mix) + 13 + 12 * s;
    narrow + 1_000_000
}

#[test]
fn stack_arguments_grow_and_shrink_across_backends() {
    let engine = Engine::default();
    for &first in BackendKind::available() {
        for &second in BackendKind::available() {
            println!("{first} -> {second}");
            let mut store = Store::new(&engine, ());
            // The second module's import is never called: give it a dummy.
            let ty = FuncType::new(
                &engine,
                (0..10)
                    .map(|_| ValType::I64)
                    .chain((0..10).map(|_| ValType::F64)),
                [ValType::I64],
            );
            let dummy = Func::new(&mut store, ty, |_, _, _| unreachable!("not called"));
            let m2 = Module::with_backend(&engine, chain_wat(3, true), second).unwrap();
            let i2 = Instance::new(&mut store, &m2, &[dummy.into()]).unwrap();
            let wide2 = i2.get_func(&mut store, "wide").unwrap();
            let m1 = Module::with_backend(&engine, chain_wat(5, false), first).unwrap();
            let i1 = Instance::new(&mut store, &m1, &[wide2.into()]).unwrap();
            for x in [0, 41, -7] {
                assert_eq!(
                    call_i64(&mut store, i1, "start", &[Val::I64(x)]),
                    chain_expected(x, 3),
                    "start({x})"
                );
            }
        }
    }
}

#[test]
fn tail_calls_pass_a_return_area_through() {
    // 10 i64 and 10 f64 results: 2 and 2 in the return area.
    let r = "i64 ".repeat(10) + &"f64 ".repeat(10);
    let produce = (0..10)
        .map(|i| format!("(i64.add (local.get 0) (i64.const {i})) "))
        .chain(
            (0..10)
                .map(|i| format!("(f64.convert_i64_s (i64.mul (local.get 0) (i64.const {i}))) ")),
        )
        .collect::<String>();
    let wat = format!(
        r#"(module
  (type $many (func (param i64) (result {r})))
  (import "other" "produce" (func $other (type $many)))
  (func $produce (export "produce") (type $many) {produce})
  (func $via (type $many) (return_call $produce (i64.add (local.get 0) (i64.const 1))))
  (func (export "local") (type $many) (return_call $via (local.get 0)))
  (func (export "import") (type $many) (return_call $other (local.get 0))))"#
    );
    let engine = Engine::default();
    for &first in BackendKind::available() {
        for &second in BackendKind::available() {
            println!("{first} -> {second}");
            let mut store = Store::new(&engine, ());
            let ty = FuncType::new(
                &engine,
                [ValType::I64],
                (0..10)
                    .map(|_| ValType::I64)
                    .chain((0..10).map(|_| ValType::F64)),
            );
            let dummy = Func::new(&mut store, ty, |_, _, _| unreachable!("not called"));
            let m2 = Module::with_backend(&engine, &wat, second).unwrap();
            let i2 = Instance::new(&mut store, &m2, &[dummy.into()]).unwrap();
            let produce = i2.get_func(&mut store, "produce").unwrap();
            let m1 = Module::with_backend(&engine, &wat, first).unwrap();
            let i1 = Instance::new(&mut store, &m1, &[produce.into()]).unwrap();
            for (name, x) in [("local", 100), ("import", 99)] {
                let f = i1.get_func(&mut store, name).unwrap();
                let mut out = vec![Val::I64(0); 20];
                f.call(&mut store, &[Val::I64(99)], &mut out).unwrap();
                for i in 0..10i64 {
                    assert_eq!(out[i as usize].i64(), Some(x + i), "{name} result {i}");
                    assert_eq!(
                        out[10 + i as usize].f64(),
                        Some((x * i) as f64),
                        "{name} result {}",
                        10 + i
                    );
                }
            }
        }
    }
}

#[test]
fn tail_calls_to_host_functions_return_to_the_original_caller() {
    let p = wide_params();
    let wat = format!(
        r#"(module
  (type $add (func (param i32 i32) (result i32)))
  (type $wide (func (param {p}) (result i64)))
  (import "host" "add" (func $add (type $add)))
  (import "host" "wide" (func $wide (type $wide)))
  (table 2 funcref)
  (elem (i32.const 0) $add $wide)
  (elem declare func $add)
  (func (export "direct") (param i32) (result i32)
    (return_call $add (local.get 0) (i32.const 1)))
  (func (export "indirect") (param i32) (result i32)
    (return_call_indirect (type $add) (local.get 0) (i32.const 2) (i32.const 0)))
  (func (export "by_ref") (param i32) (result i32)
    (return_call_ref $add (local.get 0) (i32.const 3) (ref.func $add)))
  ;; A caller with no stack arguments reaches a host function with many.
  (func $grow (param i64) (result i64)
    (return_call $wide (local.get 0) (i64.const 1) (i64.const 1) (i64.const 1) (i64.const 1)
      (i64.const 1) (i64.const 1) (i64.const 1) (i64.const 1) (i64.const 1)
      (f64.const 1) (f64.const 1) (f64.const 1) (f64.const 1) (f64.const 1)
      (f64.const 1) (f64.const 1) (f64.const 1) (f64.const 1) (f64.const 2.5)))
  ;; The original caller checks its frame survived: the result is used.
  (func (export "wide") (param i64) (result i64)
    (i64.mul (call $grow (local.get 0)) (i64.const 2))))"#
    );
    let engine = Engine::default();
    each_backend(|kind| {
        let module = Module::with_backend(&engine, &wat, kind).unwrap();
        let mut store = Store::new(&engine, ());
        let add = Func::wrap(&mut store, |a: i32, b: i32| a * 100 + b);
        let ty = FuncType::new(
            &engine,
            (0..10)
                .map(|_| ValType::I64)
                .chain((0..10).map(|_| ValType::F64)),
            [ValType::I64],
        );
        let wide = Func::new(&mut store, ty, |_, args, results| {
            let ints: i64 = args[..10].iter().map(|v| v.i64().unwrap()).sum();
            let floats: f64 = args[10..].iter().map(|v| v.f64().unwrap()).sum();
            results[0] = Val::I64(ints * 1000 + (floats * 10.0) as i64);
            Ok(())
        });
        let i = Instance::new(&mut store, &module, &[add.into(), wide.into()]).unwrap();
        for (name, b) in [("direct", 1), ("indirect", 2), ("by_ref", 3)] {
            let f = i.get_typed_func::<i32, i32>(&mut store, name).unwrap();
            assert_eq!(f.call(&mut store, 7).unwrap(), 700 + b, "{name}");
        }
        let f = i.get_typed_func::<i64, i64>(&mut store, "wide").unwrap();
        // ints: 5 + 9, floats: 9 + 2.5 -> (14 * 1000 + 115) * 2.
        assert_eq!(f.call(&mut store, 5).unwrap(), (14 * 1000 + 115) * 2);
    });
}

/// A bytecode interpreter in the `musttail` style: each handler reads the
/// next opcode and `return_call_indirect`s its handler. Program: a loop
/// that adds `i` to an accumulator `n` times.
const DISPATCH: &str = r#"(module
  (memory 1)
  ;; opcodes: 0 halt, 1 acc += i, 2 i += 1, 3 if i < n goto 0
  (data (i32.const 0) "\01\02\03\00")
  (type $h (func (param i32 i64 i64 i64) (result i64)))
  (table 4 funcref)
  (elem (i32.const 0) $halt $add $inc $loop)
  (func $next (param $pc i32) (param $acc i64) (param $i i64) (param $n i64) (result i64)
    (return_call_indirect (type $h) (local.get $pc) (local.get $acc) (local.get $i)
      (local.get $n) (i32.load8_u (local.get $pc))))
  (func $halt (type $h) (local.get 1))
  (func $add (type $h)
    (return_call $next (i32.add (local.get 0) (i32.const 1))
      (i64.add (local.get 1) (local.get 2)) (local.get 2) (local.get 3)))
  (func $inc (type $h)
    (return_call $next (i32.add (local.get 0) (i32.const 1))
      (local.get 1) (i64.add (local.get 2) (i64.const 1)) (local.get 3)))
  (func $loop (type $h)
    (return_call $next
      (select (i32.const 0) (i32.add (local.get 0) (i32.const 1))
        (i64.lt_u (local.get 2) (local.get 3)))
      (local.get 1) (local.get 2) (local.get 3)))
  (func (export "run") (param i64) (result i64)
    (call $next (i32.const 0) (i64.const 0) (i64.const 0) (local.get 0))))"#;

#[test]
fn a_return_call_indirect_dispatch_loop_runs_a_program() {
    let engine = Engine::default();
    each_backend(|kind| {
        let (mut store, i) = instance(&engine, DISPATCH, kind);
        let n = 1_000_000i64;
        // acc = 0 + 1 + ... + (n-1): the last `add` runs with i = n - 1.
        assert_eq!(
            call_i64(&mut store, i, "run", &[Val::I64(n)]),
            (0..n).sum::<i64>()
        );
    });
}

#[test]
fn tail_calls_use_the_same_fuel_on_both_backends() {
    let mut fuel_left = Vec::new();
    for &kind in BackendKind::available() {
        let mut config = Config::new();
        config.consume_fuel(true).backend(kind);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, DISPATCH).unwrap();
        let mut store = Store::new(&engine, ());
        store.set_fuel(10_000_000).unwrap();
        let i = Instance::new(&mut store, &module, &[]).unwrap();
        let run = i.get_typed_func::<i64, i64>(&mut store, "run").unwrap();
        assert_eq!(run.call(&mut store, 1000).unwrap(), (0..1000).sum::<i64>());
        fuel_left.push(store.get_fuel().unwrap());
        // Running out inside the loop traps instead of running on.
        store.set_fuel(5000).unwrap();
        let err = run.call(&mut store, 1000).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::OutOfFuel));
    }
    assert!(fuel_left.windows(2).all(|w| w[0] == w[1]), "{fuel_left:?}");
}

#[test]
fn a_trap_after_a_tail_call_has_no_frame_for_the_replaced_caller() {
    let wat = r#"(module
      (func $inner (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
      (func $replaced (param i32) (result i32) (return_call $inner (local.get 0)))
      (func $outer (export "outer") (param i32) (result i32)
        (i32.add (call $replaced (local.get 0)) (i32.const 1))))"#;
    let engine = Engine::default();
    each_backend(|kind| {
        let (mut store, i) = instance(&engine, wat, kind);
        let outer = i.get_typed_func::<i32, i32>(&mut store, "outer").unwrap();
        assert_eq!(outer.call(&mut store, 1).unwrap(), 2);
        let err = outer.call(&mut store, 0).unwrap_err();
        assert_eq!(
            err.downcast_ref::<Trap>(),
            Some(&Trap::IntegerDivisionByZero)
        );
        let names: Vec<_> = err
            .downcast_ref::<WasmBacktrace>()
            .expect("a backtrace")
            .frames()
            .iter()
            .map(|f| f.func_name().unwrap_or("?").to_string())
            .collect();
        assert_eq!(names, ["inner", "outer"]);
    });
}

/// 40 i64 parameters: 36 on the stack, more than the baseline copies
/// without a loop.
fn rotate_wat() -> String {
    let params = "i64 ".repeat(40);
    let rotated = (2..40)
        .map(|i| format!("(local.get {i}) "))
        .collect::<String>()
        + "(local.get 1)";
    let sum = (1..40).fold(String::from("(i64.const 0)"), |acc, i| {
        format!("(i64.add {acc} (local.get {i}))")
    });
    let start_args = (1..40)
        .map(|i| format!("(i64.const {i}) "))
        .collect::<String>();
    format!(
        r#"(module
  (type $big (func (param {params}) (result i64)))
  (import "other" "rotate" (func $other (type $big)))
  (func $rotate (export "rotate") (type $big)
    (if (result i64) (i64.eqz (local.get 0))
      (then (return_call $double {sum}))
      (else (return_call $rotate (i64.sub (local.get 0) (i64.const 1)) {rotated}))))
  (func $double (param i64) (result i64) (i64.mul (local.get 0) (i64.const 2)))
  (func (export "local") (param i64) (result i64) (return_call $rotate (local.get 0) {start_args}))
  (func (export "import") (param i64) (result i64) (return_call $other (local.get 0) {start_args})))"#
    )
}

#[test]
fn hundreds_of_bytes_of_stack_arguments_move_with_a_tail_call() {
    let engine = Engine::default();
    for &first in BackendKind::available() {
        for &second in BackendKind::available() {
            println!("{first} -> {second}");
            let mut store = Store::new(&engine, ());
            let ty = FuncType::new(&engine, [ValType::I64; 40], [ValType::I64]);
            let dummy = Func::new(&mut store, ty, |_, _, _| unreachable!("not called"));
            let m2 = Module::with_backend(&engine, rotate_wat(), second).unwrap();
            let i2 = Instance::new(&mut store, &m2, &[dummy.into()]).unwrap();
            let rotate = i2.get_func(&mut store, "rotate").unwrap();
            let m1 = Module::with_backend(&engine, rotate_wat(), first).unwrap();
            let i1 = Instance::new(&mut store, &m1, &[rotate.into()]).unwrap();
            for name in ["local", "import"] {
                for n in [0, 1, 39, 1000] {
                    // Rotations keep the sum 1 + ... + 39 = 780.
                    assert_eq!(
                        call_i64(&mut store, i1, name, &[Val::I64(n)]),
                        1560,
                        "{name}({n})"
                    );
                }
            }
        }
    }
}
