//! [`ResourceLimiter`] and the ready-made [`StoreLimits`]: how much memory,
//! how many table elements, and how many instances, memories and tables a
//! store may use.
//!
//! A limiter lives in the store's data; [`Store::limiter`](crate::Store::limiter)
//! installs a closure that finds it there, as in wasmtime. It is
//! asked before every growth — `memory.grow` and `table.grow` in Wasm (a
//! refusal makes them return -1, as the spec allows), [`Memory::grow`] and
//! [`Table::grow`] from the host (a refusal is an error) — and for the
//! initial size of every memory and table a store creates (a refusal fails
//! [`Instance::new`], [`Memory::new`] or [`Table::new`]). Its count caps are
//! checked whenever an instance, memory or table is created.
//!
//! The store keeps that closure in a heap slot whose address never changes;
//! every vm instance of the store holds a pointer to it, which is how the
//! libcalls reach it. A libcall finds the data through the store's cell,
//! which holds the running `Store<T>` while Wasm runs; the host's side
//! passes the data in ([`Limits::host`]).
//!
//! [`Memory::grow`]: crate::Memory::grow
//! [`Table::grow`]: crate::Table::grow
//! [`Instance::new`]: crate::Instance::new
//! [`Memory::new`]: crate::Memory::new
//! [`Table::new`]: crate::Table::new

use crate::store::StoreCell;
use crate::{Error, Result, Store};
use std::marker::PhantomData;
use std::ptr::NonNull;
use tandem_environ::{DefinedMemoryIndex, DefinedTableIndex, MemoryType, ModuleInfo, TableType};
use tandem_vm::VmError;
use tandem_vm::limits::GrowthLimiter;
use tandem_vm::memory::pages_to_bytes;

/// Default cap on instances per store.
pub const DEFAULT_INSTANCE_LIMIT: usize = 10_000;
/// Default cap on memories per store.
pub const DEFAULT_MEMORY_LIMIT: usize = 10_000;
/// Default cap on tables per store.
pub const DEFAULT_TABLE_LIMIT: usize = 10_000;

/// Decides how far a store's memories and tables may grow and how many of
/// them (and of instances) it may create.
///
/// Growth methods are asked only about growth the declared maximum allows;
/// returning `false` refuses it. They must not panic: a panic during
/// `memory.grow` in Wasm is carried out of the Wasm call and resumed in the
/// host.
///
/// ```
/// use tandem_store::{Engine, Memory, MemoryType, ResourceLimiter, Store};
/// /// Allows at most four pages in any memory.
/// struct FourPages;
/// impl ResourceLimiter for FourPages {
///     fn memory_growing(&mut self, _: usize, desired: usize, _: Option<usize>) -> bool {
///         desired <= 4 << 16
///     }
///     fn table_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> bool { true }
/// }
/// let mut store = Store::new(&Engine::default(), FourPages);
/// store.limiter(|four_pages| four_pages);
/// let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
/// assert!(memory.grow(&mut store, 3).is_ok());
/// assert!(memory.grow(&mut store, 1).is_err());
/// ```
pub trait ResourceLimiter {
    /// May a linear memory grow from `current` to `desired` bytes?
    /// `maximum` is its declared maximum in bytes, if any. Also asked with
    /// `current == 0` for the initial size of every new memory.
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool;

    /// May a table grow from `current` to `desired` elements? `maximum` is
    /// its declared maximum, if any. Also asked with `current == 0` for the
    /// initial size of every new table.
    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool;

    /// Most instances the store may hold.
    fn instances(&self) -> usize {
        DEFAULT_INSTANCE_LIMIT
    }

    /// Most memories the store may hold (defined by its instances or
    /// created by the host; imports are not counted again).
    fn memories(&self) -> usize {
        DEFAULT_MEMORY_LIMIT
    }

    /// Most tables the store may hold (counted like memories).
    fn tables(&self) -> usize {
        DEFAULT_TABLE_LIMIT
    }
}

/// A [`ResourceLimiter`] with fixed caps; build one with
/// [`StoreLimitsBuilder`]. The default caps nothing but the counts (at
/// their defaults).
///
/// ```
/// use tandem_store::{Engine, Memory, MemoryType, Store, StoreLimitsBuilder};
/// let mut store = Store::new(&Engine::default(), StoreLimitsBuilder::new().memories(1).build());
/// store.limiter(|limits| limits);
/// let ty = MemoryType::new(0, None);
/// assert!(Memory::new(&mut store, ty).is_ok());
/// assert!(Memory::new(&mut store, ty).is_err()); // a second memory is over the cap
/// ```
#[derive(Clone, Debug)]
pub struct StoreLimits {
    memory_size: Option<usize>,
    table_elements: Option<usize>,
    instances: usize,
    memories: usize,
    tables: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            memory_size: None,
            table_elements: None,
            instances: DEFAULT_INSTANCE_LIMIT,
            memories: DEFAULT_MEMORY_LIMIT,
            tables: DEFAULT_TABLE_LIMIT,
        }
    }
}

impl ResourceLimiter for StoreLimits {
    fn memory_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> bool {
        self.memory_size.is_none_or(|cap| desired <= cap)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> bool {
        self.table_elements.is_none_or(|cap| desired <= cap)
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn memories(&self) -> usize {
        self.memories
    }

    fn tables(&self) -> usize {
        self.tables
    }
}

/// Builds [`StoreLimits`].
///
/// ```
/// use tandem_store::{Engine, Instance, Module, Store, StoreLimitsBuilder};
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module (memory 1)
///     (func (export "grow") (result i32) i32.const 1 memory.grow))"#).unwrap();
/// let mut store = Store::new(&engine, StoreLimitsBuilder::new().memory_size(1 << 16).build());
/// store.limiter(|limits| limits);
/// let instance = Instance::new(&mut store, &module, &[]).unwrap();
/// let grow = instance.get_typed_func::<(), i32>(&mut store, "grow").unwrap();
/// assert_eq!(grow.call(&mut store, ()).unwrap(), -1); // refused, as the spec says
/// ```
#[derive(Clone, Debug, Default)]
pub struct StoreLimitsBuilder(StoreLimits);

impl StoreLimitsBuilder {
    /// No caps beyond the default counts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Most bytes any one linear memory may have.
    pub fn memory_size(mut self, bytes: usize) -> Self {
        self.0.memory_size = Some(bytes);
        self
    }

    /// Most elements any one table may have.
    pub fn table_elements(mut self, elements: usize) -> Self {
        self.0.table_elements = Some(elements);
        self
    }

    /// Most instances in the store.
    pub fn instances(mut self, count: usize) -> Self {
        self.0.instances = count;
        self
    }

    /// Most memories in the store.
    pub fn memories(mut self, count: usize) -> Self {
        self.0.memories = count;
        self
    }

    /// Most tables in the store.
    pub fn tables(mut self, count: usize) -> Self {
        self.0.tables = count;
        self
    }

    /// The limits.
    pub fn build(self) -> StoreLimits {
        self.0
    }
}

/// How an installed limiter is found in the store's data `T` (type-erased,
/// since the slot and the vm know nothing of `T`).
trait LimiterAccess: Send {
    /// The limiter inside the data at `data`.
    ///
    /// # Safety
    ///
    /// `data` points to the live `T` of the store this access was installed
    /// in, borrowed by nothing else while the result lives.
    unsafe fn limiter(&mut self, data: *mut ()) -> &mut dyn ResourceLimiter;

    /// The data of the `Store<T>` at `store`.
    ///
    /// # Safety
    ///
    /// `store` points to the live `Store<T>` this access was installed in.
    unsafe fn data_of(&self, store: *mut ()) -> *mut ();
}

/// The [`LimiterAccess`] of a closure over `T`.
struct Access<T, F> {
    get: F,
    _data: PhantomData<fn(&mut T)>,
}

impl<T: 'static, F> LimiterAccess for Access<T, F>
where
    F: (FnMut(&mut T) -> &mut dyn ResourceLimiter) + Send + Sync + 'static,
{
    unsafe fn limiter(&mut self, data: *mut ()) -> &mut dyn ResourceLimiter {
        // SAFETY: guaranteed by the caller.
        (self.get)(unsafe { &mut *data.cast::<T>() })
    }

    unsafe fn data_of(&self, store: *mut ()) -> *mut () {
        // SAFETY: guaranteed by the caller; the place projection creates no
        // reference to the rest of the store.
        unsafe { (&raw mut (*store.cast::<Store<T>>()).data).cast() }
    }
}

/// The heap slot the store's limiter access lives in; what vm instances
/// point to, so `memory.grow` and `table.grow` in Wasm can ask it.
struct LimiterSlot {
    access: Option<Box<dyn LimiterAccess>>,
    /// The store's cell, whose `store` holds the running `Store<T>` while
    /// Wasm (and so any libcall) runs.
    cell: *const StoreCell,
}

/// Asked by the vm's growth libcalls, which run only while Wasm of the
/// store runs.
impl GrowthLimiter for LimiterSlot {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool {
        self.with_running(|l| l.memory_growing(current, desired, maximum))
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool {
        self.with_running(|l| l.table_growing(current, desired, maximum))
    }
}

impl LimiterSlot {
    /// Asks the limiter of the store whose Wasm is running (yes if none).
    fn with_running(&mut self, ask: impl FnOnce(&mut dyn ResourceLimiter) -> bool) -> bool {
        let Some(access) = self.access.as_mut() else {
            return true;
        };
        // SAFETY: libcalls run only inside a call into Wasm of this store,
        // during which the cell (owned by the store, set by `Store::new`)
        // holds the running `Store<T>`; its data is borrowed by nothing while
        // Wasm runs, and only for this question.
        let limiter = unsafe {
            let store = (*self.cell).store.get();
            debug_assert!(!store.is_null());
            let data = access.data_of(store);
            access.limiter(data)
        };
        ask(limiter)
    }
}

/// The limiter as the vm's growth functions take it on the host's side,
/// where the data is at hand.
pub(crate) struct HostLimiter<'a> {
    access: Option<&'a mut (dyn LimiterAccess + 'static)>,
    data: *mut (),
}

impl GrowthLimiter for HostLimiter<'_> {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool {
        self.ask(|l| l.memory_growing(current, desired, maximum))
            .unwrap_or(true)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool {
        self.ask(|l| l.table_growing(current, desired, maximum))
            .unwrap_or(true)
    }
}

impl HostLimiter<'_> {
    /// The limiter's answer, or `None` when there is no limiter.
    fn ask<R>(&mut self, ask: impl FnOnce(&mut dyn ResourceLimiter) -> R) -> Option<R> {
        let access = self.access.as_deref_mut()?;
        // SAFETY: `Limits::host` is given the data of the store that owns
        // the slot, borrowed for as long as this adapter lives.
        Some(ask(unsafe { access.limiter(self.data) }))
    }
}

/// A store's limiter and what it has counted so far.
pub(crate) struct Limits {
    /// Owned (freed in `Drop`); a raw pointer rather than a `Box` because vm
    /// instances alias it, and a `Box` asserts uniqueness whenever it is used.
    slot: NonNull<LimiterSlot>,
    instances: usize,
    memories: usize,
    tables: usize,
}

// SAFETY: the slot is owned by the store and holds a `Send` limiter access;
// it moves between threads only with the store, as a whole.
unsafe impl Send for Limits {}

impl Default for Limits {
    fn default() -> Self {
        let slot = Box::new(LimiterSlot {
            access: None,
            cell: std::ptr::null(),
        });
        Limits {
            slot: NonNull::from(Box::leak(slot)),
            instances: 0,
            memories: 0,
            tables: 0,
        }
    }
}

impl Drop for Limits {
    fn drop(&mut self) {
        // SAFETY: `slot` came from `Box::leak` in `default` and is freed only
        // here; the store's instances, which point to it, are dropped with
        // the store and never touch it while dropping.
        drop(unsafe { Box::from_raw(self.slot.as_ptr()) });
    }
}

impl Limits {
    fn slot(&mut self) -> &mut LimiterSlot {
        // SAFETY: the slot is valid while `self` is; `&mut self` (an
        // exclusive borrow of the store) means no libcall is using it now.
        unsafe { self.slot.as_mut() }
    }

    /// Records where the store's cell is (once, by `Store::new`).
    pub(crate) fn set_store_cell(&mut self, cell: *const StoreCell) {
        self.slot().cell = cell;
    }

    /// Installs a limiter kept in the data of a `Store<T>`, replacing any
    /// previous one.
    pub(crate) fn set<T: 'static>(
        &mut self,
        get: impl (FnMut(&mut T) -> &mut dyn ResourceLimiter) + Send + Sync + 'static,
    ) {
        self.slot().access = Some(Box::new(Access {
            get,
            _data: PhantomData,
        }));
    }

    /// The limiter for host-side growth: `data` must be the store's data
    /// (`Store::data_ptr`), not otherwise borrowed while the result lives.
    pub(crate) fn host(&mut self, data: *mut ()) -> HostLimiter<'_> {
        HostLimiter {
            access: self.slot().access.as_deref_mut(),
            data,
        }
    }

    /// The pointer vm instances hold (see `Instance::set_limiter`); valid
    /// as long as the store.
    pub(crate) fn growth_limiter(&self) -> NonNull<dyn GrowthLimiter> {
        self.slot
    }

    fn cap(
        &mut self,
        data: *mut (),
        what: &str,
        have: usize,
        adding: usize,
        cap: impl FnOnce(&dyn ResourceLimiter) -> usize,
    ) -> Result<()> {
        let cap = self.host(data).ask(|l| cap(l)).unwrap_or(usize::MAX);
        if have.saturating_add(adding) > cap {
            return Err(limit_error(format!(
                "resource limit exceeded: a store may hold at most {cap} {what} ({have} exist, {adding} more requested)"
            )));
        }
        Ok(())
    }

    /// Checks that `module` may be instantiated: counts and the initial
    /// sizes of its defined memories and tables. Nothing is recorded.
    /// `data` as for [`Limits::host`].
    pub(crate) fn check_instance(&mut self, data: *mut (), module: &ModuleInfo) -> Result<()> {
        self.cap(data, "instances", self.instances, 1, |l| l.instances())?;
        let memories = module.num_defined_memories();
        let tables = module.num_defined_tables();
        self.cap(data, "memories", self.memories, memories, |l| l.memories())?;
        self.cap(data, "tables", self.tables, tables, |l| l.tables())?;
        for i in 0..memories {
            let index = module.memory_index(DefinedMemoryIndex::new(i));
            self.check_memory_size(data, &module.memories[index.index()])?;
        }
        for i in 0..tables {
            let index = module.table_index(DefinedTableIndex::new(i));
            self.check_table_size(data, &module.tables[index.index()])?;
        }
        Ok(())
    }

    /// Records an instantiated module.
    pub(crate) fn record_instance(&mut self, module: &ModuleInfo) {
        self.instances += 1;
        self.memories += module.num_defined_memories();
        self.tables += module.num_defined_tables();
    }

    /// Checks that a host memory of type `ty` may be created.
    pub(crate) fn check_memory(&mut self, data: *mut (), ty: &MemoryType) -> Result<()> {
        self.cap(data, "memories", self.memories, 1, |l| l.memories())?;
        self.check_memory_size(data, ty)
    }

    /// Records a host memory.
    pub(crate) fn record_memory(&mut self) {
        self.memories += 1;
    }

    /// Checks that a host table of type `ty` may be created.
    pub(crate) fn check_table(&mut self, data: *mut (), ty: &TableType) -> Result<()> {
        self.cap(data, "tables", self.tables, 1, |l| l.tables())?;
        self.check_table_size(data, ty)
    }

    /// Records a host table.
    pub(crate) fn record_table(&mut self) {
        self.tables += 1;
    }

    fn check_memory_size(&mut self, data: *mut (), ty: &MemoryType) -> Result<()> {
        let desired = pages_to_bytes(ty.minimum);
        if self
            .host(data)
            .memory_growing(0, desired, ty.maximum.map(pages_to_bytes))
        {
            return Ok(());
        }
        Err(limit_error(format!(
            "resource limit exceeded: the limiter refused a memory of {} pages ({desired} bytes)",
            ty.minimum
        )))
    }

    fn check_table_size(&mut self, data: *mut (), ty: &TableType) -> Result<()> {
        let desired = usize::try_from(ty.minimum).unwrap_or(usize::MAX);
        let maximum = ty.maximum.map(|m| usize::try_from(m).unwrap_or(usize::MAX));
        if self.host(data).table_growing(0, desired, maximum) {
            return Ok(());
        }
        Err(limit_error(format!(
            "resource limit exceeded: the limiter refused a table of {desired} elements"
        )))
    }
}

fn limit_error(message: String) -> Error {
    Error::new(VmError::Limit(message))
}
