//! What the WASI test files share: one engine per backend, the C test
//! programs (`programs/*.c`, built to the `.wasm` beside them by `cargo xtask
//! wasi-programs`) compiled once per engine, and running one to its end.

#![allow(dead_code, reason = "each test file uses only part of this module")]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use tandem_store::{
    BackendKind, Config, Engine, Error, Linker, Module, Store, Trap, WasmBacktrace,
};
use tandem_wasi::{I32Exit, MemoryOutputPipe, WasiCtx, WasiCtxBuilder};

/// The store data of every test: just the WASI context.
pub struct Host {
    pub wasi: WasiCtx,
}

/// An engine per backend built in, created once.
pub fn engines() -> &'static [(BackendKind, Engine)] {
    static ENGINES: OnceLock<Vec<(BackendKind, Engine)>> = OnceLock::new();
    ENGINES.get_or_init(|| {
        assert!(
            !BackendKind::available().is_empty(),
            "built without a backend"
        );
        BackendKind::available()
            .iter()
            .map(|&kind| (kind, Engine::new(Config::new().backend(kind)).unwrap()))
            .collect()
    })
}

/// The path of test program `name`'s `.wasm`.
pub fn program_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(format!("{name}.wasm"))
}

/// Test program `name` compiled for `kind`'s engine (once per pair). A
/// missing `.wasm` fails the test, naming how to build it.
pub fn program(kind: BackendKind, name: &str) -> Module {
    static MODULES: OnceLock<Mutex<HashMap<(BackendKind, String), Module>>> = OnceLock::new();
    let modules = MODULES.get_or_init(Default::default);
    if let Some(module) = modules.lock().unwrap().get(&(kind, name.to_string())) {
        return module.clone();
    }
    let path = program_path(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the test programs with `cargo xtask wasi-programs`",
            path.display()
        )
    });
    let engine = &engines().iter().find(|(k, _)| *k == kind).unwrap().1;
    let module = Module::from_binary(engine, &bytes).unwrap();
    modules
        .lock()
        .unwrap()
        .insert((kind, name.to_string()), module.clone());
    module
}

/// How a program ended and what it wrote.
#[derive(Debug)]
pub struct Outcome {
    /// The exit status: `proc_exit`'s, or 0 when `_start` returned.
    pub status: Option<i32>,
    /// How the call failed, if it did: the trap (none when a WASI call
    /// failed), and a description with the Wasm frames.
    pub trap: Option<(Option<Trap>, String)>,
    pub stdout: String,
    pub stderr: String,
    /// Stdout as written, for binary output.
    pub stdout_bytes: Vec<u8>,
}

impl Outcome {
    /// Asserts a clean exit with `status`, printing everything otherwise.
    #[track_caller]
    pub fn assert_status(&self, status: i32) -> &Self {
        assert_eq!(self.status, Some(status), "{self:#?}");
        self
    }
}

/// Runs `module`'s `_start` in a new store with the context `configure`
/// builds (stdout and stderr are captured; `configure` may replace them).
pub fn run(
    kind: BackendKind,
    module: &Module,
    configure: impl FnOnce(&mut WasiCtxBuilder),
) -> Outcome {
    let engine = &engines().iter().find(|(k, _)| *k == kind).unwrap().1;
    let stdout = MemoryOutputPipe::new(1 << 24);
    let stderr = MemoryOutputPipe::new(1 << 24);
    let mut builder = WasiCtxBuilder::new();
    builder.stdout(stdout.clone()).stderr(stderr.clone());
    configure(&mut builder);
    let wasi = builder.build().unwrap();
    let mut linker = Linker::new(engine);
    tandem_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi).unwrap();
    let mut store = Store::new(engine, Host { wasi });
    let instance = linker.instantiate(&mut store, module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    let (status, trap) = match start.call(&mut store, ()) {
        Ok(()) => (Some(0), None),
        Err(err) => match err.downcast_ref::<I32Exit>() {
            Some(exit) => (Some(exit.0), None),
            None => (
                None,
                Some((err.downcast_ref::<Trap>().copied(), describe(&err))),
            ),
        },
    };
    let text = |pipe: &MemoryOutputPipe| String::from_utf8_lossy(&pipe.contents()).into_owned();
    Outcome {
        status,
        trap,
        stdout: text(&stdout),
        stderr: text(&stderr),
        stdout_bytes: stdout.contents(),
    }
}

/// A failed call as its root cause plus its frames' function names.
fn describe(err: &Error) -> String {
    let frames: Vec<&str> = err
        .downcast_ref::<WasmBacktrace>()
        .map_or(&[][..], |bt| bt.frames())
        .iter()
        .map(|f| f.func_name().unwrap_or_default())
        .collect();
    format!("{} [{}]", err.root_cause(), frames.join(" < "))
}

/// Runs test program `name` on every backend, checking each outcome.
pub fn each_backend(name: &str, mut test: impl FnMut(BackendKind, &Module)) {
    for &(kind, _) in engines() {
        println!("backend: {kind}");
        test(kind, &program(kind, name));
    }
}
