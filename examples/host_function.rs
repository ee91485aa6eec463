//! Embedding example: give Wasm a host function that reads the store's data
//! and the caller's memory.
//!
//! Run with `cargo run -p tandem-store --example host_function`.

use tandem_store::{Caller, Engine, Extern, Linker, Module, Store, bail, format_err};

/// What the host keeps in the store.
struct Log {
    lines: Vec<String>,
}

fn main() -> tandem_store::Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "log" (func $log (param i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 16) "hello from wasm")
            (func (export "run")
              i32.const 16 i32.const 15 call $log
              i32.const 22 i32.const 4 call $log))"#,
    )?;

    let mut linker = Linker::<Log>::new(&engine);
    linker.func_wrap(
        "host",
        "log",
        |mut caller: Caller<'_, Log>, ptr: i32, len: i32| -> tandem_store::Result<()> {
            let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
                bail!("module exports no memory");
            };
            let bytes = memory
                .data(&caller)
                .get(ptr as usize..(ptr + len) as usize)
                .ok_or_else(|| format_err!("string out of bounds"))?;
            let line = String::from_utf8_lossy(bytes).into_owned();
            caller.data_mut().lines.push(line);
            Ok(())
        },
    )?;

    let mut store = Store::new(&engine, Log { lines: Vec::new() });
    let instance = linker.instantiate(&mut store, &module)?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    run.call(&mut store, ())?;

    for line in &store.data().lines {
        println!("{line}");
    }
    assert_eq!(store.data().lines, ["hello from wasm", "from"]);
    Ok(())
}
