//! The macro-assembler interface the code generator is written against:
//! operand kinds as enums, and one method per operation the generator needs.
//! `isa::x64::masm::X64Masm` implements it; the generator never
//! emits instruction bytes itself.

use crate::isa::x64::regs::Reg;

/// Width of an integer operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// 32 bits (the upper half of the destination register is zeroed).
    S32,
    /// 64 bits.
    S64,
}

/// Width of a float operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatSize {
    /// `f32`, in the low lane of an xmm register.
    F32,
    /// `f64`.
    F64,
}

/// A memory operand: `base + index * scale + disp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Address {
    /// Base register.
    pub base: Reg,
    /// Optional index register.
    pub index: Option<Reg>,
    /// Scale of the index: 1 or 8.
    pub scale: u8,
    /// Displacement.
    pub disp: i32,
}

impl Address {
    /// `[base + disp]`.
    pub const fn base_disp(base: Reg, disp: i32) -> Self {
        Address {
            base,
            index: None,
            scale: 1,
            disp,
        }
    }

    /// `[base + index * scale + disp]`.
    pub const fn indexed(base: Reg, index: Reg, scale: u8, disp: i32) -> Self {
        Address {
            base,
            index: Some(index),
            scale,
            disp,
        }
    }

    /// The same address `delta` bytes further.
    pub const fn offset(self, delta: i32) -> Self {
        Address {
            disp: self.disp.wrapping_add(delta),
            ..self
        }
    }
}

/// A source operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    /// A register.
    Reg(Reg),
    /// A 32-bit immediate, sign-extended for 64-bit operations.
    Imm(i32),
    /// Memory.
    Mem(Address),
}

/// Two-operand integer ALU operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluOp {
    /// `add`
    Add,
    /// `sub`
    Sub,
    /// `and`
    And,
    /// `or`
    Or,
    /// `xor`
    Xor,
}

/// Shifts and rotates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShiftOp {
    /// Shift left.
    Shl,
    /// Arithmetic shift right.
    Sar,
    /// Logical shift right.
    Shr,
    /// Rotate left.
    Rol,
    /// Rotate right.
    Ror,
}

/// Bit counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitCount {
    /// Leading zeros.
    Clz,
    /// Trailing zeros.
    Ctz,
    /// Set bits.
    Popcnt,
}

/// How a narrow memory value or register is widened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extend {
    /// Zero-extend 8 bits.
    U8,
    /// Sign-extend 8 bits.
    S8,
    /// Zero-extend 16 bits.
    U16,
    /// Sign-extend 16 bits.
    S16,
    /// Zero-extend 32 bits (a plain 32-bit move).
    U32,
    /// Sign-extend 32 bits.
    S32,
}

/// Width of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreSize {
    /// 1 byte.
    B8,
    /// 2 bytes.
    B16,
    /// 4 bytes.
    B32,
    /// 8 bytes.
    B64,
}

/// SSE arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatOp {
    /// `adds*`
    Add,
    /// `subs*`
    Sub,
    /// `muls*`
    Mul,
    /// `divs*`
    Div,
    /// `mins*` (x86 semantics: the second operand on NaN or equality)
    Min,
    /// `maxs*` (x86 semantics)
    Max,
    /// `sqrts*`
    Sqrt,
}

/// SSE bitwise operations on whole registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatBitOp {
    /// `andps`
    And,
    /// `andnps` (`dst = !dst & src`)
    AndNot,
    /// `orps`
    Or,
    /// `xorps`
    Xor,
}

/// `rounds*` modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RoundMode {
    /// Ties to even.
    Nearest = 0,
    /// Toward negative infinity.
    Floor = 1,
    /// Toward positive infinity.
    Ceil = 2,
    /// Toward zero.
    Trunc = 3,
}

/// A condition on the flags (x86 condition-code numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Cond {
    Overflow = 0,
    NoOverflow = 1,
    /// Unsigned `<` (carry).
    Below = 2,
    /// Unsigned `>=`.
    AboveEq = 3,
    Eq = 4,
    Ne = 5,
    /// Unsigned `<=`.
    BelowEq = 6,
    /// Unsigned `>`.
    Above = 7,
    Sign = 8,
    NoSign = 9,
    Parity = 10,
    NoParity = 11,
    /// Signed `<`.
    Lt = 12,
    /// Signed `>=`.
    Ge = 13,
    /// Signed `<=`.
    Le = 14,
    /// Signed `>`.
    Gt = 15,
}

impl Cond {
    /// The opposite condition.
    pub fn invert(self) -> Cond {
        Cond::from_bits(self as u8 ^ 1)
    }

    /// The condition that holds after swapping the compared operands.
    pub fn swap(self) -> Cond {
        match self {
            Cond::Below => Cond::Above,
            Cond::Above => Cond::Below,
            Cond::BelowEq => Cond::AboveEq,
            Cond::AboveEq => Cond::BelowEq,
            Cond::Lt => Cond::Gt,
            Cond::Gt => Cond::Lt,
            Cond::Le => Cond::Ge,
            Cond::Ge => Cond::Le,
            other => other,
        }
    }

    /// The condition with x86 number `n & 15`.
    pub fn from_bits(n: u8) -> Cond {
        const ALL: [Cond; 16] = [
            Cond::Overflow,
            Cond::NoOverflow,
            Cond::Below,
            Cond::AboveEq,
            Cond::Eq,
            Cond::Ne,
            Cond::BelowEq,
            Cond::Above,
            Cond::Sign,
            Cond::NoSign,
            Cond::Parity,
            Cond::NoParity,
            Cond::Lt,
            Cond::Ge,
            Cond::Le,
            Cond::Gt,
        ];
        ALL[usize::from(n & 15)]
    }
}

/// The operations the code generator emits. Methods document the registers
/// they clobber beyond their destination; every method may clobber the
/// scratch registers (`isa::x64::regs::SCRATCH` and
/// `isa::x64::regs::FSCRATCH`) unless it says otherwise. Only
/// methods named as such change the flags between a compare and its user:
/// moves, loads, stores and constant materialisation never do.
pub trait MacroAssembler {
    /// A position in the code that jumps can target.
    type Label: Copy;

    /// Current code offset.
    fn offset(&self) -> u32;
    /// A fresh unbound label.
    fn new_label(&mut self) -> Self::Label;
    /// Binds `label` here.
    fn bind(&mut self, label: Self::Label);

    /// `dst = src` (register, immediate or load). Never touches the flags.
    fn mov(&mut self, size: Size, dst: Reg, src: Operand);
    /// `dst = imm` for any 64-bit constant. Never touches the flags.
    fn mov_imm64(&mut self, dst: Reg, imm: i64);
    /// Widening load.
    fn load_extend(&mut self, ext: Extend, size: Size, dst: Reg, addr: Address);
    /// Store of a register or an immediate.
    fn store(&mut self, size: StoreSize, addr: Address, src: Operand);
    /// `dst = addr`.
    fn lea(&mut self, dst: Reg, addr: Address);
    /// `dst = dst op src`.
    fn alu(&mut self, op: AluOp, size: Size, dst: Reg, src: Operand);
    /// `[addr] = [addr] op imm`; sets the flags from the result.
    fn alu_mem(&mut self, op: AluOp, size: Size, addr: Address, imm: i32);
    /// `dst = dst * src`.
    fn mul(&mut self, size: Size, dst: Reg, src: Operand);
    /// Sets the flags from `lhs - rhs`; `lhs` is a register or memory.
    fn cmp(&mut self, size: Size, lhs: Operand, rhs: Operand);
    /// Sets the flags from `a & b`.
    fn test(&mut self, size: Size, a: Reg, b: Reg);
    /// Shift or rotate `dst` by `amount`, or by `cl` when `None`.
    fn shift(&mut self, op: ShiftOp, size: Size, dst: Reg, amount: Option<u8>);
    /// `rdx:rax / divisor` after sign- or zero-extending `rax` into `rdx`;
    /// returns the offset of the divide instruction (a trap site). Clobbers
    /// the flags (as the divide itself does).
    fn div(&mut self, signed: bool, size: Size, divisor: Operand) -> u32;
    /// `dst = -dst`.
    fn neg(&mut self, size: Size, dst: Reg);
    /// Widens the low bits of `src` into `dst`.
    fn extend(&mut self, ext: Extend, size: Size, dst: Reg, src: Reg);
    /// Counts bits of `src` into `dst` (distinct registers).
    fn bit_count(&mut self, op: BitCount, size: Size, dst: Reg, src: Reg);
    /// `dst = cond ? 1 : 0` (32-bit).
    fn setcc(&mut self, cond: Cond, dst: Reg);
    /// `if cond { dst = src }`.
    fn cmov(&mut self, cond: Cond, size: Size, dst: Reg, src: Operand);
    /// Complements bit `bit` of `dst`.
    fn btc(&mut self, dst: Reg, bit: u8);

    /// Unconditional jump.
    fn jmp(&mut self, label: Self::Label);
    /// Conditional jump.
    fn jcc(&mut self, cond: Cond, label: Self::Label);
    /// Jumps to the `index`-th of the 5-byte jumps at `table`, which must
    /// follow as [`MacroAssembler::jmp`]s. `index` is clobbered.
    fn jmp_table(&mut self, index: Reg, table: Self::Label);
    /// `ud2`; returns its offset (a trap site).
    fn ud2(&mut self) -> u32;

    /// Copies a whole xmm register.
    fn fmov(&mut self, dst: Reg, src: Reg);
    /// Float load.
    fn fload(&mut self, size: FloatSize, dst: Reg, addr: Address);
    /// Float store.
    fn fstore(&mut self, size: FloatSize, addr: Address, src: Reg);
    /// `dst = bits` as a float. Never touches the flags.
    fn fconst(&mut self, size: FloatSize, dst: Reg, bits: u64);
    /// `dst = dst op bits` with the constant `bits` as the float operand.
    fn fop_const(&mut self, op: FloatOp, size: FloatSize, dst: Reg, bits: u64);
    /// Unordered compare of `lhs` with the float constant `bits`.
    fn fcmp_const(&mut self, size: FloatSize, lhs: Reg, bits: u64);
    /// `dst = dst op src` (for `Sqrt`, `dst = sqrt(src)`).
    fn fop(&mut self, op: FloatOp, size: FloatSize, dst: Reg, src: Operand);
    /// Bitwise operation on whole registers.
    fn fbit(&mut self, op: FloatBitOp, dst: Reg, src: Reg);
    /// `dst = round(src)`.
    fn fround(&mut self, mode: RoundMode, size: FloatSize, dst: Reg, src: Reg);
    /// Unordered compare (`ucomis*`).
    fn fcmp(&mut self, size: FloatSize, lhs: Reg, rhs: Operand);
    /// Moves float bits from a general-purpose register.
    fn fmov_from_gpr(&mut self, size: FloatSize, dst: Reg, src: Reg);
    /// Moves float bits to a general-purpose register.
    fn fmov_to_gpr(&mut self, size: FloatSize, dst: Reg, src: Reg);
    /// Signed integer to float.
    fn cvt_int_to_float(&mut self, int: Size, size: FloatSize, dst: Reg, src: Reg);
    /// Float to signed integer, truncating (x86 "indefinite" on overflow).
    fn cvt_float_to_int(&mut self, size: FloatSize, int: Size, dst: Reg, src: Reg);
    /// `f32 <-> f64`; `to` is the destination's size.
    fn cvt_float(&mut self, to: FloatSize, dst: Reg, src: Reg);

    /// `push reg`.
    fn push(&mut self, reg: Reg);
    /// `pop reg`.
    fn pop(&mut self, reg: Reg);
    /// `ret` popping `pop` bytes of arguments.
    fn ret(&mut self, pop: u16);
    /// `call rel32` with a zero field; returns the field's offset.
    fn call_rel32(&mut self) -> u32;
    /// `call reg`.
    fn call_reg(&mut self, reg: Reg);
    /// `call [addr]`.
    fn call_mem(&mut self, addr: Address);
    /// `jmp rel32` with a zero field (a tail call); returns the field's
    /// offset.
    fn jmp_rel32(&mut self) -> u32;
    /// `jmp reg` (a tail call).
    fn jmp_reg(&mut self, reg: Reg);
    /// `sub rsp, imm32` with an immediate to patch; returns its offset.
    fn sub_rsp_patchable(&mut self) -> u32;
    /// `lea reg, [rsp - imm32]` with an immediate to patch (written as the
    /// positive amount); returns its offset.
    fn lea_below_rsp_patchable(&mut self, dst: Reg) -> u32;
    /// Places the function's constants after its code, resolves labels and
    /// writes the code into `code`.
    fn finish(&mut self, code: &mut Vec<u8>) -> Result<(), String>;
}
