//! Embedding example: stop a runaway loop from another thread with epoch
//! interruption, then give a loop time slices with an epoch-deadline
//! callback.
//!
//! Run with `cargo run -p tandem-store --example epochs`.

use std::time::{Duration, Instant};
use tandem_store::{Config, Engine, Error, Instance, Module, Store, TrapCode, UpdateDeadline};

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
    let trap = err.as_trap().expect("an interrupt is a trap");
    assert_eq!(trap.code(), TrapCode::Interrupt);
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
            Err(Error::Usage(format!("gave up after {slices} slices")))
        }
    });
    let ticker = {
        let engine = engine.clone();
        std::thread::spawn(move || {
            for _ in 0..3 {
                std::thread::sleep(Duration::from_millis(10));
                engine.increment_epoch();
            }
        })
    };
    let err = spin
        .call(&mut store, ())
        .expect_err("the callback stops it");
    ticker.join().expect("ticker thread");
    let trap = err.as_trap().expect("a callback's error is a trap");
    assert_eq!(trap.code(), TrapCode::HostError);
    println!("{trap}");
    Ok(())
}
