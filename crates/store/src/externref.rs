//! [`ExternRef`]: a rooted handle to a host value that Wasm can hold as an
//! `externref`, and the store's collector of values nothing can reach.
//!
//! # Ownership
//!
//! The value lives in an `Arc<ExternData>`. The store keeps one strong
//! reference to every externref created in it (its root list); every
//! [`ExternRef`] the host holds is another. Wasm, tables and globals hold the
//! raw pointer `Arc::as_ptr` — no count of their own. So:
//!
//! - while the host holds a handle, the strong count exceeds the store's one
//!   and [`Store::gc`](crate::Store::gc) keeps the value;
//! - while a table or global of the store holds the pointer, `gc` finds it
//!   there and keeps it;
//! - while Wasm holds it in a local or on its operand stack, `gc` cannot run
//!   at all (it refuses while any Wasm of the store is on the stack);
//! - otherwise `gc` drops the store's reference and the value is freed;
//!   everything left is freed when the store drops (or, for values the host
//!   still holds, when its last handle drops).
//!
//! Turning a raw pointer back into a handle ([`ExternRef::clone_from_raw`])
//! is sound because of those rules: a pointer Wasm or a table hands back
//! still has the store's reference behind it.

use crate::store::StoreOpaque;
use crate::{Result, Store, bail};
use std::any::Any;
use std::collections::HashSet;
use std::ptr::NonNull;
use std::sync::Arc;
use tandem_environ::{GlobalIndex, RefType, TableIndex, ValType};
use tandem_vm::VMGlobalDefinition;
use tandem_vm::table::Table as VmTable;

/// The allocation behind an externref; its address is the raw value Wasm
/// holds.
pub(crate) struct ExternData {
    value: Box<dyn Any + Send + Sync>,
}

/// A reference to a host value, passable to Wasm as `externref`.
///
/// ```
/// use tandem_store::{Engine, ExternRef, Instance, Module, Store, Val};
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module
///     (func (export "id") (param externref) (result externref) local.get 0))"#).unwrap();
/// let mut store = Store::new(&engine, ());
/// let instance = Instance::new(&mut store, &module, &[]).unwrap();
/// let greeting = ExternRef::new(&mut store, String::from("hi"));
/// let id = instance.get_func(&mut store, "id").unwrap();
/// let mut out = [Val::ExternRef(None)];
/// id.call(&mut store, &[greeting.clone().into()], &mut out).unwrap();
/// let Val::ExternRef(Some(back)) = &out[0] else { panic!() };
/// assert!(ExternRef::ptr_eq(back, &greeting));
/// assert_eq!(back.data(&store).unwrap().downcast_ref::<String>().unwrap(), "hi");
/// ```
///
/// A handle roots its value: it stays alive while any handle, or any table
/// or global of its store, refers to it. Cloning is cheap (a reference
/// count). Equality is identity.
#[derive(Clone)]
pub struct ExternRef {
    store_id: u64,
    data: Arc<ExternData>,
}

impl ExternRef {
    /// Wraps `value` in a new externref owned by `store`.
    ///
    /// Once the store's list of externrefs has doubled since the last
    /// collection, this collects first (unless Wasm of the store is
    /// running), so a program that keeps creating externrefs and dropping
    /// them does not grow without bound.
    pub fn new<T>(store: &mut Store<T>, value: impl Any + Send + Sync) -> ExternRef {
        let opaque = &mut store.opaque;
        if opaque.externrefs.list.len() >= opaque.externrefs.next_gc && !wasm_running(opaque) {
            collect(opaque);
        }
        let data = Arc::new(ExternData {
            value: Box::new(value),
        });
        opaque.externrefs.list.push(data.clone());
        ExternRef {
            store_id: opaque.id,
            data,
        }
    }

    /// The host value; downcast it with `downcast_ref`.
    ///
    /// # Errors
    ///
    /// If `store` is not the store the externref belongs to.
    pub fn data<'a, T>(&self, store: &'a Store<T>) -> Result<&'a (dyn Any + Send + Sync)> {
        store.opaque.check(self.store_id)?;
        // SAFETY: the store's root list holds a strong reference to this
        // data: it was pushed there at creation, and a collection removes it
        // only when no handle exists (strong count 1), but `self` is one.
        // Removing it needs `&mut Store`, which the `'a` borrow excludes, so
        // the data outlives the result even if `self` is dropped first.
        let data = unsafe { &*Arc::as_ptr(&self.data) };
        Ok(&*data.value)
    }

    /// Whether two handles refer to the same value.
    pub fn ptr_eq(a: &ExternRef, b: &ExternRef) -> bool {
        Arc::ptr_eq(&a.data, &b.data)
    }

    /// The raw value Wasm holds, after checking the handle belongs to `store`.
    pub(crate) fn to_raw(&self, store: &StoreOpaque) -> Result<*mut u8> {
        store.check(self.store_id)?;
        Ok(Arc::as_ptr(&self.data).cast_mut().cast())
    }

    /// An owning handle for a raw externref of `store`.
    ///
    /// # Safety
    ///
    /// `ptr` must be a raw externref of `store` that is still in its root
    /// list: one Wasm, a table or a global of `store` holds, or one obtained
    /// from [`ExternRef::to_raw`] while a handle was alive, with no
    /// collection since that could have missed it. Every raw value the store
    /// reads back from Wasm, a table or a global qualifies (see the module
    /// docs).
    pub(crate) unsafe fn clone_from_raw(store: &StoreOpaque, ptr: NonNull<ExternData>) -> Self {
        let ptr = ptr.as_ptr().cast_const();
        // SAFETY: by the contract, `ptr` is `Arc::as_ptr` of an
        // `Arc<ExternData>` in the store's root list, whose strong reference
        // keeps the allocation alive; adding one for the new handle and
        // taking it back with `from_raw` leaves the list's reference intact.
        let data = unsafe {
            Arc::increment_strong_count(ptr);
            Arc::from_raw(ptr)
        };
        ExternRef {
            store_id: store.id,
            data,
        }
    }
}

impl PartialEq for ExternRef {
    fn eq(&self, other: &ExternRef) -> bool {
        ExternRef::ptr_eq(self, other)
    }
}

impl Eq for ExternRef {}

impl std::hash::Hash for ExternRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.data).hash(state);
    }
}

impl std::fmt::Debug for ExternRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternRef")
            .field("store_id", &self.store_id)
            .field("ptr", &Arc::as_ptr(&self.data))
            .finish()
    }
}

/// Collections start once this many externrefs exist.
const INITIAL_GC_THRESHOLD: usize = 1024;

/// The store's root list: one strong reference per externref created in it.
pub(crate) struct ExternRefs {
    list: Vec<Arc<ExternData>>,
    /// `ExternRef::new` collects when the list reaches this length.
    next_gc: usize,
}

impl Default for ExternRefs {
    fn default() -> Self {
        ExternRefs {
            list: Vec::new(),
            next_gc: INITIAL_GC_THRESHOLD,
        }
    }
}

impl ExternRefs {
    /// Number of externrefs the store keeps alive.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }
}

/// Whether Wasm of this store is on the stack: `catch_traps` sets the stack
/// limit on the outermost entry and restores `usize::MAX` when it returns.
pub(crate) fn wasm_running(store: &StoreOpaque) -> bool {
    // SAFETY: the cell is written only by the thread running the store, and
    // `&StoreOpaque` means that is this thread.
    unsafe { *store.context.vm.stack_limit.get() != usize::MAX }
}

/// Frees every externref of `store` that no host handle, table or global
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
        if table.element() == RefType::Extern {
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
    let extern_ty = ValType::Ref(RefType::Extern);
    let mut globals: Vec<*mut VMGlobalDefinition> = store
        .globals
        .iter()
        .filter(|(_, ty)| ty.content == extern_ty)
        .map(|&(ptr, _)| ptr)
        .collect();
    for instance in &mut store.instances {
        let module = instance.vm.module().clone();
        for (index, ty) in module.globals.iter().enumerate() {
            if ty.content == extern_ty {
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
