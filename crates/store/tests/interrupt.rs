//! Fuel metering and epoch interruption through the embedding API: runaway
//! loops and recursion stop with `OutOfFuel` or `Interrupt`, fuel use is
//! deterministic and exact, stores recover after the trap, and another
//! thread's `Engine::increment_epoch` stops a loop within milliseconds; on
//! every backend this build has.

mod common;
use common::{each_backend, engine, frames, trap_code};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tandem_store::{BackendKind, Caller, Engine, Func, Instance, Module, Store, Trap};

const WAT: &str = r#"(module
  (import "host" "probe" (func $probe))
  (func $inc (export "inc") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add)
  (func (export "spin") (loop br 0))
  (func (export "sum") (param i32) (result i32) (local i32)
    (loop
      (local.set 1 (i32.add (local.get 1) (local.get 0)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br_if 0 (local.get 0)))
    local.get 1)
  (func $recurse (export "recurse") (call $recurse))
  (func $down (export "down") (param i32)
    (if (i32.eq (local.get 0) (i32.const 10)) (then (call $probe)))
    (if (local.get 0) (then (call $down (i32.sub (local.get 0) (i32.const 1))))))
  (func (export "nested") (param i32) (local i32 i32)
    (loop $outer
      (local.set 2 (i32.const 0))
      (loop $inner
        (local.set 1 (i32.add (local.get 1) (i32.const 1)))
        (if (i32.eq (local.get 1) (local.get 0)) (then (call $probe)))
        (local.set 2 (i32.add (local.get 2) (i32.const 1)))
        (br_if $inner (i32.lt_u (local.get 2) (i32.const 100))))
      (br $outer)))
  (func (export "nested_inner_spin")
    (loop $outer (loop $inner (br $inner)) (br $outer)))
  (func (export "probed") (result i32)
    i32.const 1 drop call $probe i32.const 5)
)"#;

/// Fuel used by `sum(n)`: entry, 10 operators per iteration, `local.get`.
fn sum_cost(n: u64) -> u64 {
    1 + 10 * n + 1
}

/// What the `probe` import does.
#[derive(Clone, Copy)]
enum Probe {
    /// Records the store's fuel left.
    Fuel,
    /// Advances the engine's epoch.
    Tick,
}

/// Host state: what the probe does and the fuel it last saw.
struct Host {
    probe: Probe,
    fuel_seen: Option<u64>,
}

/// A store with an instance of [`WAT`].
fn instantiate(engine: &Engine, probe: Probe) -> (Store<Host>, Instance) {
    let module = Module::new(engine, WAT).unwrap();
    let mut store = Store::new(
        engine,
        Host {
            probe,
            fuel_seen: None,
        },
    );
    let ticker = engine.clone();
    let probe = Func::wrap(
        &mut store,
        move |mut caller: Caller<'_, Host>| match caller.data().probe {
            Probe::Fuel => {
                let fuel = caller.store().get_fuel().ok();
                caller.data_mut().fuel_seen = fuel;
            }
            Probe::Tick => ticker.increment_epoch(),
        },
    );
    let instance = Instance::new(&mut store, &module, &[probe.into()]).unwrap();
    (store, instance)
}

#[test]
fn runaway_loop_runs_out_of_fuel() {
    each_backend(true, false, |engine| {
        let (mut store, instance) = instantiate(engine, Probe::Fuel);
        let spin = instance
            .get_typed_func::<(), ()>(&mut store, "spin")
            .unwrap();
        store.set_fuel(100_000).unwrap();
        assert_eq!(trap_code(spin.call(&mut store, ())), Trap::OutOfFuel);
        assert_eq!(store.get_fuel().unwrap(), 0);
    });
}

#[test]
fn new_store_has_no_fuel_until_set() {
    each_backend(true, false, |engine| {
        let (mut store, instance) = instantiate(engine, Probe::Fuel);
        let inc = instance
            .get_typed_func::<i32, i32>(&mut store, "inc")
            .unwrap();
        assert_eq!(store.get_fuel().unwrap(), 0);
        assert_eq!(trap_code(inc.call(&mut store, 1)), Trap::OutOfFuel);
        store.set_fuel(4).unwrap();
        assert_eq!(inc.call(&mut store, 1).unwrap(), 2);
        assert_eq!(store.get_fuel().unwrap(), 0);
    });
}

#[test]
fn fuel_use_is_deterministic_and_exact() {
    each_backend(true, false, |engine| {
        const START: u64 = 1_000_000;
        let mut used = Vec::new();
        for _ in 0..2 {
            let (mut store, instance) = instantiate(engine, Probe::Fuel);
            let sum = instance
                .get_typed_func::<i32, i32>(&mut store, "sum")
                .unwrap();
            store.set_fuel(START).unwrap();
            let mut left = START;
            for n in [100u64, 100, 7] {
                assert_eq!(
                    sum.call(&mut store, n as i32).unwrap() as u64,
                    n * (n + 1) / 2
                );
                let now = store.get_fuel().unwrap();
                assert_eq!(left - now, sum_cost(n));
                used.push(left - now);
                left = now;
            }
        }
        assert_eq!(used[..3], used[3..]);
    });
}

#[test]
fn host_functions_see_the_fuel_charged_so_far() {
    each_backend(true, false, |engine| {
        let (mut store, instance) = instantiate(engine, Probe::Fuel);
        let probed = instance
            .get_typed_func::<(), i32>(&mut store, "probed")
            .unwrap();
        store.set_fuel(100).unwrap();
        assert_eq!(probed.call(&mut store, ()).unwrap(), 5);
        // Entry, `i32.const`, `drop`, `call` before the host runs; then
        // `i32.const` after it.
        assert_eq!(store.data().fuel_seen, Some(100 - 4));
        assert_eq!(store.get_fuel().unwrap(), 100 - 5);
    });
}

#[test]
fn set_fuel_revives_a_store_after_out_of_fuel() {
    each_backend(true, false, |engine| {
        let (mut store, instance) = instantiate(engine, Probe::Fuel);
        let spin = instance
            .get_typed_func::<(), ()>(&mut store, "spin")
            .unwrap();
        let sum = instance
            .get_typed_func::<i32, i32>(&mut store, "sum")
            .unwrap();
        store.set_fuel(1_000).unwrap();
        assert_eq!(trap_code(spin.call(&mut store, ())), Trap::OutOfFuel);
        // Still out of fuel: the next call traps at entry.
        assert_eq!(trap_code(sum.call(&mut store, 3)), Trap::OutOfFuel);
        store.set_fuel(1_000).unwrap();
        assert_eq!(sum.call(&mut store, 10).unwrap(), 55);
        assert_eq!(store.get_fuel().unwrap(), 1_000 - sum_cost(10));
    });
}

#[test]
fn fuel_stops_recursion_and_nested_loops() {
    each_backend(true, false, |engine| {
        let (mut store, instance) = instantiate(engine, Probe::Fuel);
        let recurse = instance
            .get_typed_func::<(), ()>(&mut store, "recurse")
            .unwrap();
        // 2 per level (entry and `call`): out of fuel long before the stack.
        store.set_fuel(2_000).unwrap();
        let err = recurse.call(&mut store, ()).unwrap_err();
        assert_eq!(err.downcast_ref::<Trap>(), Some(&Trap::OutOfFuel));
        // The backtrace starts in the function whose entry check fired.
        assert!(frames(&err).len() > 100, "{err:?}");
        assert!(
            frames(&err)
                .iter()
                .all(|f| f.func_name.as_deref() == Some("recurse") && f.wasm_offset.is_some()),
            "{err:?}"
        );

        let nested = instance
            .get_typed_func::<i32, ()>(&mut store, "nested")
            .unwrap();
        store.set_fuel(100_000).unwrap();
        assert_eq!(trap_code(nested.call(&mut store, -1)), Trap::OutOfFuel);
        let spin = instance
            .get_typed_func::<(), ()>(&mut store, "nested_inner_spin")
            .unwrap();
        store.set_fuel(100_000).unwrap();
        assert_eq!(trap_code(spin.call(&mut store, ())), Trap::OutOfFuel);
    });
}

#[test]
fn fuel_api_needs_fuel_enabled() {
    each_backend(false, true, |engine| {
        let mut store = Store::new(engine, ());
        let err = store.set_fuel(10).unwrap_err();
        assert!(err.to_string().contains("Config::consume_fuel"), "{err}");
        assert!(store.get_fuel().is_err());
    });
}

#[test]
fn code_runs_normally_until_the_deadline() {
    each_backend(false, true, |engine| {
        let (mut store, instance) = instantiate(engine, Probe::Tick);
        let sum = instance
            .get_typed_func::<i32, i32>(&mut store, "sum")
            .unwrap();
        // No deadline set.
        engine.increment_epoch();
        assert_eq!(sum.call(&mut store, 1000).unwrap(), 500_500);
        // A deadline not reached yet.
        store.set_epoch_deadline(2);
        engine.increment_epoch();
        assert_eq!(sum.call(&mut store, 1000).unwrap(), 500_500);
        // Reached: the entry check traps.
        engine.increment_epoch();
        assert_eq!(trap_code(sum.call(&mut store, 10)), Trap::Interrupt);
        store.set_epoch_deadline(1);
        assert_eq!(sum.call(&mut store, 10).unwrap(), 55);
    });
}

#[test]
fn epochs_stop_recursion_at_function_entry() {
    each_backend(false, true, |engine| {
        let (mut store, instance) = instantiate(engine, Probe::Tick);
        let down = instance
            .get_typed_func::<i32, ()>(&mut store, "down")
            .unwrap();
        // `probe` ticks at depth 10; the next entry (depth 9) sees it.
        store.set_epoch_deadline(1);
        assert_eq!(trap_code(down.call(&mut store, 20)), Trap::Interrupt);
        // Two ticks away: one tick is not enough.
        store.set_epoch_deadline(2);
        down.call(&mut store, 20).unwrap();
    });
}

#[test]
fn epochs_stop_nested_loops_at_their_headers() {
    each_backend(false, true, |engine| {
        let (mut store, instance) = instantiate(engine, Probe::Tick);
        let nested = instance
            .get_typed_func::<i32, ()>(&mut store, "nested")
            .unwrap();
        // `probe` ticks in the inner loop's 250th iteration overall (3rd outer
        // iteration); only loop headers run after that.
        store.set_epoch_deadline(1);
        assert_eq!(trap_code(nested.call(&mut store, 250)), Trap::Interrupt);
    });
}

/// Runs `name` (an infinite loop) while another thread increments the epoch
/// after `delay`; returns the time from the increment to the trap.
fn interrupt_latency(kind: BackendKind, name: &str, delay: Duration) -> Duration {
    let engine = engine(kind, false, true);
    let (mut store, instance) = instantiate(&engine, Probe::Tick);
    let func = instance.get_typed_func::<(), ()>(&mut store, name).unwrap();
    store.set_epoch_deadline(1);
    let (tx, rx) = mpsc::channel();
    let ticker = engine.clone();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(delay);
        let at = Instant::now();
        ticker.increment_epoch();
        tx.send(at).unwrap();
    });
    let result = func.call(&mut store, ());
    let trapped_at = Instant::now();
    assert_eq!(trap_code(result), Trap::Interrupt);
    thread.join().unwrap();
    let incremented_at = rx.recv().unwrap();
    trapped_at.saturating_duration_since(incremented_at)
}

#[test]
fn another_thread_interrupts_an_infinite_loop_promptly() {
    for &kind in BackendKind::available() {
        for name in ["spin", "nested_inner_spin"] {
            // The median of 9 runs tolerates a busy machine descheduling us.
            let mut latencies: Vec<Duration> = (0..9)
                .map(|_| interrupt_latency(kind, name, Duration::from_millis(20)))
                .collect();
            latencies.sort();
            let median = latencies[latencies.len() / 2];
            println!("{kind} {name}: increment-to-trap latencies {latencies:?}");
            assert!(
                median < Duration::from_millis(10),
                "{kind} {name}: median latency {median:?} ({latencies:?})"
            );
        }
    }
}
