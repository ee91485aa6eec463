//! `v128` operators on Cranelift's vector types.
//!
//! Every `v128` on the operand stack, in a local, a block parameter, a
//! global or a call is an `i8x16`: an operator bitcasts its operands to the
//! lane type it works on and its result back (free: the same register).
//! One type everywhere keeps control flow, locals and calls oblivious of
//! lanes. Relaxed operators arrive here already mapped to their
//! deterministic lowering (`tandem_codegen_api::lower`'s `simd` table).

use super::Translator;
use super::memory::heap_flags;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32X4, F64X2, I8X16, I16X8, I32X4, I64X2};
use cranelift_codegen::ir::{
    ConstantData, Endianness, InstBuilder, MemFlagsData, Type, Value, types,
};
use tandem_codegen_api::CompileError;
use tandem_codegen_api::lower::{
    FloatCmpOp, FloatLanes, FloatUnOp, IntCmpOp, IntLanes, Lanes, LowerSimd, SimdBinOp,
    SimdFloatBinOp, SimdIntBinOp, SimdShiftOp, SimdTernOp, SimdTestOp, SimdUnOp, V128Load, Width,
};
use tandem_environ::wasmparser::MemArg;

/// The IR type of a lane shape.
fn lanes_type(lanes: Lanes) -> Type {
    match lanes {
        Lanes::I8x16 => I8X16,
        Lanes::I16x8 => I16X8,
        Lanes::I32x4 => I32X4,
        Lanes::I64x2 => I64X2,
        Lanes::F32x4 => F32X4,
        Lanes::F64x2 => F64X2,
    }
}

/// The IR type of an integer lane shape.
fn int_lanes(lanes: IntLanes) -> Type {
    lanes_type(lanes.into())
}

/// The IR type of a float lane shape.
fn float_lanes(lanes: FloatLanes) -> Type {
    lanes_type(lanes.into())
}

/// The integer lanes of half the count and twice the width of `to`'s.
fn narrower(to: IntLanes) -> Type {
    match to {
        IntLanes::I8x16 | IntLanes::I16x8 => I8X16,
        IntLanes::I32x4 => I16X8,
        IntLanes::I64x2 => I32X4,
    }
}

/// The IR type of a scalar of `width` bytes.
fn width_type(width: Width) -> Type {
    match width {
        Width::W8 => types::I8,
        Width::W16 => types::I16,
        Width::W32 => types::I32,
        Width::W64 => types::I64,
    }
}

/// Flags of a bitcast between vector types: lanes are little-endian.
fn lane_order() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

impl Translator<'_, '_> {
    /// `v` as type `ty` (a no-op when it already is).
    fn cast(&mut self, v: Value, ty: Type) -> Value {
        if self.b.func.dfg.value_type(v) == ty {
            v
        } else {
            self.b.ins().bitcast(ty, lane_order(), v)
        }
    }

    /// Pops a `v128` as lanes `ty`.
    fn pop_v(&mut self, ty: Type) -> Result<Value, CompileError> {
        let v = self.pop()?;
        Ok(self.cast(v, ty))
    }

    /// Pops two `v128`s as lanes `ty` (`(below, top)`).
    fn pop2_v(&mut self, ty: Type) -> Result<(Value, Value), CompileError> {
        let y = self.pop_v(ty)?;
        let x = self.pop_v(ty)?;
        Ok((x, y))
    }

    /// Pushes a vector as the canonical `i8x16`.
    fn push_v(&mut self, v: Value) {
        let v = self.cast(v, I8X16);
        self.push(v);
    }

    /// A vector constant of type `ty` from its little-endian bytes.
    fn vconst(&mut self, ty: Type, bytes: [u8; 16]) -> Value {
        let handle = self
            .b
            .func
            .dfg
            .constants
            .insert(ConstantData::from(&bytes[..]));
        self.b.ins().vconst(ty, handle)
    }

    /// `a op b` on lanes `ty`.
    fn vbinary(
        &mut self,
        ty: Type,
        f: impl FnOnce(&mut Self, Value, Value) -> Value,
    ) -> Result<(), CompileError> {
        let (a, b) = self.pop2_v(ty)?;
        let v = f(self, a, b);
        self.push_v(v);
        Ok(())
    }

    /// `op a` on lanes `ty`.
    fn vunary(
        &mut self,
        ty: Type,
        f: impl FnOnce(&mut Self, Value) -> Value,
    ) -> Result<(), CompileError> {
        let a = self.pop_v(ty)?;
        let v = f(self, a);
        self.push_v(v);
        Ok(())
    }

    /// Widens the low or high half of `v`'s lanes.
    fn widen_half(&mut self, v: Value, high: bool, signed: bool) -> Value {
        let ins = self.b.ins();
        match (high, signed) {
            (false, true) => ins.swiden_low(v),
            (true, true) => ins.swiden_high(v),
            (false, false) => ins.uwiden_low(v),
            (true, false) => ins.uwiden_high(v),
        }
    }

    /// The exact pairwise sums of the signed products of `a`'s and `b`'s
    /// `i8` lanes, as `i16x8` (wrapping only for `-128 * -128` twice).
    fn dot_i8x16(&mut self, a: Value, b: Value) -> Value {
        let (alo, blo) = (self.b.ins().swiden_low(a), self.b.ins().swiden_low(b));
        let lo = self.b.ins().imul(alo, blo);
        let (ahi, bhi) = (self.b.ins().swiden_high(a), self.b.ins().swiden_high(b));
        let hi = self.b.ins().imul(ahi, bhi);
        self.b.ins().iadd_pairwise(lo, hi)
    }
}

impl LowerSimd for Translator<'_, '_> {
    fn v128_const(&mut self, bits: u128) -> Result<(), CompileError> {
        let v = self.vconst(I8X16, bits.to_le_bytes());
        self.push(v);
        Ok(())
    }

    fn v128_load(&mut self, load: V128Load, memarg: &MemArg) -> Result<(), CompileError> {
        let size = match load {
            V128Load::Full => 16,
            V128Load::Extend { .. } => 8,
            V128Load::Splat(w) | V128Load::Zero(w) => u32::from(w.bytes()),
        };
        let (addr, offset) = self.heap_addr(memarg, size)?;
        let flags = heap_flags();
        let ins = self.b.ins();
        let v = match load {
            V128Load::Full => ins.load(I8X16, flags, addr, offset),
            V128Load::Extend { to, signed } => match (to, signed) {
                (IntLanes::I16x8, true) => ins.sload8x8(flags, addr, offset),
                (IntLanes::I16x8, false) => ins.uload8x8(flags, addr, offset),
                (IntLanes::I32x4, true) => ins.sload16x4(flags, addr, offset),
                (IntLanes::I32x4, false) => ins.uload16x4(flags, addr, offset),
                (_, true) => ins.sload32x2(flags, addr, offset),
                (_, false) => ins.uload32x2(flags, addr, offset),
            },
            V128Load::Splat(w) => {
                let lane = ins.load(width_type(w), flags, addr, offset);
                let ty = match w {
                    Width::W8 => I8X16,
                    Width::W16 => I16X8,
                    Width::W32 => I32X4,
                    Width::W64 => I64X2,
                };
                self.b.ins().splat(ty, lane)
            }
            V128Load::Zero(w) => {
                let lane = ins.load(width_type(w), flags, addr, offset);
                let ty = if w == Width::W64 { I64X2 } else { I32X4 };
                self.b.ins().scalar_to_vector(ty, lane)
            }
        };
        self.push_v(v);
        Ok(())
    }

    fn v128_store(&mut self, memarg: &MemArg) -> Result<(), CompileError> {
        let v = self.pop()?;
        let (addr, offset) = self.heap_addr(memarg, 16)?;
        self.b.ins().store(heap_flags(), v, addr, offset);
        Ok(())
    }

    fn v128_load_lane(
        &mut self,
        width: Width,
        memarg: &MemArg,
        lane: u8,
    ) -> Result<(), CompileError> {
        let ty = lanes_type(int_lanes_of(width).into());
        let vector = self.pop_v(ty)?;
        let (addr, offset) = self.heap_addr(memarg, u32::from(width.bytes()))?;
        let x = self
            .b
            .ins()
            .load(width_type(width), heap_flags(), addr, offset);
        let v = self.b.ins().insertlane(vector, x, lane);
        self.push_v(v);
        Ok(())
    }

    fn v128_store_lane(
        &mut self,
        width: Width,
        memarg: &MemArg,
        lane: u8,
    ) -> Result<(), CompileError> {
        let ty = lanes_type(int_lanes_of(width).into());
        let vector = self.pop_v(ty)?;
        let x = self.b.ins().extractlane(vector, lane);
        let (addr, offset) = self.heap_addr(memarg, u32::from(width.bytes()))?;
        self.b.ins().store(heap_flags(), x, addr, offset);
        Ok(())
    }

    fn shuffle(&mut self, lanes: &[u8; 16]) -> Result<(), CompileError> {
        let (a, b) = self.pop2_v(I8X16)?;
        let mask = self
            .b
            .func
            .dfg
            .immediates
            .push(ConstantData::from(&lanes[..]));
        let v = self.b.ins().shuffle(a, b, mask);
        self.push_v(v);
        Ok(())
    }

    fn splat(&mut self, lanes: Lanes) -> Result<(), CompileError> {
        let mut x = self.pop()?;
        let ty = lanes_type(lanes);
        if matches!(lanes, Lanes::I8x16 | Lanes::I16x8) {
            x = self.b.ins().ireduce(ty.lane_type(), x);
        }
        let v = self.b.ins().splat(ty, x);
        self.push_v(v);
        Ok(())
    }

    fn extract_lane(&mut self, lanes: Lanes, lane: u8, signed: bool) -> Result<(), CompileError> {
        let vector = self.pop_v(lanes_type(lanes))?;
        let mut x = self.b.ins().extractlane(vector, lane);
        if matches!(lanes, Lanes::I8x16 | Lanes::I16x8) {
            x = if signed {
                self.b.ins().sextend(types::I32, x)
            } else {
                self.b.ins().uextend(types::I32, x)
            };
        }
        self.push(x);
        Ok(())
    }

    fn replace_lane(&mut self, lanes: Lanes, lane: u8) -> Result<(), CompileError> {
        let mut x = self.pop()?;
        let ty = lanes_type(lanes);
        let vector = self.pop_v(ty)?;
        if matches!(lanes, Lanes::I8x16 | Lanes::I16x8) {
            x = self.b.ins().ireduce(ty.lane_type(), x);
        }
        let v = self.b.ins().insertlane(vector, x, lane);
        self.push_v(v);
        Ok(())
    }

    fn simd_unary(&mut self, op: SimdUnOp) -> Result<(), CompileError> {
        match op {
            SimdUnOp::Not => self.vunary(I8X16, |t, a| t.b.ins().bnot(a)),
            SimdUnOp::Abs(l) => self.vunary(int_lanes(l), |t, a| t.b.ins().iabs(a)),
            SimdUnOp::Neg(l) => self.vunary(int_lanes(l), |t, a| t.b.ins().ineg(a)),
            SimdUnOp::Popcnt => self.vunary(I8X16, |t, a| t.b.ins().popcnt(a)),
            SimdUnOp::Float(op, l) => self.vunary(float_lanes(l), |t, a| {
                let ins = t.b.ins();
                match op {
                    FloatUnOp::Abs => ins.fabs(a),
                    FloatUnOp::Neg => ins.fneg(a),
                    FloatUnOp::Sqrt => ins.sqrt(a),
                    FloatUnOp::Ceil => ins.ceil(a),
                    FloatUnOp::Floor => ins.floor(a),
                    FloatUnOp::Trunc => ins.trunc(a),
                    FloatUnOp::Nearest => ins.nearest(a),
                }
            }),
            SimdUnOp::Extend { to, high, signed } => {
                self.vunary(narrower(to), |t, a| t.widen_half(a, high, signed))
            }
            SimdUnOp::ExtAddPairwise { to, signed } => self.vunary(narrower(to), |t, a| {
                let lo = t.widen_half(a, false, signed);
                let hi = t.widen_half(a, true, signed);
                t.b.ins().iadd_pairwise(lo, hi)
            }),
            SimdUnOp::TruncSatF32x4 { signed } => self.vunary(F32X4, |t, a| {
                if signed {
                    t.b.ins().fcvt_to_sint_sat(I32X4, a)
                } else {
                    t.b.ins().fcvt_to_uint_sat(I32X4, a)
                }
            }),
            SimdUnOp::TruncSatF64x2Zero { signed } => self.vunary(F64X2, |t, a| {
                let zero = t.vconst(I64X2, [0; 16]);
                if signed {
                    let wide = t.b.ins().fcvt_to_sint_sat(I64X2, a);
                    t.b.ins().snarrow(wide, zero)
                } else {
                    let wide = t.b.ins().fcvt_to_uint_sat(I64X2, a);
                    t.b.ins().uunarrow(wide, zero)
                }
            }),
            SimdUnOp::ConvertI32x4 { signed } => self.vunary(I32X4, |t, a| {
                if signed {
                    t.b.ins().fcvt_from_sint(F32X4, a)
                } else {
                    t.b.ins().fcvt_from_uint(F32X4, a)
                }
            }),
            SimdUnOp::ConvertLowI32x4 { signed } => self.vunary(I32X4, |t, a| {
                let wide = t.widen_half(a, false, signed);
                if signed {
                    t.b.ins().fcvt_from_sint(F64X2, wide)
                } else {
                    t.b.ins().fcvt_from_uint(F64X2, wide)
                }
            }),
            SimdUnOp::DemoteF64x2Zero => self.vunary(F64X2, |t, a| t.b.ins().fvdemote(a)),
            SimdUnOp::PromoteLowF32x4 => self.vunary(F32X4, |t, a| t.b.ins().fvpromote_low(a)),
        }
    }

    fn simd_binary(&mut self, op: SimdBinOp) -> Result<(), CompileError> {
        match op {
            SimdBinOp::And => self.vbinary(I8X16, |t, a, b| t.b.ins().band(a, b)),
            SimdBinOp::AndNot => self.vbinary(I8X16, |t, a, b| t.b.ins().band_not(a, b)),
            SimdBinOp::Or => self.vbinary(I8X16, |t, a, b| t.b.ins().bor(a, b)),
            SimdBinOp::Xor => self.vbinary(I8X16, |t, a, b| t.b.ins().bxor(a, b)),
            SimdBinOp::Int(op, l) => self.vbinary(int_lanes(l), |t, a, b| {
                let ins = t.b.ins();
                match op {
                    SimdIntBinOp::Add => ins.iadd(a, b),
                    SimdIntBinOp::Sub => ins.isub(a, b),
                    SimdIntBinOp::Mul => ins.imul(a, b),
                    SimdIntBinOp::AddSatS => ins.sadd_sat(a, b),
                    SimdIntBinOp::AddSatU => ins.uadd_sat(a, b),
                    SimdIntBinOp::SubSatS => ins.ssub_sat(a, b),
                    SimdIntBinOp::SubSatU => ins.usub_sat(a, b),
                    SimdIntBinOp::MinS => ins.smin(a, b),
                    SimdIntBinOp::MinU => ins.umin(a, b),
                    SimdIntBinOp::MaxS => ins.smax(a, b),
                    SimdIntBinOp::MaxU => ins.umax(a, b),
                    SimdIntBinOp::AvgrU => ins.avg_round(a, b),
                    SimdIntBinOp::Q15MulrSatS => ins.sqmul_round_sat(a, b),
                }
            }),
            SimdBinOp::Float(op, l) => {
                let ty = float_lanes(l);
                self.vbinary(ty, |t, a, b| match op {
                    SimdFloatBinOp::Add => t.b.ins().fadd(a, b),
                    SimdFloatBinOp::Sub => t.b.ins().fsub(a, b),
                    SimdFloatBinOp::Mul => t.b.ins().fmul(a, b),
                    SimdFloatBinOp::Div => t.b.ins().fdiv(a, b),
                    SimdFloatBinOp::Min => t.b.ins().fmin(a, b),
                    SimdFloatBinOp::Max => t.b.ins().fmax(a, b),
                    // `b < a ? b : a`, in the operand order the x64
                    // backend matches to `minps`.
                    SimdFloatBinOp::PMin => {
                        let lt = t.b.ins().fcmp(FloatCC::LessThan, b, a);
                        let lt = t.cast(lt, ty);
                        t.b.ins().bitselect(lt, b, a)
                    }
                    // `a < b ? b : a`, matched to `maxps`.
                    SimdFloatBinOp::PMax => {
                        let lt = t.b.ins().fcmp(FloatCC::LessThan, a, b);
                        let lt = t.cast(lt, ty);
                        t.b.ins().bitselect(lt, b, a)
                    }
                })
            }
            SimdBinOp::Narrow { to, signed } => {
                let from = if to == IntLanes::I8x16 { I16X8 } else { I32X4 };
                self.vbinary(from, |t, a, b| {
                    if signed {
                        t.b.ins().snarrow(a, b)
                    } else {
                        t.b.ins().unarrow(a, b)
                    }
                })
            }
            SimdBinOp::ExtMul { to, high, signed } => self.vbinary(narrower(to), |t, a, b| {
                let a = t.widen_half(a, high, signed);
                let b = t.widen_half(b, high, signed);
                t.b.ins().imul(a, b)
            }),
            SimdBinOp::DotI16x8S => self.vbinary(I16X8, |t, a, b| {
                let (alo, blo) = (t.b.ins().swiden_low(a), t.b.ins().swiden_low(b));
                let lo = t.b.ins().imul(alo, blo);
                let (ahi, bhi) = (t.b.ins().swiden_high(a), t.b.ins().swiden_high(b));
                let hi = t.b.ins().imul(ahi, bhi);
                t.b.ins().iadd_pairwise(lo, hi)
            }),
            SimdBinOp::Swizzle => self.vbinary(I8X16, |t, a, b| t.b.ins().swizzle(a, b)),
            SimdBinOp::DotI8x16I7x16S => self.vbinary(I8X16, |t, a, b| t.dot_i8x16(a, b)),
        }
    }

    fn simd_ternary(&mut self, op: SimdTernOp) -> Result<(), CompileError> {
        let ty = match op {
            SimdTernOp::Bitselect => I8X16,
            SimdTernOp::Madd(l) | SimdTernOp::Nmadd(l) => float_lanes(l),
            SimdTernOp::DotI8x16I7x16AddS => I32X4,
        };
        let c = self.pop_v(ty)?;
        let v = match op {
            SimdTernOp::Bitselect => {
                let (a, b) = self.pop2_v(I8X16)?;
                self.b.ins().bitselect(c, a, b)
            }
            SimdTernOp::Madd(_) => {
                let (a, b) = self.pop2_v(ty)?;
                let product = self.b.ins().fmul(a, b);
                self.b.ins().fadd(product, c)
            }
            SimdTernOp::Nmadd(_) => {
                let (a, b) = self.pop2_v(ty)?;
                let a = self.b.ins().fneg(a);
                let product = self.b.ins().fmul(a, b);
                self.b.ins().fadd(product, c)
            }
            SimdTernOp::DotI8x16I7x16AddS => {
                let (a, b) = self.pop2_v(I8X16)?;
                // Each i16 pair sum is exact unless both pairs are
                // -128 * -128; widen the products before summing instead.
                let (alo, blo) = (self.b.ins().swiden_low(a), self.b.ins().swiden_low(b));
                let lo = self.b.ins().imul(alo, blo);
                let (ahi, bhi) = (self.b.ins().swiden_high(a), self.b.ins().swiden_high(b));
                let hi = self.b.ins().imul(ahi, bhi);
                let (lo_lo, lo_hi) = (self.b.ins().swiden_low(lo), self.b.ins().swiden_high(lo));
                let (hi_lo, hi_hi) = (self.b.ins().swiden_low(hi), self.b.ins().swiden_high(hi));
                let s_lo = self.b.ins().iadd_pairwise(lo_lo, lo_hi);
                let s_hi = self.b.ins().iadd_pairwise(hi_lo, hi_hi);
                let dot = self.b.ins().iadd_pairwise(s_lo, s_hi);
                self.b.ins().iadd(dot, c)
            }
        };
        self.push_v(v);
        Ok(())
    }

    fn simd_shift(&mut self, op: SimdShiftOp, lanes: IntLanes) -> Result<(), CompileError> {
        // Cranelift's vector shifts take the amount modulo the lane width,
        // as Wasm does.
        let amount = self.pop()?;
        let a = self.pop_v(int_lanes(lanes))?;
        let ins = self.b.ins();
        let v = match op {
            SimdShiftOp::Shl => ins.ishl(a, amount),
            SimdShiftOp::ShrS => ins.sshr(a, amount),
            SimdShiftOp::ShrU => ins.ushr(a, amount),
        };
        self.push_v(v);
        Ok(())
    }

    fn simd_int_compare(&mut self, op: IntCmpOp, lanes: IntLanes) -> Result<(), CompileError> {
        let cc = match op {
            IntCmpOp::Eq => IntCC::Equal,
            IntCmpOp::Ne => IntCC::NotEqual,
            IntCmpOp::LtS => IntCC::SignedLessThan,
            IntCmpOp::LtU => IntCC::UnsignedLessThan,
            IntCmpOp::GtS => IntCC::SignedGreaterThan,
            IntCmpOp::GtU => IntCC::UnsignedGreaterThan,
            IntCmpOp::LeS => IntCC::SignedLessThanOrEqual,
            IntCmpOp::LeU => IntCC::UnsignedLessThanOrEqual,
            IntCmpOp::GeS => IntCC::SignedGreaterThanOrEqual,
            IntCmpOp::GeU => IntCC::UnsignedGreaterThanOrEqual,
        };
        self.vbinary(int_lanes(lanes), |t, a, b| t.b.ins().icmp(cc, a, b))
    }

    fn simd_float_compare(
        &mut self,
        op: FloatCmpOp,
        lanes: FloatLanes,
    ) -> Result<(), CompileError> {
        let cc = match op {
            FloatCmpOp::Eq => FloatCC::Equal,
            FloatCmpOp::Ne => FloatCC::NotEqual,
            FloatCmpOp::Lt => FloatCC::LessThan,
            FloatCmpOp::Gt => FloatCC::GreaterThan,
            FloatCmpOp::Le => FloatCC::LessThanOrEqual,
            FloatCmpOp::Ge => FloatCC::GreaterThanOrEqual,
        };
        self.vbinary(float_lanes(lanes), |t, a, b| t.b.ins().fcmp(cc, a, b))
    }

    fn simd_test(&mut self, op: SimdTestOp) -> Result<(), CompileError> {
        let v = match op {
            SimdTestOp::AnyTrue => {
                let a = self.pop_v(I8X16)?;
                let any = self.b.ins().vany_true(a);
                self.b.ins().uextend(types::I32, any)
            }
            SimdTestOp::AllTrue(l) => {
                let a = self.pop_v(int_lanes(l))?;
                let all = self.b.ins().vall_true(a);
                self.b.ins().uextend(types::I32, all)
            }
            SimdTestOp::Bitmask(l) => {
                let a = self.pop_v(int_lanes(l))?;
                self.b.ins().vhigh_bits(types::I32, a)
            }
        };
        self.push(v);
        Ok(())
    }
}

/// The integer lanes whose lane is `width` wide.
fn int_lanes_of(width: Width) -> IntLanes {
    match width {
        Width::W8 => IntLanes::I8x16,
        Width::W16 => IntLanes::I16x8,
        Width::W32 => IntLanes::I32x4,
        Width::W64 => IntLanes::I64x2,
    }
}
