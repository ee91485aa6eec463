//! wasmtime as a benchmark subject, kept in a crate of its own so that only
//! `cargo xtask bench --compare` ever compiles it.
//!
//! [`Wasmtime`] mirrors the runner's `Subject` trait with inherent methods
//! (the runner forwards to them): compile a module, prepare a `run` call, a
//! host-call loop, an instantiation loop and a WASI program run ([`wasi`],
//! which also holds what the `wasmtime-run` binary runs). Timing happens in the runner,
//! around the closures returned here, exactly as for Tandem.

use std::path::Path;
use wasmtime::{
    Config, Engine, Func, Instance, InstanceAllocationStrategy, Linker, Module, Store, Strategy,
    ValType,
};

pub mod wasi;

/// A prepared measurement: one call does the timed work and returns a
/// checksum (the kernel's result, or the number of iterations done).
pub type Job = Box<dyn FnMut() -> Result<i64, String>>;

/// Which wasmtime compiler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compiler {
    /// The optimizing compiler (Tandem's `cranelift` backend compares with it).
    Cranelift,
    /// The baseline compiler (Tandem's `baseline` backend compares with it).
    Winch,
}

/// wasmtime with one compiler, default settings otherwise.
pub struct Wasmtime {
    name: &'static str,
    strategy: Strategy,
    serial: Engine,
    parallel: Engine,
}

pub(crate) fn err(e: impl std::fmt::Display) -> String {
    format!("{e:#}")
}

impl Wasmtime {
    /// Engines for `compiler`, one compiling on the calling thread and one on
    /// all threads.
    pub fn new(compiler: Compiler) -> Result<Wasmtime, String> {
        let (name, strategy) = match compiler {
            Compiler::Cranelift => ("wasmtime-cranelift", Strategy::Cranelift),
            Compiler::Winch => ("wasmtime-winch", Strategy::Winch),
        };
        let engine = |parallel: bool| {
            let mut config = Config::new();
            config.strategy(strategy).parallel_compilation(parallel);
            Engine::new(&config).map_err(err)
        };
        Ok(Wasmtime {
            name,
            strategy,
            serial: engine(false)?,
            parallel: engine(true)?,
        })
    }

    /// The subject's name in the runner's output.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Compiles `wasm` (the timed part of the compile benchmark).
    pub fn compile(&self, wasm: &[u8], parallel: bool) -> Result<(), String> {
        let engine = if parallel {
            &self.parallel
        } else {
            &self.serial
        };
        Module::from_binary(engine, wasm).map(drop).map_err(err)
    }

    /// Compiles and instantiates `wasm` and returns a job calling its
    /// parameterless `run` export (returning `i32` or `i64`).
    pub fn prepare_run(&self, wasm: &[u8]) -> Result<Job, String> {
        let module = Module::from_binary(&self.parallel, wasm).map_err(err)?;
        let mut store = Store::new(&self.parallel, ());
        let instance = Instance::new(&mut store, &module, &[]).map_err(err)?;
        let run = instance
            .get_func(&mut store, "run")
            .ok_or("no `run` export")?;
        let results: Vec<ValType> = run.ty(&store).results().collect();
        match results.as_slice() {
            [ValType::I32] => {
                let run = run.typed::<(), i32>(&store).map_err(err)?;
                Ok(Box::new(move || {
                    run.call(&mut store, ()).map(i64::from).map_err(err)
                }))
            }
            [ValType::I64] => {
                let run = run.typed::<(), i64>(&store).map_err(err)?;
                Ok(Box::new(move || run.call(&mut store, ()).map_err(err)))
            }
            _ => Err("`run` must return one i32 or i64".into()),
        }
    }

    /// A job making `calls` Wasm -> host -> Wasm round trips through the
    /// host-call kernel `wasm` (imports `env.inc: i32 -> i32`, exports
    /// `loop: i32 -> i32`).
    pub fn prepare_host_calls(&self, wasm: &[u8], calls: i32) -> Result<Job, String> {
        let module = Module::from_binary(&self.parallel, wasm).map_err(err)?;
        let mut store = Store::new(&self.parallel, ());
        let inc = Func::wrap(&mut store, |x: i32| x.wrapping_add(1));
        let instance = Instance::new(&mut store, &module, &[inc.into()]).map_err(err)?;
        let run = instance
            .get_typed_func::<i32, i32>(&mut store, "loop")
            .map_err(err)?;
        Ok(Box::new(move || {
            run.call(&mut store, calls).map(i64::from).map_err(err)
        }))
    }

    /// A job creating `iters` stores, each with one instance of `wasm`
    /// (which imports nothing), and dropping them.
    pub fn prepare_instantiate(&self, wasm: &[u8], iters: u32) -> Result<Job, String> {
        let engine = self.parallel.clone();
        let module = Module::from_binary(&engine, wasm).map_err(err)?;
        Ok(Box::new(move || {
            for _ in 0..iters {
                let mut store = Store::new(&engine, ());
                Instance::new(&mut store, &module, &[]).map_err(err)?;
            }
            Ok(i64::from(iters))
        }))
    }

    /// A job creating `iters` stores, each with one instance of `wasm` from
    /// an `InstancePre`, on an engine with the pooling allocator (its
    /// default settings).
    pub fn prepare_instantiate_pooled(&self, wasm: &[u8], iters: u32) -> Result<Job, String> {
        let mut config = Config::new();
        config
            .strategy(self.strategy)
            .allocation_strategy(InstanceAllocationStrategy::pooling());
        let engine = Engine::new(&config).map_err(err)?;
        let module = Module::from_binary(&engine, wasm).map_err(err)?;
        let pre = Linker::<()>::new(&engine)
            .instantiate_pre(&module)
            .map_err(err)?;
        Ok(Box::new(move || {
            for _ in 0..iters {
                let mut store = Store::new(&engine, ());
                pre.instantiate(&mut store).map_err(err)?;
            }
            Ok(i64::from(iters))
        }))
    }

    /// Precompiles `wasm` into the file `artifact` and returns a job that
    /// loads it (`deserialize_file`) and instantiates it in a new store,
    /// its function imports defined as traps, `iters` times.
    pub fn prepare_deserialize(
        &self,
        wasm: &[u8],
        artifact: &Path,
        iters: u32,
    ) -> Result<Job, String> {
        let engine = self.parallel.clone();
        let bytes = engine.precompile_module(wasm).map_err(err)?;
        std::fs::write(artifact, bytes).map_err(err)?;
        let module = Module::from_binary(&engine, wasm).map_err(err)?;
        let mut linker = Linker::<()>::new(&engine);
        linker
            .define_unknown_imports_as_traps(&module)
            .map_err(err)?;
        let artifact = artifact.to_path_buf();
        Ok(Box::new(move || {
            for _ in 0..iters {
                // SAFETY: the file was just written by `precompile_module`
                // of this engine and nothing changes it.
                let module =
                    unsafe { Module::deserialize_file(&engine, &artifact) }.map_err(err)?;
                let mut store = Store::new(&engine, ());
                linker.instantiate(&mut store, &module).map_err(err)?;
            }
            Ok(i64::from(iters))
        }))
    }
}
