//! x86-64 registers: one [`Reg`] type for general-purpose and xmm
//! registers, the sets the allocator may hand out, and the registers with a
//! fixed role in compiled code.

/// A general-purpose (0-15) or xmm (16-31) register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reg(u8);

impl Reg {
    /// General-purpose register number `n` (hardware encoding).
    pub const fn gpr(n: u8) -> Reg {
        Reg(n & 15)
    }

    /// Xmm register number `n`.
    pub const fn xmm(n: u8) -> Reg {
        Reg(16 | (n & 15))
    }

    /// Whether this is an xmm register.
    pub const fn is_xmm(self) -> bool {
        self.0 & 16 != 0
    }

    /// The hardware encoding (0-15) within its class.
    pub const fn hw(self) -> u8 {
        self.0 & 15
    }

    /// The register's bit in a [`RegSet`].
    pub const fn bit(self) -> u32 {
        1 << self.0
    }

    /// The register's index in a [`RegSet`] (0-31).
    pub const fn index(self) -> u8 {
        self.0
    }

    /// The register at `index` of a [`RegSet`].
    pub const fn from_index(index: u8) -> Reg {
        Reg(index & 31)
    }

    /// The same register as [`tandem_codegen_api::abi`] names it.
    pub fn from_abi_gpr(r: tandem_codegen_api::abi::Gpr) -> Reg {
        Reg::gpr(r as u8)
    }

    /// The same xmm register as [`tandem_codegen_api::abi`] names it.
    pub fn from_abi_xmm(r: tandem_codegen_api::abi::Xmm) -> Reg {
        Reg::xmm(r.0)
    }
}

/// A set of registers as a bit mask over [`Reg::index`].
pub type RegSet = u32;

#[allow(missing_docs)]
pub mod names {
    use super::Reg;
    pub const RAX: Reg = Reg::gpr(0);
    pub const RCX: Reg = Reg::gpr(1);
    pub const RDX: Reg = Reg::gpr(2);
    pub const RBX: Reg = Reg::gpr(3);
    pub const RSP: Reg = Reg::gpr(4);
    pub const RBP: Reg = Reg::gpr(5);
    pub const RSI: Reg = Reg::gpr(6);
    pub const RDI: Reg = Reg::gpr(7);
    pub const R8: Reg = Reg::gpr(8);
    pub const R9: Reg = Reg::gpr(9);
    pub const R10: Reg = Reg::gpr(10);
    pub const R11: Reg = Reg::gpr(11);
    pub const R12: Reg = Reg::gpr(12);
    pub const R13: Reg = Reg::gpr(13);
    pub const R14: Reg = Reg::gpr(14);
    pub const R15: Reg = Reg::gpr(15);
    pub const XMM0: Reg = Reg::xmm(0);
    pub const XMM15: Reg = Reg::xmm(15);
}

pub use names::*;

/// Holds this function's VMContext for its whole body (callee-saved).
pub const VMCTX: Reg = R14;
/// Holds memory 0's base when it cannot move (callee-saved).
pub const HEAP_BASE: Reg = R15;
/// Integer scratch: never allocated, clobbered freely by single
/// instructions sequences of the macro assembler and the move resolver.
pub const SCRATCH: Reg = R11;
/// Float scratch, like [`SCRATCH`].
pub const FSCRATCH: Reg = XMM15;

/// Integer registers the allocator hands out: the caller-saved ones other
/// than the scratch, so calls need not preserve anything but what is spilled.
pub const ALLOCATABLE_GPRS: RegSet =
    RAX.bit() | RCX.bit() | RDX.bit() | RSI.bit() | RDI.bit() | R8.bit() | R9.bit() | R10.bit();

/// Xmm registers the allocator hands out: all but the float scratch.
pub const ALLOCATABLE_XMMS: RegSet = 0x7fff << 16;

/// Registers that hold integer locals for a whole function, in the order
/// they are handed out: first the callee-saved ones the Wasm-call
/// convention leaves unused (saved in the prologue, untouched by calls),
/// then caller-saved ones taken out of [`ALLOCATABLE_GPRS`] (saved to the
/// local's home slot around calls). `rax`, `rcx`, `rdx` and `rdi` have
/// fixed uses (results, shifts, division, `rep stos`, the return area),
/// so they and `rsi` stay with the operand stack.
pub const LOCAL_GPRS: [Reg; 6] = [RBX, R12, R13, R10, R9, R8];

/// Xmm registers that hold float locals (all caller-saved); `xmm0`-`xmm7`
/// stay with the operand stack.
pub const LOCAL_XMMS: [Reg; 7] = [
    Reg::xmm(8),
    Reg::xmm(9),
    Reg::xmm(10),
    Reg::xmm(11),
    Reg::xmm(12),
    Reg::xmm(13),
    Reg::xmm(14),
];

impl Reg {
    /// Whether a call preserves this register: one of the Wasm-call
    /// convention's callee-saved registers (System V's, too).
    pub fn is_callee_saved(self) -> bool {
        tandem_codegen_api::abi::CALLEE_SAVED
            .iter()
            .any(|&g| Reg::from_abi_gpr(g) == self)
    }
}
