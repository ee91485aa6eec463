//! Constants, integer and float arithmetic, comparisons and conversions.
//!
//! Cranelift's instructions already have Wasm's semantics for every operator
//! here: shifts and rotates mask their amount, `sdiv`/`udiv`/`srem`/`urem`
//! trap on a zero divisor and `sdiv` on overflow (`srem` of `INT_MIN` by -1
//! is 0), `fmin`/`fmax` propagate NaN and order -0 below +0, `nearest`
//! rounds ties to even, `fcvt_to_*int` trap on NaN and overflow and the
//! `_sat` forms saturate. Their trap codes are mapped back in `isa::finish`.

use super::Translator;
use crate::env::{float_type, int_type, num_type};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Opcode, Type, types};
use tandem_codegen_api::CompileError;
use tandem_codegen_api::lower::{
    Const, Convert, FloatBinOp, FloatCmpOp, FloatTy, FloatUnOp, IntBinOp, IntCmpOp, IntTy, IntUnOp,
    LowerConvert, LowerNumeric,
};

impl Translator<'_, '_> {
    /// A one-operand instruction whose result has the operand's type.
    fn unary(&mut self, opcode: Opcode) -> Result<(), CompileError> {
        let x = self.pop()?;
        let ty = self.b.func.dfg.value_type(x);
        let (inst, dfg) = self.b.ins().Unary(opcode, ty, x);
        let v = dfg.first_result(inst);
        self.push(v);
        Ok(())
    }

    /// A two-operand instruction whose result has the operands' type.
    fn binary(&mut self, opcode: Opcode) -> Result<(), CompileError> {
        let (x, y) = self.pop2()?;
        let ty = self.b.func.dfg.value_type(x);
        let (inst, dfg) = self.b.ins().Binary(opcode, ty, x, y);
        let v = dfg.first_result(inst);
        self.push(v);
        Ok(())
    }

    /// A conversion to type `to`.
    fn convert_to(&mut self, opcode: Opcode, to: Type) -> Result<(), CompileError> {
        let x = self.pop()?;
        let (inst, dfg) = self.b.ins().Unary(opcode, to, x);
        let v = dfg.first_result(inst);
        self.push(v);
        Ok(())
    }

    /// `*.extendN_s`: sign-extends the low `narrow` bits in place.
    fn extend_signed(&mut self, narrow: Type) -> Result<(), CompileError> {
        let x = self.pop()?;
        let ty = self.b.func.dfg.value_type(x);
        let low = self.b.ins().ireduce(narrow, x);
        let v = self.b.ins().sextend(ty, low);
        self.push(v);
        Ok(())
    }
}

impl LowerNumeric for Translator<'_, '_> {
    fn constant(&mut self, value: Const) -> Result<(), CompileError> {
        let ins = self.b.ins();
        let v = match value {
            // Cranelift wants narrow immediates zero-extended.
            Const::I32(v) => ins.iconst(types::I32, i64::from(v as u32)),
            Const::I64(v) => ins.iconst(types::I64, v),
            Const::F32(bits) => ins.f32const(Ieee32::with_bits(bits)),
            Const::F64(bits) => ins.f64const(Ieee64::with_bits(bits)),
        };
        self.push(v);
        Ok(())
    }

    fn int_unary(&mut self, op: IntUnOp, _ty: IntTy) -> Result<(), CompileError> {
        match op {
            IntUnOp::Clz => self.unary(Opcode::Clz),
            IntUnOp::Ctz => self.unary(Opcode::Ctz),
            IntUnOp::Popcnt => self.unary(Opcode::Popcnt),
            IntUnOp::Extend8S => self.extend_signed(types::I8),
            IntUnOp::Extend16S => self.extend_signed(types::I16),
            IntUnOp::Extend32S => self.extend_signed(types::I32),
        }
    }

    fn int_binary(&mut self, op: IntBinOp, _ty: IntTy) -> Result<(), CompileError> {
        self.binary(match op {
            IntBinOp::Add => Opcode::Iadd,
            IntBinOp::Sub => Opcode::Isub,
            IntBinOp::Mul => Opcode::Imul,
            IntBinOp::DivS => Opcode::Sdiv,
            IntBinOp::DivU => Opcode::Udiv,
            IntBinOp::RemS => Opcode::Srem,
            IntBinOp::RemU => Opcode::Urem,
            IntBinOp::And => Opcode::Band,
            IntBinOp::Or => Opcode::Bor,
            IntBinOp::Xor => Opcode::Bxor,
            IntBinOp::Shl => Opcode::Ishl,
            IntBinOp::ShrS => Opcode::Sshr,
            IntBinOp::ShrU => Opcode::Ushr,
            IntBinOp::Rotl => Opcode::Rotl,
            IntBinOp::Rotr => Opcode::Rotr,
        })
    }

    fn int_eqz(&mut self, _ty: IntTy) -> Result<(), CompileError> {
        let x = self.pop()?;
        let c = self.b.ins().icmp_imm_u(IntCC::Equal, x, 0);
        let v = self.b.ins().uextend(types::I32, c);
        self.push(v);
        Ok(())
    }

    /// Gives an i32 0 or 1.
    fn int_compare(&mut self, op: IntCmpOp, _ty: IntTy) -> Result<(), CompileError> {
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
        let (x, y) = self.pop2()?;
        let c = self.b.ins().icmp(cc, x, y);
        let v = self.b.ins().uextend(types::I32, c);
        self.push(v);
        Ok(())
    }

    fn float_unary(&mut self, op: FloatUnOp, _ty: FloatTy) -> Result<(), CompileError> {
        self.unary(match op {
            FloatUnOp::Abs => Opcode::Fabs,
            FloatUnOp::Neg => Opcode::Fneg,
            FloatUnOp::Sqrt => Opcode::Sqrt,
            FloatUnOp::Ceil => Opcode::Ceil,
            FloatUnOp::Floor => Opcode::Floor,
            FloatUnOp::Trunc => Opcode::Trunc,
            FloatUnOp::Nearest => Opcode::Nearest,
        })
    }

    fn float_binary(&mut self, op: FloatBinOp, _ty: FloatTy) -> Result<(), CompileError> {
        self.binary(match op {
            FloatBinOp::Add => Opcode::Fadd,
            FloatBinOp::Sub => Opcode::Fsub,
            FloatBinOp::Mul => Opcode::Fmul,
            FloatBinOp::Div => Opcode::Fdiv,
            FloatBinOp::Min => Opcode::Fmin,
            FloatBinOp::Max => Opcode::Fmax,
            FloatBinOp::Copysign => Opcode::Fcopysign,
        })
    }

    /// Gives an i32 0 or 1 (false on NaN except `ne`).
    fn float_compare(&mut self, op: FloatCmpOp, _ty: FloatTy) -> Result<(), CompileError> {
        let cc = match op {
            FloatCmpOp::Eq => FloatCC::Equal,
            FloatCmpOp::Ne => FloatCC::NotEqual,
            FloatCmpOp::Lt => FloatCC::LessThan,
            FloatCmpOp::Gt => FloatCC::GreaterThan,
            FloatCmpOp::Le => FloatCC::LessThanOrEqual,
            FloatCmpOp::Ge => FloatCC::GreaterThanOrEqual,
        };
        let (x, y) = self.pop2()?;
        let c = self.b.ins().fcmp(cc, x, y);
        let v = self.b.ins().uextend(types::I32, c);
        self.push(v);
        Ok(())
    }
}

impl LowerConvert for Translator<'_, '_> {
    fn convert(&mut self, op: Convert) -> Result<(), CompileError> {
        match op {
            Convert::Wrap => self.convert_to(Opcode::Ireduce, types::I32),
            Convert::ExtendI32 { signed: true } => self.convert_to(Opcode::Sextend, types::I64),
            Convert::ExtendI32 { signed: false } => self.convert_to(Opcode::Uextend, types::I64),
            Convert::Trunc {
                to,
                signed,
                saturating,
                ..
            } => {
                let opcode = match (signed, saturating) {
                    (true, false) => Opcode::FcvtToSint,
                    (false, false) => Opcode::FcvtToUint,
                    (true, true) => Opcode::FcvtToSintSat,
                    (false, true) => Opcode::FcvtToUintSat,
                };
                self.convert_to(opcode, int_type(to))
            }
            Convert::FromInt { to, signed, .. } => {
                let opcode = if signed {
                    Opcode::FcvtFromSint
                } else {
                    Opcode::FcvtFromUint
                };
                self.convert_to(opcode, float_type(to))
            }
            Convert::Demote => self.convert_to(Opcode::Fdemote, types::F32),
            Convert::Promote => self.convert_to(Opcode::Fpromote, types::F64),
            Convert::Reinterpret { to } => {
                // The same bits as another type.
                let x = self.pop()?;
                let v = self.b.ins().bitcast(num_type(to), MemFlagsData::new(), x);
                self.push(v);
                Ok(())
            }
        }
    }
}
