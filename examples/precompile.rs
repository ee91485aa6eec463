//! Embedding example: the ahead-of-time path. A module is compiled once,
//! written to a file precompiled, and later loaded by another engine
//! configured alike, which maps its code instead of compiling; an engine
//! configured otherwise, or a damaged file, is refused with one line.
//!
//! Run with `cargo run -p tandem-store --example precompile`.

use tandem_store::{Config, Engine, Instance, Module, Precompiled, Result, Store};

fn main() -> Result<()> {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let artifact = std::env::temp_dir().join(format!("fib-{}.twasm", std::process::id()));

    // Compile time: a build step, or the first run of a service.
    {
        let engine = Engine::new(Config::new().consume_fuel(true))?;
        let wasm = std::fs::read(format!("{examples}/fib.wat"))?;
        std::fs::write(&artifact, engine.precompile_module(&wasm)?)?;
    }

    // Load time: another engine with the same settings.
    let engine = Engine::new(Config::new().consume_fuel(true))?;
    assert_eq!(
        engine.detect_precompiled_file(&artifact)?,
        Some(Precompiled::Module)
    );
    // SAFETY: we wrote the file above and leave it alone while it is used.
    let module = unsafe { Module::deserialize_file(&engine, &artifact) }?;
    let mut store = Store::new(&engine, ());
    store.set_fuel(1_000_000)?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib")?;
    println!(
        "fib(20) = {} from the precompiled module",
        fib.call(&mut store, 20)?
    );

    // A module serializes to bytes too, and loads from them.
    let bytes = module.serialize()?;
    // SAFETY: the bytes were just made by `serialize`.
    let again = unsafe { Module::deserialize(&engine, &bytes) }?;
    assert_eq!(again.num_defined_funcs(), module.num_defined_funcs());

    // An engine that does not meter fuel cannot run code that does.
    let plain = Engine::default();
    // SAFETY: refused before anything runs.
    let err = unsafe { Module::deserialize_file(&plain, &artifact) }.unwrap_err();
    println!("as expected: {err}");

    // Neither can anyone run a damaged file.
    let mut damaged = std::fs::read(&artifact)?;
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x10;
    // SAFETY: refused before anything runs.
    let err = unsafe { Module::deserialize(&engine, &damaged) }.unwrap_err();
    println!("as expected: {err}");

    std::fs::remove_file(&artifact)?;
    Ok(())
}
