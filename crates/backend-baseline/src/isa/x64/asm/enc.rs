//! The encoding core of [`super::Asm`]: one instruction is assembled into an
//! [`Inst`] held in integer registers (prefix, REX, opcode, ModRM, SIB,
//! displacement, immediate) and appended to the `dynasmrt` assembler in one
//! copy.
//!
//! Every operand takes its shortest encoding:
//! - a REX prefix only for REX.W, a register numbered 8 or above, or a byte
//!   access to `spl`/`bpl`/`sil`/`dil` (without REX those numbers mean
//!   `ah`/`ch`/`dh`/`bh`);
//! - a SIB byte only for an index register or a base whose low three bits
//!   are 4 (`rsp`, `r12`), which ModRM alone cannot name;
//! - no displacement when it is 0 and the base's low bits are not 5
//!   (`rbp`, `r13`: mod 00 with rm 101 means RIP-relative or no base),
//!   else 8 bits when it fits, else 32.

use crate::masm::Address;
use dynasmrt::VecAssembler;
use dynasmrt::x64::X64Relocation;

/// Flag for [`Inst::rr`] and [`Inst::rm`]: 64-bit operand size (REX.W).
pub const W: u8 = 1;
/// Flag: the ModRM.reg operand is a byte register.
pub const BYTE_REG: u8 = 2;
/// Flag: the ModRM.rm operand (register form only) is a byte register.
pub const BYTE_RM: u8 = 4;

/// Mandatory-prefix value for "no prefix".
pub const NP: u8 = 0;

/// The `mod` field for a displacement of `disp` from a base register whose
/// low three bits are `base_low`, and the displacement's length in bytes.
fn disp_mode(disp: i32, base_low: u8) -> (u8, u8) {
    if disp == 0 && base_low != 5 {
        (0b00, 0)
    } else if i8::try_from(disp).is_ok() {
        (0b01, 1)
    } else {
        (0b10, 4)
    }
}

/// Whether a byte access to register `r` needs a REX prefix (registers 4-7
/// would otherwise mean `ah`-`bh`).
fn byte_needs_rex(r: u8) -> bool {
    r & 0b1100 == 0b0100
}

/// The REX prefix for `flags` and the register numbers in ModRM.reg, SIB.index
/// and ModRM.rm / SIB.base, or `None` when the instruction needs none.
pub fn rex(flags: u8, reg: u8, index: u8, base: u8, force: bool) -> Option<u8> {
    let bits = (flags & W) << 3 | (reg >> 3) << 2 | (index >> 3) << 1 | (base >> 3);
    (bits != 0 || force).then_some(0x40 | bits)
}

/// An opcode of one to three bytes, packed little-endian (first byte
/// lowest) with its length, so that it is pasted in with one shift.
#[derive(Clone, Copy)]
pub struct Op {
    bits: u32,
    len: u32,
}

/// A one-byte opcode.
pub const fn op1(a: u8) -> Op {
    Op {
        bits: a as u32,
        len: 1,
    }
}

/// A two-byte opcode.
pub const fn op2(a: u8, b: u8) -> Op {
    Op {
        bits: a as u32 | (b as u32) << 8,
        len: 2,
    }
}

/// A three-byte opcode.
pub const fn op3(a: u8, b: u8, c: u8) -> Op {
    Op {
        bits: a as u32 | (b as u32) << 8 | (c as u32) << 16,
        len: 3,
    }
}

/// One instruction under construction, kept in registers: the head
/// (prefix, REX, opcode, ModRM, SIB: at most 7 bytes) and the tail
/// (displacement and immediate: at most 4 bytes each) each fill a `u64` from
/// its low byte up, and are joined once when the instruction is stored.
#[derive(Clone, Copy)]
pub struct Inst {
    head: u64,
    head_len: u32,
    tail: u64,
    tail_len: u32,
}

impl Inst {
    /// The bytes, little-endian: byte `k` of the instruction is byte `k`.
    pub fn bits(&self) -> u128 {
        // The head is never empty, so both shifts are in 8..=56.
        let s = self.head_len * 8;
        let lo = self.head | self.tail << s;
        let hi = self.tail >> (64 - s);
        u128::from(lo) | u128::from(hi) << 64
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        (self.head_len + self.tail_len) as usize
    }

    /// Appends the instruction's bytes to `ops`. The `match` on the length
    /// makes every copy fixed-size, a few register stores instead of a
    /// `memcpy` call (about 2% of compile time on esbuild).
    #[inline(always)]
    pub fn append_to(&self, ops: &mut VecAssembler<X64Relocation>) {
        debug_assert!(self.len() <= 15, "x86 instructions have at most 15 bytes");
        let b = self.bits().to_le_bytes();
        macro_rules! fixed {
            ($($n:literal)*) => {
                match self.len() {
                    $($n => ops.extend(&b[..$n]),)*
                    // 15 bytes, the longest an instruction gets here.
                    _ => ops.extend(&b[..15]),
                }
            };
        }
        fixed!(1 2 3 4 5 6 7 8 9 10 11 12 13 14);
    }

    /// Appends `n` bytes, the low bytes of `v`, to the head.
    fn put(&mut self, v: u64, n: u32) -> &mut Inst {
        self.head |= v << (self.head_len * 8);
        self.head_len += n;
        self
    }

    /// Appends `n` bytes, the low bytes of `v`, to the tail.
    fn put_tail(&mut self, v: u64, n: u32) -> &mut Inst {
        // The tail holds at most a 4-byte displacement before this, so the
        // shift stays below 64.
        self.tail |= v << (self.tail_len * 8);
        self.tail_len += n;
        self
    }

    /// Appends one byte to the head.
    pub fn byte(&mut self, b: u8) -> &mut Inst {
        self.put(u64::from(b), 1)
    }

    /// Appends an 8-bit displacement or immediate.
    pub fn imm8(&mut self, i: i8) -> &mut Inst {
        self.put_tail(u64::from(i as u8), 1)
    }

    /// Appends a 16-bit immediate.
    pub fn imm16(&mut self, i: i16) -> &mut Inst {
        self.put_tail(u64::from(i as u16), 2)
    }

    /// Appends a 32-bit displacement or immediate.
    pub fn imm32(&mut self, i: i32) -> &mut Inst {
        self.put_tail(u64::from(i as u32), 4)
    }

    /// `prefix REX opcode`, the start of every form.
    fn head(prefix: u8, rex: Option<u8>, op: Op) -> Inst {
        let mut i = Inst {
            head: 0,
            head_len: 0,
            tail: 0,
            tail_len: 0,
        };
        if prefix != NP {
            i.byte(prefix);
        }
        if let Some(r) = rex {
            i.byte(r);
        }
        i.put(u64::from(op.bits), op.len);
        i
    }

    /// `prefix REX op ModRM` with register operands `reg` and `rm`
    /// (hardware numbers 0-15); `reg` may be an opcode extension.
    #[inline(always)]
    pub fn rr(prefix: u8, flags: u8, op: Op, reg: u8, rm: u8) -> Inst {
        let force = (flags & BYTE_REG != 0 && byte_needs_rex(reg))
            || (flags & BYTE_RM != 0 && byte_needs_rex(rm));
        let mut i = Inst::head(prefix, rex(flags, reg, 0, rm, force), op);
        i.byte(0xc0 | (reg & 7) << 3 | (rm & 7));
        i
    }

    /// `prefix REX op ModRM SIB disp` with register (or opcode extension)
    /// `reg` and memory operand `a`.
    #[inline(always)]
    pub fn rm(prefix: u8, flags: u8, op: Op, reg: u8, a: Address) -> Inst {
        let base = a.base.hw();
        let index = a.index.map(|r| r.hw());
        debug_assert!(index != Some(4), "rsp cannot be an index");
        let force = flags & BYTE_REG != 0 && byte_needs_rex(reg);
        let rex = rex(flags, reg, index.unwrap_or(0), base, force);
        let mut i = Inst::head(prefix, rex, op);
        let (md, disp_len) = disp_mode(a.disp, base & 7);
        let reg_bits = (reg & 7) << 3;
        match index {
            None if base & 7 != 4 => {
                i.byte(md << 6 | reg_bits | (base & 7));
            }
            _ => {
                debug_assert!(matches!(a.scale, 1 | 2 | 4 | 8), "bad scale");
                let ss = (a.scale.trailing_zeros() as u8) & 3;
                // Index 100 without REX.X means "no index".
                let idx = index.unwrap_or(4);
                i.byte(md << 6 | reg_bits | 0b100);
                i.byte(ss << 6 | (idx & 7) << 3 | (base & 7));
            }
        }
        match disp_len {
            0 => i,
            1 => *i.imm8(a.disp as i8),
            _ => *i.imm32(a.disp),
        }
    }

    /// `prefix REX op ModRM disp32` with register (or opcode extension)
    /// `reg` and the memory operand `[rip + disp32]`; the displacement is
    /// 0, to be filled by a relocation (it is the last field, so it is
    /// relative to the instruction's end).
    pub fn rip(prefix: u8, flags: u8, op: Op, reg: u8) -> Inst {
        let mut i = Inst::head(prefix, rex(flags, reg, 0, 0, false), op);
        i.byte((reg & 7) << 3 | 0b101);
        *i.imm32(0)
    }

    /// `REX op+r`: the register in the opcode's low three bits.
    pub fn op_reg(flags: u8, op: u8, r: u8) -> Inst {
        Inst::head(NP, rex(flags, 0, 0, r, false), op1(op | (r & 7)))
    }
}
