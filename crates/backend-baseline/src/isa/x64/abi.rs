//! The frame of a baseline-compiled function and the System V registers of
//! libcalls. The Wasm call itself comes from [`tandem_codegen_api::abi`].
//!
//! ```text
//! [rbp + 16 ..]   stack arguments (popped by this function's `ret N`)
//! [rbp + 8]       return address
//! [rbp]           caller's rbp
//! [rbp - 8]       saved r14 (VMContext register)
//! [rbp - 16]      saved r15 (memory base register)
//! [rbp - 24]      return-area pointer, when the signature has one
//! [rbp - 32 ..]   locals that are not stack arguments, 8 bytes each
//! below           one 8-byte slot per operand-stack position
//! [rsp]           outgoing call areas are pushed below, per call
//! ```

use super::regs::{R8, R9, RCX, RDI, RDX, RSI, Reg};

/// Bytes between `rbp` and the first local: two saved registers and the
/// return-area pointer.
pub const FRAME_HEADER: u32 = 24;
/// `rbp`-relative address of the saved return-area pointer.
pub const RET_AREA_PTR_DISP: i32 = -24;
/// Registers pushed right after `push rbp`, in push order.
pub const SAVED_REGS: [Reg; 2] = [super::regs::R14, super::regs::R15];
/// Integer argument registers of a System V call (libcalls and array
/// calls).
pub const SYSV_INT_ARGS: [Reg; 6] = [RDI, RSI, RDX, RCX, R8, R9];

/// `rbp`-relative address of frame local number `i` (locals that are not
/// stack arguments are numbered from 0).
pub fn local_disp(i: u32) -> i64 {
    -(i64::from(FRAME_HEADER) + 8 * (i64::from(i) + 1))
}

/// `rbp`-relative address of operand-stack slot `pos` with `locals` frame
/// locals.
pub fn value_slot_disp(locals: u32, pos: usize) -> i64 {
    -(i64::from(FRAME_HEADER) + 8 * i64::from(locals) + 8 * (pos as i64 + 1))
}

/// Bytes below `rbp` the fixed frame needs (16-aligned).
pub fn fixed_frame_size(locals: u32, max_depth: usize) -> u64 {
    (u64::from(FRAME_HEADER) + 8 * u64::from(locals) + 8 * max_depth as u64).next_multiple_of(16)
}
