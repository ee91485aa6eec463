//! [`Config`] and [`Engine`]: compilation settings and what stores share.

use crate::Result;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Which code generator compiles a module.
/// ```
/// use tandem_store::{BackendKind, Config, Engine};
/// let kind: BackendKind = "cranelift".parse().unwrap();
/// assert!(BackendKind::available().contains(&kind));
/// let engine = Engine::new(Config::new().backend(kind)).unwrap();
/// # let _ = engine;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// The optimizing backend on Cranelift.
    Cranelift,
    /// The single-pass baseline backend (not built yet).
    Baseline,
}

impl BackendKind {
    /// The backends built into this Tandem (by Cargo feature).
    pub fn available() -> &'static [BackendKind] {
        &[
            #[cfg(feature = "cranelift")]
            BackendKind::Cranelift,
            #[cfg(feature = "baseline")]
            BackendKind::Baseline,
        ]
    }
}

impl std::str::FromStr for BackendKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "cranelift" => Ok(BackendKind::Cranelift),
            "baseline" => Ok(BackendKind::Baseline),
            other => Err(format!(
                "unknown backend `{other}` (expected cranelift or baseline)"
            )),
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BackendKind::Cranelift => "cranelift",
            BackendKind::Baseline => "baseline",
        })
    }
}

/// Settings for an [`Engine`].
///
/// ```
/// use tandem_store::{Config, Engine};
/// let mut config = Config::new();
/// config.max_wasm_stack(256 << 10).parallel_compilation(false);
/// let engine = Engine::new(&config).unwrap();
/// assert_eq!(engine.config().max_wasm_stack_size(), 256 << 10);
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) backend: BackendKind,
    pub(crate) max_wasm_stack: usize,
    pub(crate) tunables: tandem_environ::Tunables,
    pub(crate) features: tandem_environ::WasmFeatures,
    pub(crate) parallel_compilation: bool,
    pub(crate) memory_init_cow: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            backend: BackendKind::Cranelift,
            max_wasm_stack: 512 << 10,
            tunables: Default::default(),
            features: tandem_environ::default_features(),
            parallel_compilation: true,
            memory_init_cow: true,
        }
    }
}

impl Config {
    /// The default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// The backend modules are compiled with unless one is named.
    pub fn backend(&mut self, backend: BackendKind) -> &mut Self {
        self.backend = backend;
        self
    }

    /// Bytes of native stack Wasm may use before it traps with stack overflow.
    ///
    /// Measured from where the host first calls into Wasm. On a thread with
    /// less native stack left than this, Wasm gets what the thread has minus
    /// a safety margin for host frames (`tandem_vm::traphandlers::
    /// STACK_SAFETY_MARGIN`), so it still traps instead of crashing.
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_wasm_stack = bytes;
        self
    }

    /// The configured Wasm stack size in bytes.
    pub fn max_wasm_stack_size(&self) -> usize {
        self.max_wasm_stack
    }

    /// Compile functions on all cores (default) or on the calling thread.
    pub fn parallel_compilation(&mut self, yes: bool) -> &mut Self {
        self.parallel_compilation = yes;
        self
    }

    /// Meter Wasm execution with fuel (default off).
    ///
    /// Each store then starts with **0 fuel**, so calling Wasm traps with
    /// [`TrapCode::OutOfFuel`](crate::TrapCode::OutOfFuel) until
    /// [`Store::set_fuel`](crate::Store::set_fuel) gives it some. Most
    /// operators cost 1 and entering a function costs 1; the exact rules are
    /// on [`Tunables::consume_fuel`](tandem_environ::Tunables::consume_fuel).
    /// Fuel is checked at function entry and loop headers, so a call may
    /// overshoot by the straight-line code between two checks.
    pub fn consume_fuel(&mut self, yes: bool) -> &mut Self {
        self.tunables.consume_fuel = yes;
        self
    }

    /// Initialise memories from copy-on-write images (default on).
    ///
    /// When a module's data segments all go to memories it defines, at
    /// constant offsets, within the initial sizes, its initial memory
    /// contents are built once (on its first instantiation) in a
    /// memory-backed file, which each instance maps privately instead of
    /// copying the segments: instantiation touches no memory page, and
    /// instances still never see each other's writes. Other modules copy
    /// their segments either way. Off: every module copies.
    pub fn memory_init_cow(&mut self, yes: bool) -> &mut Self {
        self.memory_init_cow = yes;
        self
    }

    /// Let [`Engine::increment_epoch`] interrupt running Wasm (default off).
    ///
    /// Compiled code compares the engine's epoch with its store's deadline
    /// (see [`Store::set_epoch_deadline`](crate::Store::set_epoch_deadline))
    /// at function entry and loop headers, and traps with
    /// [`TrapCode::Interrupt`](crate::TrapCode::Interrupt) once the epoch
    /// reaches it. A store has no deadline until one is set.
    pub fn epoch_interruption(&mut self, yes: bool) -> &mut Self {
        self.tunables.epoch_interruption = yes;
        self
    }
}

/// Shared, thread-safe compilation context: the backends and the engine-wide
/// signature registry. Cheap to clone.
///
/// ```
/// use tandem_store::{Engine, Module};
/// let engine = Engine::default();
/// let module = Module::new(&engine, "(module)").unwrap();
/// assert!(Engine::same(module.engine(), &engine));
/// ```
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<crate::module::EngineInner>,
}

impl Engine {
    /// An engine with `config`.
    pub fn new(config: &Config) -> Result<Engine> {
        crate::module::EngineInner::new(config).map(|inner| Engine {
            inner: Arc::new(inner),
        })
    }

    /// The engine's configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Whether two handles are the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// Advances the engine's epoch by one tick. Any thread may call this,
    /// also while Wasm runs; Wasm in stores whose deadline the new epoch
    /// reaches traps with [`TrapCode::Interrupt`](crate::TrapCode::Interrupt)
    /// at its next function entry or loop header (only when
    /// [`Config::epoch_interruption`] is on).
    pub fn increment_epoch(&self) {
        self.inner.epoch.fetch_add(1, Ordering::Relaxed);
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(&Config::default()).expect("the default configuration is valid")
    }
}
