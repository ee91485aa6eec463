//! Fuel and epoch checks, run in-process: exact fuel charged by each kind of
//! control flow (the numbers the baseline backend must reproduce), and the
//! number of check points executed, counted by the harness's `new_epoch`.

use super::exec::{Instance, NEW_EPOCH_CALLS, OUT_OF_FUEL_CALLS, REFUEL, Val};
use tandem_environ::Tunables;

/// A module compiled with fuel metering.
fn fueled(wat: &str) -> Instance {
    let tunables = Tunables {
        consume_fuel: true,
        ..Tunables::default()
    };
    Instance::from_wasm_with(&wat::parse_str(wat).unwrap(), &tunables).unwrap()
}

/// A module compiled with epoch checks.
fn epoch_checked(wat: &str) -> Instance {
    let tunables = Tunables {
        epoch_interruption: true,
        ..Tunables::default()
    };
    Instance::from_wasm_with(&wat::parse_str(wat).unwrap(), &tunables).unwrap()
}

/// Calls `name` with plenty of fuel and returns what the call consumed.
fn fuel_used(instance: &mut Instance, name: &str, args: &[Val]) -> u64 {
    const START: u64 = 1 << 40;
    instance.store[1] = START.wrapping_neg();
    OUT_OF_FUEL_CALLS.set(0);
    instance.call(name, args);
    assert_eq!(OUT_OF_FUEL_CALLS.get(), 0);
    instance.store[1].wrapping_add(START)
}

/// Calls `name` and returns how many check points it passed.
fn checks_passed(instance: &mut Instance, name: &str, args: &[Val]) -> u64 {
    NEW_EPOCH_CALLS.set(0);
    instance.call(name, args);
    NEW_EPOCH_CALLS.get()
}

const FUNCS: &str = r#"(module
  (func $inc (export "inc") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add)
  (func (export "straight") (result i32)
    nop i32.const 1 i32.const 2 i32.add drop i32.const 3)
  (func (export "calls") (result i32)
    i32.const 0 call $inc call $inc)
  (func (export "indirect") (result i32)
    i32.const 0 i32.const 0 call_indirect (param i32) (result i32))
  (func (export "count") (param i32) (local i32)
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
  (table 1 funcref)
  (elem (i32.const 0) $inc)
)"#;

#[test]
fn fuel_counts_every_executed_operator_once() {
    let mut i = fueled(FUNCS);
    // Entry 1 + 3 operators.
    assert_eq!(fuel_used(&mut i, "inc", &[Val::I32(5)]), 4);
    // `nop` and `end` are free: entry 1 + 5.
    assert_eq!(fuel_used(&mut i, "straight", &[]), 6);
    // Entry 1 + const + 2 calls, each callee 4.
    assert_eq!(fuel_used(&mut i, "calls", &[]), 1 + 3 + 2 * 4);
    assert_eq!(fuel_used(&mut i, "indirect", &[]), 1 + 3 + 4);
    // Entry 1 + 8 operators per iteration.
    for n in [1, 2, 10, 1000] {
        assert_eq!(fuel_used(&mut i, "count", &[Val::I32(n)]), 1 + 8 * n as u64);
    }
    // Entry 1 + local.get + if, then one arm (`else` and `end` are free).
    assert_eq!(fuel_used(&mut i, "choose", &[Val::I32(1)]), 1 + 2 + 1);
    assert_eq!(fuel_used(&mut i, "choose", &[Val::I32(0)]), 1 + 2 + 3);
    // Not taken: entry 1 + (local.get, br_if) + (i32.const, return).
    assert_eq!(fuel_used(&mut i, "early", &[Val::I32(0)]), 1 + 2 + 2);
    // Taken: entry 1 + (local.get, br_if) + (local.get, br_table) + const.
    assert_eq!(fuel_used(&mut i, "early", &[Val::I32(1)]), 1 + 2 + 2 + 1);
    // Recursion: 3 operators per level that recurses (local.get, if, and
    // local.get, i32.const, i32.sub, call) plus entry, 2 for the last.
    assert_eq!(
        fuel_used(&mut i, "down", &[Val::I32(5)]),
        5 * (1 + 6) + 1 + 2
    );
    // Outer: 2 (set 3) + 8 (increment and branch); inner: 8 per iteration.
    let (n, m) = (3u64, 4u64);
    assert_eq!(
        fuel_used(&mut i, "nested", &[Val::I32(n as i32), Val::I32(m as i32)]),
        1 + n * (2 + 8 + 8 * m)
    );
}

#[test]
fn out_of_fuel_is_called_at_check_points_and_may_refuel() {
    let mut i = fueled(FUNCS);
    // No fuel: the entry check fires before anything runs.
    i.store[1] = 0;
    OUT_OF_FUEL_CALLS.set(0);
    REFUEL.set(10);
    assert_eq!(i.call("inc", &[Val::I32(1)]), [Val::I32(2)]);
    assert_eq!(OUT_OF_FUEL_CALLS.get(), 1);
    // Refuelled to 10 at entry, then 3 operators.
    assert_eq!(i.store[1] as i64, -7);

    // Exactly enough fuel passes every check.
    i.store[1] = (1 + 8 * 5u64).wrapping_neg();
    OUT_OF_FUEL_CALLS.set(0);
    i.call("count", &[Val::I32(5)]);
    assert_eq!((OUT_OF_FUEL_CALLS.get(), i.store[1]), (0, 0));

    // With one unit less, the loop header after the last iteration is
    // never reached (`br_if` falls through), so the overshoot goes
    // unnoticed until the next check; one iteration more would trap.
    i.store[1] = (8 * 5u64).wrapping_neg();
    OUT_OF_FUEL_CALLS.set(0);
    i.call("count", &[Val::I32(5)]);
    assert_eq!((OUT_OF_FUEL_CALLS.get(), i.store[1]), (0, 1));
    i.store[1] = (8 * 5u64).wrapping_neg();
    REFUEL.set(1 << 20);
    i.call("count", &[Val::I32(6)]);
    assert_eq!(OUT_OF_FUEL_CALLS.get(), 1);
}

#[test]
fn epoch_checks_run_at_entry_and_every_loop_header() {
    let mut i = epoch_checked(FUNCS);
    // No deadline: never called.
    assert_eq!(checks_passed(&mut i, "count", &[Val::I32(10)]), 0);
    // Deadline reached (epoch 0 >= 0): called at every check point.
    i.store[2] = 0;
    assert_eq!(checks_passed(&mut i, "inc", &[Val::I32(1)]), 1);
    assert_eq!(checks_passed(&mut i, "calls", &[]), 3);
    assert_eq!(checks_passed(&mut i, "count", &[Val::I32(10)]), 1 + 10);
    assert_eq!(checks_passed(&mut i, "down", &[Val::I32(6)]), 7);
    let (n, m) = (3u64, 4u64);
    assert_eq!(
        checks_passed(&mut i, "nested", &[Val::I32(n as i32), Val::I32(m as i32)]),
        1 + n + n * m
    );
    // A later deadline is not reached; reaching it turns the checks on.
    i.store[2] = 5;
    *i.epoch = 4;
    assert_eq!(checks_passed(&mut i, "count", &[Val::I32(10)]), 0);
    *i.epoch = 5;
    assert_eq!(checks_passed(&mut i, "count", &[Val::I32(10)]), 11);
}

#[test]
fn fuel_and_epochs_together() {
    let tunables = Tunables {
        consume_fuel: true,
        epoch_interruption: true,
        ..Tunables::default()
    };
    let mut i = Instance::from_wasm_with(&wat::parse_str(FUNCS).unwrap(), &tunables).unwrap();
    i.store[2] = 0;
    NEW_EPOCH_CALLS.set(0);
    let used = fuel_used(&mut i, "nested", &[Val::I32(3), Val::I32(4)]);
    assert_eq!(used, 1 + 3 * (2 + 8 + 8 * 4));
    assert_eq!(NEW_EPOCH_CALLS.get(), 1 + 3 + 3 * 4);
    // Results are unaffected by the checks.
    assert_eq!(i.call("choose", &[Val::I32(0)]), [Val::I32(5)]);
}
