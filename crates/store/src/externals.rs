//! [`Extern`] and the non-function externals: [`Memory`], [`Table`],
//! [`Global`]. Each is a handle (store id + index) into its store.

use crate::{
    AsContext, AsContextMut, ExternType, Func, Ref, Result, Store, StoreContext, StoreContextMut,
    Val, bail, format_err,
};
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
/// let exports: Vec<Extern> = instance.exports(&mut store).map(|e| e.into_extern()).collect();
/// assert!(matches!(exports[0], Extern::Memory(_)));
/// assert!(exports[1].into_func().is_some());
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
    /// use tandem_store::{Engine, Func, Ref, RefType, Store, Table, TableType};
    /// let mut store = Store::new(&Engine::default(), ());
    /// let ty = TableType::new(RefType::FUNCREF, 2, None);
    /// let table = Table::new(&mut store, ty, Ref::Func(None)).unwrap();
    /// let f = Func::wrap(&mut store, || 1i32);
    /// table.set(&mut store, 1, f.into()).unwrap();
    /// assert_eq!(table.get(&mut store, 1).unwrap().unwrap_func(), Some(&f));
    /// assert_eq!(table.grow(&mut store, 3, Ref::Func(None)).unwrap(), 2);
    /// assert_eq!(table.size(&store), 5);
    /// table.fill(&mut store, 2, f.into(), 3).unwrap();
    /// assert!(table.get(&mut store, 4).unwrap().unwrap_func().is_some());
    /// ```
    Table(Table),
    /// A global.
    ///
    /// ```
    /// use tandem_store::{Engine, Global, GlobalType, Mutability, Store, Val, ValType};
    /// let mut store = Store::new(&Engine::default(), ());
    /// let ty = GlobalType::new(ValType::I64, Mutability::Var);
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
    ///
    /// # Panics
    ///
    /// If it belongs to another store.
    ///
    /// ```
    /// use tandem_store::{Engine, Extern, ExternType, Func, Store};
    /// let mut store = Store::new(&Engine::default(), ());
    /// let f: Extern = Func::wrap(&mut store, |x: i32| x).into();
    /// assert!(matches!(f.ty(&store), ExternType::Func(_)));
    /// ```
    pub fn ty(&self, store: impl AsContext) -> ExternType {
        let store = store.as_context();
        self.checked_ty(&store)
            .expect("object used with the wrong store")
    }

    /// The external's type, or an error if it belongs to another store.
    pub(crate) fn checked_ty<T>(&self, store: &Store<T>) -> Result<ExternType> {
        Ok(match self {
            Extern::Func(f) => {
                store.opaque.check(f.store_id)?;
                ExternType::Func(crate::FuncType::from_environ(f.environ_ty(&store.opaque)))
            }
            Extern::Memory(m) => ExternType::Memory(m.get(store)?.ty()),
            Extern::Table(t) => {
                // SAFETY: the store owns the table.
                ExternType::Table(unsafe { (*t.ptr(store)?).ty() })
            }
            Extern::Global(g) => ExternType::Global(g.entry(store)?.1),
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
/// let memory = Memory::new(&mut store, MemoryType::new(1, Some(2))).unwrap();
/// memory.data_mut(&mut store)[0] = 7;
/// assert_eq!(memory.grow(&mut store, 1).unwrap(), 1);
/// assert_eq!((memory.size(&store), memory.data_size(&store)), (2, 2 << 16));
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
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory> {
        let store = store.as_context_mut().0;
        let tunables = store.engine().config().tunables.clone();
        let data = store.data_ptr();
        store.opaque.limits.check_memory(data, &ty)?;
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

    /// The memory, which must belong to `store` (a bug otherwise, as in
    /// wasmtime).
    fn expect<'a, T>(&self, store: &'a Store<T>) -> &'a LinearMemory {
        self.get(store).expect("object used with the wrong store")
    }

    /// The memory's type, with its current size as minimum.
    ///
    /// # Panics
    ///
    /// If the memory belongs to another store (so do the other methods
    /// that cannot fail).
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        self.expect(&store.as_context()).ty()
    }

    /// Current size in pages.
    pub fn size(&self, store: impl AsContext) -> u64 {
        self.expect(&store.as_context()).pages()
    }

    /// Current size in bytes.
    pub fn data_size(&self, store: impl AsContext) -> usize {
        self.expect(&store.as_context()).data().len()
    }

    /// The memory's bytes.
    pub fn data<'a, T: 'static>(&self, store: impl Into<StoreContext<'a, T>>) -> &'a [u8] {
        self.expect(store.into().0).data()
    }

    /// The memory's bytes, mutably.
    pub fn data_mut<'a, T: 'static>(
        &self,
        store: impl Into<StoreContextMut<'a, T>>,
    ) -> &'a mut [u8] {
        let store = store.into().0;
        let ptr = self.ptr(store).expect("object used with the wrong store");
        // SAFETY: exclusive borrow of the store that owns the memory, for 'a.
        unsafe { (*ptr).data_mut() }
    }

    /// The memory's bytes and the store's data at once, both mutably.
    ///
    /// ```
    /// use tandem_store::{Engine, Memory, MemoryType, Store};
    /// let mut store = Store::new(&Engine::default(), Vec::new());
    /// let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    /// let (bytes, log) = memory.data_and_store_mut(&mut store);
    /// bytes[0] = 9;
    /// log.push(bytes[0]);
    /// assert_eq!(*store.data(), [9]);
    /// ```
    pub fn data_and_store_mut<'a, T: 'static>(
        &self,
        store: impl Into<StoreContextMut<'a, T>>,
    ) -> (&'a mut [u8], &'a mut T) {
        let store = store.into().0;
        let ptr = self.ptr(store).expect("object used with the wrong store");
        // SAFETY: the memory is a separate allocation owned by the store, so
        // its bytes and the store's data do not overlap; both are borrowed
        // for 'a through the exclusive borrow of the store.
        (unsafe { (*ptr).data_mut() }, store.data_mut())
    }

    /// Address of the first byte; valid until the memory grows or the store
    /// is dropped.
    pub fn data_ptr(&self, store: impl AsContext) -> *mut u8 {
        let ptr = self
            .ptr(&store.as_context())
            .expect("object used with the wrong store");
        // SAFETY: the store owns the memory.
        unsafe { (*ptr).data_mut().as_mut_ptr() }
    }

    /// Copies bytes from `offset` into `buffer`.
    ///
    /// ```
    /// use tandem_store::{Engine, Memory, MemoryType, Store};
    /// let mut store = Store::new(&Engine::default(), ());
    /// let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    /// memory.write(&mut store, 10, b"hi").unwrap();
    /// let mut buf = [0; 2];
    /// memory.read(&store, 10, &mut buf).unwrap();
    /// assert_eq!(&buf, b"hi");
    /// assert!(memory.read(&store, 65535, &mut buf).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`MemoryAccessError`] if the range is out of bounds.
    pub fn read(
        &self,
        store: impl AsContext,
        offset: usize,
        buffer: &mut [u8],
    ) -> std::result::Result<(), MemoryAccessError> {
        let store = store.as_context();
        let data = self.expect(&store).data();
        let range = offset..offset.checked_add(buffer.len()).ok_or(MemoryAccessError)?;
        buffer.copy_from_slice(data.get(range).ok_or(MemoryAccessError)?);
        Ok(())
    }

    /// Copies `buffer` to `offset` (see [`Memory::read`]).
    ///
    /// # Errors
    ///
    /// [`MemoryAccessError`] if the range is out of bounds.
    pub fn write(
        &self,
        mut store: impl AsContextMut,
        offset: usize,
        buffer: &[u8],
    ) -> std::result::Result<(), MemoryAccessError> {
        let data = self.data_mut(store.as_context_mut());
        let range = offset..offset.checked_add(buffer.len()).ok_or(MemoryAccessError)?;
        data.get_mut(range)
            .ok_or(MemoryAccessError)?
            .copy_from_slice(buffer);
        Ok(())
    }

    /// Grows by `delta` pages, returning the old size.
    ///
    /// # Errors
    ///
    /// If the maximum or the store's
    /// [`ResourceLimiter`](crate::ResourceLimiter) forbids it, or memory ran
    /// out.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64> {
        let store = store.as_context_mut().0;
        let ptr = self.ptr(store)?;
        let data = store.data_ptr();
        let mut limiter = store.opaque.limits.host(data);
        // SAFETY: exclusive borrow of the store that owns the memory.
        unsafe { (*ptr).grow(delta, Some(&mut limiter)) }
            .ok_or_else(|| format_err!("failed to grow memory by {delta} pages"))
    }
}

/// A [`Memory::read`] or [`Memory::write`] out of bounds.
///
/// ```
/// use tandem_store::MemoryAccessError;
/// assert_eq!(MemoryAccessError.to_string(), "out of bounds memory access");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryAccessError;

impl std::fmt::Display for MemoryAccessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("out of bounds memory access")
    }
}

impl std::error::Error for MemoryAccessError {}

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
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Ref) -> Result<Table> {
        let store = store.as_context_mut().0;
        let init = ref_raw(&store.opaque, ty.element, &init)?;
        let data = store.data_ptr();
        store.opaque.limits.check_table(data, &ty)?;
        // SAFETY: a null definition makes the table own its definition.
        let table = unsafe { VmTable::new(ty, init, std::ptr::null_mut()) }
            .ok_or_else(|| format_err!("table of {} elements is too large", ty.minimum))?;
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

    fn expect<T>(&self, store: &Store<T>) -> *mut VmTable {
        self.ptr(store).expect("object used with the wrong store")
    }

    /// The table's type, with its current size as minimum.
    ///
    /// # Panics
    ///
    /// If the table belongs to another store (so do the other methods that
    /// cannot fail).
    pub fn ty(&self, store: impl AsContext) -> TableType {
        // SAFETY: the store owns the table.
        unsafe { (*self.expect(&store.as_context())).ty() }
    }

    /// Number of elements.
    pub fn size(&self, store: impl AsContext) -> u64 {
        // SAFETY: the store owns the table.
        u64::from(unsafe { (*self.expect(&store.as_context())).size() })
    }

    /// Element `index`, or `None` when out of bounds.
    pub fn get(&self, mut store: impl AsContextMut, index: u64) -> Option<Ref> {
        let store = store.as_context_mut().0;
        let ptr = self.expect(store);
        let index = u32::try_from(index).ok()?;
        // SAFETY: the store owns the table.
        let (raw, element) = unsafe { ((*ptr).get(index).ok()?, (*ptr).element()) };
        let raw = tandem_vm::ValRaw::ptr(raw);
        // SAFETY: table elements are null or live references of this store.
        unsafe { Val::from_raw(&mut store.opaque, raw, ValType::Ref(element)) }.ref_()
    }

    /// Sets element `index`.
    ///
    /// # Errors
    ///
    /// If `index` is out of bounds or the value does not fit.
    pub fn set(&self, mut store: impl AsContextMut, index: u64, value: Ref) -> Result<()> {
        let store = store.as_context_mut().0;
        let ptr = self.ptr(store)?;
        // SAFETY: the store owns the table.
        let element = unsafe { (*ptr).element() };
        let raw = ref_raw(&store.opaque, element, &value)?;
        let Ok(slot) = u32::try_from(index) else {
            bail!("table index {index} out of bounds");
        };
        // SAFETY: exclusive borrow of the owning store.
        unsafe { (*ptr).set(slot, raw) }
            .map_err(|_| format_err!("table index {index} out of bounds"))
    }

    /// Grows by `delta` elements of `init`, returning the old size.
    ///
    /// # Errors
    ///
    /// If `init` does not fit, or the maximum or the store's
    /// [`ResourceLimiter`](crate::ResourceLimiter) forbids the growth.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64, init: Ref) -> Result<u64> {
        let store = store.as_context_mut().0;
        let ptr = self.ptr(store)?;
        // SAFETY: the store owns the table.
        let element = unsafe { (*ptr).element() };
        // `init` (a handle) roots its externref until the table holds it.
        let raw = ref_raw(&store.opaque, element, &init)?;
        let Ok(delta32) = u32::try_from(delta) else {
            bail!("failed to grow table by {delta}");
        };
        let data = store.data_ptr();
        let mut limiter = store.opaque.limits.host(data);
        // SAFETY: exclusive borrow of the owning store.
        unsafe { (*ptr).grow(delta32, raw, Some(&mut limiter)) }
            .map(u64::from)
            .ok_or_else(|| format_err!("failed to grow table by {delta}"))
    }

    /// Sets elements `dst..dst + len` to `value`.
    ///
    /// # Errors
    ///
    /// If the range is out of bounds or the value does not fit.
    pub fn fill(&self, mut store: impl AsContextMut, dst: u64, value: Ref, len: u64) -> Result<()> {
        let store = store.as_context_mut().0;
        let ptr = self.ptr(store)?;
        // SAFETY: the store owns the table.
        let element = unsafe { (*ptr).element() };
        let raw = ref_raw(&store.opaque, element, &value)?;
        let (Ok(dst32), Ok(len32)) = (u32::try_from(dst), u32::try_from(len)) else {
            bail!("table range {dst}+{len} out of bounds");
        };
        // SAFETY: exclusive borrow of the owning store.
        unsafe { (*ptr).fill(dst32, raw, len32) }
            .map_err(|_| format_err!("table range {dst}+{len} out of bounds"))
    }
}

fn ref_raw(store: &crate::store::StoreOpaque, element: RefType, value: &Ref) -> Result<*mut u8> {
    if value.ref_type() != element {
        bail!(
            "value of type {} does not fit a table of {}",
            ValType::Ref(value.ref_type()),
            ValType::Ref(element)
        );
    }
    Ok(Val::from(*value).to_raw(store)?.get_ptr())
}

/// A global.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Global {
    pub(crate) store_id: u64,
    pub(crate) index: u32,
}

impl Global {
    /// A new global owned by the host.
    ///
    /// # Errors
    ///
    /// If `value` does not have the global's type.
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, value: Val) -> Result<Global> {
        let store = store.as_context_mut().0;
        if value.ty() != ty.content {
            bail!("global of type {} cannot hold a {}", ty.content, value.ty());
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

    pub(crate) fn entry<T>(
        &self,
        store: &Store<T>,
    ) -> Result<(*mut VMGlobalDefinition, GlobalType)> {
        store.opaque.check(self.store_id)?;
        Ok(store.opaque.globals[self.index as usize])
    }

    pub(crate) fn ptr<T>(&self, store: &Store<T>) -> Result<*mut VMGlobalDefinition> {
        Ok(self.entry(store)?.0)
    }

    /// The global's type.
    ///
    /// # Panics
    ///
    /// If the global belongs to another store (so does [`Global::get`]).
    pub fn ty(&self, store: impl AsContext) -> GlobalType {
        self.entry(&store.as_context())
            .expect("object used with the wrong store")
            .1
    }

    /// The current value.
    pub fn get(&self, mut store: impl AsContextMut) -> Val {
        let store = store.as_context_mut().0;
        let (ptr, ty) = self.entry(store).expect("object used with the wrong store");
        // SAFETY: the store keeps the global's storage alive.
        let raw = tandem_vm::ValRaw::from_bytes(unsafe { (*ptr).bytes });
        // SAFETY: the storage holds a value of the global's type.
        unsafe { Val::from_raw(&mut store.opaque, raw, ty.content) }
    }

    /// Sets a mutable global.
    ///
    /// # Errors
    ///
    /// If the global is immutable or `value` has another type.
    pub fn set(&self, mut store: impl AsContextMut, value: Val) -> Result<()> {
        let store = store.as_context_mut().0;
        let (ptr, ty) = self.entry(store)?;
        if !ty.mutable {
            bail!("cannot set an immutable global");
        }
        if value.ty() != ty.content {
            bail!("global holds {}, not {}", ty.content, value.ty());
        }
        let raw = value.to_raw(&store.opaque)?;
        // SAFETY: exclusive borrow of the owning store, which keeps the
        // global's storage alive.
        unsafe { (*ptr).bytes = raw.to_bytes() };
        Ok(())
    }
}
