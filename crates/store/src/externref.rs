//! [`ExternRef`]: a host value that Wasm can hold as an `externref`; the
//! store's list of them, and its collector of values nothing can reach.
//!
//! # Ownership
//!
//! The value lives in an `Arc<ExternData>`. The store keeps one strong
//! reference to every externref created in it (its list); every root the
//! host has is another — a slot of the LIFO root set behind a
//! [`Rooted`](crate::Rooted), or an [`OwnedRooted`](crate::OwnedRooted)
//! (see `rooting.rs`). Wasm, tables and globals hold the raw pointer
//! `Arc::as_ptr` — no count of their own. So:
//!
//! - while the host has a root, the strong count exceeds the store's one and
//!   [`Store::gc`](crate::Store::gc) keeps the value;
//! - while a table or global of the store holds the pointer, `gc` finds it
//!   there and keeps it;
//! - while Wasm holds it in a local or on its operand stack, `gc` cannot run
//!   at all (it refuses while any Wasm of the store is on the stack);
//! - otherwise `gc` drops the store's reference and the value is freed;
//!   everything left is freed when the store drops (or, for values an
//!   `OwnedRooted` still holds, when its last handle drops).
//!
//! Rooting a raw pointer again ([`ExternRefs::root_raw`]) is sound because
//! of those rules: a pointer Wasm or a table hands back still has the
//! store's reference behind it.

use crate::rooting::{LifoRoots, RootIndex};
use crate::store::StoreOpaque;
use crate::{AsContextMut, Result, Rooted, StoreContext, StoreContextMut, bail};
use std::any::Any;
use std::cell::UnsafeCell;
use std::collections::HashSet;
use std::ptr::NonNull;
use std::sync::Arc;
use tandem_environ::{GlobalIndex, TableIndex, ValType};
use tandem_vm::VMGlobalDefinition;
use tandem_vm::table::Table as VmTable;

/// The allocation behind an externref; its address is the raw value Wasm
/// holds.
pub(crate) struct ExternData {
    value: UnsafeCell<Box<dyn Any + Send + Sync>>,
}

// SAFETY: the value is `Send + Sync`; the cell is read only through a
// shared borrow of the owning store (`ExternRef::data`) and written only
// through an exclusive one (`ExternRef::data_mut`), so the store's borrow
// rules keep those apart, on any thread.
unsafe impl Sync for ExternData {}

/// A reference to a host value, passable to Wasm as `externref`. The host
/// holds one as a [`Rooted<ExternRef>`](crate::Rooted) or an
/// [`OwnedRooted<ExternRef>`](crate::OwnedRooted), which deref to it.
///
/// ```
/// use tandem_store::{Engine, ExternRef, Instance, Module, Rooted, Store, Val};
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module
///     (func (export "id") (param externref) (result externref) local.get 0))"#).unwrap();
/// let mut store = Store::new(&engine, ());
/// let instance = Instance::new(&mut store, &module, &[]).unwrap();
/// let greeting = ExternRef::new(&mut store, String::from("hi")).unwrap();
/// let id = instance.get_func(&mut store, "id").unwrap();
/// let mut out = [Val::ExternRef(None)];
/// id.call(&mut store, &[greeting.into()], &mut out).unwrap();
/// let back = out[0].unwrap_externref().unwrap();
/// assert!(Rooted::ref_eq(&store, back, &greeting).unwrap());
/// let data = back.data(&store).unwrap().unwrap();
/// assert_eq!(data.downcast_ref::<String>().unwrap(), "hi");
/// ```
#[repr(transparent)]
pub struct ExternRef {
    inner: RootIndex,
}

impl ExternRef {
    /// Wraps `value` in a new externref of `store`, rooted in the current
    /// scope.
    ///
    /// Once the store's list of externrefs has doubled since the last
    /// collection, this collects first (unless Wasm of the store is
    /// running), so a program that keeps creating externrefs and releasing
    /// their roots does not grow without bound.
    ///
    /// # Errors
    ///
    /// [`GcHeapOutOfMemory`] holding `value` if the store's lists cannot
    /// grow.
    pub fn new<T>(mut store: impl AsContextMut, value: T) -> Result<Rooted<ExternRef>>
    where
        T: Any + Send + Sync,
    {
        let store = store.as_context_mut();
        let opaque = &mut store.0.opaque;
        if opaque.externrefs.list.len() >= opaque.externrefs.next_gc && !wasm_running(opaque) {
            collect(opaque);
        }
        let refs = &mut opaque.externrefs;
        if refs.list.try_reserve(1).is_err() || !refs.lifo.try_reserve(1) {
            let bytes = size_of::<T>() + size_of::<ExternData>();
            return Err(GcHeapOutOfMemory::new(value, bytes as u64).into());
        }
        let data = Arc::new(ExternData {
            value: UnsafeCell::new(Box::new(value)),
        });
        refs.list.push(data.clone());
        Ok(Rooted::from_index(refs.lifo.push(opaque.id, data)))
    }

    /// The host value; downcast it with `downcast_ref`. Always `Some` in
    /// Tandem (wasmtime has externrefs without host data).
    ///
    /// # Errors
    ///
    /// If the reference is no longer rooted or `store` is not its store.
    pub fn data<'a, T: 'static>(
        &self,
        store: impl Into<StoreContext<'a, T>>,
    ) -> Result<Option<&'a (dyn Any + Send + Sync)>> {
        let store = store.into().0;
        let data = self.inner.resolve(&store.opaque)?;
        // SAFETY: the store's list holds `data` for as long as `store` is
        // borrowed (see `RootIndex::resolve`); writes need an exclusive
        // borrow of the store, which `'a` excludes.
        Ok(Some(unsafe { &**data.value.get() }))
    }

    /// The host value, mutably (see [`ExternRef::data`]).
    ///
    /// ```
    /// use tandem_store::{Engine, ExternRef, Store};
    /// let mut store = Store::new(&Engine::default(), ());
    /// let counter = ExternRef::new(&mut store, 0u64).unwrap();
    /// *counter.data_mut(&mut store).unwrap().unwrap().downcast_mut::<u64>().unwrap() += 1;
    /// assert_eq!(counter.data(&store).unwrap().unwrap().downcast_ref::<u64>(), Some(&1));
    /// ```
    ///
    /// # Errors
    ///
    /// If the reference is no longer rooted or `store` is not its store.
    pub fn data_mut<'a, T: 'static>(
        &self,
        store: impl Into<StoreContextMut<'a, T>>,
    ) -> Result<Option<&'a mut (dyn Any + Send + Sync)>> {
        let store = store.into().0;
        let data: *const ExternData = self.inner.resolve(&store.opaque)?;
        // SAFETY: as in `data`; the exclusive borrow of the store for `'a`
        // excludes every other access to the value.
        Ok(Some(unsafe { &mut **(*data).value.get() }))
    }

    /// The raw value Wasm holds, after checking the root.
    pub(crate) fn to_raw(&self, store: &StoreOpaque) -> Result<*mut u8> {
        let data: *const ExternData = self.inner.resolve(store)?;
        Ok(data.cast_mut().cast())
    }
}

impl std::fmt::Debug for ExternRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternRef")
            .field("root", &self.inner)
            .finish()
    }
}

/// [`ExternRef::new`] could not allocate; holds the value it was given.
///
/// Tandem's externrefs live on the host's heap, so this only happens when
/// the store's lists cannot grow; wasmtime also reports a full GC heap
/// this way, and [`Store::gc`](crate::Store::gc) takes it as a hint.
///
/// ```
/// use tandem_store::GcHeapOutOfMemory;
/// let oom = GcHeapOutOfMemory::new(String::from("value"), 64);
/// assert_eq!(oom.bytes_needed(), 64);
/// let (value, oom) = oom.take_inner();
/// assert_eq!(value, "value");
/// assert_eq!(oom.to_string(), "GC heap out of memory: 64 bytes needed");
/// ```
pub struct GcHeapOutOfMemory<T> {
    inner: T,
    bytes_needed: u64,
}

impl<T> GcHeapOutOfMemory<T> {
    /// The error for `inner`, which needed `bytes_needed` bytes.
    pub fn new(inner: T, bytes_needed: u64) -> Self {
        GcHeapOutOfMemory {
            inner,
            bytes_needed,
        }
    }

    /// Bytes the allocation needed.
    pub fn bytes_needed(&self) -> u64 {
        self.bytes_needed
    }

    /// The value that was not allocated.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The value that was not allocated, by value.
    pub fn into_inner(self) -> T {
        self.inner
    }

    /// The value, and the error without it (what
    /// [`Store::gc`](crate::Store::gc) takes).
    pub fn take_inner(self) -> (T, GcHeapOutOfMemory<()>) {
        (
            self.inner,
            GcHeapOutOfMemory {
                inner: (),
                bytes_needed: self.bytes_needed,
            },
        )
    }
}

impl<T> std::fmt::Debug for GcHeapOutOfMemory<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcHeapOutOfMemory")
            .field("bytes_needed", &self.bytes_needed)
            .finish_non_exhaustive()
    }
}

impl<T> std::fmt::Display for GcHeapOutOfMemory<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "GC heap out of memory: {} bytes needed",
            self.bytes_needed
        )
    }
}

impl<T> std::error::Error for GcHeapOutOfMemory<T> {}

/// Collections start once this many externrefs exist.
const INITIAL_GC_THRESHOLD: usize = 1024;

/// A store's externrefs: one strong reference per externref created in it,
/// and the LIFO root set of its [`Rooted`] handles.
pub(crate) struct ExternRefs {
    list: Vec<Arc<ExternData>>,
    /// `ExternRef::new` collects when the list reaches this length.
    next_gc: usize,
    pub(crate) lifo: LifoRoots,
}

impl Default for ExternRefs {
    fn default() -> Self {
        ExternRefs {
            list: Vec::new(),
            next_gc: INITIAL_GC_THRESHOLD,
            lifo: LifoRoots::default(),
        }
    }
}

impl ExternRefs {
    /// Number of externrefs the store keeps alive.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// Roots a raw externref of the store with id `store_id` in the current
    /// scope.
    ///
    /// # Safety
    ///
    /// `ptr` must be a raw externref of this store that is still in its
    /// list: one Wasm, a table or a global of the store holds, or one
    /// obtained from [`ExternRef::to_raw`] with no collection since. Every
    /// raw value the store reads back from Wasm, a table or a global
    /// qualifies (see the module docs).
    pub(crate) unsafe fn root_raw(
        &mut self,
        store_id: u64,
        ptr: NonNull<ExternData>,
    ) -> Rooted<ExternRef> {
        let ptr = ptr.as_ptr().cast_const();
        // SAFETY: by the contract, `ptr` is `Arc::as_ptr` of an
        // `Arc<ExternData>` in the list, whose strong reference keeps the
        // allocation alive; adding one for the root and taking it back with
        // `from_raw` leaves the list's reference intact.
        let data = unsafe {
            Arc::increment_strong_count(ptr);
            Arc::from_raw(ptr)
        };
        Rooted::from_index(self.lifo.push(store_id, data))
    }
}

/// Whether Wasm of this store is on the stack: `catch_traps` sets the stack
/// limit on the outermost entry and restores `usize::MAX` when it returns.
pub(crate) fn wasm_running(store: &StoreOpaque) -> bool {
    // SAFETY: the cell is written only by the thread running the store, and
    // `&StoreOpaque` means that is this thread.
    unsafe { *store.context.vm.stack_limit.get() != usize::MAX }
}

/// Frees every externref of `store` that no host root, table or global
/// reaches; returns how many. Must not run while Wasm of the store is on
/// the stack (Wasm locals are not scanned): see [`Store::gc`].
pub(crate) fn collect(store: &mut StoreOpaque) -> usize {
    debug_assert!(!wasm_running(store));
    let mut reachable: HashSet<usize> = HashSet::new();
    // SAFETY (for the table and global reads below): every table and global
    // pointer of the store — host-created, exported, or owned by an instance
    // — stays valid while the store lives, and no Wasm runs to change them.
    let mut mark_table = |table: *mut VmTable| {
        // SAFETY: see above.
        let table = unsafe { &*table };
        if !table.element().heap.is_func() {
            reachable.extend(table.elements().iter().map(|&p| p as usize));
        }
    };
    for &table in &store.tables {
        mark_table(table);
    }
    for instance in &store.instances {
        let vm = &instance.vm;
        for index in 0..vm.module().tables.len() {
            mark_table(vm.table_ptr(TableIndex::new(index)));
        }
    }
    let is_extern = |ty: &ValType| matches!(ty, ValType::Ref(r) if !r.heap.is_func());
    let mut globals: Vec<*mut VMGlobalDefinition> = store
        .globals
        .iter()
        .filter(|(_, ty)| is_extern(&ty.content))
        .map(|&(ptr, _)| ptr)
        .collect();
    for instance in &mut store.instances {
        let module = instance.vm.module().clone();
        for (index, ty) in module.globals.iter().enumerate() {
            if is_extern(&ty.content) {
                globals.push(instance.vm.global_ptr(GlobalIndex::new(index)));
            }
        }
    }
    for global in globals {
        // SAFETY: see above.
        let bytes = unsafe { (*global).bytes };
        let mut ptr = [0u8; size_of::<usize>()];
        ptr.copy_from_slice(&bytes[..size_of::<usize>()]);
        reachable.insert(usize::from_le_bytes(ptr));
    }
    let refs = &mut store.externrefs;
    let before = refs.list.len();
    refs.list.retain(|data| {
        Arc::strong_count(data) > 1 || reachable.contains(&(Arc::as_ptr(data) as usize))
    });
    refs.next_gc = INITIAL_GC_THRESHOLD.max(2 * refs.list.len());
    before - refs.list.len()
}

/// [`Store::gc`] (see there).
pub(crate) fn gc(store: &mut StoreOpaque) -> Result<usize> {
    if wasm_running(store) {
        bail!(
            "Store::gc cannot run while Wasm of the store is on the stack (from a host function)"
        );
    }
    Ok(collect(store))
}
