//! [`Linker`]: instantiation by import name. Host functions defined on a
//! linker are shared by every store that instantiates through it.

use crate::func::{HostFunc, IntoFunc, host_context};
use crate::func_refs::{HostFuncBox, Storage};
use crate::{Caller, Engine, Error, Extern, Func, Instance, Module, Result, Store, Val};
use std::collections::HashMap;
use std::sync::Arc;
use tandem_environ::FuncType;

enum Definition {
    /// An external of one particular store.
    Extern(Extern),
    /// A host function usable in any store of the engine.
    HostFunc(Arc<HostFuncBox>),
}

/// Resolves imports by `(module, name)`.
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
            return Err(Error::Usage(format!("`{module}::{name}` is already defined")));
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
        let (ty, func) = func.into_host_fn();
        self.func_new_boxed(module, name, ty, func)
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
        self.insert(module, name, Definition::HostFunc(Arc::new(HostFuncBox(ctx))))
    }

    /// Defines every export of `instance` under module name `module`.
    pub fn instance(&mut self, store: &mut Store<T>, module: &str, instance: Instance) -> Result<&mut Self> {
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

    /// Instantiates `module`, resolving each import by name.
    pub fn instantiate(&self, store: &mut Store<T>, module: &Module) -> Result<Instance> {
        let mut imports = Vec::with_capacity(module.info().imports.len());
        for import in &module.info().imports {
            let item = self.get(store, &import.module, &import.name).ok_or_else(|| {
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
