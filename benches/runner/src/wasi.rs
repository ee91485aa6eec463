//! WASI programs as benchmark jobs: [`WasiProgram`] (what the `wasi`
//! command was given), Tandem's job on `tandem-wasi`, and the checksum
//! every subject's job returns, so that the subjects' runs can be checked
//! against each other.

use crate::subject::Job;
use std::hash::{Hash, Hasher};
use tandem_store::{Engine, Linker, Module, Store};
use tandem_wasi::{I32Exit, MemoryInputPipe, MemoryOutputPipe, WasiCtx, WasiCtxBuilder};

/// One WASI run: arguments (`argv[0]` first), preopened directories as
/// (host, guest), and what stdin holds.
#[derive(Clone, Debug, Default)]
pub struct WasiProgram {
    pub args: Vec<String>,
    pub dirs: Vec<(String, String)>,
    pub stdin: Vec<u8>,
}

/// The result a WASI job reports: the exit status and stdout hashed
/// together (the same for every subject in one runner process).
pub fn checksum(status: i32, stdout: &[u8]) -> i64 {
    let mut hasher = std::hash::DefaultHasher::new();
    status.hash(&mut hasher);
    stdout.hash(&mut hasher);
    // Kept positive and within an f64's exact integers (the JSON keeps it).
    (hasher.finish() >> 12) as i64
}

/// Tandem's job: compile and link once; each call instantiates `wasm` in a
/// new store with a fresh context and runs `_start`.
pub fn tandem_job(engine: &Engine, wasm: &[u8], program: &WasiProgram) -> Result<Job, String> {
    let err = |e: tandem_store::Error| e.to_string();
    let module = Module::from_binary(engine, wasm).map_err(err)?;
    let mut linker = Linker::<WasiCtx>::new(engine);
    tandem_wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx).map_err(err)?;
    let pre = linker.instantiate_pre(&module).map_err(err)?;
    let engine = engine.clone();
    let program = program.clone();
    Ok(Box::new(move || {
        let stdout = MemoryOutputPipe::new(1 << 28);
        let mut builder = WasiCtxBuilder::new();
        builder
            .args(&program.args)
            .stdin(MemoryInputPipe::new(program.stdin.clone()))
            .stdout(stdout.clone());
        for (host, guest) in &program.dirs {
            builder.preopened_dir(host, guest).map_err(err)?;
        }
        let mut store = Store::new(&engine, builder.build().map_err(err)?);
        let instance = pre.instantiate(&mut store).map_err(err)?;
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .map_err(err)?;
        let status = match start.call(&mut store, ()) {
            Ok(()) => 0,
            Err(e) => e
                .downcast_ref::<I32Exit>()
                .map(|exit| exit.0)
                .ok_or_else(|| err(e))?,
        };
        Ok(checksum(status, &stdout.contents()))
    }))
}
