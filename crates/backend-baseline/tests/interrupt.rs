//! Fuel and epoch checks at loop headers that carry values (one parameter
//! in a register, several in stack slots), and in functions with many
//! locals and stack arguments: both backends must compute the same results,
//! use the same fuel and run out at the same loop header; with epoch
//! checks too, run unchanged before the deadline and trap once it is
//! reached.

mod common;

use common::{Outcome, call, instantiate};
use tandem_store::{BackendKind, Config, Engine, Val};

/// Loops whose headers hold values: `sum_i`/`sum_f` carry one parameter
/// (in a register), `pair` two (in slots), `wide` has stack arguments;
/// `negated` branches on `i32.eqz` of comparisons.
const LOOPS: &str = r#"(module
  (func (export "sum_i") (param i32) (result i32)
    (local.get 0)
    (loop (param i32) (result i32)
      (i32.add (local.get 0))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br_if 0 (i32.gt_s (local.get 0) (i32.const 0)))))
  (func (export "sum_f") (param i32) (result f64)
    (f64.const 0.5)
    (loop (param f64) (result f64)
      (f64.add (f64.const 1.25))
      (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))
      (br_if 0)))
  (func (export "pair") (param i32) (result i64 f32) (local f32)
    (i64.const 1) (f32.const 2)
    (loop (param i64 f32) (result i64 f32)
      (f32.mul (f32.const 1.5))
      (local.set 1)
      (i64.mul (i64.const 3))
      (local.get 1)
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br_if 0 (local.get 0))))
  (func $wide (param i32 i32 i32 i32 i32 i32 i32 i32 i64 i64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64) (result i64)
    (local i64)
    (loop
      (local.set 20 (i64.add (local.get 20) (local.get 8)))
      (br_if 0 (local.tee 7 (i32.sub (local.get 7) (i32.const 1)))))
    (i64.add (local.get 20) (i64.trunc_f64_s (local.get 19))))
  (func (export "negated") (param i32) (result i32) (local i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.gt_s (local.get 0) (i32.const 0))))
        (local.set 1 (i32.add (local.get 1) (local.get 0)))
        (if (i32.eqz (i32.eqz (i32.and (local.get 0) (i32.const 1))))
          (then (local.set 1 (i32.add (local.get 1) (i32.const 100)))))
        (if (i32.eqz (i32.lt_s (i32.const 3) (i32.const 2)))
          (then (local.set 1 (i32.add (local.get 1) (i32.const 7)))))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br $next)))
    (local.get 1))
  (func (export "wide") (param i32) (result i64)
    (call $wide (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4) (i32.const 5)
      (i32.const 6) (i32.const 7) (local.get 0) (i64.const 9) (i64.const 10)
      (f64.const 1) (f64.const 2) (f64.const 3) (f64.const 4) (f64.const 5)
      (f64.const 6) (f64.const 7) (f64.const 8) (f64.const 9) (f64.const 10)))
)"#;

/// The exports of [`LOOPS`].
const EXPORTS: [&str; 5] = ["sum_i", "sum_f", "pair", "negated", "wide"];

/// An engine with fuel and/or epoch checks.
fn engine(fuel: bool, epochs: bool) -> Engine {
    let mut config = Config::new();
    config.consume_fuel(fuel).epoch_interruption(epochs);
    Engine::new(&config).unwrap()
}

/// Runs `name(n)` on `backend` with `fuel`: the outcome and the fuel left.
fn fueled(engine: &Engine, backend: BackendKind, name: &str, n: i32, fuel: u64) -> (Outcome, u64) {
    let (mut store, instance) = instantiate(engine, LOOPS, backend);
    store.set_fuel(fuel).unwrap();
    let outcome = call(&mut store, instance, name, &[Val::I32(n)]);
    (outcome, store.get_fuel().unwrap())
}

#[test]
fn loop_values_survive_fuel_checks_and_fuel_agrees() {
    let engine = engine(true, false);
    for name in EXPORTS {
        for n in [1, 2, 7] {
            let run = |fuel| {
                (
                    fueled(&engine, BackendKind::Cranelift, name, n, fuel),
                    fueled(&engine, BackendKind::Baseline, name, n, fuel),
                )
            };
            let (cl, bl) = run(1 << 30);
            assert_eq!(cl, bl, "{name}({n})");
            assert!(matches!(cl.0, Outcome::Values(_)), "{name}({n}): {cl:?}");
            let used = (1 << 30) - cl.1;
            // Every amount up to the total: the same header runs out.
            for fuel in 0..=used {
                let (cl, bl) = run(fuel);
                assert_eq!(cl, bl, "{name}({n}) with {fuel}");
            }
        }
    }
}

#[test]
fn loop_values_survive_epoch_checks() {
    let engine = engine(true, true);
    for name in EXPORTS {
        for backend in [BackendKind::Cranelift, BackendKind::Baseline] {
            let (mut store, instance) = instantiate(&engine, LOOPS, backend);
            store.set_fuel(1 << 30).unwrap();
            store.set_epoch_deadline(1);
            let done = call(&mut store, instance, name, &[Val::I32(5)]);
            assert!(matches!(done, Outcome::Values(_)), "{backend} {name}");
            engine.increment_epoch();
            let stopped = call(&mut store, instance, name, &[Val::I32(5)]);
            assert_eq!(
                stopped,
                Outcome::Trap(tandem_store::TrapCode::Interrupt.message().to_string()),
                "{backend} {name}"
            );
        }
    }
}
