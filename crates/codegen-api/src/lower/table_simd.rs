//! The `v128` rows of the operator table (fixed-width and relaxed SIMD).
//! Relaxed operators map onto the deterministic lowering chosen for them
//! (see `lower::simd`); the rows below are where that choice is made.

use super::families::{FloatCmpOp, FloatUnOp, IntCmpOp, Width};
use super::simd::{
    FloatLanes, IntLanes, Lanes, SimdBinOp, SimdFloatBinOp, SimdIntBinOp, SimdShiftOp, SimdTernOp,
    SimdTestOp, SimdUnOp, V128Load,
};
use super::traits::{LowerFunction, LowerResult};
use crate::CompileError;
use tandem_environ::wasmparser::Operator;

/// Signed (`true`) or unsigned, in the rows below.
const S: bool = true;
/// Unsigned, in the rows below.
const U: bool = false;
/// The upper half, in the rows below.
const HI: bool = true;
/// The lower half, in the rows below.
const LO: bool = false;

/// Lowers reachable `v128` operator `op`, found at byte `offset`; any other
/// operator is unsupported.
#[inline]
pub(super) fn lower_simd<'a, L: LowerFunction<'a>>(
    l: &mut L,
    offset: u64,
    op: &Operator<'a>,
) -> LowerResult {
    use FloatLanes::{F32x4, F64x2};
    use IntLanes::{I8x16, I16x8, I32x4, I64x2};
    use Operator as O;
    use SimdBinOp as B;
    use SimdFloatBinOp as FB;
    use SimdIntBinOp as IB;
    use SimdUnOp as Un;
    use Width::{W8, W16, W32, W64};
    let int = |op, lanes| B::Int(op, lanes);
    let float = |op, lanes| B::Float(op, lanes);
    let fun = |op, lanes| Un::Float(op, lanes);
    match *op {
        // Memory.
        O::V128Load { ref memarg } => l.v128_load(V128Load::Full, memarg),
        O::V128Load8x8S { ref memarg } => l.v128_load(extend(I16x8, S), memarg),
        O::V128Load8x8U { ref memarg } => l.v128_load(extend(I16x8, U), memarg),
        O::V128Load16x4S { ref memarg } => l.v128_load(extend(I32x4, S), memarg),
        O::V128Load16x4U { ref memarg } => l.v128_load(extend(I32x4, U), memarg),
        O::V128Load32x2S { ref memarg } => l.v128_load(extend(I64x2, S), memarg),
        O::V128Load32x2U { ref memarg } => l.v128_load(extend(I64x2, U), memarg),
        O::V128Load8Splat { ref memarg } => l.v128_load(V128Load::Splat(W8), memarg),
        O::V128Load16Splat { ref memarg } => l.v128_load(V128Load::Splat(W16), memarg),
        O::V128Load32Splat { ref memarg } => l.v128_load(V128Load::Splat(W32), memarg),
        O::V128Load64Splat { ref memarg } => l.v128_load(V128Load::Splat(W64), memarg),
        O::V128Load32Zero { ref memarg } => l.v128_load(V128Load::Zero(W32), memarg),
        O::V128Load64Zero { ref memarg } => l.v128_load(V128Load::Zero(W64), memarg),
        O::V128Store { ref memarg } => l.v128_store(memarg),
        O::V128Load8Lane { ref memarg, lane } => l.v128_load_lane(W8, memarg, lane),
        O::V128Load16Lane { ref memarg, lane } => l.v128_load_lane(W16, memarg, lane),
        O::V128Load32Lane { ref memarg, lane } => l.v128_load_lane(W32, memarg, lane),
        O::V128Load64Lane { ref memarg, lane } => l.v128_load_lane(W64, memarg, lane),
        O::V128Store8Lane { ref memarg, lane } => l.v128_store_lane(W8, memarg, lane),
        O::V128Store16Lane { ref memarg, lane } => l.v128_store_lane(W16, memarg, lane),
        O::V128Store32Lane { ref memarg, lane } => l.v128_store_lane(W32, memarg, lane),
        O::V128Store64Lane { ref memarg, lane } => l.v128_store_lane(W64, memarg, lane),

        // Constants, shuffles and lanes.
        O::V128Const { value } => l.v128_const(value.i128() as u128),
        O::I8x16Shuffle { ref lanes } => l.shuffle(lanes),
        O::I8x16Swizzle | O::I8x16RelaxedSwizzle => l.simd_binary(B::Swizzle),
        O::I8x16Splat => l.splat(Lanes::I8x16),
        O::I16x8Splat => l.splat(Lanes::I16x8),
        O::I32x4Splat => l.splat(Lanes::I32x4),
        O::I64x2Splat => l.splat(Lanes::I64x2),
        O::F32x4Splat => l.splat(Lanes::F32x4),
        O::F64x2Splat => l.splat(Lanes::F64x2),
        O::I8x16ExtractLaneS { lane } => l.extract_lane(Lanes::I8x16, lane, S),
        O::I8x16ExtractLaneU { lane } => l.extract_lane(Lanes::I8x16, lane, U),
        O::I16x8ExtractLaneS { lane } => l.extract_lane(Lanes::I16x8, lane, S),
        O::I16x8ExtractLaneU { lane } => l.extract_lane(Lanes::I16x8, lane, U),
        O::I32x4ExtractLane { lane } => l.extract_lane(Lanes::I32x4, lane, U),
        O::I64x2ExtractLane { lane } => l.extract_lane(Lanes::I64x2, lane, U),
        O::F32x4ExtractLane { lane } => l.extract_lane(Lanes::F32x4, lane, U),
        O::F64x2ExtractLane { lane } => l.extract_lane(Lanes::F64x2, lane, U),
        O::I8x16ReplaceLane { lane } => l.replace_lane(Lanes::I8x16, lane),
        O::I16x8ReplaceLane { lane } => l.replace_lane(Lanes::I16x8, lane),
        O::I32x4ReplaceLane { lane } => l.replace_lane(Lanes::I32x4, lane),
        O::I64x2ReplaceLane { lane } => l.replace_lane(Lanes::I64x2, lane),
        O::F32x4ReplaceLane { lane } => l.replace_lane(Lanes::F32x4, lane),
        O::F64x2ReplaceLane { lane } => l.replace_lane(Lanes::F64x2, lane),

        // Integer comparisons.
        O::I8x16Eq => l.simd_int_compare(IntCmpOp::Eq, I8x16),
        O::I8x16Ne => l.simd_int_compare(IntCmpOp::Ne, I8x16),
        O::I8x16LtS => l.simd_int_compare(IntCmpOp::LtS, I8x16),
        O::I8x16LtU => l.simd_int_compare(IntCmpOp::LtU, I8x16),
        O::I8x16GtS => l.simd_int_compare(IntCmpOp::GtS, I8x16),
        O::I8x16GtU => l.simd_int_compare(IntCmpOp::GtU, I8x16),
        O::I8x16LeS => l.simd_int_compare(IntCmpOp::LeS, I8x16),
        O::I8x16LeU => l.simd_int_compare(IntCmpOp::LeU, I8x16),
        O::I8x16GeS => l.simd_int_compare(IntCmpOp::GeS, I8x16),
        O::I8x16GeU => l.simd_int_compare(IntCmpOp::GeU, I8x16),
        O::I16x8Eq => l.simd_int_compare(IntCmpOp::Eq, I16x8),
        O::I16x8Ne => l.simd_int_compare(IntCmpOp::Ne, I16x8),
        O::I16x8LtS => l.simd_int_compare(IntCmpOp::LtS, I16x8),
        O::I16x8LtU => l.simd_int_compare(IntCmpOp::LtU, I16x8),
        O::I16x8GtS => l.simd_int_compare(IntCmpOp::GtS, I16x8),
        O::I16x8GtU => l.simd_int_compare(IntCmpOp::GtU, I16x8),
        O::I16x8LeS => l.simd_int_compare(IntCmpOp::LeS, I16x8),
        O::I16x8LeU => l.simd_int_compare(IntCmpOp::LeU, I16x8),
        O::I16x8GeS => l.simd_int_compare(IntCmpOp::GeS, I16x8),
        O::I16x8GeU => l.simd_int_compare(IntCmpOp::GeU, I16x8),
        O::I32x4Eq => l.simd_int_compare(IntCmpOp::Eq, I32x4),
        O::I32x4Ne => l.simd_int_compare(IntCmpOp::Ne, I32x4),
        O::I32x4LtS => l.simd_int_compare(IntCmpOp::LtS, I32x4),
        O::I32x4LtU => l.simd_int_compare(IntCmpOp::LtU, I32x4),
        O::I32x4GtS => l.simd_int_compare(IntCmpOp::GtS, I32x4),
        O::I32x4GtU => l.simd_int_compare(IntCmpOp::GtU, I32x4),
        O::I32x4LeS => l.simd_int_compare(IntCmpOp::LeS, I32x4),
        O::I32x4LeU => l.simd_int_compare(IntCmpOp::LeU, I32x4),
        O::I32x4GeS => l.simd_int_compare(IntCmpOp::GeS, I32x4),
        O::I32x4GeU => l.simd_int_compare(IntCmpOp::GeU, I32x4),
        O::I64x2Eq => l.simd_int_compare(IntCmpOp::Eq, I64x2),
        O::I64x2Ne => l.simd_int_compare(IntCmpOp::Ne, I64x2),
        O::I64x2LtS => l.simd_int_compare(IntCmpOp::LtS, I64x2),
        O::I64x2GtS => l.simd_int_compare(IntCmpOp::GtS, I64x2),
        O::I64x2LeS => l.simd_int_compare(IntCmpOp::LeS, I64x2),
        O::I64x2GeS => l.simd_int_compare(IntCmpOp::GeS, I64x2),

        // Float comparisons.
        O::F32x4Eq => l.simd_float_compare(FloatCmpOp::Eq, F32x4),
        O::F32x4Ne => l.simd_float_compare(FloatCmpOp::Ne, F32x4),
        O::F32x4Lt => l.simd_float_compare(FloatCmpOp::Lt, F32x4),
        O::F32x4Gt => l.simd_float_compare(FloatCmpOp::Gt, F32x4),
        O::F32x4Le => l.simd_float_compare(FloatCmpOp::Le, F32x4),
        O::F32x4Ge => l.simd_float_compare(FloatCmpOp::Ge, F32x4),
        O::F64x2Eq => l.simd_float_compare(FloatCmpOp::Eq, F64x2),
        O::F64x2Ne => l.simd_float_compare(FloatCmpOp::Ne, F64x2),
        O::F64x2Lt => l.simd_float_compare(FloatCmpOp::Lt, F64x2),
        O::F64x2Gt => l.simd_float_compare(FloatCmpOp::Gt, F64x2),
        O::F64x2Le => l.simd_float_compare(FloatCmpOp::Le, F64x2),
        O::F64x2Ge => l.simd_float_compare(FloatCmpOp::Ge, F64x2),

        // Bitwise.
        O::V128Not => l.simd_unary(Un::Not),
        O::V128And => l.simd_binary(B::And),
        O::V128AndNot => l.simd_binary(B::AndNot),
        O::V128Or => l.simd_binary(B::Or),
        O::V128Xor => l.simd_binary(B::Xor),
        O::V128Bitselect
        | O::I8x16RelaxedLaneselect
        | O::I16x8RelaxedLaneselect
        | O::I32x4RelaxedLaneselect
        | O::I64x2RelaxedLaneselect => l.simd_ternary(SimdTernOp::Bitselect),
        O::V128AnyTrue => l.simd_test(SimdTestOp::AnyTrue),

        // Tests.
        O::I8x16AllTrue => l.simd_test(SimdTestOp::AllTrue(I8x16)),
        O::I16x8AllTrue => l.simd_test(SimdTestOp::AllTrue(I16x8)),
        O::I32x4AllTrue => l.simd_test(SimdTestOp::AllTrue(I32x4)),
        O::I64x2AllTrue => l.simd_test(SimdTestOp::AllTrue(I64x2)),
        O::I8x16Bitmask => l.simd_test(SimdTestOp::Bitmask(I8x16)),
        O::I16x8Bitmask => l.simd_test(SimdTestOp::Bitmask(I16x8)),
        O::I32x4Bitmask => l.simd_test(SimdTestOp::Bitmask(I32x4)),
        O::I64x2Bitmask => l.simd_test(SimdTestOp::Bitmask(I64x2)),

        // Shifts.
        O::I8x16Shl => l.simd_shift(SimdShiftOp::Shl, I8x16),
        O::I8x16ShrS => l.simd_shift(SimdShiftOp::ShrS, I8x16),
        O::I8x16ShrU => l.simd_shift(SimdShiftOp::ShrU, I8x16),
        O::I16x8Shl => l.simd_shift(SimdShiftOp::Shl, I16x8),
        O::I16x8ShrS => l.simd_shift(SimdShiftOp::ShrS, I16x8),
        O::I16x8ShrU => l.simd_shift(SimdShiftOp::ShrU, I16x8),
        O::I32x4Shl => l.simd_shift(SimdShiftOp::Shl, I32x4),
        O::I32x4ShrS => l.simd_shift(SimdShiftOp::ShrS, I32x4),
        O::I32x4ShrU => l.simd_shift(SimdShiftOp::ShrU, I32x4),
        O::I64x2Shl => l.simd_shift(SimdShiftOp::Shl, I64x2),
        O::I64x2ShrS => l.simd_shift(SimdShiftOp::ShrS, I64x2),
        O::I64x2ShrU => l.simd_shift(SimdShiftOp::ShrU, I64x2),

        // Integer unary.
        O::I8x16Abs => l.simd_unary(Un::Abs(I8x16)),
        O::I16x8Abs => l.simd_unary(Un::Abs(I16x8)),
        O::I32x4Abs => l.simd_unary(Un::Abs(I32x4)),
        O::I64x2Abs => l.simd_unary(Un::Abs(I64x2)),
        O::I8x16Neg => l.simd_unary(Un::Neg(I8x16)),
        O::I16x8Neg => l.simd_unary(Un::Neg(I16x8)),
        O::I32x4Neg => l.simd_unary(Un::Neg(I32x4)),
        O::I64x2Neg => l.simd_unary(Un::Neg(I64x2)),
        O::I8x16Popcnt => l.simd_unary(Un::Popcnt),
        O::I16x8ExtendLowI8x16S => l.simd_unary(widen(I16x8, LO, S)),
        O::I16x8ExtendHighI8x16S => l.simd_unary(widen(I16x8, HI, S)),
        O::I16x8ExtendLowI8x16U => l.simd_unary(widen(I16x8, LO, U)),
        O::I16x8ExtendHighI8x16U => l.simd_unary(widen(I16x8, HI, U)),
        O::I32x4ExtendLowI16x8S => l.simd_unary(widen(I32x4, LO, S)),
        O::I32x4ExtendHighI16x8S => l.simd_unary(widen(I32x4, HI, S)),
        O::I32x4ExtendLowI16x8U => l.simd_unary(widen(I32x4, LO, U)),
        O::I32x4ExtendHighI16x8U => l.simd_unary(widen(I32x4, HI, U)),
        O::I64x2ExtendLowI32x4S => l.simd_unary(widen(I64x2, LO, S)),
        O::I64x2ExtendHighI32x4S => l.simd_unary(widen(I64x2, HI, S)),
        O::I64x2ExtendLowI32x4U => l.simd_unary(widen(I64x2, LO, U)),
        O::I64x2ExtendHighI32x4U => l.simd_unary(widen(I64x2, HI, U)),
        O::I16x8ExtAddPairwiseI8x16S => l.simd_unary(pairwise(I16x8, S)),
        O::I16x8ExtAddPairwiseI8x16U => l.simd_unary(pairwise(I16x8, U)),
        O::I32x4ExtAddPairwiseI16x8S => l.simd_unary(pairwise(I32x4, S)),
        O::I32x4ExtAddPairwiseI16x8U => l.simd_unary(pairwise(I32x4, U)),

        // Integer binary.
        O::I8x16Add => l.simd_binary(int(IB::Add, I8x16)),
        O::I16x8Add => l.simd_binary(int(IB::Add, I16x8)),
        O::I32x4Add => l.simd_binary(int(IB::Add, I32x4)),
        O::I64x2Add => l.simd_binary(int(IB::Add, I64x2)),
        O::I8x16Sub => l.simd_binary(int(IB::Sub, I8x16)),
        O::I16x8Sub => l.simd_binary(int(IB::Sub, I16x8)),
        O::I32x4Sub => l.simd_binary(int(IB::Sub, I32x4)),
        O::I64x2Sub => l.simd_binary(int(IB::Sub, I64x2)),
        O::I16x8Mul => l.simd_binary(int(IB::Mul, I16x8)),
        O::I32x4Mul => l.simd_binary(int(IB::Mul, I32x4)),
        O::I64x2Mul => l.simd_binary(int(IB::Mul, I64x2)),
        O::I8x16AddSatS => l.simd_binary(int(IB::AddSatS, I8x16)),
        O::I8x16AddSatU => l.simd_binary(int(IB::AddSatU, I8x16)),
        O::I16x8AddSatS => l.simd_binary(int(IB::AddSatS, I16x8)),
        O::I16x8AddSatU => l.simd_binary(int(IB::AddSatU, I16x8)),
        O::I8x16SubSatS => l.simd_binary(int(IB::SubSatS, I8x16)),
        O::I8x16SubSatU => l.simd_binary(int(IB::SubSatU, I8x16)),
        O::I16x8SubSatS => l.simd_binary(int(IB::SubSatS, I16x8)),
        O::I16x8SubSatU => l.simd_binary(int(IB::SubSatU, I16x8)),
        O::I8x16MinS => l.simd_binary(int(IB::MinS, I8x16)),
        O::I8x16MinU => l.simd_binary(int(IB::MinU, I8x16)),
        O::I8x16MaxS => l.simd_binary(int(IB::MaxS, I8x16)),
        O::I8x16MaxU => l.simd_binary(int(IB::MaxU, I8x16)),
        O::I16x8MinS => l.simd_binary(int(IB::MinS, I16x8)),
        O::I16x8MinU => l.simd_binary(int(IB::MinU, I16x8)),
        O::I16x8MaxS => l.simd_binary(int(IB::MaxS, I16x8)),
        O::I16x8MaxU => l.simd_binary(int(IB::MaxU, I16x8)),
        O::I32x4MinS => l.simd_binary(int(IB::MinS, I32x4)),
        O::I32x4MinU => l.simd_binary(int(IB::MinU, I32x4)),
        O::I32x4MaxS => l.simd_binary(int(IB::MaxS, I32x4)),
        O::I32x4MaxU => l.simd_binary(int(IB::MaxU, I32x4)),
        O::I8x16AvgrU => l.simd_binary(int(IB::AvgrU, I8x16)),
        O::I16x8AvgrU => l.simd_binary(int(IB::AvgrU, I16x8)),
        O::I16x8Q15MulrSatS | O::I16x8RelaxedQ15mulrS => l.simd_binary(int(IB::Q15MulrSatS, I16x8)),
        O::I8x16NarrowI16x8S => l.simd_binary(narrow(I8x16, S)),
        O::I8x16NarrowI16x8U => l.simd_binary(narrow(I8x16, U)),
        O::I16x8NarrowI32x4S => l.simd_binary(narrow(I16x8, S)),
        O::I16x8NarrowI32x4U => l.simd_binary(narrow(I16x8, U)),
        O::I16x8ExtMulLowI8x16S => l.simd_binary(extmul(I16x8, LO, S)),
        O::I16x8ExtMulHighI8x16S => l.simd_binary(extmul(I16x8, HI, S)),
        O::I16x8ExtMulLowI8x16U => l.simd_binary(extmul(I16x8, LO, U)),
        O::I16x8ExtMulHighI8x16U => l.simd_binary(extmul(I16x8, HI, U)),
        O::I32x4ExtMulLowI16x8S => l.simd_binary(extmul(I32x4, LO, S)),
        O::I32x4ExtMulHighI16x8S => l.simd_binary(extmul(I32x4, HI, S)),
        O::I32x4ExtMulLowI16x8U => l.simd_binary(extmul(I32x4, LO, U)),
        O::I32x4ExtMulHighI16x8U => l.simd_binary(extmul(I32x4, HI, U)),
        O::I64x2ExtMulLowI32x4S => l.simd_binary(extmul(I64x2, LO, S)),
        O::I64x2ExtMulHighI32x4S => l.simd_binary(extmul(I64x2, HI, S)),
        O::I64x2ExtMulLowI32x4U => l.simd_binary(extmul(I64x2, LO, U)),
        O::I64x2ExtMulHighI32x4U => l.simd_binary(extmul(I64x2, HI, U)),
        O::I32x4DotI16x8S => l.simd_binary(B::DotI16x8S),
        O::I16x8RelaxedDotI8x16I7x16S => l.simd_binary(B::DotI8x16I7x16S),
        O::I32x4RelaxedDotI8x16I7x16AddS => l.simd_ternary(SimdTernOp::DotI8x16I7x16AddS),

        // Float unary.
        O::F32x4Abs => l.simd_unary(fun(FloatUnOp::Abs, F32x4)),
        O::F32x4Neg => l.simd_unary(fun(FloatUnOp::Neg, F32x4)),
        O::F32x4Sqrt => l.simd_unary(fun(FloatUnOp::Sqrt, F32x4)),
        O::F32x4Ceil => l.simd_unary(fun(FloatUnOp::Ceil, F32x4)),
        O::F32x4Floor => l.simd_unary(fun(FloatUnOp::Floor, F32x4)),
        O::F32x4Trunc => l.simd_unary(fun(FloatUnOp::Trunc, F32x4)),
        O::F32x4Nearest => l.simd_unary(fun(FloatUnOp::Nearest, F32x4)),
        O::F64x2Abs => l.simd_unary(fun(FloatUnOp::Abs, F64x2)),
        O::F64x2Neg => l.simd_unary(fun(FloatUnOp::Neg, F64x2)),
        O::F64x2Sqrt => l.simd_unary(fun(FloatUnOp::Sqrt, F64x2)),
        O::F64x2Ceil => l.simd_unary(fun(FloatUnOp::Ceil, F64x2)),
        O::F64x2Floor => l.simd_unary(fun(FloatUnOp::Floor, F64x2)),
        O::F64x2Trunc => l.simd_unary(fun(FloatUnOp::Trunc, F64x2)),
        O::F64x2Nearest => l.simd_unary(fun(FloatUnOp::Nearest, F64x2)),

        // Float binary.
        O::F32x4Add => l.simd_binary(float(FB::Add, F32x4)),
        O::F32x4Sub => l.simd_binary(float(FB::Sub, F32x4)),
        O::F32x4Mul => l.simd_binary(float(FB::Mul, F32x4)),
        O::F32x4Div => l.simd_binary(float(FB::Div, F32x4)),
        O::F32x4Min | O::F32x4RelaxedMin => l.simd_binary(float(FB::Min, F32x4)),
        O::F32x4Max | O::F32x4RelaxedMax => l.simd_binary(float(FB::Max, F32x4)),
        O::F32x4PMin => l.simd_binary(float(FB::PMin, F32x4)),
        O::F32x4PMax => l.simd_binary(float(FB::PMax, F32x4)),
        O::F64x2Add => l.simd_binary(float(FB::Add, F64x2)),
        O::F64x2Sub => l.simd_binary(float(FB::Sub, F64x2)),
        O::F64x2Mul => l.simd_binary(float(FB::Mul, F64x2)),
        O::F64x2Div => l.simd_binary(float(FB::Div, F64x2)),
        O::F64x2Min | O::F64x2RelaxedMin => l.simd_binary(float(FB::Min, F64x2)),
        O::F64x2Max | O::F64x2RelaxedMax => l.simd_binary(float(FB::Max, F64x2)),
        O::F64x2PMin => l.simd_binary(float(FB::PMin, F64x2)),
        O::F64x2PMax => l.simd_binary(float(FB::PMax, F64x2)),
        O::F32x4RelaxedMadd => l.simd_ternary(SimdTernOp::Madd(F32x4)),
        O::F32x4RelaxedNmadd => l.simd_ternary(SimdTernOp::Nmadd(F32x4)),
        O::F64x2RelaxedMadd => l.simd_ternary(SimdTernOp::Madd(F64x2)),
        O::F64x2RelaxedNmadd => l.simd_ternary(SimdTernOp::Nmadd(F64x2)),

        // Conversions.
        O::I32x4TruncSatF32x4S | O::I32x4RelaxedTruncF32x4S => {
            l.simd_unary(Un::TruncSatF32x4 { signed: S })
        }
        O::I32x4TruncSatF32x4U | O::I32x4RelaxedTruncF32x4U => {
            l.simd_unary(Un::TruncSatF32x4 { signed: U })
        }
        O::I32x4TruncSatF64x2SZero | O::I32x4RelaxedTruncF64x2SZero => {
            l.simd_unary(Un::TruncSatF64x2Zero { signed: S })
        }
        O::I32x4TruncSatF64x2UZero | O::I32x4RelaxedTruncF64x2UZero => {
            l.simd_unary(Un::TruncSatF64x2Zero { signed: U })
        }
        O::F32x4ConvertI32x4S => l.simd_unary(Un::ConvertI32x4 { signed: S }),
        O::F32x4ConvertI32x4U => l.simd_unary(Un::ConvertI32x4 { signed: U }),
        O::F64x2ConvertLowI32x4S => l.simd_unary(Un::ConvertLowI32x4 { signed: S }),
        O::F64x2ConvertLowI32x4U => l.simd_unary(Un::ConvertLowI32x4 { signed: U }),
        O::F32x4DemoteF64x2Zero => l.simd_unary(Un::DemoteF64x2Zero),
        O::F64x2PromoteLowF32x4 => l.simd_unary(Un::PromoteLowF32x4),

        ref other => Err(CompileError::unsupported(
            L::BACKEND,
            format!("operator {other:?}"),
            offset,
        )),
    }
}

/// `v128.loadNxM_s/u` into lanes `to`.
const fn extend(to: IntLanes, signed: bool) -> V128Load {
    V128Load::Extend { to, signed }
}

/// `extend_low/high` into lanes `to`.
const fn widen(to: IntLanes, high: bool, signed: bool) -> SimdUnOp {
    SimdUnOp::Extend { to, high, signed }
}

/// `extadd_pairwise` into lanes `to`.
const fn pairwise(to: IntLanes, signed: bool) -> SimdUnOp {
    SimdUnOp::ExtAddPairwise { to, signed }
}

/// `narrow` into lanes `to`.
const fn narrow(to: IntLanes, signed: bool) -> SimdBinOp {
    SimdBinOp::Narrow { to, signed }
}

/// `extmul_low/high` into lanes `to`.
const fn extmul(to: IntLanes, high: bool, signed: bool) -> SimdBinOp {
    SimdBinOp::ExtMul { to, high, signed }
}
