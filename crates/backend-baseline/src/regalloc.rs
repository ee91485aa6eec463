//! The register allocator's bookkeeping: which allocatable registers are
//! free. Choosing a victim to spill needs the value stack and emits code,
//! so that part lives with the code generator (`CodeGen::alloc`).

use crate::isa::x64::regs::{ALLOCATABLE_GPRS, ALLOCATABLE_XMMS, Reg, RegSet};

/// Free registers of both classes.
#[derive(Clone, Copy, Debug)]
pub struct RegAlloc {
    free: RegSet,
}

impl Default for RegAlloc {
    fn default() -> Self {
        RegAlloc {
            free: ALLOCATABLE_GPRS | ALLOCATABLE_XMMS,
        }
    }
}

impl RegAlloc {
    /// Marks every allocatable register free.
    pub fn reset(&mut self) {
        *self = RegAlloc::default();
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

    /// Releases `r` (no effect on registers outside the allocatable sets).
    #[inline]
    pub fn free(&mut self, r: Reg) {
        self.free |= r.bit() & (ALLOCATABLE_GPRS | ALLOCATABLE_XMMS);
    }

    /// Whether `r` is free.
    #[inline]
    pub fn is_free(&self, r: Reg) -> bool {
        self.free & r.bit() != 0
    }
}
