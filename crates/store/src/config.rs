//! [`Config`]: the settings an [`Engine`](crate::Engine) is built with, under
//! wasmtime's names: the code generator ([`Strategy`], [`BackendKind`]),
//! Wasm proposals (`wasm_*`), linear-memory layout, fuel and epochs.

use crate::{Result, bail};
use tandem_environ::{BoundsChecks, WasmFeatures};

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
    /// The single-pass baseline backend on dynasmrt (fast to compile).
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

/// wasmtime's name for the choice of code generator: Winch is its baseline
/// compiler, so [`Strategy::Winch`] picks Tandem's baseline backend.
///
/// ```
/// use tandem_store::{BackendKind, Config, Engine, Strategy};
/// let engine = Engine::new(Config::new().strategy(Strategy::Winch)).unwrap();
/// assert_eq!(engine.config().backend_kind(), BackendKind::Baseline);
/// assert_eq!(BackendKind::from(Strategy::Auto), BackendKind::Cranelift);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Strategy {
    /// Tandem's choice: Cranelift.
    Auto,
    /// The optimizing backend.
    Cranelift,
    /// The baseline backend (wasmtime's baseline compiler is called Winch).
    Winch,
}

impl From<Strategy> for BackendKind {
    fn from(strategy: Strategy) -> BackendKind {
        match strategy {
            Strategy::Auto | Strategy::Cranelift => BackendKind::Cranelift,
            Strategy::Winch => BackendKind::Baseline,
        }
    }
}

/// How hard Cranelift optimizes ([`Config::cranelift_opt_level`]).
///
/// ```
/// use tandem_store::{Config, Engine, OptLevel};
/// let engine = Engine::new(Config::new().cranelift_opt_level(OptLevel::None)).unwrap();
/// assert_eq!(engine.config().cranelift_opt_level_value(), OptLevel::None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OptLevel {
    /// Fastest compilation, few optimizations.
    None,
    /// The fastest code (default).
    Speed,
    /// Fast code, also kept small.
    SpeedAndSize,
}

impl OptLevel {
    /// Cranelift's `opt_level` setting.
    pub(crate) fn cranelift_name(self) -> &'static str {
        match self {
            OptLevel::None => "none",
            OptLevel::Speed => "speed",
            OptLevel::SpeedAndSize => "speed_and_size",
        }
    }
}

/// Settings for an [`Engine`](crate::Engine).
///
/// Setters never fail; [`Engine::new`](crate::Engine::new) rejects a
/// configuration this Tandem cannot honour (a proposal not supported yet,
/// traps without signal handlers, core dumps) with a message naming the
/// setting.
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
    pub(crate) features: WasmFeatures,
    pub(crate) parallel_compilation: bool,
    pub(crate) memory_init_cow: bool,
    memory_reservation: u64,
    memory_guard_size: u64,
    signals_based_traps: bool,
    coredump_on_trap: bool,
    pub(crate) cranelift_opt_level: OptLevel,
    pub(crate) cranelift_flags: Vec<(String, String)>,
    pub(crate) cache: Option<crate::Cache>,
    pub(crate) allocation: crate::InstanceAllocationStrategy,
}

/// 4 GiB: a 32-bit memory's whole index space.
const FOUR_GIB: u64 = 1 << 32;

impl Default for Config {
    fn default() -> Self {
        let mut config = Config {
            backend: BackendKind::Cranelift,
            max_wasm_stack: 512 << 10,
            tunables: Default::default(),
            features: tandem_environ::default_features(),
            parallel_compilation: true,
            memory_init_cow: true,
            // The whole 32-bit index space, and a guard covering every u32
            // offset plus the widest access: no bounds checks at all.
            memory_reservation: FOUR_GIB,
            memory_guard_size: FOUR_GIB + (64 << 10),
            signals_based_traps: true,
            coredump_on_trap: false,
            cranelift_opt_level: OptLevel::Speed,
            cranelift_flags: Vec::new(),
            cache: None,
            allocation: crate::InstanceAllocationStrategy::OnDemand,
        };
        config.update_memory_tunables();
        config
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

    /// The backend modules are compiled with unless one is named.
    ///
    /// ```
    /// use tandem_store::{BackendKind, Config};
    /// assert_eq!(Config::new().backend_kind(), BackendKind::Cranelift);
    /// ```
    pub fn backend_kind(&self) -> BackendKind {
        self.backend
    }

    /// The code generator, by wasmtime's name (see [`Strategy`]); the same
    /// setting as [`Config::backend`].
    pub fn strategy(&mut self, strategy: Strategy) -> &mut Self {
        self.backend(strategy.into())
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

    /// Reuse compiled code through `cache` (default none): compiling bytes
    /// the cache has seen, with the same backend and settings, takes the
    /// linked code from it. See [`Cache`](crate::Cache).
    pub fn cache(&mut self, cache: Option<crate::Cache>) -> &mut Self {
        self.cache = cache;
        self
    }

    /// How instances get their memories, tables and VMContext (default
    /// [`InstanceAllocationStrategy::OnDemand`](crate::InstanceAllocationStrategy::OnDemand)).
    /// Pooling reserves everything when the engine is created and reuses
    /// it, so instantiating in a loop makes no `mmap` (see
    /// [`PoolingAllocationConfig`](crate::PoolingAllocationConfig)).
    ///
    /// ```
    /// use tandem_store::{Config, Engine, InstanceAllocationStrategy, Linker, Module, Store};
    /// let mut config = Config::new();
    /// config.allocation_strategy(InstanceAllocationStrategy::pooling());
    /// let engine = Engine::new(&config).unwrap();
    /// let module = Module::new(&engine, r#"(module (memory (export "m") 1) (data (i32.const 0) "hi"))"#).unwrap();
    /// let pre = Linker::<()>::new(&engine).instantiate_pre(&module).unwrap();
    /// for _ in 0..10 {
    ///     let mut store = Store::new(&engine, ());
    ///     let instance = pre.instantiate(&mut store).unwrap();
    ///     let memory = instance.get_memory(&mut store, "m").unwrap();
    ///     assert_eq!(&memory.data(&store)[..2], b"hi");
    ///     memory.data_mut(&mut store)[0] = b'H'; // the next instance sees "hi" again
    /// }
    /// ```
    pub fn allocation_strategy(
        &mut self,
        strategy: impl Into<crate::InstanceAllocationStrategy>,
    ) -> &mut Self {
        self.allocation = strategy.into();
        self
    }

    /// The instance allocation strategy.
    pub fn allocation(&self) -> &crate::InstanceAllocationStrategy {
        &self.allocation
    }

    /// Compile functions on all cores (default) or on the calling thread.
    pub fn parallel_compilation(&mut self, yes: bool) -> &mut Self {
        self.parallel_compilation = yes;
        self
    }

    /// Turns every Wasm feature in `flag` on or off at once (wasmtime's
    /// switch for sets of features; the `wasm_*` methods turn on one
    /// proposal each). Turning on one Tandem does not support makes
    /// [`Engine::new`](crate::Engine::new) fail naming it.
    ///
    /// ```
    /// use tandem_store::{Config, Engine, Module, WasmFeatures};
    /// let mut config = Config::new();
    /// config
    ///     .wasm_features(WasmFeatures::all(), false)
    ///     .wasm_features(WasmFeatures::WASM2 & !WasmFeatures::SIMD, true);
    /// let engine = Engine::new(&config).unwrap();
    /// // Wasm 2.0 has no tail calls.
    /// let tail = "(module (func $f (return_call $f)))";
    /// assert!(Module::new(&engine, tail).is_err());
    /// assert!(Module::new(&Engine::default(), tail).is_ok());
    /// ```
    pub fn wasm_features(&mut self, flag: WasmFeatures, enable: bool) -> &mut Self {
        self.features.set(flag, enable);
        self
    }

    /// Every Wasm feature an [`Engine`](crate::Engine) accepts: the
    /// default features and the partly supported proposals (see each
    /// `wasm_*` switch).
    ///
    /// ```
    /// use tandem_store::{Config, WasmFeatures};
    /// assert!(Config::supported_wasm_features().contains(WasmFeatures::TAIL_CALL));
    /// assert!(Config::supported_wasm_features().contains(WasmFeatures::GC));
    /// assert!(!Config::supported_wasm_features().contains(WasmFeatures::EXCEPTIONS));
    /// ```
    pub fn supported_wasm_features() -> WasmFeatures {
        PROPOSALS
            .iter()
            .filter(|p| p.support == Support::Partial)
            .fold(tandem_environ::default_features(), |all, p| all | p.flag)
    }

    /// Meter Wasm execution with fuel (default off).
    ///
    /// Each store then starts with **0 fuel**, so calling Wasm traps with
    /// [`Trap::OutOfFuel`](crate::Trap::OutOfFuel) until
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

    /// Let [`Engine::increment_epoch`](crate::Engine::increment_epoch)
    /// interrupt running Wasm (default off).
    ///
    /// Compiled code compares the engine's epoch with its store's deadline
    /// (see [`Store::set_epoch_deadline`](crate::Store::set_epoch_deadline))
    /// at function entry and loop headers, and traps with
    /// [`Trap::Interrupt`](crate::Trap::Interrupt) once the epoch reaches
    /// it. A store has no deadline until one is set.
    pub fn epoch_interruption(&mut self, yes: bool) -> &mut Self {
        self.tunables.epoch_interruption = yes;
        self
    }

    /// Bytes of address space reserved for each linear memory (default
    /// 4 GiB). With at least 4 GiB no 32-bit index can leave the
    /// reservation, so compiled code checks no bounds and the guard region
    /// catches what the offset adds; with less, every access is checked and
    /// a memory cannot grow past its reservation (`memory.grow` returns -1).
    /// Memories never move in Tandem.
    ///
    /// ```
    /// use tandem_store::{Config, Engine, Instance, Module, Store};
    /// let engine = Engine::new(Config::new().memory_reservation(1 << 20)).unwrap();
    /// let module = Module::new(&engine, r#"(module (memory 1)
    ///     (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))"#).unwrap();
    /// let mut store = Store::new(&engine, ());
    /// let instance = Instance::new(&mut store, &module, &[]).unwrap();
    /// let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
    /// assert_eq!(grow.call(&mut store, 15).unwrap(), 1); // 16 pages = 1 MiB
    /// assert_eq!(grow.call(&mut store, 1).unwrap(), -1); // past the reservation
    /// ```
    pub fn memory_reservation(&mut self, bytes: u64) -> &mut Self {
        self.memory_reservation = bytes;
        self.update_memory_tunables();
        self
    }

    /// Bytes of inaccessible address space after each linear memory's
    /// reservation (default 4 GiB + 64 KiB). An access whose constant offset
    /// the guard covers needs no bounds check; others are checked. Only
    /// used with a reservation of at least 4 GiB: below that every access
    /// is checked and a guard would protect nothing.
    ///
    /// ```
    /// use tandem_store::{Config, Engine};
    /// let engine = Engine::new(Config::new().memory_reservation(1 << 32).memory_guard_size(1 << 32));
    /// assert!(engine.is_ok());
    /// ```
    pub fn memory_guard_size(&mut self, bytes: u64) -> &mut Self {
        self.memory_guard_size = bytes;
        self.update_memory_tunables();
        self
    }

    /// Whether traps may come from signal handlers (default on). Tandem
    /// always catches out-of-bounds accesses, division traps and
    /// `unreachable` with its signal handlers, so turning this off makes
    /// [`Engine::new`](crate::Engine::new) fail rather than run unprotected.
    ///
    /// ```
    /// use tandem_store::{Config, Engine};
    /// assert!(Engine::new(Config::new().signals_based_traps(true)).is_ok());
    /// let err = Engine::new(Config::new().signals_based_traps(false)).unwrap_err();
    /// assert!(err.to_string().contains("signals_based_traps"));
    /// ```
    pub fn signals_based_traps(&mut self, yes: bool) -> &mut Self {
        self.signals_based_traps = yes;
        self.update_memory_tunables();
        self
    }

    /// Cranelift's optimization level (default [`OptLevel::Speed`]); the
    /// baseline backend ignores it.
    pub fn cranelift_opt_level(&mut self, level: OptLevel) -> &mut Self {
        self.cranelift_opt_level = level;
        self
    }

    /// The configured Cranelift optimization level.
    pub fn cranelift_opt_level_value(&self) -> OptLevel {
        self.cranelift_opt_level
    }

    /// Turns on the Cranelift setting `flag` (a shared setting such as
    /// `enable_verifier`, or an ISA one such as `has_avx2`); an unknown flag
    /// makes [`Engine::new`](crate::Engine::new) fail.
    ///
    /// # Safety
    ///
    /// An ISA flag the CPU lacks makes compiled code execute instructions
    /// the CPU does not have.
    ///
    /// ```
    /// use tandem_store::{Config, Engine};
    /// let mut config = Config::new();
    /// // SAFETY: the verifier only checks the IR; it changes no instruction.
    /// unsafe { config.cranelift_flag_enable("enable_verifier") };
    /// assert!(Engine::new(&config).is_ok());
    /// // SAFETY: an unknown flag is rejected before any code is compiled.
    /// unsafe { config.cranelift_flag_enable("no_such_flag") };
    /// assert!(Engine::new(&config).is_err());
    /// ```
    pub unsafe fn cranelift_flag_enable(&mut self, flag: &str) -> &mut Self {
        // SAFETY: forwarded from the caller.
        unsafe { self.cranelift_flag_set(flag, "true") }
    }

    /// Sets the Cranelift setting `name` to `value` (see
    /// [`Config::cranelift_flag_enable`]).
    ///
    /// # Safety
    ///
    /// As [`Config::cranelift_flag_enable`].
    ///
    /// ```
    /// use tandem_store::{Config, Engine};
    /// let mut config = Config::new();
    /// // SAFETY: `regalloc_checker` only checks the register allocation.
    /// unsafe { config.cranelift_flag_set("regalloc_checker", "true") };
    /// assert!(Engine::new(&config).is_ok());
    /// ```
    pub unsafe fn cranelift_flag_set(&mut self, name: &str, value: &str) -> &mut Self {
        self.cranelift_flags
            .push((name.to_string(), value.to_string()));
        self
    }

    /// Compile for `target` (a target triple or just its architecture).
    /// Tandem compiles only for the machine it runs on, so anything else is
    /// an error.
    ///
    /// ```
    /// use tandem_store::Config;
    /// let mut config = Config::new();
    /// assert!(config.target("x86_64").is_ok());
    /// assert!(config.target("x86_64-unknown-linux-gnu").is_ok());
    /// assert!(config.target("aarch64-apple-darwin").is_err());
    /// ```
    pub fn target(&mut self, target: &str) -> Result<&mut Self> {
        let host = std::env::consts::ARCH;
        let arch = target.split('-').next().unwrap_or(target);
        if arch != host {
            bail!(
                "cannot compile for `{target}`: Tandem compiles only for the host ({host}), not for other targets"
            );
        }
        Ok(self)
    }

    /// Capture a core dump when Wasm traps. Tandem cannot write core dumps
    /// yet, so turning this on makes [`Engine::new`](crate::Engine::new)
    /// fail.
    ///
    /// ```
    /// use tandem_store::{Config, Engine};
    /// let err = Engine::new(Config::new().coredump_on_trap(true)).unwrap_err();
    /// assert!(err.to_string().contains("core dumps"));
    /// ```
    pub fn coredump_on_trap(&mut self, yes: bool) -> &mut Self {
        self.coredump_on_trap = yes;
        self
    }

    /// Recomputes the memory part of the tunables from the settings.
    fn update_memory_tunables(&mut self) {
        let guarded = self.signals_based_traps && self.memory_reservation >= FOUR_GIB;
        self.tunables.bounds_checks = if guarded {
            BoundsChecks::Guarded
        } else {
            BoundsChecks::Explicit
        };
        // The vm maps this much per memory and never grows a memory past
        // it; with explicit checks a guard protects nothing, so none is
        // mapped and the reservation is also the growth limit.
        self.tunables.memory_reservation = if guarded {
            self.memory_reservation
                .saturating_add(self.memory_guard_size)
        } else {
            self.memory_reservation
        };
    }

    /// What [`Engine::new`](crate::Engine::new) refuses.
    pub(crate) fn validate(&self) -> Result<()> {
        for proposal in PROPOSALS {
            if proposal.support == Support::No && self.features.contains(proposal.flag) {
                bail!(
                    "the {} proposal is not supported by Tandem yet (Config::{}(true))",
                    proposal.name,
                    proposal.setter
                );
            }
        }
        if !self.signals_based_traps {
            bail!(
                "Tandem catches traps with signal handlers and cannot run without them (Config::signals_based_traps(false))"
            );
        }
        if self.coredump_on_trap {
            bail!("core dumps are not supported by Tandem yet (Config::coredump_on_trap(true))");
        }
        if self
            .memory_reservation
            .checked_add(self.memory_guard_size)
            .is_none_or(|total| usize::try_from(total).is_err())
        {
            bail!(
                "memory_reservation ({}) plus memory_guard_size ({}) exceed the address space",
                self.memory_reservation,
                self.memory_guard_size
            );
        }
        Ok(())
    }
}

/// One Wasm proposal a `Config::wasm_*` switch turns on or off.
struct Proposal {
    flag: WasmFeatures,
    name: &'static str,
    setter: &'static str,
    support: Support,
}

/// How much of a proposal Tandem implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Support {
    /// All of it: on by default.
    Full,
    /// Part of it (the switch's doc says which): off by default, may be
    /// turned on; a module using the rest is a `CompileError::Unsupported`.
    Partial,
    /// None yet: turning it on is an error.
    No,
}

/// The [`Support`] written in the list, and what its doc and doc test say.
macro_rules! support {
    (true) => {
        Support::Full
    };
    (partial) => {
        Support::Partial
    };
    (false) => {
        Support::No
    };
    (note true) => {
        " (supported, on by default)."
    };
    (note partial) => {
        " (partly supported, off by default: see below)."
    };
    (note false) => {
        " (not supported yet: on is an error)."
    };
    (default true) => {
        "true"
    };
    (default $other:tt) => {
        "false"
    };
    (accepted false) => {
        "false"
    };
    (accepted $other:tt) => {
        "true"
    };
}

/// The `wasm_*` switches, from one list: each becomes a setter and a row of
/// [`PROPOSALS`], which [`Config::validate`] checks.
macro_rules! proposals {
    ($($(#[$doc:meta])* $setter:ident => $($flag:ident)|+, $name:literal, supported: $supported:tt;)*) => {
        const PROPOSALS: &[Proposal] = &[$(Proposal {
            flag: WasmFeatures::empty()$(.union(WasmFeatures::$flag))+,
            name: $name,
            setter: stringify!($setter),
            support: support!($supported),
        }),*];

        /// Wasm proposals, under wasmtime's names. The WebAssembly 2.0
        /// proposals are on by default and can be turned off; turning on one
        /// Tandem does not support yet makes
        /// [`Engine::new`](crate::Engine::new) fail naming it.
        impl Config {$(
            #[doc = concat!("Turns the ", $name, " proposal on or off",
                support!(note $supported),
                "\n\n```\nuse tandem_store::{Config, Engine};\nlet mut config = Config::new();\nconfig.",
                stringify!($setter), "(", support!(default $supported), ");\nassert!(Engine::new(&config).is_ok());\nconfig.",
                stringify!($setter), "(true);\nassert_eq!(Engine::new(&config).is_ok(), ", support!(accepted $supported), ");\n```")]
            $(#[$doc])*
            pub fn $setter(&mut self, enable: bool) -> &mut Self {
                let flag = WasmFeatures::empty()$(.union(WasmFeatures::$flag))+;
                self.features.set(flag, enable);
                self
            }
        )*}
    };
}

proposals! {
    wasm_multi_value => MULTI_VALUE, "multi-value", supported: true;
    wasm_bulk_memory => BULK_MEMORY, "bulk memory", supported: true;
    wasm_reference_types => REFERENCE_TYPES, "reference types", supported: true;
    wasm_simd => SIMD, "SIMD", supported: true;
    wasm_relaxed_simd => RELAXED_SIMD, "relaxed SIMD", supported: true;
    wasm_threads => THREADS, "threads", supported: false;
    wasm_multi_memory => MULTI_MEMORY, "multi-memory", supported: false;
    wasm_memory64 => MEMORY64, "memory64", supported: false;
    wasm_tail_call => TAIL_CALL, "tail calls", supported: true;
    wasm_extended_const => EXTENDED_CONST, "extended constant expressions", supported: true;
    wasm_function_references => FUNCTION_REFERENCES, "typed function references", supported: true;
    /// Of Wasm GC, Tandem implements the type system that typed function
    /// references use in Wasm 3.0: recursion groups, final and non-final
    /// types, struct and array type definitions (they take part in type
    /// identity), and constant expressions reading any earlier global.
    /// Declared supertypes, the GC heap types (`anyref`, `eqref`,
    /// `i31ref`, `structref`, `arrayref`, `nullref`) and the struct, array,
    /// i31 and cast instructions are a
    /// [`CompileError::Unsupported`](crate::CompileError) naming them.
    wasm_gc => GC, "garbage collection", supported: partial;
    wasm_exceptions => EXCEPTIONS, "exception handling", supported: false;
    wasm_wide_arithmetic => WIDE_ARITHMETIC, "wide arithmetic", supported: false;
    wasm_custom_page_sizes => CUSTOM_PAGE_SIZES, "custom page sizes", supported: false;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_proposals_are_exactly_the_defaults() {
        let defaults = tandem_environ::default_features();
        for p in PROPOSALS {
            assert_eq!(
                defaults.contains(p.flag),
                p.support == Support::Full,
                "{}",
                p.setter
            );
        }
    }

    #[test]
    fn a_switched_off_proposal_is_rejected_by_validation() {
        let engine = crate::Engine::new(Config::new().wasm_reference_types(false)).unwrap();
        let err = crate::Module::new(&engine, "(module (table 1 externref))").unwrap_err();
        assert!(err.to_string().contains("reference types"), "{err}");
    }

    #[test]
    fn small_reservations_check_bounds() {
        let mut config = Config::new();
        config.memory_reservation(1 << 20);
        assert_eq!(config.tunables.bounds_checks, BoundsChecks::Explicit);
        config.memory_reservation(FOUR_GIB).memory_guard_size(0);
        assert_eq!(config.tunables.bounds_checks, BoundsChecks::Guarded);
        assert_eq!(config.tunables.memory_reservation, FOUR_GIB);
        assert!(config.memory_guard_size(u64::MAX).validate().is_err());
    }
}
