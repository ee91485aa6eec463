//! The x86-64 instruction encoder: one method per instruction form, on
//! `dynasmrt`'s [`VecAssembler`], which holds the code, the dynamic labels
//! and the relocations of every label reference.
//!
//! `dynasm!` with run-time registers encodes conservatively (a REX prefix
//! on every instruction, a SIB byte on every memory operand), so the bytes
//! of the instructions with a register or memory operand are produced by
//! hand ([`enc`]) in their shortest encoding (REX and SIB only when needed,
//! 8-bit displacements and immediates when they fit, the accumulator,
//! `op+r` and shift-by-one short forms) and appended to the assembler in
//! one piece. `dynasm!` still emits what it already encodes minimally:
//! label definitions, the label references `jmp label` and
//! `lea r, [rip + label]`, the operand-less `cdq`/`cqo`/`ret`/`ud2`, and
//! the 64-bit-only `mov r64, simm32`, `movabs` and `btc` (their REX.W is
//! needed anyway). `jcc`, whose condition `dynasm!` cannot take at run
//! time, is two hand-written bytes and a `rel32` field patched by a
//! `dynasmrt` relocation.
//!
//! None of the moves, loads or constant loads here change the flags (the
//! code generator relies on it; see `codegen`'s module docs).

// `dynasm!` converts dynamic register numbers with `.into()`.
#![allow(clippy::useless_conversion)]

mod enc;
#[cfg(test)]
mod tests;

use crate::masm::{Address, AluOp, Cond, FloatBitOp, FloatOp, FloatSize, ShiftOp, Size};
use dynasmrt::relocations::{Relocation, RelocationKind, RelocationSize};
use dynasmrt::x64::X64Relocation;
use dynasmrt::{DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler, dynasm};
use enc::{BYTE_REG, BYTE_RM, Inst, NP, W, op1, op2, op3};

use super::regs::Reg;

/// The encoder. Reused between functions: [`Asm::take_code`] empties it
/// and keeps its allocations.
pub struct Asm {
    /// The assembler: code buffer, labels and relocations.
    pub ops: VecAssembler<X64Relocation>,
}

impl Default for Asm {
    fn default() -> Self {
        Asm {
            ops: VecAssembler::new(0),
        }
    }
}

/// A rel32 relocation to a dynamic label, for hand-encoded jumps.
fn rel32() -> X64Relocation {
    X64Relocation::from_size(RelocationKind::Relative, RelocationSize::DWord)
}

/// The REX.W flag for `size`.
fn w(size: Size) -> u8 {
    match size {
        Size::S32 => 0,
        Size::S64 => W,
    }
}

/// The opcode-extension digit (`/n`) of an ALU operation in the `80`-`83`
/// group, and the base of its `00`-`3D` row.
fn alu_digit(op: AluOp) -> u8 {
    match op {
        AluOp::Add => 0,
        AluOp::Or => 1,
        AluOp::And => 4,
        AluOp::Sub => 5,
        AluOp::Xor => 6,
    }
}

/// `cmp`'s digit in the ALU group.
const CMP: u8 = 7;

/// The mandatory prefix of a scalar float instruction (`F3` for `ss`, `F2`
/// for `sd`).
fn scalar_prefix(size: FloatSize) -> u8 {
    match size {
        FloatSize::F32 => 0xf3,
        FloatSize::F64 => 0xf2,
    }
}

/// The second opcode byte (after `0F`) of a scalar float operation.
fn float_opcode(op: FloatOp) -> u8 {
    match op {
        FloatOp::Sqrt => 0x51,
        FloatOp::Add => 0x58,
        FloatOp::Mul => 0x59,
        FloatOp::Sub => 0x5c,
        FloatOp::Min => 0x5d,
        FloatOp::Div => 0x5e,
        FloatOp::Max => 0x5f,
    }
}

impl Asm {
    /// Current offset.
    pub fn offset(&self) -> u32 {
        self.ops.offset().0 as u32
    }

    /// A fresh label.
    pub fn new_label(&mut self) -> DynamicLabel {
        self.ops.new_dynamic_label()
    }

    /// Binds `l` here.
    pub fn bind(&mut self, l: DynamicLabel) {
        dynasm!(self.ops ; .arch x64 ; =>l);
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.ops.extend(b);
    }

    /// Appends one hand-assembled instruction.
    #[inline(always)]
    fn emit(&mut self, i: &Inst) {
        i.append_to(&mut self.ops);
    }

    /// Appends a RIP-relative instruction and the `dynasmrt` relocation
    /// that points its displacement at `l`.
    fn emit_rip(&mut self, i: &Inst, l: DynamicLabel) {
        self.emit(i);
        self.ops.dynamic_relocation(l, 0, 4, 0, rel32());
    }

    /// Pads with `int3` until the offset is a multiple of `align` (a power
    /// of two).
    pub fn align(&mut self, align: u32) {
        debug_assert!(align.is_power_of_two());
        while self.offset() & (align - 1) != 0 {
            self.bytes(&[0xcc]);
        }
    }

    /// Resolves labels and moves the code into `out`, leaving the encoder
    /// empty with its allocations (or, after a label error, empty and new).
    pub fn take_code(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        let error = match self.ops.drain() {
            Ok(code) => {
                out.extend(code);
                return Ok(());
            }
            Err(e) => e.to_string(),
        };
        *self = Asm::default();
        Err(error)
    }

    // ---- integer moves ----

    /// `mov dst, src` (registers).
    pub fn mov_rr(&mut self, size: Size, dst: Reg, src: Reg) {
        self.emit(&Inst::rr(NP, w(size), op1(0x89), src.hw(), dst.hw()));
    }

    /// `mov r32, imm32` (zero-extends).
    pub fn mov_ri32(&mut self, dst: Reg, imm: u32) {
        let mut i = Inst::op_reg(0, 0xb8, dst.hw());
        i.imm32(imm as i32);
        self.emit(&i);
    }

    /// `mov r64, simm32`.
    pub fn mov_ri64_s32(&mut self, dst: Reg, imm: i32) {
        let d = dst.hw();
        dynasm!(self.ops ; .arch x64 ; mov Rq(d), DWORD imm);
    }

    /// `movabs r64, imm64`.
    pub fn mov_ri64(&mut self, dst: Reg, imm: i64) {
        let d = dst.hw();
        dynasm!(self.ops ; .arch x64 ; mov Rq(d), QWORD imm);
    }

    /// Load of 4 (zero-extending) or 8 bytes.
    pub fn load(&mut self, size: Size, dst: Reg, a: Address) {
        self.emit(&Inst::rm(NP, w(size), op1(0x8b), dst.hw(), a));
    }

    /// `movzx r32, byte [a]`.
    pub fn load_u8(&mut self, dst: Reg, a: Address) {
        self.emit(&Inst::rm(NP, 0, op2(0x0f, 0xb6), dst.hw(), a));
    }

    /// `movzx r32, word [a]`.
    pub fn load_u16(&mut self, dst: Reg, a: Address) {
        self.emit(&Inst::rm(NP, 0, op2(0x0f, 0xb7), dst.hw(), a));
    }

    /// `movsx r, byte [a]`.
    pub fn load_s8(&mut self, size: Size, dst: Reg, a: Address) {
        self.emit(&Inst::rm(NP, w(size), op2(0x0f, 0xbe), dst.hw(), a));
    }

    /// `movsx r, word [a]`.
    pub fn load_s16(&mut self, size: Size, dst: Reg, a: Address) {
        self.emit(&Inst::rm(NP, w(size), op2(0x0f, 0xbf), dst.hw(), a));
    }

    /// `movsxd r64, dword [a]`.
    pub fn load_s32(&mut self, dst: Reg, a: Address) {
        self.emit(&Inst::rm(NP, W, op1(0x63), dst.hw(), a));
    }

    /// Store of the low 1/2/4/8 bytes of `src`.
    pub fn store(&mut self, bytes: u8, a: Address, src: Reg) {
        let s = src.hw();
        let i = match bytes {
            1 => Inst::rm(NP, BYTE_REG, op1(0x88), s, a),
            2 => Inst::rm(0x66, 0, op1(0x89), s, a),
            4 => Inst::rm(NP, 0, op1(0x89), s, a),
            _ => Inst::rm(NP, W, op1(0x89), s, a),
        };
        self.emit(&i);
    }

    /// Store of an immediate (sign-extended to 8 bytes for `bytes == 8`).
    pub fn store_imm(&mut self, bytes: u8, a: Address, imm: i32) {
        let i = match bytes {
            1 => *Inst::rm(NP, 0, op1(0xc6), 0, a).imm8(imm as i8),
            2 => *Inst::rm(0x66, 0, op1(0xc7), 0, a).imm16(imm as i16),
            4 => *Inst::rm(NP, 0, op1(0xc7), 0, a).imm32(imm),
            _ => *Inst::rm(NP, W, op1(0xc7), 0, a).imm32(imm),
        };
        self.emit(&i);
    }

    /// `lea dst, [a]`.
    pub fn lea(&mut self, dst: Reg, a: Address) {
        self.emit(&Inst::rm(NP, W, op1(0x8d), dst.hw(), a));
    }

    /// `movsx`/`movzx`/`movsxd` between registers.
    pub fn extend_rr(&mut self, signed: bool, from_bits: u8, size: Size, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        let i = match (signed, from_bits) {
            (false, 8) => Inst::rr(NP, BYTE_RM, op2(0x0f, 0xb6), d, s),
            (false, 16) => Inst::rr(NP, 0, op2(0x0f, 0xb7), d, s),
            (false, _) => Inst::rr(NP, 0, op1(0x89), s, d),
            (true, 8) => Inst::rr(NP, w(size) | BYTE_RM, op2(0x0f, 0xbe), d, s),
            (true, 16) => Inst::rr(NP, w(size), op2(0x0f, 0xbf), d, s),
            (true, _) => Inst::rr(NP, W, op1(0x63), d, s),
        };
        self.emit(&i);
    }

    // ---- integer arithmetic ----

    /// `op dst, src` (registers).
    pub fn alu_rr(&mut self, op: AluOp, size: Size, dst: Reg, src: Reg) {
        let opc = alu_digit(op) << 3 | 1;
        self.emit(&Inst::rr(NP, w(size), op1(opc), src.hw(), dst.hw()));
    }

    /// `op r, imm` for the ALU group digit `digit` (including `cmp`).
    fn group1_ri(&mut self, digit: u8, size: Size, dst: Reg, imm: i32) {
        let d = dst.hw();
        let i = if let Ok(i8) = i8::try_from(imm) {
            *Inst::rr(NP, w(size), op1(0x83), digit, d).imm8(i8)
        } else if d == 0 {
            // The accumulator form, one byte shorter.
            *Inst::op_reg(w(size), digit << 3 | 5, 0).imm32(imm)
        } else {
            *Inst::rr(NP, w(size), op1(0x81), digit, d).imm32(imm)
        };
        self.emit(&i);
    }

    /// `op [a], imm` for the ALU group digit `digit` (including `cmp`).
    fn group1_mi(&mut self, digit: u8, size: Size, a: Address, imm: i32) {
        let i = match i8::try_from(imm) {
            Ok(i8) => *Inst::rm(NP, w(size), op1(0x83), digit, a).imm8(i8),
            Err(_) => *Inst::rm(NP, w(size), op1(0x81), digit, a).imm32(imm),
        };
        self.emit(&i);
    }

    /// `op dst, imm`.
    pub fn alu_ri(&mut self, op: AluOp, size: Size, dst: Reg, imm: i32) {
        self.group1_ri(alu_digit(op), size, dst, imm);
    }

    /// `op dst, [a]`.
    pub fn alu_rm(&mut self, op: AluOp, size: Size, dst: Reg, a: Address) {
        let opc = alu_digit(op) << 3 | 3;
        self.emit(&Inst::rm(NP, w(size), op1(opc), dst.hw(), a));
    }

    /// `op [a], imm` (sets the flags like the register form).
    pub fn alu_mi(&mut self, op: AluOp, size: Size, a: Address, imm: i32) {
        self.group1_mi(alu_digit(op), size, a, imm);
    }

    /// `cmp r, r`.
    pub fn cmp_rr(&mut self, size: Size, a: Reg, b: Reg) {
        self.emit(&Inst::rr(NP, w(size), op1(0x39), b.hw(), a.hw()));
    }

    /// `cmp r, imm`.
    pub fn cmp_ri(&mut self, size: Size, a: Reg, imm: i32) {
        self.group1_ri(CMP, size, a, imm);
    }

    /// `cmp r, [a]`.
    pub fn cmp_rm(&mut self, size: Size, r: Reg, a: Address) {
        self.emit(&Inst::rm(NP, w(size), op1(0x3b), r.hw(), a));
    }

    /// `cmp [a], r`.
    pub fn cmp_mr(&mut self, size: Size, a: Address, r: Reg) {
        self.emit(&Inst::rm(NP, w(size), op1(0x39), r.hw(), a));
    }

    /// `cmp [a], imm`.
    pub fn cmp_mi(&mut self, size: Size, a: Address, imm: i32) {
        self.group1_mi(CMP, size, a, imm);
    }

    /// `test a, b`.
    pub fn test_rr(&mut self, size: Size, a: Reg, b: Reg) {
        self.emit(&Inst::rr(NP, w(size), op1(0x85), b.hw(), a.hw()));
    }

    /// `imul dst, src`.
    pub fn imul_rr(&mut self, size: Size, dst: Reg, src: Reg) {
        self.emit(&Inst::rr(NP, w(size), op2(0x0f, 0xaf), dst.hw(), src.hw()));
    }

    /// `imul dst, [a]`.
    pub fn imul_rm(&mut self, size: Size, dst: Reg, a: Address) {
        self.emit(&Inst::rm(NP, w(size), op2(0x0f, 0xaf), dst.hw(), a));
    }

    /// `imul dst, dst, imm`.
    pub fn imul_ri(&mut self, size: Size, dst: Reg, imm: i32) {
        let d = dst.hw();
        let i = match i8::try_from(imm) {
            Ok(i8) => *Inst::rr(NP, w(size), op1(0x6b), d, d).imm8(i8),
            Err(_) => *Inst::rr(NP, w(size), op1(0x69), d, d).imm32(imm),
        };
        self.emit(&i);
    }

    /// Shift or rotate by `cl` (`None`) or an immediate (masked to the
    /// operand width, as the CPU would).
    pub fn shift(&mut self, op: ShiftOp, size: Size, dst: Reg, amount: Option<u8>) {
        let digit = match op {
            ShiftOp::Rol => 0,
            ShiftOp::Ror => 1,
            ShiftOp::Shl => 4,
            ShiftOp::Shr => 5,
            ShiftOp::Sar => 7,
        };
        let d = dst.hw();
        let mask = match size {
            Size::S32 => 31,
            Size::S64 => 63,
        };
        let i = match amount.map(|n| n & mask) {
            None => Inst::rr(NP, w(size), op1(0xd3), digit, d),
            // The by-one form behaves exactly like an immediate 1.
            Some(1) => Inst::rr(NP, w(size), op1(0xd1), digit, d),
            Some(n) => *Inst::rr(NP, w(size), op1(0xc1), digit, d).imm8(n as i8),
        };
        self.emit(&i);
    }

    /// `cdq` / `cqo`.
    pub fn sign_extend_rax(&mut self, size: Size) {
        match size {
            Size::S32 => dynasm!(self.ops ; .arch x64 ; cdq),
            Size::S64 => dynasm!(self.ops ; .arch x64 ; cqo),
        }
    }

    /// `xor r32, r32`: zeroes `dst` and CLOBBERS THE FLAGS, so only for
    /// places where they are dead.
    pub fn zero_clobbering_flags(&mut self, dst: Reg) {
        let d = dst.hw();
        self.emit(&Inst::rr(NP, 0, op1(0x31), d, d));
    }

    /// `div`/`idiv` by a register.
    pub fn div_r(&mut self, signed: bool, size: Size, r: Reg) {
        let digit = if signed { 7 } else { 6 };
        self.emit(&Inst::rr(NP, w(size), op1(0xf7), digit, r.hw()));
    }

    /// `div`/`idiv` by memory.
    pub fn div_m(&mut self, signed: bool, size: Size, a: Address) {
        let digit = if signed { 7 } else { 6 };
        self.emit(&Inst::rm(NP, w(size), op1(0xf7), digit, a));
    }

    /// `neg dst`.
    pub fn neg(&mut self, size: Size, dst: Reg) {
        self.emit(&Inst::rr(NP, w(size), op1(0xf7), 3, dst.hw()));
    }

    /// `bsr` (`which == 0`), `bsf` (1) or `popcnt` (2).
    pub fn bit_scan(&mut self, which: u8, size: Size, dst: Reg, src: Reg) {
        let (prefix, opc) = match which {
            0 => (NP, 0xbd),
            1 => (NP, 0xbc),
            _ => (0xf3, 0xb8),
        };
        self.emit(&Inst::rr(
            prefix,
            w(size),
            op2(0x0f, opc),
            dst.hw(),
            src.hw(),
        ));
    }

    /// `btc dst, bit` (64-bit).
    pub fn btc(&mut self, dst: Reg, bit: u8) {
        let d = dst.hw();
        let b = bit as i8;
        dynasm!(self.ops ; .arch x64 ; btc Rq(d), BYTE b);
    }

    /// `setcc dst8`.
    pub fn setcc(&mut self, cond: Cond, dst: Reg) {
        self.emit(&Inst::rr(
            NP,
            BYTE_RM,
            op2(0x0f, 0x90 | cond as u8),
            0,
            dst.hw(),
        ));
    }

    /// `cmovcc dst, src`.
    pub fn cmov_rr(&mut self, cond: Cond, size: Size, dst: Reg, src: Reg) {
        let opc = op2(0x0f, 0x40 | cond as u8);
        self.emit(&Inst::rr(NP, w(size), opc, dst.hw(), src.hw()));
    }

    // ---- control flow ----

    /// `jmp rel32` to `l`.
    pub fn jmp(&mut self, l: DynamicLabel) {
        dynasm!(self.ops ; .arch x64 ; jmp =>l);
    }

    /// `jcc rel32` to `l` (hand-encoded: `dynasm!` takes no run-time
    /// condition), with a `dynasmrt` relocation.
    pub fn jcc(&mut self, cond: Cond, l: DynamicLabel) {
        self.bytes(&[0x0f, 0x80 | cond as u8, 0, 0, 0, 0]);
        self.ops.dynamic_relocation(l, 0, 4, 0, rel32());
    }

    /// `lea dst, [rip + label]`.
    pub fn lea_label(&mut self, dst: Reg, l: DynamicLabel) {
        let d = dst.hw();
        dynasm!(self.ops ; .arch x64 ; lea Rq(d), [=>l]);
    }

    /// `jmp reg`.
    pub fn jmp_r(&mut self, r: Reg) {
        self.emit(&Inst::rr(NP, 0, op1(0xff), 4, r.hw()));
    }

    /// `call reg`.
    pub fn call_r(&mut self, r: Reg) {
        self.emit(&Inst::rr(NP, 0, op1(0xff), 2, r.hw()));
    }

    /// `call [a]`.
    pub fn call_m(&mut self, a: Address) {
        self.emit(&Inst::rm(NP, 0, op1(0xff), 2, a));
    }

    /// `push r`.
    pub fn push(&mut self, r: Reg) {
        self.emit(&Inst::op_reg(0, 0x50, r.hw()));
    }

    /// `pop r`.
    pub fn pop(&mut self, r: Reg) {
        self.emit(&Inst::op_reg(0, 0x58, r.hw()));
    }

    /// `ret` / `ret n`.
    pub fn ret(&mut self, n: u16) {
        if n == 0 {
            dynasm!(self.ops ; .arch x64 ; ret);
        } else {
            let n = n as i16;
            dynasm!(self.ops ; .arch x64 ; ret WORD n);
        }
    }

    /// `ud2`.
    pub fn ud2(&mut self) {
        dynasm!(self.ops ; .arch x64 ; ud2);
    }

    // ---- SSE ----

    /// `movaps dst, src`.
    pub fn movaps(&mut self, dst: Reg, src: Reg) {
        self.emit(&Inst::rr(NP, 0, op2(0x0f, 0x28), dst.hw(), src.hw()));
    }

    /// `movss`/`movsd` load.
    pub fn fload(&mut self, size: FloatSize, dst: Reg, a: Address) {
        let p = scalar_prefix(size);
        self.emit(&Inst::rm(p, 0, op2(0x0f, 0x10), dst.hw(), a));
    }

    /// `movss`/`movsd dst, [rip + l]`.
    pub fn fload_label(&mut self, size: FloatSize, dst: Reg, l: DynamicLabel) {
        let p = scalar_prefix(size);
        self.emit_rip(&Inst::rip(p, 0, op2(0x0f, 0x10), dst.hw()), l);
    }

    /// `movss`/`movsd` store.
    pub fn fstore(&mut self, size: FloatSize, a: Address, src: Reg) {
        let p = scalar_prefix(size);
        self.emit(&Inst::rm(p, 0, op2(0x0f, 0x11), src.hw(), a));
    }

    /// `movd`/`movq xmm, gpr`.
    pub fn movd_to_xmm(&mut self, size: FloatSize, dst: Reg, src: Reg) {
        let flags = if size == FloatSize::F64 { W } else { 0 };
        self.emit(&Inst::rr(0x66, flags, op2(0x0f, 0x6e), dst.hw(), src.hw()));
    }

    /// `movd`/`movq gpr, xmm`.
    pub fn movd_from_xmm(&mut self, size: FloatSize, dst: Reg, src: Reg) {
        let flags = if size == FloatSize::F64 { W } else { 0 };
        self.emit(&Inst::rr(0x66, flags, op2(0x0f, 0x7e), src.hw(), dst.hw()));
    }

    /// Scalar arithmetic between registers.
    pub fn fop_rr(&mut self, op: FloatOp, size: FloatSize, dst: Reg, src: Reg) {
        let opc = op2(0x0f, float_opcode(op));
        self.emit(&Inst::rr(scalar_prefix(size), 0, opc, dst.hw(), src.hw()));
    }

    /// Scalar arithmetic with a memory operand.
    pub fn fop_rm(&mut self, op: FloatOp, size: FloatSize, dst: Reg, a: Address) {
        let opc = op2(0x0f, float_opcode(op));
        self.emit(&Inst::rm(scalar_prefix(size), 0, opc, dst.hw(), a));
    }

    /// Scalar arithmetic with `[rip + l]`.
    pub fn fop_label(&mut self, op: FloatOp, size: FloatSize, dst: Reg, l: DynamicLabel) {
        let opc = op2(0x0f, float_opcode(op));
        self.emit_rip(&Inst::rip(scalar_prefix(size), 0, opc, dst.hw()), l);
    }

    /// Packed bitwise operations.
    pub fn fbit(&mut self, op: FloatBitOp, dst: Reg, src: Reg) {
        let opc = match op {
            FloatBitOp::And => 0x54,
            FloatBitOp::AndNot => 0x55,
            FloatBitOp::Or => 0x56,
            FloatBitOp::Xor => 0x57,
        };
        self.emit(&Inst::rr(NP, 0, op2(0x0f, opc), dst.hw(), src.hw()));
    }

    /// `roundss`/`roundsd` with rounding `mode` (the precision exception
    /// is suppressed).
    pub fn fround(&mut self, mode: u8, size: FloatSize, dst: Reg, src: Reg) {
        let opc = match size {
            FloatSize::F32 => 0x0a,
            FloatSize::F64 => 0x0b,
        };
        let i = *Inst::rr(0x66, 0, op3(0x0f, 0x3a, opc), dst.hw(), src.hw()).imm8((mode | 8) as i8);
        self.emit(&i);
    }

    /// The prefix of `ucomiss` (none) or `ucomisd` (`66`).
    fn ucomi_prefix(size: FloatSize) -> u8 {
        match size {
            FloatSize::F32 => NP,
            FloatSize::F64 => 0x66,
        }
    }

    /// `ucomiss`/`ucomisd` between registers.
    pub fn ucomi_rr(&mut self, size: FloatSize, a: Reg, b: Reg) {
        let p = Self::ucomi_prefix(size);
        self.emit(&Inst::rr(p, 0, op2(0x0f, 0x2e), a.hw(), b.hw()));
    }

    /// `ucomiss`/`ucomisd` with memory.
    pub fn ucomi_rm(&mut self, size: FloatSize, r: Reg, a: Address) {
        let p = Self::ucomi_prefix(size);
        self.emit(&Inst::rm(p, 0, op2(0x0f, 0x2e), r.hw(), a));
    }

    /// `ucomiss`/`ucomisd` with `[rip + l]`.
    pub fn ucomi_label(&mut self, size: FloatSize, r: Reg, l: DynamicLabel) {
        let p = Self::ucomi_prefix(size);
        self.emit_rip(&Inst::rip(p, 0, op2(0x0f, 0x2e), r.hw()), l);
    }

    /// `cvtsi2ss`/`cvtsi2sd` from a 32- or 64-bit register.
    pub fn cvtsi2f(&mut self, int: Size, size: FloatSize, dst: Reg, src: Reg) {
        let p = scalar_prefix(size);
        self.emit(&Inst::rr(p, w(int), op2(0x0f, 0x2a), dst.hw(), src.hw()));
    }

    /// `cvttss2si`/`cvttsd2si` into a 32- or 64-bit register.
    pub fn cvttf2si(&mut self, size: FloatSize, int: Size, dst: Reg, src: Reg) {
        let p = scalar_prefix(size);
        self.emit(&Inst::rr(p, w(int), op2(0x0f, 0x2c), dst.hw(), src.hw()));
    }

    /// `cvtss2sd` (to F64) / `cvtsd2ss` (to F32).
    pub fn cvtf2f(&mut self, to: FloatSize, dst: Reg, src: Reg) {
        // The prefix names the source size.
        let p = match to {
            FloatSize::F64 => 0xf3,
            FloatSize::F32 => 0xf2,
        };
        self.emit(&Inst::rr(p, 0, op2(0x0f, 0x5a), dst.hw(), src.hw()));
    }
}
