//! [`Val`]: values that cross between host and Wasm, and their conversion to
//! and from the raw form compiled code uses.

use crate::externref::ExternData;
use crate::store::StoreOpaque;
use crate::{ExternRef, Func, Result, Rooted};
use std::ptr::NonNull;
use tandem_environ::{HeapType, RefType, SharedTypeIndex, ValType};
use tandem_vm::{VMFuncRef, ValRaw};

/// A WebAssembly value.
///
/// ```
/// use tandem_store::{Val, ValType};
/// let v = Val::from(1.5f32);
/// assert_eq!(v.ty(), ValType::F32);
/// assert_eq!(v.f32(), Some(1.5));
/// assert_eq!(Val::default_for(ValType::I64).i64(), Some(0));
/// ```
#[derive(Clone, Copy, Debug)]
pub enum Val {
    /// i32
    I32(i32),
    /// i64
    I64(i64),
    /// f32, as bits (NaN payloads survive)
    F32(u32),
    /// f64, as bits
    F64(u64),
    /// v128
    V128(u128),
    /// funcref (`None` is null)
    FuncRef(Option<Func>),
    /// externref (`None` is null)
    ExternRef(Option<Rooted<ExternRef>>),
}

impl Val {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FUNCREF,
            Val::ExternRef(_) => ValType::EXTERNREF,
        }
    }

    /// The zero (or null) value of `ty`.
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::Ref(r) if r.heap.is_func() => Val::FuncRef(None),
            ValType::Ref(_) => Val::ExternRef(None),
        }
    }

    /// Whether this value has type `ty` (concrete types named as the
    /// engine names them, see [`HeapType::Registered`]): a null reference
    /// has every nullable reference type of its hierarchy, a function every
    /// reference type its signature is a subtype of.
    ///
    /// ```
    /// use tandem_store::{Engine, Func, HeapType, RefType, Store, Val, ValType};
    /// let mut store = Store::new(&Engine::default(), ());
    /// let f = Func::wrap(&mut store, || {});
    /// let non_null = ValType::Ref(RefType::new(false, HeapType::Func));
    /// assert!(Val::FuncRef(Some(f)).matches_ty(&store, &non_null).unwrap());
    /// assert!(!Val::FuncRef(None).matches_ty(&store, &non_null).unwrap());
    /// assert!(!Val::I32(0).matches_ty(&store, &ValType::I64).unwrap());
    /// ```
    ///
    /// # Errors
    ///
    /// If the value is a function of another store.
    pub fn matches_ty(&self, store: impl crate::AsContext, ty: &ValType) -> Result<bool> {
        self.fits(&store.as_context().0.opaque, *ty)
    }

    /// [`Val::matches_ty`] inside the crate.
    pub(crate) fn fits(&self, store: &StoreOpaque, ty: ValType) -> Result<bool> {
        Ok(match (self, ty) {
            (Val::FuncRef(None), ValType::Ref(r)) => r.nullable && r.heap.is_func(),
            (Val::ExternRef(None), ValType::Ref(r)) => r.nullable && !r.heap.is_func(),
            (Val::FuncRef(Some(f)), ValType::Ref(_)) => {
                store.check(f.store_id)?;
                let id = SharedTypeIndex::from_u32(f.type_id(store));
                let actual = ValType::Ref(RefType::new(false, HeapType::Registered(id)));
                store.engine.inner.val_subtype(actual, ty)
            }
            (Val::ExternRef(Some(_)), ValType::Ref(r)) => r.heap == HeapType::Extern,
            (v, ty) => v.ty() == ty,
        })
    }

    /// A null `funcref`.
    ///
    /// ```
    /// use tandem_store::{Val, ValType};
    /// assert_eq!(Val::null_func_ref().ty(), ValType::FUNCREF);
    /// assert_eq!(Val::null_extern_ref().ty(), ValType::EXTERNREF);
    /// ```
    pub fn null_func_ref() -> Val {
        Val::FuncRef(None)
    }

    /// A null `externref`.
    pub fn null_extern_ref() -> Val {
        Val::ExternRef(None)
    }

    /// The i32, if this is one.
    pub fn i32(&self) -> Option<i32> {
        if let Val::I32(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The i64, if this is one.
    pub fn i64(&self) -> Option<i64> {
        if let Val::I64(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The f32, if this is one.
    pub fn f32(&self) -> Option<f32> {
        if let Val::F32(v) = self {
            Some(f32::from_bits(*v))
        } else {
            None
        }
    }

    /// The f64, if this is one.
    pub fn f64(&self) -> Option<f64> {
        if let Val::F64(v) = self {
            Some(f64::from_bits(*v))
        } else {
            None
        }
    }

    /// The `funcref` (`Some(None)` for null), if this is one.
    ///
    /// ```
    /// use tandem_store::Val;
    /// assert_eq!(Val::FuncRef(None).funcref(), Some(None));
    /// assert_eq!(Val::I32(1).funcref(), None);
    /// ```
    pub fn funcref(&self) -> Option<Option<&Func>> {
        if let Val::FuncRef(f) = self {
            Some(f.as_ref())
        } else {
            None
        }
    }

    /// The `externref` (`Some(None)` for null), if this is one.
    pub fn externref(&self) -> Option<Option<&Rooted<ExternRef>>> {
        if let Val::ExternRef(e) = self {
            Some(e.as_ref())
        } else {
            None
        }
    }

    /// The i32; panics if this is another type.
    ///
    /// ```
    /// use tandem_store::Val;
    /// assert_eq!(Val::I32(7).unwrap_i32(), 7);
    /// assert_eq!(Val::from(1.5f64).unwrap_f64(), 1.5);
    /// assert!(Val::FuncRef(None).unwrap_funcref().is_none());
    /// ```
    pub fn unwrap_i32(&self) -> i32 {
        self.i32().expect("Val::unwrap_i32 on a non-i32")
    }

    /// The i64; panics if this is another type.
    pub fn unwrap_i64(&self) -> i64 {
        self.i64().expect("Val::unwrap_i64 on a non-i64")
    }

    /// The f32; panics if this is another type.
    pub fn unwrap_f32(&self) -> f32 {
        self.f32().expect("Val::unwrap_f32 on a non-f32")
    }

    /// The f64; panics if this is another type.
    pub fn unwrap_f64(&self) -> f64 {
        self.f64().expect("Val::unwrap_f64 on a non-f64")
    }

    /// The v128; panics if this is another type.
    pub fn unwrap_v128(&self) -> u128 {
        match self {
            Val::V128(v) => *v,
            _ => panic!("Val::unwrap_v128 on a non-v128"),
        }
    }

    /// The `funcref` (`None` for null); panics if this is another type.
    pub fn unwrap_funcref(&self) -> Option<&Func> {
        self.funcref()
            .expect("Val::unwrap_funcref on a non-funcref")
    }

    /// The `externref` (`None` for null); panics if this is another type.
    pub fn unwrap_externref(&self) -> Option<&Rooted<ExternRef>> {
        self.externref()
            .expect("Val::unwrap_externref on a non-externref")
    }

    /// The raw form, after checking the value belongs to `store`.
    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<ValRaw> {
        Ok(match self {
            Val::I32(v) => ValRaw::i32(v),
            Val::I64(v) => ValRaw::i64(v),
            Val::F32(v) => ValRaw::f32(v),
            Val::F64(v) => ValRaw::f64(v),
            Val::V128(v) => ValRaw::from_bytes(v.to_le_bytes()),
            Val::FuncRef(None) | Val::ExternRef(None) => ValRaw::ptr(std::ptr::null_mut()),
            Val::FuncRef(Some(f)) => ValRaw::ptr(f.func_ref(store)?.as_ptr().cast()),
            Val::ExternRef(Some(e)) => ValRaw::ptr(e.to_raw(store)?),
        })
    }

    /// Reads a raw value of type `ty`.
    ///
    /// # Safety
    ///
    /// Reference values must be null or point to a func-ref / externref
    /// alive in `store`: one Wasm or the host got from `store` (a raw
    /// externref stays alive in `store` until a collection finds it
    /// unreachable, see [`crate::Store::gc`]).
    pub(crate) unsafe fn from_raw(store: &mut StoreOpaque, raw: ValRaw, ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw.get_i32()),
            ValType::I64 => Val::I64(raw.get_i64()),
            ValType::F32 => Val::F32(raw.get_f32()),
            ValType::F64 => Val::F64(raw.get_f64()),
            ValType::V128 => Val::V128(u128::from_le_bytes(raw.to_bytes())),
            ValType::Ref(r) if r.heap.is_func() => Val::FuncRef(
                NonNull::new(raw.get_ptr().cast::<VMFuncRef>())
                    .map(|p| Func::from_func_ref(store, p)),
            ),
            // Root the raw pointer right away (the libcall rule): from
            // here on a collection cannot free it.
            ValType::Ref(_) => {
                let id = store.id;
                Val::ExternRef(
                    NonNull::new(raw.get_ptr().cast::<ExternData>())
                        // SAFETY: the pointer is a live externref of `store`
                        // (the caller's contract).
                        .map(|ptr| unsafe { store.externrefs.root_raw(id, ptr) }),
                )
            }
        }
    }
}

/// A `v128` as a host value: its 16 bytes, lane 0 in the low bits (as
/// wasmtime's `V128`). Typed functions take and return it, or a bare
/// `u128`.
///
/// ```
/// use tandem_store::{V128, Val};
/// let v = V128::from(1u128 << 64);
/// assert_eq!(v.as_u128(), 1 << 64);
/// assert_eq!(Val::from(v).unwrap_v128(), 1 << 64);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct V128(u128);

impl V128 {
    /// The 128 bits.
    pub const fn as_u128(self) -> u128 {
        self.0
    }
}

impl From<u128> for V128 {
    fn from(bits: u128) -> V128 {
        V128(bits)
    }
}

impl From<V128> for u128 {
    fn from(v: V128) -> u128 {
        v.0
    }
}

macro_rules! val_from {
    ($($t:ty => $variant:ident $(via $conv:ident)?;)*) => {$(
        impl From<$t> for Val {
            fn from(v: $t) -> Val {
                Val::$variant(v $(.$conv())?)
            }
        }
    )*};
}

val_from! {
    i32 => I32;
    i64 => I64;
    f32 => F32 via to_bits;
    f64 => F64 via to_bits;
    u128 => V128;
    V128 => V128 via as_u128;
    Option<Func> => FuncRef;
    Option<Rooted<ExternRef>> => ExternRef;
}

impl From<Func> for Val {
    fn from(f: Func) -> Val {
        Val::FuncRef(Some(f))
    }
}

impl From<Rooted<ExternRef>> for Val {
    fn from(e: Rooted<ExternRef>) -> Val {
        Val::ExternRef(Some(e))
    }
}

impl From<Ref> for Val {
    fn from(r: Ref) -> Val {
        match r {
            Ref::Func(f) => Val::FuncRef(f),
            Ref::Extern(e) => Val::ExternRef(e),
        }
    }
}

/// A reference value: what tables hold.
///
/// ```
/// use tandem_store::{Engine, ExternRef, Func, Ref, Store, Val};
/// let mut store = Store::new(&Engine::default(), ());
/// let f = Func::wrap(&mut store, || {});
/// let r = Ref::from(f);
/// assert_eq!(r.unwrap_func(), Some(&f));
/// assert!(Ref::Extern(None).is_null() && Ref::Extern(None).is_extern());
/// let e = ExternRef::new(&mut store, 3u8).unwrap();
/// assert!(Ref::from(Some(e)).unwrap_extern().is_some());
/// assert!(matches!(Val::from(r), Val::FuncRef(Some(_))));
/// ```
#[derive(Clone, Copy, Debug)]
pub enum Ref {
    /// A `funcref` (`None` is null).
    Func(Option<Func>),
    /// An `externref` (`None` is null).
    Extern(Option<Rooted<ExternRef>>),
}

impl Ref {
    /// Whether this is a null reference.
    pub fn is_null(&self) -> bool {
        matches!(self, Ref::Func(None) | Ref::Extern(None))
    }

    /// Whether this is a `funcref`.
    pub fn is_func(&self) -> bool {
        matches!(self, Ref::Func(_))
    }

    /// Whether this is an `externref`.
    pub fn is_extern(&self) -> bool {
        matches!(self, Ref::Extern(_))
    }

    /// The `funcref` (`Some(None)` for null), if this is one.
    pub fn as_func(&self) -> Option<Option<&Func>> {
        if let Ref::Func(f) = self {
            Some(f.as_ref())
        } else {
            None
        }
    }

    /// The `externref` (`Some(None)` for null), if this is one.
    pub fn as_extern(&self) -> Option<Option<&Rooted<ExternRef>>> {
        if let Ref::Extern(e) = self {
            Some(e.as_ref())
        } else {
            None
        }
    }

    /// The `funcref` (`None` for null); panics if this is an `externref`.
    pub fn unwrap_func(&self) -> Option<&Func> {
        self.as_func().expect("Ref::unwrap_func on an externref")
    }

    /// The `externref` (`None` for null); panics if this is a `funcref`.
    pub fn unwrap_extern(&self) -> Option<&Rooted<ExternRef>> {
        self.as_extern().expect("Ref::unwrap_extern on a funcref")
    }

    /// The reference type.
    pub(crate) fn ref_type(&self) -> RefType {
        match self {
            Ref::Func(_) => RefType::FUNCREF,
            Ref::Extern(_) => RefType::EXTERNREF,
        }
    }
}

impl From<Func> for Ref {
    fn from(f: Func) -> Ref {
        Ref::Func(Some(f))
    }
}

impl From<Option<Func>> for Ref {
    fn from(f: Option<Func>) -> Ref {
        Ref::Func(f)
    }
}

impl From<Rooted<ExternRef>> for Ref {
    fn from(e: Rooted<ExternRef>) -> Ref {
        Ref::Extern(Some(e))
    }
}

impl From<Option<Rooted<ExternRef>>> for Ref {
    fn from(e: Option<Rooted<ExternRef>>) -> Ref {
        Ref::Extern(e)
    }
}

impl Val {
    /// The reference, if this is one.
    ///
    /// ```
    /// use tandem_store::Val;
    /// assert!(Val::FuncRef(None).ref_().unwrap().is_null());
    /// assert!(Val::I32(0).ref_().is_none());
    /// ```
    pub fn ref_(&self) -> Option<Ref> {
        match *self {
            Val::FuncRef(f) => Some(Ref::Func(f)),
            Val::ExternRef(e) => Some(Ref::Extern(e)),
            _ => None,
        }
    }
}
