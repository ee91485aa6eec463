//! Exact fuel and epoch-check placement, on every backend this build has.
//!
//! Fuel: what each kind of control flow costs (the totals every backend
//! must reproduce, see `Tunables::consume_fuel`), and where the checks are,
//! pinned by trap boundaries: with exactly enough fuel for the last check
//! point a call completes, with one unit less it traps with `OutOfFuel`.
//!
//! Epochs: a host import advances the epoch at a chosen point, and the
//! globals the code writes show that the very next check point (function
//! entry or loop header, nowhere else) traps with `Interrupt`.

mod common;
use common::each_backend;
use tandem_store::{
    Engine, Error, Func, Instance, Module, Store, Trap as TrapCode, Val, WasmBacktrace,
};

/// Functions whose fuel costs are counted by hand in the tests.
const FUNCS: &str = r#"(module
  (global $marked (export "marked") (mut i32) (i32.const 0))
  (func $inc (export "inc") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add)
  (func (export "straight") (result i32)
    nop i32.const 1 i32.const 2 i32.add drop i32.const 3)
  (func (export "calls") (result i32)
    i32.const 0 call $inc call $inc)
  (func (export "indirect") (result i32)
    i32.const 0 i32.const 0 call_indirect (param i32) (result i32))
  (func $count (export "count") (param i32) (local i32)
    (loop
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if 0 (i32.lt_u (local.get 1) (local.get 0)))))
  (func (export "choose") (param i32) (result i32)
    (if (result i32) (local.get 0) (then (i32.const 1)) (else (i32.const 2) (i32.const 3) (i32.add))))
  (func (export "early") (param i32) (result i32)
    (block (br_if 0 (local.get 0)) (return (i32.const 7)))
    (block (block (br_table 0 1 (local.get 0))))
    i32.const 9)
  (func (export "nested") (param i32 i32) (local i32 i32)
    (loop $outer
      (local.set 3 (i32.const 0))
      (loop $inner
        (local.set 3 (i32.add (local.get 3) (i32.const 1)))
        (br_if $inner (i32.lt_u (local.get 3) (local.get 1))))
      (local.set 2 (i32.add (local.get 2) (i32.const 1)))
      (br_if $outer (i32.lt_u (local.get 2) (local.get 0)))))
  (func $down (export "down") (param i32)
    (if (local.get 0) (then (call $down (i32.sub (local.get 0) (i32.const 1))))))
  (func $mark (export "mark")
    (global.set $marked (i32.const 1)))
  (table 1 funcref)
  (elem (i32.const 0) $inc)
)"#;

/// Functions that call the `tick` import (which advances the engine's
/// epoch) at a point chosen by their arguments, recording their progress in
/// globals.
const TICKING: &str = r#"(module
  (import "host" "tick" (func $tick))
  (global $iters (export "iters") (mut i32) (i32.const 0))
  (global $outer_iters (export "outer_iters") (mut i32) (i32.const 0))
  (global $entered (export "entered") (mut i32) (i32.const 0))
  ;; `n` iterations, ticking in iteration `k` (counted from 1; 0: never).
  (func $count (export "count") (param $n i32) (param $k i32) (local $i i32)
    (global.set $iters (i32.const 0))
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (global.set $iters (local.get $i))
      (if (i32.eq (local.get $i) (local.get $k)) (then (call $tick)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func $mark (param i32)
    (global.set $entered (local.get 0)))
  (func $calls (export "calls")
    (call $mark (i32.const 1))
    (call $tick)
    (call $mark (i32.const 2)))
  ;; Recurses from depth `n` down to 0, ticking at depth `k`.
  (func $down (export "down") (param $n i32) (param $k i32)
    (global.set $entered (local.get $n))
    (if (i32.eq (local.get $n) (local.get $k)) (then (call $tick)))
    (if (local.get $n)
      (then (call $down (i32.sub (local.get $n) (i32.const 1)) (local.get $k)))))
  ;; `n` outer iterations of `m` inner ones, ticking in inner iteration
  ;; `tj` of outer iteration `ti` (both counted from 1).
  (func $nested (export "nested") (param $n i32) (param $m i32) (param $ti i32) (param $tj i32)
    (local $i i32) (local $j i32)
    (loop $outer
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (global.set $outer_iters (local.get $i))
      (local.set $j (i32.const 0))
      (loop $inner
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (global.set $iters (local.get $j))
        (if (i32.and (i32.eq (local.get $i) (local.get $ti)) (i32.eq (local.get $j) (local.get $tj)))
          (then (call $tick)))
        (br_if $inner (i32.lt_u (local.get $j) (local.get $m))))
      (br_if $outer (i32.lt_u (local.get $i) (local.get $n)))))
)"#;

/// Fuel given to calls that are not meant to run out.
const PLENTY: u64 = 1 << 40;

/// An instance and the store it lives in.
struct Wasm {
    store: Store<()>,
    instance: Instance,
}

impl Wasm {
    /// Instantiates [`FUNCS`].
    fn funcs(engine: &Engine) -> Wasm {
        let module = Module::new(engine, FUNCS).unwrap();
        let mut store = Store::new(engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        Wasm { store, instance }
    }

    /// Instantiates [`TICKING`], its `tick` advancing `engine`'s epoch.
    fn ticking(engine: &Engine) -> Wasm {
        let module = Module::new(engine, TICKING).unwrap();
        let mut store = Store::new(engine, ());
        let ticker = engine.clone();
        let tick = Func::wrap(&mut store, move || ticker.increment_epoch());
        let instance = Instance::new(&mut store, &module, &[tick.into()]).unwrap();
        Wasm { store, instance }
    }

    /// Calls export `name` with `args`, returning its results.
    fn call(&mut self, name: &str, args: &[i32]) -> Result<Vec<Val>, Error> {
        let func = self
            .instance
            .get_func(&mut self.store, name)
            .unwrap_or_else(|| panic!("no function export {name}"));
        let params: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
        let mut results = vec![Val::I32(0); func.ty(&self.store).results().len()];
        func.call(&mut self.store, &params, &mut results)?;
        Ok(results)
    }

    /// Calls `name` with plenty of fuel and returns what the call used.
    fn fuel_used(&mut self, name: &str, args: &[i32]) -> u64 {
        self.store.set_fuel(PLENTY).unwrap();
        self.call(name, args)
            .unwrap_or_else(|e| panic!("{name}{args:?}: {e}"));
        PLENTY - self.store.get_fuel().unwrap()
    }

    /// Calls `name` with exactly `fuel`: `Ok` if it completed, or the trap
    /// code (with the innermost frame's function name) if it trapped.
    fn with_fuel(
        &mut self,
        fuel: u64,
        name: &str,
        args: &[i32],
    ) -> Result<(), (TrapCode, Option<String>)> {
        self.store.set_fuel(fuel).unwrap();
        self.call(name, args).map(drop).map_err(trap_of)
    }

    /// Calls `name` with a deadline one tick away: `Ok` if it completed, or
    /// the trap code and the names of its frames, innermost first.
    fn with_deadline(
        &mut self,
        name: &str,
        args: &[i32],
    ) -> Result<(), (TrapCode, Vec<Option<String>>)> {
        self.store.set_epoch_deadline(1);
        self.call(name, args).map(drop).map_err(|err| {
            let code = *err
                .downcast_ref::<TrapCode>()
                .unwrap_or_else(|| panic!("expected a trap, got {err:?}"));
            let names = frames(&err).iter().map(|f| f.func_name.clone()).collect();
            (code, names)
        })
    }

    /// The value of the exported i32 global `name`.
    fn global(&mut self, name: &str) -> i32 {
        let global = self
            .instance
            .get_global(&mut self.store, name)
            .unwrap_or_else(|| panic!("no global export {name}"));
        global.get(&mut self.store).i32().expect("an i32 global")
    }

    /// Sets the exported i32 global `name`.
    fn set_global(&mut self, name: &str, value: i32) {
        let global = self.instance.get_global(&mut self.store, name).unwrap();
        global.set(&mut self.store, Val::I32(value)).unwrap();
    }
}

/// The trap code and innermost function name of a failed call.
fn trap_of(err: Error) -> (TrapCode, Option<String>) {
    let code = *err
        .downcast_ref::<TrapCode>()
        .unwrap_or_else(|| panic!("expected a trap, got {err:?}"));
    let innermost = frames(&err).first().and_then(|f| f.func_name.clone());
    (code, innermost)
}

/// The Wasm frames attached to a failed call's error, innermost first.
fn frames(err: &Error) -> &[tandem_store::FrameInfo] {
    err.downcast_ref::<WasmBacktrace>()
        .map_or(&[], WasmBacktrace::frames)
}

/// A trap with `code` in the function named `name`.
fn trapped(code: TrapCode, name: &str) -> Result<(), (TrapCode, Option<String>)> {
    Err((code, Some(name.to_string())))
}

#[test]
fn fuel_counts_every_executed_operator_once() {
    each_backend(true, false, |engine| {
        let mut i = Wasm::funcs(engine);
        // Entry 1 + 3 operators.
        assert_eq!(i.fuel_used("inc", &[5]), 4);
        // `nop` and `end` are free: entry 1 + 5.
        assert_eq!(i.fuel_used("straight", &[]), 6);
        // Entry 1 + const + 2 calls, each callee 4.
        assert_eq!(i.fuel_used("calls", &[]), 1 + 3 + 2 * 4);
        assert_eq!(i.fuel_used("indirect", &[]), 1 + 3 + 4);
        // Entry 1 + 8 operators per iteration.
        for n in [1, 2, 10, 1000] {
            assert_eq!(i.fuel_used("count", &[n]), 1 + 8 * n as u64);
        }
        // Entry 1 + local.get + if, then one arm (`else` and `end` are free).
        assert_eq!(i.fuel_used("choose", &[1]), 1 + 2 + 1);
        assert_eq!(i.fuel_used("choose", &[0]), 1 + 2 + 3);
        // Not taken: entry 1 + (local.get, br_if) + (i32.const, return).
        assert_eq!(i.fuel_used("early", &[0]), 1 + 2 + 2);
        // Taken: entry 1 + (local.get, br_if) + (local.get, br_table) + const.
        assert_eq!(i.fuel_used("early", &[1]), 1 + 2 + 2 + 1);
        // Recursion: per level that recurses, entry + 6 operators
        // (local.get, if, local.get, i32.const, i32.sub, call); the last
        // level is entry + 2.
        assert_eq!(i.fuel_used("down", &[5]), 5 * (1 + 6) + 1 + 2);
        // Outer: 2 (set 3) + 8 (increment and branch); inner: 8 per iteration.
        let (n, m) = (3u64, 4u64);
        assert_eq!(
            i.fuel_used("nested", &[n as i32, m as i32]),
            1 + n * (2 + 8 + 8 * m)
        );
        // The same call costs the same again.
        assert_eq!(i.fuel_used("count", &[10]), 81);
    });
}

#[test]
fn out_of_fuel_traps_at_function_entry() {
    each_backend(true, false, |engine| {
        let mut i = Wasm::funcs(engine);
        // A new store has no fuel: the entry check fires before anything
        // runs.
        assert_eq!(i.store.get_fuel().unwrap(), 0);
        assert_eq!(
            i.call("mark", &[]).map(drop).map_err(trap_of),
            trapped(TrapCode::OutOfFuel, "mark")
        );
        assert_eq!(i.global("marked"), 0);
        // Straight-line code is checked only at entry: one unit passes it
        // and the rest of the body (2 more) runs; the overshoot is not owed.
        assert_eq!(i.with_fuel(1, "mark", &[]), Ok(()));
        assert_eq!(i.global("marked"), 1);
        assert_eq!(i.store.get_fuel().unwrap(), 0);
        assert_eq!(i.with_fuel(1, "inc", &[5]), Ok(()));
        // Fuel given after running out is used exactly.
        i.store.set_fuel(10).unwrap();
        assert!(matches!(i.call("inc", &[1]).unwrap()[..], [Val::I32(2)]));
        assert_eq!(i.store.get_fuel().unwrap(), 10 - 4);
        // Every callee's entry is a check point: `down(n)` reaches its last
        // one (depth 0's entry) after 7 per level and 1 more.
        for n in [0, 1, 5] {
            let last_check = 7 * n as u64 + 1;
            assert_eq!(i.with_fuel(last_check, "down", &[n]), Ok(()), "{n}");
            assert_eq!(
                i.with_fuel(last_check - 1, "down", &[n]),
                trapped(TrapCode::OutOfFuel, "down"),
                "{n}"
            );
        }
    });
}

#[test]
fn out_of_fuel_traps_at_loop_headers() {
    each_backend(true, false, |engine| {
        let mut i = Wasm::funcs(engine);
        for n in [1, 2, 5, 10] {
            let total = 1 + 8 * n as u64;
            // Exactly enough fuel passes every check and leaves none.
            assert_eq!(i.with_fuel(total, "count", &[n]), Ok(()), "{n}");
            assert_eq!(i.store.get_fuel().unwrap(), 0);
            // The last check is the header of the last iteration: its body
            // (8) runs unchecked, so 8 units less still complete ...
            assert_eq!(i.with_fuel(total - 8, "count", &[n]), Ok(()), "{n}");
            assert_eq!(i.store.get_fuel().unwrap(), 0);
            // ... and one more unit less traps at that header.
            assert_eq!(
                i.with_fuel(total - 9, "count", &[n]),
                trapped(TrapCode::OutOfFuel, "count"),
                "{n}"
            );
            assert_eq!(i.store.get_fuel().unwrap(), 0);
        }
        // A loop cannot run past its fuel: a million iterations with fuel
        // for 100 run 101 (the 101st header sees exactly 0 left) and trap
        // at the 102nd header.
        assert_eq!(
            i.with_fuel(1 + 8 * 100, "count", &[1_000_000]),
            trapped(TrapCode::OutOfFuel, "count")
        );
    });
}

#[test]
fn epoch_checks_run_at_function_entry() {
    each_backend(false, true, |engine| {
        let mut i = Wasm::ticking(engine);
        // The deadline is already reached: the entry check traps before
        // anything runs.
        i.set_global("iters", 99);
        i.store.set_epoch_deadline(0);
        let err = i.call("count", &[10, 0]).unwrap_err();
        assert_eq!(
            trap_of(err),
            (TrapCode::Interrupt, Some("count".to_string()))
        );
        assert_eq!(i.global("iters"), 99);
        // Ticking between two calls: the second callee's entry traps.
        assert_eq!(
            i.with_deadline("calls", &[]),
            Err((
                TrapCode::Interrupt,
                vec![Some("mark".into()), Some("calls".into())]
            ))
        );
        assert_eq!(i.global("entered"), 1);
        // Recursion ticking at depth `k` traps on entry to depth `k - 1`.
        for k in 1..=6 {
            // Frames for depths 6 down to `k - 1`, all `down`.
            let (code, frames) = i.with_deadline("down", &[6, k]).unwrap_err();
            assert_eq!(code, TrapCode::Interrupt);
            assert_eq!(frames, vec![Some("down".to_string()); 6 - k as usize + 2]);
            assert_eq!(i.global("entered"), k, "{k}");
        }
        // Ticking at depth 0, which calls nothing more, passes no check.
        assert_eq!(i.with_deadline("down", &[6, 0]), Ok(()));
        assert_eq!(i.global("entered"), 0);
    });
}

#[test]
fn epoch_checks_run_at_every_loop_header() {
    each_backend(false, true, |engine| {
        let mut i = Wasm::ticking(engine);
        // Ticking in iteration `k` traps at the next header, before
        // iteration `k + 1` starts.
        for k in 1..10 {
            let result = i.with_deadline("count", &[10, k]);
            assert_eq!(result.map_err(|e| e.0), Err(TrapCode::Interrupt), "{k}");
            assert_eq!(i.global("iters"), k);
        }
        // Ticking in the last iteration: no header follows.
        assert_eq!(i.with_deadline("count", &[10, 10]), Ok(()));
        assert_eq!(i.global("iters"), 10);
        assert_eq!(i.with_deadline("count", &[10, 0]), Ok(()));

        // Nested loops: the inner header traps after inner iterations but
        // the last; after the last one, the outer header does (before the
        // next outer iteration starts).
        let (n, m) = (3, 4);
        for ti in 1..=n {
            for tj in 1..=m {
                let result = i.with_deadline("nested", &[n, m, ti, tj]);
                let progress = (i.global("outer_iters"), i.global("iters"));
                if (ti, tj) == (n, m) {
                    assert_eq!(result, Ok(()));
                } else {
                    assert_eq!(
                        result.map_err(|e| e.0),
                        Err(TrapCode::Interrupt),
                        "{ti} {tj}"
                    );
                }
                assert_eq!(progress, (ti, tj));
            }
        }
    });
}

#[test]
fn epoch_deadlines_in_the_future_and_unset() {
    each_backend(false, true, |engine| {
        let mut i = Wasm::ticking(engine);
        // No deadline: ticks never interrupt.
        for _ in 0..3 {
            engine.increment_epoch();
        }
        i.call("count", &[10, 5]).unwrap();
        assert_eq!(i.global("iters"), 10);
        // A later deadline is not reached; reaching it turns the checks on.
        i.store.set_epoch_deadline(5);
        for _ in 0..4 {
            engine.increment_epoch();
        }
        i.call("count", &[10, 0]).unwrap();
        engine.increment_epoch();
        i.set_global("iters", 99);
        let err = i.call("count", &[10, 0]).unwrap_err();
        assert_eq!(
            trap_of(err),
            (TrapCode::Interrupt, Some("count".to_string()))
        );
        assert_eq!(i.global("iters"), 99);
    });
}

#[test]
fn fuel_and_epochs_together() {
    each_backend(true, true, |engine| {
        // Epoch checks cost no fuel and change no result.
        let mut i = Wasm::funcs(engine);
        assert_eq!(i.fuel_used("nested", &[3, 4]), 1 + 3 * (2 + 8 + 8 * 4));
        i.store.set_fuel(PLENTY).unwrap();
        assert!(matches!(i.call("choose", &[0]).unwrap()[..], [Val::I32(5)]));

        // An epoch trap at a loop header leaves the fuel charged up to that
        // check point: entry 1, 2 before the loop, 14 per iteration and the
        // call to `tick`.
        let mut i = Wasm::ticking(engine);
        for k in [1, 4] {
            i.store.set_fuel(PLENTY).unwrap();
            let result = i.with_deadline("count", &[10, k]);
            assert_eq!(result.map_err(|e| e.0), Err(TrapCode::Interrupt));
            assert_eq!(i.global("iters"), k);
            assert_eq!(PLENTY - i.store.get_fuel().unwrap(), 3 + 14 * k as u64 + 1);
        }
        // Out of fuel with the deadline reached at the same check point:
        // the fuel check comes first; with the fuel, the epoch check traps.
        i.store.set_epoch_deadline(0);
        assert_eq!(
            i.with_fuel(0, "count", &[10, 0]),
            trapped(TrapCode::OutOfFuel, "count")
        );
        assert_eq!(
            i.with_fuel(1, "count", &[10, 0]),
            trapped(TrapCode::Interrupt, "count")
        );
    });
}
