//! Embedding example: run a C program built with `clang --target=wasm32-wasi`
//! in a sandbox of the host's making: its arguments, one environment
//! variable, a directory it may use (and nothing else of the file system),
//! stdout captured in memory, and its exit status read back.
//!
//! Run with `cargo run -p tandem-wasi --example wasi`.

use tandem_store::{Engine, Linker, Module, Store};
use tandem_wasi::{I32Exit, MemoryOutputPipe, WasiCtx, WasiCtxBuilder};

/// What the host keeps in the store: the program's WASI state.
struct Host {
    wasi: WasiCtx,
}

/// `files.c` of the WASI tests: works in the directory named by its argument.
const FILES: &[u8] = include_bytes!("../crates/wasi/tests/programs/files.wasm");

/// `stdio_exit.c`: ends as its arguments say.
const STDIO_EXIT: &[u8] = include_bytes!("../crates/wasi/tests/programs/stdio_exit.wasm");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    tandem_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)?;

    // A scratch directory, given to the program as `/data`.
    let scratch = std::env::temp_dir().join(format!("tandem-wasi-example-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let stdout = MemoryOutputPipe::new(1 << 20);
    let wasi = WasiCtxBuilder::new()
        .args(&["files", "/data"])
        .env("LANG", "C")
        .stdout(stdout.clone())
        .inherit_stderr()
        .preopened_dir(&scratch, "/data")?
        .build()?;
    let mut store = Store::new(&engine, Host { wasi });
    let module = Module::from_binary(&engine, FILES)?;
    let instance = linker.instantiate(&mut store, &module)?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    start.call(&mut store, ())?;
    let output = String::from_utf8(stdout.contents())?;
    print!("{output}");
    assert!(output.ends_with("ok rights\n"));
    let entries = std::fs::read_dir(scratch.join("many"))?.count();
    println!("the program left {entries} files in {}", scratch.display());
    std::fs::remove_dir_all(&scratch)?;

    // `exit(42)`: the call ends with an `I32Exit` error carrying the status.
    let wasi = WasiCtxBuilder::new()
        .args(&["stdio_exit", "exit", "42"])
        .build()?;
    *store.data_mut() = Host { wasi };
    let module = Module::from_binary(&engine, STDIO_EXIT)?;
    let instance = linker.instantiate(&mut store, &module)?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    let err = start.call(&mut store, ()).unwrap_err();
    let status = err.downcast_ref::<I32Exit>().map(|exit| exit.0);
    println!("stdio_exit exited with status {status:?}");
    assert_eq!(status, Some(42));
    Ok(())
}
