//! Getting several values into fixed registers at once (call arguments,
//! return values): register-to-register moves are ordered so no source is
//! overwritten before it is read, with cycles broken through the scratch
//! registers; loads from memory and constants follow.

use super::CodeGen;
use crate::isa::x64::regs::{FSCRATCH, Reg, SCRATCH};
use crate::masm::{MacroAssembler, Operand, Size};
use crate::stack::{Ty, Val};

impl CodeGen<'_, '_> {
    /// Queues "`dst` = `v`" for [`CodeGen::resolve_moves`].
    pub fn queue_move(&mut self, dst: Reg, ty: Ty, v: Val) {
        match v {
            Val::Reg(r) | Val::LocalReg(r) => self.reg_moves.push((dst, r)),
            other => self.loads.push((dst, ty, other)),
        }
    }

    /// Emits the queued moves: register moves in parallel, then loads.
    pub fn resolve_moves(&mut self) {
        let mut moves = std::mem::take(self.reg_moves);
        moves.retain(|&(d, s)| d != s);
        while !moves.is_empty() {
            let ready = moves
                .iter()
                .position(|&(d, _)| !moves.iter().any(|&(_, s)| s == d));
            match ready {
                Some(i) => {
                    let (d, s) = moves.swap_remove(i);
                    self.move_reg(d, s);
                }
                None => {
                    // A cycle: park one source in the scratch register.
                    let s = moves[0].1;
                    let tmp = if s.is_xmm() { FSCRATCH } else { SCRATCH };
                    self.move_reg(tmp, s);
                    for m in moves.iter_mut() {
                        if m.1 == s {
                            m.1 = tmp;
                        }
                    }
                }
            }
        }
        *self.reg_moves = moves;
        let loads = std::mem::take(self.loads);
        for &(d, ty, v) in &loads {
            self.load_val(ty, d, v);
        }
        *self.loads = loads;
        self.loads.clear();
    }

    /// A whole-register move within a class.
    fn move_reg(&mut self, d: Reg, s: Reg) {
        if d.is_xmm() {
            self.masm.fmov(d, s);
        } else {
            self.masm.mov(Size::S64, d, Operand::Reg(s));
        }
    }
}
