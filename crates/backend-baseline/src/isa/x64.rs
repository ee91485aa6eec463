//! The x86-64 implementation: registers, frame layout and calling-convention
//! helpers, the instruction encoder, and the macro assembler. The encoder
//! runs on `dynasmrt`'s assembler, dynamic labels and relocations; the
//! bytes of instructions with register or memory operands are hand-encoded
//! (`asm/enc`) for compactness, since `dynasm!` with run-time registers
//! adds a REX prefix and a SIB byte it does not need.

pub mod abi;
pub mod asm;
pub mod masm;
pub mod regs;
