//! [`Linker`]: instantiation by import name. Host functions defined on a
//! linker are shared by every store that instantiates through it.

use crate::func::{HostFunc, IntoFunc, host_context};
use crate::func_refs::{HostFuncBox, Storage};
use crate::instance::RawImports;
use crate::{
    AsContext, AsContextMut, Caller, Engine, Error, Extern, Func, FuncType, Instance, LinkError,
    Module, Result, Store, Val, bail, format_err,
};
use std::collections::HashMap;
use std::sync::Arc;
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
            bail!("`{module}::{name}` is already defined");
        }
        self.map.insert(key, def);
        Ok(self)
    }

    /// Defines `module::name` as `item` (which belongs to `store`).
    ///
    /// ```
    /// use tandem_store::{Engine, Global, GlobalType, Linker, Module, Mutability, Store, Val, ValType};
    /// let engine = Engine::default();
    /// let mut store = Store::new(&engine, ());
    /// let answer = Global::new(&mut store, GlobalType::new(ValType::I32, Mutability::Const), Val::I32(42)).unwrap();
    /// let mut linker = Linker::new(&engine);
    /// linker.define(&store, "env", "answer", answer).unwrap();
    /// let module = Module::new(&engine, r#"(module (import "env" "answer" (global $a i32))
    ///     (func (export "get") (result i32) global.get $a))"#).unwrap();
    /// let instance = linker.instantiate(&mut store, &module).unwrap();
    /// let get = instance.get_typed_func::<(), i32>(&mut store, "get").unwrap();
    /// assert_eq!(get.call(&mut store, ()).unwrap(), 42);
    /// ```
    ///
    /// # Errors
    ///
    /// If the name is taken (and shadowing is off) or `item` belongs to
    /// another store.
    pub fn define(
        &mut self,
        store: impl AsContext<Data = T>,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self> {
        let item = item.into();
        item.checked_ty(&store.as_context())?;
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
    ///
    /// ```
    /// use tandem_store::{Engine, FuncType, Linker, Module, Store, Val, ValType};
    /// let engine = Engine::default();
    /// let mut linker = Linker::<()>::new(&engine);
    /// let ty = FuncType::new(&engine, [ValType::I64], [ValType::I64]);
    /// linker.func_new("env", "double", ty, |_caller, params, results| {
    ///     results[0] = Val::I64(params[0].unwrap_i64() * 2);
    ///     Ok(())
    /// }).unwrap();
    /// let module = Module::new(&engine, r#"(module (import "env" "double" (func $d (param i64) (result i64)))
    ///     (func (export "run") (result i64) i64.const 21 call $d))"#).unwrap();
    /// let mut store = Store::new(&engine, ());
    /// let instance = linker.instantiate(&mut store, &module).unwrap();
    /// assert_eq!(instance.get_typed_func::<(), i64>(&mut store, "run").unwrap().call(&mut store, ()).unwrap(), 42);
    /// ```
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
        let type_index = self.engine.inner.signature_id(ty.as_environ());
        let ctx = host_context(type_index, HostFunc { func, ty: ty.ty });
        self.insert(
            module,
            name,
            Definition::HostFunc(Arc::new(HostFuncBox(ctx))),
        )
    }

    /// Defines every function import of `module` that this linker does
    /// not define yet as a host function that fails when called, naming
    /// the import (wasmtime's way of instantiating a module whose imports
    /// are not all needed). Other kinds of imports stay undefined.
    ///
    /// ```
    /// use tandem_store::{Engine, Linker, Module, Store};
    /// let engine = Engine::default();
    /// let module = Module::new(&engine, r#"(module (import "env" "log" (func $log (param i32)))
    ///     (func (export "quiet") (result i32) i32.const 1)
    ///     (func (export "loud") i32.const 2 call $log))"#).unwrap();
    /// let mut linker = Linker::<()>::new(&engine);
    /// linker.define_unknown_imports_as_traps(&module).unwrap();
    /// let mut store = Store::new(&engine, ());
    /// let instance = linker.instantiate(&mut store, &module).unwrap();
    /// assert_eq!(instance.get_typed_func::<(), i32>(&mut store, "quiet").unwrap().call(&mut store, ()).unwrap(), 1);
    /// let err = instance.get_typed_func::<(), ()>(&mut store, "loud").unwrap().call(&mut store, ()).unwrap_err();
    /// assert!(format!("{err:#}").contains("unknown import: `env::log`"), "{err:#}");
    /// ```
    ///
    /// # Errors
    ///
    /// None today; the `Result` keeps wasmtime's signature.
    pub fn define_unknown_imports_as_traps(&mut self, module: &Module) -> Result<()> {
        for import in module.imports() {
            let key = (import.module().to_string(), import.name().to_string());
            if self.map.contains_key(&key) {
                continue;
            }
            if let crate::ExternType::Func(ty) = import.ty() {
                let (module_name, name) = key;
                let message =
                    format!("unknown import: `{module_name}::{name}` has not been defined");
                self.func_new(&module_name, &name, ty, move |_, _, _| {
                    Err(Error::msg(message.clone()))
                })?;
            }
        }
        Ok(())
    }

    /// Defines every export of `instance` under module name `module`.
    ///
    /// # Errors
    ///
    /// If a name is taken (and shadowing is off).
    pub fn instance(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        instance: Instance,
    ) -> Result<&mut Self> {
        let exports: Vec<(String, Extern)> = instance
            .exports(store.as_context_mut())
            .map(|e| (e.name().to_string(), e.into_extern()))
            .collect();
        for (name, item) in exports {
            self.insert(module, &name, Definition::Extern(item))?;
        }
        Ok(self)
    }

    /// Instantiates `module` in `store`, calls its `_initialize` export if
    /// it has one (as WASI reactors expect), and defines its exports under
    /// `module_name`.
    ///
    /// wasmtime instantiates a command (a module exporting `_start`) afresh
    /// for each call of one of its exports; Tandem instantiates every module
    /// once, here.
    ///
    /// ```
    /// use tandem_store::{Engine, Linker, Module, Store};
    /// let engine = Engine::default();
    /// let lib = Module::new(&engine, r#"(module (func (export "seven") (result i32) i32.const 7))"#).unwrap();
    /// let app = Module::new(&engine, r#"(module (import "lib" "seven" (func $s (result i32)))
    ///     (func (export "run") (result i32) call $s))"#).unwrap();
    /// let mut store = Store::new(&engine, ());
    /// let mut linker = Linker::new(&engine);
    /// linker.module(&mut store, "lib", &lib).unwrap();
    /// let instance = linker.instantiate(&mut store, &app).unwrap();
    /// assert_eq!(instance.get_typed_func::<(), i32>(&mut store, "run").unwrap().call(&mut store, ()).unwrap(), 7);
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Linker::instantiate`], or if a name is taken.
    pub fn module(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module_name: &str,
        module: &Module,
    ) -> Result<&mut Self> {
        let instance = self.instantiate(store.as_context_mut(), module)?;
        if let Some(init) = instance.get_func(store.as_context_mut(), "_initialize") {
            init.typed::<(), ()>(store.as_context())?
                .call(store.as_context_mut(), ())?;
        }
        self.instance(store, module_name, instance)
    }

    /// The definition of `module::name` as an external of `store`.
    pub fn get(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Option<Extern> {
        let store = store.as_context_mut().0;
        let def = self.map.get(&(module.to_string(), name.to_string()))?;
        Some(self.extern_of(store, def))
    }

    fn extern_of(&self, store: &mut Store<T>, def: &Definition) -> Extern {
        match def {
            Definition::Extern(e) => *e,
            Definition::HostFunc(host) => {
                let func_ref = host.0.func_ref;
                store.opaque.keep(Storage::ArcHost(host.clone()));
                let pinned = store.opaque.push_func_ref(func_ref);
                Extern::Func(Func::from_func_ref(&mut store.opaque, pinned))
            }
        }
    }

    /// The default export of `module`: the function `""` if defined, else
    /// `_start`, else a function that does nothing (wasmtime's rule for a
    /// command's entry point).
    ///
    /// ```
    /// use tandem_store::{Engine, Linker, Module, Store};
    /// let engine = Engine::default();
    /// let cmd = Module::new(&engine, r#"(module (global $g (export "g") (mut i32) (i32.const 0))
    ///     (func (export "_start") i32.const 5 global.set $g))"#).unwrap();
    /// let mut store = Store::new(&engine, ());
    /// let mut linker = Linker::new(&engine);
    /// linker.module(&mut store, "cmd", &cmd).unwrap();
    /// let start = linker.get_default(&mut store, "cmd").unwrap();
    /// start.typed::<(), ()>(&store).unwrap().call(&mut store, ()).unwrap();
    /// let g = linker.get(&mut store, "cmd", "g").unwrap().into_global().unwrap();
    /// assert_eq!(g.get(&mut store).unwrap_i32(), 5);
    /// ```
    ///
    /// # Errors
    ///
    /// If the default export is not a function.
    pub fn get_default(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
    ) -> Result<Func> {
        let store = store.as_context_mut().0;
        for name in ["", "_start"] {
            if let Some(def) = self.map.get(&(module.to_string(), name.to_string())) {
                return self
                    .extern_of(store, def)
                    .into_func()
                    .ok_or_else(|| format_err!("`{module}::{name}` is not a function"));
            }
        }
        Ok(Func::wrap(store, || {}))
    }

    /// Resolves `module`'s imports once, for instantiating it in many stores
    /// quickly: host functions get func-refs pre-patched with the module's
    /// Wasm-to-array trampolines, shared by every store.
    ///
    /// # Errors
    ///
    /// A [`LinkError`] if an import is missing or a host function has
    /// another type.
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
                        return Err(LinkError::IncompatibleImport {
                            module: import.module.clone(),
                            name: import.name.clone(),
                            expected: format!("{:?}", import.kind),
                            found: "a function".to_string(),
                        }
                        .into());
                    };
                    let mut func_ref = host.0.func_ref;
                    if func_ref.type_index != module.inner.type_ids[ty.index()] {
                        return Err(LinkError::IncompatibleImport {
                            module: import.module.clone(),
                            name: import.name.clone(),
                            expected: format!("func {}", info.types[ty.index()]),
                            found: format!(
                                "func {}",
                                self.engine.inner.signature(func_ref.type_index)
                            ),
                        }
                        .into());
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
    ///
    /// # Errors
    ///
    /// A [`LinkError`] if an import is missing or does not fit, or as
    /// [`Instance::new`].
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance> {
        let store = store.as_context_mut().0;
        let mut imports = Vec::with_capacity(module.info().imports.len());
        for import in &module.info().imports {
            let item = self
                .get(&mut *store, &import.module, &import.name)
                .ok_or_else(|| unknown_import(import))?;
            imports.push(item);
        }
        Instance::new(store, module, &imports)
    }
}

fn unknown_import(import: &tandem_environ::Import) -> Error {
    LinkError::UnknownImport {
        module: import.module.clone(),
        name: import.name.clone(),
    }
    .into()
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
    ///
    /// # Errors
    ///
    /// As [`Instance::new`].
    pub fn instantiate(&self, mut store: impl AsContextMut<Data = T>) -> Result<Instance> {
        let store = store.as_context_mut().0;
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
