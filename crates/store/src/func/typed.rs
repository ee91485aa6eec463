//! Typed host functions and typed calls: Rust types that map to Wasm types
//! ([`WasmTy`]), tuples of them ([`WasmParams`], [`WasmResults`]), closures
//! that become host functions ([`IntoFunc`]) and [`TypedFunc`].

use super::{Caller, CallerVmctx, Func};
use crate::{AsContextMut, Error, ExternRef, Result, Rooted, Store, V128, Val, format_err};
use std::marker::PhantomData;
use tandem_environ::{FuncType, ValType};
use tandem_vm::ValRaw;

/// A Rust type with a Wasm counterpart.
///
/// ```
/// use tandem_store::{ValType, WasmTy};
/// assert_eq!(<f64 as WasmTy>::TY, ValType::F64);
/// assert_eq!(u32::from_val(&7u32.into_val()), Some(7));
/// ```
pub trait WasmTy: Sized + Send + 'static {
    /// The Wasm type.
    const TY: ValType;
    /// Converts to a [`Val`].
    fn into_val(self) -> Val;
    /// Converts from a [`Val`] of type [`Self::TY`].
    fn from_val(val: &Val) -> Option<Self>;

    /// Writes the raw form to an array-call slot; fails if a reference
    /// belongs to another store.
    #[doc(hidden)]
    fn store_raw<S>(self, store: &Store<S>, slot: &mut ValRaw) -> Result<()> {
        *slot = self.into_val().to_raw(&store.opaque)?;
        Ok(())
    }

    /// Reads a value of type [`Self::TY`] from an array-call slot.
    ///
    /// # Safety
    ///
    /// The slot holds a value of type [`Self::TY`] as Wasm writes it; a
    /// reference is null or alive in `store`.
    #[doc(hidden)]
    unsafe fn load_raw<S>(store: &mut Store<S>, slot: &ValRaw) -> Option<Self> {
        // SAFETY: forwarded from the caller.
        Self::from_val(&unsafe { Val::from_raw(&mut store.opaque, *slot, Self::TY) })
    }
}

macro_rules! wasm_ty {
    ($($t:ty => $ty:expr, $variant:ident, |$v:ident| $to:expr, |$w:ident| $from:expr
        $(, raw |$r:ident| $bits:expr, $field:ident |$u:ident| $load:expr)?;)*) => {$(
        impl WasmTy for $t {
            const TY: ValType = $ty;
            fn into_val(self) -> Val {
                let $v = self;
                Val::$variant($to)
            }
            fn from_val(val: &Val) -> Option<Self> {
                match val {
                    Val::$variant($w) => Some($from),
                    _ => None,
                }
            }
            $(
            // Numbers skip the `Val`: one 16-byte store (the value
            // zero-extended, as `Val::to_raw` writes it) and one load of
            // the value's own width (wider loads would miss store
            // forwarding after Wasm's narrower store).
            fn store_raw<S>(self, _store: &Store<S>, slot: &mut ValRaw) -> Result<()> {
                let $r = self;
                *slot = ValRaw::from_bytes(u128::from($bits).to_le_bytes());
                Ok(())
            }
            unsafe fn load_raw<S>(_store: &mut Store<S>, slot: &ValRaw) -> Option<Self> {
                let $u = slot.$field();
                Some($load)
            }
            )?
        }
    )*};
}

wasm_ty! {
    i32 => ValType::I32, I32, |v| v, |w| *w, raw |r| r as u32, get_i32 |u| u;
    u32 => ValType::I32, I32, |v| v as i32, |w| *w as u32, raw |r| r, get_i32 |u| u as u32;
    i64 => ValType::I64, I64, |v| v, |w| *w, raw |r| r as u64, get_i64 |u| u;
    u64 => ValType::I64, I64, |v| v as i64, |w| *w as u64, raw |r| r, get_i64 |u| u as u64;
    f32 => ValType::F32, F32, |v| v.to_bits(), |w| f32::from_bits(*w),
        raw |r| r.to_bits(), get_f32 |u| f32::from_bits(u);
    f64 => ValType::F64, F64, |v| v.to_bits(), |w| f64::from_bits(*w),
        raw |r| r.to_bits(), get_f64 |u| f64::from_bits(u);
    u128 => ValType::V128, V128, |v| v, |w| *w, raw |r| r, get_v128 |u| u;
    V128 => ValType::V128, V128, |v| v.as_u128(), |w| V128::from(*w),
        raw |r| r.as_u128(), get_v128 |u| V128::from(u);
    Option<Func> => ValType::FUNCREF, FuncRef, |v| v, |w| *w;
    Option<Rooted<ExternRef>> => ValType::EXTERNREF, ExternRef, |v| v, |w| *w;
}

/// A list of Wasm values as a Rust tuple (or a single value).
///
/// ```
/// use tandem_store::{ValType, WasmParams};
/// assert_eq!(<(i32, f64)>::types(), [ValType::I32, ValType::F64]);
/// ```
pub trait WasmParams: Sized + Send + 'static {
    /// The Wasm types, in order.
    fn types() -> Vec<ValType>;
    /// Converts to values.
    fn into_vals(self) -> Vec<Val>;
    /// Converts from values of [`Self::types`].
    fn from_vals(vals: &[Val]) -> Option<Self>;

    /// Number of values.
    #[doc(hidden)]
    const COUNT: usize;
    /// Writes the values to `out[..COUNT]` (fewer if `out` is shorter).
    #[doc(hidden)]
    fn write_vals(self, out: &mut [Val]);
    /// Writes the raw forms of the values to `out[..COUNT]`; fails if a
    /// reference belongs to another store or `out` is too short.
    #[doc(hidden)]
    fn write_raw<S>(self, store: &Store<S>, out: &mut [ValRaw]) -> Result<()>;
    /// Reads values of [`Self::types`] from `raw[..COUNT]` (`None` if
    /// `raw` is too short).
    ///
    /// # Safety
    ///
    /// `raw` holds values of [`Self::types`] as Wasm writes them; references
    /// are null or alive in `store`.
    #[doc(hidden)]
    unsafe fn read_raw<S>(store: &mut Store<S>, raw: &[ValRaw]) -> Option<Self>;
}

fn short_slots() -> Error {
    format_err!("too few value slots")
}

/// Results are lists of values just like parameters.
///
/// ```
/// fn results<R: tandem_store::WasmResults>() -> usize { R::types().len() }
/// assert_eq!(results::<(i32, i64, f32)>(), 3);
/// ```
pub trait WasmResults: WasmParams {}
impl<T: WasmParams> WasmResults for T {}

impl<T: WasmTy> WasmParams for T {
    fn types() -> Vec<ValType> {
        vec![T::TY]
    }
    fn into_vals(self) -> Vec<Val> {
        vec![self.into_val()]
    }
    fn from_vals(vals: &[Val]) -> Option<Self> {
        match vals {
            [v] => T::from_val(v),
            _ => None,
        }
    }

    const COUNT: usize = 1;
    fn write_vals(self, out: &mut [Val]) {
        if let Some(slot) = out.first_mut() {
            *slot = self.into_val();
        }
    }
    fn write_raw<S>(self, store: &Store<S>, out: &mut [ValRaw]) -> Result<()> {
        self.store_raw(store, out.first_mut().ok_or_else(short_slots)?)
    }
    unsafe fn read_raw<S>(store: &mut Store<S>, raw: &[ValRaw]) -> Option<Self> {
        // SAFETY: forwarded from the caller.
        unsafe { T::load_raw(store, raw.first()?) }
    }
}

macro_rules! tuples {
    ($(($($t:ident),*);)*) => {$(
        #[allow(non_snake_case)]
        impl<$($t: WasmTy),*> WasmParams for ($($t,)*) {
            fn types() -> Vec<ValType> {
                vec![$($t::TY),*]
            }
            fn into_vals(self) -> Vec<Val> {
                let ($($t,)*) = self;
                vec![$($t.into_val()),*]
            }
            fn from_vals(vals: &[Val]) -> Option<Self> {
                let mut iter = vals.iter();
                let result = ($($t::from_val(iter.next()?)?,)*);
                iter.next().is_none().then_some(result)
            }

            const COUNT: usize = {
                let names: &[&str] = &[$(stringify!($t)),*];
                names.len()
            };
            #[allow(unused_variables, unused_mut, reason = "the empty tuple")]
            fn write_vals(self, out: &mut [Val]) {
                let ($($t,)*) = self;
                let mut slots = out.iter_mut();
                $(if let Some(slot) = slots.next() {
                    *slot = $t.into_val();
                })*
            }
            #[allow(unused_variables, unused_mut, reason = "the empty tuple")]
            fn write_raw<S>(self, store: &Store<S>, out: &mut [ValRaw]) -> Result<()> {
                let ($($t,)*) = self;
                let mut slots = out.iter_mut();
                $($t.store_raw(store, slots.next().ok_or_else(short_slots)?)?;)*
                Ok(())
            }
            #[allow(unused_variables, unused_mut, reason = "the empty tuple")]
            unsafe fn read_raw<S>(store: &mut Store<S>, raw: &[ValRaw]) -> Option<Self> {
                let mut slots = raw.iter();
                // SAFETY: forwarded from the caller, one value at a time.
                Some(($(unsafe { $t::load_raw(store, slots.next()?)? },)*))
            }
        }
    )*};
}

tuples! {
    ();
    (A);
    (A, B);
    (A, B, C);
    (A, B, C, D);
    (A, B, C, D, E);
    (A, B, C, D, E, F);
    (A, B, C, D, E, F, G);
    (A, B, C, D, E, F, G, H);
    (A, B, C, D, E, F, G, H, I);
    (A, B, C, D, E, F, G, H, I, J);
}

/// What a typed host closure may return: results, or `Result` of them.
///
/// ```
/// use tandem_store::{Engine, Func, Store, bail};
/// let mut store = Store::new(&Engine::default(), ());
/// let plain = Func::wrap(&mut store, |x: i32| x + 1);
/// let fallible = Func::wrap(&mut store, |x: i32| -> tandem_store::Result<i32> {
///     if x < 0 { bail!("negative") } else { Ok(x) }
/// });
/// // `anyhow::Result` is the same type.
/// let with_anyhow = Func::wrap(&mut store, |x: i32| -> anyhow::Result<i32> { Ok(x) });
/// assert_eq!(plain.ty(&store), fallible.ty(&store));
/// assert_eq!(plain.ty(&store), with_anyhow.ty(&store));
/// ```
pub trait WasmRet {
    /// The results.
    type Results: WasmResults;
    /// Converts to `Result`.
    fn into_result(self) -> Result<Self::Results>;
}

impl<R: WasmResults> WasmRet for R {
    type Results = R;
    fn into_result(self) -> Result<R> {
        Ok(self)
    }
}

impl<R: WasmResults> WasmRet for Result<R> {
    type Results = R;
    fn into_result(self) -> Result<R> {
        self
    }
}

/// A closure that can become a host function. `Params` and `Results` are
/// markers inferred from the closure's signature.
///
/// ```
/// use tandem_store::{Engine, Func, Store, ValType};
/// let mut store = Store::new(&Engine::default(), ());
/// let f = Func::wrap(&mut store, |a: i32, b: f64| -> (f64, i32) { (b, a) });
/// assert_eq!(f.ty(&store).results().collect::<Vec<_>>(), [ValType::F64, ValType::I32]);
/// ```
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    /// The host-function context of the raw form, which reads its
    /// arguments from and writes its results to the array-call slots
    /// without building [`Val`]s.
    #[doc(hidden)]
    fn into_raw_context(self, engine: &crate::Engine) -> Box<tandem_vm::VMHostFuncContext>;
}

/// Reads a typed host function's arguments from `values`.
///
/// # Safety
///
/// `values` holds Wasm values of `P`'s types (Wasm-to-array trampoline) or
/// values converted from [`Val`]s of those types, with references alive in
/// `store`.
unsafe fn raw_args<P: WasmParams, T>(store: &mut Store<T>, values: &[ValRaw]) -> Result<P> {
    // SAFETY: forwarded from the caller.
    unsafe { P::read_raw(store, values) }.ok_or_else(|| format_err!("host function argument types"))
}

macro_rules! into_func {
    ($(($($a:ident),*);)*) => {$(
        #[allow(non_snake_case)]
        impl<T: 'static, F, R, $($a: WasmTy),*> IntoFunc<T, ($($a,)*), R> for F
        where
            F: Fn($($a),*) -> R + Send + Sync + 'static,
            R: WasmRet,
        {
            fn into_raw_context(self, engine: &crate::Engine) -> Box<tandem_vm::VMHostFuncContext> {
                let ty = FuncType::new(<($($a,)*)>::types(), R::Results::types());
                let f = move |store: &mut Store<T>, _caller: CallerVmctx, values: &mut [ValRaw]| {
                    // SAFETY: the raw form is only called with slots of the
                    // function's own type (see `RawHostFunc`).
                    let ($($a,)*) = unsafe { raw_args::<($($a,)*), T>(store, values)? };
                    self($($a),*).into_result()?.write_raw(store, values)
                };
                super::raw_host_context(engine, &ty, f)
            }
        }

        #[allow(non_snake_case)]
        impl<T: 'static, F, R, $($a: WasmTy),*> IntoFunc<T, (Caller<'static, T>, $($a,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($a),*) -> R + Send + Sync + 'static,
            R: WasmRet,
        {
            fn into_raw_context(self, engine: &crate::Engine) -> Box<tandem_vm::VMHostFuncContext> {
                let ty = FuncType::new(<($($a,)*)>::types(), R::Results::types());
                let f = move |store: &mut Store<T>, caller: CallerVmctx, values: &mut [ValRaw]| {
                    // SAFETY: the raw form is only called with slots of the
                    // function's own type (see `RawHostFunc`).
                    let ($($a,)*) = unsafe { raw_args::<($($a,)*), T>(store, values)? };
                    let instance = caller.instance(store);
                    let caller = Caller { store: &mut *store, instance };
                    self(caller, $($a),*).into_result()?.write_raw(store, values)
                };
                super::raw_host_context(engine, &ty, f)
            }
        }
    )*};
}

into_func! {
    ();
    (A1);
    (A1, A2);
    (A1, A2, A3);
    (A1, A2, A3, A4);
    (A1, A2, A3, A4, A5);
    (A1, A2, A3, A4, A5, A6);
    (A1, A2, A3, A4, A5, A6, A7);
    (A1, A2, A3, A4, A5, A6, A7, A8);
    (A1, A2, A3, A4, A5, A6, A7, A8, A9);
    (A1, A2, A3, A4, A5, A6, A7, A8, A9, A10);
}

/// A function with its signature checked once, called with Rust values.
///
/// ```
/// use tandem_store::{Engine, Instance, Module, Store};
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module (func (export "swap") (param i64 f32) (result f32 i64)
///     local.get 1 local.get 0))"#).unwrap();
/// let mut store = Store::new(&engine, ());
/// let instance = Instance::new(&mut store, &module, &[]).unwrap();
/// let swap = instance.get_typed_func::<(i64, f32), (f32, i64)>(&mut store, "swap").unwrap();
/// assert_eq!(swap.call(&mut store, (7, 1.5)).unwrap(), (1.5, 7));
/// // A wrong signature is caught once, when the typed view is made.
/// assert!(instance.get_typed_func::<i32, i32>(&mut store, "swap").is_err());
/// ```
pub struct TypedFunc<P, R> {
    func: Func,
    _marker: PhantomData<fn(P) -> R>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P, R> Copy for TypedFunc<P, R> {}

impl<P: WasmParams, R: WasmResults> TypedFunc<P, R> {
    pub(crate) fn new(func: Func, ty: &FuncType) -> Result<Self> {
        if *ty.params != *P::types() || *ty.results != *R::types() {
            return Err(format_err!(
                "function type is {ty}, not the requested {}",
                FuncType::new(P::types(), R::types())
            ));
        }
        Ok(TypedFunc {
            func,
            _marker: PhantomData,
        })
    }

    /// The untyped function.
    pub fn func(&self) -> Func {
        self.func
    }

    /// Calls the function.
    ///
    /// A Wasm function is entered directly with the values in slots on the
    /// stack (the signature was checked when the typed view was made); a
    /// host function goes through [`Func::call`].
    pub fn call(&self, mut store: impl AsContextMut, params: P) -> Result<R> {
        /// Slots on the stack: tuples have at most ten values.
        const SLOTS: usize = 10;
        let store = store.as_context_mut().0;
        let func_ref = self.func.func_ref(&store.opaque)?;
        // SAFETY: func-refs of a store stay valid while it lives.
        let func_ref = unsafe { *func_ref.as_ref() };
        let len = P::COUNT.max(R::COUNT);
        if super::is_host(&func_ref) || len > SLOTS {
            let params = params.into_vals();
            let mut results: Vec<Val> = R::types().into_iter().map(Val::default_for).collect();
            self.func.call(store, &params, &mut results)?;
            return R::from_vals(&results).ok_or_else(|| format_err!("result types"));
        }
        let mut slots = [ValRaw::default(); SLOTS];
        params.write_raw(store, &mut slots[..P::COUNT])?;
        super::invoke(store, func_ref, &mut slots[..len])?;
        // SAFETY: the function's type is `P -> R` (checked by `new`), so
        // Wasm wrote values of `R`'s types to the first slots.
        unsafe { R::read_raw(store, &slots[..R::COUNT]) }.ok_or_else(|| format_err!("result types"))
    }
}

#[cfg(test)]
mod tests {
    //! The raw paths: typed calls into Wasm that skip [`Val`], and typed
    //! host functions whose arguments and results never become [`Val`]s.

    use crate::{
        Caller, Engine, Extern, ExternRef, Func, Instance, Module, Rooted, Store, Trap,
        WasmBacktrace,
    };

    fn instance(store: &mut Store<()>, wat: &str, imports: &[Extern]) -> Instance {
        let module = Module::new(store.engine(), wat).unwrap();
        Instance::new(store, &module, imports).unwrap()
    }

    #[test]
    fn typed_calls_keep_every_bit() {
        let mut store = Store::new(&Engine::default(), ());
        let inst = instance(
            &mut store,
            r#"(module (func (export "id") (param i32 i64 f32 f64) (result f64 f32 i64 i32)
                local.get 3 local.get 2 local.get 1 local.get 0))"#,
            &[],
        );
        let id = inst
            .get_typed_func::<(u32, u64, f32, f64), (f64, f32, i64, i32)>(&mut store, "id")
            .unwrap();
        let nan = f32::from_bits(0x7fa0_0001);
        let (d, f, l, i) = id
            .call(&mut store, (u32::MAX, u64::MAX - 1, nan, -0.0))
            .unwrap();
        assert_eq!(d.to_bits(), (-0.0f64).to_bits());
        assert_eq!(f.to_bits(), 0x7fa0_0001);
        assert_eq!(l, -2);
        assert_eq!(i, -1);
    }

    #[test]
    fn typed_host_functions_from_wasm() {
        let mut store = Store::new(&Engine::default(), ());
        let mix = Func::wrap(&mut store, |a: i32, b: i64, c: f32, d: f64| -> (f64, i64) {
            (f64::from(c) + d, i64::from(a) * b)
        });
        let inst = instance(
            &mut store,
            r#"(module (import "" "mix" (func $mix (param i32 i64 f32 f64) (result f64 i64)))
                (func (export "run") (result f64 i64)
                  (call $mix (i32.const -3) (i64.const 5) (f32.const 1.5) (f64.const 0.25))))"#,
            &[mix.into()],
        );
        let run = inst
            .get_typed_func::<(), (f64, i64)>(&mut store, "run")
            .unwrap();
        assert_eq!(run.call(&mut store, ()).unwrap(), (1.75, -15));
    }

    #[test]
    fn typed_host_functions_pass_references() {
        let mut store = Store::new(&Engine::default(), ());
        let pass = Func::wrap(
            &mut store,
            |f: Option<Func>,
             e: Option<Rooted<ExternRef>>|
             -> (Option<Rooted<ExternRef>>, Option<Func>) { (e, f) },
        );
        let inst = instance(
            &mut store,
            r#"(module (import "" "pass" (func $p (param funcref externref) (result externref funcref)))
                (func (export "run") (param funcref externref) (result externref funcref)
                  (call $p (local.get 0) (local.get 1))))"#,
            &[pass.into()],
        );
        let run = inst
            .get_typed_func::<
                (Option<Func>, Option<Rooted<ExternRef>>),
                (Option<Rooted<ExternRef>>, Option<Func>),
            >(&mut store, "run")
            .unwrap();
        let data = ExternRef::new(&mut store, 42u32).unwrap();
        let (e, f) = run.call(&mut store, (Some(pass), Some(data))).unwrap();
        assert_eq!(f, Some(pass));
        let e = e.unwrap();
        assert!(Rooted::ref_eq(&store, &e, &data).unwrap());
        let value = e.data(&store).unwrap().unwrap();
        assert_eq!(value.downcast_ref::<u32>(), Some(&42));
        let (e, f) = run.call(&mut store, (None, None)).unwrap();
        assert!(e.is_none() && f.is_none());
    }

    #[test]
    fn typed_host_functions_called_from_the_host() {
        let mut store = Store::new(&Engine::default(), ());
        let add = Func::wrap(&mut store, |a: i32, b: i32| a.wrapping_add(b));
        let mut out = [crate::Val::I32(0)];
        add.call(
            &mut store,
            &[crate::Val::I32(40), crate::Val::I32(2)],
            &mut out,
        )
        .unwrap();
        assert_eq!(out[0].i32(), Some(42));
        assert!(
            add.call(&mut store, &[crate::Val::I32(1)], &mut out)
                .is_err()
        );
        let typed = add.typed::<(i32, i32), i32>(&store).unwrap();
        assert_eq!(typed.call(&mut store, (i32::MAX, 1)).unwrap(), i32::MIN);
    }

    #[test]
    fn typed_host_functions_see_their_caller() {
        let mut store = Store::new(&Engine::default(), ());
        let peek = Func::wrap(&mut store, |mut caller: Caller<'_, ()>, at: i32| -> i32 {
            match caller.get_export("memory") {
                Some(Extern::Memory(m)) => i32::from(m.data(caller.store())[at as usize]),
                _ => -1,
            }
        });
        let inst = instance(
            &mut store,
            r#"(module (import "" "peek" (func $peek (param i32) (result i32)))
                (memory (export "memory") 1) (data (i32.const 3) "\07")
                (func (export "run") (result i32) (call $peek (i32.const 3))))"#,
            &[peek.into()],
        );
        let run = inst.get_typed_func::<(), i32>(&mut store, "run").unwrap();
        assert_eq!(run.call(&mut store, ()).unwrap(), 7);
        // From the host there is no calling instance.
        let direct = peek.typed::<i32, i32>(&store).unwrap();
        assert_eq!(direct.call(&mut store, 3).unwrap(), -1);
    }

    #[test]
    fn typed_host_function_errors_reach_the_caller() {
        let mut store = Store::new(&Engine::default(), ());
        let fail = Func::wrap(&mut store, |x: i32| -> crate::Result<i32> {
            Err(std::io::Error::other(format!("refused {x}")).into())
        });
        let inst = instance(
            &mut store,
            r#"(module (import "" "fail" (func $f (param i32) (result i32)))
                (func (export "run") (result i32) (call $f (i32.const 9))))"#,
            &[fail.into()],
        );
        let run = inst.get_typed_func::<(), i32>(&mut store, "run").unwrap();
        let err = run.call(&mut store, ()).unwrap_err();
        assert!(err.downcast_ref::<Trap>().is_none());
        let io = err
            .downcast_ref::<std::io::Error>()
            .expect("the host's own error");
        assert_eq!(io.to_string(), "refused 9");
        assert_eq!(
            err.downcast_ref::<WasmBacktrace>().unwrap().frames().len(),
            1
        );
        // The store stays usable.
        let ok = Func::wrap(&mut store, |x: i32| x);
        assert_eq!(
            ok.typed::<i32, i32>(&store)
                .unwrap()
                .call(&mut store, 5)
                .unwrap(),
            5
        );
    }
}
