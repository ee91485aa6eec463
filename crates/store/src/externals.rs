//! [`Extern`] and the non-function externals: [`Memory`], [`Table`],
//! [`Global`]. Each is a handle (store id + index) into its store.

use crate::{Error, ExternType, Func, Result, Store, Val};
use tandem_environ::{GlobalType, MemoryType, RefType, TableType, ValType};
use tandem_vm::VMGlobalDefinition;
use tandem_vm::memory::LinearMemory;
use tandem_vm::table::Table as VmTable;

/// Anything an instance can import or export.
///
/// ```
/// use tandem_store::{Engine, Extern, Instance, Module, Store};
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module (memory (export "m") 1) (func (export "f")))"#).unwrap();
/// let mut store = Store::new(&engine, ());
/// let instance = Instance::new(&mut store, &module, &[]).unwrap();
/// let exports = instance.exports(&mut store);
/// assert!(matches!(exports[0].1, Extern::Memory(_)));
/// assert!(exports[1].1.into_func().is_some());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A memory.
    Memory(Memory),
    /// A table.
    ///
    /// ```
    /// use tandem_store::{Engine, Func, RefType, Store, Table, TableType, Val};
    /// let mut store = Store::new(&Engine::default(), ());
    /// let ty = TableType { element: RefType::Func, minimum: 2, maximum: None };
    /// let table = Table::new(&mut store, ty, Val::FuncRef(None)).unwrap();
    /// let f = Func::wrap(&mut store, || 1i32);
    /// table.set(&mut store, 1, f.into()).unwrap();
    /// assert!(matches!(table.get(&mut store, 1), Some(Val::FuncRef(Some(_)))));
    /// assert_eq!(table.grow(&mut store, 3, Val::FuncRef(None)).unwrap(), 2);
    /// assert_eq!(table.size(&store), 5);
    /// ```
    Table(Table),
    /// A global.
    ///
    /// ```
    /// use tandem_store::{Engine, Global, GlobalType, Store, Val, ValType};
    /// let mut store = Store::new(&Engine::default(), ());
    /// let ty = GlobalType { content: ValType::I64, mutable: true };
    /// let global = Global::new(&mut store, ty, Val::I64(1)).unwrap();
    /// global.set(&mut store, Val::I64(2)).unwrap();
    /// assert_eq!(global.get(&mut store).i64(), Some(2));
    /// assert!(global.set(&mut store, Val::I32(3)).is_err());
    /// ```
    Global(Global),
}

impl Extern {
    /// The function, if this is one.
    pub fn into_func(self) -> Option<Func> {
        if let Extern::Func(f) = self {
            Some(f)
        } else {
            None
        }
    }
    /// The memory, if this is one.
    pub fn into_memory(self) -> Option<Memory> {
        if let Extern::Memory(m) = self {
            Some(m)
        } else {
            None
        }
    }
    /// The table, if this is one.
    pub fn into_table(self) -> Option<Table> {
        if let Extern::Table(t) = self {
            Some(t)
        } else {
            None
        }
    }
    /// The global, if this is one.
    pub fn into_global(self) -> Option<Global> {
        if let Extern::Global(g) = self {
            Some(g)
        } else {
            None
        }
    }

    /// The external's type.
    pub fn ty<T: 'static>(&self, store: &Store<T>) -> Result<ExternType> {
        Ok(match self {
            Extern::Func(f) => ExternType::Func(f.ty(store)),
            Extern::Memory(m) => ExternType::Memory(m.ty(store)?),
            Extern::Table(t) => ExternType::Table(t.ty(store)?),
            Extern::Global(g) => ExternType::Global(g.ty(store)?),
        })
    }
}

macro_rules! extern_from {
    ($($t:ident),*) => {$(
        impl From<$t> for Extern {
            fn from(x: $t) -> Extern {
                Extern::$t(x)
            }
        }
    )*};
}
extern_from!(Func, Memory, Table, Global);

/// A linear memory.
///
/// ```
/// use tandem_store::{Engine, Memory, MemoryType, Store};
/// let mut store = Store::new(&Engine::default(), ());
/// let ty = MemoryType { minimum: 1, maximum: Some(2), memory64: false, shared: false };
/// let memory = Memory::new(&mut store, ty).unwrap();
/// memory.data_mut(&mut store)[0] = 7;
/// assert_eq!(memory.grow(&mut store, 1).unwrap(), 1);
/// assert_eq!(memory.size(&store), 2);
/// assert!(memory.grow(&mut store, 1).is_err());
/// assert_eq!(memory.data(&store)[0], 7);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Memory {
    pub(crate) store_id: u64,
    pub(crate) index: u32,
}

impl Memory {
    /// A new memory owned by the host.
    ///
    /// # Errors
    ///
    /// If the store's [`ResourceLimiter`](crate::ResourceLimiter) refuses
    /// its initial size or the store already holds as many memories as it
    /// allows, or the memory cannot be allocated.
    pub fn new<T>(store: &mut Store<T>, ty: MemoryType) -> Result<Memory> {
        let tunables = store.engine().config().tunables.clone();
        store.opaque.limits.check_memory(&ty)?;
        // SAFETY: a null definition makes the memory own its definition.
        let memory = unsafe { LinearMemory::new(ty, &tunables, std::ptr::null_mut())? };
        store.opaque.limits.record_memory();
        let index = store.opaque.add_host_memory(Box::new(memory));
        Ok(Memory {
            store_id: store.opaque.id,
            index,
        })
    }

    pub(crate) fn ptr<T>(&self, store: &Store<T>) -> Result<*mut LinearMemory> {
        store.opaque.check(self.store_id)?;
        Ok(store.opaque.memories[self.index as usize])
    }

    fn get<'a, T>(&self, store: &'a Store<T>) -> Result<&'a LinearMemory> {
        // SAFETY: the store owns the memory and keeps it alive; the borrow of
        // the store bounds the result.
        Ok(unsafe { &*self.ptr(store)? })
    }

    /// The memory's type, with its current size as minimum.
    pub fn ty<T>(&self, store: &Store<T>) -> Result<MemoryType> {
        Ok(self.get(store)?.ty())
    }

    /// Current size in pages.
    pub fn size<T>(&self, store: &Store<T>) -> u64 {
        self.get(store).map_or(0, |m| m.pages())
    }

    /// The memory's bytes.
    pub fn data<'a, T>(&self, store: &'a Store<T>) -> &'a [u8] {
        self.get(store).map_or(&[], |m| m.data())
    }

    /// The memory's bytes, mutably.
    pub fn data_mut<'a, T>(&self, store: &'a mut Store<T>) -> &'a mut [u8] {
        match self.ptr(store) {
            // SAFETY: exclusive borrow of the store that owns the memory.
            Ok(ptr) => unsafe { (*ptr).data_mut() },
            Err(_) => &mut [],
        }
    }

    /// The memory's bytes and the store's data, both mutably and at once:
    /// what a host function needs to move bytes between guest memory and
    /// its own state (WASI's file table, for example) without copying.
    /// A memory of another store gives an empty slice.
    ///
    /// ```
    /// use tandem_store::{Caller, Engine, Extern, Linker, Module, Store};
    /// let engine = Engine::default();
    /// let module = Module::new(&engine, r#"(module (import "env" "save" (func $save (param i32 i32)))
    ///     (memory (export "memory") 1) (data (i32.const 8) "hello")
    ///     (func (export "run") i32.const 8 i32.const 5 call $save))"#).unwrap();
    /// let mut linker = Linker::<Vec<u8>>::new(&engine);
    /// linker.func_wrap("env", "save", |mut caller: Caller<'_, Vec<u8>>, ptr: i32, len: i32| {
    ///     let Some(Extern::Memory(memory)) = caller.get_export("memory") else { return };
    ///     let (bytes, saved) = memory.data_and_store_mut(caller.store());
    ///     saved.extend_from_slice(&bytes[ptr as usize..][..len as usize]);
    /// }).unwrap();
    /// let mut store = Store::new(&engine, Vec::new());
    /// let instance = linker.instantiate(&mut store, &module).unwrap();
    /// instance.get_typed_func::<(), ()>(&mut store, "run").unwrap().call(&mut store, ()).unwrap();
    /// assert_eq!(store.data(), b"hello");
    /// ```
    pub fn data_and_store_mut<'a, T: 'static>(
        &self,
        store: &'a mut Store<T>,
    ) -> (&'a mut [u8], &'a mut T) {
        let bytes = match self.ptr(store) {
            // SAFETY: the store owns the memory; its bytes live in their own
            // mapping, disjoint from the store's data, and the exclusive
            // borrow of the store covers both for `'a`.
            Ok(ptr) => unsafe { (*ptr).data_mut() },
            Err(_) => &mut [],
        };
        (bytes, store.data_mut())
    }

    /// Grows by `delta` pages, returning the old size.
    ///
    /// # Errors
    ///
    /// If the maximum or the store's
    /// [`ResourceLimiter`](crate::ResourceLimiter) forbids it, or memory ran
    /// out.
    pub fn grow<T>(&self, store: &mut Store<T>, delta: u64) -> Result<u64> {
        let ptr = self.ptr(store)?;
        let limiter = store.opaque.limits.as_growth_limiter();
        // SAFETY: exclusive borrow of the store that owns the memory.
        unsafe { (*ptr).grow(delta, Some(limiter)) }
            .ok_or_else(|| Error::Usage(format!("failed to grow memory by {delta} pages")))
    }
}

/// A table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Table {
    pub(crate) store_id: u64,
    pub(crate) index: u32,
}

impl Table {
    /// A new table owned by the host, every element `init`.
    ///
    /// # Errors
    ///
    /// If `init` does not fit the element type, the store's
    /// [`ResourceLimiter`](crate::ResourceLimiter) refuses the initial size
    /// or the store already holds as many tables as it allows, or the table
    /// is too large.
    pub fn new<T>(store: &mut Store<T>, ty: TableType, init: Val) -> Result<Table> {
        let init = ref_raw(&store.opaque, ty.element, &init)?;
        store.opaque.limits.check_table(&ty)?;
        // SAFETY: a null definition makes the table own its definition.
        let table = unsafe { VmTable::new(ty, init, std::ptr::null_mut()) }.ok_or_else(|| {
            Error::Usage(format!("table of {} elements is too large", ty.minimum))
        })?;
        store.opaque.limits.record_table();
        let index = store.opaque.add_host_table(Box::new(table));
        Ok(Table {
            store_id: store.opaque.id,
            index,
        })
    }

    pub(crate) fn ptr<T>(&self, store: &Store<T>) -> Result<*mut VmTable> {
        store.opaque.check(self.store_id)?;
        Ok(store.opaque.tables[self.index as usize])
    }

    /// The table's type, with its current size as minimum.
    pub fn ty<T>(&self, store: &Store<T>) -> Result<TableType> {
        // SAFETY: the store owns the table.
        Ok(unsafe { (*self.ptr(store)?).ty() })
    }

    /// Number of elements.
    pub fn size<T>(&self, store: &Store<T>) -> u32 {
        // SAFETY: the store owns the table.
        self.ptr(store).map_or(0, |t| unsafe { (*t).size() })
    }

    /// Element `index`, or `None` when out of bounds.
    pub fn get<T>(&self, store: &mut Store<T>, index: u32) -> Option<Val> {
        let ptr = self.ptr(store).ok()?;
        // SAFETY: the store owns the table.
        let (raw, element) = unsafe { ((*ptr).get(index).ok()?, (*ptr).element()) };
        let raw = tandem_vm::ValRaw { ptr: raw };
        // SAFETY: table elements are null or live references of this store.
        Some(unsafe { Val::from_raw(&mut store.opaque, raw, ValType::Ref(element)) })
    }

    /// Sets element `index`.
    pub fn set<T>(&self, store: &mut Store<T>, index: u32, value: Val) -> Result<()> {
        let ptr = self.ptr(store)?;
        // SAFETY: the store owns the table.
        let element = unsafe { (*ptr).element() };
        let raw = ref_raw(&store.opaque, element, &value)?;
        // SAFETY: exclusive borrow of the owning store.
        unsafe { (*ptr).set(index, raw) }
            .map_err(|_| Error::Usage(format!("table index {index} out of bounds")))
    }

    /// Grows by `delta` elements of `init`, returning the old size.
    ///
    /// # Errors
    ///
    /// If `init` does not fit, or the maximum or the store's
    /// [`ResourceLimiter`](crate::ResourceLimiter) forbids the growth.
    pub fn grow<T>(&self, store: &mut Store<T>, delta: u32, init: Val) -> Result<u32> {
        let ptr = self.ptr(store)?;
        // SAFETY: the store owns the table.
        let element = unsafe { (*ptr).element() };
        // `init` (a handle) roots its externref until the table holds it.
        let raw = ref_raw(&store.opaque, element, &init)?;
        let limiter = store.opaque.limits.as_growth_limiter();
        // SAFETY: exclusive borrow of the owning store.
        unsafe { (*ptr).grow(delta, raw, Some(limiter)) }
            .ok_or_else(|| Error::Usage(format!("failed to grow table by {delta}")))
    }
}

fn ref_raw(store: &crate::store::StoreOpaque, element: RefType, value: &Val) -> Result<*mut u8> {
    if value.ty() != ValType::Ref(element) {
        return Err(Error::Usage(format!(
            "value of type {} does not fit a table of {}",
            value.ty(),
            ValType::Ref(element)
        )));
    }
    // SAFETY: reading the pointer field of a reference's raw value.
    Ok(unsafe { value.to_raw(store)?.ptr })
}

/// A global.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Global {
    pub(crate) store_id: u64,
    pub(crate) index: u32,
}

impl Global {
    /// A new global owned by the host.
    pub fn new<T>(store: &mut Store<T>, ty: GlobalType, value: Val) -> Result<Global> {
        if value.ty() != ty.content {
            return Err(Error::Usage(format!(
                "global of type {} cannot hold a {}",
                ty.content,
                value.ty()
            )));
        }
        let raw = value.to_raw(&store.opaque)?;
        let def = Box::new(VMGlobalDefinition {
            bytes: raw.to_bytes(),
        });
        let index = store.opaque.add_host_global(def, ty);
        Ok(Global {
            store_id: store.opaque.id,
            index,
        })
    }

    fn entry<T>(&self, store: &Store<T>) -> Result<(*mut VMGlobalDefinition, GlobalType)> {
        store.opaque.check(self.store_id)?;
        Ok(store.opaque.globals[self.index as usize])
    }

    pub(crate) fn ptr<T>(&self, store: &Store<T>) -> Result<*mut VMGlobalDefinition> {
        Ok(self.entry(store)?.0)
    }

    /// The global's type.
    pub fn ty<T>(&self, store: &Store<T>) -> Result<GlobalType> {
        Ok(self.entry(store)?.1)
    }

    /// The current value.
    pub fn get<T>(&self, store: &mut Store<T>) -> Val {
        let Ok((ptr, ty)) = self.entry(store) else {
            return Val::I32(0);
        };
        // SAFETY: the store keeps the global's storage alive.
        let raw = tandem_vm::ValRaw::from_bytes(unsafe { (*ptr).bytes });
        // SAFETY: the storage holds a value of the global's type.
        unsafe { Val::from_raw(&mut store.opaque, raw, ty.content) }
    }

    /// Sets a mutable global.
    pub fn set<T>(&self, store: &mut Store<T>, value: Val) -> Result<()> {
        let (ptr, ty) = self.entry(store)?;
        if !ty.mutable {
            return Err(Error::Usage("cannot set an immutable global".into()));
        }
        if value.ty() != ty.content {
            return Err(Error::Usage(format!(
                "global holds {}, not {}",
                ty.content,
                value.ty()
            )));
        }
        let raw = value.to_raw(&store.opaque)?;
        // SAFETY: exclusive borrow of the owning store, which keeps the
        // global's storage alive.
        unsafe { (*ptr).bytes = raw.to_bytes() };
        Ok(())
    }
}
