//! The `v128` operator families (fixed-width SIMD and relaxed SIMD).
//!
//! Relaxed SIMD operators have no family of their own where a strict
//! operator is one of their permitted results: the table maps them onto it,
//! so every backend gives the same, deterministic result on every CPU (and
//! tiering or differential tests never see a difference). Only operators
//! with no strict counterpart get variants here ([`SimdTernOp::Madd`],
//! [`SimdTernOp::Nmadd`], [`SimdBinOp::DotI8x16I7x16S`],
//! [`SimdTernOp::DotI8x16I7x16AddS`]). The choice per operator:
//!
//! | relaxed operator | lowered as |
//! |---|---|
//! | `i8x16.relaxed_swizzle` | `i8x16.swizzle` (an index of 16 or more selects 0) |
//! | `i32x4.relaxed_trunc_f32x4_s/u` | `i32x4.trunc_sat_f32x4_s/u` (NaN gives 0, saturates) |
//! | `i32x4.relaxed_trunc_f64x2_s/u_zero` | `i32x4.trunc_sat_f64x2_s/u_zero` |
//! | `f32x4/f64x2.relaxed_madd` | `a * b + c`, unfused: two roundings, no FMA unit needed |
//! | `f32x4/f64x2.relaxed_nmadd` | `-(a * b) + c`, unfused |
//! | `iNxM.relaxed_laneselect` | `v128.bitselect` (bit by bit, whatever the mask) |
//! | `f32x4/f64x2.relaxed_min/max` | `f32x4/f64x2.min/max` (NaN-propagating, -0 below +0) |
//! | `i16x8.relaxed_q15mulr_s` | `i16x8.q15mulr_sat_s` (saturates `-1 * -1`) |
//! | `i16x8.relaxed_dot_i8x16_i7x16_s` | both operands signed, products summed in pairs, wrapping to 16 bits |
//! | `i32x4.relaxed_dot_i8x16_i7x16_add_s` | both operands signed, four products summed exactly in 32 bits, plus the accumulator (wrapping) |

use super::families::{FloatUnOp, Width};

/// The lane shape of a `v128` operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lanes {
    /// 16 lanes of 8 bits.
    I8x16,
    /// 8 lanes of 16 bits.
    I16x8,
    /// 4 lanes of 32 bits.
    I32x4,
    /// 2 lanes of 64 bits.
    I64x2,
    /// 4 lanes of `f32`.
    F32x4,
    /// 2 lanes of `f64`.
    F64x2,
}

impl Lanes {
    /// The number of lanes.
    pub const fn count(self) -> u8 {
        16 / self.lane_bytes()
    }

    /// The bytes of one lane.
    pub const fn lane_bytes(self) -> u8 {
        match self {
            Lanes::I8x16 => 1,
            Lanes::I16x8 => 2,
            Lanes::I32x4 | Lanes::F32x4 => 4,
            Lanes::I64x2 | Lanes::F64x2 => 8,
        }
    }
}

/// An integer lane shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntLanes {
    /// 16 lanes of 8 bits.
    I8x16,
    /// 8 lanes of 16 bits.
    I16x8,
    /// 4 lanes of 32 bits.
    I32x4,
    /// 2 lanes of 64 bits.
    I64x2,
}

impl From<IntLanes> for Lanes {
    fn from(lanes: IntLanes) -> Lanes {
        match lanes {
            IntLanes::I8x16 => Lanes::I8x16,
            IntLanes::I16x8 => Lanes::I16x8,
            IntLanes::I32x4 => Lanes::I32x4,
            IntLanes::I64x2 => Lanes::I64x2,
        }
    }
}

/// A float lane shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatLanes {
    /// 4 lanes of `f32`.
    F32x4,
    /// 2 lanes of `f64`.
    F64x2,
}

impl From<FloatLanes> for Lanes {
    fn from(lanes: FloatLanes) -> Lanes {
        match lanes {
            FloatLanes::F32x4 => Lanes::F32x4,
            FloatLanes::F64x2 => Lanes::F64x2,
        }
    }
}

/// `v128` loads other than the lane loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum V128Load {
    /// `v128.load`: 16 bytes.
    Full,
    /// `v128.loadNxM_s/u`: 8 bytes, each lane widened to the lanes of `to`.
    Extend {
        /// The result's lanes (`I16x8`, `I32x4` or `I64x2`).
        to: IntLanes,
        /// Sign- (else zero-) extends.
        signed: bool,
    },
    /// `v128.loadN_splat`: one lane of `width`, copied to every lane.
    Splat(Width),
    /// `v128.load32_zero` / `v128.load64_zero`: the low lane, the rest 0.
    Zero(Width),
}

/// One-operand `v128` operators whose result is a `v128`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimdUnOp {
    /// `v128.not`
    Not,
    /// `iNxM.abs`
    Abs(IntLanes),
    /// `iNxM.neg`
    Neg(IntLanes),
    /// `i8x16.popcnt`
    Popcnt,
    /// `f32x4.*` / `f64x2.*` with a scalar float operator's meaning per
    /// lane.
    Float(FloatUnOp, FloatLanes),
    /// `iNxM.extend_low/high_*`: half the lanes, widened to `to`.
    Extend {
        /// The result's lanes (`I16x8`, `I32x4` or `I64x2`).
        to: IntLanes,
        /// The upper half (else the lower).
        high: bool,
        /// Sign- (else zero-) extends.
        signed: bool,
    },
    /// `iNxM.extadd_pairwise_*`: adjacent lanes widened and summed.
    ExtAddPairwise {
        /// The result's lanes (`I16x8` or `I32x4`).
        to: IntLanes,
        /// Reads the operand's lanes as signed.
        signed: bool,
    },
    /// `i32x4.trunc_sat_f32x4_s/u`
    TruncSatF32x4 {
        /// Signed (else unsigned) result.
        signed: bool,
    },
    /// `i32x4.trunc_sat_f64x2_s/u_zero`
    TruncSatF64x2Zero {
        /// Signed (else unsigned) result.
        signed: bool,
    },
    /// `f32x4.convert_i32x4_s/u`
    ConvertI32x4 {
        /// Reads the lanes as signed.
        signed: bool,
    },
    /// `f64x2.convert_low_i32x4_s/u`
    ConvertLowI32x4 {
        /// Reads the lanes as signed.
        signed: bool,
    },
    /// `f32x4.demote_f64x2_zero`
    DemoteF64x2Zero,
    /// `f64x2.promote_low_f32x4`
    PromoteLowF32x4,
}

/// Two-operand integer lane operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimdIntBinOp {
    /// Wrapping addition.
    Add,
    /// Wrapping subtraction.
    Sub,
    /// Wrapping multiplication (not `i8x16`).
    Mul,
    /// Signed saturating addition.
    AddSatS,
    /// Unsigned saturating addition.
    AddSatU,
    /// Signed saturating subtraction.
    SubSatS,
    /// Unsigned saturating subtraction.
    SubSatU,
    /// Signed minimum.
    MinS,
    /// Unsigned minimum.
    MinU,
    /// Signed maximum.
    MaxS,
    /// Unsigned maximum.
    MaxU,
    /// Unsigned rounding average (`(a + b + 1) / 2`).
    AvgrU,
    /// `i16x8.q15mulr_sat_s`: rounding Q15 multiplication, saturating.
    Q15MulrSatS,
}

/// Two-operand float lane operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimdFloatBinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// Minimum (NaN-propagating, -0 below +0).
    Min,
    /// Maximum (NaN-propagating, +0 above -0).
    Max,
    /// Pseudo-minimum: `b < a ? b : a`.
    PMin,
    /// Pseudo-maximum: `a < b ? b : a`.
    PMax,
}

/// Two-operand `v128` operators whose result is a `v128`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimdBinOp {
    /// `v128.and`
    And,
    /// `v128.andnot`: `a & !b`.
    AndNot,
    /// `v128.or`
    Or,
    /// `v128.xor`
    Xor,
    /// Integer lane arithmetic.
    Int(SimdIntBinOp, IntLanes),
    /// Float lane arithmetic.
    Float(SimdFloatBinOp, FloatLanes),
    /// `i8x16.narrow_i16x8_s/u`, `i16x8.narrow_i32x4_s/u`: both operands'
    /// lanes halved in width with saturation, `a`'s in the low half.
    Narrow {
        /// The result's lanes (`I8x16` or `I16x8`).
        to: IntLanes,
        /// Saturates to the signed (else unsigned) range.
        signed: bool,
    },
    /// `iNxM.extmul_low/high_*`: half the lanes of each, widened and
    /// multiplied.
    ExtMul {
        /// The result's lanes (`I16x8`, `I32x4` or `I64x2`).
        to: IntLanes,
        /// The upper halves (else the lower).
        high: bool,
        /// Reads the operands' lanes as signed.
        signed: bool,
    },
    /// `i32x4.dot_i16x8_s`
    DotI16x8S,
    /// `i8x16.swizzle` (and `i8x16.relaxed_swizzle`).
    Swizzle,
    /// `i16x8.relaxed_dot_i8x16_i7x16_s`, with both operands signed.
    DotI8x16I7x16S,
}

/// Three-operand `v128` operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimdTernOp {
    /// `v128.bitselect(a, b, mask)`: `a`'s bits where `mask` is 1, else
    /// `b`'s (and every `relaxed_laneselect`).
    Bitselect,
    /// `relaxed_madd(a, b, c)`: `a * b + c`, unfused.
    Madd(FloatLanes),
    /// `relaxed_nmadd(a, b, c)`: `-(a * b) + c`, unfused.
    Nmadd(FloatLanes),
    /// `i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, c)`, with both `i8`
    /// operands signed.
    DotI8x16I7x16AddS,
}

/// Lane shifts by an `i32` amount, taken modulo the lane width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimdShiftOp {
    /// Shift left.
    Shl,
    /// Arithmetic shift right.
    ShrS,
    /// Logical shift right.
    ShrU,
}

/// `v128` operators whose result is an `i32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimdTestOp {
    /// `v128.any_true`: 1 if any bit is set.
    AnyTrue,
    /// `iNxM.all_true`: 1 if no lane is zero.
    AllTrue(IntLanes),
    /// `iNxM.bitmask`: the lanes' sign bits, lane 0 in bit 0.
    Bitmask(IntLanes),
}
