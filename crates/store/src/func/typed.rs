//! Typed host functions and typed calls: Rust types that map to Wasm types
//! ([`WasmTy`]), tuples of them ([`WasmParams`], [`WasmResults`]), closures
//! that become host functions ([`IntoFunc`]) and [`TypedFunc`].

use super::{Caller, Func, HostFn};
use crate::{Error, ExternRef, Result, Store, Val};
use std::marker::PhantomData;
use tandem_environ::{FuncType, RefType, ValType};

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
}

macro_rules! wasm_ty {
    ($($t:ty => $ty:expr, $variant:ident, |$v:ident| $to:expr, |$w:ident| $from:expr;)*) => {$(
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
        }
    )*};
}

wasm_ty! {
    i32 => ValType::I32, I32, |v| v, |w| *w;
    u32 => ValType::I32, I32, |v| v as i32, |w| *w as u32;
    i64 => ValType::I64, I64, |v| v, |w| *w;
    u64 => ValType::I64, I64, |v| v as i64, |w| *w as u64;
    f32 => ValType::F32, F32, |v| v.to_bits(), |w| f32::from_bits(*w);
    f64 => ValType::F64, F64, |v| v.to_bits(), |w| f64::from_bits(*w);
    Option<Func> => ValType::Ref(RefType::Func), FuncRef, |v| v, |w| *w;
    Option<ExternRef> => ValType::Ref(RefType::Extern), ExternRef, |v| v, |w| w.clone();
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
/// use tandem_store::{Engine, Error, Func, Store};
/// let mut store = Store::new(&Engine::default(), ());
/// let plain = Func::wrap(&mut store, |x: i32| x + 1);
/// let fallible = Func::wrap(&mut store, |x: i32| -> tandem_store::Result<i32> {
///     if x < 0 { Err(Error::Usage("negative".into())) } else { Ok(x) }
/// });
/// assert_eq!(plain.ty(&store), fallible.ty(&store));
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
/// assert_eq!(&*f.ty(&store).results, [ValType::F64, ValType::I32]);
/// ```
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    /// The function's type and its dynamic form.
    #[doc(hidden)]
    fn into_host_fn(self) -> (FuncType, Box<HostFn<T>>);
}

macro_rules! into_func {
    ($(($($a:ident),*);)*) => {$(
        #[allow(non_snake_case)]
        impl<T: 'static, F, R, $($a: WasmTy),*> IntoFunc<T, ($($a,)*), R> for F
        where
            F: Fn($($a),*) -> R + Send + Sync + 'static,
            R: WasmRet,
        {
            fn into_host_fn(self) -> (FuncType, Box<HostFn<T>>) {
                let ty = FuncType::new(<($($a,)*)>::types(), R::Results::types());
                let f = move |_caller: Caller<'_, T>, params: &[Val], results: &mut [Val]| {
                    let ($($a,)*) = <($($a,)*)>::from_vals(params)
                        .ok_or_else(|| Error::Usage("host function argument types".into()))?;
                    write_results(self($($a),*).into_result()?, results)
                };
                (ty, Box::new(f))
            }
        }

        #[allow(non_snake_case)]
        impl<T: 'static, F, R, $($a: WasmTy),*> IntoFunc<T, (Caller<'static, T>, $($a,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($a),*) -> R + Send + Sync + 'static,
            R: WasmRet,
        {
            fn into_host_fn(self) -> (FuncType, Box<HostFn<T>>) {
                let ty = FuncType::new(<($($a,)*)>::types(), R::Results::types());
                let f = move |caller: Caller<'_, T>, params: &[Val], results: &mut [Val]| {
                    let ($($a,)*) = <($($a,)*)>::from_vals(params)
                        .ok_or_else(|| Error::Usage("host function argument types".into()))?;
                    write_results(self(caller, $($a),*).into_result()?, results)
                };
                (ty, Box::new(f))
            }
        }
    )*};
}

fn write_results<R: WasmResults>(r: R, results: &mut [Val]) -> Result<()> {
    for (slot, v) in results.iter_mut().zip(r.into_vals()) {
        *slot = v;
    }
    Ok(())
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
            return Err(Error::Usage(format!(
                "function type is {ty}, not the requested {}",
                FuncType::new(P::types(), R::types())
            )));
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
    pub fn call<T: 'static>(&self, store: &mut Store<T>, params: P) -> Result<R> {
        let params = params.into_vals();
        let mut results: Vec<Val> = R::types().into_iter().map(Val::default_for).collect();
        self.func.call(store, &params, &mut results)?;
        R::from_vals(&results).ok_or_else(|| Error::Usage("result types".into()))
    }
}
