//! The frame of a baseline-compiled function and the System V registers of
//! libcalls. The Wasm call itself comes from [`tandem_codegen_api::abi`].
//!
//! ```text
//! [rbp + 16 ..]   stack arguments (popped by this function's `ret N`)
//! [rbp + 8]       return address
//! [rbp]           caller's rbp
//! [rbp - 8]       saved r14 (VMContext register)
//! [rbp - 16]      saved r15 (memory base register)
//! [rbp - 24 ..]   saved callee-saved registers that hold locals, if any
//! next 8 bytes    return-area pointer (always reserved)
//! below           home slots of the locals that are not stack arguments
//!                 (a local kept in a register is saved there around calls)
//! below           one 8-byte slot per operand-stack position
//! [rsp]           outgoing call areas are pushed below, per call
//! ```

use super::regs::{R8, R9, R14, R15, RCX, RDI, RDX, RSI, Reg};

/// Registers every function pushes right after `push rbp`, in push order;
/// callee-saved registers holding locals follow them.
pub const SAVED_REGS: [Reg; 2] = [R14, R15];
/// Integer argument registers of a System V call (libcalls and array
/// calls).
pub const SYSV_INT_ARGS: [Reg; 6] = [RDI, RSI, RDX, RCX, R8, R9];

/// The shape of one function's frame: how many registers its prologue
/// pushes and how many locals have home slots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    /// Registers pushed after `rbp` ([`SAVED_REGS`] and local registers).
    pub pushed: u32,
    /// Locals with a home slot in the frame (not stack arguments).
    pub locals: u32,
}

impl Frame {
    /// Bytes between `rbp` and the first local's home slot: the pushed
    /// registers and the return-area pointer.
    pub fn header(self) -> u32 {
        8 * self.pushed + 8
    }

    /// `rbp`-relative address of the saved return-area pointer.
    pub fn ret_area_ptr_disp(self) -> i32 {
        -(self.header() as i32)
    }

    /// `rbp`-relative address of frame local number `i` (locals that are
    /// not stack arguments are numbered from 0).
    pub fn local_disp(self, i: u32) -> i64 {
        -(i64::from(self.header()) + 8 * (i64::from(i) + 1))
    }

    /// `rbp`-relative address of operand-stack slot `pos`.
    pub fn value_slot_disp(self, pos: usize) -> i64 {
        -(i64::from(self.header()) + 8 * i64::from(self.locals) + 8 * (pos as i64 + 1))
    }

    /// Bytes below `rbp` the fixed frame needs with `max_depth` operand
    /// slots (16-aligned).
    pub fn fixed_size(self, max_depth: usize) -> u64 {
        (u64::from(self.header()) + 8 * u64::from(self.locals) + 8 * max_depth as u64)
            .next_multiple_of(16)
    }

    /// Bytes the prologue's `sub rsp` reserves: the fixed frame minus what
    /// the pushes already took.
    pub fn sub_size(self, max_depth: usize) -> u64 {
        self.fixed_size(max_depth) - u64::from(8 * self.pushed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_do_not_overlap_and_stay_aligned() {
        for pushed in 2..=5 {
            for locals in 0..4 {
                let f = Frame { pushed, locals };
                // The return-area pointer sits right below the pushes.
                assert_eq!(f.ret_area_ptr_disp(), -(8 * pushed as i32) - 8);
                // Locals start below it, operand slots below the locals.
                assert_eq!(f.local_disp(0), i64::from(f.ret_area_ptr_disp()) - 8);
                assert_eq!(
                    f.value_slot_disp(0),
                    f.local_disp(locals.max(1) - 1) - if locals == 0 { 0 } else { 8 }
                );
                for depth in 0..5 {
                    let size = f.fixed_size(depth);
                    assert_eq!(size % 16, 0);
                    // The deepest operand slot (or the last local) fits.
                    let lowest = match depth {
                        0 => i64::from(f.header()) + 8 * i64::from(locals),
                        d => -f.value_slot_disp(d - 1),
                    };
                    assert!(size as i64 >= lowest);
                    // rsp stays 16-aligned: rbp is 16-aligned minus 16
                    // (return address and saved rbp).
                    assert_eq!((f.sub_size(depth) + 8 * u64::from(pushed)) % 16, 0);
                }
            }
        }
    }
}
