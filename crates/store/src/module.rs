//! [`Module`]: validated, compiled and linked code, ready to instantiate in
//! any store of its engine.

use crate::cache::{Compiled, Settings};
use crate::config::BackendKind;
use crate::types::{ExportType, ExternType, FuncType, ImportType};
use crate::{Context, Engine, Result, format_err};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use tandem_environ::{EntityIndex, ImportKind, ModuleInfo};
use tandem_vm::code_memory::LinkedCode;
use tandem_vm::memory_image::MemoryImages;

/// A compiled module: cheap to clone, `Send + Sync`, instantiable in any
/// number of stores of its engine. Accepts the binary format or text.
///
/// ```
/// use tandem_store::{CompileError, Engine, Module};
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module (import "env" "f" (func)) (func (export "g")))"#).unwrap();
/// assert_eq!(module.num_defined_funcs(), 1);
/// assert_eq!(module.imports().map(|i| format!("{}.{}", i.module(), i.name())).collect::<Vec<_>>(), ["env.f"]);
/// // Invalid input is an error naming the offset, never a panic.
/// let err = Module::new(&engine, b"\0asm\x01\0\0\0\x01").unwrap_err();
/// assert!(err.to_string().contains("offset"));
/// assert!(err.downcast_ref::<CompileError>().is_some());
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
    /// The images came with a precompiled module, which has no bytes for
    /// the segments they hold: they are used even without
    /// [`Config::memory_init_cow`](crate::Config::memory_init_cow).
    pub(crate) images_from_artifact: bool,
}

impl Module {
    /// Compiles a module from binary or text with the engine's default backend.
    ///
    /// # Errors
    ///
    /// A [`wat::Error`] if the text does not parse, a
    /// [`CompileError`](crate::CompileError) naming the byte offset if the
    /// module is malformed, invalid or uses something unsupported.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        Module::with_backend(engine, bytes, engine.config().backend)
    }

    /// Compiles the module in the file at `path`, binary or text.
    ///
    /// ```
    /// use tandem_store::{Engine, Module};
    /// let path = std::env::temp_dir().join(format!("tandem-doc-{}.wat", std::process::id()));
    /// std::fs::write(&path, r#"(module (func (export "f")))"#).unwrap();
    /// let module = Module::from_file(&Engine::default(), &path).unwrap();
    /// assert_eq!(module.exports().next().unwrap().name(), "f");
    /// std::fs::remove_file(&path).unwrap();
    /// let err = Module::from_file(&Engine::default(), &path).unwrap_err();
    /// assert!(err.downcast_ref::<std::io::Error>().is_some());
    /// ```
    ///
    /// # Errors
    ///
    /// The file cannot be read (an [`std::io::Error`] with the path as
    /// context), or as [`Module::new`]; text errors name the file.
    pub fn from_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .with_context(|| format!("failed to read input file `{}`", path.display()))?;
        if bytes.starts_with(b"\0asm") {
            return Module::from_binary(engine, &bytes);
        }
        let binary = wat::Parser::new().parse_bytes(Some(path), &bytes)?;
        Module::from_binary(engine, &binary)
    }

    /// Checks that `bytes` (binary) is a valid module for `engine`'s
    /// features, without compiling it.
    ///
    /// ```
    /// use tandem_store::{Engine, Module};
    /// let engine = Engine::default();
    /// assert!(Module::validate(&engine, &wat::parse_str("(module)").unwrap()).is_ok());
    /// assert!(Module::validate(&engine, b"\0asm\x02\0\0\0").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// A [`CompileError`](crate::CompileError) naming the byte offset.
    pub fn validate(engine: &Engine, bytes: &[u8]) -> Result<()> {
        tandem_environ::translate(bytes, engine.config().features)
            .map_err(tandem_codegen_api::CompileError::from)?;
        Ok(())
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
        let binary = wat::parse_bytes(bytes)?;
        Module::compile(engine, &binary, backend)
    }

    /// Compiles a module from its binary encoding.
    pub fn from_binary(engine: &Engine, bytes: &[u8]) -> Result<Module> {
        Module::compile(engine, bytes, engine.config().backend)
    }

    fn compile(engine: &Engine, bytes: &[u8], backend: BackendKind) -> Result<Module> {
        let inner = &engine.inner;
        let config = &inner.config;
        let Compiled { info, code } = match &config.cache {
            Some(cache) => cache.get_or_compile(bytes, Settings::new(config, backend), || {
                compile_fresh(engine, bytes, backend)
            })?,
            None => compile_fresh(engine, bytes, backend)?,
        };
        Ok(Module::from_code(engine, info, code, backend))
    }

    /// The module of `info` whose linked code is `code`.
    pub(crate) fn from_code(
        engine: &Engine,
        info: Arc<ModuleInfo>,
        code: Arc<LinkedCode>,
        backend: BackendKind,
    ) -> Module {
        Module::from_artifact(engine, info, code, backend, None)
    }

    /// [`Module::from_code`] for a precompiled module, with the memory
    /// images it carried, if any.
    pub(crate) fn from_artifact(
        engine: &Engine,
        info: Arc<ModuleInfo>,
        code: Arc<LinkedCode>,
        backend: BackendKind,
        images: Option<MemoryImages>,
    ) -> Module {
        let images_from_artifact = images.is_some();
        let memory_images = OnceLock::new();
        if images_from_artifact {
            // A fresh lock: this cannot fail.
            let _ = memory_images.set(images);
        }
        let type_ids = info
            .types
            .iter()
            .map(|ty| engine.inner.signature_id(ty))
            .collect();
        Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                info,
                code,
                type_ids,
                backend,
                memory_images,
                images_from_artifact,
            }),
        }
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

    /// The module's imports, in order.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = ImportType<'_>> + '_ {
        let info = &self.inner.info;
        info.imports.iter().map(move |i| {
            let ty = match &i.kind {
                ImportKind::Func(t) => {
                    ExternType::Func(FuncType::from_environ(info.types[t.index()].clone()))
                }
                ImportKind::Table(t) => ExternType::Table(*t),
                ImportKind::Memory(t) => ExternType::Memory(*t),
                ImportKind::Global(t) => ExternType::Global(*t),
            };
            ImportType {
                module: &i.module,
                name: &i.name,
                ty,
            }
        })
    }

    /// The module's exports, in order.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = ExportType<'_>> + '_ {
        let info = &self.inner.info;
        info.exports.iter().map(move |e| ExportType {
            name: &e.name,
            ty: entity_type(info, e.index),
        })
    }

    /// The type of the export `name`, if there is one.
    ///
    /// ```
    /// use tandem_store::{Engine, Module};
    /// let module = Module::new(&Engine::default(), r#"(module (memory (export "m") 1))"#).unwrap();
    /// assert!(module.get_export("m").unwrap().memory().is_some());
    /// assert!(module.get_export("f").is_none());
    /// ```
    pub fn get_export(&self, name: &str) -> Option<ExternType> {
        let info = &self.inner.info;
        info.export(name).map(|index| entity_type(info, index))
    }

    /// The module's memory images, built on first use; `None` when the
    /// engine does not use images, the module's data segments must be
    /// copied, or the kernel refused the image files (then copying works
    /// just as well, only slower).
    pub(crate) fn memory_images(&self) -> Option<&MemoryImages> {
        if !self.inner.engine.config().memory_init_cow && !self.inner.images_from_artifact {
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

/// Validates, compiles and links `bytes` with `backend`.
fn compile_fresh(engine: &Engine, bytes: &[u8], backend: BackendKind) -> Result<Compiled> {
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
            .map_err(|e| format_err!("cannot start the compile thread: {e}"))?
            .install(|| compiler.compile_module(&translation, tunables))?
    };
    let info = Arc::new(translation.module);
    let code = LinkedCode::link(&compiled, info.clone())?;
    Ok(Compiled { info, code })
}

pub(crate) fn entity_type(info: &ModuleInfo, index: EntityIndex) -> ExternType {
    match index {
        EntityIndex::Func(f) => ExternType::Func(FuncType::from_environ(info.func_type(f).clone())),
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
