//! [`Linker`]: instantiation by import name. Host functions defined on a
//! linker are shared by every store that instantiates through it.

use crate::func::{HostFunc, IntoFunc, host_context};
use crate::func_refs::{HostFuncBox, Storage};
use crate::instance::RawImports;
use crate::{Caller, Engine, Error, Extern, Func, Instance, Module, Result, Store, Val};
use std::collections::HashMap;
use std::sync::Arc;
use tandem_environ::FuncType;
use tandem_environ::ImportKind;
use tandem_vm::VMFuncRef;

enum Definition {
    /// An external of one particular store.
    Extern(Extern),
    /// A host function usable in any store of the engine.
    HostFunc(Arc<HostFuncBox>),
}

/// Resolves imports by `(module, name)`.
///
/// ```
/// use tandem_store::{Engine, Linker, Module, Store};
/// let engine = Engine::default();
/// let mut linker = Linker::<u32>::new(&engine);
/// linker.func_wrap("env", "bump", |mut caller: tandem_store::Caller<'_, u32>| {
///     *caller.data_mut() += 1;
/// }).unwrap();
/// let module = Module::new(&engine, r#"(module (import "env" "bump" (func $b))
///     (func (export "run") call $b call $b))"#).unwrap();
/// let mut store = Store::new(&engine, 0);
/// let instance = linker.instantiate(&mut store, &module).unwrap();
/// instance.get_typed_func::<(), ()>(&mut store, "run").unwrap().call(&mut store, ()).unwrap();
/// assert_eq!(*store.data(), 2);
/// ```
pub struct Linker<T> {
    engine: Engine,
    map: HashMap<(String, String), Definition>,
    allow_shadowing: bool,
    _marker: std::marker::PhantomData<fn(T)>,
}

impl<T: 'static> Linker<T> {
    /// An empty linker for stores of `engine`.
    pub fn new(engine: &Engine) -> Linker<T> {
        Linker {
            engine: engine.clone(),
            map: HashMap::new(),
            allow_shadowing: false,
            _marker: std::marker::PhantomData,
        }
    }

    /// Whether a later definition may replace an earlier one of the same name.
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    fn insert(&mut self, module: &str, name: &str, def: Definition) -> Result<&mut Self> {
        let key = (module.to_string(), name.to_string());
        if !self.allow_shadowing && self.map.contains_key(&key) {
            return Err(Error::Usage(format!(
                "`{module}::{name}` is already defined"
            )));
        }
        self.map.insert(key, def);
        Ok(self)
    }

    /// Defines `module::name` as `item` (which belongs to `store`).
    pub fn define(
        &mut self,
        store: &Store<T>,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self> {
        let item = item.into();
        item.ty(store)?;
        self.insert(module, name, Definition::Extern(item))
    }

    /// Defines a host function from a typed closure, shared by all stores.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self> {
        // The closure's own trampoline reads and writes raw slots (no `Val`s).
        let ctx = func.into_raw_context(&self.engine);
        self.insert(
            module,
            name,
            Definition::HostFunc(Arc::new(HostFuncBox(ctx))),
        )
    }

    /// Defines a host function of type `ty`, shared by all stores.
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<&mut Self> {
        self.func_new_boxed(module, name, ty, Box::new(func))
    }

    fn func_new_boxed(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        func: Box<crate::func::HostFn<T>>,
    ) -> Result<&mut Self> {
        let type_index = self.engine.inner.signature_id(&ty);
        let ctx = host_context(type_index, HostFunc { func, ty });
        self.insert(
            module,
            name,
            Definition::HostFunc(Arc::new(HostFuncBox(ctx))),
        )
    }

    /// Defines every export of `instance` under module name `module`.
    pub fn instance(
        &mut self,
        store: &mut Store<T>,
        module: &str,
        instance: Instance,
    ) -> Result<&mut Self> {
        for (name, item) in instance.exports(store) {
            self.insert(module, &name, Definition::Extern(item))?;
        }
        Ok(self)
    }

    /// The definition of `module::name` as an external of `store`.
    pub fn get(&self, store: &mut Store<T>, module: &str, name: &str) -> Option<Extern> {
        let def = self.map.get(&(module.to_string(), name.to_string()))?;
        Some(match def {
            Definition::Extern(e) => *e,
            Definition::HostFunc(host) => {
                let func_ref = host.0.func_ref;
                store.opaque.keep(Storage::ArcHost(host.clone()));
                let pinned = store.opaque.push_func_ref(func_ref);
                Extern::Func(Func::from_func_ref(&mut store.opaque, pinned))
            }
        })
    }

    /// Resolves `module`'s imports once, for instantiating it in many stores
    /// quickly: host functions get func-refs pre-patched with the module's
    /// Wasm-to-array trampolines, shared by every store.
    pub fn instantiate_pre(&self, module: &Module) -> Result<InstancePre<T>> {
        let info = module.info();
        let mut items = Vec::with_capacity(info.imports.len());
        let mut func_refs = Vec::new();
        for import in &info.imports {
            let key = (import.module.clone(), import.name.clone());
            let def = self.map.get(&key).ok_or_else(|| unknown_import(import))?;
            items.push(match def {
                Definition::Extern(e) => PreItem::Extern(*e),
                Definition::HostFunc(host) => {
                    let ImportKind::Func(ty) = import.kind else {
                        return Err(Error::Link(format!(
                            "incompatible import type for `{}::{}`: expected {:?}, found a function",
                            import.module, import.name, import.kind
                        )));
                    };
                    let mut func_ref = host.0.func_ref;
                    if func_ref.type_index != module.inner.type_ids[ty.index()] {
                        return Err(Error::Link(format!(
                            "incompatible import type for `{}::{}`: expected func {}, found func {}",
                            import.module,
                            import.name,
                            info.types[ty.index()],
                            self.engine.inner.signature(func_ref.type_index)
                        )));
                    }
                    func_ref.wasm_call = module.inner.code.wasm_to_array(ty);
                    func_refs.push(func_ref);
                    PreItem::Host(host.clone(), func_refs.len() - 1)
                }
            });
        }
        Ok(InstancePre {
            module: module.clone(),
            items: Arc::new(PreItems(items)),
            func_refs: Arc::new(PreFuncRefs(func_refs)),
            _marker: std::marker::PhantomData,
        })
    }

    /// Instantiates `module`, resolving each import by name.
    pub fn instantiate(&self, store: &mut Store<T>, module: &Module) -> Result<Instance> {
        let mut imports = Vec::with_capacity(module.info().imports.len());
        for import in &module.info().imports {
            let item = self
                .get(store, &import.module, &import.name)
                .ok_or_else(|| {
                    Error::Link(format!(
                        "unknown import: `{}::{}` has not been defined",
                        import.module, import.name
                    ))
                })?;
            imports.push(item);
        }
        Instance::new(store, module, &imports)
    }
}

fn unknown_import(import: &tandem_environ::Import) -> Error {
    Error::Link(format!(
        "unknown import: `{}::{}` has not been defined",
        import.module, import.name
    ))
}

/// One resolved import of an [`InstancePre`].
pub(crate) enum PreItem {
    /// A host function and its slot in the pre-patched func-refs.
    Host(
        #[allow(dead_code, reason = "keeps the host context alive")] Arc<HostFuncBox>,
        usize,
    ),
    /// An external of one particular store.
    Extern(Extern),
}

/// The resolved imports of an [`InstancePre`], shared with every store it
/// instantiates into.
pub(crate) struct PreItems(Vec<PreItem>);

/// Func-refs of an [`InstancePre`]'s host imports, their `wasm_call`
/// already set to the module's trampolines.
pub(crate) struct PreFuncRefs(Vec<VMFuncRef>);

// SAFETY: the func-refs point into host contexts kept alive by `PreItems`,
// which are immutable and `Send + Sync` (see `HostFuncBox`), and into the
// module's code, which is immutable.
unsafe impl Send for PreFuncRefs {}
// SAFETY: as above.
unsafe impl Sync for PreFuncRefs {}

/// A module with its imports resolved by a [`Linker`], ready to be
/// instantiated in any number of stores.
///
/// ```
/// use tandem_store::{Engine, Linker, Module, Store};
/// let engine = Engine::default();
/// let mut linker = Linker::<()>::new(&engine);
/// linker.func_wrap("env", "seven", || 7i32).unwrap();
/// let module = Module::new(&engine, r#"(module (import "env" "seven" (func $s (result i32)))
///     (func (export "run") (result i32) call $s))"#).unwrap();
/// let pre = linker.instantiate_pre(&module).unwrap();
/// for _ in 0..3 {
///     let mut store = Store::new(&engine, ());
///     let instance = pre.instantiate(&mut store).unwrap();
///     let run = instance.get_typed_func::<(), i32>(&mut store, "run").unwrap();
///     assert_eq!(run.call(&mut store, ()).unwrap(), 7);
/// }
/// ```
pub struct InstancePre<T> {
    module: Module,
    items: Arc<PreItems>,
    func_refs: Arc<PreFuncRefs>,
    _marker: std::marker::PhantomData<fn(T)>,
}

impl<T> Clone for InstancePre<T> {
    fn clone(&self) -> Self {
        InstancePre {
            module: self.module.clone(),
            items: self.items.clone(),
            func_refs: self.func_refs.clone(),
            _marker: std::marker::PhantomData,
        }
    }
}

impl<T: 'static> InstancePre<T> {
    /// The module.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// Instantiates the module in `store`. The definitions and pre-patched
    /// func-refs are kept alive as long as the store.
    pub fn instantiate(&self, store: &mut Store<T>) -> Result<Instance> {
        let info = self.module.info().clone();
        let mut raw = RawImports::default();
        for (import, item) in info.imports.iter().zip(&self.items.0) {
            match item {
                PreItem::Host(_, slot) => raw.funcs.push(self.func_refs.0[*slot]),
                PreItem::Extern(e) => {
                    crate::instance::check_import(store, &self.module, import, e)?;
                    raw.push(store, e)?;
                }
            }
        }
        store
            .opaque
            .keep(Storage::InstancePreDefinitions(self.items.clone()));
        store
            .opaque
            .keep(Storage::InstancePreFuncRefs(self.func_refs.clone()));
        Instance::new_raw(store, &self.module, &raw)
    }
}
