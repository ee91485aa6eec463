//! Fuel metering and epoch interruption: the charges and checks emitted
//! when [`Tunables::consume_fuel`] or [`Tunables::epoch_interruption`] is
//! set. The semantics (what costs fuel, where it is charged, where the
//! checks are) are specified on those two fields; this file implements
//! them for the baseline.
//!
//! The count stays in memory: the store context's `fuel_consumed` is
//! always current except for the straight-line region being compiled,
//! whose cost accumulates in [`CodeGen::fuel_pending`] at compile time and
//! is charged with one `add qword [store + fuel_consumed], cost` when the
//! region ends (before the operator that ends it emits any code, so no
//! flags set for a branch are clobbered). Calls, returns and host code
//! therefore always see the exact count, and nothing is reloaded after a
//! call.
//!
//! A check point (function entry, loop header) compares in line and jumps
//! to an out-of-line [`CheckStub`] emitted after the body, which calls the
//! `out_of_fuel` or `new_epoch` libcall (saving the one register value a
//! loop header may carry) and jumps back.
//!
//! [`Tunables::consume_fuel`]: tandem_environ::Tunables::consume_fuel
//! [`Tunables::epoch_interruption`]: tandem_environ::Tunables::epoch_interruption

use super::CodeGen;
use crate::isa::x64::regs::{RDI, Reg, SCRATCH, VMCTX};
use crate::masm::{Address, AluOp, Cond, MacroAssembler, Operand, Size};
use crate::stack::{Loc, Ty};
use dynasmrt::DynamicLabel;
use tandem_codegen_api::{CompileError, RelocKind, RelocTarget, Relocation};
use tandem_environ::{Libcall, VMOffsets};
use wasmparser::Operator;

use tandem_environ::fuel::{ends_region, operator_cost as fuel_cost};

/// An out-of-line call to `out_of_fuel` or `new_epoch` that a check point
/// jumps to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CheckStub {
    /// Where the check jumps.
    pub label: DynamicLabel,
    /// Where the stub jumps back to.
    pub resume: DynamicLabel,
    /// The libcall it makes.
    pub libcall: Libcall,
    /// A register value live across the call (a loop parameter), with its
    /// type and the slot it is saved in.
    pub saved: Option<(Ty, Reg, Address)>,
    /// The Wasm offset of the check point.
    pub wasm_offset: u32,
}

impl CodeGen<'_, '_> {
    /// Emits the function-entry checks: charges the entry's unit of fuel,
    /// then checks fuel and the epoch deadline.
    pub(super) fn entry_checks(&mut self) -> Result<(), CompileError> {
        if self.env.tunables.consume_fuel {
            self.fuel_pending = 1;
        }
        self.checks()
    }

    /// Accounts for a reachable operator before its code: adds its cost
    /// and, if it ends a region, charges the region.
    #[inline]
    pub(super) fn charge_fuel(&mut self, op: &Operator<'_>) {
        if !self.env.tunables.consume_fuel {
            return;
        }
        let prepaid = std::mem::take(&mut self.fuel_prepaid);
        if !prepaid {
            self.fuel_pending += fuel_cost(op);
        }
        if ends_region(op) {
            self.fuel_charge();
        } else if prepaid {
            // An `i32.eqz` after a comparison folded to a constant: the
            // comparison's charge covers it and the branch after it.
            self.fuel_prepaid = true;
        }
    }

    /// Called first by every comparison that may leave its result in the
    /// flags (`codegen/numeric::use_flags`): when a `br_if` or `if` follows
    /// (directly or after `i32.eqz`s, which fold into the condition), the
    /// region is charged now, the branch's cost included, so the flags the
    /// comparison sets survive to the branch (the charge's `add` would
    /// clobber them). Nothing between the two can trap or observe the
    /// count, so the result is the same as charging just before the branch.
    pub(super) fn prepay_branch(&mut self) {
        if !self.env.tunables.consume_fuel || self.fuel_prepaid {
            return;
        }
        let mut bytes = self.reader.get_binary_reader();
        let mut cost = 0;
        let next = loop {
            match bytes.read_u8() {
                Ok(0x45) => cost += fuel_cost(&Operator::I32Eqz),
                Ok(0x0d) => break Operator::BrIf { relative_depth: 0 },
                Ok(0x04) => {
                    break Operator::If {
                        blockty: wasmparser::BlockType::Empty,
                    };
                }
                _ => return,
            }
        };
        self.fuel_pending += cost + fuel_cost(&next);
        self.fuel_charge();
        self.fuel_prepaid = true;
    }

    /// Finishes an operator: forgets the cost of a region that ended in a
    /// trap and emits a loop header's checks.
    #[inline]
    pub(super) fn finish_operator(&mut self, is_loop: bool) -> Result<(), CompileError> {
        if !self.reachable {
            // The region ended in a trap (or was charged before a branch).
            self.fuel_pending = 0;
            return Ok(());
        }
        if is_loop { self.checks() } else { Ok(()) }
    }

    /// Accounts for an operator a comparison fused with (it never passes
    /// through [`CodeGen::charge_fuel`]). Only operators that do not end
    /// a region may be fused when fuel is on.
    pub(super) fn fused_operator(&mut self, op: &Operator<'_>) {
        if self.env.tunables.consume_fuel && !std::mem::take(&mut self.fuel_prepaid) {
            self.fuel_pending += fuel_cost(op);
        }
    }

    /// Accounts for an `i32.eqz` folded into a comparison's condition: a
    /// prepaid charge already covers it and still covers the branch after.
    pub(super) fn folded_eqz(&mut self) {
        if self.env.tunables.consume_fuel && !self.fuel_prepaid {
            self.fuel_pending += fuel_cost(&Operator::I32Eqz);
        }
    }

    /// Whether a comparison may hand its flags to `op`: not when `op` ends
    /// a fuel region whose charge is still to come (it would clobber them).
    pub(super) fn may_fuse_with(&self, op: &Operator<'_>) -> bool {
        !(self.env.tunables.consume_fuel && ends_region(op)) || self.fuel_prepaid
    }

    /// The checks of a check point (function entry or loop header); any
    /// pending fuel is charged first.
    fn checks(&mut self) -> Result<(), CompileError> {
        if self.env.tunables.consume_fuel {
            let flags_set = self.fuel_charge();
            if !flags_set {
                self.load_store_context();
                self.masm.cmp(
                    Size::S64,
                    Operand::Mem(Address::base_disp(
                        SCRATCH,
                        VMOffsets::STORE_FUEL_CONSUMED as i32,
                    )),
                    Operand::Imm(0),
                );
            }
            // `fuel_consumed > 0`: more was used than the store had.
            self.check_stub(Cond::Gt, Libcall::out_of_fuel)?;
        }
        if self.env.tunables.epoch_interruption {
            let store = self.alloc(false)?;
            self.masm.mov(
                Size::S64,
                SCRATCH,
                Operand::Mem(Address::base_disp(
                    VMCTX,
                    VMOffsets::VMCTX_EPOCH_COUNTER as i32,
                )),
            );
            // A plain aligned load is atomic on x86-64.
            self.masm.mov(
                Size::S64,
                SCRATCH,
                Operand::Mem(Address::base_disp(SCRATCH, 0)),
            );
            self.masm.mov(
                Size::S64,
                store,
                Operand::Mem(Address::base_disp(
                    VMCTX,
                    VMOffsets::VMCTX_STORE_CONTEXT as i32,
                )),
            );
            self.masm.cmp(
                Size::S64,
                Operand::Reg(SCRATCH),
                Operand::Mem(Address::base_disp(
                    store,
                    VMOffsets::STORE_EPOCH_DEADLINE as i32,
                )),
            );
            self.regs.free(store);
            self.check_stub(Cond::AboveEq, Libcall::new_epoch)?;
        }
        Ok(())
    }

    /// Loads the store context pointer into the scratch register.
    fn load_store_context(&mut self) {
        let at = Address::base_disp(VMCTX, VMOffsets::VMCTX_STORE_CONTEXT as i32);
        self.masm.mov(Size::S64, SCRATCH, Operand::Mem(at));
    }

    /// Adds the pending cost to the store context's `fuel_consumed`
    /// (loading the context into the scratch register), if there is any.
    /// Returns whether it did: then the flags reflect the new count.
    fn fuel_charge(&mut self) -> bool {
        if self.fuel_pending == 0 {
            return false;
        }
        self.load_store_context();
        let fuel = Address::base_disp(SCRATCH, VMOffsets::STORE_FUEL_CONSUMED as i32);
        let mut pending = std::mem::take(&mut self.fuel_pending);
        while pending != 0 {
            let step = pending.clamp(i64::from(i32::MIN), i64::from(i32::MAX));
            self.masm.alu_mem(AluOp::Add, Size::S64, fuel, step as i32);
            pending -= step;
        }
        true
    }

    /// Jumps on `cond` to a new stub calling `libcall`, which returns here.
    fn check_stub(&mut self, cond: Cond, libcall: Libcall) -> Result<(), CompileError> {
        let mut saved = None;
        for pos in self.stack.clean..self.stack.len() {
            let e = self.stack.entries[pos];
            if let Loc::Reg(r) = e.loc {
                if saved.is_some() {
                    return Err(self.bug("several live registers at a check point"));
                }
                saved = Some((e.ty, r, self.slot(pos)));
            }
        }
        let label = self.masm.new_label();
        let resume = self.masm.new_label();
        self.masm.jcc(cond, label);
        self.masm.bind(resume);
        self.check_stubs.push(CheckStub {
            label,
            resume,
            libcall,
            saved,
            wasm_offset: self.offset,
        });
        Ok(())
    }

    /// Emits the check stubs (after the body).
    pub(super) fn emit_check_stubs(&mut self) {
        for i in 0..self.check_stubs.len() {
            let stub = self.check_stubs[i];
            self.masm.bind(stub.label);
            let at = self.masm.offset();
            match self.address_map.last_mut() {
                Some(last) if last.0 == at => last.1 = stub.wasm_offset,
                _ => self.address_map.push((at, stub.wasm_offset)),
            }
            if let Some((ty, r, slot)) = stub.saved {
                self.store_reg(ty, slot, r);
            }
            self.save_local_regs();
            self.masm.mov(Size::S64, RDI, Operand::Reg(VMCTX));
            let at = self.masm.call_rel32();
            self.relocs.push(Relocation {
                offset: at,
                kind: RelocKind::X86PcRel4,
                target: RelocTarget::LibcallTrampoline(stub.libcall),
                addend: -4,
            });
            self.restore_local_regs();
            if let Some((ty, r, slot)) = stub.saved {
                match ty {
                    Ty::F32 | Ty::F64 => self.masm.fload(ty.fsize(), r, slot),
                    Ty::I32 | Ty::I64 => self.masm.mov(ty.size(), r, Operand::Mem(slot)),
                }
            }
            self.masm.jmp(stub.resume);
        }
    }
}
