//! [`Instance`]: instantiating a module in a store with resolved imports.

use crate::externals::{Global, Memory, Table};
use crate::func::{WasmParams, WasmResults};
use crate::module::entity_type;
use crate::{
    AsContextMut, Error, Extern, ExternType, Func, LinkError, Module, Result, Store,
    StoreContextMut, TypedFunc, bail, format_err,
};
use std::ptr::NonNull;
use tandem_environ::{EntityIndex, ImportKind, ValType};
use tandem_vm::VMFuncRef;
use tandem_vm::instance::{Allocator, InstanceImports, InstantiateError};

/// Imports resolved to run-time objects, per kind in import order.
#[derive(Default)]
pub(crate) struct RawImports {
    pub(crate) funcs: Vec<VMFuncRef>,
    pub(crate) tables: Vec<*mut tandem_vm::table::Table>,
    pub(crate) memories: Vec<*mut tandem_vm::memory::LinearMemory>,
    pub(crate) globals: Vec<*mut tandem_vm::VMGlobalDefinition>,
}

impl RawImports {
    /// Adds `item` (already checked against its import) in its kind's list.
    pub(crate) fn push<T>(&mut self, store: &Store<T>, item: &Extern) -> Result<()> {
        match item {
            Extern::Func(f) => {
                let func_ref = f.func_ref(&store.opaque)?;
                // SAFETY: `func_ref` checked the store; its func-refs stay
                // alive as long as it does.
                self.funcs.push(unsafe { *func_ref.as_ref() });
            }
            Extern::Table(t) => self.tables.push(t.ptr(store)?),
            Extern::Memory(m) => self.memories.push(m.ptr(store)?),
            Extern::Global(g) => self.globals.push(g.ptr(store)?),
        }
        Ok(())
    }
}

/// What the store keeps per instance.
pub(crate) struct InstanceData {
    pub(crate) vm: Box<tandem_vm::instance::Instance>,
    #[allow(dead_code, reason = "keeps the module's code alive")]
    pub(crate) module: Module,
}

/// An instance of a module in a store.
///
/// ```
/// use tandem_store::{Engine, Func, Instance, Module, Store};
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module
///     (import "env" "twice" (func $twice (param i32) (result i32)))
///     (memory (export "memory") 1)
///     (func (export "run") (param i32) (result i32) local.get 0 call $twice))"#).unwrap();
/// let mut store = Store::new(&engine, ());
/// let twice = Func::wrap(&mut store, |x: i32| x * 2);
/// let instance = Instance::new(&mut store, &module, &[twice.into()]).unwrap();
/// let run = instance.get_typed_func::<i32, i32>(&mut store, "run").unwrap();
/// assert_eq!(run.call(&mut store, 21).unwrap(), 42);
/// assert!(instance.get_memory(&mut store, "memory").is_some());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Instance {
    store_id: u64,
    index: u32,
}

impl Instance {
    /// Instantiates `module` with `imports` given in the module's import
    /// order, then runs its start function.
    ///
    /// # Errors
    ///
    /// A [`LinkError`] if the imports do not fit, a
    /// [`Trap`](crate::Trap) if a segment does not fit or the start function
    /// traps, a [`VmError`](crate::VmError) if memory runs out or a
    /// resource limit refuses.
    pub fn new(
        mut store: impl AsContextMut,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance> {
        let store = store.as_context_mut().0;
        if !crate::Engine::same(store.engine(), module.engine()) {
            bail!("module and store belong to different engines");
        }
        let info = module.info().clone();
        if imports.len() != info.imports.len() {
            return Err(LinkError::ImportCount {
                expected: info.imports.len(),
                got: imports.len(),
            }
            .into());
        }
        let mut raw = RawImports::default();
        for (import, item) in info.imports.iter().zip(imports) {
            check_import(store, module, import, item)?;
            raw.push(store, item)?;
        }
        Instance::new_raw(store, module, &raw)
    }

    /// Instantiates `module` with imports already checked against it and
    /// resolved to this store's run-time objects.
    pub(crate) fn new_raw<T: 'static>(
        store: &mut Store<T>,
        module: &Module,
        imports: &RawImports,
    ) -> Result<Instance> {
        let info = module.info().clone();
        let data = store.data_ptr();
        store.opaque.limits.check_instance(data, &info)?;
        store.opaque.register_module(module);
        let engine = store.engine().clone();
        let images = module.memory_images();
        let allocator = match &engine.inner.pool {
            Some(pool) => Allocator::Pool { pool, images },
            None => Allocator::OnDemand,
        };
        // SAFETY: every import pointer belongs to this store and lives as
        // long as it; so do the store context and the engine's epoch
        // counter. The engine's pool was made for its tunables.
        let vm = unsafe {
            tandem_vm::instance::Instance::new(
                info.clone(),
                module.inner.code.clone(),
                module.inner.type_ids.clone(),
                store.opaque.vm_context(),
                engine.inner.epoch.as_ptr().cast_const(),
                InstanceImports {
                    funcs: &imports.funcs,
                    tables: &imports.tables,
                    memories: &imports.memories,
                    globals: &imports.globals,
                },
                &engine.config().tunables,
                allocator,
            )
        };
        let mut vm = vm.map_err(instantiate_error)?;
        store.opaque.limits.record_instance(&info);
        // SAFETY: the limiter slot lives, at a fixed address, as long as the
        // store, which owns the instance.
        unsafe { vm.set_limiter(store.opaque.limits.growth_limiter()) };
        vm.set_interrupt_hook(crate::interrupt::hook::<T>);
        let index = store.opaque.instances.len() as u32;
        vm.host_data = index as usize as *mut ();
        store.opaque.instances.push(InstanceData {
            vm,
            module: module.clone(),
        });
        let instance = Instance {
            store_id: store.opaque.id,
            index,
        };
        store.opaque.instances[index as usize]
            .vm
            .initialize(images)
            .map_err(instantiate_error)?;
        if let Some(start) = info.start {
            // The start function may be an imported host function, so go
            // through `Func::call`, which calls either kind correctly.
            let func_ref = store.opaque.instances[index as usize].vm.func_ref(start);
            let func_ref = NonNull::new(func_ref).expect("func-refs live in the VMContext");
            Func::from_func_ref(&mut store.opaque, func_ref).call(store, &[], &mut [])?;
        }
        Ok(instance)
    }

    pub(crate) fn from_vm(store_id: u64, vm: &tandem_vm::instance::Instance) -> Option<Instance> {
        Some(Instance {
            store_id,
            index: vm.host_data as usize as u32,
        })
    }

    /// The export called `name`.
    ///
    /// # Panics
    ///
    /// If the instance belongs to another store (so do the other getters).
    pub fn get_export(&self, mut store: impl AsContextMut, name: &str) -> Option<Extern> {
        let store = store.as_context_mut().0;
        store.opaque.assert_same(self.store_id);
        let entity = store.opaque.instances[self.index as usize]
            .vm
            .module()
            .export(name)?;
        self.extern_of(store, entity)
    }

    /// The external for `entity` of this instance.
    fn extern_of<T>(&self, store: &mut Store<T>, entity: EntityIndex) -> Option<Extern> {
        let opaque = &mut store.opaque;
        let data = &mut opaque.instances[self.index as usize];
        Some(match entity {
            EntityIndex::Func(f) => {
                let ptr = NonNull::new(data.vm.func_ref(f))?;
                Extern::Func(Func::from_func_ref(opaque, ptr))
            }
            EntityIndex::Memory(m) => {
                let ptr = data.vm.memory_ptr(m);
                Extern::Memory(Memory {
                    store_id: opaque.id,
                    index: opaque.memory_handle(ptr),
                })
            }
            EntityIndex::Table(t) => {
                let ptr = data.vm.table_ptr(t);
                Extern::Table(Table {
                    store_id: opaque.id,
                    index: opaque.table_handle(ptr),
                })
            }
            EntityIndex::Global(g) => {
                let ty = data.vm.module().globals[g.index()];
                let ptr = data.vm.global_ptr(g);
                Extern::Global(Global {
                    store_id: opaque.id,
                    index: opaque.global_handle(ptr, ty),
                })
            }
        })
    }

    /// Every export, in the module's order.
    ///
    /// ```
    /// use tandem_store::{Engine, Instance, Module, Store};
    /// let engine = Engine::default();
    /// let module = Module::new(&engine, r#"(module (memory (export "m") 1) (func (export "f")))"#).unwrap();
    /// let mut store = Store::new(&engine, ());
    /// let instance = Instance::new(&mut store, &module, &[]).unwrap();
    /// let names: Vec<_> = instance.exports(&mut store).map(|e| e.name().to_string()).collect();
    /// assert_eq!(names, ["m", "f"]);
    /// ```
    pub fn exports<'a, T: 'static>(
        &'a self,
        store: impl Into<StoreContextMut<'a, T>>,
    ) -> impl ExactSizeIterator<Item = Export<'a>> + 'a {
        let store = store.into().0;
        store.opaque.assert_same(self.store_id);
        let info = store.opaque.instances[self.index as usize]
            .vm
            .module()
            .clone();
        let externs: Vec<Extern> = info
            .exports
            .iter()
            .map(|e| {
                self.extern_of(store, e.index)
                    .expect("every export of an instance resolves")
            })
            .collect();
        let store: &'a Store<T> = store;
        let info = store.opaque.instances[self.index as usize].vm.module();
        info.exports
            .iter()
            .zip(externs)
            .map(|(e, definition)| Export {
                name: &e.name,
                definition,
            })
    }

    /// The exported function `name`.
    pub fn get_func(&self, store: impl AsContextMut, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }

    /// The exported memory `name`.
    pub fn get_memory(&self, store: impl AsContextMut, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }

    /// The exported table `name`.
    pub fn get_table(&self, store: impl AsContextMut, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }

    /// The exported global `name`.
    pub fn get_global(&self, store: impl AsContextMut, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }

    /// The exported function `name`, typed.
    ///
    /// # Errors
    ///
    /// If there is no such function or its type is not `P -> R`.
    pub fn get_typed_func<P: WasmParams, R: WasmResults>(
        &self,
        mut store: impl AsContextMut,
        name: &str,
    ) -> Result<TypedFunc<P, R>> {
        let mut store = store.as_context_mut();
        let func = self
            .get_func(&mut store, name)
            .ok_or_else(|| format_err!("failed to find function export `{name}`"))?;
        func.typed(&store)
    }
}

/// One export of an [`Instance`]: its name and the external.
///
/// ```
/// use tandem_store::{Engine, Instance, Module, Store};
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module (memory (export "m") 1) (func (export "f")))"#).unwrap();
/// let mut store = Store::new(&engine, ());
/// let instance = Instance::new(&mut store, &module, &[]).unwrap();
/// let mut exports = instance.exports(&mut store);
/// assert!(exports.next().unwrap().into_memory().is_some());
/// let f = exports.next().unwrap();
/// assert_eq!(f.name(), "f");
/// assert!(f.into_func().is_some());
/// ```
#[derive(Clone, Debug)]
pub struct Export<'instance> {
    name: &'instance str,
    definition: Extern,
}

impl<'instance> Export<'instance> {
    /// The export's name.
    pub fn name(&self) -> &'instance str {
        self.name
    }

    /// The external.
    pub fn into_extern(self) -> Extern {
        self.definition
    }

    /// The function, if it is one.
    pub fn into_func(self) -> Option<Func> {
        self.definition.into_func()
    }

    /// The memory, if it is one.
    pub fn into_memory(self) -> Option<Memory> {
        self.definition.into_memory()
    }

    /// The table, if it is one.
    pub fn into_table(self) -> Option<Table> {
        self.definition.into_table()
    }

    /// The global, if it is one.
    pub fn into_global(self) -> Option<Global> {
        self.definition.into_global()
    }
}

fn instantiate_error(e: InstantiateError) -> Error {
    match e {
        InstantiateError::Vm(e) => Error::new(e),
        InstantiateError::Trap(code) => crate::trap::trap_error(code, None),
    }
}

/// Checks `item` against what `import` expects (the spec's import matching).
pub(crate) fn check_import<T: 'static>(
    store: &Store<T>,
    module: &Module,
    import: &tandem_environ::Import,
    item: &Extern,
) -> Result<()> {
    let actual = item.checked_ty(store)?;
    let info = module.info();
    let expected = entity_type(info, import.index);
    let ok = match (&import.kind, &actual) {
        (ImportKind::Func(_), ExternType::Func(a)) => {
            Some(a)
                == match &expected {
                    ExternType::Func(e) => Some(e),
                    _ => None,
                }
        }
        (ImportKind::Table(e), ExternType::Table(a)) => {
            e.element == a.element && limits_match(e.minimum, e.maximum, a.minimum, a.maximum)
        }
        (ImportKind::Memory(e), ExternType::Memory(a)) => {
            e.memory64 == a.memory64
                && e.shared == a.shared
                && limits_match(e.minimum, e.maximum, a.minimum, a.maximum)
        }
        (ImportKind::Global(e), ExternType::Global(a)) => e == a,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(LinkError::IncompatibleImport {
        module: import.module.clone(),
        name: import.name.clone(),
        expected: describe(&expected),
        found: describe(&actual),
    }
    .into())
}

fn limits_match(e_min: u64, e_max: Option<u64>, a_min: u64, a_max: Option<u64>) -> bool {
    a_min >= e_min
        && match (e_max, a_max) {
            (None, _) => true,
            (Some(e), Some(a)) => a <= e,
            (Some(_), None) => false,
        }
}

fn describe(ty: &ExternType) -> String {
    match ty {
        ExternType::Func(f) => format!("func {f}"),
        ExternType::Table(t) => format!(
            "table {} {:?}..{:?}",
            ValType::Ref(t.element),
            t.minimum,
            t.maximum
        ),
        ExternType::Memory(m) => format!("memory {}..{:?}", m.minimum, m.maximum),
        ExternType::Global(g) => format!(
            "global {}{}",
            if g.mutable { "mut " } else { "" },
            g.content
        ),
    }
}
