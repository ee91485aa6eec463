//! WASI programs under wasmtime's own WASI (`wasmtime-wasi`, preview 1 as
//! `wasmtime run` links it): a timed job per run for the runner's `wasi`
//! command, and [`run_command`] for the `wasmtime-run` binary that the
//! start-up benchmark starts as a process.

use crate::{Compiler, Wasmtime, err};
use wasmtime::{Config, Engine, Linker, Module, Store, Strategy};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

/// A prepared WASI run: one call instantiates the program in a new store
/// and runs `_start`; it returns the exit status and what went to stdout.
pub type WasiJob = Box<dyn FnMut() -> Result<(i32, Vec<u8>), String>>;

/// The exit status of a `_start` call: 0 when it returned, `proc_exit`'s
/// status, or the error.
fn status(outcome: wasmtime::Result<()>) -> Result<i32, String> {
    match outcome {
        Ok(()) => Ok(0),
        Err(e) => e
            .downcast_ref::<I32Exit>()
            .map(|exit| exit.0)
            .ok_or_else(|| err(e)),
    }
}

impl Wasmtime {
    /// Compiles `wasm` and links WASI; the job runs it with `args`, the
    /// directories `dirs` (host, guest), `stdin`, and stdout in memory.
    pub fn prepare_wasi(
        &self,
        wasm: &[u8],
        args: &[String],
        dirs: &[(String, String)],
        stdin: &[u8],
    ) -> Result<WasiJob, String> {
        let engine = self.parallel.clone();
        let module = Module::from_binary(&engine, wasm).map_err(err)?;
        let mut linker = Linker::<WasiP1Ctx>::new(&engine);
        p1::add_to_linker_sync(&mut linker, |ctx| ctx).map_err(err)?;
        let pre = linker.instantiate_pre(&module).map_err(err)?;
        let (args, dirs, stdin) = (args.to_vec(), dirs.to_vec(), stdin.to_vec());
        Ok(Box::new(move || {
            let stdout = MemoryOutputPipe::new(1 << 28);
            let mut builder = WasiCtxBuilder::new();
            builder
                .args(&args)
                .stdin(MemoryInputPipe::new(stdin.clone()))
                .stdout(stdout.clone());
            for (host, guest) in &dirs {
                builder
                    .preopened_dir(host, guest, FsPerms::ReadWrite)
                    .map_err(err)?;
            }
            let mut store = Store::new(&engine, builder.build_p1());
            let instance = pre.instantiate(&mut store).map_err(err)?;
            let start = instance
                .get_typed_func::<(), ()>(&mut store, "_start")
                .map_err(err)?;
            let status = status(start.call(&mut store, ()))?;
            Ok((status, stdout.contents().to_vec()))
        }))
    }
}

/// Runs the WASI command `file` the way a minimal `wasmtime run` would:
/// compiled with `compiler` (default settings otherwise), arguments
/// `[file name, args...]`, stdio inherited; returns its exit status.
pub fn run_command(compiler: Compiler, file: &str, args: &[String]) -> Result<i32, String> {
    let mut config = Config::new();
    config.strategy(match compiler {
        Compiler::Cranelift => Strategy::Cranelift,
        Compiler::Winch => Strategy::Winch,
    });
    let engine = Engine::new(&config).map_err(err)?;
    let module = Module::from_file(&engine, file).map_err(err)?;
    let mut linker = Linker::<WasiP1Ctx>::new(&engine);
    p1::add_to_linker_sync(&mut linker, |ctx| ctx).map_err(err)?;
    let name = std::path::Path::new(file)
        .file_name()
        .map_or(file.into(), |n| n.to_string_lossy().into_owned());
    let ctx = WasiCtxBuilder::new()
        .arg(name)
        .args(args)
        .inherit_stdio()
        .build_p1();
    let mut store = Store::new(&engine, ctx);
    let instance = linker.instantiate(&mut store, &module).map_err(err)?;
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .map_err(err)?;
    status(start.call(&mut store, ()))
}
