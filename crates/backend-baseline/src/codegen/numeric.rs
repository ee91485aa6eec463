//! Constants, integer and float arithmetic and comparisons.
//!
//! Constant operands become immediates, two constants are folded, and a
//! comparison whose result feeds `br_if`, `if` or `select` leaves its
//! result in the flags for that operator instead of materialising a 0/1.

use super::CodeGen;
use super::control::Flags;
use crate::isa::x64::regs::{FSCRATCH, RAX, RCX, RDX, SCRATCH};
use crate::masm::{
    AluOp, BitCount, Cond, FloatBitOp, FloatOp, MacroAssembler, Operand, RoundMode, ShiftOp, Size,
};
use crate::stack::{Ty, Val};
use tandem_codegen_api::CompileError;
use tandem_environ::TrapCode;
use wasmparser::Operator;

/// Integer binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IntBin {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    Shl,
    ShrS,
    ShrU,
    Rotl,
    Rotr,
    DivS,
    DivU,
    RemS,
    RemU,
}

/// Float comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FloatCmp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// Float binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FloatBin {
    Add,
    Sub,
    Mul,
    Div,
    Min,
    Max,
    Copysign,
}

/// Float unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FloatUn {
    Abs,
    Neg,
    Sqrt,
    Round(RoundMode),
}

/// Folds an integer operator on constants; `None` when it would trap.
fn fold(op: IntBin, ty: Ty, a: i64, b: i64) -> Option<i64> {
    if ty == Ty::I32 {
        let (a, b) = (a as i32, b as i32);
        let (ua, ub) = (a as u32, b as u32);
        let r = match op {
            IntBin::Add => a.wrapping_add(b),
            IntBin::Sub => a.wrapping_sub(b),
            IntBin::Mul => a.wrapping_mul(b),
            IntBin::And => a & b,
            IntBin::Or => a | b,
            IntBin::Xor => a ^ b,
            IntBin::Shl => a.wrapping_shl(ub),
            IntBin::ShrS => a.wrapping_shr(ub),
            IntBin::ShrU => ua.wrapping_shr(ub) as i32,
            IntBin::Rotl => ua.rotate_left(ub & 31) as i32,
            IntBin::Rotr => ua.rotate_right(ub & 31) as i32,
            IntBin::DivS => a.checked_div(b)?,
            IntBin::DivU => ua.checked_div(ub)? as i32,
            IntBin::RemS => {
                if b == 0 {
                    return None;
                }
                a.wrapping_rem(b)
            }
            IntBin::RemU => ua.checked_rem(ub)? as i32,
        };
        Some(i64::from(r))
    } else {
        let (ua, ub) = (a as u64, b as u64);
        Some(match op {
            IntBin::Add => a.wrapping_add(b),
            IntBin::Sub => a.wrapping_sub(b),
            IntBin::Mul => a.wrapping_mul(b),
            IntBin::And => a & b,
            IntBin::Or => a | b,
            IntBin::Xor => a ^ b,
            IntBin::Shl => a.wrapping_shl(ub as u32),
            IntBin::ShrS => a.wrapping_shr(ub as u32),
            IntBin::ShrU => ua.wrapping_shr(ub as u32) as i64,
            IntBin::Rotl => ua.rotate_left((ub & 63) as u32) as i64,
            IntBin::Rotr => ua.rotate_right((ub & 63) as u32) as i64,
            IntBin::DivS => a.checked_div(b)?,
            IntBin::DivU => ua.checked_div(ub)? as i64,
            IntBin::RemS => {
                if b == 0 {
                    return None;
                }
                a.wrapping_rem(b)
            }
            IntBin::RemU => ua.checked_rem(ub)? as i64,
        })
    }
}

/// Compares two integer constants.
fn fold_cmp(cc: Cond, ty: Ty, a: i64, b: i64) -> bool {
    let (a, b, ua, ub) = if ty == Ty::I32 {
        let (a, b) = (a as i32, b as i32);
        (
            i64::from(a),
            i64::from(b),
            u64::from(a as u32),
            u64::from(b as u32),
        )
    } else {
        (a, b, a as u64, b as u64)
    };
    match cc {
        Cond::Eq => a == b,
        Cond::Ne => a != b,
        Cond::Lt => a < b,
        Cond::Le => a <= b,
        Cond::Gt => a > b,
        Cond::Ge => a >= b,
        Cond::Below => ua < ub,
        Cond::BelowEq => ua <= ub,
        Cond::Above => ua > ub,
        _ => ua >= ub,
    }
}

/// The sign bit of a float type.
fn sign_bit(ty: Ty) -> u64 {
    if ty == Ty::F32 { 1 << 31 } else { 1 << 63 }
}

impl CodeGen<'_, '_> {
    /// `i32.const` / `i64.const`.
    pub fn iconst(&mut self, ty: Ty, v: i64) -> Result<(), CompileError> {
        self.push_const(ty, v);
        Ok(())
    }

    /// `f32.const` / `f64.const`, as bits.
    pub fn fconst(&mut self, ty: Ty, bits: u64) -> Result<(), CompileError> {
        self.push_const(ty, bits as i64);
        Ok(())
    }

    /// Integer binary operators.
    pub fn int_binary(&mut self, op: IntBin, ty: Ty) -> Result<(), CompileError> {
        let (_, rhs) = self.pop()?;
        let (_, lhs) = self.pop()?;
        if let (Val::Const(a), Val::Const(b)) = (lhs, rhs)
            && let Some(r) = fold(op, ty, a, b)
        {
            self.push_const(ty, r);
            return Ok(());
        }
        let alu = match op {
            IntBin::Add => AluOp::Add,
            IntBin::Sub => AluOp::Sub,
            IntBin::And => AluOp::And,
            IntBin::Or => AluOp::Or,
            IntBin::Xor => AluOp::Xor,
            IntBin::Mul => AluOp::Add,
            IntBin::Shl => return self.shift(ShiftOp::Shl, ty, lhs, rhs),
            IntBin::ShrS => return self.shift(ShiftOp::Sar, ty, lhs, rhs),
            IntBin::ShrU => return self.shift(ShiftOp::Shr, ty, lhs, rhs),
            IntBin::Rotl => return self.shift(ShiftOp::Rol, ty, lhs, rhs),
            IntBin::Rotr => return self.shift(ShiftOp::Ror, ty, lhs, rhs),
            IntBin::DivS | IntBin::DivU | IntBin::RemS | IntBin::RemU => {
                return self.divide(op, ty, lhs, rhs);
            }
        };
        let commutative = !matches!(op, IntBin::Sub);
        let (lhs, rhs) = if commutative && !matches!(lhs, Val::Reg(_)) && matches!(rhs, Val::Reg(_))
        {
            (rhs, lhs)
        } else {
            (lhs, rhs)
        };
        let (dest, rhs) = self.binary_dest(ty, lhs, rhs, commutative)?;
        let src = self.int_operand(ty, rhs);
        if op == IntBin::Mul {
            self.masm.mul(ty.size(), dest.reg(), src);
        } else {
            self.masm.alu(alu, ty.size(), dest.reg(), src);
        }
        self.free(rhs);
        self.finish_dest(ty, dest);
        Ok(())
    }

    /// Shifts and rotates: the amount goes in `cl` unless constant.
    fn shift(&mut self, op: ShiftOp, ty: Ty, lhs: Val, rhs: Val) -> Result<(), CompileError> {
        if let Val::Const(c) = rhs {
            let dst = self.owned_reg(ty, lhs)?;
            self.masm.shift(op, ty.size(), dst, Some(c as u8));
            self.push_reg(ty, dst);
            return Ok(());
        }
        self.evict(RCX);
        let mut lhs = lhs;
        if lhs == Val::Reg(RCX) {
            let r = self.alloc(false)?;
            self.masm.mov(Size::S64, r, Operand::Reg(RCX));
            lhs = Val::Reg(r);
        } else if self.regs.is_free(RCX) {
            self.regs.take(RCX);
        }
        if rhs != Val::Reg(RCX) {
            self.load_val(ty, RCX, rhs);
            self.free(rhs);
        }
        let dst = self.owned_reg(ty, lhs)?;
        self.masm.shift(op, ty.size(), dst, None);
        self.regs.free(RCX);
        self.push_reg(ty, dst);
        Ok(())
    }

    /// Division and remainder in `rdx:rax`.
    fn divide(&mut self, op: IntBin, ty: Ty, lhs: Val, rhs: Val) -> Result<(), CompileError> {
        let size = ty.size();
        let signed = matches!(op, IntBin::DivS | IntBin::RemS);
        let rem = matches!(op, IntBin::RemS | IntBin::RemU);
        let min = if ty == Ty::I32 {
            i64::from(i32::MIN)
        } else {
            i64::MIN
        };
        match rhs {
            Val::Const(0) => {
                let l = self.trap_label(TrapCode::IntegerDivisionByZero);
                self.masm.jmp(l);
                self.free(lhs);
                self.push_const(ty, 0);
                return Ok(());
            }
            Val::Const(-1) if op == IntBin::RemS => {
                self.free(lhs);
                self.push_const(ty, 0);
                return Ok(());
            }
            _ => {}
        }
        self.evict(RAX);
        self.evict(RDX);
        for r in [RAX, RDX] {
            if self.regs.is_free(r) {
                self.regs.take(r);
            }
        }
        let mut rhs = rhs;
        if let Val::Reg(r) = rhs
            && (r == RAX || r == RDX)
        {
            let n = self.alloc(false)?;
            self.masm.mov(Size::S64, n, Operand::Reg(r));
            rhs = Val::Reg(n);
        }
        if lhs != Val::Reg(RAX) {
            self.load_val(ty, RAX, lhs);
            if let Val::Reg(r) = lhs
                && r != RDX
            {
                self.regs.free(r);
            }
        }
        let divisor = match rhs {
            Val::Reg(r) | Val::LocalReg(r) => Operand::Reg(r),
            Val::Mem(_) => self.int_operand(ty, rhs),
            Val::Const(c) => {
                let r = self.alloc(false)?;
                self.masm.mov_imm64(r, c);
                rhs = Val::Reg(r);
                Operand::Reg(r)
            }
        };
        let done = self.masm.new_label();
        if signed {
            let normal = self.masm.new_label();
            self.masm.cmp(size, divisor, Operand::Imm(-1));
            self.masm.jcc(Cond::Ne, normal);
            if rem {
                self.masm.mov(Size::S32, RDX, Operand::Imm(0));
                self.masm.jmp(done);
            } else {
                let min_op = self.masm.imm64_operand(min);
                self.masm.cmp(size, Operand::Reg(RAX), min_op);
                let overflow = self.trap_label(TrapCode::IntegerOverflow);
                self.masm.jcc(Cond::Eq, overflow);
            }
            self.masm.bind(normal);
        }
        let at = self.masm.div(signed, size, divisor);
        self.trap_site(at, TrapCode::IntegerDivisionByZero);
        self.masm.bind(done);
        self.free(rhs);
        let (result, other) = if rem { (RDX, RAX) } else { (RAX, RDX) };
        self.regs.free(other);
        self.push_reg(ty, result);
        Ok(())
    }

    /// Integer comparisons.
    pub fn int_compare(&mut self, cc: Cond, ty: Ty) -> Result<(), CompileError> {
        let (_, rhs) = self.pop()?;
        let (_, lhs) = self.pop()?;
        if let (Val::Const(a), Val::Const(b)) = (lhs, rhs) {
            self.push_const(Ty::I32, i64::from(fold_cmp(cc, ty, a, b)));
            return Ok(());
        }
        let (mut lhs, rhs, cc) = if matches!(lhs, Val::Const(_)) {
            (rhs, lhs, cc.swap())
        } else {
            (lhs, rhs, cc)
        };
        if matches!((lhs, rhs), (Val::Mem(_), Val::Mem(_))) {
            lhs = Val::Reg(self.owned_reg(ty, lhs)?);
        }
        let l = self.int_operand(ty, lhs);
        let r = self.int_operand(ty, rhs);
        self.masm.cmp(ty.size(), l, r);
        self.free(lhs);
        self.free(rhs);
        self.use_flags(Flags::Int(cc))
    }

    /// `i32.eqz` / `i64.eqz` / `ref.is_null`.
    pub fn eqz(&mut self, ty: Ty) -> Result<(), CompileError> {
        let (_, v) = self.pop()?;
        match v {
            Val::Const(c) => {
                let zero = if ty == Ty::I32 { c as i32 == 0 } else { c == 0 };
                self.push_const(Ty::I32, i64::from(zero));
                return Ok(());
            }
            Val::Reg(r) | Val::LocalReg(r) => self.masm.test(ty.size(), r, r),
            Val::Mem(_) => {
                let op = self.int_operand(ty, v);
                self.masm.cmp(ty.size(), op, Operand::Imm(0));
            }
        }
        self.free(v);
        self.use_flags(Flags::Int(Cond::Eq))
    }

    /// Float comparisons (false on NaN except `ne`).
    pub fn float_compare(&mut self, cmp: FloatCmp, ty: Ty) -> Result<(), CompileError> {
        let (_, rhs) = self.pop()?;
        let (_, lhs) = self.pop()?;
        if let (Val::Const(a), Val::Const(b)) = (lhs, rhs) {
            let (a, b) = if ty == Ty::F32 {
                (
                    f64::from(f32::from_bits(a as u32)),
                    f64::from(f32::from_bits(b as u32)),
                )
            } else {
                (f64::from_bits(a as u64), f64::from_bits(b as u64))
            };
            let r = match cmp {
                FloatCmp::Eq => a == b,
                FloatCmp::Ne => a != b,
                FloatCmp::Lt => a < b,
                FloatCmp::Gt => a > b,
                FloatCmp::Le => a <= b,
                FloatCmp::Ge => a >= b,
            };
            self.push_const(Ty::I32, i64::from(r));
            return Ok(());
        }
        let ((x, y), flags) = match cmp {
            FloatCmp::Eq => ((lhs, rhs), Flags::FloatEq),
            FloatCmp::Ne => ((lhs, rhs), Flags::FloatNe),
            FloatCmp::Gt => ((lhs, rhs), Flags::Int(Cond::Above)),
            FloatCmp::Ge => ((lhs, rhs), Flags::Int(Cond::AboveEq)),
            FloatCmp::Lt => ((rhs, lhs), Flags::Int(Cond::Above)),
            FloatCmp::Le => ((rhs, lhs), Flags::Int(Cond::AboveEq)),
        };
        let xr = self.owned_reg(ty, x)?;
        self.float_cmp(ty, xr, y);
        self.regs.free(xr);
        self.free(y);
        self.use_flags(flags)
    }

    /// Hands a comparison's flags to a following `br_if`, `if` or `select`,
    /// or materialises them as an i32.
    pub fn use_flags(&mut self, flags: Flags) -> Result<(), CompileError> {
        // Peek at the opcode byte only: cloning the operator reader would
        // copy its control stack for every comparison.
        let candidate = match self.reader.get_binary_reader().read_u8() {
            Ok(0x0d | 0x04) => true,                           // br_if, if
            Ok(0x1b | 0x1c) => matches!(flags, Flags::Int(_)), // select
            Ok(0x45) => {
                // `i32.eqz` of a comparison is the negated comparison: no
                // code, and what follows it may still take the flags.
                self.reader.read()?;
                self.folded_eqz();
                return self.use_flags(flags.negate());
            }
            _ => false,
        };
        if !candidate {
            return self.materialize_flags(flags);
        }
        let offset = self.reader.original_position() as u32;
        let next = self.reader.read()?;
        if !self.may_fuse_with(&next) {
            // Fuel charged before `next` would clobber the flags.
            self.materialize_flags(flags)?;
            return self.operator(offset, &next);
        }
        self.fused_operator(&next);
        self.offset = offset;
        match (next, flags) {
            (Operator::BrIf { relative_depth }, _) => self.br_if(relative_depth, Some(flags)),
            (Operator::If { blockty }, _) => self.if_(blockty, Some(flags)),
            (_, Flags::Int(c)) => self.select(Some(c)),
            _ => Err(self.bug("bad fusion")),
        }
    }

    /// Materialises a comparison's flags as an i32 on the stack.
    fn materialize_flags(&mut self, flags: Flags) -> Result<(), CompileError> {
        let dst = self.alloc(false)?;
        match flags {
            Flags::Int(c) => self.masm.setcc(c, dst),
            Flags::FloatEq | Flags::FloatNe => {
                let (a, b, op) = if flags == Flags::FloatEq {
                    (Cond::Eq, Cond::NoParity, AluOp::And)
                } else {
                    (Cond::Ne, Cond::Parity, AluOp::Or)
                };
                self.masm.setcc(a, dst);
                self.masm.setcc(b, SCRATCH);
                self.masm.alu(op, Size::S32, dst, Operand::Reg(SCRATCH));
            }
        }
        self.push_reg(Ty::I32, dst);
        Ok(())
    }

    /// `clz`, `ctz`, `popcnt`.
    pub fn bit_count(&mut self, op: BitCount, ty: Ty) -> Result<(), CompileError> {
        let (_, v) = self.pop()?;
        if let Val::Const(c) = v {
            let r = if ty == Ty::I32 {
                let c = c as u32;
                match op {
                    BitCount::Clz => c.leading_zeros(),
                    BitCount::Ctz => c.trailing_zeros(),
                    BitCount::Popcnt => c.count_ones(),
                }
            } else {
                let c = c as u64;
                match op {
                    BitCount::Clz => c.leading_zeros(),
                    BitCount::Ctz => c.trailing_zeros(),
                    BitCount::Popcnt => c.count_ones(),
                }
            };
            self.push_const(ty, i64::from(r));
            return Ok(());
        }
        let src = self.owned_reg(ty, v)?;
        let dst = self.alloc(false)?;
        self.masm.bit_count(op, ty.size(), dst, src);
        self.regs.free(src);
        self.push_reg(ty, dst);
        Ok(())
    }

    /// Float binary operators with Wasm semantics.
    pub fn float_binary(&mut self, op: FloatBin, ty: Ty) -> Result<(), CompileError> {
        let (_, rhs) = self.pop()?;
        let (_, lhs) = self.pop()?;
        let size = ty.fsize();
        let simple = match op {
            FloatBin::Add => Some(FloatOp::Add),
            FloatBin::Sub => Some(FloatOp::Sub),
            FloatBin::Mul => Some(FloatOp::Mul),
            FloatBin::Div => Some(FloatOp::Div),
            _ => None,
        };
        if let Some(fop) = simple {
            let commutative = matches!(op, FloatBin::Add | FloatBin::Mul);
            let (lhs, rhs) =
                if commutative && !matches!(lhs, Val::Reg(_)) && matches!(rhs, Val::Reg(_)) {
                    (rhs, lhs)
                } else {
                    (lhs, rhs)
                };
            let (dest, rhs) = self.binary_dest(ty, lhs, rhs, commutative)?;
            self.float_op(fop, ty, dest.reg(), rhs);
            self.free(rhs);
            self.finish_dest(ty, dest);
            return Ok(());
        }
        if op == FloatBin::Copysign {
            if let (Val::Const(a), Val::Const(b)) = (lhs, rhs) {
                let s = sign_bit(ty);
                let r = (a as u64 & !s) | (b as u64 & s);
                self.push_const(ty, r as i64);
                return Ok(());
            }
            let dst = self.owned_reg(ty, lhs)?;
            let sign = self.owned_reg(ty, rhs)?;
            self.masm.fconst(size, FSCRATCH, sign_bit(ty));
            self.masm.fbit(FloatBitOp::And, sign, FSCRATCH);
            self.masm.fbit(FloatBitOp::AndNot, FSCRATCH, dst);
            self.masm.fbit(FloatBitOp::Or, sign, FSCRATCH);
            self.regs.free(dst);
            self.push_reg(ty, sign);
            return Ok(());
        }
        // min / max: NaN propagates, -0 < +0.
        let dst = self.owned_reg(ty, lhs)?;
        let src = self.owned_reg(ty, rhs)?;
        let (nan, normal, done) = (
            self.masm.new_label(),
            self.masm.new_label(),
            self.masm.new_label(),
        );
        self.masm.fcmp(size, dst, Operand::Reg(src));
        self.masm.jcc(Cond::Parity, nan);
        self.masm.jcc(Cond::Ne, normal);
        let (bit, fop) = if op == FloatBin::Min {
            (FloatBitOp::Or, FloatOp::Min)
        } else {
            (FloatBitOp::And, FloatOp::Max)
        };
        self.masm.fbit(bit, dst, src);
        self.masm.jmp(done);
        self.masm.bind(nan);
        self.masm.fop(FloatOp::Add, size, dst, Operand::Reg(src));
        self.masm.jmp(done);
        self.masm.bind(normal);
        self.masm.fop(fop, size, dst, Operand::Reg(src));
        self.masm.bind(done);
        self.regs.free(src);
        self.push_reg(ty, dst);
        Ok(())
    }

    /// Float unary operators.
    pub fn float_unary(&mut self, op: FloatUn, ty: Ty) -> Result<(), CompileError> {
        let (_, v) = self.pop()?;
        let size = ty.fsize();
        let s = sign_bit(ty);
        if let Val::Const(c) = v {
            match op {
                FloatUn::Abs => return self.fconst(ty, c as u64 & !s),
                FloatUn::Neg => return self.fconst(ty, c as u64 ^ s),
                _ => {}
            }
        }
        let dst = self.owned_reg(ty, v)?;
        match op {
            FloatUn::Abs => {
                let mask = if ty == Ty::F32 {
                    u64::from(u32::MAX) & !s
                } else {
                    !s
                };
                self.masm.fconst(size, FSCRATCH, mask);
                self.masm.fbit(FloatBitOp::And, dst, FSCRATCH);
            }
            FloatUn::Neg => {
                self.masm.fconst(size, FSCRATCH, s);
                self.masm.fbit(FloatBitOp::Xor, dst, FSCRATCH);
            }
            FloatUn::Sqrt => self.masm.fop(FloatOp::Sqrt, size, dst, Operand::Reg(dst)),
            FloatUn::Round(mode) => self.masm.fround(mode, size, dst, dst),
        }
        self.push_reg(ty, dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tandem_codegen_api::Backend;

    /// Whether the baseline code of `body` (a function of two i32
    /// parameters returning i32), with fuel metering or without, has a
    /// `setcc`, i.e. materialises a comparison.
    fn sets_a_byte_from_flags(body: &str, consume_fuel: bool) -> bool {
        let wasm = wat::parse_str(format!(
            "(module (func (param i32 i32) (result i32) {body}))"
        ))
        .expect("valid text");
        let translation = tandem_environ::translate(&wasm, tandem_environ::default_features())
            .expect("valid module");
        let tunables = tandem_environ::Tunables {
            consume_fuel,
            ..Default::default()
        };
        let backend = crate::BaselineBackend::new().expect("backend");
        let module = backend
            .compile_module(&translation, &tunables)
            .expect("compiles");
        let code = &module.funcs[0].code;
        code.windows(2)
            .any(|w| w[0] == 0x0f && (0x90..=0x9f).contains(&w[1]))
    }

    #[test]
    fn a_negated_comparison_branches_on_the_flags() {
        let cmp = "(i32.lt_s (local.get 0) (local.get 1))";
        for fuel in [false, true] {
            assert!(sets_a_byte_from_flags(&format!("(i32.eqz {cmp})"), fuel));
            assert!(!sets_a_byte_from_flags(
                &format!(
                    "(if (result i32) (i32.eqz {cmp}) (then (i32.const 1)) (else (i32.const 2)))"
                ),
                fuel
            ));
            assert!(!sets_a_byte_from_flags(
                &format!("(block (br_if 0 (i32.eqz (i32.eqz {cmp})))) (i32.const 3)"),
                fuel
            ));
        }
    }
}
