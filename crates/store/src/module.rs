//! [`Module`]: validated, compiled and linked code, plus the engine state it
//! registers into (backends and the engine-wide signature registry).

use crate::config::{BackendKind, Config};
use crate::{Engine, Error, Result};
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock, RwLock};
use tandem_codegen_api::Backend;
use tandem_environ::{
    EntityIndex, FuncType, GlobalType, ImportKind, MemoryType, ModuleInfo, TableType,
};
use tandem_vm::code_memory::LinkedCode;
use tandem_vm::memory_image::MemoryImages;

/// Engine-wide numbering of function signatures: equal types get equal ids,
/// which is what `call_indirect` compares.
#[derive(Default)]
pub(crate) struct SignatureRegistry {
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

/// What an [`Engine`] shares with every store and module.
pub(crate) struct EngineInner {
    pub(crate) config: Config,
    backends: Vec<(BackendKind, Box<dyn Backend>)>,
    signatures: RwLock<SignatureRegistry>,
    /// The epoch counter compiled code reads (boxed so its address is stable).
    pub(crate) epoch: Box<AtomicU64>,
}

impl EngineInner {
    #[allow(clippy::vec_init_then_push, reason = "each entry is feature-gated")]
    pub(crate) fn new(config: &Config) -> Result<Self> {
        #[allow(unused_mut, reason = "no backend feature may be enabled")]
        let mut backends: Vec<(BackendKind, Box<dyn Backend>)> = Vec::new();
        #[cfg(feature = "cranelift")]
        backends.push((
            BackendKind::Cranelift,
            Box::new(tandem_backend_cranelift::CraneliftBackend::new()?),
        ));
        #[cfg(feature = "baseline")]
        backends.push((
            BackendKind::Baseline,
            Box::new(tandem_backend_baseline::BaselineBackend::new()?),
        ));
        if !backends.iter().any(|(k, _)| *k == config.backend) {
            return Err(Error::Usage(format!(
                "backend `{}` is not built into this Tandem (enable its Cargo feature)",
                config.backend
            )));
        }
        Ok(EngineInner {
            config: config.clone(),
            backends,
            signatures: RwLock::new(SignatureRegistry::default()),
            epoch: Box::new(AtomicU64::new(0)),
        })
    }

    fn backend(&self, kind: BackendKind) -> Result<&dyn Backend> {
        self.backends
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, b)| &**b)
            .ok_or_else(|| Error::Usage(format!("backend `{kind}` is not built into this Tandem")))
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

/// The type of an import or export.
///
/// ```
/// use tandem_store::{Engine, ExternType, Module, ValType};
/// let module = Module::new(&Engine::default(), r#"(module (global (export "g") i64 (i64.const 1)))"#).unwrap();
/// let (name, ty) = module.exports().next().unwrap();
/// assert_eq!(name, "g");
/// assert!(matches!(ty, ExternType::Global(g) if g.content == ValType::I64));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A global.
    Global(GlobalType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
}

/// A compiled module: cheap to clone, `Send + Sync`, instantiable in any
/// number of stores of its engine. Accepts the binary format or text.
///
/// ```
/// use tandem_store::{Engine, Module};
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module (import "env" "f" (func)) (func (export "g")))"#).unwrap();
/// assert_eq!(module.num_defined_funcs(), 1);
/// assert_eq!(module.imports().map(|(m, n, _)| format!("{m}.{n}")).collect::<Vec<_>>(), ["env.f"]);
/// // Invalid input is an error naming the offset, never a panic.
/// let err = Module::new(&engine, b"\0asm\x01\0\0\0\x01").unwrap_err();
/// assert!(err.to_string().contains("offset"));
/// ```
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

pub(crate) struct ModuleInner {
    pub(crate) engine: Engine,
    pub(crate) info: Arc<ModuleInfo>,
    pub(crate) code: Arc<LinkedCode>,
    /// Engine-wide signature id per type index.
    pub(crate) type_ids: Arc<[u32]>,
    backend: BackendKind,
    /// Copy-on-write images of the initial memory contents, built on the
    /// first instantiation; `None` inside when the module copies its data
    /// segments instead (see [`tandem_vm::memory_image`]).
    memory_images: OnceLock<Option<MemoryImages>>,
}

impl Module {
    /// Compiles a module from binary or text with the engine's default backend.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        Module::with_backend(engine, bytes, engine.config().backend)
    }

    /// Compiles a module from binary or text with the named backend.
    pub fn with_backend(
        engine: &Engine,
        bytes: impl AsRef<[u8]>,
        backend: BackendKind,
    ) -> Result<Module> {
        let bytes = bytes.as_ref();
        if bytes.starts_with(b"\0asm") {
            return Module::compile(engine, bytes, backend);
        }
        let binary = wat::parse_bytes(bytes).map_err(|e| Error::Wat(e.to_string()))?;
        Module::compile(engine, &binary, backend)
    }

    /// Compiles a module from its binary encoding.
    pub fn from_binary(engine: &Engine, bytes: &[u8]) -> Result<Module> {
        Module::compile(engine, bytes, engine.config().backend)
    }

    fn compile(engine: &Engine, bytes: &[u8], backend: BackendKind) -> Result<Module> {
        let inner = &engine.inner;
        let compiler = inner.backend(backend)?;
        let translation = tandem_environ::translate(bytes, inner.config.features)
            .map_err(tandem_codegen_api::CompileError::from)?;
        let tunables = &inner.config.tunables;
        let compiled = if inner.config.parallel_compilation {
            compiler.compile_module(&translation, tunables)?
        } else {
            rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .map_err(|e| Error::Usage(format!("cannot start the compile thread: {e}")))?
                .install(|| compiler.compile_module(&translation, tunables))?
        };
        let info = Arc::new(translation.module);
        let code = LinkedCode::link(&compiled, info.clone())?;
        let type_ids = info.types.iter().map(|ty| inner.signature_id(ty)).collect();
        Ok(Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                info,
                code,
                type_ids,
                backend,
                memory_images: OnceLock::new(),
            }),
        })
    }

    /// The engine the module belongs to.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The backend that compiled it.
    pub fn backend(&self) -> BackendKind {
        self.inner.backend
    }

    /// The module's name from the name section.
    pub fn name(&self) -> Option<&str> {
        self.inner.info.name.as_deref()
    }

    /// Number of functions the module defines.
    pub fn num_defined_funcs(&self) -> usize {
        self.inner.info.num_defined_funcs()
    }

    /// The module's imports: (module, name, type).
    pub fn imports(&self) -> impl ExactSizeIterator<Item = (&str, &str, ExternType)> + '_ {
        let info = &self.inner.info;
        info.imports.iter().map(move |i| {
            let ty = match &i.kind {
                ImportKind::Func(t) => ExternType::Func(info.types[t.index()].clone()),
                ImportKind::Table(t) => ExternType::Table(*t),
                ImportKind::Memory(t) => ExternType::Memory(*t),
                ImportKind::Global(t) => ExternType::Global(*t),
            };
            (i.module.as_str(), i.name.as_str(), ty)
        })
    }

    /// The module's exports: (name, type).
    pub fn exports(&self) -> impl ExactSizeIterator<Item = (&str, ExternType)> + '_ {
        let info = &self.inner.info;
        info.exports
            .iter()
            .map(move |e| (e.name.as_str(), entity_type(info, e.index)))
    }

    /// The module's memory images, built on first use; `None` when the
    /// engine does not use images, the module's data segments must be
    /// copied, or the kernel refused the image files (then copying works
    /// just as well, only slower).
    pub(crate) fn memory_images(&self) -> Option<&MemoryImages> {
        if !self.inner.engine.config().memory_init_cow {
            return None;
        }
        self.inner
            .memory_images
            .get_or_init(|| MemoryImages::new(&self.inner.info).ok().flatten())
            .as_ref()
    }

    /// Whether instances of this module map copy-on-write memory images
    /// instead of copying their data segments (builds the images if that
    /// has not happened yet). For tests and benchmarks.
    #[doc(hidden)]
    pub fn uses_memory_images(&self) -> bool {
        self.memory_images().is_some()
    }

    pub(crate) fn info(&self) -> &Arc<ModuleInfo> {
        &self.inner.info
    }

    /// Wasm-to-array trampolines by engine-wide signature id.
    pub(crate) fn trampolines(&self) -> impl Iterator<Item = (u32, *const u8)> + '_ {
        self.inner.info.types.iter().enumerate().map(|(i, _)| {
            let index = tandem_environ::TypeIndex::new(i);
            (self.inner.type_ids[i], self.inner.code.wasm_to_array(index))
        })
    }
}

pub(crate) fn entity_type(info: &ModuleInfo, index: EntityIndex) -> ExternType {
    match index {
        EntityIndex::Func(f) => ExternType::Func(info.func_type(f).clone()),
        EntityIndex::Table(t) => ExternType::Table(info.tables[t.index()]),
        EntityIndex::Memory(m) => ExternType::Memory(info.memories[m.index()]),
        EntityIndex::Global(g) => ExternType::Global(info.globals[g.index()]),
    }
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name())
            .field("backend", &self.backend())
            .field("functions", &self.num_defined_funcs())
            .finish()
    }
}
