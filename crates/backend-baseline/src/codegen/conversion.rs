//! Conversions: wrapping and extending integers, int <-> float (trapping
//! and saturating), `f32 <-> f64`, reinterpretations and the in-place
//! sign extensions.
//!
//! Trapping float-to-int conversions check before converting: NaN traps
//! with `BadConversionToInteger`, out-of-range values with
//! `IntegerOverflow`, as Cranelift does.

use super::CodeGen;
use crate::isa::x64::regs::{FSCRATCH, SCRATCH};
use crate::masm::{
    AluOp, Cond, Extend, FloatBitOp, FloatOp, FloatSize, MacroAssembler, Operand, ShiftOp, Size,
};
use crate::stack::{Loc, Ty, Val};
use tandem_codegen_api::CompileError;
use tandem_codegen_api::lower::{Convert, LowerConvert};
use tandem_environ::TrapCode;

/// Bits of a float constant of `size`.
fn fbits(size: FloatSize, v: f64) -> u64 {
    match size {
        FloatSize::F32 => u64::from((v as f32).to_bits()),
        FloatSize::F64 => v.to_bits(),
    }
}

impl CodeGen<'_, '_> {
    /// Pushes `v` retyped as `ty`, where the bits need no change. A value
    /// in memory elsewhere than its own slot is loaded.
    fn push_retyped(&mut self, ty: Ty, v: Val) -> Result<(), CompileError> {
        match v {
            Val::Reg(r) => self.push_reg(ty, r),
            Val::Const(c) => self.push_const(ty, c),
            Val::Mem(d) => {
                let pos = self.stack.len();
                if self.slot(pos).disp == d {
                    self.stack.push(ty, Loc::Mem);
                } else {
                    let r = self.owned_reg(ty, v)?;
                    self.push_reg(ty, r);
                }
            }
            Val::LocalReg(r) if r.is_xmm() == ty.is_float() => {
                let r = self.owned_reg(ty, v)?;
                self.push_reg(ty, r);
            }
            Val::LocalReg(_) => return Err(self.bug("retyping a local across register classes")),
        }
        Ok(())
    }

    /// `i32.wrap_i64`.
    pub fn wrap(&mut self) -> Result<(), CompileError> {
        let (_, v) = self.pop()?;
        match v {
            Val::Reg(_) | Val::LocalReg(_) => {
                let r = self.owned_reg(Ty::I64, v)?;
                self.masm.asm.mov_rr(Size::S32, r, r);
                self.push_reg(Ty::I32, r);
                Ok(())
            }
            Val::Const(c) => {
                self.push_const(Ty::I32, i64::from(c as i32));
                Ok(())
            }
            Val::Mem(_) => self.push_retyped(Ty::I32, v),
        }
    }

    /// `i64.extend_i32_u` / `_s`.
    pub fn extend_i32(&mut self, signed: bool) -> Result<(), CompileError> {
        let (_, v) = self.pop()?;
        if let Val::Const(c) = v {
            let r = if signed {
                i64::from(c as i32)
            } else {
                i64::from(c as u32)
            };
            self.push_const(Ty::I64, r);
            return Ok(());
        }
        if !signed && let Val::Reg(r) = v {
            // The upper half of an i32 register is already zero.
            self.push_reg(Ty::I64, r);
            return Ok(());
        }
        let r = self.owned_reg(Ty::I32, v)?;
        if signed {
            self.masm.extend(Extend::S32, Size::S64, r, r);
        }
        self.push_reg(Ty::I64, r);
        Ok(())
    }

    /// `iN.extendM_s`: sign-extends the low `bits` in place.
    pub fn extend_in_place(&mut self, ty: Ty, bits: u8) -> Result<(), CompileError> {
        let (_, v) = self.pop()?;
        if let Val::Const(c) = v {
            let r = match bits {
                8 => i64::from(c as i8),
                16 => i64::from(c as i16),
                _ => i64::from(c as i32),
            };
            let r = if ty == Ty::I32 {
                i64::from(r as i32 as u32)
            } else {
                r
            };
            self.push_const(ty, r);
            return Ok(());
        }
        let r = self.owned_reg(ty, v)?;
        let ext = match bits {
            8 => Extend::S8,
            16 => Extend::S16,
            _ => Extend::S32,
        };
        self.masm.extend(ext, ty.size(), r, r);
        self.push_reg(ty, r);
        Ok(())
    }

    /// `*.reinterpret_*`.
    pub fn reinterpret(&mut self, to: Ty) -> Result<(), CompileError> {
        let (from, v) = self.pop()?;
        match v {
            Val::Reg(r) | Val::LocalReg(r) => {
                let dst = self.alloc_for(to)?;
                if to.is_float() {
                    self.masm.fmov_from_gpr(to.fsize(), dst, r);
                } else {
                    self.masm.fmov_to_gpr(from.fsize(), dst, r);
                }
                self.free(v);
                self.push_reg(to, dst);
                Ok(())
            }
            Val::Const(c) => {
                let c = match to {
                    Ty::I32 => i64::from(c as i32),
                    Ty::F32 => i64::from(c as u32),
                    _ => c,
                };
                self.push_const(to, c);
                Ok(())
            }
            Val::Mem(_) => self.push_retyped(to, v),
        }
    }

    /// `f32.demote_f64` / `f64.promote_f32`.
    pub fn float_convert(&mut self, to: Ty) -> Result<(), CompileError> {
        let (from, v) = self.pop()?;
        let src = self.owned_reg(from, v)?;
        self.masm.cvt_float(to.fsize(), src, src);
        self.push_reg(to, src);
        Ok(())
    }

    /// `fN.convert_iM_s` / `_u`.
    pub fn int_to_float(&mut self, to: Ty, signed: bool) -> Result<(), CompileError> {
        let (from, v) = self.pop()?;
        let src = self.owned_reg(from, v)?;
        let dst = self.alloc(true)?;
        let size = to.fsize();
        match (from, signed) {
            (Ty::I32, true) => self.masm.cvt_int_to_float(Size::S32, size, dst, src),
            // Zero-extended in its register: a non-negative i64.
            (Ty::I32, false) | (_, true) => self.masm.cvt_int_to_float(Size::S64, size, dst, src),
            (_, false) => {
                let (big, done) = (self.masm.new_label(), self.masm.new_label());
                self.masm.test(Size::S64, src, src);
                self.masm.jcc(Cond::Sign, big);
                self.masm.cvt_int_to_float(Size::S64, size, dst, src);
                self.masm.jmp(done);
                self.masm.bind(big);
                // Halve with the low bit kept sticky, convert, double.
                self.masm.mov(Size::S64, SCRATCH, Operand::Reg(src));
                self.masm.shift(ShiftOp::Shr, Size::S64, SCRATCH, Some(1));
                self.masm.alu(AluOp::And, Size::S64, src, Operand::Imm(1));
                self.masm
                    .alu(AluOp::Or, Size::S64, src, Operand::Reg(SCRATCH));
                self.masm.cvt_int_to_float(Size::S64, size, dst, src);
                self.masm.fop(FloatOp::Add, size, dst, Operand::Reg(dst));
                self.masm.bind(done);
            }
        }
        self.regs.free(src);
        self.push_reg(to, dst);
        Ok(())
    }

    /// Compares `x` with the constant `bound` (into the float scratch).
    fn cmp_bound(&mut self, size: FloatSize, x: crate::isa::x64::regs::Reg, bound: f64) {
        self.masm.fconst(size, FSCRATCH, fbits(size, bound));
        self.masm.fcmp(size, x, Operand::Reg(FSCRATCH));
    }

    /// Converts in-range `x` to an unsigned 64-bit `dst` (clobbers `x`).
    fn cvt_u64(
        &mut self,
        size: FloatSize,
        dst: crate::isa::x64::regs::Reg,
        x: crate::isa::x64::regs::Reg,
    ) {
        let (big, done) = (self.masm.new_label(), self.masm.new_label());
        self.cmp_bound(size, x, 9223372036854775808.0);
        self.masm.jcc(Cond::AboveEq, big);
        self.masm.cvt_float_to_int(size, Size::S64, dst, x);
        self.masm.jmp(done);
        self.masm.bind(big);
        self.masm.fop(FloatOp::Sub, size, x, Operand::Reg(FSCRATCH));
        self.masm.cvt_float_to_int(size, Size::S64, dst, x);
        self.masm.btc(dst, 63);
        self.masm.bind(done);
    }

    /// `iN.trunc_fM_s` / `_u` (trapping).
    pub fn float_to_int(&mut self, to: Ty, signed: bool) -> Result<(), CompileError> {
        let (from, v) = self.pop()?;
        let size = from.fsize();
        let x = self.owned_reg(from, v)?;
        let dst = self.alloc(false)?;
        let nan = self.trap_label(TrapCode::BadConversionToInteger);
        let overflow = self.trap_label(TrapCode::IntegerOverflow);
        self.masm.fcmp(size, x, Operand::Reg(x));
        self.masm.jcc(Cond::Parity, nan);
        let wide = to == Ty::I64;
        // (lower bound, traps when below-or-equal?, upper bound)
        let (lower, lower_inclusive, upper) = match (signed, wide, size) {
            (true, false, FloatSize::F32) => (-2147483648.0, false, 2147483648.0),
            (true, false, FloatSize::F64) => (-2147483649.0, true, 2147483648.0),
            (true, true, _) => (-9223372036854775808.0, false, 9223372036854775808.0),
            (false, false, _) => (-1.0, true, 4294967296.0),
            (false, true, _) => (-1.0, true, 18446744073709551616.0),
        };
        self.cmp_bound(size, x, lower);
        self.masm.jcc(
            if lower_inclusive {
                Cond::BelowEq
            } else {
                Cond::Below
            },
            overflow,
        );
        self.cmp_bound(size, x, upper);
        self.masm.jcc(Cond::AboveEq, overflow);
        match (signed, wide) {
            (true, _) => self.masm.cvt_float_to_int(size, to.size(), dst, x),
            (false, false) => self.masm.cvt_float_to_int(size, Size::S64, dst, x),
            (false, true) => self.cvt_u64(size, dst, x),
        }
        self.regs.free(x);
        self.push_reg(to, dst);
        Ok(())
    }

    /// `iN.trunc_sat_fM_s` / `_u`.
    pub fn float_to_int_sat(&mut self, to: Ty, signed: bool) -> Result<(), CompileError> {
        let (from, v) = self.pop()?;
        let size = from.fsize();
        let x = self.owned_reg(from, v)?;
        let dst = self.alloc(false)?;
        let wide = to == Ty::I64;
        let done = self.masm.new_label();
        if signed {
            let nan = self.masm.new_label();
            self.masm.cvt_float_to_int(size, to.size(), dst, x);
            // Only the "indefinite" result MIN overflows `dst - 1`.
            self.masm.cmp(to.size(), Operand::Reg(dst), Operand::Imm(1));
            self.masm.jcc(Cond::NoOverflow, done);
            self.masm.fcmp(size, x, Operand::Reg(x));
            self.masm.jcc(Cond::Parity, nan);
            self.masm.fbit(FloatBitOp::Xor, FSCRATCH, FSCRATCH);
            self.masm.fcmp(size, x, Operand::Reg(FSCRATCH));
            self.masm.jcc(Cond::Below, done);
            if wide {
                self.masm.mov_imm64(dst, i64::MAX);
            } else {
                self.masm.mov(Size::S32, dst, Operand::Imm(i32::MAX));
            }
            self.masm.jmp(done);
            self.masm.bind(nan);
            self.masm.mov(Size::S32, dst, Operand::Imm(0));
        } else {
            let max = self.masm.new_label();
            self.masm.mov(Size::S32, dst, Operand::Imm(0));
            self.masm.fbit(FloatBitOp::Xor, FSCRATCH, FSCRATCH);
            self.masm.fcmp(size, x, Operand::Reg(FSCRATCH));
            // NaN sets CF, so "below or equal" also catches it.
            self.masm.jcc(Cond::BelowEq, done);
            let upper = if wide {
                18446744073709551616.0
            } else {
                4294967296.0
            };
            self.cmp_bound(size, x, upper);
            self.masm.jcc(Cond::AboveEq, max);
            if wide {
                self.cvt_u64(size, dst, x);
            } else {
                self.masm.cvt_float_to_int(size, Size::S64, dst, x);
            }
            self.masm.jmp(done);
            self.masm.bind(max);
            if wide {
                self.masm.mov_imm64(dst, -1);
            } else {
                self.masm.mov(Size::S32, dst, Operand::Imm(-1));
            }
        }
        self.masm.bind(done);
        self.regs.free(x);
        self.push_reg(to, dst);
        Ok(())
    }
}

impl LowerConvert for CodeGen<'_, '_> {
    fn convert(&mut self, op: Convert) -> Result<(), CompileError> {
        match op {
            Convert::Wrap => self.wrap(),
            Convert::ExtendI32 { signed } => self.extend_i32(signed),
            Convert::Trunc {
                to,
                signed,
                saturating: false,
                ..
            } => self.float_to_int(to.into(), signed),
            Convert::Trunc {
                to,
                signed,
                saturating: true,
                ..
            } => self.float_to_int_sat(to.into(), signed),
            Convert::FromInt { to, signed, .. } => self.int_to_float(to.into(), signed),
            Convert::Demote => self.float_convert(Ty::F32),
            Convert::Promote => self.float_convert(Ty::F64),
            Convert::Reinterpret { to } => self.reinterpret(Ty::from(to)),
        }
    }
}
