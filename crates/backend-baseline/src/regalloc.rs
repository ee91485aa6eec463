//! The register allocator's bookkeeping: which allocatable registers are
//! free. Choosing a victim to spill needs the value stack and emits code,
//! so that part lives with the code generator (`CodeGen::alloc`).
//!
//! Registers that hold locals for the whole function are taken out of the
//! allocatable set when the function starts ([`RegAlloc::reserve`]), so
//! freeing a value that happens to be such a register does nothing.

use crate::isa::x64::regs::{ALLOCATABLE_GPRS, ALLOCATABLE_XMMS, Reg, RegSet};

/// Free registers of both classes.
#[derive(Clone, Copy, Debug)]
pub struct RegAlloc {
    /// Registers this function may hand out.
    allocatable: RegSet,
    /// Those of them that are free now.
    free: RegSet,
}

impl Default for RegAlloc {
    fn default() -> Self {
        let all = ALLOCATABLE_GPRS | ALLOCATABLE_XMMS;
        RegAlloc {
            allocatable: all,
            free: all,
        }
    }
}

impl RegAlloc {
    /// Marks every allocatable register free.
    pub fn reset(&mut self) {
        self.free = self.allocatable;
    }

    /// Removes `r` from the allocatable set for the rest of the function.
    pub fn reserve(&mut self, r: Reg) {
        self.allocatable &= !r.bit();
        self.free &= !r.bit();
    }

    /// A free register of the class (`float` = xmm), if any, now taken.
    #[inline]
    pub fn try_alloc(&mut self, float: bool) -> Option<Reg> {
        let class = if float {
            ALLOCATABLE_XMMS
        } else {
            ALLOCATABLE_GPRS
        };
        let avail = self.free & class;
        if avail == 0 {
            return None;
        }
        let r = Reg::from_index(avail.trailing_zeros() as u8);
        self.free &= !r.bit();
        Some(r)
    }

    /// Takes `r`, which must be free.
    #[inline]
    pub fn take(&mut self, r: Reg) {
        debug_assert!(self.is_free(r), "{r:?} is taken");
        self.free &= !r.bit();
    }

    /// Releases `r` (no effect on registers outside the allocatable set).
    #[inline]
    pub fn free(&mut self, r: Reg) {
        self.free |= r.bit() & self.allocatable;
    }

    /// Whether `r` is free.
    #[inline]
    pub fn is_free(&self, r: Reg) -> bool {
        self.free & r.bit() != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::x64::regs::{R10, RAX};

    #[test]
    fn reserved_registers_are_never_handed_out_or_freed() {
        let mut regs = RegAlloc::default();
        regs.reserve(R10);
        let mut got = Vec::new();
        while let Some(r) = regs.try_alloc(false) {
            got.push(r);
        }
        assert!(!got.contains(&R10));
        assert_eq!(got.len(), ALLOCATABLE_GPRS.count_ones() as usize - 1);
        regs.free(R10);
        assert!(!regs.is_free(R10));
        regs.reset();
        assert!(!regs.is_free(R10));
        assert!(regs.is_free(RAX));
    }
}
