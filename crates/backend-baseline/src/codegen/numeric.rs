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
use tandem_codegen_api::lower::{
    Const, FloatBinOp, FloatCmpOp, FloatTy, FloatUnOp, IntBinOp, IntCmpOp, IntTy, IntUnOp,
    LowerNumeric, lower_operator,
};
use tandem_environ::TrapCode;
use wasmparser::Operator;

/// Folds an integer operator on constants; `None` when it would trap.
fn fold(op: IntBinOp, ty: Ty, a: i64, b: i64) -> Option<i64> {
    if ty == Ty::I32 {
        let (a, b) = (a as i32, b as i32);
        let (ua, ub) = (a as u32, b as u32);
        let r = match op {
            IntBinOp::Add => a.wrapping_add(b),
            IntBinOp::Sub => a.wrapping_sub(b),
            IntBinOp::Mul => a.wrapping_mul(b),
            IntBinOp::And => a & b,
            IntBinOp::Or => a | b,
            IntBinOp::Xor => a ^ b,
            IntBinOp::Shl => a.wrapping_shl(ub),
            IntBinOp::ShrS => a.wrapping_shr(ub),
            IntBinOp::ShrU => ua.wrapping_shr(ub) as i32,
            IntBinOp::Rotl => ua.rotate_left(ub & 31) as i32,
            IntBinOp::Rotr => ua.rotate_right(ub & 31) as i32,
            IntBinOp::DivS => a.checked_div(b)?,
            IntBinOp::DivU => ua.checked_div(ub)? as i32,
            IntBinOp::RemS => {
                if b == 0 {
                    return None;
                }
                a.wrapping_rem(b)
            }
            IntBinOp::RemU => ua.checked_rem(ub)? as i32,
        };
        Some(i64::from(r))
    } else {
        let (ua, ub) = (a as u64, b as u64);
        Some(match op {
            IntBinOp::Add => a.wrapping_add(b),
            IntBinOp::Sub => a.wrapping_sub(b),
            IntBinOp::Mul => a.wrapping_mul(b),
            IntBinOp::And => a & b,
            IntBinOp::Or => a | b,
            IntBinOp::Xor => a ^ b,
            IntBinOp::Shl => a.wrapping_shl(ub as u32),
            IntBinOp::ShrS => a.wrapping_shr(ub as u32),
            IntBinOp::ShrU => ua.wrapping_shr(ub as u32) as i64,
            IntBinOp::Rotl => ua.rotate_left((ub & 63) as u32) as i64,
            IntBinOp::Rotr => ua.rotate_right((ub & 63) as u32) as i64,
            IntBinOp::DivS => a.checked_div(b)?,
            IntBinOp::DivU => ua.checked_div(ub)? as i64,
            IntBinOp::RemS => {
                if b == 0 {
                    return None;
                }
                a.wrapping_rem(b)
            }
            IntBinOp::RemU => ua.checked_rem(ub)? as i64,
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
    fn divide(&mut self, op: IntBinOp, ty: Ty, lhs: Val, rhs: Val) -> Result<(), CompileError> {
        let size = ty.size();
        let signed = matches!(op, IntBinOp::DivS | IntBinOp::RemS);
        let rem = matches!(op, IntBinOp::RemS | IntBinOp::RemU);
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
            Val::Const(-1) if op == IntBinOp::RemS => {
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

    /// `i32.eqz` / `i64.eqz` / `ref.is_null`.
    pub fn eqz(&mut self, ty: Ty) -> Result<(), CompileError> {
        self.prepay_branch();
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
            return lower_operator(self, u64::from(offset), &next);
        }
        self.fused_operator(&next);
        self.offset = offset;
        match (next, flags) {
            (Operator::BrIf { relative_depth }, _) => self.br_if_on(relative_depth, Some(flags)),
            (Operator::If { blockty }, _) => self.if_on(blockty, Some(flags)),
            (_, Flags::Int(c)) => self.select_on(Some(c)),
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
}

impl LowerNumeric for CodeGen<'_, '_> {
    /// `*.const`: constants stay on the value stack until used.
    fn constant(&mut self, value: Const) -> Result<(), CompileError> {
        match value {
            Const::I32(v) => self.push_const(Ty::I32, i64::from(v)),
            Const::I64(v) => self.push_const(Ty::I64, v),
            Const::F32(bits) => self.push_const(Ty::F32, i64::from(bits)),
            Const::F64(bits) => self.push_const(Ty::F64, bits as i64),
        }
        Ok(())
    }

    /// Counting bits, and sign-extending in place.
    fn int_unary(&mut self, op: IntUnOp, ty: IntTy) -> Result<(), CompileError> {
        let ty = Ty::from(ty);
        match op {
            IntUnOp::Clz => self.bit_count(BitCount::Clz, ty),
            IntUnOp::Ctz => self.bit_count(BitCount::Ctz, ty),
            IntUnOp::Popcnt => self.bit_count(BitCount::Popcnt, ty),
            IntUnOp::Extend8S => self.extend_in_place(ty, 8),
            IntUnOp::Extend16S => self.extend_in_place(ty, 16),
            IntUnOp::Extend32S => self.extend_in_place(ty, 32),
        }
    }

    /// Integer binary operators.
    fn int_binary(&mut self, op: IntBinOp, ty: IntTy) -> Result<(), CompileError> {
        let ty = Ty::from(ty);
        let (_, rhs) = self.pop()?;
        let (_, lhs) = self.pop()?;
        if let (Val::Const(a), Val::Const(b)) = (lhs, rhs)
            && let Some(r) = fold(op, ty, a, b)
        {
            self.push_const(ty, r);
            return Ok(());
        }
        let alu = match op {
            IntBinOp::Add => AluOp::Add,
            IntBinOp::Sub => AluOp::Sub,
            IntBinOp::And => AluOp::And,
            IntBinOp::Or => AluOp::Or,
            IntBinOp::Xor => AluOp::Xor,
            IntBinOp::Mul => AluOp::Add,
            IntBinOp::Shl => return self.shift(ShiftOp::Shl, ty, lhs, rhs),
            IntBinOp::ShrS => return self.shift(ShiftOp::Sar, ty, lhs, rhs),
            IntBinOp::ShrU => return self.shift(ShiftOp::Shr, ty, lhs, rhs),
            IntBinOp::Rotl => return self.shift(ShiftOp::Rol, ty, lhs, rhs),
            IntBinOp::Rotr => return self.shift(ShiftOp::Ror, ty, lhs, rhs),
            IntBinOp::DivS | IntBinOp::DivU | IntBinOp::RemS | IntBinOp::RemU => {
                return self.divide(op, ty, lhs, rhs);
            }
        };
        let commutative = !matches!(op, IntBinOp::Sub);
        let (lhs, rhs) = if commutative && !matches!(lhs, Val::Reg(_)) && matches!(rhs, Val::Reg(_))
        {
            (rhs, lhs)
        } else {
            (lhs, rhs)
        };
        let (dest, rhs) = self.binary_dest(ty, lhs, rhs, commutative)?;
        let src = self.int_operand(ty, rhs);
        if op == IntBinOp::Mul {
            self.masm.mul(ty.size(), dest.reg(), src);
        } else {
            self.masm.alu(alu, ty.size(), dest.reg(), src);
        }
        self.free(rhs);
        self.finish_dest(ty, dest);
        Ok(())
    }

    /// `i32.eqz` / `i64.eqz`.
    fn int_eqz(&mut self, ty: IntTy) -> Result<(), CompileError> {
        self.eqz(Ty::from(ty))
    }

    /// Integer comparisons.
    fn int_compare(&mut self, op: IntCmpOp, ty: IntTy) -> Result<(), CompileError> {
        self.prepay_branch();
        let ty = Ty::from(ty);
        let cc = match op {
            IntCmpOp::Eq => Cond::Eq,
            IntCmpOp::Ne => Cond::Ne,
            IntCmpOp::LtS => Cond::Lt,
            IntCmpOp::LtU => Cond::Below,
            IntCmpOp::GtS => Cond::Gt,
            IntCmpOp::GtU => Cond::Above,
            IntCmpOp::LeS => Cond::Le,
            IntCmpOp::LeU => Cond::BelowEq,
            IntCmpOp::GeS => Cond::Ge,
            IntCmpOp::GeU => Cond::AboveEq,
        };
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

    /// Float unary operators.
    fn float_unary(&mut self, op: FloatUnOp, ty: FloatTy) -> Result<(), CompileError> {
        let ty = Ty::from(ty);
        let (_, v) = self.pop()?;
        let size = ty.fsize();
        let s = sign_bit(ty);
        if let Val::Const(c) = v {
            match op {
                FloatUnOp::Abs => {
                    self.push_const(ty, (c as u64 & !s) as i64);
                    return Ok(());
                }
                FloatUnOp::Neg => {
                    self.push_const(ty, (c as u64 ^ s) as i64);
                    return Ok(());
                }
                _ => {}
            }
        }
        let dst = self.owned_reg(ty, v)?;
        match op {
            FloatUnOp::Abs => {
                let mask = if ty == Ty::F32 {
                    u64::from(u32::MAX) & !s
                } else {
                    !s
                };
                self.masm.fconst(size, FSCRATCH, mask);
                self.masm.fbit(FloatBitOp::And, dst, FSCRATCH);
            }
            FloatUnOp::Neg => {
                self.masm.fconst(size, FSCRATCH, s);
                self.masm.fbit(FloatBitOp::Xor, dst, FSCRATCH);
            }
            FloatUnOp::Sqrt => self.masm.fop(FloatOp::Sqrt, size, dst, Operand::Reg(dst)),
            FloatUnOp::Ceil => self.masm.fround(RoundMode::Ceil, size, dst, dst),
            FloatUnOp::Floor => self.masm.fround(RoundMode::Floor, size, dst, dst),
            FloatUnOp::Trunc => self.masm.fround(RoundMode::Trunc, size, dst, dst),
            FloatUnOp::Nearest => self.masm.fround(RoundMode::Nearest, size, dst, dst),
        }
        self.push_reg(ty, dst);
        Ok(())
    }

    /// Float binary operators with Wasm semantics.
    fn float_binary(&mut self, op: FloatBinOp, ty: FloatTy) -> Result<(), CompileError> {
        let ty = Ty::from(ty);
        let (_, rhs) = self.pop()?;
        let (_, lhs) = self.pop()?;
        let size = ty.fsize();
        let simple = match op {
            FloatBinOp::Add => Some(FloatOp::Add),
            FloatBinOp::Sub => Some(FloatOp::Sub),
            FloatBinOp::Mul => Some(FloatOp::Mul),
            FloatBinOp::Div => Some(FloatOp::Div),
            _ => None,
        };
        if let Some(fop) = simple {
            let commutative = matches!(op, FloatBinOp::Add | FloatBinOp::Mul);
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
        if op == FloatBinOp::Copysign {
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
        let (bit, fop) = if op == FloatBinOp::Min {
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

    /// Float comparisons (false on NaN except `ne`).
    fn float_compare(&mut self, cmp: FloatCmpOp, ty: FloatTy) -> Result<(), CompileError> {
        self.prepay_branch();
        let ty = Ty::from(ty);
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
                FloatCmpOp::Eq => a == b,
                FloatCmpOp::Ne => a != b,
                FloatCmpOp::Lt => a < b,
                FloatCmpOp::Gt => a > b,
                FloatCmpOp::Le => a <= b,
                FloatCmpOp::Ge => a >= b,
            };
            self.push_const(Ty::I32, i64::from(r));
            return Ok(());
        }
        let ((x, y), flags) = match cmp {
            FloatCmpOp::Eq => ((lhs, rhs), Flags::FloatEq),
            FloatCmpOp::Ne => ((lhs, rhs), Flags::FloatNe),
            FloatCmpOp::Gt => ((lhs, rhs), Flags::Int(Cond::Above)),
            FloatCmpOp::Ge => ((lhs, rhs), Flags::Int(Cond::AboveEq)),
            FloatCmpOp::Lt => ((rhs, lhs), Flags::Int(Cond::Above)),
            FloatCmpOp::Le => ((rhs, lhs), Flags::Int(Cond::AboveEq)),
        };
        let xr = self.owned_reg(ty, x)?;
        self.float_cmp(ty, xr, y);
        self.regs.free(xr);
        self.free(y);
        self.use_flags(flags)
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
