//! Embedding example: stop a runaway loop from another thread with epoch
//! interruption, then give a loop time slices with an epoch-deadline
//! callback.
//!
//! Run with `cargo run -p tandem-store --example epochs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tandem_store::{
    Config, Engine, Instance, Module, Store, Trap, UpdateDeadline, WasmBacktrace, format_err,
};

fn main() -> tandem_store::Result<()> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(
        &engine,
        r#"(module (func (export "spin") (loop $forever br $forever)))"#,
    )?;
    let mut store = Store::new(&engine, ());
    // Trap once the engine's epoch has advanced by one tick.
    store.set_epoch_deadline(1);
    let instance = Instance::new(&mut store, &module, &[])?;
    let spin = instance.get_typed_func::<(), ()>(&mut store, "spin")?;

    let ticker = {
        let engine = engine.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            engine.increment_epoch();
            Instant::now()
        })
    };
    let err = spin
        .call(&mut store, ())
        .expect_err("the loop never ends by itself");
    let stopped = Instant::now();
    let ticked = ticker.join().expect("ticker thread");
    let trap = *err.downcast_ref::<Trap>().expect("an interrupt is a trap");
    assert_eq!(trap, Trap::Interrupt);
    println!(
        "runaway loop stopped {:?} after the epoch ticked: {trap}",
        stopped.saturating_duration_since(ticked)
    );

    // Time slices: at each tick the callback decides; after three slices
    // it stops the loop with an error of its own.
    let mut slices = 0;
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_store| {
        slices += 1;
        println!("slice {slices} used up");
        if slices < 3 {
            Ok(UpdateDeadline::Continue(1))
        } else {
            Err(format_err!("gave up after {slices} slices"))
        }
    });
    // The ticker ticks until the call returns: on a loaded machine two
    // ticks may land while one callback runs, so a fixed count could leave
    // the loop waiting for a tick that never comes.
    let done = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (engine, done) = (engine.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(10));
                engine.increment_epoch();
            }
        })
    };
    let err = spin
        .call(&mut store, ())
        .expect_err("the callback stops it");
    done.store(true, Ordering::Relaxed);
    ticker.join().expect("ticker thread");
    // The callback's own error, with the Wasm frames where it stopped.
    assert!(err.downcast_ref::<Trap>().is_none());
    assert_eq!(err.root_cause().to_string(), "gave up after 3 slices");
    let trace = err
        .downcast_ref::<WasmBacktrace>()
        .expect("the Wasm frames it stopped");
    println!("stopped by the callback: {}\n{trace}", err.root_cause());
    Ok(())
}
