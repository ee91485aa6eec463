//! The x86-64 implementation: registers, frame layout and calling-convention
//! helpers, the instruction encoder on `dynasmrt`, and the macro assembler.

pub mod abi;
pub mod asm;
pub mod masm;
pub mod regs;
