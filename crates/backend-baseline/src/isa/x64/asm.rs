//! The x86-64 instruction encoder: one method per instruction form, on a
//! `dynasmrt` [`VecAssembler`]. Memory operands pick the short
//! displacement encoding when it fits. The few instructions `dynasm!`
//! cannot take a runtime condition code for (`jcc`, `setcc`, `cmovcc`) are
//! encoded by hand here.

// `dynasm!` converts dynamic register numbers with `.into()`.
#![allow(clippy::useless_conversion)]

use crate::masm::{Address, AluOp, Cond, FloatBitOp, FloatOp, FloatSize, ShiftOp, Size};
use dynasmrt::relocations::{Relocation, RelocationKind, RelocationSize};
use dynasmrt::x64::X64Relocation;
use dynasmrt::{DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler, dynasm};

use super::regs::Reg;

/// Emits one instruction with a memory operand `$a`: `$pre [addr] $post`.
macro_rules! with_addr {
    ($ops:expr, $a:expr, [$($pre:tt)*] [$($post:tt)*]) => {{
        let a: Address = $a;
        let b = a.base.hw();
        let d = a.disp;
        match a.index {
            None => match i8::try_from(d) {
                Ok(d8) => dynasm!($ops ; .arch x64 ; $($pre)* [BYTE Rq(b) + d8] $($post)*),
                Err(_) => dynasm!($ops ; .arch x64 ; $($pre)* [Rq(b) + d] $($post)*),
            },
            Some(i) => {
                let i = i.hw();
                match (a.scale, i8::try_from(d)) {
                    (8, Ok(d8)) => dynasm!($ops ; .arch x64 ; $($pre)* [BYTE Rq(b) + Rq(i) * 8 + d8] $($post)*),
                    (8, Err(_)) => dynasm!($ops ; .arch x64 ; $($pre)* [Rq(b) + Rq(i) * 8 + d] $($post)*),
                    (4, Ok(d8)) => dynasm!($ops ; .arch x64 ; $($pre)* [BYTE Rq(b) + Rq(i) * 4 + d8] $($post)*),
                    (4, Err(_)) => dynasm!($ops ; .arch x64 ; $($pre)* [Rq(b) + Rq(i) * 4 + d] $($post)*),
                    (_, Ok(d8)) => dynasm!($ops ; .arch x64 ; $($pre)* [BYTE Rq(b) + Rq(i) + d8] $($post)*),
                    (_, Err(_)) => dynasm!($ops ; .arch x64 ; $($pre)* [Rq(b) + Rq(i) + d] $($post)*),
                }
            }
        }
    }};
}

/// The encoder. Reused between functions: [`Asm::take_code`] empties it.
pub struct Asm {
    /// The dynasm buffer.
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

/// REX prefix for a `reg`/`rm` register pair, if needed (`byte` forces one so
/// that `sil`/`dil` are reachable).
fn rex(w: bool, reg: u8, rm: u8, byte: bool) -> Option<u8> {
    let r = u8::from(w) << 3 | (reg >> 3) << 2 | (rm >> 3);
    (r != 0 || (byte && rm >= 4)).then_some(0x40 | r)
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

    /// Resolves labels and moves the code into `out`, leaving the encoder
    /// empty with its allocations.
    pub fn take_code(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        let drained = self.ops.drain().map_err(|e| e.to_string())?;
        out.extend(drained);
        Ok(())
    }

    // ---- integer moves ----

    /// `mov dst, src` (registers).
    pub fn mov_rr(&mut self, size: Size, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        match size {
            Size::S32 => dynasm!(self.ops ; .arch x64 ; mov Rd(d), Rd(s)),
            Size::S64 => dynasm!(self.ops ; .arch x64 ; mov Rq(d), Rq(s)),
        }
    }

    /// `mov r32, imm32` (zero-extends).
    pub fn mov_ri32(&mut self, dst: Reg, imm: u32) {
        let d = dst.hw();
        let imm = imm as i32;
        dynasm!(self.ops ; .arch x64 ; mov Rd(d), DWORD imm);
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
        let d = dst.hw();
        match size {
            Size::S32 => with_addr!(self.ops, a, [mov Rd(d), DWORD] []),
            Size::S64 => with_addr!(self.ops, a, [mov Rq(d), QWORD] []),
        }
    }

    /// `movzx r32, byte [a]`.
    pub fn load_u8(&mut self, dst: Reg, a: Address) {
        let d = dst.hw();
        with_addr!(self.ops, a, [movzx Rd(d), BYTE] []);
    }

    /// `movzx r32, word [a]`.
    pub fn load_u16(&mut self, dst: Reg, a: Address) {
        let d = dst.hw();
        with_addr!(self.ops, a, [movzx Rd(d), WORD] []);
    }

    /// `movsx r, byte [a]`.
    pub fn load_s8(&mut self, size: Size, dst: Reg, a: Address) {
        let d = dst.hw();
        match size {
            Size::S32 => with_addr!(self.ops, a, [movsx Rd(d), BYTE] []),
            Size::S64 => with_addr!(self.ops, a, [movsx Rq(d), BYTE] []),
        }
    }

    /// `movsx r, word [a]`.
    pub fn load_s16(&mut self, size: Size, dst: Reg, a: Address) {
        let d = dst.hw();
        match size {
            Size::S32 => with_addr!(self.ops, a, [movsx Rd(d), WORD] []),
            Size::S64 => with_addr!(self.ops, a, [movsx Rq(d), WORD] []),
        }
    }

    /// `movsxd r64, dword [a]`.
    pub fn load_s32(&mut self, dst: Reg, a: Address) {
        let d = dst.hw();
        with_addr!(self.ops, a, [movsxd Rq(d), DWORD] []);
    }

    /// Store of the low 1/2/4/8 bytes of `src`.
    pub fn store(&mut self, bytes: u8, a: Address, src: Reg) {
        let s = src.hw();
        match bytes {
            1 => with_addr!(self.ops, a, [mov BYTE] [, Rb(s)]),
            2 => with_addr!(self.ops, a, [mov WORD] [, Rw(s)]),
            4 => with_addr!(self.ops, a, [mov DWORD] [, Rd(s)]),
            _ => with_addr!(self.ops, a, [mov QWORD] [, Rq(s)]),
        }
    }

    /// Store of an immediate (sign-extended to 8 bytes for `bytes == 8`).
    pub fn store_imm(&mut self, bytes: u8, a: Address, imm: i32) {
        match bytes {
            1 => {
                let i = imm as i8;
                with_addr!(self.ops, a, [mov BYTE] [, i])
            }
            2 => {
                let i = imm as i16;
                with_addr!(self.ops, a, [mov WORD] [, i])
            }
            4 => with_addr!(self.ops, a, [mov DWORD] [, imm]),
            _ => with_addr!(self.ops, a, [mov QWORD] [, imm]),
        }
    }

    /// `lea dst, [a]`.
    pub fn lea(&mut self, dst: Reg, a: Address) {
        let d = dst.hw();
        with_addr!(self.ops, a, [lea Rq(d),] []);
    }

    /// `movsx`/`movzx`/`movsxd` between registers.
    pub fn extend_rr(&mut self, signed: bool, from_bits: u8, size: Size, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        match (signed, from_bits, size) {
            (false, 8, _) => dynasm!(self.ops ; .arch x64 ; movzx Rd(d), Rb(s)),
            (false, 16, _) => dynasm!(self.ops ; .arch x64 ; movzx Rd(d), Rw(s)),
            (false, _, _) => dynasm!(self.ops ; .arch x64 ; mov Rd(d), Rd(s)),
            (true, 8, Size::S32) => dynasm!(self.ops ; .arch x64 ; movsx Rd(d), Rb(s)),
            (true, 8, Size::S64) => dynasm!(self.ops ; .arch x64 ; movsx Rq(d), Rb(s)),
            (true, 16, Size::S32) => dynasm!(self.ops ; .arch x64 ; movsx Rd(d), Rw(s)),
            (true, 16, Size::S64) => dynasm!(self.ops ; .arch x64 ; movsx Rq(d), Rw(s)),
            (true, _, _) => dynasm!(self.ops ; .arch x64 ; movsxd Rq(d), Rd(s)),
        }
    }

    // ---- integer arithmetic ----

    /// `op dst, src` (registers).
    pub fn alu_rr(&mut self, op: AluOp, size: Size, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        macro_rules! go {
            ($m:ident) => {
                match size {
                    Size::S32 => dynasm!(self.ops ; .arch x64 ; $m Rd(d), Rd(s)),
                    Size::S64 => dynasm!(self.ops ; .arch x64 ; $m Rq(d), Rq(s)),
                }
            };
        }
        match op {
            AluOp::Add => go!(add),
            AluOp::Sub => go!(sub),
            AluOp::And => go!(and),
            AluOp::Or => go!(or),
            AluOp::Xor => go!(xor),
        }
    }

    /// `op dst, imm`.
    pub fn alu_ri(&mut self, op: AluOp, size: Size, dst: Reg, imm: i32) {
        let d = dst.hw();
        macro_rules! go {
            ($m:ident) => {
                match (size, i8::try_from(imm)) {
                    (Size::S32, Ok(i)) => dynasm!(self.ops ; .arch x64 ; $m Rd(d), BYTE i),
                    (Size::S32, Err(_)) => dynasm!(self.ops ; .arch x64 ; $m Rd(d), DWORD imm),
                    (Size::S64, Ok(i)) => dynasm!(self.ops ; .arch x64 ; $m Rq(d), BYTE i),
                    (Size::S64, Err(_)) => dynasm!(self.ops ; .arch x64 ; $m Rq(d), DWORD imm),
                }
            };
        }
        match op {
            AluOp::Add => go!(add),
            AluOp::Sub => go!(sub),
            AluOp::And => go!(and),
            AluOp::Or => go!(or),
            AluOp::Xor => go!(xor),
        }
    }

    /// `op dst, [a]`.
    pub fn alu_rm(&mut self, op: AluOp, size: Size, dst: Reg, a: Address) {
        let d = dst.hw();
        macro_rules! go {
            ($m:ident) => {
                match size {
                    Size::S32 => with_addr!(self.ops, a, [$m Rd(d), DWORD] []),
                    Size::S64 => with_addr!(self.ops, a, [$m Rq(d), QWORD] []),
                }
            };
        }
        match op {
            AluOp::Add => go!(add),
            AluOp::Sub => go!(sub),
            AluOp::And => go!(and),
            AluOp::Or => go!(or),
            AluOp::Xor => go!(xor),
        }
    }

    /// `op [a], imm` (sets the flags like the register form).
    pub fn alu_mi(&mut self, op: AluOp, size: Size, a: Address, imm: i32) {
        macro_rules! go {
            ($m:ident) => {
                match (size, i8::try_from(imm).map(i32::from)) {
                    (Size::S32, Ok(i)) => with_addr!(self.ops, a, [$m DWORD] [, BYTE i]),
                    (Size::S32, Err(_)) => with_addr!(self.ops, a, [$m DWORD] [, DWORD imm]),
                    (Size::S64, Ok(i)) => with_addr!(self.ops, a, [$m QWORD] [, BYTE i]),
                    (Size::S64, Err(_)) => with_addr!(self.ops, a, [$m QWORD] [, DWORD imm]),
                }
            };
        }
        match op {
            AluOp::Add => go!(add),
            AluOp::Sub => go!(sub),
            AluOp::And => go!(and),
            AluOp::Or => go!(or),
            AluOp::Xor => go!(xor),
        }
    }

    /// `cmp r, r`.
    pub fn cmp_rr(&mut self, size: Size, a: Reg, b: Reg) {
        let (a, b) = (a.hw(), b.hw());
        match size {
            Size::S32 => dynasm!(self.ops ; .arch x64 ; cmp Rd(a), Rd(b)),
            Size::S64 => dynasm!(self.ops ; .arch x64 ; cmp Rq(a), Rq(b)),
        }
    }

    /// `cmp r, imm`.
    pub fn cmp_ri(&mut self, size: Size, a: Reg, imm: i32) {
        let a = a.hw();
        match (size, i8::try_from(imm)) {
            (Size::S32, Ok(i)) => {
                let i = i32::from(i);
                dynasm!(self.ops ; .arch x64 ; cmp Rd(a), BYTE i)
            }
            (Size::S32, Err(_)) => dynasm!(self.ops ; .arch x64 ; cmp Rd(a), DWORD imm),
            (Size::S64, Ok(i)) => {
                let i = i32::from(i);
                dynasm!(self.ops ; .arch x64 ; cmp Rq(a), BYTE i)
            }
            (Size::S64, Err(_)) => dynasm!(self.ops ; .arch x64 ; cmp Rq(a), DWORD imm),
        }
    }

    /// `cmp r, [a]`.
    pub fn cmp_rm(&mut self, size: Size, r: Reg, a: Address) {
        let r = r.hw();
        match size {
            Size::S32 => with_addr!(self.ops, a, [cmp Rd(r), DWORD] []),
            Size::S64 => with_addr!(self.ops, a, [cmp Rq(r), QWORD] []),
        }
    }

    /// `cmp [a], r`.
    pub fn cmp_mr(&mut self, size: Size, a: Address, r: Reg) {
        let r = r.hw();
        match size {
            Size::S32 => with_addr!(self.ops, a, [cmp DWORD] [, Rd(r)]),
            Size::S64 => with_addr!(self.ops, a, [cmp QWORD] [, Rq(r)]),
        }
    }

    /// `cmp [a], imm`.
    pub fn cmp_mi(&mut self, size: Size, a: Address, imm: i32) {
        match size {
            Size::S32 => with_addr!(self.ops, a, [cmp DWORD] [, imm]),
            Size::S64 => with_addr!(self.ops, a, [cmp QWORD] [, imm]),
        }
    }

    /// `test a, b`.
    pub fn test_rr(&mut self, size: Size, a: Reg, b: Reg) {
        let (a, b) = (a.hw(), b.hw());
        match size {
            Size::S32 => dynasm!(self.ops ; .arch x64 ; test Rd(a), Rd(b)),
            Size::S64 => dynasm!(self.ops ; .arch x64 ; test Rq(a), Rq(b)),
        }
    }

    /// `imul dst, src`.
    pub fn imul_rr(&mut self, size: Size, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        match size {
            Size::S32 => dynasm!(self.ops ; .arch x64 ; imul Rd(d), Rd(s)),
            Size::S64 => dynasm!(self.ops ; .arch x64 ; imul Rq(d), Rq(s)),
        }
    }

    /// `imul dst, [a]`.
    pub fn imul_rm(&mut self, size: Size, dst: Reg, a: Address) {
        let d = dst.hw();
        match size {
            Size::S32 => with_addr!(self.ops, a, [imul Rd(d), DWORD] []),
            Size::S64 => with_addr!(self.ops, a, [imul Rq(d), QWORD] []),
        }
    }

    /// `imul dst, dst, imm`.
    pub fn imul_ri(&mut self, size: Size, dst: Reg, imm: i32) {
        let d = dst.hw();
        match size {
            Size::S32 => dynasm!(self.ops ; .arch x64 ; imul Rd(d), Rd(d), DWORD imm),
            Size::S64 => dynasm!(self.ops ; .arch x64 ; imul Rq(d), Rq(d), DWORD imm),
        }
    }

    /// Shift or rotate by `cl` (`None`) or an immediate.
    pub fn shift(&mut self, op: ShiftOp, size: Size, dst: Reg, amount: Option<u8>) {
        let d = dst.hw();
        macro_rules! go {
            ($m:ident) => {
                match (size, amount) {
                    (Size::S32, None) => dynasm!(self.ops ; .arch x64 ; $m Rd(d), cl),
                    (Size::S64, None) => dynasm!(self.ops ; .arch x64 ; $m Rq(d), cl),
                    (Size::S32, Some(n)) => {
                        let n = (n & 31) as i8;
                        dynasm!(self.ops ; .arch x64 ; $m Rd(d), BYTE n)
                    }
                    (Size::S64, Some(n)) => {
                        let n = (n & 63) as i8;
                        dynasm!(self.ops ; .arch x64 ; $m Rq(d), BYTE n)
                    }
                }
            };
        }
        match op {
            ShiftOp::Shl => go!(shl),
            ShiftOp::Sar => go!(sar),
            ShiftOp::Shr => go!(shr),
            ShiftOp::Rol => go!(rol),
            ShiftOp::Ror => go!(ror),
        }
    }

    /// `cdq` / `cqo`.
    pub fn sign_extend_rax(&mut self, size: Size) {
        match size {
            Size::S32 => dynasm!(self.ops ; .arch x64 ; cdq),
            Size::S64 => dynasm!(self.ops ; .arch x64 ; cqo),
        }
    }

    /// `div`/`idiv` by a register.
    pub fn div_r(&mut self, signed: bool, size: Size, r: Reg) {
        let r = r.hw();
        match (signed, size) {
            (true, Size::S32) => dynasm!(self.ops ; .arch x64 ; idiv Rd(r)),
            (true, Size::S64) => dynasm!(self.ops ; .arch x64 ; idiv Rq(r)),
            (false, Size::S32) => dynasm!(self.ops ; .arch x64 ; div Rd(r)),
            (false, Size::S64) => dynasm!(self.ops ; .arch x64 ; div Rq(r)),
        }
    }

    /// `div`/`idiv` by memory.
    pub fn div_m(&mut self, signed: bool, size: Size, a: Address) {
        match (signed, size) {
            (true, Size::S32) => with_addr!(self.ops, a, [idiv DWORD] []),
            (true, Size::S64) => with_addr!(self.ops, a, [idiv QWORD] []),
            (false, Size::S32) => with_addr!(self.ops, a, [div DWORD] []),
            (false, Size::S64) => with_addr!(self.ops, a, [div QWORD] []),
        }
    }

    /// `neg dst`.
    pub fn neg(&mut self, size: Size, dst: Reg) {
        let d = dst.hw();
        match size {
            Size::S32 => dynasm!(self.ops ; .arch x64 ; neg Rd(d)),
            Size::S64 => dynasm!(self.ops ; .arch x64 ; neg Rq(d)),
        }
    }

    /// `bsr`, `bsf` or `popcnt`.
    pub fn bit_scan(&mut self, which: u8, size: Size, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        match (which, size) {
            (0, Size::S32) => dynasm!(self.ops ; .arch x64 ; bsr Rd(d), Rd(s)),
            (0, Size::S64) => dynasm!(self.ops ; .arch x64 ; bsr Rq(d), Rq(s)),
            (1, Size::S32) => dynasm!(self.ops ; .arch x64 ; bsf Rd(d), Rd(s)),
            (1, Size::S64) => dynasm!(self.ops ; .arch x64 ; bsf Rq(d), Rq(s)),
            (_, Size::S32) => dynasm!(self.ops ; .arch x64 ; popcnt Rd(d), Rd(s)),
            (_, Size::S64) => dynasm!(self.ops ; .arch x64 ; popcnt Rq(d), Rq(s)),
        }
    }

    /// `btc dst, bit`.
    pub fn btc(&mut self, dst: Reg, bit: u8) {
        let d = dst.hw();
        let b = bit as i8;
        dynasm!(self.ops ; .arch x64 ; btc Rq(d), BYTE b);
    }

    /// `setcc dst8` (hand-encoded).
    pub fn setcc(&mut self, cond: Cond, dst: Reg) {
        let d = dst.hw();
        if let Some(r) = rex(false, 0, d, true) {
            self.ops.push(r);
        }
        self.bytes(&[0x0f, 0x90 | cond as u8, 0xc0 | (d & 7)]);
    }

    /// `cmovcc dst, src` (hand-encoded).
    pub fn cmov_rr(&mut self, cond: Cond, size: Size, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        if let Some(r) = rex(size == Size::S64, d, s, false) {
            self.ops.push(r);
        }
        self.bytes(&[0x0f, 0x40 | cond as u8, 0xc0 | (d & 7) << 3 | (s & 7)]);
    }

    // ---- control flow ----

    /// `jmp rel32`.
    pub fn jmp(&mut self, l: DynamicLabel) {
        self.bytes(&[0xe9, 0, 0, 0, 0]);
        self.ops.dynamic_relocation(l, 0, 4, 0, rel32());
    }

    /// `jcc rel32` (hand-encoded).
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
        let r = r.hw();
        dynasm!(self.ops ; .arch x64 ; jmp Rq(r));
    }

    /// `call reg`.
    pub fn call_r(&mut self, r: Reg) {
        let r = r.hw();
        dynasm!(self.ops ; .arch x64 ; call Rq(r));
    }

    /// `call [a]`.
    pub fn call_m(&mut self, a: Address) {
        with_addr!(self.ops, a, [call QWORD] []);
    }

    /// `push r`.
    pub fn push(&mut self, r: Reg) {
        let r = r.hw();
        dynasm!(self.ops ; .arch x64 ; push Rq(r));
    }

    /// `pop r`.
    pub fn pop(&mut self, r: Reg) {
        let r = r.hw();
        dynasm!(self.ops ; .arch x64 ; pop Rq(r));
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
        let (d, s) = (dst.hw(), src.hw());
        dynasm!(self.ops ; .arch x64 ; movaps Rx(d), Rx(s));
    }

    /// `movss`/`movsd` load.
    pub fn fload(&mut self, size: FloatSize, dst: Reg, a: Address) {
        let d = dst.hw();
        match size {
            FloatSize::F32 => with_addr!(self.ops, a, [movss Rx(d),] []),
            FloatSize::F64 => with_addr!(self.ops, a, [movsd Rx(d),] []),
        }
    }

    /// `movss`/`movsd` store.
    pub fn fstore(&mut self, size: FloatSize, a: Address, src: Reg) {
        let s = src.hw();
        match size {
            FloatSize::F32 => with_addr!(self.ops, a, [movss] [, Rx(s)]),
            FloatSize::F64 => with_addr!(self.ops, a, [movsd] [, Rx(s)]),
        }
    }

    /// `movd`/`movq xmm, gpr`.
    pub fn movd_to_xmm(&mut self, size: FloatSize, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        match size {
            FloatSize::F32 => dynasm!(self.ops ; .arch x64 ; movd Rx(d), Rd(s)),
            FloatSize::F64 => dynasm!(self.ops ; .arch x64 ; movq Rx(d), Rq(s)),
        }
    }

    /// `movd`/`movq gpr, xmm`.
    pub fn movd_from_xmm(&mut self, size: FloatSize, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        match size {
            FloatSize::F32 => dynasm!(self.ops ; .arch x64 ; movd Rd(d), Rx(s)),
            FloatSize::F64 => dynasm!(self.ops ; .arch x64 ; movq Rq(d), Rx(s)),
        }
    }

    /// Scalar arithmetic between registers.
    pub fn fop_rr(&mut self, op: FloatOp, size: FloatSize, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        macro_rules! go {
            ($ss:ident, $sd:ident) => {
                match size {
                    FloatSize::F32 => dynasm!(self.ops ; .arch x64 ; $ss Rx(d), Rx(s)),
                    FloatSize::F64 => dynasm!(self.ops ; .arch x64 ; $sd Rx(d), Rx(s)),
                }
            };
        }
        match op {
            FloatOp::Add => go!(addss, addsd),
            FloatOp::Sub => go!(subss, subsd),
            FloatOp::Mul => go!(mulss, mulsd),
            FloatOp::Div => go!(divss, divsd),
            FloatOp::Min => go!(minss, minsd),
            FloatOp::Max => go!(maxss, maxsd),
            FloatOp::Sqrt => go!(sqrtss, sqrtsd),
        }
    }

    /// Scalar arithmetic with a memory operand.
    pub fn fop_rm(&mut self, op: FloatOp, size: FloatSize, dst: Reg, a: Address) {
        let d = dst.hw();
        macro_rules! go {
            ($ss:ident, $sd:ident) => {
                match size {
                    FloatSize::F32 => with_addr!(self.ops, a, [$ss Rx(d), DWORD] []),
                    FloatSize::F64 => with_addr!(self.ops, a, [$sd Rx(d), QWORD] []),
                }
            };
        }
        match op {
            FloatOp::Add => go!(addss, addsd),
            FloatOp::Sub => go!(subss, subsd),
            FloatOp::Mul => go!(mulss, mulsd),
            FloatOp::Div => go!(divss, divsd),
            FloatOp::Min => go!(minss, minsd),
            FloatOp::Max => go!(maxss, maxsd),
            FloatOp::Sqrt => go!(sqrtss, sqrtsd),
        }
    }

    /// Packed bitwise operations.
    pub fn fbit(&mut self, op: FloatBitOp, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        match op {
            FloatBitOp::And => dynasm!(self.ops ; .arch x64 ; andps Rx(d), Rx(s)),
            FloatBitOp::AndNot => dynasm!(self.ops ; .arch x64 ; andnps Rx(d), Rx(s)),
            FloatBitOp::Or => dynasm!(self.ops ; .arch x64 ; orps Rx(d), Rx(s)),
            FloatBitOp::Xor => dynasm!(self.ops ; .arch x64 ; xorps Rx(d), Rx(s)),
        }
    }

    /// `roundss`/`roundsd`.
    pub fn fround(&mut self, mode: u8, size: FloatSize, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        let imm = (mode | 8) as i8;
        match size {
            FloatSize::F32 => dynasm!(self.ops ; .arch x64 ; roundss Rx(d), Rx(s), BYTE imm),
            FloatSize::F64 => dynasm!(self.ops ; .arch x64 ; roundsd Rx(d), Rx(s), BYTE imm),
        }
    }

    /// `ucomiss`/`ucomisd` between registers.
    pub fn ucomi_rr(&mut self, size: FloatSize, a: Reg, b: Reg) {
        let (a, b) = (a.hw(), b.hw());
        match size {
            FloatSize::F32 => dynasm!(self.ops ; .arch x64 ; ucomiss Rx(a), Rx(b)),
            FloatSize::F64 => dynasm!(self.ops ; .arch x64 ; ucomisd Rx(a), Rx(b)),
        }
    }

    /// `ucomiss`/`ucomisd` with memory.
    pub fn ucomi_rm(&mut self, size: FloatSize, r: Reg, a: Address) {
        let r = r.hw();
        match size {
            FloatSize::F32 => with_addr!(self.ops, a, [ucomiss Rx(r), DWORD] []),
            FloatSize::F64 => with_addr!(self.ops, a, [ucomisd Rx(r), QWORD] []),
        }
    }

    /// `cvtsi2ss`/`cvtsi2sd` from a 32- or 64-bit register.
    pub fn cvtsi2f(&mut self, int: Size, size: FloatSize, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        match (int, size) {
            (Size::S32, FloatSize::F32) => dynasm!(self.ops ; .arch x64 ; cvtsi2ss Rx(d), Rd(s)),
            (Size::S64, FloatSize::F32) => dynasm!(self.ops ; .arch x64 ; cvtsi2ss Rx(d), Rq(s)),
            (Size::S32, FloatSize::F64) => dynasm!(self.ops ; .arch x64 ; cvtsi2sd Rx(d), Rd(s)),
            (Size::S64, FloatSize::F64) => dynasm!(self.ops ; .arch x64 ; cvtsi2sd Rx(d), Rq(s)),
        }
    }

    /// `cvttss2si`/`cvttsd2si` into a 32- or 64-bit register.
    pub fn cvttf2si(&mut self, size: FloatSize, int: Size, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        match (size, int) {
            (FloatSize::F32, Size::S32) => dynasm!(self.ops ; .arch x64 ; cvttss2si Rd(d), Rx(s)),
            (FloatSize::F32, Size::S64) => dynasm!(self.ops ; .arch x64 ; cvttss2si Rq(d), Rx(s)),
            (FloatSize::F64, Size::S32) => dynasm!(self.ops ; .arch x64 ; cvttsd2si Rd(d), Rx(s)),
            (FloatSize::F64, Size::S64) => dynasm!(self.ops ; .arch x64 ; cvttsd2si Rq(d), Rx(s)),
        }
    }

    /// `cvtss2sd` (to F64) / `cvtsd2ss` (to F32).
    pub fn cvtf2f(&mut self, to: FloatSize, dst: Reg, src: Reg) {
        let (d, s) = (dst.hw(), src.hw());
        match to {
            FloatSize::F64 => dynasm!(self.ops ; .arch x64 ; cvtss2sd Rx(d), Rx(s)),
            FloatSize::F32 => dynasm!(self.ops ; .arch x64 ; cvtsd2ss Rx(d), Rx(s)),
        }
    }
}
