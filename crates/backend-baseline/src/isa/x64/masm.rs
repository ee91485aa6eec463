//! [`X64Masm`]: the [`MacroAssembler`] for x86-64. It picks instruction
//! forms by operand kind and expands the operations x86 has no single
//! instruction for (bit counts with a zero input, `setcc` to a full
//! register, jump tables), and keeps each function's float constants in a
//! pool after its code, read RIP-relative.

use super::asm::Asm;
use super::regs::{FSCRATCH, Reg, SCRATCH};
use crate::masm::{
    Address, AluOp, BitCount, Cond, Extend, FloatBitOp, FloatOp, FloatSize, MacroAssembler,
    Operand, RoundMode, ShiftOp, Size, StoreSize,
};
use dynasmrt::DynamicLabel;

/// The x86-64 macro assembler.
#[derive(Default)]
pub struct X64Masm {
    /// The encoder.
    pub asm: Asm,
    /// The function's float constants (as 8-byte pool entries, an `f32`'s
    /// bits zero-extended) and their labels; `finish` places them.
    float_pool: Vec<(u64, DynamicLabel)>,
}

/// How many of the newest pool entries are searched for a repeat: keeps the
/// lookup bounded on functions with thousands of distinct constants (a
/// repeat missed this way only costs its 8 bytes again).
const POOL_SEARCH: usize = 32;

impl X64Masm {
    /// The label of the pool entry holding `bits`.
    fn pool_entry(&mut self, bits: u64) -> DynamicLabel {
        let mut newest = self.float_pool.iter().rev().take(POOL_SEARCH);
        if let Some(&(_, label)) = newest.find(|&&(b, _)| b == bits) {
            return label;
        }
        let label = self.asm.new_label();
        self.float_pool.push((bits, label));
        label
    }

    /// Puts the immediate `imm` of a `size` operation in the scratch
    /// register, with the shortest `mov` (flags untouched).
    fn imm_to_scratch(&mut self, size: Size, imm: i32) {
        if size == Size::S32 || imm >= 0 {
            self.asm.mov_ri32(SCRATCH, imm as u32);
        } else {
            self.asm.mov_ri64_s32(SCRATCH, imm);
        }
    }

    /// The 64-bit constant `imm` as an operand: an immediate when it
    /// sign-extends from 32 bits, else loaded into the scratch register.
    pub fn imm64_operand(&mut self, imm: i64) -> Operand {
        match i32::try_from(imm) {
            Ok(i) => Operand::Imm(i),
            Err(_) => {
                self.asm.mov_ri64(SCRATCH, imm);
                Operand::Reg(SCRATCH)
            }
        }
    }
}

fn store_bytes(size: StoreSize) -> u8 {
    match size {
        StoreSize::B8 => 1,
        StoreSize::B16 => 2,
        StoreSize::B32 => 4,
        StoreSize::B64 => 8,
    }
}

impl MacroAssembler for X64Masm {
    type Label = DynamicLabel;

    fn offset(&self) -> u32 {
        self.asm.offset()
    }

    fn new_label(&mut self) -> DynamicLabel {
        self.asm.new_label()
    }

    fn bind(&mut self, label: DynamicLabel) {
        self.asm.bind(label);
    }

    fn mov(&mut self, size: Size, dst: Reg, src: Operand) {
        match src {
            Operand::Reg(s) => {
                if s != dst {
                    self.asm.mov_rr(size, dst, s);
                }
            }
            Operand::Imm(i) => match size {
                Size::S32 => self.asm.mov_ri32(dst, i as u32),
                Size::S64 if i >= 0 => self.asm.mov_ri32(dst, i as u32),
                Size::S64 => self.asm.mov_ri64_s32(dst, i),
            },
            Operand::Mem(a) => self.asm.load(size, dst, a),
        }
    }

    fn mov_imm64(&mut self, dst: Reg, imm: i64) {
        if let Ok(u) = u32::try_from(imm) {
            self.asm.mov_ri32(dst, u);
        } else if let Ok(i) = i32::try_from(imm) {
            self.asm.mov_ri64_s32(dst, i);
        } else {
            self.asm.mov_ri64(dst, imm);
        }
    }

    fn load_extend(&mut self, ext: Extend, size: Size, dst: Reg, addr: Address) {
        match ext {
            Extend::U8 => self.asm.load_u8(dst, addr),
            Extend::S8 => self.asm.load_s8(size, dst, addr),
            Extend::U16 => self.asm.load_u16(dst, addr),
            Extend::S16 => self.asm.load_s16(size, dst, addr),
            Extend::U32 => self.asm.load(Size::S32, dst, addr),
            Extend::S32 => self.asm.load_s32(dst, addr),
        }
    }

    fn store(&mut self, size: StoreSize, addr: Address, src: Operand) {
        let bytes = store_bytes(size);
        match src {
            Operand::Reg(r) => self.asm.store(bytes, addr, r),
            Operand::Imm(i) => self.asm.store_imm(bytes, addr, i),
            Operand::Mem(m) => {
                let ld = if bytes == 8 { Size::S64 } else { Size::S32 };
                self.asm.load(ld, SCRATCH, m);
                self.asm.store(bytes, addr, SCRATCH);
            }
        }
    }

    fn lea(&mut self, dst: Reg, addr: Address) {
        self.asm.lea(dst, addr);
    }

    fn alu(&mut self, op: AluOp, size: Size, dst: Reg, src: Operand) {
        match src {
            Operand::Reg(s) => self.asm.alu_rr(op, size, dst, s),
            Operand::Imm(i) => self.asm.alu_ri(op, size, dst, i),
            Operand::Mem(a) => self.asm.alu_rm(op, size, dst, a),
        }
    }

    fn alu_mem(&mut self, op: AluOp, size: Size, addr: Address, imm: i32) {
        self.asm.alu_mi(op, size, addr, imm);
    }

    fn mul(&mut self, size: Size, dst: Reg, src: Operand) {
        match src {
            Operand::Reg(s) => self.asm.imul_rr(size, dst, s),
            Operand::Imm(i) => self.asm.imul_ri(size, dst, i),
            Operand::Mem(a) => self.asm.imul_rm(size, dst, a),
        }
    }

    fn cmp(&mut self, size: Size, lhs: Operand, rhs: Operand) {
        match (lhs, rhs) {
            (Operand::Reg(a), Operand::Reg(b)) => self.asm.cmp_rr(size, a, b),
            (Operand::Reg(a), Operand::Imm(i)) => self.asm.cmp_ri(size, a, i),
            (Operand::Reg(a), Operand::Mem(m)) => self.asm.cmp_rm(size, a, m),
            (Operand::Mem(m), Operand::Reg(b)) => self.asm.cmp_mr(size, m, b),
            (Operand::Mem(m), Operand::Imm(i)) => self.asm.cmp_mi(size, m, i),
            (Operand::Mem(m), Operand::Mem(n)) => {
                self.asm.load(size, SCRATCH, m);
                self.asm.cmp_rm(size, SCRATCH, n);
            }
            (Operand::Imm(i), rhs) => {
                self.imm_to_scratch(size, i);
                self.cmp(size, Operand::Reg(SCRATCH), rhs);
            }
        }
    }

    fn test(&mut self, size: Size, a: Reg, b: Reg) {
        self.asm.test_rr(size, a, b);
    }

    fn shift(&mut self, op: ShiftOp, size: Size, dst: Reg, amount: Option<u8>) {
        self.asm.shift(op, size, dst, amount);
    }

    fn div(&mut self, signed: bool, size: Size, divisor: Operand) -> u32 {
        let divisor = match divisor {
            Operand::Imm(i) => {
                self.imm_to_scratch(size, i);
                Operand::Reg(SCRATCH)
            }
            other => other,
        };
        if signed {
            self.asm.sign_extend_rax(size);
        } else {
            // The divide clobbers the flags anyway, so nothing reads them
            // across this sequence.
            self.asm.zero_clobbering_flags(super::regs::RDX);
        }
        let at = self.asm.offset();
        match divisor {
            Operand::Mem(a) => self.asm.div_m(signed, size, a),
            Operand::Reg(r) => self.asm.div_r(signed, size, r),
            Operand::Imm(_) => self.asm.div_r(signed, size, SCRATCH),
        }
        at
    }

    fn neg(&mut self, size: Size, dst: Reg) {
        self.asm.neg(size, dst);
    }

    fn extend(&mut self, ext: Extend, size: Size, dst: Reg, src: Reg) {
        let (signed, bits) = match ext {
            Extend::U8 => (false, 8),
            Extend::S8 => (true, 8),
            Extend::U16 => (false, 16),
            Extend::S16 => (true, 16),
            Extend::U32 => (false, 32),
            Extend::S32 => (true, 32),
        };
        self.asm.extend_rr(signed, bits, size, dst, src);
    }

    fn bit_count(&mut self, op: BitCount, size: Size, dst: Reg, src: Reg) {
        let bits: i32 = if size == Size::S32 { 32 } else { 64 };
        match op {
            BitCount::Clz => {
                // bsr gives the index of the highest set bit; for a zero
                // input pick 2*bits-1 so that `^ (bits-1)` yields `bits`.
                self.asm.mov_ri32(SCRATCH, (2 * bits - 1) as u32);
                self.asm.bit_scan(0, size, dst, src);
                self.asm.cmov_rr(Cond::Eq, size, dst, SCRATCH);
                self.asm.alu_ri(AluOp::Xor, size, dst, bits - 1);
            }
            BitCount::Ctz => {
                self.asm.mov_ri32(SCRATCH, bits as u32);
                self.asm.bit_scan(1, size, dst, src);
                self.asm.cmov_rr(Cond::Eq, size, dst, SCRATCH);
            }
            BitCount::Popcnt => self.asm.bit_scan(2, size, dst, src),
        }
    }

    fn setcc(&mut self, cond: Cond, dst: Reg) {
        self.asm.setcc(cond, dst);
        self.asm.extend_rr(false, 8, Size::S32, dst, dst);
    }

    fn cmov(&mut self, cond: Cond, size: Size, dst: Reg, src: Operand) {
        let src = match src {
            Operand::Reg(r) => r,
            Operand::Imm(i) => {
                self.imm_to_scratch(size, i);
                SCRATCH
            }
            Operand::Mem(a) => {
                self.asm.load(size, SCRATCH, a);
                SCRATCH
            }
        };
        self.asm.cmov_rr(cond, size, dst, src);
    }

    fn btc(&mut self, dst: Reg, bit: u8) {
        self.asm.btc(dst, bit);
    }

    fn jmp(&mut self, label: DynamicLabel) {
        self.asm.jmp(label);
    }

    fn jcc(&mut self, cond: Cond, label: DynamicLabel) {
        self.asm.jcc(cond, label);
    }

    fn jmp_table(&mut self, index: Reg, table: DynamicLabel) {
        // Entries are 5-byte `jmp rel32`s.
        self.asm.lea(index, Address::indexed(index, index, 4, 0));
        self.asm.lea_label(SCRATCH, table);
        self.asm.alu_rr(AluOp::Add, Size::S64, SCRATCH, index);
        self.asm.jmp_r(SCRATCH);
    }

    fn ud2(&mut self) -> u32 {
        let at = self.asm.offset();
        self.asm.ud2();
        at
    }

    fn fmov(&mut self, dst: Reg, src: Reg) {
        if dst != src {
            self.asm.movaps(dst, src);
        }
    }

    fn fload(&mut self, size: FloatSize, dst: Reg, addr: Address) {
        self.asm.fload(size, dst, addr);
    }

    fn fstore(&mut self, size: FloatSize, addr: Address, src: Reg) {
        self.asm.fstore(size, addr, src);
    }

    fn fconst(&mut self, size: FloatSize, dst: Reg, bits: u64) {
        if bits == 0 {
            self.asm.fbit(FloatBitOp::Xor, dst, dst);
            return;
        }
        let entry = self.pool_entry(bits);
        self.asm.fload_label(size, dst, entry);
    }

    fn fop_const(&mut self, op: FloatOp, size: FloatSize, dst: Reg, bits: u64) {
        let entry = self.pool_entry(bits);
        self.asm.fop_label(op, size, dst, entry);
    }

    fn fcmp_const(&mut self, size: FloatSize, lhs: Reg, bits: u64) {
        let entry = self.pool_entry(bits);
        self.asm.ucomi_label(size, lhs, entry);
    }

    fn fop(&mut self, op: FloatOp, size: FloatSize, dst: Reg, src: Operand) {
        match src {
            Operand::Reg(r) => self.asm.fop_rr(op, size, dst, r),
            Operand::Mem(a) => self.asm.fop_rm(op, size, dst, a),
            Operand::Imm(i) => {
                self.fconst(size, FSCRATCH, i as u32 as u64);
                self.asm.fop_rr(op, size, dst, FSCRATCH);
            }
        }
    }

    fn fbit(&mut self, op: FloatBitOp, dst: Reg, src: Reg) {
        self.asm.fbit(op, dst, src);
    }

    fn fround(&mut self, mode: RoundMode, size: FloatSize, dst: Reg, src: Reg) {
        self.asm.fround(mode as u8, size, dst, src);
    }

    fn fcmp(&mut self, size: FloatSize, lhs: Reg, rhs: Operand) {
        match rhs {
            Operand::Reg(r) => self.asm.ucomi_rr(size, lhs, r),
            Operand::Mem(a) => self.asm.ucomi_rm(size, lhs, a),
            Operand::Imm(i) => {
                self.fconst(size, FSCRATCH, i as u32 as u64);
                self.asm.ucomi_rr(size, lhs, FSCRATCH);
            }
        }
    }

    fn fmov_from_gpr(&mut self, size: FloatSize, dst: Reg, src: Reg) {
        self.asm.movd_to_xmm(size, dst, src);
    }

    fn fmov_to_gpr(&mut self, size: FloatSize, dst: Reg, src: Reg) {
        self.asm.movd_from_xmm(size, dst, src);
    }

    fn cvt_int_to_float(&mut self, int: Size, size: FloatSize, dst: Reg, src: Reg) {
        // Break the dependency on dst's old upper lanes.
        self.asm.fbit(FloatBitOp::Xor, dst, dst);
        self.asm.cvtsi2f(int, size, dst, src);
    }

    fn cvt_float_to_int(&mut self, size: FloatSize, int: Size, dst: Reg, src: Reg) {
        self.asm.cvttf2si(size, int, dst, src);
    }

    fn cvt_float(&mut self, to: FloatSize, dst: Reg, src: Reg) {
        self.asm.cvtf2f(to, dst, src);
    }

    fn push(&mut self, reg: Reg) {
        self.asm.push(reg);
    }

    fn pop(&mut self, reg: Reg) {
        self.asm.pop(reg);
    }

    fn ret(&mut self, pop: u16) {
        self.asm.ret(pop);
    }

    fn call_rel32(&mut self) -> u32 {
        self.asm.bytes(&[0xe8, 0, 0, 0, 0]);
        self.asm.offset() - 4
    }

    fn call_reg(&mut self, reg: Reg) {
        self.asm.call_r(reg);
    }

    fn jmp_rel32(&mut self) -> u32 {
        self.asm.bytes(&[0xe9, 0, 0, 0, 0]);
        self.asm.offset() - 4
    }

    fn jmp_reg(&mut self, reg: Reg) {
        self.asm.jmp_r(reg);
    }

    fn call_mem(&mut self, addr: Address) {
        self.asm.call_m(addr);
    }

    fn sub_rsp_patchable(&mut self) -> u32 {
        // sub rsp, imm32
        self.asm.bytes(&[0x48, 0x81, 0xec, 0, 0, 0, 0]);
        self.asm.offset() - 4
    }

    fn lea_below_rsp_patchable(&mut self, dst: Reg) -> u32 {
        // lea dst, [rsp + disp32]; the caller patches in the negated amount.
        let d = dst.hw();
        self.asm.bytes(&[
            0x48 | (d >> 3) << 2,
            0x8d,
            0x84 | (d & 7) << 3,
            0x24,
            0,
            0,
            0,
            0,
        ]);
        self.asm.offset() - 4
    }

    fn finish(&mut self, code: &mut Vec<u8>) -> Result<(), String> {
        if !self.float_pool.is_empty() {
            self.asm.align(8);
            for (bits, label) in self.float_pool.drain(..) {
                self.asm.bind(label);
                self.asm.bytes(&bits.to_le_bytes());
            }
        }
        self.asm.take_code(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disp_at(code: &[u8], end: usize) -> usize {
        let disp = i32::from_le_bytes(code[end - 4..end].try_into().unwrap());
        (end as i64 + i64::from(disp)) as usize
    }

    #[test]
    fn float_constants_share_aligned_pool_entries_after_the_code() {
        let mut masm = X64Masm::default();
        let (x0, x1, x2, x3) = (Reg::xmm(0), Reg::xmm(1), Reg::xmm(2), Reg::xmm(3));
        masm.fconst(FloatSize::F64, x0, 1.5f64.to_bits()); // movsd: 8 bytes
        masm.fop_const(FloatOp::Add, FloatSize::F64, x1, 1.5f64.to_bits()); // 8
        masm.fconst(FloatSize::F32, x2, u64::from(2.0f32.to_bits())); // 8
        masm.fconst(FloatSize::F64, x3, 0); // xorps: 3, no entry
        let mut code = Vec::new();
        masm.finish(&mut code).unwrap();
        assert_eq!(
            code.len(),
            48,
            "27 bytes of code, padding to 32, two entries"
        );
        assert!(code[27..32].iter().all(|&b| b == 0xcc), "int3 padding");
        assert_eq!(code[32..40], 1.5f64.to_bits().to_le_bytes());
        assert_eq!(code[40..48], u64::from(2.0f32.to_bits()).to_le_bytes());
        assert_eq!(
            [disp_at(&code, 8), disp_at(&code, 16), disp_at(&code, 24)],
            [32, 32, 40]
        );

        // The next function starts with an empty pool.
        masm.fconst(FloatSize::F64, x0, 1.5f64.to_bits());
        code.clear();
        masm.finish(&mut code).unwrap();
        assert_eq!(code.len(), 16);
        assert_eq!(disp_at(&code, 8), 8);
    }
}
