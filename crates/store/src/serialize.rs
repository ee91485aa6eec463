//! Precompiled modules, the ahead-of-time path: [`Module::serialize`] and
//! [`Engine::precompile_module`] write a module's linked code and
//! everything needed to run it; [`Module::deserialize`] and
//! [`Module::deserialize_file`] load it back without compiling.
//!
//! # The artifact
//!
//! ```text
//! [0, 8)        magic `\0twasm\r\n`
//! [8, 12)       CRC-32 of every byte from 12 to the end (little-endian)
//! [12, 20)      the artifact's length in bytes (u64, little-endian)
//! [20, 28)      where the text starts (u64, little-endian; a page multiple)
//! [28, ...)     postcard: the version line (`tandem 0.1.0, artifact format N`)
//!               postcard: [`Compat`], what the code was compiled for
//!               postcard: the `ModuleInfo` and the code's `CodeLayout`
//!               zeros up to the text
//! [text, end)   the linked machine code, whole pages
//! ```
//!
//! Loading checks, in order, each failure one line of [`PrecompiledError`]:
//! the magic (and says so when it finds a Wasm module instead), the length
//! (truncation), the checksum (any damage), the version line (a stale
//! artifact), then [`Compat`] against the loading engine: the backend, the
//! Wasm features, the tunables that shape code, the backend's code-shaping
//! settings and the CPU features the code uses
//! ([`CodeFlags`](tandem_codegen_api::CodeFlags)). Only then is the
//! metadata decoded and the code mapped. `tandem-vm` checks again that the
//! layout keeps every entry point and relocation inside the text.
//!
//! The framing is a few fixed little-endian words, so the checksum and the
//! text can be found without decoding anything; everything with structure
//! is `serde`-derived and encoded with `postcard` (compact, stable,
//! `serde`'s own format for this; wasmtime uses it for its metadata too),
//! and `crc32fast` computes the checksum (hardware CRC, gigabytes per
//! second).
//!
//! The text starts at a page boundary of the file so that
//! [`Module::deserialize_file`] maps it instead of copying: relocation
//! writes only the few absolute-address fields (usually none), so the code
//! pages stay shared with the page cache and with every other process
//! running the same artifact.

use crate::config::BackendKind;
use crate::{Context, Engine, Error, Module, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use tandem_codegen_api::CodeFlags;
use tandem_environ::{DataSegment, ModuleInfo, SegmentMode, Tunables, WasmFeatures};
use tandem_vm::code_memory::{ArtifactFile, CodeLayout, LinkedCode, Text};
use tandem_vm::memory_image::{ImageContents, MemoryImage, MemoryImages};

/// The first bytes of every precompiled module.
const MAGIC: [u8; 8] = *b"\0twasm\r\n";
/// Bytes of the fixed header: magic, checksum, length, text offset.
const HEADER_LEN: usize = 28;
/// Where the checksummed bytes start (everything after the checksum).
const CHECKSUMMED_FROM: usize = 12;
/// The shape of everything after the header. Bump it whenever a serialized
/// type changes (`ModuleInfo` and the types in it, `CodeLayout`, `Compat`).
const FORMAT: u32 = 1;
/// Where a text starts: a multiple of every x86-64 page size in use.
const TEXT_ALIGN: usize = 4096;

/// The version line: which Tandem, which artifact format.
fn version_line() -> String {
    format!(
        "tandem {}, artifact format {FORMAT}",
        env!("CARGO_PKG_VERSION")
    )
}

/// What the code in an artifact was compiled for; a loading engine must
/// match it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Compat {
    /// The backend's name (`BackendKind`'s).
    backend: String,
    /// The Wasm features the module was validated with (wasmparser's bits).
    features: u64,
    /// Every tunable (they all shape code or what code assumes).
    tunables: Tunables,
    /// The backend's code-shaping settings.
    settings: Vec<(String, String)>,
    /// The CPU features the code may use.
    cpu_features: Vec<String>,
}

/// The module and where its code and memory images sit.
#[derive(Serialize, Deserialize)]
struct Body<'a> {
    /// The module, without its data segments (they are in `data`).
    module: ModuleInfo,
    data: Vec<DataRun>,
    #[serde(borrow)]
    code: CodeLayout<'a>,
    /// With images: for each defined memory, its image in the artifact
    /// (the images follow the text, whole pages each).
    images: Option<Vec<Option<ImageRecord>>>,
}

/// Data segments in order, runs of those whose bytes are in the memory
/// images told apart in few bytes.
#[derive(Serialize, Deserialize)]
enum DataRun {
    /// This many active segments applied by the memory images. Loaded,
    /// each becomes a segment whose mode is `Declared` and that has no
    /// bytes: after instantiation that is what an active segment is (a
    /// dropped one), and the images make instantiation need no more.
    InImages(u32),
    /// A segment as it is.
    Segment(DataSegment),
}

/// One memory's image in an artifact.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct ImageRecord {
    /// Where it goes in the memory.
    offset: u64,
    /// Its length (whole pages).
    len: u64,
    /// Where it starts, counted from the end of the text.
    after_text: u64,
}

/// Images are stored only if they are at most this many times the bytes of
/// the segments they hold, plus [`IMAGE_SLACK`]: a module with two
/// segments a gigabyte apart keeps its segments instead.
const IMAGE_BLOAT: usize = 2;
/// See [`IMAGE_BLOAT`].
const IMAGE_SLACK: usize = 1 << 20;

/// Why a precompiled module cannot be loaded. Every message is one line.
///
/// ```
/// use tandem_store::{Engine, Module, PrecompiledError};
/// let engine = Engine::default();
/// let mut bytes = Module::new(&engine, "(module)").unwrap().serialize().unwrap();
/// bytes.truncate(bytes.len() - 1);
/// // SAFETY: the bytes were written by `serialize` (and are then refused).
/// let err = unsafe { Module::deserialize(&engine, &bytes) }.unwrap_err();
/// assert!(matches!(err.downcast_ref(), Some(PrecompiledError::Truncated { .. })));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrecompiledError {
    /// The bytes are a WebAssembly module, not a precompiled one.
    #[error(
        "the bytes are a WebAssembly module, not a precompiled Tandem module: compile them with `Module::new`"
    )]
    Wasm,
    /// The bytes do not start with the precompiled-module magic.
    #[error("not a precompiled Tandem module (it does not start with `\\0twasm`)")]
    NotPrecompiled,
    /// Fewer bytes than the header says.
    #[error("truncated precompiled module: {found} of {expected} bytes")]
    Truncated {
        /// The length the header records (or the header's own length).
        expected: u64,
        /// The bytes given.
        found: u64,
    },
    /// The checksum does not match: the bytes were damaged.
    #[error("corrupted precompiled module: its checksum does not match its contents")]
    Corrupted,
    /// Written by another version of Tandem.
    #[error("the module was precompiled by {found}, but this is {expected}: precompile it again")]
    Version {
        /// This Tandem's version line.
        expected: String,
        /// The artifact's.
        found: String,
    },
    /// Compiled for another configuration or CPU.
    #[error("the precompiled module does not fit this engine: {0}")]
    Incompatible(String),
    /// The contents make no sense although the checksum matched.
    #[error("malformed precompiled module: {0}")]
    Malformed(String),
}

/// What [`Engine::detect_precompiled`] found.
///
/// ```
/// use tandem_store::{Engine, Module, Precompiled};
/// let engine = Engine::default();
/// let bytes = engine.precompile_module(b"(module)").unwrap();
/// assert_eq!(engine.detect_precompiled(&bytes), Some(Precompiled::Module));
/// assert_eq!(engine.detect_precompiled(b"\0asm\x01\0\0\0"), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Precompiled {
    /// A precompiled core module ([`Module::deserialize`] loads it).
    Module,
    /// A precompiled component (Tandem has no components: never returned).
    Component,
}

impl Engine {
    /// Compiles `bytes` (binary or text) and returns it precompiled, as
    /// [`Module::serialize`] writes it: [`Module::deserialize`] and
    /// [`Module::deserialize_file`] load it in an engine configured alike.
    ///
    /// ```
    /// use tandem_store::{Engine, Instance, Module, Store};
    /// let engine = Engine::default();
    /// let bytes = engine.precompile_module(br#"(module (func (export "f") (result i32) i32.const 9))"#).unwrap();
    /// // SAFETY: the bytes were just produced by `precompile_module`.
    /// let module = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    /// let mut store = Store::new(&engine, ());
    /// let instance = Instance::new(&mut store, &module, &[]).unwrap();
    /// assert_eq!(instance.get_typed_func::<(), i32>(&mut store, "f").unwrap().call(&mut store, ()).unwrap(), 9);
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Module::new`].
    pub fn precompile_module(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        Module::new(self, bytes)?.serialize()
    }

    /// Whether `bytes` look like a precompiled module (only the magic is
    /// checked: loading checks the rest). `None` for a Wasm module or
    /// anything else.
    pub fn detect_precompiled(&self, bytes: &[u8]) -> Option<Precompiled> {
        bytes.starts_with(&MAGIC).then_some(Precompiled::Module)
    }

    /// [`Engine::detect_precompiled`] on the first bytes of the file at
    /// `path`.
    ///
    /// ```
    /// use tandem_store::{Engine, Precompiled};
    /// let engine = Engine::default();
    /// let path = std::env::temp_dir().join(format!("tandem-detect-{}.twasm", std::process::id()));
    /// std::fs::write(&path, engine.precompile_module(b"(module)").unwrap()).unwrap();
    /// assert_eq!(engine.detect_precompiled_file(&path).unwrap(), Some(Precompiled::Module));
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// If the file cannot be read.
    pub fn detect_precompiled_file(&self, path: impl AsRef<Path>) -> Result<Option<Precompiled>> {
        use std::io::Read;
        let path = path.as_ref();
        let mut start = Vec::with_capacity(MAGIC.len());
        std::fs::File::open(path)
            .and_then(|file| file.take(MAGIC.len() as u64).read_to_end(&mut start))
            .with_context(|| format!("failed to read `{}`", path.display()))?;
        Ok(self.detect_precompiled(&start))
    }

    /// A value whose hash is the same for two engines exactly when a module
    /// one of them precompiles with its default backend can be loaded by
    /// the other (for keying caches of precompiled modules).
    ///
    /// ```
    /// use std::hash::{DefaultHasher, Hash, Hasher};
    /// use tandem_store::{Config, Engine};
    /// let hash = |engine: &Engine| {
    ///     let mut h = DefaultHasher::new();
    ///     engine.precompile_compatibility_hash().hash(&mut h);
    ///     h.finish()
    /// };
    /// assert_eq!(hash(&Engine::default()), hash(&Engine::default()));
    /// assert_ne!(hash(&Engine::default()), hash(&Engine::new(Config::new().consume_fuel(true)).unwrap()));
    /// ```
    pub fn precompile_compatibility_hash(&self) -> impl std::hash::Hash + '_ {
        CompatibilityHash(self)
    }

    /// What this engine's `backend` code would be compiled for.
    fn compat(&self, backend: BackendKind) -> Result<Compat> {
        let config = self.config();
        let flags = self.inner.backend(backend)?.code_flags();
        Ok(Compat {
            backend: backend.to_string(),
            features: config.features.bits(),
            tunables: config.tunables.clone(),
            settings: flags.settings,
            cpu_features: flags.cpu_features,
        })
    }
}

/// See [`Engine::precompile_compatibility_hash`].
struct CompatibilityHash<'a>(&'a Engine);

impl std::hash::Hash for CompatibilityHash<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        version_line().hash(state);
        if let Ok(compat) = self.0.compat(self.0.config().backend) {
            postcard::to_allocvec(&compat)
                .unwrap_or_default()
                .hash(state);
        }
    }
}

impl Module {
    /// The module precompiled: its linked code and everything needed to
    /// run it, for [`Module::deserialize`] or [`Module::deserialize_file`]
    /// in an engine configured alike, on a CPU with the features the code
    /// uses (see the `serialize.rs` module docs for the format).
    ///
    /// ```
    /// use tandem_store::{Engine, Module};
    /// let engine = Engine::default();
    /// let module = Module::new(&engine, r#"(module (func (export "f")))"#).unwrap();
    /// let bytes = module.serialize().unwrap();
    /// // SAFETY: the bytes were just produced by `serialize`.
    /// let again = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    /// assert_eq!(again.exports().next().unwrap().name(), "f");
    /// ```
    ///
    /// # Errors
    ///
    /// If the module's backend is not in its engine (never for a module the
    /// engine compiled) or the encoding fails.
    pub fn serialize(&self) -> Result<Vec<u8>> {
        let compat = self.engine().compat(self.backend())?;
        let (layout, text) = self.inner.code.to_layout();
        let images = self.image_contents()?;
        let mut module = ModuleInfo::clone(self.info());
        let segments = std::mem::take(&mut module.data);
        let mut after_text = 0;
        let records = images.as_ref().map(|images| {
            images
                .iter()
                .map(|image| {
                    image.as_ref().map(|(offset, bytes)| {
                        let record = ImageRecord {
                            offset: *offset as u64,
                            len: bytes.len() as u64,
                            after_text,
                        };
                        after_text += bytes.len() as u64;
                        record
                    })
                })
                .collect()
        });
        let body = Body {
            module,
            data: data_runs(segments, images.is_some()),
            code: layout,
            images: records,
        };
        let image_bytes: Vec<&[u8]> = images
            .iter()
            .flatten()
            .flatten()
            .map(|(_, bytes)| &bytes[..])
            .collect();
        write(&version_line(), &compat, &body, text, &image_bytes)
    }

    /// The memory images to store with the module, as `(offset, bytes)` per
    /// defined memory: its current images if it was loaded with them (its
    /// data segments are then in them), else the images its segments make,
    /// if it qualifies and they are not much larger than the segments.
    fn image_contents(&self) -> Result<Option<Vec<Option<ImageContents>>>> {
        let info = self.info();
        if self.inner.images_from_artifact {
            let images = self
                .memory_images()
                .context("the module's memory images are gone")?;
            let read = (0..images.len())
                .map(|i| {
                    images
                        .get(tandem_environ::DefinedMemoryIndex::new(i))
                        .map(|image| Ok::<_, Error>((image.offset(), image.read()?)))
                        .transpose()
                })
                .collect::<Result<_>>()?;
            return Ok(Some(read));
        }
        let Some(images) = MemoryImages::contents(info) else {
            return Ok(None);
        };
        let data: usize = info.data.iter().map(|d| d.data.len()).sum();
        let image: usize = images.iter().flatten().map(|(_, b)| b.len()).sum();
        Ok((image <= IMAGE_BLOAT * data + IMAGE_SLACK).then_some(images))
    }

    /// Loads a module that [`Module::serialize`] or
    /// [`Engine::precompile_module`] wrote, without compiling. The code is
    /// copied out of `bytes`; [`Module::deserialize_file`] maps it instead.
    ///
    /// See [`Module::serialize`] for an example.
    ///
    /// # Errors
    ///
    /// A [`PrecompiledError`] when the bytes are not a precompiled module,
    /// are truncated or damaged, come from another Tandem version, or were
    /// compiled for another configuration (backend, Wasm features, fuel,
    /// epochs, memory layout, backend settings) or for CPU features this
    /// host lacks.
    ///
    /// # Safety
    ///
    /// The bytes must come from [`Module::serialize`] or
    /// [`Engine::precompile_module`] of a Tandem the caller trusts: they
    /// hold machine code that will run. The checks above catch accidents (a
    /// stale, truncated or bit-flipped file), not forgeries: bytes crafted
    /// to pass them can do anything.
    pub unsafe fn deserialize(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        let bytes = bytes.as_ref();
        let opened = open(engine, bytes)?;
        let text = bytes
            .get(usize::try_from(opened.text_offset).unwrap_or(usize::MAX)..)
            .unwrap_or_default();
        // SAFETY: the caller vouches for the artifact, whose header matched
        // this engine's configuration and CPU.
        unsafe { load(engine, opened, Text::Bytes(text)) }
    }

    /// Loads a precompiled module from the file at `path`, mapping its code
    /// instead of copying it (pages nothing writes stay shared with the
    /// page cache).
    ///
    /// ```
    /// use tandem_store::{Engine, Module};
    /// let engine = Engine::default();
    /// let path = std::env::temp_dir().join(format!("tandem-doc-{}.twasm", std::process::id()));
    /// std::fs::write(&path, engine.precompile_module(br#"(module (func (export "f")))"#).unwrap()).unwrap();
    /// // SAFETY: the file was just written by `precompile_module` and is
    /// // left alone while the module lives.
    /// let module = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
    /// assert_eq!(module.exports().len(), 1);
    /// # drop(module);
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// If the file cannot be read, or as [`Module::deserialize`].
    ///
    /// # Safety
    ///
    /// As [`Module::deserialize`], and the file must not change or shrink
    /// while the module lives (replacing it with a new file, as a rename
    /// does, is fine): its code runs from the file's pages.
    pub unsafe fn deserialize_file(engine: &Engine, path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref();
        let read = || format!("failed to read precompiled module `{}`", path.display());
        // SAFETY: the caller keeps the file intact while the module lives.
        let file = Arc::new(unsafe { ArtifactFile::open(path) }.with_context(read)?);
        let opened = open(engine, file.bytes())?;
        let text = Text::File {
            file: &file,
            offset: opened.text_offset,
        };
        // SAFETY: as in `deserialize`.
        unsafe { load(engine, opened, text) }
    }
}

/// `segments` as runs, the active ones folded into `InImages` runs when
/// the images hold them (`Declared` ones are already in them).
fn data_runs(segments: Vec<DataSegment>, in_images: bool) -> Vec<DataRun> {
    let mut runs = Vec::new();
    for segment in segments {
        let imaged = match segment.mode {
            SegmentMode::Active { .. } => in_images,
            SegmentMode::Declared => true,
            SegmentMode::Passive => false,
        };
        match (imaged, runs.last_mut()) {
            (true, Some(DataRun::InImages(n))) => *n += 1,
            (true, _) => runs.push(DataRun::InImages(1)),
            (false, _) => runs.push(DataRun::Segment(segment)),
        }
    }
    runs
}

/// The data segments of `runs`.
fn expand(runs: Vec<DataRun>) -> Vec<DataSegment> {
    let mut segments = Vec::new();
    for run in runs {
        match run {
            DataRun::InImages(n) => {
                segments.resize_with(segments.len() + n as usize, || DataSegment {
                    mode: SegmentMode::Declared,
                    data: Box::default(),
                })
            }
            DataRun::Segment(segment) => segments.push(segment),
        }
    }
    segments
}

/// The artifact of `body`, its `text` and its memory `images`, compiled
/// for `compat`, headed by `version`.
fn write(
    version: &str,
    compat: &Compat,
    body: &Body,
    text: &[u8],
    images: &[&[u8]],
) -> Result<Vec<u8>> {
    let images_len: usize = images.iter().map(|i| i.len()).sum();
    let mut out = Vec::with_capacity(HEADER_LEN + text.len() + images_len + TEXT_ALIGN * 2);
    out.extend_from_slice(&MAGIC);
    out.resize(HEADER_LEN, 0);
    let out = postcard::to_extend(version, out)?;
    let out = postcard::to_extend(compat, out)?;
    let mut out = postcard::to_extend(body, out)?;
    let text_offset = out.len().next_multiple_of(TEXT_ALIGN);
    out.resize(text_offset, 0);
    out.extend_from_slice(text);
    for image in images {
        out.extend_from_slice(image);
    }
    let len = out.len() as u64;
    out[12..20].copy_from_slice(&len.to_le_bytes());
    out[20..28].copy_from_slice(&(text_offset as u64).to_le_bytes());
    seal(&mut out);
    Ok(out)
}

/// Writes the checksum of `artifact` into its header.
fn seal(artifact: &mut [u8]) {
    let checksum = crc32fast::hash(&artifact[CHECKSUMMED_FROM..]);
    artifact[8..12].copy_from_slice(&checksum.to_le_bytes());
}

/// An artifact whose header and compatibility were checked.
struct Opened<'a> {
    /// Where its text starts.
    text_offset: u64,
    /// The backend that compiled it.
    backend: BackendKind,
    body: Body<'a>,
}

/// Checks the header and compatibility of the artifact `bytes` and decodes
/// its body.
fn open<'a>(engine: &Engine, bytes: &'a [u8]) -> Result<Opened<'a>, PrecompiledError> {
    if !bytes.starts_with(&MAGIC) {
        if bytes.starts_with(b"\0asm") {
            return Err(PrecompiledError::Wasm);
        }
        if !MAGIC.starts_with(bytes) || bytes.is_empty() {
            return Err(PrecompiledError::NotPrecompiled);
        }
    }
    let found = bytes.len() as u64;
    if bytes.len() < HEADER_LEN {
        return Err(PrecompiledError::Truncated {
            expected: HEADER_LEN as u64,
            found,
        });
    }
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let expected = word(12);
    if found < expected {
        return Err(PrecompiledError::Truncated { expected, found });
    }
    let checksum = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if crc32fast::hash(&bytes[CHECKSUMMED_FROM..]) != checksum {
        return Err(PrecompiledError::Corrupted);
    }
    if found > expected {
        return Err(PrecompiledError::Malformed(format!(
            "{} bytes follow its end",
            found - expected
        )));
    }
    let text_offset = word(20);
    let malformed = |what: &str, e: postcard::Error| {
        PrecompiledError::Malformed(format!("cannot decode its {what}: {e}"))
    };
    let rest = &bytes[HEADER_LEN..];
    let (version, rest) =
        postcard::take_from_bytes::<String>(rest).map_err(|e| malformed("version", e))?;
    let expected_version = version_line();
    if version != expected_version {
        return Err(PrecompiledError::Version {
            expected: expected_version,
            found: version,
        });
    }
    let (compat, rest) =
        postcard::take_from_bytes::<Compat>(rest).map_err(|e| malformed("settings", e))?;
    let backend = check_compat(engine, &compat)?;
    let (body, _) = postcard::take_from_bytes::<Body>(rest).map_err(|e| malformed("module", e))?;
    let text_len = body.code.text_len();
    let images_len = body
        .images
        .iter()
        .flatten()
        .flatten()
        .try_fold(0u64, |end, image| {
            (image.after_text == end).then(|| end.checked_add(image.len))?
        });
    let end = images_len.and_then(|images| text_offset.checked_add(text_len)?.checked_add(images));
    if end != Some(expected) {
        return Err(PrecompiledError::Malformed(format!(
            "its {text_len}-byte text at {text_offset} and its memory images do not end where the artifact does"
        )));
    }
    Ok(Opened {
        text_offset,
        backend,
        body,
    })
}

/// Checks that code compiled for `compat` can run in `engine`; returns its
/// backend.
fn check_compat(engine: &Engine, compat: &Compat) -> Result<BackendKind, PrecompiledError> {
    let incompatible = PrecompiledError::Incompatible;
    let backend: BackendKind = compat.backend.parse().map_err(|_| {
        incompatible(format!(
            "it was compiled by the unknown backend `{}`",
            compat.backend
        ))
    })?;
    let here = engine.compat(backend).map_err(|_| {
        incompatible(format!(
            "it was compiled by the `{backend}` backend, which this Tandem is built without"
        ))
    })?;
    if compat.features != here.features {
        let theirs = WasmFeatures::from_bits_retain(compat.features);
        let ours = WasmFeatures::from_bits_retain(here.features);
        let names = |set: WasmFeatures| {
            let names: Vec<&str> = set.iter_names().map(|(name, _)| name).collect();
            if names.is_empty() {
                format!("{:#x}", set.bits())
            } else {
                names.join(", ").to_lowercase()
            }
        };
        let mut diff = Vec::new();
        if !(theirs - ours).is_empty() {
            diff.push(format!(
                "it was compiled with Wasm features this engine has off ({})",
                names(theirs - ours)
            ));
        }
        if !(ours - theirs).is_empty() {
            diff.push(format!(
                "this engine has Wasm features on that it was compiled without ({})",
                names(ours - theirs)
            ));
        }
        return Err(incompatible(diff.join("; ")));
    }
    check_tunables(&compat.tunables, &here.tunables).map_err(incompatible)?;
    let compiled = CodeFlags {
        settings: compat.settings.clone(),
        cpu_features: compat.cpu_features.clone(),
    };
    let host = CodeFlags {
        settings: here.settings,
        cpu_features: here.cpu_features,
    };
    host.can_run(&compiled).map_err(incompatible)?;
    Ok(backend)
}

/// Names the first tunable that differs, with the setting that changes it.
fn check_tunables(compiled: &Tunables, here: &Tunables) -> Result<(), String> {
    // Destructured so that a new tunable does not compile until it is
    // compared here.
    let Tunables {
        bounds_checks,
        memory_reservation,
        consume_fuel,
        epoch_interruption,
    } = compiled;
    let differs =
        |what: &str, setting: &str, theirs: &dyn std::fmt::Debug, ours: &dyn std::fmt::Debug| {
            Err(format!(
                "it was compiled with {what} = {theirs:?}, this engine has {ours:?} ({setting})"
            ))
        };
    if *consume_fuel != here.consume_fuel {
        return differs(
            "fuel metering",
            "Config::consume_fuel",
            consume_fuel,
            &here.consume_fuel,
        );
    }
    if *epoch_interruption != here.epoch_interruption {
        return differs(
            "epoch interruption",
            "Config::epoch_interruption",
            epoch_interruption,
            &here.epoch_interruption,
        );
    }
    if *bounds_checks != here.bounds_checks {
        return differs(
            "bounds checks",
            "Config::memory_reservation and memory_guard_size",
            bounds_checks,
            &here.bounds_checks,
        );
    }
    if *memory_reservation != here.memory_reservation {
        return differs(
            "a memory reservation (with guard) of bytes",
            "Config::memory_reservation and memory_guard_size",
            memory_reservation,
            &here.memory_reservation,
        );
    }
    Ok(())
}

/// Maps or copies the code of a checked artifact and wraps it in a module.
///
/// # Safety
///
/// As [`LinkedCode::from_layout`]: the artifact is trusted and fits the
/// engine.
unsafe fn load(engine: &Engine, opened: Opened<'_>, text: Text<'_>) -> Result<Module> {
    let malformed = |e: String| PrecompiledError::Malformed(e);
    let Opened {
        backend,
        body,
        text_offset,
    } = opened;
    let Body {
        mut module,
        data,
        code,
        images,
    } = body;
    module.data = expand(data);
    module
        .check_indices()
        .map_err(|e| malformed(format!("its module is inconsistent: {e}")))?;
    let images_at = text_offset + code.text_len();
    let images = match images {
        Some(records) => {
            // SAFETY: forwarded from the caller.
            let images = unsafe { load_images(&module, &records, text, text_offset, images_at) }?;
            Some(images)
        }
        None if module
            .data
            .iter()
            .any(|d| matches!(d.mode, SegmentMode::Declared)) =>
        {
            return Err(malformed("its data is missing".into()).into());
        }
        None => None,
    };
    let info = Arc::new(module);
    // SAFETY: forwarded from the caller.
    let code = unsafe { LinkedCode::from_layout(code, text, info.clone()) }
        .map_err(|e| malformed(e.to_string()))?;
    Ok(Module::from_artifact(engine, info, code, backend, images))
}

/// The memory images `records` describe, in the artifact whose text is
/// `text` (at `text_offset`) and whose images start at `images_at`: mapped
/// from its file, or copied into memfds from its bytes.
///
/// # Safety
///
/// As for [`Module::deserialize_file`]: a file must be left alone while
/// the images live.
unsafe fn load_images(
    module: &ModuleInfo,
    records: &[Option<ImageRecord>],
    text: Text<'_>,
    text_offset: u64,
    images_at: u64,
) -> Result<MemoryImages, PrecompiledError> {
    let malformed = |e: String| PrecompiledError::Malformed(e);
    if records.len() != module.num_defined_memories() {
        return Err(malformed(format!(
            "{} memory images for {} memories",
            records.len(),
            module.num_defined_memories()
        )));
    }
    let images = records
        .iter()
        .map(|record| {
            let Some(record) = record else {
                return Ok(None);
            };
            let (offset, len) = (record.offset as usize, record.len as usize);
            let at = images_at + record.after_text;
            let image = match text {
                // SAFETY: the caller keeps the file intact.
                Text::File { file, .. } => unsafe {
                    MemoryImage::from_artifact(file, at, offset, len)
                },
                Text::Bytes(text) => {
                    // `text` starts at the text; the images follow it.
                    let start = usize::try_from(at - text_offset).unwrap_or(usize::MAX);
                    let bytes = start
                        .checked_add(len)
                        .and_then(|end| text.get(start..end))
                        .unwrap_or_default();
                    MemoryImage::from_bytes(offset, bytes)
                }
            };
            image.map(Some).map_err(|e| malformed(e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    Ok(MemoryImages::from_images(images))
}

#[cfg(test)]
mod tests;
