//! [`Val`]: values that cross between host and Wasm, and their conversion to
//! and from the raw form compiled code uses.

use crate::externref::ExternData;
use crate::store::StoreOpaque;
use crate::{ExternRef, Func, Result};
use std::ptr::NonNull;
use tandem_environ::{RefType, ValType};
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
#[derive(Clone, Debug)]
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
    ExternRef(Option<ExternRef>),
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
            Val::FuncRef(_) => ValType::Ref(RefType::Func),
            Val::ExternRef(_) => ValType::Ref(RefType::Extern),
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
            ValType::Ref(RefType::Func) => Val::FuncRef(None),
            ValType::Ref(RefType::Extern) => Val::ExternRef(None),
        }
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

    /// The raw form, after checking the value belongs to `store`.
    pub(crate) fn to_raw(&self, store: &StoreOpaque) -> Result<ValRaw> {
        Ok(match self {
            Val::I32(v) => ValRaw::i32(*v),
            Val::I64(v) => ValRaw::i64(*v),
            Val::F32(v) => ValRaw::f32(*v),
            Val::F64(v) => ValRaw::f64(*v),
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
            ValType::Ref(RefType::Func) => Val::FuncRef(
                NonNull::new(raw.get_ptr().cast::<VMFuncRef>())
                    .map(|p| Func::from_func_ref(store, p)),
            ),
            // Turn the raw pointer into an owning handle right away (the
            // libcall rule): from here on a collection cannot free it.
            // SAFETY: the pointer is a live externref of `store` (the
            // caller's contract).
            ValType::Ref(RefType::Extern) => Val::ExternRef(
                NonNull::new(raw.get_ptr().cast::<ExternData>())
                    .map(|ptr| unsafe { ExternRef::clone_from_raw(store, ptr) }),
            ),
        }
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
    Option<Func> => FuncRef;
    Option<ExternRef> => ExternRef;
}

impl From<Func> for Val {
    fn from(f: Func) -> Val {
        Val::FuncRef(Some(f))
    }
}

impl From<ExternRef> for Val {
    fn from(e: ExternRef) -> Val {
        Val::ExternRef(Some(e))
    }
}
