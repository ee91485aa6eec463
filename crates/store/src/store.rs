//! [`Store`]: owns every instance, memory, table, global, func-ref and
//! externref created in it; they all live until the store is dropped.

use crate::externref::ExternRefs;
use crate::func_refs::{FuncRefs, Storage};
use crate::instance::InstanceData;
use crate::interrupt::Callbacks;
use crate::limits::{Limits, ResourceLimiter};
use crate::{Engine, Module, Result, format_err};
use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use tandem_environ::GlobalType;
use tandem_vm::memory::LinearMemory;
use tandem_vm::table::Table as VmTable;
use tandem_vm::{VMFuncRef, VMGlobalDefinition, VMStoreContext};

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

/// The store context compiled code sees, followed by what host-function
/// trampolines, interrupt hooks and the resource limiter need to find their
/// way back to the `Store`.
#[repr(C)]
pub(crate) struct StoreCell {
    pub(crate) vm: VMStoreContext,
    /// The `*mut Store<T>` of the innermost call into Wasm; valid while that
    /// call runs.
    pub(crate) store: std::cell::Cell<*mut ()>,
}

/// The part of a store that does not depend on `T`.
pub(crate) struct StoreOpaque {
    pub(crate) id: u64,
    pub(crate) engine: Engine,
    pub(crate) context: Box<StoreCell>,
    pub(crate) instances: Vec<InstanceData>,
    pub(crate) funcs: Vec<NonNull<VMFuncRef>>,
    func_index: HashMap<usize, u32>,
    pub(crate) memories: Vec<*mut LinearMemory>,
    memory_index: HashMap<usize, u32>,
    #[allow(
        clippy::vec_box,
        reason = "boxed so raw pointers to each stay valid as the vector grows"
    )]
    host_memories: Vec<Box<LinearMemory>>,
    pub(crate) tables: Vec<*mut VmTable>,
    table_index: HashMap<usize, u32>,
    #[allow(
        clippy::vec_box,
        reason = "boxed so raw pointers to each stay valid as the vector grows"
    )]
    host_tables: Vec<Box<VmTable>>,
    pub(crate) globals: Vec<(*mut VMGlobalDefinition, GlobalType)>,
    global_index: HashMap<usize, u32>,
    #[allow(
        clippy::vec_box,
        reason = "boxed so raw pointers to each stay valid as the vector grows"
    )]
    host_globals: Vec<Box<VMGlobalDefinition>>,
    /// The root list of externrefs (see `externref.rs`).
    pub(crate) externrefs: ExternRefs,
    /// The resource limiter and the counts it caps (see `limits.rs`).
    pub(crate) limits: Limits,
    pub(crate) func_refs: FuncRefs,
    modules: Vec<Module>,
    /// Wasm-to-array trampolines by engine-wide signature id, from every
    /// module registered here (addresses as `usize`).
    pub(crate) trampolines: HashMap<u32, usize>,
}

// SAFETY: every raw pointer reaches memory the store owns (or that its
// modules and the engine keep alive); the store is used by one thread at a
// time, so moving it between threads is sound.
unsafe impl Send for StoreOpaque {}

/// A collection of instances and host objects, with the host's data `T`.
/// Everything created in a store lives until the store is dropped.
///
/// ```
/// use tandem_store::{Engine, Store};
/// let mut store = Store::new(&Engine::default(), vec![1, 2]);
/// store.data_mut().push(3);
/// assert_eq!(store.into_data(), [1, 2, 3]);
/// ```
pub struct Store<T> {
    pub(crate) opaque: StoreOpaque,
    /// What happens when fuel runs out or the epoch deadline passes.
    pub(crate) interrupts: Callbacks<T>,
    pub(crate) data: T,
}

impl<T: 'static> Store<T> {
    /// A new store in `engine` holding `data`.
    pub fn new(engine: &Engine, data: T) -> Store<T> {
        tandem_vm::traphandlers::init_traps();
        let mut store = Store {
            opaque: StoreOpaque {
                id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
                engine: engine.clone(),
                context: Box::new(StoreCell {
                    vm: VMStoreContext::default(),
                    store: std::cell::Cell::new(std::ptr::null_mut()),
                }),
                instances: Vec::new(),
                funcs: Vec::new(),
                func_index: HashMap::new(),
                memories: Vec::new(),
                memory_index: HashMap::new(),
                host_memories: Vec::new(),
                tables: Vec::new(),
                table_index: HashMap::new(),
                host_tables: Vec::new(),
                globals: Vec::new(),
                global_index: HashMap::new(),
                host_globals: Vec::new(),
                externrefs: ExternRefs::default(),
                limits: Limits::default(),
                func_refs: FuncRefs::default(),
                modules: Vec::new(),
                trampolines: HashMap::new(),
            },
            interrupts: Callbacks::default(),
            data,
        };
        let cell: *const StoreCell = &*store.opaque.context;
        store.opaque.limits.set_store_cell(cell);
        store
    }

    /// Installs a resource limiter kept in the store's data: `limiter`
    /// returns it from the data whenever a memory or table is about to grow
    /// or be created, or an instance to be created (see
    /// [`ResourceLimiter`]). Replaces any earlier limiter; what already
    /// exists is not re-checked.
    ///
    /// ```
    /// use tandem_store::{Engine, Memory, MemoryType, Store, StoreLimits, StoreLimitsBuilder};
    /// struct State { limits: StoreLimits }
    /// let limits = StoreLimitsBuilder::new().memory_size(2 << 16).build();
    /// let mut store = Store::new(&Engine::default(), State { limits });
    /// store.limiter(|state| &mut state.limits);
    /// let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    /// assert!(memory.grow(&mut store, 1).is_ok());
    /// assert!(memory.grow(&mut store, 1).is_err()); // a third page is over the cap
    /// ```
    pub fn limiter(
        &mut self,
        limiter: impl (FnMut(&mut T) -> &mut dyn ResourceLimiter) + Send + Sync + 'static,
    ) {
        self.opaque.limits.set(limiter);
    }

    /// Where the data lives, for the limiter (see `limits.rs`).
    pub(crate) fn data_ptr(&mut self) -> *mut () {
        std::ptr::from_mut(&mut self.data).cast()
    }
}

/// A store with a default engine and default data.
///
/// ```
/// use tandem_store::{Instance, Module, Store};
/// let mut store = Store::<u32>::default();
/// let module = Module::new(store.engine(), r#"(module (func (export "f") (result i32) i32.const 3))"#).unwrap();
/// let instance = Instance::new(&mut store, &module, &[]).unwrap();
/// assert_eq!(instance.get_typed_func::<(), i32>(&mut store, "f").unwrap().call(&mut store, ()).unwrap(), 3);
/// assert_eq!(*store.data(), 0);
/// ```
impl<T: Default + 'static> Default for Store<T> {
    fn default() -> Store<T> {
        Store::new(&Engine::default(), T::default())
    }
}

impl<T> Store<T> {
    /// The host data.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.data
    }

    /// Consumes the store, returning its data.
    pub fn into_data(self) -> T {
        self.data
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.opaque.engine
    }

    /// Number of host func-refs still waiting for a Wasm-call entry (a
    /// module with their signature has not been registered yet).
    #[doc(hidden)]
    pub fn unfilled_func_ref_holes(&self) -> usize {
        self.opaque.func_refs.holes()
    }
}

impl<T> Store<T> {
    /// Frees every [`ExternRef`](crate::ExternRef) of this store that
    /// nothing can reach any more, and returns how many were freed.
    ///
    /// Roots are every element of the store's externref tables (defined by
    /// its instances or created by the host), every externref global (the
    /// same), and every handle the host holds (an `ExternRef`, alone or in a
    /// [`Val`](crate::Val)). Wasm locals and operand stacks are *not*
    /// scanned, which is why this only runs while no Wasm of the store is
    /// on the stack.
    ///
    /// # The invariant libcalls rely on
    ///
    /// Because a collection never runs while Wasm is on the stack, a raw
    /// externref that Wasm passes to a libcall (`table.grow`, `table.fill`)
    /// or to a host function cannot be freed before the call returns; the
    /// store turns raw values it reads into owning handles
    /// (`ExternRef::clone_from_raw`) at once, so they stay alive after.
    ///
    /// # Errors
    ///
    /// When called while Wasm of this store is running (from a host
    /// function it called).
    pub fn gc(&mut self) -> crate::Result<usize> {
        crate::externref::gc(&mut self.opaque)
    }

    /// Number of externrefs the store currently keeps alive (until the next
    /// [`Store::gc`]).
    pub fn externref_count(&self) -> usize {
        self.opaque.externrefs.len()
    }
}

impl StoreOpaque {
    /// Registers `module`'s trampolines and fills the holes they can fill.
    pub(crate) fn register_module(&mut self, module: &Module) {
        if self
            .modules
            .iter()
            .any(|m| std::sync::Arc::ptr_eq(&m.inner, &module.inner))
        {
            return;
        }
        self.modules.push(module.clone());
        for (id, trampoline) in module.trampolines() {
            self.trampolines.entry(id).or_insert(trampoline as usize);
        }
        self.func_refs.fill(&self.trampolines);
    }

    /// Pushes a func-ref into the arena.
    pub(crate) fn push_func_ref(&mut self, func_ref: VMFuncRef) -> NonNull<VMFuncRef> {
        self.func_refs.push(func_ref, &self.trampolines)
    }

    pub(crate) fn keep(&mut self, item: Storage) {
        self.func_refs.keep(item);
    }

    /// The store-level index of func-ref `ptr`, adding it if new.
    pub(crate) fn func_handle(&mut self, ptr: NonNull<VMFuncRef>) -> u32 {
        let next = self.funcs.len() as u32;
        let index = *self.func_index.entry(ptr.as_ptr() as usize).or_insert(next);
        if index == next {
            self.funcs.push(ptr);
        }
        index
    }

    pub(crate) fn memory_handle(&mut self, ptr: *mut LinearMemory) -> u32 {
        handle(&mut self.memories, &mut self.memory_index, ptr)
    }

    pub(crate) fn table_handle(&mut self, ptr: *mut VmTable) -> u32 {
        handle(&mut self.tables, &mut self.table_index, ptr)
    }

    pub(crate) fn global_handle(&mut self, ptr: *mut VMGlobalDefinition, ty: GlobalType) -> u32 {
        let next = self.globals.len() as u32;
        let index = *self.global_index.entry(ptr as usize).or_insert(next);
        if index == next {
            self.globals.push((ptr, ty));
        }
        index
    }

    pub(crate) fn add_host_memory(&mut self, mut memory: Box<LinearMemory>) -> u32 {
        let ptr: *mut LinearMemory = &mut *memory;
        self.host_memories.push(memory);
        self.memory_handle(ptr)
    }

    pub(crate) fn add_host_table(&mut self, mut table: Box<VmTable>) -> u32 {
        let ptr: *mut VmTable = &mut *table;
        self.host_tables.push(table);
        self.table_handle(ptr)
    }

    pub(crate) fn add_host_global(
        &mut self,
        mut def: Box<VMGlobalDefinition>,
        ty: GlobalType,
    ) -> u32 {
        let ptr: *mut VMGlobalDefinition = &mut *def;
        self.host_globals.push(def);
        self.global_handle(ptr, ty)
    }

    pub(crate) fn vm_context(&self) -> *mut VMStoreContext {
        &self.context.vm as *const VMStoreContext as *mut VMStoreContext
    }

    /// Checks that a handle belongs to this store.
    pub(crate) fn check(&self, store_id: u64) -> Result<()> {
        if store_id == self.id {
            Ok(())
        } else {
            Err(format_err!("object used with the wrong store"))
        }
    }

    /// Like [`StoreOpaque::check`], for APIs that cannot fail: using an
    /// object with another store is a bug in the embedder, as in wasmtime.
    pub(crate) fn assert_same(&self, store_id: u64) {
        assert_eq!(store_id, self.id, "object used with the wrong store");
    }
}

fn handle<P>(list: &mut Vec<*mut P>, index: &mut HashMap<usize, u32>, ptr: *mut P) -> u32 {
    let next = list.len() as u32;
    let i = *index.entry(ptr as usize).or_insert(next);
    if i == next {
        list.push(ptr);
    }
    i
}

impl<T> std::fmt::Debug for Store<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("id", &self.opaque.id)
            .field("instances", &self.opaque.instances.len())
            .finish()
    }
}
