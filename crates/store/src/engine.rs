//! [`Engine`]: what every store and module of one configuration shares —
//! the configuration, the backends built into this Tandem, the engine-wide
//! signature registry and the epoch counter.

use crate::config::{BackendKind, Config};
use crate::{Result, format_err};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use tandem_codegen_api::Backend;
use tandem_environ::FuncType;

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
    pub(crate) inner: Arc<EngineInner>,
}

/// What an [`Engine`] shares with every store and module.
pub(crate) struct EngineInner {
    pub(crate) config: Config,
    backends: Vec<(BackendKind, Box<dyn Backend>)>,
    signatures: RwLock<SignatureRegistry>,
    /// The epoch counter compiled code reads (boxed so its address is stable).
    pub(crate) epoch: Box<AtomicU64>,
    /// The instance pool, with [`InstanceAllocationStrategy::Pooling`](crate::InstanceAllocationStrategy::Pooling).
    pub(crate) pool: Option<tandem_vm::pool::InstancePool>,
}

/// Engine-wide numbering of function signatures: equal types get equal ids,
/// which is what `call_indirect` compares.
#[derive(Default)]
struct SignatureRegistry {
    ids: HashMap<FuncType, u32>,
    types: Vec<FuncType>,
}

impl SignatureRegistry {
    fn register(&mut self, ty: &FuncType) -> u32 {
        if let Some(&id) = self.ids.get(ty) {
            return id;
        }
        let id = self.types.len() as u32;
        self.types.push(ty.clone());
        self.ids.insert(ty.clone(), id);
        id
    }
}

impl Engine {
    /// An engine with `config`.
    ///
    /// # Errors
    ///
    /// If `config` asks for something this Tandem does not have: a backend
    /// not built in, or a Wasm proposal not supported yet (see
    /// [`Config`]'s `wasm_*` switches).
    pub fn new(config: &Config) -> Result<Engine> {
        config.validate()?;
        Ok(Engine {
            inner: Arc::new(EngineInner::new(config)?),
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
    /// reaches traps with [`Trap::Interrupt`](crate::Trap::Interrupt) at its
    /// next function entry or loop header (only when
    /// [`Config::epoch_interruption`] is on).
    ///
    /// ```
    /// use tandem_store::{Config, Engine};
    /// let engine = Engine::new(Config::new().epoch_interruption(true)).unwrap();
    /// let ticker = engine.clone();
    /// std::thread::spawn(move || ticker.increment_epoch()).join().unwrap();
    /// ```
    pub fn increment_epoch(&self) {
        self.inner.epoch.fetch_add(1, Ordering::Relaxed);
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(&Config::default()).expect("the default configuration is valid")
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("backend", &self.inner.config.backend)
            .finish_non_exhaustive()
    }
}

impl EngineInner {
    #[allow(clippy::vec_init_then_push, reason = "each entry is feature-gated")]
    fn new(config: &Config) -> Result<Self> {
        #[allow(unused_mut, reason = "no backend feature may be enabled")]
        let mut backends: Vec<(BackendKind, Box<dyn Backend>)> = Vec::new();
        #[cfg(feature = "cranelift")]
        {
            let mut settings = vec![("opt_level", config.cranelift_opt_level.cranelift_name())];
            settings.extend(
                config
                    .cranelift_flags
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_str())),
            );
            backends.push((
                BackendKind::Cranelift,
                Box::new(tandem_backend_cranelift::CraneliftBackend::with_settings(
                    &settings,
                )?),
            ));
        }
        #[cfg(feature = "baseline")]
        backends.push((
            BackendKind::Baseline,
            Box::new(tandem_backend_baseline::BaselineBackend::new()?),
        ));
        if !backends.iter().any(|(k, _)| *k == config.backend) {
            return Err(format_err!(
                "backend `{}` is not built into this Tandem (enable its Cargo feature)",
                config.backend
            ));
        }
        let pool = match &config.allocation {
            crate::InstanceAllocationStrategy::OnDemand => None,
            crate::InstanceAllocationStrategy::Pooling(pooling) => Some(
                tandem_vm::pool::InstancePool::new(&pooling.config, &config.tunables)?,
            ),
        };
        Ok(EngineInner {
            config: config.clone(),
            backends,
            signatures: RwLock::new(SignatureRegistry::default()),
            epoch: Box::new(AtomicU64::new(0)),
            pool,
        })
    }

    /// The backend of `kind`, if built in.
    pub(crate) fn backend(&self, kind: BackendKind) -> Result<&dyn Backend> {
        self.backends
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, b)| &**b)
            .ok_or_else(|| format_err!("backend `{kind}` is not built into this Tandem"))
    }

    /// The engine-wide id of `ty`.
    pub(crate) fn signature_id(&self, ty: &FuncType) -> u32 {
        if let Some(&id) = self.signatures.read().expect("registry lock").ids.get(ty) {
            return id;
        }
        self.signatures.write().expect("registry lock").register(ty)
    }

    /// The signature with engine-wide id `id`.
    pub(crate) fn signature(&self, id: u32) -> FuncType {
        self.signatures.read().expect("registry lock").types[id as usize].clone()
    }
}
