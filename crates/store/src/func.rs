//! [`Func`]: calling Wasm from the host, and host functions Wasm can call.

use crate::error::HostUnwind;
use crate::func_refs::Storage;
use crate::store::{StoreCell, StoreOpaque};
use crate::types::FuncType;
use crate::{AsContext, AsContextMut, Engine, Extern, Result, Store, Val, bail, format_err};
use std::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use tandem_environ::{VMHOST_MAGIC, VMOffsets};
use tandem_vm::traphandlers::UnwindReason;
use tandem_vm::{VMFuncRef, VMHostFuncContext, ValRaw};

mod typed;
pub use typed::{IntoFunc, TypedFunc, WasmParams, WasmResults, WasmTy};

/// A function of a store: defined by Wasm or by the host.
///
/// ```
/// use tandem_store::{Engine, Func, FuncType, Store, Val, ValType};
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, ());
/// let ty = FuncType::new(&engine, [ValType::I32, ValType::I32], [ValType::I32]);
/// let add = Func::new(&mut store, ty, |_caller, params, results| {
///     results[0] = Val::I32(params[0].unwrap_i32() + params[1].unwrap_i32());
///     Ok(())
/// });
/// let mut out = [Val::I32(0)];
/// add.call(&mut store, &[Val::I32(2), Val::I32(3)], &mut out).unwrap();
/// assert_eq!(out[0].unwrap_i32(), 5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Func {
    pub(crate) store_id: u64,
    pub(crate) index: u32,
}

/// The dynamic form every host function is stored in.
pub(crate) type HostFn<T> =
    dyn Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static;

/// Where a host call comes from: the calling instance's VMContext, or null
/// for a call from the host ([`Func::call`]).
#[derive(Clone, Copy)]
pub(crate) struct CallerVmctx(*mut u8);

impl CallerVmctx {
    /// The calling instance, if Wasm called.
    pub(crate) fn instance<T>(self, store: &Store<T>) -> Option<crate::Instance> {
        if self.0.is_null() {
            return None;
        }
        // SAFETY: a non-null caller VMContext comes from the Wasm-to-array
        // trampoline of a live instance of `store`, which is inside a call.
        let vm = unsafe { tandem_vm::instance::Instance::from_vmctx(self.0) };
        crate::Instance::from_vm(store.opaque.id, vm)
    }
}

/// Calls the closure of a typed host function, which must be an `F` of
/// [`raw_host_context`].
type RawInvoke<T> = unsafe fn(
    &(dyn std::any::Any + Send + Sync),
    &mut Store<T>,
    CallerVmctx,
    &mut [ValRaw],
) -> Result<()>;

/// A host function's state, kept in its `VMHostFuncContext`.
pub(crate) struct HostFunc<T: 'static> {
    pub(crate) func: Box<HostFn<T>>,
    pub(crate) ty: tandem_environ::FuncType,
}

/// A typed host function's state ([`Func::wrap`]), kept in its
/// `VMHostFuncContext`. The closure reads its arguments from the array-call
/// slots and writes its results there, with no [`Val`] in between; it is
/// only ever called with slots holding values of its own parameter types
/// (from Wasm, or converted from checked [`Val`]s by [`Func::call`]). Its
/// type is the engine's signature of the func-ref's `type_index`.
pub(crate) struct RawHostFunc<T: 'static> {
    invoke: RawInvoke<T>,
    closure: Box<dyn std::any::Any + Send + Sync>,
}

/// Whether a func-ref is a host function's (else it is a Wasm function's).
pub(crate) fn is_host(func_ref: &VMFuncRef) -> bool {
    // SAFETY: `vmctx` of a live func-ref points to a VMContext or a host
    // context, both starting with their magic word.
    unsafe { *func_ref.vmctx.cast::<u32>() == VMHOST_MAGIC }
}

/// What a host function receives: the store, and the instance that called.
///
/// ```
/// use tandem_store::{Caller, Engine, Extern, Func, Instance, Module, Store};
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module (import "env" "peek" (func $p (result i32)))
///     (memory (export "memory") 1) (data (i32.const 0) "\2a")
///     (func (export "run") (result i32) call $p))"#).unwrap();
/// let mut store = Store::new(&engine, ());
/// let peek = Func::wrap(&mut store, |mut caller: Caller<'_, ()>| -> i32 {
///     let Some(Extern::Memory(memory)) = caller.get_export("memory") else { return -1 };
///     memory.data(&caller)[0] as i32
/// });
/// let instance = Instance::new(&mut store, &module, &[peek.into()]).unwrap();
/// let run = instance.get_typed_func::<(), i32>(&mut store, "run").unwrap();
/// assert_eq!(run.call(&mut store, ()).unwrap(), 42);
/// ```
pub struct Caller<'a, T> {
    store: &'a mut Store<T>,
    instance: Option<crate::Instance>,
}

impl<'a, T: 'static> Caller<'a, T> {
    /// The host data.
    pub fn data(&self) -> &T {
        self.store.data()
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        self.store.data_mut()
    }

    /// The store, e.g. to call other functions (a `Caller` is also a store
    /// context itself: `func.call(&mut caller, ..)`).
    pub fn store(&mut self) -> &mut Store<T> {
        self.store
    }

    pub(crate) fn store_ref(&self) -> &Store<T> {
        self.store
    }

    /// An export of the calling instance (e.g. its memory); `None` when the
    /// host, not Wasm, called the function.
    pub fn get_export(&mut self, name: &str) -> Option<Extern> {
        let instance = self.instance?;
        instance.get_export(&mut *self.store, name)
    }

    /// The store's engine.
    ///
    /// ```
    /// use tandem_store::{Caller, Engine, Func, Store};
    /// let engine = Engine::default();
    /// let mut store = Store::new(&engine, ());
    /// let f = Func::wrap(&mut store, |caller: Caller<'_, ()>| caller.engine().config().max_wasm_stack_size() as i64);
    /// assert_eq!(f.typed::<(), i64>(&store).unwrap().call(&mut store, ()).unwrap(), 512 << 10);
    /// ```
    pub fn engine(&self) -> &Engine {
        self.store.engine()
    }

    /// The store's fuel left (see [`Store::get_fuel`]).
    ///
    /// ```
    /// use tandem_store::{Caller, Config, Engine, Func, Store};
    /// let engine = Engine::new(Config::new().consume_fuel(true)).unwrap();
    /// let mut store = Store::new(&engine, ());
    /// store.set_fuel(100).unwrap();
    /// let refuel = Func::wrap(&mut store, |mut caller: Caller<'_, ()>| -> tandem_store::Result<u64> {
    ///     caller.set_fuel(caller.get_fuel()? + 50)?;
    ///     caller.get_fuel()
    /// });
    /// assert_eq!(refuel.typed::<(), u64>(&store).unwrap().call(&mut store, ()).unwrap(), 150);
    /// ```
    pub fn get_fuel(&self) -> Result<u64> {
        self.store.get_fuel()
    }

    /// Sets the store's fuel (see [`Store::set_fuel`]).
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.store.set_fuel(fuel)
    }

    /// Sets the store's epoch deadline (see [`Store::set_epoch_deadline`]).
    ///
    /// ```
    /// use tandem_store::{Caller, Config, Engine, Func, Store};
    /// let engine = Engine::new(Config::new().epoch_interruption(true)).unwrap();
    /// let mut store = Store::new(&engine, ());
    /// let f = Func::wrap(&mut store, |mut caller: Caller<'_, ()>| caller.set_epoch_deadline(5));
    /// f.typed::<(), ()>(&store).unwrap().call(&mut store, ()).unwrap();
    /// ```
    pub fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        self.store.set_epoch_deadline(ticks_beyond_current)
    }
}

/// Builds a host function's context with a hole for `wasm_call`.
pub(crate) fn host_context<T: 'static>(
    type_index: u32,
    host: HostFunc<T>,
) -> Box<VMHostFuncContext> {
    context_with(type_index, host_trampoline::<T>, Box::new(host))
}

/// Builds a typed host function's context with a hole for `wasm_call`.
/// Its trampoline is specialised for `F`, so calls from Wasm reach the
/// closure without an indirect call.
pub(crate) fn raw_host_context<T: 'static, F>(
    engine: &Engine,
    ty: &tandem_environ::FuncType,
    f: F,
) -> Box<VMHostFuncContext>
where
    F: Fn(&mut Store<T>, CallerVmctx, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
{
    let type_index = engine.inner.signature_id(ty);
    let state = RawHostFunc::<T> {
        invoke: invoke_raw::<T, F>,
        closure: Box::new(f),
    };
    context_with(type_index, raw_host_trampoline::<T, F>, Box::new(state))
}

/// The [`RawInvoke`] of closures of type `F`.
///
/// # Safety
///
/// `closure` is an `F`, and `values` holds arguments of the function's
/// parameter types (see [`RawHostFunc`]).
unsafe fn invoke_raw<T: 'static, F>(
    closure: &(dyn std::any::Any + Send + Sync),
    store: &mut Store<T>,
    caller: CallerVmctx,
    values: &mut [ValRaw],
) -> Result<()>
where
    F: Fn(&mut Store<T>, CallerVmctx, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
{
    debug_assert!(closure.is::<F>());
    // SAFETY: the caller guarantees the closure's type (no `downcast_ref`:
    // its check costs a virtual call on every host call).
    let f = unsafe { &*std::ptr::from_ref(closure).cast::<F>() };
    f(store, caller, values)
}

fn context_with(
    type_index: u32,
    array_call: tandem_vm::ArrayCallFn,
    host_state: Box<dyn std::any::Any + Send + Sync>,
) -> Box<VMHostFuncContext> {
    let mut ctx = Box::new(VMHostFuncContext {
        magic: VMHOST_MAGIC,
        array_call,
        func_ref: VMFuncRef::NULL,
        host_state,
    });
    let vmctx: *mut VMHostFuncContext = &mut *ctx;
    ctx.func_ref = VMFuncRef {
        array_call: array_call as *const u8,
        wasm_call: std::ptr::null(),
        type_index,
        vmctx: vmctx.cast(),
    };
    ctx
}

impl Func {
    /// A host function of type `ty` backed by `func`, which gets the
    /// arguments as [`Val`]s and writes the results.
    pub fn new<T: 'static>(
        mut store: impl AsContextMut<Data = T>,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Func {
        let store = store.as_context_mut().0;
        let type_index = store.engine().inner.signature_id(ty.as_environ());
        let ctx = host_context(
            type_index,
            HostFunc {
                func: Box::new(func),
                ty: ty.ty,
            },
        );
        Func::from_host_context(store, ctx)
    }

    /// A host function of type `ty` that reads its arguments from and
    /// writes its results to the raw array-call slots: no [`Val`] is built,
    /// no type is checked.
    ///
    /// # Safety
    ///
    /// `func` must read the slots as `ty`'s parameters and leave `ty`'s
    /// results in them (from slot 0), every slot fully written with a value
    /// of its type (references: null or of this store).
    ///
    /// ```
    /// use tandem_store::{Engine, Func, FuncType, Store, ValRaw, ValType};
    /// let engine = Engine::default();
    /// let mut store = Store::new(&engine, ());
    /// let ty = FuncType::new(&engine, [ValType::I32], [ValType::I64]);
    /// // SAFETY: reads one i32 and writes one i64, as `ty` says.
    /// let widen = unsafe {
    ///     Func::new_unchecked(&mut store, ty, |_caller, slots| {
    ///         let x = slots[0].assume_init().get_i32();
    ///         slots[0].write(ValRaw::i64(i64::from(x) << 32));
    ///         Ok(())
    ///     })
    /// };
    /// let typed = widen.typed::<i32, i64>(&store).unwrap();
    /// assert_eq!(typed.call(&mut store, 3).unwrap(), 3 << 32);
    /// ```
    pub unsafe fn new_unchecked<T: 'static>(
        mut store: impl AsContextMut<Data = T>,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &mut [MaybeUninit<ValRaw>]) -> Result<()> + Send + Sync + 'static,
    ) -> Func {
        let store = store.as_context_mut().0;
        let raw = move |store: &mut Store<T>, caller: CallerVmctx, values: &mut [ValRaw]| {
            let instance = caller.instance(store);
            // SAFETY: `MaybeUninit<ValRaw>` has `ValRaw`'s layout, and every
            // slot is initialised; what `func` writes back is its
            // contract's.
            let slots = unsafe {
                std::slice::from_raw_parts_mut(
                    values.as_mut_ptr().cast::<MaybeUninit<ValRaw>>(),
                    values.len(),
                )
            };
            func(Caller { store, instance }, slots)
        };
        let ctx = raw_host_context(store.engine(), ty.as_environ(), raw);
        Func::from_host_context(store, ctx)
    }

    /// A host function from a typed closure, e.g. `|a: i32, b: i32| a + b`
    /// or `|caller: Caller<'_, T>, x: f64| -> Result<f64> { .. }`. Calls
    /// from Wasm pass the values straight through, without [`Val`]s.
    pub fn wrap<T: 'static, Params, Results>(
        mut store: impl AsContextMut<Data = T>,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Func {
        let store = store.as_context_mut().0;
        let ctx = func.into_raw_context(store.engine());
        Func::from_host_context(store, ctx)
    }

    fn from_host_context<T: 'static>(store: &mut Store<T>, ctx: Box<VMHostFuncContext>) -> Func {
        let func_ref = ctx.func_ref;
        store.opaque.keep(Storage::BoxHost(ctx));
        let pinned = store.opaque.push_func_ref(func_ref);
        Func::from_func_ref(&mut store.opaque, pinned)
    }

    pub(crate) fn from_func_ref(store: &mut StoreOpaque, ptr: NonNull<VMFuncRef>) -> Func {
        Func {
            store_id: store.id,
            index: store.func_handle(ptr),
        }
    }

    pub(crate) fn func_ref(&self, store: &StoreOpaque) -> Result<NonNull<VMFuncRef>> {
        store.check(self.store_id)?;
        Ok(store.funcs[self.index as usize])
    }

    /// The address of the function's func-ref (stable for the store's life).
    #[doc(hidden)]
    pub fn func_ref_address(&self, store: impl AsContext) -> Result<usize> {
        Ok(self.func_ref(&store.as_context().opaque)?.as_ptr() as usize)
    }

    /// The raw `funcref` value of this function (a pointer to its func-ref),
    /// for [`ValRaw::funcref`] and [`Func::call_unchecked`]; valid as long
    /// as the store.
    ///
    /// ```
    /// use tandem_store::{Engine, Func, Store};
    /// let mut store = Store::new(&Engine::default(), ());
    /// let f = Func::wrap(&mut store, || 1i32);
    /// let raw = f.to_raw(&mut store);
    /// // SAFETY: `raw` came from this store.
    /// assert_eq!(unsafe { Func::from_raw(&mut store, raw) }, Some(f));
    /// ```
    pub fn to_raw(&self, store: impl AsContext) -> *mut std::ffi::c_void {
        let store = store.as_context();
        store.opaque.assert_same(self.store_id);
        store.opaque.funcs[self.index as usize].as_ptr().cast()
    }

    /// The function behind a raw `funcref` value (`None` for null).
    ///
    /// # Safety
    ///
    /// `raw` is null or a raw `funcref` of this store (from
    /// [`Func::to_raw`], or written by Wasm of this store).
    pub unsafe fn from_raw(
        mut store: impl AsContextMut,
        raw: *mut std::ffi::c_void,
    ) -> Option<Func> {
        let ptr = NonNull::new(raw.cast::<VMFuncRef>())?;
        Some(Func::from_func_ref(
            &mut store.as_context_mut().0.opaque,
            ptr,
        ))
    }

    /// The function's type.
    ///
    /// # Panics
    ///
    /// If the function belongs to another store.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let store = store.as_context();
        store.opaque.assert_same(self.store_id);
        FuncType::from_environ(self.environ_ty(&store.opaque))
    }

    pub(crate) fn environ_ty(&self, store: &StoreOpaque) -> tandem_environ::FuncType {
        let func_ref = store.funcs[self.index as usize];
        // SAFETY: func-refs of a store stay valid while it lives.
        let type_index = unsafe { func_ref.as_ref().type_index };
        store.engine.inner.signature(type_index)
    }

    /// Whether the function has type `ty` (equal signatures match).
    ///
    /// ```
    /// use tandem_store::{Engine, Func, FuncType, Store, ValType};
    /// let engine = Engine::default();
    /// let mut store = Store::new(&engine, ());
    /// let f = Func::wrap(&mut store, |x: i32| x);
    /// assert!(f.matches_ty(&store, &FuncType::new(&engine, [ValType::I32], [ValType::I32])));
    /// assert!(!f.matches_ty(&store, &FuncType::new(&engine, [], [])));
    /// ```
    pub fn matches_ty(&self, store: impl AsContext, ty: &FuncType) -> bool {
        self.ty(store) == *ty
    }

    /// Calls the function with `params`, writing `results`.
    ///
    /// # Errors
    ///
    /// A [`Trap`](crate::Trap) if Wasm trapped, the host function's own
    /// error if one failed (each with a
    /// [`WasmBacktrace`](crate::WasmBacktrace) when Wasm frames were live),
    /// or a message if the values do not fit the function's type.
    pub fn call(
        &self,
        mut store: impl AsContextMut,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let store = store.as_context_mut().0;
        store.opaque.check(self.store_id)?;
        let ty = self.environ_ty(&store.opaque);
        typecheck("argument", &ty.params, params)?;
        if results.len() != ty.results.len() {
            bail!(
                "expected {} result slots, got {}",
                ty.results.len(),
                results.len()
            );
        }
        // SAFETY: the func-ref belongs to this store (checked above).
        let func_ref = unsafe { *self.func_ref(&store.opaque)?.as_ref() };
        if is_host(&func_ref) {
            // SAFETY: the magic says this is a host context.
            let ctx = unsafe { &*func_ref.vmctx.cast::<VMHostFuncContext>() };
            if let Some(host) = ctx.host_state.downcast_ref::<HostFunc<_>>() {
                return (host.func)(
                    Caller {
                        store,
                        instance: None,
                    },
                    params,
                    results,
                );
            }
        }
        let mut values = vec![ValRaw::default(); params.len().max(results.len())];
        for (slot, param) in values.iter_mut().zip(params) {
            *slot = param.to_raw(&store.opaque)?;
        }
        // SAFETY: the arguments were checked against the function's type and
        // converted for this store; `values` has room for the results.
        unsafe { call_raw(store, func_ref, &mut values)? };
        for ((slot, raw), ty) in results.iter_mut().zip(&values).zip(ty.results.iter()) {
            // SAFETY: Wasm (or the typed host function) wrote a value of the
            // declared result type; references belong to this store.
            *slot = unsafe { Val::from_raw(&mut store.opaque, *raw, *ty) };
        }
        Ok(())
    }

    /// Calls the function with arguments in, and results written back to,
    /// raw slots: no [`Val`], no type check.
    ///
    /// # Safety
    ///
    /// `params_and_returns` points to at least max(parameters, results)
    /// slots, initialised with values of the parameter types (references
    /// null or alive in this store).
    ///
    /// ```
    /// use tandem_store::{Engine, Instance, Module, Store, ValRaw};
    /// let engine = Engine::default();
    /// let module = Module::new(&engine, r#"(module (func (export "add") (param i32 i32) (result i32)
    ///     local.get 0 local.get 1 i32.add))"#).unwrap();
    /// let mut store = Store::new(&engine, ());
    /// let instance = Instance::new(&mut store, &module, &[]).unwrap();
    /// let add = instance.get_func(&mut store, "add").unwrap();
    /// let mut slots = [ValRaw::i32(40), ValRaw::i32(2)];
    /// // SAFETY: two i32 arguments, room for the one result.
    /// unsafe { add.call_unchecked(&mut store, &mut slots).unwrap() };
    /// assert_eq!(slots[0].get_i32(), 42);
    /// ```
    pub unsafe fn call_unchecked(
        &self,
        mut store: impl AsContextMut,
        params_and_returns: *mut [ValRaw],
    ) -> Result<()> {
        let store = store.as_context_mut().0;
        // SAFETY: the func-ref belongs to this store (`func_ref` checks).
        let func_ref = unsafe { *self.func_ref(&store.opaque)?.as_ref() };
        let values: &mut [ValRaw] = match NonNull::new(params_and_returns) {
            // SAFETY: the caller passes a valid slot array.
            Some(values) => unsafe { &mut *values.as_ptr() },
            None => &mut [],
        };
        if is_host(&func_ref) {
            // SAFETY: the magic says this is a host context.
            let ctx = unsafe { &*func_ref.vmctx.cast::<VMHostFuncContext>() };
            if let Some(host) = ctx.host_state.downcast_ref::<HostFunc<_>>() {
                return call_host(host, store, None, values);
            }
        }
        // SAFETY: forwarded from the caller.
        unsafe { call_raw(store, func_ref, values) }
    }

    /// A typed view of the function.
    ///
    /// # Errors
    ///
    /// If `P` and `R` are not the function's parameter and result types.
    pub fn typed<P: WasmParams, R: WasmResults>(
        &self,
        store: impl AsContext,
    ) -> Result<TypedFunc<P, R>> {
        let store = store.as_context();
        store.opaque.check(self.store_id)?;
        TypedFunc::new(*self, &self.environ_ty(&store.opaque))
    }
}

/// Calls a Wasm func-ref, or a host function with the raw (typed) form,
/// with slots holding its arguments.
///
/// # Safety
///
/// `values` holds arguments of the function's parameter types (references
/// null or alive in `store`) and has room for its results.
unsafe fn call_raw<T: 'static>(
    store: &mut Store<T>,
    func_ref: VMFuncRef,
    values: &mut [ValRaw],
) -> Result<()> {
    if !is_host(&func_ref) {
        return invoke(store, func_ref, values);
    }
    // SAFETY: the magic says this is a host context.
    let ctx = unsafe { &*func_ref.vmctx.cast::<VMHostFuncContext>() };
    let Some(host) = ctx.host_state.downcast_ref::<RawHostFunc<T>>() else {
        bail!("host function belongs to a store with another data type");
    };
    // SAFETY: the closure is the one the state was built with; the
    // arguments are the caller's duty.
    unsafe {
        (host.invoke)(
            &*host.closure,
            store,
            CallerVmctx(std::ptr::null_mut()),
            values,
        )
    }
}

/// Calls a Wasm func-ref through its array-call entry with the store's
/// trap handling.
pub(crate) fn invoke<T>(
    store: &mut Store<T>,
    func_ref: VMFuncRef,
    values: &mut [ValRaw],
) -> Result<()> {
    if func_ref.array_call.is_null() {
        bail!("function has no array-call entry");
    }
    let context: *const StoreCell = &*store.opaque.context;
    let this: *mut Store<T> = store;
    let previous = store.opaque.context.store.replace(this.cast());
    // SAFETY: a non-null `array_call` of a live func-ref is an array-call
    // function (written by `Instance::new` from the linked code).
    let callee: tandem_vm::ArrayCallFn = unsafe { std::mem::transmute(func_ref.array_call) };
    let max_stack = store.engine().config().max_wasm_stack;
    // SAFETY: the store context outlives the call; the func-ref's vmctx is a
    // live VMContext of this store; `values` has room for params and results.
    let result = unsafe {
        tandem_vm::traphandlers::catch_traps(
            context.cast(),
            max_stack,
            callee,
            func_ref.vmctx,
            func_ref.vmctx,
            values.as_mut_ptr(),
            values.len(),
        )
    };
    store.opaque.context.store.set(previous);
    result.map_err(|unwind| crate::trap::unwind_to_error(*unwind))
}

fn typecheck(what: &str, expected: &[tandem_environ::ValType], actual: &[Val]) -> Result<()> {
    if expected.len() != actual.len() {
        bail!("expected {} {what}s, got {}", expected.len(), actual.len());
    }
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        if *e != a.ty() {
            return Err(format_err!("{what} {i} has type {}, expected {e}", a.ty()));
        }
    }
    Ok(())
}

/// The array-call entry of every host function with store data `T`.
///
/// # Safety
///
/// Called only by Wasm-to-array trampolines: `callee_vmctx` is a live
/// `VMHostFuncContext` whose state is a `HostFunc<T>`, `caller_vmctx` a live
/// VMContext of a `Store<T>` that is inside a call, and `values` holds `len`
/// slots.
unsafe extern "C" fn host_trampoline<T: 'static>(
    callee_vmctx: *mut u8,
    caller_vmctx: *mut u8,
    values: *mut ValRaw,
    len: usize,
) -> bool {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        enter_host(
            callee_vmctx,
            caller_vmctx,
            values,
            len,
            |host: &HostFunc<T>, store, caller, values| {
                let instance = caller.instance(store);
                call_host(host, store, instance, values)
            },
        )
    }
}

/// The array-call entry of every typed host function with store data `T`.
///
/// # Safety
///
/// As [`host_trampoline`], with a `RawHostFunc<T>` whose closure is an `F`
/// as the state; `values` holds arguments of the function's parameter types.
unsafe extern "C" fn raw_host_trampoline<T: 'static, F>(
    callee_vmctx: *mut u8,
    caller_vmctx: *mut u8,
    values: *mut ValRaw,
    len: usize,
) -> bool
where
    F: Fn(&mut Store<T>, CallerVmctx, &mut [ValRaw]) -> Result<()> + Send + Sync + 'static,
{
    let call = |host: &RawHostFunc<T>, store: &mut Store<T>, caller, values: &mut [ValRaw]| {
        // SAFETY: this trampoline is only paired with a closure of type `F`
        // (`raw_host_context`); the arguments are the contract's.
        unsafe { invoke_raw::<T, F>(&*host.closure, store, caller, values) }
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { enter_host(callee_vmctx, caller_vmctx, values, len, call) }
}

/// What both host trampolines share: finds the host state `S`, the store
/// and the calling instance, runs `f` catching panics, and reports failure
/// as a pending unwind.
///
/// # Safety
///
/// As [`host_trampoline`], with `S` as the state's type.
unsafe fn enter_host<T: 'static, S: 'static>(
    callee_vmctx: *mut u8,
    caller_vmctx: *mut u8,
    values: *mut ValRaw,
    len: usize,
    f: impl FnOnce(&S, &mut Store<T>, CallerVmctx, &mut [ValRaw]) -> Result<()>,
) -> bool {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: guaranteed by the caller's contract.
        let (host, store, values) = unsafe {
            let ctx = &*callee_vmctx.cast::<VMHostFuncContext>();
            debug_assert_eq!(ctx.magic, VMHOST_MAGIC);
            // No `downcast_ref`: the type check costs a virtual call per
            // host call, and `context_with` only ever pairs a trampoline
            // with the state type it reads.
            let state: &(dyn std::any::Any + Send + Sync) = &*ctx.host_state;
            debug_assert!(state.is::<S>());
            let host = &*std::ptr::from_ref(state).cast::<S>();
            let context = *caller_vmctx
                .add(VMOffsets::VMCTX_STORE_CONTEXT as usize)
                .cast::<*const StoreCell>();
            let store = &mut *(*context).store.get().cast::<Store<T>>();
            (host, store, std::slice::from_raw_parts_mut(values, len))
        };
        f(host, store, CallerVmctx(caller_vmctx), values)
    }));
    match outcome {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tandem_vm::traphandlers::set_pending_unwind(UnwindReason::Host(Box::new(HostUnwind(
                error,
            ))));
            false
        }
        Err(panic) => {
            tandem_vm::traphandlers::set_pending_unwind(UnwindReason::Panic(panic));
            false
        }
    }
}

/// Calls a dynamic host function from Wasm: converts the arguments to
/// [`Val`]s (on the stack when there are few), checks and converts back the
/// results.
fn call_host<T: 'static>(
    host: &HostFunc<T>,
    store: &mut Store<T>,
    instance: Option<crate::Instance>,
    values: &mut [ValRaw],
) -> Result<()> {
    /// Values kept on the stack; more spill to the heap.
    const INLINE: usize = 8;
    let (np, nr) = (host.ty.params.len(), host.ty.results.len());
    let mut inline: [Val; INLINE] = std::array::from_fn(|_| Val::I32(0));
    let mut heap: Vec<Val> = Vec::new();
    let all: &mut [Val] = if np + nr <= INLINE {
        &mut inline[..np + nr]
    } else {
        heap.resize(np + nr, Val::I32(0));
        &mut heap
    };
    let (params, results) = all.split_at_mut(np);
    for ((slot, ty), raw) in params
        .iter_mut()
        .zip(host.ty.params.iter())
        .zip(values.iter())
    {
        // SAFETY: Wasm passed values of the declared parameter types.
        *slot = unsafe { Val::from_raw(&mut store.opaque, *raw, *ty) };
    }
    for (slot, &ty) in results.iter_mut().zip(host.ty.results.iter()) {
        *slot = Val::default_for(ty);
    }
    (host.func)(
        Caller {
            store: &mut *store,
            instance,
        },
        params,
        results,
    )?;
    typecheck("result", &host.ty.results, results)?;
    for (slot, result) in values.iter_mut().zip(results.iter()) {
        *slot = result.to_raw(&store.opaque)?;
    }
    Ok(())
}
