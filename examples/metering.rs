//! Embedding example: modules from files, fuel metering, and the error
//! model — `?` on any error, `.context(..)`, and a trap found by
//! downcasting, with the Wasm frames it happened in.
//!
//! Run with `cargo run -p tandem-store --example metering`.

use tandem_store::{Config, Context, Engine, Instance, Module, Result, Store, Trap, WasmBacktrace};

fn main() -> Result<()> {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let engine = Engine::new(Config::new().consume_fuel(true))?;

    // A file that is not there: an I/O error, with the path as context.
    let err = Module::from_file(&engine, format!("{examples}/missing.wat")).unwrap_err();
    assert!(err.downcast_ref::<std::io::Error>().is_some());
    println!("as expected: {err}");

    // Recursive Fibonacci numbers, with growing budgets of fuel.
    let fib = Module::from_file(&engine, format!("{examples}/fib.wat"))?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &fib, &[])?;
    let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib")?;
    for budget in [1_000, 10_000, 100_000] {
        store.set_fuel(budget)?;
        match fib.call(&mut store, 15) {
            Ok(n) => {
                let used = budget - store.get_fuel()?;
                println!("fib(15) = {n} with {budget} fuel ({used} used)");
            }
            Err(err) => {
                let depth = err
                    .downcast_ref::<WasmBacktrace>()
                    .map_or(0, |trace| trace.frames().len());
                assert_eq!(err.downcast::<Trap>()?, Trap::OutOfFuel);
                println!("{budget} fuel ran out {depth} calls deep");
            }
        }
    }

    // A division by zero two calls deep: the trap, and where it happened.
    let divide = Module::from_file(&engine, format!("{examples}/divide.wat"))
        .context("the divide example")?;
    let mut store = Store::new(&engine, ());
    store.set_fuel(u64::MAX)?;
    let instance = Instance::new(&mut store, &divide, &[])?;
    let average = instance.get_typed_func::<(i32, i32), i32>(&mut store, "average")?;
    assert_eq!(average.call(&mut store, (10, 4))?, 2);
    let err = average.call(&mut store, (10, 0)).unwrap_err();
    let trace = err.downcast_ref::<WasmBacktrace>().expect("Wasm frames");
    let names: Vec<_> = trace
        .frames()
        .iter()
        .filter_map(|f| f.func_name())
        .collect();
    assert_eq!(names, ["divide", "mean"]);
    assert_eq!(
        *err.downcast_ref::<Trap>().expect("a trap"),
        Trap::IntegerDivisionByZero
    );
    println!("{}\n{trace}", err.root_cause());
    Ok(())
}
