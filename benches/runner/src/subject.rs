//! What is measured: a [`Subject`] is one engine with one compiler (Tandem
//! with each backend it was built with, and with the `wasmtime` feature
//! wasmtime with Cranelift and Winch). Subjects prepare work; the caller
//! times it.

use crate::wasi::WasiProgram;
use std::path::Path;
use tandem_store::{
    BackendKind, Config, Engine, ExternType, Func, Instance, InstanceAllocationStrategy, Linker,
    Module, Store, ValType,
};

/// A prepared measurement: one call does the timed work and returns a
/// checksum (the kernel's result, or the number of iterations done).
pub type Job = Box<dyn FnMut() -> Result<i64, String>>;

/// One engine configuration that can be measured.
pub trait Subject {
    /// The subject's name in the runner's output, e.g. `tandem-cranelift`.
    fn name(&self) -> &str;
    /// Compiles `wasm` on all threads or on the calling thread only.
    fn compile(&self, wasm: &[u8], parallel: bool) -> Result<(), String>;
    /// Compiles and instantiates `wasm`; the job calls its `run` export.
    fn prepare_run(&self, wasm: &[u8]) -> Result<Job, String>;
    /// The job makes `calls` round trips through the host-call kernel.
    fn prepare_host_calls(&self, wasm: &[u8], calls: i32) -> Result<Job, String>;
    /// The job creates `iters` stores with one instance of `wasm` each.
    fn prepare_instantiate(&self, wasm: &[u8], iters: u32) -> Result<Job, String>;
    /// The job creates `iters` stores with one instance of `wasm` each,
    /// from an `InstancePre` on an engine with the pooling allocator (its
    /// default settings).
    fn prepare_instantiate_pooled(&self, wasm: &[u8], iters: u32) -> Result<Job, String>;
    /// Precompiles `wasm` into the file `artifact`; the job loads it
    /// (`deserialize_file`) and instantiates it in a new store, its
    /// function imports defined as traps, `iters` times.
    fn prepare_deserialize(&self, wasm: &[u8], artifact: &Path, iters: u32) -> Result<Job, String>;
    /// Compiles the WASI command `wasm`; the job runs `program` in a new
    /// store and returns [`checksum`](crate::wasi::checksum) of its exit
    /// status and stdout.
    fn prepare_wasi(&self, wasm: &[u8], program: &WasiProgram) -> Result<Job, String>;
}

/// Every subject this runner was built with, in a fixed order: Tandem's
/// backends first, then wasmtime's compilers.
pub fn all() -> Result<Vec<Box<dyn Subject>>, String> {
    let mut subjects: Vec<Box<dyn Subject>> = Vec::new();
    for &backend in BackendKind::available() {
        subjects.push(Box::new(Tandem::new(backend)?));
    }
    #[cfg(feature = "wasmtime")]
    for compiler in [
        tandem_bench_wasmtime::Compiler::Cranelift,
        tandem_bench_wasmtime::Compiler::Winch,
    ] {
        subjects.push(Box::new(tandem_bench_wasmtime::Wasmtime::new(compiler)?));
    }
    Ok(subjects)
}

/// The subjects named in `names` (all of them when `names` is empty).
pub fn select(names: &[String]) -> Result<Vec<Box<dyn Subject>>, String> {
    let mut subjects = all()?;
    if names.is_empty() {
        return Ok(subjects);
    }
    for name in names {
        if !subjects.iter().any(|s| s.name() == name) {
            return Err(format!("no subject `{name}` in this runner"));
        }
    }
    subjects.retain(|s| names.iter().any(|n| n == s.name()));
    Ok(subjects)
}

#[cfg(feature = "wasmtime")]
impl Subject for tandem_bench_wasmtime::Wasmtime {
    fn name(&self) -> &str {
        tandem_bench_wasmtime::Wasmtime::name(self)
    }
    fn compile(&self, wasm: &[u8], parallel: bool) -> Result<(), String> {
        tandem_bench_wasmtime::Wasmtime::compile(self, wasm, parallel)
    }
    fn prepare_run(&self, wasm: &[u8]) -> Result<Job, String> {
        tandem_bench_wasmtime::Wasmtime::prepare_run(self, wasm)
    }
    fn prepare_host_calls(&self, wasm: &[u8], calls: i32) -> Result<Job, String> {
        tandem_bench_wasmtime::Wasmtime::prepare_host_calls(self, wasm, calls)
    }
    fn prepare_instantiate(&self, wasm: &[u8], iters: u32) -> Result<Job, String> {
        tandem_bench_wasmtime::Wasmtime::prepare_instantiate(self, wasm, iters)
    }
    fn prepare_instantiate_pooled(&self, wasm: &[u8], iters: u32) -> Result<Job, String> {
        tandem_bench_wasmtime::Wasmtime::prepare_instantiate_pooled(self, wasm, iters)
    }
    fn prepare_deserialize(&self, wasm: &[u8], artifact: &Path, iters: u32) -> Result<Job, String> {
        tandem_bench_wasmtime::Wasmtime::prepare_deserialize(self, wasm, artifact, iters)
    }
    fn prepare_wasi(&self, wasm: &[u8], program: &WasiProgram) -> Result<Job, String> {
        let mut job = tandem_bench_wasmtime::Wasmtime::prepare_wasi(
            self,
            wasm,
            &program.args,
            &program.dirs,
            &program.stdin,
        )?;
        Ok(Box::new(move || {
            let (status, stdout) = job()?;
            Ok(crate::wasi::checksum(status, &stdout))
        }))
    }
}

/// Tandem with one backend.
struct Tandem {
    name: String,
    backend: BackendKind,
    serial: Engine,
    parallel: Engine,
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Tandem {
    fn new(backend: BackendKind) -> Result<Tandem, String> {
        let engine = |parallel: bool| {
            Engine::new(
                Config::new()
                    .backend(backend)
                    .parallel_compilation(parallel),
            )
            .map_err(err)
        };
        Ok(Tandem {
            name: format!("tandem-{backend}"),
            backend,
            serial: engine(false)?,
            parallel: engine(true)?,
        })
    }
}

impl Subject for Tandem {
    fn name(&self) -> &str {
        &self.name
    }

    fn compile(&self, wasm: &[u8], parallel: bool) -> Result<(), String> {
        let engine = if parallel {
            &self.parallel
        } else {
            &self.serial
        };
        Module::from_binary(engine, wasm).map(drop).map_err(err)
    }

    fn prepare_run(&self, wasm: &[u8]) -> Result<Job, String> {
        let module = Module::from_binary(&self.parallel, wasm).map_err(err)?;
        let results = module.exports().find_map(|export| match export.ty() {
            ExternType::Func(ty) if export.name() == "run" => {
                Some(ty.results().collect::<Vec<_>>())
            }
            _ => None,
        });
        let mut store = Store::new(&self.parallel, ());
        let instance = Instance::new(&mut store, &module, &[]).map_err(err)?;
        match results.as_deref() {
            Some([ValType::I32]) => {
                let run = instance
                    .get_typed_func::<(), i32>(&mut store, "run")
                    .map_err(err)?;
                Ok(Box::new(move || {
                    run.call(&mut store, ()).map(i64::from).map_err(err)
                }))
            }
            Some([ValType::I64]) => {
                let run = instance
                    .get_typed_func::<(), i64>(&mut store, "run")
                    .map_err(err)?;
                Ok(Box::new(move || run.call(&mut store, ()).map_err(err)))
            }
            Some(_) => Err("`run` must return one i32 or i64".into()),
            None => Err("no `run` export".into()),
        }
    }

    fn prepare_host_calls(&self, wasm: &[u8], calls: i32) -> Result<Job, String> {
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

    fn prepare_instantiate(&self, wasm: &[u8], iters: u32) -> Result<Job, String> {
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

    fn prepare_instantiate_pooled(&self, wasm: &[u8], iters: u32) -> Result<Job, String> {
        let engine = Engine::new(
            Config::new()
                .backend(self.backend)
                .allocation_strategy(InstanceAllocationStrategy::pooling()),
        )
        .map_err(err)?;
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

    fn prepare_deserialize(&self, wasm: &[u8], artifact: &Path, iters: u32) -> Result<Job, String> {
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

    fn prepare_wasi(&self, wasm: &[u8], program: &WasiProgram) -> Result<Job, String> {
        crate::wasi::tandem_job(&self.parallel, wasm, program)
    }
}
