//! Locals and globals. A `local.get` pushes a reference to the local
//! (its register or home slot) without copying; `local.set` and
//! `local.tee` first copy out any such reference still on the stack.
//! Globals are 16-byte slots in the VMContext, or behind a pointer when
//! imported.

use super::{CodeGen, LocalSlot};
use crate::isa::x64::regs::{RBP, Reg, SCRATCH, VMCTX};
use crate::masm::{Address, MacroAssembler, Operand, Size};
use crate::stack::{Loc, Ty, Val};
use tandem_codegen_api::CompileError;
use tandem_codegen_api::lower::LowerVariable;
use tandem_environ::GlobalIndex;

/// Where an operator puts its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dest {
    /// A register the operator owns; the result is pushed.
    Reg(Reg),
    /// The register of local `index`, whose store was fused.
    Local(u32, Reg),
}

impl Dest {
    /// The register the result is computed in.
    pub fn reg(self) -> Reg {
        match self {
            Dest::Reg(r) | Dest::Local(_, r) => r,
        }
    }
}

/// A `local.set`/`local.tee` fused into the operator before it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FusedStore {
    /// The local stored to.
    pub index: u32,
    /// Its register: where the result goes.
    pub reg: Reg,
    /// The operator's operands, swapped if that allowed the fusion.
    pub operands: (Val, Val),
}

impl CodeGen<'_, '_> {
    /// The slot of local `index`.
    fn local(&self, index: u32) -> Result<super::LocalSlot, CompileError> {
        self.locals
            .get(index as usize)
            .copied()
            .ok_or_else(|| self.bug("local index out of range"))
    }

    /// Copies stack references to local `index` away before it changes:
    /// into a free register, or into their slots.
    fn detach_local(&mut self, index: u32) {
        if self.stack.local_refs == 0 {
            return;
        }
        for pos in self.stack.clean..self.stack.len() {
            let e = self.stack.entries[pos];
            if e.loc != Loc::Local(index) {
                continue;
            }
            match self.locals[index as usize].reg {
                Some(from) => match self.regs.try_alloc(e.ty.is_float()) {
                    Some(r) => {
                        self.load_val(e.ty, r, Val::LocalReg(from));
                        self.stack.entries[pos].loc = Loc::Reg(r);
                        self.stack.local_refs -= 1;
                    }
                    None => self.spill_entry(pos),
                },
                None => self.spill_entry(pos),
            }
        }
    }

    /// Stores the popped `v` into local `index`.
    fn set_local(&mut self, index: u32, ty: Ty, v: Val) -> Result<(), CompileError> {
        let l = self.local(index)?;
        self.detach_local(index);
        match l.reg {
            Some(r) if v != Val::LocalReg(r) => self.load_val(ty, r, v),
            Some(_) => {}
            None if v != Val::Mem(l.disp) => self.store_val(ty, Address::base_disp(RBP, l.disp), v),
            None => {}
        }
        Ok(())
    }

    /// Fuses the next operator when it is `local.set` or `local.tee` of a
    /// register local of type `ty`, so the caller computes its result
    /// straight into that register. `operands` are the popped values of
    /// the caller; for a `commutative` operation the two are swapped when
    /// the second is the local. The second operand must not be the local
    /// (it is read after the result register is written), so then there
    /// is no fusion.
    ///
    /// On fusion the store is consumed, stack references to the local are
    /// copied out, and the local's index and register are returned, with
    /// the (possibly swapped) operands; the caller ends with
    /// [`CodeGen::finish_local_store`].
    fn fuse_local_store(
        &mut self,
        ty: Ty,
        operands: (Val, Val),
        commutative: bool,
    ) -> Result<Option<FusedStore>, CompileError> {
        let mut peek = self.reader.get_binary_reader();
        let tee = match peek.read_u8() {
            Ok(0x21) => false,
            Ok(0x22) => true,
            _ => return Ok(None),
        };
        let Ok(index) = peek.read_var_u32() else {
            return Ok(None);
        };
        let Some(&LocalSlot {
            ty: local_ty,
            reg: Some(reg),
            ..
        }) = self.locals.get(index as usize)
        else {
            return Ok(None);
        };
        let (a, b) = operands;
        let operands = match (a, b) {
            _ if local_ty != ty => return Ok(None),
            (_, Val::LocalReg(r)) if r == reg && commutative => (b, a),
            (_, Val::LocalReg(r)) if r == reg => return Ok(None),
            _ => (a, b),
        };
        let op = if tee {
            wasmparser::Operator::LocalTee { local_index: index }
        } else {
            wasmparser::Operator::LocalSet { local_index: index }
        };
        self.fused_operator(&op);
        // The current offset stays the computing operator's: it is the
        // one that may trap.
        self.reader.read()?;
        self.detach_local(index);
        self.fused_tee = tee;
        Ok(Some(FusedStore {
            index,
            reg,
            operands,
        }))
    }

    /// Where a two-operand instruction computes `lhs op rhs`: a register
    /// local whose store is fused (with `lhs` moved into it), else `lhs`
    /// in a register the caller owns. Returns it with the right operand to
    /// use (the operands of a `commutative` operation may be swapped).
    pub fn binary_dest(
        &mut self,
        ty: Ty,
        lhs: Val,
        rhs: Val,
        commutative: bool,
    ) -> Result<(Dest, Val), CompileError> {
        if let Some(fused) = self.fuse_local_store(ty, (lhs, rhs), commutative)? {
            let (lhs, rhs) = fused.operands;
            if lhs != Val::LocalReg(fused.reg) {
                self.load_val(ty, fused.reg, lhs);
                self.free(lhs);
            }
            return Ok((Dest::Local(fused.index, fused.reg), rhs));
        }
        Ok((Dest::Reg(self.owned_reg(ty, lhs)?), rhs))
    }

    /// Where an operator without a register operand to reuse puts its
    /// result: a register local whose store is fused, or a new register.
    /// `done` (a register the operator has finished reading, if any) is
    /// freed after the fusion, which may need a register, and before the
    /// allocation, which may reuse it.
    pub fn result_dest(&mut self, ty: Ty, done: Option<Reg>) -> Result<Dest, CompileError> {
        let none = (Val::Const(0), Val::Const(0));
        let fused = self.fuse_local_store(ty, none, false)?;
        if let Some(r) = done {
            self.regs.free(r);
        }
        Ok(match fused {
            Some(fused) => Dest::Local(fused.index, fused.reg),
            None => Dest::Reg(self.alloc_for(ty)?),
        })
    }

    /// Finishes an operator's result in `dest`: pushed, or stored by the
    /// fused store (a `local.tee` leaves the local on the stack).
    pub fn finish_dest(&mut self, ty: Ty, dest: Dest) {
        match dest {
            Dest::Reg(r) => self.push_reg(ty, r),
            Dest::Local(index, _) => self.finish_local_store(index),
        }
    }

    /// Ends a store fused by [`CodeGen::fuse_local_store`]: a `local.tee`
    /// leaves the local on the stack.
    fn finish_local_store(&mut self, index: u32) {
        if std::mem::take(&mut self.fused_tee) {
            let ty = self.locals[index as usize].ty;
            self.stack.push(ty, Loc::Local(index));
        }
    }

    /// The type of global `index` and where its value is (loading an
    /// import's pointer into `tmp`).
    fn global_addr(&mut self, index: GlobalIndex, tmp: Reg) -> Result<(Ty, Address), CompileError> {
        let g = (self.env.module.global_type(index))
            .ok_or_else(|| self.bug("global index out of range"))?;
        let ty = Ty::of(g.content).ok_or_else(|| self.unsupported("v128 globals"))?;
        let addr = match self.env.module.defined_global_index(index) {
            Some(d) => Address::base_disp(VMCTX, self.env.offsets.defined_global(d) as i32),
            None => {
                let at = self.env.offsets.imported_global(index) as i32;
                self.masm
                    .mov(Size::S64, tmp, Operand::Mem(Address::base_disp(VMCTX, at)));
                Address::base_disp(tmp, 0)
            }
        };
        Ok((ty, addr))
    }
}

impl LowerVariable for CodeGen<'_, '_> {
    /// `local.get`.
    fn local_get(&mut self, index: u32) -> Result<(), CompileError> {
        let l = self.local(index)?;
        self.stack.push(l.ty, Loc::Local(index));
        Ok(())
    }

    /// `local.set`.
    fn local_set(&mut self, index: u32) -> Result<(), CompileError> {
        let (ty, v) = self.pop()?;
        self.set_local(index, ty, v)?;
        self.free(v);
        Ok(())
    }

    /// `local.tee`.
    fn local_tee(&mut self, index: u32) -> Result<(), CompileError> {
        let (ty, v) = self.pop()?;
        self.set_local(index, ty, v)?;
        match v {
            // A local in a register is as good as the value's register.
            Val::Reg(r) if self.locals[index as usize].reg.is_some() => {
                self.regs.free(r);
                self.stack.push(ty, Loc::Local(index));
            }
            Val::Reg(r) => self.push_reg(ty, r),
            Val::Const(c) => self.push_const(ty, c),
            Val::Mem(_) | Val::LocalReg(_) => self.stack.push(ty, Loc::Local(index)),
        }
        Ok(())
    }

    /// `global.get`.
    fn global_get(&mut self, index: GlobalIndex) -> Result<(), CompileError> {
        let ty = (self.env.module.global_type(index))
            .and_then(|g| Ty::of(g.content))
            .ok_or_else(|| self.bug("bad global"))?;
        let dst = self.alloc_for(ty)?;
        let tmp = if ty.is_float() { SCRATCH } else { dst };
        let (ty, addr) = self.global_addr(index, tmp)?;
        if ty.is_float() {
            self.masm.fload(ty.fsize(), dst, addr);
        } else {
            self.masm.mov(ty.size(), dst, Operand::Mem(addr));
        }
        self.push_reg(ty, dst);
        Ok(())
    }

    /// `global.set`.
    fn global_set(&mut self, index: GlobalIndex) -> Result<(), CompileError> {
        let (ty, v) = self.pop()?;
        // Values in memory go through a register: the store may need the
        // scratch register for an imported global's pointer.
        let v = match v {
            Val::Mem(_) => Val::Reg(self.owned_reg(ty, v)?),
            Val::Const(c) if ty == Ty::I64 && i32::try_from(c).is_err() => {
                Val::Reg(self.owned_reg(ty, v)?)
            }
            Val::Const(c) if ty == Ty::F64 && i32::try_from(c).is_err() => {
                Val::Reg(self.owned_reg(ty, v)?)
            }
            other => other,
        };
        let (_, addr) = self.global_addr(index, SCRATCH)?;
        self.store_val(ty, addr, v);
        self.free(v);
        Ok(())
    }
}
