//! Constants, integer and float arithmetic, comparisons and conversions.
//!
//! Cranelift's instructions already have Wasm's semantics for every operator
//! here: shifts and rotates mask their amount, `sdiv`/`udiv`/`srem`/`urem`
//! trap on a zero divisor and `sdiv` on overflow (`srem` of `INT_MIN` by -1
//! is 0), `fmin`/`fmax` propagate NaN and order -0 below +0, `nearest`
//! rounds ties to even, `fcvt_to_*int` trap on NaN and overflow and the
//! `_sat` forms saturate. Their trap codes are mapped back in `isa::finish`.

use super::Translator;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Opcode, Type, types};
use tandem_codegen_api::CompileError;

impl Translator<'_, '_> {
    /// `i32.const` / `i64.const`.
    pub(super) fn iconst(&mut self, ty: Type, value: i64) -> Result<(), CompileError> {
        // Cranelift wants narrow immediates zero-extended.
        let value = if ty == types::I32 {
            i64::from(value as u32)
        } else {
            value
        };
        let v = self.b.ins().iconst(ty, value);
        self.push(v);
        Ok(())
    }

    /// `f32.const`, from its bits.
    pub(super) fn f32const(&mut self, bits: u32) -> Result<(), CompileError> {
        let v = self
            .b
            .ins()
            .f32const(cranelift_codegen::ir::immediates::Ieee32::with_bits(bits));
        self.push(v);
        Ok(())
    }

    /// `f64.const`, from its bits.
    pub(super) fn f64const(&mut self, bits: u64) -> Result<(), CompileError> {
        let v = self
            .b
            .ins()
            .f64const(cranelift_codegen::ir::immediates::Ieee64::with_bits(bits));
        self.push(v);
        Ok(())
    }

    /// `i32.eqz` / `i64.eqz`.
    pub(super) fn eqz(&mut self) -> Result<(), CompileError> {
        let x = self.pop()?;
        let c = self.b.ins().icmp_imm_u(IntCC::Equal, x, 0);
        let v = self.b.ins().uextend(types::I32, c);
        self.push(v);
        Ok(())
    }

    /// Integer comparisons, giving an i32 0 or 1.
    pub(super) fn icmp(&mut self, cc: IntCC) -> Result<(), CompileError> {
        let (x, y) = self.pop2()?;
        let c = self.b.ins().icmp(cc, x, y);
        let v = self.b.ins().uextend(types::I32, c);
        self.push(v);
        Ok(())
    }

    /// Float comparisons, giving an i32 0 or 1 (false on NaN except `ne`).
    pub(super) fn fcmp(&mut self, cc: FloatCC) -> Result<(), CompileError> {
        let (x, y) = self.pop2()?;
        let c = self.b.ins().fcmp(cc, x, y);
        let v = self.b.ins().uextend(types::I32, c);
        self.push(v);
        Ok(())
    }

    /// A one-operand instruction whose result has the operand's type.
    pub(super) fn unary(&mut self, opcode: Opcode) -> Result<(), CompileError> {
        let x = self.pop()?;
        let ty = self.b.func.dfg.value_type(x);
        let (inst, dfg) = self.b.ins().Unary(opcode, ty, x);
        let v = dfg.first_result(inst);
        self.push(v);
        Ok(())
    }

    /// A two-operand instruction whose result has the operands' type.
    pub(super) fn binary(&mut self, opcode: Opcode) -> Result<(), CompileError> {
        let (x, y) = self.pop2()?;
        let ty = self.b.func.dfg.value_type(x);
        let (inst, dfg) = self.b.ins().Binary(opcode, ty, x, y);
        let v = dfg.first_result(inst);
        self.push(v);
        Ok(())
    }

    /// A conversion to type `to`.
    pub(super) fn convert(&mut self, opcode: Opcode, to: Type) -> Result<(), CompileError> {
        let x = self.pop()?;
        let (inst, dfg) = self.b.ins().Unary(opcode, to, x);
        let v = dfg.first_result(inst);
        self.push(v);
        Ok(())
    }

    /// `*.reinterpret_*`: the same bits as another type.
    pub(super) fn reinterpret(&mut self, to: Type) -> Result<(), CompileError> {
        let x = self.pop()?;
        let v = self.b.ins().bitcast(to, MemFlagsData::new(), x);
        self.push(v);
        Ok(())
    }

    /// `*.extendN_s`: sign-extends the low `narrow` bits in place.
    pub(super) fn extend_signed(&mut self, narrow: Type) -> Result<(), CompileError> {
        let x = self.pop()?;
        let ty = self.b.func.dfg.value_type(x);
        let low = self.b.ins().ireduce(narrow, x);
        let v = self.b.ins().sextend(ty, low);
        self.push(v);
        Ok(())
    }
}
