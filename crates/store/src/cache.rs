//! [`Cache`]: a compilation cache shared by every engine given it
//! ([`Config::cache`](crate::Config::cache)). Compiling bytes it has seen
//! before, with the same backend and settings, reuses the linked code
//! instead of compiling again.
//!
//! wasmtime's cache keeps serialized artifacts in files; Tandem's keeps the
//! linked code in memory, for the life of the process (or until it is
//! evicted to stay under [`CacheConfig::with_total_size_limit`]). Code is
//! shared, not copied: every module made from one entry runs the same
//! machine code, which is immutable once linked.

use crate::config::{BackendKind, Config, OptLevel};
use crate::{Result, bail};
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tandem_environ::{ModuleInfo, Tunables, WasmFeatures};
use tandem_vm::code_memory::LinkedCode;

/// Settings of a [`Cache`].
///
/// ```
/// use tandem_store::{Cache, CacheConfig};
/// let mut config = CacheConfig::new();
/// config.with_total_size_limit(64 << 20);
/// assert_eq!(config.total_size_limit(), 64 << 20);
/// let cache = Cache::new(config).unwrap();
/// assert_eq!(cache.cache_hits(), 0);
/// ```
#[derive(Clone, Debug)]
pub struct CacheConfig {
    total_size_limit: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            total_size_limit: 256 << 20,
        }
    }
}

impl CacheConfig {
    /// The defaults: at most 256 MiB of code and module bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Most bytes (machine code plus the module bytes kept to recognise it)
    /// the cache holds; past it, the oldest entries go first.
    pub fn with_total_size_limit(&mut self, bytes: u64) -> &mut Self {
        self.total_size_limit = bytes;
        self
    }

    /// The size limit in bytes.
    pub fn total_size_limit(&self) -> u64 {
        self.total_size_limit
    }
}

/// A compilation cache; cheap to clone (clones share the entries). See the
/// module docs (`cache.rs`) for what it keeps.
///
/// ```
/// use tandem_store::{Cache, Config, Engine, Module};
/// let cache = Cache::from_file(None).unwrap();
/// let engine = Engine::new(Config::new().cache(Some(cache.clone()))).unwrap();
/// let wat = r#"(module (func (export "f") (result i32) i32.const 1))"#;
/// let first = Module::new(&engine, wat).unwrap();
/// let again = Module::new(&engine, wat).unwrap();
/// assert_eq!((cache.cache_misses(), cache.cache_hits()), (1, 1));
/// # drop((first, again));
/// ```
#[derive(Clone, Debug)]
pub struct Cache {
    inner: Arc<CacheInner>,
}

#[derive(Debug)]
struct CacheInner {
    config: CacheConfig,
    entries: Mutex<Entries>,
    hits: AtomicUsize,
    misses: AtomicUsize,
}

/// The entries, oldest first, and their total size.
#[derive(Debug, Default)]
struct Entries {
    list: VecDeque<Entry>,
    bytes: u64,
}

struct Entry {
    hash: u64,
    wasm: Box<[u8]>,
    settings: Settings,
    compiled: Compiled,
    size: u64,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// What compiling a module produced, shareable between engines.
#[derive(Clone)]
pub(crate) struct Compiled {
    pub(crate) info: Arc<ModuleInfo>,
    pub(crate) code: Arc<LinkedCode>,
}

/// Everything besides the bytes that changes the code.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Settings {
    backend: BackendKind,
    features: WasmFeatures,
    tunables: Tunables,
    cranelift_opt_level: OptLevel,
    cranelift_flags: Vec<(String, String)>,
}

impl Settings {
    pub(crate) fn new(config: &Config, backend: BackendKind) -> Settings {
        Settings {
            backend,
            features: config.features,
            tunables: config.tunables.clone(),
            cranelift_opt_level: config.cranelift_opt_level,
            cranelift_flags: config.cranelift_flags.clone(),
        }
    }
}

impl Cache {
    /// A cache with `config`.
    ///
    /// # Errors
    ///
    /// None today; the `Result` keeps wasmtime's signature.
    pub fn new(config: CacheConfig) -> Result<Cache> {
        Ok(Cache {
            inner: Arc::new(CacheInner {
                config,
                entries: Mutex::new(Entries::default()),
                hits: AtomicUsize::new(0),
                misses: AtomicUsize::new(0),
            }),
        })
    }

    /// A cache with the default settings, for `None`. Tandem's cache has
    /// no configuration file, so a path is an error (wasmtime reads its
    /// cache settings from one).
    ///
    /// ```
    /// use tandem_store::Cache;
    /// assert!(Cache::from_file(None).is_ok());
    /// assert!(Cache::from_file(Some("cache.toml".as_ref())).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// For `Some(path)`.
    pub fn from_file(path: Option<&Path>) -> Result<Cache> {
        if let Some(path) = path {
            bail!(
                "Tandem's compilation cache is kept in memory and has no configuration file (`{}`)",
                path.display()
            );
        }
        Cache::new(CacheConfig::new())
    }

    /// Compilations served from the cache so far.
    pub fn cache_hits(&self) -> usize {
        self.inner.hits.load(Ordering::Relaxed)
    }

    /// Compilations the cache did not have so far.
    pub fn cache_misses(&self) -> usize {
        self.inner.misses.load(Ordering::Relaxed)
    }

    /// The cached compilation of `wasm` with `settings`, or `compile`'s,
    /// which is then cached. Two threads may compile the same module at
    /// once; both get a result and one entry is kept.
    pub(crate) fn get_or_compile(
        &self,
        wasm: &[u8],
        settings: Settings,
        compile: impl FnOnce() -> Result<Compiled>,
    ) -> Result<Compiled> {
        let hash = hash_bytes(wasm);
        if let Some(hit) = self.lookup(hash, wasm, &settings) {
            self.inner.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hit);
        }
        self.inner.misses.fetch_add(1, Ordering::Relaxed);
        let compiled = compile()?;
        let text = compiled.code.text_range();
        let size = (text.end - text.start + wasm.len()) as u64;
        let mut entries = self.lock();
        if size > self.inner.config.total_size_limit
            || entries.find(hash, wasm, &settings).is_some()
        {
            return Ok(compiled);
        }
        while entries.bytes + size > self.inner.config.total_size_limit {
            let Some(oldest) = entries.list.pop_front() else {
                break;
            };
            entries.bytes -= oldest.size;
        }
        entries.bytes += size;
        entries.list.push_back(Entry {
            hash,
            wasm: wasm.into(),
            settings,
            compiled: compiled.clone(),
            size,
        });
        Ok(compiled)
    }

    fn lookup(&self, hash: u64, wasm: &[u8], settings: &Settings) -> Option<Compiled> {
        let entries = self.lock();
        entries.find(hash, wasm, settings).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock leaves the entries consistent (each
        // change is one push or pop), so a poisoned lock is still usable.
        self.inner
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Number of entries (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().list.len()
    }
}

impl Entries {
    fn find(&self, hash: u64, wasm: &[u8], settings: &Settings) -> Option<&Compiled> {
        self.list
            .iter()
            .find(|e| e.hash == hash && *e.wasm == *wasm && e.settings == *settings)
            .map(|e| &e.compiled)
    }
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Engine, Instance, Module, Store};

    fn module_returning(n: i32) -> Vec<u8> {
        wat::parse_str(format!(
            r#"(module (func (export "f") (result i32) i32.const {n}))"#
        ))
        .unwrap()
    }

    fn run(module: &Module) -> i32 {
        let mut store = Store::new(module.engine(), ());
        let instance = Instance::new(&mut store, module, &[]).unwrap();
        let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
        f.call(&mut store, ()).unwrap()
    }

    #[test]
    fn a_hit_shares_the_code_across_engines_with_the_same_settings() {
        let cache = Cache::new(CacheConfig::new()).unwrap();
        let a = Engine::new(Config::new().cache(Some(cache.clone()))).unwrap();
        let b = Engine::new(Config::new().cache(Some(cache.clone()))).unwrap();
        let m1 = Module::new(&a, module_returning(1)).unwrap();
        let m2 = Module::new(&b, module_returning(1)).unwrap();
        assert!(Arc::ptr_eq(&m1.inner.code, &m2.inner.code));
        assert_eq!((run(&m1), run(&m2)), (1, 1));
        assert_eq!((cache.cache_misses(), cache.cache_hits()), (1, 1));
    }

    #[test]
    fn other_bytes_or_settings_miss() {
        let cache = Cache::new(CacheConfig::new()).unwrap();
        let plain = Engine::new(Config::new().cache(Some(cache.clone()))).unwrap();
        let fuel =
            Engine::new(Config::new().consume_fuel(true).cache(Some(cache.clone()))).unwrap();
        let baseline = Engine::new(
            Config::new()
                .strategy(crate::Strategy::Winch)
                .cache(Some(cache.clone())),
        )
        .unwrap();
        let one = Module::new(&plain, module_returning(1)).unwrap();
        let two = Module::new(&plain, module_returning(2)).unwrap();
        let metered = Module::new(&fuel, module_returning(1)).unwrap();
        let base = Module::new(&baseline, module_returning(1)).unwrap();
        assert_eq!(
            (cache.cache_misses(), cache.cache_hits(), cache.len()),
            (4, 0, 4)
        );
        assert_eq!((run(&one), run(&two), run(&base)), (1, 2, 1));
        assert!(!Arc::ptr_eq(&one.inner.code, &metered.inner.code));
    }

    #[test]
    fn the_size_limit_evicts_the_oldest() {
        let mut config = CacheConfig::new();
        config.with_total_size_limit(1);
        let tiny = Cache::new(config).unwrap();
        let engine = Engine::new(Config::new().cache(Some(tiny.clone()))).unwrap();
        Module::new(&engine, module_returning(1)).unwrap();
        assert_eq!(tiny.len(), 0, "larger than the whole cache: not kept");

        let first = module_returning(1);
        let size = {
            let probe = Cache::new(CacheConfig::new()).unwrap();
            let engine = Engine::new(Config::new().cache(Some(probe.clone()))).unwrap();
            Module::new(&engine, &first).unwrap();
            probe.lock().bytes
        };
        let mut config = CacheConfig::new();
        config.with_total_size_limit(size + size / 2);
        let cache = Cache::new(config).unwrap();
        let engine = Engine::new(Config::new().cache(Some(cache.clone()))).unwrap();
        Module::new(&engine, &first).unwrap();
        Module::new(&engine, module_returning(2)).unwrap();
        assert_eq!(cache.len(), 1, "the first entry made room");
        Module::new(&engine, &first).unwrap();
        assert_eq!(cache.cache_hits(), 0);
    }
}
