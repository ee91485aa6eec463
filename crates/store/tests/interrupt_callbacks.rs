//! Fuel and epoch callbacks: Wasm that runs out of fuel or reaches its epoch
//! deadline asks the store's callback, which may refuel, move the deadline,
//! re-enter the store, fail or panic; Wasm resumes with every local intact,
//! and the number of callbacks is the same on every backend.

mod common;
use common::{each_backend, engine, frames, trap_code};
use proptest::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};
use tandem_store::{
    BackendKind, Engine, Instance, Module, Store, Trap, TypedFunc, UpdateDeadline, format_err,
};

/// `mix` keeps integer and float locals live across every loop header,
/// where the check points (and so the callbacks) are.
const WAT: &str = r#"(module
  (func (export "mix") (param $n i32) (result i64)
    (local $a i64) (local $b i64) (local $c i64) (local $x f64) (local $y f64) (local $i i32)
    (local.set $a (i64.const 1))
    (local.set $b (i64.const 2))
    (local.set $c (i64.const 3))
    (local.set $x (f64.const 0.5))
    (local.set $y (f64.const 1.5))
    (loop $l
      (local.set $a (i64.add (local.get $a) (local.get $b)))
      (local.set $b (i64.xor (local.get $b) (i64.shl (local.get $a) (i64.const 1))))
      (local.set $c (i64.add (local.get $c) (i64.extend_i32_u (local.get $i))))
      (local.set $x (f64.add (local.get $x) (local.get $y)))
      (local.set $y (f64.mul (local.get $y) (f64.const 1.0001)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i64.add
      (i64.add (local.get $a) (local.get $b))
      (i64.add (local.get $c) (i64.trunc_f64_s (local.get $x)))))
  (func (export "inc") (param i32) (result i32)
    (i32.add (local.get 0) (i32.const 1)))
)"#;

/// Iterations of `mix` in every test.
const N: i32 = 1000;

/// Host state: callbacks so far, and `inc` for re-entering Wasm.
#[derive(Default)]
struct Host {
    calls: u64,
    inc: Option<TypedFunc<i32, i32>>,
    inc_results: Vec<i32>,
}

/// A store with an instance of [`WAT`], and its `mix`.
fn instantiate(engine: &Engine) -> (Store<Host>, TypedFunc<i32, i64>) {
    let module = Module::new(engine, WAT).unwrap();
    let mut store = Store::new(engine, Host::default());
    if store.get_fuel().is_ok() {
        // Fuel is metered: plenty, so only the tests' own limits bite.
        store.set_fuel(u64::MAX).unwrap();
    }
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let inc = instance.get_typed_func(&mut store, "inc").unwrap();
    store.data_mut().inc = Some(inc);
    let mix = instance.get_typed_func(&mut store, "mix").unwrap();
    (store, mix)
}

/// `mix(n)` with nothing interrupting it.
fn unmetered_mix(n: i32) -> i64 {
    let kind = BackendKind::available()[0];
    let (mut store, mix) = instantiate(&engine(kind, false, false));
    mix.call(&mut store, n).unwrap()
}

/// Runs `mix(n)` on each backend from an empty store refilled `refill`
/// units at a time. Checks that the result is the unmetered one and that
/// every unit added was used or is left (the code after the last check
/// point may overdraw, which is not owed); returns each backend's fuel
/// cost of `mix(n)` and number of refills.
fn run_with_refills(n: i32, refill: u64) -> Vec<(u64, u64)> {
    let unmetered = unmetered_mix(n);
    let mut runs = Vec::new();
    each_backend(true, false, |engine| {
        let (mut store, mix) = instantiate(engine);
        store.set_fuel(1 << 40).unwrap();
        mix.call(&mut store, n).unwrap();
        let cost = (1 << 40) - store.get_fuel().unwrap();

        store.set_fuel(0).unwrap();
        store.out_of_fuel_callback(move |store| {
            store.data_mut().calls += 1;
            Ok(refill)
        });
        assert_eq!(mix.call(&mut store, n).unwrap(), unmetered);
        let calls = store.data().calls;
        let balance = (calls * refill) as i64 - cost as i64;
        let left = store.get_fuel().unwrap() as i64;
        assert!(
            balance == left || (left == 0 && balance > -(refill as i64)),
            "{balance} vs {left}"
        );
        runs.push((cost, calls));
    });
    runs
}

/// [`instantiate`], with the epoch deadline passed and a callback that
/// counts its calls, gives `on_call` the count (it may fail or panic), and
/// leaves the deadline passed: so it runs at every check point.
fn callback_at_every_check_point(
    engine: &Engine,
    on_call: impl Fn(u64) -> tandem_store::Result<()> + Send + 'static,
) -> (Store<Host>, TypedFunc<i32, i64>) {
    let (mut store, mix) = instantiate(engine);
    store.set_epoch_deadline(0);
    store.epoch_deadline_callback(move |store| {
        store.data_mut().calls += 1;
        on_call(store.data().calls)?;
        Ok(UpdateDeadline::Continue(0))
    });
    (store, mix)
}

#[test]
fn epoch_callback_at_every_check_point_keeps_locals_intact() {
    let expected = unmetered_mix(N);
    each_backend(false, true, |engine| {
        let (mut store, mix) = callback_at_every_check_point(engine, |_| Ok(()));
        assert_eq!(mix.call(&mut store, N).unwrap(), expected);
        // Function entry, loop entry, and N - 1 branches back.
        assert_eq!(store.data().calls, N as u64 + 1);
    });
}

#[test]
fn epoch_callback_continue_moves_the_deadline() {
    each_backend(false, true, |engine| {
        let (mut store, mix) = instantiate(engine);
        store.set_epoch_deadline(0);
        let ticker = engine.clone();
        store.epoch_deadline_callback(move |store| {
            store.data_mut().calls += 1;
            // Two ticks from now; the next check point's tick makes one.
            ticker.increment_epoch();
            Ok(UpdateDeadline::Continue(2))
        });
        mix.call(&mut store, N).unwrap();
        assert_eq!(
            store.data().calls,
            1,
            "no further tick reached the deadline"
        );
    });
}

#[test]
fn out_of_fuel_callback_refuels_and_accounting_stays_exact() {
    let runs = run_with_refills(N, 100);
    for &(cost, refills) in &runs {
        assert!(refills >= cost / 100, "{refills} refills for {cost} fuel");
    }
    assert!(runs.windows(2).all(|w| w[0] == w[1]), "{runs:?}");
}

#[test]
fn too_little_fuel_from_the_callback_traps() {
    each_backend(true, false, |engine| {
        let (mut store, mix) = instantiate(engine);
        store.set_fuel(50).unwrap();
        store.out_of_fuel_callback(|store| {
            store.data_mut().calls += 1;
            Ok(0)
        });
        assert_eq!(trap_code(mix.call(&mut store, N)), Trap::OutOfFuel);
        assert_eq!(store.data().calls, 1);
        // Back to trapping without asking.
        store.out_of_fuel_trap();
        assert_eq!(trap_code(mix.call(&mut store, N)), Trap::OutOfFuel);
        assert_eq!(store.data().calls, 1);
        store.set_fuel(1 << 40).unwrap();
        assert!(mix.call(&mut store, N).is_ok());
    });
}

#[test]
fn callback_error_fails_the_call_and_the_store_recovers() {
    let expected = unmetered_mix(N);
    each_backend(true, true, |engine| {
        let (mut store, mix) = callback_at_every_check_point(engine, |calls| match calls {
            5 => Err(format_err!("time slice used up")),
            _ => Ok(()),
        });
        let err = mix.call(&mut store, N).unwrap_err();
        assert!(err.downcast_ref::<Trap>().is_none(), "{err:?}");
        assert_eq!(err.root_cause().to_string(), "time slice used up");
        assert!(!frames(&err).is_empty(), "the error has a Wasm backtrace");
        assert_eq!(store.data().calls, 5);

        store.epoch_deadline_trap();
        assert_eq!(trap_code(mix.call(&mut store, N)), Trap::Interrupt);
        store.set_epoch_deadline(u64::MAX / 2);
        assert_eq!(mix.call(&mut store, N).unwrap(), expected);
    });
}

#[test]
fn callback_panic_resumes_in_the_caller_and_the_store_recovers() {
    let expected = unmetered_mix(N);
    each_backend(false, true, |engine| {
        let (mut store, mix) = callback_at_every_check_point(engine, |calls| {
            if calls == 3 {
                panic!("callback gave up");
            }
            Ok(())
        });
        let panic = catch_unwind(AssertUnwindSafe(|| mix.call(&mut store, N))).unwrap_err();
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"callback gave up"));
        // The callback is still installed after its panic.
        store.data_mut().calls = 10;
        store.set_epoch_deadline(0);
        assert_eq!(mix.call(&mut store, N).unwrap(), expected);
        assert_eq!(store.data().calls, 10 + N as u64 + 1);
    });
}

#[test]
fn callback_may_call_wasm_in_the_same_store() {
    let expected = unmetered_mix(N);
    each_backend(true, true, |engine| {
        let (mut store, mix) = instantiate(engine);
        store.set_epoch_deadline(0);
        store.epoch_deadline_callback(|store| {
            // The deadline has passed, and this callback is not installed
            // while it runs: move the deadline before calling Wasm.
            store.set_epoch_deadline(1);
            let inc = store.data().inc.unwrap();
            let calls = store.data().calls as i32;
            let next = inc.call(&mut *store, calls)?;
            store.data_mut().inc_results.push(next);
            store.data_mut().calls += 1;
            Ok(UpdateDeadline::Continue(0))
        });
        assert_eq!(mix.call(&mut store, N).unwrap(), expected);
        let results = &store.data().inc_results;
        assert_eq!(results.len(), N as usize + 1);
        assert!(results.iter().enumerate().all(|(i, &r)| r == i as i32 + 1));
    });
}

#[test]
fn a_callback_that_replaces_itself_is_not_put_back() {
    each_backend(false, true, |engine| {
        let (mut store, mix) = instantiate(engine);
        store.set_epoch_deadline(0);
        store.epoch_deadline_callback(|store| {
            store.data_mut().calls += 1;
            store.epoch_deadline_callback(|store| {
                store.data_mut().calls += 100;
                Ok(UpdateDeadline::Continue(0))
            });
            Ok(UpdateDeadline::Continue(0))
        });
        mix.call(&mut store, 3).unwrap();
        // The first check point ran the original, the other three its
        // replacement.
        assert_eq!(store.data().calls, 1 + 3 * 100);
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// However the fuel arrives (any refill larger than one loop iteration
    /// costs), `mix` computes the same value, every unit added is used or
    /// left, and both backends ask for the same number of refills.
    #[test]
    fn refill_size_changes_nothing_but_the_number_of_refills(
        n in 1i32..200,
        refill in 64u64..5000,
    ) {
        let runs = run_with_refills(n, refill);
        prop_assert!(runs.windows(2).all(|w| w[0] == w[1]), "{runs:?}");
    }
}
